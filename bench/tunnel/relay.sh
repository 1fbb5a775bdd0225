#!/bin/sh
# bench/tunnel/relay.sh: the relayed path (issue 12, docs/relay.md) against
# the direct path in the same run. Two account-mode agents on public
# addresses of the simulated Internet (pub 198.51.100.7, hostQ
# 198.51.100.9), autotunnel-dnsd and coturn in rv, three runs:
#   direct     relay = never: ESP in UDP straight between the hosts
#   relay_udp  relay = always: both allocate on coturn over UDP, relay to relay
#   relay_tls  relay = always, outbound UDP dropped on pub but DNS: pub's
#              side goes to coturn over TLS (5349), hostQ's over UDP
# Each: iperf3 TCP, 1 stream each way (-t BENCH_SECONDS), ping RTT, and
# coturn's CPU while iperf3 runs (%core, and %core per Gbit/s relayed).
# Output: bench/lib.sh lines; ratios of each relayed figure to the direct one.
set -eu
AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT_BUILD=${AT_BUILD:-$AT_SRC/build-bench}
. "$AT_SRC/bench/lib.sh"
. "$AT_SRC/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
set +e	# a failed run is reported, not fatal to the rest
T=${BENCH_SECONDS:-5}
[ -x "$AT_AGENTD" ] && [ -x "$AT_DNSD" ] || { echo "bench/tunnel/relay: build first (bench/run.sh)"; exit 1; }
[ -x "$TURN_BIN" ] || { echo "bench/tunnel/relay: coturn (turnserver) is not installed; skipped"; exit 0; }

nt_topology
nt_addr rv eth0 198.51.100.54/24
nt_add_ns hostQ
nt_attach_inet hostQ eth0 198.51.100.9 198.51.100.1
SECRET=$(head -c 24 /dev/urandom | base64)
(umask 077; printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --turn-secret-file "$NT_DIR/turn.secret" \
	--turn-credential-ttl 3600
at_account alice 'correct horse battery'
nt_bg hostQ iperf iperf3 -s -p 5201
nt_wait 5 nt_exec hostQ sh -c 'ss -ltn | grep -q ":5201 "' || echo "bench: iperf3 server did not start"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# iperf NAME ULA [args]: Gbit/s received, and coturn's CPU meanwhile
iperf() {
	local name=$1 dst=$2 out gb c0 c1 hz cpu
	shift 2
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$TURN_PID")
	out=$(timeout $((T + 15)) ip netns exec "$(nt_ns pub)" iperf3 -c "$dst" -p 5201 -t "$T" -J "$@" 2>/dev/null)
	c1=$(cpu_ticks "$TURN_PID")
	gb=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys
try: print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("0")')
	cpu=$(( (c1 - c0) * 100 / hz / T ))
	bench_result "$name" "$gb" Gbit/s
	bench_result "$name.coturn_cpu" "$cpu" "%core"
	bench_result "$name.coturn_cpu_per_gbit" \
		"$(awk -v c="$cpu" -v g="$gb" 'BEGIN { if (g > 0) printf "%.1f", c / g; else print 0 }')" "%core/(Gbit/s)"
	eval "R_$(echo "$name" | tr '.-' '__')=$gb"
}

# run TAG MODE [block]: both agents with relay = MODE (pub's outbound UDP dropped but DNS with block)
run() {
	local tag=$1 mode=$2 block=${3:-} uq i v first=""
	[ -f "$NT_DIR/pub/state/account" ] || first=1
	if [ -n "$block" ]; then
		nt_exec pub nft -f - <<'NFT'
table inet udpblock {
	chain out {
		type filter hook output priority filter; policy accept;
		udp dport != 53 drop
	}
}
NFT
	fi
	at_agent_start pub laptop "relay = $mode"
	at_agent_start hostQ desktop "relay = $mode"
	if [ -n "$first" ]; then
		at_login pub alice 'correct horse battery' >/dev/null || echo "bench: pub: login failed"
		at_login hostQ alice 'correct horse battery' >/dev/null || echo "bench: hostQ: login failed"
	fi
	uq=$(at_ula hostQ)
	if [ "$mode" = always ]; then
		nt_wait 20 grep -q "relay: laptop at .* is reached through" "$NT_DIR/agent-hostQ.log" ||
			echo "bench: $tag: hostQ did not bind laptop's relayed address"
	fi
	for i in $(seq 40); do
		nt_exec pub ping -6 -c 1 -W 1 "$uq" >/dev/null 2>&1 && break
	done
	grep -h "relay: allocated" "$NT_DIR/agent-pub.log" | tail -1
	iperf "tunnel.relay.$tag.tcp1" "$uq"
	iperf "tunnel.relay.$tag.tcp1_rev" "$uq" -R
	v=$(nt_exec pub ping -6 -c 20 -i 0.05 -W 1 "$uq" 2>/dev/null | awk -F/ '/^rtt/ {print $5}')
	bench_result "tunnel.relay.$tag.rtt" "${v:-0}" ms
	eval "RTT_$tag=${v:-0}"
	at_agent_stop pub
	at_agent_stop hostQ
	[ -z "$block" ] || nt_exec pub nft delete table inet udpblock
}

run direct never
run relay_udp always
run relay_tls always block
for k in tcp1 tcp1_rev; do
	eval "d=\${R_tunnel_relay_direct_$k:-0} u=\${R_tunnel_relay_relay_udp_$k:-0} t=\${R_tunnel_relay_relay_tls_$k:-0}"
	bench_ratio "tunnel.relay.udp.$k.vs_direct" "$u" "$d" Gbit/s direct
	bench_ratio "tunnel.relay.tls.$k.vs_direct" "$t" "$d" Gbit/s direct
done
bench_ratio tunnel.relay.udp.rtt.vs_direct "${RTT_relay_udp:-0}" "${RTT_direct:-0}" ms direct
bench_ratio tunnel.relay.tls.rtt.vs_direct "${RTT_relay_tls:-0}" "${RTT_direct:-0}" ms direct
