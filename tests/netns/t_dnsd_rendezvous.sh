#!/bin/sh
# autotunnel-dnsd as the rendezvous server of docs/design.md §9: it runs in [rv]
# (198.51.100.53, port 53 and DNS over TLS on 853); hostA, behind natA's
# masquerade, watches its account with an LLQ over UDP and hears, through
# the NAT, a peer publish and move its SRV record (nsupdate from [pub]) and
# a vanished host's record expire (hostB, behind natB, published it with a
# 2-second lease and went away). The synthesised SRV records point hosts at
# the server.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
nt_topology

DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
# a directory of its own: the server hands it to the user it runs as
DB=$NT_DIR/dnsd/dns.db
mkdir -m 0700 "$NT_DIR/dnsd"
Z=members.example.net
RV=198.51.100.53
dnsd() { nt_exec rv "$DNSD" --zone $Z --db "$DB" "$@"; }

echo 'alice password' | dnsd account add alice
K=$(dnsd account show alice --tsig)
nt_bg rv dnsd "$DNSD" --zone $Z --listen $RV --server-name rv.$Z --db "$DB" --lease-min 1
nt_wait 10 nt_exec pub dig +time=1 +tries=1 @$RV $Z SOA || nt_fail "server did not start"

# a host finds the server through the synthesised records, with its key
[ "$(nt_exec hostA dig +short -y "$K" @$RV _dns-update._udp.alice.$Z SRV | head -n1)" = "0 0 53 rv.$Z." ] ||
	nt_fail "synthesised _dns-update._udp SRV"
[ "$(nt_exec hostA dig +short -y "$K" @$RV _dns-llq-tls._tcp.alice.$Z SRV | head -n1)" = "0 0 853 rv.$Z." ] ||
	nt_fail "synthesised _dns-llq-tls._tcp SRV"
[ "$(nt_exec hostA dig +short -y "$K" @$RV rv.$Z A | head -n1)" = "$RV" ] || nt_fail "server address"
nt_pass "synthesised SRV records lead to the server"

# hostA watches desktop's SRV from behind natA
N=_autotunnel._udp.desktop.alice.$Z
nt_bg hostA watch /usr/bin/python3 "$AT_SRC/tests/interop/dns_watch.py" $RV 53 "$K" $N SRV 4 20
WATCH=$NT_LAST_PID
# and a second watcher of the same name on the public host (events to
# several watchers are built once and patched: each must still verify)
nt_bg pub watch2 /usr/bin/python3 "$AT_SRC/tests/interop/dns_watch.py" $RV 53 "$K" $N SRV 4 20
WATCH2=$NT_LAST_PID
nt_wait 10 grep -q established "$NT_DIR/watch.log" || { cat "$NT_DIR/watch.log"; nt_fail "LLQ setup through the NAT"; }
nt_wait 10 grep -q established "$NT_DIR/watch2.log" || { cat "$NT_DIR/watch2.log"; nt_fail "LLQ setup from pub"; }

# a peer on the internet publishes desktop's SRV, then moves it
printf 'server %s\nzone %s\nupdate add %s 300 SRV 0 0 4500 AutoTunnel-1.alice.%s.\nsend\n' $RV $Z $N $Z |
	nt_exec pub nsupdate -y "$K" || nt_fail "nsupdate add"
nt_wait 5 grep -q "add $N. SRV" "$NT_DIR/watch.log" || nt_fail "no event for the add"
printf 'server %s\nzone %s\nupdate delete %s SRV\nupdate add %s 300 SRV 0 0 61001 AutoTunnel-1.alice.%s.\nsend\n' \
	$RV $Z $N $N $Z | nt_exec pub nsupdate -y "$K" || nt_fail "nsupdate move"

# hostB publishes the same SRV with a 2 s lease, then vanishes: it expires
nt_exec hostB /usr/bin/python3 - $RV "$K" $N <<'PY' || nt_fail "leased update from hostB"
import struct, sys
import dns.edns, dns.query, dns.rcode, dns.tsig, dns.update
server, keytext, name = sys.argv[1:4]
alg, kname, secret = keytext.split(":", 2)
u = dns.update.UpdateMessage("members.example.net.")
u.add(name + ".", 300, "SRV", "0 0 4500 AutoTunnel-2.alice.members.example.net.")
u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", 2))])
u.use_tsig(dns.tsig.Key(kname, secret, alg))
r = dns.query.udp(u, server, timeout=5)
assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
PY
wait "$WATCH" 2>/dev/null || true
wait "$WATCH2" 2>/dev/null || true

cat >"$NT_DIR/watch.expected" <<EOF
established
add $N. SRV 0 0 4500 AutoTunnel-1.alice.$Z.
remove $N. SRV 0 0 4500 AutoTunnel-1.alice.$Z.
add $N. SRV 0 0 61001 AutoTunnel-1.alice.$Z.
add $N. SRV 0 0 4500 AutoTunnel-2.alice.$Z.
remove $N. SRV 0 0 4500 AutoTunnel-2.alice.$Z.
EOF
diff -u "$NT_DIR/watch.expected" "$NT_DIR/watch.log" || nt_fail "events seen behind the NAT differ"
diff -u "$NT_DIR/watch.expected" "$NT_DIR/watch2.log" || nt_fail "events seen by the second watcher differ"
nt_pass "LLQ events reach a host behind a NAT: publish, move, lease expiry"

[ "$(dnsd stats | sed -n 's/^records_expired //p')" = 1 ] || nt_fail "records_expired"
[ "$(dnsd stats | sed -n 's/^llq_acks //p')" = 8 ] || nt_fail "every event was acknowledged"
nt_pass "counters"
