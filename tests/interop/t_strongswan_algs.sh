#!/bin/sh
# The RFC 8247 (IKEv2) and RFC 8221 (ESP) MUST algorithms against
# strongSwan's charon (kernel-libipsec, PSK, UDP-encapsulated ESP), with
# autotunneld (lib/ike + the data plane) on the other end of a veth pair.
#
# IKE proposals aes128-sha256-modp3072 (AES-128-CBC, HMAC-SHA2-256-128,
# group 15), aes256-sha256-ecp384 (AES-256-CBC, group 20) and
# aes128gcm16-prfsha256-ecp256 (AES-128-GCM): strongSwan proposes only that
# one, as initiator and as responder; each time ping6 and a 1 MB TCP
# transfer through the tunnel, and strongSwan's own list of SAs and our log
# must name the algorithms and the group.
#
# ESP proposals aes128-sha256 (AES-128-CBC with HMAC-SHA2-256-128) and
# aes128gcm16: lib/ike negotiates them for a peer whose `esp =` names them,
# autotunneld installs their keys in the data plane (ikeglue.c); strongSwan
# proposes only that one, as initiator and as responder, and ping6 and 1 MB
# of TCP go through each. Without `esp =` the same strongSwan is refused
# cleanly (NO_PROPOSAL_CHOSEN for the child SA) and autotunneld carries on.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/strongswan_lib.sh"
[ -x "$D" ] || nt_fail "no $D (build first)"
ss_require gcm openssl

pair_setup
nt_exec b ip addr add fd00:b::1/128 dev lo
openssl rand -hex 32 > "$NT_DIR/psk"
head -c 1000000 /dev/urandom > "$NT_DIR/blob"

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"

# swanctl_conf IKE_PROPOSAL ESP_PROPOSAL START_ACTION
swanctl_conf() {
	cat > "$NT_DIR/swanctl.conf" <<SWC
connections {
	ours {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		encap = yes
		proposals = $1
		local { auth = psk
			id = b.alice.members.example.net }
		remote { auth = psk
			id = a.alice.members.example.net }
		children {
			ours {
				local_ts = fd00:b::1/128
				remote_ts = fd00:a::1/128
				esp_proposals = $2
				start_action = $3
			}
		}
	}
}
secrets { ike-ours { id-1 = a.alice.members.example.net
	id-2 = b.alice.members.example.net
	secret = "$(cat "$NT_DIR/psk")" } }
SWC
}

# a_conf [LINE]: autotunneld's configuration, LINE added to the [peer b] section
a_conf() {
	cat > "$NT_DIR/a.conf" <<CONF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net

[peer b]
remote = 192.0.2.2:4500
remote-id = b.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:b::1/128
connect = no
${1:-}
CONF
}

PID_A= PID_C= RUN=0
stop_both() {
	[ -z "$PID_A" ] || nt_stop "$PID_A"
	[ -z "$PID_C" ] || nt_stop "$PID_C"
	PID_A= PID_C=
}

# start_pair DIRECTION: autotunneld, then charon; "we" makes the first packet start IKE,
# "they" lets charon initiate (start_action start in swanctl.conf). Sets LOG.
start_pair() {
	RUN=$((RUN + 1))
	LOG=$NT_DIR/da$RUN.log
	nt_bg a "da$RUN" "$D" -c "$NT_DIR/a.conf"
	PID_A=$NT_LAST_PID
	nt_wait 5 grep -q "^autotunneld: up:" "$LOG" || nt_fail "run $RUN: autotunneld did not come up: $(cat "$LOG")"
	ss_launch b "charon$RUN"
	PID_C=$SS_PID
	ss_ready || nt_fail "run $RUN: charon did not start"
	ss_load "$NT_DIR/swanctl.conf" ours
	[ "$1" = they ] || nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >/dev/null 2>&1 || true
}

traffic() {	# LABEL
	nt_exec a ping -6 -c 3 -i 0.2 -W 3 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "$1: ping6 fd00:b::1 failed"
	pair_tcp "sink$RUN" "$1"
}

# ike_case IKE_PROPOSAL GROUP SS_IKE_ALGS DIRECTION
ike_case() {
	local label="IKE $1, $([ "$4" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	stop_both
	a_conf
	swanctl_conf "$1" aes256gcm16 "$([ "$4" = we ] && echo none || echo start)"
	start_pair "$4"
	nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$LOG" || nt_fail "$label: no child SA: $(tail -5 "$LOG")"
	grep -q "peer b: IKE SA up with b.alice.members.example.net at .* (group $2" "$LOG" ||
		nt_fail "$label: our IKE SA is not in group $2: $(grep 'IKE SA up' "$LOG")"
	traffic "$label"
	ss_ctl --list-sas >"$NT_DIR/sas$RUN" 2>&1
	grep -q "ESTABLISHED" "$NT_DIR/sas$RUN" || nt_fail "$label: strongSwan does not list the IKE SA"
	grep -q "$3" "$NT_DIR/sas$RUN" || nt_fail "$label: strongSwan's IKE SA is not $3: $(cat "$NT_DIR/sas$RUN")"
	nt_pass "$label: $3; ping6 and 1 MB TCP through AES-256-GCM ESP"
}

for dir in we they; do
	ike_case aes128-sha256-modp3072 15 "AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072" $dir
	ike_case aes256-sha256-ecp384 20 "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_384" $dir
	ike_case aes128gcm16-prfsha256-ecp256 19 "AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256" $dir
done

# esp_case ESP_PROPOSAL OUR_NAME SS_ESP_ALGS DIRECTION
esp_case() {
	local label="ESP $1, $([ "$4" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	stop_both
	a_conf "esp = $1"
	swanctl_conf aes256gcm16-prfsha256-x25519 "$1" "$([ "$4" = we ] && echo none || echo start)"
	start_pair "$4"
	nt_wait 15 grep -q "peer b: child SA up, $2" "$LOG" || nt_fail "$label: no $2 child SA: $(tail -5 "$LOG")"
	traffic "$label"
	ss_ctl --list-sas >"$NT_DIR/sas$RUN" 2>&1
	grep -q "INSTALLED" "$NT_DIR/sas$RUN" && grep -q "$3" "$NT_DIR/sas$RUN" ||
		nt_fail "$label: strongSwan's child SA is not $3: $(cat "$NT_DIR/sas$RUN")"
	nt_pass "$label: $3; ping6 and 1 MB TCP"
}

# esp_refused ESP_PROPOSAL: strongSwan insists on it, autotunneld (no `esp =`) does not offer it: a clean refusal
esp_refused() {
	stop_both
	a_conf
	swanctl_conf aes256gcm16-prfsha256-x25519 "$1" start
	start_pair they
	nt_wait 15 grep -q "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built" "$NT_DIR/charon.log" ||
		nt_fail "ESP $1: strongSwan did not get NO_PROPOSAL_CHOSEN: $(tail -5 "$NT_DIR/charon.log")"
	! grep -q "child SA up" "$LOG" || nt_fail "ESP $1: a child SA came up although not configured"
	kill -0 "$PID_A" 2>/dev/null || nt_fail "ESP $1: autotunneld died"
	: > "$NT_DIR/charon.log"
	nt_pass "ESP $1 without 'esp =' on our side: NO_PROPOSAL_CHOSEN, autotunneld carries on"
}

for dir in we they; do
	esp_case aes128-sha256 aes128-sha256 "AES_CBC-128/HMAC_SHA2_256_128" $dir
	esp_case aes128gcm16 aes128gcm16 "AES_GCM_16-128" $dir
done
esp_case aes256-sha256 aes256-sha256 "AES_CBC-256/HMAC_SHA2_256_128" they
# our default set does not include them: a strongSwan insisting on one is refused cleanly
esp_refused aes128-sha256
stop_both
