#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dns/update.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/update.h"
#include "autotunnel-dnsd/usage.h"
#include "autotunnel-dnsd/zone.h"

#define EXPIRE_PER_BATCH 20000
#define RRS_REMOVED 0xffffffffu	/* RFC 8764 §6.1: a removal carries TTL -1 */

enum undo_kind { U_ADDED, U_REMOVED, U_MODIFIED };

struct undo {
	enum undo_kind kind;
	struct zrr *rr;
	uint32_t old_ttl;
	int64_t old_expires;
	uint8_t *old_rdata;		/* U_MODIFIED: the rdata before (same length) */
	uint8_t lname_len;
	uint8_t lname[DNS_NAME_MAX];	/* U_REMOVED: where to put it back */
};

struct change_ev {
	uint8_t lname_len;
	uint8_t lname[DNS_NAME_MAX];
	uint16_t type;
	uint32_t ttl;			/* RRS_REMOVED for a removal */
	uint16_t rdlen;
	uint8_t *rdata;
};

struct commit {
	struct dnsd *d;
	struct store *store;
	struct stats *st;
	struct undo *undo;
	size_t n_undo, cap_undo;
	struct change_ev *ev;
	size_t n_ev, cap_ev;
	bool open;			/* the transaction is begun */
	bool changed;			/* the serial must move */
	bool failed;			/* the store failed: everything rolls back */
	uint32_t old_serial;
	struct usage *usage;		/* records and bytes per account (usage.h) */
	bool usage_valid;		/* counted from the store for the current zone */
};

/* One decision or expiry being applied. */
struct apply {
	struct commit *c;
	const struct update_decision *dec;
	bool changed;
};

struct commit *commit_new(struct dnsd *d, struct store *st, struct stats *stats)
{
	struct commit *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	c->store = st;
	c->st = stats;
	c->usage = usage_new(d->apex.wire, d->apex.len);
	if (!c->usage) {
		free(c);
		return NULL;
	}
	return c;
}

const struct usage *commit_usage(const struct commit *c)
{
	return c->usage;
}

void commit_zone_replaced(struct commit *c)
{
	c->usage_valid = false;
}

/* A record of the zone index came or went: its account's counts follow. */
static void charge(struct commit *c, const uint8_t *lname, size_t len, uint16_t rdlen, int sign)
{
	if (c->usage_valid && usage_charge(c->usage, lname, len, rdlen, sign))
		c->usage_valid = false;	/* counted again from the store at the next batch */
}

static int count_one(void *arg, const struct store_rr *rr)
{
	struct commit *c = arg;
	uint8_t lname[DNS_NAME_MAX];

	zone_name_lower(lname, rr->name, rr->name_len);
	return usage_charge(c->usage, lname, rr->name_len, rr->rdlen, +1);
}

/*
 * Count every account's records from the store, which holds exactly the
 * zone index between batches (the index is loaded from it, and both
 * change together in commit_apply()/commit_end()).
 */
static void count_usage(struct commit *c)
{
	usage_clear(c->usage);
	if (store_rr_foreach(c->store, count_one, c)) {
		log_warnx("store: cannot count the accounts' records: %s", store_errmsg(c->store));
		usage_clear(c->usage);
		return;
	}
	c->usage_valid = true;
}

static void free_ev(struct commit *c, size_t from)
{
	for (size_t i = from; i < c->n_ev; i++)
		free(c->ev[i].rdata);
	c->n_ev = from;
}

void commit_free(struct commit *c)
{
	if (!c)
		return;
	free_ev(c, 0);
	for (size_t i = 0; i < c->n_undo; i++)
		free(c->undo[i].old_rdata);
	free(c->undo);
	free(c->ev);
	usage_free(c->usage);
	free(c);
}

static struct undo *undo_push(struct commit *c)
{
	if (c->n_undo == c->cap_undo) {
		size_t cap = c->cap_undo ? c->cap_undo * 2 : 64;
		struct undo *u = realloc(c->undo, cap * sizeof(*u));

		if (!u)
			return NULL;
		c->undo = u;
		c->cap_undo = cap;
	}
	memset(&c->undo[c->n_undo], 0, offsetof(struct undo, lname));
	return &c->undo[c->n_undo++];
}

static int ev_push(struct commit *c, const uint8_t *lname, size_t len, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen)
{
	struct change_ev *e;

	if (c->n_ev == c->cap_ev) {
		size_t cap = c->cap_ev ? c->cap_ev * 2 : 64;
		struct change_ev *n = realloc(c->ev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->ev = n;
		c->cap_ev = cap;
	}
	e = &c->ev[c->n_ev];
	e->rdata = malloc(rdlen ? rdlen : 1);
	if (!e->rdata)
		return -ENOMEM;
	memcpy(e->rdata, rdata, rdlen);
	e->rdlen = rdlen;
	e->lname_len = (uint8_t)len;
	memcpy(e->lname, lname, len);
	e->type = type;
	e->ttl = ttl;
	c->n_ev++;
	return 0;
}

/* Undo entries from the end down to @p mark, newest first. */
static void undo_to(struct commit *c, size_t mark)
{
	struct zone *z = c->d->zone;

	while (c->n_undo > mark) {
		struct undo *u = &c->undo[--c->n_undo];

		switch (u->kind) {
		case U_ADDED:
			charge(c, u->rr->node->name, u->rr->node->name_len, u->rr->rdlen, -1);
			zone_unlink(z, u->rr);
			free(u->rr);
			break;
		case U_REMOVED:
			if (zone_relink(z, u->rr, u->lname, u->lname_len)) {
				log_warnx("out of memory restoring a record; it is lost until restart");
				free(u->rr);
			} else {
				charge(c, u->lname, u->lname_len, u->rr->rdlen, +1);
			}
			break;
		case U_MODIFIED:
			u->rr->ttl = u->old_ttl;
			if (u->old_rdata)
				memcpy(u->rr->rdata, u->old_rdata, u->rr->rdlen);
			zone_set_expiry(z, u->rr, u->old_expires);
			break;
		}
		free(u->old_rdata);
		u->old_rdata = NULL;
	}
}

static struct zrr *find_equal(const struct znode *n, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	for (struct zrr *r = n ? n->rrs : NULL; r; r = r->next)
		if (r->type == type && dns_rdata_equal(type, r->rdata, r->rdlen, rd, rdlen))
			return r;
	return NULL;
}

static int remove_rr(struct apply *a, struct zrr *r)
{
	struct commit *c = a->c;
	struct undo *un;
	uint8_t lname[DNS_NAME_MAX];
	size_t len = r->node->name_len;

	memcpy(lname, r->node->name, len);
	if (store_rr_delete(c->store, r->id))
		return -EIO;
	un = undo_push(c);
	if (!un || ev_push(c, lname, len, r->type, RRS_REMOVED, r->rdata, r->rdlen)) {
		if (un)
			c->n_undo--;
		return -ENOMEM;
	}
	un->kind = U_REMOVED;
	un->rr = r;
	un->lname_len = (uint8_t)len;
	memcpy(un->lname, lname, len);
	charge(c, lname, len, r->rdlen, -1);
	zone_unlink(c->d->zone, r);
	a->changed = true;
	stat_inc(c->st, STAT_records_deleted);
	return 0;
}

static int add_rr(struct apply *a, const struct update_change *u)
{
	struct commit *c = a->c;
	struct zone *z = c->d->zone;
	struct store_rr srr = { .name = u->lname, .name_len = u->lname_len, .type = u->type,
				.rclass = DNS_CLASS_IN, .ttl = u->ttl, .rdata = u->rdata,
				.rdlen = u->rdlen, .expires_ms = a->dec->expires_ms,
				.account = a->dec->acc->label };
	struct undo *un;
	struct zrr *r;
	int64_t id;

	if (store_rr_insert(c->store, &srr, &id))
		return -EIO;
	un = undo_push(c);
	if (!un)
		return -ENOMEM;
	r = zone_add(z, u->lname, u->lname_len, u->type, u->ttl, u->rdata, u->rdlen, id,
		     a->dec->expires_ms);
	if (!r || ev_push(c, u->lname, u->lname_len, u->type, u->ttl, u->rdata, u->rdlen)) {
		if (r) {
			zone_unlink(z, r);
			free(r);
		}
		c->n_undo--;
		return -ENOMEM;
	}
	un->kind = U_ADDED;
	un->rr = r;
	charge(c, u->lname, u->lname_len, u->rdlen, +1);
	a->changed = true;
	stat_inc(c->st, STAT_records_added);
	return 0;
}

static int replace_rr(struct apply *a, struct zrr *r, const struct update_change *u)
{
	struct commit *c = a->c;
	struct undo *un;
	bool same;

	if (!r || r->rdlen != u->rdlen)
		return -ENOENT;
	same = r->ttl == u->ttl && memcmp(r->rdata, u->rdata, u->rdlen) == 0;
	if (store_rr_update(c->store, r->id, u->ttl, u->rdata, u->rdlen, a->dec->expires_ms))
		return -EIO;
	un = undo_push(c);
	if (!un)
		return -ENOMEM;
	un->kind = U_MODIFIED;
	un->rr = r;
	un->old_ttl = r->ttl;
	un->old_expires = r->expires_ms;
	if (!same) {
		un->old_rdata = malloc(r->rdlen ? r->rdlen : 1);
		if (!un->old_rdata ||
		    ev_push(c, u->lname, u->lname_len, u->type, u->ttl, u->rdata, u->rdlen)) {
			free(un->old_rdata);
			un->old_rdata = NULL;
			c->n_undo--;
			return -ENOMEM;
		}
		memcpy(un->old_rdata, r->rdata, r->rdlen);
		memcpy(r->rdata, u->rdata, u->rdlen);
		r->ttl = u->ttl;
		a->changed = true;
	}
	/* RFC 9664: re-adding a record refreshes its lease */
	zone_set_expiry(c->d->zone, r, a->dec->expires_ms);
	return 0;
}

static int apply_one(struct apply *a, const struct update_change *u)
{
	struct zone *z = a->c->d->zone;
	struct znode *n = zone_find(z, u->lname, u->lname_len);
	struct zrr *r;
	int rc;

	switch (u->op) {
	case DNS_CHANGE_ADD:
		return add_rr(a, u);
	case DNS_CHANGE_REPLACE:
		return replace_rr(a, find_equal(n, u->type, u->rdata, u->rdlen), u);
	case DNS_CHANGE_DEL_RR:
		r = find_equal(n, u->type, u->rdata, u->rdlen);
		return r ? remove_rr(a, r) : 0;
	case DNS_CHANGE_DEL_RRSET:
	case DNS_CHANGE_DEL_NAME:
		/* the node goes away with its last record: look it up each time */
		for (;;) {
			n = zone_find(z, u->lname, u->lname_len);
			for (r = n ? n->rrs : NULL; r; r = r->next)
				if (u->op == DNS_CHANGE_DEL_NAME || r->type == u->type)
					break;
			if (!r)
				return 0;
			rc = remove_rr(a, r);
			if (rc)
				return rc;
		}
	}
	return -EINVAL;
}

static bool batch_open(struct commit *c)
{
	if (c->open)
		return true;
	if (c->failed)
		return false;
	if (store_begin(c->store)) {
		log_warnx("store: cannot begin a transaction: %s", store_errmsg(c->store));
		c->failed = true;
		return false;
	}
	c->open = true;
	c->old_serial = c->d->serial;
	return true;
}

void commit_begin(struct commit *c)
{
	if (!c->usage_valid)
		count_usage(c);
	c->open = c->changed = c->failed = false;
	c->n_undo = 0;
	free_ev(c, 0);
}

int commit_apply(struct commit *c, const struct update_decision *dec, bool *changed)
{
	struct dnsd *d = c->d;
	struct apply a = { .c = c, .dec = dec };
	size_t undo_mark, ev_mark;
	int rc = 0;

	*changed = false;
	if (!batch_open(c) || store_savepoint(c->store))
		return -EIO;
	undo_mark = c->n_undo;
	ev_mark = c->n_ev;
	pthread_rwlock_wrlock(&d->lock);
	for (size_t i = 0; i < dec->n_changes && rc == 0; i++)
		rc = apply_one(&a, &dec->changes[i]);
	if (rc) {
		undo_to(c, undo_mark);
		free_ev(c, ev_mark);
	}
	pthread_rwlock_unlock(&d->lock);
	if (rc) {
		store_rollback_savepoint(c->store);
		return rc;
	}
	if (store_release(c->store))
		c->failed = true;
	if (a.changed)
		c->changed = true;
	*changed = a.changed;
	return 0;
}

void commit_expire(struct commit *c, int64_t now_ms)
{
	struct dnsd *d = c->d;
	struct apply a = { .c = c };
	struct zrr *r;
	int n = 0;

	if (!zone_expired(d->zone, now_ms) || !batch_open(c))
		return;
	pthread_rwlock_wrlock(&d->lock);
	while (n++ < EXPIRE_PER_BATCH && (r = zone_expired(d->zone, now_ms))) {
		if (remove_rr(&a, r)) {
			c->failed = true;
			break;
		}
		stat_inc(c->st, STAT_records_expired);
	}
	pthread_rwlock_unlock(&d->lock);
	if (a.changed)
		c->changed = true;
}

int commit_end(struct commit *c)
{
	struct dnsd *d = c->d;
	bool ok = true, wrote = false;

	if (c->open) {
		if (c->changed && !c->failed) {
			/* RFC 1982 serial arithmetic wraps; RFC 9664: refreshes do not count */
			uint32_t serial = c->old_serial + 1;

			if (store_serial_set(c->store, serial))
				c->failed = true;
			else
				__atomic_store_n(&d->serial, serial, __ATOMIC_RELAXED);
		}
		if (!c->failed && c->n_undo == 0 && !c->changed) {
			/* nothing was written (refusals, failed prerequisites): no fsync */
			store_rollback(c->store);
		} else if (c->failed || store_commit(c->store)) {
			log_warnx("store: commit failed: %s; %zu changes rolled back",
				  store_errmsg(c->store), c->n_undo);
			store_rollback(c->store);
			pthread_rwlock_wrlock(&d->lock);
			undo_to(c, 0);
			__atomic_store_n(&d->serial, c->old_serial, __ATOMIC_RELAXED);
			pthread_rwlock_unlock(&d->lock);
			stat_inc(c->st, STAT_commit_failed);
			ok = false;
		} else {
			stat_inc(c->st, STAT_commits);
			wrote = true;
		}
	}
	if (ok) {
		/* committed: records removed are gone for good */
		for (size_t i = 0; i < c->n_undo; i++) {
			if (c->undo[i].kind == U_REMOVED)
				free(c->undo[i].rr);
			free(c->undo[i].old_rdata);
		}
		c->n_undo = 0;
	} else {
		free_ev(c, 0);
	}
	c->open = false;
	return ok ? wrote : -EIO;
}

void commit_changes_foreach(struct commit *c,
			    void (*fn)(void *arg, const uint8_t *lname, size_t len, uint16_t type,
				       const uint8_t *rrs, size_t rrs_len),
			    void *arg)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (size_t i = 0; i < c->n_ev; i++) {
		struct change_ev *e = &c->ev[i];
		size_t len = 0;

		if (e->lname_len == 0)
			continue;	/* taken by an earlier group */
		for (size_t j = i; j < c->n_ev; j++) {
			struct change_ev *x = &c->ev[j];
			size_t need = 1 + x->lname_len + 2 + 4 + 2 + x->rdlen;

			if (x->lname_len != e->lname_len || x->type != e->type ||
			    memcmp(x->lname, e->lname, e->lname_len) != 0)
				continue;
			if (len + need > cap) {
				size_t ncap = (len + need) * 2;
				uint8_t *n = realloc(buf, ncap);

				if (!n)
					break;
				buf = n;
				cap = ncap;
			}
			/* name, type, TTL, rdata: the form watch.c reads back */
			buf[len] = x->lname_len;
			memcpy(buf + len + 1, x->lname, x->lname_len);
			len += 1u + x->lname_len;
			buf[len] = (uint8_t)(x->type >> 8);
			buf[len + 1] = (uint8_t)x->type;
			buf[len + 2] = (uint8_t)(x->ttl >> 24);
			buf[len + 3] = (uint8_t)(x->ttl >> 16);
			buf[len + 4] = (uint8_t)(x->ttl >> 8);
			buf[len + 5] = (uint8_t)x->ttl;
			buf[len + 6] = (uint8_t)(x->rdlen >> 8);
			buf[len + 7] = (uint8_t)x->rdlen;
			memcpy(buf + len + 8, x->rdata, x->rdlen);
			len += 8u + x->rdlen;
			if (j != i)
				x->lname_len = 0;
		}
		if (len)
			fn(arg, e->lname, e->lname_len, e->type, buf, len);
	}
	free(buf);
	free_ev(c, 0);
}

struct load_ctx {
	struct zone *z;
	size_t bad;
};

static int load_one(void *arg, const struct store_rr *rr)
{
	struct load_ctx *l = arg;
	uint8_t lname[DNS_NAME_MAX];

	zone_name_lower(lname, rr->name, rr->name_len);
	if (!zone_add(l->z, lname, rr->name_len, rr->type, rr->ttl, rr->rdata, rr->rdlen, rr->id,
		      rr->expires_ms))
		l->bad++;
	return 0;
}

int commit_load_zone(struct store *st, const struct dns_name *apex, struct zone **out, char *err,
		     size_t errlen)
{
	struct load_ctx l = { .z = zone_new(apex->wire, apex->len) };
	int rc;

	if (!l.z) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = store_rr_foreach(st, load_one, &l);
	if (rc) {
		snprintf(err, errlen, "reading records: %s", store_errmsg(st));
		zone_free(l.z);
		return rc;
	}
	if (l.bad)
		log_warnx("%zu stored records are outside the zone or could not be loaded", l.bad);
	*out = l.z;
	return 0;
}
