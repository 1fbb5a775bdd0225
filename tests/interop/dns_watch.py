#!/usr/bin/python3
"""A minimal LLQ watcher (RFC 8764) with dnspython, for the namespace tests:

    dns_watch.py SERVER PORT KEY NAME TYPE EVENTS TIMEOUT

sets up an LLQ over UDP with the four-way handshake, signed with KEY
("alg:name:base64"), prints "established", then one line per changed
record in each event, "add|remove NAME TYPE DATA", acknowledging each
event, until EVENTS events came or TIMEOUT seconds passed.
"""
import socket
import struct
import sys
import time

import dns.edns
import dns.flags
import dns.message
import dns.rdatatype
import dns.tsig

LLQ, SETUP, EVENT = 1, 1, 3


def option(op, llq_id, lease):
    return dns.edns.GenericOption(LLQ, struct.pack(">HHHQI", 1, op, 0, llq_id, lease))


def llq_of(msg):
    for o in msg.options:
        if o.otype == LLQ:
            return struct.unpack(">HHHQI", o.data)
    return None


def removed_flags(wire):
    """Per answer RR, whether its TTL is 0xFFFFFFFF (an LLQ removal)."""
    def skip(off):
        while wire[off] and wire[off] & 0xC0 != 0xC0:
            off += 1 + wire[off]
        return off + (2 if wire[off] else 1)
    qd, an = struct.unpack(">HH", wire[4:8])
    off = 12
    for _ in range(qd):
        off = skip(off) + 4
    out = []
    for _ in range(an):
        off = skip(off)
        _, _, ttl, rdlen = struct.unpack(">HHIH", wire[off:off + 10])
        out.append(ttl == 0xFFFFFFFF)
        off += 10 + rdlen
    return out


def main():
    server, port, keytext, name, rtype, events, timeout = sys.argv[1:8]
    port, events, timeout = int(port), int(events), float(timeout)
    alg, kname, secret = keytext.split(":", 2)
    key = dns.tsig.Key(kname, secret, alg)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, port))
    llq_id = 0
    for step in range(2):
        q = dns.message.make_query(name, rtype, use_edns=0, payload=1232, flags=0,
                                   options=[option(SETUP, llq_id, 3600)])
        q.use_tsig(key)
        for _ in range(5):
            s.send(q.to_wire())
            s.settimeout(1.0)
            try:
                r = dns.message.from_wire(s.recv(65535), keyring={key.name: key}, request_mac=q.mac)
                break
            except socket.timeout:
                continue
        else:
            raise SystemExit("no answer to the LLQ setup")
        llq_id = llq_of(r)[3]
    print("established", flush=True)
    deadline = time.monotonic() + timeout
    got = 0
    while got < events and time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            wire = s.recv(65535)
        except socket.timeout:
            break
        ev = dns.message.from_wire(wire, keyring={key.name: key}, one_rr_per_rrset=True)
        opt = llq_of(ev)
        if not opt or opt[1] != EVENT:
            continue
        flags = removed_flags(wire)
        i = 0
        for rrset in ev.answer:
            for rd in rrset:
                print("%s %s %s %s" % ("remove" if flags[i] else "add", rrset.name,
                                       dns.rdatatype.to_text(rrset.rdtype), rd.to_text()), flush=True)
                i += 1
        a = dns.message.Message(id=ev.id)
        a.flags = dns.flags.QR
        a.use_edns(0, 0, 1232, options=[option(EVENT, opt[3], opt[4])])
        s.send(a.to_wire())
        got += 1


if __name__ == "__main__":
    main()
