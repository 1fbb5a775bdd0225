#!/bin/sh
# Issue 12: roaming from a direct network to one that blocks UDP and back,
# with a TCP stream running (docs/relay.md).
#   rv     autotunnel-dnsd naming coturn as the account's STUN and TURN
#          server (UDP 3478 and TLS 5349);
#   hostA  ("laptop") behind natA, hostB ("desktop") behind natB: plain
#          masquerade, no port mapping; they connect by hole punching;
#   natC   a network that lets no UDP out but DNS (a hotel, a guest Wi-Fi).
# laptop moves behind natC: UDP to coturn gets no answer, its agent
# allocates over TLS, publishes the new relay candidate and asks desktop
# again; the pair to desktop's relayed address (through laptop's TLS
# allocation) is the only one that works and the SA moves to it. laptop
# moves back behind natA: punched again, "upgraded to direct". The stream
# survives both moves; the stalls are printed.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/punch_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
nt_topology
punch_router natA natB
nt_addr rv eth0 198.51.100.54/24
SECRET=$(head -c 24 /dev/urandom | base64)
(umask 077; printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --stun-server 198.51.100.53 \
	--turn-secret-file "$NT_DIR/turn.secret" --turn-credential-ttl 600
at_account alice "$PUNCH_PASS"

# the UDP-blocked network, and a second cable from natA's LAN for the way back
nt_router natC 203.0.113.30 hostC 3 eim
punch_router natC
nt_exec natC nft -f - <<'NFT'
table inet udpblock {
	chain forward_udp {
		type filter hook forward priority filter; policy accept;
		meta l4proto udp udp dport != 53 counter drop
	}
}
NFT
at_bridge_lan natC
at_plug hostA natC lanport1 eth1
at_bridge_lan natA
at_plug hostA natA lanport1 eth2

punch_host hostA laptop
punch_host hostB desktop
UA=$(at_ula hostA)
UB=$(at_ula hostB)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"
ms=$(punch_ping_ms hostB "$UA") || nt_fail "no reply through a punched path: $(grep -i 'path\|punch' "$NT_DIR/agent-hostB.log" | tail -10)"
punched() { at_cli "$1" status | grep '^peer ' | grep -q "   punched 203\.0\.113\.$2:4500   "; }
nt_wait 5 punched hostB 10 || nt_fail "hostB status: $(at_cli hostB status)"
nt_pass "laptop and desktop punched in $ms ms"

STREAM_S=45
at_stream_py
nt_bg hostA recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$UA" 5001 "$STREAM_S"
RPID=$NT_LAST_PID
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "no TCP listener"
nt_bg hostB send /usr/bin/python3 "$NT_DIR/stream.py" send "$UA" 5001 "$STREAM_S"
SPID=$NT_LAST_PID
sleep 2

# ---- to the UDP-blocked network: TURN over TLS, the relayed pair
at_move hostA eth0 eth1 192.168.3.3/24 192.168.3.1
t0=$(at_now_ms)
at_log_wait hostA 'relay: allocated .* (tls)' 20 ||
	nt_fail "laptop allocated nothing over TLS: $(grep relay "$NT_DIR/agent-hostA.log" | tail -8)"
RA=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .* (tls).*/\1/p' "$NT_DIR/agent-hostA.log" | tail -1)
relayed() { at_cli "$1" status | grep '^peer ' | grep -q "   relayed "; }
nt_wait 20 relayed hostA || nt_fail "laptop is not relayed behind natC: $(at_cli hostA status)
hostA: $(grep -i 'path\|punch\|relay' "$NT_DIR/agent-hostA.log" | tail -12)
hostB: $(grep -i 'path\|punch\|relay' "$NT_DIR/agent-hostB.log" | tail -12)"
back=0
for i in $(seq 20); do
	if nt_exec hostB ping -6 -n -c 1 -W 1 "$UA" >/dev/null 2>&1; then back=1; break; fi
done
[ $back = 1 ] || nt_fail "desktop cannot reach laptop through the relay: $(at_cli hostB status)"
nt_pass "laptop behind a UDP-blocked network: TLS allocation $RA, the tunnel relayed after $(( $(at_now_ms) - t0 )) ms; $(at_cli hostA status | grep '^peer ')"
sleep 3

# ---- back to natA: punched again
at_move hostA eth1 eth2 192.168.1.3/24 192.168.1.1
t0=$(at_now_ms)
nt_wait 20 punched hostA 20 || nt_fail "laptop not direct again behind natA: $(at_cli hostA status)
hostA: $(grep -i 'path\|punch\|upgrade' "$NT_DIR/agent-hostA.log" | tail -12)
hostB: $(grep -i 'path\|punch\|upgrade' "$NT_DIR/agent-hostB.log" | tail -12)"
nt_pass "laptop back behind natA: punched again after $(( $(at_now_ms) - t0 )) ms"

nt_wait $((STREAM_S + 40)) grep -q 'received [1-9][0-9]* bytes' "$NT_DIR/recv.log" ||
	nt_fail "the TCP stream did not finish: $(cat "$NT_DIR/recv.log")"
nt_wait 10 grep -q 'sent ' "$NT_DIR/send.log" || nt_fail "the sender failed: $(cat "$NT_DIR/send.log")"
nt_stop "$SPID"
nt_stop "$RPID"
out=$(cat "$NT_DIR/recv.log")
nt_log "$out"
nt_pass "the TCP stream survived direct -> UDP blocked (relayed over TLS) -> direct ($out)"
