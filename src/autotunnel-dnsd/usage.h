/*
 * What each account's records take in the zone: their number and their
 * bytes, for the per-account data quota (update.c decides with it;
 * commit.c keeps it in step with the zone index).
 *
 * An account is known here by its label (the label right below the apex:
 * NAME in NAME.<zone>), so the counts need no account table and survive
 * an account's deletion and re-creation in step with its records.
 *
 * A record's bytes are usage_rr_bytes(): its owner name, 10 bytes of type,
 * class, TTL and length, and its rdata, as it would go on the wire
 * uncompressed; that is what it costs in memory, in the store and in
 * every answer and event that carries it.
 *
 * No I/O. Engine thread only (update_decide() reads it from the engine).
 */
#ifndef DNSD_USAGE_H
#define DNSD_USAGE_H

#include <stddef.h>
#include <stdint.h>

struct usage_count {
	uint64_t records;
	uint64_t bytes;
};

struct usage;

/** An empty table for the zone with lower-case wire apex @p apex (copied). NULL when out of memory. */
struct usage *usage_new(const uint8_t *apex, size_t apex_len);
void usage_free(struct usage *u);

/** Forget every count (before counting a reloaded zone again). */
void usage_clear(struct usage *u);

/** The bytes one record takes (see above). */
static inline uint64_t usage_rr_bytes(size_t name_len, uint16_t rdlen)
{
	return (uint64_t)name_len + 10 + rdlen;
}

/**
 * Count one record of @p rdlen bytes at lower-case wire name @p lname
 * (@p sign +1 when it is added, -1 when it goes). Names that are not
 * below an account label are not counted. @return 0 or -ENOMEM.
 */
int usage_charge(struct usage *u, const uint8_t *lname, size_t len, uint16_t rdlen, int sign);

/** The counts of the account with label @p label (@p label_len bytes, lower case); zero when none. */
struct usage_count usage_get(const struct usage *u, const uint8_t *label, size_t label_len);

#endif
