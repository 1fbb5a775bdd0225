/*
 * The RSIP server's policy, from the gateway's settings ([rsip] section and
 * --rsip-* options) to lib/rsip's struct rsip_server_config. Pure: no I/O.
 *
 *   rsip-ipsec-allow   which LAN clients may use RSIPSEC (RFC 3104): a
 *                      comma-separated list of addresses and prefixes
 *                      ("192.168.1.0/25,192.168.1.200"), "all" (the
 *                      default) or "none" (RSIPSEC is then not offered and
 *                      requests get 401 IPSEC_UNALLOWED)
 *   rsip-spis          the SPI pool, "FIRST-LAST" (decimal or 0x hex, >= 256)
 *   rsip-port-min/max  the port pool on Nb: ephemeral IKE ports of RSIPSEC
 *                      bindings and the ports of RSAP-IP bindings
 *   rsip-lease-min/max bounds on binding leases, seconds
 *   rsip-max-clients   registered clients at once
 *   rsip-max-conns-per-client  TCP connections from one LAN address at once
 *   rsip-idle-timeout  seconds an unregistered connection may stay silent
 */
#ifndef AT_GWD_RSIP_CONF_H
#define AT_GWD_RSIP_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "autotunnel-gwd/settings.h"
#include "rsip/server.h"

#define GWD_RSIP_PORT_MIN 40000
#define GWD_RSIP_PORT_MAX 40999
#define GWD_RSIP_SPI_MIN 0x00100000u
#define GWD_RSIP_SPI_MAX 0x001fffffu
#define GWD_RSIP_LEASE_MIN 60
#define GWD_RSIP_LEASE_DEFAULT 600
#define GWD_RSIP_LEASE_MAX 3600
#define GWD_RSIP_MAX_CLIENTS 64
#define GWD_RSIP_CONNS_PER_CLIENT 4	/* TCP connections from one LAN address */
#define GWD_RSIP_IDLE_S 120	/* an unregistered, silent connection is closed after this */

/*
 * Parse a list of IPv4 addresses and prefixes, comma-separated, into
 * @p out (at most @p max). "all" gives none (lib/rsip: an empty list allows
 * everyone); "none" gives none and sets *@p none. 0 or -EINVAL.
 */
int gwd_rsip_parse_prefixes(const char *text, struct rsip_prefix *out, unsigned max, unsigned *n,
			    bool *none) __attribute__((warn_unused_result));

/* Parse "FIRST-LAST" (each decimal or 0x hex, 32 bits, FIRST <= LAST). 0 or -EINVAL. */
int gwd_rsip_parse_range(const char *text, uint32_t *first, uint32_t *last)
	__attribute__((warn_unused_result));

/* Check the rsip-* settings of @p s (called by gwd_settings_check). 0 or -EINVAL with @p err. */
int gwd_rsip_settings_check(const struct gwd_settings *s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Fill @p c for public address @p nb (host order) from @p s, with the
 * LAN networks @p lans (borrowed, @p n_lans of them, for QUERY answers) and
 * the random @p seed. 0 or -EINVAL with @p err.
 */
int gwd_rsip_config(const struct gwd_settings *s, uint32_t nb, const struct rsip_prefix *lans,
		    unsigned n_lans, uint64_t seed, struct rsip_server_config *c, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

#endif
