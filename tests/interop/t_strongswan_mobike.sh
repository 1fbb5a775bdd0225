#!/bin/sh
# MOBIKE initiated by our side (RFC 4555 §3.5), against a stock strongSwan
# (charon + kernel-libipsec) on pub: autotunneld on hostA behind natA, static
# peers only (no [agent]), brings the tunnel up; while TCP flows through it,
# hostA's address changes (so natA maps it to another port). autotunneld's
# network monitor sees it, sends UPDATE_SA_ADDRESSES from the new address,
# strongSwan moves the IKE and child SAs there, and the stream carries on
# after a stall we measure (one-tenth-second iperf3 intervals on the
# receiving side) and bound (under 2 s).
# (t_strongswan_tunnel.sh covers strongSwan's own MOBIKE move.)
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

D=$AT_BUILD/src/autotunneld/autotunneld
. "$AT_SRC/tests/netns/strongswan_lib.sh"
ss_require openssl gcm kernel-libipsec
[ -x "$D" ] || { echo "SKIP: $D not built"; exit 77; }
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 missing"; exit 77; }

nt_topology
openssl rand -hex 32 >"$NT_DIR/psk"

ss_conf "$SS_PLUGINS updown" "$NT_DIR/charon-file.log" 2 "retransmit_timeout = 1.0"
cat >"$NT_DIR/swanctl.conf" <<EOF
connections {
	ours {
		version = 2
		local_addrs = 198.51.100.7
		remote_addrs = %any
		mobike = yes
		proposals = aes256gcm16-prfsha256-x25519
		local {
			auth = psk
			id = b.alice.members.example.net
		}
		remote {
			auth = psk
			id = a.alice.members.example.net
		}
		children {
			ours {
				local_ts = fd00:b::1/128
				remote_ts = fd00:a::1/128
				esp_proposals = aes256gcm16-x25519
				rekey_time = 1h
			}
		}
	}
}
secrets {
	ike-ours {
		id-1 = a.alice.members.example.net
		id-2 = b.alice.members.example.net
		secret = "$(cat "$NT_DIR/psk")"
	}
}
EOF
# where strongSwan has our end of the IKE SA: "ADDR[PORT]"
ss_remote() {
	ss_out --list-sas | sed -n "s/.*remote 'a.alice.members.example.net' @ \([0-9.]*\[[0-9]*\]\).*/\1/p" | head -1
}

nt_exec pub ip addr add fd00:b::1/128 dev lo
ss_start pub "$NT_DIR/swanctl.conf" ours
PID_C=$SS_PID

# static peers only: no [agent] section
cat >"$NT_DIR/a.conf" <<EOF
[tunnel]
ula = fd00:a::1
workers = 2
local-id = a.alice.members.example.net

[peer b]
remote = 198.51.100.7:4500
remote-id = b.alice.members.example.net
psk-file = $NT_DIR/psk
remote-ts = fd00:b::1/128
connect = yes
EOF
nt_exec hostA sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
nt_bg hostA da "$D" -c "$NT_DIR/a.conf"
PID_A=$NT_LAST_PID
nt_wait 15 grep -q "peer b: child SA up, aes256gcm16" "$NT_DIR/da.log" || nt_fail "no child SA with strongSwan across natA"
before=$(ss_remote)
case "$before" in
203.0.113.10\[*\]) ;;
*) nt_fail "strongSwan has us at '$before', not behind natA" ;;
esac
nt_exec hostA ping -6 -c 2 -i 0.2 -W 3 fd00:b::1 >/dev/null || nt_fail "ping6 through the tunnel failed"

# TCP from hostA to pub through the tunnel; pub (the receiver) reports every 0.1 s
nt_bg pub iperfs iperf3 -s -1 -p 5201 -B fd00:b::1 -i 0.1 -J
nt_wait 5 nt_exec pub sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "iperf3 server did not start"
nt_bg hostA iperfc iperf3 -c fd00:b::1 -p 5201 -t 6 -i 1
PID_I=$NT_LAST_PID
sleep 2.5
# hostA's address changes in one step (new address, old one gone, default route again)
cat >"$NT_DIR/move.batch" <<EOF
addr add 192.168.1.3/24 dev eth0
addr del 192.168.1.2/24 dev eth0
route replace default via 192.168.1.1
EOF
nt_exec hostA ip -batch "$NT_DIR/move.batch"
nt_wait 5 grep -q "peer b moved: local 192.168.1.3:4500" "$NT_DIR/da.log" ||
	{ tail -20 "$NT_DIR/da.log"; nt_fail "autotunneld did not move its tunnel to 192.168.1.3"; }
for i in $(seq 100); do kill -0 "$PID_I" 2>/dev/null || break; sleep 0.1; done
wait "$PID_I" 2>/dev/null || true
nt_wait 5 /usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))["end"]["sum_received"]' "$NT_DIR/iperfs.log" ||
	nt_fail "the TCP stream did not survive our move: $(tail -5 "$NT_DIR/iperfc.log")"

grep -q "our address changed from 192.168.1.2:4500 to 192.168.1.3:4500: moving the tunnel (MOBIKE)" "$NT_DIR/da.log" ||
	nt_fail "autotunneld did not log the move by MOBIKE"
grep -q "parsed INFORMATIONAL request [0-9]* \[.*N(UPD_SA_ADDR)" "$NT_DIR/charon-file.log" ||
	nt_fail "strongSwan received no UPDATE_SA_ADDRESSES"
after=$(ss_remote)
case "$after" in
203.0.113.10\[*\]) ;;
*) nt_fail "after the move strongSwan has us at '$after'" ;;
esac
[ "$after" != "$before" ] || nt_fail "strongSwan still has us at $before (natA kept the port?)"
# the longest run of empty 0.1 s intervals at the receiver, and the bytes after it
read -r stall tail_bytes <<EOF
$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
best = run = 0.0
last = 0
iv = d["intervals"]
for i, x in enumerate(iv):
    s = x["sum"]
    if s["bytes"] == 0:
        run += s["seconds"]
        if run > best:
            best, last = run, i
    else:
        run = 0.0
after = sum(x["sum"]["bytes"] for x in iv[last + 1:]) if best else 0
print("%.1f %d" % (best, after))' "$NT_DIR/iperfs.log")
EOF
[ -n "$stall" ] || nt_fail "cannot read the receiver's intervals"
nt_log "mobike_stall $stall s (receiver saw no data; 0.1 s resolution)"
/usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)' "$stall" ||
	nt_fail "the stream stalled $stall s around our move (2 s allowed)"
[ "$stall" = 0.0 ] || [ "$tail_bytes" -gt 1000000 ] || nt_fail "only $tail_bytes bytes after the stall"
nt_pass "we moved behind natA (MOBIKE, strongSwan now has us at $after, was $before): TCP carried on, $stall s stalled"
nt_stop "$PID_A"
nt_stop "$PID_C"
