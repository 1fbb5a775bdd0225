#!/bin/sh
# Issue 6, RFC 6281 §5.3 without LLQs: autotunnel-dnsd in rv allows one LLQ
# per client address, so each agent gets its host-list LLQ but the server
# answers ServFull for the LLQs on its peer's records. The agent polls
# instead (at once, then with back-off) and still learns where its peer is;
# when the server comes back without the limit, the agents return to LLQs;
# when hostB's address changes its connection is made again (RFC 6281
# §5.1), and events flow through the new LLQs.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_GWD" ] && [ -x "$AT_DNSD" ] ||
	nt_fail "build autotunneld, autotunnel, autotunnel-gwd and autotunnel-dnsd first"
nt_topology

D=alice.$AT_ZONE
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
# no DNS Push: LLQs, and polling when they are refused
AT_LEASE_MIN=10 AT_LEASE_MAX=20 at_dnsd --llq-per-client 1 --no-push
at_account alice 'correct horse battery staple'
# authority = no: the LLQ counts below are those of the peers' records alone, on a server
# that allows one LLQ per client; the account authority (on by default) watches records of
# its own (the revocation list, renewals: t_authority, t_agent_push)
at_agent_start hostA laptop 'authority = no'
at_agent_start hostB desktop 'authority = no'

at_login hostB alice 'correct horse battery staple' >/dev/null || nt_fail "hostB login"
at_log_wait hostB 'watching 1 record sets of alice.members.example.net with LLQs' 10 ||
	nt_fail "hostB has no LLQ on the host list: $(tail -5 "$NT_DIR/agent-hostB.log")"
at_log_wait hostB "published 6 records for desktop.$D" 15 || nt_fail "hostB did not publish"
at_login hostA alice 'correct horse battery staple' >/dev/null || nt_fail "hostA login"
nt_wait 15 grep -q "published 8 records for laptop.$D" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA did not publish: $(tail -5 "$NT_DIR/agent-hostA.log")"
t0=$(at_now_ms)
ULA_A=$(sed -n 's/^ula //p' "$NT_DIR/hostA/run/identity")
seen() { at_cli hostB hosts | grep -q "^laptop .* $ULA_A .*203.0.113.10:4500"; }
nt_wait 5 seen || nt_fail "hostB did not learn laptop's location by polling: $(at_cli hostB hosts)"
t1=$(at_now_ms)
grep -q 'an LLQ was refused (server full): polling meanwhile' "$NT_DIR/agent-hostB.log" ||
	nt_fail "hostB did not fall back to polling: $(tail -8 "$NT_DIR/agent-hostB.log")"
full=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | awk '$1 == "llq_servfull" { print $2 }')
[ -n "$full" ] && [ "$full" -ge 1 ] || nt_fail "the server answered no ServFull ($full)"
nt_pass "LLQs on laptop's records refused (ServFull x$full): hostB polled and found laptop in $((t1 - t0)) ms"

# the server comes back without the limit: both return to LLQs
nt_stop "$AT_DNSD_PID"
AT_LEASE_MIN=10 AT_LEASE_MAX=20 at_dnsd --no-push
at_log_wait hostB 'watching 7 record sets of alice.members.example.net with LLQs' 20 ||
	nt_fail "hostB did not return to LLQs: $(tail -8 "$NT_DIR/agent-hostB.log")"
# hostA: the host list, desktop's AAAA, SRV (desktop has no location, so no A to watch) and
# candidates, and each host its own AAAA (whether another computer takes its name) and its own
# punch requests (docs/paths.md §1.3)
live() { [ "$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | awk '$1 == "llq_live" { print $2 }')" = 13 ]; }
nt_wait 20 live || nt_fail "the server holds $(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | grep llq_live), wanted 7 + 6"
nt_pass "back on LLQs once the server allows them (hostB: the host list, laptop's AAAA, SRV, A and _cand, its own AAAA and _punch; 13 in all)"

# hostB's address changes (a new DHCP lease): the TLS connection went with the old
# address; the agent notices, connects again and sets its LLQs up again
nb=$(grep -c 'watching 7 record sets' "$NT_DIR/agent-hostB.log")
nt_exec hostB sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
nt_exec hostB ip addr add 192.168.2.3/24 dev eth0
nt_exec hostB ip addr del 192.168.2.2/24 dev eth0
nt_exec hostB ip route replace default via 192.168.2.1
at_log_wait hostB "connection to 198.51.100.53:853 lost: this host's address changed" 10 ||
	nt_fail "hostB did not drop its connection: $(tail -8 "$NT_DIR/agent-hostB.log")"
again() { [ "$(grep -c 'watching 7 record sets' "$NT_DIR/agent-hostB.log")" -gt "$nb" ]; }
nt_wait 10 again || nt_fail "hostB's LLQs did not come back after the move: $(tail -8 "$NT_DIR/agent-hostB.log")"
nt_pass "hostB moved to 192.168.2.3: connection made again, LLQs set up again"

# and events come through them: laptop leaves, hostB knows at once (no poll is due for seconds)
t0=$(at_now_ms)
at_agent_stop hostA
gone() { ! at_cli hostB hosts | grep -q "^laptop "; }
nt_wait 5 gone || nt_fail "hostB still lists laptop"
t1=$(at_now_ms)
nt_pass "laptop's withdrawal reached hostB through its LLQs in $((t1 - t0)) ms"
