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
# for "ike" unless empty); each SETTING one more line of the charon section.
ss_conf() {
	local load=$1 log=$2 ike=$3 s
	shift 3
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
