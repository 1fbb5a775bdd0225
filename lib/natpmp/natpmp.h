/*
 * lib/natpmp: NAT Port Mapping Protocol messages (RFC 6886), both
 * directions: the client's requests and the gateway's responses and
 * address announcements. No I/O; every byte goes through lib/wire.
 *
 * Layouts (all fields big-endian):
 *   external address request   2 bytes: version 0, opcode 0
 *   map request               12 bytes: version, opcode 1 (UDP) / 2 (TCP),
 *                                       reserved u16, internal port,
 *                                       suggested external port, lifetime u32
 *   external address response 12 bytes: version, opcode 128, result u16,
 *                                       seconds since start of epoch u32,
 *                                       external IPv4 address
 *   map response              16 bytes: version, opcode 128+op, result u16,
 *                                       epoch u32, internal port,
 *                                       mapped external port, lifetime u32
 *   error response             8 bytes: version, opcode, result, epoch
 *                                       (RFC 6886 §3.5: what a gateway sends
 *                                       for an unsupported version or opcode)
 *
 * An announcement (RFC 6886 §3.2.1) is an external address response sent
 * from the gateway's port 5351 to 224.0.0.1:5350.
 */
#ifndef AT_NATPMP_H
#define AT_NATPMP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define NATPMP_VERSION		0
#define NATPMP_SERVER_PORT	5351	/* requests go to the gateway's port 5351 */
#define NATPMP_CLIENT_PORT	5350	/* announcements go to 224.0.0.1:5350 */
#define NATPMP_ANNOUNCE_GROUP	"224.0.0.1"

#define NATPMP_EXTADDR_REQ_LEN	2
#define NATPMP_MAP_REQ_LEN	12
#define NATPMP_ERROR_RESP_LEN	8
#define NATPMP_EXTADDR_RESP_LEN	12
#define NATPMP_MAP_RESP_LEN	16
#define NATPMP_MAX_LEN		16	/* the largest NAT-PMP message */

/** Request opcodes; a response carries opcode + NATPMP_OP_RESPONSE. */
enum natpmp_op {
	NATPMP_OP_EXTADDR = 0,
	NATPMP_OP_MAP_UDP = 1,
	NATPMP_OP_MAP_TCP = 2,
};
#define NATPMP_OP_RESPONSE	128

/** Result codes (RFC 6886 §3.5). */
enum natpmp_result {
	NATPMP_RESULT_SUCCESS = 0,
	NATPMP_RESULT_UNSUPP_VERSION = 1,
	NATPMP_RESULT_NOT_AUTHORIZED = 2,	/* e.g. mapping disabled by the user */
	NATPMP_RESULT_NETWORK_FAILURE = 3,	/* e.g. no external address (no DHCP lease) */
	NATPMP_RESULT_NO_RESOURCES = 4,		/* out of mappings or ports */
	NATPMP_RESULT_UNSUPP_OPCODE = 5,
};

/** RFC 6886 §3.3: the recommended lifetime of a mapping, in seconds. */
#define NATPMP_DEFAULT_LIFETIME	7200

/** A request, as a client builds it and a gateway parses it. */
struct natpmp_request {
	uint8_t version;	/* 0 on build; on parse, what the packet carried */
	uint8_t op;		/* enum natpmp_op, or whatever opcode arrived */
	uint16_t internal_port;	/* map requests only */
	uint16_t external_port;	/* suggested external port; 0 = any (and on delete) */
	uint32_t lifetime;	/* seconds; 0 deletes (RFC 6886 §3.4) */
};

/** A response or announcement, as a gateway builds it and a client parses it. */
struct natpmp_response {
	uint8_t op;		/* the request opcode answered (without the 128 bit) */
	uint16_t result;	/* enum natpmp_result */
	uint32_t epoch;		/* seconds since start of epoch */
	/* opcode 0 */
	struct in_addr external_addr;
	/* opcodes 1 and 2 */
	uint16_t internal_port;
	uint16_t external_port;	/* the mapped external port */
	uint32_t lifetime;	/* granted seconds */
	/* on parse: 1 if only the 8-byte error form arrived (fields above zero) */
	uint8_t short_form;
};

/**
 * Build a request into @p buf (borrowed, @p len bytes). The size follows
 * from the opcode: 2 bytes for opcode 0, 12 bytes for opcodes 1 and 2.
 * Returns the number of bytes written, -EINVAL for another opcode or
 * version, -ENOSPC if @p buf is too small.
 */
int natpmp_request_build(const struct natpmp_request *req, void *buf, size_t len)
	__attribute__((warn_unused_result));

/**
 * Parse a request arriving at a gateway (@p buf borrowed). Returns
 *   0                 a valid request, @p req filled;
 *   -EBADMSG          malformed, or a response (opcode >= 128): drop it;
 *   -EPROTONOSUPPORT  version is not 0: answer NATPMP_RESULT_UNSUPP_VERSION
 *                     (req->version and req->op are filled);
 *   -EOPNOTSUPP       version 0 but an unknown opcode (req->op filled):
 *                     answer NATPMP_RESULT_UNSUPP_OPCODE.
 * Fewer than 2 bytes, or an opcode with the response bit (128) set, is
 * -EBADMSG whatever the version. Sizes are exact: opcode 0 is 2 bytes,
 * opcodes 1 and 2 are 12 bytes. The reserved field of a map request is
 * ignored (RFC 6886 §3.3: zero on send, ignored on receipt).
 */
int natpmp_request_parse(const void *buf, size_t len, struct natpmp_request *req)
	__attribute__((warn_unused_result));

/**
 * Build a response (or announcement) into @p buf. A successful response
 * to opcode 0, 1 or 2 has its full size (12 or 16 bytes); a failed one
 * too, with the other fields as given (normally zero), as RFC 6886 §3.5
 * allows and clients expect; an answer to an unknown opcode, or an
 * UNSUPP_VERSION answer, is the 8-byte error form. Returns the size, or
 * -EINVAL (opcode >= 128), -ENOSPC.
 */
int natpmp_response_build(const struct natpmp_response *resp, void *buf, size_t len)
	__attribute__((warn_unused_result));

/**
 * Parse a response or announcement arriving at a client (@p buf borrowed).
 * Accepts exactly: a success of the opcode's full size; a failure of the
 * full size or of the 8-byte error form. Returns 0, -EBADMSG for anything
 * else (a request, another version, a wrong size), -EOPNOTSUPP for a
 * response to an opcode this library does not know.
 */
int natpmp_response_parse(const void *buf, size_t len, struct natpmp_response *resp)
	__attribute__((warn_unused_result));

/** A short name for a result code ("SUCCESS", "NO_RESOURCES", ...; "UNKNOWN"). */
const char *natpmp_result_str(unsigned int result);

#endif
