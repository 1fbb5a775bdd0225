/*
 * lib/ike certificates: RFC 7427 AUTH data with the AlgorithmIdentifiers
 * of RFC 8420 §2 (Ed25519) and of ecdsa-with-SHA256 (RFC 7427 Appendix A,
 * RFC 5758 §3.2), signatures made and checked, the CERTREQ hash (RFC 7296
 * §3.7), chains with an intermediate, and every refusal of ike_cert_check.
 * Certificates are made here with OpenSSL calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ike/cert.h"
#include "test_ike_cert_util.h"

static const uint8_t alg_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t alg_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static const char msg[] = "IKE_SA_INIT message", nonce[] = "the other end's nonce", macid[] = "prf(SK_p, IDbody)";

static void signed_octets(struct ike_iov iov[3])
{
	iov[0] = (struct ike_iov){ msg, sizeof(msg) - 1 };
	iov[1] = (struct ike_iov){ nonce, sizeof(nonce) - 1 };
	iov[2] = (struct ike_iov){ macid, sizeof(macid) - 1 };
}

static void cred(struct ike_cred *c, const struct tcert *me, const struct tcert *ca)
{
	assert_int_equal(ike_cred_init(c, me->der, me->der_len, me->key_der, me->key_der_len, ca->der, ca->der_len), 0);
}

static void sign_and_check(bool ed)
{
	struct tcert ca, host;
	struct ike_cred c;
	struct ike_iov iov[3];
	struct ike_ref certs[1];
	uint8_t auth[IKE_SIG_MAX];
	size_t alen = 0;
	const uint8_t *alg = ed ? alg_ed25519 : alg_ecdsa_sha256;
	size_t algl = ed ? sizeof(alg_ed25519) : sizeof(alg_ecdsa_sha256);

	tcert_make(&ca, tcert_key(!ed), "CA", NULL, NULL, -3600, 86400);
	tcert_make(&host, tcert_key(ed), "host", "DNS:host.example.net", &ca, -3600, 86400);
	cred(&c, &host, &ca);
	assert_int_equal(c.hash, ed ? IKE_HASH_IDENTITY : IKE_HASH_SHA2_256);
	signed_octets(iov);
	assert_int_equal(ike_sig_sign(&c, iov, 3, auth, &alen), 0);
	/* RFC 7427 §3: length of the AlgorithmIdentifier, the AlgorithmIdentifier, the signature */
	assert_int_equal(auth[0], algl);
	assert_memory_equal(auth + 1, alg, algl);
	if (ed)
		assert_int_equal(alen, 1 + algl + 64);		/* RFC 8032 §5.1.6: 64 octets */
	else
		assert_int_equal(auth[1 + algl], 0x30);	/* a DER Ecdsa-Sig-Value */
	certs[0] = (struct ike_ref){ host.der, host.der_len };
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, alen, iov, 3), 0);
	/* ID matching is case-insensitive (DNS), but exact otherwise */
	assert_int_equal(ike_cert_check(&c, certs, 1, "HOST.example.net", 16, 0, auth, alen, iov, 3), 0);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.ne", 15, 0, auth, alen, iov, 3), -EACCES);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net\0x", 18, 0, auth, alen, iov, 3), -EACCES);
	/* other signed octets, or a flipped bit of the signature */
	iov[1].len--;
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, alen, iov, 3), -EACCES);
	iov[1].len++;
	auth[alen - 1] ^= 1;
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, alen, iov, 3), -EACCES);
	auth[alen - 1] ^= 1;
	/* the other algorithm's identifier: refused, it does not fit the key */
	{
		uint8_t other[IKE_SIG_MAX];
		const uint8_t *oalg = ed ? alg_ecdsa_sha256 : alg_ed25519;
		size_t oal = ed ? sizeof(alg_ecdsa_sha256) : sizeof(alg_ed25519);

		other[0] = (uint8_t)oal;
		memcpy(other + 1, oalg, oal);
		memcpy(other + 1 + oal, auth + 1 + algl, alen - 1 - algl);
		assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, other, alen - algl + oal,
						iov, 3), -EACCES);
	}
	/* AUTH data that ends inside its AlgorithmIdentifier, or has no signature */
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, algl, iov, 3), -EBADMSG);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, 1 + algl, iov, 3), -EBADMSG);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, 0, iov, 3), -EBADMSG);
	/* no certificate, a truncated one, one past its validity (a wall clock given) */
	assert_int_equal(ike_cert_check(&c, certs, 0, "host.example.net", 16, 0, auth, alen, iov, 3), -EACCES);
	certs[0].len--;
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, alen, iov, 3), -EBADMSG);
	certs[0].len++;
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, (int64_t)time(NULL) + 2 * 86400,
					auth, alen, iov, 3), -EACCES);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, (int64_t)time(NULL) - 2 * 3600,
					auth, alen, iov, 3), -EACCES);
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, (int64_t)time(NULL) + 3600,
					auth, alen, iov, 3), 0);
	ike_cred_fini(&c);
	tcert_free(&host);
	tcert_free(&ca);
}

static void test_sign_ed25519(void **st) { (void)st; sign_and_check(true); }
static void test_sign_ecdsa_p256(void **st) { (void)st; sign_and_check(false); }

/* RFC 7296 §3.7: the CERTREQ names the CA by the SHA-1 of its SubjectPublicKeyInfo. */
static void test_ca_hash(void **st)
{
	struct tcert ca, host;
	struct ike_cred c;
	unsigned char *spki = NULL;
	uint8_t h[20];
	unsigned int hl = 0;
	int n;

	(void)st;
	tcert_make(&ca, tcert_key(false), "CA", NULL, NULL, -3600, 86400);
	tcert_make(&host, tcert_key(true), "host", "DNS:host.example.net", &ca, -3600, 86400);
	cred(&c, &host, &ca);
	/* from the CA's key, not its certificate */
	n = i2d_PUBKEY(ca.key, &spki);
	assert_true(n > 0);
	assert_true(EVP_Digest(spki, (size_t)n, h, &hl, EVP_sha1(), NULL));
	OPENSSL_free(spki);
	assert_memory_equal(c.ca_hash, h, 20);
	assert_int_equal(c.cert_der_len, host.der_len);
	assert_memory_equal(c.cert_der, host.der, host.der_len);
	ike_cred_fini(&c);
	tcert_free(&host);
	tcert_free(&ca);
}

/* A chain through an intermediate CA: sent after the end entity, it completes the path. */
static void test_intermediate(void **st)
{
	struct tcert root, inter, host, me;
	struct ike_cred c, peer;
	struct ike_iov iov[3];
	struct ike_ref certs[2];
	uint8_t auth[IKE_SIG_MAX];
	size_t alen;

	(void)st;
	tcert_make(&root, tcert_key(true), "root", NULL, NULL, -3600, 86400);
	tcert_make_ca(&inter, tcert_key(false), "intermediate", &root);
	tcert_make(&host, tcert_key(false), "host", "DNS:host.example.net", &inter, -3600, 86400);
	tcert_make(&me, tcert_key(true), "me", "DNS:me.example.net", &root, -3600, 86400);
	cred(&c, &me, &root);
	cred(&peer, &host, &root);	/* the peer's key, to sign as it would */
	signed_octets(iov);
	assert_int_equal(ike_sig_sign(&peer, iov, 3, auth, &alen), 0);
	certs[0] = (struct ike_ref){ host.der, host.der_len };
	certs[1] = (struct ike_ref){ inter.der, inter.der_len };
	assert_int_equal(ike_cert_check(&c, certs, 2, "host.example.net", 16, 0, auth, alen, iov, 3), 0);
	/* without the intermediate there is no path */
	assert_int_equal(ike_cert_check(&c, certs, 1, "host.example.net", 16, 0, auth, alen, iov, 3), -EACCES);
	/* a garbage intermediate is malformed */
	certs[1].len = 10;
	assert_int_equal(ike_cert_check(&c, certs, 2, "host.example.net", 16, 0, auth, alen, iov, 3), -EBADMSG);
	ike_cred_fini(&peer);
	ike_cred_fini(&c);
	tcert_free(&me);
	tcert_free(&host);
	tcert_free(&inter);
	tcert_free(&root);
}

/* Keys other than Ed25519 and P-256 are refused at configuration. */
static void test_cred_keys(void **st)
{
	struct tcert ca, host;
	struct ike_cred c;
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	(void)st;
	tcert_make(&ca, tcert_key(true), "CA", NULL, NULL, -3600, 86400);
	tcert_make(&host, p384, "host", "DNS:host.example.net", &ca, -3600, 86400);
	assert_int_equal(ike_cred_init(&c, host.der, host.der_len, host.key_der, host.key_der_len, ca.der, ca.der_len),
			 -EINVAL);
	assert_int_equal(ike_cred_init(&c, host.der, host.der_len, host.key_der, host.key_der_len, ca.der, 5),
			 -EINVAL);
	tcert_free(&host);
	tcert_free(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_ed25519),
		cmocka_unit_test(test_sign_ecdsa_p256),
		cmocka_unit_test(test_ca_hash),
		cmocka_unit_test(test_intermediate),
		cmocka_unit_test(test_cred_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
