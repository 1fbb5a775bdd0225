/*
 * lib/rsip/msg.h: RSIP messages (RFC 3103) with the IPsec extension of
 * RFC 3104, parsed and built through lib/wire. No I/O.
 *
 * Every RSIP message is a 4-byte header (Version 1, Message Type, Overall
 * Length of the whole message in bytes) followed by parameters, each a
 * 1-byte Code, a 2-byte Length of the value and the value. Each message type
 * has a grammar (which parameters it must carry, which it may, and how many
 * of each); rsip_msg_parse() checks the grammar and, on a violation, says
 * which RFC 3103/3104 error code answers it. See docs/rsip.md for the table.
 *
 * Address and Ports parameters carry no role on the wire: the first Address
 * of an ASSIGN message is the local one, the second the remote one, a third
 * the tunnel endpoint; likewise the first Ports is local and the second
 * remote (RSA-IP messages carry only remote Ports). The parser assigns roles
 * by that order, the builder writes them in it.
 */
#ifndef AT_RSIP_MSG_H
#define AT_RSIP_MSG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSIP_VERSION 1
#define RSIP_PORT 4555		/**< TCP and UDP port of an RSIP server (IANA) */
#define RSIP_HDR_LEN 4
#define RSIP_MSG_MAX 65535	/**< Overall Length is 16 bits */

/** Message types: RFC 3103 (1-17) and RFC 3104 Appendix C (22, 23). */
enum rsip_msg_type {
	RSIP_ERROR_RESPONSE = 1,
	RSIP_REGISTER_REQUEST = 2,
	RSIP_REGISTER_RESPONSE = 3,
	RSIP_DEREGISTER_REQUEST = 4,
	RSIP_DEREGISTER_RESPONSE = 5,
	RSIP_ASSIGN_REQUEST_RSA_IP = 6,
	RSIP_ASSIGN_RESPONSE_RSA_IP = 7,
	RSIP_ASSIGN_REQUEST_RSAP_IP = 8,
	RSIP_ASSIGN_RESPONSE_RSAP_IP = 9,
	RSIP_EXTEND_REQUEST = 10,
	RSIP_EXTEND_RESPONSE = 11,
	RSIP_FREE_REQUEST = 12,
	RSIP_FREE_RESPONSE = 13,
	RSIP_QUERY_REQUEST = 14,
	RSIP_QUERY_RESPONSE = 15,
	RSIP_LISTEN_REQUEST = 16,
	RSIP_LISTEN_RESPONSE = 17,
	RSIP_ASSIGN_REQUEST_RSIPSEC = 22,
	RSIP_ASSIGN_RESPONSE_RSIPSEC = 23,
};

/** Parameter codes: RFC 3103 §8 as registered by IANA, SPI from RFC 3104 §6.2. */
enum rsip_param_code {
	RSIP_P_ADDRESS = 1,
	RSIP_P_PORTS = 2,
	RSIP_P_LEASE_TIME = 3,
	RSIP_P_CLIENT_ID = 4,
	RSIP_P_BIND_ID = 5,
	RSIP_P_TUNNEL_TYPE = 6,
	RSIP_P_RSIP_METHOD = 7,
	RSIP_P_ERROR = 8,
	RSIP_P_FLOW_POLICY = 9,
	RSIP_P_INDICATOR = 10,
	RSIP_P_MESSAGE_COUNTER = 11,
	RSIP_P_VENDOR_SPECIFIC = 12,
	RSIP_P_SPI = 22,
};

/** Address types and the length of their value. */
enum rsip_addr_type {
	RSIP_ADDR_IPV4 = 1,		/**< 4 bytes */
	RSIP_ADDR_IPV4_NETMASK = 2,	/**< 4 bytes */
	RSIP_ADDR_IPV6 = 3,		/**< 16 bytes */
	RSIP_ADDR_FQDN = 4,		/**< 1..255 bytes here */
};

enum rsip_tunnel_type { RSIP_TUNNEL_IPIP = 1, RSIP_TUNNEL_GRE = 2, RSIP_TUNNEL_L2TP = 3 };

enum rsip_method {
	RSIP_METHOD_RSA_IP = 1,
	RSIP_METHOD_RSAP_IP = 2,
	RSIP_METHOD_RSIPSEC = 3,	/**< RFC 3104 §6 */
};

enum rsip_flow_policy {
	RSIP_FLOW_MACRO = 1,
	RSIP_FLOW_MICRO = 2,
	RSIP_FLOW_NONE = 3,	/**< remote policy only */
};

/** QUERY indicators (see docs/rsip.md for where these values come from). */
enum rsip_indicator {
	RSIP_IND_ADDRESS = 1,		/**< in QUERY_REQUEST */
	RSIP_IND_NETWORK = 2,		/**< in QUERY_REQUEST */
	RSIP_IND_LOCAL_ADDRESS = 1,	/**< in QUERY_RESPONSE */
	RSIP_IND_LOCAL_NETWORK = 2,
	RSIP_IND_REMOTE_ADDRESS = 3,
	RSIP_IND_REMOTE_NETWORK = 4,
};

/** Error values: RFC 3103 and RFC 3104 Appendix B. */
enum rsip_error {
	RSIP_E_UNKNOWN_ERROR = 101,
	RSIP_E_USE_TCP = 102,
	RSIP_E_FLOW_POLICY_VIOLATION = 103,
	RSIP_E_INTERNAL_SERVER_ERROR = 104,
	RSIP_E_MESSAGE_COUNTER_REQUIRED = 105,
	RSIP_E_UNSUPPORTED_RSIP_VERSION = 106,
	RSIP_E_MISSING_PARAM = 201,
	RSIP_E_DUPLICATE_PARAM = 202,
	RSIP_E_EXTRA_PARAM = 203,
	RSIP_E_ILLEGAL_PARAM = 204,
	RSIP_E_BAD_PARAM = 205,
	RSIP_E_ILLEGAL_MESSAGE = 206,
	RSIP_E_BAD_MESSAGE = 207,
	RSIP_E_UNSUPPORTED_MESSAGE = 208,
	RSIP_E_REGISTER_FIRST = 301,
	RSIP_E_ALREADY_REGISTERED = 302,
	RSIP_E_ALREADY_UNREGISTERED = 303,
	RSIP_E_REGISTRATION_DENIED = 304,
	RSIP_E_BAD_CLIENT_ID = 305,
	RSIP_E_BAD_BIND_ID = 306,
	RSIP_E_BAD_TUNNEL_TYPE = 307,
	RSIP_E_LOCAL_ADDR_UNAVAILABLE = 308,
	RSIP_E_LOCAL_ADDRPORT_UNAVAILABLE = 309,
	RSIP_E_LOCAL_ADDR_INUSE = 310,
	RSIP_E_LOCAL_ADDRPORT_INUSE = 311,
	RSIP_E_LOCAL_ADDR_UNALLOWED = 312,
	RSIP_E_LOCAL_ADDRPORT_UNALLOWED = 313,
	RSIP_E_REMOTE_ADDR_UNALLOWED = 314,
	RSIP_E_REMOTE_ADDRPORT_UNALLOWED = 315,
	RSIP_E_IPSEC_UNALLOWED = 401,
	RSIP_E_IPSEC_SPI_UNAVAILABLE = 402,
	RSIP_E_IPSEC_SPI_INUSE = 403,
};

/** Implementation limits (messages beyond them are answered BAD_PARAM or DUPLICATE_PARAM). */
#define RSIP_ADDR_MAX 255	/**< longest address value (an FQDN) */
#define RSIP_MAX_PORTS 255	/**< the Number field of Ports is one byte */
#define RSIP_MAX_SPIS 64	/**< SPIs in a listed SPI parameter */
#define RSIP_MAX_LIST 8		/**< repeated RSIP Method / Tunnel Type parameters */
#define RSIP_MAX_QUERY 8	/**< address or network tuples in a QUERY */
#define RSIP_MAX_VENDOR 4	/**< Vendor Specific parameters in one message */
#define RSIP_VENDOR_MAX 64	/**< bytes of one Vendor Specific value */

/**
 * An Address parameter. len 0 is the "don't care" form (Length 1: the type
 * alone, RFC 3103), used to ask the server to choose.
 */
struct rsip_addr {
	uint8_t type;			/**< enum rsip_addr_type */
	uint8_t len;			/**< bytes in v; 0 = don't care */
	uint8_t v[RSIP_ADDR_MAX];
};

/** The forms of the Ports and SPI parameters. */
enum rsip_form {
	RSIP_FORM_ABSENT = 0,	/**< not in the message */
	RSIP_FORM_DONT_NEED,	/**< Ports only, RFC 3104 §6.2: Length 0, no Number */
	RSIP_FORM_DONT_CARE,	/**< Number only: "give me Number of them" */
	RSIP_FORM_LIST,		/**< Number values, each listed (Number 1: a single value) */
	RSIP_FORM_RANGE,	/**< Number >= 2 contiguous values from the one listed */
};

/** A Ports parameter (RFC 3103; "don't need" form from RFC 3104). */
struct rsip_ports {
	uint8_t form;		/**< enum rsip_form */
	uint8_t number;		/**< count of ports meant (0 for DONT_NEED) */
	uint16_t port[RSIP_MAX_PORTS];	/**< LIST: number ports; RANGE: port[0] is the first */
};

/** The SPI parameter of RFC 3104 §6.2 (code 22): 2-byte Number, 4-byte SPIs. */
struct rsip_spi {
	uint8_t form;		/**< DONT_CARE, LIST or RANGE */
	uint16_t number;	/**< >= 1 */
	uint32_t spi[RSIP_MAX_SPIS];	/**< LIST: number SPIs; RANGE: spi[0] is the first */
};

/** One Address or Network tuple of a QUERY message. */
struct rsip_query_item {
	uint16_t indicator;	/**< enum rsip_indicator */
	struct rsip_addr addr;	/**< the address, or the network */
	struct rsip_addr mask;	/**< the netmask, for network indicators only */
};

struct rsip_vendor {
	uint16_t vendor_id;
	uint16_t subtype;
	uint16_t len;
	uint8_t value[RSIP_VENDOR_MAX];
};

/** Which single-valued fields of struct rsip_msg are present. */
enum rsip_field {
	RSIP_F_CLIENT_ID = 1u << 0,
	RSIP_F_BIND_ID = 1u << 1,
	RSIP_F_LEASE_TIME = 1u << 2,
	RSIP_F_COUNTER = 1u << 3,
	RSIP_F_ERROR = 1u << 4,
	RSIP_F_FLOW_POLICY = 1u << 5,
	RSIP_F_ADDR_LOCAL = 1u << 6,
	RSIP_F_ADDR_REMOTE = 1u << 7,
	RSIP_F_ADDR_TUNNEL = 1u << 8,
	RSIP_F_PORTS_LOCAL = 1u << 9,
	RSIP_F_PORTS_REMOTE = 1u << 10,
	RSIP_F_SPI = 1u << 11,
};

/**
 * A decoded RSIP message. Self-contained (no pointers into the packet), so
 * it may outlive the buffer it was parsed from. Zero it before filling it
 * in to build.
 */
struct rsip_msg {
	uint8_t type;			/**< enum rsip_msg_type */
	uint32_t present;		/**< enum rsip_field bits */
	uint32_t client_id;
	uint32_t bind_id;
	uint32_t lease_time;		/**< seconds */
	uint32_t counter;		/**< Message Counter */
	uint16_t error;			/**< enum rsip_error, ERROR_RESPONSE only */
	uint8_t flow_local;		/**< Flow Policy, REGISTER_RESPONSE only */
	uint8_t flow_remote;
	uint8_t n_tunnel;		/**< Tunnel Type parameters, in order */
	uint8_t tunnel[RSIP_MAX_LIST];
	uint8_t n_method;		/**< RSIP Method parameters, REGISTER_RESPONSE */
	uint8_t method[RSIP_MAX_LIST];
	struct rsip_addr addr_local;
	struct rsip_addr addr_remote;
	struct rsip_addr addr_tunnel;	/**< Address (tunnel endpoint), responses */
	struct rsip_ports ports_local;
	struct rsip_ports ports_remote;
	struct rsip_spi spi;
	uint8_t n_query;		/**< QUERY tuples, in order */
	struct rsip_query_item query[RSIP_MAX_QUERY];
	uint8_t n_vendor;		/**< Vendor Specific parameters, in order */
	struct rsip_vendor vendor[RSIP_MAX_VENDOR];
};

/**
 * Bytes needed to hold the message that starts at @p buf (borrowed), from
 * its header: the framing of RSIP over TCP. Returns the Overall Length
 * (>= 4), or 0 if fewer than 4 bytes are at hand, or -EBADMSG if the header
 * gives a length shorter than the header itself.
 */
int rsip_msg_frame_len(const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/**
 * Parse the message of exactly @p len bytes at @p buf (borrowed) into @p m.
 * Returns 0, or -EBADMSG when the message breaks RFC 3103/3104; then
 * *@p rsip_err (if not NULL) is the RSIP error value that answers it, and
 * m->type, and m->counter, m->client_id and m->bind_id (when they could be
 * read, flagged in m->present) are filled in so that the ERROR_RESPONSE can
 * echo them.
 */
int rsip_msg_parse(struct rsip_msg *m, const uint8_t *buf, size_t len, uint16_t *rsip_err)
	__attribute__((warn_unused_result));

/**
 * Write @p m (borrowed) into @p buf (borrowed, @p cap bytes), its
 * parameters in the order of the RFC's grammar, and set *@p out_len.
 * Returns 0, -EINVAL if @p m does not satisfy its message's grammar (the
 * builder never emits what the parser would reject), or -ENOSPC.
 */
int rsip_msg_build(const struct rsip_msg *m, uint8_t *buf, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

/** Check @p m against its grammar as the builder does: 0, or the RSIP error value. */
uint16_t rsip_msg_check(const struct rsip_msg *m);

/** True for the message types a client sends (requests). */
bool rsip_msg_is_request(uint8_t type);

/** The name the RFC gives a message type, or NULL. */
const char *rsip_msg_type_name(uint8_t type);

/** The name the RFC gives an error value, or NULL. */
const char *rsip_error_name(uint16_t err);

/** Helpers for IPv4 Address parameters (address in host byte order). */
void rsip_addr_set_ipv4(struct rsip_addr *a, uint32_t ipv4);
void rsip_addr_set_any(struct rsip_addr *a, uint8_t type);
/** The IPv4 address of @p a, if it is a specific IPv4 address (0 / -EINVAL). */
int rsip_addr_get_ipv4(const struct rsip_addr *a, uint32_t *ipv4) __attribute__((warn_unused_result));

#endif /* AT_RSIP_MSG_H */
