#!/usr/bin/python3
"""Abuse of autotunnel-dnsd that authentication must stop, from a client
written with Debian's dnspython (not from our client code):

- an unsigned UPDATE flood from an address does not hold back the signed
  UPDATEs from that address (the rate is charged after authentication: to
  the account when signed, to the address when not);
- 300 unsigned LLQ setups from an address do not make that address's
  signed LLQ ServFull (unsigned LLQs are counted apart);
- the exact same signed UPDATE sent twice is applied once: the copy gets a
  signed REFUSED, and a delete followed by the replayed add does not bring
  the record back; a retransmission (same bytes, same socket, soon after)
  gets the first answer again and changes nothing either;
- an account over its data quota gets a signed REFUSED, under it works,
  both for records and for bytes, and what expired records took is given
  back;
- HMAC-MD5 with the name and secret of a HMAC-SHA256 key gets BADKEY
  (RFC 8945 section 5.2) for a query, an LLQ and an UPDATE.

Run by tests/interop/t_dns_abuse_auth.sh inside the test's namespace:

    dns_abuse_auth.py SERVER PORT ALICE_KEY CAROL_KEY DAVE_KEY RECORDS BYTES

Keys are "alg:name:base64" as `account show --tsig` prints them; the server
runs with account-records RECORDS and account-bytes BYTES, and a
lease-min of at most 2 s. Every step
prints one line; the shell compares the whole output with what it expects.
"""
import socket
import struct
import sys
import time

import dns.edns
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update

Z = "members.example.net."
LLQ = 1
SETUP = 1
LLQ_ERRORS = {0: "NOERROR", 1: "SERVFULL", 2: "STATIC", 3: "FORMERR", 4: "NOSUCHLLQ",
              5: "BADVERS", 6: "UNKNOWNERR"}


def parse_key(text):
    alg, name, secret = text.split(":", 2)
    return dns.tsig.Key(name, secret, alg)


def llq_setup_option(lease):
    return dns.edns.GenericOption(LLQ, struct.pack(">HHHQI", 1, SETUP, 0, 0, lease))


def llq_error(msg):
    for opt in msg.options:
        if opt.otype == LLQ:
            return LLQ_ERRORS[struct.unpack(">HHHQI", opt.data)[2]]
    return "no LLQ option"


class Udp:
    """One UDP socket: sends a message and reads the answer with its id."""

    def __init__(self, server, port):
        self.server = (server, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3.0)

    def send(self, wire):
        self.sock.sendto(wire, self.server)

    def recv(self, msg_id):
        while True:
            wire, _ = self.sock.recvfrom(65535)
            if wire[:2] == struct.pack(">H", msg_id):
                return wire

    def ask(self, wire, msg_id):
        self.send(wire)
        return self.recv(msg_id)


def answer_of(wire, key, request_mac):
    """The answer, its TSIG checked with @key (so a signed answer proves it is signed)."""
    if key is None:
        return dns.message.from_wire(wire), "unsigned"
    try:
        r = dns.message.from_wire(wire, keyring={key.name: key}, request_mac=request_mac)
    except dns.tsig.PeerBadKey:
        return None, "BADKEY"
    except dns.message.UnknownTSIGKey:
        return None, "unknown key"
    return r, "signed" if r.had_tsig else "unsigned"


def update(key, adds=(), deletes=(), lease=3600):
    """A signed UPDATE of the zone: adds are (name, type, rdata), deletes (name, type, rdata)."""
    u = dns.update.UpdateMessage(Z)
    for name, rtype, rdata in deletes:
        u.delete(name, rtype, rdata)
    for name, rtype, rdata in adds:
        u.add(name, 300, rtype, rdata)
    # RFC 9664: an Update Lease option
    u.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(2, struct.pack(">I", lease))])
    if key is not None:
        u.use_tsig(key)
    return u


def send_update(c, u, key):
    wire = u.to_wire()
    r, how = answer_of(c.ask(wire, u.id), key, u.mac if key is not None else b"")
    return (dns.rcode.to_text(r.rcode()) if r else "-"), how, wire


def lookup(server, port, key, name, rtype="A"):
    q = dns.message.make_query(name, rtype)
    q.use_tsig(key)
    r = dns.query.udp(q, server, port=port, timeout=3)
    return " ".join([dns.rcode.to_text(r.rcode())] + sorted(rd.to_text() for rs in r.answer for rd in rs))


def main():
    server, port, alice_t, carol_t, dave_t, records, nbytes = sys.argv[1:8]
    port, records, nbytes = int(port), int(records), int(nbytes)
    alice, carol, dave = parse_key(alice_t), parse_key(carol_t), parse_key(dave_t)
    c = Udp(server, port)

    # 1. An unsigned UPDATE flood from 127.0.0.1, then signed UPDATEs from there
    refused = 0
    for i in range(300):
        u = update(None, adds=[("flood%d.alice.%s" % (i, Z), "A", "192.0.2.1")])
        if dns.message.from_wire(c.ask(u.to_wire(), u.id)).rcode() == dns.rcode.REFUSED:
            refused += 1
    print("unsigned flood: %d of 300 REFUSED" % refused)
    # a TSIG error is answered as such even now (RFC 8945 section 5.2)
    md5 = dns.tsig.Key(alice.name, alice.secret, dns.tsig.HMAC_MD5)
    u = update(md5, adds=[("md5.alice." + Z, "A", "192.0.2.5")])
    wire = c.ask(u.to_wire(), u.id)
    print("UPDATE with hmac-md5 after it: %s %s" % (dns.rcode.to_text(wire[3] & 0xF),
                                                   answer_of(wire, md5, u.mac)[1]))
    codes = []
    for i in range(10):
        rc, how, _ = send_update(c, update(alice, adds=[("s%d.alice.%s" % (i, Z), "A", "192.0.2.2")]),
                                 alice)
        codes.append("%s %s" % (rc, how))
    print("signed updates after it: %d of 10 NOERROR signed" % codes.count("NOERROR signed"))

    # 2. 300 unsigned LLQ setups from 127.0.0.1 (public names: the apex's
    # zone, no account's), then a signed LLQ on alice's own name
    errors = {}
    for i in range(300):
        q = dns.message.make_query("llq%d.%s" % (i, Z), "A", use_edns=0, payload=1232,
                                   options=[llq_setup_option(3600)])
        r = dns.message.from_wire(c.ask(q.to_wire(), q.id))
        e = llq_error(r)
        errors[e] = errors.get(e, 0) + 1
    print("unsigned LLQ setups:", ", ".join("%s %d" % kv for kv in sorted(errors.items())))
    q = dns.message.make_query("s0.alice." + Z, "A", use_edns=0, payload=1232,
                               options=[llq_setup_option(3600)])
    q.use_tsig(alice)
    r, how = answer_of(c.ask(q.to_wire(), q.id), alice, q.mac)
    print("signed LLQ after them: %s %s, LLQ %s" % (dns.rcode.to_text(r.rcode()), how, llq_error(r)))

    # 3. Replay: the same signed UPDATE twice, the copy from another socket
    name = "replay.alice." + Z
    u = update(alice, adds=[(name, "A", "192.0.2.7")])
    rc, how, add_wire = send_update(c, u, alice)
    print("signed add: %s %s" % (rc, how))
    other = Udp(server, port)
    r, how = answer_of(other.ask(add_wire, u.id), alice, u.mac)
    print("the same bytes again: %s %s" % (dns.rcode.to_text(r.rcode()), how))
    rc, how, _ = send_update(c, update(alice, deletes=[(name, "A", "192.0.2.7")]), alice)
    print("signed delete: %s %s" % (rc, how))
    r, how = answer_of(other.ask(add_wire, u.id), alice, u.mac)
    print("the add replayed after the delete: %s %s" % (dns.rcode.to_text(r.rcode()), how))
    print("record after the replay:", lookup(server, port, alice, name))

    # a retransmission: the same bytes from the same socket soon after
    name = "retx.alice." + Z
    u = update(alice, adds=[(name, "A", "192.0.2.8")])
    rc, how, wire = send_update(c, u, alice)
    print("signed add: %s %s" % (rc, how))
    rc2, how2, _ = send_update(c, update(alice, deletes=[(name, "A", "192.0.2.8")]), alice)
    r, how = answer_of(c.ask(wire, u.id), alice, u.mac)
    print("deleted (%s), then the add retransmitted from its socket: %s %s, lease %s" % (
        rc2, dns.rcode.to_text(r.rcode()), how,
        [struct.unpack(">I", o.data[:4])[0] for o in r.options if o.otype == 2]))
    print("record after the retransmission:", lookup(server, port, alice, name))

    # 4. The data quota: RECORDS records, then one more; bytes likewise
    adds = [("q%d.carol.%s" % (i, Z), "A", "192.0.2.%d" % (i % 250 + 1)) for i in range(records)]
    rc, how, _ = send_update(c, update(carol, adds=adds), carol)
    print("carol adds %d records: %s %s" % (records, rc, how))
    rc, how, _ = send_update(c, update(carol, adds=[("over.carol." + Z, "A", "192.0.2.9")]), carol)
    print("one more: %s %s" % (rc, how))
    rc, how, _ = send_update(c, update(carol, adds=[adds[0]]), carol)
    print("a refresh at the limit: %s %s" % (rc, how))
    rc, how, _ = send_update(c, update(carol, deletes=[adds[0]]), carol)
    print("one deleted: %s %s" % (rc, how))
    rc, how, _ = send_update(c, update(carol, adds=[("over.carol." + Z, "A", "192.0.2.9")]), carol)
    print("one added in its place: %s %s" % (rc, how))
    print("record:", lookup(server, port, carol, "over.carol." + Z))
    # bytes: TXT records of 4 strings of 250 bytes (1004 bytes of rdata, a
    # 29-byte owner and 10: 1043 each) up to BYTES, then one more
    txt = " ".join(['"%s"' % (chr(ord("a") + i) * 250) for i in range(4)])
    fit = nbytes // 1043
    codes = []
    for i in range(fit):
        rc, how, _ = send_update(c, update(dave, adds=[("t%d.dave.%s" % (i, Z), "TXT", txt)],
                                           lease=2), dave)
        codes.append("%s %s" % (rc, how))
    print("dave adds %d TXT records: %s" % (fit, ", ".join(sorted(set(codes)))))
    rc, how, _ = send_update(c, update(dave, adds=[("t%d.dave.%s" % (fit, Z), "TXT", txt)]), dave)
    print("one more: %s %s" % (rc, how))
    print("record:", lookup(server, port, dave, "t%d.dave.%s" % (fit, Z), "TXT"))
    # their 2-second leases end: what they took is given back
    time.sleep(3.5)
    rc, how, _ = send_update(c, update(dave, adds=[("t%d.dave.%s" % (fit, Z), "TXT", txt)]), dave)
    print("after their leases ended: %s %s" % (rc, how))

    # 5. HMAC-MD5 with the name and secret of alice's HMAC-SHA256 key: BADKEY everywhere
    q = dns.message.make_query("s0.alice." + Z, "A")
    q.use_tsig(md5)
    r, how = answer_of(c.ask(q.to_wire(), q.id), md5, q.mac)
    print("query with hmac-md5:", how)
    q = dns.message.make_query("s0.alice." + Z, "A", use_edns=0, payload=1232,
                               options=[llq_setup_option(3600)])
    q.use_tsig(md5)
    r, how = answer_of(c.ask(q.to_wire(), q.id), md5, q.mac)
    print("LLQ with hmac-md5:", how)
    u = update(md5, adds=[("md5.alice." + Z, "A", "192.0.2.5")])
    wire = c.ask(u.to_wire(), u.id)
    r, how = answer_of(wire, md5, u.mac)
    print("UPDATE with hmac-md5: %s %s" % (dns.rcode.to_text(wire[3] & 0xF), how))
    print("record:", lookup(server, port, alice, "md5.alice." + Z))


if __name__ == "__main__":
    main()
