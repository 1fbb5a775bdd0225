#!/bin/sh
# Through a NAT (docs/design.md §9 bed): hostA behind natA's masquerade brings up
# an IKEv2 tunnel to pub, which has no address for hostA in its config and
# learns it (natA's public address and port) from IKE. Traffic flows both
# ways, also started from pub's side once the tunnel is up, and hostA keeps
# the NAT mapping alive with keepalives.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

D=$AT_BUILD/src/autotunneld/autotunneld
[ -x "$D" ] || nt_fail "no $D (build first)"
openssl rand -hex 32 > "$NT_DIR/psk"

cat > "$NT_DIR/hostA.conf" <<CONF
[tunnel]
ula = fd00:a::1
local-id = laptop.alice.members.example.net

[peer pub]
remote = 198.51.100.7:4500
remote-id = server.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:7::1/128
keepalive = 1
CONF
cat > "$NT_DIR/pub.conf" <<CONF
[tunnel]
ula = fd00:7::1
local-id = server.alice.members.example.net

[peer laptop]
remote-id = laptop.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:a::1/128
connect = no
CONF

nt_bg pub dpub "$D" -c "$NT_DIR/pub.conf"
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/dpub.log" || nt_fail "pub did not come up"
nt_bg hostA dA "$D" -c "$NT_DIR/hostA.conf"
nt_wait 5 grep -q "^autotunneld: up:" "$NT_DIR/dA.log" || nt_fail "hostA did not come up"

# connect = yes (the default) on hostA: the tunnel comes up at start
nt_wait 10 grep -q "peer laptop: child SA up, aes256gcm16, .* via 203.0.113.10:" "$NT_DIR/dpub.log" ||
	nt_fail "pub has no child SA towards natA's public address"
grep -q "peer pub: IKE SA up with server.alice.members.example.net at 198.51.100.7:4500 (group 31, NAT detected)" \
	"$NT_DIR/dA.log" || nt_fail "hostA did not detect its NAT"
nt_pass "IKE through the NAT: $(grep -m1 'child SA up' "$NT_DIR/dpub.log" | sed 's/^autotunneld: //')"

nt_exec hostA ping -6 -c 3 -i 0.2 -W 2 fd00:7::1 >/dev/null || nt_fail "hostA cannot ping pub through the tunnel"
nt_exec pub ping -6 -c 3 -i 0.2 -W 2 fd00:a::1 >/dev/null || nt_fail "pub cannot ping hostA through the tunnel"
nt_pass "ping both ways through the tunnel across the NAT"

# the keepalives (one byte 0xFF, RFC 3948) reach pub from natA's address
ip netns exec "$(nt_ns pub)" tcpdump --immediate-mode -n -i eth0 -c 2 'udp and src host 203.0.113.10 and udp[8:1] = 0xff and udp[4:2] = 9' \
	>"$NT_DIR/ka" 2>&1 &
KA=$!
NT_PIDS="$NT_PIDS $KA"
nt_wait 5 sh -c "! kill -0 $KA" || nt_fail "no NAT keepalives seen at pub"
nt_pass "NAT keepalives from hostA arrive at pub"

head -c 10000000 /dev/urandom > "$NT_DIR/blob"
nt_bg hostA sink socat -u TCP6-LISTEN:5001,bind=[fd00:a::1],reuseaddr OPEN:"$NT_DIR/blob.recv",creat,trunc
nt_wait 5 nt_exec hostA sh -c 'ss -ltn | grep -q ":5001 "' || nt_fail "listener did not start"
timeout 30 ip netns exec "$(nt_ns pub)" socat -u OPEN:"$NT_DIR/blob" TCP6:[fd00:a::1]:5001 ||
	nt_fail "TCP transfer from pub to hostA failed"
nt_wait 10 cmp -s "$NT_DIR/blob" "$NT_DIR/blob.recv" || nt_fail "received data differs"
nt_pass "10 MB from pub to hostA (behind the NAT), intact"
