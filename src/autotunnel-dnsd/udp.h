/*
 * UDP workers: each runs its own event loop on its own thread with one
 * SO_REUSEPORT socket per listening address, reads requests in batches
 * (recvmmsg), answers queries under the zone read lock (taken once per
 * batch) and writes the answers in batches (sendmmsg). UPDATE and LLQ
 * messages go to the engine; LLQ events come back from it as send jobs
 * that every worker helps to send (fanout.h).
 */
#ifndef DNSD_UDP_H
#define DNSD_UDP_H

#include <stdint.h>

#include <sys/socket.h>

struct dnsd;
struct engine;
struct worker;
struct stats;

/** Register with engine @p e as the transport of UDP answers (engine_set_udp_transport()). */
void udp_register(struct engine *e);

/**
 * Wake worker @p w to send the LLQ event jobs queued on the engine's
 * fan-out (fanout.h) from its own sockets. Any thread.
 */
void worker_kick(struct worker *w);

/** A worker over sockets @p fds (taken), whose local address tags are their indexes. */
struct worker *worker_new(struct dnsd *d, struct engine *e, const int *fds, int nfds);
/** Start the thread, pinned to CPU @p cpu when it is not negative (best effort). */
int worker_start(struct worker *w, int cpu);
/** Stop the loop and join the thread. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);
const struct stats *worker_stats(const struct worker *w);

#endif
