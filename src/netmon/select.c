/* Choosing the primary network from a snapshot of the kernel's tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netmon/select.h"

static const struct netmon_link *find_link(const struct netmon_snapshot *s, uint32_t ifindex)
{
	for (size_t i = 0; i < s->nlinks; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

static bool same_subnet(const uint8_t a[4], const uint8_t b[4], uint8_t plen)
{
	for (int i = 0; i < 4; i++) {
		int bits = plen >= 8 * (i + 1) ? 8 : (plen > 8 * i ? plen - 8 * i : 0);
		uint8_t mask = bits ? (uint8_t)(0xff << (8 - bits)) : 0;

		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

/* The address to use on @p ifindex, or NULL if it has no global IPv4 address. */
static const struct netmon_addr4 *pick_addr(const struct netmon_snapshot *s, uint32_t ifindex,
					    const struct netmon_route4 *r)
{
	const struct netmon_addr4 *first = NULL, *primary = NULL;

	for (size_t i = 0; i < s->naddrs; i++) {
		const struct netmon_addr4 *a = &s->addrs[i];

		if (a->ifindex != ifindex || a->scope != 0)
			continue;
		if (!first)
			first = a;
		if (a->secondary)
			continue;
		if (r->has_gateway && same_subnet(a->addr, r->gateway, a->prefixlen))
			return a;
		if (!primary)
			primary = a;
	}
	return primary ? primary : first;
}

/* The usable global IPv6 addresses, sorted and each once, into @p out. */
static void select_v6(const struct netmon_snapshot *s, struct netmon_state *out)
{
	for (size_t i = 0; i < s->naddrs6; i++) {
		const struct netmon_addr6 *a = &s->addrs6[i];
		const struct netmon_link *l = find_link(s, a->ifindex);
		size_t k;
		int c = 1;

		/* RFC 4291 §2.4: global unicast is 2000::/3 (not our ULA, not link-local) */
		if (!l || !l->up || l->loopback || !a->usable || a->scope != 0 || (a->addr[0] & 0xe0) != 0x20)
			continue;
		for (k = 0; k < out->n6 && (c = memcmp(out->addr6[k], a->addr, 16)) < 0; k++)
			;
		if (k < out->n6 && c == 0)
			continue;
		if (out->n6 == NETMON_V6_MAX) {
			if (k == NETMON_V6_MAX)
				continue;	/* the lowest ones are kept: the same set for the same addresses */
			out->n6--;
		}
		memmove(out->addr6[k + 1], out->addr6[k], (out->n6 - k) * 16);
		memcpy(out->addr6[k], a->addr, 16);
		out->n6++;
	}
}

void netmon_select(const struct netmon_snapshot *s, struct netmon_state *out)
{
	const struct netmon_route4 *best = NULL;
	const struct netmon_link *best_link = NULL;
	const struct netmon_addr4 *best_addr = NULL;

	memset(out, 0, sizeof(*out));
	select_v6(s, out);
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct netmon_route4 *r = &s->routes[i];
		const struct netmon_link *l = find_link(s, r->oif);
		const struct netmon_addr4 *a;

		if (!l || !l->up || !l->carrier || l->loopback || !(a = pick_addr(s, r->oif, r)))
			continue;
		if (best && (r->metric > best->metric || (r->metric == best->metric && r->oif >= best->oif)))
			continue;
		best = r;
		best_link = l;
		best_addr = a;
	}
	if (!best)
		return;
	out->online = true;
	out->ifindex = best_link->ifindex;
	memcpy(out->ifname, best_link->name, sizeof(out->ifname));
	out->ifname[sizeof(out->ifname) - 1] = '\0';
	out->has_mac = best_link->has_mac;
	if (out->has_mac)
		memcpy(out->mac, best_link->mac, 6);
	memcpy(out->addr, best_addr->addr, 4);
	out->prefixlen = best_addr->prefixlen;
	out->has_gateway = best->has_gateway;
	if (best->has_gateway)
		memcpy(out->gateway, best->gateway, 4);
}

bool netmon_state_changed(const struct netmon_state *a, const struct netmon_state *b)
{
	if (a->online != b->online)
		return true;
	if (!a->online)
		return false;
	return a->ifindex != b->ifindex || strcmp(a->ifname, b->ifname) != 0 ||
	       memcmp(a->addr, b->addr, 4) != 0 || a->has_gateway != b->has_gateway ||
	       (a->has_gateway && memcmp(a->gateway, b->gateway, 4) != 0);
}

bool netmon_state_v6_changed(const struct netmon_state *a, const struct netmon_state *b)
{
	return a->n6 != b->n6 || memcmp(a->addr6, b->addr6, (size_t)a->n6 * 16) != 0;
}

int netmon_state_format(const struct netmon_state *st, char *buf, size_t len)
{
	char mac[18] = "none", gw[16] = "none";
	int n;

	if (!st->online) {
		n = snprintf(buf, len, "offline");
	} else {
		if (st->has_mac)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", st->mac[0], st->mac[1],
				 st->mac[2], st->mac[3], st->mac[4], st->mac[5]);
		if (st->has_gateway)
			snprintf(gw, sizeof(gw), "%u.%u.%u.%u", st->gateway[0], st->gateway[1], st->gateway[2],
				 st->gateway[3]);
		n = snprintf(buf, len, "%u.%u.%u.%u/%u dev %s mac %s gw %s", st->addr[0], st->addr[1],
			     st->addr[2], st->addr[3], st->prefixlen, st->ifname, mac, gw);
	}
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}
