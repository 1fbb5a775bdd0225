/* lib/dns/edns.c: EDNS(0) options: iteration, LLQ (RFC 8764), Update Lease (RFC 9664). */
#include <errno.h>

#include "dns/edns.h"

void dns_edns_iter_init(struct dns_edns_iter *it, const struct dns_msg *m)
{
	/*
	 * An empty cursor over a real (empty) array: wire_reader(NULL, 0)
	 * computes NULL + 0, undefined behaviour that clang's UBSan reports
	 * (found by the dns_msg fuzz target).
	 */
	static const uint8_t no_options[1];

	if (!m->edns.present) {
		it->w = wire_reader(no_options, 0);
		return;
	}
	it->w = wire_reader(m->buf, m->len);
	wire_seek(&it->w, m->edns.opts);
	it->w = wire_sub(&it->w, m->edns.opts_len);
}

int dns_edns_iter_next(struct dns_edns_iter *it, uint16_t *code, struct wire *data)
{
	uint16_t len;

	if (wire_err(&it->w))
		return -EBADMSG;
	if (wire_avail(&it->w) == 0)
		return 0;
	*code = wire_read_u16(&it->w);
	len = wire_read_u16(&it->w);
	*data = wire_sub(&it->w, len);
	return wire_err(&it->w) ? -EBADMSG : 1;
}

int dns_edns_find(const struct dns_msg *m, uint16_t code, struct wire *data)
{
	struct dns_edns_iter it;
	uint16_t c;
	int r;

	dns_edns_iter_init(&it, m);
	while ((r = dns_edns_iter_next(&it, &c, data)) == 1)
		if (c == code)
			return 0;
	return r < 0 ? r : -ENOENT;
}

int dns_llq_parse(struct wire *data, struct dns_llq *out)
{
	/* RFC 8764 §3.2: the option data is exactly 18 bytes */
	if (wire_err(data) || wire_avail(data) != DNS_EDNS_LLQ_LEN)
		return -EBADMSG;
	out->version = wire_read_u16(data);
	out->opcode = wire_read_u16(data);
	out->error = wire_read_u16(data);
	out->id = wire_read_u64(data);
	out->lease = wire_read_u32(data);
	return wire_err(data) ? -EBADMSG : 0;
}

void dns_llq_encode(const struct dns_llq *llq, uint8_t out[static DNS_EDNS_LLQ_LEN])
{
	struct wire w = wire_writer(out, DNS_EDNS_LLQ_LEN);

	wire_write_u16(&w, llq->version);
	wire_write_u16(&w, llq->opcode);
	wire_write_u16(&w, llq->error);
	wire_write_u64(&w, llq->id);
	wire_write_u32(&w, llq->lease);
}

int dns_lease_parse(struct wire *data, struct dns_lease *out)
{
	size_t n = wire_avail(data);

	/* RFC 9664 §4: 4 bytes (LEASE) or 8 (LEASE, KEY-LEASE), nothing else */
	if (wire_err(data) || (n != 4 && n != 8))
		return -EBADMSG;
	out->lease = wire_read_u32(data);
	out->has_key_lease = n == 8;
	out->key_lease = out->has_key_lease ? wire_read_u32(data) : 0;
	return wire_err(data) ? -EBADMSG : 0;
}

size_t dns_lease_encode(const struct dns_lease *lease, uint8_t out[static 8])
{
	struct wire w = wire_writer(out, 8);

	wire_write_u32(&w, lease->lease);
	if (lease->has_key_lease)
		wire_write_u32(&w, lease->key_lease);
	return wire_offset(&w);
}

int dns_builder_add_llq(struct dns_builder *b, const struct dns_llq *llq)
{
	uint8_t d[DNS_EDNS_LLQ_LEN];

	dns_llq_encode(llq, d);
	return dns_builder_edns_option(b, DNS_EDNS_OPT_LLQ, d, sizeof(d));
}

int dns_builder_add_lease(struct dns_builder *b, const struct dns_lease *lease)
{
	uint8_t d[8];
	size_t n = dns_lease_encode(lease, d);

	return dns_builder_edns_option(b, DNS_EDNS_OPT_UL, d, (uint16_t)n);
}
