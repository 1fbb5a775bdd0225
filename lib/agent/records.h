/*
 * The record set a host publishes (docs/design.md §4, RFC 6281 §3, RFC 6763),
 * as plain data: a list of {name, type, rdata}. Independent of lib/dns so
 * that the agent can turn it into UPDATE messages (and tests can compare it
 * with what the server holds).
 */
#ifndef AT_AGENT_RECORDS_H
#define AT_AGENT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"

/* RR type codes (RFC 1035, 2782, 3596) */
enum agent_rr_type {
	AGENT_RR_A = 1,
	AGENT_RR_PTR = 12,
	AGENT_RR_TXT = 16,
	AGENT_RR_AAAA = 28,
	AGENT_RR_SRV = 33,
};

/** Most character-strings in one TXT record the builder writes. */
#define AGENT_TXT_MAX 8
/** Longest character-string (RFC 1035 §3.3: one length octet). */
#define AGENT_TXT_STRING_MAX 255
/** Most services one host offers. */
#define AGENT_SERVICES_MAX 16
/** Records agent_records_build() may produce: 7, 3 for the KDC, 3 per service + 1 per service type. */
#define AGENT_RECORDS_MAX (10 + 4 * AGENT_SERVICES_MAX)
/** Hex digits of a host id (16 random bytes, lower case). */
#define AGENT_HOST_ID_LEN 32
/** The TXT string at H.D that names the host holding H: prefix, then the id. */
#define AGENT_HOST_ID_PREFIX "autotunnel-id="
/** Default TTL of published records: short, because locations move. */
#define AGENT_RR_TTL_DEFAULT 60

struct agent_rr {
	char name[AGENT_NAME_MAX + 1];	/* owner, lower case, no trailing dot */
	uint16_t type;			/* enum agent_rr_type */
	uint32_t ttl;
	/*
	 * The RRset is shared with other hosts of the account (a PTR of
	 * "_autotunnel._udp.D" or of a service type): UPDATE must add or
	 * delete this one RR, never replace or delete the whole RRset.
	 * Otherwise the RRset is this host's alone and is replaced whole.
	 */
	bool shared;
	union {
		uint8_t a[4];		/* network byte order */
		uint8_t aaaa[16];
		struct {
			uint16_t priority, weight, port;
			char target[AGENT_NAME_MAX + 1];
		} srv;
		char ptr[AGENT_NAME_MAX + 1];
		struct {
			uint8_t n;
			uint8_t len[AGENT_TXT_MAX];
			char s[AGENT_TXT_MAX][AGENT_TXT_STRING_MAX + 1];	/* NUL-terminated for convenience */
		} txt;
	};
};

/** A DNS-SD service this host offers (RFC 6763 §7): "_ssh._tcp" on port 22. */
struct agent_service {
	const char *name;	/* service name without '_': 1..15 of [a-z0-9-] (RFC 6335 §5.1) */
	const char *proto;	/* "tcp" or "udp" */
	uint16_t port;
	const char *const *txt;	/* "key=value" strings, may be NULL; none gives one empty string (RFC 6763 §6.1) */
	size_t ntxt;
};

/** What to publish; every pointer is borrowed for the call. */
struct agent_publish {
	const char *domain;	/* D, the account domain, e.g. "alice.members.example.net" */
	const char *host;	/* H, the host label (agent_host_label()) */
	uint8_t eui64[8];	/* IEEE EUI-64 of the primary MAC (agent_eui64_from_mac()) */
	uint8_t ula[16];
	/*
	 * This host's id (AGENT_HOST_ID_LEN lower-case hex digits, kept across
	 * boots), published as H.D TXT "autotunnel-id=ID"; NULL: none.
	 */
	const char *host_id;
	/*
	 * External (outer) IPv4 address, network byte order, and UDP port:
	 * the NAT's mapping, or the host's own when public. A port of 0 means
	 * "no known location" (no mapping on this network): the SRV and A
	 * records are left out and peers will not try to reach this host.
	 */
	uint8_t ext_addr[4];
	uint16_t ext_port;
	/*
	 * The location is a relayed address (a TURN allocation, docs/relay.md):
	 * its SRV gets priority AGENT_SRV_PRIO_RELAYED instead of 0, so that a
	 * peer knows to reach it through a relay of its own (a relayed address
	 * lets in only the addresses its holder permitted, RFC 8656 §9).
	 */
	bool ext_relayed;
	const char *model;	/* TXT "model=", may be NULL */
	const char *os;		/* TXT "os=", may be NULL */
	const char *const *features;	/* further TXT strings ("ike=2"), may be NULL */
	size_t nfeatures;
	const struct agent_service *services;
	size_t nservices;
	/* the local KDC's realm (docs/sso.md) while it runs, else NULL; its port (0: 88) */
	const char *krb_realm;
	uint16_t krb_port;
	uint32_t ttl;		/* 0 means AGENT_RR_TTL_DEFAULT */
	/*
	 * Also publish RFC 6763 §9 service type enumeration PTRs
	 * ("_services._dns-sd._udp.D" -> "_ssh._tcp.D"), so that browsers
	 * can find the types without knowing them. Off by default: not part
	 * of docs/design.md §4's table.
	 */
	bool service_types;
};

/** SRV priority of a relayed location (RFC 2782: a higher number is the last resort). */
#define AGENT_SRV_PRIO_RELAYED 10

/**
 * Build the record set of docs/design.md §4 from @p in into @p out (@p cap
 * entries), in the order of the table:
 *
 *     H.D                        AAAA  ULA
 *     H.D                        TXT   "autotunnel-id=ID"   (when host_id)
 *     _autotunnel._udp.H.D       SRV   0 0 port AutoTunnel-E.D   (10 0 ...: relayed)
 *     AutoTunnel-E.D             A     external IPv4
 *     AutoTunnel-E.D             AAAA  ULA
 *     AutoTunnel-E.D             TXT   "v=1" "model=..." "os=..." features...
 *     _autotunnel._udp.D         PTR   H.D                         (shared)
 *     _kerberos.H.D              TXT   REALM                       (when krb_realm)
 *     _kerberos._udp.H.D         SRV   0 0 88 H.D                  (when krb_realm)
 *     _kerberos._tcp.H.D         SRV   0 0 88 H.D                  (when krb_realm)
 *     _S._P.D                    PTR   H._S._P.D                   (shared, per service)
 *     H._S._P.D                  SRV   0 0 port H.D
 *     H._S._P.D                  TXT   ...
 *     _services._dns-sd._udp.D   PTR   _S._P.D  (shared, when service_types)
 *
 * Names are lower case, except the AutoTunnel- label, written as RFC 6281
 * writes it. Stores the count in @p n. Returns 0, -EINVAL for an input
 * that is not a valid name, label, service or TXT string, or -ENOSPC when
 * @p cap is too small or a name would exceed 253 characters.
 */
int agent_records_build(const struct agent_publish *in, struct agent_rr *out, size_t cap, size_t *n)
	__attribute__((warn_unused_result));

/**
 * Write @p rr in zone-file presentation form, as dig prints it but with
 * single spaces: "desktop.alice.members.example.net. 60 IN AAAA fd3c::1".
 * TXT strings are quoted with '"' and '\' escaped, other bytes outside
 * 0x20..0x7e as \DDD. Returns the length (plus a NUL) or -ENOSPC.
 */
int agent_rr_format(const struct agent_rr *rr, char *buf, size_t len) __attribute__((warn_unused_result));

/** "A", "AAAA", "SRV", "TXT" or "PTR"; NULL for any other type. */
const char *agent_rr_type_name(uint16_t type);

/** 0 when @p id is AGENT_HOST_ID_LEN lower-case hex digits, else -EINVAL. */
int agent_host_id_check(const char *id) __attribute__((warn_unused_result));

/** Most AAAA records of a name agent_name_owner() looks at. */
#define AGENT_NAME_SEEN_MAX 8

/** What the server holds at H.D (a signed query's answer). */
struct agent_name_seen {
	uint8_t aaaa[AGENT_NAME_SEEN_MAX][16];
	size_t naaaa;
	char id[AGENT_HOST_ID_LEN + 1];	/* from TXT "autotunnel-id=", "" when none */
};

enum agent_name_owner {
	AGENT_NAME_FREE,	/* no AAAA: nobody holds it */
	AGENT_NAME_OURS,	/* only our ULA, or our id (our records from an earlier boot) */
	AGENT_NAME_TAKEN,	/* another computer's: live, since the server removes expired records */
};

/**
 * Whose is H.D, from what the server holds (@p seen), our ULA and our host
 * id (NULL: none). A host is its ULA for the life of a boot; across boots
 * the id says it is still the same computer.
 */
enum agent_name_owner agent_name_owner(const struct agent_name_seen *seen, const uint8_t our_ula[static 16],
				       const char *our_id);

/**
 * The @p k-th alternative (k >= 2) of host label @p base: "desktop-2",
 * the base shortened so that the whole fits in a label. Writes it with a
 * NUL into @p out and returns its length, or -EINVAL.
 */
int agent_host_label_alt(char out[static 64], const char *base, unsigned k) __attribute__((warn_unused_result));

#endif
