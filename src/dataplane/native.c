/* src/dataplane/native.c: native ESP and the RSIP tunnel, packet by packet (see native.h). */
#include "dataplane/native.h"

#include <errno.h>
#include <stdbool.h>

#include "wire/wire.h"

#define IP_MF 0x2000u
#define IP_OFFMASK 0x1fffu
#define ESP_SPI_SEQ 8		/* RFC 4303 §2: SPI and sequence number, the least an ESP packet has */

struct ip4 {
	size_t hlen, total;
	uint16_t frag;
	uint8_t proto;
	uint32_t src, dst;
};

uint32_t dp_native_csum(uint32_t sum, const uint8_t *p, size_t len)
{
	struct wire r = wire_reader(p, len);

	while (wire_avail(&r) >= 2) {
		sum += wire_read_u16(&r);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (wire_avail(&r))
		sum += (uint32_t)wire_read_u8(&r) << 8;	/* RFC 1071: the odd byte padded with zero */
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * An IPv4 header at the start of @p len bytes: version 4, header length
 * 20..60 within the bytes, Total Length covering at least the header and
 * at most @p len (a raw socket may give a few bytes more, never fewer).
 */
static int ip4_parse(const uint8_t *p, size_t len, struct ip4 *ip)
{
	struct wire r = wire_reader(p, len);
	uint8_t vhl = wire_read_u8(&r);

	wire_skip(&r, 1);
	ip->total = wire_read_u16(&r);
	wire_skip(&r, 2);
	ip->frag = wire_read_u16(&r);
	wire_skip(&r, 1);
	ip->proto = wire_read_u8(&r);
	wire_skip(&r, 2);
	ip->src = wire_read_u32(&r);
	ip->dst = wire_read_u32(&r);
	ip->hlen = (size_t)(vhl & 0x0f) * 4;
	if (wire_err(&r) || (vhl >> 4) != 4 || ip->hlen < DP_IP_HDR || ip->hlen > ip->total || ip->total > len)
		return -EBADMSG;
	return 0;
}

/* The inner packet @p p (@p len bytes): ESP or UDP to us, whole. */
static int inner_parse(const uint8_t *p, size_t len, size_t base, struct dp_native_in *in)
{
	struct ip4 ip;
	struct wire r;

	if (ip4_parse(p, len, &ip) || (ip.frag & (IP_MF | IP_OFFMASK)))
		return -EBADMSG;	/* a fragment carries no SPI or ports past the first: the sender must not send one */
	in->proto = ip.proto;
	in->src = ip.src;
	in->dst = ip.dst;
	in->off = base + ip.hlen;
	in->len = ip.total - ip.hlen;
	if (ip.proto == DP_IPPROTO_ESP)
		return in->len >= ESP_SPI_SEQ ? 0 : -EBADMSG;
	if (ip.proto != DP_IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	r = wire_reader(p + ip.hlen, in->len);
	in->sport = wire_read_u16(&r);
	in->dport = wire_read_u16(&r);
	if (wire_err(&r) || wire_read_u16(&r) != in->len || in->sport == 0 || in->dport == 0)
		return -EBADMSG;
	if (wire_read_u16(&r)) {
		/* RFC 768: verify the checksum when the sender computed one */
		uint8_t pseudo[12];
		struct wire w = wire_writer(pseudo, sizeof(pseudo));

		wire_write_u32(&w, ip.src);
		wire_write_u32(&w, ip.dst);
		wire_write_u8(&w, 0);
		wire_write_u8(&w, DP_IPPROTO_UDP);
		wire_write_u16(&w, (uint16_t)in->len);
		if (fold(dp_native_csum(dp_native_csum(0, pseudo, sizeof(pseudo)), p + ip.hlen, in->len)) != 0xffff)
			return -EBADMSG;
	}
	in->off += DP_UDP_HDR;
	in->len -= DP_UDP_HDR;
	return 0;
}

int dp_native_parse_ipip(const uint8_t *pkt, size_t len, struct dp_native_in *in)
{
	struct ip4 outer;

	*in = (struct dp_native_in){ 0 };
	if (ip4_parse(pkt, len, &outer) || outer.proto != DP_IPPROTO_IPIP)
		return -EBADMSG;
	in->outer_src = outer.src;
	return inner_parse(pkt + outer.hlen, outer.total - outer.hlen, outer.hlen, in);
}

int dp_native_parse_esp(const uint8_t *pkt, size_t len, struct dp_native_in *in)
{
	int ret;

	*in = (struct dp_native_in){ 0 };
	ret = inner_parse(pkt, len, 0, in);
	if (ret == 0 && in->proto != DP_IPPROTO_ESP)
		return -EBADMSG;
	return ret == -EPROTONOSUPPORT ? -EBADMSG : ret;
}

int dp_native_ip_hdr(uint8_t *pkt, size_t cap, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
		     size_t payload_len)
{
	size_t total = DP_IP_HDR + payload_len;
	struct wire w = wire_writer(pkt, cap);

	if (total > DP_IP_MAX || total > cap)
		return -EMSGSIZE;
	wire_write_u8(&w, 0x45);
	wire_write_u8(&w, 0);
	wire_write_u16(&w, (uint16_t)total);
	wire_write_u16(&w, id);
	wire_write_u16(&w, 0);		/* DF clear, not a fragment */
	wire_write_u8(&w, 64);
	wire_write_u8(&w, proto);
	wire_write_u16(&w, 0);
	wire_write_u32(&w, src);
	wire_write_u32(&w, dst);
	if (wire_err(&w))
		return -EMSGSIZE;
	wire_patch_u16(&w, 10, (uint16_t)~fold(dp_native_csum(0, pkt, DP_IP_HDR)));
	return (int)total;
}

int dp_native_udp(uint8_t *pkt, size_t cap, size_t payload_len, uint32_t src, uint16_t sport, uint32_t dst,
		  uint16_t dport, uint16_t id)
{
	size_t ulen = DP_UDP_HDR + payload_len;
	uint8_t pseudo[12];
	struct wire p = wire_writer(pseudo, sizeof(pseudo)), w;
	uint16_t ck;
	int total = dp_native_ip_hdr(pkt, cap, DP_IPPROTO_UDP, src, dst, id, ulen);

	if (total < 0)
		return total;
	w = wire_writer(pkt + DP_IP_HDR, DP_UDP_HDR);
	wire_write_u16(&w, sport);
	wire_write_u16(&w, dport);
	wire_write_u16(&w, (uint16_t)ulen);
	wire_write_u16(&w, 0);
	wire_write_u32(&p, src);
	wire_write_u32(&p, dst);
	wire_write_u8(&p, 0);
	wire_write_u8(&p, DP_IPPROTO_UDP);
	wire_write_u16(&p, (uint16_t)ulen);
	ck = (uint16_t)~fold(dp_native_csum(dp_native_csum(0, pseudo, sizeof(pseudo)), pkt + DP_IP_HDR, ulen));
	wire_patch_u16(&w, 6, ck ? ck : 0xffff);	/* RFC 768: a computed 0 is sent as all ones */
	return wire_err(&w) || wire_err(&p) ? -EMSGSIZE : total;
}
