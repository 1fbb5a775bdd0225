/*
 * autotunnel-gwd daemon pieces that need no root: settings (INI and
 * command line), the nftables command texts, the control protocol parser
 * and the status text. The real nftables, sockets and netlink are proved
 * in tests/netns/t_gwd_*.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "autotunnel-gwd/control.h"
#include "autotunnel-gwd/nft.h"
#include "autotunnel-gwd/settings.h"
#include "autotunnel-gwd/status.h"
#include "autotunnel-gwd/table.h"

static void settings_command_line(void **state)
{
	struct gwd_settings s;
	char *argv[] = { "autotunnel-gwd", "--wan", "wan0", "--lan=lan0,lan1", "--lifetime-min", "5",
			 "status", NULL };
	char err[256] = "";
	int next = 0;

	gwd_settings_defaults(&s);
	assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 7, argv, &next, err, sizeof(err)), 0);
	assert_int_equal(next, 6);
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), 0);
	assert_string_equal(s.wan, "wan0");
	assert_int_equal(s.n_lans, 2);
	assert_string_equal(s.lans[0], "lan0");
	assert_string_equal(s.lans[1], "lan1");
	assert_int_equal(s.lifetime_min, 5);
	assert_int_equal(s.lifetime_max, 86400);	/* default */
	assert_int_equal(s.port_min, 1024);
	assert_string_equal(gwd_settings_control_path(&s), GWD_DEFAULT_STATE_DIR "/control");
	gwd_settings_free(&s);
}

static void settings_file(void **state)
{
	struct gwd_settings s;
	char path[] = "/tmp/test_gwd_conf.XXXXXX";
	char *argv[] = { "autotunnel-gwd", "-c", path, "--port-max", "40000", NULL };
	const char *ini = "[interfaces]\nwan = eth0\nlan = br-lan\n"
			  "[mappings]\nport-min = 20000\nport-max = 30000\nlifetime-max = 7200\n"
			  "[daemon]\nstate-dir = /tmp/gwd-x\n";
	const char *bad = "no-such-key = 1\n";
	char err[256] = "";
	int next, fd = mkstemp(path);

	assert_true(fd >= 0);
	/* an unknown key is an error with its line */
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	gwd_settings_defaults(&s);
	assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 5, argv, &next, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":10: unknown key 'no-such-key' in section [daemon]"));
	gwd_settings_free(&s);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	gwd_settings_defaults(&s);
	assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 5, argv, &next, err, sizeof(err)), 0);
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), 0);
	assert_string_equal(s.wan, "eth0");
	assert_string_equal(s.lans[0], "br-lan");
	assert_int_equal(s.port_min, 20000);
	assert_int_equal(s.port_max, 40000);	/* the command line wins */
	assert_int_equal(s.lifetime_max, 7200);
	assert_string_equal(gwd_settings_control_path(&s), "/tmp/gwd-x/control");
	gwd_settings_free(&s);
	unlink(path);
}

static void settings_errors(void **state)
{
	struct gwd_settings s;
	char err[256];

	gwd_settings_defaults(&s);
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--wan IFACE is required (the interface to the internet)");
	/* status needs no interfaces */
	assert_int_equal(gwd_settings_check(&s, false, err, sizeof(err)), 0);
	gwd_settings_free(&s);

	gwd_settings_defaults(&s);
	s.wan = strdup("wan0");
	s.lan = strdup("lan0,wan0");
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--lan: wan0 is also the WAN interface");
	gwd_settings_free(&s);

	gwd_settings_defaults(&s);
	s.wan = strdup("wan\"0");
	s.lan = strdup("lan0");
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--wan: 'wan\"0' is not an interface name");
	gwd_settings_free(&s);

	gwd_settings_defaults(&s);
	s.wan = strdup("wan0");
	s.lan = strdup("lan0");
	s.port_min = 5000;
	s.port_max = 4999;
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--port-min 5000 is above --port-max 4999");
	s.port_max = 5000;
	s.lifetime_min = 100;
	s.lifetime_max = 99;
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--lifetime-min 100 is above --lifetime-max 99");
	s.lifetime_max = 100;
	s.rsip_lease_min = 100;
	s.rsip_lease_max = 99;
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--rsip-lease-min 100 is above --rsip-lease-max 99");
	s.rsip_lease_max = 100;
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), 0);
	gwd_settings_free(&s);
}

static void nft_texts(void **state)
{
	char buf[1024];
	struct gwd_mapping m = { .client = 0xc0a80102, .proto = GWD_PROTO_UDP, .int_port = 4500,
				 .ext_port = 4501, .lifetime_s = 3600 };

	assert_true(gwd_nft_cmd_setup(buf, sizeof(buf), "wan0") > 0);
	assert_non_null(strstr(buf, "add table ip autotunnel-gwd\ndelete table ip autotunnel-gwd\n"));
	assert_non_null(strstr(buf, "iifname \"wan0\" fib daddr type local dnat ip to meta l4proto . th dport map @dnat4"));
	assert_true(gwd_nft_cmd_map(buf, sizeof(buf), &m, 0) > 0);
	assert_string_equal(buf, "add element ip autotunnel-gwd dnat4 { udp . 4501 timeout 3660s : 192.168.1.2 . 4500 }\n");
	m.proto = GWD_PROTO_TCP;
	assert_true(gwd_nft_cmd_map(buf, sizeof(buf), &m, 1) > 0);
	assert_string_equal(buf, "delete element ip autotunnel-gwd dnat4 { tcp . 4501 }\n"
				 "add element ip autotunnel-gwd dnat4 { tcp . 4501 timeout 3660s : 192.168.1.2 . 4500 }\n");
	assert_true(gwd_nft_cmd_unmap(buf, sizeof(buf), GWD_PROTO_UDP, 65535) > 0);
	assert_string_equal(buf, "delete element ip autotunnel-gwd dnat4 { udp . 65535 }\n");
	assert_true(gwd_nft_cmd_teardown(buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "delete table ip autotunnel-gwd\n");
	/* too small a buffer is an error, never a cut command */
	assert_int_equal(gwd_nft_cmd_unmap(buf, 20, GWD_PROTO_UDP, 1), -ENOSPC);
}

static void control_parse(void **state)
{
	enum gwd_control_cmd cmd;

	assert_int_equal(gwd_control_parse("status\n", 7, &cmd), 0);
	assert_int_equal(cmd, GWD_CMD_STATUS);
	assert_int_equal(gwd_control_parse("stat", 4, &cmd), -EAGAIN);
	assert_int_equal(gwd_control_parse("", 0, &cmd), -EAGAIN);
	assert_int_equal(gwd_control_parse("stop\n", 5, &cmd), -EINVAL);
	assert_int_equal(gwd_control_parse("STATUS\n", 7, &cmd), -EINVAL);
	assert_int_equal(gwd_control_parse("status\nstatus\n", 14, &cmd), -EINVAL);
	assert_int_equal(gwd_control_parse("status \n", 8, &cmd), -EINVAL);
	assert_int_equal(gwd_control_parse("statusstatusstatus\n", 19, &cmd), -EINVAL);
}

static void status_text(void **state)
{
	struct gwd_table t;
	struct gwd_mapping a = { .client = 0xc0a80103, .proto = GWD_PROTO_TCP, .int_port = 22,
				 .ext_port = 2222, .expires_ms = 100000, .origin = GWD_ORIGIN_PCP };
	struct gwd_mapping b = { .client = 0xc0a80102, .proto = GWD_PROTO_UDP, .int_port = 4500,
				 .ext_port = 4500, .expires_ms = 3600500, .origin = GWD_ORIGIN_NATPMP };
	struct gwd_status_info info = { .wan = "wan0", .ext_addr = 0xcb00710a, .epoch_s = 7 };
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_int_equal(gwd_table_init(&t, 1024, 65535, 16, 16), 0);
	fp = open_memstream(&text, &len);
	assert_int_equal(gwd_status_format(fp, &info, &t, 1000), 0);
	fclose(fp);
	assert_string_equal(text, "external address 203.0.113.10 on wan0, epoch 7 s, 0 mappings\n");
	free(text);

	assert_int_equal(gwd_table_add(&t, &a), 0);
	assert_int_equal(gwd_table_add(&t, &b), 0);
	fp = open_memstream(&text, &len);
	assert_int_equal(gwd_status_format(fp, &info, &t, 1000), 0);
	fclose(fp);
	assert_string_equal(text,
		"external address 203.0.113.10 on wan0, epoch 7 s, 2 mappings\n"
		"internal                 external  proto  remaining  created by\n"
		"192.168.1.2:4500      -> 4500      udp    3600 s     NAT-PMP\n"
		"192.168.1.3:22        -> 2222      tcp    99 s       PCP\n");
	free(text);
	gwd_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_command_line),
		cmocka_unit_test(settings_file),
		cmocka_unit_test(settings_errors),
		cmocka_unit_test(nft_texts),
		cmocka_unit_test(control_parse),
		cmocka_unit_test(status_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
