/* Set-up of the names every part of the server uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/zone.h"

/*
 * A STUN or TURN server setting, HOST[:PORT]. HOST is a domain name, as an
 * SRV target must be (RFC 2782: never an address); @p port is the
 * service's default (RFC 5389 §9: 3478 for STUN and TURN, 5349 over TLS).
 */
static int parse_srv(struct dnsd_srv *out, const char *opt, const char *text, uint16_t port,
		     char *err, size_t errlen)
{
	char host[300];
	const char *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!text)
		return 0;
	colon = strrchr(text, ':');
	n = colon ? (size_t)(colon - text) : strlen(text);
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || p == 0 || p > 65535) {
			snprintf(err, errlen, "--%s: '%s': the port must be in 1..65535", opt, text);
			return -EINVAL;
		}
		port = (uint16_t)p;
	}
	if (n == 0 || n >= sizeof(host) || memchr(text, ':', n)) {
		snprintf(err, errlen, "--%s: '%s' is not HOST[:PORT]", opt, text);
		return -EINVAL;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	if (dns_name_from_text(&out->target, host) || dns_name_is_root(&out->target)) {
		snprintf(err, errlen, "--%s: '%s' is not a domain name", opt, host);
		return -EINVAL;
	}
	out->port = port;
	out->set = true;
	return 0;
}

int dnsd_names(struct dnsd *d, const struct dnsd_settings *s, char *err, size_t errlen)
{
	char buf[600];

	if (dns_name_from_text(&d->apex, s->zone) || dns_name_is_root(&d->apex)) {
		snprintf(err, errlen, "--zone: '%s' is not a domain name", s->zone);
		return -EINVAL;
	}
	dns_name_canonicalize(&d->apex);
	snprintf(buf, sizeof(buf), "hostmaster.%s", s->zone);
	if (dns_name_from_text(&d->hostmaster, buf)) {
		snprintf(err, errlen, "--zone: '%s' is too long", s->zone);
		return -EINVAL;
	}
	if (dns_name_from_text(&d->server_name, s->server_name)) {
		snprintf(err, errlen, "--server-name: '%s' is not a domain name", s->server_name);
		return -EINVAL;
	}
	zone_name_lower(d->lserver, d->server_name.wire, d->server_name.len);
	d->server_in_zone = dnsd_zone_offset(d, d->lserver, d->server_name.len) >= 0;
	if (parse_srv(&d->stun, "stun-server", s->stun_server, 3478, err, errlen) ||
	    parse_srv(&d->turn, "turn-server", s->turn_server, 3478, err, errlen) ||
	    parse_srv(&d->turns, "turns-server", s->turns_server, 5349, err, errlen))
		return -EINVAL;
	return 0;
}

int dnsd_zone_offset(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	size_t off = 0;

	while (off < len && len - off > d->apex.len)
		off += 1u + lname[off];
	if (len - off != d->apex.len || memcmp(lname + off, d->apex.wire, d->apex.len) != 0)
		return -1;
	return (int)off;
}
