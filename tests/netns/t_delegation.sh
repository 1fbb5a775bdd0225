#!/bin/sh
# Issue 16 part 3: accounts spread over two primaries by delegation.
#
# The parent zone members.example.net is served by a stock Knot (knotd, in
# namespace "parent", 198.51.100.50) that takes UPDATEs signed with one TSIG
# key per primary. Two autotunnel-dnsd primaries hold the accounts: ns1 in rv
# (198.51.100.53) and ns2 in rv2 (198.51.100.54), each with a certificate of
# one test CA naming its address. `account add` on a primary registers the
# account's delegation in Knot; the agents sign in knowing only the parent
# (autotunnel login --parent, --ca) and find their primary through it. Then
# alice's account is moved from ns1 to ns2 while a TCP stream runs between
# her two hosts through their tunnel: the records and their lease ends arrive
# whole, Knot's delegation switches, ns1 answers referrals, both agents
# follow to ns2, and the stream's longest stall is printed ("move stall").
# `account del` removes a delegation; a change made while Knot is down is
# kept and sent by the running server when Knot is back, and a primary that
# restarts while Knot is down gets its agents back (they try the primary the
# parent named last). kdig on Knot shows the delegation after each step.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] || nt_fail "build autotunneld, autotunnel and autotunnel-dnsd first"
for t in knotd kdig openssl; do
	command -v $t >/dev/null || { echo "SKIP: needs $t"; exit 77; }
done
nt_topology
STREAM_S=30
LIMIT_MS=2000
PARENT=198.51.100.50
PW='correct horse battery'

nt_add_ns parent
nt_attach_inet parent eth0 $PARENT 198.51.100.1
nt_add_ns rv2
nt_attach_inet rv2 eth0 198.51.100.54 198.51.100.1
mkdir -p "$NT_DIR/parent" "$NT_DIR/rv" "$NT_DIR/rv2" "$NT_DIR/certs"
chmod 0711 "$NT_DIR/rv" "$NT_DIR/rv2"

# ---- the test CA and a certificate per primary, naming its address and name ----
C=$NT_DIR/certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" \
	-subj /CN=test-ca -days 2 2>/dev/null
for n in 1 2; do
	addr=198.51.100.5$((n + 2))
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/ns$n.key" -out "$C/ns$n.csr" \
		-subj "/CN=ns$n.$AT_ZONE" 2>/dev/null
	printf 'subjectAltName=IP:%s,DNS:ns%s.%s\n' "$addr" "$n" "$AT_ZONE" >"$C/ns$n.ext"
	openssl x509 -req -in "$C/ns$n.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -out "$C/ns$n.pem" \
		-days 2 -extfile "$C/ns$n.ext" 2>/dev/null
	[ -s "$C/ns$n.pem" ] || nt_fail "cannot make the certificate of ns$n"
done

# ---- the parent: Knot, with an UPDATE key for each primary ----
K1=$(openssl rand -base64 32) K2=$(openssl rand -base64 32)
cat >"$NT_DIR/parent/zone.txt" <<EOF
\$ORIGIN $AT_ZONE.
\$TTL 300
@ SOA ns0 hostmaster 1 3600 600 1209600 60
@ NS ns0
ns0 A $PARENT
EOF
cat >"$NT_DIR/parent/knot.conf" <<EOF
server:
    listen: $PARENT@53
    rundir: $NT_DIR/parent
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
key:
  - id: ns1.$AT_ZONE.
    algorithm: hmac-sha256
    secret: $K1
  - id: ns2.$AT_ZONE.
    algorithm: hmac-sha256
    secret: $K2
acl:
  - id: primaries
    key: [ns1.$AT_ZONE., ns2.$AT_ZONE.]
    action: update
database:
    storage: $NT_DIR/parent
zone:
  - domain: $AT_ZONE
    file: $NT_DIR/parent/zone.txt
    acl: primaries
    zonefile-sync: -1
EOF
knot_start() {
	nt_bg parent knot "knotd" -c "$NT_DIR/parent/knot.conf"
	KNOT_PID=$NT_LAST_PID
	nt_wait 10 nt_exec parent kdig +short +timeout=1 +retry=0 @$PARENT "$AT_ZONE" SOA ||
		nt_fail "knotd did not start: $(cat "$NT_DIR/knot.log")"
}
knot_start
umask 077
printf 'hmac-sha256:ns1.%s.:%s\n' "$AT_ZONE" "$K1" >"$NT_DIR/rv/parent.key"
printf 'hmac-sha256:ns2.%s.:%s\n' "$AT_ZONE" "$K2" >"$NT_DIR/rv2/parent.key"
umask 022

# the delegation of NAME as Knot gives it: "NS-TARGET GLUE", or "none"
deleg() {
	local out
	out=$(nt_exec parent kdig +norec +timeout=2 @$PARENT "$1.$AT_ZONE" NS)
	printf '%s\n' "$out" | awk -v d="$1.$AT_ZONE." '
		$1 == d && $4 == "NS" { ns = $5 }
		/ADDITIONAL SECTION/ { add = 1 }
		add && $4 == "A" && $1 == ns { glue = $5 }
		END { if (ns == "") print "none"; else print ns, glue }'
}
show() {	# STEP NAME...
	local step=$1 n; shift
	for n in "$@"; do echo "kdig @parent $n.$AT_ZONE NS after $step: $(deleg "$n")"; done
}

# ---- two primaries ----
dnsd_args() {	# N
	local ns=rv; [ "$1" = 2 ] && ns=rv2
	echo --zone "$AT_ZONE" --db "$NT_DIR/$ns/dns.db" --server-name "ns$1.$AT_ZONE" \
		--server-address "198.51.100.5$(($1 + 2))" --parent "$PARENT" --parent-key-file "$NT_DIR/$ns/parent.key"
}
dnsd_start() {	# N
	local n=$1 ns=rv
	[ "$n" = 2 ] && ns=rv2
	# shellcheck disable=SC2046
	nt_bg $ns dnsd$n "$AT_DNSD" $(dnsd_args "$n") --listen "198.51.100.5$((n + 2))" --port 53 --tls-port 853 \
		--udp-workers 1 --lease-min 30 --lease-max 7200 --llq-lease-min 30 --llq-lease-max 7200 \
		--tls-cert "$C/ns$n.pem" --tls-key "$C/ns$n.key"
	eval "DNSD${n}_PID=$NT_LAST_PID"
	nt_wait 10 grep -q "serving zone" "$NT_DIR/dnsd$n.log" || nt_fail "dnsd$n did not start: $(cat "$NT_DIR/dnsd$n.log")"
}
dnsd_start 1
dnsd_start 2
acct() {	# N ARGS...: an account command on primary N
	local n=$1 ns=rv; shift
	[ "$n" = 2 ] && ns=rv2
	# shellcheck disable=SC2046
	nt_exec $ns "$AT_DNSD" $(dnsd_args "$n") account "$@"
}

printf '%s\n' "$PW" | acct 1 add alice >"$NT_DIR/add-alice.out" 2>&1 || nt_fail "add alice: $(cat "$NT_DIR/add-alice.out")"
grep -q "parent $PARENT: delegation updated" "$NT_DIR/add-alice.out" || nt_fail "add alice: $(cat "$NT_DIR/add-alice.out")"
printf '%s\n' "$PW" | acct 2 add bob >"$NT_DIR/add-bob.out" 2>&1 || nt_fail "add bob: $(cat "$NT_DIR/add-bob.out")"
show "account add" alice bob
[ "$(deleg alice)" = "ns1.$AT_ZONE. 198.51.100.53" ] || nt_fail "alice's delegation: $(deleg alice)"
[ "$(deleg bob)" = "ns2.$AT_ZONE. 198.51.100.54" ] || nt_fail "bob's delegation: $(deleg bob)"
nt_pass "account add registers each account's delegation (NS + glue) in Knot with a signed UPDATE"

# ---- agents that know only the parent ----
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_bridge_lan natB
at_stun
at_miniupnpd natB 2
at_loopback natB 203.0.113.20
at_agent_start hostA laptop
at_agent_start hostB desktop
at_agent_start pub server
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping"
at_log_wait hostB 'mapped UDP 4500' 10 || nt_fail "hostB got no mapping"
login() {	# HOST ACCOUNT (the account authority's join approved by its signer: at_enrol)
	local out
	out=$(printf '%s\n' "$PW" | at_cli "$1" login "$2" --parent $PARENT --ca "$C/ca.pem" 2>&1) || { echo "$out"; return 1; }
	at_enrol "$1" "$2" "$out" || return 1
	printf '%s\n' "$out" | at_enrol_filter
}
for h in hostA hostB; do
	out=$(login $h alice) || nt_fail "$h: login through the parent: $out"
	[ "$out" = "signed in to alice.$AT_ZONE" ] || nt_fail "$h: login said '$out'"
done
out=$(login pub bob) || nt_fail "pub: login through the parent: $out"
[ "$out" = "signed in to bob.$AT_ZONE" ] || nt_fail "pub: login said '$out'"
grep -qx "parent $PARENT" "$NT_DIR/hostA/state/account" || nt_fail "the state file does not name the parent"
for h in hostA hostB; do
	at_log_wait $h "the parent $PARENT delegates alice.$AT_ZONE. to ns1.$AT_ZONE. (198.51.100.53:853)" 10 ||
		nt_fail "$h did not find ns1 through the parent: $(grep -i parent "$NT_DIR/agent-$h.log")"
done
at_log_wait pub "the parent $PARENT delegates bob.$AT_ZONE. to ns2.$AT_ZONE. (198.51.100.54:853)" 10 ||
	nt_fail "pub did not find ns2 through the parent"
at_log_wait pub "published [0-9]* records for server.bob.$AT_ZONE" 15 || nt_fail "bob's host did not publish on ns2"
i=0
while ! { at_lists hostA desktop && at_lists hostB laptop; }; do
	i=$((i + 1)); [ $i -lt 100 ] || nt_fail "the hosts do not list each other: $(at_cli hostA hosts)"
	sleep 0.1
done
nt_pass "agents of both accounts signed in knowing only the parent, each on its primary (ns1, ns2)"

# ---- a tunnel with a TCP stream, and the move ----
UA=$(at_ula hostA)
at_cli hostB ping laptop >/dev/null || nt_fail "no tunnel from desktop to laptop: $(at_cli hostB ping laptop)"
at_stream_py
nt_bg hostA recv /usr/bin/python3 "$NT_DIR/stream.py" recv "$UA" 5001 "$STREAM_S"
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "receiver did not start"
nt_bg hostB send /usr/bin/python3 "$NT_DIR/stream.py" send "$UA" 5001 "$STREAM_S"
sleep 3

acct 1 export alice >"$NT_DIR/alice.before" || nt_fail "export alice from ns1"
t0=$(at_now_ms)
acct 1 move alice --to "ns2.$AT_ZONE" --address 198.51.100.54 --file "$NT_DIR/alice.acc" >"$NT_DIR/move.out" 2>&1 ||
	nt_fail "account move: $(cat "$NT_DIR/move.out")"
cat "$NT_DIR/move.out"
show "account move on ns1 (before the import)" alice
[ "$(deleg alice)" = "ns1.$AT_ZONE. 198.51.100.53" ] || nt_fail "the delegation changed before the import"
# ns1 now refers whoever asks about alice to ns2: NS + glue, no AA
ref=$(nt_exec pub kdig +norec +timeout=2 @198.51.100.53 "laptop.alice.$AT_ZONE" AAAA)
printf '%s\n' "$ref" | grep -q "status: NOERROR" && ! printf '%s\n' "$ref" | grep -q "Flags:.* aa" &&
	printf '%s\n' "$ref" | grep -Eq "^alice\.$AT_ZONE\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns2\.$AT_ZONE\." &&
	printf '%s\n' "$ref" | grep -Eq "^ns2\.$AT_ZONE\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.54" ||
	nt_fail "ns1 does not refer to ns2: $ref"
nt_pass "after the move ns1 answers alice's names with a referral to ns2 (NS + glue, no AA)"
acct 2 import "$NT_DIR/alice.acc" >"$NT_DIR/import.out" 2>&1 || nt_fail "account import: $(cat "$NT_DIR/import.out")"
cat "$NT_DIR/import.out"
show "account import on ns2" alice bob
[ "$(deleg alice)" = "ns2.$AT_ZONE. 198.51.100.54" ] || nt_fail "alice's delegation after the import: $(deleg alice)"
echo "move and import: $(( $(at_now_ms) - t0 )) ms"

# nothing lost: every record of the export is on ns2 with its lease end (a
# refresh since may only have moved it later), and as many records
acct 2 export alice >"$NT_DIR/alice.after" || nt_fail "export alice from ns2"
nb=$(grep -c '^rr ' "$NT_DIR/alice.before") nm=$(grep -c '^rr ' "$NT_DIR/alice.acc") na=$(grep -c '^rr ' "$NT_DIR/alice.after")
echo "alice's records: $nb on ns1 before the move, $nm in the move file, $na on ns2 after the import"
[ "$nm" -gt 0 ] && [ "$nm" -eq "$nb" ] && [ "$na" -ge "$nm" ] || nt_fail "records lost in the move: $nb / $nm / $na"
awk 'FNR == NR && $1 == "rr" { e[$2 " " $3 " " $4 " " $7] = $6; next }
     $1 == "rr" { k = $2 " " $3 " " $4 " " $7; if (k in e) { if ($6 + 0 < e[k] + 0) bad = bad " shorter:" k; delete e[k] } }
     END { for (k in e) bad = bad " missing:" k; if (bad != "") { print bad; exit 1 } }' \
	"$NT_DIR/alice.acc" "$NT_DIR/alice.after" || nt_fail "a record or a lease was lost: $(cat "$NT_DIR/alice.acc" "$NT_DIR/alice.after")"
grep '^account ' "$NT_DIR/alice.acc" | cut -d' ' -f1-4 >"$NT_DIR/k1"
grep '^account ' "$NT_DIR/alice.after" | cut -d' ' -f1-4 >"$NT_DIR/k2"
cmp -s "$NT_DIR/k1" "$NT_DIR/k2" || nt_fail "the account's key changed in the move"
nt_pass "no record or lease lost: $nm records, each on ns2 with a lease ending no earlier"

for h in hostA hostB; do
	at_log_wait $h "the parent $PARENT delegates alice.$AT_ZONE. to ns2.$AT_ZONE. (198.51.100.54:853)" 40 ||
		nt_fail "$h did not follow the move: $(grep -iE 'parent|referred|lost|Retry' "$NT_DIR/agent-$h.log" | tail -5)"
done
echo "agents on ns2: $(( $(at_now_ms) - t0 )) ms after the move"
# and they work there: a DNS Push session of alice's on ns2 for each (bob's host has one too)
stat2() { nt_exec rv2 "$AT_DNSD" --db "$NT_DIR/rv2/dns.db" stats | sed -n "s/^$1 //p"; }
i=0
until [ "$(stat2 dso_authenticated)" -ge 3 ]; do
	i=$((i + 1)); [ $i -lt 400 ] || nt_fail "the agents do not watch on ns2: $(nt_exec rv2 "$AT_DNSD" --db "$NT_DIR/rv2/dns.db" stats | grep -E 'dso_|updates_ok')"
	sleep 0.1
done
referrals=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" stats | sed -n 's/^referral_moved //p')
echo "ns1 referrals sent: $referrals"
nt_pass "both agents followed alice to ns2 through the parent and watch there"

nt_wait $((STREAM_S + 15)) grep -q "longest stall" "$NT_DIR/recv.log" || nt_fail "the receiver did not finish: $(cat "$NT_DIR/recv.log")"
cat "$NT_DIR/recv.log"
stall=$(sed -n 's/.*longest stall \([0-9]*\) ms$/\1/p' "$NT_DIR/recv.log")
got=$(sed -n 's/^received \([0-9]*\) bytes.*/\1/p' "$NT_DIR/recv.log")
echo "move stall: $stall ms"
[ "$got" -gt 1000000 ] || nt_fail "the stream carried only $got bytes"
[ "$stall" -lt "$LIMIT_MS" ] || nt_fail "the stream stalled $stall ms (limit $LIMIT_MS)"
at_cli hostA ping desktop >/dev/null || nt_fail "ping desktop after the move"
at_lists hostA desktop && at_lists hostB laptop || nt_fail "the hosts do not list each other after the move"
nt_pass "the tunnel stayed up across the move: $got bytes, longest stall $stall ms"

# ---- account del, and a change while the parent is down ----
acct 2 del bob >/dev/null || nt_fail "del bob"
show "account del bob" bob
[ "$(deleg bob)" = none ] || nt_fail "bob's delegation stayed: $(deleg bob)"
nt_pass "account del removes the delegation"

nt_stop "$KNOT_PID"
printf '%s\n' "$PW" | acct 1 add carol >"$NT_DIR/add-carol.out" 2>&1 || nt_fail "add carol: $(cat "$NT_DIR/add-carol.out")"
grep -q "1 delegation change not taken yet" "$NT_DIR/add-carol.out" || nt_fail "add carol with Knot down: $(cat "$NT_DIR/add-carol.out")"
acct 1 pending | grep -q "^carol add tries [1-9]" || nt_fail "carol's change is not kept: $(acct 1 pending)"
# with the parent down, ns2 restarts: its agents come back to the primary they knew
before=$(stat2 dso_authenticated)
nt_stop "$DNSD2_PID"
dnsd_start 2
for h in hostA hostB; do
	at_log_wait $h "the parent $PARENT.*: trying ns2.$AT_ZONE. again, the primary it named last" 30 ||
		nt_fail "$h did not fall back to ns2 with the parent down: $(grep -iE 'parent|lost' "$NT_DIR/agent-$h.log" | tail -5)"
done
i=0
until [ "$(stat2 dso_authenticated)" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 400 ] || nt_fail "the agents do not watch on the restarted ns2"
	sleep 0.1
done
echo "ns2 restarted while the parent was down: sessions before $before, after the restart $(stat2 dso_authenticated)"
nt_pass "with the parent down, agents reconnect to the primary the parent named last"
knot_start
show "Knot restarted (the change waits in ns1's database)" carol
i=0
until [ "$(deleg carol)" = "ns1.$AT_ZONE. 198.51.100.53" ]; do
	i=$((i + 1)); [ $i -lt 150 ] || nt_fail "the kept change was not sent: $(acct 1 pending)"
	sleep 0.1
done
show "ns1's retry" carol
[ -z "$(acct 1 pending)" ] || nt_fail "the change is still pending: $(acct 1 pending)"
nt_pass "a delegation change made while the parent was down is kept and sent by the server once it is back"
