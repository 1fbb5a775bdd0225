/*
 * Fuzz the candidate and punch-request parsers (lib/agent/cand.c), which
 * read TXT records any host of the account may write: the first input byte
 * picks the parser, the rest is TXT RDATA. What is accepted builds back to
 * the same bytes (when no unknown kind was skipped), and every candidate
 * accepted passes agent_cand_check().
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build (assert() vanishes under NDEBUG). */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void cands_ok(const struct agent_cand *c, size_t n)
{
	CHECK(n <= AGENT_CAND_MAX);
	for (size_t i = 0; i < n; i++)
		CHECK(agent_cand_check(&c[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AGENT_CAND_RDATA_MAX];
	struct agent_cand_set s;
	struct agent_punch p;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		r = agent_punch_parse(data + 1, size - 1, &p);
		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
			CHECK(p.n == 0 && p.from[0] == '\0');
			return 0;
		}
		cands_ok(p.c, p.n);
		CHECK(agent_punch_build(&p, out, sizeof(out), &len) == 0);
		if (!p.unknown)
			CHECK(len == size - 1 && memcmp(out, data + 1, len) == 0);
		CHECK(agent_punch_parse(out, len, &p) == 0 && p.unknown == 0);
	} else {
		r = agent_cand_set_parse(data + 1, size - 1, &s);
		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
			CHECK(s.n == 0);
			return 0;
		}
		cands_ok(s.c, s.n);
		CHECK(agent_cand_set_build(&s, out, sizeof(out), &len) == 0);
		if (!s.unknown)
			CHECK(len == size - 1 && memcmp(out, data + 1, len) == 0);
		CHECK(agent_cand_set_parse(out, len, &s) == 0 && s.unknown == 0);
	}
	return 0;
}
