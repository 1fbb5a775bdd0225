/*
 * Candidate pairs, paced connectivity checks and nomination (see paths.h,
 * docs/paths.md). Deadlines are absolute milliseconds on the monotonic
 * clock; AGENT_NEVER is "nothing scheduled".
 */
#include <errno.h>
#include <string.h>

#include "agent/paths.h"

void agent_paths_cfg_default(struct agent_paths_cfg *cfg)
{
	*cfg = (struct agent_paths_cfg){
		/* RFC 8445 §14.2 allows Ta down to 5 ms; 20 ms keeps a host with
		 * many pairs to a few hundred bytes per second per peer */
		.pace_ms = 20,
		.rto_ms = 100,
		.rto_max_ms = 1600,
		.tries = 6,
		.budget_ms = 10000,
		.nominate_wait_ms = 200,
		/* issue 12: tunnel up through the relay within 3 s of the first packet */
		.relay_wait_ms = 2000,
		.predict_after_ms = 1000,
		.predict_pace_ms = 4,
		.predict_max = 1024,
		.predict_socks = 256,
	};
}

const char *agent_path_class_name(enum agent_path_class cls)
{
	switch (cls) {
	case AGENT_PATH_RELAY: return "relay";
	case AGENT_PATH_PUNCHED: return "punched";
	case AGENT_PATH_MAPPED: return "mapped";
	case AGENT_PATH_PUBLIC: return "public";
	case AGENT_PATH_IPV6: return "ipv6";
	case AGENT_PATH_LAN: return "lan";
	}
	return NULL;
}

int agent_paths_ike_role(const uint8_t ours[static 16], const uint8_t peer[static 16])
{
	int c = memcmp(ours, peer, 16);

	if (c == 0)
		return -EINVAL;
	return c < 0 ? AGENT_IKE_INITIATOR : AGENT_IKE_RESPONDER;
}

static uint64_t after(uint64_t now, uint64_t ms)
{
	return now > AGENT_NEVER - 1 - ms ? AGENT_NEVER - 1 : now + ms;
}

static uint64_t min2(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max2(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static bool same_transport(const struct agent_cand *c, bool v6, const uint8_t addr[16], uint16_t port)
{
	return c->v6 == v6 && c->port == port && !memcmp(c->addr, addr, v6 ? 16 : 4);
}

/* Whether IPv4 @p addr is inside LAN candidate @p l's subnet. */
static bool in_subnet(const struct agent_cand *l, const uint8_t addr[4])
{
	uint32_t a = (uint32_t)l->addr[0] << 24 | (uint32_t)l->addr[1] << 16 | (uint32_t)l->addr[2] << 8 | l->addr[3];
	uint32_t b = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
	uint32_t mask = l->plen >= 32 ? 0xffffffffu : ~(0xffffffffu >> l->plen);

	return l->kind == AGENT_CAND_LAN && !l->v6 && (a & mask) == (b & mask);
}

/* Same LAN: both LAN candidates, one prefix length, one network. */
static bool same_subnet(const struct agent_cand *l, const struct agent_cand *r)
{
	return r->kind == AGENT_CAND_LAN && l->plen == r->plen && in_subnet(l, r->addr);
}

/* The local candidate a direct pair of this family is sent from: the best non-relayed one. */
static uint8_t base_of(const struct agent_paths *p, bool v6)
{
	uint8_t best = AGENT_PATHS_NONE;

	for (uint8_t i = 0; i < p->nlocal; i++) {
		const struct agent_cand *c = &p->local[i];

		if (c->v6 != v6 || c->kind == AGENT_CAND_RELAY)
			continue;
		if (best == AGENT_PATHS_NONE || c->prio > p->local[best].prio)
			best = i;
	}
	return best;
}

/* RFC 8445 §6.1.2.3: both ends compute the same number for the same pair. */
static uint64_t pair_prio(const struct agent_paths *p, uint8_t l, uint8_t r)
{
	uint64_t lp = p->local[l].prio, rp = p->remote[r].prio;
	uint64_t g = p->controlling ? lp : rp, d = p->controlling ? rp : lp;

	return (min2(g, d) << 32) + 2 * max2(g, d) + (g > d ? 1 : 0);
}

/* Whether pair @p a is to be preferred to pair @p b. */
static bool better(const struct agent_paths *p, uint8_t a, uint8_t b)
{
	const struct agent_pair *x = &p->pair[a], *y = &p->pair[b];

	if (x->cls != y->cls)
		return x->cls > y->cls;
	if (x->prio != y->prio)
		return x->prio > y->prio;
	return a < b;
}

static bool unresolved(const struct agent_pair *pr)
{
	return pr->state == AGENT_PAIR_WAITING || pr->state == AGENT_PAIR_IN_PROGRESS;
}

/* Find or add the pair (l, r, sock); its index, or -ENOSPC. */
static int pair_add(struct agent_paths *p, uint8_t l, uint8_t r, enum agent_path_class cls, uint16_t sock)
{
	bool relay = p->local[l].kind == AGENT_CAND_RELAY;

	for (uint8_t i = 0; i < p->npairs; i++) {
		const struct agent_pair *q = &p->pair[i];

		/* direct pairs leave through one socket whatever the local base: one pair per destination */
		if (q->remote == r && q->sock == sock &&
		    (relay ? q->local == l : p->local[q->local].kind != AGENT_CAND_RELAY))
			return i;
	}
	if (p->npairs == AGENT_PATHS_PAIRS_MAX)
		return -ENOSPC;
	p->pair[p->npairs] = (struct agent_pair){
		.local = l, .remote = r, .cls = (uint8_t)cls, .sock = sock,
		.prio = pair_prio(p, l, r), .next_at = AGENT_NEVER,
	};
	return p->npairs++;
}

/* The class of a direct pair to remote candidate @p r. */
static enum agent_path_class direct_class(const struct agent_paths *p, const struct agent_cand *r)
{
	switch (r->kind) {
	case AGENT_CAND_LAN: return AGENT_PATH_LAN;
	case AGENT_CAND_IPV6: return AGENT_PATH_IPV6;
	case AGENT_CAND_MAPPED: return AGENT_PATH_MAPPED;
	case AGENT_CAND_PUBLIC: return AGENT_PATH_PUBLIC;
	case AGENT_CAND_RELAY: return AGENT_PATH_RELAY;
	case AGENT_CAND_PRFLX:
		if (r->v6)
			return AGENT_PATH_IPV6;	/* through a stateful firewall, no NAT */
		for (uint8_t i = 0; i < p->nlocal; i++)
			if (in_subnet(&p->local[i], r->addr))
				return AGENT_PATH_LAN;
		return AGENT_PATH_PUNCHED;
	default: return AGENT_PATH_PUNCHED;
	}
}

/* The pairs for remote candidate @p r (docs/paths.md, "Pairs"). */
static int pairs_for(struct agent_paths *p, uint8_t r, uint16_t sock)
{
	const struct agent_cand *rc = &p->remote[r];
	uint8_t base = base_of(p, rc->v6);
	int err = 0;

	if (rc->kind == AGENT_CAND_LAN) {
		/* private addresses mean something only on the same subnet */
		for (uint8_t l = 0; l < p->nlocal && err >= 0; l++)
			if (same_subnet(&p->local[l], rc))
				err = pair_add(p, l, r, AGENT_PATH_LAN, sock);
		return err < 0 ? err : 0;
	}
	if (base != AGENT_PATHS_NONE && (rc->kind != AGENT_CAND_IPV6 || p->local[base].kind == AGENT_CAND_IPV6))
		err = pair_add(p, base, r, direct_class(p, rc), sock);
	/* through our relay to the peer's reachable or reflexive addresses (not relay to relay) */
	for (uint8_t l = 0; l < p->nlocal && err >= 0 && sock == 0; l++)
		if (p->local[l].kind == AGENT_CAND_RELAY && p->local[l].v6 == rc->v6 &&
		    rc->kind != AGENT_CAND_RELAY)
			err = pair_add(p, l, r, AGENT_PATH_RELAY, 0);
	return err < 0 ? err : 0;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define PORT_SPAN 64512u	/* 1024..65535 = 2^10 * 3^2 * 7 ports */

/* The i-th port of the permutation: a multiplier prime to PORT_SPAN visits each port once. */
static uint16_t perm_port(const struct agent_paths *p, uint32_t i)
{
	return (uint16_t)(1024u + (uint32_t)(((uint64_t)p->perm_a * i + p->perm_b) % PORT_SPAN));
}

static const struct agent_cand *first_of(const struct agent_cand *c, size_t n, enum agent_cand_kind kind)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].kind == kind && !c[i].v6)
			return &c[i];
	return NULL;
}

static bool hard(uint8_t map)
{
	return map == AGENT_NAT_AD || map == AGENT_NAT_APD;
}

/* Filtering that drops a reply from a port it was not sent to (unknown counts as the strictest). */
static bool port_filtering(uint8_t filt)
{
	return filt != AGENT_NAT_EI && filt != AGENT_NAT_AD;
}

enum agent_predict_role agent_paths_predict_role(const struct agent_cand *local, size_t nl,
						 const struct agent_cand *remote, size_t nr)
{
	const struct agent_cand *ls = first_of(local, nl, AGENT_CAND_SRFLX);
	const struct agent_cand *rs = first_of(remote, nr, AGENT_CAND_SRFLX);

	/* a mapping or a public address on either side gives a direct pair without guessing */
	if (!ls || !rs || first_of(local, nl, AGENT_CAND_MAPPED) || first_of(local, nl, AGENT_CAND_PUBLIC) ||
	    first_of(remote, nr, AGENT_CAND_MAPPED) || first_of(remote, nr, AGENT_CAND_PUBLIC))
		return AGENT_PREDICT_NONE;
	if (hard(ls->map) && hard(rs->map))
		return AGENT_PREDICT_BOTH;
	/*
	 * One endpoint-dependent side: if the easy side filters only by
	 * address, its own checks open the way for whatever port the hard side
	 * gets, and the peer-reflexive address is learned from the first
	 * packet; only port filtering needs the ports guessed.
	 */
	if (hard(ls->map))
		return port_filtering(rs->filt) ? AGENT_PREDICT_OPEN : AGENT_PREDICT_NONE;
	if (hard(rs->map))
		return port_filtering(ls->filt) ? AGENT_PREDICT_SPRAY : AGENT_PREDICT_NONE;
	return AGENT_PREDICT_NONE;
}

int agent_paths_start(struct agent_paths *p, const struct agent_paths_cfg *cfg,
		      const struct agent_cand *local, size_t nl,
		      const struct agent_cand *remote, size_t nr,
		      bool controlling, uint64_t seed, uint64_t now)
{
	int err;

	memset(p, 0, sizeof(*p));
	if (cfg)
		p->cfg = *cfg;
	else
		agent_paths_cfg_default(&p->cfg);
	if (p->cfg.tries == 0)
		p->cfg.tries = 1;
	if (p->cfg.predict_socks == 0)
		p->cfg.predict_socks = 1;
	p->nominated = AGENT_PATHS_NONE;
	p->predict_remote = AGENT_PATHS_NONE;
	if (nl > AGENT_PATHS_LOCAL_MAX || nr > AGENT_CAND_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nl; i++)
		if (agent_cand_check(&local[i]))
			return -EINVAL;
	for (size_t i = 0; i < nr; i++)
		if (agent_cand_check(&remote[i]))
			return -EINVAL;
	memcpy(p->local, local, nl * sizeof(*local));
	memcpy(p->remote, remote, nr * sizeof(*remote));
	p->nlocal = (uint8_t)nl;
	p->nremote = (uint8_t)nr;
	p->controlling = controlling;
	p->start = now;
	p->next_slot = now;
	for (uint8_t r = 0; r < p->nremote; r++)
		if ((err = pairs_for(p, r, 0)))
			return err;
	/* the check order: best first (indices are handed out only from now on) */
	for (uint8_t i = 1; i < p->npairs; i++)
		for (uint8_t j = i; j > 0 && better(p, j, (uint8_t)(j - 1)); j--) {
			struct agent_pair t = p->pair[j];

			p->pair[j] = p->pair[j - 1];
			p->pair[j - 1] = t;
		}

	p->predict_role = (uint8_t)agent_paths_predict_role(local, nl, remote, nr);
	for (uint8_t r = 0; r < p->nremote; r++)
		if (p->remote[r].kind == AGENT_CAND_SRFLX && !p->remote[r].v6) {
			p->predict_remote = r;
			break;
		}
	if (p->cfg.predict_max == 0 || p->predict_role == AGENT_PREDICT_NONE || base_of(p, false) == AGENT_PATHS_NONE)
		p->predict_over = true;
	p->perm_a = (uint32_t)(splitmix64(&seed) % PORT_SPAN) | 1u;
	while (p->perm_a % 3 == 0 || p->perm_a % 7 == 0)
		p->perm_a += 2;
	p->perm_b = (uint32_t)(splitmix64(&seed) % PORT_SPAN);
	p->state = p->npairs || !p->predict_over ? AGENT_PATHS_RUNNING : AGENT_PATHS_FAILED;
	return 0;
}

static uint64_t rto(const struct agent_paths *p, uint8_t tries)
{
	return agent_backoff_ms(p->cfg.rto_ms, p->cfg.rto_max_ms, tries ? (uint32_t)tries - 1 : 0);
}

static bool direct(const struct agent_pair *q)
{
	return q->cls != AGENT_PATH_RELAY;
}

static unsigned fam_bit(const struct agent_paths *p, const struct agent_pair *q)
{
	return p->remote[q->remote].v6 ? 2u : 1u;
}

/*
 * The pair to check now: a triggered one, a retransmission that is due, the
 * best waiting one. Between direct pairs of the two families, RFC 8305 §4
 * (Happy Eyeballs): first checks alternate between IPv4 and IPv6 (the best
 * pair overall goes first), and a family that had no check yet goes before
 * any retransmission, so the retransmissions of a dead family never delay
 * the other family's first check by more than one slot.
 */
static uint8_t pick(const struct agent_paths *p, uint64_t now)
{
	uint8_t trig = AGENT_PATHS_NONE, re = AGENT_PATHS_NONE, wait = AGENT_PATHS_NONE;
	uint8_t fam[2] = { AGENT_PATHS_NONE, AGENT_PATHS_NONE };	/* the best waiting direct pair: IPv4, IPv6 */

	for (uint8_t i = 0; i < p->npairs; i++) {
		const struct agent_pair *q = &p->pair[i];

		if (q->triggered && unresolved(q)) {
			if (trig == AGENT_PATHS_NONE || better(p, i, trig))
				trig = i;
		} else if (q->state == AGENT_PAIR_IN_PROGRESS && q->tries < p->cfg.tries && q->next_at <= now) {
			if (re == AGENT_PATHS_NONE || better(p, i, re))
				re = i;
		} else if (q->state == AGENT_PAIR_WAITING) {
			uint8_t *f = &fam[fam_bit(p, q) - 1];

			if (wait == AGENT_PATHS_NONE || better(p, i, wait))
				wait = i;
			if (direct(q) && (*f == AGENT_PATHS_NONE || better(p, i, *f)))
				*f = i;
		}
	}
	if (trig != AGENT_PATHS_NONE)
		return trig;
	if (p->fam_sent && fam[0] != AGENT_PATHS_NONE && fam[1] != AGENT_PATHS_NONE)
		wait = fam[p->last_v6 ? 0 : 1];
	if (wait != AGENT_PATHS_NONE && direct(&p->pair[wait]) && !(p->fam_sent & fam_bit(p, &p->pair[wait])))
		return wait;
	return re != AGENT_PATHS_NONE ? re : wait;
}

static void emit_pair(struct agent_paths *p, uint64_t now, uint8_t i, struct agent_paths_out *out)
{
	struct agent_pair *q = &p->pair[i];
	const struct agent_cand *r = &p->remote[q->remote];
	struct agent_check *c = &out->check[out->n++];

	q->tries++;
	if (q->tries == 1 && direct(q)) {
		p->fam_sent |= (uint8_t)fam_bit(p, q);
		p->last_v6 = r->v6;
	}
	q->triggered = false;
	q->state = AGENT_PAIR_IN_PROGRESS;
	q->next_at = after(now, rto(p, q->tries));
	*c = (struct agent_check){
		.pair = i, .via_relay = p->local[q->local].kind == AGENT_CAND_RELAY, .v6 = r->v6,
		.sock = q->sock, .port = r->port, .attempt = q->tries,
	};
	memcpy(c->addr, r->addr, 16);
}

static void emit_probe(struct agent_paths *p, uint64_t now, struct agent_paths_out *out)
{
	const struct agent_cand *r = &p->remote[p->predict_remote];
	struct agent_check *c = &out->check[out->n++];
	uint32_t i = p->predict_sent++;

	*c = (struct agent_check){ .pair = AGENT_PATHS_NONE, .port = r->port, .attempt = 1 };
	memcpy(c->addr, r->addr, 4);
	if (p->predict_role != AGENT_PREDICT_SPRAY)
		c->sock = (uint16_t)(1 + i % p->cfg.predict_socks);
	if (p->predict_role != AGENT_PREDICT_OPEN)
		c->port = perm_port(p, i);
	p->predict_next = after(now, p->cfg.predict_pace_ms);
	if (p->predict_sent >= p->cfg.predict_max) {
		p->predict_on = false;
		p->predict_over = true;
	}
}

static void predict_stop(struct agent_paths *p)
{
	p->predict_on = false;
	p->predict_over = true;
}

static bool any_unresolved(const struct agent_paths *p)
{
	for (uint8_t i = 0; i < p->npairs; i++)
		if (unresolved(&p->pair[i]))
			return true;
	return false;
}

/* When the best succeeded pair may be nominated (AGENT_NEVER if there is none or it already is). */
static uint64_t nominate_at(const struct agent_paths *p, uint64_t now, uint8_t *bestp)
{
	uint8_t best = AGENT_PATHS_NONE;
	bool pending = false;
	const struct agent_pair *b;

	for (uint8_t i = 0; i < p->npairs; i++)
		if (p->pair[i].state == AGENT_PAIR_SUCCEEDED && (best == AGENT_PATHS_NONE || better(p, i, best)))
			best = i;
	*bestp = best;
	if (best == AGENT_PATHS_NONE || best == p->nominated)
		return AGENT_NEVER;
	b = &p->pair[best];
	for (uint8_t i = 0; i < p->npairs; i++)
		if (unresolved(&p->pair[i]) && better(p, i, best))
			pending = true;
	if (b->cls == AGENT_PATH_RELAY) {
		uint64_t at = after(p->start, p->cfg.relay_wait_ms);

		/* issue 12: the relay only when no direct path works within relay_wait_ms */
		pending = pending || !p->predict_over;
		/*
		 * ... and not while a prediction round with a real chance runs (one
		 * side endpoint-independent: ~98 %, docs/paths.md §4): it ends
		 * within predict_max probes, and a direct path then needs no
		 * relayed detour first. Two endpoint-dependent sides (BOTH) have
		 * almost none: the relay goes first.
		 */
		if (p->predict_on && p->predict_role != AGENT_PREDICT_BOTH && p->predict_sent < p->cfg.predict_max)
			at = max2(at, after(p->predict_next,
					    (uint64_t)(p->cfg.predict_max - p->predict_sent) * p->cfg.predict_pace_ms));
		return pending ? max2(at, b->ok_at) : now;
	}
	return pending ? after(b->ok_at, p->cfg.nominate_wait_ms) : now;
}

static void nominate(struct agent_paths *p, uint8_t best, struct agent_paths_out *out)
{
	p->nominated = best;
	out->nominated = best;
	/* pairs that could not beat it are not worth a packet more */
	for (uint8_t i = 0; i < p->npairs; i++)
		if (unresolved(&p->pair[i]) && !better(p, i, best))
			p->pair[i].state = AGENT_PAIR_CANCELLED;
	if (p->pair[best].cls != AGENT_PATH_RELAY)
		predict_stop(p);
}

void agent_paths_poll(struct agent_paths *p, uint64_t now, struct agent_paths_out *out)
{
	uint64_t next = AGENT_NEVER, end = after(p->start, p->cfg.budget_ms), at;
	uint8_t best, i;
	bool work = false;

	memset(out, 0, sizeof(*out));
	out->nominated = AGENT_PATHS_NONE;
	if (p->state != AGENT_PATHS_RUNNING) {
		out->next = AGENT_NEVER;
		return;
	}
	if (now >= end) {
		for (i = 0; i < p->npairs; i++)
			if (unresolved(&p->pair[i]))
				p->pair[i].state = AGENT_PAIR_FAILED;
		predict_stop(p);
	}
	/* a pair whose last try timed out has failed */
	for (i = 0; i < p->npairs; i++) {
		struct agent_pair *q = &p->pair[i];

		if (q->state == AGENT_PAIR_IN_PROGRESS && q->tries >= p->cfg.tries && q->next_at <= now)
			q->state = AGENT_PAIR_FAILED;
	}
	if (now >= p->next_slot && (i = pick(p, now)) != AGENT_PATHS_NONE) {
		emit_pair(p, now, i, out);
		p->next_slot = after(now, p->cfg.pace_ms);
	}
	/* the prediction round: after predict_after_ms, or at once when every pair has failed */
	if (!p->predict_on && !p->predict_over && (now >= after(p->start, p->cfg.predict_after_ms) || !any_unresolved(p))) {
		p->predict_on = true;
		p->predict_next = now;
	}
	if (p->predict_on && now >= p->predict_next)
		emit_probe(p, now, out);

	at = nominate_at(p, now, &best);
	if (at <= now) {
		nominate(p, best, out);
		at = AGENT_NEVER;
	}
	next = min2(next, at);

	/* what comes next */
	for (i = 0; i < p->npairs; i++) {
		const struct agent_pair *q = &p->pair[i];

		if (q->state == AGENT_PAIR_WAITING || (q->triggered && unresolved(q)))
			work = true;
		else if (q->state == AGENT_PAIR_IN_PROGRESS)
			next = min2(next, q->tries < p->cfg.tries ? max2(q->next_at, p->next_slot) : q->next_at);
	}
	if (work)
		next = min2(next, p->next_slot);
	if (p->predict_on)
		next = min2(next, p->predict_next);
	else if (!p->predict_over)
		next = min2(next, after(p->start, p->cfg.predict_after_ms));
	if (any_unresolved(p) || !p->predict_over) {
		out->next = min2(next, end);
		return;
	}
	/* nothing left to check */
	p->state = p->nominated != AGENT_PATHS_NONE ? AGENT_PATHS_DONE : AGENT_PATHS_FAILED;
	out->failed = p->state == AGENT_PATHS_FAILED;
	out->next = AGENT_NEVER;
}

/* Index of the remote candidate at this transport address, learning it as peer-reflexive if new. */
static int remote_find_or_learn(struct agent_paths *p, bool v6, const uint8_t addr[16], uint16_t port)
{
	struct agent_cand *c;

	for (uint8_t r = 0; r < p->nremote; r++)
		if (same_transport(&p->remote[r], v6, addr, port))
			return r;
	if (p->nremote == AGENT_PATHS_REMOTE_MAX)
		return -ENOSPC;
	c = &p->remote[p->nremote];
	*c = (struct agent_cand){ .kind = AGENT_CAND_PRFLX, .v6 = v6, .port = port,
				  .prio = agent_cand_priority(AGENT_CAND_PRFLX, 0) };
	memcpy(c->addr, addr, v6 ? 16 : 4);
	return p->nremote++;
}

/* The pair a packet on @p sock to or from remote @p r belongs to, made if missing. */
static int pair_for_packet(struct agent_paths *p, uint8_t r, uint16_t sock)
{
	uint8_t base = base_of(p, p->remote[r].v6);

	for (uint8_t i = 0; i < p->npairs; i++)
		if (p->pair[i].remote == r && p->pair[i].sock == sock &&
		    p->local[p->pair[i].local].kind != AGENT_CAND_RELAY)
			return i;
	if (base == AGENT_PATHS_NONE)
		return -ENOENT;	/* a packet in a family we have no address in */
	return pair_add(p, base, r, direct_class(p, &p->remote[r]), sock);
}

int agent_paths_on_response(struct agent_paths *p, uint64_t now, const struct agent_check *sent, uint32_t rtt_ms)
{
	struct agent_pair *q;
	int i = sent->pair;

	if (p->state != AGENT_PATHS_RUNNING)
		return 0;	/* the round is over: the agent starts another */
	if (sent->pair == AGENT_PATHS_NONE) {
		/* a probe got through: its destination is the peer's mapping for our socket */
		int r = remote_find_or_learn(p, sent->v6, sent->addr, sent->port);

		if (r < 0)
			return r;
		if ((i = pair_for_packet(p, (uint8_t)r, sent->sock)) < 0)
			return i;
	} else if (sent->pair >= p->npairs) {
		return -ENOENT;
	}
	q = &p->pair[i];
	q->state = AGENT_PAIR_SUCCEEDED;
	q->triggered = false;
	q->ok_at = now;
	q->rtt_ms = rtt_ms;
	if (q->cls != AGENT_PATH_RELAY)
		predict_stop(p);
	return 0;
}

int agent_paths_on_check(struct agent_paths *p, uint64_t now, uint16_t sock, bool v6,
			 const uint8_t addr[static 16], uint16_t port)
{
	struct agent_pair *q;
	int r, i;

	(void)now;
	if (p->state != AGENT_PATHS_RUNNING)
		return 0;
	if ((r = remote_find_or_learn(p, v6, addr, port)) < 0)
		return r;
	if ((i = pair_for_packet(p, (uint8_t)r, sock)) < 0)
		return i;
	q = &p->pair[i];
	/* worse than what is nominated: answering the peer (the caller's job) is enough */
	if (p->nominated != AGENT_PATHS_NONE && !better(p, (uint8_t)i, p->nominated)) {
		if (q->state == AGENT_PAIR_WAITING)
			q->state = AGENT_PAIR_CANCELLED;	/* just learned */
		return 0;
	}
	if (q->state == AGENT_PAIR_SUCCEEDED || q->state == AGENT_PAIR_CANCELLED)
		return 0;
	/* RFC 8445 §7.3.1.4: the peer's check opened our NAT for the reverse direction: check it next */
	if (!unresolved(q)) {
		q->state = AGENT_PAIR_WAITING;
		q->tries = 0;
		q->next_at = AGENT_NEVER;
	}
	q->triggered = true;
	return 0;
}
