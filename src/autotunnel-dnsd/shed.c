/* Polite load shedding of new watchers: see shed.h. */
#include <string.h>

#include "autotunnel-dnsd/shed.h"

void shed_init(struct shed *s, const struct shed_cfg *cfg, uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (s->cfg.burst == 0)
		s->cfg.burst = s->cfg.rate;
	if (s->cfg.retry_max_ms < s->cfg.retry_min_ms)
		s->cfg.retry_max_ms = s->cfg.retry_min_ms;
	/* a server that starts has its burst: the first watchers back come in at once */
	s->tokens_milli = (uint64_t)s->cfg.burst * 1000;
	s->last_ms = now_ms;
	s->window_ms = now_ms;
}

/* Move the refusal windows to @p now_ms. */
static void roll(struct shed *s, uint64_t now_ms)
{
	if (now_ms < s->window_ms + 1000)
		return;
	s->refused_prev = now_ms < s->window_ms + 2000 ? s->refused_now : 0;
	s->refused_now = 0;
	s->window_ms = now_ms;
}

void shed_refused(struct shed *s, uint64_t now_ms)
{
	roll(s, now_ms);
	s->refused_now++;
	s->refused++;
}

bool shed_admit(struct shed *s, uint64_t now_ms)
{
	uint64_t cap;

	if (s->cfg.rate == 0) {
		s->admitted++;
		return true;
	}
	cap = (uint64_t)s->cfg.burst * 1000;
	if (now_ms > s->last_ms) {
		/* rate tokens a second: rate milli-tokens a millisecond */
		uint64_t add = (now_ms - s->last_ms) * s->cfg.rate;

		s->tokens_milli = add >= cap || s->tokens_milli + add >= cap ? cap : s->tokens_milli + add;
		s->last_ms = now_ms;
	}
	if (s->tokens_milli >= 1000) {
		s->tokens_milli -= 1000;
		s->admitted++;
		return true;
	}
	shed_refused(s, now_ms);
	return false;
}

uint32_t shed_retry_ms(const struct shed *s, uint32_t rnd)
{
	uint64_t recent = (uint64_t)s->refused_now + s->refused_prev, span;

	/* the time the budget needs to take everyone refused lately */
	span = s->cfg.rate ? recent * 1000 / s->cfg.rate : 0;
	if (span < s->cfg.retry_min_ms)
		span = s->cfg.retry_min_ms;
	if (span > (uint64_t)s->cfg.retry_max_ms - s->cfg.retry_min_ms)
		span = (uint64_t)s->cfg.retry_max_ms - s->cfg.retry_min_ms;
	return s->cfg.retry_min_ms + (uint32_t)(span ? rnd % (span + 1) : 0);
}
