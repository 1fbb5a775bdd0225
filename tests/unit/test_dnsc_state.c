/* lib/dnsc/state: the account state file, the login secret, servers and pins. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dnsc/state.h"

static const char FILE1[] =
	"autotunnel-account 1\n"
	"domain alice.members.example.net\n"
	"host laptop\n"
	"server 198.51.100.53:853\n"
	"pin 98:60:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:1f:20:21:22:23:24:25:26:27\n"
	"tsig-key YXV0b3R1bm5lbCB0ZXN0IGtleSAzMiBieXRlcyEhISE=\n"
	"ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=\n";

static void test_roundtrip(void **state)
{
	struct dnsc_state s, s2;
	char buf[DNSC_STATE_FILE_MAX];
	int n;

	(void)state;
	assert_int_equal(dnsc_state_parse(&s, (const uint8_t *)FILE1, strlen(FILE1)), 0);
	assert_string_equal(s.domain, "alice.members.example.net");
	assert_string_equal(s.host, "laptop");
	assert_string_equal(s.server, "198.51.100.53:853");
	assert_string_equal(s.update_server, "");
	assert_string_equal(s.ca, "");
	assert_memory_equal(s.tsig_key, "autotunnel test key 32 bytes!!!!", 32);
	assert_memory_equal(s.ike_key, "another key, another password!!!", 32);
	n = dnsc_state_format(&s, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(FILE1));
	assert_string_equal(buf, FILE1);

	/* every optional line */
	strcpy(s.update_server, "rv.example.net:8853");
	strcpy(s.llq_server, "[2001:db8::1]:853");
	strcpy(s.parent, "192.0.2.53:53");
	s.pin[0] = '\0';
	strcpy(s.ca, "/etc/autotunnel/ca.pem");
	n = dnsc_state_format(&s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(dnsc_state_parse(&s2, (const uint8_t *)buf, (size_t)n), 0);
	assert_string_equal(s2.update_server, "rv.example.net:8853");
	assert_string_equal(s2.llq_server, "[2001:db8::1]:853");
	assert_string_equal(s2.parent, "192.0.2.53:53");
	assert_string_equal(s2.ca, "/etc/autotunnel/ca.pem");
	assert_memory_equal(s2.tsig_key, s.tsig_key, 32);
	/* too small a buffer */
	assert_int_equal(dnsc_state_format(&s, buf, 40), -ENOSPC);
	dnsc_state_wipe(&s);
	assert_string_equal(s.domain, "");
}

static void bad(const char *from, const char *to)
{
	char buf[DNSC_STATE_FILE_MAX];
	const char *p = strstr(FILE1, from);
	struct dnsc_state s;

	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - FILE1), FILE1, to, p + strlen(from));
	assert_int_equal(dnsc_state_parse(&s, (const uint8_t *)buf, strlen(buf)), -EBADMSG);
	assert_string_equal(s.domain, "");
}

static void test_strict(void **state)
{
	struct dnsc_state s;

	(void)state;
	bad("autotunnel-account 1", "autotunnel-account 2");
	bad("domain alice", "domain Alice");
	bad("domain alice.members.example.net", "domain alice");
	bad("host laptop", "host -laptop");
	bad("host laptop\n", "host laptop\nhost desktop\n");
	/* the parent line: a HOST[:PORT], after the server lines and before the pin */
	bad("server 198.51.100.53:853\n", "server 198.51.100.53:853\nparent 192.0.2.53:x\n");
	bad("server 198.51.100.53:853\n", "server 198.51.100.53:853\nparent \n");
	bad("server 198.51.100.53:853", "server 198.51.100.53:0");
	bad("server 198.51.100.53:853", "server bad host");
	bad("pin 98", "pin 9");
	bad("tsig-key YXV0", "tsig-key YXV");
	bad("ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=", "ike-key YWJj");
	bad("ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=\n",
	    "ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=\nextra\n");
	bad("ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=\n", "ike-key YW5vdGhlciBrZXksIGFub3RoZXIgcGFzc3dvcmQhISE=");
	bad("host laptop\nserver", "server 1.2.3.4\nhost laptop\nserver");
	bad("domain", "domain  ");
	/* a file cut anywhere is refused */
	for (size_t n = 0; n < strlen(FILE1); n++)
		assert_int_equal(dnsc_state_parse(&s, (const uint8_t *)FILE1, n), -EBADMSG);
}

static void test_keys_secret(void **state)
{
	uint8_t t[32], i[32], t2[32], i2[32];
	char sec[DNSC_KEYS_SECRET_LEN + 1];

	(void)state;
	for (int k = 0; k < 32; k++) {
		t[k] = (uint8_t)(k * 7);
		i[k] = (uint8_t)(255 - k);
	}
	dnsc_keys_encode(sec, t, i);
	assert_int_equal(strlen(sec), DNSC_KEYS_SECRET_LEN);
	assert_memory_equal(sec, "00070e15", 8);
	assert_memory_equal(sec + 64, "fffefdfc", 8);
	/* no NUL inside: the control protocol's secret field forbids it */
	assert_null(memchr(sec, 0, DNSC_KEYS_SECRET_LEN));
	assert_int_equal(dnsc_keys_decode((const uint8_t *)sec, strlen(sec), t2, i2), 0);
	assert_memory_equal(t, t2, 32);
	assert_memory_equal(i, i2, 32);
	sec[10] = 'G';
	assert_int_equal(dnsc_keys_decode((const uint8_t *)sec, strlen(sec), t2, i2), -EINVAL);
	assert_int_equal(t2[0], 0);
	assert_int_equal(dnsc_keys_decode((const uint8_t *)"secret", 6, t2, i2), -EINVAL);
	sec[10] = 'A';	/* lower case only: what the CLI writes */
	assert_int_equal(dnsc_keys_decode((const uint8_t *)sec, strlen(sec), t2, i2), -EINVAL);
	assert_int_equal(dnsc_keys_decode((const uint8_t *)sec, strlen(sec) - 1, t2, i2), -EINVAL);
}

static void test_server(void **state)
{
	char h[256];
	uint16_t p;

	(void)state;
	assert_int_equal(dnsc_server_parse("198.51.100.53", h, sizeof(h), &p, 853), 0);
	assert_string_equal(h, "198.51.100.53");
	assert_int_equal(p, 853);
	assert_int_equal(dnsc_server_parse("rv.example.net:8853", h, sizeof(h), &p, 853), 0);
	assert_string_equal(h, "rv.example.net");
	assert_int_equal(p, 8853);
	assert_int_equal(dnsc_server_parse("[2001:db8::1]:53", h, sizeof(h), &p, 853), 0);
	assert_string_equal(h, "2001:db8::1");
	assert_int_equal(p, 53);
	assert_int_equal(dnsc_server_parse("2001:db8::1", h, sizeof(h), &p, 853), 0);
	assert_string_equal(h, "2001:db8::1");
	assert_int_equal(p, 853);
	assert_int_equal(dnsc_server_parse("x:65536", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("x:", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("x:-1", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse(":53", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("[rv]:53", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("[::1]x", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("a b", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("", h, sizeof(h), &p, 853), -EINVAL);
	assert_int_equal(dnsc_server_parse("rv.example.net", h, 5, &p, 853), -EINVAL);
}

static void test_pin(void **state)
{
	enum dnsc_pin_kind k;
	uint8_t d[32];

	(void)state;
	/* what autotunnel-dnsd logs: the fingerprint with colons, and the SPKI pin in base64 */
	assert_int_equal(dnsc_pin_parse("98:60:0A:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:1f:20:21:22:23:24:25:26:27",
					&k, d), 0);
	assert_int_equal(k, DNSC_PIN_HEX);
	assert_int_equal(d[0], 0x98);
	assert_int_equal(d[2], 0x0a);
	assert_int_equal(d[31], 0x27);
	assert_int_equal(dnsc_pin_parse("98600a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627", &k, d), 0);
	assert_int_equal(k, DNSC_PIN_HEX);
	assert_int_equal(dnsc_pin_parse("2fBCuIBdtZ2TFDavWp7Q0E+u/Z56JtiWcOm3UBu02Ec=", &k, d), 0);
	assert_int_equal(k, DNSC_PIN_SPKI_B64);
	assert_int_equal(d[0], 0xd9);
	assert_int_equal(dnsc_pin_parse("98600a", &k, d), -EINVAL);
	assert_int_equal(dnsc_pin_parse("98600a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728", &k, d), -EINVAL);
	assert_int_equal(dnsc_pin_parse(":98600a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627", &k, d), -EINVAL);
	assert_int_equal(dnsc_pin_parse("9:8600a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627", &k, d), -EINVAL);
	assert_int_equal(dnsc_pin_parse("zz600a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627", &k, d), -EINVAL);
	assert_int_equal(k, DNSC_PIN_NONE);
	assert_int_equal(dnsc_pin_parse("!!BCuIBdtZ2TFDavWp7Q0E+u/Z56JtiWcOm3UBu02Ec=", &k, d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_keys_secret),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
