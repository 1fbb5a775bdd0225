#!/bin/sh
# bench/tunnel: TCP throughput (iperf3, 1 and 4 streams, both directions),
# ping RTT, CPU and memory per endpoint, through four paths between the same
# two namespaces joined by a veth pair:
#   veth         the bare link (the ceiling)
#   ours         two autotunnelds, manually keyed ESP-in-UDP (AES-256-GCM,
#                and ChaCha20-Poly1305 to compare with strongSwan)
#   wireguard    Debian's wireguard-go (user space) + wg
#   strongswan   Debian's charon with kernel-libipsec (user-space ESP over
#                TUN), swanctl, PSK, UDP encapsulation forced, AES-256-GCM
#                (ChaCha20-Poly1305 if libstrongswan-standard-plugins is
#                missing).
# the relayed path through coturn over UDP and TLS against the direct path
# (bench/tunnel/relay.sh, its own namespaces: rendezvous server and coturn),
# and the IKEv2 handshake time, ours against strongSwan's, measured the same
# way on the wire: from the first IKE_SA_INIT request to the IKE_AUTH
# response (the one that installs the first child SA), median of 20.
# Every iperf3 run is time-bound (-t 5). Output: bench/lib.sh lines.
set -eu
AT_SRC=${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT_BUILD=${AT_BUILD:-$AT_SRC/build-bench}
. "$AT_SRC/bench/lib.sh"
. "$AT_SRC/tests/netns/lib.sh"
nt_setup
set +e	# a failed peer run is reported, not fatal to the rest
T=${BENCH_SECONDS:-5}
ONLY=${BENCH_ONLY:-veth ours wireguard strongswan relay}	# a subset, for a quick look
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }
. "$AT_SRC/tests/netns/pair_lib.sh"
[ -x "$D" ] || { echo "bench/tunnel: no $D; run bench/run.sh (it builds)"; exit 1; }

pair_setup
nt_bg b iperf iperf3 -s -p 5201
nt_wait 5 nt_exec b sh -c 'ss -ltn | grep -q ":5201 "' || nt_fail "iperf3 server did not start"

# cpu_ticks PID...: utime+stime of the processes (all threads), in clock ticks
cpu_ticks() {
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# iperf NAME DST PIDS [iperf3 args]: Gbit/s received, plus CPU per endpoint
iperf() {
	local name=$1 dst=$2 pa=$3 pb=$4 out gb c0a c0b c1a c1b hz
	shift 4
	hz=$(getconf CLK_TCK)
	c0a=$(cpu_ticks $pa); c0b=$(cpu_ticks $pb)
	out=$(timeout $((T + 15)) ip netns exec "$(nt_ns a)" iperf3 -c "$dst" -p 5201 -t "$T" -J "$@" 2>/dev/null)
	c1a=$(cpu_ticks $pa); c1b=$(cpu_ticks $pb)
	gb=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys
try: print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("0")')
	bench_result "$name" "$gb" Gbit/s
	if [ -n "$pa" ]; then
		bench_result "$name.cpu_a" "$(( (c1a - c0a) * 100 / hz / T ))" "%core"
		bench_result "$name.cpu_b" "$(( (c1b - c0b) * 100 / hz / T ))" "%core"
	fi
	eval "R_$(echo "$name" | tr '.-' '__')=$gb"
}

rtt() {	# rtt NAME DST: average RTT of 20 pings, in ms
	local v
	v=$(nt_exec a ping -c 20 -i 0.05 -W 1 "$2" 2>/dev/null | awk -F/ '/^rtt/ {print $5}')
	bench_result "$1.rtt" "${v:-0}" ms
	eval "RTT_$(echo "$1" | tr '.-' '__')=${v:-0}"
}

HS_N=${BENCH_HANDSHAKES:-20}
# start_capture TAG / stop_capture TAG: IKE on a's eth0; prints the median
# handshake (first IKE_SA_INIT request -> IKE_AUTH response) in ms
start_capture() {
	ip netns exec "$(nt_ns a)" tcpdump --immediate-mode -n -i eth0 -U -w "$NT_DIR/ike-$1.pcap" 'udp port 500 or udp port 4500' >"$NT_DIR/tcpdump-$1.log" 2>&1 &
	CAP_PID=$!
	NT_PIDS="$NT_PIDS $CAP_PID"
	nt_wait 5 grep -q "listening on" "$NT_DIR/tcpdump-$1.log" || echo "bench: tcpdump did not start"
	sleep 0.2
}
stop_capture() {
	sleep 0.3
	kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null
	/usr/bin/python3 - "$NT_DIR/ike-$1.pcap" <<'PY'
import struct, sys, statistics
data = open(sys.argv[1], 'rb').read()
e = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
nano = data[:4] in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
link = struct.unpack(e + 'I', data[20:24])[0]
off, start, times = 24, {}, []
while off + 16 <= len(data):
    sec, frac, incl = struct.unpack(e + 'III', data[off:off + 12])
    pkt = data[off + 16:off + 16 + incl]; off += 16 + incl
    t = sec + frac / (1e9 if nano else 1e6)
    pkt = pkt[14:] if link == 1 else pkt[16:] if link == 113 else pkt
    if len(pkt) < 28 or pkt[9] != 17: continue
    udp = pkt[(pkt[0] & 15) * 4:]
    sport, dport = struct.unpack('>HH', udp[:4]); ike = udp[8:]
    if 4500 in (sport, dport):
        if ike[:4] != b'\0\0\0\0': continue    # ESP or keepalive
        ike = ike[4:]
    if len(ike) < 28: continue
    spi_i, exch, flags = ike[:8], ike[18], ike[19]
    if exch == 34 and not flags & 0x20: start.setdefault(spi_i, t)
    if exch == 35 and flags & 0x20 and spi_i in start:
        times.append((t - start.pop(spi_i)) * 1000)
print("%.2f" % statistics.median(times) if times else "0")
if not times: print("bench: no handshake in the capture (%d bytes)" % len(data), file=sys.stderr)
PY
}

suite() {	# suite NAME DST PIDS_A PIDS_B
	iperf "$1.tcp1" "$2" "$3" "$4"
	iperf "$1.tcp1_rev" "$2" "$3" "$4" -R
	iperf "$1.tcp4" "$2" "$3" "$4" -P 4
	iperf "$1.tcp4_rev" "$2" "$3" "$4" -P 4 -R
	rtt "$1" "$2"
	if [ -n "$3" ]; then
		bench_result "$1.rss_a" "$(rss_kb $3)" KiB
		bench_result "$1.rss_b" "$(rss_kb $4)" KiB
	fi
}

# ---- bare veth
want veth && suite veth 192.0.2.2 "" ""

# ---- ours
KA=$(openssl rand -hex 36)
KB=$(openssl rand -hex 36)
ours_conf() {	# NAME ULA PEER PEER_ULA PEER_OUTER SPI_IN SPI_OUT KEY_IN KEY_OUT CIPHER
	cat > "$NT_DIR/$1.conf" <<CONF
[tunnel]
ula = $2
log-level = warn
[peer $3]
remote = $5:4500
remote-ts = $4/128
spi-in = $6
spi-out = $7
key-in = $8
key-out = $9
cipher = ${10}
CONF
}
want ours && for cipher in aes256gcm16 chacha20poly1305; do
	tag=ours; [ "$cipher" = aes256gcm16 ] || tag=ours_chacha
	ours_conf a fd00:a::1 b fd00:b::1 192.0.2.2 0x1001 0x2002 "$KB" "$KA" $cipher
	ours_conf b fd00:b::1 a fd00:a::1 192.0.2.1 0x2002 0x1001 "$KA" "$KB" $cipher
	nt_bg a ours_a "$D" -c "$NT_DIR/a.conf"; PA=$NT_LAST_PID
	nt_bg b ours_b "$D" -c "$NT_DIR/b.conf"; PB=$NT_LAST_PID
	nt_wait 5 nt_exec a ping -6 -c 1 -W 1 fd00:b::1 || echo "bench: our tunnel did not come up"
	suite $tag fd00:b::1 "$PA" "$PB"
	[ -z "${BENCH_DEBUG:-}" ] || { kill -USR1 "$PA" "$PB"; sleep 0.3; tail -1 "$NT_DIR/ours_a.log"; tail -1 "$NT_DIR/ours_b.log";
		nt_exec a ip -s link show autotun0; nt_exec b ip -s link show autotun0; nt_exec b cat /proc/net/snmp | grep Udp:; }
	nt_stop "$PA"; nt_stop "$PB"
done

# ---- our IKE handshake: a restarts and connects, b answers
if want ours; then
	openssl rand -hex 32 > "$NT_DIR/psk"
	for side in a b; do
		[ $side = a ] && { me=fd00:a::1 peer=b hists=fd00:b::1 him=192.0.2.2; } ||
			{ me=fd00:b::1 peer=a hists=fd00:a::1 him=192.0.2.1; }
		cat > "$NT_DIR/ike-$side.conf" <<CONF
[tunnel]
ula = $me
log-level = info
local-id = $side.bench.example
[peer $peer]
remote = $him:4500
remote-id = $peer.bench.example
psk-file = $NT_DIR/psk
remote-ts = $hists/128
connect = $([ $side = a ] && echo yes || echo no)
CONF
	done
	nt_bg b ike_b "$D" -c "$NT_DIR/ike-b.conf"; PB=$NT_LAST_PID
	nt_wait 5 grep -q "up:" "$NT_DIR/ike_b.log"
	nt_bg a ike_a "$D" -c "$NT_DIR/ike-a.conf"; PA=$NT_LAST_PID
	nt_wait 5 grep -q "child SA up" "$NT_DIR/ike_a.log" || echo "bench: our first handshake did not complete"
	# as for strongSwan (terminate, initiate): SIGHUP closes the tunnel and sets it up anew
	start_capture ours
	for i in $(seq "$HS_N"); do
		kill -HUP "$PA"
		nt_wait 5 sh -c "[ \$(grep -c 'child SA up' '$NT_DIR/ike_a.log') -gt $i ]" ||
			echo "bench: our handshake $i did not complete"
	done
	HS_ours=$(stop_capture ours)
	[ -z "${BENCH_DEBUG:-}" ] || tail -5 "$NT_DIR/ike_a.log"
	bench_result ours.handshake "$HS_ours" ms
	nt_stop "$PA"; nt_stop "$PB"
fi

# ---- wireguard-go
if ! want wireguard; then :
elif command -v wireguard-go >/dev/null && command -v wg >/dev/null; then
	wa=$(wg genkey); wb=$(wg genkey)
	# each wireguard-go gets a private /run: its control socket is /run/wireguard/wg0.sock
	for side in a b; do
		nt_bg $side wg_$side unshare -m sh -c \
			"mount -t tmpfs none /run && WG_PROCESS_FOREGROUND=1 exec wireguard-go -f wg0"
		eval "PW$side=\$NT_LAST_PID"
	done
	nt_wait 5 nt_exec a ip link show wg0 && nt_wait 5 nt_exec b ip link show wg0 ||
		echo "bench: wireguard-go did not create wg0"
	wgx() { local pid; eval "pid=\$PW$1"; shift; nsenter -t "$pid" -m -n "$@"; }
	printf '%s' "$wa" > "$NT_DIR/wa.key"; printf '%s' "$wb" > "$NT_DIR/wb.key"
	wgx a wg set wg0 listen-port 51820 private-key "$NT_DIR/wa.key" \
		peer "$(echo "$wb" | wg pubkey)" endpoint 192.0.2.2:51820 allowed-ips fd00:b::2/128
	wgx b wg set wg0 listen-port 51820 private-key "$NT_DIR/wb.key" \
		peer "$(echo "$wa" | wg pubkey)" endpoint 192.0.2.1:51820 allowed-ips fd00:a::2/128
	nt_exec a ip addr add fd00:a::2/128 dev wg0; nt_exec a ip link set wg0 mtu 1420 up
	nt_exec b ip addr add fd00:b::2/128 dev wg0; nt_exec b ip link set wg0 mtu 1420 up
	nt_exec a ip route add fd00:b::2/128 dev wg0
	nt_exec b ip route add fd00:a::2/128 dev wg0
	nt_wait 5 nt_exec a ping -6 -c 1 -W 1 fd00:b::2 || echo "bench: wireguard-go tunnel did not come up"
	suite wireguard fd00:b::2 "$PWa" "$PWb"
	nt_stop "$PWa"; nt_stop "$PWb"
else
	echo "bench: wireguard-go or wg missing; skipped"
fi

# ---- strongSwan charon with kernel-libipsec
. "$AT_SRC/tests/netns/strongswan_lib.sh"
if ! want strongswan; then :
elif [ -x "$SS_CHARON" ] && command -v swanctl >/dev/null; then
	psk=$(openssl rand -hex 16)
	ss_esp=chacha20poly1305
	ls /usr/lib/ipsec/plugins/libstrongswan-gcm.so >/dev/null 2>&1 && ss_esp=aes256gcm16
	for side in a b; do
		if [ $side = a ]; then me=192.0.2.1 him=192.0.2.2 myts=fd00:a::3 hists=fd00:b::3 peer=b
		else me=192.0.2.2 him=192.0.2.1 myts=fd00:b::3 hists=fd00:a::3 peer=a; fi
		nt_exec $side ip addr add $myts/128 dev lo
		SS_CONF=$NT_DIR/ss-$side.conf SS_VICI=$NT_DIR/charon-$side.vici
		ss_conf modular "$NT_DIR/charon-$side.log" "" "install_routes = yes"
		cat > "$NT_DIR/swanctl-$side.conf" <<SWC
connections {
	bench {
		version = 2
		local_addrs = $me
		remote_addrs = $him
		encap = yes
		proposals = aes256gcm16-prfsha256-x25519
		local { auth = psk
			id = $side.bench.example }
		remote { auth = psk
			id = $peer.bench.example }
		children {
			bench {
				local_ts = $myts/128
				remote_ts = $hists/128
				esp_proposals = $ss_esp
			}
		}
	}
}
secrets { ike-1 { id-1 = a.bench.example
	id-2 = b.bench.example
	secret = 0x$psk } }
SWC
		# a private /run for each charon (its pid file), the rest shared
		ss_launch $side charon_$side
		eval "PS$side=\$SS_PID"
	done
	for side in a b; do
		SS_CONF=$NT_DIR/ss-$side.conf SS_VICI=$NT_DIR/charon-$side.vici
		ss_ready || echo "bench: charon $side did not start"
		ss_ctl --load-all --file "$NT_DIR/swanctl-$side.conf" >/dev/null 2>&1 || echo "bench: swanctl $side failed"
	done
	SS_CONF=$NT_DIR/ss-a.conf SS_VICI=$NT_DIR/charon-a.vici	# a initiates, from here on
	STRONGSWAN_CONF="$SS_CONF" timeout 20 swanctl --initiate --child bench \
		--uri "unix://$SS_VICI" >/dev/null 2>&1 || echo "bench: strongSwan did not connect"
	# charon runs as a child of unshare/sh exec: its pid is the nt_bg pid's
	nt_wait 5 nt_exec a ping -6 -c 1 -W 1 fd00:b::3 || echo "bench: strongSwan tunnel did not come up"
	suite strongswan fd00:b::3 "$PSa" "$PSb"
	bench_result strongswan.esp_cipher "$ss_esp" ""
	# handshake time: 20 fresh IKE SAs, captured on a's side
	start_capture ss
	for i in $(seq "$HS_N"); do
		ss_ctl --terminate --ike bench >/dev/null 2>&1
		STRONGSWAN_CONF="$SS_CONF" timeout 10 swanctl --initiate --child bench \
			--uri "unix://$SS_VICI" >/dev/null 2>&1
	done
	HS_strongswan=$(stop_capture ss)
	bench_result strongswan.handshake "$HS_strongswan" ms
	nt_stop "$PSa"; nt_stop "$PSb"
else
	echo "bench: strongSwan charon or swanctl missing; skipped"
fi

# ---- ratios
for k in tcp1 tcp1_rev tcp4 tcp4_rev; do
	eval "o=\${R_ours_$k:-0} w=\${R_wireguard_$k:-0} s=\${R_strongswan_$k:-0} v=\${R_veth_$k:-0} oc=\${R_ours_chacha_$k:-0}"
	bench_ratio "tunnel.$k.vs_wireguard_go" "$o" "$w" Gbit/s wireguard-go
	bench_ratio "tunnel.$k.vs_strongswan_libipsec" "$o" "$s" Gbit/s strongswan-libipsec
	bench_ratio "tunnel.$k.chacha_vs_strongswan_libipsec" "$oc" "$s" Gbit/s strongswan-libipsec
	bench_ratio "tunnel.$k.vs_veth" "$o" "$v" Gbit/s veth
done
bench_ratio tunnel.rtt.vs_wireguard_go "${RTT_ours:-0}" "${RTT_wireguard:-0}" ms wireguard-go
bench_ratio tunnel.handshake.vs_strongswan "${HS_ours:-0}" "${HS_strongswan:-0}" ms strongswan
bench_ratio tunnel.rtt.vs_strongswan_libipsec "${RTT_ours:-0}" "${RTT_strongswan:-0}" ms strongswan-libipsec

# ---- the relayed path (issue 12): its own bed, its own ratios
if want relay; then
	AT_SRC="$AT_SRC" AT_BUILD="$AT_BUILD" BENCH_SECONDS="$T" sh "$AT_SRC/bench/tunnel/relay.sh"
fi
