/*
 * src/autotunneld/punch: direct paths by hole punching (issue 11,
 * docs/paths.md): for each peer, a round of lib/agent/paths (pairs of our
 * candidates and the peer's, paced checks, nomination) driven with the
 * account's authenticated STUN checks (lib/stun/check) sent from the
 * tunnel's UDP socket, IPv4 and IPv6 pairs in one round (docs/paths.md
 * §10: the best class that works wins, a dead family delays nothing), and
 * the punch request (_punch.P.D) that tells the
 * peer to check at the same time.
 *
 * The relay is the candidate of last resort (issue 12): when both ends
 * hold a TURN allocation, the pair to the peer's relayed address goes
 * through ours (relay to relay), is checked like any other, and is
 * nominated only when no direct pair worked within relay_wait_ms; the
 * direct pairs are checked again in the background while it is in use.
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
#include "dataplane/dp.h"

struct agent_rr;
struct atd_punch;

/** A path found to a peer. */
struct atd_punch_path {
	bool controlling;	/* we are the IKE initiator (lower ULA, docs/paths.md §5) */
	uint8_t cls;		/* enum agent_path_class */
	union dp_addr to;	/* the peer's transport address on it, either family */
	uint32_t rtt_ms;	/* of the check that proved it */
};

/** What the engine gives the leaf. */
struct atd_punch_ops {
	/** Send @p len bytes to @p to (either family) from the tunnel's UDP socket (no marker). 0 or -errno. */
	int (*send)(void *arg, const union dp_addr *to, const uint8_t *msg, size_t len);
	/** Add (@p add) or delete a punch request RR under a peer's name (atd_dns_punch()). 0 or -errno. */
	int (*request)(void *arg, const struct agent_rr *rr, bool add);
	/** A path to peer @p label was nominated (a first one, or a better one). */
	void (*nominated)(void *arg, const char *label, const struct atd_punch_path *path);
	/** A round to peer @p label ended with nothing working. */
	void (*failed)(void *arg, const char *label);
	/**
	 * Reach peer @p label's relayed address @p addr through our own TURN
	 * allocation (permission and channel: atd_relay_bind_peer()), so that
	 * checks, IKE and ESP sent there go relay to relay; NULL unbinds. May
	 * be NULL (no relay). 0 or -errno.
	 */
	int (*relay_bind)(void *arg, const char *label, const struct sockaddr_in *addr);
};

/*
 * While the path in use is relayed, the IKE initiator's side checks the
 * direct pairs again this long after each round (with a punch request, so
 * that the peer checks at the same time) and moves to the first that
 * works (issue 12: "upgraded to direct"). The wait doubles from the third
 * background round up to ATD_PUNCH_RECHECK_MAX_MS, so that a long relayed
 * tunnel (or a peer that went quiet) costs one round a minute.
 */
#define ATD_PUNCH_RECHECK_MS 2000
#define ATD_PUNCH_RECHECK_MAX_MS 60000

/**
 * The port-prediction round's sockets (docs/paths.md §4), which the data
 * plane owns (dpglue.c: dp_psock_*). Ids are the data plane's, 1..1024.
 */
struct atd_punch_sock_ops {
	/** Open up to @p n sockets on ephemeral ports, ids into @p ids: how many (≥ 1), or -errno. */
	int (*open)(void *arg, unsigned n, uint16_t *ids);
	/** Close socket @p id (a binding goes with it). */
	void (*close)(void *arg, uint16_t id);
	/** Send @p len bytes to @p to from socket @p id. 0 or -errno. */
	int (*send)(void *arg, uint16_t id, const struct sockaddr_in *to, const uint8_t *msg, size_t len);
	/** Socket @p id carries the tunnel to @p remote: ESP, IKE and keepalives sent there leave from it. 0 or -errno. */
	int (*bind)(void *arg, uint16_t id, const struct sockaddr_in *remote);
	/** The local port of socket @p id (for the log), 0 if unknown. */
	uint16_t (*port)(void *arg, uint16_t id);
};

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
/**
 * Give the leaf the prediction round's sockets (@p ops and @p arg kept);
 * without them the round is not played (docs/paths.md §10).
 */
void atd_punch_set_sockets(struct atd_punch *pu, const struct atd_punch_sock_ops *ops, void *arg);
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
 * A STUN message that arrived on the tunnel socket (either family) from @p from: true when
 * it was a check or an answer to one of ours (consumed), false otherwise
 * (for the reflexive-address check).
 */
bool atd_punch_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const union dp_addr *from);

/**
 * A STUN message that arrived on prediction socket @p sock (an id of
 * atd_punch_sock_ops) from @p from: a check (answered from that socket), or
 * an answer to one of our probes. True when consumed.
 */
bool atd_punch_input_sock(struct atd_punch *pu, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
			  uint16_t sock);

/** The path nominated to @p label: true with @p out set, false when none. */
bool atd_punch_get(const struct atd_punch *pu, const char *label, struct atd_punch_path *out);

#endif
