/* lib/dns/edns: LLQ (RFC 8764 §3.2) and Update Lease (RFC 9664 §4) options. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/edns.h"
#include "dns/msg.h"

static void llq_exact_layout(void **state)
{
	/* VERSION 1, OPCODE setup, ERROR NoError, ID, LEASE 7200 — field by field */
	static const uint8_t data[18] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
					  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					  0x00, 0x00, 0x1c, 0x20 };
	struct dns_llq l, back;
	uint8_t enc[18];
	struct wire w;

	w = wire_reader(data, sizeof(data));
	assert_int_equal(dns_llq_parse(&w, &l), 0);
	assert_int_equal(l.version, 1);
	assert_int_equal(l.opcode, DNS_LLQ_SETUP);
	assert_int_equal(l.error, DNS_LLQ_NOERROR);
	assert_true(l.id == 0x0102030405060708ull);
	assert_int_equal(l.lease, 7200);
	dns_llq_encode(&l, enc);
	assert_memory_equal(enc, data, 18);

	/* every field lands where RFC 8764 puts it */
	back = (struct dns_llq){ .version = 0xa1a2, .opcode = 0xb1b2, .error = DNS_LLQ_UNKNOWNERR,
				 .id = 0xffeeddccbbaa9988ull, .lease = 0xdeadbeef };
	dns_llq_encode(&back, enc);
	assert_memory_equal(enc, "\xa1\xa2\xb1\xb2\x00\x06\xff\xee\xdd\xcc\xbb\xaa\x99\x88\xde\xad\xbe\xef", 18);

	/* 17 and 19 bytes are refused */
	w = wire_reader(data, 17);
	assert_int_equal(dns_llq_parse(&w, &l), -EBADMSG);
	{
		uint8_t longer[19] = { 0 };

		w = wire_reader(longer, 19);
		assert_int_equal(dns_llq_parse(&w, &l), -EBADMSG);
	}
	w = wire_reader(data, 0);	/* nothing at all */
	assert_int_equal(dns_llq_parse(&w, &l), -EBADMSG);
}

static void lease_forms(void **state)
{
	struct dns_lease l;
	uint8_t enc[8];
	struct wire w;

	w = wire_reader("\x00\x00\x15\x18", 4);
	assert_int_equal(dns_lease_parse(&w, &l), 0);
	assert_int_equal(l.lease, 5400);
	assert_false(l.has_key_lease);
	assert_int_equal(dns_lease_encode(&l, enc), 4);
	assert_memory_equal(enc, "\x00\x00\x15\x18", 4);

	w = wire_reader("\x00\x00\x0e\x10\x00\x09\x3a\x80", 8);
	assert_int_equal(dns_lease_parse(&w, &l), 0);
	assert_int_equal(l.lease, 3600);
	assert_true(l.has_key_lease);
	assert_int_equal(l.key_lease, 604800);
	assert_int_equal(dns_lease_encode(&l, enc), 8);
	assert_memory_equal(enc, "\x00\x00\x0e\x10\x00\x09\x3a\x80", 8);

	for (size_t n = 0; n <= 12; n++) {
		uint8_t z[12] = { 0 };

		if (n == 4 || n == 8)
			continue;
		w = wire_reader(z, n);
		assert_int_equal(dns_lease_parse(&w, &l), -EBADMSG);
	}
}

static void options_in_messages(void **state)
{
	uint8_t buf[512];
	struct dns_builder b;
	struct dns_msg m;
	struct dns_name qn;
	size_t len;
	struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 3600 }, got;
	struct dns_lease lease = { .lease = 5400 }, lgot;
	struct wire data;
	struct dns_edns_iter it;
	uint16_t code;
	int n = 0;

	assert_int_equal(dns_name_from_text(&qn, "_autotunnel._udp.alice.members.example.net"), 0);
	assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 77, 0), 0);
	assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_PTR, DNS_CLASS_IN), 0);
	/* options need EDNS first */
	assert_int_equal(dns_builder_add_llq(&b, &llq), -EINVAL);
	dns_builder_edns(&b, 1440, 0);
	assert_int_equal(dns_builder_add_llq(&b, &llq), 0);
	assert_int_equal(dns_builder_edns_option(&b, 10, "cookie!!", 8), 0);
	assert_int_equal(dns_builder_add_lease(&b, &lease), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);

	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.edns.opts_len, 4 + 18 + 4 + 8 + 4 + 4);
	assert_int_equal(dns_edns_find(&m, DNS_EDNS_OPT_LLQ, &data), 0);
	assert_int_equal(dns_llq_parse(&data, &got), 0);
	assert_int_equal(got.opcode, DNS_LLQ_SETUP);
	assert_int_equal(got.lease, 3600);
	assert_int_equal(dns_edns_find(&m, DNS_EDNS_OPT_UL, &data), 0);
	assert_int_equal(dns_lease_parse(&data, &lgot), 0);
	assert_int_equal(lgot.lease, 5400);
	assert_int_equal(dns_edns_find(&m, 99, &data), -ENOENT);

	dns_edns_iter_init(&it, &m);
	while (dns_edns_iter_next(&it, &code, &data) == 1) {
		static const uint16_t want[] = { 1, 10, 2 };

		assert_true(n < 3);
		assert_int_equal(code, want[n]);
		n++;
	}
	assert_int_equal(n, 3);

	/* a message without OPT has no options */
	assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 78, 0), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(dns_edns_find(&m, DNS_EDNS_OPT_LLQ, &data), -ENOENT);
	dns_edns_iter_init(&it, &m);
	/* an empty cursor, but not one over NULL (NULL + 0 is undefined in C) */
	assert_non_null(it.w.start);
	assert_int_equal(wire_avail(&it.w), 0);
	assert_int_equal(dns_edns_iter_next(&it, &code, &data), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(llq_exact_layout),
		cmocka_unit_test(lease_forms),
		cmocka_unit_test(options_in_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
