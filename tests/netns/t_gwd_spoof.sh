#!/bin/sh
# autotunnel-gwd believes only what the LAN proves (docs/gateway.md, "What a
# request must prove"): a host that forges its neighbour's source address
# (a frame from its own Ethernet address) can neither map a port to the
# neighbour nor delete the neighbour's mapping; the genuine neighbour can.
# One machine, whatever addresses it claims, gets at most
# max-mappings-per-client mappings; and a port the router itself listens on
# is never handed out.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$GWD" ] || nt_fail "$GWD not built"
STATE=$NT_DIR/gwd

# A NAT-PMP/PCP client. "udp": an ordinary UDP socket. "raw MAC": the same
# request in an Ethernet frame written by hand (AF_PACKET) with source
# address MAC, as another machine on the LAN would send it; the answer,
# which goes to the forged source address, is read where it arrives.
cat >"$NT_DIR/probe.py" <<'PY'
import socket, struct, sys
a = sys.argv[1:]
how, server, src, kind = a[0], a[1], a[2], a[3]
a = a[4:]
def v4mapped(ip): return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(ip)
if kind == "pmp-map":           # OP INPORT EXTPORT LIFETIME
    op, i, e, life = map(int, a[0:4])
    req = struct.pack(">BBHHHI", 0, op, 0, i, e, life)
elif kind == "pcp-map":         # CLIENTIP PROTO INPORT EXTPORT LIFETIME [prefer-failure]
    client, proto, i, e, life = a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4])
    req = struct.pack(">BBHI", 2, 1, 0, life) + v4mapped(client)
    req += bytes(range(1, 13)) + struct.pack(">B3xHH", proto, i, e) + v4mapped("0.0.0.0")
    if len(a) > 5 and a[5] == "prefer-failure":
        req += struct.pack(">BBH", 2, 0, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind((src, 0))
except OSError:                 # an address this host does not have: answers go elsewhere
    s.bind(("0.0.0.0", 0))
s.settimeout(2.0)
if how == "udp":
    s.sendto(req, (server, 5351))
else:                           # raw SRCMAC DSTMAC IFACE
    smac, dmac, ifc = [bytes.fromhex(m.replace(":", "")) for m in how.split(",")[1:3]] + [how.split(",")[3]]
    sport = s.getsockname()[1]
    udp = struct.pack(">HHHH", sport, 5351, 8 + len(req), 0) + req
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(server))
    c = sum(struct.unpack(">10H", ip))
    c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16)
    ip = ip[:10] + struct.pack(">H", ~c & 0xffff) + ip[12:]
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    r.bind((ifc, 0))
    r.send(dmac + smac + b"\x08\x00" + ip + udp)
try:
    d, peer = s.recvfrom(2048)
except socket.timeout:
    print("no answer"); sys.exit(0)
if d[0] == 0 and len(d) >= 16:
    r, ep, i, e, life = struct.unpack(">HIHHI", d[2:16])
    print("pmp result=%d internal=%d external=%d lifetime=%d" % (r, i, e, life))
elif d[0] == 0:
    print("pmp result=%d" % struct.unpack(">H", d[2:4]))
elif len(d) >= 60 and d[3] == 0:
    print("pcp result=0 lifetime=%d internal=%d external=%d" % (
        struct.unpack(">I", d[4:8])[0], struct.unpack(">H", d[40:42])[0],
        struct.unpack(">H", d[42:44])[0]))
else:
    print("pcp result=%d" % d[3])
PY
probe() { h=$1; shift; nt_exec "$h" /usr/bin/python3 "$NT_DIR/probe.py" "$@"; }
elements() {
	nt_exec natA nft list table ip autotunnel-gwd 2>/dev/null | sed -n '/elements = /,/}/p' || true
}
expect() {	# expect WHAT GOT WANT
	[ "$2" = "$3" ] || nt_fail "$1: got '$2', want '$3'"
}

LAN_MAC=$(nt_exec natA cat /sys/class/net/lan0/address)
HOST_MAC=$(nt_exec hostA cat /sys/class/net/eth0/address)
EVIL=02:00:5e:00:66:66		# another machine on the LAN segment
RAW="raw,$EVIL,$LAN_MAC,eth0"	# its frames, sent on the LAN

# hostA's second address: the same machine (one Ethernet address), two clients
nt_exec hostA ip addr add 192.168.1.3/24 dev eth0
# the router's own services: TCP 8080 on every address, UDP 9999 on the external one
nt_bg natA tcp8080 socat TCP-LISTEN:8080,reuseaddr,fork /dev/null
nt_bg natA udp9999 socat -u UDP-RECV:9999,bind=203.0.113.10 /dev/null
nt_wait 5 nt_exec natA sh -c 'ss -ltn | grep -q ":8080 "' || nt_fail "TCP 8080 listener did not start"
nt_wait 5 nt_exec natA sh -c 'ss -lun | grep -q "203.0.113.10:9999 "' || nt_fail "UDP 9999 listener did not start"

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --max-mappings-per-client 3 \
	--log-level debug
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"
# natA knows hostA's Ethernet address for 192.168.1.2
nt_exec hostA ping -c1 -W2 192.168.1.1 >/dev/null || nt_fail "hostA cannot reach natA"
nt_exec natA ip neigh show 192.168.1.2 dev lan0 | grep -q "lladdr $HOST_MAC" ||
	nt_fail "natA has no neighbour entry for 192.168.1.2: $(nt_exec natA ip neigh show dev lan0)"

# 1. a forged NAT-PMP and PCP map for 192.168.1.2: not authorized, nothing forwards
got=$(probe hostA "$RAW" 192.168.1.1 192.168.1.2 pmp-map 2 22 2222 3600)
expect "NAT-PMP map forged from $EVIL" "$got" "pmp result=2 internal=22 external=0 lifetime=0"
got=$(probe hostA "$RAW" 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 6 23 2323 3600)
expect "PCP MAP forged from $EVIL" "$got" "pcp result=2"
[ -z "$(elements)" ] || nt_fail "a forged request left forwarding: $(elements)"
grep -q "not that address's neighbour" "$NT_DIR/gwd.log" || nt_fail "gwd did not log why it refused"
nt_pass "a request forged with a neighbour's address is refused (NAT-PMP 2, PCP NOT_AUTHORIZED), no element"

# 2. the genuine neighbour maps the same port; a forged delete leaves it alone
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pmp-map 2 22 2222 3600)
expect "NAT-PMP map from 192.168.1.2 itself" "$got" "pmp result=0 internal=22 external=2222 lifetime=3600"
elements | grep -q "tcp . 2222 .*: 192.168.1.2 . 22" || nt_fail "no element for 2222: $(elements)"
got=$(probe hostA "$RAW" 192.168.1.1 192.168.1.2 pmp-map 2 22 0 0)
expect "NAT-PMP delete forged from $EVIL" "$got" "pmp result=2 internal=22 external=0 lifetime=0"
got=$(probe hostA "$RAW" 192.168.1.1 192.168.1.2 pmp-map 2 0 0 0)
expect "NAT-PMP delete-all forged from $EVIL" "$got" "pmp result=2 internal=0 external=0 lifetime=0"
elements | grep -q "tcp . 2222 .*: 192.168.1.2 . 22" || nt_fail "a forged delete removed the mapping: $(elements)"
nt_pass "the genuine neighbour maps TCP 2222; forged deletes leave it in place"

# 3. an address nobody has: ARP finds no one, the request is refused once the wait is over
probe hostA "$RAW" 192.168.1.1 192.168.1.77 pmp-map 2 80 8000 3600 >/dev/null 2>&1 || true
sleep 1.5
elements | grep -q "192.168.1.77" && nt_fail "a request from an unresolved address made a mapping: $(elements)"
nt_exec natA "$GWD" status --state-dir "$STATE" | grep -q '192\.168\.1\.77' &&
	nt_fail "status shows a mapping for 192.168.1.77"
nt_pass "a source address no neighbour answers for maps nothing"

# 4. the per-client cap: 3 mappings for hostA, its second address included
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pmp-map 1 5000 5000 3600)
expect "2nd mapping of 192.168.1.2" "$got" "pmp result=0 internal=5000 external=5000 lifetime=3600"
got=$(probe hostA udp 192.168.1.1 192.168.1.3 pcp-map 192.168.1.3 17 5001 5001 3600)
expect "3rd mapping (192.168.1.3, the same machine)" "$got" "pcp result=0 lifetime=3600 internal=5001 external=5001"
got=$(probe hostA udp 192.168.1.1 192.168.1.3 pmp-map 1 5002 5002 3600)
expect "4th mapping from 192.168.1.3 (NAT-PMP)" "$got" "pmp result=4 internal=5002 external=0 lifetime=0"
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 17 5003 5003 3600)
expect "4th mapping from 192.168.1.2 (PCP)" "$got" "pcp result=10"
elements | grep -q " 500[23] " && nt_fail "a mapping over the cap forwards: $(elements)"
# renewing one it holds is still granted
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pmp-map 1 5000 5000 3600)
expect "renewal at the cap" "$got" "pmp result=0 internal=5000 external=5000 lifetime=3600"
nt_pass "one machine gets 3 mappings over its two addresses (NAT-PMP 4, PCP USER_EX_QUOTA beyond)"

# make room: hostA deletes its UDP mappings
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pmp-map 1 0 0 0)
expect "delete-all UDP of 192.168.1.2" "$got" "pmp result=0 internal=0 external=0 lifetime=0"
got=$(probe hostA udp 192.168.1.1 192.168.1.3 pmp-map 1 0 0 0)
expect "delete-all UDP of 192.168.1.3" "$got" "pmp result=0 internal=0 external=0 lifetime=0"

# 5. ports the router uses: TCP 8080 and UDP 9999 are never handed out
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pmp-map 2 8080 8080 3600)
case $got in
"pmp result=0 internal=8080 external="*" lifetime=3600") ;;
*) nt_fail "NAT-PMP map of TCP 8080: $got" ;;
esac
port=${got#*external=}
port=${port%% *}
[ "$port" != 8080 ] || nt_fail "the router's TCP port 8080 was handed out"
got=$(probe hostA udp 192.168.1.1 192.168.1.2 pcp-map 192.168.1.2 17 9999 9999 3600 prefer-failure)
expect "PCP MAP of UDP 9999 with PREFER_FAILURE" "$got" "pcp result=11"
elements | grep -qE "(tcp . 8080|udp . 9999) " && nt_fail "a router port forwards to the LAN: $(elements)"
nt_exec natA sh -c 'ss -ltn | grep -q ":8080 "' || nt_fail "the router's listener is gone"
nt_pass "TCP 8080 (router's) offered as $port instead; UDP 9999 with PREFER_FAILURE: CANNOT_PROVIDE_EXTERNAL"

kill -TERM "$GWD_PID"
rc=0
wait "$GWD_PID" || rc=$?
[ "$rc" = 0 ] || nt_fail "gwd exited with status $rc"
nt_exec natA nft list ruleset | grep -q autotunnel-gwd && nt_fail "gwd left its table behind"
nt_pass "gwd exited 0, no nftables rule of ours left"
