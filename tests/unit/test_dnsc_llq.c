/*
 * lib/dnsc/llq: the LLQ client state machine on a fake clock, against a
 * server side built from lib/dns (parser, builder, TSIG): setup answered
 * with the answers, refresh, events and their acknowledgements, NoSuchLLQ
 * after a server restart, ServFull, lease expiry, connection loss, cancel.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "dnsc/llq.h"
#include "dnsc/update.h"

#define DOMAIN "alice.members.example.net"
#define WALL 1700000000u

static const uint8_t SECRET[32] = "autotunnel test key 32 bytes!!!";
static const uint8_t OTHER[32] = "another key, another password!!";

struct req {
	uint8_t buf[DNSC_MSG_MAX];
	size_t len;
	uint16_t id;
	uint32_t token;
	struct dns_tsig t;	/* the client's exchange */
	struct dns_msg m;	/* as the server parses it */
	struct dns_tsig v;	/* the server's exchange */
	struct dns_llq llq;
};

struct fx {
	struct dnsc_llq_client c;
	struct dns_tsig_key key;
	struct dns_name hosts, desktop;
	uint64_t now;
	uint16_t next_id;
	struct req r;
	uint8_t ans[DNSC_MSG_MAX];
	size_t alen;
	struct dnsc_llq_result res;
};

static int lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	const struct dns_tsig_key *k = arg;

	if (!dns_name_equal(name, &k->name))
		return -ENOENT;
	*out = *k;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(dnsc_account_key(&f->key, DOMAIN, SECRET), 0);
	dnsc_llq_init(&f->c, NULL, &f->key);
	assert_int_equal(dns_name_from_text(&f->hosts, "_autotunnel._udp." DOMAIN), 0);
	assert_int_equal(dns_name_from_text(&f->desktop, "desktop." DOMAIN), 0);
	f->now = 1000;
	f->next_id = 100;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dns_tsig_fini(&f->r.v);
	dnsc_llq_fini(&f->c);
	free(f);
	return 0;
}

/* Take the next request from the client, and read it as the server does. Returns 0 if none. */
static int next(struct fx *f)
{
	struct req *r = &f->r;
	struct wire opt;
	int rc;

	/* the server's side of the previous exchange, if it was not answered */
	dns_tsig_fini(&r->v);
	r->id = f->next_id++;
	rc = dnsc_llq_next_request(&f->c, f->now, r->id, &r->t, WALL, r->buf, sizeof(r->buf), &r->len, &r->token);
	if (rc <= 0)
		return rc;
	assert_int_equal(dns_msg_parse(&r->m, r->buf, r->len), 0);
	assert_int_equal(r->m.hdr.id, r->id);
	assert_false(r->m.hdr.flags & DNS_FLAG_QR);
	memset(&r->v, 0, sizeof(r->v));
	/* RFC 6281 §7.2: every LLQ request is signed with the account key */
	assert_int_equal(dns_tsig_verify_request(&r->v, &r->m, lookup, &f->key, WALL + 1), 0);
	assert_int_equal(dns_edns_find(&r->m, DNS_EDNS_OPT_LLQ, &opt), 0);
	assert_int_equal(dns_llq_parse(&opt, &r->llq), 0);
	assert_int_equal(r->llq.version, 1);
	return 1;
}

/* The server's answer to the current request, with an LLQ option and @p naaaa AAAA answers. */
static void answer(struct fx *f, unsigned rcode, uint16_t opcode, uint16_t error, uint64_t id,
		   uint32_t lease, unsigned naaaa)
{
	struct req *r = &f->r;
	struct dns_builder b;
	struct dns_llq o = { .version = 1, .opcode = opcode, .error = error, .id = id, .lease = lease };
	struct dns_name q;

	assert_int_equal(dns_builder_reply(&b, f->ans, sizeof(f->ans), DNSC_MSG_MAX, &r->m), 0);
	dns_builder_set_flags(&b, DNS_FLAG_QR | DNS_FLAG_AA);
	dns_builder_reserve(&b, dns_tsig_space(&r->v));
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_add_llq(&b, &o), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_msg_name(&r->m, r->m.qd[0].name, &q), 0);
	for (unsigned i = 0; i < naaaa; i++) {
		uint8_t a[16] = { 0xfd, 0x91, [15] = (uint8_t)(i + 1) };

		assert_int_equal(dns_builder_add_aaaa(&b, &q, 60, a), 0);
	}
	dns_builder_set_rcode(&b, rcode);
	assert_int_equal(dns_builder_finish(&b, &f->alen), 0);
	assert_int_equal(dns_tsig_sign_response(&r->v, f->ans, f->alen, sizeof(f->ans), &f->alen, WALL + 1), 0);
	dns_tsig_fini(&r->v);
}

static int deliver(struct fx *f)
{
	int rc = dnsc_llq_on_response(&f->c, f->r.token, f->ans, f->alen, f->r.id, &f->r.t,
				      f->now, WALL + 2, &f->res);

	dns_tsig_fini(&f->r.t);
	return rc;
}

/* Bring one LLQ on the host list up with id @p id and lease @p lease. */
static void establish(struct fx *f, uint64_t id, uint32_t lease)
{
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_SETUP);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, id, lease, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_ESTABLISHED);
}

static void test_setup(void **state)
{
	struct fx *f = *state;
	struct dnsc_llq_counts cnt;
	int idx;
	struct dns_name q;

	idx = dnsc_llq_add(&f->c, &f->desktop, DNS_TYPE_AAAA);
	assert_int_equal(idx, 0);
	assert_int_equal(dnsc_llq_add(&f->c, &f->desktop, DNS_TYPE_AAAA), 0);	/* once */
	/* nothing goes out before the connection is up */
	assert_int_equal(next(f), 0);
	dnsc_llq_connected(&f->c, f->now);
	assert_int_equal(next(f), 1);
	/* RFC 8764 §5.2.1: setup, id 0, the lease asked for, the question */
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_SETUP);
	assert_int_equal(f->r.llq.id, 0);
	assert_int_equal(f->r.llq.error, 0);
	assert_int_equal(f->r.llq.lease, DNSC_LLQ_LEASE);
	assert_int_equal(dns_msg_count(&f->r.m, DNS_SEC_QUESTION), 1);
	assert_int_equal(dns_msg_name(&f->r.m, f->r.m.qd[0].name, &q), 0);
	assert_true(dns_name_equal(&q, &f->desktop));
	assert_int_equal(f->r.m.qd[0].type, DNS_TYPE_AAAA);
	/* one request at a time per LLQ */
	{
		static uint8_t b2[DNSC_MSG_MAX];
		struct dns_tsig t2;
		uint32_t tok;
		size_t l2;

		assert_int_equal(dnsc_llq_next_request(&f->c, f->now, 999, &t2, WALL, b2, sizeof(b2), &l2, &tok), 0);
	}
	/* the server grants 3600 s and sends the current answers (§5.2.3 on a stream) */
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 0x1122334455667788ull, 3600, 2);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_ESTABLISHED);
	assert_int_equal(f->res.idx, 0);
	assert_int_equal(f->res.lease_s, 3600);
	assert_int_equal(dns_msg_count(&f->res.resp.msg, DNS_SEC_ANSWER), 2);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_UP);
	assert_true(f->c.q[0].id == 0x1122334455667788ull);
	dnsc_llq_counts(&f->c, &cnt);
	assert_int_equal(cnt.wanted, 1);
	assert_int_equal(cnt.up, 1);
	assert_int_equal(cnt.min_lease_s, 3600);
	/* the lease's end is the only deadline */
	assert_int_equal(dnsc_llq_next_deadline(&f->c), f->now + 3600 * 1000);
	/* a second answer to the same token is stale */
	assert_int_equal(dnsc_llq_on_response(&f->c, f->r.token, f->ans, f->alen, f->r.id, &f->r.t,
					      f->now, WALL + 2, &f->res), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_NOTHING);
}

static void test_setup_nxdomain(void **state)
{
	struct fx *f = *state;

	/* the host list of an account with no host yet: NXDOMAIN, and the LLQ is set up all the same */
	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	assert_int_equal(next(f), 1);
	answer(f, DNS_RCODE_NXDOMAIN, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 9, 900, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_ESTABLISHED);
	assert_int_equal(f->res.resp.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_UP);
	/* SERVFAIL is not an answer */
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	answer(f, DNS_RCODE_SERVFAIL, DNS_LLQ_REFRESH, DNS_LLQ_NOERROR, 9, 900, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFUSED);
}

static void test_refresh(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 42, 900);
	assert_int_equal(next(f), 0);
	/* the timer policy says 80%: refresh with the id (RFC 8764 §7.1) */
	f->now += 720 * 1000;
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_REFRESH);
	assert_int_equal(f->r.llq.id, 42);
	assert_int_equal(f->r.llq.lease, DNSC_LLQ_LEASE);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_REFRESH, DNS_LLQ_NOERROR, 42, 1200, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFRESHED);
	assert_int_equal(f->res.lease_s, 1200);
	assert_int_equal(dnsc_llq_next_deadline(&f->c), f->now + 1200 * 1000);
	/* a refresh answered for another id is refused */
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_REFRESH, DNS_LLQ_NOERROR, 43, 1200, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFUSED);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_FAILED);
}

static void test_refresh_timeout_keeps_llq(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 42, 900);
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	dns_tsig_fini(&f->r.t);
	/* no answer: still established until its lease ends; the refresh is tried again after 1 s */
	dnsc_llq_on_failure(&f->c, f->r.token, f->now);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_UP);
	assert_int_equal(next(f), 0);
	assert_int_equal(dnsc_llq_next_deadline(&f->c), f->now + 1000);
	f->now += 999;
	dnsc_llq_tick(&f->c, f->now);
	assert_int_equal(next(f), 0);
	f->now += 1;
	dnsc_llq_tick(&f->c, f->now);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_REFRESH);
	dns_tsig_fini(&f->r.t);
}

static void test_nosuchllq_sets_up_again(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 42, 900);
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	/* the server restarted and forgot it (RFC 8764 §7.1: NoSuchLLQ) */
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_REFRESH, DNS_LLQ_NOSUCHLLQ, 42, 0, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_LOST);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_SETUP);
	assert_int_equal(f->r.llq.id, 0);
	dns_tsig_fini(&f->r.t);
}

static void test_servfull_backoff(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	assert_int_equal(next(f), 1);
	/* RFC 8764 §3.2: ServFull, LEASE-LIFE says when to try again */
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_SERVFULL, 0, 30, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFUSED);
	assert_int_equal(f->res.llq_error, DNS_LLQ_SERVFULL);
	assert_int_equal(dnsc_llq_next_deadline(&f->c), f->now + 30000);
	f->now += 29999;
	dnsc_llq_tick(&f->c, f->now);
	assert_int_equal(next(f), 0);
	f->now += 1;
	dnsc_llq_tick(&f->c, f->now);
	assert_int_equal(next(f), 1);
	/* refused by rcode: back-off 2 s the second time */
	answer(f, DNS_RCODE_REFUSED, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 0, 0, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFUSED);
	assert_int_equal(f->res.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(dnsc_llq_next_deadline(&f->c), f->now + 2000);
	assert_false(dnsc_llq_busy(&f->c));
	/* the timer policy may try again at once */
	dnsc_llq_retry_now(&f->c);
	assert_true(dnsc_llq_busy(&f->c));
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_SETUP);
	assert_true(dnsc_llq_busy(&f->c));
	dns_tsig_fini(&f->r.t);
}

static void test_wrong_key(void **state)
{
	struct fx *f = *state;
	struct dns_tsig_key server;

	assert_int_equal(dnsc_account_key(&server, DOMAIN, OTHER), 0);
	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	assert_int_equal(next(f), 1);
	/* the server holds another key: it cannot verify us, answers NOTAUTH with BADSIG, unsigned */
	dns_tsig_fini(&f->r.v);
	memset(&f->r.v, 0, sizeof(f->r.v));
	assert_int_equal(dns_tsig_verify_request(&f->r.v, &f->r.m, lookup, &server, WALL + 1), -EACCES);
	answer(f, DNS_RCODE_NOTAUTH, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 0, 0, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_REFUSED);
	assert_true(f->res.server_rejected);
	assert_int_equal(f->res.tsig_error, DNS_RCODE_BADSIG);
}

/* An event as autotunnel-dnsd sends it: QR|AA, the question, changes, LLQ EVENT, signed as a request. */
static size_t event(struct fx *f, uint8_t *buf, uint16_t msgid, const struct dns_name *q, uint16_t qtype,
		    uint64_t llqid, const struct dns_tsig_key *key, bool removal)
{
	struct dns_builder b;
	struct dns_tsig t;
	struct dns_llq o = { .version = 1, .opcode = DNS_LLQ_EVENT, .id = llqid, .lease = 800 };
	struct dns_name target;
	size_t len;

	assert_int_equal(dns_builder_init(&b, buf, DNSC_MSG_MAX, DNSC_MSG_MAX, msgid, DNS_FLAG_QR | DNS_FLAG_AA), 0);
	assert_int_equal(dns_builder_question(&b, q, qtype, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	if (key) {
		dns_tsig_init(&t, key);
		dns_builder_reserve(&b, dns_tsig_space(&t));
	}
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_add_llq(&b, &o), 0);
	assert_int_equal(dns_name_from_text(&target, "nas." DOMAIN), 0);
	assert_int_equal(dns_builder_add_name(&b, q, DNS_TYPE_PTR, removal ? 0xffffffffu : 60, &target), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	if (key) {
		assert_int_equal(dns_tsig_sign_request(&t, buf, len, DNSC_MSG_MAX, &len, WALL), 0);
		dns_tsig_fini(&t);
	}
	(void)f;
	return len;
}

static void test_events(void **state)
{
	struct fx *f = *state;
	static uint8_t ev[DNSC_MSG_MAX], ack[DNSC_MSG_MAX];
	struct dns_tsig_key other;
	struct dns_msg am;
	struct dns_llq o;
	struct wire opt;
	struct dns_tsig v = { 0 };
	size_t len, alen;

	assert_int_equal(dnsc_account_key(&other, DOMAIN, OTHER), 0);
	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 77, 900);

	f->now += 5000;
	len = event(f, ev, 0x5151, &f->hosts, DNS_TYPE_PTR, 77, &f->key, false);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL, &f->res, ack, sizeof(ack), &alen), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_EVENT);
	assert_int_equal(f->res.idx, 0);
	assert_int_equal(dns_msg_count(&f->res.resp.msg, DNS_SEC_ANSWER), 1);
	assert_int_equal(f->c.events, 1);
	assert_int_equal(f->c.last_event_ms, f->now);
	/* RFC 8764 §6.2: the acknowledgement is a response with the event's id and the LLQ option */
	assert_int_equal(dns_msg_parse(&am, ack, alen), 0);
	assert_int_equal(am.hdr.id, 0x5151);
	assert_true(am.hdr.flags & DNS_FLAG_QR);
	assert_int_equal(dns_msg_count(&am, DNS_SEC_QUESTION), 1);
	assert_int_equal(dns_msg_count(&am, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_edns_find(&am, DNS_EDNS_OPT_LLQ, &opt), 0);
	assert_int_equal(dns_llq_parse(&opt, &o), 0);
	assert_int_equal(o.opcode, DNS_LLQ_EVENT);
	assert_int_equal(o.id, 77);
	assert_int_equal(o.error, 0);
	assert_int_equal(dns_tsig_verify_request(&v, &am, lookup, &f->key, WALL), 0);
	dns_tsig_fini(&v);

	/* an event for an LLQ we do not hold: no ack */
	len = event(f, ev, 0x5152, &f->hosts, DNS_TYPE_PTR, 78, &f->key, false);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -ENOENT);
	/* the right id for another question: not ours either */
	len = event(f, ev, 0x5153, &f->desktop, DNS_TYPE_PTR, 77, &f->key, false);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -ENOENT);
	/* signed with another key, or not signed: refused (RFC 6281 §7.2) */
	len = event(f, ev, 0x5154, &f->hosts, DNS_TYPE_PTR, 77, &other, false);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -EACCES);
	len = event(f, ev, 0x5155, &f->hosts, DNS_TYPE_PTR, 77, NULL, true);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -EACCES);
	/* a signature too old (BADTIME) */
	len = event(f, ev, 0x5156, &f->hosts, DNS_TYPE_PTR, 77, &f->key, true);
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, len, f->now, WALL + 3600, &f->res, ack, sizeof(ack), &alen), -EACCES);
	assert_int_equal(f->c.events, 1);
	/* a plain answer is not an event */
	dnsc_llq_refresh_all(&f->c);
	assert_int_equal(next(f), 1);
	dns_tsig_fini(&f->r.t);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 77, 900, 0);
	assert_int_equal(dnsc_llq_on_event(&f->c, f->ans, f->alen, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -ENOENT);
	/* garbage */
	assert_int_equal(dnsc_llq_on_event(&f->c, ev, 5, f->now, WALL, &f->res, ack, sizeof(ack), &alen), -EBADMSG);
}

static void test_expiry_and_disconnect(void **state)
{
	struct fx *f = *state;
	uint32_t old;

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	assert_int_equal(dnsc_llq_add(&f->c, &f->desktop, DNS_TYPE_AAAA), 1);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 1, 900);
	establish(f, 2, 1000);
	/* nobody refreshed: at the end of its lease the first is set up again */
	f->now += 900 * 1000;
	dnsc_llq_tick(&f->c, f->now);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_IDLE);
	assert_int_equal(f->c.q[1].state, DNSC_LLQ_UP);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_SETUP);
	old = f->r.token;
	/* the server's answer to it, which will come too late */
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 9, 900, 0);
	/* the connection drops: everything is set up again on the next one */
	dnsc_llq_disconnected(&f->c);
	assert_int_equal(f->c.q[0].state, DNSC_LLQ_IDLE);
	assert_int_equal(f->c.q[1].state, DNSC_LLQ_IDLE);
	assert_int_equal(next(f), 0);
	/* an answer to a request of the old connection is ignored */
	assert_int_equal(dnsc_llq_on_response(&f->c, old, f->ans, f->alen, f->r.id, &f->r.t, f->now, WALL + 2,
					      &f->res), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_NOTHING);
	dns_tsig_fini(&f->r.t);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 3, 900);
	establish(f, 4, 900);
	assert_int_equal(next(f), 0);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct dnsc_llq_counts cnt;
	struct dnsc_question want[2];

	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
	dnsc_llq_connected(&f->c, f->now);
	establish(f, 5, 900);
	/* no longer wanted: RFC 8764 §7.2, a refresh with lease 0 */
	dnsc_llq_remove(&f->c, 0);
	dnsc_llq_counts(&f->c, &cnt);
	assert_int_equal(cnt.wanted, 0);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.opcode, DNS_LLQ_REFRESH);
	assert_int_equal(f->r.llq.id, 5);
	assert_int_equal(f->r.llq.lease, 0);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_REFRESH, DNS_LLQ_NOERROR, 5, 0, 0);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_NOTHING);
	assert_int_equal(f->c.n, 0);

	/* removed while its setup is out: cancelled once the answer gives the id */
	assert_int_equal(dnsc_llq_add(&f->c, &f->desktop, DNS_TYPE_AAAA), 0);
	assert_int_equal(next(f), 1);
	dnsc_llq_remove(&f->c, 0);
	answer(f, DNS_RCODE_NOERROR, DNS_LLQ_SETUP, DNS_LLQ_NOERROR, 6, 900, 1);
	assert_int_equal(deliver(f), 0);
	assert_int_equal(f->res.kind, DNSC_LLQ_NOTHING);
	assert_int_equal(next(f), 1);
	assert_int_equal(f->r.llq.lease, 0);
	assert_int_equal(f->r.llq.id, 6);
	dns_tsig_fini(&f->r.t);
	dnsc_llq_on_failure(&f->c, f->r.token, f->now);
	assert_int_equal(f->c.n, 0);

	/* sync: make the wanted set exactly this */
	want[0].name = f->hosts;
	want[0].type = DNS_TYPE_PTR;
	want[1].name = f->desktop;
	want[1].type = DNS_TYPE_AAAA;
	assert_int_equal(dnsc_llq_sync(&f->c, want, 2), 2);
	assert_int_equal(dnsc_llq_sync(&f->c, want, 2), 0);
	assert_int_equal(dnsc_llq_sync(&f->c, want, 1), 1);
	dnsc_llq_counts(&f->c, &cnt);
	assert_int_equal(cnt.wanted, 1);
	assert_int_equal(dnsc_llq_find(&f->c, &f->desktop, DNS_TYPE_AAAA), -ENOENT);
	assert_int_equal(dnsc_llq_find(&f->c, &f->hosts, DNS_TYPE_PTR), 0);
}

static void test_capacity(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < DNSC_LLQ_MAX; i++) {
		struct dns_name n = f->desktop;
		char l[8];

		snprintf(l, sizeof(l), "h%u", i);
		assert_int_equal(dns_name_prepend_label(&n, l, strlen(l)), 0);
		assert_int_equal(dnsc_llq_add(&f->c, &n, DNS_TYPE_AAAA), (int)i);
	}
	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), -ENOSPC);
	dnsc_llq_remove(&f->c, 7);
	assert_int_equal(dnsc_llq_add(&f->c, &f->hosts, DNS_TYPE_PTR), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_timeout_keeps_llq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nosuchllq_sets_up_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servfull_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
