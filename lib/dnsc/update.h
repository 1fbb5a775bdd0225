/*
 * lib/dnsc/update.h: the UPDATE messages (RFC 2136) that publish, refresh
 * and withdraw a host's records (docs/design.md §4, RFC 6281 §5.2), made from
 * lib/agent's record set, signed with the account's TSIG key (RFC 8945,
 * hmac-sha256, key name D) and carrying the Update Lease option
 * (RFC 9664; the agent asks for 5400 s and uses what is granted).
 *
 * What an update says, for this host's own RRsets (not shared):
 *  - an RRset whose content is not known to be on the server (the first
 *    publish after start, or an RRset that changed since the last one
 *    granted) is deleted and then added, so that stale data left by an
 *    earlier run or an earlier location is replaced, not merged;
 *  - an RRset that is unchanged is only added again, which refreshes its
 *    lease without touching the data (no LLQ event, no serial change);
 *  - an RRset published before and no longer wanted is deleted.
 * Shared RRsets (the PTR of _autotunnel._udp.D and of each service type)
 * hold other hosts' records too: only this host's RR is added, or deleted
 * when it is no longer wanted; never the RRset.
 *
 * No I/O and no clock: the wall time for TSIG is passed in.
 */
#ifndef AT_DNSC_UPDATE_H
#define AT_DNSC_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/records.h"
#include "dns/name.h"
#include "dns/tsig.h"

/** The lease the agent asks for (RFC 6281 §5.2: typically 90 minutes). */
#define DNSC_LEASE_REQUEST 5400

/**
 * The zone an account domain D lives in: D without its first label
 * ("alice.members.example.net" -> "members.example.net"), the owner of
 * the SOA that UPDATE's zone section names (RFC 2136 §2.3).
 * @return 0 or -EINVAL for a name with fewer than two labels.
 */
__attribute__((warn_unused_result))
int dnsc_zone_of(const struct dns_name *domain, struct dns_name *zone);

/**
 * The TSIG key of an account: named D, hmac-sha256, the 32-byte key
 * derived from the password (lib/dns keys.h).
 * @return 0 or -EINVAL.
 */
__attribute__((warn_unused_result))
int dnsc_account_key(struct dns_tsig_key *k, const char *domain, const uint8_t secret[static 32]);

/**
 * Build and sign an UPDATE for zone @p zone with message id @p id.
 *
 * @param cur    what this host wants published (agent_records_build());
 *               @p ncur 0 withdraws everything in @p prev.
 * @param prev   what the server was last known to hold from this host (the
 *               set of the last update answered NOERROR), or NULL when
 *               unknown: then every non-shared RRset of @p cur is replaced.
 * @param lease  lease to ask for (seconds); 0 leaves the option out (a
 *               withdrawal adds nothing, so it needs no lease).
 * @param t      a fresh exchange (dns_tsig_init() with the account key);
 *               keep it for dnsc_update_answer().
 * @return 0 with *@p len set; -ENOSPC (@p cap too small); -EINVAL (a record
 *         that is not a valid name or type, or nothing to say); -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_update_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		      const struct dns_name *zone,
		      const struct agent_rr *cur, size_t ncur,
		      const struct agent_rr *prev, size_t nprev,
		      uint32_t lease, struct dns_tsig *t, uint64_t wall);

/** Prerequisites of an UPDATE (RFC 2136 §2.4); every pointer borrowed for the call. */
struct dnsc_update_prereq {
	/**
	 * H.D when taking a free name (NULL for none): §2.4.3 "RRset does not
	 * exist" for its AAAA and its TXT, the records by which a computer
	 * holds a name (names below H.D do not make it taken).
	 */
	const char *unused;
	/**
	 * §2.4.2 "RRset exists (value dependent)": for each (name, type)
	 * among these, the server's RRset must hold exactly these RRs (TTLs
	 * ignored): our id and our ULA at H.D, so that a refresh or a
	 * withdrawal never touches a name another computer holds.
	 */
	const struct agent_rr *rrs;
	size_t nrrs;
};

/**
 * dnsc_update_build() with prerequisites @p pre (NULL: none): the server
 * applies the update only if they all hold, and answers YXDOMAIN or
 * NXRRSET otherwise (RFC 2136 §3.2.5).
 */
__attribute__((warn_unused_result))
int dnsc_update_build_pre(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
			  const struct dns_name *zone, const struct dnsc_update_prereq *pre,
			  const struct agent_rr *cur, size_t ncur,
			  const struct agent_rr *prev, size_t nprev,
			  uint32_t lease, struct dns_tsig *t, uint64_t wall);

struct dnsc_resp;

/**
 * Add what an answer (AAAA or TXT of @p owner) says about who holds
 * @p owner to @p seen (zeroed by the caller before the first answer): its
 * AAAA records (at most AGENT_NAME_SEEN_MAX), and the host id of a TXT
 * string "autotunnel-id=ID". 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dnsc_name_seen_read(const struct dnsc_resp *r, const struct dns_name *owner, struct agent_name_seen *seen);

/** The outcome of an UPDATE, as its answer tells it. */
struct dnsc_update_result {
	unsigned rcode;		/**< 12-bit rcode */
	uint16_t tsig_error;	/**< see struct dnsc_resp */
	bool server_rejected;
	bool has_lease;		/**< the answer carried the Update Lease option */
	uint32_t lease;		/**< the lease granted (seconds), when has_lease */
};

/**
 * Read the answer to an UPDATE built with dnsc_update_build().
 *
 * @return 0 when the answer is authentic (r->rcode says whether the update
 *         was applied; with NOERROR, r->lease is the lease granted, or
 *         @p asked when the server did not say: RFC 9664 §4 lets a server
 *         that accepts the lease omit it); -EBADMSG (malformed, a
 *         malformed lease option, or another id or zone); -EACCES (TSIG
 *         failed: see r->tsig_error and r->server_rejected); -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_update_answer(struct dnsc_update_result *r, const uint8_t *buf, size_t len, uint16_t id,
		       const struct dns_name *zone, uint32_t asked, struct dns_tsig *t, uint64_t wall);

/**
 * True when @p a and @p b hold the same records (same names, types, TTLs,
 * data and sharing, in any order): a re-publish of @p b over @p a is a
 * pure refresh.
 */
bool dnsc_records_equal(const struct agent_rr *a, size_t na, const struct agent_rr *b, size_t nb);

#endif /* AT_DNSC_UPDATE_H */
