#!/bin/sh
# Issue 11, first step of the agent's part: the reflexive address and the
# NAT's behaviour, learnt by the agent from its own tunnel socket (UDP 4500)
# with the account's STUN server, and reported by `autotunnel netcheck`.
#   rv     autotunnel-dnsd with --stun-server (so _stun._udp.D names coturn)
#          and coturn on two addresses (RFC 5780 tests);
#   hostA  behind natA, plain masquerade: endpoint-independent mapping,
#          address-and-port-dependent filtering;
#   hostC  behind natC, masquerade with a random port per flow: endpoint-
#          dependent mapping;
#   then hostA moves to natC's LAN: the check runs again after the change.
# The reflexive address netcheck prints is compared with the NAT's own
# connection table (its source port must be 4500: the requests left from
# the tunnel socket); with coturn stopped, netcheck says it did not answer.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
nt_topology
nt_addr rv eth0 198.51.100.54/24
nt_router natC 203.0.113.30 hostC 3 edm

SECRET=$(head -c 24 /dev/urandom | base64)
turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --stun-server 198.51.100.53
at_account alice 'correct horse battery'

# nat_port NAT HOST-ADDR: the external port NAT gave the flow HOST-ADDR:4500 ->
# coturn's primary address (from its connection table); fails if there is none.
nat_port() {
	nt_exec "$1" cat /proc/net/nf_conntrack |
		awk -v src="src=$2" '$3 == "udp" && $6 == src && $7 == "dst=198.51.100.53" &&
			$8 == "sport=4500" && $9 == "dport=3478" { sub("dport=", "", $13); print $13; exit }' | grep .
}

# expect NAME GOT WANT: the lines of WANT (regular expressions, whole lines) are GOT's last lines
expect_tail() {
	local n
	n=$(printf '%s\n' "$3" | wc -l)
	[ "$(printf '%s\n' "$2" | tail -n "$n")" = "$3" ] || nt_fail "$1: wanted the lines
$3
at the end of
$2"
}

# --- hostA: plain masquerade
at_agent_start hostA laptop
at_login hostA alice 'correct horse battery' >/dev/null || nt_fail "hostA: login failed"
at_log_wait hostA 'reflexive address ' 20 ||
	nt_fail "hostA found no reflexive address: $(cat "$NT_DIR/agent-hostA.log")"
port=$(nat_port natA 192.168.1.2) || nt_fail "natA has no flow from 192.168.1.2:4500 to coturn:
$(nt_exec natA cat /proc/net/nf_conntrack)"
nt_log "natA maps 192.168.1.2:4500 -> 198.51.100.53:3478 to 203.0.113.10:$port"
grep -q "reflexive address 203.0.113.10:$port (STUN server 198.51.100.53:3478): mapping endpoint-independent, filtering address-and-port-dependent" \
	"$NT_DIR/agent-hostA.log" || nt_fail "hostA's log: $(grep reflexive "$NT_DIR/agent-hostA.log")"
out=$(at_cli hostA netcheck)
expect_tail "hostA netcheck" "$out" "stun       198.51.100.53:3478: answered over UDP
reflexive  203.0.113.10:$port
behaviour  mapping endpoint-independent, filtering address-and-port-dependent
           endpoint-independent mapping: peers behind most NATs can reach this host by hole punching
direct     public and mapped peers, and peers behind endpoint-independent NATs (most home routers, hole punching); not peers behind endpoint-dependent (\"symmetric\") NATs: they need a relay"
nt_pass "hostA behind masquerade: reflexive 203.0.113.10:$port (the NAT's own), endpoint-independent mapping, address-and-port-dependent filtering"

at_cli hostA netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert n["stun"] == "answered" and n["stun_server"] == "198.51.100.53:3478", n
assert n["reflexive"] == "203.0.113.10" and n["reflexive_port"] == int(sys.argv[1]), n
assert n["nat_mapping"] == "endpoint-independent", n
assert n["nat_filtering"] == "address-and-port-dependent", n' "$port" ||
	nt_fail "hostA netcheck --json: $(at_cli hostA netcheck --json)"
nt_pass "hostA netcheck --json: stun, reflexive, reflexive_port, nat_mapping, nat_filtering"

# --- hostC: endpoint-dependent mapping
at_agent_start hostC nas
at_login hostC alice 'correct horse battery' >/dev/null || nt_fail "hostC: login failed"
at_log_wait hostC 'reflexive address ' 20 ||
	nt_fail "hostC found no reflexive address: $(cat "$NT_DIR/agent-hostC.log")"
port=$(nat_port natC 192.168.3.2) || nt_fail "natC has no flow from 192.168.3.2:4500 to coturn:
$(nt_exec natC cat /proc/net/nf_conntrack)"
nt_log "natC maps 192.168.3.2:4500 -> 198.51.100.53:3478 to 203.0.113.30:$port"
out=$(at_cli hostC netcheck)
expect_tail "hostC netcheck" "$out" "stun       198.51.100.53:3478: answered over UDP
reflexive  203.0.113.30:$port
behaviour  mapping address-and-port-dependent, filtering address-and-port-dependent
           endpoint-dependent mapping: direct connections need the other side to be reachable; a relay will be needed otherwise
direct     public and mapped peers, and peers whose NAT filters by address only or not at all; not peers behind most home routers or symmetric NATs: they need a relay"
# the other flows of the check got other ports: that is what endpoint-dependent means here
others=$(nt_exec natC cat /proc/net/nf_conntrack | awk '$3 == "udp" && $6 == "src=192.168.3.2" && $8 == "sport=4500" &&
	$7 == "dst=198.51.100.54" { sub("dport=", "", $13); print $13 }' | sort -u | tr '\n' ' ')
[ -n "$others" ] || nt_fail "natC has no flow from hostC's 4500 to coturn's other address"
case " $others" in *" $port "*) nt_fail "natC reused port $port towards the other address: $others" ;; esac
nt_pass "hostC behind an endpoint-dependent NAT: reflexive 203.0.113.30:$port, mapping address-and-port-dependent (other flows: $others)"

# --- a network change: hostA moves from natA's LAN to natC's; the check runs again there
at_bridge_lan natC
at_plug hostA natC lanport1 eth1
at_move hostA eth0 eth1 192.168.3.3/24 192.168.3.1
at_log_wait hostA 'reflexive address 203.0.113.30:' 20 ||
	nt_fail "hostA did not check again after moving: $(cat "$NT_DIR/agent-hostA.log")"
port=$(nat_port natC 192.168.3.3) || nt_fail "natC has no flow from 192.168.3.3:4500 to coturn:
$(nt_exec natC cat /proc/net/nf_conntrack)"
out=$(at_cli hostA netcheck)
expect_tail "hostA netcheck after moving" "$out" "stun       198.51.100.53:3478: answered over UDP
reflexive  203.0.113.30:$port
behaviour  mapping address-and-port-dependent, filtering address-and-port-dependent
           endpoint-dependent mapping: direct connections need the other side to be reachable; a relay will be needed otherwise
direct     public and mapped peers, and peers whose NAT filters by address only or not at all; not peers behind most home routers or symmetric NATs: they need a relay"
nt_pass "hostA moved behind natC: checked again after the network change, reflexive 203.0.113.30:$port, endpoint-dependent mapping"

# --- coturn stopped: netcheck says so
turn_stop
out=$(at_cli hostA netcheck)
expect_tail "hostA netcheck, coturn stopped" "$out" \
	"stun       198.51.100.53:3478: did not answer over UDP (UDP blocked, or the server is down): no reflexive address"
at_cli hostA netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert n["stun"] == "no-answer" and "reflexive" not in n and "nat_mapping" not in n, n' ||
	nt_fail "hostA netcheck --json, coturn stopped: $(at_cli hostA netcheck --json)"
nt_pass "coturn stopped: netcheck says the STUN server did not answer over UDP"
