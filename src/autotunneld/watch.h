/*
 * src/autotunneld/watch: following the account's hosts (RFC 6281 §5.3,
 * Figure 3; DESIGN.md §4): LLQs over TLS on the host list
 * (_autotunnel._udp.D PTR) and on each peer's AAAA, SRV and the A of its
 * tunnel endpoint, refreshed before they expire; events become
 * atd_agent_peer_update() / atd_agent_peer_gone() at once. When the LLQ
 * server is lost the watcher polls with back-off, and returns to LLQ as
 * soon as it can (lib/agent timers).
 *
 * Also `autotunnel hosts` and `autotunnel services` (wide-area DNS-SD
 * browsing, RFC 6763).
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_WATCH_H
#define AT_AUTOTUNNELD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/ctl.h"
#include "dnsc/sd.h"

struct atd;

/** Start watching (signed in; idempotent). 0 or -errno. */
int atd_watch_start(struct atd *d);
/** Stop watching and forget the peers (without reporting them gone). */
void atd_watch_stop(struct atd *d);

struct atd_watch_status {
	bool running;
	bool llq_up;		/* every wanted LLQ is established */
	bool polling;		/* LLQ is down: polling with back-off */
	unsigned llqs, llqs_up;
	unsigned hosts;		/* listed hosts, this one included */
	uint64_t events;	/* LLQ events received */
	uint32_t last_event_age_s;	/* seconds since the last event (UINT32_MAX: none) */
};

void atd_watch_status(struct atd *d, struct atd_watch_status *st);

/** Write one HOST record per listed host (label, fqdn, ula, outer, port, model, os, self). */
void atd_watch_write_hosts(struct atd *d, struct agent_ctl_writer *cw);

/**
 * Browse the account's services: @p cb gets them (borrowed for the call)
 * or an error with a message for a person. @p cb is called exactly once,
 * later, unless this returns an error (-ENOENT: signed out; -ENOMEM).
 */
typedef void (*atd_services_fn)(struct atd *d, void *arg, int err, const char *message,
				const struct dnsc_service *s, size_t n);
int atd_services_browse(struct atd *d, atd_services_fn cb, void *arg);
/** The control client of @p arg went away: its browse callback will not be called. */
void atd_services_forget(struct atd *d, void *arg);

/** Write the SERVICE records of a services reply. */
void atd_services_write(struct agent_ctl_writer *cw, const struct dnsc_service *s, size_t n);

#endif
