#!/bin/sh
# autotunnel-gwd's announcements, as a LAN host hears them on 224.0.0.1:5350:
# at start, 10 NAT-PMP announcements from 192.168.1.1:5351 with the external
# address, 250 ms apart and doubling (RFC 6886 §3.2.1), each with a PCP
# ANNOUNCE (RFC 6887 §14.1.3); when natA's external address changes, a new
# series with the new address and a restarted epoch, within 2 s; mappings
# keep forwarding on the new address; a restarted gwd starts again at epoch 0.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$GWD" ] || nt_fail "$GWD not built"
STATE=$NT_DIR/gwd

# Listener on hostA: one line per datagram to 224.0.0.1:5350:
#   TIME SRC:PORT pmp RESULT EPOCH ADDR     or     TIME SRC:PORT pcp OPCODE RESULT EPOCH
cat >"$NT_DIR/listen.py" <<'PY'
import socket, struct, sys, time
out, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("224.0.0.1", 5350))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.1") + socket.inet_aton("192.168.1.2"))
end = time.time() + secs
with open(out, "a", buffering=1) as f:
    f.write("ready\n")
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            d, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        src = "%s:%d" % peer
        if len(d) == 12 and d[0] == 0 and d[1] == 128:
            r, ep = struct.unpack(">HI", d[2:8])
            f.write("%.3f %s pmp %d %d %s\n" % (time.time(), src, r, ep, socket.inet_ntoa(d[8:12])))
        elif len(d) >= 24 and d[0] == 2:
            ep = struct.unpack(">I", d[8:12])[0]
            f.write("%.3f %s pcp %d %d %d\n" % (time.time(), src, d[1], d[3], ep))
        else:
            f.write("%.3f %s other %s\n" % (time.time(), src, d.hex()))
PY
A=$NT_DIR/ann
nt_bg hostA listen /usr/bin/python3 "$NT_DIR/listen.py" "$A" 40
nt_wait 5 grep -q ready "$A" || nt_fail "listener did not start"

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE"
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"

# 1. the start series: the first four NAT-PMP announcements, gaps 250/500/1000 ms
nt_wait 5 sh -c "[ \$(grep -c ' pmp ' '$A') -ge 4 ]" || nt_fail "fewer than 4 announcements in 5 s: $(cat "$A")"
grep ' pmp ' "$A" | head -4 | while read -r t src kind result epoch addr; do
	[ "$src" = 192.168.1.1:5351 ] || nt_fail "announcement from $src, not 192.168.1.1:5351"
	[ "$result" = 0 ] && [ "$addr" = 203.0.113.10 ] || nt_fail "announcement says $result $addr"
	[ "$epoch" -le 2 ] || nt_fail "start epoch $epoch, expected 0..2"
done
gaps=$(grep ' pmp ' "$A" | head -4 | awk 'NR > 1 { printf "%d ", ($1 - p) * 1000 } { p = $1 }')
gaps=${gaps% }
set -- $gaps
for want in 250 500 1000; do
	[ $(( $1 - want )) -gt -60 ] && [ $(( $1 - want )) -lt 150 ] ||
		nt_fail "announcement gaps $gaps ms, expected about 250 500 1000"
	shift
done
grep -q ' 192.168.1.1:5351 pcp 128 0 [0-2]$' "$A" || nt_fail "no PCP ANNOUNCE at start: $(cat "$A")"
nt_pass "start: NAT-PMP announcements 203.0.113.10 with gaps $gaps ms, and PCP ANNOUNCE"

# 2. a mapping made now keeps forwarding after the address change
nt_exec hostA natpmpc -g 192.168.1.1 -a 4500 4500 udp 600 >/dev/null 2>&1 || nt_fail "natpmpc -a failed"
sleep 1	# let the epoch grow, so that its restart shows

# 3. the external address changes: 203.0.113.11 comes, 203.0.113.10 goes
nt_exec natA sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nt_exec natA ip addr add 203.0.113.11/24 dev wan0
t0=$(date +%s.%N)
nt_exec natA ip addr del 203.0.113.10/24 dev wan0
nt_exec natA ip route replace default via 203.0.113.1 dev wan0
nt_wait 3 grep -q ' pmp 0 [0-9]* 203\.0\.113\.11$' "$A" ||
	nt_fail "no announcement of 203.0.113.11: $(tail -5 "$A")"
line=$(grep ' pmp 0 [0-9]* 203\.0\.113\.11$' "$A" | head -1)
ms=$(echo "$line $t0" | awk '{ printf "%d", ($1 - $7) * 1000 }')
epoch=$(echo "$line" | awk '{ print $5 }')
[ "$ms" -lt 2000 ] || nt_fail "the new address was announced after $ms ms (limit 2000)"
[ "$epoch" = 0 ] || nt_fail "the epoch did not restart with the new address (epoch $epoch)"
grep ' pcp 128 0 ' "$A" | awk -v t="$t0" '$1 > t' | grep -q . || nt_fail "no PCP ANNOUNCE after the change"
nt_pass "new external address 203.0.113.11 announced after $ms ms, epoch restarted"

nt_bg hostA listener socat -u UDP-RECV:4500 OPEN:"$NT_DIR/got",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q ":4500 "' || nt_fail "listener did not start"
for i in $(seq 20); do
	grep -q via-new "$NT_DIR/got" 2>/dev/null && break
	echo via-new | nt_exec pub socat -u - UDP:203.0.113.11:4500
	sleep 0.1
done
grep -q via-new "$NT_DIR/got" || nt_fail "203.0.113.11:4500 does not reach hostA"
nt_exec natA "$GWD" status --state-dir "$STATE" | head -1 |
	grep -q '^external address 203\.0\.113\.11 on wan0, epoch [0-9]* s, 1 mapping$' ||
	nt_fail "status: $(nt_exec natA "$GWD" status --state-dir "$STATE")"
nt_pass "the mapping forwards on the new address; status shows 203.0.113.11"

# 4. a restarted gwd: soft state (RFC 6281 §4.2), epoch back at 0, announced
sleep 1
kill -TERM "$GWD_PID"
wait "$GWD_PID" || nt_fail "gwd exited with an error"
nt_exec natA nft list ruleset | grep -q autotunnel-gwd && nt_fail "gwd left its table behind"
t1=$(date +%s.%N)
nt_bg natA gwd2 "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE"
nt_wait 3 sh -c "awk -v t=$t1 '\$1 > t && \$3 == \"pmp\" && \$5 == 0' '$A' | grep -q ." ||
	nt_fail "no epoch-0 announcement after the restart"
nt_exec natA "$GWD" status --state-dir "$STATE" | head -1 | grep -q ', 0 mappings$' ||
	nt_fail "the restarted gwd remembers mappings"
nt_pass "restarted gwd announces epoch 0 and starts with no mappings"
