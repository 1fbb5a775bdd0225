#!/bin/sh
# Issue 11: a punch request left behind does not block the peer's sign-in.
# laptop (hostA) and desktop (hostB) behind plain masquerade, no port
# mapping; desktop's tunnel port is closed, so laptop's round cannot end and
# its punch request (_punch.desktop.D, written by laptop) stays while it runs.
# Both agents stop mid-round; desktop restarts with its saved account and
# name. It must publish its records again at once: the request under its
# name is not a sign that another computer holds desktop.D, and laptop
# deleted it on its way out anyway (docs/paths.md §9.2). And whatever went
# wrong, a refused update is tried again with back-off, not in a loop.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/punch_lib.sh"
nt_setup
AT_LOG_LEVEL=debug	# "punch request written to"
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: needs dig"; exit 77; }
nt_topology
punch_router natA natB
punch_bed
D=alice.$AT_ZONE
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
punchrr() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_punch.desktop.$D" TXT; }

punch_host hostA laptop
punch_host hostB desktop
UB=$(at_ula hostB)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"

# desktop's tunnel port drops everything: laptop's checks go unanswered, its round runs on
nt_exec hostB nft -f - <<'NFT' || nt_fail "cannot close desktop's port"
table inet blk {
	chain in { type filter hook input priority -10; udp dport 4500 drop; }
}
NFT
nt_exec hostA ping -6 -n -q -c 1 -w 2 "$UB" >/dev/null 2>&1 || true
at_log_wait hostA "punch request written to _punch.desktop.$D" 5 ||
	nt_fail "laptop wrote no punch request: $(grep -i punch "$NT_DIR/agent-hostA.log" | tail -5)"
[ -n "$(punchrr)" ] || nt_fail "the punch request is not in the zone"
nt_pass "laptop's round runs, its punch request is in the zone"

# both stop mid-round; laptop takes its request with it
at_agent_stop hostA
grep -q "punch request deleted from _punch.desktop.$D" "$NT_DIR/agent-hostA.log" ||
	nt_fail "laptop did not delete its punch request on its way out: $(grep -i punch "$NT_DIR/agent-hostA.log" | tail -5)"
[ -z "$(punchrr)" ] || nt_fail "laptop's punch request is still in the zone: $(punchrr)"
at_agent_stop hostB
nt_pass "laptop deleted its punch request when it stopped"

# a leftover request, as an agent killed mid-round leaves it (by the account's key)
printf 'server 198.51.100.53\nzone %s\nupdate add _punch.desktop.%s 3600 TXT "at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=%s" "srflx 203.0.113.10 4500 prio=1526726655 map=ei filt=apd"\nsend\n' \
	"$D" "$D" "$(date +%s)" | nt_exec rv nsupdate -y "$K" || nt_fail "cannot write the leftover request"
[ -n "$(punchrr)" ] || nt_fail "the leftover request is not in the zone"
nt_exec hostB nft delete table inet blk

# desktop restarts with its saved account: it signs in as desktop and publishes at once
at_agent_start hostB desktop "no-portmap = yes"
at_log_wait hostB "published [0-9]* records for desktop.$D" 10 ||
	nt_fail "desktop did not publish after its restart: $(grep -v DEBUG "$NT_DIR/agent-hostB.log" | tail -8)
($(grep -c 'is not as we left it' "$NT_DIR/agent-hostB.log") tries)"
n=$(grep -c "is not as we left it" "$NT_DIR/agent-hostB.log" || true)
[ "$n" -le 1 ] || nt_fail "desktop found its name changed $n times"
at_cli hostB status | grep -q "^this  *desktop " || nt_fail "desktop's status: $(at_cli hostB status)"
nt_pass "desktop signs in again as desktop and publishes, with a leftover punch request under its name"
