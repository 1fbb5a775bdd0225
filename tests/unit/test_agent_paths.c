/*
 * lib/agent paths: pair order, check pacing, back-off, budget, nomination,
 * peer-reflexive learning and the prediction round, on a fake clock; and
 * the rule that leaves one IKE initiator.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/paths.h"

#define T0 5000000u	/* an arbitrary start on the monotonic clock */

static struct agent_cand v4(enum agent_cand_kind kind, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct agent_cand x = { .kind = (uint8_t)kind, .addr = { a, b, c, d }, .port = port,
				.prio = agent_cand_priority(kind, 0) };

	if (kind == AGENT_CAND_LAN)
		x.plen = 24;
	if (kind == AGENT_CAND_SRFLX)
		x.map = AGENT_NAT_EI, x.filt = AGENT_NAT_APD;
	return x;
}

static struct agent_cand v6(enum agent_cand_kind kind, uint8_t site, uint8_t last, uint16_t port)
{
	struct agent_cand x = { .kind = (uint8_t)kind, .v6 = true,
				.addr = { 0x20, 0x01, 0x0d, 0xb8, 0, site, [15] = last }, .port = port,
				.prio = agent_cand_priority(kind, 0) };

	if (kind == AGENT_CAND_IPV6)
		x.plen = 64;
	return x;
}

static struct agent_paths_cfg cfg(void)
{
	struct agent_paths_cfg c;

	agent_paths_cfg_default(&c);
	return c;
}

/* Poll at @p now and expect exactly @p n packets. */
static struct agent_paths_out poll_n(struct agent_paths *p, uint64_t now, size_t n)
{
	struct agent_paths_out o;

	agent_paths_poll(p, now, &o);
	if (o.n != n)
		fail_msg("at T0+%llu: %zu packets, expected %zu", (unsigned long long)(now - T0), o.n, n);
	return o;
}

static size_t count_probes(const struct agent_paths_out *o)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n; i++)
		n += o->check[i].pair == AGENT_PATHS_NONE;
	return n;
}

static void order_by_class(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v6(AGENT_CAND_IPV6, 1, 2, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000),
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50000),
	};
	struct agent_cand remote[] = {
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50001),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
		v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000),
		v6(AGENT_CAND_IPV6, 2, 2, 4500),
		v4(AGENT_CAND_LAN, 192, 168, 1, 3, 4500),
		v4(AGENT_CAND_PUBLIC, 198, 51, 100, 7, 4500),
	};
	static const uint8_t want[] = {
		AGENT_PATH_LAN, AGENT_PATH_IPV6, AGENT_PATH_PUBLIC, AGENT_PATH_MAPPED, AGENT_PATH_PUNCHED,
		/* the peer's relay from our address; our relay to the peer's public, mapped, reflexive */
		AGENT_PATH_RELAY, AGENT_PATH_RELAY, AGENT_PATH_RELAY, AGENT_PATH_RELAY,
	};
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;

	(void)state;
	c.rto_ms = 1000;	/* no retransmission before every pair had its first check */
	assert_int_equal(agent_paths_start(&p, &c, local, 4, remote, 6, true, 1, T0), 0);
	assert_int_equal(p.npairs, sizeof(want));
	for (size_t i = 0; i < sizeof(want); i++) {
		assert_int_equal(p.pair[i].cls, want[i]);
		assert_int_equal(p.pair[i].state, AGENT_PAIR_WAITING);
		if (i)	/* within a class, by RFC 8445 pair priority */
			assert_true(p.pair[i - 1].cls > p.pair[i].cls || p.pair[i - 1].prio >= p.pair[i].prio);
	}
	assert_string_equal(agent_path_class_name(p.pair[0].cls), "lan");
	assert_int_equal(p.remote[p.pair[0].remote].addr[3], 3);
	assert_int_equal(p.local[p.pair[0].local].kind, AGENT_CAND_LAN);
	/* direct IPv4 pairs leave from the best IPv4 base, the LAN address */
	assert_int_equal(p.local[p.pair[2].local].kind, AGENT_CAND_LAN);
	assert_int_equal(p.local[p.pair[1].local].kind, AGENT_CAND_IPV6);
	/* the relayed ones from our relay, except the one to the peer's relay */
	assert_int_equal(p.local[p.pair[5].local].kind, AGENT_CAND_LAN);
	assert_int_equal(p.remote[p.pair[5].remote].kind, AGENT_CAND_RELAY);
	for (size_t i = 6; i < 9; i++)
		assert_int_equal(p.local[p.pair[i].local].kind, AGENT_CAND_RELAY);

	/* the checks go out in that order, the relayed ones marked */
	for (size_t i = 0; i < sizeof(want); i++) {
		o = poll_n(&p, T0 + 20 * i, 1);
		assert_int_equal(o.check[0].pair, i);
		assert_int_equal(o.check[0].via_relay, i >= 6);
		assert_int_equal(o.check[0].attempt, 1);
	}

	/* the order does not depend on which side is controlling, only the pair priorities' tie-break bit */
	assert_int_equal(agent_paths_start(&p, &c, local, 4, remote, 6, false, 1, T0), 0);
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(p.pair[i].cls, want[i]);
}

static void lan_only_on_a_shared_subnet(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = {
		v4(AGENT_CAND_LAN, 192, 168, 2, 2, 4500),	/* another subnet: another LAN */
		v4(AGENT_CAND_LAN, 192, 168, 1, 9, 4501),	/* same prefix, other length */
	};
	struct agent_paths p;

	(void)state;
	remote[1].plen = 16;
	assert_int_equal(agent_paths_start(&p, NULL, local, 1, remote, 2, true, 1, T0), 0);
	assert_int_equal(p.npairs, 0);
	assert_int_equal(p.state, AGENT_PATHS_FAILED);
	/* the same /24: one pair */
	remote[1].plen = 24;
	assert_int_equal(agent_paths_start(&p, NULL, local, 1, remote, 2, true, 1, T0), 0);
	assert_int_equal(p.npairs, 1);
	assert_int_equal(p.pair[0].remote, 1);
	/* a /32 on both sides is a subnet of one address only */
	local[0].plen = 32;
	remote[1].plen = 32;
	assert_int_equal(agent_paths_start(&p, NULL, local, 1, remote, 2, true, 1, T0), 0);
	assert_int_equal(p.npairs, 0);
}

static void pacing_and_retransmission(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = {
		v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 21, 41001),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 22, 41002),
	};
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;

	(void)state;
	c.predict_max = 0;
	assert_int_equal(agent_paths_start(&p, &c, local, 1, remote, 4, true, 1, T0), 0);
	assert_int_equal(p.npairs, 4);
	/* one check per 20 ms, not one more */
	o = poll_n(&p, T0, 1);
	assert_int_equal(o.check[0].pair, 0);
	assert_true(o.next == T0 + 20);
	poll_n(&p, T0, 0);
	poll_n(&p, T0 + 19, 0);
	o = poll_n(&p, T0 + 20, 1);
	assert_int_equal(o.check[0].pair, 1);
	o = poll_n(&p, T0 + 40, 1);
	assert_int_equal(o.check[0].pair, 2);
	o = poll_n(&p, T0 + 60, 1);
	assert_int_equal(o.check[0].pair, 3);
	/* all sent: the next deadline is pair 0's first timeout, 100 ms after it went */
	assert_true(o.next == T0 + 100);
	poll_n(&p, T0 + 99, 0);
	o = poll_n(&p, T0 + 100, 1);
	assert_int_equal(o.check[0].pair, 0);
	assert_int_equal(o.check[0].attempt, 2);
	/* pair 1's retransmission is due at 120 and goes then (the slot is free again at 120) */
	assert_true(o.next == T0 + 120);
	o = poll_n(&p, T0 + 120, 1);
	assert_int_equal(o.check[0].pair, 1);
	/* a late caller gets one check per poll, never a burst */
	o = poll_n(&p, T0 + 500, 1);
	assert_int_equal(o.check[0].pair, 0);	/* the best of the due ones */
	o = poll_n(&p, T0 + 500, 0);
	o = poll_n(&p, T0 + 519, 0);
	o = poll_n(&p, T0 + 520, 1);
	assert_int_equal(o.check[0].pair, 1);
	o = poll_n(&p, T0 + 540, 1);
	assert_int_equal(o.check[0].pair, 2);
}

static void backoff_then_failure(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = { v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000) };
	/* 100, 200, 400, 800, 1600, 1600: sends at 0, 100, 300, 700, 1500, 3100; gives up at 4700 */
	static const uint32_t at[] = { 0, 100, 300, 700, 1500, 3100 };
	struct agent_paths p;
	struct agent_paths_out o;

	(void)state;
	assert_int_equal(agent_paths_start(&p, NULL, local, 1, remote, 1, true, 1, T0), 0);
	for (size_t i = 0; i < 6; i++) {
		if (i)
			poll_n(&p, T0 + at[i] - 1, 0);
		o = poll_n(&p, T0 + at[i], 1);
		assert_int_equal(o.check[0].attempt, i + 1);
		assert_true(o.next == T0 + (i < 5 ? at[i + 1] : 4700));
	}
	o = poll_n(&p, T0 + 4699, 0);
	assert_false(o.failed);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_IN_PROGRESS);
	o = poll_n(&p, T0 + 4700, 0);
	assert_true(o.failed);
	assert_true(o.next == AGENT_NEVER);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_FAILED);
	assert_int_equal(p.state, AGENT_PATHS_FAILED);
	/* reported once */
	o = poll_n(&p, T0 + 4800, 0);
	assert_false(o.failed);
}

static void budget_ends_the_round(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = { v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000) };
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;

	(void)state;
	c.budget_ms = 500;
	assert_int_equal(agent_paths_start(&p, &c, local, 1, remote, 1, true, 1, T0), 0);
	poll_n(&p, T0, 1);
	poll_n(&p, T0 + 100, 1);
	o = poll_n(&p, T0 + 300, 1);
	/* the retransmission would be at 700: the budget's end comes first */
	assert_true(o.next == T0 + 500);
	o = poll_n(&p, T0 + 499, 0);
	assert_false(o.failed);
	o = poll_n(&p, T0 + 500, 0);
	assert_true(o.failed);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_FAILED);
}

static void nomination_waits_for_better_pairs(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 3, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50001),
	};
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o, sent[3];

	(void)state;
	c.predict_max = 0;
	assert_int_equal(agent_paths_start(&p, &c, local, 1, remote, 3, true, 1, T0), 0);
	assert_int_equal(p.npairs, 3);
	sent[0] = poll_n(&p, T0, 1);
	sent[1] = poll_n(&p, T0 + 20, 1);
	assert_int_equal(p.pair[sent[1].check[0].pair].cls, AGENT_PATH_PUNCHED);
	/* the punched pair works at 50; the LAN pair is still being checked: wait 200 ms for it */
	assert_int_equal(agent_paths_on_response(&p, T0 + 50, &sent[1].check[0], 30), 0);
	sent[2] = poll_n(&p, T0 + 50, 1);	/* the relay pair is still checked meanwhile */
	assert_int_equal(sent[2].nominated, AGENT_PATHS_NONE);
	o = poll_n(&p, T0 + 100, 1);	/* LAN retransmitted */
	assert_int_equal(o.check[0].pair, 0);
	assert_int_equal(o.nominated, AGENT_PATHS_NONE);
	o = poll_n(&p, T0 + 150, 1);	/* the relay pair retransmitted */
	assert_int_equal(o.check[0].pair, 2);
	assert_int_equal(o.nominated, AGENT_PATHS_NONE);
	assert_true(o.next == T0 + 250);
	o = poll_n(&p, T0 + 249, 0);
	assert_int_equal(o.nominated, AGENT_PATHS_NONE);
	o = poll_n(&p, T0 + 250, 0);
	assert_int_equal(o.nominated, 1);
	assert_int_equal(p.nominated, 1);
	assert_int_equal(p.pair[1].rtt_ms, 30);
	/* the relay pair cannot beat it: cancelled; the LAN pair still can: kept */
	assert_int_equal(p.pair[2].state, AGENT_PAIR_CANCELLED);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_IN_PROGRESS);
	/* the LAN pair answers late: an upgrade, nominated at once (nothing better is left) */
	assert_int_equal(agent_paths_on_response(&p, T0 + 400, &sent[0].check[0], 1), 0);
	o = poll_n(&p, T0 + 400, 0);
	assert_int_equal(o.nominated, 0);
	assert_true(o.next == AGENT_NEVER);
	assert_int_equal(p.state, AGENT_PATHS_DONE);
	assert_false(o.failed);
	/* unknown pairs are refused */
	o.check[0] = sent[0].check[0];
	o.check[0].pair = 200;
	assert_int_equal(agent_paths_start(&p, &c, local, 1, remote, 3, true, 1, T0), 0);
	assert_int_equal(agent_paths_on_response(&p, T0, &o.check[0], 1), -ENOENT);
}

static void best_pair_nominated_at_once(void **state)
{
	struct agent_cand local[] = { v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500) };
	struct agent_cand remote[] = {
		v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
	};
	struct agent_paths p;
	struct agent_paths_out o, s0;

	(void)state;
	assert_int_equal(agent_paths_start(&p, NULL, local, 1, remote, 2, true, 1, T0), 0);
	s0 = poll_n(&p, T0, 1);
	assert_int_equal(agent_paths_on_response(&p, T0 + 12, &s0.check[0], 12), 0);
	o = poll_n(&p, T0 + 12, 0);	/* nothing more: the other pair is cancelled */
	assert_int_equal(o.nominated, 0);
	assert_int_equal(p.pair[1].state, AGENT_PAIR_CANCELLED);
	assert_int_equal(p.state, AGENT_PATHS_DONE);
}

static void relay_only_after_relay_wait(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50000),
	};
	struct agent_cand remote[] = { v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000) };
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o, punched, relayed;

	(void)state;
	c.predict_max = 0;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	assert_int_equal(p.npairs, 2);
	punched = poll_n(&p, T0, 1);
	relayed = poll_n(&p, T0 + 20, 1);
	assert_true(relayed.check[0].via_relay);
	assert_int_equal(agent_paths_on_response(&p, T0 + 80, &relayed.check[0], 60), 0);
	/* the punched pair is still being tried (until 4700): the relay waits until 2000 */
	for (uint64_t t = T0 + 80; t < T0 + 2000; t += 10) {
		agent_paths_poll(&p, t, &o);
		assert_int_equal(o.nominated, AGENT_PATHS_NONE);
		assert_true(o.next <= T0 + 2000);
	}
	o = poll_n(&p, T0 + 2000, 0);
	assert_int_equal(o.nominated, 1);
	/* direct checks go on in the background; the first success moves the path */
	assert_int_equal(p.pair[0].state, AGENT_PAIR_IN_PROGRESS);
	assert_int_equal(agent_paths_on_response(&p, T0 + 3200, &punched.check[0], 40), 0);
	o = poll_n(&p, T0 + 3200, 0);
	assert_int_equal(o.nominated, 0);
	assert_int_equal(p.state, AGENT_PATHS_DONE);

	/* with every direct pair failed, the relay is taken at once */
	c.tries = 1;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	poll_n(&p, T0, 1);
	relayed = poll_n(&p, T0 + 20, 1);
	assert_int_equal(agent_paths_on_response(&p, T0 + 50, &relayed.check[0], 30), 0);
	o = poll_n(&p, T0 + 50, 0);
	assert_int_equal(o.nominated, AGENT_PATHS_NONE);
	o = poll_n(&p, T0 + 100, 0);	/* the punched pair's only try timed out */
	assert_int_equal(o.nominated, 1);
}

static void peer_reflexive_learned(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v6(AGENT_CAND_IPV6, 1, 2, 4500),
	};
	struct agent_cand remote[] = { v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000) };
	uint8_t from[16] = { 203, 0, 113, 20 };
	uint8_t from6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 9 };
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;

	(void)state;
	c.predict_max = 0;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	poll_n(&p, T0, 1);
	/* the peer's NAT gave its check another port than STUN saw: a new candidate */
	assert_int_equal(agent_paths_on_check(&p, T0 + 5, 0, false, from, 52000), 0);
	assert_int_equal(p.nremote, 2);
	assert_int_equal(p.remote[1].kind, AGENT_CAND_PRFLX);
	assert_int_equal(p.remote[1].port, 52000);
	assert_int_equal(p.npairs, 2);
	assert_int_equal(p.pair[1].cls, AGENT_PATH_PUNCHED);
	assert_true(p.pair[1].triggered);
	/* the same check again learns nothing new */
	assert_int_equal(agent_paths_on_check(&p, T0 + 6, 0, false, from, 52000), 0);
	assert_int_equal(p.nremote, 2);
	assert_int_equal(p.npairs, 2);
	/* the triggered check goes first at the next slot, before pair 0's retransmission */
	poll_n(&p, T0 + 19, 0);
	o = poll_n(&p, T0 + 20, 1);
	assert_int_equal(o.check[0].pair, 1);
	assert_int_equal(o.check[0].port, 52000);
	/* its priority (peer-reflexive over server-reflexive) beats pair 0: nominated at once */
	assert_int_equal(agent_paths_on_response(&p, T0 + 45, &o.check[0], 25), 0);
	o = poll_n(&p, T0 + 45, 0);
	assert_int_equal(o.nominated, 1);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_CANCELLED);

	/* IPv6 from an address we did not know: the firewall-only IPv6 path */
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	assert_int_equal(agent_paths_on_check(&p, T0, 0, true, from6, 4500), 0);
	assert_int_equal(p.pair[p.npairs - 1].cls, AGENT_PATH_IPV6);
	o = poll_n(&p, T0, 1);
	assert_true(o.check[0].v6);
	assert_memory_equal(o.check[0].addr, from6, 16);

	/* a source on our own subnet is a LAN path */
	from[0] = 192, from[1] = 168, from[2] = 1, from[3] = 77;
	assert_int_equal(agent_paths_on_check(&p, T0, 0, false, from, 4500), 0);
	assert_int_equal(p.pair[p.npairs - 1].cls, AGENT_PATH_LAN);

	/* once the round is over, checks are ignored (the agent starts another round) */
	c.tries = 1;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	poll_n(&p, T0, 1);
	poll_n(&p, T0 + 100, 0);
	assert_int_equal(p.state, AGENT_PATHS_FAILED);
	from[0] = 203, from[1] = 0, from[2] = 113, from[3] = 20;
	assert_int_equal(agent_paths_on_check(&p, T0 + 150, 0, false, from, 41000), 0);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_FAILED);
	poll_n(&p, T0 + 150, 0);

	/* a failed pair comes back when the peer's check arrives on it while the round runs */
	{
		struct agent_cand two[] = { remote[0], v4(AGENT_CAND_SRFLX, 203, 0, 113, 21, 41001) };

		assert_int_equal(agent_paths_start(&p, &c, local, 2, two, 2, true, 1, T0), 0);
		assert_int_equal(poll_n(&p, T0, 1).check[0].pair, 0);
		assert_int_equal(poll_n(&p, T0 + 20, 1).check[0].pair, 1);
		poll_n(&p, T0 + 100, 0);
		assert_int_equal(p.pair[0].state, AGENT_PAIR_FAILED);
		assert_int_equal(agent_paths_on_check(&p, T0 + 110, 0, false, from, 41000), 0);
		assert_int_equal(p.pair[0].state, AGENT_PAIR_WAITING);
		o = poll_n(&p, T0 + 110, 1);
		assert_int_equal(o.check[0].pair, 0);
		assert_int_equal(o.check[0].attempt, 1);
		assert_int_equal(p.nremote, 2);
	}

	/* the table of learned candidates is bounded */
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 1, T0), 0);
	for (int i = 0; i < AGENT_PATHS_REMOTE_MAX - 1; i++)
		assert_int_equal(agent_paths_on_check(&p, T0, 0, false, from, (uint16_t)(1000 + i)), 0);
	assert_int_equal(agent_paths_on_check(&p, T0, 0, false, from, 999), -ENOSPC);
}

/*
 * A relayed pair that works waits for a prediction round with a real
 * chance (SPRAY here) to end, rather than relay_wait_ms alone, so that the
 * direct path found by guessing is not preceded by a relayed detour.
 */
static void relay_waits_for_prediction(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000),
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50000),
	};
	struct agent_cand remote[] = { v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000) };
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;
	struct agent_check rc;
	bool have_rc = false, answered = false;
	uint64_t t, sent = 0, nominated_at = 0;

	(void)state;
	remote[0].map = AGENT_NAT_APD;
	c.predict_max = 500;
	assert_int_equal(agent_paths_start(&p, &c, local, 3, remote, 1, true, 7, T0), 0);
	assert_int_equal(p.predict_role, AGENT_PREDICT_SPRAY);
	for (t = T0; t < T0 + 20000; t++) {
		if (have_rc && !answered && t >= sent + 30) {
			assert_int_equal(agent_paths_on_response(&p, t, &rc, 30), 0);
			answered = true;
		}
		agent_paths_poll(&p, t, &o);
		for (size_t i = 0; i < o.n; i++)
			if (o.check[i].via_relay && !have_rc) {
				rc = o.check[i];
				have_rc = true;
				sent = t;
			}
		if (o.nominated != AGENT_PATHS_NONE) {
			nominated_at = t;
			break;
		}
	}
	assert_true(answered);
	assert_int_equal(p.pair[o.nominated].cls, AGENT_PATH_RELAY);
	/* 500 probes 4 ms apart from 1000 ms: the last at 2996 ms; not at relay_wait_ms (2000) */
	assert_true(nominated_at >= T0 + 1000 + 499 * 4);
	assert_true(nominated_at <= T0 + 1000 + 500 * 4 + 20);
}

static void predict_roles(void **state)
{
	struct agent_cand easy = v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000);
	struct agent_cand hard = v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000);
	struct agent_cand lan = v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500);
	struct agent_cand mapped = v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000);
	struct agent_cand l[2] = { lan, easy }, r[2];

	(void)state;
	hard.map = AGENT_NAT_APD;
	r[0] = hard;
	/* we are easy with port filtering, the peer hard: we spray, it opens sockets */
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_SPRAY);
	assert_int_equal(agent_paths_predict_role(r, 1, l, 2), AGENT_PREDICT_OPEN);
	/* unknown filtering counts as port filtering */
	l[1].filt = AGENT_NAT_UNKNOWN;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_SPRAY);
	/* address filtering: our own checks open the way, the first packet teaches the port */
	l[1].filt = AGENT_NAT_AD;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_NONE);
	assert_int_equal(agent_paths_predict_role(r, 1, l, 2), AGENT_PREDICT_NONE);
	l[1].filt = AGENT_NAT_EI;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_NONE);
	/* both endpoint-dependent (address-dependent counts) */
	l[1].filt = AGENT_NAT_APD;
	l[1].map = AGENT_NAT_AD;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_BOTH);
	assert_int_equal(agent_paths_predict_role(r, 1, l, 2), AGENT_PREDICT_BOTH);
	/* both easy */
	l[1].map = AGENT_NAT_EI;
	r[0].map = AGENT_NAT_UNKNOWN;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 1), AGENT_PREDICT_NONE);
	/* a mapping on either side, or no reflexive address: nothing to guess */
	r[0].map = AGENT_NAT_APD;
	r[1] = mapped;
	assert_int_equal(agent_paths_predict_role(l, 2, r, 2), AGENT_PREDICT_NONE);
	assert_int_equal(agent_paths_predict_role(r, 2, l, 2), AGENT_PREDICT_NONE);
	assert_int_equal(agent_paths_predict_role(l, 1, r, 1), AGENT_PREDICT_NONE);
}

static void prediction_round_bounded(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000),
	};
	struct agent_cand remote[] = { v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000) };
	static uint8_t seen[65536];
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;
	size_t probes = 0, checks = 0;
	uint64_t t, last = 0;

	(void)state;
	remote[0].map = AGENT_NAT_APD;
	c.predict_max = 1000;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 42, T0), 0);
	assert_int_equal(p.predict_role, AGENT_PREDICT_SPRAY);
	memset(seen, 0, sizeof(seen));
	for (t = T0; t < T0 + 20000; t++) {
		agent_paths_poll(&p, t, &o);
		for (size_t i = 0; i < o.n; i++) {
			if (o.check[i].pair != AGENT_PATHS_NONE) {
				checks++;
				continue;
			}
			/* none before predict_after_ms, then one per 4 ms at most */
			assert_true(t >= T0 + 1000);
			assert_true(last == 0 || t - last >= 4);
			last = t;
			assert_int_equal(o.check[i].sock, 0);
			assert_memory_equal(o.check[i].addr, remote[0].addr, 4);
			assert_true(o.check[i].port >= 1024);
			assert_int_equal(seen[o.check[i].port], 0);	/* each port once */
			seen[o.check[i].port] = 1;
			probes++;
		}
		if (o.next == AGENT_NEVER)
			break;
		assert_true(o.next > t);
	}
	assert_int_equal(probes, 1000);
	assert_int_equal(checks, 6);
	assert_int_equal(p.state, AGENT_PATHS_FAILED);
	/* 1000 probes, 4 ms apart from 1000 ms: the last one at 4996 ms */
	assert_true(last == T0 + 1000 + 999 * 4);

	/* the hard side opens sockets: each probe from the next one, to the peer's reflexive address */
	{
		struct agent_cand hl[] = { v4(AGENT_CAND_LAN, 10, 0, 0, 2, 4500), remote[0] };

		assert_int_equal(agent_paths_start(&p, &c, hl, 2, local, 2, false, 42, T0), 0);
		assert_int_equal(p.predict_role, AGENT_PREDICT_OPEN);
		assert_int_equal(p.npairs, 1);	/* the LANs differ: only the punched pair */
		poll_n(&p, T0, 1);
		agent_paths_poll(&p, T0 + 999, &o);
		assert_int_equal(count_probes(&o), 0);
		probes = 0;
		for (uint32_t i = 0; i < 600; i++) {
			agent_paths_poll(&p, T0 + 1000 + 4 * (uint64_t)i, &o);
			for (size_t k = 0; k < o.n; k++) {
				if (o.check[k].pair != AGENT_PATHS_NONE)
					continue;
				assert_int_equal(o.check[k].sock, 1 + probes % 256);
				assert_int_equal(o.check[k].port, 40000);
				assert_memory_equal(o.check[k].addr, local[1].addr, 4);
				probes++;
			}
		}
		assert_int_equal(probes, 600);
	}
}

static void prediction_stops_on_success(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000),
	};
	struct agent_cand remote[] = { v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000) };
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o;
	struct agent_check probe;

	(void)state;
	remote[0].map = AGENT_NAT_APD;
	local[1].map = AGENT_NAT_APD;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 1, true, 7, T0), 0);
	assert_int_equal(p.predict_role, AGENT_PREDICT_BOTH);
	poll_n(&p, T0, 1);
	agent_paths_poll(&p, T0 + 999, &o);
	assert_int_equal(count_probes(&o), 0);
	agent_paths_poll(&p, T0 + 1000, &o);
	assert_int_equal(count_probes(&o), 1);
	assert_int_equal(o.check[o.n - 1].pair, AGENT_PATHS_NONE);	/* the probe after the check */
	assert_int_equal(o.check[o.n - 1].sock, 1);
	o = poll_n(&p, T0 + 1004, 1);
	assert_int_equal(o.check[0].pair, AGENT_PATHS_NONE);
	assert_int_equal(o.check[0].sock, 2);
	assert_int_not_equal(o.check[0].port, 41000);	/* both hard: ports from the permutation */
	probe = o.check[0];
	/* the second probe is answered: a peer-reflexive pair on socket 2 works */
	assert_int_equal(agent_paths_on_response(&p, T0 + 1030, &probe, 26), 0);
	assert_int_equal(p.pair[p.npairs - 1].state, AGENT_PAIR_SUCCEEDED);
	assert_int_equal(p.pair[p.npairs - 1].sock, 2);
	assert_int_equal(p.pair[p.npairs - 1].cls, AGENT_PATH_PUNCHED);
	assert_int_equal(p.remote[p.pair[p.npairs - 1].remote].port, probe.port);
	/* no probe after that */
	for (uint64_t t = T0 + 1030; t < T0 + 1300; t++) {
		agent_paths_poll(&p, t, &o);
		for (size_t i = 0; i < o.n; i++)
			assert_int_not_equal(o.check[i].pair, AGENT_PATHS_NONE);
	}
	/* peer-reflexive beats the server-reflexive pair still checked: nominated at once, pair 0 cancelled */
	assert_int_equal(p.nominated, p.npairs - 1);
	assert_int_equal(p.pair[0].state, AGENT_PAIR_CANCELLED);
	assert_false(p.predict_on);
	assert_true(p.predict_over);
	assert_int_equal(p.predict_sent, 2);
}

static void start_rejects(void **state)
{
	struct agent_cand ok = v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500);
	struct agent_cand bad = ok, many[AGENT_CAND_MAX + 1];
	struct agent_paths p;

	(void)state;
	bad.port = 0;
	assert_int_equal(agent_paths_start(&p, NULL, &bad, 1, &ok, 1, true, 1, T0), -EINVAL);
	assert_int_equal(agent_paths_start(&p, NULL, &ok, 1, &bad, 1, true, 1, T0), -EINVAL);
	bad = ok;
	bad.kind = AGENT_CAND_PRFLX;	/* never in a record */
	assert_int_equal(agent_paths_start(&p, NULL, &ok, 1, &bad, 1, true, 1, T0), -EINVAL);
	for (int i = 0; i < AGENT_CAND_MAX + 1; i++) {
		many[i] = ok;
		many[i].port = (uint16_t)(1000 + i);
	}
	assert_int_equal(agent_paths_start(&p, NULL, &ok, 1, many, AGENT_CAND_MAX, true, 1, T0), 0);
	assert_int_equal(agent_paths_start(&p, NULL, &ok, 1, many, AGENT_CAND_MAX + 1, true, 1, T0), -EINVAL);
	assert_int_equal(agent_paths_start(&p, NULL, many, AGENT_CAND_MAX + 1, &ok, 1, true, 1, T0), -EINVAL);
}

static void one_ike_initiator(void **state)
{
	uint8_t a[16] = { 0xfd, 0x3c, 1 }, b[16] = { 0xfd, 0x3c, 2 };

	(void)state;
	assert_int_equal(agent_paths_ike_role(a, b), AGENT_IKE_INITIATOR);
	assert_int_equal(agent_paths_ike_role(b, a), AGENT_IKE_RESPONDER);
	assert_int_equal(agent_paths_ike_role(a, a), -EINVAL);
	/* the last byte decides as much as the first: exactly one initiator for every pair */
	for (int i = 0; i < 256; i++)
		for (int j = 0; j < 256; j += 17) {
			a[15] = (uint8_t)i;
			b[15] = (uint8_t)j;
			memcpy(b, a, 15);
			if (i == j) {
				assert_int_equal(agent_paths_ike_role(a, b), -EINVAL);
				continue;
			}
			assert_int_equal((agent_paths_ike_role(a, b) == AGENT_IKE_INITIATOR) +
					 (agent_paths_ike_role(b, a) == AGENT_IKE_INITIATOR), 1);
			assert_int_equal(agent_paths_ike_role(a, b) == AGENT_IKE_INITIATOR, i < j);
		}
}

static uint64_t rng_next(uint64_t *x)
{
	/* xorshift64*: a fixed sequence, so a failure replays */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ull;
}

/*
 * Random candidates, answers and checks from the peer, on a fake clock:
 * whatever happens, at most one paced check per pace_ms and one probe per
 * predict_pace_ms, never more than predict_max probes, the next deadline
 * always ahead, the round over by the end of its budget, and a nominated
 * pair always one that succeeded.
 */
static void random_runs_keep_invariants(void **state)
{
	const struct agent_cand pool[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v4(AGENT_CAND_LAN, 192, 168, 1, 3, 4500),
		v4(AGENT_CAND_LAN, 10, 0, 0, 3, 4500),
		v6(AGENT_CAND_IPV6, 1, 2, 4500),
		v6(AGENT_CAND_IPV6, 2, 2, 4500),
		v4(AGENT_CAND_MAPPED, 203, 0, 113, 20, 61000),
		v4(AGENT_CAND_PUBLIC, 198, 51, 100, 7, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40000),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
		v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 50000),
		v6(AGENT_CAND_RELAY, 0xff, 0x53, 50001),
	};
	const size_t npool = sizeof(pool) / sizeof(pool[0]);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t ndone = 0, nfailed = 0, nprobing = 0, nlearned = 0, nupgraded = 0;

	(void)state;
	for (int run = 0; run < 300; run++) {
		struct agent_cand local[AGENT_CAND_MAX], remote[AGENT_CAND_MAX];
		struct agent_paths_cfg c = cfg();
		struct agent_paths p;
		struct agent_paths_out o;
		struct agent_check sent[64];
		size_t nl = 0, nr = 0, nsent = 0, probes = 0;
		uint64_t t = T0, last_check = 0, last_probe = 0;
		bool done = false;
		int nominations = 0;

		for (size_t i = 0; i < npool; i++) {
			if (rng_next(&x) % 3 == 0 && nl < AGENT_CAND_MAX)
				local[nl++] = pool[i];
			if (rng_next(&x) % 3 == 0 && nr < AGENT_CAND_MAX)
				remote[nr++] = pool[i];
		}
		for (size_t i = 0; i < nl; i++)
			if (local[i].kind == AGENT_CAND_SRFLX)
				local[i].map = (uint8_t)(rng_next(&x) % 4), local[i].filt = (uint8_t)(rng_next(&x) % 4);
		for (size_t i = 0; i < nr; i++)
			if (remote[i].kind == AGENT_CAND_SRFLX)
				remote[i].map = (uint8_t)(rng_next(&x) % 4), remote[i].filt = (uint8_t)(rng_next(&x) % 4);
		c.predict_max = (uint16_t)(rng_next(&x) % 300);
		c.tries = (uint8_t)(1 + rng_next(&x) % 6);
		assert_int_equal(agent_paths_start(&p, &c, local, nl, remote, nr, rng_next(&x) & 1, rng_next(&x), T0), 0);
		while (!done) {
			agent_paths_poll(&p, t, &o);
			assert_true(o.n <= AGENT_PATHS_OUT_MAX);
			for (size_t i = 0; i < o.n; i++) {
				if (o.check[i].pair == AGENT_PATHS_NONE) {
					assert_true(probes == 0 || t - last_probe >= c.predict_pace_ms);
					last_probe = t;
					probes++;
				} else {
					assert_true(o.check[i].pair < p.npairs);
					assert_true(last_check == 0 || t - last_check >= c.pace_ms);
					last_check = t;
				}
				if (nsent < 64)
					sent[nsent++] = o.check[i];
			}
			if (o.nominated != AGENT_PATHS_NONE) {
				assert_int_equal(p.pair[o.nominated].state, AGENT_PAIR_SUCCEEDED);
				nominations++;
			}
			if (o.next == AGENT_NEVER) {
				done = true;
				break;
			}
			assert_true(o.next > t);
			assert_true(o.next <= T0 + c.budget_ms);
			/* sometimes an answer to something sent, sometimes a check from the peer */
			t = o.next;
			if (nsent && rng_next(&x) % 8 == 0) {
				struct agent_check *k = &sent[rng_next(&x) % nsent];

				assert_int_equal(agent_paths_on_response(&p, t, k, 20), 0);
			}
			if (rng_next(&x) % 16 == 0) {
				uint8_t a[16] = { 203, 0, 113, (uint8_t)(rng_next(&x) % 4) };
				int r = agent_paths_on_check(&p, t, 0, false, a, (uint16_t)(1 + rng_next(&x) % 8));

				assert_true(r == 0 || r == -ENOSPC || r == -ENOENT);
			}
		}
		assert_true(probes <= c.predict_max);
		assert_true(t <= T0 + c.budget_ms);
		assert_true(p.state == AGENT_PATHS_DONE || p.state == AGENT_PATHS_FAILED);
		assert_int_equal(p.state == AGENT_PATHS_DONE, p.nominated != AGENT_PATHS_NONE);
		ndone += p.state == AGENT_PATHS_DONE;
		nfailed += p.state == AGENT_PATHS_FAILED;
		nprobing += probes > 0;
		nlearned += p.nremote > nr;
		nupgraded += nominations > 1;
	}
	/* the runs did meet every case */
	assert_true(ndone > 10 && nfailed > 10 && nprobing > 0 && nlearned > 10 && nupgraded > 0);
}

/*
 * Happy Eyeballs (RFC 8305 §4, docs/paths.md §10): the first checks of
 * IPv6 and IPv4 direct pairs alternate, and the retransmissions of a dead
 * IPv6 do not hold IPv4's first check back; IPv4 working is nominated
 * nominate_wait_ms after its answer, not after IPv6's timeouts.
 */
static void happy_eyeballs(void **state)
{
	struct agent_cand local[] = {
		v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500),
		v6(AGENT_CAND_IPV6, 1, 2, 4500),
	};
	struct agent_cand remote[] = {
		v6(AGENT_CAND_IPV6, 2, 2, 4500),
		v6(AGENT_CAND_IPV6, 2, 3, 4500),
		v6(AGENT_CAND_IPV6, 2, 4, 4500),
		v4(AGENT_CAND_PUBLIC, 198, 51, 100, 7, 4500),
		v4(AGENT_CAND_SRFLX, 203, 0, 113, 20, 41000),
	};
	static const struct { bool v6; uint8_t cls; } want[] = {
		{ true, AGENT_PATH_IPV6 }, { false, AGENT_PATH_PUBLIC }, { true, AGENT_PATH_IPV6 },
		{ false, AGENT_PATH_PUNCHED }, { true, AGENT_PATH_IPV6 },
	};
	struct agent_paths_cfg c = cfg();
	struct agent_paths p;
	struct agent_paths_out o, pub;

	(void)state;
	c.predict_max = 0;
	c.rto_ms = 1000;	/* first checks only */
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 5, true, 1, T0), 0);
	assert_int_equal(p.npairs, 5);
	/* the pairs are still ordered by class: the three IPv6 ones first */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p.pair[i].cls, AGENT_PATH_IPV6);
	for (size_t i = 0; i < 5; i++) {
		o = poll_n(&p, T0 + 20 * i, 1);
		assert_int_equal(o.check[0].v6, want[i].v6);
		assert_int_equal(p.pair[o.check[0].pair].cls, want[i].cls);
		assert_int_equal(o.check[0].attempt, 1);
	}

	/* IPv6 dead, with retransmissions due at every slot: IPv4's first check still goes second */
	c.rto_ms = 20;
	assert_int_equal(agent_paths_start(&p, &c, local, 2, remote, 5, true, 1, T0), 0);
	o = poll_n(&p, T0, 1);
	assert_true(o.check[0].v6);
	pub = poll_n(&p, T0 + 20, 1);
	assert_false(pub.check[0].v6);
	assert_int_equal(p.pair[pub.check[0].pair].cls, AGENT_PATH_PUBLIC);
	o = poll_n(&p, T0 + 40, 1);	/* from now on the due retransmissions come first, as before */
	assert_int_equal(o.check[0].attempt, 2);
	/* IPv4 answers at 45: nominated 200 ms later, while the IPv6 pairs are still being retried */
	assert_int_equal(agent_paths_on_response(&p, T0 + 45, &pub.check[0], 25), 0);
	for (uint64_t t = T0 + 60; t < T0 + 245; t += 20) {
		agent_paths_poll(&p, t, &o);
		assert_int_equal(o.nominated, AGENT_PATHS_NONE);
	}
	agent_paths_poll(&p, T0 + 245, &o);
	assert_int_equal(o.nominated, pub.check[0].pair);
	/* the IPv6 pairs could still beat it: they go on; an answer later is an upgrade */
	for (size_t i = 0; i < p.npairs; i++)
		if (p.pair[i].cls == AGENT_PATH_IPV6)
			assert_true(p.pair[i].state == AGENT_PAIR_IN_PROGRESS || p.pair[i].state == AGENT_PAIR_WAITING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(order_by_class),
		cmocka_unit_test(lan_only_on_a_shared_subnet),
		cmocka_unit_test(pacing_and_retransmission),
		cmocka_unit_test(backoff_then_failure),
		cmocka_unit_test(budget_ends_the_round),
		cmocka_unit_test(nomination_waits_for_better_pairs),
		cmocka_unit_test(best_pair_nominated_at_once),
		cmocka_unit_test(relay_only_after_relay_wait),
		cmocka_unit_test(relay_waits_for_prediction),
		cmocka_unit_test(peer_reflexive_learned),
		cmocka_unit_test(predict_roles),
		cmocka_unit_test(prediction_round_bounded),
		cmocka_unit_test(prediction_stops_on_success),
		cmocka_unit_test(start_rejects),
		cmocka_unit_test(one_ike_initiator),
		cmocka_unit_test(random_runs_keep_invariants),
		cmocka_unit_test(happy_eyeballs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
