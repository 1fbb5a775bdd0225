/*
 * lib/dnsc/msg and sd: signed queries, the opening of answers (id,
 * question, TSIG, the server's own TSIG errors), the explanations given to
 * a person, and DNS-SD answers read into services.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns/msg.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"
#include "dnsc/sd.h"
#include "dnsc/update.h"

#define D "alice.members.example.net"
#define WALL 1700000000u

static const uint8_t SECRET[32] = "autotunnel test key 32 bytes!!!";
static const uint8_t OTHER[32] = "another key, another password!!";

static int lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	const struct dns_tsig_key *k = arg;

	if (!dns_name_equal(name, &k->name))
		return -ENOENT;
	*out = *k;
	return 0;
}

static uint8_t q[DNSC_MSG_MAX], a[DNSC_MSG_MAX];

/* The server's answer to query @p qm (verified with @p skey), with @p rcode and one SRV. */
static size_t serve(const uint8_t *qbuf, size_t qlen, struct dns_tsig_key *skey, unsigned rcode,
		    bool sign, uint16_t qtype_answer)
{
	struct dns_msg m;
	struct dns_tsig v = { 0 };
	struct dns_builder b;
	struct dns_name n, t;
	struct dns_srv srv = { .port = 853 };
	size_t len;
	int vr;

	assert_int_equal(dns_msg_parse(&m, qbuf, qlen), 0);
	vr = dns_tsig_verify_request(&v, &m, lookup, skey, WALL);
	assert_int_equal(dns_builder_reply(&b, a, sizeof(a), sizeof(a), &m), 0);
	if (sign)
		dns_builder_reserve(&b, dns_tsig_space(&v));
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	assert_int_equal(dns_msg_name(&m, m.qd[0].name, &n), 0);
	assert_int_equal(dns_name_from_text(&t, "rv.example.net"), 0);
	srv.target = t;
	if (vr == 0 && qtype_answer == DNS_TYPE_SRV)
		assert_int_equal(dns_builder_add_srv(&b, &n, 60, &srv), 0);
	dns_builder_set_rcode(&b, vr == -EACCES ? DNS_RCODE_NOTAUTH : rcode);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	if (sign)
		assert_int_equal(dns_tsig_sign_response(&v, a, len, sizeof(a), &len, WALL), 0);
	dns_tsig_fini(&v);
	return len;
}

static void test_query_and_answer(void **state)
{
	struct dns_tsig_key key, other;
	struct dns_tsig t;
	struct dns_name n, n2;
	struct dnsc_resp r;
	struct dnsc_rr rr;
	unsigned pos = 0;
	size_t qlen, alen;
	char why[200], b[16];

	(void)state;
	assert_int_equal(dnsc_account_key(&key, D, SECRET), 0);
	assert_int_equal(dnsc_account_key(&other, D, OTHER), 0);
	assert_int_equal(dns_name_from_text(&n, "_dns-update-tls._tcp." D), 0);
	assert_int_equal(dns_name_from_text(&n2, "_dns-llq-tls._tcp." D), 0);

	/* a signed query and its signed answer */
	dns_tsig_init(&t, &key);
	assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 0x1234, &n, DNS_TYPE_SRV, NULL, &t, WALL), 0);
	alen = serve(q, qlen, &key, DNS_RCODE_NOERROR, true, DNS_TYPE_SRV);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 0x1234, &n, DNS_TYPE_SRV, &t, WALL), 0);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_true(r.is_signed);
	assert_int_equal(dnsc_rr_next(&r.msg, &pos, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_SRV);
	assert_int_equal(rr.sec, DNS_SEC_ANSWER);
	assert_true(dns_name_equal(&rr.owner, &n));
	assert_int_equal(dnsc_rr_next(&r.msg, &pos, &rr), 0);	/* OPT and TSIG are skipped */
	dns_tsig_fini(&t);

	/* the answer to another question, or another id, is not ours */
	dns_tsig_init(&t, &key);
	assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 0x1234, &n, DNS_TYPE_SRV, NULL, &t, WALL), 0);
	alen = serve(q, qlen, &key, DNS_RCODE_NOERROR, true, DNS_TYPE_SRV);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 0x1234, &n2, DNS_TYPE_SRV, &t, WALL), -EBADMSG);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 0x1234, &n, DNS_TYPE_A, &t, WALL), -EBADMSG);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 0x1235, &n, DNS_TYPE_SRV, &t, WALL), -EBADMSG);
	/* the query itself is not an answer */
	assert_int_equal(dnsc_resp_open(&r, q, qlen, 0x1234, &n, DNS_TYPE_SRV, &t, WALL), -EBADMSG);
	dns_tsig_fini(&t);

	/* a wrong password: the server answers NOTAUTH with BADSIG in an unsigned TSIG */
	dns_tsig_init(&t, &key);
	assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 7, &n, DNS_TYPE_SRV, NULL, &t, WALL), 0);
	alen = serve(q, qlen, &other, DNS_RCODE_NOERROR, true, DNS_TYPE_SRV);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 7, &n, DNS_TYPE_SRV, &t, WALL), -EACCES);
	assert_true(r.server_rejected);
	assert_int_equal(r.tsig_error, DNS_RCODE_BADSIG);
	assert_int_equal(r.rcode, DNS_RCODE_NOTAUTH);
	assert_string_equal(dnsc_resp_explain(&r, -EACCES, why, sizeof(why)),
			    "the server rejected our key (BADSIG)");
	dns_tsig_fini(&t);

	/* an unknown account: BADKEY */
	{
		struct dns_tsig_key bob;

		assert_int_equal(dnsc_account_key(&bob, "bob.members.example.net", SECRET), 0);
		dns_tsig_init(&t, &key);
		assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 8, &n, DNS_TYPE_SRV, NULL, &t, WALL), 0);
		alen = serve(q, qlen, &bob, DNS_RCODE_NOERROR, true, DNS_TYPE_SRV);
		assert_int_equal(dnsc_resp_open(&r, a, alen, 8, &n, DNS_TYPE_SRV, &t, WALL), -EACCES);
		assert_true(r.server_rejected);
		assert_int_equal(r.tsig_error, DNS_RCODE_BADKEY);
		dns_tsig_fini(&t);
	}

	/* an unsigned answer to a signed query (REFUSED from something that is not our server) */
	dns_tsig_init(&t, &key);
	assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 9, &n, DNS_TYPE_SRV, NULL, &t, WALL), 0);
	alen = serve(q, qlen, &key, DNS_RCODE_REFUSED, false, 0);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 9, &n, DNS_TYPE_SRV, &t, WALL), -EACCES);
	assert_false(r.server_rejected);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	assert_string_equal(dnsc_resp_explain(&r, -EACCES, why, sizeof(why)),
			    "the server answered REFUSED without a signature");
	/* without a TSIG exchange the same answer is taken as it is */
	assert_int_equal(dnsc_resp_open(&r, a, alen, 9, &n, DNS_TYPE_SRV, NULL, WALL), 0);
	assert_string_equal(dnsc_resp_explain(&r, 0, why, sizeof(why)), "the server answered REFUSED");
	dns_tsig_fini(&t);

	/* our clock is off by more than the fudge: BADTIME from the server, signed */
	dns_tsig_init(&t, &key);
	assert_int_equal(dnsc_query_build(q, sizeof(q), &qlen, 10, &n, DNS_TYPE_SRV, NULL, &t, WALL - 1000), 0);
	alen = serve(q, qlen, &key, DNS_RCODE_NOERROR, true, 0);
	assert_int_equal(dnsc_resp_open(&r, a, alen, 10, &n, DNS_TYPE_SRV, &t, WALL - 1000), -EACCES);
	assert_int_equal(r.tsig_error, DNS_RCODE_BADTIME);
	dns_tsig_fini(&t);

	assert_string_equal(dnsc_rcode_name(DNS_RCODE_NXDOMAIN, b), "NXDOMAIN");
	assert_string_equal(dnsc_rcode_name(4000, b), "RCODE4000");
	assert_int_equal(dnsc_query_build(q, 20, &qlen, 1, &n, DNS_TYPE_SRV, NULL, NULL, WALL), -ENOSPC);
}

static size_t sd_answer(uint8_t *buf, const char *qname, uint16_t qtype)
{
	struct dns_builder b;
	struct dns_name qn, o, t;
	size_t len;

	assert_int_equal(dns_name_from_text(&qn, qname), 0);
	assert_int_equal(dns_builder_init(&b, buf, 4096, 4096, 1, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &qn, qtype, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	if (qtype == DNS_TYPE_PTR) {
		assert_int_equal(dns_name_from_text(&t, "laptop._ssh._tcp." D), 0);
		assert_int_equal(dns_builder_add_name(&b, &qn, DNS_TYPE_PTR, 60, &t), 0);
		assert_int_equal(dns_name_from_text(&t, "My\\.Desk\\032Top._ssh._tcp." D), 0);
		assert_int_equal(dns_builder_add_name(&b, &qn, DNS_TYPE_PTR, 60, &t), 0);
		/* outside the account: not followed */
		assert_int_equal(dns_name_from_text(&t, "x._ssh._tcp.bob.members.example.net"), 0);
		assert_int_equal(dns_builder_add_name(&b, &qn, DNS_TYPE_PTR, 60, &t), 0);
		/* another owner */
		assert_int_equal(dns_name_from_text(&o, "_rfb._tcp." D), 0);
		assert_int_equal(dns_name_from_text(&t, "y._rfb._tcp." D), 0);
		assert_int_equal(dns_builder_add_name(&b, &o, DNS_TYPE_PTR, 60, &t), 0);
	} else if (qtype == DNS_TYPE_SRV) {
		struct dns_srv s = { .port = 22 };

		assert_int_equal(dns_name_from_text(&s.target, "laptop." D), 0);
		assert_int_equal(dns_builder_add_srv(&b, &qn, 60, &s), 0);
	} else {
		static const uint8_t *const strs[] = { (const uint8_t *)"", (const uint8_t *)"path=/",
						       (const uint8_t *)"u=\x7f" };
		static const uint8_t lens[] = { 0, 6, 3 };

		assert_int_equal(dns_builder_add_txt(&b, &qn, 60, strs, lens, 3), 0);
	}
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	return len;
}

static void test_sd(void **state)
{
	static uint8_t b1[4096], b2[4096], b3[4096];
	struct dns_msg m1, m2, m3;
	struct dns_name dom, inst[8];
	struct dnsc_service s;

	(void)state;
	assert_int_equal(dns_name_from_text(&dom, D), 0);
	assert_int_equal(dns_msg_parse(&m1, b1, sd_answer(b1, "_ssh._tcp." D, DNS_TYPE_PTR)), 0);
	assert_int_equal(dnsc_sd_ptrs(&m1, &dom, inst, 8), 2);
	assert_int_equal(dnsc_sd_ptrs(&m1, &dom, inst, 1), 2);
	assert_int_equal(dns_msg_parse(&m2, b2, sd_answer(b2, "laptop._ssh._tcp." D, DNS_TYPE_SRV)), 0);
	assert_int_equal(dns_msg_parse(&m3, b3, sd_answer(b3, "laptop._ssh._tcp." D, DNS_TYPE_TXT)), 0);
	assert_int_equal(dnsc_sd_instance(&s, &inst[0], &dom, &m2, &m3), 0);
	assert_string_equal(s.instance, "laptop");
	assert_string_equal(s.type, "_ssh._tcp");
	assert_string_equal(s.host, "laptop." D);
	assert_int_equal(s.port, 22);
	assert_true(s.has_srv);
	assert_string_equal(s.txt, "path=/ u=?");
	/* an instance label with a dot and a space, as dig writes it */
	assert_int_equal(dnsc_sd_ptrs(&m1, &dom, inst, 8), 2);
	assert_int_equal(dnsc_sd_instance(&s, &inst[1], &dom, NULL, NULL), 0);
	assert_string_equal(s.instance, "My\\.Desk Top");
	assert_false(s.has_srv);
	/* SRV and TXT of another instance are not taken */
	assert_int_equal(dnsc_sd_instance(&s, &inst[1], &dom, &m2, &m3), 0);
	assert_false(s.has_srv);
	assert_string_equal(s.txt, "");
	/* not an instance name */
	assert_int_equal(dnsc_sd_instance(&s, &dom, &dom, NULL, NULL), -EINVAL);
	assert_true(dnsc_sd_n_common_types >= 5);
	assert_string_equal(dnsc_sd_common_types[0], "_ssh._tcp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_and_answer),
		cmocka_unit_test(test_sd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
