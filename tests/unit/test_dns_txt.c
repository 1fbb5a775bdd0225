/* lib/dns/txt: character-strings (RFC 1035 §3.3.14) and the one-spelling text pieces of our TXT records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/txt.h"

static void put_get(void **state)
{
	uint8_t buf[600], out[2];
	char s[256], big[257];
	struct wire w;

	(void)state;
	memset(big, 'a', sizeof(big));
	w = wire_writer(buf, sizeof(buf));
	dns_txt_put(&w, "ab c", 4);
	dns_txt_put(&w, "", 0);
	dns_txt_put(&w, big, 255);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(wire_offset(&w), 1 + 4 + 1 + 1 + 255);
	assert_memory_equal(buf, "\x04" "ab c" "\x00" "\xff", 7);

	w = wire_reader(buf, wire_offset(&w));
	assert_int_equal(dns_txt_get(&w, s), 4);
	assert_string_equal(s, "ab c");
	assert_int_equal(dns_txt_get(&w, s), 0);
	assert_string_equal(s, "");
	assert_int_equal(dns_txt_get(&w, s), 255);
	assert_int_equal(strlen(s), 255);
	assert_int_equal(wire_avail(&w), 0);
	/* past the end */
	assert_int_equal(dns_txt_get(&w, s), -EBADMSG);
	assert_string_equal(s, "");

	/* 256 bytes do not fit the length byte: the cursor carries -EINVAL */
	w = wire_writer(buf, sizeof(buf));
	dns_txt_put(&w, big, 256);
	assert_int_equal(wire_err(&w), -EINVAL);
	/* no room: the cursor's own error */
	w = wire_writer(out, sizeof(out));
	dns_txt_put(&w, "ab", 2);
	assert_true(wire_err(&w) < 0 && wire_err(&w) != -EINVAL);
}

static void get_refuses(void **state)
{
	char s[256];
	struct wire w;

	(void)state;
	/* a length one past the data */
	w = wire_reader((const uint8_t *)"\x03" "ab", 3);
	assert_int_equal(dns_txt_get(&w, s), -EBADMSG);
	/* the edges of printable ASCII */
	w = wire_reader((const uint8_t *)"\x02\x20\x7e", 3);
	assert_int_equal(dns_txt_get(&w, s), 2);
	w = wire_reader((const uint8_t *)"\x02" "a\x1f", 3);
	assert_int_equal(dns_txt_get(&w, s), -EBADMSG);
	w = wire_reader((const uint8_t *)"\x02" "a\x7f", 3);
	assert_int_equal(dns_txt_get(&w, s), -EBADMSG);
	w = wire_reader((const uint8_t *)"\x01\x00", 2);
	assert_int_equal(dns_txt_get(&w, s), -EBADMSG);
}

static void decimal(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(dns_txt_decimal("0", 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(dns_txt_decimal("65535", 65535, &v), 0);
	assert_true(v == 65535);
	assert_int_equal(dns_txt_decimal("65536", 65535, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(dns_txt_decimal("18446744073709551616", UINT64_MAX, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("000000000000000000001", UINT64_MAX, &v), -EBADMSG);
	/* one spelling: no leading zeros, signs, spaces or empty strings */
	v = 7;
	assert_int_equal(dns_txt_decimal("01", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("00", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("+1", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("-1", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("1 ", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("", 10, &v), -EBADMSG);
	assert_int_equal(dns_txt_decimal("1a", 10, &v), -EBADMSG);
	assert_true(v == 7);
}

static void hex(void **state)
{
	static const uint8_t bytes[4] = { 0x00, 0x9a, 0xf0, 0xff };
	uint8_t out[4];
	char s[9];

	(void)state;
	dns_txt_hex_put(s, bytes, sizeof(bytes));
	assert_string_equal(s, "009af0ff");
	assert_int_equal(dns_txt_hex(s, out, sizeof(out)), 0);
	assert_memory_equal(out, bytes, sizeof(bytes));
	/* lower case only, exact length */
	assert_int_equal(dns_txt_hex("009AF0FF", out, 4), -EBADMSG);
	assert_int_equal(dns_txt_hex("009af0f", out, 4), -EBADMSG);
	assert_int_equal(dns_txt_hex("009af0fff", out, 4), -EBADMSG);
	assert_int_equal(dns_txt_hex("009af0fg", out, 4), -EBADMSG);
	dns_txt_hex_put(s, bytes, 0);
	assert_string_equal(s, "");
}

static void tokens_and_values(void **state)
{
	char s[64], *tok[DNS_TXT_TOKENS];

	(void)state;
	strcpy(s, "at-x=1 gen=5");
	assert_int_equal(dns_txt_tokens(s, tok), 2);
	assert_string_equal(tok[0], "at-x=1");
	assert_string_equal(tok[1], "gen=5");
	assert_string_equal(dns_txt_value(tok[1], "gen"), "5");
	assert_null(dns_txt_value(tok[1], "ge"));
	assert_null(dns_txt_value(tok[1], "gen5"));
	assert_string_equal(dns_txt_value("k=", "k"), "");

	strcpy(s, "a b c d e f g h");
	assert_int_equal(dns_txt_tokens(s, tok), DNS_TXT_TOKENS);
	assert_string_equal(tok[7], "h");
	strcpy(s, "a b c d e f g h i");
	assert_int_equal(dns_txt_tokens(s, tok), -EBADMSG);
	/* single spaces only, none leading or trailing */
	strcpy(s, "a  b");
	assert_int_equal(dns_txt_tokens(s, tok), -EBADMSG);
	strcpy(s, " a");
	assert_int_equal(dns_txt_tokens(s, tok), -EBADMSG);
	strcpy(s, "a ");
	assert_int_equal(dns_txt_tokens(s, tok), -EBADMSG);
	strcpy(s, "");
	assert_int_equal(dns_txt_tokens(s, tok), -EBADMSG);
}

static void version(void **state)
{
	(void)state;
	assert_int_equal(dns_txt_version("at-x=1", "at-x"), 0);
	assert_int_equal(dns_txt_version("at-x=1 gen=2", "at-x"), 0);
	/* a later format */
	assert_int_equal(dns_txt_version("at-x=2 whatever", "at-x"), -EPROTONOSUPPORT);
	assert_int_equal(dns_txt_version("at-x=4294967295", "at-x"), -EPROTONOSUPPORT);
	assert_int_equal(dns_txt_version("at-x=4294967296", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-x=10000000000", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-x=01", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-x=", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-x= 1", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-y=1", "at-x"), -EBADMSG);
	assert_int_equal(dns_txt_version("at-xx=1", "at-x"), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get),
		cmocka_unit_test(get_refuses),
		cmocka_unit_test(decimal),
		cmocka_unit_test(hex),
		cmocka_unit_test(tokens_and_values),
		cmocka_unit_test(version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
