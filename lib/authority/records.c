/* The authority's TXT records: anchor, join request, approval (records.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>

#include "authority/authority.h"
#include "authority/b32.h"
#include "authority/cert.h"
#include "authority/internal.h"
#include "authority/records.h"
#include "authority/txt.h"
#include "dns/txt.h"
#include "util/encode.h"

#define TIME_MAX ((uint64_t)INT64_MAX)
#define JOIN_CODE_CONTEXT "autotunnel join code v1"
#define JOIN_KEYS_CONTEXT "autotunnel join v1"
#define APPROVE_CONTEXT "autotunnel approve v1"

static int finish(struct wire *w, size_t *len)
{
	if (wire_err(w))
		return wire_err(w) == -EINVAL ? -EINVAL : -ENOSPC;
	*len = wire_offset(w);
	return 0;
}

/* HMAC-SHA256 (RFC 2104) of the concatenation of two parts. */
static int hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *p1, size_t n1,
		       const uint8_t *p2, size_t n2, uint8_t out[static 32])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;
	int r = -EIO;

	if (ctx && EVP_MAC_init(ctx, key, klen, params) == 1 &&
	    EVP_MAC_update(ctx, p1, n1) == 1 && EVP_MAC_update(ctx, p2, n2) == 1 &&
	    EVP_MAC_final(ctx, out, &outl, 32) == 1 && outl == 32)
		r = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return r;
}

/* _authority.D */

int authority_cert_txt_build(const uint8_t *der, size_t len, uint8_t *rdata, size_t cap, size_t *rlen)
{
	return authority_txt_der_build("at-authority", der, len, rdata, cap, rlen);
}

int authority_cert_txt_parse(const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap, size_t *len)
{
	return authority_txt_der_parse("at-authority", rdata, rlen, der, cap, len);
}

/* _join.D */

static int join_check(const struct authority_join *j)
{
	size_t hl = strnlen(j->host, sizeof(j->host));

	if (hl == sizeof(j->host) || agent_label_check(j->host, hl) || (j->ula[0] & 0xfe) != 0xfc ||
	    j->t < 0 || authority_spki_check(j->spki, j->spki_len) < 0)
		return -EINVAL;
	return 0;
}

/* The request without its check: what the code and the keys are computed over. */
static int join_body(const struct authority_join *j, struct wire *w)
{
	char s[256], ula[INET6_ADDRSTRLEN], nonce[2 * AUTHORITY_JOIN_NONCE_LEN + 1];
	int n;

	if (join_check(j) || !inet_ntop(AF_INET6, j->ula, ula, sizeof(ula)))
		return -EINVAL;
	dns_txt_hex_put(nonce, j->nonce, sizeof(j->nonce));
	n = snprintf(s, sizeof(s), "at-join=1 host=%s ula=%s nonce=%s t=%" PRId64, j->host, ula, nonce, j->t);
	if (n < 0 || (size_t)n >= sizeof(s))
		return -EINVAL;
	dns_txt_put(w, s, (size_t)n);
	memcpy(s, "key=", 4);
	if ((n = b64_encode(s + 4, sizeof(s) - 4, j->spki, j->spki_len)) < 0)
		return -EINVAL;
	dns_txt_put(w, s, 4 + (size_t)n);
	return wire_err(w) ? -ENOSPC : 0;
}

int authority_join_build(const struct authority_join *j, uint8_t *rdata, size_t cap, size_t *len)
{
	struct wire w = wire_writer(rdata, cap);
	char s[6 + 2 * AUTHORITY_JOIN_CHECK_LEN + 1];
	int r;

	*len = 0;
	if ((r = join_body(j, &w)))
		return r;
	memcpy(s, "check=", 6);
	dns_txt_hex_put(s + 6, j->check, sizeof(j->check));
	dns_txt_put(&w, s, strlen(s));
	return finish(&w, len);
}

static int join_header_parse(char *h, struct authority_join *j)
{
	char *tok[DNS_TXT_TOKENS];
	const char *v;
	uint64_t t;
	size_t hl;

	if (dns_txt_tokens(h, tok) != 5 || strcmp(tok[0], "at-join=1"))
		return -EBADMSG;
	if (!(v = dns_txt_value(tok[1], "host")) || (hl = strlen(v)) > AGENT_LABEL_MAX ||
	    agent_label_check(v, hl))
		return -EBADMSG;
	memcpy(j->host, v, hl + 1);
	/* the address is checked for its one spelling when the request is written back */
	if (!(v = dns_txt_value(tok[2], "ula")) || inet_pton(AF_INET6, v, j->ula) != 1)
		return -EBADMSG;
	if (!(v = dns_txt_value(tok[3], "nonce")) || dns_txt_hex(v, j->nonce, sizeof(j->nonce)))
		return -EBADMSG;
	if (!(v = dns_txt_value(tok[4], "t")) || dns_txt_decimal(v, TIME_MAX, &t))
		return -EBADMSG;
	j->t = (int64_t)t;
	return 0;
}

static int join_parse(const uint8_t *rdata, size_t len, struct authority_join *j)
{
	struct wire w = wire_reader(rdata, len);
	uint8_t back[AUTHORITY_JOIN_RDATA_MAX];
	char s[256];
	size_t blen;
	int r;

	if (dns_txt_get(&w, s) < 0)
		return -EBADMSG;
	if ((r = dns_txt_version(s, "at-join")) || (r = join_header_parse(s, j)))
		return r;
	if (dns_txt_get(&w, s) < 0 || strncmp(s, "key=", 4))
		return -EBADMSG;
	if ((r = b64_decode(j->spki, sizeof(j->spki), s + 4)) <= 0)
		return -EBADMSG;
	j->spki_len = (size_t)r;
	if (dns_txt_get(&w, s) < 0 || strncmp(s, "check=", 6) ||
	    dns_txt_hex(s + 6, j->check, sizeof(j->check)) || wire_avail(&w))
		return -EBADMSG;
	/* one spelling (address, base64) and a valid key: written back, the same bytes */
	if (authority_join_build(j, back, sizeof(back), &blen) || blen != len || memcmp(back, rdata, len))
		return -EBADMSG;
	return 0;
}

int authority_join_parse(const uint8_t *rdata, size_t len, struct authority_join *j)
{
	int r;

	memset(j, 0, sizeof(*j));
	if (len > AUTHORITY_JOIN_RDATA_MAX)
		return -EBADMSG;
	if ((r = join_parse(rdata, len, j)))
		memset(j, 0, sizeof(*j));
	return r;
}

int authority_join_code_parse(const char *text, char canon[static AUTHORITY_JOIN_CODE_SYMBOLS + 1])
{
	uint8_t bits[5];

	canon[0] = '\0';
	if (authority_b32_decode(bits, text, 40))
		return -EINVAL;
	return authority_b32_encode(canon, AUTHORITY_JOIN_CODE_SYMBOLS + 1, bits, 40, 0) ==
		AUTHORITY_JOIN_CODE_SYMBOLS ? 0 : -EINVAL;
}

int authority_join_keys(const struct authority_join *j, const char *domain, const char *code,
			uint8_t check[static AUTHORITY_JOIN_CHECK_LEN],
			uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN])
{
	uint8_t salt[sizeof(JOIN_KEYS_CONTEXT) + AGENT_NAME_MAX + 1 + AUTHORITY_JOIN_RDATA_MAX];
	uint8_t out[AUTHORITY_JOIN_CHECK_LEN + AUTHORITY_JOIN_MAC_KEY_LEN];
	char d[AGENT_NAME_MAX + 1];
	size_t c = sizeof(JOIN_KEYS_CONTEXT), dl;
	struct wire w;
	int r;

	if (strlen(code) != AUTHORITY_JOIN_CODE_SYMBOLS || agent_name_canon(d, sizeof(d), domain) < 0)
		return -EINVAL;
	dl = strlen(d) + 1;
	/* salt = context NUL D NUL request (without its check) */
	memcpy(salt, JOIN_KEYS_CONTEXT, c);
	memcpy(salt + c, d, dl);
	w = wire_writer(salt + c + dl, sizeof(salt) - c - dl);
	if ((r = join_body(j, &w)))
		return r;
	if (EVP_PBE_scrypt(code, AUTHORITY_JOIN_CODE_SYMBOLS, salt, c + dl + wire_offset(&w),
			   AUTHORITY_JOIN_SCRYPT_N, AUTHORITY_JOIN_SCRYPT_R, AUTHORITY_JOIN_SCRYPT_P,
			   64ull << 20, out, sizeof(out)) != 1)
		return -EIO;
	memcpy(check, out, AUTHORITY_JOIN_CHECK_LEN);
	memcpy(mac_key, out + AUTHORITY_JOIN_CHECK_LEN, AUTHORITY_JOIN_MAC_KEY_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

int authority_join_seal(struct authority_join *j, const char *domain,
			const uint8_t secret[static AUTHORITY_JOIN_SECRET_LEN],
			char code[static AUTHORITY_JOIN_CODE_TEXT],
			uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN])
{
	uint8_t body[AUTHORITY_JOIN_RDATA_MAX], mac[32];
	char canon[AUTHORITY_JOIN_CODE_SYMBOLS + 1];
	struct wire w = wire_writer(body, sizeof(body));
	int r;

	code[0] = '\0';
	if ((r = join_body(j, &w)))
		return r;
	/* the code: a PRF of the request under a secret the server never sees */
	if ((r = hmac_sha256(secret, AUTHORITY_JOIN_SECRET_LEN, (const uint8_t *)JOIN_CODE_CONTEXT,
			     sizeof(JOIN_CODE_CONTEXT) - 1, body, wire_offset(&w), mac)))
		return r;
	if (authority_b32_encode(code, AUTHORITY_JOIN_CODE_TEXT, mac, 40, 4) != AUTHORITY_JOIN_CODE_TEXT - 1)
		return -EIO;
	OPENSSL_cleanse(mac, sizeof(mac));
	if ((r = authority_join_code_parse(code, canon)) ||
	    (r = authority_join_keys(j, domain, canon, j->check, mac_key))) {
		code[0] = '\0';
		return r;
	}
	return 0;
}

int authority_join_match(const struct authority_join *j, const char *domain, const char *typed,
			 uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN])
{
	char canon[AUTHORITY_JOIN_CODE_SYMBOLS + 1];
	uint8_t check[AUTHORITY_JOIN_CHECK_LEN];
	int r;

	if ((r = authority_join_code_parse(typed, canon)))
		return r;
	if ((r = authority_join_keys(j, domain, canon, check, mac_key)))
		return r;
	if (CRYPTO_memcmp(check, j->check, sizeof(check))) {
		OPENSSL_cleanse(mac_key, AUTHORITY_JOIN_MAC_KEY_LEN);
		return -ENOENT;
	}
	return 0;
}

bool authority_join_fresh(const struct authority_join *j, int64_t now)
{
	return j->t <= now + AUTHORITY_JOIN_MAX_AGE_S && now - j->t <= AUTHORITY_JOIN_MAX_AGE_S;
}

/* _approve.<nonce>.D */

static int approval_body(const struct authority_approval *ap, struct wire *w)
{
	char s[128], nonce[2 * AUTHORITY_JOIN_NONCE_LEN + 1];
	int n;

	if (ap->t < 0 || ap->cert_len == 0 || ap->cert_len > AUTHORITY_CERT_DER_MAX)
		return -EINVAL;
	dns_txt_hex_put(nonce, ap->nonce, sizeof(ap->nonce));
	n = snprintf(s, sizeof(s), "at-approve=1 nonce=%s t=%" PRId64, nonce, ap->t);
	if (n < 0 || (size_t)n >= sizeof(s))
		return -EINVAL;
	dns_txt_put(w, s, (size_t)n);
	authority_txt_blob_put(w, ap->cert, ap->cert_len);
	return wire_err(w) ? (wire_err(w) == -EINVAL ? -EINVAL : -ENOSPC) : 0;
}

static int approval_mac(const struct authority *a, const uint8_t *body, size_t blen,
			const uint8_t key[static AUTHORITY_JOIN_MAC_KEY_LEN], uint8_t mac[static 32])
{
	uint8_t der[AUTHORITY_CERT_DER_MAX], prefix[sizeof(APPROVE_CONTEXT) + AGENT_NAME_MAX + 1 + 32];
	size_t dlen, c = sizeof(APPROVE_CONTEXT), dl = strlen(a->domain) + 1;

	if (authority_cert_der(a, der, sizeof(der), &dlen))
		return -EIO;
	/* context NUL D NUL SHA-256(authority certificate) */
	memcpy(prefix, APPROVE_CONTEXT, c);
	memcpy(prefix + c, a->domain, dl);
	SHA256(der, dlen, prefix + c + dl);
	return hmac_sha256(key, AUTHORITY_JOIN_MAC_KEY_LEN, prefix, c + dl + 32, body, blen, mac);
}

int authority_approval_build(const struct authority *a, const struct authority_approval *ap,
			     const uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN],
			     uint8_t *rdata, size_t cap, size_t *len)
{
	struct wire w = wire_writer(rdata, cap);
	uint8_t mac[32];
	char s[4 + 45];
	int r;

	*len = 0;
	if ((r = approval_body(ap, &w)))
		return r;
	if ((r = approval_mac(a, rdata, wire_offset(&w), mac_key, mac)))
		return r;
	memcpy(s, "mac=", 4);
	if (b64_encode(s + 4, sizeof(s) - 4, mac, sizeof(mac)) != 44)
		return -EIO;
	dns_txt_put(&w, s, 4 + 44);
	return finish(&w, len);
}

static int approval_parse(const uint8_t *rdata, size_t len, struct authority_approval *ap)
{
	struct wire w = wire_reader(rdata, len);
	char s[256], *tok[DNS_TXT_TOKENS], back[45];
	const char *v;
	uint64_t t;
	int n, r;

	/* header, at least one string of the certificate, the MAC last */
	if ((n = authority_txt_count(rdata, len)) < 3 || dns_txt_get(&w, s) < 0)
		return -EBADMSG;
	if ((r = dns_txt_version(s, "at-approve")))
		return r;
	if (dns_txt_tokens(s, tok) != 3 || strcmp(tok[0], "at-approve=1") ||
	    !(v = dns_txt_value(tok[1], "nonce")) || dns_txt_hex(v, ap->nonce, sizeof(ap->nonce)) ||
	    !(v = dns_txt_value(tok[2], "t")) || dns_txt_decimal(v, TIME_MAX, &t))
		return -EBADMSG;
	ap->t = (int64_t)t;
	if (authority_txt_blob_get(&w, (size_t)n - 2, ap->cert, sizeof(ap->cert), &ap->cert_len))
		return -EBADMSG;
	if (dns_txt_get(&w, s) != 4 + 44 || strncmp(s, "mac=", 4) || wire_avail(&w) ||
	    b64_decode(ap->mac, sizeof(ap->mac), s + 4) != 32 ||
	    b64_encode(back, sizeof(back), ap->mac, sizeof(ap->mac)) != 44 || memcmp(back, s + 4, 44))
		return -EBADMSG;	/* canonical base64: zero padding bits */
	return 0;
}

int authority_approval_parse(const uint8_t *rdata, size_t len, struct authority_approval *ap)
{
	uint8_t back[AUTHORITY_APPROVAL_RDATA_MAX];
	struct wire w = wire_writer(back, sizeof(back));
	int r;

	memset(ap, 0, sizeof(*ap));
	if (len > AUTHORITY_APPROVAL_RDATA_MAX)
		return -EBADMSG;
	r = approval_parse(rdata, len, ap);
	/* one spelling: the MAC covers the bytes received, which must be the bytes the struct writes */
	if (!r && (approval_body(ap, &w) || wire_offset(&w) + 1 + 48 != len || memcmp(back, rdata, wire_offset(&w))))
		r = -EBADMSG;
	if (r)
		memset(ap, 0, sizeof(*ap));
	return r;
}

int authority_approval_accept(const struct authority *a, const struct authority_approval *ap,
			      const struct authority_join *j,
			      const uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN], int64_t now,
			      struct authority_host_cert *info)
{
	uint8_t body[AUTHORITY_APPROVAL_RDATA_MAX], mac[32];
	struct authority_host_cert tmp;
	struct wire w = wire_writer(body, sizeof(body));
	int r;

	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	if (CRYPTO_memcmp(ap->nonce, j->nonce, sizeof(j->nonce)))
		return -ENOENT;
	if ((r = approval_body(ap, &w)) || (r = approval_mac(a, body, wire_offset(&w), mac_key, mac)))
		return r == -EINVAL ? -EKEYREJECTED : r;
	if (CRYPTO_memcmp(mac, ap->mac, sizeof(mac)))
		return -EKEYREJECTED;
	if ((r = authority_cert_verify(a, ap->cert, ap->cert_len, now, j->host, j->ula, NULL, info)))
		return r;
	if (info->spki_len != j->spki_len || memcmp(info->spki, j->spki, j->spki_len)) {
		memset(info, 0, sizeof(*info));
		return -EKEYREJECTED;
	}
	return 0;
}

/* Owner names */

int authority_name_authority(char buf[static AGENT_NAME_MAX + 1], const char *domain)
{
	return authority_txt_name(buf, "_authority", domain);
}

int authority_name_join(char buf[static AGENT_NAME_MAX + 1], const char *domain)
{
	return authority_txt_name(buf, "_join", domain);
}

int authority_name_revoked(char buf[static AGENT_NAME_MAX + 1], const char *domain)
{
	return authority_txt_name(buf, "_revoked", domain);
}

int authority_name_approve(char buf[static AGENT_NAME_MAX + 1], const char *domain,
			   const uint8_t nonce[static AUTHORITY_JOIN_NONCE_LEN])
{
	char p[9 + 2 * AUTHORITY_JOIN_NONCE_LEN + 1];

	memcpy(p, "_approve.", 9);
	dns_txt_hex_put(p + 9, nonce, AUTHORITY_JOIN_NONCE_LEN);
	return authority_txt_name(buf, p, domain);
}
