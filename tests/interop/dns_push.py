#!/usr/bin/python3
"""A DNS Push Notifications client (RFC 8765) over DNS Stateful Operations
(RFC 8490) on DNS over TLS, written here from the RFCs' text (the DSO
framing and TLVs by hand, Debian's dnspython only for ordinary DNS messages
and TSIG), to prove autotunnel-dnsd against code that is not its own.
Changes are made with BIND's nsupdate.

Run by tests/interop/t_dns_push.sh inside the test's namespace:

    dns_push.py SERVER PORT TLS_PORT TLS_CERT ALICE_KEY BOB_KEY LEASE_S CAROL_KEY DEL_CAROL

ALICE_KEY and BOB_KEY are "alg:name:base64" as `account show --tsig` prints
them. TLS_CERT is the server's self-signed certificate, trusted as the only
CA for the server name ns.members.example.net. LEASE_S is a short update
lease the server grants. DEL_CAROL is a shell command that deletes account
carol from the running server. The server runs with dso-inactivity-ms 1000.
Every step prints one line; the shell compares the whole output.
"""
import socket
import ssl
import struct
import subprocess
import sys
import time

import dns.edns
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update

DSO = 6
KEEPALIVE, RETRY_DELAY, PADDING = 1, 2, 3
SUBSCRIBE, PUSH, UNSUBSCRIBE, RECONFIRM = 0x40, 0x41, 0x42, 0x43
REMOVE, REMOVE_ALL = 0xFFFFFFFF, 0xFFFFFFFE
ZONE = "members.example.net."


def parse_key(text):
    alg, name, secret = text.split(":", 2)
    return dns.tsig.Key(name, secret, alg)


def dso_message(msg_id, tlvs, rcode=0, qr=False):
    """RFC 8490 section 5.4: the 12-byte header with OPCODE 6 and all four
    counts zero, then TLVs of DSO-TYPE, DSO-LENGTH and DSO-DATA."""
    flags = (0x8000 if qr else 0) | DSO << 11 | rcode
    body = b"".join(struct.pack(">HH", t, len(d)) + d for t, d in tlvs)
    return struct.pack(">HHHHHH", msg_id, flags, 0, 0, 0, 0) + body


def parse_dso(wire):
    msg_id, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", wire[:12])
    if (flags >> 11) & 0xF != DSO or (qd, an, ns, ar) != (0, 0, 0, 0):
        raise SystemExit("not a DSO message: %r" % wire[:12])
    tlvs, off = [], 12
    while off < len(wire):
        t, n = struct.unpack(">HH", wire[off:off + 4])
        if off + 4 + n > len(wire):
            raise SystemExit("TLV past the end")
        tlvs.append((t, wire[off + 4:off + 4 + n]))
        off += 4 + n
    return {"id": msg_id, "qr": bool(flags & 0x8000), "rcode": flags & 0xF, "tlvs": tlvs}


def wire_name(text):
    return dns.name.from_text(text).to_wire()


def read_name(msg, off):
    """A name at @off of the whole message, following compression pointers
    backwards (RFC 8765 section 6.3.1 allows them in a PUSH)."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack(">H", msg[off:off + 2])[0] & 0x3FFF
            if ptr >= off or hops > 64:
                raise SystemExit("bad compression pointer")
            end = off + 2 if end is None else end
            off, hops = ptr, hops + 1
            continue
        if n == 0:
            return ".".join(labels) + ".", (off + 1 if end is None else end)
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n


def push_records(wire):
    """The change notifications of a PUSH message as text."""
    m = parse_dso(wire)
    if m["id"] != 0 or m["qr"] or not m["tlvs"] or m["tlvs"][0][0] != PUSH:
        raise SystemExit("not a PUSH: %r" % m)
    off = 12 + 4
    end = off + len(m["tlvs"][0][1])
    out = []
    while off < end:
        name, off = read_name(wire, off)
        rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", wire[off:off + 10])
        off += 10
        rd = wire[off:off + rdlen]
        off += rdlen
        tname = dns.rdatatype.to_text(rtype)
        if ttl == REMOVE_ALL:
            out.append("remove all %s %s" % (name, tname))
            continue
        text = dns.rdata.from_wire(rclass, rtype, rd, 0, len(rd)).to_text()
        if ttl == REMOVE:
            out.append("remove %s %s %s" % (name, tname, text))
        else:
            out.append("add %s %s %s ttl %d" % (name, tname, text, ttl))
    if not out:
        raise SystemExit("a PUSH without change notifications (RFC 8765 section 6.3.1)")
    return ", ".join(out)


class Session:
    def __init__(self, server, port, cert=None):
        raw = socket.create_connection((server, port), timeout=5)
        if cert:
            ctx = ssl.create_default_context(cafile=cert)
            self.sock = ctx.wrap_socket(raw, server_hostname="ns.members.example.net")
        else:
            self.sock = raw
        self.buf = b""

    def send(self, wire):
        self.sock.sendall(struct.pack(">H", len(wire)) + wire)

    def recv(self, timeout):
        """The next message, None on timeout, "closed" when the server ends it."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if len(self.buf) >= 2:
                    n = struct.unpack(">H", self.buf[:2])[0]
                    if len(self.buf) >= 2 + n:
                        wire, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                        return wire
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                chunk = self.sock.recv(65535)
                if not chunk:
                    return "closed"
                self.buf += chunk
        except socket.timeout:
            return None
        except (ConnectionResetError, ssl.SSLError, OSError):
            return "closed"

    def request(self, msg_id, tlvs):
        self.send(dso_message(msg_id, tlvs))
        while True:
            wire = self.recv(5)
            if wire is None or wire == "closed":
                raise SystemExit("no response to DSO request %d: %s" % (msg_id, wire))
            m = parse_dso(wire)
            if m["qr"] and m["id"] == msg_id:
                return m
            raise SystemExit("unexpected message before the response: %r" % m)

    def keepalive(self, msg_id, inactivity, interval):
        return self.request(msg_id, [(KEEPALIVE, struct.pack(">II", inactivity, interval))])

    def subscribe(self, msg_id, name, rtype):
        data = wire_name(name) + struct.pack(">HH", dns.rdatatype.from_text(rtype), 1)
        return self.request(msg_id, [(SUBSCRIBE, data)])

    def unsubscribe(self, msg_id):
        self.send(dso_message(0, [(UNSUBSCRIBE, struct.pack(">H", msg_id))]))

    def reconfirm(self, name, rtype, rdata_text):
        rd = dns.rdata.from_text(1, rtype, rdata_text).to_wire()
        data = wire_name(name) + struct.pack(">HH", dns.rdatatype.from_text(rtype), 1) + rd
        self.send(dso_message(0, [(RECONFIRM, data)]))

    def push(self, timeout):
        wire = self.recv(timeout)
        if wire is None:
            return "none"
        if wire == "closed":
            return "connection closed"
        return push_records(wire)

    def signed_query(self, qname, rtype, key):
        q = dns.message.make_query(qname, rtype)
        q.use_tsig(key)
        self.send(q.to_wire())
        wire = self.recv(5)
        r = dns.message.from_wire(wire, keyring={key.name: key}, request_mac=q.mac)
        return r


def retry_delay_of(m):
    for t, d in m["tlvs"]:
        if t == RETRY_DELAY:
            return struct.unpack(">I", d)[0]
    return None


def response_text(m):
    text = dns.rcode.to_text(m["rcode"])
    delay = retry_delay_of(m)
    return text + ("" if delay is None else " retry delay %d" % delay)


def nsupdate(server, port, keytext, lines):
    script = "server %s %d\nzone %s\n%s\nsend\n" % (server, port, ZONE, "\n".join(lines))
    p = subprocess.run(["nsupdate", "-y", keytext], input=script, text=True,
                       capture_output=True, timeout=20)
    if p.returncode != 0:
        raise SystemExit("nsupdate failed: %s %s" % (p.stdout, p.stderr))


def main():
    server, port, tls_port, cert, alice_text, bob_text, lease_s, carol_text, del_carol = sys.argv[1:10]
    port, tls_port, lease_s = int(port), int(tls_port), int(lease_s)
    alice, bob = parse_key(alice_text), parse_key(bob_text)
    h1 = "h1.alice." + ZONE

    # Discovery (RFC 8765 section 6.1): the SRV record at _dns-push-tls._tcp.D
    q = dns.message.make_query("_dns-push-tls._tcp.alice." + ZONE, "SRV")
    r = dns.query.udp(q, server, port=port, timeout=5)
    print("srv:", " ".join(rd.to_text() for rrset in r.answer for rd in rrset) or "none")

    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.1" % h1])

    # The session: a Keepalive request establishes it (RFC 8490 section 5.1);
    # the server's values are the ones in force (section 7.1)
    s = Session(server, tls_port, cert)
    m = s.keepalive(1, 0xFFFFFFFF, 3600000)
    ka = struct.unpack(">II", m["tlvs"][0][1]) if m["tlvs"] and m["tlvs"][0][0] == KEEPALIVE else None
    print("keepalive: %s inactivity %d keepalive %d" % (dns.rcode.to_text(m["rcode"]), ka[0], ka[1]))
    m = s.keepalive(2, 0xFFFFFFFF, 1000)
    print("keepalive asking 1 s: keepalive %d" % struct.unpack(">II", m["tlvs"][0][1])[1])
    m = s.request(3, [(0xF00D, b"")])
    print("unknown primary TLV:", dns.rcode.to_text(m["rcode"]) if m["rcode"] != 11 else "DSOTYPENI",
          "tlvs", len(m["tlvs"]))

    # Privacy: not yet authenticated, alice's names are refused
    m = s.subscribe(10, h1, "A")
    print("unauthenticated subscribe:", response_text(m))

    # A signed query on the session makes it alice's (docs/dnsd.md, DNS Push)
    r = s.signed_query("alice." + ZONE, "SOA", alice)
    print("signed query: %s, signed answer %s" % (dns.rcode.to_text(r.rcode()), r.had_tsig))

    m = s.subscribe(11, h1, "A")
    print("subscribe:", response_text(m))
    # RFC 8765 section 6.3: the records already there in a PUSH right after
    print("initial push:", s.push(3))

    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.2" % h1])
    print("push:", s.push(3))
    nsupdate(server, port, alice_text, ["update delete %s A 192.0.2.1" % h1])
    print("push:", s.push(3))
    # other types at the name are not pushed to an A subscription
    nsupdate(server, port, alice_text, ["update add %s 300 TXT hello" % h1])
    print("push for TXT:", s.push(1.5))

    # a subscription with TYPE ANY on another name sees every type
    h2 = "h2.alice." + ZONE
    m = s.subscribe(12, h2, "ANY")
    print("subscribe ANY:", response_text(m), "initial push:", s.push(1.5))
    nsupdate(server, port, alice_text, ["update add %s 300 TXT \"v=1\"" % h2,
                                        "update add %s 300 AAAA 2001:db8::2" % h2])
    got = sorted([s.push(3), s.push(3)])
    print("pushes for ANY:", "; ".join(got))

    # Lease expiry (RFC 9664): the record goes, and its removal is pushed
    u = dns.update.UpdateMessage(ZONE)
    u.add(h1, 300, "A", "192.0.2.3")
    u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", lease_s))])
    u.use_tsig(alice)
    t0 = time.monotonic()
    r = dns.query.udp(u, server, port=port, timeout=5)
    print("update with lease %d: %s" % (lease_s, dns.rcode.to_text(r.rcode())))
    print("push:", s.push(3))
    p = s.push(lease_s + 4)
    dt = time.monotonic() - t0
    print("expiry push:", p, "in time" if lease_s - 0.5 <= dt <= lease_s + 1.5 else "after %.1f s" % dt)

    # RECONFIRM (RFC 8765 section 6.5): a record that is not there has its
    # removal pushed; one that is there, nothing
    s.reconfirm(h1, "A", "192.0.2.99")
    print("reconfirm of a gone record:", s.push(3))
    s.reconfirm(h1, "A", "192.0.2.2")
    print("reconfirm of a present record:", s.push(1.5))

    # Another account's session, and a cleartext one, are refused
    b = Session(server, tls_port, cert)
    r = b.signed_query("bob." + ZONE, "SOA", bob)
    m = b.subscribe(1, h1, "A")
    print("subscribe from bob's session:", response_text(m))
    b.sock.close()
    c = Session(server, port)
    r = c.signed_query("alice." + ZONE, "SOA", alice)
    m = c.subscribe(1, h1, "A")
    print("subscribe over cleartext TCP:", response_text(m))
    c.sock.close()

    # An account that is deleted loses its sessions: a Retry Delay with
    # REFUSED (RFC 8490 section 7.2.1), as its names may be given to another
    carol = parse_key(carol_text)
    k = Session(server, tls_port, cert)
    k.signed_query("carol." + ZONE, "SOA", carol)
    m = k.subscribe(1, "h1.carol." + ZONE, "A")
    print("carol subscribes:", response_text(m), "initial push:", k.push(1))
    subprocess.run(["sh", "-c", del_carol], check=True, capture_output=True, timeout=20)
    wire = k.recv(5)
    m = parse_dso(wire) if wire not in (None, "closed") else None
    print("carol's account deleted:", "Retry Delay rcode %s delay %d" % (
        dns.rcode.to_text(m["rcode"]), retry_delay_of(m)) if m else wire)
    k.sock.close()

    # UNSUBSCRIBE stops the pushes (RFC 8765 section 6.4)
    s.unsubscribe(11)
    s.unsubscribe(12)
    s.unsubscribe(99)	# matching nothing: ignored
    nsupdate(server, port, alice_text, ["update add %s 300 A 192.0.2.4" % h1,
                                        "update add %s 300 TXT \"v=2\"" % h2])
    t0 = time.monotonic()
    print("push after unsubscribe:", s.push(1.5))

    # No operation is active now: the client should close the session after
    # the inactivity timeout (1 s). This one does not, so the server sends a
    # Retry Delay after 5 s (RFC 8490 sections 6.4.1, 6.6.1) ...
    wire = s.recv(10)
    dt = time.monotonic() - t0
    if wire is None or wire == "closed":
        print("after the inactivity timeout:", wire)
        return
    m = parse_dso(wire)
    kind = "Retry Delay" if m["tlvs"] and m["tlvs"][0][0] == RETRY_DELAY else str(m["tlvs"])
    print("after the inactivity timeout: %s id %d rcode %s delay %d, %s" % (
        kind, m["id"], dns.rcode.to_text(m["rcode"]), retry_delay_of(m),
        "in time" if 4.5 <= dt <= 6.5 else "after %.1f s" % dt))
    # ... and, as the client does not close, aborts it 5 s later
    t0 = time.monotonic()
    wire = s.recv(10)
    dt = time.monotonic() - t0
    print("then:", "connection closed" if wire == "closed" else repr(wire),
          "in time" if 4.5 <= dt <= 6.5 else "after %.1f s" % dt)


if __name__ == "__main__":
    main()
