/*
 * pmclient: the port-mapping client's I/O driver around lib/portmap. It
 * owns a UDP socket connected to the gateway's port 5351, the listener
 * for announcements on 224.0.0.1:5350, the libevent timer, and the UPnP
 * IGD worker (libminiupnpc). Used by `autotunnel portmap` and by the agent.
 *
 * Everything runs on the thread of the event base given to pmclient_new()
 * (the UPnP worker only hands results back to it).
 */
#ifndef AT_PMCLIENT_H
#define AT_PMCLIENT_H

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "portmap/portmap.h"

struct pmclient;

struct pmclient_config {
	struct portmap_config pm;	/* lifetime, retries, protocols (lib/portmap) */
	struct in_addr gateway;		/* 0.0.0.0: the IPv4 default route's gateway */
	unsigned int upnp_wait_ms;	/* SSDP discovery wait */
	bool announcements;		/* listen on 224.0.0.1:5350 */
};

#define PMCLIENT_DEFAULT_UPNP_WAIT_MS	2000

/** Called for every note of lib/portmap (@p n borrowed for the call). */
typedef void (*pmclient_note_fn)(void *arg, struct pmclient *pmc, const struct portmap_note *n);

void pmclient_config_default(struct pmclient_config *cfg);

/** A client on @p base (borrowed); nothing is opened yet. NULL on failure. */
struct pmclient *pmclient_new(struct event_base *base, const struct pmclient_config *cfg,
			      pmclient_note_fn fn, void *arg);

/**
 * Add a mapping of @p ipproto (PCP_PROTO_UDP/TCP) @p internal_port, asking
 * for @p want_port outside. Returns its index or a negative errno.
 */
int pmclient_add(struct pmclient *pmc, uint8_t ipproto, uint16_t internal_port, uint16_t want_port)
	__attribute__((warn_unused_result));

/**
 * Find the gateway, open the sockets and start every mapping. Returns 0,
 * -ENETUNREACH (no default route and no gateway given), or -errno.
 */
int pmclient_start(struct pmclient *pmc) __attribute__((warn_unused_result));

/** The network changed: find the gateway again and start every mapping over. */
int pmclient_netchange(struct pmclient *pmc) __attribute__((warn_unused_result));

/**
 * Delete every mapping (on exit); @p done(@p arg) is called from the loop
 * once the deletes are answered or given up and UPnP work is finished.
 */
void pmclient_stop(struct pmclient *pmc, void (*done)(void *arg), void *arg);

void pmclient_free(struct pmclient *pmc);

/** The state machine (read only), the gateway and our address toward it. */
const struct portmap *pmclient_portmap(const struct pmclient *pmc);
struct in_addr pmclient_gateway(const struct pmclient *pmc);
struct in_addr pmclient_local(const struct pmclient *pmc);

#endif
