/*
 * IKEv2 message codec (RFC 7296 §3): header, payloads, SA proposals, traffic
 * selectors, notifies, deletes. Parsing goes through lib/wire; the parsed
 * message borrows the buffer it was parsed from and is valid only while that
 * buffer is.
 *
 * Internal to lib/ike (used by its state machine, unit tests and fuzz
 * targets); the daemon sees only ike.h.
 */
#ifndef AT_IKE_MSG_H
#define AT_IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"
#include "wire/wire.h"

#define IKE_HDR_LEN 28
#define IKE_VERSION 0x20		/* major 2, minor 0 */
#define IKE_MSG_MAX 8192		/* we never build or accept a larger message */

/* RFC 7296 §3.1: exchange types */
enum {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	IKE_CREATE_CHILD_SA = 36,
	IKE_INFORMATIONAL = 37,
};

/* header flags */
#define IKE_FLAG_I 0x08		/* sent by the original initiator */
#define IKE_FLAG_V 0x10
#define IKE_FLAG_R 0x20		/* a response */

/* RFC 7296 §3.2: payload types */
enum {
	IKE_PL_NONE = 0,
	IKE_PL_SA = 33,
	IKE_PL_KE = 34,
	IKE_PL_IDI = 35,
	IKE_PL_IDR = 36,
	IKE_PL_CERT = 37,
	IKE_PL_CERTREQ = 38,
	IKE_PL_AUTH = 39,
	IKE_PL_NONCE = 40,
	IKE_PL_N = 41,
	IKE_PL_D = 42,
	IKE_PL_V = 43,
	IKE_PL_TSI = 44,
	IKE_PL_TSR = 45,
	IKE_PL_SK = 46,
	IKE_PL_CP = 47,
	IKE_PL_EAP = 48,
	IKE_PL_SKF = 53,
};

/* protocol IDs (proposals, notifies, deletes) */
enum { IKE_PROTO_IKE = 1, IKE_PROTO_AH = 2, IKE_PROTO_ESP = 3 };

/* RFC 7296 §3.3.2: transform types and the IDs we know */
enum { IKE_XF_ENCR = 1, IKE_XF_PRF = 2, IKE_XF_INTEG = 3, IKE_XF_DH = 4, IKE_XF_ESN = 5 };
enum {
	IKE_ENCR_ID_AES_CBC = 12,
	IKE_ENCR_ID_AES_GCM_16 = 20,
	IKE_ENCR_ID_CHACHA20_POLY1305 = 28,
	IKE_PRF_ID_HMAC_SHA2_256 = 5,
	IKE_PRF_ID_HMAC_SHA2_384 = 6,
	IKE_PRF_ID_HMAC_SHA2_512 = 7,
	IKE_INTEG_ID_NONE = 0,
	IKE_INTEG_ID_HMAC_SHA2_256_128 = 12,
	IKE_INTEG_ID_HMAC_SHA2_384_192 = 13,
	IKE_INTEG_ID_HMAC_SHA2_512_256 = 14,
};
#define IKE_ATTR_KEY_LENGTH 14

/* ID types, AUTH methods, TS types */
enum { IKE_ID_IPV4_ADDR = 1, IKE_ID_FQDN = 2, IKE_ID_RFC822 = 3, IKE_ID_IPV6_ADDR = 5, IKE_ID_KEY_ID = 11 };
enum { IKE_AUTH_PSK = 2, IKE_AUTH_DIGITAL_SIGNATURE = 14 /* RFC 7427 §3 */ };
/* RFC 7296 §3.6: certificate encodings; RFC 7427 §4: hash algorithms */
enum { IKE_CERT_X509_SIG = 4 };
enum { IKE_HASH_SHA1 = 1, IKE_HASH_SHA2_256 = 2, IKE_HASH_SHA2_384 = 3, IKE_HASH_SHA2_512 = 4,
       IKE_HASH_IDENTITY = 5 /* RFC 8420 §2 */ };
enum { IKE_TS_IPV4 = 7, IKE_TS_IPV6 = 8 };

/* RFC 7296 §3.10.1 and RFC 4555: notify types */
enum {
	IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKE_N_INVALID_IKE_SPI = 4,
	IKE_N_INVALID_MAJOR_VERSION = 5,
	IKE_N_INVALID_SYNTAX = 7,
	IKE_N_INVALID_MESSAGE_ID = 9,
	IKE_N_INVALID_SPI = 11,
	IKE_N_NO_PROPOSAL_CHOSEN = 14,
	IKE_N_INVALID_KE_PAYLOAD = 17,
	IKE_N_AUTHENTICATION_FAILED = 24,
	IKE_N_SINGLE_PAIR_REQUIRED = 34,
	IKE_N_NO_ADDITIONAL_SAS = 35,
	IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
	IKE_N_FAILED_CP_REQUIRED = 37,
	IKE_N_TS_UNACCEPTABLE = 38,
	IKE_N_INVALID_SELECTORS = 39,
	IKE_N_UNACCEPTABLE_ADDRESSES = 40,
	IKE_N_UNEXPECTED_NAT_DETECTED = 41,
	IKE_N_TEMPORARY_FAILURE = 43,
	IKE_N_CHILD_SA_NOT_FOUND = 44,
	IKE_N_INITIAL_CONTACT = 16384,
	IKE_N_SET_WINDOW_SIZE = 16385,
	IKE_N_ADDITIONAL_TS_POSSIBLE = 16386,
	IKE_N_IPCOMP_SUPPORTED = 16387,
	IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKE_N_COOKIE = 16390,
	IKE_N_USE_TRANSPORT_MODE = 16391,
	IKE_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	IKE_N_REKEY_SA = 16393,
	IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKE_N_MOBIKE_SUPPORTED = 16396,
	IKE_N_ADDITIONAL_IP4_ADDRESS = 16397,
	IKE_N_ADDITIONAL_IP6_ADDRESS = 16398,
	IKE_N_NO_ADDITIONAL_ADDRESSES = 16399,
	IKE_N_UPDATE_SA_ADDRESSES = 16400,
	IKE_N_COOKIE2 = 16401,
	IKE_N_NO_NATS_ALLOWED = 16402,
	IKE_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,
	IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,
};

#define IKE_MAX_PROPS 16	/* proposals kept from one SA payload */
#define IKE_MAX_XF 16		/* transforms kept per proposal (only those we support) */
#define IKE_MAX_TS 8		/* selectors kept per TS payload */
#define IKE_MAX_NOTIFY 24
#define IKE_MAX_DELETE 8
#define IKE_MAX_CERT 4		/* CERT payloads kept (the end entity and intermediates) */
#define IKE_MAX_CERTREQ 4

struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t np, version, exch, flags;
	uint32_t mid, length;
};

/** A transform; keylen is 0 when the transform carries no Key Length attribute. */
struct ike_xf {
	uint8_t type;
	uint16_t id;
	uint16_t keylen;
};

/**
 * One proposal. When parsed, only transforms we support are kept in xf[];
 * `types` has bit (1 << type) set for every transform type present at all,
 * and `unknown` is set when a transform of a type we do not know appeared
 * (such a proposal must not be chosen, RFC 7296 §3.3.6).
 */
struct ike_prop {
	uint8_t num, proto, spi_size;
	uint8_t spi[8];
	uint8_t nxf;
	uint8_t types;
	bool unknown;
	struct ike_xf xf[IKE_MAX_XF];
};

struct ike_sapl {
	uint8_t n;
	struct ike_prop p[IKE_MAX_PROPS];
};

/** A borrowed byte range. */
struct ike_ref {
	const uint8_t *p;
	size_t len;
};

struct ike_notify {
	uint8_t proto, spi_size;
	uint16_t type;
	uint8_t spi[8];
	struct ike_ref data;
};

struct ike_delete {
	uint8_t proto, spi_size;
	uint16_t nspi;
	struct ike_ref spis;	/* nspi * spi_size bytes */
};

struct ike_tslist {
	uint8_t n;
	struct ike_ts ts[IKE_MAX_TS];
};

struct ike_idpl {
	uint8_t type;
	struct ike_ref data;	/* the identification data */
	struct ike_ref body;	/* type, reserved and data: what AUTH signs (RFC 7296 §2.15) */
};

/* bits of struct ike_msg.present */
#define IKE_HAS(pl) (1u << ((pl) - 32))

/** A parsed message; every ike_ref borrows the parsed buffers. */
struct ike_msg {
	struct ike_hdr h;
	uint32_t present;	/* IKE_HAS(IKE_PL_...) for each payload seen */
	struct ike_sapl sa;
	uint16_t ke_group;
	struct ike_ref ke;
	struct ike_ref nonce;
	struct ike_idpl idi, idr;
	uint8_t auth_method;
	struct ike_ref auth;
	/* RFC 7296 §3.6/§3.7: X.509 (encoding 4) certificates in order, CA hashes requested */
	uint8_t ncert, ncertreq;
	struct ike_ref cert[IKE_MAX_CERT];
	struct ike_ref certreq[IKE_MAX_CERTREQ];	/* each a multiple of 20 bytes (SHA-1 of a CA's SPKI) */
	struct ike_tslist tsi, tsr;
	uint8_t nn, nd;
	struct ike_notify n[IKE_MAX_NOTIFY];
	struct ike_delete d[IKE_MAX_DELETE];
	/* the SK payload (outer parse) */
	size_t sk_off;		/* offset of its generic header in the message */
	uint8_t sk_np;		/* type of the first inner payload */
	uint8_t unsupported_critical;	/* type of an unknown critical payload, or 0 */
};

/** Parse the fixed header from @p w. -EBADMSG if short, -EPROTO for a major version other than 2. */
int ike_hdr_parse(struct wire *w, struct ike_hdr *h) __attribute__((warn_unused_result));

/**
 * Parse a whole message @p buf (borrowed) into @p m: header, then payloads
 * up to and including an SK payload, which must be the last. The length in
 * the header must equal @p len. Returns 0, -EBADMSG (malformed), -EPROTO
 * (wrong major version), -EOPNOTSUPP (an unknown payload marked critical:
 * m->unsupported_critical holds its type).
 */
int ike_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m) __attribute__((warn_unused_result));

/**
 * Parse the payload chain starting with type @p np in @p buf (borrowed; the
 * decrypted content of an SK payload) into @p m, adding to what is there.
 * SK may not appear inside. Same returns as ike_msg_parse.
 */
int ike_msg_parse_inner(struct ike_msg *m, uint8_t np, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/** The first notify of @p type in @p m, or NULL. */
const struct ike_notify *ike_msg_notify(const struct ike_msg *m, uint16_t type);

/*
 * Numbers inside payloads, read and written through lib/wire. SPIs are 4
 * (ESP) or 8 (IKE) bytes in network order (RFC 7296 §3.3.1); the parser has
 * checked the sizes, so the readers only map a bad size to 0.
 */
/** The SPI of proposal @p p as a number; 0 when it has none. */
uint64_t ike_prop_spi(const struct ike_prop *p);
/** Give proposal @p p the SPI @p spi, @p size (4 or 8) bytes. */
void ike_prop_spi_set(struct ike_prop *p, uint64_t spi, uint8_t size);
/** The SPI a notify carries (REKEY_SA names a child SA by it, §3.10); 0 when none. */
uint64_t ike_notify_spi(const struct ike_notify *n);
/**
 * RFC 7296 §3.10.1: the DH group an INVALID_KE_PAYLOAD notify asks for, its
 * 2-byte data. -EBADMSG (and group 0, which no peer accepts) for other data.
 */
int ike_notify_group(const struct ike_notify *n, uint16_t *group) __attribute__((warn_unused_result));
/** The @p k-th SPI of an ESP Delete payload; 0 past the end or for other SPI sizes. */
uint32_t ike_delete_spi(const struct ike_delete *d, unsigned k);
/**
 * RFC 4555 §3.4: the address an ADDITIONAL_IP4_ADDRESS (4 bytes) or
 * ADDITIONAL_IP6_ADDRESS (16 bytes) notify carries, port 0. -ENOENT for
 * another notify type, -EBADMSG for a wrong length or an address no peer
 * can have (unspecified, multicast, IPv4-mapped, loopback).
 */
int ike_notify_addr(const struct ike_notify *n, struct ike_addr *out) __attribute__((warn_unused_result));
/** Write @p spi as @p size (4 or 8) bytes at @p out: an SPI in a notify or Delete we build. */
void ike_spi_put(uint8_t *out, uint64_t spi, uint8_t size);
/** Write @p group as INVALID_KE_PAYLOAD data (2 bytes) at @p out. */
void ike_group_put(uint8_t out[2], uint16_t group);

/** Whether we support transform (@p type, @p id, @p keylen). */
bool ike_xf_supported(uint8_t type, uint16_t id, uint16_t keylen);

/*
 * Building. A struct ike_bld writes a message (or, for an SK payload's
 * content, a bare payload chain) and chains the "next payload" fields as
 * payloads are added.
 */
struct ike_bld {
	struct wire w;
	size_t np_off;		/* offset of the last "next payload" field; SIZE_MAX: none yet */
	uint8_t np_next;	/* the byte after it (0x20 in the header, 0 in a payload) */
	uint8_t first_np;	/* inner chain: type of the first payload */
	bool inner;		/* a bare payload chain, no header */
};

/** Start a message in @p buf (borrowed) with header @p h (length patched by ike_bld_finish). */
void ike_bld_init(struct ike_bld *b, uint8_t *buf, size_t cap, const struct ike_hdr *h);
/** Start a bare payload chain (SK content) in @p buf. */
void ike_bld_init_inner(struct ike_bld *b, uint8_t *buf, size_t cap);
/** Open a payload of @p type: chain it, write its generic header; returns its offset. */
size_t ike_bld_open(struct ike_bld *b, uint8_t type);
/** Close the payload opened at @p off: patch its length. */
void ike_bld_close(struct ike_bld *b, size_t off);
/** Patch the header's length; returns the message length or a negative errno. */
int ike_bld_finish(struct ike_bld *b) __attribute__((warn_unused_result));

void ike_bld_sa(struct ike_bld *b, const struct ike_prop *props, size_t n);
void ike_bld_ke(struct ike_bld *b, uint16_t group, const uint8_t *data, size_t len);
void ike_bld_nonce(struct ike_bld *b, const uint8_t *data, size_t len);
void ike_bld_id(struct ike_bld *b, uint8_t pltype, uint8_t idtype, const uint8_t *data, size_t len);
void ike_bld_auth(struct ike_bld *b, uint8_t method, const uint8_t *data, size_t len);
void ike_bld_notify(struct ike_bld *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const uint8_t *data, size_t len);
/** An ADDITIONAL_IP4_ADDRESS or ADDITIONAL_IP6_ADDRESS notify for @p a (its port is not sent). */
void ike_bld_notify_addr(struct ike_bld *b, const struct ike_addr *a);
void ike_bld_delete(struct ike_bld *b, uint8_t proto, uint8_t spi_size, const uint8_t *spis, uint16_t n);
void ike_bld_ts(struct ike_bld *b, uint8_t pltype, const struct ike_ts *ts, size_t n);
/** A CERT (IKE_PL_CERT) or CERTREQ (IKE_PL_CERTREQ) payload: encoding, then @p data. */
void ike_bld_cert(struct ike_bld *b, uint8_t pltype, uint8_t enc, const uint8_t *data, size_t len);

#endif /* AT_IKE_MSG_H */
