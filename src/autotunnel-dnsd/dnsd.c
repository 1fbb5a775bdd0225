/* Set-up of the names every part of the server uses. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/zone.h"

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
