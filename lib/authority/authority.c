/* The account authority: its key, its certificate, the recovery key and issuing (authority.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "agent/name.h"
#include "authority/authority.h"
#include "authority/b32.h"
#include "authority/internal.h"
#include "authority/key.h"
#include "authority/pkinit.h"
#include "authority/x509.h"

#define RECOVERY_VERSION 0x01
#define RECOVERY_BYTES (1 + AUTHORITY_SEED_LEN + 2)
#define RECOVERY_BITS (RECOVERY_BYTES * 8)

/* OIDs without an OpenSSL NID (RFC 4556 §3.2.2, §3.2.4, id-pkinit = 1.3.6.1.5.2.3) */
#define OID_PKINIT_SAN "1.3.6.1.5.2.2"
#define OID_PKINIT_KPCLIENTAUTH "1.3.6.1.5.2.3.4"
#define OID_PKINIT_KPKDC "1.3.6.1.5.2.3.5"

/* A positive serial of AUTHORITY_SERIAL_LEN bytes exactly (first byte 0x40..0x7f: no sign, no zero to strip). */
static int set_serial(X509 *x, authority_rand_fn rnd, void *ctx)
{
	uint8_t b[AUTHORITY_SERIAL_LEN];
	int r;

	if ((r = rnd(ctx, b, sizeof(b))))
		return r;
	b[0] = (uint8_t)((b[0] & 0x3f) | 0x40);
	return ASN1_STRING_set(X509_get_serialNumber(x), b, sizeof(b)) ? 0 : -EIO;
}

static int set_validity(X509 *x, int64_t from, int64_t to)
{
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)to))
		return -EIO;
	return 0;
}

/* An extension from OpenSSL's configuration syntax ("critical,CA:TRUE,pathlen:0"). */
static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)))
		return -EIO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

static struct authority *authority_alloc(const char *domain)
{
	struct authority *a = calloc(1, sizeof(*a));

	if (a && agent_name_canon(a->domain, sizeof(a->domain), domain) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

static int make_ca_cert(struct authority *a, int64_t now, authority_rand_fn rnd, void *ctx)
{
	X509_NAME *name = NULL;
	X509 *x = X509_new();
	int r = -EIO;

	if (!x || !X509_set_version(x, X509_VERSION_3))
		goto out;
	if ((r = set_serial(x, rnd, ctx)))
		goto out;
	r = -EIO;
	if (!(name = authority_x509_name(a->domain, AUTHORITY_CA_CN)) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    set_validity(x, now - AUTHORITY_SKEW_S, now + AUTHORITY_CA_VALIDITY_S) ||
	    !X509_set_pubkey(x, a->key))
		goto out;
	/* RFC 5280 §4.2.1.9: critical CA:TRUE; pathlen 0: the authority issues host certificates only */
	if (add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_conf_ext(x, x, NID_subject_key_identifier, "hash"))
		goto out;
	/* Ed25519 signs the whole message: no digest (RFC 8410 §6) */
	if (X509_sign(x, a->key, NULL) <= 0)
		goto out;
	a->cert = x;
	a->pub = X509_get0_pubkey(x);
	x = NULL;
	r = a->pub ? 0 : -EIO;
out:
	X509_NAME_free(name);
	X509_free(x);
	return r;
}

int authority_create(struct authority **out, const char *domain, const uint8_t *seed,
		     int64_t now, authority_rand_fn rnd, void *ctx)
{
	uint8_t s[AUTHORITY_SEED_LEN];
	struct authority *a;
	int r;

	*out = NULL;
	if (!(a = authority_alloc(domain)))
		return -EINVAL;
	if (seed)
		memcpy(s, seed, sizeof(s));
	else if ((r = rnd(ctx, s, sizeof(s))))
		goto fail;
	a->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, s, sizeof(s));
	OPENSSL_cleanse(s, sizeof(s));
	r = -EIO;
	if (!a->key || (r = make_ca_cert(a, now, rnd, ctx)))
		goto fail;
	*out = a;
	return 0;
fail:
	authority_free(a);
	return r;
}

/* Is @p x exactly the anchor authority_create() writes for @p domain? */
static int ca_profile_check(X509 *x, const char *domain)
{
	X509_NAME *want = authority_x509_name(domain, AUTHORITY_CA_CN);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	uint32_t ku;
	int r = -EBADMSG;

	if (!want)
		return -EIO;
	if (X509_get_version(x) != X509_VERSION_3 || X509_NAME_cmp(X509_get_subject_name(x), want) ||
	    X509_NAME_cmp(X509_get_issuer_name(x), want) || !pub || !EVP_PKEY_is_a(pub, "ED25519") ||
	    X509_get_signature_nid(x) != NID_ED25519)
		goto out;
	/* computes the cached extension flags; fails for malformed or duplicate extensions */
	if (!(X509_get_extension_flags(x) & EXFLAG_CA) || (X509_get_extension_flags(x) & EXFLAG_INVALID) ||
	    X509_get_pathlen(x) != 0)
		goto out;
	ku = X509_get_key_usage(x);
	if (!(ku & KU_KEY_CERT_SIGN) || X509_get0_subject_key_id(x) == NULL)
		goto out;
	if (X509_verify(x, pub) != 1)
		goto out;
	r = 0;
out:
	X509_NAME_free(want);
	return r;
}

static int load_common(struct authority **out, const char *domain, const uint8_t *cert, size_t certlen,
		       EVP_PKEY *key)
{
	struct authority *a;
	int r;

	*out = NULL;
	if (!(a = authority_alloc(domain))) {
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	a->key = key;
	r = -EBADMSG;
	if (!(a->cert = authority_x509_parse(cert, certlen)) || (r = ca_profile_check(a->cert, a->domain)))
		goto fail;
	a->pub = X509_get0_pubkey(a->cert);
	if (key && EVP_PKEY_eq(key, a->pub) != 1) {
		r = -EKEYREJECTED;
		goto fail;
	}
	*out = a;
	return 0;
fail:
	authority_free(a);
	return r;
}

int authority_load(struct authority **out, const char *domain, const uint8_t *cert, size_t certlen,
		   const uint8_t *pkcs8, size_t p8len)
{
	EVP_PKEY *key = NULL;

	if (pkcs8) {
		const unsigned char *p = pkcs8;
		PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)p8len);

		if (p8 && (size_t)(p - pkcs8) == p8len)
			key = EVP_PKCS82PKEY(p8);
		PKCS8_PRIV_KEY_INFO_free(p8);
		if (!key || !EVP_PKEY_is_a(key, "ED25519")) {
			EVP_PKEY_free(key);
			*out = NULL;
			return -EBADMSG;
		}
	}
	return load_common(out, domain, cert, certlen, key);
}

int authority_load_seed(struct authority **out, const char *domain, const uint8_t *cert, size_t certlen,
			const uint8_t seed[static AUTHORITY_SEED_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, AUTHORITY_SEED_LEN);

	if (!key) {
		*out = NULL;
		return -EIO;
	}
	return load_common(out, domain, cert, certlen, key);
}

void authority_free(struct authority *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->key);
	X509_free(a->cert);
	free(a);
}

const char *authority_domain(const struct authority *a)
{
	return a->domain;
}

bool authority_can_sign(const struct authority *a)
{
	return a->key != NULL;
}

int authority_cert_der(const struct authority *a, uint8_t *buf, size_t cap, size_t *len)
{
	int n = i2d_X509(a->cert, NULL);
	unsigned char *p = buf;

	*len = 0;
	if (n <= 0)
		return -EIO;
	if ((size_t)n > cap)
		return -ENOSPC;
	if (i2d_X509(a->cert, &p) != n)
		return -EIO;
	*len = (size_t)n;
	return 0;
}

int authority_pkcs8(const struct authority *a, uint8_t *buf, size_t cap, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	int n, r = -EIO;

	*len = 0;
	if (!a->key)
		return -ENOKEY;
	if (!(p8 = EVP_PKEY2PKCS8(a->key)))
		return -EIO;
	if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) > 0) {
		if ((size_t)n > cap) {
			r = -ENOSPC;
		} else {
			memcpy(buf, der, (size_t)n);
			*len = (size_t)n;
			r = 0;
		}
		OPENSSL_clear_free(der, (size_t)n);
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	return r;
}

void authority_key_id(const struct authority *a, uint8_t out[static 32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(a->pub, &der);

	if (n <= 0)
		memset(out, 0, 32);
	else
		SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
}

int authority_recovery_key(const struct authority *a, char *buf, size_t cap)
{
	uint8_t b[RECOVERY_BYTES];
	size_t slen = AUTHORITY_SEED_LEN;
	uint16_t crc;
	int r;

	if (!a->key)
		return -ENOKEY;
	b[0] = RECOVERY_VERSION;
	if (EVP_PKEY_get_raw_private_key(a->key, b + 1, &slen) != 1 || slen != AUTHORITY_SEED_LEN) {
		OPENSSL_cleanse(b, sizeof(b));
		return -EIO;
	}
	crc = authority_crc16(b, 1 + AUTHORITY_SEED_LEN);
	b[1 + AUTHORITY_SEED_LEN] = (uint8_t)(crc >> 8);
	b[2 + AUTHORITY_SEED_LEN] = (uint8_t)crc;
	r = authority_b32_encode(buf, cap, b, RECOVERY_BITS, 4);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

int authority_recovery_parse(const char *text, uint8_t seed[static AUTHORITY_SEED_LEN])
{
	uint8_t b[RECOVERY_BYTES];
	int r = 0;

	memset(seed, 0, AUTHORITY_SEED_LEN);
	if (authority_b32_decode(b, text, RECOVERY_BITS))
		return -EINVAL;
	/* the CRC first: a typo in the version symbol is a typo, not another version */
	if (authority_crc16(b, 1 + AUTHORITY_SEED_LEN) !=
	    (uint16_t)(b[1 + AUTHORITY_SEED_LEN] << 8 | b[2 + AUTHORITY_SEED_LEN]))
		r = -EBADMSG;
	else if (b[0] != RECOVERY_VERSION)
		r = -EPROTONOSUPPORT;
	else
		memcpy(seed, b + 1, AUTHORITY_SEED_LEN);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

/* Host certificates */

static int add_san(X509 *x, const char *fqdn, const uint8_t ula[16], enum authority_pkinit pkinit,
		   const char *principal)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = NULL;
	ASN1_STRING *s = NULL;
	uint8_t der[4 * AUTHORITY_PRINCIPAL_MAX + 64];
	size_t derlen;
	int r = -EIO;

	if (!gens)
		return -EIO;
	/* RFC 5280 §4.2.1.6: dNSName H.D, iPAddress the 16 bytes of the ULA */
	if (!(g = GENERAL_NAME_new()) || !(s = ASN1_IA5STRING_new()) || !ASN1_STRING_set(s, fqdn, -1))
		goto out;
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto out;
	if (!(g = GENERAL_NAME_new()) || !(s = ASN1_OCTET_STRING_new()) || !ASN1_STRING_set(s, ula, 16))
		goto out;
	GENERAL_NAME_set0_value(g, GEN_IPADD, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto out;
	g = NULL;
	if (pkinit != AUTHORITY_PKINIT_NONE) {
		const unsigned char *p = der;
		ASN1_TYPE *val;
		ASN1_OBJECT *oid;

		if ((r = authority_pkinit_san_der(pkinit, principal, der, sizeof(der), &derlen)))
			goto out;
		r = -EIO;
		if (!(g = GENERAL_NAME_new()))
			goto out;
		if (!(val = d2i_ASN1_TYPE(NULL, &p, (long)derlen)))
			goto out;
		if (!(oid = OBJ_txt2obj(OID_PKINIT_SAN, 1))) {
			ASN1_TYPE_free(val);
			goto out;
		}
		if (!GENERAL_NAME_set0_othername(g, oid, val)) {
			ASN1_OBJECT_free(oid);
			ASN1_TYPE_free(val);
			goto out;
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			goto out;
		g = NULL;
	}
	r = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -EIO;
out:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return r;
}

static int push_oid(EXTENDED_KEY_USAGE *eku, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);

	if (!o || !sk_ASN1_OBJECT_push(eku, o)) {
		ASN1_OBJECT_free(o);
		return -EIO;
	}
	return 0;
}

static int add_eku(X509 *x, enum authority_pkinit pkinit)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int r = -EIO;

	if (!eku)
		return -EIO;
	/*
	 * id-kp-ipsecIKE (RFC 4945 §5.1.3.12) for IKEv2; serverAuth and
	 * clientAuth so that TLS stacks and MIT's PKINIT (which also accepts
	 * them when configured) take the certificate; the PKINIT purposes of
	 * RFC 4556 §3.2.2 (client) and §3.2.4 (KDC) when asked.
	 */
	if (push_oid(eku, "1.3.6.1.5.5.7.3.17") || push_oid(eku, "1.3.6.1.5.5.7.3.1") ||
	    push_oid(eku, "1.3.6.1.5.5.7.3.2"))
		goto out;
	if (pkinit == AUTHORITY_PKINIT_CLIENT && push_oid(eku, OID_PKINIT_KPCLIENTAUTH))
		goto out;
	if (pkinit == AUTHORITY_PKINIT_KDC && push_oid(eku, OID_PKINIT_KPKDC))
		goto out;
	r = X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -EIO;
out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return r;
}

static int issue_check(const struct authority_issue *req, char *fqdn, size_t cap, const char *domain)
{
	size_t hl;

	if (!req->host || !req->ula || !req->spki)
		return -EINVAL;
	hl = strnlen(req->host, AGENT_LABEL_MAX + 1);
	if (hl > AGENT_LABEL_MAX || agent_label_check(req->host, hl))
		return -EINVAL;
	if ((req->ula[0] & 0xfe) != 0xfc)
		return -EINVAL;	/* RFC 4193 §3.1: fc00::/7 */
	if (req->validity_s && (req->validity_s < AUTHORITY_HOST_VALIDITY_MIN ||
				req->validity_s > AUTHORITY_HOST_VALIDITY_MAX))
		return -EINVAL;
	if (authority_spki_check(req->spki, req->spki_len) < 0)
		return -EINVAL;
	if (req->pkinit > AUTHORITY_PKINIT_KDC || (req->pkinit != AUTHORITY_PKINIT_NONE && !req->principal))
		return -EINVAL;
	if (hl + 1 + strlen(domain) > AGENT_NAME_MAX || hl + 1 + strlen(domain) >= cap)
		return -EINVAL;
	memcpy(fqdn, req->host, hl);
	fqdn[hl] = '.';
	strcpy(fqdn + hl + 1, domain);
	return 0;
}

int authority_issue(const struct authority *a, const struct authority_issue *req, int64_t now,
		    authority_rand_fn rnd, void *ctx, uint8_t *der, size_t cap, size_t *len)
{
	char fqdn[AGENT_NAME_MAX + 1];
	const unsigned char *p = req->spki;
	uint32_t validity;
	X509_NAME *subject = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;
	unsigned char *out;
	int r, n;

	*len = 0;
	if (!a->key)
		return -ENOKEY;
	if ((r = issue_check(req, fqdn, sizeof(fqdn), a->domain)))
		return r;
	validity = req->validity_s ? req->validity_s : AUTHORITY_HOST_VALIDITY_DEFAULT;
	r = -EIO;
	if (!(pub = d2i_PUBKEY(NULL, &p, (long)req->spki_len)) || !(x = X509_new()) ||
	    !X509_set_version(x, X509_VERSION_3))
		goto out;
	if ((r = set_serial(x, rnd, ctx)))
		goto out;
	r = -EIO;
	if (!(subject = authority_x509_name(a->domain, req->host)) || !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(a->cert)) ||
	    set_validity(x, now - AUTHORITY_SKEW_S, now + validity) || !X509_set_pubkey(x, pub))
		goto out;
	if (add_conf_ext(x, a->cert, NID_basic_constraints, "CA:FALSE") ||
	    add_conf_ext(x, a->cert, NID_key_usage, "critical,digitalSignature") ||
	    add_conf_ext(x, a->cert, NID_subject_key_identifier, "hash") ||
	    add_conf_ext(x, a->cert, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if ((r = add_san(x, fqdn, req->ula, req->pkinit, req->principal)) || (r = add_eku(x, req->pkinit)))
		goto out;
	r = -EIO;
	if (X509_sign(x, a->key, NULL) <= 0 || (n = i2d_X509(x, NULL)) <= 0)
		goto out;
	if ((size_t)n > cap || (size_t)n > AUTHORITY_CERT_DER_MAX) {
		r = -ENOSPC;
		goto out;
	}
	out = der;
	if (i2d_X509(x, &out) != n)
		goto out;
	*len = (size_t)n;
	r = 0;
out:
	X509_NAME_free(subject);
	EVP_PKEY_free(pub);
	X509_free(x);
	return r;
}
