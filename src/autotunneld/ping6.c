/* src/autotunneld/ping6.c: ICMPv6 echo through the tunnels (see ping6.h). */
#include "autotunneld/ping6.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "util/random.h"
#include "wire/wire.h"

#define ICMP6_ECHO_LEN 8	/* type, code, checksum, identifier, sequence */
#define PING_DATA 12		/* bytes after the echo header: a magic and the send time */
#define PING_MAGIC 0x61746e6cu	/* "atnl" */

struct ping6 {
	int fd;
	struct event *ev;
	uint16_t id;
	ping6_reply_fn fn;
	void *arg;
};

/* An ICMPv6 echo request (RFC 4443 §4.1): type, code, checksum (the kernel's,
 * RFC 3542 §3.1), identifier, sequence, then our magic and send time. */
int ping6_send(struct ping6 *p, const uint8_t to[16], uint16_t seq)
{
	uint8_t pkt[ICMP6_ECHO_LEN + PING_DATA];
	struct wire w = wire_writer(pkt, sizeof(pkt));
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (!p)
		return -EBADF;
	wire_write_u8(&w, ICMP6_ECHO_REQUEST);
	wire_write_u8(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, p->id);
	wire_write_u16(&w, seq);
	wire_write_u32(&w, PING_MAGIC);
	wire_write_u64(&w, clock_now_ns());	/* our own clock, read back by us only */
	if (wire_err(&w))
		return wire_err(&w);
	memcpy(&sin6.sin6_addr, to, 16);
	if (sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		return -errno;
	return 0;
}

static void on_icmp(evutil_socket_t fd, short what, void *arg)
{
	struct ping6 *p = arg;
	uint8_t buf[512];

	(void)what;
	for (int n = 0; n < 64; n++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct wire w;
		uint8_t type;
		uint16_t id, seq;
		uint32_t magic;
		uint64_t sent_ns, now_ns = clock_now_ns(), us;

		if (len < 0)
			break;
		w = wire_reader(buf, (size_t)len);
		type = wire_read_u8(&w);
		wire_skip(&w, 3);	/* code, checksum (checked by the kernel) */
		id = wire_read_u16(&w);
		seq = wire_read_u16(&w);
		magic = wire_read_u32(&w);
		sent_ns = wire_read_u64(&w);
		if (wire_err(&w) || type != ICMP6_ECHO_REPLY || id != p->id || magic != PING_MAGIC ||
		    sent_ns > now_ns)
			continue;
		us = (now_ns - sent_ns) / 1000;
		p->fn(p->arg, (const uint8_t *)&from.sin6_addr, seq, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
	}
}

int ping6_open(struct ping6 **out, struct event_base *base, const uint8_t ula[16], ping6_reply_fn fn,
	       void *arg)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct icmp6_filter filt;
	struct ping6 *p;
	uint16_t id;

	*out = NULL;
	if (rand_bytes(&id, sizeof(id)))
		return -EIO;
	/* echo requests leave from our ULA, so they go through the tunnel */
	memcpy(&sin6.sin6_addr, ula, 16);
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);

	if (fd < 0) {
		log_warn("ICMPv6 socket (autotunnel ping will not work)");
		return 0;
	}
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		log_warn("ICMPv6 socket on our ULA (autotunnel ping will not work)");
		close(fd);
		return 0;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	p->id = id;
	p->fn = fn;
	p->arg = arg;
	p->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_icmp, p);
	if (!p->ev || event_add(p->ev, NULL)) {
		ping6_close(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void ping6_close(struct ping6 *p)
{
	if (!p)
		return;
	if (p->ev)
		event_free(p->ev);
	close(p->fd);
	free(p);
}
