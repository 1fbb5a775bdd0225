/*
 * src/autotunneld/dnsquery: TSIG-signed queries to the rendezvous server
 * (RFC 8945) over a dnsconn, answered once each: used by the login, the
 * watcher's polls and DNS-SD browsing. A set keeps the queries in flight so
 * that a caller going away can cancel its own.
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_DNSQUERY_H
#define AT_AUTOTUNNELD_DNSQUERY_H

#include <stdint.h>

struct dnsconn;
struct dnsc_resp;
struct dns_name;
struct dns_tsig_key;
struct dnsquery_set;

/**
 * The outcome of a query: err 0 with the opened, verified answer (whatever
 * its rcode; borrowed for the call), or a negative errno with @p why for a
 * person (-EACCES may come with the answer that failed verification).
 */
typedef void (*dnsquery_fn)(void *arg, int err, const struct dnsc_resp *r, const char *why);

struct dnsquery_set *dnsquery_set_new(void);
/** Free the set; queries still in flight are forgotten (their callbacks are not called). NULL is fine. */
void dnsquery_set_free(struct dnsquery_set *qs);

/**
 * Send a query for (@p q, @p type) over @p conn signed with @p key (both
 * borrowed until the answer) and call @p done once, later. @p arg
 * identifies the caller for dnsquery_cancel(). 0 or -errno (then @p done
 * is not called).
 */
int dnsquery_send(struct dnsquery_set *qs, struct dnsconn *conn, const struct dns_tsig_key *key,
		  const struct dns_name *q, uint16_t type, dnsquery_fn done, void *arg);
/** Forget every query of @p arg: its callback will not be called. */
void dnsquery_cancel(struct dnsquery_set *qs, void *arg);

#endif
