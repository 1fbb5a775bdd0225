/*
 * Fuzz lib/portmap: the input is a script of events (replies with fuzzed
 * bytes, timeouts, ICMP, UPnP results, network changes, stop) run against
 * the state machine. Every packet it asks to send must be a request our
 * own codecs accept, every deadline must lie ahead, and a stopped client
 * must finish deleting within its bounded retries.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portmap/portmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct portmap *pm, const struct portmap_out *out, uint64_t now)
{
	assert(out->n_actions <= PORTMAP_MAX_OUT && out->n_notes <= PORTMAP_MAX_OUT);
	assert(out->deadline == portmap_deadline(pm));
	assert(out->deadline == PORTMAP_NEVER || out->deadline >= now);
	for (unsigned int i = 0; i < out->n_actions; i++) {
		const struct portmap_action *a = &out->actions[i];

		assert(a->map == PORTMAP_NO_MAP || a->map < pm->n_maps);
		if (a->kind != PORTMAP_ACT_SEND)
			continue;
		assert(a->len > 0 && a->len <= sizeof(a->pkt));
		if (a->proto == PORTMAP_PROTO_PCP) {
			struct pcp_msg m;
			uint8_t why;

			assert(pcp_request_parse(a->pkt, a->len, &m, &why) == 0);
		} else {
			struct natpmp_request q;

			assert(a->proto == PORTMAP_PROTO_NATPMP);
			assert(natpmp_request_parse(a->pkt, a->len, &q) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nonce[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct portmap_config cfg;
	struct portmap pm;
	struct portmap_out out;
	struct in_addr local = { .s_addr = 0x0201a8c0 };
	uint64_t now = 1000;
	size_t i = 0;
	int idx;

	if (size < 2)
		return 0;
	portmap_config_default(&cfg);
	cfg.protocols = (data[0] & 7) ? (data[0] & 7) : PORTMAP_PROTO_ALL;
	cfg.tries = 1 + (data[1] & 7);
	portmap_init(&pm, &cfg, local);
	idx = portmap_add(&pm, PCP_PROTO_UDP, 4500, 4500, nonce);
	assert(idx == 0);
	idx = portmap_add(&pm, PCP_PROTO_TCP, 22, 0, nonce);
	assert(idx == 1);
	portmap_start(&pm, 0, now, &out);
	check(&pm, &out, now);
	i = 2;
	while (i < size) {
		uint8_t op = data[i++];

		switch (op % 8) {
		case 0: {	/* a packet from the gateway: length, bytes */
			struct portmap_reply r;
			size_t len = i < size ? data[i++] : 0;

			if (len > size - i)
				len = size - i;
			if (portmap_reply_parse(data + i, len, &r) == 0) {
				portmap_on_reply(&pm, &r, now, &out);
				check(&pm, &out, now);
			}
			i += len;
			break;
		}
		case 1:		/* time passes to the deadline, or by a little */
			if ((op & 8) && portmap_deadline(&pm) != PORTMAP_NEVER)
				now = portmap_deadline(&pm);
			else
				now += (uint64_t)(op >> 4) * 100;
			portmap_on_timeout(&pm, now, &out);
			check(&pm, &out, now);
			break;
		case 2:
			portmap_on_unreachable(&pm, now, &out);
			check(&pm, &out, now);
			break;
		case 3:
			portmap_on_upnp(&pm, (op >> 4) & 1, (op & 0x80) ? 718 : (op & 0x40) ? -1 : 0,
					(struct in_addr){ .s_addr = 0x0a7100cb }, 4500, op & 0x20 ? 0 : 600,
					now, &out);
			check(&pm, &out, now);
			break;
		case 4:
			portmap_on_netchange(&pm, local, now, &out);
			check(&pm, &out, now);
			break;
		case 5:
			portmap_start(&pm, 1, now, &out);
			check(&pm, &out, now);
			break;
		case 6:
			now += (uint64_t)op * 60000;	/* long silences: renewals, expiry */
			portmap_on_timeout(&pm, now, &out);
			check(&pm, &out, now);
			break;
		case 7:
			portmap_stop(&pm, now, &out);
			check(&pm, &out, now);
			break;
		}
	}
	/* stopping always ends, within the delete retries */
	portmap_stop(&pm, now, &out);
	check(&pm, &out, now);
	for (int n = 0; n < 64 && !portmap_stopped(&pm); n++) {
		if (portmap_deadline(&pm) == PORTMAP_NEVER)
			break;
		now = portmap_deadline(&pm);
		portmap_on_timeout(&pm, now, &out);
		check(&pm, &out, now);
	}
	assert(portmap_stopped(&pm));
	return 0;
}
