/*
 * Fuzz lib/pcp: every input is parsed as a request (server side) and as a
 * response (client side). A parsed message must build again and parse to
 * the same fields; a rejected request gets an error response that must
 * itself parse as a response.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pcp/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct pcp_msg *a, const struct pcp_msg *b)
{
	assert(a->opcode == b->opcode && a->response == b->response);
	assert(a->result == b->result && a->lifetime == b->lifetime && a->epoch == b->epoch);
	assert(a->has_map == b->has_map);
	assert(memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0);
	assert(a->protocol == b->protocol && a->internal_port == b->internal_port &&
	       a->external_port == b->external_port);
	assert(memcmp(&a->external_addr, &b->external_addr, sizeof(a->external_addr)) == 0);
	assert(a->prefer_failure == b->prefer_failure && a->third_party == b->third_party);
	assert(a->n_filters == b->n_filters);
	for (unsigned int i = 0; i < a->n_filters; i++)
		assert(a->filters[i].prefix_len == b->filters[i].prefix_len &&
		       a->filters[i].port == b->filters[i].port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_msg m, m2;
	uint8_t buf[PCP_MAX_LEN], why;
	int n, err;

	err = pcp_request_parse(data, size, &m, &why);
	if (err == 0) {
		assert(why == 0);
		n = pcp_msg_build(&m, buf, sizeof(buf));
		assert(n > 0 && (size_t)n <= size);
		assert(pcp_request_parse(buf, (size_t)n, &m2, &why) == 0);
		assert(memcmp(&m.client_addr, &m2.client_addr, sizeof(m.client_addr)) == 0);
		same(&m, &m2);
	} else if (why != 0) {
		n = pcp_error_build(data, size, why, 30, 1, buf, sizeof(buf));
		assert(n >= PCP_HDR_LEN && n <= PCP_MAX_LEN && n % 4 == 0);
		/* an error copy of a mangled request need not parse, but it is
		 * always a version 2 response, of the request's opcode */
		err = pcp_response_parse(buf, (size_t)n, &m2);
		assert(err != -EPROTONOSUPPORT);
		assert(err != -EOPNOTSUPP ||
		       ((data[1] & 0x7f) != PCP_OP_MAP && (data[1] & 0x7f) != PCP_OP_ANNOUNCE));
		assert(err != 0 || m2.result == why);
	} else {
		assert(err == -EBADMSG);
	}

	if (pcp_response_parse(data, size, &m) == 0) {
		n = pcp_msg_build(&m, buf, sizeof(buf));
		assert(n > 0 && (size_t)n <= size);
		assert(pcp_response_parse(buf, (size_t)n, &m2) == 0);
		same(&m, &m2);
	}
	return 0;
}
