/* The default IPv4 gateway, from /proc/net/route. */
#ifndef AT_PMCLIENT_ROUTE_H
#define AT_PMCLIENT_ROUTE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>

/**
 * The gateway of the IPv4 default route with the lowest metric, and its
 * interface (@p ifname, IF_NAMESIZE bytes; may be NULL). Returns 0,
 * -ENETUNREACH if there is no default route via a gateway, or -errno.
 */
int route_default_gateway(struct in_addr *gw, char *ifname) __attribute__((warn_unused_result));

/** The same from an open /proc/net/route-format stream @p fp (borrowed); for tests. */
int route_default_gateway_from(FILE *fp, struct in_addr *gw, char *ifname)
	__attribute__((warn_unused_result));

#endif
