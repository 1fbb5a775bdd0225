#!/bin/sh
# libnss_autotunnel.so.2 through glibc: in a private mount namespace whose
# /etc/nsswitch.conf says "hosts: files autotunnel", getent resolves a
# peer's short name and FQDN to its ULA from the hosts cache, follows an
# atomic rewrite of the cache, and reports an unknown name as not found.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

MOD_DIR="$AT_BUILD/src/nss"
[ -f "$MOD_DIR/libnss_autotunnel.so.2" ] || nt_fail "$MOD_DIR/libnss_autotunnel.so.2 not built"

sed 's/^hosts:.*/hosts: files autotunnel/' /etc/nsswitch.conf >"$NT_DIR/nsswitch.conf"
grep -q '^hosts: files autotunnel$' "$NT_DIR/nsswitch.conf" || nt_fail "no hosts line in /etc/nsswitch.conf"
cat >"$NT_DIR/hosts" <<'HOSTS'
# autotunnel hosts v1
desktop desktop.alice.members.example.net fd91:3b2c:5d10:aa01:21c:42ff:fe00:1
nas nas.alice.members.example.net fd07:1111:2222:3333:211:22ff:fe33:4455
HOSTS

# Run "getent ARGS" with our nsswitch.conf and module; prints its output and "rc=N".
lookup() {
	unshare -m sh -c '
		mount --bind "$1" /etc/nsswitch.conf || exit 99
		shift
		getent "$@"
		echo "rc=$?"' _ "$NT_DIR/nsswitch.conf" "$@" 2>&1
}
export LD_LIBRARY_PATH="$MOD_DIR" AUTOTUNNEL_HOSTS="$NT_DIR/hosts"

# expect NAME WANTED ARGS...: getent's exact output
expect() {
	local name=$1 want=$2 got; shift 2
	got=$(lookup "$@")
	if [ "$got" != "$want" ]; then
		printf 'got:\n%s\nwanted:\n%s\n' "$got" "$want" >&2
		nt_fail "$name"
	fi
	nt_pass "$name"
}

D=fd91:3b2c:5d10:aa01:21c:42ff:fe00:1
expect "getent ahosts desktop returns the ULA" \
"$D STREAM desktop.alice.members.example.net
$D DGRAM  
$D RAW    
rc=0" ahosts desktop

expect "getent ahosts of the FQDN returns the ULA" \
"$D STREAM desktop.alice.members.example.net
$D DGRAM  
$D RAW    
rc=0" ahosts desktop.alice.members.example.net

expect "getent hosts (gethostbyname2) and case-insensitive names" \
"fd07:1111:2222:3333:211:22ff:fe33:4455 nas.alice.members.example.net nas
rc=0" hosts NAS.Alice.Members.Example.Net

expect "reverse lookup of a ULA" \
"$D desktop.alice.members.example.net desktop
rc=0" hosts "$D"

expect "an unknown name is not found" "rc=2" ahosts laptop
expect "no IPv4 address for a peer" "rc=2" ahostsv4 desktop

# the agent replaces the file by rename: the next lookup sees the new address
cat >"$NT_DIR/hosts.new" <<'HOSTS'
# autotunnel hosts v1
desktop desktop.alice.members.example.net fd91::2
HOSTS
mv "$NT_DIR/hosts.new" "$NT_DIR/hosts"
# (getent pads addresses to 15 columns)
expect "an atomic rewrite is seen at once" \
"fd91::2         desktop.alice.members.example.net desktop
rc=0" hosts desktop
expect "a host removed from the cache is gone" "rc=2" ahosts nas

# a corrupt file or no file at all answers nothing
printf '# autotunnel hosts v1\ndesktop desktop.alice.members.example.net fd91::2\ngarbage\n' >"$NT_DIR/hosts"
expect "a corrupt cache answers nothing" "rc=2" ahosts desktop
rm -f "$NT_DIR/hosts"
expect "no cache (agent not running) answers nothing" "rc=2" ahosts desktop

# the real /etc/nsswitch.conf was never touched
grep -q autotunnel /etc/nsswitch.conf && nt_fail "the host's /etc/nsswitch.conf was changed"
nt_pass "host /etc/nsswitch.conf untouched"
