#!/bin/sh
# Our whole stack (lib/ike + the ESP data plane) against strongSwan's charon
# with kernel-libipsec (user-space ESP, since this kernel has none), PSK,
# forced UDP encapsulation: we initiate with AES-256-GCM, strongSwan
# initiates with ChaCha20-Poly1305; ping6 and a TCP transfer each time;
# then strongSwan rekeys the child SA every 2 s under a running TCP stream.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/strongswan_lib.sh"
ss_require gcm openssl
ss_pair_setup
openssl rand -hex 32 > "$NT_DIR/psk"

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"
swanctl_conf() {	# ESP_PROPOSAL START_ACTION [CHILD_REKEY]
	ss_swanctl "$NT_DIR/swanctl.conf" psk "aes256gcm16-prfsha256-x25519, aes256gcm16-prfsha256-ecp256" "$1" "$2" \
		"rekey_time = ${3:-1h}" "rand_time = 0"
}
ss_a_conf "psk-file = $NT_DIR/psk"

start_charon() { ss_start b "$NT_DIR/swanctl.conf" ours; PID_C=$SS_PID; }

traffic() {	# traffic LABEL
	head -c 5000000 /dev/urandom > "$NT_DIR/blob"
	ss_traffic "$1" sink
}

# 1. we initiate (on demand, from the first packet), AES-256-GCM
swanctl_conf aes256gcm16 none
start_charon
ss_atd_start da
nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >/dev/null || true	# starts IKE
nt_wait 10 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da.log" || nt_fail "no child SA with strongSwan"
traffic "we initiate"
ss_sa_check "we initiate" ESTABLISHED AES_GCM_16-256
nt_pass "we initiate, strongSwan responds: ping6 and 5 MB TCP over AES-256-GCM ESP-in-UDP"

# 2. strongSwan initiates, ChaCha20-Poly1305
ss_pair_stop
swanctl_conf chacha20poly1305 start
: > "$NT_DIR/da.log"
ss_atd_start da2
start_charon
nt_wait 15 grep -q "peer b: child SA up, chacha20poly1305" "$NT_DIR/da2.log" ||
	nt_fail "strongSwan did not bring up a ChaCha20-Poly1305 child SA with us"
traffic "strongSwan initiates"
nt_pass "strongSwan initiates, we respond: ping6 and 5 MB TCP over ChaCha20-Poly1305 ESP-in-UDP"

# 3. strongSwan rekeys the child SA every 2 s while iperf3 runs for 6 s
ss_pair_stop
swanctl_conf aes256gcm16 start 2s
ss_atd_start da3
start_charon
nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da3.log" || nt_fail "no child SA for the rekey test"
nt_bg b iperf iperf3 -s -p 5201 -B fd00:b::1
nt_wait 5 nt_exec b sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "iperf3 server did not start"
timeout 20 ip netns exec "$(nt_ns a)" iperf3 -c fd00:b::1 -p 5201 -t 6 -J >"$NT_DIR/iperf.json" ||
	nt_fail "the TCP stream broke while strongSwan rekeyed"
# every rekey installs a new child SA and removes the old one
n=$(($(grep -c "peer b: child SA up, aes256gcm16" "$NT_DIR/da3.log") - 1))
d=$(grep -c "peer b: child SA 0x[0-9a-f]* down" "$NT_DIR/da3.log")
[ "$n" -ge 2 ] && [ "$d" -ge 2 ] || nt_fail "only $n new and $d removed child SAs while strongSwan rekeyed"
stall=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for i in d["intervals"] if i["sum"]["bytes"] == 0))' "$NT_DIR/iperf.json")
[ "$stall" = 0 ] || nt_fail "$stall one-second intervals without data during strongSwan's rekeys"
nt_pass "TCP kept flowing through $n child SA rekeys initiated by strongSwan"
