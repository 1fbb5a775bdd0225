#!/bin/sh
# Least privilege of the host agent (issue 15), read from the kernel's own
# account of the running agents, /proc/PID/task/*/status, for every thread.
# Two agents as the other agent tests start them (as root): "laptop" on
# hostA with [tunnel] user set to a throwaway system user made here, and
# "desktop" on hostB with the default user (autotunnel, else nobody). Once
# started, with everything done after the drop:
#  (1) both sign in, list each other, and reach each other by name through
#      the tunnel (`autotunnel ping`: ICMPv6 from a raw socket opened
#      before the drop; and plain ping6 between the ULAs); the hosts cache
#      stays readable by every user, the account file is the user's only;
#  (2) hostA roams to natB's LAN: netmon sees it, the port mapping is
#      asked for anew on the new network, MOBIKE and the data plane follow,
#      the new location is published and the tunnel still carries pings;
#  (3) every thread of both agents: that uid and group, CapEff, CapPrm and
#      CapBnd exactly CAP_NET_ADMIN (0x1000), nothing inheritable or
#      ambient, no_new_privs; the run and state directories were handed to
#      the user, the control socket stayed root's;
#  (4) stopped, each agent withdraws its records from the server;
#  (5) Landlock: an agent whose control socket is in a directory outside its
#      run and state directories that its user's rights would let it write
#      (mode 0777) cannot remove the socket there when it stops.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/agent_lib.sh"
. "$AT_SRC/tests/netns/privdrop_lib.sh"
nt_setup
[ -x "$AT_AGENTD" ] && [ -x "$AT_CLI" ] && [ -x "$AT_DNSD" ] && [ -x "$AT_GWD" ] ||
	nt_fail "build autotunneld, autotunnel, autotunnel-dnsd and autotunnel-gwd first"
command -v useradd >/dev/null || { echo "SKIP: useradd not installed"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv not installed"; exit 77; }
nt_topology

U=atagent$$
trap 'pd_cleanup "$U"' EXIT
pd_user_add "$U"
UID_A=$PD_UID GID_A=$PD_GID
if id autotunnel >/dev/null 2>&1; then DEF=autotunnel; else DEF=nobody; fi
UID_B=$(id -u $DEF) GID_B=$(id -g $DEF)
[ "$UID_B" != 0 ] || nt_fail "$DEF is uid 0 here"

# ---- (1) two agents, hostA's as $U, hostB's as the default user
at_bed_two '[tunnel]' "user = $U" '[agent]'
# hostA was given user = $U by at_bed_two's lines; hostB had the same: restart
# hostB with the default user so that both ways are covered
at_agent_stop hostB
grep -v "^user = " "$NT_DIR/hostB/agent.conf" >"$NT_DIR/hostB/agent.conf.new"
mv "$NT_DIR/hostB/agent.conf.new" "$NT_DIR/hostB/agent.conf"
mv "$NT_DIR/agent-hostB.log" "$NT_DIR/agent-hostB.first.log"
nt_bg hostB agent-hostB "$AT_AGENTD" -c "$NT_DIR/hostB/agent.conf"
AT_PID_hostB=$NT_LAST_PID
nt_wait 10 test -S "$NT_DIR/hostB/run/control" || nt_fail "hostB's agent did not restart: $(cat "$NT_DIR/agent-hostB.log")"
# the saved account signs in by itself; wait until each knows where the other
# is (with DNS Push a peer's name may arrive a moment before its location)
located() { at_cli "$1" hosts | grep -q "^$2 .*\.$AT_ZONE .*:[0-9][0-9]*\$"; }
for i in $(seq 150); do
	located hostA desktop && located hostB laptop && break
	sleep 0.1
done
located hostA desktop && located hostB laptop ||
	nt_fail "the hosts do not list each other 15 s after hostB's restart: $(at_cli hostA hosts) / $(at_cli hostB hosts)"
for h in A B; do
	eval "u=\$UID_$h g=\$GID_$h"
	grep -q "running as uid $u gid $g, capabilities: net_admin; Landlock ABI [0-9]*$" "$NT_DIR/agent-host$h.log" ||
		grep -q "running as uid $u gid $g, capabilities: net_admin; no Landlock$" "$NT_DIR/agent-host$h.log" ||
		nt_fail "host$h's agent does not say it runs as uid $u with net_admin: $(grep -i 'running as\|user' "$NT_DIR/agent-host$h.log")"
done
[ $DEF = nobody ] && { grep -q "no user autotunnel: running as nobody once started" "$NT_DIR/agent-hostB.log" ||
	nt_fail "hostB did not warn that it runs as nobody"; }
UA=$(at_ula hostA) UB=$(at_ula hostB)
out=$(at_cli hostB ping laptop) || nt_fail "ping laptop from desktop: $out"
out=$(at_cli hostA ping desktop) || nt_fail "ping desktop from laptop: $out"
nt_exec hostA ping -6 -c 2 -W 2 -I "$UA" "$UB" >/dev/null || nt_fail "ping6 $UB from $UA through the tunnel"
nt_pass "(1) signed in after the drop ($U on hostA, $DEF on hostB); ping by name both ways"

# the hosts cache: every user reads it (NSS runs in every process)
for h in A B; do
	f=$NT_DIR/host$h/run/hosts
	setpriv --reuid=65534 --regid=65534 --clear-groups cat "$f" | grep -q " laptop\.alice\.$AT_ZONE\( \|$\)" ||
		nt_fail "nobody cannot read host$h's hosts cache: $(ls -ln "$f")"
	[ "$(stat -c %a "$NT_DIR/host$h/state/account")" = 600 ] ||
		nt_fail "host$h's account file is mode $(stat -c %a "$NT_DIR/host$h/state/account")"
done
nt_pass "(1) the hosts cache is readable by any user, the account file (0600) by the agent's user only"

# ---- (2) hostA roams to natB's LAN
at_plug hostA natB lanport1 eth1
at_move hostA eth0 eth1 192.168.2.3/24 192.168.2.1
at_log_wait hostA "network changed: now 192.168.2.3 on eth1, gateway 192.168.2.1" 10 ||
	nt_fail "netmon did not see the move: $(tail -20 "$NT_DIR/agent-hostA.log")"
nt_wait 15 sh -c "ip netns exec $(nt_ns hostA) env AUTOTUNNEL_CONTROL=$NT_DIR/hostA/run/control $AT_CLI status |
	grep -q '^this     laptop   $UA   behind NAT 203.0.113.20:[0-9]* via PCP\$'" ||
	nt_fail "hostA has no mapping on natB after the move: $(at_cli hostA status)"
port=$(at_cli hostA status | sed -n 's/^this .* behind NAT 203\.0\.113\.20:\([0-9]*\) via PCP$/\1/p')
nt_wait 10 sh -c "ip netns exec $(nt_ns hostB) env AUTOTUNNEL_CONTROL=$NT_DIR/hostB/run/control $AT_CLI hosts |
	grep -q '^laptop .* $UA  *203.0.113.20:$port\$'" || nt_fail "hostB does not see laptop's new location: $(at_cli hostB hosts)"
out=$(at_cli hostA ping desktop) || nt_fail "ping desktop after the move: $out"
out=$(at_cli hostB ping laptop) || nt_fail "ping laptop after the move: $out"
nt_pass "(2) roamed after the drop: mapped 203.0.113.20:$port on the new network, published, pings both ways"

# ---- (3) what the kernel says of every thread
WANT=0000000000001000	# bit 12, CAP_NET_ADMIN (capability(7))
for h in A B; do
	eval "pid=\$AT_PID_host$h u=\$UID_$h g=\$GID_$h"
	# 2 threads at least, so that the check covers the data plane's workers
	pd_ids "$pid" "$u" "$g" 2
	pd_caps "$pid" $WANT 2
	for d in run state; do
		[ "$(stat -c %u "$NT_DIR/host$h/$d")" = "$u" ] ||
			nt_fail "host$h's $d directory was not handed to uid $u: $(ls -ldn "$NT_DIR/host$h/$d")"
	done
	for f in run/hosts run/identity state/account; do
		[ "$(stat -c %u "$NT_DIR/host$h/$f")" = "$u" ] ||
			nt_fail "host$h's $f is not uid $u's: $(ls -ln "$NT_DIR/host$h/$f")"
	done
	[ "$(stat -c %u:%a "$NT_DIR/host$h/run/control")" = 0:600 ] ||
		nt_fail "host$h's control socket: $(ls -ln "$NT_DIR/host$h/run/control"), wanted root's, 0600"
done
nt_pass "(3) every thread of both agents: uid $UID_A / $UID_B, CapEff=CapPrm=CapBnd=$WANT (net_admin), no_new_privs; directories handed over, control socket root's"

# ---- (4) stopped, each withdraws its records (a write to the server after the drop)
for h in A B; do
	at_agent_stop host$h
	grep -q "this host's records are withdrawn: stopping" "$NT_DIR/agent-host$h.log" ||
		nt_fail "host$h did not withdraw its records: $(tail -5 "$NT_DIR/agent-host$h.log")"
	[ ! -e "$NT_DIR/host$h/run/control" ] || nt_fail "host$h left its control socket behind"
done
nt_pass "(4) both agents withdrew their records and removed their control sockets at exit"

# ---- (5) Landlock: writes only in the run and state directories
if grep -q "running as uid .*; Landlock ABI" "$NT_DIR/agent-hostA.log"; then
	OPEN=$NT_DIR/open
	mkdir -m 0777 "$OPEN"
	chmod 0777 "$OPEN"	# whatever the umask
	printf 'control = %s/ctl\n' "$OPEN" >>"$NT_DIR/hostA/agent.conf"
	nt_bg hostA agent-hostA-open "$AT_AGENTD" -c "$NT_DIR/hostA/agent.conf"
	pid=$NT_LAST_PID
	nt_wait 10 grep -q "running as uid $UID_A" "$NT_DIR/agent-hostA-open.log" ||
		nt_fail "hostA's agent did not start with the control socket in $OPEN: $(cat "$NT_DIR/agent-hostA-open.log")"
	[ -S "$OPEN/ctl" ] || nt_fail "no control socket $OPEN/ctl"
	nt_stop "$pid"
	[ -S "$OPEN/ctl" ] || nt_fail "the agent removed $OPEN/ctl outside its directories: Landlock did not hold"
	rm -f "$OPEN/ctl"
	nt_pass "(5) Landlock: the agent could not remove $OPEN/ctl (a mode 0777 directory outside its own)"
else
	echo "SKIP (5): this kernel has no Landlock; the agent said: $(grep 'running as' "$NT_DIR/agent-hostA.log")"
fi
