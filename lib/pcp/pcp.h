/*
 * lib/pcp: Port Control Protocol messages (RFC 6887), both directions:
 * the client's MAP and ANNOUNCE requests and the server's responses,
 * including unsolicited ANNOUNCE and MAP responses. No I/O; every byte
 * goes through lib/wire.
 *
 * Request header (24 bytes)           Response header (24 bytes)
 *   0  version (2)                       0  version (2)
 *   1  R=0 | opcode (7 bits)             1  R=1 | opcode
 *   2  reserved u16                      2  reserved u8, 3 result code
 *   4  requested lifetime u32            4  lifetime u32
 *   8  client IP address (16)            8  epoch time u32
 *                                       12  reserved (12)
 * MAP payload (36 bytes, both directions): nonce (12), protocol, reserved
 * (3), internal port, suggested / assigned external port, suggested /
 * assigned external IP (16). ANNOUNCE has no payload.
 * Options follow: code, reserved, length u16, data padded to 4 bytes.
 *
 * IPv4 addresses travel as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d).
 */
#ifndef AT_PCP_H
#define AT_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCP_VERSION		2
#define PCP_SERVER_PORT		5351
#define PCP_CLIENT_PORT		5350	/* unsolicited responses go to 224.0.0.1:5350 / [ff02::1]:5350 */
#define PCP_HDR_LEN		24
#define PCP_MAP_LEN		36
#define PCP_NONCE_LEN		12
#define PCP_MAX_LEN		1100	/* RFC 6887 §7: a PCP message is at most 1100 bytes */
#define PCP_OPT_HDR_LEN		4
#define PCP_MAX_FILTERS		4	/* FILTER options kept per message; more is EXCESSIVE_REMOTE_PEERS */
#define PCP_R_BIT		0x80

enum pcp_opcode {
	PCP_OP_ANNOUNCE = 0,
	PCP_OP_MAP = 1,
	PCP_OP_PEER = 2,	/* known so it can be named; not parsed (UNSUPP_OPCODE) */
};

/** Result codes (RFC 6887 §7.4). */
enum pcp_result {
	PCP_RESULT_SUCCESS = 0,
	PCP_RESULT_UNSUPP_VERSION = 1,
	PCP_RESULT_NOT_AUTHORIZED = 2,
	PCP_RESULT_MALFORMED_REQUEST = 3,
	PCP_RESULT_UNSUPP_OPCODE = 4,
	PCP_RESULT_UNSUPP_OPTION = 5,
	PCP_RESULT_MALFORMED_OPTION = 6,
	PCP_RESULT_NETWORK_FAILURE = 7,
	PCP_RESULT_NO_RESOURCES = 8,
	PCP_RESULT_UNSUPP_PROTOCOL = 9,
	PCP_RESULT_USER_EX_QUOTA = 10,
	PCP_RESULT_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_RESULT_ADDRESS_MISMATCH = 12,
	PCP_RESULT_EXCESSIVE_REMOTE_PEERS = 13,
};

/** Option codes; 0-127 must be understood, 128-255 may be skipped (RFC 6887 §7.3). */
enum pcp_option {
	PCP_OPT_THIRD_PARTY = 1,	/* 16 bytes: internal address; MAP, PEER */
	PCP_OPT_PREFER_FAILURE = 2,	/* 0 bytes; MAP only */
	PCP_OPT_FILTER = 3,		/* 20 bytes; MAP only */
};
#define PCP_OPT_OPTIONAL_MIN	128

/* IANA protocol numbers used in MAP (0 = all protocols) */
#define PCP_PROTO_ALL	0
#define PCP_PROTO_TCP	6
#define PCP_PROTO_UDP	17

/** FILTER (RFC 6887 §13.3): only this remote peer (prefix) may use the mapping. */
struct pcp_filter {
	uint8_t prefix_len;	/* 0..128 (IPv4-mapped: 96..128) */
	uint16_t port;		/* 0 = all ports */
	struct in6_addr addr;
};

/** One PCP message, request or response. Plain data: copy freely. */
struct pcp_msg {
	uint8_t version;	/* PCP_VERSION on build; on parse, what arrived */
	bool response;		/* the R bit */
	uint8_t opcode;		/* enum pcp_opcode */
	uint8_t result;		/* responses: enum pcp_result */
	uint32_t lifetime;	/* requested (request) or granted / error lifetime (response) */
	uint32_t epoch;		/* responses: epoch time in seconds */
	struct in6_addr client_addr;	/* requests: the client's source address */

	/* MAP (both directions) */
	bool has_map;		/* MAP payload present (an error response may carry only the header) */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;	/* PCP_PROTO_* */
	uint16_t internal_port;
	uint16_t external_port;	/* suggested (request) or assigned (response) */
	struct in6_addr external_addr;	/* likewise; ::ffff:0.0.0.0 = any IPv4 */

	/* options */
	bool prefer_failure;
	bool third_party;
	struct in6_addr third_party_addr;
	uint8_t n_filters;
	struct pcp_filter filters[PCP_MAX_FILTERS];
	uint8_t unknown_mandatory;	/* first unknown option code < 128 seen (0 = none) */
	uint8_t n_skipped;		/* unknown optional options skipped */
};

/**
 * Build @p m (borrowed) into @p buf: a request when !m->response, else a
 * response. The MAP payload is written for PCP_OP_MAP (for a response,
 * only when m->has_map or the result is SUCCESS), then PREFER_FAILURE,
 * THIRD_PARTY and the FILTERs that @p m carries. Returns the size written,
 * -EINVAL for an opcode other than MAP/ANNOUNCE or n_filters too big,
 * -ENOSPC if @p buf is too small.
 */
int pcp_msg_build(const struct pcp_msg *m, void *buf, size_t len)
	__attribute__((warn_unused_result));

/**
 * Parse a request arriving at a server (@p buf borrowed). On failure
 * @p why says what to answer: PCP_RESULT_SUCCESS (0) means drop silently
 * (shorter than 2 bytes, or the R bit set: RFC 6887 §8.3); any other code
 * is the error response to send with pcp_error_build(). Returns
 *   0                 valid: @p m filled, *why = 0;
 *   -EBADMSG          drop (why 0) or MALFORMED_REQUEST / MALFORMED_OPTION;
 *   -EPROTONOSUPPORT  the version is not 2 (why UNSUPP_VERSION); a server
 *                     that also speaks NAT-PMP hands version 0 to lib/natpmp;
 *   -EOPNOTSUPP       UNSUPP_OPCODE, UNSUPP_OPTION or EXCESSIVE_REMOTE_PEERS.
 * Checks: 24 <= size <= 1100 and a multiple of 4, the opcode's payload
 * present, options well formed and allowed for the opcode, at most one
 * PREFER_FAILURE and THIRD_PARTY, protocol 0 only with internal port 0.
 */
int pcp_request_parse(const void *buf, size_t len, struct pcp_msg *m, uint8_t *why)
	__attribute__((warn_unused_result));

/**
 * Parse a response arriving at a client (@p buf borrowed). Returns 0,
 * -EBADMSG (malformed, or a request), -EPROTONOSUPPORT (version not 2:
 * m->version and, if present, m->result are filled), -EOPNOTSUPP (an
 * opcode other than MAP/ANNOUNCE). A failed MAP response may be the bare
 * header (m->has_map false); a successful one must carry the payload.
 * Unknown options are recorded, not refused: the caller decides.
 */
int pcp_response_parse(const void *buf, size_t len, struct pcp_msg *m)
	__attribute__((warn_unused_result));

/**
 * Build the error response a server sends for a request it could not
 * honour or parse (RFC 6887 §7.2, §8.3): a copy of the request (at most
 * 1100 bytes, cut to a multiple of 4, padded to 24 if shorter) with the R
 * bit set, the result, @p lifetime, @p epoch and the reserved bytes zero;
 * for UNSUPP_VERSION the version field says 2 and only the header is sent.
 * Returns the size written, -EINVAL if @p result is SUCCESS, -ENOSPC.
 */
int pcp_error_build(const void *req, size_t reqlen, uint8_t result, uint32_t lifetime,
		    uint32_t epoch, void *buf, size_t len) __attribute__((warn_unused_result));

/** ::ffff:a.b.c.d from an IPv4 address. */
void pcp_addr_from_v4(struct in6_addr *out, struct in_addr v4);
/** true if @p a is IPv4-mapped; then *v4 (may be NULL) gets the address. */
bool pcp_addr_to_v4(const struct in6_addr *a, struct in_addr *v4);

/** A short name for a result code ("SUCCESS", "NO_RESOURCES", ...; "UNKNOWN"). */
const char *pcp_result_str(unsigned int result);

#endif
