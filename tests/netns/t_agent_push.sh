#!/bin/sh
# Issue 16 (1): the agent prefers DNS Push (RFC 8765) when the server offers
# it (_dns-push-tls._tcp.D), and falls back to LLQ when it does not.
#   - two agents on a server with Push: `status` says "connected, DNS Push",
#     the server holds their subscriptions and no LLQ, and discovery came
#     through PUSH messages;
#   - laptop moves to another network: desktop learns its new location
#     through PUSH (the server's push count grows, still no LLQ);
#   - the server restarts with `push = no` (no SRV, no DSO): both agents
#     watch with LLQs, `status` says "connected, LLQ up", the server holds
#     LLQs and no subscription, and a change still reaches desktop.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
nt_topology
S=198.51.100.53:853

stat() { nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | awk -v k="$1" '$1 == k { print $2 }'; }

at_bed_two
UA=$(at_ula hostA)

# ---- Push offered (the default)
for h in hostA hostB; do
	st() { at_cli "$h" status | grep -qx "server   $S   connected, DNS Push"; }
	nt_wait 10 st || nt_fail "$h status does not say DNS Push: $(at_cli "$h" status)"
	at_cli "$h" status --json | grep -q '"server_state":"push"' || nt_fail "$h status --json: $(at_cli "$h" status --json)"
	grep -q "watching [0-9]* record sets of alice.$AT_ZONE with DNS Push" "$NT_DIR/agent-$h.log" ||
		nt_fail "$h did not log Push: $(tail -5 "$NT_DIR/agent-$h.log")"
done
# each: the host list, its own AAAA, the peer's AAAA, SRV and the A of its endpoint
# each host: the host list, the peer's AAAA, SRV, A and candidates, its own AAAA and punch requests;
# and the account authority's (on by default): both the revocation list, laptop (the signer) desktop's _renew
subs() { [ "$(stat push_subscriptions)" = 17 ]; }
nt_wait 10 subs || nt_fail "the server holds $(stat push_subscriptions) subscriptions, wanted 2 x 7 + 3"
[ "$(stat llq_live)" = 0 ] || nt_fail "the server holds $(stat llq_live) LLQs with Push in use"
[ "$(stat dso_authenticated)" -ge 2 ] || nt_fail "$(stat dso_authenticated) DSO sessions authenticated"
p0=$(stat push_pushes)
[ "$p0" -gt 0 ] || nt_fail "no PUSH sent: the agents did not learn of each other through Push"
nt_pass "both agents watch with DNS Push: status says so, 17 subscriptions, 0 LLQs, $p0 PUSH messages"

# ---- laptop moves: desktop learns where through PUSH
at_plug hostA natB lanport1 eth1
at_move hostA eth0 eth1 192.168.2.3/24 192.168.2.1
moved() { at_cli hostB hosts | grep -q "^laptop .* $UA  *203\.0\.113\.20:[0-9]*\$"; }
nt_wait 15 moved || nt_fail "desktop does not see laptop's new location: $(at_cli hostB hosts)"
grep -q "laptop moved to 203.0.113.20:" "$NT_DIR/agent-hostB.log" || nt_fail "desktop did not log the move"
p1=$(stat push_pushes)
[ "$p1" -gt "$p0" ] || nt_fail "the move sent no PUSH ($p0 then $p1)"
[ "$(stat llq_live)" = 0 ] || nt_fail "the server holds $(stat llq_live) LLQs after the move"
at_cli hostB status | grep -qx "server   $S   connected, DNS Push" || nt_fail "hostB status: $(at_cli hostB status)"
nt_pass "laptop's move reached desktop through PUSH ($((p1 - p0)) more PUSH messages, still 0 LLQs)"

# ---- an authenticated DNS Push session is kept as a signed LLQ is: the
# stream's idle timeout (here 3 s, below the session's keepalive interval)
# never cuts it; the session's own timeouts (RFC 8490 §6) rule
kill -TERM "$AT_DNSD_PID"
wait "$AT_DNSD_PID" 2>/dev/null || true
at_dnsd --tcp-idle 3
for h in hostA hostB; do
	st() { at_cli "$h" status | grep -qx "server   $S   connected, DNS Push"; }
	nt_wait 15 st || nt_fail "$h is not back on DNS Push: $(at_cli "$h" status)"
done
sleep 8
[ "$(stat tcp_closed_idle)" = 0 ] || nt_fail "$(stat tcp_closed_idle) DNS Push connections closed as idle"
for h in hostA hostB; do
	at_cli "$h" status | grep -qx "server   $S   connected, DNS Push" || nt_fail "$h after 8 s: $(at_cli "$h" status)"
done
nt_pass "authenticated DNS Push sessions outlive an idle timeout of 3 s (0 closed as idle after 8 s)"

# ---- the server without Push: the agents fall back to LLQ
kill -TERM "$AT_DNSD_PID"
wait "$AT_DNSD_PID" 2>/dev/null || true
at_dnsd --no-push
[ -z "$(nt_exec rv dig +short @198.51.100.53 "_dns-push-tls._tcp.alice.$AT_ZONE" SRV)" ] ||
	nt_fail "push = no still offers _dns-push-tls._tcp"
for h in hostA hostB; do
	st() { at_cli "$h" status | grep -qx "server   $S   connected, LLQ up"; }
	nt_wait 30 st || nt_fail "$h did not fall back to LLQ: $(at_cli "$h" status)
$(tail -8 "$NT_DIR/agent-$h.log")"
done
live() { [ "$(stat llq_live)" -ge 14 ]; }
nt_wait 10 live || nt_fail "the server holds $(stat llq_live) LLQs, wanted 2 x 7"
[ "$(stat push_subscriptions)" = 0 ] || nt_fail "$(stat push_subscriptions) subscriptions on a server without Push"
[ "$(stat dso_sessions_established)" = 0 ] || nt_fail "$(stat dso_sessions_established) DSO sessions on a server without Push"
# the LLQ connection stays: the signed SRV query on it opens no session that times out
lost0=$(grep -c 'lost with the connection' "$NT_DIR/agent-hostB.log")
sleep 35
[ "$(grep -c 'lost with the connection' "$NT_DIR/agent-hostB.log")" = "$lost0" ] ||
	nt_fail "hostB lost its connection on a server without Push: $(tail -5 "$NT_DIR/agent-hostB.log")"
[ "$(stat llq_live)" -ge 14 ] || nt_fail "$(stat llq_live) LLQs after 35 s"
nt_pass "server without Push: both agents watch with LLQs ($(stat llq_live) live), status says LLQ up"

# and a change still reaches desktop, now through an LLQ event
ev0=$(stat llq_events)
at_agent_stop hostA
gone() { ! at_lists hostB laptop; }
nt_wait 10 gone || nt_fail "desktop still lists laptop after it left: $(at_cli hostB hosts)"
[ "$(stat llq_events)" -gt "${ev0:-0}" ] || nt_fail "no LLQ event sent for laptop's withdrawal"
nt_pass "laptop's withdrawal reached desktop through an LLQ event"
