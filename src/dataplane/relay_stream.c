/*
 * src/dataplane/relay_stream.c: TURN over TCP or TLS (RFC 8656 §3.1,
 * §12.5) as a path of the data plane. The agent (relay.c) connects (and
 * makes the TLS handshake) and hands the connection over with
 * dp_relay_set_stream(); from then on the data plane owns it: worker 0
 * reads it, and ChannelData frames in it are handled as ESP-in-UDP from
 * the channel's peer, STUN messages are handed up (DP_EV_STUN, from the
 * server's address); ESP to a peer on a channel is written to it, padded
 * to 4 bytes, by whichever worker seals it; the agent's own TURN requests
 * go through dp_relay_stream_send().
 *
 * Why the data plane owns the stream and its SSL: ESP is sealed on the
 * workers, and one byte stream needs one writer at a time; an OpenSSL SSL
 * may not be used by two threads at once. Handing each sealed packet to
 * the control thread would cost a queue, a wake-up and a copy per packet
 * on the agent's one event loop; here a worker takes the stream's lock
 * and writes. Reads are worker 0's alone (as for native ESP), under the
 * same lock, non-blocking. See docs/dataplane.md, "The relayed path".
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dataplane/dp_int.h"
#include "stun/frame.h"
#include "wire/wire.h"

#define WRITE_WAIT_MS 1000	/* a write the peer's window cannot take this long: the packet is dropped */

int dp_rstream_init(struct dp *dp)
{
	struct dp_rstream *rs = &dp->rs;

	pthread_mutex_init(&rs->lock, NULL);
	rs->fd = -1;
	atomic_init(&rs->poll_fd, -1);
	rs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rs->rbuf = malloc(DP_RSTREAM_BUF);
	return rs->wake_fd >= 0 && rs->rbuf ? 0 : -ENOMEM;
}

/* Close the connection held (the lock held by the caller). */
static void drop_locked(struct dp_rstream *rs)
{
	if (rs->ssl) {
		SSL_shutdown(rs->ssl);	/* a close_notify, not waited for */
		SSL_free(rs->ssl);
	}
	if (rs->fd >= 0)
		close(rs->fd);
	rs->ssl = NULL;
	rs->fd = -1;
	rs->gen++;
	atomic_store(&rs->poll_fd, -1);
}

void dp_rstream_fini(struct dp *dp)
{
	struct dp_rstream *rs = &dp->rs;

	pthread_mutex_lock(&rs->lock);
	drop_locked(rs);
	pthread_mutex_unlock(&rs->lock);
	if (rs->wake_fd >= 0)
		close(rs->wake_fd);
	free(rs->rbuf);
	rs->rbuf = NULL;
	pthread_mutex_destroy(&rs->lock);
}

void dp_rstream_set(struct dp *dp, int fd, struct ssl_st *ssl)
{
	struct dp_rstream *rs = &dp->rs;
	uint64_t one = 1;

	pthread_mutex_lock(&rs->lock);
	drop_locked(rs);
	rs->fd = fd;
	rs->ssl = ssl;
	rs->dead = false;
	atomic_store(&rs->poll_fd, fd);
	pthread_mutex_unlock(&rs->lock);
	/* worker 0 polls the new descriptor from its next turn */
	if (write(rs->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void dp_rstream_clear(struct dp *dp)
{
	pthread_mutex_lock(&dp->rs.lock);
	drop_locked(&dp->rs);
	pthread_mutex_unlock(&dp->rs.lock);
}

/* Wait until the socket takes more (or WRITE_WAIT_MS in all have passed). */
static bool wait_out(int fd, int *left_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (*left_ms <= 0)
		return false;
	if (poll(&p, 1, 50) < 0 && errno != EINTR)
		return false;
	*left_ms -= 50;
	return true;
}

/* Write all of @p buf (the lock held): 0, -EPIPE (the connection failed), -ETIMEDOUT. */
static int write_all_locked(struct dp_rstream *rs, const uint8_t *buf, size_t len)
{
	int left = WRITE_WAIT_MS;

	while (len) {
		if (rs->ssl) {
			size_t done = 0;
			int r = SSL_write_ex(rs->ssl, buf, len, &done), e;

			if (r == 1) {
				buf += done;
				len -= done;
				continue;
			}
			e = SSL_get_error(rs->ssl, r);
			ERR_clear_error();
			if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) && wait_out(rs->fd, &left))
				continue;	/* the same arguments again, as OpenSSL wants */
			return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? -ETIMEDOUT : -EPIPE;
		} else {
			ssize_t n = send(rs->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				buf += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR) && wait_out(rs->fd, &left))
				continue;
			return n < 0 && errno == EAGAIN ? -ETIMEDOUT : -EPIPE;
		}
	}
	return 0;
}

int dp_rstream_write(struct dp *dp, const uint8_t *buf, size_t len)
{
	struct dp_rstream *rs = &dp->rs;
	int err;

	pthread_mutex_lock(&rs->lock);
	if (rs->fd < 0 || rs->dead) {
		pthread_mutex_unlock(&rs->lock);
		return -ENOTCONN;
	}
	err = write_all_locked(rs, buf, len);
	/*
	 * A frame cut short leaves the stream out of step for good: the
	 * server cannot find the next frame (RFC 8656 §12.5). Treat it as a
	 * lost connection; the agent connects again.
	 */
	if (err && !rs->dead) {
		struct dp_event ev = { .type = DP_EV_RELAY_LOST, .peer = -1 };

		rs->dead = true;
		atomic_store(&rs->poll_fd, -1);
		pthread_mutex_unlock(&rs->lock);
		dp_post_event(dp, &ev);
		return err;
	}
	pthread_mutex_unlock(&rs->lock);
	return err;
}

int dp_relay_stream_send(struct dp *dp, const uint8_t *msg, size_t len)
{
	return dp_rstream_write(dp, msg, len);
}

/* Worker 0: read what is there (the lock held). Returns bytes read, 0 for nothing now, -1 for EOF or error. */
static ssize_t read_locked(struct dp_rstream *rs, uint8_t *buf, size_t cap)
{
	if (rs->ssl) {
		size_t got = 0;
		int r = SSL_read_ex(rs->ssl, buf, cap, &got), e;

		if (r == 1)
			return (ssize_t)got;
		e = SSL_get_error(rs->ssl, r);
		ERR_clear_error();
		return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
	} else {
		ssize_t n = recv(rs->fd, buf, cap, MSG_DONTWAIT);

		if (n > 0)
			return n;
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
}

void dp_rstream_read(struct dp_worker *w, struct dp_table *t, struct dp_sa **locked)
{
	struct dp *dp = w->dp;
	struct dp_rstream *rs = &dp->rs;
	bool lost = false, more = true;
	uint64_t drain, one = 1;

	if (read(rs->wake_fd, &drain, sizeof(drain)) < 0)
		drain = 0;	/* nothing to drain: woken by the socket */
	for (int round = 0; round < 16 && more; round++) {
		ssize_t n;
		size_t off = 0;

		pthread_mutex_lock(&rs->lock);
		if (rs->fd < 0 || rs->dead) {
			pthread_mutex_unlock(&rs->lock);
			return;
		}
		if (rs->rgen != rs->gen) {
			rs->rgen = rs->gen;	/* a new connection: nothing half-read carries over */
			rs->rlen = 0;
		}
		n = read_locked(rs, rs->rbuf + rs->rlen, DP_RSTREAM_BUF - rs->rlen);
		if (n < 0) {
			rs->dead = true;
			atomic_store(&rs->poll_fd, -1);
			lost = true;
		}
		pthread_mutex_unlock(&rs->lock);
		if (n <= 0) {
			more = false;
			break;
		}
		rs->rlen += (size_t)n;
		/* RFC 8656 §12.5, RFC 8489 §6.2.2: STUN messages and padded ChannelData, back to back */
		for (;;) {
			size_t need;

			if (stun_stream_frame_len(rs->rbuf + off, rs->rlen - off, &need)) {
				pthread_mutex_lock(&rs->lock);
				rs->dead = true;	/* out of step: it cannot be resynchronised */
				atomic_store(&rs->poll_fd, -1);
				pthread_mutex_unlock(&rs->lock);
				w->local.rx_bad++;
				lost = true;
				break;
			}
			if (rs->rlen - off < need)
				break;
			dp_worker_relay_frame(w, t, rs->rbuf + off, need, locked);
			off += need;
		}
		if (lost)
			break;
		memmove(rs->rbuf, rs->rbuf + off, rs->rlen - off);
		rs->rlen -= off;
	}
	if (lost) {
		struct dp_event ev = { .type = DP_EV_RELAY_LOST, .peer = -1 };

		dp_post_event(dp, &ev);
	} else if (more && write(rs->wake_fd, &one, sizeof(one)) < 0) {
		/*
		 * Left unread after 16 rounds, perhaps inside OpenSSL's buffer
		 * where poll() cannot see it: the eventfd brings worker 0 back
		 * after its other sockets had their turn.
		 */
		return;
	}
}
