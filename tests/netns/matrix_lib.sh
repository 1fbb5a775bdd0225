# tests/netns/matrix_lib.sh: the cells of the NAT matrix of docs/paths.md §7,
# for t_nat_matrix.sh, t_agent_roam_nomap.sh and bench/reach. Source it after
# lib.sh, agent_lib.sh and turn_lib.sh. Not a test itself.
#
# One world for a whole run: the internet bridge [inet], the rendezvous
# server [rv] (autotunnel-dnsd naming coturn in _stun._udp.D) and coturn on
# two addresses of rv (RFC 5780 tests need both), the account alice. The
# hosts and their networks are made again for every cell, so that each
# cell starts from empty NAT connection tables (no conntrack tool is
# needed to flush them) and no cell inherits another's filter entries:
#
#   mx_world                 inet, rv, dnsd --stun-server, coturn, alice
#   mx_side SIDE KIND        hostSIDE (A or B) behind a network of KIND:
#                              home   plain masquerade (EIM/APDF)
#                              nomap  the same, every port-mapping protocol refused
#                              sym    masquerade fully-random (EDM/APDF)
#                              cgnat  a home router behind a carrier NAT (EIM·EIM)
#                              gwd    home, with autotunnel-gwd giving a mapping (PCP)
#   mx_same_lan              hostA and hostB on one LAN behind one home router
#   mx_agents                the agents laptop (hostA) and desktop (hostB),
#                            signed in (the first time by password, then by
#                            their saved account), each has run its STUN
#                            check and lists the other
#   mx_first_reply SECONDS   ms from hostA's first datagram to desktop's ULA
#                            to the first echo back (MX_MS; "" if none)
#   mx_path HOST PEER        the path class status --json gives for PEER
#   mx_cell_end              stop the agents, delete the cell's namespaces
#
# Addresses: side A's outermost router is 203.0.113.10 (a carrier NAT
# 203.0.113.11), side B's 203.0.113.20 (.21); hostA is 192.168.1.2 and
# hostB 192.168.2.2 on their own LANs, 192.168.7.2 and .3 on a shared one.

MX_PASSWORD='correct horse battery'
MX_CELL_NS=""
MX_CELL_PIDS=""
MX_LOGGED_IN=""

# mx_world: what every cell shares. Uses nt_topology's naming (inet, rv)
# but builds only the internet and rv.
mx_world() {
	nt_add_ns inet
	ip -n "$(nt_ns inet)" link add br0 type bridge
	ip -n "$(nt_ns inet)" addr add 198.51.100.1/24 dev br0
	ip -n "$(nt_ns inet)" addr add 203.0.113.1/24 dev br0
	ip -n "$(nt_ns inet)" link set br0 up
	nt_exec inet sysctl -qw net.ipv4.ip_forward=1
	nt_add_ns rv
	nt_attach_inet rv eth0 198.51.100.53 198.51.100.1
	nt_addr rv eth0 198.51.100.54/24
	MX_SECRET=$(head -c 24 /dev/urandom | base64)
	turn_start rv "$MX_SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
	at_dnsd --stun-server 198.51.100.53
	at_account alice "$MX_PASSWORD"
}

# a namespace of the current cell: made now, deleted by mx_cell_end
mx_ns() {
	nt_add_ns "$1"
	MX_CELL_NS="$MX_CELL_NS $1"
}

# mx_wan_guard ROUTER: unsolicited packets from the WAN to the router
# itself are dropped, as every home router's firewall does (OpenWrt's wan
# zone: input reject; a CGN answers nothing either). lib.sh's routers accept
# them, and then Linux confirms a conntrack entry for such a packet (say a
# peer's first check, or a STUN answer from coturn's other address, sent to
# the router's port 4500 before the host's own flow there exists): the
# host's later flow to that endpoint clashes with it and is moved to another
# port, and since kernel 6.x every new flow from the same source follows
# that port, so the reflexive address STUN found no longer holds. A packet
# dropped in the input hook never has its entry confirmed.
mx_wan_guard() {
	nt_exec "$1" nft -f - <<'NFT'
table inet wanguard {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan0" ct state new drop
	}
}
NFT
}

# mx_side SIDE KIND
mx_side() {
	local s=$1 kind=$2 wan n
	case $s in
	A) wan=10 n=1 ;;
	B) wan=20 n=2 ;;
	*) nt_fail "mx_side: side A or B, not '$s'" ;;
	esac
	case $kind in
	home | nomap | sym | gwd)
		mx_ns "nat$s"
		mx_ns "host$s"
		nt_attach_inet "nat$s" wan0 "203.0.113.$wan" 203.0.113.1
		nt_lan "nat$s" "host$s" "$n"
		case $kind in
		sym) nt_nat_edm "nat$s" ;;
		nomap) nt_nat_nomap "nat$s" ;;
		*) nt_nat_eim "nat$s" ;;
		esac
		mx_wan_guard "nat$s"
		[ "$kind" != gwd ] || mx_gwd "nat$s"
		;;
	cgnat)
		mx_ns "cgn$s"
		mx_ns "nat$s"
		mx_ns "host$s"
		nt_attach_inet "cgn$s" wan0 "203.0.113.$((wan + 1))" 203.0.113.1
		nt_link "cgn$s" lan0 "nat$s" wan0
		nt_addr "cgn$s" lan0 "100.64.$n.1/24"
		nt_addr "nat$s" wan0 "100.64.$n.2/24"
		ip -n "$(nt_ns "nat$s")" route add default via "100.64.$n.1"
		nt_lan "nat$s" "host$s" "$n"
		nt_nat_eim "cgn$s"
		nt_nat_eim "nat$s"
		mx_wan_guard "cgn$s"
		mx_wan_guard "nat$s"
		;;
	*) nt_fail "mx_side: unknown kind '$kind'" ;;
	esac
}

# mx_gwd NAT: autotunnel-gwd on NAT (PCP, NAT-PMP, RSIP), so its host gets a mapping
mx_gwd() {
	nt_bg "$1" "gwd-$1" "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwd-$1"
	MX_CELL_PIDS="$MX_CELL_PIDS $NT_LAST_PID"
	nt_wait 5 test -S "$NT_DIR/gwd-$1/control" || nt_fail "gwd on $1 did not start"
}

mx_same_lan() {
	mx_ns natL
	nt_attach_inet natL wan0 203.0.113.10 203.0.113.1
	MX_CELL_NS="$MX_CELL_NS hostA hostB"
	nt_lan_shared natL 7 hostA hostB
	nt_nat_eim natL
	mx_wan_guard natL
}

# mx_agents [INI lines]: start both agents and wait until they can punch:
# signed in, STUN check done (so the candidates carry the reflexive
# address) and each listing the other.
mx_agents() {
	local h i
	at_agent_start hostA laptop "$@"
	at_agent_start hostB desktop "$@"
	if [ -z "$MX_LOGGED_IN" ]; then
		at_login hostA alice "$MX_PASSWORD" >/dev/null || nt_fail "hostA: login failed"
		at_login hostB alice "$MX_PASSWORD" >/dev/null || nt_fail "hostB: login failed"
		MX_LOGGED_IN=1
	fi
	for h in hostA hostB; do
		at_log_wait "$h" 'reflexive address \|STUN server .* did not answer' 20 ||
			nt_fail "$h: no STUN check within 20 s: $(tail -20 "$NT_DIR/agent-$h.log")"
	done
	for i in $(seq 100); do
		at_lists hostA desktop && at_lists hostB laptop && break
		sleep 0.1
	done
	at_lists hostA desktop && at_lists hostB laptop || nt_fail "the hosts do not list each other after 10 s:
$(at_cli hostA hosts)
$(at_cli hostB hosts)"
	MX_UA=$(at_ula hostA)
	MX_UB=$(at_ula hostB)
}

# the echo server on hostB and the client on hostA: UDP over the ULAs
mx_echo_py() {
	[ -f "$NT_DIR/echo.py" ] && return 0
	cat >"$NT_DIR/echo.py" <<'PY'
import socket, sys, time
# echo.py serve ADDR PORT | echo.py first ADDR PORT SECONDS
# first: one datagram every 20 ms until the first echo, for at most
# SECONDS; prints the ms from the first datagram sent to the first echo
# received, or "none"
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
if mode == "serve":
    s.bind((addr, port))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
limit = float(sys.argv[4])
s.settimeout(0.02)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < limit:
    try:
        s.sendto(b"first %d" % n, (addr, port))
    except OSError:
        pass  # no route yet: the tunnel device is there only once signed in
    n += 1
    end = time.monotonic() + 0.02
    while time.monotonic() < end:
        try:
            d = s.recv(2048)
        except (socket.timeout, OSError):
            break
        if d.startswith(b"first "):
            print("%d" % ((time.monotonic() - t0) * 1000), flush=True)
            sys.exit(0)
print("none", flush=True)
PY
}

# mx_first_reply SECONDS: sets MX_MS to the ms from hostA's first datagram to
# the first echo from hostB, through the tunnel the first datagram asks
# for; empty when none came back within SECONDS.
mx_first_reply() {
	local out
	mx_echo_py
	if [ -z "${MX_ECHO_UP:-}" ]; then
		nt_bg hostB echo /usr/bin/python3 "$NT_DIR/echo.py" serve "$MX_UB" 7007
		MX_CELL_PIDS="$MX_CELL_PIDS $NT_LAST_PID"
		nt_wait 5 nt_exec hostB sh -c 'ss -lnu | grep -q ":7007 "' || nt_fail "the echo server on hostB did not start"
		MX_ECHO_UP=1
	fi
	out=$(nt_exec hostA /usr/bin/python3 "$NT_DIR/echo.py" first "$MX_UB" 7007 "$1")
	case $out in
	none) MX_MS="" ;;
	[0-9]*) MX_MS=$out ;;
	*) nt_fail "echo client: $out" ;;
	esac
}

# mx_path HOST PEER: the path class HOST's agent gives PEER in status
# --json ("-" when the peer has no tunnel or no path is reported), then
# its outer endpoint
mx_path() {
	at_cli "$1" status --json | /usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin).get("peers", []):
    if p.get("label") == sys.argv[1]:
        path = p.get("path") or "-"
        outer = p.get("outer")
        if outer and p.get("port"):
            outer = "%s:%d" % (outer, p["port"])
        print(path, outer or "-", p.get("state", "-"))
        break
else:
    print("- - -")' "$2"
}

# mx_cell_end [TAG]: stop the agents (they withdraw their records) and every
# process the cell started, check that nothing else is left in its
# namespaces, and delete them. With TAG, the agents' logs are kept as
# TAG-agent-hostX.txt (not dumped by the cleanup; read them on a failure).
mx_cell_end() {
	local h pid left=""
	[ -z "${AT_PID_hostA:-}" ] || at_agent_stop hostA
	[ -z "${AT_PID_hostB:-}" ] || at_agent_stop hostB
	AT_PID_hostA="" AT_PID_hostB=""
	for pid in $MX_CELL_PIDS; do nt_stop "$pid"; done
	MX_CELL_PIDS="" MX_ECHO_UP=""
	if [ -n "${1:-}" ]; then
		for h in hostA hostB; do
			[ ! -f "$NT_DIR/agent-$h.log" ] || mv "$NT_DIR/agent-$h.log" "$NT_DIR/$1-agent-$h.txt"
		done
	fi
	for h in $MX_CELL_NS; do
		for pid in $(ip netns pids "$(nt_ns "$h")" 2>/dev/null); do
			left="$left $pid($(tr "\0" " " </proc/$pid/cmdline 2>/dev/null | cut -c1-80))"
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$(nt_ns "$h")" 2>/dev/null || true
	done
	MX_CELL_NS=""
	[ -z "$left" ] || nt_fail "processes left in the cell's namespaces:$left"
}
