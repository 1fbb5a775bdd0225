/* The TURN client state machine (RFC 8656); see turn_client.h. */
#include "stun/turn_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "stun/frame.h"
#include "stun/msg.h"

enum tx_kind { TX_NONE, TX_ALLOCATE, TX_REFRESH, TX_PERMISSION, TX_CHANNEL, TX_DEALLOCATE };

struct turn_tx {
	enum tx_kind kind;
	int peer;			/* PERMISSION, CHANNEL */
	uint8_t tid[STUN_TID_LEN];
	bool auth;			/* sent with credentials: the answer must be signed */
	unsigned sends;			/* sent this many times */
	uint64_t start;			/* first send */
	uint64_t next;			/* next retransmission, or the final timeout */
	unsigned stale;			/* 438 answers taken */
	unsigned unauth;		/* 401 answers taken to authenticated requests */
	size_t len;
	uint8_t msg[TURN_MAX_MSG];
};

enum perm_state { PERM_NONE, PERM_PENDING, PERM_OK };
enum chan_state { CHAN_NONE, CHAN_PENDING, CHAN_BOUND };

struct turn_peer {
	bool used;
	bool want_channel;
	struct sockaddr_storage addr;
	enum perm_state perm;
	uint64_t perm_refresh;		/* when to refresh (PERM_OK) */
	enum chan_state chan;
	uint16_t channel;
	uint64_t chan_refresh;
};

struct turn_client {
	struct turn_client_config cfg;
	turn_random_fn *rnd;
	void *rnd_arg;
	char username[STUN_USERNAME_MAX + 1];
	char password[256];
	char realm[STUN_STRING_MAX + 1];
	char nonce[STUN_STRING_MAX + 1];
	bool have_realm;		/* a 401 told us REALM and NONCE */
	uint8_t key[STUN_KEY_MAX];
	size_t keylen;

	enum turn_state state;
	struct sockaddr_storage relayed;
	uint64_t expires;		/* ms */
	uint64_t refresh_at;		/* ms; TURN_NEVER while a Refresh runs */
	uint16_t next_channel;

	struct turn_tx tx[TURN_MAX_TX];
	struct turn_peer peers[TURN_MAX_PEERS];
};

/* ---- small helpers ---- */

static void out_reset(struct turn_out *out)
{
	out->n_msgs = 0;
	out->n_events = 0;
	out->deadline = TURN_NEVER;
}

static struct turn_event *event(struct turn_out *out, enum turn_event_kind kind, int peer, unsigned code)
{
	struct turn_event *e;

	if (out->n_events >= TURN_MAX_EVENTS)
		return NULL;
	e = &out->events[out->n_events++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->peer = peer;
	e->code = code;
	return e;
}

static void emit(struct turn_out *out, const struct turn_tx *t)
{
	if (out->n_msgs >= TURN_MAX_OUT)
		return;	/* cannot happen: one slot per transaction, each sends once per call */
	out->msgs[out->n_msgs].len = t->len;
	memcpy(out->msgs[out->n_msgs].buf, t->msg, t->len);
	out->n_msgs++;
}

static size_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Same address and port (the only fields a peer is known by). */
static bool sa_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* Only family, address and port: what XOR-PEER-ADDRESS carries. */
static int sa_copy(struct sockaddr_storage *dst, const struct sockaddr *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src;
		struct sockaddr_in *d = (void *)dst;

		d->sin_family = AF_INET;
		d->sin_port = s->sin_port;
		d->sin_addr = s->sin_addr;
		return 0;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src;
		struct sockaddr_in6 *d = (void *)dst;

		d->sin6_family = AF_INET6;
		d->sin6_port = s->sin6_port;
		d->sin6_addr = s->sin6_addr;
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int find_peer(const struct turn_client *c, const struct sockaddr_storage *ss)
{
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		if (c->peers[i].used && sa_same(&c->peers[i].addr, ss))
			return i;
	return -1;
}

static int find_channel(const struct turn_client *c, uint16_t channel)
{
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		if (c->peers[i].used && c->peers[i].chan != CHAN_NONE && c->peers[i].channel == channel)
			return i;
	return -1;
}

/* ---- transactions ---- */

static struct turn_tx *tx_of(struct turn_client *c, enum tx_kind kind, int peer)
{
	for (int i = 0; i < TURN_MAX_TX; i++)
		if (c->tx[i].kind == kind && (kind != TX_PERMISSION && kind != TX_CHANNEL ? true
									     : c->tx[i].peer == peer))
			return &c->tx[i];
	return NULL;
}

static struct turn_tx *tx_free_slot(struct turn_client *c)
{
	for (int i = 0; i < TURN_MAX_TX; i++)
		if (c->tx[i].kind == TX_NONE)
			return &c->tx[i];
	return NULL;
}

static void tx_cancel(struct turn_tx *t)
{
	t->kind = TX_NONE;
}

static uint16_t tx_method(enum tx_kind k)
{
	switch (k) {
	case TX_ALLOCATE: return STUN_METHOD_ALLOCATE;
	case TX_PERMISSION: return STUN_METHOD_CREATE_PERMISSION;
	case TX_CHANNEL: return STUN_METHOD_CHANNEL_BIND;
	case TX_REFRESH:
	case TX_DEALLOCATE:
	case TX_NONE:
		break;
	}
	return STUN_METHOD_REFRESH;
}

/*
 * (Re)build the request of @p t with a fresh transaction id: a request
 * that changes (new NONCE, credentials added) is a new transaction
 * (RFC 8489 §6.2.1: retransmissions are byte for byte the same).
 */
static int tx_build(struct turn_client *c, struct turn_tx *t)
{
	struct stun_builder b;
	const struct turn_peer *p = t->peer >= 0 ? &c->peers[t->peer] : NULL;
	int n;

	c->rnd(c->rnd_arg, t->tid, sizeof(t->tid));
	stun_builder_start(&b, t->msg, sizeof(t->msg), tx_method(t->kind), STUN_CLASS_REQUEST, t->tid);
	switch (t->kind) {
	case TX_ALLOCATE:
		/* RFC 8656 §7.1: UDP relaying, and the lifetime we would like */
		stun_builder_add_requested_transport(&b, STUN_TRANSPORT_UDP);
		if (c->cfg.lifetime)
			stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, c->cfg.lifetime);
		break;
	case TX_REFRESH:
		stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, c->cfg.lifetime ? c->cfg.lifetime
									 : TURN_DEFAULT_LIFETIME);
		break;
	case TX_DEALLOCATE:
		/* RFC 8656 §8: a lifetime of 0 deletes the allocation */
		stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 0);
		break;
	case TX_PERMISSION:
		stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&p->addr);
		break;
	case TX_CHANNEL:
		stun_builder_add_channel(&b, p->channel);
		stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&p->addr);
		break;
	case TX_NONE:
		return -EINVAL;
	}
	t->auth = c->have_realm;
	if (t->auth) {
		/* RFC 8489 §9.2.4: USERNAME, REALM, NONCE, then MESSAGE-INTEGRITY */
		stun_builder_add_string(&b, STUN_ATTR_USERNAME, c->username);
		stun_builder_add_string(&b, STUN_ATTR_REALM, c->realm);
		stun_builder_add_string(&b, STUN_ATTR_NONCE, c->nonce);
		stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, c->key, c->keylen);
	}
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	if (n < 0)
		return n;
	t->len = (size_t)n;
	return 0;
}

/* The time of the next retransmission after send number t->sends, or the final timeout. */
static uint64_t tx_next(const struct turn_client *c, const struct turn_tx *t)
{
	uint64_t rto = c->cfg.rto_ms, at = 0;

	if (c->cfg.stream)
		return t->start + c->cfg.stream_timeout_ms;
	/* RFC 8489 §6.2.1: send k (k = 0..Rc-1) at RTO * (2^k - 1); after
	 * the last, wait Rm * RTO */
	for (unsigned k = 1; k < t->sends && k < 31; k++)
		at += rto << (k - 1);
	if (t->sends < c->cfg.rc)
		return t->start + at + (rto << (t->sends - 1 < 31 ? t->sends - 1 : 31));
	return t->start + at + (uint64_t)c->cfg.rm * rto;
}

static void tx_send_first(struct turn_client *c, struct turn_tx *t, uint64_t now, struct turn_out *out)
{
	t->sends = 1;
	t->start = now;
	t->next = tx_next(c, t);
	emit(out, t);
}

/* Start a transaction of @p kind: false when it could not be built. */
static bool tx_start(struct turn_client *c, enum tx_kind kind, int peer, uint64_t now, struct turn_out *out)
{
	struct turn_tx *t = tx_free_slot(c);

	if (!t)
		return false;
	memset(t, 0, offsetof(struct turn_tx, msg));
	t->kind = kind;
	t->peer = peer;
	if (tx_build(c, t)) {
		t->kind = TX_NONE;
		return false;
	}
	tx_send_first(c, t, now, out);
	return true;
}

/* Send @p t again as a new transaction (after 401 or 438). */
static bool tx_restart(struct turn_client *c, struct turn_tx *t, uint64_t now, struct turn_out *out)
{
	if (tx_build(c, t)) {
		t->kind = TX_NONE;
		return false;
	}
	tx_send_first(c, t, now, out);
	return true;
}

/* ---- allocation life ---- */

static void peer_reset(struct turn_peer *p)
{
	p->perm = PERM_NONE;
	p->chan = CHAN_NONE;
	p->perm_refresh = TURN_NEVER;
	p->chan_refresh = TURN_NEVER;
}

static void cancel_all(struct turn_client *c)
{
	for (int i = 0; i < TURN_MAX_TX; i++)
		tx_cancel(&c->tx[i]);
}

/* Start the peer's permission and channel transactions that are due and not running. */
static void peer_install(struct turn_client *c, int idx, uint64_t now, struct turn_out *out)
{
	struct turn_peer *p = &c->peers[idx];

	if (!p->used || c->state != TURN_ALLOCATED)
		return;
	if ((p->perm == PERM_NONE || p->perm_refresh <= now) && !tx_of(c, TX_PERMISSION, idx)) {
		if (p->perm == PERM_NONE)
			p->perm = PERM_PENDING;
		p->perm_refresh = TURN_NEVER;
		(void)tx_start(c, TX_PERMISSION, idx, now, out);
	}
	if (p->want_channel && (p->chan == CHAN_NONE || p->chan_refresh <= now) &&
	    !tx_of(c, TX_CHANNEL, idx)) {
		if (p->chan == CHAN_NONE) {
			/* RFC 8656 §12: 0x4000..0x4FFF; a number is never given
			 * to another peer within one allocation, since a binding
			 * cannot be undone before it expires */
			if (c->next_channel > STUN_CHANNEL_MAX)
				return;
			p->channel = c->next_channel++;
			p->chan = CHAN_PENDING;
		}
		p->chan_refresh = TURN_NEVER;
		(void)tx_start(c, TX_CHANNEL, idx, now, out);
	}
}

static void allocate(struct turn_client *c, uint64_t now, struct turn_out *out)
{
	cancel_all(c);
	c->state = TURN_ALLOCATING;
	c->refresh_at = TURN_NEVER;
	c->expires = TURN_NEVER;
	c->next_channel = STUN_CHANNEL_MIN;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		peer_reset(&c->peers[i]);
	if (!tx_start(c, TX_ALLOCATE, -1, now, out)) {
		c->state = TURN_FAILED;
		(void)event(out, TURN_EV_FAILED, -1, TURN_CODE_BADRESP);
	}
}

static void reallocate(struct turn_client *c, unsigned why, uint64_t now, struct turn_out *out)
{
	(void)event(out, TURN_EV_REALLOCATING, -1, why);
	allocate(c, now, out);
}

static struct turn_event *fail(struct turn_client *c, unsigned code, struct turn_out *out)
{
	cancel_all(c);
	c->state = TURN_FAILED;
	c->refresh_at = TURN_NEVER;
	c->expires = TURN_NEVER;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		peer_reset(&c->peers[i]);
	return event(out, TURN_EV_FAILED, -1, code);
}

static void closed(struct turn_client *c, unsigned code, struct turn_out *out)
{
	cancel_all(c);
	c->state = TURN_CLOSED;
	c->refresh_at = TURN_NEVER;
	c->expires = TURN_NEVER;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		peer_reset(&c->peers[i]);
	(void)event(out, TURN_EV_CLOSED, -1, code);
}

static void peer_failed(struct turn_client *c, int idx, unsigned code, struct turn_out *out)
{
	struct turn_event *e = event(out, TURN_EV_PEER_FAILED, idx, code);
	struct turn_tx *t;

	if (e)
		e->addr = c->peers[idx].addr;
	if ((t = tx_of(c, TX_PERMISSION, idx)))
		tx_cancel(t);
	if ((t = tx_of(c, TX_CHANNEL, idx)))
		tx_cancel(t);
	memset(&c->peers[idx], 0, sizeof(c->peers[idx]));
}

/* A transaction ended without success (@p code: error or TURN_CODE_*). */
static void tx_failed(struct turn_client *c, struct turn_tx *t, unsigned code, uint64_t now,
		      struct turn_out *out)
{
	enum tx_kind kind = t->kind;
	int peer = t->peer;

	tx_cancel(t);
	switch (kind) {
	case TX_ALLOCATE:
		/* 437: this 5-tuple holds an allocation already (RFC 8656
		 * §7.3), 508 and 486: the server cannot take one now; all are
		 * the caller's to handle (another port, another server, later) */
		(void)fail(c, code, out);
		break;
	case TX_REFRESH:
		if (code == TURN_CODE_TIMEOUT && now < c->expires) {
			/* the server may be unreachable for a while: keep
			 * trying while the allocation lasts */
			(void)tx_start(c, TX_REFRESH, -1, now, out);
			break;
		}
		/* refused (437: the server has lost it) or expired */
		reallocate(c, code, now, out);
		break;
	case TX_PERMISSION:
	case TX_CHANNEL:
		if (code == STUN_ERR_ALLOCATION_MISMATCH) {
			/* RFC 8656 §9.2, §12.2: no allocation for this 5-tuple */
			reallocate(c, code, now, out);
			break;
		}
		peer_failed(c, peer, code, out);
		break;
	case TX_DEALLOCATE:
		closed(c, code, out);
		break;
	case TX_NONE:
		break;
	}
}

/* ---- responses ---- */

static bool take_realm_nonce(struct turn_client *c, const struct stun_msg *m)
{
	char realm[STUN_STRING_MAX + 1], nonce[STUN_STRING_MAX + 1];
	int kl;

	if (stun_msg_get_string(m, STUN_ATTR_NONCE, nonce, sizeof(nonce)) < 0)
		return false;
	/* 438 may leave REALM out only if it did not change; keep ours then */
	if (stun_msg_get_string(m, STUN_ATTR_REALM, realm, sizeof(realm)) < 0) {
		if (!c->have_realm)
			return false;
		memcpy(realm, c->realm, sizeof(realm));
	}
	kl = stun_key_long_term(STUN_PASSWORD_MD5, c->username, realm, c->password, c->key);
	if (kl < 0)
		return false;
	c->keylen = (size_t)kl;
	memcpy(c->realm, realm, sizeof(c->realm));
	memcpy(c->nonce, nonce, sizeof(c->nonce));
	c->have_realm = true;
	return true;
}

static void on_allocate_ok(struct turn_client *c, const struct stun_msg *m, uint64_t now,
			   struct turn_out *out)
{
	struct sockaddr_storage relayed, mapped;
	struct turn_event *e;
	uint32_t lifetime;

	/* RFC 8656 §7.3: XOR-RELAYED-ADDRESS and LIFETIME are required */
	if (stun_msg_get_addr(m, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &relayed) ||
	    stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &lifetime) || lifetime == 0) {
		(void)fail(c, TURN_CODE_BADRESP, out);
		return;
	}
	if (stun_msg_get_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &mapped))
		memset(&mapped, 0, sizeof(mapped));
	c->state = TURN_ALLOCATED;
	c->relayed = relayed;
	c->expires = now + (uint64_t)lifetime * 1000;
	c->refresh_at = now + (uint64_t)lifetime * 1000 * 2 / 3;
	e = event(out, TURN_EV_ALLOCATED, -1, 0);
	if (e) {
		e->addr = relayed;
		e->mapped = mapped;
		e->lifetime = lifetime;
	}
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		peer_install(c, i, now, out);
}

static void on_success(struct turn_client *c, struct turn_tx *t, const struct stun_msg *m, uint64_t now,
		       struct turn_out *out)
{
	struct turn_peer *p = t->peer >= 0 ? &c->peers[t->peer] : NULL;
	enum tx_kind kind = t->kind;
	struct turn_event *e;
	uint32_t lifetime;

	tx_cancel(t);
	switch (kind) {
	case TX_ALLOCATE:
		on_allocate_ok(c, m, now, out);
		break;
	case TX_REFRESH:
		if (stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &lifetime) || lifetime == 0) {
			reallocate(c, TURN_CODE_BADRESP, now, out);
			break;
		}
		c->expires = now + (uint64_t)lifetime * 1000;
		c->refresh_at = now + (uint64_t)lifetime * 1000 * 2 / 3;
		if ((e = event(out, TURN_EV_REFRESHED, -1, 0)))
			e->lifetime = lifetime;
		break;
	case TX_PERMISSION:
		if (p->perm != PERM_OK && (e = event(out, TURN_EV_PERMISSION, t->peer, 0)))
			e->addr = p->addr;
		p->perm = PERM_OK;
		p->perm_refresh = now + TURN_PERM_REFRESH_S * 1000ull;
		break;
	case TX_CHANNEL:
		if (p->chan != CHAN_BOUND && (e = event(out, TURN_EV_CHANNEL, t->peer, 0))) {
			e->addr = p->addr;
			e->channel = p->channel;
		}
		p->chan = CHAN_BOUND;
		p->chan_refresh = now + TURN_CHAN_REFRESH_S * 1000ull;
		break;
	case TX_DEALLOCATE:
		closed(c, 0, out);
		break;
	case TX_NONE:
		break;
	}
}

static void on_error(struct turn_client *c, struct turn_tx *t, const struct stun_msg *m, unsigned code,
		     uint64_t now, struct turn_out *out)
{
	if (code == STUN_ERR_UNAUTHORIZED && (!t->auth || t->unauth == 0)) {
		/* RFC 8489 §9.2.3: the challenge gives REALM and NONCE; a
		 * second 401 to a request that had credentials refuses them
		 * (one more try covers a server that forgot its nonces) */
		if (t->auth)
			t->unauth++;
		if (take_realm_nonce(c, m)) {
			(void)tx_restart(c, t, now, out);
			return;
		}
	} else if (code == STUN_ERR_TRY_ALTERNATE && t->kind == TX_ALLOCATE) {
		/* RFC 8489 §10: the server names another; which one to try
		 * next is the caller's, who holds the sockets */
		struct sockaddr_storage alt;
		struct turn_event *e;

		if (stun_msg_get_addr(m, STUN_ATTR_ALTERNATE_SERVER, 0, &alt) == 0) {
			if ((e = fail(c, code, out)))
				e->addr = alt;
			return;
		}
	} else if (code == STUN_ERR_STALE_NONCE && t->stale < TURN_STALE_RETRIES) {
		/* RFC 8489 §9.2.5: retry with the new NONCE */
		t->stale++;
		if (take_realm_nonce(c, m)) {
			(void)tx_restart(c, t, now, out);
			return;
		}
	}
	tx_failed(c, t, code, now, out);
}

static void on_response(struct turn_client *c, const struct stun_msg *m, int prc, uint64_t now,
			struct turn_out *out)
{
	struct turn_tx *t = NULL;
	unsigned code = 0;

	for (int i = 0; i < TURN_MAX_TX; i++) {
		if (c->tx[i].kind != TX_NONE && memcmp(c->tx[i].tid, m->tid, STUN_TID_LEN) == 0) {
			t = &c->tx[i];
			break;
		}
	}
	if (!t || m->method != tx_method(t->kind))
		return;
	if (m->cls == STUN_CLASS_ERROR && stun_msg_get_error(m, &code, NULL, 0))
		return;
	if (t->auth) {
		/* RFC 8489 §9.2.5: a response to a signed request must be
		 * signed with the same key, except the errors a server sends
		 * before it knows who we are */
		bool unsigned_ok = m->cls == STUN_CLASS_ERROR &&
				   (code == STUN_ERR_BAD_REQUEST || code == STUN_ERR_UNAUTHORIZED ||
				    code == STUN_ERR_UNKNOWN_ATTRIBUTE || code == STUN_ERR_STALE_NONCE);
		int rc = stun_msg_check_integrity(m, STUN_INTEGRITY_SHA1, c->key, c->keylen);

		if (rc == -ENOENT ? !unsigned_ok : rc != 0)
			return;
	}
	if (prc == -EOPNOTSUPP) {
		/* RFC 8489 §6.3.3, §6.3.4: unknown comprehension-required
		 * attributes in a response fail the transaction */
		tx_failed(c, t, STUN_ERR_UNKNOWN_ATTRIBUTE, now, out);
		return;
	}
	if (m->cls == STUN_CLASS_SUCCESS)
		on_success(c, t, m, now, out);
	else
		on_error(c, t, m, code, now, out);
}

static void data_event(struct turn_client *c, const struct sockaddr_storage *from, uint16_t channel,
		       const uint8_t *data, size_t len, struct turn_out *out)
{
	struct turn_event *e = event(out, TURN_EV_DATA, find_peer(c, from), 0);

	if (!e)
		return;
	e->addr = *from;
	e->channel = channel;
	e->data = data;
	e->len = len;
}

static void on_indication(struct turn_client *c, const struct stun_msg *m, struct turn_out *out)
{
	struct sockaddr_storage from;
	const uint8_t *data;
	size_t len;

	/* RFC 8656 §11.6: a Data indication without XOR-PEER-ADDRESS or
	 * DATA is discarded */
	if (m->method != STUN_METHOD_DATA || c->state != TURN_ALLOCATED ||
	    stun_msg_get_addr(m, STUN_ATTR_XOR_PEER_ADDRESS, 0, &from) ||
	    stun_msg_get_data(m, &data, &len))
		return;
	data_event(c, &from, 0, data, len, out);
}

static void on_chandata(struct turn_client *c, const void *buf, size_t len, struct turn_out *out)
{
	struct stun_chandata cd;
	int idx;

	if (c->state != TURN_ALLOCATED || stun_chandata_parse(buf, len, c->cfg.stream, &cd))
		return;
	/* RFC 8656 §12.6: data on a channel we asked for, even before the
	 * ChannelBind success arrived */
	idx = find_channel(c, cd.channel);
	if (idx < 0)
		return;
	data_event(c, &c->peers[idx].addr, cd.channel, cd.data, cd.len, out);
}

/* ---- the API ---- */

void turn_client_config_default(struct turn_client_config *cfg, bool stream)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stream = stream;
	cfg->lifetime = TURN_DEFAULT_LIFETIME;
	cfg->rto_ms = TURN_DEFAULT_RTO_MS;
	cfg->rc = TURN_DEFAULT_RC;
	cfg->rm = TURN_DEFAULT_RM;
	cfg->stream_timeout_ms = TURN_STREAM_TIMEOUT_MS;
}

struct turn_client *turn_client_new(const struct turn_client_config *cfg, const char *username,
				    const char *password, turn_random_fn *rnd, void *rnd_arg)
{
	struct turn_client *c;

	if (!rnd || strlen(username) > STUN_USERNAME_MAX || strlen(password) >= sizeof(c->password))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		turn_client_config_default(&c->cfg, false);
	if (c->cfg.rc == 0)
		c->cfg.rc = 1;
	if (c->cfg.rto_ms == 0)
		c->cfg.rto_ms = TURN_DEFAULT_RTO_MS;
	if (c->cfg.stream_timeout_ms == 0)
		c->cfg.stream_timeout_ms = TURN_STREAM_TIMEOUT_MS;
	c->rnd = rnd;
	c->rnd_arg = rnd_arg;
	strcpy(c->username, username);
	strcpy(c->password, password);
	c->state = TURN_IDLE;
	c->refresh_at = TURN_NEVER;
	c->expires = TURN_NEVER;
	c->next_channel = STUN_CHANNEL_MIN;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		peer_reset(&c->peers[i]);
	return c;
}

void turn_client_free(struct turn_client *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

uint64_t turn_client_deadline(const struct turn_client *c)
{
	uint64_t d = TURN_NEVER;

	for (int i = 0; i < TURN_MAX_TX; i++)
		if (c->tx[i].kind != TX_NONE && c->tx[i].next < d)
			d = c->tx[i].next;
	if (c->state != TURN_ALLOCATED)
		return d;
	if (c->refresh_at < d)
		d = c->refresh_at;
	if (c->expires < d)
		d = c->expires;
	for (int i = 0; i < TURN_MAX_PEERS; i++) {
		const struct turn_peer *p = &c->peers[i];

		if (!p->used)
			continue;
		if (p->perm_refresh < d)
			d = p->perm_refresh;
		if (p->want_channel && p->chan_refresh < d)
			d = p->chan_refresh;
	}
	return d;
}

void turn_client_start(struct turn_client *c, uint64_t now, struct turn_out *out)
{
	out_reset(out);
	if (c->state == TURN_IDLE || c->state == TURN_FAILED || c->state == TURN_CLOSED)
		allocate(c, now, out);
	out->deadline = turn_client_deadline(c);
}

void turn_client_on_timeout(struct turn_client *c, uint64_t now, struct turn_out *out)
{
	out_reset(out);
	for (int i = 0; i < TURN_MAX_TX; i++) {
		struct turn_tx *t = &c->tx[i];

		if (t->kind == TX_NONE || t->next > now)
			continue;
		if (!c->cfg.stream && t->sends < c->cfg.rc) {
			/* RFC 8489 §6.2.1: the same bytes again, once, on the
			 * schedule counted from the first send: a caller that is
			 * late skips the sends it missed rather than bursting */
			do {
				t->sends++;
				t->next = tx_next(c, t);
			} while (t->sends < c->cfg.rc && t->next <= now);
			if (t->next > now) {
				emit(out, t);
				continue;
			}
		}
		tx_failed(c, t, TURN_CODE_TIMEOUT, now, out);
		if (c->state != TURN_ALLOCATED && c->state != TURN_CLOSING)
			break;	/* every other transaction went with it */
	}
	if (c->state == TURN_ALLOCATED && now >= c->expires) {
		/* RFC 8656 §8: the allocation is gone on the server too */
		reallocate(c, TURN_CODE_TIMEOUT, now, out);
	} else if (c->state == TURN_ALLOCATED) {
		if (now >= c->refresh_at && !tx_of(c, TX_REFRESH, -1)) {
			c->refresh_at = TURN_NEVER;
			(void)tx_start(c, TX_REFRESH, -1, now, out);
		}
		for (int i = 0; i < TURN_MAX_PEERS; i++)
			peer_install(c, i, now, out);
	}
	out->deadline = turn_client_deadline(c);
}

void turn_client_refresh_now(struct turn_client *c, uint64_t now, struct turn_out *out)
{
	out_reset(out);
	if (c->state == TURN_ALLOCATED && !tx_of(c, TX_REFRESH, -1)) {
		c->refresh_at = TURN_NEVER;
		(void)tx_start(c, TX_REFRESH, -1, now, out);
	}
	out->deadline = turn_client_deadline(c);
}

void turn_client_on_input(struct turn_client *c, const void *buf, size_t len, uint64_t now,
			  struct turn_out *out)
{
	struct stun_msg m;
	int rc;

	out_reset(out);
	switch (stun_demux_classify(buf, len)) {
	case STUN_DEMUX_STUN:
		rc = stun_msg_parse(buf, len, &m);
		if (rc != 0 && rc != -EOPNOTSUPP)
			break;
		if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR)
			on_response(c, &m, rc, now, out);
		else if (m.cls == STUN_CLASS_INDICATION && rc == 0)
			on_indication(c, &m, out);
		break;
	case STUN_DEMUX_CHANDATA:
		on_chandata(c, buf, len, out);
		break;
	default:
		break;
	}
	out->deadline = turn_client_deadline(c);
}

int turn_client_peer_add(struct turn_client *c, const struct sockaddr *peer, bool channel,
			 uint64_t now, struct turn_out *out)
{
	struct sockaddr_storage ss;
	int idx;

	out_reset(out);
	if (sa_copy(&ss, peer))
		return -EAFNOSUPPORT;
	idx = find_peer(c, &ss);
	if (idx < 0) {
		for (int i = 0; i < TURN_MAX_PEERS; i++) {
			if (!c->peers[i].used) {
				idx = i;
				break;
			}
		}
		if (idx < 0) {
			out->deadline = turn_client_deadline(c);
			return -ENOSPC;
		}
		memset(&c->peers[idx], 0, sizeof(c->peers[idx]));
		peer_reset(&c->peers[idx]);
		c->peers[idx].used = true;
		c->peers[idx].addr = ss;
	}
	c->peers[idx].want_channel |= channel;
	peer_install(c, idx, now, out);
	out->deadline = turn_client_deadline(c);
	return idx;
}

void turn_client_peer_del(struct turn_client *c, int idx)
{
	struct turn_tx *t;

	if (idx < 0 || idx >= TURN_MAX_PEERS || !c->peers[idx].used)
		return;
	if ((t = tx_of(c, TX_PERMISSION, idx)))
		tx_cancel(t);
	if ((t = tx_of(c, TX_CHANNEL, idx)))
		tx_cancel(t);
	/* the channel number stays taken: the server keeps the binding until it expires */
	memset(&c->peers[idx], 0, sizeof(c->peers[idx]));
	peer_reset(&c->peers[idx]);
}

int turn_client_peer_find(const struct turn_client *c, const struct sockaddr *peer)
{
	struct sockaddr_storage ss;

	if (sa_copy(&ss, peer))
		return -1;
	return find_peer(c, &ss);
}

int turn_client_send(struct turn_client *c, int idx, const void *data, size_t len, void *buf, size_t cap)
{
	const struct turn_peer *p;
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN];

	if (idx < 0 || idx >= TURN_MAX_PEERS || !c->peers[idx].used)
		return -ENOENT;
	if (len > 65535)
		return -EMSGSIZE;
	p = &c->peers[idx];
	if (c->state != TURN_ALLOCATED || p->perm != PERM_OK)
		return -ENOTCONN;
	if (p->chan == CHAN_BOUND)
		return stun_chandata_build(p->channel, data, len, c->cfg.stream, buf, cap);
	/* RFC 8656 §11.1: a Send indication, no credentials */
	c->rnd(c->rnd_arg, tid, sizeof(tid));
	stun_builder_start(&b, buf, cap, STUN_METHOD_SEND, STUN_CLASS_INDICATION, tid);
	stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&p->addr);
	stun_builder_add(&b, STUN_ATTR_DATA, data, len);
	return stun_builder_finish(&b);
}

void turn_client_close(struct turn_client *c, uint64_t now, struct turn_out *out)
{
	out_reset(out);
	switch (c->state) {
	case TURN_ALLOCATED:
		cancel_all(c);
		c->state = TURN_CLOSING;
		c->refresh_at = TURN_NEVER;
		if (!tx_start(c, TX_DEALLOCATE, -1, now, out))
			closed(c, TURN_CODE_BADRESP, out);
		break;
	case TURN_CLOSING:
	case TURN_CLOSED:
		break;
	case TURN_IDLE:
	case TURN_ALLOCATING:
	case TURN_FAILED:
		closed(c, 0, out);
		break;
	}
	out->deadline = turn_client_deadline(c);
}

enum turn_state turn_client_state(const struct turn_client *c)
{
	return c->state;
}

int turn_client_relayed(const struct turn_client *c, struct sockaddr_storage *ss)
{
	if (c->state != TURN_ALLOCATED)
		return -ENOTCONN;
	memcpy(ss, &c->relayed, sa_len(&c->relayed));
	return 0;
}

const char *turn_event_str(enum turn_event_kind k)
{
	switch (k) {
	case TURN_EV_ALLOCATED: return "allocated";
	case TURN_EV_REFRESHED: return "refreshed";
	case TURN_EV_REALLOCATING: return "reallocating";
	case TURN_EV_FAILED: return "failed";
	case TURN_EV_PERMISSION: return "permission";
	case TURN_EV_CHANNEL: return "channel";
	case TURN_EV_PEER_FAILED: return "peer-failed";
	case TURN_EV_DATA: return "data";
	case TURN_EV_CLOSED: return "closed";
	}
	return "?";
}

const char *turn_state_str(enum turn_state s)
{
	switch (s) {
	case TURN_IDLE: return "idle";
	case TURN_ALLOCATING: return "allocating";
	case TURN_ALLOCATED: return "allocated";
	case TURN_CLOSING: return "closing";
	case TURN_CLOSED: return "closed";
	case TURN_FAILED: return "failed";
	}
	return "?";
}
