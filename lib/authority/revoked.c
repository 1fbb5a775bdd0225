/* The signed revocation list (revoked.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "agent/name.h"
#include "authority/internal.h"
#include "authority/key.h"
#include "authority/revoked.h"
#include "authority/txt.h"
#include "dns/txt.h"
#include "util/encode.h"

#define SIG_CONTEXT "autotunnel revoked v1"
#define TIME_MAX ((uint64_t)INT64_MAX)

static bool host_ok(const char *h)
{
	size_t n = strnlen(h, AGENT_LABEL_MAX + 1);

	return n <= AGENT_LABEL_MAX && agent_label_check(h, n) == 0;
}

static bool entry_same(const struct authority_revoked_entry *a, const struct authority_revoked_entry *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case AUTHORITY_REVOKED_HOST:
		return !strcmp(a->host, b->host);
	case AUTHORITY_REVOKED_KEY:
		return !memcmp(a->key_id, b->key_id, sizeof(a->key_id));
	default:
		return a->serial_len == b->serial_len && !memcmp(a->serial, b->serial, a->serial_len);
	}
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Valid, and only the fields of its kind set: one entry, one meaning. */
static int entry_check(const struct authority_revoked_entry *e)
{
	if (e->at < 0 || e->serial_len > AUTHORITY_SERIAL_MAX)
		return -EINVAL;
	switch (e->kind) {
	case AUTHORITY_REVOKED_HOST:
		return host_ok(e->host) && !e->serial_len && zero(e->key_id, sizeof(e->key_id)) ? 0 : -EINVAL;
	case AUTHORITY_REVOKED_KEY:
		return !e->host[0] && !e->serial_len ? 0 : -EINVAL;
	case AUTHORITY_REVOKED_SERIAL:
		return !e->host[0] && e->serial_len && zero(e->key_id, sizeof(e->key_id)) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int list_check(const struct authority_revoked *rl)
{
	if (rl->n > AUTHORITY_REVOKED_MAX || rl->t < 0)
		return -EINVAL;
	for (size_t i = 0; i < rl->n; i++) {
		if (entry_check(&rl->e[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (entry_same(&rl->e[i], &rl->e[j]))
				return -EINVAL;
	}
	return 0;
}

static int entry_format(const struct authority_revoked_entry *e, char *buf, size_t cap)
{
	char hex[2 * 32 + 1];
	int n;

	if (e->kind == AUTHORITY_REVOKED_SERIAL) {
		dns_txt_hex_put(hex, e->serial, e->serial_len);
		n = snprintf(buf, cap, "serial %s at=%" PRId64, hex, e->at);
	} else if (e->kind == AUTHORITY_REVOKED_KEY) {
		dns_txt_hex_put(hex, e->key_id, sizeof(e->key_id));
		n = snprintf(buf, cap, "key %s at=%" PRId64, hex, e->at);
	} else {
		n = snprintf(buf, cap, "host %s at=%" PRId64, e->host, e->at);
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* The signed part: header and entries, as TXT strings. */
static int body_write(struct wire *w, const struct authority_revoked *rl)
{
	char s[256];
	int n;

	if (list_check(rl))
		return -EINVAL;
	n = snprintf(s, sizeof(s), "at-revoked=1 seq=%" PRIu32 " t=%" PRId64, rl->seq, rl->t);
	if (n < 0 || (size_t)n >= sizeof(s))
		return -ENOSPC;
	dns_txt_put(w, s, (size_t)n);
	for (size_t i = 0; i < rl->n; i++) {
		if ((n = entry_format(&rl->e[i], s, sizeof(s))) < 0)
			return n;
		dns_txt_put(w, s, (size_t)n);
	}
	return wire_err(w) ? -ENOSPC : 0;
}

/* The message signed: context NUL D NUL body. */
static int message(const char *domain, const uint8_t *body, size_t blen, uint8_t *msg, size_t cap, size_t *len)
{
	size_t c = sizeof(SIG_CONTEXT), d = strlen(domain) + 1;

	if (c + d + blen > cap)
		return -ENOSPC;
	memcpy(msg, SIG_CONTEXT, c);
	memcpy(msg + c, domain, d);
	memcpy(msg + c + d, body, blen);
	*len = c + d + blen;
	return 0;
}

int authority_revoked_build(const struct authority *a, const struct authority_revoked *rl,
			    uint8_t *rdata, size_t cap, size_t *len)
{
	uint8_t body[AUTHORITY_REVOKED_RDATA_MAX], msg[AUTHORITY_REVOKED_RDATA_MAX + 512], sig[64];
	struct wire bw = wire_writer(body, sizeof(body)), w = wire_writer(rdata, cap);
	char s[4 + 89];
	size_t mlen;
	int r;

	*len = 0;
	if (!a->key)
		return -ENOKEY;
	if ((r = body_write(&bw, rl)))
		return r;
	if ((r = message(a->domain, body, wire_offset(&bw), msg, sizeof(msg), &mlen)) ||
	    (r = authority_sign(a, msg, mlen, sig)))
		return r;
	memcpy(s, "sig=", 4);
	if (b64_encode(s + 4, sizeof(s) - 4, sig, sizeof(sig)) != 88)
		return -EIO;
	wire_write_bytes(&w, body, wire_offset(&bw));
	dns_txt_put(&w, s, 4 + 88);
	if (wire_err(&w))
		return -ENOSPC;
	*len = wire_offset(&w);
	return 0;
}

static int entry_parse(char *s, struct authority_revoked_entry *e)
{
	char *tok[DNS_TXT_TOKENS];
	const char *v;
	uint64_t at;

	memset(e, 0, sizeof(*e));
	if (dns_txt_tokens(s, tok) != 3 || !(v = dns_txt_value(tok[2], "at")) ||
	    dns_txt_decimal(v, TIME_MAX, &at))
		return -EBADMSG;
	e->at = (int64_t)at;
	if (!strcmp(tok[0], "host")) {
		if (strlen(tok[1]) > AGENT_LABEL_MAX || !host_ok(tok[1]))
			return -EBADMSG;
		strcpy(e->host, tok[1]);
		e->kind = AUTHORITY_REVOKED_HOST;
	} else if (!strcmp(tok[0], "key")) {
		if (dns_txt_hex(tok[1], e->key_id, sizeof(e->key_id)))
			return -EBADMSG;
		e->kind = AUTHORITY_REVOKED_KEY;
	} else if (!strcmp(tok[0], "serial")) {
		size_t n = strlen(tok[1]) / 2;

		if (n == 0 || n > AUTHORITY_SERIAL_MAX || dns_txt_hex(tok[1], e->serial, n))
			return -EBADMSG;
		e->serial_len = (uint8_t)n;
		e->kind = AUTHORITY_REVOKED_SERIAL;
	} else {
		return -EBADMSG;
	}
	return 0;
}

static int header_parse(char *h, struct authority_revoked *rl)
{
	char *tok[DNS_TXT_TOKENS];
	const char *v;
	uint64_t x;
	int r;

	if ((r = dns_txt_version(h, "at-revoked")))
		return r;
	if (dns_txt_tokens(h, tok) != 3 || strcmp(tok[0], "at-revoked=1"))
		return -EBADMSG;
	if (!(v = dns_txt_value(tok[1], "seq")) || dns_txt_decimal(v, UINT32_MAX, &x))
		return -EBADMSG;
	rl->seq = (uint32_t)x;
	if (!(v = dns_txt_value(tok[2], "t")) || dns_txt_decimal(v, TIME_MAX, &x))
		return -EBADMSG;
	rl->t = (int64_t)x;
	return 0;
}

static int parse(const uint8_t *rdata, size_t len, struct authority_revoked *rl)
{
	struct wire w = wire_reader(rdata, len);
	char s[256], back[89];
	int l, r;

	if (dns_txt_get(&w, s) <= 0)
		return -EBADMSG;
	if ((r = header_parse(s, rl)))
		return r;
	for (;;) {
		if ((l = dns_txt_get(&w, s)) < 0)
			return -EBADMSG;
		if (!strncmp(s, "sig=", 4))
			break;
		if (rl->n == AUTHORITY_REVOKED_MAX || entry_parse(s, &rl->e[rl->n]))
			return -EBADMSG;
		for (size_t j = 0; j < rl->n; j++)
			if (entry_same(&rl->e[j], &rl->e[rl->n]))
				return -EBADMSG;
		rl->n++;
	}
	/* the signature is the last string; 88 characters, canonical base64 of 64 bytes (zero padding bits) */
	if (l != 4 + 88 || wire_avail(&w) || b64_decode(rl->sig, sizeof(rl->sig), s + 4) != 64 ||
	    b64_encode(back, sizeof(back), rl->sig, sizeof(rl->sig)) != 88 || memcmp(back, s + 4, 88))
		return -EBADMSG;
	return 0;
}

int authority_revoked_parse(const uint8_t *rdata, size_t len, struct authority_revoked *rl)
{
	uint8_t back[AUTHORITY_REVOKED_RDATA_MAX];
	struct wire w = wire_writer(back, sizeof(back));
	int r;

	memset(rl, 0, sizeof(*rl));
	if (len > AUTHORITY_REVOKED_RDATA_MAX)
		return -EBADMSG;
	r = parse(rdata, len, rl);
	/* one spelling: the body written again is the body received (the signature covers those bytes) */
	if (!r && (body_write(&w, rl) || wire_offset(&w) + 1 + 4 + 88 != len ||
		   memcmp(back, rdata, wire_offset(&w))))
		r = -EBADMSG;
	if (r)
		memset(rl, 0, sizeof(*rl));
	return r;
}

int authority_revoked_verify(const struct authority *a, const struct authority_revoked *rl)
{
	uint8_t body[AUTHORITY_REVOKED_RDATA_MAX], msg[AUTHORITY_REVOKED_RDATA_MAX + 512];
	struct wire w = wire_writer(body, sizeof(body));
	size_t mlen;
	int r;

	if ((r = body_write(&w, rl)))
		return r;
	if ((r = message(a->domain, body, wire_offset(&w), msg, sizeof(msg), &mlen)))
		return r;
	return authority_sig_verify(a, msg, mlen, rl->sig);
}

int authority_revoked_read(const struct authority *a, const uint8_t *rdata, size_t len,
			   struct authority_revoked *rl)
{
	int r = authority_revoked_parse(rdata, len, rl);

	if (!r && (r = authority_revoked_verify(a, rl)))
		memset(rl, 0, sizeof(*rl));
	return r;
}

bool authority_revoked_match(const struct authority_revoked *rl, const struct authority_host_cert *c)
{
	uint8_t id[32];

	SHA256(c->spki, c->spki_len, id);
	for (size_t i = 0; i < rl->n && i < AUTHORITY_REVOKED_MAX; i++) {
		const struct authority_revoked_entry *e = &rl->e[i];

		switch (e->kind) {
		case AUTHORITY_REVOKED_HOST:
			/* issued (not_before + skew) at or before the revocation */
			if (!strcmp(e->host, c->host) && c->not_before <= e->at - AUTHORITY_SKEW_S)
				return true;
			break;
		case AUTHORITY_REVOKED_KEY:
			if (!memcmp(e->key_id, id, sizeof(id)))
				return true;
			break;
		case AUTHORITY_REVOKED_SERIAL:
			if (e->serial_len == c->serial_len && !memcmp(e->serial, c->serial, c->serial_len))
				return true;
			break;
		}
	}
	return false;
}

int authority_revoked_add_host(struct authority_revoked *rl, const char *host, int64_t at)
{
	if (!host_ok(host) || at < 0)
		return -EINVAL;
	for (size_t i = 0; i < rl->n; i++)
		if (rl->e[i].kind == AUTHORITY_REVOKED_HOST && !strcmp(rl->e[i].host, host)) {
			rl->e[i].at = at;
			return 0;
		}
	if (rl->n >= AUTHORITY_REVOKED_MAX)
		return -ENOSPC;
	memset(&rl->e[rl->n], 0, sizeof(rl->e[rl->n]));
	strcpy(rl->e[rl->n].host, host);
	rl->e[rl->n].kind = AUTHORITY_REVOKED_HOST;
	rl->e[rl->n++].at = at;
	return 0;
}

int authority_revoked_add_key(struct authority_revoked *rl, const uint8_t *spki, size_t len, int64_t at)
{
	uint8_t id[32];

	if (authority_spki_check(spki, len) < 0 || at < 0)
		return -EINVAL;
	SHA256(spki, len, id);
	for (size_t i = 0; i < rl->n; i++)
		if (rl->e[i].kind == AUTHORITY_REVOKED_KEY && !memcmp(rl->e[i].key_id, id, sizeof(id)))
			return -EEXIST;
	if (rl->n >= AUTHORITY_REVOKED_MAX)
		return -ENOSPC;
	memset(&rl->e[rl->n], 0, sizeof(rl->e[rl->n]));
	memcpy(rl->e[rl->n].key_id, id, sizeof(id));
	rl->e[rl->n].kind = AUTHORITY_REVOKED_KEY;
	rl->e[rl->n++].at = at;
	return 0;
}

int authority_revoked_add_serial(struct authority_revoked *rl, const uint8_t *serial, size_t len, int64_t at)
{
	if (len == 0 || len > AUTHORITY_SERIAL_MAX || at < 0)
		return -EINVAL;
	for (size_t i = 0; i < rl->n; i++)
		if (rl->e[i].kind == AUTHORITY_REVOKED_SERIAL && rl->e[i].serial_len == len &&
		    !memcmp(rl->e[i].serial, serial, len))
			return -EEXIST;
	if (rl->n >= AUTHORITY_REVOKED_MAX)
		return -ENOSPC;
	memset(&rl->e[rl->n], 0, sizeof(rl->e[rl->n]));
	memcpy(rl->e[rl->n].serial, serial, len);
	rl->e[rl->n].serial_len = (uint8_t)len;
	rl->e[rl->n].kind = AUTHORITY_REVOKED_SERIAL;
	rl->e[rl->n++].at = at;
	return 0;
}

unsigned authority_revoked_prune(struct authority_revoked *rl, int64_t now, uint32_t max_validity_s)
{
	int64_t horizon = now - (int64_t)max_validity_s - AUTHORITY_SKEW_S;
	size_t k = 0;
	unsigned dropped = 0;

	for (size_t i = 0; i < rl->n; i++) {
		if (rl->e[i].kind != AUTHORITY_REVOKED_KEY && rl->e[i].at < horizon) {
			dropped++;
			continue;
		}
		rl->e[k++] = rl->e[i];
	}
	rl->n = (uint8_t)k;
	return dropped;
}
