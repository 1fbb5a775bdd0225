/*
 * lib/stun: STUN messages (RFC 8489) with the attributes of NAT behaviour
 * discovery (RFC 5780), TURN (RFC 8656) and the ICE connectivity checks
 * (RFC 8445 §16.1). No I/O, no clocks, no globals; every byte goes through
 * lib/wire.
 *
 * Header (20 bytes)                      Attribute
 *   0  0 0 | message type (14 bits)        0  type u16
 *   2  message length u16 (attributes)     2  length u16 (value, unpadded)
 *   4  magic cookie 0x2112A442             4  value, padded to 4 bytes
 *   8  transaction id (12)
 *
 * The message type interleaves a 12-bit method and a 2-bit class
 * (RFC 8489 §5): M11..M7 C1 M6..M4 C0 M3..M0.
 *
 * A parsed message is a view over the caller's buffer: struct stun_msg
 * borrows it, and every accessor reads it again, so the message is usable
 * only as long as that buffer is. The parser checks the whole message once
 * (lengths, attribute layouts, FINGERPRINT); accessors then only look up.
 */
#ifndef AT_STUN_MSG_H
#define AT_STUN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_MAGIC_COOKIE	0x2112A442u
#define STUN_HEADER_LEN		20
#define STUN_TID_LEN		12
#define STUN_FINGERPRINT_XOR	0x5354554eu	/* RFC 8489 §14.7: "STUN" */
#define STUN_MI_LEN		20		/* HMAC-SHA1 */
#define STUN_MI256_LEN		32		/* HMAC-SHA256, may be truncated to 16 */
#define STUN_MI256_MIN_LEN	16
#define STUN_USERHASH_LEN	32
#define STUN_KEY_MAX		32		/* the longest long-term key (SHA-256) */
#define STUN_MAX_LEN		(STUN_HEADER_LEN + 65532)
/* RFC 8489 §14.3: USERNAME is fewer than 509 bytes */
#define STUN_USERNAME_MAX	508
/* RFC 8489 §14.8, §14.9, §14.10, §14.14: fewer than 128 characters, at most 763 bytes */
#define STUN_STRING_MAX		763
#define STUN_MAX_ATTRS		32	/* processed attributes kept per message */
#define STUN_MAX_UNKNOWN	8	/* unknown comprehension-required types kept */

/** Classes (RFC 8489 §5). */
enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

/** Methods (RFC 8489 §18.2, RFC 8656 §17). */
enum stun_method {
	STUN_METHOD_BINDING = 0x001,
	STUN_METHOD_ALLOCATE = 0x003,
	STUN_METHOD_REFRESH = 0x004,
	STUN_METHOD_SEND = 0x006,
	STUN_METHOD_DATA = 0x007,
	STUN_METHOD_CREATE_PERMISSION = 0x008,
	STUN_METHOD_CHANNEL_BIND = 0x009,
};

/**
 * Attribute types. Types below 0x8000 are comprehension-required: a
 * receiver that does not know one must refuse the message (RFC 8489 §14).
 */
enum stun_attr_type {
	/* RFC 8489 §18.3 */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_CHANGE_REQUEST = 0x0003,	/* RFC 5780 §7.2 */
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	/* RFC 8656 §18 */
	STUN_ATTR_CHANNEL_NUMBER = 0x000C,
	STUN_ATTR_LIFETIME = 0x000D,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	STUN_ATTR_EVEN_PORT = 0x0018,
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_RESERVATION_TOKEN = 0x0022,
	STUN_ATTR_PRIORITY = 0x0024,		/* RFC 8445 §16.1 */
	STUN_ATTR_USE_CANDIDATE = 0x0025,	/* RFC 8445 §16.1 */
	STUN_ATTR_PADDING = 0x0026,		/* RFC 5780 §7.6 */
	STUN_ATTR_RESPONSE_PORT = 0x0027,	/* RFC 5780 §7.5 */
	/* comprehension-optional */
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,	/* RFC 8445 §16.1 */
	STUN_ATTR_ICE_CONTROLLING = 0x802A,	/* RFC 8445 §16.1 */
	STUN_ATTR_RESPONSE_ORIGIN = 0x802B,	/* RFC 5780 §7.3 */
	STUN_ATTR_OTHER_ADDRESS = 0x802C,	/* RFC 5780 §7.4 */
};

/** Error codes used by STUN and TURN (RFC 8489 §14.8, RFC 8656 §18.11). */
enum stun_error {
	STUN_ERR_TRY_ALTERNATE = 300,
	STUN_ERR_BAD_REQUEST = 400,
	STUN_ERR_UNAUTHORIZED = 401,
	STUN_ERR_FORBIDDEN = 403,
	STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
	STUN_ERR_ALLOCATION_MISMATCH = 437,
	STUN_ERR_STALE_NONCE = 438,
	STUN_ERR_ADDRESS_FAMILY = 440,
	STUN_ERR_WRONG_CREDENTIALS = 441,
	STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
	STUN_ERR_PEER_ADDRESS_FAMILY = 443,
	STUN_ERR_ALLOCATION_QUOTA = 486,
	STUN_ERR_ROLE_CONFLICT = 487,		/* RFC 8445 §7.3.1.1 */
	STUN_ERR_SERVER_ERROR = 500,
	STUN_ERR_INSUFFICIENT_CAPACITY = 508,
};

/** CHANGE-REQUEST flags (RFC 5780 §7.2). */
#define STUN_CHANGE_IP		0x04
#define STUN_CHANGE_PORT	0x02

/** REQUESTED-TRANSPORT protocol (RFC 8656 §18.7): UDP, the only one we ask for. */
#define STUN_TRANSPORT_UDP	17

/** REQUESTED-ADDRESS-FAMILY and the address attributes' family byte. */
#define STUN_FAMILY_IPV4	0x01
#define STUN_FAMILY_IPV6	0x02

/** Integrity attribute (and so HMAC) to check or add. */
enum stun_integrity {
	STUN_INTEGRITY_SHA1,	/* MESSAGE-INTEGRITY, HMAC-SHA1 */
	STUN_INTEGRITY_SHA256,	/* MESSAGE-INTEGRITY-SHA256, HMAC-SHA256 */
};

/** PASSWORD-ALGORITHM values (RFC 8489 §18.5), used for the long-term key. */
enum stun_password_alg {
	STUN_PASSWORD_MD5 = 0x0001,
	STUN_PASSWORD_SHA256 = 0x0002,
};

/** One attribute the parser kept: where its value is in the message. */
struct stun_attr {
	uint16_t type;
	uint16_t len;	/* value length, without padding */
	uint32_t off;	/* offset of the value from the start of the message */
};

/** A parsed message: a view over a borrowed buffer (see the file comment). */
struct stun_msg {
	const uint8_t *buf;	/* borrowed; the message is [buf, buf + len) */
	size_t len;
	uint16_t method;	/* enum stun_method, or any other 12-bit value */
	uint8_t cls;		/* enum stun_class */
	uint8_t tid[STUN_TID_LEN];
	/*
	 * The attributes processed, in order: those before MESSAGE-INTEGRITY,
	 * the integrity attributes and FINGERPRINT. Attributes after an
	 * integrity attribute are ignored (RFC 8489 §14.5, §14.6), so they
	 * are not here. Unknown comprehension-optional attributes are not
	 * kept either.
	 */
	struct stun_attr attrs[STUN_MAX_ATTRS];
	unsigned n_attrs;
	uint32_t mi_off;	/* attribute header offset of MESSAGE-INTEGRITY; 0 if none */
	uint32_t mi256_off;	/* ... of MESSAGE-INTEGRITY-SHA256; 0 if none */
	bool fingerprint;	/* FINGERPRINT present (and, since parsed, correct) */
	/* unknown comprehension-required types, for a 420 answer (RFC 8489 §6.3.1.1) */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	unsigned n_unknown;
};

/** The 14-bit message type of @p method and @p cls (RFC 8489 §5). */
uint16_t stun_type_encode(uint16_t method, uint8_t cls);

/** Split a 14-bit message type into method and class. */
void stun_type_decode(uint16_t type, uint16_t *method, uint8_t *cls);

/**
 * Parse and check a whole STUN message of exactly @p len bytes (@p buf
 * borrowed; @p m keeps pointing into it). Checks: the two top bits are
 * zero, the magic cookie, the length is a multiple of 4 and equals
 * @p len - 20, every attribute lies within the message with its padding,
 * every known attribute has its layout (address family and size, error
 * class, string limits, integrity sizes), FINGERPRINT is the last
 * attribute and matches (RFC 8489 §14.7). Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT,
 * and after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are ignored.
 * The integrity attributes are located but not verified: that needs a key
 * (stun_msg_check_integrity()).
 *
 * Returns 0; -EBADMSG malformed (drop it, or answer 400 to a request);
 * -E2BIG more than STUN_MAX_ATTRS processed attributes; -EOPNOTSUPP well
 * formed but with unknown comprehension-required attributes, @p m filled
 * and m->unknown listing them (answer a request with 420, fail a
 * response's transaction, ignore an indication: RFC 8489 §6.3).
 */
int stun_msg_parse(const void *buf, size_t len, struct stun_msg *m)
	__attribute__((warn_unused_result));

/**
 * The @p nth (0 = first) processed attribute of @p type: its value is
 * borrowed from the message buffer. RFC 8489 §14: only the first of a
 * repeated attribute counts, except where a method says otherwise
 * (several XOR-PEER-ADDRESS in CreatePermission, RFC 8656 §9.1).
 * Returns 0, or -ENOENT.
 */
int stun_msg_find(const struct stun_msg *m, uint16_t type, unsigned nth,
		  const uint8_t **val, size_t *len);

/** True if an attribute of @p type was processed (flags: DONT-FRAGMENT, USE-CANDIDATE). */
bool stun_msg_has(const struct stun_msg *m, uint16_t type);

/**
 * The @p nth address of @p type as a sockaddr_in or sockaddr_in6. The
 * XOR- types (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS)
 * are un-XORed with the cookie and transaction id (RFC 8489 §14.2); the
 * others (MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS)
 * are plain. Returns 0, -ENOENT, or -EINVAL if @p type is no address type.
 */
int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, unsigned nth,
		      struct sockaddr_storage *ss);

/**
 * ERROR-CODE (RFC 8489 §14.8): @p code is class * 100 + number (300..699);
 * the reason phrase is copied into @p reason (NUL-terminated, at most
 * @p cap - 1 bytes kept; may be NULL with @p cap 0). Returns 0 or -ENOENT.
 */
int stun_msg_get_error(const struct stun_msg *m, unsigned *code, char *reason, size_t cap);

/**
 * UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): up to @p cap types into @p types.
 * Returns how many the attribute lists (may exceed @p cap), or -ENOENT.
 */
int stun_msg_get_unknown_attrs(const struct stun_msg *m, uint16_t *types, size_t cap);

/**
 * A text attribute (USERNAME, REALM, NONCE, SOFTWARE) copied into @p out
 * with a NUL after it. Returns its length, -ENOENT, -ENOSPC if @p cap is
 * not more than the length, -EINVAL for another type. The bytes are not
 * checked as UTF-8 nor prepared (OpaqueString, RFC 8265): the caller
 * compares them as opaque bytes.
 */
int stun_msg_get_string(const struct stun_msg *m, uint16_t type, char *out, size_t cap);

/**
 * A 32-bit attribute (LIFETIME in seconds, PRIORITY, CHANGE-REQUEST flags).
 * Returns 0, -ENOENT, -EINVAL for another type.
 */
int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *v);

/** ICE-CONTROLLED or ICE-CONTROLLING tie-breaker. Returns 0, -ENOENT, -EINVAL. */
int stun_msg_get_u64(const struct stun_msg *m, uint16_t type, uint64_t *v);

/** CHANNEL-NUMBER (RFC 8656 §18.1), not range-checked: see stun_channel_valid(). */
int stun_msg_get_channel(const struct stun_msg *m, uint16_t *channel);

/** RESPONSE-PORT (RFC 5780 §7.5). Returns 0 or -ENOENT. */
int stun_msg_get_response_port(const struct stun_msg *m, uint16_t *port);

/** REQUESTED-TRANSPORT protocol number (RFC 8656 §18.7). */
int stun_msg_get_requested_transport(const struct stun_msg *m, uint8_t *proto);

/** REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.8): STUN_FAMILY_* or whatever arrived. */
int stun_msg_get_requested_family(const struct stun_msg *m, uint8_t *family);

/** EVEN-PORT (RFC 8656 §18.9): @p reserve is its R bit. */
int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve);

/** RESERVATION-TOKEN (RFC 8656 §18.10), 8 bytes. */
int stun_msg_get_reservation_token(const struct stun_msg *m, uint8_t token[static 8]);

/** USERHASH (RFC 8489 §14.4), 32 bytes. */
int stun_msg_get_userhash(const struct stun_msg *m, uint8_t hash[static STUN_USERHASH_LEN]);

/**
 * DATA (RFC 8656 §18.4): borrowed from the message buffer, valid as long
 * as it is. Returns 0 or -ENOENT.
 */
int stun_msg_get_data(const struct stun_msg *m, const uint8_t **data, size_t *len);

/** PASSWORD-ALGORITHM (RFC 8489 §14.12): the algorithm number. */
int stun_msg_get_password_alg(const struct stun_msg *m, uint16_t *alg);

/**
 * PASSWORD-ALGORITHMS (RFC 8489 §14.11): up to @p cap algorithm numbers,
 * in order. Returns how many the attribute lists, or -ENOENT.
 */
int stun_msg_get_password_algs(const struct stun_msg *m, uint16_t *algs, size_t cap);

/**
 * Verify MESSAGE-INTEGRITY (@p alg STUN_INTEGRITY_SHA1) or
 * MESSAGE-INTEGRITY-SHA256 (STUN_INTEGRITY_SHA256) with @p key (borrowed):
 * the HMAC over the message up to the attribute, with the header length
 * covering the attribute (RFC 8489 §14.5, §14.6), compared in constant
 * time. Which attribute a receiver must insist on is its policy (RFC 8489
 * §9.2.4: MESSAGE-INTEGRITY-SHA256 when present). Returns 0, -ENOENT if
 * the attribute is absent, -EACCES on a mismatch, -EIO if the HMAC could
 * not be computed.
 */
int stun_msg_check_integrity(const struct stun_msg *m, enum stun_integrity alg,
			     const uint8_t *key, size_t keylen)
	__attribute__((warn_unused_result));

/**
 * The long-term credential key (RFC 8489 §9.2.2): MD5 or SHA-256 of
 * username ":" realm ":" password, into @p key. The strings must already
 * be prepared (OpaqueString, RFC 8265); they are used as bytes. The
 * short-term key (§9.1.1) is the password itself and needs no function.
 * Returns the key length (16 or 32), -EINVAL for another algorithm, -EIO.
 */
int stun_key_long_term(enum stun_password_alg alg, const char *username, const char *realm,
		       const char *password, uint8_t key[static STUN_KEY_MAX])
	__attribute__((warn_unused_result));

/** USERHASH (RFC 8489 §14.4): SHA-256 of username ":" realm. Returns 0 or -EIO. */
int stun_userhash(const char *username, const char *realm,
		  uint8_t hash[static STUN_USERHASH_LEN])
	__attribute__((warn_unused_result));

/**
 * Building a message: start, add attributes, optionally add integrity
 * and FINGERPRINT, finish. Errors are sticky (as in lib/wire): each add
 * returns nothing and stun_builder_finish() reports the first failure.
 * The header length is kept current after every attribute.
 */
struct stun_builder {
	uint8_t *buf;		/* borrowed output buffer */
	size_t cap;
	size_t len;		/* bytes written so far */
	int err;		/* 0 or the first error */
	uint8_t pad;		/* padding byte; RFC 8489 §14: any value, ignored by receivers */
	uint8_t tid[STUN_TID_LEN];
	uint8_t stage;		/* private: which trailing attributes were added */
};

/**
 * Start a message of @p method and @p cls with transaction id @p tid into
 * @p buf (borrowed, @p cap bytes). The caller chooses the transaction id
 * (RFC 8489 §6: cryptographically random for a request, copied from the
 * request for a response): this library has no randomness.
 */
void stun_builder_start(struct stun_builder *b, void *buf, size_t cap, uint16_t method,
			uint8_t cls, const uint8_t tid[static STUN_TID_LEN]);

/** Any attribute: @p len bytes of @p val, padded. -EINVAL after integrity or FINGERPRINT. */
void stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len);

/** A text attribute (USERNAME, REALM, NONCE, SOFTWARE) from a C string. */
void stun_builder_add_string(struct stun_builder *b, uint16_t type, const char *s);

/** A 32-bit attribute (LIFETIME, PRIORITY, CHANGE-REQUEST). */
void stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v);

/** A 64-bit attribute (ICE-CONTROLLED, ICE-CONTROLLING). */
void stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v);

/**
 * An address attribute from a sockaddr_in or sockaddr_in6 (borrowed);
 * XORed for the XOR- types. -EINVAL for another family or type.
 */
void stun_builder_add_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa);

/** ERROR-CODE: @p code 300..699 and a reason phrase (may be NULL). */
void stun_builder_add_error(struct stun_builder *b, unsigned code, const char *reason);

/** UNKNOWN-ATTRIBUTES listing @p n types. */
void stun_builder_add_unknown(struct stun_builder *b, const uint16_t *types, size_t n);

/** CHANNEL-NUMBER (RFC 8656 §18.1), RFFU zero. */
void stun_builder_add_channel(struct stun_builder *b, uint16_t channel);

/** RESPONSE-PORT (RFC 5780 §7.5): the port and two bytes of padding, length 4. */
void stun_builder_add_response_port(struct stun_builder *b, uint16_t port);

/** REQUESTED-TRANSPORT (RFC 8656 §18.7): protocol and three RFFU bytes. */
void stun_builder_add_requested_transport(struct stun_builder *b, uint8_t proto);

/** REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.8): family and three RFFU bytes. */
void stun_builder_add_requested_family(struct stun_builder *b, uint8_t family);

/** EVEN-PORT (RFC 8656 §18.9) with its R bit. */
void stun_builder_add_even_port(struct stun_builder *b, bool reserve);

/** PASSWORD-ALGORITHM with no parameters (MD5 and SHA-256 take none). */
void stun_builder_add_password_alg(struct stun_builder *b, uint16_t alg);

/** PASSWORD-ALGORITHMS listing @p n algorithms, none with parameters. */
void stun_builder_add_password_algs(struct stun_builder *b, const uint16_t *algs, size_t n);

/**
 * MESSAGE-INTEGRITY (HMAC-SHA1) or MESSAGE-INTEGRITY-SHA256 (full 32
 * bytes) with @p key (borrowed), over everything written so far
 * (RFC 8489 §14.5, §14.6). After it only MESSAGE-INTEGRITY-SHA256 (after
 * MESSAGE-INTEGRITY) and FINGERPRINT may follow.
 */
void stun_builder_add_integrity(struct stun_builder *b, enum stun_integrity alg,
				const uint8_t *key, size_t keylen);

/** FINGERPRINT (RFC 8489 §14.7); nothing may follow it. */
void stun_builder_add_fingerprint(struct stun_builder *b);

/**
 * The message length (header included), or the first error: -ENOSPC if
 * @p cap was too small, -EINVAL for a misuse (an attribute after
 * FINGERPRINT, a value longer than 65535, a bad family), -EIO (HMAC).
 */
int stun_builder_finish(const struct stun_builder *b) __attribute__((warn_unused_result));

/** Padding after @p len bytes of value to reach a multiple of 4. */
static inline size_t stun_pad(size_t len)
{
	return (4 - (len & 3)) & 3;
}

#endif
