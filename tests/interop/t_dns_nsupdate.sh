#!/bin/sh
# autotunnel-dnsd driven by tools nobody here wrote: BIND's nsupdate adds,
# replaces and deletes records with hmac-sha256 and hmac-md5 keys, with and
# without prerequisites; dig -y reads them back; kdig +tls queries over DNS
# over TLS with the pinned key; unsigned, wrongly signed and cross-account
# updates and private queries are refused (or, unsigned queries, answered
# NODATA) with the exact rcodes; and every
# refusal shows in `autotunnel-dnsd stats`.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
# a directory of its own: the server hands it to the user it runs as
DB=$NT_DIR/dnsd/dns.db
mkdir -m 0700 "$NT_DIR/dnsd"
. "$AT_SRC/tests/interop/dns_lib.sh"

echo 'alice password' | dnsd account add alice
echo 'bob password' | dnsd account add bob --algorithm hmac-md5
KA=$(dnsd account show alice --tsig)
KB=$(dnsd account show bob --tsig)
case $KA in hmac-sha256:alice.$Z:*) ;; *) nt_fail "account show alice --tsig printed '$KA'" ;; esac
case $KB in hmac-md5:bob.$Z:*) ;; *) nt_fail "account show bob --tsig printed '$KB'" ;; esac
[ "$(dnsd account list)" = "alice alice.$Z hmac-sha256
bob bob.$Z hmac-md5" ] || nt_fail "account list: $(dnsd account list)"
# a wrong key: alice's name with bob's secret
KW="hmac-sha256:alice.$Z:${KB##*:}"

dnsd_start dnsd --tls-port 8853

# status of a dig query: NOERROR, NXDOMAIN, REFUSED, NOTAUTH ...
status() { nt_exec dns dig +time=2 +tries=1 +norec @127.0.0.1 -p 5353 "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
answer() { nt_exec dns dig +time=2 +tries=1 +norec +short @127.0.0.1 -p 5353 "$@" | sort | tr '\n' ' '; }
# run nsupdate with key $1 on the rest of the lines; prints what nsupdate says
upd() {
	k=$1; shift
	printf 'server 127.0.0.1 5353\nzone %s\n%s\nsend\n' $Z "$(printf '%s\n' "$@")" |
		nt_exec dns nsupdate ${k:+-y "$k"} 2>&1 | tr '\n' ' '
}
expect() { [ "$2" = "$3" ] || nt_fail "$1: expected '$3', got '$2'"; nt_pass "$1"; }

H=h1.alice.$Z
# add (hmac-sha256), read back with dig -y
expect "nsupdate -y hmac-sha256 adds" "$(upd "$KA" "update add $H 300 A 192.0.2.1" "update add $H 300 AAAA fd00::1")" ""
expect "dig -y reads A" "$(answer -y "$KA" $H A)" "192.0.2.1 "
expect "dig -y reads AAAA" "$(answer -y "$KA" $H AAAA)" "fd00::1 "
# replace: delete the RRset and add in one update
expect "replace" "$(upd "$KA" "update delete $H A" "update add $H 300 A 192.0.2.2")" ""
expect "dig -y reads the replacement" "$(answer -y "$KA" $H A)" "192.0.2.2 "
# prerequisites (RFC 2136 §2.4)
expect "prereq yxrrset holds" "$(upd "$KA" "prereq yxrrset $H A" "update add $H 300 TXT \"v=1\"")" ""
expect "TXT added" "$(answer -y "$KA" $H TXT)" '"v=1" '
expect "prereq nxdomain fails" "$(upd "$KA" "prereq nxdomain $H" "update add $H 300 A 192.0.2.9")" "update failed: YXDOMAIN "
expect "prereq yxdomain on a missing name fails" "$(upd "$KA" "prereq yxdomain nope.alice.$Z" "update add $H 300 A 192.0.2.9")" "update failed: NXDOMAIN "
expect "prereq nxrrset fails" "$(upd "$KA" "prereq nxrrset $H A" "update add $H 300 A 192.0.2.9")" "update failed: YXRRSET "
expect "prereq yxrrset with value fails" "$(upd "$KA" "prereq yxrrset $H A 192.0.2.1" "update add $H 300 A 192.0.2.9")" "update failed: NXRRSET "
expect "nothing changed by failed prerequisites" "$(answer -y "$KA" $H A)" "192.0.2.2 "
# SRV with its target's addresses in the additional section
expect "add SRV and target" "$(upd "$KA" "update add _autotunnel._udp.$H 300 SRV 0 0 4500 AutoTunnel-1.alice.$Z" "update add AutoTunnel-1.alice.$Z 300 A 203.0.113.10")" ""
expect "SRV answer has the target address in additional" \
	"$(nt_exec dns dig +norec -y "$KA" @127.0.0.1 -p 5353 _autotunnel._udp.$H SRV |
		sed -n '/ADDITIONAL SECTION/,/^$/p' | grep -c '^AutoTunnel-1.alice.members.example.net.*IN A 203.0.113.10$')" 1
expect "empty non-terminal answers NODATA" "$(status -y "$KA" _udp.$H A)" NOERROR
# delete: the name's records go; it still has a child, so it answers NODATA
expect "delete the name" "$(upd "$KA" "update delete $H")" ""
expect "no A left" "$(answer -y "$KA" $H A)" ""
expect "a name with children is NODATA" "$(status -y "$KA" $H A)" NOERROR
expect "delete the child" "$(upd "$KA" "update delete _autotunnel._udp.$H SRV")" ""
expect "now the name is NXDOMAIN" "$(status -y "$KA" $H A)" NXDOMAIN

# over TCP (nsupdate -v): the answer comes after the commit, on the connection
expect "nsupdate -v (TCP) adds" "$(printf 'server 127.0.0.1 5353\nzone %s\nupdate add tcp.alice.%s 300 A 192.0.2.77\nsend\n' $Z $Z |
	nt_exec dns nsupdate -v -y "$KA" 2>&1 | tr '\n' ' ')" ""
expect "dig reads the TCP update" "$(answer -y "$KA" tcp.alice.$Z A)" "192.0.2.77 "

# RFC 9664: a pure refresh (re-adding what exists) does not bump the serial; a change does
serial() { nt_exec dns dig +short @127.0.0.1 -p 5353 $Z SOA | awk '{ print $3 }'; }
S0=$(serial)
expect "refresh" "$(upd "$KA" "update add tcp.alice.$Z 300 A 192.0.2.77")" ""
expect "a pure refresh keeps the serial" "$(serial)" "$S0"
expect "change" "$(upd "$KA" "update add tcp.alice.$Z 300 A 192.0.2.78")" ""
expect "a change bumps the serial" "$(serial)" "$((S0 + 1))"

# hmac-md5 (BTMM clients' algorithm) for bob
expect "nsupdate -y hmac-md5 adds" "$(upd "$KB" "update add mac.bob.$Z 300 A 198.51.100.7")" ""
expect "dig -y hmac-md5 reads it" "$(answer -y "$KB" mac.bob.$Z A)" "198.51.100.7 "

# refusals, each with its exact rcode
expect "unsigned update is REFUSED" "$(upd "" "update add x.alice.$Z 300 A 192.0.2.1")" "update failed: REFUSED "
expect "wrongly signed update is NOTAUTH/BADSIG" "$(upd "$KW" "update add x.alice.$Z 300 A 192.0.2.1" | grep -o 'update failed: NOTAUTH(BADSIG)')" "update failed: NOTAUTH(BADSIG)"
expect "alice's key on bob's name is REFUSED" "$(upd "$KA" "update add y.bob.$Z 300 A 192.0.2.1")" "update failed: REFUSED "
expect "synthesised records cannot be changed" "$(upd "$KA" "update add _dns-update._udp.alice.$Z 300 SRV 0 0 53 evil.example.")" "update failed: REFUSED "
expect "NS cannot be added" "$(upd "$KA" "update add sub.alice.$Z 300 NS ns.evil.example.")" "update failed: REFUSED "
expect "prerequisite on another account is REFUSED" "$(upd "$KA" "prereq yxdomain mac.bob.$Z" "update add z.alice.$Z 300 A 192.0.2.1")" "update failed: REFUSED "
# unsigned: the NODATA every private name gets, existing or not (docs/dnsd.md)
expect "private query unsigned answers NODATA" "$(status mac.bob.$Z A)" NOERROR
expect "private query unsigned shows nothing" "$(answer mac.bob.$Z A)" ""
expect "private query with another account's key is REFUSED" "$(status -y "$KA" mac.bob.$Z A)" REFUSED
expect "query with a wrong key is NOTAUTH" "$(status -y "$KW" x.alice.$Z A)" NOTAUTH
expect "dig reports BADSIG" "$(nt_exec dns dig +norec -y "$KW" @127.0.0.1 -p 5353 x.alice.$Z A 2>&1 | grep -c 'BADSIG')" 1
expect "name outside the zone is REFUSED" "$(status example.com A)" REFUSED

# the apex and the synthesised records (docs/design.md §4)
expect "SOA at the apex" "$(status $Z SOA)" NOERROR
expect "NS at the apex" "$(answer $Z NS)" "ns.$Z. "
expect "synthesised SRV" "$(answer -y "$KA" _dns-update-tls._tcp.alice.$Z SRV)" "0 0 8853 ns.$Z. "
expect "synthesised SRV (udp)" "$(answer -y "$KA" _dns-llq._udp.alice.$Z SRV)" "0 0 5353 ns.$Z. "

# DNS over TLS (RFC 7858) with kdig, pinning the key the server printed
PIN=$(sed -n 's/.*TLS SPKI pin (kdig +tls-pin=) //p' "$NT_DIR/dnsd.log")
[ -n "$PIN" ] || nt_fail "server printed no TLS pin"
# (kdig +short also prints the TSIG pseudo-section: keep the first line)
expect "kdig +tls with the pinned key" "$(nt_exec dns kdig +short +tls-pin="$PIN" -y "$KB" @127.0.0.1 -p 8853 mac.bob.$Z A | head -n1)" 198.51.100.7
expect "kdig +tls synthesised SRV" "$(nt_exec dns kdig +short +tls-pin="$PIN" -y "$KA" @127.0.0.1 -p 8853 _dns-llq-tls._tcp.alice.$Z SRV | head -n1)" "0 0 8853 ns.$Z."
expect "kdig +tls with a wrong pin fails" "$(nt_exec dns kdig +short +tls-pin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= @127.0.0.1 -p 8853 $Z SOA 2>&1 | grep -c 'handshake failed (Error in the certificate.)')" 1
expect "TCP answers too" "$(nt_exec dns dig +tcp +short -y "$KB" @127.0.0.1 -p 5353 mac.bob.$Z A)" 198.51.100.7

# a malformed packet gets FORMERR and the server lives on
expect "garbage gets FORMERR" "$(nt_exec dns /usr/bin/python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]), ("127.0.0.1", 5353))
r = s.recv(512); print(r[0] == 0x12 and r[1] == 0x34 and r[2] & 0x80 != 0, r[3] & 15)')" "True 1"

# every refusal is counted by reason
stat() { dnsd stats | sed -n "s/^$1 //p"; }
expect "stats: unsigned update" "$(stat update_refused_unsigned)" 1
expect "stats: cross-account update" "$(stat update_refused_outside_account)" 1
expect "stats: synthesised" "$(stat update_refused_synthesised)" 1
expect "stats: NS" "$(stat update_refused_type)" 1
expect "stats: prerequisite outside" "$(stat update_refused_prereq_outside)" 1
expect "stats: prerequisites failed" "$(stat update_prereq_failed)" 4
expect "stats: private unsigned (answered NODATA, twice above)" "$(stat refused_private_unsigned)" 2
expect "stats: private wrong key" "$(stat refused_private_wrong_key)" 1
expect "stats: BADSIG (update and queries)" "$(stat notauth_badsig)" 3
expect "stats: FORMERR" "$(stat formerr)" 1
expect "stats: out of zone" "$(stat refused_out_of_zone)" 1
