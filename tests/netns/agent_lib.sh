# tests/netns/agent_lib.sh: helpers for the host agent's tests (t_agent_*.sh)
# and scripts/demo.sh. Source it after lib.sh. Every process still goes
# through nt_bg, so cleanup and its audit see it.

AT_AGENTD=$AT_BUILD/src/autotunneld/autotunneld
AT_CLI=$AT_BUILD/src/autotunnel/autotunnel
AT_GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
AT_DNSD=$AT_BUILD/src/autotunnel-dnsd/autotunnel-dnsd
AT_ZONE=members.example.net

at_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# at_agent_start HOST LABEL [INI lines for [agent] ...]: autotunneld in account
# mode in namespace HOST, its state under $NT_DIR/HOST; waits for its socket.
at_agent_start() {
	local h=$1 label=$2 i; shift 2
	mkdir -p "$NT_DIR/$h"
	{
		printf '[tunnel]\nlog-level = %s\n' "${AT_LOG_LEVEL:-info}"
		printf '[agent]\nstate-dir = %s\nrun-dir = %s\nhostname = %s\n' \
			"$NT_DIR/$h/state" "$NT_DIR/$h/run" "$label"
		for i in "$@"; do printf '%s\n' "$i"; done
	} >"$NT_DIR/$h/agent.conf"
	nt_bg "$h" "agent-$h" "$AT_AGENTD" -c "$NT_DIR/$h/agent.conf"
	eval "AT_PID_$h=$NT_LAST_PID"
	nt_wait 10 test -S "$NT_DIR/$h/run/control" || nt_fail "the agent on $h did not start: $(cat "$NT_DIR/agent-$h.log")"
}

# at_agent_stop HOST: SIGTERM, and wait for it to exit.
at_agent_stop() {
	local pid
	eval "pid=\$AT_PID_$1"
	nt_stop "$pid"
}

# at_cli HOST ARGS...: the CLI against HOST's agent.
at_cli() {
	local h=$1; shift
	nt_exec "$h" env AUTOTUNNEL_CONTROL="$NT_DIR/$h/run/control" "$AT_CLI" "$@"
}

# at_log_wait HOST REGEX SECONDS: wait for a line of HOST's agent log.
at_log_wait() {
	nt_wait "$3" grep -q -- "$2" "$NT_DIR/agent-$1.log"
}

# at_bridge_lan NAT: turn NAT's LAN port lan0 into a bridge called lan0 (its
# address and the NAT's rules stay), so more hosts can join that LAN.
at_bridge_lan() {
	nt_exec "$1" sh -e -c '
		ip link set lan0 down
		ip link set lan0 name lanport0
		ip link add lan0 type bridge
		addr=$(ip -4 -o addr show dev lanport0 | awk "{print \$4}")
		ip addr flush dev lanport0
		ip addr add "$addr" dev lan0
		ip link set lanport0 master lan0
		ip link set lanport0 up
		ip link set lan0 up'
}

# at_plug HOST NAT PORTNAME IFNAME: a cable from NAT's bridged LAN to HOST,
# left unplugged at HOST's end (IFNAME down, no address).
at_plug() {
	local h=$1 nat=$2 port=$3 ifn=$4
	ip -n "$(nt_ns "$nat")" link add "$port" type veth peer name "$ifn" netns "$(nt_ns "$h")"
	nt_exec "$nat" sh -c "ip link set $port master lan0 && ip link set $port up"
}

# at_move HOST OLDIF NEWIF ADDR/LEN GATEWAY: HOST leaves the network of
# OLDIF (the link goes) and joins that of NEWIF (plugged in before with
# at_plug), with a new address and default route: one batch of ip commands,
# so the move itself takes milliseconds, as switching networks does.
at_move() {
	local h=$1 old=$2 new=$3 addr=$4 gw=$5
	ip -n "$(nt_ns "$h")" -batch - <<BATCH
link del $old
link set $new up
addr add $addr dev $new
route add default via $gw
BATCH
}

# at_stun: the small STUN responder on pub that miniupnpd 2.3 needs before it
# forwards from a WAN address in a documentation range (see t_portmap_miniupnpd.sh).
at_stun() {
	cat >"$NT_DIR/stun.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, (addr, port) = s.recvfrom(2048)
    if len(data) < 20 or data[0:2] != b"\x00\x01" or data[4:8] != b"\x21\x12\xa4\x42":
        continue
    xaddr = struct.unpack(">I", socket.inet_aton(addr))[0] ^ 0x2112A442
    attr = struct.pack(">HHBBHI", 0x0020, 8, 0, 1, port ^ 0x2112, xaddr)
    s.sendto(struct.pack(">HH", 0x0101, len(attr)) + data[4:20] + attr, (addr, port))
PY
	nt_bg pub stun /usr/bin/python3 "$NT_DIR/stun.py" 3478
	nt_wait 5 nt_exec pub sh -c 'ss -lun | grep -q ":3478 "' || nt_fail "STUN responder did not start"
}

# at_miniupnpd NAT N: miniupnpd (NAT-PMP/PCP and UPnP IGD) on NAT's lan0
# (LAN 192.168.N.0/24), in nftables chains of its own. Sets AT_MINIUPNPD_PID.
at_miniupnpd() {
	local nat=$1 n=$2
	[ -x /usr/sbin/miniupnpd ] || { echo "SKIP: /usr/sbin/miniupnpd (miniupnpd-nftables) not installed"; exit 77; }
	nt_exec "$nat" nft -f - <<'NFT'
table inet miniupnpd {
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority srcnat - 1; policy accept;
		jump postrouting_miniupnpd
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
NFT
	cat >"$NT_DIR/miniupnpd-$nat.conf" <<CONF
ext_ifname=wan0
listening_ip=lan0
http_port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=no
min_lifetime=120
max_lifetime=86400
ext_perform_stun=yes
ext_stun_host=198.51.100.7
ext_stun_port=3478
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
allow 1024-65535 192.168.$n.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
	nt_bg "$nat" "miniupnpd-$nat" /usr/sbin/miniupnpd -f "$NT_DIR/miniupnpd-$nat.conf" -d \
		-P "$NT_DIR/miniupnpd-$nat.pid"
	AT_MINIUPNPD_PID=$NT_LAST_PID
	nt_wait 10 grep -q 'Listening for NAT-PMP/PCP traffic on port 5351' "$NT_DIR/miniupnpd-$nat.log" ||
		nt_fail "miniupnpd on $nat did not start"
	nt_wait 5 grep -q 'Port forwarding is now enabled' "$NT_DIR/miniupnpd-$nat.log" ||
		nt_fail "miniupnpd on $nat did not enable forwarding (STUN)"
}

# at_loopback NAT PUBLIC: NAT loopback (hairpinning, which RFC 4787 REQ-9
# asks of every NAT and home routers do): packets from the LAN to the NAT's
# public address PUBLIC follow the same port mappings as packets from the
# WAN. miniupnpd's nftables rules match only `iif wan0`, so a small loop in
# the NAT mirrors them for lan0 (from miniupnpd's own table, every 50 ms).
at_loopback() {
	local nat=$1 pub=$2
	nt_exec "$nat" nft -f - <<'NFT'
table inet miniupnpd {
	chain loopback_pre {
		type nat hook prerouting priority dstnat + 1; policy accept;
		jump loopback
	}
	chain loopback {
	}
}
NFT
	cat >"$NT_DIR/loopback-$nat.sh" <<LOOP
# on TERM, finish the sleep in hand, then exit: a shell killed outright
# would leave that sleep behind in the namespace for the audit to find
trap 'exit 0' TERM
last=""
for i in \$(seq 12000); do
	cur=\$(nft list chain inet miniupnpd prerouting_miniupnpd |
		sed -n 's/.*iif "wan0" \(.*dnat ip to .*\)\$/\1/p' |
		sed 's/@nh,72,8 0x11/meta l4proto udp/; s/@nh,72,8 0x6/meta l4proto tcp/')
	if [ "\$cur" != "\$last" ]; then
		{ echo "flush chain inet miniupnpd loopback"
		  echo "\$cur" | while read -r r; do
			[ -n "\$r" ] && echo "add rule inet miniupnpd loopback iifname \"lan0\" ip daddr $pub \$r"
		  done; } | nft -f -
		last=\$cur
	fi
	sleep 0.05
done
LOOP
	nt_bg "$nat" "loopback-$nat" sh "$NT_DIR/loopback-$nat.sh"
}

# at_dnsd: autotunnel-dnsd in rv (198.51.100.53, DNS on 53, TLS on 853,
# zone members.example.net) with short lease bounds for tests. Sets AT_PIN
# (its TLS key's pin) and AT_DNSD_PID.
at_dnsd() {
	[ -x "$AT_DNSD" ] || nt_fail "no $AT_DNSD"
	mkdir -p "$NT_DIR/rv"
	nt_bg rv dnsd "$AT_DNSD" --zone "$AT_ZONE" --listen 198.51.100.53 --port 53 --tls-port 853 \
		--server-name rv.example.net --db "$NT_DIR/rv/dns.db" --udp-workers 1 \
		--lease-min "${AT_LEASE_MIN:-30}" --lease-max "${AT_LEASE_MAX:-7200}" \
		--llq-lease-min 30 --llq-lease-max 7200 "$@"
	AT_DNSD_PID=$NT_LAST_PID
	nt_wait 10 grep -q 'TLS SPKI pin' "$NT_DIR/dnsd.log" || nt_fail "dnsd did not start: $(cat "$NT_DIR/dnsd.log")"
	AT_PIN=$(sed -n 's/.*TLS SPKI pin (kdig +tls-pin=) \(.*\)$/\1/p' "$NT_DIR/dnsd.log" | head -1)
	nt_wait 5 nt_exec rv sh -c 'ss -ltn | grep -q ":853 "' || nt_fail "dnsd does not listen on 853"
}

# at_account NAME PASSWORD: create an account on the server.
at_account() {
	printf '%s\n' "$2" | nt_exec rv "$AT_DNSD" --zone "$AT_ZONE" --db "$NT_DIR/rv/dns.db" account add "$1" \
		>/dev/null || nt_fail "cannot add account $1"
}

# at_login HOST ACCOUNT PASSWORD: `autotunnel login` on HOST with the server's pin.
# The account authority is on by default (docs/authority.md): the first host
# of ACCOUNT creates it (it becomes ACCOUNT's signer here, kept with its
# recovery key in $NT_DIR/at-signer-ACCOUNT, as at_login often runs in a
# subshell); a later one shows a join code, which the signer
# approves at once (at_enrol), so the login returns with HOST a member. The
# authority's own lines are taken out of what it prints (a test of those
# sets AT_AUTO_APPROVE=0 and gets the login's output as it is). The signer
# signing in again after a logout enrols with the recovery key.
at_login() {
	local out rc=0 v rk=
	# the signer signing in again (its state went with its logout): with the recovery key, as a person would
	v=$(printf '%s' "$2" | tr -c 'A-Za-z0-9_' _)
	[ "${AT_AUTO_APPROVE:-1}" != 0 ] && [ "$(cut -d' ' -f1 "$NT_DIR/at-signer-$v" 2>/dev/null)" = "$1" ] &&
		rk=$(cut -d' ' -f2 "$NT_DIR/at-signer-$v")
	out=$(printf '%s\n' "$3" | at_cli "$1" login "$2" --server 198.51.100.53:853 --pin "$AT_PIN" \
		${rk:+--recovery-key "$rk"}) || rc=$?
	if [ "${AT_AUTO_APPROVE:-1}" = 0 ] || [ $rc -ne 0 ]; then
		[ -n "$out" ] && printf '%s\n' "$out"
		return $rc
	fi
	at_enrol "$1" "$2" "$out" || return 1
	printf '%s\n' "$out" | at_enrol_filter
}

# at_enrol_filter: a login's output without the account authority's lines.
at_enrol_filter() {
	grep -v -e '^this host created the account authority of ' -e '^this computer created the account authority' \
		-e '^  [0-9A-Z-]\{69\}$' -e '^write it down and keep it safe' -e ' has an account authority: this host asks to join it$' \
		-e '^join code [0-9A-Z]\{4\}-[0-9A-Z]\{4\}: ' -e '^enrolled with the recovery key' || true
}

# at_enrol HOST ACCOUNT LOGIN-OUTPUT: after HOST's login to ACCOUNT, what the
# authority needs: a created authority makes HOST the account's signer; a
# join code is approved by that signer (another host), and HOST waits (at
# most 10 s) to be a member. 1 with a message when it cannot be done.
at_enrol() {
	local h=$1 v code rk signer i
	v=$(printf '%s' "$2" | tr -c 'A-Za-z0-9_' _)
	rk=$(printf '%s\n' "$3" | sed -n 's/^  \([0-9A-Z-]\{69\}\)$/\1/p')
	if [ -n "$rk" ]; then
		printf '%s %s\n' "$h" "$rk" >"$NT_DIR/at-signer-$v"
		return 0
	fi
	code=$(printf '%s\n' "$3" | sed -n 's/^join code \([0-9A-Z]\{4\}-[0-9A-Z]\{4\}\): .*/\1/p')
	[ -n "$code" ] || return 0
	signer=$(cut -d' ' -f1 "$NT_DIR/at-signer-$v" 2>/dev/null)
	if [ -z "$signer" ] || [ "$signer" = "$h" ]; then
		echo "at_enrol: $h shows join code $code for $2 but no other host of this test is its signer" >&2
		return 1
	fi
	at_cli "$signer" approve "$code" >/dev/null || { echo "at_enrol: $signer cannot approve $h ($code)" >&2; return 1; }
	for i in $(seq 200); do
		at_cli "$h" status 2>/dev/null | grep -q '^authority member' && return 0
		sleep 0.05
	done
	echo "at_enrol: $h was approved but is not a member after 10 s: $(at_cli "$h" status 2>&1)" >&2
	return 1
}

# at_stream_py: the stream used to measure a stall (receiver prints the longest gap).
at_stream_py() {
	cat >"$NT_DIR/stream.py" <<'PY'
import socket, sys, time
# stream.py recv ADDR PORT SECONDS | stream.py send ADDR PORT SECONDS
mode, addr, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if mode == "recv":
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1)
    s.settimeout(secs + 30)
    c, _ = s.accept()
    c.settimeout(secs + 30)
    last = None; worst = 0.0; total = 0; t0 = time.monotonic()
    while True:
        try:
            b = c.recv(65536)
        except socket.timeout:
            break
        now = time.monotonic()
        if not b:
            break
        total += len(b)
        if last is not None and now - last > worst:
            worst = now - last
        last = now
    print("received %d bytes in %.1f s; longest stall %d ms" % (total, time.monotonic() - t0, worst * 1000), flush=True)
else:
    s = socket.create_connection((addr, port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    end = time.monotonic() + secs; n = 0
    while time.monotonic() < end:
        s.sendall(b"x" * 1000); n += 1
        time.sleep(0.005)
    s.close()
    print("sent %d kB" % n, flush=True)
PY
}

# at_ula HOST: the ULA the agent on HOST made for this boot.
at_ula() { sed -n 's/^ula //p' "$NT_DIR/$1/run/identity"; }

# at_lists HOST LABEL: HOST's `autotunnel hosts` lists LABEL (another host).
at_lists() { at_cli "$1" hosts | grep -q "^$2 .*\.$AT_ZONE "; }

# at_bed_two: the usual start of a two-host scenario: dnsd with account
# alice, gwd on natA, miniupnpd on natB (bridged LAN, NAT loopback), agents
# "laptop" on hostA and "desktop" on hostB, both signed in and each listing
# the other. Prints nothing; sets AT_LIST_MS (sign-in to both listed).
at_bed_two() {
	at_dnsd
	at_account alice 'correct horse battery'
	nt_bg natA gwdA "$AT_GWD" --wan wan0 --lan lan0 --state-dir "$NT_DIR/gwdA"
	AT_GWDA_PID=$NT_LAST_PID
	nt_wait 5 test -S "$NT_DIR/gwdA/control" || nt_fail "gwd on natA did not start"
	at_bridge_lan natB
	at_stun
	at_miniupnpd natB 2
	at_loopback natB 203.0.113.20
	at_agent_start hostA laptop "$@"
	at_agent_start hostB desktop "$@"
	at_log_wait hostA 'mapped UDP 4500' 10 || nt_fail "hostA got no mapping: $(cat "$NT_DIR/agent-hostA.log")"
	at_log_wait hostB 'mapped UDP 4500' 10 || nt_fail "hostB got no mapping: $(cat "$NT_DIR/agent-hostB.log")"
	at_login hostA alice 'correct horse battery' >/dev/null || nt_fail "hostA: login failed"
	at_login hostB alice 'correct horse battery' >/dev/null || nt_fail "hostB: login failed"
	local t0 i
	t0=$(at_now_ms)
	for i in $(seq 100); do
		at_lists hostA desktop && at_lists hostB laptop && break
		sleep 0.05
	done
	AT_LIST_MS=$(( $(at_now_ms) - t0 ))
	at_lists hostA desktop && at_lists hostB laptop || nt_fail "the hosts do not list each other after 5 s:
$(at_cli hostA hosts)
$(at_cli hostB hosts)"
}
