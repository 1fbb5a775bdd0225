#!/bin/sh
# Issue 11: roaming between a mapped network and one with no mapping, and
# back, with a TCP stream running.
#   hostA ("laptop") starts behind natA, whose autotunnel-gwd gives it a
#         PCP mapping (desktop can reach it unsolicited),
#   moves to natN, a router refusing every port-mapping protocol,
#   and moves back to natA (mapped again);
#   hostB ("desktop") sits behind a router with autotunnel-gwd too
#         (ROAM_PEER=mapped, the default: on natN laptop keeps reaching
#         desktop's mapping), or behind a plain home router with no
#         mapping (ROAM_PEER=unmapped: on natN both ends are unmapped and
#         the path must be punched through both NATs' filters; see
#         tests/netns/t_agent_roam_punch.sh).
# A TCP stream runs from desktop to laptop's ULA the whole time; it must
# deliver every byte, and the longest stall around each move is printed
# ("roaming stall: N ms") and must be under 2 s. After each move desktop's
# tunnel must be up at laptop's new outer address within 10 s; with
# ROAM_PEER=unmapped its path class too (mapped on both ends, punched on both ends,
# mapped). No miniupnpd; coturn is the account's STUN server.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/matrix_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] && [ -x "$AT_GWD" ] || nt_fail "build the agent, the CLI, dnsd and gwd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
LIMIT_MS=2000
STREAM_S=30	# moves at about 4 s and 13 s
SETTLE_S=${ROAM_SETTLE_S:-10}	# at most, after a move, for the new path to show in status

mx_world
case ${ROAM_PEER:-mapped} in
mapped) mx_side B gwd ;;
unmapped) mx_side B home ;;
*) nt_fail "ROAM_PEER is mapped or unmapped" ;;
esac
# natA: a home router with gwd, its LAN a bridge so that hostA can come back
mx_ns natA
mx_ns hostA
nt_attach_inet natA wan0 203.0.113.10 203.0.113.1
nt_lan natA hostA 1
at_bridge_lan natA
nt_nat_eim natA
nt_nat_input natA
mx_gwd natA
# natN: no port mapping, an empty bridged LAN 192.168.3.0/24
mx_ns natN
nt_attach_inet natN wan0 203.0.113.30 203.0.113.1
ip -n "$(nt_ns natN)" -batch - <<'BATCH'
link add lan0 type bridge
addr add 192.168.3.1/24 dev lan0
link set lan0 up
BATCH
nt_nat_nomap natN
nt_nat_input natN
at_plug hostA natN lanportN eth1
at_plug hostA natA lanportA eth2

mx_agents
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping from gwd: $(cat "$NT_DIR/agent-hostA.log")"
UA=$MX_UA

# the receiver notes every gap over 20 ms (the sender writes every 5 ms) with its monotonic time, so each
# stall can be put down to the move it follows
cat >"$NT_DIR/gaps.py" <<'PY'
import socket, sys, time
addr, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(secs + 30)
c, _ = s.accept(); c.settimeout(secs + 30)
last = None; total = 0
while True:
    try:
        b = c.recv(65536)
    except socket.timeout:
        break
    now = time.monotonic()
    if not b:
        break
    total += len(b)
    if last is not None and now - last > 0.02:
        print("gap %.3f %.3f" % (last, now), flush=True)
    last = now
print("received %d bytes" % total, flush=True)
PY
mono() { /usr/bin/python3 -c 'import time; print("%.3f" % time.monotonic())'; }
# sleep_until T S: sleep until S seconds after monotonic time T (not at all if that is past)
sleep_until() { /usr/bin/python3 -c 'import sys, time; time.sleep(max(0, float(sys.argv[1]) + float(sys.argv[2]) - time.monotonic()))' "$1" "$2"; }
at_stream_py
nt_bg hostA recv /usr/bin/python3 "$NT_DIR/gaps.py" "$UA" 5001 "$STREAM_S"
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "receiver did not start"
nt_bg hostB send /usr/bin/python3 "$NT_DIR/stream.py" send "$UA" 5001 "$STREAM_S"
SEND_PID=$NT_LAST_PID

# views: both ends' path, state and endpoint
views() {
	nt_log "  laptop -> desktop: $(mx_path hostA "$MX_LB"); desktop -> laptop: $(mx_path hostB "$MX_LA")"
}
# path_is HOST PEER CLASS: wait until HOST's status gives PEER's path as CLASS, up
path_is() {
	local i
	for i in $(seq $((SETTLE_S * 5))); do
		set -- "$1" "$2" "$3" $(mx_path "$1" "$2")
		[ "$4" = "$3" ] && [ "$6" = up ] && return 0
		sleep 0.2
	done
	return 1
}
# outer_is HOST PEER ADDR: wait until HOST's tunnel to PEER is up and ends at ADDR (any port)
outer_is() {
	local i
	for i in $(seq $((SETTLE_S * 5))); do
		set -- "$1" "$2" "$3" $(mx_path "$1" "$2")
		case "$5 $6" in "$3:"*" up") return 0 ;; esac
		sleep 0.2
	done
	return 1
}
# path_known HOST PEER: wait until HOST's status gives PEER's tunnel a path class, up
# (every up tunnel says how it goes, docs/paths.md §9.5: also the end whose own mapping carries it)
path_known() {
	local i
	for i in $(seq $((SETTLE_S * 5))); do
		set -- "$1" "$2" $(mx_path "$1" "$2")
		case "$3 $5" in mapped\ up | public\ up | punched\ up | lan\ up | ipv6\ up | relay\ up) return 0 ;; esac
		sleep 0.2
	done
	return 1
}
# after_move WHAT CLASS ADDR [LAPTOP_CLASS]: desktop's tunnel to laptop
# follows laptop to ADDR; with an unmapped desktop its path class must be
# CLASS on both ends (on the punched path) or on desktop's (the mapped
# one), and laptop's LAPTOP_CLASS when given; both ends name one anyway
after_move() {
	outer_is hostB "$MX_LA" "$3" || nt_fail "$1, desktop's tunnel to laptop: $(mx_path hostB "$MX_LA") (expected up at $3)"
	if [ "${ROAM_PEER:-mapped}" = unmapped ]; then
		path_is hostB "$MX_LA" "$2" || nt_fail "$1, desktop's path to laptop: $(mx_path hostB "$MX_LA") (expected $2)"
		[ "$2" != punched ] || path_is hostA "$MX_LB" "$2" ||
			nt_fail "$1, laptop's path to desktop: $(mx_path hostA "$MX_LB") (expected $2)"
		[ -z "${4:-}" ] || path_is hostA "$MX_LB" "$4" ||
			nt_fail "$1, laptop's path to desktop: $(mx_path hostA "$MX_LB") (expected $4)"
	fi
	path_known hostB "$MX_LA" || nt_fail "$1, desktop's tunnel to laptop has no path class: $(mx_path hostB "$MX_LA")"
	path_known hostA "$MX_LB" || nt_fail "$1, laptop's tunnel to desktop has no path class: $(mx_path hostA "$MX_LB")"
	views
}
# laptop's own mapping carries desktop's tunnel to it: mapped on laptop's end too
after_move "before the move" mapped 203.0.113.10 mapped
sleep 3

M1=$(mono)
at_move hostA eth0 eth1 192.168.3.2/24 192.168.3.1
nt_log "moved laptop from natA's LAN (mapped by gwd) to natN's (no port mapping)"
after_move "after the move to natN" punched 203.0.113.30
sleep_until "$M1" 9

M2=$(mono)
at_move hostA eth1 eth2 192.168.1.2/24 192.168.1.1
nt_log "moved laptop back to natA's LAN"
after_move "after moving back" mapped 203.0.113.10

wait "$SEND_PID" || nt_fail "the sender failed: $(cat "$NT_DIR/send.log")"
nt_wait 10 grep -q "^received" "$NT_DIR/recv.log" || nt_fail "the receiver did not finish: $(cat "$NT_DIR/recv.log")"
sent=$(sed -n 's/^sent \([0-9]*\) kB$/\1/p' "$NT_DIR/send.log")
got=$(sed -n 's/^received \([0-9]*\) bytes$/\1/p' "$NT_DIR/recv.log")
[ -n "$sent" ] && [ "$got" = "$((sent * 1000))" ] || nt_fail "sent $sent kB, received $got bytes"
# the longest gap that ends after each move (and, for the first, before the second)
stall() {
	awk -v from="$1" -v to="$2" '$1 == "gap" && $3 >= from && $3 < to { g = ($3 - $2) * 1000; if (g > m) m = g }
		END { printf "%d\n", m }' "$NT_DIR/recv.log"
}
s1=$(stall "$M1" "$M2")
s2=$(stall "$M2" 1e12)
echo "roaming stall: $s1 ms (mapped -> no mapping)"
echo "roaming stall: $s2 ms (no mapping -> mapped)"
[ "$s1" -lt "$LIMIT_MS" ] && [ "$s2" -lt "$LIMIT_MS" ] || nt_fail "the stream stalled $s1 ms / $s2 ms (limit $LIMIT_MS)"
nt_pass "the TCP stream kept running across both moves: $got bytes, stalls $s1 ms and $s2 ms"

at_cli hostB ping "$MX_LA" >/dev/null || nt_fail "ping laptop after the moves: $(at_cli hostB ping "$MX_LA")"
nt_pass "desktop reaches laptop after the moves ($(mx_path hostB "$MX_LA"))"
mx_cell_end
