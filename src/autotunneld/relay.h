/*
 * src/autotunneld/relay: this host's TURN allocation (issue 12,
 * docs/relay.md), made from the tunnel socket itself. A leaf of the agent
 * (agent.c): it finds the account's relay through the signed SRV record
 * _turn._udp.D (RFC 5928), fetches a time-limited credential with the
 * signed query TXT _turn-credential.D, allocates with lib/stun's TURN
 * client over UDP from port 4500 (so that ChannelData shares the socket
 * with ESP and IKE, RFC 7983 §7) or, when that gets no answer within
 * 2 s (UDP blocked), over TLS (_turns._tcp.D) and then TCP (_turn._tcp.D),
 * on a connection it hands to the data plane (dp_relay_set_stream()); keeps the allocation (Refresh), its
 * permissions and channels (ChannelBind) and the NAT binding to the server
 * (a Binding request every ATD_RELAY_KEEPALIVE_MS, which also measures the
 * round trip) alive, allocates again when the server lost it (coturn
 * restarted: 437, or no answer) and fetches a new credential at 2/3 of its
 * lifetime or when the server refuses the one it has (401).
 *
 * The API other parts use (punch.c's path selection, agent.c today):
 *  - atd_relay_candidate(): the relayed transport address, the lowest-
 *    priority candidate (docs/paths.md §1: kind "relay");
 *  - atd_relay_bind_peer(): reach a peer's transport address through the
 *    allocation: a permission and a channel, then the data plane sends
 *    everything for that address as ChannelData (dp_relay_channel_set());
 *    NULL unbinds.
 * Everything it needs comes in struct atd_relay_ops at atd_relay_new(); it
 * never calls the agent otherwise.
 *
 * Threads: the daemon's event-loop thread only. Pointers passed in are
 * borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_RELAY_H
#define AT_AUTOTUNNELD_RELAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "autotunneld/dnsquery.h"

struct dns_name;
struct atd_relay;
struct ssl_st;

#define ATD_RELAY_KEEPALIVE_MS	15000	/* below the 30 s UDP timeout of NATs (RFC 4787 REQ-5 asks 2 min) */
#define ATD_RELAY_PROBE_EVERY	2	/* a Refresh every 2nd keepalive: a lost allocation is found in 30 s */
#define ATD_RELAY_RETRY_MIN_MS	1000	/* a failed lookup or allocation: again after 1 s, doubling */
#define ATD_RELAY_RETRY_MAX_MS	60000

/** What the engine gives the leaf. */
struct atd_relay_ops {
	/** A query signed with the account's key (see atd_dns_query()). */
	int (*query)(void *arg, const struct dns_name *q, uint16_t type, dnsquery_fn done, void *qarg);
	/** Forget the queries of @p qarg. */
	void (*query_cancel)(void *arg, void *qarg);
	/** Send a STUN message to @p to from the tunnel's UDP socket. 0 or -errno. */
	int (*send)(void *arg, const struct sockaddr_in *to, const uint8_t *msg, size_t len);
	/** The data plane's TURN server (NULL: none, every channel dropped). 0 or -errno. */
	int (*set_server)(void *arg, const struct sockaddr_in *server);
	/**
	 * The data plane takes the connection @p fd (and its TLS session @p ssl,
	 * or NULL) to the TURN server @p server: ChannelData and STUN go through it. 0 or -errno.
	 */
	int (*set_stream)(void *arg, const struct sockaddr_in *server, int fd, struct ssl_st *ssl);
	/** Send a STUN message on that connection. 0 or -errno. */
	int (*send_stream)(void *arg, const uint8_t *msg, size_t len);
	/** Route @p peer through channel @p channel (0: directly again). 0 or -errno. */
	int (*set_channel)(void *arg, const struct sockaddr_in *peer, uint16_t channel);
	/** The relayed address came, changed or went (see atd_relay_candidate()). */
	void (*changed)(void *arg);
};

enum atd_relay_state {
	ATD_RELAY_IDLE,		/* not wanted, signed out, or offline */
	ATD_RELAY_LOOKUP,	/* asking for _turn._udp.D (or resolving its target) */
	ATD_RELAY_NO_SERVER,	/* the account's server names no TURN server */
	ATD_RELAY_CREDENTIAL,	/* asking for _turn-credential.D */
	ATD_RELAY_ALLOCATING,	/* Allocate under way (first time or again) */
	ATD_RELAY_ALLOCATED,	/* holding an allocation */
	ATD_RELAY_FAILED,	/* why says why; tried again after a back-off */
};

/** What `autotunnel status` shows (a copy). */
struct atd_relay_view {
	enum atd_relay_state state;
	char server[300];		/* "HOST:PORT" as the SRV named it; "" before */
	const char *transport;		/* "udp", "tls" or "tcp" (static string) */
	struct sockaddr_in relayed;	/* ALLOCATED: the relayed address */
	bool has_rtt;
	uint32_t rtt_us;		/* the last keepalive's round trip to the server */
	unsigned channels;		/* peers reached through the relay now */
	char why[200];			/* FAILED, NO_SERVER: why */
};

/** A new leaf; @p ops and @p arg are kept. NULL on allocation failure. */
struct atd_relay *atd_relay_new(struct event_base *base, const struct atd_relay_ops *ops, void *arg);
/** Deallocate (one Refresh with lifetime 0, not waited for) and free. NULL is fine. */
void atd_relay_free(struct atd_relay *r);

/**
 * Signed in to @p domain (D) and the relay is wanted, or the network
 * changed (the 5-tuple of an allocation held went with the old address):
 * allocate (again). Peers bound stay bound and follow.
 */
void atd_relay_start(struct atd_relay *r, const char *domain);
/** The data plane's TCP/TLS connection to the relay ended (DP_EV_RELAY_LOST): connect and allocate again. */
void atd_relay_stream_lost(struct atd_relay *r);
/** Not wanted any more, signed out (@p forget: the server and credential too), or offline. */
void atd_relay_stop(struct atd_relay *r, bool forget);

/**
 * A STUN message arrived on the tunnel socket from @p from: true when it
 * was the relay's (an answer of our TURN server to anything but the
 * reflex check's Binding requests), false to hand it on.
 */
bool atd_relay_input(struct atd_relay *r, const uint8_t *buf, size_t len, const struct sockaddr_in *from);

/** The relayed transport address (RFC 8656 §2): 0, or -ENOTCONN while none is allocated. */
int atd_relay_candidate(const struct atd_relay *r, struct sockaddr_in *out);

/**
 * Reach peer @p name at @p addr through the relay (permission and
 * channel; the data plane follows once the channel is bound), replacing
 * the address it was bound at; @p addr NULL unbinds it. Kept across
 * allocations. 0, -ENOSPC (TURN_MAX_PEERS peers), -EINVAL.
 */
int atd_relay_bind_peer(struct atd_relay *r, const char *name, const struct sockaddr_in *addr);

/** What is known now. */
void atd_relay_get(const struct atd_relay *r, struct atd_relay_view *v);

const char *atd_relay_state_str(enum atd_relay_state s);

#endif
