#!/bin/sh
# Issue 6 (2): roaming. A TCP stream runs from hostB ("desktop", behind natB)
# to hostA ("laptop", behind natA). Then hostA moves: its link to natA's LAN
# goes, and it joins natB's LAN with a new address (192.168.2.3), behind a
# new NAT. The stream must keep running: TCP is bound to the ULAs, and the
# tunnel follows hostA (a packet from its new address moves the peer's data
# plane at once; MOBIKE moves the IKE SA; hostA maps UDP 4500 on natB and
# publishes its new location). The longest stall seen by the receiver is
# measured, printed as "roaming stall: N ms", and must be under 2000 ms.
#
# natB does NAT loopback (hairpinning), as RFC 4787 REQ-9 asks of NATs: with
# both hosts behind it, their tunnel goes through its public address.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
nt_topology
LIMIT_MS=2000
STREAM_S=10

at_bed_two
UA=$(at_ula hostA) UB=$(at_ula hostB)
at_cli hostB ping laptop >/dev/null || nt_fail "no tunnel from desktop to laptop: $(at_cli hostB ping laptop)"

at_stream_py
nt_bg hostA recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$UA" 5001 "$STREAM_S"
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "receiver did not start"
nt_bg hostB send /usr/bin/python3 "$NT_DIR/stream.py" send "$UA" 5001 "$STREAM_S"
SEND_PID=$NT_LAST_PID
at_plug hostA natB lanport1 eth1
sleep 3

# the move: natA's LAN is gone from hostA, natB's LAN appears
t0=$(at_now_ms)
at_move hostA eth0 eth1 192.168.2.3/24 192.168.2.1
echo "moved hostA from natA's LAN (192.168.1.2) to natB's LAN (192.168.2.3)"

wait "$SEND_PID" || nt_fail "the sender failed: $(cat "$NT_DIR/send.log")"
nt_wait 10 grep -q "longest stall" "$NT_DIR/recv.log" || nt_fail "the receiver did not finish: $(cat "$NT_DIR/recv.log")"
sent=$(sed -n 's/^sent \([0-9]*\) kB$/\1/p' "$NT_DIR/send.log")
got=$(sed -n 's/^received \([0-9]*\) bytes.*/\1/p' "$NT_DIR/recv.log")
stall=$(sed -n 's/.*longest stall \([0-9]*\) ms$/\1/p' "$NT_DIR/recv.log")
[ -n "$sent" ] && [ "$got" = "$((sent * 1000))" ] || nt_fail "sent $sent kB, received $got bytes"
echo "roaming stall: $stall ms"
[ "$stall" -lt "$LIMIT_MS" ] || nt_fail "the stream stalled $stall ms (limit $LIMIT_MS)"
nt_pass "the TCP stream kept running across the move: $got bytes, longest stall $stall ms"

# afterwards: hostA knows where it is and has published it; hostB follows
nt_wait 10 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^this     laptop   $UA   behind NAT 203.0.113.20:[0-9]* via PCP\$'" ||
	nt_fail "hostA status after the move: $(at_cli hostA status)"
port=$(at_cli hostA status | sed -n 's/^this .* behind NAT 203\.0\.113\.20:\([0-9]*\) via PCP$/\1/p')
grep -q "network changed: now 192.168.2.3 on eth1, gateway 192.168.2.1" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA did not log the change of network"
nt_wait 10 sh -c "ip netns exec $(nt_ns hostB) env AUTOTUNNEL_CONTROL=$NT_DIR/hostB/run/control $AT_CLI hosts |
	grep -q '^laptop .* $UA  *203.0.113.20:$port\$'" || nt_fail "hostB does not see laptop's new location: $(at_cli hostB hosts)"
grep -q "laptop moved to 203.0.113.20:$port" "$NT_DIR/agent-hostB.log" || nt_fail "hostB did not log the move"
nt_pass "laptop published 203.0.113.20:$port; desktop's log: $(grep -m1 "laptop moved to" "$NT_DIR/agent-hostB.log" | sed 's/^autotunneld: //')"

# and the tunnel still carries new traffic both ways
at_cli hostA ping desktop >/dev/null || nt_fail "ping desktop after the move: $(at_cli hostA ping desktop)"
at_cli hostB ping laptop >/dev/null || nt_fail "ping laptop after the move: $(at_cli hostB ping laptop)"
nt_pass "ping both ways after the move, $(( $(at_now_ms) - t0 )) ms after it"
