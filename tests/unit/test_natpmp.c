/* lib/natpmp: RFC 6886 packet layouts, byte for byte, and every size bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "natpmp/natpmp.h"

/* RFC 6886 §3.3: map UDP 4500 -> 4500 for 7200 s */
static const uint8_t map_req[12] = { 0, 1, 0, 0, 0x11, 0x94, 0x11, 0x94, 0, 0, 0x1c, 0x20 };
/* RFC 6886 §3.2: external address 203.0.113.10, 1234 s since start of epoch */
static const uint8_t addr_resp[12] = { 0, 128, 0, 0, 0, 0, 0x04, 0xd2, 203, 0, 113, 10 };
/* RFC 6886 §3.3: UDP 4500 mapped to 61001 for 3600 s, epoch 1235 */
static const uint8_t map_resp[16] = { 0, 129, 0, 0, 0, 0, 0x04, 0xd3,
				      0x11, 0x94, 0xee, 0x49, 0, 0, 0x0e, 0x10 };

static void build_requests(void **state)
{
	uint8_t buf[32];
	struct natpmp_request req = { .op = NATPMP_OP_EXTADDR };

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), 2);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 0);
	assert_int_equal(buf[2], 0xaa);
	assert_int_equal(natpmp_request_build(&req, buf, 1), -ENOSPC);
	assert_int_equal(natpmp_request_build(&req, buf, 2), 2);

	req = (struct natpmp_request){ .op = NATPMP_OP_MAP_UDP, .internal_port = 4500,
				       .external_port = 4500, .lifetime = 7200 };
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, map_req, 12);
	assert_int_equal(natpmp_request_build(&req, buf, 11), -ENOSPC);
	assert_int_equal(natpmp_request_build(&req, buf, 12), 12);

	/* TCP is opcode 2 */
	req.op = NATPMP_OP_MAP_TCP;
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), 12);
	assert_int_equal(buf[1], 2);

	/* RFC 6886 §3.4: a delete carries lifetime 0 and suggested port 0 */
	req = (struct natpmp_request){ .op = NATPMP_OP_MAP_UDP, .internal_port = 4500,
				       .external_port = 61001, .lifetime = 0 };
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), 12);
	assert_int_equal(buf[6], 0);
	assert_int_equal(buf[7], 0);
	assert_int_equal(buf[4], 0x11);

	/* only version 0 and opcodes 0-2 are built */
	req.op = 3;
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), -EINVAL);
	req.op = 1;
	req.version = 1;
	assert_int_equal(natpmp_request_build(&req, buf, sizeof(buf)), -EINVAL);
}

static void parse_requests(void **state)
{
	struct natpmp_request req;
	uint8_t buf[16];

	assert_int_equal(natpmp_request_parse(map_req, 12, &req), 0);
	assert_int_equal(req.op, NATPMP_OP_MAP_UDP);
	assert_int_equal(req.internal_port, 4500);
	assert_int_equal(req.external_port, 4500);
	assert_int_equal(req.lifetime, 7200);

	/* exact sizes: one short, one long */
	assert_int_equal(natpmp_request_parse(map_req, 11, &req), -EBADMSG);
	memcpy(buf, map_req, 12);
	buf[12] = 0;
	assert_int_equal(natpmp_request_parse(buf, 13, &req), -EBADMSG);

	buf[0] = 0;
	buf[1] = 0;
	assert_int_equal(natpmp_request_parse(buf, 2, &req), 0);
	assert_int_equal(req.op, NATPMP_OP_EXTADDR);
	assert_int_equal(natpmp_request_parse(buf, 3, &req), -EBADMSG);
	assert_int_equal(natpmp_request_parse(buf, 1, &req), -EBADMSG);
	assert_int_equal(natpmp_request_parse(buf, 0, &req), -EBADMSG);

	/* reserved bytes are ignored on receipt (RFC 6886 §3.3) */
	memcpy(buf, map_req, 12);
	buf[2] = 0xff;
	buf[3] = 0x01;
	assert_int_equal(natpmp_request_parse(buf, 12, &req), 0);
	assert_int_equal(req.internal_port, 4500);

	/* another version: answer UNSUPP_VERSION (a PCP request is version 2) */
	buf[0] = 2;
	buf[1] = 1;
	assert_int_equal(natpmp_request_parse(buf, 12, &req), -EPROTONOSUPPORT);
	assert_int_equal(req.version, 2);
	assert_int_equal(req.op, 1);

	/* unknown opcode: answer UNSUPP_OPCODE, whatever the length */
	buf[0] = 0;
	buf[1] = 3;
	assert_int_equal(natpmp_request_parse(buf, 2, &req), -EOPNOTSUPP);
	assert_int_equal(req.op, 3);
	buf[1] = 127;
	assert_int_equal(natpmp_request_parse(buf, 12, &req), -EOPNOTSUPP);

	/* a response arriving at a gateway is dropped, never answered */
	assert_int_equal(natpmp_request_parse(addr_resp, 12, &req), -EBADMSG);
	buf[1] = 128;
	assert_int_equal(natpmp_request_parse(buf, 2, &req), -EBADMSG);
}

static void build_responses(void **state)
{
	uint8_t buf[32];
	struct natpmp_response r = { .op = NATPMP_OP_EXTADDR, .epoch = 1234 };

	inet_pton(AF_INET, "203.0.113.10", &r.external_addr);
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, addr_resp, 12);
	assert_int_equal(natpmp_response_build(&r, buf, 11), -ENOSPC);

	r = (struct natpmp_response){ .op = NATPMP_OP_MAP_UDP, .epoch = 1235, .internal_port = 4500,
				      .external_port = 61001, .lifetime = 3600 };
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), 16);
	assert_memory_equal(buf, map_resp, 16);
	assert_int_equal(natpmp_response_build(&r, buf, 15), -ENOSPC);
	assert_int_equal(natpmp_response_build(&r, buf, 16), 16);

	/* a refused map keeps its full size */
	r = (struct natpmp_response){ .op = NATPMP_OP_MAP_TCP, .result = NATPMP_RESULT_NO_RESOURCES,
				      .epoch = 7, .internal_port = 22 };
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), 16);
	assert_int_equal(buf[1], 130);
	assert_int_equal(buf[3], 4);
	assert_int_equal(buf[9], 22);

	/* unknown opcode and unsupported version: the 8-byte form */
	r = (struct natpmp_response){ .op = 5, .result = NATPMP_RESULT_UNSUPP_OPCODE, .epoch = 9 };
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), 8);
	assert_int_equal(buf[1], 133);
	assert_int_equal(buf[3], 5);
	assert_int_equal(buf[7], 9);
	r = (struct natpmp_response){ .op = 1, .result = NATPMP_RESULT_UNSUPP_VERSION, .epoch = 9 };
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), 8);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 129);
	assert_int_equal(buf[3], 1);

	r.op = 128;
	assert_int_equal(natpmp_response_build(&r, buf, sizeof(buf)), -EINVAL);
}

static void parse_responses(void **state)
{
	struct natpmp_response r;
	uint8_t buf[20];
	char a[INET_ADDRSTRLEN];

	assert_int_equal(natpmp_response_parse(addr_resp, 12, &r), 0);
	assert_int_equal(r.op, NATPMP_OP_EXTADDR);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.epoch, 1234);
	inet_ntop(AF_INET, &r.external_addr, a, sizeof(a));
	assert_string_equal(a, "203.0.113.10");
	assert_int_equal(r.short_form, 0);

	assert_int_equal(natpmp_response_parse(map_resp, 16, &r), 0);
	assert_int_equal(r.op, NATPMP_OP_MAP_UDP);
	assert_int_equal(r.epoch, 1235);
	assert_int_equal(r.internal_port, 4500);
	assert_int_equal(r.external_port, 61001);
	assert_int_equal(r.lifetime, 3600);

	/* exact sizes for success */
	assert_int_equal(natpmp_response_parse(map_resp, 15, &r), -EBADMSG);
	memcpy(buf, map_resp, 16);
	buf[16] = 0;
	assert_int_equal(natpmp_response_parse(buf, 17, &r), -EBADMSG);
	assert_int_equal(natpmp_response_parse(addr_resp, 11, &r), -EBADMSG);
	assert_int_equal(natpmp_response_parse(addr_resp, 8, &r), -EBADMSG);
	assert_int_equal(natpmp_response_parse(addr_resp, 7, &r), -EBADMSG);
	assert_int_equal(natpmp_response_parse(addr_resp, 0, &r), -EBADMSG);
	/* a map response the size of an address response */
	assert_int_equal(natpmp_response_parse(map_resp, 12, &r), -EBADMSG);

	/* failures: the full size or the 8-byte form, nothing between */
	memcpy(buf, map_resp, 16);
	buf[3] = NATPMP_RESULT_NOT_AUTHORIZED;
	assert_int_equal(natpmp_response_parse(buf, 16, &r), 0);
	assert_int_equal(r.result, 2);
	assert_int_equal(r.short_form, 0);
	assert_int_equal(natpmp_response_parse(buf, 8, &r), 0);
	assert_int_equal(r.result, 2);
	assert_int_equal(r.short_form, 1);
	assert_int_equal(r.lifetime, 0);
	assert_int_equal(natpmp_response_parse(buf, 12, &r), -EBADMSG);
	assert_int_equal(natpmp_response_parse(buf, 9, &r), -EBADMSG);

	/* what a NAT-PMP-only gateway answers to a PCP MAP request (RFC 6887 §9) */
	{
		const uint8_t unsupp[8] = { 0, 129, 0, 1, 0, 0, 0, 42 };

		assert_int_equal(natpmp_response_parse(unsupp, 8, &r), 0);
		assert_int_equal(r.op, 1);
		assert_int_equal(r.result, NATPMP_RESULT_UNSUPP_VERSION);
		assert_int_equal(r.epoch, 42);
	}

	/* not responses: a request, another version, an unknown opcode */
	assert_int_equal(natpmp_response_parse(map_req, 12, &r), -EBADMSG);
	memcpy(buf, addr_resp, 12);
	buf[0] = 2;
	assert_int_equal(natpmp_response_parse(buf, 12, &r), -EBADMSG);
	memcpy(buf, addr_resp, 12);
	buf[1] = 131;
	buf[3] = 5;
	assert_int_equal(natpmp_response_parse(buf, 8, &r), -EOPNOTSUPP);
	assert_int_equal(natpmp_response_parse(buf, 12, &r), -EBADMSG);
}

static void round_trip(void **state)
{
	uint8_t buf[NATPMP_MAX_LEN];
	struct natpmp_request q = { .op = NATPMP_OP_MAP_TCP, .internal_port = 65535,
				    .external_port = 1, .lifetime = 0xffffffffu }, q2;
	struct natpmp_response r = { .op = NATPMP_OP_MAP_TCP, .epoch = 0xfffffffeu,
				     .internal_port = 65535, .external_port = 65534,
				     .lifetime = 0xffffffffu }, r2;
	int n;

	n = natpmp_request_build(&q, buf, sizeof(buf));
	assert_int_equal(n, 12);
	assert_int_equal(natpmp_request_parse(buf, (size_t)n, &q2), 0);
	assert_int_equal(q2.op, q.op);
	assert_int_equal(q2.internal_port, q.internal_port);
	assert_int_equal(q2.external_port, q.external_port);
	assert_true(q2.lifetime == q.lifetime);

	n = natpmp_response_build(&r, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_int_equal(natpmp_response_parse(buf, (size_t)n, &r2), 0);
	assert_int_equal(r2.op, r.op);
	assert_true(r2.epoch == r.epoch);
	assert_int_equal(r2.internal_port, r.internal_port);
	assert_int_equal(r2.external_port, r.external_port);
	assert_true(r2.lifetime == r.lifetime);
}

static void names(void **state)
{
	assert_string_equal(natpmp_result_str(0), "SUCCESS");
	assert_string_equal(natpmp_result_str(5), "UNSUPP_OPCODE");
	assert_string_equal(natpmp_result_str(6), "UNKNOWN");
	assert_string_equal(natpmp_result_str(65535), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_requests),
		cmocka_unit_test(parse_requests),
		cmocka_unit_test(build_responses),
		cmocka_unit_test(parse_responses),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
