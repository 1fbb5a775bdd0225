/* autotunnel-gwd timers.c: epoch and announcement series, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autotunnel-gwd/timers.h"

/* RFC 6886 §3.2.1: 10 sends, 250 ms between the first two, then doubling. */
static void announce_series(void **state)
{
	static const uint64_t at[GWD_ANNOUNCE_COUNT] = {
		0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750, 127750,
	};
	struct gwd_timers tm;
	const uint64_t t0 = 5000;

	gwd_timers_init(&tm, t0);
	for (int i = 0; i < GWD_ANNOUNCE_COUNT; i++) {
		if (i > 0) {
			/* one millisecond early: not yet */
			assert_false(gwd_timers_announce_due(&tm, t0 + at[i] - 1));
		}
		assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), t0 + at[i]);
		assert_true(gwd_timers_announce_due(&tm, t0 + at[i]));
		/* the same instant does not send twice */
		assert_false(gwd_timers_announce_due(&tm, t0 + at[i]));
	}
	/* the tenth was the last */
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), GWD_NEVER);
	assert_false(gwd_timers_announce_due(&tm, t0 + 10000000));
}

static void late_wakeup_no_burst(void **state)
{
	struct gwd_timers tm;

	gwd_timers_init(&tm, 0);
	assert_true(gwd_timers_announce_due(&tm, 0));
	/* woken 2 s late: one send now, and the next is due at once, not three */
	assert_true(gwd_timers_announce_due(&tm, 2250));
	assert_false(gwd_timers_announce_due(&tm, 2249));
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), 2250);
	assert_true(gwd_timers_announce_due(&tm, 2250));
	assert_int_equal(tm.announce_sent, 3);
}

static void epoch_counts_seconds(void **state)
{
	struct gwd_timers tm;

	gwd_timers_init(&tm, 1000);
	assert_int_equal(gwd_timers_epoch(&tm, 1000), 0);
	assert_int_equal(gwd_timers_epoch(&tm, 1999), 0);
	assert_int_equal(gwd_timers_epoch(&tm, 2000), 1);
	assert_int_equal(gwd_timers_epoch(&tm, 1000 + 3600 * 1000), 3600);
	/* a clock reading before the start (cannot happen on CLOCK_MONOTONIC) is 0, not huge */
	assert_int_equal(gwd_timers_epoch(&tm, 10), 0);
}

/* RFC 6887 §8.5 / RFC 6886 §3.2.1: a new external address restarts epoch and series. */
static void address_change_restarts(void **state)
{
	struct gwd_timers tm;
	int sent = 0;

	gwd_timers_init(&tm, 0);
	for (uint64_t t = 0; t <= 200000; t += 50)
		sent += gwd_timers_announce_due(&tm, t);
	assert_int_equal(sent, GWD_ANNOUNCE_COUNT);
	assert_int_equal(gwd_timers_epoch(&tm, 200000), 200);

	gwd_timers_address_changed(&tm, 200000);
	assert_int_equal(gwd_timers_epoch(&tm, 200000), 0);
	assert_int_equal(gwd_timers_epoch(&tm, 203500), 3);
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), 200000);
	assert_true(gwd_timers_announce_due(&tm, 200000));
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), 200250);

	/* a change during a series starts it over */
	gwd_timers_address_changed(&tm, 200100);
	assert_int_equal(tm.announce_sent, 0);
	assert_true(gwd_timers_announce_due(&tm, 200100));
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), 200350);

	gwd_timers_announce_stop(&tm);
	assert_int_equal(gwd_timers_next(&tm, GWD_NEVER), GWD_NEVER);
}

static void next_is_earliest(void **state)
{
	struct gwd_timers tm;

	gwd_timers_init(&tm, 100);
	assert_int_equal(gwd_timers_next(&tm, 50), 50);		/* an expiry first */
	assert_int_equal(gwd_timers_next(&tm, 5000), 100);	/* the announcement first */
	gwd_timers_announce_stop(&tm);
	assert_int_equal(gwd_timers_next(&tm, 5000), 5000);
}

static void timeval_until(void **state)
{
	struct timeval tv = gwd_timeval_until(12345, 10000);

	assert_int_equal(tv.tv_sec, 2);
	assert_int_equal(tv.tv_usec, 345000);
	tv = gwd_timeval_until(10000, 10000);	/* due now */
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
	tv = gwd_timeval_until(9000, 10000);	/* late: at once, never negative */
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(announce_series),
		cmocka_unit_test(late_wakeup_no_burst),
		cmocka_unit_test(epoch_counts_seconds),
		cmocka_unit_test(address_change_restarts),
		cmocka_unit_test(next_is_earliest),
		cmocka_unit_test(timeval_until),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
