#!/bin/sh
# Issue 12: one candidate list, one path selection, and the upgrade from a
# relayed path to a direct one (docs/relay.md, docs/paths.md).
#   rv     autotunnel-dnsd naming coturn as the account's STUN and TURN
#          server (_stun._udp.D, _turn._udp.D, _turn-credential.D);
#   hostA  behind natA, hostB behind natB: plain masquerade, no port
#          mapping: a pair that hole punching joins, except that natA
#          drops every UDP datagram to or from natB's WAN address, so
#          punching cannot work at first.
# Both agents hold an allocation on coturn (relay = auto: peers cannot start
# tunnels to them) and publish its relayed address as their relay
# candidate. The first packet starts a round: the direct pairs fail, the
# pair to the peer's relayed address (through our own allocation) works and
# is nominated after relay_wait_ms; `status` says relayed. A TCP stream
# runs; the rule is removed; the IKE initiator's background round finds the
# punched pair and the SA moves to it (MOBIKE, no rekey) within 10 s: the
# log says "upgraded to direct", `status` says punched, the stream survives
# and its longest stall is printed.
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

# no hole punching between the two NATs (the relay is not blocked)
nt_exec natA nft -f - <<'NFT'
table inet nopunch {
	chain forward_udp {
		type filter hook forward priority filter; policy accept;
		ip daddr 203.0.113.20 meta l4proto udp counter drop
		ip saddr 203.0.113.20 meta l4proto udp counter drop
	}
}
NFT

punch_host hostA laptop
punch_host hostB desktop
at_log_wait hostA 'relay: allocated 198.51.100.5[34]:' 20 || nt_fail "hostA allocated nothing: $(grep relay "$NT_DIR/agent-hostA.log")"
at_log_wait hostB 'relay: allocated 198.51.100.5[34]:' 20 || nt_fail "hostB allocated nothing: $(grep relay "$NT_DIR/agent-hostB.log")"
RA=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .*/\1/p' "$NT_DIR/agent-hostA.log" | tail -1)
RB=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .*/\1/p' "$NT_DIR/agent-hostB.log" | tail -1)
UA=$(at_ula hostA)
UB=$(at_ula hostB)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"
nt_wait 10 at_lists hostB laptop || nt_fail "hostB does not list laptop: $(at_cli hostB hosts)"

# the relayed address is a candidate (the last one), not the location
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
D=alice.$AT_ZONE
relay_cand() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_cand.$1.$D" TXT | grep -q "\"relay ${2%:*} ${2#*:} prio=[0-9]*\"\$"; }
nt_wait 10 relay_cand laptop "$RA" || nt_fail "_cand.laptop has no relay candidate $RA: $(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_cand.laptop.$D" TXT)"
nt_wait 10 relay_cand desktop "$RB" || nt_fail "_cand.desktop has no relay candidate $RB"
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_autotunnel._udp.laptop.$D" SRV)" ] ||
	nt_fail "laptop publishes a location: $(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_autotunnel._udp.laptop.$D" SRV)"
nt_pass "both allocated (laptop $RA, desktop $RB) and publish the relayed address as their last candidate, no location"

# ---- the first packet: direct pairs fail, the relayed pair is nominated
ms=$(punch_ping_ms hostA "$UB") || nt_fail "no reply through the relay:
hostA: $(grep -i 'path\|punch\|tunnel\|relay' "$NT_DIR/agent-hostA.log" | tail -15)
hostB: $(grep -i 'path\|punch\|tunnel\|relay' "$NT_DIR/agent-hostB.log" | tail -15)"
grep -q "desktop: relayed path $RB (relay, rtt" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA did not nominate the relayed pair: $(grep desktop "$NT_DIR/agent-hostA.log")"
dropped=$(nt_exec natA nft list table inet nopunch | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$dropped" -gt 0 ] || nt_fail "no direct check was tried (natA's rule dropped nothing)"
relayed() { at_cli "$1" status | grep '^peer ' | grep -q "   relayed $2   rtt [0-9]* ms"; }
nt_wait 5 relayed hostA "$RB" || nt_fail "hostA status: $(at_cli hostA status)"
nt_wait 5 relayed hostB "$RA" || nt_fail "hostB status: $(at_cli hostB status)"
at_cli hostA status | grep -q "^relay    via 198.51.100.53:3478 (udp), relayed address $RA" ||
	nt_fail "hostA status has no relay line: $(at_cli hostA status)"
nt_pass "first packet to first reply through the relay in $ms ms (direct checks dropped: $dropped); status: relayed"

# ---- a TCP stream through the relay; punching allowed again
STREAM_S=25
at_stream_py
nt_bg hostB recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$UB" 5001 "$STREAM_S"
RPID=$NT_LAST_PID
nt_wait 5 nt_exec hostB sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "no TCP listener"
nt_bg hostA send /usr/bin/python3 "$NT_DIR/stream.py" send "$UB" 5001 "$STREAM_S"
SPID=$NT_LAST_PID
# long enough for the first round to be over: what finds the direct path is a background round
sleep 6
grep -q "looking for a direct path while relayed" "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log" ||
	nt_fail "no background round while relayed: $(grep -h 'desktop:\|laptop:' "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log" | tail -10)"
up_before=$(grep -c 'IKE SA up' "$NT_DIR/agent-hostA.log")
nt_exec natA nft delete table inet nopunch
t0=$(at_now_ms)
punched() { at_cli "$1" status | grep '^peer ' | grep -q "   punched 203\.0\.113\.[12]0:4500   "; }
nt_wait 10 punched hostA || nt_fail "hostA still not direct 10 s after the rule went: $(at_cli hostA status)
hostA: $(grep -i 'path\|punch\|upgrade' "$NT_DIR/agent-hostA.log" | tail -10)
hostB: $(grep -i 'path\|punch\|upgrade' "$NT_DIR/agent-hostB.log" | tail -10)"
up_ms=$(( $(at_now_ms) - t0 ))
nt_wait 5 punched hostB || nt_fail "hostB still not direct: $(at_cli hostB status)"
grep -q "upgraded to direct: 203.0.113.[12]0:4500 (punched" "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log" ||
	nt_fail "no 'upgraded to direct' in the logs"
# the same SA moved (MOBIKE): no new IKE SA
[ "$(grep -c 'IKE SA up' "$NT_DIR/agent-hostA.log")" = "$up_before" ] ||
	nt_fail "a new IKE SA on hostA: $(grep 'IKE SA up' "$NT_DIR/agent-hostA.log")"
nt_pass "the rule removed: direct (punched) after $up_ms ms, the same IKE SA; $(grep -h 'upgraded to direct' "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log" | head -1)"

nt_wait $((STREAM_S + 15)) grep -q 'received [1-9][0-9]* bytes' "$NT_DIR/recv.log" ||
	nt_fail "the TCP stream did not finish: $(cat "$NT_DIR/recv.log")"
nt_wait 5 grep -q 'sent ' "$NT_DIR/send.log" || nt_fail "the sender did not finish: $(cat "$NT_DIR/send.log")"
nt_stop "$SPID"
nt_stop "$RPID"
out=$(cat "$NT_DIR/recv.log")
stall=$(printf '%s\n' "$out" | sed -n 's/.*longest stall \([0-9]*\) ms.*/\1/p')
nt_log "$out"
[ "${stall:-99999}" -lt 3000 ] || nt_fail "the stream stalled ${stall:-?} ms across the upgrade"
nt_pass "the TCP stream survived the move from the relay to the direct path (longest stall $stall ms)"
