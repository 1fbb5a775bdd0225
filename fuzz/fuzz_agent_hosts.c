/*
 * Fuzz the hosts cache parser (lib/agent/hosts.c), the file every program
 * on the machine reads through libnss_autotunnel: what it accepts formats
 * back to the same bytes, and lookups agree with the walk.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build (assert() vanishes under NDEBUG). */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct all {
	struct agent_host_entry e[4096];
	size_t n;
};

static int collect(void *arg, const struct agent_host_entry *e)
{
	struct all *a = arg;

	if (a->n == sizeof(a->e) / sizeof(a->e[0]))
		return 1;
	a->e[a->n++] = *e;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct all a;
	static uint8_t out[AGENT_HOSTS_FILE_MAX];
	struct agent_host_entry e;
	int r, n;

	a.n = 0;
	r = agent_hosts_parse(data, size, collect, &a, NULL);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		CHECK(agent_hosts_lookup_name(data, size, "desktop", &e) == -EBADMSG);
		return 0;
	}
	if (r == 0) {
		n = agent_hosts_format(a.e, a.n, out, sizeof(out));
		CHECK(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);
	}
	for (size_t i = 0; i < a.n && i < 8; i++) {
		CHECK(agent_hosts_lookup_name(data, size, a.e[i].fqdn, &e) == 0);
		CHECK(agent_hosts_lookup_addr(data, size, a.e[i].ula, &e) == 0);
		CHECK(e.ula[0] == 0xfd);
	}
	return 0;
}
