/*
 * lib/rsip client helper, driven against the real lib/rsip server (no
 * mocks): register, an RSIPSEC assignment that the server's demultiplexer
 * then honours, renewal at half the lease on a fake clock, free,
 * de-registration, errors handed up, and answers that do not match the
 * request refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rsip/client.h"
#include "rsip/server.h"

#define NB 0xcb00710aU
#define NA 0xc0a80101U
#define Y 0xc6336407U
#define SEC 1000ULL

static const struct rsip_peer X1 = { 0xc0a80102U, 40001 };
static const struct rsip_peer X2 = { 0xc0a80103U, 40002 };

struct t {
	struct rsip_server s;
	struct rsip_client c, c2;
	uint64_t now;
	uint8_t req[2048], resp[2048];
	size_t rn;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct rsip_server_config cfg;

	rsip_server_config_default(&cfg, NB);
	cfg.tunnel_endpoint = NA;
	cfg.spi_lo = 0x4000;
	cfg.spi_hi = 0x40ff;
	cfg.lease_min = 10;
	cfg.lease_default = 100;
	cfg.lease_max = 1000;
	cfg.seed = 7;
	assert_int_equal(rsip_server_init(&t->s, &cfg), 0);
	rsip_client_init(&t->c, 1000);
	rsip_client_init(&t->c2, 5000);
	t->now = 50 * SEC;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	rsip_server_fini(&t->s);
	free(t);
	return 0;
}

/* carry the request just built to the server and its answer back */
static int carry(struct t *t, struct rsip_client *c, const struct rsip_peer *p, size_t len,
		 struct rsip_client_event *ev)
{
	assert_int_equal(rsip_server_handle(&t->s, p, t->req, len, t->now, t->resp, sizeof(t->resp), &t->rn), 0);
	assert_true(t->rn > 0);
	return rsip_client_on_message(c, t->resp, t->rn, t->now, ev);
}

static void registered(struct t *t, struct rsip_client *c, const struct rsip_peer *p)
{
	struct rsip_client_event ev;
	size_t n;

	assert_int_equal(rsip_client_register(c, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, c, p, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_REGISTERED);
	assert_int_equal(c->state, RSIP_CLIENT_REGISTERED);
	assert_true(c->rsipsec);
	assert_true(c->rsap_ip);
	assert_false(c->rsa_ip);
}

static void assign_and_renew(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .remote = Y, .n_spis = 2, .n_ports = 1, .lease = 60 };
	struct rsip_dest d;
	const struct rsip_client_binding *b;
	uint32_t bind;
	uint64_t t0 = t->now;
	size_t n, n2;

	/* nothing but REGISTER before registering */
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), -ENOTCONN);
	registered(t, &t->c, &X1);
	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), -ENOTCONN);

	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	/* one request at a time */
	assert_int_equal(rsip_client_deregister(&t->c, t->req + 1024, 1024, &n), -EBUSY);
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), -EBUSY);
	t->c.pending = 0;	/* rebuild the first request (the -EBUSY calls wrote nothing) */
	t->c.counter--;
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
	assert_int_equal(ev.request, RSIP_ASSIGN_REQUEST_RSIPSEC);
	b = ev.bind;
	assert_non_null(b);
	assert_int_equal(b->local_addr, NB);
	assert_int_equal(b->remote_addr, Y);
	assert_int_equal(b->tunnel_endpoint, NA);
	assert_int_equal(b->n_spis, 2);
	assert_int_equal(b->n_ports, 1);
	assert_int_equal(b->lease, 60);
	bind = b->bind_id;
	/* the SPIs the client was given are the ones the server demultiplexes to it */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rsip_demux_esp(&t->s, NB, 50, b->spis[i], t->now, &d), 0);
		assert_int_equal(d.client_id, t->c.client_id);
		assert_int_equal(d.bind_id, bind);
	}
	assert_int_equal(rsip_demux_ike(&t->s, NB, b->ports[0], 9, Y, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X1.addr);

	/* renewal at half the lease, not before */
	assert_int_equal(rsip_client_next_deadline(&t->c), t0 + 30 * SEC);
	assert_int_equal(rsip_client_poll(&t->c, t0 + 30 * SEC - 1, t->req, sizeof(t->req), &n), 0);
	t->now = t0 + 30 * SEC;
	assert_int_equal(rsip_client_poll(&t->c, t->now, t->req, sizeof(t->req), &n), 1);
	/* the EXTEND is on its way: no wake-up before the binding would lapse */
	assert_int_equal(rsip_client_next_deadline(&t->c), t0 + 60 * SEC);
	assert_int_equal(rsip_client_poll(&t->c, t->now, t->req + 1024, 1024, &n2), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_EXTENDED);
	assert_int_equal(ev.bind_id, bind);
	assert_int_equal(rsip_client_next_deadline(&t->c), t0 + 60 * SEC);
	/* the server's lease moved as well: alive past the first end */
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, ev.bind->spis[0], t0 + 89 * SEC, &d), 0);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, ev.bind->spis[0], t0 + 90 * SEC, &d), -ENOENT);

	/* free */
	assert_int_equal(rsip_client_free(&t->c, bind, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_FREED);
	assert_null(rsip_client_binding(&t->c, bind));
	assert_int_equal(rsip_client_free(&t->c, bind, t->req, sizeof(t->req), &n), -ENOENT);
	assert_int_equal(rsip_client_next_deadline(&t->c), UINT64_MAX);
	assert_int_equal(t->s.n_binds, 0);

	/* de-register */
	assert_int_equal(rsip_client_deregister(&t->c, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_DEREGISTERED);
	assert_int_equal(t->c.state, RSIP_CLIENT_IDLE);
	assert_int_equal(t->s.n_clients, 0);
}

static void dont_need_and_suggested_spi(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .n_spis = 3, .spi = 0x4010 };
	size_t n;

	registered(t, &t->c, &X1);
	registered(t, &t->c2, &X2);
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
	assert_int_equal(ev.bind->n_ports, 0);
	assert_int_equal(ev.bind->n_spis, 3);
	assert_int_equal(ev.bind->spis[0], 0x4010);
	assert_int_equal(ev.bind->spis[2], 0x4012);
	assert_int_equal(ev.bind->lease, 100);

	/* X2 suggests an SPI X1 holds: the error is handed up as it came */
	r.spi = 0x4012;
	r.n_spis = 1;
	assert_int_equal(rsip_client_assign_rsipsec(&t->c2, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c2, &X2, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ERROR);
	assert_int_equal(ev.error, RSIP_E_IPSEC_SPI_INUSE);
	assert_int_equal(ev.request, RSIP_ASSIGN_REQUEST_RSIPSEC);
	assert_int_equal(t->c2.pending, 0);
	assert_int_equal(t->c2.state, RSIP_CLIENT_REGISTERED);

	/* the RSAP-IP builder */
	assert_int_equal(rsip_client_assign_rsap(&t->c2, 0, 3, 0, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c2, &X2, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
	assert_int_equal(ev.bind->n_ports, 3);
	assert_int_equal(ev.bind->ports[2], ev.bind->ports[0] + 2);

	/* QUERY */
	assert_int_equal(rsip_client_query(&t->c2, Y, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c2, &X2, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_QUERY);
	assert_int_equal(ev.msg->n_query, 1);
	assert_int_equal(ev.msg->query[0].indicator, RSIP_IND_REMOTE_ADDRESS);
}

static void lapsed_binding_forgotten(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .n_spis = 1, .lease = 20 };
	uint32_t bind;
	size_t n;

	registered(t, &t->c, &X1);
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	bind = ev.bind_id;
	/* the agent slept through the renewal: at the end the binding is gone on both sides */
	t->now += 20 * SEC;
	assert_int_equal(rsip_client_poll(&t->c, t->now, t->req, sizeof(t->req), &n), 0);
	assert_null(rsip_client_binding(&t->c, bind));
	/* a binding the server dropped while the client still held it: BAD_BIND_ID forgets it */
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	bind = ev.bind_id;
	assert_int_equal(rsip_client_extend(&t->c, bind, 0, t->req, sizeof(t->req), &n), 0);
	t->now += 20 * SEC;	/* expired at the server before the EXTEND arrives */
	assert_int_equal(carry(t, &t->c, &X1, n, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ERROR);
	assert_int_equal(ev.error, RSIP_E_BAD_BIND_ID);
	assert_null(rsip_client_binding(&t->c, bind));
}

static void unexpected_answers(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .n_spis = 1 };
	struct rsip_msg m;
	uint8_t buf[512];
	size_t n, bn;

	/* nothing asked yet */
	m = (struct rsip_msg){ .type = RSIP_REGISTER_RESPONSE, .present = RSIP_F_CLIENT_ID | RSIP_F_LEASE_TIME |
				RSIP_F_FLOW_POLICY | RSIP_F_COUNTER, .client_id = 1, .counter = 1000,
				.flow_local = 1, .flow_remote = 3 };
	assert_int_equal(rsip_msg_build(&m, buf, sizeof(buf), &bn), 0);
	assert_int_equal(rsip_client_on_message(&t->c, buf, bn, t->now, &ev), -EPROTO);
	assert_int_equal(rsip_client_on_message(&t->c, buf, bn - 1, t->now, &ev), -EBADMSG);

	registered(t, &t->c, &X1);
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(rsip_server_handle(&t->s, &X1, t->req, n, t->now, t->resp, sizeof(t->resp), &t->rn), 0);
	/* the right answer with the wrong counter (the counter comes last in it) */
	t->resp[t->rn - 1] ^= 1;
	assert_int_equal(rsip_client_on_message(&t->c, t->resp, t->rn, t->now, &ev), -EPROTO);
	t->resp[t->rn - 1] ^= 1;
	{
		struct rsip_msg a;
		uint16_t e;

		assert_int_equal(rsip_msg_parse(&a, t->resp, t->rn, &e), 0);
		a.counter++;
		assert_int_equal(rsip_msg_build(&a, buf, sizeof(buf), &bn), 0);
		assert_int_equal(rsip_client_on_message(&t->c, buf, bn, t->now, &ev), -EPROTO);
		/* another client's ID */
		a.counter--;
		a.client_id ^= 1;
		assert_int_equal(rsip_msg_build(&a, buf, sizeof(buf), &bn), 0);
		assert_int_equal(rsip_client_on_message(&t->c, buf, bn, t->now, &ev), -EPROTO);
	}
	/* the genuine answer is still accepted: those did not answer the request */
	assert_int_equal(rsip_client_on_message(&t->c, t->resp, t->rn, t->now, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);

	/* an answer to the request that breaks RFC 3104 §6.2 (ports where "don't need"
	 * was asked) ends the exchange without a binding */
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(rsip_server_handle(&t->s, &X1, t->req, n, t->now, t->resp, sizeof(t->resp), &t->rn), 0);
	{
		struct rsip_msg a;
		uint16_t e;

		assert_int_equal(rsip_msg_parse(&a, t->resp, t->rn, &e), 0);
		a.ports_local = (struct rsip_ports){ .form = RSIP_FORM_LIST, .number = 1, .port = { 40000 } };
		assert_int_equal(rsip_msg_build(&a, buf, sizeof(buf), &bn), 0);
		assert_int_equal(rsip_client_on_message(&t->c, buf, bn, t->now, &ev), -EPROTO);
		assert_null(rsip_client_binding(&t->c, a.bind_id));
		assert_int_equal(t->c.pending, 0);
	}

	/* an unsolicited DE-REGISTER_RESPONSE from the server ends the registration */
	m = (struct rsip_msg){ .type = RSIP_DEREGISTER_RESPONSE, .present = RSIP_F_CLIENT_ID,
			       .client_id = t->c.client_id };
	assert_int_equal(rsip_msg_build(&m, buf, sizeof(buf), &bn), 0);
	assert_int_equal(rsip_client_on_message(&t->c, buf, bn, t->now, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_DEREGISTERED);
	assert_int_equal(t->c.state, RSIP_CLIENT_IDLE);
	assert_int_equal(rsip_client_next_deadline(&t->c), UINT64_MAX);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(assign_and_renew),
		T(dont_need_and_suggested_spi),
		T(lapsed_binding_forgotten),
		T(unexpected_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
