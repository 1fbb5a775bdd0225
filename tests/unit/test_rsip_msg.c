/*
 * lib/rsip codec: hand-built messages of RFC 3103 / RFC 3104 with their
 * exact bytes, every parameter form, round trips, and each grammar
 * violation mapped to its RSIP error value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rsip/msg.h"

/* ---- a raw message assembler, independent of the code under test ---- */
struct raw {
	uint8_t b[1024];
	size_t n;
};

static void raw_hdr(struct raw *r, uint8_t version, uint8_t type)
{
	r->n = 0;
	r->b[r->n++] = version;
	r->b[r->n++] = type;
	r->b[r->n++] = 0;
	r->b[r->n++] = 0;
}

static void raw_bytes(struct raw *r, const uint8_t *p, size_t n)
{
	if (n)
		memcpy(r->b + r->n, p, n);
	r->n += n;
}

/* one parameter: code, 2-byte length, value */
static void raw_param(struct raw *r, uint8_t code, const uint8_t *v, size_t n)
{
	r->b[r->n++] = code;
	r->b[r->n++] = (uint8_t)(n >> 8);
	r->b[r->n++] = (uint8_t)n;
	raw_bytes(r, v, n);
}

static void raw_u32(struct raw *r, uint8_t code, uint32_t x)
{
	uint8_t v[4] = { (uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };

	raw_param(r, code, v, 4);
}

/* A QUERY_REQUEST of client 4, its tuples to follow. */
static void query_begin(struct raw *r)
{
	raw_hdr(r, 1, RSIP_QUERY_REQUEST);
	raw_u32(r, RSIP_P_CLIENT_ID, 4);
}

/* An Indicator parameter. */
static void raw_indicator(struct raw *r, uint16_t ind)
{
	raw_param(r, RSIP_P_INDICATOR, (const uint8_t[]){ (uint8_t)(ind >> 8), (uint8_t)ind }, 2);
}

static void raw_end(struct raw *r)
{
	r->b[2] = (uint8_t)(r->n >> 8);
	r->b[3] = (uint8_t)r->n;
}

static uint16_t parse_err(const struct raw *r)
{
	struct rsip_msg m;
	uint16_t e = 0;
	int rc = rsip_msg_parse(&m, r->b, r->n, &e);

	if (rc == 0)
		return 0;
	assert_int_equal(rc, -EBADMSG);
	assert_true(e != 0);
	return e;
}

static void build_equals(const struct rsip_msg *m, const uint8_t *want, size_t n)
{
	uint8_t buf[1024];
	size_t len = 0;

	assert_int_equal(rsip_msg_build(m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, want, n);
}

/* parse -> build gives the same bytes, and parse again gives the same fields */
static void round_trip(const uint8_t *b, size_t n)
{
	struct rsip_msg m1, m2;
	uint8_t out[1024];
	size_t len = 0;
	uint16_t e = 0;

	assert_int_equal(rsip_msg_parse(&m1, b, n, &e), 0);
	assert_int_equal(rsip_msg_build(&m1, out, sizeof(out), &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(out, b, n);
	assert_int_equal(rsip_msg_parse(&m2, out, len, &e), 0);
	assert_int_equal(m1.type, m2.type);
	assert_int_equal(m1.present, m2.present);
}

/* ---- exact bytes of hand-built messages ---- */

static void register_request_bytes(void **state)
{
	static const uint8_t want[] = { 1, 2, 0, 11, 11, 0, 4, 0, 0, 0, 7 };
	struct rsip_msg m = { .type = RSIP_REGISTER_REQUEST, .present = RSIP_F_COUNTER, .counter = 7 };
	struct rsip_msg p;
	uint16_t e;

	build_equals(&m, want, sizeof(want));
	assert_int_equal(rsip_msg_parse(&p, want, sizeof(want), &e), 0);
	assert_int_equal(p.type, RSIP_REGISTER_REQUEST);
	assert_int_equal(p.present, RSIP_F_COUNTER);
	assert_int_equal(p.counter, 7);

	/* the empty form: header only */
	static const uint8_t bare[] = { 1, 2, 0, 4 };
	m.present = 0;
	build_equals(&m, bare, sizeof(bare));
	round_trip(bare, sizeof(bare));
}

static void register_response_bytes(void **state)
{
	static const uint8_t want[] = {
		1, 3, 0, 42,
		4, 0, 4, 0x11, 0x22, 0x33, 0x44,	/* Client ID */
		3, 0, 4, 0, 0, 0x0e, 0x10,		/* Lease Time 3600 */
		9, 0, 2, 1, 3,				/* Flow Policy macro / none */
		11, 0, 4, 0, 0, 0, 7,			/* Message Counter */
		7, 0, 1, 2,				/* RSIP Method RSAP-IP */
		7, 0, 1, 3,				/* RSIP Method RSIPSEC (RFC 3104) */
		6, 0, 1, 1,				/* Tunnel Type IP-IP */
	};
	struct rsip_msg m = {
		.type = RSIP_REGISTER_RESPONSE,
		.present = RSIP_F_CLIENT_ID | RSIP_F_LEASE_TIME | RSIP_F_FLOW_POLICY | RSIP_F_COUNTER,
		.client_id = 0x11223344, .lease_time = 3600, .counter = 7,
		.flow_local = RSIP_FLOW_MACRO, .flow_remote = RSIP_FLOW_NONE,
		.n_method = 2, .method = { RSIP_METHOD_RSAP_IP, RSIP_METHOD_RSIPSEC },
		.n_tunnel = 1, .tunnel = { RSIP_TUNNEL_IPIP },
	};
	struct rsip_msg p;
	uint16_t e;

	build_equals(&m, want, sizeof(want));
	assert_int_equal(rsip_msg_parse(&p, want, sizeof(want), &e), 0);
	assert_int_equal(p.client_id, 0x11223344);
	assert_int_equal(p.lease_time, 3600);
	assert_int_equal(p.n_method, 2);
	assert_int_equal(p.method[1], RSIP_METHOD_RSIPSEC);
	assert_int_equal(p.flow_remote, RSIP_FLOW_NONE);
	assert_int_equal(p.n_tunnel, 1);
}

static void assign_request_rsipsec_bytes(void **state)
{
	static const uint8_t want[] = {
		1, 22, 0, 53,
		4, 0, 4, 0, 0, 0, 1,			/* Client ID 1 */
		1, 0, 1, 1,				/* Address (local): IPv4, don't care */
		1, 0, 5, 1, 198, 51, 100, 7,		/* Address (remote): Y */
		2, 0, 1, 1,				/* Ports (local): any one port */
		2, 0, 0,				/* Ports (remote): don't need */
		22, 0, 2, 0, 2,				/* SPI: don't care, 2 of them */
		11, 0, 4, 0, 0, 0, 9,			/* Message Counter */
		3, 0, 4, 0, 0, 2, 0x58,			/* Lease Time 600 */
		6, 0, 1, 1,				/* Tunnel Type IP-IP */
	};
	struct rsip_msg m = {
		.type = RSIP_ASSIGN_REQUEST_RSIPSEC,
		.present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE |
			   RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE | RSIP_F_SPI |
			   RSIP_F_COUNTER | RSIP_F_LEASE_TIME,
		.client_id = 1, .counter = 9, .lease_time = 600,
		.ports_local = { .form = RSIP_FORM_DONT_CARE, .number = 1 },
		.ports_remote = { .form = RSIP_FORM_DONT_NEED },
		.spi = { .form = RSIP_FORM_DONT_CARE, .number = 2 },
		.n_tunnel = 1, .tunnel = { RSIP_TUNNEL_IPIP },
	};
	struct rsip_msg p;
	uint32_t a;
	uint16_t e;

	rsip_addr_set_any(&m.addr_local, RSIP_ADDR_IPV4);
	rsip_addr_set_ipv4(&m.addr_remote, 0xc6336407);
	build_equals(&m, want, sizeof(want));
	assert_int_equal(rsip_msg_parse(&p, want, sizeof(want), &e), 0);
	assert_int_equal(p.addr_local.len, 0);
	assert_int_equal(rsip_addr_get_ipv4(&p.addr_local, &a), -EINVAL);
	assert_int_equal(rsip_addr_get_ipv4(&p.addr_remote, &a), 0);
	assert_int_equal(a, 0xc6336407);
	assert_int_equal(p.ports_local.form, RSIP_FORM_DONT_CARE);
	assert_int_equal(p.ports_local.number, 1);
	assert_int_equal(p.ports_remote.form, RSIP_FORM_DONT_NEED);
	assert_int_equal(p.spi.form, RSIP_FORM_DONT_CARE);
	assert_int_equal(p.spi.number, 2);
	assert_int_equal(p.lease_time, 600);
}

static void assign_response_rsipsec_bytes(void **state)
{
	static const uint8_t want[] = {
		1, 23, 0, 71,
		4, 0, 4, 0, 0, 0, 1,			/* Client ID */
		5, 0, 4, 0, 0, 0, 5,			/* Bind ID */
		1, 0, 5, 1, 203, 0, 113, 10,		/* Address (local): Nb */
		1, 0, 5, 1, 198, 51, 100, 7,		/* Address (remote) */
		1, 0, 5, 1, 192, 168, 1, 1,		/* Address (tunnel endpoint): Na */
		2, 0, 3, 1, 0xea, 0x60,			/* Ports (local): 60000 */
		2, 0, 0,				/* Ports (remote): don't need */
		22, 0, 6, 0, 4, 0, 0, 0x10, 0,		/* SPI: 4 contiguous from 0x1000 */
		3, 0, 4, 0, 0, 2, 0x58,			/* Lease Time */
		6, 0, 1, 1,				/* Tunnel Type */
	};
	struct rsip_msg p;
	uint16_t e;

	assert_int_equal(rsip_msg_parse(&p, want, sizeof(want), &e), 0);
	assert_int_equal(p.bind_id, 5);
	assert_true(p.present & RSIP_F_ADDR_TUNNEL);
	assert_int_equal(p.addr_tunnel.v[0], 192);
	assert_int_equal(p.ports_local.form, RSIP_FORM_LIST);
	assert_int_equal(p.ports_local.number, 1);
	assert_int_equal(p.ports_local.port[0], 60000);
	assert_int_equal(p.spi.form, RSIP_FORM_RANGE);
	assert_int_equal(p.spi.number, 4);
	assert_int_equal(p.spi.spi[0], 0x1000);
	round_trip(want, sizeof(want));
}

static void error_response_bytes(void **state)
{
	static const uint8_t want[] = {
		1, 1, 0, 23,
		8, 0, 2, 0x01, 0x93,			/* Error 403 IPSEC_SPI_INUSE */
		11, 0, 4, 0, 0, 0, 3,
		4, 0, 4, 0, 0, 0, 1,
	};
	struct rsip_msg m = {
		.type = RSIP_ERROR_RESPONSE,
		.present = RSIP_F_ERROR | RSIP_F_COUNTER | RSIP_F_CLIENT_ID,
		.error = RSIP_E_IPSEC_SPI_INUSE, .counter = 3, .client_id = 1,
	};

	build_equals(&m, want, sizeof(want));
	round_trip(want, sizeof(want));
	assert_string_equal(rsip_error_name(401), "IPSEC_UNALLOWED");
	assert_string_equal(rsip_error_name(402), "IPSEC_SPI_UNAVAILABLE");
	assert_string_equal(rsip_error_name(403), "IPSEC_SPI_INUSE");
	assert_null(rsip_error_name(400));
}

/* ---- every parameter form, through a round trip ---- */

static void spi_forms(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;
	static const uint8_t single[] = { 0, 1, 0, 0, 0x12, 0x34 };
	static const uint8_t contiguous[] = { 0, 3, 0, 0, 0x20, 0x00 };
	static const uint8_t listed[] = { 0, 3, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, 0 };
	static const uint8_t dontcare[] = { 0, 5 };
	const uint8_t *forms[] = { single, contiguous, listed, dontcare };
	size_t lens[] = { sizeof(single), sizeof(contiguous), sizeof(listed), sizeof(dontcare) };
	uint8_t want_form[] = { RSIP_FORM_LIST, RSIP_FORM_RANGE, RSIP_FORM_LIST, RSIP_FORM_DONT_CARE };

	for (int i = 0; i < 4; i++) {
		raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSIPSEC);
		raw_u32(&r, RSIP_P_CLIENT_ID, 1);
		raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
		raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
		raw_param(&r, RSIP_P_PORTS, NULL, 0);
		raw_param(&r, RSIP_P_PORTS, NULL, 0);
		raw_param(&r, RSIP_P_SPI, forms[i], lens[i]);
		raw_end(&r);
		assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), 0);
		assert_int_equal(p.spi.form, want_form[i]);
		round_trip(r.b, r.n);
	}
	assert_int_equal(p.spi.number, 5);
	/* the listed form keeps the order given */
	raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSIPSEC);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_param(&r, RSIP_P_SPI, listed, sizeof(listed));
	raw_end(&r);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), 0);
	assert_int_equal(p.spi.number, 3);
	assert_int_equal(p.spi.spi[0], 0x100);
	assert_int_equal(p.spi.spi[1], 0x300);
	assert_int_equal(p.spi.spi[2], 0x200);
}

static void rsap_request(struct raw *r, const uint8_t *pl, size_t npl, const uint8_t *pr, size_t npr)
{
	raw_hdr(r, 1, RSIP_ASSIGN_REQUEST_RSAP_IP);
	raw_u32(r, RSIP_P_CLIENT_ID, 1);
	raw_param(r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 203, 0, 113, 10 }, 5);
	raw_param(r, RSIP_P_PORTS, pl, npl);
	raw_param(r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(r, RSIP_P_PORTS, pr, npr);
	raw_end(r);
}

static void ports_forms(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;

	/* single, contiguous, listed, don't care */
	rsap_request(&r, (const uint8_t[]){ 1, 0x10, 0x00 }, 3, (const uint8_t[]){ 4, 0x20, 0x00 }, 3);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), 0);
	assert_int_equal(p.ports_local.form, RSIP_FORM_LIST);
	assert_int_equal(p.ports_local.port[0], 0x1000);
	assert_int_equal(p.ports_remote.form, RSIP_FORM_RANGE);
	assert_int_equal(p.ports_remote.number, 4);
	/* the local address came before the ports: roles follow order per code */
	assert_int_equal(p.addr_local.len, 4);
	assert_int_equal(p.addr_remote.len, 0);

	rsap_request(&r, (const uint8_t[]){ 2, 0, 80, 0, 81 }, 5, (const uint8_t[]){ 3 }, 1);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), 0);
	assert_int_equal(p.ports_local.form, RSIP_FORM_LIST);
	assert_int_equal(p.ports_local.number, 2);
	assert_int_equal(p.ports_local.port[1], 81);
	assert_int_equal(p.ports_remote.form, RSIP_FORM_DONT_CARE);
	assert_int_equal(p.ports_remote.number, 3);

	/* a range that ends exactly at 65535 is fine, one more is not */
	rsap_request(&r, (const uint8_t[]){ 2, 0xff, 0xfe }, 3, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), 0);
	rsap_request(&r, (const uint8_t[]){ 3, 0xff, 0xfe }, 3, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
}

static void query_tuples(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;

	query_begin(&r);
	raw_indicator(&r, RSIP_IND_ADDRESS);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 192, 168, 1, 9 }, 5);
	raw_indicator(&r, RSIP_IND_NETWORK);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 10, 0, 0, 0 }, 5);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 2, 255, 0, 0, 0 }, 5);
	raw_end(&r);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), 0);
	assert_int_equal(p.n_query, 2);
	assert_int_equal(p.query[0].indicator, RSIP_IND_ADDRESS);
	assert_int_equal(p.query[0].addr.v[3], 9);
	assert_int_equal(p.query[1].mask.type, RSIP_ADDR_IPV4_NETMASK);
	round_trip(r.b, r.n);

	/* an Address outside a tuple */
	query_begin(&r);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 192, 168, 1, 9 }, 5);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);

	/* a network tuple cut short by the end of the message */
	query_begin(&r);
	raw_indicator(&r, RSIP_IND_NETWORK);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 10, 0, 0, 0 }, 5);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);

	/* remote indicators belong to responses only */
	query_begin(&r);
	raw_indicator(&r, RSIP_IND_REMOTE_ADDRESS);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1, 10, 0, 0, 1 }, 5);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	r.b[1] = RSIP_QUERY_RESPONSE;
	assert_int_equal(parse_err(&r), 0);
}

static void all_types_round_trip(void **state)
{
	/* one well-formed instance of every message type, built then re-parsed */
	static const uint8_t types[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 22, 23 };

	for (size_t i = 0; i < sizeof(types); i++) {
		struct rsip_msg m = { .type = types[i] };
		uint8_t buf[1024];
		size_t len;
		uint8_t t = types[i];

		m.present = RSIP_F_COUNTER;
		m.counter = 100 + (uint32_t)i;
		if (t != RSIP_REGISTER_REQUEST && t != RSIP_ERROR_RESPONSE) {
			m.present |= RSIP_F_CLIENT_ID;
			m.client_id = 77;
		}
		if (t == RSIP_ERROR_RESPONSE) {
			m.present |= RSIP_F_ERROR;
			m.error = RSIP_E_BAD_BIND_ID;
		}
		if (t == RSIP_REGISTER_RESPONSE) {
			m.present |= RSIP_F_LEASE_TIME | RSIP_F_FLOW_POLICY;
			m.flow_local = 2;
			m.flow_remote = 2;
		}
		if ((t >= 6 && t <= 9) || t == 16 || t == 17 || t == 22 || t == 23) {
			m.present |= RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_REMOTE;
			rsip_addr_set_ipv4(&m.addr_local, 0xcb00710a);
			rsip_addr_set_any(&m.addr_remote, RSIP_ADDR_IPV6);
			m.ports_remote.form = RSIP_FORM_DONT_CARE;
			m.ports_remote.number = 1;
			if (t != 6 && t != 7) {
				m.present |= RSIP_F_PORTS_LOCAL;
				m.ports_local.form = RSIP_FORM_RANGE;
				m.ports_local.number = 16;
				m.ports_local.port[0] = 40000;
			}
			if (!rsip_msg_is_request(t)) {
				m.present |= RSIP_F_BIND_ID | RSIP_F_LEASE_TIME;
				m.n_tunnel = 1;
				m.tunnel[0] = RSIP_TUNNEL_IPIP;
			}
		}
		if (t == 22 || t == 23) {
			m.present |= RSIP_F_SPI;
			m.spi.form = RSIP_FORM_LIST;
			m.spi.number = 2;
			m.spi.spi[0] = 0xdead;
			m.spi.spi[1] = 0xbeef;
		}
		if (t >= 10 && t <= 13)
			m.present |= RSIP_F_BIND_ID;
		if (t == 11)
			m.present |= RSIP_F_LEASE_TIME;
		if (t == 15) {
			m.n_query = 1;
			m.query[0].indicator = RSIP_IND_REMOTE_NETWORK;
			rsip_addr_set_ipv4(&m.query[0].addr, 0x0a000000);
			rsip_addr_set_ipv4(&m.query[0].mask, 0xff000000);
			m.query[0].mask.type = RSIP_ADDR_IPV4_NETMASK;
		}
		m.n_vendor = 1;
		m.vendor[0] = (struct rsip_vendor){ .vendor_id = 9, .subtype = 1, .len = 3, .value = "abc" };
		assert_int_equal(rsip_msg_check(&m), 0);
		assert_int_equal(rsip_msg_build(&m, buf, sizeof(buf), &len), 0);
		assert_int_equal(rsip_msg_frame_len(buf, len), (int)len);
		round_trip(buf, len);
		assert_non_null(rsip_msg_type_name(t));
	}
}

/* ---- each violation and its error value ---- */

static void framing_errors(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;

	/* shorter than the header */
	assert_int_equal(rsip_msg_parse(&p, (const uint8_t[]){ 1, 2, 0 }, 3, &e), -EBADMSG);
	assert_int_equal(e, RSIP_E_BAD_MESSAGE);
	assert_int_equal(rsip_msg_frame_len((const uint8_t[]){ 1, 2, 0 }, 3), 0);
	assert_int_equal(rsip_msg_frame_len((const uint8_t[]){ 1, 2, 0, 3 }, 4), -EBADMSG);

	/* Overall Length one more or one less than the bytes */
	raw_hdr(&r, 1, RSIP_REGISTER_REQUEST);
	raw_u32(&r, RSIP_P_MESSAGE_COUNTER, 1);
	raw_end(&r);
	r.b[3]++;
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);
	r.b[3] -= 2;
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);
	r.b[3]++;
	assert_int_equal(parse_err(&r), 0);

	/* a parameter whose length runs one past the end */
	r.b[6] = 5;
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);
	/* a parameter header cut short */
	raw_hdr(&r, 1, RSIP_REGISTER_REQUEST);
	raw_bytes(&r, (const uint8_t[]){ 11, 0 }, 2);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_MESSAGE);

	/* version 2 */
	raw_hdr(&r, 2, RSIP_REGISTER_REQUEST);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_UNSUPPORTED_RSIP_VERSION);
	/* unknown message types: 0, 18 (unassigned), 24 */
	raw_hdr(&r, 1, 0);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_UNSUPPORTED_MESSAGE);
	r.b[1] = 18;
	assert_int_equal(parse_err(&r), RSIP_E_UNSUPPORTED_MESSAGE);
	r.b[1] = 24;
	assert_int_equal(parse_err(&r), RSIP_E_UNSUPPORTED_MESSAGE);
}

static void param_errors(void **state)
{
	struct raw r;

	/* an unknown parameter code (13, unassigned) */
	raw_hdr(&r, 1, RSIP_REGISTER_REQUEST);
	raw_param(&r, 13, (const uint8_t[]){ 0 }, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_ILLEGAL_PARAM);
	/* a known parameter the grammar does not list */
	raw_hdr(&r, 1, RSIP_REGISTER_REQUEST);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_EXTRA_PARAM);
	/* SPI in an RSAP-IP request */
	rsap_request(&r, (const uint8_t[]){ 1 }, 1, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_SPI, (const uint8_t[]){ 0, 1 }, 2);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_EXTRA_PARAM);
	/* two Client IDs */
	raw_hdr(&r, 1, RSIP_DEREGISTER_REQUEST);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_DUPLICATE_PARAM);
	/* no Client ID */
	raw_hdr(&r, 1, RSIP_DEREGISTER_REQUEST);
	raw_u32(&r, RSIP_P_MESSAGE_COUNTER, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_MISSING_PARAM);
	/* RSIPSEC request without its SPI */
	raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSIPSEC);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_MISSING_PARAM);
	/* ... with one Address only */
	raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSIPSEC);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_param(&r, RSIP_P_PORTS, NULL, 0);
	raw_param(&r, RSIP_P_SPI, (const uint8_t[]){ 0, 1 }, 2);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_MISSING_PARAM);
	/* ... with a third Address (requests have no tunnel endpoint) */
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_DUPLICATE_PARAM);
	/* a repeated RSIP Method value */
	raw_hdr(&r, 1, RSIP_REGISTER_RESPONSE);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_u32(&r, RSIP_P_LEASE_TIME, 1);
	raw_param(&r, RSIP_P_FLOW_POLICY, (const uint8_t[]){ 1, 3 }, 2);
	raw_param(&r, RSIP_P_RSIP_METHOD, (const uint8_t[]){ 3 }, 1);
	raw_param(&r, RSIP_P_RSIP_METHOD, (const uint8_t[]){ 3 }, 1);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_DUPLICATE_PARAM);
}

static void value_errors(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;
	static const struct {
		uint8_t code;
		uint8_t v[12];
		uint8_t n;
	} bad[] = {
		{ RSIP_P_LEASE_TIME, { 0, 0, 1 }, 3 },		/* 3-byte lease */
		{ RSIP_P_LEASE_TIME, { 0, 0, 0, 1, 0 }, 5 },	/* 5-byte lease */
		{ RSIP_P_TUNNEL_TYPE, { 0 }, 1 },		/* reserved tunnel type */
		{ RSIP_P_TUNNEL_TYPE, { 1, 1 }, 2 },
		{ RSIP_P_SPI, { 0 }, 1 },			/* no Number */
		{ RSIP_P_SPI, { 0, 0 }, 2 },			/* Number 0 */
		{ RSIP_P_SPI, { 0, 1, 0, 0, 0 }, 5 },		/* partial SPI field */
		{ RSIP_P_SPI, { 0, 1, 0, 0, 0, 255 }, 6 },	/* SPI 255 is reserved */
		{ RSIP_P_SPI, { 0, 3, 0, 0, 1, 0, 0, 0, 1, 1 }, 10 },	/* 2 fields, Number 3 */
		{ RSIP_P_SPI, { 0, 2, 0, 0, 1, 0, 0, 0, 1, 0 }, 10 },	/* a listed SPI twice */
		{ RSIP_P_SPI, { 0, 2, 0xff, 0xff, 0xff, 0xff }, 6 },	/* range past 2^32 */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSIPSEC);
		raw_u32(&r, RSIP_P_CLIENT_ID, 1);
		raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
		raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
		raw_param(&r, RSIP_P_PORTS, NULL, 0);
		raw_param(&r, RSIP_P_PORTS, NULL, 0);
		if (bad[i].code != RSIP_P_SPI)
			raw_param(&r, RSIP_P_SPI, (const uint8_t[]){ 0, 1 }, 2);
		raw_param(&r, bad[i].code, bad[i].v, bad[i].n);
		raw_end(&r);
		assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	}

	/* Addresses: unknown type, IPv4 of 3 bytes, IPv6 of 4, nothing at all */
	static const uint8_t a1[] = { 9, 1, 2, 3, 4 }, a2[] = { 1, 1, 2, 3 }, a3[] = { 3, 1, 2, 3, 4 };
	const uint8_t *as[] = { a1, a2, a3, NULL };
	size_t an[] = { 5, 4, 5, 0 };

	for (int i = 0; i < 4; i++) {
		raw_hdr(&r, 1, RSIP_ASSIGN_REQUEST_RSA_IP);
		raw_u32(&r, RSIP_P_CLIENT_ID, 1);
		raw_param(&r, RSIP_P_ADDRESS, as[i], an[i]);
		raw_param(&r, RSIP_P_ADDRESS, (const uint8_t[]){ 1 }, 1);
		raw_param(&r, RSIP_P_PORTS, (const uint8_t[]){ 1 }, 1);
		raw_end(&r);
		assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	}

	/* Ports: "don't need" outside the RSIPSEC messages; Number 0; odd length; count mismatch; port 0 */
	rsap_request(&r, NULL, 0, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	rsap_request(&r, (const uint8_t[]){ 0 }, 1, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	rsap_request(&r, (const uint8_t[]){ 1, 0 }, 2, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	rsap_request(&r, (const uint8_t[]){ 3, 0, 1, 0, 2 }, 5, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	rsap_request(&r, (const uint8_t[]){ 1, 0, 0 }, 3, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	rsap_request(&r, (const uint8_t[]){ 2, 0, 7, 0, 7 }, 5, (const uint8_t[]){ 1 }, 1);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);

	/* Flow Policy: local "no policy" does not exist */
	raw_hdr(&r, 1, RSIP_REGISTER_RESPONSE);
	raw_u32(&r, RSIP_P_CLIENT_ID, 1);
	raw_u32(&r, RSIP_P_LEASE_TIME, 1);
	raw_param(&r, RSIP_P_FLOW_POLICY, (const uint8_t[]){ 3, 3 }, 2);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	r.b[r.n - 2] = 2;
	assert_int_equal(parse_err(&r), 0);

	/* Vendor Specific: shorter than its Vendor ID and Subtype */
	raw_hdr(&r, 1, RSIP_REGISTER_REQUEST);
	raw_param(&r, RSIP_P_VENDOR_SPECIFIC, (const uint8_t[]){ 0, 1, 0 }, 3);
	raw_end(&r);
	assert_int_equal(parse_err(&r), RSIP_E_BAD_PARAM);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), -EBADMSG);
}

static void error_echo(void **state)
{
	struct raw r;
	struct rsip_msg p;
	uint16_t e;

	/* the counter and client ID of a bad request are still read for the error */
	raw_hdr(&r, 1, RSIP_EXTEND_REQUEST);
	raw_u32(&r, RSIP_P_CLIENT_ID, 42);
	raw_u32(&r, RSIP_P_MESSAGE_COUNTER, 17);
	raw_end(&r);
	assert_int_equal(rsip_msg_parse(&p, r.b, r.n, &e), -EBADMSG);
	assert_int_equal(e, RSIP_E_MISSING_PARAM);
	assert_int_equal(p.type, RSIP_EXTEND_REQUEST);
	assert_true(p.present & RSIP_F_COUNTER);
	assert_int_equal(p.counter, 17);
	assert_int_equal(p.client_id, 42);
	assert_false(p.present & RSIP_F_BIND_ID);
}

static void builder_refuses_invalid(void **state)
{
	uint8_t buf[64];
	size_t len;
	struct rsip_msg m = { .type = RSIP_DEREGISTER_REQUEST };

	/* missing Client ID */
	assert_int_equal(rsip_msg_build(&m, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(rsip_msg_check(&m), RSIP_E_MISSING_PARAM);
	/* an extra Bind ID */
	m.present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID;
	assert_int_equal(rsip_msg_check(&m), RSIP_E_EXTRA_PARAM);
	/* a remote address without a local one */
	m = (struct rsip_msg){ .type = RSIP_ASSIGN_REQUEST_RSA_IP,
			       .present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_REMOTE };
	assert_int_equal(rsip_msg_check(&m), RSIP_E_BAD_PARAM);
	/* a single value written as a range is not canonical */
	m = (struct rsip_msg){ .type = RSIP_ASSIGN_REQUEST_RSIPSEC,
			       .present = RSIP_F_CLIENT_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE |
					  RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE | RSIP_F_SPI };
	rsip_addr_set_any(&m.addr_local, 1);
	rsip_addr_set_any(&m.addr_remote, 1);
	m.ports_local.form = m.ports_remote.form = RSIP_FORM_DONT_NEED;
	m.spi = (struct rsip_spi){ .form = RSIP_FORM_RANGE, .number = 1, .spi = { 0x1000 } };
	assert_int_equal(rsip_msg_check(&m), RSIP_E_BAD_PARAM);
	m.spi.form = RSIP_FORM_LIST;
	assert_int_equal(rsip_msg_check(&m), 0);
	/* room: the exact size fits, one byte less does not */
	assert_int_equal(rsip_msg_build(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(rsip_msg_build(&m, buf, len, &len), 0);
	assert_int_equal(rsip_msg_build(&m, buf, len - 1, &len), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(register_request_bytes),
		cmocka_unit_test(register_response_bytes),
		cmocka_unit_test(assign_request_rsipsec_bytes),
		cmocka_unit_test(assign_response_rsipsec_bytes),
		cmocka_unit_test(error_response_bytes),
		cmocka_unit_test(spi_forms),
		cmocka_unit_test(ports_forms),
		cmocka_unit_test(query_tuples),
		cmocka_unit_test(all_types_round_trip),
		cmocka_unit_test(framing_errors),
		cmocka_unit_test(param_errors),
		cmocka_unit_test(value_errors),
		cmocka_unit_test(error_echo),
		cmocka_unit_test(builder_refuses_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
