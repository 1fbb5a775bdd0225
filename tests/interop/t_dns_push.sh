#!/bin/sh
# DNS Push Notifications (RFC 8765) over DNS Stateful Operations (RFC 8490)
# on DNS over TLS, against a client written from the RFCs with Debian's
# dnspython for ordinary messages (tests/interop/dns_push.py): discovery
# by SRV, the Keepalive exchange, DSOTYPENI, the privacy refusals (no
# session authentication, another account's session, cleartext TCP), a
# session authenticated by a TSIG-signed query, the initial PUSH,
# additions and removals made by BIND's nsupdate, TYPE ANY, lease expiry,
# RECONFIRM, the sessions of a deleted account, UNSUBSCRIBE, and the end
# of an inactive session: a Retry Delay, then an abort.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/interop/dns_lib.sh"

echo 'alice password' | dnsd account add alice
echo 'bob password' | dnsd account add bob
echo 'carol password' | dnsd account add carol
# short update leases so that expiry happens within the test; a DSO
# inactivity timeout of 1 s so that an idle session ends within it
dnsd_start dnsd --tls-port 8853 \
	--lease-min 1 --dso-inactivity-ms 1000

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_push.py" 127.0.0.1 5353 8853 "$DB.tls-cert.pem" \
	"$(dnsd account show alice --tsig)" "$(dnsd account show bob --tsig)" 2 \
	"$(dnsd account show carol --tsig)" "$DNSD --zone $Z --db $DB account del carol" \
	>"$NT_DIR/push.out" 2>&1 ||
	{ cat "$NT_DIR/push.out"; nt_fail "dns_push.py failed"; }

cat >"$NT_DIR/push.expected" <<'OUT'
srv: 0 0 8853 ns.members.example.net.
keepalive: NOERROR inactivity 1000 keepalive 3600000
keepalive asking 1 s: keepalive 10000
unknown primary TLV: DSOTYPENI tlvs 0
unauthenticated subscribe: REFUSED retry delay 300000
signed query: NOERROR, signed answer True
subscribe: NOERROR
initial push: add h1.alice.members.example.net. A 192.0.2.1 ttl 300
push: add h1.alice.members.example.net. A 192.0.2.2 ttl 300
push: remove h1.alice.members.example.net. A 192.0.2.1
push for TXT: none
subscribe ANY: NOERROR initial push: none
pushes for ANY: add h2.alice.members.example.net. AAAA 2001:db8::2 ttl 300; add h2.alice.members.example.net. TXT "v=1" ttl 300
update with lease 2: NOERROR
push: add h1.alice.members.example.net. A 192.0.2.3 ttl 300
expiry push: remove h1.alice.members.example.net. A 192.0.2.3 in time
reconfirm of a gone record: remove h1.alice.members.example.net. A 192.0.2.99
reconfirm of a present record: none
subscribe from bob's session: REFUSED retry delay 300000
subscribe over cleartext TCP: REFUSED retry delay 300000
carol subscribes: NOERROR initial push: none
carol's account deleted: Retry Delay rcode REFUSED delay 300000
push after unsubscribe: none
after the inactivity timeout: Retry Delay id 0 rcode NOERROR delay 60000, in time
then: connection closed in time
OUT
if ! diff -u "$NT_DIR/push.expected" "$NT_DIR/push.out"; then
	nt_fail "DNS Push client output differs"
fi
nt_pass "DNS Push: discovery, Keepalive, privacy, initial PUSH, changes, expiry, RECONFIRM, account deletion, UNSUBSCRIBE, inactivity"

stat() { dnsd stats | sed -n "s/^$1 //p"; }
for kv in dso_sessions=0 push_subscriptions=0 dso_delinquent=1 dso_dsotypeni=1 dso_authenticated=3 \
	push_refused_private=2 push_refused_cleartext=1 push_subscribes=3 push_unsubscribes=2 \
	push_reconfirm_removed=1 push_reconfirm_present=1; do
	[ "$(stat "${kv%%=*}")" = "${kv#*=}" ] || nt_fail "${kv%%=*} is $(stat "${kv%%=*}"), not ${kv#*=}"
done
nt_pass "DNS Push counters"
