#!/usr/bin/python3
"""Connections that try to hold or grow autotunnel-dnsd, from a client
written with Debian's dnspython and plain sockets (issue 13 part 2).

Run by tests/interop/t_dns_abuse_conn.sh inside the test's namespace:

    dns_abuse_conn.py SERVER PORT TLS_PORT PID ALICE_KEY BOB_KEY PER_ADDRESS
                      PER_ACCOUNT IDLE_S READ_S HANDSHAKE_S

PID is the server's (its resident memory is read from /proc/PID/status);
the keys are "alg:name:base64" as `account show --tsig` prints them; the
rest are the limits the server was started with. Each part binds its own
source address in 127.0.0.0/8, so that the per-address limit of one part
does not touch another. Lines starting "check:" are compared by the shell;
the others carry measurements (memory, times) for the log.
"""
import errno
import socket
import struct
import sys
import time

import dns.edns
import dns.message
import dns.rcode
import dns.tsig
import dns.update

ZONE = "members.example.net."
LLQ = 1
SETUP = 1
MiB = 1 << 20


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for %d" % pid)


def parse_key(text):
    alg, name, secret = text.split(":", 2)
    return dns.tsig.Key(name, secret, alg)


def llq_option(llq_id=0, lease=3600):
    return dns.edns.GenericOption(LLQ, struct.pack(">HHHQI", 1, SETUP, 0, llq_id, lease))


def connect(server, port, src, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((server, port))
    return s


def send_tcp(sock, wire):
    sock.sendall(struct.pack(">H", len(wire)) + wire)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_tcp(sock, key=None, request_mac=b""):
    hdr = recv_exact(sock, 2)
    if hdr is None:
        return None
    wire = recv_exact(sock, struct.unpack(">H", hdr)[0])
    if wire is None:
        return None
    kw = {"keyring": {key.name: key}, "request_mac": request_mac} if key else {}
    return dns.message.from_wire(wire, **kw)


def tcp_query(sock, qname="members.example.net.", qtype="SOA"):
    q = dns.message.make_query(qname, qtype)
    send_tcp(sock, q.to_wire())
    r = recv_tcp(sock)
    return r is not None and r.id == q.id and r.rcode() == dns.rcode.NOERROR


def closed_by_server(sock, within):
    """True when the server closes @sock within @within seconds."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except OSError as e:
        return e.errno in (errno.ECONNRESET, errno.EPIPE)


def wait_closed(sock, limit):
    """Seconds until the server closes @sock, or None if it stays open for @limit."""
    t0 = time.monotonic()
    return time.monotonic() - t0 if closed_by_server(sock, limit) else None


def well_behaved(server, port, src):
    """A client that reads its answers is served, over TCP and UDP."""
    try:
        s = connect(server, port, src, timeout=3)
        ok = tcp_query(s)
        s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((src, 0))
        u.settimeout(3)
        q = dns.message.make_query(ZONE, "SOA")
        u.sendto(q.to_wire(), (server, port))
        r = dns.message.from_wire(u.recvfrom(65535)[0])
        u.close()
        return ok and r.id == q.id
    except OSError:
        return False


def pipeline(server, port, pid, total):
    """Queries sent without reading a single answer."""
    q = dns.message.make_query(ZONE, "SOA").to_wire()
    frame = struct.pack(">H", len(q)) + q
    chunk = frame * (MiB // len(frame))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a small window: the server's answers back up at once
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.10", 0))
    s.connect((server, port))
    s.setblocking(False)
    before = rss_kib(pid)
    peak = before
    sent = 0
    served = True
    closed_after = None
    t0 = time.monotonic()
    last_check = t0
    off = 0
    idle_since = None
    while time.monotonic() - t0 < 30:
        progressed = False
        if sent < total:
            try:
                n = s.send(chunk[off:])
                sent += n
                off = (off + n) % len(chunk)
                progressed = n > 0
            except BlockingIOError:
                pass
            except OSError:
                closed_after = time.monotonic() - t0
                break
        now = time.monotonic()
        if now - last_check >= 1.0:
            last_check = now
            peak = max(peak, rss_kib(pid))
            served = well_behaved(server, port, "127.0.0.11") and served
        if progressed:
            idle_since = None
        else:
            idle_since = idle_since or now
            # the server closes a connection that takes no output (tcp-idle);
            # otherwise stop once nothing has moved for 8 s
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed_after = now - t0
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed_after = now - t0
                break
            if now - idle_since > 8 or (sent >= total and now - idle_since > 3):
                break
            time.sleep(0.01)
    peak = max(peak, rss_kib(pid))
    served = well_behaved(server, port, "127.0.0.11") and served
    s.close()
    return before, peak, sent, served, closed_after


def main():
    (server, port, tls_port, pid, alice_text, bob_text, per_address, per_account,
     idle_s, read_s, handshake_s) = sys.argv[1:12]
    port, tls_port, pid = int(port), int(tls_port), int(pid)
    per_address, per_account = int(per_address), int(per_account)
    idle_s, read_s, handshake_s = float(idle_s), float(read_s), float(handshake_s)
    alice, bob = parse_key(alice_text), parse_key(bob_text)

    # 1. Unbounded output: 48 MiB of pipelined queries, no answer read
    total = 48 * MiB
    before, peak, sent, served, closed_after = pipeline(server, port, pid, total)
    grew = (peak - before) / 1024.0
    print("pipelined %.1f MiB of %d MiB; server RSS %.1f MB before, %.1f MB at most (+%.1f MB); "
          "closed by the server after %s" % (sent / MiB, total // MiB, before / 1024.0, peak / 1024.0,
                                             grew, "%.1f s" % closed_after if closed_after else "never"))
    print("check: pipelining server grew under 24 MB:", grew < 24)
    print("check: well-behaved client answered during the flood:", served)
    print("check: flooding connection closed:", closed_after is not None)

    # 2. Connections per address
    # (each check well within tcp-idle, which would close any of them)
    kept = [connect(server, port, "127.0.0.20") for _ in range(per_address)]
    extra = [connect(server, port, "127.0.0.20") for _ in range(2)]
    print("check: the first %d answered:" % per_address, all(tcp_query(k) for k in kept))
    print("check: extra connections from one address closed:",
          all(closed_by_server(e, idle_s / 3) for e in extra))
    other = connect(server, port, "127.0.0.21")
    print("check: another address served meanwhile:", tcp_query(other))
    other.close()
    kept.pop().close()
    time.sleep(0.3)
    again = connect(server, port, "127.0.0.20")
    print("check: one closed, one more accepted:", tcp_query(again))
    for k in kept + [again] + extra:
        k.close()

    # 3. Idle timeout: an unsigned LLQ keeps nothing open, a signed one does
    unsigned = connect(server, port, "127.0.0.30")
    q = dns.message.make_query("public.members.example.net.", "A", use_edns=0, payload=1232,
                               options=[llq_option()])
    send_tcp(unsigned, q.to_wire())
    r = recv_tcp(unsigned)
    print("check: unsigned LLQ set up:", r is not None and dns.rcode.to_text(r.rcode()))
    signed = connect(server, port, "127.0.0.31")
    q = dns.message.make_query("h1.alice.members.example.net.", "A", use_edns=0, payload=1232,
                               options=[llq_option()])
    q.use_tsig(alice)
    send_tcp(signed, q.to_wire())
    r = recv_tcp(signed, alice, q.mac)
    print("check: signed LLQ set up:", r is not None and dns.rcode.to_text(r.rcode()))
    t_set = time.monotonic()
    t = wait_closed(unsigned, idle_s * 3)
    print("unsigned LLQ connection closed after %s (tcp-idle %.0f s)" %
          ("%.1f s" % t if t is not None else "never", idle_s))
    print("check: unsigned LLQ connection closed at the idle timeout:",
          t is not None and idle_s - 0.5 <= t <= idle_s + 2)
    t = wait_closed(signed, idle_s * 1.5)
    print("signed LLQ connection open after %.1f s" % (time.monotonic() - t_set))
    print("check: signed LLQ connection still open after twice the idle timeout:",
          t is None and time.monotonic() - t_set > 2 * idle_s)
    signed.settimeout(5)
    print("check: and answered:", tcp_query(signed))
    signed.close()
    unsigned.close()

    # 4. A TLS handshake that never ends: a byte every 0.5 s keeps any idle timeout away
    hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(500)
    s = connect(server, tls_port, "127.0.0.40")
    t0 = time.monotonic()
    closed = None
    for b in hello:
        try:
            s.send(bytes([b]))
        except OSError:
            closed = time.monotonic() - t0
            break
        if closed_by_server(s, 0.5):
            closed = time.monotonic() - t0
            break
        if time.monotonic() - t0 > handshake_s + idle_s + 5:
            break
    s.close()
    print("slow TLS handshake closed after %s (tls-handshake-timeout %.0f s)" %
          ("%.1f s" % closed if closed is not None else "never", handshake_s))
    print("check: slow TLS handshake closed at its timeout:",
          closed is not None and handshake_s - 0.5 <= closed <= handshake_s + 2)

    # 5. Slow loris: a message announced, then a byte every 0.5 s
    s = connect(server, port, "127.0.0.50")
    s.send(struct.pack(">H", 512))
    t0 = time.monotonic()
    closed = None
    for _ in range(512):
        try:
            s.send(b"\0")
        except OSError:
            closed = time.monotonic() - t0
            break
        if closed_by_server(s, 0.5):
            closed = time.monotonic() - t0
            break
        if time.monotonic() - t0 > read_s + idle_s + 5:
            break
    s.close()
    print("partial message closed after %s (tcp-read-timeout %.0f s)" %
          ("%.1f s" % closed if closed is not None else "never", read_s))
    print("check: partial message closed at the read timeout:",
          closed is not None and read_s - 0.5 <= closed <= read_s + 2)

    # 6. Connections per account: each from its own address, signed by bob
    conns = []
    answered = 0
    for i in range(per_account + 1):
        c = connect(server, port, "127.0.1.%d" % (i + 1))
        u = dns.update.UpdateMessage(ZONE)
        u.add("c%d.bob.members.example.net." % i, 300, "A", "192.0.2.%d" % (i + 1))
        u.use_tsig(bob)
        send_tcp(c, u.to_wire())
        r = recv_tcp(c, bob, u.mac)
        answered += r is not None and r.rcode() == dns.rcode.NOERROR
        conns.append(c)
    print("check: all %d signed updates answered:" % (per_account + 1), answered == per_account + 1)
    print("check: the connection past the account's limit closed:",
          closed_by_server(conns[-1], idle_s / 3))
    print("check: the others kept:", all(tcp_query(c) for c in conns[:-1]))
    for c in conns:
        c.close()

    # 7. LLQ events for a client that reads nothing: once its output is full
    # the connection goes (each update replaces a 20 KB TXT set: an event of
    # 40 KB, old records removed and new ones added)
    name = "big.alice.members.example.net."
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.60", 0))
    s.settimeout(5)
    s.connect((server, port))
    q = dns.message.make_query(name, "TXT", use_edns=0, payload=1232, options=[llq_option()])
    q.use_tsig(alice)
    send_tcp(s, q.to_wire())
    r = recv_tcp(s, alice, q.mac)
    print("check: signed LLQ on a TXT set up:", r is not None and dns.rcode.to_text(r.rcode()))
    upd = connect(server, port, "127.0.0.61")
    ok = 0
    t0 = time.monotonic()
    for i in range(24):
        u = dns.update.UpdateMessage(ZONE)
        u.replace(name, 300, "TXT", " ".join('"%03d%03d%s"' % (i, j, "x" * 240) for j in range(80)))
        u.use_tsig(alice)
        send_tcp(upd, u.to_wire())
        r = recv_tcp(upd, alice, u.mac)
        ok += r is not None and r.rcode() == dns.rcode.NOERROR
    upd.close()
    print("24 updates of 20 KB in %.1f s" % (time.monotonic() - t0))
    print("check: 24 updates answered:", ok == 24)
    # reading now cannot save it: it is closed already, or the reading empties its output
    print("check: the watcher that read nothing was closed:", closed_by_server(s, 3))
    s.close()


if __name__ == "__main__":
    main()
