/*
 * src/autotunneld/dynpeer: the account's other hosts as tunnel peers.
 *
 * A peer the watcher reports (atd_agent_peer_update) gets a slot in the
 * data plane (its ULA/128 routed to the TUN device) and an IKE peer (PSK =
 * the account's IKE key, ID_FQDN = H.D on each side, traffic selectors
 * ULA/128 <-> ULA/128). Tunnels are made on demand when the first packet
 * for the peer arrives (or kept up for the peers the user named), torn
 * down when idle, kept open through NATs with keepalives, and moved at once
 * when the peer's published location changes or ours does. All timing
 * decisions are lib/agent timers'; a peer that does not answer is reported
 * and tried again only after a growing back-off.
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
struct atd_rpeer;
struct ike_event;

int atd_dynpeers_start(struct atd *d);
void atd_dynpeers_stop(struct atd *d);
/** Close every tunnel and forget every peer (sign-out). */
void atd_dynpeers_clear(struct atd *d);

/**
 * Our primary IPv4 address moved from @p old4 to @p new4 (network order;
 * NULL: none): tunnels bound to the old one move (MOBIKE, or a liveness
 * check from the new address), and every live tunnel carries a packet from
 * the new address at once, so the peer's data plane follows.
 */
void atd_dynpeers_local_moved(struct atd *d, const uint8_t *old4, const uint8_t *new4);

/**
 * The RSIP binding came, changed or went (rsip_client.c, through the
 * agent): every peer is set up again in lib/ike from Nb and the lent port
 * with the lent SPIs (or from our own address), its data-plane path with it.
 */
void atd_dynpeers_rsip_changed(struct atd *d);

/** The known peers as hosts-cache entries; returns how many were written. */
size_t atd_dynpeers_hosts(struct atd *d, struct agent_host_entry *out, size_t cap);

/* hooks from dpglue.c and ikeglue.c */
/** Packets wait for an SA to dynamic peer @p rp. */
void atd_dynpeer_need_sa(struct atd *d, struct atd_rpeer *rp);
/** An event of lib/ike (after ikeglue handled it). */
void atd_dynpeer_ike_event(struct atd *d, const struct ike_event *ev);

/** A peer as `autotunnel status` shows it. */
struct atd_peer_status {
	char label[64];
	char fqdn[256];
	uint8_t ula[16];
	enum agent_peer_state state;
	bool has_outer;			/* where its packets go now (or its published location) */
	uint8_t outer4[4];
	uint16_t port;
	bool has_rtt;
	uint32_t rtt_ms;
	bool has_handshake;
	uint32_t handshake_age_s;
	bool keep;
};

/** Fill up to @p cap entries; returns how many. */
size_t atd_dynpeers_status(struct atd *d, struct atd_peer_status *out, size_t cap);
/** Find a peer by label or FQDN (case-insensitive). 0 or -ENOENT. */
int atd_dynpeers_find(struct atd *d, const char *name, struct atd_peer_status *out);

struct atd_ping_result {
	char host[256];
	uint8_t ula[16];
	bool has_outer;
	uint8_t outer4[4];
	uint16_t port;
	uint32_t sent, received;
	bool has_rtt;
	uint32_t rtt_ms;		/* the shortest round trip */
	int err;			/* 0, or why nothing could be sent (-ENOENT: no such peer) */
};

/**
 * Send @p count ICMPv6 echo requests through the tunnel to peer @p name
 * (which makes the tunnel on demand) and call @p done with the result
 * within @p timeout_ms. 0, or -errno (then @p done is not called).
 */
int atd_dynpeers_ping(struct atd *d, const char *name, unsigned count, unsigned timeout_ms,
		      void (*done)(void *arg, const struct atd_ping_result *r), void *arg);
/** Forget a pending ping's callback (its requester went away). */
void atd_dynpeers_ping_cancel(struct atd *d, void *arg);

#endif
