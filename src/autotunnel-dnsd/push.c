/*
 * DNS Push (push.h): decodes DSO messages for lib/dso's session machine,
 * decides who may subscribe to what, and builds the responses, PUSHes
 * and Retry Delays the machine asks for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "dso/dso.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/push.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/shed.h"
#include "autotunnel-dnsd/zone.h"
#include "util/random.h"

#define PUSH_OUT_MAX (65535 + 1024)

struct push {
	struct dnsd *d;
	struct stats *st;
	struct dso_server *dso;
	const struct transport_ops *ops;
	void *arg;
	uint8_t *out;			/* PUSH_OUT_MAX bytes for responses and queries' answers */
	uint8_t *msgs;			/* the PUSH messages of one change, each after a u16 length */
	size_t msgs_len, msgs_cap;
	struct log_ratelimit rl;
	/* counters of the policy (the machine counts the protocol) */
	uint64_t refused_private, refused_cleartext, refused_zone, refused_type, limit;
	uint64_t authenticated, reconfirm_removed, reconfirm_present, reconfirm_ignored, shed;
	const struct accounts *old;	/* the table before a reload, during push_accounts_changed() */
};

static void send_to(struct push *p, uint64_t conn, const uint8_t *msg, size_t len)
{
	struct transport_src to = { .t = Q_TLS, .conn = conn };

	p->ops->reply(p->arg, &to, msg, len);
}

static void abort_conn(struct push *p, uint64_t conn)
{
	if (p->ops->abort)
		p->ops->abort(p->arg, conn);
}

/*
 * The engine keeps a connection that has a session: no idle timeout of
 * RFC 7766, and engine_conn_closed() when it goes (transport.h). A message
 * still queued for a connection that is gone (aborted while its next
 * messages waited for the batch) must not leave a session behind that no
 * close would ever end. @return false when the connection is gone.
 */
static bool hold(struct push *p, uint64_t conn, bool had)
{
	if (had || !dso_server_has_session(p->dso, conn) || !p->ops->llq_live)
		return true;
	if (p->ops->llq_live(p->arg, conn))
		return true;
	dso_server_conn_closed(p->dso, conn);
	return false;
}

static void respond(struct push *p, uint64_t conn, uint16_t id, uint8_t rcode, uint32_t retry_ms)
{
	size_t len;

	if (dso_build_response(p->out, PUSH_OUT_MAX, id, rcode, retry_ms, &len) == 0)
		send_to(p, conn, p->out, len);
}

/* ---- PUSH messages ---- */

static int msgs_room(struct push *p, size_t need)
{
	if (p->msgs_len + need <= p->msgs_cap)
		return 0;
	size_t n = p->msgs_cap ? p->msgs_cap * 2 : 2 * (DSO_PUSH_MAX + 2);

	while (n < p->msgs_len + need)
		n *= 2;
	uint8_t *m = realloc(p->msgs, n);

	if (!m)
		return -ENOMEM;
	p->msgs = m;
	p->msgs_cap = n;
	return 0;
}

/* The builder of the message being written at the end of p->msgs. */
struct pushes {
	struct push *p;
	struct dso_push b;
	bool open;
};

static int pushes_close(struct pushes *x)
{
	size_t len;
	int rc;

	if (!x->open)
		return 0;
	x->open = false;
	rc = dso_push_finish(&x->b, &len);
	if (rc)
		return rc == -ENODATA ? 0 : rc;
	x->p->msgs[x->p->msgs_len] = (uint8_t)(len >> 8);
	x->p->msgs[x->p->msgs_len + 1] = (uint8_t)len;
	x->p->msgs_len += 2 + len;
	return 0;
}

static int pushes_open(struct pushes *x)
{
	struct push *p = x->p;
	int rc = msgs_room(p, 2 + DSO_PUSH_MAX);

	if (rc)
		return rc;
	rc = dso_push_begin(&x->b, p->msgs + p->msgs_len + 2, DSO_PUSH_MAX);
	x->open = rc == 0;
	return rc;
}

/* Add one change notification, starting another message when this one is full
 * (RFC 8765 §6.3.1: no PUSH longer than 16,382 bytes). */
static int pushes_add(struct pushes *x, const uint8_t *name, size_t nlen, uint16_t type, uint32_t ttl,
		      const uint8_t *rd, uint16_t rdlen)
{
	int rc;

	/* RFC 2181 §8: a TTL with the top bit set counts as 0; a PUSH could
	 * not carry it (RFC 8765 §6.3.1 gives those values other meanings) */
	if (ttl > 0x7FFFFFFFu && ttl != DSO_TTL_REMOVE)
		ttl = 0;
	if (!x->open && (rc = pushes_open(x)))
		return rc;
	rc = dso_push_add(&x->b, name, nlen, type, DNS_CLASS_IN, ttl, rd, rdlen);
	if (rc != -ENOSPC)
		return rc;
	if ((rc = pushes_close(x)) || (rc = pushes_open(x)))
		return rc;
	return dso_push_add(&x->b, name, nlen, type, DNS_CLASS_IN, ttl, rd, rdlen);
}

static void send_msgs(struct push *p, uint64_t conn)
{
	for (size_t off = 0; off + 2 <= p->msgs_len;) {
		size_t len = (size_t)p->msgs[off] << 8 | p->msgs[off + 1];

		send_to(p, conn, p->msgs + off + 2, len);
		off += 2 + len;
	}
}

/* Send everything the machine queued; PUSHes carry p->msgs. */
static void drain(struct push *p)
{
	struct dso_out o;
	size_t len;

	while (dso_server_pop(p->dso, &o)) {
		switch (o.kind) {
		case DSO_OUT_PUSH:
			send_msgs(p, o.conn);
			break;
		case DSO_OUT_RETRY_DELAY:
			if (dso_build_retry_delay(p->out, PUSH_OUT_MAX, o.rcode, o.delay_ms, &len) == 0)
				send_to(p, o.conn, p->out, len);
			log_debug("DSO session %llu: delinquent, sent Retry Delay", (unsigned long long)o.conn);
			break;
		case DSO_OUT_ABORT:
			log_debug("DSO session %llu: aborted", (unsigned long long)o.conn);
			abort_conn(p, o.conn);
			break;
		}
	}
}

/* ---- policy ---- */

/*
 * May session @p conn watch @p q? An RCODE (with a Retry Delay for the
 * response, RFC 8765 §6.2.2), or 0. The names of an account domain D are
 * the account's (RFC 6281 §7.2): only a session authenticated as D's
 * account watches them. Other names of the zone are public.
 */
static uint8_t decide(struct push *p, const struct transport_src *src, const struct dso_question *q,
		      const uint8_t *lname, uint32_t *retry_ms)
{
	struct dnsd *d = p->d;
	const struct account *owner;

	*retry_ms = 300000;	/* RFC 8765 §6.2.2: 5 minutes for REFUSED and NOTAUTH */
	/* RFC 8765 §7: "Cleartext connections for DNS Push Notifications are
	 * not permissible" */
	if (src->t != Q_TLS) {
		p->refused_cleartext++;
		return DNS_RCODE_REFUSED;
	}
	/* RFC 8765 §6.2.2: NOTAUTH for a name this server is not authoritative for */
	if (dnsd_zone_offset(d, lname, q->name_len) < 0) {
		p->refused_zone++;
		return DNS_RCODE_NOTAUTH;
	}
	if ((q->qclass != DNS_CLASS_IN && q->qclass != DSO_CLASS_ANY) ||
	    (dns_type_is_meta(q->qtype) && q->qtype != DNS_TYPE_ANY)) {
		p->refused_type++;
		return DNS_RCODE_REFUSED;
	}
	owner = accounts_owner(d->accounts, lname, q->name_len);
	if (d->cfg->private_zone && owner && dso_server_owner(p->dso, src->conn) != owner->id) {
		p->refused_private++;
		return DNS_RCODE_REFUSED;
	}
	return 0;
}

/* RFC 8765 §6.3: the records already there, in a PUSH right after the response. */
static void initial_push(struct push *p, uint64_t conn, const struct dso_question *q, const uint8_t *lname)
{
	const struct znode *n = zone_find(p->d->zone, lname, q->name_len);
	struct pushes x = { .p = p };
	int rc = 0;

	p->msgs_len = 0;
	for (const struct zrr *r = n ? n->rrs : NULL; r && rc == 0; r = r->next)
		if (q->qtype == DNS_TYPE_ANY || r->type == q->qtype)
			rc = pushes_add(&x, q->name, q->name_len, r->type, r->ttl, r->rdata, r->rdlen);
	if (rc == 0)
		rc = pushes_close(&x);
	if (rc) {
		/* the client would think it has everything: better none of it */
		log_warnx("DNS Push: cannot build the initial PUSH: %s", strerror(-rc));
		abort_conn(p, conn);
		return;
	}
	send_msgs(p, conn);
}

/* A short random retry delay for a watcher turned away (shed.h). */
static uint32_t shed_retry(const struct push *p)
{
	uint32_t r = 0;

	if (rand_bytes(&r, sizeof(r)))
		r = 0;
	return shed_retry_ms(p->d->shed, r);
}

static void subscribe(struct push *p, const struct transport_src *src, const struct dso_verdict *v)
{
	uint8_t lname[DSO_NAME_MAX];
	uint32_t retry_ms;
	uint8_t rcode;
	int rc;

	zone_name_lower(lname, v->q.name, v->q.name_len);
	rcode = decide(p, src, &v->q, lname, &retry_ms);
	if (rcode) {
		respond(p, src->conn, v->id, rcode, retry_ms);
		return;
	}
	if (p->d->shed && !shed_admit(p->d->shed, clock_now_ms())) {
		/* over the budget of new watchers (shed.h): RFC 8765 §6.2.2 SERVFAIL
		 * with a short random Retry Delay (RFC 8490 §7.1.1) */
		p->shed++;
		respond(p, src->conn, v->id, DNS_RCODE_SERVFAIL, shed_retry(p));
		return;
	}
	rc = dso_server_subscribe(p->dso, src->conn, v->id, &v->q, clock_now_ms());
	switch (rc) {
	case 0:
		respond(p, src->conn, v->id, DNS_RCODE_NOERROR, 0);
		initial_push(p, src->conn, &v->q, lname);
		return;
	case -EEXIST:
		abort_conn(p, src->conn);	/* RFC 8765 §6.2.1: fatal */
		return;
	case -ENOSPC:
		p->limit++;
		log_ratelimited(&p->rl, LOG_LEVEL_WARN, "DNS Push: subscription limit reached "
				"(push-per-session %d, push-max %d)", p->d->cfg->push_per_session,
				p->d->cfg->push_max);
		/* RFC 8765 §6.2.2: resources exhausted, SERVFAIL, and when to try again */
		if (p->d->shed)
			shed_refused(p->d->shed, clock_now_ms());
		respond(p, src->conn, v->id, DNS_RCODE_SERVFAIL, p->d->shed ? shed_retry(p) : 60000);
		return;
	default:
		respond(p, src->conn, v->id, DNS_RCODE_SERVFAIL, 60000);
		return;
	}
}

/* Are rdata @p a and @p b the same, names compared without case (RFC 4034 §6.2)? */
static bool rdata_same(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	static uint8_t ca[65535], cb[65535];	/* engine thread only */

	if (alen != blen)
		return false;
	memcpy(ca, a, alen);
	memcpy(cb, b, blen);
	if (dns_rdata_canonicalize(type, ca, alen) || dns_rdata_canonicalize(type, cb, blen))
		return memcmp(a, b, alen) == 0;
	return memcmp(ca, cb, alen) == 0;
}

/*
 * RFC 8765 §6.5: a client thinks a record is gone. Ours is the zone's
 * authority, so there is nothing to ask: when the record is not in the
 * zone, every session watching it is told so (a PUSH removing that RR),
 * the one asking included; when it is there, nothing happens. Only a
 * session that may watch the name is heard.
 */
static void reconfirm(struct push *p, const struct transport_src *src, const struct dso_verdict *v)
{
	const struct dso_reconfirm *rc = &v->rc;
	uint8_t lname[DSO_NAME_MAX];
	uint32_t retry_ms;
	const struct znode *n;
	struct pushes x = { .p = p };

	zone_name_lower(lname, rc->q.name, rc->q.name_len);
	if (decide(p, src, &rc->q, lname, &retry_ms)) {
		p->reconfirm_ignored++;
		return;
	}
	n = zone_find(p->d->zone, lname, rc->q.name_len);
	for (const struct zrr *r = n ? znode_first(n, rc->q.qtype) : NULL; r && r->type == rc->q.qtype; r = r->next) {
		if (rdata_same(r->type, r->rdata, r->rdlen, rc->rdata, rc->rdlen)) {
			p->reconfirm_present++;
			return;
		}
	}
	p->reconfirm_removed++;
	p->msgs_len = 0;
	if (pushes_add(&x, rc->q.name, rc->q.name_len, rc->q.qtype, DSO_TTL_REMOVE, rc->rdata, rc->rdlen) ||
	    pushes_close(&x))
		return;
	if (dso_server_notify(p->dso, rc->q.name, rc->q.name_len, rc->q.qtype, DNS_CLASS_IN, clock_now_ms()) < 0)
		log_warnx("DNS Push: out of memory queueing PUSH messages");
	drain(p);
}

void push_handle(struct push *p, const uint8_t *pkt, size_t len, const struct transport_src *src)
{
	bool had = dso_server_has_session(p->dso, src->conn);
	struct dso_verdict v;
	struct dso_msg m;
	size_t olen;
	int rc;

	if (src->t == Q_UDP)
		return;	/* DSO runs over streams only (RFC 8490 §4.2); query.c never hands one over */
	rc = dso_msg_parse(&m, pkt, len);
	if (rc) {
		/* RFC 8490 §5.4: FORMERR to a request whose header we read; a
		 * malformed unidirectional message or response is fatal */
		if (len >= DSO_HEADER_LEN && !m.qr && m.id)
			respond(p, src->conn, m.id, DNS_RCODE_FORMERR, 0);
		else
			abort_conn(p, src->conn);
		return;
	}
	if (dso_server_handle(p->dso, src->conn, &m, clock_now_ms(), &v)) {
		if (!m.qr && m.id)
			respond(p, src->conn, m.id, DNS_RCODE_SERVFAIL, 60000);
		return;
	}
	if (!hold(p, src->conn, had))
		return;
	switch (v.act) {
	case DSO_ACT_NONE:
		break;
	case DSO_ACT_RESPOND:
		respond(p, src->conn, v.id, v.rcode, v.retry_delay_ms);
		break;
	case DSO_ACT_KEEPALIVE:
		if (dso_build_keepalive_response(p->out, PUSH_OUT_MAX, v.id, &v.keepalive, &olen) == 0)
			send_to(p, src->conn, p->out, olen);
		break;
	case DSO_ACT_SUBSCRIBE:
		subscribe(p, src, &v);
		break;
	case DSO_ACT_RECONFIRM:
		reconfirm(p, src, &v);
		break;
	case DSO_ACT_ABORT:
		log_debug_rl("DSO: protocol error on connection %llu: aborted", (unsigned long long)src->conn);
		abort_conn(p, src->conn);
		break;
	}
}

void push_query(struct push *p, struct qscratch *s, const struct transport_src *src)
{
	const struct dns_msg *m = &s->msg;
	struct qreq rq;
	size_t len = 0;
	bool had = dso_server_has_session(p->dso, src->conn);

	push_activity(p, src->conn);
	if (query_check(p->d, s, p->st, src->t, &rq, p->out, PUSH_OUT_MAX, &len) == Q_ENGINE) {
		if (rq.tsig && rq.signer && src->t == Q_TLS) {
			/* the connection is the account's from now on (push.h) */
			bool was = dso_server_owner(p->dso, src->conn) != 0;

			if (dso_server_authenticate(p->dso, src->conn, rq.signer->id, clock_now_ms()) == 0) {
				if (!was)
					p->authenticated++;
				(void)hold(p, src->conn, had);
			}
		}
		if (query_begin(p->d, s, &rq, p->out, PUSH_OUT_MAX) == 0) {
			dns_builder_set_rcode(&s->b, query_answer(p->d, s, &rq, p->st));
			if (query_finish(p->d, s, &rq, p->out, PUSH_OUT_MAX, &len))
				len = 0;
		} else {
			len = 0;
		}
		if (len == 0) {
			stat_inc(p->st, STAT_servfail);
			len = (size_t)dns_msg_error_header(p->out, PUSH_OUT_MAX, &m->hdr, DNS_RCODE_SERVFAIL);
		}
	}
	if (len)
		p->ops->reply(p->arg, src, p->out, len);
	if (m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
}

void push_activity(struct push *p, uint64_t conn)
{
	dso_server_activity(p->dso, conn, clock_now_ms());
}

void push_notify(struct push *p, const uint8_t *lname, size_t len, uint16_t type, const uint8_t *rrs,
		 size_t rrs_len)
{
	struct wire r = wire_reader(rrs, rrs_len);
	struct pushes x = { .p = p };
	int n, rc = 0;

	n = dso_server_notify(p->dso, lname, len, type, DNS_CLASS_IN, clock_now_ms());
	if (n < 0)
		log_warnx("DNS Push: out of memory queueing PUSH messages");
	if (n <= 0) {
		drain(p);
		return;
	}
	/* one message (or a few) for every session: a PUSH has message id 0
	 * and no signature, so all subscribers get the same bytes */
	p->msgs_len = 0;
	while (wire_avail(&r) && !wire_err(&r) && rc == 0) {
		uint8_t nl = wire_read_u8(&r);
		const uint8_t *name = wire_read_ref(&r, nl);
		uint16_t rtype = wire_read_u16(&r);
		uint32_t ttl = wire_read_u32(&r);
		uint16_t rdlen = wire_read_u16(&r);
		const uint8_t *rd = wire_read_ref(&r, rdlen);

		if (wire_err(&r))
			break;
		/* TTL 0xFFFFFFFF marks a removal in commit.h's form, as it
		 * marks the removal of one RR in a PUSH (RFC 8765 §6.3.1) */
		rc = pushes_add(&x, name, nl, rtype, ttl, rd, rdlen);
	}
	if (rc == 0)
		rc = pushes_close(&x);
	if (rc) {
		log_warnx("DNS Push: cannot build a PUSH: %s", strerror(-rc));
		p->msgs_len = 0;
	}
	drain(p);
}

void push_tick(struct push *p)
{
	dso_server_tick(p->dso, clock_now_ms());
	drain(p);
}

uint64_t push_next_deadline(const struct push *p)
{
	return dso_server_next_deadline(p->dso);
}

static bool account_exists(void *arg, uint32_t owner)
{
	struct push *p = arg;

	return accounts_by_id(p->d->accounts, owner) != NULL;
}

/* Keep every session but those of accounts that moved to another primary. */
static bool not_moved(void *arg, uint32_t owner)
{
	struct push *p = arg;
	const struct account *was;

	if (accounts_by_id(p->d->accounts, owner))
		return true;
	was = p->old ? accounts_by_id(p->old, owner) : NULL;
	return !was || !accounts_moved_by_label(p->d->accounts, (const uint8_t *)was->label, was->label_len);
}

void push_accounts_changed(struct push *p, const struct accounts *old)
{
	uint32_t r = 0;
	int n;

	/*
	 * An account that moved: RFC 8490 §7.2.1 Retry Delay with NOTAUTH
	 * (this server is no longer the authority for the names watched) and
	 * a short delay, spread over 1-4 s so that the account's hosts do not
	 * all come back at once; they find the new primary through the parent.
	 */
	if (rand_bytes(&r, sizeof(r)))
		r = 0;
	p->old = old;
	n = dso_server_revoke(p->dso, not_moved, p, DNS_RCODE_NOTAUTH, 1000 + r % 3000, clock_now_ms());
	p->old = NULL;
	if (n > 0)
		log_info("DNS Push: %d sessions of moved accounts sent to their new primary", n);
	n = dso_server_revoke(p->dso, account_exists, p, DNS_RCODE_REFUSED, 300000, clock_now_ms());
	if (n > 0)
		log_info("DNS Push: %d sessions of removed accounts ended", n);
	drain(p);
}

static uint32_t stop_delay(void *arg)
{
	struct push *p = arg;
	uint32_t r = 0;

	if (p->d->shed)
		return shed_retry(p);
	if (rand_bytes(&r, sizeof(r)))
		r = 0;
	return 1000 + r % 4000;
}

int push_stopping(struct push *p)
{
	/* RFC 8490 §6.6.1: a server going away tells its sessions when to come
	 * back, each its own short random delay so that they do not all
	 * return in the same second (shed.h) */
	int n = dso_server_retry_all(p->dso, DNS_RCODE_NOERROR, stop_delay, p, clock_now_ms());

	if (n > 0)
		log_info("DNS Push: %d sessions told to come back in %u to %u ms", n,
			 p->d->shed ? p->d->shed->cfg.retry_min_ms : 1000,
			 p->d->shed ? p->d->shed->cfg.retry_max_ms : 5000);
	drain(p);
	return n;
}

void push_conn_closed(struct push *p, uint64_t conn)
{
	dso_server_conn_closed(p->dso, conn);
}

void push_print_stats(const struct push *p, FILE *fp)
{
	struct dso_stats s;

	dso_server_stats(p->dso, &s);
	fprintf(fp, "dso_sessions %u\npush_subscriptions %u\n", s.sessions, s.subscriptions);
	fprintf(fp, "dso_sessions_opened %llu\ndso_sessions_established %llu\ndso_sessions_closed %llu\n"
		"dso_keepalives %llu\ndso_formerr %llu\ndso_dsotypeni %llu\ndso_aborted %llu\n"
		"dso_delinquent %llu\ndso_authenticated %llu\n"
		"push_subscribes %llu\npush_unsubscribes %llu\npush_pushes %llu\npush_reconfirms %llu\n"
		"push_reconfirm_removed %llu\npush_reconfirm_present %llu\npush_reconfirm_ignored %llu\n"
		"push_refused_private %llu\npush_refused_cleartext %llu\npush_refused_zone %llu\n"
		"push_refused_type %llu\npush_refused_limit %llu\npush_refused_shed %llu\n",
		(unsigned long long)s.sessions_opened, (unsigned long long)s.sessions_established,
		(unsigned long long)s.sessions_closed, (unsigned long long)s.keepalives,
		(unsigned long long)s.formerr, (unsigned long long)s.dsotypeni,
		(unsigned long long)s.aborted, (unsigned long long)s.delinquent,
		(unsigned long long)p->authenticated, (unsigned long long)s.subscribes,
		(unsigned long long)s.unsubscribes, (unsigned long long)s.pushes,
		(unsigned long long)s.reconfirms, (unsigned long long)p->reconfirm_removed,
		(unsigned long long)p->reconfirm_present, (unsigned long long)p->reconfirm_ignored,
		(unsigned long long)p->refused_private, (unsigned long long)p->refused_cleartext,
		(unsigned long long)p->refused_zone, (unsigned long long)p->refused_type,
		(unsigned long long)p->limit, (unsigned long long)p->shed);
}

struct push *push_new(struct dnsd *d, struct stats *st, const struct transport_ops *ops, void *arg)
{
	struct push *p = calloc(1, sizeof(*p));
	struct dso_config c;

	if (!p)
		return NULL;
	p->d = d;
	p->st = st;
	p->ops = ops;
	p->arg = arg;
	p->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 10);
	dso_config_default(&c);
	c.inactivity_ms = (uint32_t)d->cfg->dso_inactivity_ms;
	c.keepalive_ms = (uint32_t)d->cfg->dso_keepalive_ms;
	c.subs_per_session = (uint32_t)d->cfg->push_per_session;
	c.subs_max = (uint32_t)d->cfg->push_max;
	p->dso = dso_server_new(&c);
	p->out = malloc(PUSH_OUT_MAX);
	if (!p->dso || !p->out) {
		push_free(p);
		return NULL;
	}
	return p;
}

void push_free(struct push *p)
{
	if (!p)
		return;
	dso_server_free(p->dso);
	free(p->out);
	free(p->msgs);
	free(p);
}
