#!/bin/sh
# The test bed itself: hostA reaches pub through natA's masquerade, pub sees
# natA's address (not hostA's), and nothing from the internet reaches hostA
# unsolicited, even when pub routes straight at the LAN through natA.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

# 1. hostA -> pub works (ICMP and TCP)
nt_exec hostA ping -c 1 -W 2 198.51.100.7 >/dev/null || nt_fail "hostA cannot ping pub"
nt_pass "hostA pings pub"

# 2. pub sees the NAT's address: a TCP listener on pub reports its peer
nt_bg pub listener socat TCP-LISTEN:7000,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
nt_wait 5 nt_exec pub sh -c 'ss -ltn | grep -q ":7000 "' || nt_fail "listener did not start"
seen=$(nt_exec hostA socat -u TCP:198.51.100.7:7000,connect-timeout=3 - 2>/dev/null || true)
[ "$seen" = "203.0.113.10" ] || nt_fail "pub saw '$seen', expected the NAT's 203.0.113.10 (no masquerade?)"
nt_pass "pub sees hostA as 203.0.113.10"

# 3. hostB behind natB reaches pub too, as 203.0.113.20
nt_exec hostB ping -c 1 -W 2 198.51.100.7 >/dev/null || nt_fail "hostB cannot ping pub"
nt_pass "hostB pings pub"

# 4. unsolicited traffic from the internet does not reach hostA: not via the
# NAT's public address, and not even when pub routes the LAN at natA
if nt_exec pub ping -c 1 -W 1 192.168.1.2 >/dev/null 2>&1; then
	nt_fail "pub reached 192.168.1.2 with no route (the internet routes private space?)"
fi
nt_exec pub ip route add 192.168.1.0/24 via 203.0.113.10 dev eth0 onlink
if nt_exec pub ping -c 1 -W 1 192.168.1.2 >/dev/null 2>&1; then
	nt_fail "natA forwarded unsolicited traffic from pub to hostA"
fi
nt_bg hostA hostlistener socat -u TCP-LISTEN:7001,reuseaddr -
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":7001 "' || nt_fail "hostA listener did not start"
if echo x | nt_exec pub socat -u - TCP:192.168.1.2:7001,connect-timeout=1 2>/dev/null; then
	nt_fail "pub opened a TCP connection to hostA through natA"
fi
nt_pass "pub cannot reach hostA unsolicited"
