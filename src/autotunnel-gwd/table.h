/*
 * The gateway's mapping table: which LAN client (internal address, protocol,
 * internal port) owns which external port, until when, and who asked for it.
 *
 * Pure data: no I/O, no clock. Times are milliseconds on the caller's
 * monotonic clock. The table belongs to the daemon's event loop thread.
 */
#ifndef AT_GWD_TABLE_H
#define AT_GWD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GWD_PROTO_TCP 6
#define GWD_PROTO_UDP 17

/** Which protocol created (or last renewed) a mapping. */
enum gwd_origin {
	GWD_ORIGIN_NATPMP,
	GWD_ORIGIN_PCP,
};

struct gwd_mapping {
	uint32_t client;	/* internal IPv4 address, host byte order */
	uint8_t proto;		/* GWD_PROTO_TCP or GWD_PROTO_UDP */
	uint16_t int_port;	/* internal port (never 0) */
	uint16_t ext_port;	/* external port on the WAN address */
	uint64_t expires_ms;	/* monotonic deadline */
	uint32_t lifetime_s;	/* lifetime last granted */
	enum gwd_origin origin;
	bool has_nonce;		/* PCP mapping nonce (RFC 6887 §11.1) */
	uint8_t nonce[12];
	bool has_lladdr;	/* the link-layer address the request was proven from */
	uint8_t lladdr[6];
};

struct gwd_table {
	struct gwd_mapping *m;	/* owned; n used of cap */
	size_t n, cap;
	size_t max;		/* most mappings in all */
	size_t max_per_client;
	uint16_t port_min, port_max;	/* external ports handed out */
	/* one bit per (TCP, UDP) x external port in use, for allocation */
	uint8_t used[2][65536 / 8];
	/* one bit per (TCP, UDP) x port the router itself listens on (a snapshot) */
	uint8_t busy[2][65536 / 8];
};

/** Set up an empty table. 0 or -EINVAL when the bounds make no sense. */
int gwd_table_init(struct gwd_table *t, uint16_t port_min, uint16_t port_max, size_t max,
		   size_t max_per_client) __attribute__((warn_unused_result));
void gwd_table_fini(struct gwd_table *t);
/** Never hand out the external ports [lo, hi] (both protocols): they belong to RSIP. */
void gwd_table_reserve(struct gwd_table *t, uint16_t lo, uint16_t hi);

/** The mapping of (client, proto, int_port), or NULL. Borrowed until the table changes. */
struct gwd_mapping *gwd_table_find(struct gwd_table *t, uint32_t client, uint8_t proto,
				   uint16_t int_port);
const struct gwd_mapping *gwd_table_find_const(const struct gwd_table *t, uint32_t client,
					       uint8_t proto, uint16_t int_port);
/** The mapping that holds external port @p ext_port for @p proto, or NULL. */
const struct gwd_mapping *gwd_table_find_ext(const struct gwd_table *t, uint8_t proto,
					     uint16_t ext_port);

/** Mappings held by @p client. */
size_t gwd_table_count_client(const struct gwd_table *t, uint32_t client);
/*
 * Mappings held by the host at @p client or, when @p lladdr is not NULL,
 * by any address proven from that link-layer address: one machine that
 * claims many addresses is still one client for the per-client cap.
 */
size_t gwd_table_count_owner(const struct gwd_table *t, uint32_t client, const uint8_t *lladdr);

/*
 * The ports the router's own sockets use on the external address (TCP
 * listeners, UDP sockets): never handed out, or a DNAT would take their
 * traffic away. The daemon replaces the snapshot before each decision.
 */
void gwd_table_busy_clear(struct gwd_table *t);
void gwd_table_busy_set(struct gwd_table *t, uint8_t proto, uint16_t port);
bool gwd_table_busy(const struct gwd_table *t, uint8_t proto, uint16_t port);

/*
 * RFC 6886 §3.3: an external port is usable by @p client for @p proto if
 * nobody holds it for that protocol and no other client holds it for the
 * companion protocol (the companion port stays reserved to its owner),
 * and the router does not use it itself for @p proto.
 */
bool gwd_table_port_usable(const struct gwd_table *t, uint32_t client, uint8_t proto, uint16_t port);

/*
 * Choose an external port for a new mapping: @p suggested if it lies in
 * the configured range and is usable, otherwise the first usable port of
 * the range starting at a point derived from (client, proto, int_port), so
 * that the same client gets the same port again after a gateway restart.
 * Returns the port, or 0 when the range is exhausted.
 */
uint16_t gwd_table_pick_port(const struct gwd_table *t, uint32_t client, uint8_t proto,
			     uint16_t int_port, uint16_t suggested);

/** Add a copy of @p m (its ports must be free). 0, -ENOSPC (table full) or -EEXIST. */
int gwd_table_add(struct gwd_table *t, const struct gwd_mapping *m) __attribute__((warn_unused_result));
/** Remove the mapping at index @p i (order of the others may change). */
void gwd_table_remove_at(struct gwd_table *t, size_t i);
/** Remove the mapping of (client, proto, int_port); true if there was one. */
bool gwd_table_remove(struct gwd_table *t, uint32_t client, uint8_t proto, uint16_t int_port);

/** The earliest expiry in the table, or UINT64_MAX when it is empty. */
uint64_t gwd_table_next_expiry(const struct gwd_table *t);

#endif
