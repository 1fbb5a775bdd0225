/*
 * lib/dnsc/msg.h: the agent's side of a signed DNS exchange (RFC 8945 TSIG,
 * RFC 6281 §7.2): build a query signed with the account key, and open the
 * answer: parse it, check that it answers what was asked, verify its TSIG,
 * and tell a person what went wrong when it does not.
 *
 * No I/O and no clock: the wall time for TSIG is passed in (@p wall,
 * seconds since the epoch). The struct dns_tsig of an exchange is the
 * caller's: dns_tsig_init() with the account key before building, kept
 * with the request while it waits, given back to dnsc_resp_open(), then
 * dns_tsig_fini().
 */
#ifndef AT_DNSC_MSG_H
#define AT_DNSC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"

/** Largest message the agent sends or accepts (DNS over TCP/TLS, RFC 7766). */
#define DNSC_MSG_MAX 65535
/** EDNS payload size the agent advertises. */
#define DNSC_EDNS_UDP 1232

/** An opened (parsed, matched and verified) response. */
struct dnsc_resp {
	struct dns_msg msg;	/**< borrows the buffer given to dnsc_resp_open() */
	unsigned rcode;		/**< 12-bit rcode (header plus OPT) */
	/**
	 * TSIG error: the one the server put in its TSIG record (BADSIG,
	 * BADKEY, BADTIME: it could not verify us), or BADSIG/BADKEY when
	 * the server's own MAC failed our check. 0 when verified.
	 */
	uint16_t tsig_error;
	bool server_rejected;	/**< tsig_error comes from the server: it refused our key */
	bool is_signed;		/**< the response carried a TSIG that we verified */
};

/**
 * Build a query for (@p qname, @p qtype, class IN) with message id @p id,
 * EDNS(0), and, when @p t is not NULL, sign it (@p t: a fresh exchange from
 * dns_tsig_init()). @p llq, when not NULL, adds an LLQ option (RFC 8764).
 *
 * @return 0 with the length in *@p len, -ENOSPC, -EINVAL, -EIO.
 */
__attribute__((warn_unused_result))
int dnsc_query_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		     const struct dns_name *qname, uint16_t qtype,
		     const struct dns_llq *llq, struct dns_tsig *t, uint64_t wall);

/**
 * Open the response @p buf (borrowed; keep it while @p r is used) to the
 * request with id @p id and, when @p qname is not NULL, question
 * (@p qname, @p qtype) (for an UPDATE: the zone, type SOA).
 *
 * With @p t (the request's exchange) the response must carry a valid TSIG
 * for it; without, any TSIG is ignored.
 *
 * @return 0: the response is authentic (look at r->rcode);
 *         -EBADMSG: malformed, not a response, another id or question;
 *         -EACCES: authentication failed: r->tsig_error and
 *          r->server_rejected say how; r->rcode holds the header's rcode.
 *         -EIO: crypto failure.
 */
__attribute__((warn_unused_result))
int dnsc_resp_open(struct dnsc_resp *r, const uint8_t *buf, size_t len, uint16_t id,
		   const struct dns_name *qname, uint16_t qtype, struct dns_tsig *t, uint64_t wall);

/** "NOERROR", "REFUSED", "BADSIG"...: an rcode or TSIG error in capitals, or "RCODE<n>" in @p buf (16 bytes). */
const char *dnsc_rcode_name(unsigned rcode, char buf[static 16]);

/**
 * Explain a failed exchange for a person, into @p out: "the server
 * rejected our key (BADSIG)", "the server answered REFUSED", "the answer
 * failed TSIG verification (BADSIG)". @p err is what dnsc_resp_open()
 * returned (0 for an rcode other than NOERROR). @return @p out.
 */
const char *dnsc_resp_explain(const struct dnsc_resp *r, int err, char *out, size_t outlen);

/** One resource record of a response, as dnsc_rr_next() gives it. */
struct dnsc_rr {
	enum dns_section sec;
	struct dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	struct wire rdata;	/**< a cursor over exactly the rdata; names in it decompress */
};

/**
 * Iterate over the records of sections answer, authority and additional
 * of a parsed message (OPT and TSIG skipped): *@p pos starts at 0.
 * @return 1 with @p rr filled, 0 at the end, -EBADMSG.
 */
__attribute__((warn_unused_result))
int dnsc_rr_next(const struct dns_msg *m, unsigned *pos, struct dnsc_rr *rr);

#endif /* AT_DNSC_MSG_H */
