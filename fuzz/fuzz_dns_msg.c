/*
 * Fuzz lib/dns messages: parse; if the message is valid, read every name
 * and rdata through the accessors, rebuild it with the builder (names
 * compressed anew, rdata uncompressed) and check that the rebuilt message
 * parses to the same records.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/edns.h"
#include "dns/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_typed(const struct dns_msg *m, const struct dns_rr *rr)
{
	struct wire rd = dns_msg_rdata(m, rr);
	uint8_t a[16];
	struct dns_name n;
	struct dns_soa soa;
	struct dns_srv srv;
	const uint8_t *s;
	uint8_t sl;
	int r;

	switch (rr->type) {
	case DNS_TYPE_A:
		r = dns_rdata_a_read(&rd, a);
		assert((r == 0) == (rr->rdlen == 4));
		break;
	case DNS_TYPE_AAAA:
		r = dns_rdata_aaaa_read(&rd, a);
		assert((r == 0) == (rr->rdlen == 16));
		break;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		r = dns_rdata_name_read(&rd, &n);
		assert(r == 0 || rr->rdlen == 0);
		break;
	case DNS_TYPE_SOA:
		r = dns_rdata_soa_read(&rd, &soa);
		assert(r == 0 || rr->rdlen == 0);
		break;
	case DNS_TYPE_SRV:
		r = dns_rdata_srv_read(&rd, &srv);
		assert(r == 0 || rr->rdlen == 0);
		break;
	case DNS_TYPE_TXT:
		while ((r = dns_rdata_txt_next(&rd, &s, &sl)) == 1)
			;
		assert(r == 0);
		break;
	default:
		break;
	}
}

/* A name survives text and back. */
static void text_roundtrip(const struct dns_name *n)
{
	char t[DNS_NAME_TEXT_MAX];
	struct dns_name back;

	assert(dns_name_to_text(n, t, sizeof(t)) > 0);
	assert(dns_name_from_text(&back, t) == 0);
	assert(back.len == n->len && memcmp(back.wire, n->wire, n->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_msg m, m2;	/* large: keep them off the stack */
	static uint8_t out[DNS_MSG_MAX_LEN];
	struct dns_builder b;
	struct dns_edns_iter it;
	struct wire od;
	uint16_t code;
	unsigned added[4] = { 0 };
	size_t len;
	bool full = false;

	if (dns_msg_parse(&m, data, size))
		return 0;

	/* every option of a valid OPT is reachable */
	dns_edns_iter_init(&it, &m);
	while (dns_edns_iter_next(&it, &code, &od) == 1)
		;

	assert(dns_builder_init(&b, out, sizeof(out), sizeof(out), m.hdr.id, m.hdr.flags) == 0);
	for (unsigned i = 0; i < m.count[0]; i++) {
		struct dns_name n;

		assert(dns_msg_name(&m, m.qd[i].name, &n) == 0);
		text_roundtrip(&n);
		assert(dns_builder_question(&b, &n, m.qd[i].type, m.qd[i].rclass) == 0);
		added[0]++;
	}
	if (m.edns.present && m.edns.opts_len <= DNS_BUILDER_OPT_DATA) {
		struct dns_edns_iter oi;

		dns_builder_edns(&b, m.edns.udp_size, m.edns.flags);
		dns_edns_iter_init(&oi, &m);
		while (dns_edns_iter_next(&oi, &code, &od) == 1) {
			uint16_t l = (uint16_t)wire_avail(&od);
			const uint8_t *p = l ? wire_read_ref(&od, l) : NULL;
			int r = dns_builder_edns_option(&b, code, p, l);

			assert(r == 0);
		}
	}
	for (unsigned sec = 1; sec <= 3 && !full; sec++) {
		assert(dns_builder_section(&b, (enum dns_section)sec) == 0);
		for (unsigned i = 0; i < m.count[sec]; i++) {
			const struct dns_rr *rr = dns_msg_rr(&m, (enum dns_section)sec, i);
			uint8_t buf[DNS_RDATA_EXPAND_MAX];
			const uint8_t *rd;
			uint16_t rdlen;
			struct dns_name n;
			int r;

			assert(dns_msg_name(&m, rr->off, &n) == 0);
			read_typed(&m, rr);
			if (rr->type == DNS_TYPE_OPT || rr->type == DNS_TYPE_TSIG)
				continue;	/* rebuilt by finish / not rebuilt */
			assert(dns_msg_rdata_expand(&m, rr, buf, &rd, &rdlen) == 0);
			assert(dns_rdata_check(rr->type, rr->rclass, rd, rdlen) == 0);
			assert(dns_rdata_equal(rr->type, rd, rdlen, rd, rdlen));
			r = dns_builder_add_raw(&b, &n, rr->type, rr->rclass, rr->ttl, rd, rdlen);
			if (r == -EMSGSIZE) {
				full = true;	/* decompressed, it no longer fits in 64 KiB */
				break;
			}
			assert(r == 0);
			added[sec]++;
		}
	}
	if (dns_builder_finish(&b, &len))
		return 0;
	assert(len <= sizeof(out));
	assert(dns_msg_parse(&m2, out, len) == 0);
	for (unsigned sec = 1; sec <= 3; sec++) {
		unsigned j = 0;

		for (unsigned i = 0; i < m.count[sec] && j < added[sec]; i++) {
			const struct dns_rr *a = dns_msg_rr(&m, (enum dns_section)sec, i), *c;
			uint8_t ba[DNS_RDATA_EXPAND_MAX], bc[DNS_RDATA_EXPAND_MAX];
			const uint8_t *ra, *rc;
			uint16_t la, lc;
			struct dns_name na, nc;

			if (a->type == DNS_TYPE_OPT || a->type == DNS_TYPE_TSIG)
				continue;
			c = dns_msg_rr(&m2, (enum dns_section)sec, j++);
			assert(a->type == c->type && a->rclass == c->rclass && a->ttl == c->ttl);
			assert(dns_msg_name(&m, a->off, &na) == 0 && dns_msg_name(&m2, c->off, &nc) == 0);
			assert(dns_name_equal(&na, &nc));
			assert(dns_msg_rdata_expand(&m, a, ba, &ra, &la) == 0);
			assert(dns_msg_rdata_expand(&m2, c, bc, &rc, &lc) == 0);
			assert(la == lc && (la == 0 || memcmp(ra, rc, la) == 0));
		}
		assert(j == added[sec]);
	}
	assert(m2.edns.present == (m.edns.present && m.edns.opts_len <= DNS_BUILDER_OPT_DATA));
	return 0;
}
