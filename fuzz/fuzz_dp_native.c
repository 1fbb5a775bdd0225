/*
 * Fuzz the native ESP / RSIP tunnel parsers of src/dataplane/native.c: the
 * first byte picks the socket (even: IP-in-IP from an RSIP gateway, odd:
 * the raw ESP socket), the rest is what the socket gave. Whatever parses
 * must lie inside the input and agree with what was checked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_native_in in;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		ret = dp_native_parse_esp(data + 1, size - 1, &in);
	else
		ret = dp_native_parse_ipip(data + 1, size - 1, &in);
	if (ret != 0 && ret != -EBADMSG && ret != -EPROTONOSUPPORT)
		abort();
	if (ret == 0) {
		if (in.off > size - 1 || in.len > size - 1 - in.off)
			abort();
		if (in.proto == DP_IPPROTO_ESP && in.len < 8)
			abort();
		if (in.proto != DP_IPPROTO_ESP && in.proto != DP_IPPROTO_UDP)
			abort();
		if ((data[0] & 1) && (in.proto != DP_IPPROTO_ESP || in.outer_src))
			abort();
	}
	return 0;
}
