#include <errno.h>
#include <stdlib.h>

#include "rsip/table.h"

uint64_t rsip_table_mix(uint64_t x)
{
	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t home(const struct rsip_table *t, struct rsip_tkey k)
{
	return (size_t)(rsip_table_mix(rsip_table_mix(k.a ^ t->seed) ^ k.b) & t->mask);
}

static int same(struct rsip_tkey x, struct rsip_tkey y)
{
	return x.a == y.a && x.b == y.b;
}

int rsip_table_init(struct rsip_table *t, size_t entries, uint64_t seed)
{
	size_t cap = 8;

	while (cap < 2 * entries + 2)
		cap *= 2;
	t->slot = malloc(cap * sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		t->slot[i].v = RSIP_TABLE_EMPTY;
	t->mask = cap - 1;
	t->count = 0;
	t->limit = cap / 2;
	t->seed = seed;
	return 0;
}

void rsip_table_fini(struct rsip_table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->count = 0;
}

uint32_t rsip_table_get(const struct rsip_table *t, struct rsip_tkey k)
{
	/* at most half full, so an empty slot ends every probe */
	for (size_t i = home(t, k);; i = (i + 1) & t->mask) {
		if (t->slot[i].v == RSIP_TABLE_EMPTY)
			return RSIP_TABLE_EMPTY;
		if (same(t->slot[i].k, k))
			return t->slot[i].v;
	}
}

int rsip_table_put(struct rsip_table *t, struct rsip_tkey k, uint32_t v)
{
	size_t i;

	if (v == RSIP_TABLE_EMPTY)
		return -EINVAL;
	for (i = home(t, k); t->slot[i].v != RSIP_TABLE_EMPTY; i = (i + 1) & t->mask)
		if (same(t->slot[i].k, k))
			return -EEXIST;
	if (t->count >= t->limit)
		return -ENOSPC;
	t->slot[i].k = k;
	t->slot[i].v = v;
	t->count++;
	return 0;
}

int rsip_table_del(struct rsip_table *t, struct rsip_tkey k)
{
	size_t i, j;

	for (i = home(t, k);; i = (i + 1) & t->mask) {
		if (t->slot[i].v == RSIP_TABLE_EMPTY)
			return -ENOENT;
		if (same(t->slot[i].k, k))
			break;
	}
	/* backward shift: move later members of the cluster into the hole */
	for (j = (i + 1) & t->mask; t->slot[j].v != RSIP_TABLE_EMPTY; j = (j + 1) & t->mask) {
		size_t h = home(t, t->slot[j].k);

		/* slot j may move to i only if its home is not in (i, j] cyclically */
		if (((j - h) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].v = RSIP_TABLE_EMPTY;
	t->count--;
	return 0;
}
