/*
 * Helpers shared by the lib/dns unit tests (test_dns_*.c), which include
 * this file after <cmocka.h>: hex test vectors into bytes, and names from
 * their text form, each failing the test on bad input.
 */
#ifndef AT_TEST_DNS_TEST_UTIL_H
#define AT_TEST_DNS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns/name.h"

/* Decode the hex string @p hex into @p out (at most @p cap bytes); the byte count. */
static inline size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* The name @p text ("host.example.net."), which must be valid. */
static inline struct dns_name N(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

#endif
