/* lib/esp/replay.c: a sliding window over 64-bit sequence numbers. */
#include "esp/replay.h"

#include <errno.h>
#include <string.h>

#define RING_MASK (ESP_REPLAY_WORDS - 1)

_Static_assert((ESP_REPLAY_WORDS & RING_MASK) == 0, "ring size is a power of two");
_Static_assert(ESP_REPLAY_WINDOW >= 1024, "RFC 4303 and our brief: at least 1024 packets");

void esp_replay_init(struct esp_replay *r)
{
	memset(r, 0, sizeof(*r));
}

int esp_replay_check(const struct esp_replay *r, uint64_t seq)
{
	if (seq == 0)
		return -ESTALE;		/* RFC 4303 §3.3.3: the first packet is 1 */
	if (seq > r->top)
		return 0;
	if (r->top - seq >= ESP_REPLAY_WINDOW)
		return -ESTALE;
	if (r->bits[(seq >> 6) & RING_MASK] & (UINT64_C(1) << (seq & 63)))
		return -EALREADY;
	return 0;
}

int esp_replay_update(struct esp_replay *r, uint64_t seq)
{
	int err = esp_replay_check(r, seq);

	if (err)
		return err;
	if (seq > r->top) {
		uint64_t cur = r->top >> 6, next = seq >> 6;
		uint64_t n = next - cur > ESP_REPLAY_WORDS ? ESP_REPLAY_WORDS : next - cur;

		/* the words the top moves into held bits of numbers a whole ring ago */
		for (uint64_t i = 1; i <= n; i++)
			r->bits[(cur + i) & RING_MASK] = 0;
		r->top = seq;
	}
	r->bits[(seq >> 6) & RING_MASK] |= UINT64_C(1) << (seq & 63);
	return 0;
}

int esp_replay_infer(const struct esp_replay *r, uint32_t seql, uint64_t *seq)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bottom = tl - (ESP_REPLAY_WINDOW - 1);	/* modulo 2^32 */
	uint64_t hi;

	*seq = 0;
	if (tl >= ESP_REPLAY_WINDOW - 1) {
		/* the window lies within one 2^32 block: below it means the next block */
		if (seql >= bottom)
			hi = th;
		else if (th == UINT32_MAX)
			return -ESTALE;
		else
			hi = (uint64_t)th + 1;
	} else {
		/* the window straddles a block boundary: high seql is the previous block */
		if (seql >= bottom) {
			if (th == 0)
				return -ESTALE;
			hi = (uint64_t)th - 1;
		} else {
			hi = th;
		}
	}
	*seq = hi << 32 | seql;
	return 0;
}
