/* lib/dns/keys.c: scrypt key derivation, the _kdf.D parameters record and
 * the weak-password rule (docs/design.md §6, docs/dnsd.md "Accounts"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dns/keys.h"
#include "wire/wire.h"

#define SALT_TSIG "autotunnel tsig v1 "
#define SALT_IKE "autotunnel ike v1 "
#define SALT_V1 "autotunnel kdf v1 "
#define DOMAIN_MAX 253

/* ---- parameters ---- */

void dns_kdf_legacy(struct dns_kdf *k)
{
	memset(k, 0, sizeof(*k));
	k->version = DNS_KDF_V0_LEGACY;
	k->n = DNS_KEYS_SCRYPT_N;
	k->r = DNS_KEYS_SCRYPT_R;
	k->p = DNS_KEYS_SCRYPT_P;
}

int dns_kdf_init(struct dns_kdf *k, const uint8_t *salt, size_t saltlen)
{
	memset(k, 0, sizeof(*k));
	if (!salt || saltlen < DNS_KDF_SALT_MIN || saltlen > DNS_KDF_SALT_MAX)
		return -EINVAL;
	k->version = DNS_KDF_V1;
	k->n = DNS_KDF_DEFAULT_N;
	k->r = DNS_KDF_DEFAULT_R;
	k->p = DNS_KDF_DEFAULT_P;
	k->salt_len = (uint8_t)saltlen;
	memcpy(k->salt, salt, saltlen);
	return 0;
}

/* The memory scrypt needs (RFC 7914 §5: V is 128 r N bytes, B is 128 r p)
 * plus room for OpenSSL's own, as EVP_PBE_scrypt's maxmem wants it. */
static uint64_t scrypt_mem(uint32_t n, uint32_t r, uint32_t p)
{
	return 128ull * r * ((uint64_t)n + p + 2) + (1u << 20);
}

static bool kdf_valid(const struct dns_kdf *k)
{
	if (k->version == DNS_KDF_V0_LEGACY)
		return k->n == DNS_KEYS_SCRYPT_N && k->r == DNS_KEYS_SCRYPT_R &&
		       k->p == DNS_KEYS_SCRYPT_P && k->salt_len == 0;
	if (k->version != DNS_KDF_V1)
		return false;
	/* scrypt needs N a power of two above 1 (RFC 7914 §2) */
	if (k->n < DNS_KDF_N_MIN || k->n > DNS_KDF_N_MAX || (k->n & (k->n - 1)) != 0)
		return false;
	if (k->r < 1 || k->r > DNS_KDF_R_MAX || k->p < 1 || k->p > DNS_KDF_P_MAX)
		return false;
	if (128ull * k->r * k->n > DNS_KDF_MEM_MAX)
		return false;
	return k->salt_len >= DNS_KDF_SALT_MIN && k->salt_len <= DNS_KDF_SALT_MAX;
}

int dns_kdf_format(const struct dns_kdf *k, char *buf, size_t cap)
{
	char b64[4 * ((DNS_KDF_SALT_MAX + 2) / 3) + 1];
	int n;

	if (!kdf_valid(k))
		return -EINVAL;
	if (k->version == DNS_KDF_V0_LEGACY) {
		n = snprintf(buf, cap, "v=0 alg=scrypt N=%u r=%u p=%u", k->n, k->r, k->p);
	} else {
		EVP_EncodeBlock((unsigned char *)b64, k->salt, k->salt_len);
		n = snprintf(buf, cap, "v=1 alg=scrypt N=%u r=%u p=%u salt=%s", k->n, k->r, k->p, b64);
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* A text cursor: the field "KEY=" at @p pos, then its value up to a space or the end. */
struct text {
	const char *s;
	size_t len, pos;
	bool err;
};

static const char *field(struct text *t, const char *key, size_t *vlen, bool last)
{
	size_t klen = strlen(key), start;

	if (t->err || t->len - t->pos < klen || memcmp(t->s + t->pos, key, klen) != 0) {
		t->err = true;
		return NULL;
	}
	start = t->pos += klen;
	while (t->pos < t->len && t->s[t->pos] != ' ')
		t->pos++;
	*vlen = t->pos - start;
	if (last ? t->pos != t->len : t->pos == t->len) {
		t->err = true;	/* trailing data, or a field missing */
		return NULL;
	}
	if (!last)
		t->pos++;	/* the one space */
	return t->s + start;
}

/* A decimal number without sign or leading zeros, at most @p max. */
static uint32_t number(struct text *t, const char *key, uint32_t max, bool last)
{
	size_t len;
	const char *v = field(t, key, &len, last);
	uint64_t x = 0;

	if (!v || len == 0 || len > 10 || (v[0] == '0' && len > 1)) {
		t->err = true;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9') {
			t->err = true;
			return 0;
		}
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > max) {
		t->err = true;
		return 0;
	}
	return (uint32_t)x;
}

int dns_kdf_parse(struct dns_kdf *k, const char *text, size_t len)
{
	struct text t = { .s = text, .len = len };
	const char *v, *salt;
	size_t vlen, slen;
	uint32_t version;

	memset(k, 0, sizeof(*k));
	if (!text || len > DNS_KDF_TEXT_MAX)
		return -EBADMSG;
	version = number(&t, "v=", DNS_KDF_V1, false);
	v = field(&t, "alg=", &vlen, false);
	if (!v || vlen != 6 || memcmp(v, "scrypt", 6) != 0)
		t.err = true;
	k->n = number(&t, "N=", DNS_KDF_N_MAX, false);
	k->r = number(&t, "r=", DNS_KDF_R_MAX, false);
	k->p = number(&t, "p=", DNS_KDF_P_MAX, version == DNS_KDF_V0_LEGACY);
	if (!t.err && version == DNS_KDF_V1) {
		unsigned char raw[DNS_KDF_SALT_MAX + 3];
		char again[sizeof(raw) / 3 * 4 + 1];
		int n;

		salt = field(&t, "salt=", &slen, true);
		/* padded base64 of 8..64 bytes: a multiple of 4 characters;
		 * EVP_DecodeBlock counts the padding as zero bytes */
		if (!salt || slen < 12 || slen > 88 || slen % 4 != 0) {
			t.err = true;
		} else if ((n = EVP_DecodeBlock(raw, (const unsigned char *)salt, (int)slen)) < 0) {
			t.err = true;
		} else {
			size_t pad = (size_t)(salt[slen - 1] == '=') + (size_t)(salt[slen - 2] == '=');
			size_t got = (size_t)n - pad;

			if (got > DNS_KDF_SALT_MAX) {
				t.err = true;
			} else {
				k->salt_len = (uint8_t)got;
				memcpy(k->salt, raw, got);
				/* canonical only: what decodes must encode back to the same text */
				EVP_EncodeBlock((unsigned char *)again, k->salt, k->salt_len);
				if (strlen(again) != slen || memcmp(again, salt, slen) != 0)
					t.err = true;
			}
		}
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	k->version = (enum dns_kdf_version)version;
	if (t.err || !kdf_valid(k)) {
		memset(k, 0, sizeof(*k));
		return -EBADMSG;
	}
	return 0;
}

int dns_kdf_txt_parse(struct dns_kdf *k, const uint8_t *rdata, size_t rdlen)
{
	struct wire r = wire_reader(rdata, rdlen);
	uint8_t n = wire_read_u8(&r);
	const uint8_t *s = wire_read_ref(&r, n);

	/* RFC 1035 §3.3.14: one <character-string>, and nothing after it */
	if (wire_err(&r) || wire_avail(&r) != 0) {
		memset(k, 0, sizeof(*k));
		return -EBADMSG;
	}
	return dns_kdf_parse(k, (const char *)s, n);
}

int dns_kdf_txt_write(const struct dns_kdf *k, uint8_t *buf, size_t cap)
{
	char text[DNS_KDF_TEXT_MAX + 1];
	int n = dns_kdf_format(k, text, sizeof(text));
	struct wire w;

	if (n < 0)
		return n;
	w = wire_writer(buf, cap);
	wire_write_u8(&w, (uint8_t)n);
	wire_write_bytes(&w, text, (size_t)n);
	return wire_err(&w) ? -ENOSPC : (int)wire_offset(&w);
}

/* ---- derivation ---- */

static int scrypt_out(const char *pw, size_t pwlen, const unsigned char *salt, size_t saltlen,
		      const struct dns_kdf *k, uint8_t *out, size_t outlen)
{
	/* EVP_PBE_scrypt rejects a NULL password even with length 0 */
	if (EVP_PBE_scrypt(pw ? pw : "", pwlen, salt, saltlen, k->n, k->r, k->p,
			   scrypt_mem(k->n, k->r, k->p), out, outlen) != 1)
		return -EIO;
	return 0;
}

/* D in lower case without its trailing dot into @p d; its length or -EINVAL. */
static int canon_domain(const char *domain, char d[static DOMAIN_MAX + 1])
{
	size_t dlen, label = 0;

	dlen = strlen(domain);
	if (dlen && domain[dlen - 1] == '.')
		dlen--;
	if (dlen == 0 || dlen > DOMAIN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < dlen; i++) {
		char c = domain[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;	/* empty label */
			label = 0;
		} else if (++label > 63) {
			return -EINVAL;
		}
		d[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	d[dlen] = '\0';
	return (int)dlen;
}

static int derive_legacy(const struct dns_kdf *k, const char *d, size_t dlen, const char *pw,
			 size_t pwlen, uint8_t tsig_key[static 32], uint8_t ike_key[static 32])
{
	unsigned char salt[sizeof(SALT_TSIG) + DOMAIN_MAX];
	int err;

	memcpy(salt, SALT_TSIG, sizeof(SALT_TSIG) - 1);
	memcpy(salt + sizeof(SALT_TSIG) - 1, d, dlen);
	err = scrypt_out(pw, pwlen, salt, sizeof(SALT_TSIG) - 1 + dlen, k, tsig_key, DNS_KEY_LEN);
	if (err == 0) {
		memcpy(salt, SALT_IKE, sizeof(SALT_IKE) - 1);
		memcpy(salt + sizeof(SALT_IKE) - 1, d, dlen);
		err = scrypt_out(pw, pwlen, salt, sizeof(SALT_IKE) - 1 + dlen, k, ike_key, DNS_KEY_LEN);
	}
	return err;
}

static int derive_v1(const struct dns_kdf *k, const char *d, size_t dlen, const char *pw,
		     size_t pwlen, uint8_t tsig_key[static 32], uint8_t ike_key[static 32])
{
	unsigned char salt[DNS_KDF_SALT_MAX + sizeof(SALT_V1) + DOMAIN_MAX];
	uint8_t out[2 * DNS_KEY_LEN];
	size_t n = 0;
	int err;

	memcpy(salt, k->salt, k->salt_len);
	n += k->salt_len;
	memcpy(salt + n, SALT_V1, sizeof(SALT_V1) - 1);
	n += sizeof(SALT_V1) - 1;
	memcpy(salt + n, d, dlen);
	n += dlen;
	err = scrypt_out(pw, pwlen, salt, n, k, out, sizeof(out));
	if (err == 0) {
		memcpy(tsig_key, out, DNS_KEY_LEN);
		memcpy(ike_key, out + DNS_KEY_LEN, DNS_KEY_LEN);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return err;
}

int dns_keys_derive(const struct dns_kdf *kdf, const char *domain, const char *password,
		    size_t pwlen, uint8_t tsig_key[static 32], uint8_t ike_key[static 32])
{
	char d[DOMAIN_MAX + 1];
	int dlen, err;

	memset(tsig_key, 0, DNS_KEY_LEN);
	memset(ike_key, 0, DNS_KEY_LEN);
	if (!kdf || !domain || (!password && pwlen) || !kdf_valid(kdf))
		return -EINVAL;
	dlen = canon_domain(domain, d);
	if (dlen < 0)
		return dlen;
	if (kdf->version == DNS_KDF_V0_LEGACY)
		err = derive_legacy(kdf, d, (size_t)dlen, password, pwlen, tsig_key, ike_key);
	else
		err = derive_v1(kdf, d, (size_t)dlen, password, pwlen, tsig_key, ike_key);
	if (err) {
		OPENSSL_cleanse(tsig_key, DNS_KEY_LEN);
		OPENSSL_cleanse(ike_key, DNS_KEY_LEN);
	}
	return err;
}

/* ---- weak passwords ---- */

/*
 * The most common passwords that are long enough to pass the length rule
 * (shorter ones are refused by it anyway), from the published top lists of
 * leaked passwords. Compared without case.
 */
static const char *const common[] = {
	"1234567890", "0123456789", "0987654321", "12345678910", "1234567891",
	"123456789a", "a123456789", "1122334455", "1231231231",
	"qwertyuiop", "qwerty1234", "qwerty12345", "qwerty123456", "1q2w3e4r5t",
	"1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "asdfghjkl1", "zxcvbnm123",
	"password12", "password123", "password1234", "passw0rd123", "password!1",
	"administrator", "letmein123", "welcome123", "iloveyou12", "iloveyou123",
	"abcdefghij", "abc1234567", "changeme123", "football123", "baseball123",
	"princess123", "sunshine123", "monkey12345", "dragon12345", "superman123",
};

static bool equal_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
		char y = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] + 32) : b[i];

		if (x != y)
			return false;
	}
	return true;
}

int dns_password_check(const char *password, size_t len, const char *account, const char **why)
{
	size_t i;

	*why = NULL;
	if (!password || len < DNS_PASSWORD_MIN) {
		*why = "the password is too short: it needs at least 10 characters";
		return -EPERM;
	}
	for (i = 1; i < len && password[i] == password[0]; i++)
		;
	if (i == len) {
		*why = "the password is one character repeated";
		return -EPERM;
	}
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		if (equal_nocase(password, len, common[i], strlen(common[i]))) {
			*why = "the password is one of the most common passwords";
			return -EPERM;
		}
	}
	if (account) {
		size_t alen = strlen(account), first = strcspn(account, ".");

		if (alen && account[alen - 1] == '.')
			alen--;
		/* the account's name (its domain's first label) or its whole domain */
		if (equal_nocase(password, len, account, alen) ||
		    equal_nocase(password, len, account, first)) {
			*why = "the password is the account's name";
			return -EPERM;
		}
	}
	return 0;
}
