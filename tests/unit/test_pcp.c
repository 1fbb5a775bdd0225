/* lib/pcp: RFC 6887 layouts byte for byte, every size bound, every error a server answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pcp/pcp.h"

/* RFC 6887 §11.1: MAP UDP 4500, suggested external 4500 on any IPv4 address, 7200 s */
static const uint8_t map_req[60] = {
	2, 1, 0, 0, 0, 0, 0x1c, 0x20,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	17, 0, 0, 0, 0x11, 0x94, 0x11, 0x94,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
};

/* its answer: 203.0.113.10:4500 for 3600 s, epoch 1000 */
static const uint8_t map_resp[60] = {
	2, 0x81, 0, 0, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	17, 0, 0, 0, 0x11, 0x94, 0x11, 0x94,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 10,
};

static struct in_addr v4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void fill_map_request(struct pcp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->opcode = PCP_OP_MAP;
	m->lifetime = 7200;
	pcp_addr_from_v4(&m->client_addr, v4("192.168.1.2"));
	for (int i = 0; i < PCP_NONCE_LEN; i++)
		m->nonce[i] = (uint8_t)(i + 1);
	m->protocol = PCP_PROTO_UDP;
	m->internal_port = 4500;
	m->external_port = 4500;
	pcp_addr_from_v4(&m->external_addr, v4("0.0.0.0"));
}

static void build_map_request(void **state)
{
	struct pcp_msg m;
	uint8_t buf[PCP_MAX_LEN];

	fill_map_request(&m);
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 60);
	assert_memory_equal(buf, map_req, 60);
	assert_int_equal(pcp_msg_build(&m, buf, 59), -ENOSPC);
	assert_int_equal(pcp_msg_build(&m, buf, 60), 60);

	/* PREFER_FAILURE (4 bytes) and a FILTER (24 bytes) follow the payload */
	m.prefer_failure = true;
	m.n_filters = 1;
	m.filters[0].prefix_len = 128;
	m.filters[0].port = 500;
	pcp_addr_from_v4(&m.filters[0].addr, v4("198.51.100.7"));
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 88);
	assert_memory_equal(buf, map_req, 60);
	{
		const uint8_t opts[28] = { 2, 0, 0, 0, 3, 0, 0, 20, 0, 128, 0x01, 0xf4,
					   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
					   198, 51, 100, 7 };

		assert_memory_equal(buf + 60, opts, 28);
	}
	assert_int_equal(pcp_msg_build(&m, buf, 87), -ENOSPC);

	/* too many filters, options on ANNOUNCE, unknown opcodes */
	m.n_filters = PCP_MAX_FILTERS + 1;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), -EINVAL);
	m.n_filters = 0;
	m.opcode = PCP_OP_ANNOUNCE;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), -EINVAL);
	m.prefer_failure = false;
	m.lifetime = 0;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 24);
	assert_int_equal(buf[1], 0);
	m.opcode = PCP_OP_PEER;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), -EINVAL);
}

static void parse_map_request(void **state)
{
	struct pcp_msg m;
	uint8_t why = 99;
	struct in_addr a;

	assert_int_equal(pcp_request_parse(map_req, 60, &m, &why), 0);
	assert_int_equal(why, 0);
	assert_int_equal(m.version, 2);
	assert_false(m.response);
	assert_int_equal(m.opcode, PCP_OP_MAP);
	assert_int_equal(m.lifetime, 7200);
	assert_true(pcp_addr_to_v4(&m.client_addr, &a));
	assert_int_equal(a.s_addr, v4("192.168.1.2").s_addr);
	assert_true(m.has_map);
	assert_int_equal(m.nonce[0], 1);
	assert_int_equal(m.nonce[11], 12);
	assert_int_equal(m.protocol, 17);
	assert_int_equal(m.internal_port, 4500);
	assert_int_equal(m.external_port, 4500);
	assert_true(pcp_addr_to_v4(&m.external_addr, &a));
	assert_int_equal(a.s_addr, 0);
	assert_false(m.prefer_failure);
	assert_int_equal(m.n_filters, 0);
}

/* A MAP request with options appended (each given whole, padded by the caller). */
static size_t with_options(uint8_t *buf, const uint8_t *opts, size_t n)
{
	memcpy(buf, map_req, 60);
	memcpy(buf + 60, opts, n);
	return 60 + n;
}

static int parse_why(const uint8_t *buf, size_t len, uint8_t *why, struct pcp_msg *m)
{
	return pcp_request_parse(buf, len, m, why);
}

static void request_errors(void **state)
{
	uint8_t buf[PCP_MAX_LEN + 8], why;
	struct pcp_msg m;

	/* RFC 6887 §8.3: under 2 bytes, or the R bit: dropped without an answer */
	assert_int_equal(parse_why(map_req, 1, &why, &m), -EBADMSG);
	assert_int_equal(why, 0);
	assert_int_equal(parse_why(map_req, 0, &why, &m), -EBADMSG);
	assert_int_equal(parse_why(map_resp, 60, &why, &m), -EBADMSG);
	assert_int_equal(why, 0);

	/* another version: UNSUPP_VERSION (version 0 and 1 alike) */
	memcpy(buf, map_req, 60);
	buf[0] = 1;
	assert_int_equal(parse_why(buf, 60, &why, &m), -EPROTONOSUPPORT);
	assert_int_equal(why, PCP_RESULT_UNSUPP_VERSION);
	assert_int_equal(m.version, 1);
	buf[0] = 3;
	assert_int_equal(parse_why(buf, 2, &why, &m), -EPROTONOSUPPORT);

	/* size: at least 24, at most 1100, a multiple of 4 */
	assert_int_equal(parse_why(map_req, 20, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);
	assert_int_equal(parse_why(map_req, 2, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);
	memcpy(buf, map_req, 60);
	buf[60] = buf[61] = 0;
	assert_int_equal(parse_why(buf, 62, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);
	/* 1100 bytes: the payload then one optional option filling the rest */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, map_req, 60);
	buf[60] = 200;
	buf[62] = (1100 - 64) >> 8;
	buf[63] = (1100 - 64) & 0xff;
	assert_int_equal(parse_why(buf, 1100, &why, &m), 0);
	assert_int_equal(m.n_skipped, 1);
	buf[62] = (1104 - 64) >> 8;
	buf[63] = (1104 - 64) & 0xff;
	assert_int_equal(parse_why(buf, 1104, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);

	/* opcodes: PEER and unknown ones are UNSUPP_OPCODE */
	memcpy(buf, map_req, 60);
	buf[1] = PCP_OP_PEER;
	assert_int_equal(parse_why(buf, 60, &why, &m), -EOPNOTSUPP);
	assert_int_equal(why, PCP_RESULT_UNSUPP_OPCODE);
	buf[1] = 0x7f;
	assert_int_equal(parse_why(buf, 24, &why, &m), -EOPNOTSUPP);

	/* ANNOUNCE is the bare header */
	buf[1] = PCP_OP_ANNOUNCE;
	assert_int_equal(parse_why(buf, 24, &why, &m), 0);
	assert_false(m.has_map);

	/* MAP without its whole payload */
	assert_int_equal(parse_why(map_req, 56, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);
	assert_int_equal(parse_why(map_req, 24, &why, &m), -EBADMSG);

	/* protocol 0 (all) needs internal port 0 */
	memcpy(buf, map_req, 60);
	buf[36] = 0;
	assert_int_equal(parse_why(buf, 60, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_REQUEST);
	buf[40] = buf[41] = 0;
	assert_int_equal(parse_why(buf, 60, &why, &m), 0);
}

static void request_options(void **state)
{
	uint8_t buf[PCP_MAX_LEN], why;
	struct pcp_msg m;
	size_t n;
	const uint8_t pf[4] = { 2, 0, 0, 0 };
	const uint8_t pf2[8] = { 2, 0, 0, 0, 2, 0, 0, 0 };
	const uint8_t pf_len4[8] = { 2, 0, 0, 4, 0, 0, 0, 0 };
	const uint8_t filter[24] = { 3, 0, 0, 20, 0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				     0, 0, 0xff, 0xff, 198, 51, 100, 0 };
	const uint8_t third[20] = { 1, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
				    192, 168, 1, 3 };
	const uint8_t past_end[8] = { 128, 0, 0, 8, 0, 0, 0, 0 };
	const uint8_t odd_len[8] = { 200, 0, 0, 3, 9, 9, 9, 0 };
	const uint8_t mandatory[4] = { 127, 0, 0, 0 };
	uint8_t f[24];

	n = with_options(buf, pf, sizeof(pf));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	assert_true(m.prefer_failure);

	n = with_options(buf, pf2, sizeof(pf2));
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);
	n = with_options(buf, pf_len4, sizeof(pf_len4));
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);

	n = with_options(buf, filter, sizeof(filter));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	assert_int_equal(m.n_filters, 1);
	assert_int_equal(m.filters[0].prefix_len, 96);
	assert_int_equal(m.filters[0].addr.s6_addr[14], 100);

	/* FILTER prefix bounds: 0 and 96..128 for IPv4, never above 128 */
	memcpy(f, filter, sizeof(f));
	f[5] = 95;
	n = with_options(buf, f, sizeof(f));
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);
	f[5] = 0;
	n = with_options(buf, f, sizeof(f));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	f[5] = 128;
	n = with_options(buf, f, sizeof(f));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	f[5] = 129;
	n = with_options(buf, f, sizeof(f));
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	/* a FILTER of the wrong length */
	memcpy(f, filter, sizeof(f));
	f[3] = 16;
	n = with_options(buf, f, 20);
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);

	/* PCP_MAX_FILTERS filters are kept; one more is EXCESSIVE_REMOTE_PEERS */
	memcpy(buf, map_req, 60);
	for (int i = 0; i < PCP_MAX_FILTERS; i++)
		memcpy(buf + 60 + 24 * i, filter, 24);
	assert_int_equal(parse_why(buf, 60 + 24 * PCP_MAX_FILTERS, &why, &m), 0);
	assert_int_equal(m.n_filters, PCP_MAX_FILTERS);
	memcpy(buf + 60 + 24 * PCP_MAX_FILTERS, filter, 24);
	assert_int_equal(parse_why(buf, 60 + 24 * (PCP_MAX_FILTERS + 1), &why, &m), -EOPNOTSUPP);
	assert_int_equal(why, PCP_RESULT_EXCESSIVE_REMOTE_PEERS);

	n = with_options(buf, third, sizeof(third));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	assert_true(m.third_party);
	assert_int_equal(m.third_party_addr.s6_addr[15], 3);

	/* an option whose length runs past the end */
	n = with_options(buf, past_end, sizeof(past_end));
	assert_int_equal(parse_why(buf, n, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);
	/* an optional option of odd length, padded: skipped */
	n = with_options(buf, odd_len, sizeof(odd_len));
	assert_int_equal(parse_why(buf, n, &why, &m), 0);
	assert_int_equal(m.n_skipped, 1);
	/* an unknown mandatory option: UNSUPP_OPTION */
	n = with_options(buf, mandatory, sizeof(mandatory));
	assert_int_equal(parse_why(buf, n, &why, &m), -EOPNOTSUPP);
	assert_int_equal(why, PCP_RESULT_UNSUPP_OPTION);

	/* MAP options on ANNOUNCE are malformed */
	memset(buf, 0, 28);
	memcpy(buf, map_req, 24);
	buf[1] = PCP_OP_ANNOUNCE;
	memcpy(buf + 24, pf, 4);
	assert_int_equal(parse_why(buf, 28, &why, &m), -EBADMSG);
	assert_int_equal(why, PCP_RESULT_MALFORMED_OPTION);
}

static void build_responses(void **state)
{
	struct pcp_msg m;
	uint8_t buf[PCP_MAX_LEN];

	fill_map_request(&m);
	m.response = true;
	m.lifetime = 3600;
	m.epoch = 1000;
	pcp_addr_from_v4(&m.external_addr, v4("203.0.113.10"));
	memset(&m.client_addr, 0xee, sizeof(m.client_addr));	/* not sent in a response */
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 60);
	assert_memory_equal(buf, map_resp, 60);

	/* a refusal without the payload, as a server may send it */
	m.result = PCP_RESULT_NO_RESOURCES;
	m.has_map = false;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 24);
	assert_int_equal(buf[3], 8);
	m.has_map = true;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 60);

	/* the unsolicited ANNOUNCE of RFC 6887 §14.1 */
	memset(&m, 0, sizeof(m));
	m.response = true;
	m.opcode = PCP_OP_ANNOUNCE;
	m.epoch = 3;
	assert_int_equal(pcp_msg_build(&m, buf, sizeof(buf)), 24);
	{
		const uint8_t ann[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 };

		assert_memory_equal(buf, ann, 24);
	}
}

static void parse_responses(void **state)
{
	struct pcp_msg m;
	uint8_t buf[PCP_MAX_LEN];
	struct in_addr a;

	assert_int_equal(pcp_response_parse(map_resp, 60, &m), 0);
	assert_true(m.response);
	assert_int_equal(m.opcode, PCP_OP_MAP);
	assert_int_equal(m.result, 0);
	assert_int_equal(m.lifetime, 3600);
	assert_int_equal(m.epoch, 1000);
	assert_true(m.has_map);
	assert_memory_equal(m.nonce, map_req + 24, 12);
	assert_int_equal(m.external_port, 4500);
	assert_true(pcp_addr_to_v4(&m.external_addr, &a));
	assert_int_equal(a.s_addr, v4("203.0.113.10").s_addr);

	/* a success must carry the payload; a failure may be the header */
	assert_int_equal(pcp_response_parse(map_resp, 24, &m), -EBADMSG);
	memcpy(buf, map_resp, 60);
	buf[3] = PCP_RESULT_NOT_AUTHORIZED;
	assert_int_equal(pcp_response_parse(buf, 24, &m), 0);
	assert_false(m.has_map);
	assert_int_equal(m.result, 2);
	assert_int_equal(pcp_response_parse(buf, 56, &m), -EBADMSG);
	assert_int_equal(pcp_response_parse(buf, 60, &m), 0);
	assert_true(m.has_map);

	/* bounds */
	assert_int_equal(pcp_response_parse(map_resp, 23, &m), -EBADMSG);
	assert_int_equal(pcp_response_parse(map_resp, 3, &m), -EBADMSG);
	memcpy(buf, map_resp, 60);
	memset(buf + 60, 0, 4);
	assert_int_equal(pcp_response_parse(buf, 62, &m), -EBADMSG);
	/* a request is not a response */
	assert_int_equal(pcp_response_parse(map_req, 60, &m), -EBADMSG);

	/* version negotiation: a PCP server of another version, and the
	 * 8-byte NAT-PMP answer of RFC 6887 §9 / RFC 6886 §3.5 */
	memcpy(buf, map_resp, 24);
	buf[0] = 1;
	buf[3] = PCP_RESULT_UNSUPP_VERSION;
	assert_int_equal(pcp_response_parse(buf, 24, &m), -EPROTONOSUPPORT);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.result, PCP_RESULT_UNSUPP_VERSION);
	{
		const uint8_t natpmp[8] = { 0, 129, 0, 1, 0, 0, 0, 9 };

		assert_int_equal(pcp_response_parse(natpmp, 8, &m), -EPROTONOSUPPORT);
		assert_int_equal(m.version, 0);
		assert_int_equal(m.result, 1);
	}

	/* PEER responses are not parsed */
	memcpy(buf, map_resp, 60);
	buf[1] = 0x82;
	assert_int_equal(pcp_response_parse(buf, 60, &m), -EOPNOTSUPP);

	/* an unknown mandatory option in a response is recorded for the caller */
	memcpy(buf, map_resp, 60);
	buf[60] = 100;
	buf[61] = buf[62] = buf[63] = 0;
	assert_int_equal(pcp_response_parse(buf, 64, &m), 0);
	assert_int_equal(m.unknown_mandatory, 100);
	/* a broken option in a response */
	buf[63] = 4;
	assert_int_equal(pcp_response_parse(buf, 64, &m), -EBADMSG);
}

static void error_responses(void **state)
{
	uint8_t buf[PCP_MAX_LEN + 8], req[PCP_MAX_LEN + 8];
	struct pcp_msg m;
	int n;

	n = pcp_error_build(map_req, 60, PCP_RESULT_NO_RESOURCES, 30, 5, buf, sizeof(buf));
	assert_int_equal(n, 60);
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[1], 0x81);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], 8);
	assert_int_equal(buf[7], 30);
	assert_int_equal(buf[11], 5);
	for (int i = 12; i < 24; i++)
		assert_int_equal(buf[i], 0);
	assert_memory_equal(buf + 24, map_req + 24, 36);
	assert_int_equal(pcp_response_parse(buf, 60, &m), 0);
	assert_int_equal(m.result, PCP_RESULT_NO_RESOURCES);
	assert_true(m.has_map);
	assert_memory_equal(m.nonce, map_req + 24, 12);
	assert_int_equal(pcp_error_build(map_req, 60, 8, 30, 5, buf, 59), -ENOSPC);

	/* cut to 1100 bytes, and to a multiple of 4 */
	memset(req, 0, sizeof(req));
	memcpy(req, map_req, 60);
	assert_int_equal(pcp_error_build(req, 1104, PCP_RESULT_MALFORMED_REQUEST, 1800, 5,
					 buf, sizeof(buf)), 1100);
	assert_int_equal(pcp_error_build(req, 62, PCP_RESULT_MALFORMED_REQUEST, 1800, 5,
					 buf, sizeof(buf)), 60);
	/* padded to a header */
	assert_int_equal(pcp_error_build(req, 10, PCP_RESULT_MALFORMED_REQUEST, 1800, 5,
					 buf, sizeof(buf)), 24);
	assert_int_equal(buf[1], 0x81);

	/* UNSUPP_VERSION: the header, saying version 2 */
	req[0] = 1;
	n = pcp_error_build(req, 60, PCP_RESULT_UNSUPP_VERSION, 1800, 5, buf, sizeof(buf));
	assert_int_equal(n, 24);
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[3], 1);
	assert_int_equal(pcp_error_build(req, 60, PCP_RESULT_SUCCESS, 0, 0, buf, sizeof(buf)), -EINVAL);
}

static void addresses_and_names(void **state)
{
	struct in6_addr a6;
	struct in_addr a4;

	pcp_addr_from_v4(&a6, v4("192.0.2.1"));
	assert_true(pcp_addr_to_v4(&a6, &a4));
	assert_int_equal(a4.s_addr, v4("192.0.2.1").s_addr);
	assert_true(pcp_addr_to_v4(&a6, NULL));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a6), 1);
	assert_false(pcp_addr_to_v4(&a6, &a4));
	assert_int_equal(inet_pton(AF_INET6, "::ffff:0:0", &a6), 1);
	assert_true(pcp_addr_to_v4(&a6, &a4));
	assert_int_equal(a4.s_addr, 0);

	assert_string_equal(pcp_result_str(0), "SUCCESS");
	assert_string_equal(pcp_result_str(13), "EXCESSIVE_REMOTE_PEERS");
	assert_string_equal(pcp_result_str(14), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_map_request),
		cmocka_unit_test(parse_map_request),
		cmocka_unit_test(request_errors),
		cmocka_unit_test(request_options),
		cmocka_unit_test(build_responses),
		cmocka_unit_test(parse_responses),
		cmocka_unit_test(error_responses),
		cmocka_unit_test(addresses_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
