#include <arpa/inet.h>
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
#include "util/random.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/streams.h"

#define BUCKETS 4096
#define TALLY_BUCKETS 1024
#define MSGS_PER_READ 64
#define ANSWER_MAX (65535 + 1024)
/* input read ahead of the parser: two whole messages at most (RFC 7766 §6.2.1.1 pipelining) */
#define INPUT_MAX (2 * (2 + 65535))
/* messages of one connection the engine may hold; past it, its requests wait in the socket */
#define INFLIGHT_MAX 32
/*
 * The kernel's send buffer of a connection: autotuned, it would take up
 * to tcp_wmem's maximum (4 MiB) of output a client never reads, outside
 * tcp-output-max. One largest message and some fits (Linux doubles it).
 */
#define SNDBUF 65536

/* Why connections were refused or closed; engine thread only. */
#define LIMITS_LIST(X)							\
	X(tcp_refused_per_address)	X(tcp_closed_per_account)	\
	X(tcp_closed_idle)		X(tcp_closed_write_stalled)	\
	X(tcp_closed_slow_read)		X(tls_closed_handshake_timeout)	\
	X(tcp_closed_output_full)	X(tcp_read_paused)

enum limit_id {
#define LIMIT_ENUM(n) L_##n,
	LIMITS_LIST(LIMIT_ENUM)
#undef LIMIT_ENUM
	L_COUNT
};

static const char *const limit_names[] = {
#define LIMIT_NAME(n) #n,
	LIMITS_LIST(LIMIT_NAME)
#undef LIMIT_NAME
};

/* Open connections of one client address or one account. */
struct tally {
	struct tally *next;
	unsigned n;
	uint8_t len;
	uint8_t key[17];	/* family and address, or the account id */
};

struct conn {
	struct conn *next;
	struct streams *s;
	uint64_t id;
	struct bufferevent *bev;
	struct event *timer;	/* the handshake's deadline, a partial message's, or a close */
	enum q_transport t;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint32_t account;	/* counted as this account's (a signed message came); 0: none */
	unsigned inflight;	/* messages the engine still holds */
	unsigned msgs;
	bool llq;		/* carries an LLQ: its LLQs go when it closes */
	bool eof;		/* no more requests (the peer hung up or a limit ends it):
				 * closed once everything is answered */
	bool handshaking;	/* TLS handshake under way (the timer is its deadline) */
	bool partial;		/* the timer is the deadline of a partial message */
	bool paused;		/* not read: output full, or the engine holds enough */
	bool doomed;		/* closed from the next turn of the loop */
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
	struct tally *by_addr[TALLY_BUCKETS], *by_account[TALLY_BUCKETS];
	uint32_t seed;			/* of the tally hash: addresses are chosen by clients */
	uint64_t limits[L_COUNT];
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

/* ---- counts per client address and per account ---- */

static struct tally **tally_slot(struct streams *s, struct tally **tab, const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u ^ s->seed;
	struct tally **pp;

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &tab[h % TALLY_BUCKETS]; *pp; pp = &(*pp)->next)
		if ((*pp)->len == len && memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

static unsigned tally_count(struct streams *s, struct tally **tab, const uint8_t *key, size_t len)
{
	struct tally *t = *tally_slot(s, tab, key, len);

	return t ? t->n : 0;
}

static int tally_add(struct streams *s, struct tally **tab, const uint8_t *key, size_t len)
{
	struct tally **pp = tally_slot(s, tab, key, len);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return -ENOMEM;
		(*pp)->len = (uint8_t)len;
		memcpy((*pp)->key, key, len);
	}
	(*pp)->n++;
	return 0;
}

static void tally_sub(struct streams *s, struct tally **tab, const uint8_t *key, size_t len)
{
	struct tally **pp = tally_slot(s, tab, key, len), *t = *pp;

	if (t && --t->n == 0) {
		*pp = t->next;
		free(t);
	}
}

/* The key of a client address: its family and address (the port is the client's to choose). */
static size_t addr_key(const struct sockaddr_storage *ss, uint8_t key[static 17])
{
	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 17;
	}
	memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return 5;
}

static size_t account_key(uint32_t id, uint8_t key[static 17])
{
	memcpy(key, &id, sizeof(id));
	return sizeof(id);
}

static void limit_hit(struct conn *c, enum limit_id why)
{
	char text[INET6_ADDRSTRLEN] = "?";
	const void *a = c->peer.ss_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)&c->peer)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)&c->peer)->sin_addr;

	c->s->limits[why]++;
	inet_ntop(c->peer.ss_family, a, text, sizeof(text));
	log_debug_rl("connection %llu from %s: %s", (unsigned long long)c->id, text, limit_names[why]);
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	struct streams *s = c->s;
	struct conn **pp;
	uint8_t key[17];

	if (c->t == Q_TLS && c->msgs == 0)
		stat_inc(&s->d->engine_stats, STAT_tls_failed);
	for (pp = &s->tab[c->id % BUCKETS]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->count--;
	tally_sub(s, s->by_addr, key, addr_key(&c->peer, key));
	if (c->account)
		tally_sub(s, s->by_account, key, account_key(c->account, key));
	if (c->llq)	/* only a connection that carried an LLQ has any to drop */
		engine_conn_closed(s->e, c->id);
	if (c->t == Q_TLS) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* no close_notify wait: the peer may be gone */
		if (ssl)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
	}
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

/*
 * Close @p c from the next turn of the loop: the caller may be the engine
 * in the middle of its LLQ tables, which a close changes.
 */
static void doom(struct conn *c)
{
	static const struct timeval now = { 0, 0 };

	c->doomed = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &now);
}

static size_t output_len(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* A half-closed connection ends once the engine has answered everything. */
static void maybe_finish(struct conn *c)
{
	if (c->eof && !c->doomed && c->inflight == 0 && output_len(c) == 0)
		conn_close(c);
}

/* Stop reading @p c: what it asked for has not gone out yet. */
static void pause_reading(struct conn *c)
{
	c->paused = true;
	bufferevent_disable(c->bev, EV_READ);
	if (c->partial) {
		/* the rest cannot come while we do not read */
		c->partial = false;
		evtimer_del(c->timer);
	}
}

/* Read @p c again once its output is down to half the limit (hysteresis). */
static void maybe_resume(struct conn *c)
{
	if (!c->paused || c->eof || c->doomed || c->inflight >= INFLIGHT_MAX ||
	    output_len(c) > (size_t)c->s->d->cfg->tcp_output_max / 2)
		return;
	c->paused = false;
	bufferevent_enable(c->bev, EV_READ);
	/* requests may wait in the input already: nothing else would announce them */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) >= 2)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
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
	size_t output_max = (size_t)s->d->cfg->tcp_output_max;
	int n;

	for (n = 0; n < MSGS_PER_READ; n++) {
		uint8_t hdr[2];
		size_t len, olen;

		if (c->doomed || c->eof)
			return;
		if (output_len(c) >= output_max || c->inflight >= INFLIGHT_MAX) {
			/* a client that sends without reading grows nothing but its own socket buffers */
			if (output_len(c) >= output_max)
				limit_hit(c, L_tcp_read_paused);
			pause_reading(c);
			return;
		}
		if (evbuffer_copyout(in, hdr, 2) != 2)
			break;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len < 12) {
			/* RFC 7766 §8: framing is lost; nothing else can be read */
			stat_inc(st, STAT_tcp_bad_frame);
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, s->msg, len);
		if (c->partial) {
			c->partial = false;
			evtimer_del(c->timer);
		}
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
	if (n == MSGS_PER_READ && evbuffer_get_length(in) >= 2) {
		/* more may be waiting: come back after other connections had a turn */
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	if (evbuffer_get_length(in) > 0 && !c->partial && !c->handshaking) {
		/* the idle timeout restarts with every byte: a message sent a byte
		 * at a time would hold the connection forever without this one */
		struct timeval tv = { .tv_sec = s->d->cfg->tcp_read_timeout };

		c->partial = true;
		evtimer_add(c->timer, &tv);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->eof)
		maybe_finish(c);
	else
		maybe_resume(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (c->doomed)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done (RFC 7858 §3.2): its deadline goes */
		c->handshaking = false;
		evtimer_del(c->timer);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		if (c->llq)
			c->inflight = 0;	/* a client that hangs up wants no more events */
		maybe_finish(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		limit_hit(c, (what & BEV_EVENT_WRITING) ? L_tcp_closed_write_stalled : L_tcp_closed_idle);
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!c->doomed)
		limit_hit(c, c->handshaking ? L_tls_closed_handshake_timeout : L_tcp_closed_slow_read);
	conn_close(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct streams *s = arg;
	const struct dnsd_settings *cfg = s->d->cfg;
	struct conn *c;
	uint8_t key[17];
	size_t klen;
	int one = 1;

	if (s->count >= (size_t)cfg->tcp_max) {
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
	c->peerlen = (socklen_t)(salen < (int)sizeof(c->peer) ? salen : (int)sizeof(c->peer));
	memcpy(&c->peer, sa, c->peerlen);
	klen = addr_key(&c->peer, key);
	if (tally_count(s, s->by_addr, key, klen) >= (unsigned)cfg->tcp_per_address) {
		/* one address may not take the connections of everyone else */
		limit_hit(c, L_tcp_refused_per_address);
		close(fd);
		free(c);
		return;
	}
	c->id = ++s->next_id;
	c->t = Q_TCP;
	for (int i = 0; i < s->n_lst; i++)
		if (s->lst[i] == l && (i & 1))
			c->t = Q_TLS;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ SNDBUF }, sizeof(int));
	if (c->t == Q_TLS) {
		SSL *ssl = SSL_new(s->tls);

		c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							       BEV_OPT_CLOSE_ON_FREE) : NULL;
		stat_inc(&s->d->engine_stats, STAT_tls_accepted);
	} else {
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
		stat_inc(&s->d->engine_stats, STAT_tcp_accepted);
	}
	c->timer = evtimer_new(s->base, on_timer, c);
	if (!c->bev || !c->timer || tally_add(s, s->by_addr, key, klen)) {
		if (c->timer)
			event_free(c->timer);
		if (c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	c->next = s->tab[c->id % BUCKETS];
	s->tab[c->id % BUCKETS] = c;
	s->count++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	{
		struct timeval idle = { .tv_sec = cfg->tcp_idle };

		/* idle: nothing read for tcp-idle; stalled: output not taken for as long */
		bufferevent_set_timeouts(c->bev, &idle, &idle);
	}
	/* the write callback tells when the output is down to half its limit */
	bufferevent_setwatermark(c->bev, EV_WRITE, (size_t)cfg->tcp_output_max / 2, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_MAX);
	if (c->t == Q_TLS) {
		struct timeval tv = { .tv_sec = cfg->tls_handshake_timeout };

		c->handshaking = true;
		evtimer_add(c->timer, &tv);
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

/* The engine's way back (transport.h). */
static void reply(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len)
{
	struct conn *c = find(arg, src->conn);

	if (!c || c->doomed)
		return;
	if (src->peerlen == 0 && output_len(c) >= (size_t)c->s->d->cfg->tcp_output_max) {
		/*
		 * An LLQ event (transport.h: only conn is set) for a client
		 * that does not take its output. Dropping the event would
		 * leave the client's view wrong with nothing to tell it
		 * (events over a stream are not retransmitted); closing drops
		 * its LLQs, and the client sets them up again with full
		 * answers (RFC 8764 §8), or is gone.
		 */
		limit_hit(c, L_tcp_closed_output_full);
		doom(c);
		return;
	}
	/* answers are always kept: they were asked for, and a full output stops the asking */
	write_frame(c, msg, len);
}

static void done(void *arg, uint64_t conn)
{
	struct streams *s = arg;
	struct conn *c = find(s, conn);

	if (!c)
		return;
	if (c->inflight)
		c->inflight--;
	if (c->eof)
		maybe_finish(c);
	else
		maybe_resume(c);
}

/* An unsigned LLQ does not lift the idle timeout: only a signed one (or one on an account's connection) does. */
static void keep_alive(struct conn *c)
{
	struct timeval idle = { .tv_sec = c->s->d->cfg->tcp_idle };

	if (c->llq && c->account)
		bufferevent_set_timeouts(c->bev, NULL, &idle);
}



static bool llq_live(void *arg, uint64_t conn)
{
	struct conn *c = find(arg, conn);

	if (c && !c->llq) {
		c->llq = true;
		keep_alive(c);
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

static void authenticated(void *arg, uint64_t conn, uint32_t account)
{
	struct streams *s = arg;
	struct conn *c = find(s, conn);
	uint8_t key[17];
	size_t klen = account_key(account, key);

	if (!c || c->account || c->eof || c->doomed)
		return;
	if (tally_count(s, s->by_account, key, klen) >= (unsigned)s->d->cfg->tcp_per_account ||
	    tally_add(s, s->by_account, key, klen)) {
		/* this request is answered, then the connection ends */
		limit_hit(c, L_tcp_closed_per_account);
		c->eof = true;
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	c->account = account;
	keep_alive(c);
}

static const struct transport_ops stream_ops = {
	.reply = reply, .done = done, .llq_live = llq_live, .abort = conn_abort,
	.authenticated = authenticated,
};

size_t streams_count(const struct streams *s)
{
	return s->count;
}

void streams_print_stats(const struct streams *s, FILE *fp)
{
	for (int i = 0; i < L_COUNT; i++)
		fprintf(fp, "%s %llu\n", limit_names[i], (unsigned long long)s->limits[i]);
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
	if (!s->qs || !s->out || rand_bytes(&s->seed, sizeof(s->seed))) {
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
