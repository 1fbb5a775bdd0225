/*
 * tests/unit/test_stun_check.c: the account's connectivity checks
 * (lib/stun/check.h): the key, requests and responses, and everything a
 * receiver must refuse (the wrong key, no integrity, a check for another
 * host, a changed byte).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stun/check.h"
#include "stun/msg.h"

static const uint8_t ula_a[16] = { 0xfd, 1, 2, 3, 4, 5, 6, 7, 0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a };
static const uint8_t ula_b[16] = { 0xfd, 0x91, 0x3b, 0x2c, 0x5d, 0x10, 0xaa, 0x01, 0x02, 0x1c, 0x42, 0xff, 0xfe, 0, 0, 1 };

static void key_of(uint8_t key[STUN_CHECK_KEY_LEN], uint8_t first)
{
	uint8_t ike[32];

	for (int i = 0; i < 32; i++)
		ike[i] = (uint8_t)(first + i);
	assert_int_equal(stun_check_key(ike, key), 0);
}

/* HMAC-SHA256(00 01 .. 1f, "autotunnel connectivity check key v1"), computed with Python's hmac */
static void test_key(void **state)
{
	static const uint8_t want[32] = {
		0x9e, 0xf8, 0xb0, 0x94, 0xea, 0x8b, 0x37, 0xb4, 0x66, 0xdc, 0x28, 0xaf, 0x11, 0x66, 0x5f, 0x5e,
		0xbb, 0x61, 0x2a, 0x3a, 0x07, 0x52, 0xa7, 0x74, 0xab, 0xdf, 0x0d, 0xbc, 0x37, 0x9b, 0xff, 0x10,
	};
	uint8_t key[STUN_CHECK_KEY_LEN];

	(void)state;
	key_of(key, 0);
	assert_memory_equal(key, want, 32);
}

static int build_req(uint8_t *buf, size_t cap, const uint8_t *key, bool controlling)
{
	struct stun_check_req r = { .prio = 1694498815, .controlling = controlling, .tiebreak = 0x0102030405060708ull };

	memcpy(r.tid, "abcdefghijkl", STUN_TID_LEN);
	memcpy(r.to, ula_b, 16);
	memcpy(r.from, ula_a, 16);
	return stun_check_request_build(&r, key, buf, cap);
}

static void test_request_round_trip(void **state)
{
	uint8_t key[STUN_CHECK_KEY_LEN], buf[STUN_CHECK_MSG_MAX];
	struct stun_check_req got;
	struct stun_msg m;
	char user[80];
	int len;

	(void)state;
	key_of(key, 7);
	len = build_req(buf, sizeof(buf), key, true);
	/* 20 header + USERNAME 4+68 + PRIORITY 8 + ICE-CONTROLLING 12 + MESSAGE-INTEGRITY 24 + FINGERPRINT 8 */
	assert_int_equal(len, 144);
	assert_true(len <= STUN_CHECK_MSG_MAX);
	assert_true(stun_check_is_request(buf, (size_t)len));
	assert_int_equal(stun_msg_parse(buf, (size_t)len, &m), 0);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, user, sizeof(user)), 65);
	assert_string_equal(user, "fd913b2c5d10aa01021c42fffe000001:fd010203040506070222" "69fffe8e342a");
	assert_int_equal(stun_check_request_parse(buf, (size_t)len, ula_b, key, &got), 0);
	assert_memory_equal(got.tid, "abcdefghijkl", STUN_TID_LEN);
	assert_memory_equal(got.from, ula_a, 16);
	assert_memory_equal(got.to, ula_b, 16);
	assert_int_equal(got.prio, 1694498815);
	assert_true(got.controlling);
	assert_true(got.tiebreak == 0x0102030405060708ull);
	len = build_req(buf, sizeof(buf), key, false);
	assert_int_equal(stun_check_request_parse(buf, (size_t)len, ula_b, key, &got), 0);
	assert_false(got.controlling);
	/* one byte short of room */
	assert_int_equal(build_req(buf, 143, key, true), -ENOSPC);
}

static void test_request_refused(void **state)
{
	uint8_t key[STUN_CHECK_KEY_LEN], other[STUN_CHECK_KEY_LEN], buf[STUN_CHECK_MSG_MAX], plain[64];
	struct stun_check_req got;
	struct stun_builder b;
	int len, n;

	(void)state;
	key_of(key, 7);
	key_of(other, 8);
	len = build_req(buf, sizeof(buf), key, true);
	/* a host that does not hold the account's key */
	assert_int_equal(stun_check_request_parse(buf, (size_t)len, ula_b, other, &got), -EACCES);
	/* a check for another host of the account */
	assert_int_equal(stun_check_request_parse(buf, (size_t)len, ula_a, key, &got), -EPERM);
	/* a changed byte in USERNAME: FINGERPRINT fails first */
	buf[30] ^= 1;
	assert_int_equal(stun_check_request_parse(buf, (size_t)len, ula_b, key, &got), -EBADMSG);
	buf[30] ^= 1;
	/* truncated */
	assert_int_equal(stun_check_request_parse(buf, (size_t)len - 8, ula_b, key, &got), -EBADMSG);
	/* no integrity at all: a plain Binding request (what a STUN server gets) */
	stun_builder_start(&b, plain, sizeof(plain), STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			   (const uint8_t *)"abcdefghijkl");
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	assert_int_equal(stun_check_request_parse(plain, (size_t)n, ula_b, key, &got), -EACCES);
	/* a response is no request */
	assert_false(stun_check_is_request(buf, 10));
}

static void test_response(void **state)
{
	uint8_t key[STUN_CHECK_KEY_LEN], other[STUN_CHECK_KEY_LEN], buf[STUN_CHECK_MSG_MAX], tid[STUN_TID_LEN];
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(40123) };
	struct sockaddr_in6 src6 = { .sin6_family = AF_INET6, .sin6_port = htons(4500) };
	struct sockaddr_storage got;
	struct sockaddr_in *g4 = (struct sockaddr_in *)&got;
	struct sockaddr_in6 *g6 = (struct sockaddr_in6 *)&got;
	struct sockaddr un = { .sa_family = AF_UNIX };
	int len;

	(void)state;
	key_of(key, 7);
	key_of(other, 8);
	inet_pton(AF_INET, "203.0.113.10", &src.sin_addr);
	inet_pton(AF_INET6, "2001:db8:1::2", &src6.sin6_addr);
	len = stun_check_response_build((const uint8_t *)"abcdefghijkl", (struct sockaddr *)&src, key, buf,
					sizeof(buf));
	/* 20 + XOR-MAPPED-ADDRESS 12 + MESSAGE-INTEGRITY 24 + FINGERPRINT 8 */
	assert_int_equal(len, 64);
	assert_false(stun_check_is_request(buf, (size_t)len));
	assert_int_equal(stun_check_response_parse(buf, (size_t)len, key, tid, &got), 0);
	assert_memory_equal(tid, "abcdefghijkl", STUN_TID_LEN);
	assert_int_equal(got.ss_family, AF_INET);
	assert_int_equal(g4->sin_addr.s_addr, src.sin_addr.s_addr);
	assert_int_equal(ntohs(g4->sin_port), 40123);
	assert_int_equal(stun_check_response_parse(buf, (size_t)len, other, tid, &got), -EACCES);
	len = stun_check_response_build((const uint8_t *)"abcdefghijkl", (struct sockaddr *)&src6, key, buf,
					sizeof(buf));
	assert_int_equal(stun_check_response_parse(buf, (size_t)len, key, tid, &got), 0);
	assert_int_equal(got.ss_family, AF_INET6);
	assert_memory_equal(&g6->sin6_addr, &src6.sin6_addr, 16);
	assert_int_equal(stun_check_response_build(tid, &un, key, buf, sizeof(buf)), -EINVAL);
	/* a request is no response */
	len = build_req(buf, sizeof(buf), key, true);
	assert_int_equal(stun_check_response_parse(buf, (size_t)len, key, tid, &got), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
