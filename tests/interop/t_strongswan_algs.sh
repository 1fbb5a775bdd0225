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
ss_require gcm openssl
ss_pair_setup
openssl rand -hex 32 > "$NT_DIR/psk"
head -c 1000000 /dev/urandom > "$NT_DIR/blob"

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"

# swanctl_conf IKE_PROPOSAL ESP_PROPOSAL START_ACTION
swanctl_conf() { ss_swanctl "$NT_DIR/swanctl.conf" psk "$@"; }
# a_conf [LINE]: autotunneld's configuration, LINE added to the [peer b] section
a_conf() { ss_a_conf "psk-file = $NT_DIR/psk" "$@"; }

# ike_case IKE_PROPOSAL GROUP SS_IKE_ALGS DIRECTION
ike_case() {
	local label="IKE $1, $([ "$4" = we ] && echo "we initiate" || echo "strongSwan initiates")"
	ss_pair_stop
	a_conf
	swanctl_conf "$1" aes256gcm16 "$([ "$4" = we ] && echo none || echo start)"
	ss_pair_start "$4" "$NT_DIR/swanctl.conf"
	nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$LOG" || nt_fail "$label: no child SA: $(tail -5 "$LOG")"
	grep -q "peer b: IKE SA up with b.alice.members.example.net at .* (group $2" "$LOG" ||
		nt_fail "$label: our IKE SA is not in group $2: $(grep 'IKE SA up' "$LOG")"
	ss_traffic "$label" "sink$RUN"
	ss_sa_check "$label" ESTABLISHED "$3"
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
	ss_pair_stop
	a_conf "esp = $1"
	swanctl_conf aes256gcm16-prfsha256-x25519 "$1" "$([ "$4" = we ] && echo none || echo start)"
	ss_pair_start "$4" "$NT_DIR/swanctl.conf"
	nt_wait 15 grep -q "peer b: child SA up, $2" "$LOG" || nt_fail "$label: no $2 child SA: $(tail -5 "$LOG")"
	ss_traffic "$label" "sink$RUN"
	ss_sa_check "$label" INSTALLED "$3"
	nt_pass "$label: $3; ping6 and 1 MB TCP"
}

# esp_refused ESP_PROPOSAL: strongSwan insists on it, autotunneld (no `esp =`) does not offer it: a clean refusal
esp_refused() {
	ss_pair_stop
	a_conf
	swanctl_conf aes256gcm16-prfsha256-x25519 "$1" start
	ss_pair_start they "$NT_DIR/swanctl.conf"
	nt_wait 15 grep -q "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built" "$NT_DIR/charon.log" ||
		nt_fail "ESP $1: strongSwan did not get NO_PROPOSAL_CHOSEN: $(tail -5 "$NT_DIR/charon.log")"
	! grep -q "child SA up" "$LOG" || nt_fail "ESP $1: a child SA came up although not configured"
	kill -0 "$PID_A" 2>/dev/null || nt_fail "ESP $1: autotunneld died"
	nt_pass "ESP $1 without 'esp =' on our side: NO_PROPOSAL_CHOSEN, autotunneld carries on"
}

for dir in we they; do
	esp_case aes128-sha256 aes128-sha256 "AES_CBC-128/HMAC_SHA2_256_128" $dir
	esp_case aes128gcm16 aes128gcm16 "AES_GCM_16-128" $dir
done
esp_case aes256-sha256 aes256-sha256 "AES_CBC-256/HMAC_SHA2_256_128" they
# our default set does not include them: a strongSwan insisting on one is refused cleanly
esp_refused aes128-sha256
ss_pair_stop
