/*
 * lib/agent timers: the agent's timer policy driven by a fake clock, each
 * rule checked one millisecond before its deadline and at it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/timers.h"

#define T0 1000000u	/* an arbitrary start on the monotonic clock */

/* Exactly @p act is due at @p at and nothing one millisecond before. */
static void due_at(struct agent_timers *t, uint64_t at, enum agent_action act)
{
	assert_true(agent_timers_next(t) == at);
	assert_int_equal(agent_timers_due(t, at - 1), AGENT_ACT_NONE);
	assert_int_equal(agent_timers_due(t, at), act);
}

/* Start, learn the location at T0 + 200 and publish; returns with the update in flight. */
static void started(struct agent_timers *t)
{
	agent_timers_init(t, NULL);
	assert_true(agent_timers_next(t) == AGENT_NEVER);
	agent_timers_start(t, T0);
	assert_int_equal(agent_timers_due(t, T0), AGENT_ACT_LLQ_SETUP);
	/* publishing waits for the location: nothing else is due at T0 */
	assert_int_equal(agent_timers_due(t, T0), AGENT_ACT_NONE);
	assert_true(agent_timers_next(t) == T0 + 3000);
	agent_timers_llq_established(t, T0 + 100, 3600);
	agent_timers_location_known(t, T0 + 200);
	assert_int_equal(agent_timers_due(t, T0 + 200), AGENT_ACT_PUBLISH);
}

static void publish_refresh_at_80_percent(void **state)
{
	struct agent_timers t;
	uint64_t now = T0 + 300;

	started(&t);
	agent_timers_lease_granted(&t, now, 5400, 0);
	/* first the LLQ refresh at 80% of its 3600 s */
	due_at(&t, T0 + 100 + 2880000, AGENT_ACT_LLQ_REFRESH);
	agent_timers_llq_established(&t, T0 + 100 + 2880000, 7200);
	/* then the records at 80% of 5400 s = 4320 s */
	due_at(&t, now + 4320000, AGENT_ACT_PUBLISH);
	/* the server may grant less than asked: use what is granted */
	agent_timers_lease_granted(&t, now + 4320000, 1800, 0);
	due_at(&t, now + 4320000 + 1440000, AGENT_ACT_PUBLISH);
}

static void jitter_added_and_capped(void **state)
{
	struct agent_timers t;

	started(&t);
	agent_timers_lease_granted(&t, T0 + 300, 5400, 7000);
	assert_true(t.publish_at == T0 + 300 + 4320000 + 7000);
	agent_timers_due(&t, t.publish_at);
	/* 10% of 1800 s is 180 s: a jitter of 180000 ms is kept, one more is capped */
	agent_timers_lease_granted(&t, T0 + 400, 1800, 180000);
	assert_true(t.publish_at == T0 + 400 + 1440000 + 180000);
	agent_timers_due(&t, t.publish_at);
	agent_timers_lease_granted(&t, T0 + 500, 1800, 180001);
	assert_true(t.publish_at == T0 + 500 + 1440000 + 180000);
	assert_true(t.lease_end == T0 + 500 + 1800000);
}

static void update_retry_backs_off_and_caps(void **state)
{
	struct agent_timers t;
	static const uint32_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 64000,
					 128000, 256000, 300000, 300000, 300000 };
	uint64_t now = T0 + 200;

	started(&t);
	agent_timers_llq_established(&t, now, 7200);	/* keep the LLQ refresh out of the way */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		agent_timers_update_failed(&t, now);
		due_at(&t, now + want[i], AGENT_ACT_PUBLISH);
		now += want[i];
	}
	/* success resets the back-off */
	agent_timers_lease_granted(&t, now, 3600, 0);
	agent_timers_due(&t, now + 2880000);
	agent_timers_update_failed(&t, now + 2880000);
	assert_true(t.publish_at == now + 2880000 + 1000);
}

/*
 * A refused update (prerequisites) whose name check finds H.D ours: the
 * first time again at once, then after the growing back-off, never in a
 * loop; a granted update starts over.
 */
static void name_checked_backs_off_when_refusals_repeat(void **state)
{
	struct agent_timers t;
	static const uint32_t want[] = { 2000, 4000, 8000, 16000 };
	uint64_t now = T0 + 300;

	started(&t);
	agent_timers_llq_established(&t, now, 7200);
	agent_timers_update_failed(&t, now);	/* refused: name_lost */
	assert_true(agent_timers_name_checked(&t, now + 10));
	assert_int_equal(agent_timers_due(&t, now + 10), AGENT_ACT_PUBLISH);
	now += 20;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		agent_timers_update_failed(&t, now);	/* refused again */
		assert_false(agent_timers_name_checked(&t, now + 10));
		due_at(&t, now + want[i], AGENT_ACT_PUBLISH);
		now += want[i];
	}
	agent_timers_lease_granted(&t, now, 3600, 0);
	agent_timers_update_failed(&t, now + 5);
	assert_true(agent_timers_name_checked(&t, now + 10));
	assert_int_equal(agent_timers_due(&t, now + 10), AGENT_ACT_PUBLISH);
}

static void publish_waits_for_location_at_most_map_wait(void **state)
{
	struct agent_timers t;

	agent_timers_init(&t, NULL);
	agent_timers_start(&t, T0);
	assert_int_equal(agent_timers_due(&t, T0), AGENT_ACT_LLQ_SETUP);
	/* no gateway has answered yet: publish what is known after 3 s */
	due_at(&t, T0 + 3000, AGENT_ACT_PUBLISH);
	agent_timers_lease_granted(&t, T0 + 3100, 5400, 0);
	/* the location comes later: that alone is no reason to publish */
	agent_timers_location_known(&t, T0 + 5000);
	assert_int_equal(agent_timers_due(&t, T0 + 5000), AGENT_ACT_NONE);
	assert_true(t.publish_at == T0 + 3100 + 4320000);
	/* the records it changed are: at once */
	agent_timers_records_changed(&t, T0 + 5000);
	assert_int_equal(agent_timers_due(&t, T0 + 5000), AGENT_ACT_PUBLISH);
}

static void location_known_ends_the_wait(void **state)
{
	struct agent_timers t;

	/* known one millisecond before the wait ends: published then, not at the end */
	agent_timers_init(&t, NULL);
	agent_timers_start(&t, T0);
	agent_timers_due(&t, T0);
	agent_timers_location_known(&t, T0 + 2999);
	assert_true(agent_timers_next(&t) == T0 + 2999);
	assert_int_equal(agent_timers_due(&t, T0 + 2999), AGENT_ACT_PUBLISH);
	assert_int_equal(agent_timers_due(&t, T0 + 3000), AGENT_ACT_NONE);
	/* told twice: the second changes nothing while the update is in flight */
	agent_timers_location_known(&t, T0 + 3000);
	assert_true(agent_timers_next(&t) == AGENT_NEVER);

	/* a wait of 0 publishes at once */
	{
		struct agent_timer_cfg cfg;

		agent_timer_cfg_default(&cfg);
		cfg.map_wait_ms = 0;
		agent_timers_init(&t, &cfg);
		agent_timers_start(&t, T0);
		assert_int_equal(agent_timers_due(&t, T0), AGENT_ACT_PUBLISH);
	}
}

static void change_during_update_publishes_after_it(void **state)
{
	struct agent_timers t;

	started(&t);
	/* the services change while the update is in flight: no second update at once */
	agent_timers_records_changed(&t, T0 + 250);
	assert_int_equal(agent_timers_due(&t, T0 + 250), AGENT_ACT_NONE);
	/* its answer must not schedule a mere refresh: the new set goes out now */
	agent_timers_lease_granted(&t, T0 + 300, 5400, 0);
	assert_int_equal(agent_timers_due(&t, T0 + 300), AGENT_ACT_PUBLISH);
	agent_timers_lease_granted(&t, T0 + 400, 5400, 0);
	assert_true(t.publish_at == T0 + 400 + 4320000);
}

static void network_change_during_update(void **state)
{
	struct agent_timers t;

	started(&t);
	/* moved while the update is in flight: wait for the new location, then publish */
	agent_timers_network_changed(&t, T0 + 250, false);
	assert_int_equal(agent_timers_due(&t, T0 + 250), AGENT_ACT_NONE);
	/* the old update's answer does not cut the wait short or turn it into a refresh */
	agent_timers_lease_granted(&t, T0 + 260, 5400, 0);
	assert_true(t.publish_at == T0 + 250 + 3000);
	agent_timers_location_known(&t, T0 + 400);
	assert_int_equal(agent_timers_due(&t, T0 + 400), AGENT_ACT_PUBLISH);

	/* the wait ends while an older update is still in flight: no second update,
	 * no deadline left in the past, and the answer sends the new set */
	agent_timers_network_changed(&t, T0 + 500, false);
	assert_int_equal(agent_timers_due(&t, T0 + 500), AGENT_ACT_NONE);
	assert_int_equal(agent_timers_due(&t, T0 + 3500), AGENT_ACT_NONE);
	assert_true(agent_timers_next(&t) > T0 + 3500);
	agent_timers_update_failed(&t, T0 + 4000);
	assert_true(t.publish_at == T0 + 4000 + 1000);
	/* (a failure backs off; a success would publish at once, as above) */
}

static void network_change_with_new_address_resets_llq(void **state)
{
	struct agent_timers t;

	started(&t);
	agent_timers_lease_granted(&t, T0 + 300, 5400, 0);
	agent_timers_network_changed(&t, T0 + 10000, false);
	assert_int_equal(agent_timers_due(&t, T0 + 10000), AGENT_ACT_NONE);	/* LLQ kept */
	agent_timers_location_known(&t, T0 + 10100);
	assert_int_equal(agent_timers_due(&t, T0 + 10100), AGENT_ACT_PUBLISH);
	agent_timers_lease_granted(&t, T0 + 10200, 5400, 0);

	agent_timers_network_changed(&t, T0 + 20000, true);
	assert_false(t.llq_up);
	assert_int_equal(agent_timers_due(&t, T0 + 20000), AGENT_ACT_LLQ_SETUP);
}

static void llq_lost_polls_with_backoff_and_returns(void **state)
{
	struct agent_timers t;
	uint64_t now = T0 + 1000;

	started(&t);
	agent_timers_lease_granted(&t, T0 + 300, 5400, 0);
	agent_timers_llq_lost(&t, now);
	assert_false(t.llq_up);
	/* poll at once (events may have been missed), set up again after 1 s */
	assert_int_equal(agent_timers_due(&t, now), AGENT_ACT_POLL);
	due_at(&t, now + 1000, AGENT_ACT_LLQ_SETUP);
	agent_timers_poll_done(&t, now + 50);
	agent_timers_llq_failed(&t, now + 1100);
	/* next setup after 2 s; polls 15 s, 30 s, 60 s ... apart */
	due_at(&t, now + 1100 + 2000, AGENT_ACT_LLQ_SETUP);
	agent_timers_llq_failed(&t, now + 3200);
	due_at(&t, now + 3200 + 4000, AGENT_ACT_LLQ_SETUP);
	agent_timers_llq_failed(&t, now + 7300);	/* next setup at +8000 */
	due_at(&t, now + 50 + 15000, AGENT_ACT_POLL);
	agent_timers_poll_done(&t, now + 15100);
	due_at(&t, now + 7300 + 8000, AGENT_ACT_LLQ_SETUP);
	agent_timers_llq_failed(&t, now + 15400);	/* next at +16000, before the poll at +45100 */
	assert_true(t.poll_at == now + 15100 + 30000);
	/* the server is back: LLQ established, polling stops */
	due_at(&t, now + 31400, AGENT_ACT_LLQ_SETUP);
	agent_timers_llq_established(&t, now + 31500, 3600);
	assert_true(t.llq_up);
	assert_true(t.poll_at == AGENT_NEVER);
	assert_true(agent_timers_next(&t) < now + 31500 + 2880000 + 1);
	/* and a later loss starts the back-off from 1 s again */
	agent_timers_llq_lost(&t, now + 40000);
	assert_true(t.llq_at == now + 41000);
}

static void poll_interval_caps(void **state)
{
	struct agent_timers t;
	static const uint32_t want[] = { 15000, 30000, 60000, 120000, 240000, 300000, 300000 };
	uint64_t now = T0;

	agent_timers_init(&t, NULL);
	agent_timers_llq_failed(&t, now);
	t.llq_at = AGENT_NEVER;		/* look at the polls alone */
	assert_int_equal(agent_timers_due(&t, now), AGENT_ACT_POLL);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		agent_timers_poll_done(&t, now);
		due_at(&t, now + want[i], AGENT_ACT_POLL);
		now += want[i];
	}
	/* a poll that ends after the LLQ came back schedules nothing */
	agent_timers_llq_established(&t, now, 900);
	agent_timers_poll_done(&t, now + 10);
	assert_true(t.poll_at == AGENT_NEVER);
}

static void location_known_outside_a_wait_changes_nothing(void **state)
{
	struct agent_timers t;

	agent_timers_init(&t, NULL);
	agent_timers_start(&t, T0);
	agent_timers_due(&t, T0);
	/* no gateway answered (or none was asked): publish now without a location */
	agent_timers_location_known(&t, T0 + 2000);
	assert_int_equal(agent_timers_due(&t, T0 + 2000), AGENT_ACT_PUBLISH);
	agent_timers_lease_granted(&t, T0 + 2100, 5400, 0);
	agent_timers_llq_established(&t, T0 + 2100, 7200);
	/* told again later (a renewal, a refusal): the refresh stays where it was */
	agent_timers_location_known(&t, T0 + 9000);
	assert_true(t.publish_at == T0 + 2100 + 4320000);
	assert_int_equal(agent_timers_due(&t, T0 + 9000), AGENT_ACT_NONE);
	/* after a network change it ends that wait */
	agent_timers_network_changed(&t, T0 + 30000, false);
	agent_timers_location_known(&t, T0 + 30100);
	assert_int_equal(agent_timers_due(&t, T0 + 30100), AGENT_ACT_PUBLISH);
}

static void zero_lease_is_a_failure(void **state)
{
	struct agent_timers t;

	started(&t);
	agent_timers_lease_granted(&t, T0 + 300, 0, 0);
	assert_true(t.publish_at == T0 + 1300);
	agent_timers_llq_established(&t, T0 + 300, 0);
	assert_false(t.llq_up);
}

static void stop_clears_everything(void **state)
{
	struct agent_timers t;

	started(&t);
	agent_timers_stop(&t);
	assert_true(agent_timers_next(&t) == AGENT_NEVER);
	assert_int_equal(agent_timers_due(&t, UINT64_MAX - 1), AGENT_ACT_NONE);
}

static void backoff_function(void **state)
{
	assert_true(agent_backoff_ms(1000, 300000, 0) == 1000);
	assert_true(agent_backoff_ms(1000, 300000, 8) == 256000);
	assert_true(agent_backoff_ms(1000, 300000, 9) == 300000);
	assert_true(agent_backoff_ms(1000, 300000, UINT32_MAX) == 300000);
	assert_true(agent_backoff_ms(UINT32_MAX, UINT32_MAX, 40) == UINT32_MAX);
}

/* ---- the engine's own timers ---- */

static void mapping_late_after_map_wait(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_engine_timers e;

	agent_timer_cfg_default(&cfg);
	agent_engine_timers_init(&e, &cfg);
	assert_true(agent_engine_next(&e) == AGENT_NEVER);
	assert_int_equal(agent_engine_due(&e, UINT64_MAX - 1), AGENT_ENGINE_NONE);
	/* asked at T0: late at T0 + 3000, not a millisecond before, and said once */
	agent_engine_mapping_asked(&e, T0);
	assert_true(agent_engine_next(&e) == T0 + 3000);
	assert_int_equal(agent_engine_due(&e, T0 + 2999), AGENT_ENGINE_NONE);
	assert_int_equal(agent_engine_due(&e, T0 + 3000), AGENT_ENGINE_MAPPING_LATE);
	assert_int_equal(agent_engine_due(&e, T0 + 3000), AGENT_ENGINE_NONE);
	assert_true(agent_engine_next(&e) == AGENT_NEVER);
	/* an answer in time: nothing is late */
	agent_engine_mapping_asked(&e, T0 + 10000);
	agent_engine_mapping_done(&e);
	assert_true(agent_engine_next(&e) == AGENT_NEVER);
	assert_int_equal(agent_engine_due(&e, T0 + 20000), AGENT_ENGINE_NONE);
	/* asked again (another change of network): the wait starts over */
	agent_engine_mapping_asked(&e, T0 + 30000);
	agent_engine_mapping_asked(&e, T0 + 31000);
	assert_true(agent_engine_next(&e) == T0 + 34000);
	assert_int_equal(agent_engine_due(&e, T0 + 33999), AGENT_ENGINE_NONE);
	assert_int_equal(agent_engine_due(&e, T0 + 34000), AGENT_ENGINE_MAPPING_LATE);
	/* the cfg is borrowed: a shorter wait applies to the next question */
	cfg.map_wait_ms = 0;
	agent_engine_mapping_asked(&e, T0 + 40000);
	assert_int_equal(agent_engine_due(&e, T0 + 40000), AGENT_ENGINE_MAPPING_LATE);
	/* near the end of the clock the deadline saturates instead of wrapping */
	cfg.map_wait_ms = 3000;
	agent_engine_mapping_asked(&e, UINT64_MAX - 10);
	assert_true(agent_engine_next(&e) == AGENT_NEVER - 1);
}

/* ---- reconnecting to a server ---- */

static void server_reconnect_backs_off_and_caps(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_reconnect r;
	static const uint32_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };
	uint64_t now = T0;

	agent_timer_cfg_default(&cfg);
	agent_reconnect_init(&r, cfg.server_retry_min_ms, cfg.server_retry_max_ms);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(agent_reconnect_failed(&r, now) == now + want[i]);
		now += want[i] + 7;	/* the attempt itself takes a while */
	}
	/* connected: the next loss waits 1 s again */
	agent_reconnect_reset(&r);
	assert_true(agent_reconnect_failed(&r, now) == now + 1000);
	assert_true(agent_reconnect_failed(&r, now) == now + 2000);
}

static void rsip_reconnect_and_refusal(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_reconnect r;
	static const uint32_t want[] = { 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000,
					 300000, 300000 };
	uint64_t now = T0;

	agent_timer_cfg_default(&cfg);
	agent_reconnect_init(&r, cfg.rsip_retry_min_ms, cfg.rsip_retry_max_ms);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(agent_reconnect_failed(&r, now) == now + want[i]);
		now += want[i];
	}
	agent_reconnect_reset(&r);
	assert_true(agent_reconnect_failed(&r, now) == now + 2000);
	/* a gateway without RSIPSEC: asked again only every 300 s, failures too, until it serves us */
	agent_reconnect_reset(&r);
	assert_true(agent_reconnect_refused(&r, now) == now + 300000);
	assert_true(agent_reconnect_failed(&r, now) == now + 300000);
	assert_true(agent_reconnect_failed(&r, now) == now + 300000);
	agent_reconnect_reset(&r);
	assert_true(agent_reconnect_failed(&r, now) == now + 2000);
	/* saturates at the end of the clock */
	assert_true(agent_reconnect_failed(&r, UINT64_MAX - 1) == AGENT_NEVER - 1);
}

/* ---- peers ---- */

static void keepalive_every_20s_behind_nat(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	assert_true(agent_peer_want_connect(&p, T0));
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_CONNECTING);
	assert_false(agent_peer_want_connect(&p, T0 + 10));	/* one handshake at a time */
	agent_peer_handshake_done(&p, T0 + 50);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UP);
	/* not behind a NAT: no keepalives, only the idle teardown */
	assert_true(agent_peer_next(&p) == T0 + 50 + 180000);
	agent_peer_set_nat(&p, true);
	assert_true(agent_peer_next(&p) == T0 + 50 + 20000);
	assert_int_equal(agent_peer_due(&p, T0 + 50 + 19999), AGENT_PEER_NONE);
	assert_int_equal(agent_peer_due(&p, T0 + 50 + 20000), AGENT_PEER_KEEPALIVE);
	assert_int_equal(agent_peer_due(&p, T0 + 50 + 20000), AGENT_PEER_NONE);
	assert_true(agent_peer_next(&p) == T0 + 50 + 40000);
	/* traffic sent pushes the keepalive back; traffic received does not */
	agent_peer_data_sent(&p, T0 + 30000);
	agent_peer_data_received(&p, T0 + 45000);
	assert_true(agent_peer_next(&p) == T0 + 50000);
	agent_peer_packet_sent(&p, T0 + 49000);
	assert_true(agent_peer_next(&p) == T0 + 69000);
}

static void idle_teardown_and_on_demand(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	cfg.idle_ms = 60000;
	agent_peer_timers_init(&p, &cfg, false);
	agent_peer_set_nat(&p, true);
	assert_true(agent_peer_want_connect(&p, T0));
	agent_peer_handshake_done(&p, T0 + 100);
	agent_peer_data_received(&p, T0 + 5000);
	/* keepalives are not traffic: the SA still goes idle 60 s after the last data */
	for (uint64_t now = T0 + 100; ; ) {
		now = agent_peer_next(&p);
		if (now >= T0 + 5000 + 60000)
			break;
		assert_int_equal(agent_peer_due(&p, now), AGENT_PEER_KEEPALIVE);
	}
	assert_true(agent_peer_next(&p) == T0 + 65000);
	assert_int_equal(agent_peer_due(&p, T0 + 64999), AGENT_PEER_NONE);
	assert_int_equal(agent_peer_due(&p, T0 + 65000), AGENT_PEER_TEARDOWN);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
	/* the next packet brings it back on demand */
	assert_true(agent_peer_want_connect(&p, T0 + 70000));

	/* idle_ms = 0 keeps SAs forever */
	cfg.idle_ms = 0;
	agent_peer_timers_init(&p, &cfg, false);
	agent_peer_handshake_done(&p, T0);
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
}

static void unanswered_peer_backs_off(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;
	static const uint32_t want[] = { 5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000 };
	uint64_t now = T0;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(agent_peer_want_connect(&p, now));
		agent_peer_handshake_failed(&p, now);
		assert_int_equal(agent_peer_state(&p), AGENT_PEER_UNREACHABLE);
		/* packets for it during the back-off do not start handshakes */
		assert_false(agent_peer_want_connect(&p, now + want[i] - 1));
		now += want[i];
	}
	assert_true(agent_peer_want_connect(&p, now));
	agent_peer_handshake_done(&p, now + 10);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UP);
	agent_peer_sa_closed(&p, now + 20);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	assert_true(agent_peer_want_connect(&p, now + 20));
	agent_peer_handshake_failed(&p, now + 30);
	assert_true(p.retry_at == now + 30 + 5000);	/* the back-off starts over */
}

static void kept_peer_reconnects(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	cfg.idle_ms = 1000;
	agent_peer_timers_init(&p, &cfg, true);
	/* a kept peer is connected without waiting for a packet */
	assert_true(agent_peer_next(&p) == 0);
	assert_int_equal(agent_peer_due(&p, T0), AGENT_PEER_CONNECT);
	assert_int_equal(agent_peer_due(&p, T0), AGENT_PEER_NONE);
	agent_peer_handshake_failed(&p, T0 + 100);
	assert_true(agent_peer_next(&p) == T0 + 5100);
	assert_int_equal(agent_peer_due(&p, T0 + 5099), AGENT_PEER_NONE);
	assert_int_equal(agent_peer_due(&p, T0 + 5100), AGENT_PEER_CONNECT);
	agent_peer_handshake_done(&p, T0 + 5200);
	/* never idle */
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
	assert_int_equal(agent_peer_due(&p, T0 + 999999), AGENT_PEER_NONE);
	agent_peer_sa_closed(&p, T0 + 6000);
	assert_int_equal(agent_peer_due(&p, T0 + 6000), AGENT_PEER_CONNECT);
	/* made on-demand again: an idle SA is torn down */
	agent_peer_handshake_done(&p, T0 + 6100);
	agent_peer_set_keep(&p, false);
	assert_int_equal(agent_peer_due(&p, T0 + 7100), AGENT_PEER_TEARDOWN);
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
}

static void connect_in_progress_is_not_ours(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	assert_true(agent_peer_want_connect(&p, T0));
	/* IKE already has one (the peer's): we are not the ones connecting */
	agent_peer_connect_in_progress(&p);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	/* its outcome counts like ours */
	agent_peer_handshake_done(&p, T0 + 40);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UP);
	/* a kept peer asks again at the next tick while the other handshake runs */
	agent_peer_timers_init(&p, &cfg, true);
	assert_int_equal(agent_peer_due(&p, T0), AGENT_PEER_CONNECT);
	agent_peer_connect_in_progress(&p);
	assert_int_equal(agent_peer_due(&p, T0 + 250), AGENT_PEER_CONNECT);
}

static void awaited_peer_handshake(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	(void)state;
	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	/* not connecting: nothing to wait for */
	agent_peer_await_peer(&p, T0);
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
	assert_true(agent_peer_want_connect(&p, T0));
	agent_peer_await_peer(&p, T0 + 100);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_CONNECTING);
	assert_true(agent_peer_next(&p) == T0 + 5100);
	/* one millisecond before the edge: nothing; at the edge: given up, backing off */
	assert_int_equal(agent_peer_due(&p, T0 + 5099), AGENT_PEER_NONE);
	assert_int_equal(agent_peer_due(&p, T0 + 5100), AGENT_PEER_GAVE_UP);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UNREACHABLE);
	assert_false(agent_peer_want_connect(&p, T0 + 5100));
	assert_true(agent_peer_next(&p) == AGENT_NEVER);
	assert_int_equal(agent_peer_due(&p, T0 + 20000), AGENT_PEER_NONE);
	/* its handshake in time: up, nothing given up */
	agent_peer_timers_init(&p, &cfg, false);
	assert_true(agent_peer_want_connect(&p, T0));
	agent_peer_await_peer(&p, T0);
	agent_peer_handshake_done(&p, T0 + 40);
	assert_int_equal(agent_peer_due(&p, T0 + 6000), AGENT_PEER_NONE);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UP);
}

static void moved_peer_is_tried_at_once(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	assert_true(agent_peer_want_connect(&p, T0));
	agent_peer_handshake_failed(&p, T0);
	assert_true(agent_peer_want_connect(&p, T0) == false);
	/* a new location one millisecond before the back-off ends cuts it short */
	assert_true(agent_peer_moved(&p, T0 + 4999));
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	assert_true(agent_peer_want_connect(&p, T0 + 4999));
	/* and the next failure backs off from the start */
	agent_peer_handshake_failed(&p, T0 + 5100);
	assert_true(p.retry_at == T0 + 5100 + 5000);
	/* at the end of the back-off there is nothing to cut short: failures are kept */
	assert_false(agent_peer_moved(&p, T0 + 10100));
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_UNREACHABLE);
	assert_true(agent_peer_want_connect(&p, T0 + 10100));
	agent_peer_handshake_failed(&p, T0 + 10200);
	assert_true(p.retry_at == T0 + 10200 + 10000);
}

static void reset_peer_forgets_failures(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;
	uint64_t now = T0;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	for (int i = 0; i < 3; i++) {
		assert_true(agent_peer_want_connect(&p, now));
		agent_peer_handshake_failed(&p, now);
		now = p.retry_at;
	}
	assert_true(agent_peer_want_connect(&p, now) == true);
	agent_peer_handshake_failed(&p, now);
	assert_true(p.retry_at == now + 40000);
	/* set up anew (through RSIP): tried at once, and the back-off starts over */
	agent_peer_reset(&p);
	assert_int_equal(agent_peer_state(&p), AGENT_PEER_IDLE);
	assert_true(agent_peer_want_connect(&p, now + 1));
	agent_peer_handshake_failed(&p, now + 1);
	assert_true(p.retry_at == now + 1 + 5000);
}

static void path_alive_for_2s_after_data_in(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_peer_timers p;

	agent_timer_cfg_default(&cfg);
	agent_peer_timers_init(&p, &cfg, false);
	assert_false(agent_peer_path_alive(&p, T0));	/* no tunnel: no path */
	assert_true(agent_peer_want_connect(&p, T0));
	agent_peer_handshake_done(&p, T0 + 50);
	assert_false(agent_peer_path_alive(&p, T0 + 50));	/* up, but nothing came in yet */
	/* data in at T0 + 3000: alive until one millisecond before T0 + 5000 */
	agent_peer_data_received(&p, T0 + 3000);
	assert_true(agent_peer_path_alive(&p, T0 + 4999));
	assert_false(agent_peer_path_alive(&p, T0 + 5000));
	/* data we send proves nothing about the path back */
	agent_peer_data_sent(&p, T0 + 5000);
	assert_false(agent_peer_path_alive(&p, T0 + 5001));
	/* nor does a tunnel that is gone */
	agent_peer_data_received(&p, T0 + 6000);
	agent_peer_sa_closed(&p, T0 + 6001);
	assert_false(agent_peer_path_alive(&p, T0 + 6002));
}

/* Exactly @p act is due at @p at and nothing one millisecond before (the authority's timers). */
static void enrol_due_at(struct agent_enrol_timers *e, uint64_t at, enum agent_enrol_action act)
{
	assert_true(agent_enrol_next(e) == at);
	assert_int_equal(agent_enrol_due(e, at - 1), AGENT_ENROL_NONE);
	assert_int_equal(agent_enrol_due(e, at), act);
}

static void enrol_refresh_reread_and_check(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_enrol_timers e;

	(void)state;
	agent_timer_cfg_default(&cfg);
	agent_enrol_timers_init(&e, &cfg);
	assert_true(agent_enrol_next(&e) == AGENT_NEVER);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_NONE);
	agent_enrol_start(&e, T0);
	/* at once, in order; each in flight until reported, nothing handed out twice */
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_REFRESH);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_CHECK);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_REREAD);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_NONE);
	assert_true(agent_enrol_next(&e) == AGENT_NEVER);
	agent_enrol_done(&e, AGENT_ENROL_REFRESH, T0, true);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0, true);
	agent_enrol_done(&e, AGENT_ENROL_REREAD, T0 + 10, true);
	/* the check twice a minute; the re-read after 5 min; the refresh after 30 min */
	enrol_due_at(&e, T0 + 30000, AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0 + 30000, true);
	for (uint64_t at = T0 + 60000; at < T0 + 300010; at += 30000) {
		enrol_due_at(&e, at, AGENT_ENROL_CHECK);
		agent_enrol_done(&e, AGENT_ENROL_CHECK, at, true);
	}
	enrol_due_at(&e, T0 + 300010, AGENT_ENROL_REREAD);
	agent_enrol_done(&e, AGENT_ENROL_REREAD, T0 + 300010, true);
	agent_enrol_stop(&e);
	assert_true(agent_enrol_next(&e) == AGENT_NEVER);
	agent_enrol_start(&e, T0);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_REFRESH);
	agent_enrol_done(&e, AGENT_ENROL_REFRESH, T0, true);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0, true);
	assert_int_equal(agent_enrol_due(&e, T0), AGENT_ENROL_REREAD);
	agent_enrol_done(&e, AGENT_ENROL_REREAD, T0, true);
	/* no server: again after retry_min_ms */
	enrol_due_at(&e, T0 + 30000, AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0 + 30000, false);
	enrol_due_at(&e, T0 + 31000, AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0 + 31000, true);
	/* records changed (a new certificate): added again at once, then 30 min later */
	agent_enrol_records_changed(&e, T0 + 40000);
	enrol_due_at(&e, T0 + 40000, AGENT_ENROL_REFRESH);
	agent_enrol_done(&e, AGENT_ENROL_REFRESH, T0 + 40000, true);
	assert_true(e.refresh_at == T0 + 40000 + 1800000);
	/* a report after stop changes nothing */
	agent_enrol_stop(&e);
	agent_enrol_done(&e, AGENT_ENROL_REFRESH, T0 + 50000, true);
	assert_true(agent_enrol_next(&e) == AGENT_NEVER);
}

static void enrol_renew_resends_until_answered(void **state)
{
	struct agent_timer_cfg cfg;
	struct agent_enrol_timers e;

	(void)state;
	agent_timer_cfg_default(&cfg);
	agent_enrol_timers_init(&e, &cfg);
	agent_enrol_start(&e, T0);
	while (agent_enrol_due(&e, T0) != AGENT_ENROL_NONE)
		;
	agent_enrol_done(&e, AGENT_ENROL_REFRESH, T0, true);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0, true);
	agent_enrol_done(&e, AGENT_ENROL_REREAD, T0, true);
	/* not wanted: never */
	assert_true(agent_enrol_next(&e) == T0 + 30000);
	agent_enrol_renew_wanted(&e, T0 + 100);
	enrol_due_at(&e, T0 + 100, AGENT_ENROL_RENEW);
	/* wanted again while the request is out: not sent twice */
	agent_enrol_renew_wanted(&e, T0 + 200);
	assert_int_equal(agent_enrol_due(&e, T0 + 200), AGENT_ENROL_NONE);
	agent_enrol_done(&e, AGENT_ENROL_RENEW, T0 + 150, true);
	agent_enrol_renew_wanted(&e, T0 + 300);
	assert_int_equal(agent_enrol_due(&e, T0 + 300), AGENT_ENROL_NONE);
	/* unanswered: again after 60 s (the check comes first at T0 + 30000) */
	enrol_due_at(&e, T0 + 30000, AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0 + 30000, true);
	enrol_due_at(&e, T0 + 60000, AGENT_ENROL_CHECK);
	agent_enrol_done(&e, AGENT_ENROL_CHECK, T0 + 60000, true);
	enrol_due_at(&e, T0 + 60150, AGENT_ENROL_RENEW);
	/* answered while a request was in flight: its report schedules nothing */
	agent_enrol_renew_ended(&e);
	agent_enrol_done(&e, AGENT_ENROL_RENEW, T0 + 60150, true);
	assert_true(agent_enrol_next(&e) == T0 + 90000);
	assert_true(e.renew_at == AGENT_NEVER);
	/* a failed request (no server): again after retry_min_ms */
	agent_enrol_renew_wanted(&e, T0 + 70000);
	enrol_due_at(&e, T0 + 70000, AGENT_ENROL_RENEW);
	agent_enrol_done(&e, AGENT_ENROL_RENEW, T0 + 70000, false);
	enrol_due_at(&e, T0 + 71000, AGENT_ENROL_RENEW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(publish_refresh_at_80_percent),
		cmocka_unit_test(jitter_added_and_capped),
		cmocka_unit_test(update_retry_backs_off_and_caps),
		cmocka_unit_test(name_checked_backs_off_when_refusals_repeat),
		cmocka_unit_test(publish_waits_for_location_at_most_map_wait),
		cmocka_unit_test(location_known_ends_the_wait),
		cmocka_unit_test(change_during_update_publishes_after_it),
		cmocka_unit_test(network_change_during_update),
		cmocka_unit_test(network_change_with_new_address_resets_llq),
		cmocka_unit_test(llq_lost_polls_with_backoff_and_returns),
		cmocka_unit_test(poll_interval_caps),
		cmocka_unit_test(location_known_outside_a_wait_changes_nothing),
		cmocka_unit_test(zero_lease_is_a_failure),
		cmocka_unit_test(stop_clears_everything),
		cmocka_unit_test(backoff_function),
		cmocka_unit_test(mapping_late_after_map_wait),
		cmocka_unit_test(server_reconnect_backs_off_and_caps),
		cmocka_unit_test(rsip_reconnect_and_refusal),
		cmocka_unit_test(keepalive_every_20s_behind_nat),
		cmocka_unit_test(idle_teardown_and_on_demand),
		cmocka_unit_test(unanswered_peer_backs_off),
		cmocka_unit_test(kept_peer_reconnects),
		cmocka_unit_test(connect_in_progress_is_not_ours),
		cmocka_unit_test(awaited_peer_handshake),
		cmocka_unit_test(moved_peer_is_tried_at_once),
		cmocka_unit_test(reset_peer_forgets_failures),
		cmocka_unit_test(path_alive_for_2s_after_data_in),
		cmocka_unit_test(enrol_refresh_reread_and_check),
		cmocka_unit_test(enrol_renew_resends_until_answered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
