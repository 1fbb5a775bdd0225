#!/bin/sh
# Two autotunnelds with manually keyed SAs on a pair of namespaces: ping
# (IPv6 and IPv4 inner) and a TCP transfer through the tunnel, replayed
# captured ESP packets rejected and counted, an end without offloads
# talking to one with them, a wrong key rejected with a clear log line.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
[ -x "$D" ] || nt_fail "no $D (build first)"

pair_setup

KA=$(openssl rand -hex 36)	# what a sends
KB=$(openssl rand -hex 36)	# what b sends

conf() {	# conf NAME ULA IPV4 PEER PEER_ULA PEER_IPV4 PEER_OUTER SPI_IN SPI_OUT KEY_IN KEY_OUT [CIPHER]
	cat > "$NT_DIR/$1.conf" <<CONF
[tunnel]
ula = $2
ipv4 = $3
workers = 2

[peer $4]
remote = $7:4500
remote-ts = $5/128, $6/32
spi-in = $8
spi-out = $9
key-in = ${10}
key-out = ${11}
cipher = ${12:-aes256gcm16}
CONF
}
conf a fd00:a::1 192.168.77.1 b fd00:b::1 192.168.77.2 192.0.2.2 0x1001 0x2002 "$KB" "$KA"
conf b fd00:b::1 192.168.77.2 a fd00:a::1 192.168.77.1 192.0.2.1 0x2002 0x1001 "$KA" "$KB"

pair_start da db "^autotunneld: up: autotun0"
grep -q "peer b: manually keyed SA up, aes256gcm16, spi in 0x00001001 out 0x00002002, ESN" "$NT_DIR/da.log" ||
	nt_fail "a's log does not show the manual SA"

# 1. ping through the tunnel, IPv6 and IPv4 inside
nt_exec a ping -6 -c 3 -i 0.2 -W 2 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "ping6 fd00:b::1 failed"
grep -q "3 received" "$NT_DIR/ping6" || nt_fail "ping6: $(tail -2 "$NT_DIR/ping6")"
nt_exec b ping -c 3 -i 0.2 -W 2 192.168.77.1 >"$NT_DIR/ping4" || nt_fail "inner IPv4 ping failed"
nt_pass "ping through the tunnel (inner IPv6 and IPv4)"

# 2. a TCP transfer between the ULAs
head -c 20000000 /dev/urandom > "$NT_DIR/blob"
pair_tcp sink
nt_pass "20 MB over TCP through the tunnel, intact"

# the outer wire carries ESP in UDP 4500 (captured now, to be replayed inside the window)
ip netns exec "$(nt_ns b)" tcpdump --immediate-mode -n -i eth0 -c 4 -w "$NT_DIR/wire.pcap" udp dst port 4500 and dst host 192.0.2.2 >/dev/null 2>&1 &
TD=$!
NT_PIDS="$NT_PIDS $TD"
sleep 1
nt_exec a ping -6 -c 4 -i 0.2 -W 2 fd00:b::1 >/dev/null || nt_fail "second ping failed"
nt_wait 5 sh -c "! kill -0 $TD" || nt_fail "tcpdump saw fewer than 4 UDP/4500 packets"
nt_pass "ESP in UDP 4500 on the wire"

# 3. replay: the captured packets sent again are dropped and counted
kill -USR1 "$PID_B"
nt_wait 5 grep -q "stats: " "$NT_DIR/db.log" || nt_fail "no stats from b"
before=$(grep "stats: " "$NT_DIR/db.log" | tail -1)
rx_before=$(echo "$before" | sed 's/.*esp_rx=\([0-9]*\).*/\1/')
rp_before=$(echo "$before" | sed 's/.*replayed=\([0-9]*\).*/\1/')
nt_exec a /usr/bin/python3 - "$NT_DIR/wire.pcap" <<'PY' || nt_fail "replaying the capture failed"
import socket, struct, sys
data = open(sys.argv[1], 'rb').read()
little = data[:4] == b'\xd4\xc3\xb2\xa1'
e = '<' if little else '>'
linktype = struct.unpack(e + 'I', data[20:24])[0]
off, sent = 24, 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.1', 4501))
while off + 16 <= len(data):
    incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if linktype == 1: pkt = pkt[14:]            # Ethernet
    elif linktype == 113: pkt = pkt[16:]        # Linux cooked
    ihl = (pkt[0] & 15) * 4
    udp = pkt[ihl:]
    if pkt[16:20] != bytes([192, 0, 2, 2]) or struct.unpack('>H', udp[2:4])[0] != 4500: continue
    s.sendto(udp[8:], ('192.0.2.2', 4500))
    sent += 1
print(sent)
sys.exit(0 if sent >= 4 else 1)
PY
sleep 0.5
kill -USR1 "$PID_B"
nt_wait 5 sh -c "[ \$(grep -c 'stats: ' '$NT_DIR/db.log') -ge 2 ]" || nt_fail "no second stats line"
after=$(grep "stats: " "$NT_DIR/db.log" | tail -1)
rx_after=$(echo "$after" | sed 's/.*esp_rx=\([0-9]*\).*/\1/')
rp_after=$(echo "$after" | sed 's/.*replayed=\([0-9]*\).*/\1/')
[ "$rx_after" = "$rx_before" ] || nt_fail "replayed packets were accepted (esp_rx $rx_before -> $rx_after)"
[ $((rp_after - rp_before)) -ge 4 ] || nt_fail "replay counter moved by $((rp_after - rp_before)), expected >= 4"
nt_pass "4 replayed ESP packets rejected and counted (replayed $rp_before -> $rp_after)"

# 4. one end without offloads (plain TUN, one datagram per send) talks to one with them
nt_stop "$PID_A"
nt_stop "$PID_B"
KA=$(openssl rand -hex 36)
KB=$(openssl rand -hex 36)
conf a fd00:a::1 192.168.77.1 b fd00:b::1 192.168.77.2 192.0.2.2 0x1101 0x2102 "$KB" "$KA" chacha20poly1305
conf b fd00:b::1 192.168.77.2 a fd00:a::1 192.168.77.1 192.0.2.1 0x2102 0x1101 "$KA" "$KB" chacha20poly1305
nt_bg a da3 "$D" -c "$NT_DIR/a.conf" --no-offload=yes
PID_A=$NT_LAST_PID
nt_bg b db3 "$D" -c "$NT_DIR/b.conf"
PID_B=$NT_LAST_PID
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da3.log" || nt_fail "a (no offload) did not come up"
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/db3.log" || nt_fail "b did not come back"
pair_tcp sink2 "no offload"
nt_exec b ping -c 2 -i 0.2 -W 2 192.168.77.1 >/dev/null || nt_fail "inner IPv4 ping to the no-offload end failed"
kill -USR1 "$PID_A"
nt_wait 5 grep -q "stats: " "$NT_DIR/da3.log" || nt_fail "no stats from a"
st=$(grep "stats: " "$NT_DIR/da3.log" | tail -1)
tx=$(echo "$st" | sed 's/.*esp_tx=\([0-9]*\).*/\1/')
rd=$(echo "$st" | sed 's/.*tun_rx=\([0-9]*\).*/\1/')
# one packet per read (a few reads are for no peer: router solicitations and the like)
[ "$tx" -le "$rd" ] && [ "$tx" -ge $((rd - 10)) ] ||
	nt_fail "a without offloads sealed $tx packets from $rd TUN reads (expected one each)"
nt_pass "20 MB and ping between an end without offloads ($rd reads, $tx packets) and one with them"

# 5. a wrong key: nothing gets through, and b says why
nt_stop "$PID_A"
BAD=$(openssl rand -hex 36)
conf a fd00:a::1 192.168.77.1 b fd00:b::1 192.168.77.2 192.0.2.2 0x1101 0x2102 "$KB" "$BAD" chacha20poly1305
nt_bg a da2 "$D" -c "$NT_DIR/a.conf"
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/da2.log" || nt_fail "a did not come back"
if nt_exec a ping -6 -c 2 -i 0.2 -W 1 fd00:b::1 >/dev/null 2>&1; then
	nt_fail "ping went through with a wrong key"
fi
nt_wait 5 grep -q "peer a: ESP authentication failed (SPI 0x00002102 from 192.0.2.1:4500): wrong key, or a forged packet" \
	"$NT_DIR/db3.log" || nt_fail "b did not log the authentication failure"
nt_pass "wrong key rejected: $(grep -m1 'authentication failed' "$NT_DIR/db3.log")"
