/*
 * A host's candidates (issue 11, docs/paths.md): every transport address at
 * which a peer may reach its UDP 4500 socket, published as one TXT record
 * beside the records of docs/design.md §4, and the punch request a host
 * writes under a peer's name to ask it to send checks at the same time.
 *
 *     _cand.H.D    TXT  "at-cand=1 gen=7"
 *                       "lan 192.168.1.2 4500 prio=2130706431 plen=24"
 *                       "srflx 203.0.113.10 40123 prio=1358954495 map=apd filt=apd"
 *     _punch.P.D   TXT  "at-punch=1 from=laptop nonce=<32 hex> t=1796000000"
 *                       "srflx 203.0.113.10 40123 prio=1358954495 map=ei filt=apd" ...
 *
 * Each character-string is plain text in one canonical spelling (single
 * spaces, lower case, canonical addresses, no leading zeros), so that a
 * parsed record builds back to the same bytes and `dig` shows what a
 * host publishes. The codecs take and give TXT RDATA (RFC 1035 §3.3.14:
 * a sequence of <length><bytes> strings) through lib/wire. Pure: no I/O,
 * no clock (the caller passes wall-clock seconds where they matter).
 */
#ifndef AT_AGENT_CAND_H
#define AT_AGENT_CAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/records.h"

/** Most candidates in one record: one TXT string each after the header, within AGENT_TXT_MAX. */
#define AGENT_CAND_MAX (AGENT_TXT_MAX - 1)
/** Largest RDATA the builders write: AGENT_TXT_MAX strings of at most 255 bytes. */
#define AGENT_CAND_RDATA_MAX (AGENT_TXT_MAX * (1 + AGENT_TXT_STRING_MAX))
/** Bytes of a punch request's nonce (printed as 32 hex digits). */
#define AGENT_PUNCH_NONCE_LEN 16
/** Longest candidate string agent_cand_format() writes (an IPv6 relay), plus NUL. */
#define AGENT_CAND_TEXT_MAX 96

/**
 * How the candidate was learned; it decides the pair's class in
 * lib/agent/paths.h. The published kinds are LAN..RELAY. PRFLX (RFC 8445
 * §7.2.5.3.1: an address learned from a check that arrived) exists only
 * inside a host and is refused in a record.
 */
enum agent_cand_kind {
	AGENT_CAND_LAN = 1,	/* IPv4 address of an interface, with its prefix length */
	AGENT_CAND_IPV6,	/* global IPv6 address (2000::/3) of an interface, with its prefix length */
	AGENT_CAND_MAPPED,	/* a port mapping (PCP, NAT-PMP, UPnP, RSIP): reachable unsolicited */
	AGENT_CAND_PUBLIC,	/* the host's own public IPv4 address: reachable unsolicited */
	AGENT_CAND_SRFLX,	/* server-reflexive (STUN, RFC 8489): the NAT's mapping; punching needed */
	AGENT_CAND_RELAY,	/* relayed (TURN, RFC 8656): an allocation on the relay */
	AGENT_CAND_PRFLX,	/* peer-reflexive: learned, never published */
};

/**
 * A NAT's behaviour in the terms of RFC 4787 §§4.1, 5 as RFC 5780 §4.3-4.4
 * detects it: endpoint-independent, address-dependent, or address-and-
 * port-dependent; UNKNOWN when the tests could not run (a STUN server
 * without a second address).
 */
enum agent_nat_behaviour {
	AGENT_NAT_UNKNOWN = 0,
	AGENT_NAT_EI,		/* "ei" */
	AGENT_NAT_AD,		/* "ad" */
	AGENT_NAT_APD,		/* "apd" */
};

struct agent_cand {
	uint8_t kind;		/* enum agent_cand_kind */
	bool v6;		/* addr holds an IPv6 address; otherwise IPv4 in addr[0..3] */
	uint8_t addr[16];	/* network byte order */
	uint16_t port;		/* 1..65535 */
	uint32_t prio;		/* 1..2^31-1 (RFC 8445 §5.1.2.1) */
	uint8_t plen;		/* LAN: 1..32, IPV6: 1..128; 0 for other kinds */
	uint8_t map, filt;	/* SRFLX: enum agent_nat_behaviour; 0 for other kinds */
};

/** The set a host publishes at _cand.H.D. */
struct agent_cand_set {
	uint32_t gen;		/* bumped on every change; compare with agent_cand_gen_newer() */
	uint8_t n;
	uint8_t unknown;	/* parser: strings of kinds this version does not know, skipped */
	struct agent_cand c[AGENT_CAND_MAX];
};

/** A punch request, one RR of the shared RRset _punch.P.D. */
struct agent_punch {
	char from[AGENT_LABEL_MAX + 1];	/* the requester's host label H (same account D) */
	uint8_t nonce[AGENT_PUNCH_NONCE_LEN];
	uint64_t t;			/* wall-clock seconds (Unix time) when it was written */
	uint8_t n;
	uint8_t unknown;
	struct agent_cand c[AGENT_CAND_MAX];
};

/**
 * RFC 8445 §5.1.2.1 priority: 2^24 * type preference + 2^8 * @p local_pref
 * + (256 - component 1). Type preferences put the kinds in the order of
 * issue 11 (LAN 126, IPV6 120, PUBLIC 110, MAPPED 105, PRFLX 100, SRFLX
 * 90, RELAY 0). 0 for an unknown kind.
 */
uint32_t agent_cand_priority(enum agent_cand_kind kind, uint16_t local_pref);

/** The kind's word in a record ("lan", "srflx"...), or NULL (PRFLX has one too: "prflx", for logs). */
const char *agent_cand_kind_name(enum agent_cand_kind kind);

/** RFC 1982 serial-number order: whether @p a is newer than @p b. */
bool agent_cand_gen_newer(uint32_t a, uint32_t b);

/**
 * Check one candidate as a record may hold it: a published kind; the
 * family the kind allows (LAN, MAPPED, PUBLIC, SRFLX: IPv4; IPV6: 2000::/3;
 * RELAY: either); no unspecified, loopback, multicast or IPv4-mapped
 * address; port, priority, prefix length and behaviours as documented on
 * struct agent_cand. 0 or -EINVAL.
 */
int agent_cand_check(const struct agent_cand *c) __attribute__((warn_unused_result));

/**
 * Write @p c as its record string ("srflx 203.0.113.10 40123 prio=... map=ei
 * filt=apd") into @p buf; PRFLX is written too (for logs) though never
 * published. Returns the length, -EINVAL for a candidate that fails
 * agent_cand_check() (other than being PRFLX), -ENOSPC.
 */
int agent_cand_format(const struct agent_cand *c, char *buf, size_t len) __attribute__((warn_unused_result));

/**
 * The TXT RDATA of @p s into @p rdata (@p cap bytes); its length in @p len.
 * Returns 0, -EINVAL (a candidate fails agent_cand_check(), two are the
 * same transport address, more than AGENT_CAND_MAX) or -ENOSPC.
 */
int agent_cand_set_build(const struct agent_cand_set *s, uint8_t *rdata, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/**
 * Parse TXT RDATA (@p rdata borrowed) into @p s. Strings of a kind this
 * version does not know ("[a-z0-9]+ " then printable text) are skipped and
 * counted in s->unknown, so that a later version may add kinds; everything
 * else must be exactly as agent_cand_set_build() writes it. Returns 0,
 * -EPROTONOSUPPORT for a header of another version ("at-cand=2 ..."), or
 * -EBADMSG (bad lengths, a malformed or duplicate candidate, more than
 * AGENT_CAND_MAX strings after the header, no header).
 */
int agent_cand_set_parse(const uint8_t *rdata, size_t len, struct agent_cand_set *s)
	__attribute__((warn_unused_result));

/** As agent_cand_set_build(), for a punch request; p->from must be a host label. */
int agent_punch_build(const struct agent_punch *p, uint8_t *rdata, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** As agent_cand_set_parse(), for a punch request. */
int agent_punch_parse(const uint8_t *rdata, size_t len, struct agent_punch *p)
	__attribute__((warn_unused_result));

/**
 * Whether a request written at p->t is still to be acted on at wall-clock
 * @p now_s: not older than @p max_age_s and not more than @p max_age_s in
 * the future (clocks differ; TSIG already bounds them to 300 s).
 */
bool agent_punch_fresh(const struct agent_punch *p, uint64_t now_s, uint32_t max_age_s);

/**
 * The record of @p s as an entry of the record set (records.h), owner
 * "_cand.H.D", this host's own RRset (replaced whole), TTL @p ttl (0 for
 * AGENT_RR_TTL_DEFAULT). @p domain and @p host as in struct agent_publish.
 * 0, -EINVAL or -ENOSPC.
 */
int agent_cand_set_rr(const struct agent_cand_set *s, const char *domain, const char *host,
		      uint32_t ttl, struct agent_rr *rr) __attribute__((warn_unused_result));

/**
 * The request @p p as an entry for the peer @p peer: owner "_punch.P.D", a
 * shared RRset (each requester adds and deletes only its own RR), TTL
 * @p ttl (0 for AGENT_PUNCH_TTL). 0, -EINVAL or -ENOSPC.
 */
int agent_punch_rr(const struct agent_punch *p, const char *domain, const char *peer,
		   uint32_t ttl, struct agent_rr *rr) __attribute__((warn_unused_result));

/** TTL of a punch request: not worth caching, it is read through an LLQ. */
#define AGENT_PUNCH_TTL 5
/** Age after which a punch request is ignored (docs/paths.md). */
#define AGENT_PUNCH_MAX_AGE_S 60

/** Owner names: "_cand.H.D" and "_punch.H.D" into @p buf (AGENT_NAME_MAX + 1). 0, -EINVAL, -ENOSPC. */
int agent_cand_name(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
	__attribute__((warn_unused_result));
int agent_punch_name(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
	__attribute__((warn_unused_result));

#endif
