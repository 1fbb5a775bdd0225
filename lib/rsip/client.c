/*
 * RSIP client helper: request builders and the reader of the server's
 * answers. Everything the server says is checked against what was asked
 * before it becomes a binding.
 */
#include <errno.h>
#include <string.h>

#include "rsip/client.h"

#define MS_PER_S 1000ULL

void rsip_client_init(struct rsip_client *c, uint32_t first_counter)
{
	memset(c, 0, sizeof(*c));
	c->counter = first_counter;
}

static struct rsip_msg *start(struct rsip_client *c, uint8_t type)
{
	struct rsip_msg *m = &c->msg;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->present = RSIP_F_COUNTER;
	m->counter = c->counter;
	if (type != RSIP_REGISTER_REQUEST) {
		m->present |= RSIP_F_CLIENT_ID;
		m->client_id = c->client_id;
	}
	return m;
}

static int finish(struct rsip_client *c, uint8_t *buf, size_t cap, size_t *len)
{
	int rc = rsip_msg_build(&c->msg, buf, cap, len);

	if (rc)
		return rc;
	c->pending = c->msg.type;
	c->pending_counter = c->counter++;
	return 0;
}

static int ready(const struct rsip_client *c)
{
	if (c->pending)
		return -EBUSY;
	return c->state == RSIP_CLIENT_REGISTERED ? 0 : -ENOTCONN;
}

int rsip_client_register(struct rsip_client *c, uint8_t *buf, size_t cap, size_t *len)
{
	int rc;

	if (c->pending)
		return -EBUSY;
	if (c->state != RSIP_CLIENT_IDLE)
		return -ENOTCONN;
	start(c, RSIP_REGISTER_REQUEST);
	if ((rc = finish(c, buf, cap, len)))
		return rc;
	c->state = RSIP_CLIENT_REGISTERING;
	return 0;
}

int rsip_client_deregister(struct rsip_client *c, uint8_t *buf, size_t cap, size_t *len)
{
	int rc = ready(c);

	if (rc)
		return rc;
	start(c, RSIP_DEREGISTER_REQUEST);
	return finish(c, buf, cap, len);
}

static void local_addr(struct rsip_addr *a, uint32_t addr)
{
	if (addr)
		rsip_addr_set_ipv4(a, addr);
	else
		rsip_addr_set_any(a, RSIP_ADDR_IPV4);
}

int rsip_client_assign_rsipsec(struct rsip_client *c, const struct rsip_ipsec_request *r,
			       uint8_t *buf, size_t cap, size_t *len)
{
	struct rsip_msg *m;
	int rc = ready(c);

	if (rc)
		return rc;
	if (r->n_spis < 1 || r->n_spis > RSIP_CLIENT_MAX_SPIS || r->n_ports > RSIP_CLIENT_MAX_PORTS)
		return -EINVAL;
	m = start(c, RSIP_ASSIGN_REQUEST_RSIPSEC);
	/* RFC 3104 §6.2: the address and the SPIs in one message */
	m->present |= RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE | RSIP_F_SPI;
	local_addr(&m->addr_local, r->local);
	local_addr(&m->addr_remote, r->remote);
	if (r->n_ports) {
		m->ports_local.form = RSIP_FORM_DONT_CARE;
		m->ports_local.number = r->n_ports;
	} else {
		m->ports_local.form = RSIP_FORM_DONT_NEED;	/* no TCP/UDP to protect */
	}
	m->ports_remote.form = RSIP_FORM_DONT_NEED;
	m->spi.number = r->n_spis;
	if (r->spi == 0) {
		m->spi.form = RSIP_FORM_DONT_CARE;
	} else {
		m->spi.form = r->n_spis == 1 ? RSIP_FORM_LIST : RSIP_FORM_RANGE;
		m->spi.spi[0] = r->spi;
	}
	if (r->lease) {
		m->present |= RSIP_F_LEASE_TIME;
		m->lease_time = r->lease;
	}
	m->n_tunnel = 1;
	m->tunnel[0] = RSIP_TUNNEL_IPIP;
	if ((rc = finish(c, buf, cap, len)))
		return rc;
	c->pending_dont_need = r->n_ports == 0;
	return 0;
}

int rsip_client_assign_rsap(struct rsip_client *c, uint32_t local, uint8_t n_ports, uint32_t lease,
			    uint8_t *buf, size_t cap, size_t *len)
{
	struct rsip_msg *m;
	int rc = ready(c);

	if (rc)
		return rc;
	if (n_ports < 1 || n_ports > RSIP_CLIENT_MAX_PORTS)
		return -EINVAL;
	m = start(c, RSIP_ASSIGN_REQUEST_RSAP_IP);
	m->present |= RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE | RSIP_F_PORTS_LOCAL | RSIP_F_PORTS_REMOTE;
	local_addr(&m->addr_local, local);
	rsip_addr_set_any(&m->addr_remote, RSIP_ADDR_IPV4);
	m->ports_local.form = RSIP_FORM_DONT_CARE;
	m->ports_local.number = n_ports;
	m->ports_remote.form = RSIP_FORM_DONT_CARE;
	m->ports_remote.number = 1;
	if (lease) {
		m->present |= RSIP_F_LEASE_TIME;
		m->lease_time = lease;
	}
	return finish(c, buf, cap, len);
}

static int find(const struct rsip_client *c, uint32_t bind_id)
{
	for (int i = 0; i < RSIP_CLIENT_MAX_BINDS; i++)
		if (c->binds[i].used && c->binds[i].bind_id == bind_id)
			return i;
	return -1;
}

const struct rsip_client_binding *rsip_client_binding(const struct rsip_client *c, uint32_t bind_id)
{
	int i = find(c, bind_id);

	return i < 0 ? NULL : &c->binds[i];
}

/* EXTEND or FREE of the binding @p bind_id; @p lease 0 sends no Lease Time. */
static int bind_request(struct rsip_client *c, uint8_t type, uint32_t bind_id, uint32_t lease,
			uint8_t *buf, size_t cap, size_t *len)
{
	struct rsip_msg *m;
	int rc = ready(c);

	if (rc)
		return rc;
	if (find(c, bind_id) < 0)
		return -ENOENT;
	m = start(c, type);
	m->present |= RSIP_F_BIND_ID;
	m->bind_id = bind_id;
	if (lease) {
		m->present |= RSIP_F_LEASE_TIME;
		m->lease_time = lease;
	}
	if ((rc = finish(c, buf, cap, len)))
		return rc;
	c->pending_bind = bind_id;
	return 0;
}

int rsip_client_extend(struct rsip_client *c, uint32_t bind_id, uint32_t lease,
		       uint8_t *buf, size_t cap, size_t *len)
{
	return bind_request(c, RSIP_EXTEND_REQUEST, bind_id, lease, buf, cap, len);
}

int rsip_client_free(struct rsip_client *c, uint32_t bind_id, uint8_t *buf, size_t cap, size_t *len)
{
	/* RFC 3103: FREE_REQUEST carries no Lease Time */
	return bind_request(c, RSIP_FREE_REQUEST, bind_id, 0, buf, cap, len);
}

int rsip_client_query(struct rsip_client *c, uint32_t addr, uint8_t *buf, size_t cap, size_t *len)
{
	struct rsip_msg *m;
	int rc = ready(c);

	if (rc)
		return rc;
	m = start(c, RSIP_QUERY_REQUEST);
	m->n_query = 1;
	m->query[0].indicator = RSIP_IND_ADDRESS;
	rsip_addr_set_ipv4(&m->query[0].addr, addr);
	return finish(c, buf, cap, len);
}

/* ---- answers ---- */

static void set_lease(struct rsip_client_binding *b, uint32_t lease, uint64_t now)
{
	b->lease = lease;
	b->expires = now + lease * MS_PER_S;
	/* renew at half the lease, as NAT-PMP does: one lost answer still leaves time */
	b->refresh_at = now + lease * MS_PER_S / 2;
}

static void forget_all(struct rsip_client *c)
{
	memset(c->binds, 0, sizeof(c->binds));
	c->state = RSIP_CLIENT_IDLE;
	c->client_id = 0;
}

static int expand(uint8_t form, unsigned number, const void *list, bool wide, uint32_t *out, unsigned max)
{
	if (form != RSIP_FORM_LIST && form != RSIP_FORM_RANGE)
		return -EPROTO;
	if (number > max)
		return -EPROTO;
	for (unsigned i = 0; i < number; i++) {
		uint32_t first = wide ? ((const uint32_t *)list)[0] : ((const uint16_t *)list)[0];
		uint32_t v = wide ? ((const uint32_t *)list)[i] : ((const uint16_t *)list)[i];

		out[i] = form == RSIP_FORM_LIST ? v : first + i;
	}
	return 0;
}

/* An ASSIGN or LISTEN response becomes a binding once it is what was asked for. */
static int on_assigned(struct rsip_client *c, const struct rsip_msg *m, uint64_t now,
		       struct rsip_client_event *ev)
{
	struct rsip_client_binding b = { .used = true, .kind = c->pending, .bind_id = m->bind_id };
	uint32_t tmp[RSIP_CLIENT_MAX_PORTS];
	int slot = -1;

	if (rsip_addr_get_ipv4(&m->addr_local, &b.local_addr) || m->lease_time == 0)
		return -EPROTO;
	(void)!rsip_addr_get_ipv4(&m->addr_remote, &b.remote_addr);
	if (m->present & RSIP_F_ADDR_TUNNEL)
		(void)!rsip_addr_get_ipv4(&m->addr_tunnel, &b.tunnel_endpoint);
	if (m->type == RSIP_ASSIGN_RESPONSE_RSIPSEC) {
		/* RFC 3104 §6.2: "don't need" in the request means "don't need" in the answer */
		if (c->pending_dont_need != (m->ports_local.form == RSIP_FORM_DONT_NEED))
			return -EPROTO;
		if (expand(m->spi.form, m->spi.number, m->spi.spi, true, b.spis, RSIP_CLIENT_MAX_SPIS))
			return -EPROTO;
		b.n_spis = (uint8_t)m->spi.number;
	}
	if ((m->present & RSIP_F_PORTS_LOCAL) && m->ports_local.form != RSIP_FORM_DONT_NEED) {
		if (expand(m->ports_local.form, m->ports_local.number, m->ports_local.port, false, tmp,
			   RSIP_CLIENT_MAX_PORTS))
			return -EPROTO;
		b.n_ports = m->ports_local.number;
		for (unsigned i = 0; i < b.n_ports; i++)
			b.ports[i] = (uint16_t)tmp[i];
	}
	if (find(c, m->bind_id) >= 0)
		return -EPROTO;	/* the server gave out a Bind ID we hold */
	for (int i = 0; i < RSIP_CLIENT_MAX_BINDS && slot < 0; i++)
		if (!c->binds[i].used)
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	set_lease(&b, m->lease_time, now);
	c->binds[slot] = b;
	ev->kind = RSIP_EV_ASSIGNED;
	ev->bind_id = b.bind_id;
	ev->bind = &c->binds[slot];
	return 0;
}

int rsip_client_on_message(struct rsip_client *c, const uint8_t *buf, size_t len, uint64_t now,
			   struct rsip_client_event *ev)
{
	struct rsip_msg *m = &c->msg;
	uint8_t asked = c->pending;
	int i;

	memset(ev, 0, sizeof(*ev));
	if (rsip_msg_parse(m, buf, len, NULL))
		return -EBADMSG;
	ev->msg = m;
	if (rsip_msg_is_request(m->type))
		return -EPROTO;
	/* RFC 3103: the server may de-register a client on its own */
	if (m->type == RSIP_DEREGISTER_RESPONSE && asked != RSIP_DEREGISTER_REQUEST) {
		if (c->state != RSIP_CLIENT_REGISTERED || m->client_id != c->client_id)
			return -EPROTO;
		forget_all(c);
		c->pending = 0;
		ev->kind = RSIP_EV_DEREGISTERED;
		return 0;
	}
	if (!asked)
		return -EPROTO;
	/* it must answer the pending request: its counter, and its kind */
	if (!(m->present & RSIP_F_COUNTER) || m->counter != c->pending_counter)
		return -EPROTO;
	if (m->type != RSIP_ERROR_RESPONSE && m->type != asked + 1)
		return -EPROTO;
	if (asked != RSIP_REGISTER_REQUEST && (m->present & RSIP_F_CLIENT_ID) && m->client_id != c->client_id)
		return -EPROTO;
	c->pending = 0;
	ev->request = asked;
	if (m->type == RSIP_ERROR_RESPONSE) {
		if (asked == RSIP_REGISTER_REQUEST)
			c->state = RSIP_CLIENT_IDLE;
		/* the server no longer knows the binding: forget it too */
		if (m->error == RSIP_E_BAD_BIND_ID && (i = find(c, c->pending_bind)) >= 0)
			c->binds[i].used = false;
		if (m->error == RSIP_E_REGISTER_FIRST || m->error == RSIP_E_BAD_CLIENT_ID)
			forget_all(c);
		ev->kind = RSIP_EV_ERROR;
		ev->error = m->error;
		return 0;
	}
	switch (m->type) {
	case RSIP_REGISTER_RESPONSE:
		c->state = RSIP_CLIENT_REGISTERED;
		c->client_id = m->client_id;
		c->reg_lease = m->lease_time;
		c->rsipsec = c->rsap_ip = c->rsa_ip = false;
		for (unsigned k = 0; k < m->n_method; k++) {
			c->rsipsec |= m->method[k] == RSIP_METHOD_RSIPSEC;
			c->rsap_ip |= m->method[k] == RSIP_METHOD_RSAP_IP;
			c->rsa_ip |= m->method[k] == RSIP_METHOD_RSA_IP;
		}
		ev->kind = RSIP_EV_REGISTERED;
		return 0;
	case RSIP_DEREGISTER_RESPONSE:
		forget_all(c);
		ev->kind = RSIP_EV_DEREGISTERED;
		return 0;
	case RSIP_ASSIGN_RESPONSE_RSA_IP:
	case RSIP_ASSIGN_RESPONSE_RSAP_IP:
	case RSIP_LISTEN_RESPONSE:
	case RSIP_ASSIGN_RESPONSE_RSIPSEC:
		return on_assigned(c, m, now, ev);
	case RSIP_EXTEND_RESPONSE:
	case RSIP_FREE_RESPONSE:
		if (m->bind_id != c->pending_bind || (i = find(c, m->bind_id)) < 0)
			return -EPROTO;
		ev->bind_id = m->bind_id;
		if (m->type == RSIP_FREE_RESPONSE) {
			c->binds[i].used = false;
			ev->kind = RSIP_EV_FREED;
			return 0;
		}
		if (m->lease_time == 0)
			return -EPROTO;
		set_lease(&c->binds[i], m->lease_time, now);
		ev->kind = RSIP_EV_EXTENDED;
		ev->bind = &c->binds[i];
		return 0;
	case RSIP_QUERY_RESPONSE:
		ev->kind = RSIP_EV_QUERY;
		return 0;
	}
	return -EPROTO;
}

uint64_t rsip_client_next_deadline(const struct rsip_client *c)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < RSIP_CLIENT_MAX_BINDS; i++) {
		const struct rsip_client_binding *b = &c->binds[i];
		/*
		 * While a request awaits its answer, rsip_client_poll() sends
		 * nothing: a refresh time already past would wake the caller
		 * at once, again and again. The next thing it can do then is
		 * forget a binding that lapsed.
		 */
		uint64_t t = c->pending ? b->expires : b->refresh_at;

		if (b->used && t < next)
			next = t;
	}
	return next;
}

int rsip_client_poll(struct rsip_client *c, uint64_t now, uint8_t *buf, size_t cap, size_t *len)
{
	int due = -1, rc;

	for (int i = 0; i < RSIP_CLIENT_MAX_BINDS; i++) {
		struct rsip_client_binding *b = &c->binds[i];

		if (!b->used)
			continue;
		if (b->expires <= now) {
			b->used = false;	/* lapsed: the server has released it */
			continue;
		}
		if (b->refresh_at <= now && (due < 0 || b->refresh_at < c->binds[due].refresh_at))
			due = i;
	}
	if (due < 0 || c->pending)
		return 0;
	if ((rc = rsip_client_extend(c, c->binds[due].bind_id, c->binds[due].lease, buf, cap, len)))
		return rc;
	return 1;
}
