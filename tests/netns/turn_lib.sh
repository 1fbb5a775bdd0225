# tests/netns/turn_lib.sh: coturn, the STUN and TURN server of issues 11
# and 12, run in a namespace of the bed the way docs/paths.md describes a
# deployment, and a small STUN client that finds a NAT's behaviour.
# Source it after lib.sh and nt_setup. Not a test itself.
#
#   turn_start HOST SECRET REALM IP...   coturn in HOST on every IP given
#   turn_stop                            stop it (cleanup does it anyway)
#   turn_credential SECRET NAME TTL      "user password" valid TTL seconds
#   turn_natcheck HOST SERVER [PORT]     RFC 5780 tests from HOST
TURN_BIN=${TURN_BIN:-/usr/sbin/turnserver}
[ -x "$TURN_BIN" ] || TURN_BIN=/usr/bin/turnserver
TURN_PID=""

# turn_start HOST SECRET REALM IP...: coturn in namespace HOST as
#  - a STUN server (RFC 8489) with RFC 5780 NAT behaviour discovery: it
#    answers on each IP at 3478 and at the alternate port 3479, so two IPs
#    of one family give the OTHER-ADDRESS and CHANGE-REQUEST tests;
#  - a TURN server (RFC 8656) with coturn's time-limited credentials
#    (use-auth-secret + static-auth-secret: the password of the user
#    "EXPIRY:NAME" is base64(HMAC-SHA1(SECRET, "EXPIRY:NAME"))), on
#    3478 UDP and TCP and 5349 TLS with a self-signed certificate made in
#    $NT_DIR (no DTLS);
#  - no CLI, its database, PID file and log ($NT_DIR/turnserver.log) in
#    $NT_DIR, in the foreground under nt_bg, so cleanup stops it by PID.
# Waits until it listens on every IP. Sets TURN_PID.
turn_start() {
	local host=$1 secret=$2 realm=$3 ip conf="$NT_DIR/turnserver.conf" i
	shift 3
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=turn.$realm" -keyout "$NT_DIR/turn-key.pem" -out "$NT_DIR/turn-cert.pem" \
		>/dev/null 2>&1 || nt_fail "turn_start: openssl could not make a certificate"
	{
		echo "listening-port=3478"
		echo "tls-listening-port=5349"
		for ip in "$@"; do echo "listening-ip=$ip"; done
		echo "realm=$realm"
		echo "use-auth-secret"
		echo "static-auth-secret=$secret"
		echo "cert=$NT_DIR/turn-cert.pem"
		echo "pkey=$NT_DIR/turn-key.pem"
		echo "no-dtls"
		echo "fingerprint"
		echo "no-cli"
		echo "no-multicast-peers"
		echo "userdb=$NT_DIR/turndb"
		echo "pidfile=$NT_DIR/turnserver.pid"
		echo "log-file=$NT_DIR/turnserver.log"
		echo "simple-log"
		echo "no-stdout-log"
		# TURN_EXTRA: more lines for the file, one per line ("verbose" to log sessions and their usage)
		[ -z "${TURN_EXTRA:-}" ] || printf '%s\n' "$TURN_EXTRA"
	} >"$conf"
	nt_bg "$host" turnserver "$TURN_BIN" -c "$conf"
	TURN_PID=$NT_LAST_PID
	for ip in "$@"; do
		case $ip in *:*) i="\[$ip\]" ;; *) i=$ip ;; esac
		nt_wait 10 nt_exec "$host" sh -c "ss -lnu | grep -q ' $i:3479 ' && ss -lnt | grep -q ' $i:5349 '" ||
			nt_fail "coturn does not listen on $ip (see turnserver.log)"
	done
}

turn_stop() {
	[ -n "$TURN_PID" ] && nt_stop "$TURN_PID"
	TURN_PID=""
}

# turn_credential SECRET NAME TTL: prints "USER PASSWORD" for coturn's
# use-auth-secret scheme, valid for TTL seconds from now.
turn_credential() {
	local user
	user="$(($(date +%s) + $3)):$2"
	printf '%s %s\n' "$user" "$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$1" -binary | base64)"
}

# turn_natcheck HOST SERVER [PORT]: run RFC 5780 §§4.3-4.4 from HOST
# against the STUN server at SERVER:PORT (3478) and print one line:
#   mapped=ADDR:PORT other=ADDR:PORT mapping=ei|ad|apd filtering=ei|ad|apd
# (IPv6 addresses in brackets). Mapping is tested from one socket sent to
# the primary address, to the other address at the primary port, and to
# the other address and port; filtering from a fresh socket, asking the
# server to answer from the other address and port, then from the other
# port only.
turn_natcheck() {
	[ -f "$NT_DIR/natcheck.py" ] || cat >"$NT_DIR/natcheck.py" <<'PY'
import os, socket, struct, sys
COOKIE = 0x2112A442
def fmt(a): return ('[%s]:%d' if ':' in a[0] else '%s:%d') % a
def addr(t, v, tid):
    fam, port, raw = v[1], struct.unpack('!H', v[2:4])[0], v[4:]
    if t == 0x0020:  # XOR-MAPPED-ADDRESS, RFC 8489 §14.2
        port ^= COOKIE >> 16
        raw = bytes(a ^ b for a, b in zip(raw, struct.pack('!I', COOKIE) + tid))
    return (socket.inet_ntop(socket.AF_INET if fam == 1 else socket.AF_INET6, raw), port)
def binding(s, dst, change=0):
    tid = os.urandom(12)
    body = struct.pack('!HHI', 3, 4, change) if change else b''  # CHANGE-REQUEST, RFC 5780 §7.2
    msg = struct.pack('!HHI', 1, len(body), COOKIE) + tid + body
    for wait in (0.3, 0.6, 1.2):
        s.sendto(msg, dst)
        s.settimeout(wait)
        try:
            while True:
                d = s.recv(2048)
                if len(d) >= 20 and d[:2] == b'\x01\x01' and d[8:20] == tid:
                    out, pos = {}, 20
                    while pos + 4 <= len(d):
                        t, n = struct.unpack('!HH', d[pos:pos + 4])
                        if t in (0x0020, 0x802C):  # XOR-MAPPED-ADDRESS, OTHER-ADDRESS
                            out[t] = addr(t, d[pos + 4:pos + 4 + n], tid)
                        pos += 4 + n + (-n % 4)
                    return out
        except socket.timeout:
            pass
    return None
server, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in server else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
r1 = binding(s, (server, port))
if not r1 or 0x802C not in r1: sys.exit('no answer with OTHER-ADDRESS from %s' % server)
m1, other = r1[0x0020], r1[0x802C]
m2 = binding(s, (other[0], port))[0x0020]
mapping = 'ei' if m2 == m1 else 'ad' if binding(s, other)[0x0020] == m2 else 'apd'
f = socket.socket(fam, socket.SOCK_DGRAM)
binding(f, (server, port))
filtering = 'ei' if binding(f, (server, port), 6) else 'ad' if binding(f, (server, port), 2) else 'apd'
print('mapped=%s other=%s mapping=%s filtering=%s' % (fmt(m1), fmt(other), mapping, filtering))
PY
	nt_exec "$1" /usr/bin/python3 "$NT_DIR/natcheck.py" "$2" "${3:-3478}"
}
