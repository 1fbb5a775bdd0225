/*
 * src/autotunneld/watch: following the account's hosts (RFC 6281 §5.3,
 * Figure 3; docs/design.md §4): DNS Push subscriptions (RFC 8765) when the
 * server offers them, otherwise LLQs, over TLS on the host list
 * (_autotunnel._udp.D PTR) and on each peer's AAAA, SRV and the A of its
 * tunnel endpoint, refreshed before they expire; events are reported at
 * once through struct atd_watch_ops (peer_update, peer_gone). When the LLQ
 * server is lost the watcher polls with back-off, and returns to LLQ as
 * soon as it can: when is lib/agent timers' decision, taken by the account
 * (account.c) from the outcomes reported here (llq_established, llq_failed,
 * llq_lost, poll_done).
 *
 * Also `autotunnel hosts` and `autotunnel services` (wide-area DNS-SD
 * browsing, RFC 6763).
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_WATCH_H
#define AT_AUTOTUNNELD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/ctl.h"
#include "dnsc/sd.h"

struct agent_punch;
struct agent_timers;
struct atd_local_info;
struct atd_peer_info;
struct atd_watch;
struct dnsconn;
struct dnsquery_set;
struct dns_name;
struct dns_tsig_key;

/** What the watcher reports to its owner (account.c). */
struct atd_watch_ops {
	/** A peer appeared, or its records changed (@p p borrowed for the call). */
	void (*peer_update)(void *arg, const struct atd_peer_info *p);
	/** A peer's records are gone (expired, withdrawn, host removed). */
	void (*peer_gone)(void *arg, const char *fqdn);
	/** Every wanted LLQ is established (or refreshed); the shortest lease is @p lease_s. */
	void (*llq_established)(void *arg, uint32_t lease_s);
	/** An LLQ setup or refresh failed, or an LLQ was refused. */
	void (*llq_failed)(void *arg);
	/** The established LLQs are gone with the connection. */
	void (*llq_lost)(void *arg);
	/** A poll ended (answered or not). */
	void (*poll_done)(void *arg);
	/** This host's own H.D shows address @p ula now (borrowed for the call). */
	void (*self_seen)(void *arg, const uint8_t ula[16]);
	/** A punch request for this host arrived at _punch.H.D (@p req borrowed for the call). */
	void (*punch_request)(void *arg, const struct agent_punch *req);
	/**
	 * The TXT RRset at @p owner (text, no trailing dot), one set with
	 * atd_watch_notes_set(), changed: an event, or a snapshot unlike the last.
	 */
	void (*record_changed)(void *arg, const char *owner);
};

/** What the watcher works with while signed in: borrowed from the account until atd_watch_stop(). */
struct atd_watch_ctx {
	struct dnsconn *conn;		/* queries (polls, TXT, browsing) */
	struct dnsconn *llq_conn;	/* LLQs */
	const struct dns_tsig_key *key;
	const struct dns_name *domain;	/* D, canonical */
	const char *domain_text, *host, *fqdn;
	struct dnsquery_set *queries;
	const struct agent_timers *t;	/* the timer policy's state: read only (LLQ up, polling) */
};

/** A watcher; @p ops and @p arg are kept. NULL when out of memory. */
struct atd_watch *atd_watch_new(struct event_base *base, const struct atd_watch_ops *ops, void *arg);
/** Stop, fail the browses under way, free. NULL is fine. */
void atd_watch_free(struct atd_watch *w);

/** Start watching (signed in; idempotent). 0 or -errno. */
int atd_watch_start(struct atd_watch *w, const struct atd_watch_ctx *ctx);
/** Stop watching and forget the peers (without reporting them gone). */
void atd_watch_stop(struct atd_watch *w);

/**
 * Also watch the TXT RRsets @p names (texts below D, borrowed for the call)
 * and, with @p renew, each listed peer's `_renew.H.D`: the account
 * authority's records (docs/authority.md §7), reported through
 * record_changed. Kept across atd_watch_stop() and start. 0, -ENOSPC (more
 * than DNSC_VIEW_NOTE_MAX), -EINVAL.
 */
int atd_watch_notes_set(struct atd_watch *w, const char *const *names, size_t n, bool renew);

/** The LLQ actions of the timers (AGENT_ACT_LLQ_SETUP, AGENT_ACT_LLQ_REFRESH), and AGENT_ACT_POLL. */
void atd_watch_llq_due(struct atd_watch *w, bool refresh);
void atd_watch_poll_due(struct atd_watch *w);
/** The LLQ connection went up or down; a message that answers no request arrived on it. */
void atd_watch_conn_up(struct atd_watch *w);
void atd_watch_conn_down(struct atd_watch *w);
void atd_watch_unsolicited(struct atd_watch *w, const uint8_t *msg, size_t len);

struct atd_watch_status {
	bool running;
	bool llq_up;		/* every wanted LLQ is established */
	bool polling;		/* LLQ is down: polling with back-off */
	unsigned llqs, llqs_up;
	unsigned hosts;		/* listed hosts, this one included */
	uint64_t events;	/* LLQ events received */
	uint32_t last_event_age_s;	/* seconds since the last event (UINT32_MAX: none) */
	uint64_t lost_since;	/* polling after the connection to the server was lost: when (Unix seconds); else 0 */
	bool push;		/* watching with DNS Push (RFC 8765), not LLQ */
};

/** @p w NULL gives an empty status. */
void atd_watch_status(const struct atd_watch *w, struct atd_watch_status *st);

/**
 * Write one HOST record per listed host (label, fqdn, ula, outer, port,
 * model, os, self); this host's ULA and location from @p self (NULL: unknown).
 */
void atd_watch_write_hosts(const struct atd_watch *w, const struct atd_local_info *self,
			   struct agent_ctl_writer *cw);

/**
 * Browse the account's services: @p cb gets them (borrowed for the call)
 * or an error with a message for a person. @p cb is called exactly once,
 * later, unless this returns an error (-ENOENT: signed out; -ENOMEM).
 */
typedef void (*atd_services_fn)(void *arg, int err, const char *message, const struct dnsc_service *s,
				size_t n);
int atd_services_browse(struct atd_watch *w, atd_services_fn cb, void *arg);
/** The control client of @p arg went away: its browse callback will not be called. */
void atd_services_forget(struct atd_watch *w, void *arg);

/** Write the SERVICE records of a services reply. */
void atd_services_write(struct agent_ctl_writer *cw, const struct dnsc_service *s, size_t n);

#endif
