#!/bin/sh
# make demo: the end-to-end story of docs/design.md §9 and issue 6, narrated, in
# network namespaces on this machine: two computers of one person, each
# behind its own home router, sign in to a rendezvous server, find each
# other, talk through an encrypted tunnel, and keep an ssh-like session
# alive while one of them moves to another network. It runs what exists
# and says plainly what does not.
set -eu
AT_SRC=$(cd "$(dirname "$0")/.." && pwd)
AT_BUILD=$(cd "${1:-$AT_SRC/build}" && pwd)
export AT_SRC AT_BUILD
. "$AT_SRC/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
nt_setup

say() { printf '\n== %s\n' "$*"; }
tell() { printf '%s\n' "$*"; }
have() { [ -x "$AT_BUILD/$1" ]; }
show() { printf '   $ %s\n' "$*"; }
indent() { sed 's/^/     /'; }

say "Building a small simulated internet"
tell "Seven network namespaces stand for seven machines: a rendezvous server (rv,
198.51.100.53), a public host (pub), two home routers with NAT (natA at
203.0.113.10, natB at 203.0.113.20), and one computer behind each router: hostA
(192.168.1.2, the 'laptop') and hostB (192.168.2.2, the 'desktop')."
nt_topology
nt_exec hostA ip -brief addr show eth0 | indent

say "The problem autotunnel solves"
tell "hostA can reach the internet, but nobody on the internet can reach hostA:
its router keeps unsolicited traffic out, as every home router does."
nt_exec hostA ping -c 1 -W 2 198.51.100.7 >/dev/null && echo "   hostA -> pub (198.51.100.7): works"
if nt_exec pub ping -c 1 -W 1 192.168.1.2 >/dev/null 2>&1; then
	echo "unexpected: pub reached hostA"; exit 1
fi
echo "   pub -> hostA (192.168.1.2): unreachable"

say "What autotunnel adds on top of this network"
missing=""
for p in src/autotunnel-dnsd/autotunnel-dnsd src/autotunnel-gwd/autotunnel-gwd \
	 src/autotunneld/autotunneld src/autotunnel/autotunnel; do
	if have "$p"; then
		echo "   built:          $(basename "$p")"
	else
		echo "   not built yet:  $(basename "$p")"
		missing="$missing $(basename "$p")"
	fi
done
if [ -n "$missing" ]; then
	tell "
Without$missing this demo cannot show sign-in, discovery, the tunnel between
hostA and hostB, or roaming. What you saw above is the test bed those steps run
on; README.md ('Status') says what each component can do today."
	say "Cleaning up: every namespace and process the demo made is removed"
	exit 0
fi

say "1. The rendezvous server"
tell "autotunnel-dnsd plays the part Apple's members.me.com played for Back to My
Mac: a DNS server where each account's computers publish where they are, and
watch where the others are. Everything goes over TLS; its certificate is pinned
by the hash printed at start. We create the account 'alice' with a password; the
server keeps only a key derived from it."
at_dnsd
at_account alice 'correct horse battery'
echo "   server up on 198.51.100.53:853, TLS pin $AT_PIN"
show "autotunnel-dnsd account add alice     (password on stdin)"

say "2. The home routers"
tell "natA runs autotunnel-gwd, our gateway: it answers PCP and NAT-PMP, so the
laptop can ask it to forward a port. natB runs miniupnpd, a gateway nobody here
wrote, to show the agent works with what people already have."
nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd did not start"
echo "   natA: autotunnel-gwd running"
at_bridge_lan natB
if [ -x /usr/sbin/miniupnpd ]; then
	at_stun
	at_miniupnpd natB 2
	at_loopback natB 203.0.113.20
	echo "   natB: miniupnpd running (PCP, NAT-PMP, UPnP IGD; with NAT loopback)"
	MINI=1
else
	echo "   natB: miniupnpd is not installed, so natB maps nothing: the desktop will be"
	echo "         reachable only outbound, and roaming (step 7) is skipped"
	MINI=""
fi

say "3. The agent starts on both computers"
tell "autotunneld makes this computer's address inside the tunnels: an IPv6
unique local address (ULA) that stays the same for the whole boot, wherever
the computer goes (RFC 6281 §6.3). It watches the network, and asks the router
to forward UDP port 4500 to it."
at_agent_start hostA laptop
at_agent_start hostB desktop
at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "the laptop got no port mapping"
tell "What the laptop found out about its network:"
show "autotunnel netcheck"
at_cli hostA netcheck | indent

say "4. Signing in, once per computer"
tell "The password is turned into two keys on the computer itself: one that signs
the DNS updates (the server has it too), and one for the tunnels, which the
server never sees. So the server can say where your computers are, but it can
neither read nor fake your traffic."
show "autotunnel login alice --server 198.51.100.53:853 --pin $AT_PIN"
at_login hostA alice 'correct horse battery' | indent
at_login hostB alice 'correct horse battery' | indent
t0=$(at_now_ms)
for i in $(seq 100); do
	at_lists hostA desktop && at_lists hostB laptop && break
	sleep 0.05
done
at_lists hostA desktop || nt_fail "the laptop does not see the desktop"
echo "   each computer saw the other $(( $(at_now_ms) - t0 )) ms after signing in"

say "5. Who is in the account"
show "autotunnel hosts          (on the laptop)"
at_cli hostA hosts | indent
show "autotunnel status         (on the desktop)"
at_cli hostB status | indent
tell "No tunnel exists yet: it is made when the first packet needs it, as Back
to My Mac did."

say "6. Talking by name, through the tunnel"
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
show "autotunnel status         (on the laptop)"
at_cli hostA status | indent

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
UA=$(at_ula hostA)

say "7. An ssh-like session, and the laptop moves to another network"
tell "The desktop opens a session to the laptop's ULA and types a keystroke every
20 ms; the laptop echoes each one, as an ssh server does. Meanwhile the laptop's
cable to natA is pulled and it joins natB's network with a new address
(192.168.2.3), behind a different NAT. TCP is bound to the ULAs, not to the
outer addresses, so the session should not notice more than a short pause: the
laptop's agent sees the new network, moves its tunnels (MOBIKE), maps a port on
natB and publishes its new location."
if [ -z "$MINI" ]; then
	echo "   skipped: natB has no port-mapping gateway in this run (miniupnpd missing)"
else
	nt_bg hostA session-server /usr/bin/python3 "$NT_DIR/session.py" server "$UA" 2222
	nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":2222 "' || nt_fail "session server did not start"
	nt_bg hostB session /usr/bin/python3 "$NT_DIR/session.py" client "$UA" 2222 8
	SESSION=$NT_LAST_PID
	at_plug hostA natB lanport1 eth1
	sleep 3
	echo "   ... session running; now moving the laptop"
	at_move hostA eth0 eth1 192.168.2.3/24 192.168.2.1
	wait "$SESSION" || nt_fail "the session broke: $(cat "$NT_DIR/session.log")"
	sed 's/^/   /' "$NT_DIR/session.log"
	stall=$(sed -n 's/.*longest wait for an echo was \([0-9]*\) ms$/\1/p' "$NT_DIR/session.log")
	echo "   roaming stall: $stall ms"
	tell "What the laptop's agent wrote while it moved:"
	grep -E "network changed|tunnel.* moved|mapped UDP 4500 on the gateway 192.168.2.1" "$NT_DIR/agent-hostA.log" |
		sed 's/^autotunneld: /     /'
	nt_wait 10 sh -c "ip netns exec $(nt_ns hostB) env AUTOTUNNEL_CONTROL=$NT_DIR/hostB/run/control $AT_CLI hosts |
		grep -q '^laptop .*203.0.113.20:'" || true
	tell "And what the desktop's agent learnt from the rendezvous server:"
	grep -E "laptop moved to" "$NT_DIR/agent-hostB.log" | sed 's/^autotunneld: /     /'
fi

say "8. Status after the move"
show "autotunnel status         (on the laptop)"
at_cli hostA status | indent
show "autotunnel status         (on the desktop)"
at_cli hostB status | indent

say "Cleaning up: every namespace and process the demo made is removed"
