#!/usr/bin/python3
"""tests/netns/forge_server.py: what the rendezvous server, or anyone with a
copy of its database, can try against an account with an authority
(docs/authority.md §1, issue 14). Used by t_authority.sh; it must fail to
produce anything a member accepts.

  forge_server.py keys DB ACCOUNT DOMAIN PASSWORD OUTDIR
      From the database copy and a guessed (weak) password: derive the
      account's keys as lib/dns/keys.h does, check the TSIG key against the
      database (so the guess is right), and write OUTDIR/tsig.b64 and
      OUTDIR/ike.hex (the PSK every host used before the authority).
  forge_server.py certs DOMAIN HOST OUTDIR
      An authority of our own with the very subject of the account's
      (DC=... CN=autotunnel account authority), and a host certificate for
      HOST.DOMAIN from it: OUTDIR/forged_ca.pem, forged_HOST.pem/.key.
  forge_server.py approve DOMAIN SERVER TSIGB64 OUTDIR HOST
      Publish our authority as _authority.DOMAIN and, for HOST's pending join
      request in _join.DOMAIN, an approval with a certificate from it and a
      MAC under a key we can only guess (we never see the join code).
"""
import base64
import datetime
import hashlib
import hmac
import ipaddress
import os
import sqlite3
import sys
import time

import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

IPSEC_IKE = ObjectIdentifier("1.3.6.1.5.5.7.3.17")
CHUNK = 252  # base64 characters per string (docs/authority.md §4)


def kdf_params(text):
    f = dict(t.split("=", 1) for t in text.split())
    return int(f["N"]), int(f["r"]), int(f["p"]), base64.b64decode(f["salt"]) if "salt" in f else None, f["v"]


def cmd_keys(db, account, domain, password, out):
    c = sqlite3.connect(db)
    row = None
    for name in (account, domain):
        row = c.execute("SELECT alg, key, kdf FROM accounts WHERE name = ?", (name,)).fetchone()
        if row:
            break
    if not row:
        sys.exit("no account %s in %s" % (account, db))
    alg, key, kdf = row
    n, r, p, salt, v = kdf_params(kdf or "v=0 alg=scrypt N=16384 r=8 p=1")
    pw = password.encode()
    if v == "1":
        k = hashlib.scrypt(pw, salt=salt + b"autotunnel kdf v1 " + domain.encode(), n=n, r=r, p=p,
                           maxmem=2 * 128 * r * n, dklen=64)
        tsig, ike = k[:32], k[32:]
    else:
        tsig = hashlib.scrypt(pw, salt=b"autotunnel tsig v1 " + domain.encode(), n=n, r=r, p=p,
                              maxmem=2 * 128 * r * n, dklen=32)
        ike = hashlib.scrypt(pw, salt=b"autotunnel ike v1 " + domain.encode(), n=n, r=r, p=p,
                             maxmem=2 * 128 * r * n, dklen=32)
    if tsig != bytes(key):
        sys.exit("the guessed password does not give the database's TSIG key")
    with open(os.path.join(out, "tsig.b64"), "w") as fp:
        fp.write(base64.b64encode(tsig).decode() + "\n")
    with open(os.path.join(out, "ike.hex"), "w") as fp:
        fp.write(ike.hex() + "\n")
    print("guessed the password: it gives the TSIG key of the database; IKE key derived")


def subject(domain, cn):
    attrs = [x509.NameAttribute(NameOID.DOMAIN_COMPONENT, label) for label in reversed(domain.split("."))]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def load_or_make_ca(domain, out):
    kp = os.path.join(out, "forged_ca.key")
    if os.path.exists(kp):
        with open(kp, "rb") as fp:
            key = serialization.load_pem_private_key(fp.read(), None)
        with open(os.path.join(out, "forged_ca.pem"), "rb") as fp:
            return key, x509.load_pem_x509_certificate(fp.read())
    key = ed25519.Ed25519PrivateKey.generate()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = subject(domain, "autotunnel account authority")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(seconds=300))
            .not_valid_after(now + datetime.timedelta(days=3653))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, None))
    with open(kp, "wb") as fp:
        fp.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    with open(os.path.join(out, "forged_ca.pem"), "wb") as fp:
        fp.write(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def host_cert(ca_key, ca, domain, host, pub, ula):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject(domain, host)).issuer_name(ca.subject)
            .public_key(pub).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=300))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("%s.%s" % (host, domain)),
                                                        x509.IPAddress(ipaddress.IPv6Address(ula))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([IPSEC_IKE, ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)
            .sign(ca_key, None))


def cmd_certs(domain, host, out):
    ca_key, ca = load_or_make_ca(domain, out)
    key = ed25519.Ed25519PrivateKey.generate()
    cert = host_cert(ca_key, ca, domain, host, key.public_key(), "fd00:f0f0::1")
    with open(os.path.join(out, "forged_%s.key" % host), "wb") as fp:
        fp.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    with open(os.path.join(out, "forged_%s.pem" % host), "wb") as fp:
        fp.write(cert.public_bytes(serialization.Encoding.PEM))
    print("an authority of our own for %s, and a certificate for %s.%s from it" % (domain, host, domain))


def chunks(der):
    b = base64.b64encode(der).decode()
    return [b[i:i + CHUNK] for i in range(0, len(b), CHUNK)]


def txt_rdata(strings):
    return " ".join('"%s"' % s for s in strings)


def cmd_approve(domain, server, tsig_b64, out, host):
    keyring = dns.tsigkeyring.from_text({domain + ".": ("hmac-sha256", tsig_b64)})
    zone = domain.split(".", 1)[1] + "."
    ca_key, ca = load_or_make_ca(domain, out)
    # our authority where a joining computer reads the anchor
    u = dns.update.Update(zone, keyring=keyring, keyname=domain + ".", keyalgorithm="hmac-sha256")
    u.replace("_authority.%s." % domain, 60, "TXT",
              txt_rdata(["at-authority=1"] + chunks(ca.public_bytes(serialization.Encoding.DER))))
    r = dns.query.tcp(u, server, timeout=5)
    print("_authority.%s replaced by our own authority: rcode %s" % (domain, r.rcode()))
    # the join request of HOST: its nonce, key and ULA are public
    q = dns.message.make_query("_join.%s." % domain, "TXT")
    q.use_tsig(keyring, keyname=domain + ".", algorithm="hmac-sha256")
    r = dns.query.tcp(q, server, timeout=5)
    done = 0
    for rrset in r.answer:
        for rd in rrset:
            s = [x.decode() for x in rd.strings]
            head = dict(t.split("=", 1) for t in s[0].split()[1:])
            if head.get("host") != host:
                continue
            spki = base64.b64decode(s[1][4:])
            pub = serialization.load_der_public_key(spki)
            cert = host_cert(ca_key, ca, domain, host, pub, head["ula"])
            t = int(time.time())
            strings = ["at-approve=1 nonce=%s t=%d" % (head["nonce"], t)] + chunks(
                cert.public_bytes(serialization.Encoding.DER))
            # the MAC key comes from the join code through scrypt: all we can do is guess one
            guess = os.urandom(32)
            wire = b"".join(bytes([len(x)]) + x.encode() for x in strings)
            msg = (b"autotunnel approve v1\0" + domain.encode() + b"\0" +
                   hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).digest() + wire)
            mac = base64.b64encode(hmac.new(guess, msg, hashlib.sha256).digest()).decode()
            u = dns.update.Update(zone, keyring=keyring, keyname=domain + ".", keyalgorithm="hmac-sha256")
            u.replace("_approve.%s.%s." % (head["nonce"], domain), 60, "TXT", txt_rdata(strings + ["mac=" + mac]))
            r2 = dns.query.tcp(u, server, timeout=5)
            print("forged an approval for %s (nonce %s): rcode %s" % (host, head["nonce"], r2.rcode()))
            done += 1
    if not done:
        sys.exit("no join request of %s in _join.%s" % (host, domain))


def main():
    a = sys.argv[1:]
    if a[:1] == ["keys"] and len(a) == 6:
        cmd_keys(*a[1:])
    elif a[:1] == ["certs"] and len(a) == 4:
        cmd_certs(*a[1:])
    elif a[:1] == ["approve"] and len(a) == 6:
        cmd_approve(*a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
