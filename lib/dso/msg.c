/*
 * The DSO codec (dso.h): RFC 8490 §5.4 messages and TLVs, RFC 8765 §6
 * Push TLVs, through the lib/wire cursor.
 */
#include <errno.h>
#include <string.h>

#include "dso/dso.h"

#define FLAG_QR 0x8000u
#define OPCODE_SHIFT 11
#define OPCODE_MASK 0x7800u
#define RCODE_MASK 0x000Fu

bool dso_is_dso(const uint8_t *buf, size_t len)
{
	struct wire w;
	uint16_t flags;

	if (!buf || len < DSO_HEADER_LEN)
		return false;
	w = wire_reader(buf, len);
	wire_skip(&w, 2);	/* the ID */
	flags = wire_read_u16(&w);
	return (flags & OPCODE_MASK) >> OPCODE_SHIFT == DSO_OPCODE;
}

int dso_msg_parse(struct dso_msg *m, const uint8_t *buf, size_t len)
{
	struct wire w = wire_reader(buf, len);
	uint16_t flags;
	bool counts_zero = true;

	memset(m, 0, sizeof(*m));
	m->id = wire_read_u16(&w);
	flags = wire_read_u16(&w);
	for (int i = 0; i < 4; i++)
		if (wire_read_u16(&w) != 0)
			counts_zero = false;
	if (wire_err(&w))
		return -EBADMSG;
	m->qr = flags & FLAG_QR;
	m->rcode = (uint8_t)(flags & RCODE_MASK);
	/* RFC 8490 §5.4: the counts MUST be zero, else FORMERR */
	if ((flags & OPCODE_MASK) >> OPCODE_SHIFT != DSO_OPCODE || !counts_zero)
		return -EBADMSG;
	while (wire_avail(&w)) {
		struct dso_tlv t;

		t.type = wire_read_u16(&w);
		t.len = wire_read_u16(&w);
		t.data = wire_read_ref(&w, t.len);
		if (wire_err(&w))
			return -EBADMSG;	/* a TLV that runs past the message */
		if (m->n_tlv == DSO_TLV_MAX)
			return -E2BIG;
		m->tlv[m->n_tlv++] = t;
	}
	/* §5.4.2: a request or unidirectional message has a primary TLV */
	if (!m->qr && m->n_tlv == 0)
		return -EBADMSG;
	return 0;
}

size_t dso_name_read(struct wire *w, uint8_t *out)
{
	size_t n = 0;

	for (;;) {
		uint8_t l = wire_read_u8(w);

		if (wire_err(w))
			return 0;
		/* no compression: the name stands alone in a TLV; labels <= 63 */
		if (l > 63 || n + 1 + l > DSO_NAME_MAX) {
			wire_fail(w, -EBADMSG);
			return 0;
		}
		out[n++] = l;
		if (l == 0)
			return n;
		wire_read_bytes(w, out + n, l);
		if (wire_err(w))
			return 0;
		n += l;
	}
}

int dso_keepalive_read(const struct dso_tlv *t, struct dso_keepalive *k)
{
	struct wire w = wire_reader(t->data, t->len);

	memset(k, 0, sizeof(*k));
	if (t->type != DSO_TYPE_KEEPALIVE || t->len != 8)	/* §7.1: two 32-bit values */
		return -EBADMSG;
	k->inactivity_ms = wire_read_u32(&w);
	k->keepalive_ms = wire_read_u32(&w);
	return wire_err(&w);
}

int dso_retry_delay_read(const struct dso_tlv *t, uint32_t *delay_ms)
{
	struct wire w = wire_reader(t->data, t->len);

	*delay_ms = 0;
	if (t->type != DSO_TYPE_RETRY_DELAY || t->len != 4)	/* §7.2 */
		return -EBADMSG;
	*delay_ms = wire_read_u32(&w);
	return wire_err(&w);
}

static int question_read(struct wire *w, struct dso_question *q)
{
	size_t n = dso_name_read(w, q->name);

	q->name_len = (uint8_t)n;
	q->qtype = wire_read_u16(w);
	q->qclass = wire_read_u16(w);
	return n == 0 || wire_err(w) ? -EBADMSG : 0;
}

int dso_subscribe_read(const struct dso_tlv *t, struct dso_question *q)
{
	struct wire w = wire_reader(t->data, t->len);

	memset(q, 0, sizeof(*q));
	if (t->type != DSO_TYPE_SUBSCRIBE || question_read(&w, q))
		return -EBADMSG;
	/* RFC 8765 §6.2.1: exactly one NAME, TYPE and CLASS */
	return wire_avail(&w) ? -EBADMSG : 0;
}

int dso_unsubscribe_read(const struct dso_tlv *t, uint16_t *sub_id)
{
	struct wire w = wire_reader(t->data, t->len);

	*sub_id = 0;
	if (t->type != DSO_TYPE_UNSUBSCRIBE || t->len != 2)	/* RFC 8765 §6.4.1: DSO-LENGTH 2 */
		return -EBADMSG;
	*sub_id = wire_read_u16(&w);
	return wire_err(&w);
}

int dso_reconfirm_read(const struct dso_tlv *t, struct dso_reconfirm *r)
{
	struct wire w = wire_reader(t->data, t->len);

	memset(r, 0, sizeof(*r));
	if (t->type != DSO_TYPE_RECONFIRM || question_read(&w, &r->q))
		return -EBADMSG;
	/* RFC 8765 §6.5.1: one record, no RDLEN (the rest is RDATA), no ANY */
	if (r->q.qtype == DSO_TYPE_ANY || r->q.qclass == DSO_CLASS_ANY)
		return -EBADMSG;
	r->rdlen = (uint16_t)wire_avail(&w);
	r->rdata = wire_read_ref(&w, r->rdlen);
	return wire_err(&w) ? -EBADMSG : 0;
}

static void header_write(struct wire *w, uint16_t id, bool qr, uint8_t rcode)
{
	wire_write_u16(w, id);
	wire_write_u16(w, (uint16_t)((qr ? FLAG_QR : 0) | DSO_OPCODE << OPCODE_SHIFT | (rcode & RCODE_MASK)));
	wire_write_zero(w, 8);	/* §5.4: QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT zero */
}

static int finish(struct wire *w, size_t *outlen)
{
	if (wire_err(w))
		return -ENOSPC;
	*outlen = wire_offset(w);
	return 0;
}

int dso_build_response(uint8_t *buf, size_t cap, uint16_t id, uint8_t rcode, uint32_t retry_delay_ms,
		       size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	header_write(&w, id, true, rcode);
	if (retry_delay_ms) {
		wire_write_u16(&w, DSO_TYPE_RETRY_DELAY);
		wire_write_u16(&w, 4);
		wire_write_u32(&w, retry_delay_ms);
	}
	return finish(&w, outlen);
}

int dso_build_keepalive_response(uint8_t *buf, size_t cap, uint16_t id, const struct dso_keepalive *k,
				 size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	header_write(&w, id, true, 0);
	wire_write_u16(&w, DSO_TYPE_KEEPALIVE);
	wire_write_u16(&w, 8);
	wire_write_u32(&w, k->inactivity_ms);
	wire_write_u32(&w, k->keepalive_ms);
	return finish(&w, outlen);
}

int dso_build_retry_delay(uint8_t *buf, size_t cap, uint8_t rcode, uint32_t delay_ms, size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	/* §7.2.1: unidirectional, message id 0, RCODE gives the reason */
	header_write(&w, 0, false, rcode);
	wire_write_u16(&w, DSO_TYPE_RETRY_DELAY);
	wire_write_u16(&w, 4);
	wire_write_u32(&w, delay_ms);
	return finish(&w, outlen);
}

int dso_build_request(uint8_t *buf, size_t cap, uint16_t id, uint16_t type, const void *data, uint16_t len,
		      size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	header_write(&w, id, false, 0);
	wire_write_u16(&w, type);
	wire_write_u16(&w, len);
	wire_write_bytes(&w, data, len);
	return finish(&w, outlen);
}

int dso_build_keepalive_request(uint8_t *buf, size_t cap, uint16_t id, const struct dso_keepalive *k,
				size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	if (id == 0)
		return -EINVAL;	/* RFC 8490 §7.1.1: a request, so a non-zero id */
	header_write(&w, id, false, 0);
	wire_write_u16(&w, DSO_TYPE_KEEPALIVE);
	wire_write_u16(&w, 8);
	wire_write_u32(&w, k->inactivity_ms);
	wire_write_u32(&w, k->keepalive_ms);
	return finish(&w, outlen);
}

int dso_build_subscribe(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name, size_t name_len,
			uint16_t qtype, uint16_t qclass, size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	if (id == 0 || name_len == 0 || name_len > DSO_NAME_MAX)
		return -EINVAL;
	header_write(&w, id, false, 0);
	wire_write_u16(&w, DSO_TYPE_SUBSCRIBE);
	wire_write_u16(&w, (uint16_t)(name_len + 4));
	wire_write_bytes(&w, name, name_len);
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, qclass);
	return finish(&w, outlen);
}

int dso_build_unsubscribe(uint8_t *buf, size_t cap, uint16_t sub_id, size_t *outlen)
{
	struct wire w = wire_writer(buf, cap);

	header_write(&w, 0, false, 0);	/* RFC 8765 §6.4.1: unidirectional */
	wire_write_u16(&w, DSO_TYPE_UNSUBSCRIBE);
	wire_write_u16(&w, 2);
	wire_write_u16(&w, sub_id);
	return finish(&w, outlen);
}

int dso_push_next(const struct dso_tlv *t, size_t *off, struct dso_change *c)
{
	struct wire w;
	size_t n;

	memset(c, 0, sizeof(*c));
	if (t->type != DSO_TYPE_PUSH || *off > t->len)
		return -EBADMSG;
	if (*off == t->len)
		return 0;
	w = wire_reader(t->data + *off, t->len - *off);
	n = dso_name_read(&w, c->name);
	c->name_len = (uint8_t)n;
	c->type = wire_read_u16(&w);
	c->rclass = wire_read_u16(&w);
	c->ttl = wire_read_u32(&w);
	c->rdlen = wire_read_u16(&w);
	c->rdata = wire_read_ref(&w, c->rdlen);
	if (n == 0 || wire_err(&w))
		return -EBADMSG;
	/* §6.3.1: ANY and an empty RDATA only in a collective removal; TTLs
	 * 0x80000000..0xFFFFFFFD are not defined */
	if (c->ttl == DSO_TTL_REMOVE_ALL) {
		if (c->rdlen)
			return -EBADMSG;
	} else if ((c->ttl > 0x7FFFFFFFu && c->ttl != DSO_TTL_REMOVE) || c->type == DSO_TYPE_ANY ||
		   c->rclass == DSO_CLASS_ANY) {
		return -EBADMSG;
	}
	*off += wire_offset(&w);
	return 1;
}

int dso_push_begin(struct dso_push *p, uint8_t *buf, size_t cap)
{
	p->w = wire_writer(buf, cap < DSO_PUSH_MAX ? cap : DSO_PUSH_MAX);
	p->count = 0;
	header_write(&p->w, 0, false, 0);	/* RFC 8765 §6.3.1: unidirectional, id 0 */
	wire_write_u16(&p->w, DSO_TYPE_PUSH);
	p->len_off = wire_reserve(&p->w, 2);
	return wire_err(&p->w) ? -ENOSPC : 0;
}

int dso_push_add(struct dso_push *p, const uint8_t *name, size_t name_len, uint16_t type, uint16_t rclass,
		 uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	size_t need = name_len + 10u + rdlen;

	if (name_len == 0 || name_len > DSO_NAME_MAX)
		return -EINVAL;
	/* §6.3.1: ANY only in a collective removal, which has no RDATA; TTLs
	 * between 0x80000000 and 0xFFFFFFFD mean nothing */
	if (ttl == DSO_TTL_REMOVE_ALL) {
		if (rdlen)
			return -EINVAL;
		if (rclass == DSO_CLASS_ANY)
			type = 0;	/* "TYPE MUST be set to zero on transmission" */
	} else if ((ttl > 0x7FFFFFFFu && ttl != DSO_TTL_REMOVE) || type == DSO_TYPE_ANY ||
		   rclass == DSO_CLASS_ANY) {
		return -EINVAL;
	}
	if (wire_err(&p->w))
		return -ENOSPC;
	if (need > wire_avail(&p->w))
		return -ENOSPC;
	wire_write_bytes(&p->w, name, name_len);
	wire_write_u16(&p->w, type);
	wire_write_u16(&p->w, rclass);
	wire_write_u32(&p->w, ttl);
	wire_write_u16(&p->w, rdlen);
	wire_write_bytes(&p->w, rdata, rdlen);
	if (wire_err(&p->w))
		return -ENOSPC;
	p->count++;
	return 0;
}

int dso_push_finish(struct dso_push *p, size_t *outlen)
{
	size_t len = wire_offset(&p->w);

	if (wire_err(&p->w))
		return -ENOSPC;
	if (p->count == 0)
		return -ENODATA;	/* §6.3.1: at least one change notification */
	wire_patch_u16(&p->w, p->len_off, (uint16_t)(len - p->len_off - 2));
	*outlen = len;
	return wire_err(&p->w) ? -ENOSPC : 0;
}
