/*
 * The UDP sockets of the NAT-PMP/PCP server: one per LAN address, bound
 * to that address and port 5351 and to its interface (SO_BINDTODEVICE), so
 * that nothing arriving on the WAN side, or addressed to the external
 * address, ever reaches the handler (RFC 6886 §3.3, RFC 6887 §8.3).
 *
 * Beside each, a packet socket (AF_PACKET, needs CAP_NET_RAW) sees the same
 * requests as frames, with their Ethernet source address, which a UDP
 * socket never tells. Each datagram read from the UDP socket is paired with
 * the frame that carried it (same source address and port, same payload),
 * so that gwd.c can compare the frame's sender with the neighbour entry of
 * the source address the datagram claims.
 */
#ifndef AT_GWD_LANSOCK_H
#define AT_GWD_LANSOCK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GWD_SERVER_PORT 5351
#define GWD_ANNOUNCE_PORT 5350
#define GWD_ANNOUNCE_GROUP 0xe0000001u	/* 224.0.0.1 */

#define GWD_LANSOCK_FRAMES 16	/* frames seen and not yet paired, per socket */
#define GWD_LANSOCK_PAYLOAD 2048	/* as much of a request as gwd.c reads */

/* A request frame seen on the packet socket. */
struct gwd_frame {
	bool used;
	uint32_t src;		/* host order */
	uint16_t sport;
	uint8_t lladdr[6];
	size_t len;		/* UDP payload length (from the UDP header) */
	uint8_t payload[GWD_LANSOCK_PAYLOAD];	/* its first bytes */
};

struct gwd_lansock {
	int fd;
	int pfd;		/* the packet socket, -1 without one (no CAP_NET_RAW) */
	struct gwd_frame *frames;	/* owned, GWD_LANSOCK_FRAMES, a ring */
	size_t next_frame;
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t addr;		/* host order */
	uint8_t plen;
	void *ev;		/* the daemon's event for fd */
	void *owner;		/* the daemon (borrowed) */
	bool seen;		/* still present at the last refresh */
};

/*
 * Open the socket for (@p ifname, @p addr). 0 or -errno; s->ev and
 * s->owner are left NULL. A packet socket that cannot be opened leaves
 * s->pfd at -1 and sets *@p pkt_err (then no source is ever proven).
 */
int gwd_lansock_open(struct gwd_lansock *s, const char *ifname, unsigned int ifindex,
		     uint32_t addr, uint8_t plen, int *pkt_err) __attribute__((warn_unused_result));
void gwd_lansock_close(struct gwd_lansock *s);

/*
 * Read the IPv4 packet @p pkt (borrowed; @p len bytes captured) as a
 * request frame to @p dst:5351 (host order) into @p f (all but lladdr).
 * 0, or -EINVAL when it is not one (another destination, a fragment, not
 * UDP, cut short). Pure: the unit tests feed it packets of their own.
 */
int gwd_frame_parse(const uint8_t *pkt, size_t len, uint32_t dst, struct gwd_frame *f)
	__attribute__((warn_unused_result));

/*
 * Receive one datagram. Returns its length, -EAGAIN when there is none,
 * -EPERM when it did not come in on this socket's interface for its
 * address (then it must be ignored), or another -errno. @p src, @p sport:
 * the sender, host order. *@p has_lladdr: the frame that carried it was
 * found, and @p lladdr is its Ethernet source address.
 */
ssize_t gwd_lansock_recv(struct gwd_lansock *s, void *buf, size_t len, uint32_t *src,
			 uint16_t *sport, uint8_t lladdr[static 6], bool *has_lladdr);
/* Send @p len bytes to @p dst:@p dport (host order) from the socket's address. */
int gwd_lansock_send(const struct gwd_lansock *s, const void *buf, size_t len, uint32_t dst,
		     uint16_t dport);

#endif
