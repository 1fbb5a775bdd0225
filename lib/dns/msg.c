/* lib/dns/msg.c: DNS message parsing, rdata helpers and the builder. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dns/internal.h"
#include "dns/msg.h"

/* ---- rdata layouts -------------------------------------------------------- */

const char *dns_rdata_layout(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_NS:
	case 3:		/* MD */
	case 4:		/* MF */
	case DNS_TYPE_CNAME:
	case 7:		/* MB */
	case 8:		/* MG */
	case 9:		/* MR */
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		return "N";
	case DNS_TYPE_SOA:
		return "NNT";
	case 14:	/* MINFO */
	case 17:	/* RP */
		return "NN";
	case DNS_TYPE_MX:
	case 18:	/* AFSDB */
	case 21:	/* RT */
	case 36:	/* KX */
		return "2N";
	case 26:	/* PX */
		return "2NN";
	case DNS_TYPE_SRV:
		return "6N";
	default:
		return NULL;
	}
}

static size_t layout_fixed(char op)
{
	return op == '2' ? 2 : op == '6' ? 6 : 20;
}

/*
 * Walk rdata of a name-bearing type, checking that it consumes the cursor
 * exactly; with @p out, write the uncompressed form there.
 */
static int layout_walk(struct wire *rd, const char *layout, bool allow_ptr, struct wire *out)
{
	for (const char *op = layout; *op; op++) {
		if (*op == 'N') {
			struct dns_name n;

			if (dns_name_read(rd, &n, allow_ptr, NULL))
				return -EBADMSG;
			if (out)
				wire_write_bytes(out, n.wire, n.len);
		} else {
			size_t k = layout_fixed(*op);
			const uint8_t *p = wire_read_ref(rd, k);

			if (!p)
				return -EBADMSG;
			if (out)
				wire_write_bytes(out, p, k);
		}
	}
	if (wire_err(rd) || wire_avail(rd) || (out && wire_err(out)))
		return -EBADMSG;
	return 0;
}

static int txt_check(struct wire *rd)
{
	if (wire_avail(rd) == 0)
		return -EBADMSG;	/* RFC 1035 §3.3.14: one or more strings */
	while (wire_avail(rd) && !wire_err(rd)) {
		uint8_t l = wire_read_u8(rd);

		wire_skip(rd, l);
	}
	return wire_err(rd) ? -EBADMSG : 0;
}

static int opt_check(struct wire *rd)
{
	while (wire_avail(rd) && !wire_err(rd)) {
		(void)wire_read_u16(rd);
		wire_skip(rd, wire_read_u16(rd));
	}
	return wire_err(rd) ? -EBADMSG : 0;
}

static int tsig_check(struct wire *rd, bool allow_ptr)
{
	if (dns_name_read(rd, NULL, allow_ptr, NULL))
		return -EBADMSG;
	wire_skip(rd, 6 + 2);			/* time signed, fudge */
	wire_skip(rd, wire_read_u16(rd));	/* MAC */
	wire_skip(rd, 2 + 2);			/* original ID, error */
	wire_skip(rd, wire_read_u16(rd));	/* other data */
	return wire_err(rd) || wire_avail(rd) ? -EBADMSG : 0;
}

/* Check rdata against its type; @p rd covers exactly the rdata. */
static int rdata_check(struct wire *rd, uint16_t type, uint16_t rclass, bool allow_ptr)
{
	const char *layout;
	size_t n = wire_avail(rd);

	if (type == DNS_TYPE_OPT)
		return opt_check(rd);
	if (type == DNS_TYPE_TSIG)
		return tsig_check(rd, allow_ptr);
	/* RFC 2136 §2.4, §2.5: empty rdata in the prerequisite and delete forms */
	if (n == 0 && (rclass == DNS_CLASS_ANY || rclass == DNS_CLASS_NONE))
		return 0;
	switch (type) {
	case DNS_TYPE_A:
		if (rclass == DNS_CLASS_IN || rclass == DNS_CLASS_ANY || rclass == DNS_CLASS_NONE)
			return n == 4 ? 0 : -EBADMSG;
		return 0;
	case DNS_TYPE_AAAA:
		if (rclass == DNS_CLASS_IN || rclass == DNS_CLASS_ANY || rclass == DNS_CLASS_NONE)
			return n == 16 ? 0 : -EBADMSG;
		return 0;
	case DNS_TYPE_TXT:
		return txt_check(rd);
	default:
		break;
	}
	layout = dns_rdata_layout(type);
	if (layout)
		return layout_walk(rd, layout, allow_ptr, NULL);
	return 0;	/* RFC 3597: unknown types are opaque */
}

int dns_rdata_check(uint16_t type, uint16_t rclass, const uint8_t *rd, size_t rdlen)
{
	struct wire r = wire_reader(rd, rdlen);

	if (rdlen > 65535)
		return -EBADMSG;
	return rdata_check(&r, type, rclass, false);
}

/* ---- parsing -------------------------------------------------------------- */

int dns_header_parse(const uint8_t *buf, size_t len, struct dns_header *hdr)
{
	struct wire r = wire_reader(buf, len);

	/* RFC 1035 §4.1.1: ID, flags, then the four section counts */
	hdr->id = wire_read_u16(&r);
	hdr->flags = wire_read_u16(&r);
	hdr->qdcount = wire_read_u16(&r);
	hdr->ancount = wire_read_u16(&r);
	hdr->nscount = wire_read_u16(&r);
	hdr->arcount = wire_read_u16(&r);
	return wire_err(&r) ? -EBADMSG : 0;
}

int dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len)
{
	struct wire w;
	uint16_t want[4];

	m->buf = buf;
	m->len = 0;
	memset(m->count, 0, sizeof(m->count));
	m->qd_end = 0;
	m->opt = -1;
	m->tsig = -1;
	memset(&m->edns, 0, sizeof(m->edns));
	if (dns_header_parse(buf, len, &m->hdr))
		return -EBADMSG;
	if (len > DNS_MSG_MAX_LEN)
		return -EBADMSG;
	m->len = (uint16_t)len;
	want[0] = m->hdr.qdcount;
	want[1] = m->hdr.ancount;
	want[2] = m->hdr.nscount;
	want[3] = m->hdr.arcount;
	if (want[0] > DNS_MSG_MAX_QD || want[1] > DNS_MSG_MAX_RR || want[2] > DNS_MSG_MAX_RR ||
	    want[3] > DNS_MSG_MAX_RR)
		return -EMSGSIZE;

	w = wire_reader(buf, len);
	wire_skip(&w, DNS_HEADER_LEN);
	for (unsigned i = 0; i < want[0]; i++) {
		struct dns_question *q = &m->qd[i];

		q->name = (uint16_t)wire_offset(&w);
		if (dns_name_read(&w, NULL, true, NULL))
			return -EBADMSG;
		q->type = wire_read_u16(&w);
		q->rclass = wire_read_u16(&w);
		if (wire_err(&w))
			return -EBADMSG;
		m->count[0]++;
	}
	m->qd_end = (uint16_t)wire_offset(&w);

	for (unsigned sec = 1; sec <= 3; sec++) {
		for (unsigned i = 0; i < want[sec]; i++) {
			struct dns_rr *rr = &m->rr[sec - 1][i];
			struct wire rd;
			size_t nlen;

			if (m->tsig >= 0)
				return -EBADMSG;	/* RFC 8945 §5.1: TSIG must be the last record */
			rr->off = (uint16_t)wire_offset(&w);
			if (wire_peek_u8(&w) == 0) {
				wire_skip(&w, 1);	/* the root: OPT, mostly */
				nlen = 1;
			} else if (dns_name_read(&w, NULL, true, &nlen)) {
				return -EBADMSG;
			}
			rr->type = wire_read_u16(&w);
			rr->rclass = wire_read_u16(&w);
			rr->ttl = wire_read_u32(&w);
			rr->rdlen = wire_read_u16(&w);
			if (wire_err(&w))
				return -EBADMSG;
			rr->rdata = (uint16_t)wire_offset(&w);
			rd = wire_sub(&w, rr->rdlen);
			if (wire_err(&w))
				return -EBADMSG;
			if (rr->type == DNS_TYPE_OPT) {
				/* RFC 6891 §6.1.1: one OPT, in the additional section, owner root */
				if (sec != DNS_SEC_ADDITIONAL || m->opt >= 0 || nlen != 1)
					return -EBADMSG;
				m->opt = (int16_t)i;
				m->edns.present = true;
				m->edns.udp_size = rr->rclass;
				m->edns.ext_rcode = (uint8_t)(rr->ttl >> 24);
				m->edns.version = (uint8_t)(rr->ttl >> 16);
				m->edns.flags = (uint16_t)rr->ttl;
				m->edns.opts = rr->rdata;
				m->edns.opts_len = rr->rdlen;
			} else if (rr->type == DNS_TYPE_TSIG) {
				if (sec != DNS_SEC_ADDITIONAL)
					return -EBADMSG;
				m->tsig = (int16_t)i;
			}
			if (rdata_check(&rd, rr->type, rr->rclass, true))
				return -EBADMSG;
			m->count[sec]++;
		}
	}
	if (wire_avail(&w))
		return -EBADMSG;	/* trailing bytes */
	return 0;
}

int dns_msg_name(const struct dns_msg *m, uint16_t off, struct dns_name *out)
{
	struct wire r = wire_reader(m->buf, m->len);

	wire_seek(&r, off);
	return dns_name_read(&r, out, true, NULL) ? -EBADMSG : 0;
}

struct wire dns_msg_rdata(const struct dns_msg *m, const struct dns_rr *rr)
{
	struct wire r = wire_reader(m->buf, m->len);

	wire_seek(&r, rr->rdata);
	return wire_sub(&r, rr->rdlen);
}

int dns_msg_rdata_expand(const struct dns_msg *m, const struct dns_rr *rr,
			 uint8_t buf[static DNS_RDATA_EXPAND_MAX], const uint8_t **rd, uint16_t *rdlen)
{
	struct wire r = dns_msg_rdata(m, rr), out;
	const char *layout = dns_rdata_layout(rr->type);

	if (wire_err(&r))
		return -EBADMSG;
	if (!layout || rr->rdlen == 0) {
		*rd = wire_read_ref(&r, rr->rdlen);
		*rdlen = rr->rdlen;
		if (!*rd) {
			*rd = buf;
			return rr->rdlen ? -EBADMSG : 0;
		}
		return 0;
	}
	out = wire_writer(buf, DNS_RDATA_EXPAND_MAX);
	if (layout_walk(&r, layout, true, &out))
		return -EBADMSG;
	*rd = buf;
	*rdlen = (uint16_t)wire_offset(&out);
	return 0;
}

bool dns_rdata_equal(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	const char *layout = dns_rdata_layout(type);
	struct wire ra, rb;

	if (alen != blen)
		return false;
	if (!layout)
		return alen == 0 || memcmp(a, b, alen) == 0;
	ra = wire_reader(a, alen);
	rb = wire_reader(b, blen);
	for (const char *op = layout; *op; op++) {
		if (*op == 'N') {
			struct dns_name na, nb;

			if (dns_name_read(&ra, &na, false, NULL) || dns_name_read(&rb, &nb, false, NULL))
				return alen == 0 || memcmp(a, b, alen) == 0;	/* not our layout: opaque */
			if (!dns_name_equal(&na, &nb))
				return false;
		} else {
			size_t k = layout_fixed(*op);
			const uint8_t *pa = wire_read_ref(&ra, k), *pb = wire_read_ref(&rb, k);

			if (!pa || !pb)
				return alen == 0 || memcmp(a, b, alen) == 0;
			if (memcmp(pa, pb, k))
				return false;
		}
	}
	if (wire_avail(&ra) || wire_avail(&rb))
		return memcmp(a, b, alen) == 0;
	return true;
}

int dns_rdata_canonicalize(uint16_t type, uint8_t *rd, size_t rdlen)
{
	const char *layout = dns_rdata_layout(type);
	struct wire r, w;

	if (!layout || rdlen == 0)
		return 0;
	r = wire_reader(rd, rdlen);
	w = wire_writer(rd, rdlen);
	for (const char *op = layout; *op; op++) {
		if (*op == 'N') {
			struct dns_name n;

			if (dns_name_read(&r, &n, false, NULL))
				return -EBADMSG;
			dns_name_canonicalize(&n);
			wire_write_bytes(&w, n.wire, n.len);
		} else {
			size_t k = layout_fixed(*op);

			wire_skip(&r, k);
			wire_skip(&w, k);
		}
	}
	if (wire_err(&r) || wire_avail(&r) || wire_err(&w))
		return -EBADMSG;
	return 0;
}

/* ---- typed rdata ------------------------------------------------------ */

static int done(struct wire *rd)
{
	return wire_err(rd) || wire_avail(rd) ? -EBADMSG : 0;
}

int dns_rdata_a_read(struct wire *rd, uint8_t addr[static 4])
{
	wire_read_bytes(rd, addr, 4);
	return done(rd);
}

int dns_rdata_aaaa_read(struct wire *rd, uint8_t addr[static 16])
{
	wire_read_bytes(rd, addr, 16);
	return done(rd);
}

int dns_rdata_name_read(struct wire *rd, struct dns_name *out)
{
	if (dns_name_parse(rd, out))
		return -EBADMSG;
	return done(rd);
}

int dns_rdata_soa_read(struct wire *rd, struct dns_soa *out)
{
	if (dns_name_parse(rd, &out->mname) || dns_name_parse(rd, &out->rname))
		return -EBADMSG;
	out->serial = wire_read_u32(rd);
	out->refresh = wire_read_u32(rd);
	out->retry = wire_read_u32(rd);
	out->expire = wire_read_u32(rd);
	out->minimum = wire_read_u32(rd);
	return done(rd);
}

int dns_rdata_srv_read(struct wire *rd, struct dns_srv *out)
{
	out->priority = wire_read_u16(rd);
	out->weight = wire_read_u16(rd);
	out->port = wire_read_u16(rd);
	if (dns_name_parse(rd, &out->target))
		return -EBADMSG;
	return done(rd);
}

int dns_rdata_txt_next(struct wire *rd, const uint8_t **s, uint8_t *len)
{
	uint8_t l;

	if (wire_err(rd))
		return -EBADMSG;
	if (wire_avail(rd) == 0)
		return 0;
	l = wire_read_u8(rd);
	*s = wire_read_ref(rd, l);
	*len = l;
	if (!*s)
		return -EBADMSG;
	return 1;
}

/* ---- building ------------------------------------------------------------- */

#define OPT_FIXED 11	/* root name, type, class, TTL, rdlength */
#define HDR_FLAGS_OFF 2	/* RFC 1035 §4.1.1 */
#define HDR_COUNTS_OFF 4

int dns_builder_init(struct dns_builder *b, void *buf, size_t cap, size_t limit,
		     uint16_t id, uint16_t flags)
{
	memset(b, 0, offsetof(struct dns_builder, opt_data));
	if (limit > cap)
		limit = cap;
	if (limit > DNS_MSG_MAX_LEN)
		limit = DNS_MSG_MAX_LEN;
	b->limit = limit;
	b->w = wire_writer(buf, limit);
	b->flags = flags & (uint16_t)~(DNS_RCODE_MASK | DNS_FLAG_TC);
	b->sec = DNS_SEC_QUESTION;
	dns_compress_init(&b->comp);
	wire_write_u16(&b->w, id);
	wire_write_u16(&b->w, b->flags);
	wire_write_zero(&b->w, 8);
	if (wire_err(&b->w)) {
		b->err = -ENOSPC;
		return -ENOSPC;
	}
	b->committed = DNS_HEADER_LEN;
	return 0;
}

int dns_builder_reply(struct dns_builder *b, void *buf, size_t cap, size_t limit,
		      const struct dns_msg *query)
{
	uint16_t flags = DNS_FLAG_QR | (query->hdr.flags & (DNS_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD));
	struct wire r = wire_reader(query->buf, query->len);
	size_t qlen = query->qd_end > DNS_HEADER_LEN ? query->qd_end - DNS_HEADER_LEN : 0;
	const uint8_t *q;
	int err = dns_builder_init(b, buf, cap, limit, query->hdr.id, flags);

	if (err)
		return err;
	if (query->count[0] == 0)
		return 0;
	/* the question section keeps its offsets, so any pointers in it stay valid */
	wire_seek(&r, DNS_HEADER_LEN);
	q = wire_read_ref(&r, qlen);
	if (!q)
		return b->err = -EINVAL;
	wire_write_bytes(&b->w, q, qlen);
	if (wire_err(&b->w))
		return b->err = -ENOSPC;
	b->count[0] = query->count[0];
	b->committed = wire_offset(&b->w);
	/*
	 * The first question name cannot hold a pointer (it would have to
	 * point into the header): enter its labels straight from the bytes.
	 */
	{
		unsigned labels = 0;

		for (size_t i = 0; i < qlen && q[i]; i += 1 + (size_t)q[i])
			labels++;
		for (size_t i = 0; i < qlen && q[i] && b->comp.n < DNS_COMPRESS_MAX; i += 1 + (size_t)q[i]) {
			b->comp.off[b->comp.n] = (uint16_t)(DNS_HEADER_LEN + i);
			b->comp.labels[b->comp.n++] = (uint8_t)labels--;
		}
	}
	return 0;
}

void dns_builder_set_flags(struct dns_builder *b, uint16_t flags)
{
	b->flags = (uint16_t)((b->flags & DNS_FLAG_TC) | (flags & ~(DNS_RCODE_MASK | DNS_FLAG_TC)));
}

void dns_builder_set_rcode(struct dns_builder *b, unsigned rcode)
{
	b->rcode = (uint16_t)(rcode & 0xfff);
}

void dns_builder_reserve(struct dns_builder *b, size_t n)
{
	b->reserve += n;
}

void dns_builder_edns(struct dns_builder *b, uint16_t udp_size, uint16_t flags)
{
	if (!b->edns)
		b->reserve += OPT_FIXED + b->opt_len;
	b->edns = true;
	b->edns_udp = udp_size;
	b->edns_flags = flags;
	b->edns_version = 0;
}

int dns_builder_edns_option(struct dns_builder *b, uint16_t code, const void *data, uint16_t len)
{
	struct wire o;

	if (!b->edns)
		return -EINVAL;
	if ((size_t)b->opt_len + 4 + len > sizeof(b->opt_data))
		return -ENOSPC;
	o = wire_writer(b->opt_data, sizeof(b->opt_data));
	wire_seek(&o, b->opt_len);
	wire_write_u16(&o, code);
	wire_write_u16(&o, len);
	wire_write_bytes(&o, data, len);
	if (wire_err(&o))
		return -ENOSPC;
	b->opt_len = (uint16_t)wire_offset(&o);
	b->reserve += 4 + (size_t)len;
	return 0;
}

int dns_builder_section(struct dns_builder *b, enum dns_section sec)
{
	if (b->in_rr || sec < b->sec || sec > DNS_SEC_ADDITIONAL)
		return -EINVAL;
	b->sec = sec;
	return 0;
}

/* Room left for records: the limit less what finish and TSIG need. */
static size_t room(const struct dns_builder *b)
{
	return b->reserve >= b->limit ? 0 : b->limit - b->reserve;
}

/* Drop everything after the last complete record. */
static void rewind_to_committed(struct dns_builder *b)
{
	if (!b->in_rr && !b->w.err && wire_offset(&b->w) == b->committed)
		return;		/* nothing to drop */
	b->w.err = 0;
	wire_seek(&b->w, b->committed);
	dns_compress_rollback(&b->comp, b->committed);
	b->in_rr = false;
}

/* A record did not fit: RFC 2181 §9, TC only when answer data is lost. */
static int drop_record(struct dns_builder *b)
{
	rewind_to_committed(b);
	b->truncated = true;
	if (b->sec == DNS_SEC_ANSWER || b->sec == DNS_SEC_AUTHORITY)
		b->flags |= DNS_FLAG_TC;
	return -EMSGSIZE;
}

int dns_builder_question(struct dns_builder *b, const struct dns_name *name,
			 uint16_t type, uint16_t rclass)
{
	if (b->sec != DNS_SEC_QUESTION || b->in_rr || b->err)
		return b->err ? b->err : -EINVAL;
	(void)dns_name_write(&b->w, name, &b->comp);
	wire_write_u16(&b->w, type);
	wire_write_u16(&b->w, rclass);
	if (wire_err(&b->w) || wire_offset(&b->w) > room(b)) {
		rewind_to_committed(b);
		return -ENOSPC;
	}
	b->count[0]++;
	b->committed = wire_offset(&b->w);
	return 0;
}

int dns_builder_rr_begin(struct dns_builder *b, const struct dns_name *owner,
			 uint16_t type, uint16_t rclass, uint32_t ttl)
{
	if (b->err)
		return b->err;
	if (b->in_rr || b->sec == DNS_SEC_QUESTION)
		return -EINVAL;
	if (b->truncated)
		return -EMSGSIZE;
	rewind_to_committed(b);		/* forget stray writes since the last record */
	b->rr_start = b->committed;
	(void)dns_name_write(&b->w, owner, &b->comp);
	wire_write_u16(&b->w, type);
	wire_write_u16(&b->w, rclass);
	wire_write_u32(&b->w, ttl);
	b->rdlen_off = wire_reserve(&b->w, 2);
	if (wire_err(&b->w))
		return drop_record(b);
	b->in_rr = true;
	return 0;
}

int dns_builder_rr_end(struct dns_builder *b)
{
	size_t end;

	if (!b->in_rr) {
		rewind_to_committed(b);
		return b->err ? b->err : b->truncated ? -EMSGSIZE : -EINVAL;
	}
	end = wire_offset(&b->w);
	if (wire_err(&b->w) || end > room(b))
		return drop_record(b);
	wire_patch_u16(&b->w, b->rdlen_off, (uint16_t)(end - b->rdlen_off - 2));
	b->count[b->sec]++;
	b->committed = end;
	b->in_rr = false;
	return 0;
}

int dns_builder_add_raw(struct dns_builder *b, const struct dns_name *owner, uint16_t type,
			uint16_t rclass, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	int err = dns_builder_rr_begin(b, owner, type, rclass, ttl);

	if (err)
		return err;
	wire_write_bytes(&b->w, rdata, rdlen);
	return dns_builder_rr_end(b);
}

int dns_builder_add_a(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
		      const uint8_t addr[static 4])
{
	return dns_builder_add_raw(b, owner, DNS_TYPE_A, DNS_CLASS_IN, ttl, addr, 4);
}

int dns_builder_add_aaaa(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			 const uint8_t addr[static 16])
{
	return dns_builder_add_raw(b, owner, DNS_TYPE_AAAA, DNS_CLASS_IN, ttl, addr, 16);
}

int dns_builder_add_name(struct dns_builder *b, const struct dns_name *owner, uint16_t type,
			 uint32_t ttl, const struct dns_name *target)
{
	int err = dns_builder_rr_begin(b, owner, type, DNS_CLASS_IN, ttl);

	if (err)
		return err;
	/* RFC 3597 §4: only the RFC 1035 types may be compressed */
	(void)dns_name_write(&b->w, target, type == DNS_TYPE_DNAME ? NULL : &b->comp);
	return dns_builder_rr_end(b);
}

int dns_builder_add_soa(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const struct dns_soa *soa)
{
	int err = dns_builder_rr_begin(b, owner, DNS_TYPE_SOA, DNS_CLASS_IN, ttl);

	if (err)
		return err;
	(void)dns_name_write(&b->w, &soa->mname, &b->comp);
	(void)dns_name_write(&b->w, &soa->rname, &b->comp);
	wire_write_u32(&b->w, soa->serial);
	wire_write_u32(&b->w, soa->refresh);
	wire_write_u32(&b->w, soa->retry);
	wire_write_u32(&b->w, soa->expire);
	wire_write_u32(&b->w, soa->minimum);
	return dns_builder_rr_end(b);
}

int dns_builder_add_srv(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const struct dns_srv *srv)
{
	int err = dns_builder_rr_begin(b, owner, DNS_TYPE_SRV, DNS_CLASS_IN, ttl);

	if (err)
		return err;
	wire_write_u16(&b->w, srv->priority);
	wire_write_u16(&b->w, srv->weight);
	wire_write_u16(&b->w, srv->port);
	(void)dns_name_write(&b->w, &srv->target, NULL);	/* RFC 2782: not compressed */
	return dns_builder_rr_end(b);
}

int dns_builder_add_txt(struct dns_builder *b, const struct dns_name *owner, uint32_t ttl,
			const uint8_t *const strings[], const uint8_t lens[], unsigned n)
{
	int err;

	if (n == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!strings[i] && lens[i])
			return -EINVAL;
	err = dns_builder_rr_begin(b, owner, DNS_TYPE_TXT, DNS_CLASS_IN, ttl);
	if (err)
		return err;
	for (unsigned i = 0; i < n; i++) {
		wire_write_u8(&b->w, lens[i]);
		wire_write_bytes(&b->w, strings[i], lens[i]);
	}
	return dns_builder_rr_end(b);
}

int dns_builder_finish(struct dns_builder *b, size_t *len)
{
	uint16_t flags;

	if (b->err)
		return b->err;
	if (b->rcode > 15 && !b->edns)
		return -EINVAL;
	rewind_to_committed(b);
	if (b->edns) {
		wire_write_u8(&b->w, 0);	/* root */
		wire_write_u16(&b->w, DNS_TYPE_OPT);
		wire_write_u16(&b->w, b->edns_udp);
		wire_write_u32(&b->w, (uint32_t)(b->rcode >> 4) << 24 |
				      (uint32_t)b->edns_version << 16 | b->edns_flags);
		wire_write_u16(&b->w, b->opt_len);
		wire_write_bytes(&b->w, b->opt_data, b->opt_len);
		if (wire_err(&b->w)) {
			rewind_to_committed(b);
			return b->err = -ENOSPC;
		}
		b->count[DNS_SEC_ADDITIONAL]++;
		b->committed = wire_offset(&b->w);
		b->edns = false;	/* written: a second finish does not add another */
	}
	flags = (uint16_t)(b->flags | (b->rcode & DNS_RCODE_MASK));
	/* RFC 1035 §4.1.1: flags at offset 2, then QD, AN, NS and AR counts */
	wire_patch_u16(&b->w, HDR_FLAGS_OFF, flags);
	for (unsigned sec = 0; sec < 4; sec++)
		wire_patch_u16(&b->w, HDR_COUNTS_OFF + 2 * sec, b->count[sec]);
	if (wire_err(&b->w))
		return b->err = -ENOSPC;
	b->reserve = 0;
	*len = wire_offset(&b->w);
	return 0;
}

int dns_msg_error_header(uint8_t *buf, size_t cap, const struct dns_header *hdr, unsigned rcode)
{
	struct wire w = wire_writer(buf, cap);

	wire_write_u16(&w, hdr->id);
	wire_write_u16(&w, (uint16_t)(DNS_FLAG_QR | (hdr->flags & (DNS_OPCODE_MASK | DNS_FLAG_RD)) |
				      (rcode & DNS_RCODE_MASK)));
	wire_write_zero(&w, 8);
	return wire_err(&w) ? -ENOSPC : DNS_HEADER_LEN;
}
