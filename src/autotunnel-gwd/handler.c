#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "autotunnel-gwd/handler.h"
#include "wire/wire.h"

void gwd_request_parse(const void *buf, size_t len, struct gwd_request *req)
{
	struct wire r = wire_reader(buf, len);
	uint8_t version = wire_peek_u8(&r);

	memset(req, 0, sizeof(*req));
	req->raw = buf;
	req->rawlen = len;
	if (!wire_err(&r) && version == NATPMP_VERSION) {
		req->rc = natpmp_request_parse(buf, len, &req->pmp);
		return;
	}
	req->pcp = true;
	req->rc = pcp_request_parse(buf, len, &req->msg, &req->why);
}

uint32_t gwd_clamp_lifetime(const struct gwd_ctx *ctx, uint32_t requested)
{
	if (requested < ctx->lifetime_min)
		return ctx->lifetime_min;
	if (requested > ctx->lifetime_max)
		return ctx->lifetime_max;
	return requested;
}

bool gwd_client_on_subnet(uint32_t lan, unsigned int plen, uint32_t src)
{
	uint32_t mask = plen == 0 ? 0 : plen >= 32 ? 0xffffffffu : ~(0xffffffffu >> plen);

	if (src == 0 || src == lan || plen == 0 || plen >= 32)
		return false;
	if ((src & mask) != (lan & mask))
		return false;
	/* RFC 3021: a /31 has no network or broadcast address */
	if (plen <= 30 && ((src & ~mask) == 0 || (src & ~mask) == ~mask))
		return false;
	return true;
}

static uint8_t proto_of_op(uint8_t op)
{
	return op == NATPMP_OP_MAP_UDP ? GWD_PROTO_UDP : GWD_PROTO_TCP;
}

static void set_len(struct gwd_reply *out, int n)
{
	out->len = n > 0 ? (size_t)n : 0;
}

/* ---- NAT-PMP (RFC 6886) ---- */

static void pmp_reply(const struct gwd_ctx *ctx, const struct natpmp_request *rq, uint16_t result,
		      uint16_t ext_port, uint32_t lifetime, struct gwd_reply *out)
{
	struct natpmp_response r = {
		.op = rq->op,
		.result = result,
		.epoch = ctx->epoch_s,
		.internal_port = rq->internal_port,
		.external_port = ext_port,
		.lifetime = lifetime,
	};

	if (rq->op == NATPMP_OP_EXTADDR && result == NATPMP_RESULT_SUCCESS)
		r.external_addr.s_addr = htonl(ctx->ext_addr);
	out->result = result;
	set_len(out, natpmp_response_build(&r, out->buf, sizeof(out->buf)));
}

/* The owner fields of a new or renewed mapping: the link-layer address it was proven from. */
static void set_owner(struct gwd_mapping *m, const struct gwd_client *c)
{
	m->has_lladdr = c->has_lladdr;
	if (c->has_lladdr)
		memcpy(m->lladdr, c->lladdr, sizeof(m->lladdr));
	else
		memset(m->lladdr, 0, sizeof(m->lladdr));
}

/* The per-client cap: the address's mappings and those of its machine's other addresses. */
static bool over_cap(const struct gwd_table *t, const struct gwd_client *c)
{
	return gwd_table_count_owner(t, c->addr, c->has_lladdr ? c->lladdr : NULL) >= t->max_per_client;
}

static void pmp_map(const struct gwd_ctx *ctx, const struct gwd_table *t, const struct gwd_client *c,
		    const struct natpmp_request *rq, uint64_t now_ms, struct gwd_reply *out)
{
	uint8_t proto = proto_of_op(rq->op);
	uint32_t client = c->addr;
	const struct gwd_mapping *cur;
	struct gwd_mapping m;
	uint32_t life;

	/*
	 * RFC 6886 §3.3 has the gateway map only for the source address; a
	 * source it cannot prove may be a neighbour's, forged. Result 2 (not
	 * authorized) for creating and for deleting alike.
	 */
	if (!c->proven) {
		pmp_reply(ctx, rq, NATPMP_RESULT_NOT_AUTHORIZED, 0, 0, out);
		return;
	}
	if (rq->lifetime == 0) {
		/*
		 * RFC 6886 §3.4: a lifetime of 0 deletes the mapping; internal
		 * port 0 too deletes all the client's mappings of the protocol.
		 * Deleting what does not exist succeeds all the same.
		 */
		out->change.kind = rq->internal_port ? GWD_CHANGE_DELETE : GWD_CHANGE_DELETE_ALL;
		out->change.m = (struct gwd_mapping){ .client = client, .proto = proto,
						      .int_port = rq->internal_port };
		pmp_reply(ctx, rq, NATPMP_RESULT_SUCCESS, 0, 0, out);
		return;
	}
	if (rq->internal_port == 0) {
		/* "all ports" can only be deleted, never mapped */
		pmp_reply(ctx, rq, NATPMP_RESULT_NOT_AUTHORIZED, 0, 0, out);
		return;
	}
	if (ctx->ext_addr == 0) {
		pmp_reply(ctx, rq, NATPMP_RESULT_NETWORK_FAILURE, 0, 0, out);
		return;
	}
	life = gwd_clamp_lifetime(ctx, rq->lifetime);
	cur = gwd_table_find_const(t, client, proto, rq->internal_port);
	if (cur) {
		/*
		 * RFC 6886 §3.3: a request for a port the client has mapped
		 * already succeeds with the external port assigned before
		 * (the first answer may have been lost).
		 */
		m = *cur;
		m.lifetime_s = life;
		m.expires_ms = now_ms + (uint64_t)life * 1000;
		set_owner(&m, c);
		out->change.kind = GWD_CHANGE_RENEW;
		out->change.m = m;
		pmp_reply(ctx, rq, NATPMP_RESULT_SUCCESS, m.ext_port, life, out);
		return;
	}
	/* §3.5: result 4, out of resources, for the table and for the client's share alike */
	if (t->n >= t->max || over_cap(t, c)) {
		pmp_reply(ctx, rq, NATPMP_RESULT_NO_RESOURCES, 0, 0, out);
		return;
	}
	m = (struct gwd_mapping){
		.client = client,
		.proto = proto,
		.int_port = rq->internal_port,
		/* §3.3: if the suggested port is taken, offer another one */
		.ext_port = gwd_table_pick_port(t, client, proto, rq->internal_port, rq->external_port),
		.lifetime_s = life,
		.expires_ms = now_ms + (uint64_t)life * 1000,
		.origin = GWD_ORIGIN_NATPMP,
	};
	set_owner(&m, c);
	if (m.ext_port == 0) {
		pmp_reply(ctx, rq, NATPMP_RESULT_NO_RESOURCES, 0, 0, out);
		return;
	}
	out->change.kind = GWD_CHANGE_CREATE;
	out->change.m = m;
	pmp_reply(ctx, rq, NATPMP_RESULT_SUCCESS, m.ext_port, life, out);
}

static void handle_natpmp(const struct gwd_ctx *ctx, const struct gwd_table *t, const struct gwd_client *c,
			  const struct gwd_request *req, uint64_t now_ms, struct gwd_reply *out)
{
	const struct natpmp_request *rq = &req->pmp;

	switch (req->rc) {
	case 0:
		break;
	case -EOPNOTSUPP:
		/* RFC 6886 §3.5: an unknown opcode below 128 is answered "unsupported opcode" */
		pmp_reply(ctx, rq, NATPMP_RESULT_UNSUPP_OPCODE, 0, 0, out);
		return;
	case -EPROTONOSUPPORT:
		pmp_reply(ctx, rq, NATPMP_RESULT_UNSUPP_VERSION, 0, 0, out);
		return;
	default:
		return;		/* malformed or a response: silence */
	}
	if (rq->op == NATPMP_OP_EXTADDR) {
		/* §3.2; §3.5: no external address yet is a network failure */
		pmp_reply(ctx, rq, ctx->ext_addr ? NATPMP_RESULT_SUCCESS : NATPMP_RESULT_NETWORK_FAILURE,
			  0, 0, out);
		return;
	}
	pmp_map(ctx, t, c, rq, now_ms, out);
}

/* ---- PCP (RFC 6887) ---- */

static bool long_term_error(uint8_t result)
{
	switch (result) {
	case PCP_RESULT_NETWORK_FAILURE:
	case PCP_RESULT_NO_RESOURCES:
	case PCP_RESULT_USER_EX_QUOTA:
	case PCP_RESULT_CANNOT_PROVIDE_EXTERNAL:
		return false;
	default:
		return true;
	}
}

static void pcp_error(const struct gwd_ctx *ctx, const struct gwd_request *req, uint8_t result,
		      struct gwd_reply *out)
{
	uint32_t life = long_term_error(result) ? GWD_PCP_ERR_LONG_S : GWD_PCP_ERR_SHORT_S;

	out->result = result;
	out->change.kind = GWD_CHANGE_NONE;
	set_len(out, pcp_error_build(req->raw, req->rawlen, result, life, ctx->epoch_s,
				     out->buf, sizeof(out->buf)));
}

static void pcp_success(const struct gwd_ctx *ctx, const struct pcp_msg *rq, uint32_t lifetime,
			uint16_t ext_port, struct gwd_reply *out)
{
	struct pcp_msg r = *rq;
	struct in_addr ext = { htonl(ctx->ext_addr) };

	r.response = true;
	r.result = PCP_RESULT_SUCCESS;
	r.lifetime = lifetime;
	r.epoch = ctx->epoch_s;
	if (rq->opcode == PCP_OP_MAP) {
		r.has_map = true;
		r.external_port = ext_port;
		pcp_addr_from_v4(&r.external_addr, ext);
	}
	/* options processed go back to the client; ones skipped do not */
	r.third_party = false;
	r.n_filters = 0;
	out->result = PCP_RESULT_SUCCESS;
	set_len(out, pcp_msg_build(&r, out->buf, sizeof(out->buf)));
}

static bool nonce_conflict(const struct gwd_mapping *m, const struct pcp_msg *rq)
{
	/* a mapping made by NAT-PMP has no nonce: the PCP client may adopt it */
	return m->has_nonce && memcmp(m->nonce, rq->nonce, sizeof(m->nonce)) != 0;
}

static void pcp_map(const struct gwd_ctx *ctx, const struct gwd_table *t, const struct gwd_client *c,
		    const struct gwd_request *req, uint64_t now_ms, struct gwd_reply *out)
{
	const struct pcp_msg *rq = &req->msg;
	uint32_t client = c->addr;
	const struct gwd_mapping *cur;
	struct gwd_mapping m;
	struct in_addr want;
	uint32_t life;

	/*
	 * §8.3 binds a request to its source address; §18 leaves it to the
	 * server to make sure that address is the sender's. One the router
	 * cannot prove may be a neighbour's, forged: NOT_AUTHORIZED.
	 */
	if (!c->proven) {
		pcp_error(ctx, req, PCP_RESULT_NOT_AUTHORIZED, out);
		return;
	}
	/* §11.3, §13.1: a client maps only for itself; THIRD_PARTY is refused */
	if (rq->third_party) {
		pcp_error(ctx, req, PCP_RESULT_NOT_AUTHORIZED, out);
		return;
	}
	/* §13.3: FILTER is not offered by this server */
	if (rq->n_filters) {
		pcp_error(ctx, req, PCP_RESULT_UNSUPP_OPTION, out);
		return;
	}
	if (rq->protocol != PCP_PROTO_TCP && rq->protocol != PCP_PROTO_UDP) {
		pcp_error(ctx, req, PCP_RESULT_UNSUPP_PROTOCOL, out);
		return;
	}
	if (rq->lifetime == 0) {
		/* §15: delete; deleting a mapping that is not there succeeds */
		if (rq->internal_port) {
			cur = gwd_table_find_const(t, client, rq->protocol, rq->internal_port);
			if (cur && nonce_conflict(cur, rq)) {
				pcp_error(ctx, req, PCP_RESULT_NOT_AUTHORIZED, out);
				return;
			}
		}
		out->change.kind = rq->internal_port ? GWD_CHANGE_DELETE : GWD_CHANGE_DELETE_ALL;
		out->change.m = (struct gwd_mapping){ .client = client, .proto = rq->protocol,
						      .int_port = rq->internal_port, .has_nonce = true };
		memcpy(out->change.m.nonce, rq->nonce, sizeof(rq->nonce));
		pcp_success(ctx, rq, 0, rq->external_port, out);
		return;
	}
	if (rq->internal_port == 0) {
		/* §11.1: "all ports" of TCP or UDP is more than a home gateway hands out */
		pcp_error(ctx, req, PCP_RESULT_NOT_AUTHORIZED, out);
		return;
	}
	if (ctx->ext_addr == 0) {
		pcp_error(ctx, req, PCP_RESULT_NETWORK_FAILURE, out);
		return;
	}
	life = gwd_clamp_lifetime(ctx, rq->lifetime);
	cur = gwd_table_find_const(t, client, rq->protocol, rq->internal_port);
	if (cur) {
		/* §11.3: the same mapping again is a renewal; another nonce is another owner */
		if (nonce_conflict(cur, rq)) {
			pcp_error(ctx, req, PCP_RESULT_NOT_AUTHORIZED, out);
			return;
		}
		m = *cur;
		m.lifetime_s = life;
		m.expires_ms = now_ms + (uint64_t)life * 1000;
		m.has_nonce = true;
		memcpy(m.nonce, rq->nonce, sizeof(m.nonce));
		set_owner(&m, c);
		out->change.kind = GWD_CHANGE_RENEW;
		out->change.m = m;
		pcp_success(ctx, rq, life, m.ext_port, out);
		return;
	}
	/* §7.4: USER_EX_QUOTA is the answer for one subscriber's share */
	if (over_cap(t, c)) {
		pcp_error(ctx, req, PCP_RESULT_USER_EX_QUOTA, out);
		return;
	}
	if (t->n >= t->max) {
		pcp_error(ctx, req, PCP_RESULT_NO_RESOURCES, out);
		return;
	}
	m = (struct gwd_mapping){
		.client = client,
		.proto = rq->protocol,
		.int_port = rq->internal_port,
		.lifetime_s = life,
		.expires_ms = now_ms + (uint64_t)life * 1000,
		.origin = GWD_ORIGIN_PCP,
		.has_nonce = true,
	};
	memcpy(m.nonce, rq->nonce, sizeof(m.nonce));
	set_owner(&m, c);
	if (rq->prefer_failure) {
		/*
		 * §13.2: with PREFER_FAILURE the client wants exactly what it
		 * suggested, or an error rather than something else.
		 */
		bool addr_ok = !pcp_addr_to_v4(&rq->external_addr, &want) || want.s_addr == 0 ||
			       ntohl(want.s_addr) == ctx->ext_addr;
		bool port_ok = rq->external_port == 0 ||
			       (rq->external_port >= t->port_min && rq->external_port <= t->port_max &&
				gwd_table_port_usable(t, client, rq->protocol, rq->external_port));

		if (!addr_ok || !port_ok) {
			pcp_error(ctx, req, PCP_RESULT_CANNOT_PROVIDE_EXTERNAL, out);
			return;
		}
	}
	m.ext_port = gwd_table_pick_port(t, client, rq->protocol, rq->internal_port, rq->external_port);
	if (m.ext_port == 0) {
		pcp_error(ctx, req, PCP_RESULT_NO_RESOURCES, out);
		return;
	}
	out->change.kind = GWD_CHANGE_CREATE;
	out->change.m = m;
	pcp_success(ctx, rq, life, m.ext_port, out);
}

static void handle_pcp(const struct gwd_ctx *ctx, const struct gwd_table *t, const struct gwd_client *c,
		       const struct gwd_request *req, uint64_t now_ms, struct gwd_reply *out)
{
	const struct pcp_msg *rq = &req->msg;
	uint32_t client = c->addr;
	struct in_addr src;

	if (req->rc) {
		/* §8.3: a response, or under 2 bytes: dropped; otherwise the parser's error */
		if (req->why != PCP_RESULT_SUCCESS)
			pcp_error(ctx, req, req->why, out);
		return;
	}
	/* §8.3: the client address in the header must be where the request came from */
	if (!pcp_addr_to_v4(&rq->client_addr, &src) || ntohl(src.s_addr) != client) {
		pcp_error(ctx, req, PCP_RESULT_ADDRESS_MISMATCH, out);
		return;
	}
	if (rq->opcode == PCP_OP_ANNOUNCE) {
		/* §14.1: ANNOUNCE tells the epoch; it creates nothing */
		pcp_success(ctx, rq, 0, 0, out);
		return;
	}
	pcp_map(ctx, t, c, req, now_ms, out);
}

void gwd_handle_client(const struct gwd_ctx *ctx, const struct gwd_table *t,
		       const struct gwd_client *c, const struct gwd_request *req, uint64_t now_ms,
		       struct gwd_reply *out)
{
	out->len = 0;
	out->result = 0;
	out->change.kind = GWD_CHANGE_NONE;
	if (req->pcp)
		handle_pcp(ctx, t, c, req, now_ms, out);
	else
		handle_natpmp(ctx, t, c, req, now_ms, out);
}

void gwd_handle(const struct gwd_ctx *ctx, const struct gwd_table *t, uint32_t client,
		const struct gwd_request *req, uint64_t now_ms, struct gwd_reply *out)
{
	struct gwd_client c = { .addr = client, .proven = true };

	gwd_handle_client(ctx, t, &c, req, now_ms, out);
}

void gwd_handle_failed(const struct gwd_ctx *ctx, const struct gwd_request *req,
		       struct gwd_reply *out)
{
	out->len = 0;
	out->change.kind = GWD_CHANGE_NONE;
	if (req->pcp)
		pcp_error(ctx, req, PCP_RESULT_NETWORK_FAILURE, out);
	else
		pmp_reply(ctx, &req->pmp, NATPMP_RESULT_NETWORK_FAILURE, 0, 0, out);
}

/* ---- applying decisions ---- */

static bool delete_all_match(const struct gwd_mapping *m, const struct gwd_change *c)
{
	if (m->client != c->m.client || m->proto != c->m.proto)
		return false;
	if (c->m.has_nonce && m->has_nonce)
		return memcmp(m->nonce, c->m.nonce, sizeof(m->nonce)) == 0;
	return true;
}

int gwd_change_apply(struct gwd_table *t, const struct gwd_change *c, gwd_removed_fn removed,
		     void *arg)
{
	struct gwd_mapping *m;
	size_t i;

	switch (c->kind) {
	case GWD_CHANGE_NONE:
		return 0;
	case GWD_CHANGE_CREATE:
		return gwd_table_add(t, &c->m);
	case GWD_CHANGE_RENEW:
		m = gwd_table_find(t, c->m.client, c->m.proto, c->m.int_port);
		if (!m)
			return gwd_table_add(t, &c->m);
		if (m->ext_port != c->m.ext_port)
			return -EEXIST;
		*m = c->m;
		return 0;
	case GWD_CHANGE_DELETE:
		m = gwd_table_find(t, c->m.client, c->m.proto, c->m.int_port);
		if (m) {
			if (removed)
				removed(arg, m);
			gwd_table_remove_at(t, (size_t)(m - t->m));
		}
		return 0;
	case GWD_CHANGE_DELETE_ALL:
		for (i = 0; i < t->n;) {
			if (delete_all_match(&t->m[i], c)) {
				if (removed)
					removed(arg, &t->m[i]);
				gwd_table_remove_at(t, i);	/* the last one moves to i */
			} else {
				i++;
			}
		}
		return 0;
	}
	return -EINVAL;
}

size_t gwd_expire(struct gwd_table *t, uint64_t now_ms, gwd_removed_fn removed, void *arg)
{
	size_t i, n = 0;

	for (i = 0; i < t->n;) {
		if (t->m[i].expires_ms <= now_ms) {
			if (removed)
				removed(arg, &t->m[i]);
			gwd_table_remove_at(t, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* ---- announcements ---- */

int gwd_announce_natpmp(const struct gwd_ctx *ctx, void *buf, size_t len)
{
	/* RFC 6886 §3.2.1: an external address response, sent unsolicited */
	struct natpmp_response r = {
		.op = NATPMP_OP_EXTADDR,
		.result = ctx->ext_addr ? NATPMP_RESULT_SUCCESS : NATPMP_RESULT_NETWORK_FAILURE,
		.epoch = ctx->epoch_s,
	};

	r.external_addr.s_addr = htonl(ctx->ext_addr);
	return natpmp_response_build(&r, buf, len);
}

int gwd_announce_pcp(const struct gwd_ctx *ctx, void *buf, size_t len)
{
	/* RFC 6887 §14.1.3: an ANNOUNCE response, SUCCESS, lifetime 0, with the epoch */
	struct pcp_msg r = {
		.version = PCP_VERSION,
		.response = true,
		.opcode = PCP_OP_ANNOUNCE,
		.result = PCP_RESULT_SUCCESS,
		.epoch = ctx->epoch_s,
	};

	return pcp_msg_build(&r, buf, len);
}
