# tests/netns/pair_lib.sh: two namespaces, a (192.0.2.1) and b (192.0.2.2),
# on one veth link, and two autotunnelds between them (t_tunnel_static.sh,
# t_tunnel_ike.sh, t_tunnel_strongswan.sh, bench/tunnel). Source it after
# lib.sh and nt_setup. Not a test itself.
D=$AT_BUILD/src/autotunneld/autotunneld

# pair_setup: the namespaces and the link
pair_setup() {
	nt_add_ns a
	nt_add_ns b
	nt_link a eth0 b eth0
	ip -n "$(nt_ns a)" addr add 192.0.2.1/24 dev eth0
	ip -n "$(nt_ns b)" addr add 192.0.2.2/24 dev eth0
}

# pair_start LOG_A LOG_B [UP_PATTERN]: autotunneld -c $NT_DIR/a.conf in a
# (log $NT_DIR/LOG_A.log) and -c $NT_DIR/b.conf in b; sets PID_A and PID_B
# and waits for both "up" lines (UP_PATTERN, default "^autotunneld: up:")
pair_start() {
	local up=${3:-^autotunneld: up:}
	nt_bg a "$1" "$D" -c "$NT_DIR/a.conf"
	PID_A=$NT_LAST_PID
	nt_bg b "$2" "$D" -c "$NT_DIR/b.conf"
	PID_B=$NT_LAST_PID
	nt_wait 5 grep -q "$up" "$NT_DIR/$1.log" || nt_fail "a did not come up"
	nt_wait 5 grep -q "$up" "$NT_DIR/$2.log" || nt_fail "b did not come up"
}

# pair_tcp NAME [LABEL]: $NT_DIR/blob from a to a listener (nt_bg NAME) on
# b's [fd00:b::1]:5001 through the tunnel; fails unless it arrives intact
pair_tcp() {
	local l=${2:+$2: } sink
	rm -f "$NT_DIR/blob.recv"
	nt_bg b "$1" socat -u TCP6-LISTEN:5001,bind=[fd00:b::1],reuseaddr OPEN:"$NT_DIR/blob.recv",creat,trunc
	sink=$NT_LAST_PID
	nt_wait 5 nt_exec b sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "${l}listener did not start"
	timeout 30 ip netns exec "$(nt_ns a)" socat -u OPEN:"$NT_DIR/blob" TCP6:[fd00:b::1]:5001 ||
		nt_fail "${l}TCP transfer failed"
	nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "${l}received data differs"
	nt_stop "$sink"
}
