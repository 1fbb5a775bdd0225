/*
 * The state of a running autotunnel-dnsd, shared by its modules.
 *
 * Threads: the engine (main thread: TCP and TLS connections, UPDATE, LLQ,
 * lease expiry, the store, the control socket) and the UDP workers (one
 * event loop each on its own SO_REUSEPORT socket, answering queries and
 * handing UPDATE and LLQ messages to the engine).
 *
 * The zone index and the account table are read by every thread and
 * changed only by the engine, under `lock` (workers take it for reading
 * once per batch of packets; the engine takes it for writing while it
 * changes them, and reads without it).
 */
#ifndef DNSD_DNSD_H
#define DNSD_DNSD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/name.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/stats.h"

struct event_base;
struct zone;
struct accounts;
struct store;
struct engine;
struct worker;
struct ssl_ctx_st;
struct shed;

#define DNSD_MAX_ADDRS 8

/** A service the server names in every account domain with an SRV record. */
struct dnsd_srv {
	bool set;
	uint16_t port;
	struct dns_name target;
};

struct dnsd {
	const struct dnsd_settings *cfg;
	struct dns_name apex;		/* lower case */
	struct dns_name hostmaster;	/* SOA RNAME */
	struct dns_name server_name;	/* NS and SRV target */
	uint8_t lserver[DNS_NAME_MAX];	/* server_name in lower case */
	bool server_in_zone;
	uint8_t v4[DNSD_MAX_ADDRS][4];	/* addresses of server_name */
	uint8_t v6[DNSD_MAX_ADDRS][16];
	int n_v4, n_v6;
	uint16_t udp_port, tls_port;
	/* STUN and TURN servers for _stun._udp, _turn._udp/_tcp, _turns._tcp
	 * in every account domain (RFC 5389 §9, RFC 5928 §4), when configured */
	struct dnsd_srv stun, turn, turns;

	pthread_rwlock_t lock;		/* zone and accounts */
	struct zone *zone;
	struct accounts *accounts;
	uint32_t serial;		/* read with __atomic_load_n */

	struct engine *engine;
	struct shed *shed;		/* new watchers' budget (shed.h); engine thread only; NULL: none */
	struct worker **workers;
	int n_workers;
	struct stats engine_stats;
	atomic_bool stopping;		/* set by the main thread, read by any */
};

/**
 * Fill the names of @p d (apex, SOA RNAME, server name, STUN and TURN
 * servers) from the settings.
 * @return 0, or -EINVAL with a message in @p err.
 */
int dnsd_names(struct dnsd *d, const struct dnsd_settings *s, char *err, size_t errlen);

/**
 * Offset in lower-case wire name @p lname where the apex starts, or -1
 * when the name is not in the zone.
 */
int dnsd_zone_offset(const struct dnsd *d, const uint8_t *lname, size_t len);

/** Read the zone serial (any thread). */
static inline uint32_t dnsd_serial(const struct dnsd *d)
{
	return __atomic_load_n(&d->serial, __ATOMIC_RELAXED);
}

#endif
