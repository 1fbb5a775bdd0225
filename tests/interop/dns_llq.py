#!/usr/bin/python3
"""An LLQ client (RFC 8764, as RFC 6281 section 5.3 uses it) written with
Debian's dnspython, to prove autotunnel-dnsd against code nobody here wrote
the server side of. Changes are made with BIND's nsupdate.

Run by tests/interop/t_dns_llq.sh inside the test's namespace:

    dns_llq.py SERVER PORT ALICE_KEY BOB_KEY LEASE_S TLS_PORT TLS_CERT

ALICE_KEY and BOB_KEY are "alg:name:base64" as `account show --tsig` prints
them; LEASE_S is a short update lease the server grants (its lease-min is
at most that); nsupdate's updates carry no lease option and get the longest.
TLS_CERT is the server's self-signed certificate, trusted as the only CA
for DNS over TLS (RFC 7858) to the server name ns.members.example.net. Every step prints one
line; the shell compares the whole output with what it expects.
"""
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.query
import dns.update

LLQ = 1
SETUP, REFRESH, EVENT = 1, 2, 3
ERRORS = {0: "NOERROR", 1: "SERVFULL", 2: "STATIC", 3: "FORMERR", 4: "NOSUCHLLQ",
          5: "BADVERS", 6: "UNKNOWNERR"}
REMOVED = 0xFFFFFFFF


def parse_key(text):
    alg, name, secret = text.split(":", 2)
    return dns.tsig.Key(name, secret, alg)


def llq_option(op, err, llq_id, lease):
    return dns.edns.GenericOption(LLQ, struct.pack(">HHHQI", 1, op, err, llq_id, lease))


def llq_of(msg):
    for opt in msg.options:
        if opt.otype == LLQ:
            return struct.unpack(">HHHQI", opt.data)
    raise SystemExit("no LLQ option in %s" % msg)


def skip_name(wire, off):
    while True:
        n = wire[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def answer_ttls(wire):
    """The TTLs of the answer section as sent: dnspython reads TTLs with the
    top bit set as 0 (RFC 2181), but an LLQ removal is TTL 0xFFFFFFFF."""
    qd, an = struct.unpack(">HH", wire[4:8])
    off = 12
    for _ in range(qd):
        off = skip_name(wire, off) + 4
    ttls = []
    for _ in range(an):
        off = skip_name(wire, off)
        _, _, ttl, rdlen = struct.unpack(">HHIH", wire[off:off + 10])
        ttls.append(ttl)
        off += 10 + rdlen
    return ttls


def addresses(msg):
    out = []
    ttls = answer_ttls(msg.wire) if getattr(msg, "wire", None) else []
    i = 0
    for rrset in msg.answer:
        for rd in rrset:
            ttl = ttls[i] if i < len(ttls) else rrset.ttl
            i += 1
            out.append("%s ttl %s" % (rd.to_text(), "removed" if ttl == REMOVED else ttl))
    return ", ".join(sorted(out)) or "none"


def parse(wire, **kw):
    m = dns.message.from_wire(wire, one_rr_per_rrset=True, **kw)
    m.wire = wire
    return m


class Client:
    def __init__(self, server, port, key):
        self.server = (server, port)
        self.key = key
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.acked = set()

    def query(self, qname, op, llq_id, lease, key="own", timeout=3.0):
        if key == "own":
            key = self.key
        q = dns.message.make_query(qname, "A", use_edns=0, payload=1232, flags=0,
                                   options=[llq_option(op, 0, llq_id, lease)])
        if key:
            q.use_tsig(key)
        self.sock.settimeout(timeout)
        self.sock.sendto(q.to_wire(), self.server)
        while True:
            wire, _ = self.sock.recvfrom(65535)
            r = parse(wire, keyring=key and {key.name: key}, request_mac=q.mac if key else b"")
            if r.id == q.id:
                return r

    def event(self, timeout):
        """The next gratuitous response (an LLQ event), or None. A
        retransmission of an event already acknowledged (our ack was late
        or lost: RFC 8764 section 6.2) is acknowledged again and skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                wire, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            # events of a private LLQ are signed with the account's key as a request is
            ev = parse(wire, keyring={self.key.name: self.key})
            if (ev.id, str(ev.answer)) in self.acked:
                self.ack(ev)
                continue
            return ev

    def ack(self, ev, sock=None):
        """RFC 8764 section 6.2: a response with the event's id and LLQ option."""
        _, _, _, llq_id, lease = llq_of(ev)
        if sock is None:
            self.acked.add((ev.id, str(ev.answer)))
        a = dns.message.Message(id=ev.id)
        a.flags = dns.flags.QR
        a.use_edns(0, 0, 1232, options=[llq_option(EVENT, 0, llq_id, lease)])
        if sock is None:
            self.sock.sendto(a.to_wire(), self.server)
        else:
            send_tcp(sock, a.to_wire())


def send_tcp(sock, wire):
    sock.sendall(struct.pack(">H", len(wire)) + wire)


def recv_tcp(sock, key, request_mac=b"", timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    while len(buf) < 2:
        chunk = sock.recv(2 - len(buf))
        if not chunk:
            return None
        buf += chunk
    n = struct.unpack(">H", buf)[0]
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return parse(buf, keyring={key.name: key}, request_mac=request_mac)


def nsupdate(server, port, keytext, lines):
    script = "server %s %d\nzone members.example.net\n%s\nsend\n" % (server, port, "\n".join(lines))
    p = subprocess.run(["nsupdate", "-y", keytext], input=script, text=True,
                       capture_output=True, timeout=20)
    if p.returncode != 0:
        raise SystemExit("nsupdate failed: %s %s" % (p.stdout, p.stderr))


def main():
    server, port, alice_text, bob_text, lease_s, tls_port, cert = sys.argv[1:8]
    port, lease_s, tls_port = int(port), int(lease_s), int(tls_port)
    alice, bob = parse_key(alice_text), parse_key(bob_text)
    name = "h1.alice.members.example.net."
    c = Client(server, port, alice)

    # Privacy (RFC 6281 section 7.2): no LLQ on account data without its key
    r = c.query(name, SETUP, 0, 3600, key=None)
    print("unsigned setup:", dns.rcode.to_text(r.rcode()))
    r = Client(server, port, bob).query(name, SETUP, 0, 3600)
    print("setup with another account's key:", dns.rcode.to_text(r.rcode()))

    # The UDP four-way handshake (RFC 8764 section 5.2)
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.1" % name])
    r = c.query(name, SETUP, 0, 3600)
    _, op, err, llq_id, lease = llq_of(r)
    print("challenge: op %d %s id %s lease %d answers %d" % (
        op, ERRORS[err], "nonzero" if llq_id else "zero", lease, len(r.answer)))
    r = c.query(name, SETUP, llq_id, 3600)
    _, op, err, ack_id, lease = llq_of(r)
    print("ack: op %d %s same id %s lease %d answers %s" % (
        op, ERRORS[err], ack_id == llq_id, lease, addresses(r)))
    # a short lease is raised to the minimum (RFC 6281 section 5.3: 15 minutes)
    r = c.query("h2.alice.members.example.net.", SETUP, 0, 60)
    print("lease 60 granted as", llq_of(r)[4])

    # Reflection: an LLQ stays bound to the address that answered its
    # challenge. The account holder sends the same id from another address
    # (here another port; on the Internet a spoofed source): it moves nothing,
    # and a challenge answered from elsewhere never makes an LLQ there.
    other = Client(server, port, alice)
    r = other.query(name, REFRESH, llq_id, 3600)
    print("refresh from another address:", ERRORS[llq_of(r)[2]])
    h3 = "h3.alice.members.example.net."
    cid = llq_of(c.query(h3, SETUP, 0, 3600))[3]
    r = other.query(h3, SETUP, cid, 3600)
    print("challenge answered from another address:", ERRORS[llq_of(r)[2]])
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.7" % h3])
    ev = other.event(1.5)
    print("events at the other address:", "none" if ev is None else addresses(ev))

    # Events for changes made by nsupdate
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.2" % name])
    ev = c.event(5)
    print("event: %s id match %s answers %s" % (
        ERRORS[llq_of(ev)[2]], llq_of(ev)[3] == llq_id, addresses(ev)))
    c.ack(ev)
    nsupdate(server, port, alice_text, ["update delete %s A 192.0.2.1" % name])
    ev = c.event(5)
    print("event:", addresses(ev))
    c.ack(ev)
    # a pure refresh of an existing record changes nothing: no event
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.2" % name])
    ev = c.event(1.5)
    print("event after a refresh:", "none" if ev is None else addresses(ev))

    # Lease expiry: an update with a short Update Lease (RFC 9664); the record
    # goes within a second of its lease, and the LLQ hears it
    u = dns.update.UpdateMessage("members.example.net.")
    u.add(name, 300, "A", "192.0.2.3")
    u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", lease_s))])
    u.use_tsig(alice)
    t0 = time.monotonic()
    r = dns.query.udp(u, server, port=port, timeout=5)
    granted = [struct.unpack(">I", o.data[:4])[0] for o in r.options if o.otype == 2]
    print("update with lease %d: %s, granted %s" % (lease_s, dns.rcode.to_text(r.rcode()), granted))
    ev = c.event(5)
    print("event:", addresses(ev))
    c.ack(ev)
    ev = c.event(lease_s + 4)
    dt = time.monotonic() - t0
    if ev is not None:
        c.ack(ev)
    print("expiry event:", addresses(ev) if ev is not None else "none",
          "in time" if lease_s - 0.5 <= dt <= lease_s + 1.5 else "after %.1f s" % dt)

    # Refresh and cancel (RFC 8764 section 7)
    r = c.query(name, REFRESH, llq_id, 100000)
    print("refresh: %s lease %d" % (ERRORS[llq_of(r)[2]], llq_of(r)[4]))
    r = c.query(name, REFRESH, llq_id, 0)
    print("cancel: %s lease %d" % (ERRORS[llq_of(r)[2]], llq_of(r)[4]))
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.4" % name])
    ev = c.event(1.5)
    print("event after cancel:", "none" if ev is None else addresses(ev))
    r = c.query(name, REFRESH, llq_id, 3600)
    print("refresh after cancel:", ERRORS[llq_of(r)[2]])

    # An event never acknowledged: 3 transmissions with back-off, then the LLQ is gone
    r = c.query(name, SETUP, 0, 3600)
    lid = llq_of(r)[3]
    c.query(name, SETUP, lid, 3600)
    nsupdate(server, port, alice_text, ["update delete %s A 192.0.2.4" % name])
    ids = []
    while True:
        ev = c.event(3)
        if ev is None:
            break
        ids.append(ev.id)
    print("unacknowledged event sent %d times, same message id %s" % (len(ids), len(set(ids)) == 1))
    r = c.query(name, REFRESH, lid, 3600)
    print("refresh after drop:", ERRORS[llq_of(r)[2]])

    # Over TCP the setup needs no challenge round; events come down the connection
    s = socket.create_connection((server, port), timeout=5)
    q = dns.message.make_query(name, "A", use_edns=0, payload=1232, flags=0,
                               options=[llq_option(SETUP, 0, 0, 3600)])
    q.use_tsig(alice)
    send_tcp(s, q.to_wire())
    r = recv_tcp(s, alice, q.mac)
    _, op, err, tid, lease = llq_of(r)
    print("tcp setup: %s id %s answers %s" % (ERRORS[err], "nonzero" if tid else "zero", addresses(r)))
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.5" % name])
    ev = recv_tcp(s, alice)
    print("tcp event: id match %s answers %s" % (llq_of(ev)[3] == tid, addresses(ev)))
    c.ack(ev, sock=s)
    s.close()

    # Over DNS over TLS too, verifying the server's certificate
    ctx = ssl.create_default_context(cafile=cert)
    raw = socket.create_connection((server, tls_port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="ns.members.example.net")
    q = dns.message.make_query(name, "A", use_edns=0, payload=1232, flags=0,
                               options=[llq_option(SETUP, 0, 0, 3600)])
    q.use_tsig(alice)
    send_tcp(s, q.to_wire())
    r = recv_tcp(s, alice, q.mac)
    _, op, err, tid, lease = llq_of(r)
    print("tls setup: %s %s answers %s" % (s.version(), ERRORS[err], addresses(r)))
    nsupdate(server, port, alice_text, ["update delete %s A 192.0.2.5" % name])
    ev = recv_tcp(s, alice)
    print("tls event: id match %s answers %s" % (llq_of(ev)[3] == tid, addresses(ev)))
    c.ack(ev, sock=s)
    s.close()

    many_watchers(server, port, alice, alice_text)


def many_watchers(server, port, key, keytext, n=200, nsock=10):
    """n LLQs on one name from nsock sockets: one change, and every LLQ gets
    its own signed event on its own socket, once (the server sends them in
    sendmmsg batches from several threads); acknowledged, none comes again."""
    name = "many.alice.members.example.net."
    clients = [Client(server, port, key) for _ in range(nsock)]
    owner = {}
    for i in range(n):
        cl = clients[i % nsock]
        lid = llq_of(cl.query(name, SETUP, 0, 3600))[3]
        _, _, err, lid2, _ = llq_of(cl.query(name, SETUP, lid, 3600))
        if err == 0 and lid2 == lid:
            owner[lid] = cl
    sel = selectors.DefaultSelector()
    for cl in clients:
        cl.sock.setblocking(False)
        sel.register(cl.sock, selectors.EVENT_READ, cl)

    def collect(want, seconds):
        out = []
        deadline = time.monotonic() + seconds
        while len(out) < want and time.monotonic() < deadline:
            for k, _ in sel.select(timeout=0.2):
                while True:
                    try:
                        wire = k.fileobj.recv(65535)
                    except BlockingIOError:
                        break
                    out.append((k.data, parse(wire, keyring={key.name: key})))
        return out

    nsupdate(server, port, keytext, ["update add %s 300 A 192.0.2.9" % name])
    events = collect(n, 10)
    ids = [llq_of(ev)[3] for _, ev in events]
    right = all(owner.get(llq_of(ev)[3]) is cl and llq_of(ev)[1] == EVENT for cl, ev in events)
    print("%d watchers: %d events, %d distinct LLQs, each on its own socket %s, signed %s, answers %s" % (
        len(owner), len(events), len(set(ids)), right, all(ev.had_tsig for _, ev in events),
        ", ".join(sorted(set(addresses(ev) for _, ev in events)))))
    for cl, ev in events:
        cl.ack(ev)
    # the test's server retransmits after 300 ms, then 600 ms more
    print("after the acks, events sent again:", len(collect(n, 1.5)))
    for cl in clients:
        sel.unregister(cl.sock)
        cl.sock.close()


if __name__ == "__main__":
    main()
