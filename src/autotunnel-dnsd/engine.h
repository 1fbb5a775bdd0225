/*
 * The engine: the main thread of autotunnel-dnsd. It owns the store, the
 * LLQs (watch.h) and every change to the zone (commit.h). UDP workers hand
 * it UPDATE and LLQ messages through a locked queue; TCP and TLS
 * connections (served on this thread) hand them over directly. The engine
 * takes everything that is waiting as one batch: LLQ requests are
 * answered at once, updates are decided (update.h), applied and committed
 * in one transaction (group commit) and answered after the commit, then
 * the LLQ events of the batch go out. Answers leave through the callbacks
 * the transports registered; the engine calls no transport.
 */
#ifndef DNSD_ENGINE_H
#define DNSD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "autotunnel-dnsd/transport.h"

struct dnsd;
struct engine;
struct event_base;
struct fanout;
struct stats;
struct store;

/** The engine of @p d over store @p st (both borrowed), on loop @p base. */
struct engine *engine_new(struct dnsd *d, struct event_base *base, struct store *st, char *err,
			  size_t errlen);
void engine_free(struct engine *e);

/** Where UDP answers go (@p ops and @p arg borrowed; before any message). */
void engine_set_udp_transport(struct engine *e, const struct transport_ops *ops, void *arg);
/** Where answers and events of stream connections (TCP, TLS) go. */
void engine_set_stream_transport(struct engine *e, const struct transport_ops *ops, void *arg);
/** The UDP sockets (one per local address, index = local tag) that LLQ events leave by. */
void engine_set_udp_fds(struct engine *e, const int *fds, int n);
/** The fan-out of LLQ events, which the UDP workers help to send (fanout.h). */
struct fanout *engine_fanout(struct engine *e);

/** Call @p fn after every commit that wrote to the store (the WAL grew). */
void engine_set_commit_hook(struct engine *e, void (*fn)(void *arg), void *arg);

/** From a UDP worker thread: queue a message (copied) for the engine. */
void engine_submit_udp(struct engine *e, const uint8_t *pkt, size_t len, const struct sockaddr *peer,
		       socklen_t peerlen, int fd, uint32_t local);

struct eitem;

/** Messages a UDP worker gathers from one read, queued for the engine together. */
struct engine_batch {
	struct eitem *head, **tail;	/* tail NULL: empty (zero-initialised) */
	size_t n;
};

/** From a UDP worker thread: add a message (copied) to @p b. */
void engine_batch_add_udp(struct engine *e, struct engine_batch *b, const uint8_t *pkt, size_t len,
			  const struct sockaddr *peer, socklen_t peerlen, int fd, uint32_t local);

/** From a UDP worker thread: queue the messages of @p b (then empty) for the engine. */
void engine_batch_submit(struct engine *e, struct engine_batch *b);

/** From the engine thread: a message from a stream connection (copied). */
void engine_submit_stream(struct engine *e, const uint8_t *pkt, size_t len, uint64_t conn,
			  enum q_transport t, const struct sockaddr *peer, socklen_t peerlen);

/** A stream connection closed: its LLQs and DSO session go. */
void engine_conn_closed(struct engine *e, uint64_t conn);

/** A message went through a stream connection that has a DSO session (RFC 8490 §6.3 timers). */
void engine_conn_activity(struct engine *e, uint64_t conn);

/**
 * The server is stopping: tell the DNS Push sessions when to come back
 * (push_stopping()). @return how many were told (their messages are queued
 * on their connections: let the loop run a moment before exiting).
 */
int engine_stopping(struct engine *e);

/**
 * Refuse the UPDATEs of account @p name (SERVFAIL, signed: try again
 * later) until the next engine_reload(): `account move` freezes the
 * account before it reads it out of the store, so that nothing the engine
 * commits afterwards is left behind. Every batch committed before the
 * call is in the store when it returns (the engine commits on this
 * thread). @return 0, or -ENOSPC (too many at once) with a message.
 */
int engine_freeze(struct engine *e, const char *name, char *err, size_t errlen);

/** Re-read accounts and records from the store (after `account` commands). */
int engine_reload(struct engine *e, char *err, size_t errlen);

/** Arm the lease expiry and LLQ timers (at start; the engine re-arms them itself). */
void engine_rearm(struct engine *e);

/**
 * Print every counter (the engine's plus @p others, the other threads'),
 * the LLQ table, the zone size and @p connections.
 */
void engine_print_stats(struct engine *e, FILE *fp, const struct stats *others, size_t connections);

/** Run every batch that waits, now (for the fuzzer: no event loop runs there). */
void engine_run_now(struct engine *e);

/** Run the lease expiry and the LLQ timers now, as their timers would (for the fuzzer). */
void engine_timers_now(struct engine *e);

#endif
