/*
 * The replay cache (replay.h): a ring of entries in the order they were
 * seen, and a chained hash over them by (account, MAC) with 32-bit links.
 * The ring starts small and doubles, up to its maximum, when its head is
 * still in its window; growing lays the entries out again from the head.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-dnsd/replay.h"

#define NIL UINT32_MAX
#define RING_MIN 1024

struct entry {
	int64_t forget_s;	/* the end of its TSIG window */
	int64_t seen_s;
	uint64_t src;
	uint32_t next;		/* hash chain */
	bool live;		/* false once forgotten (its ring slot waits for the head) */
	struct replay_key key;
	struct replay_answer ans;
};

struct replay {
	struct entry *ring;
	size_t cap, max, head, len, live;
	uint32_t *bucket;	/* cap buckets (a power of two) */
};

static uint32_t key_hash(const struct replay_key *k)
{
	uint32_t h = 2166136261u;	/* FNV-1a: a verified MAC is already uniform */

	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(k->account >> (8 * i))) * 16777619u;
	h = (h ^ k->mac_len) * 16777619u;
	for (size_t i = 0; i < REPLAY_MAC_KEEP; i++)
		h = (h ^ k->mac[i]) * 16777619u;
	return h;
}

static bool key_eq(const struct replay_key *a, const struct replay_key *b)
{
	return a->account == b->account && a->mac_len == b->mac_len &&
	       memcmp(a->mac, b->mac, REPLAY_MAC_KEEP) == 0;
}

struct replay *replay_new(size_t max)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max = max < RING_MIN ? RING_MIN : max;
	r->cap = RING_MIN;
	r->ring = calloc(r->cap, sizeof(*r->ring));
	r->bucket = malloc(r->cap * sizeof(*r->bucket));
	if (!r->ring || !r->bucket) {
		replay_free(r);
		return NULL;
	}
	memset(r->bucket, 0xff, r->cap * sizeof(*r->bucket));
	return r;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r->bucket);
	free(r);
}

size_t replay_count(const struct replay *r)
{
	return r->live;
}

static uint32_t *bucket_of(struct replay *r, const struct replay_key *k)
{
	return &r->bucket[key_hash(k) & (r->cap - 1)];
}

static uint32_t find(struct replay *r, const struct replay_key *k)
{
	for (uint32_t i = *bucket_of(r, k); i != NIL; i = r->ring[i].next)
		if (key_eq(&r->ring[i].key, k))
			return i;
	return NIL;
}

static void unlink_entry(struct replay *r, uint32_t idx)
{
	uint32_t *pp = bucket_of(r, &r->ring[idx].key);

	while (*pp != NIL && *pp != idx)
		pp = &r->ring[*pp].next;
	if (*pp == idx)
		*pp = r->ring[idx].next;
	r->ring[idx].live = false;
	r->live--;
}

/* Drop ring heads whose window has passed (or that were forgotten). */
static void expire(struct replay *r, int64_t now_s)
{
	while (r->len) {
		struct entry *e = &r->ring[r->head];

		if (e->live && e->forget_s > now_s)
			break;
		if (e->live)
			unlink_entry(r, (uint32_t)r->head);
		r->head = (r->head + 1) & (r->cap - 1);
		r->len--;
	}
}

/*
 * Make room in a full ring: double it (and the buckets) while below the
 * maximum, else lay it out again without the forgotten entries; either
 * way the entries are laid out from slot 0. -ENOSPC when every slot
 * holds an entry in its window.
 */
static int grow(struct replay *r)
{
	size_t cap = r->cap < r->max ? r->cap * 2 : r->cap, n = 0;
	struct entry *ring;
	uint32_t *bucket;

	if ((cap == r->cap && r->live == r->len) || cap > NIL)
		return -ENOSPC;
	ring = calloc(cap, sizeof(*ring));
	bucket = malloc(cap * sizeof(*bucket));
	if (!ring || !bucket) {
		free(ring);
		free(bucket);
		return -ENOMEM;
	}
	memset(bucket, 0xff, cap * sizeof(*bucket));
	for (size_t i = 0; i < r->len; i++) {
		const struct entry *e = &r->ring[(r->head + i) & (r->cap - 1)];

		if (!e->live)
			continue;
		ring[n] = *e;
		n++;
	}
	free(r->ring);
	free(r->bucket);
	r->ring = ring;
	r->bucket = bucket;
	r->cap = cap;
	r->head = 0;
	r->len = n;
	for (size_t i = 0; i < n; i++) {
		uint32_t *b = bucket_of(r, &ring[i].key);

		ring[i].next = *b;
		*b = (uint32_t)i;
	}
	return 0;
}

enum replay_verdict replay_check(struct replay *r, const struct replay_key *k, uint64_t src,
				 int64_t now_s, int64_t forget_s, uint32_t retransmit_s,
				 struct replay_answer *ans)
{
	struct entry *e;
	uint32_t idx;
	uint32_t *b;

	expire(r, now_s);
	idx = find(r, k);
	if (idx != NIL) {
		e = &r->ring[idx];
		if (e->src == src && now_s - e->seen_s <= (int64_t)retransmit_s && e->ans.known) {
			if (ans)
				*ans = e->ans;
			return REPLAY_RETRANSMIT;
		}
		return REPLAY_SEEN;
	}
	if (r->len == r->cap && grow(r))
		return REPLAY_FULL;
	idx = (uint32_t)((r->head + r->len) & (r->cap - 1));
	e = &r->ring[idx];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->forget_s = forget_s;
	e->seen_s = now_s;
	e->src = src;
	e->live = true;
	b = bucket_of(r, k);
	e->next = *b;
	*b = idx;
	r->len++;
	r->live++;
	return REPLAY_NEW;
}

void replay_answer(struct replay *r, const struct replay_key *k, const struct replay_answer *ans)
{
	uint32_t idx = find(r, k);

	if (idx != NIL) {
		r->ring[idx].ans = *ans;
		r->ring[idx].ans.known = true;
	}
}

void replay_forget(struct replay *r, const struct replay_key *k)
{
	uint32_t idx = find(r, k);

	if (idx != NIL)
		unlink_entry(r, idx);
}
