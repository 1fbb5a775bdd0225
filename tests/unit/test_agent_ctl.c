/*
 * lib/agent ctl: the control protocol between autotunnel and autotunneld.
 * Frames built by the writer parse back and encode to the same bytes; the
 * renderings are exactly what the CLI prints (docs/design.md §1); and the parser
 * refuses every frame that breaks a rule, at every boundary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/ctl.h"

static const uint8_t ula_laptop[16] = { 0xfd, 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1,
					0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a };
static const uint8_t ula_desktop[16] = { 0xfd, 0x91, [15] = 1 };
static const uint8_t ula_nas[16] = { 0xfd, 0x07, [15] = 1 };
static const uint8_t nat_a[4] = { 203, 0, 113, 10 };
static const uint8_t pub[4] = { 198, 51, 100, 7 };

static uint8_t frame[AGENT_CTL_FRAME_MAX];
static char text[1 << 16];

static int status_reply(uint8_t *buf, size_t len)
{
	struct agent_ctl_writer cw;

	agent_ctl_write_begin(&cw, buf, len, AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAME, "alice");
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_HOSTS, 3);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_laptop);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_EXTERNAL, nat_a);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "pcp");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "desktop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "up");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 61001);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_MS, 12);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_HANDSHAKE_AGE_S, 40);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_nas);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "idle");
	return agent_ctl_write_end(&cw);
}

static void status_roundtrip_and_render(void **state)
{
	struct agent_ctl_msg *m = agent_ctl_msg_new();
	uint8_t again[1024];
	int n = status_reply(frame, sizeof(frame)), n2;
	size_t total;
	const char *want =
		"account  alice.members.example.net   (signed in, 3 hosts)\n"
		"this     laptop   fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a   behind NAT 203.0.113.10:4500 via PCP\n"
		"peer     desktop  fd91::1   direct 198.51.100.7:61001   rtt 12 ms   last handshake 40 s ago\n"
		"peer     nas      fd07::1   idle (tunnel on demand)\n";
	const char *want_json =
		"{\"schema\":1,\"account\":{\"name\":\"alice\",\"domain\":\"alice.members.example.net\",\"server\":\"rv.example.net\","
		"\"signed_in\":true,\"hosts\":3},"
		"\"self\":{\"label\":\"laptop\",\"ula\":\"fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\",\"port\":4500,"
		"\"nat\":\"nat\",\"external\":\"203.0.113.10\",\"mapping\":\"pcp\"},"
		"\"peers\":[{\"label\":\"desktop\",\"ula\":\"fd91::1\",\"state\":\"up\",\"outer\":\"198.51.100.7\","
		"\"port\":61001,\"rtt_ms\":12,\"handshake_age_s\":40},"
		"{\"label\":\"nas\",\"ula\":\"fd07::1\",\"state\":\"idle\"}]}\n";

	assert_non_null(m);
	assert_true(n > 0);
	assert_int_equal(agent_ctl_frame_size(frame, &total), 0);
	assert_int_equal(total, n);
	assert_int_equal(agent_ctl_parse(m, frame, (size_t)n), 0);
	assert_int_equal(m->code, AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	assert_int_equal(agent_ctl_count(m, AGENT_CTL_R_PEER), 2);
	assert_string_equal(agent_ctl_str(m, agent_ctl_find(m, AGENT_CTL_R_PEER, 1), AGENT_CTL_F_LABEL), "nas");
	assert_null(agent_ctl_find(m, AGENT_CTL_R_PEER, 2));
	assert_null(agent_ctl_str(m, agent_ctl_find(m, AGENT_CTL_R_PEER, 1), AGENT_CTL_F_FQDN));

	/* canonical: encoding the parsed message gives the same bytes */
	n2 = agent_ctl_encode(m, again, sizeof(again));
	assert_int_equal(n2, n);
	assert_memory_equal(again, frame, (size_t)n);

	assert_int_equal(agent_ctl_render_text(m, text, sizeof(text)), (int)strlen(want));
	assert_string_equal(text, want);
	/* the exact size fits, one byte less does not */
	assert_int_equal(agent_ctl_render_text(m, text, strlen(want) + 1), (int)strlen(want));
	assert_int_equal(agent_ctl_render_text(m, text, strlen(want)), -ENOSPC);
	assert_int_equal(agent_ctl_render_json(m, text, sizeof(text)), (int)strlen(want_json));
	assert_string_equal(text, want_json);
	agent_ctl_msg_free(m);
}

static void writer_exact_space(void **state)
{
	int n = status_reply(frame, sizeof(frame));

	assert_int_equal(status_reply(frame, (size_t)n), n);
	assert_int_equal(status_reply(frame, (size_t)n - 1), -ENOSPC);
}

static struct agent_ctl_msg *parse_ok(int n)
{
	struct agent_ctl_msg *m = agent_ctl_msg_new();

	assert_true(n > 0);
	assert_int_equal(agent_ctl_parse(m, frame, (size_t)n), 0);
	return m;
}

static void render_is(struct agent_ctl_msg *m, const char *want, const char *want_json)
{
	assert_true(agent_ctl_render_text(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, want);
	if (want_json) {
		assert_true(agent_ctl_render_json(m, text, sizeof(text)) >= 0);
		assert_string_equal(text, want_json);
	}
	agent_ctl_msg_free(m);
}

static void status_states(void **state)
{
	struct agent_ctl_writer cw;

	/* not signed in, public network, peers connecting and unreachable */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "desktop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "none");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_EXTERNAL, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_laptop);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "connecting");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, nat_a);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_nas);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "unreachable");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "tv");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "unreachable");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 1);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "this     desktop  fd91::1   public address 198.51.100.7:4500\n"
		  "peer     laptop   fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a   connecting to 203.0.113.10:4500\n"
		  "peer     nas      fd07::1   unreachable (no location published)\n"
		  "peer     tv       -   unreachable at 198.51.100.7:1 (no answer)\n", NULL);

	/* behind a NAT with no mapping, and a double NAT */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, false);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "none");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  alice.members.example.net   (signed out)\n"
		  "this     laptop   -   behind NAT, no port mapping: reachable by hole punching\n",
		  "{\"schema\":1,\"account\":{\"domain\":\"alice.members.example.net\",\"signed_in\":false},"
		  "\"self\":{\"label\":\"laptop\",\"nat\":\"nat\",\"mapping\":\"none\"},\"peers\":[]}\n");
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "double");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "this     laptop   -   behind two NATs (double NAT): reachable by hole punching\n", NULL);

	/* issue 11: the path a tunnel uses, and a peer being punched to (connecting, no location) */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "up");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, nat_a);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_MS, 3);
	agent_ctl_write_str(&cw, AGENT_CTL_F_PATH, "punched");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "connecting");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "peer     laptop   -   punched 203.0.113.10:4500   rtt 3 ms\n"
		  "peer     nas      -   connecting (looking for a direct path: hole punching)\n",
		  "{\"schema\":1,\"peers\":[{\"label\":\"laptop\",\"state\":\"up\",\"outer\":\"203.0.113.10\","
		  "\"port\":4500,\"rtt_ms\":3,\"path\":\"punched\"},{\"label\":\"nas\",\"state\":\"connecting\"}]}\n");
	/* issue 11: a round that found no direct path says so, and what the relay did (or why none) */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "none");
	agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY, "no-server");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "unreachable");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_NO_DIRECT, true);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "this     laptop   -   behind NAT, no port mapping: reachable by hole punching\n"
		  "relay    none: the account's server names no relay (TURN)\n"
		  "peer     nas      -   unreachable (no direct path worked; relay: none, the account's server "
		  "names no relay (TURN))\n",
		  "{\"schema\":1,\"self\":{\"label\":\"laptop\",\"nat\":\"nat\",\"mapping\":\"none\","
		  "\"relay\":\"no-server\"},\"peers\":[{\"label\":\"nas\",\"state\":\"unreachable\","
		  "\"no_direct\":true}]}\n");
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "unreachable");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_NO_DIRECT, true);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "this     laptop   -   network not known yet\n"
		  "peer     nas      -   unreachable (no direct path worked; relay: none (relay = never))\n", NULL);
	/* a path word the protocol does not know is refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_PATH, "teleport");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
}

static void hosts_services_ping(void **state)
{
	struct agent_ctl_writer cw;

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_HOSTS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_HOST);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "desktop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_FQDN, "desktop.alice.members.example.net");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 61001);
	agent_ctl_write_str(&cw, AGENT_CTL_F_MODEL, "PC \"tower\"");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_HOST);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_FQDN, "laptop.alice.members.example.net");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_laptop);
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SELF, true);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  /* issue 15: columns as wide as their widest entry, no trailing blanks */
		  "desktop   desktop.alice.members.example.net   fd91::1                                  198.51.100.7:61001\n"
		  "laptop    laptop.alice.members.example.net    fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a   -                    (this host)\n",
		  "{\"schema\":1,\"hosts\":[{\"label\":\"desktop\",\"fqdn\":\"desktop.alice.members.example.net\",\"ula\":\"fd91::1\","
		  "\"outer\":\"198.51.100.7\",\"port\":61001,\"model\":\"PC \\\"tower\\\"\"},"
		  "{\"label\":\"laptop\",\"fqdn\":\"laptop.alice.members.example.net\","
		  "\"ula\":\"fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\",\"self\":true}]}\n");

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_HOSTS);
	render_is(parse_ok(agent_ctl_write_end(&cw)), "no hosts\n", "{\"schema\":1,\"hosts\":[]}\n");

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_SERVICES);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SERVICE);
	agent_ctl_write_str(&cw, AGENT_CTL_F_TYPE, "_ssh._tcp");
	agent_ctl_write_str(&cw, AGENT_CTL_F_INSTANCE, "desktop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "desktop.alice.members.example.net");
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 22);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SERVICE);
	agent_ctl_write_str(&cw, AGENT_CTL_F_TYPE, "_smb._tcp");
	agent_ctl_write_str(&cw, AGENT_CTL_F_INSTANCE, "nas");
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "nas.alice.members.example.net");
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 445);
	agent_ctl_write_str(&cw, AGENT_CTL_F_TXT, "path=/srv");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "_ssh._tcp  desktop  desktop.alice.members.example.net:22\n"
		  "_smb._tcp  nas      nas.alice.members.example.net:445   path=/srv\n", NULL);

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_PING);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PING);
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "desktop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 61001);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_SENT, 3);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RECEIVED, 3);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_MS, 12);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "desktop (fd91::1) via 198.51.100.7:61001: 3/3 replies, rtt 12 ms\n",
		  "{\"schema\":1,\"ping\":{\"ula\":\"fd91::1\",\"outer\":\"198.51.100.7\",\"port\":61001,\"rtt_ms\":12,"
		  "\"host\":\"desktop\",\"sent\":3,\"received\":3}}\n");

	/* issue 15: microseconds, when the agent sends them: 2 decimals below 10 ms, whole ms above */
	static const struct { uint32_t us; const char *rtt; } rtts[] = {
		{ 0, "0.00 ms" }, { 4, "0.00 ms" }, { 5, "0.01 ms" }, { 230, "0.23 ms" }, { 1005, "1.01 ms" },
		{ 9994, "9.99 ms" }, { 9995, "10 ms" }, { 10499, "10 ms" }, { 10500, "11 ms" },
		{ 123456, "123 ms" }, { UINT32_MAX, "4294967 ms" },
	};
	char want[256], json[512];

	for (size_t i = 0; i < sizeof(rtts) / sizeof(rtts[0]); i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_PING);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_PING);
		agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "desktop");
		agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_SENT, 3);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_RECEIVED, 3);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_MS, rtts[i].us / 1000);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_US, rtts[i].us);
		snprintf(want, sizeof(want), "desktop (fd91::1) via -: 3/3 replies, rtt %s\n", rtts[i].rtt);
		snprintf(json, sizeof(json), "{\"schema\":1,\"ping\":{\"ula\":\"fd91::1\",\"rtt_ms\":%u,\"host\":\"desktop\","
			 "\"sent\":3,\"received\":3,\"rtt_us\":%u}}\n", (unsigned)(rtts[i].us / 1000), (unsigned)rtts[i].us);
		render_is(parse_ok(agent_ctl_write_end(&cw)), want, json);
	}

	/* issue 15: no reply, and the tunnel's state says why */
	static const struct { const char *state, *text; } why[] = {
		{ "connecting", "desktop (fd91::1) via 198.51.100.7:61001: 0/3 replies; the tunnel is still being made\n" },
		{ "unreachable", "desktop (fd91::1) via 198.51.100.7:61001: 0/3 replies; the tunnel could not be made: "
				 "no answer from the peer\n" },
		{ "up", "desktop (fd91::1) via 198.51.100.7:61001: 0/3 replies; the tunnel is up, the host did not answer\n" },
		{ "idle", "desktop (fd91::1) via 198.51.100.7:61001: 0/3 replies; no tunnel\n" },
	};
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_PING);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_PING);
		agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "desktop");
		agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
		agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 61001);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_SENT, 3);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_RECEIVED, 0);
		agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, why[i].state);
		render_is(parse_ok(agent_ctl_write_end(&cw)), why[i].text, NULL);
	}
}

/* issue 15: how the rendezvous server is heard, under the account line */
static void status_server_health(void **state)
{
	struct agent_ctl_writer cw;
	static const struct { const char *state, *line; } cases[] = {
		{ "connected", "server   rv.example.net:853   connected, LLQ up\n" },
		{ "push", "server   rv.example.net:853   connected, DNS Push\n" },
		{ "polling", "server   rv.example.net:853   server lost, polling until it answers\n" },
		{ "connecting", "server   rv.example.net:853   connecting\n" },
	};
	char want[512], json[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
		agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
		agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
		agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net:853");
		agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER_STATE, cases[i].state);
		snprintf(want, sizeof(want), "account  alice.members.example.net   (signed in)\n%s", cases[i].line);
		snprintf(json, sizeof(json), "{\"schema\":1,\"account\":{\"domain\":\"alice.members.example.net\","
			 "\"server\":\"rv.example.net:853\",\"signed_in\":true,\"server_state\":\"%s\"},\"peers\":[]}\n",
			 cases[i].state);
		render_is(parse_ok(agent_ctl_write_end(&cw)), want, json);
	}
	/* a state the protocol does not know is refused by the writer (and the parser) */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER_STATE, "fine");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	(void)state;
}

static long offset_plus_2h(int64_t unix_s)
{
	(void)unix_s;
	return 7200;
}

static long offset_minus_5h(int64_t unix_s)
{
	(void)unix_s;
	return -5 * 3600;
}

/* issue 15: "server lost since HH:MM:SS, polling", local time as the caller says it is */
static void status_server_lost_since(void **state)
{
	struct agent_ctl_writer cw;
	struct agent_ctl_msg *m;
	/* 2026-12-06 14:03:27 UTC */
	const uint32_t lost = 1796565807;
	const char *head = "account  alice.members.example.net   (signed in)\n";
	char want[256];

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net:853");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER_STATE, "polling");
	agent_ctl_write_uint(&cw, AGENT_CTL_F_SERVER_LOST_SINCE, lost);
	m = parse_ok(agent_ctl_write_end(&cw));

	snprintf(want, sizeof(want), "%sserver   rv.example.net:853   server lost since 16:03:27, polling\n", head);
	assert_int_equal(agent_ctl_render_text_tz(m, offset_plus_2h, text, sizeof(text)), (int)strlen(want));
	assert_string_equal(text, want);
	/* west of UTC, across midnight backwards: the time of day stays in 00..23 */
	snprintf(want, sizeof(want), "%sserver   rv.example.net:853   server lost since 09:03:27, polling\n", head);
	assert_true(agent_ctl_render_text_tz(m, offset_minus_5h, text, sizeof(text)) >= 0);
	assert_string_equal(text, want);
	/* no time zone given (lib has none): UTC, and it says so */
	render_is(m,
		  "account  alice.members.example.net   (signed in)\n"
		  "server   rv.example.net:853   server lost since 14:03:27 UTC, polling\n",
		  "{\"schema\":1,\"account\":{\"domain\":\"alice.members.example.net\",\"server\":\"rv.example.net:853\","
		  "\"signed_in\":true,\"server_state\":\"polling\",\"server_lost_since\":1796565807},\"peers\":[]}\n");

	/* midnight: 00:00:00 */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER_STATE, "polling");
	agent_ctl_write_uint(&cw, AGENT_CTL_F_SERVER_LOST_SINCE, 1796515200);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  alice.members.example.net   (signed in)\n"
		  "server   -   server lost since 00:00:00 UTC, polling\n", NULL);

	/* the field belongs to ACCOUNT only */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_SERVER_LOST_SINCE, lost);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	(void)state;
}

static void netcheck(void **state)
{
	struct agent_ctl_writer cw;
	const uint8_t addr[4] = { 192, 168, 1, 2 }, gw[4] = { 192, 168, 1, 1 };

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_IFACE, "eth0");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAC, "00:22:69:8e:34:2a");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_ADDRESS, addr);
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_GATEWAY, gw);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "pcp");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_EXTERNAL, nat_a);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_LIFETIME_S, 7200);
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net:853");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SERVER_TLS, true);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "primary    192.168.1.2 on eth0 (00:22:69:8e:34:2a), gateway 192.168.1.1\n"
		  "nat        yes\n"
		  "mapping    PCP: 203.0.113.10:4500 for 7200 s\n"
		  "server     rv.example.net:853: reachable over TLS\n",
		  "{\"schema\":1,\"net\":{\"port\":4500,\"server\":\"rv.example.net:853\",\"nat\":\"nat\",\"external\":\"203.0.113.10\","
		  "\"mapping\":\"pcp\",\"iface\":\"eth0\",\"address\":\"192.168.1.2\",\"gateway\":\"192.168.1.1\","
		  "\"lifetime_s\":7200,\"server_tls\":true,\"mac\":\"00:22:69:8e:34:2a\"}}\n");

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_ADDRESS, addr);
	agent_ctl_write_str(&cw, AGENT_CTL_F_IFACE, "eth0");
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "double");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "none");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net");
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SERVER_TLS, false);
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER_ERROR, "certificate does not match the pin");
	agent_ctl_write_str(&cw, AGENT_CTL_F_DETAIL, "the gateway's external address 192.168.0.2 is private");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "primary    192.168.1.2 on eth0\n"
		  "nat        double NAT (a NAT behind a NAT): peers reach this host by hole punching\n"
		  "mapping    none: PCP, NAT-PMP and UPnP did not answer; peers reach this host by hole punching\n"
		  "server     rv.example.net: not reachable over TLS (certificate does not match the pin)\n"
		  "note       the gateway's external address 192.168.0.2 is private\n", NULL);

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "none");
	agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "none");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_EXTERNAL, pub);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "primary    none (no default route: offline)\n"
		  "nat        no (public address)\n"
		  "mapping    not needed (public address 198.51.100.7)\n"
		  "server     none (not signed in)\n", NULL);
}

/* netcheck's STUN fields (issue 11): what each result prints, and the words refused. */
static void netcheck_stun(void **state)
{
	static const struct {
		const char *stun, *server, *map, *filt;
		bool reflexive;
		const char *want;
	} cases[] = {
		{ "answered", "10.9.0.1:3478", "endpoint-independent", "address-and-port-dependent", true,
		  "stun       10.9.0.1:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping endpoint-independent, filtering address-and-port-dependent\n"
		  "           endpoint-independent mapping: peers behind most NATs can reach this host by hole punching\n"
		  "direct     public and mapped peers, and peers behind endpoint-independent NATs (most home routers, hole punching); not peers behind endpoint-dependent (\"symmetric\") NATs: they need a relay\n" },
		{ "answered", "10.9.0.1:3478", "endpoint-independent", "endpoint-independent", true,
		  "stun       10.9.0.1:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping endpoint-independent, filtering endpoint-independent\n"
		  "           endpoint-independent mapping and filtering: peers can reach this host at its reflexive address\n"
		  "direct     every peer: public, mapped, and behind any NAT (they reach our reflexive address)\n" },
		{ "answered", "10.9.0.1:3478", "address-and-port-dependent", "address-and-port-dependent", true,
		  "stun       10.9.0.1:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping address-and-port-dependent, filtering address-and-port-dependent\n"
		  "           endpoint-dependent mapping: direct connections need the other side to be reachable; "
		  "a relay will be needed otherwise\n"
		  "direct     public and mapped peers, and peers whose NAT filters by address only or not at all; not peers behind most home routers or symmetric NATs: they need a relay\n" },
		{ "answered", "10.9.0.1:3478", "address-dependent", "address-dependent", true,
		  "stun       10.9.0.1:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping address-dependent, filtering address-dependent\n"
		  "           endpoint-dependent mapping: direct connections need the other side to be reachable; "
		  "a relay will be needed otherwise\n"
		  "direct     public and mapped peers, and peers whose NAT filters by address only or not at all; not peers behind most home routers or symmetric NATs: they need a relay\n" },
		{ "answered", "10.9.0.1:3478", "none", "address-dependent", true,
		  "stun       10.9.0.1:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping none, filtering address-dependent\n"
		  "           no NAT, but a firewall filters: peers reach this host when both sides send at once "
		  "(hole punching)\n"
		  "direct     public and mapped peers, peers behind endpoint-independent NATs (hole punching) and behind endpoint-dependent ones (their first packet teaches their address)\n" },
		{ "answered", "stun.example.net:3478", "unknown", "unknown", true,
		  "stun       stun.example.net:3478: answered over UDP\n"
		  "reflexive  203.0.113.10:40123\n"
		  "behaviour  mapping unknown, filtering unknown\n" },
		{ "no-answer", "10.9.0.1:3478", NULL, NULL, false,
		  "stun       10.9.0.1:3478: did not answer over UDP (UDP blocked, or the server is down): "
		  "no reflexive address\n" },
		{ "no-server", NULL, NULL, NULL, false,
		  "stun       none: the account's server names no STUN server\n" },
		{ "lookup-failed", NULL, NULL, NULL, false,
		  "stun       the STUN server could not be found (_stun._udp SRV): see the agent's log\n" },
		{ "checking", "10.9.0.1:3478", NULL, NULL, false, "stun       10.9.0.1:3478: still checking\n" },
	};
	struct agent_ctl_writer cw;
	char want[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
		agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
		agent_ctl_write_str(&cw, AGENT_CTL_F_STUN, cases[i].stun);
		agent_ctl_write_str(&cw, AGENT_CTL_F_STUN_SERVER, cases[i].server);
		if (cases[i].reflexive) {
			agent_ctl_write_ip4(&cw, AGENT_CTL_F_REFLEXIVE, nat_a);
			agent_ctl_write_uint(&cw, AGENT_CTL_F_REFLEXIVE_PORT, 40123);
		}
		agent_ctl_write_str(&cw, AGENT_CTL_F_NAT_MAPPING, cases[i].map);
		agent_ctl_write_str(&cw, AGENT_CTL_F_NAT_FILTERING, cases[i].filt);
		snprintf(want, sizeof(want), "primary    none (no default route: offline)\n"
			 "nat        yes\n"
			 "mapping    not tried yet\n"
			 "server     none (not signed in)\n%s", cases[i].want);
		render_is(parse_ok(agent_ctl_write_end(&cw)), want,
			  i ? NULL :
			  "{\"schema\":1,\"net\":{\"nat\":\"nat\",\"stun_server\":\"10.9.0.1:3478\",\"stun\":\"answered\","
			  "\"reflexive\":\"203.0.113.10\",\"reflexive_port\":40123,"
			  "\"nat_mapping\":\"endpoint-independent\",\"nat_filtering\":\"address-and-port-dependent\"}}\n");
	}
	/* words the protocol does not know, and a port over 16 bits, are refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT_MAPPING, "symmetric");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STUN, "maybe");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_REFLEXIVE_PORT, 65536);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	(void)state;
}

/* The relay in status (self, and a relayed peer) and netcheck (with UDP blocked). */
static void relay_lines(void **state)
{
	static const uint8_t rel[4] = { 198, 51, 100, 53 }, ula[16] = { 0xfd, 0x91, [15] = 1 };
	struct agent_ctl_writer cw;
	static const struct {
		const char *st, *tr;
		bool addr;
		const char *want;
	} cases[] = {
		{ "allocated", "udp", true,
		  "via turn.example.net:3478 (udp), relayed address 198.51.100.53:49152, rtt 1.2 ms\n" },
		{ "allocating", "udp", false, "asking turn.example.net:3478 (udp) for a relayed address\n" },
		{ "lookup", "udp", false, "asking turn.example.net:3478 (udp) for a relayed address\n" },
		{ "failed", "tls", false, "turn.example.net:3478 (tls): failed, trying again (see the agent's log)\n" },
		{ "no-server", "udp", false, "none: the account's server names no relay (TURN)\n" },
	};
	char want[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_SELF);
		agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
		agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
		agent_ctl_write_str(&cw, AGENT_CTL_F_MAPPING, "none");
		agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY, cases[i].st);
		agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY_SERVER, "turn.example.net:3478");
		agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY_TRANSPORT, cases[i].tr);
		if (cases[i].addr) {
			agent_ctl_write_ip4(&cw, AGENT_CTL_F_RELAYED, rel);
			agent_ctl_write_uint(&cw, AGENT_CTL_F_RELAYED_PORT, 49152);
			agent_ctl_write_uint(&cw, AGENT_CTL_F_RELAY_RTT_US, 1234);
		}
		agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
		agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "desktop");
		agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula);
		agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "up");
		agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, rel);
		agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 50000);
		agent_ctl_write_bool(&cw, AGENT_CTL_F_VIA_RELAY, true);
		snprintf(want, sizeof(want), "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
			 "this     laptop   -   behind NAT, no port mapping: reachable by hole punching\n"
			 "relay    %s"
			 "peer     desktop  fd91::1   relayed 198.51.100.53:50000\n", cases[i].want);
		render_is(parse_ok(agent_ctl_write_end(&cw)), want,
			  i ? NULL :
			  "{\"schema\":1,\"self\":{\"label\":\"laptop\",\"nat\":\"nat\",\"mapping\":\"none\","
			  "\"relay\":\"allocated\",\"relay_server\":\"turn.example.net:3478\",\"relay_transport\":\"udp\","
			  "\"relayed\":\"198.51.100.53\",\"relayed_port\":49152,\"relay_rtt_us\":1234},"
			  "\"peers\":[{\"label\":\"desktop\",\"ula\":\"fd91::1\",\"state\":\"up\","
			  "\"outer\":\"198.51.100.53\",\"port\":50000,\"via_relay\":true}]}\n");
	}
	/* netcheck: STUN got no answer over UDP, the relay answered over TLS: UDP is blocked */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_NAT, "nat");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STUN, "no-answer");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STUN_SERVER, "10.9.0.1:3478");
	agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY, "allocated");
	agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY_SERVER, "turn.example.net:5349");
	agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY_TRANSPORT, "tls");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "primary    none (no default route: offline)\n"
		  "nat        yes\n"
		  "mapping    not tried yet\n"
		  "server     none (not signed in)\n"
		  "stun       10.9.0.1:3478: did not answer over UDP (UDP blocked, or the server is down): "
		  "no reflexive address\n"
		  "relay      via turn.example.net:5349 (tls)\n"
		  "udp        blocked on this network: tunnels go through the relay over TLS\n", NULL);
	/* a transport the protocol does not know, and a relayed port over 16 bits, are refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_RELAY_TRANSPORT, "sctp");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RELAYED_PORT, 65536);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	(void)state;
}

static void login_request_secret(void **state)
{
	struct agent_ctl_writer cw;
	struct agent_ctl_msg *m;
	const uint8_t *pw;
	size_t pwlen;
	int n;

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_ACCOUNT, "alice");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net:8853");
	agent_ctl_write_str(&cw, AGENT_CTL_F_PIN, "3f0a");
	agent_ctl_write_secret(&cw, AGENT_CTL_F_PASSWORD, "s\xc3\xa9same ouvre-toi", 17);
	n = agent_ctl_write_end(&cw);
	m = parse_ok(n);
	assert_int_equal(m->code, AGENT_CTL_LOGIN);
	pw = agent_ctl_secret(m, agent_ctl_find(m, AGENT_CTL_R_ARGS, 0), AGENT_CTL_F_PASSWORD, &pwlen);
	assert_non_null(pw);
	assert_int_equal(pwlen, 17);
	assert_memory_equal(pw, "s\xc3\xa9same ouvre-toi", 17);
	/* a secret is never a string and never rendered */
	assert_null(agent_ctl_str(m, agent_ctl_find(m, AGENT_CTL_R_ARGS, 0), AGENT_CTL_F_PASSWORD));
	assert_true(agent_ctl_render_json(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, "{\"schema\":1}\n");
	agent_ctl_msg_free(m);

	/* login needs account, server and password; ping needs a host */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_ACCOUNT, "alice");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_PING);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	/* an empty or NUL-holding secret is refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_secret(&cw, AGENT_CTL_F_PASSWORD, "a\0b", 3);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);

	/* the simple requests are a bare header */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_STATUS);
	assert_int_equal(agent_ctl_write_end(&cw), 8);
	assert_memory_equal(frame, "\0\0\0\4\1\1\0\0", 8);
}

/* The account authority (docs/authority.md §7): login with a recovery key, its replies, approve/revoke/issue/renew. */
static void authority_messages(void **state)
{
	static const char rk[] = "05K2-ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TV00";
	struct agent_ctl_writer cw;
	struct agent_ctl_msg *m;
	const uint8_t *v;
	size_t vlen;
	int n;

	(void)state;
	/* the recovery key typed at login is a secret: read by the agent, never rendered */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_ACCOUNT, "alice");
	agent_ctl_write_str(&cw, AGENT_CTL_F_SERVER, "rv.example.net");
	agent_ctl_write_secret(&cw, AGENT_CTL_F_PASSWORD, "00", 2);
	agent_ctl_write_secret(&cw, AGENT_CTL_F_RECOVERY, rk, strlen(rk));
	m = parse_ok(agent_ctl_write_end(&cw));
	v = agent_ctl_secret(m, agent_ctl_find(m, AGENT_CTL_R_ARGS, 0), AGENT_CTL_F_RECOVERY, &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, strlen(rk));
	assert_memory_equal(v, rk, vlen);
	assert_true(agent_ctl_render_json(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, "{\"schema\":1}\n");
	agent_ctl_msg_free(m);

	/* the one login reply that shows the recovery key */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_str(&cw, AGENT_CTL_F_AUTHORITY, "signer");
	agent_ctl_write_str(&cw, AGENT_CTL_F_RECOVERY_KEY, rk);
	m = parse_ok(agent_ctl_write_end(&cw));
	assert_true(agent_ctl_render_text(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, "signed in to alice.members.example.net\n"
			   "this computer created the account authority; its recovery key, shown only now:\n"
			   "  05K2-ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TV00\n"
			   "write it down and keep it safe: it enrols a computer as a signer "
			   "(autotunnel login ... --recovery-key)\n");
	agent_ctl_msg_free(m);

	/* a joining computer: the code in the login reply and in the status */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(&cw, AGENT_CTL_F_SIGNED_IN, true);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	agent_ctl_write_uint(&cw, AGENT_CTL_F_HOSTS, 2);
	agent_ctl_write_str(&cw, AGENT_CTL_F_AUTHORITY, "joining");
	agent_ctl_write_str(&cw, AGENT_CTL_F_JOIN_CODE, "MSHV-Y707");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "desktop");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_desktop);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "up");
	agent_ctl_write_ip4(&cw, AGENT_CTL_F_OUTER, pub);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_str(&cw, AGENT_CTL_F_AUTH, "cert");
	m = parse_ok(agent_ctl_write_end(&cw));
	assert_true(agent_ctl_render_text(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, "account  alice.members.example.net   (signed in, 2 hosts)\n"
			   "authority joining: run `autotunnel approve MSHV-Y707` on a signer of the account\n"
			   "peer     desktop  fd91::1   direct 198.51.100.7:4500   certificate\n");
	assert_true(agent_ctl_render_json(m, text, sizeof(text)) >= 0);
	assert_non_null(strstr(text, "\"authority\":\"joining\",\"join_code\":\"MSHV-Y707\""));
	assert_non_null(strstr(text, "\"auth\":\"cert\""));
	agent_ctl_msg_free(m);

	/* the words are an enumeration */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_AUTH, "password");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_AUTHORITY, "owner");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);

	/* approve needs the code, revoke and issue a host; renew nothing */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_APPROVE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "desktop");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REVOKE);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_ISSUE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_PKINIT, "kdc");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_ISSUE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "kdc");
	agent_ctl_write_str(&cw, AGENT_CTL_F_PKINIT, "kdc");
	agent_ctl_write_str(&cw, AGENT_CTL_F_PRINCIPAL, "ALICE.EXAMPLE");
	m = parse_ok(agent_ctl_write_end(&cw));
	assert_string_equal(agent_ctl_str(m, agent_ctl_find(m, AGENT_CTL_R_ARGS, 0), AGENT_CTL_F_PRINCIPAL),
			    "ALICE.EXAMPLE");
	agent_ctl_msg_free(m);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_ISSUE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "guest");
	agent_ctl_write_str(&cw, AGENT_CTL_F_KEY, "rsa2048");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_RENEW);
	assert_int_equal(agent_ctl_write_end(&cw), 8);

	/* their replies print the agent's sentence; an issue reply says where the files are */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_ISSUE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DETAIL, "issued kdc.alice.members.example.net for PKINIT (kdc)");
	agent_ctl_write_str(&cw, AGENT_CTL_F_OUT, "/var/lib/autotunnel/issued");
	n = agent_ctl_write_end(&cw);
	m = parse_ok(n);
	assert_true(agent_ctl_render_text(m, text, sizeof(text)) >= 0);
	assert_string_equal(text, "issued kdc.alice.members.example.net for PKINIT (kdc)\n");
	agent_ctl_msg_free(m);
	/* without its sentence a reply is refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_REVOKE);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_OUT, "/tmp");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
}

static void login_logout_error_replies(void **state)
{
	struct agent_ctl_writer cw;

	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_str(&cw, AGENT_CTL_F_DOMAIN, "alice.members.example.net");
	render_is(parse_ok(agent_ctl_write_end(&cw)), "signed in to alice.members.example.net\n", NULL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_LOGOUT);
	render_is(parse_ok(agent_ctl_write_end(&cw)), "signed out; this host's records are withdrawn\n", "{\"schema\":1}\n");
	render_is(parse_ok(agent_ctl_write_error(frame, sizeof(frame), "no such host: \"tv\"\n", ENOENT)),
		  "error: no such host: \"tv\"?\n",
		  "{\"schema\":1,\"error\":{\"message\":\"no such host: \\\"tv\\\"?\",\"errno\":2}}\n");
}

static void codes_and_names(void **state)
{
	assert_int_equal(agent_ctl_code_parse("status"), AGENT_CTL_STATUS);
	assert_int_equal(agent_ctl_code_parse("netcheck"), AGENT_CTL_NETCHECK);
	assert_int_equal(agent_ctl_code_parse("error"), 0);
	assert_int_equal(agent_ctl_code_parse("bogus"), 0);
	assert_string_equal(agent_ctl_code_name(AGENT_CTL_REPLY | AGENT_CTL_HOSTS), "hosts");
	assert_null(agent_ctl_code_name(0x42));
}

static void frame_size_bounds(void **state)
{
	size_t total;

	assert_int_equal(agent_ctl_frame_size((const uint8_t[]){ 0, 0, 0, 3 }, &total), -EBADMSG);
	assert_int_equal(agent_ctl_frame_size((const uint8_t[]){ 0, 0, 0, 4 }, &total), 0);
	assert_int_equal(total, 8);
	assert_int_equal(agent_ctl_frame_size((const uint8_t[]){ 0, 1, 0, 0 }, &total), 0);
	assert_int_equal(total, 65540);
	assert_int_equal(agent_ctl_frame_size((const uint8_t[]){ 0, 1, 0, 1 }, &total), -EBADMSG);
	assert_int_equal(agent_ctl_frame_size((const uint8_t[]){ 0xff, 0, 0, 4 }, &total), -EBADMSG);
}

static void bad(const uint8_t *f, size_t n)
{
	struct agent_ctl_msg *m = agent_ctl_msg_new();

	assert_int_equal(agent_ctl_parse(m, f, n), -EBADMSG);
	assert_int_equal(m->nrec, 0);
	agent_ctl_msg_free(m);
}

static void good(const uint8_t *f, size_t n)
{
	struct agent_ctl_msg *m = agent_ctl_msg_new();

	assert_int_equal(agent_ctl_parse(m, f, n), 0);
	agent_ctl_msg_free(m);
}

static void parser_strict(void **state)
{
	int n = status_reply(frame, sizeof(frame));
	uint8_t f[64];

	/* every truncation fails, and so does one byte more */
	for (int i = 0; i < n; i++)
		bad(frame, (size_t)i);
	frame[3]++;
	frame[n] = 0;
	bad(frame, (size_t)n + 1);

#define FR(...) do { const uint8_t b_[] = { __VA_ARGS__ }; memcpy(f, b_, sizeof(b_)); n = sizeof(b_); } while (0)
	/* a NETCHECK reply with one NET record holding port 65535: fine */
	FR(0, 0, 0, 13, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_PORT, 0, 4, 0, 0, 0xff, 0xff);
	good(f, n);
	/* port 65536 */
	FR(0, 0, 0, 13, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_PORT, 0, 4, 0, 1, 0, 0);
	bad(f, n);
	/* version 2 */
	FR(0, 0, 0, 13, 2, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_PORT, 0, 4, 0, 0, 0, 1);
	bad(f, n);
	/* unknown code, unknown record type, a record the code does not carry */
	FR(0, 0, 0, 4, 1, 0x99, 0, 0);
	bad(f, n);
	FR(0, 0, 0, 6, 1, 0x84, 0, 1, 0x77, 0);
	bad(f, n);
	FR(0, 0, 0, 6, 1, 0x84, 0, 1, AGENT_CTL_R_PEER, 0);
	bad(f, n);
	/* NETCHECK reply without its NET record, or with two */
	FR(0, 0, 0, 4, 1, 0x84, 0, 0);
	bad(f, n);
	FR(0, 0, 0, 8, 1, 0x84, 0, 2, AGENT_CTL_R_NET, 0, AGENT_CTL_R_NET, 0);
	bad(f, n);
	FR(0, 0, 0, 6, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 0);
	good(f, n);
	/* a field the record does not allow (label in NET), an unknown field, a duplicate */
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_LABEL, 0, 1, 'x');
	bad(f, n);
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, 0, 0, 1, 'x');
	bad(f, n);
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_MAX_, 0, 1, 'x');
	bad(f, n);
	FR(0, 0, 0, 14, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 2, AGENT_CTL_F_IFACE, 0, 1, 'x',
	   AGENT_CTL_F_IFACE, 0, 1, 'y');
	bad(f, n);
	/* kinds: a bool of 2, a bool of two bytes, an IPv4 of 3, an enumerated text not in its list */
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_SERVER_TLS, 0, 1, 2);
	bad(f, n);
	FR(0, 0, 0, 11, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_SERVER_TLS, 0, 2, 0, 1);
	bad(f, n);
	FR(0, 0, 0, 12, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_ADDRESS, 0, 3, 1, 2, 3);
	bad(f, n);
	FR(0, 0, 0, 12, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_NAT, 0, 3, 'n', 'a', 't');
	good(f, n);
	FR(0, 0, 0, 12, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_NAT, 0, 3, 'N', 'A', 'T');
	bad(f, n);
	/* text: printable ASCII only */
	FR(0, 0, 0, 11, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_IFACE, 0, 2, 'a', '\n');
	bad(f, n);
	FR(0, 0, 0, 11, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_IFACE, 0, 2, 'a', 0x80);
	bad(f, n);
	/* a field length past its record, nfield larger than what follows, a record count too high */
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 1, AGENT_CTL_F_IFACE, 0, 2, 'a');
	bad(f, n);
	FR(0, 0, 0, 10, 1, 0x84, 0, 1, AGENT_CTL_R_NET, 2, AGENT_CTL_F_IFACE, 0, 1, 'a');
	bad(f, n);
	FR(0, 0, 0, 6, 1, 0x84, 0, 2, AGENT_CTL_R_NET, 0);
	bad(f, n);
	/* an error reply without its message */
	FR(0, 0, 0, 6, 1, 0xff, 0, 1, AGENT_CTL_R_ERROR, 0);
	bad(f, n);
	/* a request carrying a reply's records */
	FR(0, 0, 0, 6, 1, AGENT_CTL_STATUS, 0, 1, AGENT_CTL_R_PEER, 0);
	bad(f, n);
#undef FR
}

static void long_lists_and_limits(void **state)
{
	struct agent_ctl_writer cw;
	struct agent_ctl_msg *m;
	char label[16];
	int n;

	/* 1024 hosts fit in one message; a 1025th record does not */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_HOSTS);
	for (int i = 0; i < AGENT_CTL_REC_MAX; i++) {
		snprintf(label, sizeof(label), "h%d", i);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_HOST);
		agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, label);
		agent_ctl_write_ip6(&cw, AGENT_CTL_F_ULA, ula_nas);
	}
	n = agent_ctl_write_end(&cw);
	assert_true(n > 0);
	m = parse_ok(n);
	assert_int_equal(agent_ctl_count(m, AGENT_CTL_R_HOST), AGENT_CTL_REC_MAX);
	assert_string_equal(agent_ctl_str(m, agent_ctl_find(m, AGENT_CTL_R_HOST, 1023), AGENT_CTL_F_LABEL), "h1023");
	agent_ctl_msg_free(m);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_HOSTS);
	for (int i = 0; i <= AGENT_CTL_REC_MAX; i++)
		agent_ctl_write_rec(&cw, AGENT_CTL_R_HOST);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);

	/* text of 255 characters is the longest */
	{
		char s[257];

		memset(s, 'x', 256);
		s[255] = '\0';
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
		agent_ctl_write_str(&cw, AGENT_CTL_F_DETAIL, s);
		agent_ctl_msg_free(parse_ok(agent_ctl_write_end(&cw)));
		s[255] = 'x';
		s[256] = '\0';
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
		agent_ctl_write_str(&cw, AGENT_CTL_F_DETAIL, s);
		assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	}
	/* the writer refuses what the parser would: wrong kind, field in the wrong record, duplicates */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_IFACE, 1);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_str(&cw, AGENT_CTL_F_IFACE, "eth0");	/* before any record */
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 65536);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	agent_ctl_write_begin(&cw, frame, sizeof(frame), 0x42);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
}

/* Issue 11: an IPv6 outer address (outer6, "[addr]:port") and netcheck's IPv6 line. */
static void ipv6_fields(void **state)
{
	struct agent_ctl_writer cw;
	const uint8_t peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, [15] = 2 };
	const uint8_t our6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, [15] = 2 };
	const uint8_t addr[4] = { 192, 168, 1, 2 };
	static const char *const words[] = { "answered", "no-answer", "checking", "no-address", NULL };
	static const char *const said[] = {
		"the STUN server answered over IPv6",
		"the STUN server did not answer over IPv6 (IPv6 blocked, or no route)",
		"asking the STUN server over IPv6",
		"global address (the STUN server has no IPv6 address to check it with)",
		"global address",
	};
	struct agent_ctl_msg *m;
	char want[256];

	(void)state;
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "laptop");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "up");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_OUTER6, peer6);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RTT_MS, 2);
	agent_ctl_write_str(&cw, AGENT_CTL_F_PATH, "ipv6");
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PEER);
	agent_ctl_write_str(&cw, AGENT_CTL_F_LABEL, "nas");
	agent_ctl_write_str(&cw, AGENT_CTL_F_STATE, "connecting");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_OUTER6, peer6);
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n"
		  "peer     laptop   -   ipv6 [2001:db8:b::2]:4500   rtt 2 ms\n"
		  "peer     nas      -   connecting to 2001:db8:b::2\n",
		  "{\"schema\":1,\"peers\":[{\"label\":\"laptop\",\"state\":\"up\",\"port\":4500,\"rtt_ms\":2,"
		  "\"path\":\"ipv6\",\"outer6\":\"2001:db8:b::2\"},{\"label\":\"nas\",\"state\":\"connecting\","
		  "\"outer6\":\"2001:db8:b::2\"}]}\n");

	/* ping: the same endpoint */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_PING);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_PING);
	agent_ctl_write_str(&cw, AGENT_CTL_F_HOST, "laptop.alice.members.example.net");
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_OUTER6, peer6);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_PORT, 4500);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_SENT, 1);
	agent_ctl_write_uint(&cw, AGENT_CTL_F_RECEIVED, 0);
	m = parse_ok(agent_ctl_write_end(&cw));
	assert_true(agent_ctl_render_text(m, text, sizeof(text)) >= 0);
	agent_ctl_msg_free(m);
	assert_non_null(strstr(text, "laptop.alice.members.example.net (-) via [2001:db8:b::2]:4500: 0/1 replies"));

	/* netcheck: the IPv6 line right after the primary one, for each STUN word and without one */
	for (size_t i = 0; i < 5; i++) {
		agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
		agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
		agent_ctl_write_ip4(&cw, AGENT_CTL_F_ADDRESS, addr);
		agent_ctl_write_str(&cw, AGENT_CTL_F_IFACE, "eth0");
		agent_ctl_write_ip6(&cw, AGENT_CTL_F_ADDRESS6, our6);
		if (words[i])
			agent_ctl_write_str(&cw, AGENT_CTL_F_STUN6, words[i]);
		snprintf(want, sizeof(want), "primary    192.168.1.2 on eth0\nipv6       2001:db8:a::2: %s\n"
			 "nat        unknown\nmapping    not tried yet\nserver     none (not signed in)\n", said[i]);
		render_is(parse_ok(agent_ctl_write_end(&cw)), want, NULL);
	}
	/* no global address: no line, whatever STUN over IPv6 says; an unknown word is refused */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STUN6, "no-address");
	render_is(parse_ok(agent_ctl_write_end(&cw)),
		  "primary    none (no default route: offline)\nnat        unknown\nmapping    not tried yet\n"
		  "server     none (not signed in)\n", "{\"schema\":1,\"net\":{\"stun6\":\"no-address\"}}\n");
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_str(&cw, AGENT_CTL_F_STUN6, "lookup-failed");
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
	/* outer6 belongs to peers and pings, address6 to netcheck */
	agent_ctl_write_begin(&cw, frame, sizeof(frame), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_NET);
	agent_ctl_write_ip6(&cw, AGENT_CTL_F_OUTER6, peer6);
	assert_int_equal(agent_ctl_write_end(&cw), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_roundtrip_and_render),
		cmocka_unit_test(writer_exact_space),
		cmocka_unit_test(status_states),
		cmocka_unit_test(hosts_services_ping),
		cmocka_unit_test(netcheck),
		cmocka_unit_test(netcheck_stun),
		cmocka_unit_test(relay_lines),
		cmocka_unit_test(status_server_health),
		cmocka_unit_test(status_server_lost_since),
		cmocka_unit_test(login_request_secret),
		cmocka_unit_test(login_logout_error_replies),
		cmocka_unit_test(authority_messages),
		cmocka_unit_test(codes_and_names),
		cmocka_unit_test(frame_size_bounds),
		cmocka_unit_test(parser_strict),
		cmocka_unit_test(long_lists_and_limits),
		cmocka_unit_test(ipv6_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
