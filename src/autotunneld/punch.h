/*
 * src/autotunneld/punch: direct paths by hole punching (issue 11,
 * docs/paths.md): for each peer, a round of lib/agent/paths (pairs of our
 * candidates and the peer's, paced checks, nomination) driven with the
 * account's authenticated STUN checks (lib/stun/check) sent from the
 * tunnel's UDP socket, and the punch request (_punch.P.D) that tells the
 * peer to check at the same time.
 *
 * A leaf of the agent (agent.c): everything it needs comes in struct
 * atd_punch_ops at atd_punch_new(); it never calls the agent otherwise.
 * What it finds (a nominated path, or none) goes out through the ops; the
 * agent hands it to the peers' tunnels (dynpeer.c).
 *
 * Threads: the daemon's event-loop thread only. Pointers passed in are
 * borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_PUNCH_H
#define AT_AUTOTUNNELD_PUNCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/cand.h"
#include "agent/paths.h"

struct agent_rr;
struct atd_punch;

/** A path found to a peer. */
struct atd_punch_path {
	bool controlling;	/* we are the IKE initiator (lower ULA, docs/paths.md §5) */
	uint8_t cls;		/* enum agent_path_class */
	uint8_t addr4[4];	/* the peer's address and port on it */
	uint16_t port;
	uint32_t rtt_ms;	/* of the check that proved it */
};

/** What the engine gives the leaf. */
struct atd_punch_ops {
	/** Send @p len bytes to @p to from the tunnel's UDP socket (no marker). 0 or -errno. */
	int (*send)(void *arg, const struct sockaddr_in *to, const uint8_t *msg, size_t len);
	/** Add (@p add) or delete a punch request RR under a peer's name (atd_dns_punch()). 0 or -errno. */
	int (*request)(void *arg, const struct agent_rr *rr, bool add);
	/** A path to peer @p label was nominated (a first one, or a better one). */
	void (*nominated)(void *arg, const char *label, const struct atd_punch_path *path);
	/** A round to peer @p label ended with nothing working. */
	void (*failed)(void *arg, const char *label);
};

/**
 * The switch for IPv6 pairs: IPv6 candidates are published, but checked
 * only once the data plane carries outer IPv6 (docs/paths.md §10).
 */
#define ATD_PUNCH_CHECK_V6 false

/** A new leaf; @p ops and @p arg are kept. NULL on allocation failure. */
struct atd_punch *atd_punch_new(struct event_base *base, const struct atd_punch_ops *ops, void *arg);
/** Free it (the punch requests it wrote are left to expire). NULL is fine. */
void atd_punch_free(struct atd_punch *pu);

/**
 * Signed in as @p host of @p domain with our ULA @p ula and the account's
 * IKE key @p ike_key (the checks' key is derived from it), or signed out
 * (@p ike_key NULL: every round stops, every peer is forgotten).
 */
void atd_punch_account(struct atd_punch *pu, const char *domain, const char *host, const uint8_t ula[16],
		       const uint8_t *ike_key);
/** Our candidates now (after a network change or a STUN check): rounds that ran are run again. */
void atd_punch_local(struct atd_punch *pu, const struct agent_cand_set *ours);
/** A peer and its published candidates (@p cands NULL: none known). */
void atd_punch_peer(struct atd_punch *pu, const char *label, const uint8_t ula[16], const struct agent_cand_set *cands);
/** A peer left the account. */
void atd_punch_peer_gone(struct atd_punch *pu, const char *label);

/**
 * We want a direct path to @p label (packets wait for it): ask it to punch
 * (a punch request under its name) and start checking. 0 (started, or a
 * round runs), -ENOENT (no such peer), -ENOTCONN (signed out), -EHOSTUNREACH
 * (no pair to check: no candidates on one side).
 */
int atd_punch_want(struct atd_punch *pu, const char *label);

/** A punch request for us arrived (the watcher's LLQ on _punch.H.D). */
void atd_punch_request(struct atd_punch *pu, const struct agent_punch *req);

/**
 * A STUN message that arrived on the tunnel socket from @p from: true when
 * it was a check or an answer to one of ours (consumed), false otherwise
 * (for the reflexive-address check).
 */
bool atd_punch_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const struct sockaddr_in *from);

/** The path nominated to @p label: true with @p out set, false when none. */
bool atd_punch_get(const struct atd_punch *pu, const char *label, struct atd_punch_path *out);

#endif
