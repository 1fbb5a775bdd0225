#!/bin/sh
# Issue 12: only one side needs a relay allocation when the other can be
# reached directly (docs/relay.md point 4, docs/paths.md §9.8).
#   rv     autotunnel-dnsd naming coturn as the account's STUN and TURN
#          server, coturn with the settings of docs/relay.md;
#   hostA  behind natA (plain masquerade), on a network that blocks all
#          outbound UDP but DNS: its agent allocates over TLS;
#   hostP  a public address on the simulated Internet (203.0.113.50): its
#          agent publishes that address as its location and, reachable,
#          allocates nothing (relay = auto).
# hostA's agent sends everything for hostP's location through its own
# allocation (permission + ChannelBind to 203.0.113.50:4500): IKE and ESP
# reach hostP from hostA's relayed address, which hostP answers. Checks:
# hostP holds no allocation; ping6 hostA -> hostP's ULA (the time from the
# first packet to the first reply is printed); `status` says relayed at
# hostA, `--json` path relay, via_relay; a TCP transfer over the ULAs;
# coturn's interface carried it; hostP sees the tunnel come from hostA's
# relayed address, and ping6 back.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
nt_topology
nt_add_ns hostP
nt_attach_inet hostP eth0 203.0.113.50 203.0.113.1
nt_addr rv eth0 198.51.100.54/24
SECRET=$(head -c 24 /dev/urandom | base64)
(umask 077; printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --stun-server 198.51.100.53 \
	--turn-secret-file "$NT_DIR/turn.secret" --turn-credential-ttl 600
PASS='correct horse battery'
at_account alice "$PASS"

# hostA's network: no outbound UDP but DNS (as t_agent_relay's)
nt_exec hostA nft -f - <<'NFT'
table inet udpblock {
	chain out {
		type filter hook output priority filter; policy accept;
		udp dport != 53 counter drop
	}
}
NFT

at_agent_start hostP desktop
at_login hostP alice "$PASS" >/dev/null || nt_fail "hostP: login failed"
at_agent_start hostA laptop "no-portmap = yes"
at_login hostA alice "$PASS" >/dev/null || nt_fail "hostA: login failed"
at_log_wait hostA 'relay: allocated .* (tls)' 30 ||
	nt_fail "hostA allocated nothing over TLS: $(grep relay "$NT_DIR/agent-hostA.log")"
RA=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .* (tls).*/\1/p' "$NT_DIR/agent-hostA.log" | tail -1)
UP=$(at_ula hostP)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"
at_log_wait hostA 'relay: desktop at 203.0.113.50:4500 is reached through' 20 ||
	nt_fail "hostA did not bind desktop's location through its relay: $(grep -e relay -e desktop "$NT_DIR/agent-hostA.log")"
nt_pass "hostA (UDP blocked) allocated $RA over TLS and reaches desktop's public address through it"

# hostP is reachable: it holds no allocation and needs none
at_cli hostP status --json | /usr/bin/python3 -c '
import json, sys
me = json.load(sys.stdin)["self"]
assert me.get("relay") in (None, "idle") and "relayed" not in me, me' ||
	nt_fail "hostP holds an allocation: $(at_cli hostP status --json)"
grep -q 'relay: allocated ' "$NT_DIR/agent-hostP.log" && nt_fail "hostP allocated: $(grep relay "$NT_DIR/agent-hostP.log")"
nt_pass "hostP (public address) holds no allocation: $(at_cli hostP status | grep -e '^this' -e '^relay' | tr '\n' ' ')"

t0=$(at_now_ms)
nt_exec hostA ping -6 -n -q -c 1 -i 0.02 -w 15 "$UP" >/dev/null 2>&1 ||
	nt_fail "no ping6 reply through hostA's relay: $(tail -30 "$NT_DIR/agent-hostA.log")
hostP: $(tail -20 "$NT_DIR/agent-hostP.log")"
ms=$(( $(at_now_ms) - t0 ))
nt_exec hostA ping -6 -c 5 -i 0.2 -W 2 "$UP" >/dev/null || nt_fail "ping6 through the relay lost packets"
nt_pass "ping6 laptop -> desktop through laptop's relay only: first reply $ms ms after the first packet"

out=$(at_cli hostA status)
printf '%s\n' "$out" | grep -q "^relay    via 198.51.100.53:5349 (tls), relayed address $RA" ||
	nt_fail "hostA's status shows no TLS relay: $out"
printf '%s\n' "$out" | grep -q "^peer     desktop  $UP   relayed 203.0.113.50:4500   rtt [0-9]* ms" ||
	nt_fail "hostA's status does not show desktop relayed: $out"
at_cli hostA status --json | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)["peers"][0]
assert p["path"] == "relay" and p["via_relay"] is True, p
assert "%s:%d" % (p["outer"], p["port"]) == "203.0.113.50:4500", p' ||
	nt_fail "hostA status --json: $(at_cli hostA status --json)"
nt_pass "hostA status: $(printf '%s\n' "$out" | grep '^peer')"

# hostP sees the tunnel from hostA's relayed address (a peer-reflexive address for it)
out=$(at_cli hostP status)
printf '%s\n' "$out" | grep -q "^peer     laptop .* $RA " ||
	nt_fail "hostP does not see laptop at $RA: $out"
nt_pass "hostP: $(printf '%s\n' "$out" | grep '^peer')"
UA=$(at_ula hostA)
nt_exec hostP ping -6 -c 3 -i 0.2 -W 2 "$UA" >/dev/null || nt_fail "no ping6 desktop -> laptop through the tunnel"
nt_pass "ping6 desktop -> laptop back through laptop's relay"

# TCP over the ULAs, through coturn
head -c 1048576 /dev/urandom >"$NT_DIR/blob"
nt_bg hostP sink socat -u TCP6-LISTEN:5001,bind=["$UP"],reuseaddr OPEN:"$NT_DIR/blob.recv",creat,trunc
SINK=$NT_LAST_PID
nt_wait 5 nt_exec hostP sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "the TCP listener did not start"
before=$(nt_exec rv cat /proc/net/dev | awk '$1 == "eth0:" { print $2 + $10 }')
t0=$(at_now_ms)
timeout 60 ip netns exec "$(nt_ns hostA)" socat -u OPEN:"$NT_DIR/blob" TCP6:["$UP"]:5001 ||
	nt_fail "the TCP transfer through the relay failed"
nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "received data differs"
ms=$(( $(at_now_ms) - t0 ))
nt_stop "$SINK"
after=$(nt_exec rv cat /proc/net/dev | awk '$1 == "eth0:" { print $2 + $10 }')
[ $((after - before)) -gt $((2 * 1048576)) ] || nt_fail "only $((after - before)) bytes crossed rv's eth0 for 1 MB relayed"
dropped=$(nt_exec hostA nft list table inet udpblock | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
[ "${dropped:-0}" -gt 0 ] || nt_fail "hostA's UDP block dropped nothing"
nt_pass "1 MB over TCP laptop -> desktop in $ms ms, intact; $((after - before)) bytes crossed the relay's interface (the block dropped $dropped UDP packets)"
