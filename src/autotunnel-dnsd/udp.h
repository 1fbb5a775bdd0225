/*
 * UDP workers: each runs its own event loop on its own thread with one
 * SO_REUSEPORT socket per listening address, reads requests in batches
 * (recvmmsg), answers queries under the zone read lock (taken once per
 * batch) and writes the answers in batches (sendmmsg). UPDATE and LLQ
 * messages go to the engine.
 */
#ifndef DNSD_UDP_H
#define DNSD_UDP_H

#include <stdint.h>

#include <sys/socket.h>

struct dnsd;
struct engine;
struct worker;
struct stats;

/*
 * A batch of datagrams the engine built (LLQ events) for a worker to send
 * from its own socket on local address @p local: thousands of events for
 * one change go out on every core at once.
 */
#define SEND_JOB_MAX 128
#define SEND_JOB_DATA 65536

struct send_job {
	struct send_job *next;
	uint32_t local;
	unsigned n;
	size_t used;
	struct sockaddr_storage addr[SEND_JOB_MAX];
	socklen_t addrlen[SEND_JOB_MAX];
	uint32_t off[SEND_JOB_MAX], len[SEND_JOB_MAX];
	uint8_t data[SEND_JOB_DATA];
};

/** Hand @p job (taken; freed after sending) to worker @p w. Any thread. */
void worker_send(struct worker *w, struct send_job *job);

/** Send a job from the calling thread on @p fd and free it. */
void send_job_run(struct send_job *job, int fd);

/** A worker over sockets @p fds (taken), whose local address tags are their indexes. */
struct worker *worker_new(struct dnsd *d, struct engine *e, const int *fds, int nfds);
int worker_start(struct worker *w);
/** Stop the loop and join the thread. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);
const struct stats *worker_stats(const struct worker *w);

#endif
