/*
 * lib/llq: the server side of DNS Long-Lived Queries (RFC 8764, as RFC 6281
 * §5.3 uses it), as a pure state machine.
 *
 * The machine owns the table of LLQs: their ids, leases, clients and the
 * events waiting for an acknowledgement. It does no I/O and reads no clock:
 * every call takes the time (@p now_ms, milliseconds on a monotonic clock),
 * requests come in as decoded fields, decisions come back as a struct
 * llq_reply, and gratuitous messages to send (events) are queued as struct
 * llq_out that the caller drains with llq_server_pop(). After any call the
 * caller re-arms one timer at llq_server_next_deadline() and calls
 * llq_server_tick() when it fires.
 *
 * The caller (autotunnel-dnsd) parses the DNS message, checks TSIG and
 * policy, chooses random LLQ ids, builds the answers and sends packets.
 *
 * Thread safety: a struct llq_server is owned by one thread.
 */
#ifndef AT_LLQ_LLQ_H
#define AT_LLQ_LLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** LLQ-OPCODE values (RFC 8764 §3.2). */
enum llq_opcode {
	LLQ_OP_SETUP = 1,
	LLQ_OP_REFRESH = 2,
	LLQ_OP_EVENT = 3,
};

/** LLQ ERROR-CODE values (RFC 8764 §3.2). */
enum llq_error {
	LLQ_ERR_NOERROR = 0,
	LLQ_ERR_SERVFULL = 1,
	LLQ_ERR_STATIC = 2,
	LLQ_ERR_FORMERR = 3,
	LLQ_ERR_NOSUCHLLQ = 4,
	LLQ_ERR_BADVERS = 5,
	LLQ_ERR_UNKNOWN = 6,
};

#define LLQ_VERSION 1
/** Longest domain name in wire form (RFC 1035 §2.3.4). */
#define LLQ_NAME_MAX 255

/**
 * Where a request came from and where events go. @p conn is 0 for a UDP
 * client; for a TCP or TLS connection it is the caller's non-zero
 * connection id, and events go down that connection. @p local is the
 * caller's tag for the socket the request arrived on (events leave by it).
 */
struct llq_peer {
	uint8_t family;		/**< 4 or 6 */
	uint8_t addr[16];	/**< IPv4 in the first 4 bytes */
	uint16_t port;
	uint32_t local;
	uint64_t conn;
};

/** A question in wire form: uncompressed name, type, class. */
struct llq_question {
	uint8_t name[LLQ_NAME_MAX];
	uint8_t name_len;	/**< including the root label */
	uint16_t qtype, qclass;
};

struct llq_config {
	uint32_t lease_min_s, lease_max_s;	/**< granted leases are clamped to these (RFC 6281 §5.3: 900, 7200) */
	/**
	 * LLQs (pending or live) per client address. Unsigned LLQs and each
	 * account's signed LLQs are counted apart: an address is spoofable
	 * (a challenge is only answered later), so unsigned setups from an
	 * address never use up what an account may set up from there.
	 */
	uint32_t per_client_max;
	uint32_t per_account_max;	/**< signed LLQs (pending or live) per account, from all addresses */
	uint32_t global_max;		/**< LLQs in all */
	uint32_t servfull_retry_s;	/**< LEASE-LIFE in a ServFull answer: when to try again */
	uint32_t rto_ms;		/**< first event retransmission timeout; doubles each time */
	uint32_t max_tx;		/**< transmissions of an event before the LLQ is dropped (3) */
	uint32_t challenge_ms;		/**< how long a UDP challenge waits for its response */
	uint32_t max_events;		/**< unacknowledged events per LLQ; one more drops the LLQ */
};

/** The defaults of RFC 6281 §5.3 and RFC 8764. */
void llq_config_default(struct llq_config *c);

/** A request carrying an LLQ option, decoded by the caller. */
struct llq_request {
	struct llq_peer peer;
	struct llq_question q;	/**< unused for an event acknowledgement */
	uint16_t msg_id;	/**< DNS message id (an event ack echoes the event's) */
	bool is_response;	/**< QR set: only an event acknowledgement is a response */
	uint16_t version, opcode, error;
	uint64_t id;		/**< LLQ-ID; 0 in an initial setup request */
	uint32_t lease_s;	/**< requested LEASE-LIFE */
	uint32_t owner;		/**< account that signed the request (0: unsigned) */
	uint64_t new_id;	/**< a fresh random id the machine may assign (caller's CSPRNG) */
	/**
	 * The caller's load shedding (a budget of set-ups per second): a new
	 * set-up (not a retransmission of one already challenged) is answered
	 * SERV-FULL at once when true.
	 */
	bool shed;
	/** LEASE-LIFE of a SERV-FULL answer, when to try again (caller's random choice); 0: servfull_retry_s */
	uint32_t servfull_retry_s;
};

enum llq_reply_kind {
	LLQ_REPLY_NONE,		/**< nothing to send (an acknowledgement was consumed) */
	LLQ_REPLY_CHALLENGE,	/**< setup challenge: no answers */
	LLQ_REPLY_ANSWERS,	/**< ACK + answers: the caller adds the current answers */
	LLQ_REPLY_PLAIN,	/**< refresh reply, or an error: LLQ option only */
};

/** What to answer to a request: a response with this LLQ option. */
struct llq_reply {
	enum llq_reply_kind kind;
	uint16_t opcode, error;
	uint64_t id;
	uint32_t lease_s;
};

/** Shared, reference-counted event payload (the changed RRs, built by the caller). */
struct llq_blob {
	uint32_t refs;
	uint32_t len;
	uint8_t data[];
};

/** A copy of @p data as a blob with one reference; NULL on allocation failure. */
struct llq_blob *llq_blob_new(const void *data, size_t len);
/** Take a reference. */
void llq_blob_get(struct llq_blob *b);
/** Drop a reference (NULL is allowed). */
void llq_blob_put(struct llq_blob *b);

/** A gratuitous message to send: an LLQ event. */
struct llq_out {
	struct llq_peer peer;
	struct llq_question q;
	uint16_t msg_id;	/**< the DNS message id to use; the ack echoes it */
	uint64_t id;
	uint32_t lease_s;	/**< remaining lease */
	uint32_t owner;		/**< account to sign with (0: none) */
	uint32_t tx;		/**< 1 for the first transmission */
	struct llq_blob *blob;	/**< taken: the receiver calls llq_blob_put() */
};

/** Counters, for stats. */
struct llq_stats {
	uint64_t setups, challenges, established, refreshes, cancels;
	uint64_t events, retransmits, acks, dropped_unacked, dropped_overflow;
	uint64_t expired, challenge_expired, conn_closed;
	uint64_t servfull, nosuchllq, badvers, formerr;
	uint64_t wrong_peer;	/**< challenge responses or refreshes from a peer the LLQ is not bound to */
	uint32_t live, pending;
	uint32_t clients;	/**< (address, account or unsigned) pairs holding LLQs */
	uint32_t accounts;	/**< accounts holding signed LLQs */
};

struct llq_server;

/** A new, empty table with a copy of @p cfg; NULL on allocation failure. */
struct llq_server *llq_server_new(const struct llq_config *cfg);
void llq_server_free(struct llq_server *s);

/**
 * Handle one request that carries an LLQ option. Returns 0 with @p reply
 * filled, -EEXIST when rq->new_id is 0 or already in use (call again with
 * another), -ENOMEM.
 */
int llq_server_handle(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
		      struct llq_reply *reply) __attribute__((warn_unused_result));

/**
 * A record set changed: every live LLQ whose question the change answers
 * (same name, ignoring case; same class; same type or ANY) gets an event
 * carrying @p blob (borrowed; the machine takes its own references).
 * Returns the number of events queued, or -ENOMEM.
 */
int llq_server_notify(struct llq_server *s, const uint8_t *name, size_t name_len,
		      uint16_t rrtype, uint16_t rrclass, struct llq_blob *blob, uint64_t now_ms);

/** A stream connection closed: drop the LLQs set up over it. */
void llq_server_conn_closed(struct llq_server *s, uint64_t conn);

/** Run every timer due at @p now_ms: retransmissions, drops and lease expiry. */
void llq_server_tick(struct llq_server *s, uint64_t now_ms);

/** The earliest time at which llq_server_tick() has work, or UINT64_MAX. */
uint64_t llq_server_next_deadline(const struct llq_server *s);

/** Take the next queued message into @p out; false when there is none. */
bool llq_server_pop(struct llq_server *s, struct llq_out *out);

/** Copy the counters. */
void llq_server_stats(const struct llq_server *s, struct llq_stats *st);

/** Whether a live (established) LLQ with id @p id exists (for tests and glue). */
bool llq_server_has(const struct llq_server *s, uint64_t id);

/**
 * Check a wire-form name (labels of 1..63 bytes ending with the root, at
 * most 255 bytes, no compression). 0 or -EBADMSG.
 */
int llq_name_check(const uint8_t *name, size_t len) __attribute__((warn_unused_result));

#endif
