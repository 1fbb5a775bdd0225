/*
 * lib/portmap: the client state machine driven by a fake clock. Every time
 * asserted here is exact: the retry schedule of RFC 6886 §3.1 / RFC 6281
 * §4.2, renewal at half the lifetime, the epoch rules of RFC 6886 §3.6 and
 * RFC 6887 §8.5 at their boundaries, and the order PCP, NAT-PMP, UPnP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "portmap/portmap.h"

static const uint8_t nonce1[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t nonce2[PCP_NONCE_LEN] = { 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void setup_pm(struct portmap *pm, const struct portmap_config *cfg, int *idx)
{
	portmap_init(pm, cfg, ip("192.168.1.2"));
	*idx = portmap_add(pm, PCP_PROTO_UDP, 4500, 4500, nonce1);
	assert_int_equal(*idx, 0);
}

static const struct portmap_action *find_send(const struct portmap_out *out, unsigned int map)
{
	for (unsigned int i = 0; i < out->n_actions; i++)
		if (out->actions[i].kind == PORTMAP_ACT_SEND && out->actions[i].map == map)
			return &out->actions[i];
	return NULL;
}

static const struct portmap_action *find_act(const struct portmap_out *out, enum portmap_act kind)
{
	for (unsigned int i = 0; i < out->n_actions; i++)
		if (out->actions[i].kind == kind)
			return &out->actions[i];
	return NULL;
}

static const struct portmap_note *find_note(const struct portmap_out *out,
					    enum portmap_note_kind kind)
{
	for (unsigned int i = 0; i < out->n_notes; i++)
		if (out->notes[i].kind == kind)
			return &out->notes[i];
	return NULL;
}

static void feed(struct portmap *pm, const uint8_t *pkt, size_t len, uint64_t now,
		 struct portmap_out *out)
{
	struct portmap_reply r;

	assert_int_equal(portmap_reply_parse(pkt, len, &r), 0);
	portmap_on_reply(pm, &r, now, out);
}

/* The gateway's PCP answer to request @a. */
static size_t pcp_answer(const struct portmap_action *a, uint8_t result, uint32_t lifetime,
			 uint32_t epoch, const char *ext, uint16_t port, uint8_t *buf)
{
	struct pcp_msg m;
	uint8_t why;
	int n;

	assert_non_null(a);
	assert_int_equal(a->proto, PORTMAP_PROTO_PCP);
	assert_int_equal(pcp_request_parse(a->pkt, a->len, &m, &why), 0);
	m.response = true;
	m.result = result;
	m.lifetime = lifetime;
	m.epoch = epoch;
	m.external_port = port;
	pcp_addr_from_v4(&m.external_addr, ip(ext));
	n = pcp_msg_build(&m, buf, PCP_MAX_LEN);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t pcp_announce(uint32_t epoch, uint8_t *buf)
{
	struct pcp_msg m = { .response = true, .opcode = PCP_OP_ANNOUNCE, .epoch = epoch };
	int n = pcp_msg_build(&m, buf, PCP_MAX_LEN);

	assert_int_equal(n, 24);
	return (size_t)n;
}

/* The gateway's NAT-PMP answer to map request @a. */
static size_t natpmp_answer(const struct portmap_action *a, uint16_t result, uint32_t lifetime,
			    uint32_t epoch, uint16_t port, uint8_t *buf)
{
	struct natpmp_request q;
	struct natpmp_response r = { 0 };
	int n;

	assert_non_null(a);
	assert_int_equal(a->proto, PORTMAP_PROTO_NATPMP);
	assert_int_equal(natpmp_request_parse(a->pkt, a->len, &q), 0);
	assert_int_not_equal(q.op, NATPMP_OP_EXTADDR);
	r.op = q.op;
	r.result = result;
	r.epoch = epoch;
	r.internal_port = q.internal_port;
	r.external_port = port;
	r.lifetime = lifetime;
	n = natpmp_response_build(&r, buf, NATPMP_MAX_LEN);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t natpmp_addr(const char *ext, uint32_t epoch, uint8_t *buf)
{
	struct natpmp_response r = { .op = NATPMP_OP_EXTADDR, .epoch = epoch, .external_addr = ip(ext) };
	int n = natpmp_response_build(&r, buf, NATPMP_MAX_LEN);

	assert_int_equal(n, 12);
	return (size_t)n;
}

static bool is_addr_query(const struct portmap_action *a)
{
	return a->kind == PORTMAP_ACT_SEND && a->map == PORTMAP_NO_MAP && a->len == 2 &&
	       a->pkt[0] == 0 && a->pkt[1] == 0;
}

/* Mapping 0 (UDP 4500) set up with @p cfg (NULL: defaults) and started at 0 ms. */
static void start_pm(struct portmap *pm, const struct portmap_config *cfg, struct portmap_out *out)
{
	int idx;

	setup_pm(pm, cfg, &idx);
	portmap_start(pm, 0, 0, out);
}

/* ... and granted by PCP at 1 ms: 203.0.113.10:4500 for 7200 s, epoch 10. */
static void start_pcp_mapped(struct portmap *pm, struct portmap_out *out)
{
	uint8_t buf[PCP_MAX_LEN];

	start_pm(pm, NULL, out);
	feed(pm, buf, pcp_answer(find_send(out, 0), 0, 7200, 10, "203.0.113.10", 4500, buf), 1, out);
}

/* ---- retry schedule ---- */

static void schedule_no_gateway_default(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	int idx;
	/* RFC 6886 §3.1: 9 attempts, 250 ms doubling; PCP for the first 3 */
	const uint64_t want[9] = { 0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750 };
	uint64_t now = 0;
	unsigned int n = 0;

	setup_pm(&pm, NULL, &idx);
	portmap_start(&pm, 0, now, &out);
	for (int step = 0; step < 100; step++) {
		const struct portmap_action *a = find_send(&out, 0);

		if (a) {
			assert_true(n < 9);
			assert_true(now == want[n]);
			assert_int_equal(a->proto, n < 3 ? PORTMAP_PROTO_PCP : PORTMAP_PROTO_NATPMP);
			n++;
		}
		if (find_act(&out, PORTMAP_ACT_UPNP_MAP))
			break;
		assert_true(out.deadline != PORTMAP_NEVER);
		assert_true(out.deadline > now);
		now = out.deadline;
		portmap_on_timeout(&pm, now, &out);
	}
	assert_int_equal(n, 9);
	/* given up 64 s after the 9th attempt, then UPnP IGD */
	assert_true(now == 127750);
	assert_non_null(find_note(&out, PORTMAP_NOTE_FALLBACK));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_FALLBACK)->proto, PORTMAP_PROTO_UPNP);
	assert_int_equal(portmap_get(&pm, 0)->state, PORTMAP_UPNP);
	assert_true(out.deadline == PORTMAP_NEVER);	/* waits for the UPnP result */
	{
		const struct portmap_action *u = find_act(&out, PORTMAP_ACT_UPNP_MAP);

		assert_int_equal(u->internal_port, 4500);
		assert_int_equal(u->external_port, 4500);
		assert_int_equal(u->ipproto, PCP_PROTO_UDP);
		assert_int_equal(u->lifetime, PORTMAP_DEFAULT_LIFETIME);
	}
	/* no IGD either: a public network, probed again in 10 minutes */
	portmap_on_upnp(&pm, 0, -1, ip("0.0.0.0"), 0, 0, now + 2000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_PUBLIC));
	assert_int_equal(portmap_get(&pm, 0)->state, PORTMAP_PUBLIC);
	assert_true(out.deadline == now + 2000 + 600000);
	portmap_on_timeout(&pm, out.deadline, &out);
	assert_non_null(find_send(&out, 0));
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
}

static void schedule_short_count(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	struct portmap_config cfg;
	int idx;

	portmap_config_default(&cfg);
	cfg.tries = 3;
	cfg.protocols = PORTMAP_PROTO_PCP | PORTMAP_PROTO_NATPMP;
	cfg.reprobe_s = 0;
	setup_pm(&pm, &cfg, &idx);
	portmap_start(&pm, 0, 1000, &out);
	assert_non_null(find_send(&out, 0));
	assert_true(out.deadline == 1250);
	portmap_on_timeout(&pm, 1249, &out);	/* early: nothing */
	assert_null(find_send(&out, 0));
	assert_true(out.deadline == 1250);
	portmap_on_timeout(&pm, 1250, &out);
	assert_non_null(find_send(&out, 0));
	assert_true(out.deadline == 1750);
	portmap_on_timeout(&pm, 1750, &out);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
	assert_true(out.deadline == 2750);
	portmap_on_timeout(&pm, 2750, &out);
	assert_null(find_send(&out, 0));
	assert_non_null(find_note(&out, PORTMAP_NOTE_PUBLIC));
	assert_true(out.deadline == PORTMAP_NEVER);	/* reprobe 0: stays public */
}

/* ---- PCP ---- */

static void pcp_map_renew_lose(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	const struct portmap_note *n;
	struct pcp_msg req;
	uint8_t why;
	char a[INET_ADDRSTRLEN];

	start_pm(&pm, NULL, &out);
	assert_int_equal(pcp_request_parse(find_send(&out, 0)->pkt, find_send(&out, 0)->len, &req, &why), 0);
	assert_int_equal(req.lifetime, 7200);
	assert_memory_equal(req.nonce, nonce1, PCP_NONCE_LEN);
	assert_int_equal(req.client_addr.s6_addr[15], 2);
	assert_int_equal(req.external_port, 4500);

	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 3600, 50, "203.0.113.10", 4500, buf), 40, &out);
	n = find_note(&out, PORTMAP_NOTE_MAPPED);
	assert_non_null(n);
	assert_int_equal(n->proto, PORTMAP_PROTO_PCP);
	inet_ntop(AF_INET, &n->ext_addr, a, sizeof(a));
	assert_string_equal(a, "203.0.113.10");
	assert_int_equal(n->ext_port, 4500);
	assert_int_equal(n->lifetime, 3600);
	/* renewal at half the granted lifetime */
	assert_true(out.deadline == 40 + 1800000);

	portmap_on_timeout(&pm, 1800040, &out);
	assert_non_null(find_send(&out, 0));
	assert_int_equal(pcp_request_parse(find_send(&out, 0)->pkt, find_send(&out, 0)->len, &req, &why), 0);
	assert_memory_equal(req.nonce, nonce1, PCP_NONCE_LEN);
	assert_int_equal(req.external_addr.s6_addr[12], 203);	/* asks for what it holds */
	assert_int_equal(portmap_get(&pm, 0)->state, PORTMAP_RENEW);
	assert_true(out.deadline == 1800290);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 3600, 1850, "203.0.113.10", 4500, buf),
	     1800100, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RENEWED));
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_true(out.deadline == 1800100 + 1800000);

	/* the gateway goes silent: retries until the mapping expires, at most
	 * 64 s apart, then it is lost and discovery starts over */
	{
		uint64_t now = 3600100, expires = 1800100 + 3600000, last = 0;
		int sends = 0;

		portmap_on_timeout(&pm, now, &out);
		for (int i = 0; i < 200 && !find_note(&out, PORTMAP_NOTE_LOST); i++) {
			if (find_send(&out, 0)) {
				sends++;
				if (last)
					assert_true(now - last <= 64000);
				last = now;
			}
			now = out.deadline;
			portmap_on_timeout(&pm, now, &out);
		}
		assert_non_null(find_note(&out, PORTMAP_NOTE_LOST));
		assert_true(now == expires);
		assert_true(sends > 9);
		/* discovery again, from PCP */
		assert_non_null(find_send(&out, 0));
		assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
		assert_int_equal(portmap_get(&pm, 0)->state, PORTMAP_REQUEST);
	}
}

static void pcp_short_lifetime(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];

	start_pm(&pm, NULL, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 121, 5, "203.0.113.10", 4500, buf), 10, &out);
	assert_true(out.deadline == 10 + 60500);	/* half of 121 s, to the millisecond */
	portmap_on_timeout(&pm, 60510, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 1, 66, "203.0.113.10", 4500, buf), 60520, &out);
	assert_true(out.deadline == 60520 + 1000);	/* never sooner than 1 s */
}

static void pcp_gateway_reboot_announce(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	const uint8_t *sent1, *sent2;
	struct portmap_action a1, a2;
	int i1, i2;

	portmap_init(&pm, NULL, ip("192.168.1.2"));
	i1 = portmap_add(&pm, PCP_PROTO_UDP, 4500, 4500, nonce1);
	i2 = portmap_add(&pm, PCP_PROTO_TCP, 22, 2222, nonce2);
	assert_int_equal(i2, 1);
	portmap_start(&pm, (unsigned)i1, 0, &out);
	a1 = *find_send(&out, 0);
	portmap_start(&pm, (unsigned)i2, 0, &out);
	a2 = *find_send(&out, 1);
	feed(&pm, buf, pcp_answer(&a1, 0, 7200, 1000, "203.0.113.10", 4500, buf), 5, &out);
	feed(&pm, buf, pcp_answer(&a2, 0, 7200, 1000, "203.0.113.10", 2222, buf), 6, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));

	/* a valid ANNOUNCE (epoch advanced with our clock): renew both */
	feed(&pm, buf, pcp_announce(1010, buf), 10006, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_non_null(find_send(&out, 0));
	assert_non_null(find_send(&out, 1));
	a1 = *find_send(&out, 0);
	a2 = *find_send(&out, 1);
	feed(&pm, buf, pcp_answer(&a1, 0, 7200, 1010, "203.0.113.10", 4500, buf), 10010, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RENEWED));
	feed(&pm, buf, pcp_answer(&a2, 0, 7200, 1010, "203.0.113.10", 2222, buf), 10010, &out);

	/* the gateway rebooted: epoch 3 in an ANNOUNCE; both re-created at once */
	feed(&pm, buf, pcp_announce(3, buf), 20000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_non_null(find_send(&out, 0));
	assert_non_null(find_send(&out, 1));
	sent1 = find_send(&out, 0)->pkt;
	sent2 = find_send(&out, 1)->pkt;
	assert_int_equal(sent1[1], PCP_OP_MAP);
	assert_int_equal(sent2[1], PCP_OP_MAP);
	assert_true(out.deadline == 20250);
	a1 = *find_send(&out, 0);
	a2 = *find_send(&out, 1);
	feed(&pm, buf, pcp_answer(&a1, 0, 7200, 4, "203.0.113.10", 4500, buf), 20100, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RECREATED));
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	/* the gateway gave the second one another port */
	feed(&pm, buf, pcp_answer(&a2, 0, 7200, 4, "203.0.113.10", 2223, buf), 20100, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_CHANGED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_CHANGED)->old_port, 2222);
	assert_int_equal(find_note(&out, PORTMAP_NOTE_CHANGED)->ext_port, 2223);
}

static void pcp_epoch_in_reply(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	struct portmap_action a1;
	int i2;

	portmap_init(&pm, NULL, ip("192.168.1.2"));
	assert_int_equal(portmap_add(&pm, PCP_PROTO_UDP, 4500, 4500, nonce1), 0);
	i2 = portmap_add(&pm, PCP_PROTO_UDP, 5000, 5000, nonce2);
	portmap_start(&pm, 0, 0, &out);
	portmap_start(&pm, (unsigned)i2, 0, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 1), 0, 600, 100, "203.0.113.10", 5000, buf), 1, &out);
	portmap_on_timeout(&pm, 250, &out);
	a1 = *find_send(&out, 0);
	/* mapping 0's answer comes from a rebooted gateway: mapping 1 is
	 * re-created at once; mapping 0's own answer is the re-creation */
	feed(&pm, buf, pcp_answer(&a1, 0, 600, 0, "203.0.113.10", 4500, buf), 300, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_null(find_send(&out, 0));
	assert_non_null(find_send(&out, 1));
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_MAPPED)->map, 0);
}

static void pcp_unsolicited_map_new_address(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	struct portmap_action a;
	const struct portmap_note *n;
	char s[INET_ADDRSTRLEN];

	start_pm(&pm, NULL, &out);
	a = *find_send(&out, 0);
	feed(&pm, buf, pcp_answer(&a, 0, 7200, 10, "203.0.113.10", 4500, buf), 5, &out);
	/* RFC 6887 §14.2: the server tells us the new address unasked */
	feed(&pm, buf, pcp_answer(&a, 0, 7200, 70, "203.0.113.99", 4500, buf), 60005, &out);
	n = find_note(&out, PORTMAP_NOTE_CHANGED);
	assert_non_null(n);
	inet_ntop(AF_INET, &n->ext_addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.99");
	inet_ntop(AF_INET, &n->old_addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.10");

	/* a NAT-PMP announcement with yet another address: renew to learn it */
	feed(&pm, buf, natpmp_addr("203.0.113.77", 80, buf), 70000, &out);
	assert_non_null(find_send(&out, 0));
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
	/* the same address again: nothing to do */
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 7200, 80, "203.0.113.77", 4500, buf), 70010, &out);
	feed(&pm, buf, natpmp_addr("203.0.113.77", 80, buf), 70020, &out);
	assert_int_equal(out.n_actions, 0);
}

static void pcp_refused(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	struct portmap_config cfg;
	uint8_t buf[PCP_MAX_LEN];

	/* refused by PCP, then UPnP refuses too: FAILED, retried after the
	 * longer of the reprobe time (600 s) and the PCP error lifetime (1800 s,
	 * RFC 6887 §7.4: not before the error's lifetime) */
	start_pm(&pm, NULL, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), PCP_RESULT_NOT_AUTHORIZED, 1800, 9, "0.0.0.0", 0, buf),
	     7, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_REFUSED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_REFUSED)->result, PCP_RESULT_NOT_AUTHORIZED);
	assert_non_null(find_act(&out, PORTMAP_ACT_UPNP_MAP));
	portmap_on_upnp(&pm, 0, 718, ip("0.0.0.0"), 0, 0, 1000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_FAILED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_FAILED)->proto, PORTMAP_PROTO_UPNP);
	/* the IGD's own code, not cut to 8 bits: `autotunnel portmap --json` prints it */
	assert_int_equal(find_note(&out, PORTMAP_NOTE_FAILED)->result, 718);
	assert_int_equal(portmap_get(&pm, 0)->refused_result, 718);
	assert_int_equal(portmap_get(&pm, 0)->state, PORTMAP_FAILED);
	assert_true(out.deadline == 1000 + 1800000);

	/* without UPnP: FAILED at once, not before the error lifetime */
	portmap_config_default(&cfg);
	cfg.protocols = PORTMAP_PROTO_PCP | PORTMAP_PROTO_NATPMP;
	start_pm(&pm, &cfg, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), PCP_RESULT_NO_RESOURCES, 1200, 9, "0.0.0.0", 0, buf),
	     7, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_FAILED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_FAILED)->result, PCP_RESULT_NO_RESOURCES);
	assert_true(out.deadline == 7 + 1200000);
}

/* ---- NAT-PMP ---- */

static void natpmp_version_fallback(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	const uint8_t unsupp[8] = { 0, 129, 0, 1, 0, 0, 0x03, 0xe8 };
	struct portmap_action map;
	bool saw_query = false;
	const struct portmap_note *n;
	char s[INET_ADDRSTRLEN];

	start_pm(&pm, NULL, &out);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
	/* RFC 6887 §9: a NAT-PMP gateway answers version 0, UNSUPP_VERSION */
	feed(&pm, unsupp, sizeof(unsupp), 3, &out);
	n = find_note(&out, PORTMAP_NOTE_FALLBACK);
	assert_non_null(n);
	assert_int_equal(n->from, PORTMAP_PROTO_PCP);
	assert_int_equal(n->proto, PORTMAP_PROTO_NATPMP);
	assert_non_null(find_send(&out, 0));
	map = *find_send(&out, 0);
	assert_int_equal(map.proto, PORTMAP_PROTO_NATPMP);
	assert_int_equal(map.len, 12);
	for (unsigned int i = 0; i < out.n_actions; i++)
		saw_query |= is_addr_query(&out.actions[i]);
	assert_true(saw_query);
	assert_true(out.deadline == 253);	/* a fresh schedule */

	/* the map answer first: not reported until the address is known */
	feed(&pm, buf, natpmp_answer(&map, 0, 3600, 1000, 61001, buf), 10, &out);
	assert_int_equal(out.n_notes, 0);
	feed(&pm, buf, natpmp_addr("203.0.113.10", 1000, buf), 12, &out);
	n = find_note(&out, PORTMAP_NOTE_MAPPED);
	assert_non_null(n);
	assert_int_equal(n->proto, PORTMAP_PROTO_NATPMP);
	assert_int_equal(n->ext_port, 61001);
	assert_int_equal(n->lifetime, 3600);
	inet_ntop(AF_INET, &n->ext_addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.10");
	assert_true(out.deadline == 10 + 1800000);

	/* RFC 6886 §3.2.1: an announcement of a new address */
	feed(&pm, buf, natpmp_addr("203.0.113.11", 1060, buf), 60012, &out);
	n = find_note(&out, PORTMAP_NOTE_CHANGED);
	assert_non_null(n);
	inet_ntop(AF_INET, &n->ext_addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.11");
	inet_ntop(AF_INET, &n->old_addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.10");
	assert_int_equal(n->ext_port, 61001);
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));

	/* renewal: the map request asks for the port it holds, and the
	 * address is asked again alongside */
	portmap_on_timeout(&pm, 1800010, &out);
	map = *find_send(&out, 0);
	assert_int_equal(map.pkt[6] << 8 | map.pkt[7], 61001);
	saw_query = false;
	for (unsigned int i = 0; i < out.n_actions; i++)
		saw_query |= is_addr_query(&out.actions[i]);
	assert_true(saw_query);
	feed(&pm, buf, natpmp_addr("203.0.113.11", 1000 + 1800, buf), 1800020, &out);
	feed(&pm, buf, natpmp_answer(&map, 0, 3600, 1000 + 1800, 61001, buf), 1800030, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RENEWED));
}

static void natpmp_after_silent_pcp(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	struct portmap_action map;

	start_pm(&pm, NULL, &out);
	portmap_on_timeout(&pm, 250, &out);
	portmap_on_timeout(&pm, 750, &out);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
	portmap_on_timeout(&pm, 1750, &out);
	map = *find_send(&out, 0);
	assert_int_equal(map.proto, PORTMAP_PROTO_NATPMP);
	/* the address answer first, then the map */
	feed(&pm, buf, natpmp_addr("203.0.113.10", 500, buf), 1760, &out);
	assert_int_equal(out.n_notes, 0);
	feed(&pm, buf, natpmp_answer(&map, 0, 7200, 500, 4500, buf), 1770, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_int_equal(pm.gw_proto, PORTMAP_PROTO_NATPMP);
	/* a second mapping goes straight to NAT-PMP */
	assert_int_equal(portmap_add(&pm, PCP_PROTO_TCP, 22, 22, nonce2), 1);
	portmap_start(&pm, 1, 2000, &out);
	assert_int_equal(find_send(&out, 1)->proto, PORTMAP_PROTO_NATPMP);
	assert_int_equal(find_send(&out, 1)->pkt[1], NATPMP_OP_MAP_TCP);
}

static void natpmp_gateway_reboot(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	struct portmap_config cfg;
	uint8_t buf[PCP_MAX_LEN];
	struct portmap_action map;

	portmap_config_default(&cfg);
	cfg.protocols = PORTMAP_PROTO_NATPMP;
	start_pm(&pm, &cfg, &out);
	map = *find_send(&out, 0);
	assert_int_equal(map.proto, PORTMAP_PROTO_NATPMP);
	feed(&pm, buf, natpmp_addr("203.0.113.10", 1000, buf), 0, &out);
	feed(&pm, buf, natpmp_answer(&map, 0, 7200, 1000, 4500, buf), 0, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));

	/* 8 s later an announcement with epoch 1005 is exactly at the
	 * tolerance (1000 + 7/8 * 8 - 2 = 1005): fine */
	feed(&pm, buf, natpmp_addr("203.0.113.10", 1005, buf), 8000, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_int_equal(out.n_actions, 0);
	/* 8 s after that the estimate is 1012; 1009 is more than 2 s short */
	feed(&pm, buf, natpmp_addr("203.0.113.10", 1009, buf), 16000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	map = *find_send(&out, 0);
	assert_int_equal(map.proto, PORTMAP_PROTO_NATPMP);
	assert_int_equal(map.pkt[6] << 8 | map.pkt[7], 4500);
	feed(&pm, buf, natpmp_answer(&map, 0, 7200, 1012, 4500, buf), 16100, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RECREATED));

	/* it rebooted again, and then announces a new address: the change
	 * across the reset is still reported */
	feed(&pm, buf, natpmp_addr("203.0.113.10", 1, buf), 30000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	map = *find_send(&out, 0);
	feed(&pm, buf, natpmp_answer(&map, 0, 7200, 1, 4500, buf), 30010, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RECREATED));
	feed(&pm, buf, natpmp_addr("203.0.113.12", 1, buf), 30020, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_CHANGED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_CHANGED)->ext_addr.s_addr, ip("203.0.113.12").s_addr);
	assert_int_equal(find_note(&out, PORTMAP_NOTE_CHANGED)->old_addr.s_addr, ip("203.0.113.10").s_addr);
}

/* ---- epochs at their boundaries ---- */

static void epoch_natpmp_rule(void **state)
{
	struct portmap_epoch e = { 0 };

	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1000, 0));
	/* 8 s later: expected 1000 + 7 = 1007; down to 1005 is fine */
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1005, 8000));
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1000, 0));
	assert_false(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1004, 8000));
	/* one millisecond of our clock matters at the edge: 7/8 * 8001 ms */
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1000, 0));
	assert_false(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1005, 8001));
	/* a gateway clock running fast is not a reset under NAT-PMP's rule */
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1000, 0));
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 5000, 1000));
	/* going backwards is */
	assert_false(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 10, 2000));
	/* the state moved on to the new values: the next one is judged against 10 */
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 11, 3000));
}

static void epoch_pcp_rule(void **state)
{
	struct portmap_epoch e;

	/* backwards by 1 s is tolerated, by 2 s not (RFC 6887 §8.5) */
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000, 0));
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 999, 0));
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000, 0));
	assert_false(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 998, 0));

	/* client_delta 100 s: server_delta from 92 to 108 is valid */
	for (uint32_t sd = 90; sd <= 110; sd++) {
		bool want = sd >= 92 && sd <= 108;

		e = (struct portmap_epoch){ 0 };
		assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000, 5000));
		assert_int_equal(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000 + sd, 105000), want);
	}
	/* client_delta is whole seconds: 100.999 s counts as 100 */
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000, 0));
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1108, 100999));
	e = (struct portmap_epoch){ 0 };
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1000, 0));
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_PCP, 1109, 101000));
	/* a change of protocol starts afresh */
	assert_true(portmap_epoch_update(&e, PORTMAP_PROTO_NATPMP, 1, 101001));
}

/* ---- UPnP, ICMP, deletion, network change ---- */

static void unreachable_goes_to_upnp(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	const struct portmap_note *n;

	start_pm(&pm, NULL, &out);
	portmap_on_unreachable(&pm, 3, &out);
	assert_non_null(find_act(&out, PORTMAP_ACT_UPNP_MAP));
	assert_true(out.deadline == PORTMAP_NEVER);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 4500, 3600, 900, &out);
	n = find_note(&out, PORTMAP_NOTE_MAPPED);
	assert_non_null(n);
	assert_int_equal(n->proto, PORTMAP_PROTO_UPNP);
	assert_true(out.deadline == 900 + 1800000);
	/* refresh at half the lease, by UPnP again */
	portmap_on_timeout(&pm, 1800900, &out);
	assert_non_null(find_act(&out, PORTMAP_ACT_UPNP_MAP));
	assert_int_equal(find_act(&out, PORTMAP_ACT_UPNP_MAP)->external_port, 4500);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 4500, 3600, 1801000, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_RENEWED));
	/* a permanent lease (0) is refreshed as if it had our lifetime */
	portmap_on_timeout(&pm, 1801000 + 1800000, &out);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 4500, 0, 3601000, &out);
	assert_true(out.deadline == 3601000 + 3600000);
	/* stop: DeletePortMapping, and done */
	portmap_stop(&pm, 3700000, &out);
	assert_non_null(find_act(&out, PORTMAP_ACT_UPNP_UNMAP));
	assert_int_equal(find_act(&out, PORTMAP_ACT_UPNP_UNMAP)->external_port, 4500);
	assert_non_null(find_note(&out, PORTMAP_NOTE_DELETED));
	assert_true(portmap_stopped(&pm));
}

static void grant_without_port_refused(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	struct portmap_config cfg;
	uint8_t buf[PCP_MAX_LEN];
	struct portmap_action map;

	/* PCP: SUCCESS for external port 0, or for address 0.0.0.0, maps nothing */
	portmap_config_default(&cfg);
	cfg.protocols = PORTMAP_PROTO_PCP;
	start_pm(&pm, &cfg, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 7200, 10, "203.0.113.10", 0, buf), 1, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_REFUSED)->result, PCP_RESULT_CANNOT_PROVIDE_EXTERNAL);
	assert_false(portmap_get(&pm, 0)->held);
	start_pm(&pm, &cfg, &out);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 7200, 10, "0.0.0.0", 4500, buf), 1, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_non_null(find_note(&out, PORTMAP_NOTE_REFUSED));

	/* NAT-PMP: SUCCESS with mapped external port 0 */
	cfg.protocols = PORTMAP_PROTO_NATPMP;
	start_pm(&pm, &cfg, &out);
	map = *find_send(&out, 0);
	feed(&pm, buf, natpmp_addr("203.0.113.10", 5, buf), 1, &out);
	feed(&pm, buf, natpmp_answer(&map, 0, 7200, 5, 0, buf), 2, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_non_null(find_note(&out, PORTMAP_NOTE_REFUSED));
	assert_false(portmap_get(&pm, 0)->held);

	/* UPnP: an IGD that reports port 0 or 0.0.0.0 (not connected) */
	cfg.protocols = PORTMAP_PROTO_UPNP;
	start_pm(&pm, &cfg, &out);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 0, 3600, 10, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_int_equal(find_note(&out, PORTMAP_NOTE_FAILED)->result, PORTMAP_UPNP_ACTION_FAILED);
	start_pm(&pm, &cfg, &out);
	portmap_on_upnp(&pm, 0, 0, ip("0.0.0.0"), 4500, 3600, 10, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	assert_non_null(find_note(&out, PORTMAP_NOTE_FAILED));
	/* a renewal answered so: the mapping is lost, not kept at port 0 */
	start_pm(&pm, &cfg, &out);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 4500, 3600, 10, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));
	portmap_on_timeout(&pm, 10 + 1800000, &out);
	portmap_on_upnp(&pm, 0, 0, ip("203.0.113.10"), 0, 3600, 1800020, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_LOST));
	assert_null(find_note(&out, PORTMAP_NOTE_RENEWED));
}

static void stop_deletes(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	struct pcp_msg req;
	uint8_t why;

	/* PCP: MAP with lifetime 0 and the same nonce; answered */
	start_pcp_mapped(&pm, &out);
	assert_false(portmap_stopped(&pm));
	portmap_stop(&pm, 100, &out);
	assert_int_equal(pcp_request_parse(find_send(&out, 0)->pkt, find_send(&out, 0)->len, &req, &why), 0);
	assert_int_equal(req.lifetime, 0);
	assert_memory_equal(req.nonce, nonce1, PCP_NONCE_LEN);
	assert_false(portmap_stopped(&pm));
	assert_true(out.deadline == 350);
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 0, 10, "203.0.113.10", 4500, buf), 120, &out);
	assert_non_null(find_note(&out, PORTMAP_NOTE_DELETED));
	assert_true(portmap_stopped(&pm));
	assert_true(out.deadline == PORTMAP_NEVER);

	/* unanswered: 3 attempts (0, 250, 750 ms), given up at 1750 ms */
	start_pcp_mapped(&pm, &out);
	portmap_stop(&pm, 1000, &out);
	assert_non_null(find_send(&out, 0));
	portmap_on_timeout(&pm, 1250, &out);
	assert_non_null(find_send(&out, 0));
	portmap_on_timeout(&pm, 1750, &out);
	assert_non_null(find_send(&out, 0));
	assert_true(out.deadline == 2750);
	assert_false(portmap_stopped(&pm));
	portmap_on_timeout(&pm, 2750, &out);
	assert_null(find_send(&out, 0));
	assert_true(portmap_stopped(&pm));

	/* NAT-PMP delete: lifetime 0, suggested port 0 (RFC 6886 §3.4) */
	{
		struct portmap_config cfg;
		struct portmap_action map;

		portmap_config_default(&cfg);
		cfg.protocols = PORTMAP_PROTO_NATPMP;
		start_pm(&pm, &cfg, &out);
		map = *find_send(&out, 0);
		feed(&pm, buf, natpmp_addr("203.0.113.10", 5, buf), 1, &out);
		feed(&pm, buf, natpmp_answer(&map, 0, 7200, 5, 4500, buf), 2, &out);
		portmap_stop(&pm, 10, &out);
		map = *find_send(&out, 0);
		assert_int_equal(map.len, 12);
		assert_int_equal(map.pkt[6] << 8 | map.pkt[7], 0);
		assert_int_equal(map.pkt[11], 0);
		feed(&pm, buf, natpmp_answer(&map, 0, 0, 5, 0, buf), 20, &out);
		assert_true(portmap_stopped(&pm));
	}

	/* nothing held and no gateway known: nothing to delete */
	start_pm(&pm, NULL, &out);
	portmap_stop(&pm, 5, &out);
	assert_int_equal(out.n_actions, 0);
	assert_true(portmap_stopped(&pm));
}

static void netchange_starts_over(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	struct pcp_msg req;
	uint8_t why;

	start_pcp_mapped(&pm, &out);
	portmap_on_netchange(&pm, ip("192.168.2.2"), 5000, &out);
	assert_int_equal(pcp_request_parse(find_send(&out, 0)->pkt, find_send(&out, 0)->len, &req, &why), 0);
	assert_int_equal(req.client_addr.s6_addr[14], 2);	/* the new local address */
	assert_int_equal(req.client_addr.s6_addr[15], 2);
	assert_int_equal(req.external_port, 4500);		/* the wanted port, not the old one */
	assert_true(out.deadline == 5250);
	/* the new gateway's epoch is small: no reset, it is another gateway */
	feed(&pm, buf, pcp_answer(find_send(&out, 0), 0, 7200, 1, "203.0.113.20", 4500, buf), 5010, &out);
	assert_null(find_note(&out, PORTMAP_NOTE_GATEWAY_RESET));
	assert_non_null(find_note(&out, PORTMAP_NOTE_MAPPED));
}

static void forced_protocols(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	struct portmap_config cfg;
	uint8_t buf[PCP_MAX_LEN];

	/* NAT-PMP only, against a PCP-only gateway: refused, nothing else allowed */
	portmap_config_default(&cfg);
	cfg.protocols = PORTMAP_PROTO_NATPMP;
	start_pm(&pm, &cfg, &out);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_NATPMP);
	{
		struct pcp_msg m = { .response = true, .opcode = PCP_OP_MAP,
				     .result = PCP_RESULT_UNSUPP_VERSION, .epoch = 5 };
		int n = pcp_msg_build(&m, buf, sizeof(buf));

		assert_int_equal(n, 24);
		feed(&pm, buf, (size_t)n, 3, &out);
	}
	assert_non_null(find_note(&out, PORTMAP_NOTE_REFUSED));
	assert_non_null(find_note(&out, PORTMAP_NOTE_FAILED));

	/* UPnP only: no packet on port 5351 at all */
	cfg.protocols = PORTMAP_PROTO_UPNP;
	start_pm(&pm, &cfg, &out);
	assert_null(find_send(&out, 0));
	assert_non_null(find_act(&out, PORTMAP_ACT_UPNP_MAP));

	/* PCP only, silent gateway: all tries are PCP */
	portmap_config_default(&cfg);
	cfg.protocols = PORTMAP_PROTO_PCP;
	cfg.tries = 5;
	start_pm(&pm, &cfg, &out);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
		portmap_on_timeout(&pm, out.deadline, &out);
	}
	assert_non_null(find_note(&out, PORTMAP_NOTE_PUBLIC));
}

static void pcp_only_gateway_after_natpmp_guess(void **state)
{
	struct portmap pm;
	struct portmap_out out;
	uint8_t buf[PCP_MAX_LEN];
	const struct portmap_note *n;

	/* PCP lost three times, NAT-PMP tried, and a PCP-only gateway says
	 * UNSUPP_VERSION in PCP: back to PCP at once */
	start_pm(&pm, NULL, &out);
	portmap_on_timeout(&pm, 250, &out);
	portmap_on_timeout(&pm, 750, &out);
	portmap_on_timeout(&pm, 1750, &out);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_NATPMP);
	{
		struct pcp_msg m = { .response = true, .opcode = PCP_OP_MAP,
				     .result = PCP_RESULT_UNSUPP_VERSION, .epoch = 5 };
		int len = pcp_msg_build(&m, buf, sizeof(buf));

		feed(&pm, buf, (size_t)len, 1760, &out);
	}
	n = find_note(&out, PORTMAP_NOTE_FALLBACK);
	assert_non_null(n);
	assert_int_equal(n->from, PORTMAP_PROTO_NATPMP);
	assert_int_equal(n->proto, PORTMAP_PROTO_PCP);
	assert_int_equal(find_send(&out, 0)->proto, PORTMAP_PROTO_PCP);
	assert_true(out.deadline == 2010);
}

static void reply_parse(void **state)
{
	struct portmap_reply r;
	const uint8_t natpmp_unsupp[8] = { 0, 129, 0, 1, 0, 0, 0, 1 };
	const uint8_t pcp_v1_unsupp[24] = { 1, 0x81, 0, 1 };
	uint8_t buf[64] = { 2, 0x81, 0, 1 };

	assert_int_equal(portmap_reply_parse(natpmp_unsupp, 8, &r), 0);
	assert_int_equal(r.proto, PORTMAP_PROTO_NATPMP);
	assert_true(r.unsupp_version);
	assert_int_equal(portmap_reply_parse(pcp_v1_unsupp, 24, &r), 0);
	assert_int_equal(r.proto, PORTMAP_PROTO_PCP);
	assert_true(r.unsupp_version);
	assert_int_equal(portmap_reply_parse(buf, 24, &r), 0);
	assert_true(r.unsupp_version);
	assert_int_equal(r.pcp.version, 2);
	buf[3] = 2;	/* a header-only NOT_AUTHORIZED */
	assert_int_equal(portmap_reply_parse(buf, 24, &r), 0);
	assert_false(r.unsupp_version);
	/* garbage and requests are refused */
	assert_int_equal(portmap_reply_parse(buf, 0, &r), -EBADMSG);
	buf[1] = 1;
	assert_int_equal(portmap_reply_parse(buf, 24, &r), -EBADMSG);
	buf[0] = 1;
	buf[1] = 0x81;
	buf[3] = 0;
	assert_int_equal(portmap_reply_parse(buf, 24, &r), -EPROTONOSUPPORT);

	assert_string_equal(portmap_proto_str(PORTMAP_PROTO_NATPMP), "NAT-PMP");
	assert_string_equal(portmap_proto_str(PORTMAP_PROTO_UPNP), "UPnP IGD");
	assert_string_equal(portmap_result_str(PORTMAP_PROTO_PCP, 2), "NOT_AUTHORIZED");
}

static void add_bounds(void **state)
{
	struct portmap pm;

	portmap_init(&pm, NULL, ip("192.168.1.2"));
	assert_int_equal(portmap_add(&pm, 1, 4500, 0, nonce1), -EINVAL);
	assert_int_equal(portmap_add(&pm, PCP_PROTO_UDP, 0, 0, nonce1), -EINVAL);
	for (int i = 0; i < PORTMAP_MAX_MAPS; i++)
		assert_int_equal(portmap_add(&pm, PCP_PROTO_UDP, (uint16_t)(1000 + i), 0, nonce1), i);
	assert_int_equal(portmap_add(&pm, PCP_PROTO_UDP, 2000, 0, nonce1), -ENOSPC);
	assert_null(portmap_get(&pm, PORTMAP_MAX_MAPS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schedule_no_gateway_default),
		cmocka_unit_test(schedule_short_count),
		cmocka_unit_test(pcp_map_renew_lose),
		cmocka_unit_test(pcp_short_lifetime),
		cmocka_unit_test(pcp_gateway_reboot_announce),
		cmocka_unit_test(pcp_epoch_in_reply),
		cmocka_unit_test(pcp_unsolicited_map_new_address),
		cmocka_unit_test(pcp_refused),
		cmocka_unit_test(natpmp_version_fallback),
		cmocka_unit_test(natpmp_after_silent_pcp),
		cmocka_unit_test(natpmp_gateway_reboot),
		cmocka_unit_test(epoch_natpmp_rule),
		cmocka_unit_test(epoch_pcp_rule),
		cmocka_unit_test(unreachable_goes_to_upnp),
		cmocka_unit_test(grant_without_port_refused),
		cmocka_unit_test(stop_deletes),
		cmocka_unit_test(netchange_starts_over),
		cmocka_unit_test(forced_protocols),
		cmocka_unit_test(pcp_only_gateway_after_natpmp_guess),
		cmocka_unit_test(reply_parse),
		cmocka_unit_test(add_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
