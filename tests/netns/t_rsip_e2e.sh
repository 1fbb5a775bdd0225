#!/bin/sh
# RFC 3104 Appendix F, the SOHO scenario, end to end: two RSIP clients X1
# and X2 (autotunneld with [rsip]) behind one gateway N (autotunnel-gwd,
# RSIP on) share N's single public address Nb, and each holds an IKEv2 SA
# and a native-ESP child SA with a legacy peer Y that knows nothing of
# RSIP, at the same time.
#
#   [pub] Y 198.51.100.7 ── [inet] ── wan0 203.0.113.10 = Nb [natA] lan0 (bridge) 192.168.1.1 = Na
#                                          ├── [x1] X1 192.168.1.2, ULA fd00:1::1
#                                          └── [x2] X2 192.168.1.3, ULA fd00:2::1
#
# Y is our own autotunneld with no RSIP in it: static peers x1 and x2
# (identities only, no address: it answers whoever authenticates), IKE on
# UDP 500, native ESP (native-esp = yes). strongSwan cannot be Y here:
# Debian 12's 5.9.8 with kernel-libipsec (this kernel has no ESP) only
# sends ESP in UDP; raw ESP in kernel-libipsec came with 5.9.11.
#
# Checked: both clients borrow Nb, an IKE port and SPIs; both CHILD_SAs come
# up at once with the gateway's SPIs as the clients' inbound SPIs (Y sends
# to them); Y sees native ESP from Nb; pings and TCP transfers both ways,
# from X1 and X2 at the same time, each reaching the right client; ESP
# with an unknown SPI to Nb is dropped and counted by the gateway; X1's
# short lease is extended; after a gateway restart both clients borrow Nb
# again; when the clients exit they free their bindings and de-register;
# with RSIP off at the gateway a client falls back to ESP in UDP.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/rsip_lib.sh"
D=$AT_BUILD/src/autotunneld/autotunneld
[ -x "$GWD" ] || nt_fail "$GWD not built"
[ -x "$D" ] || nt_fail "$D not built"
command -v socat >/dev/null || nt_fail "socat is needed"

rsip_topology

in_log() {	# in_log NAME PATTERN [SECONDS]
	nt_wait "${3:-10}" grep -q "$2" "$NT_DIR/$1.log"
}

# ---- the gateway N ----
nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --log-level debug --rsip-lease-min 2
GWD_PID=$NT_LAST_PID
in_status "^rsip: public address $NB" || nt_fail "gwd did not start lending $NB: $(status 2>&1)"

# ---- Y: a legacy IKEv2/ESP node, no RSIP; it knows x1 and x2 by identity only ----
openssl rand -hex 32 >"$NT_DIR/psk1"
openssl rand -hex 32 >"$NT_DIR/psk2"
cat >"$NT_DIR/y.conf" <<EOF
[tunnel]
ula = fd00:9::1
local-id = y.example.net
native-esp = yes
workers = 2

[peer x1]
remote-id = x1.example.net
psk-file = $NT_DIR/psk1
remote-ts = fd00:1::1/128
connect = no

[peer x2]
remote-id = x2.example.net
psk-file = $NT_DIR/psk2
remote-ts = fd00:2::1/128
connect = no
EOF
nt_bg pub y "$D" -c "$NT_DIR/y.conf" --log-level debug
PID_Y=$NT_LAST_PID
in_log y "^autotunneld: up:" 5 || nt_fail "Y did not come up: $(cat "$NT_DIR/y.log")"

# ---- X1 and X2: RSIP clients, started together ----
# X1 names its gateway and asks for a 4 s lease (so it must EXTEND during
# the test), and rekeys its child SA every 3 s (so it needs more of the
# lent SPIs); X2 finds the gateway as its default route (auto)
gw1="192.168.1.1
lease = 4" gw2=auto
rekey1="rekey = 3" rekey2=""
for i in 1 2; do
	eval "gw=\$gw$i rekey=\$rekey$i"
	cat >"$NT_DIR/x$i.conf" <<EOF
[tunnel]
ula = fd00:$i::1
local-id = x$i.example.net
workers = 2

[rsip]
gateway = $gw

[peer y]
remote = $Y:500
remote-id = y.example.net
psk-file = $NT_DIR/psk$i
remote-ts = fd00:9::1/128
$rekey
EOF
done
nt_bg x1 x1 "$D" -c "$NT_DIR/x1.conf" --log-level debug
PID_X1=$NT_LAST_PID
nt_bg x2 x2 "$D" -c "$NT_DIR/x2.conf" --log-level debug
PID_X2=$NT_LAST_PID

for i in 1 2; do
	in_log "x$i" "rsip: gateway 192.168.1.1 lent us $NB" ||
		nt_fail "X$i got no RSIP binding: $(cat "$NT_DIR/x$i.log")"
done
lent() {	# lent N FIELD: from X<N>'s "lent us" line
	sed -n "s/.*rsip: gateway 192.168.1.1 lent us $NB: IKE port \([0-9]*\), SPIs \([0-9a-fx,]*\), lease.*/\1 \2/p" \
		"$NT_DIR/x$1.log" | head -n 1 | cut -d' ' -f"$2"
}
port1=$(lent 1 1) spis1=$(lent 1 2) port2=$(lent 2 1) spis2=$(lent 2 2)
[ -n "$port1" ] && [ -n "$port2" ] && [ "$port1" != "$port2" ] || nt_fail "IKE ports: X1 '$port1', X2 '$port2'"
# the gateway's view of the same bindings
b1=$(status_line "rsip binding" | grep "client 192.168.1.2:")
b2=$(status_line "rsip binding" | grep "client 192.168.1.3:")
case $b1 in *" RSIPSEC spi $spis1 ports $port1 expires in "*) ;; *) nt_fail "gwd's binding for X1: '$b1', X1 says $spis1 $port1" ;; esac
case $b2 in *" RSIPSEC spi $spis2 ports $port2 expires in "*) ;; *) nt_fail "gwd's binding for X2: '$b2', X2 says $spis2 $port2" ;; esac
nt_pass "X1 and X2 borrowed $NB from N: X1 IKE port $port1, SPIs $spis1; X2 port $port2, SPIs $spis2"

# ---- both CHILD_SAs up at once, with the gateway's SPIs ----
for i in 1 2; do
	in_log "x$i" "peer y: child SA up" 15 || nt_fail "X$i: no child SA with Y: $(tail -n 20 "$NT_DIR/x$i.log")"
	in_log y "peer x$i: child SA up" 5 || nt_fail "Y: no child SA with x$i"
done
child() {	# child LOG PEER FIELD(in|out): the SPI of the first child SA
	sed -n "s/.*peer $2: child SA up, [a-z0-9]*, spi in \(0x[0-9a-f]*\) out \(0x[0-9a-f]*\).*/\1 \2/p" \
		"$NT_DIR/$1.log" | head -n 1 | cut -d' ' -f"$3"
}
for i in 1 2; do
	eval "spis=\$spis$i"
	in=$(child "x$i" y 1)
	case ",$spis," in *",$in,"*) ;; *) nt_fail "X$i's inbound SPI $in is not one the gateway lent ($spis)" ;; esac
	expect "Y's outbound SPI to x$i" "$(child y "x$i" 2)" "$in"
	grep -q "peer y: child SA up, .*via $Y:500, native ESP through the RSIP gateway" "$NT_DIR/x$i.log" ||
		nt_fail "X$i: not native ESP through RSIP: $(grep 'child SA up' "$NT_DIR/x$i.log")"
	grep -q "peer x$i: child SA up, .*via $NB:$(eval echo \$port$i), native ESP" "$NT_DIR/y.log" ||
		nt_fail "Y: x$i not native ESP from $NB: $(grep 'child SA up' "$NT_DIR/y.log")"
	eval "in$i=\$in"
done
grep -q "IKE SA up with x1.example.net at $NB:$port1" "$NT_DIR/y.log" || nt_fail "Y: IKE SA with x1 not from $NB:$port1"
grep -q "IKE SA up with x2.example.net at $NB:$port2" "$NT_DIR/y.log" || nt_fail "Y: IKE SA with x2 not from $NB:$port2"
nt_pass "both CHILD_SAs up, native ESP: X1 inbound SPI $in1 and X2 $in2, both lent by the gateway; Y knows both only at $NB"

# ---- traffic from both at the same time ----
nt_exec x1 ping -6 -c 4 -i 0.2 -W 3 fd00:9::1 >"$NT_DIR/ping1" 2>&1 &
P1=$!
nt_exec x2 ping -6 -c 4 -i 0.2 -W 3 fd00:9::1 >"$NT_DIR/ping2" 2>&1 &
P2=$!
wait $P1 || nt_fail "X1 cannot ping Y: $(cat "$NT_DIR/ping1")"
wait $P2 || nt_fail "X2 cannot ping Y: $(cat "$NT_DIR/ping2")"
grep -q "4 received" "$NT_DIR/ping1" && grep -q "4 received" "$NT_DIR/ping2" || nt_fail "pings lost"
nt_pass "X1 and X2 ping Y at the same time through their own SAs"

# uploads X -> Y to ports 5001 / 5002, downloads Y -> X from listeners on each client, all at once
for i in 1 2; do
	head -c 300000 /dev/urandom >"$NT_DIR/up$i"
	head -c 300000 /dev/urandom >"$NT_DIR/down$i"
	nt_bg pub "sinky$i" socat -u TCP6-LISTEN:500$i,bind=[fd00:9::1],reuseaddr OPEN:"$NT_DIR/up$i.recv",creat,trunc
	nt_bg "x$i" "sinkx$i" socat -u TCP6-LISTEN:600$i,bind=[fd00:$i::1],reuseaddr OPEN:"$NT_DIR/down$i.recv",creat,trunc
done
for i in 1 2; do
	nt_wait 5 nt_exec pub sh -c "ss -ltn | grep -q ':500$i '" || nt_fail "Y's listener $i did not start"
	nt_wait 5 nt_exec "x$i" sh -c "ss -ltn | grep -q ':600$i '" || nt_fail "X$i's listener did not start"
done
pids=""
for i in 1 2; do
	timeout 20 ip netns exec "$(nt_ns "x$i")" socat -u OPEN:"$NT_DIR/up$i" TCP6:[fd00:9::1]:500$i &
	pids="$pids $!"
	timeout 20 ip netns exec "$(nt_ns pub)" socat -u OPEN:"$NT_DIR/down$i" TCP6:[fd00:$i::1]:600$i &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || nt_fail "a TCP transfer failed"; done
for i in 1 2; do
	nt_wait 10 cmp -s "$NT_DIR/up$i" "$NT_DIR/up$i.recv" || nt_fail "Y received X$i's data wrong"
	nt_wait 10 cmp -s "$NT_DIR/down$i" "$NT_DIR/down$i.recv" || nt_fail "X$i received Y's data wrong"
done
# and each download went to its own client only: X1's ESP came in under X1's SPI
cmp -s "$NT_DIR/down1.recv" "$NT_DIR/down2" && nt_fail "X1 got X2's data"
inb=$(status_line "rsip inbound")
case $inb in "rsip inbound: "*", 0 without binding, 0 malformed, 0 ttl exceeded") ;; *) nt_fail "gwd inbound: $inb" ;; esac
hits=$(status_line "rsip demux" | sed -n 's/^rsip demux: esp\/ah \([0-9]*\) hits 0 misses.*/\1/p')
[ "${hits:-0}" -gt 400 ] || nt_fail "ESP demultiplexed by SPI: $(status_line 'rsip demux')"
# Y spoke native ESP only: not one ESP-in-UDP datagram sent or received
kill -USR1 "$PID_Y"
in_log y "stats: esp_rx=[1-9]" 5 || nt_fail "Y's stats"
grep "stats: esp_rx=" "$NT_DIR/y.log" | grep -q " udp_sends=0 udp_rx=0 " ||
	nt_fail "Y used ESP in UDP: $(grep 'stats:' "$NT_DIR/y.log")"
nt_pass "300 KB each way between Y and each of X1 and X2, all four at once, each to the right end; $hits ESP packets to $NB demultiplexed by SPI, all native ESP"

# ---- ESP with an SPI nobody holds, to Nb: dropped and counted ----
miss0=$(status_line "rsip demux" | sed -n 's/^rsip demux: esp\/ah [0-9]* hits \([0-9]*\) misses.*/\1/p')
nt_exec pub /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
# SPI 0x00099999, sequence 1, then an IV and a payload no SA can open
s.sendto(bytes.fromhex("00099999" "00000001") + bytes(40), (sys.argv[1], 0))
' $NB
in_status "^rsip inbound: .*, 1 without binding, 0 malformed" ||
	nt_fail "the unknown SPI was not counted: $(status_line 'rsip inbound')"
expect "demux misses" "$(status_line "rsip demux" | sed -n 's/^rsip demux: esp\/ah [0-9]* hits \([0-9]*\) misses.*/\1/p')" \
	"$((miss0 + 1))"
nt_pass "ESP to $NB with unknown SPI 0x00099999 dropped and counted: $(status_line 'rsip inbound')"

# ---- X1's 4 s lease has been extended (at half the lease), never lapsed ----
in_log x1 "rsip: binding 0x[0-9a-f]* extended, lease 4 s" 6 || nt_fail "X1 did not EXTEND its binding"
status_line "rsip binding" | grep "client 192.168.1.2:" | grep -q "expires in [1-4] s" ||
	nt_fail "X1's binding: $(status_line 'rsip binding')"
nt_pass "X1 extended its 4 s binding before it lapsed"

# ---- X1's rekeyed child SAs also take their inbound SPIs from the lent ones ----
in_log x1 "peer y: child SA up, .*(rekeyed)" 6 || nt_fail "X1 did not rekey"
for in in $(sed -n 's/.*peer y: child SA up, [a-z0-9]*, spi in \(0x[0-9a-f]*\) .*(rekeyed)$/\1/p' "$NT_DIR/x1.log"); do
	case ",$spis1," in *",$in,"*) ;; *) nt_fail "X1's rekeyed SA has inbound SPI $in, not one of $spis1" ;; esac
done
nt_exec x1 ping -6 -c 2 -i 0.2 -W 3 fd00:9::1 >/dev/null || nt_fail "X1 cannot ping Y after its rekeys"
nt_pass "X1's child SA rekeys ($(grep -c "(rekeyed)$" "$NT_DIR/x1.log") so far) each took an SPI the gateway lent ($spis1)"

# ---- the gateway restarts: every binding is gone; the clients get new ones and their tunnels come back ----
nt_stop "$GWD_PID"
nt_bg natA gwd2 "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --log-level debug --rsip-lease-min 2
GWD_PID=$NT_LAST_PID
for i in 1 2; do
	in_log "x$i" "rsip: gateway 192.168.1.1: connection closed; peers use the ordinary path" 5 ||
		nt_fail "X$i did not notice the restart"
	nt_wait 15 sh -c '[ "$(grep -c "child SA up, .*native ESP through the RSIP gateway" "$0")" -ge 2 ]' \
		"$NT_DIR/x$i.log" || nt_fail "X$i: no tunnel through RSIP after the restart: $(grep -v debug "$NT_DIR/x$i.log")"
	nt_exec "x$i" ping -6 -c 2 -i 0.2 -W 3 fd00:9::1 >/dev/null || nt_fail "X$i cannot ping Y after the restart"
done
in_status "^rsip: public address $NB, 2 clients, 2 bindings" || nt_fail "after the restart: $(status)"
nt_pass "gwd restarted: X1 and X2 went the ordinary way for a moment, then borrowed $NB again"

# ---- the clients leave: bindings freed, registrations gone ----
downs() { grep -c "peer x$1: IKE SA down: deleted by peer" "$NT_DIR/y.log" || true; }
down1=$(downs 1) down2=$(downs 2)
nt_stop "$PID_X1"
nt_stop "$PID_X2"
for i in 1 2; do
	grep -q "rsip: binding 0x[0-9a-f]* freed" "$NT_DIR/x$i.log" || nt_fail "X$i did not free its binding: $(tail -n 5 "$NT_DIR/x$i.log")"
	grep -q "rsip: de-registered from gateway 192.168.1.1" "$NT_DIR/x$i.log" || nt_fail "X$i did not de-register"
	eval "d=\$down$i"
	nt_wait 5 sh -c '[ "$(grep -c "peer x$1: IKE SA down: deleted by peer" "$2")" -gt "$3" ]' sh "$i" "$NT_DIR/y.log" "$d" ||
		nt_fail "Y was not told x$i left"
done
in_status "^rsip: public address $NB, 0 clients, 0 bindings" || nt_fail "bindings left: $(status)"
status_line "rsip server" | grep -q ", 2 bindings granted, 2 freed, 0 expired\$" ||
	nt_fail "gwd counts: $(status_line 'rsip server')"
nt_pass "X1 and X2 exited: FREE and DE-REGISTER sent, gwd holds no binding; Y's tunnels went down"

# ---- no RSIP server: the agent falls back to ESP in UDP through the NAT ----
nt_stop "$GWD_PID"
nt_bg natA gwd3 "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --no-rsip
in_status "^rsip: off" || nt_fail "gwd --no-rsip did not start"
nt_bg x1 x1b "$D" -c "$NT_DIR/x1.conf"
in_log x1b "rsip: gateway 192.168.1.1: connection failed; peers use the ordinary path for now" 5 ||
	nt_fail "X1 did not fall back: $(cat "$NT_DIR/x1b.log")"
in_log x1b "peer y: child SA up, .*via $Y:4500\$" 10 || nt_fail "X1: no UDP-encapsulated SA: $(cat "$NT_DIR/x1b.log")"
nt_exec x1 ping -6 -c 2 -i 0.2 -W 3 fd00:9::1 >/dev/null || nt_fail "X1 cannot ping Y without RSIP"
nt_pass "without an RSIP server X1 reaches Y the ordinary way (ESP in UDP through N's NAT)"
