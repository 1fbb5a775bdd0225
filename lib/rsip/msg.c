/*
 * RSIP message codec (RFC 3103, RFC 3104 §6). Parsing runs in two passes:
 * the first checks the framing (header and every parameter inside the
 * Overall Length), the second decodes each parameter and checks it against
 * the message's grammar, so that a truncated message is always BAD_MESSAGE
 * and the other errors are reported for the first offending parameter.
 */
#include <errno.h>
#include <string.h>

#include "rsip/msg.h"
#include "wire/wire.h"

/* One line of a grammar: a parameter code and how often it may appear. */
struct rule {
	uint8_t code;
	uint8_t min;
	uint8_t max;
};

struct grammar {
	uint8_t type;
	bool request;		/* sent by the client */
	const char *name;
	struct rule r[9];	/* in the RFC's order: the builder writes them so */
};

#define R(c, lo, hi) { RSIP_P_##c, lo, hi }
#define ONE(c) R(c, 1, 1)
#define OPT(c) R(c, 0, 1)
#define ANY(c) R(c, 0, RSIP_MAX_LIST)

/*
 * The grammars of RFC 3103 §6 (as cross-checked in docs/rsip.md) and of
 * RFC 3104 §6.2. Address and Ports counts include every role: RSA-IP has
 * Address (local), Address (remote), Ports (remote); RSAP-IP, LISTEN and
 * RSIPSEC have local and remote of both; responses may add Address (tunnel
 * endpoint). Vendor Specific parameters are allowed in every message.
 */
static const struct grammar grammars[] = {
	{ RSIP_ERROR_RESPONSE, false, "ERROR_RESPONSE",
	  { ONE(ERROR), OPT(MESSAGE_COUNTER), OPT(CLIENT_ID), OPT(BIND_ID) } },
	{ RSIP_REGISTER_REQUEST, true, "REGISTER_REQUEST",
	  { OPT(MESSAGE_COUNTER) } },
	{ RSIP_REGISTER_RESPONSE, false, "REGISTER_RESPONSE",
	  { ONE(CLIENT_ID), ONE(LEASE_TIME), ONE(FLOW_POLICY), OPT(MESSAGE_COUNTER),
	    ANY(RSIP_METHOD), ANY(TUNNEL_TYPE) } },
	{ RSIP_DEREGISTER_REQUEST, true, "DE-REGISTER_REQUEST",
	  { ONE(CLIENT_ID), OPT(MESSAGE_COUNTER) } },
	{ RSIP_DEREGISTER_RESPONSE, false, "DE-REGISTER_RESPONSE",
	  { ONE(CLIENT_ID), OPT(MESSAGE_COUNTER) } },
	{ RSIP_ASSIGN_REQUEST_RSA_IP, true, "ASSIGN_REQUEST_RSA-IP",
	  { ONE(CLIENT_ID), R(ADDRESS, 2, 2), ONE(PORTS), OPT(MESSAGE_COUNTER),
	    OPT(LEASE_TIME), OPT(TUNNEL_TYPE) } },
	{ RSIP_ASSIGN_RESPONSE_RSA_IP, false, "ASSIGN_RESPONSE_RSA-IP",
	  { ONE(CLIENT_ID), ONE(BIND_ID), R(ADDRESS, 2, 3), ONE(PORTS), ONE(LEASE_TIME),
	    ONE(TUNNEL_TYPE), OPT(MESSAGE_COUNTER) } },
	{ RSIP_ASSIGN_REQUEST_RSAP_IP, true, "ASSIGN_REQUEST_RSAP-IP",
	  { ONE(CLIENT_ID), R(ADDRESS, 2, 2), R(PORTS, 2, 2), OPT(MESSAGE_COUNTER),
	    OPT(LEASE_TIME), OPT(TUNNEL_TYPE) } },
	{ RSIP_ASSIGN_RESPONSE_RSAP_IP, false, "ASSIGN_RESPONSE_RSAP-IP",
	  { ONE(CLIENT_ID), ONE(BIND_ID), R(ADDRESS, 2, 3), R(PORTS, 2, 2), ONE(LEASE_TIME),
	    ONE(TUNNEL_TYPE), OPT(MESSAGE_COUNTER) } },
	{ RSIP_EXTEND_REQUEST, true, "EXTEND_REQUEST",
	  { ONE(CLIENT_ID), ONE(BIND_ID), OPT(LEASE_TIME), OPT(MESSAGE_COUNTER) } },
	{ RSIP_EXTEND_RESPONSE, false, "EXTEND_RESPONSE",
	  { ONE(CLIENT_ID), ONE(BIND_ID), ONE(LEASE_TIME), OPT(MESSAGE_COUNTER) } },
	{ RSIP_FREE_REQUEST, true, "FREE_REQUEST",
	  { ONE(CLIENT_ID), ONE(BIND_ID), OPT(MESSAGE_COUNTER) } },
	{ RSIP_FREE_RESPONSE, false, "FREE_RESPONSE",
	  { ONE(CLIENT_ID), ONE(BIND_ID), OPT(MESSAGE_COUNTER) } },
	{ RSIP_QUERY_REQUEST, true, "QUERY_REQUEST",
	  { ONE(CLIENT_ID), OPT(MESSAGE_COUNTER), R(INDICATOR, 0, RSIP_MAX_QUERY),
	    R(ADDRESS, 0, 2 * RSIP_MAX_QUERY) } },
	{ RSIP_QUERY_RESPONSE, false, "QUERY_RESPONSE",
	  { ONE(CLIENT_ID), OPT(MESSAGE_COUNTER), R(INDICATOR, 0, RSIP_MAX_QUERY),
	    R(ADDRESS, 0, 2 * RSIP_MAX_QUERY) } },
	{ RSIP_LISTEN_REQUEST, true, "LISTEN_REQUEST",
	  { ONE(CLIENT_ID), R(ADDRESS, 2, 2), R(PORTS, 2, 2), OPT(MESSAGE_COUNTER),
	    OPT(LEASE_TIME), ANY(TUNNEL_TYPE) } },
	{ RSIP_LISTEN_RESPONSE, false, "LISTEN_RESPONSE",
	  { ONE(CLIENT_ID), ONE(BIND_ID), R(ADDRESS, 2, 3), R(PORTS, 2, 2), ONE(TUNNEL_TYPE),
	    ONE(LEASE_TIME), OPT(MESSAGE_COUNTER) } },
	{ RSIP_ASSIGN_REQUEST_RSIPSEC, true, "ASSIGN_REQUEST_RSIPSEC",
	  { ONE(CLIENT_ID), R(ADDRESS, 2, 2), R(PORTS, 2, 2), ONE(SPI), OPT(MESSAGE_COUNTER),
	    OPT(LEASE_TIME), OPT(TUNNEL_TYPE) } },
	{ RSIP_ASSIGN_RESPONSE_RSIPSEC, false, "ASSIGN_RESPONSE_RSIPSEC",
	  { ONE(CLIENT_ID), ONE(BIND_ID), R(ADDRESS, 2, 3), R(PORTS, 2, 2), ONE(SPI),
	    ONE(LEASE_TIME), ONE(TUNNEL_TYPE), OPT(MESSAGE_COUNTER) } },
};

static const struct grammar *grammar_of(uint8_t type)
{
	for (size_t i = 0; i < sizeof(grammars) / sizeof(grammars[0]); i++)
		if (grammars[i].type == type)
			return &grammars[i];
	return NULL;
}

static const struct rule *rule_of(const struct grammar *g, uint8_t code)
{
	static const struct rule vendor = R(VENDOR_SPECIFIC, 0, RSIP_MAX_VENDOR);

	if (code == RSIP_P_VENDOR_SPECIFIC)
		return &vendor;
	for (size_t i = 0; i < sizeof(g->r) / sizeof(g->r[0]) && g->r[i].code; i++)
		if (g->r[i].code == code)
			return &g->r[i];
	return NULL;
}

static bool code_known(uint8_t code)
{
	return (code >= RSIP_P_ADDRESS && code <= RSIP_P_VENDOR_SPECIFIC) || code == RSIP_P_SPI;
}

static bool is_rsa_ip(uint8_t type)
{
	return type == RSIP_ASSIGN_REQUEST_RSA_IP || type == RSIP_ASSIGN_RESPONSE_RSA_IP;
}

static bool is_rsipsec(uint8_t type)
{
	return type == RSIP_ASSIGN_REQUEST_RSIPSEC || type == RSIP_ASSIGN_RESPONSE_RSIPSEC;
}

static bool is_query(uint8_t type)
{
	return type == RSIP_QUERY_REQUEST || type == RSIP_QUERY_RESPONSE;
}

bool rsip_msg_is_request(uint8_t type)
{
	const struct grammar *g = grammar_of(type);

	return g && g->request;
}

const char *rsip_msg_type_name(uint8_t type)
{
	const struct grammar *g = grammar_of(type);

	return g ? g->name : NULL;
}

const char *rsip_error_name(uint16_t err)
{
	switch (err) {
	case RSIP_E_UNKNOWN_ERROR: return "UNKNOWN_ERROR";
	case RSIP_E_USE_TCP: return "USE_TCP";
	case RSIP_E_FLOW_POLICY_VIOLATION: return "FLOW_POLICY_VIOLATION";
	case RSIP_E_INTERNAL_SERVER_ERROR: return "INTERNAL_SERVER_ERROR";
	case RSIP_E_MESSAGE_COUNTER_REQUIRED: return "MESSAGE_COUNTER_REQUIRED";
	case RSIP_E_UNSUPPORTED_RSIP_VERSION: return "UNSUPPORTED_RSIP_VERSION";
	case RSIP_E_MISSING_PARAM: return "MISSING_PARAM";
	case RSIP_E_DUPLICATE_PARAM: return "DUPLICATE_PARAM";
	case RSIP_E_EXTRA_PARAM: return "EXTRA_PARAM";
	case RSIP_E_ILLEGAL_PARAM: return "ILLEGAL_PARAM";
	case RSIP_E_BAD_PARAM: return "BAD_PARAM";
	case RSIP_E_ILLEGAL_MESSAGE: return "ILLEGAL_MESSAGE";
	case RSIP_E_BAD_MESSAGE: return "BAD_MESSAGE";
	case RSIP_E_UNSUPPORTED_MESSAGE: return "UNSUPPORTED_MESSAGE";
	case RSIP_E_REGISTER_FIRST: return "REGISTER_FIRST";
	case RSIP_E_ALREADY_REGISTERED: return "ALREADY_REGISTERED";
	case RSIP_E_ALREADY_UNREGISTERED: return "ALREADY_UNREGISTERED";
	case RSIP_E_REGISTRATION_DENIED: return "REGISTRATION_DENIED";
	case RSIP_E_BAD_CLIENT_ID: return "BAD_CLIENT_ID";
	case RSIP_E_BAD_BIND_ID: return "BAD_BIND_ID";
	case RSIP_E_BAD_TUNNEL_TYPE: return "BAD_TUNNEL_TYPE";
	case RSIP_E_LOCAL_ADDR_UNAVAILABLE: return "LOCAL_ADDR_UNAVAILABLE";
	case RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE: return "LOCAL_ADDRPORT_UNAVAILABLE";
	case RSIP_E_LOCAL_ADDR_INUSE: return "LOCAL_ADDR_INUSE";
	case RSIP_E_LOCAL_ADDRPORT_INUSE: return "LOCAL_ADDRPORT_INUSE";
	case RSIP_E_LOCAL_ADDR_UNALLOWED: return "LOCAL_ADDR_UNALLOWED";
	case RSIP_E_LOCAL_ADDRPORT_UNALLOWED: return "LOCAL_ADDRPORT_UNALLOWED";
	case RSIP_E_REMOTE_ADDR_UNALLOWED: return "REMOTE_ADDR_UNALLOWED";
	case RSIP_E_REMOTE_ADDRPORT_UNALLOWED: return "REMOTE_ADDRPORT_UNALLOWED";
	case RSIP_E_IPSEC_UNALLOWED: return "IPSEC_UNALLOWED";
	case RSIP_E_IPSEC_SPI_UNAVAILABLE: return "IPSEC_SPI_UNAVAILABLE";
	case RSIP_E_IPSEC_SPI_INUSE: return "IPSEC_SPI_INUSE";
	}
	return NULL;
}

void rsip_addr_set_ipv4(struct rsip_addr *a, uint32_t ipv4)
{
	memset(a, 0, sizeof(*a));
	a->type = RSIP_ADDR_IPV4;
	a->len = 4;
	a->v[0] = (uint8_t)(ipv4 >> 24);
	a->v[1] = (uint8_t)(ipv4 >> 16);
	a->v[2] = (uint8_t)(ipv4 >> 8);
	a->v[3] = (uint8_t)ipv4;
}

void rsip_addr_set_any(struct rsip_addr *a, uint8_t type)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
}

int rsip_addr_get_ipv4(const struct rsip_addr *a, uint32_t *ipv4)
{
	if (a->type != RSIP_ADDR_IPV4 || a->len != 4)
		return -EINVAL;
	*ipv4 = (uint32_t)a->v[0] << 24 | (uint32_t)a->v[1] << 16 |
		(uint32_t)a->v[2] << 8 | a->v[3];
	return 0;
}

/* ---- value checks shared by the parser and the builder ---- */

static uint16_t check_addr(const struct rsip_addr *a)
{
	switch (a->type) {
	case RSIP_ADDR_IPV4:
	case RSIP_ADDR_IPV4_NETMASK:
		return a->len == 0 || a->len == 4 ? 0 : RSIP_E_BAD_PARAM;
	case RSIP_ADDR_IPV6:
		return a->len == 0 || a->len == 16 ? 0 : RSIP_E_BAD_PARAM;
	case RSIP_ADDR_FQDN:
		return 0;	/* 0..255 bytes; 0 is "don't care" */
	}
	return RSIP_E_BAD_PARAM;	/* reserved or unknown type: its length is unknowable */
}

static uint16_t check_ports(const struct rsip_ports *p, uint8_t type)
{
	switch (p->form) {
	case RSIP_FORM_DONT_NEED:
		/* RFC 3104 §6.2 introduces this form for the RSIPSEC messages only */
		return is_rsipsec(type) && p->number == 0 ? 0 : RSIP_E_BAD_PARAM;
	case RSIP_FORM_DONT_CARE:
		return p->number >= 1 ? 0 : RSIP_E_BAD_PARAM;
	case RSIP_FORM_RANGE:
		if (p->number < 2 || p->port[0] == 0 || (uint32_t)p->port[0] + p->number - 1 > 65535)
			return RSIP_E_BAD_PARAM;
		return 0;
	case RSIP_FORM_LIST:
		if (p->number < 1)
			return RSIP_E_BAD_PARAM;
		for (unsigned i = 0; i < p->number; i++) {
			if (p->port[i] == 0)
				return RSIP_E_BAD_PARAM;
			for (unsigned j = 0; j < i; j++)
				if (p->port[j] == p->port[i])
					return RSIP_E_BAD_PARAM;
		}
		return 0;
	}
	return RSIP_E_BAD_PARAM;
}

/* RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is never sent on the wire. */
#define SPI_MIN 256u

static uint16_t check_spi(const struct rsip_spi *s)
{
	if (s->number < 1)
		return RSIP_E_BAD_PARAM;	/* RFC 3104 §6.2: Number MUST be >= 1 */
	switch (s->form) {
	case RSIP_FORM_DONT_CARE:
		return 0;
	case RSIP_FORM_RANGE:
		if (s->number < 2 || s->spi[0] < SPI_MIN ||
		    (uint64_t)s->spi[0] + s->number - 1 > UINT32_MAX)
			return RSIP_E_BAD_PARAM;
		return 0;
	case RSIP_FORM_LIST:
		if (s->number > RSIP_MAX_SPIS)
			return RSIP_E_BAD_PARAM;
		for (unsigned i = 0; i < s->number; i++) {
			if (s->spi[i] < SPI_MIN)
				return RSIP_E_BAD_PARAM;
			for (unsigned j = 0; j < i; j++)
				if (s->spi[j] == s->spi[i])
					return RSIP_E_BAD_PARAM;
		}
		return 0;
	}
	return RSIP_E_BAD_PARAM;
}

static uint16_t check_flow(uint8_t local, uint8_t remote)
{
	if (local != RSIP_FLOW_MACRO && local != RSIP_FLOW_MICRO)
		return RSIP_E_BAD_PARAM;
	if (remote < RSIP_FLOW_MACRO || remote > RSIP_FLOW_NONE)
		return RSIP_E_BAD_PARAM;
	return 0;
}

static uint16_t check_indicator(uint8_t type, uint16_t ind)
{
	uint16_t max = type == RSIP_QUERY_REQUEST ? RSIP_IND_NETWORK : RSIP_IND_REMOTE_NETWORK;

	return ind >= 1 && ind <= max ? 0 : RSIP_E_BAD_PARAM;
}

/* Network indicators are followed by two Address parameters, the others by one. */
static unsigned indicator_addrs(uint16_t ind)
{
	return ind == RSIP_IND_NETWORK || ind == RSIP_IND_REMOTE_NETWORK ? 2 : 1;
}

static uint16_t check_list(const uint8_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (v[i] == 0)
			return RSIP_E_BAD_PARAM;	/* value 0 is reserved */
		for (unsigned j = 0; j < i; j++)
			if (v[j] == v[i])
				return RSIP_E_DUPLICATE_PARAM;
	}
	return 0;
}

/* ---- parsing ---- */

static uint16_t decode_addr(struct wire *v, size_t len, struct rsip_addr *a)
{
	if (len < 1 || len - 1 > RSIP_ADDR_MAX)
		return RSIP_E_BAD_PARAM;
	a->type = wire_read_u8(v);
	a->len = (uint8_t)(len - 1);
	wire_read_bytes(v, a->v, a->len);
	return check_addr(a);
}

static uint16_t decode_ports(struct wire *v, size_t len, uint8_t type, struct rsip_ports *p)
{
	size_t k;

	if (len == 0) {
		p->form = RSIP_FORM_DONT_NEED;
		p->number = 0;
		return check_ports(p, type);
	}
	if ((len - 1) % 2)
		return RSIP_E_BAD_PARAM;
	p->number = wire_read_u8(v);
	k = (len - 1) / 2;
	if (k == 0)
		p->form = RSIP_FORM_DONT_CARE;
	else if (k == 1 && p->number > 1)
		p->form = RSIP_FORM_RANGE;
	else if (k == p->number)
		p->form = RSIP_FORM_LIST;
	else
		return RSIP_E_BAD_PARAM;	/* neither one port nor Number of them */
	for (size_t i = 0; i < k; i++)
		p->port[i] = wire_read_u16(v);
	return check_ports(p, type);
}

static uint16_t decode_spi(struct wire *v, size_t len, struct rsip_spi *s)
{
	size_t k;

	if (len < 2 || (len - 2) % 4)
		return RSIP_E_BAD_PARAM;
	s->number = wire_read_u16(v);
	k = (len - 2) / 4;
	if (k == 0)
		s->form = RSIP_FORM_DONT_CARE;
	else if (k == 1 && s->number > 1)
		s->form = RSIP_FORM_RANGE;
	else if (k == s->number && k <= RSIP_MAX_SPIS)
		s->form = RSIP_FORM_LIST;
	else
		return RSIP_E_BAD_PARAM;
	for (size_t i = 0; i < k; i++)
		s->spi[i] = wire_read_u32(v);
	return check_spi(s);
}

struct qstate {
	unsigned need;		/* Address parameters the current QUERY tuple still needs */
	unsigned got;
};

/* Decode one parameter (already known to be in the grammar) into @p m. */
static uint16_t decode_param(struct rsip_msg *m, uint8_t code, struct wire *v, size_t len,
			     unsigned nth, struct qstate *q)
{
	uint16_t e;

	if (is_query(m->type) && q->need && code != RSIP_P_ADDRESS)
		return RSIP_E_BAD_MESSAGE;	/* a tuple cut short */
	switch (code) {
	case RSIP_P_CLIENT_ID:
	case RSIP_P_BIND_ID:
	case RSIP_P_LEASE_TIME:
	case RSIP_P_MESSAGE_COUNTER: {
		uint32_t x;

		if (len != 4)
			return RSIP_E_BAD_PARAM;
		x = wire_read_u32(v);
		if (code == RSIP_P_CLIENT_ID) {
			m->client_id = x;
			m->present |= RSIP_F_CLIENT_ID;
		} else if (code == RSIP_P_BIND_ID) {
			m->bind_id = x;
			m->present |= RSIP_F_BIND_ID;
		} else if (code == RSIP_P_LEASE_TIME) {
			m->lease_time = x;
			m->present |= RSIP_F_LEASE_TIME;
		} else {
			m->counter = x;
			m->present |= RSIP_F_COUNTER;
		}
		return 0;
	}
	case RSIP_P_ERROR:
		if (len != 2)
			return RSIP_E_BAD_PARAM;
		m->error = wire_read_u16(v);
		m->present |= RSIP_F_ERROR;
		return 0;
	case RSIP_P_TUNNEL_TYPE:
	case RSIP_P_RSIP_METHOD: {
		uint8_t *list = code == RSIP_P_TUNNEL_TYPE ? m->tunnel : m->method;
		uint8_t *n = code == RSIP_P_TUNNEL_TYPE ? &m->n_tunnel : &m->n_method;

		if (len != 1)
			return RSIP_E_BAD_PARAM;
		list[(*n)++] = wire_read_u8(v);
		return check_list(list, *n);
	}
	case RSIP_P_FLOW_POLICY:
		if (len != 2)
			return RSIP_E_BAD_PARAM;
		m->flow_local = wire_read_u8(v);
		m->flow_remote = wire_read_u8(v);
		m->present |= RSIP_F_FLOW_POLICY;
		return check_flow(m->flow_local, m->flow_remote);
	case RSIP_P_INDICATOR: {
		struct rsip_query_item *it = &m->query[m->n_query++];

		if (len != 2)
			return RSIP_E_BAD_PARAM;
		it->indicator = wire_read_u16(v);
		if ((e = check_indicator(m->type, it->indicator)))
			return e;
		q->need = indicator_addrs(it->indicator);
		q->got = 0;
		return 0;
	}
	case RSIP_P_ADDRESS:
		if (is_query(m->type)) {
			struct rsip_query_item *it;

			if (!q->need)
				return RSIP_E_BAD_MESSAGE;	/* an address outside a tuple */
			it = &m->query[m->n_query - 1];
			e = decode_addr(v, len, q->got ? &it->mask : &it->addr);
			q->got++;
			q->need--;
			return e;
		}
		if (nth == 0) {
			m->present |= RSIP_F_ADDR_LOCAL;
			return decode_addr(v, len, &m->addr_local);
		}
		if (nth == 1) {
			m->present |= RSIP_F_ADDR_REMOTE;
			return decode_addr(v, len, &m->addr_remote);
		}
		m->present |= RSIP_F_ADDR_TUNNEL;
		return decode_addr(v, len, &m->addr_tunnel);
	case RSIP_P_PORTS:
		if (nth == 0 && !is_rsa_ip(m->type)) {
			m->present |= RSIP_F_PORTS_LOCAL;
			return decode_ports(v, len, m->type, &m->ports_local);
		}
		m->present |= RSIP_F_PORTS_REMOTE;
		return decode_ports(v, len, m->type, &m->ports_remote);
	case RSIP_P_SPI:
		m->present |= RSIP_F_SPI;
		return decode_spi(v, len, &m->spi);
	case RSIP_P_VENDOR_SPECIFIC: {
		struct rsip_vendor *vs = &m->vendor[m->n_vendor++];

		if (len < 4 || len - 4 > RSIP_VENDOR_MAX)
			return RSIP_E_BAD_PARAM;
		vs->vendor_id = wire_read_u16(v);
		vs->subtype = wire_read_u16(v);
		vs->len = (uint16_t)(len - 4);
		wire_read_bytes(v, vs->value, vs->len);
		return 0;
	}
	}
	return RSIP_E_ILLEGAL_PARAM;
}

int rsip_msg_frame_len(const uint8_t *buf, size_t len)
{
	struct wire w = wire_reader(buf, len);
	uint16_t total;

	if (len < RSIP_HDR_LEN)
		return 0;
	wire_skip(&w, 2);
	total = wire_read_u16(&w);
	return total < RSIP_HDR_LEN ? -EBADMSG : (int)total;
}

/* After an error, pick up what an ERROR_RESPONSE echoes, leniently. */
static void salvage(struct rsip_msg *m, struct wire w)
{
	m->present &= RSIP_F_COUNTER | RSIP_F_CLIENT_ID | RSIP_F_BIND_ID;
	while (wire_avail(&w) >= 3) {
		uint8_t code = wire_read_u8(&w);
		uint16_t len = wire_read_u16(&w);
		struct wire v = wire_sub(&w, len);
		uint32_t x = wire_read_u32(&v);

		if (wire_err(&w))
			return;
		if (len != 4)
			continue;
		if (code == RSIP_P_MESSAGE_COUNTER && !(m->present & RSIP_F_COUNTER)) {
			m->counter = x;
			m->present |= RSIP_F_COUNTER;
		} else if (code == RSIP_P_CLIENT_ID && !(m->present & RSIP_F_CLIENT_ID)) {
			m->client_id = x;
			m->present |= RSIP_F_CLIENT_ID;
		} else if (code == RSIP_P_BIND_ID && !(m->present & RSIP_F_BIND_ID)) {
			m->bind_id = x;
			m->present |= RSIP_F_BIND_ID;
		}
	}
}

static int fail(struct rsip_msg *m, struct wire params, uint16_t e, uint16_t *rsip_err)
{
	salvage(m, params);
	if (rsip_err)
		*rsip_err = e;
	return -EBADMSG;
}

int rsip_msg_parse(struct rsip_msg *m, const uint8_t *buf, size_t len, uint16_t *rsip_err)
{
	struct wire w = wire_reader(buf, len), params, scan;
	const struct grammar *g;
	uint8_t version, count[256] = { 0 };
	struct qstate q = { 0, 0 };
	uint16_t total, e;

	memset(m, 0, sizeof(*m));
	if (rsip_err)
		*rsip_err = 0;
	version = wire_read_u8(&w);
	m->type = wire_read_u8(&w);
	total = wire_read_u16(&w);
	params = w;
	if (wire_err(&w) || total != len)
		return fail(m, params, RSIP_E_BAD_MESSAGE, rsip_err);
	if (version != RSIP_VERSION)
		return fail(m, params, RSIP_E_UNSUPPORTED_RSIP_VERSION, rsip_err);

	/* pass 1: framing */
	scan = params;
	while (wire_avail(&scan)) {
		wire_skip(&scan, 1);
		wire_skip(&scan, wire_read_u16(&scan));
		if (wire_err(&scan))
			return fail(m, params, RSIP_E_BAD_MESSAGE, rsip_err);
	}
	if (!(g = grammar_of(m->type)))
		return fail(m, params, RSIP_E_UNSUPPORTED_MESSAGE, rsip_err);

	/* pass 2: each parameter against the grammar, in order */
	scan = params;
	while (wire_avail(&scan)) {
		uint8_t code = wire_read_u8(&scan);
		uint16_t plen = wire_read_u16(&scan);
		struct wire v = wire_sub(&scan, plen);
		const struct rule *r;

		if (!code_known(code))
			return fail(m, params, RSIP_E_ILLEGAL_PARAM, rsip_err);
		if (!(r = rule_of(g, code)))
			return fail(m, params, RSIP_E_EXTRA_PARAM, rsip_err);
		if (count[code] >= r->max)
			return fail(m, params, RSIP_E_DUPLICATE_PARAM, rsip_err);
		if ((e = decode_param(m, code, &v, plen, count[code], &q)))
			return fail(m, params, e, rsip_err);
		count[code]++;
		if (wire_err(&v) || wire_avail(&v))
			return fail(m, params, RSIP_E_BAD_PARAM, rsip_err);
	}
	if (q.need)
		return fail(m, params, RSIP_E_BAD_MESSAGE, rsip_err);
	for (size_t i = 0; i < sizeof(g->r) / sizeof(g->r[0]) && g->r[i].code; i++)
		if (count[g->r[i].code] < g->r[i].min)
			return fail(m, params, RSIP_E_MISSING_PARAM, rsip_err);
	return 0;
}

/* ---- building ---- */

/* How many parameters of @p code the struct holds; UINT32_MAX if its roles have gaps. */
static uint32_t count_of(const struct rsip_msg *m, uint8_t code)
{
	uint32_t n = 0;

	switch (code) {
	case RSIP_P_CLIENT_ID: return !!(m->present & RSIP_F_CLIENT_ID);
	case RSIP_P_BIND_ID: return !!(m->present & RSIP_F_BIND_ID);
	case RSIP_P_LEASE_TIME: return !!(m->present & RSIP_F_LEASE_TIME);
	case RSIP_P_MESSAGE_COUNTER: return !!(m->present & RSIP_F_COUNTER);
	case RSIP_P_ERROR: return !!(m->present & RSIP_F_ERROR);
	case RSIP_P_FLOW_POLICY: return !!(m->present & RSIP_F_FLOW_POLICY);
	case RSIP_P_SPI: return !!(m->present & RSIP_F_SPI);
	case RSIP_P_TUNNEL_TYPE: return m->n_tunnel;
	case RSIP_P_RSIP_METHOD: return m->n_method;
	case RSIP_P_VENDOR_SPECIFIC: return m->n_vendor;
	case RSIP_P_INDICATOR: return m->n_query;
	case RSIP_P_ADDRESS:
		if (is_query(m->type)) {
			for (unsigned i = 0; i < m->n_query && i < RSIP_MAX_QUERY; i++)
				n += indicator_addrs(m->query[i].indicator);
			return n;
		}
		/* roles fill in order: local, remote, tunnel endpoint */
		if (m->present & RSIP_F_ADDR_TUNNEL)
			return (m->present & RSIP_F_ADDR_REMOTE) && (m->present & RSIP_F_ADDR_LOCAL) ? 3 : UINT32_MAX;
		if (m->present & RSIP_F_ADDR_REMOTE)
			return (m->present & RSIP_F_ADDR_LOCAL) ? 2 : UINT32_MAX;
		return !!(m->present & RSIP_F_ADDR_LOCAL);
	case RSIP_P_PORTS:
		if (is_rsa_ip(m->type))
			return (m->present & RSIP_F_PORTS_LOCAL) ? UINT32_MAX : !!(m->present & RSIP_F_PORTS_REMOTE);
		if (m->present & RSIP_F_PORTS_REMOTE)
			return (m->present & RSIP_F_PORTS_LOCAL) ? 2 : UINT32_MAX;
		return !!(m->present & RSIP_F_PORTS_LOCAL);
	}
	return 0;
}

uint16_t rsip_msg_check(const struct rsip_msg *m)
{
	static const uint8_t codes[] = {
		RSIP_P_ADDRESS, RSIP_P_PORTS, RSIP_P_LEASE_TIME, RSIP_P_CLIENT_ID, RSIP_P_BIND_ID,
		RSIP_P_TUNNEL_TYPE, RSIP_P_RSIP_METHOD, RSIP_P_ERROR, RSIP_P_FLOW_POLICY,
		RSIP_P_INDICATOR, RSIP_P_MESSAGE_COUNTER, RSIP_P_VENDOR_SPECIFIC, RSIP_P_SPI,
	};
	const struct grammar *g = grammar_of(m->type);
	uint16_t e;

	if (!g)
		return RSIP_E_UNSUPPORTED_MESSAGE;
	if (m->n_tunnel > RSIP_MAX_LIST || m->n_method > RSIP_MAX_LIST ||
	    m->n_query > RSIP_MAX_QUERY || m->n_vendor > RSIP_MAX_VENDOR)
		return RSIP_E_DUPLICATE_PARAM;
	for (size_t i = 0; i < sizeof(codes); i++) {
		const struct rule *r = rule_of(g, codes[i]);
		uint32_t n = count_of(m, codes[i]);

		if (n == UINT32_MAX)
			return RSIP_E_BAD_PARAM;
		if (n && !r)
			return RSIP_E_EXTRA_PARAM;
		if (r && n > r->max)
			return RSIP_E_DUPLICATE_PARAM;
		if (r && n < r->min)
			return RSIP_E_MISSING_PARAM;
	}
	if ((e = check_list(m->tunnel, m->n_tunnel)) || (e = check_list(m->method, m->n_method)))
		return e;
	if ((m->present & RSIP_F_FLOW_POLICY) && (e = check_flow(m->flow_local, m->flow_remote)))
		return e;
	if (!is_query(m->type)) {
		if ((m->present & RSIP_F_ADDR_LOCAL) && (e = check_addr(&m->addr_local)))
			return e;
		if ((m->present & RSIP_F_ADDR_REMOTE) && (e = check_addr(&m->addr_remote)))
			return e;
		if ((m->present & RSIP_F_ADDR_TUNNEL) && (e = check_addr(&m->addr_tunnel)))
			return e;
	}
	if ((m->present & RSIP_F_PORTS_LOCAL) && (e = check_ports(&m->ports_local, m->type)))
		return e;
	if ((m->present & RSIP_F_PORTS_REMOTE) && (e = check_ports(&m->ports_remote, m->type)))
		return e;
	if ((m->present & RSIP_F_SPI) && (e = check_spi(&m->spi)))
		return e;
	for (unsigned i = 0; is_query(m->type) && i < m->n_query; i++) {
		const struct rsip_query_item *it = &m->query[i];

		if ((e = check_indicator(m->type, it->indicator)) || (e = check_addr(&it->addr)))
			return e;
		if (indicator_addrs(it->indicator) == 2 && (e = check_addr(&it->mask)))
			return e;
	}
	for (unsigned i = 0; i < m->n_vendor; i++)
		if (m->vendor[i].len > RSIP_VENDOR_MAX)
			return RSIP_E_BAD_PARAM;
	return 0;
}

static void put_hdr(struct wire *w, uint8_t code, size_t len)
{
	wire_write_u8(w, code);
	wire_write_u16(w, (uint16_t)len);
}

static void put_u32(struct wire *w, uint8_t code, uint32_t v)
{
	put_hdr(w, code, 4);
	wire_write_u32(w, v);
}

static void put_addr(struct wire *w, const struct rsip_addr *a)
{
	put_hdr(w, RSIP_P_ADDRESS, 1u + a->len);
	wire_write_u8(w, a->type);
	wire_write_bytes(w, a->v, a->len);
}

static void put_ports(struct wire *w, const struct rsip_ports *p)
{
	size_t k = p->form == RSIP_FORM_LIST ? p->number : p->form == RSIP_FORM_RANGE ? 1 : 0;

	if (p->form == RSIP_FORM_DONT_NEED) {
		put_hdr(w, RSIP_P_PORTS, 0);
		return;
	}
	put_hdr(w, RSIP_P_PORTS, 1 + 2 * k);
	wire_write_u8(w, p->number);
	for (size_t i = 0; i < k; i++)
		wire_write_u16(w, p->port[i]);
}

static void put_spi(struct wire *w, const struct rsip_spi *s)
{
	size_t k = s->form == RSIP_FORM_LIST ? s->number : s->form == RSIP_FORM_RANGE ? 1 : 0;

	put_hdr(w, RSIP_P_SPI, 2 + 4 * k);
	wire_write_u16(w, s->number);
	for (size_t i = 0; i < k; i++)
		wire_write_u32(w, s->spi[i]);
}

static void put_code(struct wire *w, const struct rsip_msg *m, uint8_t code)
{
	switch (code) {
	case RSIP_P_CLIENT_ID:
		if (m->present & RSIP_F_CLIENT_ID)
			put_u32(w, code, m->client_id);
		break;
	case RSIP_P_BIND_ID:
		if (m->present & RSIP_F_BIND_ID)
			put_u32(w, code, m->bind_id);
		break;
	case RSIP_P_LEASE_TIME:
		if (m->present & RSIP_F_LEASE_TIME)
			put_u32(w, code, m->lease_time);
		break;
	case RSIP_P_MESSAGE_COUNTER:
		if (m->present & RSIP_F_COUNTER)
			put_u32(w, code, m->counter);
		break;
	case RSIP_P_ERROR:
		if (m->present & RSIP_F_ERROR) {
			put_hdr(w, code, 2);
			wire_write_u16(w, m->error);
		}
		break;
	case RSIP_P_FLOW_POLICY:
		if (m->present & RSIP_F_FLOW_POLICY) {
			put_hdr(w, code, 2);
			wire_write_u8(w, m->flow_local);
			wire_write_u8(w, m->flow_remote);
		}
		break;
	case RSIP_P_TUNNEL_TYPE:
	case RSIP_P_RSIP_METHOD: {
		const uint8_t *list = code == RSIP_P_TUNNEL_TYPE ? m->tunnel : m->method;
		unsigned n = code == RSIP_P_TUNNEL_TYPE ? m->n_tunnel : m->n_method;

		for (unsigned i = 0; i < n; i++) {
			put_hdr(w, code, 1);
			wire_write_u8(w, list[i]);
		}
		break;
	}
	case RSIP_P_ADDRESS:
		if (is_query(m->type))
			break;	/* written with their indicators */
		if (m->present & RSIP_F_ADDR_LOCAL)
			put_addr(w, &m->addr_local);
		if (m->present & RSIP_F_ADDR_REMOTE)
			put_addr(w, &m->addr_remote);
		if (m->present & RSIP_F_ADDR_TUNNEL)
			put_addr(w, &m->addr_tunnel);
		break;
	case RSIP_P_PORTS:
		if (m->present & RSIP_F_PORTS_LOCAL)
			put_ports(w, &m->ports_local);
		if (m->present & RSIP_F_PORTS_REMOTE)
			put_ports(w, &m->ports_remote);
		break;
	case RSIP_P_SPI:
		if (m->present & RSIP_F_SPI)
			put_spi(w, &m->spi);
		break;
	case RSIP_P_INDICATOR:
		for (unsigned i = 0; i < m->n_query; i++) {
			put_hdr(w, code, 2);
			wire_write_u16(w, m->query[i].indicator);
			put_addr(w, &m->query[i].addr);
			if (indicator_addrs(m->query[i].indicator) == 2)
				put_addr(w, &m->query[i].mask);
		}
		break;
	}
}

int rsip_msg_build(const struct rsip_msg *m, uint8_t *buf, size_t cap, size_t *out_len)
{
	const struct grammar *g = grammar_of(m->type);
	struct wire w = wire_writer(buf, cap);
	size_t lenpos;

	if (!g || rsip_msg_check(m))
		return -EINVAL;
	wire_write_u8(&w, RSIP_VERSION);
	wire_write_u8(&w, m->type);
	lenpos = wire_reserve(&w, 2);
	for (size_t i = 0; i < sizeof(g->r) / sizeof(g->r[0]) && g->r[i].code; i++)
		put_code(&w, m, g->r[i].code);
	for (unsigned i = 0; i < m->n_vendor; i++) {
		put_hdr(&w, RSIP_P_VENDOR_SPECIFIC, 4u + m->vendor[i].len);
		wire_write_u16(&w, m->vendor[i].vendor_id);
		wire_write_u16(&w, m->vendor[i].subtype);
		wire_write_bytes(&w, m->vendor[i].value, m->vendor[i].len);
	}
	if (!wire_err(&w) && wire_offset(&w) > RSIP_MSG_MAX)
		return -EMSGSIZE;
	wire_patch_u16(&w, lenpos, (uint16_t)wire_offset(&w));
	if (wire_err(&w))
		return wire_err(&w);
	*out_len = wire_offset(&w);
	return 0;
}
