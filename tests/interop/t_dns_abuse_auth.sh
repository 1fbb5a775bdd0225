#!/bin/sh
# Abuse that authentication must stop (issue 13), driven by a client
# written with Debian's dnspython (tests/interop/dns_abuse_auth.py): an
# unsigned UPDATE flood from an address leaves the signed UPDATEs from
# there alone; 300 unsigned LLQ setups leave the address's signed LLQ
# alone; a signed UPDATE is applied once, its replay refused (signed) and
# its retransmission answered as the first; the per-account data quota
# refuses beyond account-records and account-bytes and gives back what
# expired records took; HMAC-MD5 on a HMAC-SHA256 key is BADKEY for a
# query, an LLQ and an UPDATE.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/interop/dns_lib.sh"

for a in alice carol dave; do
	echo "$a password" | dnsd account add $a
done
dnsd_start dnsd --tls-port 0 \
	--account-records 30 --account-bytes 4200 --lease-min 1

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_abuse_auth.py" 127.0.0.1 5353 \
	"$(dnsd account show alice --tsig)" "$(dnsd account show carol --tsig)" \
	"$(dnsd account show dave --tsig)" 30 4200 >"$NT_DIR/abuse.out" 2>&1 ||
	{ cat "$NT_DIR/abuse.out"; nt_fail "dns_abuse_auth.py failed"; }

cat >"$NT_DIR/abuse.expected" <<'OUT'
unsigned flood: 300 of 300 REFUSED
UPDATE with hmac-md5 after it: NOTAUTH BADKEY
signed updates after it: 10 of 10 NOERROR signed
unsigned LLQ setups: NOERROR 256, SERVFULL 44
signed LLQ after them: NOERROR signed, LLQ NOERROR
signed add: NOERROR signed
the same bytes again: REFUSED signed
signed delete: NOERROR signed
the add replayed after the delete: REFUSED signed
record after the replay: NXDOMAIN
signed add: NOERROR signed
deleted (NOERROR), then the add retransmitted from its socket: NOERROR signed, lease [3600]
record after the retransmission: NXDOMAIN
carol adds 30 records: NOERROR signed
one more: REFUSED signed
a refresh at the limit: NOERROR signed
one deleted: NOERROR signed
one added in its place: NOERROR signed
record: NOERROR 192.0.2.9
dave adds 4 TXT records: NOERROR signed
one more: REFUSED signed
record: NXDOMAIN
after their leases ended: NOERROR signed
query with hmac-md5: BADKEY
LLQ with hmac-md5: BADKEY
UPDATE with hmac-md5: NOTAUTH BADKEY
record: NXDOMAIN
OUT
if ! diff -u "$NT_DIR/abuse.expected" "$NT_DIR/abuse.out"; then
	nt_fail "abuse client output differs"
fi
nt_pass "unsigned floods, replays, quotas and BADKEY as expected"

stat() { dnsd stats | sed -n "s/^$1 //p"; }
# the flood: 40 (the burst of unsigned-rate 20/s) refused as unsigned, the rest by the rate
[ "$(stat update_refused_rate)" -ge 200 ] || nt_fail "update_refused_rate is $(stat update_refused_rate)"
[ "$(stat update_refused_unsigned)" -le 100 ] || nt_fail "update_refused_unsigned is $(stat update_refused_unsigned)"
[ "$(stat update_refused_replay)" = 2 ] || nt_fail "update_refused_replay is $(stat update_refused_replay)"
[ "$(stat update_retransmit)" = 1 ] || nt_fail "update_retransmit is $(stat update_retransmit)"
[ "$(stat update_refused_quota)" = 2 ] && [ "$(stat records_expired)" = 4 ] || nt_fail "update_refused_quota $(stat update_refused_quota), records_expired $(stat records_expired)"
[ "$(stat notauth_badkey)" = 4 ] || nt_fail "notauth_badkey is $(stat notauth_badkey)"
[ "$(stat llq_servfull)" = 44 ] || nt_fail "llq_servfull is $(stat llq_servfull)"
grep -q "update from carol refused: its records would be 31 (account-records 30)" "$NT_DIR/dnsd.log" ||
	nt_fail "no log line for carol's quota refusal: $(tail -5 "$NT_DIR/dnsd.log")"
nt_pass "counters and the quota log line"
