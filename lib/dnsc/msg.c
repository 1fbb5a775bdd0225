/* lib/dnsc/msg.c: signed queries and the opening of their answers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/edns.h"
#include "dnsc/msg.h"

int dnsc_query_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		     const struct dns_name *qname, uint16_t qtype,
		     const struct dns_llq *llq, struct dns_tsig *t, uint64_t wall)
{
	struct dns_builder b;
	int rc;

	rc = dns_builder_init(&b, buf, cap, DNSC_MSG_MAX, id, 0);
	if (rc)
		return rc;
	if (t)
		dns_builder_reserve(&b, dns_tsig_space(t));
	dns_builder_edns(&b, DNSC_EDNS_UDP, 0);
	if (llq && (rc = dns_builder_add_llq(&b, llq)))
		return rc;
	if ((rc = dns_builder_question(&b, qname, qtype, DNS_CLASS_IN)))
		return rc;
	if ((rc = dns_builder_finish(&b, len)))
		return rc;
	if (t)
		return dns_tsig_sign_request(t, buf, *len, cap, len, wall);
	return 0;
}

int dnsc_resp_open(struct dnsc_resp *r, const uint8_t *buf, size_t len, uint16_t id,
		   const struct dns_name *qname, uint16_t qtype, struct dns_tsig *t, uint64_t wall)
{
	struct dns_name q;
	int rc;

	r->rcode = 0;
	r->tsig_error = 0;
	r->server_rejected = false;
	r->is_signed = false;
	rc = dns_msg_parse(&r->msg, buf, len);
	if (rc)
		return -EBADMSG;
	r->rcode = dns_msg_rcode(&r->msg);
	if (!(r->msg.hdr.flags & DNS_FLAG_QR) || r->msg.hdr.id != id)
		return -EBADMSG;
	if (qname) {
		/*
		 * RFC 5452 §9.1 habit: the answer must repeat the question. A
		 * header-only error answer (FORMERR to a message the server
		 * could not read) has none, and is taken as it is.
		 */
		if (r->msg.count[DNS_SEC_QUESTION] == 1) {
			if (dns_msg_name(&r->msg, r->msg.qd[0].name, &q) || !dns_name_equal(&q, qname) ||
			    r->msg.qd[0].type != qtype || r->msg.qd[0].rclass != DNS_CLASS_IN)
				return -EBADMSG;
		} else if (r->msg.count[DNS_SEC_QUESTION] != 0 || r->rcode == DNS_RCODE_NOERROR) {
			return -EBADMSG;
		}
	}
	if (!t)
		return 0;
	rc = dns_tsig_verify_response(t, &r->msg, wall, &r->is_signed);
	if (rc == -EACCES) {
		struct dns_tsig_rr rr;

		r->tsig_error = t->error;
		/* the server's own TSIG says it could not verify us (RFC 8945 §5.3.2) */
		if (r->msg.tsig >= 0 && dns_tsig_rr_read(&r->msg, &rr) == 0 && rr.error != 0) {
			r->tsig_error = rr.error;
			r->server_rejected = true;
		}
		return -EACCES;
	}
	if (rc == 0 && !r->is_signed)
		return -EACCES;	/* an unsigned continuation cannot be a first answer */
	return rc;
}

const char *dnsc_rcode_name(unsigned rcode, char buf[static 16])
{
	static const char *const names[] = {
		[DNS_RCODE_NOERROR] = "NOERROR", [DNS_RCODE_FORMERR] = "FORMERR",
		[DNS_RCODE_SERVFAIL] = "SERVFAIL", [DNS_RCODE_NXDOMAIN] = "NXDOMAIN",
		[DNS_RCODE_NOTIMP] = "NOTIMP", [DNS_RCODE_REFUSED] = "REFUSED",
		[DNS_RCODE_YXDOMAIN] = "YXDOMAIN", [DNS_RCODE_YXRRSET] = "YXRRSET",
		[DNS_RCODE_NXRRSET] = "NXRRSET", [DNS_RCODE_NOTAUTH] = "NOTAUTH",
		[DNS_RCODE_NOTZONE] = "NOTZONE", [DNS_RCODE_BADSIG] = "BADSIG",
		[DNS_RCODE_BADKEY] = "BADKEY", [DNS_RCODE_BADTIME] = "BADTIME",
		[DNS_RCODE_BADTRUNC] = "BADTRUNC",
	};

	if (rcode < sizeof(names) / sizeof(names[0]) && names[rcode])
		return names[rcode];
	snprintf(buf, 16, "RCODE%u", rcode);
	return buf;
}

const char *dnsc_resp_explain(const struct dnsc_resp *r, int err, char *out, size_t outlen)
{
	char b[16];

	if (err == -EACCES && r->server_rejected)
		snprintf(out, outlen, "the server rejected our key (%s)", dnsc_rcode_name(r->tsig_error, b));
	else if (err == -EACCES && r->tsig_error)
		snprintf(out, outlen, "the server's answer failed TSIG verification (%s)",
			 dnsc_rcode_name(r->tsig_error, b));
	else if (err == -EACCES)
		snprintf(out, outlen, "the server answered %s without a signature",
			 dnsc_rcode_name(r->rcode, b));
	else if (err == -EBADMSG)
		snprintf(out, outlen, "the server's answer is malformed or answers another question");
	else if (err)
		snprintf(out, outlen, "%s", strerror(-err));
	else
		snprintf(out, outlen, "the server answered %s", dnsc_rcode_name(r->rcode, b));
	return out;
}

int dnsc_rr_next(const struct dns_msg *m, unsigned *pos, struct dnsc_rr *rr)
{
	for (;;) {
		unsigned p = *pos, sec = DNS_SEC_ANSWER;
		const struct dns_rr *x;

		while (sec <= DNS_SEC_ADDITIONAL && p >= m->count[sec]) {
			p -= m->count[sec];
			sec++;
		}
		if (sec > DNS_SEC_ADDITIONAL)
			return 0;
		(*pos)++;
		x = dns_msg_rr(m, (enum dns_section)sec, p);
		if (x->type == DNS_TYPE_OPT || x->type == DNS_TYPE_TSIG)
			continue;
		if (dns_msg_name(m, x->off, &rr->owner))
			return -EBADMSG;
		rr->sec = (enum dns_section)sec;
		rr->type = x->type;
		rr->rclass = x->rclass;
		rr->ttl = x->ttl;
		rr->rdata = dns_msg_rdata(m, x);
		return wire_err(&rr->rdata) ? -EBADMSG : 1;
	}
}
