# tests/netns/rsip_lib.sh: the bed of the RSIP tests (t_rsip_gw.sh,
# t_rsip_e2e.sh), RFC 3104 Appendix F's SOHO scenario. Source it after
# lib.sh and nt_setup. Not a test itself.
#
#   [pub] Y 198.51.100.7 ── [inet] ── wan0 203.0.113.10 = Nb [natA] lan0 (bridge) 192.168.1.1
#                                          ├── [x1] X1 192.168.1.2
#                                          └── [x2] X2 192.168.1.3
GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
STATE=$NT_DIR/gwd
NB=203.0.113.10
Y=198.51.100.7

# rsip_topology: the namespaces and links above, natA's NAT rules included
rsip_topology() {
	local h i
	for h in inet pub natA x1 x2; do nt_add_ns "$h"; done
	ip -n "$(nt_ns inet)" link add br0 type bridge
	ip -n "$(nt_ns inet)" addr add 198.51.100.1/24 dev br0
	ip -n "$(nt_ns inet)" addr add 203.0.113.1/24 dev br0
	ip -n "$(nt_ns inet)" link set br0 up
	nt_exec inet sysctl -qw net.ipv4.ip_forward=1
	nt_attach_inet pub eth0 $Y 198.51.100.1
	nt_attach_inet natA wan0 $NB 203.0.113.1
	# natA's LAN is a bridge with two hosts on it
	ip -n "$(nt_ns natA)" link add lan0 type bridge
	ip -n "$(nt_ns natA)" addr add 192.168.1.1/24 dev lan0
	ip -n "$(nt_ns natA)" link set lan0 up
	for i in 1 2; do
		nt_link natA "l$i" "x$i" eth0
		ip -n "$(nt_ns natA)" link set "l$i" master lan0
		ip -n "$(nt_ns "x$i")" addr add "192.168.1.$((i + 1))/24" dev eth0
		ip -n "$(nt_ns "x$i")" route add default via 192.168.1.1
	done
	nt_nat_rules natA
}

expect() {	# expect WHAT GOT WANT
	[ "$2" = "$3" ] || nt_fail "$1: got '$2', want '$3'"
}
# the gateway's status, all of it or the lines starting with $1
status() { nt_exec natA "$GWD" status --state-dir "$STATE"; }
status_line() { status | grep "^$1" || true; }
in_status() {	# in_status PATTERN [SECONDS]: wait up to SECONDS (5) for a status line matching PATTERN
	nt_wait "${2:-5}" sh -c 'ip netns exec "$0" "$1" status --state-dir "$2" | grep -q "$3"' \
		"$(nt_ns natA)" "$GWD" "$STATE" "$1"
}
