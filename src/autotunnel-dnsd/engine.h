/*
 * The engine: the main thread of autotunnel-dnsd. It owns the store, the
 * LLQ table and every change to the zone. UDP workers hand it UPDATE and
 * LLQ messages through a locked queue; TCP and TLS connections (served on
 * this thread) hand them over directly. The engine takes everything that
 * is waiting as one batch: LLQ requests are answered at once, updates are
 * applied and committed in one transaction (group commit) and answered
 * after the commit, then the LLQ events of the batch go out.
 */
#ifndef DNSD_ENGINE_H
#define DNSD_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/query.h"

struct event_base;
struct event;
struct store;
struct llq_server;
struct streams;
struct commit;
struct fanout;
struct rate_bucket;

/** A message waiting for the engine, with where its answer goes. */
struct eitem {
	struct eitem *next;
	enum q_transport t;
	uint64_t conn;			/* stream connection id; 0 for UDP */
	int fd;				/* UDP socket the message came in on */
	uint32_t local;			/* index of that socket's local address */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t *resp;			/* an UPDATE's answer, sent after the commit */
	size_t resp_len;
	uint16_t id;			/* message id, for a SERVFAIL if the commit fails */
	uint16_t flags;
	size_t len;
	uint8_t pkt[];
};

#define ENGINE_OUT_MAX (65535 + 1024)

struct engine {
	struct dnsd *d;
	struct event_base *base;
	struct store *store;
	struct llq_server *llq;
	struct streams *streams;
	struct qscratch *qs;
	struct stats *st;
	uint8_t *out;			/* ENGINE_OUT_MAX bytes for answers */
	int udp_fd[DNSD_MAX_ADDRS];	/* a socket per local address, for events */
	int n_udp;

	pthread_mutex_t qlock;		/* guards qhead/qtail/qlen */
	struct eitem *qhead, **qtail;
	size_t qlen;
	struct eitem *pending, **ptail;	/* stream messages for the next batch */

	struct event *ev_batch;		/* run a batch (activated from any thread) */
	struct event *ev_expire;	/* next lease expiry */
	struct event *ev_llq;		/* next LLQ deadline */
	bool expire_due;
	struct commit *commit;		/* the group commit of the batch (commit.h) */
	struct eitem *done, **done_tail;	/* updates to answer after the commit */
	struct rate_bucket *rate;	/* UPDATE rate limit per client address */
	struct fanout *fanout;		/* LLQ events on their way out (fanout.h) */
};

struct engine *engine_new(struct dnsd *d, struct event_base *base, struct store *st, char *err,
			  size_t errlen);
void engine_free(struct engine *e);

/** From a UDP worker thread: queue a message (copied) for the engine. */
void engine_submit_udp(struct engine *e, const uint8_t *pkt, size_t len, const struct sockaddr *peer,
		       socklen_t peerlen, int fd, uint32_t local);

/** From the engine thread: a message from a stream connection (copied). */
void engine_submit_stream(struct engine *e, const uint8_t *pkt, size_t len, uint64_t conn,
			  enum q_transport t, const struct sockaddr *peer, socklen_t peerlen);

/** Free a message taken from the queue (and tell its connection). */
void engine_item_free(struct engine *e, struct eitem *it);

/** Send an answer or event to where @p it came from. */
void engine_reply(struct engine *e, const struct eitem *it, const uint8_t *msg, size_t len);

/** A stream connection closed: its LLQs go. */
void engine_conn_closed(struct engine *e, uint64_t conn);

/** Re-read accounts and records from the store (after `account` commands). */
int engine_reload(struct engine *e, char *err, size_t errlen);

/** Re-arm the lease expiry and LLQ timers after a change. */
void engine_rearm(struct engine *e);

/** Milliseconds since the epoch on the wall clock (leases are stored on it). */
int64_t engine_wall_ms(void);

/** Print every counter (all threads), the LLQ table and the zone size. */
void engine_print_stats(struct engine *e, FILE *fp);

/** Run every batch that waits, now (for the fuzzer: no event loop runs there). */
void engine_run_now(struct engine *e);

/** Run the lease expiry and the LLQ timers now, as their timers would (for the fuzzer). */
void engine_timers_now(struct engine *e);

/* ---- watch.c: the LLQ glue ---- */

/** An LLQ request or acknowledgement parsed in e->qs->msg. */
void watch_handle(struct engine *e, struct eitem *it);
/** Changed RRs of one (name, type): tell the LLQs that watch them. */
void watch_notify(struct engine *e, const uint8_t *lname, size_t len, uint16_t type,
		  const uint8_t *rrs, size_t rrs_len);
/** Run the LLQ timers and send what they produce. */
void watch_tick(struct engine *e);

#endif
