#!/bin/sh
# autotunnel-gwd's rules, seen from the wire: a LAN client maps only for
# itself (PCP client address must be the source, THIRD_PARTY refused), a
# port taken by another client is answered with another port that really
# forwards, and nothing arriving from the WAN side is ever answered.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$GWD" ] || nt_fail "$GWD not built"
STATE=$NT_DIR/gwd

# A raw NAT-PMP/PCP client: builds one request, prints the answer decoded
# on one line, or "no answer" after the timeout.
cat >"$NT_DIR/probe.py" <<'PY'
import socket, struct, sys
a = sys.argv[1:]
server, src, kind = a[0], a[1], a[2]
def v4mapped(ip): return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(ip)
if kind == "pmp-map":           # OP INPORT EXTPORT LIFETIME
    op, i, e, life = map(int, a[3:7])
    req = struct.pack(">BBHHHI", 0, op, 0, i, e, life)
elif kind == "pmp-addr":
    req = b"\0\0"
elif kind == "pcp-map":         # CLIENTIP PROTO INPORT EXTPORT LIFETIME [third-party IP]
    client, proto, i, e, life = a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7])
    req = struct.pack(">BBHI", 2, 1, 0, life) + v4mapped(client)
    req += bytes(range(1, 13)) + struct.pack(">B3xHH", proto, i, e) + v4mapped("0.0.0.0")
    if len(a) > 8 and a[8] == "oversize":
        req += struct.pack(">BBH", 200, 0, 1200) + b"\0" * 1200
    elif len(a) > 8:
        req += struct.pack(">BBH", 1, 0, 16) + v4mapped(a[8])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if src != "-":
    s.bind((src, 0))
s.settimeout(1.0)
s.sendto(req, (server, 5351))
try:
    d, peer = s.recvfrom(2048)
except socket.timeout:
    print("no answer"); sys.exit(0)
if d[0] == 0 and d[1] == 128 and len(d) == 12:
    print("pmp result=%d addr=%s" % (struct.unpack(">H", d[2:4])[0], socket.inet_ntoa(d[8:12])))
elif d[0] == 0 and len(d) >= 16:
    r, ep, i, e, life = struct.unpack(">HIHHI", d[2:16])
    print("pmp result=%d internal=%d external=%d lifetime=%d" % (r, i, e, life))
elif d[0] == 0:
    print("pmp result=%d" % struct.unpack(">H", d[2:4]))
elif len(d) >= 60 and d[3] == 0:
    print("pcp result=0 lifetime=%d internal=%d external=%d addr=%s" % (
        struct.unpack(">I", d[4:8])[0], struct.unpack(">H", d[40:42])[0],
        struct.unpack(">H", d[42:44])[0], socket.inet_ntoa(d[56:60])))
else:
    print("pcp result=%d" % d[3])
PY
probe() { h=$1; shift; nt_exec "$h" /usr/bin/python3 "$NT_DIR/probe.py" "$@"; }
our_elements() {
	nt_exec natA nft list table ip autotunnel-gwd 2>/dev/null | grep -A3 'elements = ' || true
}
expect() {	# expect WHAT GOT WANT
	[ "$2" = "$3" ] || nt_fail "$1: got '$2', want '$3'"
}

# hostA gets a second LAN address, 192.168.1.3: a second client on the LAN
nt_exec hostA ip addr add 192.168.1.3/24 dev eth0

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE"
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"

# 1. PCP: the client address in the header must be the source (RFC 6887 §8.3)
got=$(probe hostA 192.168.1.1 192.168.1.2 pcp-map 192.168.1.3 17 4500 4500 600)
expect "PCP MAP for 192.168.1.3 sent from 192.168.1.2" "$got" "pcp result=12"
# 2. PCP THIRD_PARTY: refused (NOT_AUTHORIZED)
got=$(probe hostA 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 17 4500 4500 600 192.168.1.3)
expect "PCP MAP with THIRD_PARTY 192.168.1.3" "$got" "pcp result=2"
# an oversized PCP request (1264 bytes, over RFC 6887's 1100) is MALFORMED_REQUEST
got=$(probe hostA 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 17 4500 4500 600 oversize)
expect "PCP MAP of 1264 bytes" "$got" "pcp result=3"
[ -z "$(our_elements)" ] || nt_fail "a refused request left forwarding: $(our_elements)"
nt_pass "a LAN client cannot map for another LAN address (ADDRESS_MISMATCH, THIRD_PARTY refused)"

# 3. PCP MAP for itself
got=$(probe hostA 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 17 4500 4500 600)
expect "PCP MAP for itself" "$got" "pcp result=0 lifetime=600 internal=4500 external=4500 addr=203.0.113.10"
nt_exec natA "$GWD" status --state-dir "$STATE" | grep -q '^192\.168\.1\.2:4500  *-> 4500  *udp .* PCP$' ||
	nt_fail "status does not show the PCP mapping"
nt_pass "PCP MAP: 192.168.1.2:4500 -> 203.0.113.10:4500"

# 4. the other client asks for UDP 4500 too (NAT-PMP): it gets another port...
got=$(probe hostA 192.168.1.1 192.168.1.3 pmp-map 1 4500 4500 600)
case $got in
"pmp result=0 internal=4500 external="*" lifetime=600") ;;
*) nt_fail "NAT-PMP map from 192.168.1.3: $got" ;;
esac
port=${got#*external=}
port=${port%% *}
[ "$port" != 4500 ] || nt_fail "192.168.1.3 was given 192.168.1.2's port 4500"
our_elements | grep -q "udp . $port .*: 192.168.1.3 . 4500" || nt_fail "no element for $port: $(our_elements)"
nt_pass "port 4500 taken: 192.168.1.3 is offered $port instead"

# ...and that port really forwards to 192.168.1.3:4500, while 4500 goes to .2
nt_bg hostA l3 socat -u UDP-RECV:4500,bind=192.168.1.3 OPEN:"$NT_DIR/got3",creat,append
nt_bg hostA l2 socat -u UDP-RECV:4500,bind=192.168.1.2 OPEN:"$NT_DIR/got2",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q "192.168.1.3:4500"' || nt_fail "listener .3 did not start"
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q "192.168.1.2:4500"' || nt_fail "listener .2 did not start"
for i in $(seq 20); do
	grep -q to-three "$NT_DIR/got3" 2>/dev/null && grep -q to-two "$NT_DIR/got2" 2>/dev/null && break
	echo to-three | nt_exec pub socat -u - "UDP:203.0.113.10:$port"
	echo to-two | nt_exec pub socat -u - UDP:203.0.113.10:4500
	sleep 0.1
done
grep -q to-three "$NT_DIR/got3" 2>/dev/null || nt_fail "203.0.113.10:$port did not reach 192.168.1.3:4500"
grep -q to-two "$NT_DIR/got2" 2>/dev/null || nt_fail "203.0.113.10:4500 did not reach 192.168.1.2:4500"
grep -q to-two "$NT_DIR/got3" 2>/dev/null && nt_fail "192.168.1.3 got 192.168.1.2's traffic"
nt_pass "both mappings forward to their own client"

# 4b. conntrack: a peer that kept sending from one source port before the
# mapping existed reaches the client as soon as it does, and a deleted
# mapping stops forwarding that same flow at once
nt_bg hostA l4600 socat -u UDP-RECV:4600,bind=192.168.1.2 OPEN:"$NT_DIR/got4600",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q "192.168.1.2:4600"' || nt_fail "listener 4600 did not start"
send7777() { echo "$1" | nt_exec pub socat -u - UDP:203.0.113.10:4600,sourceport=7777,reuseaddr; }
send7777 early
sleep 0.2
got=$(probe hostA 192.168.1.1 192.168.1.2 pmp-map 1 4600 4600 600)
expect "NAT-PMP map of UDP 4600" "$got" "pmp result=0 internal=4600 external=4600 lifetime=600"
for i in $(seq 20); do
	grep -q late "$NT_DIR/got4600" 2>/dev/null && break
	send7777 late
	sleep 0.1
done
grep -q late "$NT_DIR/got4600" 2>/dev/null || nt_fail "the flow from pub:7777 still ends at natA after the mapping"
got=$(probe hostA 192.168.1.1 192.168.1.2 pmp-map 1 4600 0 0)
expect "NAT-PMP delete of UDP 4600" "$got" "pmp result=0 internal=4600 external=0 lifetime=0"
for i in 1 2 3 4 5; do send7777 gone; sleep 0.1; done
sleep 0.2
grep -q gone "$NT_DIR/got4600" && nt_fail "the flow from pub:7777 still reaches hostA after the delete"
nt_pass "conntrack follows the mapping: an old flow reaches the client once mapped, and stops once deleted"

# 5. nothing from the WAN side is answered: not at the external address,
# not even at the LAN address when pub routes the LAN through natA
got=$(probe pub 203.0.113.10 - pmp-addr)
expect "NAT-PMP request from pub to 203.0.113.10" "$got" "no answer"
got=$(probe pub 203.0.113.10 - pcp-map 198.51.100.7 17 5000 5000 600)
expect "PCP MAP from pub to 203.0.113.10" "$got" "no answer"
nt_exec pub ip route add 192.168.1.0/24 via 203.0.113.10 dev eth0 onlink
got=$(probe pub 192.168.1.1 - pmp-map 1 5000 5000 600)
expect "NAT-PMP map from pub to 192.168.1.1 (routed through natA)" "$got" "no answer"
got=$(probe pub 192.168.1.1 - pcp-map 198.51.100.7 17 5000 5000 600)
expect "PCP MAP from pub to 192.168.1.1 (routed through natA)" "$got" "no answer"
# a WAN host that forges a LAN source address would not see an answer (it
# goes to the LAN), so what proves the interface check is that no mapping is
# made: with rp_filter off, only gwd's own check stands in the way
nt_exec natA sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0
nt_exec pub ip addr add 192.168.1.50/32 dev eth0
probe pub 192.168.1.1 192.168.1.50 pmp-map 1 5001 5001 600 >/dev/null
probe pub 203.0.113.10 192.168.1.50 pmp-map 1 5002 5002 600 >/dev/null
probe pub 192.168.1.1 192.168.1.50 pcp-map 192.168.1.50 17 5003 5003 600 >/dev/null
our_elements | grep -q ' 500[0-3] ' && nt_fail "a request from the WAN created a mapping: $(our_elements)"
nt_exec natA "$GWD" status --state-dir "$STATE" | grep -q '192\.168\.1\.50' &&
	nt_fail "a request from the WAN side with a LAN source made a mapping"
# the LAN is still served
got=$(probe hostA 192.168.1.1 - pmp-addr)
expect "NAT-PMP address request from hostA" "$got" "pmp result=0 addr=203.0.113.10"
nt_pass "requests from the WAN side get no answer"

# 6. clean exit: no table left
kill -TERM "$GWD_PID"
rc=0
wait "$GWD_PID" || rc=$?
[ "$rc" = 0 ] || nt_fail "gwd exited with status $rc"
nt_exec natA nft list ruleset | grep -q autotunnel-gwd && nt_fail "gwd left its table behind"
nt_pass "gwd exited 0, no nftables rule of ours left"
