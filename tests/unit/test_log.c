/* src/common/log: level parsing and the rate limiter's token bucket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/log.h"

static void levels(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("WARN", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
}

static void ratelimit_burst_then_refill(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(2, 3);
	uint64_t t = 1000;

	/* exactly the burst passes at once, the next is suppressed */
	for (int i = 0; i < 3; i++)
		assert_true(log_ratelimit_allow(&rl, t));
	assert_false(log_ratelimit_allow(&rl, t));
	assert_int_equal(rl.suppressed, 1);
	/* 2 per second: 499 ms is not enough for one token, 500 ms is */
	assert_false(log_ratelimit_allow(&rl, t + 499));
	assert_true(log_ratelimit_allow(&rl, t + 500));
	assert_false(log_ratelimit_allow(&rl, t + 500));
	/* a long pause refills to the burst and no further */
	t += 100000;
	for (int i = 0; i < 3; i++)
		assert_true(log_ratelimit_allow(&rl, t));
	assert_false(log_ratelimit_allow(&rl, t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels),
		cmocka_unit_test(ratelimit_burst_then_refill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
