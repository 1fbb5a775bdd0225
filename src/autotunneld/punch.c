/*
 * src/autotunneld/punch.c: hole punching for the account's peers (see
 * punch.h): lib/agent/paths rounds, lib/stun/check messages, punch requests.
 */
#include "autotunneld/punch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/records.h"
#include "common/clock.h"
#include "common/log.h"
#include "stun/check.h"
#include "util/random.h"

#define PUNCH_PEERS 64
#define PUNCH_TXNS 96		/* checks of one peer remembered for their answers: 384 ms of prediction probes */
#define PUNCH_NONCES 16		/* requests answered, remembered for twice their freshness */
#define PUNCH_PSOCKS 256	/* prediction sockets of one round at most (lib/agent/paths' predict_socks) */

struct txn {
	bool used;
	uint8_t tid[STUN_TID_LEN];
	struct agent_check chk;
	uint64_t sent_ms;
};

struct nonce {
	uint8_t n[AGENT_PUNCH_NONCE_LEN];
	uint64_t until_ms;
};

struct pp {
	bool used;
	struct atd_punch *pu;
	char label[AGENT_LABEL_MAX + 1];
	uint8_t ula[16];
	bool has_cands;
	struct agent_cand_set cands;
	struct agent_cand extra[AGENT_CAND_MAX];	/* from its last punch request */
	uint8_t nextra;
	struct agent_paths paths;
	bool running, ran;
	uint64_t tiebreak;
	struct txn tx[PUNCH_TXNS];
	unsigned next_tx;
	bool have_path;
	struct atd_punch_path path;
	uint64_t nominated_wall_s;	/* wall clock of the last nomination (a request older is answered) */
	bool relay_bound;		/* ops.relay_bind() holds its relayed address, relay_at */
	uint8_t relay_at4[4];
	uint16_t relay_at_port;
	bool recheck;			/* the timer starts a background round (ATD_PUNCH_RECHECK_MS) */
	bool bg_round;			/* the round running is such a background round */
	unsigned rechecks;		/* background rounds since the path was nominated */
	bool req_written;		/* our punch request under its name, to delete when the round ends */
	struct agent_rr req_rr;
	struct nonce nonces[PUNCH_NONCES];
	struct event *timer;
	/* the port-prediction round (docs/paths.md §4): its sockets, paths' socket k is psock[k - 1] */
	uint16_t psock[PUNCH_PSOCKS];
	uint16_t npsock;
	bool psock_tried;	/* opened (or tried to) in this round */
	uint16_t bound;		/* the prediction socket that carries the tunnel to this peer, 0: our port */
	bool bound_now;		/* bound in this round */
	uint32_t probes;	/* prediction probes sent in this round */
	uint64_t round_t0;
};

struct atd_punch {
	struct event_base *base;
	struct atd_punch_ops ops;
	void *arg;
	bool signed_in;
	char domain[AGENT_NAME_MAX + 1], host[AGENT_LABEL_MAX + 1];
	uint8_t ula[16];
	uint8_t key[STUN_CHECK_KEY_LEN];
	struct agent_cand_set ours;
	uint64_t refused;
	struct atd_punch_sock_ops sops;	/* the prediction round's sockets; open NULL: no round */
	void *sarg;
	struct pp peer[PUNCH_PEERS];
};

/* An IPv4 endpoint for the log (the prediction round is IPv4's). */
static const char *ep4(const uint8_t a[4], uint16_t port, char *buf, size_t len)
{
	char t[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, a, t, sizeof(t)), port);
	return buf;
}

/* A candidate's transport address (IPv4 in addr[0..3]) as the data plane takes it. */
static void to_dp(bool v6, const uint8_t addr[16], uint16_t port, union dp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (v6) {
		out->sin6.sin6_family = AF_INET6;
		out->sin6.sin6_port = htons(port);
		memcpy(&out->sin6.sin6_addr, addr, 16);
	} else {
		out->sin.sin_family = AF_INET;
		out->sin.sin_port = htons(port);
		memcpy(&out->sin.sin_addr, addr, 4);
	}
}

/* The other way: false for a family lib/agent/paths does not know. */
static bool from_dp(const union dp_addr *a, bool *v6, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (a->sa.sa_family == AF_INET6) {
		*v6 = true;
		memcpy(addr, &a->sin6.sin6_addr, 16);
		*port = ntohs(a->sin6.sin6_port);
		return true;
	}
	if (a->sa.sa_family == AF_INET) {
		*v6 = false;
		memcpy(addr, &a->sin.sin_addr, 4);
		*port = ntohs(a->sin.sin_port);
		return true;
	}
	return false;
}

static struct pp *by_label(struct atd_punch *pu, const char *label)
{
	for (int i = 0; i < PUNCH_PEERS; i++)
		if (pu->peer[i].used && !strcmp(pu->peer[i].label, label))
			return &pu->peer[i];
	return NULL;
}

static struct pp *by_ula(struct atd_punch *pu, const uint8_t ula[16])
{
	for (int i = 0; i < PUNCH_PEERS; i++)
		if (pu->peer[i].used && !memcmp(pu->peer[i].ula, ula, 16))
			return &pu->peer[i];
	return NULL;
}

static void arm(struct pp *pp, uint64_t at)
{
	uint64_t now = clock_now_ms(), ms = at > now ? at - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(pp->timer, &tv);
}

/* The round ended (or was stopped): our punch request under the peer's name goes. */
static void request_delete(struct pp *pp)
{
	if (!pp->req_written)
		return;
	pp->req_written = false;
	if (pp->pu->ops.request(pp->pu->arg, &pp->req_rr, false))
		log_debug("%s: cannot delete our punch request (it expires with its lease)", pp->label);
}

static void psock_close_round(struct pp *pp);
static void psock_unbind(struct pp *pp);

static void round_stop(struct pp *pp)
{
	if (pp->running && pp->probes && !pp->bound_now)
		log_info("%s: port prediction: %u probes, no mapping of the peer found", pp->label, pp->probes);
	/* a socket the peer reached, but no pair nominated: it carries nothing */
	if (pp->running && pp->bound_now && pp->paths.nominated == AGENT_PATHS_NONE)
		psock_unbind(pp);
	pp->running = false;
	pp->recheck = false;
	evtimer_del(pp->timer);
	request_delete(pp);
	psock_close_round(pp);
}

/* ---- the port-prediction round (docs/paths.md §4) ---- */

static bool in_round(const struct pp *pp, uint16_t id)
{
	for (uint16_t i = 0; i < pp->npsock; i++)
		if (pp->psock[i] == id)
			return true;
	return false;
}

/* Every socket of the round goes, but the one that carries the tunnel. */
static void psock_close_round(struct pp *pp)
{
	struct atd_punch *pu = pp->pu;

	for (uint16_t i = 0; i < pp->npsock; i++)
		if (pp->psock[i] != pp->bound)
			pu->sops.close(pu->sarg, pp->psock[i]);
	pp->npsock = 0;
}

/* The tunnel leaves from our port again (a path there was nominated, the peer is gone). */
static void psock_unbind(struct pp *pp)
{
	struct atd_punch *pu = pp->pu;

	if (pp->bound && !in_round(pp, pp->bound))
		pu->sops.close(pu->sarg, pp->bound);	/* closing unbinds */
	else if (pp->bound)
		(void)pu->sops.bind(pu->sarg, pp->bound, NULL);
	pp->bound = 0;
}

/* Prediction socket @p id carries what goes to the peer at @p to from now on. */
static void psock_bind(struct pp *pp, uint16_t id, const struct sockaddr_in *to)
{
	struct atd_punch *pu = pp->pu;
	char e[32];
	int rc;

	if (pp->bound != id)
		psock_unbind(pp);
	if ((rc = pu->sops.bind(pu->sarg, id, to))) {
		log_info("%s: cannot let prediction socket %u carry the tunnel: %s", pp->label, id, strerror(-rc));
		return;
	}
	if (pp->bound != id)
		log_debug("%s: the tunnel to %s leaves from prediction socket %u", pp->label,
			  ep4((const uint8_t *)&to->sin_addr, ntohs(to->sin_port), e, sizeof(e)), id);
	pp->bound = id;
	pp->bound_now = true;
}

/* The round's sockets, opened at its first probe from one (a round that never gets there opens none). */
static void psock_ensure(struct pp *pp)
{
	struct atd_punch *pu = pp->pu;
	unsigned want = pp->paths.cfg.predict_socks;
	int n;

	if (pp->psock_tried)
		return;
	pp->psock_tried = true;
	if (want > PUNCH_PSOCKS)
		want = PUNCH_PSOCKS;
	if ((n = pu->sops.open(pu->sarg, want, pp->psock)) < 0) {
		log_info("%s: port prediction: no sockets (%s); probing from our port only", pp->label, strerror(-n));
		return;
	}
	pp->npsock = (uint16_t)n;
	/* fewer sockets (the pool, the open-file limit): the others' probes are not sent */
	log_info("%s: port prediction: %d of %u sockets opened", pp->label, n, want);
}

/* Send probe or check @p c from prediction socket c->sock, remembered by its transaction id. */
static void send_psock(struct pp *pp, const struct agent_check *c, uint64_t now)
{
	struct atd_punch *pu = pp->pu;
	struct stun_check_req r = { .controlling = pp->paths.controlling, .tiebreak = pp->tiebreak };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	uint8_t buf[STUN_CHECK_MSG_MAX];
	struct txn *t;
	int len, err;

	psock_ensure(pp);
	if (c->via_relay || c->v6 || c->sock > pp->npsock)
		return;
	if (rand_bytes(r.tid, sizeof(r.tid)))
		return;
	memcpy(r.to, pp->ula, 16);
	memcpy(r.from, pu->ula, 16);
	r.prio = agent_cand_priority(AGENT_CAND_PRFLX, 65535);
	if ((len = stun_check_request_build(&r, pu->key, buf, sizeof(buf))) < 0)
		return;
	memcpy(&to.sin_addr, c->addr, 4);
	if ((err = pu->sops.send(pu->sarg, pp->psock[c->sock - 1], &to, buf, (size_t)len))) {
		log_debug_rl("%s: cannot send a probe: %s", pp->label, strerror(-err));
		return;
	}
	if (c->pair == AGENT_PATHS_NONE)
		pp->probes++;
	t = &pp->tx[pp->next_tx++ % PUNCH_TXNS];
	t->used = true;
	memcpy(t->tid, r.tid, STUN_TID_LEN);
	t->chk = *c;
	t->sent_ms = now;
}

/* A pair was nominated: the tunnel leaves from the socket that proved it. */
static void predict_nominated(struct pp *pp, const struct agent_pair *pr, const struct agent_cand *rc)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(rc->port) };
	uint64_t ms = clock_now_ms() - pp->round_t0;
	char e[32];

	memcpy(&to.sin_addr, rc->addr, 4);
	if (pr->sock && pr->sock <= pp->npsock && !rc->v6) {
		psock_bind(pp, pp->psock[pr->sock - 1], &to);
		log_info("%s: port prediction: the path to %s found after %u probes, %llu ms into the round; "
			 "the tunnel leaves from our port %u", pp->label, ep4(rc->addr, rc->port, e, sizeof(e)), pp->probes,
			 (unsigned long long)ms, pp->pu->sops.port ? pp->pu->sops.port(pp->pu->sarg, pp->bound) : 0);
	} else {
		psock_unbind(pp);
		if (pp->probes && rc->kind == AGENT_CAND_PRFLX)
			log_info("%s: port prediction: the peer's port %s found after %u probes, %llu ms into the round",
				 pp->label, ep4(rc->addr, rc->port, e, sizeof(e)), pp->probes, (unsigned long long)ms);
	}
	if (pp->probes)
		pp->bound_now = true;	/* found: nothing to report at the end of the round */
	/* nothing the other sockets could find beats it (paths stopped the round's probes) */
	psock_close_round(pp);
}

/* The peer's relayed address through our allocation (@p c), or nothing (@p c NULL). */
static void relay_bind(struct pp *pp, const struct agent_cand *c)
{
	struct atd_punch *pu = pp->pu;
	struct sockaddr_in to = { .sin_family = AF_INET };
	int err;

	if (!pu->ops.relay_bind)
		return;
	if (!c) {
		if (pp->relay_bound && pu->ops.relay_bind(pu->arg, pp->label, NULL) == 0)
			pp->relay_bound = false;
		return;
	}
	if (pp->relay_bound && !memcmp(pp->relay_at4, c->addr, 4) && pp->relay_at_port == c->port)
		return;
	memcpy(&to.sin_addr, c->addr, 4);
	to.sin_port = htons(c->port);
	if ((err = pu->ops.relay_bind(pu->arg, pp->label, &to))) {
		log_info("%s: cannot reach its relayed address through our relay: %s", pp->label, strerror(-err));
		return;
	}
	pp->relay_bound = true;
	memcpy(pp->relay_at4, c->addr, 4);
	pp->relay_at_port = c->port;
}

static bool same_path(const struct atd_punch_path *a, const struct atd_punch_path *b)
{
	return a->cls == b->cls && dp_addr_eq(&a->to, &b->to) &&
	       a->controlling == b->controlling;
}

/*
 * The round ended while the path in use is relayed: the IKE initiator's
 * side checks the direct pairs again in a moment (one side asks, so the
 * two do not restart each other's rounds).
 */
static void recheck_arm(struct pp *pp)
{
	uint64_t ms = ATD_PUNCH_RECHECK_MS;

	if (!pp->have_path || pp->path.cls != AGENT_PATH_RELAY || !pp->path.controlling)
		return;
	for (unsigned i = 1; i < pp->rechecks && ms < ATD_PUNCH_RECHECK_MAX_MS; i++)
		ms *= 2;
	if (ms > ATD_PUNCH_RECHECK_MAX_MS)
		ms = ATD_PUNCH_RECHECK_MAX_MS;
	pp->rechecks++;
	pp->recheck = true;
	arm(pp, clock_now_ms() + ms);
}

/* Send one check of the round (RFC 8445 §7.2.2), remembered by its transaction id. */
static void send_check(struct pp *pp, const struct agent_check *c, uint64_t now)
{
	struct atd_punch *pu = pp->pu;
	struct stun_check_req r = { .controlling = pp->paths.controlling, .tiebreak = pp->tiebreak };
	union dp_addr to;
	uint8_t buf[STUN_CHECK_MSG_MAX];
	char e[DP_ADDR_STRLEN];
	struct txn *t;
	int len, err;

	/* the tunnel socket only (its IPv4 or IPv6 side): no relay (issue 12), no prediction sockets */
	if (c->via_relay || c->sock != 0)
		return;
	if (rand_bytes(r.tid, sizeof(r.tid)))
		return;
	memcpy(r.to, pp->ula, 16);
	memcpy(r.from, pu->ula, 16);
	/* RFC 8445 §7.1.1: the priority a peer-reflexive candidate learnt from this check would have */
	r.prio = agent_cand_priority(AGENT_CAND_PRFLX, 65535);
	if ((len = stun_check_request_build(&r, pu->key, buf, sizeof(buf))) < 0)
		return;
	to_dp(c->v6, c->addr, c->port, &to);
	if ((err = pu->ops.send(pu->arg, &to, buf, (size_t)len))) {
		/* e.g. no IPv6 route now: that pair times out, the other family goes on (docs/paths.md §9.7) */
		log_debug("%s: cannot send a check to %s: %s", pp->label, dp_addr_str(&to, e, sizeof(e)),
			  strerror(-err));
		return;
	}
	log_debug("%s: check %u sent to %s", pp->label, c->attempt, dp_addr_str(&to, e, sizeof(e)));
	t = &pp->tx[pp->next_tx++ % PUNCH_TXNS];
	t->used = true;
	memcpy(t->tid, r.tid, STUN_TID_LEN);
	t->chk = *c;
	t->sent_ms = now;
}

static void poll_round(struct pp *pp)
{
	struct atd_punch *pu = pp->pu;
	struct agent_paths_out out;
	uint64_t now = clock_now_ms();
	char e[DP_ADDR_STRLEN];

	if (!pp->running)
		return;
	agent_paths_poll(&pp->paths, now, &out);
	for (size_t i = 0; i < out.n; i++) {
		const struct agent_check *c = &out.check[i];

		if (c->sock) {
			send_psock(pp, c, now);
			continue;
		}
		send_check(pp, c, now);
		if (c->pair == AGENT_PATHS_NONE)
			pp->probes++;	/* the spraying side's, from our port */
	}
	if (out.nominated != AGENT_PATHS_NONE) {
		const struct agent_pair *pr = &pp->paths.pair[out.nominated];
		const struct agent_cand *rc = &pp->paths.remote[pr->remote];
		struct atd_punch_path np = { .controlling = pp->paths.controlling, .cls = pr->cls,
					     .rtt_ms = pr->rtt_ms };
		bool was_relayed = pp->have_path && pp->path.cls == AGENT_PATH_RELAY;

		if (pu->sops.open)
			predict_nominated(pp, pr, rc);
		to_dp(rc->v6, rc->addr, rc->port, &np.to);
		if (pp->bg_round && pp->have_path && same_path(&pp->path, &np)) {
			/*
			 * A background round found the relayed path in use again:
			 * nothing moves (any other round re-points the tunnel, which
			 * a network change on our side needs even to the same address).
			 */
			pp->path.rtt_ms = np.rtt_ms;
		} else {
			pp->have_path = true;
			pp->path = np;
			pp->nominated_wall_s = clock_wall_s();
			pp->rechecks = 0;
			if (was_relayed && np.cls != AGENT_PATH_RELAY)
				log_info("%s: upgraded to direct: %s (%s, rtt %u ms, %s)", pp->label,
					 dp_addr_str(&np.to, e, sizeof(e)),
					 agent_path_class_name((enum agent_path_class)pr->cls), pr->rtt_ms,
					 pp->paths.controlling ? "we move the tunnel to it" : "it moves the tunnel to it");
			else
				log_info("%s: %s path %s (%s, rtt %u ms, %s)", pp->label,
					 np.cls == AGENT_PATH_RELAY ? "relayed" : "direct",
					 dp_addr_str(&np.to, e, sizeof(e)),
					 agent_path_class_name((enum agent_path_class)pr->cls), pr->rtt_ms,
					 pp->paths.controlling ? "we start IKE on it" : "it starts IKE on it");
			pu->ops.nominated(pu->arg, pp->label, &pp->path);
			if (!pp->running)
				return;
		}
	}
	if (out.failed) {
		log_info("%s: no direct path worked (every pair of candidates was checked)%s", pp->label,
			 pp->have_path && pp->path.cls == AGENT_PATH_RELAY ? "; staying relayed" : "");
		round_stop(pp);
		pu->ops.failed(pu->arg, pp->label);
		recheck_arm(pp);
		return;
	}
	if (out.next == AGENT_NEVER) {
		round_stop(pp);
		recheck_arm(pp);
		return;
	}
	arm(pp, out.next);
}

static int round_start(struct pp *pp, const char *why);
static void ask(struct pp *pp);

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pp *pp = arg;

	(void)fd, (void)what;
	if (!pp->running && pp->recheck) {
		/* issue 12: still relayed; the direct pairs again, with the peer (MOBIKE moves the SA if one works) */
		pp->recheck = false;
		if (round_start(pp, "looking for a direct path while relayed") == 0) {
			pp->bg_round = true;
			ask(pp);
		}
		return;
	}
	poll_round(pp);
}

static bool same_addr(const struct agent_cand *a, const struct agent_cand *b)
{
	return a->v6 == b->v6 && a->port == b->port && !memcmp(a->addr, b->addr, a->v6 ? 16 : 4);
}

/*
 * @p relay: keep a relay candidate. Ours never is a local candidate of the
 * round (what goes through our allocation is chosen by destination: the
 * peer's relayed address, bound by relay_bind()); the peer's is kept when
 * we hold an allocation too: its permissions let in only its peers'
 * relays.
 */
static void add_cand(struct agent_cand *to, size_t *n, size_t cap, const struct agent_cand *c, bool relay)
{
	if ((c->kind == AGENT_CAND_RELAY && (!relay || c->v6)) || c->kind == AGENT_CAND_PRFLX)
		return;
	for (size_t i = 0; i < *n; i++)
		if (same_addr(&to[i], c))
			return;
	if (*n < cap)
		to[(*n)++] = *c;
}

static const struct agent_cand *relay_in(const struct agent_cand *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].kind == AGENT_CAND_RELAY)
			return &c[i];
	return NULL;
}

/* Start (or start again) a round with the peer: its published candidates and those of its request. */
static int round_start(struct pp *pp, const char *why)
{
	struct atd_punch *pu = pp->pu;
	struct agent_cand local[AGENT_PATHS_LOCAL_MAX], remote[AGENT_PATHS_REMOTE_MAX];
	size_t nl = 0, nr = 0;
	struct agent_paths_cfg cfg;
	uint64_t seed;
	int role, rc;
	const struct agent_cand *peer_relay = NULL;
	bool ours_relay = false;

	for (size_t i = 0; i < pu->ours.n; i++) {
		ours_relay = ours_relay || (pu->ours.c[i].kind == AGENT_CAND_RELAY && !pu->ours.c[i].v6);
		add_cand(local, &nl, AGENT_PATHS_LOCAL_MAX, &pu->ours.c[i], false);
	}
	/* its request is newer than its record: its relayed address from there first, and only one */
	for (size_t i = 0; i < pp->nextra; i++)
		add_cand(remote, &nr, AGENT_PATHS_REMOTE_MAX, &pp->extra[i], ours_relay && !relay_in(remote, nr));
	for (size_t i = 0; pp->has_cands && i < pp->cands.n; i++)
		add_cand(remote, &nr, AGENT_PATHS_REMOTE_MAX, &pp->cands.c[i], ours_relay && !relay_in(remote, nr));
	if (nl == 0 || nr == 0)
		return -EHOSTUNREACH;
	peer_relay = relay_in(remote, nr);
	relay_bind(pp, peer_relay);
	if ((role = agent_paths_ike_role(pu->ula, pp->ula)) < 0)
		return role;
	agent_paths_cfg_default(&cfg);
	/* without the data plane's sockets (docs/paths.md §4) the spraying side would probe in vain too */
	if (!pu->sops.open)
		cfg.predict_max = 0;
	if (cfg.predict_socks > PUNCH_PSOCKS)
		cfg.predict_socks = PUNCH_PSOCKS;
	if (rand_bytes(&seed, sizeof(seed)) || rand_bytes(&pp->tiebreak, sizeof(pp->tiebreak)))
		return -EIO;
	round_stop(pp);
	pp->bg_round = false;
	memset(pp->tx, 0, sizeof(pp->tx));
	rc = agent_paths_start(&pp->paths, &cfg, local, nl, remote, nr, role == AGENT_IKE_INITIATOR, seed,
			       clock_now_ms());
	if (rc)
		return rc;
	if (pp->paths.npairs == 0)
		return -EHOSTUNREACH;	/* e.g. LAN candidates on different subnets only */
	pp->running = pp->ran = true;
	pp->psock_tried = pp->bound_now = false;
	pp->probes = 0;
	pp->round_t0 = clock_now_ms();
	log_info("%s: checking %u pairs of candidates (%s)", pp->label, pp->paths.npairs, why);
	if (pp->paths.predict_role != AGENT_PREDICT_NONE && cfg.predict_max)
		log_info("%s: port prediction if nothing works within %u ms: %s, at most %u probes, one per %u ms",
			 pp->label, cfg.predict_after_ms,
			 pp->paths.predict_role == AGENT_PREDICT_SPRAY ? "we spray the peer's ports from our port" :
			 pp->paths.predict_role == AGENT_PREDICT_OPEN ? "we open mappings from new sockets" :
			 "both sides guess, from new sockets", cfg.predict_max, cfg.predict_pace_ms);
	poll_round(pp);
	return 0;
}

static void ask(struct pp *pp);

/* ---- public ---- */

struct atd_punch *atd_punch_new(struct event_base *base, const struct atd_punch_ops *ops, void *arg)
{
	struct atd_punch *pu = calloc(1, sizeof(*pu));

	if (!pu)
		return NULL;
	pu->base = base;
	pu->ops = *ops;
	pu->arg = arg;
	return pu;
}

static void peer_free(struct pp *pp)
{
	round_stop(pp);
	psock_unbind(pp);
	relay_bind(pp, NULL);
	if (pp->timer)
		event_free(pp->timer);
	memset(pp, 0, sizeof(*pp));
}

void atd_punch_free(struct atd_punch *pu)
{
	if (!pu)
		return;
	for (int i = 0; i < PUNCH_PEERS; i++)
		if (pu->peer[i].used) {
			pu->peer[i].req_written = false;	/* no requests on the way out: they expire */
			peer_free(&pu->peer[i]);
		}
	OPENSSL_cleanse(pu->key, sizeof(pu->key));
	free(pu);
}

void atd_punch_account(struct atd_punch *pu, const char *domain, const char *host, const uint8_t ula[16],
		       const uint8_t *ike_key)
{
	if (!ike_key) {
		for (int i = 0; i < PUNCH_PEERS; i++)
			if (pu->peer[i].used)
				peer_free(&pu->peer[i]);
		OPENSSL_cleanse(pu->key, sizeof(pu->key));
		pu->signed_in = false;
		return;
	}
	if (stun_check_key(ike_key, pu->key)) {
		log_warnx("cannot derive the connectivity checks' key: no hole punching");
		pu->signed_in = false;
		return;
	}
	snprintf(pu->domain, sizeof(pu->domain), "%s", domain);
	snprintf(pu->host, sizeof(pu->host), "%s", host);
	memcpy(pu->ula, ula, 16);
	pu->signed_in = true;
}

void atd_punch_local(struct atd_punch *pu, const struct agent_cand_set *ours)
{
	bool changed = pu->ours.n != ours->n || pu->ours.gen != ours->gen;

	pu->ours = *ours;
	if (!changed || !pu->signed_in)
		return;
	/*
	 * A network change: gather again (done: these are the new ones) and run
	 * again what ran; the peer learns our new candidates from the request,
	 * before our record is republished.
	 */
	for (int i = 0; i < PUNCH_PEERS; i++) {
		struct pp *pp = &pu->peer[i];

		if (!pp->used || (!pp->running && !pp->have_path))
			continue;
		if (round_start(pp, "our candidates changed") == 0)
			ask(pp);
		else
			round_stop(pp);
	}
}

void atd_punch_peer(struct atd_punch *pu, const char *label, const uint8_t ula[16], const struct agent_cand_set *cands)
{
	struct pp *pp = by_label(pu, label);

	if (!pp) {
		for (int i = 0; i < PUNCH_PEERS && !pp; i++)
			if (!pu->peer[i].used)
				pp = &pu->peer[i];
		if (!pp) {
			log_debug_rl("more peers than hole punching keeps (%d)", PUNCH_PEERS);
			return;
		}
		memset(pp, 0, sizeof(*pp));
		if (!(pp->timer = evtimer_new(pu->base, timer_cb, pp)))
			return;
		pp->used = true;
		pp->pu = pu;
		snprintf(pp->label, sizeof(pp->label), "%s", label);
	}
	if (memcmp(pp->ula, ula, 16)) {
		/* a new ULA (it restarted): what was found is of the old one */
		round_stop(pp);
		psock_unbind(pp);
		pp->have_path = false;
		memcpy(pp->ula, ula, 16);
	}
	pp->has_cands = cands != NULL;
	if (cands)
		pp->cands = *cands;
}

void atd_punch_peer_gone(struct atd_punch *pu, const char *label)
{
	struct pp *pp = by_label(pu, label);

	if (pp)
		peer_free(pp);
}

/* docs/paths.md §1.3: ask the peer to check at the same time, with our candidates and a fresh nonce. */
static void ask(struct pp *pp)
{
	struct atd_punch *pu = pp->pu;
	struct agent_punch req = { 0 };

	snprintf(req.from, sizeof(req.from), "%s", pu->host);
	req.t = clock_wall_s();
	if (rand_bytes(req.nonce, sizeof(req.nonce)))
		return;
	for (size_t i = 0; i < pu->ours.n && req.n < AGENT_CAND_MAX; i++)
		if (pu->ours.c[i].kind != AGENT_CAND_PRFLX)
			req.c[req.n++] = pu->ours.c[i];
	request_delete(pp);
	if (agent_punch_rr(&req, pu->domain, pp->label, 0, &pp->req_rr) == 0 &&
	    pu->ops.request(pu->arg, &pp->req_rr, true) == 0)
		pp->req_written = true;
	else
		log_info("%s: cannot write the punch request; checking without it", pp->label);
}

int atd_punch_want(struct atd_punch *pu, const char *label)
{
	struct pp *pp = by_label(pu, label);
	int rc;

	if (!pu->signed_in)
		return -ENOTCONN;
	if (!pp)
		return -ENOENT;
	if (pp->running)
		return 0;
	if ((rc = round_start(pp, "a tunnel is wanted")))
		return rc;
	ask(pp);
	return 0;
}

/* Every candidate of @p req is one the round had (published or from an earlier request). */
static bool request_known(const struct pp *pp, const struct agent_punch *req)
{
	for (size_t i = 0; i < req->n && i < AGENT_CAND_MAX; i++) {
		bool known = req->c[i].kind == AGENT_CAND_PRFLX;

		for (size_t k = 0; !known && k < pp->nextra; k++)
			known = same_addr(&pp->extra[k], &req->c[i]);
		for (size_t k = 0; !known && pp->has_cands && k < pp->cands.n; k++)
			known = same_addr(&pp->cands.c[k], &req->c[i]);
		if (!known)
			return false;
	}
	return true;
}

void atd_punch_request(struct atd_punch *pu, const struct agent_punch *req)
{
	struct pp *pp = pu->signed_in ? by_label(pu, req->from) : NULL;
	uint64_t now = clock_now_ms();
	struct nonce *slot = NULL;

	if (!pp) {
		log_debug_rl("a punch request from %s, which is not a peer we know: ignored", req->from);
		return;
	}
	/* docs/paths.md §1.3: only a fresh request, and each nonce once */
	if (!agent_punch_fresh(req, clock_wall_s(), AGENT_PUNCH_MAX_AGE_S)) {
		log_debug("%s: a stale punch request: ignored", pp->label);
		return;
	}
	for (int i = 0; i < PUNCH_NONCES; i++) {
		struct nonce *n = &pp->nonces[i];

		if (n->until_ms > now && !memcmp(n->n, req->nonce, AGENT_PUNCH_NONCE_LEN))
			return;
		if (!slot || n->until_ms < slot->until_ms)
			slot = n;
	}
	memcpy(slot->n, req->nonce, AGENT_PUNCH_NONCE_LEN);
	slot->until_ms = now + 2000ull * AGENT_PUNCH_MAX_AGE_S;
	/*
	 * A request of the attempt a round of ours already answered: written
	 * no later than our nomination and naming nothing new (on one LAN the
	 * peer's check arrives, and the round nominates, before its request).
	 * Another round would only check the same pairs again; a request after
	 * a change of the peer's (new candidates) or a later attempt (a newer
	 * time) starts one.
	 */
	if (pp->have_path && pp->nominated_wall_s && req->t <= pp->nominated_wall_s && request_known(pp, req)) {
		log_debug("%s: its punch request is of the round that found %s: no second round", pp->label,
			  agent_path_class_name((enum agent_path_class)pp->path.cls));
		return;
	}
	pp->nextra = 0;
	for (size_t i = 0; i < req->n && i < AGENT_CAND_MAX; i++)
		pp->extra[pp->nextra++] = req->c[i];
	if (round_start(pp, "it asked us to punch"))
		log_info("%s asked us to punch, but there is no pair to check", pp->label);
}

static bool check_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const union dp_addr *from)
{
	struct stun_check_req r;
	uint8_t out[STUN_CHECK_MSG_MAX], a[16];
	struct pp *pp;
	char e[DP_ADDR_STRLEN];
	uint16_t port;
	bool v6;
	int n, rc;

	if (!from_dp(from, &v6, a, &port))
		return false;
	rc = stun_check_request_parse(buf, len, pu->ula, pu->key, &r);
	log_debug_rl("a check from %s: %s", dp_addr_str(from, e, sizeof(e)), rc ? strerror(-rc) : "valid");
	if (rc == -EACCES || rc == -EPERM) {
		/* a check that does not hold the account's key (or is not for us): never learnt from */
		pu->refused++;
		log_debug_rl("a connectivity check from %s refused (%s; %llu refused so far)",
			     dp_addr_str(from, e, sizeof(e)),
			     rc == -EACCES ? "wrong key or no integrity" : "not for us",
			     (unsigned long long)pu->refused);
		return true;
	}
	if (rc)
		return false;	/* a Binding request of another kind: not ours */
	if (!(pp = by_ula(pu, r.from))) {
		log_debug_rl("a connectivity check from a host we do not know: dropped");
		return true;
	}
	/* RFC 8489 §14.2: tell it where its check came from (its reflexive address as we see it) */
	if ((n = stun_check_response_build(r.tid, &from->sa, pu->key, out, sizeof(out))) > 0)
		(void)pu->ops.send(pu->arg, from, out, (size_t)n);
	/*
	 * Its check arrived before its request (or without one): check back at
	 * once, unless it comes on the path we already use (the tail of its
	 * round, or its keepalive checks): answered, nothing else.
	 */
	if (!pp->running) {
		if (pp->have_path && dp_addr_eq(&pp->path.to, from))
			return true;
		if (round_start(pp, "its check arrived"))
			return true;
	}
	if (pp->running && agent_paths_on_check(&pp->paths, clock_now_ms(), 0, v6, a, port) == 0)
		poll_round(pp);
	return true;
}

static bool response_input(struct atd_punch *pu, const uint8_t *buf, size_t len)
{
	uint8_t tid[STUN_TID_LEN];
	struct sockaddr_storage mapped;
	struct stun_msg m;
	uint64_t now = clock_now_ms();

	/* the transaction id first: the answers to the reflexive-address check are not ours */
	if (stun_msg_parse(buf, len, &m))
		return false;
	for (int i = 0; i < PUNCH_PEERS; i++) {
		struct pp *pp = &pu->peer[i];

		for (int k = 0; pp->used && k < PUNCH_TXNS; k++) {
			struct txn *t = &pp->tx[k];

			if (!t->used || memcmp(t->tid, m.tid, STUN_TID_LEN))
				continue;
			if (stun_check_response_parse(buf, len, pu->key, tid, &mapped)) {
				pu->refused++;
				log_debug_rl("%s: an answer to our check failed its integrity: ignored (%llu refused so far)",
					     pp->label, (unsigned long long)pu->refused);
				return true;
			}
			t->used = false;
			if (pp->running &&
			    agent_paths_on_response(&pp->paths, now, &t->chk, (uint32_t)(now - t->sent_ms)) == 0)
				poll_round(pp);
			return true;
		}
	}
	return false;
}

bool atd_punch_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const union dp_addr *from)
{
	if (!pu || !pu->signed_in)
		return false;
	if (stun_check_is_request(buf, len))
		return check_input(pu, buf, len, from);
	return response_input(pu, buf, len);
}

void atd_punch_set_sockets(struct atd_punch *pu, const struct atd_punch_sock_ops *ops, void *arg)
{
	pu->sops = *ops;
	pu->sarg = arg;
}

bool atd_punch_input_sock(struct atd_punch *pu, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
			  uint16_t sock)
{
	struct stun_check_req r;
	uint8_t out[STUN_CHECK_MSG_MAX], a[16] = { 0 };
	struct pp *pp;
	uint16_t k = 0;
	char e[32];
	int n, rc;

	if (!pu || !pu->signed_in || !pu->sops.open)
		return false;
	if (!stun_check_is_request(buf, len))
		return response_input(pu, buf, len);	/* the answer to a probe: by its transaction id */
	rc = stun_check_request_parse(buf, len, pu->ula, pu->key, &r);
	if (rc == -EACCES || rc == -EPERM) {
		/* as on our port (docs/paths.md §9.3): never learnt from, never answered */
		pu->refused++;
		log_debug_rl("a connectivity check on prediction socket %u from %s refused (%s; %llu refused so far)", sock,
			     ep4((const uint8_t *)&from->sin_addr, ntohs(from->sin_port), e, sizeof(e)),
			     rc == -EACCES ? "wrong key or no integrity" : "not for us", (unsigned long long)pu->refused);
		return true;
	}
	if (rc || !(pp = by_ula(pu, r.from)))
		return true;	/* nothing else listens on these sockets */
	for (uint16_t i = 0; i < pp->npsock; i++)
		if (pp->psock[i] == sock)
			k = (uint16_t)(i + 1);
	if (!k && pp->bound != sock) {
		log_debug_rl("%s: a check on prediction socket %u, which is not one of its: dropped", pp->label, sock);
		return true;
	}
	/* RFC 8489 §14.2, from the socket it reached: the peer's answer must come through the same mapping */
	if ((n = stun_check_response_build(r.tid, (const struct sockaddr *)from, pu->key, out, sizeof(out))) > 0)
		(void)pu->sops.send(pu->sarg, sock, from, out, (size_t)n);
	if (!k || !pp->running)
		return true;	/* on the socket that carries the tunnel: answered, nothing else */
	/*
	 * The peer got through one of our mappings: what we send it (IKE above
	 * all, which may come before we nominate) leaves from that socket now.
	 */
	if (!pp->bound_now)
		psock_bind(pp, sock, from);
	memcpy(a, &from->sin_addr, 4);
	if (agent_paths_on_check(&pp->paths, clock_now_ms(), k, false, a, ntohs(from->sin_port)) == 0)
		poll_round(pp);
	return true;
}

bool atd_punch_get(const struct atd_punch *pu, const char *label, struct atd_punch_path *out)
{
	for (int i = 0; pu && i < PUNCH_PEERS; i++)
		if (pu->peer[i].used && pu->peer[i].have_path && !strcmp(pu->peer[i].label, label)) {
			*out = pu->peer[i].path;
			return true;
		}
	return false;
}
