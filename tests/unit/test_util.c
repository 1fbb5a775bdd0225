/* lib/util: hex and base64 (RFC 4648 §10 vectors) and random numbers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/encode.h"
#include "util/random.h"

static void b64_rfc4648_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char out[16];
	uint8_t dec[8];

	for (size_t i = 0; i < 7; i++) {
		size_t n = strlen(plain[i]);

		assert_int_equal(b64_encode(out, sizeof(out), (const uint8_t *)plain[i], n), (int)strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		/* the decoder writes no more than the exact decoded size */
		assert_int_equal(b64_decode(dec, n, enc[i]), (int)n);
		assert_memory_equal(dec, plain[i], n);
		if (n)
			assert_int_equal(b64_decode(dec, n - 1, enc[i]), -ENOSPC);
	}
}

static void b64_bounds_and_garbage(void **state)
{
	char out[9];
	uint8_t dec[8];

	/* "foobar" needs 8 characters plus NUL: 9 fits, 8 does not */
	assert_int_equal(b64_encode(out, 9, (const uint8_t *)"foobar", 6), 8);
	assert_int_equal(b64_encode(out, 8, (const uint8_t *)"foobar", 6), -ENOSPC);
	assert_int_equal(b64_decode(dec, sizeof(dec), "Zm9"), -EINVAL);	/* not a multiple of 4 */
	assert_int_equal(b64_decode(dec, sizeof(dec), "Zm9v\n"), -EINVAL);
	assert_int_equal(b64_decode(dec, sizeof(dec), "Zg=a"), -EINVAL);	/* padding in the middle */
	assert_int_equal(b64_decode(dec, sizeof(dec), "=g=="), -EINVAL);
	assert_int_equal(b64_decode(dec, sizeof(dec), "Zm*v"), -EINVAL);
}

static void hex_roundtrip_and_bounds(void **state)
{
	const uint8_t in[3] = { 0x00, 0xab, 0xff };
	char out[7];
	uint8_t dec[3];

	assert_int_equal(hex_encode(out, 7, in, 3), 6);
	assert_string_equal(out, "00abff");
	assert_int_equal(hex_encode(out, 6, in, 3), -ENOSPC);
	assert_int_equal(hex_decode(dec, 3, "00ABff"), 3);
	assert_memory_equal(dec, in, 3);
	assert_int_equal(hex_decode(dec, 2, "00abff"), -ENOSPC);
	assert_int_equal(hex_decode(dec, 3, "0ab"), -EINVAL);
	assert_int_equal(hex_decode(dec, 3, "0g"), -EINVAL);
}

static void random_values(void **state)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };
	unsigned hits[4] = { 0 };

	assert_int_equal(rand_bytes(a, sizeof(a)), 0);
	assert_int_equal(rand_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(rand_uniform(0), 0);
	assert_int_equal(rand_uniform(1), 0);
	for (int i = 0; i < 4000; i++) {
		uint32_t v = rand_uniform(4);

		assert_true(v < 4);
		hits[v]++;
	}
	for (int i = 0; i < 4; i++)	/* each bucket expects 1000; 700 is > 10 sigma away */
		assert_true(hits[i] > 700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64_rfc4648_vectors),
		cmocka_unit_test(b64_bounds_and_garbage),
		cmocka_unit_test(hex_roundtrip_and_bounds),
		cmocka_unit_test(random_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
