/*
 * The API of lib/ike (ike.h) on top of its parts: the instance, peers,
 * timers. Tunnels and child SAs are kept by sa.c, events queued by event.c,
 * the exchanges run by exchange.c, proposals and selectors decided by
 * policy.c; none of them calls back into this file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "ike/event.h"
#include "ike/exchange.h"
#include "ike/ike.h"
#include "ike/policy.h"
#include "ike/sa.h"

#define DEF_COOKIE_THRESHOLD 32
#define DEF_HALF_OPEN_MAX 1024
#define DEF_HALF_OPEN_MS 30000
#define DEF_RETRANSMIT_MS 500
#define DEF_RETRANSMIT_TRIES 6
#define DEF_MAX_SAS 4096
#define COOKIE_ROTATE_MS (10 * 60 * 1000)

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

struct ike *ike_new(const struct ike_conf *conf, ike_random_fn *rng, void *rng_arg)
{
	struct ike *ike;

	if (!rng)
		return NULL;
	ike = calloc(1, sizeof(*ike));
	if (!ike)
		return NULL;
	ike->rng = (struct ike_rng){ .fn = rng, .arg = rng_arg };
	if (conf)
		ike->conf = *conf;
	if (!ike->conf.cookie_threshold)
		ike->conf.cookie_threshold = DEF_COOKIE_THRESHOLD;
	if (!ike->conf.half_open_max)
		ike->conf.half_open_max = DEF_HALF_OPEN_MAX;
	if (!ike->conf.half_open_ms)
		ike->conf.half_open_ms = DEF_HALF_OPEN_MS;
	if (!ike->conf.retransmit_ms)
		ike->conf.retransmit_ms = DEF_RETRANSMIT_MS;
	if (!ike->conf.retransmit_tries)
		ike->conf.retransmit_tries = DEF_RETRANSMIT_TRIES;
	if (!ike->conf.max_sas)
		ike->conf.max_sas = DEF_MAX_SAS;
	ike->next_id = 1;
	if (ike_rng_bytes(&ike->rng, ike->cookie_secret, sizeof(ike->cookie_secret))) {
		free(ike);
		return NULL;
	}
	ike->cookie_rotate_at = IKE_NEVER;	/* armed by the first tick that has a clock */
	return ike;
}

static void peer_free(struct ike_peer *p)
{
	OPENSSL_cleanse(p->psk, sizeof(p->psk));
	if (p->cred) {
		ike_cred_fini(p->cred);
		free(p->cred);
	}
	free(p);
}

void ike_free(struct ike *ike)
{
	if (!ike)
		return;
	while (ike->sas) {
		struct ike_sa *t = ike->sas;

		ike->sas = t->next;
		ike_sa_free(t);
	}
	while (ike->peers) {
		struct ike_peer *p = ike->peers;

		ike->peers = p->next;
		peer_free(p);
	}
	ike_event_flush(ike);
	OPENSSL_cleanse(ike, sizeof(*ike));
	free(ike);
}

/* ---- peers ---- */

static struct ike_peer *peer_by_name(struct ike *ike, const char *name)
{
	for (struct ike_peer *p = ike->peers; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static bool valid_fqdn(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= IKE_MAX_ID;
}

static bool valid_ts(const struct ike_ts *ts)
{
	size_t n = ts->family == AF_INET ? 4 : 16;

	return (ts->family == AF_INET || ts->family == AF_INET6) && ts->port_lo <= ts->port_hi &&
	       memcmp(ts->start, ts->end, n) <= 0;
}

int ike_peer_add(struct ike *ike, const struct ike_peer_conf *c, uint64_t now)
{
	struct ike_peer *p;

	(void)now;
	if (!c->name || !*c->name || strlen(c->name) > IKE_MAX_NAME || !valid_fqdn(c->local_id) ||
	    !valid_fqdn(c->remote_id) || (!c->cert && (!c->psk || c->psk_len == 0 || c->psk_len > IKE_MAX_PSK)) ||
	    (c->psk && (c->psk_len == 0 || c->psk_len > IKE_MAX_PSK)) ||
	    (c->cert || c->key || c->ca) != (c->cert && c->key && c->ca) ||
	    !valid_ts(&c->local_ts) || !valid_ts(&c->remote_ts) || c->n_spis_in > IKE_MAX_SPIS_IN)
		return -EINVAL;
	for (unsigned i = 0; i < c->n_spis_in; i++)
		if (c->spis_in[i] < 256)
			return -EINVAL;
	if (c->esp_algs & ~(unsigned)(IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305 | IKE_ESP_AES128GCM16 |
				      IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256CBC_SHA256) ||
	    c->prf_algs & ~(unsigned)(IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512) ||
	    c->encr_algs & ~(unsigned)(IKE_ENCR_AES256GCM16 | IKE_ENCR_AES256CBC_SHA256 | IKE_ENCR_AES128GCM16 |
				       IKE_ENCR_AES128CBC_SHA256))
		return -EINVAL;
	if (peer_by_name(ike, c->name))
		return -EEXIST;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->name, c->name);
	strcpy(p->local_id, c->local_id);
	strcpy(p->remote_id, c->remote_id);
	p->wildcard = strncmp(p->remote_id, "*.", 2) == 0;
	if (c->psk) {
		memcpy(p->psk, c->psk, c->psk_len);
		p->psk_len = c->psk_len;
	}
	if (c->cert) {
		int err;

		if (!(p->cred = calloc(1, sizeof(*p->cred)))) {
			peer_free(p);
			return -ENOMEM;
		}
		err = ike_cred_init(p->cred, c->cert, c->cert_len, c->key, c->key_len, c->ca, c->ca_len);
		if (err) {
			free(p->cred);
			p->cred = NULL;
			peer_free(p);
			return err;
		}
		p->cert_policy = c->cert_policy;
		p->cert_policy_arg = c->cert_policy_arg;
	}
	p->remote = c->remote;
	p->local = c->local;
	p->local_ts = c->local_ts;
	p->remote_ts = c->remote_ts;
	for (unsigned i = 0; i < IKE_MAX_DH_GROUPS && c->dh_groups[i]; i++) {
		if (!ike_policy_group_allowed(NULL, c->dh_groups[i])) {
			peer_free(p);
			return -EINVAL;
		}
		p->dh[p->ndh++] = c->dh_groups[i];
	}
	if (!p->ndh) {
		for (unsigned i = 0; i < IKE_POLICY_NGROUPS; i++)
			p->dh[i] = ike_policy_default_groups()[i];
		p->ndh = IKE_POLICY_NGROUPS;
	}
	p->esp_algs = c->esp_algs ? c->esp_algs : IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305;
	p->prf_algs = c->prf_algs ? c->prf_algs : IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512;
	/* RFC 8247 §2.1: accept what common peers propose; ours stay first (policy.c) */
	p->encr_algs = c->encr_algs ? c->encr_algs : IKE_ENCR_AES256GCM16 | IKE_ENCR_AES128GCM16 |
						      IKE_ENCR_AES256CBC_SHA256 | IKE_ENCR_AES128CBC_SHA256;
	p->esn = !c->no_esn;
	p->pfs = !c->no_pfs;
	p->mobike = !c->no_mobike;
	p->ike_life_s = c->ike_lifetime_s ? c->ike_lifetime_s : 14400;
	p->child_life_s = c->child_lifetime_s ? c->child_lifetime_s : 3600;
	p->dpd_s = c->dpd_s ? c->dpd_s : 30;
	memcpy(p->spis_in, c->spis_in, sizeof(p->spis_in));
	p->n_spis_in = c->n_spis_in;
	p->next = ike->peers;
	ike->peers = p;
	return 0;
}

/*
 * Close a tunnel for the daemon now: Delete sent when the SA is up (and
 * retransmitted in state ST_CLOSING, quietly), CHILD_DOWN and SA_DOWN now.
 */
static void sa_close(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	if (t->state == ST_ESTABLISHED) {
		t->pending |= P_CLOSE;
		if (!t->down_reason)
			t->down_reason = IKE_DOWN_CLOSED;
		ike_exchange_run_tasks(ike, t, now);
		ike_sa_report_down(ike, t, IKE_DOWN_CLOSED, 0);
	} else if (t->state != ST_CLOSING) {
		ike_sa_kill(ike, t, IKE_DOWN_CLOSED, 0);
	}
}

int ike_peer_remove(struct ike *ike, const char *name, uint64_t now)
{
	struct ike_peer **pp, *p;

	for (pp = &ike->peers; *pp && strcmp((*pp)->name, name) != 0; pp = &(*pp)->next)
		;
	if (!(p = *pp))
		return -ENOENT;
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->peer != p || t->state == ST_DEAD)
			continue;
		sa_close(ike, t, now);
		t->peer = NULL;
	}
	*pp = p->next;
	peer_free(p);
	return 0;
}

bool ike_poll(struct ike *ike, struct ike_event *ev)
{
	return ike_event_pop(ike, ev);
}

/* ---- timers ---- */

static uint64_t sa_deadline(struct ike_sa *t)
{
	uint64_t d = IKE_NEVER;

	if (t->state == ST_DEAD)
		return IKE_NEVER;
	if (t->state == ST_HALF_OPEN)
		d = min64(d, t->half_open_expire);
	if (t->state == ST_ESTABLISHED && !ike_sa_cur(t)->req.kind) {
		d = min64(d, t->rekey_at);
		d = min64(d, t->dpd_at);
		for (int i = 0; i < IKE_MAX_CHILD; i++)
			if (t->child[i].used && t->child[i].state == CH_UP)
				d = min64(d, t->child[i].rekey_at);
	}
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used)
			d = min64(d, t->child[i].expire);
	for (int i = 0; i < IKE_MAX_XSA; i++) {
		const struct ike_xsa *x = &t->x[i];

		if (!x->used)
			continue;
		if (x->req.kind)
			d = min64(d, x->req.deadline);
		if (x->dying)
			d = min64(d, x->expire);
	}
	return d;
}

uint64_t ike_next_deadline(const struct ike *ike)
{
	uint64_t d = ike->cookie_rotate_at;

	for (struct ike_sa *t = ike->sas; t; t = t->next)
		d = min64(d, sa_deadline(t));
	return d;
}

static void sa_tick(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	if (t->state == ST_HALF_OPEN && now >= t->half_open_expire) {
		ike_sa_kill(ike, t, IKE_DOWN_TIMEOUT, 0);
		return;
	}
	for (int i = 0; i < IKE_MAX_XSA && t->state != ST_DEAD; i++) {
		struct ike_xsa *x = &t->x[i];

		if (!x->used)
			continue;
		if (x->req.kind && now >= x->req.deadline)
			ike_exchange_retransmit(ike, t, x, now);
		if (x->used && x->dying && now >= x->expire && i != t->cur)
			ike_xsa_free(x);
	}
	if (t->state == ST_DEAD)
		return;
	for (int i = 0; i < IKE_MAX_CHILD; i++) {
		struct ike_child *c = &t->child[i];

		if (!c->used)
			continue;
		if (now >= c->expire) {
			/* the peer replaced this child but never deleted it: we do */
			c->expire = IKE_NEVER;
			c->want_delete = true;
		}
		if (c->state == CH_UP && now >= c->rekey_at) {
			c->want_rekey = true;
			c->rekey_at = IKE_NEVER;
		}
	}
	if (t->state == ST_ESTABLISHED) {
		if (now >= t->rekey_at) {
			t->pending |= P_IKE_REKEY;
			t->rekey_at = IKE_NEVER;
		}
		if (now >= t->dpd_at) {
			t->pending |= P_DPD;
			t->dpd_at = IKE_NEVER;
		}
	}
	ike_exchange_run_tasks(ike, t, now);
}

void ike_tick(struct ike *ike, uint64_t now)
{
	if (ike->cookie_rotate_at == IKE_NEVER) {
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	} else if (now >= ike->cookie_rotate_at) {
		/* RFC 7296 §2.6: change the secret regularly; the previous one stays valid a while */
		memcpy(ike->cookie_prev, ike->cookie_secret, 32);
		if (ike_rng_bytes(&ike->rng, ike->cookie_secret, 32) == 0)
			ike->cookie_ver++;
		else
			memcpy(ike->cookie_secret, ike->cookie_prev, 32);
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	}
	for (struct ike_sa *t = ike->sas; t; t = t->next)
		if (t->state != ST_DEAD && sa_deadline(t) <= now)
			sa_tick(ike, t, now);
	ike_sa_reap(ike);
}

/* ---- API ---- */

int ike_input(struct ike *ike, const uint8_t *pkt, size_t len,
	      const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	int err;

	if (ike->cookie_rotate_at == IKE_NEVER)
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	ike->st.rx++;
	err = ike_exchange_input(ike, pkt, len, local, remote, now);
	if (err) {
		ike->st.rx_dropped++;
		if (err == -EBADMSG)
			ike->st.rx_bad++;
		if (err == -EACCES)
			ike->st.rx_auth_failed++;
	}
	ike_sa_reap(ike);
	return err;
}


int ike_connect(struct ike *ike, const char *name, uint64_t now)
{
	struct ike_peer *p = peer_by_name(ike, name);
	struct ike_sa *t;
	int err;

	if (!p)
		return -ENOENT;
	if (p->wildcard || !p->remote.family)
		return -EINVAL;
	for (t = ike->sas; t; t = t->next)
		if (t->peer == p && t->state != ST_DEAD && !t->reported)
			return -EALREADY;
	t = ike_sa_new(ike);
	if (!t)
		return -ENOMEM;
	t->peer = p;
	t->initiator = true;
	t->local = p->local;
	t->remote = p->remote;
	t->created_ms = now;
	strcpy(t->remote_id, p->remote_id);
	err = ike_exchange_connect(ike, t, now);
	if (err) {
		t->state = ST_DEAD;
		ike_sa_reap(ike);
		return err;
	}
	return (int)t->id;
}

int ike_close(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = ike_sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	sa_close(ike, t, now);
	ike_sa_reap(ike);
	return 0;
}

uint32_t ike_sa_find(const struct ike *ike, const char *name)
{
	uint32_t best = 0;

	for (struct ike_sa *t = ike->sas; t; t = t->next)
		if (t->peer && strcmp(t->peer->name, name) == 0 && t->state != ST_DEAD &&
		    !t->reported && t->id > best)
			best = t->id;
	return best;
}

int ike_sa_get(const struct ike *ike, uint32_t sa_id, struct ike_sa_info *out)
{
	struct ike_sa *t = ike_sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	ike_event_sa_info(t, out);
	return 0;
}

int ike_child_rekey(struct ike *ike, uint32_t spi_in, uint64_t now)
{
	struct ike_child *c;
	struct ike_sa *t = ike_sa_by_child(ike, spi_in, &c);

	if (!t)
		return -ENOENT;
	if (c->state != CH_UP || t->state != ST_ESTABLISHED)
		return -EBUSY;
	c->want_rekey = true;
	c->rekey_at = IKE_NEVER;
	ike_exchange_run_tasks(ike, t, now);
	ike_sa_reap(ike);
	return 0;
}

int ike_sa_rekey(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = ike_sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	if (t->state != ST_ESTABLISHED)
		return -EBUSY;
	t->pending |= P_IKE_REKEY;
	t->rekey_at = IKE_NEVER;
	ike_exchange_run_tasks(ike, t, now);
	ike_sa_reap(ike);
	return 0;
}

int ike_sa_dpd(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = ike_sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	if (t->state != ST_ESTABLISHED)
		return -EBUSY;
	t->pending |= P_DPD;
	ike_exchange_run_tasks(ike, t, now);
	ike_sa_reap(ike);
	return 0;
}

void ike_child_activity(struct ike *ike, uint32_t spi_in, uint64_t now)
{
	struct ike_child *c;
	struct ike_sa *t = ike_sa_by_child(ike, spi_in, &c);

	if (!t || t->state != ST_ESTABLISHED)
		return;
	t->last_heard_ms = now;
	if (t->peer && t->peer->dpd_s != UINT32_MAX && t->dpd_at != IKE_NEVER)
		t->dpd_at = now + (uint64_t)t->peer->dpd_s * 1000;
}

int ike_local_moved(struct ike *ike, const struct ike_addr *old, const struct ike_addr *now_local,
		    uint64_t now)
{
	int moved = 0;

	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->state == ST_DEAD || (old->family && !ike_addr_eq(&t->local, old)))
			continue;
		if (ike_addr_eq(&t->local, now_local))
			continue;
		t->local = *now_local;
		if (t->peer && !t->peer->wildcard)
			t->peer->local = *now_local;
		moved++;
		if (t->state == ST_ESTABLISHED) {
			/* RFC 4555 §3.5: tell the peer; without MOBIKE, a liveness check
			 * from the new address lets a peer that sees us behind a NAT follow */
			t->pending |= t->mobike ? P_MOBIKE : P_DPD;
			ike_exchange_run_tasks(ike, t, now);
		}
	}
	ike_sa_reap(ike);
	return moved;
}

int ike_peer_set_remote(struct ike *ike, const char *name, const struct ike_addr *remote, uint64_t now)
{
	struct ike_peer *p = peer_by_name(ike, name);

	if (!p)
		return -ENOENT;
	p->remote = *remote;
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->peer != p || t->state == ST_DEAD || ike_addr_eq(&t->remote, remote))
			continue;
		if (t->state == ST_ESTABLISHED && t->mobike) {
			t->remote = *remote;
			t->pending |= P_MOBIKE;
			ike_exchange_run_tasks(ike, t, now);
		} else if (t->state == ST_INIT_SENT) {
			t->remote = *remote;
		}
	}
	ike_sa_reap(ike);
	return 0;
}

int ike_set_addrs(struct ike *ike, const struct ike_addr *addrs, unsigned n, uint64_t now)
{
	bool same;

	if (n > IKE_MAX_ADDRS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (addrs[i].family != AF_INET && addrs[i].family != AF_INET6)
			return -EINVAL;
	same = n == ike->n_addrs;
	for (unsigned i = 0; same && i < n; i++)
		same = ike->addrs[i].family == addrs[i].family &&
		       !memcmp(ike->addrs[i].ip, addrs[i].ip, addrs[i].family == AF_INET ? 4 : 16);
	if (same)
		return 0;
	memset(ike->addrs, 0, sizeof(ike->addrs));
	for (unsigned i = 0; i < n; i++) {
		ike->addrs[i].family = addrs[i].family;
		memcpy(ike->addrs[i].ip, addrs[i].ip, 16);
	}
	ike->n_addrs = n;
	/* RFC 4555 §3.6: established MOBIKE tunnels hear of the change */
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->state != ST_ESTABLISHED || !t->mobike)
			continue;
		t->pending |= P_ADDRS;
		ike_exchange_run_tasks(ike, t, now);
	}
	return 0;
}

int ike_sa_move(struct ike *ike, uint32_t sa_id, const struct ike_addr *local, const struct ike_addr *remote,
		uint64_t now)
{
	struct ike_sa *t = ike_sa_by_id(ike, sa_id);

	if (!t || t->state == ST_DEAD)
		return -ENOENT;
	if (local->family != remote->family || (remote->family != AF_INET && remote->family != AF_INET6))
		return -EINVAL;
	if (t->state != ST_ESTABLISHED)
		return -EAGAIN;
	if (!t->mobike)
		return -EOPNOTSUPP;
	if (!t->initiator)
		return -EPERM;	/* RFC 4555 §3.1: the initiator decides which addresses the SA uses */
	if (ike_addr_eq(&t->local, local) && ike_addr_eq(&t->remote, remote))
		return 0;
	t->local = *local;
	t->remote = *remote;
	if (t->peer && !t->peer->wildcard) {
		t->peer->local = *local;
		t->peer->remote = *remote;
	}
	t->pending |= P_MOBIKE;
	ike_exchange_run_tasks(ike, t, now);
	ike_sa_reap(ike);
	return 0;
}

void ike_stats_get(const struct ike *ike, struct ike_stats *out)
{
	*out = ike->st;
}

/* RFC 7296 §3.10.1 names */
const char *ike_notify_name(uint16_t type)
{
	switch (type) {
	case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPPORTED_CRITICAL_PAYLOAD";
	case IKE_N_INVALID_IKE_SPI: return "INVALID_IKE_SPI";
	case IKE_N_INVALID_MAJOR_VERSION: return "INVALID_MAJOR_VERSION";
	case IKE_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case IKE_N_INVALID_MESSAGE_ID: return "INVALID_MESSAGE_ID";
	case IKE_N_INVALID_SPI: return "INVALID_SPI";
	case IKE_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case IKE_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case IKE_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case IKE_N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR_REQUIRED";
	case IKE_N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	case IKE_N_INTERNAL_ADDRESS_FAILURE: return "INTERNAL_ADDRESS_FAILURE";
	case IKE_N_FAILED_CP_REQUIRED: return "FAILED_CP_REQUIRED";
	case IKE_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case IKE_N_INVALID_SELECTORS: return "INVALID_SELECTORS";
	case IKE_N_UNACCEPTABLE_ADDRESSES: return "UNACCEPTABLE_ADDRESSES";
	case IKE_N_UNEXPECTED_NAT_DETECTED: return "UNEXPECTED_NAT_DETECTED";
	case IKE_N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case IKE_N_CHILD_SA_NOT_FOUND: return "CHILD_SA_NOT_FOUND";
	case IKE_N_INITIAL_CONTACT: return "INITIAL_CONTACT";
	case IKE_N_NAT_DETECTION_SOURCE_IP: return "NAT_DETECTION_SOURCE_IP";
	case IKE_N_NAT_DETECTION_DESTINATION_IP: return "NAT_DETECTION_DESTINATION_IP";
	case IKE_N_COOKIE: return "COOKIE";
	case IKE_N_REKEY_SA: return "REKEY_SA";
	case IKE_N_MOBIKE_SUPPORTED: return "MOBIKE_SUPPORTED";
	case IKE_N_UPDATE_SA_ADDRESSES: return "UPDATE_SA_ADDRESSES";
	case IKE_N_COOKIE2: return "COOKIE2";
	}
	return NULL;
}

const char *ike_down_reason_name(enum ike_down_reason r)
{
	switch (r) {
	case IKE_DOWN_CLOSED: return "closed";
	case IKE_DOWN_PEER_DELETED: return "deleted by peer";
	case IKE_DOWN_TIMEOUT: return "peer not answering";
	case IKE_DOWN_AUTH_FAILED: return "authentication failed";
	case IKE_DOWN_NO_PROPOSAL: return "no acceptable proposal";
	case IKE_DOWN_PROTOCOL: return "protocol error";
	case IKE_DOWN_REPLACED: return "replaced by a duplicate";
	}
	return "unknown";
}

const char *ike_esp_alg_name(enum ike_esp_alg a)
{
	/* the names strongSwan's proposals use */
	switch (a) {
	case IKE_ESP_CHACHA20POLY1305: return "chacha20poly1305";
	case IKE_ESP_AES128GCM16: return "aes128gcm16";
	case IKE_ESP_AES128CBC_SHA256: return "aes128-sha256";
	case IKE_ESP_AES256CBC_SHA256: return "aes256-sha256";
	case IKE_ESP_AES256GCM16: break;
	}
	return "aes256gcm16";
}
