#!/bin/sh
# Issue 6, the DNS side of the agent (RFC 6281 §§3, 5.2, 5.3, 7.2) against
# autotunnel-dnsd in rv, with short lease bounds (10-20 s):
#   - login: a wrong password, an unknown account and a wrong pin are refused
#     with clear messages; the right one signs in (SRV discovery over TLS);
#   - hostA (laptop, behind natA with gwd) publishes exactly the records of
#     docs/design.md §4, checked with dig -y over TCP and kdig +tls, with the
#     lease the server granted (asked 5400 s, clamped to 20 s);
#   - hostB (desktop) watching with LLQs sees laptop appear within 5 s;
#   - autotunnel services on hostB finds laptop's ssh;
#   - dnsd killed with -9 and restarted: the LLQs come back, nothing
#     published is lost, and events flow again;
#   - a clean shutdown of hostA withdraws its records at once; restarted, it
#     signs in again from its state file;
#   - hostA vanishes (killed, namespace deleted): its records expire at lease
#     end and hostB reports it gone;
#   - logout forgets the keys (state file removed) and withdraws the records.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_GWD" ] && [ -x "$AT_DNSD" ] ||
	nt_fail "build autotunneld, autotunnel, autotunnel-gwd and autotunnel-dnsd first"
command -v kdig >/dev/null && command -v dig >/dev/null && command -v sqlite3 >/dev/null ||
	{ echo "SKIP: needs dig, kdig and sqlite3"; exit 77; }
nt_topology

D=alice.$AT_ZONE
LEASE=20
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
# LLQ leases of 30 s: the agents refresh them during the test. No DNS Push:
# this is the LLQ path (t_agent_push.sh runs the agents with Push)
AT_LEASE_MIN=10 AT_LEASE_MAX=$LEASE at_dnsd --llq-lease-max 30 --no-push
at_account alice 'correct horse battery staple'

# authority = no: this test holds the server to exactly the records of docs/design.md
# §4 (and the LLQs on them), the password-only layout; the account authority (on by
# default) adds its own records, watches and KDC records, which t_authority and t_sso check
at_agent_start hostA laptop 'service = ssh 22' 'authority = no'
at_agent_start hostB desktop 'authority = no'

# ---- login: refusals first
expect_fail() {
	local h=$1 want=$2 out; shift 2
	if out=$("$@" 2>&1); then
		nt_fail "$h: login succeeded, wanted: $want"
	fi
	[ "$out" = "error: $want" ] || nt_fail "$h: login said '$out', wanted 'error: $want'"
}
expect_fail hostA "login failed: the server rejected our key (BADSIG): wrong password or unknown account" \
	at_login hostA alice 'wrong password'
# an unknown account has no key parameters (_kdf.D): the CLI stops before any key
expect_fail hostA "login failed: the server has no account bob.$AT_ZONE" \
	at_login hostA bob 'correct horse battery staple'
BADPIN=0000000000000000000000000000000000000000000000000000000000000000
out=$(printf 'x\n' | at_cli hostA login alice --server 198.51.100.53:853 --pin $BADPIN 2>&1) &&
	nt_fail "login with a wrong pin succeeded"
[ "$out" = "error: login failed: cannot reach 198.51.100.53:853: the server's certificate does not match the pin" ] ||
	nt_fail "wrong pin: '$out'"
[ ! -e "$NT_DIR/hostA/state/account" ] || nt_fail "a failed login left a state file"
at_cli hostA status | grep -q '^account  none' || nt_fail "hostA is signed in after failed logins"
nt_pass "login refused: wrong password (BADSIG), unknown account (no _kdf record), wrong pin"

# ---- hostB signs in and watches
out=$(at_login hostB alice 'correct horse battery staple') || nt_fail "hostB login: $out"
[ "$out" = "signed in to $D" ] || nt_fail "hostB login said '$out'"
# the host list, and hostB's own AAAA once hostB is in it (before or after the LLQs are set up)
at_log_wait hostB 'watching [12] record sets of alice.members.example.net with LLQs' 10 ||
	nt_fail "hostB did not set up its LLQ: $(tail -5 "$NT_DIR/agent-hostB.log")"
at_log_wait hostB 'published 6 records for desktop' 15 || nt_fail "hostB did not publish"
nt_pass "hostB signed in, publishes (no location: no mapping on natB) and watches with an LLQ"

# ---- hostA signs in and publishes; hostB sees it through its LLQ
out=$(at_login hostA alice 'correct horse battery staple') || nt_fail "hostA login: $out"
[ "$out" = "signed in to $D" ] || nt_fail "hostA login said '$out'"
mode=$(stat -c %a "$NT_DIR/hostA/state/account")
[ "$mode" = 600 ] || nt_fail "the state file has mode $mode"
nt_wait 15 grep -q "published 11 records for laptop.$D (lease $LEASE s)" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA did not publish: $(tail -5 "$NT_DIR/agent-hostA.log")"
t0=$(at_now_ms)
ULA_A=$(sed -n 's/^ula //p' "$NT_DIR/hostA/run/identity")
seen() { at_cli hostB hosts | grep -q "^laptop .* $ULA_A .*203.0.113.10:4500"; }
nt_wait 5 seen || nt_fail "hostB did not see laptop within 5 s: $(at_cli hostB hosts)"
t1=$(at_now_ms)
grep -q 'peer laptop is at 203.0.113.10:4500' "$NT_DIR/agent-hostB.log" || nt_fail "hostB's log does not say where laptop is"
nt_pass "hostB saw laptop $((t1 - t0)) ms after it published (LLQ event)"

# ---- the records in the server: exactly docs/design.md §4
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
MAC=$(nt_exec hostA cat /sys/class/net/eth0/address)
E=$(echo "$MAC" | awk -F: '{ printf "%s-%s-%s-FF-FE-%s-%s-%s", $1, $2, $3, $4, $5, $6 }' | tr a-f A-F)
T=AutoTunnel-$E.$D
want="laptop.$D. AAAA $ULA_A
laptop.$D. TXT \"autotunnel-id=$(cat "$NT_DIR/hostA/state/host-id")\"
_autotunnel._udp.laptop.$D. SRV 0 0 4500 $T.
$T. A 203.0.113.10
$T. AAAA $ULA_A
$T. TXT \"v=1\" \"model=$(uname -m)\" \"os=$(uname -s)\" \"ike=2\"
_autotunnel._udp.$D. PTR laptop.$D.
_ssh._tcp.$D. PTR laptop._ssh._tcp.$D.
laptop._ssh._tcp.$D. SRV 0 0 22 laptop.$D.
laptop._ssh._tcp.$D. TXT \"\""
check_records() {	# $1: dig or kdig
	printf '%s\n' "$want" | while read -r name type data; do
		if [ "$1" = dig ]; then
			got=$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "$name" "$type")
		else
			# kdig +short still prints the TSIG pseudosection after an empty line
			got=$(nt_exec rv kdig +short -y "$K" +tls-pin="$AT_PIN" @198.51.100.53 -p 853 "$name" "$type" |
			      awk 'NF == 0 { exit } { print }')
		fi
		if [ "$type" = PTR ] && [ "$name" = "_autotunnel._udp.$D." ]; then
			printf '%s\n' "$got" | grep -qx -- "$data" || { echo "$1 $name $type: '$got' has no '$data'"; exit 1; }
		else
			[ "$got" = "$data" ] || { echo "$1 $name $type: '$got', wanted '$data'"; exit 1; }
		fi
	done
}
err=$(check_records dig) || nt_fail "$err"
err=$(check_records kdig) || nt_fail "$err"
# and its candidates (docs/paths.md §1.1): its LAN address and its mapping, the best first
# (no STUN server here, so no srflx); gen is numbered from the wall clock
cand=$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_cand.laptop.$D" TXT)
printf '%s\n' "$cand" | grep -qx '"at-cand=1 gen=[0-9]*" "lan 192.168.1.2 4500 prio=2130706431 plen=24" "mapped 203.0.113.10 4500 prio=1778384895"' ||
	nt_fail "_cand.laptop.$D TXT: '$cand'"
# nothing else: laptop's 10 records + _cand and desktop's 5 + _cand (AAAA, id TXT, its endpoint's AAAA and
# TXT, its PTR: no SRV and A without a mapping)
n=$(sqlite3 "$NT_DIR/rv/dns.db" "select count(*) from records where account = 'alice'")
[ "$n" = 17 ] || nt_fail "the server holds $n records for alice, wanted 11 + 6: $(sqlite3 "$NT_DIR/rv/dns.db" 'select hex(name), type from records')"
types=$(sqlite3 "$NT_DIR/rv/dns.db" "select type || ':' || count(*) from records where account = 'alice' group by type order by type" | tr '\n' ' ')
[ "$types" = "1:1 12:3 16:7 28:4 33:2 " ] || nt_fail "record types $types"
# the lease: what the server granted (the agent asked 5400 s), counted from now
left=$(sqlite3 "$NT_DIR/rv/dns.db" "select max(expires) - $(date +%s%3N) from records where account = 'alice'")
[ "$left" -gt $(( (LEASE - 5) * 1000 )) ] && [ "$left" -le $((LEASE * 1000)) ] || nt_fail "lease left ${left} ms"
nt_pass "the server holds exactly laptop's 10 records of docs/design.md §4 (dig -y over TCP, kdig +tls) and its _cand, lease $LEASE s"

out=$(at_cli hostB services)
printf '%s\n' "$out" | grep -q "^_ssh._tcp  *laptop  *laptop.$D:22" || nt_fail "hostB services: $out"
nt_pass "hostB's autotunnel services finds laptop's ssh"

# ---- refresh at 80% of the lease: still there after two leases
sleep $((LEASE + 5))
[ "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "laptop.$D" AAAA)" = "$ULA_A" ] || nt_fail "laptop's AAAA expired"
at_cli hostB hosts | grep -q "^laptop " || nt_fail "hostB lost laptop while it refreshes"
stat() { nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(stat llq_refreshes)" -ge 2 ] || nt_fail "the LLQs were not refreshed ($(stat llq_refreshes) refreshes)"
[ "$(stat llq_expired)" = 0 ] || nt_fail "$(stat llq_expired) LLQs expired"
[ "$(stat llq_dropped_unacked)" = 0 ] || nt_fail "LLQs dropped for events not acknowledged"
nt_pass "records refreshed before their lease ends; LLQs (lease 30 s) refreshed $(stat llq_refreshes) times"

# ---- the server is killed with -9 and restarted
lost_before=$(grep -c 'LLQs lost' "$NT_DIR/agent-hostB.log" || true)
kill -KILL "$AT_DNSD_PID"
wait "$AT_DNSD_PID" 2>/dev/null || true
AT_LEASE_MIN=10 AT_LEASE_MAX=$LEASE at_dnsd --llq-lease-max 30 --no-push
[ "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "laptop.$D" AAAA)" = "$ULA_A" ] ||
	nt_fail "laptop's AAAA is gone after the restart"
err=$(check_records dig) || nt_fail "after the restart: $err"
lost() { [ "$(grep -c 'LLQs lost' "$NT_DIR/agent-hostB.log")" -gt "$lost_before" ]; }
nt_wait 5 lost || nt_fail "hostB did not notice the loss"
back() { [ "$(grep -c 'watching .* with LLQs' "$NT_DIR/agent-hostB.log")" -ge 2 ]; }
nt_wait 15 back || nt_fail "hostB's LLQs did not come back: $(tail -5 "$NT_DIR/agent-hostB.log")"
live=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | awk '$1 == "llq_live" { print $2 }')
[ -n "$live" ] && [ "$live" -ge 2 ] || nt_fail "the server holds $live LLQs after the restart"
nt_pass "after kill -9 and a restart: nothing lost, LLQs back ($live live)"

# ---- a clean shutdown withdraws at once (and the LLQ event comes through the new LLQs)
t0=$(at_now_ms)
at_agent_stop hostA
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "laptop.$D" AAAA)" ] || nt_fail "laptop's records outlive its clean shutdown"
gone() { ! at_cli hostB hosts | grep -q "^laptop "; }
nt_wait 5 gone || nt_fail "hostB still lists laptop after its shutdown"
t1=$(at_now_ms)
grep -q 'peer laptop is gone' "$NT_DIR/agent-hostB.log" || nt_fail "hostB did not say laptop is gone"
nt_pass "clean shutdown: records withdrawn, hostB saw laptop leave $((t1 - t0)) ms after SIGTERM"

# ---- restarted, it signs in from its state file
at_agent_start hostA laptop 'service = ssh 22' 'authority = no'
at_log_wait hostA "signed in as $D" 10 || nt_fail "hostA did not sign in from its state file"
ULA_A=$(sed -n 's/^ula //p' "$NT_DIR/hostA/run/identity")
# (its location may differ: gwd may refuse to hand the old mapping to the new process)
seen_ula() { at_cli hostB hosts | grep -q "^laptop .* $ULA_A "; }
nt_wait 10 seen_ula || nt_fail "hostB did not see laptop come back: $(at_cli hostB hosts)"
nt_pass "hostA restarted: signed in from its state file, seen again by hostB"

# ---- hostA vanishes: killed, its namespace deleted; its records expire at lease end
kill -KILL "$AT_PID_hostA"
wait "$AT_PID_hostA" 2>/dev/null || true
ip netns del "$(nt_ns hostA)"
t0=$(at_now_ms)
nt_wait $((LEASE + 5)) gone || nt_fail "hostB still lists laptop $((LEASE + 5)) s after it vanished"
t1=$(at_now_ms)
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "laptop.$D" AAAA)" ] || nt_fail "laptop's AAAA did not expire"
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_autotunnel._udp.$D" PTR | grep laptop)" ] ||
	nt_fail "laptop is still in the host list"
[ "$(grep -c 'peer laptop is gone' "$NT_DIR/agent-hostB.log")" -ge 2 ] || nt_fail "hostB did not say laptop is gone"
nt_pass "hostA vanished: its records expired with their lease, hostB saw it gone after $((t1 - t0)) ms (lease $LEASE s)"

# ---- logout forgets the keys
out=$(at_cli hostB logout) || nt_fail "logout: $out"
[ "$out" = "signed out; this host's records are withdrawn" ] || nt_fail "logout said '$out'"
[ ! -e "$NT_DIR/hostB/state/account" ] || nt_fail "the state file is still there after logout"
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "desktop.$D" AAAA)" ] || nt_fail "desktop's records outlive its logout"
at_cli hostB status | grep -q '^account  none' || nt_fail "hostB still signed in: $(at_cli hostB status)"
n=$(sqlite3 "$NT_DIR/rv/dns.db" "select count(*) from records where account = 'alice'")
[ "$n" = 0 ] || nt_fail "$n records left for alice"
nt_pass "logout: records withdrawn, state file removed, signed out"
