/*
 * The DSO server machine (dso.h): sessions with their timers (RFC 8490 §6)
 * and Push subscriptions (RFC 8765 §6), a table of all subscriptions by
 * name, and a queue of what the caller must send or do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dso/dso.h"

#define SESSION_BUCKETS 16384u
#define SUB_BUCKETS_MIN 256u
#define DELINQUENT_MIN_MS 5000u	/* RFC 8490 §6.4.1: "five seconds or twice ..." */

struct session;

struct sub {
	struct sub *hnext, *hprev;	/* the by-name table's chain */
	struct sub *snext;		/* the session's list */
	struct session *sess;
	uint32_t hash;
	uint16_t id;			/* the SUBSCRIBE's message id */
	uint16_t qtype, qclass;
	uint8_t name_len;
	uint8_t lname[];		/* lower case */
};

struct session {
	struct session *next;		/* by connection id */
	uint64_t conn;
	uint32_t owner;
	bool established, closing, aborted;
	uint32_t inactivity_ms, keepalive_ms;	/* in force (§6.2: 15 s each until a Keepalive) */
	uint64_t last_activity;		/* the inactivity timer (§6.3) */
	uint64_t last_msg;		/* the keepalive timer */
	uint64_t close_at;		/* closing: when the grace period ends */
	uint64_t mark;			/* notify generation: one PUSH per change */
	uint32_t n_subs;
	struct sub *subs;
};

struct dso_server {
	struct dso_config cfg;
	struct session *sess[SESSION_BUCKETS];
	struct sub **subs;		/* by name hash */
	size_t sub_mask, n_subs;
	uint64_t gen;
	uint64_t next_deadline;		/* a lower bound on every session's deadline */
	struct dso_out *q;		/* ring of outputs */
	size_t q_cap, q_head, q_len;
	struct dso_stats st;
};

void dso_config_default(struct dso_config *c)
{
	c->inactivity_ms = DSO_TIMEOUT_DEFAULT_MS;
	c->keepalive_ms = 3600000u;	/* §6.5.2: RECOMMENDED 60 minutes */
	c->subs_per_session = 1024;
	c->subs_max = 1000000;
	c->retry_delay_ms = 60000;
	c->refused_retry_ms = 300000;	/* RFC 8765 §6.2.2: 5 minutes for REFUSED */
	c->grace_ms = 5000;		/* RFC 8490 §6.6.1: five seconds to close */
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ lower(name[i])) * 16777619u;
	return h;
}

/* Names equal ignoring ASCII case (RFC 4343); @p l is lower case already. */
static bool name_eq(const uint8_t *l, size_t llen, const uint8_t *name, size_t len)
{
	if (llen != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (l[i] != lower(name[i]))
			return false;
	return true;
}

static struct session *find(const struct dso_server *s, uint64_t conn)
{
	for (struct session *p = s->sess[conn % SESSION_BUCKETS]; p; p = p->next)
		if (p->conn == conn)
			return p;
	return NULL;
}

static uint64_t session_deadline(const struct dso_server *s, const struct session *p)
{
	uint64_t d = UINT64_MAX;

	if (p->aborted)
		return UINT64_MAX;
	if (p->closing)
		return p->close_at;
	/* §6.5.1: twice the keepalive interval without any message */
	if (p->keepalive_ms != DSO_TIMEOUT_INFINITE)
		d = p->last_msg + 2ull * p->keepalive_ms;
	/* §6.4.1: with no operation active, five seconds or twice the
	 * inactivity timeout, whichever is greater; a subscription is an
	 * operation in progress for as long as it lasts (§6.3) */
	if (p->n_subs == 0 && p->inactivity_ms != DSO_TIMEOUT_INFINITE) {
		uint64_t t = 2ull * p->inactivity_ms;
		uint64_t dl = p->last_activity + (t > DELINQUENT_MIN_MS ? t : DELINQUENT_MIN_MS);

		if (dl < d)
			d = dl;
	}
	(void)s;
	return d;
}

static void note_deadline(struct dso_server *s, const struct session *p)
{
	uint64_t d = session_deadline(s, p);

	if (d < s->next_deadline)
		s->next_deadline = d;
}

static struct session *session_get(struct dso_server *s, uint64_t conn, uint64_t now)
{
	struct session *p = find(s, conn);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->conn = conn;
	p->inactivity_ms = DSO_TIMEOUT_DEFAULT_MS;
	p->keepalive_ms = DSO_TIMEOUT_DEFAULT_MS;
	p->last_activity = p->last_msg = now;
	p->next = s->sess[conn % SESSION_BUCKETS];
	s->sess[conn % SESSION_BUCKETS] = p;
	s->st.sessions_opened++;
	s->st.sessions++;
	note_deadline(s, p);
	return p;
}

static int queue(struct dso_server *s, const struct dso_out *o)
{
	if (s->q_len == s->q_cap) {
		size_t n = s->q_cap ? s->q_cap * 2 : 64;
		struct dso_out *q = malloc(n * sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->q[(s->q_head + i) % s->q_cap];
		free(s->q);
		s->q = q;
		s->q_cap = n;
		s->q_head = 0;
	}
	s->q[(s->q_head + s->q_len) % s->q_cap] = *o;
	s->q_len++;
	return 0;
}

bool dso_server_pop(struct dso_server *s, struct dso_out *out)
{
	if (s->q_len == 0)
		return false;
	*out = s->q[s->q_head];
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_len--;
	return true;
}

struct dso_server *dso_server_new(const struct dso_config *cfg)
{
	struct dso_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.keepalive_ms < DSO_KEEPALIVE_MIN_MS)
		s->cfg.keepalive_ms = DSO_KEEPALIVE_MIN_MS;
	s->sub_mask = SUB_BUCKETS_MIN - 1;
	s->subs = calloc(SUB_BUCKETS_MIN, sizeof(*s->subs));
	s->next_deadline = UINT64_MAX;
	if (!s->subs) {
		free(s);
		return NULL;
	}
	return s;
}

static void sub_unhash(struct dso_server *s, struct sub *b)
{
	if (b->hprev)
		b->hprev->hnext = b->hnext;
	else
		s->subs[b->hash & s->sub_mask] = b->hnext;
	if (b->hnext)
		b->hnext->hprev = b->hprev;
	s->n_subs--;
}

static void sub_hash(struct dso_server *s, struct sub *b)
{
	struct sub **head = &s->subs[b->hash & s->sub_mask];

	b->hprev = NULL;
	b->hnext = *head;
	if (*head)
		(*head)->hprev = b;
	*head = b;
	s->n_subs++;
}

/* One bucket per subscription at most: double the table when it fills. */
static void subs_grow(struct dso_server *s)
{
	size_t n = (s->sub_mask + 1) * 2;
	struct sub **t = calloc(n, sizeof(*t));

	if (!t)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i <= s->sub_mask; i++) {
		struct sub *b = s->subs[i], *next;

		for (; b; b = next) {
			struct sub **head = &t[b->hash & (n - 1)];

			next = b->hnext;
			b->hprev = NULL;
			b->hnext = *head;
			if (*head)
				(*head)->hprev = b;
			*head = b;
		}
	}
	free(s->subs);
	s->subs = t;
	s->sub_mask = n - 1;
}

static void session_free(struct dso_server *s, struct session *p)
{
	struct session **pp;

	while (p->subs) {
		struct sub *b = p->subs;

		p->subs = b->snext;
		sub_unhash(s, b);
		free(b);
	}
	for (pp = &s->sess[p->conn % SESSION_BUCKETS]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	s->st.sessions--;
	s->st.sessions_closed++;
	free(p);
}

void dso_server_free(struct dso_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SESSION_BUCKETS; i++)
		while (s->sess[i])
			session_free(s, s->sess[i]);
	free(s->subs);
	free(s->q);
	free(s);
}

bool dso_server_has_session(const struct dso_server *s, uint64_t conn)
{
	return find(s, conn) != NULL;
}

int dso_server_authenticate(struct dso_server *s, uint64_t conn, uint32_t owner, uint64_t now_ms)
{
	struct session *p = session_get(s, conn, now_ms);

	if (!p)
		return -ENOMEM;
	if (!p->owner)
		p->owner = owner;
	return 0;
}

uint32_t dso_server_owner(const struct dso_server *s, uint64_t conn)
{
	const struct session *p = find(s, conn);

	return p ? p->owner : 0;
}

void dso_server_activity(struct dso_server *s, uint64_t conn, uint64_t now_ms)
{
	struct session *p = find(s, conn);

	if (p)
		p->last_activity = p->last_msg = now_ms;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static struct sub *sub_by_id(const struct session *p, uint16_t id)
{
	for (struct sub *b = p->subs; b; b = b->snext)
		if (b->id == id)
			return b;
	return NULL;
}

static bool sub_matches_q(const struct sub *b, const struct dso_question *q)
{
	return b->qtype == q->qtype && b->qclass == q->qclass && name_eq(b->lname, b->name_len, q->name, q->name_len);
}

/* A request (message id not 0) gets an error response; a unidirectional
 * message cannot, so its error is fatal (RFC 8490 §5.4.3). */
static void error_or_abort(struct dso_server *s, uint16_t id, uint8_t rcode, struct dso_verdict *v)
{
	if (id) {
		v->act = DSO_ACT_RESPOND;
		v->rcode = rcode;
		if (rcode == 1)
			s->st.formerr++;
		else if (rcode == DSO_RCODE_DSOTYPENI)
			s->st.dsotypeni++;
	} else {
		v->act = DSO_ACT_ABORT;
		s->st.aborted++;
	}
}

static void abort_v(struct dso_server *s, struct dso_verdict *v)
{
	v->act = DSO_ACT_ABORT;
	s->st.aborted++;
}

int dso_server_handle(struct dso_server *s, uint64_t conn, const struct dso_msg *m, uint64_t now_ms,
		      struct dso_verdict *v)
{
	struct session *p = session_get(s, conn, now_ms);
	const struct dso_tlv *t;
	uint16_t sub_id;

	memset(v, 0, sizeof(*v));
	if (!p)
		return -ENOMEM;
	v->id = m->id;
	if (p->closing || p->aborted)
		return 0;	/* §6.6.1.1: ignored after a Retry Delay, no response */
	if (m->qr) {
		/* this server sends no DSO requests, so no response can be
		 * expected; one with id 0 is fatal anyway (§5.4.1) */
		abort_v(s, v);
		return 0;
	}
	t = &m->tlv[0];
	/* §6.3: a message resets both timers, a Keepalive only the keepalive timer */
	p->last_msg = now_ms;
	if (t->type != DSO_TYPE_KEEPALIVE)
		p->last_activity = now_ms;
	switch (t->type) {
	case DSO_TYPE_KEEPALIVE: {
		struct dso_keepalive k;

		if (m->id == 0) {	/* §7.1: from a client, always a request */
			abort_v(s, v);
			return 0;
		}
		if (dso_keepalive_read(t, &k)) {
			error_or_abort(s, m->id, 1, v);
			return 0;
		}
		/* §7.1: the server's values are the ones in force; grant what
		 * was asked within ours, never a keepalive under 10 s (§6.5.2) */
		p->inactivity_ms = min32(k.inactivity_ms, s->cfg.inactivity_ms);
		p->keepalive_ms = min32(k.keepalive_ms, s->cfg.keepalive_ms);
		if (p->keepalive_ms < DSO_KEEPALIVE_MIN_MS)
			p->keepalive_ms = DSO_KEEPALIVE_MIN_MS;
		v->act = DSO_ACT_KEEPALIVE;
		v->keepalive = (struct dso_keepalive){ p->inactivity_ms, p->keepalive_ms };
		if (!p->established)
			s->st.sessions_established++;
		p->established = true;	/* §5.1.2: answered NOERROR */
		s->st.keepalives++;
		break;
	}
	case DSO_TYPE_SUBSCRIBE:
		if (m->id == 0) {	/* RFC 8765 §6.2.1: a request */
			abort_v(s, v);
			return 0;
		}
		if (dso_subscribe_read(t, &v->q)) {
			error_or_abort(s, m->id, 1, v);
			return 0;
		}
		/* RFC 8765 §6.2.1: a duplicate subscription is fatal; so is a
		 * message id still in use (RFC 8490 §5.4.1) */
		for (struct sub *b = p->subs; b; b = b->snext) {
			if (b->id == m->id || sub_matches_q(b, &v->q)) {
				abort_v(s, v);
				return 0;
			}
		}
		v->act = DSO_ACT_SUBSCRIBE;
		break;
	case DSO_TYPE_UNSUBSCRIBE:
		/* unidirectional (RFC 8765 §6.4.1), only on an established
		 * session (RFC 8490 §5.1) */
		if (m->id != 0 || !p->established || dso_unsubscribe_read(t, &sub_id)) {
			abort_v(s, v);
			return 0;
		}
		/* §6.4.1: one matching no active subscription is ignored */
		for (struct sub **pp = &p->subs; *pp; pp = &(*pp)->snext) {
			struct sub *b = *pp;

			if (b->id == sub_id) {
				*pp = b->snext;
				sub_unhash(s, b);
				free(b);
				p->n_subs--;
				s->st.unsubscribes++;
				break;
			}
		}
		v->act = DSO_ACT_NONE;
		break;
	case DSO_TYPE_RECONFIRM:
		if (m->id != 0 || !p->established || dso_reconfirm_read(t, &v->rc)) {
			abort_v(s, v);
			return 0;
		}
		s->st.reconfirms++;
		v->act = DSO_ACT_RECONFIRM;
		break;
	case DSO_TYPE_RETRY_DELAY:	/* RFC 8490 §7.2.1: never from a client */
	case DSO_TYPE_PUSH:		/* RFC 8765 §6.3: never from a client */
		abort_v(s, v);
		return 0;
	case DSO_TYPE_PADDING:		/* §7.3: never primary */
		error_or_abort(s, m->id, 1, v);
		return 0;
	default:
		/* §5.4.5: DSOTYPENI to a request, fatal in a unidirectional message */
		error_or_abort(s, m->id, DSO_RCODE_DSOTYPENI, v);
		return 0;
	}
	note_deadline(s, p);
	return 0;
}

int dso_server_subscribe(struct dso_server *s, uint64_t conn, uint16_t id, const struct dso_question *q,
			 uint64_t now_ms)
{
	struct session *p = find(s, conn);
	struct sub *b;

	if (!p)
		return -ENOENT;
	if (sub_by_id(p, id))
		return -EEXIST;
	for (b = p->subs; b; b = b->snext)
		if (sub_matches_q(b, q))
			return -EEXIST;
	if (p->n_subs >= s->cfg.subs_per_session || s->n_subs >= s->cfg.subs_max) {
		s->st.refused_limit++;
		return -ENOSPC;
	}
	b = calloc(1, sizeof(*b) + q->name_len);
	if (!b)
		return -ENOMEM;
	b->sess = p;
	b->id = id;
	b->qtype = q->qtype;
	b->qclass = q->qclass;
	b->name_len = q->name_len;
	for (size_t i = 0; i < q->name_len; i++)
		b->lname[i] = lower(q->name[i]);
	b->hash = name_hash(q->name, q->name_len);
	if (s->n_subs > s->sub_mask)
		subs_grow(s);
	sub_hash(s, b);
	b->snext = p->subs;
	p->subs = b;
	p->n_subs++;
	if (!p->established)
		s->st.sessions_established++;
	p->established = true;	/* RFC 8765 §6: a SUBSCRIBE answered NOERROR establishes it */
	p->last_activity = p->last_msg = now_ms;
	s->st.subscribes++;
	return 0;
}

static bool sub_matches(const struct sub *b, const uint8_t *name, size_t len, uint16_t type, uint16_t rclass)
{
	/* RFC 8765 §6.2.1: TYPE and CLASS ANY match any */
	return (b->qtype == DSO_TYPE_ANY || b->qtype == type) &&
	       (b->qclass == DSO_CLASS_ANY || b->qclass == rclass) && name_eq(b->lname, b->name_len, name, len);
}

int dso_server_notify(struct dso_server *s, const uint8_t *name, size_t name_len, uint16_t rrtype,
		      uint16_t rrclass, uint64_t now_ms)
{
	uint32_t h = name_hash(name, name_len);
	int n = 0;

	s->gen++;
	for (struct sub *b = s->subs[h & s->sub_mask]; b; b = b->hnext) {
		struct session *p = b->sess;
		struct dso_out o = { .kind = DSO_OUT_PUSH };

		if (b->hash != h || !sub_matches(b, name, name_len, rrtype, rrclass))
			continue;
		/* §6.3.1: one PUSH per session however many subscriptions
		 * match; none after a Retry Delay (RFC 8490 §6.6.1) */
		if (p->mark == s->gen || p->closing || p->aborted)
			continue;
		p->mark = s->gen;
		o.conn = p->conn;
		if (queue(s, &o))
			return -ENOMEM;
		p->last_msg = p->last_activity = now_ms;	/* §6.3: a message sent */
		s->st.pushes++;
		n++;
	}
	return n;
}

bool dso_server_watches(const struct dso_server *s, uint64_t conn, const uint8_t *name, size_t name_len,
			uint16_t rrtype, uint16_t rrclass)
{
	const struct session *p = find(s, conn);

	for (const struct sub *b = p ? p->subs : NULL; b; b = b->snext)
		if (sub_matches(b, name, name_len, rrtype, rrclass))
			return true;
	return false;
}

int dso_server_revoke(struct dso_server *s, bool (*keep)(void *arg, uint32_t owner), void *arg, uint8_t rcode,
		      uint32_t delay_ms, uint64_t now_ms)
{
	int n = 0;

	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		for (struct session *p = s->sess[i]; p; p = p->next) {
			struct dso_out o = { .conn = p->conn, .rcode = rcode, .delay_ms = delay_ms };

			if (!p->owner || p->closing || p->aborted || keep(arg, p->owner))
				continue;
			/* §6.6.1: after a Retry Delay, no further message */
			o.kind = p->established ? DSO_OUT_RETRY_DELAY : DSO_OUT_ABORT;
			if (queue(s, &o))
				return -ENOMEM;
			if (p->established) {
				p->closing = true;
				p->close_at = now_ms + s->cfg.grace_ms;
				note_deadline(s, p);
			} else {
				p->aborted = true;
				s->st.aborted++;
			}
			n++;
		}
	}
	return n;
}

int dso_server_retry_all(struct dso_server *s, uint8_t rcode, uint32_t (*delay)(void *arg), void *arg,
			 uint64_t now_ms)
{
	int n = 0;

	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		for (struct session *p = s->sess[i]; p; p = p->next) {
			struct dso_out o = { .kind = DSO_OUT_RETRY_DELAY, .conn = p->conn, .rcode = rcode };

			/* §5.1: no DSO message before the session is established */
			if (!p->established || p->closing || p->aborted)
				continue;
			o.delay_ms = delay(arg);
			if (queue(s, &o))
				return -ENOMEM;
			p->closing = true;
			p->close_at = now_ms + s->cfg.grace_ms;
			note_deadline(s, p);
			n++;
		}
	}
	return n;
}

void dso_server_conn_closed(struct dso_server *s, uint64_t conn)
{
	struct session *p = find(s, conn);

	if (p)
		session_free(s, p);
}

void dso_server_tick(struct dso_server *s, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		for (struct session *p = s->sess[i]; p; p = p->next) {
			uint64_t d = session_deadline(s, p);
			struct dso_out o = { .conn = p->conn };

			if (d > now_ms) {
				if (d < next)
					next = d;
				continue;
			}
			if (p->closing || !p->established) {
				/* the grace period is over, or a connection
				 * without a session, where no DSO message may
				 * be sent (§5.1): abort */
				o.kind = DSO_OUT_ABORT;
				p->aborted = true;
				s->st.aborted++;
				if (!p->closing)
					s->st.delinquent++;
			} else {
				/* §6.6: a delinquent client is sent a Retry
				 * Delay rather than dropped, so that it does not
				 * come back at once (§6.6.1); five seconds later
				 * it is aborted if still there */
				o.kind = DSO_OUT_RETRY_DELAY;
				o.rcode = 0;
				o.delay_ms = s->cfg.retry_delay_ms;
				p->closing = true;
				p->close_at = now_ms + s->cfg.grace_ms;
				s->st.delinquent++;
				if (p->close_at < next)
					next = p->close_at;
			}
			if (queue(s, &o)) {
				/* out of memory: undo, and try again at the next tick */
				if (o.kind == DSO_OUT_RETRY_DELAY)
					p->closing = false;
				p->aborted = false;
				next = now_ms;
			}
		}
	}
	s->next_deadline = next;
}

uint64_t dso_server_next_deadline(const struct dso_server *s)
{
	return s->next_deadline;
}

void dso_server_stats(const struct dso_server *s, struct dso_stats *st)
{
	*st = s->st;
	st->subscriptions = (uint32_t)s->n_subs;	/* counted once, by the table */
}
