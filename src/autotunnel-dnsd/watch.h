/*
 * The LLQ glue (RFC 8764 as RFC 6281 §5.3 uses it), owned by the engine:
 * lib/llq's state machine, the answers to LLQ requests and
 * acknowledgements, and the events of committed changes, signed with the
 * account's key when the LLQ is private and sent on every core through the
 * fan-out (fanout.h). Answers and events over streams go out through the
 * callbacks given at creation. Engine thread only.
 */
#ifndef DNSD_WATCH_H
#define DNSD_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "autotunnel-dnsd/transport.h"

struct dnsd;
struct fanout;
struct qscratch;
struct stats;
struct watch;

/**
 * The LLQs of @p d, counting into @p st, sending UDP events through @p f
 * and everything else through @p ops (all borrowed). NULL when out of memory.
 */
struct watch *watch_new(struct dnsd *d, struct stats *st, struct fanout *f,
			const struct transport_ops *ops, void *arg);
void watch_free(struct watch *w);

/** The UDP sockets (one per local address) that events leave by. */
void watch_set_udp_fds(struct watch *w, const int *fds, int n);

/** An LLQ request or acknowledgement parsed in @p s->msg, from @p src. */
void watch_handle(struct watch *w, struct qscratch *s, const struct transport_src *src);

/** Changed RRs of one (name, type), committed: tell the LLQs that watch them. */
void watch_notify(struct watch *w, const uint8_t *lname, size_t len, uint16_t type,
		  const uint8_t *rrs, size_t rrs_len);

/** Run the LLQ timers and send what they produce. */
void watch_tick(struct watch *w);

/** The next LLQ deadline (monotonic ms), or UINT64_MAX. */
uint64_t watch_next_deadline(const struct watch *w);

/** Stream connection @p conn closed: its LLQs go. */
void watch_conn_closed(struct watch *w, uint64_t conn);

/** Print the LLQ counters. */
void watch_print_stats(const struct watch *w, FILE *fp);

#endif
