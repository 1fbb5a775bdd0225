#!/bin/sh
# autotunneld (lib/ike + the ESP data plane) and strongSwan's charon
# (kernel-libipsec) across the NAT of the test bed (docs/design.md §9), with
# traffic flowing while the SAs change under it:
#  1. autotunneld on hostA behind natA initiates to strongSwan on pub; our
#     side rekeys the child SA every few seconds and the IKE SA once while
#     iperf3 runs: no second without data.
#  2. strongSwan on hostA behind natA initiates to autotunneld on pub, then
#     its address changes (so does natA's port for it): its MOBIKE update
#     moves our SAs and the TCP stream carries on.
# (t_tunnel_strongswan.sh covers the plain handshakes and strongSwan's child
# rekeys without a NAT.)
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

D=$AT_BUILD/src/autotunneld/autotunneld
. "$AT_SRC/tests/netns/strongswan_lib.sh"
ss_require openssl gcm kernel-libipsec
[ -x "$D" ] || { echo "SKIP: $D not built"; exit 77; }
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 missing"; exit 77; }

nt_topology
openssl rand -hex 32 >"$NT_DIR/psk"

ss_conf "$SS_PLUGINS updown" "$NT_DIR/charon-file.log" 2 "retransmit_timeout = 1.0"

start_charon() { ss_start "$1" "$NT_DIR/swanctl.conf" ours; PID_C=$SS_PID; }	# HOST

swanctl_conf() {	# LOCAL_ADDRS REMOTE_ADDRS START_ACTION
	cat >"$NT_DIR/swanctl.conf" <<EOF
connections {
	ours {
		version = 2
		local_addrs = $1
		remote_addrs = $2
		mobike = yes
		proposals = aes256gcm16-prfsha256-x25519
		local {
			auth = psk
			id = b.alice.members.example.net
		}
		remote {
			auth = psk
			id = a.alice.members.example.net
		}
		children {
			ours {
				local_ts = fd00:b::1/128
				remote_ts = fd00:a::1/128
				esp_proposals = aes256gcm16-x25519
				start_action = $3
				rekey_time = 1h
			}
		}
	}
}
secrets {
	ike-ours {
		id-1 = a.alice.members.example.net
		id-2 = b.alice.members.example.net
		secret = "$(cat "$NT_DIR/psk")"
	}
}
EOF
}

# stalls JSON: one-second iperf3 intervals that carried nothing
stalls() {
	/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for i in d["intervals"] if i["sum"]["bytes"] == 0))' "$1"
}

# ---- 1. we initiate from behind natA and rekey under load ----
nt_exec pub ip addr add fd00:b::1/128 dev lo
swanctl_conf 198.51.100.7 %any none
start_charon pub
cat >"$NT_DIR/a.conf" <<EOF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net

[peer b]
remote = 198.51.100.7:4500
remote-id = b.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:b::1/128
connect = yes
rekey = 4
ike-rekey = 7
EOF
nt_bg hostA da1 "$D" -c "$NT_DIR/a.conf"
PID_A=$NT_LAST_PID
nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da1.log" || nt_fail "no child SA with strongSwan across natA"
grep -q "NAT detected" "$NT_DIR/da1.log" || nt_fail "autotunneld did not see natA"
nt_exec hostA ping -6 -c 2 -i 0.2 -W 3 fd00:b::1 >/dev/null || nt_fail "ping6 through the tunnel failed"
nt_bg pub iperf1 iperf3 -s -1 -p 5201 -B fd00:b::1
nt_wait 5 nt_exec pub sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "iperf3 server did not start"
timeout 40 ip netns exec "$(nt_ns hostA)" iperf3 -c fd00:b::1 -p 5201 -t 12 -J >"$NT_DIR/iperf1.json" ||
	nt_fail "the TCP stream broke while we rekeyed"
rekeys=$(grep -c "peer b: child SA up, aes256gcm16.*(rekeyed)" "$NT_DIR/da1.log" || true)
ike_rekeys=$(grep -c "IKE_SA ours\[[0-9]*\] rekeyed between" "$NT_DIR/charon-file.log" || true)
s=$(stalls "$NT_DIR/iperf1.json")
[ "$rekeys" -ge 2 ] || nt_fail "only $rekeys child SA rekeys by us in 12 s (rekey = 4)"
[ "$ike_rekeys" -ge 1 ] || nt_fail "strongSwan saw no IKE SA rekey (ike-rekey = 7)"
[ "$s" = 0 ] || nt_fail "$s one-second intervals without data while we rekeyed"
grep -q "received DELETE for ESP CHILD_SA" "$NT_DIR/charon-file.log" || nt_fail "our rekeys left old child SAs behind"
nt_pass "across natA: TCP kept flowing through $rekeys child SA rekeys and $ike_rekeys IKE SA rekey by us"
nt_stop "$PID_A"
nt_stop "$PID_C"

# ---- 2. strongSwan behind natA initiates, then moves (MOBIKE) under load ----
nt_exec pub ip addr del fd00:b::1/128 dev lo
nt_exec hostA ip addr add fd00:b::1/128 dev lo
nt_exec hostA sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
swanctl_conf 192.168.1.0/24 198.51.100.7 start
: >"$NT_DIR/charon-file.log"
cat >"$NT_DIR/p.conf" <<EOF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net

[peer b]
remote-id = b.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:b::1/128
EOF
nt_bg pub da2 "$D" -c "$NT_DIR/p.conf"
PID_A=$NT_LAST_PID
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da2.log" || nt_fail "autotunneld did not start on pub"
start_charon hostA
nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da2.log" || nt_fail "strongSwan did not connect from behind natA"
nt_bg hostA iperf2 iperf3 -s -1 -p 5202 -B fd00:b::1
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5202 "' || nt_fail "iperf3 server did not start"
nt_bg pub iperfc2 iperf3 -c fd00:b::1 -p 5202 -t 8 -J
PID_I=$NT_LAST_PID
sleep 3
# hostA's address changes: natA maps it to another port, strongSwan sends UPDATE_SA_ADDRESSES
nt_exec hostA ip addr add 192.168.1.3/24 dev eth0
nt_exec hostA ip addr del 192.168.1.2/24 dev eth0
nt_exec hostA ip route replace default via 192.168.1.1
nt_wait 10 grep -q "peer b moved: " "$NT_DIR/da2.log" || { tail -20 "$NT_DIR/charon-file.log"; nt_fail "no MOBIKE move seen by autotunneld"; }
for i in $(seq 150); do kill -0 "$PID_I" 2>/dev/null || break; sleep 0.1; done
wait "$PID_I" 2>/dev/null || true
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))["end"]["sum_received"]' "$NT_DIR/iperfc2.log" 2>/dev/null ||
	nt_fail "the TCP stream did not survive strongSwan's move: $(tail -5 "$NT_DIR/iperfc2.log")"
grep -q "N(UPD_SA_ADDR)" "$NT_DIR/charon-file.log" || nt_fail "strongSwan sent no UPDATE_SA_ADDRESSES"
s=$(stalls "$NT_DIR/iperfc2.log")
[ "$s" -le 2 ] || nt_fail "$s one-second intervals without data around the move"
moved=$(grep -m1 "peer b moved: " "$NT_DIR/da2.log" | sed 's/.* remote //')
case "$moved" in
203.0.113.10:*) ;;
*) nt_fail "moved to '$moved', not to natA's address" ;;
esac
[ "$moved" != 203.0.113.10:4500 ] || nt_fail "natA kept the same port: nothing moved"
nt_pass "strongSwan moved behind natA (MOBIKE, now $moved): our SAs followed, TCP carried on ($s s stalled)"
