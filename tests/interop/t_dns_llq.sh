#!/bin/sh
# LLQ (RFC 8764 as RFC 6281 §5.3 uses it) against a client written with
# Debian's dnspython (tests/interop/dns_llq.py): the UDP four-way handshake
# with TSIG, events for changes made by BIND's nsupdate and for lease
# expiry, acknowledgements, retransmission and drop, refresh, cancel, LLQs
# bound to the address that answered the challenge (no reflection), the
# TCP and TLS setups without challenge, the privacy refusals, and 200
# watchers of one name who all get their event once.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
# a directory of its own: the server hands it to the user it runs as
DB=$NT_DIR/dnsd/dns.db
mkdir -m 0700 "$NT_DIR/dnsd"
. "$AT_SRC/tests/interop/dns_lib.sh"

echo 'alice password' | dnsd account add alice
echo 'bob password' | dnsd account add bob
# short leases so that expiry happens within the test; events retransmitted
# after 300 ms so that the drop after 3 transmissions comes quickly
dnsd_start dnsd --tls-port 8853 \
	--lease-min 1 --llq-rto-ms 300

# cpu-affinity (on by default): one UDP worker per usable CPU, each pinned to its own
if [ "$(nproc)" -ge 2 ] && [ "$(nproc)" -le 64 ]; then
	pinned=$(for t in /proc/$DNSD_PID/task/*; do awk '/^Cpus_allowed_list/ { print $2 }' "$t/status"; done |
		grep -E '^[0-9]+$' | sort -u | wc -l)
	[ "$pinned" = "$(nproc)" ] || nt_fail "UDP workers pinned to $pinned distinct CPUs, not $(nproc)"
	nt_pass "UDP workers pinned to $pinned CPUs"
fi

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_llq.py" 127.0.0.1 5353 \
	"$(dnsd account show alice --tsig)" "$(dnsd account show bob --tsig)" 2 8853 "$DB.tls-cert.pem" \
	>"$NT_DIR/llq.out" 2>&1 ||
	{ cat "$NT_DIR/llq.out"; nt_fail "dns_llq.py failed"; }

cat >"$NT_DIR/llq.expected" <<'OUT'
unsigned setup: REFUSED
setup with another account's key: REFUSED
challenge: op 1 NOERROR id nonzero lease 3600 answers 0
ack: op 1 NOERROR same id True lease 3600 answers 192.0.2.1 ttl 300
lease 60 granted as 900
refresh from another address: NOSUCHLLQ
challenge answered from another address: NOSUCHLLQ
events at the other address: none
event: NOERROR id match True answers 192.0.2.2 ttl 300
event: 192.0.2.1 ttl removed
event after a refresh: none
update with lease 2: NOERROR, granted [2]
event: 192.0.2.3 ttl 300
expiry event: 192.0.2.3 ttl removed in time
refresh: NOERROR lease 7200
cancel: NOERROR lease 0
event after cancel: none
refresh after cancel: NOSUCHLLQ
unacknowledged event sent 3 times, same message id True
refresh after drop: NOSUCHLLQ
tcp setup: NOERROR id nonzero answers 192.0.2.2 ttl 300
tcp event: id match True answers 192.0.2.5 ttl 300
tls setup: TLSv1.3 NOERROR answers 192.0.2.2 ttl 300, 192.0.2.5 ttl 300
tls event: id match True answers 192.0.2.5 ttl removed
200 watchers: 200 events, 200 distinct LLQs, each on its own socket True, signed True, answers 192.0.2.9 ttl 300
after the acks, events sent again: 0
OUT
if ! diff -u "$NT_DIR/llq.expected" "$NT_DIR/llq.out"; then
	nt_fail "LLQ client output differs"
fi
nt_pass "LLQ handshake, events, expiry, retransmission, refresh, cancel, TCP, TLS, 200 watchers"

stat() { dnsd stats | sed -n "s/^$1 //p"; }
[ "$(stat llq_dropped_unacked)" = 1 ] || nt_fail "llq_dropped_unacked is $(stat llq_dropped_unacked)"
[ "$(stat llq_refused_unsigned)" = 1 ] || nt_fail "llq_refused_unsigned is $(stat llq_refused_unsigned)"
[ "$(stat llq_refused_wrong_key)" = 1 ] || nt_fail "llq_refused_wrong_key is $(stat llq_refused_wrong_key)"
[ "$(stat records_expired)" = 1 ] || nt_fail "records_expired is $(stat records_expired)"
[ "$(stat llq_events_unsent)" = 0 ] || nt_fail "llq_events_unsent is $(stat llq_events_unsent)"
nt_pass "LLQ counters"
