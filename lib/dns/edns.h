/*
 * lib/dns/edns.h: EDNS(0) options (RFC 6891 §6.1.2): iteration, and the two
 * options autotunnel uses:
 *
 *  - LLQ, option code 1 (RFC 8764 §3.2): 18 bytes of data:
 *      VERSION u16 (1), LLQ-OPCODE u16, ERROR-CODE u16, LLQ-ID u64, LEASE-LIFE u32.
 *  - Update Lease, option code 2 (RFC 9664 §4): LEASE u32 (4 bytes), or
 *      LEASE u32 + KEY-LEASE u32 (8 bytes).
 *
 * Lengths are checked exactly: any other length is -EBADMSG.
 */
#ifndef AT_DNS_EDNS_H
#define AT_DNS_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "wire/wire.h"

#define DNS_EDNS_OPT_LLQ 1
#define DNS_EDNS_OPT_UL 2
#define DNS_EDNS_LLQ_LEN 18
#define DNS_EDNS_LLQ_VERSION 1

enum dns_llq_opcode {
	DNS_LLQ_SETUP = 1,
	DNS_LLQ_REFRESH = 2,
	DNS_LLQ_EVENT = 3,
};

enum dns_llq_error {
	DNS_LLQ_NOERROR = 0,
	DNS_LLQ_SERVFULL = 1,
	DNS_LLQ_STATIC = 2,
	DNS_LLQ_FORMERR = 3,
	DNS_LLQ_NOSUCHLLQ = 4,
	DNS_LLQ_BADVERS = 5,
	DNS_LLQ_UNKNOWNERR = 6,
};

/** The LLQ option's fields, in host order. */
struct dns_llq {
	uint16_t version;
	uint16_t opcode;	/**< enum dns_llq_opcode */
	uint16_t error;		/**< enum dns_llq_error */
	uint64_t id;
	uint32_t lease;		/**< seconds */
};

/** The Update Lease option. */
struct dns_lease {
	uint32_t lease;		/**< seconds */
	uint32_t key_lease;	/**< seconds; meaningful only if has_key_lease */
	bool has_key_lease;	/**< the 8-byte form */
};

/** Position in the options of a parsed message's OPT record. */
struct dns_edns_iter {
	struct wire w;
};

/** Start iterating the options of @p m's OPT record (none if it has none). */
void dns_edns_iter_init(struct dns_edns_iter *it, const struct dns_msg *m);

/**
 * Next option: sets *@p code and *@p data (a cursor over exactly the
 * option's data, valid while the message buffer is).
 * @return 1 for an option, 0 at the end, -EBADMSG for a malformed list
 *         (dns_msg_parse() has already refused those).
 */
__attribute__((warn_unused_result))
int dns_edns_iter_next(struct dns_edns_iter *it, uint16_t *code, struct wire *data);

/**
 * Find the first option with @p code in @p m.
 * @return 0 with *@p data set, -ENOENT when absent (or no OPT), -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_edns_find(const struct dns_msg *m, uint16_t code, struct wire *data);

/**
 * Parse LLQ option data (exactly 18 bytes). The version is not checked
 * here: a server answers a version other than 1 with BADVERS itself.
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_llq_parse(struct wire *data, struct dns_llq *out);

/** Write the 18 bytes of LLQ option data (no code/length header) into @p out. */
void dns_llq_encode(const struct dns_llq *llq, uint8_t out[static DNS_EDNS_LLQ_LEN]);

/**
 * Parse Update Lease option data: 4 bytes (LEASE) or 8 (LEASE, KEY-LEASE).
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_lease_parse(struct wire *data, struct dns_lease *out);

/**
 * Encode Update Lease option data into @p out (4 or 8 bytes).
 * @return the data length.
 */
size_t dns_lease_encode(const struct dns_lease *lease, uint8_t out[static 8]);

/** Add an LLQ option to a builder that has called dns_builder_edns(). @return as dns_builder_edns_option(). */
int dns_builder_add_llq(struct dns_builder *b, const struct dns_llq *llq);

/** Add an Update Lease option to a builder that has called dns_builder_edns(). */
int dns_builder_add_lease(struct dns_builder *b, const struct dns_lease *lease);

#endif /* AT_DNS_EDNS_H */
