/* Candidate and punch-request records (see cand.h, docs/paths.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent/cand.h"
#include "agent/name.h"
#include "agent/text.h"
#include "dns/txt.h"
#include "wire/wire.h"

/* RFC 8445 §5.1.2.2 asks for type preferences in 0..126, host highest, relayed 0. */
static const struct {
	const char *name;
	uint8_t type_pref;
} kinds[] = {
	[AGENT_CAND_LAN] = { "lan", 126 },
	[AGENT_CAND_IPV6] = { "ipv6", 120 },
	[AGENT_CAND_MAPPED] = { "mapped", 105 },
	[AGENT_CAND_PUBLIC] = { "public", 110 },
	[AGENT_CAND_SRFLX] = { "srflx", 90 },
	[AGENT_CAND_RELAY] = { "relay", 0 },
	[AGENT_CAND_PRFLX] = { "prflx", 100 },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const behaviours[] = {
	[AGENT_NAT_UNKNOWN] = "unknown",
	[AGENT_NAT_EI] = "ei",
	[AGENT_NAT_AD] = "ad",
	[AGENT_NAT_APD] = "apd",
};

uint32_t agent_cand_priority(enum agent_cand_kind kind, uint16_t local_pref)
{
	if ((unsigned)kind == 0 || (unsigned)kind >= NKINDS)
		return 0;
	/* component 1: 256 - 1 = 255 */
	return (uint32_t)kinds[kind].type_pref << 24 | (uint32_t)local_pref << 8 | 255u;
}

const char *agent_cand_kind_name(enum agent_cand_kind kind)
{
	if ((unsigned)kind == 0 || (unsigned)kind >= NKINDS)
		return NULL;
	return kinds[kind].name;
}

bool agent_cand_gen_newer(uint32_t a, uint32_t b)
{
	/* RFC 1982 §3.2 with SERIAL_BITS = 32; the exact half-way point is "not newer" */
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static bool ip4_usable(const uint8_t a[4])
{
	/* not 0/8 (this network), 127/8, 224/4 multicast or reserved, 255.255.255.255 */
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool ip6_global(const uint8_t a[16])
{
	/* RFC 4291 §2.4: global unicast is 2000::/3; this also rules out the ULAs inside the tunnel */
	return (a[0] & 0xe0) == 0x20;
}

static bool ip6_usable(const uint8_t a[16])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return false;	/* multicast, link-local (needs a scope) */
	if (!memcmp(a, v4mapped, 12))
		return false;
	for (int i = 0; i < 15; i++)
		if (a[i])
			return true;
	return false;	/* :: and ::1 */
}

int agent_cand_check(const struct agent_cand *c)
{
	bool need_plen = false, need_nat = false;

	switch (c->kind) {
	case AGENT_CAND_LAN:
		need_plen = true;
		if (c->v6 || c->plen < 1 || c->plen > 32)
			return -EINVAL;
		break;
	case AGENT_CAND_IPV6:
		need_plen = true;
		if (!c->v6 || !ip6_global(c->addr) || c->plen < 1 || c->plen > 128)
			return -EINVAL;
		break;
	case AGENT_CAND_SRFLX:
		need_nat = true;
		if (c->map > AGENT_NAT_APD || c->filt > AGENT_NAT_APD)
			return -EINVAL;
		/* fall through */
	case AGENT_CAND_MAPPED:
	case AGENT_CAND_PUBLIC:
		if (c->v6)
			return -EINVAL;
		break;
	case AGENT_CAND_RELAY:
		break;
	default:
		return -EINVAL;
	}
	if (c->v6 ? !ip6_usable(c->addr) : !ip4_usable(c->addr))
		return -EINVAL;
	if (!c->v6)
		for (int i = 4; i < 16; i++)
			if (c->addr[i])
				return -EINVAL;	/* one representation per address */
	if (c->port == 0 || c->prio == 0 || c->prio > 0x7fffffffu)
		return -EINVAL;
	if ((!need_plen && c->plen) || (!need_nat && (c->map || c->filt)))
		return -EINVAL;
	return 0;
}

int agent_cand_format(const struct agent_cand *c, char *buf, size_t len)
{
	struct agent_text_out o = { .buf = buf, .len = len };
	char addr[INET6_ADDRSTRLEN];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (c->kind == AGENT_CAND_PRFLX) {
		struct agent_cand tmp = *c;

		tmp.kind = AGENT_CAND_RELAY;	/* the same rules: either family, no extras */
		if (agent_cand_check(&tmp))
			return -EINVAL;
	} else if (agent_cand_check(c)) {
		return -EINVAL;
	}
	if (!inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->addr, addr, sizeof(addr)))
		return -EINVAL;
	agent_text_put(&o, "%s %s %u prio=%" PRIu32, kinds[c->kind].name, addr, c->port, c->prio);
	if (c->plen)
		agent_text_put(&o, " plen=%u", c->plen);
	if (c->kind == AGENT_CAND_SRFLX)
		agent_text_put(&o, " map=%s filt=%s", behaviours[c->map], behaviours[c->filt]);
	return agent_text_done(&o);
}

static bool same_address(const struct agent_cand *a, const struct agent_cand *b)
{
	return a->v6 == b->v6 && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

/* Checks shared by both builders: every candidate valid, published, and no transport address twice. */
static int cands_check(const struct agent_cand *c, size_t n)
{
	if (n > AGENT_CAND_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (agent_cand_check(&c[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (same_address(&c[i], &c[j]))
				return -EINVAL;
	}
	return 0;
}

static int put_cands(struct wire *w, const struct agent_cand *c, size_t n)
{
	char s[AGENT_CAND_TEXT_MAX];

	for (size_t i = 0; i < n; i++) {
		int r = agent_cand_format(&c[i], s, sizeof(s));

		if (r < 0)
			return r;
		dns_txt_put(w, s, (size_t)r);
	}
	return 0;
}

static int finish(struct wire *w, size_t *len)
{
	if (wire_err(w))
		return wire_err(w) == -EINVAL ? -EINVAL : -ENOSPC;
	*len = wire_offset(w);
	return 0;
}

static int header_cand(char *buf, size_t len, uint32_t gen)
{
	int n = snprintf(buf, len, "at-cand=1 gen=%" PRIu32, gen);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

static int header_punch(char *buf, size_t len, const struct agent_punch *p)
{
	char nonce[2 * AGENT_PUNCH_NONCE_LEN + 1];
	int n;

	dns_txt_hex_put(nonce, p->nonce, sizeof(p->nonce));
	n = snprintf(buf, len, "at-punch=1 from=%s nonce=%s t=%" PRIu64, p->from, nonce, p->t);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int agent_cand_set_build(const struct agent_cand_set *s, uint8_t *rdata, size_t cap, size_t *len)
{
	struct wire w = wire_writer(rdata, cap);
	char h[64];
	int n, err;

	*len = 0;
	if ((err = cands_check(s->c, s->n)))
		return err;
	if ((n = header_cand(h, sizeof(h), s->gen)) < 0)
		return n;
	dns_txt_put(&w, h, (size_t)n);
	if ((err = put_cands(&w, s->c, s->n)))
		return err;
	return finish(&w, len);
}

int agent_punch_build(const struct agent_punch *p, uint8_t *rdata, size_t cap, size_t *len)
{
	struct wire w = wire_writer(rdata, cap);
	char h[AGENT_TXT_STRING_MAX + 1];
	int n, err;

	*len = 0;
	if (agent_label_check(p->from, strnlen(p->from, sizeof(p->from))) ||
	    strnlen(p->from, sizeof(p->from)) == sizeof(p->from))
		return -EINVAL;
	if ((err = cands_check(p->c, p->n)))
		return err;
	if ((n = header_punch(h, sizeof(h), p)) < 0)
		return n;
	dns_txt_put(&w, h, (size_t)n);
	if ((err = put_cands(&w, p->c, p->n)))
		return err;
	return finish(&w, len);
}

/*
 * Parsing. Each string is split at single spaces, its fields read, and the
 * result formatted again and compared with the string: one spelling per
 * value, so that build(parse(x)) == x for every accepted x.
 */

static int behaviour(const char *s)
{
	for (size_t i = 0; i < sizeof(behaviours) / sizeof(behaviours[0]); i++)
		if (!strcmp(s, behaviours[i]))
			return (int)i;
	return -EBADMSG;
}

/* A known kind's index, 0 for a well-formed word of an unknown kind, -EBADMSG otherwise. */
static int kind_of(const char *word)
{
	size_t n = strlen(word);

	for (size_t k = 1; k < NKINDS; k++)
		if (k != AGENT_CAND_PRFLX && !strcmp(word, kinds[k].name))
			return (int)k;
	if (n == 0 || n > 16 || !strcmp(word, kinds[AGENT_CAND_PRFLX].name))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (!((word[i] >= 'a' && word[i] <= 'z') || (word[i] >= '0' && word[i] <= '9')))
			return -EBADMSG;
	return 0;
}

/* One candidate string, printable (dns_txt_get()): 1 parsed into @p c, 0 for an unknown kind
 * (skipped), or -EBADMSG. */
static int cand_parse(const char *s, struct agent_cand *c)
{
	char buf[AGENT_TXT_STRING_MAX + 1], back[AGENT_CAND_TEXT_MAX];
	char *tok[DNS_TXT_TOKENS], *sp;
	int ntok, k, r;
	uint64_t v;

	memcpy(buf, s, strlen(s) + 1);
	/* the kind first: a later version's kind may use a grammar we do not know */
	if (!(sp = strchr(buf, ' ')))
		return -EBADMSG;
	*sp = '\0';
	if ((k = kind_of(buf)) <= 0)
		return k;
	*sp = ' ';
	if ((ntok = dns_txt_tokens(buf, tok)) < 4)
		return -EBADMSG;
	memset(c, 0, sizeof(*c));
	c->kind = (uint8_t)k;
	c->v6 = strchr(tok[1], ':') != NULL;
	if (c->v6 ? agent_text_ip6(c->addr, tok[1]) : agent_text_ip4(c->addr, tok[1]))
		return -EBADMSG;
	if (dns_txt_decimal(tok[2], 65535, &v))
		return -EBADMSG;
	c->port = (uint16_t)v;
	if (!dns_txt_value(tok[3], "prio") || dns_txt_decimal(dns_txt_value(tok[3], "prio"), 0x7fffffff, &v))
		return -EBADMSG;
	c->prio = (uint32_t)v;
	for (int i = 4; i < ntok; i++) {
		const char *val;

		if ((val = dns_txt_value(tok[i], "plen"))) {
			if (dns_txt_decimal(val, 128, &v))
				return -EBADMSG;
			c->plen = (uint8_t)v;
		} else if ((val = dns_txt_value(tok[i], "map"))) {
			if ((r = behaviour(val)) < 0)
				return -EBADMSG;
			c->map = (uint8_t)r;
		} else if ((val = dns_txt_value(tok[i], "filt"))) {
			if ((r = behaviour(val)) < 0)
				return -EBADMSG;
			c->filt = (uint8_t)r;
		} else {
			return -EBADMSG;
		}
	}
	/* validity (family, ranges, which keys a kind has) and the one spelling */
	if (agent_cand_check(c) || agent_cand_format(c, back, sizeof(back)) < 0 || strcmp(back, s))
		return -EBADMSG;
	return 1;
}

/* The candidate strings after the header, up to the end of the RDATA. */
static int cands_parse(struct wire *w, struct agent_cand *c, uint8_t *np, uint8_t *unknownp)
{
	size_t n = 0, unknown = 0;

	while (wire_avail(w)) {
		char s[256];
		int r = dns_txt_get(w, s);

		if (r < 0 || n + unknown == AGENT_CAND_MAX)
			return -EBADMSG;
		if ((r = cand_parse(s, &c[n])) < 0)
			return r;
		if (r == 0) {
			unknown++;
			continue;
		}
		for (size_t j = 0; j < n; j++)
			if (same_address(&c[j], &c[n]))
				return -EBADMSG;
		n++;
	}
	*np = (uint8_t)n;
	*unknownp = (uint8_t)unknown;
	return wire_err(w) ? -EBADMSG : 0;
}

int agent_cand_set_parse(const uint8_t *rdata, size_t len, struct agent_cand_set *s)
{
	struct wire w = wire_reader(rdata, len);
	char h[AGENT_TXT_STRING_MAX + 1], back[64], *tok[DNS_TXT_TOKENS];
	const char *val;
	uint64_t gen;
	int r;

	memset(s, 0, sizeof(*s));
	/* the header: printable, not empty, "at-cand=1" */
	if (dns_txt_get(&w, h) <= 0)
		return -EBADMSG;
	if ((r = dns_txt_version(h, "at-cand")))
		return r;
	if (dns_txt_tokens(h, tok) != 2 || !(val = dns_txt_value(tok[1], "gen")) ||
	    dns_txt_decimal(val, UINT32_MAX, &gen))
		return -EBADMSG;
	s->gen = (uint32_t)gen;
	if (header_cand(back, sizeof(back), s->gen) < 0 || strcmp(tok[0], "at-cand=1") ||
	    strcmp(back + strlen("at-cand=1 "), tok[1]))
		return -EBADMSG;
	if ((r = cands_parse(&w, s->c, &s->n, &s->unknown)))
		memset(s, 0, sizeof(*s));
	return r;
}

int agent_punch_parse(const uint8_t *rdata, size_t len, struct agent_punch *p)
{
	struct wire w = wire_reader(rdata, len);
	char h[AGENT_TXT_STRING_MAX + 1], *tok[DNS_TXT_TOKENS];
	const char *from, *nonce, *t;
	uint64_t x;
	int r;

	memset(p, 0, sizeof(*p));
	/* the header: printable, not empty, "at-punch=1" */
	if (dns_txt_get(&w, h) <= 0)
		return -EBADMSG;
	if ((r = dns_txt_version(h, "at-punch")))
		return r;
	if (dns_txt_tokens(h, tok) != 4 || strcmp(tok[0], "at-punch=1") ||
	    !(from = dns_txt_value(tok[1], "from")) || !(nonce = dns_txt_value(tok[2], "nonce")) ||
	    !(t = dns_txt_value(tok[3], "t")))
		goto bad;
	if (agent_label_check(from, strlen(from)) || dns_txt_hex(nonce, p->nonce, sizeof(p->nonce)) ||
	    dns_txt_decimal(t, UINT64_MAX, &x))
		goto bad;
	memcpy(p->from, from, strlen(from) + 1);
	p->t = x;
	if ((r = cands_parse(&w, p->c, &p->n, &p->unknown)))
		goto fail;
	return 0;
bad:
	r = -EBADMSG;
fail:
	memset(p, 0, sizeof(*p));
	return r;
}

bool agent_punch_fresh(const struct agent_punch *p, uint64_t now_s, uint32_t max_age_s)
{
	return p->t <= now_s ? now_s - p->t <= max_age_s : p->t - now_s <= max_age_s;
}

static int owner(char buf[static AGENT_NAME_MAX + 1], const char *prefix, const char *domain, const char *host)
{
	char d[AGENT_NAME_MAX + 1];
	int n;

	if (!domain || !host || agent_name_canon(d, sizeof(d), domain) < 0 ||
	    agent_label_check(host, strlen(host)))
		return -EINVAL;
	n = snprintf(buf, AGENT_NAME_MAX + 1, "%s.%s.%s", prefix, host, d);
	return n < 0 || n > AGENT_NAME_MAX ? -ENOSPC : 0;
}

int agent_cand_name(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
{
	return owner(buf, "_cand", domain, host);
}

int agent_punch_name(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
{
	return owner(buf, "_punch", domain, host);
}

/* Fill a TXT agent_rr from RDATA the builders wrote (already valid). */
static int rr_from_rdata(struct agent_rr *rr, const uint8_t *rdata, size_t len)
{
	struct wire w = wire_reader(rdata, len);

	rr->type = AGENT_RR_TXT;
	while (wire_avail(&w)) {
		uint8_t l = wire_read_u8(&w);

		if (rr->txt.n == AGENT_TXT_MAX)
			return -ENOSPC;
		wire_read_bytes(&w, rr->txt.s[rr->txt.n], l);
		rr->txt.s[rr->txt.n][l] = '\0';
		rr->txt.len[rr->txt.n++] = l;
	}
	return wire_err(&w) ? -EINVAL : 0;
}

int agent_cand_set_rr(const struct agent_cand_set *s, const char *domain, const char *host,
		      uint32_t ttl, struct agent_rr *rr)
{
	uint8_t rdata[AGENT_CAND_RDATA_MAX];
	size_t len;
	int r;

	memset(rr, 0, sizeof(*rr));
	if ((r = agent_cand_name(rr->name, domain, host)) ||
	    (r = agent_cand_set_build(s, rdata, sizeof(rdata), &len)))
		return r;
	rr->ttl = ttl ? ttl : AGENT_RR_TTL_DEFAULT;
	return rr_from_rdata(rr, rdata, len);
}

int agent_punch_rr(const struct agent_punch *p, const char *domain, const char *peer,
		   uint32_t ttl, struct agent_rr *rr)
{
	uint8_t rdata[AGENT_CAND_RDATA_MAX];
	size_t len;
	int r;

	memset(rr, 0, sizeof(*rr));
	if ((r = agent_punch_name(rr->name, domain, peer)) ||
	    (r = agent_punch_build(p, rdata, sizeof(rdata), &len)))
		return r;
	rr->ttl = ttl ? ttl : AGENT_PUNCH_TTL;
	rr->shared = true;	/* several hosts may ask the same peer at once */
	return rr_from_rdata(rr, rdata, len);
}
