/* lib/dns/name: wire and text forms, compression pointers, limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns_test_util.h"

#include "dns/name.h"

static void text_roundtrip(void **state)
{
	struct dns_name n;
	char buf[DNS_NAME_TEXT_MAX];
	static const uint8_t www[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0 };

	n = N("www.example.com");
	assert_int_equal(n.len, sizeof(www));
	assert_int_equal(n.labels, 3);
	assert_memory_equal(n.wire, www, sizeof(www));
	n = N("www.example.com.");
	assert_memory_equal(n.wire, www, sizeof(www));
	assert_int_equal(dns_name_to_text(&n, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "www.example.com.");

	n = N(".");
	assert_int_equal(n.len, 1);
	assert_int_equal(n.labels, 0);
	assert_true(dns_name_is_root(&n));
	assert_int_equal(dns_name_to_text(&n, buf, sizeof(buf)), 1);
	assert_string_equal(buf, ".");

	/* escapes: \. inside a label, \\ and \DDD */
	n = N("a\\.b.c\\\\d.\\000\\255x");
	assert_int_equal(n.labels, 3);
	assert_int_equal(n.wire[0], 3);
	assert_memory_equal(n.wire + 1, "a.b", 3);
	assert_int_equal(n.wire[4], 3);
	assert_memory_equal(n.wire + 5, "c\\d", 3);
	assert_int_equal(n.wire[8], 3);
	assert_int_equal(n.wire[9], 0);
	assert_int_equal(n.wire[10], 255);
	assert_int_equal(n.wire[11], 'x');
	assert_int_equal(dns_name_to_text(&n, buf, sizeof(buf)), (int)strlen("a\\.b.c\\\\d.\\000\\255x."));
	assert_string_equal(buf, "a\\.b.c\\\\d.\\000\\255x.");
	{
		struct dns_name back = N(buf);

		assert_true(dns_name_equal(&back, &n));
		assert_memory_equal(back.wire, n.wire, n.len);
	}
	/* \X for a plain character is that character */
	n = N("\\a\\-b");
	assert_int_equal(n.wire[0], 3);
	assert_memory_equal(n.wire + 1, "a-b", 3);

	/* bad syntax */
	assert_int_equal(dns_name_from_text(&n, ""), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, ".."), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, ".a"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a..b"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a\\"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a\\25"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a\\256"), -EINVAL);

	/* the output buffer bound: "a." needs 3 bytes */
	n = N("a");
	assert_int_equal(dns_name_to_text(&n, buf, 3), 2);
	assert_int_equal(dns_name_to_text(&n, buf, 2), -ENOSPC);
}

/* A name of @p total wire bytes made of 63-byte labels and one shorter one. */
static void make_text(char *out, size_t total)
{
	size_t left = total - 1, o = 0;	/* minus the root label */

	while (left) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (left - 1 - l == 1)
			l--;	/* never leave a lone length byte */
		memset(out + o, 'x', l);
		o += l;
		left -= l + 1;
		if (left)
			out[o++] = '.';
	}
	out[o] = 0;
}

static void limits(void **state)
{
	struct dns_name n;
	char t[600];
	uint8_t w[300];

	/* a 63-byte label is accepted, a 64-byte one is not (text) */
	memset(t, 'a', 63);
	strcpy(t + 63, ".b");
	assert_int_equal(dns_name_from_text(&n, t), 0);
	assert_int_equal(n.wire[0], 63);
	memset(t, 'a', 64);
	strcpy(t + 64, ".b");
	assert_int_equal(dns_name_from_text(&n, t), -EMSGSIZE);

	/* 255 bytes in wire form accepted, 256 not (text) */
	make_text(t, 255);
	assert_int_equal(dns_name_from_text(&n, t), 0);
	assert_int_equal(n.len, 255);
	make_text(t, 256);
	assert_int_equal(dns_name_from_text(&n, t), -EMSGSIZE);

	/* the same bounds in wire form */
	memset(w, 'a', sizeof(w));
	w[0] = 63;
	w[64] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 65), 0);
	assert_int_equal(n.len, 65);
	w[0] = 64;	/* 0x40: a reserved label type, not a length */
	assert_int_equal(dns_name_from_wire(&n, w, 65), -EBADMSG);
	w[0] = 0x80;
	assert_int_equal(dns_name_from_wire(&n, w, 65), -EBADMSG);

	/* 4 labels of 63 = 256 bytes, then root = 257: too long; with 3 of 63 and one of 61: 255 */
	for (int i = 0; i < 4; i++) {
		w[i * 64] = 63;
		memset(w + i * 64 + 1, 'b', 63);
	}
	w[192] = 61;
	w[254] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 255), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.labels, 4);
	w[192] = 62;
	w[255] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 256), -EBADMSG);

	/* trailing bytes or a missing root label */
	w[0] = 1;
	w[1] = 'a';
	w[2] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 3), 0);
	assert_int_equal(dns_name_from_wire(&n, w, 4), -EBADMSG);
	assert_int_equal(dns_name_from_wire(&n, w, 2), -EBADMSG);
	/* pointers are not allowed in stored names */
	w[0] = 0xc0;
	w[1] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 2), -EBADMSG);

	/* to_text: the longest escaped name fits DNS_NAME_TEXT_MAX */
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 4; i++)
		w[i * 64] = i < 3 ? 63 : 61;
	w[254] = 0;
	assert_int_equal(dns_name_from_wire(&n, w, 255), 0);
	{
		char big[DNS_NAME_TEXT_MAX];

		assert_int_equal(dns_name_to_text(&n, big, sizeof(big)), 250 * 4 + 4);
		assert_int_equal(dns_name_from_text(&n, big), 0);
		assert_int_equal(n.len, 255);
	}
}

/*
 * RFC 1035 §4.1.4: F.ISI.ARPA at offset 20, FOO.F.ISI.ARPA at 40 as FOO and
 * a pointer to 20, ARPA at 64 as a pointer to 26, the root at 92.
 */
static void rfc1035_compression_example(void **state)
{
	uint8_t msg[100] = { 0 };
	struct wire r;
	struct dns_name n, want;
	char t[DNS_NAME_TEXT_MAX];

	memcpy(msg + 20, "\x01" "F" "\x03" "ISI" "\x04" "ARPA" "\x00", 12);
	memcpy(msg + 40, "\x03" "FOO" "\xc0\x14", 6);
	memcpy(msg + 64, "\xc0\x1a", 2);
	msg[92] = 0;

	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 20);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	assert_int_equal(wire_offset(&r), 32);
	want = N("F.ISI.ARPA");
	assert_true(dns_name_equal(&n, &want));

	wire_seek(&r, 40);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	assert_int_equal(wire_offset(&r), 46);	/* past the pointer only */
	assert_int_equal(dns_name_to_text(&n, t, sizeof(t)), 15);
	assert_string_equal(t, "FOO.F.ISI.ARPA.");

	wire_seek(&r, 64);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	assert_int_equal(wire_offset(&r), 66);
	want = N("arpa");
	assert_true(dns_name_equal(&n, &want));

	wire_seek(&r, 92);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	assert_true(dns_name_is_root(&n));

	/* a sub-cursor over "rdata" at 64..66 still follows the pointer backwards */
	wire_seek(&r, 64);
	{
		struct wire sub = wire_sub(&r, 2);

		assert_int_equal(dns_name_parse(&sub, &n), 0);
		assert_int_equal(wire_avail(&sub), 0);
		assert_true(dns_name_equal(&n, &want));
	}
}

static void bad_pointers(void **state)
{
	uint8_t msg[64] = { 0 };
	struct wire r;
	struct dns_name n;

	/* pointer to itself */
	memcpy(msg + 20, "\xc0\x14", 2);
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 20);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);
	assert_int_equal(wire_err(&r), -EBADMSG);

	/* pointer forward */
	memcpy(msg + 20, "\xc0\x18", 2);
	msg[24] = 0;
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 20);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);

	/* pointer into the header */
	memcpy(msg + 20, "\xc0\x02", 2);
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 20);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);

	/* a loop: 30 -> 20, and the name at 20 -> 30 (forward from 20): refused */
	memcpy(msg + 20, "\x01" "a" "\xc0\x1e", 4);
	memcpy(msg + 30, "\xc0\x14", 2);
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 30);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);

	/* a label run that reaches back to the pointer that led to it: 22 -> 20, "a" then
	   the bytes at 22 again; the run after a jump must end before 22 */
	memcpy(msg + 20, "\x01" "a" "\xc0\x14", 4);
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 22);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);

	/* a chain that goes strictly backwards is fine: 40 -> 30 -> 20 */
	memcpy(msg + 20, "\x01" "c" "\x00", 3);
	memcpy(msg + 30, "\x01" "b" "\xc0\x14", 4);
	memcpy(msg + 40, "\x01" "a" "\xc0\x1e", 4);
	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 40);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	{
		struct dns_name want = N("a.b.c");

		assert_true(dns_name_equal(&n, &want));
	}

	/* truncated: a label running past the end, a pointer cut in half */
	memcpy(msg + 60, "\x05" "ab", 3);
	r = wire_reader(msg, 63);
	wire_seek(&r, 60);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);
	msg[62] = 0xc0;
	r = wire_reader(msg, 63);
	wire_seek(&r, 62);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);
	/* an error already on the cursor is returned unchanged */
	r = wire_reader(msg, 1);
	(void)wire_read_u16(&r);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);
}

static void compressed_name_too_long(void **state)
{
	/* 4 x 63-byte labels reached by pointers: 256 + root > 255 even though each piece is fine */
	uint8_t msg[400] = { 0 };
	struct wire r;
	struct dns_name n;

	msg[12] = 63;
	memset(msg + 13, 'a', 63);
	msg[76] = 0;			/* name 1: 65 bytes at 12 */
	msg[77] = 63;
	memset(msg + 78, 'b', 63);
	msg[141] = 0xc0;
	msg[142] = 12;			/* name 2 at 77: b.a (129) */
	msg[143] = 63;
	memset(msg + 144, 'c', 63);
	msg[207] = 0xc0;
	msg[208] = 77;			/* name 3 at 143: c.b.a (193) */
	msg[209] = 61;
	memset(msg + 210, 'd', 61);
	msg[271] = 0xc0;
	msg[272] = 143;			/* name 4 at 209: d(61).c.b.a = 255 bytes */
	msg[273] = 62;
	memset(msg + 274, 'e', 62);
	msg[336] = 0xc0;
	msg[337] = 143;			/* name 5 at 273: e(62).c.b.a = 256 bytes */

	r = wire_reader(msg, sizeof(msg));
	wire_seek(&r, 209);
	assert_int_equal(dns_name_parse(&r, &n), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.labels, 4);
	wire_seek(&r, 273);
	assert_int_equal(dns_name_parse(&r, &n), -EBADMSG);
}

static void compare_and_below(void **state)
{
	struct dns_name a = N("Alice.Members.Example.NET"), b = N("alice.members.example.net."),
			z = N("members.example.net"), c = N("xalice.members.example.net"),
			root = N(".");
	struct dns_name sorted[] = { N("example"), N("a.example"), N("yljkjljk.a.example"),
				     N("Z.a.example"), N("zABC.a.EXAMPLE"), N("z.example"),
				     N("\\001.z.example"), N("*.z.example"), N("\\200.z.example") };

	assert_true(dns_name_equal(&a, &b));
	assert_false(dns_name_equal(&a, &c));
	assert_int_equal(dns_name_compare(&a, &b), 0);
	assert_true(dns_name_is_below(&a, &z));
	assert_true(dns_name_is_below(&z, &z));
	assert_true(dns_name_is_below(&a, &root));
	assert_false(dns_name_is_below(&z, &a));
	{
		/* a label boundary matters: "xmembers.example.net" is not below "members.example.net" */
		struct dns_name x = N("xmembers.example.net");

		assert_false(dns_name_is_below(&x, &z));
	}
	assert_int_equal(dns_name_label_count(&a), 4);
	assert_int_equal(dns_name_label_count(&root), 0);

	dns_name_canonicalize(&a);
	assert_memory_equal(a.wire, b.wire, b.len);

	/* RFC 4034 §6.1: the example names, in canonical order */
	for (size_t i = 0; i + 1 < sizeof(sorted) / sizeof(sorted[0]); i++) {
		assert_true(dns_name_compare(&sorted[i], &sorted[i + 1]) < 0);
		assert_true(dns_name_compare(&sorted[i + 1], &sorted[i]) > 0);
	}
}

static void concat_prepend_strip(void **state)
{
	struct dns_name n = N("alice"), z = N("members.example.net"), want = N("alice.members.example.net"), t;
	const uint8_t *lab;
	char big[70];

	assert_int_equal(dns_name_concat(&n, &n, &z), 0);
	assert_true(dns_name_equal(&n, &want));
	assert_int_equal(n.labels, 4);
	assert_int_equal(dns_name_prepend_label(&n, "_udp", 4), 0);
	assert_int_equal(dns_name_prepend_label(&n, "_dns-update", 11), 0);
	t = N("_dns-update._udp.alice.members.example.net");
	assert_true(dns_name_equal(&n, &t));
	assert_int_equal(dns_name_first_label(&n, &lab), 11);
	assert_memory_equal(lab, "_dns-update", 11);
	assert_int_equal(dns_name_strip(&n, 2), 0);
	assert_true(dns_name_equal(&n, &want));
	assert_int_equal(dns_name_strip(&n, 5), -EINVAL);
	assert_int_equal(dns_name_strip(&n, 4), 0);
	assert_true(dns_name_is_root(&n));
	assert_int_equal(dns_name_first_label(&n, &lab), 0);

	assert_int_equal(dns_name_prepend_label(&n, "x", 0), -EINVAL);
	memset(big, 'q', sizeof(big));
	assert_int_equal(dns_name_prepend_label(&n, big, 64), -EINVAL);
	/* grow to exactly 255, then one more byte fails */
	dns_name_set_root(&n);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dns_name_prepend_label(&n, big, 63), 0);
	assert_int_equal(dns_name_prepend_label(&n, big, 62), -EMSGSIZE);
	assert_int_equal(dns_name_prepend_label(&n, big, 61), 0);
	assert_int_equal(n.len, 255);
	t = N("a");
	assert_int_equal(dns_name_concat(&t, &t, &n), -EMSGSIZE);
}

static void compression_on_write(void **state)
{
	uint8_t buf[128];
	struct wire w = wire_writer(buf, sizeof(buf)), r;
	struct dns_compress c;
	struct dns_name a = N("www.example.com"), b = N("mail.EXAMPLE.com"), d = N("example.com"),
			e = N("other.org"), out;

	dns_compress_init(&c);
	wire_write_zero(&w, 12);
	assert_int_equal(dns_name_write(&w, &a, &c), 0);	/* 12: 17 bytes */
	assert_int_equal(wire_offset(&w), 29);
	assert_int_equal(dns_name_write(&w, &b, &c), 0);	/* 29: "mail" + pointer to 16 */
	assert_int_equal(wire_offset(&w), 29 + 5 + 2);
	assert_int_equal(buf[34], 0xc0);
	assert_int_equal(buf[35], 16);
	assert_int_equal(dns_name_write(&w, &d, &c), 0);	/* 36: just a pointer to 16 */
	assert_int_equal(wire_offset(&w), 38);
	assert_int_equal(buf[36], 0xc0);
	assert_int_equal(buf[37], 16);
	assert_int_equal(dns_name_write(&w, &b, &c), 0);	/* the whole of b: pointer to 29 */
	assert_int_equal(buf[38], 0xc0);
	assert_int_equal(buf[39], 29);
	assert_int_equal(dns_name_write(&w, &e, &c), 0);	/* nothing shared */
	assert_int_equal(wire_offset(&w), 40 + 11);
	assert_int_equal(dns_name_write(&w, &e, NULL), 0);	/* no table: uncompressed */
	assert_int_equal(wire_offset(&w), 51 + 11);

	/* everything reads back */
	r = wire_reader(buf, wire_offset(&w));
	wire_seek(&r, 29);
	assert_int_equal(dns_name_parse(&r, &out), 0);
	assert_true(dns_name_equal(&out, &b));
	wire_seek(&r, 38);
	assert_int_equal(dns_name_parse(&r, &out), 0);
	assert_true(dns_name_equal(&out, &b));

	/* after a rollback to 38 nothing points at 38 or later */
	dns_compress_rollback(&c, 38);
	for (unsigned i = 0; i < c.n; i++)
		assert_true(c.off[i] < 38);
	wire_seek(&w, 38);
	assert_int_equal(dns_name_write(&w, &e, &c), 0);
	assert_int_equal(wire_offset(&w), 38 + 11);

	/* no room: the cursor's error */
	w = wire_writer(buf, 5);
	assert_int_equal(dns_name_write(&w, &a, NULL), -ENOSPC);
}

static void compression_table_full(void **state)
{
	uint8_t buf[4096];
	struct wire w = wire_writer(buf, sizeof(buf));
	struct dns_compress c;
	char t[32];

	dns_compress_init(&c);
	wire_write_zero(&w, 12);
	/* more distinct names than the table holds: still correct, just less compressed */
	for (int i = 0; i < 100; i++) {
		struct dns_name n, back;
		struct wire r;
		size_t at = wire_offset(&w);

		snprintf(t, sizeof(t), "h%d.x%d.example", i, i % 7);
		n = N(t);
		assert_int_equal(dns_name_write(&w, &n, &c), 0);
		assert_true(c.n <= DNS_COMPRESS_MAX);
		r = wire_reader(buf, wire_offset(&w));
		wire_seek(&r, at);
		assert_int_equal(dns_name_parse(&r, &back), 0);
		assert_true(dns_name_equal(&back, &n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_roundtrip),
		cmocka_unit_test(limits),
		cmocka_unit_test(rfc1035_compression_example),
		cmocka_unit_test(bad_pointers),
		cmocka_unit_test(compressed_name_too_long),
		cmocka_unit_test(compare_and_below),
		cmocka_unit_test(concat_prepend_strip),
		cmocka_unit_test(compression_on_write),
		cmocka_unit_test(compression_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
