#!/bin/sh
# Issue 14: strongSwan with certificates issued by the account authority
# (docs/authority.md §3). An agent (nas, in pub) creates the authority of
# alice at sign-in; `autotunnel authority issue` on it makes a certificate
# and key for a (our autotunneld, a static peer) and for b (strongSwan's
# charon, a guest that is not an autotunnel host), and the anchor both trust.
# Then the tunnel between them, with strongSwan initiating and with us
# initiating: strongSwan checks our Ed25519 signature, we check its
# certificate against the anchor, ping6 and 1 MB of TCP go through.
# --pkinit client/kdc certificates carry the PKINIT names (openssl reads them).
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/netns/agent_lib.sh"
# the authority's enrolment is what this script shows: its logins print it all and approve by hand
AT_AUTO_APPROVE=0
. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/strongswan_lib.sh"
ss_require gcm openssl x509 pem pubkey
nt_topology
ss_pair_setup
head -c 1000000 /dev/urandom >"$NT_DIR/blob"

at_dnsd
at_account alice 'correct horse battery'
at_agent_start pub nas 'authority = yes'
out=$(at_login pub alice 'correct horse battery') || nt_fail "login: $out"
echo "$out" | grep -q "recovery key, shown only now" || nt_fail "nas did not create the authority: $out"
ISS=$NT_DIR/issued
for h in a b; do
	out=$(at_cli pub authority issue "$h" --out "$ISS") || nt_fail "authority issue $h: $out"
	echo "$out" | grep -qx "issued $h: $ISS/$h.pem, $ISS/$h.key and the anchor $ISS/anchor.pem" ||
		nt_fail "authority issue $h: $out"
done
[ "$(stat -c %a "$ISS/a.key")" = 600 ] || nt_fail "a.key is not 0600"
cmp -s "$ISS/anchor.pem" "$NT_DIR/pub/state/anchor.pem" || nt_fail "the anchor given out is not the authority's"
openssl verify -x509_strict -CAfile "$ISS/anchor.pem" "$ISS/a.pem" "$ISS/b.pem" >/dev/null ||
	nt_fail "the issued certificates do not verify against the anchor"
# the key leaves the agent's directory; the agent's copy of the certificate stays (the local KDC reads its own)
[ ! -e "$NT_DIR/pub/state/issued/a.key" ] && [ -f "$NT_DIR/pub/state/issued/a.pem" ] || nt_fail "$(ls -l "$NT_DIR/pub/state/issued")"
out=$(at_cli pub authority issue c --out "$ISS" --pkinit kdc 2>&1) && nt_fail "--pkinit kdc without a realm: $out"
nt_pass "autotunnel authority issue: certificates and keys for a and b, and the anchor"

# PKINIT (RFC 4556): the names a KDC and a client look for
out=$(at_cli pub authority issue kdc --out "$ISS" --pkinit kdc ALICE.EXAMPLE 2>&1) || nt_fail "issue --pkinit kdc: $out"
openssl x509 -in "$ISS/kdc.pem" -noout -text | grep -Eq "1\.3\.6\.1\.5\.2\.3\.5|Signing KDC Response" || nt_fail "the KDC certificate has no id-pkinit-KPKdc"
out=$(at_cli pub authority issue alice --out "$ISS" --pkinit client alice@ALICE.EXAMPLE 2>&1) || nt_fail "issue --pkinit client: $out"
openssl x509 -in "$ISS/alice.pem" -noout -text | grep -Eq "1\.3\.6\.1\.5\.2\.3\.4|PKINIT Client Auth" || nt_fail "the client certificate has no id-pkinit-KPClientAuth"
nt_pass "authority issue --pkinit kdc REALM / client PRINCIPAL: certificates with the PKINIT purposes"

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"
SWD=$NT_DIR/swanctl
mkdir -p "$SWD/x509" "$SWD/x509ca" "$SWD/private"
cp "$ISS/anchor.pem" "$SWD/x509ca/ca.crt"
cp "$ISS/b.pem" "$SWD/x509/b.crt"
cp "$ISS/b.key" "$SWD/private/b.key"
ss_a_conf "cert = $ISS/a.pem" "key = $ISS/a.key" "ca = $ISS/anchor.pem"

for dir in they we; do
	label="the authority's certificates, $([ "$dir" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	ss_pair_stop
	ss_swanctl "$SWD/swanctl.conf" pubkey aes256gcm16-prfsha256-x25519 aes256gcm16 \
		"$([ "$dir" = we ] && echo none || echo start)"
	ss_cert_run "$label" "$dir" "$SWD/swanctl.conf" ED25519 Ed25519
done

# strongSwan with an ECDSA P-256 key from `authority issue --key p256` (our end stays Ed25519)
out=$(at_cli pub authority issue b --out "$ISS/p256" --key p256 2>&1) || nt_fail "authority issue --key p256: $out"
openssl pkey -in "$ISS/p256/b.key" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256" || nt_fail "b.key is not a P-256 key"
openssl verify -x509_strict -CAfile "$ISS/anchor.pem" "$ISS/p256/b.pem" >/dev/null || nt_fail "the P-256 certificate does not verify"
ss_pair_stop
cp "$ISS/p256/b.pem" "$SWD/x509/b.crt"
cp "$ISS/p256/b.key" "$SWD/private/b.key"
ss_swanctl "$SWD/swanctl.conf" pubkey aes256gcm16-prfsha256-x25519 aes256gcm16 start
ss_pair_start they "$SWD/swanctl.conf"
nt_wait 15 grep -q "peer b: child SA up" "$LOG" || nt_fail "P-256 guest: no child SA: $(tail -5 "$LOG")"
grep -q "peer b: IKE SA up with b.alice.members.example.net at .*, authenticated by certificate" "$LOG" ||
	nt_fail "P-256 guest: our log does not say certificate"
ss_traffic "P-256 guest" "sinkp256"
nt_pass "strongSwan with a P-256 key and certificate from the authority (authority issue --key p256)"
ss_pair_stop
