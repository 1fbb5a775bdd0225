# tests/netns/sso_lib.sh: both ends of a Kerberos single sign-on over the
# tunnel, an OpenSSH server that accepts GSSAPI logins only and a client
# that finds it by libnss_autotunnel, for scripts/demo.sh (and meant for
# t_sso.sh too). Source it after lib.sh and nt_setup. Not a test itself.

# sso_sshd HOST ULA KRB5_CONF: sshd in HOST listening on [ULA]:22 (nt_bg
# sshd, log $NT_DIR/sshd.log), with a fresh host key, no passwords and no
# public keys, reading its keytab and realms through KRB5_CONF; waits until it
# listens. GSSAPIStrictAcceptorCheck off: a ticket for any host principal
# in the keytab is accepted, not only the one named by the namespace's
# hostname (sshd_config(5)).
sso_sshd() {
	mkdir -p "$NT_DIR/sshd" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$NT_DIR/sshd/hostkey"
	cat >"$NT_DIR/sshd/sshd_config" <<CONF
ListenAddress $2
Port 22
HostKey $NT_DIR/sshd/hostkey
PidFile $NT_DIR/sshd/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication yes
GSSAPIStrictAcceptorCheck no
AuthorizedKeysFile none
CONF
	nt_bg "$1" sshd env KRB5_CONFIG="$3" /usr/sbin/sshd -D -e -f "$NT_DIR/sshd/sshd_config"
	nt_wait 10 nt_exec "$1" sh -c "ss -ltn | grep -q '\[$2\]:22 '" || nt_fail "sshd did not start: $(cat "$NT_DIR/sshd.log")"
}

# sso_run HOST CCACHE CMD...: CMD in HOST with HOST's krb5.conf (the agent's,
# $NT_DIR/HOST/run/krb5.conf), the private ticket cache CCACHE, and names
# resolved by libnss_autotunnel from HOST's hosts cache: the nsswitch.conf
# $NT_DIR/nsswitch.conf (hosts: files autotunnel) is bound over
# /etc/nsswitch.conf in a mount namespace of CMD's own (exit 99 if it cannot be)
sso_run() {
	local host=$1 cc=$2
	shift 2
	nt_exec "$host" unshare -m sh -c '
		mount --bind "$1" /etc/nsswitch.conf || exit 99
		shift
		exec "$@"' _ "$NT_DIR/nsswitch.conf" \
		env LD_LIBRARY_PATH="$AT_BUILD/src/nss" AUTOTUNNEL_HOSTS="$NT_DIR/$host/run/hosts" \
		KRB5_CONFIG="$NT_DIR/$host/run/krb5.conf" KRB5CCNAME="FILE:$cc" "$@"
}
