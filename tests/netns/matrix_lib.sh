# tests/netns/matrix_lib.sh: the cells of the NAT matrix of docs/paths.md §7,
# for t_nat_matrix.sh, t_agent_roam_nomap.sh and bench/reach. Source it after
# lib.sh, agent_lib.sh and turn_lib.sh. Not a test itself.
#
# One world for a whole run: the internet bridge [inet] (IPv4 and IPv6), the
# rendezvous server [rv] (autotunnel-dnsd naming coturn in _stun._udp.D) and
# coturn on two addresses of rv (RFC 5780 tests need both), the account
# alice. With `mx_world relay`, dnsd also names coturn as the account's TURN
# relay (_turn._udp.D, _turns._tcp.D) and hands out its time-limited
# credentials (--turn-secret-file, coturn's use-auth-secret: docs/relay.md),
# so the agents (relay = auto) allocate on it. The
# hosts and their networks are made again for every cell, so that each
# cell starts from empty NAT connection tables (no conntrack tool is
# needed to flush them) and no cell inherits another's filter entries:
#
#   mx_world [relay]         inet, rv, dnsd --stun-server [--turn-server ...], coturn, alice
#   mx_side SIDE KIND        hostSIDE (A or B) behind a network of KIND:
#                              home   plain masquerade (EIM/APDF)
#                              nomap  the same, every port-mapping protocol refused
#                              sym    masquerade fully-random (EDM/APDF)
#                              cgnat  a home router behind a carrier NAT (EIM·EIM)
#                              gwd    home, with autotunnel-gwd giving a mapping (PCP)
#                              v6     "IPv6 firewall only": a global IPv6 address
#                                     behind the router's stateful filter (RFC 6092,
#                                     no NAT), IPv4 behind its plain masquerade
#                              udpblk home, the host dropping all its outbound UDP
#                                     but DNS to the rendezvous server (a hotel or
#                                     guest network): only TURN over TLS gets out
#   mx_same_lan              hostA and hostB on one LAN behind one home router
#   mx_agents                the agents laptopN (hostA, label MX_LA) and
#                            desktopN (hostB, MX_LB), N counting the calls,
#                            signed in afresh, each has run its STUN check
#                            and lists the other
#   mx_first_reply SECONDS   ms from hostA's first datagram to hostB's ULA
#                            to the first echo back (MX_MS; "" if none); one
#                            datagram every 5 ms, so that is the resolution
#   mx_path HOST PEER        the path class status --json gives for PEER
#   mx_cell_end              stop the agents, delete the cell's namespaces
#
# Every router drops what is new from its WAN to itself (nt_nat_input), as
# home routers do and as hole punching needs (docs/paths.md §6).
#
# Addresses: side A's outermost router (or carrier NAT) is 203.0.113.x and
# side B's 203.0.113.(x+2), x new for each cell (mx_wan); hostA is
# 192.168.1.2 and hostB 192.168.2.2 on their own LANs, 192.168.7.2 and .3
# on a shared one; a home router behind a carrier NAT has 100.64.N.2. A v6
# side's router is also 2001:db8:ff::x (x as its IPv4 byte, in hex) and its
# LAN 2001:db8:x::/64 (host ::2), routed by inet for the cell only.

MX_PASSWORD='correct horse battery'
MX_CELL_NS=""
MX_CELL_PIDS=""
MX_CELL_ROUTES=""
MX_RELAY=""
MX_N=0
MX_CELL=0

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
	nt_inet6
	MX_SECRET=$(head -c 24 /dev/urandom | base64)
	turn_start rv "$MX_SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
	if [ "${1:-}" = relay ]; then
		(umask 077; printf '%s\n' "$MX_SECRET" >"$NT_DIR/turn.secret")
		at_dnsd --stun-server 198.51.100.53 --turn-server 198.51.100.53 --turns-server 198.51.100.53 \
			--turn-secret-file "$NT_DIR/turn.secret" --turn-credential-ttl 600
		MX_RELAY=1
	else
		at_dnsd --stun-server 198.51.100.53
		MX_RELAY=""
	fi
	at_account alice "$MX_PASSWORD"
}

# a namespace of the current cell: made now, deleted by mx_cell_end
mx_ns() {
	nt_add_ns "$1"
	MX_CELL_NS="$MX_CELL_NS $1"
}

# mx_wan SIDE: the last byte of SIDE's outermost WAN address in this cell
# (203.0.113.x: the home router's, or the carrier NAT's in front of it).
# Each cell has addresses of its own, 39 cells in
# turn: a new router on an old address would meet rv's TIME_WAIT sockets of
# the last cell's connections from the same address and port (the agents'
# TCP ports repeat in a fresh namespace), whose timestamps the new host's
# cannot continue (PAWS, RFC 7323 §5), and inet's ARP entry for the old MAC.
mx_wan() {
	local b=$((16 + 6 * (MX_CELL % 39)))
	case $1 in A) echo "$b" ;; B) echo "$((b + 2))" ;; esac
}

# mx_side SIDE KIND
mx_side() {
	local s=$1 kind=$2 wan n
	case $s in
	A) n=1 ;;
	B) n=2 ;;
	*) nt_fail "mx_side: side A or B, not '$s'" ;;
	esac
	wan=$(mx_wan "$s")
	case $kind in
	home | nomap | sym | gwd | v6 | udpblk)
		mx_ns "nat$s"
		mx_ns "host$s"
		nt_attach_inet "nat$s" wan0 "203.0.113.$wan" 203.0.113.1
		nt_lan "nat$s" "host$s" "$n"
		case $kind in
		sym) nt_nat_edm "nat$s" ;;
		nomap) nt_nat_nomap "nat$s" ;;
		*) nt_nat_eim "nat$s" ;;
		esac
		nt_nat_input "nat$s"
		[ "$kind" != gwd ] || mx_gwd "nat$s"
		[ "$kind" != v6 ] || mx_v6 "nat$s" "host$s" "$(printf %x "$wan")"
		[ "$kind" != udpblk ] || mx_udpblock "host$s"
		;;
	cgnat)
		mx_ns "cgn$s"
		mx_ns "nat$s"
		mx_ns "host$s"
		nt_attach_inet "cgn$s" wan0 "203.0.113.$wan" 203.0.113.1
		nt_link "cgn$s" lan0 "nat$s" wan0
		nt_addr "cgn$s" lan0 "100.64.$n.1/24"
		nt_addr "nat$s" wan0 "100.64.$n.2/24"
		ip -n "$(nt_ns "nat$s")" route add default via "100.64.$n.1"
		nt_lan "nat$s" "host$s" "$n"
		nt_nat_eim "cgn$s"
		nt_nat_eim "nat$s"
		nt_nat_input "cgn$s"
		nt_nat_input "nat$s"
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

# mx_v6 NAT HOST X: NAT's wan0 also 2001:db8:ff::X, its LAN 2001:db8:X::/64
# (NAT ::1, HOST ::2), routed by inet until mx_cell_end. The inet forward
# filter nt_nat_rules gave NAT is the stateful IPv6 firewall (established
# and what leaves the LAN pass, nothing new from the WAN); nt_nat_input's
# inet table closes the router itself.
mx_v6() {
	local r=$1 host=$2 x=$3
	ip -n "$(nt_ns "$r")" addr add "2001:db8:ff::$x/64" dev wan0 nodad
	ip -n "$(nt_ns "$r")" -6 route add default via 2001:db8:ff::1
	ip -n "$(nt_ns inet)" -6 route add "2001:db8:$x::/64" via "2001:db8:ff::$x"
	MX_CELL_ROUTES="$MX_CELL_ROUTES 2001:db8:$x::/64"
	ip -n "$(nt_ns "$r")" addr add "2001:db8:$x::1/64" dev lan0 nodad
	ip -n "$(nt_ns "$host")" addr add "2001:db8:$x::2/64" dev eth0 nodad
	ip -n "$(nt_ns "$host")" -6 route add default via "2001:db8:$x::1"
	nt_exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
	nt_wait 5 nt_exec "$host" ping -6 -c 1 -W 1 2001:db8:ff::1 >/dev/null ||
		nt_fail "mx_v6: no IPv6 from $host to the bridge"
}

# mx_udpblock HOST: HOST sends no UDP out of its LAN interface but DNS to the
# rendezvous server (what goes into the tunnel device is not touched: the
# inner packets are the tunnel's, and they leave as TURN over TLS)
mx_udpblock() {
	nt_exec "$1" nft -f - <<'NFT'
table inet udpblock {
	chain out {
		type filter hook output priority filter; policy accept;
		oifname "eth0" ip daddr 198.51.100.53 udp dport 53 accept
		oifname "eth0" meta l4proto udp counter drop
	}
}
NFT
}

mx_same_lan() {
	mx_ns natL
	nt_attach_inet natL wan0 "203.0.113.$(mx_wan A)" 203.0.113.1
	MX_CELL_NS="$MX_CELL_NS hostA hostB"
	nt_lan_shared natL 7 hostA hostB
	nt_nat_eim natL
	nt_nat_input natL
}

# mx_agents [INI lines]: start both agents and wait until they can punch:
# signed in, STUN check done (so the candidates carry the reflexive
# address) and each listing the other. Every cell's hosts have names of
# their own, so that nothing one cell leaves in the account (a punch
# request still under the peer's name when its writer stopped) meets the
# next cell's hosts. A saved account keeps its host name, so each cell
# signs in anew, from an empty state directory.
mx_agents() {
	local h i
	MX_N=$((MX_N + 1))
	MX_LA=laptop$MX_N MX_LB=desktop$MX_N
	rm -rf "$NT_DIR/hostA/state" "$NT_DIR/hostB/state"
	at_agent_start hostA "$MX_LA" "$@"
	at_agent_start hostB "$MX_LB" "$@"
	at_login hostA alice "$MX_PASSWORD" >/dev/null || nt_fail "hostA: login failed"
	at_login hostB alice "$MX_PASSWORD" >/dev/null || nt_fail "hostB: login failed"
	for h in hostA hostB; do
		at_log_wait "$h" 'reflexive address \|STUN server .* did not answer' 20 ||
			nt_fail "$h: no STUN check within 20 s: $(tail -20 "$NT_DIR/agent-$h.log")"
		# with a relay, a host behind a NAT allocates (relay = auto) and
		# publishes the relayed address: the last candidate of its round
		[ -z "$MX_RELAY" ] || at_log_wait "$h" 'relay: allocated ' 20 ||
			nt_fail "$h: no relay allocation within 20 s: $(grep relay "$NT_DIR/agent-$h.log" | tail -20)"
	done
	for i in $(seq 100); do
		at_lists hostA "$MX_LB" && at_lists hostB "$MX_LA" && break
		sleep 0.1
	done
	at_lists hostA "$MX_LB" && at_lists hostB "$MX_LA" || nt_fail "the hosts do not list each other after 10 s:
$(at_cli hostA hosts)
$(at_cli hostB hosts)"
	MX_UA=$(at_ula hostA)
	MX_UB=$(at_ula hostB)
	MX_NAT_A=$(mx_behaviour hostA)
	MX_NAT_B=$(mx_behaviour hostB)
}

# mx_behaviour HOST: the NAT behaviour HOST's agent found by STUN from its
# tunnel socket, as mapping/filtering in docs/paths.md's words (ei, ad,
# apd; "none" for no NAT), "-" when the check found none
mx_behaviour() {
	local b
	b=$(sed -n 's/.*reflexive address .*: mapping \([a-z-]*\), filtering \([a-z-]*\).*/\1\/\2/p' \
		"$NT_DIR/agent-$1.log" | tail -1 | sed 's/address-and-port-dependent/apd/g;
		s/address-dependent/ad/g; s/endpoint-independent/ei/g')
	echo "${b:--}"
}

# the echo server on hostB and the client on hostA: UDP over the ULAs
mx_echo_py() {
	[ -f "$NT_DIR/echo.py" ] && return 0
	cat >"$NT_DIR/echo.py" <<'PY'
import socket, sys, time
# echo.py serve ADDR PORT | echo.py first ADDR PORT SECONDS
# first: one datagram every 5 ms until the first echo, for at most
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
s.settimeout(0.005)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < limit:
    try:
        s.sendto(b"first %d" % n, (addr, port))
    except OSError:
        pass  # no route yet: the tunnel device is there only once signed in
    n += 1
    end = time.monotonic() + 0.005
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
        elif p.get("outer6") and p.get("port"):
            outer = "[%s]:%d" % (p["outer6"], p["port"])
        print(path, outer or "-", p.get("state", "-"))
        break
else:
    print("- - -")' "$2"
}

# mx_path_wait HOST PEER SECONDS: mx_path once it names a path class, or
# after SECONDS (the end that does not start IKE learns the nomination
# from the other end's IKE, a moment after the first reply)
mx_path_wait() {
	local i out
	for i in $(seq $(($3 * 5))); do
		out=$(mx_path "$1" "$2")
		case $out in "- "*) sleep 0.2 ;; *) break ;; esac
	done
	echo "$out"
}

# mx_cell_end [TAG]: stop the agents (they withdraw their records) and every
# process the cell started, check that nothing else is left in its
# namespaces, and delete them. With TAG, the agents' logs are kept as
# TAG-agent-hostX.txt (not dumped by the cleanup; read them on a failure).
mx_cell_end() {
	local h pid i left=""
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
	# a deleted namespace's veth ends go in the background: wait (5 s at
	# most) for their ports on the bridge, or the next cell's "p-NAME"
	# collides with one still there ("RTNETLINK answers: File exists")
	for h in $MX_CELL_NS; do
		i=0
		while ip -n "$(nt_ns inet)" link show "p-$h" >/dev/null 2>&1 && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	MX_CELL_NS=""
	for h in $MX_CELL_ROUTES; do ip -n "$(nt_ns inet)" -6 route del "$h" 2>/dev/null || true; done
	MX_CELL_ROUTES=""
	ip -n "$(nt_ns inet)" -6 neigh flush dev br0
	MX_CELL=$((MX_CELL + 1))
	# when addresses come round again (mx_wan), inet must not send to the
	# MACs of routers that are gone
	ip -n "$(nt_ns inet)" neigh flush dev br0 to 203.0.113.0/24
	[ -z "$left" ] || nt_fail "processes left in the cell's namespaces:$left"
}
