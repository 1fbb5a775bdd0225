/*
 * Fuzz lib/natpmp: every input is parsed as a request (gateway side) and as
 * a response (client side); whatever parses must build again to the same
 * bytes and parse to the same fields.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "natpmp/natpmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct natpmp_request q, q2;
	struct natpmp_response r, r2;
	uint8_t buf[NATPMP_MAX_LEN];
	int n;

	if (natpmp_request_parse(data, size, &q) == 0) {
		n = natpmp_request_build(&q, buf, sizeof(buf));
		assert(n > 0 && (size_t)n == size);
		/* the reserved field is ignored on receipt, so compare fields */
		assert(natpmp_request_parse(buf, (size_t)n, &q2) == 0);
		assert(q2.op == q.op && q2.internal_port == q.internal_port &&
		       q2.lifetime == q.lifetime);
		assert(q.lifetime == 0 || q2.external_port == q.external_port);
	}
	if (natpmp_response_parse(data, size, &r) == 0) {
		if (!r.short_form && r.result != NATPMP_RESULT_UNSUPP_VERSION) {
			n = natpmp_response_build(&r, buf, sizeof(buf));
			assert(n > 0 && (size_t)n == size);
			assert(memcmp(buf, data, size) == 0);
			assert(natpmp_response_parse(buf, (size_t)n, &r2) == 0);
			assert(r2.epoch == r.epoch && r2.result == r.result);
		}
	}
	return 0;
}
