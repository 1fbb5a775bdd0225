/*
 * Fuzz the identity file parser (lib/agent/identity.c): whatever it accepts
 * must be a valid identity that formats back to exactly the same bytes (the
 * format has one spelling for each identity).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build (assert() vanishes under NDEBUG). */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_identity id;
	uint8_t out[AGENT_IDENTITY_FILE_MAX];
	int n;

	if (agent_identity_parse(&id, data, size) != 0)
		return 0;
	n = agent_identity_format(&id, out, sizeof(out));
	CHECK(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);
	return 0;
}
