/*
 * The agent's timer policy (see timers.h). Deadlines are absolute
 * milliseconds on the monotonic clock; AGENT_NEVER is "not scheduled".
 */
#include <string.h>

#include "agent/timers.h"

void agent_timer_cfg_default(struct agent_timer_cfg *cfg)
{
	*cfg = (struct agent_timer_cfg){
		/* RFC 6281 §5.2 and issue 6: refresh at 80% of the granted lease */
		.refresh_permille = 800,
		.jitter_max_permille = 100,
		.map_wait_ms = 3000,
		.retry_min_ms = 1000,
		.retry_max_ms = 300000,
		.server_retry_min_ms = 1000,
		.server_retry_max_ms = 60000,
		.rsip_retry_min_ms = 2000,
		.rsip_retry_max_ms = 300000,
		.llq_retry_min_ms = 1000,
		.llq_retry_max_ms = 300000,
		.poll_min_ms = 15000,
		.poll_max_ms = 300000,
		/* RFC 3948 §4 suggests 20 s between NAT keepalives */
		.keepalive_ms = 20000,
		.idle_ms = 180000,
		.handshake_retry_min_ms = 5000,
		.handshake_retry_max_ms = 300000,
		.alive_ms = 2000,
		.await_ms = 5000,
		/* docs/authority.md §7: the server's leases end after 2 h by default; add again well before */
		.enrol_refresh_ms = 1800000,
		.enrol_reread_ms = 300000,
		/* a join request lives 15 min and is renewed a minute before: looked at twice a minute */
		.enrol_check_ms = 30000,
		.enrol_resend_ms = 60000,
	};
}

uint64_t agent_backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t n)
{
	uint64_t d = min_ms;

	for (uint32_t i = 0; i < n && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

static uint64_t after(uint64_t now, uint64_t ms)
{
	return now > AGENT_NEVER - ms ? AGENT_NEVER - 1 : now + ms;
}

static uint64_t min2(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void agent_timers_init(struct agent_timers *t, const struct agent_timer_cfg *cfg)
{
	memset(t, 0, sizeof(*t));
	if (cfg)
		t->cfg = *cfg;
	else
		agent_timer_cfg_default(&t->cfg);
	agent_timers_stop(t);
}

void agent_timers_stop(struct agent_timers *t)
{
	struct agent_timer_cfg cfg = t->cfg;

	memset(t, 0, sizeof(*t));
	t->cfg = cfg;
	t->publish_at = t->llq_at = t->poll_at = AGENT_NEVER;
	t->llq_act = AGENT_ACT_LLQ_SETUP;
}

/* Publish when the location is known, at the latest after map_wait_ms. */
static void wait_then_publish(struct agent_timers *t, uint64_t now)
{
	t->publish_wait = true;
	t->dirty = true;
	t->publish_fails = 0;
	t->publish_at = after(now, t->cfg.map_wait_ms);
}

void agent_timers_start(struct agent_timers *t, uint64_t now)
{
	agent_timers_stop(t);
	wait_then_publish(t, now);
	t->llq_at = now;
	t->llq_act = AGENT_ACT_LLQ_SETUP;
}

void agent_timers_network_changed(struct agent_timers *t, uint64_t now, bool addr_changed)
{
	wait_then_publish(t, now);
	if (addr_changed) {
		/* the TLS connection carrying the LLQs left with the old address */
		t->llq_up = false;
		t->llq_inflight = false;
		t->llq_fails = 0;
		t->llq_at = now;
		t->llq_act = AGENT_ACT_LLQ_SETUP;
	}
}

/* Publish at once unless an update is in flight (its outcome reschedules) or a mapping is awaited. */
static void publish_soon(struct agent_timers *t, uint64_t now)
{
	if (!t->publish_inflight && !t->publish_wait)
		t->publish_at = now;
}

void agent_timers_records_changed(struct agent_timers *t, uint64_t now)
{
	t->dirty = true;
	publish_soon(t, now);
}

bool agent_timers_name_checked(struct agent_timers *t, uint64_t now)
{
	t->dirty = true;
	if (t->publish_fails > 1)
		return false;	/* publish_at holds the back-off */
	publish_soon(t, now);
	return true;
}

void agent_timers_lease_granted(struct agent_timers *t, uint64_t now, uint32_t lease_s, uint32_t jitter_ms)
{
	uint64_t lease_ms = (uint64_t)lease_s * 1000;
	uint64_t cap = lease_ms * t->cfg.jitter_max_permille / 1000;

	if (lease_s == 0) {
		/* nothing granted: a refresh "at 80% of 0" would spin */
		agent_timers_update_failed(t, now);
		return;
	}
	t->publish_inflight = false;
	t->publish_fails = 0;
	t->lease_end = after(now, lease_ms);
	if (t->publish_wait)
		return;		/* publish_at already holds the end of the wait */
	if (t->dirty) {
		t->publish_at = now;	/* changed while the update was in flight */
		return;
	}
	t->publish_at = after(now, lease_ms * t->cfg.refresh_permille / 1000 + min2(jitter_ms, cap));
}

void agent_timers_update_failed(struct agent_timers *t, uint64_t now)
{
	t->publish_inflight = false;
	if (t->publish_wait)
		return;
	t->publish_at = after(now, agent_backoff_ms(t->cfg.retry_min_ms, t->cfg.retry_max_ms, t->publish_fails));
	t->publish_fails++;
}

void agent_timers_location_known(struct agent_timers *t, uint64_t now)
{
	if (!t->publish_wait)
		return;
	t->publish_wait = false;
	if (!t->publish_inflight)
		t->publish_at = now;
}

void agent_timers_llq_established(struct agent_timers *t, uint64_t now, uint32_t lease_s)
{
	if (lease_s == 0) {
		agent_timers_llq_failed(t, now);
		return;
	}
	t->llq_up = true;
	t->llq_inflight = false;
	t->llq_fails = 0;
	t->llq_act = AGENT_ACT_LLQ_REFRESH;
	t->llq_at = after(now, (uint64_t)lease_s * t->cfg.refresh_permille);
	t->polling = false;
	t->poll_at = AGENT_NEVER;
	t->polls = 0;
}

static void start_polling(struct agent_timers *t, uint64_t now)
{
	if (t->polling)
		return;
	/* RFC 6281 §5.3: without LLQ the host must poll; the first poll catches up on missed events */
	t->polling = true;
	t->polls = 0;
	if (!t->poll_inflight)
		t->poll_at = now;
}

static void llq_retry(struct agent_timers *t, uint64_t now)
{
	t->llq_up = false;
	t->llq_inflight = false;
	t->llq_act = AGENT_ACT_LLQ_SETUP;
	t->llq_at = after(now, agent_backoff_ms(t->cfg.llq_retry_min_ms, t->cfg.llq_retry_max_ms, t->llq_fails));
	t->llq_fails++;
	start_polling(t, now);
}

void agent_timers_llq_lost(struct agent_timers *t, uint64_t now)
{
	llq_retry(t, now);
}

void agent_timers_llq_failed(struct agent_timers *t, uint64_t now)
{
	llq_retry(t, now);
}

void agent_timers_poll_done(struct agent_timers *t, uint64_t now)
{
	t->poll_inflight = false;
	if (!t->polling) {
		t->poll_at = AGENT_NEVER;
		return;
	}
	t->poll_at = after(now, agent_backoff_ms(t->cfg.poll_min_ms, t->cfg.poll_max_ms, t->polls));
	t->polls++;
}

uint64_t agent_timers_next(const struct agent_timers *t)
{
	return min2(t->publish_at, min2(t->llq_at, t->poll_at));
}

enum agent_action agent_timers_due(struct agent_timers *t, uint64_t now)
{
	if (t->publish_at <= now && t->publish_inflight) {
		/* the wait for a mapping ended while an older update is in
		 * flight: its outcome sends the new set (dirty is still set) */
		t->publish_at = AGENT_NEVER;
		t->publish_wait = false;
	}
	if (t->publish_at <= now) {
		t->publish_at = AGENT_NEVER;
		t->publish_inflight = true;
		t->publish_wait = false;	/* waited long enough for the mapping */
		t->dirty = false;
		return AGENT_ACT_PUBLISH;
	}
	if (t->llq_at <= now) {
		t->llq_at = AGENT_NEVER;
		t->llq_inflight = true;
		return t->llq_act;
	}
	if (t->poll_at <= now) {
		t->poll_at = AGENT_NEVER;
		t->poll_inflight = true;
		return AGENT_ACT_POLL;
	}
	return AGENT_ACT_NONE;
}

void agent_engine_timers_init(struct agent_engine_timers *e, const struct agent_timer_cfg *cfg)
{
	e->cfg = cfg;
	e->mapping_late_at = AGENT_NEVER;
}

void agent_engine_mapping_asked(struct agent_engine_timers *e, uint64_t now)
{
	e->mapping_late_at = after(now, e->cfg->map_wait_ms);
}

void agent_engine_mapping_done(struct agent_engine_timers *e)
{
	e->mapping_late_at = AGENT_NEVER;
}

uint64_t agent_engine_next(const struct agent_engine_timers *e)
{
	return e->mapping_late_at;
}

enum agent_engine_action agent_engine_due(struct agent_engine_timers *e, uint64_t now)
{
	if (e->mapping_late_at <= now) {
		e->mapping_late_at = AGENT_NEVER;
		return AGENT_ENGINE_MAPPING_LATE;
	}
	return AGENT_ENGINE_NONE;
}

void agent_reconnect_init(struct agent_reconnect *r, uint32_t min_ms, uint32_t max_ms)
{
	r->min_ms = min_ms;
	r->max_ms = max_ms;
	r->fails = 0;
}

uint64_t agent_reconnect_failed(struct agent_reconnect *r, uint64_t now)
{
	uint64_t at = after(now, agent_backoff_ms(r->min_ms, r->max_ms, r->fails));

	if (r->fails < UINT32_MAX)
		r->fails++;
	return at;
}

void agent_reconnect_reset(struct agent_reconnect *r)
{
	r->fails = 0;
}

uint64_t agent_reconnect_refused(struct agent_reconnect *r, uint64_t now)
{
	r->fails = UINT32_MAX;	/* agent_backoff_ms stops doubling at the cap */
	return after(now, r->max_ms);
}

void agent_peer_timers_init(struct agent_peer_timers *p, const struct agent_timer_cfg *cfg, bool keep)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->keep = keep;
}

void agent_peer_set_keep(struct agent_peer_timers *p, bool keep)
{
	p->keep = keep;
}

void agent_peer_set_nat(struct agent_peer_timers *p, bool nat)
{
	p->nat = nat;
}

bool agent_peer_want_connect(struct agent_peer_timers *p, uint64_t now)
{
	if (p->sa_up || p->connecting || now < p->retry_at)
		return false;
	p->connecting = true;
	return true;
}

void agent_peer_handshake_done(struct agent_peer_timers *p, uint64_t now)
{
	p->sa_up = true;
	p->connecting = false;
	p->await_until = 0;
	p->hs_fails = 0;
	p->retry_at = 0;
	p->handshake_at = now;
	p->last_data = now;	/* idle time counts from the handshake */
	p->last_sent = now;
}

void agent_peer_handshake_failed(struct agent_peer_timers *p, uint64_t now)
{
	p->connecting = false;
	p->await_until = 0;
	p->retry_at = after(now, agent_backoff_ms(p->cfg->handshake_retry_min_ms,
						  p->cfg->handshake_retry_max_ms, p->hs_fails));
	p->hs_fails++;
}

void agent_peer_sa_closed(struct agent_peer_timers *p, uint64_t now)
{
	p->sa_up = false;
	p->connecting = false;
	p->retry_at = now;	/* a kept peer reconnects at once; the next failure backs off */
}

void agent_peer_await_peer(struct agent_peer_timers *p, uint64_t now)
{
	if (p->sa_up || !p->connecting)
		return;	/* nothing of ours waits for it */
	p->await_until = after(now, p->cfg->await_ms);
}

void agent_peer_connect_in_progress(struct agent_peer_timers *p)
{
	p->connecting = false;
}

bool agent_peer_moved(struct agent_peer_timers *p, uint64_t now)
{
	if (p->retry_at <= now)
		return false;
	p->retry_at = 0;
	p->hs_fails = 0;
	return true;
}

void agent_peer_reset(struct agent_peer_timers *p)
{
	p->retry_at = 0;
	p->hs_fails = 0;
}

void agent_peer_data_sent(struct agent_peer_timers *p, uint64_t now)
{
	p->last_sent = now;
	p->last_data = now;
}

void agent_peer_data_received(struct agent_peer_timers *p, uint64_t now)
{
	p->last_data = now;
	p->last_rx = now;
}

bool agent_peer_path_alive(const struct agent_peer_timers *p, uint64_t now)
{
	return p->sa_up && p->last_rx && now >= p->last_rx && now - p->last_rx < p->cfg->alive_ms;
}

void agent_peer_packet_sent(struct agent_peer_timers *p, uint64_t now)
{
	p->last_sent = now;
}

static uint64_t teardown_at(const struct agent_peer_timers *p)
{
	if (!p->sa_up || p->keep || p->cfg->idle_ms == 0)
		return AGENT_NEVER;
	return after(p->last_data, p->cfg->idle_ms);
}

static uint64_t keepalive_at(const struct agent_peer_timers *p)
{
	if (!p->sa_up || !p->nat || p->cfg->keepalive_ms == 0)
		return AGENT_NEVER;
	return after(p->last_sent, p->cfg->keepalive_ms);
}

static uint64_t connect_at(const struct agent_peer_timers *p)
{
	if (p->sa_up || p->connecting || !p->keep)
		return AGENT_NEVER;
	return p->retry_at;
}

static uint64_t await_at(const struct agent_peer_timers *p)
{
	return p->connecting && !p->sa_up && p->await_until ? p->await_until : AGENT_NEVER;
}

uint64_t agent_peer_next(const struct agent_peer_timers *p)
{
	return min2(await_at(p), min2(connect_at(p), min2(teardown_at(p), keepalive_at(p))));
}

enum agent_peer_action agent_peer_due(struct agent_peer_timers *p, uint64_t now)
{
	if (await_at(p) <= now) {
		agent_peer_handshake_failed(p, now);
		return AGENT_PEER_GAVE_UP;
	}
	if (connect_at(p) <= now) {
		p->connecting = true;
		return AGENT_PEER_CONNECT;
	}
	if (teardown_at(p) <= now) {
		p->sa_up = false;
		p->retry_at = 0;
		return AGENT_PEER_TEARDOWN;
	}
	if (keepalive_at(p) <= now) {
		p->last_sent = now;
		return AGENT_PEER_KEEPALIVE;
	}
	return AGENT_PEER_NONE;
}

enum agent_peer_state agent_peer_state(const struct agent_peer_timers *p)
{
	if (p->sa_up)
		return AGENT_PEER_UP;
	if (p->connecting)
		return AGENT_PEER_CONNECTING;
	if (p->hs_fails)
		return AGENT_PEER_UNREACHABLE;
	return AGENT_PEER_IDLE;
}

/* ---- the account authority (docs/authority.md §7) ---- */

void agent_enrol_timers_init(struct agent_enrol_timers *e, const struct agent_timer_cfg *cfg)
{
	e->cfg = cfg;
	agent_enrol_stop(e);
}

void agent_enrol_start(struct agent_enrol_timers *e, uint64_t now)
{
	e->running = true;
	e->refresh_at = e->reread_at = e->check_at = now;
	e->renew_at = AGENT_NEVER;
}

void agent_enrol_stop(struct agent_enrol_timers *e)
{
	e->running = false;
	e->refresh_at = e->reread_at = e->renew_at = e->check_at = AGENT_NEVER;
}

void agent_enrol_done(struct agent_enrol_timers *e, enum agent_enrol_action a, uint64_t now, bool ok)
{
	uint64_t retry = now + e->cfg->retry_min_ms;

	if (!e->running)
		return;
	switch (a) {
	case AGENT_ENROL_REFRESH:
		e->refresh_at = ok ? now + e->cfg->enrol_refresh_ms : retry;
		break;
	case AGENT_ENROL_REREAD:
		e->reread_at = ok ? now + e->cfg->enrol_reread_ms : retry;
		break;
	case AGENT_ENROL_RENEW:
		/* ended meanwhile (renew_ended) or never wanted: stays unscheduled */
		if (e->renew_at == AGENT_NEVER - 1)
			e->renew_at = ok ? now + e->cfg->enrol_resend_ms : retry;
		break;
	case AGENT_ENROL_CHECK:
		e->check_at = ok ? now + e->cfg->enrol_check_ms : retry;
		break;
	default:
		break;
	}
}

void agent_enrol_records_changed(struct agent_enrol_timers *e, uint64_t now)
{
	if (e->running && e->refresh_at != AGENT_NEVER)
		e->refresh_at = now;
}

void agent_enrol_renew_wanted(struct agent_enrol_timers *e, uint64_t now)
{
	/* a request in flight (AGENT_NEVER - 1) or waiting for its resend is not sent again early */
	if (e->running && e->renew_at == AGENT_NEVER)
		e->renew_at = now;
}

void agent_enrol_renew_ended(struct agent_enrol_timers *e)
{
	e->renew_at = AGENT_NEVER;
}

uint64_t agent_enrol_next(const struct agent_enrol_timers *e)
{
	uint64_t n = AGENT_NEVER;

	if (!e->running)
		return n;
	if (e->refresh_at < n)
		n = e->refresh_at;
	if (e->check_at < n)
		n = e->check_at;
	if (e->renew_at < AGENT_NEVER - 1 && e->renew_at < n)
		n = e->renew_at;
	if (e->reread_at < n)
		n = e->reread_at;
	return n;
}

enum agent_enrol_action agent_enrol_due(struct agent_enrol_timers *e, uint64_t now)
{
	if (!e->running)
		return AGENT_ENROL_NONE;
	/* in flight: AGENT_NEVER until agent_enrol_done() (for RENEW: AGENT_NEVER - 1, still wanted) */
	if (e->refresh_at <= now) {
		e->refresh_at = AGENT_NEVER;
		return AGENT_ENROL_REFRESH;
	}
	if (e->check_at <= now) {
		e->check_at = AGENT_NEVER;
		return AGENT_ENROL_CHECK;
	}
	if (e->renew_at < AGENT_NEVER - 1 && e->renew_at <= now) {
		e->renew_at = AGENT_NEVER - 1;
		return AGENT_ENROL_RENEW;
	}
	if (e->reread_at <= now) {
		e->reread_at = AGENT_NEVER;
		return AGENT_ENROL_REREAD;
	}
	return AGENT_ENROL_NONE;
}
