#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "llq/llq.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/streams.h"
#include "autotunnel-dnsd/udp.h"
#include "autotunnel-dnsd/zone.h"

#define QUEUE_MAX 65536		/* messages waiting for the engine; beyond, UDP ones are dropped */
#define EXPIRY_TICK_MAX_MS 1000	/* look at the wall clock at least this often while leases run */

int64_t engine_wall_ms(void)
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
	if (peerlen > sizeof(it->peer))
		peerlen = sizeof(it->peer);
	memcpy(&it->peer, peer, peerlen);
	it->peerlen = peerlen;
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
	it->t = Q_UDP;
	it->fd = fd;
	it->local = local;
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
		streams_done(e->streams, conn);
		return;
	}
	it->t = t;
	it->conn = conn;
	*e->ptail = it;
	e->ptail = &it->next;
	event_active(e->ev_batch, EV_READ, 0);
}

void engine_reply(struct engine *e, const struct eitem *it, const uint8_t *msg, size_t len)
{
	if (it->conn)
		(void)streams_send(e->streams, it->conn, msg, len);
	else
		(void)sendto(it->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&it->peer, it->peerlen);
}

void engine_item_free(struct engine *e, struct eitem *it)
{
	if (it->conn)
		streams_done(e->streams, it->conn);
	free(it->resp);
	free(it);
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

/* One batch: LLQ messages answered, updates applied and committed together. */
static void run_batch(struct engine *e)
{
	struct eitem *list = take(e), *it;
	size_t n = 0, max = (size_t)e->d->cfg->batch_max;

	update_batch_begin(e);
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
			engine_item_free(e, it);
			continue;
		}
		if (!(m->hdr.flags & DNS_FLAG_QR) && dns_flags_opcode(m->hdr.flags) == DNS_OPCODE_UPDATE) {
			update_handle(e, it);	/* answered after the commit */
			n++;
			continue;
		}
		watch_handle(e, it);
		engine_item_free(e, it);
	}
	if (e->expire_due)
		update_expire(e);
	update_batch_end(e);
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
	watch_tick(arg);
}

void engine_rearm(struct engine *e)
{
	int64_t next = zone_next_expiry(e->d->zone);
	uint64_t dl = llq_server_next_deadline(e->llq);
	struct timeval tv;

	if (next != INT64_MAX) {
		int64_t delay = next - engine_wall_ms();

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
	llq_server_conn_closed(e->llq, conn);
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
	rc = update_load_zone(e, &z, err, errlen);
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

void engine_print_stats(struct engine *e, FILE *fp)
{
	struct dnsd *d = e->d;
	struct stats sum = { 0 };
	struct llq_stats ls;

	stats_sum(&sum, &d->engine_stats);
	for (int i = 0; i < d->n_workers; i++)
		stats_sum(&sum, worker_stats(d->workers[i]));
	stats_print(&sum, fp);
	llq_server_stats(e->llq, &ls);
	fprintf(fp, "llq_live %u\nllq_pending %u\nllq_clients %u\n", ls.live, ls.pending, ls.clients);
	fprintf(fp, "llq_setups %llu\nllq_challenges %llu\nllq_established %llu\n"
		"llq_refreshes %llu\nllq_cancels %llu\nllq_events %llu\nllq_retransmits %llu\n"
		"llq_acks %llu\nllq_dropped_unacked %llu\nllq_dropped_overflow %llu\n"
		"llq_expired %llu\nllq_challenge_expired %llu\nllq_conn_closed %llu\n"
		"llq_servfull %llu\nllq_nosuchllq %llu\nllq_badvers %llu\nllq_formerr %llu\n",
		(unsigned long long)ls.setups, (unsigned long long)ls.challenges,
		(unsigned long long)ls.established, (unsigned long long)ls.refreshes,
		(unsigned long long)ls.cancels, (unsigned long long)ls.events,
		(unsigned long long)ls.retransmits, (unsigned long long)ls.acks,
		(unsigned long long)ls.dropped_unacked, (unsigned long long)ls.dropped_overflow,
		(unsigned long long)ls.expired, (unsigned long long)ls.challenge_expired,
		(unsigned long long)ls.conn_closed, (unsigned long long)ls.servfull,
		(unsigned long long)ls.nosuchllq, (unsigned long long)ls.badvers,
		(unsigned long long)ls.formerr);
	fprintf(fp, "zone_serial %u\nzone_nodes %zu\nzone_records %zu\naccounts %zu\n"
		"connections %zu\nrss_kib %ld\n",
		dnsd_serial(d), zone_node_count(d->zone), zone_rr_count(d->zone),
		accounts_count(d->accounts), streams_count(e->streams), rss_kib());
}

struct engine *engine_new(struct dnsd *d, struct event_base *base, struct store *st, char *err,
			  size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct llq_config lc;

	if (!e)
		goto nomem;
	e->d = d;
	e->base = base;
	e->store = st;
	e->st = &d->engine_stats;
	e->qtail = &e->qhead;
	e->ptail = &e->pending;
	pthread_mutex_init(&e->qlock, NULL);
	llq_config_default(&lc);
	lc.lease_min_s = (uint32_t)d->cfg->llq_lease_min;
	lc.lease_max_s = (uint32_t)d->cfg->llq_lease_max;
	lc.per_client_max = (uint32_t)d->cfg->llq_per_client;
	lc.global_max = (uint32_t)d->cfg->llq_max;
	lc.rto_ms = (uint32_t)d->cfg->llq_rto_ms;
	e->qs = calloc(1, sizeof(*e->qs));
	e->out = malloc(ENGINE_OUT_MAX);
	e->llq = llq_server_new(&lc);
	e->batch = batch_new();
	e->fanout = fanout_new();
	e->ev_batch = event_new(base, -1, 0, on_batch, e);
	e->ev_expire = evtimer_new(base, on_expire, e);
	e->ev_llq = evtimer_new(base, on_llq, e);
	if (!e->qs || !e->out || !e->llq || !e->batch || !e->fanout || !e->ev_batch || !e->ev_expire || !e->ev_llq) {
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
	batch_free(e->batch);
	llq_server_free(e->llq);
	free(e->out);
	free(e->qs);
	pthread_mutex_destroy(&e->qlock);
	free(e);
}
