#!/bin/sh
# Issue 6 (6): what the agent says about the network it is on, through
# `autotunnel netcheck` and `autotunnel status` (text and --json), on four
# networks of the bed:
#   hostA behind natA running autotunnel-gwd: NAT, PCP mapping 203.0.113.10:4500;
#   hostB behind natB with no port-mapping gateway at all: NAT, no mapping,
#         "peers reach this host by hole punching" (issue 11);
#   hostC behind natC (gwd) whose WAN is itself behind another NAT (cgn):
#         double NAT, reached by hole punching;
#   pub   with a public address: no NAT, nothing to map.
# No account is needed for any of this.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_GWD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-gwd first"
nt_topology

# the double NAT: cgn (203.0.113.30) -> natC (WAN 192.168.100.2) -> hostC (192.168.3.2)
for h in cgn natC hostC; do nt_add_ns "$h"; done
nt_attach_inet cgn wan0 203.0.113.30 203.0.113.1
nt_link cgn lan0 natC wan0
ip -n "$(nt_ns cgn)" addr add 192.168.100.1/24 dev lan0
ip -n "$(nt_ns natC)" addr add 192.168.100.2/24 dev wan0
ip -n "$(nt_ns natC)" route add default via 192.168.100.1
nt_lan natC hostC 3
nt_nat_rules cgn
nt_nat_rules natC

nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_bg natC gwdC "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdC"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
nt_wait 5 test -S "$NT_DIR/gwdC/control" || nt_fail "gwd on natC did not start"

at_agent_start hostA laptop
at_agent_start hostB desktop
at_agent_start hostC nas
at_agent_start pub server

# wait until each has made up its mind about its network (the mapping line settles)
settled() { at_cli "$1" netcheck | grep -q '^mapping    \(PCP\|NAT-PMP\|UPnP\|none\|not needed\)'; }
for h in hostA hostB hostC pub; do
	nt_wait 15 settled "$h" || nt_fail "$h: netcheck did not settle: $(at_cli "$h" netcheck)"
done

mac() { nt_exec "$1" cat "/sys/class/net/$2/address"; }
ula() { sed -n 's/^ula //p' "$NT_DIR/$1/run/identity"; }
# expect NAME WANTED (a whole output, lines may be regular expressions anchored by grep -x)
expect_lines() {
	local name=$1 got=$2 want=$3 n_got n_want
	n_got=$(printf '%s\n' "$got" | wc -l)
	n_want=$(printf '%s\n' "$want" | wc -l)
	[ "$n_got" = "$n_want" ] || nt_fail "$name: $n_got lines, wanted $n_want:
$got"
	printf '%s\n' "$want" | while IFS= read -r w; do
		printf '%s\n' "$got" | grep -qx -- "$w" || { printf '%s: no line matches "%s" in:\n%s\n' "$name" "$w" "$got" >&2; exit 1; }
	done || nt_fail "$name"
}

# --- hostA: NAT with PCP
out=$(at_cli hostA netcheck)
expect_lines "hostA netcheck" "$out" "primary    192.168.1.2 on eth0 ($(mac hostA eth0)), gateway 192.168.1.1
nat        yes
mapping    PCP: 203.0.113.10:4500 for 7[0-9][0-9][0-9] s
server     none (not signed in)"
nt_pass "hostA netcheck: NAT, PCP mapping 203.0.113.10:4500"
out=$(at_cli hostA status)
expect_lines "hostA status" "$out" "account  none (sign in with: autotunnel login ACCOUNT --server HOST)
this     laptop   $(ula hostA)   behind NAT 203.0.113.10:4500 via PCP"
nt_pass "hostA status: $(echo "$out" | tail -1)"

# --- hostB: NAT, nothing answers PCP, NAT-PMP or UPnP
out=$(at_cli hostB netcheck)
expect_lines "hostB netcheck" "$out" "primary    192.168.2.2 on eth0 ($(mac hostB eth0)), gateway 192.168.2.1
nat        yes
mapping    none: PCP, NAT-PMP and UPnP did not answer; peers reach this host by hole punching
server     none (not signed in)
note       no port mapping on this network: PCP, NAT-PMP and UPnP did not answer; peers reach this host by hole punching"
out=$(at_cli hostB status)
expect_lines "hostB status" "$out" "account  none (sign in with: autotunnel login ACCOUNT --server HOST)
this     desktop  $(ula hostB)   behind NAT, no port mapping: reachable by hole punching"
grep -q "autotunneld: no port mapping on this network: PCP, NAT-PMP and UPnP did not answer; peers reach this host by hole punching" \
	"$NT_DIR/agent-hostB.log" || nt_fail "hostB's log does not say there is no mapping"
nt_pass "hostB: no mapping, reachable by hole punching (netcheck, status and log)"

# --- hostC: double NAT
out=$(at_cli hostC netcheck)
expect_lines "hostC netcheck" "$out" "primary    192.168.3.2 on eth0 ($(mac hostC eth0)), gateway 192.168.3.1
nat        double NAT (a NAT behind a NAT): peers reach this host by hole punching
mapping    PCP: 192.168.100.2:4500 for 7[0-9][0-9][0-9] s
server     none (not signed in)
note       double NAT: the gateway maps us to 192.168.100.2, which is itself a private address, so another NAT is upstream; peers reach this host by hole punching"
out=$(at_cli hostC status)
expect_lines "hostC status" "$out" "account  none (sign in with: autotunnel login ACCOUNT --server HOST)
this     nas      $(ula hostC)   behind two NATs (double NAT): reachable by hole punching"
grep -q "autotunneld: double NAT: the gateway maps us to 192.168.100.2" "$NT_DIR/agent-hostC.log" ||
	nt_fail "hostC's log does not say double NAT"
nt_pass "hostC: double NAT, reached by hole punching"

# --- pub: a public address
out=$(at_cli pub netcheck)
expect_lines "pub netcheck" "$out" "primary    198.51.100.7 on eth0 ($(mac pub eth0)), gateway 198.51.100.1
nat        no (public address)
mapping    not needed (public address 198.51.100.7:4500)
server     none (not signed in)"
out=$(at_cli pub status)
expect_lines "pub status" "$out" "account  none (sign in with: autotunnel login ACCOUNT --server HOST)
this     server   $(ula pub)   public address 198.51.100.7:4500"
nt_pass "pub: public address, nothing to map"

# --- the same in JSON, for scripts
at_cli hostC netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert n["nat"] == "double" and n["mapping"] == "pcp" and n["external"] == "192.168.100.2", n
assert n["address"] == "192.168.3.2" and n["gateway"] == "192.168.3.1" and n["port"] == 4500, n
assert "double NAT" in n["detail"], n' || nt_fail "hostC netcheck --json: $(at_cli hostC netcheck --json)"
at_cli hostB status --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["account"] == {"signed_in": False}, s
assert s["self"]["nat"] == "nat" and s["self"]["mapping"] == "none" and "external" not in s["self"], s
assert s["self"]["label"] == "desktop", s' || nt_fail "hostB status --json: $(at_cli hostB status --json)"
nt_pass "netcheck and status in JSON"

# --- the identity: a ULA made from the primary MAC (RFC 6281 §6.3), kept across a restart
u=$(ula hostA)
case "$u" in fd*) ;; *) nt_fail "hostA's ULA $u is not in fd00::/8" ;; esac
nt_exec hostA ip -6 addr show dev autotun0 | grep -q "inet6 $u/128" || nt_fail "the ULA is not on autotun0"
at_agent_stop hostA
at_agent_start hostA laptop
[ "$(ula hostA)" = "$u" ] || nt_fail "the ULA changed across a restart of the agent: $u -> $(ula hostA)"
grep -q "identity: this host is $u for this boot (kept in" "$NT_DIR/agent-hostA.log" || nt_fail "the restart did not keep the identity"
nt_pass "identity $u on autotun0, kept for the boot across a restart"

# --- signed in: is the rendezvous server reachable over TLS?
at_dnsd
at_account alice 'correct horse battery'
at_login hostA alice 'correct horse battery' >/dev/null || nt_fail "hostA: login failed"
at_login hostC alice 'correct horse battery' >/dev/null || nt_fail "hostC: login failed"
out=$(at_cli hostA netcheck | grep '^server')
[ "$out" = "server     198.51.100.53:853: reachable over TLS" ] || nt_fail "hostA netcheck server line: $out"
nt_pass "hostA: $out"
# double NAT still reaches the server (outbound works), and says what is missing
out=$(at_cli hostC netcheck)
echo "$out" | grep -qx "server     198.51.100.53:853: reachable over TLS" || nt_fail "hostC netcheck: $out"
out=$(at_cli hostC status)
echo "$out" | grep -qx "this     nas      $(ula hostC)   behind two NATs (double NAT): reachable by hole punching" ||
	nt_fail "hostC status when signed in: $out"
nt_pass "hostC signed in from behind a double NAT: server reachable, itself reachable by hole punching"
# the server goes away: said plainly, with the reason
nt_stop "$AT_DNSD_PID"
out=$(at_cli hostA netcheck | grep '^server')
echo "$out" | grep -q "^server     198.51.100.53:853: not reachable over TLS (.*)$" || nt_fail "with the server down: $out"
at_cli hostA netcheck --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["net"]
assert n["server"] == "198.51.100.53:853" and n["server_tls"] is False and n["server_error"], n' ||
	nt_fail "netcheck --json with the server down: $(at_cli hostA netcheck --json)"
nt_pass "server down: $out"
