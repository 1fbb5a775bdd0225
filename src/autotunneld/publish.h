/*
 * src/autotunneld/publish: this host's records in the account (DESIGN.md
 * §4, RFC 6281 §§3, 5.2): H.D AAAA, _autotunnel._udp.H.D SRV,
 * AutoTunnel-E.D A/AAAA/TXT, its PTR in _autotunnel._udp.D and the DNS-SD
 * records of the services of [agent] service, sent as TSIG-signed UPDATEs
 * with an update lease over TLS (lib/dnsc update.h).
 *
 * Timing is lib/agent timers': publish at once after a change, refresh at
 * 80% of the lease granted plus jitter, retry a failure with back-off.
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_PUBLISH_H
#define AT_AUTOTUNNELD_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/ctl.h"

struct atd;
struct atd_local_info;

/**
 * What this host is now (agent.c, after every evaluation of the network):
 * publish at once if anything changed since the last update (and keep
 * refreshing). Does nothing while signed out (remembered for sign-in).
 * @p li is copied.
 */
void atd_publish_local(struct atd *d, const struct atd_local_info *li);

/**
 * Withdraw this host's records (clean shutdown, logout): one UPDATE that
 * deletes them, then @p done (may be NULL) is called once, when it is
 * answered, failed, or after at most 3 s; no refresh follows. Called while
 * signed out, @p done is called at once.
 */
void atd_publish_withdraw(struct atd *d, void (*done)(struct atd *d));

struct atd_publish_status {
	bool published;		/* the last update was granted */
	uint32_t lease_s;	/* lease granted */
	uint32_t lease_left_s;	/* seconds until it ends (0 when none) */
	uint32_t records;	/* records in the set */
	uint32_t fails;		/* failed updates in a row */
	char error[160];	/* why the last one failed, "" if it did not */
};

void atd_publish_status(struct atd *d, struct atd_publish_status *st);

#endif
