/* lib/dns/tsig.c: TSIG (RFC 8945) signing and verification. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/tsig.h"

/* RFC 1035 §4.1.1: ID (2), flags and QD/AN/NS counts (8), ARCOUNT (2) */
#define HDR_MID_OFF 2
#define HDR_MID_LEN 8
#define HDR_ARCOUNT_OFF 10

struct alg_info {
	enum dns_tsig_alg alg;
	const char *md;		/* OpenSSL digest name */
	size_t mac_len;
	const char *text;	/* short text name */
	struct dns_name name;	/* wire name, lower case */
};

#define ALG_NAME(w, l) { .len = sizeof(w), .labels = (l), .wire = w }
static const struct alg_info algs[] = {
	{ DNS_TSIG_HMAC_MD5, "MD5", 16, "hmac-md5", ALG_NAME("\x08hmac-md5\x07sig-alg\x03reg\x03int", 4) },
	{ DNS_TSIG_HMAC_SHA1, "SHA1", 20, "hmac-sha1", ALG_NAME("\x09hmac-sha1", 1) },
	{ DNS_TSIG_HMAC_SHA224, "SHA224", 28, "hmac-sha224", ALG_NAME("\x0bhmac-sha224", 1) },
	{ DNS_TSIG_HMAC_SHA256, "SHA256", 32, "hmac-sha256", ALG_NAME("\x0bhmac-sha256", 1) },
	{ DNS_TSIG_HMAC_SHA384, "SHA384", 48, "hmac-sha384", ALG_NAME("\x0bhmac-sha384", 1) },
	{ DNS_TSIG_HMAC_SHA512, "SHA512", 64, "hmac-sha512", ALG_NAME("\x0bhmac-sha512", 1) },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static const struct alg_info *alg_info(enum dns_tsig_alg alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

enum dns_tsig_alg dns_tsig_alg_from_name(const struct dns_name *name)
{
	for (size_t i = 0; i < NALGS; i++)
		if (dns_name_equal(&algs[i].name, name))
			return algs[i].alg;
	return 0;
}

enum dns_tsig_alg dns_tsig_alg_from_text(const char *text)
{
	size_t n;

	if (!text)
		return 0;
	n = strlen(text);
	if (n && text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < NALGS; i++) {
		size_t k = strlen(algs[i].text);

		if (n == k && strncasecmp(text, algs[i].text, k) == 0)
			return algs[i].alg;
	}
	if (n == strlen("hmac-md5.sig-alg.reg.int") && strncasecmp(text, "hmac-md5.sig-alg.reg.int", n) == 0)
		return DNS_TSIG_HMAC_MD5;
	return 0;
}

const struct dns_name *dns_tsig_alg_name(enum dns_tsig_alg alg)
{
	const struct alg_info *a = alg_info(alg);

	return a ? &a->name : NULL;
}

size_t dns_tsig_alg_mac_len(enum dns_tsig_alg alg)
{
	const struct alg_info *a = alg_info(alg);

	return a ? a->mac_len : 0;
}

int dns_tsig_key_set(struct dns_tsig_key *k, const struct dns_name *name, enum dns_tsig_alg alg,
		     const uint8_t *secret, size_t secret_len)
{
	if (!alg_info(alg) || secret_len == 0)
		return -EINVAL;
	if (secret_len > DNS_TSIG_SECRET_MAX)
		return -EMSGSIZE;
	k->name = *name;
	k->alg = alg;
	k->secret_len = (uint16_t)secret_len;
	memcpy(k->secret, secret, secret_len);
	return 0;
}

/* ---- HMAC through EVP_MAC ---------------------------------------------- */

static EVP_MAC_CTX *hmac_ctx_new(const struct dns_tsig_key *k)
{
	const struct alg_info *a = alg_info(k->alg);
	char md[16];
	OSSL_PARAM p[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;

	if (!a || k->secret_len == 0)
		return NULL;
	strcpy(md, a->md);
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (!ctx)
		return NULL;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md, 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, k->secret, k->secret_len, p)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A new context of its own (the running digest of a TCP sequence). */
static EVP_MAC_CTX *hmac_new(const struct dns_tsig_key *k)
{
	return hmac_ctx_new(k);
}

/*
 * The exchange's reusable context, keyed with @p k: set up once per
 * algorithm, then only re-keyed (EVP_MAC_init with no parameters keeps the
 * digest), which saves the provider lookups on every message.
 */
static EVP_MAC_CTX *hmac_begin(struct dns_tsig *t, const struct dns_tsig_key *k)
{
	if (t->hmac && t->hmac_alg == (int)k->alg) {
		if (EVP_MAC_init(t->hmac, k->secret, k->secret_len, NULL))
			return t->hmac;
	}
	if (t->hmac)
		EVP_MAC_CTX_free(t->hmac);
	t->hmac = hmac_ctx_new(k);
	t->hmac_alg = t->hmac ? (int)k->alg : 0;
	return t->hmac;
}

/* Feed bytes; a failed update poisons the result through *ok. */
static void feed(EVP_MAC_CTX *ctx, const void *p, size_t n, bool *ok)
{
	if (n && !EVP_MAC_update(ctx, p, n))
		*ok = false;
}

static void feed_u16(EVP_MAC_CTX *ctx, uint16_t v, bool *ok)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	feed(ctx, b, 2, ok);
}

static void feed_u48(EVP_MAC_CTX *ctx, uint64_t v, bool *ok)
{
	uint8_t b[6] = { (uint8_t)(v >> 40), (uint8_t)(v >> 32), (uint8_t)(v >> 24),
			 (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	feed(ctx, b, 6, ok);
}

/* A name in canonical wire form (RFC 8945 §4.3.3: lower case, uncompressed). */
static void feed_name(EVP_MAC_CTX *ctx, const struct dns_name *n, bool *ok)
{
	struct dns_name c = *n;

	dns_name_canonicalize(&c);
	feed(ctx, c.wire, c.len, ok);
}

/* The fields of §4.3.3 after the message. */
struct vars {
	const struct dns_name *key_name;
	const struct dns_name *alg_name;
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
};

static void feed_vars(EVP_MAC_CTX *ctx, const struct vars *v, bool timers_only, bool *ok)
{
	if (!timers_only) {
		feed_name(ctx, v->key_name, ok);
		feed_u16(ctx, DNS_CLASS_ANY, ok);
		feed(ctx, "\0\0\0\0", 4, ok);	/* TTL */
		feed_name(ctx, v->alg_name, ok);
	}
	feed_u48(ctx, v->time_signed, ok);
	feed_u16(ctx, v->fudge, ok);
	if (!timers_only) {
		feed_u16(ctx, v->error, ok);
		feed_u16(ctx, v->other_len, ok);
		feed(ctx, v->other, v->other_len, ok);
	}
}

static void feed_mac(EVP_MAC_CTX *ctx, const uint8_t *mac, uint16_t len, bool *ok)
{
	feed_u16(ctx, len, ok);
	feed(ctx, mac, len, ok);
}

/*
 * A received message as it was before its TSIG was added (§4.3.2): the
 * original ID, ARCOUNT less one, and the bytes up to the TSIG record.
 */
static void feed_msg_without_tsig(EVP_MAC_CTX *ctx, const struct dns_msg *m, uint16_t orig_id, bool *ok)
{
	const struct dns_rr *rr = dns_msg_rr(m, DNS_SEC_ADDITIONAL, (unsigned)m->tsig);
	struct wire r = wire_reader(m->buf, m->len);
	const uint8_t *mid, *body;

	wire_seek(&r, HDR_MID_OFF);
	mid = wire_read_ref(&r, HDR_MID_LEN);
	wire_skip(&r, 2);	/* ARCOUNT: fed as it was before the TSIG */
	body = wire_read_ref(&r, (size_t)rr->off - DNS_HEADER_LEN);
	if (!mid || !body) {
		*ok = false;
		return;
	}
	feed_u16(ctx, orig_id, ok);
	feed(ctx, mid, HDR_MID_LEN, ok);
	feed_u16(ctx, (uint16_t)(m->hdr.arcount - 1), ok);
	feed(ctx, body, (size_t)rr->off - DNS_HEADER_LEN, ok);
}

static int mac_final(EVP_MAC_CTX *ctx, uint8_t out[DNS_TSIG_MAC_MAX], size_t *len, bool ok)
{
	if (!ok || !EVP_MAC_final(ctx, out, len, DNS_TSIG_MAC_MAX))
		return -EIO;
	return 0;
}

/* ---- reading the record ------------------------------------------------- */

int dns_tsig_rr_read(const struct dns_msg *m, struct dns_tsig_rr *out)
{
	const struct dns_rr *rr;
	struct wire rd;
	uint64_t hi;

	if (m->tsig < 0)
		return -ENOENT;
	rr = dns_msg_rr(m, DNS_SEC_ADDITIONAL, (unsigned)m->tsig);
	/* RFC 8945 §4.2: CLASS ANY, TTL 0 */
	if (rr->rclass != DNS_CLASS_ANY || rr->ttl != 0)
		return -EBADMSG;
	if (dns_msg_name(m, rr->off, &out->key_name))
		return -EBADMSG;
	rd = dns_msg_rdata(m, rr);
	if (dns_name_parse(&rd, &out->alg_name))
		return -EBADMSG;
	hi = wire_read_u16(&rd);
	out->time_signed = hi << 32 | wire_read_u32(&rd);
	out->fudge = wire_read_u16(&rd);
	out->mac_len = wire_read_u16(&rd);
	out->mac = (uint16_t)wire_offset(&rd);	/* rd keeps the message's start */
	wire_skip(&rd, out->mac_len);
	out->orig_id = wire_read_u16(&rd);
	out->error = wire_read_u16(&rd);
	out->other_len = wire_read_u16(&rd);
	out->other = (uint16_t)wire_offset(&rd);
	wire_skip(&rd, out->other_len);
	if (wire_err(&rd) || wire_avail(&rd))
		return -EBADMSG;
	return 0;
}

/* Borrow @p n bytes at offset @p off of the message. */
static const uint8_t *msg_bytes(const struct dns_msg *m, uint16_t off, uint16_t n)
{
	struct wire r = wire_reader(m->buf, m->len);

	wire_seek(&r, off);
	return n ? wire_read_ref(&r, n) : (const uint8_t *)"";
}

/* §5.2.2.1: a MAC longer than the hash, or shorter than max(10, hash/2), is FORMERR. */
static bool mac_len_ok(size_t got, size_t full)
{
	size_t min = full / 2 > 10 ? full / 2 : 10;

	return got <= full && got >= min;
}

/* ---- state -------------------------------------------------------------- */

void dns_tsig_init(struct dns_tsig *t, const struct dns_tsig_key *key)
{
	memset(t, 0, sizeof(*t));
	t->key = *key;
	t->key_known = true;
	t->key_name = key->name;
	t->alg_name = *dns_tsig_alg_name(key->alg);
}

/* End the exchange but keep the reusable context. */
static void reset(struct dns_tsig *t)
{
	void *hmac = t->hmac;
	int alg = t->hmac_alg;

	if (t->run)
		EVP_MAC_CTX_free(t->run);
	OPENSSL_cleanse(&t->key, sizeof(t->key));
	OPENSSL_cleanse(t->mac, sizeof(t->mac));
	memset(t, 0, offsetof(struct dns_tsig, hmac));
	t->hmac = hmac;
	t->hmac_alg = alg;
}

void dns_tsig_fini(struct dns_tsig *t)
{
	reset(t);
	if (t->hmac)
		EVP_MAC_CTX_free(t->hmac);	/* also wipes the keyed state */
	t->hmac = NULL;
	t->hmac_alg = 0;
}

static void forget_key(struct dns_tsig *t)
{
	OPENSSL_cleanse(&t->key, sizeof(t->key));
	t->key_known = false;
}

size_t dns_tsig_space(const struct dns_tsig *t)
{
	size_t mac = t->key_known && t->error != DNS_RCODE_BADSIG && t->error != DNS_RCODE_BADKEY
		     ? dns_tsig_alg_mac_len(t->key.alg) : 0;

	/* owner, type, class, TTL, rdlength; alg, time, fudge, MAC size, MAC, ID, error, other */
	return (size_t)t->key_name.len + 10 + t->alg_name.len + 6 + 2 + 2 + mac + 2 + 2 + 2 + 6;
}

/* Append a TSIG record to the message in buf[0, len) and bump ARCOUNT. */
static int append_rr(const struct dns_tsig *t, uint8_t *buf, size_t len, size_t cap, size_t *outlen,
		     const struct vars *v, const uint8_t *mac, size_t mac_len)
{
	struct wire w = wire_writer(buf, cap), r = wire_reader(buf, len);
	uint16_t id, ar;
	size_t rdlen_off;

	if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX_LEN)
		return -EINVAL;
	id = wire_read_u16(&r);
	wire_seek(&r, HDR_ARCOUNT_OFF);
	ar = wire_read_u16(&r);
	if (ar == 0xffff)
		return -EINVAL;
	wire_seek(&w, len);
	/* the key and algorithm names are never compressed */
	(void)dns_name_write(&w, &t->key_name, NULL);
	wire_write_u16(&w, DNS_TYPE_TSIG);
	wire_write_u16(&w, DNS_CLASS_ANY);
	wire_write_u32(&w, 0);
	rdlen_off = wire_reserve(&w, 2);
	(void)dns_name_write(&w, v->alg_name, NULL);
	wire_write_u16(&w, (uint16_t)(v->time_signed >> 32));
	wire_write_u32(&w, (uint32_t)v->time_signed);
	wire_write_u16(&w, v->fudge);
	wire_write_u16(&w, (uint16_t)mac_len);
	wire_write_bytes(&w, mac, mac_len);
	wire_write_u16(&w, id);		/* original ID */
	wire_write_u16(&w, v->error);
	wire_write_u16(&w, v->other_len);
	wire_write_bytes(&w, v->other, v->other_len);
	if (wire_offset(&w) > DNS_MSG_MAX_LEN)
		return -ENOSPC;
	wire_patch_u16(&w, rdlen_off, (uint16_t)(wire_offset(&w) - rdlen_off - 2));
	wire_patch_u16(&w, HDR_ARCOUNT_OFF, (uint16_t)(ar + 1));
	if (wire_err(&w))
		return -ENOSPC;
	*outlen = wire_offset(&w);
	return 0;
}

int dns_tsig_sign_request(struct dns_tsig *t, uint8_t *buf, size_t len, size_t cap,
			  size_t *outlen, uint64_t now)
{
	struct vars v = { &t->key_name, &t->alg_name, now & 0xffffffffffffull, DNS_TSIG_FUDGE, 0, 0, NULL };
	uint8_t mac[DNS_TSIG_MAC_MAX];
	size_t mac_len;
	EVP_MAC_CTX *ctx;
	bool ok = true;
	int err;

	if (!t->key_known || t->nmsg != 0 || len < DNS_HEADER_LEN)
		return -EINVAL;
	ctx = hmac_begin(t, &t->key);
	if (!ctx)
		return -EIO;
	feed(ctx, buf, len, &ok);
	feed_vars(ctx, &v, false, &ok);
	err = mac_final(ctx, mac, &mac_len, ok);
	if (err == 0)
		err = append_rr(t, buf, len, cap, outlen, &v, mac, mac_len);
	if (err == 0) {
		memcpy(t->mac, mac, mac_len);
		t->mac_len = (uint16_t)mac_len;
		t->time_signed = v.time_signed;
		t->fudge = v.fudge;
		t->nmsg = 1;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

int dns_tsig_verify_request(struct dns_tsig *t, const struct dns_msg *m,
			    dns_tsig_lookup_fn lookup, void *arg, uint64_t now)
{
	struct dns_tsig_rr rr;
	enum dns_tsig_alg alg;
	uint8_t mac[DNS_TSIG_MAC_MAX];
	size_t mac_len;
	const uint8_t *got, *other;
	EVP_MAC_CTX *ctx;
	struct vars v;
	bool ok = true;
	int err;

	reset(t);
	if (m->tsig < 0)
		return -ENOMSG;
	if (dns_tsig_rr_read(m, &rr))
		return -EBADMSG;
	t->key_name = rr.key_name;
	t->alg_name = rr.alg_name;
	t->time_signed = rr.time_signed;
	t->fudge = rr.fudge;
	t->nmsg = 1;

	/* §5.2.1: an unknown key, or a key of another algorithm: BADKEY */
	alg = dns_tsig_alg_from_name(&rr.alg_name);
	err = alg ? lookup(arg, &rr.key_name, &t->key) : -ENOENT;
	if (err == 0 && t->key.alg != alg)
		err = -ENOENT;
	if (err) {
		forget_key(t);
		if (err != -ENOENT)
			return err;
		t->error = DNS_RCODE_BADKEY;
		return -EACCES;
	}
	/* §5.2.2.1: impossible MAC lengths are format errors */
	if (!mac_len_ok(rr.mac_len, dns_tsig_alg_mac_len(alg))) {
		forget_key(t);
		return -EBADMSG;
	}
	got = msg_bytes(m, rr.mac, rr.mac_len);
	other = msg_bytes(m, rr.other, rr.other_len);
	if (!got || !other) {
		forget_key(t);
		return -EBADMSG;
	}

	ctx = hmac_begin(t, &t->key);
	if (!ctx) {
		forget_key(t);
		return -EIO;
	}
	v = (struct vars){ &rr.key_name, &rr.alg_name, rr.time_signed, rr.fudge, rr.error,
			   rr.other_len, other };
	feed_msg_without_tsig(ctx, m, rr.orig_id, &ok);
	feed_vars(ctx, &v, false, &ok);
	err = mac_final(ctx, mac, &mac_len, ok);
	if (err) {
		forget_key(t);
		return err;
	}
	/* §5.2.2: BADSIG, answered unsigned (§5.3.2) */
	if (CRYPTO_memcmp(mac, got, rr.mac_len) != 0) {
		OPENSSL_cleanse(mac, sizeof(mac));
		forget_key(t);
		t->error = DNS_RCODE_BADSIG;
		return -EACCES;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	t->key_known = true;
	memcpy(t->mac, got, rr.mac_len);	/* the response covers the MAC as received */
	t->mac_len = rr.mac_len;
	/* §5.2.3: BADTIME, answered signed with our time */
	if (now + rr.fudge < rr.time_signed || now > rr.time_signed + rr.fudge) {
		t->error = DNS_RCODE_BADTIME;
		return -EACCES;
	}
	/* §5.2.4: every truncation §5.2.2.1 permits is acceptable here; no BADTRUNC */
	return 0;
}

int dns_tsig_sign_response(struct dns_tsig *t, uint8_t *buf, size_t len, size_t cap,
			   size_t *outlen, uint64_t now)
{
	uint8_t mac[DNS_TSIG_MAC_MAX], other[6];
	size_t mac_len = 0;
	struct vars v = { &t->key_name, &t->alg_name, now & 0xffffffffffffull, DNS_TSIG_FUDGE,
			  t->error, 0, NULL };
	EVP_MAC_CTX *ctx;
	bool ok = true;
	int err;

	if (t->nmsg == 0 || len < DNS_HEADER_LEN)
		return -EINVAL;
	if (!t->key_known) {
		/* §5.3.2: BADKEY and BADSIG answers carry an unsigned TSIG */
		if (t->error != DNS_RCODE_BADKEY && t->error != DNS_RCODE_BADSIG)
			return -EINVAL;
		err = append_rr(t, buf, len, cap, outlen, &v, NULL, 0);
		if (err == 0)
			t->nmsg++;
		return err;
	}
	if (t->error == DNS_RCODE_BADTIME) {
		/* §5.2.3: the client's Time Signed echoed, our time in Other Data */
		struct wire o = wire_writer(other, sizeof(other));

		v.time_signed = t->time_signed;
		wire_write_u16(&o, (uint16_t)(now >> 32));
		wire_write_u32(&o, (uint32_t)now);
		v.other_len = 6;
		v.other = other;
	}
	ctx = hmac_begin(t, &t->key);
	if (!ctx)
		return -EIO;
	feed_mac(ctx, t->mac, t->mac_len, &ok);
	feed(ctx, buf, len, &ok);
	/* §4.3.2: after the first response, only the timers */
	feed_vars(ctx, &v, t->nmsg > 1, &ok);
	err = mac_final(ctx, mac, &mac_len, ok);
	if (err == 0)
		err = append_rr(t, buf, len, cap, outlen, &v, mac, mac_len);
	if (err == 0) {
		memcpy(t->mac, mac, mac_len);
		t->mac_len = (uint16_t)mac_len;
		t->nmsg++;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

int dns_tsig_verify_response(struct dns_tsig *t, const struct dns_msg *m, uint64_t now,
			     bool *is_signed)
{
	struct dns_tsig_rr rr;
	uint8_t mac[DNS_TSIG_MAC_MAX];
	size_t mac_len;
	const uint8_t *got, *other;
	EVP_MAC_CTX *ctx;
	struct vars v;
	bool ok = true, first = t->nmsg == 1;
	int err;

	if (is_signed)
		*is_signed = false;
	if (!t->key_known || t->nmsg == 0)
		return -EINVAL;
	if (m->tsig < 0) {
		/* §5.3.1: unsigned messages may follow a signed one, at most 99 in a row */
		if (first || t->unsigned_run >= DNS_TSIG_MAX_UNSIGNED)
			return -EACCES;
		if (!t->run) {
			t->run = hmac_new(&t->key);
			if (!t->run)
				return -EIO;
			feed_mac(t->run, t->mac, t->mac_len, &ok);
		}
		feed(t->run, m->buf, m->len, &ok);
		if (!ok)
			return -EIO;
		t->unsigned_run++;
		t->nmsg++;
		return 0;
	}
	if (dns_tsig_rr_read(m, &rr))
		return -EBADMSG;
	if (!dns_name_equal(&rr.key_name, &t->key.name) ||
	    dns_tsig_alg_from_name(&rr.alg_name) != t->key.alg) {
		t->error = DNS_RCODE_BADKEY;
		return -EACCES;
	}
	if (rr.error == DNS_RCODE_BADKEY || rr.error == DNS_RCODE_BADSIG) {
		t->error = rr.error;	/* the server could not verify us: unsigned */
		return -EACCES;
	}
	if (!mac_len_ok(rr.mac_len, dns_tsig_alg_mac_len(t->key.alg)))
		return -EBADMSG;
	got = msg_bytes(m, rr.mac, rr.mac_len);
	other = msg_bytes(m, rr.other, rr.other_len);
	if (!got || !other)
		return -EBADMSG;

	if (t->run) {
		ctx = t->run;
		t->run = NULL;
	} else {
		ctx = hmac_begin(t, &t->key);
		if (!ctx)
			return -EIO;
		feed_mac(ctx, t->mac, t->mac_len, &ok);
	}
	v = (struct vars){ &rr.key_name, &rr.alg_name, rr.time_signed, rr.fudge, rr.error,
			   rr.other_len, other };
	feed_msg_without_tsig(ctx, m, rr.orig_id, &ok);
	feed_vars(ctx, &v, !first, &ok);
	err = mac_final(ctx, mac, &mac_len, ok);
	if (ctx != t->hmac)
		EVP_MAC_CTX_free(ctx);
	if (err)
		return err;
	if (CRYPTO_memcmp(mac, got, rr.mac_len) != 0) {
		OPENSSL_cleanse(mac, sizeof(mac));
		t->error = DNS_RCODE_BADSIG;
		return -EACCES;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	memcpy(t->mac, got, rr.mac_len);
	t->mac_len = rr.mac_len;
	t->time_signed = rr.time_signed;
	t->fudge = rr.fudge;
	t->unsigned_run = 0;
	t->nmsg++;
	if (now + rr.fudge < rr.time_signed || now > rr.time_signed + rr.fudge) {
		t->error = DNS_RCODE_BADTIME;
		return -EACCES;
	}
	if (rr.error) {
		t->error = rr.error;	/* an authentic error (BADTIME, BADTRUNC) */
		return -EACCES;
	}
	if (is_signed)
		*is_signed = true;
	return 0;
}
