#!/bin/sh
# Issue 11: the kinds of network the direct-path tests run across, each
# proved by what an RFC 5780 client sees through it from coturn (STUN on
# two addresses of rv), not by how it was built:
#   hostA  behind natA, the bed's home router (plain masquerade):
#          endpoint-independent mapping, address-and-port-dependent filtering;
#   hostC  behind natC, masquerade with a random port per flow: endpoint-
#          dependent ("symmetric") mapping;
#   hostD  behind natD behind cgn (100.64.0.0/10): a double NAT whose
#          reflexive address is the outer NAT's;
#   hostE  behind natE, a router refusing every port-mapping protocol;
#   host6  behind r6, IPv6 with a stateful firewall and no NAT: outbound
#          works, with its own address; nothing unsolicited gets in;
#   hostF, hostG  on one LAN behind natF: they reach each other directly.
# TURN: an allocation with a time-limited credential works, an expired one
# is refused.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
nt_topology
nt_addr rv eth0 198.51.100.54/24
nt_inet6
nt_host6 rv eth0 53 54
nt_host6 pub eth0 7
nt_router natC 203.0.113.30 hostC 3 edm
nt_cgnat cgn 203.0.113.40 natD hostD 4
nt_router natE 203.0.113.50 hostE 5 nomap
nt_router6 r6 host6 6
nt_add_ns natF
nt_attach_inet natF wan0 203.0.113.60 203.0.113.1
nt_lan_shared natF 7 hostF hostG
nt_nat_eim natF

SECRET=$(head -c 24 /dev/urandom | base64)
turn_start rv "$SECRET" members.example.net 198.51.100.53 198.51.100.54 2001:db8:ff::53 2001:db8:ff::54

# check NAME HOST SERVER EXPECTED-MAPPED-ADDRESS MAPPING FILTERING
check() {
	local out
	out=$(turn_natcheck "$2" "$3") || nt_fail "$1: the STUN tests did not run: $out"
	nt_log "$1: $out"
	case $out in
	"mapped=$4:"*" mapping=$5 filtering=$6") ;;
	*) nt_fail "$1: expected mapped=$4:* mapping=$5 filtering=$6" ;;
	esac
}

# the server's own answer names its other address (RFC 5780 §7.4)
out=$(turn_natcheck pub 198.51.100.53)
case $out in *" other=198.51.100.54:3479 "*) ;; *) nt_fail "OTHER-ADDRESS is not rv's second address: $out" ;; esac
check "public host" pub 198.51.100.53 198.51.100.7 ei ei
nt_pass "coturn answers RFC 5780 tests on two addresses; a public host sees no NAT"

check "home router (masquerade)" hostA 198.51.100.53 203.0.113.10 ei apd
nt_pass "plain masquerade: endpoint-independent mapping, address-and-port-dependent filtering"

check "symmetric NAT" hostC 198.51.100.53 203.0.113.30 apd apd
nt_pass "masquerade fully-random: endpoint-dependent mapping"

check "double NAT" hostD 198.51.100.53 203.0.113.40 ei apd
wan=$(ip -n "$(nt_ns natD)" -4 -o addr show dev wan0 | awk '{print $4}')
[ "$wan" = 100.64.4.2/24 ] || nt_fail "natD's WAN is $wan, not in the CGN's 100.64.0.0/10"
nt_pass "double NAT: the reflexive address is the outer NAT's (203.0.113.40), not natD's 100.64.4.2"

# no port mapping: NAT-PMP's external address request (RFC 6886 §3.2) is
# refused by the router even when something listens on 5351
nt_bg natE pmp socat -u UDP4-RECVFROM:5351,bind=192.168.5.1,fork OPEN:/dev/null
nt_wait 5 nt_exec natE sh -c 'ss -lnu | grep -q "192.168.5.1:5351 "' || nt_fail "listener on natE did not start"
res=$(nt_exec hostE /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("192.168.5.1", 5351))
s.settimeout(1)
for i in range(2):
    try:
        s.send(b"\0\0")
        s.recv(16)
        print("answered")
        break
    except ConnectionRefusedError:
        print("refused")
        break
    except socket.timeout:
        pass
else:
    print("timeout")
')
[ "$res" = refused ] || nt_fail "natE: NAT-PMP request was $res, expected refused"
check "router without port mapping" hostE 198.51.100.53 203.0.113.50 ei apd
nt_pass "no port-mapping service: NAT-PMP refused at once; the NAT itself is endpoint-independent"

# IPv6: its own address outside, the firewall's filtering, no way in
check "IPv6 firewall" host6 2001:db8:ff::53 "[2001:db8:6::2]" ei apd
nt_exec host6 ping -6 -c 1 -W 2 2001:db8:ff::7 >/dev/null || nt_fail "host6 cannot ping pub over IPv6"
if nt_exec pub ping -6 -c 1 -W 1 2001:db8:6::2 >/dev/null 2>&1; then
	nt_fail "r6 let an unsolicited ping in"
fi
nt_bg host6 v6sink socat -u UDP6-RECVFROM:7000,fork OPEN:"$NT_DIR/v6.recv",creat,append
nt_bg host6 v6tcp socat -u TCP6-LISTEN:7001,reuseaddr OPEN:/dev/null
nt_wait 5 nt_exec host6 sh -c 'ss -lnu | grep -q ":7000 " && ss -lnt | grep -q ":7001 "' || nt_fail "host6 listeners did not start"
echo unsolicited | nt_exec pub socat -u - UDP6-SENDTO:[2001:db8:6::2]:7000
if echo x | nt_exec pub socat -u - TCP6:[2001:db8:6::2]:7001,connect-timeout=1 2>/dev/null; then
	nt_fail "pub opened a TCP connection to host6 through r6"
fi
sleep 0.5
[ ! -s "$NT_DIR/v6.recv" ] || nt_fail "an unsolicited UDP datagram reached host6"
nt_pass "IPv6 behind a stateful firewall: out with its own address, nothing unsolicited in"

# the same-LAN pair: one public address, and the LAN between them
check "same LAN, first" hostF 198.51.100.53 203.0.113.60 ei apd
check "same LAN, second" hostG 198.51.100.53 203.0.113.60 ei apd
ttl=$(nt_exec hostF ping -c 1 -W 2 192.168.7.3 | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 64 ] || nt_fail "hostF -> hostG is not direct on the LAN (ttl '$ttl')"
nt_bg hostG lansink socat -u UDP4-RECVFROM:7002,bind=192.168.7.3 OPEN:"$NT_DIR/lan.recv",creat
nt_wait 5 nt_exec hostG sh -c 'ss -lnu | grep -q "192.168.7.3:7002 "' || nt_fail "hostG listener did not start"
echo same-lan | nt_exec hostF socat -u - UDP4-SENDTO:192.168.7.3:7002,sourceport=4500
nt_wait 3 grep -q same-lan "$NT_DIR/lan.recv" || nt_fail "hostF's datagram did not reach hostG on the LAN"
nt_pass "same LAN: both behind 203.0.113.60, and hostF reaches hostG directly"

# TURN with the time-limited credentials (a relay for issue 12): an
# allocation works with a fresh credential and is refused with an expired one
set -- $(turn_credential "$SECRET" laptop 600)
nt_exec pub timeout 20 turnutils_uclient -y -n 2 -m 1 -l 100 -c -u "$1" -w "$2" 198.51.100.53 \
	>"$NT_DIR/uclient.log" 2>&1 || nt_fail "TURN allocation with a valid credential failed"
grep -q "Total lost packets 0" "$NT_DIR/uclient.log" || nt_fail "TURN: packets lost through the relay"
# coturn's answer to an expired or forged credential: no allocation
refused() {
	if nt_exec pub timeout 20 turnutils_uclient -y -n 2 -m 1 -l 100 -c -u "$2" -w "$3" 198.51.100.53 \
		>"$NT_DIR/uclient-$1.log" 2>&1; then
		nt_fail "TURN accepted the $1 credential"
	fi
	grep -q "Cannot complete Allocation" "$NT_DIR/uclient-$1.log" ||
		nt_fail "TURN, $1 credential: the client did not report a refused allocation"
}
set -- $(turn_credential "$SECRET" laptop -60)
refused expired "$@"
grep -q "check_stun_auth: Cannot find credentials of user <$1>" "$NT_DIR/turnserver.log" ||
	nt_fail "coturn did not log the expired user's refusal"
set -- $(turn_credential "not-the-secret" laptop 600)
refused forged "$@"
nt_pass "TURN: a fresh time-limited credential allocates and relays; an expired or forged one is refused"
