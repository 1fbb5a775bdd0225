#include <errno.h>

#include "autotunnel-gwd/rsip_path.h"
#include "wire/wire.h"

#define IP_MF 0x2000u
#define IP_OFFMASK 0x1fffu
#define IP_TTL_OFF 8		/* RFC 791 §3.1: offsets in the IPv4 header */
#define IP_CSUM_OFF 10
#define UDP_CSUM_OFF 6		/* RFC 768: offset in the UDP header */
#define IKE_PORT 500

/*
 * Packets are read and written through cursors over the whole buffer; a
 * header inside it is found by its offset (@p base below), never by
 * pointer arithmetic.
 */

/* The IPv4 header at the cursor, whose packet runs to the cursor's end. */
static int ip_read(struct wire r, struct gwd_rsip_ip *ip)
{
	size_t len = wire_avail(&r);
	uint8_t vhl = wire_read_u8(&r);

	ip->hlen = (uint8_t)((vhl & 0x0f) * 4);
	ip->tos = wire_read_u8(&r);
	ip->total = wire_read_u16(&r);
	ip->id = wire_read_u16(&r);
	ip->frag = wire_read_u16(&r);
	ip->ttl = wire_read_u8(&r);
	ip->proto = wire_read_u8(&r);
	wire_skip(&r, 2);	/* checksum: the kernel checked it on receive, and sets it on send */
	ip->src = wire_read_u32(&r);
	ip->dst = wire_read_u32(&r);
	if (wire_err(&r) || (vhl >> 4) != 4 || ip->hlen < GWD_RSIP_IP_HDR || ip->hlen > len ||
	    ip->total != len)
		return -EBADMSG;
	return 0;
}

int gwd_rsip_ip_parse(const uint8_t *pkt, size_t len, struct gwd_rsip_ip *ip)
{
	return ip_read(wire_reader(pkt, len), ip);
}

/* A cursor over @p pkt (@p len bytes) at offset @p base. */
static struct wire reader_at(const uint8_t *pkt, size_t len, size_t base)
{
	struct wire r = wire_reader(pkt, len);

	wire_seek(&r, base);
	return r;
}

/* Add the next @p n bytes of @p r to the one's complement sum @p sum. */
static uint32_t csum_read(uint32_t sum, struct wire *r, size_t n)
{
	struct wire b = wire_sub(r, n);

	while (wire_avail(&b) >= 2) {
		sum += wire_read_u16(&b);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (wire_avail(&b))
		sum += (uint32_t)wire_read_u8(&b) << 8;	/* RFC 1071: pad the odd byte with zero */
	return sum;
}

uint32_t gwd_rsip_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	struct wire r = wire_reader(p, len);

	return csum_read(sum, &r, len);
}

uint16_t gwd_rsip_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * The header checksum of the @p hlen-byte header at offset @p base of
 * @p pkt, its own field counted as zero.
 */
static uint16_t ip_csum(const uint8_t *pkt, size_t len, size_t base, size_t hlen)
{
	struct wire r = reader_at(pkt, len, base);
	uint32_t sum = csum_read(0, &r, IP_CSUM_OFF);

	wire_skip(&r, 2);
	sum = csum_read(sum, &r, hlen - IP_CSUM_OFF - 2);
	return (uint16_t)~gwd_rsip_csum_fold(sum);
}

/*
 * Forward the packet whose header @p ip is at offset @p base of @p pkt:
 * decrement its TTL and update its header checksum. -ETIME if the TTL
 * runs out (RFC 1812 §5.3.1: a router does not forward a packet whose TTL
 * reaches 0).
 */
static int forward(uint8_t *pkt, size_t len, size_t base, const struct gwd_rsip_ip *ip)
{
	struct wire w = wire_writer(pkt, len);

	if (ip->ttl <= 1)
		return -ETIME;
	wire_seek(&w, base + IP_TTL_OFF);
	wire_write_u8(&w, (uint8_t)(ip->ttl - 1));
	/* recompute rather than adjust (RFC 1624): the header is at most 60 bytes */
	wire_seek(&w, base + IP_CSUM_OFF);
	wire_write_u16(&w, ip_csum(pkt, len, base, ip->hlen));
	return wire_err(&w) ? -EBADMSG : 0;
}

int gwd_rsip_build_udp(uint8_t *pkt, size_t cap, size_t payload_len, uint32_t src, uint16_t sport,
		       uint32_t dst, uint16_t dport, uint8_t ttl, uint8_t tos)
{
	size_t total = GWD_RSIP_IP_HDR + GWD_RSIP_UDP_HDR + payload_len;
	struct wire w = wire_writer(pkt, cap), r;
	uint8_t pseudo[12];
	struct wire p = wire_writer(pseudo, sizeof(pseudo));
	uint32_t sum;
	uint16_t ck;

	if (total > GWD_RSIP_INNER_MAX || total > cap)
		return -EMSGSIZE;
	wire_write_u8(&w, 0x45);
	wire_write_u8(&w, tos);
	wire_write_u16(&w, (uint16_t)total);
	wire_write_u16(&w, 0);		/* ID: the packet was whole when it arrived */
	wire_write_u16(&w, 0);
	wire_write_u8(&w, ttl);
	wire_write_u8(&w, GWD_RSIP_IPPROTO_UDP);
	wire_write_u16(&w, 0);
	wire_write_u32(&w, src);
	wire_write_u32(&w, dst);
	wire_write_u16(&w, sport);
	wire_write_u16(&w, dport);
	wire_write_u16(&w, (uint16_t)(total - GWD_RSIP_IP_HDR));
	wire_write_u16(&w, 0);
	if (wire_err(&w))
		return -EMSGSIZE;
	wire_patch_u16(&w, IP_CSUM_OFF, ip_csum(pkt, total, 0, GWD_RSIP_IP_HDR));

	/* RFC 768: the checksum covers a pseudo header, the UDP header and the data */
	wire_write_u32(&p, src);
	wire_write_u32(&p, dst);
	wire_write_u8(&p, 0);
	wire_write_u8(&p, GWD_RSIP_IPPROTO_UDP);
	wire_write_u16(&p, (uint16_t)(total - GWD_RSIP_IP_HDR));
	sum = gwd_rsip_csum_add(0, pseudo, sizeof(pseudo));
	r = reader_at(pkt, total, GWD_RSIP_IP_HDR);
	sum = csum_read(sum, &r, total - GWD_RSIP_IP_HDR);
	ck = (uint16_t)~gwd_rsip_csum_fold(sum);
	/* RFC 768: a computed 0 is sent as all ones */
	wire_patch_u16(&w, GWD_RSIP_IP_HDR + UDP_CSUM_OFF, ck ? ck : 0xffff);
	return wire_err(&w) ? -EMSGSIZE : (int)total;
}

/* The SPI of the ESP (RFC 4303 §2) or AH (RFC 4302 §2) header at the cursor. */
static int read_spi(struct wire r, uint8_t proto, uint32_t *spi)
{
	if (proto == GWD_RSIP_IPPROTO_AH)
		wire_skip(&r, 4);	/* next header, payload length, reserved */
	*spi = wire_read_u32(&r);
	wire_skip(&r, 4);		/* the sequence number: both headers have one */
	return wire_err(&r) ? -EBADMSG : 0;
}

struct udp {
	uint16_t sport, dport;
	uint64_t ike_spi_i;	/* the first 8 bytes of an IKE header, if the payload holds one */
	bool ike;
};

/* The UDP header at the cursor, whose datagram runs to the cursor's end. */
static int read_udp(struct wire r, struct udp *u)
{
	size_t len = wire_avail(&r);
	uint16_t ulen;

	u->sport = wire_read_u16(&r);
	u->dport = wire_read_u16(&r);
	ulen = wire_read_u16(&r);
	wire_skip(&r, 2);
	if (wire_err(&r) || ulen != len)
		return -EBADMSG;
	/* RFC 3104 §4: the initiator cookie (IKEv2: initiator SPI) is in the clear */
	u->ike = wire_avail(&r) >= GWD_RSIP_IKE_HDR;
	u->ike_spi_i = u->ike ? wire_read_u64(&r) : 0;
	return 0;
}

/* A fragment cannot be demultiplexed: only the first carries the ports or the SPI. */
static bool fragment(const struct gwd_rsip_ip *ip)
{
	return (ip->frag & (IP_MF | IP_OFFMASK)) != 0;
}

int gwd_rsip_inbound(struct rsip_server *s, struct gwd_rsip_counters *c, uint8_t *pkt, size_t len,
		     uint64_t now, struct rsip_dest *d)
{
	struct gwd_rsip_ip ip;
	struct udp u;
	uint32_t spi;
	int rc;

	rc = gwd_rsip_ip_parse(pkt, len, &ip);
	if (rc == 0 && ip.proto != GWD_RSIP_IPPROTO_ESP && ip.proto != GWD_RSIP_IPPROTO_AH &&
	    ip.proto != GWD_RSIP_IPPROTO_UDP)
		return -EPROTONOSUPPORT;	/* not RSIP's: the sockets never hand one over */
	c->in++;
	if (rc || fragment(&ip) || len > GWD_RSIP_INNER_MAX)
		goto malformed;
	switch (ip.proto) {
	case GWD_RSIP_IPPROTO_ESP:
	case GWD_RSIP_IPPROTO_AH:
		if (read_spi(reader_at(pkt, len, ip.hlen), ip.proto, &spi))
			goto malformed;
		/* RFC 3104 §5: (protocol, SPI, destination address) */
		rc = rsip_demux_esp(s, ip.dst, ip.proto, spi, now, d);
		break;
	case GWD_RSIP_IPPROTO_UDP:
		if (read_udp(reader_at(pkt, len, ip.hlen), &u) || (u.dport == IKE_PORT && !u.ike))
			goto malformed;
		/* RFC 3104 §4, §6.1: (destination port, initiator cookie, destination address) */
		rc = rsip_demux_ike(s, ip.dst, u.dport, u.ike_spi_i, ip.src, now, d);
		break;
	default:
		goto malformed;	/* not reached: checked above */
	}
	if (rc) {
		/* RFC 3104 §5: no mapping, the packet MUST be discarded */
		c->in_no_binding++;
		return -ENOENT;
	}
	if (forward(pkt, len, 0, &ip)) {
		c->in_ttl++;
		return -ETIME;
	}
	c->in_tunnelled++;
	return 0;
malformed:
	c->in_malformed++;
	return -EBADMSG;
}

/* Addresses a packet from Nb must never go to (RFC 1812 §5.3.7, §4.2.2.11). */
static bool bad_destination(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14;	/* 0/8, 127/8, 224/4, 240/4 */
}

int gwd_rsip_outbound(struct rsip_server *s, struct gwd_rsip_counters *c, uint8_t *pkt, size_t len,
		      uint64_t now, size_t *off, size_t *inner_len, uint32_t *dst)
{
	struct gwd_rsip_ip outer, ip;
	size_t base;
	struct udp u;
	uint32_t spi;
	int rc;

	c->out++;
	if (gwd_rsip_ip_parse(pkt, len, &outer) || outer.proto != GWD_RSIP_IPPROTO_IPIP)
		goto malformed;
	base = outer.hlen;	/* the inner packet runs from here to the end */
	if (ip_read(reader_at(pkt, len, base), &ip) || fragment(&ip) || bad_destination(ip.dst))
		goto malformed;
	switch (ip.proto) {
	case GWD_RSIP_IPPROTO_ESP:
	case GWD_RSIP_IPPROTO_AH:
		if (read_spi(reader_at(pkt, len, base + ip.hlen), ip.proto, &spi))
			goto malformed;
		rc = rsip_outbound_check(s, outer.src, ip.src, now);
		break;
	case GWD_RSIP_IPPROTO_UDP:
		if (read_udp(reader_at(pkt, len, base + ip.hlen), &u) || (u.sport == IKE_PORT && !u.ike))
			goto malformed;
		/*
		 * From port 500 the first packet with a new initiator SPI
		 * claims it (§6.1, trial and error); from any other port the
		 * port must be one the client holds.
		 */
		rc = rsip_outbound_ike(s, outer.src, ip.src, u.sport, ip.dst, u.ike_spi_i, now);
		break;
	default:
		/*
		 * TCP and the rest: the gateway does not carry the answers
		 * (only ESP, AH and UDP to lent ports come back in), so a
		 * half-working flow is refused here rather than started.
		 */
		rc = -EPERM;
		break;
	}
	if (rc == -EEXIST) {
		c->out_ike_collision++;
		return rc;
	}
	if (rc) {
		c->out_refused++;
		return rc;
	}
	if (forward(pkt, len, base, &ip)) {
		c->out_ttl++;
		return -ETIME;
	}
	*off = base;
	*inner_len = len - base;
	*dst = ip.dst;
	c->out_sent++;
	return 0;
malformed:
	c->out_malformed++;
	return -EBADMSG;
}
