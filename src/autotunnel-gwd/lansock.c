#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autotunnel-gwd/lansock.h"
#include "wire/wire.h"

#define IP_PROTO_UDP 17

int gwd_frame_parse(const uint8_t *pkt, size_t len, uint32_t dst, struct gwd_frame *f)
{
	struct wire r = wire_reader(pkt, len), ip, udp;
	uint8_t vihl, proto;
	uint16_t total, frag, dport, ulen;
	size_t hlen;

	/* RFC 791 §3.1 */
	vihl = wire_peek_u8(&r);
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (wire_err(&r) || vihl >> 4 != 4 || hlen < 20)
		return -EINVAL;
	ip = wire_sub(&r, hlen);
	wire_skip(&ip, 2);
	total = wire_read_u16(&ip);
	wire_skip(&ip, 2);
	frag = wire_read_u16(&ip);
	wire_skip(&ip, 1);
	proto = wire_read_u8(&ip);
	wire_skip(&ip, 2);
	f->src = wire_read_u32(&ip);
	/* only whole datagrams: a fragment's payload is not what the UDP socket reads */
	if (wire_err(&ip) || proto != IP_PROTO_UDP || (frag & 0x3fff) || wire_read_u32(&ip) != dst ||
	    total < hlen + 8)
		return -EINVAL;
	/* RFC 768 */
	udp = wire_sub(&r, 8);
	f->sport = wire_read_u16(&udp);
	dport = wire_read_u16(&udp);
	ulen = wire_read_u16(&udp);
	if (wire_err(&udp) || dport != GWD_SERVER_PORT || ulen < 8 || ulen > total - hlen)
		return -EINVAL;
	f->len = (size_t)ulen - 8;
	/* the payload as far as it was captured and as far as gwd reads it */
	hlen = f->len;
	if (hlen > wire_avail(&r))
		hlen = wire_avail(&r);
	if (hlen > sizeof(f->payload))
		hlen = sizeof(f->payload);
	if (hlen < f->len && hlen < sizeof(f->payload))
		return -EINVAL;	/* cut short by the capture */
	wire_read_bytes(&r, f->payload, hlen);
	return wire_err(&r) ? -EINVAL : 0;
}

/*
 * The packet socket's filter (classic BPF over the IPv4 header, the socket
 * being SOCK_DGRAM): UDP, to this address, not a fragment, to port 5351.
 * Everything else stays in the kernel.
 */
static int open_packet(struct gwd_lansock *s)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),			/* protocol */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IP_PROTO_UDP, 0, 8),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),			/* destination */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, s->addr, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),			/* flags, fragment offset */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),			/* X = header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),			/* UDP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GWD_SERVER_PORT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = (int)s->ifindex };
	int rc;

	s->frames = calloc(GWD_LANSOCK_FRAMES, sizeof(*s->frames));
	if (!s->frames)
		return -ENOMEM;
	/* protocol 0 receives nothing until bound: the filter is in place before the first frame */
	s->pfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->pfd < 0)
		return -errno;
	if (setsockopt(s->pfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    bind(s->pfd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		close(s->pfd);
		s->pfd = -1;
		return rc;
	}
	return 0;
}

int gwd_lansock_open(struct gwd_lansock *s, const char *ifname, unsigned int ifindex,
		     uint32_t addr, uint8_t plen, int *pkt_err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(GWD_SERVER_PORT) };
	struct in_addr mif = { htonl(addr) };
	int one = 1, ttl = 1, rc;

	memset(s, 0, sizeof(*s));
	s->pfd = -1;
	*pkt_err = 0;
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->ifindex = ifindex;
	s->addr = addr;
	s->plen = plen;
	/* the frames first: a request the UDP socket holds has its frame in the packet socket */
	*pkt_err = open_packet(s);
	sa.sin_addr.s_addr = htonl(addr);
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname, (socklen_t)strlen(s->ifname)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)) < 0 ||
	    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		gwd_lansock_close(s);
		return rc;
	}
	return 0;
}

void gwd_lansock_close(struct gwd_lansock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->pfd >= 0)
		close(s->pfd);
	free(s->frames);
	s->frames = NULL;
	s->fd = s->pfd = -1;
}

static bool same_request(const struct gwd_frame *f, uint32_t src, uint16_t sport, const uint8_t *buf,
			 size_t n, bool truncated)
{
	size_t cmp = n < sizeof(f->payload) ? n : sizeof(f->payload);

	if (!f->used || f->src != src || f->sport != sport)
		return false;
	if (truncated ? f->len <= n : f->len != n)
		return false;
	return memcmp(f->payload, buf, cmp) == 0;
}

/* The oldest frame recorded that carried this datagram, taken out of the ring; or NULL. */
static struct gwd_frame *take_recorded(struct gwd_lansock *s, uint32_t src, uint16_t sport,
				       const uint8_t *buf, size_t n, bool truncated)
{
	for (size_t i = 0; i < GWD_LANSOCK_FRAMES; i++) {
		struct gwd_frame *f = &s->frames[(s->next_frame + i) % GWD_LANSOCK_FRAMES];

		if (same_request(f, src, sport, buf, n, truncated)) {
			f->used = false;
			return f;
		}
	}
	return NULL;
}

/*
 * Find the frame of a datagram just read from the UDP socket. The kernel
 * hands a frame to packet sockets before IP delivers it to UDP, so the
 * frame is recorded already or waits in the packet socket: read it until
 * found. Frames that never reach the UDP socket (a bad checksum, a full
 * buffer) age out of the ring.
 */
static bool find_frame(struct gwd_lansock *s, uint32_t src, uint16_t sport, const uint8_t *buf,
		       size_t n, bool truncated, uint8_t lladdr[static 6])
{
	uint8_t pkt[60 + 8 + GWD_LANSOCK_PAYLOAD];
	struct gwd_frame *f;

	if (s->pfd < 0)
		return false;
	f = take_recorded(s, src, sport, buf, n, truncated);
	for (int i = 0; !f && i < 256; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t got = recvfrom(s->pfd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct gwd_frame *slot = &s->frames[s->next_frame];

		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* only frames sent to this host by an Ethernet neighbour */
		if (fl < sizeof(from) || from.sll_pkttype != PACKET_HOST || from.sll_halen != 6 ||
		    gwd_frame_parse(pkt, (size_t)got, s->addr, slot) != 0)
			continue;
		memcpy(slot->lladdr, from.sll_addr, 6);
		slot->used = true;
		s->next_frame = (s->next_frame + 1) % GWD_LANSOCK_FRAMES;
		if (same_request(slot, src, sport, buf, n, truncated)) {
			slot->used = false;
			f = slot;
		}
	}
	if (!f)
		return false;
	memcpy(lladdr, f->lladdr, 6);
	return true;
}

ssize_t gwd_lansock_recv(struct gwd_lansock *s, void *buf, size_t len, uint32_t *src,
			 uint16_t *sport, uint8_t lladdr[static 6], bool *has_lladdr)
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

	*has_lladdr = false;
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
	*has_lladdr = find_frame(s, *src, *sport, buf, (size_t)n, mh.msg_flags & MSG_TRUNC, lladdr);
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
