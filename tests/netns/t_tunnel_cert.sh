#!/bin/sh
# Two autotunnelds authenticating with certificates (IKEv2 RFC 7427 digital
# signatures, Ed25519 per RFC 8420 and ECDSA P-256) instead of a PSK: a
# test CA made with the openssl command line, a's credentials as DER files
# in [tunnel], b's as PEM in its [peer] section, one key of each kind. The
# tunnel comes up on demand, both logs say it was authenticated by
# certificate, ping6 and TCP go through, with AES-128-GCM ESP from `esp =`.
# Then the refusals: b with a certificate from another CA gets no tunnel
# and a logs AUTHENTICATION_FAILED; configuration mistakes (PSK and
# certificate together, a key that is not the certificate's) stop
# autotunneld at start-up with a message.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/cert_lib.sh"
[ -x "$D" ] || nt_fail "no $D (build first)"

pair_setup
cert_ca ca ed25519
cert_host ca a a.alice.members.example.net ed25519
cert_host ca b b.alice.members.example.net p256
cert_ca other p256
cert_host other evil b.alice.members.example.net p256
# a reads DER: the files as i2d writes them
openssl x509 -in "$NT_DIR/a.crt" -outform DER -out "$NT_DIR/a.crt.der"
openssl pkey -in "$NT_DIR/a.key" -outform DER -out "$NT_DIR/a.key.der"
openssl x509 -in "$NT_DIR/ca.crt" -outform DER -out "$NT_DIR/ca.crt.der"

cat > "$NT_DIR/a.conf" <<CONF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net
ike-retransmit-ms = 200
ike-retransmit-tries = 3
cert = $NT_DIR/a.crt.der
key = $NT_DIR/a.key.der
ca = $NT_DIR/ca.crt.der
esp = aes128gcm16

[peer b]
remote = 192.0.2.2:4500
remote-id = b.alice.members.example.net
remote-ts = fd00:b::1/128
connect = no
CONF
b_conf() {	# b_conf CERT_NAME [EXTRA LINE]
	cat > "$NT_DIR/b.conf" <<CONF
[tunnel]
ula = fd00:b::1
workers = 2
local-id = b.alice.members.example.net
ike-retransmit-ms = 200
ike-retransmit-tries = 3

[peer a]
remote = 192.0.2.1:4500
remote-id = a.alice.members.example.net
remote-ts = fd00:a::1/128
connect = no
esp = aes256gcm16, aes128gcm16
cert = $NT_DIR/$1.crt
key = $NT_DIR/$1.key
ca = $NT_DIR/ca.crt
${2:-}
CONF
}
b_conf b
pair_start da db

# 1. certificates both ways: on demand, ping6 and TCP
nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >"$NT_DIR/ping1" || nt_fail "first ping (on demand) got no answer: $(tail -3 "$NT_DIR/da.log")"
nt_wait 5 grep -q "peer b: IKE SA up with b.alice.members.example.net at 192.0.2.2:4500 .*, authenticated by certificate" "$NT_DIR/da.log" ||
	nt_fail "a's log does not show a certificate-authenticated IKE SA: $(grep 'IKE SA' "$NT_DIR/da.log")"
nt_wait 5 grep -q "peer a: IKE SA up with a.alice.members.example.net at .*, authenticated by certificate" "$NT_DIR/db.log" ||
	nt_fail "b's log does not show a certificate-authenticated IKE SA: $(grep 'IKE SA' "$NT_DIR/db.log")"
grep -q "peer b: child SA up, aes128gcm16" "$NT_DIR/da.log" || nt_fail "a's child SA is not AES-128-GCM: $(grep 'child SA' "$NT_DIR/da.log")"
nt_pass "certificates (Ed25519 DER for a, P-256 PEM for b): $(grep -m1 'IKE SA up' "$NT_DIR/da.log" | sed 's/^autotunneld: //')"

nt_exec a ping -6 -c 3 -i 0.2 -W 2 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "ping6 failed"
grep -q "3 received" "$NT_DIR/ping6" || nt_fail "ping6: $(tail -2 "$NT_DIR/ping6")"
head -c 2000000 /dev/urandom > "$NT_DIR/blob"
pair_tcp sink
nt_pass "ping6 and 2 MB TCP through the certificate-authenticated tunnel (AES-128-GCM ESP)"

# 2. b presents a certificate from another CA (same name): refused, no tunnel
nt_stop "$PID_A"
nt_stop "$PID_B"
b_conf evil
pair_start da2 db2
if nt_exec b ping -6 -c 2 -i 0.5 -W 2 fd00:a::1 >/dev/null 2>&1; then
	nt_fail "ping went through with a certificate from another CA"
fi
nt_wait 5 grep -q "peer b: IKE authentication failed (AUTHENTICATION_FAILED): certificate refused" "$NT_DIR/da2.log" ||
	nt_fail "a did not log the refused certificate: $(tail -3 "$NT_DIR/da2.log")"
nt_wait 5 grep -q "peer a: IKE authentication failed (AUTHENTICATION_FAILED)" "$NT_DIR/db2.log" ||
	nt_fail "b did not log the failed authentication: $(tail -3 "$NT_DIR/db2.log")"
! grep -q "IKE SA up\|child SA up" "$NT_DIR/da2.log" "$NT_DIR/db2.log" || nt_fail "a tunnel came up with a foreign certificate"
nt_pass "certificate from another CA refused: $(grep -m1 'authentication failed' "$NT_DIR/da2.log" | sed 's/^autotunneld: //')"
nt_stop "$PID_A"
nt_stop "$PID_B"

# 3. configuration mistakes stop autotunneld before anything starts
b_conf b "psk-file = $NT_DIR/a.ext"
nt_exec b "$D" -c "$NT_DIR/b.conf" >"$NT_DIR/bad1.out" 2>&1 && nt_fail "psk-file with cert/key/ca accepted"
grep -q "\[peer a\]: psk-file and cert/key/ca both given" "$NT_DIR/bad1.out" || nt_fail "bad1: $(cat "$NT_DIR/bad1.out")"
sed "s|^key = .*|key = $NT_DIR/a.key|" "$NT_DIR/b.conf" | grep -v psk-file >"$NT_DIR/b2.conf"
timeout 10 ip netns exec "$(nt_ns b)" "$D" -c "$NT_DIR/b2.conf" >"$NT_DIR/bad2.out" 2>&1 && nt_fail "a key that is not the certificate's accepted"
grep -q "peer a: key $NT_DIR/a.key does not belong to cert $NT_DIR/b.crt" "$NT_DIR/bad2.out" || nt_fail "bad2: $(cat "$NT_DIR/bad2.out")"
nt_pass "start-up refuses PSK and certificate together, and a key not matching its certificate"
