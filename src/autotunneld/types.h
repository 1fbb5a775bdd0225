/*
 * src/autotunneld/types: plain types that the engine (agent.c) and its
 * leaves pass to each other. Types only: no functions, no .c file, so any
 * module may include it without depending on another.
 */
#ifndef AT_AUTOTUNNELD_TYPES_H
#define AT_AUTOTUNNELD_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/cand.h"

/** A peer as the watcher learnt it from DNS (docs/design.md §4). */
struct atd_peer_info {
	char name[64];		/* host label H */
	char fqdn[256];		/* H.D, lower case, no trailing dot */
	uint8_t ula[16];	/* its AAAA */
	bool has_outer;		/* it published SRV and A (it has a location) */
	uint8_t outer4[4];	/* A of AutoTunnel-E.D, network order */
	uint16_t port;		/* SRV port, host order */
	bool has_cand;		/* its _cand.H.D TXT (docs/paths.md §1.1) */
	struct agent_cand_set cands;
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
	/*
	 * Every way a peer may reach our UDP port (docs/paths.md §1), published
	 * at _cand.H.D beside the records above: mapped/public as external4,
	 * server-reflexive with the NAT's behaviour, LAN and global IPv6
	 * addresses. n = 0: none known (nothing is published there).
	 */
	struct agent_cand_set cands;
};

/** The account as the tunnels need it (from account.c), borrowed until the next event. */
struct atd_acct_view {
	bool signed_in;
	const char *name;		/* account name, e.g. "alice" */
	const char *domain;		/* D */
	const char *host;		/* this host's label H in the account */
	const char *server;		/* rendezvous server host[:port] */
	const uint8_t *ike_key;		/* 32 bytes: the PSK of every tunnel */
};

/** How a peer's tunnel relates to RSIP (struct atd_rpeer.rsip). */
enum atd_rsip_mode {
	ATD_RSIP_NONE = 0,	/* not an RSIP peer (no [rsip], manual keys, or no address) */
	ATD_RSIP_WAIT,		/* left out of IKE until the gateway answers */
	ATD_RSIP_OFF,		/* in IKE the ordinary way (RSIP unavailable for now) */
	ATD_RSIP_ON,		/* in IKE from Nb, native ESP through the gateway */
};

#endif
