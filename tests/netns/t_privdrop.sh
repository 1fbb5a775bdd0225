#!/bin/sh
# Least privilege after start-up (issue 15), read from the kernel's own
# account of the running daemons, /proc/PID/task/*/status, for every thread:
#  (1) autotunnel-dnsd, started as root on ports 53 and 853 in [rv] with
#      --user set to a throwaway system user made here: that uid and its
#      group, no capability in any set (effective, permitted, bounding,
#      ambient), no_new_privs; it still serves a signed nsupdate and dig,
#      reloads on SIGHUP, and its SQLite database (WAL and all) still
#      takes writes: restarted, the record is there;
#  (2) Landlock: the server cannot remove its control socket from a
#      directory outside its state directory that the user's DAC rights
#      would allow (mode 0777), so the socket stays after it stops;
#  (3) autotunnel-gwd on natA (default user nobody): a non-zero uid, exactly
#      CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE (0x3400, decoded
#      by capsh) in every set but ambient, no_new_privs; natpmpc still maps
#      a port through it, and pub reaches hostA through the mapping.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
. "$AT_SRC/tests/netns/privdrop_lib.sh"
nt_setup
command -v natpmpc >/dev/null || { echo "SKIP: natpmpc not installed"; exit 77; }
command -v useradd >/dev/null || { echo "SKIP: useradd not installed"; exit 77; }
nt_topology

DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$DNSD" ] && [ -x "$GWD" ] || nt_fail "build autotunnel-dnsd and autotunnel-gwd first"
Z=members.example.net
RV=198.51.100.53
U=atpriv$$
DNSD_PID=""

trap 'pd_cleanup "$U"' EXIT

pd_user_add "$U"
UID_U=$PD_UID GID_U=$PD_GID

# ---- (1) autotunnel-dnsd as $U
chmod 0711 "$NT_DIR"	# the user reaches its state directory, as under /var/lib
STATE=$NT_DIR/dnsd
DB=$STATE/dns.db
OPEN=$NT_DIR/open	# outside the state directory, writable by anybody
mkdir -m 0700 "$STATE"
mkdir -m 0777 "$OPEN"
chmod 0777 "$OPEN"	# whatever the umask
CTL=$OPEN/dns.ctl
dnsd() { nt_exec rv "$DNSD" --zone $Z --db "$DB" --control "$CTL" "$@"; }
echo 'alice password' | dnsd account add alice >/dev/null
K=$(dnsd account show alice --tsig)
start_dnsd() {
	nt_bg rv "$1" "$DNSD" --zone $Z --listen $RV --server-name rv.$Z --db "$DB" --control "$CTL" \
		--user "$U" --udp-workers 2
	DNSD_PID=$NT_LAST_PID
	nt_wait 10 nt_exec pub dig +time=1 +tries=1 @$RV $Z SOA >/dev/null ||
		nt_fail "dnsd did not start: $(cat "$NT_DIR/$1.log")"
	# the checkpointer is the last thread to start: wait for it
	nt_wait 5 sh -c "[ \$(ls /proc/$DNSD_PID/task | wc -l) -ge 4 ]" ||
		nt_fail "dnsd has $(ls /proc/$DNSD_PID/task | wc -l) threads, wanted 4 (main, 2 UDP workers, checkpointer)"
}
start_dnsd dnsd
pd_ids "$DNSD_PID" "$UID_U" "$GID_U" 4
pd_caps "$DNSD_PID" 0000000000000000 4
grep -q "running as uid $UID_U gid $GID_U, capabilities: none; Landlock ABI" "$NT_DIR/dnsd.log" ||
	grep -q "running as uid $UID_U gid $GID_U, capabilities: none; no Landlock" "$NT_DIR/dnsd.log" ||
	nt_fail "dnsd's log does not say what it kept: $(cat "$NT_DIR/dnsd.log")"
[ "$(stat -c %u "$STATE")" = "$UID_U" ] && [ "$(stat -c %u "$DB")" = "$UID_U" ] ||
	nt_fail "the state directory was not handed to $U: $(ls -lan "$STATE")"
nt_pass "(1) dnsd runs as $U ($UID_U:$GID_U) in all its threads, with no capability, no_new_privs"

N=_autotunnel._udp.laptop.alice.$Z
printf 'server %s\nzone %s\nupdate add %s 300 SRV 0 0 4500 AutoTunnel-1.alice.%s.\nsend\n' $RV $Z $N $Z |
	nt_exec pub nsupdate -y "$K" || nt_fail "nsupdate as $U"
[ "$(nt_exec pub dig +short -y "$K" @$RV $N SRV)" = "0 0 4500 AutoTunnel-1.alice.$Z." ] ||
	nt_fail "dig does not see the update"
kill -HUP "$DNSD_PID"
nt_wait 5 grep -q 'reloaded: 1 accounts' "$NT_DIR/dnsd.log" || nt_fail "no reload on SIGHUP: $(cat "$NT_DIR/dnsd.log")"
[ "$(dnsd stats | sed -n 's/^updates_ok //p')" = 1 ] || nt_fail "stats over the control socket: $(dnsd stats)"
nt_pass "(1) a signed nsupdate and dig, SIGHUP reload and stats work after the drop"

# ---- (2) Landlock: the control socket outside the state directory stays
nt_stop "$DNSD_PID"
DNSD_PID=""
if [ -n "$(grep 'running as uid .*; Landlock ABI' "$NT_DIR/dnsd.log")" ]; then
	[ -S "$CTL" ] || nt_fail "dnsd removed $CTL outside its state directory: Landlock did not hold"
	rm -f "$CTL"
	nt_pass "(2) Landlock: dnsd could not remove $CTL (mode 0777 directory outside its state)"
else
	echo "SKIP (2): this kernel has no Landlock; dnsd said: $(grep -i landlock "$NT_DIR/dnsd.log")"
fi

# the WAL checkpoints and writes of the dropped server are on disk: restart
start_dnsd dnsd2
[ "$(nt_exec pub dig +short -y "$K" @$RV $N SRV)" = "0 0 4500 AutoTunnel-1.alice.$Z." ] ||
	nt_fail "the record written by $U is gone after a restart"
printf 'server %s\nzone %s\nupdate delete %s SRV\nsend\n' $RV $Z $N | nt_exec pub nsupdate -y "$K" ||
	nt_fail "nsupdate delete after the restart"
[ -z "$(nt_exec pub dig +short -y "$K" @$RV $N SRV)" ] || nt_fail "the delete did not take"
nt_stop "$DNSD_PID"
DNSD_PID=""
n=$(sqlite3 "$DB" "select count(*) from records where account = 'alice'")
[ "$n" = 0 ] || nt_fail "the database holds $n records for alice after the delete, wanted 0"
nt_pass "(1) SQLite takes the dropped server's writes: restarted, the record is there; deleted, it is gone"

# ---- (3) autotunnel-gwd: nobody with three capabilities
GSTATE=$NT_DIR/gwd
nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$GSTATE"
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$GSTATE/control" || nt_fail "gwd did not start: $(cat "$NT_DIR/gwd.log")"
nt_wait 5 grep -q 'running as uid' "$NT_DIR/gwd.log" || nt_fail "gwd did not drop: $(cat "$NT_DIR/gwd.log")"
NOBODY=$(id -u nobody)
[ "$NOBODY" != 0 ] || nt_fail "nobody is uid 0 here"
WANT=0000000000003400
[ "$(capsh --decode=$WANT)" = "0x$WANT=cap_net_bind_service,cap_net_admin,cap_net_raw" ] ||
	nt_fail "capsh decodes $WANT as $(capsh --decode=$WANT)"
pd_tasks "$GWD_PID" Uid "$NOBODY $NOBODY $NOBODY $NOBODY" 1
pd_caps "$GWD_PID" $WANT 1
nt_pass "(3) gwd runs as nobody ($NOBODY) with exactly net_bind_service, net_admin, net_raw, no_new_privs"

out=$(nt_exec hostA natpmpc -g 192.168.1.1 -a 4500 4500 udp 120 2>&1) || nt_fail "natpmpc -a failed: $out"
echo "$out" | grep -qx 'Mapped public port 4500 protocol UDP to local port 4500 liftime 120' ||
	nt_fail "unexpected mapping answer: $out"
nt_bg hostA listener socat -u UDP-RECV:4500 OPEN:"$NT_DIR/got",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q ":4500 "' || nt_fail "listener did not start"
heard() {
	echo through-gwd | nt_exec pub socat -u - UDP:203.0.113.10:4500 2>/dev/null
	grep -q through-gwd "$NT_DIR/got" 2>/dev/null
}
nt_wait 5 heard || nt_fail "pub does not reach hostA:4500 through the mapping of the dropped gwd"
nt_pass "(3) natpmpc maps UDP 4500 through the dropped gwd; pub reaches hostA"
