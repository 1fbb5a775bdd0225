#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/udp.h"

#define BATCH 64
#define RBUF 4096	/* larger requests are truncated and answered FORMERR */
#define OBUF 2048	/* 1232 bytes of answer plus a TSIG record */
#define ROUNDS 16	/* batches per readiness event, then others get a turn */

struct sock {
	struct worker *w;
	int fd;
	uint32_t local;
	struct event *ev;
};

struct worker {
	struct dnsd *d;
	struct engine *e;
	struct fanout *fanout;		/* the engine's (engine_fanout()) */
	struct event *ev_jobs;		/* LLQ events to send (worker_kick) */
	struct sock socks[DNSD_MAX_ADDRS];
	int fds[DNSD_MAX_ADDRS];
	int nsocks;
	struct event_base *base;
	pthread_t thread;
	bool started;
	struct stats st;
	struct qscratch *qs;
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov_in[BATCH], iov_out[BATCH];
	struct sockaddr_storage addr[BATCH];
	uint8_t (*rbuf)[RBUF];
	uint8_t (*obuf)[OBUF];
};

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sock *so = arg;
	struct worker *w = so->w;
	struct dnsd *d = w->d;

	for (int round = 0; round < ROUNDS; round++) {
		struct engine_batch eb = { 0 };
		int n, nout = 0, sent = 0;

		for (int i = 0; i < BATCH; i++) {
			w->iov_in[i].iov_base = w->rbuf[i];
			w->iov_in[i].iov_len = RBUF;
			memset(&w->in[i].msg_hdr, 0, sizeof(w->in[i].msg_hdr));
			w->in[i].msg_hdr.msg_name = &w->addr[i];
			w->in[i].msg_hdr.msg_namelen = sizeof(w->addr[i]);
			w->in[i].msg_hdr.msg_iov = &w->iov_in[i];
			w->in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, w->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		pthread_rwlock_rdlock(&d->lock);
		for (int i = 0; i < n; i++) {
			size_t len = w->in[i].msg_len, olen = 0;

			switch (query_process(d, w->qs, &w->st, w->rbuf[i], len, Q_UDP, w->obuf[nout], OBUF,
					      &olen)) {
			case Q_REPLY:
				w->iov_out[nout].iov_base = w->obuf[nout];
				w->iov_out[nout].iov_len = olen;
				memset(&w->out[nout].msg_hdr, 0, sizeof(w->out[nout].msg_hdr));
				w->out[nout].msg_hdr.msg_name = &w->addr[i];
				w->out[nout].msg_hdr.msg_namelen = w->in[i].msg_hdr.msg_namelen;
				w->out[nout].msg_hdr.msg_iov = &w->iov_out[nout];
				w->out[nout].msg_hdr.msg_iovlen = 1;
				nout++;
				break;
			case Q_ENGINE:
				engine_batch_add_udp(w->e, &eb, w->rbuf[i], len, (struct sockaddr *)&w->addr[i],
						     w->in[i].msg_hdr.msg_namelen, fd, so->local);
				break;
			case Q_DROP:
				break;
			}
		}
		pthread_rwlock_unlock(&d->lock);
		engine_batch_submit(w->e, &eb);
		while (sent < nout) {
			int r = sendmmsg(fd, w->out + sent, (unsigned)(nout - sent), MSG_DONTWAIT);

			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break;	/* a full socket buffer drops answers, as UDP may */
			}
			sent += r;
		}
		if (n < BATCH)
			return;
	}
}

/* The engine's way back for UDP answers (transport.h): the socket the request came in on. */
static void udp_reply(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len)
{
	(void)sendto(src->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&src->peer, src->peerlen);
}

static const struct transport_ops udp_ops = { .reply = udp_reply };

void udp_register(struct engine *e)
{
	engine_set_udp_transport(e, &udp_ops, NULL);
}

void worker_kick(struct worker *w)
{
	event_active(w->ev_jobs, EV_READ, 0);
}

static void on_jobs(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fanout_run(w->fanout, w->fds, (size_t)w->nsocks, &w->st);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

struct worker *worker_new(struct dnsd *d, struct engine *e, const int *fds, int nfds)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->d = d;
	w->e = e;
	w->fanout = engine_fanout(e);
	w->base = event_base_new();
	w->qs = calloc(1, sizeof(*w->qs));
	w->rbuf = malloc(sizeof(*w->rbuf) * BATCH);
	w->obuf = malloc(sizeof(*w->obuf) * BATCH);
	if (!w->base || !w->qs || !w->rbuf || !w->obuf)
		goto fail;
	w->ev_jobs = event_new(w->base, -1, 0, on_jobs, w);
	if (!w->ev_jobs)
		goto fail;
	for (int i = 0; i < nfds && i < DNSD_MAX_ADDRS; i++) {
		struct sock *so = &w->socks[i];

		so->w = w;
		so->fd = fds[i];
		so->local = (uint32_t)i;
		w->fds[i] = fds[i];
		so->ev = event_new(w->base, fds[i], EV_READ | EV_PERSIST, on_readable, so);
		if (!so->ev || event_add(so->ev, NULL))
			goto fail;
		w->nsocks++;
	}
	return w;
fail:
	worker_free(w);
	return NULL;
}

int worker_start(struct worker *w, int cpu)
{
	int rc = pthread_create(&w->thread, NULL, run, w);

	if (rc)
		return -rc;
	w->started = true;
	if (cpu >= 0 && cpu < CPU_SETSIZE) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		rc = pthread_setaffinity_np(w->thread, sizeof(set), &set);
		if (rc)
			log_debug("UDP worker: cannot pin to CPU %d: %s", cpu, strerror(rc));
	}
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w || !w->started)
		return;
	event_base_loopbreak(w->base);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_stop(w);
	for (int i = 0; i < w->nsocks; i++) {
		event_free(w->socks[i].ev);
		close(w->socks[i].fd);
	}
	if (w->ev_jobs)
		event_free(w->ev_jobs);
	if (w->base)
		event_base_free(w->base);
	free(w->rbuf);
	free(w->obuf);
	free(w->qs);
	free(w);
}

const struct stats *worker_stats(const struct worker *w)
{
	return &w->st;
}
