/*
 * src/autotunneld/ikeglue: lib/ike driven by the daemon: IKE messages from
 * UDP 4500 (after the non-ESP marker, through the data plane) and UDP 500,
 * its outputs sent, established child SAs installed in the data plane,
 * tunnels started on demand when packets wait for an SA.
 */
#ifndef AT_AUTOTUNNELD_IKEGLUE_H
#define AT_AUTOTUNNELD_IKEGLUE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp.h"

struct atd;
struct atd_rpeer;
struct ike_event;
struct ike_glue;

/** Where an IKE peer's tunnel runs through an RSIP gateway (RFC 3104). */
struct ike_glue_rsip {
	struct sockaddr_in local;	/* Nb and the IKE port the gateway lent us */
	uint32_t spis[8];		/* inbound SPIs it lent us */
	unsigned n_spis;
};

/** What IKE hands to the rest of the daemon (main.c wires it). */
struct ike_glue_ops {
	/**
	 * Send an IKE message from our address @p local through the RSIP
	 * tunnel: 0 or -errno; -ENOENT when @p local is not lent to us by
	 * RSIP (it is then sent the ordinary way). NULL: never.
	 */
	int (*send_rsip)(void *arg, const struct sockaddr_in *local, const struct sockaddr_in *remote,
			 const uint8_t *msg, size_t len);
	/** An event of lib/ike about account mode's peer @p rp (rp->dyn set), after it was handled here. */
	void (*dyn_event)(void *arg, struct atd_rpeer *rp, const struct ike_event *ev);
};

/**
 * Start IKE for the peers that use it (none: *out stays NULL, returns 0).
 * Peers that wait for the RSIP gateway (rp->rsip) are left out until
 * ike_glue_peer_up. @p ops (may be NULL) and @p arg are kept.
 */
int ike_glue_start(struct atd *d, const struct ike_glue_ops *ops, void *arg, struct ike_glue **out);
void ike_glue_stop(struct ike_glue *g);
/** An IKE message arrived on the data plane's port (marker removed), from either family. */
void ike_glue_input(struct ike_glue *g, const uint8_t *msg, size_t len, const union dp_addr *from,
		    uint16_t local_port);
/** The same, sent to our address @p local (IKE through the RSIP tunnel to Nb). */
void ike_glue_input_at(struct ike_glue *g, const uint8_t *msg, size_t len, const struct sockaddr_in *from,
		       const struct sockaddr_in *local);
/**
 * Give IKE the peer @p rp that was left out: through RSIP (@p r: from Nb
 * and its port, with the lent SPIs, MOBIKE off) or, with @p r NULL, the
 * ordinary way. Connects if the peer is to be kept up or packets waited.
 */
int ike_glue_peer_up(struct ike_glue *g, struct atd_rpeer *rp, const struct ike_glue_rsip *r);
/** Take the peer out of IKE again (a Delete is sent for its tunnel). */
void ike_glue_peer_down(struct ike_glue *g, struct atd_rpeer *rp);
/** Packets wait for an SA to @p rp: bring the tunnel up. */
void ike_glue_need_sa(struct ike_glue *g, struct atd_rpeer *rp);
/** Close every IKE tunnel we can reach and set it up anew (SIGHUP). */
void ike_glue_reconnect(struct ike_glue *g);
/** SA @p spi_in nears the end of its sequence numbers: rekey it. */
void ike_glue_rekey(struct ike_glue *g, uint32_t spi_in);

/* For account mode (dynpeer.c, agent.c), which adds and moves peers at run time. */
struct ike;
struct ike_addr;
/** The lib/ike instance (borrowed); NULL if @p g is NULL. */
struct ike *ike_glue_ike(struct ike_glue *g);
/** After calling into ike_glue_ike(): send what it queued, handle its events, re-arm its timer. */
void ike_glue_kick(struct ike_glue *g);
/** Our address and @p port towards @p remote, as the routing table picks it (family 0 if none). */
void ike_glue_local_towards(const union dp_addr *remote, uint16_t port, struct ike_addr *out);
/** Our addresses changed: forget the cached answer of ike_glue_local_towards. */
void ike_glue_local_changed(void);

/**
 * How long src/netmon lets a burst of address and route events settle: a
 * move is several events within a few ms, and TCP retransmits at 200 ms.
 */
#define IKE_GLUE_NETMON_DEBOUNCE_MS 50
/**
 * The network changed (src/netmon): forget the cached answer and move the
 * static peers' tunnels whose local address is no longer the one the
 * routing table picks towards their peer (ike_local_moved: MOBIKE's
 * UPDATE_SA_ADDRESSES). With static peers only, ike_glue_start runs its
 * own netmon for this; in account mode agent.c calls it. NULL is fine.
 */
void ike_glue_net_changed(struct ike_glue *g);

#endif
