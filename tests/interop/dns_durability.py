#!/usr/bin/python3
"""Durability probe for autotunnel-dnsd, written with Debian's dnspython.

    dns_durability.py load SERVER PORT KEY ACKED_FILE
        16 threads send TSIG-signed UPDATEs (one new A record each) as fast
        as the server answers, and append the name of every update the
        server acknowledged (NOERROR) to ACKED_FILE, flushed at once. Ends
        when the server stops answering (it is killed with SIGKILL).
    dns_durability.py check SERVER PORT KEY ACKED_FILE
        query every acknowledged name (signed) and print how many are
        present and how many are missing.
"""
import sys
import threading

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.update

ZONE = "members.example.net."


def key_of(text):
    alg, name, secret = text.split(":", 2)
    return dns.tsig.Key(name, secret, alg), name


def load(server, port, key, domain, path):
    out = open(path, "a", buffering=1)
    lock = threading.Lock()

    def worker(t):
        for i in range(1000000):
            name = "t%d-%d.%s." % (t, i, domain)
            u = dns.update.UpdateMessage(ZONE)
            u.add(name, 300, "A", "192.0.2.%d" % (1 + i % 250))
            u.use_tsig(key)
            try:
                r = dns.query.udp(u, server, port=port, timeout=1.0)
            except Exception:
                return
            if r.rcode() == dns.rcode.NOERROR:
                with lock:
                    out.write(name + "\n")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def check(server, port, key, path):
    names = [l.strip() for l in open(path) if l.strip()]
    present = missing = 0
    for name in names:
        q = dns.message.make_query(name, "A")
        q.use_tsig(key)
        r = dns.query.udp(q, server, port=port, timeout=2.0)
        if r.rcode() == dns.rcode.NOERROR and r.answer:
            present += 1
        else:
            missing += 1
    print("acknowledged %d present %d missing %d" % (len(names), present, missing))


def main():
    mode, server, port, keytext, path = sys.argv[1:6]
    key, domain = key_of(keytext)
    if mode == "load":
        load(server, int(port), key, domain, path)
    else:
        check(server, int(port), key, path)


if __name__ == "__main__":
    main()
