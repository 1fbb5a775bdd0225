#!/bin/sh
# Issue 6 (3): natA's gateway daemon restarts. autotunnel-gwd on natA loses
# every mapping (and the flows through them); its epoch starts again, which
# its announcement tells the LAN. hostA ("laptop") maps UDP 4500 again and
# publishes again by itself, and the tunnel that hostB ("desktop") made to
# laptop's mapped address works again without anyone doing anything.
# (natA's conntrack outlives the daemon, as it would not a real reboot; the
# new mapping's creation flushes the entries of its port, so desktop's
# packets go through the new mapping from then on.)
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
nt_topology
LIMIT_MS=5000
AT_LOG_LEVEL=debug	# an unchanged record set sent again is logged at debug level ("refreshed")

at_bed_two
UA=$(at_ula hostA)
# desktop makes the tunnel, so it reaches laptop through natA's mapping
at_cli hostB ping laptop >/dev/null || nt_fail "no tunnel from desktop to laptop: $(at_cli hostB ping laptop)"
grep -q "laptop: starting a tunnel to 203.0.113.10:4500" "$NT_DIR/agent-hostB.log" ||
	nt_fail "desktop did not start the tunnel towards natA's mapping"

# a restart shows in the epoch only once the old one has run a few seconds
# (RFC 6886 §3.6 allows 2 s of jitter): let it reach 4 s
epoch() { nt_exec natA "$AT_GWD" status --state-dir "$NT_DIR/gwdA" | head -1 | sed -n 's/.*, epoch \([0-9]*\) s,.*/\1/p'; }
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns natA) $AT_GWD status --state-dir $NT_DIR/gwdA |
	head -1 | sed -n 's/.*, epoch \([0-9]*\) s,.*/\1/p')\" -ge 4 ]" || nt_fail "gwd's epoch did not reach 4 s: $(epoch)"
published() { grep -c "\(published\|refreshed\) [0-9]* records" "$NT_DIR/agent-hostA.log"; }
before=$(published)

kill -TERM "$AT_GWDA_PID"
wait "$AT_GWDA_PID" || nt_fail "gwd exited with an error"
nt_exec natA nft list table ip autotunnel-gwd >/dev/null 2>&1 && nt_fail "gwd left its table behind"
t0=$(at_now_ms)
nt_bg natA gwdA2 "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
echo "gwd on natA restarted: every mapping forgotten, epoch back to 0"

# laptop notices, maps again, publishes again
at_log_wait hostA "the gateway 192.168.1.1 restarted and forgot our mapping" 5 ||
	nt_fail "laptop did not notice the restart: $(tail -20 "$NT_DIR/agent-hostA.log")"
at_log_wait hostA "mapping made again after the gateway's restart: reachable at 203.0.113.10:4500" 5 ||
	nt_fail "laptop did not map again: $(tail -20 "$NT_DIR/agent-hostA.log")"
nt_wait 10 sh -c "[ \$(grep -c '\(published\|refreshed\) [0-9]* records' $NT_DIR/agent-hostA.log) -gt $before ]" ||
	nt_fail "laptop did not publish again: $(tail -20 "$NT_DIR/agent-hostA.log")"
nt_exec natA "$AT_GWD" status --state-dir "$NT_DIR/gwdA" | grep -q '^192\.168\.1\.2:4500  *-> 4500  *udp .* PCP$' ||
	nt_fail "gwd has no mapping for laptop: $(nt_exec natA "$AT_GWD" status --state-dir "$NT_DIR/gwdA")"
nt_pass "laptop mapped 203.0.113.10:4500 again and published again"

# desktop's tunnel works again by itself (its packets still go to 203.0.113.10:4500)
ok=""
for i in $(seq 50); do
	if nt_exec hostB ping -6 -c 1 -W 1 "$UA" >/dev/null 2>&1; then ok=1; break; fi
	[ $(( $(at_now_ms) - t0 )) -le $((LIMIT_MS + 5000)) ] || break
done
[ -n "$ok" ] || nt_fail "desktop cannot reach laptop through the tunnel after the restart"
ms=$(( $(at_now_ms) - t0 ))
[ "$ms" -le "$LIMIT_MS" ] || nt_fail "desktop reached laptop again only after $ms ms (limit $LIMIT_MS)"
at_cli hostB status | grep -q "^peer     laptop   $UA   mapped 203.0.113.10:4500" ||
	nt_fail "desktop's status: $(at_cli hostB status)"
nt_pass "desktop's tunnel to laptop works again $ms ms after the restart, nobody touched it"
