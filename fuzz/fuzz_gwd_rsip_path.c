/*
 * Fuzz the gateway's RSIP data path (rsip_path.c): packets from the
 * internet to Nb and IP-in-IP packets from clients, against a real lib/rsip
 * server where X1 (192.168.1.2) and X2 (192.168.1.3) hold an RSIPSEC
 * binding each (one SPI, one IKE port). The input is cut into packets at
 * 0xff 0xfe pairs; the first byte of each says which way it goes (inbound,
 * outbound, or a UDP payload made whole by gwd_rsip_build_udp first) and
 * how far the clock moves. Checked: a packet let through goes to a client
 * that holds a binding, was a whole IPv4 packet with its TTL lowered, and
 * every packet is counted exactly once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/rsip_path.h"
#include "rsip/client.h"
#include "rsip/server.h"

#define NB 0xcb00710aU
#define Y 0xc6336407U
#define X1 0xc0a80102U
#define X2 0xc0a80103U

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void client(struct rsip_server *s, uint32_t addr, uint64_t now)
{
	struct rsip_peer peer = { addr, 1000 };
	struct rsip_ipsec_request r = { .remote = Y, .n_spis = 1, .n_ports = 1, .lease = 30 };
	struct rsip_client *c = calloc(1, sizeof(*c));
	struct rsip_client_event ev;
	uint8_t req[512], resp[2048];
	size_t n, rn;

	if (!c)
		abort();
	rsip_client_init(c, 1);
	if (rsip_client_register(c, req, sizeof(req), &n) ||
	    rsip_server_handle(s, &peer, req, n, now, resp, sizeof(resp), &rn) ||
	    rsip_client_on_message(c, resp, rn, now, &ev) ||
	    rsip_client_assign_rsipsec(c, &r, req, sizeof(req), &n) ||
	    rsip_server_handle(s, &peer, req, n, now, resp, sizeof(resp), &rn) ||
	    rsip_client_on_message(c, resp, rn, now, &ev) || ev.kind != RSIP_EV_ASSIGNED)
		abort();
	free(c);
}

static uint64_t total_in(const struct gwd_rsip_counters *c)
{
	return c->in_tunnelled + c->in_no_binding + c->in_malformed + c->in_ttl;
}

static uint64_t total_out(const struct gwd_rsip_counters *c)
{
	return c->out_sent + c->out_refused + c->out_ike_collision + c->out_malformed + c->out_ttl;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsip_server_config cfg;
	struct rsip_server *s = calloc(1, sizeof(*s));
	struct gwd_rsip_counters c = { 0 };
	uint8_t *pkt = malloc(GWD_RSIP_IP_MAX + 64);
	const uint8_t *p = data, *end = data + size;
	uint64_t now = 5000000;

	if (!s || !pkt)
		goto out;
	rsip_server_config_default(&cfg, NB);
	cfg.spi_lo = 0x1000;
	cfg.spi_hi = 0x10ff;
	cfg.port_lo = 40000;
	cfg.port_hi = 40003;
	cfg.seed = 1;
	if (rsip_server_init(s, &cfg))
		abort();
	client(s, X1, now);
	client(s, X2, now);
	while (p < end) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), "\xff\xfe", 2);
		const uint8_t *e = sep ? sep : end;
		uint8_t ctl = p < e ? *p++ : 0;
		size_t len = p < e ? (size_t)(e - p) : 0;
		struct gwd_rsip_ip before, after;
		struct rsip_dest d;
		size_t off, il;
		uint32_t dst;
		int rc;

		if (len > GWD_RSIP_IP_MAX)
			len = GWD_RSIP_IP_MAX;
		memcpy(pkt, p, len);
		now += (uint64_t)(ctl >> 2) * 1000;
		switch (ctl & 3) {
		case 2:	/* a UDP payload that a socket of Nb received */
			memmove(pkt + 28, pkt, len);
			rc = gwd_rsip_build_udp(pkt, GWD_RSIP_IP_MAX + 64, len, Y, (uint16_t)(ctl * 7),
						NB, (uint16_t)(ctl & 4 ? 40000 + (ctl >> 3 & 3) : 500), 64, 0);
			if (rc < 0)
				break;
			len = (size_t)rc;
			before.ttl = 64;
			goto inbound;
		case 0:
			if (gwd_rsip_ip_parse(pkt, len, &before))
				before.ttl = 0;
		inbound:
			rc = gwd_rsip_inbound(s, &c, pkt, len, now, &d);
			if (rc == 0 && ((d.tunnel_addr != X1 && d.tunnel_addr != X2) ||
					gwd_rsip_ip_parse(pkt, len, &after) || after.ttl + 1 != before.ttl ||
					after.dst != NB))
				abort();
			break;
		default:
			rc = gwd_rsip_outbound(s, &c, pkt, len, now, &off, &il, &dst);
			if (rc == 0 && (off < 20 || off + il != len || gwd_rsip_ip_parse(pkt + off, il, &after) ||
					after.src != NB || after.dst != dst))
				abort();
			break;
		}
		if (total_in(&c) != c.in || total_out(&c) != c.out)
			abort();
		rsip_server_expire(s, now);
		if (!sep)
			break;
		p = sep + 2;
	}
	rsip_server_fini(s);
out:
	free(s);
	free(pkt);
	return 0;
}
