/* PCP messages (RFC 6887), through lib/wire. */
#include "pcp/pcp.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void pcp_addr_from_v4(struct in6_addr *out, struct in_addr v4)
{
	memcpy(out->s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(out->s6_addr + 12, &v4, 4);
}

bool pcp_addr_to_v4(const struct in6_addr *a, struct in_addr *v4)
{
	if (memcmp(a->s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
		return false;
	if (v4)
		memcpy(v4, a->s6_addr + 12, 4);
	return true;
}

static void write_addr(struct wire *w, const struct in6_addr *a)
{
	wire_write_bytes(w, a->s6_addr, 16);
}

static void read_addr(struct wire *r, struct in6_addr *a)
{
	wire_read_bytes(r, a->s6_addr, 16);
}

int pcp_msg_build(const struct pcp_msg *m, void *buf, size_t len)
{
	struct wire w = wire_writer(buf, len);

	if (m->opcode != PCP_OP_MAP && m->opcode != PCP_OP_ANNOUNCE)
		return -EINVAL;
	if (m->n_filters > PCP_MAX_FILTERS)
		return -EINVAL;
	if (m->opcode != PCP_OP_MAP && (m->prefer_failure || m->third_party || m->n_filters))
		return -EINVAL;	/* RFC 6887 §13: these options belong to MAP */

	wire_write_u8(&w, PCP_VERSION);
	if (!m->response) {
		wire_write_u8(&w, m->opcode);
		wire_write_u16(&w, 0);
		wire_write_u32(&w, m->lifetime);
		write_addr(&w, &m->client_addr);
	} else {
		wire_write_u8(&w, (uint8_t)(m->opcode | PCP_R_BIT));
		wire_write_u8(&w, 0);
		wire_write_u8(&w, m->result);
		wire_write_u32(&w, m->lifetime);
		wire_write_u32(&w, m->epoch);
		wire_write_zero(&w, 12);
	}

	if (m->opcode == PCP_OP_MAP &&
	    (!m->response || m->has_map || m->result == PCP_RESULT_SUCCESS)) {
		wire_write_bytes(&w, m->nonce, PCP_NONCE_LEN);
		wire_write_u8(&w, m->protocol);
		wire_write_zero(&w, 3);
		wire_write_u16(&w, m->internal_port);
		wire_write_u16(&w, m->external_port);
		write_addr(&w, &m->external_addr);
	}

	if (m->third_party) {
		wire_write_u8(&w, PCP_OPT_THIRD_PARTY);
		wire_write_u8(&w, 0);
		wire_write_u16(&w, 16);
		write_addr(&w, &m->third_party_addr);
	}
	if (m->prefer_failure) {
		wire_write_u8(&w, PCP_OPT_PREFER_FAILURE);
		wire_write_u8(&w, 0);
		wire_write_u16(&w, 0);
	}
	for (unsigned int i = 0; i < m->n_filters; i++) {
		wire_write_u8(&w, PCP_OPT_FILTER);
		wire_write_u8(&w, 0);
		wire_write_u16(&w, 20);
		wire_write_u8(&w, 0);
		wire_write_u8(&w, m->filters[i].prefix_len);
		wire_write_u16(&w, m->filters[i].port);
		write_addr(&w, &m->filters[i].addr);
	}
	if (wire_err(&w))
		return wire_err(&w);
	if (wire_offset(&w) > PCP_MAX_LEN)
		return -EINVAL;
	return (int)wire_offset(&w);
}

/* One option's body, by code. *why gets the result a server would send. */
static int parse_option(struct wire *o, uint8_t code, size_t olen, struct pcp_msg *m,
			bool request, uint8_t *why)
{
	struct pcp_filter f;

	switch (code) {
	case PCP_OPT_THIRD_PARTY:
		if (m->opcode != PCP_OP_MAP || olen != 16 || m->third_party)
			goto malformed;
		m->third_party = true;
		read_addr(o, &m->third_party_addr);
		return 0;
	case PCP_OPT_PREFER_FAILURE:
		if (m->opcode != PCP_OP_MAP || olen != 0 || m->prefer_failure)
			goto malformed;
		m->prefer_failure = true;
		return 0;
	case PCP_OPT_FILTER:
		if (m->opcode != PCP_OP_MAP || olen != 20)
			goto malformed;
		wire_skip(o, 1);
		f.prefix_len = wire_read_u8(o);
		f.port = wire_read_u16(o);
		read_addr(o, &f.addr);
		/* RFC 6887 §13.3: a prefix longer than the address is malformed */
		if (f.prefix_len > 128 ||
		    (pcp_addr_to_v4(&f.addr, NULL) && f.prefix_len != 0 && f.prefix_len < 96))
			goto malformed;
		if (m->n_filters == PCP_MAX_FILTERS) {
			if (request) {
				*why = PCP_RESULT_EXCESSIVE_REMOTE_PEERS;
				return -EOPNOTSUPP;
			}
			m->n_skipped++;
			return 0;
		}
		m->filters[m->n_filters++] = f;
		return 0;
	default:
		if (code >= PCP_OPT_OPTIONAL_MIN) {
			m->n_skipped++;	/* RFC 6887 §7.3: optional options may be skipped */
			return 0;
		}
		if (request) {
			*why = PCP_RESULT_UNSUPP_OPTION;
			return -EOPNOTSUPP;
		}
		if (!m->unknown_mandatory)
			m->unknown_mandatory = code;
		return 0;
	}
malformed:
	*why = PCP_RESULT_MALFORMED_OPTION;
	return -EBADMSG;
}

static int parse_options(struct wire *r, struct pcp_msg *m, bool request, uint8_t *why)
{
	while (wire_avail(r) > 0) {
		uint8_t code;
		size_t olen, padded;
		struct wire o;
		int err;

		if (wire_avail(r) < PCP_OPT_HDR_LEN)
			goto malformed;
		code = wire_read_u8(r);
		wire_skip(r, 1);
		olen = wire_read_u16(r);
		padded = (olen + 3) & ~(size_t)3;
		if (padded > wire_avail(r))
			goto malformed;	/* RFC 6887 §7.3: an option running past the end */
		o = wire_sub(r, padded);
		err = parse_option(&o, code, olen, m, request, why);
		if (err)
			return err;
		if (wire_err(&o) || wire_err(r))
			goto malformed;
	}
	return 0;
malformed:
	*why = PCP_RESULT_MALFORMED_OPTION;
	return -EBADMSG;
}

static void read_map(struct wire *r, struct pcp_msg *m)
{
	wire_read_bytes(r, m->nonce, PCP_NONCE_LEN);
	m->protocol = wire_read_u8(r);
	wire_skip(r, 3);
	m->internal_port = wire_read_u16(r);
	m->external_port = wire_read_u16(r);
	read_addr(r, &m->external_addr);
	m->has_map = wire_err(r) == 0;
}

int pcp_request_parse(const void *buf, size_t len, struct pcp_msg *m, uint8_t *why)
{
	struct wire r = wire_reader(buf, len);
	uint8_t b1;
	int err;

	memset(m, 0, sizeof(*m));
	*why = PCP_RESULT_SUCCESS;
	if (len < 2)
		return -EBADMSG;	/* RFC 6887 §8.3: silently dropped */
	m->version = wire_read_u8(&r);
	b1 = wire_read_u8(&r);
	m->opcode = b1 & (uint8_t)~PCP_R_BIT;
	if (b1 & PCP_R_BIT)
		return -EBADMSG;	/* a response sent to the server: dropped */
	if (m->version != PCP_VERSION) {
		*why = PCP_RESULT_UNSUPP_VERSION;
		return -EPROTONOSUPPORT;
	}
	if (len < PCP_HDR_LEN || len > PCP_MAX_LEN || len % 4) {
		*why = PCP_RESULT_MALFORMED_REQUEST;
		return -EBADMSG;
	}
	if (m->opcode != PCP_OP_MAP && m->opcode != PCP_OP_ANNOUNCE) {
		*why = PCP_RESULT_UNSUPP_OPCODE;
		return -EOPNOTSUPP;
	}
	wire_skip(&r, 2);
	m->lifetime = wire_read_u32(&r);
	read_addr(&r, &m->client_addr);
	if (m->opcode == PCP_OP_MAP) {
		if (wire_avail(&r) < PCP_MAP_LEN) {
			*why = PCP_RESULT_MALFORMED_REQUEST;
			return -EBADMSG;
		}
		read_map(&r, m);
		/* RFC 6887 §11.1: protocol 0 (all) goes with internal port 0 only */
		if (m->protocol == PCP_PROTO_ALL && m->internal_port != 0) {
			*why = PCP_RESULT_MALFORMED_REQUEST;
			return -EBADMSG;
		}
	}
	err = parse_options(&r, m, true, why);
	if (err)
		return err;
	if (wire_err(&r)) {
		*why = PCP_RESULT_MALFORMED_REQUEST;
		return -EBADMSG;
	}
	return 0;
}

int pcp_response_parse(const void *buf, size_t len, struct pcp_msg *m)
{
	struct wire r = wire_reader(buf, len);
	uint8_t b1, why = 0;
	int err;

	memset(m, 0, sizeof(*m));
	m->version = wire_read_u8(&r);
	b1 = wire_read_u8(&r);
	wire_skip(&r, 1);
	m->result = wire_read_u8(&r);
	if (wire_err(&r))
		return -EBADMSG;
	m->response = true;
	m->opcode = b1 & (uint8_t)~PCP_R_BIT;
	if (m->version != PCP_VERSION)
		return -EPROTONOSUPPORT;
	if (!(b1 & PCP_R_BIT) || len < PCP_HDR_LEN || len > PCP_MAX_LEN || len % 4)
		return -EBADMSG;
	if (m->opcode != PCP_OP_MAP && m->opcode != PCP_OP_ANNOUNCE)
		return -EOPNOTSUPP;
	m->lifetime = wire_read_u32(&r);
	m->epoch = wire_read_u32(&r);
	wire_skip(&r, 12);
	if (m->opcode == PCP_OP_MAP) {
		if (wire_avail(&r) >= PCP_MAP_LEN)
			read_map(&r, m);
		else if (m->result == PCP_RESULT_SUCCESS || wire_avail(&r) != 0)
			return -EBADMSG;
	}
	err = parse_options(&r, m, false, &why);
	if (err)
		return -EBADMSG;
	return wire_err(&r);
}

int pcp_error_build(const void *req, size_t reqlen, uint8_t result, uint32_t lifetime,
		    uint32_t epoch, void *buf, size_t len)
{
	struct wire r = wire_reader(req, reqlen), w = wire_writer(buf, len);
	size_t n = reqlen > PCP_MAX_LEN ? PCP_MAX_LEN : reqlen;
	uint8_t version, b1;

	if (result == PCP_RESULT_SUCCESS)
		return -EINVAL;
	n &= ~(size_t)3;
	if (n < PCP_HDR_LEN || result == PCP_RESULT_UNSUPP_VERSION)
		n = PCP_HDR_LEN;
	version = wire_read_u8(&r);
	b1 = wire_read_u8(&r);
	if (result == PCP_RESULT_UNSUPP_VERSION)
		version = PCP_VERSION;	/* RFC 6887 §9: the version the server speaks */
	wire_write_u8(&w, version);
	wire_write_u8(&w, (uint8_t)(b1 | PCP_R_BIT));
	wire_write_u8(&w, 0);
	wire_write_u8(&w, result);
	wire_write_u32(&w, lifetime);
	wire_write_u32(&w, epoch);
	wire_write_zero(&w, 12);
	/* the rest of the request, as received (RFC 6887 §7.2) */
	if (n > PCP_HDR_LEN) {
		wire_seek(&r, PCP_HDR_LEN);
		wire_write_bytes(&w, wire_read_ref(&r, n - PCP_HDR_LEN), n - PCP_HDR_LEN);
	}
	if (wire_err(&w))
		return wire_err(&w);
	return (int)wire_offset(&w);
}

const char *pcp_result_str(unsigned int result)
{
	static const char *const names[] = {
		[PCP_RESULT_SUCCESS] = "SUCCESS",
		[PCP_RESULT_UNSUPP_VERSION] = "UNSUPP_VERSION",
		[PCP_RESULT_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
		[PCP_RESULT_MALFORMED_REQUEST] = "MALFORMED_REQUEST",
		[PCP_RESULT_UNSUPP_OPCODE] = "UNSUPP_OPCODE",
		[PCP_RESULT_UNSUPP_OPTION] = "UNSUPP_OPTION",
		[PCP_RESULT_MALFORMED_OPTION] = "MALFORMED_OPTION",
		[PCP_RESULT_NETWORK_FAILURE] = "NETWORK_FAILURE",
		[PCP_RESULT_NO_RESOURCES] = "NO_RESOURCES",
		[PCP_RESULT_UNSUPP_PROTOCOL] = "UNSUPP_PROTOCOL",
		[PCP_RESULT_USER_EX_QUOTA] = "USER_EX_QUOTA",
		[PCP_RESULT_CANNOT_PROVIDE_EXTERNAL] = "CANNOT_PROVIDE_EXTERNAL",
		[PCP_RESULT_ADDRESS_MISMATCH] = "ADDRESS_MISMATCH",
		[PCP_RESULT_EXCESSIVE_REMOTE_PEERS] = "EXCESSIVE_REMOTE_PEERS",
	};

	if (result < sizeof(names) / sizeof(names[0]))
		return names[result];
	return "UNKNOWN";
}
