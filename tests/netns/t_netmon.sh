#!/bin/sh
# The agent's network monitor (src/netmon) against a real kernel: a host
# with two uplinks (eth0 to gw1, eth1 to gw2) runs netmon-watch, and every
# change of the primary address, interface or gateway is reported within
# 1 s, exactly once; changes that do not touch them are not reported.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

WATCH="$AT_BUILD/src/netmon/netmon-watch"
[ -x "$WATCH" ] || nt_fail "$WATCH not built"

for h in host gw1 gw2; do nt_add_ns "$h"; done
nt_link host eth0 gw1 eth0
nt_link host eth1 gw2 eth0
nt_exec host ip link set eth0 address 02:00:00:00:01:02
nt_exec host ip link set eth1 address 02:00:00:00:02:02
nt_exec gw1 ip addr add 192.168.1.1/24 dev eth0
nt_exec gw2 ip addr add 192.168.2.1/24 dev eth0
nt_exec host ip addr add 192.168.1.2/24 dev eth0
nt_exec host ip addr add 192.168.2.2/24 dev eth1
nt_exec host sysctl -qw net.ipv4.conf.eth1.promote_secondaries=1
nt_exec host ip route add default via 192.168.1.1 dev eth0

ETH0="192.168.1.2/24 dev eth0 mac 02:00:00:00:01:02 gw 192.168.1.1"
LOG="$NT_DIR/watch.log"
nt_bg host watch "$WATCH"
WATCH_PID=$NT_LAST_PID
nt_wait 5 grep -q '^primary' "$LOG" || nt_fail "netmon-watch printed nothing"
[ "$(cat "$LOG")" = "primary $ETH0" ] || nt_fail "first line: '$(cat "$LOG")', wanted 'primary $ETH0'"
nt_pass "primary $ETH0"
EXPECT="primary $ETH0"
MAX_MS=0
LIMIT_MS=1000

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# step WANT CMD...: run CMD (in the host unless it starts with "in NS"),
# then the log must gain exactly the line "changed: WANT" within 1 s.
step() {
	local want=$1 t0 t1 lines ms i; shift
	lines=$(wc -l <"$LOG")
	t0=$(now_ms)
	if [ "$1" = in ]; then
		local ns=$2; shift 2
		nt_exec "$ns" "$@"
	else
		nt_exec host "$@"
	fi
	for i in $(seq 400); do
		[ "$(wc -l <"$LOG")" -gt "$lines" ] && break
		sleep 0.01
	done
	t1=$(now_ms)
	ms=$((t1 - t0))
	EXPECT="$EXPECT
changed: $want"
	sleep 0.3	# one line, not two
	[ "$(cat "$LOG")" = "$EXPECT" ] || { printf 'log:\n%s\nwanted:\n%s\n' "$(cat "$LOG")" "$EXPECT" >&2; nt_fail "after '$*'"; }
	[ "$ms" -le "$LIMIT_MS" ] || nt_fail "'$*' reported after $ms ms (more than $LIMIT_MS ms)"
	[ "$LIMIT_MS" = 1000 ] && [ "$ms" -gt "$MAX_MS" ] && MAX_MS=$ms
	nt_pass "'$*' -> $want ($ms ms)"
}

# quiet CMD...: changes that leave the primary network alone print nothing.
quiet() {
	nt_exec host "$@"
	sleep 0.6
	[ "$(cat "$LOG")" = "$EXPECT" ] || { printf 'log:\n%s\nwanted:\n%s\n' "$(cat "$LOG")" "$EXPECT" >&2; nt_fail "'$*' was reported"; }
	nt_pass "'$*' not reported"
}

ETH1="192.168.2.2/24 dev eth1 mac 02:00:00:00:02:02 gw 192.168.2.1"
step "$ETH1" ip route replace default via 192.168.2.1 dev eth1
quiet ip addr add 192.168.2.3/24 dev eth1
quiet ip -6 addr add fd00:99::1/64 dev eth1 nodad
quiet ip route add 198.51.100.0/24 via 192.168.2.1 dev eth1
quiet ip link set eth1 mtu 1400
# a burst that ends where it started is no change at all
quiet sh -c 'ip route replace default via 192.168.1.1 dev eth0; ip route replace default via 192.168.2.1 dev eth1'
# the primary address goes; its secondary is promoted and takes over
step "192.168.2.3/24 dev eth1 mac 02:00:00:00:02:02 gw 192.168.2.1" ip addr del 192.168.2.2/24 dev eth1
# a backup default route with a higher metric is not the primary...
quiet ip route add default via 192.168.1.1 dev eth0 metric 100
# ...until the link of the better one goes down
step "$ETH0" ip link set eth1 down
# losing carrier (the other end of the cable goes away) is offline too. The
# kernel's linkwatch passes carrier changes on at most once a second, for
# all namespaces of the machine together, so here the bound is 1 s more.
LIMIT_MS=2000
step "offline" in gw1 ip link set eth0 down
step "$ETH0" in gw1 ip link set eth0 up
LIMIT_MS=1000
step "offline" ip link set eth0 down
nt_exec host ip link set eth0 up
quiet ip link set eth1 up	# up again, but their default routes went with the links
step "$ETH0" ip route add default via 192.168.1.1 dev eth0
step "192.168.1.9/24 dev eth0 mac 02:00:00:00:01:02 gw 192.168.1.1" sh -c 'ip addr flush dev eth0; ip addr add 192.168.1.9/24 dev eth0; ip route add default via 192.168.1.1 dev eth0'

nt_log "netmon longest report delay: $MAX_MS ms"
nt_stop "$WATCH_PID"
