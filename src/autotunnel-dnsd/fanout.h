/*
 * The LLQ event fan-out: how thousands of UDP events for one change leave
 * the server on every core.
 *
 * The engine builds the events (watch.c) and adds each datagram here; they
 * are packed into send jobs of up to SEND_JOB_MAX datagrams for one local
 * address (one sendmmsg call each), and every full job goes on one queue
 * shared by all senders. A job queued on an empty queue wakes the UDP
 * workers (the kick callback); a worker takes jobs and sends them from its
 * own socket (SO_REUSEPORT: same address and port) until the queue is
 * empty. When the engine has built the last event it queues the partial
 * jobs and takes jobs too. Nobody owns a share: a thread the scheduler is
 * slow to run leaves the work to the others instead of holding it back.
 *
 * Jobs are recycled through a small pool, so a fan-out allocates nothing
 * per event and little per job.
 */
#ifndef DNSD_FANOUT_H
#define DNSD_FANOUT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct stats;

#define SEND_JOB_MAX 128			/* datagrams per job: one sendmmsg */
#define SEND_JOB_DATA (SEND_JOB_MAX * 512)	/* bytes of datagrams per job */
#define FANOUT_LOCALS 8				/* local addresses (DNSD_MAX_ADDRS) */
#define FANOUT_POOL_MAX 32			/* empty jobs kept for reuse */

union send_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/** Datagrams to send from one local address, ready for sendmmsg. */
struct send_job {
	struct send_job *next;
	uint32_t local;			/* index of the local address (socket) */
	unsigned n;
	size_t used;			/* bytes of data[] in use */
	struct mmsghdr msg[SEND_JOB_MAX];
	struct iovec iov[SEND_JOB_MAX];
	union send_addr addr[SEND_JOB_MAX];
	uint8_t data[SEND_JOB_DATA];
};

struct fanout;

/** Called (from the engine thread) when work arrives on an empty queue. */
typedef void (*fanout_kick_fn)(void *arg);

struct fanout *fanout_new(void);
/** Free the fan-out and every job in it (no other thread may use it). */
void fanout_free(struct fanout *f);
/** Set the callback that wakes the other senders (before any event). */
void fanout_set_kick(struct fanout *f, fanout_kick_fn fn, void *arg);

/**
 * Engine thread: add one datagram of @p len bytes for @p to, to leave by
 * local address @p local. A job that fills up is queued at once.
 * @return 0, -EMSGSIZE (longer than a job holds), -EINVAL (bad local
 * index or address) or -ENOMEM.
 */
int fanout_add(struct fanout *f, uint32_t local, const uint8_t *msg, size_t len,
	       const struct sockaddr *to, socklen_t tolen) __attribute__((warn_unused_result));

/** Engine thread: queue the jobs still being filled. */
void fanout_flush(struct fanout *f);

/**
 * Any thread: take queued jobs and send each on @p fds[job->local] until
 * the queue is empty (a job for a local index >= @p nfds is dropped).
 * Datagrams that could not be sent are counted as llq_events_unsent in
 * @p st (may be NULL). @return the datagrams sent.
 */
size_t fanout_run(struct fanout *f, const int *fds, size_t nfds, struct stats *st);

/** Jobs waiting on the queue (any thread; for tests and stats). */
size_t fanout_queued(struct fanout *f);

/**
 * Send every datagram of @p job on @p fd with sendmmsg. A full socket
 * buffer is waited for (briefly, bounded); a datagram the kernel refuses
 * is skipped, not the rest of the job. @return datagrams sent; the others
 * are added to *@p failed.
 */
size_t send_job_send(struct send_job *job, int fd, size_t *failed);

/* For tests: take one queued job (NULL when none) and give it back. */
struct send_job *fanout_take(struct fanout *f);
void fanout_release(struct fanout *f, struct send_job *job);

#endif
