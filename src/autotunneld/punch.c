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
#define PUNCH_TXNS 24		/* checks of one peer remembered for their answers */
#define PUNCH_NONCES 16		/* requests answered, remembered for twice their freshness */

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
	bool req_written;		/* our punch request under its name, to delete when the round ends */
	struct agent_rr req_rr;
	struct nonce nonces[PUNCH_NONCES];
	struct event *timer;
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
	struct pp peer[PUNCH_PEERS];
};

static const char *ep4(const uint8_t a[4], uint16_t port, char *buf, size_t len)
{
	char s[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, a, s, sizeof(s)), port);
	return buf;
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

static void round_stop(struct pp *pp)
{
	pp->running = false;
	evtimer_del(pp->timer);
	request_delete(pp);
}

/* Send one check of the round (RFC 8445 §7.2.2), remembered by its transaction id. */
static void send_check(struct pp *pp, const struct agent_check *c, uint64_t now)
{
	struct atd_punch *pu = pp->pu;
	struct stun_check_req r = { .controlling = pp->paths.controlling, .tiebreak = pp->tiebreak };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	uint8_t buf[STUN_CHECK_MSG_MAX];
	struct txn *t;
	int len, err;

	/* the tunnel socket only: no relay (issue 12), no outer IPv6 yet, no prediction sockets */
	if (c->via_relay || c->v6 || c->sock != 0)
		return;
	if (rand_bytes(r.tid, sizeof(r.tid)))
		return;
	memcpy(r.to, pp->ula, 16);
	memcpy(r.from, pu->ula, 16);
	/* RFC 8445 §7.1.1: the priority a peer-reflexive candidate learnt from this check would have */
	r.prio = agent_cand_priority(AGENT_CAND_PRFLX, 65535);
	if ((len = stun_check_request_build(&r, pu->key, buf, sizeof(buf))) < 0)
		return;
	memcpy(&to.sin_addr, c->addr, 4);
	if ((err = pu->ops.send(pu->arg, &to, buf, (size_t)len))) {
		log_debug("%s: cannot send a check: %s", pp->label, strerror(-err));
		return;
	}
	log_debug("%s: check %u sent to %s", pp->label, c->attempt, ep4(c->addr, c->port, (char[32]){ 0 }, 32));
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
	char e[32];

	if (!pp->running)
		return;
	agent_paths_poll(&pp->paths, now, &out);
	for (size_t i = 0; i < out.n; i++)
		send_check(pp, &out.check[i], now);
	if (out.nominated != AGENT_PATHS_NONE) {
		const struct agent_pair *pr = &pp->paths.pair[out.nominated];
		const struct agent_cand *rc = &pp->paths.remote[pr->remote];

		pp->have_path = true;
		pp->path.controlling = pp->paths.controlling;
		pp->path.cls = pr->cls;
		memcpy(pp->path.addr4, rc->addr, 4);
		pp->path.port = rc->port;
		pp->path.rtt_ms = pr->rtt_ms;
		log_info("%s: direct path %s (%s, rtt %u ms, %s)", pp->label, ep4(rc->addr, rc->port, e, sizeof(e)),
			 agent_path_class_name((enum agent_path_class)pr->cls), pr->rtt_ms,
			 pp->paths.controlling ? "we start IKE on it" : "it starts IKE on it");
		pu->ops.nominated(pu->arg, pp->label, &pp->path);
		if (!pp->running)
			return;
	}
	if (out.failed) {
		log_info("%s: no direct path worked (every pair of candidates was checked)", pp->label);
		round_stop(pp);
		pu->ops.failed(pu->arg, pp->label);
		return;
	}
	if (out.next == AGENT_NEVER) {
		round_stop(pp);
		return;
	}
	arm(pp, out.next);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	poll_round(arg);
}

static bool same_addr(const struct agent_cand *a, const struct agent_cand *b)
{
	return a->v6 == b->v6 && a->port == b->port && !memcmp(a->addr, b->addr, a->v6 ? 16 : 4);
}

static void add_cand(struct agent_cand *to, size_t *n, size_t cap, const struct agent_cand *c)
{
	if (c->v6 && !ATD_PUNCH_CHECK_V6)
		return;
	if (c->kind == AGENT_CAND_RELAY || c->kind == AGENT_CAND_PRFLX)
		return;	/* relays are issue 12's */
	for (size_t i = 0; i < *n; i++)
		if (same_addr(&to[i], c))
			return;
	if (*n < cap)
		to[(*n)++] = *c;
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

	for (size_t i = 0; i < pu->ours.n; i++)
		add_cand(local, &nl, AGENT_PATHS_LOCAL_MAX, &pu->ours.c[i]);
	for (size_t i = 0; pp->has_cands && i < pp->cands.n; i++)
		add_cand(remote, &nr, AGENT_PATHS_REMOTE_MAX, &pp->cands.c[i]);
	for (size_t i = 0; i < pp->nextra; i++)
		add_cand(remote, &nr, AGENT_PATHS_REMOTE_MAX, &pp->extra[i]);
	if (nl == 0 || nr == 0)
		return -EHOSTUNREACH;
	if ((role = agent_paths_ike_role(pu->ula, pp->ula)) < 0)
		return role;
	agent_paths_cfg_default(&cfg);
	/* the prediction round needs sockets of its own, which the data plane does not have yet */
	cfg.predict_max = 0;
	if (rand_bytes(&seed, sizeof(seed)) || rand_bytes(&pp->tiebreak, sizeof(pp->tiebreak)))
		return -EIO;
	round_stop(pp);
	memset(pp->tx, 0, sizeof(pp->tx));
	rc = agent_paths_start(&pp->paths, &cfg, local, nl, remote, nr, role == AGENT_IKE_INITIATOR, seed,
			       clock_now_ms());
	if (rc)
		return rc;
	if (pp->paths.npairs == 0)
		return -EHOSTUNREACH;	/* e.g. LAN candidates on different subnets only */
	pp->running = pp->ran = true;
	log_info("%s: checking %u pairs of candidates (%s)", pp->label, pp->paths.npairs, why);
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
	pp->nextra = 0;
	for (size_t i = 0; i < req->n && i < AGENT_CAND_MAX; i++)
		pp->extra[pp->nextra++] = req->c[i];
	if (round_start(pp, "it asked us to punch"))
		log_info("%s asked us to punch, but there is no pair to check", pp->label);
}

static bool check_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	struct stun_check_req r;
	uint8_t out[STUN_CHECK_MSG_MAX], a[16] = { 0 };
	struct pp *pp;
	char e[32];
	int n, rc;

	rc = stun_check_request_parse(buf, len, pu->ula, pu->key, &r);
	log_debug_rl("a check from %s: %s", ep4((const uint8_t *)&from->sin_addr, ntohs(from->sin_port), e, sizeof(e)),
		  rc ? strerror(-rc) : "valid");
	if (rc == -EACCES || rc == -EPERM) {
		/* a check that does not hold the account's key (or is not for us): never learnt from */
		pu->refused++;
		log_debug_rl("a connectivity check from %s refused (%s; %llu refused so far)",
			     ep4((const uint8_t *)&from->sin_addr, ntohs(from->sin_port), e, sizeof(e)),
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
	if ((n = stun_check_response_build(r.tid, (const struct sockaddr *)from, pu->key, out, sizeof(out))) > 0)
		(void)pu->ops.send(pu->arg, from, out, (size_t)n);
	/*
	 * Its check arrived before its request (or without one): check back at
	 * once, unless it comes on the path we already use (the tail of its
	 * round, or its keepalive checks): answered, nothing else.
	 */
	if (!pp->running) {
		if (pp->have_path && !memcmp(pp->path.addr4, &from->sin_addr, 4) &&
		    pp->path.port == ntohs(from->sin_port))
			return true;
		if (round_start(pp, "its check arrived"))
			return true;
	}
	memcpy(a, &from->sin_addr, 4);
	if (pp->running && agent_paths_on_check(&pp->paths, clock_now_ms(), 0, false, a, ntohs(from->sin_port)) == 0)
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

bool atd_punch_input(struct atd_punch *pu, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	if (!pu || !pu->signed_in)
		return false;
	if (stun_check_is_request(buf, len))
		return check_input(pu, buf, len, from);
	return response_input(pu, buf, len);
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
