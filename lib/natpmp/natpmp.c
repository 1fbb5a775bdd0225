/* NAT-PMP messages (RFC 6886), through lib/wire. */
#include "natpmp/natpmp.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

static int known_op(unsigned int op)
{
	return op == NATPMP_OP_EXTADDR || op == NATPMP_OP_MAP_UDP || op == NATPMP_OP_MAP_TCP;
}

int natpmp_request_build(const struct natpmp_request *req, void *buf, size_t len)
{
	struct wire w = wire_writer(buf, len);

	if (req->version != NATPMP_VERSION || !known_op(req->op))
		return -EINVAL;
	wire_write_u8(&w, NATPMP_VERSION);
	wire_write_u8(&w, req->op);
	if (req->op != NATPMP_OP_EXTADDR) {
		wire_write_u16(&w, 0);	/* reserved */
		wire_write_u16(&w, req->internal_port);
		/* RFC 6886 §3.4: a delete carries suggested external port 0 */
		wire_write_u16(&w, req->lifetime ? req->external_port : 0);
		wire_write_u32(&w, req->lifetime);
	}
	if (wire_err(&w))
		return wire_err(&w);
	return (int)wire_offset(&w);
}

int natpmp_request_parse(const void *buf, size_t len, struct natpmp_request *req)
{
	struct wire r = wire_reader(buf, len);

	memset(req, 0, sizeof(*req));
	if (len < NATPMP_EXTADDR_REQ_LEN)
		return -EBADMSG;
	req->version = wire_read_u8(&r);
	req->op = wire_read_u8(&r);
	if (req->op & NATPMP_OP_RESPONSE)
		return -EBADMSG;	/* a response sent to a gateway: never answer it */
	if (req->version != NATPMP_VERSION)
		return -EPROTONOSUPPORT;
	if (!known_op(req->op))
		return -EOPNOTSUPP;
	if (req->op == NATPMP_OP_EXTADDR)
		return len == NATPMP_EXTADDR_REQ_LEN ? 0 : -EBADMSG;
	if (len != NATPMP_MAP_REQ_LEN)
		return -EBADMSG;
	wire_skip(&r, 2);	/* reserved: ignored on receipt */
	req->internal_port = wire_read_u16(&r);
	req->external_port = wire_read_u16(&r);
	req->lifetime = wire_read_u32(&r);
	return wire_err(&r);
}

int natpmp_response_build(const struct natpmp_response *resp, void *buf, size_t len)
{
	struct wire w = wire_writer(buf, len);

	if (resp->op & NATPMP_OP_RESPONSE)
		return -EINVAL;
	wire_write_u8(&w, NATPMP_VERSION);
	wire_write_u8(&w, (uint8_t)(resp->op | NATPMP_OP_RESPONSE));
	wire_write_u16(&w, resp->result);
	wire_write_u32(&w, resp->epoch);
	if (known_op(resp->op) && resp->result != NATPMP_RESULT_UNSUPP_VERSION) {
		if (resp->op == NATPMP_OP_EXTADDR) {
			wire_write_bytes(&w, &resp->external_addr, 4);
		} else {
			wire_write_u16(&w, resp->internal_port);
			wire_write_u16(&w, resp->external_port);
			wire_write_u32(&w, resp->lifetime);
		}
	}
	if (wire_err(&w))
		return wire_err(&w);
	return (int)wire_offset(&w);
}

int natpmp_response_parse(const void *buf, size_t len, struct natpmp_response *resp)
{
	struct wire r = wire_reader(buf, len);
	uint8_t version, op;
	size_t full;

	memset(resp, 0, sizeof(*resp));
	version = wire_read_u8(&r);
	op = wire_read_u8(&r);
	resp->result = wire_read_u16(&r);
	resp->epoch = wire_read_u32(&r);
	if (wire_err(&r) || version != NATPMP_VERSION || !(op & NATPMP_OP_RESPONSE))
		return -EBADMSG;
	resp->op = op & (uint8_t)~NATPMP_OP_RESPONSE;
	if (!known_op(resp->op)) {
		/* an error answer to an opcode we never send */
		return len == NATPMP_ERROR_RESP_LEN ? -EOPNOTSUPP : -EBADMSG;
	}
	full = resp->op == NATPMP_OP_EXTADDR ? NATPMP_EXTADDR_RESP_LEN : NATPMP_MAP_RESP_LEN;
	if (len == NATPMP_ERROR_RESP_LEN && resp->result != NATPMP_RESULT_SUCCESS) {
		resp->short_form = 1;
		return 0;
	}
	if (len != full)
		return -EBADMSG;
	if (resp->op == NATPMP_OP_EXTADDR) {
		wire_read_bytes(&r, &resp->external_addr, 4);
	} else {
		resp->internal_port = wire_read_u16(&r);
		resp->external_port = wire_read_u16(&r);
		resp->lifetime = wire_read_u32(&r);
	}
	return wire_err(&r);
}

const char *natpmp_result_str(unsigned int result)
{
	static const char *const names[] = {
		[NATPMP_RESULT_SUCCESS] = "SUCCESS",
		[NATPMP_RESULT_UNSUPP_VERSION] = "UNSUPP_VERSION",
		[NATPMP_RESULT_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
		[NATPMP_RESULT_NETWORK_FAILURE] = "NETWORK_FAILURE",
		[NATPMP_RESULT_NO_RESOURCES] = "NO_RESOURCES",
		[NATPMP_RESULT_UNSUPP_OPCODE] = "UNSUPP_OPCODE",
	};

	if (result < sizeof(names) / sizeof(names[0]))
		return names[result];
	return "UNKNOWN";
}
