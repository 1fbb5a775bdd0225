#!/bin/sh
# Two autotunnelds with IKEv2 (lib/ike, PSK, ID_FQDN) on UDP 4500: the
# tunnel comes up on demand from the first packet (held, not dropped),
# ping6 and a TCP transfer go through, child SAs are rekeyed every 2 s under
# a running TCP stream without breaking it, dead peer detection notices a
# vanished peer, and a wrong PSK is refused with a clear log line.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/pair_lib.sh"
[ -x "$D" ] || nt_fail "no $D (build first)"

pair_setup

openssl rand -hex 32 > "$NT_DIR/psk"
conf() {	# conf NAME ULA PEER PEER_ULA PEER_OUTER PSKFILE
	cat > "$NT_DIR/$1.conf" <<CONF
[tunnel]
ula = $2
workers = 2
local-id = $1.alice.members.example.net
ike-retransmit-ms = 200
ike-retransmit-tries = 3

[peer $3]
remote = $5:4500
remote-id = $3.alice.members.example.net
psk-file = $6
remote-ts = $4/128
connect = no
rekey = ${7:-0}
dpd = ${8:-0}
CONF
}
conf a fd00:a::1 b fd00:b::1 192.0.2.2 "$NT_DIR/psk" 2 1
conf b fd00:b::1 a fd00:a::1 192.0.2.1 "$NT_DIR/psk"
pair_start da db
if grep -q "IKE SA up" "$NT_DIR/da.log" "$NT_DIR/db.log"; then
	nt_fail "a tunnel came up before any packet asked for it"
fi

# 1. on demand: the first ping starts IKE; its packet waits and gets an answer
nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >"$NT_DIR/ping1" || nt_fail "first ping (on demand) got no answer"
grep -q "peer b: packets waiting, starting IKE (tunnel on demand)" "$NT_DIR/da.log" ||
	nt_fail "a did not start IKE on demand"
nt_wait 5 grep -q "peer b: IKE SA up with b.alice.members.example.net at 192.0.2.2:4500" "$NT_DIR/da.log" ||
	nt_fail "a's log does not show the IKE SA"
nt_wait 5 grep -q "peer a: child SA up, aes256gcm16" "$NT_DIR/db.log" || nt_fail "b has no child SA"
nt_pass "tunnel on demand: first packet held and answered ($(grep -m1 'child SA up' "$NT_DIR/da.log" | sed 's/^autotunneld: //'))"

nt_exec a ping -6 -c 3 -i 0.2 -W 2 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "ping6 failed"
grep -q "3 received" "$NT_DIR/ping6" || nt_fail "ping6: $(tail -2 "$NT_DIR/ping6")"
nt_pass "ping6 through the IKE tunnel"

head -c 10000000 /dev/urandom > "$NT_DIR/blob"
pair_tcp sink
nt_pass "10 MB over TCP through the IKE tunnel, intact"

# 2. child SAs rekeyed every 2 s (a's rekey = 2) under a 6 s TCP stream
nt_bg b iperf iperf3 -s -p 5201 -B fd00:b::1
nt_wait 5 nt_exec b sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "iperf3 server did not start"
before=$(grep -c "(rekeyed)" "$NT_DIR/da.log" "$NT_DIR/db.log" | awk -F: '{s += $2} END {print s}')
timeout 20 ip netns exec "$(nt_ns a)" iperf3 -c fd00:b::1 -p 5201 -t 6 -J >"$NT_DIR/iperf.json" ||
	nt_fail "the TCP stream broke during rekeys"
after=$(grep -c "(rekeyed)" "$NT_DIR/da.log" "$NT_DIR/db.log" | awk -F: '{s += $2} END {print s}')
[ $((after - before)) -ge 4 ] || nt_fail "only $((after - before)) rekey log lines during the stream (expected both ends, at least twice)"
stall=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for i in d["intervals"] if i["sum"]["bytes"] == 0))' "$NT_DIR/iperf.json")
[ "$stall" = 0 ] || nt_fail "$stall one-second intervals without data during rekeys"
nt_pass "TCP kept flowing through $(( (after - before) / 2 )) child SA rekeys in 6 s"

# 3. dead peer detection: b vanishes without a word (TERM sends no Delete)
nt_stop "$PID_B"
nt_wait 8 grep -q "peer b: IKE SA down: peer not answering" "$NT_DIR/da.log" ||
	nt_fail "a did not notice that b vanished (DPD)"
nt_pass "dead peer detected: $(grep -m1 'IKE SA down' "$NT_DIR/da.log" | sed 's/^autotunneld: //')"

# 4. a wrong PSK: no tunnel, and the log says why
nt_stop "$PID_A"
openssl rand -hex 32 > "$NT_DIR/psk.wrong"
conf a fd00:a::1 b fd00:b::1 192.0.2.2 "$NT_DIR/psk.wrong"
pair_start da2 db2
if nt_exec a ping -6 -c 2 -i 0.5 -W 2 fd00:b::1 >/dev/null 2>&1; then
	nt_fail "ping went through with a wrong PSK"
fi
nt_wait 5 grep -q "IKE authentication failed.*wrong pre-shared key or identity" "$NT_DIR/da2.log" "$NT_DIR/db2.log" ||
	nt_fail "no log line about the failed authentication"
nt_pass "wrong PSK refused: $(grep -h -m1 'authentication failed' "$NT_DIR/db2.log" "$NT_DIR/da2.log" | head -1)"
