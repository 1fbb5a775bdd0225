/*
 * autotunneld's static-peer settings (src/autotunneld/config.c): a complete
 * file, manual keys, selectors, and every mistake reported with its line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "autotunneld/config.h"
#include "ike/types.h"

#define K1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
#define K2 "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122ee"

static struct atd_conf c;

static int load(const char *text, char *err, size_t errlen)
{
	int ret;

	atd_conf_free(&c);
	atd_conf_init(&c);
	ret = conf_load_string(&atd_schema, &c, "t.conf", text, err, errlen);
	if (ret == 0)
		ret = atd_conf_check(&c, err, errlen);
	return ret;
}

static void full_file(void **state)
{
	char err[256] = "";
	uint8_t want[36];

	assert_int_equal(load("[tunnel]\nula = fd00:a::1\nipv4 = 192.168.77.1\nmtu = 1420\n"
			      "[peer b]\nremote = 192.0.2.2\nremote-ts = fd00:b::1/128, 192.168.77.2/32\n"
			      "spi-in = 0x1001\nspi-out = 4098\nkey-in = " K1 "\nkey-out = " K2 "\n"
			      "cipher = chacha20poly1305\nesn = no\nkeepalive = 20\n"
			      "[peer c]\nremote = 198.51.100.7:61001\nremote-id = c.example.net\n"
			      "local-id = a.example.net\npsk-file = /x\nremote-ts = fd00:c::1\nconnect = no\n"
			      "rekey = 2\ndpd = 5\n", err, sizeof(err)), 0);
	assert_int_equal(c.mtu, 1420);
	assert_int_equal(c.npeers, 2);
	assert_string_equal(c.peers[0].name, "b");
	assert_true(c.peers[0].manual);
	assert_int_equal(c.peers[0].spi_in, 0x1001);
	assert_int_equal(c.peers[0].spi_out, 4098);
	assert_int_equal(ntohs(c.peers[0].remote.sin.sin_port), 4500);	/* the default port */
	assert_int_equal(c.peers[0].cipher, ESP_CIPHER_CHACHA20_POLY1305);
	assert_false(c.peers[0].esn);
	assert_int_equal(c.peers[0].n_remote_ts, 2);
	assert_int_equal(c.peers[0].remote_ts[1].family, AF_INET);
	/* local selectors default to our own addresses */
	assert_int_equal(c.peers[0].n_local_ts, 2);
	for (int i = 0; i < 36; i++)
		want[i] = (uint8_t)i;
	assert_memory_equal(c.peers[0].key_in, want, 36);
	assert_false(c.peers[1].manual);
	assert_false(c.peers[1].connect);
	assert_true(c.peers[0].connect);
	assert_int_equal(ntohs(c.peers[1].remote.sin.sin_port), 61001);
	assert_int_equal(c.peers[1].rekey_s, 2);
	assert_int_equal(c.peers[1].dpd_s, 5);
	assert_int_equal(c.peers[1].remote_ts[0].family, AF_INET6);
}

static void mistakes(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nspi-in = 255\n", "t.conf:4: spi-in: a number from 256" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nkey-in = 0011\n", "t.conf:4: key-in: 72 hex digits" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::/64\n", "t.conf:4: remote-ts: 'fd00:b::/64' is not" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::1, fd00:b::2\n", "t.conf:4: remote-ts: one selector per" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote = 192.0.2.2:0\n", "t.conf:4: remote: '192.0.2.2:0'" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\ncipher = aes128cbc\n", "t.conf:4: cipher:" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b b]\nremote = 192.0.2.2\n", "t.conf:4: bad peer name 'b b'" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\ncolour = blue\n", "t.conf:4: unknown key 'colour' in section [peer b]" },
		{ "[tunnel]\nula = fd00:a::1\n[gateway]\nx = 1\n", "t.conf:3: unknown section [gateway]" },
		/* issue 15: a misspelt section is an error even with no key under it, and so is a missing ']' */
		{ "[tunel]\n", "t.conf:1: unknown section [tunel]" },
		{ "[agent]\nhostname = a\n\n[tunel]\nmtu = 1400\n", "t.conf:4: unknown section [tunel]" },
		{ "[tunnel\nmtu = 1400\n", "t.conf:1: missing ']' in the section header '[tunnel'" },
		{ "[tunnel]\nmtu = 1000\n", "t.conf:2:" },
		{ "[tunnel]\nula = 192.0.2.1\n[peer b]\nremote-ts = fd00:b::1\n", "[tunnel] ula:" },
		{ "[tunnel]\nula = fd00:a::1\n", "no [peer NAME] section" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::1\nspi-in = 4096\n",
		  "[peer b]: manual keying needs spi-in, spi-out, key-in and key-out" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::1\n",
		  "[peer b]: IKE needs psk-file, remote-id and local-id" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote = 192.0.2.2\n",
		  "[peer b]: remote-ts (the peer's inner /128 or /32) is required" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::1\nlocal-ts = fd00:a::2\n",
		  "[peer b]: local-ts must be this host's ula or ipv4" },
		{ "[tunnel]\nula = fd00:a::1\nnative-esp = maybe\n", "t.conf:3:" },
		{ "[rsip]\nspis = 9\n", "t.conf:2:" },
		{ "[rsip]\nlease = -1\n", "t.conf:2:" },
		{ "[tunnel]\nula = fd00:a::1\n[rsip]\ngateway = router.lan\n[peer b]\nremote-ts = fd00:b::1\n",
		  "[rsip] gateway: 'router.lan' is neither an IPv4 address nor auto" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load(bad[i].text, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].msg);
	}
}

/* RFC 3104: borrowing Nb from an RSIP gateway; native ESP for the peers that may have it */
static void rsip_and_native(void **state)
{
	char err[256] = "";
	static const char *const gws[] = { "192.168.1.1", "auto" };

	for (int i = 0; i < 2; i++) {
		char text[512];

		snprintf(text, sizeof(text), "[tunnel]\nula = fd00:a::1\nnative-esp = yes\n[rsip]\ngateway = %s\n"
			 "lease = 120\nspis = 2\n[peer y]\nremote = 198.51.100.7:500\nremote-id = y.example.net\n"
			 "local-id = x.example.net\npsk-file = /x\nremote-ts = fd00:9::1\n", gws[i]);
		assert_int_equal(load(text, err, sizeof(err)), 0);
		assert_true(c.native_esp);
		assert_string_equal(c.rsip_gateway, gws[i]);
		assert_int_equal(c.rsip_lease, 120);
		assert_int_equal(c.rsip_spis, 2);
		assert_int_equal(ntohs(c.peers[0].remote.sin.sin_port), 500);
	}
	/* neither is on unless asked for */
	assert_int_equal(load("[tunnel]\nula = fd00:a::1\n[peer b]\nremote-ts = fd00:b::1\nremote-id = b.example.net\n"
			      "local-id = a.example.net\npsk-file = /x\n", err, sizeof(err)), 0);
	assert_false(c.native_esp);
	assert_null(c.rsip_gateway);
	(void)state;
}

#define IKEPEER(name) "[peer " name "]\nremote-ts = fd00:b::1\nremote-id = b.example.net\nlocal-id = a.example.net\n"

/* IKE's ESP transforms (RFC 8221 §5) and certificate credentials (RFC 7427), per peer and from [tunnel] */
static void ike_esp_and_certs(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "psk-file = /x\nesp = aes256gcm16, aes128cbc\n",
		  "t.conf:8: esp: unknown transform 'aes128cbc'" },
		{ "[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "esp = ,\n", "t.conf:7: esp: empty list" },
		{ "[tunnel]\nula = fd00:a::1\nesp = des\n" IKEPEER("b") "psk-file = /x\n",
		  "[tunnel] esp: unknown transform 'des'" },
		{ "[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "psk-file = /x\ncert = /c\nkey = /k\nca = /a\n",
		  "[peer b]: psk-file and cert/key/ca both given" },
		{ "[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "cert = /c\nkey = /k\n",
		  "[peer b]: certificate authentication needs cert, key and ca" },
		{ "[tunnel]\nula = fd00:a::1\n[peer b]\nremote = 192.0.2.2\nremote-ts = fd00:b::1\nspi-in = 4096\n"
		  "spi-out = 4097\nkey-in = " K1 "\nkey-out = " K2 "\nesp = aes128gcm16\n",
		  "[peer b]: esp, cert, key and ca are for IKE" },
		{ "[tunnel]\nula = fd00:a::1\n" IKEPEER("b"), "[peer b]: IKE needs psk-file" },
	};
	char err[256] = "";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load(bad[i].text, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].msg);
	}
	/* per peer; defaults from [tunnel]; a peer with psk-file keeps it and the default transforms */
	assert_int_equal(load("[tunnel]\nula = fd00:a::1\nesp = aes128-sha256 aes256-sha256\ncert = /tc\n"
			      "key = /tk\nca = /ta\n"
			      IKEPEER("b") "esp = aes256gcm16, aes128gcm16, aes128-sha256, chacha20poly1305\n"
			      IKEPEER("c") "ca = /other-ca\n"
			      IKEPEER("d") "psk-file = /x\n", err, sizeof(err)), 0);
	assert_int_equal(c.peers[0].esp_algs, IKE_ESP_AES256GCM16 | IKE_ESP_AES128GCM16 |
			 IKE_ESP_AES128CBC_SHA256 | IKE_ESP_CHACHA20POLY1305);
	assert_string_equal(c.peers[0].cert_file, "/tc");
	assert_int_equal(c.peers[1].esp_algs, IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256CBC_SHA256);
	assert_string_equal(c.peers[1].key_file, "/tk");
	assert_string_equal(c.peers[1].ca_file, "/other-ca");
	assert_string_equal(c.peers[2].psk_file, "/x");
	assert_null(c.peers[2].cert_file);
	assert_int_equal(c.peers[2].esp_algs, IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256CBC_SHA256);
	/* nothing said: lib/ike's default (0) */
	assert_int_equal(load("[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "psk-file = /x\n", err, sizeof(err)), 0);
	assert_int_equal(c.peers[0].esp_algs, 0);
}

/* issue 15: no [peer] and no ula (a bare autotunneld, or a file with only [tunnel] keys): account mode */
static void account_mode_by_default(void **state)
{
	char err[256] = "";

	assert_int_equal(load("", err, sizeof(err)), 0);
	assert_true(c.agent_mode);
	assert_string_equal(c.state_dir, "/var/lib/autotunnel");
	assert_string_equal(c.control, "/run/autotunnel/control");
	assert_int_equal(load("[tunnel]\nmtu = 1380\n", err, sizeof(err)), 0);
	assert_true(c.agent_mode);
	/* a ULA without peers is still a mistake, not account mode */
	assert_int_equal(load("[tunnel]\nula = fd00:a::1\n", err, sizeof(err)), -EINVAL);
	assert_false(c.agent_mode);
	(void)state;
}

static void selectors(void **state)
{
	struct atd_ts ts;

	assert_int_equal(atd_ts_parse("fd00::1", &ts), 0);
	assert_int_equal(ts.family, AF_INET6);
	assert_int_equal(atd_ts_parse("fd00::1/128", &ts), 0);
	assert_int_equal(atd_ts_parse("fd00::1/127", &ts), -EINVAL);
	assert_int_equal(atd_ts_parse("192.0.2.1/32", &ts), 0);
	assert_int_equal(ts.family, AF_INET);
	assert_int_equal(atd_ts_parse("192.0.2.1/31", &ts), -EINVAL);
	assert_int_equal(atd_ts_parse("192.0.2.1/32x", &ts), -EINVAL);
	assert_int_equal(atd_ts_parse("host.example", &ts), -EINVAL);
}

static int teardown(void **state)
{
	atd_conf_free(&c);
	return 0;
}

/* Outer IPv6: a peer's endpoint as [IPV6]:PORT, [IPV6] or a bare IPv6 literal (RFC 3986 §3.2.2 brackets) */
static void endpoints_v6(void **state)
{
	static const struct { const char *v; int family; const char *ip; unsigned port; } good[] = {
		{ "[2001:db8::2]:4501", AF_INET6, "2001:db8::2", 4501 },
		{ "[2001:db8::2]", AF_INET6, "2001:db8::2", 4500 },
		{ "2001:db8::2", AF_INET6, "2001:db8::2", 4500 },
		/* a bare literal has no port: the last group is part of the address */
		{ "2001:db8::2:4500", AF_INET6, "2001:db8::2:4500", 4500 },
		{ "192.0.2.2", AF_INET, "192.0.2.2", 4500 },
		{ "192.0.2.2:65535", AF_INET, "192.0.2.2", 65535 },
	};
	static const struct { const char *v, *msg; } bad[] = {
		{ "[2001:db8::2]:0", "the port must be a number from 1 to 65535" },
		{ "[2001:db8::2]:65536", "the port must be" },
		{ "[2001:db8::2", "'[' without ']'" },
		{ "[2001:db8::2]4500", "only ':PORT' may follow ']'" },
		{ "[192.0.2.2]:4500", "'192.0.2.2' is not an IPv6 address" },
		{ "2001:db8::zz", "not an IPv6 address (write [IPV6]:PORT" },
		{ "fe80::1", "not a unicast address a peer can have" },
		{ "::ffff:192.0.2.2", "not a unicast address" },
		{ "[ff02::1]:4500", "not a unicast address" },
		{ "::", "not a unicast address" },
		{ "0.0.0.0", "not a unicast address" },
		{ "192.0.2.256", "'192.0.2.256' is not an IPv4 address" },
		{ "host.example:4500", "is not an IPv4 address" },
	};
	char err[256] = "", text[512], ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const union dp_addr *r;

		snprintf(text, sizeof(text), "[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "psk-file = /x\nendpoint = %s\n",
			 good[i].v);
		if (load(text, err, sizeof(err)))
			fail_msg("case %zu (%s): %s", i, good[i].v, err);
		r = &c.peers[0].remote;
		assert_true(c.peers[0].has_remote);
		assert_int_equal(r->sa.sa_family, good[i].family);
		assert_non_null(inet_ntop(good[i].family, good[i].family == AF_INET6 ? (const void *)&r->sin6.sin6_addr
					  : (const void *)&r->sin.sin_addr, ip, sizeof(ip)));
		assert_string_equal(ip, good[i].ip);
		assert_int_equal(dp_addr_port(r), good[i].port);
	}
	/* "remote" takes the same forms */
	assert_int_equal(load("[tunnel]\nula = fd00:a::1\n" IKEPEER("b") "psk-file = /x\nremote = [2001:db8::7]:61001\n",
			      err, sizeof(err)), 0);
	assert_int_equal(c.peers[0].remote.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(c.peers[0].remote.sin6.sin6_port), 61001);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];

		snprintf(text, sizeof(text), "[tunnel]\nula = fd00:a::1\n[peer b]\nendpoint = %s\n", bad[i].v);
		err[0] = '\0';
		assert_int_equal(load(text, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "t.conf:4: endpoint: '%s': ", bad[i].v);
		if (!strstr(err, want) || !strstr(err, bad[i].msg) || !strstr(err, "(IPV4[:PORT], IPV6 or [IPV6]:PORT)"))
			fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, want, bad[i].msg);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_file),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(selectors),
		cmocka_unit_test(account_mode_by_default),
		cmocka_unit_test(rsip_and_native),
		cmocka_unit_test(ike_esp_and_certs),
		cmocka_unit_test(endpoints_v6),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
