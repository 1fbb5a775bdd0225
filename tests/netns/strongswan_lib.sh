# A private strongSwan charon (kernel-libipsec: user-space ESP over TUN) for
# the shell tests; source it after tests/netns/lib.sh. Not a test itself.
# One charon at a time is addressed through two variables, which a script
# may set before each call when it runs more than one:
#   SS_CONF  its strongswan.conf (default $NT_DIR/ss.conf)
#   SS_VICI  its vici socket (default $NT_DIR/charon.vici)
# ss_start leaves the charon's pid in SS_PID.
SS_CHARON=/usr/lib/ipsec/charon
SS_CONF=${SS_CONF:-$NT_DIR/ss.conf}
SS_VICI=${SS_VICI:-$NT_DIR/charon.vici}
# the plugins an explicit "load" list needs for PSK, x25519/ecp, AES-GCM,
# ChaCha20-Poly1305, libipsec and vici
SS_PLUGINS="random nonce openssl gcm aes sha1 sha2 hmac gmp curve25519 chapoly kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici"

# ss_require [PLUGIN...]: skip the test (77) unless charon, swanctl and each
# libstrongswan-PLUGIN are installed
ss_require() {
	local p
	[ -x "$SS_CHARON" ] && command -v swanctl >/dev/null || { echo "SKIP: strongSwan charon/swanctl not installed"; exit 77; }
	for p in "$@"; do
		[ -f /usr/lib/ipsec/plugins/libstrongswan-$p.so ] ||
			{ echo "SKIP: strongSwan plugin $p missing (scripts/deps-test.txt)"; exit 77; }
	done
}

# ss_conf LOAD LOG IKE_LEVEL [SETTING...]: write $SS_CONF. LOAD is the list of
# plugins to load, or "modular" for Debian's own set (strongswan.d) plus
# kernel-libipsec; LOG the file charon logs to (default level 1, IKE_LEVEL
# for "ike" unless empty, kept in SS_LOG); each SETTING one more line of the
# charon section.
ss_conf() {
	local load=$1 log=$2 ike=$3 s
	shift 3
	SS_LOG=$log
	{
		echo "charon {"
		if [ "$load" = modular ]; then
			printf '\tload_modular = yes\n'
		else
			printf '\tload = %s\n' "$load"
		fi
		for s in "$@"; do printf '\t%s\n' "$s"; done
		printf '\tfilelog {\n\t\tcharon {\n\t\t\tpath = %s\n\t\t\tdefault = 1\n' "$log"
		[ -z "$ike" ] || printf '\t\t\tike = %s\n' "$ike"
		printf '\t\t\tflush_line = yes\n\t\t}\n\t}\n'
		printf '\tplugins {\n'
		[ "$load" != modular ] || printf '\t\tinclude /etc/strongswan.d/charon/*.conf\n\t\tkernel-libipsec { load = yes }\n'
		printf '\t\tvici {\n\t\t\tsocket = unix://%s\n\t\t}\n\t}\n}\n' "$SS_VICI"
	} >"$SS_CONF"
}

# ss_ctl COMMAND [OPTION...]: swanctl against this charon (the command first,
# then its options: swanctl insists); its output and status as they are
ss_ctl() {
	local cmd=$1
	shift
	STRONGSWAN_CONF="$SS_CONF" swanctl "$cmd" --uri "unix://$SS_VICI" "$@"
}
# ss_out COMMAND [OPTION...]: the same, stderr merged, the plugin loader's
# "failed to load" noise dropped, the status ignored
ss_out() { ss_ctl "$@" 2>&1 | grep -v 'failed to load' || true; }

# ss_launch HOST NAME: start charon in HOST's namespace with a /run of its own
# (charon writes /var/run/charon.pid there), its log in $NT_DIR/NAME.log
ss_launch() {
	rm -f "$SS_VICI"
	nt_bg "$1" "$2" env STRONGSWAN_CONF="$SS_CONF" unshare -m sh -c \
		"mount -t tmpfs tmpfs /run && exec $SS_CHARON"
	SS_PID=$NT_LAST_PID
}
# ss_ready: wait until the charon answers on its vici socket
ss_ready() { nt_wait 10 test -S "$SS_VICI" && nt_wait 5 ss_ctl --stats; }

# ss_start HOST [SWANCTL_CONF CONNECTION]: ss_launch (NAME charon), wait for
# it, and load SWANCTL_CONF, which must define CONNECTION
ss_start() {
	ss_launch "$1" charon
	ss_ready || nt_fail "charon did not start"
	[ $# -lt 3 ] || ss_load "$2" "$3"
}
# ss_load SWANCTL_CONF CONNECTION: (re)load connections and secrets
ss_load() {
	ss_out --load-all --file "$1" >"$NT_DIR/load.out"
	grep -q "loaded connection '$2'" "$NT_DIR/load.out" || nt_fail "swanctl could not load '$2': $(cat "$NT_DIR/load.out")"
}

# autotunneld as a (192.0.2.1, fd00:a::1, a.alice) and charon as b
# (192.0.2.2, fd00:b::1, b.alice) on the pair of pair_lib.sh: the set-up the
# strongSwan tunnel tests share.

# ss_pair_setup: autotunneld built, the pair (pair_setup), and fd00:b::1 on
# b's loopback for charon's end of the child
ss_pair_setup() {
	[ -x "$D" ] || nt_fail "no $D (build first)"
	pair_setup
	nt_exec b ip addr add fd00:b::1/128 dev lo
}

# ss_a_conf [LINE...]: $NT_DIR/a.conf, autotunneld as a with [peer b] over
# UDP port 4500 to fd00:b::1/128, no connect on start; each LINE one more
# line of [peer b] (its authentication, its algorithms)
ss_a_conf() {
	local l
	{
		printf '[tunnel]\nula = fd00:a::1\nworkers = 2\nlocal-id = a.alice.members.example.net\n\n'
		printf '[peer b]\nremote = 192.0.2.2:4500\nremote-id = b.alice.members.example.net\n'
		printf 'remote-ts = fd00:b::1/128\nconnect = no\n'
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$NT_DIR/a.conf"
}

# ss_swanctl FILE AUTH IKE_PROPOSALS ESP_PROPOSALS START_ACTION [CHILD_LINE...]:
# a swanctl.conf with the connection "ours", charon as b to a, UDP
# encapsulation forced, one child fd00:b::1/128 <-> fd00:a::1/128, each
# CHILD_LINE one more line of it. AUTH psk: the secret of $NT_DIR/psk;
# pubkey: charon's certificate b.crt, a's CA ca.crt (from the x509 and x509ca
# directories next to FILE).
ss_swanctl() {
	local file=$1 auth=$2 ike=$3 esp=$4 start=$5 l
	shift 5
	{
		printf 'connections {\n\tours {\n\t\tversion = 2\n'
		printf '\t\tlocal_addrs = 192.0.2.2\n\t\tremote_addrs = 192.0.2.1\n\t\tencap = yes\n'
		printf '\t\tproposals = %s\n' "$ike"
		printf '\t\tlocal { auth = %s\n' "$auth"
		[ "$auth" != pubkey ] || printf '\t\t\tcerts = b.crt\n'
		printf '\t\t\tid = b.alice.members.example.net }\n'
		printf '\t\tremote { auth = %s\n' "$auth"
		[ "$auth" != pubkey ] || printf '\t\t\tcacerts = ca.crt\n'
		printf '\t\t\tid = a.alice.members.example.net }\n'
		printf '\t\tchildren {\n\t\t\tours {\n'
		printf '\t\t\t\tlocal_ts = fd00:b::1/128\n\t\t\t\tremote_ts = fd00:a::1/128\n'
		printf '\t\t\t\tesp_proposals = %s\n\t\t\t\tstart_action = %s\n' "$esp" "$start"
		for l in "$@"; do printf '\t\t\t\t%s\n' "$l"; done
		printf '\t\t\t}\n\t\t}\n\t}\n}\n'
		[ "$auth" != psk ] || printf 'secrets { ike-ours { id-1 = a.alice.members.example.net\n\tid-2 = b.alice.members.example.net\n\tsecret = "%s" } }\n' "$(cat "$NT_DIR/psk")"
	} >"$file"
}

# ss_atd_start NAME: autotunneld -c $NT_DIR/a.conf in a, its log
# $NT_DIR/NAME.log in LOG and its pid in PID_A; waits for its "up" line
ss_atd_start() {
	LOG=$NT_DIR/$1.log
	nt_bg a "$1" "$D" -c "$NT_DIR/a.conf"
	PID_A=$NT_LAST_PID
	nt_wait 5 grep -q "^autotunneld: up:" "$LOG" || nt_fail "$1: autotunneld did not come up: $(cat "$LOG")"
}

# ss_pair_start DIRECTION SWANCTL_CONF: the next run (RUN counts them):
# charon's log (SS_LOG) emptied, autotunneld (ss_atd_start daRUN), then
# charon (charonRUN, pid in PID_C) with the connection "ours" of
# SWANCTL_CONF. DIRECTION "we": our first packet starts IKE; "they": charon
# initiates (start_action start).
ss_pair_start() {
	RUN=$((${RUN:-0} + 1))
	: >"$SS_LOG"
	ss_atd_start "da$RUN"
	ss_launch b "charon$RUN"
	PID_C=$SS_PID
	ss_ready || nt_fail "run $RUN: charon did not start"
	ss_load "$2" ours
	[ "$1" = they ] || nt_exec a ping -6 -c 1 -W 5 fd00:b::1 >/dev/null 2>&1 || true
}

# ss_pair_stop: stop the autotunneld and the charon of ss_pair_start, if running
ss_pair_stop() {
	[ -z "${PID_A:-}" ] || nt_stop "$PID_A"
	[ -z "${PID_C:-}" ] || nt_stop "$PID_C"
	PID_A= PID_C=
}

# ss_sa_check LABEL STATE ALGS: charon lists an SA in STATE (ESTABLISHED for
# the IKE SA, INSTALLED for a child) and one with ALGS (its own spelling,
# e.g. AES_GCM_16-256); the list stays in $NT_DIR/sasRUN
ss_sa_check() {
	local f=$NT_DIR/sas${RUN:-}
	ss_ctl --list-sas >"$f" 2>&1
	grep -q "$2" "$f" && grep -q "$3" "$f" || nt_fail "$1: strongSwan lists no $2 SA with $3: $(cat "$f")"
}

# ss_traffic LABEL SINK: three pings from a to fd00:b::1, then $NT_DIR/blob
# over TCP through the tunnel (pair_tcp SINK)
ss_traffic() {
	nt_exec a ping -6 -c 3 -i 0.2 -W 3 fd00:b::1 >"$NT_DIR/ping6" || nt_fail "$1: ping6 fd00:b::1 failed"
	pair_tcp "$2" "$1"
}

# ss_cert_run LABEL DIRECTION SWANCTL_CONF SIGNATURE [NAME]: ss_pair_start
# DIRECTION SWANCTL_CONF with both ends set up for certificates, then the
# checks that they were used: a child SA, our log saying the peer was
# authenticated by certificate, charon saying it checked our signature with
# SIGNATURE (its name for the scheme; NAME, default SIGNATURE, in the
# messages), and ss_traffic (the callers' blob is 1 MB)
ss_cert_run() {
	local name=${5:-$4}
	ss_pair_start "$2" "$3"
	nt_wait 15 grep -q "peer b: child SA up" "$LOG" || nt_fail "$1: no child SA: $(tail -5 "$LOG")"
	grep -q "peer b: IKE SA up with b.alice.members.example.net at .*, authenticated by certificate" "$LOG" ||
		nt_fail "$1: our log does not say certificate: $(grep 'IKE SA' "$LOG")"
	grep -q "authentication of 'a.alice.members.example.net' with $4 successful" "$NT_DIR/charon.log" ||
		nt_fail "$1: strongSwan did not check our $name signature: $(grep 'authentication of' "$NT_DIR/charon.log")"
	ss_traffic "$1" "sink$RUN"
	nt_pass "$1: strongSwan checked our $name signature, we checked its certificate; ping6 and 1 MB TCP"
}
