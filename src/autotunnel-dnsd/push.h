/*
 * DNS Push Notifications (RFC 8765) over DNS Stateful Operations
 * (RFC 8490), owned by the engine as watch.h owns the LLQs: lib/dso's
 * session machine, the policy of who may subscribe to what, the initial
 * PUSH of a subscription, the PUSHes of committed changes and RECONFIRM,
 * and the session timers. Messages leave through the callbacks given at
 * creation. Engine thread only.
 *
 * Authentication (docs/dnsd.md, "DNS Push"): a DSO message cannot carry a
 * TSIG (RFC 8490 §5.4.6: ARCOUNT is zero), but the session carries other
 * DNS messages that can. A TSIG-signed query that verifies on a TLS
 * connection makes that connection's session the signing account's, and
 * only that account may subscribe to names in its domain.
 */
#ifndef DNSD_PUSH_H
#define DNSD_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "autotunnel-dnsd/transport.h"

struct dnsd;
struct push;
struct qscratch;
struct stats;

/** The Push service of @p d, counting into @p st, sending through @p ops (all borrowed). */
struct push *push_new(struct dnsd *d, struct stats *st, const struct transport_ops *ops, void *arg);
void push_free(struct push *p);

/** A DSO message (OPCODE 6) from stream connection @p src (@p pkt borrowed). */
void push_handle(struct push *p, const uint8_t *pkt, size_t len, const struct transport_src *src);

/**
 * A TSIG-signed QUERY parsed in @p s->msg, from a TLS connection: answer
 * it as any query, and when its TSIG verified, bind the connection's
 * session to the signing account.
 */
void push_query(struct push *p, struct qscratch *s, const struct transport_src *src);

/** A DNS message other than DSO went through connection @p conn (RFC 8490 §6.3). */
void push_activity(struct push *p, uint64_t conn);

/** Changed RRs of one (name, type), committed (commit.h's form): PUSH them to their subscribers. */
void push_notify(struct push *p, const uint8_t *lname, size_t len, uint16_t type, const uint8_t *rrs,
		 size_t rrs_len);

/** Run the session timers and send what they produce. */
void push_tick(struct push *p);

/** The next session deadline (monotonic ms), or UINT64_MAX. */
uint64_t push_next_deadline(const struct push *p);

struct accounts;

/**
 * The accounts were re-read (engine_reload(); @p old is the table before,
 * borrowed for the call): a session whose account is gone ends (a Retry
 * Delay with REFUSED, RFC 8490 §7.2.1), so that nobody keeps watching names
 * that may be given to another account; one whose account moved to another
 * primary gets a Retry Delay of 1-4 s with NOTAUTH, to find it.
 */
void push_accounts_changed(struct push *p, const struct accounts *old);

/**
 * The server is stopping: every established DSO session gets a Retry Delay
 * with NOERROR and a short random delay of its own. @return how many.
 */
int push_stopping(struct push *p);

/** Stream connection @p conn closed: its session and subscriptions go. */
void push_conn_closed(struct push *p, uint64_t conn);

void push_print_stats(const struct push *p, FILE *fp);

#endif
