/* The event queue of lib/ike (event.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ike/event.h"

static struct ike_evq *push(struct ike *ike, enum ike_event_type type, const struct ike_sa *t)
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

void ike_event_send(struct ike *ike, const struct ike_sa *t, const struct ike_addr *local,
		    const struct ike_addr *remote, const uint8_t *data, size_t len)
{
	struct ike_evq *q;
	uint8_t *copy = malloc(len);

	if (!copy)
		return;
	q = push(ike, IKE_EV_SEND, t);
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

void ike_event_sa_info(const struct ike_sa *t, struct ike_sa_info *in)
{
	const struct ike_xsa *x = &t->x[t->cur];

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
	memcpy(in->peer_addrs, t->peer_addrs, sizeof(in->peer_addrs));
	in->n_peer_addrs = t->n_peer_addrs;
	in->cert = t->peer && t->peer->cred;
	in->dh_group = x->dh_group;
	switch (x->prf) {
	case IKE_PRF_ID_HMAC_SHA2_256: in->prf = IKE_PRF_HMAC_SHA256; break;
	case IKE_PRF_ID_HMAC_SHA2_384: in->prf = IKE_PRF_HMAC_SHA384; break;
	case IKE_PRF_ID_HMAC_SHA2_512: in->prf = IKE_PRF_HMAC_SHA512; break;
	}
	if (x->encr == IKE_ENCR_ID_AES_CBC)
		in->encr = x->keylen == 128 ? IKE_ENCR_AES128CBC_SHA256 : IKE_ENCR_AES256CBC_SHA256;
	else if (x->encr)
		in->encr = x->keylen == 128 ? IKE_ENCR_AES128GCM16 : IKE_ENCR_AES256GCM16;
	else
		in->encr = 0;
	in->established_ms = t->established_ms;
	in->last_heard_ms = t->last_heard_ms;
	in->ike_spi_i = x->spi_i;
	in->ike_spi_r = x->spi_r;
}

void ike_event_sa(struct ike *ike, const struct ike_sa *t, enum ike_event_type type)
{
	struct ike_evq *q = push(ike, type, t);

	if (q)
		ike_event_sa_info(t, &q->ev.up);
	if (type == IKE_EV_SA_UP)
		ike->st.sa_up++;
}

void ike_event_sa_down(struct ike *ike, const struct ike_sa *t, enum ike_down_reason r, uint16_t notify)
{
	struct ike_evq *q = push(ike, IKE_EV_SA_DOWN, t);

	if (q) {
		q->ev.down.reason = r;
		q->ev.down.notify = notify;
		strcpy(q->ev.down.remote_id, t->remote_id);
	}
	ike->st.sa_down++;
}

/* Split one direction's KEYMAT (RFC 7296 §2.17: encryption key, then salt or integrity key). */
static void child_info_keys(enum ike_esp_alg alg, const uint8_t *km, uint8_t key[32], uint8_t salt[4],
			    uint8_t integ[32])
{
	switch (alg) {
	case IKE_ESP_AES128GCM16:
		memcpy(key, km, 16);
		memcpy(salt, km + 16, 4);	/* RFC 4106 §8.1 */
		break;
	case IKE_ESP_AES128CBC_SHA256:
		memcpy(key, km, 16);
		memcpy(integ, km + 16, 32);
		break;
	case IKE_ESP_AES256CBC_SHA256:
		memcpy(key, km, 32);
		memcpy(integ, km + 32, 32);
		break;
	case IKE_ESP_AES256GCM16:
	case IKE_ESP_CHACHA20POLY1305:
		memcpy(key, km, 32);
		memcpy(salt, km + 32, 4);
		break;
	}
}

void ike_event_child_up(struct ike *ike, const struct ike_sa *t, const struct ike_child *c, bool deferred)
{
	struct ike_evq *q;
	struct ike_child_info *ci;

	if (t->reported)
		return;		/* the daemon has been told this tunnel is gone */
	q = push(ike, IKE_EV_CHILD_UP, t);
	ike->st.child_up++;
	if (!q)
		return;
	ci = &q->ev.child_up.child;
	ci->spi_in = c->spi_in;
	ci->spi_out = c->spi_out;
	ci->alg = c->alg;
	ci->esn = c->esn;
	child_info_keys(c->alg, c->key_in, ci->key_in, ci->salt_in, ci->integ_key_in);
	child_info_keys(c->alg, c->key_out, ci->key_out, ci->salt_out, ci->integ_key_out);
	ci->ts_local = c->ts_l;
	ci->ts_remote = c->ts_r;
	ci->replaces = c->rekeyed_from;
	ci->send_deferred = deferred;
	q->ev.child_up.local = t->local;
	q->ev.child_up.remote = t->remote;
	q->ev.child_up.nat = t->nat_local || t->nat_remote;
}

void ike_event_child_down(struct ike *ike, const struct ike_sa *t, const struct ike_child *c)
{
	struct ike_evq *q;

	if (t->reported)
		return;
	q = push(ike, IKE_EV_CHILD_DOWN, t);
	ike->st.child_down++;
	if (q) {
		q->ev.child_down.spi_in = c->spi_in;
		q->ev.child_down.spi_out = c->spi_out;
	}
}

bool ike_event_pop(struct ike *ike, struct ike_event *ev)
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

void ike_event_flush(struct ike *ike)
{
	while (ike->evq_head) {
		struct ike_evq *q = ike->evq_head;

		ike->evq_head = q->next;
		free(q->data);
		OPENSSL_cleanse(&q->ev, sizeof(q->ev));
		free(q);
	}
	ike->evq_tail = NULL;
	free(ike->polled);
	ike->polled = NULL;
}
