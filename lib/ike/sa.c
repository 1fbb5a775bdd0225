/* The store of lib/ike: tunnels, IKE SAs, child SAs, SPIs (sa.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "ike/event.h"
#include "ike/sa.h"

/* ---- tunnels ---- */

struct ike_sa *ike_sa_new(struct ike *ike)
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
	t->rekey_at = t->dpd_at = t->half_open_expire = IKE_NEVER;
	t->next = ike->sas;
	ike->sas = t;
	ike->st.sas++;
	return t;
}

void ike_sa_free(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_XSA; i++)
		ike_xsa_free(&t->x[i]);
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		ike_child_free(&t->child[i]);
	ike_dh_fini(&t->dh);
	free(t->init_req);
	free(t->init_resp);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

void ike_sa_reap(struct ike *ike)
{
	struct ike_sa **tp = &ike->sas;

	while (*tp) {
		struct ike_sa *t = *tp;

		if (t->state == ST_DEAD) {
			*tp = t->next;
			ike->st.sas--;
			ike_sa_free(t);
		} else {
			tp = &t->next;
		}
	}
}

struct ike_xsa *ike_sa_cur(struct ike_sa *t)
{
	return &t->x[t->cur];
}

struct ike_sa *ike_sa_by_id(const struct ike *ike, uint32_t id)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next)
		if (t->id == id && t->state != ST_DEAD && !t->reported)
			return t;
	return NULL;
}

struct ike_sa *ike_sa_by_child(struct ike *ike, uint32_t spi_in, struct ike_child **cp)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		struct ike_child *c;

		if (t->state != ST_DEAD && (c = ike_child_by_in(t, spi_in))) {
			*cp = c;
			return t;
		}
	}
	return NULL;
}

void ike_sa_report_down(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	if (t->reported || t->state == ST_DEAD)
		return;
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used)
			ike_child_down(ike, t, &t->child[i]);
	/* a half-open SA the daemon never heard of goes quietly, unless authentication failed */
	if (t->initiator || t->state != ST_HALF_OPEN || r == IKE_DOWN_AUTH_FAILED)
		ike_event_sa_down(ike, t, r, notify);
	t->reported = true;
}

void ike_sa_kill(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	if (t->state == ST_DEAD)
		return;
	ike_sa_report_down(ike, t, r, notify);
	if (t->state == ST_HALF_OPEN && ike->st.half_open)
		ike->st.half_open--;
	t->state = ST_DEAD;
	if (!t->down_reason) {
		t->down_reason = r;
		t->down_notify = notify;
	}
}

void ike_sa_schedule(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_peer *p = t->peer;

	if (!p)
		return;
	t->rekey_at = now + ike_rng_jitter(&ike->rng, (uint64_t)p->ike_life_s * 1000);
	t->dpd_at = p->dpd_s == UINT32_MAX ? IKE_NEVER : now + (uint64_t)p->dpd_s * 1000;
}

/* ---- IKE SAs ---- */

struct ike_xsa *ike_xsa_new(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_XSA; i++)
		if (!t->x[i].used) {
			memset(&t->x[i], 0, sizeof(t->x[i]));
			t->x[i].used = true;
			t->x[i].expire = IKE_NEVER;
			return &t->x[i];
		}
	return NULL;
}

void ike_req_clear(struct ike_req *r)
{
	free(r->msg);
	ike_dh_fini(&r->dh);
	OPENSSL_cleanse(r, sizeof(*r));
}

void ike_xsa_free(struct ike_xsa *x)
{
	ike_req_clear(&x->req);
	free(x->resp);
	OPENSSL_cleanse(x, sizeof(*x));
}

uint64_t ike_xsa_spi_new(struct ike *ike)
{
	for (;;) {
		uint64_t spi = 0;
		bool used = false;

		if (ike_rng_bytes(&ike->rng, &spi, sizeof(spi)) || spi == 0)
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

/* ---- child SAs ---- */

struct ike_child *ike_child_new(struct ike_sa *t)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (!t->child[i].used) {
			memset(&t->child[i], 0, sizeof(t->child[i]));
			t->child[i].used = true;
			t->child[i].rekey_at = t->child[i].expire = IKE_NEVER;
			return &t->child[i];
		}
	return NULL;
}

void ike_child_free(struct ike_child *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

void ike_child_down(struct ike *ike, struct ike_sa *t, struct ike_child *c)
{
	ike_event_child_down(ike, t, c);
	ike_child_free(c);
}

struct ike_child *ike_child_by_in(struct ike_sa *t, uint32_t spi_in)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used && t->child[i].spi_in == spi_in)
			return &t->child[i];
	return NULL;
}

struct ike_child *ike_child_by_out(struct ike_sa *t, uint32_t spi_out)
{
	for (int i = 0; i < IKE_MAX_CHILD; i++)
		if (t->child[i].used && t->child[i].spi_out == spi_out)
			return &t->child[i];
	return NULL;
}

static bool spi_in_used(struct ike *ike, uint32_t spi)
{
	for (struct ike_sa *t = ike->sas; t; t = t->next) {
		if (t->first_spi_in == spi || ike_child_by_in(t, spi))
			return true;
		for (int i = 0; i < IKE_MAX_XSA; i++)
			if (t->x[i].used && t->x[i].req.child_new == spi)
				return true;
	}
	return false;
}

uint32_t ike_child_spi_new(struct ike *ike, struct ike_peer *p)
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

		/*
		 * SPIs 0..255 are reserved (RFC 4303 §2.1). Ours also start
		 * with a byte of 0x50 or more, so that stun_demux_classify()
		 * never takes our ESP for STUN or TURN ChannelData on the
		 * shared UDP 4500 socket (RFC 7983 §7, docs/stun.md); drawing
		 * again keeps the choice uniform over what remains.
		 */
		if (ike_rng_bytes(&ike->rng, &spi, sizeof(spi)) == 0 && spi >= IKE_CHILD_SPI_MIN &&
		    !spi_in_used(ike, spi))
			return spi;
	}
}

/* ---- peers ---- */

struct ike_peer *ike_peer_by_id(struct ike *ike, const uint8_t *id, size_t len)
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
