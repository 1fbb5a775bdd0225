#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "autotunnel-gwd/rsip_sock.h"
#include "common/clock.h"
#include "common/log.h"

#define BATCH 64		/* packets per wake-up, so no socket starves the loop */
#define BUF_LEN (GWD_RSIP_IP_MAX + 1)
#define IKE_PORT 500
#define RAW_RCVBUF (4 << 20)	/* a burst of ESP waits here while the loop catches up */

struct udpsock {
	struct gwd_rsip_sock *p;
	uint16_t port;
	bool keep;
	int fd;
	struct event *ev;
};

struct gwd_rsip_sock {
	struct event_base *base;
	struct rsip_server *s;
	struct gwd_rsip_counters *c;
	uint32_t nb;
	int fd_esp, fd_ah, fd_ipip, fd_out;
	struct event *ev_esp, *ev_ah, *ev_ipip;
	unsigned lan_if[GWD_RSIP_MAX_LAN_IFS];
	size_t n_lan_if;
	struct udpsock *udp[GWD_RSIP_MAX_UDP_SOCKS];
	size_t n_udp;
	uint64_t generation;
	bool synced;
	uint8_t buf[BUF_LEN];
};

static void fmt_addr(uint32_t a, char *buf, size_t len)
{
	struct in_addr in = { htonl(a) };

	inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

/* ---- towards the client: IP in IP ---- */

static void tunnel(struct gwd_rsip_sock *p, uint32_t client, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(client) };

	/* the kernel writes the outer header: protocol 4, from the LAN address towards the client */
	if (sendto(p->fd_ipip, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0) {
		p->c->send_errors++;
		log_debug_rl("rsip: tunnel to a client: %s", strerror(errno));
	}
}

static void inbound(struct gwd_rsip_sock *p, uint8_t *pkt, size_t len)
{
	struct rsip_dest d;

	if (gwd_rsip_inbound(p->s, p->c, pkt, len, clock_now_ms(), &d) == 0)
		tunnel(p, d.tunnel_addr, pkt, len);
}

/* ESP and AH: the raw socket gives the whole packet, reassembled, IP header first. */
static void on_ipsec(evutil_socket_t fd, short what, void *arg)
{
	struct gwd_rsip_sock *p = arg;

	for (int i = 0; i < BATCH; i++) {
		struct iovec iov = { p->buf, sizeof(p->buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			p->c->in++;
			p->c->in_malformed++;
			continue;
		}
		inbound(p, p->buf, (size_t)n);
	}
}

/* UDP to a lent port or to 500: make the packet whole again, then as above. */
static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct udpsock *u = arg;
	struct gwd_rsip_sock *p = u->p;
	const size_t hdr = GWD_RSIP_IP_HDR + GWD_RSIP_UDP_HDR;

	for (int i = 0; i < BATCH; i++) {
		struct sockaddr_in from;
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(int)) * 2];
		} ctl;
		struct iovec iov = { p->buf + hdr, sizeof(p->buf) - hdr };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		uint8_t ttl = 64, tos = 0;
		struct cmsghdr *cm;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		int len;

		if (n < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			int v;

			if (cm->cmsg_level != IPPROTO_IP)
				continue;
			if (cm->cmsg_type == IP_TTL && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
				memcpy(&v, CMSG_DATA(cm), sizeof(v));
				ttl = (uint8_t)v;
			} else if (cm->cmsg_type == IP_TOS && cm->cmsg_len >= CMSG_LEN(1)) {
				memcpy(&tos, CMSG_DATA(cm), 1);
			}
		}
		if ((mh.msg_flags & MSG_TRUNC) || mh.msg_namelen < sizeof(from) || from.sin_family != AF_INET) {
			p->c->in++;
			p->c->in_malformed++;
			continue;
		}
		len = gwd_rsip_build_udp(p->buf, sizeof(p->buf), (size_t)n, ntohl(from.sin_addr.s_addr),
					 ntohs(from.sin_port), p->nb, u->port, ttl, tos);
		if (len < 0) {
			p->c->in++;
			p->c->in_malformed++;
			continue;
		}
		inbound(p, p->buf, (size_t)len);
	}
}

/* ---- from the client: IP in IP, inner packet sent from Nb ---- */

static bool from_lan(const struct gwd_rsip_sock *p, unsigned ifindex)
{
	for (size_t i = 0; i < p->n_lan_if; i++)
		if (p->lan_if[i] == ifindex)
			return true;
	return false;
}

static void on_ipip(evutil_socket_t fd, short what, void *arg)
{
	struct gwd_rsip_sock *p = arg;

	for (int i = 0; i < BATCH; i++) {
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		} ctl;
		struct iovec iov = { p->buf, sizeof(p->buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct sockaddr_in to = { .sin_family = AF_INET };
		unsigned ifindex = 0;
		struct cmsghdr *cm;
		size_t off, len;
		uint32_t dst;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			struct in_pktinfo pi;

			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(pi))) {
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				ifindex = (unsigned)pi.ipi_ifindex;
			}
		}
		/* only clients on the LAN tunnel to us: the WAN side cannot inject from Nb */
		if (!from_lan(p, ifindex) || (mh.msg_flags & MSG_TRUNC)) {
			p->c->out++;
			p->c->out_malformed++;
			log_debug_rl("rsip: IP-in-IP packet from outside the LAN ignored");
			continue;
		}
		if (gwd_rsip_outbound(p->s, p->c, p->buf, (size_t)n, clock_now_ms(), &off, &len, &dst))
			continue;
		to.sin_addr.s_addr = htonl(dst);
		if (sendto(p->fd_out, p->buf + off, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0) {
			p->c->send_errors++;
			log_debug_rl("rsip: sending from the public address: %s", strerror(errno));
		}
	}
}

/* ---- the UDP sockets follow the bindings ---- */

static void udp_close(struct udpsock *u)
{
	if (u->ev)
		event_free(u->ev);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

static int udp_open(struct gwd_rsip_sock *p, uint16_t port, struct udpsock **out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(p->nb) };
	struct udpsock *u = calloc(1, sizeof(*u));
	int one = 1, rc;

	if (!u)
		return -ENOMEM;
	u->p = p;
	u->port = port;
	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) < 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) < 0 ||
	    bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	u->ev = event_new(p->base, u->fd, EV_READ | EV_PERSIST, on_udp, u);
	if (!u->ev || event_add(u->ev, NULL) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	*out = u;
	return 0;
fail:
	rc = -errno;
	udp_close(u);
	return rc;
}

static void want_port(struct gwd_rsip_sock *p, uint16_t port)
{
	struct udpsock *u = NULL;	/* udp_open sets it on success; -O2 cannot see that */
	char a[INET_ADDRSTRLEN];
	int rc;

	for (size_t i = 0; i < p->n_udp; i++) {
		if (p->udp[i]->port == port) {
			p->udp[i]->keep = true;
			return;
		}
	}
	fmt_addr(p->nb, a, sizeof(a));
	if (p->n_udp == GWD_RSIP_MAX_UDP_SOCKS) {
		log_warnx("rsip: more than %d lent ports: UDP to %s:%u is not carried",
			  GWD_RSIP_MAX_UDP_SOCKS, a, port);
		return;
	}
	rc = udp_open(p, port, &u);
	if (rc) {
		errno = -rc;
		log_warn("rsip: cannot receive UDP on %s:%u%s", a, port,
			 port == IKE_PORT ? " (IKE on port 500 cannot be demultiplexed)" : "");
		return;
	}
	u->keep = true;
	p->udp[p->n_udp++] = u;
}

void gwd_rsip_sock_sync(struct gwd_rsip_sock *p)
{
	const struct rsip_server *s = p->s;
	size_t i;

	if (p->synced && p->generation == s->generation)
		return;
	for (i = 0; i < p->n_udp; i++)
		p->udp[i]->keep = false;
	/* RFC 3104 §6.1: port 500 is demultiplexed by initiator SPI */
	if (s->cfg.ipsec)
		want_port(p, IKE_PORT);
	for (unsigned b = 0; b < s->cfg.max_bindings; b++) {
		const struct rsip_binding *bd = &s->binds[b];

		if (!bd->used || s->cfg.addrs[bd->addr_idx] != p->nb)
			continue;
		for (unsigned k = 0; k < bd->n_ports; k++)
			want_port(p, bd->ports[k]);
	}
	for (i = 0; i < p->n_udp;) {
		if (p->udp[i]->keep) {
			i++;
			continue;
		}
		udp_close(p->udp[i]);
		p->udp[i] = p->udp[--p->n_udp];
	}
	p->generation = s->generation;
	p->synced = true;
}

size_t gwd_rsip_sock_udp_count(const struct gwd_rsip_sock *p)
{
	return p ? p->n_udp : 0;
}

void gwd_rsip_sock_set_lans(struct gwd_rsip_sock *p, const unsigned *ifindex, size_t n)
{
	if (n > GWD_RSIP_MAX_LAN_IFS)
		n = GWD_RSIP_MAX_LAN_IFS;
	if (n)
		memcpy(p->lan_if, ifindex, n * sizeof(*ifindex));
	p->n_lan_if = n;
}

/* ---- life cycle ---- */

static int raw_socket(int proto)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int size = RAW_RCVBUF;

	if (fd < 0)
		return -errno;
	/* past net.core.rmem_max if we may (CAP_NET_ADMIN), else as much as it allows */
	if (proto != IPPROTO_RAW && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

static struct event *watch(struct gwd_rsip_sock *p, int fd, event_callback_fn cb)
{
	struct event *ev = event_new(p->base, fd, EV_READ | EV_PERSIST, cb, p);

	if (ev && event_add(ev, NULL) < 0) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

int gwd_rsip_sock_open(struct gwd_rsip_sock **out, struct event_base *base, struct rsip_server *s,
		       struct gwd_rsip_counters *c, uint32_t nb)
{
	struct gwd_rsip_sock *p = calloc(1, sizeof(*p));
	int one = 1, dont = IP_PMTUDISC_DONT, rc;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->base = base;
	p->s = s;
	p->c = c;
	p->nb = nb;
	p->fd_esp = raw_socket(IPPROTO_ESP);
	p->fd_ah = raw_socket(IPPROTO_AH);
	p->fd_ipip = raw_socket(IPPROTO_IPIP);
	p->fd_out = raw_socket(IPPROTO_RAW);	/* IPPROTO_RAW: IP_HDRINCL, send only */
	if (p->fd_esp < 0 || p->fd_ah < 0 || p->fd_ipip < 0 || p->fd_out < 0) {
		rc = p->fd_esp < 0 ? p->fd_esp : p->fd_ah < 0 ? p->fd_ah : p->fd_ipip < 0 ? p->fd_ipip : p->fd_out;
		goto fail;
	}
	/*
	 * The tunnel to the client fragments when the inner packet fills the
	 * MTU (the client reassembles), instead of failing with EMSGSIZE: a
	 * full-size ESP packet from the internet must still get through.
	 */
	if (setsockopt(p->fd_ipip, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(p->fd_ipip, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont)) < 0) {
		rc = -errno;
		goto fail;
	}
	p->ev_esp = watch(p, p->fd_esp, on_ipsec);
	p->ev_ah = watch(p, p->fd_ah, on_ipsec);
	p->ev_ipip = watch(p, p->fd_ipip, on_ipip);
	if (!p->ev_esp || !p->ev_ah || !p->ev_ipip) {
		rc = -ENOMEM;
		goto fail;
	}
	gwd_rsip_sock_sync(p);
	*out = p;
	return 0;
fail:
	gwd_rsip_sock_close(p);
	return rc;
}

void gwd_rsip_sock_close(struct gwd_rsip_sock *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_udp; i++)
		udp_close(p->udp[i]);
	if (p->ev_esp)
		event_free(p->ev_esp);
	if (p->ev_ah)
		event_free(p->ev_ah);
	if (p->ev_ipip)
		event_free(p->ev_ipip);
	if (p->fd_esp >= 0)
		close(p->fd_esp);
	if (p->fd_ah >= 0)
		close(p->fd_ah);
	if (p->fd_ipip >= 0)
		close(p->fd_ipip);
	if (p->fd_out >= 0)
		close(p->fd_out);
	free(p);
}
