/*
 * Counters of autotunnel-dnsd: every answer by outcome and every refusal
 * by reason. Each thread owns one struct stats (no sharing on the hot
 * path); `autotunnel-dnsd stats` sums them over the control socket.
 */
#ifndef DNSD_STATS_H
#define DNSD_STATS_H

#include <stdint.h>
#include <stdio.h>

#define STATS_LIST(X)							\
	X(queries)		X(queries_udp)		X(queries_tcp)	\
	X(queries_tls)		X(queries_signed)			\
	X(answer_noerror)	X(answer_nodata)	X(answer_nxdomain) \
	X(answer_truncated)	X(answer_synthesised)			\
	X(formerr)		X(notimp)		X(servfail)	\
	X(badvers)		X(dropped_response)			\
	X(refused_out_of_zone)	X(refused_class)	X(refused_transfer) X(refused_too_big) \
	X(refused_private_unsigned)	X(refused_private_wrong_key)	\
	X(notauth_badkey)	X(notauth_badsig)	X(notauth_badtime) \
	X(notauth_badtrunc)						\
	X(updates)		X(updates_ok)		X(updates_refresh) \
	X(update_refused_unsigned)	X(update_refused_outside_account) \
	X(update_refused_synthesised)	X(update_refused_type)	\
	X(update_refused_prereq_outside)	X(update_refused_no_lease) \
	X(update_refused_rate)						\
	X(update_refused_quota)	X(update_refused_replay)		\
	X(update_refused_replay_full)	X(update_retransmit)		\
	X(update_notauth_zone)	X(update_notzone)	X(update_prereq_failed) \
	X(update_formerr)	X(update_servfail)			\
	X(records_added)	X(records_deleted)	X(records_expired) \
	X(commits)		X(commit_failed)			\
	X(llq_requests)		X(llq_refused_unsigned)	X(llq_refused_wrong_key) \
	X(llq_refused_out_of_zone)	X(llq_events_sent)	X(llq_events_unsent) \
	X(tcp_accepted)		X(tls_accepted)		X(tls_failed)	\
	X(tcp_refused_limit)	X(tcp_bad_frame)				\
	X(referral_moved)	X(update_notauth_moved)	X(update_servfail_moving)

enum stat_id {
#define STAT_ENUM(n) STAT_##n,
	STATS_LIST(STAT_ENUM)
#undef STAT_ENUM
	STAT_COUNT
};

struct stats {
	uint64_t c[STAT_COUNT];
} __attribute__((aligned(64)));

static inline void stat_inc(struct stats *s, enum stat_id id)
{
	__atomic_fetch_add(&s->c[id], 1, __ATOMIC_RELAXED);
}

static inline void stat_add(struct stats *s, enum stat_id id, uint64_t n)
{
	__atomic_fetch_add(&s->c[id], n, __ATOMIC_RELAXED);
}

/** Name of a counter. */
const char *stat_name(enum stat_id id);

/** Add @p src (read atomically) into @p sum. */
void stats_sum(struct stats *sum, const struct stats *src);

/** Print "name value" lines. */
void stats_print(const struct stats *s, FILE *fp);

#endif
