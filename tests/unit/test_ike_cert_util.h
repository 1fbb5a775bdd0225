/*
 * Certificates for the lib/ike tests, made with OpenSSL calls: a CA and
 * host certificates with a subjectAltName dNSName, Ed25519 or ECDSA P-256,
 * valid from @p from_s to @p to_s seconds relative to now. Test helper
 * (static functions, included by test_ike.c and test_ike_cert.c).
 */
#ifndef AT_TEST_IKE_CERT_UTIL_H
#define AT_TEST_IKE_CERT_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct tcert {
	EVP_PKEY *key;
	X509 *x;
	uint8_t *der, *key_der;
	size_t der_len, key_der_len;
};

static inline EVP_PKEY *tcert_key(bool ed25519)
{
	return ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static inline void tcert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e || !X509_add_ext(x, e, -1))
		abort();
	X509_EXTENSION_free(e);
}

/*
 * A certificate for @p key (taken) named @p cn, with subjectAltName
 * @p san ("DNS:..."; NULL: none), signed by @p ca (NULL: self-signed, a CA).
 * tcert_make_ca: an intermediate CA signed by @p ca.
 */
static inline void tcert_make_x(struct tcert *c, EVP_PKEY *key, const char *cn, const char *san, const struct tcert *ca,
			 long from_s, long to_s, bool is_ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n;
	EVP_PKEY *signer = ca ? ca->key : key;
	unsigned char *p;
	int len;

	memset(c, 0, sizeof(*c));
	c->key = key;
	c->x = x;
	if (!x || !key || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), from_s) || !X509_gmtime_adj(X509_getm_notAfter(x), to_s) ||
	    !X509_set_pubkey(x, key))
		abort();
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca->x) : n);
	if (!ca || is_ca) {
		tcert_ext(x, ca ? ca->x : NULL, NID_basic_constraints, "critical,CA:TRUE");
		tcert_ext(x, ca ? ca->x : NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		tcert_ext(x, ca->x, NID_basic_constraints, "critical,CA:FALSE");
		tcert_ext(x, ca->x, NID_key_usage, "critical,digitalSignature");
	}
	if (san)
		tcert_ext(x, ca ? ca->x : NULL, NID_subject_alt_name, san);
	/* Ed25519 signs without a separate digest */
	if (!X509_sign(x, signer, EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256()))
		abort();
	p = NULL;
	len = i2d_X509(x, &p);
	if (len <= 0)
		abort();
	c->der = p;
	c->der_len = (size_t)len;
	p = NULL;
	len = i2d_PrivateKey(key, &p);
	if (len <= 0)
		abort();
	c->key_der = p;
	c->key_der_len = (size_t)len;
}

static inline void tcert_make(struct tcert *c, EVP_PKEY *key, const char *cn, const char *san,
			      const struct tcert *ca, long from_s, long to_s)
{
	tcert_make_x(c, key, cn, san, ca, from_s, to_s, false);
}

static inline void tcert_make_ca(struct tcert *c, EVP_PKEY *key, const char *cn, const struct tcert *ca)
{
	tcert_make_x(c, key, cn, NULL, ca, -3600, 86400, true);
}

static inline void tcert_free(struct tcert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->key);
	OPENSSL_free(c->der);
	OPENSSL_free(c->key_der);
	memset(c, 0, sizeof(*c));
}

#endif
