/*
 * lib/ike state machine: two instances of the library talk to each other in
 * memory, with a fake clock. Every packet one sends is handed to the other
 * (or dropped, duplicated or held back by the test); every other event is
 * recorded and checked.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ike/ike.h"
#include "ike/internal.h"
#include "ike/msg.h"
#include "util/random.h"
#include "test_ike_cert_util.h"

#define MAXEV 256
#define MAXCH 32

struct side {
	struct ike *ike;
	struct ike_addr addr;		/* where it listens */
	const char *name;		/* "A" or "B" */
	/* what the daemon would know */
	struct ike_child_info ch[MAXCH];
	bool ch_up[MAXCH];
	int nch;
	int sa_up, sa_down, moved, child_up, child_down;
	enum ike_down_reason last_down;
	uint16_t last_down_notify;
	char last_down_id[IKE_MAX_ID + 1];
	struct ike_addr moved_local, moved_remote;
	uint32_t last_sa;
};

struct net {
	struct side a, b;
	uint64_t now;
	/* packet filter: return false to drop */
	bool (*filter)(struct net *n, struct side *from, const uint8_t *pkt, size_t len);
	int dropped, delivered;
	/* held packets (to reorder or cross them) */
	struct held { struct side *to; struct ike_addr local, remote; uint8_t *data; size_t len; } held[16];
	int nheld;
	bool hold;			/* hold instead of delivering */
	/* NAT between a and b: rewrites a's source address as b sees it */
	bool nat_a;
	struct ike_addr a_public;
};

static const uint8_t psk[] = "correct horse battery staple";

/* The random source every instance gets here: the system's CSPRNG. */
/* When set, every other 4-byte draw (an SPI's size) is a value below IKE_CHILD_SPI_MIN. */
static bool low_spi_draws;

static int test_random(void *arg, void *buf, size_t len)
{
	static bool flip;

	(void)arg;
	if (low_spi_draws && len == 4 && (flip = !flip)) {
		uint32_t v;
		int err = rand_bytes(&v, sizeof(v));

		v = 0x100 + v % (IKE_CHILD_SPI_MIN - 0x100);
		memcpy(buf, &v, 4);
		return err;
	}
	return rand_bytes(buf, len);
}

static struct ike_addr addr4(const char *ip, uint16_t port)
{
	struct ike_addr a = { .family = AF_INET, .port = port };

	inet_pton(AF_INET, ip, a.ip);
	return a;
}

static struct ike_ts ts6(const char *ip)
{
	struct ike_ts t = { .family = AF_INET6, .port_hi = 65535 };

	inet_pton(AF_INET6, ip, t.start);
	memcpy(t.end, t.start, 16);
	return t;
}

static struct ike_ts ts6_range(const char *lo, const char *hi)
{
	struct ike_ts t = { .family = AF_INET6, .port_hi = 65535 };

	inet_pton(AF_INET6, lo, t.start);
	inet_pton(AF_INET6, hi, t.end);
	return t;
}

static void record(struct net *n, struct side *s, const struct ike_event *ev);
static void deliver(struct net *n, struct side *to, const struct ike_addr *local, const struct ike_addr *remote,
		    const uint8_t *data, size_t len);

static struct side *other(struct net *n, struct side *s) { return s == &n->a ? &n->b : &n->a; }

/* Drain the events of @p s; packets go to the other side. */
static int drain(struct net *n, struct side *s)
{
	struct ike_event ev;
	int k = 0;

	while (ike_poll(s->ike, &ev)) {
		k++;
		if (ev.type != IKE_EV_SEND) {
			record(n, s, &ev);
			continue;
		}
		struct side *o = other(n, s);
		struct ike_addr src = ev.send.local, dst = ev.send.remote;

		assert_true(ev.send.len >= IKE_HDR_LEN);
		if (n->filter && !n->filter(n, s, ev.send.data, ev.send.len)) {
			n->dropped++;
			continue;
		}
		/* the NAT in front of A: A's packets leave from its public address, and packets to that address reach A */
		if (n->nat_a && s == &n->a)
			src = n->a_public;
		if (n->nat_a && o == &n->a)
			dst = n->a.addr;
		if (n->hold && n->nheld < 16) {
			struct held *h = &n->held[n->nheld++];

			h->to = o;
			h->local = dst;
			h->remote = src;
			h->data = malloc(ev.send.len);
			memcpy(h->data, ev.send.data, ev.send.len);
			h->len = ev.send.len;
			continue;
		}
		/* a packet must be delivered after the poll loop: the data is only valid until the next call */
		uint8_t *copy = malloc(ev.send.len);
		size_t len = ev.send.len;

		memcpy(copy, ev.send.data, len);
		deliver(n, o, &dst, &src, copy, len);
		free(copy);
	}
	return k;
}

static void deliver(struct net *n, struct side *to, const struct ike_addr *local, const struct ike_addr *remote,
		    const uint8_t *data, size_t len)
{
	n->delivered++;
	(void)ike_input(to->ike, data, len, local, remote, n->now);
}

/* Run both sides until nothing moves (bounded). */
static void pump(struct net *n)
{
	for (int i = 0; i < 200; i++) {
		int k = drain(n, &n->a) + drain(n, &n->b);

		if (!k)
			return;
	}
	fail_msg("pump did not settle");
}

static void release_held(struct net *n)
{
	int k = n->nheld;

	n->nheld = 0;
	for (int i = 0; i < k; i++) {
		deliver(n, n->held[i].to, &n->held[i].local, &n->held[i].remote, n->held[i].data, n->held[i].len);
		free(n->held[i].data);
	}
}

static void record(struct net *n, struct side *s, const struct ike_event *ev)
{
	(void)n;
	switch (ev->type) {
	case IKE_EV_SA_UP:
		s->sa_up++;
		s->last_sa = ev->sa_id;
		break;
	case IKE_EV_SA_DOWN:
		s->sa_down++;
		s->last_down = ev->down.reason;
		s->last_down_notify = ev->down.notify;
		strcpy(s->last_down_id, ev->down.remote_id);
		break;
	case IKE_EV_MOVED:
		s->moved++;
		s->moved_local = ev->up.local;
		s->moved_remote = ev->up.remote;
		break;
	case IKE_EV_CHILD_UP:
		assert_true(s->nch < MAXCH);
		s->child_up++;
		s->ch[s->nch] = ev->child_up.child;
		s->ch_up[s->nch] = true;
		s->nch++;
		break;
	case IKE_EV_CHILD_DOWN:
		s->child_down++;
		for (int i = 0; i < s->nch; i++)
			if (s->ch_up[i] && s->ch[i].spi_in == ev->child_down.spi_in)
				s->ch_up[i] = false;
		break;
	default:
		fail_msg("unexpected event %d", ev->type);
	}
}

static void peer_conf(struct ike_peer_conf *pc, const char *name, const char *lid, const char *rid,
		      struct ike_addr remote, const char *lts, const char *rts)
{
	memset(pc, 0, sizeof(*pc));
	pc->name = name;
	pc->local_id = lid;
	pc->remote_id = rid;
	pc->psk = psk;
	pc->psk_len = sizeof(psk) - 1;
	pc->remote = remote;
	pc->local_ts = ts6(lts);
	pc->remote_ts = ts6(rts);
}

/* A and B with one peer each; A at 192.0.2.1:4500, B at 198.51.100.7:4500. */
static void setup_net(struct net *n, const struct ike_conf *conf, void (*tweak)(struct ike_peer_conf *, bool is_a))
{
	struct ike_peer_conf pa, pb;

	memset(n, 0, sizeof(*n));
	n->now = 1000000;
	n->a.name = "A";
	n->b.name = "B";
	n->a.addr = addr4("192.0.2.1", 4500);
	n->b.addr = addr4("198.51.100.7", 4500);
	n->a.ike = ike_new(conf, test_random, NULL);
	n->b.ike = ike_new(conf, test_random, NULL);
	assert_non_null(n->a.ike);
	assert_non_null(n->b.ike);
	peer_conf(&pa, "desktop", "laptop.alice.example.net", "desktop.alice.example.net", n->b.addr,
		  "fd00::a", "fd00::b");
	pa.local = n->a.addr;
	peer_conf(&pb, "laptop", "desktop.alice.example.net", "laptop.alice.example.net", n->a.addr,
		  "fd00::b", "fd00::a");
	pb.local = n->b.addr;
	if (tweak) {
		tweak(&pa, true);
		tweak(&pb, false);
	}
	assert_int_equal(ike_peer_add(n->a.ike, &pa, n->now), 0);
	assert_int_equal(ike_peer_add(n->b.ike, &pb, n->now), 0);
}

static void teardown_net(struct net *n)
{
	for (int i = 0; i < n->nheld; i++)
		free(n->held[i].data);
	ike_free(n->a.ike);
	ike_free(n->b.ike);
}

/* The newest child SA still up on side @p s. */
static struct ike_child_info *newest(struct side *s)
{
	for (int i = s->nch - 1; i >= 0; i--)
		if (s->ch_up[i])
			return &s->ch[i];
	return NULL;
}

static int children_up(struct side *s)
{
	int k = 0;

	for (int i = 0; i < s->nch; i++)
		k += s->ch_up[i];
	return k;
}

/* Each child SA up on one side has its mirror on the other, keys crossed. */
static void check_children_match(struct net *n)
{
	assert_int_equal(children_up(&n->a), children_up(&n->b));
	for (int i = 0; i < n->a.nch; i++) {
		struct ike_child_info *ca = &n->a.ch[i];
		bool found = false;

		if (!n->a.ch_up[i])
			continue;
		for (int j = 0; j < n->b.nch; j++) {
			struct ike_child_info *cb = &n->b.ch[j];

			if (!n->b.ch_up[j] || cb->spi_in != ca->spi_out)
				continue;
			found = true;
			assert_int_equal(cb->spi_out, ca->spi_in);
			assert_int_equal(cb->alg, ca->alg);
			assert_int_equal(cb->esn, ca->esn);
			assert_memory_equal(cb->key_in, ca->key_out, 32);
			assert_memory_equal(cb->salt_in, ca->salt_out, 4);
			assert_memory_equal(cb->key_out, ca->key_in, 32);
			assert_memory_equal(cb->salt_out, ca->salt_in, 4);
			assert_memory_equal(cb->integ_key_in, ca->integ_key_out, 32);
			assert_memory_equal(cb->integ_key_out, ca->integ_key_in, 32);
			assert_memory_equal(&cb->ts_local, &ca->ts_remote, sizeof(struct ike_ts));
			assert_memory_equal(&cb->ts_remote, &ca->ts_local, sizeof(struct ike_ts));
			/* the two directions never share a key */
			assert_memory_not_equal(ca->key_in, ca->key_out, 32);
		}
		assert_true(found);
	}
}

static void connect_ok(struct net *n)
{
	int id = ike_connect(n->a.ike, "desktop", n->now);

	assert_true(id > 0);
	pump(n);
	assert_int_equal(n->a.sa_up, 1);
	assert_int_equal(n->b.sa_up, 1);
	assert_int_equal(children_up(&n->a), 1);
	check_children_match(n);
}

/* ---- handshakes ---- */

static uint16_t tweak_group;
static void tw_group(struct ike_peer_conf *pc, bool is_a)
{
	(void)is_a;
	pc->dh_groups[0] = tweak_group;
}

static void handshake_group(uint16_t g)
{
	struct net n;
	struct ike_sa_info ia, ib;

	tweak_group = g;
	setup_net(&n, NULL, tw_group);
	connect_ok(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_int_equal(ia.dh_group, g);
	assert_int_equal(ib.dh_group, g);
	assert_true(ia.established && ib.established);
	assert_true(ia.initiator && !ib.initiator);
	assert_string_equal(ia.remote_id, "desktop.alice.example.net");
	assert_string_equal(ib.remote_id, "laptop.alice.example.net");
	assert_int_equal(ia.ike_spi_i, ib.ike_spi_i);
	assert_int_equal(ia.ike_spi_r, ib.ike_spi_r);
	assert_true(ia.mobike && ib.mobike);
	assert_false(ia.cert || ib.cert);
	assert_false(ia.nat_local || ia.nat_remote || ib.nat_local || ib.nat_remote);
	/* the default ESP proposal: AES-GCM first, extended sequence numbers */
	assert_int_equal(newest(&n.a)->alg, IKE_ESP_AES256GCM16);
	assert_true(newest(&n.a)->esn);
	assert_int_equal(newest(&n.a)->replaces, 0);
	teardown_net(&n);
}

/*
 * Inbound SPIs we pick start with a byte of 0x50 or more (docs/stun.md), even
 * when the random source offers smaller ones first; through a rekey too.
 */
static void test_child_spi_range(void **st)
{
	struct net n;

	(void)st;
	low_spi_draws = true;
	for (int round = 0; round < 4; round++) {
		setup_net(&n, NULL, NULL);
		connect_ok(&n);
		assert_true(newest(&n.a)->spi_in >= IKE_CHILD_SPI_MIN);
		assert_true(newest(&n.b)->spi_in >= IKE_CHILD_SPI_MIN);
		assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
		pump(&n);
		assert_true(newest(&n.a)->spi_in >= IKE_CHILD_SPI_MIN);
		assert_true(newest(&n.b)->spi_in >= IKE_CHILD_SPI_MIN);
		teardown_net(&n);
	}
	low_spi_draws = false;
}

static void test_handshake_31(void **st) { (void)st; handshake_group(IKE_DH_CURVE25519); }
static void test_handshake_19(void **st) { (void)st; handshake_group(IKE_DH_ECP256); }
static void test_handshake_14(void **st) { (void)st; handshake_group(IKE_DH_MODP2048); }
static void test_handshake_20(void **st) { (void)st; handshake_group(IKE_DH_ECP384); }
static void test_handshake_15(void **st) { (void)st; handshake_group(IKE_DH_MODP3072); }

/*
 * RFC 8247/8221 algorithms: A and B each with masks; what comes out. 0 in a
 * mask is the default. Every case is also rekeyed (IKE SA with its new
 * keys, then a child SA with PFS) to run the rekey paths with the same algorithms.
 */
struct alg_case {
	unsigned a_encr, b_encr, a_esp, b_esp, a_prf;
	unsigned want_encr, want_prf;	/* 0: the IKE SA must fail with NO_PROPOSAL_CHOSEN */
	enum ike_esp_alg want_esp;	/* 0: the first child SA must fail with NO_PROPOSAL_CHOSEN */
};
static const struct alg_case *cur_alg;

static void tw_alg(struct ike_peer_conf *pc, bool is_a)
{
	pc->encr_algs = is_a ? cur_alg->a_encr : cur_alg->b_encr;
	pc->esp_algs = is_a ? cur_alg->a_esp : cur_alg->b_esp;
	if (is_a)
		pc->prf_algs = cur_alg->a_prf;
}

/* the encryption key of an ESP transform is this long; the rest of key_in[32] stays zero */
static size_t esp_key_len(enum ike_esp_alg a)
{
	return a == IKE_ESP_AES128GCM16 || a == IKE_ESP_AES128CBC_SHA256 ? 16 : 32;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void check_esp_keys(const struct ike_child_info *c)
{
	size_t kl = esp_key_len(c->alg);
	bool cbc = c->alg == IKE_ESP_AES128CBC_SHA256 || c->alg == IKE_ESP_AES256CBC_SHA256;

	assert_true(all_zero(c->key_in + kl, 32 - kl));
	assert_true(all_zero(c->key_out + kl, 32 - kl));
	assert_false(all_zero(c->key_in, kl));
	/* AEAD: a salt and no integrity key; CBC: an integrity key and no salt */
	assert_int_equal(all_zero(c->integ_key_in, 32), !cbc);
	assert_int_equal(all_zero(c->integ_key_out, 32), !cbc);
	assert_int_equal(all_zero(c->salt_in, 4) && all_zero(c->salt_out, 4), cbc);
	assert_memory_not_equal(c->integ_key_in, c->key_in, 16);
}

static void run_alg_case(const struct alg_case *c)
{
	struct net n;
	struct ike_sa_info ia, ib;
	uint32_t old_spi;

	cur_alg = c;
	setup_net(&n, NULL, tw_alg);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	if (!c->want_encr || !c->want_esp) {
		/* refused cleanly: no IKE SA, or (§2.21.3) no first child SA, which makes ours close it */
		assert_int_equal(n.a.sa_up, 0);
		assert_int_equal(n.a.last_down, IKE_DOWN_NO_PROPOSAL);
		assert_int_equal(n.a.last_down_notify, IKE_N_NO_PROPOSAL_CHOSEN);
		assert_int_equal(n.a.sa_down, 1);
		assert_int_equal(children_up(&n.a) + children_up(&n.b), 0);
		if (!c->want_encr)
			assert_int_equal(n.b.sa_up, 0);
		teardown_net(&n);
		return;
	}
	assert_int_equal(n.a.sa_up, 1);
	assert_int_equal(n.b.sa_up, 1);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_int_equal(ia.encr, c->want_encr);
	assert_int_equal(ib.encr, c->want_encr);
	assert_int_equal(ia.prf, c->want_prf);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	assert_int_equal(newest(&n.a)->alg, c->want_esp);
	check_esp_keys(newest(&n.a));
	/* the IKE SA rekeyed with the same algorithms, then a child SA with PFS under the new keys */
	assert_int_equal(ike_sa_rekey(n.a.ike, ia.sa_id, n.now), 0);
	pump(&n);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_true(ib.established);
	assert_int_equal(ib.encr, c->want_encr);
	assert_true(ib.ike_spi_i != ia.ike_spi_i);
	old_spi = newest(&n.b)->spi_in;
	assert_int_equal(ike_child_rekey(n.b.ike, old_spi, n.now), 0);
	pump(&n);
	assert_int_equal(newest(&n.b)->replaces, old_spi);
	assert_int_equal(newest(&n.a)->alg, c->want_esp);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	check_esp_keys(newest(&n.b));
	assert_int_equal(n.a.sa_down + n.b.sa_down, 0);
	teardown_net(&n);
}

static void test_rfc8247_algorithms(void **st)
{
	static const unsigned all_prf = IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512;
	static const struct alg_case cases[] = {
		/* AES-128-GCM for IKE: proposed by A alone, accepted by B's default */
		{ IKE_ENCR_AES128GCM16, 0, 0, 0, 0, IKE_ENCR_AES128GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES256GCM16 },
		/* AES-128-CBC with HMAC-SHA2-256-128 and PRF SHA-256, strongSwan's "aes128-sha256" */
		{ IKE_ENCR_AES128CBC_SHA256, 0, 0, 0, IKE_PRF_HMAC_SHA256, IKE_ENCR_AES128CBC_SHA256,
		  IKE_PRF_HMAC_SHA256, IKE_ESP_AES256GCM16 },
		/* ... with SHA-384: HMAC-SHA2-384-192 */
		{ IKE_ENCR_AES128CBC_SHA256, 0, 0, 0, IKE_PRF_HMAC_SHA384, IKE_ENCR_AES128CBC_SHA256,
		  IKE_PRF_HMAC_SHA384, IKE_ESP_AES256GCM16 },
		/* A's default offers CBC in its second proposal: B that takes only CBC finds it */
		{ 0, IKE_ENCR_AES128CBC_SHA256, 0, 0, 0, IKE_ENCR_AES128CBC_SHA256, IKE_PRF_HMAC_SHA256,
		  IKE_ESP_AES256GCM16 },
		{ 0, IKE_ENCR_AES128GCM16, 0, 0, 0, IKE_ENCR_AES128GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES256GCM16 },
		/* both default: AES-256-GCM stays first */
		{ 0, 0, 0, 0, 0, IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES256GCM16 },
		/* no common cipher: NO_PROPOSAL_CHOSEN, as before */
		{ IKE_ENCR_AES128GCM16, IKE_ENCR_AES256GCM16 | IKE_ENCR_AES256CBC_SHA256, 0, 0, 0, 0, 0, 0 },
		{ IKE_ENCR_AES128CBC_SHA256, IKE_ENCR_AES256CBC_SHA256, 0, 0, 0, 0, 0, 0 },
		/* ESP: AES-128-GCM, AES-CBC with HMAC-SHA2-256-128 */
		{ 0, 0, IKE_ESP_AES128GCM16, IKE_ESP_AES128GCM16 | IKE_ESP_AES256GCM16, 0,
		  IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES128GCM16 },
		{ 0, 0, IKE_ESP_AES128CBC_SHA256, IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256GCM16, 0,
		  IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES128CBC_SHA256 },
		{ 0, 0, IKE_ESP_AES256CBC_SHA256, IKE_ESP_AES256CBC_SHA256, 0,
		  IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES256CBC_SHA256 },
		/* A offers AEAD first and CBC second; B takes only CBC: proposal 2 */
		{ 0, 0, IKE_ESP_AES256GCM16 | IKE_ESP_AES128CBC_SHA256, IKE_ESP_AES128CBC_SHA256, 0,
		  IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES128CBC_SHA256 },
		/* ... B takes both: A's first proposal wins */
		{ 0, 0, IKE_ESP_AES256GCM16 | IKE_ESP_AES128CBC_SHA256, IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256GCM16, 0,
		  IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, IKE_ESP_AES256GCM16 },
		/* CBC and GCM over CBC: everything new at once */
		{ IKE_ENCR_AES128CBC_SHA256, 0, IKE_ESP_AES128CBC_SHA256, IKE_ESP_AES128CBC_SHA256, all_prf,
		  IKE_ENCR_AES128CBC_SHA256, IKE_PRF_HMAC_SHA256, IKE_ESP_AES128CBC_SHA256 },
		/* B's default does not take the new ESP transforms: NO_PROPOSAL_CHOSEN for the child SA */
		{ 0, 0, IKE_ESP_AES128CBC_SHA256, 0, 0, IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, 0 },
		{ 0, 0, IKE_ESP_AES128GCM16, 0, 0, IKE_ENCR_AES256GCM16, IKE_PRF_HMAC_SHA256, 0 },
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu\n", i);
		run_alg_case(&cases[i]);
	}
}

static void tw_chacha_b(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a)
		pc->esp_algs = IKE_ESP_CHACHA20POLY1305;
	else
		pc->no_esn = true;
}

static void test_handshake_chacha_noesn(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_chacha_b);
	connect_ok(&n);
	assert_int_equal(newest(&n.a)->alg, IKE_ESP_CHACHA20POLY1305);
	assert_false(newest(&n.a)->esn);
	assert_false(newest(&n.b)->esn);
	teardown_net(&n);
}

static void tw_cbc(struct ike_peer_conf *pc, bool is_a)
{
	pc->encr_algs = IKE_ENCR_AES256CBC_SHA256;
	pc->prf_algs = is_a ? IKE_PRF_HMAC_SHA512 : IKE_PRF_HMAC_SHA512 | IKE_PRF_HMAC_SHA256;
}

static void test_handshake_cbc_sha512(void **st)
{
	struct net n;
	struct ike_sa_info ia;

	(void)st;
	setup_net(&n, NULL, tw_cbc);
	connect_ok(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ia.encr, IKE_ENCR_AES256CBC_SHA256);
	assert_int_equal(ia.prf, IKE_PRF_HMAC_SHA512);
	teardown_net(&n);
}

/* A proposes 19 first, B accepts only 31: INVALID_KE_PAYLOAD, then A retries with 31. */
static void tw_ke(struct ike_peer_conf *pc, bool is_a)
{
	if (is_a) {
		pc->dh_groups[0] = IKE_DH_ECP256;
		pc->dh_groups[1] = IKE_DH_CURVE25519;
	} else {
		pc->dh_groups[0] = IKE_DH_CURVE25519;
	}
}

static int init_requests;
static bool count_init(struct net *n, struct side *from, const uint8_t *pkt, size_t len)
{
	struct ike_msg m;

	(void)n;
	if (from->ike && ike_msg_parse(pkt, len, &m) == 0 && m.h.exch == IKE_SA_INIT && !(m.h.flags & IKE_FLAG_R))
		init_requests++;
	return true;
}

static void test_invalid_ke_retry(void **st)
{
	struct net n;
	struct ike_sa_info ia;

	(void)st;
	setup_net(&n, NULL, tw_ke);
	init_requests = 0;
	n.filter = count_init;
	connect_ok(&n);
	assert_int_equal(init_requests, 2);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ia.dh_group, IKE_DH_CURVE25519);
	teardown_net(&n);
}

static void tw_only19(struct ike_peer_conf *pc, bool is_a)
{
	pc->dh_groups[0] = is_a ? IKE_DH_ECP256 : IKE_DH_MODP2048;
}

static void test_no_common_group(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_only19);
	/* B wants 14 only; A offers 19 only: NO_PROPOSAL_CHOSEN in IKE_SA_INIT */
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 0);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_NO_PROPOSAL);
	assert_int_equal(n.a.last_down_notify, IKE_N_NO_PROPOSAL_CHOSEN);
	assert_int_equal(n.b.sa_up, 0);
	teardown_net(&n);
}

/* ---- authentication ---- */

static const uint8_t wrong[] = "wrong horse";
static void tw_wrong_psk(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a) {
		pc->psk = wrong;
		pc->psk_len = sizeof(wrong) - 1;
	}
}

static void test_wrong_psk(void **st)
{
	struct net n;
	struct ike_stats s;

	(void)st;
	setup_net(&n, NULL, tw_wrong_psk);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 0);
	assert_int_equal(n.b.sa_up, 0);
	assert_int_equal(children_up(&n.a), 0);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_AUTH_FAILED);
	assert_int_equal(n.a.last_down_notify, IKE_N_AUTHENTICATION_FAILED);
	/* the responder says who failed, for its log */
	assert_int_equal(n.b.sa_down, 1);
	assert_int_equal(n.b.last_down, IKE_DOWN_AUTH_FAILED);
	assert_string_equal(n.b.last_down_id, "laptop.alice.example.net");
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.rx_auth_failed, 1);
	assert_int_equal(s.sas, 0);
	assert_int_equal(s.half_open, 0);
	teardown_net(&n);
}

static void tw_unknown_id(struct ike_peer_conf *pc, bool is_a)
{
	if (is_a)
		pc->local_id = "mallory.example.net";
}

static void test_unknown_identity(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_unknown_id);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.last_down, IKE_DOWN_AUTH_FAILED);
	assert_int_equal(n.b.last_down, IKE_DOWN_AUTH_FAILED);
	assert_string_equal(n.b.last_down_id, "mallory.example.net");
	teardown_net(&n);
}

/* A responder with a wildcard peer accepts any member of the domain and narrows its selectors. */
static void tw_wild(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a) {
		pc->remote_id = "*.alice.example.net";
		pc->remote_ts = ts6_range("fd00::", "fd00::ffff");
		pc->remote.family = 0;
	}
}

static void test_wildcard_responder(void **st)
{
	struct net n;
	uint8_t want[16];

	(void)st;
	setup_net(&n, NULL, tw_wild);
	connect_ok(&n);
	inet_pton(AF_INET6, "fd00::a", want);
	assert_memory_equal(newest(&n.b)->ts_remote.start, want, 16);
	assert_memory_equal(newest(&n.b)->ts_remote.end, want, 16);
	/* a wildcard peer cannot be dialled */
	assert_int_equal(ike_connect(n.b.ike, "laptop", n.now), -EINVAL);
	teardown_net(&n);
}

static void tw_ts_mismatch(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a)
		pc->remote_ts = ts6("fd00::99");
}

static void test_ts_unacceptable(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_ts_mismatch);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 0);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down_notify, IKE_N_TS_UNACCEPTABLE);
	/* B saw the IKE SA come up, then A closed it */
	assert_int_equal(n.b.sa_up, 1);
	assert_int_equal(n.b.sa_down, 1);
	assert_int_equal(n.b.last_down, IKE_DOWN_PEER_DELETED);
	teardown_net(&n);
}

/* ---- cookies ---- */

static void test_cookie(void **st)
{
	struct ike_conf conf = { .cookie_threshold = 1 };
	struct net n;
	struct ike_stats s;
	struct ike_peer_conf pc;

	(void)st;
	setup_net(&n, &conf, NULL);
	/* a first initiator that never finishes leaves one half-open SA on B */
	{
		struct ike *c = ike_new(NULL, test_random, NULL);
		struct ike_event ev;
		struct ike_addr caddr = addr4("203.0.113.9", 4500);

		peer_conf(&pc, "desktop", "c.example.net", "desktop.alice.example.net", n.b.addr, "fd00::c", "fd00::b");
		assert_int_equal(ike_peer_add(c, &pc, n.now), 0);
		assert_true(ike_connect(c, "desktop", n.now) > 0);
		assert_true(ike_poll(c, &ev));
		assert_int_equal(ev.type, IKE_EV_SEND);
		assert_int_equal(ike_input(n.b.ike, ev.send.data, ev.send.len, &n.b.addr, &caddr, n.now), 0);
		ike_free(c);
		while (ike_poll(n.b.ike, &ev))
			;
	}
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.half_open, 1);
	init_requests = 0;
	n.filter = count_init;
	connect_ok(&n);
	/* the first request was answered with a COOKIE, the second carried it */
	assert_int_equal(init_requests, 2);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.cookies_sent, 1);
	/* the abandoned half-open SA expires quietly */
	n.now += 31000;
	ike_tick(n.b.ike, n.now);
	pump(&n);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.half_open, 0);
	assert_int_equal(s.sas, 1);
	assert_int_equal(n.b.sa_down, 0);
	teardown_net(&n);
}

/* A cookie made for one address is not accepted from another. */
static void test_cookie_bound_to_address(void **st)
{
	struct ike_conf conf = { .cookie_threshold = 1 };
	struct ike *b = ike_new(&conf, test_random, NULL), *c = ike_new(NULL, test_random, NULL);
	struct ike_peer_conf pc;
	struct ike_addr baddr = addr4("198.51.100.7", 4500), c1 = addr4("203.0.113.9", 4500),
			c2 = addr4("203.0.113.10", 4500);
	struct ike_event ev;
	struct ike_stats s;
	uint8_t req1[2048], cookie_resp[512];
	size_t l1, lc;

	(void)st;
	peer_conf(&pc, "x", "b.example.net", "c.example.net", c1, "fd00::b", "fd00::c");
	assert_int_equal(ike_peer_add(b, &pc, 0), 0);
	peer_conf(&pc, "b", "c.example.net", "b.example.net", baddr, "fd00::c", "fd00::b");
	assert_int_equal(ike_peer_add(c, &pc, 0), 0);
	/* one half-open SA first */
	assert_true(ike_connect(c, "b", 0) > 0);
	assert_true(ike_poll(c, &ev));
	l1 = ev.send.len;
	memcpy(req1, ev.send.data, l1);
	assert_int_equal(ike_input(b, req1, l1, &baddr, &c1, 0), 0);
	while (ike_poll(b, &ev))
		;
	ike_free(c);
	/* a second initiator gets a cookie */
	c = ike_new(NULL, test_random, NULL);
	assert_int_equal(ike_peer_add(c, &pc, 0), 0);
	assert_true(ike_connect(c, "b", 0) > 0);
	assert_true(ike_poll(c, &ev));
	assert_int_equal(ike_input(b, ev.send.data, ev.send.len, &baddr, &c2, 0), 0);
	assert_true(ike_poll(b, &ev));
	lc = ev.send.len;
	memcpy(cookie_resp, ev.send.data, lc);
	ike_stats_get(b, &s);
	assert_int_equal(s.cookies_sent, 1);
	/* it retries with the cookie, but from another address: another cookie, no SA */
	assert_int_equal(ike_input(c, cookie_resp, lc, &c2, &baddr, 0), 0);
	assert_true(ike_poll(c, &ev));
	assert_int_equal(ike_input(b, ev.send.data, ev.send.len, &baddr, &c1, 0), 0);
	ike_stats_get(b, &s);
	assert_int_equal(s.cookies_sent, 2);
	assert_int_equal(s.half_open, 1);
	ike_free(b);
	ike_free(c);
}

/* A flood of IKE_SA_INIT requests: at most half_open_max half-open SAs, which expire. */
static void test_half_open_limit(void **st)
{
	struct ike_conf conf = { .cookie_threshold = UINT32_MAX, .half_open_max = 4, .half_open_ms = 5000 };
	struct ike *b = ike_new(&conf, test_random, NULL);
	struct ike_addr baddr = addr4("198.51.100.7", 4500);
	struct ike_peer_conf pc;
	struct ike_event ev;
	struct ike_stats s;

	(void)st;
	peer_conf(&pc, "x", "b.example.net", "*.example.net", (struct ike_addr){ 0 }, "fd00::b", "fd00::");
	assert_int_equal(ike_peer_add(b, &pc, 0), 0);
	for (int i = 0; i < 6; i++) {
		struct ike *c = ike_new(NULL, test_random, NULL);
		struct ike_addr caddr = addr4("203.0.113.9", (uint16_t)(4500 + i));
		int err;

		peer_conf(&pc, "b", "c.example.net", "b.example.net", baddr, "fd00::c", "fd00::b");
		assert_int_equal(ike_peer_add(c, &pc, 0), 0);
		assert_true(ike_connect(c, "b", 0) > 0);
		assert_true(ike_poll(c, &ev));
		err = ike_input(b, ev.send.data, ev.send.len, &baddr, &caddr, 0);
		assert_int_equal(err, i < 4 ? 0 : -EBUSY);
		ike_free(c);
		while (ike_poll(b, &ev))
			;
	}
	ike_stats_get(b, &s);
	assert_int_equal(s.half_open, 4);
	assert_int_equal(s.sas, 4);
	assert_int_equal(ike_next_deadline(b), 5000);
	ike_tick(b, 5000);
	ike_stats_get(b, &s);
	assert_int_equal(s.half_open, 0);
	assert_int_equal(s.sas, 0);
	/* nobody is told about SAs that never authenticated */
	assert_false(ike_poll(b, &ev));
	ike_free(b);
}

/* ---- retransmission, DPD ---- */

static int drop_n;
static bool drop_first_n(struct net *n, struct side *from, const uint8_t *pkt, size_t len)
{
	(void)n; (void)from; (void)pkt; (void)len;
	if (drop_n > 0) {
		drop_n--;
		return false;
	}
	return true;
}

static void test_retransmit(void **st)
{
	struct net n;
	struct ike_stats s;

	(void)st;
	setup_net(&n, NULL, NULL);
	drop_n = 2;	/* the first IKE_SA_INIT request and its first retransmission */
	n.filter = drop_first_n;
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 0);
	/* the timer says when: 500 ms, then 1000 ms more (exponential back-off) */
	assert_int_equal(ike_next_deadline(n.a.ike), n.now + 500);
	n.now += 500;
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(ike_next_deadline(n.a.ike), n.now + 1000);
	n.now += 1000;
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(n.a.sa_up, 1);
	assert_int_equal(n.b.sa_up, 1);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.retransmits, 2);
	teardown_net(&n);
}

/* A lost response: the request is retransmitted and answered from the cache, not processed twice. */
static int resp_drops;
static bool drop_first_auth_resp(struct net *n, struct side *from, const uint8_t *pkt, size_t len)
{
	struct ike_msg m;

	if (from == &n->b && ike_msg_parse(pkt, len, &m) == 0 && m.h.exch == IKE_AUTH && resp_drops-- > 0)
		return false;
	return true;
}

static void test_lost_response(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, NULL);
	resp_drops = 1;
	n.filter = drop_first_auth_resp;
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.b.sa_up, 1);
	assert_int_equal(n.a.sa_up, 0);
	n.now += 500;
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(n.a.sa_up, 1);
	assert_int_equal(n.b.sa_up, 1);		/* not twice */
	assert_int_equal(n.b.child_up, 1);
	check_children_match(&n);
	teardown_net(&n);
}

static bool drop_all(struct net *n, struct side *from, const uint8_t *pkt, size_t len)
{
	(void)n; (void)from; (void)pkt; (void)len;
	return false;
}

static void tw_dpd10(struct ike_peer_conf *pc, bool is_a)
{
	(void)is_a;
	pc->dpd_s = 10;
}

static void test_dpd_timeout(void **st)
{
	struct net n;
	struct ike_stats s;
	uint64_t t0;
	int ticks = 0;

	(void)st;
	setup_net(&n, NULL, tw_dpd10);
	connect_ok(&n);
	/* traffic keeps the peer alive: no DPD while ESP arrives */
	n.now += 9000;
	ike_child_activity(n.a.ike, newest(&n.a)->spi_in, n.now);
	ike_tick(n.a.ike, n.now);
	assert_true(ike_next_deadline(n.a.ike) >= n.now + 10000 - 1);
	/* silence: a DPD after 10 s, answered */
	n.now += 10000;
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(n.a.sa_down, 0);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.retransmits, 0);
	/* the peer vanishes: the next DPD goes unanswered and the tunnel dies */
	n.filter = drop_all;
	t0 = n.now;
	while (n.a.sa_down == 0 && ticks++ < 100) {
		n.now = ike_next_deadline(n.a.ike);
		assert_true(n.now != UINT64_MAX);
		ike_tick(n.a.ike, n.now);
		pump(&n);
	}
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_TIMEOUT);
	assert_int_equal(children_up(&n.a), 0);
	/* 10 s of silence, then 0.5+1+2+4+8+16+32 s of retransmissions */
	assert_int_equal(n.now - t0, 10000 + 63500);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.retransmits, 6);
	assert_int_equal(s.sas, 0);
	teardown_net(&n);
}

/* ---- certificates (RFC 7427 digital signatures, RFC 8420 Ed25519) ---- */

/*
 * One CA and a certificate for each end, made here with OpenSSL: A is
 * laptop.alice.example.net, B desktop.alice.example.net. cert_a_san and the
 * validity let a test break one thing at a time.
 */
static struct certs {
	struct tcert ca, other_ca, a, b;
	bool a_ed, b_ed;	/* key types of the hosts (the CA: ca_ed) */
	bool b_uses_other_ca;	/* B trusts other_ca, not ca */
	bool a_psk, b_psk;	/* A or B authenticates with the PSK */
	bool a_policy, b_policy;	/* A or B asks policy_cb() about the peer's certificate */
	bool policy_refuses;
	unsigned policy_calls;
} cf;

static void certs_make(bool ca_ed, bool a_ed, bool b_ed, const char *a_san, long a_from, long a_to)
{
	tcert_make(&cf.ca, tcert_key(ca_ed), "Alice account authority", NULL, NULL, -3600, 86400);
	tcert_make(&cf.other_ca, tcert_key(true), "Mallory's authority", NULL, NULL, -3600, 86400);
	tcert_make(&cf.a, tcert_key(a_ed), "laptop", a_san, &cf.ca, a_from, a_to);
	tcert_make(&cf.b, tcert_key(b_ed), "desktop", "DNS:desktop.alice.example.net", &cf.ca, -3600, 86400);
	cf.b_uses_other_ca = cf.a_psk = cf.b_psk = false;
	cf.a_policy = cf.b_policy = cf.policy_refuses = false;
	cf.policy_calls = 0;
}

static void certs_free(void)
{
	tcert_free(&cf.ca);
	tcert_free(&cf.other_ca);
	tcert_free(&cf.a);
	tcert_free(&cf.b);
}

/* The daemon's policy on a peer's certificate: it sees the proved identity and the DER, and refuses when told. */
static int policy_cb(void *arg, const uint8_t *der, size_t len, const char *id)
{
	struct certs *c = arg;
	const struct tcert *peer = strcmp(id, "laptop.alice.example.net") == 0 ? &c->a : &c->b;

	c->policy_calls++;
	assert_int_equal(len, peer->der_len);
	assert_memory_equal(der, peer->der, len);
	return c->policy_refuses ? -EKEYREVOKED : 0;
}

static void tw_certs(struct ike_peer_conf *pc, bool is_a)
{
	const struct tcert *me = is_a ? &cf.a : &cf.b, *ca = !is_a && cf.b_uses_other_ca ? &cf.other_ca : &cf.ca;

	if (is_a ? cf.a_psk : cf.b_psk)
		return;
	pc->psk = NULL;
	pc->psk_len = 0;
	pc->cert = me->der;
	pc->cert_len = me->der_len;
	pc->key = me->key_der;
	pc->key_len = me->key_der_len;
	pc->ca = ca->der;
	pc->ca_len = ca->der_len;
	if (is_a ? cf.a_policy : cf.b_policy) {
		pc->cert_policy = policy_cb;
		pc->cert_policy_arg = &cf;
	}
}

static void cert_handshake(bool ca_ed, bool a_ed, bool b_ed)
{
	struct net n;
	struct ike_sa_info ia, ib;

	certs_make(ca_ed, a_ed, b_ed, "DNS:laptop.alice.example.net", -3600, 86400);
	setup_net(&n, NULL, tw_certs);
	connect_ok(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_string_equal(ia.remote_id, "desktop.alice.example.net");
	assert_string_equal(ib.remote_id, "laptop.alice.example.net");
	assert_true(ia.cert && ib.cert);
	/* an IKE SA rekey and a child rekey need no new authentication */
	assert_int_equal(ike_sa_rekey(n.b.ike, ib.sa_id, n.now), 0);
	pump(&n);
	assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
	pump(&n);
	check_children_match(&n);
	assert_int_equal(n.a.sa_down + n.b.sa_down, 0);
	teardown_net(&n);
	certs_free();
}

static void test_cert_ed25519(void **st) { (void)st; cert_handshake(true, true, true); }
static void test_cert_ecdsa_p256(void **st) { (void)st; cert_handshake(false, false, false); }
static void test_cert_mixed(void **st) { (void)st; cert_handshake(true, false, true); cert_handshake(false, true, false); }

/* Both ends refuse, the initiator learns AUTHENTICATION_FAILED (RFC 7296 §2.21.2). */
static void cert_refused(const struct ike_conf *conf, bool responder_refuses)
{
	struct net n;

	setup_net(&n, conf, tw_certs);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up + n.b.sa_up, 0);
	assert_int_equal(children_up(&n.a) + children_up(&n.b), 0);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_AUTH_FAILED);
	if (responder_refuses) {
		assert_int_equal(n.a.last_down_notify, IKE_N_AUTHENTICATION_FAILED);
		assert_int_equal(n.b.last_down, IKE_DOWN_AUTH_FAILED);
		assert_string_equal(n.b.last_down_id, "laptop.alice.example.net");
	}
	teardown_net(&n);
}

static void test_cert_wrong_ca(void **st)
{
	(void)st;
	/* B trusts another authority: A's chain does not lead there */
	certs_make(true, true, true, "DNS:laptop.alice.example.net", -3600, 86400);
	cf.b_uses_other_ca = true;
	cert_refused(NULL, true);
	certs_free();
}

static void test_cert_id_not_in_san(void **st)
{
	(void)st;
	/* A claims laptop.alice.example.net; its certificate names another host */
	certs_make(true, true, true, "DNS:kiosk.alice.example.net", -3600, 86400);
	cert_refused(NULL, true);
	certs_free();
	/* a wildcard name is no name (X509_CHECK_FLAG_NO_WILDCARDS) */
	certs_make(false, false, false, "DNS:*.alice.example.net", -3600, 86400);
	cert_refused(NULL, true);
	certs_free();
	/* nor is a certificate without subjectAltName, whatever its CN */
	certs_make(true, true, true, NULL, -3600, 86400);
	cert_refused(NULL, true);
	certs_free();
}

static int64_t in_ten_days(void)
{
	return (int64_t)time(NULL) + 10 * 86400;
}

static void test_cert_expired(void **st)
{
	struct ike_conf c = { .wall_clock = in_ten_days };

	(void)st;
	/* A's certificate ran out yesterday */
	certs_make(true, true, true, "DNS:laptop.alice.example.net", -10 * 86400, -86400);
	cert_refused(NULL, true);
	certs_free();
	/* valid today, but the daemon's clock says ten days on: every certificate has expired */
	certs_make(false, false, false, "DNS:laptop.alice.example.net", -3600, 86400);
	cert_refused(&c, true);
	certs_free();
}

/* The daemon's certificate policy runs after the checks of lib/ike and can refuse (a revoked host). */
static void test_cert_policy(void **st)
{
	struct net n;

	(void)st;
	certs_make(true, true, true, "DNS:laptop.alice.example.net", -3600, 86400);
	cf.a_policy = cf.b_policy = true;
	setup_net(&n, NULL, tw_certs);
	connect_ok(&n);
	/* each end asked once about the other's certificate */
	assert_int_equal(cf.policy_calls, 2);
	teardown_net(&n);
	/* the responder refuses the initiator's certificate: AUTHENTICATION_FAILED, nothing up */
	cf.policy_calls = 0;
	cf.policy_refuses = true;
	cf.a_policy = false;
	cert_refused(NULL, true);
	assert_int_equal(cf.policy_calls, 1);
	certs_free();
}

static void test_cert_against_psk(void **st)
{
	struct net n;

	(void)st;
	/* A uses the PSK, B expects a signature: refused, never confused for one another */
	certs_make(true, true, true, "DNS:laptop.alice.example.net", -3600, 86400);
	cf.a_psk = true;
	cert_refused(NULL, true);
	/*
	 * A signs, B uses the PSK and announces no signature hashes: A cannot
	 * sign for it (RFC 7427 §4) and gives up before IKE_AUTH
	 */
	cf.a_psk = false;
	cf.b_psk = true;
	setup_net(&n, NULL, tw_certs);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up + n.b.sa_up, 0);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_AUTH_FAILED);
	teardown_net(&n);
	certs_free();
}

/* The initiator checks the responder as strictly: B's certificate from another authority. */
static void tw_certs_b_other(struct ike_peer_conf *pc, bool is_a)
{
	tw_certs(pc, is_a);
	if (!is_a) {
		pc->cert = cf.other_ca.der;	/* not even a host certificate: self-signed, a CA */
		pc->cert_len = cf.other_ca.der_len;
		pc->key = cf.other_ca.key_der;
		pc->key_len = cf.other_ca.key_der_len;
	}
}

static void test_cert_initiator_refuses(void **st)
{
	struct net n;

	(void)st;
	certs_make(true, true, true, "DNS:laptop.alice.example.net", -3600, 86400);
	setup_net(&n, NULL, tw_certs_b_other);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 0);
	assert_int_equal(n.a.last_down, IKE_DOWN_AUTH_FAILED);
	/* B had accepted A; A's INFORMATIONAL with AUTHENTICATION_FAILED takes it down (§2.21.2) */
	assert_int_equal(children_up(&n.a) + children_up(&n.b), 0);
	teardown_net(&n);
	certs_free();
}

/* Configuration: all three or none, a key that is not the certificate's. */
static void test_cert_conf(void **st)
{
	struct ike *ike = ike_new(NULL, test_random, NULL);
	struct ike_peer_conf pc;

	(void)st;
	certs_make(true, true, false, "DNS:laptop.alice.example.net", -3600, 86400);
	peer_conf(&pc, "p", "laptop.alice.example.net", "desktop.alice.example.net", addr4("192.0.2.9", 4500),
		  "fd00::a", "fd00::b");
	pc.psk = NULL;
	pc.cert = cf.a.der;
	pc.cert_len = cf.a.der_len;
	assert_int_equal(ike_peer_add(ike, &pc, 0), -EINVAL);	/* no key, no CA */
	pc.key = cf.b.key_der;
	pc.key_len = cf.b.key_der_len;
	pc.ca = cf.ca.der;
	pc.ca_len = cf.ca.der_len;
	assert_int_equal(ike_peer_add(ike, &pc, 0), -EINVAL);	/* B's key with A's certificate */
	pc.key = cf.a.key_der;
	pc.key_len = cf.a.key_der_len;
	pc.cert_len--;
	assert_int_equal(ike_peer_add(ike, &pc, 0), -EINVAL);	/* truncated DER */
	pc.cert_len++;
	assert_int_equal(ike_peer_add(ike, &pc, 0), 0);
	ike_free(ike);
	certs_free();
}

/* ---- rekeying ---- */

static void test_child_rekey(void **st)
{
	struct net n;
	struct ike_child_info old_a;
	struct ike_stats s;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	old_a = *newest(&n.a);
	assert_int_equal(ike_child_rekey(n.a.ike, old_a.spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.child_up, 2);
	assert_int_equal(n.b.child_up, 2);
	assert_int_equal(n.a.child_down, 1);
	assert_int_equal(n.b.child_down, 1);
	assert_int_equal(children_up(&n.a), 1);
	assert_int_equal(newest(&n.a)->replaces, old_a.spi_in);
	assert_int_equal(newest(&n.b)->replaces, old_a.spi_out);
	assert_false(newest(&n.a)->send_deferred);
	assert_true(newest(&n.b)->send_deferred);
	assert_memory_not_equal(newest(&n.a)->key_out, old_a.key_out, 32);
	check_children_match(&n);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.child_rekeys, 1);
	/* and from the other side */
	assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.child_up, 3);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	teardown_net(&n);
}

/* Child rekey on schedule: the lifetime (minus jitter) runs out on the fake clock. */
static void tw_life(struct ike_peer_conf *pc, bool is_a)
{
	pc->child_lifetime_s = is_a ? 100 : 1000;
	pc->ike_lifetime_s = 100000;
	pc->dpd_s = UINT32_MAX;
}

static void test_child_rekey_timer(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_life);
	connect_ok(&n);
	n.now += 89999;	/* at most a tenth early */
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(n.a.child_up, 1);
	n.now += 10001;
	ike_tick(n.a.ike, n.now);
	pump(&n);
	assert_int_equal(n.a.child_up, 2);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	teardown_net(&n);
}

static void tw_nopfs(struct ike_peer_conf *pc, bool is_a)
{
	if (is_a)
		pc->no_pfs = true;
}

static void test_child_rekey_no_pfs(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, tw_nopfs);
	connect_ok(&n);
	assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(children_up(&n.a), 1);
	assert_int_equal(n.a.child_up, 2);
	check_children_match(&n);
	teardown_net(&n);
}

static void test_ike_rekey(void **st)
{
	struct net n;
	struct ike_sa_info before, after, bb;
	struct ike_stats s;
	uint32_t id;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	id = (uint32_t)ike_sa_find(n.a.ike, "desktop");
	assert_int_equal(ike_sa_get(n.a.ike, id, &before), 0);
	assert_int_equal(ike_sa_rekey(n.a.ike, id, n.now), 0);
	pump(&n);
	assert_int_equal(ike_sa_get(n.a.ike, id, &after), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &bb), 0);
	assert_true(after.ike_spi_i != before.ike_spi_i);
	assert_int_equal(after.ike_spi_i, bb.ike_spi_i);
	assert_int_equal(after.ike_spi_r, bb.ike_spi_r);
	/* the tunnel and its child SA carry on; nothing went down */
	assert_int_equal(n.a.sa_down + n.b.sa_down + n.a.child_down + n.b.child_down, 0);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.ike_rekeys, 1);
	/* the old IKE SA is gone on both ends once its Delete was answered */
	for (int i = 0; i < IKE_MAX_XSA; i++)
		;
	/* the new IKE SA works: a child rekey and a DPD through it */
	assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	assert_int_equal(ike_sa_dpd(n.a.ike, id, n.now), 0);
	pump(&n);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.retransmits, 0);
	/* a rekey from the responder's side, then close */
	assert_int_equal(ike_sa_rekey(n.b.ike, ike_sa_find(n.b.ike, "laptop"), n.now), 0);
	pump(&n);
	assert_int_equal(ike_sa_get(n.a.ike, id, &after), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &bb), 0);
	assert_int_equal(after.ike_spi_i, bb.ike_spi_i);
	/* MOBIKE decisions stay with the original initiator */
	assert_true(after.initiator);
	assert_int_equal(ike_close(n.a.ike, id, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.a.last_down, IKE_DOWN_CLOSED);
	assert_int_equal(n.b.sa_down, 1);
	assert_int_equal(n.b.last_down, IKE_DOWN_PEER_DELETED);
	assert_int_equal(children_up(&n.a) + children_up(&n.b), 0);
	ike_stats_get(n.a.ike, &s);
	assert_int_equal(s.sas, 0);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.sas, 0);
	teardown_net(&n);
}

/* Both ends rekey the same child SA at once (§2.8.1): exactly one new child SA survives. */
static void test_child_rekey_collision(void **st)
{
	struct net n;
	struct ike_stats sa, sb;

	(void)st;
	for (int round = 0; round < 8; round++) {
		setup_net(&n, NULL, NULL);
		connect_ok(&n);
		assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
		assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
		/* the two requests cross in the network */
		n.hold = true;
		drain(&n, &n.a);
		drain(&n, &n.b);
		n.hold = false;
		assert_int_equal(n.nheld, 2);
		release_held(&n);
		pump(&n);
		ike_stats_get(n.a.ike, &sa);
		ike_stats_get(n.b.ike, &sb);
		assert_int_equal(sa.collisions, 1);
		assert_int_equal(sb.collisions, 1);
		assert_int_equal(children_up(&n.a), 1);
		assert_int_equal(children_up(&n.b), 1);
		assert_int_equal(n.a.child_up, 3);
		assert_int_equal(n.a.child_down, 2);
		check_children_match(&n);
		/* nothing left over for later: no deletes pending after the grace period */
		n.now += 31000;
		ike_tick(n.a.ike, n.now);
		ike_tick(n.b.ike, n.now);
		pump(&n);
		assert_int_equal(children_up(&n.a), 1);
		check_children_match(&n);
		teardown_net(&n);
	}
}

/* Both ends rekey the IKE SA at once (§2.8.2): one new IKE SA survives on both ends. */
static void test_ike_rekey_collision(void **st)
{
	struct net n;
	struct ike_sa_info ia, ib;
	struct ike_stats sa, sb;
	uint32_t ida, idb;

	(void)st;
	for (int round = 0; round < 8; round++) {
		setup_net(&n, NULL, NULL);
		connect_ok(&n);
		ida = ike_sa_find(n.a.ike, "desktop");
		idb = ike_sa_find(n.b.ike, "laptop");
		assert_int_equal(ike_sa_rekey(n.a.ike, ida, n.now), 0);
		assert_int_equal(ike_sa_rekey(n.b.ike, idb, n.now), 0);
		n.hold = true;
		drain(&n, &n.a);
		drain(&n, &n.b);
		n.hold = false;
		release_held(&n);
		pump(&n);
		ike_stats_get(n.a.ike, &sa);
		ike_stats_get(n.b.ike, &sb);
		assert_int_equal(sa.collisions, 1);
		assert_int_equal(sb.collisions, 1);
		assert_int_equal(ike_sa_get(n.a.ike, ida, &ia), 0);
		assert_int_equal(ike_sa_get(n.b.ike, idb, &ib), 0);
		assert_int_equal(ia.ike_spi_i, ib.ike_spi_i);
		assert_int_equal(ia.ike_spi_r, ib.ike_spi_r);
		assert_int_equal(n.a.sa_down + n.b.sa_down, 0);
		/* the surviving IKE SA works */
		assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
		pump(&n);
		check_children_match(&n);
		assert_int_equal(children_up(&n.a), 1);
		/* and only one IKE SA is left at each end once the dust settles */
		n.now += 31000;
		ike_tick(n.a.ike, n.now);
		ike_tick(n.b.ike, n.now);
		pump(&n);
		{
			struct ike_sa *t = n.a.ike->sas;
			int used = 0;

			for (int i = 0; i < IKE_MAX_XSA; i++)
				used += t->x[i].used;
			assert_int_equal(used, 1);
			t = n.b.ike->sas;
			used = 0;
			for (int i = 0; i < IKE_MAX_XSA; i++)
				used += t->x[i].used;
			assert_int_equal(used, 1);
		}
		assert_int_equal(ike_sa_dpd(n.b.ike, idb, n.now), 0);
		pump(&n);
		ike_stats_get(n.b.ike, &sb);
		assert_int_equal(sb.retransmits, 0);
		teardown_net(&n);
	}
}

/* Both ends connect at once: two tunnels come up, the duplicate is closed by both ends' agreement. */
static void test_simultaneous_connect(void **st)
{
	struct net n;

	(void)st;
	setup_net(&n, NULL, NULL);
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	assert_true(ike_connect(n.b.ike, "laptop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.a.sa_up, 2);
	assert_int_equal(n.b.sa_up, 2);
	assert_int_equal(n.a.sa_down, 1);
	assert_int_equal(n.b.sa_down, 1);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	assert_int_equal(ike_connect(n.a.ike, "desktop", n.now), -EALREADY);
	teardown_net(&n);
}

/* The initiator restarts (loses its state) and connects again: INITIAL_CONTACT clears the stale tunnel. */
static void test_initial_contact(void **st)
{
	struct net n;
	struct ike_peer_conf pa;
	struct ike_stats s;
	uint32_t old_b;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	old_b = n.b.last_sa;
	/* A reboots: a new instance, same identity and key */
	ike_free(n.a.ike);
	n.a.ike = ike_new(NULL, test_random, NULL);
	peer_conf(&pa, "desktop", "laptop.alice.example.net", "desktop.alice.example.net", n.b.addr,
		  "fd00::a", "fd00::b");
	pa.local = n.a.addr;
	assert_int_equal(ike_peer_add(n.a.ike, &pa, n.now), 0);
	n.now += 60000;
	assert_true(ike_connect(n.a.ike, "desktop", n.now) > 0);
	pump(&n);
	assert_int_equal(n.b.sa_up, 2);
	assert_int_equal(n.b.sa_down, 1);
	assert_int_equal(n.b.last_down, IKE_DOWN_REPLACED);
	assert_int_equal(n.b.last_down_notify, IKE_N_INITIAL_CONTACT);
	assert_int_equal(children_up(&n.b), 1);
	assert_true(ike_sa_find(n.b.ike, "laptop") != old_b);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.sas, 1);
	teardown_net(&n);
}

/* Outer IPv6 addresses work like IPv4 ones (NAT-D over 16-byte addresses). */
static void test_ipv6_outer(void **st)
{
	struct net n;
	struct ike_peer_conf pa, pb;
	struct ike_sa_info ia;

	(void)st;
	memset(&n, 0, sizeof(n));
	n.now = 5000;
	n.a.addr = (struct ike_addr){ .family = AF_INET6, .port = 4500 };
	n.b.addr = (struct ike_addr){ .family = AF_INET6, .port = 4500 };
	inet_pton(AF_INET6, "2001:db8::a", n.a.addr.ip);
	inet_pton(AF_INET6, "2001:db8::b", n.b.addr.ip);
	n.a.ike = ike_new(NULL, test_random, NULL);
	n.b.ike = ike_new(NULL, test_random, NULL);
	peer_conf(&pa, "desktop", "laptop.alice.example.net", "desktop.alice.example.net", n.b.addr, "fd00::a", "fd00::b");
	pa.local = n.a.addr;
	peer_conf(&pb, "laptop", "desktop.alice.example.net", "laptop.alice.example.net", n.a.addr, "fd00::b", "fd00::a");
	pb.local = n.b.addr;
	assert_int_equal(ike_peer_add(n.a.ike, &pa, n.now), 0);
	assert_int_equal(ike_peer_add(n.b.ike, &pb, n.now), 0);
	connect_ok(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_false(ia.nat_local || ia.nat_remote);
	assert_int_equal(ia.remote.family, AF_INET6);
	teardown_net(&n);
}

/* ---- MOBIKE ---- */

static void test_mobike_initiator_moves(void **st)
{
	struct net n;
	struct ike_addr newa = addr4("192.0.2.77", 4500), rec;
	struct ike_sa_info ib;
	struct ike_stats s;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	n.a.addr = newa;
	assert_int_equal(ike_local_moved(n.a.ike, &(struct ike_addr){ 0 }, &newa, n.now), 1);
	pump(&n);
	assert_int_equal(n.a.moved, 1);
	assert_int_equal(n.b.moved, 1);
	rec = n.b.moved_remote;
	assert_int_equal(rec.family, AF_INET);
	assert_memory_equal(rec.ip, newa.ip, 4);
	assert_memory_equal(n.a.moved_local.ip, newa.ip, 4);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_memory_equal(ib.remote.ip, newa.ip, 4);
	/* no new handshake, no rekey: same child SAs */
	assert_int_equal(n.a.child_up, 1);
	assert_int_equal(n.a.sa_up, 1);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.mobike_updates, 1);
	/* the SA keeps working at the new address */
	assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
	pump(&n);
	check_children_match(&n);
	teardown_net(&n);
}

static struct ike_addr addr6(const char *ip, uint16_t port)
{
	struct ike_addr a = { .family = AF_INET6, .port = port };

	assert_int_equal(inet_pton(AF_INET6, ip, a.ip), 1);
	return a;
}

/* Does @p list hold address @p want (ports aside)? */
static bool has_addr(const struct ike_sa_info *in, const struct ike_addr *want)
{
	for (unsigned i = 0; i < in->n_peer_addrs; i++)
		if (in->peer_addrs[i].family == want->family &&
		    !memcmp(in->peer_addrs[i].ip, want->ip, want->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

/*
 * RFC 4555 §3.4–3.6 with two families: each end announces its other
 * addresses in IKE_AUTH (the one the tunnel runs on left out), the
 * initiator moves the tunnel from IPv4 to the peer's IPv6 address and
 * back with UPDATE_SA_ADDRESSES (no new handshake, the same child SAs), a
 * new list reaches an established tunnel in an INFORMATIONAL, and the
 * responder may not move it.
 */
static void test_mobike_family_move(void **st)
{
	struct net n;
	struct ike_addr a4 = addr4("192.0.2.1", 4500), b4 = addr4("198.51.100.7", 4500);
	struct ike_addr a6 = addr6("2001:db8:a::1", 4500), b6 = addr6("2001:db8:b::1", 4500);
	struct ike_addr b6b = addr6("2001:db8:b::2", 4500), bad = { .family = 7 };
	struct ike_addr aaddrs[2] = { a4, a6 }, baddrs[2] = { b6, b4 };
	struct ike_sa_info ia, ib;
	uint32_t ida, idb;
	struct ike_stats s;

	(void)st;
	setup_net(&n, NULL, NULL);
	assert_int_equal(ike_set_addrs(n.a.ike, aaddrs, 2, n.now), 0);
	assert_int_equal(ike_set_addrs(n.b.ike, baddrs, 2, n.now), 0);
	assert_int_equal(ike_set_addrs(n.b.ike, &bad, 1, n.now), -EINVAL);
	assert_int_equal(ike_set_addrs(n.b.ike, baddrs, IKE_MAX_ADDRS + 1, n.now), -EINVAL);
	connect_ok(&n);
	ida = ike_sa_find(n.a.ike, "desktop");
	idb = ike_sa_find(n.b.ike, "laptop");
	assert_int_equal(ike_sa_get(n.a.ike, ida, &ia), 0);
	assert_int_equal(ike_sa_get(n.b.ike, idb, &ib), 0);
	/* each learnt the other's IPv6 address, and not the IPv4 one the tunnel runs on */
	assert_int_equal(ia.n_peer_addrs, 1);
	assert_true(has_addr(&ia, &b6));
	assert_int_equal(ia.peer_addrs[0].port, 0);
	assert_int_equal(ib.n_peer_addrs, 1);
	assert_true(has_addr(&ib, &a6));
	/* not before it is established, not to mixed families, not by the responder */
	assert_int_equal(ike_sa_move(n.a.ike, ida, &a4, &b6, n.now), -EINVAL);
	assert_int_equal(ike_sa_move(n.a.ike, 9999, &a6, &b6, n.now), -ENOENT);
	assert_int_equal(ike_sa_move(n.b.ike, idb, &b6, &a6, n.now), -EPERM);

	/* IPv4 -> IPv6 */
	n.a.addr = a6;
	n.b.addr = b6;
	assert_int_equal(ike_sa_move(n.a.ike, ida, &a6, &b6, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.moved, 1);
	assert_int_equal(n.b.moved, 1);
	assert_int_equal(n.b.moved_remote.family, AF_INET6);
	assert_memory_equal(n.b.moved_remote.ip, a6.ip, 16);
	assert_memory_equal(n.b.moved_local.ip, b6.ip, 16);
	assert_int_equal(ike_sa_get(n.b.ike, idb, &ib), 0);
	assert_int_equal(ib.remote.family, AF_INET6);
	assert_false(ib.nat_local || ib.nat_remote);	/* §2.23 hashes over the 16-byte addresses match */
	assert_int_equal(ike_sa_get(n.a.ike, ida, &ia), 0);
	assert_int_equal(ia.local.family, AF_INET6);
	assert_int_equal(n.a.sa_up, 1);
	assert_int_equal(n.a.child_up, 1);
	/* the SA keeps working there */
	assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
	pump(&n);
	check_children_match(&n);

	/* B gains an address: A hears the whole new list (§3.6), IPv4 included now */
	baddrs[0] = b6b;
	assert_int_equal(ike_set_addrs(n.b.ike, baddrs, 2, n.now), 0);
	pump(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ida, &ia), 0);
	assert_int_equal(ia.n_peer_addrs, 2);
	assert_true(has_addr(&ia, &b6b));
	assert_true(has_addr(&ia, &b4));
	assert_false(has_addr(&ia, &b6));
	/* the same list again sends nothing */
	n.delivered = 0;
	assert_int_equal(ike_set_addrs(n.b.ike, baddrs, 2, n.now), 0);
	pump(&n);
	assert_int_equal(n.delivered, 0);

	/* and back to IPv4 */
	n.a.addr = a4;
	n.b.addr = b4;
	assert_int_equal(ike_sa_move(n.a.ike, ida, &a4, &b4, n.now), 0);
	pump(&n);
	assert_int_equal(n.b.moved, 2);
	assert_int_equal(n.b.moved_remote.family, AF_INET);
	assert_memory_equal(n.b.moved_remote.ip, a4.ip, 4);
	assert_int_equal(n.a.sa_up, 1);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.mobike_updates, 2);
	check_children_match(&n);
	teardown_net(&n);
}

/*
 * A new address list that waits behind a request in flight rides along
 * with the next UPDATE_SA_ADDRESSES (RFC 4555 §3.6) instead of needing
 * an exchange of its own.
 */
static void test_mobike_addrs_ride_along(void **st)
{
	struct net n;
	struct ike_addr a6 = addr6("2001:db8:a::1", 4500), b6 = addr6("2001:db8:b::1", 4500);
	struct ike_addr a6b = addr6("2001:db8:a::2", 0);
	struct ike_addr alist[2] = { a6, a6b };
	struct ike_sa_info ib;
	struct ike_stats before, after;
	uint32_t ida;

	(void)st;
	setup_net(&n, NULL, NULL);
	assert_int_equal(ike_set_addrs(n.b.ike, &b6, 1, n.now), 0);
	connect_ok(&n);
	ida = ike_sa_find(n.a.ike, "desktop");
	ike_stats_get(n.a.ike, &before);
	/* a liveness check in flight: the new list and the move both wait for it */
	n.hold = true;
	assert_int_equal(ike_sa_dpd(n.a.ike, ida, n.now), 0);
	pump(&n);
	assert_int_equal(n.nheld, 1);
	assert_int_equal(ike_set_addrs(n.a.ike, alist, 2, n.now), 0);
	n.a.addr = a6;
	n.b.addr = b6;
	assert_int_equal(ike_sa_move(n.a.ike, ida, &a6, &b6, n.now), 0);
	pump(&n);
	assert_int_equal(n.nheld, 1);	/* nothing else left while the check was unanswered */
	n.hold = false;
	release_held(&n);
	pump(&n);
	assert_int_equal(n.b.moved, 1);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	assert_int_equal(ib.remote.family, AF_INET6);
	/* the list came with the move: only a6b, a6 being the tunnel's own address now */
	assert_int_equal(ib.n_peer_addrs, 1);
	assert_true(has_addr(&ib, &a6b));
	/* the check, then one more exchange for both the move and the list */
	ike_stats_get(n.a.ike, &after);
	assert_int_equal(after.tx - before.tx, 2);
	teardown_net(&n);
}

static void tw_nomobike(struct ike_peer_conf *pc, bool is_a);

/* Without MOBIKE there is no address list, and no move. */
static void test_family_move_needs_mobike(void **st)
{
	struct net n;
	struct ike_addr a6 = addr6("2001:db8:a::1", 4500), b6 = addr6("2001:db8:b::1", 4500);
	struct ike_sa_info ia;
	uint32_t ida;

	(void)st;
	setup_net(&n, NULL, tw_nomobike);
	assert_int_equal(ike_set_addrs(n.b.ike, &b6, 1, n.now), 0);
	connect_ok(&n);
	ida = ike_sa_find(n.a.ike, "desktop");
	assert_int_equal(ike_sa_get(n.a.ike, ida, &ia), 0);
	assert_int_equal(ia.n_peer_addrs, 0);
	assert_int_equal(ike_sa_move(n.a.ike, ida, &a6, &b6, n.now), -EOPNOTSUPP);
	teardown_net(&n);
}

static void test_mobike_behind_new_nat(void **st)
{
	struct net n;
	struct ike_addr newa = addr4("192.168.1.2", 4500);
	struct ike_sa_info ia, ib;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	/* A moves behind a NAT: B sees 203.0.113.10:61001 */
	n.nat_a = true;
	n.a_public = addr4("203.0.113.10", 61001);
	assert_int_equal(ike_local_moved(n.a.ike, &n.a.addr, &newa, n.now), 1);
	pump(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_int_equal(ike_sa_get(n.b.ike, ike_sa_find(n.b.ike, "laptop"), &ib), 0);
	/* NAT detection redone on both ends */
	assert_true(ia.nat_local);
	assert_false(ia.nat_remote);
	assert_true(ib.nat_remote);
	assert_false(ib.nat_local);
	assert_int_equal(ib.remote.port, 61001);
	assert_int_equal(n.b.moved, 1);
	teardown_net(&n);
}

static void test_mobike_peer_set_remote(void **st)
{
	struct net n;
	struct ike_addr newb = addr4("198.51.100.99", 4500);

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	/* the daemon learns B's new address from DNS: A (initiator) moves the SA there */
	assert_int_equal(ike_peer_set_remote(n.a.ike, "desktop", &newb, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.moved, 1);
	assert_memory_equal(n.a.moved_remote.ip, newb.ip, 4);
	assert_int_equal(n.b.moved, 1);
	assert_memory_equal(n.b.moved_local.ip, newb.ip, 4);
	teardown_net(&n);
}

/* Between two of ours, the responder may move too (RFC 4555 gives that to the initiator only). */
static void test_mobike_responder_moves(void **st)
{
	struct net n;
	struct ike_addr newb = addr4("198.51.100.8", 4500);
	struct ike_sa_info ia;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	n.b.addr = newb;
	assert_int_equal(ike_local_moved(n.b.ike, &(struct ike_addr){ 0 }, &newb, n.now), 1);
	pump(&n);
	assert_int_equal(n.a.moved, 1);
	assert_int_equal(n.b.moved, 1);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_memory_equal(ia.remote.ip, newb.ip, 4);
	/* the initiator's retransmissions and requests follow */
	assert_int_equal(ike_sa_dpd(n.a.ike, ia.sa_id, n.now), 0);
	pump(&n);
	assert_int_equal(n.a.sa_down, 0);
	teardown_net(&n);
}

static void tw_nomobike(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a)
		pc->no_mobike = true;
}

/* Without MOBIKE, a NATed peer is followed to its new port on authenticated messages (§2.23). */
static void test_nat_follow_without_mobike(void **st)
{
	struct net n;
	struct ike_sa_info ia;

	(void)st;
	setup_net(&n, NULL, tw_nomobike);
	n.nat_a = true;
	n.a_public = addr4("203.0.113.10", 61001);
	connect_ok(&n);
	assert_int_equal(ike_sa_get(n.a.ike, ike_sa_find(n.a.ike, "desktop"), &ia), 0);
	assert_false(ia.mobike);
	assert_true(ia.nat_local);
	n.a_public = addr4("203.0.113.10", 61002);	/* the NAT rebooted */
	assert_int_equal(ike_sa_dpd(n.a.ike, ia.sa_id, n.now), 0);
	pump(&n);
	assert_int_equal(n.b.moved, 1);
	assert_int_equal(n.b.moved_remote.port, 61002);
	teardown_net(&n);
}

/* ---- robustness ---- */

static uint8_t cap[4096];
static size_t cap_len;
static bool capture_a(struct net *n, struct side *from, const uint8_t *pkt, size_t len)
{
	if (from == &n->a && len <= sizeof(cap)) {
		memcpy(cap, pkt, len);
		cap_len = len;
	}
	return true;
}

static void test_garbage_and_replays(void **st)
{
	struct net n;
	uint8_t junk[300], bad[4096];
	struct ike_stats s0, s;
	uint32_t id;

	(void)st;
	setup_net(&n, NULL, NULL);
	connect_ok(&n);
	memset(junk, 0xa5, sizeof(junk));
	/* IKE major version 10 */
	assert_int_equal(ike_input(n.b.ike, junk, sizeof(junk), &n.b.addr, &n.a.addr, n.now), -EPROTO);
	assert_int_equal(ike_input(n.b.ike, junk, 3, &n.b.addr, &n.a.addr, n.now), -EBADMSG);
	junk[17] = 0x20;	/* version 2.0, but the length field and payloads are garbage */
	assert_int_equal(ike_input(n.b.ike, junk, sizeof(junk), &n.b.addr, &n.a.addr, n.now), -EBADMSG);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.rx_bad, 2);
	assert_int_equal(s.rx_dropped, 3);
	/* capture a DPD request from A */
	n.filter = capture_a;
	id = ike_sa_find(n.a.ike, "desktop");
	assert_int_equal(ike_sa_dpd(n.a.ike, id, n.now), 0);
	pump(&n);
	assert_true(cap_len > IKE_HDR_LEN);
	ike_stats_get(n.b.ike, &s0);
	/* a flipped bit in the encrypted payload fails the integrity check */
	memcpy(bad, cap, cap_len);
	bad[cap_len - 20] ^= 1;
	assert_int_equal(ike_input(n.b.ike, bad, cap_len, &n.b.addr, &n.a.addr, n.now), -EBADMSG);
	/* so does a changed header (it is authenticated data) */
	memcpy(bad, cap, cap_len);
	bad[19] ^= 0x40;	/* a flag bit the window check ignores */
	assert_true(ike_input(n.b.ike, bad, cap_len, &n.b.addr, &n.a.addr, n.now) < 0);
	/* a truncated message: its length no longer matches the header */
	assert_int_equal(ike_input(n.b.ike, cap, cap_len - 1, &n.b.addr, &n.a.addr, n.now), -EBADMSG);
	/* the replayed request is answered from the cache once more (§2.1), not processed */
	assert_int_equal(ike_input(n.b.ike, cap, cap_len, &n.b.addr, &n.a.addr, n.now), -EAGAIN);
	pump(&n);
	/* after the next exchange, the old message ID is outside the window: dropped silently */
	memcpy(bad, cap, cap_len);
	n.filter = NULL;
	assert_int_equal(ike_sa_dpd(n.a.ike, id, n.now), 0);
	pump(&n);
	ike_stats_get(n.b.ike, &s0);
	assert_int_equal(ike_input(n.b.ike, bad, cap_len, &n.b.addr, &n.a.addr, n.now), -EAGAIN);
	ike_stats_get(n.b.ike, &s);
	assert_int_equal(s.tx, s0.tx);
	pump(&n);
	assert_int_equal(n.a.sa_down + n.b.sa_down, 0);
	teardown_net(&n);
}

/* RFC 3104 §5: A's inbound SPIs come from the list it was given (an RSIP gateway's), in turn. */
static void tw_spis(struct ike_peer_conf *pc, bool is_a)
{
	if (!is_a)
		return;
	pc->spis_in[0] = 0x00100010;
	pc->spis_in[1] = 0x00100011;
	pc->spis_in[2] = 0x00100012;
	pc->n_spis_in = 3;
}

static void test_given_spis(void **st)
{
	struct net n;
	struct ike_peer_conf bad;
	struct ike *x;

	(void)st;
	setup_net(&n, NULL, tw_spis);
	connect_ok(&n);
	assert_int_equal(newest(&n.a)->spi_in, 0x00100010);
	assert_int_equal(newest(&n.b)->spi_out, 0x00100010);
	/* our rekey takes the next one */
	assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(newest(&n.a)->spi_in, 0x00100011);
	/* so does the peer's: B chooses its own SPI, A answers with the next of its list */
	assert_int_equal(ike_child_rekey(n.b.ike, newest(&n.b)->spi_in, n.now), 0);
	pump(&n);
	assert_int_equal(newest(&n.a)->spi_in, 0x00100012);
	assert_int_equal(newest(&n.b)->spi_out, 0x00100012);
	/* and round again: one of the list that is free (not 0x00100012, still in use until the rekey ends) */
	assert_int_equal(ike_child_rekey(n.a.ike, newest(&n.a)->spi_in, n.now), 0);
	pump(&n);
	assert_true(newest(&n.a)->spi_in == 0x00100010 || newest(&n.a)->spi_in == 0x00100011);
	assert_int_equal(newest(&n.a)->replaces, 0x00100012);
	assert_int_equal(children_up(&n.a), 1);
	check_children_match(&n);
	/* B was given none: its SPIs are random, never from A's list */
	assert_true(newest(&n.b)->spi_in < 0x00100010 || newest(&n.b)->spi_in > 0x00100012);
	teardown_net(&n);

	/* a listed SPI below 256, or too many, is refused */
	x = ike_new(NULL, test_random, NULL);
	assert_non_null(x);
	peer_conf(&bad, "p", "a.example.net", "b.example.net", addr4("192.0.2.9", 500), "fd00::a", "fd00::b");
	bad.spis_in[0] = 255;
	bad.n_spis_in = 1;
	assert_int_equal(ike_peer_add(x, &bad, 0), -EINVAL);
	bad.spis_in[0] = 256;
	bad.n_spis_in = IKE_MAX_SPIS_IN + 1;
	assert_int_equal(ike_peer_add(x, &bad, 0), -EINVAL);
	bad.n_spis_in = 1;
	assert_int_equal(ike_peer_add(x, &bad, 0), 0);
	ike_free(x);
}

/* A random source that remembers what it gave: a byte counter, chunk by chunk. */
struct scripted {
	uint8_t next;
	unsigned n;
	uint8_t out[16][64];
	size_t len[16];
	bool fail;
};

static int scripted_random(void *arg, void *buf, size_t len)
{
	struct scripted *r = arg;
	uint8_t *p = buf;

	if (r->fail)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		p[i] = r->next++;
	if (r->n < 16 && len <= 64) {
		memcpy(r->out[r->n], buf, len);
		r->len[r->n++] = len;
	}
	return 0;
}

/* Every random byte comes from the daemon's source: the SPI and nonce of IKE_SA_INIT are its output. */
static void test_random_source(void **st)
{
	struct scripted r = { .next = 1 };
	struct ike_peer_conf pc;
	struct ike_event ev;
	struct ike_msg m;
	struct ike *x;
	bool spi_seen = false, nonce_seen = false;

	(void)st;
	assert_null(ike_new(NULL, NULL, NULL));
	r.fail = true;
	assert_null(ike_new(NULL, scripted_random, &r));	/* no cookie secret without it */
	r.fail = false;
	x = ike_new(NULL, scripted_random, &r);
	assert_non_null(x);
	peer_conf(&pc, "p", "a.example.net", "b.example.net", addr4("192.0.2.9", 4500), "fd00::a", "fd00::b");
	assert_int_equal(ike_peer_add(x, &pc, 0), 0);
	assert_true(ike_connect(x, "p", 0) > 0);
	assert_true(ike_poll(x, &ev));
	assert_int_equal(ev.type, IKE_EV_SEND);
	assert_int_equal(ike_msg_parse(ev.send.data, ev.send.len, &m), 0);
	assert_int_equal(m.nonce.len, 32);
	for (unsigned i = 0; i < r.n; i++) {
		uint64_t spi;

		if (r.len[i] == 8) {
			memcpy(&spi, r.out[i], 8);
			spi_seen |= spi == m.h.spi_i;
		}
		if (r.len[i] == 32)
			nonce_seen |= memcmp(r.out[i], m.nonce.p, 32) == 0;
	}
	assert_true(spi_seen);
	assert_true(nonce_seen);
	ike_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_31),
		cmocka_unit_test(test_child_spi_range),
		cmocka_unit_test(test_handshake_19),
		cmocka_unit_test(test_handshake_14),
		cmocka_unit_test(test_handshake_20),
		cmocka_unit_test(test_handshake_15),
		cmocka_unit_test(test_rfc8247_algorithms),
		cmocka_unit_test(test_cert_ed25519),
		cmocka_unit_test(test_cert_ecdsa_p256),
		cmocka_unit_test(test_cert_mixed),
		cmocka_unit_test(test_cert_wrong_ca),
		cmocka_unit_test(test_cert_id_not_in_san),
		cmocka_unit_test(test_cert_expired),
		cmocka_unit_test(test_cert_against_psk),
		cmocka_unit_test(test_cert_policy),
		cmocka_unit_test(test_cert_initiator_refuses),
		cmocka_unit_test(test_cert_conf),
		cmocka_unit_test(test_handshake_chacha_noesn),
		cmocka_unit_test(test_handshake_cbc_sha512),
		cmocka_unit_test(test_invalid_ke_retry),
		cmocka_unit_test(test_no_common_group),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_identity),
		cmocka_unit_test(test_wildcard_responder),
		cmocka_unit_test(test_ts_unacceptable),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_cookie_bound_to_address),
		cmocka_unit_test(test_half_open_limit),
		cmocka_unit_test(test_retransmit),
		cmocka_unit_test(test_lost_response),
		cmocka_unit_test(test_dpd_timeout),
		cmocka_unit_test(test_child_rekey),
		cmocka_unit_test(test_child_rekey_timer),
		cmocka_unit_test(test_child_rekey_no_pfs),
		cmocka_unit_test(test_ike_rekey),
		cmocka_unit_test(test_child_rekey_collision),
		cmocka_unit_test(test_ike_rekey_collision),
		cmocka_unit_test(test_simultaneous_connect),
		cmocka_unit_test(test_initial_contact),
		cmocka_unit_test(test_ipv6_outer),
		cmocka_unit_test(test_mobike_family_move),
		cmocka_unit_test(test_family_move_needs_mobike),
		cmocka_unit_test(test_mobike_addrs_ride_along),
		cmocka_unit_test(test_mobike_initiator_moves),
		cmocka_unit_test(test_mobike_behind_new_nat),
		cmocka_unit_test(test_mobike_peer_set_remote),
		cmocka_unit_test(test_mobike_responder_moves),
		cmocka_unit_test(test_nat_follow_without_mobike),
		cmocka_unit_test(test_garbage_and_replays),
		cmocka_unit_test(test_given_spis),
		cmocka_unit_test(test_random_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
