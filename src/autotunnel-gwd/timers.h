/*
 * All timing policy of the gateway in one place, driven by a caller's
 * monotonic "now" (milliseconds) so the rules are tested with a fake clock:
 *
 *  - the epoch (RFC 6886 §3.6, RFC 6887 §8.5): seconds since the mapping
 *    state began; it restarts with the daemon (soft state, RFC 6281 §4.2)
 *    and when the external address changes;
 *  - the announcement series (RFC 6886 §3.2.1, RFC 6887 §14.1.3): 10
 *    sends, the first at once, then 250 ms apart, the gap doubling;
 *  - the next wake-up: the earlier of the next announcement and the next
 *    mapping expiry.
 */
#ifndef AT_GWD_TIMERS_H
#define AT_GWD_TIMERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#define GWD_ANNOUNCE_COUNT 10
#define GWD_ANNOUNCE_FIRST_GAP_MS 250
#define GWD_NEVER UINT64_MAX

struct gwd_timers {
	uint64_t epoch_start_ms;
	unsigned int announce_sent;	/* of the current series */
	uint64_t announce_next_ms;	/* GWD_NEVER when no series runs */
};

/* The state begins at @p now_ms: epoch 0, and an announcement series starts. */
void gwd_timers_init(struct gwd_timers *tm, uint64_t now_ms);

/* Seconds since the start of the epoch. */
uint32_t gwd_timers_epoch(const struct gwd_timers *tm, uint64_t now_ms);

/*
 * The external address changed (or was acquired): the epoch restarts, so
 * that PCP clients, whose ANNOUNCE carries no address, ask again, and a
 * new announcement series begins (RFC 6886 §3.2.1).
 */
void gwd_timers_address_changed(struct gwd_timers *tm, uint64_t now_ms);

/*
 * true if an announcement is due at @p now_ms; the caller sends one and
 * the series moves on to the next. After a late wake-up the next one is
 * due at once, never a burst of the missed ones in a single call.
 */
bool gwd_timers_announce_due(struct gwd_timers *tm, uint64_t now_ms);

/* End the current announcement series (there is no external address to announce). */
void gwd_timers_announce_stop(struct gwd_timers *tm);

/* The next time anything is due: announcements or @p next_expiry_ms. */
uint64_t gwd_timers_next(const struct gwd_timers *tm, uint64_t next_expiry_ms);

/* The wait from @p now_ms until @p deadline_ms (none if it has passed), as libevent takes a timeout. */
struct timeval gwd_timeval_until(uint64_t deadline_ms, uint64_t now_ms);

#endif
