/*
 * lib/dns/msg: parsing real messages, every bound, and the builder
 * (compression, truncation, EDNS).
 *
 * RESP_HEX was made by dnspython 2.3 (an independent implementation):
 * a response with A, AAAA, TXT, SRV (target compressed, as dnspython
 * does), PTR, CNAME, TYPE65280, NS, SOA, A and an OPT advertising 1232.
 * QUERY_HEX is a query as dig 9.18 sends it (EDNS, a COOKIE option),
 * captured on loopback.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns_test_util.h"

#include "dns/edns.h"
#include "dns/msg.h"

static const char RESP_HEX[] =
	"12348500000100070002000204486f737405416c696365076d656d62657273076578616d706c65036e65740000ff"
	"0001c00c000100010000012c0004c0000207c00c001c00010000012c0010fd00000000000000000000000000000"
	"1c00c001000010000012c000c03763d31076d6f64656c3d780b5f6175746f74756e6e656c045f756470c00c0021"
	"00010000003c0019000000001194106175746f74756e6e656c2d30302d3232c0110b5f6175746f74756e6e656c"
	"045f756470c011000c00010000003c0002c00c03777777c011000500010000003c0002c00cc00cff0000010000"
	"003c0003abcdefc0170002000100000e100006036e7331c017c0170006000100000e100023c0f60a686f73746d"
	"6173746572c01778a3f17500000e100000038400093a800000012cc0f60001000100000e100004c63364350000"
	"2904d0000000000000";

static const char QUERY_HEX[] =
	"3dd00020000100000000000104686f737405616c696365076d656d62657273076578616d706c65036e657400001c"
	"000100002904d000000000000c000a0008b72274d9ebfac4e6";

static void assert_name(const struct dns_msg *m, uint16_t off, const char *text)
{
	struct dns_name n, want = N(text);

	assert_int_equal(dns_msg_name(m, off, &n), 0);
	assert_true(dns_name_equal(&n, &want));
}

static void parse_dnspython_response(void **state)
{
	uint8_t buf[512];
	size_t len = unhex(buf, sizeof(buf), RESP_HEX);
	struct dns_msg m;
	const struct dns_rr *rr;
	struct wire rd;
	uint8_t a[16];
	struct dns_srv srv;
	struct dns_soa soa;
	struct dns_name n, want;
	const uint8_t *s;
	uint8_t sl;

	assert_int_equal(len, 326);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.hdr.id, 0x1234);
	assert_true(m.hdr.flags & DNS_FLAG_QR);
	assert_true(m.hdr.flags & DNS_FLAG_AA);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_QUESTION), 1);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ANSWER), 7);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_AUTHORITY), 2);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ADDITIONAL), 2);
	assert_int_equal(m.qd_end, 12 + 32 + 4);
	assert_name(&m, m.qd[0].name, "host.alice.members.example.net");
	assert_int_equal(m.qd[0].type, DNS_TYPE_ANY);
	assert_true(m.edns.present);
	assert_int_equal(m.edns.udp_size, 1232);
	assert_int_equal(m.opt, 1);
	assert_int_equal(m.tsig, -1);
	assert_int_equal(dns_msg_rcode(&m), 0);

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 0);
	assert_int_equal(rr->type, DNS_TYPE_A);
	assert_int_equal(rr->ttl, 300);
	assert_name(&m, rr->off, "HOST.alice.members.example.net");
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_a_read(&rd, a), 0);
	assert_memory_equal(a, "\xc0\x00\x02\x07", 4);

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 1);
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_aaaa_read(&rd, a), 0);
	assert_memory_equal(a, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	/* an A reader on AAAA rdata does not consume it all */
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_a_read(&rd, a), -EBADMSG);

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 2);
	assert_int_equal(rr->type, DNS_TYPE_TXT);
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_txt_next(&rd, &s, &sl), 1);
	assert_int_equal(sl, 3);
	assert_memory_equal(s, "v=1", 3);
	assert_int_equal(dns_rdata_txt_next(&rd, &s, &sl), 1);
	assert_memory_equal(s, "model=x", 7);
	assert_int_equal(dns_rdata_txt_next(&rd, &s, &sl), 0);

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 3);
	assert_int_equal(rr->type, DNS_TYPE_SRV);
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_srv_read(&rd, &srv), 0);
	assert_int_equal(srv.port, 4500);
	want = N("autotunnel-00-22.alice.members.example.net");
	assert_true(dns_name_equal(&srv.target, &want));

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 4);
	assert_int_equal(rr->type, DNS_TYPE_PTR);
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_name_read(&rd, &n), 0);
	want = N("host.alice.members.example.net");
	assert_true(dns_name_equal(&n, &want));

	rr = dns_msg_rr(&m, DNS_SEC_ANSWER, 6);
	assert_int_equal(rr->type, 65280);
	assert_int_equal(rr->rdlen, 3);

	rr = dns_msg_rr(&m, DNS_SEC_AUTHORITY, 1);
	assert_int_equal(rr->type, DNS_TYPE_SOA);
	rd = dns_msg_rdata(&m, rr);
	assert_int_equal(dns_rdata_soa_read(&rd, &soa), 0);
	assert_int_equal(soa.serial, 2024010101);
	assert_int_equal(soa.minimum, 300);
	want = N("hostmaster.members.example.net");
	assert_true(dns_name_equal(&soa.rname, &want));
}

static void parse_dig_query(void **state)
{
	uint8_t buf[128];
	size_t len = unhex(buf, sizeof(buf), QUERY_HEX);
	struct dns_msg m;
	struct wire opt;
	uint16_t code;
	struct dns_edns_iter it;

	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.hdr.id, 0x3dd0);
	assert_int_equal(dns_flags_opcode(m.hdr.flags), DNS_OPCODE_QUERY);
	assert_false(m.hdr.flags & DNS_FLAG_RD);
	assert_true(m.hdr.flags & DNS_FLAG_AD);
	assert_int_equal(m.qd[0].type, DNS_TYPE_AAAA);
	assert_true(m.edns.present);
	assert_int_equal(m.edns.udp_size, 1232);
	assert_int_equal(m.edns.version, 0);
	dns_edns_iter_init(&it, &m);
	assert_int_equal(dns_edns_iter_next(&it, &code, &opt), 1);
	assert_int_equal(code, 10);	/* COOKIE */
	assert_int_equal(wire_avail(&opt), 8);
	assert_int_equal(dns_edns_iter_next(&it, &code, &opt), 0);
	assert_int_equal(dns_edns_find(&m, DNS_EDNS_OPT_LLQ, &opt), -ENOENT);

	/* every proper prefix is malformed, and so is one extra byte */
	for (size_t l = 0; l < len; l++)
		assert_int_equal(dns_msg_parse(&m, buf, l), -EBADMSG);
	buf[len] = 0;
	assert_int_equal(dns_msg_parse(&m, buf, len + 1), -EBADMSG);
	/* the header is still available for a FORMERR answer */
	assert_int_equal(m.hdr.id, 0x3dd0);
}

static void every_prefix_of_response(void **state)
{
	uint8_t buf[512];
	size_t len = unhex(buf, sizeof(buf), RESP_HEX);
	struct dns_msg m;

	for (size_t l = 0; l < len; l++)
		assert_int_equal(dns_msg_parse(&m, buf, l), -EBADMSG);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
}

/* A writer for hand-made messages. */
struct mk {
	uint8_t buf[8192];
	struct wire w;
};

static void mk_header(struct mk *k, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	k->w = wire_writer(k->buf, sizeof(k->buf));
	wire_write_u16(&k->w, 0xabcd);
	wire_write_u16(&k->w, 0);
	wire_write_u16(&k->w, qd);
	wire_write_u16(&k->w, an);
	wire_write_u16(&k->w, ns);
	wire_write_u16(&k->w, ar);
}

static void mk_rr(struct mk *k, const char *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
		  const void *rdata, uint16_t rdlen)
{
	struct dns_name n = N(owner);

	wire_write_bytes(&k->w, n.wire, n.len);
	wire_write_u16(&k->w, type);
	wire_write_u16(&k->w, rclass);
	wire_write_u32(&k->w, ttl);
	wire_write_u16(&k->w, rdlen);
	wire_write_bytes(&k->w, rdata, rdlen);
}

static int mk_parse(struct mk *k, struct dns_msg *m)
{
	assert_int_equal(wire_err(&k->w), 0);
	return dns_msg_parse(m, k->buf, wire_offset(&k->w));
}

static void counts_zero_and_max(void **state)
{
	struct mk k;
	struct dns_msg m;

	/* header only */
	mk_header(&k, 0, 0, 0, 0);
	assert_int_equal(mk_parse(&k, &m), 0);
	assert_int_equal(m.qd_end, 12);
	assert_int_equal(m.opt, -1);

	/* 64 records in each section fit, 65 do not */
	for (int sec = 1; sec <= 3; sec++) {
		for (int n = 64; n <= 65; n++) {
			mk_header(&k, 0, sec == 1 ? n : 0, sec == 2 ? n : 0, sec == 3 ? n : 0);
			for (int i = 0; i < n; i++)
				mk_rr(&k, "a.example", DNS_TYPE_A, DNS_CLASS_IN, 1, "\x01\x02\x03\x04", 4);
			assert_int_equal(mk_parse(&k, &m), n == 64 ? 0 : -EMSGSIZE);
			if (n == 64)
				assert_int_equal(dns_msg_count(&m, (enum dns_section)sec), 64);
		}
	}
	/* 4 questions fit, 5 do not */
	for (int n = 4; n <= 5; n++) {
		mk_header(&k, (uint16_t)n, 0, 0, 0);
		for (int i = 0; i < n; i++) {
			struct dns_name q = N("q.example");

			wire_write_bytes(&k.w, q.wire, q.len);
			wire_write_u32(&k.w, 0x00010001);
		}
		assert_int_equal(mk_parse(&k, &m), n == 4 ? 0 : -EMSGSIZE);
	}
	/* counts that claim more than is there */
	mk_header(&k, 0, 1, 0, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	mk_header(&k, 0, 0xffff, 0, 0);
	assert_int_equal(mk_parse(&k, &m), -EMSGSIZE);
}

static void rdata_bounds(void **state)
{
	struct mk k;
	struct dns_msg m;
	static const uint8_t soa_ok[] = "\x03ns1\x00\x02hm\x00"
					 "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05";

	/* rdlength past the end of the message */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_IN, 1, "\x01\x02\x03\x04", 4);
	wire_patch_u16(&k.w, wire_offset(&k.w) - 6, 5);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* A with 3 or 5 bytes; AAAA with 15 */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_IN, 1, "\x01\x02\x03", 3);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_IN, 1, "\x01\x02\x03\x04\x05", 5);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_AAAA, DNS_CLASS_IN, 1, "0123456789abcde", 15);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* A in class CH is not an IPv4 address: opaque */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_CH, 1, "\x01\x02\x03", 3);
	assert_int_equal(mk_parse(&k, &m), 0);
	/* empty rdata: fine for class ANY and NONE (UPDATE), not for IN */
	mk_header(&k, 0, 2, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	mk_rr(&k, "a", DNS_TYPE_SOA, DNS_CLASS_NONE, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), 0);
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_TXT, DNS_CLASS_IN, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* TXT whose string overruns its rdata */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_TXT, DNS_CLASS_IN, 0, "\x03" "ab", 3);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* SOA exact, one byte short, one byte long */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_SOA, DNS_CLASS_IN, 0, soa_ok, sizeof(soa_ok) - 1);
	assert_int_equal(mk_parse(&k, &m), 0);
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_SOA, DNS_CLASS_IN, 0, soa_ok, sizeof(soa_ok) - 2);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_SOA, DNS_CLASS_IN, 0, soa_ok, sizeof(soa_ok));
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* a name in rdata that points forward */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_NS, DNS_CLASS_IN, 0, "\xc0\x30", 2);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* a name in rdata that runs past rdlength (but not past the message) */
	mk_header(&k, 0, 2, 0, 0);
	mk_rr(&k, "a", DNS_TYPE_NS, DNS_CLASS_IN, 0, "\x01x", 2);
	mk_rr(&k, "a", DNS_TYPE_A, DNS_CLASS_IN, 0, "\x00\x00\x00\x00", 4);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* unknown types are opaque, any length */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "a", 4242, DNS_CLASS_IN, 0, "\xff\xff\xff", 3);
	assert_int_equal(mk_parse(&k, &m), 0);
}

static void opt_and_tsig_placement(void **state)
{
	struct mk k;
	struct dns_msg m;
	static const uint8_t tsig_rd[] = "\x0bhmac-sha256\x00" "\x00\x00\x00\x00\x00\x01" "\x01\x2c"
					  "\x00\x02" "MM" "\xab\xcd" "\x00\x00" "\x00\x00";
	struct dns_name root;

	dns_name_set_root(&root);
	/* OPT outside the additional section */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* two OPTs */
	mk_header(&k, 0, 0, 0, 2);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* OPT owned by a name other than the root */
	mk_header(&k, 0, 0, 0, 1);
	mk_rr(&k, "a", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* an option that overruns the OPT rdata */
	mk_header(&k, 0, 0, 0, 1);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, "\x00\x0a\x00\x09" "12345678", 12);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* extended rcode, version and DO from the TTL */
	mk_header(&k, 0, 0, 0, 1);
	mk_rr(&k, ".", DNS_TYPE_OPT, 4096, 0x01028000, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), 0);
	assert_int_equal(m.edns.ext_rcode, 1);
	assert_int_equal(m.edns.version, 2);
	assert_int_equal(m.edns.flags, DNS_EDNS_FLAG_DO);
	assert_int_equal(m.edns.udp_size, 4096);
	assert_int_equal(dns_msg_rcode(&m), 16);

	/* TSIG last: fine; TSIG followed by another record: FORMERR (RFC 8945 §5.1) */
	mk_header(&k, 0, 0, 0, 2);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	mk_rr(&k, "key", DNS_TYPE_TSIG, DNS_CLASS_ANY, 0, tsig_rd, sizeof(tsig_rd) - 1);
	assert_int_equal(mk_parse(&k, &m), 0);
	assert_int_equal(m.tsig, 1);
	assert_int_equal(m.opt, 0);
	mk_header(&k, 0, 0, 0, 2);
	mk_rr(&k, "key", DNS_TYPE_TSIG, DNS_CLASS_ANY, 0, tsig_rd, sizeof(tsig_rd) - 1);
	mk_rr(&k, ".", DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* TSIG in the answer section */
	mk_header(&k, 0, 1, 0, 0);
	mk_rr(&k, "key", DNS_TYPE_TSIG, DNS_CLASS_ANY, 0, tsig_rd, sizeof(tsig_rd) - 1);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
	/* TSIG rdata one byte short */
	mk_header(&k, 0, 0, 0, 1);
	mk_rr(&k, "key", DNS_TYPE_TSIG, DNS_CLASS_ANY, 0, tsig_rd, sizeof(tsig_rd) - 2);
	assert_int_equal(mk_parse(&k, &m), -EBADMSG);
}

static void expand_equal_canonical(void **state)
{
	uint8_t buf[512], ex[DNS_RDATA_EXPAND_MAX], ex2[DNS_RDATA_EXPAND_MAX];
	size_t len = unhex(buf, sizeof(buf), RESP_HEX);
	struct dns_msg m;
	const uint8_t *rd, *rd2;
	uint16_t rdlen, rdlen2;
	struct dns_name target = N("ns1.members.example.net"), upper = N("NS1.Members.Example.Net");
	struct dns_soa soa;
	struct wire r;

	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	/* NS rdata is "ns1" + pointer; expanded it is the whole name */
	assert_int_equal(dns_msg_rdata_expand(&m, dns_msg_rr(&m, DNS_SEC_AUTHORITY, 0), ex, &rd, &rdlen), 0);
	assert_ptr_equal(rd, ex);
	assert_int_equal(rdlen, target.len);
	assert_memory_equal(rd, target.wire, target.len);
	assert_true(dns_rdata_equal(DNS_TYPE_NS, rd, rdlen, upper.wire, upper.len));
	assert_false(dns_rdata_equal(DNS_TYPE_TXT, rd, rdlen, upper.wire, upper.len));
	/* SOA: both names expanded, numbers kept; readable by the typed reader */
	assert_int_equal(dns_msg_rdata_expand(&m, dns_msg_rr(&m, DNS_SEC_AUTHORITY, 1), ex2, &rd2, &rdlen2), 0);
	r = wire_reader(rd2, rdlen2);
	assert_int_equal(dns_rdata_soa_read(&r, &soa), 0);
	assert_int_equal(soa.serial, 2024010101);
	assert_true(dns_name_equal(&soa.mname, &target));
	assert_int_equal(dns_rdata_check(DNS_TYPE_SOA, DNS_CLASS_IN, rd2, rdlen2), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_SOA, DNS_CLASS_IN, rd2, rdlen2 - 1), -EBADMSG);
	/* A is opaque: no copy, points into the message */
	assert_int_equal(dns_msg_rdata_expand(&m, dns_msg_rr(&m, DNS_SEC_ANSWER, 0), ex, &rd, &rdlen), 0);
	assert_int_equal(rdlen, 4);
	assert_true(rd > buf && rd < buf + len);
	/* canonical form lower-cases names inside known types only */
	{
		uint8_t srv[64] = { 0, 1, 0, 2, 0x11, 0x94 };
		uint8_t txt[] = { 2, 'A', 'B' };

		memcpy(srv + 6, upper.wire, upper.len);
		assert_int_equal(dns_rdata_canonicalize(DNS_TYPE_SRV, srv, 6 + upper.len), 0);
		assert_memory_equal(srv + 6, target.wire, target.len);
		assert_int_equal(srv[5], 0x94);
		assert_int_equal(dns_rdata_canonicalize(DNS_TYPE_TXT, txt, 3), 0);
		assert_int_equal(txt[1], 'A');
		assert_int_equal(dns_rdata_canonicalize(DNS_TYPE_SRV, srv, 5), -EBADMSG);
	}
}

static void builder_roundtrip(void **state)
{
	uint8_t qbuf[128], out[1232];
	size_t qlen = unhex(qbuf, sizeof(qbuf), QUERY_HEX), len;
	struct dns_msg q, m;
	struct dns_builder b;
	struct dns_name qn = N("host.alice.members.example.net"), zone = N("members.example.net"),
			tgt = N("autotunnel-00-22.alice.members.example.net");
	struct dns_soa soa = { .serial = 7, .refresh = 3600, .retry = 900, .expire = 604800, .minimum = 60 };
	struct dns_srv srv = { .priority = 0, .weight = 0, .port = 4500 };
	const uint8_t *strs[] = { (const uint8_t *)"v=1", (const uint8_t *)"" };
	const uint8_t lens[] = { 3, 0 };
	const uint8_t ula[16] = { 0xfd, 1, 2, 3 };
	struct wire rd;
	struct dns_srv srv2;

	soa.mname = N("ns1.members.example.net");
	soa.rname = N("hostmaster.members.example.net");
	srv.target = tgt;
	assert_int_equal(dns_msg_parse(&q, qbuf, qlen), 0);
	assert_int_equal(dns_builder_reply(&b, out, sizeof(out), q.edns.udp_size, &q), 0);
	dns_builder_set_flags(&b, DNS_FLAG_QR | DNS_FLAG_AA);
	dns_builder_edns(&b, DNS_EDNS_SERVER_UDP, 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_builder_add_aaaa(&b, &qn, 60, ula), 0);
	assert_int_equal(dns_builder_add_txt(&b, &qn, 60, strs, lens, 2), 0);
	assert_int_equal(dns_builder_add_srv(&b, &qn, 60, &srv), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_AUTHORITY), 0);
	assert_int_equal(dns_builder_add_soa(&b, &zone, 60, &soa), 0);
	assert_int_equal(dns_builder_add_name(&b, &zone, DNS_TYPE_NS, 60, &soa.mname), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), -EINVAL);	/* backwards */
	assert_int_equal(dns_builder_finish(&b, &len), 0);

	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_int_equal(m.hdr.id, 0x3dd0);
	assert_int_equal(m.hdr.flags & (DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_TC), DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_QUESTION), 1);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ANSWER), 3);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_AUTHORITY), 2);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ADDITIONAL), 1);
	assert_true(m.edns.present);
	assert_int_equal(m.edns.udp_size, 1232);
	/* the question was copied verbatim, the answers' owner is a pointer to it */
	assert_memory_equal(out + 12, qbuf + 12, q.qd_end - 12);
	assert_int_equal(out[q.qd_end], 0xc0);
	assert_int_equal(out[q.qd_end + 1], 12);
	assert_name(&m, dns_msg_rr(&m, DNS_SEC_AUTHORITY, 0)->off, "members.example.net");
	rd = dns_msg_rdata(&m, dns_msg_rr(&m, DNS_SEC_ANSWER, 2));
	assert_int_equal(dns_rdata_srv_read(&rd, &srv2), 0);
	assert_true(dns_name_equal(&srv2.target, &tgt));
	/* the SRV target is not compressed (RFC 2782): rdlength = 6 + full name */
	assert_int_equal(dns_msg_rr(&m, DNS_SEC_ANSWER, 2)->rdlen, 6 + tgt.len);
}

static void builder_truncation(void **state)
{
	uint8_t out[600];
	struct dns_builder b;
	struct dns_msg m;
	struct dns_name qn = N("many.example"), add = N("glue.example");
	size_t len;
	int added = 0, err = 0;
	uint8_t addr[4] = { 192, 0, 2, 0 };

	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 512, 1, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_A, DNS_CLASS_IN), 0);
	dns_builder_edns(&b, 1232, 0);
	dns_builder_reserve(&b, 50);	/* a TSIG to come */
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	while (added < 100 && (err = dns_builder_add_a(&b, &qn, 60, addr)) == 0) {
		addr[3]++;
		added++;
	}
	assert_int_equal(err, -EMSGSIZE);
	assert_true(dns_builder_truncated(&b));
	/* 12 + 18 (question) + 16 per A (pointer owner) + 11 (OPT) + 50 (reserve) <= 512 */
	assert_int_equal(added, (512 - 12 - 18 - 11 - 50) / 16);
	/* nothing more goes in once truncated */
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ADDITIONAL), 0);
	assert_int_equal(dns_builder_add_a(&b, &add, 60, addr), -EMSGSIZE);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_true(len <= 512 - 50);
	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_true(m.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ANSWER), added);
	assert_true(m.edns.present);

	/* an additional record that does not fit is dropped without TC */
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 60, 2, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_builder_add_a(&b, &qn, 60, addr), 0);	/* 46 */
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ADDITIONAL), 0);
	assert_int_equal(dns_builder_add_a(&b, &add, 60, addr), -EMSGSIZE);	/* 46 + 28 > 60 */
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(len, 46);
	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_false(m.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(dns_msg_count(&m, DNS_SEC_ADDITIONAL), 0);

	/* a record exactly at the limit fits; one byte less does not */
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 46, 3, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_builder_add_a(&b, &qn, 60, addr), 0);
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 45, 3, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_builder_add_a(&b, &qn, 60, addr), -EMSGSIZE);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(len, 30);
	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_true(m.hdr.flags & DNS_FLAG_TC);
}

static void builder_rcode_and_misuse(void **state)
{
	uint8_t out[512];
	struct dns_builder b;
	struct dns_msg m;
	struct dns_name qn = N("a.example");
	size_t len;
	struct dns_header h = { .id = 0x4242, .flags = (DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT) | DNS_FLAG_RD };

	/* BADVERS (16) needs EDNS: header rcode 0, OPT extended rcode 1 */
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 512, 9, DNS_FLAG_QR), 0);
	dns_builder_set_rcode(&b, DNS_RCODE_BADVERS);
	assert_int_equal(dns_builder_finish(&b, &len), -EINVAL);
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 512, 9, DNS_FLAG_QR), 0);
	dns_builder_set_rcode(&b, DNS_RCODE_BADVERS);
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_int_equal(m.hdr.flags & DNS_RCODE_MASK, 0);
	assert_int_equal(dns_msg_rcode(&m), DNS_RCODE_BADVERS);

	/* records are not allowed in the question section, questions not after it */
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 512, 9, 0), 0);
	assert_int_equal(dns_builder_add_a(&b, &qn, 1, (const uint8_t *)"\1\2\3\4"), -EINVAL);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_builder_question(&b, &qn, 1, 1), -EINVAL);
	assert_int_equal(dns_builder_rr_end(&b), -EINVAL);
	/* a buffer too small for a header */
	assert_int_equal(dns_builder_init(&b, out, 11, 512, 9, 0), -ENOSPC);
	/* EDNS options: bounded, and only with EDNS */
	assert_int_equal(dns_builder_init(&b, out, sizeof(out), 512, 9, 0), 0);
	assert_int_equal(dns_builder_edns_option(&b, 10, "12345678", 8), -EINVAL);
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_edns_option(&b, 10, "12345678", 8), 0);
	assert_int_equal(dns_builder_edns_option(&b, 11, out, DNS_BUILDER_OPT_DATA - 12 - 4), 0);
	assert_int_equal(dns_builder_edns_option(&b, 12, out, 1), -ENOSPC);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(len, 12 + 11 + DNS_BUILDER_OPT_DATA);
	assert_int_equal(dns_msg_parse(&m, out, len), 0);
	assert_int_equal(m.edns.opts_len, DNS_BUILDER_OPT_DATA);

	/* the compact error header */
	assert_int_equal(dns_msg_error_header(out, sizeof(out), &h, DNS_RCODE_FORMERR), 12);
	assert_int_equal(dns_msg_parse(&m, out, 12), 0);
	assert_int_equal(m.hdr.id, 0x4242);
	assert_int_equal(dns_flags_opcode(m.hdr.flags), DNS_OPCODE_UPDATE);
	assert_int_equal(m.hdr.flags & DNS_RCODE_MASK, DNS_RCODE_FORMERR);
	assert_true(m.hdr.flags & DNS_FLAG_QR);
	assert_int_equal(dns_msg_error_header(out, 11, &h, 1), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_dnspython_response),
		cmocka_unit_test(parse_dig_query),
		cmocka_unit_test(every_prefix_of_response),
		cmocka_unit_test(counts_zero_and_max),
		cmocka_unit_test(rdata_bounds),
		cmocka_unit_test(opt_and_tsig_placement),
		cmocka_unit_test(expand_equal_canonical),
		cmocka_unit_test(builder_roundtrip),
		cmocka_unit_test(builder_truncation),
		cmocka_unit_test(builder_rcode_and_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
