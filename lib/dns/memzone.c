/* lib/dns/memzone.c: a fixed-size in-memory zone for tests and fuzzing. */
#include <errno.h>
#include <string.h>

#include "dns/memzone.h"

void dns_memzone_init(struct dns_memzone *z, const struct dns_name *apex)
{
	z->apex = *apex;
	z->owner = NULL;
	z->n = 0;
}

int dns_memzone_add(struct dns_memzone *z, const struct dns_name *name, uint16_t type, uint32_t ttl,
		    const uint8_t *rdata, uint16_t rdlen)
{
	struct dns_memzone_rr *r;

	if (z->n >= DNS_MEMZONE_MAX || rdlen > DNS_MEMZONE_RDATA_MAX)
		return -ENOSPC;
	r = &z->rr[z->n++];
	r->name = *name;
	r->type = type;
	r->ttl = ttl;
	r->rdlen = rdlen;
	if (rdlen)
		memcpy(r->rdata, rdata, rdlen);
	return 0;
}

static bool matches(const struct dns_memzone_rr *r, const struct dns_name *name, uint16_t type,
		    const uint8_t *rdata, uint16_t rdlen)
{
	if ((type != DNS_TYPE_ANY && r->type != type) || !dns_name_equal(&r->name, name))
		return false;
	return !rdata || dns_rdata_equal(r->type, r->rdata, r->rdlen, rdata, rdlen);
}

unsigned dns_memzone_count(const struct dns_memzone *z, const struct dns_name *name, uint16_t type,
			   const uint8_t *rdata, uint16_t rdlen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < z->n; i++)
		if (matches(&z->rr[i], name, type, rdata, rdlen))
			n++;
	return n;
}

/* Remove every RR for which @p doomed is true, keeping the order of the rest. */
static void sweep(struct dns_memzone *z, const struct dns_change *c,
		  bool (*doomed)(const struct dns_memzone *, const struct dns_memzone_rr *,
				 const struct dns_change *))
{
	unsigned k = 0;

	for (unsigned i = 0; i < z->n; i++) {
		if (doomed(z, &z->rr[i], c))
			continue;
		if (k != i)
			z->rr[k] = z->rr[i];
		k++;
	}
	z->n = k;
}

static bool doomed_rrset(const struct dns_memzone *z, const struct dns_memzone_rr *r, const struct dns_change *c)
{
	return matches(r, c->name, c->type, NULL, 0);
}

static bool doomed_name(const struct dns_memzone *z, const struct dns_memzone_rr *r, const struct dns_change *c)
{
	if (!dns_name_equal(&r->name, c->name))
		return false;
	/* RFC 2136 §3.4.2.3: at the apex, SOA and NS stay */
	return !(dns_name_equal(c->name, &z->apex) && (r->type == DNS_TYPE_SOA || r->type == DNS_TYPE_NS));
}

static bool doomed_rr(const struct dns_memzone *z, const struct dns_memzone_rr *r, const struct dns_change *c)
{
	return matches(r, c->name, c->type, c->rdata, c->rdlen);
}

int dns_memzone_apply(struct dns_memzone *z, const struct dns_change *c)
{
	switch (c->op) {
	case DNS_CHANGE_ADD:
		return dns_memzone_add(z, c->name, c->type, c->ttl, c->rdata, c->rdlen);
	case DNS_CHANGE_REPLACE:
		for (unsigned i = 0; i < z->n; i++) {
			struct dns_memzone_rr *r = &z->rr[i];

			if (matches(r, c->name, c->type, c->rdata, c->rdlen)) {
				if (c->rdlen > DNS_MEMZONE_RDATA_MAX)
					return -ENOSPC;
				r->ttl = c->ttl;
				r->name = *c->name;
				r->rdlen = c->rdlen;
				memcpy(r->rdata, c->rdata, c->rdlen);
				return 0;
			}
		}
		return dns_memzone_add(z, c->name, c->type, c->ttl, c->rdata, c->rdlen);
	case DNS_CHANGE_DEL_RRSET:
		sweep(z, c, doomed_rrset);
		return 0;
	case DNS_CHANGE_DEL_NAME:
		sweep(z, c, doomed_name);
		return 0;
	case DNS_CHANGE_DEL_RR:
		sweep(z, c, doomed_rr);
		return 0;
	}
	return -EINVAL;
}

static int mz_foreach(void *zone, const struct dns_name *name, uint16_t type, dns_zone_rr_fn each, void *ctx)
{
	struct dns_memzone *z = zone;

	for (unsigned i = 0; i < z->n; i++) {
		const struct dns_memzone_rr *r = &z->rr[i];
		int v;

		if (!matches(r, name, type, NULL, 0))
			continue;
		v = each(ctx, r->type, r->ttl, r->rdata, r->rdlen);
		if (v)
			return v;
	}
	return 0;
}

static int mz_name_exists(void *zone, const struct dns_name *name)
{
	return dns_memzone_count(zone, name, DNS_TYPE_ANY, NULL, 0) ? 1 : 0;
}

static int mz_permit(void *zone, const struct dns_name *name, uint16_t type)
{
	const struct dns_memzone *z = zone;

	return !z->owner || dns_name_is_below(name, z->owner) ? 0 : -EPERM;
}

static int mz_change(void *zone, const struct dns_change *c)
{
	return dns_memzone_apply(zone, c);
}

static const struct dns_zone_ops memzone_ops = {
	.rrset_foreach = mz_foreach,
	.name_exists = mz_name_exists,
	.permit = mz_permit,
	.change = mz_change,
};

const struct dns_zone_ops *dns_memzone_ops(void)
{
	return &memzone_ops;
}
