/* lib/dnsc/llq.c: the LLQ client state machine (see llq.h). */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dns/edns.h"
#include "dnsc/llq.h"

static uint64_t after(uint64_t now, uint64_t ms)
{
	return now > DNSC_NEVER - ms - 1 ? DNSC_NEVER - 1 : now + ms;
}

static uint64_t backoff(const struct dnsc_llq_cfg *cfg, uint32_t n)
{
	uint64_t d = cfg->retry_min_ms;

	for (uint32_t i = 0; i < n && d < cfg->retry_max_ms; i++)
		d *= 2;
	return d < cfg->retry_max_ms ? d : cfg->retry_max_ms;
}

void dnsc_llq_cfg_default(struct dnsc_llq_cfg *cfg)
{
	*cfg = (struct dnsc_llq_cfg){
		.lease_s = DNSC_LLQ_LEASE,
		.retry_min_ms = 1000,
		.retry_max_ms = 300000,
	};
}

void dnsc_llq_init(struct dnsc_llq_client *c, const struct dnsc_llq_cfg *cfg,
		   const struct dns_tsig_key *key)
{
	memset(c, 0, sizeof(*c));
	if (cfg)
		c->cfg = *cfg;
	else
		dnsc_llq_cfg_default(&c->cfg);
	if (c->cfg.retry_min_ms == 0)
		c->cfg.retry_min_ms = 1;
	if (key) {
		c->key = *key;
		c->has_key = true;
	}
}

void dnsc_llq_fini(struct dnsc_llq_client *c)
{
	OPENSSL_cleanse(&c->key, sizeof(c->key));
	c->has_key = false;
}

const char *dnsc_llq_state_name(enum dnsc_llq_state s)
{
	switch (s) {
	case DNSC_LLQ_FREE: return "free";
	case DNSC_LLQ_IDLE: return "idle";
	case DNSC_LLQ_SETUP: return "setup";
	case DNSC_LLQ_UP: return "up";
	case DNSC_LLQ_REFRESH: return "refresh";
	case DNSC_LLQ_CANCEL: return "cancel";
	case DNSC_LLQ_FAILED: return "failed";
	}
	return "?";
}

static bool wanted(const struct dnsc_llq *q)
{
	return q->state != DNSC_LLQ_FREE && q->state != DNSC_LLQ_CANCEL;
}

int dnsc_llq_find(const struct dnsc_llq_client *c, const struct dns_name *name, uint16_t type)
{
	for (unsigned i = 0; i < c->n; i++)
		if (wanted(&c->q[i]) && c->q[i].q.type == type && dns_name_equal(&c->q[i].q.name, name))
			return (int)i;
	return -ENOENT;
}

static void slot_free(struct dnsc_llq_client *c, unsigned i)
{
	uint16_t seq = c->q[i].seq;

	memset(&c->q[i], 0, sizeof(c->q[i]));
	c->q[i].seq = (uint16_t)(seq + 1);
	while (c->n > 0 && c->q[c->n - 1].state == DNSC_LLQ_FREE)
		c->n--;
}

int dnsc_llq_add(struct dnsc_llq_client *c, const struct dns_name *name, uint16_t type)
{
	int idx = dnsc_llq_find(c, name, type);
	unsigned i;

	if (idx >= 0)
		return idx;
	for (i = 0; i < DNSC_LLQ_MAX; i++)
		if (c->q[i].state == DNSC_LLQ_FREE)
			break;
	if (i == DNSC_LLQ_MAX)
		return -ENOSPC;
	c->q[i].state = DNSC_LLQ_IDLE;
	c->q[i].q.name = *name;
	c->q[i].q.type = type;
	c->q[i].inflight = false;
	c->q[i].refresh = false;
	c->q[i].fails = 0;
	c->q[i].seq++;
	if (i >= c->n)
		c->n = i + 1;
	return (int)i;
}

void dnsc_llq_remove(struct dnsc_llq_client *c, unsigned idx)
{
	struct dnsc_llq *q;

	if (idx >= c->n)
		return;
	q = &c->q[idx];
	switch (q->state) {
	case DNSC_LLQ_UP:
	case DNSC_LLQ_REFRESH:
	case DNSC_LLQ_SETUP:
		/*
		 * RFC 8764 §7: cancel with a refresh of lease 0. A setup still
		 * out is cancelled once its answer gives us the id.
		 */
		q->state = DNSC_LLQ_CANCEL;
		q->refresh = false;
		if (!c->connected)
			slot_free(c, idx);
		break;
	case DNSC_LLQ_IDLE:
	case DNSC_LLQ_FAILED:
		slot_free(c, idx);
		break;
	default:
		break;
	}
}

int dnsc_llq_sync(struct dnsc_llq_client *c, const struct dnsc_question *want, size_t n)
{
	int changes = 0;

	for (unsigned i = 0; i < c->n; i++) {
		bool keep = false;

		if (!wanted(&c->q[i]))
			continue;
		for (size_t j = 0; j < n && !keep; j++)
			keep = want[j].type == c->q[i].q.type && dns_name_equal(&want[j].name, &c->q[i].q.name);
		if (!keep) {
			dnsc_llq_remove(c, i);
			changes++;
		}
	}
	for (size_t j = 0; j < n; j++) {
		if (dnsc_llq_find(c, &want[j].name, want[j].type) >= 0)
			continue;
		if (dnsc_llq_add(c, &want[j].name, want[j].type) < 0)
			return -ENOSPC;
		changes++;
	}
	return changes;
}

void dnsc_llq_connected(struct dnsc_llq_client *c, uint64_t now)
{
	(void)now;
	c->connected = true;
}

void dnsc_llq_disconnected(struct dnsc_llq_client *c)
{
	c->connected = false;
	for (unsigned i = 0; i < c->n; i++) {
		struct dnsc_llq *q = &c->q[i];

		if (q->state == DNSC_LLQ_FREE)
			continue;
		if (q->state == DNSC_LLQ_CANCEL) {
			slot_free(c, i);
			continue;
		}
		/* answers to what was sent before are stale from now on */
		q->seq++;
		q->inflight = false;
		q->refresh = false;
		q->id = 0;
		q->lease_s = 0;
		if (q->state != DNSC_LLQ_FAILED)
			q->state = DNSC_LLQ_IDLE;
	}
}

void dnsc_llq_refresh_all(struct dnsc_llq_client *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->q[i].state == DNSC_LLQ_UP)
			c->q[i].refresh = true;
}

void dnsc_llq_retry_now(struct dnsc_llq_client *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->q[i].state == DNSC_LLQ_FAILED)
			c->q[i].state = DNSC_LLQ_IDLE;
}

bool dnsc_llq_busy(const struct dnsc_llq_client *c)
{
	if (!c->connected)
		return false;
	for (unsigned i = 0; i < c->n; i++) {
		const struct dnsc_llq *q = &c->q[i];

		if (q->state == DNSC_LLQ_SETUP || q->state == DNSC_LLQ_REFRESH || q->state == DNSC_LLQ_IDLE ||
		    (q->state == DNSC_LLQ_UP && q->refresh))
			return true;
	}
	return false;
}

static uint32_t make_token(const struct dnsc_llq *q, unsigned idx)
{
	return (uint32_t)q->seq << 16 | idx;
}

static struct dnsc_llq *from_token(struct dnsc_llq_client *c, uint32_t token, unsigned *idx)
{
	unsigned i = token & 0xffff;

	if (i >= c->n || c->q[i].state == DNSC_LLQ_FREE || c->q[i].seq != (uint16_t)(token >> 16) ||
	    !c->q[i].inflight)
		return NULL;
	*idx = i;
	return &c->q[i];
}

int dnsc_llq_next_request(struct dnsc_llq_client *c, uint64_t now, uint16_t id,
			  struct dns_tsig *t, uint64_t wall,
			  uint8_t *buf, size_t cap, size_t *len, uint32_t *token)
{
	(void)now;
	if (!c->connected)
		return 0;
	for (unsigned i = 0; i < c->n; i++) {
		struct dnsc_llq *q = &c->q[i];
		struct dns_llq o = { .version = DNS_EDNS_LLQ_VERSION };
		int rc;

		if (q->inflight)
			continue;
		switch (q->state) {
		case DNSC_LLQ_IDLE:
			/* RFC 8764 §5.2.1: setup, id 0 */
			o.opcode = DNS_LLQ_SETUP;
			o.lease = c->cfg.lease_s;
			break;
		case DNSC_LLQ_UP:
			if (!q->refresh)
				continue;
			/* §7.1: refresh with the id and the lease wanted */
			o.opcode = DNS_LLQ_REFRESH;
			o.id = q->id;
			o.lease = c->cfg.lease_s;
			break;
		case DNSC_LLQ_CANCEL:
			if (q->id == 0) {
				slot_free(c, i);
				continue;
			}
			/* §7.2: a refresh with lease 0 cancels */
			o.opcode = DNS_LLQ_REFRESH;
			o.id = q->id;
			o.lease = 0;
			break;
		default:
			continue;
		}
		if (c->has_key)
			dns_tsig_init(t, &c->key);
		else
			memset(t, 0, sizeof(*t));
		rc = dnsc_query_build(buf, cap, len, id, &q->q.name, q->q.type, &o,
				      c->has_key ? t : NULL, wall);
		if (rc) {
			dns_tsig_fini(t);
			return rc;
		}
		if (q->state == DNSC_LLQ_IDLE)
			q->state = DNSC_LLQ_SETUP;
		else if (q->state == DNSC_LLQ_UP)
			q->state = DNSC_LLQ_REFRESH;
		q->cancel_sent = q->state == DNSC_LLQ_CANCEL;
		q->refresh = false;
		q->inflight = true;
		*token = make_token(q, i);
		return 1;
	}
	return 0;
}

static void refused(struct dnsc_llq_client *c, struct dnsc_llq *q, uint64_t now)
{
	q->state = DNSC_LLQ_FAILED;
	q->id = 0;
	q->lease_s = 0;
	q->retry_ms = after(now, backoff(&c->cfg, q->fails));
	q->fails++;
}

static bool answered(unsigned rcode)
{
	return rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN;
}

int dnsc_llq_on_response(struct dnsc_llq_client *c, uint32_t token, const uint8_t *buf, size_t len,
			 uint16_t id, struct dns_tsig *t, uint64_t now, uint64_t wall,
			 struct dnsc_llq_result *res)
{
	struct dnsc_llq *q;
	struct dns_llq o;
	struct wire opt;
	unsigned idx;
	int rc;

	res->kind = DNSC_LLQ_NOTHING;
	res->lease_s = 0;
	res->llq_error = 0;
	res->rcode = 0;
	res->tsig_error = 0;
	res->server_rejected = false;
	q = from_token(c, token, &idx);
	if (!q)
		return 0;
	res->idx = idx;
	q->inflight = false;
	rc = dnsc_resp_open(&res->resp, buf, len, id, &q->q.name, q->q.type, c->has_key ? t : NULL, wall);
	res->rcode = res->resp.rcode;
	res->tsig_error = res->resp.tsig_error;
	res->server_rejected = res->resp.server_rejected;
	if (rc == -EIO)
		return rc;
	if (q->state == DNSC_LLQ_CANCEL) {
		if (!q->cancel_sent && rc == 0 && answered(res->rcode) &&
		    dns_edns_find(&res->resp.msg, DNS_EDNS_OPT_LLQ, &opt) == 0 &&
		    dns_llq_parse(&opt, &o) == 0 && o.error == DNS_LLQ_NOERROR &&
		    (q->id == 0 ? o.opcode == DNS_LLQ_SETUP && o.id != 0 : o.id == q->id)) {
			/* a setup or refresh answered after we stopped wanting it: cancel it */
			q->id = o.id;
			return 0;	/* the cancel goes out with the next request */
		}
		slot_free(c, idx);	/* the cancel was answered, or there is nothing to cancel */
		return 0;
	}
	/* a name with no data yet (the host list of a new account) is still watched: NXDOMAIN is an answer */
	if (rc == 0 && answered(res->rcode)) {
		if (dns_edns_find(&res->resp.msg, DNS_EDNS_OPT_LLQ, &opt) || dns_llq_parse(&opt, &o) ||
		    o.version != DNS_EDNS_LLQ_VERSION)
			rc = -EBADMSG;
	}
	if (rc || !answered(res->rcode)) {
		refused(c, q, now);
		res->kind = DNSC_LLQ_REFUSED;
		return rc == -EACCES ? 0 : rc;
	}
	if (q->state == DNSC_LLQ_REFRESH && o.error == DNS_LLQ_NOSUCHLLQ) {
		/* the server forgot it (restart, expiry): set it up again at once */
		q->state = DNSC_LLQ_IDLE;
		q->id = 0;
		q->lease_s = 0;
		res->kind = DNSC_LLQ_LOST;
		return 0;
	}
	if (o.error != DNS_LLQ_NOERROR || o.lease == 0 ||
	    (q->state == DNSC_LLQ_SETUP && (o.opcode != DNS_LLQ_SETUP || o.id == 0)) ||
	    (q->state == DNSC_LLQ_REFRESH && (o.opcode != DNS_LLQ_REFRESH || o.id != q->id))) {
		refused(c, q, now);
		res->kind = DNSC_LLQ_REFUSED;
		res->llq_error = o.error ? o.error : DNS_LLQ_FORMERR;
		/* RFC 8764 §3.2: with ServFull, LEASE-LIFE says when to try again */
		if (o.error == DNS_LLQ_SERVFULL && o.lease)
			q->retry_ms = after(now, (uint64_t)o.lease * 1000);
		return 0;
	}
	res->kind = q->state == DNSC_LLQ_SETUP ? DNSC_LLQ_ESTABLISHED : DNSC_LLQ_REFRESHED;
	q->state = DNSC_LLQ_UP;
	q->id = o.id;
	q->lease_s = o.lease;
	q->expires_ms = after(now, (uint64_t)o.lease * 1000);
	q->fails = 0;
	q->retry_ms = 0;
	res->lease_s = o.lease;
	return 0;
}

void dnsc_llq_on_failure(struct dnsc_llq_client *c, uint32_t token, uint64_t now)
{
	struct dnsc_llq *q;
	unsigned idx;

	q = from_token(c, token, &idx);
	if (!q)
		return;
	q->inflight = false;
	if (q->state == DNSC_LLQ_CANCEL) {
		slot_free(c, idx);
		return;
	}
	if (q->state == DNSC_LLQ_REFRESH && q->expires_ms > now) {
		/* still established until its lease ends: try the refresh again later */
		q->state = DNSC_LLQ_UP;
		q->retry_ms = after(now, backoff(&c->cfg, q->fails));
		q->fails++;
		return;
	}
	refused(c, q, now);
}

/* The only key an event may be signed with is the account's. */
static int our_key(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	const struct dnsc_llq_client *c = arg;

	if (!dns_name_equal(name, &c->key.name))
		return -ENOENT;
	*out = c->key;
	return 0;
}

int dnsc_llq_on_event(struct dnsc_llq_client *c, const uint8_t *buf, size_t len,
		      uint64_t now, uint64_t wall, struct dnsc_llq_result *res,
		      uint8_t *ack, size_t ackcap, size_t *acklen)
{
	struct dns_msg *m = &res->resp.msg;
	struct dns_name qn;
	struct dns_llq o, a;
	struct dns_tsig t;
	struct dns_builder b;
	struct wire opt;
	unsigned idx;
	int rc;

	res->kind = DNSC_LLQ_NOTHING;
	res->resp.rcode = 0;
	res->resp.tsig_error = 0;
	res->resp.server_rejected = false;
	res->resp.is_signed = false;
	if (dns_msg_parse(m, buf, len))
		return -EBADMSG;
	/* RFC 8764 §6.1: a gratuitous response carrying the LLQ option, opcode EVENT */
	if (!(m->hdr.flags & DNS_FLAG_QR) || dns_flags_opcode(m->hdr.flags) != DNS_OPCODE_QUERY ||
	    m->count[DNS_SEC_QUESTION] != 1)
		return -ENOENT;
	if (dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) || dns_llq_parse(&opt, &o) ||
	    o.opcode != DNS_LLQ_EVENT)
		return -ENOENT;
	if (dns_msg_name(m, m->qd[0].name, &qn))
		return -EBADMSG;
	for (idx = 0; idx < c->n; idx++) {
		struct dnsc_llq *q = &c->q[idx];

		if ((q->state == DNSC_LLQ_UP || q->state == DNSC_LLQ_REFRESH) && q->id == o.id &&
		    q->q.type == m->qd[0].type && dns_name_equal(&q->q.name, &qn))
			break;
	}
	if (idx == c->n)
		return -ENOENT;
	if (c->has_key) {
		/* the server signs an event as a request of its own (RFC 8945 §4.3.3) */
		memset(&t, 0, sizeof(t));
		rc = dns_tsig_verify_request(&t, m, our_key, c, wall);
		res->resp.tsig_error = t.error;
		dns_tsig_fini(&t);
		if (rc)
			return rc == -ENOMSG || rc == -EBADMSG ? -EACCES : rc;
	}
	res->kind = DNSC_LLQ_EVENT;
	res->idx = idx;
	res->lease_s = o.lease;
	res->resp.is_signed = c->has_key;
	c->events++;
	c->last_event_ms = now ? now : 1;

	/* RFC 8764 §6.2: acknowledge with the same id, the question and the LLQ option */
	a = (struct dns_llq){ .version = DNS_EDNS_LLQ_VERSION, .opcode = DNS_LLQ_EVENT,
			      .error = DNS_LLQ_NOERROR, .id = o.id, .lease = o.lease };
	if ((rc = dns_builder_init(&b, ack, ackcap, DNSC_MSG_MAX, m->hdr.id, DNS_FLAG_QR)))
		return rc;
	if (c->has_key) {
		dns_tsig_init(&t, &c->key);
		dns_builder_reserve(&b, dns_tsig_space(&t));
	}
	dns_builder_edns(&b, DNSC_EDNS_UDP, 0);
	if (!(rc = dns_builder_add_llq(&b, &a)) &&
	    !(rc = dns_builder_question(&b, &qn, m->qd[0].type, DNS_CLASS_IN)) &&
	    !(rc = dns_builder_finish(&b, acklen)) && c->has_key)
		rc = dns_tsig_sign_request(&t, ack, *acklen, ackcap, acklen, wall);
	if (c->has_key)
		dns_tsig_fini(&t);
	return rc;
}

void dnsc_llq_tick(struct dnsc_llq_client *c, uint64_t now)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct dnsc_llq *q = &c->q[i];

		if (q->state == DNSC_LLQ_FAILED && q->retry_ms <= now) {
			q->state = DNSC_LLQ_IDLE;
		} else if ((q->state == DNSC_LLQ_UP || q->state == DNSC_LLQ_REFRESH) &&
			   q->expires_ms <= now) {
			/* RFC 8764 §7: an LLQ not refreshed in time is gone on the server */
			q->seq++;
			q->inflight = false;
			q->refresh = false;
			q->id = 0;
			q->lease_s = 0;
			q->state = DNSC_LLQ_IDLE;
		} else if (q->state == DNSC_LLQ_UP && q->retry_ms && q->retry_ms <= now) {
			/* a refresh that got no answer is tried again */
			q->retry_ms = 0;
			q->refresh = true;
		}
	}
}

uint64_t dnsc_llq_next_deadline(const struct dnsc_llq_client *c)
{
	uint64_t next = DNSC_NEVER;

	for (unsigned i = 0; i < c->n; i++) {
		const struct dnsc_llq *q = &c->q[i];
		uint64_t t = DNSC_NEVER;

		if (q->state == DNSC_LLQ_FAILED)
			t = q->retry_ms;
		else if (q->state == DNSC_LLQ_UP || q->state == DNSC_LLQ_REFRESH)
			t = q->retry_ms && q->retry_ms < q->expires_ms ? q->retry_ms : q->expires_ms;
		if (t < next)
			next = t;
	}
	return next;
}

void dnsc_llq_counts(const struct dnsc_llq_client *c, struct dnsc_llq_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < c->n; i++) {
		const struct dnsc_llq *q = &c->q[i];

		if (!wanted(q))
			continue;
		out->wanted++;
		if (q->state == DNSC_LLQ_UP || q->state == DNSC_LLQ_REFRESH) {
			out->up++;
			if (out->min_lease_s == 0 || q->lease_s < out->min_lease_s)
				out->min_lease_s = q->lease_s;
		} else if (q->state == DNSC_LLQ_FAILED) {
			out->failed++;
		}
	}
}
