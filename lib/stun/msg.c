/* STUN messages (RFC 8489) and the attributes of RFC 5780, RFC 8656, RFC 8445, through lib/wire. */
#include "stun/msg.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

#include "wire/wire.h"

/* ---- message type ---- */

uint16_t stun_type_encode(uint16_t method, uint8_t cls)
{
	/* RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0 */
	return (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) |
			  ((cls & 1) << 4) | ((cls & 2) << 7));
}

void stun_type_decode(uint16_t type, uint16_t *method, uint8_t *cls)
{
	*method = (uint16_t)((type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80));
	*cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
}

/* ---- crypto helpers ---- */

/* HMAC over the message prefix [0, end) with the header's length field replaced by @p hlen. */
static int hmac_prefix(const char *digest, const uint8_t *key, size_t keylen, const uint8_t *msg,
		       size_t end, uint16_t hlen, uint8_t *out, size_t outcap)
{
	struct wire r = wire_reader(msg, end);
	struct wire hw;
	uint8_t hdr[STUN_HEADER_LEN];
	const uint8_t *rest;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int err = -EIO;

	wire_read_bytes(&r, hdr, sizeof(hdr));
	rest = wire_read_ref(&r, end - STUN_HEADER_LEN);
	hw = wire_writer(hdr, sizeof(hdr));
	wire_skip(&hw, 2);
	wire_write_u16(&hw, hlen);	/* RFC 8489 §14.5: length as if the MAC attribute ended the message */
	if (wire_err(&r) || wire_err(&hw) || !rest) {
		err = -EINVAL;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)(uintptr_t)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* an empty key is legal HMAC input; OpenSSL wants a non-NULL pointer */
	if (!c || !EVP_MAC_init(c, keylen ? key : (const uint8_t *)"", keylen, params))
		goto out;
	if (!EVP_MAC_update(c, hdr, sizeof(hdr)) ||
	    (end > STUN_HEADER_LEN && !EVP_MAC_update(c, rest, end - STUN_HEADER_LEN)))
		goto out;
	if (EVP_MAC_final(c, out, &outl, outcap) && outl == outcap)
		err = 0;
out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return err;
}

static uint32_t fingerprint(const uint8_t *msg, size_t end)
{
	/* RFC 8489 §14.7: CRC-32 (ISO 3309, as zlib's) of the message up to the attribute */
	return (uint32_t)crc32(0L, msg, (uInt)end) ^ STUN_FINGERPRINT_XOR;
}

static int digest_parts(const char *name, const char *const *parts, size_t n, uint8_t *out,
			unsigned int outlen)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int got = 0;
	int err = -EIO;

	if (!md || !c || !EVP_DigestInit_ex(c, md, NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i && !EVP_DigestUpdate(c, ":", 1))
			goto out;
		if (!EVP_DigestUpdate(c, parts[i], strlen(parts[i])))
			goto out;
	}
	if (EVP_DigestFinal_ex(c, out, &got) && got == outlen)
		err = 0;
out:
	EVP_MD_CTX_free(c);
	EVP_MD_free(md);
	return err;
}

int stun_key_long_term(enum stun_password_alg alg, const char *username, const char *realm,
		       const char *password, uint8_t key[static STUN_KEY_MAX])
{
	const char *parts[3] = { username, realm, password };
	int err;

	switch (alg) {
	case STUN_PASSWORD_MD5:
		err = digest_parts("MD5", parts, 3, key, 16);
		return err ? err : 16;
	case STUN_PASSWORD_SHA256:
		err = digest_parts("SHA256", parts, 3, key, 32);
		return err ? err : 32;
	}
	return -EINVAL;
}

int stun_userhash(const char *username, const char *realm, uint8_t hash[static STUN_USERHASH_LEN])
{
	const char *parts[2] = { username, realm };

	return digest_parts("SHA256", parts, 2, hash, STUN_USERHASH_LEN);
}

/* ---- parsing ---- */

static bool is_addr_type(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_XOR_PEER_ADDRESS:
	case STUN_ATTR_XOR_RELAYED_ADDRESS:
	case STUN_ATTR_ALTERNATE_SERVER:
	case STUN_ATTR_RESPONSE_ORIGIN:
	case STUN_ATTR_OTHER_ADDRESS:
		return true;
	}
	return false;
}

static bool is_xor_type(uint16_t type)
{
	return type == STUN_ATTR_XOR_MAPPED_ADDRESS || type == STUN_ATTR_XOR_PEER_ADDRESS ||
	       type == STUN_ATTR_XOR_RELAYED_ADDRESS;
}

static bool is_string_type(uint16_t type)
{
	return type == STUN_ATTR_USERNAME || type == STUN_ATTR_REALM || type == STUN_ATTR_NONCE ||
	       type == STUN_ATTR_SOFTWARE;
}

/* RFC 8489 §14.11, §14.12: algorithm u16, parameter length u16, parameters padded to 4. */
static int password_algs_check(struct wire *v, bool one)
{
	unsigned n = 0;

	while (wire_avail(v) && !wire_err(v)) {
		size_t plen;

		wire_skip(v, 2);
		plen = wire_read_u16(v);
		wire_skip(v, plen);
		/* the last entry's padding may be the attribute's own */
		wire_skip(v, wire_avail(v) < stun_pad(plen) ? wire_avail(v) : stun_pad(plen));
		n++;
	}
	if (wire_err(v) || n == 0 || (one && n != 1))
		return -EBADMSG;
	return 0;
}

/*
 * Check the value layout of a known attribute. Returns 0, -EBADMSG if
 * malformed, -ENOENT if the type is not one this library knows.
 */
static int attr_check(uint16_t type, struct wire *v)
{
	size_t len = wire_avail(v);

	if (is_addr_type(type)) {
		uint8_t family;

		/* RFC 8489 §14.1: reserved byte, family, port, 4 or 16 address bytes */
		wire_skip(v, 1);
		family = wire_read_u8(v);
		if (wire_err(v))
			return -EBADMSG;
		if (family == STUN_FAMILY_IPV4)
			return len == 8 ? 0 : -EBADMSG;
		if (family == STUN_FAMILY_IPV6)
			return len == 20 ? 0 : -EBADMSG;
		return -EBADMSG;
	}
	switch (type) {
	case STUN_ATTR_USERNAME:
		return len <= STUN_USERNAME_MAX ? 0 : -EBADMSG;
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_SOFTWARE:
		return len <= STUN_STRING_MAX ? 0 : -EBADMSG;
	case STUN_ATTR_ERROR_CODE: {
		uint32_t w = wire_read_u32(v);
		unsigned cls = (w >> 8) & 7, num = w & 0xff;

		/* RFC 8489 §14.8: class 3..6, number 0..99, reason at most 763 bytes */
		if (wire_err(v) || cls < 3 || cls > 6 || num > 99 || len - 4 > STUN_STRING_MAX)
			return -EBADMSG;
		return 0;
	}
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
		return len % 2 == 0 ? 0 : -EBADMSG;
	case STUN_ATTR_CHANGE_REQUEST:
	case STUN_ATTR_CHANNEL_NUMBER:
	case STUN_ATTR_LIFETIME:
	case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
	case STUN_ATTR_REQUESTED_TRANSPORT:
	case STUN_ATTR_PRIORITY:
		return len == 4 ? 0 : -EBADMSG;
	case STUN_ATTR_RESPONSE_PORT:
		/* RFC 5780 §7.5 draws port + padding; some senders count only the port */
		return len == 4 || len == 2 ? 0 : -EBADMSG;
	case STUN_ATTR_EVEN_PORT:
		return len == 1 ? 0 : -EBADMSG;
	case STUN_ATTR_DONT_FRAGMENT:
	case STUN_ATTR_USE_CANDIDATE:
		return len == 0 ? 0 : -EBADMSG;
	case STUN_ATTR_RESERVATION_TOKEN:
	case STUN_ATTR_ICE_CONTROLLED:
	case STUN_ATTR_ICE_CONTROLLING:
		return len == 8 ? 0 : -EBADMSG;
	case STUN_ATTR_USERHASH:
		return len == STUN_USERHASH_LEN ? 0 : -EBADMSG;
	case STUN_ATTR_DATA:
	case STUN_ATTR_PADDING:
		return 0;
	case STUN_ATTR_PASSWORD_ALGORITHM:
		return password_algs_check(v, true);
	case STUN_ATTR_PASSWORD_ALGORITHMS:
		return password_algs_check(v, false);
	case STUN_ATTR_MESSAGE_INTEGRITY:
		return len == STUN_MI_LEN ? 0 : -EBADMSG;
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		/* RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4 */
		return len >= STUN_MI256_MIN_LEN && len <= STUN_MI256_LEN && len % 4 == 0 ? 0 : -EBADMSG;
	case STUN_ATTR_FINGERPRINT:
		return len == 4 ? 0 : -EBADMSG;
	}
	return -ENOENT;
}

static void note_unknown(struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->n_unknown; i++)
		if (m->unknown[i] == type)
			return;
	if (m->n_unknown < STUN_MAX_UNKNOWN)
		m->unknown[m->n_unknown++] = type;
}

int stun_msg_parse(const void *buf, size_t len, struct stun_msg *m)
{
	struct wire r = wire_reader(buf, len);
	enum { OPEN, AFTER_MI, AFTER_MI256, AFTER_FP } stage = OPEN;
	uint16_t type, hlen;
	uint32_t cookie;

	memset(m, 0, sizeof(*m));
	type = wire_read_u16(&r);
	hlen = wire_read_u16(&r);
	cookie = wire_read_u32(&r);
	wire_read_bytes(&r, m->tid, STUN_TID_LEN);
	/* RFC 8489 §6.3: top bits zero, magic cookie, length a multiple of 4 and exact */
	if (wire_err(&r) || (type & 0xc000) || cookie != STUN_MAGIC_COOKIE || hlen % 4 ||
	    wire_avail(&r) != hlen)
		return -EBADMSG;
	m->buf = buf;
	m->len = len;
	stun_type_decode(type, &m->method, &m->cls);

	while (wire_avail(&r)) {
		size_t off = wire_offset(&r);
		uint16_t at = wire_read_u16(&r);
		uint16_t alen = wire_read_u16(&r);
		struct wire v = wire_sub(&r, alen);
		int err;

		wire_skip(&r, stun_pad(alen));
		if (wire_err(&r))
			return -EBADMSG;	/* the attribute or its padding overruns the message */
		if (stage == AFTER_FP)
			return -EBADMSG;	/* RFC 8489 §14.7: FINGERPRINT is the last attribute */
		if (at == STUN_ATTR_FINGERPRINT) {
			if (alen != 4 || wire_read_u32(&v) != fingerprint(buf, off))
				return -EBADMSG;
			m->fingerprint = true;
			stage = AFTER_FP;
		} else if (stage == AFTER_MI256) {
			continue;	/* RFC 8489 §14.6: ignored */
		} else if (at == STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
			if (attr_check(at, &v))
				return -EBADMSG;
			m->mi256_off = (uint32_t)off;
			stage = AFTER_MI256;
		} else if (stage == AFTER_MI) {
			continue;	/* RFC 8489 §14.5: ignored */
		} else if (at == STUN_ATTR_MESSAGE_INTEGRITY) {
			if (attr_check(at, &v))
				return -EBADMSG;
			m->mi_off = (uint32_t)off;
			stage = AFTER_MI;
		} else {
			err = attr_check(at, &v);
			if (err == -ENOENT) {
				/* RFC 8489 §14: unknown optional ones are ignored */
				if (at < 0x8000)
					note_unknown(m, at);
				continue;
			}
			if (err)
				return -EBADMSG;
		}
		if (m->n_attrs == STUN_MAX_ATTRS)
			return -E2BIG;
		m->attrs[m->n_attrs++] = (struct stun_attr){
			.type = at, .len = alen, .off = (uint32_t)(off + 4) };
	}
	return m->n_unknown ? -EOPNOTSUPP : 0;
}

/* ---- accessors ---- */

static const struct stun_attr *find(const struct stun_msg *m, uint16_t type, unsigned nth)
{
	for (unsigned i = 0; i < m->n_attrs; i++)
		if (m->attrs[i].type == type && nth-- == 0)
			return &m->attrs[i];
	return NULL;
}

/* A read cursor over the value of @p a in the message. */
static struct wire value(const struct stun_msg *m, const struct stun_attr *a)
{
	struct wire r = wire_reader(m->buf, m->len);

	wire_seek(&r, a->off);
	return wire_sub(&r, a->len);
}

int stun_msg_find(const struct stun_msg *m, uint16_t type, unsigned nth,
		  const uint8_t **val, size_t *len)
{
	const struct stun_attr *a = find(m, type, nth);
	struct wire v;

	if (!a)
		return -ENOENT;
	v = value(m, a);
	*len = a->len;
	*val = wire_read_ref(&v, a->len);
	return wire_err(&v);
}

bool stun_msg_has(const struct stun_msg *m, uint16_t type)
{
	return find(m, type, 0) != NULL;
}

int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, unsigned nth,
		      struct sockaddr_storage *ss)
{
	const struct stun_attr *a;
	struct wire v;
	uint8_t family, mask[16];
	uint16_t port;
	struct wire mw = wire_writer(mask, sizeof(mask));

	if (!is_addr_type(type))
		return -EINVAL;
	a = find(m, type, nth);
	if (!a)
		return -ENOENT;
	memset(ss, 0, sizeof(*ss));
	memset(mask, 0, sizeof(mask));
	if (is_xor_type(type)) {
		/* RFC 8489 §14.2: XOR with the cookie, then (IPv6) the transaction id */
		wire_write_u32(&mw, STUN_MAGIC_COOKIE);
		wire_write_bytes(&mw, m->tid, STUN_TID_LEN);
	}
	v = value(m, a);
	wire_skip(&v, 1);
	family = wire_read_u8(&v);
	port = (uint16_t)(wire_read_u16(&v) ^ (is_xor_type(type) ? STUN_MAGIC_COOKIE >> 16 : 0));
	if (family == STUN_FAMILY_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		uint8_t b[4];

		wire_read_bytes(&v, b, 4);
		for (int i = 0; i < 4; i++)
			b[i] ^= mask[i];
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, b, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		uint8_t b[16];

		wire_read_bytes(&v, b, 16);
		for (int i = 0; i < 16; i++)
			b[i] ^= mask[i];
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, b, 16);
	}
	return wire_err(&v);
}

int stun_msg_get_error(const struct stun_msg *m, unsigned *code, char *reason, size_t cap)
{
	const struct stun_attr *a = find(m, STUN_ATTR_ERROR_CODE, 0);
	struct wire v;
	uint32_t w;
	size_t n;

	if (!a)
		return -ENOENT;
	v = value(m, a);
	w = wire_read_u32(&v);
	*code = ((w >> 8) & 7) * 100 + (w & 0xff);
	if (cap) {
		n = wire_avail(&v) < cap - 1 ? wire_avail(&v) : cap - 1;
		wire_read_bytes(&v, reason, n);
		reason[n] = '\0';
	}
	return wire_err(&v);
}

int stun_msg_get_unknown_attrs(const struct stun_msg *m, uint16_t *types, size_t cap)
{
	const struct stun_attr *a = find(m, STUN_ATTR_UNKNOWN_ATTRIBUTES, 0);
	struct wire v;
	size_t n = 0;

	if (!a)
		return -ENOENT;
	v = value(m, a);
	for (; wire_avail(&v) >= 2; n++) {
		uint16_t t = wire_read_u16(&v);

		if (n < cap)
			types[n] = t;
	}
	return wire_err(&v) ? wire_err(&v) : (int)n;
}

int stun_msg_get_string(const struct stun_msg *m, uint16_t type, char *out, size_t cap)
{
	const struct stun_attr *a;
	struct wire v;

	if (!is_string_type(type))
		return -EINVAL;
	a = find(m, type, 0);
	if (!a)
		return -ENOENT;
	if (cap <= a->len)
		return -ENOSPC;
	v = value(m, a);
	wire_read_bytes(&v, out, a->len);
	out[a->len] = '\0';
	return wire_err(&v) ? wire_err(&v) : (int)a->len;
}

/* The value cursor of the first @p type, or an errored cursor (-ENOENT). */
static struct wire first(const struct stun_msg *m, uint16_t type)
{
	const struct stun_attr *a = find(m, type, 0);
	struct wire none = wire_reader(NULL, 0);

	if (!a) {
		wire_fail(&none, -ENOENT);
		return none;
	}
	return value(m, a);
}

int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *v)
{
	struct wire w;

	if (type != STUN_ATTR_LIFETIME && type != STUN_ATTR_PRIORITY &&
	    type != STUN_ATTR_CHANGE_REQUEST)
		return -EINVAL;
	w = first(m, type);
	*v = wire_read_u32(&w);
	return wire_err(&w);
}

int stun_msg_get_u64(const struct stun_msg *m, uint16_t type, uint64_t *v)
{
	struct wire w;

	if (type != STUN_ATTR_ICE_CONTROLLED && type != STUN_ATTR_ICE_CONTROLLING)
		return -EINVAL;
	w = first(m, type);
	*v = wire_read_u64(&w);
	return wire_err(&w);
}

int stun_msg_get_channel(const struct stun_msg *m, uint16_t *channel)
{
	struct wire w = first(m, STUN_ATTR_CHANNEL_NUMBER);

	*channel = wire_read_u16(&w);
	return wire_err(&w);
}

int stun_msg_get_response_port(const struct stun_msg *m, uint16_t *port)
{
	struct wire w = first(m, STUN_ATTR_RESPONSE_PORT);

	*port = wire_read_u16(&w);
	return wire_err(&w);
}

int stun_msg_get_requested_transport(const struct stun_msg *m, uint8_t *proto)
{
	struct wire w = first(m, STUN_ATTR_REQUESTED_TRANSPORT);

	*proto = wire_read_u8(&w);
	return wire_err(&w);
}

int stun_msg_get_requested_family(const struct stun_msg *m, uint8_t *family)
{
	struct wire w = first(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);

	*family = wire_read_u8(&w);
	return wire_err(&w);
}

int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve)
{
	struct wire w = first(m, STUN_ATTR_EVEN_PORT);

	*reserve = (wire_read_u8(&w) & 0x80) != 0;	/* RFC 8656 §18.9: R is the top bit */
	return wire_err(&w);
}

int stun_msg_get_reservation_token(const struct stun_msg *m, uint8_t token[static 8])
{
	struct wire w = first(m, STUN_ATTR_RESERVATION_TOKEN);

	wire_read_bytes(&w, token, 8);
	return wire_err(&w);
}

int stun_msg_get_userhash(const struct stun_msg *m, uint8_t hash[static STUN_USERHASH_LEN])
{
	struct wire w = first(m, STUN_ATTR_USERHASH);

	wire_read_bytes(&w, hash, STUN_USERHASH_LEN);
	return wire_err(&w);
}

int stun_msg_get_data(const struct stun_msg *m, const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	return stun_msg_find(m, STUN_ATTR_DATA, 0, data, len);
}

int stun_msg_get_password_alg(const struct stun_msg *m, uint16_t *alg)
{
	struct wire w = first(m, STUN_ATTR_PASSWORD_ALGORITHM);

	*alg = wire_read_u16(&w);
	return wire_err(&w);
}

int stun_msg_get_password_algs(const struct stun_msg *m, uint16_t *algs, size_t cap)
{
	struct wire w = first(m, STUN_ATTR_PASSWORD_ALGORITHMS);
	size_t n = 0;

	while (!wire_err(&w) && wire_avail(&w)) {
		uint16_t alg = wire_read_u16(&w);
		size_t plen = wire_read_u16(&w);

		wire_skip(&w, plen);
		wire_skip(&w, wire_avail(&w) < stun_pad(plen) ? wire_avail(&w) : stun_pad(plen));
		if (n < cap)
			algs[n] = alg;
		n++;
	}
	return wire_err(&w) ? wire_err(&w) : (int)n;
}

int stun_msg_check_integrity(const struct stun_msg *m, enum stun_integrity alg,
			     const uint8_t *key, size_t keylen)
{
	uint8_t want[STUN_MI256_LEN];
	const uint8_t *got;
	const char *digest;
	size_t off, len, maclen;
	struct wire r;
	int err;

	if (alg == STUN_INTEGRITY_SHA1) {
		off = m->mi_off;
		digest = "SHA1";
		maclen = STUN_MI_LEN;
	} else if (alg == STUN_INTEGRITY_SHA256) {
		off = m->mi256_off;
		digest = "SHA256";
		maclen = STUN_MI256_LEN;
	} else {
		return -EINVAL;
	}
	if (!off)
		return -ENOENT;
	r = wire_reader(m->buf, m->len);
	wire_seek(&r, off + 2);
	len = wire_read_u16(&r);
	got = wire_read_ref(&r, len);
	if (wire_err(&r) || !got)
		return -EBADMSG;
	err = hmac_prefix(digest, key, keylen, m->buf, off,
			  (uint16_t)(off + 4 + len - STUN_HEADER_LEN), want, maclen);
	if (err)
		return err;
	/* RFC 8489 §14.6: a truncated MESSAGE-INTEGRITY-SHA256 is the leading bytes */
	err = CRYPTO_memcmp(want, got, len) ? -EACCES : 0;
	OPENSSL_cleanse(want, sizeof(want));
	return err;
}

/* ---- building ---- */

enum {
	STAGE_OPEN,
	STAGE_MI,	/* MESSAGE-INTEGRITY added */
	STAGE_MI256,	/* MESSAGE-INTEGRITY-SHA256 added */
	STAGE_FP,	/* FINGERPRINT added: the message is closed */
};

/* A write cursor positioned after what the builder has written. */
static struct wire bw(struct stun_builder *b)
{
	struct wire w = wire_writer(b->buf, b->cap);

	wire_seek(&w, b->len);
	return w;
}

/* Keep the header length current, then record the cursor's state. */
static void bdone(struct stun_builder *b, struct wire *w)
{
	if (!b->err && wire_err(w))
		b->err = wire_err(w);
	if (b->err)
		return;
	b->len = wire_offset(w);
	wire_patch_u16(w, 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	if (wire_err(w))
		b->err = wire_err(w);
}

void stun_builder_start(struct stun_builder *b, void *buf, size_t cap, uint16_t method,
			uint8_t cls, const uint8_t tid[static STUN_TID_LEN])
{
	struct wire w = wire_writer(buf, cap);

	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	memcpy(b->tid, tid, STUN_TID_LEN);
	if (method > 0x0fff || cls > 3)
		b->err = -EINVAL;
	wire_write_u16(&w, stun_type_encode(method, cls));
	wire_write_u16(&w, 0);
	wire_write_u32(&w, STUN_MAGIC_COOKIE);
	wire_write_bytes(&w, tid, STUN_TID_LEN);
	bdone(b, &w);
}

/* Write an attribute header and leave the cursor at its value; checks the stage. */
static bool attr_open(struct stun_builder *b, struct wire *w, uint16_t type, size_t len)
{
	bool ok;

	if (b->err)
		return false;
	switch (b->stage) {
	case STAGE_OPEN:
		ok = true;
		break;
	case STAGE_MI:
		ok = type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 || type == STUN_ATTR_FINGERPRINT;
		break;
	case STAGE_MI256:
		ok = type == STUN_ATTR_FINGERPRINT;
		break;
	default:
		ok = false;
	}
	if (!ok || len > 0xffff || b->len + 4 + len + stun_pad(len) > STUN_MAX_LEN) {
		b->err = -EINVAL;
		return false;
	}
	*w = bw(b);
	wire_write_u16(w, type);
	wire_write_u16(w, (uint16_t)len);
	return true;
}

static void attr_close(struct stun_builder *b, struct wire *w, size_t len)
{
	for (size_t i = stun_pad(len); i; i--)
		wire_write_u8(w, b->pad);
	bdone(b, w);
}

void stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	struct wire w;

	if (!attr_open(b, &w, type, len))
		return;
	wire_write_bytes(&w, val, len);
	attr_close(b, &w, len);
}

void stun_builder_add_string(struct stun_builder *b, uint16_t type, const char *s)
{
	stun_builder_add(b, type, s, strlen(s));
}

void stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	struct wire w;

	if (!attr_open(b, &w, type, 4))
		return;
	wire_write_u32(&w, v);
	attr_close(b, &w, 4);
}

void stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	struct wire w;

	if (!attr_open(b, &w, type, 8))
		return;
	wire_write_u64(&w, v);
	attr_close(b, &w, 8);
}

void stun_builder_add_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa)
{
	uint8_t addr[16], mask[16] = { 0 };
	struct wire mw = wire_writer(mask, sizeof(mask));
	bool x = is_xor_type(type);
	uint16_t port;
	size_t alen;
	uint8_t family;
	struct wire w;

	if (!is_addr_type(type) || !sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		family = STUN_FAMILY_IPV4;
		alen = 4;
		port = ntohs(sin->sin_port);
		memcpy(addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		family = STUN_FAMILY_IPV6;
		alen = 16;
		port = ntohs(sin6->sin6_port);
		memcpy(addr, &sin6->sin6_addr, 16);
	}
	if (x) {
		/* RFC 8489 §14.2 */
		wire_write_u32(&mw, STUN_MAGIC_COOKIE);
		wire_write_bytes(&mw, b->tid, STUN_TID_LEN);
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (size_t i = 0; i < alen; i++)
			addr[i] ^= mask[i];
	}
	if (!attr_open(b, &w, type, 4 + alen))
		return;
	wire_write_u8(&w, 0);
	wire_write_u8(&w, family);
	wire_write_u16(&w, port);
	wire_write_bytes(&w, addr, alen);
	attr_close(b, &w, 4 + alen);
}

void stun_builder_add_error(struct stun_builder *b, unsigned code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	struct wire w;

	if (code < 300 || code > 699 || rlen > STUN_STRING_MAX) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	if (!attr_open(b, &w, STUN_ATTR_ERROR_CODE, 4 + rlen))
		return;
	wire_write_u16(&w, 0);
	wire_write_u8(&w, (uint8_t)(code / 100));
	wire_write_u8(&w, (uint8_t)(code % 100));
	wire_write_bytes(&w, reason, rlen);
	attr_close(b, &w, 4 + rlen);
}

void stun_builder_add_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
	struct wire w;

	if (!attr_open(b, &w, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n))
		return;
	for (size_t i = 0; i < n; i++)
		wire_write_u16(&w, types[i]);
	attr_close(b, &w, 2 * n);
}

/* A 4-byte value: a leading field of @p width bytes, then RFFU zeros. */
static void add_lead(struct stun_builder *b, uint16_t type, uint16_t v, size_t width)
{
	struct wire w;

	if (!attr_open(b, &w, type, 4))
		return;
	if (width == 2)
		wire_write_u16(&w, v);
	else
		wire_write_u8(&w, (uint8_t)v);
	wire_write_zero(&w, 4 - width);
	attr_close(b, &w, 4);
}

void stun_builder_add_channel(struct stun_builder *b, uint16_t channel)
{
	add_lead(b, STUN_ATTR_CHANNEL_NUMBER, channel, 2);
}

void stun_builder_add_response_port(struct stun_builder *b, uint16_t port)
{
	add_lead(b, STUN_ATTR_RESPONSE_PORT, port, 2);
}

void stun_builder_add_requested_transport(struct stun_builder *b, uint8_t proto)
{
	add_lead(b, STUN_ATTR_REQUESTED_TRANSPORT, proto, 1);
}

void stun_builder_add_requested_family(struct stun_builder *b, uint8_t family)
{
	add_lead(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, family, 1);
}

void stun_builder_add_even_port(struct stun_builder *b, bool reserve)
{
	uint8_t v = reserve ? 0x80 : 0;

	stun_builder_add(b, STUN_ATTR_EVEN_PORT, &v, 1);
}

/* RFC 8489 §14.11, §14.12: algorithm, parameter length 0 (MD5 and SHA-256 take none) */
static void add_algs(struct stun_builder *b, uint16_t type, const uint16_t *algs, size_t n)
{
	struct wire w;

	if (n == 0) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	if (!attr_open(b, &w, type, 4 * n))
		return;
	for (size_t i = 0; i < n; i++) {
		wire_write_u16(&w, algs[i]);
		wire_write_u16(&w, 0);
	}
	attr_close(b, &w, 4 * n);
}

void stun_builder_add_password_alg(struct stun_builder *b, uint16_t alg)
{
	add_algs(b, STUN_ATTR_PASSWORD_ALGORITHM, &alg, 1);
}

void stun_builder_add_password_algs(struct stun_builder *b, const uint16_t *algs, size_t n)
{
	add_algs(b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, n);
}

void stun_builder_add_integrity(struct stun_builder *b, enum stun_integrity alg,
				const uint8_t *key, size_t keylen)
{
	uint16_t type = alg == STUN_INTEGRITY_SHA1 ? STUN_ATTR_MESSAGE_INTEGRITY
						   : STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
	size_t maclen = alg == STUN_INTEGRITY_SHA1 ? STUN_MI_LEN : STUN_MI256_LEN;
	uint8_t mac[STUN_MI256_LEN];
	size_t off = b->len;
	struct wire w;
	int err;

	if (alg != STUN_INTEGRITY_SHA1 && alg != STUN_INTEGRITY_SHA256) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	if (!attr_open(b, &w, type, maclen))
		return;
	err = hmac_prefix(alg == STUN_INTEGRITY_SHA1 ? "SHA1" : "SHA256", key, keylen, b->buf, off,
			  (uint16_t)(off + 4 + maclen - STUN_HEADER_LEN), mac, maclen);
	if (err) {
		b->err = err;
		return;
	}
	wire_write_bytes(&w, mac, maclen);
	OPENSSL_cleanse(mac, sizeof(mac));
	attr_close(b, &w, maclen);
	if (!b->err)
		b->stage = alg == STUN_INTEGRITY_SHA1 ? STAGE_MI : STAGE_MI256;
}

void stun_builder_add_fingerprint(struct stun_builder *b)
{
	size_t off = b->len;
	struct wire w;

	if (!attr_open(b, &w, STUN_ATTR_FINGERPRINT, 4))
		return;
	/* the header length must already count the FINGERPRINT itself */
	wire_patch_u16(&w, 2, (uint16_t)(off + 8 - STUN_HEADER_LEN));
	if (wire_err(&w)) {
		b->err = wire_err(&w);
		return;
	}
	wire_write_u32(&w, fingerprint(b->buf, off));
	attr_close(b, &w, 4);
	if (!b->err)
		b->stage = STAGE_FP;
}

int stun_builder_finish(const struct stun_builder *b)
{
	return b->err ? b->err : (int)b->len;
}
