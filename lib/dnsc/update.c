/* lib/dnsc/update.c: UPDATEs that publish, refresh and withdraw a host's records. */
#include <errno.h>
#include <string.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dnsc/msg.h"
#include "dnsc/update.h"

int dnsc_zone_of(const struct dns_name *domain, struct dns_name *zone)
{
	if (dns_name_label_count(domain) < 2)
		return -EINVAL;
	*zone = *domain;
	return dns_name_strip(zone, 1) ? -EINVAL : 0;
}

int dnsc_account_key(struct dns_tsig_key *k, const char *domain, const uint8_t secret[static 32])
{
	struct dns_name n;

	if (!domain || dns_name_from_text(&n, domain) || dns_name_label_count(&n) < 2)
		return -EINVAL;
	dns_name_canonicalize(&n);
	return dns_tsig_key_set(k, &n, DNS_TSIG_HMAC_SHA256, secret, 32) ? -EINVAL : 0;
}

/* ---- comparing records ---- */

static bool same_set(const struct agent_rr *a, const struct agent_rr *b)
{
	return a->type == b->type && agent_name_equal(a->name, b->name);
}

static bool same_rr(const struct agent_rr *a, const struct agent_rr *b)
{
	if (!same_set(a, b) || a->ttl != b->ttl || a->shared != b->shared)
		return false;
	switch (a->type) {
	case AGENT_RR_A:
		return memcmp(a->a, b->a, 4) == 0;
	case AGENT_RR_AAAA:
		return memcmp(a->aaaa, b->aaaa, 16) == 0;
	case AGENT_RR_SRV:
		return a->srv.priority == b->srv.priority && a->srv.weight == b->srv.weight &&
		       a->srv.port == b->srv.port && agent_name_equal(a->srv.target, b->srv.target);
	case AGENT_RR_PTR:
		return agent_name_equal(a->ptr, b->ptr);
	case AGENT_RR_TXT:
		if (a->txt.n != b->txt.n)
			return false;
		for (unsigned i = 0; i < a->txt.n && i < AGENT_TXT_MAX; i++)
			if (a->txt.len[i] != b->txt.len[i] || memcmp(a->txt.s[i], b->txt.s[i], a->txt.len[i]))
				return false;
		return true;
	}
	return false;
}

/* Is every RR of @p a (all of them, as a multiset) matched in @p b? */
static bool covered(const struct agent_rr *a, size_t na, const struct agent_rr *b, size_t nb)
{
	bool used[AGENT_RECORDS_MAX * 2] = { false };

	if (nb > sizeof(used) / sizeof(used[0]))
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (!used[j] && same_rr(&a[i], &b[j]))
				break;
		if (j == nb)
			return false;
		used[j] = true;
	}
	return true;
}

bool dnsc_records_equal(const struct agent_rr *a, size_t na, const struct agent_rr *b, size_t nb)
{
	return na == nb && covered(a, na, b, nb);
}

/* The RRs of @p set's RRset in @p v, as a multiset, equal those in @p w? */
static bool rrset_same(const struct agent_rr *set, const struct agent_rr *v, size_t nv,
		       const struct agent_rr *w, size_t nw)
{
	size_t cv = 0, cw = 0;

	for (size_t i = 0; i < nv; i++)
		cv += same_set(set, &v[i]);
	for (size_t i = 0; i < nw; i++)
		cw += same_set(set, &w[i]);
	if (cv != cw)
		return false;
	for (size_t i = 0; i < nv; i++) {
		size_t n1 = 0, n2 = 0;

		if (!same_set(set, &v[i]))
			continue;
		for (size_t j = 0; j < nv; j++)
			n1 += same_rr(&v[i], &v[j]);
		for (size_t j = 0; j < nw; j++)
			n2 += same_rr(&v[i], &w[j]);
		if (n1 != n2)
			return false;
	}
	return true;
}

static bool has_set(const struct agent_rr *set, const struct agent_rr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (same_set(set, &v[i]))
			return true;
	return false;
}

static bool has_rr(const struct agent_rr *rr, const struct agent_rr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (same_rr(rr, &v[i]))
			return true;
	return false;
}

/* Is @p v[i] the first RR of its RRset in @p v? */
static bool first_of_set(const struct agent_rr *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (same_set(&v[i], &v[j]))
			return false;
	return true;
}

/* ---- writing ---- */

static int name_of(const char *text, struct dns_name *n)
{
	return dns_name_from_text(n, text) ? -EINVAL : 0;
}

/* The rdata of @p rr, names uncompressed (RFC 2782 forbids compressing SRV's). */
static int write_rdata(struct wire *w, const struct agent_rr *rr)
{
	struct dns_name n;

	switch (rr->type) {
	case AGENT_RR_A:
		wire_write_bytes(w, rr->a, 4);
		break;
	case AGENT_RR_AAAA:
		wire_write_bytes(w, rr->aaaa, 16);
		break;
	case AGENT_RR_SRV:
		if (name_of(rr->srv.target, &n))
			return -EINVAL;
		wire_write_u16(w, rr->srv.priority);
		wire_write_u16(w, rr->srv.weight);
		wire_write_u16(w, rr->srv.port);
		(void)dns_name_write(w, &n, NULL);
		break;
	case AGENT_RR_PTR:
		if (name_of(rr->ptr, &n))
			return -EINVAL;
		(void)dns_name_write(w, &n, NULL);
		break;
	case AGENT_RR_TXT:
		if (rr->txt.n == 0 || rr->txt.n > AGENT_TXT_MAX)
			return -EINVAL;
		for (unsigned i = 0; i < rr->txt.n; i++) {
			wire_write_u8(w, rr->txt.len[i]);
			wire_write_bytes(w, rr->txt.s[i], rr->txt.len[i]);
		}
		break;
	default:
		return -EINVAL;
	}
	return wire_err(w) ? -ENOSPC : 0;
}

static int end_rr(struct dns_builder *b)
{
	int rc = dns_builder_rr_end(b);

	return rc == -EMSGSIZE ? -ENOSPC : rc;
}

/* RFC 2136 §2.5.1: add to an RRset (class IN) or §2.5.4: delete an RR (class NONE, TTL 0). */
static int put_rr(struct dns_builder *b, const struct agent_rr *rr, bool del)
{
	struct dns_name owner;
	int rc;

	if (name_of(rr->name, &owner))
		return -EINVAL;
	rc = dns_builder_rr_begin(b, &owner, rr->type, del ? DNS_CLASS_NONE : DNS_CLASS_IN,
				  del ? 0 : rr->ttl);
	if (rc)
		return rc == -EMSGSIZE ? -ENOSPC : rc;
	rc = write_rdata(dns_builder_wire(b), rr);
	if (rc) {
		(void)dns_builder_rr_end(b);
		return rc;
	}
	return end_rr(b);
}

/* RFC 2136 §2.5.2: delete an RRset (class ANY, TTL 0, no rdata). */
static int del_rrset(struct dns_builder *b, const struct agent_rr *rr)
{
	struct dns_name owner;
	int rc;

	if (name_of(rr->name, &owner))
		return -EINVAL;
	rc = dns_builder_add_raw(b, &owner, rr->type, DNS_CLASS_ANY, 0, NULL, 0);
	return rc == -EMSGSIZE ? -ENOSPC : rc;
}

/* RFC 2136 §2.4.2: the RRset of @p rr must exist holding exactly the prerequisite RRs (class IN, TTL 0). */
static int put_prereq_rr(struct dns_builder *b, const struct agent_rr *rr)
{
	struct agent_rr z = *rr;

	z.ttl = 0;
	return put_rr(b, &z, false);
}

static int put_prereqs(struct dns_builder *b, const struct dnsc_update_prereq *pre)
{
	struct dns_name n;
	int rc;

	if (!pre)
		return 0;
	if (pre->nrrs > AGENT_RECORDS_MAX || (pre->nrrs && !pre->rrs))
		return -EINVAL;
	if (pre->unused) {
		/*
		 * RFC 2136 §2.4.3 "RRset does not exist" (class NONE, no rdata)
		 * for H.D's AAAA and TXT, what a computer holding H.D publishes
		 * there (its ULA, its id). Not §2.4.5 "name is not in use": a
		 * name with records below it (the account authority's
		 * _cert.H.D, _renew.H.D, or _cand.H.D) exists (RFC 8020) with
		 * none of its own, and a computer signing in would find it free
		 * and be refused again and again.
		 */
		static const uint16_t types[] = { DNS_TYPE_AAAA, DNS_TYPE_TXT };

		if (name_of(pre->unused, &n))
			return -EINVAL;
		for (size_t i = 0; i < 2; i++) {
			rc = dns_builder_add_raw(b, &n, types[i], DNS_CLASS_NONE, 0, NULL, 0);
			if (rc)
				return rc == -EMSGSIZE ? -ENOSPC : rc;
		}
	}
	for (size_t i = 0; i < pre->nrrs; i++) {
		if (!agent_rr_type_name(pre->rrs[i].type))
			return -EINVAL;
		if ((rc = put_prereq_rr(b, &pre->rrs[i])))
			return rc;
	}
	return 0;
}

int dnsc_update_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		      const struct dns_name *zone,
		      const struct agent_rr *cur, size_t ncur,
		      const struct agent_rr *prev, size_t nprev,
		      uint32_t lease, struct dns_tsig *t, uint64_t wall)
{
	return dnsc_update_build_pre(buf, cap, len, id, zone, NULL, cur, ncur, prev, nprev, lease, t, wall);
}

int dnsc_update_build_pre(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
			  const struct dns_name *zone, const struct dnsc_update_prereq *pre,
			  const struct agent_rr *cur, size_t ncur,
			  const struct agent_rr *prev, size_t nprev,
			  uint32_t lease, struct dns_tsig *t, uint64_t wall)
{
	struct dns_builder b;
	unsigned nupd = 0;
	int rc;

	if (!prev)
		nprev = 0;
	if ((ncur && !cur) || ncur > AGENT_RECORDS_MAX || nprev > AGENT_RECORDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < ncur; i++)
		if (!agent_rr_type_name(cur[i].type))
			return -EINVAL;
	rc = dns_builder_init(&b, buf, cap, DNSC_MSG_MAX, id, DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT);
	if (rc)
		return rc;
	dns_builder_reserve(&b, dns_tsig_space(t));
	if (lease) {
		struct dns_lease l = { .lease = lease };

		dns_builder_edns(&b, DNSC_EDNS_UDP, 0);
		/* RFC 9664 §4: the lease asked for */
		if ((rc = dns_builder_add_lease(&b, &l)))
			return rc;
	}
	/* RFC 2136 §2.3: the zone section names the zone, type SOA */
	if ((rc = dns_builder_question(&b, zone, DNS_TYPE_SOA, DNS_CLASS_IN)) ||
	    (rc = dns_builder_section(&b, DNS_SEC_PREREQ)) || (rc = put_prereqs(&b, pre)) ||
	    (rc = dns_builder_section(&b, DNS_SEC_UPDATE)))
		return rc;

	/* what was published and is no longer wanted */
	for (size_t i = 0; i < nprev; i++) {
		if (!prev[i].shared && first_of_set(prev, i) && !has_set(&prev[i], cur, ncur)) {
			if ((rc = del_rrset(&b, &prev[i])))
				return rc;
			nupd++;
		} else if (prev[i].shared && !has_rr(&prev[i], cur, ncur)) {
			/* another host's RRs share this RRset: only ours goes */
			if ((rc = put_rr(&b, &prev[i], true)))
				return rc;
			nupd++;
		}
	}
	/* replace this host's RRsets not known to hold exactly what we want */
	for (size_t i = 0; i < ncur; i++) {
		if (cur[i].shared || !first_of_set(cur, i))
			continue;
		if (prev && rrset_same(&cur[i], cur, ncur, prev, nprev))
			continue;
		if ((rc = del_rrset(&b, &cur[i])))
			return rc;
		nupd++;
	}
	/* and add everything: an RR that exists just gets its lease renewed (RFC 9664) */
	for (size_t i = 0; i < ncur; i++) {
		if ((rc = put_rr(&b, &cur[i], false)))
			return rc;
		nupd++;
	}
	if (nupd == 0)
		return -EINVAL;
	if ((rc = dns_builder_finish(&b, len)))
		return rc;
	return dns_tsig_sign_request(t, buf, *len, cap, len, wall);
}

int dnsc_update_answer(struct dnsc_update_result *r, const uint8_t *buf, size_t len, uint16_t id,
		       const struct dns_name *zone, uint32_t asked, struct dns_tsig *t, uint64_t wall)
{
	struct dnsc_resp resp;
	struct dns_lease l;
	struct wire opt;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = dnsc_resp_open(&resp, buf, len, id, zone, DNS_TYPE_SOA, t, wall);
	r->rcode = resp.rcode;
	r->tsig_error = resp.tsig_error;
	r->server_rejected = resp.server_rejected;
	if (rc)
		return rc;
	if (dns_flags_opcode(resp.msg.hdr.flags) != DNS_OPCODE_UPDATE)
		return -EBADMSG;
	if (r->rcode != DNS_RCODE_NOERROR)
		return 0;
	rc = dns_edns_find(&resp.msg, DNS_EDNS_OPT_UL, &opt);
	if (rc == -ENOENT) {
		r->lease = asked;
		return 0;
	}
	if (rc || dns_lease_parse(&opt, &l))
		return -EBADMSG;
	r->has_lease = true;
	r->lease = l.lease;
	return 0;
}

int dnsc_name_seen_read(const struct dnsc_resp *r, const struct dns_name *owner, struct agent_name_seen *seen)
{
	static const char prefix[] = AGENT_HOST_ID_PREFIX;
	struct dnsc_rr rr;
	unsigned pos = 0;
	int rc;

	while ((rc = dnsc_rr_next(&r->msg, &pos, &rr)) == 1) {
		if (rr.sec != DNS_SEC_ANSWER || rr.rclass != DNS_CLASS_IN || !dns_name_equal(&rr.owner, owner))
			continue;
		if (rr.type == DNS_TYPE_AAAA && seen->naaaa < AGENT_NAME_SEEN_MAX) {
			if (dns_rdata_aaaa_read(&rr.rdata, seen->aaaa[seen->naaaa]))
				return -EBADMSG;
			seen->naaaa++;
		} else if (rr.type == DNS_TYPE_TXT) {
			const uint8_t *str;
			uint8_t n;

			while ((rc = dns_rdata_txt_next(&rr.rdata, &str, &n)) == 1) {
				char id[AGENT_HOST_ID_LEN + 1];

				if (n != sizeof(prefix) - 1 + AGENT_HOST_ID_LEN ||
				    memcmp(str, prefix, sizeof(prefix) - 1))
					continue;
				memcpy(id, str + sizeof(prefix) - 1, AGENT_HOST_ID_LEN);
				id[AGENT_HOST_ID_LEN] = '\0';
				if (agent_host_id_check(id) == 0)
					memcpy(seen->id, id, sizeof(id));
			}
			if (rc < 0)
				return -EBADMSG;
		}
	}
	return rc < 0 ? -EBADMSG : 0;
}
