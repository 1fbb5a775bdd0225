/*
 * lib/stun/turn_client: the TURN client state machine against a scripted
 * server built with lib/stun's builder, on a fake clock. Times asserted
 * are exact: the RFC 8489 §6.2.1 schedule (0, 0.5, 1.5, 3.5, 7.5, 15.5,
 * 31.5 s, failure at 39.5 s) at its edges, refresh at 2/3 of the lifetime,
 * permissions refreshed 240 s and channels 540 s after they were made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stun/frame.h"
#include "stun/msg.h"
#include "stun/turn_client.h"

#define USER "1700000000:alice"
#define PASS "s3cret"
#define REALM "example.net"

static struct turn_out out;	/* large: not on the stack */
static uint8_t rbuf[2048];

static void fake_random(void *arg, void *buf, size_t len)
{
	unsigned *ctr = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(*ctr + i);
	(*ctr)++;
}

static unsigned rnd_ctr;

static struct sockaddr_storage sa4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct turn_client *mk(bool stream)
{
	struct turn_client_config cfg;
	struct turn_client *c;

	turn_client_config_default(&cfg, stream);
	c = turn_client_new(&cfg, USER, PASS, fake_random, &rnd_ctr);
	assert_non_null(c);
	return c;
}

static size_t key(uint8_t k[STUN_KEY_MAX])
{
	int n = stun_key_long_term(STUN_PASSWORD_MD5, USER, REALM, PASS, k);

	assert_int_equal(n, 16);
	return (size_t)n;
}

/* The @p i-th message sent, parsed into @p m. */
static void sent(unsigned i, struct stun_msg *m)
{
	assert_true(i < out.n_msgs);
	assert_int_equal(stun_msg_parse(out.msgs[i].buf, out.msgs[i].len, m), 0);
	assert_int_equal(m->cls, STUN_CLASS_REQUEST);
	assert_true(m->fingerprint);
}

/* What the scripted server answers. */
struct resp {
	unsigned code;		/* 0: success */
	const char *nonce;	/* NULL: none */
	bool realm;
	bool sign;		/* MESSAGE-INTEGRITY with the right key */
	bool bad_key;		/* ... with another key */
	bool relayed;		/* XOR-RELAYED-ADDRESS, XOR-MAPPED-ADDRESS */
	uint32_t lifetime;	/* 0: none */
	bool wrong_tid;
	uint16_t method;	/* 0: the request's */
};

static size_t answer(const struct stun_msg *req, const struct resp *r)
{
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN], k[STUN_KEY_MAX];
	size_t kl = key(k);
	int n;

	memcpy(tid, req->tid, sizeof(tid));
	if (r->wrong_tid)
		tid[0] ^= 0x80;
	stun_builder_start(&b, rbuf, sizeof(rbuf), r->method ? r->method : req->method,
			   r->code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, tid);
	if (r->code)
		stun_builder_add_error(&b, r->code, "no");
	if (r->realm)
		stun_builder_add_string(&b, STUN_ATTR_REALM, REALM);
	if (r->nonce)
		stun_builder_add_string(&b, STUN_ATTR_NONCE, r->nonce);
	if (r->relayed) {
		struct sockaddr_storage rel = sa4("198.51.100.1", 50000), map = sa4("203.0.113.7", 4500);

		stun_builder_add_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&rel);
		stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&map);
	}
	if (r->lifetime)
		stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, r->lifetime);
	if (r->sign) {
		if (r->bad_key)
			k[0] ^= 1;
		stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, k, kl);
	}
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static const struct turn_event *ev(unsigned i)
{
	assert_true(i < out.n_events);
	return &out.events[i];
}

static void reply(struct turn_client *c, const struct stun_msg *req, const struct resp *r, uint64_t now)
{
	size_t n = answer(req, r);

	turn_client_on_input(c, rbuf, n, now, &out);
}

/* Allocate through the 401 challenge; returns with ALLOCATED at @p now. */
static void allocate(struct turn_client *c, uint64_t now)
{
	struct stun_msg m;
	uint8_t k[STUN_KEY_MAX];
	size_t kl = key(k);
	uint8_t tid1[STUN_TID_LEN];

	turn_client_start(c, now, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	/* RFC 8656 §7.1: UDP relaying; the first request has no credentials */
	uint8_t proto;
	uint32_t lt;

	assert_int_equal(stun_msg_get_requested_transport(&m, &proto), 0);
	assert_int_equal(proto, STUN_TRANSPORT_UDP);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_LIFETIME, &lt), 0);
	assert_int_equal(lt, 600);
	assert_false(stun_msg_has(&m, STUN_ATTR_USERNAME));
	assert_int_equal(m.mi_off, 0);
	memcpy(tid1, m.tid, sizeof(tid1));

	reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n1" }, now + 10);
	assert_int_equal(out.n_events, 0);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_memory_not_equal(m.tid, tid1, STUN_TID_LEN);	/* a new transaction */
	char s[64];

	assert_true(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, sizeof(s)) > 0);
	assert_string_equal(s, USER);
	assert_true(stun_msg_get_string(&m, STUN_ATTR_REALM, s, sizeof(s)) > 0);
	assert_string_equal(s, REALM);
	assert_true(stun_msg_get_string(&m, STUN_ATTR_NONCE, s, sizeof(s)) > 0);
	assert_string_equal(s, "n1");
	assert_int_equal(stun_msg_check_integrity(&m, STUN_INTEGRITY_SHA1, k, kl), 0);
	reply(c, &m, &(struct resp){ .sign = true, .relayed = true, .lifetime = 600 }, now + 20);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_ALLOCATED);
	assert_int_equal(ev(0)->lifetime, 600);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&ev(0)->addr)->sin_port), 50000);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&ev(0)->mapped)->sin_port), 4500);
	assert_int_equal(turn_client_state(c), TURN_ALLOCATED);
	/* refresh at 2/3 of 600 s */
	assert_int_equal(out.deadline, now + 20 + 400000);
}

/* Add a peer with a channel and answer both requests; returns its index. */
static int add_peer(struct turn_client *c, const char *ip, uint16_t port, uint64_t now)
{
	struct sockaddr_storage p = sa4(ip, port);
	struct stun_msg perm, chan;
	int idx = turn_client_peer_add(c, (struct sockaddr *)&p, true, now, &out);

	assert_true(idx >= 0);
	assert_int_equal(out.n_msgs, 2);
	sent(0, &perm);
	sent(1, &chan);
	assert_int_equal(perm.method, STUN_METHOD_CREATE_PERMISSION);
	assert_int_equal(chan.method, STUN_METHOD_CHANNEL_BIND);
	reply(c, &perm, &(struct resp){ .sign = true }, now);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_PERMISSION);
	reply(c, &chan, &(struct resp){ .sign = true }, now);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_CHANNEL);
	return idx;
}

static void happy_path(void **state)
{
	struct turn_client *c = mk(false);
	struct sockaddr_storage p = sa4("192.0.2.9", 7000), got;
	struct stun_msg perm, chan, m;
	struct stun_chandata cd;
	uint8_t buf[256];
	uint16_t ch;
	int idx, n;

	(void)state;
	assert_int_equal(turn_client_relayed(c, &got), -ENOTCONN);
	allocate(c, 1000);
	assert_int_equal(turn_client_relayed(c, &got), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&got)->sin_port), 50000);

	idx = turn_client_peer_add(c, (struct sockaddr *)&p, true, 2000, &out);
	assert_int_equal(idx, 0);
	assert_int_equal(turn_client_peer_find(c, (struct sockaddr *)&p), 0);
	assert_int_equal(out.n_msgs, 2);
	sent(0, &perm);
	sent(1, &chan);
	assert_int_equal(perm.method, STUN_METHOD_CREATE_PERMISSION);
	assert_int_equal(stun_msg_get_addr(&perm, STUN_ATTR_XOR_PEER_ADDRESS, 0, &got), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&got)->sin_port), 7000);
	assert_int_equal(chan.method, STUN_METHOD_CHANNEL_BIND);
	assert_int_equal(stun_msg_get_channel(&chan, &ch), 0);
	assert_int_equal(ch, 0x4000);
	/* no permission yet: nothing can be sent */
	assert_int_equal(turn_client_send(c, idx, "x", 1, buf, sizeof(buf)), -ENOTCONN);

	reply(c, &perm, &(struct resp){ .sign = true }, 2100);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_PERMISSION);
	assert_int_equal(ev(0)->peer, 0);
	/* permission, no channel yet: a Send indication (RFC 8656 §11.1) */
	n = turn_client_send(c, idx, "hello", 5, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(stun_msg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.method, STUN_METHOD_SEND);
	assert_int_equal(m.cls, STUN_CLASS_INDICATION);
	{
		const uint8_t *d;
		size_t dl;

		assert_int_equal(stun_msg_get_data(&m, &d, &dl), 0);
		assert_int_equal(dl, 5);
		assert_memory_equal(d, "hello", 5);
		assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, 0, &got), 0);
		assert_int_equal(ntohs(((struct sockaddr_in *)&got)->sin_port), 7000);
	}
	reply(c, &chan, &(struct resp){ .sign = true }, 2200);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_CHANNEL);
	assert_int_equal(ev(0)->channel, 0x4000);
	/* bound: ChannelData, unpadded over UDP */
	n = turn_client_send(c, idx, "hello", 5, buf, sizeof(buf));
	assert_int_equal(n, 9);
	assert_int_equal(buf[0], 0x40);
	assert_int_equal(buf[1], 0x00);
	assert_int_equal(stun_chandata_parse(buf, (size_t)n, false, &cd), 0);
	assert_memory_equal(cd.data, "hello", 5);

	/* ChannelData from the server: a datagram from the peer */
	n = stun_chandata_build(0x4000, "pong", 4, false, buf, sizeof(buf));
	turn_client_on_input(c, buf, (size_t)n, 3000, &out);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_DATA);
	assert_int_equal(ev(0)->peer, 0);
	assert_int_equal(ev(0)->channel, 0x4000);
	assert_int_equal(ev(0)->len, 4);
	assert_memory_equal(ev(0)->data, "pong", 4);
	/* a channel nobody bound: ignored */
	n = stun_chandata_build(0x4001, "pong", 4, false, buf, sizeof(buf));
	turn_client_on_input(c, buf, (size_t)n, 3000, &out);
	assert_int_equal(out.n_events, 0);

	/* a Data indication (RFC 8656 §11.4) */
	{
		struct stun_builder b;
		uint8_t tid[STUN_TID_LEN] = { 9 };
		struct sockaddr_storage other = sa4("192.0.2.10", 7001);

		stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
		stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&other);
		stun_builder_add(&b, STUN_ATTR_DATA, "abc", 3);
		n = stun_builder_finish(&b);
		assert_true(n > 0);
		turn_client_on_input(c, buf, (size_t)n, 3000, &out);
		assert_int_equal(out.n_events, 1);
		assert_int_equal(ev(0)->kind, TURN_EV_DATA);
		assert_int_equal(ev(0)->peer, -1);	/* not one of ours */
		assert_int_equal(ev(0)->channel, 0);
		assert_int_equal(ev(0)->len, 3);
		/* without DATA: discarded (RFC 8656 §11.6) */
		stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
		stun_builder_add_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&other);
		n = stun_builder_finish(&b);
		turn_client_on_input(c, buf, (size_t)n, 3000, &out);
		assert_int_equal(out.n_events, 0);
	}

	/* deallocate: Refresh with LIFETIME 0 */
	turn_client_close(c, 4000, &out);
	assert_int_equal(turn_client_state(c), TURN_CLOSING);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	{
		uint32_t lt = 99;

		assert_int_equal(m.method, STUN_METHOD_REFRESH);
		assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_LIFETIME, &lt), 0);
		assert_int_equal(lt, 0);
	}
	assert_int_equal(out.deadline, 4500);	/* its retransmission */
	reply(c, &m, &(struct resp){ .sign = true, .lifetime = 0 }, 4100);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_CLOSED);
	assert_int_equal(ev(0)->code, 0);
	assert_int_equal(turn_client_state(c), TURN_CLOSED);
	assert_int_equal(out.deadline, TURN_NEVER);
	turn_client_free(c);
}

static void wrong_credentials(void **state)
{
	struct turn_client *c = mk(false);
	struct stun_msg m;

	(void)state;
	turn_client_start(c, 0, &out);
	sent(0, &m);
	reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n1" }, 1);
	sent(0, &m);
	assert_true(m.mi_off != 0);
	/* one more try with the nonce given again (a server that forgot it) */
	reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n2" }, 2);
	assert_int_equal(out.n_events, 0);
	sent(0, &m);
	/* refused a second time: the credentials are wrong (or expired) */
	reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n3" }, 3);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	assert_int_equal(ev(0)->code, 401);
	assert_int_equal(turn_client_state(c), TURN_FAILED);
	assert_int_equal(out.deadline, TURN_NEVER);
	/* started again: the realm is known, so the first request is signed */
	turn_client_start(c, 10, &out);
	sent(0, &m);
	assert_true(m.mi_off != 0);
	turn_client_free(c);
	/* a challenge without NONCE cannot be answered: failed at once */
	c = mk(false);
	turn_client_start(c, 0, &out);
	sent(0, &m);
	reply(c, &m, &(struct resp){ .code = 401, .realm = true }, 1);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	assert_int_equal(ev(0)->code, 401);
	turn_client_free(c);
}

static void stale_nonce(void **state)
{
	struct turn_client *c = mk(false);
	struct stun_msg m;
	char s[32];

	(void)state;
	allocate(c, 0);
	turn_client_on_timeout(c, 400020, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	/* 438 without REALM: the realm stays, the nonce changes */
	reply(c, &m, &(struct resp){ .code = 438, .nonce = "fresh" }, 400030);
	assert_int_equal(out.n_events, 0);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	assert_true(stun_msg_get_string(&m, STUN_ATTR_NONCE, s, sizeof(s)) > 0);
	assert_string_equal(s, "fresh");
	reply(c, &m, &(struct resp){ .sign = true, .lifetime = 300 }, 400040);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_REFRESHED);
	assert_int_equal(ev(0)->lifetime, 300);
	assert_int_equal(out.deadline, 400040 + 200000);

	/* three 438s are taken, the fourth fails the Refresh: allocate again */
	turn_client_on_timeout(c, 600040, &out);
	sent(0, &m);
	for (int i = 0; i < 3; i++) {
		reply(c, &m, &(struct resp){ .code = 438, .realm = true, .nonce = "again" }, 600050);
		assert_int_equal(out.n_events, 0);
		sent(0, &m);
	}
	reply(c, &m, &(struct resp){ .code = 438, .realm = true, .nonce = "again" }, 600060);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_REALLOCATING);
	assert_int_equal(ev(0)->code, 438);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_true(m.mi_off != 0);	/* credentials known: sent at once */
	turn_client_free(c);
}

static void refresh_timing_and_failure(void **state)
{
	struct turn_client *c = mk(true);
	struct stun_msg m;
	int idx;

	(void)state;
	allocate(c, 0);		/* allocated at 20 ms */
	idx = add_peer(c, "192.0.2.9", 7000, 200000);
	/* not a millisecond early */
	turn_client_on_timeout(c, 400019, &out);
	assert_int_equal(out.n_msgs, 0);
	turn_client_on_timeout(c, 400020, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	/* a Refresh that goes unanswered (stream: 39.5 s) is tried again */
	assert_int_equal(out.deadline, 400020 + 39500);
	turn_client_on_timeout(c, 400020 + 39500, &out);
	assert_int_equal(out.n_events, 0);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	/* 437: the server lost the allocation; allocate again and re-install the peer */
	reply(c, &m, &(struct resp){ .code = 437, .sign = true }, 440000);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_REALLOCATING);
	assert_int_equal(ev(0)->code, 437);
	assert_int_equal(turn_client_state(c), TURN_ALLOCATING);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	{
		uint8_t buf[64];

		assert_int_equal(turn_client_send(c, idx, "x", 1, buf, sizeof(buf)), -ENOTCONN);
	}
	reply(c, &m, &(struct resp){ .sign = true, .relayed = true, .lifetime = 600 }, 440100);
	assert_int_equal(ev(0)->kind, TURN_EV_ALLOCATED);
	assert_int_equal(out.n_msgs, 2);	/* permission and channel again */
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_CREATE_PERMISSION);
	sent(1, &m);
	assert_int_equal(m.method, STUN_METHOD_CHANNEL_BIND);
	{
		uint16_t ch;

		assert_int_equal(stun_msg_get_channel(&m, &ch), 0);
		assert_int_equal(ch, 0x4000);	/* a new allocation numbers from the start */
	}
	turn_client_free(c);
}

/* A probe: Refresh now; none while one runs or before the allocation; 437 to it allocates again. */
static void refresh_now_probe(void **state)
{
	struct turn_client *c = mk(false);
	struct stun_msg m;

	(void)state;
	turn_client_refresh_now(c, 0, &out);
	assert_int_equal(out.n_msgs, 0);	/* not allocated */
	assert_int_equal(out.deadline, TURN_NEVER);
	allocate(c, 0);				/* allocated at 20 ms */
	turn_client_refresh_now(c, 30000, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	assert_int_equal(out.deadline, 30000 + 500);	/* its retransmission */
	turn_client_refresh_now(c, 30100, &out);
	assert_int_equal(out.n_msgs, 0);	/* one runs already */
	reply(c, &m, &(struct resp){ .sign = true, .lifetime = 600 }, 30200);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_REFRESHED);
	assert_int_equal(out.deadline, 30200 + 400000);	/* the next at 2/3 of the lifetime from here */
	turn_client_refresh_now(c, 60000, &out);
	sent(0, &m);
	/* a restarted server: 437 (RFC 8656 §8), allocate again */
	reply(c, &m, &(struct resp){ .code = 437, .sign = true }, 60100);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_REALLOCATING);
	assert_int_equal(ev(0)->code, 437);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	turn_client_free(c);
}

static void refresh_until_expiry(void **state)
{
	struct turn_client *c = mk(true);	/* stream: one send, 39.5 s timeout */
	struct stun_msg m;
	unsigned refreshes = 0;
	uint64_t now = 400020;

	(void)state;
	allocate(c, 0);		/* expires at 600020 */
	turn_client_on_timeout(c, now, &out);
	for (;;) {
		if (out.n_events)
			break;
		if (out.n_msgs) {
			sent(0, &m);
			assert_int_equal(m.method, STUN_METHOD_REFRESH);
			refreshes++;
		}
		assert_true(out.deadline > now);
		now = out.deadline;
		turn_client_on_timeout(c, now, &out);
	}
	/* 400.02, 439.52, 479.02, 518.52, 558.02, 597.52 s; expired at 600.02 */
	assert_int_equal(refreshes, 6);
	assert_int_equal(now, 600020);
	assert_int_equal(ev(0)->kind, TURN_EV_REALLOCATING);
	assert_int_equal(ev(0)->code, TURN_CODE_TIMEOUT);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	turn_client_free(c);
}

static void peer_refresh_deadlines(void **state)
{
	struct turn_client *c = mk(false);
	struct stun_msg m;

	(void)state;
	allocate(c, 0);
	(void)add_peer(c, "192.0.2.9", 7000, 1000);
	/* permission refreshed 240 s after it was made, channel 540 s after */
	assert_int_equal(out.deadline, 1000 + 240000);
	turn_client_on_timeout(c, 240999, &out);
	assert_int_equal(out.n_msgs, 0);
	turn_client_on_timeout(c, 241000, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_CREATE_PERMISSION);
	reply(c, &m, &(struct resp){ .sign = true }, 241100);
	assert_int_equal(out.n_events, 0);	/* a refresh is no news */
	/* the allocation's own Refresh at 400.02 s */
	assert_int_equal(out.deadline, 400020);
	turn_client_on_timeout(c, 400020, &out);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_REFRESH);
	reply(c, &m, &(struct resp){ .sign = true, .lifetime = 600 }, 400030);
	assert_int_equal(out.deadline, 241100 + 240000);
	turn_client_on_timeout(c, 481100, &out);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_CREATE_PERMISSION);
	reply(c, &m, &(struct resp){ .sign = true }, 481100);
	assert_int_equal(out.deadline, 541000);
	turn_client_on_timeout(c, 541000, &out);
	assert_int_equal(out.n_msgs, 1);
	sent(0, &m);
	assert_int_equal(m.method, STUN_METHOD_CHANNEL_BIND);
	/* a refused ChannelBind drops the peer */
	reply(c, &m, &(struct resp){ .code = 400, .sign = true }, 541100);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_PEER_FAILED);
	assert_int_equal(ev(0)->code, 400);
	{
		struct sockaddr_storage p = sa4("192.0.2.9", 7000);

		assert_int_equal(turn_client_peer_find(c, (struct sockaddr *)&p), -1);
	}
	turn_client_free(c);
}

static void retransmission_udp(void **state)
{
	static const uint64_t at[] = { 500, 1500, 3500, 7500, 15500, 31500 };
	struct turn_client *c = mk(false);
	struct stun_msg m;
	uint8_t first[TURN_MAX_MSG];
	size_t flen;

	(void)state;
	turn_client_start(c, 0, &out);
	assert_int_equal(out.n_msgs, 1);
	flen = out.msgs[0].len;
	memcpy(first, out.msgs[0].buf, flen);
	assert_int_equal(out.deadline, 500);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		turn_client_on_timeout(c, at[i] - 1, &out);
		assert_int_equal(out.n_msgs, 0);
		turn_client_on_timeout(c, at[i], &out);
		assert_int_equal(out.n_msgs, 1);
		/* the same bytes again (RFC 8489 §6.2.1) */
		assert_int_equal(out.msgs[0].len, flen);
		assert_memory_equal(out.msgs[0].buf, first, flen);
		assert_int_equal(out.deadline, i + 1 < sizeof(at) / sizeof(at[0]) ? at[i + 1] : 39500);
	}
	/* seven sends in all, then Rm = 16 RTOs of waiting */
	turn_client_on_timeout(c, 39499, &out);
	assert_int_equal(out.n_msgs + out.n_events, 0);
	turn_client_on_timeout(c, 39500, &out);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	assert_int_equal(ev(0)->code, TURN_CODE_TIMEOUT);
	/* an answer after the timeout is ignored */
	assert_int_equal(stun_msg_parse(first, flen, &m), 0);
	reply(c, &m, &(struct resp){ .relayed = true, .lifetime = 600 }, 39501);
	assert_int_equal(out.n_events, 0);
	assert_int_equal(turn_client_state(c), TURN_FAILED);
	turn_client_free(c);
}

static void retransmission_late(void **state)
{
	struct turn_client *c = mk(false);

	(void)state;
	turn_client_start(c, 0, &out);
	/* called at 4 s instead of 0.5 s: one send, not three, and the
	 * schedule goes on from the first send (7.5 s next) */
	turn_client_on_timeout(c, 4000, &out);
	assert_int_equal(out.n_msgs, 1);
	assert_int_equal(out.deadline, 7500);
	/* called after the final timeout: failed, nothing sent */
	turn_client_on_timeout(c, 50000, &out);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	turn_client_free(c);
}

static void retransmission_stream(void **state)
{
	struct turn_client *c = mk(true);

	(void)state;
	turn_client_start(c, 100, &out);
	assert_int_equal(out.n_msgs, 1);
	/* RFC 8489 §6.2.2: no retransmission over a stream */
	assert_int_equal(out.deadline, 100 + 39500);
	turn_client_on_timeout(c, 39599, &out);
	assert_int_equal(out.n_msgs + out.n_events, 0);
	turn_client_on_timeout(c, 39600, &out);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	assert_int_equal(ev(0)->code, TURN_CODE_TIMEOUT);
	turn_client_free(c);
}

static void stream_framing(void **state)
{
	struct turn_client *c = mk(true);
	uint8_t buf[64];
	size_t need;
	int n, idx;

	(void)state;
	allocate(c, 0);
	idx = add_peer(c, "192.0.2.9", 7000, 100);
	/* RFC 8656 §12.5: padded to 4 over a stream */
	n = turn_client_send(c, idx, "hello", 5, buf, sizeof(buf));
	assert_int_equal(n, 12);
	assert_int_equal(stun_stream_frame_len(buf, (size_t)n, &need), 0);
	assert_int_equal(need, 12);
	/* a padded frame from the server */
	n = stun_chandata_build(0x4000, "abcde", 5, true, buf, sizeof(buf));
	assert_int_equal(n, 12);
	turn_client_on_input(c, buf, (size_t)n, 200, &out);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(ev(0)->len, 5);
	/* unpadded is no stream frame: ignored */
	turn_client_on_input(c, buf, 9, 200, &out);
	assert_int_equal(out.n_events, 0);
	turn_client_free(c);
}

static void ignored_responses(void **state)
{
	struct turn_client *c = mk(false);
	struct stun_msg m;
	uint8_t buf[256];
	size_t n;

	(void)state;
	turn_client_start(c, 0, &out);
	sent(0, &m);
	reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n1" }, 1);
	sent(0, &m);
	/* a wrong transaction id */
	reply(c, &m, &(struct resp){ .sign = true, .relayed = true, .lifetime = 600, .wrong_tid = true }, 2);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* the right id, another method */
	reply(c, &m, &(struct resp){ .sign = true, .relayed = true, .lifetime = 600,
				     .method = STUN_METHOD_REFRESH }, 2);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* MESSAGE-INTEGRITY with the wrong key */
	reply(c, &m, &(struct resp){ .sign = true, .bad_key = true, .relayed = true, .lifetime = 600 }, 3);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* no MESSAGE-INTEGRITY at all on a success to a signed request */
	reply(c, &m, &(struct resp){ .relayed = true, .lifetime = 600 }, 4);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* nor on an error other than 400, 401, 420, 438 */
	reply(c, &m, &(struct resp){ .code = 403 }, 4);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* a truncated copy of a good answer */
	n = answer(&m, &(struct resp){ .sign = true, .relayed = true, .lifetime = 600 });
	memcpy(buf, rbuf, n);
	turn_client_on_input(c, buf, n - 4, 5, &out);
	assert_int_equal(out.n_events + out.n_msgs, 0);
	/* the transaction is still alive: retransmitted on time */
	turn_client_on_timeout(c, 501, &out);
	assert_int_equal(out.n_msgs, 1);
	/* and the good answer is taken */
	turn_client_on_input(c, buf, n, 600, &out);
	assert_int_equal(ev(0)->kind, TURN_EV_ALLOCATED);
	turn_client_free(c);
}

static void allocate_errors(void **state)
{
	static const unsigned codes[] = { 437, 508, 486, 403 };
	struct stun_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct turn_client *c = mk(false);

		turn_client_start(c, 0, &out);
		sent(0, &m);
		reply(c, &m, &(struct resp){ .code = 401, .realm = true, .nonce = "n1" }, 1);
		sent(0, &m);
		reply(c, &m, &(struct resp){ .code = codes[i], .sign = true }, 2);
		assert_int_equal(out.n_events, 1);
		assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
		assert_int_equal(ev(0)->code, codes[i]);
		assert_int_equal(out.deadline, TURN_NEVER);
		turn_client_free(c);
	}
	/* 300 Try Alternate (RFC 8489 §10): failed, with the server to try */
	{
		struct turn_client *c = mk(false);
		struct stun_builder b;
		struct sockaddr_storage alt = sa4("198.51.100.99", 3478);
		int n;

		turn_client_start(c, 0, &out);
		sent(0, &m);
		stun_builder_start(&b, rbuf, sizeof(rbuf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, m.tid);
		stun_builder_add_error(&b, 300, "go there");
		stun_builder_add_addr(&b, STUN_ATTR_ALTERNATE_SERVER, (struct sockaddr *)&alt);
		n = stun_builder_finish(&b);
		assert_true(n > 0);
		turn_client_on_input(c, rbuf, (size_t)n, 1, &out);
		assert_int_equal(out.n_events, 1);
		assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
		assert_int_equal(ev(0)->code, 300);
		assert_int_equal(ntohs(((const struct sockaddr_in *)&ev(0)->addr)->sin_port), 3478);
		assert_int_equal(((const struct sockaddr_in *)&ev(0)->addr)->sin_addr.s_addr,
				 ((const struct sockaddr_in *)&alt)->sin_addr.s_addr);
		assert_int_equal(turn_client_state(c), TURN_FAILED);
		turn_client_free(c);
	}
	/* a success without XOR-RELAYED-ADDRESS is no allocation */
	struct turn_client *c = mk(false);

	turn_client_start(c, 0, &out);
	sent(0, &m);
	reply(c, &m, &(struct resp){ .lifetime = 600 }, 1);
	assert_int_equal(ev(0)->kind, TURN_EV_FAILED);
	assert_int_equal(ev(0)->code, TURN_CODE_BADRESP);
	turn_client_free(c);
}

static void peer_limits(void **state)
{
	struct turn_client *c = mk(false);
	struct sockaddr_storage p;
	struct sockaddr_un {
		sa_family_t f;
	} un = { AF_UNIX };
	uint8_t buf[64];

	(void)state;
	/* peers added before allocating are installed when it is made */
	p = sa4("192.0.2.1", 1);
	assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&p, false, 0, &out), 0);
	assert_int_equal(out.n_msgs, 0);
	for (int i = 1; i < TURN_MAX_PEERS; i++) {
		p = sa4("192.0.2.1", (uint16_t)(1 + i));
		assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&p, false, 0, &out), i);
	}
	p = sa4("192.0.2.1", 100);
	assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&p, false, 0, &out), -ENOSPC);
	assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&un, false, 0, &out), -EAFNOSUPPORT);
	/* the same one again: the same index */
	p = sa4("192.0.2.1", 1);
	assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&p, false, 0, &out), 0);
	turn_client_peer_del(c, 3);
	p = sa4("192.0.2.1", 100);
	assert_int_equal(turn_client_peer_add(c, (struct sockaddr *)&p, false, 0, &out), 3);
	assert_int_equal(turn_client_send(c, 3, "x", 1, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(turn_client_send(c, TURN_MAX_PEERS, "x", 1, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(turn_client_send(c, -1, "x", 1, buf, sizeof(buf)), -ENOENT);

	{
		struct stun_msg m;

		turn_client_start(c, 0, &out);
		sent(0, &m);
		reply(c, &m, &(struct resp){ .relayed = true, .lifetime = 600 }, 1);
		assert_int_equal(ev(0)->kind, TURN_EV_ALLOCATED);
		/* one CreatePermission per peer, no ChannelBind */
		assert_int_equal(out.n_msgs, TURN_MAX_PEERS);
		for (unsigned i = 0; i < out.n_msgs; i++) {
			sent(i, &m);
			assert_int_equal(m.method, STUN_METHOD_CREATE_PERMISSION);
		}
	}
	/* closing before anything answered */
	turn_client_close(c, 2, &out);
	assert_int_equal(out.n_msgs, 1);
	for (unsigned sends = 1; out.n_events == 0; ) {
		uint64_t t = out.deadline;

		assert_true(t != TURN_NEVER);
		turn_client_on_timeout(c, t, &out);
		sends += out.n_msgs;
		if (out.n_events) {
			assert_int_equal(sends, 7);
			assert_int_equal(t, 2 + 39500);
		}
	}
	assert_int_equal(ev(0)->kind, TURN_EV_CLOSED);
	assert_int_equal(ev(0)->code, TURN_CODE_TIMEOUT);
	turn_client_free(c);

	c = mk(false);
	turn_client_close(c, 0, &out);
	assert_int_equal(out.n_msgs, 0);
	assert_int_equal(ev(0)->kind, TURN_EV_CLOSED);
	turn_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(happy_path),
		cmocka_unit_test(wrong_credentials),
		cmocka_unit_test(stale_nonce),
		cmocka_unit_test(refresh_timing_and_failure),
		cmocka_unit_test(refresh_until_expiry),
		cmocka_unit_test(refresh_now_probe),
		cmocka_unit_test(peer_refresh_deadlines),
		cmocka_unit_test(retransmission_udp),
		cmocka_unit_test(retransmission_late),
		cmocka_unit_test(retransmission_stream),
		cmocka_unit_test(stream_framing),
		cmocka_unit_test(ignored_responses),
		cmocka_unit_test(allocate_errors),
		cmocka_unit_test(peer_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
