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
[ -x "$D" ] || nt_fail "no $D (build first)"
ss_require gcm openssl

pair_setup
nt_exec b ip addr add fd00:b::1/128 dev lo
openssl rand -hex 32 > "$NT_DIR/psk"

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"
swanctl_conf() {	# ESP_PROPOSAL START_ACTION [CHILD_REKEY]
	cat > "$NT_DIR/swanctl.conf" <<SWC
connections {
	ours {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		encap = yes
		proposals = aes256gcm16-prfsha256-x25519, aes256gcm16-prfsha256-ecp256
		local { auth = psk
			id = b.alice.members.example.net }
		remote { auth = psk
			id = a.alice.members.example.net }
		children {
			ours {
				local_ts = fd00:b::1/128
				remote_ts = fd00:a::1/128
				esp_proposals = $1
				start_action = $2
				rekey_time = ${3:-1h}
				rand_time = 0
			}
		}
	}
}
secrets { ike-ours { id-1 = a.alice.members.example.net
	id-2 = b.alice.members.example.net
	secret = "$(cat "$NT_DIR/psk")" } }
SWC
}

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
CONF

start_charon() { ss_start b "$NT_DIR/swanctl.conf" ours; PID_C=$SS_PID; }

traffic() {	# traffic LABEL
	nt_exec a ping -6 -c 3 -i 0.2 -W 3 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "$1: ping6 fd00:b::1 failed"
	head -c 5000000 /dev/urandom > "$NT_DIR/blob"
	pair_tcp sink "$1"
}

# 1. we initiate (on demand, from the first packet), AES-256-GCM
swanctl_conf aes256gcm16 none
start_charon
nt_bg a da "$D" -c "$NT_DIR/a.conf"
PID_A=$NT_LAST_PID
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da.log" || nt_fail "autotunneld did not come up"
nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >/dev/null || true	# starts IKE
nt_wait 10 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da.log" || nt_fail "no child SA with strongSwan"
traffic "we initiate"
ss_ctl --list-sas >"$NT_DIR/sas" 2>&1
grep -q "ESTABLISHED" "$NT_DIR/sas" || nt_fail "strongSwan does not list the IKE SA"
grep -q "AES_GCM_16-256" "$NT_DIR/sas" || nt_fail "strongSwan's child SA is not AES-GCM: $(cat "$NT_DIR/sas")"
nt_pass "we initiate, strongSwan responds: ping6 and 5 MB TCP over AES-256-GCM ESP-in-UDP"

# 2. strongSwan initiates, ChaCha20-Poly1305
nt_stop "$PID_A"
nt_stop "$PID_C"
swanctl_conf chacha20poly1305 start
: > "$NT_DIR/da.log"
nt_bg a da2 "$D" -c "$NT_DIR/a.conf"
PID_A=$NT_LAST_PID
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da2.log" || nt_fail "autotunneld did not come back"
start_charon
nt_wait 15 grep -q "peer b: child SA up, chacha20poly1305" "$NT_DIR/da2.log" ||
	nt_fail "strongSwan did not bring up a ChaCha20-Poly1305 child SA with us"
traffic "strongSwan initiates"
nt_pass "strongSwan initiates, we respond: ping6 and 5 MB TCP over ChaCha20-Poly1305 ESP-in-UDP"

# 3. strongSwan rekeys the child SA every 2 s while iperf3 runs for 6 s
nt_stop "$PID_A"
nt_stop "$PID_C"
swanctl_conf aes256gcm16 start 2s
nt_bg a da3 "$D" -c "$NT_DIR/a.conf"
PID_A=$NT_LAST_PID
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da3.log" || nt_fail "autotunneld did not come back"
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
