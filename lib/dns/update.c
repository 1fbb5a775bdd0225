/* lib/dns/update.c: RFC 2136 prerequisite and update processing. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "dns/update.h"

/* DNSSEC types that may sit beside a CNAME (RFC 2136 §3.4.2.2, RFC 4035 §2.5) */
static bool cname_compatible(uint16_t type)
{
	return type == 24 /* SIG */ || type == 25 /* KEY */ || type == 30 /* NXT */ ||
	       type == 46 /* RRSIG */ || type == 47 /* NSEC */;
}

int dns_update_zone(const struct dns_msg *m, struct dns_name *zname, uint16_t *zclass)
{
	/* §3.1.1: exactly one zone, and its type is SOA */
	if (dns_msg_count(m, DNS_SEC_ZONE) != 1 || m->qd[0].type != DNS_TYPE_SOA)
		return -EBADMSG;
	if (dns_msg_name(m, m->qd[0].name, zname))
		return -EBADMSG;
	*zclass = m->qd[0].rclass;
	return 0;
}

int dns_update_lease(const struct dns_msg *m, struct dns_lease *out)
{
	struct wire data;
	int err = dns_edns_find(m, DNS_EDNS_OPT_UL, &data);

	if (err)
		return err;
	return dns_lease_parse(&data, out);
}

/* ---- zone lookups through the callbacks ---------------------------------- */

static int stop_at_first(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	return 1;
}

/* 1 if (name, type) has any RR (type ANY: any type), 0 if not, or -errno. */
static int rrset_exists(const struct dns_zone_ops *ops, void *zone, const struct dns_name *name,
			uint16_t type)
{
	int r = ops->rrset_foreach(zone, name, type, stop_at_first, NULL);

	return r < 0 ? r : r ? 1 : 0;
}

struct find_rd {
	const uint8_t *rd;
	uint16_t rdlen;
	uint16_t type;
	uint32_t ttl;		/* out: of the RR found */
	unsigned count;		/* out: RRs visited */
};

static int match_rdata(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	struct find_rd *f = ctx;

	f->count++;
	if (dns_rdata_equal(f->type, f->rd, f->rdlen, rd, rdlen)) {
		f->ttl = ttl;
		return 1;
	}
	return 0;
}

/* 1 if (name, type) holds an RR with rdata equal to rd (TTL in *ttl), 0 if not, or -errno. */
static int rr_exists(const struct dns_zone_ops *ops, void *zone, const struct dns_name *name, uint16_t type,
		     const uint8_t *rd, uint16_t rdlen, uint32_t *ttl)
{
	struct find_rd f = { .rd = rd, .rdlen = rdlen, .type = type };
	int r = ops->rrset_foreach(zone, name, type, match_rdata, &f);

	if (r < 0)
		return r;
	if (r && ttl)
		*ttl = f.ttl;
	return r ? 1 : 0;
}

static int count_rr(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	(*(unsigned *)ctx)++;
	return 0;
}

/* Number of RRs in (name, type), or -errno. */
static int rrset_size(const struct dns_zone_ops *ops, void *zone, const struct dns_name *name, uint16_t type)
{
	unsigned n = 0;
	int r = ops->rrset_foreach(zone, name, type, count_rr, &n);

	return r < 0 ? r : (int)n;
}

struct type_filter {
	bool (*want)(uint16_t type);
};

static bool not_cname_or_dnssec(uint16_t type)
{
	return type != DNS_TYPE_CNAME && !cname_compatible(type);
}

static bool not_soa_or_ns(uint16_t type)
{
	return type != DNS_TYPE_SOA && type != DNS_TYPE_NS;
}

static int stop_at_wanted(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	const struct type_filter *f = ctx;

	return f->want(type) ? 1 : 0;
}

/* 1 if the name holds an RR of a type @p want accepts, 0 if not, or -errno. */
static int name_has(const struct dns_zone_ops *ops, void *zone, const struct dns_name *name,
		    bool (*want)(uint16_t type))
{
	struct type_filter f = { want };
	int r = ops->rrset_foreach(zone, name, DNS_TYPE_ANY, stop_at_wanted, &f);

	return r < 0 ? r : r ? 1 : 0;
}

struct soa_serial {
	bool found;
	uint32_t serial;
};

static int read_serial(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	struct soa_serial *s = ctx;
	struct wire r = wire_reader(rd, rdlen);
	struct dns_soa soa;

	if (dns_rdata_soa_read(&r, &soa) == 0) {
		s->found = true;
		s->serial = soa.serial;
	}
	return 1;
}

/* RFC 1982 serial arithmetic: a > b. */
static bool serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* ---- per-RR helpers ------------------------------------------------------ */

struct urr {
	const struct dns_rr *rr;
	struct dns_name name;
	bool in_zone;
};

static int load(const struct dns_msg *m, enum dns_section sec, unsigned i, const struct dns_name *apex,
		struct urr *u)
{
	u->rr = dns_msg_rr(m, sec, i);
	if (dns_msg_name(m, u->rr->off, &u->name))
		return -EBADMSG;
	u->in_zone = dns_name_is_below(&u->name, apex);
	return 0;
}

/* Is the zone RR (type, rd) equal to the message RR u (whose rdata is expanded on demand)? */
struct member_ctx {
	const struct dns_msg *m;
	const struct urr *set;
	const bool *in_group;
	unsigned n;
	bool missing;		/* out: a zone RR not in the set */
};

static bool msg_rr_equal(const struct dns_msg *m, const struct dns_rr *rr, const uint8_t *rd, uint16_t rdlen)
{
	uint8_t buf[DNS_RDATA_EXPAND_MAX];
	const uint8_t *mrd;
	uint16_t mlen;

	if (dns_msg_rdata_expand(m, rr, buf, &mrd, &mlen))
		return false;
	return dns_rdata_equal(rr->type, mrd, mlen, rd, rdlen);
}

static int zone_rr_in_set(void *ctx, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	struct member_ctx *c = ctx;

	for (unsigned i = 0; i < c->n; i++)
		if (c->in_group[i] && msg_rr_equal(c->m, c->set[i].rr, rd, rdlen))
			return 0;
	c->missing = true;
	return 1;
}

/*
 * §3.2.5, value-dependent prerequisites: for each (name, type) named in
 * them, the zone's RRset must equal the set of prerequisite RRs (TTLs
 * ignored, rdata compared as dns_rdata_equal() does).
 */
static int check_value_sets(const struct dns_msg *m, struct urr *pre, const bool *valdep, unsigned n,
			    const struct dns_zone_ops *ops, void *zone, uint16_t *rcode)
{
	bool done[DNS_MSG_MAX_RR] = { false }, group[DNS_MSG_MAX_RR];

	for (unsigned i = 0; i < n; i++) {
		struct member_ctx c = { .m = m, .set = pre, .in_group = group, .n = n };
		int r;

		if (!valdep[i] || done[i])
			continue;
		for (unsigned j = 0; j < n; j++) {
			group[j] = valdep[j] && !done[j] && pre[j].rr->type == pre[i].rr->type &&
				   dns_name_equal(&pre[j].name, &pre[i].name);
			if (group[j])
				done[j] = true;
		}
		/* every zone RR is among the prerequisites... */
		r = ops->rrset_foreach(zone, &pre[i].name, pre[i].rr->type, zone_rr_in_set, &c);
		if (r < 0)
			return r;
		if (c.missing) {
			*rcode = DNS_RCODE_NXRRSET;
			return 0;
		}
		/* ...and every prerequisite is in the zone */
		for (unsigned j = 0; j < n; j++) {
			uint8_t buf[DNS_RDATA_EXPAND_MAX];
			const uint8_t *rd;
			uint16_t rdlen;

			if (!group[j])
				continue;
			if (dns_msg_rdata_expand(m, pre[j].rr, buf, &rd, &rdlen)) {
				*rcode = DNS_RCODE_FORMERR;
				return 0;
			}
			r = rr_exists(ops, zone, &pre[j].name, pre[j].rr->type, rd, rdlen, NULL);
			if (r < 0)
				return r;
			if (r == 0) {
				*rcode = DNS_RCODE_NXRRSET;
				return 0;
			}
		}
	}
	return 0;
}

static int emit(const struct dns_zone_ops *ops, void *zone, enum dns_change_op op, const struct urr *u,
		uint16_t type, const uint8_t *rd, uint16_t rdlen, uint32_t old_ttl, unsigned index)
{
	struct dns_change c = {
		.op = op, .name = &u->name, .type = type, .ttl = u->rr->ttl, .old_ttl = old_ttl,
		.rdata = rd, .rdlen = rdlen, .index = index,
	};

	return ops->change(zone, &c);
}

/* §3.4.2.2: add, unless a rule says to ignore the RR. */
static int apply_add(const struct dns_msg *m, const struct urr *u, const struct dns_name *apex,
		     const struct dns_zone_ops *ops, void *zone, unsigned index)
{
	uint8_t buf[DNS_RDATA_EXPAND_MAX];
	const uint8_t *rd;
	uint16_t rdlen, type = u->rr->type;
	uint32_t old_ttl = 0;
	int r;

	if (dns_msg_rdata_expand(m, u->rr, buf, &rd, &rdlen))
		return -EBADMSG;
	if (type == DNS_TYPE_SOA) {
		struct soa_serial cur = { false, 0 };
		struct wire w = wire_reader(rd, rdlen);
		struct dns_soa soa;

		/* only the apex has an SOA; a new one must have a higher serial */
		if (!dns_name_equal(&u->name, apex) || dns_rdata_soa_read(&w, &soa))
			return 0;
		r = ops->rrset_foreach(zone, &u->name, DNS_TYPE_SOA, read_serial, &cur);
		if (r < 0)
			return r;
		if (!cur.found || !serial_gt(soa.serial, cur.serial))
			return 0;
		r = emit(ops, zone, DNS_CHANGE_DEL_RRSET, u, DNS_TYPE_SOA, NULL, 0, 0, index);
		return r ? r : emit(ops, zone, DNS_CHANGE_ADD, u, type, rd, rdlen, 0, index);
	}
	if (type == DNS_TYPE_CNAME) {
		/* a CNAME cannot join other data; an existing CNAME is replaced */
		r = name_has(ops, zone, &u->name, not_cname_or_dnssec);
		if (r != 0)
			return r < 0 ? r : 0;
		r = rr_exists(ops, zone, &u->name, type, rd, rdlen, &old_ttl);
		if (r < 0)
			return r;
		if (r)
			return emit(ops, zone, DNS_CHANGE_REPLACE, u, type, rd, rdlen, old_ttl, index);
		r = rrset_exists(ops, zone, &u->name, DNS_TYPE_CNAME);
		if (r < 0)
			return r;
		if (r && (r = emit(ops, zone, DNS_CHANGE_DEL_RRSET, u, DNS_TYPE_CNAME, NULL, 0, 0, index)))
			return r;
		return emit(ops, zone, DNS_CHANGE_ADD, u, type, rd, rdlen, 0, index);
	}
	if (!cname_compatible(type)) {
		/* other data cannot join a CNAME */
		r = rrset_exists(ops, zone, &u->name, DNS_TYPE_CNAME);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	/* a duplicate rdata replaces the zone RR (the TTL may change) */
	r = rr_exists(ops, zone, &u->name, type, rd, rdlen, &old_ttl);
	if (r < 0)
		return r;
	return emit(ops, zone, r ? DNS_CHANGE_REPLACE : DNS_CHANGE_ADD, u, type, rd, rdlen, old_ttl, index);
}

/* §3.4.2.3: delete an RRset, or all RRsets of a name. */
static int apply_delete_rrset(const struct urr *u, const struct dns_name *apex,
			      const struct dns_zone_ops *ops, void *zone, unsigned index)
{
	bool at_apex = dns_name_equal(&u->name, apex);
	uint16_t type = u->rr->type;
	int r;

	if (type == DNS_TYPE_ANY) {
		/* at the apex SOA and NS stay */
		r = at_apex ? name_has(ops, zone, &u->name, not_soa_or_ns) : ops->name_exists(zone, &u->name);
		if (r <= 0)
			return r;
		return emit(ops, zone, DNS_CHANGE_DEL_NAME, u, DNS_TYPE_ANY, NULL, 0, 0, index);
	}
	if (at_apex && (type == DNS_TYPE_SOA || type == DNS_TYPE_NS))
		return 0;
	r = rrset_exists(ops, zone, &u->name, type);
	if (r <= 0)
		return r;
	return emit(ops, zone, DNS_CHANGE_DEL_RRSET, u, type, NULL, 0, 0, index);
}

/* §3.4.2.4: delete one RR. */
static int apply_delete_rr(const struct dns_msg *m, const struct urr *u, const struct dns_name *apex,
			   const struct dns_zone_ops *ops, void *zone, unsigned index)
{
	uint8_t buf[DNS_RDATA_EXPAND_MAX];
	const uint8_t *rd;
	uint16_t rdlen, type = u->rr->type;
	int r;

	if (type == DNS_TYPE_SOA)
		return 0;
	if (dns_msg_rdata_expand(m, u->rr, buf, &rd, &rdlen))
		return -EBADMSG;
	r = rr_exists(ops, zone, &u->name, type, rd, rdlen, NULL);
	if (r <= 0)
		return r;
	if (type == DNS_TYPE_NS && dns_name_equal(&u->name, apex)) {
		/* never the last NS of the zone */
		r = rrset_size(ops, zone, &u->name, DNS_TYPE_NS);
		if (r < 0)
			return r;
		if (r <= 1)
			return 0;
	}
	return emit(ops, zone, DNS_CHANGE_DEL_RR, u, type, rd, rdlen, 0, index);
}

int dns_update_process(const struct dns_msg *m, const struct dns_name *apex, uint16_t zclass,
		       const struct dns_zone_ops *ops, void *zone, uint16_t *rcode)
{
	struct urr pre[DNS_MSG_MAX_RR], upd[DNS_MSG_MAX_RR];
	bool valdep[DNS_MSG_MAX_RR] = { false };
	unsigned npre = dns_msg_count(m, DNS_SEC_PREREQ), nupd = dns_msg_count(m, DNS_SEC_UPDATE);
	struct dns_name zname;
	uint16_t zc;
	int r;

	*rcode = DNS_RCODE_FORMERR;
	/* §3.1 */
	if (dns_update_zone(m, &zname, &zc))
		return 0;
	if (!dns_name_equal(&zname, apex) || zc != zclass) {
		*rcode = DNS_RCODE_NOTAUTH;
		return 0;
	}

	/* §3.2: the form of each prerequisite */
	for (unsigned i = 0; i < npre; i++) {
		const struct dns_rr *rr;

		if (load(m, DNS_SEC_PREREQ, i, apex, &pre[i]))
			return 0;
		rr = pre[i].rr;
		if (rr->ttl != 0) {
			*rcode = DNS_RCODE_FORMERR;
			return 0;
		}
		if (!pre[i].in_zone) {
			*rcode = DNS_RCODE_NOTZONE;
			return 0;
		}
		if (rr->rclass == DNS_CLASS_ANY || rr->rclass == DNS_CLASS_NONE) {
			if (rr->rdlen != 0)
				return 0;	/* FORMERR */
		} else if (rr->rclass == zclass) {
			valdep[i] = true;
		} else {
			return 0;		/* FORMERR */
		}
	}
	for (unsigned i = 0; i < nupd; i++)
		if (load(m, DNS_SEC_UPDATE, i, apex, &upd[i]))
			return 0;

	/*
	 * §3.3, done before the prerequisites are evaluated (RFC 2136 does it
	 * after): a requester must not learn, through prerequisites, whether
	 * names it may not touch exist.
	 */
	if (ops->permit) {
		for (unsigned i = 0; i < npre + nupd; i++) {
			const struct urr *u = i < npre ? &pre[i] : &upd[i - npre];

			if (!u->in_zone)
				continue;	/* NOTZONE below */
			r = ops->permit(zone, &u->name, u->rr->type);
			if (r == -EPERM) {
				*rcode = DNS_RCODE_REFUSED;
				return 0;
			}
			if (r < 0)
				return r;
		}
	}

	/* §3.2.1 - §3.2.4: existence prerequisites */
	for (unsigned i = 0; i < npre; i++) {
		const struct dns_rr *rr = pre[i].rr;
		bool want_exist = rr->rclass == DNS_CLASS_ANY;

		if (valdep[i])
			continue;
		if (rr->type == DNS_TYPE_ANY)
			r = ops->name_exists(zone, &pre[i].name);
		else
			r = rrset_exists(ops, zone, &pre[i].name, rr->type);
		if (r < 0)
			return r;
		if (want_exist && !r) {
			*rcode = rr->type == DNS_TYPE_ANY ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NXRRSET;
			return 0;
		}
		if (!want_exist && r) {
			*rcode = rr->type == DNS_TYPE_ANY ? DNS_RCODE_YXDOMAIN : DNS_RCODE_YXRRSET;
			return 0;
		}
	}
	/* §3.2.5: value-dependent prerequisites */
	*rcode = DNS_RCODE_NOERROR;
	r = check_value_sets(m, pre, valdep, npre, ops, zone, rcode);
	if (r < 0 || *rcode != DNS_RCODE_NOERROR)
		return r;

	/* §3.4.1: prescan the update section */
	for (unsigned i = 0; i < nupd; i++) {
		const struct dns_rr *rr = upd[i].rr;
		uint16_t t = rr->type;
		bool xfr = t == DNS_TYPE_AXFR || t == DNS_TYPE_IXFR || t == DNS_TYPE_MAILA ||
			   t == DNS_TYPE_MAILB;

		if (!upd[i].in_zone) {
			*rcode = DNS_RCODE_NOTZONE;
			return 0;
		}
		*rcode = DNS_RCODE_FORMERR;
		if (rr->rclass == zclass) {
			if (dns_type_is_meta(t) || t == DNS_TYPE_OPT)
				return 0;
		} else if (rr->rclass == DNS_CLASS_ANY) {
			if (rr->ttl != 0 || rr->rdlen != 0 || xfr ||
			    (dns_type_is_meta(t) && t != DNS_TYPE_ANY))
				return 0;
		} else if (rr->rclass == DNS_CLASS_NONE) {
			if (rr->ttl != 0 || dns_type_is_meta(t))
				return 0;
		} else {
			return 0;
		}
	}
	*rcode = DNS_RCODE_NOERROR;

	/* §3.4.2: the updates, in order */
	for (unsigned i = 0; i < nupd; i++) {
		const struct urr *u = &upd[i];

		if (u->rr->rclass == zclass)
			r = apply_add(m, u, apex, ops, zone, i);
		else if (u->rr->rclass == DNS_CLASS_ANY)
			r = apply_delete_rrset(u, apex, ops, zone, i);
		else
			r = apply_delete_rr(m, u, apex, ops, zone, i);
		if (r < 0) {
			*rcode = DNS_RCODE_SERVFAIL;
			return r;
		}
	}
	return 0;
}
