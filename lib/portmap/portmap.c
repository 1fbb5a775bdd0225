/*
 * The port-mapping client state machine (see portmap.h). All timer policy
 * of port mapping lives here: retransmission, protocol fall-back,
 * renewal, re-creation after a gateway reset, deletion on exit.
 */
#include "portmap/portmap.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

#define MAX_TRIES	16

void portmap_config_default(struct portmap_config *cfg)
{
	*cfg = (struct portmap_config){
		.lifetime = PORTMAP_DEFAULT_LIFETIME,
		.first_ms = PORTMAP_DEFAULT_FIRST_MS,
		.tries = PORTMAP_DEFAULT_TRIES,
		.pcp_tries = PORTMAP_DEFAULT_PCP_TRIES,
		.delete_tries = PORTMAP_DEFAULT_DELETE_TRIES,
		.reprobe_s = PORTMAP_DEFAULT_REPROBE_S,
		.protocols = PORTMAP_PROTO_ALL,
	};
}

void portmap_init(struct portmap *pm, const struct portmap_config *cfg, struct in_addr local)
{
	memset(pm, 0, sizeof(*pm));
	if (cfg)
		pm->cfg = *cfg;
	else
		portmap_config_default(&pm->cfg);
	if (pm->cfg.tries < 1)
		pm->cfg.tries = 1;
	if (pm->cfg.tries > MAX_TRIES)
		pm->cfg.tries = MAX_TRIES;
	if (pm->cfg.pcp_tries > pm->cfg.tries)
		pm->cfg.pcp_tries = pm->cfg.tries;
	if (pm->cfg.delete_tries < 1)
		pm->cfg.delete_tries = 1;
	if (pm->cfg.delete_tries > MAX_TRIES)
		pm->cfg.delete_tries = MAX_TRIES;
	if (pm->cfg.first_ms < 1)
		pm->cfg.first_ms = 1;
	if (!(pm->cfg.protocols & PORTMAP_PROTO_ALL))
		pm->cfg.protocols = PORTMAP_PROTO_ALL;
	pm->cfg.protocols &= PORTMAP_PROTO_ALL;
	pm->local = local;
	pm->addr_deadline = PORTMAP_NEVER;
}

int portmap_add(struct portmap *pm, uint8_t ipproto, uint16_t internal_port, uint16_t want_port,
		const uint8_t nonce[static PCP_NONCE_LEN])
{
	struct portmap_map *m;

	if ((ipproto != PCP_PROTO_UDP && ipproto != PCP_PROTO_TCP) || internal_port == 0)
		return -EINVAL;
	if (pm->n_maps == PORTMAP_MAX_MAPS)
		return -ENOSPC;
	m = &pm->maps[pm->n_maps];
	memset(m, 0, sizeof(*m));
	m->state = PORTMAP_IDLE;
	m->ipproto = ipproto;
	m->internal_port = internal_port;
	m->want_port = want_port;
	memcpy(m->nonce, nonce, PCP_NONCE_LEN);
	m->deadline = PORTMAP_NEVER;
	return (int)pm->n_maps++;
}

const struct portmap_map *portmap_get(const struct portmap *pm, unsigned int idx)
{
	return idx < pm->n_maps ? &pm->maps[idx] : NULL;
}

static unsigned int map_index(const struct portmap *pm, const struct portmap_map *m)
{
	return (unsigned int)(m - pm->maps);
}

/* ---- output ---- */

static struct portmap_action *add_action(struct portmap_out *out, enum portmap_act kind,
					 unsigned int map)
{
	struct portmap_action *a;

	if (out->n_actions == PORTMAP_MAX_OUT)
		return NULL;	/* cannot happen: bounded by the number of mappings */
	a = &out->actions[out->n_actions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->map = map;
	return a;
}

static struct portmap_note *add_note(struct portmap_out *out, enum portmap_note_kind kind,
				     unsigned int map, enum portmap_proto proto)
{
	struct portmap_note *n;

	if (out->n_notes == PORTMAP_MAX_OUT)
		return NULL;
	n = &out->notes[out->n_notes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->map = map;
	n->proto = proto;
	return n;
}

static void out_begin(struct portmap_out *out)
{
	out->n_actions = 0;
	out->n_notes = 0;
	out->deadline = PORTMAP_NEVER;
}

static void out_end(const struct portmap *pm, struct portmap_out *out)
{
	out->deadline = portmap_deadline(pm);
}

uint64_t portmap_deadline(const struct portmap *pm)
{
	uint64_t d = pm->addr_query ? pm->addr_deadline : PORTMAP_NEVER;

	for (unsigned int i = 0; i < pm->n_maps; i++)
		if (pm->maps[i].deadline < d)
			d = pm->maps[i].deadline;
	return d;
}

/* ---- requests ---- */

/* The MAP request for @m in its protocol; @lifetime 0 deletes. */
static void send_map(struct portmap *pm, struct portmap_map *m, uint32_t lifetime,
		     struct portmap_out *out)
{
	struct portmap_action *a = add_action(out, PORTMAP_ACT_SEND, map_index(pm, m));
	uint16_t port = m->held ? m->ext_port : m->want_port;
	int n = -EINVAL;

	if (!a)
		return;
	a->proto = m->proto;
	if (m->proto == PORTMAP_PROTO_PCP) {
		struct pcp_msg req;

		memset(&req, 0, sizeof(req));
		req.opcode = PCP_OP_MAP;
		req.lifetime = lifetime;
		pcp_addr_from_v4(&req.client_addr, pm->local);
		memcpy(req.nonce, m->nonce, PCP_NONCE_LEN);
		req.protocol = m->ipproto;
		req.internal_port = m->internal_port;
		/* RFC 6887 §11.2.1: renew (and delete) with what was assigned,
		 * so a gateway that lost state can give the same back */
		req.external_port = port;
		if (m->held)
			pcp_addr_from_v4(&req.external_addr, m->ext_addr);
		else
			pcp_addr_from_v4(&req.external_addr, (struct in_addr){ 0 });
		n = pcp_msg_build(&req, a->pkt, sizeof(a->pkt));
	} else if (m->proto == PORTMAP_PROTO_NATPMP) {
		struct natpmp_request req = {
			.op = m->ipproto == PCP_PROTO_TCP ? NATPMP_OP_MAP_TCP : NATPMP_OP_MAP_UDP,
			.internal_port = m->internal_port,
			.external_port = port,
			.lifetime = lifetime,
		};

		n = natpmp_request_build(&req, a->pkt, sizeof(a->pkt));
	}
	if (n < 0) {
		out->n_actions--;	/* cannot happen: our own fields always fit */
		return;
	}
	a->len = (size_t)n;
}

static void send_addr_query(struct portmap *pm, struct portmap_out *out)
{
	struct portmap_action *a = add_action(out, PORTMAP_ACT_SEND, PORTMAP_NO_MAP);
	struct natpmp_request req = { .op = NATPMP_OP_EXTADDR };
	int n;

	if (!a)
		return;
	a->proto = PORTMAP_PROTO_NATPMP;
	n = natpmp_request_build(&req, a->pkt, sizeof(a->pkt));
	if (n < 0) {
		out->n_actions--;
		return;
	}
	a->len = (size_t)n;
}

static uint64_t interval(const struct portmap *pm, unsigned int k)
{
	if (k >= MAX_TRIES)
		k = MAX_TRIES - 1;
	return (uint64_t)pm->cfg.first_ms << k;
}

/* NAT-PMP: ask for the external address (opcode 0) on the retry schedule. */
static void addr_begin(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	if (pm->addr_query)
		return;
	pm->addr_query = true;
	send_addr_query(pm, out);
	pm->addr_attempt = 1;
	pm->addr_deadline = now + interval(pm, 0);
}

static void report_pending(struct portmap *pm, struct portmap_out *out);

static void addr_end(struct portmap *pm, struct portmap_out *out)
{
	pm->addr_query = false;
	pm->addr_deadline = PORTMAP_NEVER;
	report_pending(pm, out);
}

/* Send attempt m->attempt of the current cycle and arm the timer. */
static void send_attempt(struct portmap *pm, struct portmap_map *m, uint32_t lifetime, uint64_t now,
			 struct portmap_out *out)
{
	unsigned int k = m->attempt;
	uint64_t d;

	/* a renewal keeps trying until expiry, at the last interval at most */
	if (m->state == PORTMAP_RENEW && k > pm->cfg.tries - 1)
		k = pm->cfg.tries - 1;
	send_map(pm, m, lifetime, out);
	d = now + interval(pm, k);
	m->attempt++;
	if (m->state == PORTMAP_RENEW && d > m->expires)
		d = m->expires > now ? m->expires : now;
	m->deadline = d;
}

/* Begin a request cycle (REQUEST, RENEW or DELETE) in @proto. */
static void cycle_begin(struct portmap *pm, struct portmap_map *m, enum portmap_state state,
			enum portmap_proto proto, uint64_t now, struct portmap_out *out)
{
	m->state = state;
	m->proto = proto;
	m->attempt = 0;
	send_attempt(pm, m, state == PORTMAP_DELETE ? 0 : pm->cfg.lifetime, now, out);
	if (proto == PORTMAP_PROTO_NATPMP && state != PORTMAP_DELETE)
		addr_begin(pm, now, out);
}

static void upnp_begin(struct portmap *pm, struct portmap_map *m, struct portmap_out *out)
{
	struct portmap_action *a = add_action(out, PORTMAP_ACT_UPNP_MAP, map_index(pm, m));

	m->state = PORTMAP_UPNP;
	m->proto = PORTMAP_PROTO_UPNP;
	m->attempt = 0;
	m->deadline = PORTMAP_NEVER;	/* the caller always reports back */
	if (!a)
		return;
	a->proto = PORTMAP_PROTO_UPNP;
	a->ipproto = m->ipproto;
	a->internal_port = m->internal_port;
	a->external_port = m->held ? m->ext_port : m->want_port;
	a->lifetime = pm->cfg.lifetime;
}

static void forget_gateway(struct portmap *pm)
{
	pm->gw_proto = PORTMAP_PROTO_NONE;
	pm->no_5351 = false;
	pm->epoch.have = false;
	pm->have_addr = false;
	pm->addr_query = false;
	pm->addr_deadline = PORTMAP_NEVER;
}

/* Nothing (more) to try: PUBLIC, or FAILED if someone refused. */
static void end_nothing(struct portmap *pm, struct portmap_map *m, uint64_t now,
			struct portmap_out *out)
{
	struct portmap_note *n;
	uint64_t retry = (uint64_t)pm->cfg.reprobe_s * 1000;

	m->held = false;
	m->reported = false;
	m->recreating = false;
	m->attempt = 0;
	if (m->refused_by != PORTMAP_PROTO_NONE) {
		m->state = PORTMAP_FAILED;
		n = add_note(out, PORTMAP_NOTE_FAILED, map_index(pm, m), m->refused_by);
		if (n)
			n->result = m->refused_result;
		/* RFC 6887 §7.4: not again before the error's lifetime */
		if (retry && m->retry_s && (uint64_t)m->retry_s * 1000 > retry)
			retry = (uint64_t)m->retry_s * 1000;
	} else {
		m->state = PORTMAP_PUBLIC;
		add_note(out, PORTMAP_NOTE_PUBLIC, map_index(pm, m), PORTMAP_PROTO_NONE);
	}
	m->proto = PORTMAP_PROTO_NONE;
	m->deadline = retry ? now + retry : PORTMAP_NEVER;
}

/* Port 5351 is done for @m (no answer, or refused): UPnP IGD next, if allowed. */
static void after_5351(struct portmap *pm, struct portmap_map *m, uint64_t now,
		       struct portmap_out *out)
{
	if ((pm->cfg.protocols & PORTMAP_PROTO_UPNP) && m->refused_by != PORTMAP_PROTO_UPNP) {
		struct portmap_note *n;

		n = add_note(out, PORTMAP_NOTE_FALLBACK, map_index(pm, m), PORTMAP_PROTO_UPNP);
		if (n)
			n->from = m->proto;
		upnp_begin(pm, m, out);
	} else {
		end_nothing(pm, m, now, out);
	}
}

/* Start @m from what is known about the gateway. */
static void start_fresh(struct portmap *pm, struct portmap_map *m, uint64_t now,
			struct portmap_out *out)
{
	unsigned int allowed = pm->cfg.protocols;

	m->refused_by = PORTMAP_PROTO_NONE;
	m->refused_result = 0;
	m->retry_s = 0;
	if ((pm->gw_proto == PORTMAP_PROTO_PCP || pm->gw_proto == PORTMAP_PROTO_NATPMP) &&
	    (allowed & pm->gw_proto)) {
		cycle_begin(pm, m, PORTMAP_REQUEST, pm->gw_proto, now, out);
	} else if (pm->gw_proto == PORTMAP_PROTO_UPNP || pm->no_5351 ||
		   !(allowed & (PORTMAP_PROTO_PCP | PORTMAP_PROTO_NATPMP))) {
		m->proto = PORTMAP_PROTO_NONE;
		after_5351(pm, m, now, out);
	} else {
		cycle_begin(pm, m, PORTMAP_REQUEST,
			    (allowed & PORTMAP_PROTO_PCP) ? PORTMAP_PROTO_PCP : PORTMAP_PROTO_NATPMP,
			    now, out);
	}
}

void portmap_start(struct portmap *pm, unsigned int idx, uint64_t now, struct portmap_out *out)
{
	out_begin(out);
	if (idx < pm->n_maps && !pm->stopping && pm->maps[idx].state == PORTMAP_IDLE)
		start_fresh(pm, &pm->maps[idx], now, out);
	out_end(pm, out);
}

/* ---- grants and refusals ---- */

static void note_grant(struct portmap *pm, struct portmap_map *m, bool was_reported,
		       struct in_addr old_addr, uint16_t old_port, struct portmap_out *out)
{
	enum portmap_note_kind kind = PORTMAP_NOTE_MAPPED;
	struct portmap_note *n;

	if (was_reported) {
		if (old_addr.s_addr != m->ext_addr.s_addr || old_port != m->ext_port)
			kind = PORTMAP_NOTE_CHANGED;
		else if (m->recreating)
			kind = PORTMAP_NOTE_RECREATED;
		else
			kind = PORTMAP_NOTE_RENEWED;
	}
	n = add_note(out, kind, map_index(pm, m), m->proto);
	if (n) {
		n->ext_addr = m->ext_addr;
		n->ext_port = m->ext_port;
		n->lifetime = m->lifetime;
		n->old_addr = old_addr;
		n->old_port = old_port;
	}
	m->reported = true;
	m->recreating = false;
}

/* NAT-PMP mappings granted while the address was still being asked for. */
static void report_pending(struct portmap *pm, struct portmap_out *out)
{
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];

		if (m->held && !m->reported && m->state == PORTMAP_MAPPED &&
		    m->proto == PORTMAP_PROTO_NATPMP) {
			m->ext_addr = pm->ext_addr;
			note_grant(pm, m, false, (struct in_addr){ 0 }, 0, out);
		}
	}
}

static void grant(struct portmap *pm, struct portmap_map *m, enum portmap_proto proto,
		  struct in_addr addr, uint16_t port, uint32_t lifetime, uint64_t now,
		  struct portmap_out *out)
{
	bool was_reported = m->held && m->reported;
	struct in_addr old_addr = m->ext_addr;
	uint16_t old_port = m->ext_port;
	uint64_t half;

	m->state = PORTMAP_MAPPED;
	m->proto = proto;
	m->attempt = 0;
	m->held = true;
	m->ext_addr = addr;
	m->ext_port = port;
	m->lifetime = lifetime;
	m->refused_by = PORTMAP_PROTO_NONE;
	if (lifetime) {
		m->expires = now + (uint64_t)lifetime * 1000;
		/* RFC 6886 §3.3, RFC 6887 §11.2.1: renew at half the lifetime */
		half = (uint64_t)lifetime * 500;
	} else {
		/* a permanent UPnP mapping: refreshed as if it had our lifetime */
		m->expires = PORTMAP_NEVER;
		half = (uint64_t)pm->cfg.lifetime * 500;
	}
	m->deadline = now + (half < 1000 ? 1000 : half);

	if (proto == PORTMAP_PROTO_NATPMP) {
		if (!pm->have_addr && pm->addr_query) {
			m->reported = was_reported;
			if (!was_reported)
				return;	/* reported when the address arrives */
		}
		m->ext_addr = pm->ext_addr;
	}
	note_grant(pm, m, was_reported, old_addr, old_port, out);
}

static void refused(struct portmap *pm, struct portmap_map *m, enum portmap_proto proto,
		    unsigned int result, uint32_t retry_s, uint64_t now, struct portmap_out *out)
{
	struct portmap_note *n = add_note(out, PORTMAP_NOTE_REFUSED, map_index(pm, m), proto);

	if (n)
		n->result = (uint16_t)result;
	m->refused_by = proto;
	m->refused_result = (uint16_t)result;
	m->retry_s = retry_s;
	m->held = false;
	m->reported = false;
	after_5351(pm, m, now, out);
}

/* The gateway lost its state: ask again, at once, for every mapping it held. */
static void gateway_reset(struct portmap *pm, struct portmap_map *except, uint64_t now,
			  struct portmap_out *out)
{
	add_note(out, PORTMAP_NOTE_GATEWAY_RESET, PORTMAP_NO_MAP, pm->gw_proto);
	pm->have_addr = false;	/* NAT-PMP: ask again, it may have changed too */
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];

		if (!m->held || (m->proto != PORTMAP_PROTO_PCP && m->proto != PORTMAP_PROTO_NATPMP))
			continue;
		if (m->state != PORTMAP_MAPPED && m->state != PORTMAP_RENEW &&
		    m->state != PORTMAP_REQUEST)
			continue;
		m->recreating = true;
		if (m != except)
			cycle_begin(pm, m, PORTMAP_REQUEST, m->proto, now, out);
	}
	if (pm->gw_proto == PORTMAP_PROTO_NATPMP && !pm->addr_query)
		addr_begin(pm, now, out);
}

/* Renew every mapping held now (an announcement hinted at a change). */
static void refresh_all(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];

		if (m->state != PORTMAP_MAPPED)
			continue;
		if (m->proto == PORTMAP_PROTO_UPNP)
			upnp_begin(pm, m, out);
		else
			cycle_begin(pm, m, PORTMAP_RENEW, m->proto, now, out);
	}
}

/* An announcement from a gateway we had given up on: try again now. */
static void retry_given_up(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	bool any = false;

	for (unsigned int i = 0; i < pm->n_maps; i++)
		if (pm->maps[i].state == PORTMAP_PUBLIC || pm->maps[i].state == PORTMAP_FAILED)
			any = true;
	if (!any)
		return;
	forget_gateway(pm);
	for (unsigned int i = 0; i < pm->n_maps; i++)
		if (pm->maps[i].state == PORTMAP_PUBLIC || pm->maps[i].state == PORTMAP_FAILED)
			start_fresh(pm, &pm->maps[i], now, out);
}

static bool in_flight(const struct portmap_map *m, enum portmap_proto proto)
{
	return m->proto == proto && (m->state == PORTMAP_REQUEST || m->state == PORTMAP_RENEW ||
				     m->state == PORTMAP_DELETE);
}

/* The gateway does not speak @from (RFC 6887 §9): move what speaks it to @to. */
static void version_fallback(struct portmap *pm, enum portmap_proto from, enum portmap_proto to,
			     unsigned int result, uint64_t now, struct portmap_out *out)
{
	bool can = (pm->cfg.protocols & to) != 0;

	if (can)
		pm->gw_proto = to;
	if (from == PORTMAP_PROTO_NATPMP) {
		pm->addr_query = false;
		pm->addr_deadline = PORTMAP_NEVER;
	}
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];
		struct portmap_note *n;

		if (!in_flight(m, from))
			continue;
		if (m->state == PORTMAP_DELETE) {
			if (can) {
				cycle_begin(pm, m, PORTMAP_DELETE, to, now, out);
			} else {
				m->state = PORTMAP_DELETED;
				m->deadline = PORTMAP_NEVER;
			}
			continue;
		}
		if (!can) {
			refused(pm, m, from, result, 0, now, out);
			continue;
		}
		n = add_note(out, PORTMAP_NOTE_FALLBACK, i, to);
		if (n)
			n->from = from;
		cycle_begin(pm, m, m->state, to, now, out);
	}
}

/* @m was held and is gone (renewal unanswered, gateway gone): say what was lost. */
static void note_lost(struct portmap *pm, struct portmap_map *m, struct portmap_out *out)
{
	struct portmap_note *n = add_note(out, PORTMAP_NOTE_LOST, map_index(pm, m), m->proto);

	if (n) {
		n->ext_addr = m->ext_addr;
		n->ext_port = m->ext_port;
	}
	m->held = false;
	m->reported = false;
}

static void deleted(struct portmap *pm, struct portmap_map *m, struct portmap_out *out)
{
	struct portmap_note *n = add_note(out, PORTMAP_NOTE_DELETED, map_index(pm, m), m->proto);

	if (n) {
		n->ext_addr = m->ext_addr;
		n->ext_port = m->ext_port;
	}
	m->state = PORTMAP_DELETED;
	m->held = false;
	m->deadline = PORTMAP_NEVER;
}

/* ---- replies ---- */

/*
 * What every MAP answer in @proto does before its result is looked at: a
 * first answer tells what the gateway speaks, its epoch is checked (RFC
 * 6886 §3.6, RFC 6887 §8.5), and an answer to a delete ends it. @m is the
 * mapping it answers, or NULL. true if the caller goes on with @m.
 */
static bool map_answer(struct portmap *pm, struct portmap_map *m, enum portmap_proto proto,
		       uint32_t epoch, uint64_t now, struct portmap_out *out)
{
	if (pm->gw_proto == PORTMAP_PROTO_NONE && m)
		pm->gw_proto = proto;
	if (pm->gw_proto == proto && !portmap_epoch_update(&pm->epoch, proto, epoch, now))
		gateway_reset(pm, m, now, out);
	if (!m)
		return false;
	if (m->state == PORTMAP_DELETE) {
		deleted(pm, m, out);
		return false;
	}
	return true;
}

static void on_natpmp(struct portmap *pm, const struct portmap_reply *r, uint64_t now,
		      struct portmap_out *out)
{
	const struct natpmp_response *resp = &r->natpmp;
	struct portmap_map *m = NULL;
	uint8_t ipproto;

	if (r->unsupp_version) {
		/* a NAT-PMP-only gateway answering our PCP request */
		(void)portmap_epoch_update(&pm->epoch, PORTMAP_PROTO_NATPMP, resp->epoch, now);
		version_fallback(pm, PORTMAP_PROTO_PCP, PORTMAP_PROTO_NATPMP, PCP_RESULT_UNSUPP_VERSION,
				 now, out);
		return;
	}

	if (resp->op == NATPMP_OP_EXTADDR) {
		if (pm->stopping)
			return;
		if (pm->gw_proto != PORTMAP_PROTO_NATPMP &&
		    !(pm->gw_proto == PORTMAP_PROTO_NONE && pm->addr_query)) {
			/* another protocol's announcement: a hint that the
			 * address changed or the gateway restarted */
			bool differs = false;

			for (unsigned int i = 0; i < pm->n_maps; i++)
				if (pm->maps[i].held && pm->maps[i].state == PORTMAP_MAPPED &&
				    resp->result == NATPMP_RESULT_SUCCESS &&
				    pm->maps[i].ext_addr.s_addr != resp->external_addr.s_addr)
					differs = true;
			if (differs)
				refresh_all(pm, now, out);
			retry_given_up(pm, now, out);
			return;
		}
		/* our own question answered: this gateway speaks NAT-PMP */
		pm->gw_proto = PORTMAP_PROTO_NATPMP;
		if (!portmap_epoch_update(&pm->epoch, PORTMAP_PROTO_NATPMP, resp->epoch, now))
			gateway_reset(pm, NULL, now, out);
		if (resp->result != NATPMP_RESULT_SUCCESS) {
			addr_end(pm, out);
			return;
		}
		pm->have_addr = true;
		pm->ext_addr = resp->external_addr;
		/* RFC 6886 §3.2.1: the gateway's address changed (compared per
		 * mapping, so a change across a gateway reset is seen too) */
		for (unsigned int i = 0; i < pm->n_maps; i++) {
			struct portmap_map *mm = &pm->maps[i];

			if (mm->held && mm->reported && mm->proto == PORTMAP_PROTO_NATPMP &&
			    mm->ext_addr.s_addr != resp->external_addr.s_addr) {
				struct in_addr prev = mm->ext_addr;

				mm->ext_addr = resp->external_addr;
				note_grant(pm, mm, true, prev, mm->ext_port, out);
			}
		}
		addr_end(pm, out);
		return;
	}

	ipproto = resp->op == NATPMP_OP_MAP_TCP ? PCP_PROTO_TCP : PCP_PROTO_UDP;
	for (unsigned int i = 0; i < pm->n_maps && !m; i++) {
		struct portmap_map *c = &pm->maps[i];

		if (in_flight(c, PORTMAP_PROTO_NATPMP) && c->ipproto == ipproto &&
		    (resp->short_form || c->internal_port == resp->internal_port))
			m = c;
	}
	if (!map_answer(pm, m, PORTMAP_PROTO_NATPMP, resp->epoch, now, out))
		return;
	/* a "success" without a lifetime or a port grants nothing to publish */
	if (resp->result != NATPMP_RESULT_SUCCESS || resp->lifetime == 0 || resp->external_port == 0) {
		refused(pm, m, PORTMAP_PROTO_NATPMP, resp->result, 0, now, out);
		return;
	}
	grant(pm, m, PORTMAP_PROTO_NATPMP, pm->ext_addr, resp->external_port, resp->lifetime, now,
	      out);
}

static void on_pcp(struct portmap *pm, const struct portmap_reply *r, uint64_t now,
		   struct portmap_out *out)
{
	const struct pcp_msg *p = &r->pcp;
	struct portmap_map *m = NULL;
	struct in_addr addr;

	if (r->unsupp_version) {
		if (p->version == PCP_VERSION)	/* a PCP-only gateway answering NAT-PMP */
			version_fallback(pm, PORTMAP_PROTO_NATPMP, PORTMAP_PROTO_PCP,
					 NATPMP_RESULT_UNSUPP_VERSION, now, out);
		else				/* a PCP gateway of another version */
			version_fallback(pm, PORTMAP_PROTO_PCP, PORTMAP_PROTO_NATPMP,
					 PCP_RESULT_UNSUPP_VERSION, now, out);
		return;
	}

	if (p->opcode == PCP_OP_ANNOUNCE) {
		if (pm->stopping)
			return;
		if (pm->gw_proto == PORTMAP_PROTO_PCP) {
			/* RFC 6887 §14.1: check the epoch; renew either way, so
			 * a changed external address is learnt too */
			if (!portmap_epoch_update(&pm->epoch, PORTMAP_PROTO_PCP, p->epoch, now))
				gateway_reset(pm, NULL, now, out);
			else
				refresh_all(pm, now, out);
		} else {
			refresh_all(pm, now, out);
		}
		retry_given_up(pm, now, out);
		return;
	}

	/* MAP: match nonce, protocol and internal port (RFC 6887 §11.3); an
	 * unsolicited MAP response (RFC 6887 §14.2) may be for a held mapping */
	for (unsigned int i = 0; i < pm->n_maps && !m; i++) {
		struct portmap_map *c = &pm->maps[i];

		if (!in_flight(c, PORTMAP_PROTO_PCP) &&
		    !(c->state == PORTMAP_MAPPED && c->proto == PORTMAP_PROTO_PCP))
			continue;
		if (!p->has_map) {
			if (in_flight(c, PORTMAP_PROTO_PCP))
				m = c;
			continue;
		}
		if (memcmp(c->nonce, p->nonce, PCP_NONCE_LEN) == 0 && c->ipproto == p->protocol &&
		    c->internal_port == p->internal_port)
			m = c;
	}
	if (!map_answer(pm, m, PORTMAP_PROTO_PCP, p->epoch, now, out))
		return;
	if (p->result != PCP_RESULT_SUCCESS) {
		refused(pm, m, PORTMAP_PROTO_PCP, p->result, p->lifetime, now, out);
		return;
	}
	if (p->lifetime == 0 || p->external_port == 0 || !pcp_addr_to_v4(&p->external_addr, &addr) ||
	    addr.s_addr == 0) {
		/* gone, or no usable address and port (an IPv6 external
		 * address we did not ask for, or none at all) */
		refused(pm, m, PORTMAP_PROTO_PCP, PCP_RESULT_CANNOT_PROVIDE_EXTERNAL, 0, now, out);
		return;
	}
	grant(pm, m, PORTMAP_PROTO_PCP, addr, p->external_port, p->lifetime, now, out);
}

void portmap_on_reply(struct portmap *pm, const struct portmap_reply *r, uint64_t now,
		      struct portmap_out *out)
{
	out_begin(out);
	if (r->proto == PORTMAP_PROTO_NATPMP)
		on_natpmp(pm, r, now, out);
	else if (r->proto == PORTMAP_PROTO_PCP)
		on_pcp(pm, r, now, out);
	out_end(pm, out);
}

/* ---- timers ---- */

static void map_timeout(struct portmap *pm, struct portmap_map *m, uint64_t now,
			struct portmap_out *out)
{
	switch (m->state) {
	case PORTMAP_REQUEST:
		if (m->attempt >= pm->cfg.tries) {
			/* RFC 6886 §3.1: no answer after the last attempt */
			if (pm->gw_proto != PORTMAP_PROTO_UPNP)
				pm->gw_proto = PORTMAP_PROTO_NONE;
			pm->no_5351 = true;
			pm->addr_query = false;
			pm->addr_deadline = PORTMAP_NEVER;
			m->held = false;
			m->recreating = false;
			after_5351(pm, m, now, out);
			return;
		}
		if (m->proto == PORTMAP_PROTO_PCP && m->attempt == pm->cfg.pcp_tries &&
		    pm->gw_proto == PORTMAP_PROTO_NONE && (pm->cfg.protocols & PORTMAP_PROTO_NATPMP)) {
			/* PCP unanswered: perhaps a NAT-PMP gateway that drops it */
			m->proto = PORTMAP_PROTO_NATPMP;
			send_attempt(pm, m, pm->cfg.lifetime, now, out);
			addr_begin(pm, now, out);
			return;
		}
		send_attempt(pm, m, pm->cfg.lifetime, now, out);
		return;
	case PORTMAP_MAPPED:
		if (m->proto == PORTMAP_PROTO_UPNP)
			upnp_begin(pm, m, out);
		else
			cycle_begin(pm, m, PORTMAP_RENEW, m->proto, now, out);
		return;
	case PORTMAP_RENEW:
		if (now >= m->expires) {
			note_lost(pm, m, out);
			forget_gateway(pm);
			start_fresh(pm, m, now, out);
			return;
		}
		send_attempt(pm, m, pm->cfg.lifetime, now, out);
		return;
	case PORTMAP_PUBLIC:
	case PORTMAP_FAILED:
		forget_gateway(pm);
		start_fresh(pm, m, now, out);
		return;
	case PORTMAP_DELETE:
		if (m->attempt >= pm->cfg.delete_tries) {
			deleted(pm, m, out);	/* given up: it expires on its own */
			return;
		}
		send_attempt(pm, m, 0, now, out);
		return;
	default:
		m->deadline = PORTMAP_NEVER;
		return;
	}
}

void portmap_on_timeout(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	out_begin(out);
	if (pm->addr_query && pm->addr_deadline <= now) {
		if (pm->addr_attempt >= pm->cfg.tries) {
			addr_end(pm, out);
		} else {
			send_addr_query(pm, out);
			pm->addr_deadline = now + interval(pm, pm->addr_attempt);
			pm->addr_attempt++;
		}
	}
	for (unsigned int i = 0; i < pm->n_maps; i++)
		if (pm->maps[i].deadline <= now)
			map_timeout(pm, &pm->maps[i], now, out);
	out_end(pm, out);
}

void portmap_on_unreachable(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	out_begin(out);
	if (pm->gw_proto != PORTMAP_PROTO_UPNP)
		pm->gw_proto = PORTMAP_PROTO_NONE;
	pm->no_5351 = true;
	pm->epoch.have = false;
	pm->addr_query = false;
	pm->addr_deadline = PORTMAP_NEVER;
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];

		if (m->proto != PORTMAP_PROTO_PCP && m->proto != PORTMAP_PROTO_NATPMP)
			continue;
		if (m->state == PORTMAP_DELETE) {
			m->state = PORTMAP_DELETED;	/* nothing there to delete */
			m->deadline = PORTMAP_NEVER;
		} else if (m->state == PORTMAP_REQUEST || m->state == PORTMAP_RENEW) {
			if (m->held)
				note_lost(pm, m, out);
			m->held = false;
			m->reported = false;
			m->recreating = false;
			after_5351(pm, m, now, out);
		}
	}
	out_end(pm, out);
}

void portmap_on_upnp(struct portmap *pm, unsigned int idx, int result, struct in_addr ext_addr,
		     uint16_t ext_port, uint32_t lifetime, uint64_t now, struct portmap_out *out)
{
	struct portmap_map *m = idx < pm->n_maps ? &pm->maps[idx] : NULL;

	out_begin(out);
	if (!m || m->state != PORTMAP_UPNP)
		goto done;
	/* an IGD that maps to port 0 or reports 0.0.0.0 (not connected) gives nothing to publish */
	if (result == 0 && (ext_port == 0 || ext_addr.s_addr == 0))
		result = PORTMAP_UPNP_ACTION_FAILED;
	if (result == 0) {
		pm->gw_proto = PORTMAP_PROTO_UPNP;
		grant(pm, m, PORTMAP_PROTO_UPNP, ext_addr, ext_port, lifetime, now, out);
		goto done;
	}
	if (m->held) {
		note_lost(pm, m, out);	/* m->proto is UPnP in this state */
		forget_gateway(pm);
		start_fresh(pm, m, now, out);
		goto done;
	}
	if (result > 0) {
		struct portmap_note *n = add_note(out, PORTMAP_NOTE_REFUSED, idx, PORTMAP_PROTO_UPNP);
		/* UPnP error codes (718 ConflictInMappingEntry...) fit in 16 bits */
		uint16_t code = result > UINT16_MAX ? UINT16_MAX : (uint16_t)result;

		if (n)
			n->result = code;
		m->refused_by = PORTMAP_PROTO_UPNP;
		m->refused_result = code;
	}
	end_nothing(pm, m, now, out);
done:
	out_end(pm, out);
}

void portmap_on_netchange(struct portmap *pm, struct in_addr local, uint64_t now,
			  struct portmap_out *out)
{
	out_begin(out);
	pm->local = local;
	forget_gateway(pm);
	if (!pm->stopping) {
		for (unsigned int i = 0; i < pm->n_maps; i++) {
			struct portmap_map *m = &pm->maps[i];

			if (m->state == PORTMAP_IDLE || m->state == PORTMAP_DELETED ||
			    m->state == PORTMAP_DELETE)
				continue;
			/* a new network: whatever the old gateway gave is gone */
			m->held = false;
			m->reported = false;
			m->recreating = false;
			start_fresh(pm, m, now, out);
		}
	}
	out_end(pm, out);
}

void portmap_stop(struct portmap *pm, uint64_t now, struct portmap_out *out)
{
	out_begin(out);
	pm->stopping = true;
	pm->addr_query = false;
	pm->addr_deadline = PORTMAP_NEVER;
	for (unsigned int i = 0; i < pm->n_maps; i++) {
		struct portmap_map *m = &pm->maps[i];
		bool speaks = m->proto == PORTMAP_PROTO_PCP || m->proto == PORTMAP_PROTO_NATPMP;

		switch (m->state) {
		case PORTMAP_MAPPED:
		case PORTMAP_RENEW:
		case PORTMAP_REQUEST:
			/* a request in flight may have been granted unheard:
			 * delete it too, if the gateway is known to answer */
			if (speaks && (m->held || pm->gw_proto == m->proto)) {
				cycle_begin(pm, m, PORTMAP_DELETE, m->proto, now, out);
				break;
			}
			if (m->held && m->proto == PORTMAP_PROTO_UPNP)
				goto upnp;
			m->state = PORTMAP_DELETED;
			m->deadline = PORTMAP_NEVER;
			break;
		case PORTMAP_UPNP:
upnp:
			{
				struct portmap_action *a = add_action(out, PORTMAP_ACT_UPNP_UNMAP, i);

				if (a) {
					a->proto = PORTMAP_PROTO_UPNP;
					a->ipproto = m->ipproto;
					a->internal_port = m->internal_port;
					a->external_port = m->held ? m->ext_port : m->want_port;
				}
			}
			if (m->held)
				deleted(pm, m, out);
			m->state = PORTMAP_DELETED;
			m->deadline = PORTMAP_NEVER;
			break;
		default:
			m->state = PORTMAP_DELETED;
			m->deadline = PORTMAP_NEVER;
			break;
		}
	}
	out_end(pm, out);
}

bool portmap_stopped(const struct portmap *pm)
{
	if (!pm->stopping)
		return false;
	for (unsigned int i = 0; i < pm->n_maps; i++)
		if (pm->maps[i].state == PORTMAP_DELETE)
			return false;
	return true;
}

/* ---- epoch ---- */

bool portmap_epoch_update(struct portmap_epoch *e, enum portmap_proto proto, uint32_t server,
			  uint64_t now_ms)
{
	bool valid = true;

	if (e->have && e->proto == proto && now_ms >= e->client_ms) {
		uint64_t elapsed = now_ms - e->client_ms;

		if (proto == PORTMAP_PROTO_NATPMP) {
			/* RFC 6886 §3.6: lost state if server < prev + 7/8 elapsed - 2 s;
			 * in eighths of milliseconds to stay exact */
			uint64_t got = (uint64_t)server * 8000 + 16000;
			uint64_t expect = (uint64_t)e->server * 8000 + 7 * elapsed;

			valid = !(got < expect);
		} else {
			/* RFC 6887 §8.5, in whole seconds */
			int64_t cd = (int64_t)(elapsed / 1000);
			int64_t sd = (int64_t)server - (int64_t)e->server;

			if ((int64_t)server + 1 < (int64_t)e->server)
				valid = false;
			else if (cd + 2 < sd - sd / 16 || sd + 2 < cd - cd / 16)
				valid = false;
		}
	}
	e->have = true;
	e->proto = proto;
	e->server = server;
	e->client_ms = now_ms;
	return valid;
}

/* ---- parsing and names ---- */

int portmap_reply_parse(const void *buf, size_t len, struct portmap_reply *r)
{
	struct wire w = wire_reader(buf, len);
	uint8_t version = wire_peek_u8(&w);
	int err;

	memset(r, 0, sizeof(*r));
	if (wire_err(&w))
		return -EBADMSG;
	if (version == NATPMP_VERSION) {
		r->proto = PORTMAP_PROTO_NATPMP;
		err = natpmp_response_parse(buf, len, &r->natpmp);
		if (err)
			return err;
		r->unsupp_version = r->natpmp.result == NATPMP_RESULT_UNSUPP_VERSION;
		return 0;
	}
	r->proto = PORTMAP_PROTO_PCP;
	err = pcp_response_parse(buf, len, &r->pcp);
	if (err == -EPROTONOSUPPORT && r->pcp.result == PCP_RESULT_UNSUPP_VERSION &&
	    (r->pcp.opcode == PCP_OP_MAP || r->pcp.opcode == PCP_OP_ANNOUNCE)) {
		r->unsupp_version = true;	/* a PCP server of another version */
		return 0;
	}
	if (err)
		return err;
	r->unsupp_version = r->pcp.result == PCP_RESULT_UNSUPP_VERSION;
	return 0;
}

const char *portmap_proto_str(enum portmap_proto p)
{
	switch (p) {
	case PORTMAP_PROTO_PCP: return "PCP";
	case PORTMAP_PROTO_NATPMP: return "NAT-PMP";
	case PORTMAP_PROTO_UPNP: return "UPnP IGD";
	default: return "none";
	}
}

const char *portmap_result_str(enum portmap_proto p, unsigned int result)
{
	if (p == PORTMAP_PROTO_PCP)
		return pcp_result_str(result);
	if (p == PORTMAP_PROTO_NATPMP)
		return natpmp_result_str(result);
	return "error";
}
