#!/bin/sh
# A stock wide-area DNS-SD client against autotunnel-dnsd (issue 13 part 1):
# tests/interop/dns_stock_client.py, written with Debian's dnspython from
# the RFCs, finds the account domain as a zone with unsigned SOA queries
# walking up from laptop.alice.members.example.net, looks up the server's
# SRV records there, registers a host and a service with TSIG HMAC-MD5 and
# an update lease in that zone, refreshes, browses with an LLQ that sees a
# second registration arrive; then BIND's nsupdate finds the zone by
# itself and gets signed refusals, and dig shows the public records of an
# account domain (SOA, NS, server and STUN/TURN SRV) and that a private
# name answers exactly like a missing one.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
# a directory of its own: the server hands it to the user it runs as
DB=$NT_DIR/dnsd/dns.db
mkdir -m 0700 "$NT_DIR/dnsd"
. "$AT_SRC/tests/interop/dns_lib.sh"
D=alice.$Z

echo 'alice password' | dnsd account add alice --algorithm hmac-md5
echo 'bob password' | dnsd account add bob
KA=$(dnsd account show alice --tsig)
KB=$(dnsd account show bob --tsig)
case $KA in hmac-md5:$D:*) ;; *) nt_fail "account show alice --tsig printed '$KA'" ;; esac

dnsd_start dnsd --tls-port 8853 \
	--stun-server stun.example.org --turn-server turn.example.org:3479 --turns-server turn.example.org

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_stock_client.py" 127.0.0.1 5353 \
	laptop.$D "$KA" >"$NT_DIR/stock.out" 2>&1 ||
	{ cat "$NT_DIR/stock.out"; nt_fail "dns_stock_client.py failed"; }

cat >"$NT_DIR/stock.expected" <<OUT
SOA? laptop.$D. unsigned: NOERROR, answer 0, authority SOA $D.
SOA? $D. unsigned: NOERROR, answer SOA
zone $D., primary ns.$Z., key name is the zone: True
NS? $D. unsigned: NOERROR ns.$Z.
SRV? _dns-update._udp.$D. unsigned: NOERROR 0 0 5353 ns.$Z., glue 127.0.0.1
SRV? _dns-llq._udp.$D. unsigned: NOERROR 0 0 5353 ns.$Z., glue 127.0.0.1
register host laptop.$D.: NOERROR, signed, lease 7200
register service laptop._ssh._tcp.$D.: NOERROR, signed, lease 7200
register laptop._ssh._tcp.$D. again, name not in use: YXDOMAIN, signed, lease none
A? laptop.$D. signed: NOERROR 192.0.2.10
SRV? laptop._ssh._tcp.$D. signed: NOERROR 0 0 22 laptop.$D.
refresh host: NOERROR, signed, lease 7200
refresh service: NOERROR, signed, lease 7200
LLQ setup: NOERROR op 1 NOERROR id nonzero True answers 0
LLQ challenge response: NOERROR op 1 NOERROR same id True lease 7200 answers laptop._ssh._tcp.$D.
register host desktop.$D.: NOERROR, signed, lease 7200
register service desktop._ssh._tcp.$D.: NOERROR, signed, lease 7200
LLQ event: op 3 same id True answers desktop._ssh._tcp.$D.
after the ack, sent again: no
LLQ refresh: NOERROR op 2 NOERROR lease 7200
update of a name outside the zone: NOTZONE, signed, lease none
update with the host name as zone: NOTAUTH, signed, lease none
signed query outside the zone: REFUSED, signed
OUT
if ! diff -u "$NT_DIR/stock.expected" "$NT_DIR/stock.out"; then
	nt_fail "stock client output differs"
fi
nt_pass "stock client: SOA walk-up, SRV at the zone, HMAC-MD5 UPDATEs with leases in zone D, refresh, LLQ"

expect() { [ "$2" = "$3" ] || nt_fail "$1: expected '$3', got '$2'"; nt_pass "$1"; }
answer() { nt_exec dns dig +time=2 +tries=1 +norec +short @127.0.0.1 -p 5353 "$@" | sort | tr '\n' ' '; }

# BIND's nsupdate with no zone line finds the zone itself (SOA query for
# the first name) and updates there
expect "nsupdate -y hmac-md5 finds zone $D itself" "$(printf 'server 127.0.0.1 5353\nupdate add ns-found.%s 300 A 192.0.2.50\nsend\n' $D |
	nt_exec dns nsupdate -d -y "$KA" 2>&1 |
	sed -n -e 's/^Found zone name: //p' -e '/^Reply from update query/{n;s/.*status: \([A-Z]*\),.*/\1/p;}' |
	tr '\n' ' ')" "$D NOERROR "
expect "the record nsupdate added" "$(answer -y "$KA" ns-found.$D A)" "192.0.2.50 "

# refusals to signed UPDATEs are signed: nsupdate checks the TSIG of every
# answer and says "expected a TSIG or SIG(0)" when there is none
upd() {
	printf 'server 127.0.0.1 5353\nzone %s\n%s\nsend\n' "$1" "$2" | nt_exec dns nsupdate -y "$3" 2>&1 | tr '\n' ' '
}
expect "NOTAUTH for a zone below D, signed" "$(upd laptop.$D "update add laptop.$D 300 A 192.0.2.1" "$KA")" "update failed: NOTAUTH "
expect "NOTAUTH for a zone not served, signed" "$(upd example.org "update add x.example.org 300 A 192.0.2.1" "$KA")" "update failed: NOTAUTH "
expect "REFUSED for alice's key in bob's zone, signed" "$(upd bob.$Z "update add x.bob.$Z 300 A 192.0.2.1" "$KA")" "update failed: REFUSED "
expect "REFUSED for a synthesised name, signed" "$(upd $D "update add _turn._udp.$D 300 SRV 0 0 1 evil.example." "$KA")" "update failed: REFUSED "
expect "NOTZONE for a name outside zone D, signed" "$(upd $D "update add x.bob.$Z 300 A 192.0.2.1" "$KA")" "update failed: NOTZONE "
expect "YXDOMAIN for a failed prerequisite, signed" "$(upd $D "prereq nxdomain laptop.$D
update add laptop.$D 300 A 192.0.2.1" "$KA")" "update failed: YXDOMAIN "
expect "bob's own zone works" "$(upd bob.$Z "update add x.bob.$Z 300 A 192.0.2.1" "$KB")" ""

# the public records of an account domain, unsigned
expect "SOA at D" "$(answer $D SOA | awk '{ print $1, $2 }')" "ns.$Z. hostmaster.$Z."
expect "NS at D" "$(answer $D NS)" "ns.$Z. "
expect "_dns-update._udp.D" "$(answer _dns-update._udp.$D SRV)" "0 0 5353 ns.$Z. "
expect "_dns-llq._udp.D" "$(answer _dns-llq._udp.$D SRV)" "0 0 5353 ns.$Z. "
expect "_dns-update-tls._tcp.D" "$(answer _dns-update-tls._tcp.$D SRV)" "0 0 8853 ns.$Z. "
expect "_dns-llq-tls._tcp.D" "$(answer _dns-llq-tls._tcp.$D SRV)" "0 0 8853 ns.$Z. "
expect "_stun._udp.D" "$(answer _stun._udp.$D SRV)" "0 0 3478 stun.example.org. "
expect "_turn._udp.D" "$(answer _turn._udp.$D SRV)" "0 0 3479 turn.example.org. "
expect "_turn._tcp.D" "$(answer _turn._tcp.$D SRV)" "0 0 3479 turn.example.org. "
expect "_turns._tcp.D" "$(answer _turns._tcp.$D SRV)" "0 0 5349 turn.example.org. "

# a private name answers like a missing one: the whole dig output, but
# for the name itself, the padding dig aligns it with, and what varies
# with every query (id, time, size)
shape() {
	nt_exec dns dig +norec @127.0.0.1 -p 5353 "$1" "$2" |
		sed -e "s/$1/NAME/g" -e 's/id: [0-9]*/id: X/' -e '/Query time/d' -e '/WHEN/d' -e '/MSG SIZE/d' \
			-e '/COOKIE/d' -e 's/[[:space:]][[:space:]]*/ /g'
}
for t in A AAAA SRV TXT SOA ANY; do
	shape laptop.$D $t >"$NT_DIR/private.$t"
	shape nonexistent.$D $t >"$NT_DIR/missing.$t"
	diff -u "$NT_DIR/missing.$t" "$NT_DIR/private.$t" || nt_fail "$t? laptop.$D unsigned differs from $t? nonexistent.$D"
	grep -q "status: NOERROR" "$NT_DIR/private.$t" || nt_fail "$t? laptop.$D: not NOERROR"
	grep -q "ANSWER: 0, AUTHORITY: 1" "$NT_DIR/private.$t" || nt_fail "$t? laptop.$D: not NODATA with the SOA"
	grep -q "^$D\..*IN.SOA" "$NT_DIR/private.$t" || nt_fail "$t? laptop.$D: no SOA of $D"
done
nt_pass "a private name answers like a missing one (A AAAA SRV TXT SOA ANY)"
shape _ssh._tcp.$D PTR >"$NT_DIR/private.ptr"
shape _nothing._tcp.$D PTR >"$NT_DIR/missing.ptr"
diff -u "$NT_DIR/missing.ptr" "$NT_DIR/private.ptr" || nt_fail "PTR? _ssh._tcp.$D differs from a missing one"
nt_pass "the service type's PTR answers like a missing one"
expect "the records are there for the key" "$(answer -y "$KA" _ssh._tcp.$D PTR)" "desktop._ssh._tcp.$D. laptop._ssh._tcp.$D. "
