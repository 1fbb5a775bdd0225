/*
 * The in-memory index of the zone's dynamic records, which answers every
 * query (the store is only written and read at start).
 *
 * A node per owner name (lower-case wire form) in a hash table; the
 * records of a node in a list ordered by type. Empty non-terminals exist
 * as nodes without records, counted by their children, so a name with
 * descendants answers NODATA rather than NXDOMAIN (RFC 8020). Leased
 * records sit in a min-heap by expiry.
 *
 * Locking: the server's zone lock (readers: the query workers; writer:
 * the engine thread) protects every call. Pointers to nodes and records
 * stay valid while the lock is held.
 */
#ifndef DNSD_ZONE_H
#define DNSD_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct znode;

struct zrr {
	struct zrr *next;	/* next record of the node */
	struct znode *node;
	int64_t id;		/* row id in the store */
	int64_t expires_ms;	/* wall clock; 0: no lease */
	uint32_t heap_idx;	/* in the expiry heap, or UINT32_MAX */
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	uint8_t rdata[];
};

struct znode {
	struct znode *hnext;
	struct zrr *rrs;
	uint32_t hash;
	uint32_t children;	/* nodes whose parent this is */
	uint8_t name_len;
	uint8_t name[];		/* lower-case wire form */
};

struct zone;

/** A new empty index for the zone with apex @p apex (lower-case wire form). */
struct zone *zone_new(const uint8_t *apex, size_t apex_len);
void zone_free(struct zone *z);

/**
 * Is @p zone (text, no trailing dot) a name the service can serve accounts
 * under: labels of letters, digits and '-' (not first or last), 1-63 each,
 * short enough that NAME.ZONE fits for a 63-letter NAME (253)? 0, or
 * -EINVAL with the reason for a person in @p why.
 */
int zone_name_check(const char *zone, char *why, size_t whylen) __attribute__((warn_unused_result));

/** Lower-case a wire-form name into @p out (same length). */
void zone_name_lower(uint8_t *out, const uint8_t *name, size_t len);

/** The node of a lower-case wire name, or NULL. */
struct znode *zone_find(const struct zone *z, const uint8_t *lname, size_t len);

/** True when a node exists and holds records or has descendants. */
static inline bool znode_exists(const struct znode *n) { return n && (n->rrs || n->children); }

/** The first record of type @p type at @p n (NULL if none); the next ones follow in the list. */
struct zrr *znode_first(const struct znode *n, uint16_t type);

/**
 * Add a record (copied) at lower-case name @p lname, creating the node
 * and its empty ancestors below the apex. @return the record, or NULL on
 * allocation failure or a name outside the zone.
 */
struct zrr *zone_add(struct zone *z, const uint8_t *lname, size_t len, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, int64_t id, int64_t expires_ms);

/**
 * Unlink a record from its node (and the expiry heap) without freeing it,
 * pruning nodes left empty. The caller frees it with free() or puts it
 * back with zone_relink().
 */
void zone_unlink(struct zone *z, struct zrr *rr);

/** Put back a record unlinked by zone_unlink() (undo). @return 0 or -ENOMEM. */
int zone_relink(struct zone *z, struct zrr *rr, const uint8_t *lname, size_t len);

/** Change a record's lease (0: none), keeping the heap in order. */
void zone_set_expiry(struct zone *z, struct zrr *rr, int64_t expires_ms);

/** The earliest lease expiry, or INT64_MAX. */
int64_t zone_next_expiry(const struct zone *z);

/** The record whose lease ends first if it ends at or before @p now_ms, else NULL. */
struct zrr *zone_expired(const struct zone *z, int64_t now_ms);

/** Counters for stats and the benchmark. */
size_t zone_node_count(const struct zone *z);
size_t zone_rr_count(const struct zone *z);

#endif
