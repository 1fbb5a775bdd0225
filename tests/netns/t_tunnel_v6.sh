#!/bin/sh
# Outer IPv6 (issue 11): static IKE peers whose tunnel runs over IPv6.
#  1. two hosts with only IPv6 on the simulated Internet (2001:db8:ff::/64),
#     one naming the other as endpoint = [IPV6]:PORT, the other with a bare
#     IPv6 literal: ping6 over the ULAs and 10 MB of TCP through the tunnel,
#     and nftables counters show the outer packets are IPv6 UDP 4500 (none
#     IPv4);
#  2. both behind IPv6 routers with a stateful firewall and no NAT (RFC 6092,
#     nt_router6), both connecting at once: each one's first packets open its
#     own firewall for the other's, and simultaneous initiation ends with
#     exactly one IKE SA on each side;
#  3. a dual-stack pair with a TCP stream running: the initiator loses its
#     IPv4 address, moves the tunnel to the peer's IPv6 address (learnt from
#     ADDITIONAL_IP6_ADDRESS, RFC 4555 §3.4) with UPDATE_SA_ADDRESSES, and
#     back to IPv4 when the address returns; the stall of each move printed.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
[ -x "$D" ] || nt_fail "no $D (build first)"
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 missing"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: socat missing"; exit 77; }

# the simulated Internet: a bridge in inet, IPv6 routed (nt_inet6)
nt_add_ns inet
ip -n "$(nt_ns inet)" link add br0 type bridge
ip -n "$(nt_ns inet)" link set br0 up
nt_inet6

# bridge_host HOST: a host on the bridge (addresses: nt_host6, nt_addr)
bridge_host() {
	nt_add_ns "$1"
	nt_link "$1" eth0 inet "p-$1"
	ip -n "$(nt_ns inet)" link set "p-$1" master br0
}

openssl rand -hex 32 >"$NT_DIR/psk"
# conf FILE NAME ULA PEER PEER_ULA ENDPOINT_LINE CONNECT
conf() {
	cat >"$NT_DIR/$1.conf" <<CONF
[tunnel]
ula = $3
workers = 2
local-id = $2.alice.members.example.net
ike-retransmit-ms = 200
ike-retransmit-tries = 8

[peer $4]
$6
remote-id = $4.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = $5/128
connect = $7
CONF
}

# what pair_tcp_on sends: 10 MB
head -c 10000000 /dev/urandom >"$NT_DIR/blob"

# ---- 1. IPv6 only, no firewall ----
bridge_host a6
bridge_host b6
nt_host6 a6 eth0 a
nt_host6 b6 eth0 b
nt_wait 5 nt_exec a6 ping -6 -c 1 -W 1 2001:db8:ff::b || nt_fail "no IPv6 between a6 and b6"
pair_count_setup a6
conf a a fd00:a::1 b fd00:b::1 "endpoint = [2001:db8:ff::b]:4500" no
conf b b fd00:b::1 a fd00:a::1 "remote = 2001:db8:ff::a" no
pair_start_on a6 a1 b6 b1
nt_exec a6 ping -6 -c 3 -i 0.2 -W 5 fd00:b::1 >"$NT_DIR/ping1" || nt_fail "ping6 over the ULAs failed: $(tail -2 "$NT_DIR/ping1")"
nt_wait 5 grep -q "peer b: IKE SA up with b.alice.members.example.net at \[2001:db8:ff::b\]:4500" "$NT_DIR/a1.log" ||
	nt_fail "a's log shows no IKE SA with [2001:db8:ff::b]:4500"
grep -q "peer a: child SA up, aes256gcm16.*via \[2001:db8:ff::a\]:4500" "$NT_DIR/b1.log" ||
	nt_fail "b's child SA does not run via [2001:db8:ff::a]:4500"
pair_tcp_on a6 b6 fd00:b::1 sink "IPv6 only"
v6=$(pair_count_get a6 out6)
v4=$(pair_count_get a6 out4)
[ "$v4" = 0 ] || nt_fail "$v4 bytes of IPv4 UDP 4500 left a6"
[ "$v6" -gt 10000000 ] || nt_fail "only $v6 bytes of IPv6 UDP 4500 left a6 for 10 MB"
nt_pass "IPv6 only: ping6 and 10 MB of TCP over the ULAs, carried in $v6 bytes of IPv6 UDP 4500 (0 of IPv4)"
nt_stop "$PID_A"
nt_stop "$PID_B"

# ---- 2. both behind stateful IPv6 firewalls, both initiating ----
nt_router6 r1 h1 21
nt_router6 r2 h2 22
conf a a fd00:a::1 b fd00:b::1 "endpoint = [2001:db8:22::2]:4500" yes
conf b b fd00:b::1 a fd00:a::1 "endpoint = [2001:db8:21::2]" yes
# (the bridge's own 2001:db8:ff::1 is taken: routers 21 and 22) nothing unsolicited gets through the firewalls
if nt_exec inet ping -6 -c 1 -W 1 2001:db8:22::2 >/dev/null 2>&1; then
	nt_fail "r2's firewall lets an unsolicited ping in"
fi
pair_start_on h1 a2 h2 b2
nt_wait 15 sh -c "grep -q 'peer b: child SA up' '$NT_DIR/a2.log' && grep -q 'peer a: child SA up' '$NT_DIR/b2.log'" ||
	nt_fail "no tunnel through the two firewalls"
nt_exec h1 ping -6 -c 3 -i 0.2 -W 5 fd00:b::1 >"$NT_DIR/ping2" || nt_fail "ping6 through the firewalls failed"
# let a duplicate IKE SA (both ends initiated) be found and closed, then count
sleep 3
ups_a=$(grep -c "peer b: IKE SA up" "$NT_DIR/a2.log" || true)
downs_a=$(grep -c "peer b: IKE SA down" "$NT_DIR/a2.log" || true)
ups_b=$(grep -c "peer a: IKE SA up" "$NT_DIR/b2.log" || true)
downs_b=$(grep -c "peer a: IKE SA down" "$NT_DIR/b2.log" || true)
[ $((ups_a - downs_a)) = 1 ] || nt_fail "h1 has $((ups_a - downs_a)) IKE SAs ($ups_a up, $downs_a down)"
[ $((ups_b - downs_b)) = 1 ] || nt_fail "h2 has $((ups_b - downs_b)) IKE SAs ($ups_b up, $downs_b down)"
pair_tcp_on h1 h2 fd00:b::1 sink "through the firewalls"
nt_pass "through two stateful IPv6 firewalls by simultaneous sends: one IKE SA on each side ($ups_a set up, $downs_a closed as duplicate), ping6 and 10 MB of TCP"
nt_stop "$PID_A"
nt_stop "$PID_B"

# ---- 3. dual stack: MOBIKE from IPv4 to IPv6 and back under a TCP stream ----
bridge_host m1
bridge_host m2
# IPv4 with a default route, which is what the network monitor calls the primary network
ip -n "$(nt_ns inet)" addr add 198.51.100.1/24 dev br0
attach_v4() { nt_addr "$1" eth0 "$2/24"; ip -n "$(nt_ns "$1")" route add default via 198.51.100.1; }
attach_v4 m1 198.51.100.11
attach_v4 m2 198.51.100.12
nt_host6 m1 eth0 11
nt_host6 m2 eth0 12
pair_count_setup m1
nt_wait 5 nt_exec m1 ping -c 1 -W 1 198.51.100.12 || nt_fail "no IPv4 between m1 and m2"
conf a a fd00:a::1 b fd00:b::1 "endpoint = 198.51.100.12:4500" yes
conf b b fd00:b::1 a fd00:a::1 "endpoint = 198.51.100.11" no
pair_start_on m1 a3 m2 b3
nt_wait 10 grep -q "peer b: child SA up.*via 198.51.100.12:4500" "$NT_DIR/a3.log" || nt_fail "no tunnel over IPv4"
nt_exec m1 ping -6 -c 2 -i 0.2 -W 3 fd00:b::1 >/dev/null || nt_fail "ping6 over the IPv4 path failed"

# stall_of FILE: the longest run of empty 0.1 s intervals the receiver saw
stall_of() {
	/usr/bin/python3 -c 'import json, sys
iv = json.load(open(sys.argv[1]))["intervals"]
best = run = 0.0
for x in iv:
    if x["sum"]["bytes"] == 0:
        run += x["sum"]["seconds"]
        best = max(best, run)
    else:
        run = 0.0
print("%.1f" % best)' "$1"
}
# move_under_stream LABEL WAIT_PATTERN CMD...: a 6 s TCP stream m1 -> m2; CMD after 2 s
move_under_stream() {
	local label=$1 pat=$2 pid stall
	shift 2
	nt_bg m2 "iperfs-$label" iperf3 -s -1 -p 5201 -B fd00:b::1 -i 0.1 -J
	nt_wait 5 nt_exec m2 sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "$label: iperf3 server did not start"
	nt_bg m1 "iperfc-$label" iperf3 -c fd00:b::1 -p 5201 -t 6 -i 1
	pid=$NT_LAST_PID
	sleep 2
	nt_exec m1 "$@"
	nt_wait 5 grep -q "$pat" "$NT_DIR/a3.log" || nt_fail "$label: the tunnel did not move ($(tail -3 "$NT_DIR/a3.log"))"
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null || true
	nt_wait 5 /usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))["end"]["sum_received"]' \
		"$NT_DIR/iperfs-$label.log" || nt_fail "$label: the TCP stream did not survive the move"
	stall=$(stall_of "$NT_DIR/iperfs-$label.log")
	nt_log "v6_mobike_stall_$label $stall s (receiver saw no data; 0.1 s resolution)"
	/usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)' "$stall" ||
		nt_fail "$label: the stream stalled $stall s (2 s allowed)"
	STALL=$stall
}
v4_before=$(pair_count_get m1 out4)
move_under_stream v4_to_v6 "peer b moved: local \[2001:db8:ff::11\]:4500 remote \[2001:db8:ff::12\]:4500" \
	ip addr del 198.51.100.11/24 dev eth0
grep -q "peer b: no route to 198.51.100.12:4500 now; moving the tunnel to its address \[2001:db8:ff::12\]:4500" \
	"$NT_DIR/a3.log" || nt_fail "m1 did not log why it moved to IPv6"
nt_wait 5 grep -q "peer a moved: local \[2001:db8:ff::12\]:4500 remote \[2001:db8:ff::11\]:4500" "$NT_DIR/b3.log" ||
	nt_fail "m2 did not follow the tunnel to IPv6"
v6_mid=$(pair_count_get m1 out6)
[ "$v6_mid" -gt 1000000 ] || nt_fail "only $v6_mid bytes of IPv6 UDP 4500 after the move to IPv6"
stall1=$STALL
printf 'addr add 198.51.100.11/24 dev eth0\nroute add default via 198.51.100.1\n' >"$NT_DIR/v4back.batch"
move_under_stream v6_to_v4 "peer b moved: local 198.51.100.11:4500 remote 198.51.100.12:4500" \
	ip -batch "$NT_DIR/v4back.batch"
grep -q "peer b: its endpoint 198.51.100.12:4500 is reachable again; moving the tunnel back there" \
	"$NT_DIR/a3.log" || nt_fail "m1 did not log why it moved back to IPv4"
v4_after=$(pair_count_get m1 out4)
[ $((v4_after - v4_before)) -gt 1000000 ] || nt_fail "only $((v4_after - v4_before)) bytes of IPv4 UDP 4500 around the moves"
[ "$(grep -c 'IKE SA up' "$NT_DIR/a3.log")" = 1 ] || nt_fail "the moves made new IKE SAs (a rekey or a new handshake)"
nt_pass "MOBIKE IPv4 -> IPv6 -> IPv4 under a TCP stream, one IKE SA throughout: stalls $stall1 s and $STALL s"
nt_stop "$PID_A"
nt_stop "$PID_B"
