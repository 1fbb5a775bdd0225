/*
 * lib/portmap: the port-mapping client's decisions, with no I/O.
 *
 * One struct portmap serves one gateway and up to PORTMAP_MAX_MAPS
 * mappings. The caller (src/pmclient) owns the sockets, the clock and
 * libminiupnpc; it feeds events in, each with the current time in
 * milliseconds on the monotonic clock, and carries out what comes back in
 * a struct portmap_out: packets to send to the gateway's port 5351, UPnP
 * IGD operations to perform, notes to report, and the next deadline at
 * which portmap_on_timeout() must be called.
 *
 * Order of protocols (RFC 6281 §4, docs/design.md §3): PCP first; NAT-PMP when
 * the gateway answers PCP with a version-0 UNSUPP_VERSION (RFC 6887 §9) or
 * when PCP has gone unanswered for cfg.pcp_tries attempts; UPnP IGD when
 * nothing answers on port 5351 after cfg.tries attempts (or at once when
 * the gateway says, by ICMP port unreachable, that nothing listens there);
 * "public network" (RFC 6281 §4.1) when UPnP fails too.
 *
 * Timing (RFC 6886 §3.1, RFC 6281 §4.2): attempt k (k = 0, 1, ...) of a
 * request is sent at 250 ms * (2^k - 1) after the first: 0, 250, 750,
 * 1750, 3750 ms ...; after the last of cfg.tries attempts the client
 * waits as long again (the 9th attempt goes at 63.75 s, and the client
 * gives up at 127.75 s). Renewal starts at half the granted lifetime
 * (RFC 6886 §3.3, RFC 6887 §11.2.1) and retries on the same schedule,
 * capped at the last interval, until the mapping expires.
 *
 * Epoch (RFC 6886 §3.6, RFC 6887 §8.5): every answer's epoch is checked
 * against the previous one; a gateway that lost its state has every
 * mapping re-created at once. Announcements (NAT-PMP address
 * announcements and PCP ANNOUNCE to 224.0.0.1:5350) go through the same
 * path as replies; the caller must pass only packets whose source is the
 * gateway's address and port 5351.
 */
#ifndef AT_PORTMAP_H
#define AT_PORTMAP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "natpmp/natpmp.h"
#include "pcp/pcp.h"

#define PORTMAP_MAX_MAPS	8
#define PORTMAP_NO_MAP		0xffu	/* action/note not tied to one mapping */
#define PORTMAP_MAX_PKT		64	/* our largest request: a PCP MAP, 60 bytes */
#define PORTMAP_NEVER		UINT64_MAX

/* Defaults */
#define PORTMAP_DEFAULT_LIFETIME	7200	/* s, asked for; RFC 6886 §3.3 recommends 7200 */
#define PORTMAP_DEFAULT_FIRST_MS	250	/* RFC 6886 §3.1, RFC 6281 §4.2 */
#define PORTMAP_DEFAULT_TRIES		9	/* RFC 6886 §3.1: give up after the 9th attempt */
#define PORTMAP_DEFAULT_PCP_TRIES	3	/* unanswered PCP attempts before NAT-PMP is tried */
#define PORTMAP_DEFAULT_DELETE_TRIES	3	/* delete on exit: 0, 250, 750 ms, done by 1.75 s */
#define PORTMAP_DEFAULT_REPROBE_S	600	/* public or refused: try again after this (0 = never) */

enum portmap_proto {
	PORTMAP_PROTO_NONE = 0,
	PORTMAP_PROTO_PCP = 1,
	PORTMAP_PROTO_NATPMP = 2,
	PORTMAP_PROTO_UPNP = 4,
};
#define PORTMAP_PROTO_ALL	(PORTMAP_PROTO_PCP | PORTMAP_PROTO_NATPMP | PORTMAP_PROTO_UPNP)

struct portmap_config {
	uint32_t lifetime;	/* seconds asked for */
	uint32_t first_ms;	/* first retransmission timeout */
	unsigned int tries;	/* attempts on port 5351 before giving up (>= 1) */
	unsigned int pcp_tries;	/* of those, PCP ones before NAT-PMP is tried */
	unsigned int delete_tries;
	uint32_t reprobe_s;	/* PUBLIC/FAILED: start again after this; 0 = stay */
	unsigned int protocols;	/* mask of enum portmap_proto allowed */
};

enum portmap_state {
	PORTMAP_IDLE,		/* added, not started */
	PORTMAP_REQUEST,	/* asking on port 5351 (first time, or re-creating) */
	PORTMAP_UPNP,		/* waiting for the caller's UPnP IGD result */
	PORTMAP_MAPPED,		/* held; deadline = renewal */
	PORTMAP_RENEW,		/* held, renewing on port 5351 until it expires */
	PORTMAP_PUBLIC,		/* nothing answered: RFC 6281 §4.1, a public network */
	PORTMAP_FAILED,		/* the gateway(s) refused */
	PORTMAP_DELETE,		/* deleting on port 5351 */
	PORTMAP_DELETED,
};

/** One mapping, readable through portmap_get(). */
struct portmap_map {
	enum portmap_state state;
	uint8_t ipproto;		/* PCP_PROTO_UDP or PCP_PROTO_TCP */
	uint16_t internal_port;
	uint16_t want_port;		/* suggested external port */
	uint8_t nonce[PCP_NONCE_LEN];	/* RFC 6887 §11.1: kept for the mapping's life */
	enum portmap_proto proto;	/* of the request under way, or of the mapping */
	unsigned int attempt;		/* attempts made in this request cycle */
	uint64_t deadline;		/* next send, give-up or renewal; PORTMAP_NEVER */

	bool held;			/* the gateway granted it (ext_* valid) */
	bool reported;			/* a MAPPED note went out for the current grant */
	bool recreating;		/* asking again after the gateway lost state */
	struct in_addr ext_addr;
	uint16_t ext_port;
	uint32_t lifetime;		/* granted seconds */
	uint64_t expires;		/* ms */

	enum portmap_proto refused_by;	/* last refusal, for the report */
	uint16_t refused_result;	/* its code: NAT-PMP's is 16 bits, UPnP's e.g. 718 */
	uint32_t retry_s;		/* PCP error lifetime of the last refusal */
};

/* Epoch tracking (RFC 6886 §3.6, RFC 6887 §8.5). */
struct portmap_epoch {
	bool have;
	enum portmap_proto proto;
	uint32_t server;	/* last seconds-since-epoch */
	uint64_t client_ms;	/* when it arrived */
};

struct portmap {
	struct portmap_config cfg;
	struct in_addr local;		/* our address toward the gateway (PCP client address) */
	enum portmap_proto gw_proto;	/* what this gateway has been seen to speak; NONE = unknown */
	bool no_5351;			/* nothing answers on port 5351 here */
	struct portmap_epoch epoch;
	bool have_addr;			/* NAT-PMP: the external address from opcode 0 */
	struct in_addr ext_addr;
	bool addr_query;		/* NAT-PMP opcode 0 request under way */
	unsigned int addr_attempt;
	uint64_t addr_deadline;
	unsigned int n_maps;
	struct portmap_map maps[PORTMAP_MAX_MAPS];
	bool stopping;
};

enum portmap_act {
	PORTMAP_ACT_SEND,		/* send pkt[0..len) to the gateway's port 5351 */
	PORTMAP_ACT_UPNP_MAP,		/* AddPortMapping (or refresh) + GetExternalIPAddress; report with portmap_on_upnp() */
	PORTMAP_ACT_UPNP_UNMAP,		/* DeletePortMapping; nothing to report */
};

struct portmap_action {
	enum portmap_act kind;
	unsigned int map;		/* index, or PORTMAP_NO_MAP (NAT-PMP address query) */
	enum portmap_proto proto;	/* SEND: which protocol the packet speaks */
	size_t len;
	uint8_t pkt[PORTMAP_MAX_PKT];
	/* UPNP_*: what to map or unmap */
	uint8_t ipproto;
	uint16_t internal_port, external_port;
	uint32_t lifetime;
};

enum portmap_note_kind {
	PORTMAP_NOTE_MAPPED,		/* granted for the first time (or again after LOST/PUBLIC) */
	PORTMAP_NOTE_RENEWED,		/* renewed, nothing changed */
	PORTMAP_NOTE_CHANGED,		/* external address or port differs from before */
	PORTMAP_NOTE_RECREATED,		/* re-created, unchanged, after the gateway lost state */
	PORTMAP_NOTE_GATEWAY_RESET,	/* the epoch says the gateway lost its state (map = NO_MAP) */
	PORTMAP_NOTE_FALLBACK,		/* the gateway does not speak @from; now trying @proto */
	PORTMAP_NOTE_REFUSED,		/* @proto refused with @result */
	PORTMAP_NOTE_PUBLIC,		/* no gateway answered: a public network (RFC 6281 §4.1) */
	PORTMAP_NOTE_FAILED,		/* every protocol that answered refused */
	PORTMAP_NOTE_LOST,		/* renewal went unanswered until the mapping expired */
	PORTMAP_NOTE_DELETED,		/* deleted on request (or given up trying) */
};

struct portmap_note {
	enum portmap_note_kind kind;
	unsigned int map;
	enum portmap_proto proto;
	enum portmap_proto from;	/* FALLBACK: the protocol left behind */
	struct in_addr ext_addr;
	uint16_t ext_port;
	uint32_t lifetime;
	struct in_addr old_addr;	/* CHANGED: before */
	uint16_t old_port;
	uint16_t result;		/* REFUSED, FAILED: the protocol's result code */
};

#define PORTMAP_MAX_OUT	(3 * PORTMAP_MAX_MAPS + 4)

/** What one event asks of the caller. Reset by every portmap_* event call. */
struct portmap_out {
	unsigned int n_actions;
	struct portmap_action actions[PORTMAP_MAX_OUT];
	unsigned int n_notes;
	struct portmap_note notes[PORTMAP_MAX_OUT];
	uint64_t deadline;	/* call portmap_on_timeout() then; PORTMAP_NEVER if nothing waits */
};

/** A reply or announcement from the gateway, parsed by portmap_reply_parse(). */
struct portmap_reply {
	enum portmap_proto proto;	/* PCP or NATPMP: the format that arrived */
	bool unsupp_version;		/* the gateway does not speak the other protocol (RFC 6887 §9) */
	struct natpmp_response natpmp;
	struct pcp_msg pcp;
};

/** Fill @p cfg with the defaults above (all protocols). */
void portmap_config_default(struct portmap_config *cfg);

/** Initialise @p pm (caller-owned, one thread) with a copy of @p cfg (NULL: defaults). */
void portmap_init(struct portmap *pm, const struct portmap_config *cfg, struct in_addr local);

/**
 * Add a mapping of @p ipproto (PCP_PROTO_UDP/TCP) @p internal_port, asking
 * for @p want_port outside (0: any), with the caller's random @p nonce.
 * Returns its index, -ENOSPC when full, -EINVAL for a bad protocol or port.
 */
int portmap_add(struct portmap *pm, uint8_t ipproto, uint16_t internal_port, uint16_t want_port,
		const uint8_t nonce[static PCP_NONCE_LEN]) __attribute__((warn_unused_result));

/** The mapping at @p idx (borrowed), or NULL. */
const struct portmap_map *portmap_get(const struct portmap *pm, unsigned int idx);

/** Start mapping @p idx at @p now. */
void portmap_start(struct portmap *pm, unsigned int idx, uint64_t now, struct portmap_out *out);

/** The deadline has come (calling early or late is harmless). */
void portmap_on_timeout(struct portmap *pm, uint64_t now, struct portmap_out *out);

/** A reply or announcement from the gateway's port 5351 (unicast or 224.0.0.1:5350). */
void portmap_on_reply(struct portmap *pm, const struct portmap_reply *r, uint64_t now,
		      struct portmap_out *out);

/** ICMP port unreachable from the gateway's port 5351: nothing listens there. */
void portmap_on_unreachable(struct portmap *pm, uint64_t now, struct portmap_out *out);

/** UPnP error 501 ActionFailed: what a "success" without a port or an address counts as. */
#define PORTMAP_UPNP_ACTION_FAILED	501

/**
 * Result of a PORTMAP_ACT_UPNP_MAP for @p idx: @p result 0 = mapped
 * (@p lifetime 0 = permanent), -1 = no Internet Gateway Device answered,
 * > 0 = the UPnP error code the IGD refused with (e.g. 718). A mapping to
 * port 0 or address 0.0.0.0 counts as PORTMAP_UPNP_ACTION_FAILED; NAT-PMP
 * and PCP answers granting port 0 (or PCP address 0.0.0.0) are refusals too.
 */
void portmap_on_upnp(struct portmap *pm, unsigned int idx, int result, struct in_addr ext_addr,
		     uint16_t ext_port, uint32_t lifetime, uint64_t now, struct portmap_out *out);

/**
 * The network changed (new gateway or new local address @p local): forget
 * what was known about the gateway and start every live mapping over.
 */
void portmap_on_netchange(struct portmap *pm, struct in_addr local, uint64_t now,
			  struct portmap_out *out);

/** Delete every mapping (on exit). portmap_stopped() says when it is done. */
void portmap_stop(struct portmap *pm, uint64_t now, struct portmap_out *out);
bool portmap_stopped(const struct portmap *pm);

/** The earliest deadline of all mappings; PORTMAP_NEVER if none. */
uint64_t portmap_deadline(const struct portmap *pm);

/**
 * Check a server epoch (seconds) arriving at @p now_ms and record it.
 * Returns false if it shows the gateway lost its state:
 *   NAT-PMP (RFC 6886 §3.6): it is more than 2 s below the previous epoch
 *   plus 7/8 of the time elapsed on our clock;
 *   PCP (RFC 6887 §8.5): it went back more than 1 s, or client_delta + 2 <
 *   server_delta - server_delta/16, or server_delta + 2 < client_delta -
 *   client_delta/16 (whole seconds).
 * The first epoch seen (or the first after a change of protocol) is valid.
 */
bool portmap_epoch_update(struct portmap_epoch *e, enum portmap_proto proto, uint32_t server,
			  uint64_t now_ms);

/**
 * Parse a packet from the gateway: version 0 is NAT-PMP, anything else
 * PCP. Returns 0 (with r->unsupp_version set for the answers of RFC 6887
 * §9) or the parser's negative errno.
 */
int portmap_reply_parse(const void *buf, size_t len, struct portmap_reply *r)
	__attribute__((warn_unused_result));

/** "PCP", "NAT-PMP", "UPnP IGD", "none". */
const char *portmap_proto_str(enum portmap_proto p);
/** The result code's name in protocol @p p. */
const char *portmap_result_str(enum portmap_proto p, unsigned int result);

#endif
