# tests/netns/punch_lib.sh: hole punching helpers (issue 11, docs/paths.md),
# reusable by the NAT-matrix and roaming tests. Source it after lib.sh,
# agent_lib.sh and turn_lib.sh.

PUNCH_PASS='correct horse battery'

# punch_router NAT...: each NAT drops what is new from the WAN to itself, as a
# home router's input firewall does (nt_nat_input; docs/paths.md §6).
punch_router() {
	local n
	for n in "$@"; do nt_nat_input "$n"; done
}

# punch_bed: coturn on rv (198.51.100.53 and .54: RFC 5780) as the
# account's STUN server (dnsd --stun-server), dnsd, and the account alice.
punch_bed() {
	nt_addr rv eth0 198.51.100.54/24
	turn_start rv "$(head -c 24 /dev/urandom | base64)" "$AT_ZONE" 198.51.100.53 198.51.100.54
	at_dnsd --stun-server 198.51.100.53
	at_account alice "$PUNCH_PASS"
}

# punch_host HOST LABEL [INI lines]: the agent on HOST (no port mapping
# asked: no gwd, no miniupnpd in these beds), signed in to alice, with its
# reflexive address found (its candidates are then published).
punch_host() {
	local h=$1 label=$2; shift 2
	at_agent_start "$h" "$label" "no-portmap = yes" "$@"
	at_login "$h" alice "$PUNCH_PASS" >/dev/null || nt_fail "$h: login failed"
	at_log_wait "$h" 'reflexive address ' 20 || nt_fail "$h found no reflexive address: $(cat "$NT_DIR/agent-$h.log")"
}

# punch_ping_ms FROM ULA: ping6 through the tunnel made on demand, one echo
# request every 20 ms until the first reply; prints the milliseconds from
# the first packet to the first reply, fails after 10 s.
punch_ping_ms() {
	local t0
	t0=$(at_now_ms)
	nt_exec "$1" ping -6 -n -q -c 1 -i 0.02 -w 10 "$2" >/dev/null 2>&1 || return 1
	echo $(( $(at_now_ms) - t0 ))
}
