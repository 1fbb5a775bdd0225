/*
 * UPDATE (RFC 2136) with the server's policy (docs/design.md §5) and update
 * leases (RFC 9664), as one pure decision: the parsed request with the
 * outcome of its rate limit and TSIG check, a read-only view of the zone
 * and the accounts, and the time, in; the rcode, the counter, the granted
 * lease and the changes to apply, out. No I/O, no store, no engine: the
 * engine applies the changes (commit.h) and sends the one answer.
 *
 * Zones: the served zone and every account domain D (a zone of its own,
 * so that a stock client that found D with SOA queries updates there);
 * anything else is NOTAUTH.
 *
 * Policy: only a valid TSIG whose key owns the names touched: a key for D
 * may change names at or below D, never the synthesised server records,
 * never SOA or NS, never another account's names; its prerequisites may
 * only look at D's names too (they would otherwise reveal another
 * account's data).
 *
 * Leases: every record an update adds is leased; an update without the
 * lease option gets the longest lease (so stock nsupdate works) unless
 * require-lease; leases are clamped to [lease-min, lease-max].
 *
 * Quota: an account holds at most account-records records taking at most
 * account-bytes (usage.h counts them). An UPDATE whose changes, as the
 * overlay sees them, would take the account above either is REFUSED as a
 * whole; one that adds nothing to a count over its limit (a refresh, a
 * delete, a replacement no larger) passes, so lowering a limit never
 * stops an account from refreshing or cleaning up.
 */
#ifndef DNSD_UPDATE_H
#define DNSD_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/update.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/usage.h"

struct account;

/** An UPDATE as the engine hands it to update_decide() (all borrowed). */
struct update_request {
	const struct dns_msg *m;	/* parsed */
	/*
	 * The rate limit let it through: the signer's (a token bucket per
	 * account) when the TSIG verified, the client address's when
	 * unsigned (a bucket of its own, which never holds back signed
	 * UPDATEs); a TSIG that failed is not rate limited. A signed request
	 * held back gets a signed REFUSED.
	 */
	bool rate_ok;
	/*
	 * The TSIG check (dns_tsig_verify_request()): 0 verified, -ENOENT
	 * unsigned, -EACCES (tsig_error says why), -EBADMSG malformed, or
	 * another negative errno. Looked at when !rate_ok only to sign.
	 */
	int tsig_rc;
	uint16_t tsig_error;		/* with -EACCES: BADKEY, BADSIG, BADTIME, BADTRUNC */
	const struct dns_name *key;	/* the verified key's name (tsig_rc 0) */
	/*
	 * Records and bytes each account holds now (commit_usage()); NULL
	 * counts as none. An UPDATE that would take its account above
	 * account-records or account-bytes is REFUSED (the quota rule).
	 */
	const struct usage *usage;
};

/** One change to the zone, in the order dns_update_process() reported it. */
struct update_change {
	enum dns_change_op op;
	uint16_t type;
	uint32_t ttl;			/* ADD, REPLACE */
	uint16_t rdlen;
	uint8_t *rdata;			/* ADD, REPLACE, DEL_RR: owned, uncompressed */
	uint8_t lname_len;
	uint8_t lname[DNS_NAME_MAX];	/* owner, lower case */
};

/** What to answer and what to change. */
struct update_decision {
	uint16_t rcode;
	enum stat_id counter;		/* the outcome's counter (`updates` counts them all) */
	bool sign;			/* answer with a TSIG: the request was validly signed, or
					 * its TSIG error goes back (RFC 8945 §5.3) */
	bool lease_granted;		/* NOERROR: echo @p lease (RFC 9664 §4) */
	struct dns_lease lease;
	const struct account *acc;	/* the signer, once known */
	int64_t expires_ms;		/* lease end of every record added or refreshed */
	bool changed;			/* records change (not only leases): the serial moves */
	struct usage_count usage_after;	/* the account's records and bytes once applied */
	struct update_change *changes;	/* owned; update_decision_fini() frees them */
	size_t n_changes, cap_changes;
};

/**
 * Decide on UPDATE @p rq against the zone index and account table of
 * @p d (read only: d->cfg, d->apex, d->accounts, d->zone; engine thread,
 * or any thread holding the zone lock) at wall-clock time @p now_ms.
 * Fills @p out (cleared first; release it with update_decision_fini()).
 * An out-of-memory failure is decided as SERVFAIL.
 */
void update_decide(const struct update_request *rq, const struct dnsd *d, int64_t now_ms,
		   struct update_decision *out);

void update_decision_fini(struct update_decision *dec);

#endif
