#!/bin/sh
# Issue 4 (b): our client against miniupnpd, an implementation nobody here
# wrote (Debian's miniupnpd-nftables), as natA's gateway: once by PCP,
# once by NAT-PMP (forced: miniupnpd answers PCP), once by UPnP IGD. Each
# time `pub` sends UDP to the external address and port the client printed,
# and hostA's listener must receive it; with --keep the client deletes its
# mapping on SIGTERM and miniupnpd's DNAT rule goes. Last, miniupnpd is
# restarted under a --keep client: its PCP ANNOUNCE carries a new epoch,
# the client re-creates the mapping at once and forwarding is back.
#
# miniupnpd 2.3.1 refuses to forward when its WAN address is in a reserved
# range (203.0.113.0/24 is TEST-NET-3) unless STUN shows it reachable, so a
# tiny STUN responder (RFC 5389 Binding, XOR-MAPPED-ADDRESS) runs on pub.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/netns/agent_lib.sh"

MINIUPNPD=/usr/sbin/miniupnpd
[ -x "$MINIUPNPD" ] || { echo "SKIP: $MINIUPNPD (miniupnpd-nftables) not installed"; exit 77; }
AT="$AT_BUILD/src/autotunnel/autotunnel"
[ -x "$AT" ] || nt_fail "no $AT"

nt_topology

# A STUN server on pub for miniupnpd's check of its external address, then
# miniupnpd (NAT-PMP and PCP, UPnP IGD, secure mode, the LAN only) on natA in
# nftables chains of its own, next to the bed's masquerade and stateful filter.
at_stun
at_miniupnpd natA 1
MINIUPNPD_PID=$AT_MINIUPNPD_PID
now_ms() { at_now_ms; }

# A UDP listener on hostA:$1 writing what it gets to $NT_DIR/got.$1.
listen() {
	nt_bg hostA "listener$1" socat -u "UDP-RECV:$1" "OPEN:$NT_DIR/got.$1,creat,append"
	nt_wait 5 nt_exec hostA sh -c "ss -lun | grep -q ':$1 '" || nt_fail "listener on $1 did not start"
}

# pub sends "$3" to $1:$2 until hostA's listener on $4 has it (at most 2 s).
reaches() {
	local i
	for i in $(seq 20); do
		echo "$3" | nt_exec pub socat -u - "UDP:$1:$2" 2>/dev/null || true
		sleep 0.1
		grep -qx "$3" "$NT_DIR/got.$4" 2>/dev/null && return 0
	done
	return 1
}

# the DNAT rule miniupnpd keeps for external port $1
has_rule() { nt_exec natA nft list table inet miniupnpd | grep -q "th dport $1 dnat ip to 192.168.1.2:$1"; }

# 0. nothing is mapped yet: pub cannot reach hostA:4500
listen 4500
if reaches 203.0.113.10 4500 "before" 4500; then
	nt_fail "pub reached hostA:4500 before any mapping"
fi

# 1. PCP, one shot: the mapping is made and left for its lifetime
out=$(nt_exec hostA timeout 20 "$AT" portmap --udp 4500 2>"$NT_DIR/pcp.err") ||
	nt_fail "portmap (PCP) failed: $(cat "$NT_DIR/pcp.err")"
want="protocol PCP
gateway 192.168.1.1
internal 192.168.1.2:4500
external 203.0.113.10:4500
lifetime 7200"
[ "$out" = "$want" ] || nt_fail "portmap (PCP) printed:
$out"
grep -q "PCP MAP: added mapping UDP 4500->192.168.1.2:4500" "$NT_DIR/miniupnpd-natA.log" ||
	nt_fail "miniupnpd made no PCP mapping"
has_rule 4500 || nt_fail "miniupnpd has no DNAT rule for 4500"
reaches 203.0.113.10 4500 "via-pcp" 4500 || nt_fail "pub does not reach hostA through the PCP mapping"
nt_pass "PCP: miniupnpd maps 203.0.113.10:4500 -> 192.168.1.2:4500 and pub reaches hostA"

# A --keep client for $2 (udp port $3): mapped, forwarding, deleted on SIGTERM.
keep_case() {
	local proto_opt=$1 name=$2 port=$3 want_proto=$4 pid t0 rc
	listen "$port"
	nt_bg hostA "keep.$port" "$AT" portmap --udp "$port" --lifetime 600 --keep $proto_opt
	pid=$NT_LAST_PID
	nt_wait 10 grep -q "^external 203\.0\.113\.10:$port\$" "$NT_DIR/keep.$port.log" ||
		nt_fail "$name: no mapping: $(cat "$NT_DIR/keep.$port.log")"
	grep -qx "protocol $want_proto" "$NT_DIR/keep.$port.log" ||
		nt_fail "$name: protocol line: $(cat "$NT_DIR/keep.$port.log")"
	grep -qx "lifetime 600" "$NT_DIR/keep.$port.log" ||
		nt_fail "$name: lifetime line: $(cat "$NT_DIR/keep.$port.log")"
	has_rule "$port" || nt_fail "$name: miniupnpd has no DNAT rule for $port"
	reaches 203.0.113.10 "$port" "via-$name" "$port" ||
		nt_fail "$name: pub does not reach hostA:$port through the mapping"
	t0=$(now_ms)
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || nt_fail "$name: the --keep client exited $rc: $(cat "$NT_DIR/keep.$port.log")"
	grep -qx "deleted external 203.0.113.10:$port" "$NT_DIR/keep.$port.log" ||
		nt_fail "$name: no delete reported: $(cat "$NT_DIR/keep.$port.log")"
	if has_rule "$port"; then
		nt_fail "$name: miniupnpd still forwards $port after the delete"
	fi
	nt_pass "$name: 203.0.113.10:$port -> 192.168.1.2:$port, pub reaches hostA; deleted on SIGTERM in $(( $(now_ms) - t0 )) ms"
}

# 2. NAT-PMP (forced: miniupnpd would answer PCP first)
keep_case "--protocol natpmp" NAT-PMP 4501 NAT-PMP
grep -q 'NAT-PMP request received from 192.168.1.2' "$NT_DIR/miniupnpd-natA.log" ||
	nt_fail "miniupnpd saw no NAT-PMP request"

# 3. UPnP IGD (forced likewise): SSDP discovery, AddPortMapping, GetExternalIPAddress
keep_case "--protocol upnp" UPnP 4502 "UPnP IGD"
grep -q 'AddPortMapping: ext port 4502' "$NT_DIR/miniupnpd-natA.log" || nt_fail "miniupnpd saw no AddPortMapping"
grep -q 'DeletePortMapping' "$NT_DIR/miniupnpd-natA.log" || nt_fail "miniupnpd saw no DeletePortMapping"

# 4. PCP with --keep, and the same in JSON
keep_case "" PCP 4503 PCP
json=$(nt_exec hostA timeout 20 "$AT" portmap --udp 4504 --json 2>"$NT_DIR/json.err") ||
	nt_fail "portmap --json failed: $(cat "$NT_DIR/json.err")"
echo "$json" | /usr/bin/python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
want = {"schema": 1, "event": "mapped", "protocol": "PCP", "gateway": "192.168.1.1", "internal": "192.168.1.2:4504",
        "transport": "udp", "external": "203.0.113.10:4504", "lifetime": 7200}
sys.exit(0 if e == want else "json: %r" % e)' || nt_fail "portmap --json printed: $json"
nt_pass "--json: $json"

# 5. natA reboots (miniupnpd restarts, every mapping forgotten): its PCP ANNOUNCE to
# 224.0.0.1:5350 shows a new epoch (RFC 6887 §8.5, §14.1) and the --keep
# client re-creates its mapping at once.
listen 4505
nt_bg hostA keep.4505 "$AT" portmap --udp 4505 --lifetime 600 --keep -v
KEEP_PID=$NT_LAST_PID
nt_wait 10 grep -q '^external 203\.0\.113\.10:4505$' "$NT_DIR/keep.4505.log" ||
	nt_fail "restart: no mapping: $(cat "$NT_DIR/keep.4505.log")"
reaches 203.0.113.10 4505 "before-restart" 4505 || nt_fail "restart: no forwarding before"
# a reboot: the daemon stops and the router's rules are gone with it
# (miniupnpd itself leaves its rules in place when it exits)
nt_stop "$MINIUPNPD_PID"
for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
	nt_exec natA nft flush chain inet miniupnpd "$c"
done
if reaches 203.0.113.10 4505 "during-restart" 4505; then
	nt_fail "restart: forwarding survived the flush"
fi
t0=$(now_ms)
nt_bg natA miniupnpd2 "$MINIUPNPD" -f "$NT_DIR/miniupnpd-natA.conf" -d -P "$NT_DIR/miniupnpd-natA.pid"
nt_wait 10 grep -q 'Listening for NAT-PMP/PCP traffic on port 5351' "$NT_DIR/miniupnpd2.log" ||
	nt_fail "miniupnpd did not start again"
nt_wait 5 grep -qx 'recreated external 203.0.113.10:4505 lifetime 600' "$NT_DIR/keep.4505.log" ||
	nt_fail "restart: not re-created: $(cat "$NT_DIR/keep.4505.log")"
grep -qx 'gateway-reset' "$NT_DIR/keep.4505.log" || nt_fail "restart: no gateway-reset reported"
reaches 203.0.113.10 4505 "after-restart" 4505 || nt_fail "restart: no forwarding after"
ms=$(( $(now_ms) - t0 ))
[ "$ms" -le 5000 ] || nt_fail "restart: forwarding back only after $ms ms"
nt_pass "miniupnpd restarted: new epoch seen, mapping re-created, forwarding again $ms ms after the restart"
