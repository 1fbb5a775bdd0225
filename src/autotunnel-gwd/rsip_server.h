/*
 * The gateway's RSIP server (RFC 3103 with RFC 3104): TCP port 4555 on each
 * LAN address, one session per client connection (rsip_session.c), the
 * lib/rsip server that decides, its lease timer, and the data path
 * (rsip_sock.c) for the public address Nb.
 *
 * It runs only while the WAN interface has an address: that address is Nb.
 * When it changes, every binding is void (Nb is part of it): the server
 * starts afresh and every client connection is closed, so clients register
 * again.
 */
#ifndef AT_GWD_RSIP_SERVER_H
#define AT_GWD_RSIP_SERVER_H

#include <stdint.h>
#include <stdio.h>

#include "autotunnel-gwd/settings.h"

struct event_base;
struct gwd_rsip;

#define GWD_RSIP_MAX_CONNS 128		/* TCP connections at once */
#define GWD_RSIP_OUT_MAX (64 * 1024)	/* answers a client has not read; beyond: closed */

/*
 * Start listening on the LAN addresses of @p s (borrowed for the life of
 * the server) with public address @p nb (host order; 0: none yet). Served
 * from @p base. 0 or a negative errno.
 */
int gwd_rsip_open(struct gwd_rsip **out, struct event_base *base, const struct gwd_settings *s,
		  uint32_t nb) __attribute__((warn_unused_result));

/* Addresses may have changed: follow the LAN addresses and the public address @p nb. */
void gwd_rsip_refresh(struct gwd_rsip *r, uint32_t nb);

/* Write the RSIP part of the status to @p fp ("rsip: off" for NULL). 0. */
int gwd_rsip_status(struct gwd_rsip *r, FILE *fp);

/* Close every connection and socket and free @p r (NULL is fine). */
void gwd_rsip_close(struct gwd_rsip *r);

#endif
