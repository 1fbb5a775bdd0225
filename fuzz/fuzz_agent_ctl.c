/*
 * Fuzz the control protocol parser (lib/agent/ctl.c). What it accepts must
 * encode back to exactly the input (one spelling per message) and render
 * as text and JSON without error.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build (assert() vanishes under NDEBUG). */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[AGENT_CTL_FRAME_MAX];
	static char out[2 << 20];
	static struct agent_ctl_msg *m;
	size_t total;
	int n;

	if (!m && !(m = agent_ctl_msg_new()))
		abort();
	if (size >= AGENT_CTL_HDR && agent_ctl_frame_size(data, &total) == 0)
		CHECK(total >= AGENT_CTL_HDR + AGENT_CTL_BODY_MIN && total <= AGENT_CTL_FRAME_MAX);
	if (agent_ctl_parse(m, data, size) != 0)
		return 0;
	n = agent_ctl_encode(m, again, sizeof(again));
	CHECK(n > 0 && (size_t)n == size && memcmp(again, data, size) == 0);
	if (m->code & AGENT_CTL_REPLY)
		CHECK(agent_ctl_render_text(m, out, sizeof(out)) >= 0);
	CHECK(agent_ctl_render_json(m, out, sizeof(out)) >= 0);
	return 0;
}
