/*
 * src/autotunneld/dynpeer.c: the account's hosts as tunnel peers (see
 * dynpeer.h). A peer is a slot of d->peers like a static one, so the data
 * plane and IKE glue (dpglue.c, ikeglue.c) serve it unchanged; this file
 * decides when its tunnel is made, moved, kept open and torn down, using
 * lib/agent's peer timers for every such decision. A leaf of the agent: it
 * gets the account's view with each call that needs it, and reports
 * through struct atd_dynpeers_ops.
 */
#include "autotunneld/dynpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/name.h"
#include "agent/paths.h"
#include "autotunneld/daemon.h"
#include "autotunneld/ikeglue.h"
#include "autotunneld/ping6.h"
#include "autotunneld/types.h"
#include "common/clock.h"
#include "common/log.h"
#include "ike/ike.h"

#define TICK_MS 250		/* activity is sampled, and peer timers run, this often */
#define PINGS_MAX 8
#define PING_INTERVAL_MS 200
#define NUDGE_SEQ 0xffffu	/* echo requests that only carry our new address to a peer */
#define HANDSHAKE_RTT_MAX_MS 1000	/* below the first IKE retransmission doubled */

struct atd_dynpeer {
	struct atd_dynpeers *ps;
	struct atd_rpeer *rp;
	struct atd_peer conf;		/* rp->conf points here */
	char dpname[64];		/* our name for it in the data plane and lib/ike */
	char label[64], fqdn[AGENT_NAME_MAX + 1];
	uint8_t ula[16];
	bool has_outer;			/* its published location */
	uint8_t outer4[4];
	uint16_t port;
	bool gone;			/* its records are gone; the slot waits for it to return */
	struct agent_peer_timers t;
	uint64_t tx_seen, rx_seen;	/* dp_peer_activity at the last tick */
	bool ike_remote_stale;		/* lib/ike still has an older published location */
	uint64_t connect_ms;		/* when we started the handshake (0: we did not) */
	bool has_rtt;
	uint32_t rtt_ms;
	uint64_t up_ms;			/* when the current tunnel came up */
	bool told_no_location;
	bool public_outer;		/* its published location is its own address (a `public` candidate) */
	uint8_t punch_cls;		/* enum agent_path_class hole punching found (0: none) */
	bool punch_moved;		/* it withdrew its location: a round when its candidates are known */
	bool no_direct;			/* the last round ended with nothing nominated (status says so) */
	union dp_addr punch_to;		/* ... at this transport address (either family) */
	bool told_no_cert;		/* said that no tunnel is made without a certificate */
	bool cert;			/* its IKE peer authenticates with certificates (the account authority) */
	uint8_t peer_cert[2048];	/* its certificate as IKE last accepted it (account authority) */
	size_t peer_cert_len;
};

struct ping {
	bool used;
	struct atd_dynpeers *ps;
	struct atd_dynpeer *peer;
	void (*done)(void *arg, const struct atd_ping_result *r);
	void *arg;
	struct atd_ping_result res;
	uint16_t seq0;
	unsigned count, tries;
	struct event *send_ev, *deadline_ev;
};

struct atd_dynpeers {
	struct atd *d;
	const struct atd_dynpeers_ops *ops;
	void *arg;
	uint8_t ula[16];		/* ours */
	struct agent_timer_cfg tcfg;	/* the peers' timer policy (lib/agent timers) */
	struct atd_dynpeer *p[ATD_MAX_PEERS];
	int n;
	struct event *tick;
	struct ping6 *ping6;		/* NULL: no ICMPv6 socket (autotunnel ping does not work) */
	uint16_t next_seq;
	struct ping pings[PINGS_MAX];
	/* the account authority's policy on a peer's certificate (struct atd_acct_view verify) */
	int (*verify)(void *arg, const uint8_t *der, size_t len, const char *host, const uint8_t *ula);
	void *verify_arg;
	bool located;			/* we publish a location (atd_dynpeers_local_cands()) */
	bool located_public;		/* our own public address (else a mapping or a lent one) */
};

static struct ike *ike_of(struct atd *d)
{
	return ike_glue_ike(d->ike);
}

static uint16_t our_port(const struct atd *d)
{
	return (uint16_t)(d->conf.port ? d->conf.port : 4500);
}

static const char *ep(const uint8_t a[4], uint16_t port, char *buf, size_t len)
{
	char s[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, a, s, sizeof(s)), port);
	return buf;
}

/* An IKE address of either family as "a.b.c.d:port" or "[v6]:port". */
static const char *ike_ep(const struct ike_addr *a, char *buf, size_t len)
{
	union dp_addr d = { 0 };

	if (a->family == AF_INET6) {
		d.sin6.sin6_family = AF_INET6;
		d.sin6.sin6_port = htons(a->port);
		memcpy(&d.sin6.sin6_addr, a->ip, 16);
	} else {
		d.sin.sin_family = AF_INET;
		d.sin.sin_port = htons(a->port);
		memcpy(&d.sin.sin_addr, a->ip, 4);
	}
	return dp_addr_str(&d, buf, len);
}

static struct atd_dynpeer *find(const struct atd_dynpeers *ps, const char *name);

static struct atd_dynpeer *by_fqdn(struct atd_dynpeers *ps, const char *fqdn)
{
	for (int i = 0; i < ps->n; i++)
		if (agent_name_equal(ps->p[i]->fqdn, fqdn))
			return ps->p[i];
	return NULL;
}

/*
 * Where the peer's packets go now, either family: the data plane's address
 * (it follows roaming and hole punching), else what it published.
 */
static bool current_remote(struct atd *d, const struct atd_dynpeer *p, union dp_addr *out)
{
	dp_peer_remote(d->dp, p->rp->dp_id, out);
	if (out->sa.sa_family == AF_INET || out->sa.sa_family == AF_INET6)
		return true;
	memset(out, 0, sizeof(*out));
	if (!p->has_outer)
		return false;
	out->sin.sin_family = AF_INET;
	out->sin.sin_port = htons(p->port);
	memcpy(&out->sin.sin_addr, p->outer4, 4);
	return true;
}

/* @p a into the status and ping results' fields: IPv4 in addr[0..3], port in host order. */
static void outer_fields(const union dp_addr *a, bool *v6, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	*v6 = a->sa.sa_family == AF_INET6;
	if (*v6)
		memcpy(addr, &a->sin6.sin6_addr, 16);
	else
		memcpy(addr, &a->sin.sin_addr, 4);
	*port = dp_addr_port(a);
}

/* ---- tunnels ---- */

static void retry_at(struct atd *d, struct atd_dynpeer *p, uint64_t when)
{
	uint64_t now = clock_now_ms(), ms = when > now ? when - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	(void)d;
	evtimer_add(p->rp->retry, &tv);
}

/* Packets may ask for a tunnel again (the data plane reports a need once until reset). */
static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_rpeer *rp = arg;

	(void)fd, (void)what;
	dp_peer_need_reset(rp->d->dp, rp->dp_id);
}

static void connect_now(struct atd *d, struct atd_dynpeer *p, const char *why)
{
	uint64_t now = clock_now_ms();
	char e[DP_ADDR_STRLEN];
	union dp_addr cur;
	int ret;

	if (!current_remote(d, p, &cur)) {
		/* issue 11: no location published, but perhaps a direct path by hole punching */
		if ((ret = p->ps->ops->punch(p->ps->arg, p->label)) == 0) {
			/* connecting until the path's IKE succeeds or the round fails (atd_dynpeers_path_failed) */
			log_info("%s: no location published: looking for a direct path (%s)", p->label, why);
			return;
		}
		agent_peer_handshake_failed(&p->t, now);
		if (!p->told_no_location)
			log_info("%s published no location (its network gives it no port mapping) and no "
				 "direct path can be tried: a tunnel is possible only when it starts one to us",
				 p->label);
		p->told_no_location = true;
		retry_at(d, p, p->t.retry_at);
		return;
	}
	if (p->ike_remote_stale && p->has_outer) {
		struct ike_addr ia = { .family = AF_INET, .port = p->port };

		memcpy(ia.ip, p->outer4, 4);
		ike_peer_set_remote(ike_of(d), p->dpname, &ia, now);
		p->ike_remote_stale = false;
	}
	ret = ike_connect(ike_of(d), p->dpname, now);
	if (ret > 0) {
		p->connect_ms = now;
		log_info("%s: starting a tunnel to %s (%s)", p->label, dp_addr_str(&cur, e, sizeof(e)), why);
	} else if (ret == -EALREADY) {
		agent_peer_connect_in_progress(&p->t);	/* perhaps the peer's: wait for its outcome */
	} else {
		log_warnx("%s: cannot start a tunnel: %s", p->label, strerror(-ret));
		agent_peer_handshake_failed(&p->t, now);
		retry_at(d, p, p->t.retry_at);
	}
	ike_glue_kick(d->ike);
}

void atd_dynpeer_need_sa(struct atd_rpeer *rp)
{
	struct atd *d = rp->d;
	struct atd_dynpeer *p = rp->dyn;
	uint64_t now = clock_now_ms();

	if (p->gone) {
		log_debug_rl("%s left the account: packets for it are dropped", p->label);
		return;
	}
	if (agent_peer_want_connect(&p->t, now))
		connect_now(d, p, "packets are waiting: tunnel on demand");
	else if (!p->t.connecting && !p->t.sa_up)
		retry_at(d, p, p->t.retry_at);	/* backing off after no answer: not before then */
}

void atd_dynpeer_ike_event(struct atd_rpeer *rp, const struct ike_event *ev)
{
	struct atd *d = rp->d;
	struct atd_dynpeer *p = rp->dyn;
	uint64_t now = clock_now_ms(), back;
	char e[DP_ADDR_STRLEN];

	if (!p)
		return;
	switch (ev->type) {
	case IKE_EV_SA_UP:
		if (p->connect_ms && ev->up.initiator && now - p->connect_ms < HANDSHAKE_RTT_MAX_MS) {
			/* IKE_SA_INIT and IKE_AUTH: two round trips (a longer handshake had retransmissions) */
			p->rtt_ms = (uint32_t)((now - p->connect_ms) / 2);
			p->has_rtt = true;
		}
		p->connect_ms = 0;
		p->up_ms = now;
		p->told_no_location = false;
		agent_peer_handshake_done(&p->t, now);
		p->no_direct = false;
		agent_peer_set_nat(&p->t, ev->up.nat_local);
		log_info("tunnel to %s is up (via %s%s)", p->label, ike_ep(&ev->up.remote, e, sizeof(e)),
			 ev->up.nat_local ? ", we are behind a NAT" : "");
		break;
	case IKE_EV_SA_DOWN:
		p->connect_ms = 0;
		if (p->t.sa_up || (!p->t.connecting && p->up_ms)) {
			agent_peer_sa_closed(&p->t, now);
			p->up_ms = 0;
			if (ev->down.reason == IKE_DOWN_TIMEOUT)
				log_warnx("%s stopped answering: its tunnel is closed (made again when packets ask)",
					  p->label);
			else
				log_info("tunnel to %s closed (%s)", p->label, ike_down_reason_name(ev->down.reason));
			retry_at(d, p, now);
		} else if (ev->down.reason != IKE_DOWN_REPLACED) {
			union dp_addr cur;
			char c[DP_ADDR_STRLEN];

			agent_peer_handshake_failed(&p->t, now);
			back = p->t.retry_at > now ? (p->t.retry_at - now + 999) / 1000 : 0;
			if (current_remote(d, p, &cur))
				dp_addr_str(&cur, c, sizeof(c));
			else
				snprintf(c, sizeof(c), "-");
			if (ev->down.reason == IKE_DOWN_AUTH_FAILED && p->cert)
				log_warnx("%s at %s: authentication failed (a certificate refused: revoked, "
					  "expired, or not from the account authority); next try in %llu s at the earliest",
					  p->label, c, (unsigned long long)back);
			else if (ev->down.reason == IKE_DOWN_AUTH_FAILED)
				log_warnx("%s at %s: authentication failed (was it signed in with another "
					  "password?); next try in %llu s at the earliest", p->label,
					  c, (unsigned long long)back);
			else
				log_warnx("%s does not answer at %s (%s); next try in %llu s at the earliest",
					  p->label, c, ike_down_reason_name(ev->down.reason),
					  (unsigned long long)back);
			retry_at(d, p, p->t.retry_at);
		}
		break;
	case IKE_EV_MOVED:
		log_info("tunnel to %s moved: now via %s", p->label, ike_ep(&ev->up.remote, e, sizeof(e)));
		break;
	default:
		break;
	}
}

/* The peer's activity and timers, every TICK_MS. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_dynpeers *ps = arg;
	struct atd *d = ps->d;
	uint64_t now = clock_now_ms();
	bool kick = false;

	(void)fd, (void)what;
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];
		uint64_t tx, rx;
		enum agent_peer_action act;
		union dp_addr to;
		uint32_t sa;

		if (p->gone)
			continue;
		if (dp_peer_activity(d->dp, p->rp->dp_id, &tx, &rx) == 0) {
			if (tx != p->tx_seen)
				agent_peer_data_sent(&p->t, now);
			if (rx != p->rx_seen)
				agent_peer_data_received(&p->t, now);
			p->tx_seen = tx;
			p->rx_seen = rx;
		}
		for (int k = 0; k < 4 && (act = agent_peer_due(&p->t, now)) != AGENT_PEER_NONE; k++) {
			switch (act) {
			case AGENT_PEER_CONNECT:
				connect_now(d, p, "kept up");
				break;
			case AGENT_PEER_GAVE_UP:
				log_warnx("%s found a direct path but started no tunnel on it; next try in %llu s "
					  "at the earliest", p->label,
					  (unsigned long long)((p->t.retry_at - now + 999) / 1000));
				retry_at(d, p, p->t.retry_at);
				break;
			case AGENT_PEER_TEARDOWN:
				if ((sa = ike_sa_find(ike_of(d), p->dpname))) {
					log_info("tunnel to %s idle for %d s: closed (made again when packets ask)",
						 p->label, d->conf.idle_timeout_s);
					ike_close(ike_of(d), sa, now);
					kick = true;
				}
				break;
			case AGENT_PEER_KEEPALIVE:
				/* RFC 3948 §2.3: keep the NAT's binding for this flow open */
				dp_peer_remote(d->dp, p->rp->dp_id, &to);
				if (to.sa.sa_family && dp_send_keepalive(d->dp, &to) < 0)
					log_debug("%s: keepalive: %s", p->label, strerror(errno));
				break;
			default:
				break;
			}
		}
	}
	if (kick)
		ike_glue_kick(d->ike);
}

/* ---- peers from the watcher ---- */

static bool in_list(const char *list, const char *label)
{
	char buf[1024], *save = NULL;

	if (!list)
		return false;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (!strcasecmp(t, label))
			return true;
	return false;
}

static void ts_host(struct atd_ts *ts, const uint8_t ula[16])
{
	memset(ts, 0, sizeof(*ts));
	ts->family = AF_INET6;
	memcpy(ts->addr, ula, 16);
}

static void ike_ts_host(struct ike_ts *ts, const uint8_t ula[16])
{
	memset(ts, 0, sizeof(*ts));
	ts->family = AF_INET6;
	ts->port_hi = 65535;
	memcpy(ts->start, ula, 16);
	memcpy(ts->end, ula, 16);
}

/*
 * Register @p p with lib/ike: PSK = the account's IKE key, ID_FQDN = H.D on
 * each side (docs/design.md §6). While an RSIP gateway lends us an address
 * (RFC 3104), the tunnel runs from Nb and the lent IKE port, with the lent
 * SPIs as inbound SPIs (so the gateway can hand the peer's ESP to us, and
 * a peer that starts IKE to our published Nb:port gets them too), native
 * ESP through the gateway's IP-in-IP tunnel, and no MOBIKE.
 */
/*
 * lib/ike's question after it checked the chain to the anchor, the ID and
 * the signature: is this certificate the peer's (its name H and the ULA it
 * publishes, docs/authority.md §3) and not revoked? Kept for atd_dynpeers_recheck().
 */
static int cert_policy(void *arg, const uint8_t *der, size_t len, const char *id)
{
	struct atd_dynpeer *p = arg;
	struct atd_dynpeers *ps = p->ps;
	int rc;

	if (strcasecmp(id, p->fqdn) != 0 || !ps->verify)
		return -EPERM;
	rc = ps->verify(ps->verify_arg, der, len, p->label, p->ula);
	if (rc) {
		log_warnx("%s: its certificate is refused: %s", p->label, rc == -EKEYREVOKED ? "revoked"
			  : rc == -EPERM ? "it does not name this host and its address" : strerror(-rc));
		return rc;
	}
	if (len <= sizeof(p->peer_cert)) {
		memcpy(p->peer_cert, der, len);
		p->peer_cert_len = len;
	}
	return 0;
}

void atd_dynpeers_recheck(struct atd_dynpeers *ps, const struct atd_acct_view *acc)
{
	struct atd *d = ps ? ps->d : NULL;
	uint64_t now = clock_now_ms();
	bool any = false;

	if (!ps || !acc->signed_in || !acc->verify)
		return;
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];
		uint32_t sa;
		int rc;

		if (p->gone || !p->peer_cert_len || !(sa = ike_sa_find(ike_of(d), p->dpname)))
			continue;
		rc = acc->verify(acc->verify_arg, p->peer_cert, p->peer_cert_len, p->label, p->ula);
		if (!rc)
			continue;
		log_warnx("%s: closing its tunnel: its certificate is %s", p->label,
			  rc == -EKEYREVOKED ? "revoked" : "no longer valid");
		p->peer_cert_len = 0;
		(void)ike_close(ike_of(d), sa, now);
		any = true;
	}
	if (any)
		ike_glue_kick(d->ike);
}

static int ike_add(struct atd_dynpeers *ps, struct atd_dynpeer *p, const struct atd_acct_view *acc)
{
	struct atd *d = ps->d;
	struct ike_peer_conf pc = { .name = p->dpname, .remote_id = p->fqdn, .psk = acc->ike_key, .psk_len = 32 };
	char local_id[AGENT_NAME_MAX + 1];
	struct ike_glue_rsip gr;
	struct dp_path path = { .kind = DP_PATH_UDP };
	bool rsip = ps->ops->rsip_binding(ps->arg, &gr, &path) == 0;
	int ret;

	snprintf(local_id, sizeof(local_id), "%s.%s", acc->host, acc->domain);
	pc.local_id = local_id;
	if (acc->authority && !acc->cert) {
		/* docs/authority.md §1: no PSK between the hosts of an account with an authority */
		if (!p->told_no_cert)
			log_info("%s: no tunnel until this host has its certificate (join or recovery)", p->label);
		p->told_no_cert = true;
		return 0;
	}
	if (acc->cert) {
		pc.psk = NULL;
		pc.psk_len = 0;
		pc.cert = acc->cert;
		pc.cert_len = acc->cert_len;
		pc.key = acc->key;
		pc.key_len = acc->key_len;
		pc.ca = acc->anchor;
		pc.ca_len = acc->anchor_len;
		pc.cert_policy = cert_policy;
		pc.cert_policy_arg = p;
		ps->verify = acc->verify;
		ps->verify_arg = acc->verify_arg;
		p->told_no_cert = false;
	}
	p->cert = acc->cert != NULL;
	p->rp->cert = p->cert;
	if (p->has_outer) {
		union dp_addr sin = { .sin = { .sin_family = AF_INET, .sin_port = htons(p->port) } };

		memcpy(&sin.sin.sin_addr, p->outer4, 4);
		pc.remote.family = AF_INET;
		pc.remote.port = p->port;
		memcpy(pc.remote.ip, p->outer4, 4);
		ike_glue_local_towards(&sin, our_port(d), &pc.local);
	}
	if (rsip) {
		pc.local.family = AF_INET;
		pc.local.port = ntohs(gr.local.sin_port);
		memcpy(pc.local.ip, &gr.local.sin_addr, 4);
		pc.no_mobike = true;
		pc.n_spis_in = gr.n_spis < IKE_MAX_SPIS_IN ? gr.n_spis : IKE_MAX_SPIS_IN;
		memcpy(pc.spis_in, gr.spis, pc.n_spis_in * sizeof(uint32_t));
	} else {
		path.kind = DP_PATH_UDP;	/* child_up picks native ESP when it may */
	}
	ike_ts_host(&pc.local_ts, ps->ula);
	ike_ts_host(&pc.remote_ts, p->ula);
	ret = ike_peer_add(ike_of(d), &pc, clock_now_ms());
	if (ret) {
		log_warnx("%s: IKE refused the peer: %s", p->label, strerror(-ret));
		return ret;
	}
	if ((ret = dp_peer_set_path(d->dp, p->rp->dp_id, &path)))
		log_warnx("%s: setting the ESP path: %s", p->label, strerror(-ret));
	p->rp->rsip = rsip ? ATD_RSIP_ON : ATD_RSIP_NONE;
	return 0;
}

void atd_dynpeers_rsip_changed(struct atd_dynpeers *ps, const struct atd_acct_view *acc)
{
	struct atd *d = ps ? ps->d : NULL;
	uint64_t now = clock_now_ms();

	if (!ps || !acc->signed_in || !acc->ike_key || !acc->host || !acc->domain)
		return;
	/* every tunnel starts over from the new address (lib/ike cannot move a peer's local SPIs) */
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];

		if (p->gone)
			continue;
		ike_peer_remove(ike_of(d), p->dpname, now);
		if (ike_add(ps, p, acc)) {
			p->gone = true;
			continue;
		}
		agent_peer_reset(&p->t);
		dp_peer_need_reset(d->dp, p->rp->dp_id);
	}
	ike_glue_kick(d->ike);
}

static struct atd_dynpeer *peer_new(struct atd_dynpeers *ps, const struct atd_peer_info *pi, const char *label,
				    const char *fqdn)
{
	struct atd *d = ps->d;
	struct atd_dynpeer *p;
	struct atd_rpeer *rp;
	struct dp_peer_conf pc = { 0 };
	int id;

	if (d->npeers >= ATD_MAX_PEERS) {
		log_warnx("%s: more than %d peers in this run; not added (restart the agent)", label, ATD_MAX_PEERS);
		return NULL;
	}
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->ps = ps;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->fqdn, sizeof(p->fqdn), "%s", fqdn);
	memcpy(p->ula, pi->ula, 16);
	/* slots live for the whole run (a new ULA moves its host's slot); a name seen before is made unique */
	snprintf(p->dpname, sizeof(p->dpname), "%s", label);
	for (int k = 2; dp_peer_find(d->dp, p->dpname) >= 0 && k < 100; k++)
		snprintf(p->dpname, sizeof(p->dpname), "%.56s~%d", label, k);
	pc.name = p->dpname;
	pc.has_ula = true;
	memcpy(&pc.ula, pi->ula, 16);
	if ((id = dp_peer_add(d->dp, &pc)) < 0) {
		log_warnx("%s: cannot add it to the data plane: %s", label, strerror(-id));
		free(p);
		return NULL;
	}
	rp = &d->peers[d->npeers++];
	memset(rp, 0, sizeof(*rp));
	rp->d = d;
	rp->dp_id = id;
	rp->dyn = p;
	rp->conf = &p->conf;
	rp->retry = evtimer_new(d->base, retry_cb, rp);
	p->rp = rp;
	p->conf.name = p->dpname;
	p->conf.remote_id = p->fqdn;
	ts_host(&p->conf.remote_ts[0], p->ula);
	ts_host(&p->conf.local_ts[0], ps->ula);
	p->conf.n_remote_ts = p->conf.n_local_ts = 1;
	p->conf.cipher = ESP_CIPHER_AES256_GCM16;
	p->conf.esn = true;
	agent_peer_timers_init(&p->t, &ps->tcfg, in_list(d->conf.keep, label));
	p->conf.connect = p->t.keep;
	ps->p[ps->n++] = p;
	log_info("%s: data-plane slot %d (%d in use)", label, id, ps->n);
	return p;
}

static void set_location(struct atd *d, struct atd_dynpeer *p, const struct atd_peer_info *pi, bool announce)
{
	struct ike_addr ia = { .family = AF_INET, .port = pi->port };
	union dp_addr sin = { .sin = { .sin_family = AF_INET, .sin_port = htons(pi->port) } }, cur;
	bool had = p->has_outer;
	char e[32];

	p->has_outer = pi->has_outer;
	if (!pi->has_outer) {
		if (!had || !announce)
			return;
		/*
		 * Neither end publishes a location now: our NAT (or its) lets in
		 * only what comes from where it was, so the tunnel needs a
		 * punched path (docs/paths.md §9.4); its candidates reach
		 * punch.c with this update, the round starts when they are there
		 * (p->punch_moved, atd_dynpeers_punch_moved()).
		 */
		if (!p->ps->located && p->t.sa_up) {
			log_info("%s withdrew its location (its network gives no port mapping now), and we "
				 "publish none: looking for a direct path", p->label);
			p->punch_moved = true;
			return;
		}
		log_info("%s withdrew its location (its network gives no port mapping now); "
			 "its tunnel stays where it is", p->label);
		return;
	}
	memcpy(p->outer4, pi->outer4, 4);
	p->port = pi->port;
	p->told_no_location = false;
	p->no_direct = false;	/* a location: no round is what reaches it now */
	p->public_outer = false;
	for (size_t i = 0; pi->has_cand && i < pi->cands.n; i++)
		if (pi->cands.c[i].kind == AGENT_CAND_PUBLIC && !memcmp(pi->cands.c[i].addr, pi->outer4, 4))
			p->public_outer = true;
	memcpy(ia.ip, pi->outer4, 4);
	memcpy(&sin.sin.sin_addr, pi->outer4, 4);
	dp_peer_remote(d->dp, p->rp->dp_id, &cur);
	if (dp_addr_eq(&cur, &sin)) {
		if (announce)
			log_info("%s moved to %s", p->label, ep(pi->outer4, pi->port, e, sizeof(e)));
	} else if (cur.sa.sa_family && agent_peer_path_alive(&p->t, clock_now_ms()) &&
		   !dp_relay_channel_get(d->dp, &cur, NULL)) {
		/* (not for a relayed address: the peer published a new one because its allocation is gone) */
		char c[DP_ADDR_STRLEN];

		/*
		 * Its packets already come from elsewhere (it moved and told us over
		 * the tunnel, docs/design.md §7): that path works, so keep it; the new
		 * location is where a tunnel starts next time.
		 */
		if (announce)
			log_info("%s moved to %s (its tunnel already follows it at %s)", p->label,
				 ep(pi->outer4, pi->port, e, sizeof(e)),
				 dp_addr_str(&cur, c, sizeof(c)));
		p->ike_remote_stale = true;
		return;
	} else {
		if (announce)
			log_info("%s moved to %s", p->label, ep(pi->outer4, pi->port, e, sizeof(e)));
		/* the tunnel follows at once: ESP goes there now, IKE moves (MOBIKE) as it may */
		dp_peer_set_remote(d->dp, p->rp->dp_id, &sin);
	}
	p->ike_remote_stale = false;
	ike_peer_set_remote(ike_of(d), p->dpname, &ia, clock_now_ms());
	ike_glue_kick(d->ike);
	/* a new location deserves a try at once, whatever the back-off said */
	if (agent_peer_moved(&p->t, clock_now_ms()))
		dp_peer_need_reset(d->dp, p->rp->dp_id);
}

void atd_dynpeers_update(struct atd_dynpeers *ps, const struct atd_acct_view *accv, const struct atd_peer_info *pi)
{
	struct atd *d = ps ? ps->d : NULL;
	struct atd_acct_view acc = *accv;
	struct atd_dynpeer *p;
	char fqdn[AGENT_NAME_MAX + 1], label[AGENT_LABEL_MAX + 1], us[AGENT_NAME_MAX + 1], e[32];
	const char *dot;

	if (!ps || !acc.signed_in || !acc.ike_key || !acc.host || !acc.domain)
		return;
	/* one check point for what the watcher hands us (it comes from DNS) */
	if (agent_name_canon(fqdn, sizeof(fqdn), pi->fqdn) < 0 || !(dot = strchr(fqdn, '.')) ||
	    (size_t)(dot - fqdn) > AGENT_LABEL_MAX || pi->ula[0] != 0xfd) {
		log_debug_rl("ignoring a peer with a bad name or address");
		return;
	}
	snprintf(label, sizeof(label), "%.*s", (int)(dot - fqdn), fqdn);
	if (agent_label_check(label, strlen(label)) < 0)
		return;
	snprintf(us, sizeof(us), "%s.%s", acc.host, acc.domain);
	if (agent_name_equal(fqdn, us))
		return;	/* ourselves */
	p = by_fqdn(ps, fqdn);
	if (p && memcmp(p->ula, pi->ula, 16)) {
		char u[INET6_ADDRSTRLEN];
		struct in6_addr a;

		/*
		 * It restarted (RFC 6281 §6.3: a new ULA per boot), or another
		 * computer holds its name now: the old tunnel goes, and the slot
		 * follows the new address (the old one's SAs, route and held
		 * packets go with it), so slots do not run out over restarts.
		 */
		log_info("%s has a new address %s (it restarted): starting over with it", label,
			 inet_ntop(AF_INET6, pi->ula, u, sizeof(u)));
		if (!p->gone)
			ike_peer_remove(ike_of(d), p->dpname, clock_now_ms());
		ike_glue_kick(d->ike);
		p->gone = true;
		memcpy(&a, pi->ula, 16);
		if (dp_peer_set_ula(d->dp, p->rp->dp_id, &a)) {
			log_warnx("%s: cannot move its data-plane slot to the new address", label);
			return;
		}
		memcpy(p->ula, pi->ula, 16);
		ts_host(&p->conf.remote_ts[0], p->ula);
		agent_peer_timers_init(&p->t, &ps->tcfg, p->t.keep);
		p->has_rtt = false;
		p->connect_ms = p->up_ms = 0;
		p->tx_seen = p->rx_seen = 0;
		log_info("%s keeps data-plane slot %d (%d in use)", label, p->rp->dp_id, ps->n);
		p->gone = false;
		p->has_outer = false;
		if (ike_add(ps, p, &acc)) {
			p->gone = true;
			return;
		}
		set_location(d, p, pi, false);
		ps->ops->hosts_changed(ps->arg);
		return;
	}
	if (p && p->gone) {
		p->gone = false;
		p->has_outer = false;
		if (ike_add(ps, p, &acc))
			return;
		log_info("%s is back in the account", label);
		set_location(d, p, pi, false);
		ps->ops->hosts_changed(ps->arg);
		return;
	}
	if (!p) {
		char u[INET6_ADDRSTRLEN];

		if (!(p = peer_new(ps, pi, label, fqdn)))
			return;
		if (ike_add(ps, p, &acc)) {
			p->gone = true;
			return;
		}
		inet_ntop(AF_INET6, p->ula, u, sizeof(u));
		if (pi->has_outer)
			log_info("found %s (%s, %s) at %s%s", label, fqdn, u, ep(pi->outer4, pi->port, e, sizeof(e)),
				 p->t.keep ? "; keeping a tunnel up" : "; tunnel on demand");
		else
			log_info("found %s (%s, %s), with no location: a tunnel to it needs hole punching",
				 label, fqdn, u);
		set_location(d, p, pi, false);
		ps->ops->hosts_changed(ps->arg);
		return;
	}
	if (pi->has_outer != p->has_outer ||
	    (pi->has_outer && (memcmp(pi->outer4, p->outer4, 4) || pi->port != p->port)))
		set_location(d, p, pi, true);
}

void atd_dynpeers_gone(struct atd_dynpeers *ps, const char *fqdn)
{
	struct atd_dynpeer *p = ps ? by_fqdn(ps, fqdn) : NULL;
	struct atd *d = ps ? ps->d : NULL;

	if (!p || p->gone)
		return;
	log_info("%s left the account (its records are gone): its tunnel is closed", p->label);
	p->gone = true;
	ike_peer_remove(ike_of(d), p->dpname, clock_now_ms());
	ike_glue_kick(d->ike);
	agent_peer_timers_init(&p->t, &ps->tcfg, p->t.keep);
	ps->ops->hosts_changed(ps->arg);
}

void atd_dynpeers_clear(struct atd_dynpeers *ps)
{
	struct atd *d = ps ? ps->d : NULL;

	if (!ps)
		return;
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];

		if (p->gone)
			continue;
		p->gone = true;
		ike_peer_remove(ike_of(d), p->dpname, clock_now_ms());
		agent_peer_timers_init(&p->t, &ps->tcfg, p->t.keep);
	}
	ike_glue_kick(d->ike);
}

size_t atd_dynpeers_hosts(const struct atd_dynpeers *ps, struct agent_host_entry *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; ps && i < ps->n && n < cap; i++) {
		struct atd_dynpeer *p = ps->p[i];

		if (p->gone)
			continue;
		snprintf(out[n].label, sizeof(out[n].label), "%s", p->label);
		snprintf(out[n].fqdn, sizeof(out[n].fqdn), "%s", p->fqdn);
		memcpy(out[n].ula, p->ula, 16);
		n++;
	}
	return n;
}

static bool private4(const uint8_t a[4])
{
	return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64);	/* RFC 1918, RFC 6598 */
}

/*
 * An up tunnel that is neither on the pair hole punching nominated nor at
 * the peer's published location: the peer started it to our location (our
 * own mapping or public address carries it, the peer's NAT address is
 * just where its packets come from), or it followed the peer after a move
 * (design.md §7). Its class says which (docs/paths.md §9.5).
 */
static uint8_t class_of_other(struct atd *d, const struct atd_dynpeer *p, const union dp_addr *cur,
			      const struct atd_peer_status *s)
{
	if (dp_relay_channel_get(d->dp, cur, NULL))
		return AGENT_PATH_RELAY;
	if (s->outer_v6)
		return AGENT_PATH_IPV6;
	if (private4(s->outer))
		return AGENT_PATH_LAN;
	if (p->ps->located)
		return p->ps->located_public ? AGENT_PATH_PUBLIC : AGENT_PATH_MAPPED;
	if (p->has_outer)
		return p->public_outer ? AGENT_PATH_PUBLIC : AGENT_PATH_MAPPED;
	/* neither end has a location: the NATs let it through because both ends sent */
	return AGENT_PATH_PUNCHED;
}

static void status_of(struct atd *d, const struct atd_dynpeer *p, struct atd_peer_status *s)
{
	uint64_t now = clock_now_ms();
	union dp_addr cur;
	bool at_location;

	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", p->label);
	snprintf(s->fqdn, sizeof(s->fqdn), "%s", p->fqdn);
	memcpy(s->ula, p->ula, 16);
	s->state = agent_peer_state(&p->t);
	if ((s->has_outer = current_remote(d, p, &cur)))
		outer_fields(&cur, &s->outer_v6, s->outer, &s->port);
	s->has_rtt = p->has_rtt;
	s->rtt_ms = p->rtt_ms;
	if (p->t.sa_up && p->t.handshake_at) {
		s->has_handshake = true;
		s->handshake_age_s = (uint32_t)((now - p->t.handshake_at) / 1000);
	}
	s->keep = p->t.keep;
	s->no_direct = p->no_direct;
	/* what the path in use is: the one hole punching found, or the peer's published location */
	at_location = s->has_outer && p->has_outer && !s->outer_v6 && !memcmp(s->outer, p->outer4, 4) &&
		      s->port == p->port;
	/*
	 * A punched pair at the peer's published location (a round that ran
	 * before its new record came took its mapping for its reflexive
	 * address): its mapping is what lets the tunnel in.
	 */
	if (s->has_outer && p->punch_cls && dp_addr_eq(&cur, &p->punch_to) &&
	    !(p->punch_cls == AGENT_PATH_PUNCHED && at_location))
		s->cls = p->punch_cls;
	else if (at_location)
		s->cls = p->public_outer ? AGENT_PATH_PUBLIC : AGENT_PATH_MAPPED;
	else if (s->has_outer && s->state == AGENT_PEER_UP)
		s->cls = class_of_other(d, p, &cur, s);
	if (s->state == AGENT_PEER_UP) {
		struct ike_sa_info si;
		uint32_t sa = ike_sa_find(ike_of(d), p->dpname);

		if (sa && ike_sa_get(ike_of(d), sa, &si) == 0 && si.established)
			s->auth = si.cert ? "cert" : "psk";
	}
}

void atd_dynpeers_path(struct atd_dynpeers *ps, const char *label, bool controlling, uint8_t cls,
		       const union dp_addr *to, uint32_t rtt_ms)
{
	struct atd_dynpeer *p = ps ? find(ps, label) : NULL;
	struct atd *d = ps ? ps->d : NULL;
	struct ike_addr ia, from;
	struct ike_sa_info info;
	uint64_t now = clock_now_ms();
	char e[DP_ADDR_STRLEN];
	uint32_t id;
	int ret;

	if (!p || ike_addr_from_sockaddr(&ia, &to->sa))
		return;
	p->punch_cls = cls;
	p->punch_to = *to;
	p->no_direct = false;
	p->rtt_ms = rtt_ms;
	p->has_rtt = true;
	if (!controlling) {
		/* docs/paths.md §5: the lower ULA starts IKE; we answer it (and give up if it never comes) */
		agent_peer_await_peer(&p->t, now);
		return;
	}
	/* ESP goes there now; an established SA moves to it (MOBIKE UPDATE_SA_ADDRESSES, no rekey) */
	dp_peer_set_remote(d->dp, p->rp->dp_id, to);
	ike_glue_local_towards(to, our_port(d), &from);
	/*
	 * The SA's own address moves with it (RFC 4555 §3.5): from an IPv4
	 * path to an IPv6 one and back, setting only the remote address would
	 * leave it with a local address of the other family. Without MOBIKE,
	 * or when the peer initiated the SA, lib/ike moves what it may.
	 */
	ret = -ENOENT;
	if ((id = ike_sa_find(ike_of(d), p->dpname)) && ike_sa_get(ike_of(d), id, &info) == 0 && info.established &&
	    from.family == ia.family)
		ret = ike_sa_move(ike_of(d), id, &from, &ia, now);
	if (ret) {
		if (ret != -ENOENT)
			log_debug("%s: the tunnel cannot move to %s itself (%s)", p->label, dp_addr_str(to, e, sizeof(e)),
				  strerror(-ret));
		ike_peer_set_remote(ike_of(d), p->dpname, &ia, now);
	}
	p->ike_remote_stale = false;
	if (!p->t.sa_up) {
		ret = ike_connect(ike_of(d), p->dpname, now);
		if (ret > 0) {
			p->connect_ms = 0;	/* the check measured the round trip */
			log_info("%s: starting a tunnel on the direct path", p->label);
		} else if (ret != -EALREADY) {
			log_warnx("%s: cannot start a tunnel: %s", p->label, strerror(-ret));
		}
	}
	ike_glue_kick(d->ike);
}

void atd_dynpeers_path_failed(struct atd_dynpeers *ps, const char *label)
{
	struct atd_dynpeer *p = ps ? find(ps, label) : NULL;
	uint64_t now = clock_now_ms();

	if (!p || p->t.sa_up)
		return;
	p->no_direct = true;
	if (!p->t.connecting)
		return;
	agent_peer_handshake_failed(&p->t, now);
	retry_at(ps->d, p, p->t.retry_at);
}

size_t atd_dynpeers_status(const struct atd_dynpeers *ps, struct atd_peer_status *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; ps && i < ps->n && n < cap; i++)
		if (!ps->p[i]->gone)
			status_of(ps->d, ps->p[i], &out[n++]);
	return n;
}

static struct atd_dynpeer *find(const struct atd_dynpeers *ps, const char *name)
{
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];

		if (!p->gone && (!strcasecmp(p->label, name) || agent_name_equal(p->fqdn, name)))
			return p;
	}
	return NULL;
}

int atd_dynpeers_find(const struct atd_dynpeers *ps, const char *name, struct atd_peer_status *out)
{
	struct atd_dynpeer *p = ps && name ? find(ps, name) : NULL;

	if (!p)
		return -ENOENT;
	status_of(ps->d, p, out);
	return 0;
}

/* ---- ICMPv6 echo through the tunnel: `autotunnel ping`, and nudges after we moved ---- */

static void ping_finish(struct ping *pg)
{
	void (*done)(void *, const struct atd_ping_result *) = pg->done;
	void *arg = pg->arg;
	struct atd_ping_result res = pg->res;

	if (pg->send_ev)
		event_free(pg->send_ev);
	if (pg->deadline_ev)
		event_free(pg->deadline_ev);
	memset(pg, 0, sizeof(*pg));
	if (done)
		done(arg, &res);
}

static void ping_send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ping *pg = arg;
	struct timeval tv = { 0, PING_INTERVAL_MS * 1000 };
	int ret;

	(void)fd, (void)what;
	if (pg->peer->gone) {
		ping_finish(pg);
		return;
	}
	ret = ping6_send(pg->ps->ping6, pg->peer->ula, (uint16_t)(pg->seq0 + pg->tries));
	pg->tries++;
	if (ret)
		log_debug("ping %s: %s", pg->peer->label, strerror(-ret));
	else
		pg->res.sent++;
	if (pg->tries < pg->count)
		evtimer_add(pg->send_ev, &tv);
}

static void ping_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	ping_finish(arg);
}

/* An echo reply (ping6.c checked that it answers one of ours). */
static void on_reply(void *arg, const uint8_t from[16], uint16_t seq, uint32_t rtt_us)
{
	struct atd_dynpeers *ps = arg;

	for (int i = 0; i < PINGS_MAX; i++) {
		struct ping *pg = &ps->pings[i];

		if (!pg->used || memcmp(from, pg->peer->ula, 16) || (uint16_t)(seq - pg->seq0) >= pg->count)
			continue;
		if (!pg->res.has_rtt || rtt_us < pg->res.rtt_us) {
			pg->res.rtt_us = rtt_us;
			pg->res.rtt_ms = rtt_us / 1000;
		}
		pg->res.has_rtt = true;
		pg->res.received++;
		pg->peer->rtt_ms = rtt_us / 1000;
		pg->peer->has_rtt = true;
		if (pg->res.received >= pg->count) {
			struct atd_ping_result *r = &pg->res;
			union dp_addr cur;

			if ((r->has_outer = current_remote(ps->d, pg->peer, &cur)))
				outer_fields(&cur, &r->outer_v6, r->outer, &r->port);
			ping_finish(pg);
		}
	}
}

int atd_dynpeers_ping(struct atd_dynpeers *ps, const char *name, unsigned count, unsigned timeout_ms,
		      void (*done)(void *arg, const struct atd_ping_result *r), void *arg)
{
	struct atd *d = ps ? ps->d : NULL;
	struct atd_dynpeer *p = ps && name ? find(ps, name) : NULL;
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	struct ping *pg = NULL;
	union dp_addr cur;

	if (!p)
		return -ENOENT;
	if (!ps->ping6)
		return -EPERM;
	for (int i = 0; i < PINGS_MAX; i++)
		if (!ps->pings[i].used) {
			pg = &ps->pings[i];
			break;
		}
	if (!pg)
		return -EBUSY;
	memset(pg, 0, sizeof(*pg));
	pg->used = true;
	pg->ps = ps;
	pg->peer = p;
	pg->done = done;
	pg->arg = arg;
	pg->count = count ? count : 1;
	pg->seq0 = ps->next_seq;
	ps->next_seq = (uint16_t)(ps->next_seq + pg->count);
	if (ps->next_seq >= NUDGE_SEQ - 64)
		ps->next_seq = 0;
	snprintf(pg->res.host, sizeof(pg->res.host), "%s", p->fqdn);
	memcpy(pg->res.ula, p->ula, 16);
	if ((pg->res.has_outer = current_remote(d, p, &cur)))
		outer_fields(&cur, &pg->res.outer_v6, pg->res.outer, &pg->res.port);
	pg->send_ev = evtimer_new(d->base, ping_send_cb, pg);
	pg->deadline_ev = evtimer_new(d->base, ping_deadline_cb, pg);
	if (!pg->send_ev || !pg->deadline_ev) {
		pg->done = NULL;
		ping_finish(pg);
		return -ENOMEM;
	}
	evtimer_add(pg->deadline_ev, &tv);
	event_active(pg->send_ev, EV_TIMEOUT, 0);
	return 0;
}

void atd_dynpeers_ping_cancel(struct atd_dynpeers *ps, void *arg)
{
	for (int i = 0; ps && i < PINGS_MAX; i++)
		if (ps->pings[i].used && ps->pings[i].arg == arg) {
			ps->pings[i].done = NULL;
			ping_finish(&ps->pings[i]);
		}
}

void atd_dynpeers_local_moved(struct atd_dynpeers *ps, const union dp_addr *old, const union dp_addr *now)
{
	struct atd *d;
	struct ike_addr o = { 0 }, n;
	int moved;

	if (!ps || !now || ike_addr_from_sockaddr(&n, &now->sa))
		return;
	d = ps->d;
	if (old && ike_addr_from_sockaddr(&o, &old->sa))
		memset(&o, 0, sizeof(o));	/* family 0: any */
	o.port = n.port = our_port(d);
	/* RFC 4555: tunnels bound to the old address move (MOBIKE, or a liveness check from the new one) */
	moved = ike_local_moved(ike_of(d), &o, &n, clock_now_ms());
	ike_glue_kick(d->ike);
	/* and a packet through each live tunnel, so the peer's data plane follows at once (docs/design.md §7) */
	for (int i = 0; i < ps->n; i++)
		if (!ps->p[i]->gone && ps->p[i]->t.sa_up)
			(void)ping6_send(ps->ping6, ps->p[i]->ula, NUDGE_SEQ);
	if (moved > 0)
		log_info("%d tunnel%s moved to our new address", moved, moved == 1 ? "" : "s");
}

static void punch_after_move(struct atd_dynpeer *p, const char *why)
{
	int ret = p->ps->ops->punch(p->ps->arg, p->label);

	if (ret)
		log_info("%s: %s, but no direct path can be tried (%s)", p->label, why, strerror(-ret));
}

void atd_dynpeers_local_cands(struct atd_dynpeers *ps, bool located, bool public_addr)
{
	if (!ps)
		return;
	ps->located = located;
	ps->located_public = located && public_addr;
	if (located)
		return;
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];

		if (!p->gone && p->t.sa_up && !p->has_outer)
			punch_after_move(p, "neither end publishes a location");
	}
}

void atd_dynpeers_punch_moved(struct atd_dynpeers *ps, const char *label)
{
	struct atd_dynpeer *p = ps ? find(ps, label) : NULL;

	if (!p || !p->punch_moved)
		return;
	p->punch_moved = false;
	if (p->t.sa_up && !p->has_outer && !ps->located)
		punch_after_move(p, "it withdrew its location");
}

/* ---- life cycle ---- */

int atd_dynpeers_start(struct atd *d, const uint8_t ula[16], const struct agent_timer_cfg *tcfg,
		       const struct atd_dynpeers_ops *ops, void *arg, struct atd_dynpeers **out)
{
	struct atd_dynpeers *ps = calloc(1, sizeof(*ps));
	struct timeval tv = { 0, TICK_MS * 1000 };
	int ret;

	*out = ps;
	if (!ps)
		return -ENOMEM;
	ps->d = d;
	ps->ops = ops;
	ps->arg = arg;
	memcpy(ps->ula, ula, 16);
	ps->tcfg = *tcfg;
	if ((ret = ping6_open(&ps->ping6, d->base, ula, on_reply, ps)))
		return ret;
	ps->tick = event_new(d->base, -1, EV_PERSIST, tick_cb, ps);
	if (!ps->tick || event_add(ps->tick, &tv))
		return -ENOMEM;
	return 0;
}

void atd_dynpeers_stop(struct atd_dynpeers *ps)
{
	struct atd *d = ps ? ps->d : NULL;

	if (!ps)
		return;
	for (int i = 0; i < PINGS_MAX; i++)
		if (ps->pings[i].used) {
			ps->pings[i].done = NULL;
			ping_finish(&ps->pings[i]);
		}
	/* tell the peers (IKE Delete), so they do not wait for dead peer detection */
	for (int i = 0; i < ps->n; i++)
		if (!ps->p[i]->gone)
			ike_peer_remove(ike_of(d), ps->p[i]->dpname, clock_now_ms());
	ike_glue_kick(d->ike);
	if (ps->tick)
		event_free(ps->tick);
	ping6_close(ps->ping6);
	for (int i = 0; i < ps->n; i++) {
		struct atd_dynpeer *p = ps->p[i];

		/* the slot's events are freed with the static peers' (atd_peers_stop) */
		p->rp->dyn = NULL;
		p->rp->conf = NULL;
		OPENSSL_cleanse(p, sizeof(*p));
		free(p);
	}
	free(ps);
}
