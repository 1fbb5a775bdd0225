#!/bin/sh
# autotunnel-gwd's RSIP server (TCP 4555 on the LAN) limits what one LAN
# host can hold: at most rsip-max-conns-per-client connections from one
# address (more are closed at once), and a connection that has not
# registered and sends nothing is closed after rsip-idle-timeout, while a
# registered client's connection stays (its bindings follow their leases).
. "${AT_SRC:-$(dirname "$0")/../..}/tests/netns/lib.sh"
nt_setup
nt_topology

GWD=$AT_BUILD/src/autotunnel-gwd/autotunnel-gwd
[ -x "$GWD" ] || nt_fail "$GWD not built"
STATE=$NT_DIR/gwd

# Connections from hostA, their fate printed one line at a time.
cat >"$NT_DIR/conns.py" <<'PY'
import socket, sys, time
SERVER = ("192.168.1.1", 4555)
def conn():
    s = socket.create_connection(SERVER, timeout=2)
    return s
def state(s, wait):
    s.settimeout(wait)
    try:
        d = s.recv(64)
        return "closed" if d == b"" else "data"
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed"
c1, c2, c3 = conn(), conn(), conn()
print("c3 " + state(c3, 1.0))
print("c1 " + state(c1, 0.2) + ", c2 " + state(c2, 0.2))
# RFC 3103 §3.2: REGISTER_REQUEST, version 1, type 2, overall length 4
c1.sendall(bytes([1, 2, 0, 4]))
c1.settimeout(2)
r = c1.recv(2048)
print("c1 register: %s" % ("REGISTER_RESPONSE" if len(r) >= 4 and r[1] == 3 else repr(r[:4])))
time.sleep(float(sys.argv[1]) + 1.5)
print("after idle: c1 " + state(c1, 0.2) + ", c2 " + state(c2, 0.2))
c4 = conn()
print("c4 " + state(c4, 0.5))
PY

nt_bg natA gwd "$GWD" --wan wan0 --lan lan0 --state-dir "$STATE" --log-level debug \
	--rsip-max-conns-per-client 2 --rsip-idle-timeout 2
GWD_PID=$NT_LAST_PID
nt_wait 5 test -S "$STATE/control" || nt_fail "gwd did not start"
nt_wait 5 nt_exec natA sh -c 'ss -ltn | grep -q ":4555 "' || nt_fail "no RSIP listener"

out=$(nt_exec hostA /usr/bin/python3 "$NT_DIR/conns.py" 2)
want="c3 closed
c1 open, c2 open
c1 register: REGISTER_RESPONSE
after idle: c1 open, c2 closed
c4 open"
[ "$out" = "$want" ] || nt_fail "connections from hostA: got
$out
want
$want"
grep -q "rsip: connection from 192.168.1.2 refused: it has 2 open already" "$NT_DIR/gwd.log" ||
	nt_fail "no log of the refused connection"
grep -q "closing the connection (not registered, silent for 2 s)" "$NT_DIR/gwd.log" ||
	nt_fail "no log of the idle connection closed"
nt_pass "RSIP: a 3rd connection from one address closed; a silent unregistered one closed after 2 s, the registered one kept"

kill -TERM "$GWD_PID"
rc=0
wait "$GWD_PID" || rc=$?
[ "$rc" = 0 ] || nt_fail "gwd exited with status $rc"
nt_pass "gwd exited 0"
