/*
 * Interface addresses: what the WAN and LAN interfaces carry now, and a
 * netlink (libmnl) subscription that says when that may have changed.
 */
#ifndef AT_GWD_NETWATCH_H
#define AT_GWD_NETWATCH_H

#include <stddef.h>
#include <stdint.h>

struct gwd_ifaddr {
	unsigned int ifindex;
	uint32_t addr;		/* host order */
	uint8_t plen;
};

/*
 * The IPv4 addresses of interface @p ifname, in the kernel's order (the
 * primary address first), up to @p max. Returns how many, or a negative
 * errno. An interface that does not exist has none.
 */
int gwd_if_addrs(const char *ifname, struct gwd_ifaddr *out, size_t max);

/*
 * The external address: the first IPv4 address of @p ifname that is
 * neither link-local (169.254/16) nor loopback; 0 when there is none.
 */
uint32_t gwd_if_external(const char *ifname);

struct gwd_netwatch;

/* Subscribe to IPv4 address and link changes. 0 or a negative errno. */
int gwd_netwatch_open(struct gwd_netwatch **out) __attribute__((warn_unused_result));
int gwd_netwatch_fd(const struct gwd_netwatch *w);
/*
 * Read what is queued (non-blocking). Returns 1 if an address or link
 * changed (or messages were lost: look again), 0 if not, -errno on error.
 */
int gwd_netwatch_read(struct gwd_netwatch *w);
void gwd_netwatch_close(struct gwd_netwatch *w);

#endif
