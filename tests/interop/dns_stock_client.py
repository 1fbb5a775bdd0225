#!/usr/bin/python3
"""What a stock wide-area DNS-SD client (a Back to My Mac / wide-area
Bonjour client, as RFC 6281, RFC 6763 section 11, RFC 2136 section 4,
RFC 9664 and RFC 8764 describe it) does against autotunnel-dnsd, written
with Debian's dnspython from those documents, not from autotunnel's own
client:

1. find the zone of its host name with unsigned SOA queries, walking up
   one label at a time until an SOA shows in the answer or authority
   section (RFC 2136 section 4);
2. look up _dns-update._udp.<zone> SRV (and the LLQ one) at that zone,
   unsigned (RFC 6763 section 11, RFC 8764 section 3);
3. register its host name (A, AAAA) and a service (PTR, SRV, TXT) with
   UPDATEs whose zone section is that zone, signed with TSIG HMAC-MD5 by
   the key named after the zone, carrying an Update Lease of 7200 s
   (RFC 9664), first with "name not in use" prerequisites;
4. refresh the lease by sending the same records again;
5. browse the service type with an LLQ (RFC 8764: UDP setup, challenge,
   challenge response, ACK with answers) on the PTR, and see a second
   registration of the type arrive as an event, which it acknowledges.

Every answer is checked: rcode, sections, the TSIG on every answer to a
signed request (RFC 8945 section 5.3, errors included), the granted
lease. Every step prints one line; tests/interop/t_dns_stock_client.sh
compares the whole output with what it expects.

    dns_stock_client.py SERVER PORT HOSTNAME KEY

KEY is "hmac-md5:name:base64" as `account show --tsig` prints it.
"""
import socket
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update

OPT_LLQ = 1           # RFC 8764 section 4
OPT_UPDATE_LEASE = 2  # RFC 9664 section 4
LLQ_SETUP, LLQ_REFRESH, LLQ_EVENT = 1, 2, 3
LLQ_ERRORS = {0: "NOERROR", 1: "SERVFULL", 2: "STATIC", 3: "FORMERR", 4: "NOSUCHLLQ",
              5: "BADVERS", 6: "UNKNOWNERR"}
LEASE = 7200


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


class Stock:
    def __init__(self, server, port, keytext):
        alg, name, secret = keytext.split(":", 2)
        if alg != "hmac-md5":
            fail("the stock client's key is %s, not hmac-md5" % alg)
        self.key = dns.tsig.Key(name, secret, dns.tsig.HMAC_MD5)
        self.server = (server, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3.0)

    def exchange(self, msg, signed):
        """Send @msg over UDP and return its answer, checking the TSIG of the
        answer to a signed request: present and valid (dnspython verifies
        it against the request's MAC when it is there)."""
        if signed:
            msg.use_tsig(self.key)
        wire = msg.to_wire()
        self.sock.sendto(wire, self.server)
        while True:
            data, _ = self.sock.recvfrom(65535)
            if data[:2] != wire[:2]:
                continue
            r = dns.message.from_wire(data, keyring={self.key.name: self.key} if signed else None,
                                      request_mac=msg.mac if signed else b"")
            if signed and not r.had_tsig:
                fail("the answer (%s) to a signed request is not signed" %
                     dns.rcode.to_text(r.rcode()))
            if not signed and r.had_tsig:
                fail("a signed answer to an unsigned request")
            return r

    # ---- 1. the zone: SOA walk-up ----

    def find_zone(self, host):
        """RFC 2136 section 4: ask for the SOA of the name, then of its parent,
        ... The zone is the owner of the first SOA seen in the answer
        section, or in the authority section of a negative answer."""
        name = dns.name.from_text(host)
        while True:
            q = dns.message.make_query(name, "SOA", use_edns=0, payload=1232)
            q.flags &= ~dns.flags.RD
            r = self.exchange(q, signed=False)
            ans = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
            auth = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
            print("SOA? %s unsigned: %s, answer %d, authority SOA %s" % (
                name, dns.rcode.to_text(r.rcode()), len(r.answer),
                auth[0].name if auth else "none"))
            if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                # e.g. REFUSED: a client goes on up, ending above the account
                name = name.parent()
                continue
            if ans:
                return ans[0].name, ans[0][0]
            if auth:
                return auth[0].name, None
            name = name.parent()

    # ---- 2. the server's SRV records at the zone ----

    def srv(self, name):
        q = dns.message.make_query(name, "SRV", use_edns=0, payload=1232)
        r = self.exchange(q, signed=False)
        rrs = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SRV]
        if r.rcode() != dns.rcode.NOERROR or not rrs:
            fail("SRV? %s: %s, %d answers" % (name, dns.rcode.to_text(r.rcode()), len(r.answer)))
        rd = rrs[0][0]
        glue = sorted(rd2.to_text() for rr in r.additional if rr.name == rd.target
                      for rd2 in rr)
        print("SRV? %s unsigned: %s %d %d %d %s, glue %s" % (
            name, dns.rcode.to_text(r.rcode()), rd.priority, rd.weight, rd.port, rd.target,
            " ".join(glue) or "none"))
        return rd

    # ---- 3./4. registration and refresh ----

    def update(self, zone, what, prereq_free=(), adds=(), deletes=()):
        """One UPDATE in zone @zone (RFC 2136): prerequisites "name is not in
        use" (section 2.4.5) for @prereq_free, then @deletes (name, type)
        and @adds (name, ttl, type, text); with an Update Lease (RFC 9664).
        Prints the rcode and the granted lease; returns the rcode."""
        u = dns.update.UpdateMessage(zone)
        for n in prereq_free:
            u.absent(n)
        for n, t in deletes:
            u.delete(n, t)
        for n, ttl, t, text in adds:
            u.add(n, ttl, t, text)
        u.use_edns(0, 0, 1232, options=[
            dns.edns.GenericOption(OPT_UPDATE_LEASE, struct.pack(">I", LEASE))])
        r = self.exchange(u, signed=True)
        granted = [struct.unpack(">I", o.data[:4])[0] for o in r.options
                   if o.otype == OPT_UPDATE_LEASE]
        print("%s: %s, signed, lease %s" % (what, dns.rcode.to_text(r.rcode()),
                                           granted[0] if granted else "none"))
        return r.rcode()

    def query_signed(self, name, rdtype):
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        r = self.exchange(q, signed=True)
        return r, sorted(rd.to_text() for rr in r.answer for rd in rr)

    # ---- 5. LLQ ----

    def llq_query(self, name, rdtype, op, llq_id, lease):
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232, flags=0,
                                   options=[dns.edns.GenericOption(
                                       OPT_LLQ, struct.pack(">HHHQI", 1, op, 0, llq_id, lease))])
        return self.exchange(q, signed=True)

    def llq_event(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(3.0)
        # a private LLQ's events are signed with the account's key
        r = dns.message.from_wire(data, keyring={self.key.name: self.key})
        if not r.had_tsig:
            fail("an unsigned LLQ event")
        return r

    def llq_ack(self, ev):
        """RFC 8764 section 6.2: a response with the event's id and LLQ option."""
        _, _, _, llq_id, lease = llq_of(ev)
        a = dns.message.Message(id=ev.id)
        a.flags = dns.flags.QR
        a.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(
            OPT_LLQ, struct.pack(">HHHQI", 1, LLQ_EVENT, 0, llq_id, lease))])
        self.sock.sendto(a.to_wire(), self.server)


def llq_of(msg):
    for o in msg.options:
        if o.otype == OPT_LLQ:
            return struct.unpack(">HHHQI", o.data)
    fail("no LLQ option in the answer")
    return None


def ptrs(msg):
    """The PTR answers as text, with TTL 0xFFFFFFFF shown as removals."""
    out = []
    for rr in msg.answer:
        if rr.rdtype == dns.rdatatype.PTR:
            for rd in rr:
                out.append("%s%s" % (rd.target, " removed" if rr.ttl == 0xFFFFFFFF else ""))
    return sorted(out)


def main():
    server, port, host, keytext = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    c = Stock(server, port, keytext)

    # 1. the zone
    zone, soa = c.find_zone(host)
    if soa is None:
        # found in an authority section: confirm with the SOA at the zone itself
        q = dns.message.make_query(zone, "SOA", use_edns=0, payload=1232)
        r = c.exchange(q, signed=False)
        soa = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA][0][0]
        print("SOA? %s unsigned: %s, answer SOA" % (zone, dns.rcode.to_text(r.rcode())))
    print("zone %s, primary %s, key name is the zone: %s" % (zone, soa.mname, c.key.name == zone))
    q = dns.message.make_query(zone, "NS")
    r = c.exchange(q, signed=False)
    print("NS? %s unsigned: %s %s" % (zone, dns.rcode.to_text(r.rcode()),
                                      " ".join(rd.to_text() for rr in r.answer for rd in rr)))

    # 2. where to send updates and LLQs
    upd = c.srv(dns.name.from_text("_dns-update._udp", zone))
    llq = c.srv(dns.name.from_text("_dns-llq._udp", zone))
    if upd.port != port or llq.port != port:
        fail("the SRV records name port %d/%d, the server is on %d" % (upd.port, llq.port, port))

    # 3. register the host name and a service
    hostname = dns.name.from_text(host)
    label = hostname.labels[0].decode()
    svc_type = dns.name.from_text("_ssh._tcp", zone)
    inst = dns.name.from_text(label, svc_type)
    host_rrs = [(hostname, 120, "A", "192.0.2.10"), (hostname, 120, "AAAA", "2001:db8::10")]
    svc_rrs = [(svc_type, 120, "PTR", inst.to_text()),
               (inst, 120, "SRV", "0 0 22 %s" % hostname),
               (inst, 120, "TXT", '""')]
    c.update(zone, "register host %s" % hostname, prereq_free=[hostname], adds=host_rrs)
    c.update(zone, "register service %s" % inst, prereq_free=[inst], adds=svc_rrs)
    # the same registration again with its prerequisite: the name is in use
    c.update(zone, "register %s again, name not in use" % inst, prereq_free=[inst], adds=svc_rrs)
    r, a = c.query_signed(hostname, "A")
    print("A? %s signed: %s %s" % (hostname, dns.rcode.to_text(r.rcode()), " ".join(a)))
    r, a = c.query_signed(inst, "SRV")
    print("SRV? %s signed: %s %s" % (inst, dns.rcode.to_text(r.rcode()), " ".join(a)))

    # 4. lease refresh: the same records again, no prerequisites
    c.update(zone, "refresh host", adds=host_rrs)
    c.update(zone, "refresh service", adds=svc_rrs)

    # 5. browse _ssh._tcp with an LLQ and see a second registration appear
    r = c.llq_query(svc_type, "PTR", LLQ_SETUP, 0, LEASE)
    _, op, err, llq_id, lease = llq_of(r)
    print("LLQ setup: %s op %d %s id nonzero %s answers %d" % (
        dns.rcode.to_text(r.rcode()), op, LLQ_ERRORS[err], llq_id != 0, len(r.answer)))
    r = c.llq_query(svc_type, "PTR", LLQ_SETUP, llq_id, lease)
    _, op, err, ack_id, lease = llq_of(r)
    print("LLQ challenge response: %s op %d %s same id %s lease %d answers %s" % (
        dns.rcode.to_text(r.rcode()), op, LLQ_ERRORS[err], ack_id == llq_id, lease,
        " ".join(ptrs(r))))
    inst2 = dns.name.from_text("desktop", svc_type)
    host2 = dns.name.from_text("desktop", zone)
    c.update(zone, "register host %s" % host2, prereq_free=[host2],
             adds=[(host2, 120, "A", "192.0.2.11")])
    c.update(zone, "register service %s" % inst2, prereq_free=[inst2],
             adds=[(svc_type, 120, "PTR", inst2.to_text()),
                   (inst2, 120, "SRV", "0 0 22 %s" % host2), (inst2, 120, "TXT", '""')])
    ev = c.llq_event(5.0)
    if ev is None:
        fail("no LLQ event for the second registration")
    _, op, err, ev_id, _ = llq_of(ev)
    print("LLQ event: op %d same id %s answers %s" % (op, ev_id == llq_id, " ".join(ptrs(ev))))
    c.llq_ack(ev)
    ev = c.llq_event(2.5)
    print("after the ack, sent again: %s" % ("no" if ev is None else "yes"))
    # refresh the LLQ, as a client does before its lease ends
    r = c.llq_query(svc_type, "PTR", LLQ_REFRESH, llq_id, LEASE)
    _, op, err, _, lease = llq_of(r)
    print("LLQ refresh: %s op %d %s lease %d" % (dns.rcode.to_text(r.rcode()), op, LLQ_ERRORS[err],
                                                lease))

    # errors to signed requests are signed too (exchange() checks)
    other = dns.name.from_text("elsewhere.example.org")
    c.update(zone, "update of a name outside the zone", adds=[(other, 120, "A", "192.0.2.99")])
    c.update(hostname, "update with the host name as zone", adds=host_rrs)
    r, _ = c.query_signed(dns.name.from_text("example.org"), "SOA")
    print("signed query outside the zone: %s, signed" % dns.rcode.to_text(r.rcode()))


if __name__ == "__main__":
    main()
