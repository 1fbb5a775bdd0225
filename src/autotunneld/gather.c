/*
 * src/autotunneld/gather.c: this host's candidates (see gather.h).
 */
#include "autotunneld/gather.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "common/log.h"

/* Room for everything before the best AGENT_CAND_MAX are kept. */
#define GATHER_MAX 32

struct pool {
	struct agent_cand c[GATHER_MAX];
	size_t n;
};

static void add(struct pool *p, const struct agent_cand *c)
{
	if (agent_cand_check(c))
		return;	/* an address a record may not hold (loopback, link-local, ...) */
	for (size_t i = 0; i < p->n; i++) {
		struct agent_cand *o = &p->c[i];

		/* one transport address once (docs/paths.md §1.2): the kind that says most wins */
		if (o->v6 == c->v6 && o->port == c->port && !memcmp(o->addr, c->addr, c->v6 ? 16 : 4)) {
			if (c->prio > o->prio)
				*o = *c;
			return;
		}
	}
	if (p->n < GATHER_MAX)
		p->c[p->n++] = *c;
}

static void add4(struct pool *p, enum agent_cand_kind kind, const uint8_t a[4], uint16_t port, uint16_t pref)
{
	struct agent_cand c = { .kind = (uint8_t)kind, .port = port };

	memcpy(c.addr, a, 4);
	c.prio = agent_cand_priority(kind, pref);
	add(p, &c);
}

static unsigned plen_of(const uint8_t *mask, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		for (int b = 7; b >= 0 && (mask[i] >> b) & 1; b--)
			n++;
	return n;
}

/* The addresses of the interfaces that are up: LAN IPv4 (RFC 1918, RFC 6598) and global IPv6 (2000::/3). */
static void interfaces(struct pool *p, const struct atd_gather_in *in)
{
	struct ifaddrs *ifa0, *ifa;
	uint16_t pref4 = 65535, pref6 = 65535;

	if (getifaddrs(&ifa0) < 0) {
		log_debug("candidates: cannot list the interfaces' addresses");
		return;
	}
	for (ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		struct agent_cand c = { .port = in->port };

		if (!ifa->ifa_addr || !ifa->ifa_netmask || !(ifa->ifa_flags & IFF_UP) ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			const uint8_t *m = (const uint8_t *)&((const struct sockaddr_in *)ifa->ifa_netmask)->sin_addr;
			bool lan = a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
				   (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64);

			/* a public address on an interface is the PUBLIC candidate, not a LAN one */
			if (!lan)
				continue;
			c.kind = AGENT_CAND_LAN;
			memcpy(c.addr, a, 4);
			c.plen = (uint8_t)plen_of(m, 4);
			c.prio = agent_cand_priority(AGENT_CAND_LAN, pref4);
			if (pref4 > 0)
				pref4--;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *a = ((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr.s6_addr;
			const uint8_t *m = ((const struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr.s6_addr;

			if ((a[0] & 0xe0) != 0x20)
				continue;	/* RFC 4291 §2.4: global unicast is 2000::/3 (not the ULA of the TUN) */
			c.kind = AGENT_CAND_IPV6;
			c.v6 = true;
			memcpy(c.addr, a, 16);
			c.plen = (uint8_t)plen_of(m, 16);
			c.prio = agent_cand_priority(AGENT_CAND_IPV6, pref6);
			if (pref6 > 0)
				pref6--;
		} else {
			continue;
		}
		add(p, &c);
	}
	freeifaddrs(ifa0);
}

void atd_gather(const struct atd_gather_in *in, struct agent_cand_set *out)
{
	struct pool p = { .n = 0 };

	memset(out, 0, sizeof(*out));
	if (in->has_external)
		add4(&p, in->public_net ? AGENT_CAND_PUBLIC : AGENT_CAND_MAPPED, in->external4, in->ext_port, 65535);
	if (in->has_srflx) {
		struct agent_cand c = { .kind = AGENT_CAND_SRFLX, .port = in->srflx_port, .map = in->map,
					.filt = in->filt };

		memcpy(c.addr, in->srflx4, 4);
		c.prio = agent_cand_priority(AGENT_CAND_SRFLX, 65535);
		add(&p, &c);
	}
	if (in->interfaces)
		interfaces(&p, in);
	/* the best first (insertion sort: a handful), the best AGENT_CAND_MAX kept */
	for (size_t i = 1; i < p.n; i++)
		for (size_t j = i; j > 0 && p.c[j].prio > p.c[j - 1].prio; j--) {
			struct agent_cand t = p.c[j];

			p.c[j] = p.c[j - 1];
			p.c[j - 1] = t;
		}
	for (size_t i = 0; i < p.n && out->n < AGENT_CAND_MAX; i++)
		out->c[out->n++] = p.c[i];
}

bool atd_gather_same(const struct agent_cand_set *a, const struct agent_cand_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct agent_cand *x = &a->c[i], *y = &b->c[i];

		if (x->kind != y->kind || x->v6 != y->v6 || memcmp(x->addr, y->addr, 16) || x->port != y->port ||
		    x->prio != y->prio || x->plen != y->plen || x->map != y->map || x->filt != y->filt)
			return false;
	}
	return true;
}
