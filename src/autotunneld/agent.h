/*
 * src/autotunneld/agent: account mode (docs/design.md §§1-2, RFC 6281 §5.1),
 * the engine of autotunneld.
 *
 * The agent owns this host's identity (its ULA, made once per boot and kept
 * in the run directory, RFC 6281 §6.3), watches the network (src/netmon),
 * keeps UDP 4500 mapped on the gateway (src/pmclient), moves tunnels whose
 * local outer address changed (MOBIKE), hands what it learnt to the DNS
 * side (account.c: publisher and watcher), and turns what the watcher
 * learns of peers into tunnels (dynpeer.c) and the hosts cache read by
 * libnss_autotunnel.so.2. Its leaves get what they need when they are made
 * (see the comment at the top of agent.c) and never call back into it.
 *
 * Threads: everything here runs on the daemon's one event-loop thread.
 * Pointers passed in are borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_AGENT_H
#define AT_AUTOTUNNELD_AGENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "autotunneld/types.h"
#include "netmon/select.h"

struct atd;
struct atd_dynpeers;
struct atd_reflex_view;
struct atd_relay_view;
union dp_addr;

/** What we know of this network's reachability (netcheck, status, publishing). */
enum atd_reach {
	ATD_REACH_UNKNOWN,	/* offline, or the mapping is still being asked for */
	ATD_REACH_PUBLIC,	/* our own address is public: nothing to map (RFC 6281 §4.1) */
	ATD_REACH_MAPPED,	/* behind a NAT with a mapping of UDP 4500 */
	ATD_REACH_NO_MAPPING,	/* behind a NAT, no gateway answered: reachable only outbound */
	ATD_REACH_REFUSED,	/* behind a NAT whose gateway refused the mapping */
	ATD_REACH_DOUBLE_NAT,	/* a mapping, but its external address is private: another NAT upstream */
};

/** This host as `autotunnel status`, `hosts` and `netcheck` show it (a copy). */
struct atd_self {
	char label[64];			/* H as configured (or from the host name) */
	uint8_t ula[16];
	struct netmon_state net;	/* the primary network now */
	enum atd_reach reach;
	bool rsip;			/* an RSIP gateway lent us rsip_addr:rsip_port */
	struct in_addr rsip_addr;
	uint16_t rsip_port;
	struct in_addr ext_addr;	/* the mapping's address (MAPPED, DOUBLE_NAT) */
	uint16_t ext_port;		/* the mapping's port, or ours on a public address */
	const char *mapping;		/* "pcp", "nat-pmp", "upnp" or "none" (static string) */
	uint64_t map_expires_ms;	/* monotonic */
	bool local_valid;		/* local below was evaluated */
	struct atd_local_info local;	/* what we publish */
	char reach_text[320];		/* a sentence about reachability, for a person */
};

/**
 * Before the data plane exists: the identity (this boot's ULA from the run
 * directory, or a new one, RFC 6281 §6.3) is set as d->conf.ula, so the TUN
 * device is made with it. Allocates d->agent. 0 or -errno (logged).
 */
int atd_agent_init(struct atd *d);
/**
 * Once the data plane and IKE exist: the peers, the network monitor, the
 * port mapping and the DNS side start. 0 or -errno (logged).
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

/**
 * The RSIP binding came, changed or went (rsip_client.c's callback, wired
 * by main.c): publish Nb and the lent IKE port instead of the port mapping
 * (or the mapping again), and move the account's peers to Nb (or back).
 * Nothing outside account mode.
 */
void atd_agent_rsip_changed(struct atd *d);

/** A STUN message arrived on prediction socket @p sock (dpglue.c): to hole punching. */
void atd_agent_psock_input(struct atd *d, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
			   uint16_t sock);
/** A STUN message arrived on the tunnel socket from @p from, either family (dpglue.c): to punch or reflex. */
void atd_agent_stun_input(struct atd *d, const uint8_t *buf, size_t len, const union dp_addr *from);

/** The data plane's connection to the TURN relay ended (dpglue.c): to the relay leaf. */
void atd_agent_relay_lost(struct atd *d);

/* ---- read by the control socket (control.c) ---- */

/** The account, or false when signed out. */
bool atd_agent_account(struct atd *d, struct atd_acct_view *v);
/** This host now; false (and @p out untouched) outside account mode. */
bool atd_agent_self(struct atd *d, struct atd_self *out);
/** The reflexive address and NAT behaviour (reflex.c); false outside account mode. */
bool atd_agent_reflex(struct atd *d, struct atd_reflex_view *v);
/** Ask for a fresh STUN look (netcheck); false when none can run (signed out, offline). */
bool atd_agent_reflex_refresh(struct atd *d);
/** The TURN relay (relay.c); false outside account mode or with relay = never. */
bool atd_agent_relay(struct atd *d, struct atd_relay_view *v);
/** The account's peers (NULL outside account mode). */
struct atd_dynpeers *atd_agent_peers(struct atd *d);

#endif
