#!/bin/sh
# Issue 11: two hosts behind plain masquerade (endpoint-independent mapping,
# address-and-port-dependent filtering), no port mapping anywhere (no gwd,
# no miniupnpd), signed in to one account whose server names coturn as its
# STUN server, reach each other directly by hole punching:
#   - each publishes its candidates (_cand.H.D: lan, srflx with map/filt);
#   - the first packet makes the agent write a punch request (_punch.P.D),
#     the peer hears it through its LLQ or DNS Push, both send checks;
#   - the lower ULA starts IKE on the nominated pair: ping6 and a TCP
#     transfer over the ULAs work, the log says "punched";
#   - a forged check (the wrong key, from another namespace) is refused and
#     counted, and an UPDATE of _punch with a wrong key is refused;
#   - laptop moves behind another home router: gathered again, punched again,
#     the SA follows (MOBIKE, no rekey) after a short stall;
#   - two hosts on one LAN behind one router connect on the LAN ("lan").
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/punch_lib.sh"
nt_setup
# the refused checks are logged at debug level (remote input)
AT_LOG_LEVEL=debug
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
[ -x "$TURN_BIN" ] || { echo "SKIP: coturn (turnserver) is not installed"; exit 77; }
command -v dig >/dev/null && command -v nsupdate >/dev/null || { echo "SKIP: needs dig and nsupdate"; exit 77; }
nt_topology
punch_router natA natB
punch_bed
D=alice.$AT_ZONE

punch_host hostA laptop
punch_host hostB desktop
UA=$(at_ula hostA)
UB=$(at_ula hostB)
nt_wait 10 at_lists hostA desktop || nt_fail "hostA does not list desktop: $(at_cli hostA hosts)"
nt_wait 10 at_lists hostB laptop || nt_fail "hostB does not list laptop: $(at_cli hostB hosts)"

# ---- the candidates in DNS (docs/paths.md §1.1)
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
cands() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_cand.$1.$D" TXT; }
ok=0
for i in $(seq 50); do
	ca=$(cands laptop); cb=$(cands desktop)
	case "$ca$cb" in *srflx*srflx*) ok=1; break ;; esac
	sleep 0.2
done
[ $ok = 1 ] || nt_fail "no reflexive candidates published: laptop '$ca', desktop '$cb'"
printf '%s\n' "$ca" | grep -qx '"at-cand=1 gen=[0-9]*" "lan 192.168.1.2 4500 prio=2130706431 plen=24" "srflx 203.0.113.10 4500 prio=1526726655 map=ei filt=apd"' ||
	nt_fail "_cand.laptop: $ca"
printf '%s\n' "$cb" | grep -qx '"at-cand=1 gen=[0-9]*" "lan 192.168.2.2 4500 prio=2130706431 plen=24" "srflx 203.0.113.20 4500 prio=1526726655 map=ei filt=apd"' ||
	nt_fail "_cand.desktop: $cb"
nt_pass "both publish their candidates: lan and srflx (map=ei filt=apd), no location"

# ---- the first packet: punch request, checks, IKE on the punched pair
# the lower ULA starts IKE (docs/paths.md §5): ask from the other side, so the request is what starts it
if [ "$(printf '%s\n%s\n' "$UA" "$UB" | sort | head -1)" = "$UA" ]; then LO=hostA HI=hostB UHI=$UB ULO=$UA; else LO=hostB HI=hostA UHI=$UA ULO=$UB; fi
ms=$(punch_ping_ms $HI "$ULO") || nt_fail "no reply through a punched path:
$HI: $(grep -i 'path\|punch\|tunnel\|check\|stun' "$NT_DIR/agent-$HI.log" | tail -15)
$LO: $(grep -i 'path\|punch\|tunnel\|check\|stun' "$NT_DIR/agent-$LO.log" | tail -15)"
nt_log "first packet to first reply through the punched path: $ms ms"
grep -q "direct path 203.0.113.[12]0:4500 (punched, rtt [0-9]* ms, we start IKE on it)" "$NT_DIR/agent-$LO.log" ||
	nt_fail "$LO's log does not say it found the punched path: $(grep -i path "$NT_DIR/agent-$LO.log")"
# the higher ULA's own nomination may come a moment after the first reply (the lower one's IKE
# can beat its check's answer back): wait for it
at_log_wait $HI "direct path 203.0.113.[12]0:4500 (punched, rtt [0-9]* ms, it starts IKE on it)" 5 ||
	nt_fail "$HI's log does not say it found the punched path: $(grep -i path "$NT_DIR/agent-$HI.log")"
grep -q 'it asked us to punch\|its check arrived' "$NT_DIR/agent-$LO.log" || nt_fail "$LO did not hear the request"
nt_pass "$HI pinged $LO: punch request, checks, IKE on the punched pair in $ms ms"

# what the user sees: the path class, its outer endpoint and RTT, on both ends
punched() { at_cli "$1" status | grep '^peer ' | grep -q "   punched 203\.0\.113\.[12]0:4500   rtt [0-9]* ms"; }
for h in $LO $HI; do
	nt_wait 5 punched $h || nt_fail "$h status: $(at_cli $h status)"
	at_cli $h status --json | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)["peers"][0]
assert p["state"] == "up" and p["path"] == "punched" and p["outer"] in ("203.0.113.10", "203.0.113.20"), p
assert p["port"] == 4500 and "rtt_ms" in p, p' || nt_fail "$h status --json: $(at_cli $h status --json)"
done
nt_pass "status on both ends: punched, the peer's reflexive endpoint, rtt (text and --json)"
# exactly one IKE SA each way: only the lower ULA started IKE
[ "$(grep -c 'starting a tunnel' "$NT_DIR/agent-$HI.log")" = 0 ] || nt_fail "$HI started IKE too: $(grep 'starting a tunnel' "$NT_DIR/agent-$HI.log")"
[ "$(grep -c 'IKE SA up' "$NT_DIR/agent-$LO.log")" = 1 ] && [ "$(grep -c 'IKE SA up' "$NT_DIR/agent-$HI.log")" = 1 ] ||
	nt_fail "not exactly one IKE SA: $(grep 'IKE SA up' "$NT_DIR/agent-$LO.log" "$NT_DIR/agent-$HI.log")"
nt_pass "exactly one IKE SA, started by the lower ULA ($LO)"

# traffic works both ways
nt_exec $LO ping -6 -n -c 3 -i 0.2 -w 5 "$UHI" >/dev/null || nt_fail "$LO cannot ping $HI back"
at_stream_py
nt_bg $LO recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$ULO" 5001 2
RPID=$NT_LAST_PID
nt_wait 5 nt_exec $LO sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "no TCP listener"
out=$(nt_exec $HI /usr/bin/python3 "$NT_DIR/stream.py" send "$ULO" 5001 2) || nt_fail "TCP transfer failed: $out"
nt_wait 10 grep -q 'received [1-9][0-9]* bytes' "$NT_DIR/recv.log" || nt_fail "TCP receiver: $(cat "$NT_DIR/recv.log")"
nt_log "$(cat "$NT_DIR/recv.log")"
nt_pass "ping6 both ways and a TCP transfer over the ULAs through the punched path"

# ---- a forged check: the right form, the wrong key, from another namespace (pub)
cat >"$NT_DIR/forge.py" <<'PY'
import hmac, hashlib, os, socket, struct, sys, zlib
# a Binding request for the victim with USERNAME "victim:attacker-claims-peer", signed with a wrong key
to, frm, dst = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
key = hashlib.sha256(b"not the account's key").digest()
user = (to.hex() + ":" + frm.hex()).encode()
def attr(t, v): return struct.pack(">HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
tid = os.urandom(12)
body = attr(0x0006, user) + attr(0x0024, struct.pack(">I", 1694498815)) + attr(0x802A, os.urandom(8))
hdr = lambda n: struct.pack(">HHI", 0x0001, n, 0x2112A442) + tid
mi = hmac.new(key, hdr(len(body) + 24) + body, hashlib.sha1).digest()
body += attr(0x0008, mi)
fp = (zlib.crc32(hdr(len(body) + 8) + body) ^ 0x5354554E) & 0xffffffff
body += attr(0x8028, struct.pack(">I", fp))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(hdr(len(body)) + body, (dst, 4500))
PY
hex() { /usr/bin/python3 -c 'import ipaddress, sys; print(ipaddress.IPv6Address(sys.argv[1]).packed.hex())' "$1"; }
# sent from LO's router (it reaches LO's tunnel socket: LO's own NAT filters nothing inside)
if [ $LO = hostA ]; then NATLO=natA LOLAN=192.168.1; else NATLO=natB LOLAN=192.168.2; fi
n0=$(grep -c "direct path" "$NT_DIR/agent-$LO.log")
nt_exec $NATLO /usr/bin/python3 "$NT_DIR/forge.py" "$(hex "$ULO")" "$(hex "$UHI")" $LOLAN.2 || nt_fail "cannot send the forged check"
at_log_wait $LO "a connectivity check from $LOLAN.1:[0-9]* refused (wrong key or no integrity; [0-9]* refused so far)" 5 ||
	nt_fail "$LO did not refuse the forged check: $(grep -i check "$NT_DIR/agent-$LO.log" | tail -5)"
sleep 0.5
n=$(grep -c "direct path" "$NT_DIR/agent-$LO.log")
[ "$n" = "$n0" ] && ! grep -q "direct path $LOLAN.1" "$NT_DIR/agent-$LO.log" ||
	nt_fail "the forged check moved $LO's path: $(grep 'direct path' "$NT_DIR/agent-$LO.log")"
nt_exec $HI ping -6 -n -c 2 -i 0.2 -w 5 "$ULO" >/dev/null || nt_fail "the tunnel broke after the forged check"
nt_pass "a forged check (wrong key, from $NATLO) is refused and moves nothing; the tunnel keeps working"

# ---- an UPDATE of _punch with a wrong key is refused
BADK="hmac-sha256:alice.$AT_ZONE:$(head -c 32 /dev/urandom | base64)"
out=$(printf 'server 198.51.100.53\nzone %s\nupdate add _punch.laptop.%s 5 TXT "at-punch=1 from=desktop nonce=000102030405060708090a0b0c0d0eff t=%s" "srflx 198.51.100.7 4500 prio=1526726655 map=ei filt=ei"\nsend\n' \
	"$D" "$D" "$(date +%s)" | nt_exec pub nsupdate -y "$BADK" 2>&1) && nt_fail "an UPDATE with a wrong key was accepted: $out"
[ -z "$(nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "_punch.laptop.$D" TXT | grep 198.51.100.7)" ] ||
	nt_fail "the forged punch request is in the zone"
nt_pass "an UPDATE of _punch.laptop with a wrong key is refused ($(printf '%s' "$out" | grep -o 'tsig[^;]*' | head -1))"

# ---- a network change: laptop (hostA) moves behind another home router (natC); its candidates are
# gathered again, it asks desktop to punch again, and the tunnel follows the new punched pair
nt_router natC 203.0.113.30 hostC 3 eim
punch_router natC
at_bridge_lan natC
at_plug hostA natC lanport1 eth1
t0=$(at_now_ms)
at_move hostA eth0 eth1 192.168.3.3/24 192.168.3.1
back=0
for i in $(seq 60); do
	if nt_exec hostB ping -6 -n -c 1 -W 0.5 "$UA" >/dev/null 2>&1; then back=1; break; fi
done
[ $back = 1 ] || nt_fail "desktop cannot reach laptop after its move:
hostA: $(grep -i 'path\|punch\|tunnel\|moved\|reflexive' "$NT_DIR/agent-hostA.log" | tail -12)
hostB: $(grep -i 'path\|punch\|tunnel\|moved' "$NT_DIR/agent-hostB.log" | tail -12)"
stall=$(( $(at_now_ms) - t0 ))
nt_log "laptop moved behind natC: the tunnel works again after $stall ms"
# a short stall: the reflexive address is used from STUN's first answer, not after the whole check (~3.5 s)
[ "$stall" -lt 3000 ] || nt_fail "the stall after the move was $stall ms"
moved() { at_cli hostB status | grep '^peer     laptop ' | grep -q "   punched 203\.0\.113\.30:4500   "; }
nt_wait 5 moved || nt_fail "desktop's status after the move: $(at_cli hostB status)"
st=$(at_cli hostB status | grep '^peer     laptop ')
# the same SA moved (MOBIKE): no second IKE SA on either end
[ "$(grep -c 'IKE SA up' "$NT_DIR/agent-hostA.log")" = 1 ] && [ "$(grep -c 'IKE SA up' "$NT_DIR/agent-hostB.log")" = 1 ] ||
	nt_fail "a new IKE SA after the move: $(grep 'IKE SA up' "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-hostB.log")"
nt_pass "laptop moved to another NAT: candidates gathered again, punched again, the same SA back after $stall ms ($st)"

# ---- a same-LAN pair (one home router, one bridged LAN): checked on the LAN first
nt_add_ns natF
nt_attach_inet natF wan0 203.0.113.60 203.0.113.1
nt_lan_shared natF 7 hostF hostG
nt_nat_eim natF
punch_router natF
punch_host hostF tv
punch_host hostG nas
UF=$(at_ula hostF)
UG=$(at_ula hostG)
nt_wait 10 at_lists hostF nas || nt_fail "hostF does not list nas: $(at_cli hostF hosts)"
nt_wait 10 at_lists hostG tv || nt_fail "hostG does not list tv: $(at_cli hostG hosts)"
ms=$(punch_ping_ms hostF "$UG") || nt_fail "hostF cannot reach hostG: $(grep -i 'path\|punch\|tunnel' "$NT_DIR/agent-hostF.log" | tail -8)"
nt_log "first packet to first reply on the same LAN: $ms ms"
lan() { at_cli "$1" status | grep '^peer ' | grep -q "   lan 192\.168\.7\.[23]:4500   rtt [0-9]* ms"; }
for h in hostF hostG; do
	nt_wait 5 lan $h || nt_fail "$h status: $(at_cli $h status)"
done
# one round each: a request that arrives after the round already nominated starts no second one
sleep 1
for h in hostF hostG; do
	n=$(grep -c 'checking [0-9]* pairs of candidates' "$NT_DIR/agent-$h.log" || true)
	[ "$n" = 1 ] || nt_fail "$h ran $n rounds on the LAN: $(grep 'checking [0-9]* pairs\|path' "$NT_DIR/agent-$h.log")"
done
nt_pass "same-LAN pair: status says lan (192.168.7.x, no hairpinning through natF), $ms ms to the first reply, one round each"
