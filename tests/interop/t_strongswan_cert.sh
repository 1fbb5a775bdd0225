#!/bin/sh
# IKEv2 certificate authentication (RFC 7427 digital signatures) between
# autotunneld and strongSwan's charon (kernel-libipsec, swanctl, `auth =
# pubkey`), with certificates made here by the openssl command line: one CA,
# a host certificate for each side whose subjectAltName dNSName is its IKE
# ID. Ed25519 (RFC 8420) and ECDSA P-256, each with strongSwan initiating
# and with us initiating: strongSwan's log must say which signature it
# checked, our log that the tunnel was authenticated by certificate, and
# ping6 and 1 MB of TCP go through. tests/tools/ike_probe with --cert/--key/
# --ca does the same handshake as lib/ike alone. Then strongSwan presents a certificate
# from another CA: no tunnel, AUTHENTICATION_FAILED in our log.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/strongswan_lib.sh"
. "$AT_SRC/tests/netns/cert_lib.sh"
ss_require gcm openssl x509 pem pubkey
ss_pair_setup
head -c 1000000 /dev/urandom > "$NT_DIR/blob"

for kind in ed25519 p256; do
	cert_ca "ca-$kind" "$kind"
	cert_host "ca-$kind" "a-$kind" a.alice.members.example.net "$kind"
	cert_host "ca-$kind" "b-$kind" b.alice.members.example.net "$kind"
done
cert_ca other p256
cert_host other b-evil b.alice.members.example.net p256

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"
# swanctl reads credentials from the directories next to its swanctl.conf (strongSwan >= 5.7.2)
SWD=$NT_DIR/swanctl
mkdir -p "$SWD/x509" "$SWD/x509ca" "$SWD/private"

# swanctl_conf CA HOST_CERT START_ACTION: strongSwan as b with HOST_CERT, trusting CA
swanctl_conf() {
	rm -f "$SWD"/x509/* "$SWD"/x509ca/* "$SWD"/private/*
	cp "$NT_DIR/$1.crt" "$SWD/x509ca/ca.crt"
	cp "$NT_DIR/$2.crt" "$SWD/x509/b.crt"
	cp "$NT_DIR/$2.key" "$SWD/private/b.key"
	ss_swanctl "$SWD/swanctl.conf" pubkey aes256gcm16-prfsha256-x25519 aes256gcm16 "$3"
}

# a_conf KIND: autotunneld as a with the KIND host certificate and CA
a_conf() { ss_a_conf "cert = $NT_DIR/a-$1.crt" "key = $NT_DIR/a-$1.key" "ca = $NT_DIR/ca-$1.crt"; }

# cert_case KIND DIRECTION STRONGSWAN_SIGNATURE
cert_case() {
	local label="$1 certificates, $([ "$2" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	ss_pair_stop
	a_conf "$1"
	swanctl_conf "ca-$1" "b-$1" "$([ "$2" = we ] && echo none || echo start)"
	ss_cert_run "$label" "$2" "$SWD/swanctl.conf" "$3"
}

for dir in they we; do
	cert_case ed25519 $dir ED25519
	cert_case p256 $dir ECDSA_WITH_SHA256_DER
done

# tests/tools/ike_probe with --cert/--key/--ca (PEM) as the initiator, no daemon: lib/ike alone
PROBE=$AT_BUILD/lib/ike/ike_probe
[ -x "$PROBE" ] || nt_fail "$PROBE not built"
for kind in ed25519 p256; do
	ss_pair_stop
	swanctl_conf "ca-$kind" "b-$kind" none
	: > "$NT_DIR/charon.log"
	ss_launch b "charon-probe-$kind"
	PID_C=$SS_PID
	ss_ready || nt_fail "probe $kind: charon did not start"
	ss_load "$SWD/swanctl.conf" ours
	out=$NT_DIR/probe-$kind.out
	nt_exec a "$PROBE" --local-id a.alice.members.example.net --remote-id b.alice.members.example.net \
		--cert "$NT_DIR/a-$kind.crt" --key "$NT_DIR/a-$kind.key" --ca "$NT_DIR/ca-$kind.crt" \
		--local-ts fd00:a::1/128 --remote-ts fd00:b::1/128 --listen 192.0.2.1 --peer 192.0.2.2 \
		--initiate --exit-after 500 >"$out" 2>&1 || { cat "$out"; nt_fail "probe $kind: failed"; }
	grep -q '^ike up: .* remote-id=b.alice.members.example.net .* auth=cert' "$out" ||
		nt_fail "probe $kind: no certificate-authenticated IKE SA: $(cat "$out")"
	grep -q '^child up:' "$out" || nt_fail "probe $kind: no child SA: $(cat "$out")"
	grep -q "authentication of 'a.alice.members.example.net' with" "$NT_DIR/charon.log" ||
		nt_fail "probe $kind: strongSwan did not check the probe's signature"
	nt_pass "ike_probe --cert/--key/--ca ($kind) to strongSwan: $(grep -m1 '^ike up:' "$out" | cut -c1-60)..."
done

# strongSwan with a certificate of another CA: refused, no tunnel
ss_pair_stop
a_conf p256
swanctl_conf ca-p256 b-evil start
ss_pair_start they "$SWD/swanctl.conf"
nt_wait 15 grep -q "peer b: IKE authentication failed (AUTHENTICATION_FAILED)" "$LOG" ||
	nt_fail "foreign CA: our log has no AUTHENTICATION_FAILED: $(tail -5 "$LOG")"
nt_wait 5 grep -q "received AUTHENTICATION_FAILED notify error" "$NT_DIR/charon.log" ||
	nt_fail "foreign CA: strongSwan was not told: $(tail -5 "$NT_DIR/charon.log")"
! grep -q "IKE SA up\|child SA up" "$LOG" || nt_fail "foreign CA: a tunnel came up"
if nt_exec a ping -6 -c 1 -W 2 fd00:b::1 >/dev/null 2>&1; then
	nt_fail "foreign CA: ping went through"
fi
kill -0 "$PID_A" 2>/dev/null || nt_fail "foreign CA: autotunneld died"
nt_pass "strongSwan with a certificate from another CA: $(grep -m1 'authentication failed' "$LOG" | sed 's/^autotunneld: //')"
ss_pair_stop
