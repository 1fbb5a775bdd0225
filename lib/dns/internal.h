/* lib/dns/internal.h: helpers shared by the lib/dns sources (not installed API). */
#ifndef AT_DNS_INTERNAL_H
#define AT_DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "wire/wire.h"

/** ASCII lower case (RFC 4343: only A-Z fold). */
static inline uint8_t dns_lc(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? (uint8_t)(c + 32) : c;
}

/*
 * dns_name_parse() with pointers allowed or not (stored, uncompressed
 * data), and the uncompressed length reported through @p len (may be NULL).
 */
int dns_name_read(struct wire *w, struct dns_name *out, bool allow_ptr, size_t *len)
	__attribute__((warn_unused_result));

/*
 * Rdata layout of the name-bearing types: a string of 'N' (a name) and
 * '2', '6', 'T' (2, 6, 20 fixed bytes); NULL for opaque types.
 */
const char *dns_rdata_layout(uint16_t type);

#endif /* AT_DNS_INTERNAL_H */
