/*
 * The lib/ike instance: peers, tunnels, events, timers and the API of
 * ike.h. The exchanges themselves are in exchange.c, the proposals and
 * selectors in policy.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "ike/ike_int.h"
#include "util/random.h"

#define DEF_COOKIE_THRESHOLD 32
#define DEF_HALF_OPEN_MAX 1024
#define DEF_HALF_OPEN_MS 30000
#define DEF_RETRANSMIT_MS 500
#define DEF_RETRANSMIT_TRIES 6
#define DEF_MAX_SAS 4096
#define COOKIE_ROTATE_MS (10 * 60 * 1000)

#define NEVER UINT64_MAX

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t jitter(uint64_t base_ms)
{
	/* rekey a little early, by up to a tenth, so both ends rarely start at once */
	return base_ms - rand_uniform((uint32_t)(base_ms / 10 < UINT32_MAX ? base_ms / 10 : UINT32_MAX));
}

struct ike *ike_new(const struct ike_conf *conf)
{
	struct ike *ike = calloc(1, sizeof(*ike));

	if (!ike)
		return NULL;
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
	if (rand_bytes(ike->cookie_secret, sizeof(ike->cookie_secret))) {
		free(ike);
		return NULL;
	}
	ike->cookie_rotate_at = NEVER;	/* armed by the first tick that has a clock */
	return ike;
}

static void peer_free(struct ike_peer *p)
{
	OPENSSL_cleanse(p->psk, sizeof(p->psk));
	free(p);
}

static void sa_free(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_XSA; i++)
		xsa_free(&t->x[i]);
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		child_free(&t->child[i]);
	ike_dh_fini(&t->dh);
	free(t->init_req);
	free(t->init_resp);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

static void evq_free(struct ike *ike)
{
	while (ike->evq_head) {
		struct ike_evq *q = ike->evq_head;

		ike->evq_head = q->next;
		free(q->data);
		OPENSSL_cleanse(&q->ev, sizeof(q->ev));
		free(q);
	}
	ike->evq_tail = NULL;
}

void ike_free(struct ike *ike)
{
	if (!ike)
		return;
	while (ike->sas) {
		struct ike_sa *t = ike->sas;

		ike->sas = t->next;
		sa_free(t);
	}
	while (ike->peers) {
		struct ike_peer *p = ike->peers;

		ike->peers = p->next;
		peer_free(p);
	}
	evq_free(ike);
	free(ike->polled);
	OPENSSL_cleanse(ike, sizeof(*ike));
	free(ike);
}

static struct ike_sa *sa_by_id(const struct ike *ike, uint32_t id)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next)
		if (t->id == id && t->state != ST_DEAD && !t->reported)
			return t;
	return NULL;
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
	    !valid_fqdn(c->remote_id) || !c->psk || c->psk_len == 0 || c->psk_len > IKE_MAX_PSK ||
	    !valid_ts(&c->local_ts) || !valid_ts(&c->remote_ts) || c->n_spis_in > IKE_MAX_SPIS_IN)
		return -EINVAL;
	for (unsigned i = 0; i < c->n_spis_in; i++)
		if (c->spis_in[i] < 256)
			return -EINVAL;
	if (c->esp_algs & ~(unsigned)(IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305) ||
	    c->prf_algs & ~(unsigned)(IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512) ||
	    c->encr_algs & ~(unsigned)(IKE_ENCR_AES256GCM16 | IKE_ENCR_AES256CBC_SHA256))
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
	memcpy(p->psk, c->psk, c->psk_len);
	p->psk_len = c->psk_len;
	p->remote = c->remote;
	p->local = c->local;
	p->local_ts = c->local_ts;
	p->remote_ts = c->remote_ts;
	for (unsigned i = 0; i < 4 && c->dh_groups[i]; i++) {
		if (!group_allowed(NULL, c->dh_groups[i])) {
			peer_free(p);
			return -EINVAL;
		}
		p->dh[p->ndh++] = c->dh_groups[i];
	}
	if (!p->ndh) {
		p->dh[0] = IKE_DH_CURVE25519;
		p->dh[1] = IKE_DH_ECP256;
		p->dh[2] = IKE_DH_MODP2048;
		p->ndh = 3;
	}
	p->esp_algs = c->esp_algs ? c->esp_algs : IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305;
	p->prf_algs = c->prf_algs ? c->prf_algs : IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512;
	p->encr_algs = c->encr_algs ? c->encr_algs : IKE_ENCR_AES256GCM16;
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
		ex_run_tasks(ike, t, now);
		sa_report_down(ike, t, IKE_DOWN_CLOSED, 0);
	} else if (t->state != ST_CLOSING) {
		sa_kill(ike, t, IKE_DOWN_CLOSED, 0);
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

struct ike_peer *peer_by_id(struct ike *ike, const uint8_t *id, size_t len)
{
	struct ike_peer *wild = NULL;

	for (struct ike_peer *p = ike->peers; p; p = p->next) {
		size_t n = strlen(p->remote_id);

		if (!p->wildcard) {
			if (n == len && strncasecmp(p->remote_id, (const char *)id, len) == 0 &&
			    !memchr(id, 0, len))
				return p;
		} else if (!wild && len > n - 1 && !memchr(id, 0, len) &&
			   strncasecmp(p->remote_id + 1, (const char *)id + len - (n - 1), n - 1) == 0) {
			wild = p;	/* "*.d" matches "x.d" but not ".d" */
		}
	}
	return wild;
}

/* ---- tunnels, IKE SAs, child SAs ---- */

struct ike_xsa *sa_cur(struct ike_sa *t)
{
	return &t->x[t->cur];
}

struct ike_sa *sa_new(struct ike *ike)
{
	struct ike_sa *t;

	if (ike->st.sas >= ike->conf.max_sas)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = ike->next_id++;
	if (ike->next_id > 0x7fffffff)
		ike->next_id = 1;
	t->x[0].used = true;
	t->cur = 0;
	t->rekey_at = t->dpd_at = t->half_open_expire = NEVER;
	t->next = ike->sas;
	ike->sas = t;
	ike->st.sas++;
	return t;
}

struct ike_xsa *xsa_new(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_XSA; i++)
		if (!t->x[i].used) {
			memset(&t->x[i], 0, sizeof(t->x[i]));
			t->x[i].used = true;
			t->x[i].expire = NEVER;
			return &t->x[i];
		}
	return NULL;
}

void req_clear(struct ike_req *r)
{
	free(r->msg);
	ike_dh_fini(&r->dh);
	OPENSSL_cleanse(r, sizeof(*r));
}

void xsa_free(struct ike_xsa *x)
{
	req_clear(&x->req);
	free(x->resp);
	OPENSSL_cleanse(x, sizeof(*x));
}

struct ike_child *child_new(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (!t->child[i].used) {
			memset(&t->child[i], 0, sizeof(t->child[i]));
			t->child[i].used = true;
			t->child[i].rekey_at = t->child[i].expire = NEVER;
			return &t->child[i];
		}
	return NULL;
}

void child_free(struct ike_child *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

struct ike_child *child_by_in(struct ike_sa *t, uint32_t spi_in)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used && t->child[i].spi_in == spi_in)
			return &t->child[i];
	return NULL;
}

struct ike_child *child_by_out(struct ike_sa *t, uint32_t spi_out)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used && t->child[i].spi_out == spi_out)
			return &t->child[i];
	return NULL;
}

static bool spi_in_used(struct ike *ike, uint32_t spi)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->first_spi_in == spi || child_by_in(t, spi))
			return true;
		for (int i = 0; i < IKE_MAX_XSA; i++)
			if (t->x[i].used && t->x[i].req.child_new == spi)
				return true;
	}
	return false;
}

uint32_t new_child_spi(struct ike *ike, struct ike_peer *p)
{
	/* the SPIs the daemon was given (RFC 3104 §5), in turn, so a freed one is not reused at once */
	for (unsigned i = 0; p && i < p->n_spis_in; i++) {
		uint32_t spi = p->spis_in[(p->next_spi_in + i) % p->n_spis_in];

		if (!spi_in_used(ike, spi)) {
			p->next_spi_in = (p->next_spi_in + i + 1) % p->n_spis_in;
			return spi;
		}
	}
	for (;;) {
		uint32_t spi = 0;

		/* SPIs 0..255 are reserved (RFC 4303 §2.1) */
		if (rand_bytes(&spi, sizeof(spi)) == 0 && spi > 255 && !spi_in_used(ike, spi))
			return spi;
	}
}

uint64_t new_ike_spi(struct ike *ike)
{
	for (;;) {
		uint64_t spi = 0;
		bool used = false;

		if (rand_bytes(&spi, sizeof(spi)) || spi == 0)
			continue;
		for (struct ike_sa *t = ike->sas; t && !used; t = t->next)
			for (int i = 0; i < IKE_MAX_XSA; i++)
				if (t->x[i].used && (t->x[i].spi_i == spi || t->x[i].spi_r == spi ||
						     t->x[i].req.new_spi == spi))
					used = true;
		if (!used)
			return spi;
	}
}

/* ---- events ---- */

static struct ike_evq *ev_push(struct ike *ike, enum ike_event_type type, struct ike_sa *t)
{
	struct ike_evq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;	/* the event is lost; the exchange retransmits or times out */
	q->ev.type = type;
	if (t) {
		q->ev.sa_id = t->id;
		if (t->peer)
			strcpy(q->ev.peer, t->peer->name);
	}
	if (ike->evq_tail)
		ike->evq_tail->next = q;
	else
		ike->evq_head = q;
	ike->evq_tail = q;
	return q;
}

void ev_send(struct ike *ike, struct ike_sa *t, const struct ike_addr *local, const struct ike_addr *remote,
	     const uint8_t *data, size_t len)
{
	struct ike_evq *q;
	uint8_t *copy = malloc(len);

	if (!copy)
		return;
	q = ev_push(ike, IKE_EV_SEND, t);
	if (!q) {
		free(copy);
		return;
	}
	memcpy(copy, data, len);
	q->data = copy;
	q->ev.send.local = *local;
	q->ev.send.remote = *remote;
	q->ev.send.data = copy;
	q->ev.send.len = len;
	ike->st.tx++;
}

static void fill_info(struct ike_sa *t, struct ike_sa_info *in)
{
	struct ike_xsa *x = sa_cur(t);

	memset(in, 0, sizeof(*in));
	in->sa_id = t->id;
	if (t->peer)
		strcpy(in->peer, t->peer->name);
	strcpy(in->remote_id, t->remote_id);
	in->local = t->local;
	in->remote = t->remote;
	in->initiator = t->initiator;
	in->established = t->state == ST_ESTABLISHED;
	in->nat_local = t->nat_local;
	in->nat_remote = t->nat_remote;
	in->mobike = t->mobike;
	in->dh_group = x->dh_group;
	switch (x->prf) {
	case IKE_PRF_ID_HMAC_SHA2_256: in->prf = IKE_PRF_HMAC_SHA256; break;
	case IKE_PRF_ID_HMAC_SHA2_384: in->prf = IKE_PRF_HMAC_SHA384; break;
	case IKE_PRF_ID_HMAC_SHA2_512: in->prf = IKE_PRF_HMAC_SHA512; break;
	}
	in->encr = x->encr == IKE_ENCR_ID_AES_CBC ? IKE_ENCR_AES256CBC_SHA256 :
		   x->encr ? IKE_ENCR_AES256GCM16 : 0;
	in->established_ms = t->established_ms;
	in->last_heard_ms = t->last_heard_ms;
	in->ike_spi_i = x->spi_i;
	in->ike_spi_r = x->spi_r;
}

void ev_sa(struct ike *ike, struct ike_sa *t, enum ike_event_type type)
{
	struct ike_evq *q = ev_push(ike, type, t);

	if (q)
		fill_info(t, &q->ev.up);
	if (type == IKE_EV_SA_UP)
		ike->st.sa_up++;
}

void ev_sa_down(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	struct ike_evq *q = ev_push(ike, IKE_EV_SA_DOWN, t);

	if (q) {
		q->ev.down.reason = r;
		q->ev.down.notify = notify;
		strcpy(q->ev.down.remote_id, t->remote_id);
	}
	ike->st.sa_down++;
}

void ev_child_up(struct ike *ike, struct ike_sa *t, const struct ike_child *c, bool deferred)
{
	struct ike_evq *q;
	struct ike_child_info *ci;

	if (t->reported)
		return;		/* the daemon has been told this tunnel is gone */
	q = ev_push(ike, IKE_EV_CHILD_UP, t);
	ike->st.child_up++;
	if (!q)
		return;
	ci = &q->ev.child_up.child;
	ci->spi_in = c->spi_in;
	ci->spi_out = c->spi_out;
	ci->alg = c->encr == IKE_ENCR_ID_CHACHA20_POLY1305 ? IKE_ESP_CHACHA20POLY1305 : IKE_ESP_AES256GCM16;
	ci->esn = c->esn;
	memcpy(ci->key_in, c->key_in, 32);
	memcpy(ci->salt_in, c->key_in + 32, 4);
	memcpy(ci->key_out, c->key_out, 32);
	memcpy(ci->salt_out, c->key_out + 32, 4);
	ci->ts_local = c->ts_l;
	ci->ts_remote = c->ts_r;
	ci->replaces = c->rekeyed_from;
	ci->send_deferred = deferred;
	q->ev.child_up.local = t->local;
	q->ev.child_up.remote = t->remote;
	q->ev.child_up.nat = t->nat_local || t->nat_remote;
}

void ev_child_down(struct ike *ike, struct ike_sa *t, struct ike_child *c)
{
	struct ike_evq *q;

	if (t->reported) {
		child_free(c);
		return;
	}
	q = ev_push(ike, IKE_EV_CHILD_DOWN, t);

	ike->st.child_down++;
	if (q) {
		q->ev.child_down.spi_in = c->spi_in;
		q->ev.child_down.spi_out = c->spi_out;
	}
	child_free(c);
}

/* Tell the daemon the tunnel is down (once): its child SAs first, then the tunnel. */
void sa_report_down(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	if (t->reported || t->state == ST_DEAD)
		return;
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used)
			ev_child_down(ike, t, &t->child[i]);
	/* a half-open SA the daemon never heard of goes quietly, unless authentication failed */
	if (t->initiator || t->state != ST_HALF_OPEN || r == IKE_DOWN_AUTH_FAILED)
		ev_sa_down(ike, t, r, notify);
	t->reported = true;
}

void sa_kill(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	if (t->state == ST_DEAD)
		return;
	sa_report_down(ike, t, r, notify);
	if (t->state == ST_HALF_OPEN && ike->st.half_open)
		ike->st.half_open--;
	t->state = ST_DEAD;
	if (!t->down_reason) {
		t->down_reason = r;
		t->down_notify = notify;
	}
}

static void reap(struct ike *ike)
{
	struct ike_sa **tp = &ike->sas;

	while (*tp) {
		struct ike_sa *t = *tp;

		if (t->state == ST_DEAD) {
			*tp = t->next;
			ike->st.sas--;
			sa_free(t);
		} else {
			tp = &t->next;
		}
	}
}

bool ike_poll(struct ike *ike, struct ike_event *ev)
{
	struct ike_evq *q = ike->evq_head;

	free(ike->polled);
	ike->polled = NULL;
	if (!q)
		return false;
	ike->evq_head = q->next;
	if (!ike->evq_head)
		ike->evq_tail = NULL;
	*ev = q->ev;
	ike->polled = q->data;	/* stays valid until the next call */
	OPENSSL_cleanse(&q->ev, sizeof(q->ev));
	free(q);
	return true;
}

/* ---- timers ---- */

void sa_schedule(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_peer *p = t->peer;

	(void)ike;
	if (!p)
		return;
	t->rekey_at = now + jitter((uint64_t)p->ike_life_s * 1000);
	t->dpd_at = p->dpd_s == UINT32_MAX ? NEVER : now + (uint64_t)p->dpd_s * 1000;
}

static uint64_t sa_deadline(struct ike_sa *t)
{
	uint64_t d = NEVER;

	if (t->state == ST_DEAD)
		return NEVER;
	if (t->state == ST_HALF_OPEN)
		d = min64(d, t->half_open_expire);
	if (t->state == ST_ESTABLISHED && !sa_cur(t)->req.kind) {
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
		sa_kill(ike, t, IKE_DOWN_TIMEOUT, 0);
		return;
	}
	for (int i = 0; i < IKE_MAX_XSA && t->state != ST_DEAD; i++) {
		struct ike_xsa *x = &t->x[i];

		if (!x->used)
			continue;
		if (x->req.kind && now >= x->req.deadline)
			ex_retransmit(ike, t, x, now);
		if (x->used && x->dying && now >= x->expire && i != t->cur)
			xsa_free(x);
	}
	if (t->state == ST_DEAD)
		return;
	for (int i = 0; i < IKE_MAX_CHILD; i++) {
		struct ike_child *c = &t->child[i];

		if (!c->used)
			continue;
		if (now >= c->expire) {
			/* the peer replaced this child but never deleted it: we do */
			c->expire = NEVER;
			c->want_delete = true;
		}
		if (c->state == CH_UP && now >= c->rekey_at) {
			c->want_rekey = true;
			c->rekey_at = NEVER;
		}
	}
	if (t->state == ST_ESTABLISHED) {
		if (now >= t->rekey_at) {
			t->pending |= P_IKE_REKEY;
			t->rekey_at = NEVER;
		}
		if (now >= t->dpd_at) {
			t->pending |= P_DPD;
			t->dpd_at = NEVER;
		}
	}
	ex_run_tasks(ike, t, now);
}

void ike_tick(struct ike *ike, uint64_t now)
{
	if (ike->cookie_rotate_at == NEVER) {
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	} else if (now >= ike->cookie_rotate_at) {
		/* RFC 7296 §2.6: change the secret regularly; the previous one stays valid a while */
		memcpy(ike->cookie_prev, ike->cookie_secret, 32);
		if (rand_bytes(ike->cookie_secret, 32) == 0)
			ike->cookie_ver++;
		else
			memcpy(ike->cookie_secret, ike->cookie_prev, 32);
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	}
	for (struct ike_sa *t = ike->sas; t; t = t->next)
		if (t->state != ST_DEAD && sa_deadline(t) <= now)
			sa_tick(ike, t, now);
	reap(ike);
}

/* ---- API ---- */

int ike_input(struct ike *ike, const uint8_t *pkt, size_t len,
	      const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	int err;

	if (ike->cookie_rotate_at == NEVER)
		ike->cookie_rotate_at = now + COOKIE_ROTATE_MS;
	ike->st.rx++;
	err = ex_input(ike, pkt, len, local, remote, now);
	if (err) {
		ike->st.rx_dropped++;
		if (err == -EBADMSG)
			ike->st.rx_bad++;
		if (err == -EACCES)
			ike->st.rx_auth_failed++;
	}
	reap(ike);
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
	t = sa_new(ike);
	if (!t)
		return -ENOMEM;
	t->peer = p;
	t->initiator = true;
	t->local = p->local;
	t->remote = p->remote;
	t->created_ms = now;
	strcpy(t->remote_id, p->remote_id);
	err = ex_connect(ike, t, now);
	if (err) {
		t->state = ST_DEAD;
		reap(ike);
		return err;
	}
	return (int)t->id;
}

int ike_close(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	sa_close(ike, t, now);
	reap(ike);
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
	struct ike_sa *t = sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	fill_info(t, out);
	return 0;
}

static struct ike_sa *sa_by_child(struct ike *ike, uint32_t spi_in, struct ike_child **cp)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		struct ike_child *c;

		if (t->state != ST_DEAD && (c = child_by_in(t, spi_in))) {
			*cp = c;
			return t;
		}
	}
	return NULL;
}

int ike_child_rekey(struct ike *ike, uint32_t spi_in, uint64_t now)
{
	struct ike_child *c;
	struct ike_sa *t = sa_by_child(ike, spi_in, &c);

	if (!t)
		return -ENOENT;
	if (c->state != CH_UP || t->state != ST_ESTABLISHED)
		return -EBUSY;
	c->want_rekey = true;
	c->rekey_at = NEVER;
	ex_run_tasks(ike, t, now);
	reap(ike);
	return 0;
}

int ike_sa_rekey(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	if (t->state != ST_ESTABLISHED)
		return -EBUSY;
	t->pending |= P_IKE_REKEY;
	t->rekey_at = NEVER;
	ex_run_tasks(ike, t, now);
	reap(ike);
	return 0;
}

int ike_sa_dpd(struct ike *ike, uint32_t sa_id, uint64_t now)
{
	struct ike_sa *t = sa_by_id(ike, sa_id);

	if (!t)
		return -ENOENT;
	if (t->state != ST_ESTABLISHED)
		return -EBUSY;
	t->pending |= P_DPD;
	ex_run_tasks(ike, t, now);
	reap(ike);
	return 0;
}

void ike_child_activity(struct ike *ike, uint32_t spi_in, uint64_t now)
{
	struct ike_child *c;
	struct ike_sa *t = sa_by_child(ike, spi_in, &c);

	if (!t || t->state != ST_ESTABLISHED)
		return;
	t->last_heard_ms = now;
	if (t->peer && t->peer->dpd_s != UINT32_MAX && t->dpd_at != NEVER)
		t->dpd_at = now + (uint64_t)t->peer->dpd_s * 1000;
}

int ike_local_moved(struct ike *ike, const struct ike_addr *old, const struct ike_addr *now_local,
		    uint64_t now)
{
	int moved = 0;

	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->state == ST_DEAD || (old->family && !addr_eq(&t->local, old)))
			continue;
		if (addr_eq(&t->local, now_local))
			continue;
		t->local = *now_local;
		if (t->peer && !t->peer->wildcard)
			t->peer->local = *now_local;
		moved++;
		if (t->state == ST_ESTABLISHED) {
			/* RFC 4555 §3.5: tell the peer; without MOBIKE, a liveness check
			 * from the new address lets a peer that sees us behind a NAT follow */
			t->pending |= t->mobike ? P_MOBIKE : P_DPD;
			ex_run_tasks(ike, t, now);
		}
	}
	reap(ike);
	return moved;
}

int ike_peer_set_remote(struct ike *ike, const char *name, const struct ike_addr *remote, uint64_t now)
{
	struct ike_peer *p = peer_by_name(ike, name);

	if (!p)
		return -ENOENT;
	p->remote = *remote;
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->peer != p || t->state == ST_DEAD || addr_eq(&t->remote, remote))
			continue;
		if (t->state == ST_ESTABLISHED && t->mobike) {
			t->remote = *remote;
			t->pending |= P_MOBIKE;
			ex_run_tasks(ike, t, now);
		} else if (t->state == ST_INIT_SENT) {
			t->remote = *remote;
		}
	}
	reap(ike);
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
	return a == IKE_ESP_CHACHA20POLY1305 ? "chacha20poly1305" : "aes256gcm16";
}
