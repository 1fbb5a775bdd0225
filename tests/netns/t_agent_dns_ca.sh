#!/bin/sh
# Issue 6, login with --ca: the server's certificate is checked against a CA
# file and must name the address (or name) the agent connects to (RFC 7858
# §4.1, RFC 6125). A CA that did not sign it and a certificate for another
# address are refused with the reason; the right CA signs in and publishes.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
command -v openssl >/dev/null || { echo "SKIP: needs openssl"; exit 77; }
nt_topology

# a CA, a server certificate for 198.51.100.53 signed by it, and a CA that signed nothing
C=$NT_DIR/certs
mkdir -p "$C"
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$1.key" \
		-out "$C/$1.pem" -subj "/CN=$1" -days 2 2>/dev/null
}
mkca ca
mkca otherca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/rv.key" -out "$C/rv.csr" \
	-subj /CN=rv.example.net 2>/dev/null
printf 'subjectAltName=IP:198.51.100.53,DNS:rv.example.net\n' >"$C/ext"
openssl x509 -req -in "$C/rv.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -out "$C/rv.pem" \
	-days 2 -extfile "$C/ext" 2>/dev/null
[ -s "$C/rv.pem" ] || nt_fail "cannot make the test certificates"

at_dnsd --tls-cert "$C/rv.pem" --tls-key "$C/rv.key"
at_account alice 'correct horse battery staple'
# the same certificate served on another address of rv: it does not name that one
ip -n "$(nt_ns rv)" addr add 198.51.100.54/24 dev eth0
nt_bg rv dnsd2 "$AT_DNSD" --zone "$AT_ZONE" --listen 198.51.100.54 --port 53 --tls-port 853 \
	--db "$NT_DIR/rv/other.db" --tls-cert "$C/rv.pem" --tls-key "$C/rv.key"
nt_wait 5 nt_exec rv sh -c 'ss -ltn | grep -q "198.51.100.54:853 "' || nt_fail "the second dnsd did not start"

at_agent_start hostA laptop
login_ca() {	# SERVER CAFILE
	printf '%s\n' 'correct horse battery staple' |
		at_cli hostA login alice --server "$1" --ca "$2" 2>&1
}
out=$(login_ca 198.51.100.53 "$C/otherca.pem") && nt_fail "signed in with a CA that did not sign the certificate"
[ "$out" = "error: login failed: cannot reach 198.51.100.53: the server's certificate is not trusted: unable to get local issuer certificate" ] ||
	nt_fail "wrong CA: '$out'"
nt_pass "a CA that did not sign the server's certificate: refused"
out=$(login_ca 198.51.100.54 "$C/ca.pem") && nt_fail "signed in to a server whose certificate names another address"
[ "$out" = "error: login failed: cannot reach 198.51.100.54: the server's certificate is not trusted: IP address mismatch" ] ||
	nt_fail "address mismatch: '$out'"
nt_pass "a certificate for another address: refused"
[ ! -e "$NT_DIR/hostA/state/account" ] || nt_fail "a failed login left a state file"

out=$(login_ca 198.51.100.53 "$C/ca.pem") || nt_fail "login with the right CA: $out"
# the first host of alice creates the account authority (on by default): its lines apart
echo "$out" | grep -q "recovery key, shown only now" || nt_fail "login did not create the authority: '$out'"
out=$(printf '%s\n' "$out" | at_enrol_filter)
[ "$out" = "signed in to alice.$AT_ZONE" ] || nt_fail "login said '$out'"
grep -qx "ca $C/ca.pem" "$NT_DIR/hostA/state/account" || nt_fail "the state file does not name the CA file"
at_log_wait hostA "published [0-9]* records for laptop.alice.$AT_ZONE" 15 || nt_fail "hostA did not publish over TLS"
at_log_wait hostA "watching [1-3] record sets of alice.$AT_ZONE with DNS Push" 5 || nt_fail "hostA does not watch with DNS Push"
nt_pass "the right CA: signed in, publishes and watches over TLS"
