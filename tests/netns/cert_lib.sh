# tests/netns/cert_lib.sh: a test CA and host certificates made with the
# openssl command line, for IKEv2 certificate authentication (RFC 7427):
# t_tunnel_cert.sh and interop/t_strongswan_cert.sh. Source it after lib.sh
# and nt_setup. Not a test itself. Files go to $NT_DIR: NAME.key (PEM,
# PKCS#8, unencrypted) and NAME.crt (PEM).

# cert_genkey FILE KIND: a private key; KIND ed25519 (RFC 8420) or p256
cert_genkey() {
	case $2 in
	ed25519) openssl genpkey -algorithm ed25519 -out "$1" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
	*) nt_fail "cert_genkey: unknown key kind $2" ;;
	esac || nt_fail "openssl genpkey $2 failed"
}

# cert_ca NAME KIND: a self-signed CA, valid from now for 30 days
cert_ca() {
	cert_genkey "$NT_DIR/$1.key" "$2"
	printf '%s\n' "[ext]" "basicConstraints = critical, CA:TRUE" "keyUsage = critical, keyCertSign, cRLSign" \
		"subjectKeyIdentifier = hash" >"$NT_DIR/$1.ext"
	openssl req -x509 -new -key "$NT_DIR/$1.key" -subj "/O=autotunnel test/CN=$1" -days 30 \
		-config "$NT_DIR/$1.ext" -extensions ext -out "$NT_DIR/$1.crt" 2>"$NT_DIR/$1.err" ||
		nt_fail "openssl req (CA $1): $(cat "$NT_DIR/$1.err")"
}

# cert_host CA NAME FQDN KIND: a host certificate signed by CA, subjectAltName
# dNSName FQDN (what lib/ike and strongSwan check the IKE ID_FQDN against)
cert_host() {
	cert_genkey "$NT_DIR/$2.key" "$4"
	printf '%s\n' "[ext]" "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
		"subjectAltName = DNS:$3" "authorityKeyIdentifier = keyid" >"$NT_DIR/$2.ext"
	openssl req -new -key "$NT_DIR/$2.key" -subj "/O=autotunnel test/CN=$3" -config /dev/null \
		-out "$NT_DIR/$2.csr" 2>"$NT_DIR/$2.err" || nt_fail "openssl req ($2): $(cat "$NT_DIR/$2.err")"
	openssl x509 -req -in "$NT_DIR/$2.csr" -CA "$NT_DIR/$1.crt" -CAkey "$NT_DIR/$1.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 30 -extfile "$NT_DIR/$2.ext" -extensions ext -out "$NT_DIR/$2.crt" 2>"$NT_DIR/$2.err" ||
		nt_fail "openssl x509 -req ($2): $(cat "$NT_DIR/$2.err")"
	openssl verify -CAfile "$NT_DIR/$1.crt" "$NT_DIR/$2.crt" >/dev/null 2>&1 || nt_fail "$2.crt does not verify against $1"
}
