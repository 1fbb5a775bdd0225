/*
 * One RSIP client connection of the gateway (rsip_session.c): the TCP byte
 * stream cut into messages by Overall Length however it arrives (a byte at
 * a time, several messages in one read, more than the buffer in one read),
 * answers in order, the tunnel endpoint announced as the address the
 * client talks to, streams that cannot be cut answered BAD_MESSAGE and
 * closed, and a closed connection freeing the client's bindings. Driven
 * by lib/rsip's client helper against the real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-gwd/rsip_session.h"
#include "rsip/client.h"
#include "rsip/msg.h"
#include "rsip/server.h"

#define NB 0xcb00710aU
#define NA 0xc0a80101U
#define SEC 1000ULL

static const struct rsip_peer X1 = { 0xc0a80102U, 40001 };

struct answers {
	uint8_t buf[65536];
	size_t len;
	int n;
	int fail;	/* error the write function returns */
};

struct t {
	struct rsip_server s;
	struct gwd_rsip_session ss;
	struct rsip_client c;
	struct answers a;
	uint64_t now;
	uint8_t req[8192];
};

static int collect(void *arg, const uint8_t *msg, size_t len)
{
	struct answers *a = arg;

	if (a->fail)
		return a->fail;
	assert_true(a->len + len <= sizeof(a->buf));
	memcpy(a->buf + a->len, msg, len);
	a->len += len;
	a->n++;
	return 0;
}

/* the i-th answer collected (by walking the Overall Lengths) */
static const uint8_t *answer(const struct answers *a, int i, size_t *len)
{
	size_t off = 0;

	for (;;) {
		int fl = rsip_msg_frame_len(a->buf + off, a->len - off);

		assert_true(fl >= 4);
		if (i-- == 0) {
			*len = (size_t)fl;
			return a->buf + off;
		}
		off += (size_t)fl;
	}
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct rsip_server_config cfg;

	rsip_server_config_default(&cfg, NB);
	cfg.seed = 3;
	assert_int_equal(rsip_server_init(&t->s, &cfg), 0);
	gwd_rsip_session_init(&t->ss, &X1, NA);
	rsip_client_init(&t->c, 77);
	t->now = 10 * SEC;
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

static void byte_by_byte(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	const uint8_t *m;
	size_t n, ml;

	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), 0);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req + i, 1, t->now, collect, &t->a), 0);
	assert_int_equal(t->a.n, 0);
	assert_int_equal(t->s.n_clients, 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req + n - 1, 1, t->now, collect, &t->a), 1);
	assert_int_equal(t->a.n, 1);
	m = answer(&t->a, 0, &ml);
	assert_int_equal(ml, t->a.len);
	assert_int_equal(rsip_client_on_message(&t->c, m, ml, t->now, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_REGISTERED);
	/* RFC 3104 §6: RSIPSEC is offered */
	assert_true(t->c.rsipsec);
	assert_int_equal(t->ss.len, 0);
}

static void many_in_one_read(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .n_spis = 1, .n_ports = 1 };
	const uint8_t *m;
	size_t n, ml, total = 0;
	int k = 0;

	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, n, t->now, collect, &t->a), 1);
	assert_int_equal(rsip_client_on_message(&t->c, t->a.buf, t->a.len, t->now, &ev), 0);
	t->a.len = 0;
	t->a.n = 0;

	/* an ASSIGN and then QUERYs, more bytes than the session's buffer holds, in one read */
	assert_int_equal(rsip_client_assign_rsipsec(&t->c, &r, t->req, sizeof(t->req), &n), 0);
	total = n;
	t->c.pending = 0;	/* the helper allows one outstanding request; the stream does not care */
	while (total < sizeof(t->req) - 64) {
		assert_int_equal(rsip_client_query(&t->c, 0x08080808, t->req + total, sizeof(t->req) - total, &n), 0);
		t->c.pending = 0;
		total += n;
		k++;
	}
	assert_true(total > GWD_RSIP_FRAME_MAX);
	/* and half of one more message, which must wait */
	assert_int_equal(rsip_client_query(&t->c, 0x08080808, t->req + total, sizeof(t->req) - total, &n), 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, total + n / 2, t->now, collect, &t->a), k + 1);
	assert_int_equal(t->a.n, k + 1);
	assert_int_equal(t->ss.len, n / 2);
	/* answers in order: the ASSIGN first, with Na as its tunnel endpoint */
	m = answer(&t->a, 0, &ml);
	assert_int_equal(m[1], RSIP_ASSIGN_RESPONSE_RSIPSEC);
	{
		struct rsip_msg msg;
		uint32_t na;

		assert_int_equal(rsip_msg_parse(&msg, m, ml, NULL), 0);
		assert_true(msg.present & RSIP_F_ADDR_TUNNEL);
		assert_int_equal(rsip_addr_get_ipv4(&msg.addr_tunnel, &na), 0);
		assert_int_equal(na, NA);
	}
	for (int i = 1; i <= k; i++) {
		m = answer(&t->a, i, &ml);
		assert_int_equal(m[1], RSIP_QUERY_RESPONSE);
	}
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req + total + n / 2, n - n / 2, t->now,
					       collect, &t->a), 1);
	assert_int_equal(t->ss.len, 0);
	assert_int_equal(t->s.n_binds, 1);

	/* the connection closes: the client and its binding are gone */
	gwd_rsip_session_end(&t->ss, &t->s);
	assert_int_equal(t->s.n_binds, 0);
	assert_int_equal(t->s.n_clients, 0);
}

static void expect_bad_message(struct t *t, int i)
{
	struct rsip_msg msg;
	uint16_t e = 0;
	size_t ml;
	const uint8_t *m = answer(&t->a, i, &ml);

	assert_int_equal(rsip_msg_parse(&msg, m, ml, &e), 0);
	assert_int_equal(msg.type, RSIP_ERROR_RESPONSE);
	assert_int_equal(msg.error, RSIP_E_BAD_MESSAGE);
}

static void unframeable(void **state)
{
	struct t *t = *state;
	/* Overall Length 3: shorter than the header itself */
	static const uint8_t short_len[] = { 1, 2, 0, 3, 0xaa };
	/* Overall Length 4097: longer than any request needs */
	static const uint8_t long_len[] = { 1, 2, 0x10, 0x01 };
	size_t n;

	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, short_len, sizeof(short_len), t->now, collect,
					       &t->a), -EBADMSG);
	assert_int_equal(t->a.n, 1);
	expect_bad_message(t, 0);
	assert_int_equal(t->ss.len, 0);

	/* after a good message in the same read: that one is answered first */
	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), 0);
	memcpy(t->req + n, long_len, sizeof(long_len));
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, n + sizeof(long_len), t->now, collect,
					       &t->a), -EMSGSIZE);
	assert_int_equal(t->a.n, 3);
	assert_int_equal(answer(&t->a, 1, &n)[1], RSIP_REGISTER_RESPONSE);
	expect_bad_message(t, 2);

	/* exactly GWD_RSIP_FRAME_MAX is still read whole (and answered by the server) */
	memset(t->req, 0, GWD_RSIP_FRAME_MAX);
	t->req[0] = 1;
	t->req[1] = RSIP_QUERY_REQUEST;
	t->req[2] = GWD_RSIP_FRAME_MAX >> 8;
	t->req[3] = GWD_RSIP_FRAME_MAX & 0xff;
	gwd_rsip_session_init(&t->ss, &X1, NA);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, GWD_RSIP_FRAME_MAX - 1, t->now, collect,
					       &t->a), 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req + GWD_RSIP_FRAME_MAX - 1, 1, t->now,
					       collect, &t->a), 1);
	assert_int_equal(t->a.n, 4);
	assert_int_equal(answer(&t->a, 3, &n)[1], RSIP_ERROR_RESPONSE);
}

static void write_error_stops(void **state)
{
	struct t *t = *state;
	size_t n;

	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), 0);
	t->a.fail = -ENOBUFS;
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, n, t->now, collect, &t->a), -ENOBUFS);
	assert_int_equal(t->ss.len, 0);
	/* the server did register it; the caller closes the connection, which frees it */
	assert_int_equal(t->s.n_clients, 1);
	gwd_rsip_session_end(&t->ss, &t->s);
	assert_int_equal(t->s.n_clients, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(many_in_one_read, setup, teardown),
		cmocka_unit_test_setup_teardown(unframeable, setup, teardown),
		cmocka_unit_test_setup_teardown(write_error_stops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
