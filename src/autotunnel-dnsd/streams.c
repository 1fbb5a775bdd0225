#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/streams.h"

#define BUCKETS 4096
#define MSGS_PER_READ 64
#define OUTPUT_MAX (4u << 20)	/* a client that reads nothing is dropped */
#define ANSWER_MAX (65535 + 1024)

struct conn {
	struct conn *next;
	struct streams *s;
	uint64_t id;
	struct bufferevent *bev;
	enum q_transport t;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	unsigned inflight;	/* messages the engine still holds */
	unsigned msgs;
	bool llq;
	bool eof;
};

struct streams {
	struct dnsd *d;
	struct engine *e;
	struct event_base *base;
	SSL_CTX *tls;
	struct evconnlistener *lst[2 * DNSD_MAX_ADDRS];
	int n_lst;
	struct conn *tab[BUCKETS];
	size_t count;
	uint64_t next_id;
	struct qscratch *qs;		/* for the queries answered here */
	uint8_t *out;			/* ANSWER_MAX bytes */
	uint8_t msg[65535];
};

static struct conn *find(const struct streams *s, uint64_t id)
{
	for (struct conn *c = s->tab[id % BUCKETS]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_close(struct conn *c)
{
	struct streams *s = c->s;
	struct conn **pp;

	if (c->t == Q_TLS && c->msgs == 0)
		stat_inc(&s->d->engine_stats, STAT_tls_failed);
	for (pp = &s->tab[c->id % BUCKETS]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->count--;
	if (c->llq)	/* only a connection that carried an LLQ has any to drop */
		engine_conn_closed(s->e, c->id);
	if (c->t == Q_TLS) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* no close_notify wait: the peer may be gone */
		if (ssl)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
	}
	bufferevent_free(c->bev);
	free(c);
}

/* A half-closed connection ends once the engine has answered everything. */
static void maybe_finish(struct conn *c)
{
	if (c->eof && c->inflight == 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c);
}

static void write_frame(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (len > 65535)
		return;
	evbuffer_add(out, hdr, 2);
	evbuffer_add(out, msg, len);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct streams *s = c->s;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct stats *st = &s->d->engine_stats;

	for (int n = 0; n < MSGS_PER_READ; n++) {
		uint8_t hdr[2];
		size_t len, olen;

		if (evbuffer_copyout(in, hdr, 2) != 2)
			return;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len < 12) {
			/* RFC 7766 §8: framing is lost; nothing else can be read */
			stat_inc(st, STAT_tcp_bad_frame);
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, s->msg, len);
		c->msgs++;
		if (c->llq)	/* RFC 8490 §6.3: any message resets the DSO session's timers */
			engine_conn_activity(s->e, c->id);
		switch (query_process(s->d, s->qs, st, s->msg, len, c->t, s->out, ANSWER_MAX, &olen)) {
		case Q_REPLY:
			write_frame(c, s->out, olen);
			break;
		case Q_ENGINE:
			c->inflight++;
			engine_submit_stream(s->e, s->msg, len, c->id, c->t, (struct sockaddr *)&c->peer,
					     c->peerlen);
			break;
		case Q_DROP:
			break;
		}
	}
	/* more may be waiting: come back after other connections had a turn */
	if (evbuffer_get_length(in) >= 2)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	maybe_finish(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		if (c->llq)
			c->inflight = 0;	/* a client that hangs up wants no more events */
		maybe_finish(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct streams *s = arg;
	struct conn *c;
	int one = 1;

	if (s->count >= (size_t)s->d->cfg->tcp_max) {
		stat_inc(&s->d->engine_stats, STAT_tcp_refused_limit);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->s = s;
	c->id = ++s->next_id;
	c->peerlen = (socklen_t)(salen < (int)sizeof(c->peer) ? salen : (int)sizeof(c->peer));
	memcpy(&c->peer, sa, c->peerlen);
	c->t = Q_TCP;
	for (int i = 0; i < s->n_lst; i++)
		if (s->lst[i] == l && (i & 1))
			c->t = Q_TLS;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->t == Q_TLS) {
		SSL *ssl = SSL_new(s->tls);

		c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							       BEV_OPT_CLOSE_ON_FREE) : NULL;
		stat_inc(&s->d->engine_stats, STAT_tls_accepted);
	} else {
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
		stat_inc(&s->d->engine_stats, STAT_tcp_accepted);
	}
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->tab[c->id % BUCKETS];
	s->tab[c->id % BUCKETS] = c;
	s->count++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	{
		struct timeval tv = { .tv_sec = s->d->cfg->tcp_idle };

		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int streams_listen(struct streams *s, int fd, bool tls, char *err, size_t errlen)
{
	struct evconnlistener *l;
	int slot;

	if (s->n_lst + 2 > 2 * DNSD_MAX_ADDRS) {
		snprintf(err, errlen, "too many listeners");
		return -ENOSPC;
	}
	/* even slots are TCP, odd slots TLS */
	slot = s->n_lst;
	if ((slot & 1) != (tls ? 1 : 0))
		slot++;
	if (slot >= 2 * DNSD_MAX_ADDRS) {
		snprintf(err, errlen, "too many listeners");
		return -ENOSPC;
	}
	l = evconnlistener_new(s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!l) {
		snprintf(err, errlen, "cannot listen");
		return -EIO;
	}
	s->lst[slot] = l;
	s->n_lst = slot + 1;
	return 0;
}

static int send_msg(struct streams *s, uint64_t conn, const uint8_t *msg, size_t len)
{
	struct conn *c = find(s, conn);

	if (!c)
		return -ENOENT;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUTPUT_MAX) {
		conn_close(c);
		return -ENOBUFS;
	}
	write_frame(c, msg, len);
	return 0;
}

/* The engine's way back (transport.h). */
static void reply(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len)
{
	(void)send_msg(arg, src->conn, msg, len);
}

static void done(void *arg, uint64_t conn)
{
	struct streams *s = arg;
	struct conn *c = find(s, conn);

	if (!c)
		return;
	if (c->inflight)
		c->inflight--;
	maybe_finish(c);
}

static bool llq_live(void *arg, uint64_t conn)
{
	struct conn *c = find(arg, conn);

	if (c && !c->llq) {
		c->llq = true;
		bufferevent_set_timeouts(c->bev, NULL, NULL);
	}
	return c != NULL;
}

/* RFC 8490 §5.3: "forcibly abort" is a TCP RST, SO_LINGER zero before the close */
static void conn_abort(void *arg, uint64_t conn)
{
	struct conn *c = find(arg, conn);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (!c)
		return;
	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

static const struct transport_ops stream_ops = { .reply = reply, .done = done, .llq_live = llq_live,
						 .abort = conn_abort };

size_t streams_count(const struct streams *s)
{
	return s->count;
}

struct streams *streams_new(struct dnsd *d, struct engine *e, struct event_base *base, SSL_CTX *tls)
{
	struct streams *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->e = e;
	s->base = base;
	s->tls = tls;
	s->qs = calloc(1, sizeof(*s->qs));
	s->out = malloc(ANSWER_MAX);
	if (!s->qs || !s->out) {
		streams_free(s);
		return NULL;
	}
	engine_set_stream_transport(e, &stream_ops, s);
	return s;
}

void streams_free(struct streams *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_lst; i++)
		if (s->lst[i])
			evconnlistener_free(s->lst[i]);
	for (size_t i = 0; i < BUCKETS; i++)
		while (s->tab[i])
			conn_close(s->tab[i]);
	free(s->qs);
	free(s->out);
	free(s);
}
