/*
 * autotunnel-gwd's hardening of the RSIP server and of the settings behind
 * it (rsip_session.c, settings.c): an RSIP connection that has not
 * registered and sends nothing is closed after rsip-idle-timeout while a
 * registered one stays; one LAN address gets at most
 * rsip-max-conns-per-client connections; and the defaults and option names
 * of the new limits, NAT-PMP/PCP's max-mappings-per-client included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-gwd/rsip_session.h"
#include "autotunnel-gwd/settings.h"
#include "rsip/client.h"
#include "rsip/server.h"

#define NB 0xcb00710aU
#define NA 0xc0a80101U
#define SEC 1000ULL
#define IDLE (120 * SEC)

static const struct rsip_peer X1 = { 0xc0a80102U, 40001 };
static const struct rsip_peer X1_OTHER_PORT = { 0xc0a80102U, 40002 };

struct t {
	struct rsip_server s;
	struct gwd_rsip_session ss, other;
	struct rsip_client c;
	uint8_t req[2048], ans[4096];
	size_t alen;
};

static int collect(void *arg, const uint8_t *msg, size_t len)
{
	struct t *t = arg;

	assert_true(t->alen + len <= sizeof(t->ans));
	memcpy(t->ans + t->alen, msg, len);
	t->alen += len;
	return 0;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct rsip_server_config cfg;

	rsip_server_config_default(&cfg, NB);
	cfg.seed = 5;
	assert_int_equal(rsip_server_init(&t->s, &cfg), 0);
	gwd_rsip_session_init(&t->ss, &X1, NA);
	gwd_rsip_session_init(&t->other, &X1_OTHER_PORT, NA);
	rsip_client_init(&t->c, 9);
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

static void idle_unregistered_closed(void **state)
{
	struct t *t = *state;
	struct rsip_client_event ev;
	size_t n;

	/* accepted at 10 s, nothing sent: closed at 10 s + idle */
	t->ss.last_rx = 10 * SEC;
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->ss, &t->s, IDLE), 10 * SEC + IDLE);
	/* bytes that do not make a message yet still count as life */
	assert_int_equal(rsip_client_register(&t->c, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, 2, 50 * SEC, collect, t), 0);
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->ss, &t->s, IDLE), 50 * SEC + IDLE);
	/* feeding nothing is no sign of life */
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, 0, 60 * SEC, collect, t), 0);
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->ss, &t->s, IDLE), 50 * SEC + IDLE);

	/* registered: the connection stays, however long it is silent */
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req + 2, n - 2, 70 * SEC, collect, t), 1);
	assert_int_equal(rsip_client_on_message(&t->c, t->ans, t->alen, 70 * SEC, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_REGISTERED);
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->ss, &t->s, IDLE), UINT64_MAX);
	/* another connection of the same host (another port) is not registered by it */
	t->other.last_rx = 70 * SEC;
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->other, &t->s, IDLE), 70 * SEC + IDLE);

	/* de-registered: the idle clock applies again, from the last bytes */
	t->alen = 0;
	assert_int_equal(rsip_client_deregister(&t->c, t->req, sizeof(t->req), &n), 0);
	assert_int_equal(gwd_rsip_session_feed(&t->ss, &t->s, t->req, n, 80 * SEC, collect, t), 1);
	assert_int_equal(t->s.n_clients, 0);
	assert_int_equal(gwd_rsip_session_idle_deadline(&t->ss, &t->s, IDLE), 80 * SEC + IDLE);
}

static void conns_per_address(void **state)
{
	assert_true(gwd_rsip_admit(0, 4));
	assert_true(gwd_rsip_admit(3, 4));
	assert_false(gwd_rsip_admit(4, 4));
	assert_false(gwd_rsip_admit(5, 4));
	assert_true(gwd_rsip_admit(0, 1));
	assert_false(gwd_rsip_admit(1, 1));
}

static void settings_defaults_and_names(void **state)
{
	struct gwd_settings s;
	char err[256];

	gwd_settings_defaults(&s);
	assert_int_equal(s.max_per_client, 8);
	assert_int_equal(s.rsip_conns_per_client, 4);
	assert_int_equal(s.rsip_idle_timeout, 120);
	assert_int_equal(conf_load_string(&gwd_settings_schema, &s, "t.conf",
					  "[interfaces]\nwan = wan0\nlan = lan0\n"
					  "[mappings]\nmax-mappings-per-client = 3\n"
					  "[rsip]\nrsip-max-conns-per-client = 2\nrsip-idle-timeout = 30\n",
					  err, sizeof(err)), 0);
	assert_int_equal(s.max_per_client, 3);
	assert_int_equal(s.rsip_conns_per_client, 2);
	assert_int_equal(s.rsip_idle_timeout, 30);
	/* the old name still works */
	assert_int_equal(conf_set(&gwd_settings_schema, &s, "mappings", "max-per-client", "5", err,
				  sizeof(err)), 0);
	assert_int_equal(s.max_per_client, 5);
	assert_int_equal(conf_set(&gwd_settings_schema, &s, "rsip", "rsip-max-conns-per-client", "0", err,
				  sizeof(err)), -EINVAL);
	/* the cap per client cannot exceed the whole table */
	s.max_mappings = 4;
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--max-mappings-per-client 5 is above --max-mappings 4");
	gwd_settings_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_unregistered_closed, setup, teardown),
		cmocka_unit_test(conns_per_address),
		cmocka_unit_test(settings_defaults_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
