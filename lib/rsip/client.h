/*
 * lib/rsip/client.h: the RSIP client's side (RFC 3103 with RFC 3104), pure:
 * it builds the client's requests and reads the server's answers into
 * bindings (public address Nb, SPIs, ports, lease), and says when each
 * binding must be extended. The agent owns the TCP connection to port 4555
 * and the clock; it sends what the build functions write and feeds every
 * message it receives to rsip_client_on_message().
 *
 * One request is outstanding at a time (RSIP over TCP is answered in
 * order); a build function refuses with -EBUSY while one is pending.
 */
#ifndef AT_RSIP_CLIENT_H
#define AT_RSIP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsip/msg.h"

#define RSIP_CLIENT_MAX_BINDS 8
#define RSIP_CLIENT_MAX_PORTS 32
#define RSIP_CLIENT_MAX_SPIS 8

enum rsip_client_state {
	RSIP_CLIENT_IDLE = 0,		/**< not registered */
	RSIP_CLIENT_REGISTERING,
	RSIP_CLIENT_REGISTERED,
};

/** A binding the server granted. */
struct rsip_client_binding {
	bool used;
	uint8_t kind;			/**< the request type that made it (RSIP_ASSIGN_REQUEST_*) */
	uint32_t bind_id;
	uint32_t local_addr;		/**< Nb, host order */
	uint32_t remote_addr;		/**< as granted; 0 = any */
	uint32_t tunnel_endpoint;	/**< Na, 0 if the server did not say */
	uint8_t n_ports;		/**< 0: none ("don't need") */
	uint16_t ports[RSIP_CLIENT_MAX_PORTS];
	uint8_t n_spis;
	uint32_t spis[RSIP_CLIENT_MAX_SPIS];
	uint32_t lease;			/**< seconds, as last granted */
	uint64_t expires;		/**< ms */
	uint64_t refresh_at;		/**< ms: send EXTEND then (half the lease) */
};

/** What an RSIPSEC request asks for (RFC 3104 §6.2). */
struct rsip_ipsec_request {
	uint32_t local;		/**< a specific Nb, or 0 for any */
	uint32_t remote;	/**< the peer Y, or 0 for any */
	uint16_t n_spis;	/**< >= 1 */
	uint32_t spi;		/**< 0: let the server choose; else suggest n_spis SPIs from this one */
	uint8_t n_ports;	/**< 0: "don't need"; else that many ports, e.g. 1 for an ephemeral IKE port */
	uint32_t lease;		/**< seconds; 0 for the server's default */
};

enum rsip_client_event_kind {
	RSIP_EV_NONE = 0,
	RSIP_EV_REGISTERED,
	RSIP_EV_ASSIGNED,	/**< ev.bind is the new binding */
	RSIP_EV_EXTENDED,	/**< ev.bind */
	RSIP_EV_FREED,		/**< ev.bind_id is gone */
	RSIP_EV_DEREGISTERED,	/**< asked for, or sent unsolicited by the server */
	RSIP_EV_ERROR,		/**< the server answered ev.request with ev.error */
	RSIP_EV_QUERY,		/**< ev.msg holds the QUERY_RESPONSE */
};

struct rsip_client_event {
	uint8_t kind;				/**< enum rsip_client_event_kind */
	uint8_t request;			/**< the request type answered */
	uint16_t error;				/**< RSIP error value, for RSIP_EV_ERROR */
	uint32_t bind_id;
	const struct rsip_client_binding *bind;	/**< borrowed from the client; NULL if none */
	const struct rsip_msg *msg;		/**< borrowed: the decoded answer */
};

struct rsip_client {
	uint8_t state;			/**< enum rsip_client_state */
	uint32_t client_id;
	uint32_t reg_lease;		/**< seconds, from REGISTER_RESPONSE */
	bool rsipsec;			/**< the server offers RSIP Method 3 */
	bool rsap_ip, rsa_ip;
	uint32_t counter;		/**< the next Message Counter */
	uint8_t pending;		/**< the request awaiting its answer, 0 if none */
	uint32_t pending_counter;
	uint32_t pending_bind;		/**< for EXTEND and FREE */
	bool pending_dont_need;		/**< RSIPSEC asked "don't need" ports */
	struct rsip_client_binding binds[RSIP_CLIENT_MAX_BINDS];
	struct rsip_msg msg;		/**< scratch: requests built and answers decoded */
};

/** Start unregistered; Message Counters begin at @p first_counter (the agent passes a random one). */
void rsip_client_init(struct rsip_client *c, uint32_t first_counter);

/*
 * Request builders: each writes one message into @p buf (@p cap bytes),
 * sets *@p len and marks it pending. They return 0, -EBUSY (an answer is
 * still awaited), -ENOTCONN (not registered, or already for register),
 * -ENOENT (no such binding), -EINVAL or -ENOSPC.
 */
int rsip_client_register(struct rsip_client *c, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));
int rsip_client_deregister(struct rsip_client *c, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));
int rsip_client_assign_rsipsec(struct rsip_client *c, const struct rsip_ipsec_request *r,
			       uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));
/** RSAP-IP: @p n_ports ports (don't care) on @p local (0: any), for @p lease s (0: default). */
int rsip_client_assign_rsap(struct rsip_client *c, uint32_t local, uint8_t n_ports, uint32_t lease,
			    uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));
int rsip_client_extend(struct rsip_client *c, uint32_t bind_id, uint32_t lease,
		       uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));
int rsip_client_free(struct rsip_client *c, uint32_t bind_id, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));
/** QUERY: is @p addr in the client's realm? (the answer comes as RSIP_EV_QUERY) */
int rsip_client_query(struct rsip_client *c, uint32_t addr, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/**
 * Feed one message from the server (@p buf borrowed, @p len bytes) at
 * @p now (ms). Fills *@p ev. Returns 0; -EBADMSG if it does not parse;
 * -EPROTO if it answers nothing we asked (wrong type, counter, Client ID or
 * Bind ID, or an assignment that breaks RFC 3104 §6.2).
 */
int rsip_client_on_message(struct rsip_client *c, const uint8_t *buf, size_t len, uint64_t now,
			   struct rsip_client_event *ev) __attribute__((warn_unused_result));

/**
 * The earliest time (ms) a binding wants an EXTEND, or UINT64_MAX; while a
 * request awaits its answer, the earliest time a binding lapses instead.
 */
uint64_t rsip_client_next_deadline(const struct rsip_client *c);

/**
 * At @p now, forget bindings that lapsed, and if one is due for renewal and
 * nothing is pending, build its EXTEND into @p buf. Returns 1 if a message
 * was built, 0 if none is due, or a negative errno.
 */
int rsip_client_poll(struct rsip_client *c, uint64_t now, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** The binding with @p bind_id, or NULL (borrowed). */
const struct rsip_client_binding *rsip_client_binding(const struct rsip_client *c, uint32_t bind_id);

#endif /* AT_RSIP_CLIENT_H */
