#!/bin/sh
# Issue 14 parts 1-2: the account authority (docs/authority.md).
#   laptop (hostA, behind natA's gwd) signs in first with [agent] authority =
#   yes: it creates the authority and prints the recovery key once; desktop
#   (hostB, behind natB) signs in and shows a join code, which `autotunnel
#   approve` on laptop admits; nas (pub, a public address) signs in with the
#   recovery key and is a signer. Every tunnel between them authenticates with
#   certificates (status --json "auth":"cert"). `autotunnel renew` on desktop:
#   a signer renews its certificate. `autotunnel revoke desktop`: desktop's
#   tunnels go down within 5 s, it cannot make a new one, and no signer
#   renews it. The
#   server cannot forge a host: with the account's keys derived from the
#   password and the TSIG key of its database, neither IKE with the PSK nor
#   a forged anchor or approval gets anything accepted; the genuine approval
#   then admits desktop again with a new key, and the other signer's
#   revocation builds on the first's list.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
# the authority's enrolment is what this script shows: its logins print it all and approve by hand
AT_AUTO_APPROVE=0
nt_setup
nt_topology

PW='correct horse battery'
at_dnsd
at_account alice "$PW"
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_bridge_lan natB
at_stun
at_miniupnpd natB 2
at_loopback natB 203.0.113.20
at_agent_start hostA laptop 'authority = yes'
at_agent_start hostB desktop 'authority = yes'
at_agent_start pub nas 'authority = yes'
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping: $(cat "$NT_DIR/agent-hostA.log")"
at_log_wait hostB 'mapped UDP 4500' 10 || nt_fail "hostB got no mapping: $(cat "$NT_DIR/agent-hostB.log")"
D=alice.$AT_ZONE

# 1. the first computer creates the authority and shows the recovery key once
out=$(at_login hostA alice "$PW") || nt_fail "hostA login: $out"
grep -q "this host created the account authority of $D and is its first signer" "$NT_DIR/agent-hostA.log" ||
	nt_fail "hostA log: $(cat "$NT_DIR/agent-hostA.log")"
echo "$out" | grep -qx "this computer created the account authority; its recovery key, shown only now:" ||
	nt_fail "hostA login output (recovery key): $out"
RK=$(echo "$out" | sed -n 's/^  \([0-9A-Z-]\{69\}\)$/\1/p')
[ -n "$RK" ] || nt_fail "no recovery key in: $out"
for f in anchor.pem host.pem host.key authority.key; do
	[ -f "$NT_DIR/hostA/state/$f" ] || nt_fail "hostA has no $f"
done
[ "$(stat -c %a "$NT_DIR/hostA/state/host.key")" = 600 ] && [ "$(stat -c %a "$NT_DIR/hostA/state/authority.key")" = 600 ] ||
	nt_fail "the keys are not 0600"
openssl verify -CAfile "$NT_DIR/hostA/state/anchor.pem" "$NT_DIR/hostA/state/host.pem" >/dev/null ||
	nt_fail "host.pem does not verify against anchor.pem"
out=$(at_cli hostA status)
echo "$out" | grep -qx "authority signer (approves, renews and revokes; tunnels use certificates)" ||
	nt_fail "hostA status: $out"
# shown once: the status never shows it
echo "$out" | grep -q "$RK" && nt_fail "the recovery key is in the status"
grep -rq "$RK" "$NT_DIR/hostA" && nt_fail "the recovery key is stored in clear"
nt_pass "laptop created the authority: recovery key shown once, anchor, host certificate and keys in its state (0600)"

# 2. the second computer asks to join; laptop approves its code
out=$(at_login hostB alice "$PW") || nt_fail "hostB login: $out"
CODE=$(echo "$out" | sed -n 's/^join code \([0-9A-Z]\{4\}-[0-9A-Z]\{4\}\): .*/\1/p')
[ -n "$CODE" ] || nt_fail "hostB login shows no join code: $out"
at_cli hostB status | grep -qx "authority joining: run \`autotunnel approve $CODE\` on a signer of the account" ||
	nt_fail "hostB status while joining: $(at_cli hostB status)"
# a typo is refused (another code), the right one in lower case is accepted
case $CODE in *0) bad=${CODE%?}1 ;; *) bad=${CODE%?}0 ;; esac
out=$(at_cli hostA approve "$bad" 2>&1) && nt_fail "approve of a wrong code succeeded: $out"
echo "$out" | grep -q "no computer waiting to join $D shows the code" || nt_fail "wrong code: $out"
out=$(at_cli hostA approve "$(echo "$CODE" | tr 'A-Z' 'a-z')") || nt_fail "approve: $out"
echo "$out" | grep -q "^approved desktop (" || nt_fail "approve output: $out"
nt_wait 10 sh -c "grep -q 'approved: this host is a member of $D' '$NT_DIR/agent-hostB.log'" ||
	nt_fail "hostB did not accept its approval: $(cat "$NT_DIR/agent-hostB.log")"
at_cli hostB status | grep -qx "authority member (tunnels use certificates)" || nt_fail "hostB status: $(at_cli hostB status)"
nt_pass "desktop joined by approval (code $CODE; a wrong code refused)"

# 3. the third computer enrols with the recovery key and is a signer
out=$(printf '%s\n' "$PW" | at_cli pub login alice --server 198.51.100.53:853 --pin "$AT_PIN" --recovery-key "$RK") ||
	nt_fail "pub login with the recovery key: $out"
grep -q "enrolled with the recovery key: this host is a signer of $D" "$NT_DIR/agent-pub.log" || nt_fail "pub login: $out"
[ -f "$NT_DIR/pub/state/authority.key" ] || nt_fail "pub holds no authority key"
cmp -s "$NT_DIR/pub/state/anchor.pem" "$NT_DIR/hostA/state/anchor.pem" || nt_fail "pub's anchor is another"
nt_pass "nas enrolled with the recovery key as a signer"

# 4. tunnels between all of them, with certificates
for pair in "hostA desktop" "hostA nas" "hostB nas" "hostB laptop" "pub laptop" "pub desktop"; do
	set -- $pair
	nt_wait 10 sh -c "env AUTOTUNNEL_CONTROL='$NT_DIR/$1/run/control' ip netns exec '$(nt_ns "$1")' \
		'$AT_CLI' hosts | grep -q '^$2 '" || nt_fail "$1 does not list $2"
	out=$(at_cli "$1" ping "$2") || nt_fail "$1 ping $2: $out"
done
for h in hostA hostB pub; do
	out=$(at_cli "$h" status --json)
	n=$(echo "$out" | grep -o '"state":"up"[^}]*"auth":"cert"' | wc -l)
	[ "$n" -eq 2 ] || nt_fail "$h: not two tunnels up with certificates: $out"
	echo "$out" | grep -q '"auth":"psk"' && nt_fail "$h has a PSK tunnel: $out"
done
at_cli hostA status | grep -q "^peer     desktop .*   certificate$" || nt_fail "hostA status: $(at_cli hostA status)"
grep -q "authenticated by certificate (RFC 7427)" "$NT_DIR/agent-hostB.log" || nt_fail "hostB logs no certificate authentication"
nt_pass "six tunnels between the three, each authenticated with certificates"

# renewal (§5.3): desktop, a member, asks; a signer answers in seconds; the tunnels go on with the new certificate
serial0=$(openssl x509 -in "$NT_DIR/hostB/state/host.pem" -noout -serial)
out=$(at_cli hostB renew) || nt_fail "hostB renew: $out"
nt_wait 15 grep -q "renewed: this host's certificate now runs until" "$NT_DIR/agent-hostB.log" ||
	nt_fail "desktop's certificate was not renewed: $(tail -5 "$NT_DIR/agent-hostB.log")"
grep -q "renewed the certificate of desktop at its request" "$NT_DIR/agent-hostA.log" "$NT_DIR/agent-pub.log" ||
	nt_fail "no signer says it renewed desktop's certificate"
serial1=$(openssl x509 -in "$NT_DIR/hostB/state/host.pem" -noout -serial)
[ "$serial0" != "$serial1" ] || nt_fail "host.pem is the same certificate"
openssl verify -CAfile "$NT_DIR/hostA/state/anchor.pem" "$NT_DIR/hostB/state/host.pem" >/dev/null ||
	nt_fail "the renewed certificate does not verify"
for p in laptop nas; do
	out=$(at_cli hostB ping "$p") || nt_fail "hostB ping $p after the renewal: $out"
done
at_cli hostB status --json | grep -q '"label":"laptop"[^}]*"state":"up"[^}]*"auth":"cert"' ||
	nt_fail "hostB after the renewal: $(at_cli hostB status --json)"
out=$(at_cli hostA ping nas) || nt_fail "hostA ping nas: $out"
nt_pass "desktop's certificate renewed by a signer at its request; its tunnels use the new one"

# a restart in a new boot (its identity file gone with /run) loads the state: desktop comes
# back a member with its certificate, and with the ULA its certificate names
UB0=$(at_ula hostB)
at_agent_stop hostB
rm -f "$NT_DIR/hostB/run/identity"
at_agent_start hostB desktop 'authority = yes'
[ "$(at_ula hostB)" = "$UB0" ] || nt_fail "desktop's ULA changed across the boot: $UB0 -> $(at_ula hostB)"
grep -q "identity: keeping the address of this host's certificate" "$NT_DIR/agent-hostB.log" ||
	nt_fail "desktop does not say why it kept its ULA"
nt_wait 10 grep -q "account authority of $D: this host is a member with a certificate" "$NT_DIR/agent-hostB.log" ||
	nt_fail "desktop did not load its state: $(tail -5 "$NT_DIR/agent-hostB.log")"
nt_wait 15 sh -c "env AUTOTUNNEL_CONTROL='$NT_DIR/hostB/run/control' ip netns exec '$(nt_ns hostB)' '$AT_CLI' ping laptop" ||
	nt_fail "desktop, restarted, cannot reach laptop"
out=$(at_cli hostB ping nas) || nt_fail "desktop, restarted, cannot reach nas: $out"
at_cli hostB status --json | grep -q '"label":"laptop"[^}]*"state":"up"[^}]*"auth":"cert"' ||
	nt_fail "hostB after its restart: $(at_cli hostB status --json)"
nt_pass "desktop restarted in a new boot: its certificate and the ULA it names kept, tunnels with certificates again"

# 5. revocation: desktop's tunnels go down at every member within 5 s, and it cannot make a new one
desktop_up() { at_cli "$1" status --json | grep -q '"label":"desktop"[^}]*"state":"up"'; }
desktop_up hostA && desktop_up pub || nt_fail "the tunnels to desktop are not up before the revocation"
t0=$(at_now_ms)
out=$(at_cli hostA revoke desktop) || nt_fail "revoke desktop: $out"
echo "$out" | grep -q "^revoked desktop and its key (list 1)" || nt_fail "revoke output: $out"
i=0
while desktop_up hostA || desktop_up pub || at_cli hostB status --json | grep -q '"state":"up"'; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.05
done
T_DOWN=$(( $(at_now_ms) - t0 ))
desktop_up hostA && nt_fail "laptop's tunnel to desktop is still up"
desktop_up pub && nt_fail "nas's tunnel to desktop is still up after $T_DOWN ms"
at_cli hostB status --json | grep -q '"state":"up"' && nt_fail "desktop still has a tunnel up: $(at_cli hostB status)"
[ "$T_DOWN" -le 5000 ] || nt_fail "the revoked host's tunnels took $T_DOWN ms to go down"
grep -q "desktop: closing its tunnel: its certificate is revoked" "$NT_DIR/agent-pub.log" ||
	nt_fail "nas does not say why: $(cat "$NT_DIR/agent-pub.log")"
nt_pass "revoked desktop: its tunnels were down at every member $T_DOWN ms after autotunnel revoke"
out=$(at_cli hostB ping laptop 2>&1) && nt_fail "desktop can still reach laptop: $out"
out=$(at_cli hostB ping nas 2>&1) && nt_fail "desktop can still reach nas: $out"
nt_wait 5 grep -q "desktop: its certificate is refused: revoked" "$NT_DIR/agent-hostA.log" ||
	nt_fail "laptop did not refuse desktop's certificate: $(cat "$NT_DIR/agent-hostA.log")"
desktop_up hostA && nt_fail "desktop made a new tunnel to laptop"
nt_pass "desktop cannot make a new tunnel: laptop and nas refuse its revoked certificate"
out=$(at_cli hostB renew) || nt_fail "hostB renew after its revocation: $out"
nt_wait 15 sh -c "grep -q 'refused to renew the certificate of desktop: it is revoked' '$NT_DIR/agent-hostA.log' '$NT_DIR/agent-pub.log'" ||
	nt_fail "no signer refused to renew the revoked desktop"
nt_pass "a signer refuses to renew the revoked host's certificate"

# 6. the server cannot forge a host. With a copy of its database and the
# (weak) password guessed, it derives every key a password gives...
UA=$(at_ula hostA)
nt_exec rv sqlite3 "$NT_DIR/rv/dns.db" ".backup '$NT_DIR/dbcopy.db'" || nt_fail "cannot copy the server's database"
mkdir -p "$NT_DIR/forge"
FORGE="/usr/bin/python3 $AT_SRC/tests/netns/forge_server.py"
out=$($FORGE keys "$NT_DIR/dbcopy.db" alice "$D" "$PW" "$NT_DIR/forge" 2>&1) || nt_fail "forge keys: $out"
# ...the very IKE key every host of the account holds (the PSK of accounts without an authority)
held=$(sed -n 's/^ike-key //p' "$NT_DIR/hostA/state/account" | base64 -d | od -An -tx1 | tr -d ' \n')
[ -n "$held" ] && [ "$held" = "$(cat "$NT_DIR/forge/ike.hex")" ] || nt_fail "the forger's IKE key is not the account's"
PROBE=$AT_BUILD/lib/ike/ike_probe
[ -x "$PROBE" ] || nt_fail "$PROBE not built"
# IKE with that key as the PSK, claiming to be nas: refused
nt_exec rv "$PROBE" --listen 198.51.100.53 --peer 203.0.113.10:4500 --local-id "nas.$D" --remote-id "laptop.$D" \
	--psk "0x$(cat "$NT_DIR/forge/ike.hex")" --local-ts fd00:f0f0::1/128 --remote-ts "$UA/128" --initiate \
	--timeout 8000 >"$NT_DIR/forge/psk.out" 2>&1 && nt_fail "IKE with the PSK succeeded: $(cat "$NT_DIR/forge/psk.out")"
grep -q "ike down: .*notify=AUTHENTICATION_FAILED" "$NT_DIR/forge/psk.out" ||
	nt_fail "IKE with the PSK: $(cat "$NT_DIR/forge/psk.out")"
grep -q "^ike up" "$NT_DIR/forge/psk.out" && nt_fail "an IKE SA came up with the PSK"
# an authority of its own, with the account authority's very subject: refused
out=$($FORGE certs "$D" nas "$NT_DIR/forge" 2>&1) || nt_fail "forge certs: $out"
nt_exec rv "$PROBE" --listen 198.51.100.53 --peer 203.0.113.10:4500 --local-id "nas.$D" --remote-id "laptop.$D" \
	--cert "$NT_DIR/forge/forged_nas.pem" --key "$NT_DIR/forge/forged_nas.key" --ca "$NT_DIR/forge/forged_ca.pem" \
	--local-ts fd00:f0f0::1/128 --remote-ts "$UA/128" --initiate --timeout 8000 >"$NT_DIR/forge/cert.out" 2>&1 &&
	nt_fail "IKE with a forged certificate succeeded: $(cat "$NT_DIR/forge/cert.out")"
grep -q "ike down: .*notify=AUTHENTICATION_FAILED" "$NT_DIR/forge/cert.out" ||
	nt_fail "IKE with a forged certificate: $(cat "$NT_DIR/forge/cert.out")"
nt_pass "the server's keys (weak password guessed from its database) give no tunnel: PSK and forged certificate refused"

# a computer asks to join again (desktop, signed out and in: a new key); the
# server publishes its own anchor and an approval it made: refused
out=$(at_cli hostB logout) || nt_fail "hostB logout: $out"
out=$(at_login hostB alice "$PW") || nt_fail "hostB login again: $out"
CODE=$(echo "$out" | sed -n 's/^join code \([0-9A-Z]\{4\}-[0-9A-Z]\{4\}\): .*/\1/p')
[ -n "$CODE" ] || nt_fail "hostB shows no join code: $out"
# a restart while waiting shows the same code (the request and its secret are kept, §5.1)
at_agent_stop hostB
at_agent_start hostB desktop 'authority = yes'
nt_wait 10 sh -c "env AUTOTUNNEL_CONTROL='$NT_DIR/hostB/run/control' ip netns exec '$(nt_ns hostB)' '$AT_CLI' status |
	grep -qx 'authority joining: run \`autotunnel approve $CODE\` on a signer of the account'" ||
	nt_fail "hostB after a restart while joining: $(at_cli hostB status)"
out=$(nt_exec rv $FORGE approve "$D" 198.51.100.53 "$(cat "$NT_DIR/forge/tsig.b64")" "$NT_DIR/forge" desktop 2>&1) ||
	nt_fail "forge approve: $out"
echo "$out" | grep -q "forged an approval for desktop .*: rcode 0" || nt_fail "the forged approval was not stored: $out"
nt_wait 5 grep -q "an approval for this host was refused" "$NT_DIR/agent-hostB.log" ||
	nt_fail "hostB did not look at the forged approval: $(cat "$NT_DIR/agent-hostB.log")"
at_cli hostB status | grep -q "^authority joining" || nt_fail "hostB took the forged approval: $(at_cli hostB status)"
nt_pass "a forged anchor and approval from the server: the joining computer refuses them"
# the genuine approval, from the other signer: admitted again with its new key
out=$(at_cli pub approve "$CODE") || nt_fail "nas approve: $out"
nt_wait 10 sh -c "env AUTOTUNNEL_CONTROL='$NT_DIR/hostB/run/control' ip netns exec '$(nt_ns hostB)' '$AT_CLI' status |
	grep -qx 'authority member (tunnels use certificates)'" ||
	nt_fail "hostB was not admitted again: $(cat "$NT_DIR/agent-hostB.log")"
nt_wait 10 sh -c "env AUTOTUNNEL_CONTROL='$NT_DIR/hostB/run/control' ip netns exec '$(nt_ns hostB)' '$AT_CLI' ping laptop" ||
	nt_fail "desktop, admitted again, cannot reach laptop"
at_cli hostB status --json | grep -q '"label":"laptop"[^}]*"state":"up"[^}]*"auth":"cert"' ||
	nt_fail "hostB status: $(at_cli hostB status --json)"
nt_pass "desktop admitted again by nas's approval (a new key, after its revocation): tunnel to laptop with certificates"

# the other signer revokes it once more: its list follows laptop's (seq 2), and laptop honours it
out=$(at_cli pub revoke desktop) || nt_fail "nas revoke desktop: $out"
echo "$out" | grep -q "^revoked desktop and its key (list 2)" || nt_fail "nas's revocation: $out"
nt_wait 5 sh -c "! env AUTOTUNNEL_CONTROL='$NT_DIR/hostA/run/control' ip netns exec '$(nt_ns hostA)' '$AT_CLI' status --json |
	grep -q '\"label\":\"desktop\"[^}]*\"state\":\"up\"'" || nt_fail "laptop kept its tunnel to desktop after nas's revocation"
nt_wait 5 grep -q "revocation list 2 of $D" "$NT_DIR/agent-hostA.log" || nt_fail "laptop did not take list 2"
nt_pass "a second signer's revocation builds on the first's list (seq 2) and every member honours it"

# every agent stops cleanly: no sanitizer report (the build under test has ASan and UBSan)
for h in hostA hostB pub; do at_agent_stop "$h"; done
for h in hostA hostB pub; do
	grep -Eq "Sanitizer|runtime error" "$NT_DIR/agent-$h.log" && nt_fail "$h: $(grep -E -A5 'Sanitizer|runtime error' "$NT_DIR/agent-$h.log")"
done
nt_pass "the three agents stopped with no sanitizer report"
