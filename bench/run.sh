#!/bin/sh
# Run the benchmarks: every bench/<name>/run.sh, or only those named on the
# command line. Builds an optimised tree in build-bench first. Each benchmark
# prints "name value unit" and "name ratio X (ours A unit, peer B unit)"
# lines; all are collected in bench/results/<date>.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
ninja -C build-bench >/dev/null
mkdir -p bench/results
BENCH_OUT="$top/bench/results/$(date +%Y%m%d-%H%M%S).txt"
export BENCH_OUT AT_SRC="$top" AT_BUILD="$top/build-bench"
names=${*:-$(for d in bench/*/; do [ -x "$d/run.sh" ] && basename "$d"; done)}
if [ -z "$names" ]; then
	echo "bench: no benchmarks yet"
	exit 0
fi
for n in $names; do
	echo "== bench/$n"
	"bench/$n/run.sh"
done
echo "results: $BENCH_OUT"
