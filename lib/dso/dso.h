/*
 * lib/dso: DNS Stateful Operations (RFC 8490) and DNS Push Notifications
 * (RFC 8765), with no I/O.
 *
 * Two parts:
 * - a codec: dso_msg_parse() splits a DSO message into its header and TLV
 *   list with the checks of RFC 8490 §5.4, readers check each TLV's
 *   DSO-DATA, and builders write responses, Keepalive, Retry Delay and
 *   PUSH messages, all through the lib/wire cursor;
 * - the server's state machine, struct dso_server: the DSO sessions (one
 *   per stream connection, by the caller's connection id), their timers
 *   (RFC 8490 §6) and subscriptions (RFC 8765 §6.2), and a table of the
 *   subscriptions of all sessions by name, to find who watches a changed
 *   (name, type). It reads no clock: every call takes @p now_ms
 *   (milliseconds, monotonic), decisions come back in struct
 *   dso_verdict, and what the timers and changes produce is queued as
 *   struct dso_out that the caller drains with dso_server_pop(). After any
 *   call the caller re-arms one timer at dso_server_next_deadline().
 *
 * Policy (which names a session may watch) and the zone data stay with the
 * caller: the machine accepts a subscription only when told to.
 *
 * Thread safety: a struct dso_server is owned by one thread.
 */
#ifndef AT_DSO_DSO_H
#define AT_DSO_DSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/** The DSO OPCODE (RFC 8490 §5.4). */
#define DSO_OPCODE 6
/** RCODE DSOTYPENI: the primary TLV's DSO-TYPE is not implemented (RFC 8490 §5.4.1). */
#define DSO_RCODE_DSOTYPENI 11
#define DSO_HEADER_LEN 12
/** Largest PUSH message, from the header on (RFC 8765 §6.3.1). */
#define DSO_PUSH_MAX 16382
/** TLVs kept by dso_msg_parse(); a message with more is refused. */
#define DSO_TLV_MAX 16
/** Longest domain name in wire form (RFC 1035 §2.3.4). */
#define DSO_NAME_MAX 255
/** "Infinity" for both session timeouts (RFC 8490 §6.4.2, §6.5.2). */
#define DSO_TIMEOUT_INFINITE 0xFFFFFFFFu
/** Shortest keepalive interval a server may grant (RFC 8490 §6.5.2). */
#define DSO_KEEPALIVE_MIN_MS 10000u
/** Both timeouts of a session before any Keepalive exchange (RFC 8490 §6.2). */
#define DSO_TIMEOUT_DEFAULT_MS 15000u
/** PUSH TTLs (RFC 8765 §6.3.1): remove one RR; remove a collection. */
#define DSO_TTL_REMOVE 0xFFFFFFFFu
#define DSO_TTL_REMOVE_ALL 0xFFFFFFFEu
#define DSO_CLASS_ANY 255
#define DSO_TYPE_ANY 255

/** DSO-TYPE values (RFC 8490 §10.3, RFC 8765 §8). */
enum dso_type {
	DSO_TYPE_KEEPALIVE = 1,
	DSO_TYPE_RETRY_DELAY = 2,
	DSO_TYPE_PADDING = 3,
	DSO_TYPE_SUBSCRIBE = 0x40,
	DSO_TYPE_PUSH = 0x41,
	DSO_TYPE_UNSUBSCRIBE = 0x42,
	DSO_TYPE_RECONFIRM = 0x43,
};

/** One TLV; @p data points into the parsed buffer (borrowed). */
struct dso_tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *data;
};

/** A parsed DSO message: header fields and its TLVs in order. */
struct dso_msg {
	uint16_t id;
	bool qr;
	uint8_t rcode;		/**< the header's 4-bit RCODE */
	size_t n_tlv;
	struct dso_tlv tlv[DSO_TLV_MAX];
};

/**
 * True when @p len bytes at @p buf start a DNS header whose OPCODE is DSO.
 * Only the header is looked at.
 */
bool dso_is_dso(const uint8_t *buf, size_t len);

/**
 * Parse the DSO message at @p buf (borrowed: the TLVs point into it).
 * Checks (RFC 8490 §5.4): a 12-byte header with OPCODE 6 and all four
 * counts zero, TLVs that exactly fill the rest, at least one TLV in a
 * request or unidirectional message (QR=0, §5.4.2), at most DSO_TLV_MAX.
 * @return 0, -EBADMSG (malformed: the header fields are still filled
 * when the header could be read) or -E2BIG (too many TLVs).
 */
int dso_msg_parse(struct dso_msg *m, const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/**
 * Check a wire-form name at the start of @p w (labels of 1..63 bytes
 * ending with the root, at most 255 bytes, no compression) and copy it to
 * @p out (DSO_NAME_MAX bytes). @return its length, or 0 on error (the
 * cursor's error set).
 */
size_t dso_name_read(struct wire *w, uint8_t *out);

/** Keepalive TLV data (RFC 8490 §7.1): exactly 8 bytes. */
struct dso_keepalive {
	uint32_t inactivity_ms;
	uint32_t keepalive_ms;
};
int dso_keepalive_read(const struct dso_tlv *t, struct dso_keepalive *k) __attribute__((warn_unused_result));
/** Retry Delay TLV data (RFC 8490 §7.2): exactly 4 bytes. */
int dso_retry_delay_read(const struct dso_tlv *t, uint32_t *delay_ms) __attribute__((warn_unused_result));

/** A SUBSCRIBE's question (RFC 8765 §6.2.1): NAME, TYPE, CLASS exactly. */
struct dso_question {
	uint8_t name[DSO_NAME_MAX];
	uint8_t name_len;	/**< including the root label */
	uint16_t qtype, qclass;
};
int dso_subscribe_read(const struct dso_tlv *t, struct dso_question *q) __attribute__((warn_unused_result));
/** UNSUBSCRIBE data (RFC 8765 §6.4.1): the 2-byte SUBSCRIBE message id. */
int dso_unsubscribe_read(const struct dso_tlv *t, uint16_t *sub_id) __attribute__((warn_unused_result));

/** A RECONFIRM's record (RFC 8765 §6.5.1): NAME TYPE CLASS RDATA (the rest). */
struct dso_reconfirm {
	struct dso_question q;
	const uint8_t *rdata;	/**< borrowed, into the message */
	uint16_t rdlen;
};
/** -EBADMSG also when TYPE or CLASS is ANY (RFC 8765 §6.5.1). */
int dso_reconfirm_read(const struct dso_tlv *t, struct dso_reconfirm *r) __attribute__((warn_unused_result));

/**
 * A response (QR=1) to request @p id with @p rcode, and when
 * @p retry_delay_ms is not 0 a Retry Delay TLV as Response Additional TLV
 * (RFC 8490 §7.2.2). @return 0 with *@p outlen, or -ENOSPC.
 */
int dso_build_response(uint8_t *buf, size_t cap, uint16_t id, uint8_t rcode, uint32_t retry_delay_ms,
		       size_t *outlen) __attribute__((warn_unused_result));
/** The response to a Keepalive request: the server's values as Response Primary TLV (§7.1). */
int dso_build_keepalive_response(uint8_t *buf, size_t cap, uint16_t id, const struct dso_keepalive *k,
				 size_t *outlen) __attribute__((warn_unused_result));
/** A Retry Delay unidirectional message (message id 0, §7.2.1) with reason @p rcode. */
int dso_build_retry_delay(uint8_t *buf, size_t cap, uint8_t rcode, uint32_t delay_ms, size_t *outlen)
	__attribute__((warn_unused_result));
/** A request or unidirectional message with one primary TLV (for clients and tests). */
int dso_build_request(uint8_t *buf, size_t cap, uint16_t id, uint16_t type, const void *data, uint16_t len,
		      size_t *outlen) __attribute__((warn_unused_result));

/* ---- client requests (RFC 8490 §7.1, RFC 8765 §6.2, §6.4) ---- */

/** A Keepalive request (id not 0) asking for the timeouts in @p k (§7.1.1). */
int dso_build_keepalive_request(uint8_t *buf, size_t cap, uint16_t id, const struct dso_keepalive *k,
				size_t *outlen) __attribute__((warn_unused_result));
/**
 * A SUBSCRIBE request (RFC 8765 §6.2.1) with message id @p id (not 0) for
 * the wire-form name @p name (uncompressed, checked by the caller), type
 * and class. @return 0, -EINVAL (id 0, no name) or -ENOSPC.
 */
int dso_build_subscribe(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name, size_t name_len,
			uint16_t qtype, uint16_t qclass, size_t *outlen) __attribute__((warn_unused_result));
/** An UNSUBSCRIBE (RFC 8765 §6.4.1): unidirectional, message id 0, the SUBSCRIBE's id as data. */
int dso_build_unsubscribe(uint8_t *buf, size_t cap, uint16_t sub_id, size_t *outlen)
	__attribute__((warn_unused_result));

/** One change notification of a PUSH TLV (RFC 8765 §6.3.1). */
struct dso_change {
	uint8_t name[DSO_NAME_MAX];
	uint8_t name_len;
	uint16_t type, rclass;
	uint32_t ttl;		/**< DSO_TTL_REMOVE, DSO_TTL_REMOVE_ALL, or an addition's TTL */
	const uint8_t *rdata;	/**< borrowed, into the message */
	uint16_t rdlen;
};

/**
 * The next change notification of PUSH TLV @p t, from byte *@p off (start
 * at 0). Names must be uncompressed (this reader, like dso_push_add(),
 * does not follow compression pointers). A collective removal must have
 * no RDATA, and ANY only appears in one (§6.3.1).
 * @return 1 with @p c filled (*@p off advanced), 0 at the end, -EBADMSG.
 */
int dso_push_next(const struct dso_tlv *t, size_t *off, struct dso_change *c) __attribute__((warn_unused_result));

/**
 * A PUSH message being written (RFC 8765 §6.3.1): message id 0, one PUSH
 * TLV holding change notifications, at most DSO_PUSH_MAX bytes. Owner
 * names are written uncompressed (compression is a SHOULD of §6.3.1 that
 * this writer leaves out).
 */
struct dso_push {
	struct wire w;
	size_t len_off;		/**< where DSO-LENGTH goes */
	size_t count;		/**< change notifications added */
};
/** Start a PUSH in @p buf (@p cap is clamped to DSO_PUSH_MAX). */
int dso_push_begin(struct dso_push *p, uint8_t *buf, size_t cap) __attribute__((warn_unused_result));
/**
 * Add a change notification: an addition (@p ttl 0..0x7FFFFFFF), the
 * removal of one RR (DSO_TTL_REMOVE) or a collective removal
 * (DSO_TTL_REMOVE_ALL, @p rdlen 0). @return 0, -EINVAL (a combination
 * §6.3.1 forbids) or -ENOSPC (does not fit: the message is unchanged, so
 * finish it and start another).
 */
int dso_push_add(struct dso_push *p, const uint8_t *name, size_t name_len, uint16_t type, uint16_t rclass,
		 uint32_t ttl, const uint8_t *rdata, uint16_t rdlen) __attribute__((warn_unused_result));
/** Finish: -ENODATA when empty (a PUSH carries at least one notification). */
int dso_push_finish(struct dso_push *p, size_t *outlen) __attribute__((warn_unused_result));

/* ---------------- the server's sessions ---------------- */

struct dso_config {
	uint32_t inactivity_ms;		/**< longest inactivity timeout granted */
	uint32_t keepalive_ms;		/**< longest keepalive interval granted (>= DSO_KEEPALIVE_MIN_MS) */
	uint32_t subs_per_session;	/**< subscriptions on one session */
	uint32_t subs_max;		/**< subscriptions in all */
	uint32_t retry_delay_ms;	/**< in the Retry Delay that ends a delinquent session */
	uint32_t refused_retry_ms;	/**< in a refused SUBSCRIBE's response (RFC 8765 §6.2.2: 5 min) */
	uint32_t grace_ms;		/**< after a Retry Delay, until the abort (RFC 8490 §6.6.1: 5 s) */
};

/** Defaults: inactivity 15 s, keepalive 60 min (RFC 8490 §6.5.2), 5 s grace. */
void dso_config_default(struct dso_config *c);

/** What to do with a message received on a session. */
enum dso_action {
	DSO_ACT_NONE,		/**< nothing to send (unidirectional message handled, or ignored) */
	DSO_ACT_RESPOND,	/**< send dso_build_response(id, rcode, retry_delay_ms) */
	DSO_ACT_KEEPALIVE,	/**< send dso_build_keepalive_response(id, keepalive) */
	DSO_ACT_SUBSCRIBE,	/**< decide on @p q, then call dso_server_subscribe() */
	DSO_ACT_RECONFIRM,	/**< check @p rc against the zone */
	DSO_ACT_ABORT,		/**< forcibly abort the connection (RFC 8490 §5.3) */
};

struct dso_verdict {
	enum dso_action act;
	uint16_t id;
	uint8_t rcode;
	uint32_t retry_delay_ms;
	struct dso_keepalive keepalive;
	struct dso_question q;		/**< DSO_ACT_SUBSCRIBE */
	struct dso_reconfirm rc;	/**< DSO_ACT_RECONFIRM (rdata borrowed from the message) */
};

enum dso_out_kind {
	DSO_OUT_PUSH,		/**< send the PUSH of the change to @p conn */
	DSO_OUT_RETRY_DELAY,	/**< send a Retry Delay (rcode, delay_ms) to @p conn: the session is ending */
	DSO_OUT_ABORT,		/**< forcibly abort @p conn now */
};

/** Something the timers or a change produced. */
struct dso_out {
	enum dso_out_kind kind;
	uint64_t conn;
	uint8_t rcode;
	uint32_t delay_ms;
};

/** Counters, for stats. */
struct dso_stats {
	uint64_t sessions_opened, sessions_established, sessions_closed;
	uint64_t keepalives, subscribes, unsubscribes, reconfirms, pushes;
	uint64_t refused_limit, formerr, dsotypeni, aborted, delinquent;
	uint32_t sessions, subscriptions;
};

struct dso_server;

/** A new server with a copy of @p cfg; NULL on allocation failure. */
struct dso_server *dso_server_new(const struct dso_config *cfg);
void dso_server_free(struct dso_server *s);

/**
 * Is there a session for @p conn? The caller keeps its connection's
 * state (idle timeouts, the close notice) in line with it.
 */
bool dso_server_has_session(const struct dso_server *s, uint64_t conn);

/**
 * Note that session @p conn belongs to account @p owner (not 0), from a
 * signed message the caller verified on it; makes the session when there
 * is none. The first account stays. 0 or -ENOMEM.
 */
int dso_server_authenticate(struct dso_server *s, uint64_t conn, uint32_t owner, uint64_t now_ms)
	__attribute__((warn_unused_result));
/** The account of session @p conn, 0 when none. */
uint32_t dso_server_owner(const struct dso_server *s, uint64_t conn);

/**
 * A complete DNS message other than DSO went in or out of @p conn: resets
 * both session timers (RFC 8490 §6.3). No-op without a session.
 */
void dso_server_activity(struct dso_server *s, uint64_t conn, uint64_t now_ms);

/**
 * Handle DSO message @p m received on connection @p conn (makes the
 * session on the first one). Returns 0 with @p v filled, or -ENOMEM.
 * A request answered NOERROR establishes the session (RFC 8490 §5.1.2).
 */
int dso_server_handle(struct dso_server *s, uint64_t conn, const struct dso_msg *m, uint64_t now_ms,
		      struct dso_verdict *v) __attribute__((warn_unused_result));

/**
 * The caller accepted DSO_ACT_SUBSCRIBE @p q with message id @p id.
 * Returns 0, -EEXIST (a duplicate of an active subscription or message
 * id: a fatal error, RFC 8765 §6.2.1, abort), -ENOSPC (a limit: answer
 * SERVFAIL with a Retry Delay), -ENOENT (no session) or -ENOMEM.
 */
int dso_server_subscribe(struct dso_server *s, uint64_t conn, uint16_t id, const struct dso_question *q,
			 uint64_t now_ms) __attribute__((warn_unused_result));

/**
 * A record set changed: queue one DSO_OUT_PUSH per session holding a
 * subscription it matches (same name ignoring case, class IN or ANY,
 * same type or ANY), once per session however many match (RFC 8765
 * §6.3.1). @p name is in wire form. @return sessions queued, or -ENOMEM.
 */
int dso_server_notify(struct dso_server *s, const uint8_t *name, size_t name_len, uint16_t rrtype,
		      uint16_t rrclass, uint64_t now_ms);

/** Would session @p conn get a PUSH for (name, type, class)? */
bool dso_server_watches(const struct dso_server *s, uint64_t conn, const uint8_t *name, size_t name_len,
			uint16_t rrtype, uint16_t rrclass);

/**
 * End every session whose account @p keep (a pure predicate, called with
 * each session's non-zero owner) says is gone: an established one gets a
 * DSO_OUT_RETRY_DELAY with @p rcode (RFC 8490 §7.2.1: REFUSED when the
 * server "is now unable to perform" its operations) and is aborted after
 * the grace period; one not established is aborted. @return how many, or
 * -ENOMEM.
 */
int dso_server_revoke(struct dso_server *s, bool (*keep)(void *arg, uint32_t owner), void *arg, uint8_t rcode,
		      uint32_t delay_ms, uint64_t now_ms);

/**
 * The server is going away (a restart): every established session, with an
 * account or without, gets a DSO_OUT_RETRY_DELAY with @p rcode and the
 * delay @p delay (called once per session, so that the caller can spread
 * the sessions' return: RFC 8490 §6.6.1, §7.1.1) and is aborted after the
 * grace period. @return how many, or -ENOMEM.
 */
int dso_server_retry_all(struct dso_server *s, uint8_t rcode, uint32_t (*delay)(void *arg), void *arg,
			 uint64_t now_ms);

/** The connection closed: its session and subscriptions go. */
void dso_server_conn_closed(struct dso_server *s, uint64_t conn);

/** Run the timers due at @p now_ms (delinquent sessions, grace periods). */
void dso_server_tick(struct dso_server *s, uint64_t now_ms);

/** The earliest time at which dso_server_tick() has work, or UINT64_MAX. */
uint64_t dso_server_next_deadline(const struct dso_server *s);

/** Take the next queued output into @p out; false when there is none. */
bool dso_server_pop(struct dso_server *s, struct dso_out *out);

void dso_server_stats(const struct dso_server *s, struct dso_stats *st);

#endif
