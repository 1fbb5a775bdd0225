#!/usr/bin/env python3
# Test-generation step for tests/unit/test_dns_keys.c (not run by the tests):
# computes the v=1 vectors with Python's hashlib.scrypt (OpenSSL underneath,
# but driven from the description in lib/dns/keys.h, not from keys.c) and
# prints them as C initialisers.
#
#   python3 tests/unit/gen_dns_keys_vectors.py
#
# v=1: K = scrypt(password, SALT + "autotunnel kdf v1 " + D, N, r, p, 64);
#      TSIG key = K[:32], IKE key = K[32:].
import base64
import hashlib

VECTORS = [
    # domain, password, salt, N, r, p
    ("alice.members.example.net", b"correct horse battery staple", bytes(range(16)), 131072, 8, 1),
    ("bob.members.example.net", b"", b"autotunnel-salt!", 16384, 8, 1),
    ("alice.members.example.net", b"correct horse battery staple", bytes(range(1, 17)), 16384, 4, 2),
]


def c_bytes(b):
    hx = [f"0x{x:02x}" for x in b]
    return "{ " + ",\n\t    ".join(", ".join(hx[i:i + 16]) for i in range(0, len(hx), 16)) + " }"


for d, pw, salt, n, r, p in VECTORS:
    k = hashlib.scrypt(pw, salt=salt + b"autotunnel kdf v1 " + d.encode(), n=n, r=r, p=p,
                       maxmem=1 << 30, dklen=64)
    print(f'\t{{ "{d}", "{pw.decode()}", "v=1 alg=scrypt N={n} r={r} p={p} '
          f'salt={base64.b64encode(salt).decode()}",')
    print(f"\t  {c_bytes(k[:32])},")
    print(f"\t  {c_bytes(k[32:])} }},")
