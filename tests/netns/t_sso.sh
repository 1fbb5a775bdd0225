#!/bin/sh
# Single sign-on from enrolment alone (issue 14 parts 3-4, docs/sso.md):
# desktop (hostB) signs in first with [agent] authority = yes and creates the
# account authority; laptop (hostA) signs in and joins by `autotunnel
# approve CODE` on desktop. Nothing else: each host's certificate (P-256,
# naming the account's principal) is its KDC's and its PKINIT client's, so
# each agent runs its own KDC on its ULA by itself, announces it, and writes
# RUN/krb5.conf; sshd with GSSAPI runs in hostB on its ULA. From hostA:
# kinit with no password, then `ssh -o PreferredAuthentications=gssapi-with-mic
# desktop id` logs in. No ticket, and a certificate of another account's
# authority (bob's, whose signer runs on pub), are refused; pub, a host of
# account bob, cannot reach desktop's sshd or KDC. krb5kdc killed is started
# again; laptop's renewed certificate restarts its KDC with its database, and
# kinit goes on with it. `autotunnel revoke laptop` on desktop: laptop's
# tunnel goes and ssh from it fails. A signer restarted with an Ed25519 host
# key (a state from before host keys were P-256) takes a P-256 key and a new
# certificate. Sign-out stops the KDC and removes its database.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
# the authority's enrolment is what this script shows: its logins print it all and approve by hand
AT_AUTO_APPROVE=0
nt_setup

for t in /usr/sbin/krb5kdc /usr/sbin/kdb5_util /usr/sbin/kadmin.local /usr/bin/kinit /usr/sbin/sshd /usr/bin/ssh; do
	[ -x "$t" ] || { echo "SKIP: $t not installed (scripts/install-deps.sh --run --test)"; exit 77; }
done
D=alice.$AT_ZONE
REALM_A=LAPTOP.ALICE.MEMBERS.EXAMPLE.NET
REALM_B=DESKTOP.ALICE.MEMBERS.EXAMPLE.NET
PW='correct horse battery'

nt_topology
at_dnsd
at_account alice "$PW"
at_account bob "$PW"
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
at_bridge_lan natB
at_stun
at_miniupnpd natB 2
at_loopback natB 203.0.113.20
# the account's principal maps to root here: the test has no other user to log in as
at_agent_start hostA laptop 'authority = yes' kdc-user=root
at_agent_start hostB desktop 'authority = yes' kdc-user=root
at_agent_start pub nas 'authority = yes' kdc-user=root
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping: $(cat "$NT_DIR/agent-hostA.log")"
at_log_wait hostB 'mapped UDP 4500' 10 || nt_fail "hostB got no mapping: $(cat "$NT_DIR/agent-hostB.log")"
ULA_A=$(at_ula hostA)
ULA_B=$(at_ula hostB)

# enrolment only: desktop creates the authority, laptop joins by approval
out=$(at_login hostB alice "$PW") || nt_fail "hostB login: $out"
echo "$out" | grep -qx "this computer created the account authority; its recovery key, shown only now:" ||
	nt_fail "hostB did not create the authority: $out"
out=$(at_login hostA alice "$PW") || nt_fail "hostA login: $out"
CODE=$(echo "$out" | sed -n 's/^join code \([0-9A-Z]\{4\}-[0-9A-Z]\{4\}\): .*/\1/p')
[ -n "$CODE" ] || nt_fail "hostA login shows no join code: $out"
out=$(at_cli hostB approve "$CODE") || nt_fail "approve $CODE on hostB: $out"
at_log_wait hostA "approved: this host is a member of $D" 10 ||
	nt_fail "hostA did not accept its approval: $(tail -5 "$NT_DIR/agent-hostA.log")"
for h in hostA hostB; do
	openssl x509 -in "$NT_DIR/$h/state/host.pem" -noout -text >"$NT_DIR/$h-cert.txt" || nt_fail "no host.pem on $h"
	grep -q "ASN1 OID: prime256v1" "$NT_DIR/$h-cert.txt" || nt_fail "$h's host key is not P-256: $(cat "$NT_DIR/$h-cert.txt")"
	grep -Eq "1\.3\.6\.1\.5\.2\.3\.4|PKINIT Client Auth" "$NT_DIR/$h-cert.txt" || nt_fail "$h's certificate has no id-pkinit-KPClientAuth"
done
nt_pass "desktop created the authority, laptop joined by approval ($CODE): P-256 host certificates with the PKINIT client purpose"

# no `authority issue`, no files copied by hand: each KDC starts once its certificate is there
at_log_wait hostB "kdc: krb5kdc (pid [0-9]*) serves $REALM_B" 20 ||
	nt_fail "no KDC on hostB: $(grep kdc: "$NT_DIR/agent-hostB.log")"
at_log_wait hostA "kdc: krb5kdc (pid [0-9]*) serves $REALM_A" 20 ||
	nt_fail "no KDC on hostA: $(grep kdc: "$NT_DIR/agent-hostA.log")"
nt_wait 10 nt_exec hostB sh -c "ss -lun | grep -q '\[$ULA_B\]:88 '" || nt_fail "krb5kdc does not listen on [$ULA_B]:88 (UDP)"
nt_wait 5 nt_exec hostB sh -c "ss -ltn | grep -q '\[$ULA_B\]:88 '" || nt_fail "krb5kdc does not listen on [$ULA_B]:88 (TCP)"
if nt_exec hostB ss -lntu | grep ':88 ' | grep -v "\[$ULA_B\]:88 " >/dev/null; then
	nt_fail "krb5kdc listens beyond the ULA: $(nt_exec hostB ss -lntu | grep ':88 ')"
fi
nt_pass "each agent starts its KDC from its enrolment alone: hostB's serves $REALM_B on [$ULA_B]:88 only"

# the tunnel between them authenticates with the same certificates
tunnel_up() { at_cli hostA status --json | grep -q '"state":"up"[^}]*"auth":"cert"'; }
out=$(at_cli hostA ping desktop) || nt_fail "hostA ping desktop: $out"
nt_wait 10 tunnel_up || nt_fail "no tunnel with certificates on hostA: $(at_cli hostA status)"

# the realm is announced: _kerberos.desktop.D TXT and the SRV records, signed queries to the server
K=$(nt_exec rv "$AT_DNSD" --db "$NT_DIR/rv/dns.db" account show alice --tsig)
q() { nt_exec rv dig +tcp +short -y "$K" @198.51.100.53 "$1" "$2"; }
nt_wait 10 sh -c "[ \"\$(ip netns exec $(nt_ns rv) dig +tcp +short -y '$K' @198.51.100.53 _kerberos.desktop.$D TXT)\" = '\"$REALM_B\"' ]" ||
	nt_fail "_kerberos.desktop.$D TXT: '$(q "_kerberos.desktop.$D" TXT)'"
[ "$(q "_kerberos._udp.desktop.$D" SRV)" = "0 0 88 desktop.$D." ] || nt_fail "_kerberos._udp SRV: '$(q "_kerberos._udp.desktop.$D" SRV)'"
[ "$(q "_kerberos._tcp.desktop.$D" SRV)" = "0 0 88 desktop.$D." ] || nt_fail "_kerberos._tcp SRV: '$(q "_kerberos._tcp.desktop.$D" SRV)'"
nt_pass "desktop announces _kerberos.desktop.D TXT and _kerberos._udp/_tcp SRV"

# hostA's krb5.conf knows desktop's realm, KDC and KDC certificate name; hostB's maps alice@REALM_B to root
nt_wait 10 grep -q "kdc = \[$ULA_B\]:88" "$NT_DIR/hostA/run/krb5.conf" ||
	nt_fail "hostA's krb5.conf has no KDC for desktop: $(cat "$NT_DIR/hostA/run/krb5.conf")"
grep -q "^	desktop = $REALM_B\$" "$NT_DIR/hostA/run/krb5.conf" || nt_fail "no domain_realm for desktop"
grep -q "pkinit_kdc_hostname = desktop.$D\$" "$NT_DIR/hostA/run/krb5.conf" || nt_fail "no pkinit_kdc_hostname for desktop"
grep -q "auth_to_local = RULE:.*s/\.\*/root/" "$NT_DIR/hostB/run/krb5.conf" || nt_fail "no mapping on hostB"
nt_pass "the agents write krb5.conf: peers' realms on hostA, the mapping on hostB"

# account bob on pub: its signer issues a certificate naming alice's principal, for alice's KDCs to refuse
out=$(at_login pub bob "$PW") || nt_fail "pub login (bob): $out"
out=$(at_cli pub authority issue laptop --out "$NT_DIR/bob" --key p256 --pkinit client "alice@ALICE.MEMBERS.EXAMPLE.NET") ||
	nt_fail "authority issue on pub: $out"

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
if out=$(on_A kinit -X "X509_user_identity=FILE:$NT_DIR/bob/laptop.pem,$NT_DIR/bob/laptop.key" \
	-X "X509_anchors=FILE:$NT_DIR/bob/anchor.pem" -X "X509_anchors=FILE:$NT_DIR/hostA/state/anchor.pem" \
	"alice@$REALM_B" </dev/null 2>&1); then
	nt_fail "kinit with another account's certificate succeeded: $out"
fi
grep -q "PREAUTH_FAILED\|CANT_VERIFY\|not trusted\|verify" "$NT_DIR/hostB/state-kdc/kdc.log" ||
	nt_fail "the KDC did not log the refusal ($out): $(tail -5 "$NT_DIR/hostB/state-kdc/kdc.log")"
nt_pass "a certificate of another account (bob's authority, alice's name) is refused by desktop's KDC ($(echo "$out" | tail -1))"

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

# laptop's certificate renewed: its KDC restarts with it (keeping its database), kinit uses it
n0=$(grep -c "kdc: krb5kdc (pid [0-9]*) serves $REALM_A" "$NT_DIR/agent-hostA.log")
out=$(at_cli hostA renew) || nt_fail "hostA renew: $out"
at_log_wait hostA "renewed: this host's certificate now runs until" 15 ||
	nt_fail "laptop's certificate was not renewed: $(tail -5 "$NT_DIR/agent-hostA.log")"
nt_wait 10 sh -c "[ \$(grep -c 'kdc: krb5kdc (pid [0-9]*) serves $REALM_A' '$NT_DIR/agent-hostA.log') -gt $n0 ]" ||
	nt_fail "laptop's KDC did not restart with the renewed certificate: $(grep kdc: "$NT_DIR/agent-hostA.log")"
nt_wait 5 cmp -s "$NT_DIR/hostA/state/host.pem" "$NT_DIR/hostA/run-krb5/client.pem" ||
	nt_fail "the PKINIT client certificate is not the renewed one"
cmp -s "$NT_DIR/hostA/state/host.pem" "$NT_DIR/hostA/state-kdc/kdc.pem" || nt_fail "the KDC certificate is not the renewed one"
[ -e "$NT_DIR/hostA/state-kdc/principal" ] || nt_fail "laptop's KDC database is gone after the renewal"
out=$(at_cli hostA ping desktop) || nt_fail "hostA ping desktop after the renewal: $out"
out=$(on_A kinit "alice@$REALM_B" </dev/null 2>&1) || nt_fail "kinit with the renewed certificate failed: $out"
out=$(on_A $SSH desktop id 2>&1) || nt_fail "ssh desktop after the renewal failed: $out"
nt_pass "laptop's renewed certificate: its KDC restarts with it, kinit and ssh desktop go on"

# a host of another account cannot reach desktop's KDC or sshd (ULA only, through alice's tunnels)
if out=$(nt_exec pub timeout 10 ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o PreferredAuthentications=gssapi-with-mic "root@$ULA_B" id 2>&1); then
	nt_fail "ssh from bob's nas to desktop logged in: $out"
fi
if nt_exec pub timeout 10 /usr/bin/python3 -c "import socket,sys; socket.create_connection((sys.argv[1], 88), timeout=5)" \
	"$ULA_B" >/dev/null 2>&1; then
	nt_fail "bob's nas reaches desktop's KDC"
fi
nt_pass "a host of another account (bob's nas) cannot ssh to desktop: $(echo "$out" | tail -1)"

# revocation: desktop (a signer) revokes laptop; its tunnel goes, and ssh from it fails with the ticket it holds
out=$(at_cli hostB revoke laptop) || nt_fail "revoke laptop on hostB: $out"
nt_wait 10 sh -c "! env AUTOTUNNEL_CONTROL='$NT_DIR/hostA/run/control' ip netns exec '$(nt_ns hostA)' \
	'$AT_CLI' status --json | grep -q '\"state\":\"up\"'" || nt_fail "laptop's tunnel is still up: $(at_cli hostA status)"
SSH5=$(echo "$SSH" | sed 's/ConnectTimeout=15/ConnectTimeout=5/')
if out=$(on_A timeout 20 $SSH5 desktop id 2>&1); then
	nt_fail "ssh desktop from the revoked laptop logged in: $out"
fi
sleep 3
at_cli hostA status --json | grep -q '"state":"up"' && nt_fail "the revoked laptop set a tunnel up again: $(at_cli hostA status)"
nt_pass "after autotunnel revoke laptop: no tunnel, ssh desktop from laptop fails ($(echo "$out" | tail -1))"

# a signer whose state holds an Ed25519 host key (enrolled before host keys were P-256) takes a P-256 key at start
at_agent_stop hostB
openssl genpkey -algorithm ed25519 -out "$NT_DIR/hostB/state/host.key" 2>/dev/null || nt_fail "cannot make an Ed25519 key"
chown --reference="$NT_DIR/hostB/state/host.pem" "$NT_DIR/hostB/state/host.key"
chmod 600 "$NT_DIR/hostB/state/host.key"
: >"$NT_DIR/agent-hostB.log"
at_agent_start hostB desktop 'authority = yes' kdc-user=root
at_log_wait hostB "this host's key is not ECDSA P-256, which its local KDC needs: a new key and certificate" 10 ||
	nt_fail "hostB kept its Ed25519 key: $(cat "$NT_DIR/agent-hostB.log")"
at_log_wait hostB "kdc: krb5kdc (pid [0-9]*) serves $REALM_B" 20 ||
	nt_fail "no KDC on hostB after the new key: $(grep kdc: "$NT_DIR/agent-hostB.log")"
openssl x509 -in "$NT_DIR/hostB/state/host.pem" -noout -text | grep -q "ASN1 OID: prime256v1" ||
	nt_fail "hostB's new certificate is not for a P-256 key"
[ "$(openssl pkey -in "$NT_DIR/hostB/state/host.key" -pubout)" = "$(openssl x509 -in "$NT_DIR/hostB/state/host.pem" -noout -pubkey)" ] ||
	nt_fail "hostB's host.key is not its certificate's key"
cmp -s "$NT_DIR/hostB/state/host.pem" "$NT_DIR/hostB/state-kdc/kdc.pem" || nt_fail "hostB's KDC does not use the new certificate"
nt_pass "a signer with an Ed25519 host key from before takes a P-256 key and certificate at start; its KDC runs with them"

# sign-out: the KDC stops and its database goes
at_cli hostB logout >/dev/null || nt_fail "logout on hostB failed"
nt_wait 10 sh -c "! ip netns exec $(nt_ns hostB) ss -lntu | grep -q ':88 '" || nt_fail "krb5kdc still runs after sign-out"
# the keeper removes them one after the other once krb5kdc is gone
gone() { [ ! -e "$NT_DIR/hostB/state-kdc/principal" ] && [ ! -e "$NT_DIR/hostB/state-kdc/stash" ] &&
	[ ! -e "$NT_DIR/hostB/run-krb5/host.keytab" ] && [ ! -e "$NT_DIR/hostB/run-krb5/client.key" ]; }
nt_wait 10 gone || nt_fail "left after sign-out: $(ls "$NT_DIR/hostB/state-kdc" "$NT_DIR/hostB/run-krb5")"
[ ! -e "$NT_DIR/hostB/run/krb5.conf" ] || nt_fail "krb5.conf is left after sign-out"
nt_pass "sign-out stops the KDC and removes its database, stash, keytab, copies and krb5.conf"
