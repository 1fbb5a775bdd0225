/*
 * lib/dnsc/push: the agent's DNS Push client (RFC 8765, RFC 8490) with a
 * fake clock and server messages built with lib/dso's builders: the session
 * (Keepalive), SUBSCRIBEs of what the view needs, PUSH additions, single and
 * collective removals applied to the view, UNSUBSCRIBE when a peer goes,
 * the keepalive interval, and the fall-backs (refused SUBSCRIBE, Retry
 * Delay, no answer) with the retry after the delay.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns/msg.h"
#include "dnsc/push.h"
#include "dnsc/view.h"
#include "dso/dso.h"

#define D "alice.members.example.net"
#define HOSTS "_autotunnel._udp." D
#define T_DESK "autotunnel-00-22-69-ff-fe-8e-34-2a." D

struct fx {
	struct dnsc_push_client c;
	struct dnsc_view v;
	struct dnsc_question qs[DNSC_PUSH_MAX];
	uint8_t buf[1024];
	size_t len;
	uint16_t next_id;
	uint64_t now;
};

static void name(struct dns_name *n, const char *s)
{
	assert_int_equal(dns_name_from_text(n, s), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	dnsc_push_init(&f->c, NULL);
	assert_int_equal(dnsc_view_init(&f->v, D, "laptop"), 0);
	f->next_id = 100;
	f->now = 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Watch what the view needs, as watch.c does. */
static void sync_view(struct fx *f)
{
	size_t n = dnsc_view_questions(&f->v, f->qs, DNSC_PUSH_MAX);

	assert_true(dnsc_push_sync(&f->c, f->qs, n) >= 0);
}

/* The next message: 1 with it parsed into @p m, or 0. */
static int next(struct fx *f, struct dso_msg *m, bool *request)
{
	int rc = dnsc_push_next_message(&f->c, f->now, f->next_id, f->buf, sizeof(f->buf), &f->len, request);

	assert_true(rc >= 0);
	if (rc == 1) {
		assert_int_equal(dso_msg_parse(m, f->buf, f->len), 0);
		if (*request) {
			assert_int_equal(m->id, f->next_id);
			f->next_id++;
		} else {
			assert_int_equal(m->id, 0);
		}
	}
	return rc;
}

static enum dnsc_push_outcome respond(struct fx *f, uint16_t id, uint8_t rcode, uint32_t retry_ms)
{
	uint8_t b[64];
	size_t len;

	assert_int_equal(dso_build_response(b, sizeof(b), id, rcode, retry_ms, &len), 0);
	return dnsc_push_on_response(&f->c, id, b, len, f->now);
}

/* Connect, establish and authenticate the session with keepalive @p ka_ms granted. */
static void session(struct fx *f, uint32_t ka_ms)
{
	struct dso_msg m;
	struct dso_keepalive k;
	bool req;
	uint8_t b[64];
	size_t len;

	dnsc_push_connected(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 1);
	assert_true(req);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_KEEPALIVE);
	assert_int_equal(dso_keepalive_read(&m.tlv[0], &k), 0);
	assert_int_equal(k.inactivity_ms, 15000);
	assert_int_equal(k.keepalive_ms, 3600000);
	/* nothing more until the session is up */
	assert_int_equal(next(f, &m, &req), 0);
	k.keepalive_ms = ka_ms;
	assert_int_equal(dso_build_keepalive_response(b, sizeof(b), m.id, &k, &len), 0);
	assert_int_equal(dnsc_push_on_response(&f->c, m.id, b, len, f->now), DNSC_PUSH_SESSION);
	assert_int_equal(f->c.keepalive_ms, ka_ms);
	/* no SUBSCRIBE before the signed query authenticated the session */
	assert_int_equal(next(f, &m, &req), 0);
	dnsc_push_authenticated(&f->c);
}

/* Send every SUBSCRIBE due, answer each NOERROR; returns how many. */
static unsigned subscribe_all(struct fx *f)
{
	struct dso_msg m;
	bool req;
	unsigned n = 0;

	while (next(f, &m, &req) == 1) {
		struct dso_question q;

		assert_true(req);
		assert_int_equal(dso_subscribe_read(&m.tlv[0], &q), 0);
		assert_int_equal(q.qclass, DNS_CLASS_IN);
		assert_int_equal(respond(f, m.id, DNS_RCODE_NOERROR, 0), DNSC_PUSH_SUBSCRIBED);
		n++;
	}
	return n;
}

struct pushb {
	struct dso_push p;
	uint8_t buf[2048];
	size_t len;
};

static void push_add(struct pushb *x, const char *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
		     uint16_t rdlen)
{
	struct dns_name o;

	name(&o, owner);
	assert_int_equal(dso_push_add(&x->p, o.wire, o.len, type, ttl == DSO_TTL_REMOVE_ALL && type == 0 ?
				      DSO_CLASS_ANY : DNS_CLASS_IN, ttl, rd, rdlen), 0);
}

static void push_ptr(struct pushb *x, const char *host, uint32_t ttl)
{
	struct dns_name t;

	name(&t, host);
	push_add(x, HOSTS, DNS_TYPE_PTR, ttl, t.wire, t.len);
}

static void push_srv(struct pushb *x, const char *owner, uint16_t port, const char *target, uint32_t ttl)
{
	uint8_t rd[6 + DNS_NAME_MAX] = { 0, 0, 0, 0, (uint8_t)(port >> 8), (uint8_t)port };
	struct dns_name t;

	name(&t, target);
	memcpy(rd + 6, t.wire, t.len);
	push_add(x, owner, DNS_TYPE_SRV, ttl, rd, (uint16_t)(6 + t.len));
}

static enum dnsc_push_outcome push_send(struct fx *f, struct pushb *x)
{
	assert_int_equal(dso_push_finish(&x->p, &x->len), 0);
	return dnsc_push_on_message(&f->c, x->buf, x->len, f->now, &f->v);
}

static void push_begin(struct pushb *x)
{
	assert_int_equal(dso_push_begin(&x->p, x->buf, sizeof(x->buf)), 0);
}

static const uint8_t ula7[16] = { 0xfd, 0x91, 0x11, [15] = 7 };
static const uint8_t ula8[16] = { 0xfd, 0x91, 0x11, [15] = 8 };
static const uint8_t a1[4] = { 198, 51, 100, 1 };
static const uint8_t a2[4] = { 198, 51, 100, 2 };

/* Discovery, a move, a single removal, a peer gone (collective removal) and its UNSUBSCRIBEs. */
static void subscribe_push_unsubscribe(void **state)
{
	struct fx *f = *state;
	static struct pushb x;
	struct dnsc_peer p;
	struct dso_msg m;
	struct dso_question q;
	struct dnsc_push_counts cnt;
	uint16_t ids[3];
	unsigned n = 0;
	bool req;

	/* before the connection, nothing goes out */
	sync_view(f);
	assert_int_equal(next(f, &m, &req), 0);
	session(f, 3600000);
	/* the host list first: the rest follows from what it holds */
	assert_int_equal(next(f, &m, &req), 1);
	assert_int_equal(dso_subscribe_read(&m.tlv[0], &q), 0);
	{
		struct dns_name hn, qn;

		name(&hn, HOSTS);
		assert_int_equal(dns_name_from_wire(&qn, q.name, q.name_len), 0);
		assert_true(dns_name_equal(&hn, &qn));
		assert_int_equal(q.qtype, DNS_TYPE_PTR);
	}
	assert_false(dnsc_push_ready(&f->c));
	/* an answer to no request of ours changes nothing */
	assert_int_equal(respond(f, (uint16_t)(m.id + 50), DNS_RCODE_NOERROR, 0), DNSC_PUSH_NOTHING);
	assert_int_equal(respond(f, m.id, DNS_RCODE_NOERROR, 0), DNSC_PUSH_SUBSCRIBED);
	assert_true(dnsc_push_ready(&f->c));

	/* the records already there (RFC 8765 §6.3): the host list */
	push_begin(&x);
	push_ptr(&x, "laptop." D, 60);
	push_ptr(&x, "desktop." D, 60);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(f->c.pushes, 1);
	assert_int_equal(dnsc_view_count(&f->v), 2);
	/* desktop's AAAA and SRV are watched now */
	sync_view(f);
	dnsc_push_counts(&f->c, &cnt);
	assert_int_equal(cnt.wanted, 3);
	assert_int_equal(cnt.up, 1);
	assert_false(dnsc_push_ready(&f->c));
	assert_int_equal(subscribe_all(f), 2);
	push_begin(&x);
	push_add(&x, "desktop." D, DNS_TYPE_AAAA, 60, ula7, 16);
	push_srv(&x, "_autotunnel._udp.desktop." D, 61001, T_DESK, 60);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	/* and now the SRV's target A */
	sync_view(f);
	assert_int_equal(subscribe_all(f), 1);
	assert_true(dnsc_push_ready(&f->c));
	push_begin(&x);
	push_add(&x, T_DESK, DNS_TYPE_A, 60, a1, 4);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_UPDATE);
	assert_string_equal(p.label, "desktop");
	assert_memory_equal(p.ula, ula7, 16);
	assert_true(p.has_outer);
	assert_memory_equal(p.outer4, a1, 4);
	assert_int_equal(p.port, 61001);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_NONE);

	/* it moves: the old A removed, the new one added, in one PUSH */
	push_begin(&x);
	push_add(&x, T_DESK, DNS_TYPE_A, DSO_TTL_REMOVE, a1, 4);
	push_add(&x, T_DESK, DNS_TYPE_A, 60, a2, 4);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_UPDATE);
	assert_memory_equal(p.outer4, a2, 4);
	/* a removal of an RR that is not the one known changes nothing */
	push_begin(&x);
	push_add(&x, "desktop." D, DNS_TYPE_AAAA, DSO_TTL_REMOVE, ula8, 16);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_NONE);
	/* its AAAA RRset removed collectively, then a new address */
	push_begin(&x);
	push_add(&x, "desktop." D, DNS_TYPE_AAAA, DSO_TTL_REMOVE_ALL, NULL, 0);
	push_add(&x, "desktop." D, DNS_TYPE_AAAA, 60, ula8, 16);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_UPDATE);
	assert_memory_equal(p.ula, ula8, 16);

	/* desktop leaves: the host list removed collectively (class ANY: every RRset of the
	 * name), laptop's PTR added back */
	push_begin(&x);
	push_add(&x, HOSTS, 0, DSO_TTL_REMOVE_ALL, NULL, 0);
	push_ptr(&x, "laptop." D, 60);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_CHANGED);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_GONE);
	assert_string_equal(p.fqdn, "desktop." D);
	assert_int_equal(dnsc_view_next_change(&f->v, &p), DNSC_CHANGE_NONE);
	/* its three subscriptions go: three UNSUBSCRIBEs, unidirectional */
	for (unsigned i = 0; i < f->c.n; i++)
		if (f->c.s[i].q.type != DNS_TYPE_PTR)
			ids[n++] = f->c.s[i].id;
	assert_int_equal(n, 3);
	sync_view(f);
	for (unsigned i = 0; i < 3; i++) {
		uint16_t sub;

		assert_int_equal(next(f, &m, &req), 1);
		assert_false(req);
		assert_int_equal(dso_unsubscribe_read(&m.tlv[0], &sub), 0);
		assert_true(sub == ids[0] || sub == ids[1] || sub == ids[2]);
	}
	assert_int_equal(next(f, &m, &req), 0);
	dnsc_push_counts(&f->c, &cnt);
	assert_int_equal(cnt.wanted, 1);
	assert_true(dnsc_push_ready(&f->c));
}

/* RFC 8490 §6.5.1: a Keepalive before the interval runs out; the server's values rule. */
static void keepalive_interval(void **state)
{
	struct fx *f = *state;
	struct dso_msg m;
	bool req;
	uint8_t b[64];
	size_t len;
	struct dso_keepalive k = { 15000, 40000 };

	sync_view(f);
	session(f, 20000);
	assert_int_equal(subscribe_all(f), 1);
	/* 3/4 of 20 s after the last message sent */
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now + 15000);
	f->now += 14999;
	dnsc_push_tick(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 0);
	f->now += 1;
	dnsc_push_tick(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 1);
	assert_true(req);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_KEEPALIVE);
	/* one out at a time */
	assert_int_equal(dnsc_push_next_deadline(&f->c), DNSC_NEVER);
	assert_int_equal(next(f, &m, &req), 0);
	/* an id the Keepalive out has is refused */
	f->now += 100;
	assert_int_equal(dso_build_keepalive_response(b, sizeof(b), m.id, &k, &len), 0);
	assert_int_equal(dnsc_push_on_response(&f->c, m.id, b, len, f->now), DNSC_PUSH_NOTHING);
	assert_int_equal(f->c.keepalive_ms, 40000);
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now - 100 + 30000);
	/* a server's unidirectional Keepalive changes it again (§7.1.2); under 10 s is raised */
	assert_int_equal(dso_build_request(b, sizeof(b), 0, DSO_TYPE_KEEPALIVE, (uint8_t[8]){ 0, 0, 0x3a, 0x98, 0, 0, 0, 5 },
					   8, &len), 0);
	assert_int_equal(dnsc_push_on_message(&f->c, b, len, f->now, &f->v), DNSC_PUSH_NOTHING);
	assert_int_equal(f->c.keepalive_ms, DSO_KEEPALIVE_MIN_MS);
	/* ids in use are not taken for a new request */
	dnsc_push_tick(&f->c, f->now + 20000);
	assert_int_equal(dnsc_push_next_message(&f->c, f->now + 20000, f->c.s[0].id, f->buf, sizeof(f->buf),
						&f->len, &req), -EEXIST);
	assert_int_equal(dnsc_push_next_message(&f->c, f->now, 0, f->buf, sizeof(f->buf), &f->len, &req), -EINVAL);
}

/* A refused SUBSCRIBE: fall back (to LLQ) for the delay the server gave, unsubscribe, retry after. */
static void refused_subscribe_falls_back(void **state)
{
	struct fx *f = *state;
	static struct pushb x;
	struct dso_msg m;
	struct dnsc_question q2[2];
	bool req;
	uint16_t first, sub;

	q2[0].type = DNS_TYPE_PTR;
	name(&q2[0].name, HOSTS);
	q2[1].type = DNS_TYPE_AAAA;
	name(&q2[1].name, "desktop." D);
	assert_int_equal(dnsc_push_sync(&f->c, q2, 2), 2);
	session(f, 3600000);
	assert_int_equal(next(f, &m, &req), 1);
	first = m.id;
	assert_int_equal(respond(f, m.id, DNS_RCODE_NOERROR, 0), DNSC_PUSH_SUBSCRIBED);
	assert_int_equal(next(f, &m, &req), 1);
	/* RFC 8765 §6.2.2: REFUSED with a Retry Delay */
	assert_int_equal(respond(f, m.id, DNS_RCODE_REFUSED, 120000), DNSC_PUSH_FALLBACK);
	assert_false(dnsc_push_active(&f->c));
	assert_false(dnsc_push_ready(&f->c));
	assert_int_equal(f->c.held_rcode, DNS_RCODE_REFUSED);
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now + 120000);
	/* the subscription the server holds is unsubscribed; the one refused is not */
	assert_int_equal(next(f, &m, &req), 1);
	assert_false(req);
	assert_int_equal(dso_unsubscribe_read(&m.tlv[0], &sub), 0);
	assert_int_equal(sub, first);
	assert_int_equal(next(f, &m, &req), 0);
	/* a PUSH while held off is not applied (LLQ feeds the view) */
	push_begin(&x);
	push_ptr(&x, "desktop." D, 60);
	assert_int_equal(push_send(f, &x), DNSC_PUSH_NOTHING);
	assert_int_equal(dnsc_view_count(&f->v), 0);
	/* a reconnection does not end the hold-off */
	dnsc_push_disconnected(&f->c);
	dnsc_push_connected(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 0);
	f->now += 119999;
	dnsc_push_tick(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 0);
	f->now += 1;
	dnsc_push_tick(&f->c, f->now);
	assert_true(dnsc_push_active(&f->c));
	/* a new session, and both wanted again */
	assert_int_equal(next(f, &m, &req), 1);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_KEEPALIVE);
	{
		uint8_t b[64];
		size_t len;
		struct dso_keepalive k = { 15000, 3600000 };

		assert_int_equal(dso_build_keepalive_response(b, sizeof(b), m.id, &k, &len), 0);
		assert_int_equal(dnsc_push_on_response(&f->c, m.id, b, len, f->now), DNSC_PUSH_SESSION);
	}
	dnsc_push_authenticated(&f->c);
	assert_int_equal(subscribe_all(f), 2);
	assert_true(dnsc_push_ready(&f->c));
}

/* A Retry Delay from the server (RFC 8490 §7.2.1), a Keepalive refused or unanswered. */
static void retry_delay_and_timeouts(void **state)
{
	struct fx *f = *state;
	struct dso_msg m;
	bool req;
	uint8_t b[64];
	size_t len;

	sync_view(f);
	session(f, 3600000);
	assert_int_equal(subscribe_all(f), 1);
	assert_int_equal(dso_build_retry_delay(b, sizeof(b), DNS_RCODE_NOERROR, 60000, &len), 0);
	assert_int_equal(dnsc_push_on_message(&f->c, b, len, f->now, &f->v), DNSC_PUSH_FALLBACK);
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now + 60000);
	/* a second one changes nothing */
	assert_int_equal(dnsc_push_on_message(&f->c, b, len, f->now + 5, &f->v), DNSC_PUSH_NOTHING);
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now + 60000);
	/* the server then aborts the connection; after the delay, Push again */
	dnsc_push_disconnected(&f->c);
	f->now += 60000;
	dnsc_push_tick(&f->c, f->now);
	dnsc_push_connected(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 1);
	/* no answer to the Keepalive: the server does not do DSO; the configured delay */
	assert_int_equal(dnsc_push_on_response(&f->c, m.id, NULL, 0, f->now), DNSC_PUSH_FALLBACK);
	assert_int_equal(dnsc_push_next_deadline(&f->c), f->now + 300000);
	f->now += 300000;
	dnsc_push_tick(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 1);
	/* a DSOTYPENI (or NOTIMP) Keepalive answer: the same */
	assert_int_equal(respond(f, m.id, DSO_RCODE_DSOTYPENI, 0), DNSC_PUSH_FALLBACK);
	/* an answer that is not DSO (a server that does not know the opcode) */
	f->now += 300000;
	dnsc_push_tick(&f->c, f->now);
	assert_int_equal(next(f, &m, &req), 1);
	memcpy(b, f->buf, DSO_HEADER_LEN);
	b[2] = 0x80;	/* QR, opcode QUERY */
	assert_int_equal(dnsc_push_on_response(&f->c, m.id, b, DSO_HEADER_LEN, f->now), DNSC_PUSH_FALLBACK);
}

/* Malformed and unexpected messages from the server. */
static void bad_messages(void **state)
{
	struct fx *f = *state;
	static struct pushb x;
	uint8_t b[64];
	size_t len;

	sync_view(f);
	session(f, 3600000);
	assert_int_equal(subscribe_all(f), 1);
	/* not DSO (an LLQ event's header): not ours */
	memset(b, 0, sizeof(b));
	b[2] = 0x80;
	assert_int_equal(dnsc_push_on_message(&f->c, b, 12, f->now, &f->v), DNSC_PUSH_NOTHING);
	/* a truncated PUSH: fatal */
	push_begin(&x);
	push_ptr(&x, "desktop." D, 60);
	assert_int_equal(dso_push_finish(&x.p, &x.len), 0);
	x.buf[15]--;	/* DSO-LENGTH one short: the TLV no longer fills the message */
	assert_int_equal(dnsc_push_on_message(&f->c, x.buf, x.len, f->now, &f->v), DNSC_PUSH_ABORT);
	/* a PUSH TLV whose last notification is cut */
	x.buf[15]--;
	assert_int_equal(dnsc_push_on_message(&f->c, x.buf, x.len - 2, f->now, &f->v), DNSC_PUSH_ABORT);
	assert_int_equal(dnsc_view_count(&f->v), 0);
	/* an unknown unidirectional TLV: fatal (RFC 8490 §5.4.5) */
	assert_int_equal(dso_build_request(b, sizeof(b), 0, 0x7777, "x", 1, &len), 0);
	assert_int_equal(dnsc_push_on_message(&f->c, b, len, f->now, &f->v), DNSC_PUSH_ABORT);
	/* a request from the server: not answered, not applied */
	assert_int_equal(dso_build_request(b, sizeof(b), 9, DSO_TYPE_KEEPALIVE, "12345678", 8, &len), 0);
	assert_int_equal(dnsc_push_on_message(&f->c, b, len, f->now, &f->v), DNSC_PUSH_NOTHING);
	assert_int_equal(f->c.pushes, 0);
	assert_true(dnsc_push_ready(&f->c));
}

/* The connection lost: every subscription is made again on the next session. */
static void reconnect_resubscribes(void **state)
{
	struct fx *f = *state;
	struct dso_msg m;
	bool req;

	sync_view(f);
	session(f, 3600000);
	assert_int_equal(subscribe_all(f), 1);
	dnsc_push_disconnected(&f->c);
	assert_false(dnsc_push_ready(&f->c));
	assert_true(dnsc_push_active(&f->c));
	assert_int_equal(next(f, &m, &req), 0);
	/* an answer to a request of the lost connection is ignored */
	assert_int_equal(respond(f, (uint16_t)(f->next_id - 1), DNS_RCODE_NOERROR, 0), DNSC_PUSH_NOTHING);
	session(f, 3600000);
	assert_int_equal(subscribe_all(f), 1);
	assert_true(dnsc_push_ready(&f->c));
	/* the table's edge */
	{
		static struct dnsc_question many[DNSC_PUSH_MAX + 1];

		for (unsigned i = 0; i <= DNSC_PUSH_MAX; i++) {
			char t[64];

			snprintf(t, sizeof(t), "h%u." D, i);
			name(&many[i].name, t);
			many[i].type = DNS_TYPE_AAAA;
		}
		dnsc_push_disconnected(&f->c);
		/* the host list's subscription goes (nothing to unsubscribe without a connection) */
		assert_int_equal(dnsc_push_sync(&f->c, many, DNSC_PUSH_MAX), DNSC_PUSH_MAX + 1);
		assert_int_equal(dnsc_push_sync(&f->c, many, DNSC_PUSH_MAX + 1), -ENOSPC);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(subscribe_push_unsubscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(keepalive_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_subscribe_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_delay_and_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(reconnect_resubscribes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
