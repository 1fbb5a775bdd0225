#!/bin/sh
# Polite load shedding (docs/dnsd.md "Shedding load"), against clients
# written from the RFCs (tests/interop/dns_shed.py): past a budget of new
# watchers per second, LLQ set-ups get SERV-FULL and DNS Push SUBSCRIBEs a
# Retry Delay, each with a short random time to come back; a stopping server
# gives each DSO session a Retry Delay before it closes.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/interop/dns_lib.sh"

echo 'alice password' | dnsd account add alice >/dev/null
dnsd_start dnsd --tls-port 8853 \
	--watch-setup-rate 5 --shed-retry-min-ms 1000 --shed-retry-max-ms 8000

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_shed.py" 127.0.0.1 5353 8853 "$DB.tls-cert.pem" \
	"$(dnsd account show alice --tsig)" "$DNSD_PID" >"$NT_DIR/shed.out" 2>&1 ||
	{ cat "$NT_DIR/shed.out"; nt_fail "dns_shed.py failed"; }
cat "$NT_DIR/shed.out"
cat >"$NT_DIR/shed.expected" <<'OUT'
llq set-ups: challenged 5, SERV-FULL 7, retry times within 1-8 s True
signed query: True
subscribes: NOERROR 5, SERVFAIL 3, Retry Delays within 1000-8000 ms True
session 1 at stop: Retry Delay id 0 rcode 0 delay within 1000-8000 ms True; then closed
session 2 at stop: Retry Delay id 0 rcode 0 delay within 1000-8000 ms True; then closed
OUT
diff -u "$NT_DIR/shed.expected" "$NT_DIR/shed.out" || nt_fail "unexpected output"
nt_wait 5 sh -c "! kill -0 $DNSD_PID 2>/dev/null" || nt_fail "the server did not stop"
grep -q "DNS Push: 2 sessions told to come back in 1000 to 8000 ms" "$NT_DIR/dnsd.log" ||
	nt_fail "no log of the Retry Delays: $(cat "$NT_DIR/dnsd.log")"
nt_pass "shedding: SERV-FULL and Retry Delays with short random retry times; Retry Delays at stop"
