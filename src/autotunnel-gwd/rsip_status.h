/* The RSIP part of "autotunnel-gwd status": bindings and packet counts. Pure. */
#ifndef AT_GWD_RSIP_STATUS_H
#define AT_GWD_RSIP_STATUS_H

#include <stdint.h>
#include <stdio.h>

#include "autotunnel-gwd/rsip_path.h"
#include "rsip/server.h"

/*
 * Write to @p fp, at @p now (ms):
 *   rsip: public address A, N client(s), M binding(s), K UDP port(s) open
 *   rsip binding ID client ADDR:PORT KIND spi S,... ports P,... expires in T s
 *   rsip inbound: ... packets, ... tunnelled, ... without binding, ... malformed, ... ttl exceeded
 *   rsip outbound: ... packets, ... sent, ... refused, ... ike collisions, ... malformed, ...
 *   rsip server: ... requests, ... errors (last E NAME), ... bindings expired, ...
 * Bindings are sorted by client address, then Bind ID.
 */
void gwd_rsip_status_format(FILE *fp, const struct rsip_server *s, uint32_t nb,
			    const struct gwd_rsip_counters *c, size_t udp_ports, uint64_t now);

#endif
