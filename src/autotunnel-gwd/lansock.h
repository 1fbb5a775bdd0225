/*
 * The UDP sockets of the NAT-PMP/PCP server: one per LAN address, bound
 * to that address and port 5351 and to its interface (SO_BINDTODEVICE), so
 * that nothing arriving on the WAN side, or addressed to the external
 * address, ever reaches the handler (RFC 6886 §3.3, RFC 6887 §8.3).
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

struct gwd_lansock {
	int fd;
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t addr;		/* host order */
	uint8_t plen;
	void *ev;		/* the daemon's event for fd */
	void *owner;		/* the daemon (borrowed) */
	bool seen;		/* still present at the last refresh */
};

/* Open the socket for (@p ifname, @p addr). 0 or -errno; s->ev and s->owner are left NULL. */
int gwd_lansock_open(struct gwd_lansock *s, const char *ifname, unsigned int ifindex,
		     uint32_t addr, uint8_t plen) __attribute__((warn_unused_result));
void gwd_lansock_close(struct gwd_lansock *s);

/*
 * Receive one datagram. Returns its length, -EAGAIN when there is none,
 * -EPERM when it did not come in on this socket's interface for its
 * address (then it must be ignored), or another -errno. @p src, @p sport:
 * the sender, host order.
 */
ssize_t gwd_lansock_recv(const struct gwd_lansock *s, void *buf, size_t len, uint32_t *src,
			 uint16_t *sport);
/* Send @p len bytes to @p dst:@p dport (host order) from the socket's address. */
int gwd_lansock_send(const struct gwd_lansock *s, const void *buf, size_t len, uint32_t dst,
		     uint16_t dport);

#endif
