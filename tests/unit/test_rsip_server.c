/*
 * lib/rsip server logic with a fake clock: two clients X1 and X2 sharing
 * one public address Nb (RFC 3104 Appendix F, SOHO), SPI and IKE
 * demultiplexing, the IPsec errors 401/402/403, leases and their expiry,
 * and the RFC 3103 errors of the registration and allocation steps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rsip/server.h"

#define NB 0xcb00710aU		/* 203.0.113.10 */
#define NB2 0xcb00710bU		/* 203.0.113.11, lent whole when configured */
#define NA 0xc0a80101U		/* 192.168.1.1 */
#define Y 0xc6336407U		/* 198.51.100.7, the legacy IPsec peer */
#define Z 0xc6336408U
#define SEC 1000ULL

static const struct rsip_peer X1 = { 0xc0a80102U, 33001 };	/* 192.168.1.2 */
static const struct rsip_peer X2 = { 0xc0a80103U, 33002 };	/* 192.168.1.3 */

struct t {
	struct rsip_server s;
	struct rsip_server_config cfg;
	uint64_t now;
	uint32_t cid1, cid2;
	struct rsip_msg resp;
};

static void config(struct t *t)
{
	rsip_server_config_default(&t->cfg, NB);
	t->cfg.tunnel_endpoint = NA;
	t->cfg.port_lo = 50000;
	t->cfg.port_hi = 50009;
	t->cfg.spi_lo = 0x1000;
	t->cfg.spi_hi = 0x10ff;
	t->cfg.lease_min = 30;
	t->cfg.lease_default = 60;
	t->cfg.lease_max = 120;
	t->cfg.reg_lease = 300;
	t->cfg.seed = 0x5eed;
	t->cfg.local_nets[0] = (struct rsip_prefix){ 0xc0a80100U, 24 };
	t->cfg.n_local_nets = 1;
	t->now = 1000 * SEC;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	config(t);
	assert_int_equal(rsip_server_init(&t->s, &t->cfg), 0);
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

static void restart(struct t *t)
{
	rsip_server_fini(&t->s);
	assert_int_equal(rsip_server_init(&t->s, &t->cfg), 0);
}

/* Send @p q from @p p; return the response type, and the error in *err for ERROR_RESPONSE. */
static uint8_t xchg(struct t *t, const struct rsip_peer *p, const struct rsip_msg *q, uint16_t *err)
{
	uint8_t req[2048], resp[2048];
	size_t n, rn;
	uint16_t e;

	assert_int_equal(rsip_msg_build(q, req, sizeof(req), &n), 0);
	assert_int_equal(rsip_server_handle(&t->s, p, req, n, t->now, resp, sizeof(resp), &rn), 0);
	if (rn == 0)
		return 0;
	assert_int_equal(rsip_msg_parse(&t->resp, resp, rn, &e), 0);
	if (err)
		*err = t->resp.type == RSIP_ERROR_RESPONSE ? t->resp.error : 0;
	return t->resp.type;
}

static uint16_t err_of(struct t *t, const struct rsip_peer *p, const struct rsip_msg *q)
{
	uint16_t e = 0;

	assert_int_equal(xchg(t, p, q, &e), RSIP_ERROR_RESPONSE);
	return e;
}

static uint32_t do_register(struct t *t, const struct rsip_peer *p)
{
	struct rsip_msg q = { .type = RSIP_REGISTER_REQUEST };

	assert_int_equal(xchg(t, p, &q, NULL), RSIP_REGISTER_RESPONSE);
	return t->resp.client_id;
}

static void rsipsec_req(struct rsip_msg *q, uint32_t cid, uint8_t spi_form, uint16_t n, uint32_t spi0,
			uint8_t port_form, uint8_t nports)
{
	memset(q, 0, sizeof(*q));
	q->type = RSIP_ASSIGN_REQUEST_RSIPSEC;
	q->present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_LOCAL |
		     RSIP_F_PORTS_REMOTE | RSIP_F_SPI;
	q->client_id = cid;
	rsip_addr_set_any(&q->addr_local, RSIP_ADDR_IPV4);
	rsip_addr_set_ipv4(&q->addr_remote, Y);
	q->ports_local.form = port_form;
	q->ports_local.number = nports;
	q->ports_remote.form = RSIP_FORM_DONT_NEED;
	q->spi.form = spi_form;
	q->spi.number = n;
	q->spi.spi[0] = spi0;
}

/* register X1 and X2 */
static void two_clients(struct t *t)
{
	t->cid1 = do_register(t, &X1);
	t->cid2 = do_register(t, &X2);
}

/* ---- registration ---- */

static void register_advertises_rsipsec(void **state)
{
	struct t *t = *state;
	struct rsip_msg q = { .type = RSIP_REGISTER_REQUEST, .present = RSIP_F_COUNTER, .counter = 41 };
	bool sec = false;

	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_REGISTER_RESPONSE);
	assert_int_equal(t->resp.counter, 41);		/* the counter is echoed */
	assert_int_equal(t->resp.lease_time, 300);
	assert_int_equal(t->resp.flow_local, RSIP_FLOW_MACRO);
	assert_int_equal(t->resp.flow_remote, RSIP_FLOW_NONE);
	for (unsigned i = 0; i < t->resp.n_method; i++)
		sec |= t->resp.method[i] == RSIP_METHOD_RSIPSEC;
	assert_true(sec);
	assert_int_equal(t->resp.n_tunnel, 1);
	assert_int_equal(t->resp.tunnel[0], RSIP_TUNNEL_IPIP);
	t->cid1 = t->resp.client_id;
	t->cid2 = do_register(t, &X2);
	assert_int_not_equal(t->cid1, t->cid2);
	assert_int_not_equal(t->cid1, 0);
	/* again from X1 */
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_ALREADY_REGISTERED);
	assert_int_equal(t->s.n_clients, 2);
	assert_non_null(rsip_server_client(&t->s, t->cid2));

	/* without IPsec, RSIPSEC is not advertised */
	t->cfg.ipsec = false;
	restart(t);
	do_register(t, &X1);
	for (unsigned i = 0; i < t->resp.n_method; i++)
		assert_int_not_equal(t->resp.method[i], RSIP_METHOD_RSIPSEC);
}

static void registration_errors(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;

	/* ASSIGN before REGISTER */
	rsipsec_req(&q, 1234, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_REGISTER_FIRST);
	/* DE-REGISTER when not registered */
	q = (struct rsip_msg){ .type = RSIP_DEREGISTER_REQUEST, .present = RSIP_F_CLIENT_ID, .client_id = 1234 };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_ALREADY_UNREGISTERED);

	two_clients(t);
	/* X2 speaking with X1's Client ID */
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_BAD_CLIENT_ID);
	assert_true(t->resp.present & RSIP_F_CLIENT_ID);
	assert_int_equal(t->resp.client_id, t->cid1);
	/* a registered X1 with an unknown Client ID */
	q.client_id = t->cid1 ^ 0x5555;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_CLIENT_ID);
	/* a Bind ID that is not X1's */
	q = (struct rsip_msg){ .type = RSIP_EXTEND_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID,
			       .client_id = t->cid1, .bind_id = 99 };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_BIND_ID);
	q.type = RSIP_FREE_REQUEST;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_BIND_ID);

	/* registration policy */
	t->cfg.register_allow[0] = (struct rsip_prefix){ X2.addr, 32 };
	t->cfg.n_register_allow = 1;
	restart(t);
	q = (struct rsip_msg){ .type = RSIP_REGISTER_REQUEST };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_REGISTRATION_DENIED);
	do_register(t, &X2);
}

static void message_errors(void **state)
{
	struct t *t = *state;
	uint8_t resp[256], bad[] = { 1, 2, 0, 9, 11, 0, 4, 0, 0 };	/* truncated counter */
	uint8_t v2[] = { 2, 2, 0, 4 };
	uint8_t err_in[] = { 1, 1, 0, 9, 8, 0, 2, 0, 101 };
	size_t rn;
	struct rsip_msg q;
	uint16_t e;

	assert_int_equal(rsip_server_handle(&t->s, &X1, bad, sizeof(bad), t->now, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_msg_parse(&t->resp, resp, rn, &e), 0);
	assert_int_equal(t->resp.error, RSIP_E_BAD_MESSAGE);
	assert_int_equal(rsip_server_handle(&t->s, &X1, v2, sizeof(v2), t->now, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_msg_parse(&t->resp, resp, rn, &e), 0);
	assert_int_equal(t->resp.error, RSIP_E_UNSUPPORTED_RSIP_VERSION);
	/* an ERROR_RESPONSE is never answered */
	assert_int_equal(rsip_server_handle(&t->s, &X1, err_in, sizeof(err_in), t->now, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rn, 0);
	/* too little room for the answer */
	assert_int_equal(rsip_server_handle(&t->s, &X1, v2, sizeof(v2), t->now, resp, 8, &rn), -ENOSPC);

	/* a response sent to the server */
	two_clients(t);
	q = (struct rsip_msg){ .type = RSIP_FREE_RESPONSE, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID | RSIP_F_COUNTER,
			       .client_id = t->cid1, .bind_id = 1, .counter = 5 };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_ILLEGAL_MESSAGE);
	assert_int_equal(t->resp.counter, 5);
	/* a grammar violation is answered with its error, the counter echoed */
	q = (struct rsip_msg){ .type = RSIP_EXTEND_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID | RSIP_F_COUNTER,
			       .client_id = t->cid1, .bind_id = 1, .counter = 6 };
	{
		uint8_t req[64];
		size_t n;

		assert_int_equal(rsip_msg_build(&q, req, sizeof(req), &n), 0);
		req[1] = RSIP_REGISTER_REQUEST;	/* a REGISTER carrying a Client ID */
		assert_int_equal(rsip_server_handle(&t->s, &X1, req, n, t->now, resp, sizeof(resp), &rn), 0);
		assert_int_equal(rsip_msg_parse(&t->resp, resp, rn, &e), 0);
		assert_int_equal(t->resp.error, RSIP_E_EXTRA_PARAM);
		assert_int_equal(t->resp.counter, 6);
	}
	/* tunnel types other than IP-IP */
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	q.n_tunnel = 1;
	q.tunnel[0] = RSIP_TUNNEL_GRE;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_TUNNEL_TYPE);
	q.tunnel[0] = RSIP_TUNNEL_IPIP;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);

	/* over UDP every request carries a counter */
	t->cfg.counter_required = true;
	t->cfg.listen = false;
	restart(t);
	q = (struct rsip_msg){ .type = RSIP_REGISTER_REQUEST };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_MESSAGE_COUNTER_REQUIRED);
	q.present = RSIP_F_COUNTER;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_REGISTER_RESPONSE);
	t->cid1 = t->resp.client_id;
	/* LISTEN switched off; RSA-IP with no address to lend whole */
	q = (struct rsip_msg){ .type = RSIP_LISTEN_REQUEST, .client_id = t->cid1, .counter = 1,
			       .present = RSIP_F_CLIENT_ID | RSIP_F_COUNTER | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE |
					  RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE };
	rsip_addr_set_any(&q.addr_local, RSIP_ADDR_IPV4);
	rsip_addr_set_any(&q.addr_remote, RSIP_ADDR_IPV4);
	q.ports_local = (struct rsip_ports){ .form = RSIP_FORM_DONT_CARE, .number = 1 };
	q.ports_remote = q.ports_local;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_UNSUPPORTED_MESSAGE);
	q.type = RSIP_ASSIGN_REQUEST_RSA_IP;
	q.present &= ~RSIP_F_PORTS_LOCAL;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_UNSUPPORTED_MESSAGE);
}

/* ---- the SOHO scenario of RFC 3104 Appendix F ---- */

static void shared_nb_and_spi_demux(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	uint32_t spi1[2], spi2[2], bind1, bind2, a;
	uint16_t port1, port2;

	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 2, 0, RSIP_FORM_DONT_CARE, 1);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(rsip_addr_get_ipv4(&t->resp.addr_local, &a), 0);
	assert_int_equal(a, NB);
	assert_int_equal(rsip_addr_get_ipv4(&t->resp.addr_tunnel, &a), 0);
	assert_int_equal(a, NA);
	assert_int_equal(rsip_addr_get_ipv4(&t->resp.addr_remote, &a), 0);
	assert_int_equal(a, Y);
	assert_int_equal(t->resp.spi.form, RSIP_FORM_LIST);
	assert_int_equal(t->resp.spi.number, 2);
	assert_int_equal(t->resp.ports_local.form, RSIP_FORM_LIST);
	assert_int_equal(t->resp.ports_local.number, 1);
	assert_int_equal(t->resp.ports_remote.form, RSIP_FORM_DONT_NEED);
	assert_int_equal(t->resp.lease_time, 60);
	assert_int_equal(t->resp.n_tunnel, 1);
	spi1[0] = t->resp.spi.spi[0];
	spi1[1] = t->resp.spi.spi[1];
	port1 = t->resp.ports_local.port[0];
	bind1 = t->resp.bind_id;

	rsipsec_req(&q, t->cid2, RSIP_FORM_DONT_CARE, 2, 0, RSIP_FORM_DONT_CARE, 1);
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(rsip_addr_get_ipv4(&t->resp.addr_local, &a), 0);
	assert_int_equal(a, NB);	/* both share the one public address */
	spi2[0] = t->resp.spi.spi[0];
	spi2[1] = t->resp.spi.spi[1];
	port2 = t->resp.ports_local.port[0];
	bind2 = t->resp.bind_id;
	assert_int_not_equal(bind1, bind2);
	assert_int_not_equal(port1, port2);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			assert_int_not_equal(spi1[i], spi2[j]);
	assert_int_not_equal(spi1[0], spi1[1]);
	for (int i = 0; i < 2; i++) {
		assert_in_range(spi1[i], 0x1000, 0x10ff);
		assert_in_range(spi2[i], 0x1000, 0x10ff);
	}

	/* ESP (50) and AH (51) to Nb go to the client that holds the SPI */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi1[i], t->now, &d), 0);
		assert_int_equal(d.client_id, t->cid1);
		assert_int_equal(d.bind_id, bind1);
		assert_int_equal(d.tunnel_addr, X1.addr);
		assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi2[i], t->now, &d), 0);
		assert_int_equal(d.client_id, t->cid2);
		assert_int_equal(d.tunnel_addr, X2.addr);
		assert_int_equal(rsip_demux_esp(&t->s, NB, 51, spi2[i], t->now, &d), 0);
		assert_int_equal(d.client_id, t->cid2);
	}
	/* unknown SPI, another address, another protocol: none, and counted */
	assert_int_equal(t->s.stats.esp_misses, 0);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, 0x2000, t->now, &d), -ENOENT);
	assert_int_equal(rsip_demux_esp(&t->s, NB + 1, 50, spi1[0], t->now, &d), -ENOENT);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 17, spi1[0], t->now, &d), -ENOENT);
	assert_int_equal(t->s.stats.esp_misses, 3);
	assert_int_equal(t->s.stats.esp_hits, 6);

	/* IKE to each client's ephemeral port (§6.1, the preferred way) */
	assert_int_equal(rsip_demux_ike(&t->s, NB, port1, 0x1111, Y, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid1);
	assert_int_equal(rsip_demux_ike(&t->s, NB, port2, 0x2222, Y, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 50009 == port1 || 50009 == port2 ? 50008 : 50009, 1, Y,
					t->now, &d), -ENOENT);
	assert_int_equal(rsip_demux_port(&t->s, NB, port2, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	/* and out of it: only from the client that holds it */
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, port1, Y, 0x1111, t->now), 0);
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, port2, Y, 0x1111, t->now), -EPERM);
	assert_int_equal(rsip_outbound_check(&t->s, X2.addr, NB, t->now), 0);
	assert_int_equal(rsip_outbound_check(&t->s, 0xc0a80109U, NB, t->now), -EPERM);
	assert_non_null(rsip_server_binding(&t->s, bind1));
}

static void ike_initiator_spi_demux(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	const uint64_t A = 0x0123456789abcdefULL, B = 0xfedcba9876543210ULL;
	uint32_t bind1;

	two_clients(t);
	/* no RSIPSEC binding yet: not allowed to send IKE from Nb */
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, 500, Y, A, t->now), -EPERM);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.ports_local.form, RSIP_FORM_DONT_NEED);	/* §6.2 */
	bind1 = t->resp.bind_id;
	rsipsec_req(&q, t->cid2, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);

	/* X1's first packet to Y with A claims A; X2's with A collides and is dropped */
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, 500, Y, A, t->now), 0);
	assert_int_equal(rsip_outbound_ike(&t->s, X2.addr, NB, 500, Y, A, t->now), -EEXIST);
	assert_int_equal(t->s.stats.ike_collisions, 1);
	/* X2 retries with another SPI (the client SHOULD change it) */
	assert_int_equal(rsip_outbound_ike(&t->s, X2.addr, NB, 500, Y, B, t->now), 0);
	/* later packets of X1 with A to Y pass; A towards another peer does not */
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, 500, Y, A, t->now), 0);
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, 500, Z, A, t->now), -EEXIST);

	/* Y's answers on port 500 follow the initiator SPI */
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, A, Y, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid1);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, B, Y, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	assert_int_equal(d.tunnel_addr, X2.addr);
	/* from another peer, or with an SPI nobody claimed (a rekey by Y, App. E): none */
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, A, Z, t->now, &d), -ENOENT);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, A ^ B, Y, t->now, &d), -ENOENT);
	assert_int_equal(t->s.stats.ike_misses, 2);
	assert_int_equal(t->s.stats.ike_claims, 2);

	/* retransmissions with fresh SPIs: the oldest unanswered claim makes room */
	for (uint64_t i = 1; i <= RSIP_BIND_MAX_IKE + 2; i++) {
		t->now += 1;
		assert_int_equal(rsip_outbound_ike(&t->s, X2.addr, NB, 500, Y, 0x7000 + i, t->now), 0);
	}
	assert_int_equal(t->s.stats.ike_claims_evicted, 3);
	/* B was answered, so it was kept */
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, B, Y, t->now, &d), 0);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, 0x7001, Y, t->now, &d), -ENOENT);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, 0x7000 + RSIP_BIND_MAX_IKE + 2, Y, t->now, &d), 0);

	/* freeing the binding frees its claims: A can now be claimed by X2 */
	q = (struct rsip_msg){ .type = RSIP_FREE_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID,
			       .client_id = t->cid1, .bind_id = bind1 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_FREE_RESPONSE);
	assert_int_equal(rsip_demux_ike(&t->s, NB, 500, A, Y, t->now, &d), -ENOENT);
	assert_int_equal(rsip_outbound_ike(&t->s, X2.addr, NB, 500, Y, A, t->now), 0);
}

/* ---- 401, 402, 403 ---- */

static void ipsec_unallowed(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;

	t->cfg.ipsec_allow[0] = (struct rsip_prefix){ X1.addr, 32 };
	t->cfg.n_ipsec_allow = 1;
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid2, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_IPSEC_UNALLOWED);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);

	t->cfg.ipsec = false;
	t->cfg.n_ipsec_allow = 0;
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_IPSEC_UNALLOWED);
}

static void spi_unavailable(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;

	t->cfg.spi_lo = 0x1000;
	t->cfg.spi_hi = 0x1002;	/* three SPIs in all */
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 2, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.spi.number, 2);
	/* asked for two, one is left: granted one (402 only when none at all) */
	rsipsec_req(&q, t->cid2, RSIP_FORM_DONT_CARE, 2, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.spi.number, 1);
	/* the pool is empty */
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_IPSEC_SPI_UNAVAILABLE);
	assert_int_equal(t->s.stats.last_error, RSIP_E_IPSEC_SPI_UNAVAILABLE);
	/* an SPI outside the pool is not the server's to lend */
	rsipsec_req(&q, t->cid2, RSIP_FORM_LIST, 1, 0x5000, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_IPSEC_SPI_UNAVAILABLE);
	/* more SPIs in one request than the policy allows */
	t->cfg.spi_hi = 0x10ff;
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_RANGE, 5, 0x1000, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_IPSEC_SPI_UNAVAILABLE);
	/* a client out of bindings has no SPI either */
	t->cfg.max_bindings_per_client = 1;
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_IPSEC_SPI_UNAVAILABLE);
}

static void spi_in_use(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;

	two_clients(t);
	/* X1 suggests 0x1000 and gets it */
	rsipsec_req(&q, t->cid1, RSIP_FORM_LIST, 1, 0x1000, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.spi.spi[0], 0x1000);
	/* X2 suggests the same: IPSEC_SPI_INUSE */
	rsipsec_req(&q, t->cid2, RSIP_FORM_LIST, 1, 0x1000, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_IPSEC_SPI_INUSE);
	/* a range overlapping it by one */
	rsipsec_req(&q, t->cid2, RSIP_FORM_RANGE, 3, 0x0ffe, RSIP_FORM_DONT_NEED, 0);
	t->cfg.spi_lo = 0x0f00;
	restart(t);
	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_LIST, 1, 0x1000, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	rsipsec_req(&q, t->cid2, RSIP_FORM_RANGE, 3, 0x0ffe, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_IPSEC_SPI_INUSE);
	/* the refused request changed nothing: 0x0ffe is still free */
	rsipsec_req(&q, t->cid2, RSIP_FORM_RANGE, 2, 0x0ffe, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.spi.form, RSIP_FORM_RANGE);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, 0x0fff, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, 0x1000, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid1);
}

/* ---- leases ---- */

static void lease_expiry_frees_spis(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	uint64_t t0;
	uint32_t spi, bind;
	uint16_t port;

	two_clients(t);
	t0 = t->now;
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_CARE, 1);
	q.present |= RSIP_F_LEASE_TIME;
	q.lease_time = 60;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	spi = t->resp.spi.spi[0];
	port = t->resp.ports_local.port[0];
	bind = t->resp.bind_id;
	assert_int_equal(rsip_server_expire(&t->s, t->now), t0 + 60 * SEC);
	assert_int_equal(rsip_outbound_ike(&t->s, X1.addr, NB, 500, Y, 42, t->now), 0);

	/* one millisecond before the end the binding still routes */
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t0 + 60 * SEC - 1, &d), 0);
	/* at the end it does not, even before the expiry pass */
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t0 + 60 * SEC, &d), -ENOENT);
	t->now = t0 + 60 * SEC;
	rsip_server_expire(&t->s, t->now);
	assert_int_equal(t->s.stats.bindings_expired, 1);
	assert_null(rsip_server_binding(&t->s, bind));
	assert_int_equal(t->s.spi_tab.count, 0);
	assert_int_equal(t->s.port_tab.count, 0);
	assert_int_equal(t->s.ike_tab.count, 0);
	/* the SPI and the port are free again: X2 may have exactly them */
	rsipsec_req(&q, t->cid2, RSIP_FORM_LIST, 1, spi, RSIP_FORM_LIST, 1);
	q.ports_local.port[0] = port;
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	assert_int_equal(rsip_demux_ike(&t->s, NB, port, 0, Y, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid2);
	/* the expiry pass also ran inside handle(): X1 sees its binding gone */
	q = (struct rsip_msg){ .type = RSIP_EXTEND_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID,
			       .client_id = t->cid1, .bind_id = bind };
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_BIND_ID);
}

static void extend_and_clamp(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	uint64_t t0;
	uint32_t spi, bind;

	two_clients(t);
	t0 = t->now;
	/* asked for 1 s: clamped to the 30 s minimum */
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	q.present |= RSIP_F_LEASE_TIME;
	q.lease_time = 1;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->resp.lease_time, 30);
	spi = t->resp.spi.spi[0];
	bind = t->resp.bind_id;
	/* extended at 20 s, asking 10000 s: clamped to 120 s */
	t->now = t0 + 20 * SEC;
	q = (struct rsip_msg){ .type = RSIP_EXTEND_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID | RSIP_F_LEASE_TIME,
			       .client_id = t->cid1, .bind_id = bind, .lease_time = 10000 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_EXTEND_RESPONSE);
	assert_int_equal(t->resp.lease_time, 120);
	assert_int_equal(t->resp.bind_id, bind);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t0 + 139 * SEC, &d), 0);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t0 + 140 * SEC, &d), -ENOENT);
	/* without a Lease Time: the default */
	q.present &= ~RSIP_F_LEASE_TIME;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_EXTEND_RESPONSE);
	assert_int_equal(t->resp.lease_time, 60);
	/* X2 cannot extend X1's binding */
	q.client_id = t->cid2;
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_BAD_BIND_ID);
}

static void free_and_deregister(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	uint32_t spi, b1;

	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	spi = t->resp.spi.spi[0];
	b1 = t->resp.bind_id;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	assert_int_equal(t->s.n_binds, 2);

	q = (struct rsip_msg){ .type = RSIP_FREE_REQUEST, .present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID,
			       .client_id = t->cid1, .bind_id = b1 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_FREE_RESPONSE);
	assert_int_equal(t->resp.bind_id, b1);
	assert_int_equal(rsip_demux_esp(&t->s, NB, 50, spi, t->now, &d), -ENOENT);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_BIND_ID);
	assert_int_equal(t->s.n_binds, 1);

	q = (struct rsip_msg){ .type = RSIP_DEREGISTER_REQUEST, .present = RSIP_F_CLIENT_ID, .client_id = t->cid1 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_DEREGISTER_RESPONSE);
	assert_int_equal(t->s.n_binds, 0);
	assert_int_equal(t->s.spi_tab.count, 0);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_ALREADY_UNREGISTERED);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_REGISTER_FIRST);

	/* a closed TCP connection de-registers */
	rsipsec_req(&q, t->cid2, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	rsip_server_drop_peer(&t->s, &X2);
	assert_int_equal(t->s.n_clients, 0);
	assert_int_equal(t->s.n_binds, 0);
}

static void registration_expiry(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	uint64_t t0 = t->now;

	two_clients(t);
	rsipsec_req(&q, t->cid1, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSIPSEC);
	/* X2, idle without bindings, goes after reg_lease; X1 stays while its binding lives */
	assert_int_equal(rsip_server_expire(&t->s, t0 + 60 * SEC - 1), t0 + 60 * SEC);
	rsip_server_expire(&t->s, t0 + 300 * SEC - 1);
	assert_non_null(rsip_server_client(&t->s, t->cid2));
	/* X1's binding expired at 60 s; its registration lasts 300 s from then */
	assert_non_null(rsip_server_client(&t->s, t->cid1));
	assert_int_equal(rsip_server_expire(&t->s, t0 + 300 * SEC), t0 + 300 * SEC - 1 + 300 * SEC);
	assert_null(rsip_server_client(&t->s, t->cid2));
	assert_non_null(rsip_server_client(&t->s, t->cid1));
	assert_int_equal(t->s.stats.clients_expired, 1);
	assert_int_equal(rsip_server_expire(&t->s, t0 + 1000 * SEC), UINT64_MAX);
	assert_int_equal(t->s.n_clients, 0);
}

/* ---- RSAP-IP, RSA-IP, LISTEN, QUERY ---- */

static void rsap_ports(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;

	two_clients(t);
	q = (struct rsip_msg){ .type = RSIP_ASSIGN_REQUEST_RSAP_IP, .client_id = t->cid1,
			       .present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE |
					  RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE };
	rsip_addr_set_ipv4(&q.addr_local, NB);
	rsip_addr_set_any(&q.addr_remote, RSIP_ADDR_IPV4);
	q.ports_remote = (struct rsip_ports){ .form = RSIP_FORM_DONT_CARE, .number = 1 };
	/* four ports, don't care: a contiguous range (Appendix A) */
	q.ports_local = (struct rsip_ports){ .form = RSIP_FORM_DONT_CARE, .number = 4 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSAP_IP);
	assert_int_equal(t->resp.ports_local.form, RSIP_FORM_RANGE);
	assert_int_equal(t->resp.ports_local.number, 4);
	assert_int_equal(t->resp.ports_local.port[0], 50000);
	assert_int_equal(rsip_demux_port(&t->s, NB, 50003, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid1);
	assert_int_equal(rsip_demux_port(&t->s, NB, 50004, t->now, &d), -ENOENT);
	/* a port held by X1 */
	q.client_id = t->cid2;
	q.ports_local = (struct rsip_ports){ .form = RSIP_FORM_LIST, .number = 2, .port = { 50005, 50002 } };
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDRPORT_INUSE);
	/* a port outside the pool */
	q.ports_local = (struct rsip_ports){ .form = RSIP_FORM_LIST, .number = 1, .port = { 80 } };
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDRPORT_UNALLOWED);
	/* an address that is not the server's */
	q.ports_local = (struct rsip_ports){ .form = RSIP_FORM_DONT_CARE, .number = 1 };
	rsip_addr_set_ipv4(&q.addr_local, Y);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDR_UNALLOWED);
	/* IPv6: none to lend */
	rsip_addr_set_any(&q.addr_local, RSIP_ADDR_IPV6);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDR_UNAVAILABLE);
	/* six free ports left: seven are too many, six fit, then none */
	rsip_addr_set_any(&q.addr_local, RSIP_ADDR_IPV4);
	q.ports_local.number = 7;
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE);
	q.ports_local.number = 6;
	assert_int_equal(xchg(t, &X2, &q, NULL), RSIP_ASSIGN_RESPONSE_RSAP_IP);
	assert_int_equal(t->resp.ports_local.port[0], 50004);
	q.ports_local.number = 1;
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE);
	/* LISTEN is the same resource */
	q.type = RSIP_LISTEN_REQUEST;
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE);
}

static void rsa_ip(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;
	struct rsip_dest d;
	uint32_t a;

	t->cfg.addrs[1] = NB2;
	t->cfg.n_addrs = 2;
	restart(t);
	two_clients(t);
	q = (struct rsip_msg){ .type = RSIP_ASSIGN_REQUEST_RSA_IP, .client_id = t->cid1,
			       .present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_REMOTE };
	rsip_addr_set_any(&q.addr_local, RSIP_ADDR_IPV4);
	rsip_addr_set_any(&q.addr_remote, RSIP_ADDR_IPV4);
	q.ports_remote = (struct rsip_ports){ .form = RSIP_FORM_DONT_CARE, .number = 1 };
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_ASSIGN_RESPONSE_RSA_IP);
	assert_int_equal(rsip_addr_get_ipv4(&t->resp.addr_local, &a), 0);
	assert_int_equal(a, NB2);
	assert_int_equal(rsip_demux_addr(&t->s, NB2, t->now, &d), 0);
	assert_int_equal(d.client_id, t->cid1);
	assert_int_equal(rsip_demux_addr(&t->s, NB, t->now, &d), -ENOENT);
	/* no other address to lend whole */
	q.client_id = t->cid2;
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDR_UNAVAILABLE);
	rsip_addr_set_ipv4(&q.addr_local, NB2);
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDR_INUSE);
	rsip_addr_set_ipv4(&q.addr_local, NB);	/* the shared one */
	assert_int_equal(err_of(t, &X2, &q), RSIP_E_LOCAL_ADDR_UNALLOWED);
	/* nor can NB2 be shared while lent */
	{
		struct rsip_msg r;

		rsipsec_req(&r, t->cid2, RSIP_FORM_DONT_CARE, 1, 0, RSIP_FORM_DONT_NEED, 0);
		rsip_addr_set_ipv4(&r.addr_local, NB2);
		assert_int_equal(err_of(t, &X2, &r), RSIP_E_LOCAL_ADDR_UNALLOWED);
	}
}

static void query(void **state)
{
	struct t *t = *state;
	struct rsip_msg q;

	two_clients(t);
	q = (struct rsip_msg){ .type = RSIP_QUERY_REQUEST, .present = RSIP_F_CLIENT_ID, .client_id = t->cid1 };
	/* no tuple: the local networks */
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_QUERY_RESPONSE);
	assert_int_equal(t->resp.n_query, 1);
	assert_int_equal(t->resp.query[0].indicator, RSIP_IND_LOCAL_NETWORK);
	assert_int_equal(t->resp.query[0].mask.v[3], 0);
	assert_int_equal(t->resp.query[0].mask.v[2], 255);

	q.n_query = 4;
	q.query[0].indicator = RSIP_IND_ADDRESS;
	rsip_addr_set_ipv4(&q.query[0].addr, 0xc0a80109U);
	q.query[1].indicator = RSIP_IND_ADDRESS;
	rsip_addr_set_ipv4(&q.query[1].addr, Y);
	q.query[2].indicator = RSIP_IND_NETWORK;
	rsip_addr_set_ipv4(&q.query[2].addr, 0xc0a80180U);
	rsip_addr_set_ipv4(&q.query[2].mask, 0xffffff80U);
	q.query[2].mask.type = RSIP_ADDR_IPV4_NETMASK;
	q.query[3].indicator = RSIP_IND_NETWORK;
	rsip_addr_set_ipv4(&q.query[3].addr, 0xc0a80000U);
	rsip_addr_set_ipv4(&q.query[3].mask, 0xffff0000U);
	q.query[3].mask.type = RSIP_ADDR_IPV4_NETMASK;
	assert_int_equal(xchg(t, &X1, &q, NULL), RSIP_QUERY_RESPONSE);
	assert_int_equal(t->resp.n_query, 4);
	assert_int_equal(t->resp.query[0].indicator, RSIP_IND_LOCAL_ADDRESS);
	assert_int_equal(t->resp.query[1].indicator, RSIP_IND_REMOTE_ADDRESS);
	assert_int_equal(t->resp.query[2].indicator, RSIP_IND_LOCAL_NETWORK);
	/* 192.168.0.0/16 is wider than the local /24 */
	assert_int_equal(t->resp.query[3].indicator, RSIP_IND_REMOTE_NETWORK);
	/* a netmask with holes */
	q.query[3].mask.v[1] = 0x0f;
	assert_int_equal(err_of(t, &X1, &q), RSIP_E_BAD_PARAM);
}

static void bad_config(void **state)
{
	struct t *t = *state;
	struct rsip_server s2;
	struct rsip_server_config c = t->cfg;

	c.spi_lo = 255;
	assert_int_equal(rsip_server_init(&s2, &c), -EINVAL);
	c = t->cfg;
	c.port_lo = 60000;
	c.port_hi = 59999;
	assert_int_equal(rsip_server_init(&s2, &c), -EINVAL);
	c = t->cfg;
	c.n_shared = 0;
	assert_int_equal(rsip_server_init(&s2, &c), -EINVAL);
	c = t->cfg;
	c.max_spis_per_request = RSIP_BIND_MAX_SPIS + 1;
	assert_int_equal(rsip_server_init(&s2, &c), -EINVAL);
	c = t->cfg;
	c.lease_default = c.lease_max + 1;
	assert_int_equal(rsip_server_init(&s2, &c), -EINVAL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(register_advertises_rsipsec),
		T(registration_errors),
		T(message_errors),
		T(shared_nb_and_spi_demux),
		T(ike_initiator_spi_demux),
		T(ipsec_unallowed),
		T(spi_unavailable),
		T(spi_in_use),
		T(lease_expiry_frees_spis),
		T(extend_and_clamp),
		T(free_and_deregister),
		T(registration_expiry),
		T(rsap_ports),
		T(rsa_ip),
		T(query),
		T(bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
