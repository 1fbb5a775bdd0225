#!/bin/sh
# lib/ike against strongSwan's charon (Debian, kernel-libipsec since this
# kernel has no ESP), over UDP 4500 with the non-ESP marker, in two
# namespaces: "us" (tests/tools/ike_probe, 192.0.2.1) and "sw" (charon,
# 192.0.2.2, configured with swanctl through a private strongswan.conf).
#
# Both directions, PSK with ID_FQDN, DH groups 31 and 19, AES-GCM and
# ChaCha20-Poly1305; then child SA and IKE SA rekeys from either side and a
# MOBIKE address update initiated by each side. The SPIs our side prints
# must be the ones strongSwan reports, crossed.
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup

. "$AT_SRC/tests/netns/strongswan_lib.sh"

PROBE=$AT_BUILD/lib/ike/ike_probe
PSK="ike interop secret 8f3a"
ss_require openssl gcm kernel-libipsec
[ -x "$PROBE" ] || nt_fail "$PROBE not built"

nt_add_ns us
nt_add_ns sw
nt_link us eth0 sw eth0
ip -n "$(nt_ns us)" addr add 192.0.2.1/24 dev eth0
ip -n "$(nt_ns sw)" addr add 192.0.2.2/24 dev eth0
# strongSwan installs a route for the child SA from its inner address
ip -n "$(nt_ns sw)" addr add fd00::b/128 dev lo
# when strongSwan's primary address goes away, its second one takes over (MOBIKE)
nt_exec sw sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1

SW=$NT_DIR/sw
mkdir -p "$SW"
SS_CONF=$SW/strongswan.conf SS_VICI=$SW/charon.vici
ss_conf "$SS_PLUGINS" "$NT_DIR/charon-file.log" 2 "port = 500" "port_nat_t = 4500" "retransmit_timeout = 1.0"
swctl() { ss_out "$@"; }
no_ike_sa() { ! ss_ctl --list-sas 2>/dev/null | grep -q ESTABLISHED; }
ss_start sw

# sw_conf IKE_PROPOSAL ESP_PROPOSAL [LOCAL_TS REMOTE_TS [PORT]]: (re)load strongSwan's one connection
sw_conf() {
	cat >"$SW/swanctl.conf" <<EOF
connections {
	probe {
		version = 2
		local_addrs = 192.0.2.0/24
		remote_addrs = 192.0.2.1
		local_port = ${5:-4500}
		remote_port = ${5:-4500}
		proposals = $1
		mobike = yes
		local {
			auth = psk
			id = sun.example.net
		}
		remote {
			auth = psk
			id = probe.example.net
		}
		children {
			probe {
				local_ts = ${3:-fd00::b/128}
				remote_ts = ${4:-fd00::a/128}
				esp_proposals = $2
			}
		}
	}
}
secrets {
	ike-probe {
		id-1 = sun.example.net
		id-2 = probe.example.net
		secret = "$PSK"
	}
}
EOF
	ss_load "$SW/swanctl.conf" probe
}

probe_args() {
	echo --local-id probe.example.net --remote-id sun.example.net \
		--local-ts fd00::a/128 --remote-ts fd00::b/128
}

# field NAME LINE: the value of NAME=... in LINE
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# The child SA that $1 (probe output) reported with spi_in=$2 must be one
# strongSwan installed with the same SPIs crossed.
check_spis_in_charon() {
	grep -q "SPIs $3_i $2_o" "$NT_DIR/charon-file.log" ||
		nt_fail "strongSwan never installed a child SA with SPIs $3_i $2_o"
}

check_children() {	# OUT ALG: first child, a rekeyed child replacing it, the first one down
	local out=$1 alg=$2 c1 c2 in1 out1 in2 out2
	c1=$(grep '^child up:' "$out" | sed -n 1p)
	c2=$(grep '^child up:' "$out" | sed -n 2p)
	[ -n "$c1" ] || nt_fail "no child SA ($out)"
	[ "$(field alg "$c1")" = "$alg" ] || nt_fail "child SA alg $(field alg "$c1"), expected $alg"
	[ "$(field esn "$c1")" = no ] || nt_fail "libipsec has no ESN, yet ESN was chosen"
	echo "$c1" | grep -q ' ts=fd00::a/128 fd00::b/128 ' || nt_fail "bad selectors: $c1"
	in1=$(field spi_in "$c1"); out1=$(field spi_out "$c1")
	check_spis_in_charon "$out" "$in1" "$out1"
	[ -n "$c2" ] || nt_fail "the child SA was not rekeyed ($out)"
	in2=$(field spi_in "$c2"); out2=$(field spi_out "$c2")
	[ "$(field replaces "$c2")" = "$in1" ] || nt_fail "rekeyed child replaces $(field replaces "$c2"), not $in1"
	[ "$(field alg "$c2")" = "$alg" ] || nt_fail "rekeyed child changed algorithm"
	check_spis_in_charon "$out" "$in2" "$out2"
	grep -q "^child down: spi_in=$in1 spi_out=$out1\$" "$out" || nt_fail "old child SA $in1 not deleted"
}

HS=""

# 1. We initiate; strongSwan responds. Rekeys from our side.
ours_initiate() {	# GROUP ESP(aes|chacha) STRONGSWAN_GROUP_NAME ESP_NAME ALG
	local g=$1 esp=$2 gname=$3 ename=$4 alg=$5 out up
	out="$NT_DIR/init-$g-$esp.out"
	sw_conf "aes256gcm16-prfsha256-$gname" "$ename-$gname"
	: >"$NT_DIR/charon-file.log"
	nt_exec us "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1 --peer 192.0.2.2 --initiate \
		--groups "$g" --esp "$esp" --rekey-child 300 --rekey-ike 600 --exit-after 1000 >"$out" 2>&1 ||
		{ cat "$out"; nt_fail "probe (initiator, group $g, $esp) failed"; }
	up=$(grep '^ike up:' "$out") || { cat "$out"; nt_fail "no IKE SA"; }
	[ "$(field group "$up")" = "$g" ] || nt_fail "group $(field group "$up"), expected $g"
	[ "$(field remote-id "$up")" = sun.example.net ] || nt_fail "remote identity: $up"
	[ "$(field mobike "$up")" = yes ] || nt_fail "MOBIKE not negotiated: $up"
	check_children "$out" "$alg"
	grep -q '^ike rekeyed:' "$out" || nt_fail "IKE SA not rekeyed"
	grep -q "IKE_SA probe\[[0-9]*\] rekeyed between" "$NT_DIR/charon-file.log" || nt_fail "strongSwan did not see the IKE rekey"
	grep -q 'retransmits=0 dropped=0' "$out" || { cat "$out"; nt_fail "retransmissions or dropped messages"; }
	# our Delete at exit closed the SA on strongSwan's side too
	nt_wait 3 no_ike_sa ||
		nt_fail "strongSwan still has an IKE SA after our Delete"
	HS="$HS $(sed -n 's/^handshake_ms=//p' "$out")"
	nt_pass "we initiate: group $g, $alg, child rekey, IKE rekey, delete"
}

# 2. strongSwan initiates; we respond. Rekeys from strongSwan's side.
theirs_initiate() {	# GROUP ESP STRONGSWAN_GROUP_NAME ESP_NAME ALG
	local g=$1 esp=$2 gname=$3 ename=$4 alg=$5 out up list pid c1
	sw_conf "aes256gcm16-prfsha256-$gname" "$ename-$gname"
	: >"$NT_DIR/charon-file.log"
	nt_bg us "probe-resp-$g-$esp" "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1 \
		--groups "$g" --esp "$esp" --timeout 20000
	pid=$NT_LAST_PID
	out="$NT_DIR/probe-resp-$g-$esp.log"
	nt_wait 5 grep -q '^listening' "$out" || nt_fail "probe did not start"
	swctl --initiate --child probe --timeout 10 >"$SW/init.out" || true
	grep -q 'initiate completed successfully' "$SW/init.out" || { cat "$SW/init.out"; nt_fail "strongSwan could not initiate"; }
	nt_wait 5 grep -q '^child up:' "$out" || nt_fail "no child SA on our side"
	up=$(grep '^ike up:' "$out")
	[ "$(field group "$up")" = "$g" ] || nt_fail "group $(field group "$up"), expected $g"
	# swanctl's view of the child SA: its "in" SPI is our "out"
	list=$(swctl --list-sas)
	c1=$(grep '^child up:' "$out" | sed -n 1p)
	echo "$list" | grep -q "in  $(field spi_out "$c1")," || nt_fail "swanctl does not list in-SPI $(field spi_out "$c1")"
	echo "$list" | grep -q "out $(field spi_in "$c1")," || nt_fail "swanctl does not list out-SPI $(field spi_in "$c1")"
	swctl --rekey --child probe >"$SW/rekey.out" || true
	grep -q 'rekey completed successfully' "$SW/rekey.out" || { cat "$SW/rekey.out"; nt_fail "child rekey by strongSwan failed"; }
	nt_wait 5 grep -q '^child down:' "$out" || nt_fail "old child SA not deleted after strongSwan's rekey"
	swctl --rekey --ike probe >"$SW/rekey.out" || true
	grep -q 'rekey completed successfully' "$SW/rekey.out" || { cat "$SW/rekey.out"; nt_fail "IKE rekey by strongSwan failed"; }
	nt_wait 5 grep -q '^ike rekeyed:' "$out" || nt_fail "IKE rekey not seen on our side"
	check_children "$out" "$alg"
	# the rekeyed IKE SA still works: strongSwan rekeys the child through it
	swctl --rekey --child probe >"$SW/rekey.out" || true
	grep -q 'rekey completed successfully' "$SW/rekey.out" || nt_fail "child rekey over the new IKE SA failed"
	nt_wait 5 sh -c "[ \$(grep -c '^child up:' '$out') -ge 3 ]" || nt_fail "third child SA missing"
	nt_stop "$pid"
	grep -q 'dropped=0' "$out" || { cat "$out"; nt_fail "dropped messages"; }
	nt_wait 3 no_ike_sa ||
		nt_fail "strongSwan still has an IKE SA after our Delete"
	nt_pass "strongSwan initiates: group $g, $alg, child rekey, IKE rekey, delete"
}

ours_initiate 31 aes x25519 aes256gcm16 aes256gcm16
ours_initiate 19 chacha ecp256 chacha20poly1305 chacha20poly1305
theirs_initiate 31 chacha x25519 chacha20poly1305 chacha20poly1305
theirs_initiate 19 aes ecp256 aes256gcm16 aes256gcm16

# 3. INVALID_KE_PAYLOAD: we offer 31 first, strongSwan wants 19.
sw_conf "aes256gcm16-prfsha256-ecp256" "aes256gcm16-ecp256"
out=$NT_DIR/invalid-ke.out
nt_exec us "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1 --peer 192.0.2.2 --initiate \
	--groups 31,19 --exit-after 100 >"$out" 2>&1 || { cat "$out"; nt_fail "probe failed"; }
[ "$(field group "$(grep '^ike up:' "$out")")" = 19 ] || nt_fail "no retry with group 19 after INVALID_KE_PAYLOAD"
grep -q 'N(INVAL_KE)' "$NT_DIR/charon-file.log" || nt_fail "strongSwan did not ask for another group"
nt_pass "INVALID_KE_PAYLOAD: retried with the group strongSwan wants"

# 4. IPv4 /32 selectors; strongSwan initiates with a wider remote selector, we narrow it (§2.9).
ip -n "$(nt_ns sw)" addr add 10.0.0.2/32 dev lo
sw_conf "aes256gcm16-prfsha256-x25519" "aes256gcm16-x25519" 10.0.0.2/32 10.0.0.0/24
: >"$NT_DIR/charon-file.log"
nt_bg us probe-v4 "$PROBE" --local-id probe.example.net --remote-id sun.example.net --psk "$PSK" \
	--local-ts 10.0.0.1/32 --remote-ts 10.0.0.2/32 --listen 192.0.2.1 --timeout 20000
pid=$NT_LAST_PID
out=$NT_DIR/probe-v4.log
nt_wait 5 grep -q '^listening' "$out" || nt_fail "probe did not start"
swctl --initiate --child probe --timeout 10 >"$SW/init.out"
grep -q 'initiate completed successfully' "$SW/init.out" || { cat "$SW/init.out"; nt_fail "strongSwan could not initiate"; }
nt_wait 5 grep -q '^child up:' "$out" || nt_fail "no child SA on our side"
grep -q '^child up: .* ts=10.0.0.1/32 10.0.0.2/32 ' "$out" || nt_fail "selectors not narrowed: $(grep '^child up' "$out")"
grep -q 'established with SPIs .* and TS 10.0.0.2/32 === 10.0.0.1/32' "$NT_DIR/charon-file.log" ||
	nt_fail "strongSwan did not install the narrowed selectors"
nt_stop "$pid"
nt_pass "IPv4 /32 selectors, strongSwan's 10.0.0.0/24 narrowed to 10.0.0.1/32"

# 5. Port 500: strongSwan (libipsec) reports a NAT to force UDP encapsulation; we move to 4500.
sw_conf "aes256gcm16-prfsha256-x25519" "aes256gcm16-x25519" fd00::b/128 fd00::a/128 500
: >"$NT_DIR/charon-file.log"
out=$NT_DIR/port500.out
nt_exec us "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1:500 --peer 192.0.2.2:500 --initiate \
	--exit-after 200 >"$out" 2>&1 || { cat "$out"; nt_fail "probe failed on port 500"; }
grep -q '^ike up: .* local=192.0.2.1:4500 remote=192.0.2.2:4500 .* nat-remote=yes' "$out" ||
	{ cat "$out"; nt_fail "IKE did not move to 4500 after NAT detection"; }
grep -q 'received packet: from 192.0.2.1\[500\] to 192.0.2.2\[500\]' "$NT_DIR/charon-file.log" ||
	nt_fail "IKE_SA_INIT did not arrive on 500"
grep -q 'received packet: from 192.0.2.1\[4500\] to 192.0.2.2\[4500\]' "$NT_DIR/charon-file.log" ||
	nt_fail "IKE_AUTH did not arrive on 4500"
nt_pass "port 500: IKE_SA_INIT on 500, then 4500 after NAT detection"

# 6. A wrong PSK is refused with AUTHENTICATION_FAILED.
sw_conf "aes256gcm16-prfsha256-x25519" "aes256gcm16-x25519"
: >"$NT_DIR/charon-file.log"
out=$NT_DIR/wrong-psk.out
nt_exec us "$PROBE" $(probe_args) --psk "not the secret" --listen 192.0.2.1 --peer 192.0.2.2 --initiate \
	--exit-after 100 --timeout 3000 >"$out" 2>&1 && nt_fail "the probe came up with a wrong PSK"
grep -q '^ike down: sa=1 reason=authentication failed notify=AUTHENTICATION_FAILED' "$out" ||
	{ cat "$out"; nt_fail "wrong PSK not reported as AUTHENTICATION_FAILED"; }
grep -q "but MAC mismatched" "$NT_DIR/charon-file.log" || nt_fail "strongSwan did not check our AUTH against the PSK"
nt_pass "wrong PSK refused (AUTHENTICATION_FAILED)"

# 7. MOBIKE, our side moves (we are the original initiator, RFC 4555 §3.1).
sw_conf "aes256gcm16-prfsha256-x25519" "aes256gcm16-x25519"
: >"$NT_DIR/charon-file.log"
ip -n "$(nt_ns us)" addr add 192.0.2.3/24 dev eth0
out=$NT_DIR/mobike-ours.out
nt_exec us "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1 --peer 192.0.2.2 --initiate \
	--move-to 192.0.2.3 --move-after 200 --rekey-child 600 --exit-after 1000 >"$out" 2>&1 ||
	{ cat "$out"; nt_fail "probe failed"; }
grep -q '^ike moved: local=192.0.2.3:4500 remote=192.0.2.2:4500' "$out" || { cat "$out"; nt_fail "no MOBIKE move"; }
grep -q 'remote endpoint changed from 192.0.2.1\[4500\] to 192.0.2.3\[4500\]' "$NT_DIR/charon-file.log" ||
	nt_fail "strongSwan did not move the SA to 192.0.2.3"
[ "$(grep -c '^ike up:' "$out")" = 1 ] || nt_fail "a new handshake instead of a move"
# after the move, the SA still carries exchanges (our child rekey, answered at the new address)
grep -q 'replaces=' "$out" && [ "$(grep -c '^child up:' "$out")" -ge 2 ] || nt_fail "no child rekey after the move"
grep -q 'retransmits=0 dropped=0' "$out" || { cat "$out"; nt_fail "retransmissions after the move"; }
ip -n "$(nt_ns us)" addr del 192.0.2.3/24 dev eth0
nt_pass "MOBIKE: our address change moved the SA (UPDATE_SA_ADDRESSES)"

# 8. MOBIKE, strongSwan moves (it is the original initiator).
: >"$NT_DIR/charon-file.log"
nt_bg us probe-mobike-theirs "$PROBE" $(probe_args) --psk "$PSK" --listen 192.0.2.1 --timeout 20000
pid=$NT_LAST_PID
out=$NT_DIR/probe-mobike-theirs.log
nt_wait 5 grep -q '^listening' "$out" || nt_fail "probe did not start"
swctl --initiate --child probe --timeout 10 >"$SW/init.out" || true
nt_wait 5 grep -q '^child up:' "$out" || nt_fail "no child SA"
ip -n "$(nt_ns sw)" addr add 192.0.2.4/24 dev eth0
ip -n "$(nt_ns sw)" addr del 192.0.2.2/24 dev eth0
nt_wait 10 grep -q '^ike moved: local=192.0.2.1:4500 remote=192.0.2.4:4500' "$out" ||
	{ cat "$out"; tail -20 "$NT_DIR/charon-file.log"; nt_fail "strongSwan's MOBIKE update not applied"; }
[ "$(grep -c '^ike up:' "$out")" = 1 ] || nt_fail "a new handshake instead of a move"
swctl --list-sas | grep -q "sun.example.net' @ 192.0.2.4\[4500\]" || nt_fail "strongSwan did not move"
nt_stop "$pid"
ip -n "$(nt_ns sw)" addr add 192.0.2.2/24 dev eth0
nt_pass "MOBIKE: strongSwan's address change moved the SA"

echo "handshake_ms (ours initiating, to strongSwan, from ike_connect to IKE_AUTH done):$HS"
