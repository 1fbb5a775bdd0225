/*
 * Fuzz the gateway's request path: raw datagram -> parse (lib/natpmp,
 * lib/pcp) -> the pure handler -> applying its change to a mapping table.
 * The first input byte picks the client address and a clock offset so the
 * same table sees several clients and expiries; the rest is split into
 * datagrams at 0xff 0xfe pairs, all fed to one table, and the table's
 * invariants are checked after each.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/handler.h"
#include "autotunnel-gwd/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct gwd_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct gwd_mapping *m = &t->m[i];

		if (m->int_port == 0 || m->ext_port < t->port_min || m->ext_port > t->port_max)
			abort();
		if (gwd_table_find_ext(t, m->proto, m->ext_port) != m)
			abort();
		for (size_t j = i + 1; j < t->n; j++) {
			const struct gwd_mapping *o = &t->m[j];

			if (o->ext_port == m->ext_port && (o->proto == m->proto || o->client != m->client))
				abort();	/* a port twice, or a companion port given away */
			if (o->client == m->client && o->proto == m->proto && o->int_port == m->int_port)
				abort();
		}
	}
	if (t->n > t->max)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gwd_ctx ctx = { .ext_addr = 0xcb00710a, .epoch_s = 5, .lifetime_min = 2, .lifetime_max = 3600 };
	const uint8_t *p, *end = data + size;
	struct gwd_request req;
	struct gwd_reply *rep;
	struct gwd_table t;
	uint64_t now = 1000000;
	unsigned int k = 0;

	if (size < 1)
		return 0;
	if (gwd_table_init(&t, 4000, 4010, 8, 4))
		abort();
	rep = malloc(sizeof(*rep));
	if (!rep)
		return 0;
	if (data[0] & 0x80)
		ctx.ext_addr = 0;
	for (p = data + 1; p <= end; k++) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), "\xff\xfe", 2);
		const uint8_t *e = sep ? sep : end;
		uint32_t client = 0xc0a80102 + ((data[0] + k) & 3);

		gwd_request_parse(p, (size_t)(e - p), &req);
		gwd_handle(&ctx, &t, client, &req, now, rep);
		if (rep->len > sizeof(rep->buf))
			abort();
		/* the handler's decision must fit the table it read */
		if (gwd_change_apply(&t, &rep->change, NULL, NULL) != 0)
			abort();
		check(&t);
		now += (uint64_t)(data[0] & 0x0f) * 1000;
		gwd_expire(&t, now, NULL, NULL);
		check(&t);
		if (!sep)
			break;
		p = sep + 2;
	}
	free(rep);
	gwd_table_fini(&t);
	return 0;
}
