/*
 * lib/dnsc/push.h: the agent's DNS Push client (RFC 8765 over DSO, RFC 8490),
 * the successor of the LLQ client (llq.h) over the same TLS connection and
 * feeding the same account view (view.h).
 *
 * A session: a Keepalive request establishes it (RFC 8490 §5.1, §7.1), the
 * caller authenticates it with a TSIG-signed query on the same connection
 * (docs/dnsd.md "DNS Push": a DSO message cannot carry a TSIG), then one
 * SUBSCRIBE per watched question (RFC 8765 §6.2); the server answers each
 * and sends the records already there, then every change, as PUSH messages
 * (§6.3): additions, removals of one RR (TTL 0xFFFFFFFF) and collective
 * removals (TTL 0xFFFFFFFE), all applied to the view. A question no longer
 * watched is UNSUBSCRIBEd (§6.4). Something is sent at least once per
 * keepalive interval (RFC 8490 §6.5.1): a Keepalive request.
 *
 * The client gives up on the session, and the caller falls back to LLQ,
 * when a SUBSCRIBE or the Keepalive is refused or unanswered, or when the
 * server sends a Retry Delay (RFC 8490 §7.2): Push is held off until the
 * delay ends (RFC 8765 §6.2.2: a refused SUBSCRIBE's delay, or the
 * configured one), then tried again on the connection.
 *
 * A pure state machine: no I/O, no clock. The caller reports the connection
 * going up and down and the signed query answered, drains the messages to
 * send with dnsc_push_next_message(), hands the answer to each request and
 * every other DSO message back, and calls dnsc_push_tick() at
 * dnsc_push_next_deadline(). Owned by one thread.
 */
#ifndef AT_DNSC_PUSH_H
#define AT_DNSC_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsc/llq.h"
#include "dnsc/view.h"

/** Subscriptions one client holds: as many as the LLQs it replaces. */
#define DNSC_PUSH_MAX DNSC_LLQ_MAX

enum dnsc_push_session {
	DNSC_PUSH_DOWN = 0,	/**< not connected */
	DNSC_PUSH_START,	/**< connected: the Keepalive request is to be sent */
	DNSC_PUSH_WAIT,		/**< Keepalive sent, its answer awaited */
	DNSC_PUSH_UP,		/**< session established (RFC 8490 §5.1) */
	DNSC_PUSH_HELD,		/**< given up until retry_ms: the caller uses LLQ */
};

enum dnsc_push_sub_state {
	DNSC_PUSH_SUB_FREE = 0,
	DNSC_PUSH_SUB_IDLE,	/**< wanted, SUBSCRIBE to be sent */
	DNSC_PUSH_SUB_SENT,	/**< SUBSCRIBE sent, answer awaited */
	DNSC_PUSH_SUB_UP,	/**< acknowledged: PUSH messages follow */
	DNSC_PUSH_SUB_UNSUB,	/**< no longer wanted: UNSUBSCRIBE to be sent */
	DNSC_PUSH_SUB_RESET,	/**< wanted, Push given up: UNSUBSCRIBE to be sent, then IDLE */
};

struct dnsc_push_sub {
	enum dnsc_push_sub_state state;
	struct dnsc_question q;
	uint16_t id;		/**< the SUBSCRIBE's message id (SENT, UP, UNSUB, RESET) */
};

struct dnsc_push_cfg {
	uint32_t inactivity_ms;		/**< asked for in the Keepalive: 15000 */
	uint32_t keepalive_ms;		/**< asked for: 3600000 (RFC 8490 §6.5.2: 10 s at least) */
	uint32_t retry_ms;		/**< hold-off without a server's delay: 300000 (RFC 8765 §6.2.2) */
	uint32_t retry_min_ms;		/**< shortest hold-off, whatever the server says: 1000 */
};

/** Fill @p cfg with the defaults above. */
void dnsc_push_cfg_default(struct dnsc_push_cfg *cfg);

struct dnsc_push_client {
	struct dnsc_push_cfg cfg;
	enum dnsc_push_session state;
	bool connected;
	bool authenticated;		/**< the signed query on this connection was answered */
	uint16_t ka_id;			/**< the Keepalive request out (0: none) */
	uint32_t keepalive_ms;		/**< granted (RFC 8490 §7.1: the server's values rule) */
	uint32_t inactivity_ms;
	uint64_t last_sent_ms;		/**< when the last message went out (the keepalive clock) */
	uint64_t retry_ms;		/**< HELD: when Push may be tried again */
	uint8_t held_rcode;		/**< HELD: the refusal's RCODE (0 for a timeout or NOERROR) */
	uint64_t pushes;		/**< PUSH messages applied */
	unsigned n;			/**< slots in use are below n */
	struct dnsc_push_sub s[DNSC_PUSH_MAX];
};

/** Initialise (about 140 KiB: allocate it); @p cfg copied, NULL for the defaults. */
void dnsc_push_init(struct dnsc_push_client *c, const struct dnsc_push_cfg *cfg);

/**
 * Make the set of subscriptions wanted exactly @p want (@p n questions):
 * new ones are subscribed, the others unsubscribed (RFC 8765 §6.4).
 * @return the number added plus removed, or -ENOSPC (partly applied).
 */
int dnsc_push_sync(struct dnsc_push_client *c, const struct dnsc_question *want, size_t n);

/** The connection is up: a session is started unless Push is held off. */
void dnsc_push_connected(struct dnsc_push_client *c, uint64_t now);
/** A TSIG-signed query on this connection was answered: the server knows the account. */
void dnsc_push_authenticated(struct dnsc_push_client *c);
/**
 * The connection is gone, and the session with it (RFC 8490 §5.1): every
 * subscription is to be made again on the next one. A hold-off stays.
 */
void dnsc_push_disconnected(struct dnsc_push_client *c);

/** Stop using Push until @p now + @p delay_ms (e.g. the server did not offer it). */
void dnsc_push_hold(struct dnsc_push_client *c, uint64_t now, uint32_t delay_ms);

/**
 * The next message to send, if any: the Keepalive request that starts the
 * session or keeps it alive, SUBSCRIBEs (once authenticated), UNSUBSCRIBEs.
 * A request uses message id @p id (not 0): when *@p request is true the
 * caller expects an answer and hands it to dnsc_push_on_response() with
 * that id; an UNSUBSCRIBE has no answer.
 * @return 1 with a message of *@p len bytes in @p buf, 0 when there is
 *         nothing to send, -ENOSPC, -EINVAL (@p id 0).
 */
__attribute__((warn_unused_result))
int dnsc_push_next_message(struct dnsc_push_client *c, uint64_t now, uint16_t id, uint8_t *buf, size_t cap,
			   size_t *len, bool *request);

enum dnsc_push_outcome {
	DNSC_PUSH_NOTHING = 0,	/**< nothing for the caller */
	DNSC_PUSH_SESSION,	/**< the session is established */
	DNSC_PUSH_SUBSCRIBED,	/**< a subscription was acknowledged */
	DNSC_PUSH_CHANGED,	/**< a PUSH was applied to the view */
	DNSC_PUSH_FALLBACK,	/**< Push given up (refusal, timeout, Retry Delay): use LLQ until retry_ms */
	DNSC_PUSH_ABORT,	/**< the server broke the protocol: close the connection (RFC 8490 §5.3) */
};

/**
 * The answer to request @p id (from dnsc_push_next_message()), or its
 * failure when @p buf is NULL (timeout, lost connection).
 * @return the outcome; an answer to no request of ours is NOTHING.
 */
enum dnsc_push_outcome dnsc_push_on_response(struct dnsc_push_client *c, uint16_t id, const uint8_t *buf,
					     size_t len, uint64_t now);

/**
 * A DSO message that answers no request: a PUSH (applied to @p v), a Retry
 * Delay, a unidirectional Keepalive (new timeouts, RFC 8490 §7.1.2).
 * Messages that are not DSO are NOTHING.
 */
enum dnsc_push_outcome dnsc_push_on_message(struct dnsc_push_client *c, const uint8_t *buf, size_t len,
					    uint64_t now, struct dnsc_view *v);

/** Run the timers due at @p now: the keepalive, the end of a hold-off. */
void dnsc_push_tick(struct dnsc_push_client *c, uint64_t now);

/** The earliest deadline of dnsc_push_tick() or a message to send, or DNSC_NEVER. */
uint64_t dnsc_push_next_deadline(const struct dnsc_push_client *c);

/** True when Push is in use or being set up (not DOWN for good, not HELD). */
bool dnsc_push_active(const struct dnsc_push_client *c);

struct dnsc_push_counts {
	unsigned wanted;	/**< subscriptions wanted */
	unsigned up;		/**< acknowledged */
};

void dnsc_push_counts(const struct dnsc_push_client *c, struct dnsc_push_counts *out);

/** True when the session is up and every wanted subscription acknowledged. */
bool dnsc_push_ready(const struct dnsc_push_client *c);

#endif /* AT_DNSC_PUSH_H */
