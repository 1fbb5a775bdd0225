/*
 * The network monitor of the host agent (RFC 6281 §5.1): listens to the
 * kernel's link, IPv4/IPv6 address and IPv4 route events over rtnetlink
 * (libmnl) in the agent's libevent loop, and after a burst of events has
 * settled re-reads the tables and calls back only when the primary address,
 * interface or gateway really changed, or when the host's global IPv6
 * addresses did (netmon_state_v6_changed(): peers reach it there too).
 *
 * Events are only a trigger: the tables are dumped again after each burst,
 * because the kernel removes IPv4 routes silently when a link goes down or
 * its last address goes, and because a dropped event (ENOBUFS) must not
 * leave us with a stale picture.
 */
#ifndef AT_NETMON_NETMON_H
#define AT_NETMON_NETMON_H

#include <event2/event.h>

#include "netmon/select.h"

struct netmon;

/** Called from the event loop with the new and the previous state (both borrowed for the call). */
typedef void (*netmon_cb)(void *arg, const struct netmon_state *now, const struct netmon_state *before);

/**
 * A monitor on @p base (borrowed) that looks at the tables again
 * @p debounce_ms after the first event of a burst (the events of that
 * window are taken together) and calls @p cb if the primary network
 * changed. NULL when out of memory. Nothing runs until netmon_start().
 */
struct netmon *netmon_new(struct event_base *base, unsigned debounce_ms, netmon_cb cb, void *arg);

/** Subscribe and read the current state (netmon_current()); no callback for it. 0 or -errno. */
int netmon_start(struct netmon *nm) __attribute__((warn_unused_result));

/** The state last reported (or read at start). */
const struct netmon_state *netmon_current(const struct netmon *nm);

/** Stop and free; NULL is fine. */
void netmon_free(struct netmon *nm);

/** Read the kernel's tables once into @p snap and select the primary network into @p out. 0 or -errno. */
int netmon_read(struct netmon_snapshot *snap, struct netmon_state *out) __attribute__((warn_unused_result));

#endif
