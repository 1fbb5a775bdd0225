#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/status.h"

static int by_internal(const void *a, const void *b)
{
	const struct gwd_mapping *x = *(const struct gwd_mapping *const *)a;
	const struct gwd_mapping *y = *(const struct gwd_mapping *const *)b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	if (x->int_port != y->int_port)
		return x->int_port < y->int_port ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

void gwd_addr_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

int gwd_status_format(FILE *fp, const struct gwd_status_info *info, const struct gwd_table *t,
		      uint64_t now_ms)
{
	const struct gwd_mapping **sorted = NULL;
	char ext[16], in[32];

	if (info->ext_addr)
		gwd_addr_str(info->ext_addr, ext, sizeof(ext));
	else
		snprintf(ext, sizeof(ext), "none");
	fprintf(fp, "external address %s on %s, epoch %u s, %zu mapping%s\n", ext,
		info->wan ? info->wan : "?", info->epoch_s, t->n, t->n == 1 ? "" : "s");
	if (t->n == 0)
		return 0;
	sorted = malloc(t->n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		sorted[i] = &t->m[i];
	qsort(sorted, t->n, sizeof(*sorted), by_internal);
	fprintf(fp, "%-21s    %-8s  %-5s  %-9s  %s\n", "internal", "external", "proto", "remaining",
		"created by");
	for (size_t i = 0; i < t->n; i++) {
		const struct gwd_mapping *m = sorted[i];
		uint64_t left = m->expires_ms > now_ms ? (m->expires_ms - now_ms + 999) / 1000 : 0;
		char a[16], life[24];

		gwd_addr_str(m->client, a, sizeof(a));
		snprintf(in, sizeof(in), "%s:%u", a, m->int_port);
		snprintf(life, sizeof(life), "%llu s", (unsigned long long)left);
		fprintf(fp, "%-21s -> %-8u  %-5s  %-9s  %s\n", in, m->ext_port,
			m->proto == GWD_PROTO_TCP ? "tcp" : "udp", life,
			m->origin == GWD_ORIGIN_PCP ? "PCP" : "NAT-PMP");
	}
	free(sorted);
	return 0;
}
