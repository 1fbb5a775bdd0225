#include <errno.h>
#include <string.h>

#include "autotunnel-gwd/rsip_session.h"
#include "rsip/msg.h"

void gwd_rsip_session_init(struct gwd_rsip_session *ss, const struct rsip_peer *peer, uint32_t local)
{
	ss->peer = *peer;
	ss->local = local;
	ss->len = 0;
	ss->last_rx = 0;
}

uint64_t gwd_rsip_session_idle_deadline(const struct gwd_rsip_session *ss, const struct rsip_server *s,
					uint64_t idle_ms)
{
	for (unsigned int i = 0; i < s->cfg.max_clients; i++) {
		const struct rsip_client_rec *c = &s->clients[i];

		if (c->used && c->peer.addr == ss->peer.addr && c->peer.port == ss->peer.port)
			return UINT64_MAX;
	}
	return ss->last_rx + idle_ms;
}

bool gwd_rsip_admit(unsigned int open, unsigned int per_addr)
{
	return open < per_addr;
}

/* Hand @p len bytes at @p msg to the server and its answer to @p write. */
static int handle(struct gwd_rsip_session *ss, struct rsip_server *s, const uint8_t *msg, size_t len,
		  uint64_t now, gwd_rsip_write_fn write, void *arg)
{
	uint8_t reply[GWD_RSIP_REPLY_MAX];
	size_t n = 0;
	int rc;

	/* Na is the address this client talks to: announce it as the tunnel endpoint */
	if (ss->local)
		s->cfg.tunnel_endpoint = ss->local;
	rc = rsip_server_handle(s, &ss->peer, msg, len, now, reply, sizeof(reply), &n);
	if (rc)
		return rc;
	return n ? write(arg, reply, n) : 0;
}

/*
 * The stream cannot be cut at @p hdr any more: let the server answer the
 * header alone (its length disagrees with the bytes given, which it answers
 * BAD_MESSAGE, echoing nothing it cannot read), then give up with @p err.
 */
static int unframeable(struct gwd_rsip_session *ss, struct rsip_server *s, const uint8_t *hdr,
		       uint64_t now, gwd_rsip_write_fn write, void *arg, int err)
{
	int rc = handle(ss, s, hdr, RSIP_HDR_LEN, now, write, arg);

	ss->len = 0;
	return rc < 0 ? rc : err;
}

int gwd_rsip_session_feed(struct gwd_rsip_session *ss, struct rsip_server *s, const uint8_t *data,
			  size_t len, uint64_t now, gwd_rsip_write_fn write, void *arg)
{
	int handled = 0;

	if (len > 0)
		ss->last_rx = now;
	while (len > 0) {
		size_t take = sizeof(ss->buf) - ss->len;
		size_t off = 0;

		if (take > len)
			take = len;
		memcpy(ss->buf + ss->len, data, take);
		ss->len += take;
		data += take;
		len -= take;

		/* every complete message in the buffer, in order */
		for (;;) {
			int fl = rsip_msg_frame_len(ss->buf + off, ss->len - off);
			int rc;

			if (fl == 0)
				break;	/* not even a header yet */
			if (fl < 0)
				return unframeable(ss, s, ss->buf + off, now, write, arg, -EBADMSG);
			if ((size_t)fl > sizeof(ss->buf))
				return unframeable(ss, s, ss->buf + off, now, write, arg, -EMSGSIZE);
			if ((size_t)fl > ss->len - off)
				break;	/* the rest has not come yet */
			rc = handle(ss, s, ss->buf + off, (size_t)fl, now, write, arg);
			if (rc < 0) {
				ss->len = 0;
				return rc;
			}
			handled++;
			off += (size_t)fl;
		}
		memmove(ss->buf, ss->buf + off, ss->len - off);
		ss->len -= off;
	}
	return handled;
}

void gwd_rsip_session_end(struct gwd_rsip_session *ss, struct rsip_server *s)
{
	/* the client's bindings go with its connection (docs/rsip.md §4) */
	rsip_server_drop_peer(s, &ss->peer);
	ss->len = 0;
}
