#!/bin/sh
# Our TURN client (lib/stun/turn_client.c, driven by tests/tools/turn_probe)
# against coturn, with the credential handed out by autotunnel-dnsd
# (docs/relay.md): coturn runs with use-auth-secret and the secret the
# test makes, autotunnel-dnsd with the same secret in turn-secret-file;
# alice gets her credential by a TSIG-signed query (dig -y) for TXT
# _turn-credential.D, and turn_probe allocates on coturn with it over UDP
# (with a channel, and with Send/Data indications only), over TCP and
# over TLS (certificate and name checked), and exchanges datagrams with
# an echo server on another host through the relay, both ways. The echo
# server must see the relayed address as the sender. Refusals: bob's key and no key get REFUSED for alice's
# credential; a password moved to another account's username, and an
# expired credential, are refused by coturn (401 after the retry).
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/turn_lib.sh"
nt_setup

# rv (coturn and autotunnel-dnsd), cli (the TURN client), peer (an echo
# server): three hosts on one bridge of 198.51.100.0/24
for h in inet rv cli peer; do nt_add_ns $h; done
ip -n "$(nt_ns inet)" link add br0 type bridge
ip -n "$(nt_ns inet)" addr add 198.51.100.1/24 dev br0
ip -n "$(nt_ns inet)" link set br0 up
nt_attach_inet rv eth0 198.51.100.53 198.51.100.1
nt_attach_inet cli eth0 198.51.100.20 198.51.100.1
nt_attach_inet peer eth0 198.51.100.30 198.51.100.1
# coturn's RFC 5780 service (turn_lib.sh) wants a second address; it may
# relay from either
ip -n "$(nt_ns rv)" addr add 198.51.100.54/24 dev eth0

RV=198.51.100.53
PEER=198.51.100.30:7000
Z=members.example.net
REALM=example.net
DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
PROBE=$AT_BUILD/lib/stun/turn_probe
DB=$NT_DIR/dns.db
expect() { [ "$2" = "$3" ] || nt_fail "$1: expected '$3', got '$2'"; nt_pass "$1"; }

# the shared secret, in a file only its owner reads (docs/relay.md)
SECRET=$(openssl rand -hex 24)
(umask 077 && printf '%s\n' "$SECRET" >"$NT_DIR/turn.secret")
turn_start rv "$SECRET" "$REALM" $RV 198.51.100.54

dnsd() { nt_exec rv "$DNSD" --zone $Z --db "$DB" "$@"; }
echo 'alice password' | dnsd account add alice
echo 'bob password' | dnsd account add bob
KA=$(dnsd account show alice --tsig)
KB=$(dnsd account show bob --tsig)
start_dnsd() {
	nt_bg rv dnsd "$DNSD" --zone $Z --listen $RV --port 5353 --tls-port 0 --db "$DB" \
		--turn-secret-file "$NT_DIR/turn.secret" --turn-credential-ttl "$1"
	DNSD_PID=$NT_LAST_PID
	nt_wait 10 nt_exec cli dig +time=1 +tries=1 @$RV -p 5353 $Z SOA || nt_fail "dnsd did not start"
}
start_dnsd 600

# the echo server: prints who sent each datagram, sends it back
nt_bg peer echo /usr/bin/python3 -u -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.30", 7000))
while True:
    d, a = s.recvfrom(2048)
    print("from %s:%d %s" % (a[0], a[1], d.decode(errors="replace")))
    s.sendto(d, a)
'
nt_wait 5 nt_exec peer sh -c "ss -lnu | grep -q '198.51.100.30:7000 '" || nt_fail "echo server did not start"

# credential: TXT "username=..." "password=..." "ttl=...", TTL 0
cred() { nt_exec cli dig +time=2 +tries=1 +norec @$RV -p 5353 "$@"; }
TXT=$(cred -y "$KA" _turn-credential.alice.$Z TXT +short)
USER=$(printf '%s\n' "$TXT" | sed -n 's/^"username=\([^"]*\)".*/\1/p')
PASS=$(printf '%s\n' "$TXT" | sed -n 's/.*"password=\([^"]*\)".*/\1/p')
TTL=$(printf '%s\n' "$TXT" | sed -n 's/.*"ttl=\([0-9]*\)".*/\1/p')
[ -n "$USER" ] && [ -n "$PASS" ] || nt_fail "no credential in '$TXT'"
expect "credential ttl" "$TTL" 600
expect "username carries the account" "${USER#*:}" alice
NOW=$(date +%s)
[ "${USER%%:*}" -ge $((NOW + 598)) ] && [ "${USER%%:*}" -le $((NOW + 601)) ] ||
	nt_fail "expiry ${USER%%:*} is not now + 600 ($NOW)"
nt_pass "username expires in 600 s"
# what coturn computes from the secret (turn_lib.sh's own HMAC with openssl)
expect "password is coturn's HMAC of the username" \
	"$PASS" "$(printf '%s' "$USER" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)"
expect "never cached (TTL 0)" \
	"$(cred -y "$KA" _turn-credential.alice.$Z TXT | awk '$4 == "TXT" { print $2 }')" 0
status() { cred "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
expect "bob's key for alice's credential: REFUSED" "$(status -y "$KB" _turn-credential.alice.$Z TXT)" REFUSED
expect "no key: REFUSED" "$(status _turn-credential.alice.$Z TXT)" REFUSED
expect "alice's key for bob's credential: REFUSED" "$(status -y "$KA" _turn-credential.bob.$Z TXT)" REFUSED
expect "nobody may UPDATE the name" "$(printf 'server %s 5353\nzone %s\nupdate add _turn-credential.alice.%s 300 TXT "x"\nsend\n' $RV $Z $Z |
	nt_exec cli nsupdate -y "$KA" 2>&1 | tr '\n' ' ')" "update failed: REFUSED "

# probe NAME ARGS...: run turn_probe from cli; output in $NT_DIR/NAME.out
probe() {
	local name=$1 rc=0
	shift
	nt_exec cli "$PROBE" --server $RV:3478 --peer $PEER --timeout 20 "$@" >"$NT_DIR/$name.out" 2>&1 || rc=$?
	sed "s/^/  $name: /" "$NT_DIR/$name.out"
	return $rc
}
relayed() { sed -n 's/^allocated relayed \([0-9.:]*\) .*/\1/p' "$NT_DIR/$1.out"; }
check_relay() {
	local name=$1 via=$2 r
	r=$(relayed "$name")
	case $r in 198.51.100.53:*|198.51.100.54:*) ;; *) nt_fail "$name: relayed address '$r' is not coturn's" ;; esac
	expect "$name: three datagrams back from the peer ($via)" \
		"$(grep -c "^data $PEER $via 'ping [123]'\$" "$NT_DIR/$name.out")" 3
	expect "$name: the peer saw the relayed address" \
		"$(grep -c "^from $r ping [123]\$" "$NT_DIR/echo.log")" 3
	expect "$name: deallocated" "$(tail -n1 "$NT_DIR/$name.out")" "closed 0"
}

probe udp --user "$USER" --password "$PASS" || nt_fail "turn_probe over UDP failed"
grep -q '^channel 0x4000 198.51.100.30:7000$' "$NT_DIR/udp.out" || nt_fail "udp: no channel bound"
check_relay udp channel

probe udp_ind --user "$USER" --password "$PASS" --no-channel || nt_fail "turn_probe with indications failed"
expect "udp_ind: sent as Send indications" "$(grep -c '^sent [123] via indication$' "$NT_DIR/udp_ind.out")" 3
check_relay udp_ind indication

probe tcp --tcp --user "$USER" --password "$PASS" || nt_fail "turn_probe over TCP failed"
expect "tcp: sent as ChannelData" "$(grep -c '^sent [123] via channel$' "$NT_DIR/tcp.out")" 3
check_relay tcp channel

# TLS on 5349 (RFC 8656 §3.1), coturn's certificate (turn_lib.sh) checked
probe tls --server $RV:5349 --tls "$NT_DIR/turn-cert.pem" turn.$REALM --user "$USER" --password "$PASS" ||
	nt_fail "turn_probe over TLS failed"
expect "tls: handshake" "$(sed -n 's/^tls \(TLSv1\.[23]\)$/ok/p' "$NT_DIR/tls.out")" ok
check_relay tls channel
rc=0
probe tls_badname --server $RV:5349 --tls "$NT_DIR/turn-cert.pem" turn.example.org --user "$USER" --password "$PASS" || rc=$?
expect "tls: another server name is refused" "$rc:$(head -n1 "$NT_DIR/tls_badname.out")" "1:tls handshake failed"

# alice's password under bob's name: coturn recomputes it from the username
rc=0
probe stolen --user "${USER%%:*}:bob" --password "$PASS" || rc=$?
expect "a password moved to bob's username fails with 401" "$rc:$(tail -n1 "$NT_DIR/stolen.out")" "2:failed 401"

# an expired credential: dnsd gives 1-second credentials, the client waits
nt_stop "$DNSD_PID"
start_dnsd 1
TXT=$(cred -y "$KA" _turn-credential.alice.$Z TXT +short)
USER=$(printf '%s\n' "$TXT" | sed -n 's/^"username=\([^"]*\)".*/\1/p')
PASS=$(printf '%s\n' "$TXT" | sed -n 's/.*"password=\([^"]*\)".*/\1/p')
expect "short credential ttl" "$(printf '%s\n' "$TXT" | sed -n 's/.*"ttl=\([0-9]*\)".*/\1/p')" 1
sleep 3
rc=0
probe expired --user "$USER" --password "$PASS" || rc=$?
expect "an expired credential fails with 401" "$rc:$(tail -n1 "$NT_DIR/expired.out")" "2:failed 401"
nt_pass "t_turn_coturn"
