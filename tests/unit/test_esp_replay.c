/*
 * lib/esp/replay: every bound of the anti-replay window (first packet,
 * window edge, one past it, duplicates, very old, big jumps, reordering)
 * and the reconstruction of extended sequence numbers (RFC 4303 A2.2).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "esp/replay.h"

#define W ESP_REPLAY_WINDOW

static void first_packet(void **state)
{
	struct esp_replay r;

	esp_replay_init(&r);
	assert_int_equal(esp_replay_check(&r, 0), -ESTALE);	/* 0 is never sent */
	assert_int_equal(esp_replay_update(&r, 0), -ESTALE);
	assert_int_equal(esp_replay_check(&r, 1), 0);
	assert_int_equal(esp_replay_update(&r, 1), 0);
	assert_int_equal(r.top, 1);
	assert_int_equal(esp_replay_update(&r, 1), -EALREADY);
	/* a first packet far ahead (packets lost) is fine, the gap stays open */
	esp_replay_init(&r);
	assert_int_equal(esp_replay_update(&r, 5000), 0);
	assert_int_equal(esp_replay_update(&r, 5000 - W + 1), 0);
	assert_int_equal(esp_replay_update(&r, 5000 - W), -ESTALE);
}

static void window_edges(void **state)
{
	const uint64_t top = 100000;
	struct esp_replay r;

	assert_true(W >= 1024);
	esp_replay_init(&r);
	assert_int_equal(esp_replay_update(&r, top), 0);
	/* the oldest number inside the window, and the first one outside */
	assert_int_equal(esp_replay_check(&r, top - W + 1), 0);
	assert_int_equal(esp_replay_check(&r, top - W), -ESTALE);
	assert_int_equal(esp_replay_update(&r, top - W + 1), 0);
	assert_int_equal(esp_replay_update(&r, top - W + 1), -EALREADY);
	/* one past the top moves the window by one: the edge packet falls out */
	assert_int_equal(esp_replay_update(&r, top + 1), 0);
	assert_int_equal(r.top, top + 1);
	assert_int_equal(esp_replay_check(&r, top - W + 1), -ESTALE);
	assert_int_equal(esp_replay_check(&r, top - W + 2), 0);
	assert_int_equal(esp_replay_update(&r, top), -EALREADY);
	assert_int_equal(esp_replay_update(&r, top + 1), -EALREADY);
	/* very old */
	assert_int_equal(esp_replay_check(&r, 1), -ESTALE);
	assert_int_equal(esp_replay_check(&r, top - 10 * W), -ESTALE);
	/* an error changes nothing */
	assert_int_equal(r.top, top + 1);
}

static void every_slot_of_the_ring(void **state)
{
	struct esp_replay r;

	/* slide through several whole rings one packet at a time, each number once */
	esp_replay_init(&r);
	for (uint64_t s = 1; s <= 5 * 64 * ESP_REPLAY_WORDS; s++) {
		assert_int_equal(esp_replay_update(&r, s), 0);
		assert_int_equal(esp_replay_check(&r, s), -EALREADY);
		if (s > W) {
			assert_int_equal(esp_replay_check(&r, s - W + 1), -EALREADY);
			assert_int_equal(esp_replay_check(&r, s - W), -ESTALE);
		}
	}
}

static void jumps_clear_old_bits(void **state)
{
	struct esp_replay r;

	esp_replay_init(&r);
	for (uint64_t s = 1; s <= 200; s++)
		assert_int_equal(esp_replay_update(&r, s), 0);
	/* a jump of exactly one ring: every slot is reused, none may look seen */
	assert_int_equal(esp_replay_update(&r, 200 + 64 * ESP_REPLAY_WORDS), 0);
	for (uint64_t s = 200 + 64 * ESP_REPLAY_WORDS - W + 1; s < 200 + 64 * ESP_REPLAY_WORDS; s++)
		assert_int_equal(esp_replay_check(&r, s), 0);
	/* a jump of many rings */
	assert_int_equal(esp_replay_update(&r, UINT64_C(1) << 40), 0);
	assert_int_equal(esp_replay_check(&r, (UINT64_C(1) << 40) - 1), 0);
	assert_int_equal(esp_replay_check(&r, (UINT64_C(1) << 40) - W), -ESTALE);
	/* a jump of less than a word */
	assert_int_equal(esp_replay_update(&r, (UINT64_C(1) << 40) + 3), 0);
	assert_int_equal(esp_replay_check(&r, (UINT64_C(1) << 40)), -EALREADY);
	assert_int_equal(esp_replay_check(&r, (UINT64_C(1) << 40) + 1), 0);
}

/* Two cores seal interleaved halves of the sequence space; the receiver gets them shuffled. */
static void multicore_reordering(void **state)
{
	enum { N = 3000 };
	static uint64_t order[N];
	struct esp_replay r;
	uint32_t x = 12345;

	for (uint64_t i = 0; i < N; i++)
		order[i] = i + 1;
	/* shuffle within windows of 1000: more than any batch two workers reorder */
	for (size_t base = 0; base < N; base += 1000)
		for (size_t i = 999; i > 0; i--) {
			size_t j;
			uint64_t t;

			x = x * 1103515245u + 12345u;
			j = (x >> 8) % (i + 1);
			t = order[base + i];
			order[base + i] = order[base + j];
			order[base + j] = t;
		}
	esp_replay_init(&r);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(esp_replay_update(&r, order[i]), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(esp_replay_update(&r, order[i]), order[i] + W <= N ? -ESTALE : -EALREADY);
}

static void esn_inference(void **state)
{
	struct esp_replay r;
	uint64_t s;

	esp_replay_init(&r);
	/* nothing seen: low numbers are block 0, the top of the space would be block -1 */
	assert_int_equal(esp_replay_infer(&r, 1, &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(esp_replay_infer(&r, 0xffffffff, &s), -ESTALE);

	/* window inside one block (case A): below the window means the next block */
	r.top = (UINT64_C(3) << 32) | 0xfffff000;
	assert_int_equal(esp_replay_infer(&r, 0xfffff800, &s), 0);
	assert_int_equal(s, (UINT64_C(3) << 32) | 0xfffff800);
	assert_int_equal(esp_replay_infer(&r, 0xfffff000 - (W - 1), &s), 0);
	assert_int_equal(s >> 32, 3);
	assert_int_equal(esp_replay_infer(&r, 0xfffff000 - W, &s), 0);
	assert_int_equal(s >> 32, 4);
	assert_int_equal(esp_replay_infer(&r, 5, &s), 0);
	assert_int_equal(s, (UINT64_C(4) << 32) | 5);

	/* window straddling a block boundary (case B) */
	r.top = (UINT64_C(4) << 32) | 10;
	assert_int_equal(esp_replay_infer(&r, 0xfffffff0, &s), 0);
	assert_int_equal(s, (UINT64_C(3) << 32) | 0xfffffff0);
	assert_int_equal(esp_replay_infer(&r, 11, &s), 0);
	assert_int_equal(s, (UINT64_C(4) << 32) | 11);
	assert_int_equal(esp_replay_infer(&r, 10 - (W - 1), &s), 0);
	assert_int_equal(s >> 32, 3);
	assert_int_equal(esp_replay_infer(&r, (uint32_t)(10 - W), &s), 0);
	assert_int_equal(s >> 32, 4);

	/* the last block: nothing beyond 2^64 - 1 */
	r.top = UINT64_MAX - 10;
	assert_int_equal(esp_replay_infer(&r, 0xfffffffe, &s), 0);
	assert_int_equal(s, UINT64_MAX - 1);
	assert_int_equal(esp_replay_infer(&r, 3, &s), -ESTALE);

	/* across the boundary, end to end: 2^32 - 2, 2^32 - 1, 2^32, 2^32 + 1 */
	esp_replay_init(&r);
	assert_int_equal(esp_replay_update(&r, UINT32_MAX - 1), 0);
	for (uint64_t want = UINT32_MAX; want <= (uint64_t)UINT32_MAX + 2; want++) {
		assert_int_equal(esp_replay_infer(&r, (uint32_t)want, &s), 0);
		assert_int_equal(s, want);
		assert_int_equal(esp_replay_update(&r, s), 0);
	}
	assert_int_equal(esp_replay_infer(&r, UINT32_MAX - 1, &s), 0);
	assert_int_equal(esp_replay_update(&r, s), -EALREADY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_packet),
		cmocka_unit_test(window_edges),
		cmocka_unit_test(every_slot_of_the_ring),
		cmocka_unit_test(jumps_clear_old_bits),
		cmocka_unit_test(multicore_reordering),
		cmocka_unit_test(esn_inference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
