#!/bin/sh
# Outer IPv6 against strongSwan (issue 11): autotunneld and charon with
# kernel-libipsec on a pair that has only IPv6 addresses (2001:db8::1 and
# ::2), PSK, UDP encapsulation forced. We initiate with AES-256-GCM (our
# peer's endpoint a bracketed IPv6 literal), then strongSwan initiates with
# ChaCha20-Poly1305 (a bare literal); each time ping6 and 5 MB of TCP over
# the ULAs, strongSwan lists the SA with our IPv6 address, and nftables
# counters show the outer packets are IPv6 UDP 4500 and none IPv4.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
. "$AT_SRC/tests/netns/strongswan_lib.sh"
ss_require gcm openssl
ss_pair_setup
openssl rand -hex 32 >"$NT_DIR/psk"
# only IPv6 on the link
ip -n "$(nt_ns a)" addr del 192.0.2.1/24 dev eth0
ip -n "$(nt_ns b)" addr del 192.0.2.2/24 dev eth0
ip -n "$(nt_ns a)" addr add 2001:db8::1/64 dev eth0 nodad
ip -n "$(nt_ns b)" addr add 2001:db8::2/64 dev eth0 nodad
nt_wait 5 nt_exec a ping -6 -c 1 -W 1 2001:db8::2 || nt_fail "no IPv6 between a and b"

pair_count_setup a

ss_conf modular "$NT_DIR/charon.log" 2 "install_routes = yes" "retransmit_tries = 3"
swanctl_conf() {	# ESP_PROPOSAL START_ACTION: ss_swanctl's connection, over IPv6
	ss_swanctl "$NT_DIR/swanctl.conf" psk "aes256gcm16-prfsha256-x25519, aes256gcm16-prfsha256-ecp256" "$1" "$2"
	sed -i 's/local_addrs = 192.0.2.2/local_addrs = 2001:db8::2/; s/remote_addrs = 192.0.2.1/remote_addrs = 2001:db8::1/' \
		"$NT_DIR/swanctl.conf"
	grep -q "remote_addrs = 2001:db8::1" "$NT_DIR/swanctl.conf" || nt_fail "swanctl.conf not rewritten for IPv6"
}
a_conf() {	# ENDPOINT_VALUE
	ss_a_conf "psk-file = $NT_DIR/psk"
	sed -i "s/^remote = 192.0.2.2:4500\$/endpoint = $1/" "$NT_DIR/a.conf"
	grep -qxF "endpoint = $1" "$NT_DIR/a.conf" || nt_fail "a.conf not rewritten for IPv6"
}
head -c 5000000 /dev/urandom >"$NT_DIR/blob"

# 1. we initiate (on demand), AES-256-GCM, endpoint = [2001:db8::2]:4500
a_conf "[2001:db8::2]:4500"
swanctl_conf aes256gcm16 none
ss_pair_start we "$NT_DIR/swanctl.conf"
nt_wait 10 grep -q "peer b: child SA up, aes256gcm16.*via \[2001:db8::2\]:4500" "$LOG" ||
	nt_fail "no child SA with strongSwan over IPv6: $(tail -5 "$LOG")"
ss_traffic "we initiate" sink
ss_sa_check "we initiate" ESTABLISHED AES_GCM_16-256
grep -q "2001:db8::1\[4500\]" "$NT_DIR/sas$RUN" || nt_fail "strongSwan does not list our IPv6 address: $(cat "$NT_DIR/sas$RUN")"
nt_pass "we initiate over IPv6: ping6 and 5 MB TCP, strongSwan has us at 2001:db8::1[4500]"
ss_pair_stop

# 2. strongSwan initiates, ChaCha20-Poly1305, endpoint a bare IPv6 literal
a_conf "2001:db8::2"
swanctl_conf chacha20poly1305 start
ss_pair_start they "$NT_DIR/swanctl.conf"
# (charon starts on port 500; ESP goes to 4500 whatever IKE's port, RFC 7296 §2.23)
nt_wait 15 grep -Eq "peer b: child SA up, chacha20poly1305.*via \[2001:db8::2\]:(500|4500)" "$LOG" ||
	nt_fail "strongSwan did not bring up a ChaCha20-Poly1305 child SA over IPv6: $(tail -5 "$LOG")"
ss_traffic "strongSwan initiates" sink2
ss_sa_check "strongSwan initiates" INSTALLED CHACHA20_POLY1305
nt_pass "strongSwan initiates over IPv6: ping6 and 5 MB TCP over ChaCha20-Poly1305"
ss_pair_stop

v6=$(pair_count_get a out6)
v4=$(pair_count_get a out4)
[ "$v4" = 0 ] || nt_fail "$v4 bytes of IPv4 UDP 4500 left a"
[ "$v6" -gt 10000000 ] || nt_fail "only $v6 bytes of IPv6 UDP 4500 left a for 10 MB"
nt_pass "outer packets: $v6 bytes of IPv6 UDP 4500, none IPv4"
