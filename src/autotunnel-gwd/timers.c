#include "autotunnel-gwd/timers.h"

static void start_series(struct gwd_timers *tm, uint64_t now_ms)
{
	tm->announce_sent = 0;
	tm->announce_next_ms = now_ms;
}

void gwd_timers_init(struct gwd_timers *tm, uint64_t now_ms)
{
	tm->epoch_start_ms = now_ms;
	start_series(tm, now_ms);
}

uint32_t gwd_timers_epoch(const struct gwd_timers *tm, uint64_t now_ms)
{
	uint64_t s = now_ms > tm->epoch_start_ms ? (now_ms - tm->epoch_start_ms) / 1000 : 0;

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

void gwd_timers_address_changed(struct gwd_timers *tm, uint64_t now_ms)
{
	tm->epoch_start_ms = now_ms;
	start_series(tm, now_ms);
}

bool gwd_timers_announce_due(struct gwd_timers *tm, uint64_t now_ms)
{
	if (tm->announce_next_ms == GWD_NEVER || now_ms < tm->announce_next_ms)
		return false;
	tm->announce_sent++;
	if (tm->announce_sent >= GWD_ANNOUNCE_COUNT) {
		tm->announce_next_ms = GWD_NEVER;
	} else {
		/* RFC 6886 §3.2.1: 250 ms between the first two, then doubling */
		uint64_t gap = (uint64_t)GWD_ANNOUNCE_FIRST_GAP_MS << (tm->announce_sent - 1);

		/* from the planned time, so that a late wake-up does not stretch the series */
		tm->announce_next_ms += gap;
		if (tm->announce_next_ms < now_ms)
			tm->announce_next_ms = now_ms;
	}
	return true;
}

void gwd_timers_announce_stop(struct gwd_timers *tm)
{
	tm->announce_next_ms = GWD_NEVER;
}

struct timeval gwd_timeval_until(uint64_t deadline_ms, uint64_t now_ms)
{
	uint64_t wait = deadline_ms > now_ms ? deadline_ms - now_ms : 0;

	return (struct timeval){ .tv_sec = (time_t)(wait / 1000),
				 .tv_usec = (suseconds_t)(wait % 1000) * 1000 };
}

uint64_t gwd_timers_next(const struct gwd_timers *tm, uint64_t next_expiry_ms)
{
	return tm->announce_next_ms < next_expiry_ms ? tm->announce_next_ms : next_expiry_ms;
}
