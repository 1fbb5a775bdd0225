/*
 * Certificates and RFC 7427 signatures through OpenSSL 3 (EVP, X509).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ike/cert.h"

/*
 * RFC 7427 §3: the AUTH data starts with the DER AlgorithmIdentifier of the
 * signature, its length in one octet before it. Ed25519: RFC 8420 §2 (id-Ed25519,
 * no parameters); ECDSA with SHA-256: ecdsa-with-SHA256 (RFC 5758 §3.2, no
 * parameters), the signature a DER Ecdsa-Sig-Value.
 */
static const uint8_t alg_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t alg_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

enum key_kind { KEY_NONE, KEY_ED25519, KEY_P256 };

static enum key_kind kind(EVP_PKEY *k)
{
	char group[32];
	size_t gl = 0;

	if (!k)
		return KEY_NONE;
	if (EVP_PKEY_is_a(k, "ED25519"))
		return KEY_ED25519;
	if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl) &&
	    strcmp(group, "prime256v1") == 0)
		return KEY_P256;
	return KEY_NONE;
}

static X509 *x509_from(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = len ? d2i_X509(NULL, &p, (long)len) : NULL;

	/* the whole input must be one certificate */
	if (x && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int ike_cred_init(struct ike_cred *c, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
		  const uint8_t *ca, size_t ca_len)
{
	const unsigned char *kp = key;
	unsigned char *spki = NULL;
	unsigned int hl = 0;
	int spki_len, err = -EINVAL;

	memset(c, 0, sizeof(*c));
	if (cert_len > IKE_MSG_MAX / 2 || key_len == 0 || key_len > 4096)
		return -EINVAL;
	c->cert = x509_from(cert, cert_len);
	c->ca = x509_from(ca, ca_len);
	c->key = d2i_AutoPrivateKey(NULL, &kp, (long)key_len);
	if (!c->cert || !c->ca || !c->key || kind(c->key) == KEY_NONE || X509_check_private_key(c->cert, c->key) != 1)
		goto fail;
	c->hash = kind(c->key) == KEY_ED25519 ? IKE_HASH_IDENTITY : IKE_HASH_SHA2_256;
	err = -ENOMEM;
	if (!(c->cert_der = malloc(cert_len)))
		goto fail;
	memcpy(c->cert_der, cert, cert_len);
	c->cert_der_len = cert_len;
	/* RFC 7296 §3.7: the SHA-1 hash of the CA's SubjectPublicKeyInfo */
	spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY((X509 *)c->ca), &spki);
	if (spki_len <= 0 || !EVP_Digest(spki, (size_t)spki_len, c->ca_hash, &hl, EVP_sha1(), NULL) ||
	    hl != IKE_CA_HASH_LEN) {
		OPENSSL_free(spki);
		err = -EINVAL;
		goto fail;
	}
	OPENSSL_free(spki);
	return 0;
fail:
	ike_cred_fini(c);
	return err;
}

void ike_cred_fini(struct ike_cred *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	X509_free(c->ca);
	free(c->cert_der);
	memset(c, 0, sizeof(*c));
}

unsigned ike_cred_hash_bit(const struct ike_cred *c)
{
	return 1u << c->hash;
}

/* The concatenation @p iov in one heap buffer (Ed25519 signs in one shot). */
static uint8_t *concat(const struct ike_iov *iov, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *buf;

	for (size_t i = 0; i < n; i++)
		total += iov[i].len;
	if (!(buf = malloc(total ? total : 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len)
			memcpy(buf + off, iov[i].p, iov[i].len);
		off += iov[i].len;
	}
	*len = total;
	return buf;
}

int ike_sig_sign(const struct ike_cred *c, const struct ike_iov *iov, size_t n, uint8_t *out, size_t *outlen)
{
	enum key_kind k = kind(c->key);
	const uint8_t *alg = k == KEY_ED25519 ? alg_ed25519 : alg_ecdsa_sha256;
	size_t alen = k == KEY_ED25519 ? sizeof(alg_ed25519) : sizeof(alg_ecdsa_sha256);
	size_t tbslen = 0, siglen = IKE_SIG_MAX - 1 - alen;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *tbs = concat(iov, n, &tbslen);
	int err = -EIO;

	if (!md || !tbs) {
		err = -ENOMEM;
		goto out;
	}
	if (k == KEY_NONE)
		goto out;
	out[0] = (uint8_t)alen;
	memcpy(out + 1, alg, alen);
	if (EVP_DigestSignInit_ex(md, NULL, k == KEY_ED25519 ? NULL : "SHA256", NULL, NULL, c->key, NULL) == 1 &&
	    EVP_DigestSign(md, out + 1 + alen, &siglen, tbs, tbslen) == 1) {
		*outlen = 1 + alen + siglen;
		err = 0;
	}
out:
	EVP_MD_CTX_free(md);
	free(tbs);
	return err;
}

/* RFC 5280 path validation to our one trust anchor, at @p now_s unless 0. */
static int chain_ok(const struct ike_cred *c, X509 *leaf, const struct ike_ref *certs, unsigned ncerts,
		    int64_t now_s)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *inter = sk_X509_new_null();
	int err = -ENOMEM;

	if (!st || !ctx || !inter || X509_STORE_add_cert(st, c->ca) != 1)
		goto out;
	err = -EBADMSG;
	for (unsigned i = 1; i < ncerts; i++) {
		X509 *x = x509_from(certs[i].p, certs[i].len);

		if (!x)
			goto out;
		if (!sk_X509_push(inter, x)) {
			X509_free(x);
			err = -ENOMEM;
			goto out;
		}
	}
	err = -EACCES;
	if (X509_STORE_CTX_init(ctx, st, leaf, inter) != 1)
		goto out;
	if (now_s)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now_s);
	if (X509_verify_cert(ctx) == 1)
		err = 0;
out:
	sk_X509_pop_free(inter, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return err;
}

static int sig_ok(EVP_PKEY *pub, const uint8_t *auth, size_t authlen, const struct ike_iov *iov, size_t n)
{
	enum key_kind k = kind(pub);
	size_t alen, tbslen = 0;
	const uint8_t *alg;
	EVP_MD_CTX *md;
	uint8_t *tbs;
	int err = -EACCES;

	if (authlen < 1 || (size_t)auth[0] + 1 >= authlen)
		return -EBADMSG;
	alen = auth[0];
	alg = auth + 1;
	/* the AlgorithmIdentifier must be the one that fits the certificate's key */
	if (!(k == KEY_ED25519 && alen == sizeof(alg_ed25519) && memcmp(alg, alg_ed25519, alen) == 0) &&
	    !(k == KEY_P256 && alen == sizeof(alg_ecdsa_sha256) && memcmp(alg, alg_ecdsa_sha256, alen) == 0))
		return -EACCES;
	md = EVP_MD_CTX_new();
	tbs = concat(iov, n, &tbslen);
	if (!md || !tbs) {
		err = -ENOMEM;
	} else if (EVP_DigestVerifyInit_ex(md, NULL, k == KEY_ED25519 ? NULL : "SHA256", NULL, NULL, pub, NULL) == 1 &&
		   EVP_DigestVerify(md, auth + 1 + alen, authlen - 1 - alen, tbs, tbslen) == 1) {
		err = 0;
	}
	EVP_MD_CTX_free(md);
	free(tbs);
	return err;
}

int ike_cert_check(const struct ike_cred *c, const struct ike_ref *certs, unsigned ncerts, const char *id,
		   size_t idlen, int64_t now_s, const uint8_t *auth, size_t authlen, const struct ike_iov *iov,
		   size_t n)
{
	X509 *leaf;
	int err;

	if (ncerts == 0)
		return -EACCES;		/* we keep no certificates of peers: they must send theirs */
	if (!(leaf = x509_from(certs[0].p, certs[0].len)))
		return -EBADMSG;
	err = chain_ok(c, leaf, certs, ncerts, now_s);
	/* the identity the peer claims is one the certificate names (no wildcards, never the subject CN) */
	if (!err && (idlen == 0 || memchr(id, 0, idlen) ||
		     X509_check_host(leaf, id, idlen,
				     X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1))
		err = -EACCES;
	if (!err)
		err = sig_ok(X509_get0_pubkey(leaf), auth, authlen, iov, n);
	X509_free(leaf);
	return err;
}
