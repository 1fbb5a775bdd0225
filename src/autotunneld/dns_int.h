/*
 * src/autotunneld: what the DNS side's files (account.c, publish.c,
 * watch.c) share among themselves; the rest of the daemon uses account.h,
 * publish.h and watch.h.
 *
 * One struct atd_dns per daemon (d->dns). One connection to the server
 * carries updates, queries and LLQs (a second one when the SRV records name
 * another LLQ server). One lib/agent timers instance holds the DNS side's
 * timer policy (publish, refresh, LLQ setup and refresh, polling): account.c
 * arms one event at its next deadline and hands the actions out.
 */
#ifndef AT_AUTOTUNNELD_DNS_INT_H
#define AT_AUTOTUNNELD_DNS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/timers.h"
#include "autotunneld/account.h"
#include "autotunneld/dnsconn.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"
#include "dnsc/state.h"

struct atd_pub;
struct atd_watch;
struct dnsquery_set;
struct login;

struct atd_dns {
	struct atd *d;
	struct atd_account acc;		/* what atd_account_get() returns */
	struct dnsc_state st;		/* the saved account (keys included) */
	struct dns_tsig_key key;	/* the account's TSIG key */
	struct dns_name domain, zone;	/* D and the zone above it */
	char state_path[4096];
	struct dnsconn *conn;		/* updates and queries */
	struct dnsconn *llq_conn;	/* LLQs: == conn unless the SRV named another server */
	struct agent_timers t;
	struct event *tev;
	bool timers_running;
	struct login *login;		/* a login under way */
	atd_account_done_fn logout_cb;	/* a logout under way */
	void *logout_arg;
	bool logging_out;
	struct dnsquery_set *queries;	/* signed queries waiting for their answer (dnsquery.c) */
	struct atd_pub *pub;
	struct atd_watch *watch;
};

/** d->dns, or NULL before atd_dns_init(). */
static inline struct atd_dns *atd_dns_of(struct atd *d);

/* ---- account.c ---- */

/** Re-arm the timer event after any agent_timers_* call. */
void dns_timers_rearm(struct atd_dns *dns);
/** Milliseconds on the monotonic clock, seconds on the wall clock (TSIG). */
uint64_t dns_now(void);
uint64_t dns_wall(void);
/* ---- publish.c ---- */

int pub_init(struct atd_dns *dns);
void pub_fini(struct atd_dns *dns);
/** Signed in: publish as soon as this host's location is known. */
void pub_start(struct atd_dns *dns);
/** The PUBLISH action of the timers. */
void pub_due(struct atd_dns *dns, uint64_t now);
/** A network change: wait for the new location (at most a few seconds), then publish. */
void pub_network_changed(struct atd_dns *dns, uint64_t now);
/** Withdraw at once, running the event loop until it is answered (shutdown without atd_publish_withdraw). */
void pub_withdraw_sync(struct atd_dns *dns);

/* ---- watch.c ---- */

int watch_init(struct atd_dns *dns);
void watch_fini(struct atd_dns *dns);
/** The LLQ actions of the timers (AGENT_ACT_LLQ_SETUP, AGENT_ACT_LLQ_REFRESH) and AGENT_ACT_POLL. */
void watch_llq_due(struct atd_dns *dns, enum agent_action a, uint64_t now);
void watch_poll_due(struct atd_dns *dns, uint64_t now);
/** The LLQ connection went up or down; a message that answers no request arrived on it. */
void watch_conn_up(struct atd_dns *dns);
void watch_conn_down(struct atd_dns *dns);
void watch_unsolicited(struct atd_dns *dns, const uint8_t *msg, size_t len);

#include "autotunneld/daemon.h"

static inline struct atd_dns *atd_dns_of(struct atd *d)
{
	return d->dns;
}

#endif
