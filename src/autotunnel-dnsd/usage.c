/*
 * The per-account counts (usage.h): a chained hash by account label that
 * doubles when its load passes 1. Entries whose counts drop to zero stay
 * (an account that held records is likely to again); usage_clear() drops them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-dnsd/usage.h"

struct uentry {
	struct uentry *next;
	struct usage_count c;
	uint8_t len;
	uint8_t label[63];
};

struct usage {
	uint8_t apex[255];
	size_t apex_len;
	struct uentry **tab;
	size_t mask, n;
};

static uint32_t label_hash(const uint8_t *l, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ l[i]) * 16777619u;
	return h;
}

struct usage *usage_new(const uint8_t *apex, size_t apex_len)
{
	struct usage *u;

	if (apex_len == 0 || apex_len > sizeof(u->apex))
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	memcpy(u->apex, apex, apex_len);
	u->apex_len = apex_len;
	u->mask = 63;
	u->tab = calloc(u->mask + 1, sizeof(*u->tab));
	if (!u->tab) {
		free(u);
		return NULL;
	}
	return u;
}

void usage_clear(struct usage *u)
{
	for (size_t i = 0; i <= u->mask; i++) {
		while (u->tab[i]) {
			struct uentry *e = u->tab[i];

			u->tab[i] = e->next;
			free(e);
		}
	}
	u->n = 0;
}

void usage_free(struct usage *u)
{
	if (!u)
		return;
	usage_clear(u);
	free(u->tab);
	free(u);
}

static struct uentry *find(const struct usage *u, const uint8_t *label, size_t len)
{
	for (struct uentry *e = u->tab[label_hash(label, len) & u->mask]; e; e = e->next)
		if (e->len == len && memcmp(e->label, label, len) == 0)
			return e;
	return NULL;
}

static void rehash(struct usage *u)
{
	size_t n = (u->mask + 1) * 2;
	struct uentry **tab = calloc(n, sizeof(*tab));

	if (!tab)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i <= u->mask; i++) {
		while (u->tab[i]) {
			struct uentry *e = u->tab[i];
			size_t b = label_hash(e->label, e->len) & (n - 1);

			u->tab[i] = e->next;
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(u->tab);
	u->tab = tab;
	u->mask = n - 1;
}

/* The account label of @p lname: the label whose parent is the apex. */
static const uint8_t *account_label(const struct usage *u, const uint8_t *lname, size_t len,
				    size_t *label_len)
{
	size_t off = 0;

	while (off < len && len - off > u->apex_len) {
		size_t next = off + 1u + lname[off];

		if (lname[off] == 0 || next > len)
			return NULL;
		if (len - next == u->apex_len) {
			if (memcmp(lname + next, u->apex, u->apex_len) != 0)
				return NULL;
			*label_len = lname[off];
			return lname + off + 1;
		}
		off = next;
	}
	return NULL;
}

int usage_charge(struct usage *u, const uint8_t *lname, size_t len, uint16_t rdlen, int sign)
{
	size_t llen;
	const uint8_t *l = account_label(u, lname, len, &llen);
	uint64_t bytes = usage_rr_bytes(len, rdlen);
	struct uentry *e;

	if (!l || llen > sizeof(e->label))
		return 0;
	e = find(u, l, llen);
	if (!e) {
		size_t b;

		if (sign < 0)
			return 0;	/* never counted: nothing to take back */
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->len = (uint8_t)llen;
		memcpy(e->label, l, llen);
		b = label_hash(l, llen) & u->mask;
		e->next = u->tab[b];
		u->tab[b] = e;
		if (++u->n > u->mask + 1)
			rehash(u);
	}
	if (sign > 0) {
		e->c.records++;
		e->c.bytes += bytes;
	} else {
		e->c.records -= e->c.records ? 1 : 0;
		e->c.bytes -= e->c.bytes >= bytes ? bytes : e->c.bytes;
	}
	return 0;
}

struct usage_count usage_get(const struct usage *u, const uint8_t *label, size_t label_len)
{
	const struct uentry *e = u ? find(u, label, label_len) : NULL;

	return e ? e->c : (struct usage_count){ 0, 0 };
}
