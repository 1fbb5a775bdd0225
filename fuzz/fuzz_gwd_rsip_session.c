/*
 * Fuzz the gateway's RSIP message handler as a TCP connection sees it:
 * raw stream bytes -> rsip_session.c (framing) -> lib/rsip's server ->
 * answers. The input is cut into reads at 0xff 0xfe pairs; the first byte
 * of each read picks one of three client connections (or closes one) and
 * how far the clock moves, the rest is fed to that connection as it came.
 * Checked after every read: each answer is one whole, valid RSIP response
 * that lib/rsip's parser accepts; a connection that failed is closed and
 * its client gone; the server's counts agree with its tables.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/rsip_session.h"
#include "rsip/msg.h"
#include "rsip/server.h"

#define NB 0xcb00710aU
#define CONNS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_answer(void *arg, const uint8_t *msg, size_t len)
{
	struct rsip_msg *m = arg;
	int fl = rsip_msg_frame_len(msg, len);

	if (fl < 4 || (size_t)fl != len || len > GWD_RSIP_REPLY_MAX)
		abort();
	if (rsip_msg_parse(m, msg, len, NULL) != 0 || rsip_msg_is_request(m->type))
		abort();
	return 0;
}

static void check_server(const struct rsip_server *s)
{
	unsigned clients = 0, binds = 0;

	for (unsigned i = 0; i < s->cfg.max_clients; i++)
		clients += s->clients[i].used;
	for (unsigned i = 0; i < s->cfg.max_bindings; i++)
		binds += s->binds[i].used;
	if (clients != s->n_clients || binds != s->n_binds)
		abort();
}

static bool registered(const struct rsip_server *s, const struct rsip_peer *p)
{
	for (unsigned i = 0; i < s->cfg.max_clients; i++)
		if (s->clients[i].used && s->clients[i].peer.addr == p->addr && s->clients[i].peer.port == p->port)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsip_server_config cfg;
	struct rsip_server *s = calloc(1, sizeof(*s));
	struct gwd_rsip_session *ss = calloc(CONNS, sizeof(*ss));
	struct rsip_msg *m = calloc(1, sizeof(*m));
	const uint8_t *p = data, *end = data + size;
	uint64_t now = 1000000;

	if (!s || !ss || !m)
		goto out;
	rsip_server_config_default(&cfg, NB);
	cfg.tunnel_endpoint = 0xc0a80101;
	cfg.port_lo = 40000;
	cfg.port_hi = 40015;
	cfg.spi_lo = 0x1000;
	cfg.spi_hi = 0x100f;
	cfg.lease_min = 1;
	cfg.lease_default = 5;
	cfg.lease_max = 20;
	cfg.reg_lease = 30;
	cfg.max_clients = 2;
	cfg.max_bindings = 8;
	cfg.max_bindings_per_client = 4;
	cfg.n_ipsec_allow = 1;
	cfg.ipsec_allow[0] = (struct rsip_prefix){ 0xc0a80102, 31 };	/* not the third client */
	cfg.seed = 11;
	if (rsip_server_init(s, &cfg))
		abort();
	for (unsigned i = 0; i < CONNS; i++)
		gwd_rsip_session_init(&ss[i], &(struct rsip_peer){ 0xc0a80102 + i, (uint16_t)(40000 + i) },
				      0xc0a80101);
	while (p < end) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), "\xff\xfe", 2);
		const uint8_t *e = sep ? sep : end;
		uint8_t ctl = p < e ? *p++ : 0;
		unsigned k = (ctl & 3) % CONNS;
		int rc;

		now += (uint64_t)(ctl >> 4) * 997;
		if ((ctl & 3) == 3) {
			/* a connection closes: its client must be gone */
			gwd_rsip_session_end(&ss[ctl >> 2 & 1], s);
			if (registered(s, &ss[ctl >> 2 & 1].peer))
				abort();
		} else if (p <= e) {
			rc = gwd_rsip_session_feed(&ss[k], s, p, (size_t)(e - p), now, check_answer, m);
			if (rc < 0) {
				if (rc != -EBADMSG && rc != -EMSGSIZE)
					abort();
				gwd_rsip_session_end(&ss[k], s);
				if (registered(s, &ss[k].peer) || ss[k].len)
					abort();
			}
			if (ss[k].len >= GWD_RSIP_FRAME_MAX)
				abort();
		}
		rsip_server_expire(s, now);
		check_server(s);
		if (!sep)
			break;
		p = sep + 2;
	}
	rsip_server_fini(s);
out:
	free(s);
	free(ss);
	free(m);
	return 0;
}
