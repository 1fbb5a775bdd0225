/*
 * lib/dns/memzone.h: a small in-memory zone behind the UPDATE zone
 * interface (struct dns_zone_ops).
 *
 * Fixed capacity, no allocation, linear search: made for unit tests, the
 * UPDATE fuzz target and as the reference behaviour of a zone store (the
 * server keeps its zones in SQLite). Rdata is uncompressed wire form.
 */
#ifndef AT_DNS_MEMZONE_H
#define AT_DNS_MEMZONE_H

#include <stdint.h>

#include "dns/name.h"
#include "dns/update.h"

#define DNS_MEMZONE_MAX 128		/**< RRs a zone holds */
#define DNS_MEMZONE_RDATA_MAX 512	/**< rdata bytes per RR */

struct dns_memzone_rr {
	struct dns_name name;
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[DNS_MEMZONE_RDATA_MAX];
};

struct dns_memzone {
	struct dns_name apex;
	/** If set (borrowed), permit() allows only names at or below it. */
	const struct dns_name *owner;
	unsigned n;
	struct dns_memzone_rr rr[DNS_MEMZONE_MAX];
};

/** Empty zone with apex @p apex (copied). */
void dns_memzone_init(struct dns_memzone *z, const struct dns_name *apex);

/**
 * Add an RR directly (no UPDATE rules), e.g. to load SOA and NS.
 * @return 0, -ENOSPC when full or the rdata is too long.
 */
int dns_memzone_add(struct dns_memzone *z, const struct dns_name *name, uint16_t type, uint32_t ttl,
		    const uint8_t *rdata, uint16_t rdlen);

/** Apply one change reported by dns_update_process(). @return 0 or -ENOSPC. */
int dns_memzone_apply(struct dns_memzone *z, const struct dns_change *c);

/**
 * Number of RRs of (name, type) (type ANY: of every type) whose rdata
 * equals @p rdata if it is not NULL.
 */
unsigned dns_memzone_count(const struct dns_memzone *z, const struct dns_name *name, uint16_t type,
			   const uint8_t *rdata, uint16_t rdlen);

/** The zone interface; the zone argument of every callback is a struct dns_memzone. */
const struct dns_zone_ops *dns_memzone_ops(void);

#endif /* AT_DNS_MEMZONE_H */
