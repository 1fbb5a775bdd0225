#!/bin/sh
# Issue 11, outer IPv6 in account mode: two account hosts, each with IPv4
# behind a masquerade NAT (punch_router: no port mapping, the router's own
# input closed) and a global IPv6 address behind the same router acting as
# an IPv6 router with a stateful firewall and no NAT (RFC 6092: the inet
# forward filter of nt_nat_rules passes what leaves the LAN and its
# replies, nothing new from the WAN). The rendezvous server is reached over
# IPv4; the account's STUN server is a name (stun.example, through each
# host's /etc/netns hosts file) with an IPv4 and an IPv6 address, coturn
# listening on both.
#   - netcheck: the global IPv6 address, and the STUN server answered over
#     IPv6 (an IPv4-only host says nothing of IPv6 in text);
#   - both publish an ipv6 candidate; IPv4 and IPv6 pairs are checked in
#     one round; the simultaneous checks open both firewalls and the lower
#     ULA starts IKE over IPv6: status says `ipv6 [addr]:4500` (text and
#     --json), ping6 and a TCP transfer over the ULAs work, and nftables
#     counters show the tunnel's packets are IPv6 UDP 4500;
#   - IPv6 is cut on one side (its address removed) under a TCP stream:
#     netmon reports it, the candidates are gathered again, the path moves
#     to IPv4 `punched` (the same SA, MOBIKE) and the stream survives with
#     a short stall; the address back: the path returns to `ipv6`;
#   - a pair where one side has no IPv6 connects over IPv4 at once;
#   - two dual-stack hosts whose IPv6 UDP is dropped in the middle connect
#     over IPv4 after one round trip and the 200 ms nomination wait, not
#     after IPv6's retries (Happy Eyeballs).
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/punch_lib.sh"
nt_setup
# the STUN server's name resolves through /etc/netns/NS/hosts (ip netns exec binds it over /etc/hosts)
V6_ETC=""
v6_cleanup() {
	local rc=$? d
	set +e	# lib.sh's errexit must not cut the cleanup short
	for d in $V6_ETC; do rm -rf "$d"; done
	rmdir /etc/netns 2>/dev/null	# only when no other test left files there
	(exit $rc)
	nt_cleanup
}
trap v6_cleanup EXIT
stun_name() {	# stun_name HOST: stun.example is coturn's IPv4 and IPv6 address on HOST
	local d="/etc/netns/$(nt_ns "$1")"
	mkdir -p "$d"
	V6_ETC="$V6_ETC $d"
	printf '127.0.0.1 localhost
198.51.100.53 stun.example
2001:db8:ff::53 stun.example
' >"$d/hosts"
}
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
command -v dig >/dev/null && command -v nsupdate >/dev/null || { echo "SKIP: needs dig and nsupdate"; exit 77; }
nt_topology
# The bridge's MAC pinned: a Linux bridge takes its lowest port's MAC unless one is set, so a router
# plugged in later (natC, natD) could change the gateway's MAC under the hosts already there, whose
# ARP and neighbour caches keep the old one (no gratuitous ARP by default): their connections to the
# rendezvous server would stall for tens of seconds, a fault of the bed, not of the agents.
ip -n "$(nt_ns inet)" link set br0 address 02:00:00:00:00:01
nt_inet6
punch_router natA natB

# dual6 NAT HOST N: NAT's wan0 also 2001:db8:ff::N, its LAN also 2001:db8:N::/64 (NAT ::1, HOST ::2),
# routed by the bridge; the NAT's inet forward filter (nt_nat_rules) is the stateful IPv6 firewall
dual6() {
	local r=$1 host=$2 n=$3
	ip -n "$(nt_ns "$r")" addr add "2001:db8:ff::$n/64" dev wan0 nodad
	ip -n "$(nt_ns "$r")" -6 route add default via 2001:db8:ff::1
	ip -n "$(nt_ns inet)" -6 route add "2001:db8:$n::/64" via "2001:db8:ff::$n"
	ip -n "$(nt_ns "$r")" addr add "2001:db8:$n::1/64" dev lan0 nodad
	ip -n "$(nt_ns "$host")" addr add "2001:db8:$n::2/64" dev eth0 nodad
	ip -n "$(nt_ns "$host")" -6 route add default via "2001:db8:$n::1"
	nt_exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
}
dual6 natA hostA a
dual6 natB hostB b
nt_wait 5 nt_exec hostA ping -6 -c 1 -W 1 2001:db8:ff::1 >/dev/null || nt_fail "no IPv6 from hostA to the bridge"
# the firewall: nothing unsolicited gets in
nt_exec hostB ping -6 -c 1 -W 1 2001:db8:a::2 >/dev/null 2>&1 && nt_fail "natA's firewall let an unsolicited ping in"
nt_pass "bed: both hosts dual-stack, IPv4 behind masquerade, IPv6 behind a stateful firewall (no NAT)"

# count_setup HOST: outgoing UDP 4500 by family, in bytes (a UDP GSO send passes the hook as one packet)
count_setup() {
	nt_exec "$1" nft -f - <<'NFT'
table inet v6count {
	counter out6 { }
	counter out4 { }
	chain out {
		type filter hook output priority filter; policy accept;
		meta nfproto ipv6 udp dport 4500 counter name "out6"
		meta nfproto ipv4 udp dport 4500 counter name "out4"
	}
}
NFT
}
count_get() { nt_exec "$1" nft list counter inet v6count "$2" | sed -n 's/.*bytes \([0-9]*\).*/\1/p'; }
count_setup hostA
count_setup hostB

# punch_bed's, with coturn on IPv6 too and named by stun.example
nt_addr rv eth0 198.51.100.54/24
nt_host6 rv eth0 53
turn_start rv "$(head -c 24 /dev/urandom | base64)" "$AT_ZONE" 198.51.100.53 198.51.100.54 2001:db8:ff::53
at_dnsd --stun-server stun.example:3478
at_account alice "$PUNCH_PASS"
stun_name hostA
stun_name hostB
stun_name hostC
D=alice.$AT_ZONE
punch_host hostA laptop
punch_host hostB desktop
UA=$(at_ula hostA)
UB=$(at_ula hostB)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"
nt_wait 10 at_lists hostB laptop || nt_fail "hostB does not list laptop: $(at_cli hostB hosts)"

# ---- the candidates: ipv6 next to lan and srflx
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
cands() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_cand.$1.$D" TXT; }
ok=0
for i in $(seq 50); do
	ca=$(cands laptop); cb=$(cands desktop)
	case "$ca" in *"ipv6 2001:db8:a::2 4500"*srflx*|*srflx*"ipv6 2001:db8:a::2 4500"*)
		case "$cb" in *"ipv6 2001:db8:b::2 4500"*srflx*|*srflx*"ipv6 2001:db8:b::2 4500"*) ok=1; break ;; esac ;;
	esac
	sleep 0.2
done
[ $ok = 1 ] || nt_fail "no ipv6 and srflx candidates published: laptop '$ca', desktop '$cb'"
nt_pass "both publish an ipv6 candidate next to lan and srflx"

# ---- netcheck: the global IPv6 address, and STUN over IPv6
at_log_wait hostA "STUN server stun.example:3478 answered over IPv6: reflexive address \[2001:db8:a::2\]:4500" 10 ||
	nt_fail "hostA's STUN over IPv6: $(grep -i stun "$NT_DIR/agent-hostA.log")"
out=$(at_cli hostA netcheck)
printf '%s\n' "$out" | grep -qx "ipv6       2001:db8:a::2: the STUN server answered over IPv6" || nt_fail "hostA netcheck: $out"
printf '%s\n' "$out" | grep -qx "stun       stun.example:3478: answered over UDP" || nt_fail "hostA netcheck: $out"
at_cli hostA netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert n["address6"] == "2001:db8:a::2" and n["stun6"] == "answered" and n["stun"] == "answered", n' ||
	nt_fail "hostA netcheck --json: $(at_cli hostA netcheck --json)"
nt_pass "netcheck: global IPv6 address 2001:db8:a::2, the STUN server answered over IPv6 (text and --json)"

# ---- the first packet: one round of IPv4 and IPv6 pairs, IKE over IPv6
if [ "$(printf '%s\n%s\n' "$UA" "$UB" | sort | head -1)" = "$UA" ]; then
	LO=hostA HI=hostB ULO=$UA UHI=$UB
else
	LO=hostB HI=hostA ULO=$UB UHI=$UA
fi
ms=$(punch_ping_ms $HI "$ULO") || nt_fail "no reply through a direct path:
$HI: $(grep -i 'path\|punch\|tunnel\|check' "$NT_DIR/agent-$HI.log" | tail -15)
$LO: $(grep -i 'path\|punch\|tunnel\|check' "$NT_DIR/agent-$LO.log" | tail -15)"
nt_log "first packet to first reply: $ms ms"
grep -q "direct path \[2001:db8:[ab]::2\]:4500 (ipv6, rtt [0-9]* ms, we start IKE on it)" "$NT_DIR/agent-$LO.log" ||
	nt_fail "$LO's log does not say it found the IPv6 path: $(grep -i 'path' "$NT_DIR/agent-$LO.log")"
at_log_wait $LO "tunnel to [a-z]* is up (via \[2001:db8:[ab]::2\]:4500" 5 ||
	nt_fail "$LO's log does not say the tunnel is up over IPv6: $(grep 'is up' "$NT_DIR/agent-$LO.log")"
v6path() { at_cli "$1" status | grep '^peer ' | grep -q "   ipv6 \[2001:db8:[ab]::2\]:4500   rtt [0-9]* ms"; }
json_path() {	# json_path HOST PATH FAMILY: the peer's path and outer address in status --json
	at_cli "$1" status --json | /usr/bin/python3 -c '
import ipaddress, json, sys
p = json.load(sys.stdin)["peers"][0]
want, fam = sys.argv[1], sys.argv[2]
assert p["state"] == "up" and p["path"] == want and p["port"] == 4500, p
if fam == "6":
    assert "outer" not in p and ipaddress.IPv6Address(p["outer6"]) in ipaddress.IPv6Network("2001:db8::/32"), p
else:
    assert "outer6" not in p and p["outer"] in ("203.0.113.10", "203.0.113.20"), p' "$2" "$3"
}
for h in $LO $HI; do
	nt_wait 5 v6path $h || nt_fail "$h status: $(at_cli $h status)"
	json_path $h ipv6 6 || nt_fail "$h status --json: $(at_cli $h status --json)"
done
[ "$(grep -c 'IKE SA up' "$NT_DIR/agent-$LO.log")" = 1 ] && [ "$(grep -c 'IKE SA up' "$NT_DIR/agent-$HI.log")" = 1 ] ||
	nt_fail "not exactly one IKE SA: $(grep 'IKE SA up' "$NT_DIR/agent-$LO.log" "$NT_DIR/agent-$HI.log")"
nt_pass "$HI reached $LO in $ms ms: path ipv6 [addr]:4500 on both ends (text and --json), one IKE SA"

# traffic over IPv6: ping6 both ways, a TCP transfer, counted by family
nt_exec $LO ping -6 -n -c 3 -i 0.2 -w 5 "$UHI" >/dev/null || nt_fail "$LO cannot ping $HI back"
a6=$(count_get $HI out6); a4=$(count_get $HI out4)
at_stream_py
nt_bg $LO recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$ULO" 5001 2
nt_wait 5 nt_exec $LO sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "no TCP listener"
out=$(nt_exec $HI /usr/bin/python3 "$NT_DIR/stream.py" send "$ULO" 5001 2) || nt_fail "TCP transfer failed: $out"
nt_wait 10 grep -q 'received [1-9][0-9]* bytes' "$NT_DIR/recv.log" || nt_fail "TCP receiver: $(cat "$NT_DIR/recv.log")"
got=$(sed -n 's/^received \([0-9]*\) bytes.*/\1/p' "$NT_DIR/recv.log")
d6=$(( $(count_get $HI out6) - a6 )); d4=$(( $(count_get $HI out4) - a4 ))
nt_log "$(cat "$NT_DIR/recv.log"); $HI sent $d6 bytes of IPv6 UDP 4500 and $d4 of IPv4 UDP 4500 meanwhile"
[ "$d6" -gt "$got" ] || nt_fail "only $d6 bytes of IPv6 UDP 4500 for $got bytes of TCP"
# IPv4 UDP 4500 meanwhile: at most keepalives and checks of the round's tail, never the stream
[ "$d4" -lt 20000 ] || nt_fail "$d4 bytes of IPv4 UDP 4500 during the transfer"
nt_pass "ping6 both ways and $got bytes of TCP over the ULAs, carried in IPv6 UDP 4500 ($d6 bytes; IPv4: $d4)"

# ---- IPv6 cut on hostA (its address removed) under a TCP stream: to IPv4 punched, and back
nt_bg hostB recv2 /usr/bin/python3 "$NT_DIR/stream.py" recv "$UB" 5002 10
RPID=$NT_LAST_PID
nt_wait 5 nt_exec hostB sh -c 'ss -ltn | grep -q ":5002 "' || nt_fail "no TCP listener on hostB"
nt_bg hostA send2 /usr/bin/python3 "$NT_DIR/stream.py" send "$UB" 5002 10
SPID=$NT_LAST_PID
sleep 2
b4=$(count_get hostA out4)
ip -n "$(nt_ns hostA)" addr del 2001:db8:a::2/64 dev eth0
punched() { at_cli "$1" status | grep '^peer ' | grep -q "   punched 203\.0\.113\.[12]0:4500   "; }
nt_wait 5 punched hostB || nt_fail "hostB's path after IPv6 went on hostA: $(at_cli hostB status)
hostA: $(grep -i 'path\|punch\|tunnel\|ipv6\|moved' "$NT_DIR/agent-hostA.log" | tail -12)
hostB: $(grep -i 'path\|punch\|tunnel\|moved' "$NT_DIR/agent-hostB.log" | tail -12)"
nt_wait 5 punched hostA || nt_fail "hostA's path after its IPv6 went: $(at_cli hostA status)"
json_path hostB punched 4 || nt_fail "hostB status --json: $(at_cli hostB status --json)"
grep -q "IPv6 addresses changed: now 0 global (was 1)" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA's agent did not see its IPv6 address go"
sleep 1
moved4=$(( $(count_get hostA out4) - b4 ))
[ "$moved4" -gt 100000 ] || nt_fail "only $moved4 bytes of IPv4 UDP 4500 left hostA after the move"
nt_pass "hostA's IPv6 went: the path moved to punched on both ends ($moved4 bytes of IPv4 UDP 4500 since)"

# and back: the address returns, the round runs again, ipv6 wins
ip -n "$(nt_ns hostA)" addr add 2001:db8:a::2/64 dev eth0 nodad
ip -n "$(nt_ns hostA)" -6 route replace default via 2001:db8:a::1
nt_wait 5 v6path hostB || nt_fail "hostB's path after IPv6 returned on hostA: $(at_cli hostB status)
hostA: $(grep -i 'path\|punch\|tunnel\|ipv6\|moved' "$NT_DIR/agent-hostA.log" | tail -12)
hostB: $(grep -i 'path\|punch\|tunnel\|moved' "$NT_DIR/agent-hostB.log" | tail -12)"
nt_wait 5 v6path hostA || nt_fail "hostA's path after its IPv6 returned: $(at_cli hostA status)"
answers6() { [ "$(grep -c 'answered over IPv6' "$NT_DIR/agent-hostA.log")" -ge 2 ]; }
nt_wait 5 answers6 || nt_fail "hostA did not ask the STUN server over IPv6 again: $(grep -i 'over IPv6' "$NT_DIR/agent-hostA.log")"
json_path hostA ipv6 6 || nt_fail "hostA status --json: $(at_cli hostA status --json)"
for i in $(seq 150); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
nt_wait 30 grep -q 'received [1-9][0-9]* bytes' "$NT_DIR/recv2.log" || nt_fail "the TCP stream did not survive: $(cat "$NT_DIR/recv2.log")"
stall=$(sed -n 's/.*longest stall \([0-9]*\) ms.*/\1/p' "$NT_DIR/recv2.log")
nt_log "$(cat "$NT_DIR/recv2.log")"
nt_log "agent_v6_stall $stall ms (IPv6 -> IPv4 -> IPv6 under one stream)"
[ "$stall" -lt 2000 ] || nt_fail "the stream stalled $stall ms (2 s allowed)"
[ "$(grep -c 'IKE SA up' "$NT_DIR/agent-hostA.log")" = 1 ] && [ "$(grep -c 'IKE SA up' "$NT_DIR/agent-hostB.log")" = 1 ] ||
	nt_fail "the moves made a new IKE SA: $(grep 'IKE SA up' "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log")"
nt_pass "IPv6 back on hostA: the path is ipv6 again; the stream survived both moves (longest stall $stall ms), one IKE SA"

# ---- one side without IPv6: IPv4 at once (no IPv6 pair to wait for)
nt_router natC 203.0.113.30 hostC 3 eim
punch_router natC
punch_host hostC tv
UC=$(at_ula hostC)
nt_wait 10 at_lists hostC laptop || nt_fail "hostC does not list laptop: $(at_cli hostC hosts)"
nt_wait 10 at_lists hostA tv || nt_fail "hostA does not list tv: $(at_cli hostA hosts)"
ms=$(punch_ping_ms hostC "$UA") || nt_fail "hostC cannot reach hostA: $(grep -i 'path\|punch\|tunnel' "$NT_DIR/agent-hostC.log" | tail -8)"
nt_log "IPv4-only tv to dual-stack laptop, first packet to first reply: $ms ms"
tvpath() { at_cli hostC status | grep '^peer     laptop ' | grep -q "   punched 203\.0\.113\.10:4500   "; }
nt_wait 5 tvpath || nt_fail "hostC status: $(at_cli hostC status)"
[ "$ms" -lt 3000 ] || nt_fail "$ms ms to the first reply: IPv4 waited"
nt_pass "one side without IPv6: punched over IPv4 in $ms ms to the first reply"
out=$(at_cli hostC netcheck)
printf '%s\n' "$out" | grep -q "^ipv6 " && nt_fail "hostC (no IPv6) netcheck has an ipv6 line: $out"
at_cli hostC netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert "address6" not in n and n["stun6"] == "no-answer", n' || nt_fail "hostC netcheck --json: $(at_cli hostC netcheck --json)"
nt_pass "hostC without IPv6: netcheck has no IPv6 address, STUN over IPv6 no-answer (--json)"

# ---- both sides dual-stack, but IPv6 UDP between them dropped in the middle: IPv4 without waiting for IPv6
nt_router natD 203.0.113.40 hostD 4 eim
punch_router natD
dual6 natD hostD d
stun_name hostD
nt_exec inet nft -f - <<'NFT'
table ip6 v6block {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip6 saddr 2001:db8:d::/64 udp dport 4500 drop
		ip6 daddr 2001:db8:d::/64 udp dport 4500 drop
	}
}
NFT
punch_host hostD nas
nt_wait 10 at_lists hostD laptop || nt_fail "hostD does not list laptop: $(at_cli hostD hosts)"
nt_wait 10 at_lists hostA nas || nt_fail "hostA does not list nas: $(at_cli hostA hosts)"
ok=0
for i in $(seq 50); do
	case "$(cands nas)" in *"ipv6 2001:db8:d::2 4500"*) ok=1; break ;; esac
	sleep 0.2
done
[ $ok = 1 ] || nt_fail "nas publishes no ipv6 candidate: $(cands nas)"
ms=$(punch_ping_ms hostD "$UA") || nt_fail "hostD cannot reach hostA: $(grep -i 'path\|punch\|tunnel' "$NT_DIR/agent-hostD.log" | tail -8)"
nt_log "dual-stack nas to dual-stack laptop with IPv6 UDP dropped between them, first packet to first reply: $ms ms"
naspath() { at_cli hostD status | grep '^peer     laptop ' | grep -q "   punched 203\.0\.113\.10:4500   "; }
nt_wait 5 naspath || nt_fail "hostD status: $(at_cli hostD status)"
# IPv4 works after one round trip, nominated 200 ms later (nominate_wait_ms), not after IPv6's 4.7 s of retries
[ "$ms" -lt 2000 ] || nt_fail "$ms ms to the first reply: IPv4 waited for IPv6"
nt_pass "IPv6 dead between two dual-stack hosts: punched over IPv4 in $ms ms to the first reply (Happy Eyeballs)"
