/*
 * autotunneld: the state every part of the daemon sees (one libevent loop,
 * one thread). Types only: the functions on it live in peer.h (static
 * peers), dpglue.h (the data plane) and the modules named below.
 */
#ifndef AT_AUTOTUNNELD_DAEMON_H
#define AT_AUTOTUNNELD_DAEMON_H

#include <event2/event.h>

#include "autotunneld/config.h"
#include "dataplane/dp.h"

struct atd;
struct atd_agent;
struct atd_dns;
struct atd_dynpeer;

struct atd_rpeer {
	struct atd *d;
	struct atd_peer *conf;	/* borrowed from atd.conf */
	int dp_id;		/* the data plane's index */
	struct event *keepalive;
	struct event *retry;	/* re-arms on-demand setup after a failed attempt */
	uint64_t need_sa_ms;	/* when packets last waited for an SA */
	struct atd_dynpeer *dyn;	/* account mode: a peer from DNS (dynpeer.c); NULL if static */
	uint8_t rsip;		/* enum atd_rsip_mode: does its tunnel go through the RSIP gateway? */
	bool cert;		/* account mode: its IKE peer authenticates with the account authority's certificates */
};

struct atd {
	struct atd_conf conf;
	struct event_base *base;
	struct dp *dp;
	struct event *dp_ev;
	struct atd_rpeer peers[ATD_MAX_PEERS];
	int npeers;
	struct ike_glue *ike;	/* NULL while no peer uses IKE */
	struct atd_agent *agent;	/* account mode (agent.c); NULL with static peers only */
	struct atd_dns *dns;		/* account mode: the DNS side (account.c), owned by the agent */
	struct atd_rsip *rsip;	/* the RSIP client (rsip_client.c), NULL without [rsip] */
	struct atd_control *ctl;	/* account mode: the CLI's socket (control.c) */
};

#endif
