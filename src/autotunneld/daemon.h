/* autotunneld: the state shared by its parts (one libevent loop, one thread). */
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
	struct atd_dns *dns;		/* account mode: server connection, publisher, watcher */
	struct atd_rsip *rsip;	/* the RSIP client (rsip_client.c), NULL without [rsip] */
};

/* peer.c: static peers */
int atd_peers_start(struct atd *d);
void atd_peers_stop(struct atd *d);
struct atd_rpeer *atd_peer_by_dp(struct atd *d, int dp_id);
void atd_peer_retry_later(struct atd_rpeer *rp);
/** (Re)start NAT keepalives to the peer every @p seconds. */
int atd_peer_keepalive(struct atd_rpeer *rp, int seconds);

/* dpglue.c: events from the data plane */
int atd_dp_start(struct atd *d, char *err, size_t errlen);
void atd_dp_stop(struct atd *d);
void atd_dp_log_stats(struct atd *d);

#endif
