#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autotunnel-gwd/lansock.h"

int gwd_lansock_open(struct gwd_lansock *s, const char *ifname, unsigned int ifindex,
		     uint32_t addr, uint8_t plen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(GWD_SERVER_PORT) };
	struct in_addr mif = { htonl(addr) };
	int one = 1, ttl = 1, rc;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->ifindex = ifindex;
	s->addr = addr;
	s->plen = plen;
	sa.sin_addr.s_addr = htonl(addr);
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname, (socklen_t)strlen(s->ifname)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(s->fd);
		s->fd = -1;
		return rc;
	}
	return 0;
}

void gwd_lansock_close(struct gwd_lansock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

ssize_t gwd_lansock_recv(const struct gwd_lansock *s, void *buf, size_t len, uint32_t *src,
			 uint16_t *sport)
{
	struct sockaddr_in from;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	bool ok = false;
	ssize_t n;

	n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/*
	 * A datagram longer than the buffer arrives cut (MSG_TRUNC) and still
	 * longer than any valid request: the parser answers it as malformed
	 * (RFC 6887 §8.3), which is what the sender needs to hear.
	 */
	if (mh.msg_namelen < sizeof(from) || from.sin_family != AF_INET)
		return -EPERM;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct in_pktinfo pi;

		if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO)
			continue;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		/* RFC 6886 §3.3: only on the internal interface, to the internal address */
		ok = (unsigned int)pi.ipi_ifindex == s->ifindex && ntohl(pi.ipi_addr.s_addr) == s->addr;
	}
	if (!ok)
		return -EPERM;
	*src = ntohl(from.sin_addr.s_addr);
	*sport = ntohs(from.sin_port);
	return n;
}

int gwd_lansock_send(const struct gwd_lansock *s, const void *buf, size_t len, uint32_t dst,
		     uint16_t dport)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(dport),
				  .sin_addr.s_addr = htonl(dst) };

	if (sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}
