#!/bin/sh
# Issue 15: two computers of one account with the same host name.
#   - hostA signs in as "desktop"; hostB, also called desktop, finds the name
#     held by another computer (its AAAA is not hostB's ULA, and its TXT
#     carries another host id) and signs in as desktop-2, saying so at login
#     and in `autotunnel status`; both reach each other by name (the hosts
#     cache and libnss_autotunnel, and the agent's ping);
#   - hostB restarts three times with a new ULA each time (killed, its
#     identity gone, as after a reboot): it keeps desktop-2 (its host id says
#     the records there are its own), stays reachable, and hostA's data plane
#     moves desktop-2's slot to each new address (one slot, one route);
#   - hostB's logout withdraws desktop-2 and leaves desktop's records alone;
#   - a forced takeover (nsupdate with the account's key puts another ULA on
#     desktop): hostA's LLQ on its own name sees it, its update at once is
#     refused on its prerequisites (RFC 2136 §2.4), it warns (log and status),
#     moves to a free name, and its logout leaves the other computer's record.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
command -v dig >/dev/null && command -v nsupdate >/dev/null ||
	{ echo "SKIP: needs dig and nsupdate"; exit 77; }
nt_setup
nt_topology

D=alice.$AT_ZONE
AT_LEASE_MIN=10 AT_LEASE_MAX=20
at_dnsd
at_account alice 'correct horse battery'
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
aaaa() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "$1.$D" AAAA; }
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_bridge_lan natB
at_stun
at_miniupnpd natB 2
at_loopback natB 203.0.113.20
# authority = no: desktop-2 restarting with a new ULA each boot is what is
# tested below; with the account authority on (the default) a host keeps the
# ULA its certificate binds (docs/authority.md §3), on purpose
at_agent_start hostA desktop 'authority = no'
at_agent_start hostB desktop 'authority = no'
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping: $(cat "$NT_DIR/agent-hostA.log")"
at_log_wait hostB 'mapped UDP 4500' 10 || nt_fail "hostB got no mapping: $(cat "$NT_DIR/agent-hostB.log")"
UA=$(at_ula hostA)

# ---- the first computer takes the name, the second is told and becomes desktop-2
out=$(at_login hostA alice 'correct horse battery' 2>&1) || nt_fail "hostA: login failed: $out"
[ "$out" = "signed in to $D" ] || nt_fail "hostA's login said: $out"
at_log_wait hostA "published [0-9]* records for desktop.$D" 10 || nt_fail "hostA did not publish"
out=$(at_login hostB alice 'correct horse battery' 2>&1) || nt_fail "hostB: login failed: $out"
want="the name desktop is used by another computer of alice ($UA); this computer signs in as desktop-2
signed in to $D"
[ "$out" = "$want" ] || nt_fail "hostB's login said:
$out
instead of:
$want"
at_log_wait hostB "published [0-9]* records for desktop-2.$D" 10 || nt_fail "hostB did not publish desktop-2"
UB=$(at_ula hostB)
at_cli hostB status | grep -q "^this     desktop-2 " || nt_fail "hostB's status: $(at_cli hostB status)"
at_cli hostB status | grep -qxF "name     the name desktop is used by another computer of alice ($UA); this computer signs in as desktop-2" ||
	nt_fail "hostB's status does not say why it is desktop-2: $(at_cli hostB status)"
[ "$(aaaa desktop)" = "$UA" ] && [ "$(aaaa desktop-2)" = "$UB" ] ||
	nt_fail "the server holds desktop=$(aaaa desktop) desktop-2=$(aaaa desktop-2), not $UA and $UB"
nt_wait 10 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI hosts |
	grep -q '^desktop-2 '" || nt_fail "hostA does not list desktop-2: $(at_cli hostA hosts)"
# names: the hosts cache each agent writes (and libnss_autotunnel answers from) follows the names
resolve() {	# HOST NAME: what NAME is on HOST through the NSS module (or its agent's cache)
	if [ -f "$AT_BUILD/src/nss/libnss_autotunnel.so.2" ]; then
		LD_LIBRARY_PATH="$AT_BUILD/src/nss" AUTOTUNNEL_HOSTS="$NT_DIR/$1/run/hosts" unshare -m sh -c '
			mount --bind "$1" /etc/nsswitch.conf && getent ahosts "$2" | head -1' _ "$NT_DIR/nsswitch.conf" "$2" |
			awk '{ print $1 }'
	else
		awk -v n="$2" '$1 == n || $2 == n { print $3 }' "$NT_DIR/$1/run/hosts"
	fi
}
sed 's/^hosts:.*/hosts: files autotunnel/' /etc/nsswitch.conf >"$NT_DIR/nsswitch.conf"
nt_wait 5 sh -c "grep -qx 'desktop-2 desktop-2.$D $UB' $NT_DIR/hostA/run/hosts" || nt_fail "hostA's hosts cache: $(cat "$NT_DIR/hostA/run/hosts")"
[ "$(resolve hostA desktop-2)" = "$UB" ] || nt_fail "desktop-2 is $(resolve hostA desktop-2) on hostA, not $UB"
[ "$(resolve hostB desktop)" = "$UA" ] || nt_fail "desktop is $(resolve hostB desktop) on hostB, not $UA"
at_cli hostA ping desktop-2 >/dev/null || nt_fail "hostA cannot reach desktop-2: $(at_cli hostA ping desktop-2 2>&1)"
at_cli hostB ping desktop >/dev/null || nt_fail "hostB cannot reach desktop: $(at_cli hostB ping desktop 2>&1)"
nt_pass "the second computer called desktop signs in as desktop-2, says why, and both reach each other"

# ---- desktop-2 restarts with a new ULA, three times: same name, same slot, one route
# the routes of peers' ULAs (hostA's own address has one too)
routes() { nt_exec hostA ip -6 route show dev autotun0 | grep '^fd' | grep -vc "^$UA "; }
slot=$(sed -n "s/^.*desktop-2: data-plane slot \([0-9]*\) .*/\1/p" "$NT_DIR/agent-hostA.log" | head -1)
[ -n "$slot" ] || nt_fail "hostA logged no data-plane slot for desktop-2"
[ "$(routes)" = 1 ] || nt_fail "hostA routes $(routes) ULAs to the tunnel device before any restart"
for i in 1 2 3; do
	old=$UB
	kill -9 "$AT_PID_hostB"
	nt_wait 5 sh -c "! kill -0 $AT_PID_hostB" || nt_fail "hostB did not die"
	rm -f "$NT_DIR/hostB/run/identity" "$NT_DIR/hostB/run/control"
	at_agent_start hostB desktop 'authority = no'
	nt_wait 10 test -s "$NT_DIR/hostB/run/identity" || nt_fail "hostB made no identity"
	UB=$(at_ula hostB)
	[ "$UB" != "$old" ] || nt_fail "hostB kept its ULA"
	nt_wait 15 sh -c "[ \"\$(ip netns exec $(nt_ns rv) dig +tcp +short -y '$K' @198.51.100.53 desktop-2.$D AAAA)\" = $UB ]" ||
		nt_fail "restart $i: desktop-2 is $(aaaa desktop-2), not hostB's new $UB: $(tail -20 "$NT_DIR/agent-hostB.log")"
	at_cli hostB status | grep -q "^this     desktop-2 " || nt_fail "restart $i: hostB is not desktop-2: $(at_cli hostB status)"
	nt_wait 10 sh -c "[ \$(grep -c 'desktop-2 keeps data-plane slot $slot ' $NT_DIR/agent-hostA.log) -ge $i ]" ||
		nt_fail "restart $i: hostA did not move desktop-2's slot: $(grep desktop-2 "$NT_DIR/agent-hostA.log" | tail -5)"
	at_cli hostA ping desktop-2 >/dev/null || nt_fail "restart $i: hostA cannot reach desktop-2 at $UB"
	nt_wait 5 sh -c "grep -qx 'desktop-2 desktop-2.$D $UB' $NT_DIR/hostA/run/hosts" ||
		nt_fail "restart $i: hostA's hosts cache: $(cat "$NT_DIR/hostA/run/hosts")"
	[ "$(resolve hostA desktop-2.$D)" = "$UB" ] || nt_fail "restart $i: desktop-2 is $(resolve hostA desktop-2.$D), not $UB"
	nt_exec hostA ping -6 -c 1 -W 5 "$(resolve hostA desktop-2.$D)" >/dev/null || nt_fail "restart $i: no ping to $UB"
	[ "$(routes)" = 1 ] || nt_fail "restart $i: hostA routes $(routes) ULAs to the tunnel device:
$(nt_exec hostA ip -6 route show dev autotun0)"
	nt_exec hostA ip -6 route show dev autotun0 | grep -q "^$UB " || nt_fail "restart $i: no route to $UB"
done
n=$(grep -c ": data-plane slot [0-9]* ([0-9]* in use)" "$NT_DIR/agent-hostA.log")
[ "$n" = 1 ] && grep -q "desktop-2: data-plane slot [0-9]* (1 in use)" "$NT_DIR/agent-hostA.log" && ! grep -q "(2 in use)" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA's data plane grew: $(grep 'data-plane slot' "$NT_DIR/agent-hostA.log")"
nt_pass "desktop-2 restarted 3 times with a new ULA: still desktop-2, reachable each time, $n data-plane slot, one route"

# ---- desktop-2's logout leaves desktop's records alone
at_cli hostB logout >/dev/null || nt_fail "hostB's logout failed"
[ -z "$(aaaa desktop-2)" ] || nt_fail "desktop-2's records outlive its logout"
[ "$(aaaa desktop)" = "$UA" ] || nt_fail "hostB's logout took desktop's AAAA: $(aaaa desktop)"
nt_pass "the logout of desktop-2 withdraws desktop-2 and leaves desktop ($UA) alone"

# ---- a forced takeover: another ULA on desktop, put there with the account's key
FAKE=fd99:8877:6655:4433::1
printf 'server 198.51.100.53 53\nzone %s\nupdate delete desktop.%s AAAA\nupdate add desktop.%s 60 AAAA %s\nsend\n' \
	"$AT_ZONE" "$D" "$D" "$FAKE" | nt_exec rv nsupdate -y "$K" || nt_fail "nsupdate failed"
warn="another computer took the name desktop ($FAKE); this computer is now desktop-2"
# its LLQ on its own name tells it at once (not only its next refresh, up to 80% of the lease later)
at_log_wait hostA "desktop.$D shows $FAKE, not this host's address: updating at once to see whose it is" 3 ||
	nt_fail "hostA's watcher did not see desktop change: $(tail -20 "$NT_DIR/agent-hostA.log")"
at_log_wait hostA "$warn" 3 || nt_fail "hostA did not warn: $(tail -20 "$NT_DIR/agent-hostA.log")"
at_cli hostA status | grep -qxF "name     $warn" || nt_fail "hostA's status: $(at_cli hostA status)"
at_cli hostA status | grep -q "^this     desktop-2 " || nt_fail "hostA's status: $(at_cli hostA status)"
at_log_wait hostA "published [0-9]* records for desktop-2.$D" 10 || nt_fail "hostA did not publish desktop-2"
[ "$(aaaa desktop-2)" = "$UA" ] || nt_fail "desktop-2 is $(aaaa desktop-2), not hostA's $UA"
[ "$(aaaa desktop)" = "$FAKE" ] || nt_fail "hostA took desktop back: $(aaaa desktop)"
at_cli hostA logout >/dev/null || nt_fail "hostA's logout failed"
[ "$(aaaa desktop)" = "$FAKE" ] || nt_fail "hostA's logout deleted the other computer's desktop: $(aaaa desktop)"
[ -z "$(aaaa desktop-2)" ] || nt_fail "desktop-2's records outlive hostA's logout"
nt_pass "a forced takeover of desktop: hostA warns, moves to desktop-2, and its logout leaves $FAKE alone"
