#!/bin/sh
# Our own client through our own gateway, on the bed of docs/design.md §9:
#  (a) `autotunnel portmap --udp 4500` on hostA maps UDP 4500 through
#      autotunnel-gwd on natA (PCP), and pub reaches hostA's UDP port
#      through 203.0.113.10:4500;
#  (d) gwd restarted (soft state, RFC 6281 §4.2): the --keep client sees the
#      new epoch and its mapping works again within 2 s (measured);
#  (e) natA's external address changes: the announcement reaches the client,
#      which reports the new address within 2 s (measured);
#  and on SIGTERM the client deletes its mapping, leaving no rule behind.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
CLI=$AT_BUILD/src/autotunnel/autotunnel
[ -x "$GWD" ] || nt_fail "$GWD not built"
if [ ! -x "$CLI" ]; then
	echo "SKIP: $CLI (autotunnel portmap) is not built yet"
	exit 77
fi
nt_topology
STATE=$NT_DIR/gwd
LIMIT_MS=2000

now_ms() { date +%s%3N; }
gwd_status() { nt_exec natA "$GWD" status --state-dir "$STATE"; }
our_elements() {
	nt_exec natA nft list table ip autotunnel-gwd 2>/dev/null | grep -A3 'elements = ' || true
}
# Send fresh datagrams (a new source port each: no conntrack memory) from
# pub to $1:$2 every 50 ms until hostA's listener got one, for at most $3 ms.
# Prints the milliseconds it took, or fails.
reach_within() {
	local addr=$1 port=$2 limit=$3 start tag i
	start=$(now_ms)
	tag="probe-$start"
	for i in $(seq $((limit / 50 + 20))); do
		echo "$tag" | nt_exec pub socat -u - "UDP:$addr:$port" 2>/dev/null
		if grep -q "$tag" "$NT_DIR/got" 2>/dev/null; then
			echo $(( $(now_ms) - start ))
			return 0
		fi
		[ $(( $(now_ms) - start )) -le $((limit + 1000)) ] || break
		sleep 0.05
	done
	return 1
}
# Wait up to $2 ms for a line matching $1 in the client's output; print when.
line_within() {
	local re=$1 limit=$2 start=$3
	while [ $(( $(now_ms) - start )) -le $((limit + 1000)) ]; do
		if grep -q "$re" "$NT_DIR/client.log"; then
			echo $(( $(now_ms) - start ))
			return 0
		fi
		sleep 0.02
	done
	return 1
}

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE"
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"
nt_bg hostA listener socat -u UDP-RECV:4500 OPEN:"$NT_DIR/got",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q ":4500 "' || nt_fail "listener did not start"

# (a) one mapping, printed
out=$(nt_exec hostA timeout 20 "$CLI" portmap --udp 4500 2>"$NT_DIR/portmap.err") ||
	nt_fail "autotunnel portmap failed: $out $(cat "$NT_DIR/portmap.err")"
want="protocol PCP
gateway 192.168.1.1
internal 192.168.1.2:4500
external 203.0.113.10:4500
lifetime 7200"
[ "$out" = "$want" ] || nt_fail "autotunnel portmap printed:
$out
expected:
$want"
gwd_status | grep -q '^192\.168\.1\.2:4500  *-> 4500  *udp .* PCP$' || nt_fail "gwd status: $(gwd_status)"
ms=$(reach_within 203.0.113.10 4500 2000) || nt_fail "pub does not reach hostA:4500 through 203.0.113.10:4500"
nt_pass "(a) autotunnel portmap: PCP 203.0.113.10:4500 -> 192.168.1.2:4500; pub reaches hostA"

# the one-shot mapping goes; a --keep client takes over the port
got=$(nt_exec hostA /usr/bin/python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(struct.pack(">BBHHHI", 0, 1, 0, 4500, 0, 0), ("192.168.1.1", 5351))
print(struct.unpack(">H", s.recv(64)[2:4])[0])')
[ "$got" = 0 ] || nt_fail "deleting the one-shot mapping: result $got"
nt_bg hostA client "$CLI" portmap --udp 4500 --lifetime 600 --keep
CLIENT_PID=$NT_LAST_PID
ms=$(line_within '^external 203\.0\.113\.10:4500$' 5000 "$(now_ms)") ||
	nt_fail "the --keep client did not map: $(cat "$NT_DIR/client.log")"
reach_within 203.0.113.10 4500 2000 >/dev/null || nt_fail "no forwarding for the --keep client"

# (d) restart gwd: everything is forgotten, the epoch starts at 0. A restart
# is only visible in the epoch once the old one has run a few seconds (the
# client allows 2 s of jitter, RFC 6886 §3.6), so let it reach 4 s first.
epoch_of() { gwd_status | head -1 | sed -n 's/.*, epoch \([0-9]*\) s,.*/\1/p'; }
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns natA) '$GWD' status --state-dir '$STATE' |
	sed -n 's/.*, epoch \([0-9]*\) s,.*/\1/p')\" -ge 4 ]" || nt_fail "gwd's epoch did not reach 4 s: $(epoch_of)"
kill -TERM "$GWD_PID"
wait "$GWD_PID" || nt_fail "gwd exited with an error"
[ -z "$(our_elements)" ] || nt_fail "gwd left elements behind"
t0=$(now_ms)
nt_bg natA gwd2 "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE"
GWD_PID=$NT_LAST_PID
ms=$(reach_within 203.0.113.10 4500 "$LIMIT_MS") || nt_fail "(d) no forwarding after the gwd restart"
ms=$(( $(now_ms) - t0 ))
[ "$ms" -le "$LIMIT_MS" ] || nt_fail "(d) the mapping worked again only after $ms ms (limit $LIMIT_MS)"
# forwarding can come back a moment before the client has printed the
# answer that made it, so give the lines the same time budget from t0
line_within '^gateway-reset$' "$LIMIT_MS" "$t0" >/dev/null ||
	nt_fail "(d) the client did not report the new epoch"
line_within '^recreated external 203\.0\.113\.10:4500 lifetime 600$' "$LIMIT_MS" "$t0" >/dev/null ||
	nt_fail "(d) the client did not re-create: $(cat "$NT_DIR/client.log")"
nt_pass "(d) gwd restarted: epoch noticed, mapping re-created and forwarding again after $ms ms"

# (e) the external address changes: 203.0.113.11 comes, 203.0.113.10 goes
nt_exec natA sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nt_exec natA ip addr add 203.0.113.11/24 dev wan0
t0=$(now_ms)
nt_exec natA ip addr del 203.0.113.10/24 dev wan0
nt_exec natA ip route replace default via 203.0.113.1 dev wan0
ms=$(line_within 'external 203\.0\.113\.11:4500' "$LIMIT_MS" "$t0") ||
	nt_fail "(e) the client did not report 203.0.113.11: $(cat "$NT_DIR/client.log")"
[ "$ms" -le "$LIMIT_MS" ] || nt_fail "(e) the new address was reported after $ms ms (limit $LIMIT_MS)"
reach_within 203.0.113.11 4500 2000 >/dev/null || nt_fail "(e) no forwarding through 203.0.113.11:4500"
nt_pass "(e) new external address reported by the client after $ms ms, and it forwards"

# the client deletes its mapping on SIGTERM; gwd keeps nothing of it
kill -TERM "$CLIENT_PID"
rc=0
wait "$CLIENT_PID" || rc=$?
[ "$rc" = 0 ] || nt_fail "the client exited with status $rc"
grep -q '^deleted external 203\.0\.113\.11:4500$' "$NT_DIR/client.log" ||
	nt_fail "the client did not report its delete: $(cat "$NT_DIR/client.log")"
gwd_status | head -1 | grep -q ', 0 mappings$' || nt_fail "gwd still lists the mapping: $(gwd_status)"
[ -z "$(our_elements)" ] || nt_fail "a DNAT element is left: $(our_elements)"
kill -TERM "$GWD_PID"
wait "$GWD_PID" || nt_fail "gwd exited with an error"
nt_exec natA nft list ruleset | grep -q autotunnel-gwd && nt_fail "gwd left its table behind"
nt_pass "client's delete on exit and gwd's exit leave no rule behind"
