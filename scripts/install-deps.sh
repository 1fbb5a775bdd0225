#!/bin/sh
# Install the Debian 12 packages autotunnel needs, as root. Quiet when
# everything is already there.
#
#   scripts/install-deps.sh [--build] [--run] [--test]
#
#   --build  what building needs (scripts/deps-build.txt)
#   --run    what the installed programs need at run time (scripts/deps-run.txt)
#   --test   the test bed and the interop peers (scripts/deps-test.txt)
#
# Without options: --build --run, what a user who builds from source needs.
# `make check`, `make demo`, `make bench` and `make fuzz` pass all three.
#
# Test packages that ship services (bind9, knot, strongSwan, coturn, ...)
# are installed with a policy-rc.d that keeps them from starting, and their
# services are then disabled, so that none of them takes a port (53, 4500,
# 3478) at the next boot: the tests start the servers they need by hand.
# So are the run-time packages marked "service-off" in deps-run.txt
# (krb5-kdc, krb5-admin-server): the agent runs its own KDC.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

lists=""
for a in "$@"; do
	case $a in
	--build) lists="$lists build" ;;
	--run) lists="$lists run" ;;
	--test) lists="$lists test" ;;
	-h|--help)
		sed -n '2,17s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	*)
		echo "install-deps: unknown option '$a' (--build, --run, --test)" >&2
		exit 2 ;;
	esac
done
[ -n "$lists" ] || lists="build run"

pkgs_of() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/deps-$1.txt"; }
# the packages of a list whose services stay off (every test package; run packages marked so)
quiet_of() {
	if [ "$1" = test ]; then pkgs_of test
	else sed -n 's/^\([^#[:space:]]*\)[[:space:]]*#[[:space:]]*service-off.*/\1/p' "$here/deps-$1.txt"; fi
}

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=""
missing_test=""
for l in $lists; do
	for p in $(pkgs_of "$l"); do
		installed "$p" && continue
		case " $missing " in *" $p "*) continue ;; esac
		missing="$missing $p"
		quiet_of "$l" | grep -qx "$p" && missing_test="$missing_test $p"
	done
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Daemons we only run by hand in tests must not start at install time.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod +x "$policy"
	made_policy=1
fi
apt-get update -q >/dev/null
rc=0
apt-get install -y -q --no-install-recommends $missing || rc=$?
[ "$made_policy" = 1 ] && rm -f "$policy"

# The services of the test (and service-off) packages just installed: disabled, and stopped
# should one have started all the same. Packages installed before are left
# as their owner configured them.
for p in $missing_test; do
	installed "$p" || continue
	for f in $(dpkg -L "$p" 2>/dev/null | grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket)$' || true); do
		u=${f##*/}
		if [ -d /run/systemd/system ]; then
			systemctl disable --now "$u" >/dev/null 2>&1 || true
		elif command -v systemctl >/dev/null 2>&1; then
			systemctl disable "$u" >/dev/null 2>&1 || true	# offline: only the links
		fi
		echo "install-deps: $p: $u disabled (the tests start it by hand)"
	done
	for f in $(dpkg -L "$p" 2>/dev/null | grep -E '^/etc/init\.d/[^/]+$' || true); do
		s=${f##*/}
		[ -d /run/systemd/system ] || "$f" stop >/dev/null 2>&1 || true
		update-rc.d "$s" disable >/dev/null 2>&1 || true
		echo "install-deps: $p: /etc/init.d/$s disabled"
	done
done
exit $rc
