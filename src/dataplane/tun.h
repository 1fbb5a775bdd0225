/* src/dataplane/tun: the TUN device (queues, offloads) and its addresses and routes (rtnetlink). */
#ifndef AT_DATAPLANE_TUN_H
#define AT_DATAPLANE_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Open @p nq queues of TUN device @p name (IFF_TUN|IFF_NO_PI, plus
 * IFF_VNET_HDR and TSO/CSUM offloads when @p offload) into @p fds,
 * non-blocking. *@p nq is lowered if the kernel gives fewer queues.
 */
int tun_open(const char *name, bool offload, int *fds, int *nq, char *err, size_t errlen);
/** Set MTU and bring the link up. */
int tun_link_up(int ifindex, int mtu);
/** Add @p addr (4 or 16 bytes by @p family) / @p plen to the device. */
int tun_addr_add(int ifindex, int family, const void *addr, int plen);
/** Route @p dst / @p plen to the device, preferring source @p src (may be NULL). */
int tun_route_add(int ifindex, int family, const void *dst, int plen, const void *src);
/** Remove the route tun_route_add() made for @p dst / @p plen. */
int tun_route_del(int ifindex, int family, const void *dst, int plen);

#endif
