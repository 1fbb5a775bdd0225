#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/rsip_conf.h"

static int parse_u32(const char *p, size_t len, uint32_t *v)
{
	char buf[16], *end;
	unsigned long long x;

	if (len == 0 || len >= sizeof(buf) || p[0] == '-' || p[0] == '+' || p[0] == ' ')
		return -EINVAL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	x = strtoull(buf, &end, 0);
	if (errno || *end != '\0' || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* One "A.B.C.D" or "A.B.C.D/LEN" of @p len bytes at @p p. */
static int parse_prefix(const char *p, size_t len, struct rsip_prefix *out)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash;
	struct in_addr a;
	uint32_t plen = 32;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash) {
		size_t l = strlen(slash + 1);

		/* decimal only, 0..32 */
		if (l == 0 || l > 2 || strspn(slash + 1, "0123456789") != l)
			return -EINVAL;
		plen = (uint32_t)atoi(slash + 1);
		if (plen > 32)
			return -EINVAL;
		buf[slash - buf] = '\0';
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	out->addr = ntohl(a.s_addr);
	out->len = (uint8_t)plen;
	/* host bits set in a prefix are a typo more often than intent */
	if (plen < 32 && (out->addr & ~(plen == 0 ? 0u : ~0u << (32 - plen))) != 0)
		return -EINVAL;
	return 0;
}

int gwd_rsip_parse_prefixes(const char *text, struct rsip_prefix *out, unsigned max, unsigned *n,
			    bool *none)
{
	const char *p = text;

	*n = 0;
	*none = false;
	if (!text || strcmp(text, "all") == 0)
		return 0;
	if (strcmp(text, "none") == 0) {
		*none = true;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");

		if (*n == max || parse_prefix(p, len, &out[*n]))
			return -EINVAL;
		(*n)++;
		p += len;
		if (*p == '\0')
			return 0;
		p++;	/* the comma; a trailing one leaves an empty item: refused above */
	}
}

int gwd_rsip_parse_range(const char *text, uint32_t *first, uint32_t *last)
{
	const char *dash = strchr(text, '-');

	if (!dash || parse_u32(text, (size_t)(dash - text), first) ||
	    parse_u32(dash + 1, strlen(dash + 1), last) || *first > *last)
		return -EINVAL;
	return 0;
}

int gwd_rsip_settings_check(const struct gwd_settings *s, char *err, size_t errlen)
{
	struct rsip_prefix pfx[RSIP_MAX_PREFIXES];
	unsigned n;
	bool none;
	uint32_t lo, hi;

	if (gwd_rsip_parse_prefixes(s->rsip_ipsec_allow, pfx, RSIP_MAX_PREFIXES, &n, &none)) {
		snprintf(err, errlen, "--rsip-ipsec-allow: '%s' is not 'all', 'none' or a list of up to %d "
			 "addresses and prefixes (192.168.1.0/24,192.168.1.7)", s->rsip_ipsec_allow,
			 RSIP_MAX_PREFIXES);
		return -EINVAL;
	}
	if (s->rsip_spis) {
		if (gwd_rsip_parse_range(s->rsip_spis, &lo, &hi)) {
			snprintf(err, errlen, "--rsip-spis: '%s' is not a range FIRST-LAST", s->rsip_spis);
			return -EINVAL;
		}
		if (lo < 256) {
			/* RFC 4303 §2.1: SPIs 1-255 are reserved by IANA */
			snprintf(err, errlen, "--rsip-spis: SPIs below 256 are reserved (RFC 4303)");
			return -EINVAL;
		}
	}
	if (gwd_settings_check_order(s->rsip_port_min, s->rsip_port_max, "rsip-port-min",
				     "rsip-port-max", err, errlen))
		return -EINVAL;
	return gwd_settings_check_order(s->rsip_lease_min, s->rsip_lease_max, "rsip-lease-min",
					"rsip-lease-max", err, errlen);
}

int gwd_rsip_config(const struct gwd_settings *s, uint32_t nb, const struct rsip_prefix *lans,
		    unsigned n_lans, uint64_t seed, struct rsip_server_config *c, char *err,
		    size_t errlen)
{
	bool none;
	int rc;

	rc = gwd_rsip_settings_check(s, err, errlen);
	if (rc)
		return rc;
	rsip_server_config_default(c, nb);
	c->port_lo = (uint16_t)s->rsip_port_min;
	c->port_hi = (uint16_t)s->rsip_port_max;
	if (s->rsip_spis && gwd_rsip_parse_range(s->rsip_spis, &c->spi_lo, &c->spi_hi))
		return -EINVAL;	/* checked above */
	c->lease_min = (uint32_t)s->rsip_lease_min;
	c->lease_max = (uint32_t)s->rsip_lease_max;
	c->lease_default = GWD_RSIP_LEASE_DEFAULT;
	if (c->lease_default < c->lease_min)
		c->lease_default = c->lease_min;
	if (c->lease_default > c->lease_max)
		c->lease_default = c->lease_max;
	c->max_clients = (unsigned)s->rsip_max_clients;
	if (gwd_rsip_parse_prefixes(s->rsip_ipsec_allow, c->ipsec_allow, RSIP_MAX_PREFIXES,
				    &c->n_ipsec_allow, &none))
		return -EINVAL;
	c->ipsec = !none;
	/* who may register is decided by the listener: LAN subnets only */
	c->n_register_allow = 0;
	c->n_local_nets = n_lans < RSIP_MAX_PREFIXES ? n_lans : RSIP_MAX_PREFIXES;
	if (c->n_local_nets)
		memcpy(c->local_nets, lans, c->n_local_nets * sizeof(*lans));
	c->seed = seed;
	return 0;
}
