/*
 * The gateway daemon: one libevent loop that ties the pieces together.
 *
 *   lansock.c   UDP 5351 on each LAN address (NAT-PMP and PCP)
 *   handler.c   the pure request handler and the mapping table (table.c)
 *   nft.c       mappings as nftables DNAT
 *   netwatch.c  WAN and LAN addresses, watched over netlink
 *   timers.c    epoch, announcement series, expiry deadlines
 *   control.c   the root-only control socket ("autotunnel-gwd status")
 *   rsip_server.c  the RSIP server of RFC 3103/3104 (TCP 4555) and its
 *               data path (rsip_sock.c); off with --no-rsip
 */
#ifndef AT_GWD_GWD_H
#define AT_GWD_GWD_H

#include "autotunnel-gwd/settings.h"

/* Run the gateway in the foreground until SIGINT/SIGTERM. Returns the exit status. */
int gwd_run(struct gwd_settings *s);

#endif
