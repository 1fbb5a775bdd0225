#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/table.h"

static int proto_index(uint8_t proto)
{
	return proto == GWD_PROTO_TCP ? 0 : 1;
}

static uint8_t companion(uint8_t proto)
{
	return proto == GWD_PROTO_TCP ? GWD_PROTO_UDP : GWD_PROTO_TCP;
}

static bool bit_get(const struct gwd_table *t, uint8_t proto, uint16_t port)
{
	return t->used[proto_index(proto)][port >> 3] & (1u << (port & 7));
}

static void bit_set(struct gwd_table *t, uint8_t proto, uint16_t port, bool on)
{
	uint8_t *b = &t->used[proto_index(proto)][port >> 3];

	if (on)
		*b |= (uint8_t)(1u << (port & 7));
	else
		*b &= (uint8_t)~(1u << (port & 7));
}

int gwd_table_init(struct gwd_table *t, uint16_t port_min, uint16_t port_max, size_t max,
		   size_t max_per_client)
{
	memset(t, 0, sizeof(*t));
	if (port_min == 0 || port_min > port_max || max == 0 || max_per_client == 0)
		return -EINVAL;
	t->port_min = port_min;
	t->port_max = port_max;
	t->max = max;
	t->max_per_client = max_per_client;
	return 0;
}

void gwd_table_reserve(struct gwd_table *t, uint16_t lo, uint16_t hi)
{
	/* a reserved port looks taken for both protocols and is owned by no
	 * mapping, so it is never handed out nor matched by a removal */
	for (uint32_t p = lo; p <= hi && p != 0; p++) {
		bit_set(t, GWD_PROTO_UDP, (uint16_t)p, true);
		bit_set(t, GWD_PROTO_TCP, (uint16_t)p, true);
	}
}

void gwd_table_fini(struct gwd_table *t)
{
	free(t->m);
	t->m = NULL;
	t->n = t->cap = 0;
}

struct gwd_mapping *gwd_table_find(struct gwd_table *t, uint32_t client, uint8_t proto,
				   uint16_t int_port)
{
	for (size_t i = 0; i < t->n; i++) {
		struct gwd_mapping *m = &t->m[i];

		if (m->client == client && m->proto == proto && m->int_port == int_port)
			return m;
	}
	return NULL;
}

const struct gwd_mapping *gwd_table_find_const(const struct gwd_table *t, uint32_t client,
					       uint8_t proto, uint16_t int_port)
{
	return gwd_table_find((struct gwd_table *)(uintptr_t)t, client, proto, int_port);
}

const struct gwd_mapping *gwd_table_find_ext(const struct gwd_table *t, uint8_t proto,
					     uint16_t ext_port)
{
	if (!bit_get(t, proto, ext_port))
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].proto == proto && t->m[i].ext_port == ext_port)
			return &t->m[i];
	return NULL;
}

size_t gwd_table_count_client(const struct gwd_table *t, uint32_t client)
{
	size_t c = 0;

	for (size_t i = 0; i < t->n; i++)
		c += t->m[i].client == client;
	return c;
}

size_t gwd_table_count_owner(const struct gwd_table *t, uint32_t client, const uint8_t *lladdr)
{
	size_t c = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct gwd_mapping *m = &t->m[i];

		c += m->client == client ||
		     (lladdr && m->has_lladdr && memcmp(m->lladdr, lladdr, sizeof(m->lladdr)) == 0);
	}
	return c;
}

void gwd_table_busy_clear(struct gwd_table *t)
{
	memset(t->busy, 0, sizeof(t->busy));
}

void gwd_table_busy_set(struct gwd_table *t, uint8_t proto, uint16_t port)
{
	t->busy[proto_index(proto)][port >> 3] |= (uint8_t)(1u << (port & 7));
}

bool gwd_table_busy(const struct gwd_table *t, uint8_t proto, uint16_t port)
{
	return t->busy[proto_index(proto)][port >> 3] & (1u << (port & 7));
}

bool gwd_table_port_usable(const struct gwd_table *t, uint32_t client, uint8_t proto, uint16_t port)
{
	const struct gwd_mapping *other;

	if (port == 0 || bit_get(t, proto, port) || gwd_table_busy(t, proto, port))
		return false;
	other = gwd_table_find_ext(t, companion(proto), port);
	return other == NULL || other->client == client;
}

/* A small integer hash (a multiply-xorshift mix) to spread start points. */
static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

uint16_t gwd_table_pick_port(const struct gwd_table *t, uint32_t client, uint8_t proto,
			     uint16_t int_port, uint16_t suggested)
{
	uint32_t span = (uint32_t)t->port_max - t->port_min + 1, start, i;

	if (suggested >= t->port_min && suggested <= t->port_max &&
	    gwd_table_port_usable(t, client, proto, suggested))
		return suggested;
	start = mix(client ^ mix((uint32_t)proto << 16 | int_port)) % span;
	for (i = 0; i < span; i++) {
		uint16_t p = (uint16_t)(t->port_min + (start + i) % span);

		if (gwd_table_port_usable(t, client, proto, p))
			return p;
	}
	return 0;
}

int gwd_table_add(struct gwd_table *t, const struct gwd_mapping *m)
{
	if (t->n >= t->max)
		return -ENOSPC;
	if (gwd_table_find(t, m->client, m->proto, m->int_port) ||
	    !gwd_table_port_usable(t, m->client, m->proto, m->ext_port))
		return -EEXIST;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct gwd_mapping *nm;

		if (cap > t->max)
			cap = t->max;
		nm = realloc(t->m, cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		t->m = nm;
		t->cap = cap;
	}
	t->m[t->n++] = *m;
	bit_set(t, m->proto, m->ext_port, true);
	return 0;
}

void gwd_table_remove_at(struct gwd_table *t, size_t i)
{
	if (i >= t->n)
		return;
	bit_set(t, t->m[i].proto, t->m[i].ext_port, false);
	t->m[i] = t->m[--t->n];
}

bool gwd_table_remove(struct gwd_table *t, uint32_t client, uint8_t proto, uint16_t int_port)
{
	struct gwd_mapping *m = gwd_table_find(t, client, proto, int_port);

	if (!m)
		return false;
	gwd_table_remove_at(t, (size_t)(m - t->m));
	return true;
}

uint64_t gwd_table_next_expiry(const struct gwd_table *t)
{
	uint64_t min = UINT64_MAX;

	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].expires_ms < min)
			min = t->m[i].expires_ms;
	return min;
}
