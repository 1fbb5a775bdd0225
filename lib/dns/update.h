/*
 * lib/dns/update.h: DNS UPDATE (RFC 2136) against a zone interface.
 *
 * dns_update_process() runs §3.1 (zone section), the form checks of §3.2,
 * an optional permission check (the server's policy, §3.3) on every
 * prerequisite and update RR, the evaluation of the prerequisites (all
 * five forms of §2.4), §3.4.1 (update section prescan) and §3.4.2 (the
 * updates, in order), and reports each change to the zone through
 * ops->change, in order. The permission check comes before the
 * prerequisites are evaluated (RFC 2136 puts it after) so that a requester
 * cannot probe, through prerequisites, names it has no right to. Nothing is reported unless every check passed, so
 * the server opens one transaction, calls dns_update_process(), and commits
 * when it returns 0 with rcode NOERROR (or rolls back otherwise).
 *
 * The lookups must see the changes already reported during the same call
 * (apply each change inside the open transaction, or keep an overlay):
 * §3.4.2's rules depend on them (e.g. a delete followed by an add of the
 * same RRset, or a CNAME added after other data).
 *
 * Rdata in this interface is always uncompressed wire form, the form
 * dns_msg_rdata_expand() gives; names inside it keep their case and compare
 * case-insensitively (dns_rdata_equal()).
 */
#ifndef AT_DNS_UPDATE_H
#define AT_DNS_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/name.h"

/**
 * Called for each RR the zone holds: its type, TTL and rdata (borrowed for
 * the call). Return 0 to go on, anything else to stop the iteration (that
 * value is then returned by rrset_foreach).
 */
typedef int (*dns_zone_rr_fn)(void *ctx, uint16_t type, uint32_t ttl,
			      const uint8_t *rdata, uint16_t rdlen);

/** A change to the zone, as dns_update_process() reports it. */
enum dns_change_op {
	DNS_CHANGE_ADD,		/**< add the RR (name, type, ttl, rdata) */
	DNS_CHANGE_REPLACE,	/**< an equal RR exists: replace it (new TTL, new rdata case) */
	DNS_CHANGE_DEL_RRSET,	/**< delete every RR of (name, type) */
	DNS_CHANGE_DEL_NAME,	/**< delete every RR of name, except SOA and NS if name is the apex */
	DNS_CHANGE_DEL_RR,	/**< delete the RR (name, type) whose rdata equals */
};

struct dns_change {
	enum dns_change_op op;
	const struct dns_name *name;	/**< borrowed for the call */
	uint16_t type;
	uint32_t ttl;			/**< ADD and REPLACE */
	uint32_t old_ttl;		/**< REPLACE: the TTL of the RR replaced */
	const uint8_t *rdata;		/**< ADD, REPLACE, DEL_RR: uncompressed, borrowed for the call */
	uint16_t rdlen;
	unsigned index;			/**< index of the causing RR in the update section */
};

/** The zone the update applies to, as callbacks (all borrowed). */
struct dns_zone_ops {
	/**
	 * Call @p each for every RR with owner @p name and type @p type (type
	 * ANY: every type) in the zone. @return 0 when all were visited, the
	 * nonzero value @p each returned to stop, or a negative errno on failure.
	 */
	int (*rrset_foreach)(void *zone, const struct dns_name *name, uint16_t type,
			     dns_zone_rr_fn each, void *ctx);
	/** @return 1 if any RR has owner @p name, 0 if none, or a negative errno. */
	int (*name_exists)(void *zone, const struct dns_name *name);
	/**
	 * Optional (may be NULL): may the requester use (name, type), in a
	 * prerequisite or an update? Called for every in-zone name of both
	 * sections before anything is looked up (type ANY for "all types").
	 * @return 0 to allow, -EPERM to refuse (the update is REFUSED), another
	 * negative errno on failure.
	 */
	int (*permit)(void *zone, const struct dns_name *name, uint16_t type);
	/**
	 * Apply (or record) one change. Called in order, only after every
	 * check passed. @return 0 or a negative errno (processing stops and
	 * dns_update_process() returns it: answer SERVFAIL, roll back).
	 */
	int (*change)(void *zone, const struct dns_change *c);
};

/**
 * Read and check the zone section (§3.1.1): exactly one zone, of type SOA.
 *
 * @param m       a parsed UPDATE message (borrowed).
 * @param zname   receives the zone name.
 * @param zclass  receives the zone class.
 * @return 0, or -EBADMSG (answer FORMERR).
 */
__attribute__((warn_unused_result))
int dns_update_zone(const struct dns_msg *m, struct dns_name *zname, uint16_t *zclass);

/**
 * Process an UPDATE for the zone with apex @p apex and class @p zclass (the
 * server has found it authoritative for the zone section's name; the zone
 * section itself is checked again here). Uses about 40 KiB of stack.
 *
 * Rcodes: FORMERR (bad zone section, a prerequisite or update RR of a
 * wrong form), NOTZONE (a name outside the zone or a class that is not the
 * zone's), NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET (failed prerequisites),
 * REFUSED (ops->permit said no), NOERROR.
 *
 * @param m       the parsed message (borrowed).
 * @param apex    the zone apex (borrowed).
 * @param zclass  the zone class (IN).
 * @param ops     the zone interface (borrowed).
 * @param zone    passed to every callback.
 * @param rcode   receives the rcode to answer with.
 * @return 0 when processing ran (see *@p rcode), or a negative errno from
 *         a callback (answer SERVFAIL; undo anything applied).
 */
__attribute__((warn_unused_result))
int dns_update_process(const struct dns_msg *m, const struct dns_name *apex, uint16_t zclass,
		       const struct dns_zone_ops *ops, void *zone, uint16_t *rcode);

/**
 * The Update Lease option of a request (RFC 9664).
 * @return 0 with *@p out set, -ENOENT when the request has none, or
 *         -EBADMSG for a malformed option (answer FORMERR).
 */
__attribute__((warn_unused_result))
int dns_update_lease(const struct dns_msg *m, struct dns_lease *out);

#endif /* AT_DNS_UPDATE_H */
