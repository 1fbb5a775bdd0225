#!/bin/sh
# Connections that try to hold or grow autotunnel-dnsd (issue 13 part 2),
# driven by tests/interop/dns_abuse_conn.py (dnspython and plain sockets):
# 48 MiB of pipelined queries never read (the server's memory stays flat
# and another client is answered), more connections than one address may
# open, an unsigned LLQ left idle (closed) beside a signed one (kept), a TLS
# handshake and a message that never complete, LLQ events for a watcher that
# reads nothing (closed once its output is full). Short timeouts keep it quick.
. "${AT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
nt_setup
. "$AT_SRC/tests/interop/dns_lib.sh"
PER_ADDRESS=8
PER_ACCOUNT=3
IDLE=3
READ=2
HANDSHAKE=2

echo 'alice password' | dnsd account add alice
echo 'bob password' | dnsd account add bob
dnsd_start dnsd --tls-port 8853 \
	--tcp-per-address $PER_ADDRESS --tcp-per-account $PER_ACCOUNT --tcp-idle $IDLE \
	--tcp-read-timeout $READ --tls-handshake-timeout $HANDSHAKE

nt_exec dns /usr/bin/python3 "$AT_SRC/tests/interop/dns_abuse_conn.py" 127.0.0.1 5353 8853 "$DNSD_PID" \
	"$(dnsd account show alice --tsig)" "$(dnsd account show bob --tsig)" \
	$PER_ADDRESS $PER_ACCOUNT $IDLE $READ $HANDSHAKE >"$NT_DIR/abuse.out" 2>&1 ||
	{ cat "$NT_DIR/abuse.out"; nt_fail "dns_abuse_conn.py failed"; }
grep -v '^check: ' "$NT_DIR/abuse.out"

cat >"$NT_DIR/abuse.expected" <<OUT
check: pipelining server grew under 24 MB: True
check: well-behaved client answered during the flood: True
check: flooding connection closed: True
check: the first $PER_ADDRESS answered: True
check: extra connections from one address closed: True
check: another address served meanwhile: True
check: one closed, one more accepted: True
check: unsigned LLQ set up: NXDOMAIN
check: signed LLQ set up: NXDOMAIN
check: unsigned LLQ connection closed at the idle timeout: True
check: signed LLQ connection still open after twice the idle timeout: True
check: and answered: True
check: slow TLS handshake closed at its timeout: True
check: partial message closed at the read timeout: True
check: all $((PER_ACCOUNT + 1)) signed updates answered: True
check: the connection past the account's limit closed: True
check: the others kept: True
check: signed LLQ on a TXT set up: NXDOMAIN
check: 24 updates answered: True
check: the watcher that read nothing was closed: True
OUT
grep '^check: ' "$NT_DIR/abuse.out" >"$NT_DIR/abuse.checks"
if ! diff -u "$NT_DIR/abuse.expected" "$NT_DIR/abuse.checks"; then
	nt_fail "abuse client output differs"
fi
nt_pass "output bounded, connections per address and account, idle, handshake and read timeouts"

stat() { dnsd stats | sed -n "s/^$1 //p"; }
dnsd stats | grep -E '^(tcp|tls)_' || true
[ "$(stat tcp_refused_per_address)" -ge 2 ] || nt_fail "tcp_refused_per_address is $(stat tcp_refused_per_address)"
[ "$(stat tcp_closed_per_account)" = 1 ] || nt_fail "tcp_closed_per_account is $(stat tcp_closed_per_account)"
[ "$(stat tcp_read_paused)" -ge 1 ] || nt_fail "tcp_read_paused is $(stat tcp_read_paused)"
[ "$(stat tcp_closed_write_stalled)" -ge 1 ] || nt_fail "tcp_closed_write_stalled is $(stat tcp_closed_write_stalled)"
[ "$(stat tcp_closed_idle)" -ge 1 ] || nt_fail "tcp_closed_idle is $(stat tcp_closed_idle)"
[ "$(stat tls_closed_handshake_timeout)" = 1 ] || nt_fail "tls_closed_handshake_timeout is $(stat tls_closed_handshake_timeout)"
[ "$(stat tcp_closed_output_full)" = 1 ] || nt_fail "tcp_closed_output_full is $(stat tcp_closed_output_full)"
[ "$(stat tcp_closed_slow_read)" = 1 ] || nt_fail "tcp_closed_slow_read is $(stat tcp_closed_slow_read)"
nt_pass "limit counters"
