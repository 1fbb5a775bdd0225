/*
 * Authoritative answers (RFC 1034 §4.3.2, RFC 2308 negative answers):
 * SOA and NS at the apex and at every account domain D (each a zone of
 * its own), the per-account SRV records the server synthesises
 * (docs/design.md §4), the dynamic records of the zone index, SRV
 * targets' addresses in the additional section, NXDOMAIN/NODATA with the
 * SOA, truncation for UDP, EDNS with a 1232-byte buffer, TSIG-signed
 * answers, and the privacy rule: names in an account domain are answered
 * only to that account's key.
 *
 * Runs on any thread; the caller holds the zone lock for reading (or is
 * the engine).
 */
#ifndef DNSD_QUERY_H
#define DNSD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "dns/tsig.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/transport.h"

struct account;

enum q_action {
	Q_DROP,		/* send nothing */
	Q_REPLY,	/* send the answer written to the output buffer */
	Q_ENGINE,	/* UPDATE, LLQ or an LLQ event ack: the engine handles it */
};

/** Per-thread scratch space (large: keep one per thread, not on the stack). */
struct qscratch {
	struct dns_msg msg;
	struct dns_builder b;
	struct dns_tsig tsig;
};

/**
 * Handle one message received on transport @p t: parse it, check it, and
 * either write the answer to @p out (up to @p cap bytes; *@p outlen) or
 * tell the caller what to do with it.
 */
enum q_action query_process(struct dnsd *d, struct qscratch *s, struct stats *st,
			    const uint8_t *pkt, size_t len, enum q_transport t,
			    uint8_t *out, size_t cap, size_t *outlen);

/* ---- pieces the engine reuses for LLQ and UPDATE answers ---- */

/** A question that passed the checks every query passes. */
struct qreq {
	uint16_t qtype, qclass;
	const struct account *owner;	/* account whose domain holds qname, or NULL */
	const struct account *signer;	/* account whose TSIG key signed, or NULL */
	bool tsig;			/* the request was signed and verified */
	uint16_t limit;			/* answer size limit */
	bool edns;
	/* private data it may not see (RFC 6281 §7.2): only the public records
	 * of an account domain are answered, every other name at or below it
	 * gets the same NODATA with the domain's SOA (query_answer()) */
	bool public_only;
	/* the names last: query_check() clears everything before them */
	struct dns_name qname;		/* as asked (case kept) */
	uint8_t lname[DNS_NAME_MAX];	/* lower case */
};

/**
 * Parse-level checks of a QUERY (or LLQ request) already parsed into
 * s->msg: one question, class, zone, TSIG, privacy. Returns Q_REPLY with
 * an error answer in @p out, or Q_ENGINE with @p rq filled (the request
 * may be answered). On Q_ENGINE with rq->tsig, s->tsig holds the exchange:
 * the answer must be finished with query_finish().
 */
enum q_action query_check(struct dnsd *d, struct qscratch *s, struct stats *st, enum q_transport t,
			  struct qreq *rq, uint8_t *out, size_t cap, size_t *outlen);

/**
 * Start the answer to s->msg in s->b (question copied, AA, EDNS and the
 * TSIG room reserved as @p rq says), then move to the answer section.
 */
int query_begin(struct dnsd *d, struct qscratch *s, const struct qreq *rq, uint8_t *out, size_t cap);

/**
 * Add the answer, authority and additional sections for @p rq to s->b and
 * set its rcode. @return the rcode.
 */
unsigned query_answer(struct dnsd *d, struct qscratch *s, const struct qreq *rq, struct stats *st);

/** Finish s->b and sign it when rq->tsig. @return 0 with *@p outlen, or a negative errno. */
int query_finish(struct dnsd *d, struct qscratch *s, const struct qreq *rq, uint8_t *out, size_t cap,
		 size_t *outlen);


/** TSIG key lookup over the account table (for dns_tsig_verify_request). */
int query_key_lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out);

/** The SOA record of the zone, for answers and UPDATE prerequisites. */
void query_soa(const struct dnsd *d, struct dns_soa *soa);

/** True when @p lname is one of the SRV names synthesised for an account. */
bool query_is_synthesised(const struct dnsd *d, const uint8_t *lname, size_t len);

#endif
