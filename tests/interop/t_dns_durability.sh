#!/bin/sh
# Durability (docs/design.md §5): every update autotunnel-dnsd acknowledged just
# before it was killed with SIGKILL is there after a restart, and leases
# keep running while the server is down (a record whose lease ended during
# the outage is gone at once after the restart; a longer one survives).
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
# a directory of its own: the server hands it to the user it runs as
DB=$NT_DIR/dnsd/dns.db
mkdir -m 0700 "$NT_DIR/dnsd"
. "$AT_SRC/tests/interop/dns_lib.sh"
start() {
	dnsd_start dnsd --tls-port 0 --lease-min 1 \
		--update-rate 0
}

echo 'alice password' | dnsd account add alice
K=$(dnsd account show alice --tsig)
start

# a record with a 2 s lease and one with the longest lease, both acknowledged
nt_exec dns /usr/bin/python3 - "$K" <<'PY' || nt_fail "leased updates failed"
import struct, sys
import dns.edns, dns.query, dns.rcode, dns.tsig, dns.update
alg, name, secret = sys.argv[1].split(":", 2)
key = dns.tsig.Key(name, secret, alg)
for host, lease in (("short", 2), ("long", 3600)):
    u = dns.update.UpdateMessage("members.example.net.")
    u.add("%s.alice.members.example.net." % host, 300, "A", "192.0.2.1")
    u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", lease))])
    u.use_tsig(key)
    assert dns.query.udp(u, "127.0.0.1", port=5353, timeout=3).rcode() == dns.rcode.NOERROR
PY

# updates in flight from 16 clients, then SIGKILL in the middle of them
: >"$NT_DIR/acked"
nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_durability.py" load 127.0.0.1 5353 "$K" "$NT_DIR/acked" &
LOAD=$!
NT_PIDS="$NT_PIDS $LOAD"
nt_wait 30 sh -c "[ \$(wc -l < '$NT_DIR/acked') -ge 300 ]" || nt_fail "fewer than 300 updates acknowledged in 30 s"
kill -KILL "$DNSD_PID"
wait "$LOAD" 2>/dev/null || true
N=$(wc -l <"$NT_DIR/acked")
nt_log "killed the server after $N acknowledged updates"
sleep 3	# the short lease ends while the server is down

start
OUT=$(nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_durability.py" check 127.0.0.1 5353 "$K" "$NT_DIR/acked")
[ "$OUT" = "acknowledged $N present $N missing 0" ] || nt_fail "after restart: $OUT"
nt_pass "all $N acknowledged updates survived kill -9"

status() { nt_exec dns dig +time=2 +tries=1 +norec -y "$K" @127.0.0.1 -p 5353 "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
nt_wait 2 sh -c "[ \"\$(ip netns exec $(nt_ns dns) dig +norec -y '$K' @127.0.0.1 -p 5353 short.alice.$Z A | grep -c NXDOMAIN)\" = 1 ]" ||
	nt_fail "the record whose lease ended while the server was down is still there"
[ "$(status long.alice.$Z A)" = NOERROR ] || nt_fail "the long-leased record is gone"
nt_pass "leases ran while the server was down"

# require-lease: stock nsupdate sends no Update Lease option and is refused
kill -TERM "$DNSD_PID"
wait "$DNSD_PID" 2>/dev/null || true
dnsd_start dnsd2 --tls-port 0 --require-lease \
	--update-rate 5
OUT=$(printf 'server 127.0.0.1 5353\nzone %s\nupdate add nolease.alice.%s 300 A 192.0.2.1\nsend\n' $Z $Z |
	nt_exec dns nsupdate -y "$K" 2>&1 | tr '\n' ' ')
[ "$OUT" = "update failed: REFUSED " ] || nt_fail "require-lease: nsupdate said '$OUT'"
[ "$(dnsd stats | sed -n 's/^update_refused_no_lease //p')" = 1 ] || nt_fail "require-lease not counted"
nt_pass "require-lease refuses updates without a lease"

# the per-client update rate limit: 5/s with a burst of 10, then REFUSED
OUT=$(nt_exec dns /usr/bin/python3 - "$K" <<'PY'
import struct, sys, time
import dns.edns, dns.query, dns.rcode, dns.tsig, dns.update
alg, name, secret = sys.argv[1].split(":", 2)
key = dns.tsig.Key(name, secret, alg)
codes = []
t0 = time.monotonic()
for i in range(30):
    u = dns.update.UpdateMessage("members.example.net.")
    u.add("rate%d.alice.members.example.net." % i, 300, "A", "192.0.2.1")
    u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", 3600))])
    u.use_tsig(key)
    codes.append(dns.rcode.to_text(dns.query.udp(u, "127.0.0.1", port=5353, timeout=3).rcode()))
ok = codes.count("NOERROR")
# a burst of 10 (the nsupdate above took one), then 5 a second
print(9 <= ok <= 10 + 5 * (time.monotonic() - t0) + 1 and ok < 30,
      codes.count("REFUSED") + ok == 30)
PY
)
[ "$OUT" = "True True" ] || nt_fail "update rate limit: $OUT"
[ "$(dnsd stats | sed -n 's/^update_refused_rate //p')" -ge 16 ] || nt_fail "rate refusals not counted"
nt_pass "per-client update rate limit"
