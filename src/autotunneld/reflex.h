/*
 * src/autotunneld/reflex: this host's reflexive address and its NAT's
 * behaviour (issue 11, docs/paths.md), learnt from the tunnel socket
 * itself. A leaf of the agent (agent.c): it finds the account's STUN
 * server through the signed SRV record _stun._udp.D (RFC 5389 §9, which
 * autotunnel-dnsd publishes with --stun-server), runs lib/stun's RFC 5780
 * check (natcheck.h) with Binding requests sent from UDP 4500 (the data
 * plane's socket, so the NAT's answer is the one ESP and IKE get), and
 * keeps the result for `autotunnel netcheck`.
 *
 * It runs at sign-in and after every network change; answers reach it
 * through atd_reflex_input() (the data plane hands STUN up as it hands
 * IKE). Everything it needs comes in struct atd_reflex_ops at
 * atd_reflex_new(); it never calls the agent otherwise.
 *
 * Threads: the daemon's event-loop thread only. Pointers passed in are
 * borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_REFLEX_H
#define AT_AUTOTUNNELD_REFLEX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "autotunneld/dnsquery.h"
#include "stun/natcheck.h"

struct dns_name;
struct atd_reflex;

/** What the engine gives the leaf. */
struct atd_reflex_ops {
	/** A query signed with the account's key (see atd_dns_query()). */
	int (*query)(void *arg, const struct dns_name *q, uint16_t type, dnsquery_fn done, void *qarg);
	/** Forget the queries of @p qarg. */
	void (*query_cancel)(void *arg, void *qarg);
	/** Send @p len bytes to @p to from the tunnel's UDP socket (no marker). 0 or -errno. */
	int (*send)(void *arg, const struct sockaddr_in *to, const uint8_t *msg, size_t len);
	/**
	 * A check ended (its result is in atd_reflex_get()), or a full check's
	 * first answer came (the reflexive address, before the behaviour:
	 * have_early): the candidates follow it.
	 */
	void (*done)(void *arg);
};

enum atd_reflex_state {
	ATD_REFLEX_IDLE,	/* signed out, or offline */
	ATD_REFLEX_LOOKUP,	/* asking for _stun._udp.D (or resolving its target) */
	ATD_REFLEX_NO_SERVER,	/* the account's server names no STUN server */
	ATD_REFLEX_LOOKUP_FAILED, /* the SRV lookup or the target's address failed */
	ATD_REFLEX_CHECKING,	/* the RFC 5780 check runs */
	ATD_REFLEX_DONE,	/* result below (reachable or not) */
};

/** What `autotunnel netcheck` shows (a copy). */
struct atd_reflex_view {
	enum atd_reflex_state state;
	char server[300];		/* "HOST:PORT" as the SRV named it; "" before */
	struct sockaddr_in server_addr;	/* its address; family 0 before */
	struct stun_natcheck_result result;	/* DONE (and the last one while CHECKING again) */
	bool have_result;
	uint64_t checked_ms;		/* monotonic: when the result was final */
	char why[200];			/* LOOKUP_FAILED: why */
	bool have_early;		/* CHECKING (a full check): test I answered, the behaviour is still being found */
	struct sockaddr_storage early;	/* ... its reflexive address */
	bool early_no_nat;		/* ... which is our own address */
};

/** A new leaf; @p ops and @p arg are kept. NULL on allocation failure. */
struct atd_reflex *atd_reflex_new(struct event_base *base, const struct atd_reflex_ops *ops, void *arg);
/** Free it; queries in flight are cancelled. NULL is fine. */
void atd_reflex_free(struct atd_reflex *r);

/**
 * Signed in to @p domain (D), or the network changed while signed in
 * (@p local: our primary IPv4 address in network order, @p port the
 * tunnel's UDP port): find the STUN server if it is not known for D yet,
 * then check. A check under way is abandoned.
 */
void atd_reflex_start(struct atd_reflex *r, const char *domain, const uint8_t local[4], uint16_t port);
/**
 * `autotunnel netcheck` asks for a fresh look: when a full check has been
 * made on this network, only test I (reachability and the reflexive
 * address: repeating the filtering tests soon after would see the filter
 * entries the mapping tests opened), its behaviour kept while the
 * reflexive address is the same; else a full check. True when a check
 * runs (or was already running), false when signed out or offline.
 */
bool atd_reflex_refresh(struct atd_reflex *r);
/** Signed out (forget the server too: another account may name another), or offline. */
void atd_reflex_stop(struct atd_reflex *r, bool forget_server);

/** A STUN message arrived on the tunnel socket from @p from. */
void atd_reflex_input(struct atd_reflex *r, const uint8_t *buf, size_t len, const struct sockaddr_in *from);

/** What is known now. */
void atd_reflex_get(const struct atd_reflex *r, struct atd_reflex_view *v);

#endif
