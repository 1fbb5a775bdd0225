/*
 * src/autotunneld/peer: static peers from the [peer NAME] sections (their
 * data-plane slots, manually keyed SAs, NAT keepalives), and the slot
 * helpers account mode's peers share. Calls nothing else in the daemon.
 */
#ifndef AT_AUTOTUNNELD_PEER_H
#define AT_AUTOTUNNELD_PEER_H

struct atd;
struct atd_rpeer;

int atd_peers_start(struct atd *d);
void atd_peers_stop(struct atd *d);
struct atd_rpeer *atd_peer_by_dp(struct atd *d, int dp_id);
/** A peer that did not answer is tried again when packets ask, at most every 5 s. */
void atd_peer_retry_later(struct atd_rpeer *rp);
/** (Re)start NAT keepalives to the peer every @p seconds. */
int atd_peer_keepalive(struct atd_rpeer *rp, int seconds);

#endif
