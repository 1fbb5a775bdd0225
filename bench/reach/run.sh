#!/bin/sh
# bench/reach: how long a first connection takes (issue 11). For the common
# cell of docs/paths.md §7, both hosts behind plain masquerade (endpoint-
# independent mapping, address-and-port-dependent filtering) with no port
# mapping, the time from hostA's first datagram to hostB's ULA to the first
# echo back through the path the agents punch; and the same through a mapped
# path (hostB's router runs autotunnel-gwd, so hostB has a PCP mapping and
# hostA's first packet can go straight to it) as the reference. Each try is
# a fresh cell (tests/netns/matrix_lib.sh): new routers (empty connection
# tables: a filter opened by the previous try would flatter the next), new
# hosts, both agents restarted and signed in, their STUN checks done, then
# the clock starts at the first datagram (the tunnel is made on demand by
# it). p50 and p95 over BENCH_REACH_TRIES tries (20) of each, the ratios
# punched / mapped, and whether p95 meets the 1 s target. A try with no
# echo within BENCH_REACH_WAIT seconds (15) counts as that bound and is
# reported as failed. Runs in network namespaces; everything is cleaned up.
set -eu
AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT_BUILD=${AT_BUILD:-$AT_SRC/build-bench}
. "$AT_SRC/bench/lib.sh"
. "$AT_SRC/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/matrix_lib.sh"
nt_setup
TRIES=${BENCH_REACH_TRIES:-20}
WAIT=${BENCH_REACH_WAIT:-15}
for b in "$AT_AGENTD" "$AT_CLI" "$AT_DNSD" "$AT_GWD"; do
	[ -x "$b" ] || { echo "bench/reach: no $b; run bench/run.sh (it builds)"; exit 1; }
done
[ -x "$TURN_BIN" ] || { echo "bench/reach: coturn (turnserver) is missing"; exit 1; }

# pct P FILE: the P-th percentile (nearest rank) of the numbers in FILE
pct() { sort -n "$2" | awk -v p="$1" '{ a[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print a[r] }'; }

mx_world
for mode in punched mapped; do
	kb=home want=punched
	[ "$mode" = mapped ] && kb=gwd want=mapped
	: >"$NT_DIR/reach-$mode"
	fail=0 other=""
	for i in $(seq "$TRIES"); do
		mx_side A home
		mx_side B "$kb"
		mx_agents
		mx_first_reply "$WAIT"
		set -- $(mx_path_wait hostA "$MX_LB" 5)
		if [ -z "$MX_MS" ]; then
			fail=$((fail + 1))
			echo "$((WAIT * 1000))" >>"$NT_DIR/reach-$mode"
		else
			echo "$MX_MS" >>"$NT_DIR/reach-$mode"
			[ "$1" = "$want" ] || other="$other $i:$1"
		fi
		mx_cell_end "reach-$mode-$i"
	done
	p50=$(pct 50 "$NT_DIR/reach-$mode") p95=$(pct 95 "$NT_DIR/reach-$mode")
	eval "P50_$mode=$p50 P95_$mode=$p95"
	bench_result "reach.$mode.p50" "$p50" ms
	bench_result "reach.$mode.p95" "$p95" ms
	bench_result "reach.$mode.failed" "$fail/$TRIES" tries
	[ -z "$other" ] || echo "bench/reach: $mode tries over another path (try:path):$other"
done
bench_ratio reach.p50.punched_vs_mapped "$P50_punched" "$P50_mapped" ms mapped
bench_ratio reach.p95.punched_vs_mapped "$P95_punched" "$P95_mapped" ms mapped
if [ "$P95_punched" -lt 1000 ]; then
	bench_result reach.punched.p95_under_1s yes ""
else
	bench_result reach.punched.p95_under_1s no ""
fi
