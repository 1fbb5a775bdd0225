/*
 * lib/stun: a TURN client (RFC 8656) as a pure state machine: no sockets,
 * no clock, no globals. The caller owns the transport to the TURN server
 * (a UDP socket, or a TCP or TLS connection) and the monotonic clock; it
 * feeds in what arrives from the server, each with the time in
 * milliseconds, and carries out what comes back in a struct turn_out:
 * messages to send to the server, events to act on, and the next deadline
 * at which turn_client_on_timeout() must be called.
 *
 * What it does:
 *  - Allocate (RFC 8656 §7.1) with REQUESTED-TRANSPORT UDP and LIFETIME;
 *    the first request goes without credentials, the 401 that answers it
 *    gives REALM and NONCE, and every later request carries USERNAME,
 *    REALM, NONCE and MESSAGE-INTEGRITY with the long-term key (RFC 8489
 *    §9.2, MD5 as coturn uses). 438 Stale Nonce is retried with the new
 *    nonce (at most TURN_STALE_RETRIES times per transaction); a second
 *    401 to an authenticated request means the credentials are refused.
 *    300 Try Alternate ends the attempt with the ALTERNATE-SERVER for the
 *    caller to try (RFC 8489 §10).
 *  - Refresh (RFC 8656 §8) at 2/3 of the granted lifetime; a Refresh that
 *    goes unanswered is tried again until the allocation expires, and a
 *    Refresh refused (437 and the rest), or an allocation that expires,
 *    makes the client allocate again and re-install every peer.
 *  - Per peer: CreatePermission (RFC 8656 §9), refreshed
 *    TURN_PERM_REFRESH_S after it was installed (permissions last 300 s),
 *    and optionally ChannelBind (RFC 8656 §12; channels from 0x4000),
 *    refreshed TURN_CHAN_REFRESH_S after (bindings last 600 s).
 *  - Data: to a peer as ChannelData once the channel is bound, as a Send
 *    indication before (turn_client_send()); from a peer as a Data
 *    indication or ChannelData, reported as TURN_EV_DATA.
 *  - Retransmission over UDP as RFC 8489 §6.2.1: RTO 500 ms doubled at
 *    each send, Rc = 7 sends, then Rm = 16 RTOs of waiting: sends at 0,
 *    0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s and failure at 39.5 s. Over TCP and
 *    TLS nothing is retransmitted (RFC 8489 §6.2.2) and a transaction
 *    fails after 39.5 s.
 *  - Deallocation: Refresh with LIFETIME 0 (RFC 8656 §8).
 *
 * Framing: over UDP each call of turn_client_on_input() is one datagram;
 * over a stream it is one frame, delimited with stun_stream_frame_len()
 * (lib/stun/frame.h). ChannelData sent over a stream is padded to 4 bytes
 * (RFC 8656 §12.5). STUN messages need no other framing.
 *
 * Responses are matched by transaction id and method, and a response to
 * an authenticated request must carry a MESSAGE-INTEGRITY that verifies
 * with the key, except the error responses RFC 8489 §9.2.5 lets through
 * without one (400, 401, 420, 438); anything else is ignored, as if it
 * never arrived (the transaction goes on).
 *
 * One struct turn_client per allocation; one thread uses it.
 */
#ifndef AT_STUN_TURN_CLIENT_H
#define AT_STUN_TURN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TURN_NEVER		UINT64_MAX
#define TURN_MAX_PEERS		8
#define TURN_MAX_MSG		1280	/* our largest request (credentials included) */
#define TURN_MAX_TX		(2 + 2 * TURN_MAX_PEERS)
#define TURN_MAX_OUT		(2 * TURN_MAX_TX)	/* a slot may send, be freed and start again in one call */
#define TURN_MAX_EVENTS		(4 + 3 * TURN_MAX_PEERS)

/* Timing (RFC 8489 §6.2.1, RFC 8656 §9, §12) */
#define TURN_DEFAULT_RTO_MS	500
#define TURN_DEFAULT_RC		7
#define TURN_DEFAULT_RM		16
#define TURN_STREAM_TIMEOUT_MS	39500	/* RFC 8489 §6.2.2: Ti */
#define TURN_DEFAULT_LIFETIME	600	/* s asked for (the RFC 8656 §7.2 default) */
#define TURN_PERM_LIFETIME_S	300	/* RFC 8656 §9 */
#define TURN_PERM_REFRESH_S	240	/* one minute of margin: more than a transaction's 39.5 s */
#define TURN_CHAN_LIFETIME_S	600	/* RFC 8656 §12 */
#define TURN_CHAN_REFRESH_S	540
#define TURN_STALE_RETRIES	3	/* 438 answers taken per transaction */

/* turn_event.code values besides STUN error codes (300..699) */
#define TURN_CODE_TIMEOUT	0	/* no answer within the transaction timeout */
#define TURN_CODE_BADRESP	1	/* a success without what it must carry */

struct turn_client_config {
	bool stream;		/* TCP or TLS: no retransmission, padded ChannelData */
	uint32_t lifetime;	/* s asked for in Allocate; 0: leave it to the server */
	uint32_t rto_ms;	/* first retransmission timeout (UDP) */
	unsigned rc;		/* sends per request (UDP) */
	unsigned rm;		/* RTOs waited after the last send (UDP) */
	uint32_t stream_timeout_ms;
};

enum turn_state {
	TURN_IDLE,		/* made, not started */
	TURN_ALLOCATING,	/* Allocate under way (first time or again) */
	TURN_ALLOCATED,		/* holding an allocation */
	TURN_CLOSING,		/* deallocating */
	TURN_CLOSED,		/* deallocated (or closed before allocating) */
	TURN_FAILED,		/* Allocate failed: event said why; turn_client_start() tries again */
};

enum turn_event_kind {
	TURN_EV_ALLOCATED,	/* addr = relayed, mapped = reflexive, lifetime */
	TURN_EV_REFRESHED,	/* lifetime */
	TURN_EV_REALLOCATING,	/* the allocation was lost (code why): allocating again */
	TURN_EV_FAILED,		/* Allocate failed with code (437: use another 5-tuple;
				 * 300: addr is the ALTERNATE-SERVER to try) */
	TURN_EV_PERMISSION,	/* peer's permission installed */
	TURN_EV_CHANNEL,	/* peer's channel bound (channel) */
	TURN_EV_PEER_FAILED,	/* peer's CreatePermission or ChannelBind failed (code); peer removed */
	TURN_EV_DATA,		/* a datagram from addr (peer: its index or -1), data borrowed */
	TURN_EV_CLOSED,		/* deallocated (code: 0, or why the Refresh failed) */
};

struct turn_event {
	enum turn_event_kind kind;
	int peer;			/* index, or -1 */
	unsigned code;			/* TURN_CODE_* or a STUN error code */
	struct sockaddr_storage addr;	/* relayed (ALLOCATED), peer (DATA, PERMISSION...), alternate (FAILED 300) */
	struct sockaddr_storage mapped;	/* ALLOCATED: XOR-MAPPED-ADDRESS, family 0 if absent */
	uint32_t lifetime;		/* ALLOCATED, REFRESHED: s granted */
	uint16_t channel;		/* CHANNEL, DATA through a channel (else 0) */
	const uint8_t *data;		/* DATA: borrowed from the buffer given to on_input */
	size_t len;
};

/** One message to send to the TURN server. */
struct turn_msg {
	size_t len;
	uint8_t buf[TURN_MAX_MSG];
};

/** What one call asks of the caller. Reset by every call that takes one. */
struct turn_out {
	unsigned n_msgs;
	struct turn_msg msgs[TURN_MAX_OUT];
	unsigned n_events;
	struct turn_event events[TURN_MAX_EVENTS];
	uint64_t deadline;	/* call turn_client_on_timeout() then; TURN_NEVER if nothing waits */
};

/**
 * Fills @p buf with @p len random bytes (transaction ids: RFC 8489 §6
 * wants them cryptographically random). @p arg is the caller's.
 */
typedef void turn_random_fn(void *arg, void *buf, size_t len);

struct turn_client;

/** @p cfg with the defaults above, for a datagram (@p stream false) or stream transport. */
void turn_client_config_default(struct turn_client_config *cfg, bool stream);

/**
 * A client for one allocation, with @p username and @p password (copied;
 * the password is wiped at turn_client_free()), and @p rnd for
 * transaction ids (kept with @p rnd_arg, both borrowed for the client's
 * life). @p cfg NULL: defaults for UDP. NULL on -ENOMEM or strings too
 * long (USERNAME: RFC 8489 §14.3).
 */
struct turn_client *turn_client_new(const struct turn_client_config *cfg, const char *username,
				    const char *password, turn_random_fn *rnd, void *rnd_arg);
void turn_client_free(struct turn_client *c);

/** Start (or, after TURN_FAILED, start again) allocating at @p now. */
void turn_client_start(struct turn_client *c, uint64_t now, struct turn_out *out);

/** The deadline has come (calling early or late is harmless). */
void turn_client_on_timeout(struct turn_client *c, uint64_t now, struct turn_out *out);

/**
 * Refresh the allocation now rather than at 2/3 of its lifetime: a probe
 * for a caller that wants to learn soon that the server lost it (a
 * restarted server answers 437, RFC 8656 §8, and the client allocates
 * again). Nothing when not allocated or a Refresh is under way.
 */
void turn_client_refresh_now(struct turn_client *c, uint64_t now, struct turn_out *out);

/**
 * One datagram (UDP) or one frame (stream) from the server, @p buf
 * borrowed: TURN_EV_DATA events point into it. Anything that is not an
 * expected response, a Data indication or ChannelData of a known channel
 * is ignored.
 */
void turn_client_on_input(struct turn_client *c, const void *buf, size_t len, uint64_t now,
			  struct turn_out *out);

/**
 * Add peer @p peer (an IPv4 or IPv6 sockaddr, borrowed; only its address
 * and port count) and, when @p channel, bind a channel to it. The
 * permission (and channel) are requested at once if allocated, else when
 * the allocation is made. Returns the peer's index, the existing index if
 * it was there (asking for a channel if it had none), -ENOSPC when
 * TURN_MAX_PEERS are in use, -EAFNOSUPPORT.
 */
int turn_client_peer_add(struct turn_client *c, const struct sockaddr *peer, bool channel,
			 uint64_t now, struct turn_out *out);

/** Stop refreshing peer @p idx's permission and channel (they lapse on the server). */
void turn_client_peer_del(struct turn_client *c, int idx);

/** The peer index for @p peer (address and port), or -1. */
int turn_client_peer_find(const struct turn_client *c, const struct sockaddr *peer);

/**
 * Frame @p len bytes of @p data (borrowed) for peer @p idx into @p buf:
 * ChannelData when its channel is bound (padded on a stream), a Send
 * indication when only its permission is installed. Returns the length
 * to send to the server, -ENOTCONN if the peer has no permission yet (or
 * the client holds no allocation), -ENOENT for no such peer, -ENOSPC,
 * -EMSGSIZE for data over 65535 bytes.
 */
int turn_client_send(struct turn_client *c, int idx, const void *data, size_t len, void *buf,
		     size_t cap) __attribute__((warn_unused_result));

/**
 * Deallocate (Refresh with LIFETIME 0). TURN_EV_CLOSED follows, at once
 * when nothing was allocated.
 */
void turn_client_close(struct turn_client *c, uint64_t now, struct turn_out *out);

enum turn_state turn_client_state(const struct turn_client *c);

/** The earliest deadline; TURN_NEVER if none. */
uint64_t turn_client_deadline(const struct turn_client *c);

/** The relayed address (valid in TURN_ALLOCATED). Returns 0 or -ENOTCONN. */
int turn_client_relayed(const struct turn_client *c, struct sockaddr_storage *ss);

/** "allocated", "data", ... */
const char *turn_event_str(enum turn_event_kind k);
const char *turn_state_str(enum turn_state s);

#endif
