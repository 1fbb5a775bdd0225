/*
 * src/autotunneld/dnsconn: one DNS-over-TLS connection (RFC 7858) from the
 * agent to the rendezvous server, carrying UPDATEs, queries and LLQs.
 *
 * - TLS through libevent's bufferevent_openssl; the server is trusted by a
 *   CA file (chain and host name or address checked) or by a SHA-256 pin
 *   (of the certificate or of its public key); never by nothing.
 * - DNS over TCP framing (RFC 1035 §4.2.2: a two-byte length).
 * - Requests are matched to answers by message id; the caller gets its
 *   answer, a timeout, or the loss of the connection, exactly once.
 *   Messages that answer no request (LLQ events) go to ops->unsolicited.
 * - Requests made while the connection is down wait for it; a lost
 *   connection is made again after a back-off that lib/agent timers decide
 *   (agent_reconnect: 1 s doubling to 60 s) while there is something to send
 *   or the owner asked to stay connected (LLQs need it).
 *
 * One event loop thread owns it. Strings and buffers passed in are borrowed
 * for the call.
 */
#ifndef AT_AUTOTUNNELD_DNSCONN_H
#define AT_AUTOTUNNELD_DNSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct dnsconn;

struct dnsconn_cfg {
	const char *host;		/**< server name or address; NULL with a parent */
	/**
	 * The parent zone's server (HOST[:PORT] numeric, plain DNS, port 53)
	 * and the account domain: instead of @p host, the server is found
	 * through the delegation at every connection (docs/agent-dns.md
	 * "Delegation"): the parent's NS and glue for @p domain, then the
	 * primary's _dns-update-tls._tcp SRV for its port (853 without one).
	 * A referral or an unsigned NOTAUTH answer (the account moved) closes
	 * the connection, and the next one asks the parent again.
	 */
	const char *parent;
	const char *domain;
	uint16_t port;			/**< 853 by default */
	const char *ca_file;		/**< CA certificates (PEM); NULL with a pin */
	const char *pin;		/**< dnsc_pin_parse() form; NULL with a CA file */
	uint32_t timeout_ms;		/**< per request (0: 10000) */
	uint32_t connect_timeout_ms;	/**< TCP + TLS handshake (0: 10000) */
};

struct dnsconn_ops {
	/** TLS is up and the server verified. */
	void (*up)(void *arg);
	/** The connection failed or closed; @p why is for a person ("certificate does not match the pin"). */
	void (*down)(void *arg, int err, const char *why);
	/** A message that answers no pending request (an LLQ event), @p len bytes, borrowed. */
	void (*unsolicited)(void *arg, const uint8_t *msg, size_t len);
};

/**
 * The answer to a request: @p err 0 with the message (borrowed for the
 * call), or -ETIMEDOUT, -ECONNRESET (the connection was lost before the
 * answer came), -ECONNREFUSED/-EHOSTUNREACH/-EPROTO... (it could not be
 * made: dnsconn_last_error() says why), -ECANCELED (dnsconn_free()).
 */
typedef void (*dnsconn_answer_fn)(void *arg, int err, const uint8_t *msg, size_t len);

/**
 * A connection to the server of @p cfg (copied); nothing happens until a
 * request or dnsconn_keep(). @return NULL with *@p why set on a bad
 * configuration (unreadable CA file, malformed pin).
 */
struct dnsconn *dnsconn_new(struct event_base *base, const struct dnsconn_cfg *cfg,
			    const struct dnsconn_ops *ops, void *arg, char *why, size_t whylen);
/** Close and free; every pending request is answered -ECANCELED first. NULL is fine. */
void dnsconn_free(struct dnsconn *c);

/** Stay connected (reconnecting with back-off) while @p keep; otherwise connect on demand. */
void dnsconn_keep(struct dnsconn *c, bool keep);
/** Forget the back-off and connect now if down. */
void dnsconn_kick(struct dnsconn *c);

/**
 * The network changed: if the connection is up but its local address is no
 * longer on any interface, it is dead (the server's answers would go to an
 * address we left): close it (ops->down) and connect again at once.
 * @return true when it was closed.
 */
bool dnsconn_check_local(struct dnsconn *c);

/** A random message id that no pending request uses. */
uint16_t dnsconn_new_id(struct dnsconn *c);

/**
 * Send @p msg (its id in the first two bytes) and call @p cb once with the
 * answer or the failure. @return 0, -EINVAL (too long, id in use), -ENOMEM.
 */
int dnsconn_request(struct dnsconn *c, const uint8_t *msg, size_t len, dnsconn_answer_fn cb, void *arg)
	__attribute__((warn_unused_result));

/** Send @p msg expecting no answer (an LLQ event acknowledgement); dropped when not connected. */
int dnsconn_send(struct dnsconn *c, const uint8_t *msg, size_t len);

/** Answer every pending request whose callback argument is @p arg with -ECANCELED, now. */
void dnsconn_cancel(struct dnsconn *c, void *arg);

bool dnsconn_is_up(const struct dnsconn *c);
/** Why the last attempt failed or the connection closed ("" if it never did). */
const char *dnsconn_last_error(const struct dnsconn *c);
/** "HOST:PORT" of the server. */
const char *dnsconn_peer(const struct dnsconn *c);

#endif
