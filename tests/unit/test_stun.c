/*
 * lib/stun: the RFC 5769 and RFC 8489 Appendix B test vectors byte for
 * byte, TURN and RFC 5780 attributes, ChannelData, the UDP 4500
 * demultiplexer, stream framing, and the edge of every bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "stun/frame.h"
#include "stun/msg.h"

/* RFC 5769 §2.1: short-term credential, SOFTWARE padded to 16, USERNAME padded with spaces */
static const uint8_t req_2_1[108] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
	0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20,
	0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
	0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2,
	0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2: 192.0.2.1 port 32853 */
static const uint8_t resp_2_2[80] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853 */
static const uint8_t resp_2_3[92] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* RFC 5769 §2.4: long-term credential, no FINGERPRINT */
static const uint8_t req_2_4[116] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42,
	0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e,
	0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83,
	0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00,
	0x00, 0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39,
	0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46,
	0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41,
	0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
	0x6f, 0x72, 0x67, 0x00,
	0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e,
	0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

/* RFC 8489 Appendix B.1: USERHASH and MESSAGE-INTEGRITY-SHA256 */
static const uint8_t req_b_1[156] = {
	0x00, 0x01, 0x00, 0x88, 0x21, 0x12, 0xa4, 0x42,
	0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e,
	0x00, 0x1e, 0x00, 0x20, 0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69, 0x92, 0xbd,
	0xa9, 0x52, 0xc6, 0x78, 0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15,
	0x56, 0x9e, 0x60, 0xb2, 0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04,
	0x00, 0x15, 0x00, 0x29, 0x6f, 0x62, 0x4d, 0x61, 0x74, 0x4a, 0x6f, 0x73,
	0x32, 0x41, 0x41, 0x41, 0x43, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b,
	0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39,
	0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00,
	0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
	0x6f, 0x72, 0x67, 0x00,
	0x00, 0x1c, 0x00, 0x20, 0xfd, 0x8c, 0x27, 0x38, 0x60, 0xd2, 0xe1, 0x8e,
	0xbc, 0xa4, 0xc8, 0x9b, 0x69, 0x73, 0xbe, 0xfa, 0x7e, 0xe8, 0xec, 0xc6,
	0x9e, 0x96, 0x42, 0xdb, 0x32, 0x6f, 0xab, 0x65, 0xa0, 0xb9, 0x55, 0xba,
};

static const char short_pw[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9, as the RFC gives the bytes */
static const char lt_user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char lt_realm[] = "example.org";
static const char lt_pw[] = "TheMatrIX";	/* after SASLprep / OpaqueString */
static const char lt_nonce_2_4[] = "f//499k954d6OL34oL9FSTvy64sA";
static const char lt_nonce_b_1[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

static const uint8_t tid_a[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
				   0xfa, 0x87, 0xdf, 0xae };
static const uint8_t tid_b[12] = { 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
				   0x29, 0xda, 0x41, 0x2e };

#define PW(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static void type_layout(void **state)
{
	uint16_t m;
	uint8_t c;

	/* RFC 8489 §5, RFC 8656 §17 */
	assert_int_equal(stun_type_encode(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), 0x0001);
	assert_int_equal(stun_type_encode(STUN_METHOD_BINDING, STUN_CLASS_INDICATION), 0x0011);
	assert_int_equal(stun_type_encode(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), 0x0101);
	assert_int_equal(stun_type_encode(STUN_METHOD_BINDING, STUN_CLASS_ERROR), 0x0111);
	assert_int_equal(stun_type_encode(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST), 0x0003);
	assert_int_equal(stun_type_encode(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR), 0x0113);
	assert_int_equal(stun_type_encode(STUN_METHOD_SEND, STUN_CLASS_INDICATION), 0x0016);
	assert_int_equal(stun_type_encode(STUN_METHOD_DATA, STUN_CLASS_INDICATION), 0x0017);
	assert_int_equal(stun_type_encode(STUN_METHOD_CHANNEL_BIND, STUN_CLASS_SUCCESS), 0x0109);
	/* the highest method bits land above C1 */
	assert_int_equal(stun_type_encode(0xfff, STUN_CLASS_ERROR), 0x3fff);
	assert_int_equal(stun_type_encode(0x080, STUN_CLASS_REQUEST), 0x0200);
	for (unsigned t = 0; t < 0x4000; t++) {
		stun_type_decode((uint16_t)t, &m, &c);
		assert_int_equal(stun_type_encode(m, c), t);
	}
}

static void rfc5769_request(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t buf[200];
	char s[64];
	uint32_t u32;
	uint64_t u64;

	assert_int_equal(stun_msg_parse(req_2_1, sizeof(req_2_1), &m), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_memory_equal(m.tid, tid_a, 12);
	assert_int_equal(m.n_attrs, 6);
	assert_true(m.fingerprint);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_SOFTWARE, s, sizeof(s)), 16);
	assert_string_equal(s, "STUN test client");
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, sizeof(s)), 9);
	assert_string_equal(s, "evtj:h6vY");
	/* the string and its NUL must fit: cap 9 is one short, 10 is enough */
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, 9), -ENOSPC);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, 10), 9);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_REALM, s, sizeof(s)), -ENOENT);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_PRIORITY, s, sizeof(s)), -EINVAL);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_PRIORITY, &u32), 0);
	assert_int_equal(u32, 0x6e0001ff);
	assert_int_equal(stun_msg_get_u64(&m, STUN_ATTR_ICE_CONTROLLED, &u64), 0);
	assert_true(u64 == 0x932ff9b151263b36ull);
	assert_int_equal(stun_msg_get_u64(&m, STUN_ATTR_ICE_CONTROLLING, &u64), -ENOENT);
	/* short-term credential: the key is the password (RFC 8489 §9.1.1) */
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, PW(short_pw)), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, PW("VOkJxbRl1RmTxUk/WvJxBT")),
			 -EACCES);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, PW(short_pw)), -ENOENT);

	/* the builder makes the same bytes, spaces as padding as the RFC does */
	memset(buf, 0xee, sizeof(buf));
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	b.pad = ' ';
	stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, "STUN test client");
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e0001ff);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ull);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, "evtj:h6vY");
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	stun_builder_add_fingerprint(&b);
	assert_int_equal(stun_builder_finish(&b), 108);
	assert_memory_equal(buf, req_2_1, 108);
	assert_int_equal(buf[108], 0xee);
}

static int build_resp(uint8_t *buf, size_t cap, const struct sockaddr *sa)
{
	struct stun_builder b;

	stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid_a);
	b.pad = ' ';
	stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, "test vector");
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, sa);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	stun_builder_add_fingerprint(&b);
	return stun_builder_finish(&b);
}

static void rfc5769_ipv4_response(void **state)
{
	struct stun_msg m;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in want = { .sin_family = AF_INET, .sin_port = htons(32853) };
	uint8_t buf[128];
	char s[16];

	assert_int_equal(stun_msg_parse(resp_2_2, sizeof(resp_2_2), &m), 0);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 32853);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000201);	/* 192.0.2.1 */
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, 1, &ss), -ENOENT);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, 0, &ss), -ENOENT);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_SOFTWARE, 0, &ss), -EINVAL);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_SOFTWARE, s, sizeof(s)), 11);
	assert_string_equal(s, "test vector");
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, PW(short_pw)), 0);
	assert_true(m.fingerprint);

	inet_pton(AF_INET, "192.0.2.1", &want.sin_addr);
	assert_int_equal(build_resp(buf, sizeof(buf), (struct sockaddr *)&want), 80);
	assert_memory_equal(buf, resp_2_2, 80);
	/* one byte short of room, then exactly enough */
	assert_int_equal(build_resp(buf, 79, (struct sockaddr *)&want), -ENOSPC);
	assert_int_equal(build_resp(buf, 80, (struct sockaddr *)&want), 80);
}

static void rfc5769_ipv6_response(void **state)
{
	struct stun_msg m;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in6 want = { .sin6_family = AF_INET6, .sin6_port = htons(32853) };
	uint8_t buf[128];

	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &want.sin6_addr);
	assert_int_equal(stun_msg_parse(resp_2_3, sizeof(resp_2_3), &m), 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 32853);
	assert_memory_equal(&sin6->sin6_addr, &want.sin6_addr, 16);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, PW(short_pw)), 0);
	assert_true(m.fingerprint);

	assert_int_equal(build_resp(buf, sizeof(buf), (struct sockaddr *)&want), 92);
	assert_memory_equal(buf, resp_2_3, 92);
}

static void rfc5769_long_term(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t key[STUN_KEY_MAX], buf[200];
	char s[800];

	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, lt_user, lt_realm, lt_pw, key), 16);
	assert_int_equal(stun_msg_parse(req_2_4, sizeof(req_2_4), &m), 0);
	assert_false(m.fingerprint);
	assert_memory_equal(m.tid, tid_b, 12);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, sizeof(s)), 18);
	assert_string_equal(s, lt_user);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_NONCE, s, sizeof(s)), 28);
	assert_string_equal(s, lt_nonce_2_4);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_REALM, s, sizeof(s)), 11);
	assert_string_equal(s, lt_realm);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), 0);
	/* the password before SASLprep is not the key's password */
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, lt_user, lt_realm,
					    "The\xc2\xad" "M\xc2\xaatr\xe2\x85\xa8", key), 16);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), -EACCES);
	assert_int_equal(stun_key_long_term(7, lt_user, lt_realm, lt_pw, key), -EINVAL);

	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, lt_user, lt_realm, lt_pw, key), 16);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, lt_user);
	stun_builder_add_string(&b, STUN_ATTR_NONCE, lt_nonce_2_4);
	stun_builder_add_string(&b, STUN_ATTR_REALM, lt_realm);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, 16);
	assert_int_equal(stun_builder_finish(&b), 116);
	assert_memory_equal(buf, req_2_4, 116);
}

static void rfc8489_b1_sha256_userhash(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t key[STUN_KEY_MAX] = { 0 }, hash[32], got[32], buf[200];
	char s[64];

	assert_int_equal(stun_userhash(lt_user, lt_realm, hash), 0);
	assert_int_equal(stun_msg_parse(req_b_1, sizeof(req_b_1), &m), 0);
	assert_int_equal(stun_msg_get_userhash(&m, got), 0);
	assert_memory_equal(got, hash, 32);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_NONCE, s, sizeof(s)), 41);
	assert_string_equal(s, lt_nonce_b_1);
	assert_false(stun_msg_has(&m, STUN_ATTR_USERNAME));
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), -ENOENT);
	/*
	 * The message carries no PASSWORD-ALGORITHM, so the key is the MD5
	 * one (RFC 8489 §9.2.2 default); the SHA-256 key does not verify.
	 */
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_SHA256, lt_user, lt_realm, lt_pw, key), 32);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 32), -EACCES);
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, lt_user, lt_realm, lt_pw, key), 16);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 16), 0);

	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add(&b, STUN_ATTR_USERHASH, hash, 32);
	stun_builder_add_string(&b, STUN_ATTR_NONCE, lt_nonce_b_1);
	stun_builder_add_string(&b, STUN_ATTR_REALM, lt_realm);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA256, key, 16);
	assert_int_equal(stun_builder_finish(&b), 156);
	assert_memory_equal(buf, req_b_1, 156);
}

/* A message header for hand-made messages: Binding request, tid_a, length @p hlen. */
static size_t hdr(uint8_t *buf, uint16_t type, uint16_t hlen)
{
	buf[0] = (uint8_t)(type >> 8);
	buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(hlen >> 8);
	buf[3] = (uint8_t)hlen;
	buf[4] = 0x21;
	buf[5] = 0x12;
	buf[6] = 0xa4;
	buf[7] = 0x42;
	memcpy(buf + 8, tid_a, 12);
	return 20;
}

static void header_bounds(void **state)
{
	struct stun_msg m;
	uint8_t buf[128];

	/* every truncation of a valid message is refused, and so is one byte more */
	for (size_t n = 0; n < sizeof(req_2_1); n++)
		assert_int_equal(stun_msg_parse(req_2_1, n, &m), -EBADMSG);
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[sizeof(req_2_1)] = 0;
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_1) + 1, &m), -EBADMSG);
	assert_int_equal(stun_msg_parse(NULL, 0, &m), -EBADMSG);

	/* a bare header: length 0 is a valid message */
	hdr(buf, 0x0001, 0);
	assert_int_equal(stun_msg_parse(buf, 20, &m), 0);
	assert_int_equal(m.n_attrs, 0);
	assert_int_equal(stun_msg_parse(buf, 19, &m), -EBADMSG);

	/* bad cookie, in its first and last byte */
	buf[4] = 0x20;
	assert_int_equal(stun_msg_parse(buf, 20, &m), -EBADMSG);
	hdr(buf, 0x0001, 0);
	buf[7] = 0x43;
	assert_int_equal(stun_msg_parse(buf, 20, &m), -EBADMSG);

	/* the two top bits must be zero */
	hdr(buf, 0x8001, 0);
	assert_int_equal(stun_msg_parse(buf, 20, &m), -EBADMSG);
	hdr(buf, 0x4001, 0);
	assert_int_equal(stun_msg_parse(buf, 20, &m), -EBADMSG);
	hdr(buf, 0x3fff, 0);
	assert_int_equal(stun_msg_parse(buf, 20, &m), 0);

	/* a length that is not a multiple of 4, even with the bytes there */
	hdr(buf, 0x0001, 2);
	memset(buf + 20, 0, 4);
	assert_int_equal(stun_msg_parse(buf, 22, &m), -EBADMSG);
	hdr(buf, 0x0001, 4);
	buf[20] = 0x80;	/* an unknown optional attribute, empty */
	buf[21] = 0x99;
	buf[22] = 0;
	buf[23] = 0;
	assert_int_equal(stun_msg_parse(buf, 24, &m), 0);
	assert_int_equal(m.n_attrs, 0);	/* ignored, not kept */
}

static void attribute_bounds(void **state)
{
	struct stun_msg m;
	uint8_t buf[128];
	uint32_t v;

	/* LIFETIME of length 4 exactly filling the message */
	hdr(buf, 0x0003, 8);
	memcpy(buf + 20, "\x00\x0d\x00\x04\x00\x00\x02\x58", 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), 0);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_LIFETIME, &v), 0);
	assert_int_equal(v, 600);
	/* the attribute claims one byte more than the message holds */
	buf[23] = 5;
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);
	/* ... or its padding does not fit: value 5, pad 3, in a 12-byte body */
	hdr(buf, 0x0001, 8);
	memcpy(buf + 20, "\x80\x22\x00\x05" "abcde", 9);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);
	hdr(buf, 0x0001, 12);
	memcpy(buf + 29, "\0\0\0", 3);
	assert_int_equal(stun_msg_parse(buf, 32, &m), 0);
	/* an empty attribute ends the message; a length past the end does not fit */
	hdr(buf, 0x0001, 4);
	memcpy(buf + 20, "\x80\x22\x00\x00", 4);
	assert_int_equal(stun_msg_parse(buf, 24, &m), 0);
	buf[22] = 0xff;
	assert_int_equal(stun_msg_parse(buf, 24, &m), -EBADMSG);

	/* LIFETIME of the wrong size */
	hdr(buf, 0x0003, 8);
	memcpy(buf + 20, "\x00\x0d\x00\x02\x02\x58\x00\x00", 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);

	/* address: family 3, or an IPv4 family with IPv6 length */
	hdr(buf, 0x0101, 12);
	memcpy(buf + 20, "\x00\x20\x00\x08\x00\x03\x00\x01\x01\x02\x03\x04", 12);
	assert_int_equal(stun_msg_parse(buf, 32, &m), -EBADMSG);
	buf[25] = 1;
	assert_int_equal(stun_msg_parse(buf, 32, &m), 0);
	buf[25] = 2;
	assert_int_equal(stun_msg_parse(buf, 32, &m), -EBADMSG);
	buf[25] = 1;
	buf[23] = 4;
	hdr(buf, 0x0101, 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);

	/* ERROR-CODE: class 3..6, number 0..99 */
	hdr(buf, 0x0111, 8);
	memcpy(buf + 20, "\x00\x09\x00\x04\x00\x00\x06\x63", 8);	/* 699 */
	assert_int_equal(stun_msg_parse(buf, 28, &m), 0);
	buf[27] = 100;
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);
	buf[27] = 0;
	buf[26] = 7;
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);
	buf[26] = 2;
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);
	buf[26] = 3;
	assert_int_equal(stun_msg_parse(buf, 28, &m), 0);
	buf[23] = 3;	/* shorter than class and number */
	hdr(buf, 0x0111, 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);

	/* UNKNOWN-ATTRIBUTES holds 16-bit types: an odd length is malformed */
	hdr(buf, 0x0111, 8);
	memcpy(buf + 20, "\x00\x0a\x00\x03\x00\x31\x00\x00", 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);

	/* MESSAGE-INTEGRITY-SHA256: 16..32, multiple of 4 */
	hdr(buf, 0x0001, 16);
	memcpy(buf + 20, "\x00\x1c\x00\x0c", 4);
	memset(buf + 24, 0, 12);
	assert_int_equal(stun_msg_parse(buf, 36, &m), -EBADMSG);
	hdr(buf, 0x0001, 20);
	memcpy(buf + 20, "\x00\x1c\x00\x10", 4);
	memset(buf + 24, 0, 16);
	assert_int_equal(stun_msg_parse(buf, 40, &m), 0);
	hdr(buf, 0x0001, 24);
	memcpy(buf + 20, "\x00\x1c\x00\x12", 4);
	memset(buf + 24, 0, 20);
	assert_int_equal(stun_msg_parse(buf, 44, &m), -EBADMSG);
}

static void string_bounds(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t buf[1024];
	char name[STUN_STRING_MAX + 2];
	char out[STUN_STRING_MAX + 1];

	/* USERNAME: 508 bytes is the most (RFC 8489 §14.3) */
	memset(name, 'u', sizeof(name));
	name[STUN_USERNAME_MAX] = '\0';
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, name);
	assert_int_equal(stun_msg_parse(buf, (size_t)stun_builder_finish(&b), &m), 0);
	name[STUN_USERNAME_MAX] = 'u';
	name[STUN_USERNAME_MAX + 1] = '\0';
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, name);
	assert_int_equal(stun_msg_parse(buf, (size_t)stun_builder_finish(&b), &m), -EBADMSG);

	/* REALM: 763 bytes, then 764 */
	memset(name, 'r', sizeof(name));
	name[STUN_STRING_MAX] = '\0';
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_ERROR, tid_a);
	stun_builder_add_string(&b, STUN_ATTR_REALM, name);
	assert_int_equal(stun_msg_parse(buf, (size_t)stun_builder_finish(&b), &m), 0);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_REALM, out, sizeof(out)), STUN_STRING_MAX);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_REALM, out, sizeof(out) - 1), -ENOSPC);
	name[STUN_STRING_MAX] = 'r';
	name[STUN_STRING_MAX + 1] = '\0';
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_ERROR, tid_a);
	stun_builder_add_string(&b, STUN_ATTR_REALM, name);
	assert_int_equal(stun_msg_parse(buf, (size_t)stun_builder_finish(&b), &m), -EBADMSG);
}

static void attribute_count(void **state)
{
	struct stun_msg m;
	uint8_t buf[20 + 4 * (STUN_MAX_ATTRS + 1)];
	size_t n;

	/* STUN_MAX_ATTRS DONT-FRAGMENTs are kept; one more is refused */
	n = hdr(buf, 0x0003, 4 * STUN_MAX_ATTRS);
	for (unsigned i = 0; i <= STUN_MAX_ATTRS; i++)
		memcpy(buf + n + 4 * i, "\x00\x1a\x00\x00", 4);
	assert_int_equal(stun_msg_parse(buf, 20 + 4 * STUN_MAX_ATTRS, &m), 0);
	assert_int_equal(m.n_attrs, STUN_MAX_ATTRS);
	assert_true(stun_msg_has(&m, STUN_ATTR_DONT_FRAGMENT));
	hdr(buf, 0x0003, 4 * (STUN_MAX_ATTRS + 1));
	assert_int_equal(stun_msg_parse(buf, sizeof(buf), &m), -E2BIG);
}

static void unknown_attributes(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t buf[256];
	uint16_t types[4];
	char reason[64];
	unsigned code;
	int n;

	/* 0x0031 is comprehension-required and unknown; 0x8031 is optional */
	hdr(buf, 0x0001, 16);
	memcpy(buf + 20, "\x00\x31\x00\x00" "\x80\x31\x00\x00" "\x00\x31\x00\x00"
			 "\x00\x33\x00\x00", 16);
	assert_int_equal(stun_msg_parse(buf, 36, &m), -EOPNOTSUPP);
	assert_int_equal(m.n_unknown, 2);	/* each type once */
	assert_int_equal(m.unknown[0], 0x0031);
	assert_int_equal(m.unknown[1], 0x0033);
	assert_int_equal(m.n_attrs, 0);

	/* the 420 answer (RFC 8489 §6.3.1.1) carries them back */
	stun_builder_start(&b, buf, sizeof(buf), m.method, STUN_CLASS_ERROR, m.tid);
	stun_builder_add_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute");
	stun_builder_add_unknown(&b, m.unknown, m.n_unknown);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_int_equal(stun_msg_get_error(&m, &code, reason, sizeof(reason)), 0);
	assert_int_equal(code, 420);
	assert_string_equal(reason, "Unknown Attribute");
	assert_int_equal(stun_msg_get_error(&m, &code, reason, 8), 0);
	assert_string_equal(reason, "Unknown");	/* cut to the room given */
	assert_int_equal(stun_msg_get_unknown_attrs(&m, types, 4), 2);
	assert_int_equal(types[0], 0x0031);
	assert_int_equal(types[1], 0x0033);
	assert_int_equal(stun_msg_get_unknown_attrs(&m, types, 1), 2);

	/* an unknown required attribute after MESSAGE-INTEGRITY is ignored */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	n = stun_builder_finish(&b);
	assert_int_equal(n, 44);
	memcpy(buf + 44, "\x00\x31\x00\x00" "\x00\x24\x00\x04\x00\x00\x00\x01", 12);
	buf[3] = 44 - 20 + 12;
	assert_int_equal(stun_msg_parse(buf, 56, &m), 0);
	assert_int_equal(m.n_unknown, 0);
	assert_false(stun_msg_has(&m, STUN_ATTR_PRIORITY));	/* ignored too */
	/* and the MAC still verifies: it covers only what precedes it */
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, PW(short_pw)), 0);
}

static void fingerprint_and_integrity(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	uint8_t buf[256], key[STUN_KEY_MAX], mac[32];
	unsigned int maclen = sizeof(mac);
	uint32_t crc;
	int n;

	/* the CRC itself, and a byte the CRC covers */
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[107] ^= 1;
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_1), &m), -EBADMSG);
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[30] ^= 0x20;
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_1), &m), -EBADMSG);
	/* padding bytes are covered by the CRC as well */
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[73] = 0;
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_1), &m), -EBADMSG);

	/*
	 * FINGERPRINT must be last: a correct CRC (over a header length that
	 * counts the attribute after it) followed by an empty SOFTWARE.
	 */
	hdr(buf, 0x0001, 12);
	crc = (uint32_t)crc32(0L, buf, 20) ^ 0x5354554eu;
	memcpy(buf + 20, "\x80\x28\x00\x04", 4);
	buf[24] = (uint8_t)(crc >> 24);
	buf[25] = (uint8_t)(crc >> 16);
	buf[26] = (uint8_t)(crc >> 8);
	buf[27] = (uint8_t)crc;
	memcpy(buf + 28, "\x80\x22\x00\x00", 4);
	assert_int_equal(stun_msg_parse(buf, 32, &m), -EBADMSG);
	/* the same CRC with the header saying 8 is a valid message */
	buf[3] = 8;
	crc = (uint32_t)crc32(0L, buf, 20) ^ 0x5354554eu;
	buf[24] = (uint8_t)(crc >> 24);
	buf[25] = (uint8_t)(crc >> 16);
	buf[26] = (uint8_t)(crc >> 8);
	buf[27] = (uint8_t)crc;
	assert_int_equal(stun_msg_parse(buf, 28, &m), 0);
	assert_true(m.fingerprint);
	/* FINGERPRINT of the wrong size */
	hdr(buf, 0x0001, 8);
	memcpy(buf + 20, "\x80\x28\x00\x02\x00\x00\x00\x00", 8);
	assert_int_equal(stun_msg_parse(buf, 28, &m), -EBADMSG);

	/* MESSAGE-INTEGRITY mismatch: a changed byte it covers, with no FINGERPRINT to catch it */
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, lt_user, lt_realm, lt_pw, key), 16);
	memcpy(buf, req_2_4, sizeof(req_2_4));
	buf[60] ^= 1;	/* in the NONCE */
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_4), &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), -EACCES);
	/* the MAC's own last byte */
	memcpy(buf, req_2_4, sizeof(req_2_4));
	buf[115] ^= 0x80;
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_4), &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), -EACCES);
	/* the header's length is covered (as adjusted): the type is too */
	memcpy(buf, req_2_4, sizeof(req_2_4));
	buf[1] = 0x03;	/* Allocate instead of Binding */
	assert_int_equal(stun_msg_parse(buf, sizeof(req_2_4), &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), -EACCES);
	/* the key length counts */
	assert_int_equal(stun_msg_parse(req_2_4, sizeof(req_2_4), &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 15), -EACCES);
	assert_int_equal(stun_msg_check_integrity(&m, 9, key, 16), -EINVAL);

	/* both integrity attributes and FINGERPRINT, truncated SHA-256 checked */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_REFRESH, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 0);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, 16);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA256, key, 16);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_int_equal(n, 20 + 8 + 24 + 36 + 8);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 16), 0);
	assert_true(m.fingerprint);

	/*
	 * MESSAGE-INTEGRITY-SHA256 truncated to 16 bytes (RFC 8489 §14.6):
	 * the MAC over the header saying 28 (LIFETIME + the 20-byte
	 * attribute), cut to its leading 16 bytes, made here with OpenSSL.
	 */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_REFRESH, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 0);
	assert_int_equal(stun_builder_finish(&b), 28);
	buf[3] = 28;
	assert_non_null(HMAC(EVP_sha256(), key, 16, buf, 28, mac, &maclen));
	memcpy(buf + 28, "\x00\x1c\x00\x10", 4);
	memcpy(buf + 32, mac, 16);
	assert_int_equal(stun_msg_parse(buf, 48, &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 16), 0);
	buf[47] ^= 1;
	assert_int_equal(stun_msg_parse(buf, 48, &m), 0);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 16), -EACCES);
	/* the message is a view over buf: restored, it verifies again */
	buf[47] ^= 1;
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA256, key, 16), 0);
}

static void builder_rules(void **state)
{
	struct stun_builder b;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	uint8_t buf[256];

	/* nothing but the SHA-256 integrity and FINGERPRINT after MESSAGE-INTEGRITY */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, "late");
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA256, PW(short_pw));
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, PW(short_pw));
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	/* nothing after FINGERPRINT */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_fingerprint(&b);
	stun_builder_add_fingerprint(&b);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	/* bad values */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_ERROR, tid_a);
	stun_builder_add_error(&b, 700, NULL);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_ERROR, tid_a);
	stun_builder_add_error(&b, 299, NULL);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid_a);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid_a);
	stun_builder_add_addr(&b, STUN_ATTR_LIFETIME, (struct sockaddr *)&sin);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	stun_builder_start(&b, buf, sizeof(buf), 0x1000, STUN_CLASS_REQUEST, tid_a);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	/* the first error sticks: -ENOSPC then a misuse */
	stun_builder_start(&b, buf, 24, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 1);
	stun_builder_add_error(&b, 1, NULL);
	assert_int_equal(stun_builder_finish(&b), -ENOSPC);
	stun_builder_start(&b, buf, 19, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	assert_int_equal(stun_builder_finish(&b), -ENOSPC);
	stun_builder_start(&b, buf, 20, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	assert_int_equal(stun_builder_finish(&b), 20);
}

static void turn_messages(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	struct sockaddr_storage ss;
	struct sockaddr_in peer1 = { .sin_family = AF_INET, .sin_port = htons(4500) };
	struct sockaddr_in peer2 = { .sin_family = AF_INET, .sin_port = htons(61001) };
	struct sockaddr_in6 relayed = { .sin6_family = AF_INET6, .sin6_port = htons(50000) };
	const uint8_t token[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t buf[512], got[8], key[STUN_KEY_MAX];
	const uint8_t *data;
	uint16_t algs[4], u16;
	uint32_t u32;
	size_t dlen;
	uint8_t u8;
	bool flag;
	int n;

	inet_pton(AF_INET, "198.51.100.7", &peer1.sin_addr);
	inet_pton(AF_INET, "203.0.113.9", &peer2.sin_addr);
	inet_pton(AF_INET6, "2001:db8::5", &relayed.sin6_addr);
	assert_int_equal(stun_key_long_term(STUN_PASSWORD_MD5, "alice", "example.net", "pw", key), 16);

	/* Allocate request (RFC 8656 §7.1) */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_requested_transport(&b, STUN_TRANSPORT_UDP);
	stun_builder_add_requested_family(&b, STUN_FAMILY_IPV6);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_builder_add(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_builder_add_even_port(&b, true);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, "alice");
	stun_builder_add_string(&b, STUN_ATTR_REALM, "example.net");
	stun_builder_add_string(&b, STUN_ATTR_NONCE, "abcd");
	stun_builder_add_password_alg(&b, STUN_PASSWORD_MD5);
	stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, 16);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_int_equal(stun_msg_get_requested_transport(&m, &u8), 0);
	assert_int_equal(u8, 17);
	assert_int_equal(stun_msg_get_requested_family(&m, &u8), 0);
	assert_int_equal(u8, STUN_FAMILY_IPV6);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_LIFETIME, &u32), 0);
	assert_int_equal(u32, 600);
	assert_true(stun_msg_has(&m, STUN_ATTR_DONT_FRAGMENT));
	assert_int_equal(stun_msg_get_even_port(&m, &flag), 0);
	assert_true(flag);
	assert_int_equal(stun_msg_get_password_alg(&m, &u16), 0);
	assert_int_equal(u16, STUN_PASSWORD_MD5);
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, key, 16), 0);
	assert_int_equal(stun_msg_get_reservation_token(&m, got), -ENOENT);
	assert_int_equal(stun_msg_get_channel(&m, &u16), -ENOENT);

	/* 401 with PASSWORD-ALGORITHMS (RFC 8489 §9.2.4) */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, tid_a);
	stun_builder_add_error(&b, STUN_ERR_UNAUTHORIZED, "Unauthorized");
	stun_builder_add_password_algs(&b, (const uint16_t[]){ STUN_PASSWORD_SHA256, STUN_PASSWORD_MD5 }, 2);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_password_algs(&m, algs, 4), 2);
	assert_int_equal(algs[0], STUN_PASSWORD_SHA256);
	assert_int_equal(algs[1], STUN_PASSWORD_MD5);
	assert_int_equal(stun_msg_get_password_alg(&m, &u16), -ENOENT);

	/* Allocate success: relayed IPv6, mapped IPv4, lifetime, reservation token */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS, tid_a);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&relayed);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&peer1);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 3600);
	stun_builder_add(&b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	n = stun_builder_finish(&b);
	assert_int_equal(n, 20 + 24 + 12 + 8 + 12);
	/* XORed on the wire: the plain port and address are not there */
	assert_int_equal(buf[26] << 8 | buf[27], 50000 ^ 0x2112);
	assert_true(memmem(buf, (size_t)n, &relayed.sin6_addr, 16) == NULL);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr, &relayed.sin6_addr, 16);
	assert_int_equal(((struct sockaddr_in6 *)&ss)->sin6_port, htons(50000));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss), 0);
	assert_memory_equal(&((struct sockaddr_in *)&ss)->sin_addr, &peer1.sin_addr, 4);
	assert_int_equal(stun_msg_get_reservation_token(&m, got), 0);
	assert_memory_equal(got, token, 8);

	/* CreatePermission with two XOR-PEER-ADDRESS (RFC 8656 §9.1) */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&peer1);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&peer2);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, 0, &ss), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(4500));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, 1, &ss), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(61001));
	assert_memory_equal(&((struct sockaddr_in *)&ss)->sin_addr, &peer2.sin_addr, 4);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, 2, &ss), -ENOENT);

	/* ChannelBind (RFC 8656 §11) */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST, tid_b);
	stun_builder_add_channel(&b, 0x4001);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&peer1);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_channel(&m, &u16), 0);
	assert_int_equal(u16, 0x4001);
	assert_int_equal(buf[26], 0);	/* RFFU */

	/* Send indication with DATA of 5 bytes, padded */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_SEND, STUN_CLASS_INDICATION, tid_b);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&peer1);
	stun_builder_add(&b, STUN_ATTR_DATA, "hello", 5);
	n = stun_builder_finish(&b);
	assert_int_equal(n, 20 + 12 + 12);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.cls, STUN_CLASS_INDICATION);
	assert_int_equal(stun_msg_get_data(&m, &data, &dlen), 0);
	assert_int_equal(dlen, 5);
	assert_memory_equal(data, "hello", 5);
	/* an empty DATA is legal */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid_b);
	stun_builder_add(&b, STUN_ATTR_DATA, NULL, 0);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_data(&m, &data, &dlen), 0);
	assert_int_equal(dlen, 0);
}

static void rfc5780_attributes(void **state)
{
	struct stun_msg m;
	struct stun_builder b;
	struct sockaddr_storage ss;
	struct sockaddr_in other = { .sin_family = AF_INET, .sin_port = htons(3479) };
	uint8_t buf[256];
	const uint8_t *val;
	size_t len;
	uint32_t flags;
	uint16_t port;
	int n;

	inet_pton(AF_INET, "192.0.2.2", &other.sin_addr);
	/* RFC 5780 §4.4: change IP and port, reply to another port, padded */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid_a);
	stun_builder_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	stun_builder_add_response_port(&b, 4501);
	stun_builder_add(&b, STUN_ATTR_PADDING, "\0\0\0\0\0\0", 6);
	n = stun_builder_finish(&b);
	assert_int_equal(n, 20 + 8 + 8 + 12);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &flags), 0);
	assert_int_equal(flags, 6);
	assert_int_equal(stun_msg_get_response_port(&m, &port), 0);
	assert_int_equal(port, 4501);
	assert_int_equal(stun_msg_find(&m, STUN_ATTR_PADDING, 0, &val, &len), 0);
	assert_int_equal(len, 6);
	/* RESPONSE-PORT counted as 2 bytes is accepted, 3 is not */
	buf[31] = 2;
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_response_port(&m, &port), 0);
	assert_int_equal(port, 4501);
	buf[31] = 3;
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), -EBADMSG);

	/* RESPONSE-ORIGIN and OTHER-ADDRESS are plain addresses, not XORed */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid_a);
	stun_builder_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, (struct sockaddr *)&other);
	stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, (struct sockaddr *)&other);
	stun_builder_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&other);
	n = stun_builder_finish(&b);
	assert_memory_equal(buf + 24, "\x00\x01\x0d\x97\xc0\x00\x02\x02", 8);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, 0, &ss), 0);
	assert_memory_equal(&((struct sockaddr_in *)&ss)->sin_addr, &other.sin_addr, 4);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(3479));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_RESPONSE_ORIGIN, 0, &ss), 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, 0, &ss), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(3479));
}

static void chandata(void **state)
{
	struct stun_chandata cd;
	uint8_t buf[16];

	/* channel range: 0x4000 and 0x4FFF in, 0x3FFF and 0x5000 out (RFC 8656 §12) */
	assert_int_equal(stun_chandata_build(0x4000, "abc", 3, false, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "\x40\x00\x00\x03" "abc", 7);
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), 0);
	assert_int_equal(cd.channel, 0x4000);
	assert_int_equal(cd.len, 3);
	assert_memory_equal(cd.data, "abc", 3);
	assert_int_equal(stun_chandata_build(0x4fff, "abc", 3, false, buf, sizeof(buf)), 7);
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), 0);
	assert_int_equal(stun_chandata_build(0x3fff, "abc", 3, false, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stun_chandata_build(0x5000, "abc", 3, false, buf, sizeof(buf)), -EINVAL);
	buf[0] = 0x3f;
	buf[1] = 0xff;
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), -EBADMSG);
	buf[0] = 0x50;
	buf[1] = 0x00;
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), -EBADMSG);

	/* over a stream: padded to 8, and the parse wants exactly the padded frame */
	assert_int_equal(stun_chandata_build(0x4001, "abc", 3, true, buf, sizeof(buf)), 8);
	assert_int_equal(buf[7], 0);
	assert_int_equal(stun_chandata_parse(buf, 8, true, &cd), 0);
	assert_int_equal(cd.len, 3);
	assert_int_equal(stun_chandata_parse(buf, 7, true, &cd), -EBADMSG);
	/* over UDP the padding may be there, but nothing beyond it */
	assert_int_equal(stun_chandata_parse(buf, 8, false, &cd), 0);
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), 0);
	buf[3] = 4;
	assert_int_equal(stun_chandata_parse(buf, 9, false, &cd), -EBADMSG);
	/* length overrun: claims 4, has 3; claims 0xffff */
	buf[3] = 4;
	assert_int_equal(stun_chandata_parse(buf, 7, false, &cd), -EBADMSG);
	assert_int_equal(stun_chandata_parse(buf, 8, false, &cd), 0);
	buf[2] = 0xff;
	buf[3] = 0xff;
	assert_int_equal(stun_chandata_parse(buf, sizeof(buf), false, &cd), -EBADMSG);
	assert_int_equal(stun_chandata_parse(buf, 3, false, &cd), -EBADMSG);

	/* empty data is a 4-byte message; room exactly or one short */
	assert_int_equal(stun_chandata_build(0x4002, NULL, 0, true, buf, 4), 4);
	assert_int_equal(stun_chandata_parse(buf, 4, true, &cd), 0);
	assert_int_equal(cd.len, 0);
	assert_int_equal(stun_chandata_build(0x4002, "abc", 3, true, buf, 7), -ENOSPC);
	assert_int_equal(stun_chandata_build(0x4002, "abc", 3, false, buf, 7), 7);
}

static void demux(void **state)
{
	uint8_t ike[32] = { 0, 0, 0, 0, 0x11, 0x22 };
	uint8_t esp[24] = { 0xc0, 0x01, 0x02, 0x03, 0, 0, 0, 1 };
	uint8_t cd[8] = { 0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4 };
	uint8_t ff = 0xff, x[2] = { 0xff, 0xff };

	assert_int_equal(stun_demux_classify(req_2_1, sizeof(req_2_1)), STUN_DEMUX_STUN);
	assert_int_equal(stun_demux_classify(resp_2_3, sizeof(resp_2_3)), STUN_DEMUX_STUN);
	/* truncated STUN still looks like STUN; the parser then refuses it */
	assert_int_equal(stun_demux_classify(req_2_1, 8), STUN_DEMUX_STUN);
	assert_int_equal(stun_demux_classify(ike, sizeof(ike)), STUN_DEMUX_IKE);
	assert_int_equal(stun_demux_classify(ike, 8), STUN_DEMUX_IKE);
	assert_int_equal(stun_demux_classify(esp, sizeof(esp)), STUN_DEMUX_ESP);
	assert_int_equal(stun_demux_classify(esp, 8), STUN_DEMUX_ESP);
	assert_int_equal(stun_demux_classify(esp, 7), STUN_DEMUX_INVALID);
	assert_int_equal(stun_demux_classify(cd, 8), STUN_DEMUX_CHANDATA);
	assert_int_equal(stun_demux_classify(cd, 4), STUN_DEMUX_CHANDATA);
	assert_int_equal(stun_demux_classify(cd, 3), STUN_DEMUX_INVALID);
	cd[0] = 0x4f;
	assert_int_equal(stun_demux_classify(cd, 8), STUN_DEMUX_CHANDATA);
	cd[0] = 0x50;
	assert_int_equal(stun_demux_classify(cd, 8), STUN_DEMUX_ESP);
	cd[0] = 0x3f;	/* STUN's range without the cookie: ESP */
	assert_int_equal(stun_demux_classify(cd, 8), STUN_DEMUX_ESP);
	assert_int_equal(stun_demux_classify(&ff, 1), STUN_DEMUX_KEEPALIVE);
	assert_int_equal(stun_demux_classify(x, 2), STUN_DEMUX_INVALID);
	assert_int_equal(stun_demux_classify(ike, 1), STUN_DEMUX_INVALID);
	assert_int_equal(stun_demux_classify(NULL, 0), STUN_DEMUX_INVALID);
	/* a STUN cookie behind an SPI with top bits set is ESP */
	memcpy(esp + 4, "\x21\x12\xa4\x42", 4);
	assert_int_equal(stun_demux_classify(esp, sizeof(esp)), STUN_DEMUX_ESP);
	assert_string_equal(stun_demux_str(STUN_DEMUX_IKE), "ike");
	assert_string_equal(stun_demux_str((enum stun_demux)99), "invalid");
}

static void stream_framing(void **state)
{
	uint8_t buf[128];
	size_t need;

	/* while fewer than 4 bytes are in, 4 are needed */
	for (size_t n = 0; n < 4; n++) {
		assert_int_equal(stun_stream_frame_len(req_2_1, n, &need), 0);
		assert_int_equal(need, 4);
	}
	for (size_t n = 4; n <= sizeof(req_2_1); n++) {
		assert_int_equal(stun_stream_frame_len(req_2_1, n, &need), 0);
		assert_int_equal(need, sizeof(req_2_1));
	}
	/* a wrong cookie is seen once 8 bytes are there */
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[6] = 0;
	assert_int_equal(stun_stream_frame_len(buf, 7, &need), 0);
	assert_int_equal(stun_stream_frame_len(buf, 8, &need), -EBADMSG);
	/* a STUN length that is not a multiple of 4 */
	memcpy(buf, req_2_1, sizeof(req_2_1));
	buf[3] = 0x57;
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), -EBADMSG);
	/* ChannelData: the padding counts over a stream */
	memcpy(buf, "\x40\x10\x00\x05", 4);
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), 0);
	assert_int_equal(need, 12);
	memcpy(buf, "\x4f\xff\x00\x00", 4);
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), 0);
	assert_int_equal(need, 4);
	memcpy(buf, "\x40\x00\xff\xff", 4);
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), 0);
	assert_int_equal(need, 4 + 65535 + 1);
	/* anything else cannot be resynchronised */
	buf[0] = 0x50;
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), -EBADMSG);
	buf[0] = 0x80;
	assert_int_equal(stun_stream_frame_len(buf, 4, &need), -EBADMSG);
}

static void max_sizes(void **state)
{
	static uint8_t buf[STUN_MAX_LEN + 8], data[65536];
	struct stun_builder b;
	struct stun_msg m;
	struct stun_chandata cd;
	const uint8_t *p;
	size_t len;
	int n;

	/* the largest message: one DATA filling a 65532-byte body */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_SEND, STUN_CLASS_INDICATION, tid_a);
	stun_builder_add(&b, STUN_ATTR_DATA, data, 65528);
	n = stun_builder_finish(&b);
	assert_int_equal(n, STUN_MAX_LEN);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(stun_msg_get_data(&m, &p, &len), 0);
	assert_int_equal(len, 65528);
	/* one byte more needs a padded 65536-byte body: refused */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_SEND, STUN_CLASS_INDICATION, tid_a);
	stun_builder_add(&b, STUN_ATTR_DATA, data, 65529);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	/* a value over 65535 bytes cannot be expressed at all */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_SEND, STUN_CLASS_INDICATION, tid_a);
	stun_builder_add(&b, STUN_ATTR_DATA, data, 65536);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);

	/* ChannelData carries up to 65535 bytes, 65536 with the stream padding */
	n = stun_chandata_build(0x4000, data, 65535, true, buf, sizeof(buf));
	assert_int_equal(n, 4 + 65535 + 1);
	assert_int_equal(stun_chandata_parse(buf, (size_t)n, true, &cd), 0);
	assert_int_equal(cd.len, 65535);
	assert_int_equal(stun_chandata_build(0x4000, data, 65536, true, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(type_layout),
		cmocka_unit_test(rfc5769_request),
		cmocka_unit_test(rfc5769_ipv4_response),
		cmocka_unit_test(rfc5769_ipv6_response),
		cmocka_unit_test(rfc5769_long_term),
		cmocka_unit_test(rfc8489_b1_sha256_userhash),
		cmocka_unit_test(header_bounds),
		cmocka_unit_test(attribute_bounds),
		cmocka_unit_test(string_bounds),
		cmocka_unit_test(attribute_count),
		cmocka_unit_test(unknown_attributes),
		cmocka_unit_test(fingerprint_and_integrity),
		cmocka_unit_test(builder_rules),
		cmocka_unit_test(turn_messages),
		cmocka_unit_test(rfc5780_attributes),
		cmocka_unit_test(chandata),
		cmocka_unit_test(demux),
		cmocka_unit_test(stream_framing),
		cmocka_unit_test(max_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
