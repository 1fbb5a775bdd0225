/* Host key checks and the authority's signatures (key.h). */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "authority/internal.h"
#include "authority/key.h"

/* SubjectPublicKeyInfo sizes (RFC 8410 §4; RFC 5480 §2 with an uncompressed point, RFC 5480 §2.2) */
#define SPKI_ED25519_LEN 44
#define SPKI_P256_LEN 91

int authority_spki_check(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;
	unsigned char *back = NULL;
	EVP_PKEY *k;
	char group[32];
	int r = -EINVAL, n;

	if (!spki || len == 0 || len > AUTHORITY_SPKI_MAX)
		return -EINVAL;
	if (!(k = d2i_PUBKEY(NULL, &p, (long)len)))
		return -EINVAL;
	if ((size_t)(p - spki) != len || (n = i2d_PUBKEY(k, &back)) < 0 || (size_t)n != len ||
	    memcmp(back, spki, len))
		goto out;
	if (EVP_PKEY_is_a(k, "ED25519") && len == SPKI_ED25519_LEN)
		r = AUTHORITY_KEY_ED25519;
	else if (EVP_PKEY_is_a(k, "EC") && len == SPKI_P256_LEN &&
		 EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) &&
		 !strcmp(group, "prime256v1"))
		r = AUTHORITY_KEY_P256;	/* a named curve; the length rules out compressed points */
out:
	OPENSSL_free(back);
	EVP_PKEY_free(k);
	return r;
}

int authority_sign(const struct authority *a, const uint8_t *msg, size_t n, uint8_t sig[static 64])
{
	EVP_MD_CTX *md;
	size_t siglen = 64;
	int r = -EIO;

	if (!a->key)
		return -ENOKEY;
	if (!(md = EVP_MD_CTX_new()))
		return -EIO;
	/* RFC 8032 §5.1.6 pure Ed25519: no digest (NULL), the whole message at once */
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, a->key) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, n) == 1 && siglen == 64)
		r = 0;
	EVP_MD_CTX_free(md);
	return r;
}

int authority_sig_verify(const struct authority *a, const uint8_t *msg, size_t n, const uint8_t sig[static 64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -EKEYREJECTED;

	if (!md)
		return -EIO;
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, a->pub) == 1 &&
	    EVP_DigestVerify(md, sig, 64, msg, n) == 1)
		r = 0;
	EVP_MD_CTX_free(md);
	return r;
}
