/*
 * tests/tools/pkinit_certs: PKINIT certificates from an account authority
 * made on the spot with lib/authority, for tests/netns/t_sso.sh until the
 * agent's own enrolment issues them (docs/sso.md).
 *
 *     pkinit_certs OUT DOMAIN ACCOUNT HOST=ULA...
 *
 * makes a new authority for DOMAIN and writes OUT/anchor.pem and, for each
 * HOST, OUT/HOST/ with anchor.pem, kdc.pem + kdc.key (a P-256 key; the
 * certificate names krbtgt/REALM@REALM, REALM = HOST.DOMAIN in upper case)
 * and pkinit.pem + pkinit.key (a P-256 key; the certificate names
 * ACCOUNT@DOMAIN in upper case): the files an agent's state directory holds.
 * P-256, because MIT krb5 1.20's PKINIT signs its CMS messages with ECDSA or
 * RSA only; the authority itself signs with Ed25519, which it verifies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent/kerberos.h"
#include "authority/authority.h"
#include "util/random.h"

static int rnd(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	return rand_bytes(buf, n) ? -EIO : 0;
}

static int write_cert(const char *path, const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	FILE *f = fopen(path, "w");
	int ok = x && f && PEM_write_X509(f, x);

	if (f)
		fclose(f);
	X509_free(x);
	return ok ? 0 : -1;
}

/* A P-256 key to @p keypath and a certificate for it from @p a to @p certpath. */
static int issue(const struct authority *a, struct authority_issue *req, const char *keypath,
		 const char *certpath)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t spki[256], *sp = spki, der[4096];
	size_t len;
	FILE *f;
	int n, ret = -1;

	if (!k || (n = i2d_PUBKEY(k, NULL)) <= 0 || (size_t)n > sizeof(spki) || i2d_PUBKEY(k, &sp) != n)
		goto out;
	req->spki = spki;
	req->spki_len = (size_t)n;
	if (authority_issue(a, req, (int64_t)time(NULL), rnd, NULL, der, sizeof(der), &len)) {
		fprintf(stderr, "pkinit_certs: cannot issue %s\n", certpath);
		goto out;
	}
	if (!(f = fopen(keypath, "w")))
		goto out;
	chmod(keypath, 0600);
	n = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	if (n != 1 || write_cert(certpath, der, len))
		goto out;
	ret = 0;
out:
	EVP_PKEY_free(k);
	return ret;
}

int main(int argc, char **argv)
{
	struct authority *a = NULL;
	char path[4096], path2[4096], realm[AGENT_KRB_REALM_MAX + 1], principal[512], fqdn[300];
	uint8_t der[4096];
	size_t len;

	if (argc < 5) {
		fprintf(stderr, "usage: pkinit_certs OUT DOMAIN ACCOUNT HOST=ULA...\n");
		return 2;
	}
	if (authority_create(&a, argv[2], NULL, (int64_t)time(NULL), rnd, NULL) ||
	    authority_cert_der(a, der, sizeof(der), &len)) {
		fprintf(stderr, "pkinit_certs: cannot make an authority for %s\n", argv[2]);
		return 1;
	}
	mkdir(argv[1], 0755);
	snprintf(path, sizeof(path), "%s/anchor.pem", argv[1]);
	if (write_cert(path, der, len))
		return 1;
	if (agent_krb_realm(realm, sizeof(realm), argv[2]))
		return 1;
	snprintf(principal, sizeof(principal), "%s@%s", argv[3], realm);
	for (int i = 4; i < argc; i++) {
		char host[64], *eq = strchr(argv[i], '=');
		uint8_t ula[16];
		struct authority_issue req = { 0 };

		if (!eq || (size_t)(eq - argv[i]) >= sizeof(host) || inet_pton(AF_INET6, eq + 1, ula) != 1) {
			fprintf(stderr, "pkinit_certs: HOST=ULA expected, not '%s'\n", argv[i]);
			return 2;
		}
		memcpy(host, argv[i], (size_t)(eq - argv[i]));
		host[eq - argv[i]] = '\0';
		snprintf(path, sizeof(path), "%s/%s", argv[1], host);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/%s/anchor.pem", argv[1], host);
		if (write_cert(path, der, len))
			return 1;
		snprintf(fqdn, sizeof(fqdn), "%s.%s", host, argv[2]);
		req.host = host;
		req.ula = ula;
		req.pkinit = AUTHORITY_PKINIT_KDC;
		{
			char hrealm[AGENT_KRB_REALM_MAX + 1];

			if (agent_krb_realm(hrealm, sizeof(hrealm), fqdn))
				return 1;
			req.principal = hrealm;
			snprintf(path, sizeof(path), "%s/%s/kdc.key", argv[1], host);
			snprintf(path2, sizeof(path2), "%s/%s/kdc.pem", argv[1], host);
			if (issue(a, &req, path, path2))
				return 1;
		}
		req.pkinit = AUTHORITY_PKINIT_CLIENT;
		req.principal = principal;
		snprintf(path, sizeof(path), "%s/%s/pkinit.key", argv[1], host);
		snprintf(path2, sizeof(path2), "%s/%s/pkinit.pem", argv[1], host);
		if (issue(a, &req, path, path2))
			return 1;
	}
	authority_free(a);
	return 0;
}
