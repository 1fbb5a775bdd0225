/*
 * RSIP server logic (RFC 3103 with RFC 3104). Request handling is split in
 * three steps, each its own function: the codec checks the grammar
 * (msg.c), need_client() checks the registration, and one handler per
 * message decides and changes state; replies are built from a struct
 * rsip_msg by the codec, so the server never emits what a peer's parser
 * would reject.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rsip/server.h"

#define MS_PER_S 1000ULL

static bool in_prefix(uint32_t a, const struct rsip_prefix *p)
{
	uint32_t mask = p->len == 0 ? 0 : ~0u << (32 - p->len);

	return (a & mask) == (p->addr & mask);
}

static bool allowed(uint32_t a, const struct rsip_prefix *list, unsigned n)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (in_prefix(a, &list[i]))
			return true;
	return false;
}

void rsip_server_config_default(struct rsip_server_config *c, uint32_t nb)
{
	memset(c, 0, sizeof(*c));
	c->addrs[0] = nb;
	c->n_addrs = 1;
	c->n_shared = 1;
	c->port_lo = 40000;
	c->port_hi = 40999;
	c->spi_lo = 0x00100000;
	c->spi_hi = 0x001fffff;
	c->lease_min = 60;
	c->lease_default = 600;
	c->lease_max = 3600;
	c->reg_lease = 3600;
	c->max_clients = 64;
	c->max_bindings = 256;
	c->max_bindings_per_client = 16;
	c->max_ports_per_request = 16;
	c->max_spis_per_request = 4;
	c->ipsec = true;
	c->listen = true;
}

static bool prefixes_ok(const struct rsip_prefix *l, unsigned n)
{
	if (n > RSIP_MAX_PREFIXES)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (l[i].len > 32)
			return false;
	return true;
}

int rsip_server_init(struct rsip_server *s, const struct rsip_server_config *cfg)
{
	const struct rsip_server_config *c = cfg;
	size_t port_entries;
	int rc;

	memset(s, 0, sizeof(*s));
	if (c->n_addrs < 1 || c->n_addrs > RSIP_MAX_ADDRS || c->n_shared < 1 || c->n_shared > c->n_addrs ||
	    c->port_lo == 0 || c->port_lo > c->port_hi || c->spi_lo < 256 || c->spi_lo > c->spi_hi ||
	    c->lease_min < 1 || c->lease_min > c->lease_default || c->lease_default > c->lease_max ||
	    c->reg_lease < 1 || c->max_clients < 1 || c->max_bindings < 1 || c->max_bindings_per_client < 1 ||
	    c->max_ports_per_request < 1 || c->max_ports_per_request > RSIP_BIND_MAX_PORTS ||
	    c->max_spis_per_request < 1 || c->max_spis_per_request > RSIP_BIND_MAX_SPIS ||
	    c->max_clients > 65536 || c->max_bindings > 65536 ||
	    !prefixes_ok(c->ipsec_allow, c->n_ipsec_allow) ||
	    !prefixes_ok(c->register_allow, c->n_register_allow) ||
	    !prefixes_ok(c->local_nets, c->n_local_nets))
		return -EINVAL;
	for (unsigned i = 0; i < c->n_addrs; i++)
		for (unsigned j = 0; j < i; j++)
			if (c->addrs[i] == c->addrs[j] || c->addrs[i] == 0)
				return -EINVAL;
	s->cfg = *c;
	port_entries = (size_t)c->max_bindings * RSIP_BIND_MAX_PORTS;
	if (port_entries > (size_t)(c->port_hi - c->port_lo + 1) * c->n_shared)
		port_entries = (size_t)(c->port_hi - c->port_lo + 1) * c->n_shared;
	s->clients = calloc(c->max_clients, sizeof(*s->clients));
	s->binds = calloc(c->max_bindings, sizeof(*s->binds));
	if (!s->clients || !s->binds) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = rsip_table_init(&s->spi_tab, (size_t)c->max_bindings * RSIP_BIND_MAX_SPIS,
				  rsip_table_mix(c->seed ^ 1))))
		goto fail;
	if ((rc = rsip_table_init(&s->port_tab, port_entries, rsip_table_mix(c->seed ^ 2))))
		goto fail_spi;
	if ((rc = rsip_table_init(&s->ike_tab, (size_t)c->max_bindings * RSIP_BIND_MAX_IKE,
				  rsip_table_mix(c->seed ^ 3))))
		goto fail_port;
	for (unsigned i = 0; i < RSIP_MAX_ADDRS; i++)
		s->addr_owner[i] = -1;
	s->next_client_id = (uint32_t)rsip_table_mix(c->seed ^ 4);
	s->next_bind_id = (uint32_t)rsip_table_mix(c->seed ^ 5);
	s->spi_ctr = rsip_table_mix(c->seed ^ 6);
	return 0;

fail_port:
	rsip_table_fini(&s->port_tab);
fail_spi:
	rsip_table_fini(&s->spi_tab);
fail:
	free(s->clients);
	free(s->binds);
	memset(s, 0, sizeof(*s));
	return rc;
}

void rsip_server_fini(struct rsip_server *s)
{
	rsip_table_fini(&s->spi_tab);
	rsip_table_fini(&s->port_tab);
	rsip_table_fini(&s->ike_tab);
	free(s->clients);
	free(s->binds);
	memset(s, 0, sizeof(*s));
}

/* ---- lookups ---- */

static struct rsip_tkey key(unsigned idx, uint64_t v)
{
	return (struct rsip_tkey){ .a = idx, .b = v };
}

static int addr_index(const struct rsip_server *s, uint32_t a)
{
	for (unsigned i = 0; i < s->cfg.n_addrs; i++)
		if (s->cfg.addrs[i] == a)
			return (int)i;
	return -1;
}

static int client_by_id(const struct rsip_server *s, uint32_t id)
{
	for (unsigned i = 0; i < s->cfg.max_clients; i++)
		if (s->clients[i].used && s->clients[i].client_id == id)
			return (int)i;
	return -1;
}

static bool same_peer(const struct rsip_peer *a, const struct rsip_peer *b)
{
	return a->addr == b->addr && a->port == b->port;
}

static int client_by_peer(const struct rsip_server *s, const struct rsip_peer *p)
{
	for (unsigned i = 0; i < s->cfg.max_clients; i++)
		if (s->clients[i].used && same_peer(&s->clients[i].peer, p))
			return (int)i;
	return -1;
}

static int bind_by_id(const struct rsip_server *s, uint32_t id)
{
	for (unsigned i = 0; i < s->cfg.max_bindings; i++)
		if (s->binds[i].used && s->binds[i].bind_id == id)
			return (int)i;
	return -1;
}

const struct rsip_binding *rsip_server_binding(const struct rsip_server *s, uint32_t bind_id)
{
	int i = bind_by_id(s, bind_id);

	return i < 0 ? NULL : &s->binds[i];
}

const struct rsip_client_rec *rsip_server_client(const struct rsip_server *s, uint32_t client_id)
{
	int i = client_by_id(s, client_id);

	return i < 0 ? NULL : &s->clients[i];
}

/* IDs are never 0 and never in use; the sequence starts at a random point. */
static uint32_t new_client_id(struct rsip_server *s)
{
	for (;;) {
		uint32_t id = s->next_client_id++;

		if (id && client_by_id(s, id) < 0)
			return id;
	}
}

static uint32_t new_bind_id(struct rsip_server *s)
{
	for (;;) {
		uint32_t id = s->next_bind_id++;

		if (id && bind_by_id(s, id) < 0)
			return id;
	}
}

/* ---- releasing ---- */

static void release_binding(struct rsip_server *s, unsigned slot, uint64_t now)
{
	struct rsip_binding *b = &s->binds[slot];
	struct rsip_client_rec *c = &s->clients[b->client];

	for (unsigned i = 0; i < b->n_spis; i++)
		(void)rsip_table_del(&s->spi_tab, key(b->addr_idx, b->spis[i]));
	s->addr_spis[b->addr_idx] -= b->n_spis;
	for (unsigned i = 0; i < b->n_ports; i++)
		(void)rsip_table_del(&s->port_tab, key(b->addr_idx, b->ports[i]));
	for (unsigned i = 0; i < b->n_ike; i++)
		(void)rsip_table_del(&s->ike_tab, key(b->addr_idx, b->ike[i].spi_i));
	if (s->addr_owner[b->addr_idx] == (int)slot)
		s->addr_owner[b->addr_idx] = -1;
	c->n_binds--;
	/* the registration lives reg_lease past its last binding */
	c->last_seen = now;
	memset(b, 0, sizeof(*b));
	s->n_binds--;
	s->generation++;
}

static void release_client(struct rsip_server *s, unsigned slot, uint64_t now)
{
	for (unsigned i = 0; i < s->cfg.max_bindings; i++)
		if (s->binds[i].used && s->binds[i].client == slot)
			release_binding(s, i, now);
	memset(&s->clients[slot], 0, sizeof(s->clients[slot]));
	s->n_clients--;
}

uint64_t rsip_server_expire(struct rsip_server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < s->cfg.max_bindings; i++) {
		if (!s->binds[i].used)
			continue;
		if (s->binds[i].expires <= now) {
			release_binding(s, i, now);
			s->stats.bindings_expired++;
		} else if (s->binds[i].expires < next) {
			next = s->binds[i].expires;
		}
	}
	for (unsigned i = 0; i < s->cfg.max_clients; i++) {
		struct rsip_client_rec *c = &s->clients[i];
		uint64_t end;

		if (!c->used || c->n_binds)
			continue;
		end = c->last_seen + s->cfg.reg_lease * MS_PER_S;
		if (end <= now) {
			release_client(s, i, now);
			s->stats.clients_expired++;
		} else if (end < next) {
			next = end;
		}
	}
	return next;
}

void rsip_server_drop_peer(struct rsip_server *s, const struct rsip_peer *from)
{
	int c = client_by_peer(s, from);

	if (c >= 0) {
		release_client(s, (unsigned)c, 0);
		s->stats.deregistrations++;
	}
}

/* ---- replies ---- */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t *len;
};

static void echo_counter(struct rsip_msg *r, const struct rsip_msg *q)
{
	if (q->present & RSIP_F_COUNTER) {
		r->present |= RSIP_F_COUNTER;
		r->counter = q->counter;
	}
}

static int send_msg(const struct rsip_msg *r, const struct out *o)
{
	int rc = rsip_msg_build(r, o->buf, o->cap, o->len);

	/* a reply that fails the grammar is a bug here, not the peer's doing */
	return rc == -EINVAL ? -EPROTO : rc;
}

static int send_error(struct rsip_server *s, const struct rsip_msg *q, uint16_t err, const struct out *o)
{
	struct rsip_msg *r = &s->resp;

	memset(r, 0, sizeof(*r));
	r->type = RSIP_ERROR_RESPONSE;
	r->present = RSIP_F_ERROR;
	r->error = err;
	echo_counter(r, q);
	/* RFC 3103: an ERROR_RESPONSE may carry the Client ID and Bind ID it concerns */
	r->present |= q->present & (RSIP_F_CLIENT_ID | RSIP_F_BIND_ID);
	r->client_id = q->client_id;
	r->bind_id = q->bind_id;
	s->stats.errors++;
	s->stats.last_error = err;
	return send_msg(r, o);
}

static uint32_t clamp_lease(const struct rsip_server *s, const struct rsip_msg *q)
{
	uint32_t l = (q->present & RSIP_F_LEASE_TIME) ? q->lease_time : s->cfg.lease_default;

	if (l < s->cfg.lease_min)
		l = s->cfg.lease_min;
	if (l > s->cfg.lease_max)
		l = s->cfg.lease_max;
	return l;
}

/* ---- the registration step ---- */

static int need_client(struct rsip_server *s, const struct rsip_peer *from, const struct rsip_msg *q)
{
	int c = client_by_id(s, q->client_id);

	if (c < 0) {
		if (client_by_peer(s, from) >= 0)
			return -RSIP_E_BAD_CLIENT_ID;
		return q->type == RSIP_DEREGISTER_REQUEST ? -RSIP_E_ALREADY_UNREGISTERED
							  : -RSIP_E_REGISTER_FIRST;
	}
	/* a Client ID is good only from the host that registered it */
	if (!same_peer(&s->clients[c].peer, from))
		return -RSIP_E_BAD_CLIENT_ID;
	return c;
}

static int on_register(struct rsip_server *s, const struct rsip_peer *from, const struct rsip_msg *q,
		       uint64_t now, struct rsip_msg *r)
{
	int slot = -1;

	if (client_by_peer(s, from) >= 0)
		return RSIP_E_ALREADY_REGISTERED;
	if (!allowed(from->addr, s->cfg.register_allow, s->cfg.n_register_allow))
		return RSIP_E_REGISTRATION_DENIED;
	for (unsigned i = 0; i < s->cfg.max_clients && slot < 0; i++)
		if (!s->clients[i].used)
			slot = (int)i;
	if (slot < 0)
		return RSIP_E_REGISTRATION_DENIED;
	s->clients[slot] = (struct rsip_client_rec){
		.used = true, .client_id = new_client_id(s), .peer = *from, .last_seen = now,
	};
	s->n_clients++;
	s->stats.registrations++;

	r->type = RSIP_REGISTER_RESPONSE;
	r->present = RSIP_F_CLIENT_ID | RSIP_F_LEASE_TIME | RSIP_F_FLOW_POLICY;
	r->client_id = s->clients[slot].client_id;
	r->lease_time = s->cfg.reg_lease;
	/* macro flows locally; no remote policy: with ESP the ports are hidden (RFC 3104 App. D) */
	r->flow_local = RSIP_FLOW_MACRO;
	r->flow_remote = RSIP_FLOW_NONE;
	if (s->cfg.n_addrs > s->cfg.n_shared)
		r->method[r->n_method++] = RSIP_METHOD_RSA_IP;
	r->method[r->n_method++] = RSIP_METHOD_RSAP_IP;
	if (s->cfg.ipsec)	/* RFC 3104 §6: advertise RSIPSEC */
		r->method[r->n_method++] = RSIP_METHOD_RSIPSEC;
	r->tunnel[r->n_tunnel++] = RSIP_TUNNEL_IPIP;
	return 0;
}

static int on_deregister(struct rsip_server *s, unsigned c, const struct rsip_msg *q, uint64_t now,
			 struct rsip_msg *r)
{
	r->type = RSIP_DEREGISTER_RESPONSE;
	r->present = RSIP_F_CLIENT_ID;
	r->client_id = s->clients[c].client_id;
	release_client(s, c, now);
	s->stats.deregistrations++;
	return 0;
}

/* ---- allocation ---- */

struct alloc {
	unsigned idx;
	uint8_t n_ports;
	uint16_t ports[RSIP_BIND_MAX_PORTS];
	bool ports_contiguous;
	uint8_t n_spis;
	uint32_t spis[RSIP_BIND_MAX_SPIS];
};

static bool port_free(const struct rsip_server *s, unsigned idx, uint32_t p)
{
	return rsip_table_get(&s->port_tab, key(idx, p)) == RSIP_TABLE_EMPTY;
}

static uint16_t alloc_ports(struct rsip_server *s, unsigned idx, const struct rsip_ports *want,
			    struct alloc *a)
{
	const struct rsip_server_config *c = &s->cfg;

	a->n_ports = 0;
	a->ports_contiguous = false;
	switch (want->form) {
	case RSIP_FORM_DONT_NEED:	/* RFC 3104 §6.2: no ports at all */
		return 0;
	case RSIP_FORM_DONT_CARE: {
		uint32_t run = 0;

		if (want->number > c->max_ports_per_request)
			return RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE;
		/* Appendix A: a contiguous range if we can, so the client's SPD can name it */
		for (uint32_t p = c->port_lo; p <= c->port_hi; p++) {
			run = port_free(s, idx, p) ? run + 1 : 0;
			if (run == want->number) {
				for (uint32_t i = 0; i < run; i++)
					a->ports[i] = (uint16_t)(p - run + 1 + i);
				a->n_ports = (uint8_t)run;
				a->ports_contiguous = run > 1;
				return 0;
			}
		}
		for (uint32_t p = c->port_lo; p <= c->port_hi && a->n_ports < want->number; p++)
			if (port_free(s, idx, p))
				a->ports[a->n_ports++] = (uint16_t)p;
		return a->n_ports == want->number ? 0 : RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE;
	}
	case RSIP_FORM_LIST:
	case RSIP_FORM_RANGE:
		if (want->number > c->max_ports_per_request)
			return RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE;
		for (unsigned i = 0; i < want->number; i++) {
			uint32_t p = want->form == RSIP_FORM_LIST ? want->port[i] : (uint32_t)want->port[0] + i;

			if (p < c->port_lo || p > c->port_hi)
				return RSIP_E_LOCAL_ADDRPORT_UNALLOWED;
			if (!port_free(s, idx, p))
				return RSIP_E_LOCAL_ADDRPORT_INUSE;
			a->ports[a->n_ports++] = (uint16_t)p;
		}
		return 0;
	}
	return RSIP_E_BAD_PARAM;
}

static bool spi_taken(const struct rsip_server *s, unsigned idx, uint32_t spi, const struct alloc *a)
{
	for (unsigned i = 0; i < a->n_spis; i++)
		if (a->spis[i] == spi)
			return true;
	return rsip_table_get(&s->spi_tab, key(idx, spi)) != RSIP_TABLE_EMPTY;
}

/*
 * RFC 3104 §5: an SPI is unique per Nb. The SPI parameter does not say
 * whether the client will use it for AH or ESP, so the server reserves
 * the value for both protocols: then it is unique per (protocol, Nb).
 */
static uint16_t alloc_spis(struct rsip_server *s, unsigned idx, const struct rsip_spi *want, struct alloc *a)
{
	const struct rsip_server_config *c = &s->cfg;
	uint64_t span = (uint64_t)c->spi_hi - c->spi_lo + 1;

	a->n_spis = 0;
	if (want->form == RSIP_FORM_DONT_CARE) {
		uint64_t left = span - s->addr_spis[idx];
		unsigned n = want->number;

		if (n > c->max_spis_per_request)
			n = c->max_spis_per_request;
		if (n > left)
			n = (unsigned)left;
		if (n == 0)	/* "cannot allocate ANY SPIs" */
			return RSIP_E_IPSEC_SPI_UNAVAILABLE;
		while (a->n_spis < n) {
			/* a keyed pseudo-random start keeps SPIs hard to guess (RFC 3104 §8) */
			uint32_t spi = (uint32_t)(c->spi_lo + rsip_table_mix(c->seed ^ s->spi_ctr++) % span);

			/* used values are few, so this walk is short */
			while (spi_taken(s, idx, spi, a))
				spi = spi == c->spi_hi ? c->spi_lo : spi + 1;
			a->spis[a->n_spis++] = spi;
		}
		return 0;
	}
	if (want->number > c->max_spis_per_request)
		return RSIP_E_IPSEC_SPI_UNAVAILABLE;
	for (unsigned i = 0; i < want->number; i++) {
		uint32_t spi = want->form == RSIP_FORM_LIST ? want->spi[i] : want->spi[0] + i;

		if (spi < c->spi_lo || spi > c->spi_hi)
			return RSIP_E_IPSEC_SPI_UNAVAILABLE;	/* not ours to lend */
		if (spi_taken(s, idx, spi, a))
			return RSIP_E_IPSEC_SPI_INUSE;
		a->spis[a->n_spis++] = spi;
	}
	return 0;
}

static int free_bind_slot(const struct rsip_server *s)
{
	for (unsigned i = 0; i < s->cfg.max_bindings; i++)
		if (!s->binds[i].used)
			return (int)i;
	return -1;
}

static unsigned commit(struct rsip_server *s, unsigned c, uint8_t kind, const struct alloc *a,
		       uint32_t lease, uint32_t remote, uint64_t now)
{
	int slot = free_bind_slot(s);	/* checked free by the caller */
	struct rsip_binding *b = &s->binds[slot];

	*b = (struct rsip_binding){
		.used = true, .kind = kind, .addr_idx = (uint8_t)a->idx, .bind_id = new_bind_id(s),
		.client = c, .expires = now + lease * MS_PER_S, .remote = remote,
		.n_ports = a->n_ports, .n_spis = a->n_spis,
	};
	memcpy(b->ports, a->ports, sizeof(a->ports));
	memcpy(b->spis, a->spis, sizeof(a->spis));
	/* the tables were sized for the configured maxima: these cannot fail */
	for (unsigned i = 0; i < a->n_ports; i++)
		(void)!rsip_table_put(&s->port_tab, key(a->idx, a->ports[i]), (uint32_t)slot);
	for (unsigned i = 0; i < a->n_spis; i++)
		(void)!rsip_table_put(&s->spi_tab, key(a->idx, a->spis[i]), (uint32_t)slot);
	s->addr_spis[a->idx] += a->n_spis;
	if (kind == RSIP_BIND_RSA_IP)
		s->addr_owner[a->idx] = slot;
	s->clients[c].n_binds++;
	s->n_binds++;
	s->generation++;
	s->stats.bindings_granted++;
	return (unsigned)slot;
}

static uint16_t unavailable(uint8_t type)
{
	if (type == RSIP_ASSIGN_REQUEST_RSA_IP)
		return RSIP_E_LOCAL_ADDR_UNAVAILABLE;
	if (type == RSIP_ASSIGN_REQUEST_RSIPSEC)
		return RSIP_E_IPSEC_SPI_UNAVAILABLE;
	return RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE;
}

/* Try to satisfy an ASSIGN/LISTEN request on the public address @p idx. */
static uint16_t try_addr(struct rsip_server *s, unsigned idx, const struct rsip_msg *q, struct alloc *a)
{
	uint16_t e;

	memset(a, 0, sizeof(*a));
	a->idx = idx;
	if (q->type == RSIP_ASSIGN_REQUEST_RSA_IP) {
		if (idx < s->cfg.n_shared)
			return RSIP_E_LOCAL_ADDR_UNALLOWED;	/* shared addresses are not lent whole */
		return s->addr_owner[idx] >= 0 ? RSIP_E_LOCAL_ADDR_INUSE : 0;
	}
	if (idx >= s->cfg.n_shared)
		return RSIP_E_LOCAL_ADDR_UNALLOWED;
	if (s->addr_owner[idx] >= 0)
		return RSIP_E_LOCAL_ADDR_INUSE;
	if (q->type == RSIP_ASSIGN_REQUEST_RSIPSEC && (e = alloc_spis(s, idx, &q->spi, a)))
		return e;
	return alloc_ports(s, idx, &q->ports_local, a);
}

static int on_assign(struct rsip_server *s, const struct rsip_peer *from, unsigned c,
		     const struct rsip_msg *q, uint64_t now, struct rsip_msg *r)
{
	static const uint8_t kinds[] = {
		[RSIP_ASSIGN_REQUEST_RSA_IP] = RSIP_BIND_RSA_IP,
		[RSIP_ASSIGN_REQUEST_RSAP_IP] = RSIP_BIND_RSAP_IP,
		[RSIP_LISTEN_REQUEST] = RSIP_BIND_LISTEN,
		[RSIP_ASSIGN_REQUEST_RSIPSEC] = RSIP_BIND_RSIPSEC,
	};
	struct alloc a;
	uint32_t remote = 0, lease;
	uint16_t e = 0;
	bool ipip = q->n_tunnel == 0;
	unsigned slot;

	if (q->type == RSIP_ASSIGN_REQUEST_RSA_IP && s->cfg.n_addrs == s->cfg.n_shared)
		return RSIP_E_UNSUPPORTED_MESSAGE;	/* RSA-IP not offered: no address to lend whole */
	if (q->type == RSIP_LISTEN_REQUEST && !s->cfg.listen)
		return RSIP_E_UNSUPPORTED_MESSAGE;
	/* RFC 3104 §6.2: a client not allowed IPsec gets IPSEC_UNALLOWED */
	if (q->type == RSIP_ASSIGN_REQUEST_RSIPSEC &&
	    (!s->cfg.ipsec || !allowed(from->addr, s->cfg.ipsec_allow, s->cfg.n_ipsec_allow)))
		return RSIP_E_IPSEC_UNALLOWED;
	for (unsigned i = 0; i < q->n_tunnel; i++)
		ipip |= q->tunnel[i] == RSIP_TUNNEL_IPIP;
	if (!ipip)
		return RSIP_E_BAD_TUNNEL_TYPE;	/* the data path tunnels IP in IP only */
	if (s->clients[c].n_binds >= s->cfg.max_bindings_per_client || free_bind_slot(s) < 0)
		return unavailable(q->type);

	if (q->addr_local.type != RSIP_ADDR_IPV4)
		return q->addr_local.type == RSIP_ADDR_IPV4_NETMASK ? RSIP_E_BAD_PARAM
								    : RSIP_E_LOCAL_ADDR_UNAVAILABLE;
	if (q->addr_local.len) {
		uint32_t want;
		int idx;

		(void)!rsip_addr_get_ipv4(&q->addr_local, &want);
		if ((idx = addr_index(s, want)) < 0)
			return RSIP_E_LOCAL_ADDR_UNALLOWED;
		if ((e = try_addr(s, (unsigned)idx, q, &a)))
			return e;
	} else {
		/* don't care: the first address that can serve, else the first address's reason */
		uint16_t first = 0;
		unsigned lo = q->type == RSIP_ASSIGN_REQUEST_RSA_IP ? s->cfg.n_shared : 0;
		unsigned hi = q->type == RSIP_ASSIGN_REQUEST_RSA_IP ? s->cfg.n_addrs : s->cfg.n_shared;

		for (unsigned i = lo; i < hi; i++) {
			e = try_addr(s, i, q, &a);
			if (!e)
				break;
			if (!first)
				first = e;
		}
		if (e) {
			if (q->type == RSIP_ASSIGN_REQUEST_RSA_IP && first == RSIP_E_LOCAL_ADDR_INUSE)
				first = RSIP_E_LOCAL_ADDR_UNAVAILABLE;
			return first;
		}
	}
	if (q->addr_remote.type == RSIP_ADDR_IPV4 && q->addr_remote.len)
		(void)!rsip_addr_get_ipv4(&q->addr_remote, &remote);
	lease = clamp_lease(s, q);
	slot = commit(s, c, kinds[q->type], &a, lease, remote, now);

	r->type = (uint8_t)(q->type + 1);	/* each response follows its request */
	r->present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID | RSIP_F_ADDR_LOCAL | RSIP_F_ADDR_REMOTE |
		     RSIP_F_PORTS_REMOTE | RSIP_F_LEASE_TIME;
	r->client_id = s->clients[c].client_id;
	r->bind_id = s->binds[slot].bind_id;
	rsip_addr_set_ipv4(&r->addr_local, s->cfg.addrs[a.idx]);
	r->addr_remote = q->addr_remote;
	r->ports_remote = q->ports_remote;
	r->lease_time = lease;
	r->n_tunnel = 1;
	r->tunnel[0] = RSIP_TUNNEL_IPIP;
	if (s->cfg.tunnel_endpoint) {
		r->present |= RSIP_F_ADDR_TUNNEL;
		rsip_addr_set_ipv4(&r->addr_tunnel, s->cfg.tunnel_endpoint);
	}
	if (q->type != RSIP_ASSIGN_REQUEST_RSA_IP) {
		r->present |= RSIP_F_PORTS_LOCAL;
		if (q->ports_local.form == RSIP_FORM_DONT_NEED) {
			r->ports_local.form = RSIP_FORM_DONT_NEED;	/* §6.2: the same in the response */
		} else if (a.ports_contiguous) {
			r->ports_local.form = RSIP_FORM_RANGE;
			r->ports_local.number = a.n_ports;
			r->ports_local.port[0] = a.ports[0];
		} else {
			r->ports_local.form = RSIP_FORM_LIST;
			r->ports_local.number = a.n_ports;
			memcpy(r->ports_local.port, a.ports, a.n_ports * sizeof(a.ports[0]));
		}
	}
	if (q->type == RSIP_ASSIGN_REQUEST_RSIPSEC) {
		r->present |= RSIP_F_SPI;
		if (q->spi.form == RSIP_FORM_RANGE) {
			r->spi = q->spi;
		} else {
			r->spi.form = RSIP_FORM_LIST;
			r->spi.number = a.n_spis;
			memcpy(r->spi.spi, a.spis, a.n_spis * sizeof(a.spis[0]));
		}
	}
	return 0;
}

static int owned_binding(const struct rsip_server *s, unsigned c, uint32_t bind_id)
{
	int b = bind_by_id(s, bind_id);

	return b >= 0 && s->binds[b].client == c ? b : -1;
}

static int on_extend(struct rsip_server *s, unsigned c, const struct rsip_msg *q, uint64_t now,
		     struct rsip_msg *r)
{
	int b = owned_binding(s, c, q->bind_id);
	uint32_t lease;

	if (b < 0)
		return RSIP_E_BAD_BIND_ID;
	lease = clamp_lease(s, q);
	s->binds[b].expires = now + lease * MS_PER_S;
	s->generation++;
	r->type = RSIP_EXTEND_RESPONSE;
	r->present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID | RSIP_F_LEASE_TIME;
	r->client_id = q->client_id;
	r->bind_id = q->bind_id;
	r->lease_time = lease;
	return 0;
}

static int on_free(struct rsip_server *s, unsigned c, const struct rsip_msg *q, uint64_t now,
		   struct rsip_msg *r)
{
	int b = owned_binding(s, c, q->bind_id);

	if (b < 0)
		return RSIP_E_BAD_BIND_ID;
	release_binding(s, (unsigned)b, now);
	s->stats.bindings_freed++;
	r->type = RSIP_FREE_RESPONSE;
	r->present = RSIP_F_CLIENT_ID | RSIP_F_BIND_ID;
	r->client_id = q->client_id;
	r->bind_id = q->bind_id;
	return 0;
}

static uint32_t mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

/* A netmask made of leading ones, as a prefix length; -1 if it is not one. */
static int mask_len(uint32_t m)
{
	int n = 0;

	while (n < 32 && (m & (1u << (31 - n))))
		n++;
	return m == mask_of((uint8_t)n) ? n : -1;
}

static void add_net(struct rsip_msg *r, uint16_t ind, uint32_t net, uint32_t mask)
{
	struct rsip_query_item *it = &r->query[r->n_query++];

	it->indicator = ind;
	rsip_addr_set_ipv4(&it->addr, net & mask);
	rsip_addr_set_ipv4(&it->mask, mask);
	it->mask.type = RSIP_ADDR_IPV4_NETMASK;
}

/*
 * QUERY: is an address or network in the clients' realm (reach it
 * directly) or beyond the server (use RSIP)? Tuples we cannot judge
 * (IPv6, FQDN, don't care) are left out of the answer. A query with no
 * tuple asks for the whole list of local networks.
 */
static int on_query(struct rsip_server *s, unsigned c, const struct rsip_msg *q, struct rsip_msg *r)
{
	const struct rsip_server_config *cf = &s->cfg;

	r->type = RSIP_QUERY_RESPONSE;
	r->present = RSIP_F_CLIENT_ID;
	r->client_id = q->client_id;
	if (q->n_query == 0) {
		for (unsigned i = 0; i < cf->n_local_nets && r->n_query < RSIP_MAX_QUERY; i++)
			add_net(r, RSIP_IND_LOCAL_NETWORK, cf->local_nets[i].addr, mask_of(cf->local_nets[i].len));
		return 0;
	}
	for (unsigned i = 0; i < q->n_query; i++) {
		const struct rsip_query_item *it = &q->query[i];
		uint32_t a, m = 0xffffffff;
		struct rsip_prefix p;
		int ml;
		bool local = false;

		if (rsip_addr_get_ipv4(&it->addr, &a))
			continue;
		if (it->indicator == RSIP_IND_NETWORK) {
			if (it->mask.len != 4 || (ml = mask_len((uint32_t)it->mask.v[0] << 24 |
						      (uint32_t)it->mask.v[1] << 16 |
						      (uint32_t)it->mask.v[2] << 8 | it->mask.v[3])) < 0)
				return RSIP_E_BAD_PARAM;
			m = mask_of((uint8_t)ml);
			p = (struct rsip_prefix){ a, (uint8_t)ml };
			/* local if some local network contains all of it */
			for (unsigned j = 0; j < cf->n_local_nets; j++)
				local |= cf->local_nets[j].len <= p.len && in_prefix(a, &cf->local_nets[j]);
			add_net(r, local ? RSIP_IND_LOCAL_NETWORK : RSIP_IND_REMOTE_NETWORK, a, m);
		} else {
			struct rsip_query_item *o = &r->query[r->n_query++];

			for (unsigned j = 0; j < cf->n_local_nets; j++)
				local |= in_prefix(a, &cf->local_nets[j]);
			o->indicator = local ? RSIP_IND_LOCAL_ADDRESS : RSIP_IND_REMOTE_ADDRESS;
			o->addr = it->addr;
		}
	}
	return 0;
}

int rsip_server_handle(struct rsip_server *s, const struct rsip_peer *from,
		       const uint8_t *req, size_t len, uint64_t now,
		       uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct rsip_msg *q = &s->req, *r = &s->resp;
	struct out o = { resp, cap, resp_len };
	uint16_t e = 0;
	int c = -1, rc;

	*resp_len = 0;
	s->stats.requests++;
	rsip_server_expire(s, now);
	if (rsip_msg_parse(q, req, len, &e)) {
		if (q->type == RSIP_ERROR_RESPONSE)
			return 0;	/* never answer an error with an error */
		return send_error(s, q, e, &o);
	}
	if (q->type == RSIP_ERROR_RESPONSE)
		return 0;
	if (!rsip_msg_is_request(q->type))
		return send_error(s, q, RSIP_E_ILLEGAL_MESSAGE, &o);	/* a response sent to the server */
	if (s->cfg.counter_required && !(q->present & RSIP_F_COUNTER))
		return send_error(s, q, RSIP_E_MESSAGE_COUNTER_REQUIRED, &o);

	memset(r, 0, sizeof(*r));
	if (q->type != RSIP_REGISTER_REQUEST) {
		if ((c = need_client(s, from, q)) < 0)
			return send_error(s, q, (uint16_t)-c, &o);
		s->clients[c].last_seen = now;
	}
	switch (q->type) {
	case RSIP_REGISTER_REQUEST:
		rc = on_register(s, from, q, now, r);
		break;
	case RSIP_DEREGISTER_REQUEST:
		rc = on_deregister(s, (unsigned)c, q, now, r);
		break;
	case RSIP_ASSIGN_REQUEST_RSA_IP:
	case RSIP_ASSIGN_REQUEST_RSAP_IP:
	case RSIP_LISTEN_REQUEST:
	case RSIP_ASSIGN_REQUEST_RSIPSEC:
		rc = on_assign(s, from, (unsigned)c, q, now, r);
		break;
	case RSIP_EXTEND_REQUEST:
		rc = on_extend(s, (unsigned)c, q, now, r);
		break;
	case RSIP_FREE_REQUEST:
		rc = on_free(s, (unsigned)c, q, now, r);
		break;
	case RSIP_QUERY_REQUEST:
		rc = on_query(s, (unsigned)c, q, r);
		break;
	default:
		rc = RSIP_E_UNSUPPORTED_MESSAGE;
		break;
	}
	if (rc)
		return send_error(s, q, (uint16_t)rc, &o);
	echo_counter(r, q);
	return send_msg(r, &o);
}

/* ---- the data path ---- */

static int live(const struct rsip_server *s, uint32_t slot, uint64_t now)
{
	return slot != RSIP_TABLE_EMPTY && s->binds[slot].used && s->binds[slot].expires > now;
}

static void fill(const struct rsip_server *s, uint32_t slot, struct rsip_dest *out)
{
	const struct rsip_binding *b = &s->binds[slot];
	const struct rsip_client_rec *c = &s->clients[b->client];

	out->client_id = c->client_id;
	out->bind_id = b->bind_id;
	out->tunnel_addr = c->peer.addr;
}

int rsip_demux_esp(struct rsip_server *s, uint32_t dst, uint8_t proto, uint32_t spi,
		   uint64_t now, struct rsip_dest *out)
{
	int idx = addr_index(s, dst);
	uint32_t slot;

	if (idx < 0 || (proto != 50 && proto != 51))
		goto miss;
	slot = rsip_table_get(&s->spi_tab, key((unsigned)idx, spi));
	if (!live(s, slot, now))
		goto miss;
	fill(s, slot, out);
	s->stats.esp_hits++;
	return 0;
miss:
	/* RFC 3104 §5: no mapping, the packet MUST be discarded */
	s->stats.esp_misses++;
	return -ENOENT;
}

static struct rsip_ike_claim *find_claim(struct rsip_binding *b, uint64_t spi_i)
{
	for (unsigned i = 0; i < b->n_ike; i++)
		if (b->ike[i].spi_i == spi_i)
			return &b->ike[i];
	return NULL;
}

int rsip_demux_ike(struct rsip_server *s, uint32_t dst, uint16_t dst_port, uint64_t ike_spi_i,
		   uint32_t peer, uint64_t now, struct rsip_dest *out)
{
	int idx = addr_index(s, dst);
	uint32_t slot;
	struct rsip_ike_claim *cl;

	if (idx < 0)
		goto miss;
	if (dst_port != RSIP_IKE_PORT) {
		/* §6.1, the preferred way: the client's own (ephemeral) IKE port */
		slot = rsip_table_get(&s->port_tab, key((unsigned)idx, dst_port));
		if (!live(s, slot, now))
			goto miss;
	} else {
		/* §6.1 trial and error: the initiator SPI claimed towards this peer */
		slot = rsip_table_get(&s->ike_tab, key((unsigned)idx, ike_spi_i));
		if (!live(s, slot, now) || !(cl = find_claim(&s->binds[slot], ike_spi_i)) || cl->peer != peer)
			goto miss;
		cl->answered = true;
	}
	fill(s, slot, out);
	s->stats.ike_hits++;
	return 0;
miss:
	/* e.g. a rekey started by the peer with a new SPI (RFC 3104 App. E) */
	s->stats.ike_misses++;
	return -ENOENT;
}

int rsip_demux_port(struct rsip_server *s, uint32_t dst, uint16_t dst_port, uint64_t now,
		    struct rsip_dest *out)
{
	int idx = addr_index(s, dst);
	uint32_t slot;

	if (idx >= 0) {
		slot = rsip_table_get(&s->port_tab, key((unsigned)idx, dst_port));
		if (live(s, slot, now)) {
			fill(s, slot, out);
			s->stats.port_hits++;
			return 0;
		}
	}
	s->stats.port_misses++;
	return -ENOENT;
}

int rsip_demux_addr(struct rsip_server *s, uint32_t dst, uint64_t now, struct rsip_dest *out)
{
	int idx = addr_index(s, dst);

	if (idx < 0 || s->addr_owner[idx] < 0 || !live(s, (uint32_t)s->addr_owner[idx], now))
		return -ENOENT;
	fill(s, (uint32_t)s->addr_owner[idx], out);
	return 0;
}

/* A live binding on @p idx held by a client whose tunnel address is @p tunnel_src. */
static int client_binding(const struct rsip_server *s, uint32_t tunnel_src, unsigned idx, int kind,
			  uint64_t now)
{
	for (unsigned i = 0; i < s->cfg.max_bindings; i++) {
		const struct rsip_binding *b = &s->binds[i];

		if (live(s, i, now) && b->addr_idx == idx && (kind < 0 || b->kind == kind) &&
		    s->clients[b->client].peer.addr == tunnel_src)
			return (int)i;
	}
	return -1;
}

int rsip_outbound_check(struct rsip_server *s, uint32_t tunnel_src, uint32_t src, uint64_t now)
{
	int idx = addr_index(s, src);

	if (idx >= 0 && client_binding(s, tunnel_src, (unsigned)idx, -1, now) >= 0)
		return 0;
	s->stats.outbound_refused++;
	return -EPERM;
}

int rsip_outbound_ike(struct rsip_server *s, uint32_t tunnel_src, uint32_t src, uint16_t src_port,
		      uint32_t dst, uint64_t ike_spi_i, uint64_t now)
{
	int idx = addr_index(s, src), b;
	uint32_t slot;
	struct rsip_binding *bd;
	struct rsip_ike_claim *cl;

	if (idx < 0)
		goto refuse;
	if (src_port != RSIP_IKE_PORT) {
		/* an ephemeral IKE port: it must be one of this client's ports */
		slot = rsip_table_get(&s->port_tab, key((unsigned)idx, src_port));
		if (!live(s, slot, now) || s->clients[s->binds[slot].client].peer.addr != tunnel_src)
			goto refuse;
		return 0;
	}
	if ((b = client_binding(s, tunnel_src, (unsigned)idx, RSIP_BIND_RSIPSEC, now)) < 0)
		goto refuse;
	slot = rsip_table_get(&s->ike_tab, key((unsigned)idx, ike_spi_i));
	if (slot != RSIP_TABLE_EMPTY) {
		bd = &s->binds[slot];
		cl = find_claim(bd, ike_spi_i);
		if (cl && s->clients[bd->client].peer.addr == tunnel_src && cl->peer == dst)
			return 0;	/* this and all later packets between X and Y */
		s->stats.ike_collisions++;	/* §6.1: not unique, N drops the packet */
		return -EEXIST;
	}
	bd = &s->binds[b];
	if (bd->n_ike == RSIP_BIND_MAX_IKE) {
		/* clients use a new SPI per retransmission (§6.1): evict the oldest unanswered */
		int old = -1;

		for (unsigned i = 0; i < bd->n_ike; i++)
			if (!bd->ike[i].answered && (old < 0 || bd->ike[i].since < bd->ike[old].since))
				old = (int)i;
		if (old < 0)
			return -ENOSPC;
		(void)rsip_table_del(&s->ike_tab, key(bd->addr_idx, bd->ike[old].spi_i));
		bd->ike[old] = bd->ike[--bd->n_ike];
		s->stats.ike_claims_evicted++;
	}
	if (rsip_table_put(&s->ike_tab, key((unsigned)idx, ike_spi_i), (uint32_t)b))
		return -ENOSPC;
	bd->ike[bd->n_ike++] = (struct rsip_ike_claim){ .spi_i = ike_spi_i, .peer = dst, .since = now };
	s->stats.ike_claims++;
	return 0;
refuse:
	s->stats.outbound_refused++;
	return -EPERM;
}
