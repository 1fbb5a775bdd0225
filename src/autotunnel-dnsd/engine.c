#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/tsig.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/update.h"
#include "autotunnel-dnsd/watch.h"
#include "autotunnel-dnsd/zone.h"

#define QUEUE_MAX 65536		/* messages waiting for the engine; beyond, UDP ones are dropped */
#define EXPIRY_TICK_MAX_MS 1000	/* look at the wall clock at least this often while leases run */
#define ENGINE_OUT_MAX (65535 + 1024)

/** A message waiting for the engine, with where its answer goes. */
struct eitem {
	struct eitem *next;
	struct transport_src src;
	uint8_t *resp;			/* an UPDATE's answer, sent after the commit */
	size_t resp_len;
	uint16_t id;			/* message id, for a SERVFAIL if the commit fails */
	uint16_t flags;
	size_t len;
	uint8_t pkt[];
};

struct transport {
	const struct transport_ops *ops;
	void *arg;
};

struct engine {
	struct dnsd *d;
	struct event_base *base;
	struct store *store;
	struct qscratch *qs;
	struct stats *st;
	uint8_t *out;			/* ENGINE_OUT_MAX bytes for answers */
	struct transport udp, stream;	/* where answers go */

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
	struct watch *watch;		/* the LLQs (watch.h) */
	struct fanout *fanout;		/* LLQ events on their way out (fanout.h) */
	void (*committed)(void *arg);	/* after a commit that wrote (the checkpointer) */
	void *committed_arg;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct eitem *item_new(const uint8_t *pkt, size_t len, const struct sockaddr *peer,
			      socklen_t peerlen)
{
	struct eitem *it = malloc(sizeof(*it) + len);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	memcpy(it->pkt, pkt, len);
	it->len = len;
	if (peerlen > sizeof(it->src.peer))
		peerlen = sizeof(it->src.peer);
	memcpy(&it->src.peer, peer, peerlen);
	it->src.peerlen = peerlen;
	if (len >= 4) {
		it->id = (uint16_t)(pkt[0] << 8 | pkt[1]);
		it->flags = (uint16_t)(pkt[2] << 8 | pkt[3]);
	}
	return it;
}

void engine_submit_udp(struct engine *e, const uint8_t *pkt, size_t len, const struct sockaddr *peer,
		       socklen_t peerlen, int fd, uint32_t local)
{
	struct eitem *it;
	bool kick;

	if (__atomic_load_n(&e->qlen, __ATOMIC_RELAXED) >= QUEUE_MAX)
		return;	/* overloaded: the client retries */
	it = item_new(pkt, len, peer, peerlen);
	if (!it)
		return;
	it->src.t = Q_UDP;
	it->src.fd = fd;
	it->src.local = local;
	pthread_mutex_lock(&e->qlock);
	kick = e->qhead == NULL;
	*e->qtail = it;
	e->qtail = &it->next;
	e->qlen++;
	pthread_mutex_unlock(&e->qlock);
	if (kick)
		event_active(e->ev_batch, EV_READ, 0);
}

void engine_submit_stream(struct engine *e, const uint8_t *pkt, size_t len, uint64_t conn,
			  enum q_transport t, const struct sockaddr *peer, socklen_t peerlen)
{
	struct eitem *it = item_new(pkt, len, peer, peerlen);

	if (!it) {
		if (e->stream.ops && e->stream.ops->done)
			e->stream.ops->done(e->stream.arg, conn);
		return;
	}
	it->src.t = t;
	it->src.conn = conn;
	*e->ptail = it;
	e->ptail = &it->next;
	event_active(e->ev_batch, EV_READ, 0);
}

/* Send an answer or event to @p src through its transport. */
static void reply(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len)
{
	struct engine *e = arg;
	const struct transport *t = src->conn ? &e->stream : &e->udp;

	if (t->ops)
		t->ops->reply(t->arg, src, msg, len);
}

/* Tell a stream connection whose signed message arrived on it. */
static void authenticated(struct engine *e, uint64_t conn, const struct dns_name *key)
{
	const struct account *acc;

	if (!conn || !e->stream.ops || !e->stream.ops->authenticated)
		return;	/* UDP: no connection to count */
	acc = accounts_by_keyname(e->d->accounts, key);
	if (acc)
		e->stream.ops->authenticated(e->stream.arg, conn, acc->id);
}

static void llq_live(void *arg, uint64_t conn)
{
	struct engine *e = arg;

	/* watch_handle() calls this while e->qs holds the LLQ request it
	 * checked: a TSIG record there passed query_check()'s verification */
	if (e->qs->msg.tsig >= 0)
		authenticated(e, conn, &e->qs->tsig.key.name);
	if (e->stream.ops && e->stream.ops->llq_live)
		e->stream.ops->llq_live(e->stream.arg, conn);
}

/* What watch.c sends its answers and events through. */
static const struct transport_ops watch_ops = { .reply = reply, .llq_live = llq_live };

/* Free a message taken from the queue (and tell its connection). */
static void item_free(struct engine *e, struct eitem *it)
{
	if (it->src.conn && e->stream.ops && e->stream.ops->done)
		e->stream.ops->done(e->stream.arg, it->src.conn);
	free(it->resp);
	free(it);
}

void engine_set_udp_transport(struct engine *e, const struct transport_ops *ops, void *arg)
{
	e->udp = (struct transport){ ops, arg };
}

void engine_set_stream_transport(struct engine *e, const struct transport_ops *ops, void *arg)
{
	e->stream = (struct transport){ ops, arg };
}

void engine_set_udp_fds(struct engine *e, const int *fds, int n)
{
	watch_set_udp_fds(e->watch, fds, n);
}

void engine_set_commit_hook(struct engine *e, void (*fn)(void *arg), void *arg)
{
	e->committed = fn;
	e->committed_arg = arg;
}

struct fanout *engine_fanout(struct engine *e)
{
	return e->fanout;
}

/* Take what waits: the UDP queue, then the stream messages. */
static struct eitem *take(struct engine *e)
{
	struct eitem *list;

	pthread_mutex_lock(&e->qlock);
	list = e->qhead;
	e->qhead = NULL;
	e->qtail = &e->qhead;
	e->qlen = 0;
	pthread_mutex_unlock(&e->qlock);
	if (e->pending) {
		struct eitem **tail = &list;

		while (*tail)
			tail = &(*tail)->next;
		*tail = e->pending;
		e->pending = NULL;
		e->ptail = &e->pending;
	}
	return list;
}

/*
 * Per-client UPDATE rate limit (DESIGN.md §5): a token bucket per client
 * address, in a fixed table (addresses that hash alike share a bucket, so
 * memory stays bounded whatever the number of clients).
 */
#define RATE_BUCKETS 4096

struct rate_bucket {
	uint64_t last_ms;
	uint64_t tokens_milli;
};

static bool rate_allow(struct engine *e, const struct eitem *it)
{
	uint64_t per_sec = (uint64_t)e->d->cfg->update_rate, burst = 2 * per_sec;
	uint32_t h = 2166136261u;
	const uint8_t *a;
	size_t alen;
	struct rate_bucket *b;
	uint64_t now = clock_now_ms(), add;

	if (per_sec == 0)
		return true;
	if (it->src.peer.ss_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)&it->src.peer)->sin6_addr;
		alen = 16;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)&it->src.peer)->sin_addr;
		alen = 4;
	}
	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	b = &e->rate[h % RATE_BUCKETS];
	add = (now - b->last_ms) * per_sec;	/* milli-tokens */
	if (b->last_ms == 0 || add >= burst * 1000 || b->tokens_milli + add > burst * 1000)
		b->tokens_milli = burst * 1000;
	else
		b->tokens_milli += add;
	b->last_ms = now;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

/* Build the answer to the UPDATE in e->qs->msg; it waits in @p it for the commit. */
static void respond(struct engine *e, struct eitem *it, unsigned rcode, bool sign,
		    const struct dns_lease *lease)
{
	struct qscratch *s = e->qs;
	struct dns_builder *b = &s->b;
	const struct dns_msg *m = &s->msg;
	size_t len;
	uint16_t limit = it->src.t == Q_UDP ? (m->edns.present ? DNS_EDNS_SERVER_UDP : DNS_UDP_MIN)
					: DNS_MSG_MAX_LEN;

	if (dns_builder_reply(b, e->out, ENGINE_OUT_MAX, limit, m))
		goto header_only;
	if (sign)
		dns_builder_reserve(b, dns_tsig_space(&s->tsig));
	if (m->edns.present) {
		dns_builder_edns(b, DNS_EDNS_SERVER_UDP, 0);
		if (lease)
			(void)dns_builder_add_lease(b, lease);	/* RFC 9664 §4: the granted lease */
	}
	dns_builder_set_rcode(b, rcode);
	if (dns_builder_finish(b, &len))
		goto header_only;
	if (sign && dns_tsig_sign_response(&s->tsig, e->out, len, ENGINE_OUT_MAX, &len, clock_wall_s()))
		goto header_only;
	goto keep;
header_only:
	len = (size_t)dns_msg_error_header(e->out, ENGINE_OUT_MAX, &m->hdr, rcode & DNS_RCODE_MASK);
keep:
	it->resp = malloc(len);
	if (it->resp) {
		memcpy(it->resp, e->out, len);
		it->resp_len = len;
	}
}

/*
 * One UPDATE parsed in e->qs->msg: check its rate and TSIG, let
 * update_decide() decide, apply the changes to the batch, and build the
 * one answer, sent after the commit (DESIGN.md §5).
 */
static void handle_update(struct engine *e, struct eitem *it)
{
	struct qscratch *s = e->qs;
	const struct dns_msg *m = &s->msg;
	struct update_request rq = { .m = m, .rate_ok = rate_allow(e, it), .tsig_rc = -ENOENT };
	struct update_decision dec;
	bool changed;

	it->next = NULL;
	*e->done_tail = it;
	e->done_tail = &it->next;
	if (rq.rate_ok && m->tsig >= 0) {
		memset(&s->tsig, 0, sizeof(s->tsig));
		rq.tsig_rc = dns_tsig_verify_request(&s->tsig, m, query_key_lookup, e->d, clock_wall_s());
		rq.tsig_error = s->tsig.error;
		rq.key = &s->tsig.key.name;
		if (rq.tsig_rc == 0)
			authenticated(e, it->src.conn, rq.key);
	}
	update_decide(&rq, e->d, wall_ms(), &dec);
	if (dec.rcode == DNS_RCODE_NOERROR && dec.n_changes) {
		int rc = commit_apply(e->commit, &dec, &changed);

		if (rc) {
			log_warnx("update from %s failed: %s", dec.acc->label, strerror(-rc));
			dec.rcode = DNS_RCODE_SERVFAIL;
			dec.counter = STAT_update_servfail;
			dec.lease_granted = false;
		}
	}
	stat_inc(e->st, STAT_updates);
	stat_inc(e->st, dec.counter);
	respond(e, it, dec.rcode, dec.sign, dec.lease_granted ? &dec.lease : NULL);
	update_decision_fini(&dec);
	if (rq.rate_ok && m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
}

static void notify(void *arg, const uint8_t *lname, size_t len, uint16_t type, const uint8_t *rrs,
		   size_t rrs_len)
{
	struct engine *e = arg;

	watch_notify(e->watch, lname, len, type, rrs, rrs_len);
}

/* Commit the batch, answer its updates, then tell the LLQs what changed. */
static void finish_batch(struct engine *e)
{
	struct eitem *it, *next;
	int rc = commit_end(e->commit);
	bool ok = rc >= 0;

	/* the commit precedes every answer (DESIGN.md §5) */
	for (it = e->done; it; it = next) {
		next = it->next;
		if (ok && it->resp) {
			reply(e, &it->src, it->resp, it->resp_len);
		} else {
			struct dns_header h = { .id = it->id, .flags = it->flags };
			int n = dns_msg_error_header(e->out, ENGINE_OUT_MAX, &h, DNS_RCODE_SERVFAIL);

			if (n > 0)
				reply(e, &it->src, e->out, (size_t)n);
		}
		item_free(e, it);
	}
	e->done = NULL;
	e->done_tail = &e->done;
	if (rc > 0 && e->committed)
		e->committed(e->committed_arg);
	if (ok)
		commit_changes_foreach(e->commit, notify, e);
}

/* One batch: LLQ messages answered, updates applied and committed together. */
static void run_batch(struct engine *e)
{
	struct eitem *list = take(e), *it;
	size_t n = 0, max = (size_t)e->d->cfg->batch_max;

	commit_begin(e->commit);
	while ((it = list) != NULL) {
		struct dns_msg *m = &e->qs->msg;

		if (n >= max) {
			/* the rest goes first into the next batch */
			struct eitem **tail = &list;

			while (*tail)
				tail = &(*tail)->next;
			*tail = e->pending;
			if (!e->pending)
				e->ptail = tail;
			e->pending = list;
			event_active(e->ev_batch, EV_READ, 0);
			break;
		}
		list = it->next;
		it->next = NULL;
		if (dns_msg_parse(m, it->pkt, it->len)) {
			item_free(e, it);
			continue;
		}
		if (!(m->hdr.flags & DNS_FLAG_QR) && dns_flags_opcode(m->hdr.flags) == DNS_OPCODE_UPDATE) {
			handle_update(e, it);	/* answered after the commit */
			n++;
			continue;
		}
		watch_handle(e->watch, e->qs, &it->src);
		item_free(e, it);
	}
	if (e->expire_due) {
		e->expire_due = false;
		commit_expire(e->commit, wall_ms());
	}
	finish_batch(e);
	engine_rearm(e);
}

void engine_run_now(struct engine *e)
{
	bool more;

	do {
		run_batch(e);
		pthread_mutex_lock(&e->qlock);
		more = e->qhead != NULL;
		pthread_mutex_unlock(&e->qlock);
	} while (more || e->pending);
}

void engine_timers_now(struct engine *e)
{
	e->expire_due = true;
	run_batch(e);
	watch_tick(e->watch);
	engine_rearm(e);
}

static void on_batch(evutil_socket_t fd, short what, void *arg)
{
	run_batch(arg);
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	e->expire_due = true;
	run_batch(e);
}

static void on_llq(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	watch_tick(e->watch);
	engine_rearm(e);
}

void engine_rearm(struct engine *e)
{
	int64_t next = zone_next_expiry(e->d->zone);
	uint64_t dl = watch_next_deadline(e->watch);
	struct timeval tv;

	if (next != INT64_MAX) {
		int64_t delay = next - wall_ms();

		/* RFC 9664 leases: expired records go within a second; the
		 * wall clock may jump, so look again at least once a second */
		if (delay < 0)
			delay = 0;
		if (delay > EXPIRY_TICK_MAX_MS)
			delay = EXPIRY_TICK_MAX_MS;
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		evtimer_add(e->ev_expire, &tv);
	} else {
		evtimer_del(e->ev_expire);
	}
	if (dl != UINT64_MAX) {
		uint64_t now = clock_now_ms(), delay = dl > now ? dl - now : 0;

		tv.tv_sec = (time_t)(delay / 1000);
		tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
		evtimer_add(e->ev_llq, &tv);
	} else {
		evtimer_del(e->ev_llq);
	}
}

void engine_conn_closed(struct engine *e, uint64_t conn)
{
	watch_conn_closed(e->watch, conn);
	engine_rearm(e);
}

int engine_reload(struct engine *e, char *err, size_t errlen)
{
	struct dnsd *d = e->d;
	struct accounts *acc, *old_acc;
	struct zone *z, *old_z;
	int rc;

	acc = accounts_load(&d->apex, d->accounts, e->store, err, errlen);
	if (!acc)
		return -EIO;
	rc = commit_load_zone(e->store, &d->apex, &z, err, errlen);
	if (rc) {
		accounts_free(acc);
		return rc;
	}
	pthread_rwlock_wrlock(&d->lock);
	old_acc = d->accounts;
	old_z = d->zone;
	d->accounts = acc;
	d->zone = z;
	pthread_rwlock_unlock(&d->lock);
	accounts_free(old_acc);
	zone_free(old_z);
	log_info("reloaded: %zu accounts, %zu records", accounts_count(acc), zone_rr_count(z));
	engine_rearm(e);
	return 0;
}

static long rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (!fp)
		return 0;
	if (fscanf(fp, "%ld %ld", &size, &rss) != 2)
		rss = 0;
	fclose(fp);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

void engine_print_stats(struct engine *e, FILE *fp, const struct stats *others, size_t connections)
{
	struct dnsd *d = e->d;
	struct stats sum = { 0 };

	stats_sum(&sum, &d->engine_stats);
	if (others)
		stats_sum(&sum, others);
	stats_print(&sum, fp);
	watch_print_stats(e->watch, fp);
	fprintf(fp, "zone_serial %u\nzone_nodes %zu\nzone_records %zu\naccounts %zu\n"
		"connections %zu\nrss_kib %ld\n",
		dnsd_serial(d), zone_node_count(d->zone), zone_rr_count(d->zone),
		accounts_count(d->accounts), connections, rss_kib());
}

struct engine *engine_new(struct dnsd *d, struct event_base *base, struct store *st, char *err,
			  size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		goto nomem;
	e->d = d;
	e->base = base;
	e->store = st;
	e->st = &d->engine_stats;
	e->qtail = &e->qhead;
	e->ptail = &e->pending;
	pthread_mutex_init(&e->qlock, NULL);
	e->qs = calloc(1, sizeof(*e->qs));
	e->out = malloc(ENGINE_OUT_MAX);
	e->commit = commit_new(d, st, e->st);
	e->rate = calloc(RATE_BUCKETS, sizeof(*e->rate));
	e->done_tail = &e->done;
	e->fanout = fanout_new();
	e->watch = e->fanout ? watch_new(d, e->st, e->fanout, &watch_ops, e) : NULL;
	e->ev_batch = event_new(base, -1, 0, on_batch, e);
	e->ev_expire = evtimer_new(base, on_expire, e);
	e->ev_llq = evtimer_new(base, on_llq, e);
	if (!e->qs || !e->out || !e->watch || !e->commit || !e->rate || !e->fanout || !e->ev_batch || !e->ev_expire || !e->ev_llq) {
		engine_free(e);
		goto nomem;
	}
	return e;
nomem:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void engine_free(struct engine *e)
{
	struct eitem *it;

	if (!e)
		return;
	while ((it = take(e)) != NULL) {
		while (it) {
			struct eitem *next = it->next;

			free(it->resp);
			free(it);
			it = next;
		}
	}
	if (e->ev_batch)
		event_free(e->ev_batch);
	if (e->ev_expire)
		event_free(e->ev_expire);
	if (e->ev_llq)
		event_free(e->ev_llq);
	fanout_free(e->fanout);
	commit_free(e->commit);
	free(e->rate);
	watch_free(e->watch);
	free(e->out);
	free(e->qs);
	pthread_mutex_destroy(&e->qlock);
	free(e);
}
