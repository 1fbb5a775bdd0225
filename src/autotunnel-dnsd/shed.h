/*
 * Polite load shedding of new watchers (docs/dnsd.md "Shedding load"): a
 * budget of watcher set-ups per second (LLQ set-ups and DNS Push
 * SUBSCRIBEs together, a token bucket), and the retry hint a refused one
 * is given. Past the budget, or past a watcher limit, a client is told to
 * come back after a short random delay (LLQ: SERV-FULL with that
 * LEASE-LIFE, RFC 8764 §5.2.2; Push: SERVFAIL with a Retry Delay TLV,
 * RFC 8765 §6.2.2, RFC 8490 §7.1.1) instead of being dropped, so that a
 * crowd of returning watchers (a restart) spreads itself over time rather
 * than retransmitting in step.
 *
 * The delay is drawn uniformly from [retry_min, retry_min + span], where the
 * span grows with the refusals of the last two seconds divided by the rate:
 * the time the budget needs to take everyone refused lately, at least
 * retry_min and at most retry_max. Pure: the caller gives the time and the
 * random numbers; engine thread only.
 */
#ifndef DNSD_SHED_H
#define DNSD_SHED_H

#include <stdbool.h>
#include <stdint.h>

struct shed_cfg {
	uint32_t rate;		/* set-ups per second; 0: no budget (limits still get short hints) */
	uint32_t burst;		/* tokens the bucket holds (and starts with) */
	uint32_t retry_min_ms, retry_max_ms;
};

struct shed {
	struct shed_cfg cfg;
	uint64_t tokens_milli;	/* tokens x 1000 */
	uint64_t last_ms;
	uint64_t window_ms;	/* start of the current one-second window */
	uint32_t refused_now, refused_prev;	/* refusals in this window and the one before */
	uint64_t admitted, refused;	/* counters */
};

void shed_init(struct shed *s, const struct shed_cfg *cfg, uint64_t now_ms);

/** May a new watcher be set up now? Takes a token when it may; counts a refusal when not. */
bool shed_admit(struct shed *s, uint64_t now_ms);

/**
 * The retry delay for a client refused now (by the budget, or by a limit:
 * call shed_refused() first for those), from the random number @p rnd.
 */
uint32_t shed_retry_ms(const struct shed *s, uint32_t rnd);

/** Count a refusal for a reason other than the budget (a watcher limit). */
void shed_refused(struct shed *s, uint64_t now_ms);

#endif
