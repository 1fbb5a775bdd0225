#!/usr/bin/python3
"""Benchmark data: N hosts in account domain D, each with the record set a
host publishes (docs/design.md §4): SRV at _autotunnel._udp.hI.D pointing to
AutoTunnel-I.D, which holds A, AAAA and TXT.

    gen.py N OUTDIR ZONE ACCOUNT [SQLITE_DB]

writes OUTDIR/zone.txt (a zone file for knotd and named), OUTDIR/queries.txt
(dnsperf input: A queries for every host, shuffled) and, when SQLITE_DB is
given (a database autotunnel-dnsd created), the same records into it, with
leases far in the future.
"""
import os
import random
import sqlite3
import sys
import time

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype


def records(n, d):
    for i in range(n):
        host = "h%d.%s" % (i, d)
        target = "AutoTunnel-%d.%s" % (i, d)
        yield "_autotunnel._udp." + host, "SRV", "0 0 %d %s." % (4500 + i % 1000, target)
        yield target, "A", "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        yield target, "AAAA", "fd3c:8a1e:9b02:%x::%x" % ((i >> 16) & 0xffff, i & 0xffff)
        yield target, "TXT", '"v=1" "model=bench" "os=linux"'


def main():
    n, out, zone, account = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    db = sys.argv[5] if len(sys.argv) > 5 else None
    d = "%s.%s" % (account, zone)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "zone.txt"), "w") as f:
        f.write("$ORIGIN %s.\n$TTL 300\n" % zone)
        f.write("@ SOA ns.%s. hostmaster.%s. 1 3600 600 1209600 60\n" % (zone, zone))
        f.write("@ NS ns.%s.\nns A 127.0.0.1\n" % zone)
        for owner, t, data in records(n, d):
            f.write("%s. 300 %s %s\n" % (owner, t, data))
    names = ["AutoTunnel-%d.%s" % (i, d) for i in range(n)]
    random.Random(1).shuffle(names)
    with open(os.path.join(out, "queries.txt"), "w") as f:
        for name in names:
            f.write("%s A\n" % name)
    if db:
        con = sqlite3.connect(db)
        expires = int(time.time() * 1000) + 10 * 365 * 86400 * 1000
        rows = []
        for owner, t, data in records(n, d):
            name = dns.name.from_text(owner).canonicalize().to_wire()
            rt = dns.rdatatype.from_text(t)
            rd = dns.rdata.from_text(dns.rdataclass.IN, rt, data).to_wire()
            rows.append((name, int(rt), 1, 300, rd, expires, account))
        con.executemany("INSERT INTO records(name, type, class, ttl, rdata, expires, account) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.commit()
        con.close()


if __name__ == "__main__":
    main()
