# bench/lib.sh: how every benchmark reports.
#   bench_result NAME VALUE UNIT          ->  "NAME VALUE UNIT"
#   bench_ratio NAME OURS PEER UNIT [PEERNAME]
#                                         ->  "NAME ratio X (ours A UNIT, PEER B UNIT)"
# X is ours divided by the peer's: above 1 is better for rates, below 1 for times.
# Lines are also appended to $BENCH_OUT when it is set.

bench_emit() {
	printf '%s\n' "$*"
	if [ -n "${BENCH_OUT:-}" ]; then printf '%s\n' "$*" >> "$BENCH_OUT"; fi
}

bench_result() {
	bench_emit "$1 $2 $3"
}

bench_ratio() {
	local name=$1 ours=$2 peer=$3 unit=$4 peername=${5:-peer} x
	x=$(awk -v a="$ours" -v b="$peer" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }')
	bench_emit "$name ratio $x (ours $ours $unit, $peername $peer $unit)"
}
