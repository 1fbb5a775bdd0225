#!/usr/bin/python3
"""Polite load shedding in autotunnel-dnsd (docs/dnsd.md "Shedding load"),
seen by clients written from the RFCs (the DSO client of dns_push.py, LLQ
options by hand, Debian's dnspython for the rest).

Run by tests/interop/t_dns_shed.sh against a server with watch-setup-rate 5,
shed-retry-min-ms 1000 and shed-retry-max-ms 8000:

    dns_shed.py SERVER PORT TLS_PORT TLS_CERT ALICE_KEY SERVER_PID

- 12 UDP LLQ set-ups at once: the bucket's 5 are challenged, the other 7 are
  SERV-FULL with a LEASE-LIFE (when to try again) of 1 to 8 s (RFC 8764
  section 5.2.2);
- a second later (5 tokens back), 8 SUBSCRIBEs on an authenticated DNS Push
  session: 5 NOERROR, 3 SERVFAIL with a Retry Delay of 1 to 8 s (RFC 8765
  section 6.2.2);
- SIGTERM to the server: each established DSO session gets a Retry Delay
  (id 0, NOERROR, 1 to 8 s; RFC 8490 section 6.6.1) before its connection
  closes.
Every step prints one line; the shell compares the whole output.
"""
import os
import signal
import socket
import struct
import sys
import time

import dns.edns
import dns.message
import dns.query

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_push import (RETRY_DELAY, Session, parse_dso, parse_key,  # noqa: E402
                      retry_delay_of)

ZONE = "members.example.net."
LLQ = 1
SETUP, SERVFULL = 1, 1


def llq_setup(server, port, name, msg_id):
    """An initial LLQ set-up request (RFC 8764 section 5.2.1): id 0."""
    q = dns.message.make_query(name, "AAAA")
    q.id = msg_id
    q.use_edns(0, options=[dns.edns.GenericOption(LLQ, struct.pack(">HHHQI", 1, SETUP, 0, 0, 3600))])
    return q


def main():
    server, port, tls_port, cert, alice_text, pid = sys.argv[1:7]
    port, tls_port, pid = int(port), int(tls_port), int(pid)
    alice = parse_key(alice_text)

    # 12 set-ups sent at once, then their answers
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((server, port))
    for i in range(12):
        sock.send(llq_setup(server, port, "w%d.%s" % (i, ZONE), 1000 + i).to_wire())
    ok, full, leases = 0, 0, []
    sock.settimeout(5)
    for _ in range(12):
        r = dns.message.from_wire(sock.recv(4096))
        for o in r.options:
            if o.otype == LLQ:
                _, _, err, _, lease = struct.unpack(">HHHQI", o.data)
                if err == SERVFULL:
                    full += 1
                    leases.append(lease)
                elif err == 0:
                    ok += 1
    # (that they are spread at random is unit-tested: tests/unit/test_dnsd_shed.c)
    print("llq set-ups: challenged %d, SERV-FULL %d, retry times within 1-8 s %s" % (
        ok, full, bool(leases) and all(1 <= x <= 8 for x in leases)))

    time.sleep(1.2)
    s = Session(server, tls_port, cert)
    s.keepalive(1, 15000, 3600000)
    r = s.signed_query("alice." + ZONE, "SOA", alice)
    print("signed query:", r.rcode() == 0)
    got, delays = {}, []
    for i in range(8):
        m = s.subscribe(10 + i, "h%d.alice.%s" % (i, ZONE), "A")
        text = "NOERROR" if m["rcode"] == 0 else "SERVFAIL" if m["rcode"] == 2 else "rcode %d" % m["rcode"]
        got[text] = got.get(text, 0) + 1
        if m["rcode"] == 2:
            delays.append(retry_delay_of(m))
    print("subscribes: %s, Retry Delays within 1000-8000 ms %s" % (
        ", ".join("%s %d" % kv for kv in sorted(got.items())),
        bool(delays) and all(d is not None and 1000 <= d <= 8000 for d in delays)))

    # a second session, established, no account
    s2 = Session(server, tls_port, cert)
    s2.keepalive(1, 15000, 3600000)
    os.kill(pid, signal.SIGTERM)
    for n, sess in ((1, s), (2, s2)):
        wire = sess.recv(5)
        if wire is None or wire == "closed":
            print("session %d at stop: %s" % (n, wire or "nothing"))
            continue
        m = parse_dso(wire)
        d = retry_delay_of(m)
        kind = "Retry Delay" if m["tlvs"] and m["tlvs"][0][0] == RETRY_DELAY and not m["qr"] else "other"
        print("session %d at stop: %s id %d rcode %d delay within 1000-8000 ms %s; then %s" % (
            n, kind, m["id"], m["rcode"], d is not None and 1000 <= d <= 8000, sess.recv(5) or "nothing"))


if __name__ == "__main__":
    main()
