#!/bin/sh
# Single sign-on (issue 14 parts 3-4, docs/sso.md): laptop (hostA) and
# desktop (hostB) of account alice, each with PKINIT certificates from the
# account's authority (tests/tools/pkinit_certs, until enrolment issues
# them). Each agent runs its own KDC on its ULA, announces it, and writes
# RUN/krb5.conf; sshd with GSSAPI runs in hostB on its ULA. From hostA:
# kinit with no password, then `ssh -o PreferredAuthentications=gssapi-with-mic
# desktop id` logs in. A certificate of another account, and no ticket at
# all, are refused. krb5kdc killed is started again; sign-out stops it and
# removes its database.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup

for t in /usr/sbin/krb5kdc /usr/sbin/kdb5_util /usr/sbin/kadmin.local /usr/bin/kinit /usr/sbin/sshd /usr/bin/ssh; do
	[ -x "$t" ] || { echo "SKIP: $t not installed (scripts/install-deps.sh --run --test)"; exit 77; }
done
CERTS=$AT_BUILD/lib/authority/pkinit_certs
[ -x "$CERTS" ] || nt_fail "no $CERTS"
D=alice.$AT_ZONE
REALM_B=DESKTOP.ALICE.MEMBERS.EXAMPLE.NET

nt_topology
# the account's principal maps to root here: the test has no other user to log in as
at_bed_two kdc-user=root
ULA_A=$(at_ula hostA)
ULA_B=$(at_ula hostB)

# The agents read their certificates at sign-in: issue them for this boot's
# ULAs, then restart both agents (a saved account signs in by itself).
"$CERTS" "$NT_DIR/pki" "$D" alice "laptop=$ULA_A" "desktop=$ULA_B" >/dev/null || nt_fail "cannot issue certificates"
"$CERTS" "$NT_DIR/pki-bob" "bob.$AT_ZONE" bob "laptop=$ULA_A" >/dev/null || nt_fail "cannot issue bob's certificates"
at_agent_stop hostA
at_agent_stop hostB
cp "$NT_DIR/pki/laptop/"* "$NT_DIR/hostA/state/"
cp "$NT_DIR/pki/desktop/"* "$NT_DIR/hostB/state/"
: >"$NT_DIR/agent-hostA.log"
: >"$NT_DIR/agent-hostB.log"
at_agent_start hostA laptop kdc-user=root
at_agent_start hostB desktop kdc-user=root
at_log_wait hostB "kdc: krb5kdc (pid [0-9]*) serves $REALM_B" 20 ||
	nt_fail "no KDC on hostB: $(grep kdc: "$NT_DIR/agent-hostB.log")"
nt_wait 10 nt_exec hostB sh -c "ss -lun | grep -q '\[$ULA_B\]:88 '" || nt_fail "krb5kdc does not listen on [$ULA_B]:88 (UDP)"
nt_wait 5 nt_exec hostB sh -c "ss -ltn | grep -q '\[$ULA_B\]:88 '" || nt_fail "krb5kdc does not listen on [$ULA_B]:88 (TCP)"
if nt_exec hostB ss -lntu | grep ':88 ' | grep -v "\[$ULA_B\]:88 " >/dev/null; then
	nt_fail "krb5kdc listens beyond the ULA: $(nt_exec hostB ss -lntu | grep ':88 ')"
fi
nt_pass "hostB's KDC serves $REALM_B on [$ULA_B]:88 only"

# the realm is announced: _kerberos.desktop.D TXT and the SRV records, signed queries to the server
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
q() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "$1" "$2"; }
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns rv) dig +tcp +short -y '$K' @198.51.100.53 _kerberos.desktop.$D TXT)\" = '\"$REALM_B\"' ]" ||
	nt_fail "_kerberos.desktop.$D TXT: '$(q "_kerberos.desktop.$D" TXT)'"
[ "$(q "_kerberos._udp.desktop.$D" SRV)" = "0 0 88 desktop.$D." ] || nt_fail "_kerberos._udp SRV: '$(q "_kerberos._udp.desktop.$D" SRV)'"
[ "$(q "_kerberos._tcp.desktop.$D" SRV)" = "0 0 88 desktop.$D." ] || nt_fail "_kerberos._tcp SRV: '$(q "_kerberos._tcp.desktop.$D" SRV)'"
nt_pass "desktop announces _kerberos.desktop.D TXT and _kerberos._udp/_tcp SRV"

# hostA's krb5.conf knows desktop's realm and KDC; hostB's maps alice@REALM_B to root
nt_wait 10 grep -q "kdc = \[$ULA_B\]:88" "$NT_DIR/hostA/run/krb5.conf" ||
	nt_fail "hostA's krb5.conf has no KDC for desktop: $(cat "$NT_DIR/hostA/run/krb5.conf")"
grep -q "^	desktop = $REALM_B\$" "$NT_DIR/hostA/run/krb5.conf" || nt_fail "no domain_realm for desktop"
grep -q "auth_to_local = RULE:.*s/\.\*/root/" "$NT_DIR/hostB/run/krb5.conf" || nt_fail "no mapping on hostB"
nt_pass "the agents write krb5.conf: peers' realms on hostA, the mapping on hostB"

# sshd with GSSAPI only, on hostB's ULA
mkdir -p "$NT_DIR/sshd" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$NT_DIR/sshd/hostkey"
cat >"$NT_DIR/sshd/sshd_config" <<CONF
ListenAddress $ULA_B
Port 22
HostKey $NT_DIR/sshd/hostkey
PidFile $NT_DIR/sshd/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication yes
GSSAPIStrictAcceptorCheck no
AuthorizedKeysFile none
CONF
nt_bg hostB sshd env KRB5_CONFIG="$NT_DIR/hostB/run/krb5.conf" /usr/sbin/sshd -D -e -f "$NT_DIR/sshd/sshd_config"
nt_wait 10 nt_exec hostB sh -c "ss -ltn | grep -q '\[$ULA_B\]:22 '" || nt_fail "sshd did not start: $(cat "$NT_DIR/sshd.log")"

sed 's/^hosts:.*/hosts: files autotunnel/' /etc/nsswitch.conf >"$NT_DIR/nsswitch.conf"
# on_A CMD...: CMD in hostA with its krb5.conf, a private ticket cache, and
# `desktop` resolved by libnss_autotunnel from hostA's hosts cache
on_A() {
	nt_exec hostA unshare -m sh -c '
		mount --bind "$1" /etc/nsswitch.conf || exit 99
		shift
		exec "$@"' _ "$NT_DIR/nsswitch.conf" \
		env LD_LIBRARY_PATH="$AT_BUILD/src/nss" AUTOTUNNEL_HOSTS="$NT_DIR/hostA/run/hosts" \
		KRB5_CONFIG="$NT_DIR/hostA/run/krb5.conf" KRB5CCNAME="FILE:$NT_DIR/ccA" "$@"
}
SSH="ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o GSSAPIAuthentication=yes -o PreferredAuthentications=gssapi-with-mic"

# no ticket: refused
if out=$(on_A $SSH desktop id 2>&1); then
	nt_fail "ssh without a ticket logged in: $out"
fi
nt_pass "without a ticket, ssh desktop is refused"

# a certificate of another account's authority: the KDC refuses it
# (the client trusts bob's anchor too, else it would not even send its certificate)
if out=$(on_A kinit -X "X509_user_identity=FILE:$NT_DIR/pki-bob/laptop/pkinit.pem,$NT_DIR/pki-bob/laptop/pkinit.key" \
	-X "X509_anchors=FILE:$NT_DIR/pki-bob/anchor.pem" -X "X509_anchors=FILE:$NT_DIR/pki/anchor.pem" \
	"alice@$REALM_B" </dev/null 2>&1); then
	nt_fail "kinit with another account's certificate succeeded: $out"
fi
grep -q "PREAUTH_FAILED\|CANT_VERIFY\|not trusted\|verify" "$NT_DIR/hostB/state-kdc/kdc.log" ||
	nt_fail "the KDC did not log the refusal ($out): $(tail -5 "$NT_DIR/hostB/state-kdc/kdc.log")"
nt_pass "a certificate of another account is refused by desktop's KDC ($(echo "$out" | tail -1))"

# kinit with no password (stdin is empty: a prompt would fail), 10 h ticket
out=$(on_A kinit "alice@$REALM_B" </dev/null 2>&1) || nt_fail "kinit by PKINIT failed: $out"
life=$(on_A klist 2>&1 | awk '/krbtgt\//{print $1" "$2" "$3" "$4; exit}')
start=$(date -d "$(echo "$life" | cut -d' ' -f1-2)" +%s)
end=$(date -d "$(echo "$life" | cut -d' ' -f3-4)" +%s)
[ $((end - start)) -eq 36000 ] || nt_fail "the ticket lives $((end - start)) s, not 10 h: $life"
nt_pass "kinit alice@$REALM_B with no password (PKINIT, the account's certificate): a 10 h ticket"

out=$(on_A $SSH desktop id 2>&1) || nt_fail "ssh desktop with GSSAPI failed: $out
$(tail -20 "$NT_DIR/sshd.log")"
case $out in
*"uid=0(root)"*) ;;
*) nt_fail "ssh desktop id printed: $out" ;;
esac
grep -q "Accepted gssapi-with-mic for root" "$NT_DIR/sshd.log" || nt_fail "sshd did not log a GSSAPI login"
nt_pass "ssh -o PreferredAuthentications=gssapi-with-mic desktop id: $out"

# krb5kdc killed: the keeper starts it again
kpid=$(sed -n 's/.*kdc: krb5kdc (pid \([0-9]*\)) serves.*/\1/p' "$NT_DIR/agent-hostB.log" | tail -1)
kill -KILL "$kpid"
at_log_wait hostB "krb5kdc exited" 5 || nt_fail "the keeper did not see krb5kdc die"
nt_wait 10 sh -c "[ \$(grep -c 'kdc: krb5kdc (pid [0-9]*) serves' '$NT_DIR/agent-hostB.log') -ge 2 ]" ||
	nt_fail "krb5kdc was not started again"
nt_wait 10 nt_exec hostB sh -c "ss -lun | grep -q '\[$ULA_B\]:88 '" || nt_fail "the new krb5kdc does not listen"
nt_pass "krb5kdc killed is started again"

# sign-out: the KDC stops and its database goes
at_cli hostB logout >/dev/null || nt_fail "logout on hostB failed"
nt_wait 10 sh -c "! ip netns exec $(nt_ns hostB) ss -lntu | grep -q ':88 '" || nt_fail "krb5kdc still runs after sign-out"
# the keeper removes them one after the other once krb5kdc is gone
gone() { [ ! -e "$NT_DIR/hostB/state-kdc/principal" ] && [ ! -e "$NT_DIR/hostB/state-kdc/stash" ] &&
	[ ! -e "$NT_DIR/hostB/run-krb5/host.keytab" ] && [ ! -e "$NT_DIR/hostB/run-krb5/client.key" ]; }
nt_wait 10 gone || nt_fail "left after sign-out: $(ls "$NT_DIR/hostB/state-kdc" "$NT_DIR/hostB/run-krb5")"
[ ! -e "$NT_DIR/hostB/run/krb5.conf" ] || nt_fail "krb5.conf is left after sign-out"
nt_pass "sign-out stops the KDC and removes its database, stash, keytab, copies and krb5.conf"
