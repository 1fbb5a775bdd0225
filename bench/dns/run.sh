#!/bin/sh
# bench/dns: autotunnel-dnsd against Knot (knotd) and BIND (named), in one
# run, on the same machine and the same data: 100k hosts, each with the
# SRV + A + AAAA + TXT set a host publishes (docs/design.md §4).
#
#   queries/s (dnsperf) on the zone with privacy off, as Knot and BIND serve it
#   TSIG-signed queries/s on the private zone (ours only: the others have no privacy)
#   durable TSIG-signed updates/s with an Update Lease, 16 and 64 in flight
#     (every server fsyncs: BIND and Knot their journals, we every group commit)
#   LLQ event latency from an UPDATE's answer to the event at 1,000, 10,000 and
#     100,000 watchers (p50, p99), memory per LLQ (ours only: the others have no LLQ),
#     and the CPU time per event of the server and of the watchers' client
#     (on this machine they share the cores; see llqbench.c); then the
#     server is stopped and started again and every watcher sets its LLQ up
#     again: the seconds until all are back, and the SERV-FULL answers on the way
#   resident memory per host (RSS with the data minus RSS with an empty zone)
#   TLS watchers held at once (one DNS-over-TLS connection each with a signed
#     LLQ, as agents hold the server) and resident memory per TLS connection,
#     with the connection limits on (32 per address: the watchers come from
#     many 127/8 addresses; tcp-per-account raised, all being one account);
#     capped by the open-file limit (the server needs a file per connection)
#
# Environment: BENCH_DNS_HOSTS (100000), BENCH_DNS_SECONDS (10 per dnsperf run),
# BENCH_DNS_REPEAT (3 runs per query measurement, median taken),
# BENCH_DNS_ONLY=llq (only the LLQ part: no host data, no Knot, no BIND),
# BENCH_DNS_ONLY=tls (only the TLS watchers),
# BENCH_DNS_ONLY=push (only DNS Push beside LLQ over TLS),
# BENCH_DNS_PUSH_SESSIONS ("1000 10000 max": the session counts of the Push part; max is
#   the open-file limit less 100),
# BENCH_DNS_PUSH_ROUNDS (20 updates per session count and mode),
# BENCH_DNS_PUSH_ORDER ("push llq": which mode runs first at each count),
# BENCH_DNS_ONLY=llq100k (the LLQ part at 100,000 watchers only),
# BENCH_DNS_LLQ_WATCHERS ("1000 10000 100000": the watcher counts of the LLQ part),
# BENCH_DNS_LLQ_ROUNDS (20 updates per watcher count),
# BENCH_DNS_SETUP_RATE (20000: the server's watch-setup-rate in the LLQ part,
#   so that the restart phase shows its shedding: SERV-FULL with short random
#   retry times instead of dropped requests; 0 turns the budget off),
# BENCH_DNS_TLS_WATCHERS (100000, or fewer as the open-file limit allows),
# BENCH_KEEP=1 (keep the work directory, for a look at the clients' output).
set -eu
AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT_BUILD=${AT_BUILD:-$AT_SRC/build-bench}
. "$AT_SRC/bench/lib.sh"

HOSTS=${BENCH_DNS_HOSTS:-100000}
DUR=${BENCH_DNS_SECONDS:-10}
REPEAT=${BENCH_DNS_REPEAT:-3}
ONLY=${BENCH_DNS_ONLY:-}
LLQ_ROUNDS=${BENCH_DNS_LLQ_ROUNDS:-20}
SETUP_RATE=${BENCH_DNS_SETUP_RATE:-20000}
TLS_WANT=${BENCH_DNS_TLS_WATCHERS:-100000}
LLQ_WATCHERS=${BENCH_DNS_LLQ_WATCHERS:-1000 10000 100000}
PUSH_SESSIONS=${BENCH_DNS_PUSH_SESSIONS:-1000 10000 max}
PUSH_ROUNDS=${BENCH_DNS_PUSH_ROUNDS:-20}
PUSH_ORDER=${BENCH_DNS_PUSH_ORDER:-push llq}
case "$ONLY" in
""|llq|tls|push) ;;
llq100k) ONLY=llq LLQ_WATCHERS=100000 ;;
*) echo "bench/dns: BENCH_DNS_ONLY is llq, llq100k, tls, push or empty"; exit 2 ;;
esac
LLQ_MAXW=$(for n in $LLQ_WATCHERS; do echo "$n"; done | sort -n | tail -1)
# the table limits: at least the largest count (all watchers are one client and one account)
LLQ_LIM=$((LLQ_MAXW > 100000 ? LLQ_MAXW : 100000))
DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
Z=members.example.net
P_OURS=5310
P_KNOT=5311
P_BIND=5312
P_TLS=5313
W=$(mktemp -d /tmp/bench-dns.XXXXXX)
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools="knotd named dnsperf /usr/bin/python3 cc"
[ -n "$ONLY" ] && tools=cc
for tool in $tools; do
	command -v "$tool" >/dev/null || { echo "bench/dns: $tool is missing"; exit 1; }
done
[ -x "$DNSD" ] || { echo "bench/dns: $DNSD is not built"; exit 1; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
wait_up() {	# port
	for i in $(seq 300); do
		dig +time=1 +tries=1 +short @127.0.0.1 -p "$1" $Z SOA >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench/dns: server on port $1 did not start"; exit 1
}
stop() {	# pid
	kill "$1" 2>/dev/null || true
	for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}
qps() {	# port threads [dnsperf options]: median queries/s over REPEAT runs
	port=$1 threads=$2; shift 2
	for r in $(seq "$REPEAT"); do
		dnsperf -s 127.0.0.1 -p "$port" -d "$W/data/queries.txt" -l "$DUR" -c 8 -T "$threads" -q 200 "$@" 2>&1 |
			awk '/Queries per second/ { printf "%d\n", $4 }'
	done | median
}
UPD_BYTES=2000000000
ups() {	# port in-flight: updates/s (answered NOERROR; other answers are reported, not counted)
	# (dnsperf 2.10 crashes signing with TSIG in several threads: one thread)
	dnsperf -u -s 127.0.0.1 -p "$1" -d "$W/data/updates.txt" -l "$DUR" -c 4 -T 1 -q "$2" \
		-y "$KEY" -E 2:00000e10 >"$W/ups.out" 2>&1 || true
	grep 'Response codes' "$W/ups.out" | grep -v 'NOERROR [0-9]* (100' >&2 || true
	awk '/Response codes/ { for (i = 3; i < NF; i++) if ($i == "NOERROR") ok = $(i + 1) }
	     /Queries completed|Updates completed/ { done = $3 }
	     /(Queries|Updates) per second/ { rate = $4 }
	     END { printf "%d\n", (done > 0 ? rate * ok / done : 0) }' "$W/ups.out"
}

# ---- data ----
mkdir -p "$W/data" "$W/ours" "$W/empty" "$W/knot" "$W/bind"
echo 'bench password' | "$DNSD" --zone $Z --db "$W/ours/dns.db" account add bench
cp "$W/ours/dns.db" "$W/empty/dns.db"
KEY=$("$DNSD" --zone $Z --db "$W/ours/dns.db" account show bench --tsig)
SECRET=${KEY##*:}
# each client with the parts they share (client.c)
for c in llqbench tlswatch pushbench; do
	cc -O2 -o "$W/$c" "$AT_SRC/bench/dns/$c.c" "$AT_SRC/bench/dns/client.c" -I"$AT_SRC/lib" \
		"$AT_BUILD/lib/dso/libat_dso.a" "$AT_BUILD/lib/dns/libat_dns.a" "$AT_BUILD/lib/util/libat_util.a" \
		-lssl -lcrypto
done
[ -n "$ONLY" ] || {
echo "bench/dns: generating $HOSTS hosts"
/usr/bin/python3 "$AT_SRC/bench/dns/gen.py" "$HOSTS" "$W/data" $Z bench "$W/ours/dns.db"
# distinct updates, so that every one changes the zone (a repeated one is a cheap refresh)
/usr/bin/python3 - "$W/data/updates.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(400000):
        f.write("members.example.net\nadd u%d.bench.members.example.net. 300 A 10.200.%d.%d\nsend\n"
                % (i, (i >> 8) & 255, i & 255))
PY
printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 1209600 60\n@ NS ns.%s.\nns A 127.0.0.1\n' \
	$Z $Z $Z $Z >"$W/data/empty.txt"
}

# ---- autotunnel-dnsd ----
# --user root: the benchmark's database lives in a private temporary directory that an
# unprivileged user could not reach; uid 0 without capabilities measures the same server.
ours() {	# db [options]
	db=$1; shift
	"$DNSD" --zone $Z --listen 127.0.0.1 --port $P_OURS --tls-port "${OURS_TLS:-0}" --db "$db" \
		--server-address 127.0.0.1 --log-level warn --update-rate 0 --user root "$@" &
	OURS=$!
	PIDS="$PIDS $OURS"
	wait_up $P_OURS
}
# TLS watchers: one connection and one signed LLQ each, from 32 per source
# address (the default tcp-per-address), 5,000 per client process
tls_watchers() {
	hard=$(ulimit -Hn)
	ulimit -n "$hard" 2>/dev/null || true
	TLS_CAP=$TLS_WANT
	# the server needs a file per connection besides its own few dozen
	[ "$hard" = unlimited ] || [ $((hard - 100)) -ge "$TLS_CAP" ] || TLS_CAP=$((hard - 100))
	OURS_TLS=$P_TLS
	ours "$W/empty/dns.db" --tcp-max "$TLS_CAP" --tcp-per-account "$TLS_CAP" --llq-per-account "$TLS_CAP" --tcp-idle 5
	OURS_TLS=
	sleep 1
	base=$(rss_kib $OURS)
	left=$TLS_CAP p=0 tpids=""
	while [ "$left" -gt 0 ]; do
		n=$((left < 5000 ? left : 5000))
		"$W/tlswatch" 127.0.0.1 $P_TLS "$KEY" "watched.bench.$Z" $n "127.$((16 + p))" \
			</dev/null >"$W/tls.$p" 2>&1 &
		tpids="$tpids $!"
		PIDS="$PIDS $!"
		left=$((left - n)) p=$((p + 1))
	done
	t0=$(date +%s)
	for i in $(seq 3000); do
		[ "$(cat "$W"/tls.[0-9]* | grep -c '^established')" = $p ] && break
		sleep 0.1
	done
	TLS_SETUP_S=$(($(date +%s) - t0))
	after=$(rss_kib $OURS)
	TLS_HELD=$(cat "$W"/tls.[0-9]* | awk '/^established/ { n += $2 } END { print n + 0 }')
	TLS_FAILED=$(cat "$W"/tls.[0-9]* | awk '/^established/ { n += $4 } END { print n + 0 }')
	# past the idle timeout (5 s here): a signed LLQ keeps its connection
	sleep 7
	for t in $tpids; do kill -USR1 "$t"; done
	for i in $(seq 300); do
		[ "$(cat "$W"/tls.[0-9]* | grep -c '^alive')" = $p ] && break
		sleep 0.1
	done
	TLS_ALIVE=$(cat "$W"/tls.[0-9]* | awk '/^alive/ { n += $2 } END { print n + 0 }')
	for t in $tpids; do wait "$t" || true; done
	TLS_MEM=$(( TLS_HELD > 0 ? (after - base) * 1024 / TLS_HELD : 0 ))
	stop $OURS
}
bench_tls() {
	bench_result dns_tls_watchers "$TLS_HELD" "watchers (of $TLS_CAP tried, open-file limit $(ulimit -Hn); $TLS_FAILED failed; set up in ${TLS_SETUP_S} s)"
	bench_result dns_tls_watchers_alive_after_idle "$TLS_ALIVE" watchers
	bench_result dns_tls_memory_per_connection "$TLS_MEM" bytes
}
# DNS Push and LLQ over TLS, the same N sessions each, one after the other
push_vs_llq() {
	hard=$(ulimit -Hn)
	ulimit -n "$hard" 2>/dev/null || true
	# the server needs a file per session besides its own few dozen
	PUSH_CAP=100000
	[ "$hard" = unlimited ] || PUSH_CAP=$((hard - 100))
	PUSH_COUNTS=$(for n in $PUSH_SESSIONS; do
		[ "$n" = max ] && n=$PUSH_CAP
		[ "$n" -le "$PUSH_CAP" ] || n=$PUSH_CAP
		echo "$n"
	done | sort -n | uniq)
	for n in $PUSH_COUNTS; do
		for mode in $PUSH_ORDER; do
			# a fresh server for each: its memory growth is this mode's sessions
			# (the setup budget off: shedding is the LLQ part's restart phase)
			OURS_TLS=$P_TLS
			ours "$W/empty/dns.db" --tcp-max "$n" --tcp-per-account "$n" --llq-per-account "$n" \
				--watch-setup-rate 0
			OURS_TLS=
			sleep 1
			src=16
			[ $mode = llq ] && src=40
			PUSHBENCH_SERVER_PID=$OURS PUSHBENCH_SOURCE=$src "$W/pushbench" 127.0.0.1 $P_TLS $P_OURS "$KEY" \
				"bench.$Z" "watched.bench.$Z" $mode "$n" "$PUSH_ROUNDS" </dev/null >"$W/push.$mode.$n" 2>&1 &
			PB=$!
			PIDS="$PIDS $PB"
			wait $PB || { echo "bench/dns: pushbench $mode $n failed"; cat "$W/push.$mode.$n"; exit 1; }
			stop $OURS
			f=$W/push.$mode.$n
			eval "PB_HELD_${mode}_$n=\$(awk '/^established/ { print \$2 }' \"\$f\")"
			eval "PB_SETUP_${mode}_$n=\$(awk '/^established/ { print \$8 }' \"\$f\")"
			eval "PB_PROCS_${mode}_$n=\$(awk '/^established/ { print \$10 }' \"\$f\")"
			eval "PB_MEM_${mode}_$n=\$(awk '/^established/ { print \$12 }' \"\$f\")"
			eval "PB_P50_${mode}_$n=\$(awk '/^latency_ms/ { print \$3 }' \"\$f\")"
			eval "PB_P99_${mode}_$n=\$(awk '/^latency_ms/ { print \$5 }' \"\$f\")"
			eval "PB_MISSING_${mode}_$n=\$(awk '/^latency_ms/ { print \$11 }' \"\$f\")"
			eval "PB_SCPU_${mode}_$n=\$(awk -v n=$n '/^latency_ms/ { printf \"%.2f\", \$13 * 1000 / n }' \"\$f\")"
			eval "PB_CCPU_${mode}_$n=\$(awk -v n=$n '/^latency_ms/ { printf \"%.2f\", \$15 * 1000 / n }' \"\$f\")"
		done
	done
}
bench_push() {
	bench_result dns_push_sessions_max "$PUSH_CAP" "sessions (the server's open-file limit $(ulimit -Hn) less 100: it is one process with a file per session; the clients are processes of 5,000)"
	pm=0 lm=0
	for n in $PUSH_COUNTS; do
		for mode in push llq; do
			name=$mode
			[ $mode = llq ] && name=llq_tls
			eval "held=\$PB_HELD_${mode}_$n setup=\$PB_SETUP_${mode}_$n procs=\$PB_PROCS_${mode}_$n"
			eval "p50=\$PB_P50_${mode}_$n p99=\$PB_P99_${mode}_$n scpu=\$PB_SCPU_${mode}_$n mem=\$PB_MEM_${mode}_$n"
			eval "ccpu=\$PB_CCPU_${mode}_$n"
			bench_result dns_${name}_sessions_$n "$held" "sessions (of $n, set up in $setup s; the clients in $procs processes)"
			bench_result dns_${name}_event_p50_$n "$p50" ms
			bench_result dns_${name}_event_p99_$n "$p99" ms
			bench_result dns_${name}_server_cpu_per_event_$n "$scpu" us
			# the clients' CPU (set-up, reading, TLS, parsing) shares the two cores with the server
			bench_result dns_${name}_client_cpu_per_event_$n "$ccpu" us
			bench_result dns_${name}_memory_per_session_$n "$mem" bytes
		done
		eval "pm=\$((pm + PB_MISSING_push_$n)) lm=\$((lm + PB_MISSING_llq_$n))"
		eval "bench_ratio dns_push_vs_llq_event_p50_$n \"\$PB_P50_push_$n\" \"\$PB_P50_llq_$n\" ms llq_tls"
		eval "bench_ratio dns_push_vs_llq_event_p99_$n \"\$PB_P99_push_$n\" \"\$PB_P99_llq_$n\" ms llq_tls"
		eval "bench_ratio dns_push_vs_llq_server_cpu_per_event_$n \"\$PB_SCPU_push_$n\" \"\$PB_SCPU_llq_$n\" us llq_tls"
		eval "bench_ratio dns_push_vs_llq_memory_per_session_$n \"\$PB_MEM_push_$n\" \"\$PB_MEM_llq_$n\" bytes llq_tls"
	done
	bench_result dns_push_events_missing "$pm" "events (of $PUSH_ROUNDS rounds at each count)"
	bench_result dns_llq_tls_events_missing "$lm" "events (of $PUSH_ROUNDS rounds at each count)"
}
if [ "$ONLY" = push ]; then
	push_vs_llq
	bench_result dns_push_load_average "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" 1/5/15min
	bench_push
	exit 0
fi
if [ "$ONLY" = tls ]; then
	tls_watchers
	bench_result dns_tls_load_average "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" 1/5/15min
	bench_tls
	exit 0
fi

if [ "$ONLY" != llq ]; then
ours "$W/empty/dns.db"
sleep 1
OURS_RSS0=$(rss_kib $OURS)
stop $OURS
ours "$W/ours/dns.db" --no-private
sleep 1
OURS_RSS1=$(rss_kib $OURS)
OURS_QPS=$(qps $P_OURS 2)
stop $OURS
ours "$W/ours/dns.db"
OURS_QPS_TSIG=$(qps $P_OURS 1 -y "$KEY")
stop $OURS
# UPDATEs that the server refuses are answered fast, and dnsperf counts every answer: so
# nothing may refuse them. The one account holds all 100,000 hosts (400,000 records), far
# past its record and byte quotas (account-records, account-bytes): raised. Every signed
# UPDATE is remembered for its TSIG window (601 s) against replay, 1,048,576 by default, which
# two runs of 10 s could fill: a fresh server for each run, with room for 4 times that.
UPD_OPTS="--replay-max 4194304 --account-records 100000000 --account-bytes $UPD_BYTES"
ours "$W/ours/dns.db" $UPD_OPTS
OURS_UPS16=$(ups $P_OURS 16)
stop $OURS
ours "$W/ours/dns.db" $UPD_OPTS
OURS_UPS64=$(ups $P_OURS 64)
stop $OURS
fi

# LLQ latency and memory, private zone, events signed with the account's key
llq_ours() { ours "$W/empty/dns.db" --llq-per-client $LLQ_LIM --llq-per-account $LLQ_LIM --llq-max $LLQ_LIM \
	--watch-setup-rate "$SETUP_RATE"; }
waitfor() {	# pattern file tenths-of-seconds
	for i in $(seq "$3"); do grep -q "$1" "$2" && return 0; sleep 0.1; done
	return 1
}
llq_ours
for n in $LLQ_WATCHERS; do
	mkfifo "$W/go.$n"
	base=$(rss_kib $OURS)
	LLQBENCH_SERVER_PID=$OURS LLQBENCH_RESTART=1 "$W/llqbench" 127.0.0.1 $P_OURS "$KEY" "watched.bench.$Z" \
		$n "$LLQ_ROUNDS" <"$W/go.$n" >"$W/llq.$n" &
	LB=$!
	exec 9>"$W/go.$n"
	# set-up is one handshake at a time: about 100 µs each here
	waitfor established "$W/llq.$n" $((600 + n / 50)) || { echo "bench/dns: LLQ setup failed"; cat "$W/llq.$n"; exit 1; }
	after=$(rss_kib $OURS)
	echo go >&9
	# each round ends within 5.3 s
	waitfor '^restart' "$W/llq.$n" $((LLQ_ROUNDS * 60 + 100)) || { echo "bench/dns: LLQ rounds did not end"; cat "$W/llq.$n"; exit 1; }
	# the server goes away (its LLQs with it) and comes back: every watcher sets up again
	stop $OURS
	llq_ours
	echo go >&9
	exec 9>&-
	wait $LB || { echo "bench/dns: LLQ restart did not recover"; cat "$W/llq.$n"; }
	eval "LLQ_P50_$n=\$(awk '/latency_ms/ { print \$3 }' \"\$W/llq.\$n\")"
	eval "LLQ_P99_$n=\$(awk '/latency_ms/ { print \$5 }' \"\$W/llq.\$n\")"
	eval "LLQ_MISSING_$n=\$(awk '/latency_ms/ { print \$11 + \$13 }' \"\$W/llq.\$n\")"
	# CPU per event from the UPDATE to the last event: the server (all threads), the client
	eval "LLQ_SCPU_$n=\$(awk -v n=$n '/latency_ms/ { printf \"%.2f\", \$17 * 1000 / n }' \"\$W/llq.\$n\")"
	eval "LLQ_CCPU_$n=\$(awk -v n=$n '/latency_ms/ { printf \"%.2f\", \$15 * 1000 / n }' \"\$W/llq.\$n\")"
	eval "LLQ_MEM_$n=\$(( (after - base) * 1024 / n ))"
	eval "LLQ_BACK_$n=\$(awk '/^recovered/ { print \$2 }' \"\$W/llq.\$n\")"
	eval "LLQ_BACK_S_$n=\$(awk '/^recovered/ { print \$6 }' \"\$W/llq.\$n\")"
	eval "LLQ_BACK_FULL_$n=\$(awk '/^recovered/ { print \$8 }' \"\$W/llq.\$n\")"
	eval "LLQ_BACK_RTX_$n=\$(awk '/^recovered/ { print \$10 }' \"\$W/llq.\$n\")"
	# a clean table for the next count
	stop $OURS
	llq_ours
done
stop $OURS

bench_llq() {
	missing=0
	for n in $LLQ_WATCHERS; do
		eval "p50=\$LLQ_P50_$n p99=\$LLQ_P99_$n m=\$LLQ_MISSING_$n scpu=\$LLQ_SCPU_$n ccpu=\$LLQ_CCPU_$n"
		eval "back=\$LLQ_BACK_$n back_s=\$LLQ_BACK_S_$n full=\$LLQ_BACK_FULL_$n rtx=\$LLQ_BACK_RTX_$n"
		bench_result dns_llq_event_p50_$n "$p50" ms
		bench_result dns_llq_event_p99_$n "$p99" ms
		bench_result dns_llq_server_cpu_per_event_$n "$scpu" us
		bench_result dns_llq_client_cpu_per_event_$n "$ccpu" us
		bench_result dns_llq_restart_recovery_$n "${back_s:-none}" "s (${back:-0} of $n LLQs back; ${full:-?} SERV-FULL answers with a retry time (watch-setup-rate $SETUP_RATE/s), ${rtx:-?} requests sent again)"
		missing=$((missing + ${m:-0}))
	done
	bench_result dns_llq_events_missing "$missing" events
	eval "bench_result dns_llq_memory_per_llq \"\$LLQ_MEM_$LLQ_MAXW\" bytes"
}
if [ "$ONLY" = llq ]; then
	bench_result dns_llq_load_average "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" 1/5/15min
	bench_llq
	exit 0
fi
tls_watchers
push_vs_llq

# ---- Knot ----
knot_conf() {	# zonefile
	cp "$1" "$W/knot/zone.txt"
	cat >"$W/knot/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$P_KNOT
    rundir: $W/knot
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: error
key:
  - id: bench.$Z
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: upd
    key: bench.$Z
    action: update
database:
    storage: $W/knot
zone:
  - domain: $Z
    file: $W/knot/zone.txt
    acl: upd
    zonefile-sync: -1
EOF
}
knot() {
	rm -rf "$W/knot/journal" "$W/knot/timers" "$W/knot/catalog"
	knotd -c "$W/knot/knot.conf" 2>"$W/knot/log" &
	KNOT=$!
	PIDS="$PIDS $KNOT"
	wait_up $P_KNOT
}
knot_conf "$W/data/empty.txt"
knot
sleep 1
KNOT_RSS0=$(rss_kib $KNOT)
stop $KNOT
knot_conf "$W/data/zone.txt"
knot
sleep 1
KNOT_RSS1=$(rss_kib $KNOT)
KNOT_QPS=$(qps $P_KNOT 2)
KNOT_UPS16=$(ups $P_KNOT 16)
KNOT_UPS64=$(ups $P_KNOT 64)
stop $KNOT

# ---- BIND ----
bind_conf() {	# zonefile
	rm -f "$W/bind/"*.jnl
	cp "$1" "$W/bind/zone.txt"
	cat >"$W/bind/named.conf" <<EOF
options {
	directory "$W/bind";
	pid-file "$W/bind/named.pid";
	listen-on port $P_BIND { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	minimal-responses yes;
};
logging { category default { null; }; category update { null; }; category update-security { null; }; };
key "bench.$Z" { algorithm hmac-sha256; secret "$SECRET"; };
zone "$Z" {
	type primary;
	file "$W/bind/zone.txt";
	update-policy { grant bench.$Z subdomain bench.$Z ANY; };
};
EOF
}
bind() {
	named -g -n 2 -c "$W/bind/named.conf" >"$W/bind/log" 2>&1 &
	BIND=$!
	PIDS="$PIDS $BIND"
	wait_up $P_BIND
}
bind_conf "$W/data/empty.txt"
bind
sleep 1
BIND_RSS0=$(rss_kib $BIND)
stop $BIND
bind_conf "$W/data/zone.txt"
bind
sleep 1
BIND_RSS1=$(rss_kib $BIND)
BIND_QPS=$(qps $P_BIND 2)
BIND_UPS16=$(ups $P_BIND 16)
BIND_UPS64=$(ups $P_BIND 64)
stop $BIND

# ---- results ----
per_host() { awk -v a="$1" -v b="$2" -v n="$HOSTS" 'BEGIN { printf "%d", (b - a) * 1024 / n }'; }
OURS_MEM=$(per_host "$OURS_RSS0" "$OURS_RSS1")
KNOT_MEM=$(per_host "$KNOT_RSS0" "$KNOT_RSS1")
BIND_MEM=$(per_host "$BIND_RSS0" "$BIND_RSS1")

bench_result dns_hosts "$HOSTS" hosts
bench_ratio dns_qps_vs_knot "$OURS_QPS" "$KNOT_QPS" queries/s knot
bench_ratio dns_qps_vs_bind "$OURS_QPS" "$BIND_QPS" queries/s bind
bench_result dns_qps_tsig_private "$OURS_QPS_TSIG" queries/s
bench_ratio dns_updates16_vs_bind "$OURS_UPS16" "$BIND_UPS16" updates/s bind
bench_ratio dns_updates16_vs_knot "$OURS_UPS16" "$KNOT_UPS16" updates/s knot
bench_ratio dns_updates64_vs_bind "$OURS_UPS64" "$BIND_UPS64" updates/s bind
bench_ratio dns_updates64_vs_knot "$OURS_UPS64" "$KNOT_UPS64" updates/s knot
bench_llq
bench_tls
bench_push
bench_ratio dns_memory_per_host_vs_knot "$OURS_MEM" "$KNOT_MEM" bytes knot
bench_ratio dns_memory_per_host_vs_bind "$OURS_MEM" "$BIND_MEM" bytes bind
