/*
 * The LLQ server state machine: see llq.h.
 *
 * Every LLQ sits in three indexes: by id (the 64-bit secret the client
 * echoes), by question name (to find the LLQs a change answers), and in a
 * binary min-heap ordered by its next deadline (lease expiry, challenge
 * timeout, or the earliest event retransmission).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llq/llq.h"

enum llq_state { ST_CHALLENGED, ST_LIVE };

/* Event records kept for reuse: a change seen by thousands of watchers
 * needs thousands of them at once, and again at the next change. */
#define SPARE_EVENTS_MAX 16384

struct event {
	struct event *next;
	struct llq_blob *blob;
	uint64_t due_ms;	/* next retransmission, or the drop after the last */
	uint32_t tx;		/* transmissions so far */
	uint16_t msg_id;
};

/*
 * A count of LLQs: per address and signer (owner 0: unsigned), or, with
 * family 0, per account from every address.
 */
struct client {
	struct client *next;
	uint32_t count;
	uint32_t owner;
	uint8_t family;
	uint8_t addr[16];
};

struct llq {
	struct llq *id_next;
	struct llq *name_next;
	struct llq *pend_next;	/* challenged UDP LLQs, by question and peer */
	struct llq *all_prev, *all_next;
	struct client *client;
	struct client *account;	/* signed: the account's count; NULL unsigned */
	struct event *events;
	uint64_t id;
	uint64_t expiry_ms;
	uint64_t deadline_ms;
	struct llq_peer peer;
	uint32_t heap_idx;
	uint32_t lease_s;
	uint32_t owner;
	uint32_t name_hash;
	uint32_t n_events;
	uint16_t qtype, qclass;
	uint8_t state;
	uint8_t name_len;
	uint8_t name[];		/* wire form, as the client sent it */
};

struct llq_server {
	struct llq_config cfg;
	struct llq **by_id;	/* chained, id_mask + 1 buckets */
	size_t id_mask;
	struct llq **by_name;	/* chained, name_mask + 1 buckets */
	size_t name_mask;
	struct llq **by_pend;	/* challenged LLQs by (question, peer): retransmitted setups */
	size_t pend_mask;
	struct client **clients;
	size_t client_mask;
	struct llq **heap;
	size_t heap_len, heap_cap;
	struct llq *all;	/* every LLQ, for connection close */
	size_t count;		/* pending + live */
	struct event *spare;	/* freed event records, reused before malloc */
	size_t n_spare;
	struct llq_out *outq;	/* FIFO of queued events */
	size_t out_head, out_len, out_cap;
	uint16_t next_msg_id;
	struct llq_stats st;
};

void llq_config_default(struct llq_config *c)
{
	*c = (struct llq_config){
		.lease_min_s = 900,
		.lease_max_s = 7200,
		.per_client_max = 256,
		.per_account_max = 4096,
		.global_max = 1000000,
		.servfull_retry_s = 300,
		.rto_ms = 2000,
		.max_tx = 3,
		.challenge_ms = 30000,
		.max_events = 32,
	};
}

/* ---- blobs ---- */

struct llq_blob *llq_blob_new(const void *data, size_t len)
{
	struct llq_blob *b;

	if (len > UINT32_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = (uint32_t)len;
	if (len)
		memcpy(b->data, data, len);
	return b;
}

void llq_blob_get(struct llq_blob *b)
{
	b->refs++;
}

void llq_blob_put(struct llq_blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* ---- names ---- */

int llq_name_check(const uint8_t *name, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > LLQ_NAME_MAX)
		return -EBADMSG;
	while (i < len) {
		uint8_t l = name[i];

		if (l == 0)
			return i + 1 == len ? 0 : -EBADMSG;
		if (l > 63)
			return -EBADMSG;
		i += 1u + l;
	}
	return -EBADMSG;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Names are compared as wire bytes ignoring ASCII case (RFC 4343): label
 * lengths never fall in 'A'..'Z' (they are at most 63). */
static bool name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= lower(name[i]);
		h *= 16777619u;
	}
	return h;
}

static uint32_t pend_hash(uint32_t name_hash, const struct llq_peer *p, uint16_t qtype)
{
	uint32_t h = name_hash ^ qtype;

	h = (h ^ p->family) * 16777619u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 16777619u;
	h = (h ^ (p->port >> 8)) * 16777619u;
	h = (h ^ (p->port & 0xff)) * 16777619u;
	return h;
}

/* ---- clients ---- */

/* The count key of a request: its address and signer, or (family 0) its account alone. */
static struct client client_key(const struct llq_peer *p, uint32_t owner, bool account)
{
	struct client k = { .owner = owner };

	if (!account) {
		k.family = p->family;
		memcpy(k.addr, p->addr, 16);
	}
	return k;
}

static size_t client_bucket(const struct llq_server *s, const struct client *k)
{
	uint32_t h = 2166136261u;

	h = (h ^ k->family) * 16777619u;
	for (size_t i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(k->owner >> (8 * i))) * 16777619u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h & s->client_mask;
}

static struct client *client_find(struct llq_server *s, const struct client *k)
{
	for (struct client *c = s->clients[client_bucket(s, k)]; c; c = c->next)
		if (c->family == k->family && c->owner == k->owner && memcmp(c->addr, k->addr, 16) == 0)
			return c;
	return NULL;
}

static struct client *client_ref(struct llq_server *s, const struct client *k)
{
	struct client *c = client_find(s, k);
	size_t b;

	if (c) {
		c->count++;
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = *k;
	c->count = 1;
	b = client_bucket(s, k);
	c->next = s->clients[b];
	s->clients[b] = c;
	if (c->family)
		s->st.clients++;
	else
		s->st.accounts++;
	return c;
}

static void client_unref(struct llq_server *s, struct client *c)
{
	struct client **pp;

	if (!c || --c->count)
		return;
	for (pp = &s->clients[client_bucket(s, c)]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->family)
		s->st.clients--;
	else
		s->st.accounts--;
	free(c);
}

/* ---- the deadline heap ---- */

static void heap_swap(struct llq_server *s, size_t a, size_t b)
{
	struct llq *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = (uint32_t)a;
	s->heap[b]->heap_idx = (uint32_t)b;
}

static void heap_up(struct llq_server *s, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (s->heap[parent]->deadline_ms <= s->heap[i]->deadline_ms)
			break;
		heap_swap(s, i, parent);
		i = parent;
	}
}

static void heap_down(struct llq_server *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->heap_len && s->heap[l]->deadline_ms < s->heap[m]->deadline_ms)
			m = l;
		if (r < s->heap_len && s->heap[r]->deadline_ms < s->heap[m]->deadline_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static int heap_push(struct llq_server *s, struct llq *q)
{
	if (s->heap_len == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
		struct llq **h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->heap_cap = cap;
	}
	q->heap_idx = (uint32_t)s->heap_len;
	s->heap[s->heap_len++] = q;
	heap_up(s, q->heap_idx);
	return 0;
}

static void heap_remove(struct llq_server *s, struct llq *q)
{
	size_t i = q->heap_idx, last = s->heap_len - 1;

	if (i != last) {
		heap_swap(s, i, last);
		s->heap_len--;
		heap_down(s, i);
		heap_up(s, i);
	} else {
		s->heap_len--;
	}
}

/* Recompute an LLQ's deadline after its expiry or events changed. */
static void reschedule(struct llq_server *s, struct llq *q)
{
	uint64_t d = q->expiry_ms;

	for (struct event *e = q->events; e; e = e->next)
		if (e->due_ms < d)
			d = e->due_ms;
	q->deadline_ms = d;
	heap_down(s, q->heap_idx);
	heap_up(s, q->heap_idx);
}

/* ---- the tables ---- */

static int grow(struct llq ***tab, size_t *mask, size_t want)
{
	size_t n = *mask + 1;
	struct llq **t;

	if (want <= n)
		return 0;
	while (n < want)
		n *= 2;
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*tab = t;
	*mask = n - 1;
	return 0;
}

/* Keep both tables at a load factor of at most 1. */
static int rehash(struct llq_server *s)
{
	struct llq **old_id = s->by_id, **old_name = s->by_name;
	size_t old_n = s->id_mask + 1;
	int rc;

	if (s->count < old_n)
		return 0;
	rc = grow(&s->by_id, &s->id_mask, old_n * 2);
	if (rc)
		return rc;
	rc = grow(&s->by_name, &s->name_mask, old_n * 2);
	if (rc) {
		free(s->by_id);
		s->by_id = old_id;
		s->id_mask = old_n - 1;
		return rc;
	}
	{
		struct llq **old_pend = s->by_pend, **np = calloc(old_n * 2, sizeof(*np));

		if (!np) {
			free(s->by_id);
			free(s->by_name);
			s->by_id = old_id;
			s->by_name = old_name;
			s->id_mask = s->name_mask = old_n - 1;
			return -ENOMEM;
		}
		s->by_pend = np;
		s->pend_mask = old_n * 2 - 1;
		for (size_t i = 0; i < old_n; i++) {
			struct llq *q, *next;

			for (q = old_pend[i]; q; q = next) {
				uint32_t h = pend_hash(q->name_hash, &q->peer, q->qtype);

				next = q->pend_next;
				q->pend_next = s->by_pend[h & s->pend_mask];
				s->by_pend[h & s->pend_mask] = q;
			}
		}
		free(old_pend);
	}
	for (size_t i = 0; i < old_n; i++) {
		struct llq *q, *next;

		for (q = old_id[i]; q; q = next) {
			next = q->id_next;
			q->id_next = s->by_id[q->id & s->id_mask];
			s->by_id[q->id & s->id_mask] = q;
		}
		for (q = old_name[i]; q; q = next) {
			next = q->name_next;
			q->name_next = s->by_name[q->name_hash & s->name_mask];
			s->by_name[q->name_hash & s->name_mask] = q;
		}
	}
	free(old_id);
	free(old_name);
	return 0;
}

static struct llq *find_id(const struct llq_server *s, uint64_t id)
{
	for (struct llq *q = s->by_id[id & s->id_mask]; q; q = q->id_next)
		if (q->id == id)
			return q;
	return NULL;
}

static struct event *event_alloc(struct llq_server *s)
{
	struct event *e = s->spare;

	if (!e)
		return malloc(sizeof(*e));
	s->spare = e->next;
	s->n_spare--;
	return e;
}

/* Drop the event's blob and keep or free the record. */
static void event_free(struct llq_server *s, struct event *e)
{
	llq_blob_put(e->blob);
	if (s->n_spare < SPARE_EVENTS_MAX) {
		e->next = s->spare;
		s->spare = e;
		s->n_spare++;
	} else {
		free(e);
	}
}

static void free_events(struct llq_server *s, struct llq *q)
{
	struct event *e, *next;

	for (e = q->events; e; e = next) {
		next = e->next;
		event_free(s, e);
	}
	q->events = NULL;
	q->n_events = 0;
}

static void pend_unlink(struct llq_server *s, struct llq *q)
{
	struct llq **pp = &s->by_pend[pend_hash(q->name_hash, &q->peer, q->qtype) & s->pend_mask];

	for (; *pp; pp = &(*pp)->pend_next) {
		if (*pp == q) {
			*pp = q->pend_next;
			q->pend_next = NULL;
			return;
		}
	}
}

static void llq_remove(struct llq_server *s, struct llq *q)
{
	struct llq **pp;

	if (q->state == ST_CHALLENGED && q->peer.conn == 0)
		pend_unlink(s, q);

	for (pp = &s->by_id[q->id & s->id_mask]; *pp; pp = &(*pp)->id_next)
		if (*pp == q) {
			*pp = q->id_next;
			break;
		}
	for (pp = &s->by_name[q->name_hash & s->name_mask]; *pp; pp = &(*pp)->name_next)
		if (*pp == q) {
			*pp = q->name_next;
			break;
		}
	if (q->all_prev)
		q->all_prev->all_next = q->all_next;
	else
		s->all = q->all_next;
	if (q->all_next)
		q->all_next->all_prev = q->all_prev;
	heap_remove(s, q);
	client_unref(s, q->client);
	client_unref(s, q->account);
	if (q->state == ST_LIVE)
		s->st.live--;
	else
		s->st.pending--;
	s->count--;
	free_events(s, q);
	free(q);
}

static uint32_t clamp_lease(const struct llq_config *c, uint32_t want)
{
	/* A request with no preference (0 in a setup) gets the longest lease. */
	if (want == 0 || want > c->lease_max_s)
		return c->lease_max_s;
	if (want < c->lease_min_s)
		return c->lease_min_s;
	return want;
}

static struct llq *llq_add(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
			   int *err)
{
	struct llq *q;
	size_t b;

	*err = rehash(s);
	if (*err)
		return NULL;
	q = calloc(1, sizeof(*q) + rq->q.name_len);
	if (!q) {
		*err = -ENOMEM;
		return NULL;
	}
	{
		struct client kc = client_key(&rq->peer, rq->owner, false),
			      ka = client_key(&rq->peer, rq->owner, true);

		q->client = client_ref(s, &kc);
		q->account = q->client && rq->owner ? client_ref(s, &ka) : NULL;
	}
	if (!q->client || (rq->owner && !q->account)) {
		client_unref(s, q->client);
		free(q);
		*err = -ENOMEM;
		return NULL;
	}
	q->deadline_ms = UINT64_MAX;
	if (heap_push(s, q)) {
		client_unref(s, q->client);
		client_unref(s, q->account);
		free(q);
		*err = -ENOMEM;
		return NULL;
	}
	q->id = rq->new_id;
	q->peer = rq->peer;
	q->owner = rq->owner;
	q->qtype = rq->q.qtype;
	q->qclass = rq->q.qclass;
	q->name_len = rq->q.name_len;
	memcpy(q->name, rq->q.name, rq->q.name_len);
	q->name_hash = name_hash(q->name, q->name_len);
	q->lease_s = clamp_lease(&s->cfg, rq->lease_s);
	(void)now_ms;

	q->id_next = s->by_id[q->id & s->id_mask];
	s->by_id[q->id & s->id_mask] = q;
	b = q->name_hash & s->name_mask;
	q->name_next = s->by_name[b];
	s->by_name[b] = q;
	q->all_next = s->all;
	if (s->all)
		s->all->all_prev = q;
	s->all = q;
	s->count++;
	return q;
}

static void set_live(struct llq_server *s, struct llq *q, uint64_t now_ms)
{
	if (q->state != ST_LIVE && q->peer.conn == 0)
		pend_unlink(s, q);
	if (q->state != ST_LIVE) {
		q->state = ST_LIVE;
		s->st.pending--;
		s->st.live++;
		s->st.established++;
	}
	q->expiry_ms = now_ms + (uint64_t)q->lease_s * 1000;
	reschedule(s, q);
}

static bool same_question(const struct llq *q, const struct llq_question *x)
{
	return q->qtype == x->qtype && q->qclass == x->qclass &&
	       name_eq(q->name, q->name_len, x->name, x->name_len);
}

static bool same_peer(const struct llq_peer *a, const struct llq_peer *b)
{
	return a->family == b->family && a->port == b->port && a->conn == b->conn &&
	       a->local == b->local && memcmp(a->addr, b->addr, 16) == 0;
}

static void reply_set(struct llq_reply *r, enum llq_reply_kind kind, uint16_t op, uint16_t err,
		      uint64_t id, uint32_t lease)
{
	*r = (struct llq_reply){ .kind = kind, .opcode = op, .error = err, .id = id, .lease_s = lease };
}

static uint32_t remaining_s(const struct llq *q, uint64_t now_ms)
{
	return q->expiry_ms > now_ms ? (uint32_t)((q->expiry_ms - now_ms + 999) / 1000) : 0;
}

/* RFC 8764 §5.2: an initial setup request (id 0). */
static int handle_setup_new(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
			    struct llq_reply *r)
{
	struct client kc = client_key(&rq->peer, rq->owner, false),
		      ka = client_key(&rq->peer, rq->owner, true);
	struct client *c = client_find(s, &kc), *a = rq->owner ? client_find(s, &ka) : NULL;
	bool stream = rq->peer.conn != 0;
	struct llq *q;
	int err;

	s->st.setups++;
	if (!stream) {
		/* A retransmitted request gets the challenge it already has. */
		uint32_t h = pend_hash(name_hash(rq->q.name, rq->q.name_len), &rq->peer, rq->q.qtype);

		for (q = s->by_pend[h & s->pend_mask]; q; q = q->pend_next) {
			if (q->state == ST_CHALLENGED && same_peer(&q->peer, &rq->peer) &&
			    same_question(q, &rq->q)) {
				reply_set(r, LLQ_REPLY_CHALLENGE, LLQ_OP_SETUP, LLQ_ERR_NOERROR, q->id,
					  q->lease_s);
				s->st.challenges++;
				return 0;
			}
		}
	}
	/* an address's unsigned LLQs and an account's signed ones are counted
	 * apart, so a spoofed flood of unsigned setups from an address leaves
	 * what the account may set up from there untouched */
	if (rq->shed || s->count >= s->cfg.global_max || (c && c->count >= s->cfg.per_client_max) ||
	    (a && a->count >= s->cfg.per_account_max)) {
		/* RFC 8764 §5.2.2: SERV-FULL, its LEASE-LIFE saying when to try again */
		s->st.servfull++;
		reply_set(r, LLQ_REPLY_PLAIN, LLQ_OP_SETUP, LLQ_ERR_SERVFULL, 0,
			  rq->servfull_retry_s ? rq->servfull_retry_s : s->cfg.servfull_retry_s);
		return 0;
	}
	if (rq->new_id == 0 || find_id(s, rq->new_id))
		return -EEXIST;
	q = llq_add(s, rq, now_ms, &err);
	if (!q)
		return err;
	s->st.pending++;
	if (stream) {
		/* Over TCP and TLS the client is known to be reachable: no
		 * challenge round, as Apple's client expects. */
		set_live(s, q, now_ms);
		reply_set(r, LLQ_REPLY_ANSWERS, LLQ_OP_SETUP, LLQ_ERR_NOERROR, q->id, q->lease_s);
		return 0;
	}
	q->expiry_ms = now_ms + s->cfg.challenge_ms;
	reschedule(s, q);
	{
		uint32_t h = pend_hash(q->name_hash, &q->peer, q->qtype) & (uint32_t)s->pend_mask;

		q->pend_next = s->by_pend[h];
		s->by_pend[h] = q;
	}
	s->st.challenges++;
	reply_set(r, LLQ_REPLY_CHALLENGE, LLQ_OP_SETUP, LLQ_ERR_NOERROR, q->id, q->lease_s);
	return 0;
}

/* RFC 8764 §5.2.3: a challenge response (setup with the id we gave). */
static int handle_setup_id(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
			   struct llq_reply *r)
{
	struct llq *q = find_id(s, rq->id);

	/* The challenge proves that the requester receives at the address it
	 * was sent to (RFC 8764 §5.2.2); a response from anywhere else proves
	 * nothing and would let whoever knows the id point the LLQ's events at
	 * a victim (reflection). So an LLQ is bound to the peer that was
	 * challenged, and a response from another peer is treated as for an
	 * unknown id. */
	if (!q || !same_question(q, &rq->q) || q->owner != rq->owner ||
	    !same_peer(&q->peer, &rq->peer)) {
		s->st.nosuchllq++;
		if (q && !same_peer(&q->peer, &rq->peer))
			s->st.wrong_peer++;
		reply_set(r, LLQ_REPLY_PLAIN, LLQ_OP_SETUP, LLQ_ERR_NOSUCHLLQ, rq->id, 0);
		return 0;
	}
	if (q->state == ST_CHALLENGED) {
		/* The lease was offered in the challenge; the client may ask again. */
		if (rq->lease_s)
			q->lease_s = clamp_lease(&s->cfg, rq->lease_s);
		set_live(s, q, now_ms);	/* leaves the pending index */
	}
	/* A repeated challenge response (our ACK was lost) gets the ACK again. */
	reply_set(r, LLQ_REPLY_ANSWERS, LLQ_OP_SETUP, LLQ_ERR_NOERROR, q->id, remaining_s(q, now_ms));
	return 0;
}

/* RFC 8764 §7: refresh, or cancel with a lease of 0. */
static int handle_refresh(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
			  struct llq_reply *r)
{
	struct llq *q = find_id(s, rq->id);

	/* A refresh (or cancel) counts only from the peer the LLQ is bound to.
	 * A host that moved gets NO-SUCH-LLQ at its new address and sets up
	 * again, through a new challenge there (RFC 8764 §7.1 leaves the
	 * client to do so); its old LLQ runs out at the old address. Moving an
	 * LLQ on a bare refresh would let an account holder aim events at any
	 * address with a spoofed source. */
	if (!q || q->state != ST_LIVE || q->owner != rq->owner || !same_peer(&q->peer, &rq->peer)) {
		s->st.nosuchllq++;
		if (q && q->state == ST_LIVE && !same_peer(&q->peer, &rq->peer))
			s->st.wrong_peer++;
		reply_set(r, LLQ_REPLY_PLAIN, LLQ_OP_REFRESH, LLQ_ERR_NOSUCHLLQ, rq->id, 0);
		return 0;
	}
	if (rq->lease_s == 0) {
		s->st.cancels++;
		llq_remove(s, q);
		reply_set(r, LLQ_REPLY_PLAIN, LLQ_OP_REFRESH, LLQ_ERR_NOERROR, rq->id, 0);
		return 0;
	}
	s->st.refreshes++;
	q->lease_s = clamp_lease(&s->cfg, rq->lease_s);
	q->expiry_ms = now_ms + (uint64_t)q->lease_s * 1000;
	reschedule(s, q);
	reply_set(r, LLQ_REPLY_PLAIN, LLQ_OP_REFRESH, LLQ_ERR_NOERROR, q->id, q->lease_s);
	return 0;
}

/* RFC 8764 §6.2: the client acknowledges an event with a response echoing
 * the event's message id and the LLQ id. */
static int handle_ack(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
		      struct llq_reply *r)
{
	struct llq *q = find_id(s, rq->id);
	struct event **pp;

	(void)now_ms;
	reply_set(r, LLQ_REPLY_NONE, LLQ_OP_EVENT, LLQ_ERR_NOERROR, rq->id, 0);
	if (!q)
		return 0;
	for (pp = &q->events; *pp; pp = &(*pp)->next) {
		struct event *e = *pp;

		if (e->msg_id == rq->msg_id) {
			*pp = e->next;
			event_free(s, e);
			q->n_events--;
			s->st.acks++;
			reschedule(s, q);
			break;
		}
	}
	return 0;
}

int llq_server_handle(struct llq_server *s, const struct llq_request *rq, uint64_t now_ms,
		      struct llq_reply *reply)
{
	if (rq->is_response) {
		if (rq->opcode == LLQ_OP_EVENT)
			return handle_ack(s, rq, now_ms, reply);
		/* responses are never answered */
		reply_set(reply, LLQ_REPLY_NONE, rq->opcode, LLQ_ERR_NOERROR, rq->id, 0);
		return 0;
	}
	if (rq->version != LLQ_VERSION) {
		s->st.badvers++;
		reply_set(reply, LLQ_REPLY_PLAIN, rq->opcode, LLQ_ERR_BADVERS, rq->id, 0);
		return 0;
	}
	if (rq->opcode != LLQ_OP_EVENT &&
	    (llq_name_check(rq->q.name, rq->q.name_len) || (rq->peer.family != 4 && rq->peer.family != 6))) {
		s->st.formerr++;
		reply_set(reply, LLQ_REPLY_PLAIN, rq->opcode, LLQ_ERR_FORMERR, rq->id, 0);
		return 0;
	}
	switch (rq->opcode) {
	case LLQ_OP_SETUP:
		if (rq->id == 0)
			return handle_setup_new(s, rq, now_ms, reply);
		return handle_setup_id(s, rq, now_ms, reply);
	case LLQ_OP_REFRESH:
		return handle_refresh(s, rq, now_ms, reply);
	default:
		/* an event is a response; as a query it is malformed */
		s->st.formerr++;
		reply_set(reply, LLQ_REPLY_PLAIN, rq->opcode, LLQ_ERR_FORMERR, rq->id, 0);
		return 0;
	}
}

/* ---- events ---- */

static int out_push(struct llq_server *s, const struct llq *q, const struct event *e, uint64_t now_ms)
{
	struct llq_out *o;

	if (s->out_head + s->out_len == s->out_cap) {
		if (s->out_head > 0) {
			memmove(s->outq, s->outq + s->out_head, s->out_len * sizeof(*s->outq));
			s->out_head = 0;
		}
		if (s->out_len == s->out_cap) {
			size_t cap = s->out_cap ? s->out_cap * 2 : 64;
			struct llq_out *n = realloc(s->outq, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			s->outq = n;
			s->out_cap = cap;
		}
	}
	o = &s->outq[s->out_head + s->out_len++];
	o->peer = q->peer;
	memcpy(o->q.name, q->name, q->name_len);
	o->q.name_len = q->name_len;
	o->q.qtype = q->qtype;
	o->q.qclass = q->qclass;
	o->msg_id = e->msg_id;
	o->id = q->id;
	o->lease_s = remaining_s(q, now_ms);
	o->owner = q->owner;
	o->tx = e->tx;
	o->blob = e->blob;
	llq_blob_get(e->blob);
	return 0;
}

static bool answers(const struct llq *q, uint16_t type, uint16_t cls)
{
	/* RFC 1035 §3.2.3/§3.2.5: QTYPE ANY (255) and QCLASS ANY (255) match all */
	return (q->qtype == type || q->qtype == 255) && (q->qclass == cls || q->qclass == 255);
}

static int send_event(struct llq_server *s, struct llq *q, struct llq_blob *blob, uint64_t now_ms)
{
	struct event ev = { .blob = blob, .tx = 1, .due_ms = now_ms + s->cfg.rto_ms }, *e;

	if (q->peer.conn == 0 && q->n_events >= s->cfg.max_events) {
		/* A client this far behind is not listening. */
		s->st.dropped_overflow++;
		llq_remove(s, q);
		return 0;
	}
	/* A stream delivers in order or the connection dies: no record for
	 * retransmission (a late ack is simply ignored). */
	e = q->peer.conn == 0 ? event_alloc(s) : &ev;
	if (!e)
		return -ENOMEM;
	ev.msg_id = s->next_msg_id++;
	*e = ev;
	if (out_push(s, q, e, now_ms)) {
		if (e != &ev) {
			e->blob = NULL;
			event_free(s, e);
		}
		return -ENOMEM;
	}
	s->st.events++;
	if (e == &ev)
		return 1;
	llq_blob_get(blob);
	e->next = q->events;
	q->events = e;
	q->n_events++;
	reschedule(s, q);
	return 1;
}

int llq_server_notify(struct llq_server *s, const uint8_t *name, size_t name_len,
		      uint16_t rrtype, uint16_t rrclass, struct llq_blob *blob, uint64_t now_ms)
{
	uint32_t h;
	struct llq *q, *next;
	int n = 0, rc;

	if (llq_name_check(name, name_len))
		return 0;
	h = name_hash(name, name_len);
	for (q = s->by_name[h & s->name_mask]; q; q = next) {
		next = q->name_next;	/* send_event may remove q */
		if (q->state != ST_LIVE || q->name_hash != h || !answers(q, rrtype, rrclass) ||
		    !name_eq(q->name, q->name_len, name, name_len) || q->expiry_ms <= now_ms)
			continue;
		rc = send_event(s, q, blob, now_ms);
		if (rc < 0)
			return rc;
		n += rc;
	}
	return n;
}

void llq_server_conn_closed(struct llq_server *s, uint64_t conn)
{
	struct llq *q, *next;

	if (conn == 0)
		return;
	for (q = s->all; q; q = next) {
		next = q->all_next;
		if (q->peer.conn == conn) {
			s->st.conn_closed++;
			llq_remove(s, q);
		}
	}
}

/* One LLQ's deadline has come: expire it, or retransmit or give up on its events. */
static void run_due(struct llq_server *s, struct llq *q, uint64_t now_ms)
{
	struct event *e;

	if (q->expiry_ms <= now_ms) {
		if (q->state == ST_LIVE)
			s->st.expired++;
		else
			s->st.challenge_expired++;
		llq_remove(s, q);
		return;
	}
	for (e = q->events; e; e = e->next) {
		if (e->due_ms > now_ms)
			continue;
		if (e->tx >= s->cfg.max_tx) {
			/* RFC 6281 §5.3: after 3 transmissions the client is
			 * considered unreachable and the LLQ is deleted. */
			s->st.dropped_unacked++;
			llq_remove(s, q);
			return;
		}
		/* exponential back-off: rto, 2 rto, 4 rto ... after each transmission */
		e->due_ms = now_ms + ((uint64_t)s->cfg.rto_ms << e->tx);
		e->tx++;
		s->st.retransmits++;
		if (out_push(s, q, e, now_ms)) {
			/* no memory to queue it: try again at the next tick */
			e->tx--;
			e->due_ms = now_ms + 1;
		}
	}
	reschedule(s, q);
}

void llq_server_tick(struct llq_server *s, uint64_t now_ms)
{
	/* Each LLQ whose deadline passed moves its deadline forward or goes, so
	 * the loop ends; bound it anyway by the table size. */
	size_t budget = s->count + 1;

	while (s->heap_len && s->heap[0]->deadline_ms <= now_ms && budget--)
		run_due(s, s->heap[0], now_ms);
}

uint64_t llq_server_next_deadline(const struct llq_server *s)
{
	return s->heap_len ? s->heap[0]->deadline_ms : UINT64_MAX;
}

bool llq_server_pop(struct llq_server *s, struct llq_out *out)
{
	if (s->out_len == 0)
		return false;
	*out = s->outq[s->out_head++];
	if (--s->out_len == 0)
		s->out_head = 0;
	return true;
}

void llq_server_stats(const struct llq_server *s, struct llq_stats *st)
{
	*st = s->st;
}

bool llq_server_has(const struct llq_server *s, uint64_t id)
{
	const struct llq *q = find_id(s, id);

	return q && q->state == ST_LIVE;
}

struct llq_server *llq_server_new(const struct llq_config *cfg)
{
	struct llq_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.lease_min_s == 0)
		s->cfg.lease_min_s = 1;
	if (s->cfg.lease_max_s < s->cfg.lease_min_s)
		s->cfg.lease_max_s = s->cfg.lease_min_s;
	if (s->cfg.max_tx == 0)
		s->cfg.max_tx = 1;
	if (s->cfg.max_tx > 16)
		s->cfg.max_tx = 16;	/* keeps rto << tx in range */
	s->id_mask = s->name_mask = s->client_mask = 63;
	s->by_id = calloc(64, sizeof(*s->by_id));
	s->by_name = calloc(64, sizeof(*s->by_name));
	s->by_pend = calloc(64, sizeof(*s->by_pend));
	s->pend_mask = 63;
	s->clients = calloc(1024, sizeof(*s->clients));
	s->client_mask = 1023;
	if (!s->by_id || !s->by_name || !s->by_pend || !s->clients) {
		llq_server_free(s);
		return NULL;
	}
	return s;
}

void llq_server_free(struct llq_server *s)
{
	struct llq_out o;

	if (!s)
		return;
	while (s->all)
		llq_remove(s, s->all);
	while (llq_server_pop(s, &o))
		llq_blob_put(o.blob);
	while (s->spare) {
		struct event *e = s->spare;

		s->spare = e->next;
		free(e);
	}
	free(s->outq);
	free(s->heap);
	free(s->by_id);
	free(s->by_name);
	free(s->by_pend);
	free(s->clients);
	free(s);
}
