/*
 * Unit tests for lib/stun/natcheck: RFC 5780 behaviour discovery against a
 * scripted RFC 5780 server (answers built with lib/stun's builder) behind
 * a modelled NAT of every mapping and filtering kind, on a fake clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stun/msg.h"
#include "stun/natcheck.h"

#define PRIMARY_IP	"192.0.2.1"
#define ALT_IP		"192.0.2.2"
#define PRIMARY_PORT	3478
#define ALT_PORT	3479
#define NAT_IP		"203.0.113.5"
#define LOCAL_IP	"10.0.0.2"
#define LOCAL_PORT	4500

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return s;
}

static void rnd(void *arg, void *buf, size_t len)
{
	unsigned *ctr = arg;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(*ctr * 13 + i * 7 + 1);
	(*ctr)++;
}

/* ---- the modelled NAT and server ---- */

struct world {
	enum stun_nat_behavior mapping, filtering;	/* NONE: no NAT at all */
	bool server_5780;		/* OTHER-ADDRESS, honours CHANGE-REQUEST */
	bool ignore_change;		/* answers CHANGE-REQUEST from where it was asked */
	bool reject_change;		/* answers CHANGE-REQUEST with 420 */
	bool server_down;
	unsigned drop_first;		/* outbound requests lost before any gets through */
	/* NAT state */
	struct { struct sockaddr_in dst; uint16_t ext; } map[16];
	unsigned n_map;
	/* what happened */
	unsigned sent;
	uint64_t send_times[32];
	unsigned n_times;
	uint8_t last_change;
};

static bool same(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* The NAT's external port for a packet from LOCAL to @p dst (RFC 4787 §4.1 kinds). */
static uint16_t nat_out(struct world *w, const struct sockaddr_in *dst)
{
	for (unsigned i = 0; i < w->n_map; i++) {
		const struct sockaddr_in *d = &w->map[i].dst;

		if (w->mapping == STUN_NAT_ENDPOINT_INDEPENDENT ||
		    (w->mapping == STUN_NAT_ADDRESS_DEPENDENT && d->sin_addr.s_addr == dst->sin_addr.s_addr) ||
		    same(d, dst)) {
			/* remember the destination for the filter, same port */
			if (!same(d, dst) && w->n_map < 16) {
				w->map[w->n_map].dst = *dst;
				w->map[w->n_map].ext = w->map[i].ext;
				w->n_map++;
			}
			return w->map[i].ext;
		}
	}
	assert_true(w->n_map < 16);
	w->map[w->n_map].dst = *dst;
	w->map[w->n_map].ext = (uint16_t)(40000 + w->n_map * 17);
	return w->map[w->n_map++].ext;
}

/* Does the NAT let a packet from @p src to external port @p ext in (RFC 4787 §5)? */
static bool nat_in(const struct world *w, const struct sockaddr_in *src, uint16_t ext)
{
	for (unsigned i = 0; i < w->n_map; i++) {
		const struct sockaddr_in *d = &w->map[i].dst;

		if (w->map[i].ext != ext)
			continue;
		if (w->filtering == STUN_NAT_ENDPOINT_INDEPENDENT ||
		    (w->filtering == STUN_NAT_ADDRESS_DEPENDENT && d->sin_addr.s_addr == src->sin_addr.s_addr) ||
		    same(d, src))
			return true;
	}
	return false;
}

/* The server's answer to @p req received on @p on from @p src; @p from is where it answers from. */
static size_t serve(struct world *w, const uint8_t *req, size_t len, const struct sockaddr_in *on,
		    const struct sockaddr_in *src, struct sockaddr_in *from, uint8_t *buf, size_t cap)
{
	struct stun_msg m;
	struct stun_builder b;
	struct sockaddr_in other = sin4(ALT_IP, ALT_PORT);
	uint32_t change = 0;
	int n;

	assert_int_equal(stun_msg_parse(req, len, &m), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_true(m.fingerprint);
	(void)stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &change);
	w->last_change = (uint8_t)change;
	*from = *on;
	if (change && w->reject_change) {
		stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_ERROR, m.tid);
		stun_builder_add_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute");
		stun_builder_add_unknown(&b, (const uint16_t[]){ STUN_ATTR_CHANGE_REQUEST }, 1);
		n = stun_builder_finish(&b);
		assert_true(n > 0);
		return (size_t)n;
	}
	if (w->server_5780 && !w->ignore_change) {
		/* RFC 5780 §6.1: answer from the other address and/or port */
		if (change & STUN_CHANGE_IP)
			from->sin_addr = on->sin_addr.s_addr == other.sin_addr.s_addr ?
					 sin4(PRIMARY_IP, 0).sin_addr : other.sin_addr;
		if (change & STUN_CHANGE_PORT)
			from->sin_port = on->sin_port == other.sin_port ? htons(PRIMARY_PORT) : other.sin_port;
	}
	stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (const struct sockaddr *)src);
	if (w->server_5780) {
		stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, (const struct sockaddr *)&other);
		stun_builder_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, (const struct sockaddr *)from);
	}
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

/* The requests a call asked for, queued in the order they go out; the last call's deadline. */
struct queue {
	struct stun_natcheck_send q[32];
	unsigned n;
	uint64_t deadline;
	bool done;
};

static void enqueue(struct world *w, struct queue *q, const struct stun_natcheck_out *out, uint64_t now)
{
	assert_true(out->n_sends <= STUN_NATCHECK_MAX_TX);
	for (unsigned i = 0; i < out->n_sends; i++) {
		assert_true(q->n < 32 && w->n_times < 32);
		q->q[q->n++] = out->sends[i];
		w->send_times[w->n_times++] = now;
		w->sent++;
	}
	q->deadline = out->deadline;
	q->done |= out->done;
	if (out->done)
		assert_int_equal(out->deadline, STUN_NATCHECK_NEVER);
	else
		assert_true(out->deadline > now && out->deadline != STUN_NATCHECK_NEVER);
}

/* Run a whole check in @p w from time 1000; returns the result and the time it ended. */
static struct stun_natcheck_result run_check(struct world *w, const struct stun_natcheck_config *cfg,
					     bool know_local, uint64_t *end)
{
	struct stun_natcheck nc;
	struct stun_natcheck_out out;
	struct sockaddr_in server = sin4(PRIMARY_IP, PRIMARY_PORT);
	struct sockaddr_in local = sin4(w->mapping == STUN_NAT_NONE ? NAT_IP : LOCAL_IP, LOCAL_PORT);
	struct queue q = { .n = 0 };
	unsigned ctr = 0;
	uint64_t now = 1000;

	assert_int_equal(stun_natcheck_start(&nc, cfg, (struct sockaddr *)&server,
					     know_local ? (struct sockaddr *)&local : NULL, rnd, &ctr, now, &out), 0);
	assert_true(stun_natcheck_running(&nc));
	enqueue(w, &q, &out, now);
	for (int steps = 0; steps < 200 && !q.done; steps++) {
		struct sockaddr_in dst, src, from;
		struct stun_natcheck_send s;
		uint8_t resp[256];
		size_t n;
		int rc;

		if (!q.n) {
			now = q.deadline;
			stun_natcheck_on_timeout(&nc, now, &out);
			enqueue(w, &q, &out, now);
			continue;
		}
		s = q.q[0];
		memmove(q.q, q.q + 1, --q.n * sizeof(q.q[0]));
		assert_int_equal(s.to.ss_family, AF_INET);
		memcpy(&dst, &s.to, sizeof(dst));
		if (w->drop_first) {
			w->drop_first--;
			continue;
		}
		if (w->server_down)
			continue;
		src = sin4(NAT_IP, LOCAL_PORT);
		if (w->mapping != STUN_NAT_NONE)
			src.sin_port = htons(nat_out(w, &dst));
		n = serve(w, s.buf, s.len, &dst, &src, &from, resp, sizeof(resp));
		if (w->mapping != STUN_NAT_NONE && !nat_in(w, &from, ntohs(src.sin_port)))
			continue;
		rc = stun_natcheck_on_input(&nc, resp, n, (struct sockaddr *)&from, now, &out);
		if (rc == -ENOENT)
			continue;	/* the other request of a round that is already decided */
		assert_int_equal(rc, 0);
		enqueue(w, &q, &out, now);
		/* a second copy of the answer is no longer for a request under way */
		assert_int_equal(stun_natcheck_on_input(&nc, resp, n, (struct sockaddr *)&from, now, &out), -ENOENT);
	}
	assert_true(q.done);
	assert_false(stun_natcheck_running(&nc));
	*end = now;
	return *stun_natcheck_result(&nc);
}

static void expect_reflexive(const struct stun_natcheck_result *r, const char *ip, uint16_t port)
{
	struct sockaddr_in want = sin4(ip, port), got;

	assert_int_equal(r->reflexive.ss_family, AF_INET);
	memcpy(&got, &r->reflexive, sizeof(got));
	assert_true(same(&got, &want));
}

/* ---- tests ---- */

/* Every mapping kind with every filtering kind: RFC 5780 §4.3 and §4.4 tell them apart. */
static void test_matrix(void **st)
{
	static const enum stun_nat_behavior kinds[] = {
		STUN_NAT_ENDPOINT_INDEPENDENT, STUN_NAT_ADDRESS_DEPENDENT, STUN_NAT_ADDRESS_PORT_DEPENDENT,
	};

	(void)st;
	for (unsigned m = 0; m < 3; m++) {
		for (unsigned f = 0; f < 3; f++) {
			struct world w = { .mapping = kinds[m], .filtering = kinds[f], .server_5780 = true };
			uint64_t end;
			struct stun_natcheck_result r = run_check(&w, NULL, true, &end);

			assert_true(r.reachable);
			assert_true(r.rfc5780);
			assert_false(r.timed_out);
			expect_reflexive(&r, NAT_IP, 40000);	/* the first mapping the NAT made */
			assert_int_equal(r.mapping, kinds[m]);
			assert_int_equal(r.filtering, kinds[f]);
			/* the worst case: filtering II waited out (3.5 s), mapping III too */
			assert_true(end - 1000 <= 7000);
		}
	}
}

/* Nothing answers: sends at 0, 0.5 and 1.5 s, given up at 3.5 s (RFC 8489 §6.2.1 with Rc 3, Rm 4). */
static void test_unreachable(void **st)
{
	struct world w = { .mapping = STUN_NAT_ENDPOINT_INDEPENDENT, .filtering = STUN_NAT_ENDPOINT_INDEPENDENT,
			   .server_down = true };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, NULL, false, &end);

	(void)st;
	assert_false(r.reachable);
	assert_false(r.timed_out);
	assert_int_equal(r.reflexive.ss_family, 0);
	assert_int_equal(r.mapping, STUN_NAT_UNKNOWN);
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(w.sent, 3);
	assert_int_equal(w.send_times[0], 1000);
	assert_int_equal(w.send_times[1], 1500);
	assert_int_equal(w.send_times[2], 2500);
	assert_int_equal(end, 4500);
}

/* RFC 8489's own numbers: Rc 7, Rm 16 gives up at 39.5 s. */
static void test_rfc8489_timing(void **st)
{
	struct stun_natcheck_config cfg = { .rto_ms = 500, .rc = 7, .rm = 16, .budget_ms = 0 };
	struct world w = { .server_down = true };
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, &cfg, false, &end);

	(void)st;
	assert_false(r.reachable);
	assert_int_equal(w.sent, 7);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(w.send_times[i] - 1000, want[i]);
	assert_int_equal(end - 1000, 39500);
}

/* A lost request is retransmitted with the same transaction id, and the answer counts. */
static void test_retransmit(void **st)
{
	struct world w = { .mapping = STUN_NAT_ENDPOINT_INDEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT,
			   .server_5780 = true, .drop_first = 2 };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, NULL, false, &end);

	(void)st;
	assert_true(r.reachable);
	assert_int_equal(w.send_times[2], 2500);	/* the third send of test I got through */
	assert_int_equal(r.mapping, STUN_NAT_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.filtering, STUN_NAT_ADDRESS_PORT_DEPENDENT);
}

/* A server without RFC 5780 (no OTHER-ADDRESS): the reflexive address only. */
static void test_plain_server(void **st)
{
	struct world w = { .mapping = STUN_NAT_ADDRESS_PORT_DEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, NULL, false, &end);

	(void)st;
	assert_true(r.reachable);
	assert_false(r.rfc5780);
	expect_reflexive(&r, NAT_IP, 40000);
	assert_int_equal(r.mapping, STUN_NAT_UNKNOWN);
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(w.sent, 1);
	assert_int_equal(end, 1000);
}

/* A server that answers CHANGE-REQUEST from where it was asked, or refuses it: filtering unknown. */
static void test_change_ignored(void **st)
{
	struct world w = { .mapping = STUN_NAT_ENDPOINT_INDEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT,
			   .server_5780 = true, .ignore_change = true };
	struct world w2 = { .mapping = STUN_NAT_ADDRESS_DEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT,
			    .server_5780 = true, .reject_change = true };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, NULL, false, &end);

	(void)st;
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(r.mapping, STUN_NAT_ENDPOINT_INDEPENDENT);
	r = run_check(&w2, NULL, false, &end);
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(r.mapping, STUN_NAT_ADDRESS_DEPENDENT);
}

/* No NAT: the reflexive address is the local one; mapping "none", filtering still tested (a firewall). */
static void test_no_nat(void **st)
{
	struct world w = { .mapping = STUN_NAT_NONE, .server_5780 = true };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, NULL, true, &end);

	(void)st;
	expect_reflexive(&r, NAT_IP, LOCAL_PORT);
	assert_int_equal(r.mapping, STUN_NAT_NONE);
	assert_int_equal(r.filtering, STUN_NAT_ENDPOINT_INDEPENDENT);
	assert_int_equal(w.sent, 3);	/* test I, filtering II and III; no mapping tests */
}

/* binding_only: test I and nothing else, even with an RFC 5780 server. */
static void test_binding_only(void **st)
{
	struct stun_natcheck_config cfg;
	struct world w = { .mapping = STUN_NAT_ADDRESS_PORT_DEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT,
			   .server_5780 = true };
	uint64_t end;
	struct stun_natcheck_result r;

	(void)st;
	stun_natcheck_config_default(&cfg);
	cfg.binding_only = true;
	r = run_check(&w, &cfg, false, &end);
	assert_true(r.reachable);
	assert_true(r.rfc5780);
	expect_reflexive(&r, NAT_IP, 40000);
	assert_int_equal(r.mapping, STUN_NAT_UNKNOWN);
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(w.sent, 1);
	assert_int_equal(w.n_map, 1);	/* nothing went to the alternate address */
	assert_int_equal(end, 1000);
}

/* The budget ends a check with what is known. */
static void test_budget(void **st)
{
	struct stun_natcheck_config cfg = { .rto_ms = 500, .rc = 3, .rm = 4, .budget_ms = 2000 };
	struct world w = { .mapping = STUN_NAT_ENDPOINT_INDEPENDENT, .filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT,
			   .server_5780 = true };
	uint64_t end;
	struct stun_natcheck_result r = run_check(&w, &cfg, false, &end);

	(void)st;
	assert_true(r.timed_out);
	assert_true(r.reachable);
	expect_reflexive(&r, NAT_IP, 40000);
	assert_int_equal(r.filtering, STUN_NAT_UNKNOWN);
	assert_int_equal(r.mapping, STUN_NAT_UNKNOWN);
	assert_int_equal(end, 3000);
}

/* What is refused: not STUN, an unknown transaction, a wrong source, a request, calls when idle. */
static void test_refused_input(void **st)
{
	struct stun_natcheck nc;
	struct stun_natcheck_out out;
	struct sockaddr_in server = sin4(PRIMARY_IP, PRIMARY_PORT), other = sin4("198.51.100.9", PRIMARY_PORT);
	struct sockaddr_in mapped = sin4(NAT_IP, 40000);
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN], buf[128], junk[24] = { 1, 2, 3 };
	struct stun_msg m;
	unsigned ctr = 0;
	int n;

	(void)st;
	memset(&nc, 0, sizeof(nc));
	assert_int_equal(stun_natcheck_on_input(&nc, junk, sizeof(junk), (struct sockaddr *)&server, 0, &out),
			 -EBADMSG);
	assert_false(stun_natcheck_running(&nc));
	assert_int_equal(stun_natcheck_start(&nc, NULL, (struct sockaddr *)&server, NULL, NULL, NULL, 0, &out),
			 -EINVAL);
	assert_int_equal(stun_natcheck_start(&nc, NULL, (struct sockaddr *)&server, NULL, rnd, &ctr, 0, &out), 0);
	assert_int_equal(out.n_sends, 1);
	assert_int_equal(out.deadline, 500);
	assert_int_equal(stun_msg_parse(out.sends[0].buf, out.sends[0].len, &m), 0);
	assert_int_equal(out.sends[0].len, 28);	/* header and FINGERPRINT */
	memcpy(tid, m.tid, sizeof(tid));

	/* an answer with another transaction id */
	tid[0] ^= 1;
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&mapped);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	assert_int_equal(stun_natcheck_on_input(&nc, buf, (size_t)n, (struct sockaddr *)&server, 10, &out), -ENOENT);
	tid[0] ^= 1;
	/* a request with ours */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_natcheck_on_input(&nc, buf, (size_t)n, (struct sockaddr *)&server, 10, &out), -ENOENT);
	/* the right answer from elsewhere */
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&mapped);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_natcheck_on_input(&nc, buf, (size_t)n, (struct sockaddr *)&other, 10, &out), -EPERM);
	assert_true(stun_natcheck_running(&nc));
	/* and from the server: done (no OTHER-ADDRESS) */
	assert_int_equal(stun_natcheck_on_input(&nc, buf, (size_t)n, (struct sockaddr *)&server, 10, &out), 0);
	assert_true(out.done);
	assert_int_equal(out.n_sends, 0);
	expect_reflexive(stun_natcheck_result(&nc), NAT_IP, 40000);
	/* after the end */
	stun_natcheck_on_timeout(&nc, 20, &out);
	assert_false(out.done);
	assert_int_equal(out.n_sends, 0);
	assert_int_equal(out.deadline, STUN_NATCHECK_NEVER);
}

/* The filtering requests carry CHANGE-REQUEST and go to the primary address; mapping ones to the alternate. */
static void test_request_shapes(void **st)
{
	struct stun_natcheck nc;
	struct stun_natcheck_out out;
	struct sockaddr_in server = sin4(PRIMARY_IP, PRIMARY_PORT), alt = sin4(ALT_IP, ALT_PORT);
	struct sockaddr_in mapped = sin4(NAT_IP, 40000), to;
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[128];
	uint32_t change;
	unsigned ctr = 0;
	int n;

	(void)st;
	assert_int_equal(stun_natcheck_start(&nc, NULL, (struct sockaddr *)&server, NULL, rnd, &ctr, 0, &out), 0);
	assert_int_equal(stun_msg_parse(out.sends[0].buf, out.sends[0].len, &m), 0);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &change), -ENOENT);
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&mapped);
	stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, (struct sockaddr *)&alt);
	n = stun_builder_finish(&b);
	assert_int_equal(stun_natcheck_on_input(&nc, buf, (size_t)n, (struct sockaddr *)&server, 100, &out), 0);
	assert_int_equal(out.n_sends, 2);
	assert_int_equal(out.deadline, 600);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(stun_msg_parse(out.sends[i].buf, out.sends[i].len, &m), 0);
		assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &change), 0);
		assert_int_equal(change, i == 0 ? (STUN_CHANGE_IP | STUN_CHANGE_PORT) : STUN_CHANGE_PORT);
		memcpy(&to, &out.sends[i].to, sizeof(to));
		assert_true(same(&to, &server));
	}
	/* both filtering requests unanswered: address-and-port-dependent at 100 + 3500 ms, then mapping */
	stun_natcheck_on_timeout(&nc, 600, &out);
	assert_int_equal(out.n_sends, 2);
	stun_natcheck_on_timeout(&nc, 1600, &out);
	assert_int_equal(out.n_sends, 2);
	assert_int_equal(out.deadline, 3600);
	stun_natcheck_on_timeout(&nc, 3600, &out);
	assert_int_equal(stun_natcheck_result(&nc)->filtering, STUN_NAT_ADDRESS_PORT_DEPENDENT);
	assert_int_equal(out.n_sends, 2);
	memcpy(&to, &out.sends[0].to, sizeof(to));
	assert_true(same(&to, &(struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(PRIMARY_PORT),
						     .sin_addr = alt.sin_addr }));
	memcpy(&to, &out.sends[1].to, sizeof(to));
	assert_true(same(&to, &alt));
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(stun_msg_parse(out.sends[i].buf, out.sends[i].len, &m), 0);
		assert_false(stun_msg_has(&m, STUN_ATTR_CHANGE_REQUEST));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_rfc8489_timing),
		cmocka_unit_test(test_retransmit),
		cmocka_unit_test(test_plain_server),
		cmocka_unit_test(test_change_ignored),
		cmocka_unit_test(test_no_nat),
		cmocka_unit_test(test_binding_only),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_refused_input),
		cmocka_unit_test(test_request_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
