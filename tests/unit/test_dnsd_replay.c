/*
 * autotunnel-dnsd's replay cache (replay.c): a signed request is new once,
 * then a replay until its TSIG window has passed; a copy from the same
 * source within the retransmission time gets the first answer; forgotten
 * keys are new again; the cache grows to its maximum, refuses (FULL) when
 * every slot is still in its window, and takes new keys again once the
 * oldest window has passed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-dnsd/replay.h"

#define NOW 1700000000

static struct replay_key K(uint32_t account, uint32_t n)
{
	struct replay_key k = { .account = account, .mac_len = 32 };

	memcpy(k.mac, &n, sizeof(n));
	k.mac[15] = 0x5a;
	return k;
}

static void once_then_replay(void **state)
{
	struct replay *r = replay_new(4096);
	struct replay_key k = K(1, 7), other = K(2, 7);
	struct replay_answer a = { .rcode = 0, .lease_granted = true, .lease = 3600 }, got = { 0 };

	assert_non_null(r);
	assert_int_equal(replay_check(r, &k, 11, NOW, NOW + 300, 30, &got), REPLAY_NEW);
	replay_answer(r, &k, &a);
	/* the same MAC under another account is another request */
	assert_int_equal(replay_check(r, &other, 11, NOW, NOW + 300, 30, NULL), REPLAY_NEW);
	/* the same source soon after: a retransmission, with the first answer */
	assert_int_equal(replay_check(r, &k, 11, NOW + 30, NOW + 300, 30, &got), REPLAY_RETRANSMIT);
	assert_true(got.known);
	assert_true(got.lease_granted);
	assert_int_equal(got.lease, 3600);
	/* later, or from elsewhere: a replay */
	assert_int_equal(replay_check(r, &k, 11, NOW + 31, NOW + 300, 30, NULL), REPLAY_SEEN);
	assert_int_equal(replay_check(r, &k, 12, NOW + 1, NOW + 300, 30, NULL), REPLAY_SEEN);
	/* the last second of the window, then past it */
	assert_int_equal(replay_check(r, &k, 12, NOW + 299, NOW + 300, 30, NULL), REPLAY_SEEN);
	assert_int_equal(replay_count(r), 2);
	assert_int_equal(replay_check(r, &k, 12, NOW + 300, NOW + 600, 30, NULL), REPLAY_NEW);
	replay_free(r);
}

static void no_answer_no_retransmit(void **state)
{
	struct replay *r = replay_new(4096);
	struct replay_key k = K(1, 8);

	assert_non_null(r);
	/* an answer not yet recorded is not given again */
	assert_int_equal(replay_check(r, &k, 11, NOW, NOW + 300, 30, NULL), REPLAY_NEW);
	assert_int_equal(replay_check(r, &k, 11, NOW, NOW + 300, 30, NULL), REPLAY_SEEN);
	replay_free(r);
}

static void forget(void **state)
{
	struct replay *r = replay_new(4096);
	struct replay_key k = K(1, 9);

	assert_non_null(r);
	assert_int_equal(replay_check(r, &k, 11, NOW, NOW + 300, 30, NULL), REPLAY_NEW);
	replay_forget(r, &k);
	assert_int_equal(replay_count(r), 0);
	assert_int_equal(replay_check(r, &k, 11, NOW, NOW + 300, 30, NULL), REPLAY_NEW);
	assert_int_equal(replay_count(r), 1);
	replay_free(r);
}

/* Entries whose windows end out of order: each is kept to its own end. */
static void windows_out_of_order(void **state)
{
	struct replay *r = replay_new(4096);
	struct replay_key a = K(1, 1), b = K(1, 2);

	assert_non_null(r);
	assert_int_equal(replay_check(r, &a, 1, NOW, NOW + 600, 30, NULL), REPLAY_NEW);
	assert_int_equal(replay_check(r, &b, 1, NOW, NOW + 10, 30, NULL), REPLAY_NEW);
	/* b's window has passed but it waits behind a: it is still refused,
	 * which is harmless (its TSIG time check refuses it too) */
	assert_int_equal(replay_check(r, &b, 2, NOW + 20, NOW + 10, 30, NULL), REPLAY_SEEN);
	assert_int_equal(replay_check(r, &a, 2, NOW + 599, NOW + 600, 30, NULL), REPLAY_SEEN);
	assert_int_equal(replay_check(r, &a, 2, NOW + 600, NOW + 900, 30, NULL), REPLAY_NEW);
	assert_int_equal(replay_count(r), 1);
	replay_free(r);
}

/* The bound: 2048 entries (grown from 1024), FULL at the 2049th, room again as windows pass. */
static void full(void **state)
{
	struct replay *r = replay_new(2048);
	struct replay_key k;

	assert_non_null(r);
	for (uint32_t i = 0; i < 2048; i++) {
		k = K(3, i);
		assert_int_equal(replay_check(r, &k, 1, NOW, NOW + 300 + (i < 10 ? 0 : 100), 30, NULL),
				 REPLAY_NEW);
	}
	assert_int_equal(replay_count(r), 2048);
	/* everything seen is still found after growing */
	k = K(3, 0);
	assert_int_equal(replay_check(r, &k, 1, NOW, NOW + 300, 30, NULL), REPLAY_SEEN);
	k = K(3, 2047);
	assert_int_equal(replay_check(r, &k, 1, NOW, NOW + 300, 30, NULL), REPLAY_SEEN);
	k = K(3, 5000);
	assert_int_equal(replay_check(r, &k, 1, NOW + 299, NOW + 600, 30, NULL), REPLAY_FULL);
	/* a forgotten entry in the middle makes room (the ring is laid out again) */
	k = K(3, 1000);
	replay_forget(r, &k);
	k = K(3, 5000);
	assert_int_equal(replay_check(r, &k, 1, NOW + 299, NOW + 600, 30, NULL), REPLAY_NEW);
	k = K(3, 5001);
	assert_int_equal(replay_check(r, &k, 1, NOW + 299, NOW + 600, 30, NULL), REPLAY_FULL);
	/* the first ten windows end at NOW + 300: ten slots free */
	for (uint32_t i = 0; i < 10; i++) {
		k = K(4, i);
		assert_int_equal(replay_check(r, &k, 1, NOW + 300, NOW + 600, 30, NULL), REPLAY_NEW);
	}
	k = K(4, 10);
	assert_int_equal(replay_check(r, &k, 1, NOW + 300, NOW + 600, 30, NULL), REPLAY_FULL);
	k = K(3, 11);
	assert_int_equal(replay_check(r, &k, 1, NOW + 300, NOW + 600, 30, NULL), REPLAY_SEEN);
	replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(once_then_replay),
		cmocka_unit_test(no_answer_no_retransmit),
		cmocka_unit_test(forget),
		cmocka_unit_test(windows_out_of_order),
		cmocka_unit_test(full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
