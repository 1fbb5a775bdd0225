#!/bin/sh
# make fuzz-smoke: a timed libFuzzer run of every target, a few minutes in
# all, to run before landing a change to a parser. The corpus replay in
# `make check` only proves that the seeds still pass; this searches beyond
# them. Each target gets FUZZ_SECONDS (default 8) on a scratch copy of its
# seed corpus, so the repository's corpora stay as reviewed. A crash stops
# the run with the reproducer's path.
#   usage: scripts/fuzz-smoke.sh [BUILD_DIR] [TARGET...]
set -eu
build=${1:-build-fuzz}
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-8}
work=$(mktemp -d /tmp/fuzz-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(find "$build/fuzz" -maxdepth 1 -type f -perm -u+x -name "fuzz_*" | sed "s|.*/fuzz_||" | sort)
fi
n=0
for t in $targets; do
	bin=$build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz-smoke: $bin missing (make fuzz)" >&2; exit 2; }
	mkdir -p "$work/$t" "$work/crash-$t"
	[ -d "$src/fuzz/corpus/$t" ] && cp -r "$src/fuzz/corpus/$t/." "$work/$t/"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/crash-$t/" \
		"$work/$t" >"$work/$t.log" 2>&1; then
		tail -40 "$work/$t.log"
		keep=/tmp/fuzz-smoke-crash-$t
		rm -rf "$keep"; cp -r "$work/crash-$t" "$keep"
		echo "fuzz-smoke: $t FAILED; reproducer(s) in $keep" >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	echo "fuzz-smoke: $t ok, $execs runs in ${secs}s"
	n=$((n + 1))
done
echo "fuzz-smoke: $n targets, no crash"
