/*
 * The gateway's RSIP data path, packet by packet (src/autotunnel-gwd/
 * rsip_path.c), against the real lib/rsip server with two clients X1 and
 * X2 sharing Nb (RFC 3104 Appendix F's SOHO scenario): ESP and AH
 * demultiplexed by SPI (§5), IKE by port and by initiator SPI on 500 (§4,
 * §6.1), unknown SPIs discarded and counted, the client's IP-in-IP packets
 * checked against its bindings, forwarding rules (TTL, checksum), and
 * every malformed form refused. Fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-gwd/rsip_path.h"
#include "autotunnel-gwd/rsip_status.h"
#include "rsip/client.h"
#include "rsip/server.h"
#include "wire/wire.h"

#define NB 0xcb00710aU	/* 203.0.113.10 */
#define NA 0xc0a80101U	/* 192.168.1.1 */
#define Y 0xc6336407U	/* 198.51.100.7 */
#define X3 0xc0a80109U	/* a LAN host with no binding */
#define SEC 1000ULL

static const struct rsip_peer X1 = { 0xc0a80102U, 40001 };
static const struct rsip_peer X2 = { 0xc0a80103U, 40002 };

struct t {
	struct rsip_server s;
	struct gwd_rsip_counters c;
	uint64_t now;
	uint32_t spi1, spi2;	/* one SPI each */
	uint16_t port1, port2;	/* one IKE port each */
	uint8_t pkt[2048];
};

/* ---- packet builders (test side) ---- */

static uint16_t hdr_csum(const uint8_t *h, size_t hlen)
{
	uint32_t s = gwd_rsip_csum_add(0, h, hlen);

	return (uint16_t)~gwd_rsip_csum_fold(s);
}

/* an IPv4 header of @p total bytes at @p p */
static void put_ip(uint8_t *p, uint16_t total, uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst,
		   uint16_t frag)
{
	struct wire w = wire_writer(p, 20);

	wire_write_u8(&w, 0x45);
	wire_write_u8(&w, 0);
	wire_write_u16(&w, total);
	wire_write_u16(&w, 0x1234);
	wire_write_u16(&w, frag);
	wire_write_u8(&w, ttl);
	wire_write_u8(&w, proto);
	wire_write_u16(&w, 0);
	wire_write_u32(&w, src);
	wire_write_u32(&w, dst);
	assert_int_equal(wire_err(&w), 0);
	wire_patch_u16(&w, 10, hdr_csum(p, 20));
}

/* ESP (or AH) from @p src to @p dst with @p spi and @p extra payload bytes */
static size_t esp(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, uint32_t spi, size_t extra)
{
	size_t l4 = (proto == 51 ? 12 : 8) + extra;
	struct wire w = wire_writer(p + 20, l4);

	if (proto == 51) {
		wire_write_u8(&w, 50);
		wire_write_u8(&w, 1);
		wire_write_u16(&w, 0);
	}
	wire_write_u32(&w, spi);
	wire_write_u32(&w, 7);	/* sequence */
	wire_write_zero(&w, extra);
	put_ip(p, (uint16_t)(20 + l4), 64, proto, src, dst, 0);
	return 20 + l4;
}

/* UDP from @p src:@p sport to @p dst:@p dport carrying an IKE header with @p spi_i (or @p plen bytes) */
static size_t udp(uint8_t *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint64_t spi_i,
		  size_t plen)
{
	struct wire w = wire_writer(p + 20, 8 + plen);

	wire_write_u16(&w, sport);
	wire_write_u16(&w, dport);
	wire_write_u16(&w, (uint16_t)(8 + plen));
	wire_write_u16(&w, 0);
	if (plen >= 8)
		wire_write_u64(&w, spi_i);
	wire_write_zero(&w, plen >= 8 ? plen - 8 : plen);
	assert_int_equal(wire_err(&w), 0);
	put_ip(p, (uint16_t)(28 + plen), 64, 17, src, dst, 0);
	return 28 + plen;
}

/* wrap the @p n bytes at @p p + 20 in an IP-in-IP header from @p client to Na */
static size_t ipip(uint8_t *p, uint32_t client, size_t n)
{
	put_ip(p, (uint16_t)(20 + n), 64, 4, client, NA, 0);
	return 20 + n;
}

static uint8_t ttl_of(const uint8_t *p) { return p[8]; }

/* ---- server set-up through the real protocol ---- */

static void carry(struct t *t, struct rsip_client *c, const struct rsip_peer *p, const uint8_t *req,
		  size_t n, struct rsip_client_event *ev)
{
	uint8_t resp[2048];
	size_t rn;

	assert_int_equal(rsip_server_handle(&t->s, p, req, n, t->now, resp, sizeof(resp), &rn), 0);
	assert_int_equal(rsip_client_on_message(c, resp, rn, t->now, ev), 0);
}

/* register @p p and take one SPI and one port towards Y; returns the binding through @p spi/@p port */
static void client(struct t *t, const struct rsip_peer *p, uint32_t *spi, uint16_t *port)
{
	struct rsip_client c;
	struct rsip_client_event ev;
	struct rsip_ipsec_request r = { .remote = Y, .n_spis = 1, .n_ports = 1, .lease = 60 };
	uint8_t req[1024];
	size_t n;

	rsip_client_init(&c, 1);
	assert_int_equal(rsip_client_register(&c, req, sizeof(req), &n), 0);
	carry(t, &c, p, req, n, &ev);
	assert_int_equal(ev.kind, RSIP_EV_REGISTERED);
	assert_int_equal(rsip_client_assign_rsipsec(&c, &r, req, sizeof(req), &n), 0);
	carry(t, &c, p, req, n, &ev);
	assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
	assert_int_equal(ev.bind->local_addr, NB);
	*spi = ev.bind->spis[0];
	*port = ev.bind->ports[0];
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct rsip_server_config cfg;

	rsip_server_config_default(&cfg, NB);
	cfg.tunnel_endpoint = NA;
	cfg.seed = 42;
	assert_int_equal(rsip_server_init(&t->s, &cfg), 0);
	t->now = 100 * SEC;
	client(t, &X1, &t->spi1, &t->port1);
	client(t, &X2, &t->spi2, &t->port2);
	assert_int_not_equal(t->spi1, t->spi2);
	assert_int_not_equal(t->port1, t->port2);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	rsip_server_fini(&t->s);
	free(t);
	return 0;
}

/* gwd_rsip_outbound() on the @p n bytes in t->pkt at t->now, where only the verdict matters. */
static int outbound(struct t *t, size_t n)
{
	size_t off, len;
	uint32_t dst;

	return gwd_rsip_outbound(&t->s, &t->c, t->pkt, n, t->now, &off, &len, &dst);
}

/* ---- the pieces ---- */

static void ip_header(void **state)
{
	uint8_t p[64];
	struct gwd_rsip_ip ip;

	put_ip(p, 24, 9, 50, 0x01020304, 0x05060708, 0x4000);
	assert_int_equal(gwd_rsip_ip_parse(p, 24, &ip), 0);
	assert_int_equal(ip.hlen, 20);
	assert_int_equal(ip.total, 24);
	assert_int_equal(ip.ttl, 9);
	assert_int_equal(ip.proto, 50);
	assert_int_equal(ip.frag, 0x4000);
	assert_int_equal(ip.src, 0x01020304);
	assert_int_equal(ip.dst, 0x05060708);
	/* Total Length must be the bytes at hand, one more or one less is refused */
	assert_int_equal(gwd_rsip_ip_parse(p, 23, &ip), -EBADMSG);
	assert_int_equal(gwd_rsip_ip_parse(p, 25, &ip), -EBADMSG);
	/* a header cut short */
	put_ip(p, 19, 9, 50, 1, 2, 0);
	assert_int_equal(gwd_rsip_ip_parse(p, 19, &ip), -EBADMSG);
	/* IHL 5..15 and within the packet; version 4 */
	put_ip(p, 24, 9, 50, 1, 2, 0);
	p[0] = 0x44;
	assert_int_equal(gwd_rsip_ip_parse(p, 24, &ip), -EBADMSG);
	p[0] = 0x46;
	assert_int_equal(gwd_rsip_ip_parse(p, 24, &ip), 0);
	assert_int_equal(ip.hlen, 24);
	p[0] = 0x47;
	assert_int_equal(gwd_rsip_ip_parse(p, 24, &ip), -EBADMSG);
	p[0] = 0x65;
	assert_int_equal(gwd_rsip_ip_parse(p, 24, &ip), -EBADMSG);
	assert_int_equal(gwd_rsip_ip_parse(NULL, 0, &ip), -EBADMSG);
}

static void checksum(void **state)
{
	/* RFC 1071 §3: the example bytes sum to 0xddf2 */
	static const uint8_t ex[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* a real header (checksum field 0xb861) sums to all ones */
	static const uint8_t hdr[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	static const uint8_t odd[] = { 0x01, 0x02, 0x03 };

	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, ex, sizeof(ex))), 0xddf2);
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, hdr, sizeof(hdr))), 0xffff);
	/* an odd byte is padded with zero: 0x0102 + 0x0300 */
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, odd, sizeof(odd))), 0x0402);
	/* carries fold back in */
	assert_int_equal(gwd_rsip_csum_fold(0x1fffe), 0xffff);
}

static void build_udp(void **state)
{
	uint8_t p[128];
	struct gwd_rsip_ip ip;
	uint8_t pseudo[12] = { 0xc6, 0x33, 0x64, 0x07, 0xcb, 0x00, 0x71, 0x0a, 0, 17, 0, 13 };
	int n;

	memcpy(p + 28, "hello", 5);
	n = gwd_rsip_build_udp(p, sizeof(p), 5, Y, 500, NB, 40001, 61, 0x10);
	assert_int_equal(n, 33);
	assert_int_equal(gwd_rsip_ip_parse(p, 33, &ip), 0);
	assert_int_equal(ip.src, Y);
	assert_int_equal(ip.dst, NB);
	assert_int_equal(ip.ttl, 61);
	assert_int_equal(ip.tos, 0x10);
	assert_int_equal(ip.proto, 17);
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, p, 20)), 0xffff);
	assert_int_equal(p[20] << 8 | p[21], 500);
	assert_int_equal(p[22] << 8 | p[23], 40001);
	assert_int_equal(p[24] << 8 | p[25], 13);
	assert_memory_equal(p + 28, "hello", 5);
	/* RFC 768: pseudo header + UDP header + data sum to all ones */
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(gwd_rsip_csum_add(0, pseudo, 12), p + 20, 13)),
			 0xffff);
	/* too small a buffer; too large a packet for a tunnel */
	assert_int_equal(gwd_rsip_build_udp(p, 32, 5, Y, 500, NB, 1, 64, 0), -EMSGSIZE);
	assert_int_equal(gwd_rsip_build_udp(p, 33, 5, Y, 500, NB, 1, 64, 0), 33);
	assert_int_equal(gwd_rsip_build_udp(p, sizeof(p), GWD_RSIP_INNER_MAX - 27, Y, 500, NB, 1, 64, 0),
			 -EMSGSIZE);
}

/* ---- inbound: the internet -> a client ---- */

static void inbound_esp_by_spi(void **state)
{
	struct t *t = *state;
	struct rsip_dest d;
	size_t n;

	/* §5: (protocol, SPI, destination) decides: X1's SPI to X1, X2's to X2 */
	n = esp(t->pkt, 50, Y, NB, t->spi1, 16);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X1.addr);
	/* forwarded: TTL one less, header checksum still right */
	assert_int_equal(ttl_of(t->pkt), 63);
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, t->pkt, 20)), 0xffff);

	n = esp(t->pkt, 50, Y, NB, t->spi2, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X2.addr);

	/* AH carries its SPI 4 bytes in */
	n = esp(t->pkt, 51, Y, NB, t->spi2, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X2.addr);
	assert_int_equal(t->c.in, 3);
	assert_int_equal(t->c.in_tunnelled, 3);

	/* no mapping: the packet MUST be discarded (§5), and is counted */
	n = esp(t->pkt, 50, Y, NB, t->spi1 + t->spi2, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);
	/* the right SPI to another address */
	n = esp(t->pkt, 50, Y, NB + 1, t->spi1, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);
	assert_int_equal(t->c.in_no_binding, 2);
	assert_int_equal(t->s.stats.esp_misses, 2);

	/* malformed: no room for SPI and sequence number, a fragment, a lying length */
	n = esp(t->pkt, 50, Y, NB, t->spi1, 0);
	put_ip(t->pkt, 27, 64, 50, Y, NB, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, 27, t->now, &d), -EBADMSG);
	n = esp(t->pkt, 51, Y, NB, t->spi1, 0);
	put_ip(t->pkt, 31, 64, 51, Y, NB, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, 31, t->now, &d), -EBADMSG);
	n = esp(t->pkt, 50, Y, NB, t->spi1, 8);
	put_ip(t->pkt, (uint16_t)n, 64, 50, Y, NB, 0x2000);	/* MF */
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -EBADMSG);
	put_ip(t->pkt, (uint16_t)n, 64, 50, Y, NB, 0x0001);	/* offset 8 */
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -EBADMSG);
	put_ip(t->pkt, (uint16_t)n, 64, 50, Y, NB, 0x4000);	/* DF alone is fine */
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n - 1, t->now, &d), -EBADMSG);
	assert_int_equal(t->c.in_malformed, 5);

	/* TTL 1 is not forwarded */
	n = esp(t->pkt, 50, Y, NB, t->spi1, 0);
	put_ip(t->pkt, (uint16_t)n, 1, 50, Y, NB, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ETIME);
	assert_int_equal(t->c.in_ttl, 1);
	put_ip(t->pkt, (uint16_t)n, 2, 50, Y, NB, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(ttl_of(t->pkt), 1);

	/* not RSIP's business, and not counted */
	n = esp(t->pkt, 6, Y, NB, 1, 12);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -EPROTONOSUPPORT);
	assert_int_equal(t->c.in, 13);
}

static void inbound_ike(void **state)
{
	struct t *t = *state;
	struct rsip_dest d;
	size_t n;

	/* §6.1: the ephemeral IKE port says whose it is, whatever the SPI */
	n = udp(t->pkt, Y, 500, NB, t->port2, 0x1111, 28);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X2.addr);
	n = udp(t->pkt, Y, 500, NB, t->port1, 0, 0);	/* any UDP to the port */
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X1.addr);
	n = udp(t->pkt, Y, 500, NB, (uint16_t)(t->port1 + t->port2), 0, 28);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);

	/* port 500: nobody claimed this initiator SPI */
	n = udp(t->pkt, Y, 500, NB, 500, 0xabcdef, 40);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);
	/* port 500 needs a whole IKE header to read the SPI from */
	n = udp(t->pkt, Y, 500, NB, 500, 0xabcdef, 27);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -EBADMSG);
	/* UDP length and IP length disagree */
	n = udp(t->pkt, Y, 500, NB, t->port1, 0, 28);
	t->pkt[25]++;
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -EBADMSG);
	assert_int_equal(t->c.in_tunnelled, 2);
	assert_int_equal(t->c.in_no_binding, 2);
	assert_int_equal(t->c.in_malformed, 2);
}

/* ---- outbound: a client -> the internet ---- */

static void outbound_esp(void **state)
{
	struct t *t = *state;
	size_t n, off, len;
	uint32_t dst;

	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, Y, 0x99999, 10));
	assert_int_equal(gwd_rsip_outbound(&t->s, &t->c, t->pkt, n, t->now, &off, &len, &dst), 0);
	assert_int_equal(off, 20);
	assert_int_equal(len, n - 20);
	assert_int_equal(dst, Y);
	assert_int_equal(ttl_of(t->pkt + off), 63);
	assert_int_equal(gwd_rsip_csum_fold(gwd_rsip_csum_add(0, t->pkt + off, 20)), 0xffff);
	assert_int_equal(t->c.out_sent, 1);

	/* a LAN host with no binding may not send from Nb */
	n = ipip(t->pkt, X3, esp(t->pkt + 20, 50, NB, Y, 1000, 0));
	assert_int_equal(outbound(t, n), -EPERM);
	/* a client may send only from the address it was lent */
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB + 1, Y, 1000, 0));
	assert_int_equal(outbound(t, n), -EPERM);
	/* TCP is not carried (its answers would not come back) */
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 6, NB, Y, 1000, 12));
	assert_int_equal(outbound(t, n), -EPERM);
	assert_int_equal(t->c.out_refused, 3);

	/* malformed: not IP-in-IP, inner length wrong, inner fragment, bad destinations */
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, Y, 1000, 0));
	t->pkt[9] = 41;
	assert_int_equal(outbound(t, n), -EBADMSG);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, Y, 1000, 0) + 1);
	assert_int_equal(outbound(t, n), -EBADMSG);
	esp(t->pkt + 20, 50, NB, Y, 1000, 0);
	put_ip(t->pkt + 20, 28, 64, 50, NB, Y, 0x2000);
	n = ipip(t->pkt, X1.addr, 28);
	assert_int_equal(outbound(t, n), -EBADMSG);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, 0xe0000001, 1000, 0));
	assert_int_equal(outbound(t, n), -EBADMSG);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, 0x7f000001, 1000, 0));
	assert_int_equal(outbound(t, n), -EBADMSG);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, 0x00000001, 1000, 0));
	assert_int_equal(outbound(t, n), -EBADMSG);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, 0xffffffff, 1000, 0));
	assert_int_equal(outbound(t, n), -EBADMSG);
	assert_int_equal(t->c.out_malformed, 7);
	/* TTL */
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, Y, 1000, 0));
	put_ip(t->pkt + 20, 28, 1, 50, NB, Y, 0);
	assert_int_equal(outbound(t, n), -ETIME);
	assert_int_equal(t->c.out, 12);
	assert_int_equal(t->c.out_ttl, 1);
}

static void outbound_ike_trial_and_error(void **state)
{
	struct t *t = *state;
	struct rsip_dest d;
	size_t n;

	/* §6.1: X1's first packet from 500 with a new initiator SPI claims it */
	n = ipip(t->pkt, X1.addr, udp(t->pkt + 20, NB, 500, Y, 500, 0x0102030405060708ULL, 28));
	assert_int_equal(outbound(t, n), 0);
	/* X2 picks the same SPI: not unique on Nb, N drops it; X2 retries with another */
	n = ipip(t->pkt, X2.addr, udp(t->pkt + 20, NB, 500, Y, 500, 0x0102030405060708ULL, 28));
	assert_int_equal(outbound(t, n), -EEXIST);
	assert_int_equal(t->c.out_ike_collision, 1);
	n = ipip(t->pkt, X2.addr, udp(t->pkt + 20, NB, 500, Y, 500, 0x1112131415161718ULL, 28));
	assert_int_equal(outbound(t, n), 0);
	/* Y's answers on 500 go to whoever claimed the SPI */
	n = udp(t->pkt, Y, 500, NB, 500, 0x0102030405060708ULL, 60);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X1.addr);
	n = udp(t->pkt, Y, 500, NB, 500, 0x1112131415161718ULL, 60);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	assert_int_equal(d.tunnel_addr, X2.addr);
	/* ...but only from the peer it was claimed towards */
	n = udp(t->pkt, Y + 1, 500, NB, 500, 0x1112131415161718ULL, 60);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);

	/* from an ephemeral port: the port must be the client's own */
	n = ipip(t->pkt, X1.addr, udp(t->pkt + 20, NB, t->port1, Y, 500, 5, 28));
	assert_int_equal(outbound(t, n), 0);
	n = ipip(t->pkt, X1.addr, udp(t->pkt + 20, NB, t->port2, Y, 500, 5, 28));
	assert_int_equal(outbound(t, n), -EPERM);
	/* a port nobody holds */
	n = ipip(t->pkt, X1.addr, udp(t->pkt + 20, NB, 4500, Y, 4500, 5, 28));
	assert_int_equal(outbound(t, n), -EPERM);
	/* from 500 without a whole IKE header */
	n = ipip(t->pkt, X1.addr, udp(t->pkt + 20, NB, 500, Y, 500, 5, 20));
	assert_int_equal(outbound(t, n), -EBADMSG);
	assert_int_equal(t->c.out_sent, 3);
	assert_int_equal(t->c.out_refused, 2);
}

static void lease_expiry(void **state)
{
	struct t *t = *state;
	struct rsip_dest d;
	size_t n, off, len;
	uint32_t dst;

	/* the bindings were granted for 60 s at t->now */
	n = esp(t->pkt, 50, Y, NB, t->spi1, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now + 60 * SEC - 1, &d), 0);
	n = esp(t->pkt, 50, Y, NB, t->spi1, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now + 60 * SEC, &d), -ENOENT);
	n = ipip(t->pkt, X1.addr, esp(t->pkt + 20, 50, NB, Y, 0x99999, 0));
	assert_int_equal(gwd_rsip_outbound(&t->s, &t->c, t->pkt, n, t->now + 60 * SEC, &off, &len, &dst),
			 -EPERM);
	/* reaped: the registrations stay for reg_lease past their last binding */
	assert_int_equal(rsip_server_expire(&t->s, t->now + 60 * SEC), t->now + (60 + 3600) * SEC);
	assert_int_equal(t->s.n_binds, 0);
	assert_int_equal(t->s.stats.bindings_expired, 2);
	/* X1's SPI is free again: another client may ask for it by value */
	{
		struct rsip_client c;
		struct rsip_client_event ev;
		struct rsip_ipsec_request r = { .n_spis = 1, .spi = t->spi1 };
		struct rsip_peer x3 = { X3, 5 };
		uint8_t req[512];
		size_t rn;

		t->now += 60 * SEC;
		rsip_client_init(&c, 9);
		assert_int_equal(rsip_client_register(&c, req, sizeof(req), &rn), 0);
		carry(t, &c, &x3, req, rn, &ev);
		assert_int_equal(rsip_client_assign_rsipsec(&c, &r, req, sizeof(req), &rn), 0);
		carry(t, &c, &x3, req, rn, &ev);
		assert_int_equal(ev.kind, RSIP_EV_ASSIGNED);
		assert_int_equal(ev.bind->spis[0], t->spi1);
		n = esp(t->pkt, 50, Y, NB, t->spi1, 0);
		assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
		assert_int_equal(d.tunnel_addr, X3);
	}
}

/* the status lines of "autotunnel-gwd status" say what happened to the packets */
static void status_text(void **state)
{
	struct t *t = *state;
	struct rsip_dest d;
	char *text = NULL, want[1024];
	size_t len = 0, n;
	FILE *fp;

	n = esp(t->pkt, 50, Y, NB, t->spi2, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), 0);
	n = esp(t->pkt, 50, Y, NB, 1, 0);
	assert_int_equal(gwd_rsip_inbound(&t->s, &t->c, t->pkt, n, t->now, &d), -ENOENT);
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	gwd_rsip_status_format(fp, &t->s, NB, &t->c, 3, t->now + 1500);
	assert_int_equal(fclose(fp), 0);
	snprintf(want, sizeof(want),
		 "rsip: public address 203.0.113.10, 2 clients, 2 bindings, 3 UDP ports open\n"
		 "rsip binding 0x%08x client 192.168.1.2:40001 RSIPSEC spi 0x%08x ports %u expires in 59 s\n"
		 "rsip binding 0x%08x client 192.168.1.3:40002 RSIPSEC spi 0x%08x ports %u expires in 59 s\n"
		 "rsip inbound: 2 packets, 1 tunnelled, 1 without binding, 0 malformed, 0 ttl exceeded\n"
		 "rsip outbound: 0 packets, 0 sent, 0 refused, 0 ike collisions, 0 malformed, 0 ttl exceeded, 0 send errors\n"
		 "rsip demux: esp/ah 1 hits 1 misses, ike 0 hits 0 misses, 0 ike claims\n"
		 "rsip server: 4 requests, 0 errors, 2 bindings granted, 0 freed, 0 expired\n",
		 t->s.binds[0].bind_id, t->spi1, t->port1, t->s.binds[1].bind_id, t->spi2, t->port2);
	assert_string_equal(text, want);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip_header),
		cmocka_unit_test(checksum),
		cmocka_unit_test(build_udp),
		cmocka_unit_test_setup_teardown(inbound_esp_by_spi, setup, teardown),
		cmocka_unit_test_setup_teardown(inbound_ike, setup, teardown),
		cmocka_unit_test_setup_teardown(outbound_esp, setup, teardown),
		cmocka_unit_test_setup_teardown(outbound_ike_trial_and_error, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(status_text, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
