/*
 * The ports the router's own sockets use where a mapping would take them
 * over (sock_diag, NETLINK_INET_DIAG, libmnl): TCP listeners and UDP
 * sockets bound to the external address or to the wildcard address, in
 * IPv4 and in IPv6 (a dual-stack socket on [::] receives IPv4 too). A
 * mapping's DNAT on such a port would divert the router's own service
 * (ssh, a DNS forwarder, a web UI) to a LAN host.
 */
#ifndef AT_GWD_OWNPORTS_H
#define AT_GWD_OWNPORTS_H

#include <stdint.h>

#include "autotunnel-gwd/table.h"

/*
 * Replace @p t's snapshot of busy ports (gwd_table_busy_*) with the
 * router's sockets now: those bound to @p ext_addr (host order) or to a
 * wildcard address, and not bound to a device other than @p wan_ifindex
 * (0: any). 0 or -errno; on error the old snapshot stays.
 */
int gwd_ownports_scan(struct gwd_table *t, uint32_t ext_addr, unsigned int wan_ifindex)
	__attribute__((warn_unused_result));

#endif
