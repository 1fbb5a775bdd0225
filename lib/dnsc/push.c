/* lib/dnsc/push.c: the DNS Push client state machine (see push.h). */
#include <errno.h>
#include <string.h>

#include "dns/msg.h"
#include "dnsc/push.h"
#include "dso/dso.h"

static uint64_t after(uint64_t now, uint64_t ms)
{
	return now > DNSC_NEVER - ms - 1 ? DNSC_NEVER - 1 : now + ms;
}

void dnsc_push_cfg_default(struct dnsc_push_cfg *cfg)
{
	*cfg = (struct dnsc_push_cfg){
		.inactivity_ms = DSO_TIMEOUT_DEFAULT_MS,
		.keepalive_ms = 3600000,
		.retry_ms = 300000,
		.retry_min_ms = 1000,
	};
}

void dnsc_push_init(struct dnsc_push_client *c, const struct dnsc_push_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	if (cfg)
		c->cfg = *cfg;
	else
		dnsc_push_cfg_default(&c->cfg);
	/* RFC 8490 §6.5.2: a keepalive interval under 10 s is not allowed */
	if (c->cfg.keepalive_ms < DSO_KEEPALIVE_MIN_MS)
		c->cfg.keepalive_ms = DSO_KEEPALIVE_MIN_MS;
	if (c->cfg.retry_min_ms == 0)
		c->cfg.retry_min_ms = 1;
	c->keepalive_ms = c->inactivity_ms = DSO_TIMEOUT_DEFAULT_MS;	/* §6.2 */
}

static bool sub_wanted(const struct dnsc_push_sub *s)
{
	return s->state != DNSC_PUSH_SUB_FREE && s->state != DNSC_PUSH_SUB_UNSUB;
}

static int find(const struct dnsc_push_client *c, const struct dns_name *name, uint16_t type)
{
	for (unsigned i = 0; i < c->n; i++)
		if (sub_wanted(&c->s[i]) && c->s[i].q.type == type && dns_name_equal(&c->s[i].q.name, name))
			return (int)i;
	return -ENOENT;
}

static void sub_free(struct dnsc_push_client *c, unsigned i)
{
	memset(&c->s[i], 0, sizeof(c->s[i]));
	while (c->n > 0 && c->s[c->n - 1].state == DNSC_PUSH_SUB_FREE)
		c->n--;
}

/* No longer wanted: one the server holds is unsubscribed (RFC 8765 §6.4), the rest forgotten. */
static void sub_drop(struct dnsc_push_client *c, unsigned i)
{
	struct dnsc_push_sub *s = &c->s[i];

	/* a SUBSCRIBE still unanswered may be accepted: unsubscribe it too (§6.4.1 allows
	 * an UNSUBSCRIBE that matches nothing) */
	if ((s->state == DNSC_PUSH_SUB_UP || s->state == DNSC_PUSH_SUB_SENT || s->state == DNSC_PUSH_SUB_RESET) &&
	    c->connected)
		s->state = DNSC_PUSH_SUB_UNSUB;
	else
		sub_free(c, i);
}

int dnsc_push_sync(struct dnsc_push_client *c, const struct dnsc_question *want, size_t n)
{
	int changes = 0;

	for (unsigned i = 0; i < c->n; i++) {
		bool keep = false;

		if (!sub_wanted(&c->s[i]))
			continue;
		for (size_t j = 0; j < n && !keep; j++)
			keep = want[j].type == c->s[i].q.type && dns_name_equal(&want[j].name, &c->s[i].q.name);
		if (!keep) {
			sub_drop(c, i);
			changes++;
		}
	}
	for (size_t j = 0; j < n; j++) {
		unsigned i;

		if (find(c, &want[j].name, want[j].type) >= 0)
			continue;
		for (i = 0; i < DNSC_PUSH_MAX && c->s[i].state != DNSC_PUSH_SUB_FREE; i++)
			;
		if (i == DNSC_PUSH_MAX)
			return -ENOSPC;
		c->s[i] = (struct dnsc_push_sub){ .state = DNSC_PUSH_SUB_IDLE, .q = want[j] };
		if (i >= c->n)
			c->n = i + 1;
		changes++;
	}
	return changes;
}

/* Every subscription is to be made again (a new session), those unwanted forgotten. */
static void subs_reset(struct dnsc_push_client *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->s[i].state == DNSC_PUSH_SUB_UNSUB)
			sub_free(c, i);
		else if (c->s[i].state != DNSC_PUSH_SUB_FREE)
			c->s[i] = (struct dnsc_push_sub){ .state = DNSC_PUSH_SUB_IDLE, .q = c->s[i].q };
	}
}

void dnsc_push_connected(struct dnsc_push_client *c, uint64_t now)
{
	c->connected = true;
	c->authenticated = false;
	c->ka_id = 0;
	c->last_sent_ms = now;
	c->keepalive_ms = c->inactivity_ms = DSO_TIMEOUT_DEFAULT_MS;
	subs_reset(c);
	if (c->state != DNSC_PUSH_HELD)
		c->state = DNSC_PUSH_START;
}

void dnsc_push_authenticated(struct dnsc_push_client *c)
{
	if (c->connected)
		c->authenticated = true;
}

void dnsc_push_disconnected(struct dnsc_push_client *c)
{
	c->connected = false;
	c->authenticated = false;
	c->ka_id = 0;
	subs_reset(c);
	if (c->state != DNSC_PUSH_HELD)
		c->state = DNSC_PUSH_DOWN;
}

void dnsc_push_hold(struct dnsc_push_client *c, uint64_t now, uint32_t delay_ms)
{
	c->state = DNSC_PUSH_HELD;
	c->retry_ms = after(now, delay_ms > c->cfg.retry_min_ms ? delay_ms : c->cfg.retry_min_ms);
	c->ka_id = 0;
	/* what the server holds on a connection that stays is unsubscribed (LLQ takes
	 * over), and subscribed again when Push resumes */
	for (unsigned i = 0; i < c->n; i++) {
		struct dnsc_push_sub *s = &c->s[i];

		if ((s->state == DNSC_PUSH_SUB_UP || s->state == DNSC_PUSH_SUB_SENT) && c->connected)
			s->state = DNSC_PUSH_SUB_RESET;
		else if (s->state == DNSC_PUSH_SUB_SENT || s->state == DNSC_PUSH_SUB_UP)
			s->state = DNSC_PUSH_SUB_IDLE;
	}
}

static bool id_in_use(const struct dnsc_push_client *c, uint16_t id)
{
	if (id == c->ka_id)
		return true;
	for (unsigned i = 0; i < c->n; i++)
		if (c->s[i].state >= DNSC_PUSH_SUB_SENT && c->s[i].id == id)
			return true;
	return false;
}

/* RFC 8490 §6.5.1: the client sends something within each keepalive interval; at 3/4 of it. */
static uint64_t keepalive_due(const struct dnsc_push_client *c)
{
	if (c->state != DNSC_PUSH_UP || c->ka_id || c->keepalive_ms == DSO_TIMEOUT_INFINITE)
		return DNSC_NEVER;
	return after(c->last_sent_ms, (uint64_t)c->keepalive_ms / 4 * 3);
}

static int keepalive(struct dnsc_push_client *c, uint16_t id, uint8_t *buf, size_t cap, size_t *len)
{
	struct dso_keepalive k = { c->cfg.inactivity_ms, c->cfg.keepalive_ms };
	int rc = dso_build_keepalive_request(buf, cap, id, &k, len);

	if (rc == 0)
		c->ka_id = id;
	return rc;
}

int dnsc_push_next_message(struct dnsc_push_client *c, uint64_t now, uint16_t id, uint8_t *buf, size_t cap,
			   size_t *len, bool *request)
{
	int rc;

	*request = false;
	*len = 0;
	if (!c->connected)
		return 0;
	/* UNSUBSCRIBEs first, also while held off (the subscriptions the server still has) */
	for (unsigned i = 0; i < c->n; i++) {
		struct dnsc_push_sub *s = &c->s[i];

		if (s->state != DNSC_PUSH_SUB_UNSUB && s->state != DNSC_PUSH_SUB_RESET)
			continue;
		rc = dso_build_unsubscribe(buf, cap, s->id, len);
		if (rc)
			return rc;
		if (s->state == DNSC_PUSH_SUB_UNSUB)
			sub_free(c, i);
		else
			*s = (struct dnsc_push_sub){ .state = DNSC_PUSH_SUB_IDLE, .q = s->q };
		c->last_sent_ms = now;
		return 1;
	}
	if (id == 0)
		return -EINVAL;
	if (c->state == DNSC_PUSH_START) {
		/* RFC 8490 §5.1: a Keepalive request establishes the session */
		if (id_in_use(c, id))
			return -EEXIST;
		rc = keepalive(c, id, buf, cap, len);
		if (rc)
			return rc;
		c->state = DNSC_PUSH_WAIT;
		c->last_sent_ms = now;
		*request = true;
		return 1;
	}
	if (c->state != DNSC_PUSH_UP)
		return 0;
	if (c->authenticated) {
		for (unsigned i = 0; i < c->n; i++) {
			struct dnsc_push_sub *s = &c->s[i];

			if (s->state != DNSC_PUSH_SUB_IDLE)
				continue;
			/* RFC 8765 §6.2.1: an id that an active subscription has is a fatal error */
			if (id_in_use(c, id))
				return -EEXIST;
			rc = dso_build_subscribe(buf, cap, id, s->q.name.wire, s->q.name.len, s->q.type, DNS_CLASS_IN,
						 len);
			if (rc)
				return rc;
			s->state = DNSC_PUSH_SUB_SENT;
			s->id = id;
			c->last_sent_ms = now;
			*request = true;
			return 1;
		}
	}
	if (now >= keepalive_due(c)) {
		if (id_in_use(c, id))
			return -EEXIST;
		rc = keepalive(c, id, buf, cap, len);
		if (rc)
			return rc;
		c->last_sent_ms = now;
		*request = true;
		return 1;
	}
	return 0;
}

/* The Retry Delay TLV among a response's additional TLVs (RFC 8490 §7.2.2), or 0. */
static uint32_t retry_delay_of(const struct dso_msg *m)
{
	uint32_t d;

	for (size_t i = 0; i < m->n_tlv; i++)
		if (m->tlv[i].type == DSO_TYPE_RETRY_DELAY && dso_retry_delay_read(&m->tlv[i], &d) == 0)
			return d;
	return 0;
}

static enum dnsc_push_outcome give_up(struct dnsc_push_client *c, uint64_t now, uint32_t delay_ms, uint8_t rcode)
{
	dnsc_push_hold(c, now, delay_ms ? delay_ms : c->cfg.retry_ms);
	c->held_rcode = rcode;
	return DNSC_PUSH_FALLBACK;
}

/* RFC 8490 §7.1: the values in the server's Keepalive are the ones in force. */
static void take_keepalive(struct dnsc_push_client *c, const struct dso_keepalive *k)
{
	c->inactivity_ms = k->inactivity_ms;
	c->keepalive_ms = k->keepalive_ms;
	if (c->keepalive_ms < DSO_KEEPALIVE_MIN_MS)
		c->keepalive_ms = DSO_KEEPALIVE_MIN_MS;
}

enum dnsc_push_outcome dnsc_push_on_response(struct dnsc_push_client *c, uint16_t id, const uint8_t *buf,
					     size_t len, uint64_t now)
{
	struct dso_msg m;
	int sub = -1;
	bool ok;

	if (id == 0 || !c->connected || c->state == DNSC_PUSH_HELD)
		return DNSC_PUSH_NOTHING;
	if (id != c->ka_id) {
		for (unsigned i = 0; i < c->n && sub < 0; i++)
			if (c->s[i].state == DNSC_PUSH_SUB_SENT && c->s[i].id == id)
				sub = (int)i;
		if (sub < 0)
			return DNSC_PUSH_NOTHING;	/* unsubscribed meanwhile, or not ours */
	}
	/* no answer (timeout), or not a DSO response: the server does not speak DSO with us */
	if (!buf || dso_msg_parse(&m, buf, len) || !m.qr || m.id != id) {
		if (sub >= 0)
			c->s[sub].state = DNSC_PUSH_SUB_RESET;	/* it may have been accepted */
		return give_up(c, now, 0, 0);
	}
	ok = m.rcode == DNS_RCODE_NOERROR;
	if (!ok) {
		/* refused: the server holds nothing to unsubscribe (RFC 8765 §6.2.2) */
		if (sub >= 0)
			c->s[sub].state = DNSC_PUSH_SUB_IDLE;
		return give_up(c, now, retry_delay_of(&m), m.rcode);
	}
	if (sub < 0) {
		struct dso_keepalive k;

		c->ka_id = 0;
		/* §7.1: the response's primary TLV is the server's Keepalive */
		if (m.n_tlv > 0 && m.tlv[0].type == DSO_TYPE_KEEPALIVE && dso_keepalive_read(&m.tlv[0], &k) == 0)
			take_keepalive(c, &k);
		if (c->state == DNSC_PUSH_WAIT) {
			c->state = DNSC_PUSH_UP;
			return DNSC_PUSH_SESSION;
		}
		return DNSC_PUSH_NOTHING;
	}
	c->s[sub].state = DNSC_PUSH_SUB_UP;
	return DNSC_PUSH_SUBSCRIBED;
}

/* Apply the change notifications of a PUSH TLV (RFC 8765 §6.3.1) to the view. */
static int apply_push(const struct dso_tlv *t, struct dnsc_view *v)
{
	struct dso_change ch;
	size_t off = 0;
	int rc;

	while ((rc = dso_push_next(t, &off, &ch)) == 1) {
		struct dns_name owner;

		if (dns_name_from_wire(&owner, ch.name, ch.name_len))
			return -EBADMSG;
		if (ch.ttl == DSO_TTL_REMOVE_ALL) {
			/* class ANY: every RRset of the name; else TYPE (ANY: every type) in that class */
			if (ch.rclass == DSO_CLASS_ANY)
				dnsc_view_remove_rrset(v, &owner, DNS_TYPE_ANY);
			else if (ch.rclass == DNS_CLASS_IN)
				dnsc_view_remove_rrset(v, &owner, ch.type);
		} else {
			dnsc_view_apply_rr(v, &owner, ch.type, ch.rclass, ch.rdata, ch.rdlen, ch.ttl == DSO_TTL_REMOVE);
		}
	}
	return rc;
}

enum dnsc_push_outcome dnsc_push_on_message(struct dnsc_push_client *c, const uint8_t *buf, size_t len,
					    uint64_t now, struct dnsc_view *v)
{
	struct dso_msg m;
	struct dso_keepalive k;
	uint32_t delay;

	if (!dso_is_dso(buf, len) || !c->connected)
		return DNSC_PUSH_NOTHING;
	if (dso_msg_parse(&m, buf, len))
		return c->state == DNSC_PUSH_UP ? DNSC_PUSH_ABORT : DNSC_PUSH_NOTHING;
	/* a late response, or a request from the server (none is defined for it to send us) */
	if (m.qr || m.id != 0)
		return DNSC_PUSH_NOTHING;
	switch (m.tlv[0].type) {
	case DSO_TYPE_PUSH:
		if (c->state != DNSC_PUSH_UP)
			return DNSC_PUSH_NOTHING;	/* held off: LLQ feeds the view */
		if (apply_push(&m.tlv[0], v))
			return DNSC_PUSH_ABORT;	/* RFC 8765 §6.3.1: a malformed PUSH is fatal */
		c->pushes++;
		return DNSC_PUSH_CHANGED;
	case DSO_TYPE_RETRY_DELAY:
		/* RFC 8490 §7.2.1: the server is ending the session; not before the delay again */
		if (dso_retry_delay_read(&m.tlv[0], &delay))
			return DNSC_PUSH_ABORT;
		if (c->state == DNSC_PUSH_HELD)
			return DNSC_PUSH_NOTHING;
		return give_up(c, now, delay, m.rcode);
	case DSO_TYPE_KEEPALIVE:
		/* §7.1.2: the server changes the timeouts */
		if (dso_keepalive_read(&m.tlv[0], &k))
			return DNSC_PUSH_ABORT;
		take_keepalive(c, &k);
		return DNSC_PUSH_NOTHING;
	default:
		/* §5.4.5: an unknown unidirectional message is a fatal error */
		return c->state == DNSC_PUSH_HELD ? DNSC_PUSH_NOTHING : DNSC_PUSH_ABORT;
	}
}

void dnsc_push_tick(struct dnsc_push_client *c, uint64_t now)
{
	if (c->state == DNSC_PUSH_HELD && now >= c->retry_ms) {
		c->held_rcode = 0;
		c->state = c->connected ? DNSC_PUSH_START : DNSC_PUSH_DOWN;
		c->last_sent_ms = now;
	}
}

uint64_t dnsc_push_next_deadline(const struct dnsc_push_client *c)
{
	if (c->state == DNSC_PUSH_HELD)
		return c->retry_ms;
	return keepalive_due(c);
}

bool dnsc_push_active(const struct dnsc_push_client *c)
{
	return c->state != DNSC_PUSH_HELD;
}

void dnsc_push_counts(const struct dnsc_push_client *c, struct dnsc_push_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < c->n; i++) {
		if (!sub_wanted(&c->s[i]))
			continue;
		out->wanted++;
		if (c->s[i].state == DNSC_PUSH_SUB_UP)
			out->up++;
	}
}

bool dnsc_push_ready(const struct dnsc_push_client *c)
{
	struct dnsc_push_counts cnt;

	if (c->state != DNSC_PUSH_UP || !c->authenticated)
		return false;
	dnsc_push_counts(c, &cnt);
	return cnt.wanted > 0 && cnt.up == cnt.wanted;
}
