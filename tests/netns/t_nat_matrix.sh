#!/bin/sh
# Issues 11 and 12: the NAT matrix. hostA ("laptopN") and hostB
# ("desktopN"), signed in to one account, each behind every kind of network
# of docs/paths.md §6 that has no port-mapping service (no gwd, no
# miniupnpd):
#   home   plain masquerade: endpoint-independent mapping, address-and-port-
#          dependent filtering (the common home router)
#   nomap  the same router refusing NAT-PMP, PCP, UPnP and RSIP
#   sym    masquerade with a random port per flow: endpoint-dependent mapping
#   cgnat  a home router behind a carrier-grade NAT (two EIM layers)
#   v6     "IPv6 firewall only": a global IPv6 address behind the router's
#          stateful filter (no NAT), IPv4 behind its plain masquerade
#   udpblk home, the host dropping every outbound UDP datagram but DNS to
#          the rendezvous server
# and the same-LAN pair. coturn runs beside the rendezvous server as the
# account's STUN server and TURN relay with the settings of docs/relay.md
# (use-auth-secret; dnsd --turn-secret-file hands out credentials and names
# it in _turn._udp.D and _turns._tcp.D); the agents run with relay = auto.
# Cells are unordered pairs of the IPv4 kinds (10), the same LAN, v6 x v6,
# home x v6 and udpblk x home: hostA always sends the first packet, and
# which end starts IKE is decided by the ULAs (docs/paths.md §5).
#
# For every cell: whether the hosts connected, the path class and outer
# endpoint from `autotunnel status --json`, and the time from hostA's first
# datagram to hostB's ULA to the first echo back (the tunnel is made on
# demand by that datagram: STUN and the relay allocation are done, nothing
# else). A table at the end. Every cell must connect; what is checked, from
# docs/paths.md §7:
#   punched, lan, ipv6  over a direct path of that class in both ends' status
#   predict  (EIM/APDF x EDM) the port-prediction round: punched on both
#            ends. The relayed pair is nominated 2 s into a round when the
#            prediction has not hit yet (§9.8), and the background rounds
#            must then move the tunnel to the punched path within
#            UPGRADE_S; the round hits ~98 % of the time, so a cell that
#            stays relayed gets one more try (a fresh cell) before the test
#            fails. The table says which happened.
#   relay    (EDM x EDM, UDP blocked) through coturn: class relay on both
#            ends; the UDP-blocked side's relay line says tls.
# The world (inet, rv, dnsd, coturn) is made once; each cell's routers and
# hosts are made anew (empty connection tables, addresses of their own) and
# its agents started with new host names and signed in afresh.
# MATRIX_CELLS="home:sym lan" runs only the cells named (A:B kinds, or lan).
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/matrix_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }

# cell: A-kind:B-kind and what docs/paths.md §7 says of it
CELLS="home:home:punched home:nomap:punched home:sym:predict home:cgnat:punched
nomap:nomap:punched nomap:sym:predict nomap:cgnat:punched
sym:sym:relay sym:cgnat:predict
cgnat:cgnat:punched lan:lan:lan
v6:v6:ipv6 home:v6:punched
udpblk:home:relay"
WAIT_S=12	# first packet to first reply, at most (the relay is nominated 2 s into a round, TLS allocation included before)
UPGRADE_S=25	# a prediction cell that starts relayed: how long the background rounds (2, 2, 4, 8 s apart) get to go direct
T_START=$(at_now_ms)

mx_world relay
TABLE=""
FAILS=""
NOTES=""
n=0
for cell in $CELLS; do
	ka=${cell%%:*} rest=${cell#*:}
	kb=${rest%%:*} want=${rest#*:}
	if [ -n "${MATRIX_CELLS:-}" ]; then
		case " $MATRIX_CELLS " in *" $ka:$kb "* | *" $ka "*) ;; *) continue ;; esac
	fi
	n=$((n + 1))
	tries=1
	[ "$want" = predict ] && tries=2
	while :; do
		if [ "$ka" = lan ]; then
			mx_same_lan
		else
			mx_side A "$ka"
			mx_side B "$kb"
		fi
		mx_agents
		mx_first_reply "$WAIT_S"
		if [ -n "$MX_MS" ]; then
			set -- $(mx_path_wait hostA "$MX_LB" 5)
			path=$1 outer=$2 state=$3
			set -- $(mx_path_wait hostB "$MX_LA" 5)
			pathb=$1
			result="connected"
			ms="$MX_MS ms"
		else
			set -- $(mx_path hostA "$MX_LB")
			path=$1 outer=$2 state=$3
			set -- $(mx_path hostB "$MX_LA")
			pathb=$1
			result="no reply"
			ms="-"
		fi
		nt_log "cell $ka x $kb: STUN sees $MX_NAT_A and $MX_NAT_B; $result, path $path (hostB's: $pathb) $outer, state $state, first reply $ms (expected: $want)"
		verdict=ok
		how=""
		case $want in
		punched | lan | ipv6)
			[ -n "$MX_MS" ] && [ "$path" = "$want" ] && [ "$pathb" = "$want" ] || verdict=FAIL ;;
		predict)
			# docs/paths.md §9.8: the relayed pair is nominated 2 s into the
			# round when the prediction has not hit yet; the background
			# rounds must then move the tunnel to a direct path
			if [ -z "$MX_MS" ]; then
				verdict=FAIL
			elif [ "$path" = punched ] && [ "$pathb" = punched ]; then
				how="direct at once"
			elif [ "$path" = relay ]; then
				t_up=$(at_now_ms)
				while [ $(( $(at_now_ms) - t_up )) -lt $((UPGRADE_S * 1000)) ]; do
					set -- $(mx_path hostA "$MX_LB")
					[ "$1" = punched ] && break
					sleep 0.5
				done
				set -- $(mx_path hostA "$MX_LB")
				path=$1 outer=$2 state=$3
				set -- $(mx_path_wait hostB "$MX_LA" 5)
				pathb=$1
				if [ "$path" = punched ] && [ "$pathb" = punched ]; then
					how="relayed first, direct $(( ($(at_now_ms) - t_up) / 1000 )) s later"
				else
					how="relayed, never direct within ${UPGRADE_S} s"
					verdict=FAIL
				fi
			else
				verdict="FAIL (path '$path', hostB's '$pathb')"
			fi
			nt_log "cell $ka x $kb: prediction: ${how:-no reply}" ;;
		relay)
			if [ -z "$MX_MS" ]; then
				verdict=FAIL
			elif [ "$path" = relay ] && [ "$pathb" = relay ]; then
				:
			elif [ "$path" = punched ] && [ "$pathb" = punched ] && [ "$ka" = sym ]; then
				how="random ports met"
				nt_log "cell $ka x $kb: connected over a punched path, which docs/paths.md §7 does not expect"
			else
				verdict="FAIL (path '$path', hostB's '$pathb')"
			fi
			# the UDP-blocked side reaches its relay over TLS (docs/relay.md)
			if [ "$ka" = udpblk ]; then
				tr=$(at_cli hostA status | sed -n 's/^relay    via [^ ]* (\([a-z]*\)).*/\1/p')
				how="relay over ${tr:-?}"
				[ "$tr" = tls ] || verdict="FAIL (relay transport '${tr:-none}')"
			fi ;;
		esac
		mx_cell_end "cell$n-$ka-$kb"
		tries=$((tries - 1))
		case $verdict in FAIL*) [ "$tries" -gt 0 ] || break ;; *) break ;; esac
		nt_log "cell $ka x $kb: not direct ($how); the documented second try"
		NOTES="$NOTES $ka:$kb(second try)"
	done
	[ -z "$how" ] || result="$result ($how)"
	TABLE="$TABLE$(printf '%-6s %-6s %-15s %-8s %-46s %-8s %-26s %-6s %-11s %s' "$ka" "$kb" "$MX_NAT_A:$MX_NAT_B" "$want" "$result" "$path" "$outer" "$state" "$ms" "$verdict")
"
	case $verdict in FAIL*) FAILS="$FAILS $ka:$kb" ;; esac
done

echo
echo "NAT matrix (hostA sends first; path, outer endpoint and state as hostA's status --json gives them):"
printf '%-6s %-6s %-15s %-8s %-46s %-8s %-26s %-6s %-11s %s\n' A B "STUN A:B" expected result path "outer endpoint" state "first reply" check
printf '%s' "$TABLE"
echo "($n cells in $(( ($(at_now_ms) - T_START) / 1000 )) s)"
[ -z "$FAILS" ] || nt_fail "cells that did not connect as docs/paths.md §7 expects:$FAILS"
[ -z "$NOTES" ] || nt_log "cells that needed the second try:$NOTES"
nt_pass "every cell connected: directly where docs/paths.md §7 allows (punched, lan, ipv6; prediction cells punched), through the relay otherwise"
