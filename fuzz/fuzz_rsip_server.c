/*
 * Fuzz the RSIP server: the input is a sequence of records, each either a
 * message from one of three clients, a data-path lookup, or a step of the
 * clock. A Client ID or Bind ID of 0 in a message that parses is replaced
 * with the last one that client was given, so the fuzzer reaches past the
 * registration step. After every step the server's tables must agree with
 * its bindings, and every answer must be a well-formed response.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rsip/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rsip_peer peers[3] = {
	{ 0xc0a80102U, 1001 }, { 0xc0a80103U, 1002 }, { 0xc0a80104U, 1003 },
};

static void check(const struct rsip_server *s)
{
	size_t spis = 0, ports = 0, ike = 0;
	unsigned binds = 0, clients = 0, per[64] = { 0 };

	for (unsigned i = 0; i < s->cfg.max_bindings; i++) {
		const struct rsip_binding *b = &s->binds[i];

		if (!b->used)
			continue;
		binds++;
		spis += b->n_spis;
		ports += b->n_ports;
		ike += b->n_ike;
		assert(s->clients[b->client].used);
		per[b->client]++;
		for (unsigned j = 0; j < b->n_spis; j++)
			assert(rsip_table_get(&s->spi_tab, (struct rsip_tkey){ b->addr_idx, b->spis[j] }) == i);
		for (unsigned j = 0; j < b->n_ports; j++)
			assert(rsip_table_get(&s->port_tab, (struct rsip_tkey){ b->addr_idx, b->ports[j] }) == i);
	}
	for (unsigned i = 0; i < s->cfg.max_clients; i++) {
		if (!s->clients[i].used)
			continue;
		clients++;
		assert(s->clients[i].n_binds == per[i]);
	}
	assert(binds == s->n_binds && clients == s->n_clients);
	assert(spis == s->spi_tab.count && ports == s->port_tab.count && ike == s->ike_tab.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rsip_server s;
	static struct rsip_msg m, r;
	static uint8_t out[4096], req[4096];
	struct rsip_server_config c;
	uint32_t cid[3] = { 0 }, bid[3] = { 0 };
	uint64_t now = 1000000;
	size_t i = 0;

	rsip_server_config_default(&c, 0xcb00710aU);
	c.addrs[1] = 0xcb00710bU;
	c.n_addrs = 2;
	c.tunnel_endpoint = 0xc0a80101U;
	c.port_lo = 50000;
	c.port_hi = 50007;
	c.spi_lo = 0x1000;
	c.spi_hi = 0x1007;
	c.max_clients = 4;
	c.max_bindings = 8;
	c.max_bindings_per_client = 4;
	c.local_nets[0] = (struct rsip_prefix){ 0xc0a80100U, 24 };
	c.n_local_nets = 1;
	c.ipsec_allow[0] = (struct rsip_prefix){ 0xc0a80100U, 31 };	/* not the third client */
	c.n_ipsec_allow = 1;
	if (rsip_server_init(&s, &c))
		return 0;

	while (i + 2 <= size) {
		uint8_t op = data[i] % 8, arg = data[i + 1];
		unsigned p = arg % 3;
		struct rsip_dest d;
		size_t len, rn = 0;
		uint64_t v = 0;
		int rc = -ENOENT;

		i += 2;
		if (op <= 2) {
			/* a message: 2-byte length, then the bytes */
			if (i + 2 > size)
				break;
			len = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
			if (len > size - i)
				len = size - i;
			memcpy(req, data + i, len);
			i += len;
			if (rsip_msg_parse(&m, req, len, NULL) == 0) {
				if ((m.present & RSIP_F_CLIENT_ID) && m.client_id == 0)
					m.client_id = cid[op];
				if ((m.present & RSIP_F_BIND_ID) && m.bind_id == 0)
					m.bind_id = bid[op];
				if (rsip_msg_build(&m, req, sizeof(req), &len))
					continue;
			}
			assert(rsip_server_handle(&s, &peers[op], req, len, now, out, sizeof(out), &rn) == 0);
			if (rn) {
				assert(rsip_msg_parse(&r, out, rn, NULL) == 0);
				assert(!rsip_msg_is_request(r.type));
				if (r.type == RSIP_REGISTER_RESPONSE)
					cid[op] = r.client_id;
				if (r.present & RSIP_F_BIND_ID && r.type != RSIP_ERROR_RESPONSE)
					bid[op] = r.bind_id;
			}
		} else {
			for (unsigned k = 0; k < 8 && i < size; k++)
				v = v << 8 | data[i++];
			switch (op) {
			case 3:
				rc = rsip_demux_esp(&s, 0xcb00710aU, 50, (uint32_t)v, now, &d);
				break;
			case 4:
				rc = rsip_demux_ike(&s, 0xcb00710aU, arg & 1 ? 500 : (uint16_t)(50000 + arg % 8),
						    v, 0xc6336407U + (arg >> 6), now, &d);
				break;
			case 5:
				rc = rsip_outbound_ike(&s, peers[p].addr, 0xcb00710aU, arg & 4 ? 500 : (uint16_t)(50000 + arg % 8),
						       0xc6336407U + (arg >> 6), v & 0xff, now);
				assert(rc == 0 || rc == -EPERM || rc == -EEXIST || rc == -ENOSPC);
				rc = -ENOENT;
				break;
			case 6:
				rc = rsip_outbound_check(&s, peers[p].addr, 0xcb00710aU, now);
				assert(rc == 0 || rc == -EPERM);
				rc = rsip_demux_addr(&s, 0xcb00710bU, now, &d);
				if (rc)
					rc = rsip_demux_port(&s, 0xcb00710aU + (arg & 1), (uint16_t)(50000 + arg % 8), now, &d);
				break;
			case 7:
				now += (uint64_t)arg * 1000;
				assert(rsip_server_expire(&s, now) > now);
				if (arg == 255)
					rsip_server_drop_peer(&s, &peers[p]);
				rc = -ENOENT;
				break;
			}
			/* a hit names a live client whose address is the tunnel's end */
			assert(rc == 0 || rc == -ENOENT);
			if (rc == 0) {
				const struct rsip_client_rec *cr = rsip_server_client(&s, d.client_id);

				assert(cr && cr->peer.addr == d.tunnel_addr);
				assert(rsip_server_binding(&s, d.bind_id));
			}
		}
		check(&s);
	}
	rsip_server_fini(&s);
	return 0;
}
