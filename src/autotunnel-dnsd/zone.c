#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-dnsd/zone.h"

struct zone {
	struct znode **tab;
	size_t mask;
	size_t nodes, rrs;
	struct znode *apex;
	struct zrr **heap;	/* leased records by expiry */
	size_t heap_len, heap_cap;
};

static uint8_t lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int zone_name_check(const char *zone, char *why, size_t whylen)
{
	size_t n = strlen(zone), label = 0;

	/* RFC 1035 §2.3.1 (preferred name syntax) for the labels; RFC 1035
	 * §3.1: 255 octets in wire form, 253 in text, for the longest NAME.ZONE */
	if (n == 0) {
		snprintf(why, whylen, "the zone is empty");
		return -EINVAL;
	}
	if (n + 64 > 253) {
		snprintf(why, whylen, "'%s' is too long: an account name of 63 letters under it must fit in 253",
			 zone);
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = zone[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || zone[i - 1] == '-') {
				snprintf(why, whylen, "'%s' is not a zone name: %s", zone,
					 label == 0 ? "an empty label" : "a label ends with '-'");
				return -EINVAL;
			}
			if (label > 63) {
				snprintf(why, whylen, "'%s' is not a zone name: a label is longer than 63", zone);
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0))) {
			snprintf(why, whylen, "'%s' is not a zone name: '%c' (letters, digits and '-' inside "
				 "labels, labels separated by '.')", zone, c);
			return -EINVAL;
		}
		label++;
	}
	return 0;
}

void zone_name_lower(uint8_t *out, const uint8_t *name, size_t len)
{
	/* label length bytes are at most 63, below 'A': lowering them is harmless */
	for (size_t i = 0; i < len; i++)
		out[i] = lc(name[i]);
}

static uint32_t hash(const uint8_t *n, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ n[i]) * 16777619u;
	return h ^ (h >> 15);
}

struct znode *zone_find(const struct zone *z, const uint8_t *lname, size_t len)
{
	uint32_t h = hash(lname, len);

	for (struct znode *n = z->tab[h & z->mask]; n; n = n->hnext)
		if (n->hash == h && n->name_len == len && memcmp(n->name, lname, len) == 0)
			return n;
	return NULL;
}

struct zrr *znode_first(const struct znode *n, uint16_t type)
{
	if (!n)
		return NULL;
	for (struct zrr *r = n->rrs; r && r->type <= type; r = r->next)
		if (r->type == type)
			return r;
	return NULL;
}

static int grow(struct zone *z)
{
	size_t n = (z->mask + 1) * 2;
	struct znode **t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i <= z->mask; i++) {
		struct znode *x, *next;

		for (x = z->tab[i]; x; x = next) {
			next = x->hnext;
			x->hnext = t[x->hash & (n - 1)];
			t[x->hash & (n - 1)] = x;
		}
	}
	free(z->tab);
	z->tab = t;
	z->mask = n - 1;
	return 0;
}

static struct znode *node_new(struct zone *z, const uint8_t *lname, size_t len)
{
	struct znode *n;

	if (z->nodes + 1 > z->mask + 1 && grow(z))
		return NULL;
	n = calloc(1, sizeof(*n) + len);
	if (!n)
		return NULL;
	n->hash = hash(lname, len);
	n->name_len = (uint8_t)len;
	memcpy(n->name, lname, len);
	n->hnext = z->tab[n->hash & z->mask];
	z->tab[n->hash & z->mask] = n;
	z->nodes++;
	return n;
}

static void node_unhash(struct zone *z, struct znode *n)
{
	struct znode **pp;

	for (pp = &z->tab[n->hash & z->mask]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			z->nodes--;
			return;
		}
	}
}

static void node_prune(struct zone *z, struct znode *n);

/* The node of @p lname, created with its missing ancestors. */
static struct znode *node_get(struct zone *z, const uint8_t *lname, size_t len)
{
	struct znode *n = zone_find(z, lname, len), *parent;

	if (n)
		return n;
	if (len <= z->apex->name_len)
		return NULL;	/* above or beside the apex */
	parent = node_get(z, lname + 1 + lname[0], len - 1u - lname[0]);
	if (!parent)
		return NULL;
	n = node_new(z, lname, len);
	if (!n) {
		node_prune(z, parent);	/* leave no empty ancestor behind */
		return NULL;
	}
	parent->children++;
	return n;
}

/* Free a node that holds nothing, and its ancestors that become empty. */
static void node_prune(struct zone *z, struct znode *n)
{
	while (n && n != z->apex && !n->rrs && !n->children) {
		const uint8_t *pname = n->name + 1 + n->name[0];
		size_t plen = n->name_len - 1u - n->name[0];
		struct znode *parent = zone_find(z, pname, plen);

		node_unhash(z, n);
		free(n);
		if (parent)
			parent->children--;
		n = parent;
	}
}

/* ---- the expiry heap ---- */

static void heap_swap(struct zone *z, size_t a, size_t b)
{
	struct zrr *t = z->heap[a];

	z->heap[a] = z->heap[b];
	z->heap[b] = t;
	z->heap[a]->heap_idx = (uint32_t)a;
	z->heap[b]->heap_idx = (uint32_t)b;
}

static void heap_fix(struct zone *z, size_t i)
{
	while (i > 0 && z->heap[(i - 1) / 2]->expires_ms > z->heap[i]->expires_ms) {
		heap_swap(z, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < z->heap_len && z->heap[l]->expires_ms < z->heap[m]->expires_ms)
			m = l;
		if (r < z->heap_len && z->heap[r]->expires_ms < z->heap[m]->expires_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(z, i, m);
		i = m;
	}
}

static int heap_add(struct zone *z, struct zrr *rr)
{
	if (z->heap_len == z->heap_cap) {
		size_t cap = z->heap_cap ? z->heap_cap * 2 : 1024;
		struct zrr **h = realloc(z->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		z->heap = h;
		z->heap_cap = cap;
	}
	rr->heap_idx = (uint32_t)z->heap_len;
	z->heap[z->heap_len++] = rr;
	heap_fix(z, rr->heap_idx);
	return 0;
}

static void heap_del(struct zone *z, struct zrr *rr)
{
	size_t i = rr->heap_idx;

	if (i == UINT32_MAX)
		return;
	if (i != z->heap_len - 1) {
		heap_swap(z, i, z->heap_len - 1);
		z->heap_len--;
		heap_fix(z, i);
	} else {
		z->heap_len--;
	}
	rr->heap_idx = UINT32_MAX;
}

void zone_set_expiry(struct zone *z, struct zrr *rr, int64_t expires_ms)
{
	rr->expires_ms = expires_ms;
	if (expires_ms == 0) {
		heap_del(z, rr);
	} else if (rr->heap_idx == UINT32_MAX) {
		if (heap_add(z, rr))
			rr->expires_ms = 0;	/* no memory: the record stays until a restart */
	} else {
		heap_fix(z, rr->heap_idx);
	}
}

int64_t zone_next_expiry(const struct zone *z)
{
	return z->heap_len ? z->heap[0]->expires_ms : INT64_MAX;
}

struct zrr *zone_expired(const struct zone *z, int64_t now_ms)
{
	return z->heap_len && z->heap[0]->expires_ms <= now_ms ? z->heap[0] : NULL;
}

/* ---- records ---- */

static void link_rr(struct znode *n, struct zrr *rr)
{
	struct zrr **pp = &n->rrs;

	/* ordered by type; records of one type keep their order of arrival */
	while (*pp && (*pp)->type <= rr->type)
		pp = &(*pp)->next;
	rr->next = *pp;
	*pp = rr;
	rr->node = n;
}

struct zrr *zone_add(struct zone *z, const uint8_t *lname, size_t len, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, int64_t id, int64_t expires_ms)
{
	struct znode *n = node_get(z, lname, len);
	struct zrr *rr;

	if (!n)
		return NULL;
	rr = malloc(sizeof(*rr) + rdlen);
	if (!rr) {
		node_prune(z, n);
		return NULL;
	}
	*rr = (struct zrr){ .id = id, .expires_ms = expires_ms, .heap_idx = UINT32_MAX, .ttl = ttl,
			    .type = type, .rdlen = rdlen };
	if (rdlen)
		memcpy(rr->rdata, rdata, rdlen);
	if (expires_ms && heap_add(z, rr)) {
		free(rr);
		node_prune(z, n);
		return NULL;
	}
	link_rr(n, rr);
	z->rrs++;
	return rr;
}

void zone_unlink(struct zone *z, struct zrr *rr)
{
	struct znode *n = rr->node;
	struct zrr **pp;

	heap_del(z, rr);
	for (pp = &n->rrs; *pp; pp = &(*pp)->next) {
		if (*pp == rr) {
			*pp = rr->next;
			break;
		}
	}
	rr->next = NULL;
	rr->node = NULL;
	z->rrs--;
	node_prune(z, n);
}

int zone_relink(struct zone *z, struct zrr *rr, const uint8_t *lname, size_t len)
{
	struct znode *n = node_get(z, lname, len);

	if (!n)
		return -ENOMEM;
	if (rr->expires_ms && heap_add(z, rr)) {
		node_prune(z, n);
		return -ENOMEM;
	}
	link_rr(n, rr);
	z->rrs++;
	return 0;
}

size_t zone_node_count(const struct zone *z) { return z->nodes; }
size_t zone_rr_count(const struct zone *z) { return z->rrs; }

struct zone *zone_new(const uint8_t *apex, size_t apex_len)
{
	struct zone *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->mask = 1023;
	z->tab = calloc(z->mask + 1, sizeof(*z->tab));
	if (!z->tab) {
		free(z);
		return NULL;
	}
	z->apex = node_new(z, apex, apex_len);
	if (!z->apex) {
		free(z->tab);
		free(z);
		return NULL;
	}
	return z;
}

void zone_free(struct zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i <= z->mask; i++) {
		struct znode *n, *next;

		for (n = z->tab[i]; n; n = next) {
			struct zrr *r, *rn;

			next = n->hnext;
			for (r = n->rrs; r; r = rn) {
				rn = r->next;
				free(r);
			}
			free(n);
		}
	}
	free(z->heap);
	free(z->tab);
	free(z);
}
