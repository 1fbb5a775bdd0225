#!/bin/sh
# Interop (c): Debian's natpmpc (libnatpmp, written by others) against our
# autotunnel-gwd on natA. natpmpc learns the external address 203.0.113.10
# and maps UDP; pub then reaches hostA's UDP listener through that port;
# the mapping shows in "autotunnel-gwd status", leaves nftables when
# natpmpc deletes it or when it expires, and gwd leaves no table behind.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
command -v natpmpc >/dev/null || { echo "SKIP: natpmpc not installed"; exit 77; }
nt_topology

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$GWD" ] || nt_fail "$GWD not built"
STATE=$NT_DIR/gwd

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --lifetime-min 1
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"

gwd_status() { nt_exec natA "$GWD" status --state-dir "$STATE"; }
# pub sends WORD to 203.0.113.10:4500 (20 tries, 100 ms apart) until hostA's listener wrote it
send_until_heard() {
	i=0
	while [ $i -lt 20 ] && ! grep -q "$1" "$NT_DIR/got" 2>/dev/null; do
		echo "$1" | nt_exec pub socat -u - UDP:203.0.113.10:4500
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$NT_DIR/got"
}
# our forwarding elements in natA's nftables (empty when there are none)
our_elements() {
	nt_exec natA nft list table ip autotunnel-gwd 2>/dev/null | grep 'elements = ' || true
}

# 1. the external address
out=$(nt_exec hostA natpmpc -g 192.168.1.1 2>&1) || nt_fail "natpmpc -g failed: $out"
echo "$out" | grep -qx 'Public IP address : 203.0.113.10' ||
	nt_fail "natpmpc did not report 203.0.113.10: $out"
nt_pass "natpmpc gets the external address 203.0.113.10"

# 2. a UDP mapping: public 4500 -> private 4500 for 60 s (natpmpc -a PUBLIC PRIVATE)
out=$(nt_exec hostA natpmpc -g 192.168.1.1 -a 4500 4500 udp 60 2>&1) || nt_fail "natpmpc -a failed: $out"
echo "$out" | grep -qx 'Mapped public port 4500 protocol UDP to local port 4500 liftime 60' ||
	nt_fail "unexpected mapping answer: $out"
nt_pass "natpmpc maps UDP 4500 -> 4500 for 60 s"

st=$(gwd_status)
echo "$st" | grep -q '^192\.168\.1\.2:4500  *-> 4500  *udp  *[56][0-9] s  *NAT-PMP$' ||
	nt_fail "status does not list the mapping: $st"
echo "$st" | head -1 | grep -q '^external address 203\.0\.113\.10 on wan0, epoch [0-9]* s, 1 mapping$' ||
	nt_fail "status header: $st"
nt_pass "autotunnel-gwd status lists 192.168.1.2:4500 -> 4500 udp (NAT-PMP)"

# 3. pub reaches hostA's UDP listener through 203.0.113.10:4500
nt_bg hostA listener socat -u UDP-RECV:4500 OPEN:"$NT_DIR/got",creat,append
nt_wait 5 nt_exec hostA sh -c 'ss -lun | grep -q ":4500 "' || nt_fail "listener did not start"
send_until_heard hello-through-gwd || nt_fail "pub's datagram to 203.0.113.10:4500 did not reach hostA"
nt_pass "pub reaches hostA:4500 through 203.0.113.10:4500"

# 3b. someone removes our table (a reload of nftables.service flushes the
# ruleset): gwd puts it back with the mapping within its 10 s check
nt_exec natA nft delete table ip autotunnel-gwd
nt_wait 12 sh -c "ip netns exec $(nt_ns natA) nft list table ip autotunnel-gwd 2>/dev/null |
	grep -q 'udp . 4500 .*: 192.168.1.2 . 4500'" || nt_fail "the removed table was not restored"
: >"$NT_DIR/got"
send_until_heard again || nt_fail "no forwarding after the table was restored"
nt_pass "a removed table is restored with its mapping"

# 4. natpmpc deletes it (public port 0, private 4500, lifetime 0), while
# another UDP mapping of hostA stays: the forwarding of 4500 goes, only it
nt_exec hostA natpmpc -g 192.168.1.1 -a 4501 4501 udp 60 >/dev/null 2>&1 || nt_fail "natpmpc -a 4501 failed"
out=$(nt_exec hostA natpmpc -g 192.168.1.1 -a 0 4500 udp 0 2>&1) || nt_fail "natpmpc delete failed: $out"
echo "$out" | grep -qx 'Mapped public port 0 protocol UDP to local port 4500 liftime 0' ||
	nt_fail "unexpected answer to the delete: $out"
our_elements | grep -q 'udp . 4500 ' && nt_fail "the deleted mapping is still in nftables: $(our_elements)"
our_elements | grep -q 'udp . 4501 .*: 192.168.1.2 . 4501' || nt_fail "the delete took 4501 too: $(our_elements)"
out=$(nt_exec hostA natpmpc -g 192.168.1.1 -a 0 4501 udp 0 2>&1) || nt_fail "natpmpc delete failed: $out"
[ -z "$(our_elements)" ] || nt_fail "a mapping element is left after the delete: $(our_elements)"
gwd_status | head -1 | grep -q ', 0 mappings$' || nt_fail "status still lists a mapping"
nt_pass "deleted by natpmpc: no forwarding left in nftables"

# 5. a mapping that is not renewed expires (lifetime 2 s), and so does its rule
nt_exec hostA natpmpc -g 192.168.1.1 -a 4600 4600 tcp 2 >/dev/null 2>&1 || nt_fail "natpmpc -a tcp failed"
our_elements | grep -q 'tcp . 4600 .*: 192.168.1.2 . 4600' || nt_fail "no element for tcp 4600: $(our_elements)"
sleep 2.2
nt_wait 2 sh -c "! ip netns exec $(nt_ns natA) nft list table ip autotunnel-gwd | grep -q 'elements = '" ||
	nt_fail "the expired mapping is still in nftables: $(our_elements)"
gwd_status | head -1 | grep -q ', 0 mappings$' || nt_fail "status still lists the expired mapping"
nt_pass "an expired mapping leaves no rule behind"

# 6. gwd exits cleanly on SIGTERM and deletes its table
nt_exec hostA natpmpc -g 192.168.1.1 -a 4700 4700 udp 600 >/dev/null 2>&1 || nt_fail "natpmpc -a failed"
kill -TERM "$GWD_PID"
rc=0
wait "$GWD_PID" || rc=$?
[ "$rc" = 0 ] || nt_fail "gwd exited with status $rc"
if nt_exec natA nft list ruleset | grep -q 'autotunnel-gwd'; then
	nt_fail "gwd left its table behind: $(nt_exec natA nft list ruleset)"
fi
[ ! -e "$STATE/control" ] || nt_fail "gwd left its control socket behind"
nt_pass "gwd exited 0 and left no nftables rule and no socket"
