#!/bin/sh
# Issue 12: the relay's credentials expire (docs/relay.md, "Credentials").
# autotunnel-dnsd hands out TURN credentials valid 8 s; the agent behind an
# endpoint-dependent NAT (no mapping) allocates on coturn with one, asks for
# a new one at 2/3 of its lifetime, deletes the allocation made with the
# old one (an allocation keeps its username, RFC 8656 §7.2) and allocates
# again with the new one, before coturn would refuse the old one. Checks:
# the agent's log, coturn's log (each allocation under a new username, the
# old one deleted), and the agent publishing each new relayed address.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
nt_topology
nt_addr rv eth0 198.51.100.54/24
nt_router natC 203.0.113.30 hostC 3 edm

SECRET=$(head -c 24 /dev/urandom | base64)
(umask 077; printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
TURN_EXTRA=verbose turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --turn-secret-file "$NT_DIR/turn.secret" \
	--turn-credential-ttl 8
at_account alice 'correct horse battery'
at_agent_start hostC laptop "no-portmap = yes"
at_login hostC alice 'correct horse battery' >/dev/null || nt_fail "hostC: login failed"
at_log_wait hostC 'relay: allocated ' 20 || nt_fail "hostC allocated nothing: $(cat "$NT_DIR/agent-hostC.log")"
grep -q 'relay: a TURN credential for 198.51.100.53:3478 valid 8 s' "$NT_DIR/agent-hostC.log" ||
	nt_fail "hostC's credential: $(grep relay "$NT_DIR/agent-hostC.log")"

# at 2/3 of 8 s: a new credential, the old allocation deleted, a new one made (twice within 15 s)
nt_wait 15 sh -c "[ \$(grep -c 'relay: allocated ' '$NT_DIR/agent-hostC.log') -ge 3 ]" ||
	nt_fail "hostC did not allocate again with new credentials: $(grep relay "$NT_DIR/agent-hostC.log")"
n=$(grep -c 'relay: making the allocation again with the new credential' "$NT_DIR/agent-hostC.log")
[ "$n" -ge 2 ] || nt_fail "hostC renewed its credential $n times: $(grep relay "$NT_DIR/agent-hostC.log")"
users=$(sed -n 's/.*username=<\([0-9]*:alice\)>, lifetime=[1-9].*/\1/p' "$NT_DIR/turnserver.log" | sort -u | wc -l)
[ "$users" -ge 3 ] || nt_fail "coturn saw $users usernames allocate: $(grep -e username -e 401 "$NT_DIR/turnserver.log")"
gone=$(grep -c 'refreshed, realm=<[^>]*>, username=<[0-9]*:alice>, lifetime=0' "$NT_DIR/turnserver.log")
[ "$gone" -ge 2 ] || nt_fail "coturn deleted $gone allocations: $(grep -e refreshed -e delete "$NT_DIR/turnserver.log")"
nt_pass "credentials valid 8 s: renewed at 2/3 of their life, $gone old allocations deleted, $users usernames allocated on coturn"

# each new relayed address is published: the last one is in DNS
last=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .*/\1/p' "$NT_DIR/agent-hostC.log" | tail -1)
out=$(at_cli hostC status)
printf '%s\n' "$out" | grep -q "^relay    via 198.51.100.53:3478 (udp), relayed address ${last}" ||
	nt_fail "hostC's status after the renewals: $out"
nt_pass "status shows the allocation made with the newest credential: $last"

# --- the rendezvous server unreachable past the credential's life, and coturn restarted meanwhile:
# the allocation is gone, the Allocate with the expired credential is refused (401), a new one is fetched
nt_stop "$AT_DNSD_PID"
t0=$(at_now_ms)
at_log_wait hostC 'relay: cannot renew the TURN credential' 10 ||
	nt_fail "hostC did not try to renew with the server down: $(grep relay "$NT_DIR/agent-hostC.log" | tail -5)"
sleep 8		# the last credential expires (coturn keeps refreshing an allocation made with it)
turn_stop
TURN_EXTRA=verbose turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
# the Refresh sent every 30 s at the latest finds the allocation gone; allocating again meets the 401
at_log_wait hostC 'refused our credential (401): asking for a new one' 45 ||
	nt_fail "coturn did not refuse hostC's expired credential: $(grep relay "$NT_DIR/agent-hostC.log" | tail -8)"
grep -q "user <[0-9]*:alice>: incoming packet [A-Za-z_]* processed, error 401" "$NT_DIR/turnserver.log" ||
	nt_fail "coturn's log shows no 401 to alice: $(grep 401 "$NT_DIR/turnserver.log" | tail -5)"
nt_pass "the rendezvous server down past the credential's life, coturn restarted: coturn refused the expired credential (401) $(( $(at_now_ms) - t0 )) ms after the server went"
n=$(grep -c 'relay: allocated ' "$NT_DIR/agent-hostC.log")
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --turn-secret-file "$NT_DIR/turn.secret" \
	--turn-credential-ttl 8
nt_wait 90 sh -c "[ \$(grep -c 'relay: allocated ' '$NT_DIR/agent-hostC.log') -gt $n ]" ||
	nt_fail "hostC did not allocate again once the server was back: $(grep relay "$NT_DIR/agent-hostC.log" | tail -8)"
nt_pass "the server back: a new credential, allocated again ($(grep 'relay: allocated ' "$NT_DIR/agent-hostC.log" | tail -1 | sed 's/.*relay: //'))"
