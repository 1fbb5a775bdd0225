/*
 * lib/authority: the account authority of docs/authority.md. Create, issue,
 * verify and every refusal of verification; the recovery key with every
 * single-symbol typo; PKCS#8; the PKINIT name against hand-written DER; the
 * revocation list signed, tampered and at its bounds; the join code and the
 * approval; every record built, parsed back and at its bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "authority/authority.h"
#include "authority/b32.h"
#include "authority/cert.h"
#include "authority/pkinit.h"
#include "authority/records.h"
#include "authority/renew.h"
#include "authority/revoked.h"

#define D "alice.members.example.net"
#define NOW ((int64_t)1796000000)	/* 2026-11-29 */
#define DAY 86400

/* A deterministic generator: SHA-256(label || counter), so every run issues the same bytes. */
struct stream {
	uint8_t label;
	uint32_t ctr;
};

static int stream_rand(void *ctx, void *buf, size_t n)
{
	struct stream *s = ctx;
	uint8_t *p = buf;

	while (n) {
		uint8_t in[5] = { s->label, (uint8_t)(s->ctr >> 24), (uint8_t)(s->ctr >> 16),
				  (uint8_t)(s->ctr >> 8), (uint8_t)s->ctr };
		uint8_t d[32];
		size_t k = n < 32 ? n : 32;

		SHA256(in, sizeof(in), d);
		s->ctr++;
		memcpy(p, d, k);
		p += k;
		n -= k;
	}
	return 0;
}

static int failing_rand(void *ctx, void *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return -EIO;
}

static struct stream rs = { .label = 1 };

static const uint8_t ula_laptop[16] = { 0xfd, 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1,
					0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a };
static const uint8_t ula_desktop[16] = { 0xfd, 0x91, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 };

static struct authority *new_authority(const char *domain, uint8_t label)
{
	struct stream s = { .label = label };
	struct authority *a;

	assert_int_equal(authority_create(&a, domain, NULL, NOW, stream_rand, &s), 0);
	return a;
}

/* An Ed25519 host key from a fixed seed: its SPKI DER. */
static size_t ed_spki(uint8_t label, uint8_t *spki)
{
	uint8_t seed[32];
	EVP_PKEY *k;
	unsigned char *p = spki;
	int n;

	memset(seed, label, sizeof(seed));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	assert_non_null(k);
	n = i2d_PUBKEY(k, &p);
	assert_int_equal(n, 44);
	EVP_PKEY_free(k);
	return (size_t)n;
}

static size_t p256_spki(uint8_t *spki)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *p = spki;
	int n;

	assert_non_null(k);
	n = i2d_PUBKEY(k, &p);
	assert_int_equal(n, 91);
	EVP_PKEY_free(k);
	return (size_t)n;
}

static size_t issue(struct authority *a, const char *host, const uint8_t *ula, const uint8_t *spki,
		    size_t spki_len, int64_t now, uint8_t *der)
{
	struct authority_issue req = { .host = host, .ula = ula, .spki = spki, .spki_len = spki_len };
	size_t len;

	assert_int_equal(authority_issue(a, &req, now, stream_rand, &rs, der, AUTHORITY_CERT_DER_MAX, &len), 0);
	return len;
}

/* Crockford base32 and the CRC */

static void test_b32(void **state)
{
	static const uint8_t v[5] = { 0x08, 0x86, 0x42, 0x98, 0xe8 };
	static const uint8_t ones[5] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t out[5];
	char s[16];

	(void)state;
	assert_int_equal(authority_b32_encode(s, sizeof(s), v, 40, 0), 8);
	assert_string_equal(s, "12345678");
	assert_int_equal(authority_b32_encode(s, sizeof(s), v, 40, 4), 9);
	assert_string_equal(s, "1234-5678");
	assert_int_equal(authority_b32_encode(s, sizeof(s), ones, 40, 0), 8);
	assert_string_equal(s, "ZZZZZZZZ");
	/* exactly enough room, one byte short */
	assert_int_equal(authority_b32_encode(s, 10, v, 40, 4), 9);
	assert_int_equal(authority_b32_encode(s, 9, v, 40, 4), -ENOSPC);
	/* a person's spellings: case, I and L for 1, O for 0, separators */
	assert_int_equal(authority_b32_decode(out, "i234 5678", 40), 0);
	assert_memory_equal(out, v, 5);
	assert_int_equal(authority_b32_decode(out, "l2-34-56-78", 40), 0);
	assert_memory_equal(out, v, 5);
	assert_int_equal(authority_b32_decode(out, "zzzzzzzz", 40), 0);
	assert_memory_equal(out, ones, 5);
	assert_int_equal(authority_b32_decode(out, "OOOOOOO1", 40), 0);
	assert_int_equal(out[4], 1);
	/* U is no symbol; one symbol too few or too many */
	assert_int_equal(authority_b32_decode(out, "U2345678", 40), -EINVAL);
	assert_int_equal(authority_b32_decode(out, "1234567", 40), -EINVAL);
	assert_int_equal(authority_b32_decode(out, "123456789", 40), -EINVAL);
	assert_int_equal(authority_b32_decode(out, "1234*678", 40), -EINVAL);
	/* padding bits of a partial last symbol must be zero: 12 bits in 3 symbols */
	assert_int_equal(authority_b32_decode(out, "ZZR", 12), 0);	/* R = 11000 */
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xf0);
	assert_int_equal(authority_b32_decode(out, "ZZS", 12), -EINVAL);	/* S = 11001 */
	/* CRC-16/CCITT-FALSE check value */
	assert_int_equal(authority_crc16((const uint8_t *)"123456789", 9), 0x29b1);
}

/* The authority, its key and its certificate */

static void test_create_and_profile(void **state)
{
	struct authority *a = new_authority(D ".", 1), *b;
	uint8_t der[AUTHORITY_CERT_DER_MAX];
	const unsigned char *p = der;
	char cn[128];
	size_t len;
	X509 *x;

	(void)state;
	assert_string_equal(authority_domain(a), D);	/* canonical: no trailing dot */
	assert_true(authority_can_sign(a));
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	assert_true(len > 200 && len < 600);
	assert_int_equal(authority_cert_der(a, der, len - 1, &len), -ENOSPC);
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)), 28);
	assert_string_equal(cn, "autotunnel account authority");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(x), 0);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
	assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ NOW + 3650 * (int64_t)DAY }), 1);
	X509_free(x);

	/* the same seed makes the same key (the recovery path) */
	{
		uint8_t seed[32], id1[32], id2[32];

		memset(seed, 7, sizeof(seed));
		authority_free(a);
		assert_int_equal(authority_create(&a, D, seed, NOW, stream_rand, &rs), 0);
		assert_int_equal(authority_create(&b, D, seed, NOW + 100, stream_rand, &rs), 0);
		authority_key_id(a, id1);
		authority_key_id(b, id2);
		assert_memory_equal(id1, id2, 32);
		authority_free(b);
	}
	/* a new anchor made from the seed is an equivalent anchor: certificates issued under the old one verify */
	{
		uint8_t seed[32], spki[AUTHORITY_SPKI_MAX], hc[AUTHORITY_CERT_DER_MAX], ca1[AUTHORITY_CERT_DER_MAX];
		uint8_t ca2[AUTHORITY_CERT_DER_MAX];
		size_t hl, l1, l2;

		memset(seed, 7, sizeof(seed));
		hl = issue(a, "laptop", ula_laptop, spki, ed_spki(3, spki), NOW, hc);
		assert_int_equal(authority_create(&b, D, seed, NOW + 100, stream_rand, &rs), 0);
		assert_int_equal(authority_cert_der(a, ca1, sizeof(ca1), &l1), 0);
		assert_int_equal(authority_cert_der(b, ca2, sizeof(ca2), &l2), 0);
		assert_false(l1 == l2 && !memcmp(ca1, ca2, l1));
		assert_int_equal(authority_cert_verify(b, hc, hl, NOW + 200, "laptop", ula_laptop, NULL, NULL), 0);
		authority_free(b);
	}
	/* bad domains, a failing generator */
	assert_int_equal(authority_create(&b, "Not a name", NULL, NOW, stream_rand, &rs), -EINVAL);
	assert_null(b);
	assert_int_equal(authority_create(&b, "a..b", NULL, NOW, stream_rand, &rs), -EINVAL);
	assert_int_equal(authority_create(&b, D, NULL, NOW, failing_rand, NULL), -EIO);
	assert_null(b);
	authority_free(a);
}

static void test_long_domain(void **state)
{
	/* a CN holding D could not exceed 64 characters; the DCs can (253) */
	char dom[254];
	struct authority *a, *v;
	uint8_t der[AUTHORITY_CERT_DER_MAX], spki[AUTHORITY_SPKI_MAX], cert[AUTHORITY_CERT_DER_MAX];
	size_t len, sl, cl;
	struct authority_host_cert info;

	(void)state;
	memset(dom, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		dom[i] = '.';
	dom[253] = '\0';
	assert_int_equal(authority_create(&a, dom, NULL, NOW, stream_rand, &rs), 0);
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	assert_int_equal(authority_load(&v, dom, der, len, NULL, 0), 0);
	/* but no host name fits under it: H.D would exceed 253 */
	sl = ed_spki(3, spki);
	{
		struct authority_issue req = { .host = "h", .ula = ula_laptop, .spki = spki, .spki_len = sl };

		assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, cert, sizeof(cert), &cl), -EINVAL);
	}
	(void)info;
	authority_free(v);
	authority_free(a);
}

static void test_pkcs8_and_load(void **state)
{
	struct authority *a = new_authority(D, 1), *b = new_authority(D, 2), *l;
	uint8_t der[AUTHORITY_CERT_DER_MAX + 1], p8[AUTHORITY_PKCS8_MAX], p8b[AUTHORITY_PKCS8_MAX];
	uint8_t id1[32], id2[32], seed[32];
	char text[AUTHORITY_RECOVERY_TEXT_MAX];
	size_t len, p8len, p8blen, hl;
	uint8_t host[AUTHORITY_CERT_DER_MAX], spki[AUTHORITY_SPKI_MAX];

	(void)state;
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	assert_int_equal(authority_pkcs8(a, p8, sizeof(p8), &p8len), 0);
	assert_int_equal(p8len, 48);	/* RFC 8410 §7 */
	assert_int_equal(authority_pkcs8(a, p8, 47, &p8len), -ENOSPC);
	assert_int_equal(authority_pkcs8(a, p8, sizeof(p8), &p8len), 0);
	assert_int_equal(authority_pkcs8(b, p8b, sizeof(p8b), &p8blen), 0);

	assert_int_equal(authority_load(&l, D, der, len, p8, p8len), 0);
	assert_true(authority_can_sign(l));
	authority_key_id(a, id1);
	authority_key_id(l, id2);
	assert_memory_equal(id1, id2, 32);
	authority_free(l);

	/* another authority's key, a truncated key, trailing bytes, another domain */
	assert_int_equal(authority_load(&l, D, der, len, p8b, p8blen), -EKEYREJECTED);
	assert_null(l);
	assert_int_equal(authority_load(&l, D, der, len, p8, p8len - 1), -EBADMSG);
	assert_int_equal(authority_load(&l, D, der, len - 1, NULL, 0), -EBADMSG);
	der[len] = 0;
	assert_int_equal(authority_load(&l, D, der, len + 1, NULL, 0), -EBADMSG);
	assert_int_equal(authority_load(&l, "bob.members.example.net", der, len, NULL, 0), -EBADMSG);
	assert_int_equal(authority_load(&l, "Bad Name", der, len, NULL, 0), -EINVAL);
	/* a flipped bit in the self-signature */
	der[len - 1] ^= 1;
	assert_int_equal(authority_load(&l, D, der, len, NULL, 0), -EBADMSG);
	der[len - 1] ^= 1;

	/* a verifier: no key, so no issuing, no PKCS#8, no recovery key */
	assert_int_equal(authority_load(&l, D, der, len, NULL, 0), 0);
	assert_false(authority_can_sign(l));
	assert_int_equal(authority_pkcs8(l, p8, sizeof(p8), &p8len), -ENOKEY);
	assert_int_equal(authority_recovery_key(l, text, sizeof(text)), -ENOKEY);
	{
		struct authority_issue req = { .host = "laptop", .ula = ula_laptop, .spki = spki,
					       .spki_len = ed_spki(3, spki) };

		assert_int_equal(authority_issue(l, &req, NOW, stream_rand, &rs, host, sizeof(host), &hl), -ENOKEY);
	}
	authority_free(l);

	/* a host certificate is not an anchor */
	hl = issue(a, "laptop", ula_laptop, spki, ed_spki(3, spki), NOW, host);
	assert_int_equal(authority_load(&l, D, host, hl, NULL, 0), -EBADMSG);

	/* the seed from the recovery key with the certificate */
	assert_int_equal(authority_recovery_key(a, text, sizeof(text)), 69);
	assert_int_equal(authority_recovery_parse(text, seed), 0);
	assert_int_equal(authority_load_seed(&l, D, der, len, seed), 0);
	assert_true(authority_can_sign(l));
	authority_free(l);
	seed[0] ^= 1;
	assert_int_equal(authority_load_seed(&l, D, der, len, seed), -EKEYREJECTED);

	authority_free(a);
	authority_free(b);
}

static void test_recovery_key(void **state)
{
	static const char symbols[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct authority *a = new_authority(D, 1);
	char text[AUTHORITY_RECOVERY_TEXT_MAX], typo[AUTHORITY_RECOVERY_TEXT_MAX];
	uint8_t seed[32], seed2[32], raw[35];
	size_t p8len, typos = 0;
	uint8_t p8[AUTHORITY_PKCS8_MAX];

	(void)state;
	assert_int_equal(authority_recovery_key(a, text, AUTHORITY_RECOVERY_TEXT_MAX), 69);
	assert_int_equal(authority_recovery_key(a, text, 69), -ENOSPC);
	assert_int_equal(authority_recovery_key(a, text, sizeof(text)), 69);
	/* 14 groups of 4 */
	for (int i = 0; i < 69; i++)
		assert_true(i % 5 == 4 ? text[i] == '-' : strchr(symbols, text[i]) != NULL);
	assert_int_equal(authority_recovery_parse(text, seed), 0);
	/* the seed is the key: the PKCS#8 ends with it (RFC 8410 §7) */
	assert_int_equal(authority_pkcs8(a, p8, sizeof(p8), &p8len), 0);
	assert_memory_equal(p8 + p8len - 32, seed, 32);

	/* as a person may type it: lower case, without dashes, O for 0 */
	{
		char loose[AUTHORITY_RECOVERY_TEXT_MAX];
		size_t k = 0;

		for (int i = 0; text[i]; i++)
			if (text[i] != '-')
				loose[k++] = text[i] == '0' ? 'o' : text[i] == '1' ? 'l' :
					     (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
		loose[k] = '\0';
		assert_int_equal(authority_recovery_parse(loose, seed2), 0);
		assert_memory_equal(seed, seed2, 32);
	}
	/* every single wrong symbol at every position is caught by the CRC */
	for (int i = 0; text[i]; i++) {
		if (text[i] == '-')
			continue;
		for (int s = 0; s < 32; s++) {
			if (symbols[s] == text[i])
				continue;
			memcpy(typo, text, sizeof(text));
			typo[i] = symbols[s];
			assert_int_equal(authority_recovery_parse(typo, seed2), -EBADMSG);
			typos++;
		}
	}
	assert_int_equal(typos, 56 * 31);
	/* and every swap of two different neighbouring symbols */
	for (int i = 0; text[i + 1]; i++) {
		int j = text[i + 1] == '-' ? i + 2 : i + 1;

		if (text[i] == '-' || text[i] == text[j])
			continue;
		memcpy(typo, text, sizeof(text));
		typo[i] = text[j];
		typo[j] = text[i];
		assert_int_equal(authority_recovery_parse(typo, seed2), -EBADMSG);
	}
	/* a symbol missing or one too many; not a symbol */
	memcpy(typo, text, sizeof(text));
	typo[68] = '\0';
	assert_int_equal(authority_recovery_parse(typo, seed2), -EINVAL);
	{
		char more[AUTHORITY_RECOVERY_TEXT_MAX + 1];

		memcpy(more, text, 69);
		more[69] = '0';
		more[70] = '\0';
		assert_int_equal(authority_recovery_parse(more, seed2), -EINVAL);
	}
	memcpy(typo, text, sizeof(text));
	typo[0] = 'U';
	assert_int_equal(authority_recovery_parse(typo, seed2), -EINVAL);
	/* another version with a good CRC */
	raw[0] = 2;
	memset(raw + 1, 9, 32);
	raw[33] = (uint8_t)(authority_crc16(raw, 33) >> 8);
	raw[34] = (uint8_t)authority_crc16(raw, 33);
	assert_int_equal(authority_b32_encode(typo, sizeof(typo), raw, 280, 4), 69);
	assert_int_equal(authority_recovery_parse(typo, seed2), -EPROTONOSUPPORT);
	raw[0] = 1;
	raw[33] = (uint8_t)(authority_crc16(raw, 33) >> 8);
	raw[34] = (uint8_t)authority_crc16(raw, 33);
	assert_int_equal(authority_b32_encode(typo, sizeof(typo), raw, 280, 0), 56);
	assert_int_equal(authority_recovery_parse(typo, seed2), 0);
	assert_memory_equal(seed2, raw + 1, 32);
	authority_free(a);
}

/* Host certificates */

static void test_issue_verify(void **state)
{
	struct authority *a = new_authority(D, 1);
	uint8_t spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX], adr[AUTHORITY_CERT_DER_MAX];
	struct authority_host_cert info;
	size_t sl = ed_spki(3, spki), len, alen;
	struct authority *v;

	(void)state;
	len = issue(a, "laptop", ula_laptop, spki, sl, NOW, der);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula_laptop, NULL, &info), 0);
	assert_string_equal(info.host, "laptop");
	assert_string_equal(info.name, "laptop." D);
	assert_memory_equal(info.ula, ula_laptop, 16);
	assert_int_equal(info.serial_len, AUTHORITY_SERIAL_LEN);
	assert_true(info.serial[0] >= 0x40 && info.serial[0] < 0x80);
	assert_int_equal(info.not_before, NOW - AUTHORITY_SKEW_S);
	assert_int_equal(info.not_after, NOW + 7 * DAY);
	assert_int_equal(info.key_type, AUTHORITY_KEY_ED25519);
	assert_int_equal(info.spki_len, sl);
	assert_memory_equal(info.spki, spki, sl);
	/* any host, any ULA; no info wanted */
	assert_int_equal(authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, NULL), 0);

	/* a verifier loaded from the anchor alone accepts it too */
	assert_int_equal(authority_cert_der(a, adr, sizeof(adr), &alen), 0);
	assert_int_equal(authority_load(&v, D, adr, alen, NULL, 0), 0);
	assert_int_equal(authority_cert_verify(v, der, len, NOW, "laptop", ula_laptop, NULL, NULL), 0);
	authority_free(v);

	/* the EKU and key usage as issued */
	{
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
		char oid[64];
		const char *want[] = { "1.3.6.1.5.5.7.3.17", "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2" };

		assert_int_equal(sk_ASN1_OBJECT_num(eku), 3);
		for (int i = 0; i < 3; i++) {
			OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1);
			assert_string_equal(oid, want[i]);
		}
		assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
		assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
		EXTENDED_KEY_USAGE_free(eku);
		X509_free(x);
	}

	/* a P-256 host key */
	sl = p256_spki(spki);
	len = issue(a, "desktop", ula_desktop, spki, sl, NOW, der);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "desktop", ula_desktop, NULL, &info), 0);
	assert_int_equal(info.key_type, AUTHORITY_KEY_P256);
	authority_free(a);
}

static void test_verify_refusals(void **state)
{
	struct authority *a = new_authority(D, 1), *other = new_authority(D, 2), *bob;
	uint8_t spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX + 1];
	struct authority_host_cert info;
	size_t sl = ed_spki(3, spki), len;
	uint8_t ula[16];

	(void)state;
	len = issue(a, "laptop", ula_laptop, spki, sl, NOW, der);
	/* another authority of the same name (what a server could make): the signature fails */
	assert_int_equal(authority_cert_verify(other, der, len, NOW, "laptop", ula_laptop, NULL, &info),
			 -EKEYREJECTED);
	assert_int_equal(info.host[0], '\0');
	/* another account's authority */
	bob = new_authority("bob.members.example.net", 1);
	assert_int_equal(authority_cert_verify(bob, der, len, NOW, NULL, NULL, NULL, NULL), -EKEYREJECTED);
	authority_free(bob);
	/* validity: the last second before notAfter, notAfter itself, before notBefore */
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 7 * DAY - 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 7 * DAY, NULL, NULL, NULL, NULL), -EKEYEXPIRED);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 8 * DAY, NULL, NULL, NULL, NULL), -EKEYEXPIRED);
	assert_int_equal(authority_cert_verify(a, der, len, NOW - AUTHORITY_SKEW_S, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW - AUTHORITY_SKEW_S - 1, NULL, NULL, NULL, NULL),
			 -EKEYEXPIRED);
	/* name and ULA */
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "desktop", NULL, NULL, &info), -EPERM);
	assert_int_equal(info.host[0], '\0');
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula_desktop, NULL, NULL), -EPERM);
	memcpy(ula, ula_laptop, 16);
	ula[15] ^= 1;
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula, NULL, NULL), -EPERM);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "lapto", NULL, NULL, NULL), -EPERM);
	/* bytes: truncated, trailing, a flipped bit in the signature */
	assert_int_equal(authority_cert_verify(a, der, len - 1, NOW, NULL, NULL, NULL, NULL), -EBADMSG);
	der[len] = 0;
	assert_int_equal(authority_cert_verify(a, der, len + 1, NOW, NULL, NULL, NULL, NULL), -EBADMSG);
	assert_int_equal(authority_cert_verify(a, der, 0, NOW, NULL, NULL, NULL, NULL), -EBADMSG);
	der[len - 1] ^= 0x10;
	assert_int_equal(authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, NULL), -EKEYREJECTED);
	der[len - 1] ^= 0x10;
	/* the anchor is not a host certificate */
	{
		uint8_t ca[AUTHORITY_CERT_DER_MAX];
		size_t cl;

		assert_int_equal(authority_cert_der(a, ca, sizeof(ca), &cl), 0);
		assert_int_equal(authority_cert_verify(a, ca, cl, NOW, NULL, NULL, NULL, NULL), -EKEYREJECTED);
	}
	authority_free(a);
	authority_free(other);
}

/*
 * A certificate made by hand with the authority's key, to reach the profile
 * checks that authority_issue() never fails: @p san and @p eku and @p bc in
 * OpenSSL's configuration syntax, keyUsage left out when @p ku is NULL.
 */
static size_t craft(struct authority *a, const char *san, const char *eku, const char *bc, const char *ku,
		    uint8_t *out)
{
	uint8_t p8[AUTHORITY_PKCS8_MAX], anchor[AUTHORITY_CERT_DER_MAX], spki[AUTHORITY_SPKI_MAX];
	size_t p8len, alen, sl = ed_spki(3, spki);
	const unsigned char *p;
	EVP_PKEY *key, *pub;
	X509 *ca, *x = X509_new();
	X509V3_CTX v3;
	unsigned char *o = out;
	struct { int nid; const char *value; } ext[] = {
		{ NID_basic_constraints, bc }, { NID_key_usage, ku }, { NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" }, { NID_subject_alt_name, san },
		{ NID_ext_key_usage, eku },
	};
	int n;

	assert_int_equal(authority_pkcs8(a, p8, sizeof(p8), &p8len), 0);
	assert_int_equal(authority_cert_der(a, anchor, sizeof(anchor), &alen), 0);
	p = p8;
	key = d2i_AutoPrivateKey(NULL, &p, (long)p8len);
	p = anchor;
	ca = d2i_X509(NULL, &p, (long)alen);
	p = spki;
	pub = d2i_PUBKEY(NULL, &p, (long)sl);
	assert_non_null(key);
	assert_non_null(ca);
	assert_non_null(pub);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x4242), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
	{
		X509_NAME *subject = X509_NAME_new();	/* not the issuer's: that would be self-issued */

		assert_int_equal(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
							    (const unsigned char *)"laptop", -1, -1, 0), 1);
		assert_int_equal(X509_set_subject_name(x, subject), 1);
		X509_NAME_free(subject);
	}
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(NOW - 300)));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(NOW + DAY)));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		X509_EXTENSION *e;

		if (!ext[i].value)
			continue;
		e = X509V3_EXT_conf_nid(NULL, &v3, ext[i].nid, ext[i].value);
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, key, NULL) > 0);
	n = i2d_X509(x, &o);
	assert_true(n > 0 && n <= AUTHORITY_CERT_DER_MAX);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	return (size_t)n;
}

static void test_verify_profile(void **state)
{
#define ULA "IP:fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a"
#define GOOD_SAN "DNS:laptop." D "," ULA
	static const struct {
		const char *san, *eku, *bc, *ku;
	} bad[] = {
		{ GOOD_SAN, "serverAuth,clientAuth", "CA:FALSE", "critical,digitalSignature" },	/* no ipsecIKE */
		{ GOOD_SAN, NULL, "CA:FALSE", "critical,digitalSignature" },			/* no EKU */
		{ GOOD_SAN, "ipsecIKE", "critical,CA:TRUE", "critical,digitalSignature" },	/* a CA */
		{ GOOD_SAN, "ipsecIKE", "CA:FALSE", "critical,keyEncipherment" },		/* no digitalSignature */
		{ NULL, "ipsecIKE", "CA:FALSE", "critical,digitalSignature" },			/* no SAN */
		{ "DNS:laptop." D, "ipsecIKE", "CA:FALSE", NULL },				/* no address */
		{ ULA, "ipsecIKE", "CA:FALSE", NULL },						/* no name */
		{ GOOD_SAN ",DNS:desktop." D, "ipsecIKE", "CA:FALSE", NULL },			/* two names */
		{ GOOD_SAN ",IP:fd00::1", "ipsecIKE", "CA:FALSE", NULL },			/* two addresses */
		{ GOOD_SAN ",email:a@example.net", "ipsecIKE", "CA:FALSE", NULL },		/* another kind */
		{ "DNS:laptop.bob.members.example.net," ULA, "ipsecIKE", "CA:FALSE", NULL },	/* another account */
		{ "DNS:a.laptop." D "," ULA, "ipsecIKE", "CA:FALSE", NULL },			/* not one label */
		{ "DNS:" D "," ULA, "ipsecIKE", "CA:FALSE", NULL },				/* D itself */
		{ "DNS:Laptop." D "," ULA, "ipsecIKE", "CA:FALSE", NULL },			/* upper case */
		{ "DNS:_laptop." D "," ULA, "ipsecIKE", "CA:FALSE", NULL },			/* not a host label */
		{ "DNS:laptop." D ",IP:2001:db8::1", "ipsecIKE", "CA:FALSE", NULL },		/* not a ULA */
		{ "DNS:laptop." D ",IP:192.0.2.1", "ipsecIKE", "CA:FALSE", NULL },		/* IPv4 */
	};
	struct authority *a = new_authority(D, 1);
	struct authority_host_cert info;
	uint8_t der[AUTHORITY_CERT_DER_MAX];
	size_t len;

	(void)state;
	/* the hand-made certificate passes when it follows the profile (keyUsage optional to OpenSSL, required by us) */
	len = craft(a, GOOD_SAN, "ipsecIKE", "CA:FALSE", "critical,digitalSignature", der);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula_laptop, NULL, &info), 0);
	assert_int_equal(info.serial_len, 2);
	len = craft(a, GOOD_SAN, "ipsecIKE", "CA:FALSE", NULL, der);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, NULL), -EKEYREJECTED);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = craft(a, bad[i].san, bad[i].eku, bad[i].bc,
			    bad[i].ku ? bad[i].ku : "critical,digitalSignature", der);
		if (authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, &info) != -EKEYREJECTED)
			fail_msg("case %zu (%s) accepted", i, bad[i].san ? bad[i].san : "no SAN");
	}
	authority_free(a);
#undef GOOD_SAN
#undef ULA
}

static void test_verify_revoked(void **state)
{
	struct authority *a = new_authority(D, 1);
	uint8_t spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX], der2[AUTHORITY_CERT_DER_MAX];
	struct authority_host_cert info, info2;
	struct authority_revoked rl = { .seq = 1, .t = NOW };
	size_t sl = ed_spki(3, spki), len, len2;

	(void)state;
	len = issue(a, "laptop", ula_laptop, spki, sl, NOW, der);
	len2 = issue(a, "laptop", ula_laptop, spki, sl, NOW + 100, der2);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, &info), 0);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 100, NULL, NULL, NULL, &info2), 0);
	assert_memory_not_equal(info.serial, info2.serial, info.serial_len);
	/* an empty list revokes nothing */
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", NULL, &rl, NULL), 0);
	/* one serial: that certificate only */
	assert_int_equal(authority_revoked_add_serial(&rl, info.serial, info.serial_len, NOW + 50), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 60, "laptop", ula_laptop, &rl, &info),
			 -EKEYREVOKED);
	assert_int_equal(info.serial_len, 0);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 100, "laptop", ula_laptop, &rl, NULL), 0);
	/* the host, revoked at NOW + 100: both were issued at or before */
	rl.n = 0;
	assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW + 100), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 200, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 200, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	/* revoked one second before the second was issued: it stands (admitted again) */
	assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW + 99), 0);
	assert_int_equal(rl.n, 1);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 200, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 200, NULL, NULL, &rl, NULL), 0);
	/* another host's entry does not touch laptop */
	rl.n = 0;
	assert_int_equal(authority_revoked_add_host(&rl, "desktop", NOW + 1000), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 200, NULL, NULL, &rl, NULL), 0);
	/* the key: every certificate of it, even one issued after the revocation (by a signer that missed it) */
	assert_int_equal(authority_revoked_add_key(&rl, spki, sl, NOW), 0);
	assert_int_equal(authority_revoked_add_key(&rl, spki, sl, NOW + 1), -EEXIST);
	assert_int_equal(authority_revoked_add_key(&rl, spki, sl - 1, NOW), -EINVAL);
	assert_int_equal(authority_cert_verify(a, der, len, NOW + 200, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 200, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	len2 = issue(a, "laptop", ula_laptop, spki, sl, NOW + 5000, der2);
	assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 5000, NULL, NULL, &rl, NULL), -EKEYREVOKED);
	/* another key of the same host, issued after the host entry: admitted again */
	{
		uint8_t spki2[AUTHORITY_SPKI_MAX];
		size_t sl2 = ed_spki(4, spki2);

		assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW + 100), 0);
		len2 = issue(a, "laptop", ula_laptop, spki2, sl2, NOW + 5000, der2);
		assert_int_equal(authority_cert_verify(a, der2, len2, NOW + 5000, NULL, NULL, &rl, NULL), 0);
	}
	authority_free(a);
}

static void test_issue_bounds(void **state)
{
	struct authority *a = new_authority(D, 1);
	uint8_t spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX];
	struct authority_issue req = { .host = "laptop", .ula = ula_laptop, .spki = spki };
	struct authority_host_cert info;
	size_t len, need;
	uint8_t ula[16];
	char host[70];

	(void)state;
	req.spki_len = ed_spki(3, spki);
	/* validity: the bounds and one past each */
	req.validity_s = AUTHORITY_HOST_VALIDITY_MIN;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, NULL, NULL, NULL, &info), 0);
	assert_int_equal(info.not_after, NOW + 3600);
	req.validity_s = AUTHORITY_HOST_VALIDITY_MIN - 1;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	req.validity_s = AUTHORITY_HOST_VALIDITY_MAX;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
	req.validity_s = AUTHORITY_HOST_VALIDITY_MAX + 1;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	req.validity_s = 0;
	/* the output buffer: exactly enough, one byte short */
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &need), 0);
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, need, &len), 0);
	assert_int_equal(len, need);
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, need - 1, &len), -ENOSPC);
	/* host labels: 63 characters fit, 64 do not; upper case, hyphens at the ends, dots */
	memset(host, 'h', 63);
	host[63] = '\0';
	req.host = host;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, host, NULL, NULL, NULL), 0);
	host[63] = 'h';
	host[64] = '\0';
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	for (const char *const *h = (const char *const[]){ "Laptop", "-laptop", "laptop-", "lap.top", "", NULL };
	     *h; h++) {
		req.host = *h;
		assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	}
	req.host = "laptop";
	/* the ULA: fc00::/7 and nothing else */
	memcpy(ula, ula_laptop, 16);
	req.ula = ula;
	ula[0] = 0xfc;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
	ula[0] = 0xfe;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	ula[0] = 0x20;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	req.ula = ula_laptop;
	/* keys: a truncated SPKI, an RSA key, a compressed P-256 point, a P-384 key */
	req.spki_len--;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		unsigned char *p = NULL;
		int n = i2d_PUBKEY(k, &p);

		assert_true(n > 128);
		assert_int_equal(authority_spki_check(p, (size_t)n), -EINVAL);
		OPENSSL_free(p);
		EVP_PKEY_free(k);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		p = NULL;
		n = i2d_PUBKEY(k, &p);
		assert_int_equal(authority_spki_check(p, (size_t)n), -EINVAL);
		OPENSSL_free(p);
		EVP_PKEY_free(k);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_int_equal(EVP_PKEY_set_utf8_string_param(k, "point-format", "compressed"), 1);
		p = NULL;
		n = i2d_PUBKEY(k, &p);
		assert_int_equal(n, 59);
		assert_int_equal(authority_spki_check(p, (size_t)n), -EINVAL);
		req.spki = p;
		req.spki_len = (size_t)n;
		assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
		OPENSSL_free(p);
		EVP_PKEY_free(k);
	}
	req.spki = spki;
	req.spki_len = 44;
	/* the generator's error comes back */
	assert_int_equal(authority_issue(a, &req, NOW, failing_rand, NULL, der, sizeof(der), &len), -EIO);
	authority_free(a);
}

static void test_pkinit(void **state)
{
	/* KRB5PrincipalName for alice@EXAMPLE.NET, written by hand from RFC 4556 §3.2.2 (EXPLICIT tags) */
	static const uint8_t client[] = {
		0x30, 0x24,
		0xa0, 0x0d, 0x1b, 0x0b, 'E', 'X', 'A', 'M', 'P', 'L', 'E', '.', 'N', 'E', 'T',
		0xa1, 0x13, 0x30, 0x11,
		0xa0, 0x03, 0x02, 0x01, 0x01,
		0xa1, 0x0a, 0x30, 0x08, 0x1b, 0x06, 'l', 'a', 'p', 't', 'o', 'p',
	};
	/* krbtgt/EXAMPLE.NET@EXAMPLE.NET, name-type KRB5-NT-SRV-INST */
	static const uint8_t kdc[] = {
		0x30, 0x31,
		0xa0, 0x0d, 0x1b, 0x0b, 'E', 'X', 'A', 'M', 'P', 'L', 'E', '.', 'N', 'E', 'T',
		0xa1, 0x20, 0x30, 0x1e,
		0xa0, 0x03, 0x02, 0x01, 0x02,
		0xa1, 0x17, 0x30, 0x15, 0x1b, 0x06, 'k', 'r', 'b', 't', 'g', 't',
		0x1b, 0x0b, 'E', 'X', 'A', 'M', 'P', 'L', 'E', '.', 'N', 'E', 'T',
	};
	struct authority *a = new_authority(D, 1);
	uint8_t buf[1200], spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX];
	struct authority_issue req = { .host = "laptop", .ula = ula_laptop, .spki = spki,
				       .pkinit = AUTHORITY_PKINIT_CLIENT, .principal = "laptop@EXAMPLE.NET" };
	size_t len;
	char longp[600];

	(void)state;
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_CLIENT, "laptop@EXAMPLE.NET", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(client));
	assert_memory_equal(buf, client, sizeof(client));
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_KDC, "EXAMPLE.NET", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(kdc));
	assert_memory_equal(buf, kdc, sizeof(kdc));
	/* exactly enough room, one byte short */
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_KDC, "EXAMPLE.NET", buf, sizeof(kdc), &len), 0);
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_KDC, "EXAMPLE.NET", buf, sizeof(kdc) - 1, &len),
			 -ENOSPC);
	/* two components; long strings take the long length forms */
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_CLIENT, "host/laptop@R", buf, sizeof(buf), &len), 0);
	memset(longp, 'x', 255);
	longp[255] = '@';
	memset(longp + 256, 'R', 255);
	longp[511] = '\0';
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_CLIENT, longp, buf, sizeof(buf), &len), 0);
	assert_int_equal(buf[0], 0x30);
	assert_int_equal(buf[1], 0x82);
	{
		const unsigned char *p = buf;
		ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &p, (long)len);

		assert_non_null(t);	/* well-formed DER */
		assert_int_equal(p - buf, (long)len);
		ASN1_TYPE_free(t);
	}
	longp[255] = 'x';	/* a 256-character component */
	longp[256] = '@';
	longp[257] = 'R';
	longp[258] = '\0';
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_CLIENT, longp, buf, sizeof(buf), &len), -EINVAL);
	for (const char *const *p = (const char *const[]){ "laptop", "@R", "laptop@", "lap top@R", "a/@R",
							   "/a@R", "a@R@S", "a/b/c@R", NULL }; *p; p++)
		assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_CLIENT, *p, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_KDC, "", buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(authority_pkinit_san_der(AUTHORITY_PKINIT_NONE, "R", buf, sizeof(buf), &len), -EINVAL);

	/* in a certificate: the otherName id-pkinit-san, the EKU, and it still verifies */
	req.spki_len = ed_spki(3, spki);
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
	assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula_laptop, NULL, NULL), 0);
	for (int kind = 0; kind < 2; kind++) {
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
		const uint8_t *want = kind ? kdc : client;
		size_t wlen = kind ? sizeof(kdc) : sizeof(client);
		bool found = false;
		char oid[64];

		assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
		for (int i = 0; i < 3; i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			ASN1_OBJECT *o;
			ASN1_TYPE *val;
			unsigned char *vder = NULL;
			int vlen;

			if (!GENERAL_NAME_get0_otherName(g, &o, &val))
				continue;
			OBJ_obj2txt(oid, sizeof(oid), o, 1);
			assert_string_equal(oid, "1.3.6.1.5.2.2");
			vlen = i2d_ASN1_TYPE(val, &vder);
			assert_int_equal(vlen, (int)wlen);
			assert_memory_equal(vder, want, wlen);
			OPENSSL_free(vder);
			found = true;
		}
		assert_true(found);
		assert_int_equal(sk_ASN1_OBJECT_num(eku), 4);
		OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 3), 1);
		assert_string_equal(oid, kind ? "1.3.6.1.5.2.3.5" : "1.3.6.1.5.2.3.4");
		GENERAL_NAMES_free(gens);
		EXTENDED_KEY_USAGE_free(eku);
		X509_free(x);
		/* then the KDC's */
		req.pkinit = AUTHORITY_PKINIT_KDC;
		req.principal = "EXAMPLE.NET";
		assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), 0);
		assert_int_equal(authority_cert_verify(a, der, len, NOW, "laptop", ula_laptop, NULL, NULL), 0);
	}
	req.principal = NULL;
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	req.pkinit = AUTHORITY_PKINIT_CLIENT;
	req.principal = "no realm";
	assert_int_equal(authority_issue(a, &req, NOW, stream_rand, &rs, der, sizeof(der), &len), -EINVAL);
	authority_free(a);
}

static void test_renew(void **state)
{
	struct authority_host_cert c = { .not_before = NOW - AUTHORITY_SKEW_S, .not_after = NOW + 7 * DAY };
	int64_t at = authority_cert_renew_at(c.not_before, c.not_after);

	(void)state;
	assert_int_equal(at, c.not_before + (7 * DAY + AUTHORITY_SKEW_S) / 3 * 2);
	assert_false(authority_cert_should_renew(&c, NOW));
	assert_false(authority_cert_should_renew(&c, at - 1));
	assert_true(authority_cert_should_renew(&c, at));
	assert_true(authority_cert_should_renew(&c, c.not_after + 1));
	/* 3 s: renew after 2 */
	assert_int_equal(authority_cert_renew_at(10, 13), 12);
	/* nonsense validity: renew at once */
	assert_int_equal(authority_cert_renew_at(10, 10), 10);
	assert_int_equal(authority_cert_renew_at(10, 5), 10);
}

/* The revocation list */

static size_t txt(uint8_t *out, size_t cap, const char *const *s, size_t n)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(s[i]);

		assert_true(l <= 255 && pos + 1 + l <= cap);
		out[pos++] = (uint8_t)l;
		memcpy(out + pos, s[i], l);
		pos += l;
	}
	return pos;
}

static void test_revoked(void **state)
{
	struct authority *a = new_authority(D, 1), *other = new_authority(D, 2), *v;
	struct authority_revoked rl = { .seq = 3, .t = NOW }, back;
	uint8_t rd[AUTHORITY_REVOKED_RDATA_MAX], anchor[AUTHORITY_CERT_DER_MAX];
	static const uint8_t serial[16] = { 0x4a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	size_t len, alen;

	(void)state;
	assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW - 1000), 0);
	assert_int_equal(authority_revoked_add_serial(&rl, serial, sizeof(serial), NOW - 10), 0);
	assert_int_equal(authority_revoked_add_serial(&rl, serial, sizeof(serial), NOW), -EEXIST);
	{
		uint8_t spki[AUTHORITY_SPKI_MAX];
		size_t sl = ed_spki(3, spki);

		assert_int_equal(authority_revoked_add_key(&rl, spki, sl, NOW - 1000), 0);
	}
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), 0);
	/* the layout of revoked.h */
	{
		const char *head = "at-revoked=1 seq=3 t=1796000000";

		assert_int_equal(rd[0], strlen(head));
		assert_memory_equal(rd + 1, head, strlen(head));
		assert_int_equal(len, 1 + strlen(head) + 1 + strlen("host laptop at=1795999000") +
				 1 + strlen("serial 4a0102030405060708090a0b0c0d0e0f at=1795999990") +
				 1 + strlen("key ") + 64 + strlen(" at=1795999000") + 1 + 92);
		assert_memory_equal(rd + len - 92, "sig=", 4);
	}
	/* a verifier (the anchor alone) reads it */
	assert_int_equal(authority_cert_der(a, anchor, sizeof(anchor), &alen), 0);
	assert_int_equal(authority_load(&v, D, anchor, alen, NULL, 0), 0);
	assert_int_equal(authority_revoked_read(v, rd, len, &back), 0);
	assert_int_equal(back.seq, 3);
	assert_int_equal(back.t, NOW);
	assert_int_equal(back.n, 3);
	assert_int_equal(back.e[0].kind, AUTHORITY_REVOKED_HOST);
	assert_string_equal(back.e[0].host, "laptop");
	assert_int_equal(back.e[0].at, NOW - 1000);
	assert_int_equal(back.e[1].kind, AUTHORITY_REVOKED_SERIAL);
	assert_int_equal(back.e[1].serial_len, 16);
	assert_memory_equal(back.e[1].serial, serial, 16);
	assert_int_equal(back.e[2].kind, AUTHORITY_REVOKED_KEY);
	assert_memory_equal(back.e[2].key_id, rl.e[2].key_id, 32);
	/* another authority's list, or ours checked with another anchor */
	assert_int_equal(authority_revoked_read(other, rd, len, &back), -EKEYREJECTED);
	assert_int_equal(back.n, 0);
	/* every single byte changed after the header's length octet is refused, one way or the other */
	for (size_t i = 1; i < len; i++) {
		rd[i] ^= 0x01;
		assert_true(authority_revoked_read(v, rd, len, &back) < 0);
		rd[i] ^= 0x01;
	}
	/* tampered: laptop -> laptoq, still well-formed; the signature fails */
	{
		uint8_t *p = memmem(rd, len, "laptop", 6);

		assert_non_null(p);
		p[5] = 'q';
		assert_int_equal(authority_revoked_parse(rd, len, &back), 0);
		assert_int_equal(authority_revoked_verify(v, &back), -EKEYREJECTED);
		assert_int_equal(authority_revoked_read(v, rd, len, &back), -EKEYREJECTED);
		p[5] = 'p';
	}
	/* truncated: without the signature, or a byte short */
	assert_int_equal(authority_revoked_read(v, rd, len - 93, &back), -EBADMSG);
	assert_int_equal(authority_revoked_read(v, rd, len - 1, &back), -EBADMSG);
	/* the signing needs the key */
	assert_int_equal(authority_revoked_build(v, &rl, rd, sizeof(rd), &len), -ENOKEY);
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_revoked_build(a, &rl, rd, len, &len), 0);
	assert_int_equal(authority_revoked_build(a, &rl, rd, len - 1, &len), -ENOSPC);
	authority_free(v);
	authority_free(a);
	authority_free(other);
}

static void test_revoked_spellings(void **state)
{
	static const char sig[] = "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
	uint8_t rd[AUTHORITY_REVOKED_RDATA_MAX + 300];
	struct authority_revoked rl;
#define PARSE(...) authority_revoked_parse(rd, txt(rd, sizeof(rd), (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *)), &rl)

	(void)state;
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", sig), 0);
	assert_int_equal(rl.n, 0);
	assert_int_equal(PARSE("at-revoked=1 seq=4294967295 t=9223372036854775807", "host h at=0", sig), 0);
	assert_int_equal(rl.seq, UINT32_MAX);
	assert_int_equal(rl.t, INT64_MAX);
	assert_int_equal(PARSE("at-revoked=1 seq=4294967296 t=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=9223372036854775808", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=2 seq=0 t=0", sig), -EPROTONOSUPPORT);
	assert_int_equal(PARSE("at-revoked=01 seq=0 t=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=01 t=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1  seq=0 t=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 t=0 seq=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0 x=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0"), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", sig, "host h at=0"), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "sig=AAAA"), -EBADMSG);
	/* the signature's padding bits must be zero: one spelling for the 64 bytes */
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=="), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ=="), 0);
	/* entries */
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "host Laptop at=0", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "host laptop at=00", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "host laptop", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "host laptop at=1", "host laptop at=2", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "serial 01 at=1", "serial 01 at=2", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "serial 01 at=1", "serial 0102 at=2", sig), 0);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "serial 0A at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "serial 1 at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "serial  at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "serial 0102030405060708090a0b0c0d0e0f1011121314 at=1", sig), 0);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "serial 0102030405060708090a0b0c0d0e0f101112131415 at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "user laptop at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f at=1", sig), 0);
	assert_int_equal(rl.e[0].kind, AUTHORITY_REVOKED_KEY);
	assert_int_equal(rl.e[0].key_id[31], 0x1f);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f at=1",
			       "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f at=2", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e at=1", sig), -EBADMSG);
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0",
			       "key 000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f at=1", sig), -EBADMSG);
	/* the same string in two kinds is two entries */
	assert_int_equal(PARSE("at-revoked=1 seq=0 t=0", "host ab at=1", "serial ab at=1", sig), 0);
	assert_int_equal(rl.n, 2);
#undef PARSE
}

static void test_revoked_bounds(void **state)
{
	struct authority *a = new_authority(D, 1);
	struct authority_revoked rl = { .seq = UINT32_MAX, .t = INT64_MAX }, back;
	uint8_t rd[AUTHORITY_REVOKED_RDATA_MAX];
	char host[64];
	size_t len;

	(void)state;
	/* the largest list: 64 entries of 63-character hosts revoked at the largest time */
	for (int i = 0; i < AUTHORITY_REVOKED_MAX; i++) {
		memset(host, 'a', 63);
		host[0] = (char)('a' + i % 26);
		host[1] = (char)('a' + i / 26);
		host[63] = '\0';
		assert_int_equal(authority_revoked_add_host(&rl, host, INT64_MAX), 0);
	}
	assert_int_equal(authority_revoked_add_host(&rl, "one-more", 0), -ENOSPC);
	assert_int_equal(authority_revoked_add_serial(&rl, (const uint8_t *)"x", 1, 0), -ENOSPC);
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), 0);
	assert_int_equal(len, 6031);	/* revoked.h */
	assert_int_equal(authority_revoked_read(a, rd, len, &back), 0);
	assert_int_equal(back.n, AUTHORITY_REVOKED_MAX);
	/* one entry more is refused by the builder and the parser */
	rl.n = AUTHORITY_REVOKED_MAX;
	{
		struct authority_revoked big = rl;
		uint8_t more[AUTHORITY_REVOKED_RDATA_MAX + 200];
		size_t pos = len - 93;
		const char *e = "host zz at=1";

		assert_int_equal(authority_revoked_add_host(&big, "zz", 1), -ENOSPC);
		memcpy(more, rd, pos);
		more[pos] = (uint8_t)strlen(e);
		memcpy(more + pos + 1, e, strlen(e));
		memcpy(more + pos + 1 + strlen(e), rd + pos, 93);
		assert_int_equal(authority_revoked_parse(more, len + 1 + strlen(e), &back), -EBADMSG);
	}
	/* bad entries are refused by the builder */
	rl.n = 1;
	strcpy(rl.e[0].host, "Bad");
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_SERIAL, .serial_len = 21 };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_SERIAL, .serial_len = 0 };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_SERIAL, .serial_len = 1, .host = "both" };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_KEY, .host = "both" };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_HOST, .host = "h", .key_id = { 1 } };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_HOST, .host = "h", .at = -1 };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = 4, .host = "h" };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), -EINVAL);
	rl.e[0] = (struct authority_revoked_entry){ .kind = AUTHORITY_REVOKED_HOST, .host = "h" };
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_revoked_add_host(&rl, "h", -1), -EINVAL);
	assert_int_equal(authority_revoked_add_serial(&rl, (const uint8_t *)"x", 0, 0), -EINVAL);
	assert_int_equal(authority_revoked_add_serial(&rl, (const uint8_t *)"012345678901234567890", 21, 0), -EINVAL);

	/* prune: an entry is dropped once every certificate it covered has expired */
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(authority_revoked_add_host(&rl, "old", NOW - 7 * DAY - AUTHORITY_SKEW_S - 1), 0);
	assert_int_equal(authority_revoked_add_host(&rl, "edge", NOW - 7 * DAY - AUTHORITY_SKEW_S), 0);
	assert_int_equal(authority_revoked_add_host(&rl, "new", NOW), 0);
	{
		uint8_t spki[AUTHORITY_SPKI_MAX];
		size_t sl = ed_spki(3, spki);

		assert_int_equal(authority_revoked_add_key(&rl, spki, sl, 0), 0);	/* a key stays revoked */
	}
	assert_int_equal(authority_revoked_prune(&rl, NOW, 7 * DAY), 1);
	assert_int_equal(rl.n, 3);
	assert_string_equal(rl.e[0].host, "edge");
	assert_string_equal(rl.e[1].host, "new");
	assert_int_equal(rl.e[2].kind, AUTHORITY_REVOKED_KEY);
	authority_free(a);
}

/* Records */

static void test_authority_record(void **state)
{
	struct authority *a = new_authority(D, 1);
	uint8_t der[AUTHORITY_CERT_DER_MAX], back[AUTHORITY_CERT_DER_MAX], rd[AUTHORITY_CERT_RDATA_MAX + 300];
	size_t len, rlen, blen;
	int nstr = 0;

	(void)state;
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	assert_int_equal(authority_cert_txt_build(der, len, rd, sizeof(rd), &rlen), 0);
	assert_int_equal(authority_cert_txt_parse(rd, rlen, back, sizeof(back), &blen), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, der, len);
	/* the layout: header, full strings of 252, the last shorter */
	assert_int_equal(rd[0], 14);
	assert_memory_equal(rd + 1, "at-authority=1", 14);
	for (size_t p = 15; p < rlen; p += 1 + rd[p], nstr++)
		assert_true(p + 1 + rd[p] == rlen ? rd[p] <= 252 : rd[p] == 252);
	assert_int_equal(nstr, (int)(((len + 2) / 3 * 4 + 251) / 252));
	assert_int_equal(rlen, 15 + (size_t)nstr + (len + 2) / 3 * 4);
	/* bounds: the buffers, one byte short */
	assert_int_equal(authority_cert_txt_build(der, len, rd, rlen - 1, &blen), -ENOSPC);
	assert_int_equal(authority_cert_txt_parse(rd, rlen, back, len - 1, &blen), -EBADMSG);
	assert_int_equal(authority_cert_txt_parse(rd, rlen - 1, back, sizeof(back), &blen), -EBADMSG);
	assert_int_equal(authority_cert_txt_build(der, 0, rd, sizeof(rd), &blen), -EINVAL);
	assert_int_equal(authority_cert_txt_build(der, AUTHORITY_CERT_DER_MAX + 1, rd, sizeof(rd), &blen), -EINVAL);
	/* the largest blob fits the largest RDATA */
	{
		static uint8_t big[AUTHORITY_CERT_DER_MAX];
		uint8_t bigrd[AUTHORITY_CERT_RDATA_MAX];

		assert_int_equal(authority_cert_txt_build(big, sizeof(big), bigrd, sizeof(bigrd), &blen), 0);
		assert_int_equal(authority_cert_txt_parse(bigrd, blen, back, sizeof(back), &blen), -EBADMSG);
	}
	/* an extra string, another version, the header only */
	rd[rlen] = 4;
	memcpy(rd + rlen + 1, "AAAA", 4);
	assert_int_equal(authority_cert_txt_parse(rd, rlen + 5, back, sizeof(back), &blen), -EBADMSG);
	rd[14] = '2';
	assert_int_equal(authority_cert_txt_parse(rd, rlen, back, sizeof(back), &blen), -EPROTONOSUPPORT);
	rd[14] = '1';
	assert_int_equal(authority_cert_txt_parse(rd, 15, back, sizeof(back), &blen), -EBADMSG);
	/* a first string one character short (not a full chunk) */
	{
		uint8_t odd[AUTHORITY_CERT_RDATA_MAX];
		size_t o = 15;

		memcpy(odd, rd, 15);
		odd[o] = 248;
		memcpy(odd + o + 1, rd + 16, 248);
		o += 249;
		memcpy(odd + o, rd + 15 + 253, rlen - 15 - 253);
		o += rlen - 15 - 253;
		assert_int_equal(authority_cert_txt_parse(odd, o, back, sizeof(back), &blen), -EBADMSG);
	}
	authority_free(a);
}

struct joining {
	struct authority *a;		/* a member's */
	struct authority_join j;
	uint8_t secret[AUTHORITY_JOIN_SECRET_LEN];
	char code[AUTHORITY_JOIN_CODE_TEXT];
	uint8_t mac_key[AUTHORITY_JOIN_MAC_KEY_LEN];
};

static void join_new(struct joining *x, uint8_t label)
{
	memset(x, 0, sizeof(*x));
	strcpy(x->j.host, "laptop");
	memcpy(x->j.ula, ula_laptop, 16);
	memset(x->j.nonce, label, sizeof(x->j.nonce));
	x->j.t = NOW;
	x->j.spki_len = ed_spki(label, x->j.spki);
	memset(x->secret, 0x5a, sizeof(x->secret));
	assert_int_equal(authority_join_seal(&x->j, D, x->secret, x->code, x->mac_key), 0);
}

static void test_join(void **state)
{
	struct joining x, y;
	struct authority_join j2, back;
	uint8_t rd[AUTHORITY_JOIN_RDATA_MAX], key[32], check[16];
	char canon[AUTHORITY_JOIN_CODE_SYMBOLS + 1], typed[16];
	size_t len;

	(void)state;
	join_new(&x, 3);
	assert_int_equal(strlen(x.code), 9);
	assert_int_equal(x.code[4], '-');
	/* deterministic: the same request and secret give the same code and check */
	j2 = x.j;
	memset(j2.check, 0, sizeof(j2.check));
	{
		char code2[AUTHORITY_JOIN_CODE_TEXT];

		assert_int_equal(authority_join_seal(&j2, D, x.secret, code2, key), 0);
		assert_string_equal(code2, x.code);
		assert_memory_equal(j2.check, x.j.check, 16);
		assert_memory_equal(key, x.mac_key, 32);
	}
	/* distinct for another request (another nonce, another key, one more second) and another secret */
	join_new(&y, 4);
	assert_string_not_equal(y.code, x.code);
	j2 = x.j;
	j2.t++;
	{
		char code2[AUTHORITY_JOIN_CODE_TEXT];

		assert_int_equal(authority_join_seal(&j2, D, x.secret, code2, key), 0);
		assert_string_not_equal(code2, x.code);
		j2 = x.j;
		x.secret[0] ^= 1;
		assert_int_equal(authority_join_seal(&j2, D, x.secret, code2, key), 0);
		assert_string_not_equal(code2, x.code);
		x.secret[0] ^= 1;
	}
	/* the member finds the request by the code as typed, and gets the same MAC key */
	assert_int_equal(authority_join_match(&x.j, D, x.code, key), 0);
	assert_memory_equal(key, x.mac_key, 32);
	snprintf(typed, sizeof(typed), "%.4s%s", x.code, x.code + 5);
	for (char *p = typed; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	assert_int_equal(authority_join_match(&x.j, D, typed, key), 0);
	assert_int_equal(authority_join_code_parse(typed, canon), 0);
	assert_int_equal(strlen(canon), 8);
	/* a typo, another request's code, another account */
	memcpy(typed, x.code, sizeof(x.code));
	typed[0] = typed[0] == '7' ? '8' : '7';
	assert_int_equal(authority_join_match(&x.j, D, typed, key), -ENOENT);
	assert_int_equal(authority_join_match(&x.j, D, y.code, key), -ENOENT);
	assert_int_equal(authority_join_match(&x.j, "bob.members.example.net", x.code, key), -ENOENT);
	assert_int_equal(authority_join_match(&x.j, D, "1234567", key), -EINVAL);
	assert_int_equal(authority_join_match(&x.j, D, "123456789", key), -EINVAL);
	assert_int_equal(authority_join_keys(&x.j, D, "1234", check, key), -EINVAL);

	/* the record */
	assert_int_equal(authority_join_build(&x.j, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_join_parse(rd, len, &back), 0);
	assert_string_equal(back.host, "laptop");
	assert_memory_equal(back.ula, ula_laptop, 16);
	assert_memory_equal(back.nonce, x.j.nonce, 16);
	assert_int_equal(back.t, NOW);
	assert_int_equal(back.spki_len, 44);
	assert_memory_equal(back.spki, x.j.spki, 44);
	assert_memory_equal(back.check, x.j.check, 16);
	assert_int_equal(authority_join_match(&back, D, x.code, key), 0);
	assert_int_equal(authority_join_build(&x.j, rd, len, &len), 0);
	assert_int_equal(authority_join_build(&x.j, rd, len - 1, &len), -ENOSPC);

	/* freshness: AUTHORITY_JOIN_MAX_AGE_S either way */
	assert_true(authority_join_fresh(&x.j, NOW + AUTHORITY_JOIN_MAX_AGE_S));
	assert_false(authority_join_fresh(&x.j, NOW + AUTHORITY_JOIN_MAX_AGE_S + 1));
	assert_true(authority_join_fresh(&x.j, NOW - AUTHORITY_JOIN_MAX_AGE_S));
	assert_false(authority_join_fresh(&x.j, NOW - AUTHORITY_JOIN_MAX_AGE_S - 1));

	/* bad requests are not sealed or built */
	j2 = x.j;
	strcpy(j2.host, "Laptop");
	assert_int_equal(authority_join_build(&j2, rd, sizeof(rd), &len), -EINVAL);
	assert_int_equal(authority_join_seal(&j2, D, x.secret, typed, key), -EINVAL);
	j2 = x.j;
	j2.ula[0] = 0xfe;
	assert_int_equal(authority_join_build(&j2, rd, sizeof(rd), &len), -EINVAL);
	j2 = x.j;
	j2.spki_len = 43;
	assert_int_equal(authority_join_build(&j2, rd, sizeof(rd), &len), -EINVAL);
}

static void test_join_spellings(void **state)
{
	struct joining x;
	struct authority_join back;
	uint8_t rd[AUTHORITY_JOIN_RDATA_MAX + 300];
	char head[256], key[256], check[64];
	size_t len;

	(void)state;
	join_new(&x, 3);
	assert_int_equal(authority_join_build(&x.j, rd, sizeof(rd), &len), 0);
	memcpy(head, rd + 1, rd[0]);
	head[rd[0]] = '\0';
	memcpy(key, rd + 2 + rd[0], rd[1 + rd[0]]);
	key[rd[1 + rd[0]]] = '\0';
	snprintf(check, sizeof(check), "%.*s", (int)rd[2 + rd[0] + rd[1 + rd[0]]], rd + 3 + rd[0] + rd[1 + rd[0]]);
	assert_string_equal(head, "at-join=1 host=laptop ula=fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a "
				  "nonce=03030303030303030303030303030303 t=1796000000");
	assert_int_equal(strlen(key), 4 + 60);
	assert_int_equal(strlen(check), 6 + 32);
#define PARSE(...) authority_join_parse(rd, txt(rd, sizeof(rd), (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *)), &back)
	assert_int_equal(PARSE(head, key, check), 0);
	/* an address not in its one spelling, a ULA outside fc00::/7 */
	assert_int_equal(PARSE("at-join=1 host=laptop ula=fd3c:8a1e:9b02:44d1:0222:69ff:fe8e:342a "
			       "nonce=03030303030303030303030303030303 t=1796000000", key, check), -EBADMSG);
	assert_int_equal(PARSE("at-join=1 host=laptop ula=2001:db8::1 "
			       "nonce=03030303030303030303030303030303 t=1796000000", key, check), -EBADMSG);
	assert_int_equal(PARSE("at-join=1 host=laptop ula=fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a "
			       "nonce=0303030303030303030303030303030 t=1796000000", key, check), -EBADMSG);
	assert_int_equal(PARSE("at-join=1 host=laptop ula=fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a "
			       "nonce=03030303030303030303030303030303 t=01796000000", key, check), -EBADMSG);
	assert_int_equal(PARSE("at-join=2 host=laptop", key, check), -EPROTONOSUPPORT);
	assert_int_equal(PARSE(head, key), -EBADMSG);
	assert_int_equal(PARSE(head, check, key), -EBADMSG);
	assert_int_equal(PARSE(head, key, check, "x"), -EBADMSG);
	assert_int_equal(PARSE(head, "key=", check), -EBADMSG);
	assert_int_equal(PARSE(head, "key=AAAA", check), -EBADMSG);
	assert_int_equal(PARSE(head, key, "check=00"), -EBADMSG);
	check[10] = 'A';
	assert_int_equal(PARSE(head, key, check), -EBADMSG);
#undef PARSE
}

static void test_approval(void **state)
{
	struct authority *member = new_authority(D, 1), *anchor, *fake = new_authority(D, 9);
	struct joining x;
	struct authority_join seen;
	struct authority_approval ap = { .t = NOW + 30 }, back;
	struct authority_host_cert info;
	uint8_t rd[AUTHORITY_APPROVAL_RDATA_MAX], jrd[AUTHORITY_JOIN_RDATA_MAX], adr[AUTHORITY_CERT_DER_MAX];
	uint8_t key[32], arec[AUTHORITY_CERT_RDATA_MAX], bad[32];
	size_t len, jlen, alen, arlen;
	char name[AGENT_NAME_MAX + 1];

	(void)state;
	/* the new computer publishes its request and shows its code */
	join_new(&x, 3);
	assert_int_equal(authority_join_build(&x.j, jrd, sizeof(jrd), &jlen), 0);
	/* the member reads it, the person types the code, the member issues and approves */
	assert_int_equal(authority_join_parse(jrd, jlen, &seen), 0);
	assert_true(authority_join_fresh(&seen, NOW + 30));
	assert_int_equal(authority_join_match(&seen, D, x.code, key), 0);
	memcpy(ap.nonce, seen.nonce, 16);
	ap.cert_len = issue(member, seen.host, seen.ula, seen.spki, seen.spki_len, NOW + 30, ap.cert);
	assert_int_equal(authority_approval_build(member, &ap, key, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_name_approve(name, D, seen.nonce), 0);
	assert_string_equal(name, "_approve.03030303030303030303030303030303." D);
	/* the new computer reads _authority.D and the approval */
	assert_int_equal(authority_cert_der(member, adr, sizeof(adr), &alen), 0);
	assert_int_equal(authority_cert_txt_build(adr, alen, arec, sizeof(arec), &arlen), 0);
	assert_int_equal(authority_cert_txt_parse(arec, arlen, adr, sizeof(adr), &alen), 0);
	assert_int_equal(authority_load(&anchor, D, adr, alen, NULL, 0), 0);
	assert_int_equal(authority_approval_parse(rd, len, &back), 0);
	assert_int_equal(back.t, NOW + 30);
	assert_int_equal(back.cert_len, ap.cert_len);
	assert_int_equal(authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW + 31, &info), 0);
	assert_string_equal(info.name, "laptop." D);
	assert_memory_equal(info.spki, x.j.spki, 44);

	/* the server's own authority with its own certificate: the MAC does not hold without the code */
	{
		struct authority_approval forged = ap;
		uint8_t frd[AUTHORITY_APPROVAL_RDATA_MAX];
		size_t flen;

		memset(bad, 0x11, sizeof(bad));
		forged.cert_len = issue(fake, "laptop", ula_laptop, x.j.spki, x.j.spki_len, NOW, forged.cert);
		assert_int_equal(authority_approval_build(fake, &forged, bad, frd, sizeof(frd), &flen), 0);
		assert_int_equal(authority_approval_parse(frd, flen, &back), 0);
		assert_int_equal(authority_approval_accept(fake, &back, &x.j, x.mac_key, NOW, NULL), -EKEYREJECTED);
		/* the genuine approval checked against the fake anchor fails too (the MAC covers the anchor) */
		assert_int_equal(authority_approval_parse(rd, len, &back), 0);
		assert_int_equal(authority_approval_accept(fake, &back, &x.j, x.mac_key, NOW, NULL), -EKEYREJECTED);
	}
	/* the right MAC over a certificate for another key */
	{
		struct authority_approval other = ap;
		uint8_t spki[AUTHORITY_SPKI_MAX], ord[AUTHORITY_APPROVAL_RDATA_MAX];
		size_t olen;

		other.cert_len = issue(member, "laptop", ula_laptop, spki, ed_spki(8, spki), NOW, other.cert);
		assert_int_equal(authority_approval_build(member, &other, key, ord, sizeof(ord), &olen), 0);
		assert_int_equal(authority_approval_parse(ord, olen, &back), 0);
		assert_int_equal(authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW, &info), -EKEYREJECTED);
		assert_int_equal(info.spki_len, 0);
	}
	/* another request's approval; a flipped MAC; expired by the time it arrives */
	assert_int_equal(authority_approval_parse(rd, len, &back), 0);
	back.nonce[0] ^= 1;
	assert_int_equal(authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW, NULL), -ENOENT);
	back.nonce[0] ^= 1;
	back.mac[31] ^= 1;
	assert_int_equal(authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW, NULL), -EKEYREJECTED);
	back.mac[31] ^= 1;
	assert_int_equal(authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW + 8 * DAY, NULL), -EKEYEXPIRED);
	/* every single byte changed is refused by the parser or by the acceptance */
	for (size_t i = 0; i < len; i++) {
		int r;

		rd[i] ^= 0x04;
		r = authority_approval_parse(rd, len, &back);
		if (r == 0)
			r = authority_approval_accept(anchor, &back, &x.j, x.mac_key, NOW + 31, NULL);
		assert_true(r < 0);
		rd[i] ^= 0x04;
	}
	/* bounds: the buffer, truncation, the MAC not last, no certificate */
	assert_int_equal(authority_approval_build(member, &ap, key, rd, len, &len), 0);
	assert_int_equal(authority_approval_build(member, &ap, key, rd, len - 1, &alen), -ENOSPC);
	assert_int_equal(authority_approval_parse(rd, len - 1, &back), -EBADMSG);
	assert_int_equal(authority_approval_parse(rd, len - 49, &back), -EBADMSG);
	{
		uint8_t two[128];
		const char *s[] = { "at-approve=1 nonce=03030303030303030303030303030303 t=1",
				    "mac=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
		const char *v2[] = { "at-approve=2 nonce=03030303030303030303030303030303 t=1", "AAAA",
				     "mac=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
		uint8_t three[200];

		assert_int_equal(authority_approval_parse(two, txt(two, sizeof(two), s, 2), &back), -EBADMSG);
		assert_int_equal(authority_approval_parse(three, txt(three, sizeof(three), v2, 3), &back),
				 -EPROTONOSUPPORT);
	}
	/* the MAC's two padding bits must be zero: one spelling for its 32 bytes */
	{
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *c;

		assert_int_equal(authority_approval_build(member, &ap, key, rd, sizeof(rd), &len), 0);
		assert_int_equal(rd[len - 1], '=');
		c = strchr(b64, rd[len - 2]);
		assert_non_null(c);
		assert_int_equal((c - b64) & 3, 0);
		rd[len - 2] = (uint8_t)b64[(c - b64) | 1];
		assert_int_equal(authority_approval_parse(rd, len, &back), -EBADMSG);
		rd[len - 2] = (uint8_t)*c;
		assert_int_equal(authority_approval_parse(rd, len, &back), 0);
	}
	ap.cert_len = 0;
	assert_int_equal(authority_approval_build(member, &ap, key, rd, sizeof(rd), &len), -EINVAL);
	ap.cert_len = AUTHORITY_CERT_DER_MAX + 1;
	assert_int_equal(authority_approval_build(member, &ap, key, rd, sizeof(rd), &len), -EINVAL);
	/* the largest certificate fits the largest RDATA */
	ap.cert_len = AUTHORITY_CERT_DER_MAX;
	ap.t = INT64_MAX;
	assert_int_equal(authority_approval_build(member, &ap, key, rd, sizeof(rd), &len), 0);
	assert_true(len <= AUTHORITY_APPROVAL_RDATA_MAX);
	assert_int_equal(authority_approval_parse(rd, len, &back), 0);
	authority_free(anchor);
	authority_free(member);
	authority_free(fake);
}

/* Renewal of a member's certificate */

/* The PKCS#8 DER of the Ed25519 host key ed_spki(label) describes. */
static size_t ed_p8(uint8_t label, uint8_t *out)
{
	uint8_t seed[32];
	EVP_PKEY *k;
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *o = out;
	int n;

	memset(seed, label, sizeof(seed));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	p8 = EVP_PKEY2PKCS8(k);
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &o);
	assert_int_equal(n, 48);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(k);
	return (size_t)n;
}

static void test_renew_request(void **state)
{
	struct authority *a, *other = new_authority(D, 2);
	struct authority_renew req = { .host = "laptop", .t = NOW }, back;
	struct authority_host_cert cur, next;
	struct authority_revoked rl = { .seq = 1 };
	uint8_t p8[64], rd[AUTHORITY_RENEW_RDATA_MAX], crd[AUTHORITY_HOSTCERT_RDATA_MAX];
	uint8_t der[AUTHORITY_CERT_DER_MAX], der2[AUTHORITY_CERT_DER_MAX];
	size_t p8len = ed_p8(3, p8), len, clen, dlen;
	char name[AGENT_NAME_MAX + 1];

	(void)state;
	/* an authority made a month ago: the anchor's own validity starts at its creation */
	{
		struct stream st = { .label = 1 };

		assert_int_equal(authority_create(&a, D, NULL, NOW - 30 * DAY, stream_rand, &st), 0);
	}
	/* the member: a certificate issued five days ago, its key, the same key to certify again */
	req.spki_len = ed_spki(3, req.spki);
	req.cert_len = issue(a, "laptop", ula_laptop, req.spki, req.spki_len, NOW - 5 * DAY, req.cert);
	assert_int_equal(authority_cert_verify(a, req.cert, req.cert_len, NOW, "laptop", NULL, NULL, &cur), 0);
	assert_true(authority_cert_should_renew(&cur, NOW));
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, sizeof(rd), &len), 0);
	assert_true(len < 1300);
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, len, &len), 0);
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, len - 1, &clen), -ENOSPC);
	/* the signer */
	assert_int_equal(authority_renew_parse(rd, len, &back), 0);
	assert_string_equal(back.host, "laptop");
	assert_int_equal(back.t, NOW);
	assert_int_equal(back.cert_len, req.cert_len);
	assert_int_equal(back.sig_len, 64);
	assert_int_equal(authority_renew_check(a, &back, NOW + 10, &rl, &cur), 0);
	assert_memory_equal(cur.ula, ula_laptop, 16);
	dlen = issue(a, back.host, cur.ula, back.spki, back.spki_len, NOW + 10, der);
	assert_int_equal(authority_hostcert_txt_build(der, dlen, crd, sizeof(crd), &clen), 0);
	/* the member reads _cert.H.D and checks it like any certificate */
	assert_int_equal(authority_hostcert_txt_parse(crd, clen, der2, sizeof(der2), &len), 0);
	assert_int_equal(len, dlen);
	assert_int_equal(authority_cert_verify(a, der2, len, NOW + 10, "laptop", ula_laptop, NULL, &next), 0);
	assert_int_equal(next.not_after, NOW + 10 + 7 * DAY);
	/* _cert.H.D is not _authority.D */
	assert_int_equal(authority_cert_txt_parse(crd, clen, der2, sizeof(der2), &len), -EBADMSG);
	crd[9] = '2';	/* "at-cert=2" */
	assert_int_equal(authority_hostcert_txt_parse(crd, clen, der2, sizeof(der2), &len), -EPROTONOSUPPORT);

	/* refusals: stale either way, another authority, revoked (the host, or the new key) */
	assert_int_equal(authority_renew_parse(rd, 0, &back), -EBADMSG);
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_renew_parse(rd, len, &back), 0);
	assert_int_equal(authority_renew_check(a, &back, NOW + AUTHORITY_RENEW_MAX_AGE_S, NULL, NULL), 0);
	assert_int_equal(authority_renew_check(a, &back, NOW + AUTHORITY_RENEW_MAX_AGE_S + 1, NULL, &cur), -ESTALE);
	assert_int_equal(cur.spki_len, 0);
	assert_int_equal(authority_renew_check(a, &back, NOW - AUTHORITY_RENEW_MAX_AGE_S, NULL, NULL), 0);
	assert_int_equal(authority_renew_check(a, &back, NOW - AUTHORITY_RENEW_MAX_AGE_S - 1, NULL, NULL), -ESTALE);
	assert_int_equal(authority_renew_check(other, &back, NOW, NULL, NULL), -EKEYREJECTED);
	assert_int_equal(authority_renew_check(a, &back, NOW + 3 * DAY, NULL, NULL), -EKEYEXPIRED);
	assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW), 0);
	assert_int_equal(authority_renew_check(a, &back, NOW, &rl, NULL), -EKEYREVOKED);
	rl.n = 0;
	{
		uint8_t spki[AUTHORITY_SPKI_MAX];
		size_t sl = ed_spki(4, spki);
		struct authority_renew rot = req;

		/* a rotated key: fine, unless that key is revoked */
		memcpy(rot.spki, spki, sl);
		rot.spki_len = sl;
		assert_int_equal(authority_renew_build(&rot, D, p8, p8len, rd, sizeof(rd), &len), 0);
		assert_int_equal(authority_renew_parse(rd, len, &back), 0);
		assert_int_equal(authority_renew_check(a, &back, NOW, &rl, NULL), 0);
		assert_int_equal(authority_revoked_add_key(&rl, spki, sl, NOW - 100), 0);
		assert_int_equal(authority_renew_check(a, &back, NOW, &rl, NULL), -EKEYREJECTED);
		rl.n = 0;
		/* signed by a key that is not the certificate's: the builder refuses */
		assert_int_equal(authority_renew_build(&rot, D, p8, ed_p8(4, p8), rd, sizeof(rd), &len), -EINVAL);
		p8len = ed_p8(3, p8);
	}
	/* what the signature covers: the time, the key, the host, the account */
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_renew_parse(rd, len, &back), 0);
	back.t++;
	assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), -EKEYREJECTED);
	back.t--;
	back.sig[10] ^= 1;
	assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), -EKEYREJECTED);
	back.sig[10] ^= 1;
	assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), 0);
	strcpy(back.host, "desktop");
	assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), -EPERM);
	assert_int_equal(authority_renew_build(&req, "bob.members.example.net", p8, p8len, rd, sizeof(rd), &len), 0);
	assert_int_equal(authority_renew_parse(rd, len, &back), 0);
	assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), -EKEYREJECTED);
	/* every byte changed is refused by the parser or the check */
	assert_int_equal(authority_renew_build(&req, D, p8, p8len, rd, sizeof(rd), &len), 0);
	for (size_t i = 0; i < len; i++) {
		int r;

		rd[i] ^= 0x02;
		r = authority_renew_parse(rd, len, &back);
		if (r == 0)
			r = authority_renew_check(a, &back, NOW, NULL, NULL);
		assert_true(r < 0);
		rd[i] ^= 0x02;
	}
	assert_int_equal(authority_renew_parse(rd, len - 1, &back), -EBADMSG);
	rd[10] = '2';	/* "at-renew=2" */
	assert_int_equal(authority_renew_parse(rd, len, &back), -EPROTONOSUPPORT);

	/* an ECDSA P-256 member */
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		PKCS8_PRIV_KEY_INFO *pk = EVP_PKEY2PKCS8(k);
		unsigned char *o = p8, *sp = req.spki;
		int n = i2d_PKCS8_PRIV_KEY_INFO(pk, NULL);
		uint8_t big[200];

		assert_true(n > 0 && (size_t)n <= sizeof(big));
		o = big;
		n = i2d_PKCS8_PRIV_KEY_INFO(pk, &o);
		req.spki_len = (size_t)i2d_PUBKEY(k, &sp);
		req.cert_len = issue(a, "laptop", ula_laptop, req.spki, req.spki_len, NOW - DAY, req.cert);
		assert_int_equal(authority_renew_build(&req, D, big, (size_t)n, rd, sizeof(rd), &len), 0);
		assert_int_equal(authority_renew_parse(rd, len, &back), 0);
		assert_true(back.sig_len >= 8 && back.sig_len <= AUTHORITY_RENEW_SIG_MAX);
		assert_int_equal(authority_renew_check(a, &back, NOW, NULL, &cur), 0);
		assert_int_equal(cur.key_type, AUTHORITY_KEY_P256);
		back.sig[back.sig_len - 1] ^= 1;
		assert_int_equal(authority_renew_check(a, &back, NOW, NULL, NULL), -EKEYREJECTED);
		PKCS8_PRIV_KEY_INFO_free(pk);
		EVP_PKEY_free(k);
	}

	/* names */
	assert_int_equal(authority_name_renew(name, D, "laptop"), 0);
	assert_string_equal(name, "_renew.laptop." D);
	assert_int_equal(authority_name_cert(name, D, "laptop"), 0);
	assert_string_equal(name, "_cert.laptop." D);
	assert_int_equal(authority_name_cert(name, D, "Laptop"), -EINVAL);
	authority_free(a);
	authority_free(other);
}

static void test_names(void **state)
{
	char buf[AGENT_NAME_MAX + 1], dom[254];
	uint8_t nonce[16] = { 0xab };

	(void)state;
	assert_int_equal(authority_name_authority(buf, "Alice.Members.Example.NET."), 0);
	assert_string_equal(buf, "_authority." D);
	assert_int_equal(authority_name_join(buf, D), 0);
	assert_string_equal(buf, "_join." D);
	assert_int_equal(authority_name_revoked(buf, D), 0);
	assert_string_equal(buf, "_revoked." D);
	assert_int_equal(authority_name_approve(buf, D, nonce), 0);
	assert_string_equal(buf, "_approve.ab000000000000000000000000000000." D);
	assert_int_equal(authority_name_join(buf, "bad name"), -EINVAL);
	/* 253 characters in all fit, 254 do not: "_join." is 6 */
	memset(dom, 'a', 247);
	dom[63] = dom[127] = dom[191] = '.';
	dom[247] = '\0';
	assert_int_equal(authority_name_join(buf, dom), 0);
	assert_int_equal(strlen(buf), 253);
	dom[247] = 'a';
	dom[248] = '\0';
	assert_int_equal(authority_name_join(buf, dom), -EINVAL);
}

/* The sizes docs/authority.md quotes, printed so that the page can be checked against them. */
static void test_sizes(void **state)
{
	struct authority *a = new_authority(D, 1);
	struct joining x;
	struct authority_approval ap = { .t = NOW };
	struct authority_revoked rl = { .seq = 1, .t = NOW };
	uint8_t der[AUTHORITY_CERT_DER_MAX], rd[AUTHORITY_APPROVAL_RDATA_MAX];
	uint8_t spki[AUTHORITY_SPKI_MAX];
	size_t len, rlen;

	(void)state;
	assert_int_equal(authority_cert_der(a, der, sizeof(der), &len), 0);
	assert_int_equal(authority_cert_txt_build(der, len, rd, sizeof(rd), &rlen), 0);
	printf("# anchor DER %zu, _authority.D RDATA %zu\n", len, rlen);
	assert_true(rlen < 1200);
	len = issue(a, "laptop", ula_laptop, spki, ed_spki(3, spki), NOW, der);
	printf("# host certificate (Ed25519) DER %zu\n", len);
	len = issue(a, "laptop", ula_laptop, spki, p256_spki(spki), NOW, der);
	printf("# host certificate (P-256) DER %zu\n", len);
	join_new(&x, 3);
	assert_int_equal(authority_join_build(&x.j, rd, sizeof(rd), &rlen), 0);
	printf("# _join.D RDATA (Ed25519) %zu\n", rlen);
	memcpy(ap.nonce, x.j.nonce, 16);
	ap.cert_len = issue(a, "laptop", ula_laptop, x.j.spki, x.j.spki_len, NOW, ap.cert);
	assert_int_equal(authority_approval_build(a, &ap, x.mac_key, rd, sizeof(rd), &rlen), 0);
	printf("# _approve RDATA %zu\n", rlen);
	assert_true(rlen < 1200);
	assert_int_equal(authority_revoked_add_host(&rl, "laptop", NOW), 0);
	assert_int_equal(authority_revoked_build(a, &rl, rd, sizeof(rd), &rlen), 0);
	printf("# _revoked.D RDATA with one host %zu\n", rlen);
	{
		struct authority_renew req = { .host = "laptop", .t = NOW };
		uint8_t p8[64], rrd[AUTHORITY_RENEW_RDATA_MAX];
		size_t p8len = ed_p8(3, p8);

		req.spki_len = ed_spki(3, req.spki);
		req.cert_len = issue(a, "laptop", ula_laptop, req.spki, req.spki_len, NOW, req.cert);
		assert_int_equal(authority_renew_build(&req, D, p8, p8len, rrd, sizeof(rrd), &rlen), 0);
		printf("# _renew.H.D RDATA (Ed25519) %zu\n", rlen);
		assert_int_equal(authority_hostcert_txt_build(req.cert, req.cert_len, rrd, sizeof(rrd), &rlen), 0);
		printf("# _cert.H.D RDATA (Ed25519) %zu\n", rlen);
	}
	authority_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b32),
		cmocka_unit_test(test_create_and_profile),
		cmocka_unit_test(test_long_domain),
		cmocka_unit_test(test_pkcs8_and_load),
		cmocka_unit_test(test_recovery_key),
		cmocka_unit_test(test_issue_verify),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_verify_profile),
		cmocka_unit_test(test_verify_revoked),
		cmocka_unit_test(test_issue_bounds),
		cmocka_unit_test(test_pkinit),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_revoked_spellings),
		cmocka_unit_test(test_revoked_bounds),
		cmocka_unit_test(test_authority_record),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_join_spellings),
		cmocka_unit_test(test_approval),
		cmocka_unit_test(test_renew_request),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
