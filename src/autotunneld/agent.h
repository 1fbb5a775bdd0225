/*
 * src/autotunneld/agent: account mode (DESIGN.md §§1-2, RFC 6281 §5.1).
 *
 * The agent owns this host's identity (its ULA, made once per boot and kept
 * in the run directory, RFC 6281 §6.3), watches the network (src/netmon),
 * keeps UDP 4500 mapped on the gateway (src/pmclient), moves tunnels whose
 * local outer address changed (MOBIKE), hands what it learnt to the
 * publisher (atd_publish_local, publish.h), and turns what the watcher
 * learns of peers (atd_agent_peer_update/gone) into tunnels (dynpeer.c) and
 * the hosts cache read by libnss_autotunnel.so.2.
 *
 * Threads: everything here runs on the daemon's one event-loop thread.
 * Pointers passed in are borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_AGENT_H
#define AT_AUTOTUNNELD_AGENT_H

#include <stdbool.h>
#include <stdint.h>

struct atd;

/** A peer as the watcher learnt it from DNS (DESIGN.md §4). */
struct atd_peer_info {
	char name[64];		/* host label H */
	char fqdn[256];		/* H.D, lower case, no trailing dot */
	uint8_t ula[16];	/* its AAAA */
	bool has_outer;		/* it published SRV and A (it has a location) */
	uint8_t outer4[4];	/* A of AutoTunnel-E.D, network order */
	uint16_t port;		/* SRV port, host order */
};

/** What this host publishes about itself (agent.c -> publisher). */
struct atd_local_info {
	uint8_t ula[16];
	uint8_t eui64[8];	/* IEEE EUI-64 of the MAC the ULA was made from */
	bool has_external;	/* external4/port known: a mapping, or a public address */
	uint8_t external4[4];	/* network order */
	uint16_t port;		/* host order */
	bool public_net;	/* our own address is public: nothing to map */
	bool rsip;		/* external4/port: the address and IKE port an RSIP gateway lent us */
};

/* ---- called by the watcher (watch.c) ---- */

/** A peer appeared, or its records changed (moved): its tunnel follows at once. */
void atd_agent_peer_update(struct atd *d, const struct atd_peer_info *p);
/** A peer's records are gone (expired, withdrawn, host removed). */
void atd_agent_peer_gone(struct atd *d, const char *fqdn);

/* ---- called by the account (account.c) ---- */

/** Signed in (at start with a saved account, or after login): publish what we know now. */
void atd_agent_signed_in(struct atd *d);
/** Signed out: forget every peer (tunnels closed, hosts cache emptied). */
void atd_agent_signed_out(struct atd *d);

/** This host as last evaluated; NULL before the first evaluation. */
const struct atd_local_info *atd_agent_local(const struct atd *d);

/* ---- called by the RSIP client (rsip_client.c) ---- */

/**
 * The RSIP binding came, changed or went (atd_rsip_binding): publish Nb and
 * the lent IKE port instead of the port mapping (or the mapping again), and
 * move the account's peers to Nb (or back). Nothing outside account mode.
 */
void atd_agent_rsip_changed(struct atd *d);

/* ---- called by main.c ---- */

/**
 * Before the data plane exists: the identity (this boot's ULA from the run
 * directory, or a new one, RFC 6281 §6.3) is set as d->conf.ula, so the TUN
 * device is made with it. Allocates d->agent. 0 or -errno (logged).
 */
int atd_agent_init(struct atd *d);
/**
 * Once the data plane and IKE exist: the control socket, the network
 * monitor and the port mapping start. 0 or -errno (logged).
 */
int atd_agent_start(struct atd *d);
/**
 * A signal asks us to stop: withdraw this host's records first (RFC 6281
 * §5.2; at most a few seconds), then break the event loop. Returns false
 * when there is nothing to wait for (the caller breaks the loop itself),
 * and for a second signal.
 */
bool atd_agent_shutdown(struct atd *d);
/** Stop everything and free d->agent (NULL is fine). */
void atd_agent_stop(struct atd *d);

#endif
