#!/bin/sh
# autotunnel-gwd's RSIP server (RFC 3103 + RFC 3104) on the wire, in the
# SOHO scenario of RFC 3104 Appendix F: two RSIP clients X1 and X2 behind
# one gateway N (natA) share its public address Nb with a peer Y (pub)
# that knows nothing of RSIP.
#
#   [pub] Y 198.51.100.7 ── [inet] ── wan0 203.0.113.10 = Nb [natA] lan0 (bridge) 192.168.1.1
#                                          ├── [x1] X1 192.168.1.2
#                                          └── [x2] X2 192.168.1.3, X3 192.168.1.4
#
# X1 and X2 register over TCP 4555 and get Nb, an SPI and an IKE port each
# (rsip-test-client, on lib/rsip's client helper). Y sends crafted ESP
# packets to Nb: each client receives exactly its own, tunnelled IP in IP;
# an unknown SPI is dropped and counted, and the kernel answers nothing
# (no ICMP). IKE is demultiplexed by the ephemeral port and, on port 500,
# by initiator SPI (trial and error, a collision dropped). X1's tunnelled
# ESP leaves from Nb and reaches Y; a host without a binding cannot send
# from Nb. Errors 401, 402, 403 over the real protocol; lease expiry and a
# closed connection free SPIs; a new WAN address restarts the server; and
# --no-rsip. Real IKE/ESP between the clients and Y is not part of this
# test (it needs the agent's RSIP client).
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/rsip_lib.sh"
TOOL=$AT_BUILD/src/autotunnel-gwd/rsip-test-client
[ -x "$GWD" ] || nt_fail "$GWD not built"
[ -x "$TOOL" ] || nt_fail "$TOOL not built"

rsip_topology
# X3 shares x2's namespace
ip -n "$(nt_ns x2)" addr add 192.168.1.4/24 dev eth0

# ---- helpers ----
icmp_unreach() {
	nt_exec natA awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "OutDestUnreachs") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# start NAME HOST FD ARGS...: rsip-test-client reading commands from a FIFO on fd FD
start() {
	name=$1 host=$2 fd=$3
	shift 3
	mkfifo "$NT_DIR/$name.in"
	nt_bg "$host" "$name" sh -c 'exec "$@" <"$0"' "$NT_DIR/$name.in" "$TOOL" "$@"
	eval "exec $fd>\"\$NT_DIR/\$name.in\""
	nt_wait 5 grep -q '^ready$' "$NT_DIR/$name.log" || nt_fail "$name did not start: $(cat "$NT_DIR/$name.log")"
}
# ask NAME FD COMMAND...: print the one answer line to COMMAND
ask() {
	name=$1 fd=$2
	shift 2
	n=$(wc -l <"$NT_DIR/$name.log")
	echo "$*" >&"$fd"
	nt_wait 5 sh -c '[ "$(wc -l <"$0")" -gt "$1" ]' "$NT_DIR/$name.log" "$n" ||
		nt_fail "$name: no answer to '$*'"
	sed -n "$((n + 1))p" "$NT_DIR/$name.log"
}
# counts NAME FD: the packet counts, up to and without "rx end"
counts() {
	name=$1 fd=$2
	n=$(wc -l <"$NT_DIR/$name.log")
	echo counts >&"$fd"
	nt_wait 5 sh -c 'tail -n +"$(($1 + 1))" "$0" | grep -q "^rx end$"' "$NT_DIR/$name.log" "$n" ||
		nt_fail "$name: no counts"
	tail -n +"$((n + 1))" "$NT_DIR/$name.log" | sed '/^rx end$/,$d'
}
field() {	# field LINE KEY: the value of KEY=... in an answer
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---- the gateway ----
# X1 and X2 may use IPsec, X3 (192.168.1.4) may not; a pool of 4 SPIs
nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --log-level debug \
	--rsip-ipsec-allow 192.168.1.2,192.168.1.3 --rsip-spis 0x1000-0x1003 --rsip-lease-min 1
GWD_PID=$NT_LAST_PID
in_status "^rsip: public address $NB" ||
	nt_fail "gwd did not start lending $NB: $(status 2>&1)"
nt_pass "gwd lends $NB over RSIP on 192.168.1.1:4555"

start y pub 6 --peer
start x1 x1 3 --server 192.168.1.1 --bind 192.168.1.2
start x2 x2 4 --server 192.168.1.1 --bind 192.168.1.3
start x3 x2 5 --server 192.168.1.1 --bind 192.168.1.4 --nb $NB

# ---- register: RSIPSEC (3) among the methods, IP-IP (1) as the tunnel type ----
expect "X1 register" "$(ask x1 3 register)" "registered methods=2,3 tunnels=1"
expect "X2 register" "$(ask x2 4 register)" "registered methods=2,3 tunnels=1"
a1=$(ask x1 3 assign remote=$Y ports=1)
a2=$(ask x2 4 assign remote=$Y ports=1)
case $a1 in "assigned bind="*" nb=$NB spi=0x0000100"[0-3]" ports="*" lease=600 tunnel=192.168.1.1") ;;
*) nt_fail "X1 assign: $a1" ;; esac
case $a2 in "assigned bind="*" nb=$NB spi=0x0000100"[0-3]" ports="*" lease=600 tunnel=192.168.1.1") ;;
*) nt_fail "X2 assign: $a2" ;; esac
spi1=$(field "$a1" spi) spi2=$(field "$a2" spi)
port1=$(field "$a1" ports) port2=$(field "$a2" ports)
[ "$spi1" != "$spi2" ] || nt_fail "X1 and X2 got the same SPI $spi1"
[ "$port1" != "$port2" ] || nt_fail "X1 and X2 got the same port $port1"
status_line "rsip binding" | grep -q "client 192.168.1.2:[0-9]* RSIPSEC spi $spi1 ports $port1 expires in" ||
	nt_fail "status does not show X1's binding: $(status)"
nt_pass "X1 and X2 share Nb $NB: X1 has SPI $spi1 and IKE port $port1, X2 SPI $spi2 and port $port2"

# ---- ESP from Y, demultiplexed by SPI (RFC 3104 §5) ----
icmp0=$(icmp_unreach)
expect "Y sends to X1's SPI" "$(ask y 6 send-esp $NB "$spi1" 5)" "sent esp n=5"
expect "Y sends to X2's SPI" "$(ask y 6 send-esp $NB "$spi2" 3 1472)" "sent esp n=3"
expect "Y sends to an unknown SPI" "$(ask y 6 send-esp $NB 0x99999 2)" "sent esp n=2"
in_status "^rsip inbound: 10 packets" ||
	nt_fail "gwd did not see 10 ESP packets: $(status_line 'rsip inbound')"
expect "X1 received" "$(counts x1 3)" "rx esp spi=$spi1 n=5"
expect "X2 received" "$(counts x2 4)" "rx esp spi=$spi2 n=3"
expect "inbound counts" "$(status_line 'rsip inbound')" \
	"rsip inbound: 10 packets, 8 tunnelled, 2 without binding, 0 malformed, 0 ttl exceeded"
expect "ICMP destination unreachable sent by natA" "$(icmp_unreach)" "$icmp0"
nt_pass "ESP demultiplexed by SPI: X1 got its 5, X2 its 3 (1500-byte packets, fragmented in the tunnel), unknown SPI dropped and counted, no ICMP"

# ---- IKE: by ephemeral port, and on 500 by initiator SPI (§4, §6.1) ----
expect "Y to X1's IKE port" "$(ask y 6 send-udp 500 $NB "$port1" 0x1111 2)" "sent udp n=2"
expect "Y to X2's IKE port" "$(ask y 6 send-udp 500 $NB "$port2" 0x2222 1)" "sent udp n=1"
expect "X1 from its port" "$(ask x1 3 send-udp "$port1" $Y 500 0x1111)" "sent udp n=1"
expect "X1 claims 0xaaaa on 500" "$(ask x1 3 send-udp 500 $Y 500 0xaaaa)" "sent udp n=1"
expect "X2 collides on 0xaaaa" "$(ask x2 4 send-udp 500 $Y 500 0xaaaa)" "sent udp n=1"
expect "X2 claims 0xbbbb on 500" "$(ask x2 4 send-udp 500 $Y 500 0xbbbb)" "sent udp n=1"
expect "X2 from X1's port" "$(ask x2 4 send-udp "$port1" $Y 500 0x2222)" "sent udp n=1"
in_status "^rsip outbound: 5 packets" ||
	nt_fail "gwd did not see 5 tunnelled IKE packets: $(status_line 'rsip outbound')"
expect "Y answers 0xaaaa" "$(ask y 6 send-udp 500 $NB 500 0xaaaa)" "sent udp n=1"
expect "Y answers 0xbbbb" "$(ask y 6 send-udp 500 $NB 500 0xbbbb 2)" "sent udp n=2"
expect "Y sends 0xcccc, claimed by nobody" "$(ask y 6 send-udp 500 $NB 500 0xcccc)" "sent udp n=1"
in_status "^rsip inbound: 17 packets" ||
	nt_fail "gwd did not see 7 IKE packets: $(status_line 'rsip inbound')"
got=$(counts y 6 | sort)
expect "Y received" "$got" "$(printf 'rx udp src=%s:500 spi_i=0xaaaa n=1\nrx udp src=%s:500 spi_i=0xbbbb n=1\nrx udp src=%s:%s spi_i=0x1111 n=1\n' $NB $NB $NB "$port1" | sort)"
expect "X1 received" "$(counts x1 3 | sort)" "$(printf 'rx esp spi=%s n=5\nrx udp port=%s spi_i=0x1111 n=2\nrx udp port=500 spi_i=0xaaaa n=1\n' "$spi1" "$port1" | sort)"
expect "X2 received" "$(counts x2 4 | sort)" "$(printf 'rx esp spi=%s n=3\nrx udp port=%s spi_i=0x2222 n=1\nrx udp port=500 spi_i=0xbbbb n=2\n' "$spi2" "$port2" | sort)"
expect "inbound counts" "$(status_line 'rsip inbound')" \
	"rsip inbound: 17 packets, 14 tunnelled, 3 without binding, 0 malformed, 0 ttl exceeded"
expect "outbound counts" "$(status_line 'rsip outbound')" \
	"rsip outbound: 5 packets, 3 sent, 1 refused, 1 ike collisions, 0 malformed, 0 ttl exceeded, 0 send errors"
nt_pass "IKE by port ($port1, $port2) and on 500 by initiator SPI; the colliding SPI and a borrowed port dropped"

# ---- ESP from X1 through the tunnel leaves from Nb; a host without a binding cannot send from Nb ----
expect "X1 sends ESP to Y" "$(ask x1 3 send-esp $Y 0x5555 4 1000)" "sent esp n=4"
expect "X3 (no binding) sends ESP to Y" "$(ask x3 5 send-esp $Y 0x6666 2)" "sent esp n=2"
in_status "^rsip outbound: 11 packets" ||
	nt_fail "gwd did not see 6 tunnelled ESP packets: $(status_line 'rsip outbound')"
got=$(counts y 6 | grep esp || true)
expect "Y received ESP" "$got" "rx esp src=$NB spi=0x00005555 n=4"
expect "outbound counts" "$(status_line 'rsip outbound')" \
	"rsip outbound: 11 packets, 7 sent, 3 refused, 1 ike collisions, 0 malformed, 0 ttl exceeded, 0 send errors"
nt_pass "X1's tunnelled ESP reached Y from $NB; X3's (no binding) was dropped and counted"

# ---- errors over the real protocol ----
expect "X3 register" "$(ask x3 5 register)" "registered methods=2,3 tunnels=1"
expect "X3 assign (not allowed)" "$(ask x3 5 assign)" "error 401 IPSEC_UNALLOWED"
expect "X2 asks for X1's SPI" "$(ask x2 4 assign "spi=$spi1")" "error 403 IPSEC_SPI_INUSE"
a3=$(ask x2 4 assign nspi=2 lease=2)
case $a3 in "assigned bind="*" nb=$NB spi=0x0000100"[0-3]",0x0000100"[0-3]" ports=none lease=2 tunnel=192.168.1.1") ;;
*) nt_fail "X2 assign nspi=2: $a3" ;; esac
spi3=$(field "$a3" spi)
spi3=${spi3%%,*}
expect "X1 asks when the pool is empty" "$(ask x1 3 assign)" "error 402 IPSEC_SPI_UNAVAILABLE"
expect "X1 asks for X2's new SPI" "$(ask x1 3 assign "spi=$spi3")" "error 403 IPSEC_SPI_INUSE"
nt_pass "401 for X3, 403 for an SPI in use, 402 with the pool of 4 exhausted"

# ---- lease expiry frees SPIs ----
in_status ", 1 expired\$" ||
	nt_fail "X2's 2 s binding did not expire: $(status_line 'rsip server')"
a4=$(ask x1 3 assign "spi=$spi3")
expect "X1 takes the expired SPI" "$(field "$a4" spi)" "$spi3"
nt_pass "the 2 s binding expired and its SPI $spi3 went to X1"

# ---- a closed connection frees the client's bindings ----
expect "X2 closes" "$(ask x2 4 close)" "closed"
nt_wait 5 sh -c "! ip netns exec $(nt_ns natA) $GWD status --state-dir $STATE | grep -q 'client 192.168.1.3:'" ||
	nt_fail "X2's bindings outlived its connection: $(status)"
expect "Y sends to X2's old SPI" "$(ask y 6 send-esp $NB "$spi2" 1)" "sent esp n=1"
in_status "^rsip inbound: 18 packets, 14 tunnelled, 4 without" ||
	nt_fail "ESP to a freed SPI: $(status_line 'rsip inbound')"
a5=$(ask x1 3 assign "spi=$spi2")
expect "X1 takes X2's SPI" "$(field "$a5" spi)" "$spi2"
expect "X2 received nothing more" "$(counts x2 4 | grep esp)" "rx esp spi=$spi2 n=3"
nt_pass "X2's connection closed: its SPI $spi2 was freed and went to X1"

# ---- a new public address: every binding is void, clients register again ----
NB2=203.0.113.11
nt_exec natA sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nt_exec natA ip addr add $NB2/24 dev wan0
nt_exec natA ip addr del $NB/24 dev wan0
nt_exec natA ip route replace default via 203.0.113.1 dev wan0
in_status "^rsip: public address $NB2, 0 clients, 0 bindings" ||
	nt_fail "the RSIP server did not move to $NB2: $(status_line 'rsip:')"
nt_wait 5 grep -q '^server closed the connection$' "$NT_DIR/x1.log" ||
	nt_fail "X1's connection outlived the old address"
start x1b x1 7 --server 192.168.1.1 --bind 192.168.1.2
expect "X1 registers again" "$(ask x1b 7 register)" "registered methods=2,3 tunnels=1"
a6=$(ask x1b 7 assign remote=$Y)
expect "X1's new binding is on" "$(field "$a6" nb)" "$NB2"
expect "Y sends to the new Nb" "$(ask y 6 send-esp $NB2 "$(field "$a6" spi)" 2)" "sent esp n=2"
in_status "^rsip inbound: 2 packets, 2 tunnelled" || nt_fail "ESP to $NB2: $(status_line 'rsip inbound')"
got=$(counts x1b 7)
expect "X1 received on the new Nb" "$got" "rx esp spi=$(field "$a6" spi) n=2"
nt_pass "the WAN address changed to $NB2: connections closed, X1 registered again and gets ESP to $NB2"

# ---- --no-rsip: no RSIP server at all ----
nt_stop "$GWD_PID"
nt_bg natA gwd2 "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --no-rsip
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd --no-rsip did not start"
expect "status with --no-rsip" "$(status_line rsip)" "rsip: off"
got=$(nt_exec x1 "$TOOL" --server 192.168.1.1 </dev/null 2>&1 || true)
expect "connecting to 4555 with --no-rsip" "$got" "connect: Connection refused"
nt_pass "--no-rsip: status says so and nothing listens on 4555"
