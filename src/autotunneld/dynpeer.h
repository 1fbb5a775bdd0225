/*
 * src/autotunneld/dynpeer: the account's other hosts as tunnel peers.
 *
 * A peer the watcher reports (atd_dynpeers_update) gets a slot in the
 * data plane (its ULA/128 routed to the TUN device) and an IKE peer (PSK =
 * the account's IKE key, ID_FQDN = H.D on each side, traffic selectors
 * ULA/128 <-> ULA/128). Tunnels are made on demand when the first packet
 * for the peer arrives (or kept up for the peers the user named), torn
 * down when idle, kept open through NATs with keepalives, and moved at once
 * when the peer's published location changes or ours does. All timing
 * decisions are lib/agent timers'; a peer that does not answer is reported
 * and tried again only after a growing back-off.
 *
 * A leaf of the agent (agent.c): the account's view comes with each call
 * that needs it; what the agent must hear goes through struct
 * atd_dynpeers_ops. The data plane (dpglue.c) and IKE (through main.c's
 * ike_glue_ops) report a peer's events by its slot (atd_dynpeer_*).
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_DYNPEER_H
#define AT_AUTOTUNNELD_DYNPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/hosts.h"
#include "agent/timers.h"

struct atd;
struct atd_acct_view;
struct atd_dynpeers;
struct atd_peer_info;
struct atd_rpeer;
struct dp_path;
union dp_addr;
struct ike_event;
struct ike_glue_rsip;

/** What the peers tell the agent, and ask it. */
struct atd_dynpeers_ops {
	/** The set of known peers changed (the hosts cache follows). */
	void (*hosts_changed)(void *arg);
	/** The RSIP binding (see atd_rsip_binding()): 0, or -ENOENT while there is none. */
	int (*rsip_binding)(void *arg, struct ike_glue_rsip *gr, struct dp_path *path);
	/**
	 * Packets wait for peer @p label, which published no location: find a
	 * direct path by hole punching (punch.c). 0 when a round runs (its
	 * outcome comes through atd_dynpeers_path/_path_failed), or -errno.
	 */
	int (*punch)(void *arg, const char *label);
};

/**
 * Start: the activity tick and the ICMPv6 socket. @p ula is ours, @p tcfg
 * the peers' timer policy (both copied); @p ops and @p arg are kept. *@p out
 * is set even on failure (free it with atd_dynpeers_stop()). 0 or -errno.
 */
int atd_dynpeers_start(struct atd *d, const uint8_t ula[16], const struct agent_timer_cfg *tcfg,
		       const struct atd_dynpeers_ops *ops, void *arg, struct atd_dynpeers **out);
/** Delete every tunnel (IKE Delete) and free. NULL is fine. */
void atd_dynpeers_stop(struct atd_dynpeers *ps);
/** Close every tunnel and forget every peer (sign-out). */
void atd_dynpeers_clear(struct atd_dynpeers *ps);

/**
 * A peer appeared, or its records changed (moved): its tunnel follows at
 * once. @p acc is the account now (nothing happens when signed out).
 */
void atd_dynpeers_update(struct atd_dynpeers *ps, const struct atd_acct_view *acc, const struct atd_peer_info *pi);
/** A peer's records are gone (expired, withdrawn, host removed). */
void atd_dynpeers_gone(struct atd_dynpeers *ps, const char *fqdn);

/**
 * Our address moved from @p old (NULL or family 0: none) to @p now, of
 * either family (ports ignored; both borrowed): tunnels bound to the old
 * one move (MOBIKE, or a liveness check from the new address), and every
 * live tunnel carries a packet from the new address at once, so the peer's
 * data plane follows.
 */
void atd_dynpeers_local_moved(struct atd_dynpeers *ps, const union dp_addr *old, const union dp_addr *now);

/**
 * Our candidates changed (a network change gathered them again); @p located:
 * we publish a location (a mapping, a public or lent address) here, our
 * own public address when @p public_addr (status names the class of a
 * tunnel a peer started to it: mapped or public). When we
 * publish none, every live tunnel to a peer that publishes none either has
 * no path the peers' NATs let through but one hole punching finds (the
 * peer's NAT is open only towards our old address): a round runs for it,
 * with a punch request (docs/paths.md §9.4). The peer does the same when it
 * sees our location withdrawn (atd_dynpeers_update()).
 */
void atd_dynpeers_local_cands(struct atd_dynpeers *ps, bool located, bool public_addr);
/** Peer @p label's candidates (punch.c) are those of its update: the round its withdrawn location asks for. */
void atd_dynpeers_punch_moved(struct atd_dynpeers *ps, const char *label);

/**
 * The RSIP binding came, changed or went (ops->rsip_binding says what it is
 * now): every peer is set up again in lib/ike from Nb and the lent port
 * with the lent SPIs (or from our own address), its data-plane path with it.
 */
void atd_dynpeers_rsip_changed(struct atd_dynpeers *ps, const struct atd_acct_view *acc);

/**
 * The account authority's revocation list changed: every tunnel whose
 * peer's certificate @p acc's verify now refuses is closed at once (a
 * Delete to the peer), and the peer is refused from then on (docs/authority.md §5.4).
 */
void atd_dynpeers_recheck(struct atd_dynpeers *ps, const struct atd_acct_view *acc);

/** The known peers as hosts-cache entries; returns how many were written. */
size_t atd_dynpeers_hosts(const struct atd_dynpeers *ps, struct agent_host_entry *out, size_t cap);

/* events of one peer's slot (rp->dyn set), from dpglue.c and IKE */
/** Packets wait for an SA to dynamic peer @p rp. */
void atd_dynpeer_need_sa(struct atd_rpeer *rp);
/** An event of lib/ike about @p rp (after ikeglue handled it). */
void atd_dynpeer_ike_event(struct atd_rpeer *rp, const struct ike_event *ev);

/**
 * Hole punching found a path to peer @p label at @p to (either family;
 * borrowed), of class @p cls (enum agent_path_class),
 * proved with a round trip of @p rtt_ms. When @p controlling (we are the
 * IKE initiator, docs/paths.md §5) the tunnel is made on it, or an existing
 * one moves to it (MOBIKE, no rekey); otherwise the peer starts IKE.
 */
void atd_dynpeers_path(struct atd_dynpeers *ps, const char *label, bool controlling, uint8_t cls,
		       const union dp_addr *to, uint32_t rtt_ms);
/** Hole punching found no path to peer @p label: a waiting tunnel backs off as after no answer. */
void atd_dynpeers_path_failed(struct atd_dynpeers *ps, const char *label);

/** A peer as `autotunnel status` shows it. */
struct atd_peer_status {
	char label[64];
	char fqdn[256];
	uint8_t ula[16];
	enum agent_peer_state state;
	bool has_outer;			/* where its packets go now (or its published location) */
	bool outer_v6;			/* ... an IPv6 address (else IPv4 in outer[0..3]) */
	uint8_t outer[16];
	uint16_t port;
	bool has_rtt;
	uint32_t rtt_ms;
	bool has_handshake;
	uint32_t handshake_age_s;
	bool keep;
	uint8_t cls;			/* enum agent_path_class of the path in use; 0 when unknown */
	bool no_direct;			/* the last round of hole punching found no direct path */
	const char *auth;		/* while up: "cert" (RFC 7427) or "psk"; else NULL */
};

/** Fill up to @p cap entries; returns how many. */
size_t atd_dynpeers_status(const struct atd_dynpeers *ps, struct atd_peer_status *out, size_t cap);
/** Find a peer by label or FQDN (case-insensitive). 0 or -ENOENT. */
int atd_dynpeers_find(const struct atd_dynpeers *ps, const char *name, struct atd_peer_status *out);

struct atd_ping_result {
	char host[256];
	uint8_t ula[16];
	bool has_outer;
	bool outer_v6;			/* IPv6 (else IPv4 in outer[0..3]) */
	uint8_t outer[16];
	uint16_t port;
	uint32_t sent, received;
	bool has_rtt;
	uint32_t rtt_ms;		/* the shortest round trip */
	uint32_t rtt_us;		/* the same, in microseconds */
	int err;			/* 0, or why nothing could be sent (-ENOENT: no such peer) */
};

/**
 * Send @p count ICMPv6 echo requests through the tunnel to peer @p name
 * (which makes the tunnel on demand) and call @p done with the result
 * within @p timeout_ms. 0, or -errno (then @p done is not called).
 */
int atd_dynpeers_ping(struct atd_dynpeers *ps, const char *name, unsigned count, unsigned timeout_ms,
		      void (*done)(void *arg, const struct atd_ping_result *r), void *arg);
/** Forget a pending ping's callback (its requester went away). */
void atd_dynpeers_ping_cancel(struct atd_dynpeers *ps, void *arg);

#endif
