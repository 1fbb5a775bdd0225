/*
 * src/dataplane: the outer address of either family (union dp_addr) that the
 * whole dp API takes: lengths, equality with and without ports, the log
 * form ("a.b.c.d:port", "[v6]:port"), and the outer header sizes the MTU
 * arithmetic of docs/dataplane.md "Outer IPv6" uses.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp.h"

static union dp_addr v4(const char *ip, uint16_t port)
{
	union dp_addr a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin.sin_addr), 1);
	return a;
}

static union dp_addr v6(const char *ip, uint16_t port)
{
	union dp_addr a;

	memset(&a, 0, sizeof(a));
	a.sin6.sin6_family = AF_INET6;
	a.sin6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6.sin6_addr), 1);
	return a;
}

static void test_len_and_port(void **st)
{
	union dp_addr a = v4("192.0.2.1", 4500), b = v6("2001:db8::2", 61001), none;

	(void)st;
	memset(&none, 0, sizeof(none));
	assert_int_equal(dp_addr_len(&a), sizeof(struct sockaddr_in));
	assert_int_equal(dp_addr_len(&b), sizeof(struct sockaddr_in6));
	assert_int_equal(dp_addr_len(&none), 0);
	assert_int_equal(dp_addr_port(&a), 4500);
	assert_int_equal(dp_addr_port(&b), 61001);
	assert_int_equal(dp_addr_port(&none), 0);
	/* 20 + 8 and 40 + 8 (RFC 791, RFC 8200, RFC 768) */
	assert_int_equal(dp_outer_hdr_len(AF_INET), 28);
	assert_int_equal(dp_outer_hdr_len(AF_INET6), 48);
}

static void test_equality(void **st)
{
	union dp_addr a = v4("192.0.2.1", 4500), a2 = v4("192.0.2.1", 4501), a3 = v4("192.0.2.2", 4500);
	union dp_addr b = v6("2001:db8::2", 4500), b2 = v6("2001:db8::2", 4501), b3 = v6("2001:db8::3", 4500);
	union dp_addr mapped = v6("::ffff:192.0.2.1", 4500), none1, none2;

	(void)st;
	memset(&none1, 0, sizeof(none1));
	memset(&none2, 0xff, sizeof(none2));
	none2.sa.sa_family = 0;
	assert_true(dp_addr_eq(&a, &a));
	assert_false(dp_addr_eq(&a, &a2));	/* a new port is a new endpoint (NAT rebinding) */
	assert_true(dp_addr_eq_host(&a, &a2));
	assert_false(dp_addr_eq(&a, &a3));
	assert_false(dp_addr_eq_host(&a, &a3));
	assert_true(dp_addr_eq(&b, &b));
	assert_false(dp_addr_eq(&b, &b2));
	assert_true(dp_addr_eq_host(&b, &b2));
	assert_false(dp_addr_eq_host(&b, &b3));
	/* families never compare equal, not even an IPv4-mapped address */
	assert_false(dp_addr_eq(&a, &mapped));
	assert_false(dp_addr_eq_host(&a, &mapped));
	assert_false(dp_addr_eq(&a, &none1));
	/* two unknown addresses are the same "unknown", whatever the bytes behind */
	assert_true(dp_addr_eq(&none1, &none2));
	/* a link-local scope is part of the endpoint */
	b2 = b;
	b2.sin6.sin6_scope_id = 3;
	assert_false(dp_addr_eq(&b, &b2));
	/* bytes outside the address do not matter (sin_zero) */
	a2 = a;
	memset(a2.sin.sin_zero, 0x5a, sizeof(a2.sin.sin_zero));
	assert_true(dp_addr_eq(&a, &a2));
}

static void test_str(void **st)
{
	union dp_addr a = v4("198.51.100.7", 4500), b = v6("2001:db8:ff::b", 4500), none;
	union dp_addr longest = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	char buf[DP_ADDR_STRLEN], small[8];

	(void)st;
	memset(&none, 0, sizeof(none));
	assert_string_equal(dp_addr_str(&a, buf, sizeof(buf)), "198.51.100.7:4500");
	assert_string_equal(dp_addr_str(&b, buf, sizeof(buf)), "[2001:db8:ff::b]:4500");
	assert_string_equal(dp_addr_str(&none, buf, sizeof(buf)), "?");
	/* the longest form fits DP_ADDR_STRLEN */
	assert_string_equal(dp_addr_str(&longest, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
	assert_true(strlen(buf) < sizeof(buf));
	/* a short buffer is cut, still terminated */
	assert_string_equal(dp_addr_str(&a, small, sizeof(small)), "198.51.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len_and_port),
		cmocka_unit_test(test_equality),
		cmocka_unit_test(test_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
