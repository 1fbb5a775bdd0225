/*
 * UPDATE (RFC 2136) with the server's policy (DESIGN.md §5), update leases
 * (RFC 9664) and the group commit.
 *
 * Policy: only a valid TSIG whose key owns the names touched: a key for D
 * may change names at or below D, never the synthesised server records,
 * never SOA or NS, never another account's names; its prerequisites may
 * only look at D's names too (they would otherwise reveal another
 * account's data).
 *
 * Leases: every record an update adds is leased; an update without the
 * lease option gets the longest lease (so stock nsupdate works) unless
 * require-lease; leases are clamped to [lease-min, lease-max]; re-adding
 * an existing record refreshes its lease and, when nothing else changed,
 * does not bump the serial.
 *
 * Group commit: the engine opens one transaction per batch; each update
 * runs inside a savepoint and is applied to the zone index at once (with
 * an undo log), and all are answered only after the commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/tsig.h"
#include "dns/update.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/store.h"
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

/*
 * Per-client UPDATE rate limit (DESIGN.md §5): a token bucket per client
 * address, in a fixed table (addresses that hash alike share a bucket, so
 * memory stays bounded whatever the number of clients).
 */
#define RATE_BUCKETS 4096

struct rate_bucket {
	uint64_t last_ms;
	uint64_t tokens_milli;
};

struct batch {
	struct rate_bucket rate[RATE_BUCKETS];
	struct undo *undo;
	size_t n_undo, cap_undo;
	struct change_ev *ev;
	size_t n_ev, cap_ev;
	struct eitem *done, **done_tail;	/* updates to answer after the commit */
	bool open;			/* the transaction is begun */
	bool changed;			/* the serial must move */
	bool failed;			/* the store failed: everything rolls back */
	uint32_t old_serial;
};

/* One update being processed: the zone interface's context. */
struct upd {
	struct engine *e;
	const struct account *acc;
	int64_t expires_ms;
	size_t undo_mark, ev_mark;
	bool changed;
	enum stat_id refusal;
};

struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

static void free_ev(struct batch *b, size_t from)
{
	for (size_t i = from; i < b->n_ev; i++)
		free(b->ev[i].rdata);
	b->n_ev = from;
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	free_ev(b, 0);
	for (size_t i = 0; i < b->n_undo; i++)
		free(b->undo[i].old_rdata);
	free(b->undo);
	free(b->ev);
	free(b);
}

static struct undo *undo_push(struct batch *b)
{
	if (b->n_undo == b->cap_undo) {
		size_t cap = b->cap_undo ? b->cap_undo * 2 : 64;
		struct undo *u = realloc(b->undo, cap * sizeof(*u));

		if (!u)
			return NULL;
		b->undo = u;
		b->cap_undo = cap;
	}
	memset(&b->undo[b->n_undo], 0, offsetof(struct undo, lname));
	return &b->undo[b->n_undo++];
}

static int ev_push(struct batch *b, const uint8_t *lname, size_t len, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen)
{
	struct change_ev *c;

	if (b->n_ev == b->cap_ev) {
		size_t cap = b->cap_ev ? b->cap_ev * 2 : 64;
		struct change_ev *n = realloc(b->ev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->ev = n;
		b->cap_ev = cap;
	}
	c = &b->ev[b->n_ev];
	c->rdata = malloc(rdlen ? rdlen : 1);
	if (!c->rdata)
		return -ENOMEM;
	memcpy(c->rdata, rdata, rdlen);
	c->rdlen = rdlen;
	c->lname_len = (uint8_t)len;
	memcpy(c->lname, lname, len);
	c->type = type;
	c->ttl = ttl;
	b->n_ev++;
	return 0;
}

/* Undo entries from the end down to @p mark, newest first. */
static void undo_to(struct engine *e, size_t mark)
{
	struct batch *b = e->batch;

	while (b->n_undo > mark) {
		struct undo *u = &b->undo[--b->n_undo];

		switch (u->kind) {
		case U_ADDED:
			zone_unlink(e->d->zone, u->rr);
			free(u->rr);
			break;
		case U_REMOVED:
			if (zone_relink(e->d->zone, u->rr, u->lname, u->lname_len)) {
				log_warnx("out of memory restoring a record; it is lost until restart");
				free(u->rr);
			}
			break;
		case U_MODIFIED:
			u->rr->ttl = u->old_ttl;
			if (u->old_rdata)
				memcpy(u->rr->rdata, u->old_rdata, u->rr->rdlen);
			zone_set_expiry(e->d->zone, u->rr, u->old_expires);
			break;
		}
		free(u->old_rdata);
		u->old_rdata = NULL;
	}
}

/* ---- the zone interface for dns_update_process() ---- */

static int z_foreach(void *zone, const struct dns_name *name, uint16_t type, dns_zone_rr_fn each,
		     void *ctx)
{
	struct upd *u = zone;
	uint8_t l[DNS_NAME_MAX];
	const struct znode *n;

	zone_name_lower(l, name->wire, name->len);
	n = zone_find(u->e->d->zone, l, name->len);
	for (const struct zrr *r = n ? n->rrs : NULL; r; r = r->next) {
		int rc;

		if (type != DNS_TYPE_ANY && r->type != type)
			continue;
		rc = each(ctx, r->type, r->ttl, r->rdata, r->rdlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int z_exists(void *zone, const struct dns_name *name)
{
	struct upd *u = zone;
	uint8_t l[DNS_NAME_MAX];

	zone_name_lower(l, name->wire, name->len);
	return znode_exists(zone_find(u->e->d->zone, l, name->len)) ? 1 : 0;
}

/* At or below the account's domain D? */
static bool in_account(const struct upd *u, const uint8_t *l, size_t len)
{
	return accounts_owner(u->e->d->accounts, l, len) == u->acc;
}

static int z_permit(void *zone, const struct dns_name *name, uint16_t type)
{
	struct upd *u = zone;
	uint8_t l[DNS_NAME_MAX];

	zone_name_lower(l, name->wire, name->len);
	if (!in_account(u, l, name->len)) {
		u->refusal = STAT_update_refused_outside_account;
		return -EPERM;
	}
	if (query_is_synthesised(u->e->d, l, name->len)) {
		u->refusal = STAT_update_refused_synthesised;
		return -EPERM;
	}
	if (type == DNS_TYPE_SOA || type == DNS_TYPE_NS) {
		/* an account cannot delegate or claim a zone */
		u->refusal = STAT_update_refused_type;
		return -EPERM;
	}
	return 0;
}

static struct zrr *find_equal(const struct znode *n, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	for (struct zrr *r = n ? n->rrs : NULL; r; r = r->next)
		if (r->type == type && dns_rdata_equal(type, r->rdata, r->rdlen, rd, rdlen))
			return r;
	return NULL;
}

static int remove_rr(struct upd *u, struct zrr *r)
{
	struct engine *e = u->e;
	struct undo *un;
	uint8_t lname[DNS_NAME_MAX];
	size_t len = r->node->name_len;

	memcpy(lname, r->node->name, len);
	if (store_rr_delete(e->store, r->id))
		return -EIO;
	un = undo_push(e->batch);
	if (!un || ev_push(e->batch, lname, len, r->type, RRS_REMOVED, r->rdata, r->rdlen)) {
		if (un)
			e->batch->n_undo--;
		return -ENOMEM;
	}
	un->kind = U_REMOVED;
	un->rr = r;
	un->lname_len = (uint8_t)len;
	memcpy(un->lname, lname, len);
	zone_unlink(e->d->zone, r);
	u->changed = true;
	stat_inc(e->st, STAT_records_deleted);
	return 0;
}

static int z_change(void *zone, const struct dns_change *c)
{
	struct upd *u = zone;
	struct engine *e = u->e;
	struct zone *z = e->d->zone;
	uint8_t l[DNS_NAME_MAX];
	size_t len = c->name->len;
	struct znode *n;
	struct zrr *r;
	struct undo *un;
	int64_t id;
	int rc;

	zone_name_lower(l, c->name->wire, len);
	n = zone_find(z, l, len);
	switch (c->op) {
	case DNS_CHANGE_ADD: {
		struct store_rr srr = { .name = l, .name_len = (uint8_t)len, .type = c->type,
					.rclass = DNS_CLASS_IN, .ttl = c->ttl, .rdata = c->rdata,
					.rdlen = c->rdlen, .expires_ms = u->expires_ms,
					.account = u->acc->label };

		if (store_rr_insert(e->store, &srr, &id))
			return -EIO;
		un = undo_push(e->batch);
		if (!un)
			return -ENOMEM;
		r = zone_add(z, l, len, c->type, c->ttl, c->rdata, c->rdlen, id, u->expires_ms);
		if (!r || ev_push(e->batch, l, len, c->type, c->ttl, c->rdata, c->rdlen)) {
			if (r) {
				zone_unlink(z, r);
				free(r);
			}
			e->batch->n_undo--;
			return -ENOMEM;
		}
		un->kind = U_ADDED;
		un->rr = r;
		u->changed = true;
		stat_inc(e->st, STAT_records_added);
		return 0;
	}
	case DNS_CHANGE_REPLACE: {
		bool same;

		r = find_equal(n, c->type, c->rdata, c->rdlen);
		if (!r || r->rdlen != c->rdlen)
			return -ENOENT;
		same = r->ttl == c->ttl && memcmp(r->rdata, c->rdata, c->rdlen) == 0;
		if (store_rr_update(e->store, r->id, c->ttl, c->rdata, c->rdlen, u->expires_ms))
			return -EIO;
		un = undo_push(e->batch);
		if (!un)
			return -ENOMEM;
		un->kind = U_MODIFIED;
		un->rr = r;
		un->old_ttl = r->ttl;
		un->old_expires = r->expires_ms;
		if (!same) {
			un->old_rdata = malloc(r->rdlen ? r->rdlen : 1);
			if (!un->old_rdata ||
			    ev_push(e->batch, l, len, c->type, c->ttl, c->rdata, c->rdlen)) {
				free(un->old_rdata);
				un->old_rdata = NULL;
				e->batch->n_undo--;
				return -ENOMEM;
			}
			memcpy(un->old_rdata, r->rdata, r->rdlen);
			memcpy(r->rdata, c->rdata, c->rdlen);
			r->ttl = c->ttl;
			u->changed = true;
		}
		/* RFC 9664: re-adding a record refreshes its lease */
		zone_set_expiry(z, r, u->expires_ms);
		return 0;
	}
	case DNS_CHANGE_DEL_RR:
		r = find_equal(n, c->type, c->rdata, c->rdlen);
		return r ? remove_rr(u, r) : 0;
	case DNS_CHANGE_DEL_RRSET:
	case DNS_CHANGE_DEL_NAME:
		/* the node goes away with its last record: look it up each time */
		for (;;) {
			n = zone_find(z, l, len);
			for (r = n ? n->rrs : NULL; r; r = r->next)
				if (c->op == DNS_CHANGE_DEL_NAME || r->type == c->type)
					break;
			if (!r)
				return 0;
			rc = remove_rr(u, r);
			if (rc)
				return rc;
		}
	}
	return -EINVAL;
}

static const struct dns_zone_ops zone_ops = {
	.rrset_foreach = z_foreach,
	.name_exists = z_exists,
	.permit = z_permit,
	.change = z_change,
};

/* ---- one UPDATE ---- */

static void respond(struct engine *e, struct eitem *it, unsigned rcode, bool sign,
		    const struct dns_lease *lease)
{
	struct qscratch *s = e->qs;
	struct dns_builder *b = &s->b;
	const struct dns_msg *m = &s->msg;
	size_t len;
	uint16_t limit = it->t == Q_UDP ? (m->edns.present ? DNS_EDNS_SERVER_UDP : DNS_UDP_MIN)
					: DNS_MSG_MAX_LEN;

	if (dns_builder_reply(b, e->out, ENGINE_OUT_MAX, limit, m))
		goto header_only;
	if (sign)
		dns_builder_reserve(b, dns_tsig_space(&s->tsig));
	if (m->edns.present) {
		dns_builder_edns(b, DNS_EDNS_SERVER_UDP, 0);
		if (lease)
			(void)dns_builder_add_lease(b, lease);	/* RFC 9664 §4: the granted lease */
	}
	dns_builder_set_rcode(b, rcode);
	if (dns_builder_finish(b, &len))
		goto header_only;
	if (sign && dns_tsig_sign_response(&s->tsig, e->out, len, ENGINE_OUT_MAX, &len, clock_wall_s()))
		goto header_only;
	goto keep;
header_only:
	len = (size_t)dns_msg_error_header(e->out, ENGINE_OUT_MAX, &m->hdr, rcode & DNS_RCODE_MASK);
keep:
	it->resp = malloc(len);
	if (it->resp) {
		memcpy(it->resp, e->out, len);
		it->resp_len = len;
	}
}

static void defer(struct engine *e, struct eitem *it)
{
	struct batch *b = e->batch;

	it->next = NULL;
	*b->done_tail = it;
	b->done_tail = &it->next;
}

static bool batch_open(struct engine *e)
{
	struct batch *b = e->batch;

	if (b->open)
		return true;
	if (b->failed)
		return false;
	if (store_begin(e->store)) {
		log_warnx("store: cannot begin a transaction: %s", store_errmsg(e->store));
		b->failed = true;
		return false;
	}
	b->open = true;
	b->old_serial = e->d->serial;
	return true;
}

void update_batch_begin(struct engine *e)
{
	struct batch *b = e->batch;

	b->done = NULL;
	b->done_tail = &b->done;
	b->open = b->changed = b->failed = false;
	b->n_undo = 0;
	free_ev(b, 0);
}

static bool rate_allow(struct engine *e, const struct eitem *it)
{
	uint64_t per_sec = (uint64_t)e->d->cfg->update_rate, burst = 2 * per_sec;
	uint32_t h = 2166136261u;
	const uint8_t *a;
	size_t alen;
	struct rate_bucket *b;
	uint64_t now = clock_now_ms(), add;

	if (per_sec == 0)
		return true;
	if (it->peer.ss_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)&it->peer)->sin6_addr;
		alen = 16;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)&it->peer)->sin_addr;
		alen = 4;
	}
	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	b = &e->batch->rate[h % RATE_BUCKETS];
	add = (now - b->last_ms) * per_sec;	/* milli-tokens */
	if (b->last_ms == 0 || add >= burst * 1000 || b->tokens_milli + add > burst * 1000)
		b->tokens_milli = burst * 1000;
	else
		b->tokens_milli += add;
	b->last_ms = now;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

void update_handle(struct engine *e, struct eitem *it)
{
	struct qscratch *s = e->qs;
	const struct dns_msg *m = &s->msg;
	struct dnsd *d = e->d;
	struct upd u = { .e = e };
	struct dns_name zname;
	struct dns_lease lease = { 0 };
	uint8_t lz[DNS_NAME_MAX];
	uint16_t zclass, rcode;
	int64_t now_ms;
	uint32_t granted;
	int rc;

	stat_inc(e->st, STAT_updates);
	defer(e, it);
	if (!rate_allow(e, it)) {
		stat_inc(e->st, STAT_update_refused_rate);
		respond(e, it, DNS_RCODE_REFUSED, false, NULL);
		return;
	}
	if (m->tsig >= 0)
		memset(&s->tsig, 0, sizeof(s->tsig));
	/* RFC 2136 §3.1: the zone section names our zone */
	if (dns_update_zone(m, &zname, &zclass)) {
		stat_inc(e->st, STAT_update_formerr);
		respond(e, it, DNS_RCODE_FORMERR, false, NULL);
		goto out;
	}
	zone_name_lower(lz, zname.wire, zname.len);
	if (zname.len != d->apex.len || memcmp(lz, d->apex.wire, zname.len) != 0 ||
	    zclass != DNS_CLASS_IN) {
		stat_inc(e->st, STAT_update_notauth_zone);
		respond(e, it, DNS_RCODE_NOTAUTH, false, NULL);
		goto out;
	}
	/* DESIGN.md §5: only with a valid TSIG */
	if (m->tsig < 0) {
		stat_inc(e->st, STAT_update_refused_unsigned);
		respond(e, it, DNS_RCODE_REFUSED, false, NULL);
		goto out;
	}
	rc = dns_tsig_verify_request(&s->tsig, m, query_key_lookup, d, clock_wall_s());
	if (rc == -EACCES) {
		switch (s->tsig.error) {
		case DNS_RCODE_BADKEY: stat_inc(e->st, STAT_notauth_badkey); break;
		case DNS_RCODE_BADSIG: stat_inc(e->st, STAT_notauth_badsig); break;
		case DNS_RCODE_BADTIME: stat_inc(e->st, STAT_notauth_badtime); break;
		default: stat_inc(e->st, STAT_notauth_badtrunc); break;
		}
		respond(e, it, DNS_RCODE_NOTAUTH, true, NULL);
		goto out;
	}
	if (rc) {
		stat_inc(e->st, rc == -EBADMSG ? STAT_update_formerr : STAT_update_servfail);
		respond(e, it, rc == -EBADMSG ? DNS_RCODE_FORMERR : DNS_RCODE_SERVFAIL, false, NULL);
		goto out;
	}
	u.acc = accounts_by_keyname(d->accounts, &s->tsig.key.name);
	if (!u.acc) {
		stat_inc(e->st, STAT_update_servfail);
		respond(e, it, DNS_RCODE_SERVFAIL, true, NULL);
		goto out;
	}

	/* RFC 9664: the lease, or the longest one for a stock client */
	rc = dns_update_lease(m, &lease);
	if (rc == -EBADMSG) {
		stat_inc(e->st, STAT_update_formerr);
		respond(e, it, DNS_RCODE_FORMERR, true, NULL);
		goto out;
	}
	if (rc == -ENOENT) {
		if (d->cfg->require_lease) {
			stat_inc(e->st, STAT_update_refused_no_lease);
			respond(e, it, DNS_RCODE_REFUSED, true, NULL);
			goto out;
		}
		lease.lease = (uint32_t)d->cfg->lease_max;
		lease.has_key_lease = false;
	}
	granted = lease.lease;
	if (granted < (uint32_t)d->cfg->lease_min)
		granted = (uint32_t)d->cfg->lease_min;
	if (granted > (uint32_t)d->cfg->lease_max)
		granted = (uint32_t)d->cfg->lease_max;
	lease.lease = granted;
	if (lease.has_key_lease && lease.key_lease > granted)
		lease.key_lease = granted;

	/* prerequisites may look only at the account's own names */
	for (unsigned i = 0; i < m->count[DNS_SEC_PREREQ]; i++) {
		const struct dns_rr *rr = dns_msg_rr(m, DNS_SEC_PREREQ, i);
		struct dns_name pn;
		uint8_t lp[DNS_NAME_MAX];

		if (dns_msg_name(m, rr->off, &pn))
			continue;
		zone_name_lower(lp, pn.wire, pn.len);
		if (query_zone_offset(d, lp, pn.len) >= 0 && !in_account(&u, lp, pn.len)) {
			stat_inc(e->st, STAT_update_refused_prereq_outside);
			respond(e, it, DNS_RCODE_REFUSED, true, NULL);
			goto out;
		}
	}

	if (!batch_open(e) || store_savepoint(e->store)) {
		stat_inc(e->st, STAT_update_servfail);
		respond(e, it, DNS_RCODE_SERVFAIL, true, NULL);
		goto out;
	}
	now_ms = engine_wall_ms();
	u.expires_ms = now_ms + (int64_t)granted * 1000;
	u.undo_mark = e->batch->n_undo;
	u.ev_mark = e->batch->n_ev;
	u.refusal = STAT_COUNT;
	pthread_rwlock_wrlock(&d->lock);
	rc = dns_update_process(m, &d->apex, DNS_CLASS_IN, &zone_ops, &u, &rcode);
	if (rc < 0) {
		undo_to(e, u.undo_mark);
		free_ev(e->batch, u.ev_mark);
	}
	pthread_rwlock_unlock(&d->lock);
	if (rc < 0) {
		store_rollback_savepoint(e->store);
		log_warnx("update from %s failed: %s", u.acc->label, strerror(-rc));
		stat_inc(e->st, STAT_update_servfail);
		respond(e, it, DNS_RCODE_SERVFAIL, true, NULL);
		goto out;
	}
	if (store_release(e->store)) {
		e->batch->failed = true;
	}
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		if (u.changed)
			e->batch->changed = true;
		stat_inc(e->st, u.changed ? STAT_updates_ok : STAT_updates_refresh);
		respond(e, it, DNS_RCODE_NOERROR, true, &lease);
		break;
	case DNS_RCODE_REFUSED:
		stat_inc(e->st, u.refusal != STAT_COUNT ? u.refusal : STAT_update_refused_outside_account);
		respond(e, it, rcode, true, NULL);
		break;
	case DNS_RCODE_NOTZONE:
		stat_inc(e->st, STAT_update_notzone);
		respond(e, it, rcode, true, NULL);
		break;
	case DNS_RCODE_FORMERR:
		stat_inc(e->st, STAT_update_formerr);
		respond(e, it, rcode, true, NULL);
		break;
	default:	/* NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET: RFC 2136 §3.2.5 */
		stat_inc(e->st, STAT_update_prereq_failed);
		respond(e, it, rcode, true, NULL);
		break;
	}
out:
	if (m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
}

void update_expire(struct engine *e)
{
	struct dnsd *d = e->d;
	int64_t now_ms = engine_wall_ms();
	struct upd u = { .e = e };
	struct zrr *r;
	int n = 0;

	e->expire_due = false;
	if (!zone_expired(d->zone, now_ms) || !batch_open(e))
		return;
	pthread_rwlock_wrlock(&d->lock);
	while (n++ < EXPIRE_PER_BATCH && (r = zone_expired(d->zone, now_ms))) {
		if (remove_rr(&u, r)) {
			e->batch->failed = true;
			break;
		}
		stat_inc(e->st, STAT_records_expired);
	}
	pthread_rwlock_unlock(&d->lock);
	if (u.changed)
		e->batch->changed = true;
}

/* Group the batch's changes by (name, type) and hand them to the LLQs. */
static void emit_events(struct engine *e)
{
	struct batch *b = e->batch;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (size_t i = 0; i < b->n_ev; i++) {
		struct change_ev *c = &b->ev[i];
		size_t len = 0;

		if (c->lname_len == 0)
			continue;	/* taken by an earlier group */
		for (size_t j = i; j < b->n_ev; j++) {
			struct change_ev *x = &b->ev[j];
			size_t need = 1 + x->lname_len + 2 + 4 + 2 + x->rdlen;

			if (x->lname_len != c->lname_len || x->type != c->type ||
			    memcmp(x->lname, c->lname, c->lname_len) != 0)
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
			watch_notify(e, c->lname, c->lname_len, c->type, buf, len);
	}
	free(buf);
}

void update_batch_end(struct engine *e)
{
	struct batch *b = e->batch;
	struct dnsd *d = e->d;
	struct eitem *it, *next;
	bool ok = true;

	if (b->open) {
		if (b->changed && !b->failed) {
			/* RFC 1982 serial arithmetic wraps; RFC 9664: refreshes do not count */
			uint32_t serial = b->old_serial + 1;

			if (store_serial_set(e->store, serial))
				b->failed = true;
			else
				__atomic_store_n(&d->serial, serial, __ATOMIC_RELAXED);
		}
		if (!b->failed && b->n_undo == 0 && !b->changed) {
			/* nothing was written (refusals, failed prerequisites): no fsync */
			store_rollback(e->store);
		} else if (b->failed || store_commit(e->store)) {
			log_warnx("store: commit failed: %s; %zu changes rolled back",
				  store_errmsg(e->store), b->n_undo);
			store_rollback(e->store);
			pthread_rwlock_wrlock(&d->lock);
			undo_to(e, 0);
			__atomic_store_n(&d->serial, b->old_serial, __ATOMIC_RELAXED);
			pthread_rwlock_unlock(&d->lock);
			stat_inc(e->st, STAT_commit_failed);
			ok = false;
		} else {
			stat_inc(e->st, STAT_commits);
		}
	}
	if (ok) {
		/* committed: records removed are gone for good */
		for (size_t i = 0; i < b->n_undo; i++) {
			if (b->undo[i].kind == U_REMOVED)
				free(b->undo[i].rr);
			free(b->undo[i].old_rdata);
		}
		b->n_undo = 0;
	}
	/* the commit precedes every answer (DESIGN.md §5) */
	for (it = b->done; it; it = next) {
		next = it->next;
		if (ok && it->resp) {
			engine_reply(e, it, it->resp, it->resp_len);
		} else {
			struct dns_header h = { .id = it->id, .flags = it->flags };
			int n = dns_msg_error_header(e->out, ENGINE_OUT_MAX, &h, DNS_RCODE_SERVFAIL);

			if (n > 0)
				engine_reply(e, it, e->out, (size_t)n);
		}
		engine_item_free(e, it);
	}
	b->done = NULL;
	b->done_tail = &b->done;
	if (ok)
		emit_events(e);
	free_ev(b, 0);
	b->open = false;
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

int update_load_zone(struct engine *e, struct zone **out, char *err, size_t errlen)
{
	struct load_ctx l = { .z = zone_new(e->d->apex.wire, e->d->apex.len) };
	int rc;

	if (!l.z) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = store_rr_foreach(e->store, load_one, &l);
	if (rc) {
		snprintf(err, errlen, "reading records: %s", store_errmsg(e->store));
		zone_free(l.z);
		return rc;
	}
	if (l.bad)
		log_warnx("%zu stored records are outside the zone or could not be loaded", l.bad);
	*out = l.z;
	return 0;
}
