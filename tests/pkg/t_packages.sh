#!/bin/sh
# tests/pkg/t_packages.sh: the Debian packages, built and installed on a
# machine that never saw the source tree.
#
#  1. `dpkg-buildpackage -b` in a copy of the source tree (a release build
#     with debian/rules; its unit tests are left to the unit suite).
#  2. A fresh Debian root (mmdebstrap --variant=apt, from the mirror apt is
#     configured with), cached as a tarball in /var/cache/autotunnel-test/
#     so later runs only unpack it; downloaded .debs are kept there too.
#  3. `dpkg -i` the three packages there, then `apt-get -f install` brings
#     their dependencies (adduser, the libraries); the maintainer scripts
#     must have made the users autotunnel and autotunnel-dns, the latter's
#     state directory, and put the NSS module on the hosts line of
#     /etc/nsswitch.conf.
#  4. In two network namespaces, with the installed programs run from the
#     root (ip netns exec NS chroot ROOT ...), the way the units run them:
#     autotunnel-dnsd with the packaged settings as autotunnel-dns holding
#     CAP_NET_BIND_SERVICE only; an account added; autotunneld with the
#     packaged example settings (host name and no port mapping set) and the
#     unit's capability bounding set, becoming autotunnel with CAP_NET_ADMIN
#     only once started; `autotunnel login`, `autotunnel
#     status`, and the host's own name resolved through the NSS module;
#     autotunnel-gwd with the unit's capabilities answering `status`.
#  5. dpkg --remove takes the NSS module out, a reinstallation puts it back,
#     dpkg --purge leaves nsswitch.conf as it was and deletes the state.
#
# Everything made is undone on any exit (processes by PID, namespaces, the
# /proc mount, the temporary root) and audited.
set -eu

AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CACHE=${AT_PKG_CACHE:-/var/cache/autotunnel-test}
P="at$$"
NS_SRV="$P-pkgsrv"
NS_HOST="$P-pkghost"
W=""
ROOT=""
PIDS=""
NSS=""
T0=$(date +%s)

log() { printf '%s\n' "$*"; }
pass() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
elapsed() { echo $(($(date +%s) - T0)); }

[ "$(id -u)" = 0 ] || skip "needs root (chroot, network namespaces)"
for t in dpkg-buildpackage:dpkg-dev dh:debhelper fakeroot:fakeroot mmdebstrap:mmdebstrap ip:iproute2; do
	command -v "${t%%:*}" >/dev/null 2>&1 || skip "${t%%:*} is not installed (Debian package ${t#*:})"
done

# Stop a process we started: TERM, then KILL after 3 s.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 30); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	rc=$?
	set +e
	for pid in $PIDS; do stop_pid "$pid"; done
	left=""
	for ns in $NSS; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			left="$left $pid"
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$left" ]; then
		echo "audit: processes left in the test's namespaces:$left" >&2
		rc=1
	fi
	if [ -n "$ROOT" ] && mountpoint -q "$ROOT/proc" 2>/dev/null; then
		umount "$ROOT/proc" || umount -l "$ROOT/proc"
	fi
	if ip netns list | grep -q "^$P-"; then
		echo "audit: namespaces left: $(ip netns list | grep "^$P-" | tr '\n' ' ')" >&2
		rc=1
	fi
	if [ -n "$W" ] && [ -d "$W" ]; then
		if [ "$rc" != 0 ]; then
			for f in "$W"/*.log; do
				[ -f "$f" ] || continue
				echo "---- $f (last 40 lines)" >&2
				tail -n 40 "$f" >&2
			done
		fi
		# never across a mount point: a mount still there is a failure, not a loss
		if grep -q " $W/" /proc/self/mounts; then
			echo "audit: mounts left under $W: $(grep " $W/" /proc/self/mounts)" >&2
			rc=1
		else
			rm -rf --one-file-system "$W"
		fi
	fi
	log "t_packages: $(elapsed) s in all"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

W=$(mktemp -d "/tmp/autotunnel-pkg.$$.XXXXXX")
ROOT="$W/root"

# ---- 1. build the packages from a copy of the source tree ----
mkdir "$W/src"
if [ -e "$AT_SRC/.git" ] && command -v git >/dev/null 2>&1; then
	# what is tracked or would be (uncommitted work too), not build trees
	# (and not the tree of an earlier dpkg-buildpackage run in place, obj-*/)
	git -C "$AT_SRC" ls-files -z -co --exclude-standard | grep -zv '^obj-' |
		(cd "$AT_SRC" && tar --null -T - -cf -) | tar -xf - -C "$W/src"
else
	(cd "$AT_SRC" && tar --exclude='./build*' --exclude='./obj-*' --exclude=./.git \
		--exclude=./debian/tmp -cf - .) | tar -xf - -C "$W/src"
fi
[ -f "$W/src/debian/rules" ] || fail "no debian/rules in the copy of $AT_SRC"
t=$(date +%s)
(cd "$W/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
	>"$W/build.log" 2>&1 || fail "dpkg-buildpackage failed (see $W/build.log above)"
VER=$(cd "$W/src" && dpkg-parsechangelog -S Version)
ARCH=$(dpkg --print-architecture)
for p in autotunnel autotunnel-server autotunnel-gateway; do
	[ -f "$W/${p}_${VER}_$ARCH.deb" ] || fail "dpkg-buildpackage made no ${p}_${VER}_$ARCH.deb"
done
pass "dpkg-buildpackage -b built autotunnel, autotunnel-server, autotunnel-gateway $VER in $(($(date +%s) - t)) s"

# ---- 2. a fresh Debian root, from the cached bootstrap ----
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
# the mirror apt is configured with (deb822 or one-line sources)
MIRROR=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$SUITE" '
	/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && u != "") { print u; exit } }')
[ -n "$MIRROR" ] || MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }')
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
TARBALL="$CACHE/$SUITE-apt.tar"
mkdir -p "$CACHE/archives"
if [ ! -s "$TARBALL" ]; then
	t=$(date +%s)
	mmdebstrap --variant=apt --format=tar --skip=cleanup/apt/lists "$SUITE" "$TARBALL.tmp.$$" "$MIRROR" \
		>"$W/mmdebstrap.log" 2>&1 || { rm -f "$TARBALL.tmp.$$"; fail "mmdebstrap $SUITE from $MIRROR failed"; }
	mv "$TARBALL.tmp.$$" "$TARBALL"
	log "bootstrapped $SUITE from $MIRROR in $(($(date +%s) - t)) s, cached as $TARBALL"
fi
mkdir "$ROOT"
tar -xf "$TARBALL" -C "$ROOT"
[ -x "$ROOT/usr/bin/apt-get" ] && [ -x "$ROOT/usr/bin/dpkg" ] || fail "$TARBALL is not a Debian root with apt"
if [ -e "$ROOT/usr/bin/autotunnel" ] || [ -d "$ROOT/etc/autotunnel" ]; then
	fail "the bootstrap root already has autotunnel in it"
fi
# the devices the programs open; /dev/net/tun for the agent
mkdir -p "$ROOT/dev/net"
for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 net/tun:10:200; do
	n=${d%%:*} mm=${d#*:}
	[ -c "$ROOT/dev/$n" ] || { rm -f "$ROOT/dev/$n"; mknod -m 666 "$ROOT/dev/$n" c "${mm%:*}" "${mm#*:}"; }
done
mount -t proc proc "$ROOT/proc"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp -p "$ROOT/etc/nsswitch.conf" "$W/nsswitch.orig"
grep -q '^hosts:' "$W/nsswitch.orig" || fail "the fresh root's nsswitch.conf has no hosts line"
pass "fresh $SUITE root unpacked from $TARBALL"

inroot() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 3. dpkg -i, then apt-get -f install for the dependencies ----
mkdir -p "$ROOT/tmp/debs"
for p in autotunnel autotunnel-server autotunnel-gateway; do
	cp "$W/${p}_${VER}_$ARCH.deb" "$ROOT/tmp/debs/"
done
cp "$CACHE"/archives/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true
if inroot dpkg -i /tmp/debs/autotunnel_"$VER"_"$ARCH".deb /tmp/debs/autotunnel-server_"$VER"_"$ARCH".deb \
	/tmp/debs/autotunnel-gateway_"$VER"_"$ARCH".deb >"$W/dpkg-i.log" 2>&1; then
	fail "dpkg -i succeeded in a root without the dependencies: the Depends are not right"
fi
grep -q 'dependency problems' "$W/dpkg-i.log" || fail "dpkg -i failed for another reason than dependencies"
inroot apt-get update -q >"$W/apt-update.log" 2>&1 || log "apt-get update failed: the cached lists are used"
inroot apt-get -y -q -f install >"$W/apt-f-install.log" 2>&1 || fail "apt-get -f install failed"
cp -n "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/archives/" 2>/dev/null || true
for p in autotunnel autotunnel-server autotunnel-gateway; do
	st=$(inroot dpkg-query -W -f '${Status}' "$p")
	[ "$st" = "install ok installed" ] || fail "$p: '$st' after apt-get -f install"
done
pass "dpkg -i + apt-get -f install: all three packages installed and configured"

for f in /usr/sbin/autotunneld /usr/bin/autotunnel /usr/bin/autotunnel-dnsd /usr/sbin/autotunnel-gwd \
	/lib/systemd/system/autotunneld.service /lib/systemd/system/autotunnel-dnsd.service \
	/lib/systemd/system/autotunnel-gwd.service /etc/autotunnel/autotunneld.conf \
	/etc/autotunnel/autotunnel-dnsd.conf /etc/autotunnel/autotunnel-gwd.conf \
	/usr/share/man/man1/autotunnel.1.gz /usr/share/man/man8/autotunneld.8.gz \
	/usr/share/man/man8/autotunnel-dnsd.8.gz /usr/share/man/man8/autotunnel-gwd.8.gz \
	/usr/share/bash-completion/completions/autotunnel; do
	[ -e "$ROOT$f" ] || fail "$f is not installed"
done
for u in autotunneld:/usr/sbin/autotunneld:autotunneld.conf autotunnel-dnsd:/usr/bin/autotunnel-dnsd:autotunnel-dnsd.conf \
	autotunnel-gwd:/usr/sbin/autotunnel-gwd:autotunnel-gwd.conf; do
	n=${u%%:*} r=${u#*:}
	grep -qx "ExecStart=${r%%:*} -c /etc/autotunnel/${r#*:}" "$ROOT/lib/systemd/system/$n.service" ||
		fail "$n.service does not start ${r%%:*} -c /etc/autotunnel/${r#*:}"
done
inroot dpkg-query -W -f '${Conffiles}\n' autotunnel | grep -q '^ /etc/autotunnel/autotunneld.conf ' ||
	fail "/etc/autotunnel/autotunneld.conf is not a conffile"
pass "programs, units (with /usr paths), man pages, completion and conffiles in place"

# the bash completion, loaded by bash-completion as an interactive shell would
inroot apt-get -y -q install bash-completion >"$W/apt-bash-completion.log" 2>&1 ||
	fail "apt-get install bash-completion failed"
cp -n "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/archives/" 2>/dev/null || true
got=$(inroot bash -c '
	. /usr/share/bash-completion/bash_completion
	__load_completion autotunnel || exit 1
	t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		COMPREPLY=(); _autotunnel autotunnel "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		echo "${COMPREPLY[*]}"; }
	t autotunnel lo; t autotunnel login --s; t autotunnel portmap --protocol pcp,u' 2>&1)
[ "$got" = "login logout
--server --socket
pcp,upnp" ] || fail "bash completion: got '$got'"
pass "bash completion: commands, options and --protocol lists complete"

# the NSS module: on the hosts line after files, once, and known to ld.so
want=$(sed -E 's/^(hosts:([[:space:]]*|.*[[:space:]]))files([[:space:]]|$)/\1files autotunnel\3/' "$W/nsswitch.orig")
got=$(cat "$ROOT/etc/nsswitch.conf")
[ "$got" = "$want" ] || fail "nsswitch.conf after installation:
$got
wanted:
$want"
inroot ldconfig -p | grep -q 'libnss_autotunnel.so.2 ' || fail "libnss_autotunnel.so.2 is not in the ld.so cache"
pass "postinst: $(grep '^hosts:' "$ROOT/etc/nsswitch.conf" | tr -s ' \t' ' ')"

# the server's system user and its state directory
ent=$(inroot getent passwd autotunnel-dns) || fail "no user autotunnel-dns"
DNS_UID=$(echo "$ent" | cut -d: -f3)
[ "$DNS_UID" -lt 1000 ] || fail "autotunnel-dns is not a system user (uid $DNS_UID)"
[ "$(echo "$ent" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "autotunnel-dns can log in: $ent"
st=$(inroot stat -c '%U:%G %a' /var/lib/autotunnel-dnsd)
[ "$st" = "autotunnel-dns:autotunnel-dns 750" ] || fail "/var/lib/autotunnel-dnsd is '$st'"
pass "postinst: system user autotunnel-dns (uid $DNS_UID), /var/lib/autotunnel-dnsd $st"
ent=$(inroot getent passwd autotunnel) || fail "no user autotunnel"
AGENT_UID=$(echo "$ent" | cut -d: -f3)
[ "$AGENT_UID" -lt 1000 ] && [ "$AGENT_UID" != 0 ] || fail "autotunnel is not a system user (uid $AGENT_UID)"
[ "$(echo "$ent" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "autotunnel can log in: $ent"
pass "postinst: system user autotunnel (uid $AGENT_UID)"

# ---- 4. run the installed programs in network namespaces ----
#   [pkgsrv] 10.53.0.1/24 srv0 ── host0 10.53.0.2/24 [pkghost], default via .1
#   pkgsrv also has wan0 (a veth whose peer wan1 stays in pkgsrv, 192.0.2.1/24)
#   for the gateway
ip netns add "$NS_SRV"; NSS="$NSS $NS_SRV"
ip netns add "$NS_HOST"; NSS="$NSS $NS_HOST"
ip -n "$NS_SRV" link add srv0 type veth peer name host0 netns "$NS_HOST"
ip -n "$NS_SRV" link add wan0 type veth peer name wan1
ip -n "$NS_SRV" addr add 10.53.0.1/24 dev srv0
ip -n "$NS_SRV" addr add 192.0.2.1/24 dev wan0
ip -n "$NS_HOST" addr add 10.53.0.2/24 dev host0
for l in lo srv0 wan0 wan1; do ip -n "$NS_SRV" link set "$l" up; done
for l in lo host0; do ip -n "$NS_HOST" link set "$l" up; done
ip -n "$NS_HOST" route add default via 10.53.0.1

# start_bg NS NAME CMD...: a program of the root in the background; sets LAST_PID
start_bg() {
	ns=$1 name=$2; shift 2
	ip netns exec "$ns" chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" \
		>"$W/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}
# run NS CMD...: a program of the root in the foreground
run() {
	ns=$1; shift
	ip netns exec "$ns" chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
wait_for() {
	n=$1; shift
	for i in $(seq $((n * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# caps PID: the effective capability mask of PID's program (not of chroot or setpriv)
caps() { awk '/^CapEff:/ { print $2 }' "/proc/$1/status"; }
uid_of() { awk '/^Uid:/ { print $3 }' "/proc/$1/status"; }
# the process that runs PROGRAM in namespace NS
pid_in() { for p in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$ROOT$2" ] && { echo "$p"; return 0; }
	done; return 1; }

# the server: as the unit runs it (User=autotunnel-dns, CAP_NET_BIND_SERVICE
# ambient and the only one bounded, no new privileges), the packaged settings
start_bg "$NS_SRV" dnsd setpriv --reuid=autotunnel-dns --regid=autotunnel-dns --init-groups \
	--inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
	--bounding-set=-all,+net_bind_service --no-new-privs \
	/usr/bin/autotunnel-dnsd -c /etc/autotunnel/autotunnel-dnsd.conf
wait_for 15 grep -q 'TLS SPKI pin' "$W/dnsd.log" || fail "autotunnel-dnsd did not start"
PIN=$(sed -n 's/.*TLS SPKI pin (kdig +tls-pin=) \(.*\)$/\1/p' "$W/dnsd.log" | head -1)
wait_for 5 ip netns exec "$NS_SRV" sh -c 'ss -ltn | grep -q "0.0.0.0:853 "' || fail "autotunnel-dnsd does not listen on 853"
ip netns exec "$NS_SRV" ss -lun | grep -q '0.0.0.0:53 ' || fail "autotunnel-dnsd does not listen on UDP 53"
DNSD=$(pid_in "$NS_SRV" /usr/bin/autotunnel-dnsd) || fail "no autotunnel-dnsd process in $NS_SRV"
[ "$(uid_of "$DNSD")" = "$DNS_UID" ] || fail "autotunnel-dnsd runs as uid $(uid_of "$DNSD"), not autotunnel-dns"
# it drops CAP_NET_BIND_SERVICE once its ports are bound, before its threads start
dnsd_dropped() { [ "$(caps "$DNSD")" = 0000000000000000 ]; }
wait_for 5 dnsd_dropped || fail "autotunnel-dnsd has capabilities $(caps "$DNSD") once started, not none (it binds with CAP_NET_BIND_SERVICE, then drops it)"
for f in dns.db dns.db.tls-key.pem dns.db.ctl; do
	o=$(inroot stat -c %U "/var/lib/autotunnel-dnsd/$f") || fail "no /var/lib/autotunnel-dnsd/$f"
	[ "$o" = autotunnel-dns ] || fail "/var/lib/autotunnel-dnsd/$f belongs to $o"
done
pass "autotunnel-dnsd runs with the packaged settings as autotunnel-dns (uid $DNS_UID, CapEff 0x400), ports 53 and 853, its files in /var/lib/autotunnel-dnsd"

printf 'correct horse\n' | run "$NS_SRV" runuser -u autotunnel-dns -- \
	autotunnel-dnsd -c /etc/autotunnel/autotunnel-dnsd.conf account add alice >"$W/account.log" 2>&1 ||
	fail "account add alice: $(cat "$W/account.log")"
run "$NS_SRV" runuser -u autotunnel-dns -- autotunnel-dnsd -c /etc/autotunnel/autotunnel-dnsd.conf account list |
	grep -q '^alice alice.members.example.net ' || fail "account list does not show alice"
pass "account add alice (as autotunnel-dns, with the packaged settings)"

# the agent: the packaged example, its host name and no port mapping set by
# hand (nothing answers PCP here), with the unit's capability bounding set
sed -i -e 's/^#hostname = laptop$/hostname = pkghost/' -e 's/^#no-portmap = no$/no-portmap = yes/' \
	"$ROOT/etc/autotunnel/autotunneld.conf"
grep -q '^hostname = pkghost$' "$ROOT/etc/autotunnel/autotunneld.conf" &&
	grep -q '^no-portmap = yes$' "$ROOT/etc/autotunnel/autotunneld.conf" ||
	fail "the example autotunneld.conf has no '#hostname = laptop' or '#no-portmap = no' line to set"
start_bg "$NS_HOST" agent setpriv --inh-caps=-all \
	--bounding-set=-all,+net_admin,+net_raw,+net_bind_service,+setuid,+setgid,+setpcap,+chown \
	--no-new-privs /usr/sbin/autotunneld -c /etc/autotunnel/autotunneld.conf
wait_for 15 test -S "$ROOT/run/autotunnel/control" || fail "autotunneld did not make its control socket"
AGENT=$(pid_in "$NS_HOST" /usr/sbin/autotunneld) || fail "no autotunneld process in $NS_HOST"
# once started it becomes autotunnel with CAP_NET_ADMIN only
agent_dropped() { [ "$(uid_of "$AGENT")" = "$AGENT_UID" ]; }
wait_for 5 agent_dropped || fail "autotunneld runs as uid $(uid_of "$AGENT"), not autotunnel"
[ "$(caps "$AGENT")" = 0000000000001000 ] || fail "autotunneld has capabilities $(caps "$AGENT")"
for d in /run/autotunnel /var/lib/autotunnel; do
	[ "$(inroot stat -c %U "$d")" = autotunnel ] || fail "$d belongs to $(inroot stat -c %U "$d"), not autotunnel"
done
pass "autotunneld runs with the packaged example settings as autotunnel (uid $AGENT_UID) with CAP_NET_ADMIN only"

out=$(printf 'correct horse\n' | run "$NS_HOST" autotunnel login alice --server 10.53.0.1 --pin "$PIN" 2>&1) ||
	fail "autotunnel login failed: $out"
[ "$(echo "$out" | head -1)" = "signed in to alice.members.example.net" ] || fail "autotunnel login said: $out"
# the account authority is on by default: the account's first computer creates it
echo "$out" | grep -q 'created the account authority; its recovery key' ||
	fail "the account's first computer showed no recovery key: $out"
pass "autotunnel login alice --server 10.53.0.1 --pin ...: $(echo "$out" | head -1), and the authority's recovery key once"

st=$(run "$NS_HOST" autotunnel status 2>&1) || fail "autotunnel status failed: $st"
echo "$st" | grep -q '^account  alice.members.example.net   (signed in' || fail "autotunnel status: $st"
echo "$st" | grep -Eq '^this +pkghost +fd' || fail "autotunnel status shows no ULA for pkghost: $st"
for l in dnsd agent; do
	! grep -q 'Permission denied\|Operation not permitted' "$W/$l.log" ||
		fail "$l lacks a privilege: $(grep 'denied\|not permitted' "$W/$l.log")"
done
pass "autotunnel status: $(echo "$st" | head -1)"

# the host's own name through the NSS module, as any program resolves it
wait_for 10 run "$NS_HOST" getent ahosts pkghost.alice.members.example.net ||
	fail "getent ahosts pkghost.alice.members.example.net: not resolved (hosts cache: $(cat "$ROOT/run/autotunnel/hosts" 2>&1))"
ula=$(run "$NS_HOST" getent ahosts pkghost.alice.members.example.net | awk 'NR == 1 { print $1 }')
echo "$st" | grep -q "$ula" || fail "NSS resolves pkghost to $ula, status says otherwise: $st"
pass "getent (libnss_autotunnel from nsswitch.conf): pkghost.alice.members.example.net is $ula"

out=$(run "$NS_HOST" autotunnel logout 2>&1) || fail "autotunnel logout failed: $out"
stop_pid "$LAST_PID"

# the gateway: the packaged settings plus its interfaces, the unit's capabilities
start_bg "$NS_SRV" gwd setpriv --inh-caps=-all \
	--bounding-set=-all,+net_admin,+net_raw,+net_bind_service,+setuid,+setgid,+setpcap --no-new-privs \
	/usr/sbin/autotunnel-gwd -c /etc/autotunnel/autotunnel-gwd.conf --wan wan0 --lan srv0
wait_for 10 run "$NS_SRV" autotunnel-gwd status || fail "autotunnel-gwd status does not answer"
GWD=$(pid_in "$NS_SRV" /usr/sbin/autotunnel-gwd) || fail "no autotunnel-gwd process in $NS_SRV"
# once started it becomes nobody with the three capabilities only
gwd_dropped() { [ "$(uid_of "$GWD")" = "$(inroot id -u nobody)" ]; }
wait_for 5 gwd_dropped || fail "autotunnel-gwd runs as uid $(uid_of "$GWD"), not nobody"
[ "$(caps "$GWD")" = 0000000000003400 ] || fail "autotunnel-gwd has capabilities $(caps "$GWD")"
ip netns exec "$NS_SRV" ss -lun | grep -Eq '10\.53\.0\.1(%srv0)?:5351 ' || fail "autotunnel-gwd does not listen on 10.53.0.1:5351"
# RSIP's IKE demultiplexer binds UDP 500 on the external address
ip netns exec "$NS_SRV" ss -lun | grep -q '192.0.2.1:500 ' || fail "autotunnel-gwd does not listen on 192.0.2.1:500"
! grep -q 'Permission denied\|Operation not permitted' "$W/gwd.log" || fail "autotunnel-gwd lacks a privilege: $(grep 'denied\|not permitted' "$W/gwd.log")"
pass "autotunnel-gwd runs as nobody with the packaged settings and CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE only; status answers"

for pid in $PIDS; do stop_pid "$pid"; done
PIDS=""

# ---- 5. removal, reinstallation, purge ----
inroot dpkg --remove autotunnel >"$W/remove.log" 2>&1 || fail "dpkg --remove autotunnel failed"
grep -Eq '^hosts:.*[[:space:]]autotunnel([[:space:]]|$)' "$ROOT/etc/nsswitch.conf" &&
	fail "postrm left autotunnel on the hosts line"
cmp -s "$ROOT/etc/nsswitch.conf" "$W/nsswitch.orig" || fail "nsswitch.conf after removal differs from before installation"
pass "dpkg --remove autotunnel: nsswitch.conf is as it was before installation"
inroot dpkg -i "/tmp/debs/autotunnel_${VER}_$ARCH.deb" >"$W/reinstall.log" 2>&1 || fail "reinstallation failed"
[ "$(cat "$ROOT/etc/nsswitch.conf")" = "$want" ] || fail "reinstallation did not put the module back"
inroot dpkg -i "/tmp/debs/autotunnel_${VER}_$ARCH.deb" >>"$W/reinstall.log" 2>&1 || fail "upgrade in place failed"
[ "$(cat "$ROOT/etc/nsswitch.conf")" = "$want" ] || fail "a second configure changed nsswitch.conf"
pass "reinstalled: the module is back once; configured again: unchanged"
inroot dpkg --purge autotunnel autotunnel-server autotunnel-gateway >"$W/purge.log" 2>&1 || fail "dpkg --purge failed"
cmp -s "$ROOT/etc/nsswitch.conf" "$W/nsswitch.orig" || fail "nsswitch.conf after purge differs from before installation"
for d in /var/lib/autotunnel /var/lib/autotunnel-dnsd /etc/autotunnel; do
	[ ! -e "$ROOT$d" ] || fail "$d is left after purge"
done
pass "dpkg --purge: nsswitch.conf as before, state and settings gone"
log "t_packages: passed in $(elapsed) s"
