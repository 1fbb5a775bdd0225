#!/bin/sh
# Issue 6, "Tunnels": the life of a tunnel between two hosts of an account.
#   - on demand: no tunnel until a packet asks for one;
#   - idle teardown: with idle-timeout = 3, an unused tunnel is closed after
#     about 3 s and made again by the next packet;
#   - kept up: a peer named in `keep` gets its tunnel without any traffic,
#     and keeps it when idle;
#   - NAT keepalives (RFC 3948) leave laptop's NAT while its tunnel is up;
#   - a peer that does not answer is reported (status "unreachable") and
#     tried again only after a back-off, not in a tight loop.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
nt_topology

# IKE gives up on a silent peer after 200 + 400 ms instead of about a minute
at_bed_two "idle-timeout = 3" "nat-keepalive = 1" "[tunnel]" "ike-retransmit-ms = 200" "ike-retransmit-tries = 2"
UA=$(at_ula hostA) UB=$(at_ula hostB)
st() { at_cli "$1" status | grep "^peer     $2 "; }

# on demand, then idle teardown
st hostA desktop | grep -q "idle (tunnel on demand)$" || nt_fail "a tunnel exists before any traffic: $(st hostA desktop)"
at_cli hostA ping desktop >/dev/null || nt_fail "ping desktop"
st hostA desktop | grep -q " mapped 203.0.113.20:4500 " || nt_fail "no tunnel after the ping: $(st hostA desktop)"
t0=$(at_now_ms)
nt_wait 8 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^peer     desktop .*idle (tunnel on demand)\$'" || nt_fail "the idle tunnel was not closed: $(st hostA desktop)"
ms=$(( $(at_now_ms) - t0 ))
[ "$ms" -ge 2000 ] || nt_fail "the tunnel was closed after $ms ms, before it was idle 3 s"
grep -q "tunnel to desktop idle for 3 s: closed (made again when packets ask)" "$NT_DIR/agent-hostA.log" ||
	grep -q "tunnel to laptop idle for 3 s: closed" "$NT_DIR/agent-hostB.log" || nt_fail "no idle teardown logged"
at_cli hostA ping desktop >/dev/null || nt_fail "ping desktop after the teardown"
st hostA desktop | grep -q " mapped 203.0.113.20:4500 " || nt_fail "the tunnel was not made again: $(st hostA desktop)"
nt_pass "on demand, closed after $ms ms idle (idle-timeout 3 s), made again by the next packet"

# NAT keepalives from laptop (behind natA) while the tunnel is up: one-byte 0xFF datagrams
nt_exec natB tcpdump -n -i wan0 -c 2 'udp and src host 203.0.113.10 and udp[8:1] = 0xff and udp[4:2] = 9' \
	>"$NT_DIR/ka" 2>&1 &
KA=$!
NT_PIDS="$NT_PIDS $KA"
at_cli hostA ping desktop >/dev/null
nt_wait 5 sh -c "! kill -0 $KA" || nt_fail "no NAT keepalives from laptop reached natB"
nt_pass "NAT keepalives from laptop (RFC 3948) while the tunnel is up"

# a peer that does not answer: desktop's agent is frozen
kill -STOP "$AT_PID_hostB"
nt_wait 6 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^peer     desktop .*idle (tunnel on demand)\$'" || { kill -CONT "$AT_PID_hostB"; nt_fail "the tunnel did not go idle"; }
n0=$(grep -c "desktop: starting a tunnel" "$NT_DIR/agent-hostA.log")
at_cli hostA ping desktop >/dev/null 2>&1 && { kill -CONT "$AT_PID_hostB"; nt_fail "a frozen peer answered"; }
nt_exec hostA ping -6 -c 6 -i 0.5 -W 1 "$UB" >/dev/null 2>&1 || true
nt_wait 10 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^peer     desktop .*unreachable at 203.0.113.20:4500 (no answer)\$'" ||
	{ kill -CONT "$AT_PID_hostB"; nt_fail "desktop not reported unreachable: $(st hostA desktop)"; }
grep -q "desktop does not answer at 203.0.113.20:4500 (.*); next try in [0-9]* s at the earliest" "$NT_DIR/agent-hostA.log" ||
	{ kill -CONT "$AT_PID_hostB"; nt_fail "no report in the log"; }
nt_exec hostA ping -6 -c 6 -i 0.5 -W 1 "$UB" >/dev/null 2>&1 || true
n1=$(grep -c "desktop: starting a tunnel" "$NT_DIR/agent-hostA.log")
kill -CONT "$AT_PID_hostB"
[ $((n1 - n0)) -le 2 ] || nt_fail "$((n1 - n0)) attempts in a few seconds: a tight loop"
nt_pass "an unanswering peer: $(st hostA desktop | sed 's/  */ /g'); $((n1 - n0)) attempt(s), then back-off"

# kept up: laptop restarts with keep = desktop (its saved account signs it in again)
at_agent_stop hostA
at_agent_start hostA laptop "idle-timeout = 3" "keep = desktop"
nt_wait 15 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^peer     desktop .* mapped 203.0.113.20:4500 '" || nt_fail "the kept peer's tunnel did not come up: $(at_cli hostA status)"
grep -q "desktop: starting a tunnel to 203.0.113.20:4500 (kept up)" "$NT_DIR/agent-hostA.log" ||
	nt_fail "the tunnel was not started because of keep"
sleep 5
st hostA desktop | grep -q " mapped 203.0.113.20:4500 .*" || nt_fail "the kept tunnel went down when idle: $(st hostA desktop)"
at_cli hostA status --json | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)["peers"][0]
assert p["label"] == "desktop" and p["keep"] is True and p["state"] == "up", p' || nt_fail "status --json: $(at_cli hostA status --json)"
nt_pass "a kept peer's tunnel comes up without traffic and outlives the idle timeout"
