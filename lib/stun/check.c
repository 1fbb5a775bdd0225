/*
 * lib/stun/check.c: connectivity checks between the account's hosts; see check.h.
 */
#include "stun/check.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* "<32 hex>:<32 hex>" */
#define USERNAME_LEN 65

int stun_check_key(const uint8_t ike_key[static 32], uint8_t key[static STUN_CHECK_KEY_LEN])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), ike_key, 32, (const unsigned char *)STUN_CHECK_KEY_LABEL,
		  strlen(STUN_CHECK_KEY_LABEL), key, &len) || len != STUN_CHECK_KEY_LEN)
		return -EIO;
	return 0;
}

static void hex16(char *out, const uint8_t a[16])
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		out[2 * i] = d[a[i] >> 4];
		out[2 * i + 1] = d[a[i] & 15];
	}
}

static void username(char out[USERNAME_LEN + 1], const uint8_t to[16], const uint8_t from[16])
{
	hex16(out, to);
	out[32] = ':';
	hex16(out + 33, from);
	out[USERNAME_LEN] = '\0';
}

static int unhex16(const char *s, uint8_t a[16])
{
	for (int i = 0; i < 32; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -EBADMSG;
		if (i & 1)
			a[i / 2] = (uint8_t)(a[i / 2] | v);
		else
			a[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

int stun_check_request_build(const struct stun_check_req *r, const uint8_t key[static STUN_CHECK_KEY_LEN],
			     uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	char user[USERNAME_LEN + 1];

	username(user, r->to, r->from);
	stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, r->tid);
	/* RFC 8445 §7.2.2: USERNAME, PRIORITY, the role; RFC 8489 §9.1.2: the integrity last but FINGERPRINT */
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, r->prio);
	stun_builder_add_u64(&b, r->controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED, r->tiebreak);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, STUN_CHECK_KEY_LEN);
	stun_builder_add_fingerprint(&b);
	return stun_builder_finish(&b);
}

bool stun_check_is_request(const uint8_t *buf, size_t len)
{
	uint16_t method;
	uint8_t cls;

	if (len < STUN_HEADER_LEN)
		return false;
	stun_type_decode((uint16_t)(buf[0] << 8 | buf[1]), &method, &cls);
	return method == STUN_METHOD_BINDING && cls == STUN_CLASS_REQUEST;
}

/* Parse and authenticate: the message, its FINGERPRINT and MESSAGE-INTEGRITY with @p key. */
static int parse_auth(const uint8_t *buf, size_t len, uint8_t cls, const uint8_t key[static STUN_CHECK_KEY_LEN],
		      struct stun_msg *m)
{
	if (stun_msg_parse(buf, len, m) || m->method != STUN_METHOD_BINDING || m->cls != cls || !m->fingerprint)
		return -EBADMSG;
	/* RFC 8489 §9.1.3: without integrity, or with the wrong key, nothing in it may be used */
	switch (stun_msg_check_integrity(m, STUN_INTEGRITY_SHA1, key, STUN_CHECK_KEY_LEN)) {
	case 0:
		return 0;
	case -EIO:
		return -EIO;
	default:
		return -EACCES;
	}
}

int stun_check_request_parse(const uint8_t *buf, size_t len, const uint8_t us[static 16],
			     const uint8_t key[static STUN_CHECK_KEY_LEN], struct stun_check_req *r)
{
	struct stun_msg m;
	char user[USERNAME_LEN + 2];
	bool ctl, ctd;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = parse_auth(buf, len, STUN_CLASS_REQUEST, key, &m)))
		return rc;
	if (stun_msg_get_string(&m, STUN_ATTR_USERNAME, user, sizeof(user)) != USERNAME_LEN || user[32] != ':' ||
	    unhex16(user, r->to) || unhex16(user + 33, r->from))
		return -EBADMSG;
	ctl = stun_msg_has(&m, STUN_ATTR_ICE_CONTROLLING);
	ctd = stun_msg_has(&m, STUN_ATTR_ICE_CONTROLLED);
	if (stun_msg_get_u32(&m, STUN_ATTR_PRIORITY, &r->prio) || r->prio == 0 || ctl == ctd ||
	    stun_msg_get_u64(&m, ctl ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED, &r->tiebreak))
		return -EBADMSG;
	/* RFC 8445 §7.3: a USERNAME whose first fragment is not ours is not for us */
	if (CRYPTO_memcmp(r->to, us, 16) != 0)
		return -EPERM;
	r->controlling = ctl;
	memcpy(r->tid, m.tid, STUN_TID_LEN);
	return 0;
}

int stun_check_response_build(const uint8_t tid[static STUN_TID_LEN], const struct sockaddr *src,
			      const uint8_t key[static STUN_CHECK_KEY_LEN], uint8_t *buf, size_t cap)
{
	struct stun_builder b;

	if (src->sa_family != AF_INET && src->sa_family != AF_INET6)
		return -EINVAL;
	stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, STUN_CHECK_KEY_LEN);
	stun_builder_add_fingerprint(&b);
	return stun_builder_finish(&b);
}

int stun_check_response_parse(const uint8_t *buf, size_t len, const uint8_t key[static STUN_CHECK_KEY_LEN],
			      uint8_t tid[static STUN_TID_LEN], struct sockaddr_storage *mapped)
{
	struct stun_msg m;
	int rc;

	memset(mapped, 0, sizeof(*mapped));
	if ((rc = parse_auth(buf, len, STUN_CLASS_SUCCESS, key, &m)))
		return rc;
	if (stun_msg_get_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, mapped))
		return -EBADMSG;
	memcpy(tid, m.tid, STUN_TID_LEN);
	return 0;
}
