/*
 * Fuzz the RSIP codec: whatever parses must pass the builder's grammar
 * check, build, and re-parse to a message that builds to the same bytes
 * (canonical round trip). Whatever fails must name an RSIP error value.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rsip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rsip_msg m1, m2;
	static uint8_t b1[RSIP_MSG_MAX], b2[RSIP_MSG_MAX];
	size_t n1 = 0, n2 = 0;
	uint16_t e = 0;
	int fl;

	fl = rsip_msg_frame_len(data, size);
	assert(fl == 0 || fl == -EBADMSG || fl >= RSIP_HDR_LEN);
	if (rsip_msg_parse(&m1, data, size, &e)) {
		assert(e && rsip_error_name(e));
		return 0;
	}
	assert(e == 0);
	assert(rsip_msg_check(&m1) == 0);
	assert(rsip_msg_build(&m1, b1, sizeof(b1), &n1) == 0);
	assert(n1 == size);	/* canonical order changes no length */
	assert(rsip_msg_parse(&m2, b1, n1, &e) == 0);
	assert(m2.type == m1.type && m2.present == m1.present);
	assert(rsip_msg_build(&m2, b2, sizeof(b2), &n2) == 0);
	assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
	/* one byte less of room is refused, never overrun */
	assert(rsip_msg_build(&m1, b2, n1 - 1, &n2) == -ENOSPC);
	return 0;
}
