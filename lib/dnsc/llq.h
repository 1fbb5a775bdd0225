/*
 * lib/dnsc/llq.h: the client side of DNS Long-Lived Queries (RFC 8764) over
 * a stream (TCP or TLS), as Apple's client runs it for Back to My Mac
 * (RFC 6281 §5.3): the setup request is answered at once with the LLQ id,
 * the granted lease and the current answers (no challenge round on a
 * stream, RFC 8764 §5.2.3 / §8); every LLQ is refreshed before its lease
 * ends; each event (a gratuitous response with added RRs, and removed RRs
 * with TTL 0xFFFFFFFF) is acknowledged; an LLQ no longer wanted is
 * cancelled with a refresh of lease 0. Every request is TSIG-signed with
 * the account key, as RFC 6281 §7.2 requires for private data.
 *
 * One struct dnsc_llq_client holds the set of LLQs carried by one
 * connection. It is a pure state machine: no I/O, no clock. The caller
 *
 *   - says which questions it wants watched (dnsc_llq_sync() or _add/_remove),
 *   - reports the connection going up and down,
 *   - drains the requests to send with dnsc_llq_next_request() (each one
 *     with the message id and TSIG exchange the caller keeps for it), and
 *     hands each answer (or the failure of the request) back with the
 *     request's token,
 *   - hands every unsolicited message to dnsc_llq_on_event() and sends the
 *     acknowledgement it builds,
 *   - asks for a refresh of every LLQ when its timer policy says so
 *     (lib/agent timers: 80% of the lease), and calls dnsc_llq_tick() at
 *     dnsc_llq_next_deadline() so that an LLQ whose lease ran out anyway,
 *     or a refused LLQ whose back-off ended, is set up again.
 *
 * Owned by one thread.
 */
#ifndef AT_DNSC_LLQ_H
#define AT_DNSC_LLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/edns.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"

/** LLQs one client holds: the account's host list and three per peer. */
#define DNSC_LLQ_MAX 512
/** Lease asked for (RFC 6281 §5.3: the server grants 15 min to 2 h). */
#define DNSC_LLQ_LEASE 7200
/** A deadline that never comes. */
#define DNSC_NEVER UINT64_MAX

/** A question to watch (class IN). */
struct dnsc_question {
	struct dns_name name;
	uint16_t type;
};

enum dnsc_llq_state {
	DNSC_LLQ_FREE = 0,	/**< slot unused */
	DNSC_LLQ_IDLE,		/**< wanted, to be set up when connected */
	DNSC_LLQ_SETUP,		/**< setup sent, answer awaited */
	DNSC_LLQ_UP,		/**< established: id and lease known */
	DNSC_LLQ_REFRESH,	/**< refresh sent, answer awaited */
	DNSC_LLQ_CANCEL,	/**< no longer wanted: a cancel is to be sent (or its answer awaited) */
	DNSC_LLQ_FAILED,	/**< refused by the server; set up again after a back-off */
};

struct dnsc_llq {
	enum dnsc_llq_state state;
	struct dnsc_question q;
	uint64_t id;		/**< LLQ-ID from the server (UP, REFRESH) */
	uint32_t lease_s;	/**< lease granted */
	uint64_t expires_ms;	/**< when the granted lease ends */
	uint64_t retry_ms;	/**< FAILED: when to try again */
	uint16_t seq;		/**< generation: tokens of older requests are ignored */
	bool inflight;		/**< a request is out */
	bool refresh;		/**< refresh wanted (UP) */
	bool cancel_sent;	/**< CANCEL: the cancel itself is the request out */
	uint32_t fails;		/**< refusals in a row */
	uint16_t llq_error;	/**< the last LLQ error code the server sent */
	unsigned rcode;		/**< the last rcode of a failed request */
};

struct dnsc_llq_cfg {
	uint32_t lease_s;		/**< lease asked for: DNSC_LLQ_LEASE */
	uint32_t retry_min_ms;		/**< first retry of a refused setup: 1000 */
	uint32_t retry_max_ms;		/**< back-off cap: 300000 */
};

/** Fill @p cfg with the defaults above. */
void dnsc_llq_cfg_default(struct dnsc_llq_cfg *cfg);

struct dnsc_llq_client {
	struct dnsc_llq_cfg cfg;
	struct dns_tsig_key key;
	bool has_key;
	bool connected;
	unsigned n;			/**< slots in use are below n */
	uint64_t events;		/**< events received */
	uint64_t last_event_ms;		/**< when the last one came (0: never) */
	struct dnsc_llq q[DNSC_LLQ_MAX];
};

/**
 * Initialise (about 150 KiB: allocate it). @p cfg is copied (NULL for the
 * defaults); @p key (copied) signs every request, NULL for unsigned LLQs.
 */
void dnsc_llq_init(struct dnsc_llq_client *c, const struct dnsc_llq_cfg *cfg,
		   const struct dns_tsig_key *key);
/** Wipe the key. */
void dnsc_llq_fini(struct dnsc_llq_client *c);

/** Index of the wanted LLQ for (@p name, @p type), or -ENOENT. */
int dnsc_llq_find(const struct dnsc_llq_client *c, const struct dns_name *name, uint16_t type);

/**
 * Want (@p name, @p type) watched. @return its index (the existing one if
 * already wanted), or -ENOSPC.
 */
int dnsc_llq_add(struct dnsc_llq_client *c, const struct dns_name *name, uint16_t type);

/** No longer want LLQ @p idx: an established one is cancelled (lease 0) when connected. */
void dnsc_llq_remove(struct dnsc_llq_client *c, unsigned idx);

/**
 * Make the wanted set exactly @p want (@p n questions): add what is
 * missing, remove the rest. @return the number of LLQs added plus removed,
 * or -ENOSPC (the set is then partly applied).
 */
int dnsc_llq_sync(struct dnsc_llq_client *c, const struct dnsc_question *want, size_t n);

/** The connection is up: every wanted LLQ is set up. */
void dnsc_llq_connected(struct dnsc_llq_client *c, uint64_t now);
/**
 * The connection is gone, and the LLQs with it (the server drops a
 * stream's LLQs when it closes): every wanted LLQ goes back to IDLE,
 * cancellations are forgotten, answers to requests sent before are ignored.
 */
void dnsc_llq_disconnected(struct dnsc_llq_client *c);

/** Refresh every established LLQ (the timer policy says 80% of the lease has run). */
void dnsc_llq_refresh_all(struct dnsc_llq_client *c);

/** Try every refused LLQ again now, without waiting for its back-off (the timer policy's retry). */
void dnsc_llq_retry_now(struct dnsc_llq_client *c);

/** True while a setup or refresh is out (its answer not yet in). */
bool dnsc_llq_busy(const struct dnsc_llq_client *c);

/**
 * The next request to send, if any: a setup (IDLE), a refresh (UP with a
 * refresh wanted) or a cancel (CANCEL), built with message id @p id and
 * signed with the exchange @p t, which this call initialises (keep it with
 * the request; dns_tsig_fini() it when done). *@p token identifies the
 * request for dnsc_llq_on_response() / dnsc_llq_on_failure().
 *
 * @return 1 with a message of *@p len bytes in @p buf, 0 when there is
 *         nothing to send (or not connected), -ENOSPC, -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_llq_next_request(struct dnsc_llq_client *c, uint64_t now, uint16_t id,
			  struct dns_tsig *t, uint64_t wall,
			  uint8_t *buf, size_t cap, size_t *len, uint32_t *token);

enum dnsc_llq_outcome {
	DNSC_LLQ_NOTHING = 0,	/**< nothing for the caller (a stale answer, a cancel done) */
	DNSC_LLQ_ESTABLISHED,	/**< set up: res->resp holds the current answers (a snapshot) */
	DNSC_LLQ_REFRESHED,	/**< lease renewed */
	DNSC_LLQ_REFUSED,	/**< the server said no: see llq_error, rcode, tsig_error */
	DNSC_LLQ_LOST,		/**< the server no longer knows it (NoSuchLLQ): it is set up again */
	DNSC_LLQ_EVENT,		/**< an event: res->resp holds the changes */
};

struct dnsc_llq_result {
	enum dnsc_llq_outcome kind;
	unsigned idx;		/**< the LLQ concerned */
	uint32_t lease_s;	/**< granted (ESTABLISHED, REFRESHED) */
	uint16_t llq_error;	/**< REFUSED: the LLQ error code (0 when the rcode or TSIG failed) */
	unsigned rcode;		/**< REFUSED: the rcode */
	uint16_t tsig_error;	/**< REFUSED: see struct dnsc_resp */
	bool server_rejected;
	struct dnsc_resp resp;	/**< ESTABLISHED, EVENT: the parsed message (borrows the buffer) */
};

/**
 * The answer to request @p token. @p t is the request's exchange.
 * @return 0 with @p res filled (kind NOTHING for a stale token), -EBADMSG
 *         for an answer that is malformed or does not match (the LLQ is
 *         then treated as refused, and res says so), -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_llq_on_response(struct dnsc_llq_client *c, uint32_t token, const uint8_t *buf, size_t len,
			 uint16_t id, struct dns_tsig *t, uint64_t now, uint64_t wall,
			 struct dnsc_llq_result *res);

/**
 * Request @p token got no answer (timeout) or could not be sent: the LLQ
 * is tried again after a back-off (a cancel is just forgotten).
 */
void dnsc_llq_on_failure(struct dnsc_llq_client *c, uint32_t token, uint64_t now);

/**
 * An unsolicited message from the server. When it is an authentic event
 * for one of our LLQs, fill @p res (kind EVENT) and build the
 * acknowledgement (RFC 8764 §6.2: a response with the event's id and the
 * LLQ option, opcode EVENT) into @p ack.
 *
 * @return 0 (event; send the ack), -ENOENT (not an LLQ event, or for an
 *         LLQ we do not hold: no ack), -EACCES (TSIG failed), -EBADMSG,
 *         -ENOSPC, -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_llq_on_event(struct dnsc_llq_client *c, const uint8_t *buf, size_t len,
		      uint64_t now, uint64_t wall, struct dnsc_llq_result *res,
		      uint8_t *ack, size_t ackcap, size_t *acklen);

/** Run the timers due at @p now: a lease that ran out (the LLQ is set up again), a back-off that ended. */
void dnsc_llq_tick(struct dnsc_llq_client *c, uint64_t now);

/** The earliest deadline of dnsc_llq_tick(), or DNSC_NEVER. */
uint64_t dnsc_llq_next_deadline(const struct dnsc_llq_client *c);

struct dnsc_llq_counts {
	unsigned wanted;	/**< LLQs wanted (not FREE, not CANCEL) */
	unsigned up;		/**< established (UP or REFRESH) */
	unsigned failed;
	uint32_t min_lease_s;	/**< smallest lease among the established, 0 if none */
};

void dnsc_llq_counts(const struct dnsc_llq_client *c, struct dnsc_llq_counts *out);

/** "idle", "setup", "up"... */
const char *dnsc_llq_state_name(enum dnsc_llq_state s);

#endif /* AT_DNSC_LLQ_H */
