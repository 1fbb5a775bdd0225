#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/tsig.h"
#include "dso/dso.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/push.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/replay.h"
#include "autotunnel-dnsd/shed.h"
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
	bool remembered;		/* @p rkey is in the replay cache: forget it if the commit fails */
	struct replay_key rkey;
	size_t len;
	uint8_t pkt[];
};

struct transport {
	const struct transport_ops *ops;
	void *arg;
};

#define FROZEN_MAX 16	/* accounts being moved at once */

struct engine {
	struct dnsd *d;
	char frozen[FROZEN_MAX][64];	/* labels whose UPDATEs wait (engine_freeze) */
	int n_frozen;
	struct shed shed;		/* new watchers' budget (d->shed points here) */
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
	struct rate_bucket *rate;	/* unauthenticated UPDATEs: a bucket per client address */
	struct acct_rate **acct_rate;	/* signed UPDATEs: a bucket per account, by id */
	size_t acct_rate_mask, n_acct_rate;
	struct replay *replay;		/* signed UPDATEs seen within their TSIG window */
	struct log_ratelimit quota_rl;	/* the log line of a quota refusal */
	struct watch *watch;		/* the LLQs (watch.h) */
	struct push *push;		/* DNS Push sessions (push.h) */
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

void engine_batch_add_udp(struct engine *e, struct engine_batch *b, const uint8_t *pkt, size_t len,
			  const struct sockaddr *peer, socklen_t peerlen, int fd, uint32_t local)
{
	struct eitem *it;

	if (!b->tail)
		b->tail = &b->head;
	if (__atomic_load_n(&e->qlen, __ATOMIC_RELAXED) + b->n >= QUEUE_MAX)
		return;	/* overloaded: the client retries */
	it = item_new(pkt, len, peer, peerlen);
	if (!it)
		return;
	it->src.t = Q_UDP;
	it->src.fd = fd;
	it->src.local = local;
	*b->tail = it;
	b->tail = &it->next;
	b->n++;
}

void engine_batch_submit(struct engine *e, struct engine_batch *b)
{
	bool kick;

	if (!b->n)
		return;
	/* one lock and at most one wake-up for a whole recvmmsg batch: at
	 * 100,000 watchers the event acknowledgements come in by the
	 * thousand, and a wake-up of the engine per datagram cost more than
	 * handling it */
	pthread_mutex_lock(&e->qlock);
	kick = e->qhead == NULL;
	*e->qtail = b->head;
	e->qtail = b->tail;
	e->qlen += b->n;
	pthread_mutex_unlock(&e->qlock);
	b->head = NULL;
	b->tail = &b->head;
	b->n = 0;
	if (kick)
		event_active(e->ev_batch, EV_READ, 0);
}

void engine_submit_udp(struct engine *e, const uint8_t *pkt, size_t len, const struct sockaddr *peer,
		       socklen_t peerlen, int fd, uint32_t local)
{
	struct engine_batch b = { 0 };

	engine_batch_add_udp(e, &b, pkt, len, peer, peerlen, fd, local);
	engine_batch_submit(e, &b);
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
static void authenticated(struct engine *e, uint64_t conn, const struct account *acc)
{
	if (!conn || !acc || !e->stream.ops || !e->stream.ops->authenticated)
		return;	/* UDP: no connection to count */
	e->stream.ops->authenticated(e->stream.arg, conn, acc->id);
}

static bool llq_live(void *arg, uint64_t conn)
{
	struct engine *e = arg;

	/* watch_handle() calls this while e->qs holds the LLQ request it
	 * checked: a TSIG record there passed query_check()'s verification */
	if (e->qs->msg.tsig >= 0)
		authenticated(e, conn, accounts_by_keyname(e->d->accounts, &e->qs->tsig.key.name));
	if (e->stream.ops && e->stream.ops->llq_live)
		return e->stream.ops->llq_live(e->stream.arg, conn);
	return true;
}

static void conn_abort(void *arg, uint64_t conn)
{
	struct engine *e = arg;

	if (e->stream.ops && e->stream.ops->abort)
		e->stream.ops->abort(e->stream.arg, conn);
}

/* What watch.c and push.c send their answers and events through. */
static const struct transport_ops watch_ops = { .reply = reply, .llq_live = llq_live, .abort = conn_abort };


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
 * UPDATE rate limits (docs/design.md §5), each a token bucket of update-rate
 * (unsigned-rate) per second with a burst of twice that:
 * - a signed UPDATE whose TSIG verified is charged to its account, so
 *   nobody can spend it without the key;
 * - an unsigned one is charged to the client address, in a fixed table
 *   of its own (addresses that hash alike share a bucket, so memory stays
 *   bounded whatever the number of clients); a spoofed flood from an
 *   address drains only this bucket and never holds back the signed
 *   UPDATEs from there (nor the TSIG errors answered to it).
 */
#define RATE_BUCKETS 4096
#define RETRANSMIT_S 30		/* a copy from the same source this soon is a retransmission */

struct rate_bucket {
	uint64_t last_ms;
	uint64_t tokens_milli;
};

struct acct_rate {
	struct acct_rate *next;
	uint32_t id;
	struct rate_bucket b;
};

static bool bucket_take(struct rate_bucket *b, uint64_t per_sec, uint64_t now)
{
	uint64_t burst = 2 * per_sec, add;

	if (per_sec == 0)
		return true;
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

static const uint8_t *peer_addr(const struct eitem *it, size_t *alen)
{
	if (it->src.peer.ss_family == AF_INET6) {
		*alen = 16;
		return (const uint8_t *)&((const struct sockaddr_in6 *)&it->src.peer)->sin6_addr;
	}
	*alen = 4;
	return (const uint8_t *)&((const struct sockaddr_in *)&it->src.peer)->sin_addr;
}

static bool rate_allow_unauth(struct engine *e, const struct eitem *it)
{
	uint32_t h = 2166136261u;
	size_t alen;
	const uint8_t *a = peer_addr(it, &alen);

	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	return bucket_take(&e->rate[h % RATE_BUCKETS], (uint64_t)e->d->cfg->unsigned_rate,
			   clock_now_ms());
}

static void acct_rate_clear(struct engine *e)
{
	for (size_t i = 0; e->acct_rate && i <= e->acct_rate_mask; i++) {
		while (e->acct_rate[i]) {
			struct acct_rate *r = e->acct_rate[i];

			e->acct_rate[i] = r->next;
			free(r);
		}
	}
	e->n_acct_rate = 0;
}

/* The bucket of account @p id, made full on first use; NULL when out of memory. */
static struct rate_bucket *acct_bucket(struct engine *e, uint32_t id)
{
	size_t b = (id * 2654435761u) & e->acct_rate_mask;
	struct acct_rate *r;

	for (r = e->acct_rate[b]; r; r = r->next)
		if (r->id == id)
			return &r->b;
	if (e->n_acct_rate > e->acct_rate_mask) {
		/* one bucket per account that sent an UPDATE: double the table */
		size_t n = (e->acct_rate_mask + 1) * 2;
		struct acct_rate **t = calloc(n, sizeof(*t));

		if (t) {
			for (size_t i = 0; i <= e->acct_rate_mask; i++) {
				while ((r = e->acct_rate[i]) != NULL) {
					size_t nb = (r->id * 2654435761u) & (n - 1);

					e->acct_rate[i] = r->next;
					r->next = t[nb];
					t[nb] = r;
				}
			}
			free(e->acct_rate);
			e->acct_rate = t;
			e->acct_rate_mask = n - 1;
			b = (id * 2654435761u) & e->acct_rate_mask;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = id;
	r->next = e->acct_rate[b];
	e->acct_rate[b] = r;
	e->n_acct_rate++;
	return &r->b;
}

static bool rate_allow_account(struct engine *e, const struct account *acc)
{
	struct rate_bucket *b;

	if (e->d->cfg->update_rate == 0)
		return true;
	b = acct_bucket(e, acc->id);
	return b ? bucket_take(b, (uint64_t)e->d->cfg->update_rate, clock_now_ms()) : false;
}

/* Who sent it, for telling a retransmission from a replay: address, port, connection. */
static uint64_t source_hash(const struct eitem *it)
{
	uint64_t h = 14695981039346656037ull;
	size_t alen;
	const uint8_t *a = peer_addr(it, &alen);
	uint16_t port = it->src.peer.ss_family == AF_INET6
			? ((const struct sockaddr_in6 *)&it->src.peer)->sin6_port
			: ((const struct sockaddr_in *)&it->src.peer)->sin_port;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	h = (h ^ port) * 1099511628211ull;
	return (h ^ it->src.conn) * 1099511628211ull;
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
 * The TSIG time window of a verified request (RFC 8945 §5.2.3): its own
 * Fudge, at most DNS_TSIG_FUDGE (RFC 8945 §10 recommends 300 s). Longer
 * windows are refused as BADTIME: the replay cache remembers a request
 * for its whole window, and a client-chosen Fudge of up to 18 hours would
 * make that unbounded. @return the second its window ends, or -1.
 */
static int64_t tsig_window_end(const struct dns_tsig *t, uint64_t now)
{
	uint64_t fudge = t->fudge < DNS_TSIG_FUDGE ? t->fudge : DNS_TSIG_FUDGE;

	if (now + fudge < t->time_signed || now > t->time_signed + fudge)
		return -1;
	return (int64_t)(t->time_signed + fudge + 1);
}

/*
 * The replay check of a verified UPDATE (replay.h), before its account's
 * rate: a replay costs the account nothing. Returns true when the UPDATE
 * is answered here: a retransmission from the same source gets the first
 * answer again (nothing is applied twice); a replay, or an UPDATE that
 * cannot be remembered (the cache is full), gets a signed REFUSED.
 */
static bool replay_gate(struct engine *e, struct eitem *it, const struct account *acc, int64_t forget_s)
{
	struct dns_tsig *t = &e->qs->tsig;
	struct replay_answer ans = { 0 };
	struct dns_lease lease;
	enum replay_verdict v;

	memset(&it->rkey, 0, sizeof(it->rkey));
	it->rkey.account = acc->id;
	it->rkey.mac_len = (uint8_t)t->mac_len;
	memcpy(it->rkey.mac, t->mac, t->mac_len < REPLAY_MAC_KEEP ? t->mac_len : REPLAY_MAC_KEEP);
	v = replay_check(e->replay, &it->rkey, source_hash(it), (int64_t)clock_wall_s(), forget_s,
			 RETRANSMIT_S, &ans);
	switch (v) {
	case REPLAY_NEW:
		it->remembered = true;
		return false;
	case REPLAY_RETRANSMIT:
		lease = (struct dns_lease){ .lease = ans.lease, .key_lease = ans.key_lease,
					    .has_key_lease = ans.has_key_lease };
		stat_inc(e->st, STAT_update_retransmit);
		respond(e, it, ans.rcode, true, ans.lease_granted ? &lease : NULL);
		return true;
	case REPLAY_SEEN:
		/* RFC 8945 has no error for a replay; REFUSED is a policy refusal
		 * that no client retries as is (BADTIME would blame its clock) */
		stat_inc(e->st, STAT_update_refused_replay);
		respond(e, it, DNS_RCODE_REFUSED, true, NULL);
		return true;
	case REPLAY_FULL:
		stat_inc(e->st, STAT_update_refused_replay_full);
		log_ratelimited(&e->quota_rl, LOG_LEVEL_WARN,
				"replay cache full (%zu signed updates within their TSIG window): "
				"refusing signed updates; raise replay-max", replay_count(e->replay));
		respond(e, it, DNS_RCODE_REFUSED, true, NULL);
		return true;
	}
	return false;
}

static bool is_frozen(const struct engine *e, const struct account *acc)
{
	for (int i = 0; i < e->n_frozen; i++)
		if (strcmp(e->frozen[i], acc->label) == 0)
			return true;
	return false;
}

int engine_freeze(struct engine *e, const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63) {
		snprintf(err, errlen, "not an account name");
		return -EINVAL;
	}
	for (int i = 0; i < e->n_frozen; i++)
		if (strcasecmp(e->frozen[i], name) == 0)
			return 0;
	if (e->n_frozen == FROZEN_MAX) {
		snprintf(err, errlen, "%d accounts are being moved already", FROZEN_MAX);
		return -ENOSPC;
	}
	for (size_t i = 0; i <= n; i++)
		e->frozen[e->n_frozen][i] = (char)tolower((unsigned char)name[i]);
	e->n_frozen++;
	log_info("account %s frozen for a move: its UPDATEs are refused until the next reload", name);
	return 0;
}

/*
 * One UPDATE parsed in e->qs->msg: authenticate it, check it against
 * replay and against its rate (the account's when signed, the address's
 * otherwise), let update_decide() decide, apply the changes to the batch,
 * and build the one answer, sent after the commit (docs/design.md §5).
 */
static void handle_update(struct engine *e, struct eitem *it)
{
	struct qscratch *s = e->qs;
	const struct dns_msg *m = &s->msg;
	struct update_request rq = { .m = m, .tsig_rc = -ENOENT, .usage = commit_usage(e->commit) };
	const struct account *acc = NULL;
	struct update_decision dec;
	int64_t forget_s = -1;
	bool changed;

	it->next = NULL;
	*e->done_tail = it;
	e->done_tail = &it->next;
	stat_inc(e->st, STAT_updates);
	if (m->tsig >= 0) {
		memset(&s->tsig, 0, sizeof(s->tsig));
		rq.tsig_rc = dns_tsig_verify_request(&s->tsig, m, query_key_lookup, e->d, clock_wall_s());
		if (rq.tsig_rc == 0 && (forget_s = tsig_window_end(&s->tsig, clock_wall_s())) < 0) {
			s->tsig.error = DNS_RCODE_BADTIME;	/* §5.2.3, with our narrower window */
			rq.tsig_rc = -EACCES;
		}
		rq.tsig_error = s->tsig.error;
		rq.key = &s->tsig.key.name;
		if (rq.tsig_rc == 0)
			acc = accounts_by_keyname(e->d->accounts, rq.key);
	}
	if (acc) {
		authenticated(e, it->src.conn, acc);
		if (is_frozen(e, acc)) {
			/* being moved (engine_freeze): nothing more is written for it
			 * here; SERVFAIL is "try again", and by then it is elsewhere */
			stat_inc(e->st, STAT_update_servfail_moving);
			respond(e, it, DNS_RCODE_SERVFAIL, true, NULL);
			goto out;
		}
		if (replay_gate(e, it, acc, forget_s))
			goto out;
		rq.rate_ok = rate_allow_account(e, acc);
		if (!rq.rate_ok) {
			/* not carried out: its copy may come again, and is charged again */
			replay_forget(e->replay, &it->rkey);
			it->remembered = false;
		}
	} else if (m->tsig < 0) {
		rq.rate_ok = rate_allow_unauth(e, it);
	} else {
		/* a TSIG that failed is answered with its error whatever the
		 * address's rate (RFC 8945 §5.2: BADKEY on every path), no
		 * larger than the request, and never applied */
		rq.rate_ok = true;
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
	if (dec.counter == STAT_update_refused_quota)
		log_ratelimited(&e->quota_rl, LOG_LEVEL_INFO,
				"update from %s refused: its records would be %llu (account-records %d), "
				"%llu bytes (account-bytes %d)", dec.acc->label,
				(unsigned long long)dec.usage_after.records, e->d->cfg->account_records,
				(unsigned long long)dec.usage_after.bytes, e->d->cfg->account_bytes);
	if (it->remembered) {
		struct replay_answer ans = { .rcode = dec.rcode, .lease_granted = dec.lease_granted,
					     .lease = dec.lease.lease, .key_lease = dec.lease.key_lease,
					     .has_key_lease = dec.lease.has_key_lease };

		if (dec.rcode == DNS_RCODE_SERVFAIL) {
			replay_forget(e->replay, &it->rkey);	/* nothing done: a retry is welcome */
			it->remembered = false;
		} else {
			replay_answer(e->replay, &it->rkey, &ans);
		}
	}
	stat_inc(e->st, dec.counter);
	respond(e, it, dec.rcode, dec.sign, dec.lease_granted ? &dec.lease : NULL);
	update_decision_fini(&dec);
out:
	if (m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
}

static void notify(void *arg, const uint8_t *lname, size_t len, uint16_t type, const uint8_t *rrs,
		   size_t rrs_len)
{
	struct engine *e = arg;

	watch_notify(e->watch, lname, len, type, rrs, rrs_len);
	push_notify(e->push, lname, len, type, rrs, rrs_len);
}

/* Commit the batch, answer its updates, then tell the LLQs what changed. */
static void finish_batch(struct engine *e)
{
	struct eitem *it, *next;
	int rc = commit_end(e->commit);
	bool ok = rc >= 0;

	/* the commit precedes every answer (docs/design.md §5) */
	for (it = e->done; it; it = next) {
		next = it->next;
		if (ok && it->resp) {
			reply(e, &it->src, it->resp, it->resp_len);
		} else {
			/* rolled back: the client's retry must be applied, not refused as a replay */
			if (it->remembered)
				replay_forget(e->replay, &it->rkey);
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
		struct wire opt;

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
		if (it->src.conn && dso_is_dso(it->pkt, it->len)) {
			push_handle(e->push, it->pkt, it->len, &it->src);	/* RFC 8490 */
			item_free(e, it);
			continue;
		}
		if (dns_msg_parse(m, it->pkt, it->len)) {
			item_free(e, it);
			continue;
		}
		if (!(m->hdr.flags & DNS_FLAG_QR) && dns_flags_opcode(m->hdr.flags) == DNS_OPCODE_UPDATE) {
			handle_update(e, it);	/* answered after the commit */
			n++;
			continue;
		}
		if (it->src.conn && !(m->hdr.flags & DNS_FLAG_QR) &&
		    dns_flags_opcode(m->hdr.flags) == DNS_OPCODE_QUERY && dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt))
			push_query(e->push, e->qs, &it->src);	/* a signed query on TLS (query.c) */
		else
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
	push_tick(e->push);
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
	push_tick(e->push);
	engine_rearm(e);
}

void engine_rearm(struct engine *e)
{
	int64_t next = zone_next_expiry(e->d->zone);
	uint64_t dl = watch_next_deadline(e->watch), pdl = push_next_deadline(e->push);
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
	if (pdl < dl)
		dl = pdl;	/* one timer for the LLQs and the DSO sessions */
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
	push_conn_closed(e->push, conn);
	engine_rearm(e);
}

int engine_stopping(struct engine *e)
{
	return push_stopping(e->push);
}

void engine_conn_activity(struct engine *e, uint64_t conn)
{
	push_activity(e->push, conn);
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
	e->n_frozen = 0;	/* a move done (or given up): the account is gone, or writable again */
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
	zone_free(old_z);
	commit_zone_replaced(e->commit);
	acct_rate_clear(e);	/* accounts may have gone: their buckets with them */
	push_accounts_changed(e->push, old_acc);	/* and their DNS Push sessions */
	accounts_free(old_acc);
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
	fprintf(fp, "watch_setups_admitted %llu\nwatch_setups_refused %llu\n",
		(unsigned long long)e->shed.admitted, (unsigned long long)e->shed.refused);
	push_print_stats(e->push, fp);
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
	e->acct_rate_mask = 63;
	e->acct_rate = calloc(e->acct_rate_mask + 1, sizeof(*e->acct_rate));
	e->replay = replay_new((size_t)d->cfg->replay_max);
	e->quota_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 10);
	e->done_tail = &e->done;
	e->fanout = fanout_new();
	if (d->cfg) {
		struct shed_cfg sc = { .rate = (uint32_t)d->cfg->watch_setup_rate,
				       .retry_min_ms = (uint32_t)d->cfg->shed_retry_min_ms,
				       .retry_max_ms = (uint32_t)d->cfg->shed_retry_max_ms };

		shed_init(&e->shed, &sc, clock_now_ms());
		d->shed = &e->shed;
	}
	e->watch = e->fanout ? watch_new(d, e->st, e->fanout, &watch_ops, e) : NULL;
	e->push = push_new(d, e->st, &watch_ops, e);
	e->ev_batch = event_new(base, -1, 0, on_batch, e);
	e->ev_expire = evtimer_new(base, on_expire, e);
	e->ev_llq = evtimer_new(base, on_llq, e);
	if (!e->qs || !e->out || !e->watch || !e->push || !e->commit || !e->rate || !e->acct_rate || !e->replay || !e->fanout || !e->ev_batch || !e->ev_expire || !e->ev_llq) {
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
	if (e->d->shed == &e->shed)
		e->d->shed = NULL;
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
	acct_rate_clear(e);
	free(e->acct_rate);
	replay_free(e->replay);
	watch_free(e->watch);
	push_free(e->push);
	free(e->out);
	free(e->qs);
	pthread_mutex_destroy(&e->qlock);
	free(e);
}
