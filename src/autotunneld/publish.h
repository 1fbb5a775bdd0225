/*
 * src/autotunneld/publish: this host's records in the account (docs/design.md
 * §4, RFC 6281 §§3, 5.2): H.D AAAA, _autotunnel._udp.H.D SRV,
 * AutoTunnel-E.D A/AAAA/TXT, its PTR in _autotunnel._udp.D and the DNS-SD
 * records of the services of [agent] service, sent as TSIG-signed UPDATEs
 * with an update lease over TLS (lib/dnsc update.h).
 *
 * A leaf of the account (account.c): it sends what it is asked to and
 * reports each outcome through its ops; when to publish is lib/agent
 * timers' decision (publish at once after a change, refresh at 80% of the
 * lease granted plus jitter, retry a failure with back-off).
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_PUBLISH_H
#define AT_AUTOTUNNELD_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

struct atd_local_info;
struct atd_pub;
struct dnsconn;
struct dns_name;
struct dns_tsig_key;

/**
 * Outcomes the publisher reports to its owner (account.c), which feeds them
 * to the timer policy (lib/agent timers) and re-arms the timer.
 */
struct atd_pub_ops {
	/** The update was granted a lease of @p lease_s seconds; @p jitter_ms for its refresh. */
	void (*update_done)(void *arg, uint32_t lease_s, uint32_t jitter_ms);
	/** The update was refused, timed out, or could not be sent. */
	void (*update_failed)(void *arg);
	/** The first location since the start or a network change arrived (the wait for it ends). */
	void (*location_known)(void *arg);
	/** What we publish changed: publish at once. */
	void (*records_changed)(void *arg);
	/**
	 * The server refused an update on its prerequisites (RFC 2136 §3.2.5):
	 * H.D is not as we left it (another computer took it, or our records
	 * expired). The owner finds out whose it is and calls atd_pub_claim()
	 * or atd_pub_displaced(); nothing is published until then.
	 */
	void (*name_lost)(void *arg);
};

/** How the next update takes H.D (RFC 2136 §2.4 prerequisites), before one is granted. */
enum atd_pub_claim {
	ATD_PUB_CLAIM_FREE,	/* nobody holds it: "name is not in use" */
	ATD_PUB_CLAIM_OURS_ID,	/* it carries our host id (an earlier run or boot) */
	ATD_PUB_CLAIM_OURS_ULA,	/* it holds our ULA alone (an earlier run without an id) */
};

/** What the publisher works with while signed in: borrowed from the account until atd_pub_stop(). */
struct atd_pub_ctx {
	struct dnsconn *conn;
	const struct dns_tsig_key *key;
	const struct dns_name *zone;
	const char *fqdn;	/* H.D */
	const char *domain;	/* D */
	const char *host;	/* H */
	const char *host_id;	/* this host's id (H.D TXT), kept across boots */
	enum atd_pub_claim claim;	/* what the sign-in found at H.D */
};

/**
 * A publisher for the services of [agent] service (@p services, borrowed
 * for the call) with update leases of @p lease_s. @p ops and @p arg are
 * kept. NULL when out of memory.
 */
struct atd_pub *atd_pub_new(struct event_base *base, const char *services, uint32_t lease_s,
			    const struct atd_pub_ops *ops, void *arg);
/** Free without withdrawing; an update in flight on ctx->conn is cancelled. NULL is fine. */
void atd_pub_free(struct atd_pub *p);

/** Signed in: publish as soon as this host's location is known; @p li (NULL: none yet) is copied. */
void atd_pub_start(struct atd_pub *p, const struct atd_pub_ctx *ctx, const struct atd_local_info *li);
/** The PUBLISH action of the timers: send the record set (its outcome comes through ops). */
void atd_pub_due(struct atd_pub *p);
/**
 * After name_lost: H.D is free or ours (@p claim); publish at once, or
 * when @p now is false after the back-off the refusal set in the owner's
 * timers (whose it is could not be told, or the server keeps refusing).
 */
void atd_pub_claim(struct atd_pub *p, enum atd_pub_claim claim, bool now);
/**
 * After name_lost: another computer holds H.D. Nothing more is published,
 * and a withdrawal leaves its records alone.
 */
void atd_pub_displaced(struct atd_pub *p);

/** A network change: wait for the new location (at most a few seconds), then publish. */
void atd_pub_network_changed(struct atd_pub *p);

/**
 * What this host is now (agent.c, after every evaluation of the network):
 * publish at once if anything changed since the last update (and keep
 * refreshing). Only remembered while not started. @p li is copied.
 */
void atd_pub_local(struct atd_pub *p, const struct atd_local_info *li);

/**
 * Withdraw this host's records (clean shutdown, logout): one UPDATE that
 * deletes them, then @p done (may be NULL) is called once, when it is
 * answered, failed, or after at most 3 s; no refresh follows. Called while
 * not started, @p done is called at once.
 */
void atd_pub_withdraw(struct atd_pub *p, void (*done)(void *arg), void *arg);
/** Withdraw at once, running the event loop until it is answered (shutdown without atd_pub_withdraw). */
void atd_pub_withdraw_sync(struct atd_pub *p);

struct agent_rr;

/**
 * Add (@p add) or delete the punch request @p rr (agent_punch_rr(): one RR
 * of a peer's shared _punch.P.D, docs/paths.md §1.3) by a signed UPDATE of
 * its own, beside the record set's. Its outcome is only logged. 0,
 * -ENOTCONN (not started), -EBUSY (too many in flight), or the build's error.
 */
int atd_pub_punch(struct atd_pub *p, const struct agent_rr *rr, bool add);

struct atd_publish_status {
	bool published;		/* the last update was granted */
	uint32_t lease_s;	/* lease granted */
	uint32_t lease_left_s;	/* seconds until it ends (0 when none) */
	uint32_t records;	/* records in the set */
	uint32_t fails;		/* failed updates in a row */
	char error[160];	/* why the last one failed, "" if it did not */
};

/** @p p NULL gives an empty status. */
void atd_pub_status(const struct atd_pub *p, struct atd_publish_status *st);

#endif
