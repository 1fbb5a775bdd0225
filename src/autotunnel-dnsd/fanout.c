#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/stats.h"

#define FULL_WAIT_MS 10		/* a full socket buffer: wait this long for room ... */
#define FULL_WAITS 10		/* ... at most this many times per job */

struct fanout {
	pthread_mutex_t lock;		/* guards the queue and the pool */
	struct send_job *head, **tail;
	size_t queued;
	struct send_job *pool;
	size_t pooled;
	/* engine thread only */
	struct send_job *open[FANOUT_LOCALS];
	fanout_kick_fn kick;
	void *kick_arg;
};

struct fanout *fanout_new(void)
{
	struct fanout *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (pthread_mutex_init(&f->lock, NULL)) {
		free(f);
		return NULL;
	}
	f->tail = &f->head;
	return f;
}

static void free_list(struct send_job *job)
{
	while (job) {
		struct send_job *next = job->next;

		free(job);
		job = next;
	}
}

void fanout_free(struct fanout *f)
{
	if (!f)
		return;
	free_list(f->head);
	free_list(f->pool);
	for (int i = 0; i < FANOUT_LOCALS; i++)
		free(f->open[i]);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void fanout_set_kick(struct fanout *f, fanout_kick_fn fn, void *arg)
{
	f->kick = fn;
	f->kick_arg = arg;
}

static struct send_job *job_get(struct fanout *f, uint32_t local)
{
	struct send_job *job;

	pthread_mutex_lock(&f->lock);
	job = f->pool;
	if (job) {
		f->pool = job->next;
		f->pooled--;
	}
	pthread_mutex_unlock(&f->lock);
	/* not calloc: only the entries in use are ever written and read */
	if (!job && !(job = malloc(sizeof(*job))))
		return NULL;
	job->next = NULL;
	job->local = local;
	job->n = 0;
	job->used = 0;
	return job;
}

void fanout_release(struct fanout *f, struct send_job *job)
{
	pthread_mutex_lock(&f->lock);
	if (f->pooled < FANOUT_POOL_MAX) {
		job->next = f->pool;
		f->pool = job;
		f->pooled++;
		job = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	free(job);
}

static void queue(struct fanout *f, struct send_job *job)
{
	bool was_empty;

	if (job->n == 0) {
		fanout_release(f, job);
		return;
	}
	job->next = NULL;
	pthread_mutex_lock(&f->lock);
	was_empty = f->head == NULL;
	*f->tail = job;
	f->tail = &job->next;
	f->queued++;
	pthread_mutex_unlock(&f->lock);
	/* senders already at work will find it; idle ones need waking */
	if (was_empty && f->kick)
		f->kick(f->kick_arg);
}

int fanout_add(struct fanout *f, uint32_t local, const uint8_t *msg, size_t len,
	       const struct sockaddr *to, socklen_t tolen)
{
	struct send_job *job;
	unsigned i;

	if (local >= FANOUT_LOCALS || tolen > sizeof(union send_addr) ||
	    (to->sa_family != AF_INET && to->sa_family != AF_INET6))
		return -EINVAL;
	if (len > SEND_JOB_DATA)
		return -EMSGSIZE;
	job = f->open[local];
	if (job && (job->n == SEND_JOB_MAX || job->used + len > SEND_JOB_DATA)) {
		queue(f, job);
		job = f->open[local] = NULL;
	}
	if (!job && !(job = f->open[local] = job_get(f, local)))
		return -ENOMEM;
	i = job->n++;
	memcpy(job->data + job->used, msg, len);
	memcpy(&job->addr[i], to, tolen);
	job->iov[i].iov_base = job->data + job->used;
	job->iov[i].iov_len = len;
	memset(&job->msg[i], 0, sizeof(job->msg[i]));
	job->msg[i].msg_hdr.msg_name = &job->addr[i];
	job->msg[i].msg_hdr.msg_namelen = tolen;
	job->msg[i].msg_hdr.msg_iov = &job->iov[i];
	job->msg[i].msg_hdr.msg_iovlen = 1;
	job->used += len;
	return 0;
}

void fanout_flush(struct fanout *f)
{
	for (int i = 0; i < FANOUT_LOCALS; i++) {
		if (f->open[i]) {
			queue(f, f->open[i]);
			f->open[i] = NULL;
		}
	}
}

struct send_job *fanout_take(struct fanout *f)
{
	struct send_job *job;

	pthread_mutex_lock(&f->lock);
	job = f->head;
	if (job) {
		f->head = job->next;
		if (!f->head)
			f->tail = &f->head;
		f->queued--;
	}
	pthread_mutex_unlock(&f->lock);
	return job;
}

size_t fanout_queued(struct fanout *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->queued;
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t send_job_send(struct send_job *job, int fd, size_t *failed)
{
	unsigned sent = 0, skipped = 0, waits = 0;

	while (sent + skipped < job->n) {
		unsigned at = sent + skipped;
		int r = sendmmsg(fd, job->msg + at, job->n - at, MSG_DONTWAIT);

		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* the socket buffer is full: the device drains it soon */
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (waits++ < FULL_WAITS) {
				(void)poll(&p, 1, FULL_WAIT_MS);
				continue;
			}
			break;	/* retransmission will try again */
		}
		/* this one datagram is refused (a bad address, a firewall):
		 * sendmmsg stops at it; the rest of the job still goes */
		skipped++;
	}
	*failed += job->n - sent;
	return sent;
}

size_t fanout_run(struct fanout *f, const int *fds, size_t nfds, struct stats *st)
{
	struct send_job *job;
	size_t sent = 0, failed = 0;

	while ((job = fanout_take(f)) != NULL) {
		if (job->local < nfds)
			sent += send_job_send(job, fds[job->local], &failed);
		else
			failed += job->n;
		fanout_release(f, job);
	}
	if (failed && st)
		stat_add(st, STAT_llq_events_unsent, failed);
	return sent;
}
