/*
 * One RSIP client's TCP connection, as pure code: the byte stream is cut
 * into messages by their Overall Length (RFC 3103 over TCP), each message
 * is handed to lib/rsip's server and its answer to a write function. The
 * daemon (rsip_server.c) owns the socket; the fuzz target and the unit
 * tests feed the same function with bytes of their own.
 */
#ifndef AT_GWD_RSIP_SESSION_H
#define AT_GWD_RSIP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsip/server.h"

/*
 * The longest message a client may send. RFC 3103 allows 65535 bytes, but
 * the largest request of any use (255 listed ports, 64 listed SPIs) is
 * under 1 KiB; a longer one is answered BAD_MESSAGE and the connection
 * closed, so a client cannot make the daemon hold 64 KiB per connection.
 */
#define GWD_RSIP_FRAME_MAX 4096
#define GWD_RSIP_REPLY_MAX 4096	/* lib/rsip's answers need at most 2048 */

struct gwd_rsip_session {
	struct rsip_peer peer;	/* the client's TCP (address, port), host order */
	uint32_t local;		/* Na: the LAN address it connected to, host order */
	uint64_t last_rx;	/* ms: when bytes last came (set by _feed, and by the caller at accept) */
	size_t len;		/* bytes of an incomplete message in buf */
	uint8_t buf[GWD_RSIP_FRAME_MAX];
};

/* Writes one answer (@p msg borrowed). 0, or a negative errno to stop. */
typedef int (*gwd_rsip_write_fn)(void *arg, const uint8_t *msg, size_t len);

void gwd_rsip_session_init(struct gwd_rsip_session *ss, const struct rsip_peer *peer, uint32_t local);

/*
 * Feed @p len bytes (borrowed) that arrived on the connection at @p now
 * (ms). Each complete message goes to rsip_server_handle() with
 * ss->local announced as the tunnel endpoint, and its answer, if any, to
 * @p write. Returns how many messages were handled (>= 0), or, after the
 * server's ERROR_RESPONSE has been written: -EBADMSG when the stream
 * cannot be cut any more (an Overall Length below 4), -EMSGSIZE for a
 * message longer than GWD_RSIP_FRAME_MAX; or the error of @p write. On
 * any error the caller closes the connection (and calls _end).
 */
int gwd_rsip_session_feed(struct gwd_rsip_session *ss, struct rsip_server *s, const uint8_t *data,
			  size_t len, uint64_t now, gwd_rsip_write_fn write, void *arg)
	__attribute__((warn_unused_result));

/*
 * The idle policy of a connection: one whose peer holds no registration
 * with @p s and that has sent nothing for @p idle_ms is closed at the time
 * returned. A registered client's connection stays (UINT64_MAX): its
 * bindings follow their leases, and lib/rsip ends an idle registration,
 * after which this deadline applies again.
 */
uint64_t gwd_rsip_session_idle_deadline(const struct gwd_rsip_session *ss, const struct rsip_server *s,
					uint64_t idle_ms);

/*
 * May one more connection come from a LAN address that holds @p open
 * connections already, under a limit of @p per_addr? One host must not take
 * every connection slot of the server.
 */
bool gwd_rsip_admit(unsigned int open, unsigned int per_addr);

/* The connection is gone: the client is de-registered and its bindings freed. */
void gwd_rsip_session_end(struct gwd_rsip_session *ss, struct rsip_server *s);

#endif
