/*
 * The request handler of the NAT-PMP (RFC 6886) and PCP (RFC 6887) server:
 * a pure function from (parsed request, mapping table, now) to (response,
 * table change). No sockets, no clock, no logging, no nftables: the daemon
 * (gwd.c) applies the change to nftables and then to the table, and sends
 * the response. That keeps every rule here unit-testable and fuzzable.
 */
#ifndef AT_GWD_HANDLER_H
#define AT_GWD_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autotunnel-gwd/table.h"
#include "natpmp/natpmp.h"
#include "pcp/pcp.h"

/* RFC 6887 §7.2: error lifetimes; short for transient errors, long otherwise */
#define GWD_PCP_ERR_SHORT_S 30
#define GWD_PCP_ERR_LONG_S 1800

/** The gateway as the handler sees it at this instant (borrowed). */
struct gwd_ctx {
	uint32_t ext_addr;	/* external IPv4 address, host order; 0 = none yet */
	uint32_t epoch_s;	/* seconds since the mapping state began */
	uint32_t lifetime_min, lifetime_max;	/* granted lifetimes are clamped to these */
};

/**
 * Who sent a request, as far as the daemon could prove it (borrowed).
 * The UDP source address alone proves nothing on a LAN: any host can put
 * a neighbour's address in its datagrams. The daemon sets @c proven only
 * when the Ethernet source of the very frame that carried the request is
 * the link-layer address the router's neighbour table holds for @c addr
 * (docs/gateway.md, "What a request must prove").
 */
struct gwd_client {
	uint32_t addr;		/* IPv4 source address, host order */
	bool proven;		/* addr is really this sender's */
	bool has_lladdr;	/* lladdr is the frame's Ethernet source */
	uint8_t lladdr[6];
};

/** A parsed datagram. raw points into the receive buffer: do not keep it past the call. */
struct gwd_request {
	bool pcp;		/* PCP (any version but 0) or NAT-PMP (version 0) */
	int rc;			/* the parser's verdict (0 or -errno) */
	uint8_t why;		/* PCP: result to answer when rc != 0 (0 = drop) */
	struct natpmp_request pmp;
	struct pcp_msg msg;
	const uint8_t *raw;
	size_t rawlen;
};

enum gwd_change_kind {
	GWD_CHANGE_NONE,
	GWD_CHANGE_CREATE,	/* add m */
	GWD_CHANGE_RENEW,	/* the mapping (m.client, m.proto, m.int_port) becomes m */
	GWD_CHANGE_DELETE,	/* remove (m.client, m.proto, m.int_port) if present */
	GWD_CHANGE_DELETE_ALL,	/* remove every mapping of m.client for m.proto
				   (PCP: whose nonce matches m.nonce, or that has none) */
};

struct gwd_change {
	enum gwd_change_kind kind;
	struct gwd_mapping m;
};

/** What the handler decided. */
struct gwd_reply {
	uint8_t buf[PCP_MAX_LEN];
	size_t len;		/* 0: send nothing */
	unsigned int result;	/* the result code sent (for logs) */
	struct gwd_change change;
};

/*
 * Parse a datagram into @p req (@p buf borrowed and referenced by req->raw).
 * Version 0 goes to NAT-PMP, anything else to PCP (which answers
 * UNSUPP_VERSION for versions it does not speak, RFC 6887 §9).
 */
void gwd_request_parse(const void *buf, size_t len, struct gwd_request *req);

/*
 * Decide the answer to @p req from the LAN client @p c (the socket layer
 * has already checked that c->addr lives on a LAN subnet). @p t is only
 * read. The mapping a request may create or change is always the client's
 * own (RFC 6886 §3.3; RFC 6887 §11.3: the PCP client address must be the
 * source, THIRD_PARTY is refused), and only a client whose address is
 * proven may create, renew or delete one: otherwise NAT-PMP result 2 /
 * PCP NOT_AUTHORIZED. The per-client cap (t->max_per_client) counts the
 * mappings of c->addr and of every address proven from c->lladdr.
 */
void gwd_handle_client(const struct gwd_ctx *ctx, const struct gwd_table *t,
		       const struct gwd_client *c, const struct gwd_request *req, uint64_t now_ms,
		       struct gwd_reply *out);

/* gwd_handle_client() for a client whose address is proven and whose link-layer address is not known. */
void gwd_handle(const struct gwd_ctx *ctx, const struct gwd_table *t, uint32_t client,
		const struct gwd_request *req, uint64_t now_ms, struct gwd_reply *out);

/*
 * Replace @p out with the answer for a change the backend (nftables) could
 * not carry out: NAT-PMP NETWORK_FAILURE / PCP NETWORK_FAILURE, no change.
 */
void gwd_handle_failed(const struct gwd_ctx *ctx, const struct gwd_request *req,
		       struct gwd_reply *out);

/* Called for each mapping a change or expiry removes, before it goes (borrowed). */
typedef void (*gwd_removed_fn)(void *arg, const struct gwd_mapping *m);

/*
 * Apply @p c to @p t. For removals @p removed (may be NULL) is told each
 * mapping first. 0, or -ENOSPC/-ENOMEM/-EEXIST from the table for a create
 * that no longer fits (cannot happen right after gwd_handle on the same table).
 */
int gwd_change_apply(struct gwd_table *t, const struct gwd_change *c, gwd_removed_fn removed,
		     void *arg) __attribute__((warn_unused_result));

/* Remove every mapping whose lifetime ended at or before @p now_ms. Returns how many. */
size_t gwd_expire(struct gwd_table *t, uint64_t now_ms, gwd_removed_fn removed, void *arg);

/* Clamp a requested lifetime (> 0) to the configured bounds. */
uint32_t gwd_clamp_lifetime(const struct gwd_ctx *ctx, uint32_t requested);

/* The unsolicited announcements of RFC 6886 §3.2.1 and RFC 6887 §14.1.3. */
int gwd_announce_natpmp(const struct gwd_ctx *ctx, void *buf, size_t len)
	__attribute__((warn_unused_result));
int gwd_announce_pcp(const struct gwd_ctx *ctx, void *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * true if @p src may use the server reached at LAN address @p lan with
 * prefix @p plen: same subnet, not the gateway itself, not the subnet's
 * network or broadcast address, not the unspecified address. Host order.
 */
bool gwd_client_on_subnet(uint32_t lan, unsigned int plen, uint32_t src);

#endif
