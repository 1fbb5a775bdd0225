#!/bin/sh
# Issue 12: tunnels through the account's TURN relay (docs/relay.md).
#   rv     autotunnel-dnsd with --turn-server and --turn-secret-file (so
#          _turn._udp.D names coturn and _turn-credential.D hands out
#          credentials), and coturn with the settings of docs/relay.md;
#   hostC  behind natC, hostD behind natD: both endpoint-dependent NATs
#          ("symmetric", random port per flow) with no port mapping, so
#          neither can be reached directly and punching cannot work.
# With the default relay = auto both agents allocate on coturn from their
# tunnel socket, publish the relayed address as a relay candidate (_cand),
# and, no direct pair working, path selection nominates the pair to the
# other's relayed address: they reach
# each other relay to relay. Checks: ping6 and a 4 MB TCP transfer through
# the tunnel; the data plane's relay counters and coturn's own session log
# show the traffic went through coturn; tcpdump on rv never sees a marker
# string sent in the inner TCP stream (only ESP crosses the relay);
# coturn restarted -> both allocate again and the tunnel works again;
# UDP blocked on hostC's side (all outbound UDP dropped but DNS) -> its
# agent allocates over TLS (5349) after a short UDP attempt, and the
# tunnel works through it; netcheck says UDP is blocked.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump is not installed"; exit 77; }
nt_topology
nt_addr rv eth0 198.51.100.54/24
nt_router natC 203.0.113.30 hostC 3 edm
nt_router natD 203.0.113.40 hostD 4 edm

SECRET=$(head -c 24 /dev/urandom | base64)
(umask 077; printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
# verbose: coturn logs each session's usage (bytes from the client and from peers) when it ends
TURN_EXTRA=verbose turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
at_dnsd --turn-server 198.51.100.53 --turns-server 198.51.100.53 --stun-server 198.51.100.53 \
	--turn-secret-file "$NT_DIR/turn.secret" --turn-credential-ttl 600
at_account alice 'correct horse battery'

# everything that crosses the relay's interface, for the marker check
nt_bg rv tcpdump tcpdump -i eth0 -n -U -s 0 -w "$NT_DIR/relay.pcap" udp or tcp port 3478 or tcp port 5349
DUMP_PID=$NT_LAST_PID
nt_wait 5 test -s "$NT_DIR/relay.pcap" || nt_fail "tcpdump did not start: $(cat "$NT_DIR/tcpdump.log")"

at_agent_start hostC laptop "no-portmap = yes"
at_agent_start hostD desktop "no-portmap = yes"
at_login hostC alice 'correct horse battery' >/dev/null || nt_fail "hostC: login failed"
at_login hostD alice 'correct horse battery' >/dev/null || nt_fail "hostD: login failed"
at_log_wait hostC 'relay: allocated 198.51.100.5[34]:' 20 || nt_fail "hostC allocated nothing: $(cat "$NT_DIR/agent-hostC.log")"
at_log_wait hostD 'relay: allocated 198.51.100.5[34]:' 20 || nt_fail "hostD allocated nothing: $(cat "$NT_DIR/agent-hostD.log")"
RC=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .*/\1/p' "$NT_DIR/agent-hostC.log" | tail -1)
RD=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .*/\1/p' "$NT_DIR/agent-hostD.log" | tail -1)
nt_pass "both hosts allocated on coturn over UDP from their tunnel sockets: laptop $RC, desktop $RD"


UD=$(at_ula hostD)
ok=""
for i in $(seq 10); do
	nt_exec hostC ping -6 -c 1 -W 2 "$UD" >/dev/null 2>&1 && { ok=1; break; }
done
[ -n "$ok" ] || nt_fail "no ping6 through the relay: $(tail -30 "$NT_DIR/agent-hostC.log")"
nt_exec hostC ping -6 -c 5 -i 0.2 -W 2 "$UD" >/dev/null || nt_fail "ping6 through the relay lost packets"
nt_pass "ping6 laptop -> desktop through the relay"

# path selection (docs/paths.md): the relayed pair is the candidate of last resort
grep -q "desktop: relayed path $RD (relay" "$NT_DIR/agent-hostC.log" ||
	nt_fail "hostC did not nominate the relayed pair to $RD: $(grep -e desktop "$NT_DIR/agent-hostC.log")"
at_log_wait hostC "relay: desktop at $RD is reached through" 20 ||
	nt_fail "hostC did not bind desktop's relayed address $RD: $(grep -e relay -e desktop "$NT_DIR/agent-hostC.log")"
at_log_wait hostD "relay: laptop at $RC is reached through" 20 ||
	nt_fail "hostD did not bind laptop's relayed address $RC: $(grep -e relay -e laptop "$NT_DIR/agent-hostD.log")"
nt_pass "no direct pair worked (both NATs endpoint-dependent): each host reaches the other's relayed address (its relay candidate) through its own allocation"

out=$(at_cli hostC status)
printf '%s\n' "$out" | grep -q "^relay    via 198.51.100.53:3478 (udp), relayed address $RC, rtt [0-9.]* ms$" ||
	nt_fail "hostC's status shows no relay line: $out"
printf '%s\n' "$out" | grep -q "^peer     desktop  $UD   relayed $RD   rtt [0-9]* ms" ||
	nt_fail "hostC's status does not show desktop relayed at $RD: $out"
at_cli hostC status --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
me, p = s["self"], s["peers"][0]
assert me["relay"] == "allocated" and me["relay_transport"] == "udp", me
assert "%s:%d" % (me["relayed"], me["relayed_port"]) == sys.argv[1], me
assert p["via_relay"] is True and "%s:%d" % (p["outer"], p["port"]) == sys.argv[2], p' "$RC" "$RD" ||
	nt_fail "hostC status --json: $(at_cli hostC status --json)"
nt_pass "status: $(printf '%s\n' "$out" | grep '^relay')"

# 4 MB over TCP through the tunnel, with a marker string in the stream
MARKER="relay-marker-$$-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
/usr/bin/python3 -c 'import os, sys
m = sys.argv[1].encode()
with open(sys.argv[2], "wb") as f:
    for i in range(1024):
        f.write(m + os.urandom(4096 - len(m)))' "$MARKER" "$NT_DIR/blob"
# transfer: the blob from hostC to desktop's ULA over TCP through the tunnel, checked; prints the ms it took
transfer() {
	local sink t0
	rm -f "$NT_DIR/blob.recv"
	nt_bg hostD sink socat -u TCP6-LISTEN:5001,bind=["$UD"],reuseaddr OPEN:"$NT_DIR/blob.recv",creat,trunc
	sink=$NT_LAST_PID
	nt_wait 5 nt_exec hostD sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "the TCP listener did not start"
	t0=$(at_now_ms)
	timeout 60 ip netns exec "$(nt_ns hostC)" socat -u OPEN:"$NT_DIR/blob" TCP6:["$UD"]:5001 ||
		nt_fail "the TCP transfer through the relay failed"
	nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "received data differs"
	echo $(( $(at_now_ms) - t0 ))
	nt_stop "$sink"
}
before=$(nt_exec rv cat /proc/net/dev | awk '$1 == "eth0:" { print $2 + $10 }')
ms=$(transfer)
after=$(nt_exec rv cat /proc/net/dev | awk '$1 == "eth0:" { print $2 + $10 }')
[ $((after - before)) -gt $((2 * 4194304)) ] || nt_fail "only $((after - before)) bytes crossed rv's eth0 for 4 MB relayed twice"
nt_pass "4 MB over TCP through the relay in $ms ms, intact; $((after - before)) bytes crossed the relay's interface"

# only ESP crosses the relay: the marker is never seen in clear
nt_stop "$DUMP_PID"
[ "$(stat -c %s "$NT_DIR/relay.pcap")" -gt 4194304 ] || nt_fail "the capture on rv holds less than the transfer"
if grep -a -q -F "$MARKER" "$NT_DIR/relay.pcap"; then
	nt_fail "the marker of the inner TCP stream appears on the relay's interface"
fi
nt_pass "tcpdump on the relay ($(stat -c %s "$NT_DIR/relay.pcap") bytes) never saw the marker: only ESP crossed it"

# --- coturn restarted: its allocations are gone; both agents allocate again and the tunnel recovers
nc=$(grep -c 'relay: allocated ' "$NT_DIR/agent-hostC.log")
nd=$(grep -c 'relay: allocated ' "$NT_DIR/agent-hostD.log")
turn_stop
cp "$NT_DIR/turnserver.log" "$NT_DIR/turnserver.log.first"
TURN_EXTRA=verbose turn_start rv "$SECRET" "$AT_ZONE" 198.51.100.53 198.51.100.54
t0=$(at_now_ms)
nt_wait 60 sh -c "[ \$(grep -c 'relay: allocated ' '$NT_DIR/agent-hostC.log') -gt $nc ] &&
	[ \$(grep -c 'relay: allocated ' '$NT_DIR/agent-hostD.log') -gt $nd ]" ||
	nt_fail "the agents did not allocate again after coturn's restart:
$(grep relay "$NT_DIR/agent-hostC.log" | tail -5)
$(grep relay "$NT_DIR/agent-hostD.log" | tail -5)"
ok=""
for i in $(seq 30); do
	nt_exec hostC ping -6 -c 1 -W 1 "$UD" >/dev/null 2>&1 && { ok=1; break; }
done
[ -n "$ok" ] || nt_fail "no ping6 after coturn's restart: $(tail -30 "$NT_DIR/agent-hostC.log")"
nt_pass "coturn restarted: both allocated again and the tunnel works again after $(( $(at_now_ms) - t0 )) ms"

ms=$(transfer)
nt_pass "4 MB over TCP through the relay after coturn's restart in $ms ms, intact"

# the data plane's counters: the traffic went as ChannelData, and the control traffic stayed small
kill -USR1 "$AT_PID_hostC"
at_log_wait hostC 'stats: .*relay_tx=' 5 || nt_fail "hostC logged no stats"
st=$(grep 'stats: ' "$NT_DIR/agent-hostC.log" | tail -1)
rtx=$(printf '%s\n' "$st" | sed -n 's/.* relay_tx=\([0-9]*\).*/\1/p')
srx=$(printf '%s\n' "$st" | sed -n 's/.* stun_in=\([0-9]*\).*/\1/p')
[ "${rtx:-0}" -gt 5000 ] || nt_fail "hostC sent only ${rtx:-0} ChannelData messages: $st"
[ "${srx:-0}" -lt 200 ] || nt_fail "hostC received $srx STUN messages: a refresh loop? $st"
nt_pass "hostC's data plane sent $rtx datagrams as ChannelData; $srx STUN messages in all"

# coturn's own counters: hostC deallocates as it stops, and coturn logs what the session carried
at_agent_stop hostC
nt_wait 10 grep -q "usage: realm=<$AT_ZONE>, username=<[0-9]*:alice>, rp=" "$NT_DIR/turnserver.log" ||
	nt_fail "coturn logged no usage of alice's sessions: $(tail -20 "$NT_DIR/turnserver.log")"
rb=$(sed -n 's/.* usage: realm=<[^>]*>, username=<[0-9]*:alice>, rp=[0-9]*, rb=\([0-9]*\),.*/\1/p' "$NT_DIR/turnserver.log" |
	sort -n | tail -1)
# (coturn 4.6 was seen to count about 2/3 of the datagrams of a 4 MB burst: ask for half)
[ "${rb:-0}" -gt 2097152 ] || nt_fail "coturn counted at most ${rb:-0} bytes from alice's clients:
$(grep usage "$NT_DIR/turnserver.log")"
nt_pass "coturn's own counters: a session of alice's credential carried $rb bytes from its client"

# --- UDP blocked on hostC's side: TURN over TLS, the tunnel through it
nt_exec hostC nft -f - <<'NFT'
table inet udpblock {
	chain out {
		type filter hook output priority filter; policy accept;
		udp dport != 53 counter drop
	}
}
NFT
t0=$(at_now_ms)
at_agent_start hostC laptop "no-portmap = yes"	# it signs in again with the account it saved
at_log_wait hostC 'relay: allocated .* (tls)' 20 ||
	nt_fail "hostC allocated nothing over TLS: $(grep relay "$NT_DIR/agent-hostC.log")"
RC=$(sed -n 's/.*relay: allocated \(198.51.100.5[34]:[0-9]*\) on .* (tls).*/\1/p' "$NT_DIR/agent-hostC.log" | tail -1)
grep -q "relay: 198.51.100.53:3478 over udp: no answer within 2 s" "$NT_DIR/agent-hostC.log" ||
	nt_fail "hostC did not try UDP first: $(grep relay "$NT_DIR/agent-hostC.log")"
ok=""
for i in $(seq 20); do
	nt_exec hostC ping -6 -c 1 -W 1 "$UD" >/dev/null 2>&1 && { ok=1; break; }
done
[ -n "$ok" ] || nt_fail "no ping6 through the relay over TLS: $(tail -30 "$NT_DIR/agent-hostC.log")"
at_log_wait hostD "relay: laptop at $RC is reached through" 20 ||
	nt_fail "hostD did not bind laptop's new relayed address $RC: $(grep relay "$NT_DIR/agent-hostD.log" | tail -5)"
nt_pass "UDP blocked on hostC: allocated $RC over TLS after a 2 s try over UDP; ping6 through it $(( $(at_now_ms) - t0 )) ms after the agent started"
dropped=$(nt_exec hostC nft list table inet udpblock | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
[ "${dropped:-0}" -gt 0 ] || nt_fail "hostC's UDP block dropped nothing"
ms=$(transfer)
nt_pass "4 MB over TCP through the relay over TLS in $ms ms, intact (the block dropped $dropped UDP packets)"
out=$(at_cli hostC status)
printf '%s\n' "$out" | grep -q "^relay    via 198.51.100.53:5349 (tls), relayed address $RC" ||
	nt_fail "hostC's status shows no TLS relay: $out"
out=$(at_cli hostC netcheck)
printf '%s\n' "$out" | grep -q "^udp        blocked on this network: tunnels go through the relay over TLS$" ||
	nt_fail "hostC's netcheck does not say UDP is blocked: $out"
nt_pass "status and netcheck: $(printf '%s\n' "$out" | grep '^udp')"
