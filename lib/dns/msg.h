/*
 * lib/dns/msg.h: DNS messages (RFC 1035 §4, RFC 6891 OPT, RFC 3597).
 *
 * Parsing: dns_msg_parse() validates a whole message in one pass and fills
 * a struct dns_msg in caller-provided storage, with no allocation. The
 * struct does not copy names or rdata: it records offsets into the message
 * buffer, which the caller keeps alive and unchanged while it uses the
 * struct (the buffer is borrowed). Every name (owners and the names inside
 * the rdata of known types) has been checked by the time parse returns, so
 * the accessors below cannot meet a malformed name. Capacities are fixed:
 * DNS_MSG_MAX_QD questions and DNS_MSG_MAX_RR records per section; a
 * message with more fails with -EMSGSIZE (a server answers FORMERR or
 * REFUSED).
 *
 * Building: struct dns_builder writes a message into a caller buffer
 * through the wire cursor, compressing names, keeping the message within
 * a size limit (the client's UDP payload size) with room reserved for the
 * OPT and TSIG records, and setting TC when an answer or authority record
 * does not fit (RFC 2181 §9; an additional record that does not fit is
 * just left out).
 *
 * Rdata: dns_msg_rdata() gives a cursor over an RR's rdata whose start is
 * the message start, so the typed readers below follow compression
 * pointers. The same readers work on stored uncompressed rdata through a
 * wire_reader() over it.
 */
#ifndef AT_DNS_MSG_H
#define AT_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "wire/wire.h"

/* Header flags (RFC 1035 §4.1.1, RFC 4035 §3.2), in the 16-bit flags word. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010
#define DNS_OPCODE_SHIFT 11
#define DNS_OPCODE_MASK 0x7800
#define DNS_RCODE_MASK 0x000f

/** Opcode of a flags word. */
static inline unsigned dns_flags_opcode(uint16_t flags) { return (flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT; }

enum dns_opcode {
	DNS_OPCODE_QUERY = 0,
	DNS_OPCODE_IQUERY = 1,
	DNS_OPCODE_STATUS = 2,
	DNS_OPCODE_NOTIFY = 4,
	DNS_OPCODE_UPDATE = 5,
};

/** RCODEs (RFC 1035, 2136, 6891, 8945); values above 15 need EDNS or TSIG. */
enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_YXDOMAIN = 6,
	DNS_RCODE_YXRRSET = 7,
	DNS_RCODE_NXRRSET = 8,
	DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_NOTZONE = 10,
	DNS_RCODE_BADVERS = 16,	/**< in OPT (RFC 6891); 16 in TSIG means BADSIG */
	DNS_RCODE_BADSIG = 16,	/**< TSIG error field (RFC 8945) */
	DNS_RCODE_BADKEY = 17,
	DNS_RCODE_BADTIME = 18,
	DNS_RCODE_BADTRUNC = 22,
};

/** RR types used here; any other value is carried as opaque rdata (RFC 3597). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_TKEY = 249,
	DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_MAILB = 253,
	DNS_TYPE_MAILA = 254,
	DNS_TYPE_ANY = 255,
};

enum dns_class {
	DNS_CLASS_IN = 1,
	DNS_CLASS_CH = 3,
	DNS_CLASS_NONE = 254,	/**< RFC 2136 */
	DNS_CLASS_ANY = 255,
};

/** True for QTYPE-only values (RFC 6895 §3.1: 128..255 are meta or query types). */
static inline bool dns_type_is_meta(uint16_t type) { return type >= 128 && type <= 255; }

/** Sections, in message order. For UPDATE: zone, prerequisite, update, additional. */
enum dns_section {
	DNS_SEC_QUESTION = 0,
	DNS_SEC_ANSWER = 1,
	DNS_SEC_AUTHORITY = 2,
	DNS_SEC_ADDITIONAL = 3,
};
#define DNS_SEC_ZONE DNS_SEC_QUESTION
#define DNS_SEC_PREREQ DNS_SEC_ANSWER
#define DNS_SEC_UPDATE DNS_SEC_AUTHORITY

#define DNS_MSG_MAX_QD 4	/**< questions a parsed message can hold */
#define DNS_MSG_MAX_RR 64	/**< records per section a parsed message can hold */
#define DNS_MSG_MAX_LEN 65535	/**< largest message (TCP) */
#define DNS_UDP_MIN 512		/**< RFC 1035 UDP payload without EDNS */
#define DNS_EDNS_SERVER_UDP 1232	/**< payload size the server advertises (DNS Flag Day 2020) */

struct dns_header {
	uint16_t id;
	uint16_t flags;		/**< QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
	uint16_t qdcount, ancount, nscount, arcount;
};

/** A question (or the UPDATE zone). */
struct dns_question {
	uint16_t name;		/**< offset of the name in the message */
	uint16_t type;
	uint16_t rclass;
};

/** A resource record. Offsets are from the start of the message. */
struct dns_rr {
	uint16_t off;		/**< first byte of the RR (its owner name) */
	uint16_t rdata;		/**< first byte of the rdata */
	uint16_t rdlen;
	uint16_t type;
	uint16_t rclass;	/**< for OPT: the UDP payload size */
	uint32_t ttl;		/**< for OPT: extended rcode, version and flags */
};

/** EDNS(0) data from the OPT record (RFC 6891 §6.1.3). */
struct dns_edns {
	bool present;
	uint8_t ext_rcode;	/**< upper 8 bits of the 12-bit rcode */
	uint8_t version;
	uint16_t flags;		/**< DO = 0x8000 */
	uint16_t udp_size;	/**< the requester's payload size as sent (may be < 512) */
	uint16_t opts;		/**< offset of the options (the OPT rdata) */
	uint16_t opts_len;
};
#define DNS_EDNS_FLAG_DO 0x8000

/** A parsed message. Borrows the buffer given to dns_msg_parse(). */
struct dns_msg {
	const uint8_t *buf;	/**< borrowed; must outlive every use of this struct */
	uint16_t len;
	struct dns_header hdr;
	uint16_t count[4];	/**< entries per section (== header counts on success) */
	uint16_t qd_end;	/**< offset just after the question section */
	struct dns_question qd[DNS_MSG_MAX_QD];
	struct dns_rr rr[3][DNS_MSG_MAX_RR];	/**< [section - 1][i]: answer, authority, additional */
	int16_t opt;		/**< index of the OPT record in the additional section, or -1 */
	int16_t tsig;		/**< index of the TSIG record (always the last additional), or -1 */
	struct dns_edns edns;
};

/**
 * Read only the 12-byte header.
 * @return 0 or -EBADMSG when @p len < 12.
 */
__attribute__((warn_unused_result))
int dns_header_parse(const uint8_t *buf, size_t len, struct dns_header *hdr);

/**
 * Parse and validate a whole message.
 *
 * Checks: the header; every question and RR in bounds; every name
 * (compression strictly backwards); class IN A/AAAA rdata of 4/16 bytes;
 * the names and layouts inside NS, CNAME, PTR, DNAME, SOA, MX, SRV, TXT,
 * OPT and TSIG rdata consume exactly rdlength (empty rdata is accepted for
 * class ANY and NONE, as UPDATE uses it); at most one OPT record, in the
 * additional section, owned by the root; at most one TSIG record, and only
 * as the last additional record (RFC 8945 §5.1); no bytes after the last
 * record.
 *
 * @param m    receives the parse (caller storage, need not be initialised).
 * @param buf  the message (borrowed; keep it alive and unchanged while @p m is used).
 * @param len  its length, at most 65535.
 * @return 0; -EBADMSG for a malformed message (answer FORMERR);
 *         -EMSGSIZE when a section has more entries than @p m can hold.
 *         Whenever @p len >= 12, m->hdr holds the header even on failure,
 *         so a FORMERR answer can carry the ID and opcode.
 */
__attribute__((warn_unused_result))
int dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len);

/** Number of entries in section @p sec. */
static inline unsigned dns_msg_count(const struct dns_msg *m, enum dns_section sec) { return m->count[sec]; }

/** RR @p i of section @p sec (ANSWER, AUTHORITY or ADDITIONAL); i < dns_msg_count(). */
static inline const struct dns_rr *dns_msg_rr(const struct dns_msg *m, enum dns_section sec, unsigned i)
{
	return &m->rr[sec - 1][i];
}

/** The 12-bit rcode: header rcode plus the OPT extended rcode. */
static inline unsigned dns_msg_rcode(const struct dns_msg *m)
{
	return (unsigned)(m->hdr.flags & DNS_RCODE_MASK) | (unsigned)m->edns.ext_rcode << 4;
}

/**
 * Decompress the name at offset @p off of the parsed message (a question
 * name or an RR owner). @return 0 or -EBADMSG (only for an offset that
 * parse did not produce).
 */
__attribute__((warn_unused_result))
int dns_msg_name(const struct dns_msg *m, uint16_t off, struct dns_name *out);

/** Cursor over an RR's rdata; its start is the message start (pointers work). */
struct wire dns_msg_rdata(const struct dns_msg *m, const struct dns_rr *rr);

/**
 * Largest rdata of a name-bearing type after decompression: SOA with two
 * 255-byte names and 20 bytes of numbers.
 */
#define DNS_RDATA_EXPAND_MAX (2 * DNS_NAME_MAX + 20)

/**
 * Rdata in uncompressed form, as it is stored and compared. For the types
 * whose rdata holds names (NS, CNAME, PTR, DNAME, SOA, MX, SRV) the names
 * are decompressed into @p buf (case kept) and *@p rd points there; for any
 * other type *@p rd points at the rdata inside the message (no copy).
 *
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_msg_rdata_expand(const struct dns_msg *m, const struct dns_rr *rr,
			 uint8_t buf[static DNS_RDATA_EXPAND_MAX], const uint8_t **rd, uint16_t *rdlen);

/**
 * Compare two uncompressed rdatas of type @p type: names inside the known
 * name-bearing types compare case-insensitively, everything else byte for
 * byte (RFC 3597 §6 for unknown types).
 */
bool dns_rdata_equal(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/**
 * Lower-case the names inside uncompressed rdata of a known name-bearing
 * type, in place (RFC 4034 §6.2); other types are left as they are.
 * @return 0 or -EBADMSG when the rdata does not have the type's layout.
 */
__attribute__((warn_unused_result))
int dns_rdata_canonicalize(uint16_t type, uint8_t *rd, size_t rdlen);

/**
 * Check that uncompressed rdata has the layout of its type (as parse
 * does for a message), e.g. before storing rdata that came from a peer.
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_rdata_check(uint16_t type, uint16_t rclass, const uint8_t *rd, size_t rdlen);

/* ---- typed rdata ------------------------------------------------------ */

struct dns_soa {
	struct dns_name mname, rname;
	uint32_t serial, refresh, retry, expire, minimum;
};

struct dns_srv {
	uint16_t priority, weight, port;
	struct dns_name target;
};

/*
 * Readers take a cursor over exactly the rdata (dns_msg_rdata(), or a
 * wire_reader() over stored rdata) and fail with -EBADMSG unless they
 * consume all of it.
 */
__attribute__((warn_unused_result)) int dns_rdata_a_read(struct wire *rd, uint8_t addr[static 4]);
__attribute__((warn_unused_result)) int dns_rdata_aaaa_read(struct wire *rd, uint8_t addr[static 16]);
/** NS, CNAME, PTR and DNAME: one name. */
__attribute__((warn_unused_result)) int dns_rdata_name_read(struct wire *rd, struct dns_name *out);
__attribute__((warn_unused_result)) int dns_rdata_soa_read(struct wire *rd, struct dns_soa *out);
__attribute__((warn_unused_result)) int dns_rdata_srv_read(struct wire *rd, struct dns_srv *out);

/**
 * Iterate over the character-strings of TXT rdata: each call sets *@p s
 * (borrowed from the buffer) and *@p len to the next string.
 * @return 1 for a string, 0 at the end, -EBADMSG when a string overruns.
 */
__attribute__((warn_unused_result))
int dns_rdata_txt_next(struct wire *rd, const uint8_t **s, uint8_t *len);

/* ---- building --------------------------------------------------------- */

#define DNS_BUILDER_OPT_DATA 128	/**< bytes of EDNS options a builder can carry */

/**
 * A message under construction. Sections are written in order; a record
 * goes into the current section (dns_builder_section()). All storage is
 * inside the struct or the caller's buffer.
 */
struct dns_builder {
	struct wire w;			/**< over the whole output buffer */
	struct dns_compress comp;
	size_t limit;			/**< size the message must fit in, OPT and TSIG included */
	size_t reserve;			/**< bytes kept free at the end for OPT and TSIG */
	uint16_t flags;
	uint16_t count[4];
	enum dns_section sec;
	size_t committed;		/**< message length up to the last complete record */
	size_t rr_start;		/**< offset of the record being written */
	size_t rdlen_off;		/**< offset of its rdlength field */
	bool in_rr;
	bool truncated;			/**< a record did not fit; nothing more is added */
	int err;			/**< first hard error (-ENOSPC buffer, -EINVAL misuse) */
	/* EDNS(0): written at the end of the additional section by finish */
	bool edns;
	uint16_t edns_udp;
	uint8_t edns_version;
	uint16_t edns_flags;
	uint16_t rcode;			/**< 12-bit rcode; upper bits go to OPT */
	uint16_t opt_len;
	uint8_t opt_data[DNS_BUILDER_OPT_DATA];
};

/**
 * Start a message in @p buf. @p limit is the largest size the message may
 * take (the client's UDP payload size, or 65535 for TCP); it is clamped to
 * @p cap. The header is written with @p id and @p flags (rcode bits
 * ignored: see dns_builder_set_rcode()).
 * @return 0 or -ENOSPC if @p cap < 12.
 */
int dns_builder_init(struct dns_builder *b, void *buf, size_t cap, size_t limit,
		     uint16_t id, uint16_t flags);

/**
 * Start the response to a parsed query: ID and opcode copied, QR set, RD
 * and CD copied, the question section copied verbatim (and entered in the
 * compression table). The caller then adds AA, records, rcode, EDNS.
 * @return 0 or -ENOSPC.
 */
int dns_builder_reply(struct dns_builder *b, void *buf, size_t cap, size_t limit,
		      const struct dns_msg *query);

/** Set header flags (QR, AA, RD, RA, AD, CD...) to @p flags; TC and rcode are kept. */
void dns_builder_set_flags(struct dns_builder *b, uint16_t flags);

/** Set the 12-bit rcode; values above 15 need dns_builder_edns() (finish fails otherwise). */
void dns_builder_set_rcode(struct dns_builder *b, unsigned rcode);

/**
 * Keep @p n more bytes free at the end for trailing records added after
 * finish (a TSIG: see dns_tsig_space()). Records that would eat into the
 * reserved space are treated as not fitting.
 */
void dns_builder_reserve(struct dns_builder *b, size_t n);

/**
 * Add an OPT record (RFC 6891) at finish, advertising @p udp_size, and
 * reserve its room now. Options are added with dns_builder_edns_option().
 */
void dns_builder_edns(struct dns_builder *b, uint16_t udp_size, uint16_t flags);

/**
 * Append an EDNS option (code, length, data) to the OPT record.
 * @return 0, -EINVAL without dns_builder_edns(), or -ENOSPC when the
 *         options exceed DNS_BUILDER_OPT_DATA bytes.
 */
int dns_builder_edns_option(struct dns_builder *b, uint16_t code, const void *data, uint16_t len);

/**
 * Move to section @p sec (forward only; the question section is the
 * starting one). @return 0 or -EINVAL when moving backwards or inside a record.
 */
int dns_builder_section(struct dns_builder *b, enum dns_section sec);

/**
 * Add a question (only while in the question section).
 * @return 0, -ENOSPC or -EINVAL.
 */
int dns_builder_question(struct dns_builder *b, const struct dns_name *name,
			 uint16_t type, uint16_t rclass);

/**
 * Begin a record in the current section: owner (compressed), type, class,
 * TTL and a placeholder rdlength. Write the rdata with dns_builder_wire()
 * (and dns_name_write() with &b->comp for names that may be compressed),
 * then call dns_builder_rr_end().
 * @return 0 or a negative errno (the record is then not begun).
 */
int dns_builder_rr_begin(struct dns_builder *b, const struct dns_name *owner,
			 uint16_t type, uint16_t rclass, uint32_t ttl);

/** The cursor to write rdata with, between rr_begin and rr_end. */
static inline struct wire *dns_builder_wire(struct dns_builder *b) { return &b->w; }

/**
 * Finish the record begun by dns_builder_rr_begin(). If it does not fit
 * within the limit (less the reserve), it is removed, and for the answer
 * and authority sections the TC bit is set; after that the builder refuses
 * further records (RFC 2181 §9).
 * @return 0, or -EMSGSIZE when the record was dropped (not fatal: the
 *         message so far stays valid), or another negative errno.
 */
int dns_builder_rr_end(struct dns_builder *b);

/** A record with rdata given in uncompressed wire form (RFC 3597 opaque, or stored). */
int dns_builder_add_raw(struct dns_builder *b, const struct dns_name *owner, uint16_t type,
			uint16_t rclass, uint32_t ttl, const void *rdata, uint16_t rdlen);
int dns_builder_add_a(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
		      const uint8_t addr[static 4]);
int dns_builder_add_aaaa(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			 const uint8_t addr[static 16]);
/** NS, CNAME, PTR (the target name is compressed) and DNAME (not compressed). */
int dns_builder_add_name(struct dns_builder *b, const struct dns_name *owner, uint16_t type,
			 uint32_t ttl, const struct dns_name *target);
int dns_builder_add_soa(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const struct dns_soa *soa);
/** SRV; the target is not compressed (RFC 2782). */
int dns_builder_add_srv(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const struct dns_srv *srv);
/**
 * TXT from @p n strings (each at most 255 bytes; @p n >= 1).
 * @return as dns_builder_rr_end(), or -EINVAL for a bad string.
 */
int dns_builder_add_txt(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const uint8_t *const strings[], const uint8_t lens[], unsigned n);

/** True once a record has been dropped for lack of room. */
static inline bool dns_builder_truncated(const struct dns_builder *b) { return b->truncated; }

/** Bytes written so far. */
static inline size_t dns_builder_len(const struct dns_builder *b) { return wire_offset(&b->w); }

/**
 * Write the OPT record (if requested), patch the header counts, flags and
 * rcode, and give the message length. The builder's reserve is released,
 * so a TSIG can be appended within the buffer.
 * @return 0, or the first hard error met while building (-ENOSPC, -EINVAL).
 */
int dns_builder_finish(struct dns_builder *b, size_t *len);

/**
 * Write the compact error answer to a message that could not be used:
 * header only (ID and opcode from @p hdr, QR set, RD copied), no sections.
 * For a FORMERR to a message whose question could not be read.
 * @return the length (12) or -ENOSPC.
 */
int dns_msg_error_header(uint8_t *buf, size_t cap, const struct dns_header *hdr, unsigned rcode);

#endif /* AT_DNS_MSG_H */
