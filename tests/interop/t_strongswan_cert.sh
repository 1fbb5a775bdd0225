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
[ -x "$D" ] || nt_fail "no $D (build first)"
ss_require gcm openssl x509 pem pubkey

pair_setup
nt_exec b ip addr add fd00:b::1/128 dev lo
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
	cat > "$SWD/swanctl.conf" <<SWC
connections {
	ours {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		encap = yes
		proposals = aes256gcm16-prfsha256-x25519
		local { auth = pubkey
			certs = b.crt
			id = b.alice.members.example.net }
		remote { auth = pubkey
			cacerts = ca.crt
			id = a.alice.members.example.net }
		children {
			ours {
				local_ts = fd00:b::1/128
				remote_ts = fd00:a::1/128
				esp_proposals = aes256gcm16
				start_action = $3
			}
		}
	}
}
SWC
}

# a_conf KIND: autotunneld as a with the KIND host certificate and CA
a_conf() {
	cat > "$NT_DIR/a.conf" <<CONF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net

[peer b]
remote = 192.0.2.2:4500
remote-id = b.alice.members.example.net
remote-ts = fd00:b::1/128
connect = no
cert = $NT_DIR/a-$1.crt
key = $NT_DIR/a-$1.key
ca = $NT_DIR/ca-$1.crt
CONF
}

PID_A= PID_C= RUN=0
stop_both() {
	[ -z "$PID_A" ] || nt_stop "$PID_A"
	[ -z "$PID_C" ] || nt_stop "$PID_C"
	PID_A= PID_C=
}

# start_pair DIRECTION: autotunneld, then charon; "we": the first packet starts IKE,
# "they": charon initiates (start_action start). Sets LOG.
start_pair() {
	RUN=$((RUN + 1))
	LOG=$NT_DIR/da$RUN.log
	: > "$NT_DIR/charon.log"
	nt_bg a "da$RUN" "$D" -c "$NT_DIR/a.conf"
	PID_A=$NT_LAST_PID
	nt_wait 5 grep -q "^autotunneld: up:" "$LOG" || nt_fail "run $RUN: autotunneld did not come up: $(cat "$LOG")"
	ss_launch b "charon$RUN"
	PID_C=$SS_PID
	ss_ready || nt_fail "run $RUN: charon did not start"
	ss_load "$SWD/swanctl.conf" ours
	[ "$1" = they ] || nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >/dev/null 2>&1 || true
}

# cert_case KIND DIRECTION STRONGSWAN_SIGNATURE
cert_case() {
	local label="$1 certificates, $([ "$2" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	stop_both
	a_conf "$1"
	swanctl_conf "ca-$1" "b-$1" "$([ "$2" = we ] && echo none || echo start)"
	start_pair "$2"
	nt_wait 15 grep -q "peer b: child SA up" "$LOG" || nt_fail "$label: no child SA: $(tail -5 "$LOG")"
	grep -q "peer b: IKE SA up with b.alice.members.example.net at .*, authenticated by certificate" "$LOG" ||
		nt_fail "$label: our log does not say certificate: $(grep 'IKE SA' "$LOG")"
	grep -q "authentication of 'a.alice.members.example.net' with $3 successful" "$NT_DIR/charon.log" ||
		nt_fail "$label: strongSwan did not check our $3 signature: $(grep 'authentication of' "$NT_DIR/charon.log")"
	nt_exec a ping -6 -c 3 -i 0.2 -W 3 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "$label: ping6 fd00:b::1 failed"
	pair_tcp "sink$RUN" "$label"
	nt_pass "$label: strongSwan checked our $3 signature, we checked its certificate; ping6 and 1 MB TCP"
}

for dir in they we; do
	cert_case ed25519 $dir ED25519
	cert_case p256 $dir ECDSA_WITH_SHA256_DER
done

# tests/tools/ike_probe with --cert/--key/--ca (PEM) as the initiator, no daemon: lib/ike alone
PROBE=$AT_BUILD/lib/ike/ike_probe
[ -x "$PROBE" ] || nt_fail "$PROBE not built"
for kind in ed25519 p256; do
	stop_both
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
stop_both
a_conf p256
swanctl_conf ca-p256 b-evil start
start_pair they
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
stop_both
