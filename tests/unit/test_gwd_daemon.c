/*
 * autotunnel-gwd daemon pieces that need no root: settings (INI and
 * command line), the nftables command texts, the control protocol parser
 * the status text, and how a request frame seen on the packet socket is read
 * (lansock.c, to pair it with its datagram). The real nftables, sockets and netlink are proved
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
#include "autotunnel-gwd/lansock.h"
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

/* --user and what the daemon keeps after start-up (settings.h) */
static void settings_privs(void **state)
{
	struct gwd_settings s;
	struct gwd_privs pv;
	char *argv[] = { "autotunnel-gwd", "--wan", "wan0", "--lan", "lan0", "--user", "gw",
			 "--control", "/run/gw-x/ctl", NULL };
	char err[256] = "";
	int next = 0;

	gwd_settings_defaults(&s);
	assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 9, argv, &next, err, sizeof(err)), 0);
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), 0);
	assert_int_equal(gwd_settings_privs(&s, &pv), 0);
	assert_string_equal(pv.drop.user, "gw");
	/* CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13 */
	assert_int_equal(pv.drop.caps, 0x3400);
	assert_true(pv.drop.landlock);
	assert_int_equal(pv.drop.n_rw, 1);
	assert_string_equal(pv.drop.rw[0], "/run/gw-x");
	assert_string_equal(pv.drop.own_dir, "/run/gw-x");
	assert_string_equal(pv.drop.own_prefix, "ctl");
	gwd_settings_free(&s);

	/* the default: nobody, the socket in the state directory */
	gwd_settings_defaults(&s);
	assert_int_equal(conf_parse_args(&gwd_settings_schema, &s, 5, argv, &next, err, sizeof(err)), 0);
	assert_int_equal(gwd_settings_check(&s, true, err, sizeof(err)), 0);
	assert_int_equal(gwd_settings_privs(&s, &pv), 0);
	assert_string_equal(pv.drop.user, "nobody");
	assert_string_equal(pv.drop.own_dir, GWD_DEFAULT_STATE_DIR);
	assert_string_equal(pv.drop.own_prefix, "control");
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

/* An IPv4/UDP packet 192.168.1.2:40000 -> 192.168.1.1:5351 carrying @p plen bytes (0x5a). */
static size_t frame(uint8_t *b, size_t plen, size_t ihl_words)
{
	size_t h = ihl_words * 4, total = h + 8 + plen;

	memset(b, 0, total);
	b[0] = (uint8_t)(0x40 | ihl_words);
	b[2] = (uint8_t)(total >> 8); b[3] = (uint8_t)total;
	b[8] = 64; b[9] = 17;
	b[12] = 192; b[13] = 168; b[14] = 1; b[15] = 2;
	b[16] = 192; b[17] = 168; b[18] = 1; b[19] = 1;
	b[h] = 0x9c; b[h + 1] = 0x40;		/* 40000 */
	b[h + 2] = 0x14; b[h + 3] = 0xe7;	/* 5351 */
	b[h + 4] = (uint8_t)((8 + plen) >> 8); b[h + 5] = (uint8_t)(8 + plen);
	memset(b + h + 8, 0x5a, plen);
	return total;
}

static void request_frames(void **state)
{
	static uint8_t b[4096];
	static struct gwd_frame f;
	size_t n;

	/* a NAT-PMP map request's frame */
	n = frame(b, 12, 5);
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), 0);
	assert_int_equal(f.src, 0xc0a80102);
	assert_int_equal(f.sport, 40000);
	assert_int_equal(f.len, 12);
	assert_int_equal(f.payload[0], 0x5a);
	assert_int_equal(f.payload[11], 0x5a);
	/* with IP options: the UDP header follows the whole IP header */
	n = frame(b, 12, 7);
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), 0);
	assert_int_equal(f.sport, 40000);
	/* another destination, another port, not UDP, a fragment: not a request frame */
	n = frame(b, 12, 5);
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80201, &f), -EINVAL);
	b[23] = 0xe6;
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	n = frame(b, 12, 5);
	b[9] = 6;
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	n = frame(b, 12, 5);
	b[6] = 0x20;		/* more fragments */
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	n = frame(b, 12, 5);
	b[7] = 1;		/* a fragment offset */
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	/* cut short: the UDP length says more than was captured */
	n = frame(b, 12, 5);
	assert_int_equal(gwd_frame_parse(b, n - 1, 0xc0a80101, &f), -EINVAL);
	assert_int_equal(gwd_frame_parse(b, 27, 0xc0a80101, &f), -EINVAL);
	assert_int_equal(gwd_frame_parse(b, 0, 0xc0a80101, &f), -EINVAL);
	/* a UDP length beyond the IP total length */
	n = frame(b, 12, 5);
	b[25] = 30;
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	/* IPv6 or a header length under 20 */
	n = frame(b, 12, 5);
	b[0] = 0x65;
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	b[0] = 0x44;
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), -EINVAL);
	/* longer than gwd reads: the first GWD_LANSOCK_PAYLOAD bytes and the true length */
	n = frame(b, GWD_LANSOCK_PAYLOAD + 100, 5);
	assert_int_equal(gwd_frame_parse(b, n, 0xc0a80101, &f), 0);
	assert_int_equal(f.len, GWD_LANSOCK_PAYLOAD + 100);
	assert_int_equal(f.payload[GWD_LANSOCK_PAYLOAD - 1], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_command_line),
		cmocka_unit_test(settings_privs),
		cmocka_unit_test(settings_file),
		cmocka_unit_test(settings_errors),
		cmocka_unit_test(nft_texts),
		cmocka_unit_test(control_parse),
		cmocka_unit_test(status_text),
		cmocka_unit_test(request_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
