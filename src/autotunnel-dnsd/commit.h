/*
 * The group commit, owned by the engine: one transaction per batch of
 * updates. Each decided UPDATE (update.h) is applied inside a savepoint
 * to the store and at once to the zone index (with an undo log, so that
 * later updates of the batch see it); lease expiries join the batch; the
 * batch ends with one commit (one fsync), or with everything rolled back
 * when the store failed. The changes of a committed batch are kept, by
 * (name, type), for the engine to hand to the LLQs.
 *
 * Engine thread only. The zone index is changed under the zone lock
 * (dnsd.h); the zone serial moves once per batch that changed records.
 */
#ifndef DNSD_COMMIT_H
#define DNSD_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct commit;
struct dnsd;
struct dns_name;
struct stats;
struct store;
struct update_decision;
struct usage;
struct zone;

/** A batch over @p d's zone and @p st (both borrowed), counting into @p stats. */
struct commit *commit_new(struct dnsd *d, struct store *st, struct stats *stats);
void commit_free(struct commit *c);

/**
 * Begin a batch (the transaction is opened lazily). The per-account counts
 * (usage.h) are counted again from the store first when the zone was
 * replaced (commit_zone_replaced()) or at the first batch.
 */
void commit_begin(struct commit *c);

/**
 * The records and bytes of each account in the zone index, kept in step
 * with every change applied, expired or undone (borrowed; engine thread).
 */
const struct usage *commit_usage(const struct commit *c);

/** The zone index was loaded again (reload): count the accounts' records again. */
void commit_zone_replaced(struct commit *c);

/**
 * Apply the changes of @p dec (decided NOERROR) in a savepoint. Sets
 * *@p changed when records changed (not only leases). @return 0, or a
 * negative errno when the store failed (nothing of @p dec stays; answer
 * SERVFAIL).
 */
int commit_apply(struct commit *c, const struct update_decision *dec, bool *changed)
	__attribute__((warn_unused_result));

/** Delete the records whose lease ended by @p now_ms (wall clock), a bounded number per batch. */
void commit_expire(struct commit *c, int64_t now_ms);

/**
 * Commit the batch. @return 1 when a transaction was committed (its
 * changes are durable, and the WAL grew), 0 when there was nothing to
 * commit, or -EIO when everything was rolled back (answer SERVFAIL to
 * every update of the batch, and tell the LLQs nothing).
 */
int commit_end(struct commit *c);

/**
 * The changes of the committed batch, one call per (name, type): @p rrs
 * holds records as [name len u8][name][type u16][TTL u32][rdlen u16][rdata]
 * (TTL 0xFFFFFFFF for a removal, RFC 8764 §6.1), the form watch.c reads.
 * Then the changes are forgotten.
 */
void commit_changes_foreach(struct commit *c,
			    void (*fn)(void *arg, const uint8_t *lname, size_t len, uint16_t type,
				       const uint8_t *rrs, size_t rrs_len),
			    void *arg);

/**
 * Load every record of @p st into a new zone index for @p apex (at start
 * and on reload). @return 0 or a negative errno with a message in @p err.
 */
int commit_load_zone(struct store *st, const struct dns_name *apex, struct zone **out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));

#endif
