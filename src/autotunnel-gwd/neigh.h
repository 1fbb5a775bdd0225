/*
 * The router's neighbour table (RTM_GETNEIGH/RTM_NEWNEIGH over rtnetlink,
 * libmnl): which link-layer address the router holds for a LAN address, and
 * a way to make it resolve one it does not know. gwd.c compares what this
 * says with the Ethernet source of a request's frame (lansock.c) to prove a
 * NAT-PMP/PCP client's source address (docs/gateway.md).
 */
#ifndef AT_GWD_NEIGH_H
#define AT_GWD_NEIGH_H

#include <stdint.h>

/*
 * The link-layer address of @p addr (IPv4, host order) on interface
 * @p ifindex, into @p lladdr. 0 when the entry holds a usable address
 * (NUD_REACHABLE, STALE, DELAY, PROBE or PERMANENT); -ENOENT when there is
 * none, or it is INCOMPLETE, FAILED or NOARP, or not 6 bytes; another
 * -errno when netlink failed.
 */
int gwd_neigh_get(unsigned int ifindex, uint32_t addr, uint8_t lladdr[static 6])
	__attribute__((warn_unused_result));

/*
 * Have the kernel resolve @p addr on @p ifindex (ARP), as a packet to it
 * would (RTM_NEWNEIGH with NTF_USE). 0 or -errno. Returns at once; the entry
 * appears when the neighbour answers.
 */
int gwd_neigh_resolve(unsigned int ifindex, uint32_t addr);

#endif
