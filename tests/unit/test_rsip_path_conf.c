/*
 * The RSIP server's policy settings (rsip_conf.c): the ipsec-allow list,
 * the SPI range, the bounds, the exact error messages, the defaults (RSIP
 * on), and the lib/rsip configuration built from them, which the real
 * server accepts and obeys (401 for a client off the list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-gwd/rsip_conf.h"
#include "autotunnel-gwd/settings.h"
#include "rsip/client.h"

#define NB 0xcb00710aU

static void prefixes(void **state)
{
	struct rsip_prefix p[RSIP_MAX_PREFIXES];
	unsigned n = 99;
	bool none = true;

	assert_int_equal(gwd_rsip_parse_prefixes(NULL, p, 4, &n, &none), 0);
	assert_int_equal(n, 0);
	assert_false(none);
	assert_int_equal(gwd_rsip_parse_prefixes("all", p, 4, &n, &none), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gwd_rsip_parse_prefixes("none", p, 4, &n, &none), 0);
	assert_int_equal(n, 0);
	assert_true(none);

	assert_int_equal(gwd_rsip_parse_prefixes("192.168.1.0/25,192.168.1.200,10.0.0.0/8,0.0.0.0/0",
						 p, 4, &n, &none), 0);
	assert_false(none);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].addr, 0xc0a80100);
	assert_int_equal(p[0].len, 25);
	assert_int_equal(p[1].addr, 0xc0a801c8);
	assert_int_equal(p[1].len, 32);
	assert_int_equal(p[2].len, 8);
	assert_int_equal(p[3].len, 0);
	/* one more than room */
	assert_int_equal(gwd_rsip_parse_prefixes("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5", p, 4, &n, &none),
			 -EINVAL);
	/* host bits in a prefix, bad lengths, junk, empty items */
	static const char *const bad[] = {
		"192.168.1.1/24", "192.168.1.0/33", "192.168.1.0/", "192.168.1.0/2x", "192.168.1.0/-1",
		"192.168.1", "192.168.1.0/024", "", ",", "1.1.1.1,", ",1.1.1.1", "1.1.1.1,,2.2.2.2",
		"1.1.1.1 ", "all,1.1.1.1", "::1", "1.1.1.1/32/32",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gwd_rsip_parse_prefixes(bad[i], p, 4, &n, &none) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void ranges(void **state)
{
	uint32_t lo, hi;

	assert_int_equal(gwd_rsip_parse_range("0x100-0x1ff", &lo, &hi), 0);
	assert_int_equal(lo, 0x100);
	assert_int_equal(hi, 0x1ff);
	assert_int_equal(gwd_rsip_parse_range("256-256", &lo, &hi), 0);
	assert_int_equal(gwd_rsip_parse_range("4096-0xffffffff", &lo, &hi), 0);
	assert_int_equal(hi, 0xffffffffu);
	assert_int_equal(gwd_rsip_parse_range("4096-0x100000000", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("300-299", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("300", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("-300", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("300-", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("300--400", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("3x0-400", &lo, &hi), -EINVAL);
	assert_int_equal(gwd_rsip_parse_range("300-400-500", &lo, &hi), -EINVAL);
}

static void settings_messages(void **state)
{
	struct gwd_settings s;
	char err[256];

	gwd_settings_defaults(&s);
	/* on by default */
	assert_true(s.rsip);
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), 0);

	s.rsip_ipsec_allow = strdup("192.168.1.1/24");
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rsip-ipsec-allow: '192.168.1.1/24' is not 'all', 'none' or a list of "
				 "up to 16 addresses and prefixes (192.168.1.0/24,192.168.1.7)");
	free(s.rsip_ipsec_allow);
	s.rsip_ipsec_allow = NULL;

	s.rsip_spis = strdup("0xff-0x1ff");
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rsip-spis: SPIs below 256 are reserved (RFC 4303)");
	free(s.rsip_spis);
	s.rsip_spis = strdup("0x2ff-0x1ff");
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rsip-spis: '0x2ff-0x1ff' is not a range FIRST-LAST");
	free(s.rsip_spis);
	s.rsip_spis = NULL;

	s.rsip_port_min = 41000;
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rsip-port-min 41000 is above --rsip-port-max 40999");
	s.rsip_port_min = 40999;
	assert_int_equal(gwd_rsip_settings_check(&s, err, sizeof(err)), 0);

	/* and through the schema: --no-rsip turns it off */
	{
		char *argv[] = { "gwd", "--no-rsip", "--rsip-spis", "0x1000-0x1003", "--rsip-lease-max", "5",
				 "--rsip-lease-min", "1", NULL };
		int next;

		assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 8, argv, &next, err, sizeof(err)), 0);
		assert_false(s.rsip);
		assert_string_equal(s.rsip_spis, "0x1000-0x1003");
		assert_int_equal(s.rsip_lease_max, 5);
	}
	gwd_settings_free(&s);
}

static void server_config(void **state)
{
	struct gwd_settings s;
	struct rsip_server_config c;
	struct rsip_prefix lan = { 0xc0a80100, 24 };
	struct rsip_server srv;
	struct rsip_client cl;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .n_spis = 1 };
	struct rsip_peer x1 = { 0xc0a80102, 1000 }, x9 = { 0xc0a80109, 1000 };
	uint8_t req[512], resp[2048];
	size_t n, rn;
	char err[256];

	gwd_settings_defaults(&s);
	assert_int_equal(gwd_rsip_config(&s, NB, &lan, 1, 5, &c, err, sizeof(err)), 0);
	assert_int_equal(c.addrs[0], NB);
	assert_int_equal(c.n_addrs, 1);
	assert_int_equal(c.port_lo, GWD_RSIP_PORT_MIN);
	assert_int_equal(c.port_hi, GWD_RSIP_PORT_MAX);
	assert_int_equal(c.spi_lo, GWD_RSIP_SPI_MIN);
	assert_int_equal(c.spi_hi, GWD_RSIP_SPI_MAX);
	assert_int_equal(c.lease_min, 60);
	assert_int_equal(c.lease_default, 600);
	assert_int_equal(c.lease_max, 3600);
	assert_true(c.ipsec);
	assert_int_equal(c.n_ipsec_allow, 0);
	assert_int_equal(c.n_local_nets, 1);
	assert_int_equal(c.local_nets[0].addr, 0xc0a80100);
	assert_int_equal(c.seed, 5);

	/* a short lease range pulls the default into it */
	s.rsip_lease_min = 1;
	s.rsip_lease_max = 5;
	s.rsip_spis = strdup("0x1000-0x1003");
	s.rsip_ipsec_allow = strdup("192.168.1.2");
	assert_int_equal(gwd_rsip_config(&s, NB, NULL, 0, 5, &c, err, sizeof(err)), 0);
	assert_int_equal(c.lease_default, 5);
	assert_int_equal(c.spi_lo, 0x1000);
	assert_int_equal(c.spi_hi, 0x1003);
	assert_int_equal(c.n_ipsec_allow, 1);
	assert_int_equal(c.n_local_nets, 0);
	assert_int_equal(rsip_server_init(&srv, &c), 0);

	/* the server obeys the list: 192.168.1.9 is not on it (RFC 3104 App. B, 401) */
	rsip_client_init(&cl, 1);
	assert_int_equal(rsip_client_register(&cl, req, sizeof(req), &n), 0);
	assert_int_equal(rsip_server_handle(&srv, &x9, req, n, 1000, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_client_on_message(&cl, resp, rn, 1000, &ev), 0);
	assert_int_equal(rsip_client_assign_rsipsec(&cl, &r, req, sizeof(req), &n), 0);
	assert_int_equal(rsip_server_handle(&srv, &x9, req, n, 1000, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_client_on_message(&cl, resp, rn, 1000, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ERROR);
	assert_int_equal(ev.error, RSIP_E_IPSEC_UNALLOWED);
	/* 192.168.1.2 is, and gets a lease of at most 5 s */
	rsip_client_init(&cl, 1);
	assert_int_equal(rsip_client_register(&cl, req, sizeof(req), &n), 0);
	assert_int_equal(rsip_server_handle(&srv, &x1, req, n, 1000, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_client_on_message(&cl, resp, rn, 1000, &ev), 0);
	r.lease = 3600;
	assert_int_equal(rsip_client_assign_rsipsec(&cl, &r, req, sizeof(req), &n), 0);
	assert_int_equal(rsip_server_handle(&srv, &x1, req, n, 1000, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_client_on_message(&cl, resp, rn, 1000, &ev), 0);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
	assert_int_equal(ev.bind->lease, 5);
	assert_true(ev.bind->spis[0] >= 0x1000 && ev.bind->spis[0] <= 0x1003);
	rsip_server_fini(&srv);

	/* "none": RSIPSEC is not even offered */
	free(s.rsip_ipsec_allow);
	s.rsip_ipsec_allow = strdup("none");
	assert_int_equal(gwd_rsip_config(&s, NB, NULL, 0, 5, &c, err, sizeof(err)), 0);
	assert_false(c.ipsec);
	gwd_settings_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefixes),
		cmocka_unit_test(ranges),
		cmocka_unit_test(settings_messages),
		cmocka_unit_test(server_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
