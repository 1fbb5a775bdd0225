#!/bin/sh
# Issue 15, "The CLI and messages": each message checked verbatim, with its
# exit code.
#   - --version on every program: "PROGRAM VERSION", meson's project version;
#   - autotunnel-dnsd: an invalid zone, a database under a file or under a
#     missing directory, `account add --help`, the login line `account add`
#     prints (the pin from the TLS certificate, checked against openssl's),
#     `pin` later;
#   - autotunneld without -c: /etc/autotunnel/autotunneld.conf (a private
#     overlay of /etc, in a mount namespace of its own) with a misspelt
#     section, a missing ']', and none at all: account mode;
#   - login: a wrong zone, an unresolvable server, while signed in, what it
#     waits for on a terminal; logout twice; ping of this host's own name and
#     of a peer that cannot be reached (the tunnel's state); hosts aligned;
#     status with the server's health; netcheck's exit code; "schema":1.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_GWD" ] && [ -x "$AT_DNSD" ] ||
	nt_fail "build autotunneld, autotunnel, autotunnel-gwd and autotunnel-dnsd first"
command -v openssl >/dev/null && command -v script >/dev/null && command -v unshare >/dev/null ||
	{ echo "SKIP: needs openssl, script and unshare"; exit 77; }

PW='correct horse battery staple'

# expect NAME RC WANT CMD...: CMD exits RC and prints exactly WANT (stdout and stderr together)
expect() {
	local name=$1 rc=$2 want=$3 out got
	shift 3
	if out=$("$@" 2>&1); then got=0; else got=$?; fi
	[ "$out" = "$want" ] || nt_fail "$name: said
$out
wanted
$want"
	[ "$got" = "$rc" ] || nt_fail "$name: exit code $got, wanted $rc ($out)"
}

# ---- --version
V=$(sed -n "s/^  version : '\(.*\)',$/\1/p" "$AT_SRC/meson.build")
[ -n "$V" ] || nt_fail "no version in meson.build"
expect "autotunneld --version" 0 "autotunneld $V" "$AT_AGENTD" --version
expect "autotunnel --version" 0 "autotunnel $V" "$AT_CLI" --version
expect "autotunnel-dnsd --version" 0 "autotunnel-dnsd $V" "$AT_DNSD" --version
expect "autotunnel-gwd --version" 0 "autotunnel-gwd $V" "$AT_GWD" --version
nt_pass "--version: each program says its name and $V"

# ---- autotunnel-dnsd's own command line
DB=$NT_DIR/rv/dns.db
mkdir -p "$NT_DIR/rv"
expect "invalid zone" 2 "autotunnel-dnsd: 'bad zone!' is not a zone name: ' ' (letters, digits and '-' inside labels, labels separated by '.')" \
	"$AT_DNSD" --zone 'bad zone!' --db "$DB" account list
expect "empty label" 2 "autotunnel-dnsd: 'a..example' is not a zone name: an empty label" \
	"$AT_DNSD" --zone a..example --db "$DB" account list
: >"$NT_DIR/afile"
expect "database under a file" 1 "autotunnel-dnsd: $NT_DIR/afile/dns.db: $NT_DIR/afile is not a directory" \
	"$AT_DNSD" --db "$NT_DIR/afile/dns.db" account list
expect "database under a missing directory" 1 \
	"autotunnel-dnsd: $NT_DIR/none/x/dns.db: the directory $NT_DIR/none does not exist" \
	"$AT_DNSD" --db "$NT_DIR/none/x/dns.db" account list
out=$("$AT_DNSD" --db "$DB" account add --help) || nt_fail "account add --help failed: $out"
[ "$(echo "$out" | head -1)" = "usage: autotunnel-dnsd [options] account add NAME [--algorithm ALG]" ] ||
	nt_fail "account add --help: $out"
[ ! -e "$DB" ] || nt_fail "account add --help opened the database"
# before the server ever ran there is no certificate, so no pin yet: said so
expect "account add before the first start" 0 "sign in each host with (the pin: \`autotunnel-dnsd pin\` once the server has made its certificate at first start):
  autotunnel login early --server rv.example.net --pin PIN" \
	sh -c 'printf "%s\n" "$1" | "$2" --db "$3" --server-name rv.example.net account add early' _ "$PW" "$AT_DNSD" "$DB"
expect "pin before the first start" 1 "autotunnel-dnsd: cannot read the certificate $DB.tls-cert.pem: it does not exist yet (the server makes it at first start)" \
	"$AT_DNSD" --db "$DB" pin
# an operator's own certificate: its pin as openssl computes it, and a port other than 853
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=dns.example.org \
	-keyout "$NT_DIR/key.pem" -out "$NT_DIR/cert.pem" 2>/dev/null || nt_fail "openssl req"
OPIN=$(openssl x509 -in "$NT_DIR/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)
OFP=$(openssl x509 -in "$NT_DIR/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
expect "account add with a certificate" 0 "sign in each host with:
  autotunnel login carol --server dns.example.org:8853 --zone corp.example --pin $OPIN" \
	sh -c 'printf "%s\n" "$1" | "$2" --db "$3" --zone corp.example --server-name dns.example.org --tls-port 8853 \
		--tls-cert "$4/cert.pem" --tls-key "$4/key.pem" account add carol' _ "$PW" "$AT_DNSD" "$NT_DIR/other.db" "$NT_DIR"
expect "pin of a certificate" 0 "pin $OPIN
fingerprint $OFP
certificate $NT_DIR/cert.pem
login autotunnel login ACCOUNT --server dns.example.org:8853 --pin $OPIN" \
	"$AT_DNSD" --db "$NT_DIR/other.db" --server-name dns.example.org --tls-port 8853 \
	--tls-cert "$NT_DIR/cert.pem" --tls-key "$NT_DIR/key.pem" pin
nt_pass "autotunnel-dnsd: zone and database path refused in words; account add prints the login line; pin = openssl's"

# ---- autotunneld without -c: /etc/autotunnel/autotunneld.conf, seen only by this agent
nt_topology
# run_default NAME CONF: autotunneld without -c in pub, in a mount namespace where /etc is an
# overlay holding autotunnel/autotunneld.conf = CONF (none if "-"), and /var/lib and /run are
# empty; if it runs, `autotunnel status` (default socket) is asked, then it is stopped.
run_default() {
	nt_exec pub unshare -m sh -c '
		set -e
		d=$1; conf=$2; agentd=$3; cli=$4
		mkdir -p "$d/ov"
		mount -t tmpfs none "$d/ov"
		mkdir "$d/ov/u" "$d/ov/w"
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/ov/u,workdir=$d/ov/w" /etc
		mount -t tmpfs none /var/lib
		mount -t tmpfs none /run
		if [ "$conf" != - ]; then mkdir /etc/autotunnel; printf "%b" "$conf" >/etc/autotunnel/autotunneld.conf; fi
		"$agentd" >"$d/default-agent.log" 2>&1 &
		pid=$!
		trap "kill \$pid 2>/dev/null; wait \$pid 2>/dev/null" EXIT INT TERM
		for i in $(seq 100); do
			[ -S /run/autotunnel/control ] && break
			kill -0 $pid 2>/dev/null || { wait $pid && rc=0 || rc=$?; trap - EXIT INT TERM; cat "$d/default-agent.log"; exit $rc; }
			sleep 0.1
		done
		"$cli" status
	' _ "$NT_DIR" "$2" "$AT_AGENTD" "$AT_CLI"
}
C=/etc/autotunnel/autotunneld.conf
expect "misspelt section" 2 "autotunneld: $C:2: unknown section [tunel]" run_default tunel '[agent]\n[tunel]\nmtu = 1400\n'
expect "missing ]" 2 "autotunneld: $C:1: missing ']' in the section header '[tunnel'" run_default bracket '[tunnel\nmtu = 1400\n'
out=$(run_default none -) || nt_fail "autotunneld with no file: $out"
echo "$out" | grep -qx "account  none (sign in with: autotunnel login ACCOUNT --server HOST)" ||
	nt_fail "autotunneld with no file is not in account mode: $out"
out=$(run_default tunnel-only '[tunnel]\nlog-level = debug\n') || nt_fail "autotunneld with [tunnel] only: $out"
echo "$out" | grep -qx "account  none (sign in with: autotunnel login ACCOUNT --server HOST)" ||
	nt_fail "autotunneld with [tunnel] only is not in account mode: $out"
nt_pass "autotunneld reads $C: [tunel] and '[tunnel' refused at their line; no file or no [peer]: account mode"

# ---- the agent's messages (natA maps ports with gwd: laptop has a location, desktop none)
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_dnsd
at_account alice "$PW"
# the server made its certificate: account add and pin give the pin it logged
expect "account add with the server's certificate" 0 "sign in each host with:
  autotunnel login bob --server rv.example.net --pin $AT_PIN" \
	sh -c 'printf "%s\n" "$1" | "$2" --db "$3" --server-name rv.example.net account add bob' _ "$PW" "$AT_DNSD" "$DB"
"$AT_DNSD" --db "$DB" --server-name rv.example.net pin | grep -qx "pin $AT_PIN" ||
	nt_fail "pin: $("$AT_DNSD" --db "$DB" --server-name rv.example.net pin 2>&1)"
nt_pass "account add and pin give the pin the server logged at start-up"
at_agent_start hostA laptop
at_agent_start hostB desktop
S=198.51.100.53:853
D=alice.$AT_ZONE

expect "logout when signed out" 1 "error: not signed in: nothing to log out of" at_cli hostA logout
expect "wrong zone" 1 "error: login failed: the server does not serve alice.wrong.example (it answered REFUSED): is the zone right? (--zone wrong.example)" \
	sh -c 'printf "%s\n" "$1" | ip netns exec "$2" env AUTOTUNNEL_CONTROL="$3" "$4" login alice --zone wrong.example --server "$5" --pin "$6"' \
	_ "$PW" "$(nt_ns hostA)" "$NT_DIR/hostA/run/control" "$AT_CLI" "$S" "$AT_PIN"
# a name that does not resolve is said at once, before any connection is tried. hostA's
# resolver is the rendezvous server itself (a mount namespace with its own resolv.conf), which
# answers NXDOMAIN for a name in its zone; the reason is the C library's, asked independently
# through Python's getaddrinfo in the same set-up.
printf 'nameserver 198.51.100.53\noptions timeout:2 attempts:1\n' >"$NT_DIR/resolv.conf"
in_resolv() {	# CMD...: in hostA, with that resolv.conf
	ip netns exec "$(nt_ns hostA)" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
		"$NT_DIR/resolv.conf" "$@"
}
NONAME=nohost.$AT_ZONE
why=$(in_resolv python3 -c 'import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 853)
except socket.gaierror as e:
    print(e.strerror)' "$NONAME")
[ -n "$why" ] || nt_fail "$NONAME resolves in hostA"
t0=$(at_now_ms)
login_unresolved() {
	printf '%s\n' "$PW" | in_resolv env AUTOTUNNEL_CONTROL="$NT_DIR/hostA/run/control" "$AT_CLI" \
		login alice --server "$NONAME" --pin "$AT_PIN"
}
expect "unresolvable server" 1 "error: login failed: cannot resolve $NONAME: $why" login_unresolved
t1=$(at_now_ms)
[ $((t1 - t0)) -lt 2000 ] || nt_fail "an unresolvable server took $((t1 - t0)) ms to be reported"
nt_pass "login refused in words: logout when signed out, wrong zone, unresolvable server ($((t1 - t0)) ms)"

# on a terminal (stderr a tty: script(1)), login says what it waits for; not otherwise
script -qec "sh -c 'printf \"%s\\n\" \"$PW\" | ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI login alice --server $S --pin $AT_PIN'" \
	/dev/null >"$NT_DIR/tty.out" 2>&1 || nt_fail "login on a terminal failed: $(cat "$NT_DIR/tty.out")"
got=$(tr -d '\r' <"$NT_DIR/tty.out")
# the first host of alice creates the account authority (on by default): its lines apart
echo "$got" | grep -q "recovery key, shown only now" || nt_fail "login on a terminal created no authority: $got"
at_enrol hostA alice "$got" || nt_fail "hostA's authority: $got"	# hostA is alice's signer: it approves hostB
got=$(printf '%s\n' "$got" | at_enrol_filter)
[ "$got" = "waiting for the server at $S (the key parameters of $D)...
waiting for the server at $S to accept this host's keys (through the agent)...
signed in to $D" ] || nt_fail "login on a terminal said: $got"
nt_pass "login on a terminal says what it waits for"

expect "login while signed in" 1 "error: already signed in to $D at $S (autotunnel logout first)" at_login hostA alice "$PW"
expect "ping of this host" 1 "error: 'laptop' is this host: ping a peer (autotunnel hosts lists them)" at_cli hostA ping laptop
expect "ping of this host, full name" 1 "error: 'LAPTOP.$D.' is this host: ping a peer (autotunnel hosts lists them)" \
	at_cli hostA ping "LAPTOP.$D."
nt_pass "login while signed in, ping of this host's own name: said plainly"

expect "hostB login" 0 "signed in to $D" at_login hostB alice "$PW"
both() { [ "$(at_cli hostA hosts | wc -l)" = 2 ]; }
nt_wait 10 both || nt_fail "hostA does not list both hosts: $(at_cli hostA hosts)"
UA=$(at_ula hostA) UB=$(at_ula hostB)
wu=${#UA}; [ ${#UB} -le "$wu" ] || wu=${#UB}
# hostB is behind natB, which maps nothing: no location ("-")
want=$(printf '%-7s   %s    %-*s   %-17s   (this host)\n%s   %s   %-*s   %s' \
	laptop "laptop.$D" "$wu" "$UA" 203.0.113.10:4500 desktop "desktop.$D" "$wu" "$UB" -)
located() { at_cli hostA hosts | grep -q "^laptop .*203.0.113.10:4500"; }
nt_wait 10 located || nt_fail "laptop's location not listed: $(at_cli hostA hosts)"
expect "hosts aligned" 0 "$want" at_cli hostA hosts

# desktop publishes no location (natB maps nothing): the ping fails, and says why
expect "ping of an unreachable peer" 1 "desktop.$D ($UB) via -: 0/3 replies; the tunnel could not be made: no location published" \
	at_cli hostA ping desktop
nt_pass "hosts in aligned columns; a failed ping says where the tunnel stands"

llq() { at_cli hostA status | grep -qx "server   $S   connected, DNS Push"; }
nt_wait 10 llq || nt_fail "status does not say the server is connected: $(at_cli hostA status)"
at_cli hostA status --json | grep -q '^{"schema":1,"account":{' || nt_fail "status --json: $(at_cli hostA status --json)"
for c in hosts netcheck services; do
	at_cli hostA "$c" --json | grep -q '^{"schema":1[,}]' || nt_fail "$c --json: $(at_cli hostA "$c" --json)"
done
expect "ping --json of this host" 1 '{"schema":1,"error":{"message":"'"'"'laptop'"'"' is this host: ping a peer (autotunnel hosts lists them)","errno":22}}' \
	at_cli hostA ping laptop --json
at_cli hostA netcheck >/dev/null || nt_fail "netcheck failed with the server up: $(at_cli hostA netcheck)"
nt_pass "status: connected, DNS Push; every --json starts with \"schema\":1; netcheck exits 0"

expect "logout" 0 "signed out; this host's records are withdrawn" at_cli hostB logout
expect "logout twice" 1 "error: not signed in: nothing to log out of" at_cli hostB logout
nt_pass "logout twice: said plainly"

# the server goes away
t_stop=$(date +%s)
nt_stop "$AT_DNSD_PID"
lost() { at_cli hostA status | grep -qx "server   $S   server lost since [0-2][0-9]:[0-5][0-9]:[0-5][0-9], polling"; }
nt_wait 15 lost || nt_fail "status does not say since when the server is lost: $(at_cli hostA status)"
# the time of loss: in --json as Unix seconds, in the text as that moment's local time of day
json=$(at_cli hostA status --json)
since=$(echo "$json" | sed -n 's/.*"server_state":"polling","server_lost_since":\([0-9]*\)[,}].*/\1/p')
[ -n "$since" ] || nt_fail "status --json has no server_lost_since: $json"
[ "$since" -ge "$t_stop" ] && [ "$since" -le "$(date +%s)" ] || nt_fail "server_lost_since $since is not when the server stopped ($t_stop)"
at_cli hostA status | grep -qx "server   $S   server lost since $(date -d "@$since" +%H:%M:%S), polling" ||
	nt_fail "status does not show $since as local time: $(at_cli hostA status)"
if out=$(at_cli hostA netcheck); then nt_fail "netcheck exits 0 with the server down: $out"; fi
echo "$out" | grep -q "^server     $S: not reachable over TLS (" || nt_fail "netcheck with the server down: $out"
nt_pass "server down: status says since when it is lost and polled, netcheck exits 1"

