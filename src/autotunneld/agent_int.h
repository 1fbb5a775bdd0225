/*
 * src/autotunneld: account mode's state, shared by agent.c (identity,
 * network, mapping), dynpeer.c (peers' tunnels) and control.c (the CLI's
 * socket). Not for the DNS side, which uses agent.h.
 *
 * Threads: the daemon's one event-loop thread owns all of it.
 */
#ifndef AT_AUTOTUNNELD_AGENT_INT_H
#define AT_AUTOTUNNELD_AGENT_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/identity.h"
#include "agent/timers.h"
#include "autotunneld/agent.h"
#include "netmon/select.h"
#include "portmap/portmap.h"

struct atd;
struct netmon;
struct pmclient;
struct atd_control;
struct atd_dynpeers;

/** What we know of this network's reachability (netcheck, status, publishing). */
enum atd_reach {
	ATD_REACH_UNKNOWN,	/* offline, or the mapping is still being asked for */
	ATD_REACH_PUBLIC,	/* our own address is public: nothing to map (RFC 6281 §4.1) */
	ATD_REACH_MAPPED,	/* behind a NAT with a mapping of UDP 4500 */
	ATD_REACH_NO_MAPPING,	/* behind a NAT, no gateway answered: reachable only outbound */
	ATD_REACH_REFUSED,	/* behind a NAT whose gateway refused the mapping */
	ATD_REACH_DOUBLE_NAT,	/* a mapping, but its external address is private: another NAT upstream */
};

struct atd_agent {
	struct atd *d;
	struct agent_identity id;
	uint8_t eui64[8];
	char ula_str[48];
	char label[64];			/* this host's label H as configured (or from its host name) */
	char identity_path[4200], hosts_path[4200];

	struct netmon *nm;
	struct netmon_state net;	/* the primary network now */
	uint64_t net_changed_ms;	/* when it last changed */

	struct pmclient *pmc;
	enum atd_reach reach;
	enum portmap_proto map_proto;	/* of the mapping held */
	struct in_addr ext_addr;	/* the mapping's (or our public) address */
	uint16_t ext_port;
	uint32_t map_lifetime;
	uint64_t map_expires_ms;
	enum portmap_proto refused_by;
	unsigned refused_result;
	struct event *map_wait;		/* publish anyway when the mapping takes too long */
	bool map_pending;		/* asked, no answer yet */
	bool rsip;			/* an RSIP gateway lent us an address: reachable there */
	struct in_addr rsip_addr;	/* Nb */
	uint16_t rsip_port;		/* the lent IKE port */

	struct atd_local_info local;	/* last handed to the publisher */
	bool local_valid;

	struct atd_control *ctl;
	struct atd_dynpeers *peers;
	struct agent_timer_cfg tcfg;	/* peers' timer policy (lib/agent timers) */
	bool stopping;
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

/* agent.c */
/** The account, or false when signed out. */
bool atd_agent_account(struct atd *d, struct atd_acct_view *v);
/** Rewrite the hosts cache for NSS (atomically) from this host and the peers known now. */
void atd_agent_hosts_write(struct atd *d);
/** "PCP", "NAT-PMP"...: the mapping protocol as the control protocol names it ("pcp"). */
const char *atd_agent_mapping_name(const struct atd_agent *a);
/** Whether @p a (network order) is private, shared (RFC 6598), loopback or link-local. */
bool atd_addr_private(const uint8_t a[4]);
/** A sentence about this network's reachability, for logs, status and netcheck. */
const char *atd_agent_reach_text(const struct atd_agent *a, char *buf, size_t len);

#endif
