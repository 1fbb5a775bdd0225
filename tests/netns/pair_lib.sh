# tests/netns/pair_lib.sh: two namespaces, a (192.0.2.1) and b (192.0.2.2),
# on one veth link, and two autotunnelds between them (t_tunnel_static.sh,
# t_tunnel_ike.sh, t_tunnel_strongswan.sh, bench/tunnel); the _on forms and
# the outer-family counters also serve pairs of other hosts (t_tunnel_v6.sh,
# t_strongswan_v6.sh). Source it after lib.sh and nt_setup. Not a test itself.
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
	pair_start_on a "$1" b "$2" "${3:-}"
}

# pair_start_on HOST_A LOG_A HOST_B LOG_B [UP_PATTERN]: pair_start with a.conf
# in HOST_A and b.conf in HOST_B
pair_start_on() {
	local up=${5:-^autotunneld: up:}
	nt_bg "$1" "$2" "$D" -c "$NT_DIR/a.conf"
	PID_A=$NT_LAST_PID
	nt_bg "$3" "$4" "$D" -c "$NT_DIR/b.conf"
	PID_B=$NT_LAST_PID
	nt_wait 5 grep -q "$up" "$NT_DIR/$2.log" || nt_fail "$1 did not come up"
	nt_wait 5 grep -q "$up" "$NT_DIR/$4.log" || nt_fail "$3 did not come up"
}

# pair_tcp NAME [LABEL]: $NT_DIR/blob from a to a listener (nt_bg NAME) on
# b's [fd00:b::1]:5001 through the tunnel; fails unless it arrives intact
pair_tcp() {
	pair_tcp_on a b fd00:b::1 "$@"
}

# pair_tcp_on FROM TO TO_ULA NAME [LABEL]: pair_tcp from host FROM to host TO's [TO_ULA]:5001
pair_tcp_on() {
	local l=${5:+$5: } sink
	rm -f "$NT_DIR/blob.recv"
	nt_bg "$2" "$4" socat -u "TCP6-LISTEN:5001,bind=[$3],reuseaddr" OPEN:"$NT_DIR/blob.recv",creat,trunc
	sink=$NT_LAST_PID
	nt_wait 5 nt_exec "$2" sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "${l}listener did not start"
	timeout 30 ip netns exec "$(nt_ns "$1")" socat -u OPEN:"$NT_DIR/blob" "TCP6:[$3]:5001" ||
		nt_fail "${l}TCP transfer failed"
	nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "${l}received data differs"
	nt_stop "$sink"
}

# pair_count_setup HOST: nftables counters in HOST of the outgoing UDP 4500
# packets by family, out6 and out4 (in bytes: a UDP GSO send of many
# datagrams passes the output hook as one packet), to show which family
# carries the tunnel; pair_count_get HOST out6|out4 prints one
pair_count_setup() {
	nt_exec "$1" nft -f - <<'NFT'
table inet v6count {
	counter out6 { }
	counter out4 { }
	chain out {
		type filter hook output priority filter; policy accept;
		meta nfproto ipv6 udp dport 4500 counter name "out6"
		meta nfproto ipv4 udp dport 4500 counter name "out4"
	}
}
NFT
}
pair_count_get() {
	nt_exec "$1" nft list counter inet v6count "$2" | sed -n 's/.*bytes \([0-9]*\).*/\1/p'
}
