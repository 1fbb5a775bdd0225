#!/bin/sh
# make demo: the end-to-end story of docs/design.md §9 and issue 11, narrated,
# in network namespaces on this machine: two computers of one person, each
# behind its own home router that offers no port mapping at all (no PCP, no
# NAT-PMP, no UPnP), sign in to a rendezvous server, find each other, reach
# each other directly by hole punching through an encrypted tunnel, and keep
# an ssh-like session alive while one of them moves to a third network.
# The desktop creates the account's authority, the laptop joins by approval,
# and at the end the laptop logs in to the desktop with ssh, with no
# password and no ssh key (issue 14: the local KDCs and PKINIT). It runs
# what exists and says plainly what does not.
set -eu
AT_SRC=$(cd "$(dirname "$0")/.." && pwd)
AT_BUILD=$(cd "${1:-$AT_SRC/build}" && pwd)
export AT_SRC AT_BUILD
. "$AT_SRC/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
# the authority's enrolment is what this script shows: its logins print it all and approve by hand
AT_AUTO_APPROVE=0
. "$AT_SRC/tests/netns/turn_lib.sh"
. "$AT_SRC/tests/netns/punch_lib.sh"
. "$AT_SRC/tests/netns/sso_lib.sh"
nt_setup

say() { printf '\n== %s\n' "$*"; }
tell() { printf '%s\n' "$*"; }
have() { [ -x "$AT_BUILD/$1" ]; }
show() { printf '   $ %s\n' "$*"; }
indent() { sed 's/^/     /'; }
# agent_said HOST REGEX [FIRST-LINE]: the lines of HOST's agent log matching
# REGEX (from line FIRST-LINE on), each once, without the program's name
agent_said() {
	tail -n +"${3:-1}" "$NT_DIR/agent-$1.log" | grep -E "$2" | awk '!seen[$0]++' | sed 's/^autotunneld: /     /'
}

say "Building a small simulated internet"
tell "Network namespaces stand for machines: a rendezvous server (rv,
198.51.100.53), a public host (pub), two home routers (natA at 203.0.113.10,
natB at 203.0.113.20), and one computer behind each: hostA (192.168.1.2, the
'laptop') and hostB (192.168.2.2, the 'desktop'). The routers are the plainest
kind: they masquerade, let in only replies to what went out, and run no
port-mapping service (nothing answers PCP, NAT-PMP or UPnP)."
nt_topology
punch_router natA natB
nt_exec hostA ip -brief addr show eth0 | indent

say "The problem autotunnel solves"
tell "hostA can reach the internet, but nobody on the internet can reach hostA:
its router keeps unsolicited traffic out, as every home router does. With no
port mapping to ask for, the usual way in (a forwarded port) is closed too."
nt_exec hostA ping -c 1 -W 2 198.51.100.7 >/dev/null && echo "   hostA -> pub (198.51.100.7): works"
if nt_exec pub ping -c 1 -W 1 192.168.1.2 >/dev/null 2>&1; then
	echo "unexpected: pub reached hostA"; exit 1
fi
echo "   pub -> hostA (192.168.1.2): unreachable"

say "What autotunnel adds on top of this network"
missing=""
for p in src/autotunnel-dnsd/autotunnel-dnsd src/autotunneld/autotunneld src/autotunnel/autotunnel; do
	if have "$p"; then
		echo "   built:          $(basename "$p")"
	else
		echo "   not built yet:  $(basename "$p")"
		missing="$missing $(basename "$p")"
	fi
done
if [ ! -x "$TURN_BIN" ]; then
	echo "   not installed:  coturn (the STUN server; 'make demo' installs it: scripts/deps-test.txt)"
	missing="$missing coturn"
fi
if [ -n "$missing" ]; then
	tell "
Without$missing this demo cannot show sign-in, discovery, the tunnel between
hostA and hostB, or roaming. What you saw above is the test bed those steps run
on; README.md ('Status') says what each component can do today."
	say "Cleaning up: every namespace and process the demo made is removed"
	exit 0
fi

say "1. The rendezvous server, and a STUN server beside it"
tell "autotunnel-dnsd plays the part Apple's members.me.com played for Back to My
Mac: a DNS server where each account's computers publish where they are, and
watch where the others are. Everything goes over TLS; its certificate is pinned
by the hash printed at start. Beside it runs coturn, a STUN server nobody here
wrote, on two addresses (198.51.100.53 and .54), so that a computer can learn
the address its router shows the world and how its router behaves (RFC 5780).
The server names it to the account's computers (_stun._udp SRV). We create
the account 'alice' with a password; the server keeps only a key derived from it."
punch_bed
echo "   server up on 198.51.100.53:853, TLS pin $AT_PIN"
echo "   coturn up on 198.51.100.53:3478 and 198.51.100.54:3478"
show "turnserver -c turnserver.conf            (coturn: STUN on .53 and .54, RFC 5780)"
show "autotunnel-dnsd --stun-server 198.51.100.53 ...    (publishes _stun._udp SRV)"
show "autotunnel-dnsd account add alice        (password on stdin)"

say "2. The agent starts on both computers"
tell "autotunneld makes this computer's address inside the tunnels: an IPv6
unique local address (ULA) that stays the same for the whole boot, wherever
the computer goes (RFC 6281 §6.3). It watches the network and asks the router
to forward UDP port 4500 to it; here nobody answers. Both run with the
account's own certificate authority (on by default, docs/authority.md) and map
the account to the local user root (kdc-user; by default the first person's
account of the machine)."
at_agent_start hostA laptop kdc-user=root
at_agent_start hostB desktop kdc-user=root
at_log_wait hostA 'no port mapping on this network' 15 || nt_fail "the laptop did not finish asking for a mapping"
agent_said hostA 'no port mapping on this network'

say "3. Signing in, once per computer: the desktop first, then the laptop joins"
tell "The password is turned on the computer into the key that signs its DNS
updates (TSIG; the server has it too). The tunnels do not trust the password:
the first computer to sign in, the desktop, creates the account's authority, a
signing key that stays on it and that the server never sees, and gives itself
a certificate. It prints a recovery key once (it enrols another computer as a
signer, or rebuilds the authority). Each computer then watches the account
with DNS Push (RFC 8765; LLQ with older servers), so news arrives at once."
show "autotunnel login alice --server 198.51.100.53:853 --pin $AT_PIN     (on the desktop)"
at_login hostB alice "$PUNCH_PASS" | indent
tell "The laptop signs in the same way; the account has an authority now, so it
asks to join and shows a code. The code goes to the desktop by the person, not
by the server: the server cannot swap the laptop's request for its own."
show "autotunnel login alice --server 198.51.100.53:853 --pin $AT_PIN     (on the laptop)"
out=$(at_login hostA alice "$PUNCH_PASS") || nt_fail "the laptop's login: $out"
echo "$out" | indent
CODE=$(echo "$out" | sed -n 's/^join code \([0-9A-Z]\{4\}-[0-9A-Z]\{4\}\): .*/\1/p')
[ -n "$CODE" ] || nt_fail "the laptop shows no join code: $out"
show "autotunnel approve $CODE     (on the desktop)"
at_cli hostB approve "$CODE" | indent
at_log_wait hostA "approved: this host is a member of" 10 || nt_fail "the laptop was not admitted: $(tail -5 "$NT_DIR/agent-hostA.log")"
agent_said hostA "approved: this host is a member of"
t0=$(at_now_ms)
for i in $(seq 100); do
	at_lists hostA desktop && at_lists hostB laptop && break
	sleep 0.05
done
at_lists hostA desktop || nt_fail "the laptop does not see the desktop"
at_lists hostB laptop || nt_fail "the desktop does not see the laptop"
echo "   each computer saw the other $(( $(at_now_ms) - t0 )) ms after signing in"

say "4. What the laptop found out about its network"
tell "After sign-in the agent asks the STUN server, from its tunnel socket itself,
which address and port the router gave it, then runs RFC 5780's tests to learn
how the router maps and filters (about 3.5 s behind a home router). Its
candidates (its LAN address and this reflexive address) go to the server."
nt_wait 15 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI netcheck |
	grep -q '^direct '" || nt_fail "the laptop's STUN check did not end: $(at_cli hostA netcheck)"
show "autotunnel netcheck       (on the laptop)"
at_cli hostA netcheck | indent

say "5. Who is in the account"
show "autotunnel hosts          (on the laptop)"
at_cli hostA hosts | indent
show "autotunnel status         (on the desktop)"
at_cli hostB status | indent
tell "Neither computer publishes a location anyone could connect to, and no
tunnel exists yet: it is made when the first packet needs it."

say "6. The first packet: hole punching, then the tunnel"
tell "The laptop pings the desktop's ULA. Its agent holds the packet, writes a
punch request to the server; the desktop hears it at once over DNS Push, and
both send authenticated connectivity checks to each other's candidates at the
same moment, so each router sees an answer to something that went out. The
first pair that works carries IKEv2, and the held packet goes through."
UA=$(at_ula hostA)
UB=$(at_ula hostB)
show "ping -6 $UB        (the desktop's ULA, from the laptop)"
ms=$(punch_ping_ms hostA "$UB") || nt_fail "no reply through a punched path:
laptop: $(grep -i 'path\|punch\|tunnel\|check' "$NT_DIR/agent-hostA.log" | tail -10)
desktop: $(grep -i 'path\|punch\|tunnel\|check' "$NT_DIR/agent-hostB.log" | tail -10)"
echo "   first reply $ms ms after the first packet (punching and IKE included)"
punched() { at_cli "$1" status | grep '^peer ' | grep -q "   punched 203\.0\.113\.[12]0:4500 "; }
nt_wait 5 punched hostA || nt_fail "the laptop's status: $(at_cli hostA status)"
nt_wait 5 punched hostB || nt_fail "the desktop's status: $(at_cli hostB status)"
tell "What the laptop's agent wrote:"
agent_said hostA 'direct path|tunnel to .* is up'
tell "And the desktop's:"
agent_said hostB 'direct path|tunnel to .* is up'
show "autotunnel status         (on the laptop)"
at_cli hostA status | indent
show "autotunnel status         (on the desktop)"
at_cli hostB status | indent

say "7. Talking by name, through the tunnel"
show "autotunnel ping desktop   (on the laptop)"
at_cli hostA ping desktop | indent
if [ -f "$AT_BUILD/src/nss/libnss_autotunnel.so.2" ]; then
	sed 's/^hosts:.*/hosts: files autotunnel/' /etc/nsswitch.conf >"$NT_DIR/nsswitch.conf"
	tell "With 'autotunnel' in the hosts line of /etc/nsswitch.conf, every program
resolves the peer's name to its ULA (here in a private mount namespace, so this
machine's own configuration is left alone):"
	show "getent ahosts desktop"
	LD_LIBRARY_PATH="$AT_BUILD/src/nss" AUTOTUNNEL_HOSTS="$NT_DIR/hostA/run/hosts" unshare -m sh -c '
		mount --bind "$1" /etc/nsswitch.conf && getent ahosts desktop | head -1' _ "$NT_DIR/nsswitch.conf" | indent
fi

# an ssh-like session: keystrokes from the desktop, echoed back by the laptop
cat >"$NT_DIR/session.py" <<'PY'
import socket, sys, time
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "server":
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1); s.settimeout(60)
    c, _ = s.accept(); c.settimeout(60)
    while True:
        b = c.recv(4096)
        if not b:
            break
        c.sendall(b)
else:
    secs = float(sys.argv[4])
    s = socket.create_connection((addr, port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    end = time.monotonic() + secs; n = 0; worst = 0.0
    while time.monotonic() < end:
        t = time.monotonic()
        s.sendall(b"k")
        if s.recv(1) != b"k":
            break
        worst = max(worst, time.monotonic() - t); n += 1
        time.sleep(0.02)
    s.close()
    print("%d keystrokes echoed; the longest wait for an echo was %d ms" % (n, worst * 1000), flush=True)
PY

say "8. An ssh-like session, and the laptop moves to another network"
tell "The desktop opens a session to the laptop's ULA and types a keystroke every
20 ms; the laptop echoes each one, as an ssh server does. Meanwhile the laptop's
cable to natA is pulled and it joins a third home network (natC, 203.0.113.30,
as plain as the others: no port mapping) with a new address (192.168.3.3). TCP
is bound to the ULAs, not to the outer addresses, so the session should notice
no more than a short pause: the laptop's agent sees the new network, learns its
new reflexive address from STUN and asks the desktop to punch again with its
new candidates; the tunnel follows onto the new path (MOBIKE: the same keys,
no new handshake)."
nt_add_ns natC
nt_attach_inet natC wan0 203.0.113.30 203.0.113.1
nt_lan_shared natC 3
nt_nat_rules natC
punch_router natC
at_plug hostA natC lanport1 eth1
nt_bg hostA session-server /usr/bin/python3 "$NT_DIR/session.py" server "$UA" 2222
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":2222 "' || nt_fail "session server did not start"
nt_bg hostB session /usr/bin/python3 "$NT_DIR/session.py" client "$UA" 2222 8
SESSION=$NT_LAST_PID
sleep 3
echo "   ... session running; now moving the laptop"
mark=$(wc -l <"$NT_DIR/agent-hostA.log")
markB=$(wc -l <"$NT_DIR/agent-hostB.log")
at_move hostA eth0 eth1 192.168.3.3/24 192.168.3.1
wait "$SESSION" || nt_fail "the session broke: $(cat "$NT_DIR/session.log")"
sed 's/^/   /' "$NT_DIR/session.log"
stall=$(sed -n 's/.*longest wait for an echo was \([0-9]*\) ms$/\1/p' "$NT_DIR/session.log")
[ -n "$stall" ] || nt_fail "the session printed no stall: $(cat "$NT_DIR/session.log")"
echo "   roaming stall: $stall ms"
moved() { at_cli hostB status | grep '^peer ' | grep -q "   punched 203\.0\.113\.30:4500 "; }
nt_wait 5 moved || nt_fail "the desktop's status after the move: $(at_cli hostB status)"
tell "What the laptop's agent wrote while it moved:"
agent_said hostA "network changed|reflexive address|direct path|tunnel to .* moved" $((mark + 1))
tell "And the desktop's:"
agent_said hostB "laptop moved to|direct path|tunnel to .* moved" $((markB + 1))

say "9. Status after the move"
show "autotunnel status         (on the laptop)"
at_cli hostA status | indent
show "autotunnel status         (on the desktop)"
at_cli hostB status | indent

say "10. ssh desktop with no password and no ssh key (issue 14)"
REALM_B=DESKTOP.ALICE.$(echo "$AT_ZONE" | tr a-z A-Z)
tell "As Back to My Mac's local KDC did (RFC 6281 §7.1): each computer's agent
runs its own Kerberos KDC (MIT krb5kdc) for the realm of its name, listening
only on its ULA, so it is reached through the tunnels alone. Its certificate
is the computer's own from the authority, which also names the account's
principal: the laptop's certificate gets it a ticket from the desktop's KDC
with PKINIT, no password. The agent writes the krb5.conf that says where each
computer's KDC is. On the desktop, an sshd with GSSAPI (a private
configuration, on its ULA) accepts the ticket."
nt_wait 20 grep -q "kdc: krb5kdc (pid [0-9]*) serves $REALM_B" "$NT_DIR/agent-hostB.log" ||
	nt_fail "no KDC on the desktop: $(grep kdc: "$NT_DIR/agent-hostB.log")"
agent_said hostB "kdc: krb5kdc .* serves"
sso_sshd hostB "$UB" "$NT_DIR/hostB/run/krb5.conf"
echo "   sshd (GSSAPI only: no passwords, no keys) on [$UB]:22 of the desktop"
# the laptop's view: its krb5.conf, a private ticket cache, names by libnss_autotunnel
on_laptop() { sso_run hostA "$NT_DIR/cc-laptop" "$@"; }
[ -f "$NT_DIR/nsswitch.conf" ] || sed 's/^hosts:.*/hosts: files autotunnel/' /etc/nsswitch.conf >"$NT_DIR/nsswitch.conf"
show "kinit alice@$REALM_B     (on the laptop: no password asked)"
on_laptop kinit "alice@$REALM_B" </dev/null 2>&1 | indent
on_laptop klist 2>&1 | sed -n '/krbtgt/p' | indent
show "ssh desktop id     (on the laptop)"
out=$(on_laptop ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o GSSAPIAuthentication=yes desktop id 2>&1) ||
	nt_fail "ssh desktop failed: $out
$(tail -10 "$NT_DIR/sshd.log")"
echo "$out" | indent
grep -q "Accepted gssapi-with-mic for root" "$NT_DIR/sshd.log" || nt_fail "sshd logged no GSSAPI login: $(tail -5 "$NT_DIR/sshd.log")"
sed -n 's/.*\(Accepted gssapi-with-mic for .*\)/\1/p' "$NT_DIR/sshd.log" | head -1 | indent
tell "BatchMode is on: ssh could not have asked for a password, and no ssh key
exists on either side. The ticket lasts 10 hours."

say "Cleaning up: every namespace and process the demo made is removed"
