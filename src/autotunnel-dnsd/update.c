/*
 * The UPDATE decision (update.h). dns_update_process() must see the
 * changes it has already reported during the same call (RFC 2136 §3.4.2:
 * a delete followed by an add of the same RRset, a CNAME added after
 * other data), but the zone index is not changed here: the lookups read
 * the zone through an overlay of the changes recorded so far.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/update.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/update.h"
#include "autotunnel-dnsd/zone.h"

/* The context of the zone interface: a read-only view plus the overlay. */
struct view {
	const struct dnsd *d;
	const struct account *acc;
	struct update_decision *dec;
	enum stat_id refusal;		/* why permit() said no */
	int64_t d_records, d_bytes;	/* what the changes so far add to the account */
};

/* An RR as the overlay shows it. */
struct vrr {
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

typedef int (*vrr_fn)(void *ctx, const struct vrr *rr);

/*
 * Run @p rr through the changes from index @p from on (those at its
 * name): false when one deletes it; a REPLACE gives it a new TTL and
 * rdata. The same rules as the changes get when they are applied
 * (commit.c): a delete of a name takes every record of the node.
 */
static bool survives(const struct update_decision *dec, size_t from, const uint8_t *l, size_t len,
		     struct vrr *rr)
{
	for (size_t i = from; i < dec->n_changes; i++) {
		const struct update_change *c = &dec->changes[i];

		if (c->lname_len != len || memcmp(c->lname, l, len) != 0)
			continue;
		switch (c->op) {
		case DNS_CHANGE_DEL_NAME:
			return false;
		case DNS_CHANGE_DEL_RRSET:
			if (c->type == rr->type)
				return false;
			break;
		case DNS_CHANGE_DEL_RR:
			if (c->type == rr->type &&
			    dns_rdata_equal(rr->type, rr->rdata, rr->rdlen, c->rdata, c->rdlen))
				return false;
			break;
		case DNS_CHANGE_REPLACE:
			if (c->type == rr->type &&
			    dns_rdata_equal(rr->type, rr->rdata, rr->rdlen, c->rdata, c->rdlen)) {
				rr->ttl = c->ttl;
				rr->rdata = c->rdata;
				rr->rdlen = c->rdlen;
			}
			break;
		case DNS_CHANGE_ADD:
			break;
		}
	}
	return true;
}

/* Visit the RRs of lower-case name @p l (type ANY: all) with the overlay applied. */
static int visit(const struct view *v, const uint8_t *l, size_t len, uint16_t type, vrr_fn fn, void *ctx)
{
	const struct update_decision *dec = v->dec;
	const struct znode *n = zone_find(v->d->zone, l, len);
	int rc;

	for (const struct zrr *r = n ? n->rrs : NULL; r; r = r->next) {
		struct vrr rr = { r->type, r->ttl, r->rdata, r->rdlen };

		if (type != DNS_TYPE_ANY && r->type != type)
			continue;
		if (survives(dec, 0, l, len, &rr) && (rc = fn(ctx, &rr)) != 0)
			return rc;
	}
	for (size_t i = 0; i < dec->n_changes; i++) {
		const struct update_change *c = &dec->changes[i];
		struct vrr rr = { c->type, c->ttl, c->rdata, c->rdlen };

		if (c->op != DNS_CHANGE_ADD || c->lname_len != len || memcmp(c->lname, l, len) != 0 ||
		    (type != DNS_TYPE_ANY && c->type != type))
			continue;
		if (survives(dec, i + 1, l, len, &rr) && (rc = fn(ctx, &rr)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the zone interface for dns_update_process() ---- */

struct each_ctx {
	dns_zone_rr_fn each;
	void *ctx;
};

static int call_each(void *arg, const struct vrr *rr)
{
	struct each_ctx *e = arg;

	return e->each(e->ctx, rr->type, rr->ttl, rr->rdata, rr->rdlen);
}

static int z_foreach(void *zone, const struct dns_name *name, uint16_t type, dns_zone_rr_fn each,
		     void *ctx)
{
	struct each_ctx e = { each, ctx };
	uint8_t l[DNS_NAME_MAX];

	zone_name_lower(l, name->wire, name->len);
	return visit(zone, l, name->len, type, call_each, &e);
}

static int stop(void *arg, const struct vrr *rr)
{
	return 1;
}

static int z_exists(void *zone, const struct dns_name *name)
{
	const struct view *v = zone;
	uint8_t l[DNS_NAME_MAX];
	size_t len = name->len;

	zone_name_lower(l, name->wire, len);
	/* a node with descendants exists (RFC 8020): prerequisites, which
	 * are evaluated before any change, see exactly the zone; in the
	 * update section this only decides whether a delete is reported */
	if (znode_exists(zone_find(v->d->zone, l, len)) || visit(v, l, len, DNS_TYPE_ANY, stop, NULL))
		return 1;
	for (size_t i = 0; i < v->dec->n_changes; i++) {
		const struct update_change *c = &v->dec->changes[i];

		size_t off = 0;

		if (c->op != DNS_CHANGE_ADD)
			continue;
		while (off < c->lname_len && c->lname_len - off > len)
			off += 1u + c->lname[off];
		if (off > 0 && c->lname_len - off == len && memcmp(c->lname + off, l, len) == 0)
			return 1;
	}
	return 0;
}

/* At or below the account's domain D? */
static bool in_account(const struct view *v, const uint8_t *l, size_t len)
{
	return accounts_owner(v->d->accounts, l, len) == v->acc;
}

static int z_permit(void *zone, const struct dns_name *name, uint16_t type)
{
	struct view *v = zone;
	uint8_t l[DNS_NAME_MAX];

	zone_name_lower(l, name->wire, name->len);
	if (!in_account(v, l, name->len)) {
		v->refusal = STAT_update_refused_outside_account;
		return -EPERM;
	}
	if (query_is_synthesised(v->d, l, name->len)) {
		v->refusal = STAT_update_refused_synthesised;
		return -EPERM;
	}
	if (type == DNS_TYPE_SOA || type == DNS_TYPE_NS) {
		/* an account cannot delegate or claim a zone */
		v->refusal = STAT_update_refused_type;
		return -EPERM;
	}
	return 0;
}

/* What a change does to the records the overlay shows: does anything change? */
struct effect {
	const struct dns_change *c;
	bool changed;
};

static int effect_of(void *arg, const struct vrr *rr)
{
	struct effect *ef = arg;
	const struct dns_change *c = ef->c;

	switch (c->op) {
	case DNS_CHANGE_DEL_NAME:
	case DNS_CHANGE_DEL_RRSET:
		ef->changed = true;
		return 1;
	case DNS_CHANGE_DEL_RR:
	case DNS_CHANGE_REPLACE:
		if (!dns_rdata_equal(rr->type, rr->rdata, rr->rdlen, c->rdata, c->rdlen))
			return 0;
		/* RFC 9664: re-adding an equal record only refreshes its lease */
		ef->changed = c->op == DNS_CHANGE_DEL_RR || rr->ttl != c->ttl || rr->rdlen != c->rdlen ||
			      memcmp(rr->rdata, c->rdata, c->rdlen) != 0;
		return 1;
	case DNS_CHANGE_ADD:
		break;
	}
	return 0;
}

/* ---- the per-account data quota ---- */

struct removal {
	const struct dns_change *c;
	size_t len;
	int64_t records, bytes;
};

/* A record the overlay shows at the change's name: does the change take it away? */
static int removed(void *arg, const struct vrr *rr)
{
	struct removal *rm = arg;

	if (rm->c->op == DNS_CHANGE_DEL_RR &&
	    !dns_rdata_equal(rr->type, rr->rdata, rr->rdlen, rm->c->rdata, rm->c->rdlen))
		return 0;
	rm->records--;
	rm->bytes -= (int64_t)usage_rr_bytes(rm->len, rr->rdlen);
	/* commit.c deletes the one equal record of a DEL_RR, every one of the others */
	return rm->c->op == DNS_CHANGE_DEL_RR;
}

/*
 * What change @p c (at lower-case @p l) adds to the account's records and
 * bytes, seen through the overlay of the changes before it (the same view
 * commit.c applies it to): an ADD is a new record (an equal one comes as
 * a REPLACE, RFC 2136 §3.4.2.2), a REPLACE keeps the rdata length
 * (dns_rdata_equal()), a delete takes what the overlay still shows.
 */
static void quota_count(struct view *v, const struct dns_change *c, const uint8_t *l, size_t len)
{
	struct removal rm = { .c = c, .len = len };

	switch (c->op) {
	case DNS_CHANGE_ADD:
		v->d_records++;
		v->d_bytes += (int64_t)usage_rr_bytes(len, c->rdlen);
		return;
	case DNS_CHANGE_REPLACE:
		return;
	case DNS_CHANGE_DEL_RR:
	case DNS_CHANGE_DEL_RRSET:
	case DNS_CHANGE_DEL_NAME:
		(void)visit(v, l, len, c->op == DNS_CHANGE_DEL_NAME ? DNS_TYPE_ANY : c->type, removed, &rm);
		v->d_records += rm.records;
		v->d_bytes += rm.bytes;
		return;
	}
}

/*
 * The quota rule: true when the changes take the account above a limit
 * they add to. Fills dec->usage_after.
 */
static bool over_quota(const struct view *v, const struct dnsd_settings *cfg, const struct usage *u)
{
	struct usage_count now = usage_get(u, (const uint8_t *)v->acc->label, v->acc->label_len);
	struct update_decision *dec = v->dec;
	int64_t records = (int64_t)now.records + v->d_records, bytes = (int64_t)now.bytes + v->d_bytes;

	dec->usage_after.records = records > 0 ? (uint64_t)records : 0;
	dec->usage_after.bytes = bytes > 0 ? (uint64_t)bytes : 0;
	return (v->d_records > 0 && records > (int64_t)cfg->account_records) ||
	       (v->d_bytes > 0 && bytes > (int64_t)cfg->account_bytes);
}

static int z_change(void *zone, const struct dns_change *c)
{
	struct view *v = zone;
	struct update_decision *dec = v->dec;
	struct update_change *u;
	struct effect ef = { c, c->op == DNS_CHANGE_ADD };
	uint8_t l[DNS_NAME_MAX];
	size_t len = c->name->len;

	zone_name_lower(l, c->name->wire, len);
	if (c->op != DNS_CHANGE_ADD)
		(void)visit(v, l, len, c->op == DNS_CHANGE_DEL_NAME ? DNS_TYPE_ANY : c->type, effect_of, &ef);
	quota_count(v, c, l, len);
	if (dec->n_changes == dec->cap_changes) {
		size_t cap = dec->cap_changes ? dec->cap_changes * 2 : 8;
		struct update_change *n = realloc(dec->changes, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dec->changes = n;
		dec->cap_changes = cap;
	}
	u = &dec->changes[dec->n_changes];
	u->rdata = NULL;
	if (c->rdata) {
		u->rdata = malloc(c->rdlen ? c->rdlen : 1);
		if (!u->rdata)
			return -ENOMEM;
		memcpy(u->rdata, c->rdata, c->rdlen);
	}
	u->op = c->op;
	u->type = c->type;
	u->ttl = c->ttl;
	u->rdlen = c->rdata ? c->rdlen : 0;
	u->lname_len = (uint8_t)len;
	memcpy(u->lname, l, len);
	dec->n_changes++;
	if (ef.changed)
		dec->changed = true;
	return 0;
}

static const struct dns_zone_ops zone_ops = {
	.rrset_foreach = z_foreach,
	.name_exists = z_exists,
	.permit = z_permit,
	.change = z_change,
};

/* ---- the decision ---- */

static void decided(struct update_decision *dec, uint16_t rcode, enum stat_id counter, bool sign)
{
	dec->rcode = rcode;
	dec->counter = counter;
	dec->sign = sign;
}

static void drop_changes(struct update_decision *dec)
{
	for (size_t i = 0; i < dec->n_changes; i++)
		free(dec->changes[i].rdata);
	dec->n_changes = 0;
	dec->changed = false;
}

void update_decision_fini(struct update_decision *dec)
{
	drop_changes(dec);
	free(dec->changes);
	dec->changes = NULL;
	dec->cap_changes = 0;
}

static enum stat_id notauth_counter(uint16_t tsig_error)
{
	switch (tsig_error) {
	case DNS_RCODE_BADKEY: return STAT_notauth_badkey;
	case DNS_RCODE_BADSIG: return STAT_notauth_badsig;
	case DNS_RCODE_BADTIME: return STAT_notauth_badtime;
	default: return STAT_notauth_badtrunc;
	}
}

/*
 * The zone an UPDATE's zone section @p zname names (@p lz: room for its
 * lower-case form): the served zone, or an account domain D, each a zone
 * of its own so that stock clients, which find the zone of their names
 * with SOA queries (RFC 2136 §4), update there. NULL for anything else,
 * existing or not: NOTAUTH (RFC 2136 §3.1.2).
 */
static const struct dns_name *update_zone(const struct dnsd *d, const struct dns_name *zname,
					  uint8_t lz[static DNS_NAME_MAX])
{
	const struct account *a;

	zone_name_lower(lz, zname->wire, zname->len);
	if (zname->len == d->apex.len && memcmp(lz, d->apex.wire, zname->len) == 0)
		return &d->apex;
	if (dnsd_zone_offset(d, lz, zname->len) < 0 ||
	    accounts_label_offset(d->accounts, lz, zname->len) != 0)
		return NULL;
	a = accounts_owner(d->accounts, lz, zname->len);
	return a ? &a->key.name : NULL;
}

void update_decide(const struct update_request *rq, const struct dnsd *d, int64_t now_ms,
		   struct update_decision *out)
{
	const struct dns_msg *m = rq->m;
	const struct dnsd_settings *cfg = d->cfg;
	struct view v = { .d = d, .dec = out, .refusal = STAT_COUNT };
	const struct dns_name *zone;
	struct dns_name zname;
	uint8_t lz[DNS_NAME_MAX];
	uint16_t zclass, rcode;
	uint32_t granted;
	/* RFC 8945 §5.3: every answer to a validly signed request is signed */
	bool verified = rq->rate_ok && rq->tsig_rc == 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!rq->rate_ok) {
		/* RFC 8945 §5.3: a validly signed request gets a signed answer */
		decided(out, DNS_RCODE_REFUSED, STAT_update_refused_rate, rq->tsig_rc == 0);
		return;
	}
	/* RFC 2136 §3.1: the zone section names a zone of ours */
	if (dns_update_zone(m, &zname, &zclass)) {
		decided(out, DNS_RCODE_FORMERR, STAT_update_formerr, verified);
		return;
	}
	zone = update_zone(d, &zname, lz);
	if (!zone && dnsd_zone_offset(d, lz, zname.len) >= 0 && accounts_moved(d->accounts, lz, zname.len)) {
		/* RFC 2136 §3.1.2: not authoritative for D any more (account move);
		 * unsigned: its key left with it. The client asks the parent again. */
		decided(out, DNS_RCODE_NOTAUTH, STAT_update_notauth_moved, false);
		return;
	}
	if (!zone || zclass != DNS_CLASS_IN) {
		decided(out, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, verified);
		return;
	}
	/* docs/design.md §5: only with a valid TSIG */
	if (rq->tsig_rc == -ENOENT) {
		decided(out, DNS_RCODE_REFUSED, STAT_update_refused_unsigned, false);
		return;
	}
	if (rq->tsig_rc == -EACCES) {
		/* RFC 8945 §5.2: the answer carries the TSIG error */
		decided(out, DNS_RCODE_NOTAUTH, notauth_counter(rq->tsig_error), true);
		return;
	}
	if (rq->tsig_rc == -EBADMSG) {
		decided(out, DNS_RCODE_FORMERR, STAT_update_formerr, false);
		return;
	}
	if (rq->tsig_rc) {
		decided(out, DNS_RCODE_SERVFAIL, STAT_update_servfail, false);
		return;
	}
	v.acc = out->acc = rq->key ? accounts_by_keyname(d->accounts, rq->key) : NULL;
	if (!v.acc) {
		decided(out, DNS_RCODE_SERVFAIL, STAT_update_servfail, true);
		return;
	}

	/* RFC 9664: the lease, or the longest one for a stock client */
	rc = dns_update_lease(m, &out->lease);
	if (rc == -EBADMSG) {
		decided(out, DNS_RCODE_FORMERR, STAT_update_formerr, true);
		return;
	}
	if (rc == -ENOENT) {
		if (cfg->require_lease) {
			decided(out, DNS_RCODE_REFUSED, STAT_update_refused_no_lease, true);
			return;
		}
		out->lease.lease = (uint32_t)cfg->lease_max;
		out->lease.has_key_lease = false;
	}
	granted = out->lease.lease;
	if (granted < (uint32_t)cfg->lease_min)
		granted = (uint32_t)cfg->lease_min;
	if (granted > (uint32_t)cfg->lease_max)
		granted = (uint32_t)cfg->lease_max;
	out->lease.lease = granted;
	if (out->lease.has_key_lease && out->lease.key_lease > granted)
		out->lease.key_lease = granted;
	out->expires_ms = now_ms + (int64_t)granted * 1000;

	/* prerequisites may look only at the account's own names */
	for (unsigned i = 0; i < m->count[DNS_SEC_PREREQ]; i++) {
		const struct dns_rr *rr = dns_msg_rr(m, DNS_SEC_PREREQ, i);
		struct dns_name pn;
		uint8_t lp[DNS_NAME_MAX];

		if (dns_msg_name(m, rr->off, &pn))
			continue;
		zone_name_lower(lp, pn.wire, pn.len);
		if (dnsd_zone_offset(d, lp, pn.len) >= 0 && !in_account(&v, lp, pn.len)) {
			decided(out, DNS_RCODE_REFUSED, STAT_update_refused_prereq_outside, true);
			return;
		}
	}

	/* with zone D, names outside D are NOTZONE (RFC 2136 §3.4.1.3);
	 * permit() holds the key to D's names whatever the zone */
	rc = dns_update_process(m, zone, DNS_CLASS_IN, &zone_ops, &v, &rcode);
	if (rc < 0 || rcode != DNS_RCODE_NOERROR)
		drop_changes(out);
	if (rc < 0) {
		decided(out, DNS_RCODE_SERVFAIL, STAT_update_servfail, true);
		return;
	}
	if (rcode == DNS_RCODE_NOERROR && over_quota(&v, cfg, rq->usage)) {
		drop_changes(out);
		decided(out, DNS_RCODE_REFUSED, STAT_update_refused_quota, true);
		return;
	}
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		decided(out, rcode, out->changed ? STAT_updates_ok : STAT_updates_refresh, true);
		out->lease_granted = true;
		break;
	case DNS_RCODE_REFUSED:
		decided(out, rcode, v.refusal != STAT_COUNT ? v.refusal : STAT_update_refused_outside_account,
			true);
		break;
	case DNS_RCODE_NOTZONE:
		decided(out, rcode, STAT_update_notzone, true);
		break;
	case DNS_RCODE_FORMERR:
		decided(out, rcode, STAT_update_formerr, true);
		break;
	default:	/* NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET: RFC 2136 §3.2.5 */
		decided(out, rcode, STAT_update_prereq_failed, true);
		break;
	}
}
