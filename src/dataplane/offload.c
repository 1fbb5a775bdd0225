/* src/dataplane/offload.c: TSO segmentation and GRO merging for the TUN device. */
#include "dataplane/offload.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

#define PROTO_TCP 6
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

uint32_t dp_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	size_t i = 0;
	uint32_t folded;

	/* native-endian 32-bit words; the one's complement sum commutes with byte order */
	for (; i + 4 <= len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		acc += w;
	}
	if (i + 2 <= len) {
		uint16_t h;

		memcpy(&h, p + i, 2);
		acc += h;
		i += 2;
	}
	if (i < len) {
		uint16_t h = 0;

		memcpy(&h, p + i, 1);	/* the odd byte is the high byte of a big-endian word */
		acc += h;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	folded = (uint32_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = ((folded & 0xff) << 8) | (folded >> 8);
#endif
	return sum + folded;
}

uint16_t dp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int dp_vnet_parse(const uint8_t *p, size_t len, struct dp_vnet *v)
{
	struct wire r = wire_reader(p, len);
	uint8_t b[DP_VNET_HDR_LEN];

	wire_read_bytes(&r, b, sizeof(b));
	if (wire_err(&r))
		return -EBADMSG;
	/* virtio 1.0 little-endian fields (TUN's legacy header is native endian; x86 and arm64 are little) */
	v->flags = b[0];
	v->gso_type = b[1];
	v->hdr_len = (uint16_t)(b[2] | b[3] << 8);
	v->gso_size = (uint16_t)(b[4] | b[5] << 8);
	v->csum_start = (uint16_t)(b[6] | b[7] << 8);
	v->csum_offset = (uint16_t)(b[8] | b[9] << 8);
	return 0;
}

void dp_vnet_write(uint8_t *p, const struct dp_vnet *v)
{
	p[0] = v->flags;
	p[1] = v->gso_type;
	p[2] = (uint8_t)v->hdr_len, p[3] = (uint8_t)(v->hdr_len >> 8);
	p[4] = (uint8_t)v->gso_size, p[5] = (uint8_t)(v->gso_size >> 8);
	p[6] = (uint8_t)v->csum_start, p[7] = (uint8_t)(v->csum_start >> 8);
	p[8] = (uint8_t)v->csum_offset, p[9] = (uint8_t)(v->csum_offset >> 8);
}

/* Set a big-endian 16/32-bit field at @p off of a packet of @p len bytes, through the cursor. */
static void set16(uint8_t *p, size_t len, size_t off, uint16_t val)
{
	struct wire w = wire_writer(p, len);

	wire_seek(&w, off);
	wire_write_u16(&w, val);
}

static void set32(uint8_t *p, size_t len, size_t off, uint32_t val)
{
	struct wire w = wire_writer(p, len);

	wire_seek(&w, off);
	wire_write_u32(&w, val);
}

/* IP header length and family of @p pkt, checking that TCP follows; 0 if not. */
static size_t tcp_ip_header(const uint8_t *pkt, size_t len, uint8_t *family)
{
	struct wire r = wire_reader(pkt, len);
	uint8_t vihl = wire_peek_u8(&r);

	if ((vihl >> 4) == 4) {
		size_t ihl = (size_t)(vihl & 15) * 4;

		wire_skip(&r, 9);
		if (wire_read_u8(&r) != PROTO_TCP || ihl < 20 || wire_err(&r) || len < ihl)
			return 0;
		*family = 4;
		return ihl;
	}
	if ((vihl >> 4) == 6) {
		wire_skip(&r, 6);
		/* extension headers are not merged or cut: GSO from the stack has none here */
		if (wire_read_u8(&r) != PROTO_TCP || wire_err(&r) || len < 40)
			return 0;
		*family = 6;
		return 40;
	}
	return 0;
}

/* Sum of the TCP pseudo-header (RFC 793, RFC 8200 §8.1) for a TCP length of @p tcplen. */
static uint32_t pseudo_sum(const uint8_t *pkt, uint8_t family, size_t tcplen)
{
	uint8_t tail[4] = { 0, 0, 0, PROTO_TCP };
	uint32_t sum;

	if (family == 4)
		sum = dp_csum_add(0, pkt + 12, 8);
	else
		sum = dp_csum_add(0, pkt + 8, 32);
	sum = dp_csum_add(sum, tail, 4);
	return sum + (uint32_t)(tcplen >> 16) + (uint32_t)(tcplen & 0xffff);
}

static void ipv4_fix_header(uint8_t *p, size_t iphlen)
{
	set16(p, iphlen, 10, 0);
	set16(p, iphlen, 10, (uint16_t)~dp_csum_fold(dp_csum_add(0, p, iphlen)));
}

int dp_tso_init(struct dp_tso *t, const struct dp_vnet *v, const uint8_t *pkt, size_t len)
{
	uint8_t gso = v->gso_type & (uint8_t)~DP_VNET_GSO_ECN;
	struct wire r;
	size_t doff;

	memset(t, 0, sizeof(*t));
	t->pkt = pkt;
	t->len = len;
	t->v = *v;
	t->nseg = 1;
	if (len == 0)
		return -EBADMSG;
	if (gso == DP_VNET_GSO_NONE) {
		if ((v->flags & DP_VNET_F_NEEDS_CSUM) &&
		    ((size_t)v->csum_start + v->csum_offset + 2 > len))
			return -EBADMSG;
		return 0;
	}
	if (gso != DP_VNET_GSO_TCPV4 && gso != DP_VNET_GSO_TCPV6)
		return -EPROTONOSUPPORT;
	if (!(t->iphlen = tcp_ip_header(pkt, len, &t->family)))
		return -EPROTONOSUPPORT;
	r = wire_reader(pkt, len);
	wire_skip(&r, t->iphlen + 12);
	doff = (size_t)(wire_read_u8(&r) >> 4) * 4;
	if (wire_err(&r) || doff < 20 || t->iphlen + doff > len || v->gso_size == 0)
		return -EBADMSG;
	t->hlen = t->iphlen + doff;
	t->mss = v->gso_size;
	t->nseg = len == t->hlen ? 1 : (unsigned)((len - t->hlen + t->mss - 1) / t->mss);
	return 0;
}

size_t dp_tso_seg_len(const struct dp_tso *t, unsigned i)
{
	size_t payload;

	if (!t->hlen)
		return t->len;
	payload = t->len - t->hlen - (size_t)i * t->mss;
	return t->hlen + (payload < t->mss ? payload : t->mss);
}

void dp_tso_seg_write(const struct dp_tso *t, unsigned i, uint8_t *dst)
{
	size_t n = dp_tso_seg_len(t, i), off;
	struct wire r;
	uint32_t seq, sum;
	uint16_t ipid;
	uint8_t flags;

	if (!t->hlen) {
		memcpy(dst, t->pkt, t->len);
		if (t->v.flags & DP_VNET_F_NEEDS_CSUM) {
			/* the field holds the pseudo-header sum; fold in the rest (virtio spec 5.1.6.2) */
			off = (size_t)t->v.csum_start + t->v.csum_offset;
			sum = dp_csum_add(0, dst + t->v.csum_start, t->len - t->v.csum_start);
			set16(dst, n, off, (uint16_t)~dp_csum_fold(sum));
		}
		return;
	}
	memcpy(dst, t->pkt, t->hlen);
	memcpy(dst + t->hlen, t->pkt + t->hlen + (size_t)i * t->mss, n - t->hlen);

	r = wire_reader(t->pkt, t->len);
	wire_skip(&r, t->iphlen + 4);
	seq = wire_read_u32(&r) + (uint32_t)i * t->mss;
	wire_skip(&r, 5);
	flags = wire_read_u8(&r);
	if (i + 1 < t->nseg)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		flags &= (uint8_t)~TCP_CWR;
	set32(dst, n, t->iphlen + 4, seq);
	dst[t->iphlen + 13] = flags;

	if (t->family == 4) {
		r = wire_reader(t->pkt, t->len);
		wire_skip(&r, 4);
		ipid = wire_read_u16(&r);
		set16(dst, n, 2, (uint16_t)n);
		set16(dst, n, 4, (uint16_t)(ipid + i));
		ipv4_fix_header(dst, t->iphlen);
	} else {
		set16(dst, n, 4, (uint16_t)(n - 40));
	}
	set16(dst, n, t->iphlen + 16, 0);
	sum = pseudo_sum(dst, t->family, n - t->iphlen);
	sum = dp_csum_add(sum, dst + t->iphlen, n - t->iphlen);
	set16(dst, n, t->iphlen + 16, (uint16_t)~dp_csum_fold(sum));
}

/* The parts of a TCP/IP header that must match for two segments to merge. */
struct tcpinfo {
	size_t iphlen, hlen, payload;
	uint32_t seq, ack;
	uint8_t flags, family;
};

static bool tcp_info(const uint8_t *pkt, size_t len, struct tcpinfo *ti)
{
	struct wire r;
	size_t iplen, doff;

	if (!(ti->iphlen = tcp_ip_header(pkt, len, &ti->family)))
		return false;
	r = wire_reader(pkt, len);
	if (ti->family == 4) {
		wire_skip(&r, 2);
		iplen = wire_read_u16(&r);
		wire_skip(&r, 2);
		/* fragments and IP options are never merged */
		if ((wire_read_u16(&r) & 0x3fff) || ti->iphlen != 20)
			return false;
	} else {
		wire_skip(&r, 4);
		iplen = (size_t)wire_read_u16(&r) + 40;
	}
	if (wire_err(&r) || iplen != len)
		return false;
	r = wire_reader(pkt, len);
	wire_skip(&r, ti->iphlen + 4);
	ti->seq = wire_read_u32(&r);
	ti->ack = wire_read_u32(&r);
	doff = (size_t)(wire_read_u8(&r) >> 4) * 4;
	ti->flags = wire_read_u8(&r);
	if (wire_err(&r) || doff < 20 || ti->iphlen + doff > len)
		return false;
	ti->hlen = ti->iphlen + doff;
	ti->payload = len - ti->hlen;
	return true;
}

bool dp_gro_add(struct dp_gro *g, const uint8_t *pkt, size_t len)
{
	uint8_t *cur = g->buf + DP_VNET_HDR_LEN;
	struct tcpinfo ti;
	bool mergeable;

	mergeable = tcp_info(pkt, len, &ti) && ti.payload > 0 &&
		!(ti.flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR | TCP_ECE)) &&
		(ti.flags & TCP_ACK);
	if (g->len == 0) {
		if (len > DP_GRO_MAX)
			return false;
		memcpy(cur, pkt, len);
		g->len = len;
		g->nseg = 1;
		g->closed = !mergeable || (ti.flags & TCP_PSH);
		if (mergeable) {
			g->iphlen = ti.iphlen;
			g->hlen = ti.hlen;
			g->mss = (uint16_t)ti.payload;
			g->next_seq = ti.seq + (uint32_t)ti.payload;
			g->family = ti.family;
		}
		return true;
	}
	if (g->closed || !mergeable || ti.family != g->family || ti.hlen != g->hlen ||
	    ti.payload > g->mss || ti.seq != g->next_seq || g->len + ti.payload > DP_GRO_MAX)
		return false;
	/* same flow: addresses, ports, ack, window, options all equal; seq follows */
	if (ti.family == 4) {
		if (memcmp(cur + 12, pkt + 12, 8) || cur[1] != pkt[1] || cur[8] != pkt[8])
			return false;
	} else if (memcmp(cur, pkt, 4) || memcmp(cur + 7, pkt + 7, 33)) {
		return false;
	}
	if (memcmp(cur + g->iphlen, pkt + ti.iphlen, 4) ||		/* ports */
	    memcmp(cur + g->iphlen + 8, pkt + ti.iphlen + 8, 5) ||	/* ack, data offset */
	    memcmp(cur + g->iphlen + 14, pkt + ti.iphlen + 14, 2) ||	/* window */
	    memcmp(cur + g->iphlen + 20, pkt + ti.iphlen + 20, ti.hlen - ti.iphlen - 20))
		return false;
	memcpy(cur + g->len, pkt + ti.hlen, ti.payload);
	g->len += ti.payload;
	g->nseg++;
	g->next_seq += (uint32_t)ti.payload;
	if (ti.payload < g->mss || (ti.flags & TCP_PSH)) {
		cur[g->iphlen + 13] |= ti.flags & TCP_PSH;
		g->closed = true;
	}
	return true;
}

size_t dp_gro_finish(struct dp_gro *g)
{
	uint8_t *cur = g->buf + DP_VNET_HDR_LEN;
	struct dp_vnet v = { 0 };
	size_t n = g->len;

	if (n == 0)
		return 0;
	if (g->nseg > 1) {
		/* one super-packet: lengths of the whole, checksum left partial for the kernel */
		if (g->family == 4) {
			set16(cur, n, 2, (uint16_t)n);
			ipv4_fix_header(cur, g->iphlen);
		} else {
			set16(cur, n, 4, (uint16_t)(n - 40));
		}
		set16(cur, n, g->iphlen + 16, dp_csum_fold(pseudo_sum(cur, g->family, n - g->iphlen)));
		v.flags = DP_VNET_F_NEEDS_CSUM;
		v.gso_type = g->family == 4 ? DP_VNET_GSO_TCPV4 : DP_VNET_GSO_TCPV6;
		v.hdr_len = (uint16_t)g->hlen;
		v.gso_size = g->mss;
		v.csum_start = (uint16_t)g->iphlen;
		v.csum_offset = 16;
	}
	dp_vnet_write(g->buf, &v);
	g->len = 0;
	g->nseg = 0;
	g->closed = false;
	return n + DP_VNET_HDR_LEN;
}
