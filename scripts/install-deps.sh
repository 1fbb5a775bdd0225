#!/bin/sh
# Install what scripts/deps.txt lists, on Debian 12, as root. Quiet when
# everything is already there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/deps.txt")
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
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
exit $rc
