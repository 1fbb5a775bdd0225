/*
 * lib/rsip/table.h: a fixed-size open-addressing hash table from a 128-bit
 * key to a 32-bit value, used by the RSIP server for its demultiplexing
 * tables (SPI, port, IKE initiator SPI). Linear probing with backward-shift
 * deletion, so lookups never walk tombstones; a keyed hash so that keys
 * chosen by remote peers cannot aim at one chain. Internal to lib/rsip.
 */
#ifndef AT_RSIP_TABLE_H
#define AT_RSIP_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct rsip_tkey {
	uint64_t a;
	uint64_t b;
};

struct rsip_tslot {
	struct rsip_tkey k;
	uint32_t v;		/* RSIP_TABLE_EMPTY when free */
};

#define RSIP_TABLE_EMPTY UINT32_MAX

struct rsip_table {
	struct rsip_tslot *slot;	/* owned */
	size_t mask;			/* capacity - 1 (a power of two) */
	size_t count;
	size_t limit;			/* most entries allowed: half the capacity */
	uint64_t seed;
};

/** The keyed hash's mixing step (the splitmix64 finaliser); the server draws IDs and SPIs with it too. */
uint64_t rsip_table_mix(uint64_t x);

/** Make a table that holds at least @p entries; 0 or -ENOMEM. */
int rsip_table_init(struct rsip_table *t, size_t entries, uint64_t seed)
	__attribute__((warn_unused_result));
void rsip_table_fini(struct rsip_table *t);
/** The value for @p k, or RSIP_TABLE_EMPTY. */
uint32_t rsip_table_get(const struct rsip_table *t, struct rsip_tkey k);
/** Insert a new key (0), -EEXIST if present, -ENOSPC if full. @p v must not be RSIP_TABLE_EMPTY. */
int rsip_table_put(struct rsip_table *t, struct rsip_tkey k, uint32_t v)
	__attribute__((warn_unused_result));
/** Remove @p k: 0, or -ENOENT. */
int rsip_table_del(struct rsip_table *t, struct rsip_tkey k);

#endif
