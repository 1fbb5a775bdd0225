/*
 * All timer policy of the host agent in one place, in the style of
 * WireGuard's timers.c: the agent reports what happened (lease granted,
 * update failed, network changed, location known, LLQ established or lost,
 * mapping asked or answered, connection lost, handshake done, data
 * sent...) and only this module decides what happens next and when. Pure:
 * every function takes `now` (milliseconds on the monotonic clock) and
 * nothing here reads a clock. The daemon arms its event-loop timers at the
 * deadlines given here and nowhere else.
 *
 * Four kinds of state, one per owner:
 *  - struct agent_timers: the DNS side (publish, refresh, LLQ, polling);
 *  - struct agent_engine_timers: the engine's own deadlines (the wait for
 *    a port mapping; hole punching and relays add theirs here);
 *  - struct agent_reconnect: back-off of a connection to a server (the
 *    rendezvous server, the RSIP gateway);
 *  - struct agent_peer_timers: one per peer (tunnel on demand, keepalive,
 *    idle teardown, handshake back-off).
 *
 * The port mapping's own renewal (RFC 6886 §3.7) is lib/portmap's
 * protocol timing, driven by src/pmclient; the agent only waits for it.
 *
 * The loop that drives it:
 *
 *     while ((a = agent_timers_due(&t, now)) != AGENT_ACT_NONE)
 *             start(a);              // and later report its outcome
 *     arm_timer(agent_timers_next(&t) - now);
 *
 * An action handed out by agent_timers_due() is "in flight": it is not
 * handed out again until its outcome is reported (agent_timers_lease_granted
 * or agent_timers_update_failed for AGENT_ACT_PUBLISH, and so on). The
 * caller must report an outcome for every action, a timeout being a failure.
 */
#ifndef AT_AGENT_TIMERS_H
#define AT_AGENT_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

/** A deadline that never comes. */
#define AGENT_NEVER UINT64_MAX

struct agent_timer_cfg {
	uint32_t refresh_permille;	/* refresh a lease when this much of it has run: 800 */
	uint32_t jitter_max_permille;	/* jitter added to a refresh is capped at this much of the lease: 100 */
	uint32_t map_wait_ms;		/* after a start or network change, publish at the latest this long after asking for a mapping: 3000 */
	uint32_t retry_min_ms;		/* first retry of a failed update: 1000 */
	uint32_t retry_max_ms;		/* back-off cap: 300000 */
	uint32_t server_retry_min_ms;	/* first reconnection to the rendezvous server: 1000 */
	uint32_t server_retry_max_ms;	/* 60000 */
	uint32_t rsip_retry_min_ms;	/* first reconnection to the RSIP gateway: 2000 */
	uint32_t rsip_retry_max_ms;	/* 300000 */
	uint32_t llq_retry_min_ms;	/* first LLQ re-setup after a loss: 1000 */
	uint32_t llq_retry_max_ms;	/* 300000 */
	uint32_t poll_min_ms;		/* polling interval while LLQ is down, doubling: 15000 */
	uint32_t poll_max_ms;		/* 300000 */
	uint32_t keepalive_ms;		/* NAT keepalive after this long without sending: 20000 (RFC 3948 §4) */
	uint32_t idle_ms;		/* tear down an SA idle this long; 0 keeps SAs forever: 180000 */
	uint32_t handshake_retry_min_ms;	/* a peer that did not answer is not tried again before: 5000 */
	uint32_t handshake_retry_max_ms;	/* 300000 */
	uint32_t alive_ms;		/* a path that carried data in from the peer this recently works: 2000 */
	uint32_t await_ms;		/* the peer's handshake we wait for (it is the IKE initiator) comes within: 5000 */
	uint32_t enrol_refresh_ms;	/* the account authority's records are added again after: 1800000 */
	uint32_t enrol_reread_ms;	/* its watched records are read anyway, for an event missed, after: 300000 */
	uint32_t enrol_check_ms;	/* its certificate's age and a join request's are looked at every: 30000 */
	uint32_t enrol_resend_ms;	/* a member asks again for its renewal while no signer answered after: 60000 */
};

/** Fill @p cfg with the defaults above. */
void agent_timer_cfg_default(struct agent_timer_cfg *cfg);

/** What the DNS side's timers ask for. */
enum agent_action {
	AGENT_ACT_NONE = 0,
	AGENT_ACT_PUBLISH,	/* send the record set (a refresh, a change, or a retry) */
	AGENT_ACT_LLQ_SETUP,	/* (re-)establish the LLQs */
	AGENT_ACT_LLQ_REFRESH,	/* refresh the established LLQs before their lease ends */
	AGENT_ACT_POLL,		/* query the watched records once (LLQ is down) */
};

/** The DNS side's timers: publishing and watching. Owned by the DNS side's event loop (account.c). */
struct agent_timers {
	struct agent_timer_cfg cfg;
	uint64_t publish_at, llq_at, poll_at;
	enum agent_action llq_act;	/* AGENT_ACT_LLQ_SETUP or _REFRESH at llq_at */
	bool publish_inflight, llq_inflight, poll_inflight;
	bool publish_wait;	/* waiting (until publish_at) for this host's location */
	bool dirty;		/* something changed since the last publish was sent */
	bool llq_up, polling;
	uint32_t publish_fails, llq_fails, polls;
	uint64_t lease_end;	/* when the records last granted expire, or 0 */
};

/** Initialise with @p cfg (copied; NULL for the defaults). Nothing is scheduled. */
void agent_timers_init(struct agent_timers *t, const struct agent_timer_cfg *cfg);
/** Signed in and running: set up the LLQs at once, publish once the location is known (or after map_wait_ms). */
void agent_timers_start(struct agent_timers *t, uint64_t now);
/** Signed out or shutting down: nothing more is scheduled. */
void agent_timers_stop(struct agent_timers *t);

/**
 * The primary address, interface or gateway changed (RFC 6281 §5.1), or
 * the gateway forgot our mapping: publish when the new location is known
 * (agent_timers_location_known) or after map_wait_ms, with the back-off
 * reset. If the local address changed, connections to the server are gone
 * with it: the LLQs are set up again at once.
 */
void agent_timers_network_changed(struct agent_timers *t, uint64_t now, bool addr_changed);
/**
 * This host's location (mapping, public address, RSIP address, or none at
 * all) is known since the start or the last network change: the wait ends
 * and the records go out now (or when the update in flight ends). Outside
 * a wait it changes nothing: a change of the records is reported with
 * agent_timers_records_changed.
 */
void agent_timers_location_known(struct agent_timers *t, uint64_t now);
/** Something in the record set changed (services, a new mapping port...): publish at once, or as soon as the update in flight ends. */
void agent_timers_records_changed(struct agent_timers *t, uint64_t now);
/**
 * A refused update (its prerequisites failed) was followed by a look at
 * whose H.D is, which found it ours or free: the records go again, at once
 * after the first refusal in a row, and after the update back-off (set by
 * agent_timers_update_failed() at the refusal) when refusals repeat, so a
 * server that keeps refusing is not asked hundreds of times a second.
 * True when they go at once.
 */
bool agent_timers_name_checked(struct agent_timers *t, uint64_t now);

/** The update was answered with a lease of @p lease_s seconds; refresh at 80% plus @p jitter_ms (capped at 10%). A lease of 0 counts as a failure. */
void agent_timers_lease_granted(struct agent_timers *t, uint64_t now, uint32_t lease_s, uint32_t jitter_ms);
/** The update failed (refused, timed out, no server): retry with exponential back-off. */
void agent_timers_update_failed(struct agent_timers *t, uint64_t now);

/** The LLQs are established (or refreshed) with a lease of @p lease_s: refresh at 80%, stop polling; 0 counts as a failure. */
void agent_timers_llq_established(struct agent_timers *t, uint64_t now, uint32_t lease_s);
/** The LLQs are gone (connection lost, refresh refused): poll at once, set up again with back-off. */
void agent_timers_llq_lost(struct agent_timers *t, uint64_t now);
/** An LLQ setup failed: try again with back-off; poll meanwhile. */
void agent_timers_llq_failed(struct agent_timers *t, uint64_t now);
/** A poll ended (answered or not): poll again after an interval that doubles up to poll_max_ms. */
void agent_timers_poll_done(struct agent_timers *t, uint64_t now);

/** The earliest deadline, or AGENT_NEVER. */
uint64_t agent_timers_next(const struct agent_timers *t);
/**
 * The action due at @p now (deadline <= now), which is then in flight, or
 * AGENT_ACT_NONE. Among several, in the order PUBLISH, LLQ, POLL.
 */
enum agent_action agent_timers_due(struct agent_timers *t, uint64_t now);

/** What the engine's own timers ask for. */
enum agent_engine_action {
	AGENT_ENGINE_NONE = 0,
	AGENT_ENGINE_MAPPING_LATE,	/* no answer from the gateway within map_wait_ms: publish what is known */
};

/** The engine's own deadlines (agent.c). */
struct agent_engine_timers {
	const struct agent_timer_cfg *cfg;	/* borrowed; must outlive the timers */
	uint64_t mapping_late_at;
};

/** @p cfg is borrowed. Nothing is scheduled. */
void agent_engine_timers_init(struct agent_engine_timers *e, const struct agent_timer_cfg *cfg);
/** The gateway was asked for a mapping (start, change of network): it is late after map_wait_ms. */
void agent_engine_mapping_asked(struct agent_engine_timers *e, uint64_t now);
/** The mapping question ended (mapped, refused, nothing answered, or no longer asked): nothing is late. */
void agent_engine_mapping_done(struct agent_engine_timers *e);
uint64_t agent_engine_next(const struct agent_engine_timers *e);
/** The action due at @p now, or AGENT_ENGINE_NONE; each is handed out once. */
enum agent_engine_action agent_engine_due(struct agent_engine_timers *e, uint64_t now);

/** When to connect again to a server that went away or could not be reached. */
struct agent_reconnect {
	uint32_t min_ms, max_ms;
	uint32_t fails;		/* attempts failed in a row */
};

/** Back-off from @p min_ms doubling to @p max_ms (from struct agent_timer_cfg). */
void agent_reconnect_init(struct agent_reconnect *r, uint32_t min_ms, uint32_t max_ms);
/** An attempt failed or the connection was lost: returns when to try next (min_ms after the first failure, doubling, capped). */
uint64_t agent_reconnect_failed(struct agent_reconnect *r, uint64_t now);
/** Connected (or asked to try at once): the next failure waits min_ms again. */
void agent_reconnect_reset(struct agent_reconnect *r);
/**
 * The server answered but offers nothing we can use (an RSIP gateway
 * without RSIPSEC): returns when to ask again, max_ms from now; later
 * failures wait max_ms too, until agent_reconnect_reset.
 */
uint64_t agent_reconnect_refused(struct agent_reconnect *r, uint64_t now);

/** What a peer's timers ask for. */
enum agent_peer_action {
	AGENT_PEER_NONE = 0,
	AGENT_PEER_CONNECT,	/* start IKE: a kept-up peer has no SA */
	AGENT_PEER_KEEPALIVE,	/* send a NAT keepalive (RFC 3948 §2.3) */
	AGENT_PEER_TEARDOWN,	/* delete the idle SA */
	AGENT_PEER_GAVE_UP,	/* the peer's awaited handshake did not come: counted as failed (back-off) */
};

/** What `autotunnel status` says of a peer. */
enum agent_peer_state {
	AGENT_PEER_IDLE,	/* no SA; one is made on demand */
	AGENT_PEER_CONNECTING,
	AGENT_PEER_UP,
	AGENT_PEER_UNREACHABLE,	/* the last handshake got no answer; retried after back-off */
};

/** Per-peer timers: tunnel on demand, keepalive, idle teardown. */
struct agent_peer_timers {
	const struct agent_timer_cfg *cfg;	/* borrowed; must outlive the peer */
	bool sa_up, connecting, keep, nat;
	uint64_t last_sent, last_data, last_rx, handshake_at, retry_at;
	uint64_t await_until;	/* connecting, but the peer starts IKE: give up then (0: not waiting) */
	uint32_t hs_fails;
};

/** @p cfg is borrowed. @p keep: the user marked the peer to be kept up. */
void agent_peer_timers_init(struct agent_peer_timers *p, const struct agent_timer_cfg *cfg, bool keep);
/** Keep the tunnel up (connect now and after every loss) or make it on demand. */
void agent_peer_set_keep(struct agent_peer_timers *p, bool keep);
/** Whether this host is behind a NAT on the path to the peer (IKE NAT detection). */
void agent_peer_set_nat(struct agent_peer_timers *p, bool nat);
/**
 * A packet for the peer arrived and there is no SA: true if a handshake
 * should start now (it is then in progress); false while one is in progress
 * or while a peer that did not answer waits out its back-off.
 */
bool agent_peer_want_connect(struct agent_peer_timers *p, uint64_t now);
void agent_peer_handshake_done(struct agent_peer_timers *p, uint64_t now);
/** The handshake got no answer (or was refused): report, and wait out a doubling back-off. */
void agent_peer_handshake_failed(struct agent_peer_timers *p, uint64_t now);
/** The SA is gone (deleted by the peer, dead peer detection). */
void agent_peer_sa_closed(struct agent_peer_timers *p, uint64_t now);
/**
 * We asked for a handshake (CONNECT, or want_connect was true) but IKE has
 * one under way already (perhaps the peer's): it is not ours to wait for;
 * its outcome arrives as handshake_done or sa_closed like any other.
 */
void agent_peer_connect_in_progress(struct agent_peer_timers *p);
/**
 * We want a tunnel but the peer is to start IKE (hole punching found a
 * path and the peer's ULA is the lower, docs/paths.md §5): still
 * connecting, until its handshake_done; after await_ms without it, the
 * attempt counts as failed (AGENT_PEER_GAVE_UP, then the back-off).
 */
void agent_peer_await_peer(struct agent_peer_timers *p, uint64_t now);
/**
 * The peer published a new location: a new path deserves a try at once,
 * whatever the back-off said. True when a back-off was cut short (packets
 * that wait may ask for a tunnel again now).
 */
bool agent_peer_moved(struct agent_peer_timers *p, uint64_t now);
/** The peer was set up anew (our RSIP address came or went): its failures are forgotten. */
void agent_peer_reset(struct agent_peer_timers *p);
/** Data (not keepalives) sent to or received from the peer through the SA. */
void agent_peer_data_sent(struct agent_peer_timers *p, uint64_t now);
void agent_peer_data_received(struct agent_peer_timers *p, uint64_t now);
/** Any other packet sent to the peer (IKE): it keeps the NAT binding alive too. */
void agent_peer_packet_sent(struct agent_peer_timers *p, uint64_t now);
/**
 * Whether the tunnel is up and data came in from the peer less than
 * alive_ms ago: its current path works (docs/design.md §7), so a newly
 * published location need not replace it at once.
 */
bool agent_peer_path_alive(const struct agent_peer_timers *p, uint64_t now);

uint64_t agent_peer_next(const struct agent_peer_timers *p);
/** The action due at @p now, or AGENT_PEER_NONE; GAVE_UP, then TEARDOWN before KEEPALIVE. */
enum agent_peer_action agent_peer_due(struct agent_peer_timers *p, uint64_t now);
enum agent_peer_state agent_peer_state(const struct agent_peer_timers *p);

/** What the account authority's timers ask for (docs/authority.md §7). */
enum agent_enrol_action {
	AGENT_ENROL_NONE = 0,
	AGENT_ENROL_REFRESH,	/* add this host's authority records again (anchor, certificate, list, request) */
	AGENT_ENROL_REREAD,	/* read every watched record once (an event may have been missed) */
	AGENT_ENROL_RENEW,	/* a member: write (again) its renewal request */
	AGENT_ENROL_CHECK,	/* look at the wall clock: a certificate at two thirds, a join request near its end */
};

/**
 * The account authority's deadlines (enrol.c). Its reads are not here:
 * they follow the watcher's events, not a clock. Each action handed out by
 * agent_enrol_due() is in flight until agent_enrol_done() reports it.
 */
struct agent_enrol_timers {
	const struct agent_timer_cfg *cfg;	/* borrowed; must outlive the timers */
	bool running;
	uint64_t refresh_at, reread_at, renew_at, check_at;
};

/** @p cfg is borrowed. Nothing is scheduled. */
void agent_enrol_timers_init(struct agent_enrol_timers *e, const struct agent_timer_cfg *cfg);
/** Signed in: refresh, read everything and look at the clock now; no renewal asked. */
void agent_enrol_start(struct agent_enrol_timers *e, uint64_t now);
/** Signed out: nothing more is scheduled. */
void agent_enrol_stop(struct agent_enrol_timers *e);
/**
 * The action @p a ended at @p now: @p ok, it comes again after its period
 * (REFRESH enrol_refresh_ms, REREAD enrol_reread_ms, RENEW enrol_resend_ms,
 * CHECK enrol_check_ms); not ok (no connection to the server), after
 * retry_min_ms. A RENEW reported while no renewal is wanted is forgotten.
 */
void agent_enrol_done(struct agent_enrol_timers *e, enum agent_enrol_action a, uint64_t now, bool ok);
/** This host's records changed (a new certificate, a new request): add them again now. */
void agent_enrol_records_changed(struct agent_enrol_timers *e, uint64_t now);
/** A member wants its certificate renewed (asked, or two thirds of its life): ask now unless a request is out. */
void agent_enrol_renew_wanted(struct agent_enrol_timers *e, uint64_t now);
/** The renewal was answered (or is no longer wanted): no more requests. */
void agent_enrol_renew_ended(struct agent_enrol_timers *e);
uint64_t agent_enrol_next(const struct agent_enrol_timers *e);
/** The action due at @p now, then in flight, or AGENT_ENROL_NONE; in the order REFRESH, CHECK, RENEW, REREAD. */
enum agent_enrol_action agent_enrol_due(struct agent_enrol_timers *e, uint64_t now);

/** Exponential back-off: min(@p min_ms * 2^@p n, @p max_ms). */
uint64_t agent_backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t n);

#endif
