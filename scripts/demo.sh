#!/bin/sh
# make demo: the end-to-end story of DESIGN.md §9, narrated, in network
# namespaces on this machine. It runs what exists today and says plainly
# what does not exist yet.
set -eu
AT_SRC=$(cd "$(dirname "$0")/.." && pwd)
AT_BUILD=$(cd "${1:-$AT_SRC/build}" && pwd)
export AT_SRC AT_BUILD
. "$AT_SRC/tests/netns/lib.sh"
nt_setup

say() { printf '\n== %s\n' "$*"; }
have() { [ -x "$AT_BUILD/$1" ]; }

say "Building the simulated internet: a rendezvous server, a public host, two home NATs, a host behind each"
nt_topology
nt_exec hostA ip -brief addr show eth0
nt_exec natA nft list table ip nat | sed -n '1,6p'

say "hostA (192.168.1.2, behind natA) talks to the public host 198.51.100.7"
nt_exec hostA ping -c 2 -W 2 198.51.100.7 | tail -n 2

say "The public host cannot open a connection to hostA: the NAT keeps it out"
if nt_exec pub ping -c 1 -W 1 192.168.1.2 >/dev/null 2>&1; then
	echo "unexpected: pub reached hostA"; exit 1
fi
echo "pub -> 192.168.1.2: unreachable, as a home network should be"

say "What autotunnel adds on top of this network"
for p in src/autotunnel-dnsd/autotunnel-dnsd src/autotunnel-gwd/autotunnel-gwd \
	 src/autotunneld/autotunneld src/autotunnel/autotunnel; do
	if have "$p"; then
		echo "  built:          $(basename "$p")"
	else
		echo "  not built yet:  $(basename "$p")"
	fi
done
if ! have src/autotunneld/autotunneld; then
	cat <<'TXT'

The host agent does not exist yet, so this demo cannot show sign-in,
discovery, the IPsec tunnel between hostA and hostB, or roaming. What you
saw above is the test bed those steps will run on; see README.md
("Status") for what each component can do today.
TXT
fi
say "Cleaning up: every namespace and process the demo made is removed"
