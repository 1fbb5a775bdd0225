/*
 * The budget of new watchers (shed.c): the bucket's burst and refill at the
 * edges (the last token, the first refused, one millisecond's worth back);
 * no budget at all; the retry delay always within [min, max], growing with
 * the refusals of the last two seconds and falling back once they pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autotunnel-dnsd/shed.h"

#define T0 1000000

static void bucket(void **state)
{
	struct shed_cfg c = { .rate = 10, .burst = 5, .retry_min_ms = 1000, .retry_max_ms = 30000 };
	struct shed s;

	(void)state;
	shed_init(&s, &c, T0);
	/* the burst at once, then none */
	for (int i = 0; i < 5; i++)
		assert_true(shed_admit(&s, T0));
	assert_false(shed_admit(&s, T0));
	/* 10 a second: one token per 100 ms, not before */
	assert_false(shed_admit(&s, T0 + 99));
	assert_true(shed_admit(&s, T0 + 100));
	assert_false(shed_admit(&s, T0 + 100));
	/* a long pause fills the bucket to its burst, no more */
	for (int i = 0; i < 5; i++)
		assert_true(shed_admit(&s, T0 + 60000));
	assert_false(shed_admit(&s, T0 + 60000));
	assert_int_equal(s.admitted, 11);
	assert_int_equal(s.refused, 4);
}

static void no_budget(void **state)
{
	struct shed_cfg c = { .rate = 0, .retry_min_ms = 1000, .retry_max_ms = 5000 };
	struct shed s;

	(void)state;
	shed_init(&s, &c, T0);
	for (int i = 0; i < 100000; i++)
		assert_true(shed_admit(&s, T0));
	assert_int_equal(s.refused, 0);
	/* a limit's refusal still gets a short hint within the bounds */
	shed_refused(&s, T0);
	assert_int_equal(shed_retry_ms(&s, 0), 1000);
	assert_true(shed_retry_ms(&s, UINT32_MAX) <= 5000);
}

static void retry_spread(void **state)
{
	struct shed_cfg c = { .rate = 100, .burst = 100, .retry_min_ms = 1000, .retry_max_ms = 30000 };
	struct shed s;
	uint32_t lo = UINT32_MAX, hi = 0;

	(void)state;
	shed_init(&s, &c, T0);
	/* nothing refused lately: [min, 2 min] */
	assert_int_equal(shed_retry_ms(&s, 0), 1000);
	assert_int_equal(shed_retry_ms(&s, 1000), 2000);
	assert_int_equal(shed_retry_ms(&s, 1001), 1000);
	/* 100 in the bucket, 1,100 asking: 1,000 refused = 10 s of the budget */
	for (int i = 0; i < 1100; i++)
		(void)shed_admit(&s, T0);
	assert_int_equal(s.refused, 1000);
	for (uint32_t r = 0; r <= 20002; r++) {
		uint32_t ms = shed_retry_ms(&s, r);

		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	assert_int_equal(lo, 1000);
	assert_int_equal(hi, 1000 + 10000);
	/* a flood past the longest delay: capped at max */
	for (int i = 0; i < 100000; i++)
		(void)shed_admit(&s, T0 + 500);
	assert_int_equal(shed_retry_ms(&s, 29000), 30000);
	assert_int_equal(shed_retry_ms(&s, 29001), 1000);
	/* a second later the refusals still count (the previous window)... */
	(void)shed_admit(&s, T0 + 1000);
	assert_int_equal(shed_retry_ms(&s, 29000), 30000);
	/* ...two seconds of calm and they do not */
	(void)shed_admit(&s, T0 + 3500);
	assert_int_equal(shed_retry_ms(&s, 1000), 2000);
}

static void bounds_fixed(void **state)
{
	/* min = max: always that */
	struct shed_cfg c = { .rate = 1, .burst = 1, .retry_min_ms = 5000, .retry_max_ms = 5000 };
	struct shed s;

	(void)state;
	shed_init(&s, &c, T0);
	for (int i = 0; i < 10; i++)
		(void)shed_admit(&s, T0);
	assert_int_equal(shed_retry_ms(&s, 0), 5000);
	assert_int_equal(shed_retry_ms(&s, 12345), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket),
		cmocka_unit_test(no_budget),
		cmocka_unit_test(retry_spread),
		cmocka_unit_test(bounds_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
