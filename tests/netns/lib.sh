# tests/netns/lib.sh: the test bed of docs/design.md §9 in network namespaces.
#
#   [rv]  198.51.100.53 ─┐
#   [pub] 198.51.100.7  ─┤ [inet]: bridge br0, routes 198.51.100.0/24
#   [natA] 203.0.113.10 ─┤        and 203.0.113.0/24 (.1 in each)
#   [natB] 203.0.113.20 ─┘
#   [hostA] 192.168.1.2 ── natA lan0 192.168.1.1 (masquerade, stateful filter)
#   [hostB] 192.168.2.2 ── natB lan0 192.168.2.1
#
# Namespace names carry the test's PID ("at<PID>-hostA"). Everything the
# test starts goes through nt_bg so that cleanup kills it by PID; cleanup
# runs on any exit and audits that no process, namespace or table is left.
#
# Usage in a test:   . "$AT_SRC/tests/netns/lib.sh"; nt_setup; nt_topology
set -eu

AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT_BUILD=${AT_BUILD:-$AT_SRC/build}
NT_P="at$$"
NT_DIR=$(mktemp -d "/tmp/autotunnel-test.$$.XXXXXX")
# autotunnel-dnsd drops to an unprivileged user that must reach its state
# directory below (its own directory, as /var/lib/autotunnel-dnsd)
chmod 0711 "$NT_DIR"
NT_PIDS=""
NT_NAMESPACES=""
NT_FAILED=0

nt_log() { printf '%s\n' "$*"; }
nt_fail() { printf 'FAIL: %s\n' "$*" >&2; NT_FAILED=1; exit 1; }
nt_pass() { printf 'ok: %s\n' "$*"; }

nt_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces)"
		exit 77
	fi
}

# The full namespace name of a host.
nt_ns() { printf '%s-%s' "$NT_P" "$1"; }

# Run a command inside host $1.
nt_exec() {
	local h=$1; shift
	ip netns exec "$(nt_ns "$h")" "$@"
}

# Start a command in the background inside host $1; its output goes to
# $NT_DIR/$2.log. Sets NT_LAST_PID.
nt_bg() {
	local h=$1 name=$2; shift 2
	ip netns exec "$(nt_ns "$h")" "$@" >"$NT_DIR/$name.log" 2>&1 &
	NT_LAST_PID=$!
	NT_PIDS="$NT_PIDS $NT_LAST_PID"
}

# Stop one process started by nt_bg (TERM, then KILL after 3 s).
nt_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

nt_add_ns() {
	ip netns add "$(nt_ns "$1")"
	NT_NAMESPACES="$NT_NAMESPACES $1"
	nt_exec "$1" ip link set lo up
	nt_exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null || true
}

# Connect host $1 interface $2 to host $3 interface $4.
nt_link() {
	ip -n "$(nt_ns "$1")" link add "$2" type veth peer name "$4" netns "$(nt_ns "$3")"
	ip -n "$(nt_ns "$1")" link set "$2" up
	ip -n "$(nt_ns "$3")" link set "$4" up
}

# A home router: masquerade out of wan0, and the stateful filter every home
# router has: nothing from the WAN gets in unless it answers a flow from the
# LAN or was mapped (DNAT) on purpose.
nt_nat_rules() {
	nt_exec "$1" sysctl -qw net.ipv4.ip_forward=1
	nt_exec "$1" nft -f - <<'NFT'
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct status dnat accept
		iifname "lan0" oifname "wan0" accept
	}
}
NFT
}

# nt_nat_input NAT: the router itself takes nothing new from the WAN either
# (a home router's input firewall: OpenWrt's wan zone rejects input). Hole
# punching needs it (docs/paths.md §6): a check that reaches the router
# before its host's own first packet to that peer leaves would otherwise be
# delivered to the router itself and leave a confirmed conntrack entry
# (peer:P -> router:P) behind; the host's packet to that peer a moment later
# would then get another source port from masquerade (the reply tuple is
# taken), so an endpoint-independent mapping would look endpoint-dependent
# for exactly that flow. Dropped in the filter, the entry is never
# confirmed. Not in nt_nat_rules: autotunnel-gwd's RSIP takes IKE and ESP
# for lent addresses on the router's own WAN address.
nt_nat_input() {
	nt_exec "$1" nft -f - <<'NFT'
table inet nt_input {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan0" ct state established,related accept
		iifname "wan0" meta l4proto { icmp, ipv6-icmp } accept
		iifname "wan0" drop
	}
}
NFT
}

nt_setup() {
	nt_need_root
	trap nt_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Build the whole topology of docs/design.md §9.
nt_topology() {
	local h
	for h in inet rv pub natA natB hostA hostB; do nt_add_ns "$h"; done

	ip -n "$(nt_ns inet)" link add br0 type bridge
	# A bridge takes the lowest MAC of its ports unless given one: a router
	# plugged in later would change the gateway's MAC under hosts that cached it.
	ip -n "$(nt_ns inet)" link set br0 address 02:00:00:00:00:01
	ip -n "$(nt_ns inet)" addr add 198.51.100.1/24 dev br0
	ip -n "$(nt_ns inet)" addr add 203.0.113.1/24 dev br0
	ip -n "$(nt_ns inet)" link set br0 up
	nt_exec inet sysctl -qw net.ipv4.ip_forward=1

	nt_attach_inet rv eth0 198.51.100.53 198.51.100.1
	nt_attach_inet pub eth0 198.51.100.7 198.51.100.1
	nt_attach_inet natA wan0 203.0.113.10 203.0.113.1
	nt_attach_inet natB wan0 203.0.113.20 203.0.113.1

	nt_lan natA hostA 1
	nt_lan natB hostB 2
	nt_nat_rules natA
	nt_nat_rules natB
}

# Attach host $1 by interface $2 to the internet bridge with address $3/24, default via $4.
nt_attach_inet() {
	local h=$1 ifn=$2 addr=$3 gw=$4 port="p-$1"
	nt_link "$h" "$ifn" inet "$port"
	ip -n "$(nt_ns inet)" link set "$port" master br0
	ip -n "$(nt_ns "$h")" addr add "$addr/24" dev "$ifn"
	ip -n "$(nt_ns "$h")" route add default via "$gw"
}

# Put host $2 on the LAN of NAT $1 (192.168.$3.0/24; the NAT is .1, the host .2).
nt_lan() {
	local nat=$1 host=$2 n=$3
	nt_link "$nat" lan0 "$host" eth0
	ip -n "$(nt_ns "$nat")" addr add "192.168.$n.1/24" dev lan0
	ip -n "$(nt_ns "$host")" addr add "192.168.$n.2/24" dev eth0
	ip -n "$(nt_ns "$host")" route add default via "192.168.$n.1"
}

# Wait up to $1 seconds for a command to succeed.
nt_wait() {
	local t=$1 i; shift
	for i in $(seq $((t * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

nt_cleanup() {
	local rc=$? pid h left=""
	set +e
	for pid in $NT_PIDS; do nt_stop "$pid"; done
	for h in $NT_NAMESPACES; do
		# a process we did not start ourselves (a daemon that forked) is
		# found by its namespace, not by its name, and is a test failure
		for pid in $(ip netns pids "$(nt_ns "$h")" 2>/dev/null); do
			left="$left $pid($(tr "\0" " " </proc/$pid/cmdline 2>/dev/null | cut -c1-80))"
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for h in $NT_NAMESPACES; do ip netns del "$(nt_ns "$h")" 2>/dev/null; done
	if [ -n "$left" ]; then
		echo "audit: processes left in the test's namespaces:$left" >&2
		rc=1
	fi
	if ip netns list | grep -q "^$NT_P-"; then
		echo "audit: namespaces left behind: $(ip netns list | grep "^$NT_P-" | tr '\n' ' ')" >&2
		rc=1
	fi
	for pid in $NT_PIDS; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "audit: process $pid still running" >&2
			rc=1
		fi
	done
	if [ "$rc" != 0 ] && [ -d "$NT_DIR" ]; then
		for f in "$NT_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
	rm -rf "$NT_DIR"
	exit "$rc"
}

# ---- NAT kinds (issue 11; docs/paths.md "The test bed's networks") ----
# Routers of the kinds a direct path must cross, for tests that build their
# own networks beside (or instead of) nt_topology. Each leaves the bed's
# own functions as they are. A router's WAN is wan0, its LAN lan0, as
# nt_nat_rules expects.

# Add address $3 (with its prefix) to interface $2 of host $1.
nt_addr() {
	ip -n "$(nt_ns "$1")" addr add "$3" dev "$2"
}

# Endpoint-independent mapping, address-and-port-dependent filtering
# (RFC 4787 §§4.1, 5): the plain masquerade of nt_nat_rules. Linux keeps a
# flow's source port whenever it is free, so one socket keeps one mapping
# whatever the destination; conntrack lets in only the exact reverse flow.
nt_nat_eim() { nt_nat_rules "$1"; }

# Endpoint-dependent mapping ("symmetric"): masquerade with a random port
# for every new flow (NF_NAT_RANGE_PROTO_RANDOM_FULLY), so one socket gets
# another mapping for every destination address and port. Same filter.
nt_nat_edm() {
	nt_exec "$1" sysctl -qw net.ipv4.ip_forward=1
	nt_exec "$1" nft -f - <<'NFT'
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade fully-random
	}
}
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct status dnat accept
		iifname "lan0" oifname "wan0" accept
	}
}
NFT
}

# A home router with no port-mapping service at all: nt_nat_eim, and
# NAT-PMP/PCP (5351, announcements 5350), UPnP discovery (1900) and RSIP
# (4555) on the router itself refused (ICMP port unreachable, TCP reset), so a
# client learns at once that there is nothing to ask, even if a test
# starts a gateway daemon there by mistake.
nt_nat_nomap() {
	nt_nat_rules "$1"
	nt_exec "$1" nft -f - <<'NFT'
table inet nomap {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport { 1900, 5350, 5351 } reject
		tcp dport 4555 reject with tcp reset
	}
}
NFT
}

# nt_router NAT WANADDR HOST N KIND: a router NAT on the internet bridge at
# WANADDR (203.0.113.0/24) with host HOST on its LAN 192.168.N.0/24, the
# NAT of KIND: eim, edm or nomap.
nt_router() {
	local nat=$1 wan=$2 host=$3 n=$4 kind=$5
	nt_add_ns "$nat"
	nt_add_ns "$host"
	nt_attach_inet "$nat" wan0 "$wan" 203.0.113.1
	nt_lan "$nat" "$host" "$n"
	case $kind in
	eim) nt_nat_eim "$nat" ;;
	edm) nt_nat_edm "$nat" ;;
	nomap) nt_nat_nomap "$nat" ;;
	*) nt_fail "nt_router: unknown NAT kind '$kind'" ;;
	esac
}

# nt_cgnat CGN WANADDR HOME HOST N [KIND]: a double NAT. The carrier's NAT
# CGN sits on the internet bridge at WANADDR and hands its customers
# addresses of the shared space 100.64.0.0/10 (RFC 6598): HOME's wan0 is
# 100.64.N.2/24 behind CGN's lan0 100.64.N.1. HOME is a home router of
# KIND (default eim) with HOST on 192.168.N.0/24. The CGN maps
# endpoint-independently: RFC 6888 holds carrier-grade NATs to RFC 4787's
# behaviour (REQ-1 of RFC 4787: endpoint-independent mapping).
nt_cgnat() {
	local cgn=$1 wan=$2 home=$3 host=$4 n=$5 kind=${6:-eim}
	nt_add_ns "$cgn"
	nt_add_ns "$home"
	nt_add_ns "$host"
	nt_attach_inet "$cgn" wan0 "$wan" 203.0.113.1
	nt_link "$cgn" lan0 "$home" wan0
	ip -n "$(nt_ns "$cgn")" addr add "100.64.$n.1/24" dev lan0
	ip -n "$(nt_ns "$home")" addr add "100.64.$n.2/24" dev wan0
	ip -n "$(nt_ns "$home")" route add default via "100.64.$n.1"
	nt_lan "$home" "$host" "$n"
	nt_nat_eim "$cgn"
	case $kind in
	eim) nt_nat_eim "$home" ;;
	edm) nt_nat_edm "$home" ;;
	nomap) nt_nat_nomap "$home" ;;
	*) nt_fail "nt_cgnat: unknown NAT kind '$kind'" ;;
	esac
}

# nt_lan_shared NAT N HOST...: a LAN 192.168.N.0/24 that several hosts
# share (a bridge lan0 in NAT, .1), hosts .2, .3, ... in the order given:
# the same-LAN pair. NAT must exist; give it a WAN and a kind as above
# (nt_attach_inet, nt_nat_*).
nt_lan_shared() {
	local nat=$1 n=$2 h i=2
	shift 2
	ip -n "$(nt_ns "$nat")" link add lan0 type bridge
	# a home router switches its LAN without its firewall seeing it: keep
	# br_netfilter from handing bridged frames to the forward chain
	nt_exec "$nat" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true
	ip -n "$(nt_ns "$nat")" addr add "192.168.$n.1/24" dev lan0
	ip -n "$(nt_ns "$nat")" link set lan0 up
	for h in "$@"; do
		nt_add_ns "$h"
		nt_link "$nat" "l-$h" "$h" eth0
		ip -n "$(nt_ns "$nat")" link set "l-$h" master lan0
		ip -n "$(nt_ns "$h")" addr add "192.168.$n.$i/24" dev eth0
		ip -n "$(nt_ns "$h")" route add default via "192.168.$n.1"
		i=$((i + 1))
	done
}

# IPv6 on the internet bridge: 2001:db8:ff::1/64 in [inet] (RFC 3849
# documentation space), forwarding on. Call after nt_topology or after
# making [inet] with its bridge br0.
nt_inet6() {
	nt_exec inet sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$(nt_ns inet)" addr add 2001:db8:ff::1/64 dev br0 nodad
}

# nt_host6 HOST IF SUFFIX...: global addresses 2001:db8:ff::SUFFIX/64 on a
# host already on the bridge (rv, pub), default route via 2001:db8:ff::1.
nt_host6() {
	local h=$1 ifn=$2 s
	shift 2
	for s in "$@"; do
		ip -n "$(nt_ns "$h")" addr add "2001:db8:ff::$s/64" dev "$ifn" nodad
	done
	ip -n "$(nt_ns "$h")" -6 route add default via 2001:db8:ff::1
}

# nt_router6 R HOST N: an IPv6 router with a stateful firewall and no NAT,
# as IPv6 home routers are (RFC 6092): R's wan0 is 2001:db8:ff::N on the
# bridge, its LAN 2001:db8:N::/64 (R is ::1, HOST ::2), and the bridge
# routes the LAN to it. Outbound flows and their replies pass; nothing
# unsolicited gets in (RFC 6092's simple security); ICMPv6 errors pass as
# "related" to the flow they are about. No IPv4: an IPv6-only
# network. N is a hexadecimal group (1..ffff). Needs nt_inet6.
nt_router6() {
	local r=$1 host=$2 n=$3
	nt_add_ns "$r"
	nt_add_ns "$host"
	nt_link "$r" wan0 inet "p-$r"
	ip -n "$(nt_ns inet)" link set "p-$r" master br0
	ip -n "$(nt_ns "$r")" addr add "2001:db8:ff::$n/64" dev wan0 nodad
	ip -n "$(nt_ns "$r")" -6 route add default via 2001:db8:ff::1
	ip -n "$(nt_ns inet)" -6 route add "2001:db8:$n::/64" via "2001:db8:ff::$n"
	nt_link "$r" lan0 "$host" eth0
	ip -n "$(nt_ns "$r")" addr add "2001:db8:$n::1/64" dev lan0 nodad
	ip -n "$(nt_ns "$host")" addr add "2001:db8:$n::2/64" dev eth0 nodad
	ip -n "$(nt_ns "$host")" -6 route add default via "2001:db8:$n::1"
	nt_exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
	nt_exec "$r" nft -f - <<'NFT'
table ip6 filter6 {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname "lan0" oifname "wan0" accept
	}
}
NFT
}
