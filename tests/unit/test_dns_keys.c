/*
 * lib/dns/keys: scrypt key derivation (briefs/dns-keys.md).
 *
 * The vectors were computed once with two independent implementations and
 * agree byte for byte:
 *   /usr/bin/python3 -c 'import hashlib; print(hashlib.scrypt(b"secret",
 *       salt=b"autotunnel tsig v1 alice.members.example.net",
 *       n=16384, r=8, p=1, dklen=32, maxmem=1<<26).hex())'
 *   openssl kdf -keylen 32 -kdfopt pass:secret \
 *       -kdfopt "salt:autotunnel tsig v1 alice.members.example.net" \
 *       -kdfopt n:16384 -kdfopt r:8 -kdfopt p:1 SCRYPT
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/keys.h"

struct vec {
	const char *domain;
	const char *password;
	const uint8_t tsig[32];
	const uint8_t ike[32];
};

static const struct vec vecs[] = {
	{ "alice.members.example.net", "secret",
	  { 0x40, 0xfb, 0x88, 0x2d, 0x84, 0xb1, 0x01, 0x83, 0xe7, 0x7c, 0x5f, 0xdb, 0x38, 0x80, 0xaf, 0x05,
	    0x75, 0x8e, 0x0c, 0x0d, 0x3e, 0x00, 0xd5, 0xea, 0x53, 0xf9, 0xda, 0x26, 0x2d, 0xff, 0x92, 0x0e },
	  { 0xab, 0xa0, 0xe1, 0xa6, 0x77, 0xe7, 0xea, 0xec, 0x6d, 0x0a, 0x83, 0xe8, 0xf8, 0x68, 0xce, 0x1b,
	    0x36, 0x38, 0xfc, 0x90, 0x73, 0x89, 0x6d, 0x90, 0x32, 0xae, 0xb6, 0x41, 0x47, 0xec, 0x57, 0xa0 } },
	{ "bob.members.example.net", "correct horse battery staple",
	  { 0x12, 0x4c, 0xc7, 0xa4, 0xd3, 0x28, 0x4f, 0x45, 0xe4, 0x27, 0xa3, 0xbb, 0xae, 0xb9, 0xa5, 0xb5,
	    0x9d, 0x1d, 0x8b, 0xe8, 0xf7, 0x28, 0x45, 0x2c, 0xec, 0xf5, 0x78, 0x85, 0xba, 0xab, 0xee, 0xa6 },
	  { 0xa1, 0xe1, 0x3d, 0x3e, 0x6d, 0x3b, 0x8b, 0xe9, 0x8e, 0x62, 0x0a, 0x95, 0xf3, 0x77, 0x18, 0xd8,
	    0xc5, 0x0a, 0x3e, 0xb2, 0xb5, 0x11, 0xb9, 0x03, 0xc1, 0xe1, 0xc3, 0x8d, 0xaf, 0x1f, 0xea, 0x70 } },
	{ "alice.members.example.net", "",
	  { 0xe3, 0xee, 0xbb, 0x46, 0xcd, 0x1e, 0x78, 0x4b, 0x05, 0xda, 0x00, 0x49, 0x87, 0x6c, 0x6d, 0x2a,
	    0x09, 0x46, 0x7c, 0x30, 0x8b, 0x48, 0x6c, 0xb3, 0x58, 0xd2, 0x8b, 0x94, 0x16, 0xfa, 0x56, 0x7f },
	  { 0x8f, 0x16, 0x0e, 0x3a, 0x3e, 0xc9, 0xd3, 0x68, 0x30, 0x6c, 0xfc, 0x2e, 0x76, 0xa2, 0xb9, 0x2e,
	    0xdb, 0x40, 0x74, 0xa9, 0xfc, 0xa6, 0x86, 0x4b, 0x51, 0x30, 0x09, 0x7c, 0xf9, 0x1d, 0x4b, 0xc4 } },
};

static void derive_vectors(void **state)
{
	uint8_t t[32], k[32];

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		assert_int_equal(dns_keys_derive(vecs[i].domain, vecs[i].password,
						 strlen(vecs[i].password), t, k), 0);
		assert_memory_equal(t, vecs[i].tsig, 32);
		assert_memory_equal(k, vecs[i].ike, 32);
		/* the two keys are independent */
		assert_memory_not_equal(t, k, 32);
	}
}

static void domain_is_normalised(void **state)
{
	uint8_t t[32], k[32];

	/* upper case and one trailing dot do not change the salt */
	assert_int_equal(dns_keys_derive("ALICE.Members.Example.NET.", "secret", 6, t, k), 0);
	assert_memory_equal(t, vecs[0].tsig, 32);
	assert_memory_equal(k, vecs[0].ike, 32);
	/* the password length is honoured, not a NUL */
	assert_int_equal(dns_keys_derive("alice.members.example.net", "secretXYZ", 6, t, k), 0);
	assert_memory_equal(t, vecs[0].tsig, 32);
	/* but a different domain gives different keys */
	assert_int_equal(dns_keys_derive("alice.members.example.org", "secret", 6, t, k), 0);
	assert_memory_not_equal(t, vecs[0].tsig, 32);
}

static void bad_domains(void **state)
{
	uint8_t t[32], k[32];
	char longd[300];

	assert_int_equal(dns_keys_derive("", "x", 1, t, k), -EINVAL);
	assert_int_equal(dns_keys_derive(".", "x", 1, t, k), -EINVAL);
	assert_int_equal(dns_keys_derive("a..b", "x", 1, t, k), -EINVAL);
	assert_int_equal(dns_keys_derive(NULL, "x", 1, t, k), -EINVAL);
	/* 63-character label accepted, 64 refused */
	memset(longd, 'a', 63);
	strcpy(longd + 63, ".net");
	assert_int_equal(dns_keys_derive(longd, "x", 1, t, k), 0);
	memset(longd, 'a', 64);
	strcpy(longd + 64, ".net");
	assert_int_equal(dns_keys_derive(longd, "x", 1, t, k), -EINVAL);
	/* 253 characters accepted, 254 refused */
	for (int i = 0; i < 253; i++)
		longd[i] = (i % 50 == 49) ? '.' : 'b';
	longd[253] = 0;
	assert_int_equal(dns_keys_derive(longd, "x", 1, t, k), 0);
	longd[253] = 'c';
	longd[254] = 0;
	assert_int_equal(dns_keys_derive(longd, "x", 1, t, k), -EINVAL);
	for (int i = 0; i < 32; i++)
		assert_int_equal(t[i] | k[i], 0);	/* outputs zeroed on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(derive_vectors),
		cmocka_unit_test(domain_is_normalised),
		cmocka_unit_test(bad_domains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
