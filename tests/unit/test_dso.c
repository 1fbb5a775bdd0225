/*
 * lib/dso: the DSO codec (RFC 8490 §5.4, §7) and Push TLVs (RFC 8765 §6),
 * and the server's session machine driven by a fake clock (RFC 8490 §6
 * timers, RFC 8765 §6.2-6.5 subscriptions).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dso/dso.h"

#define T0 1000000ull

/* "h1.alice.members.example.net." in wire form */
static const uint8_t NAME[] = "\x02h1\x05" "alice\x07members\x07" "example\x03net";
#define NAME_LEN (sizeof(NAME))
static const uint8_t NAME_UPPER[] = "\x02H1\x05" "ALICE\x07members\x07" "example\x03NET";
static const uint8_t OTHER[] = "\x02h2\x05" "alice\x07members\x07" "example\x03net";

/* A DSO message: header (id, flags) and raw TLV bytes. */
static size_t msg(uint8_t *buf, uint16_t id, uint16_t flags, const void *tlvs, size_t len)
{
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = (uint8_t)(flags >> 8);
	buf[3] = (uint8_t)flags;
	memset(buf + 4, 0, 8);
	memcpy(buf + 12, tlvs, len);
	return 12 + len;
}

#define REQ 0x3000	/* OPCODE 6, QR 0 */
#define RESP 0xB000	/* OPCODE 6, QR 1 */

static void parse_header_and_counts(void **state)
{
	uint8_t buf[64];
	struct dso_msg m;
	static const uint8_t ka[] = { 0, 1, 0, 8, 0, 0, 0x3a, 0x98, 0, 0x36, 0xee, 0x80 };
	size_t n = msg(buf, 7, REQ, ka, sizeof(ka));

	(void)state;
	assert_true(dso_is_dso(buf, n));
	assert_int_equal(dso_msg_parse(&m, buf, n), 0);
	assert_int_equal(m.id, 7);
	assert_false(m.qr);
	assert_int_equal(m.n_tlv, 1);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_KEEPALIVE);
	assert_int_equal(m.tlv[0].len, 8);
	/* §5.4: each count non-zero is FORMERR */
	for (int i = 4; i < 12; i++) {
		uint8_t b2[64];

		memcpy(b2, buf, n);
		b2[i] = 1;
		assert_int_equal(dso_msg_parse(&m, b2, n), -EBADMSG);
		assert_int_equal(m.id, 7);	/* the header stays readable for the FORMERR */
	}
	/* 11 bytes: no header */
	assert_false(dso_is_dso(buf, 11));
	assert_int_equal(dso_msg_parse(&m, buf, 11), -EBADMSG);
	/* another opcode */
	buf[2] = 0;
	assert_false(dso_is_dso(buf, n));
	assert_int_equal(dso_msg_parse(&m, buf, n), -EBADMSG);
}

static void parse_tlv_bounds(void **state)
{
	uint8_t buf[64];
	struct dso_msg m;
	uint8_t t[] = { 0, 3, 0, 4, 1, 2, 3, 4 };	/* padding of 4 */

	(void)state;
	/* exactly filling */
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t, 8)), 0);
	/* one byte short: DSO-LENGTH runs past the end */
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t, 7)), -EBADMSG);
	/* a truncated TLV header */
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t, 3)), -EBADMSG);
	/* one byte too many: a trailing partial TLV */
	{
		uint8_t t2[9];

		memcpy(t2, t, 8);
		t2[8] = 0;
		assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t2, 9)), -EBADMSG);
	}
	/* zero-length padding is 4 bytes (§7.3) */
	t[3] = 0;
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t, 4)), 0);
	assert_int_equal(m.tlv[0].len, 0);
	/* §5.4.2: a request needs a primary TLV, a response does not */
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, t, 0)), -EBADMSG);
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, RESP, t, 0)), 0);
	assert_true(m.qr);
}

static void parse_tlv_count(void **state)
{
	uint8_t buf[12 + 4 * (DSO_TLV_MAX + 1)] = { 0 }, tl[4 * (DSO_TLV_MAX + 1)] = { 0 };
	struct dso_msg m;

	(void)state;
	for (int i = 0; i <= DSO_TLV_MAX; i++)
		tl[4 * i + 1] = 3;
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, tl, 4 * DSO_TLV_MAX)), 0);
	assert_int_equal(m.n_tlv, DSO_TLV_MAX);
	assert_int_equal(dso_msg_parse(&m, buf, msg(buf, 1, REQ, tl, 4 * (DSO_TLV_MAX + 1))), -E2BIG);
}

static void keepalive_and_retry_lengths(void **state)
{
	uint8_t d[9] = { 0, 0, 0x3a, 0x98, 0, 0x36, 0xee, 0x80, 0 };
	struct dso_tlv t = { DSO_TYPE_KEEPALIVE, 8, d };
	struct dso_keepalive k;
	uint32_t delay;

	(void)state;
	assert_int_equal(dso_keepalive_read(&t, &k), 0);
	assert_int_equal(k.inactivity_ms, 15000);
	assert_int_equal(k.keepalive_ms, 3600000);
	t.len = 7;
	assert_int_equal(dso_keepalive_read(&t, &k), -EBADMSG);
	t.len = 9;
	assert_int_equal(dso_keepalive_read(&t, &k), -EBADMSG);
	t = (struct dso_tlv){ DSO_TYPE_RETRY_DELAY, 4, d };
	assert_int_equal(dso_retry_delay_read(&t, &delay), 0);
	assert_int_equal(delay, 15000);
	t.len = 3;
	assert_int_equal(dso_retry_delay_read(&t, &delay), -EBADMSG);
	t.len = 5;
	assert_int_equal(dso_retry_delay_read(&t, &delay), -EBADMSG);
}

static size_t subscribe_data(uint8_t *d, const uint8_t *name, size_t nlen, uint16_t type, uint16_t cls)
{
	memcpy(d, name, nlen);
	d[nlen] = (uint8_t)(type >> 8);
	d[nlen + 1] = (uint8_t)type;
	d[nlen + 2] = (uint8_t)(cls >> 8);
	d[nlen + 3] = (uint8_t)cls;
	return nlen + 4;
}

static void subscribe_and_names(void **state)
{
	uint8_t d[300];
	struct dso_question q;
	struct dso_tlv t = { DSO_TYPE_SUBSCRIBE, 0, d };

	(void)state;
	t.len = (uint16_t)subscribe_data(d, NAME, NAME_LEN, 1, 1);
	assert_int_equal(dso_subscribe_read(&t, &q), 0);
	assert_int_equal(q.name_len, NAME_LEN);
	assert_memory_equal(q.name, NAME, NAME_LEN);
	assert_int_equal(q.qtype, 1);
	assert_int_equal(q.qclass, 1);
	/* §6.2.1: exactly one NAME TYPE CLASS: one byte more or less fails */
	t.len++;
	assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
	t.len -= 2;
	assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
	/* a compression pointer is no label */
	t.len = (uint16_t)subscribe_data(d, (const uint8_t *)"\xc0\x0c", 2, 1, 1);
	assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
	/* a label of 63 is fine, 64 is not */
	{
		uint8_t n[70] = { 63 };

		memset(n + 1, 'a', 63);
		n[64] = 0;
		t.len = (uint16_t)subscribe_data(d, n, 65, 1, 1);
		assert_int_equal(dso_subscribe_read(&t, &q), 0);
		n[0] = 64;
		memset(n + 1, 'a', 64);
		n[65] = 0;
		t.len = (uint16_t)subscribe_data(d, n, 66, 1, 1);
		assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
	}
	/* a name of 255 bytes is fine, 257 is not */
	{
		uint8_t n[260];
		size_t l = 0;

		for (int i = 0; i < 4; i++) {	/* 4 * 64 = 256: too long with the root */
			n[l++] = 63;
			memset(n + l, 'b', 63);
			l += 63;
		}
		n[l++] = 0;
		t.len = (uint16_t)subscribe_data(d, n, l, 1, 1);
		assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
		/* 3 * 64 + 62 + 1 = 255 */
		l = 3 * 64;
		n[l++] = 61;
		memset(n + l, 'c', 61);
		l += 61;
		n[l++] = 0;
		assert_int_equal(l, 255);
		t.len = (uint16_t)subscribe_data(d, n, l, 1, 1);
		assert_int_equal(dso_subscribe_read(&t, &q), 0);
		assert_int_equal(q.name_len, 255);
	}
	/* wrong type */
	t.type = DSO_TYPE_RECONFIRM;
	assert_int_equal(dso_subscribe_read(&t, &q), -EBADMSG);
}

static void unsubscribe_and_reconfirm(void **state)
{
	uint8_t d[300];
	struct dso_tlv t = { DSO_TYPE_UNSUBSCRIBE, 2, (const uint8_t *)"\x12\x34" };
	struct dso_reconfirm r;
	uint16_t id;
	size_t n;

	(void)state;
	assert_int_equal(dso_unsubscribe_read(&t, &id), 0);
	assert_int_equal(id, 0x1234);
	t.len = 1;
	assert_int_equal(dso_unsubscribe_read(&t, &id), -EBADMSG);
	t.len = 3;
	assert_int_equal(dso_unsubscribe_read(&t, &id), -EBADMSG);
	/* RECONFIRM: the rest is RDATA (§6.5.1) */
	n = subscribe_data(d, NAME, NAME_LEN, 1, 1);
	memcpy(d + n, "\xc0\x00\x02\x01", 4);
	t = (struct dso_tlv){ DSO_TYPE_RECONFIRM, (uint16_t)(n + 4), d };
	assert_int_equal(dso_reconfirm_read(&t, &r), 0);
	assert_int_equal(r.rdlen, 4);
	assert_memory_equal(r.rdata, "\xc0\x00\x02\x01", 4);
	/* empty RDATA is valid */
	t.len = (uint16_t)n;
	assert_int_equal(dso_reconfirm_read(&t, &r), 0);
	assert_int_equal(r.rdlen, 0);
	/* TYPE or CLASS ANY is not */
	subscribe_data(d, NAME, NAME_LEN, 255, 1);
	assert_int_equal(dso_reconfirm_read(&t, &r), -EBADMSG);
	subscribe_data(d, NAME, NAME_LEN, 1, 255);
	assert_int_equal(dso_reconfirm_read(&t, &r), -EBADMSG);
	/* cut in the middle of TYPE */
	subscribe_data(d, NAME, NAME_LEN, 1, 1);
	t.len = (uint16_t)(NAME_LEN + 1);
	assert_int_equal(dso_reconfirm_read(&t, &r), -EBADMSG);
}

static void builders(void **state)
{
	uint8_t buf[64];
	struct dso_msg m;
	struct dso_keepalive k = { 1000, 20000 }, k2;
	uint32_t delay;
	size_t len;

	(void)state;
	assert_int_equal(dso_build_keepalive_response(buf, sizeof(buf), 9, &k, &len), 0);
	assert_int_equal(len, 12 + 4 + 8);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_true(m.qr);
	assert_int_equal(m.id, 9);
	assert_int_equal(m.rcode, 0);
	assert_int_equal(dso_keepalive_read(&m.tlv[0], &k2), 0);
	assert_int_equal(k2.inactivity_ms, 1000);
	assert_int_equal(k2.keepalive_ms, 20000);
	/* exactly the room needed, and one byte less */
	assert_int_equal(dso_build_keepalive_response(buf, 24, 9, &k, &len), 0);
	assert_int_equal(dso_build_keepalive_response(buf, 23, 9, &k, &len), -ENOSPC);
	/* a refusal with a Retry Delay as Response Additional TLV */
	assert_int_equal(dso_build_response(buf, sizeof(buf), 5, 5, 300000, &len), 0);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.rcode, 5);
	assert_int_equal(m.n_tlv, 1);
	assert_int_equal(dso_retry_delay_read(&m.tlv[0], &delay), 0);
	assert_int_equal(delay, 300000);
	assert_int_equal(dso_build_response(buf, sizeof(buf), 5, 0, 0, &len), 0);
	assert_int_equal(len, 12);
	/* the unidirectional Retry Delay: id 0, QR 0, RCODE the reason */
	assert_int_equal(dso_build_retry_delay(buf, sizeof(buf), 2, 60000, &len), 0);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.id, 0);
	assert_false(m.qr);
	assert_int_equal(m.rcode, 2);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_RETRY_DELAY);
}

static void push_builder(void **state)
{
	static uint8_t buf[DSO_PUSH_MAX + 100];
	static uint8_t rd[4000];
	struct dso_push p;
	struct dso_msg m;
	size_t len;
	int n = 0;

	(void)state;
	assert_int_equal(dso_push_begin(&p, buf, sizeof(buf)), 0);
	assert_int_equal(dso_push_finish(&p, &len), -ENODATA);	/* §6.3.1: at least one */
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 1, 300, (const uint8_t *)"\xc0\0\2\1", 4), 0);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 1, DSO_TTL_REMOVE, (const uint8_t *)"\xc0\0\2\2", 4), 0);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 28, 1, DSO_TTL_REMOVE_ALL, NULL, 0), 0);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 77, 255, DSO_TTL_REMOVE_ALL, NULL, 0), 0);
	/* forbidden combinations */
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 255, 1, 300, NULL, 0), -EINVAL);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 255, DSO_TTL_REMOVE, NULL, 0), -EINVAL);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 1, DSO_TTL_REMOVE_ALL, rd, 1), -EINVAL);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 1, 0x80000000u, rd, 4), -EINVAL);
	assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 1, 1, 0x7FFFFFFFu, rd, 4), 0);
	assert_int_equal(dso_push_finish(&p, &len), 0);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.n_tlv, 1);
	assert_int_equal(m.tlv[0].type, DSO_TYPE_PUSH);
	assert_int_equal(m.tlv[0].len, len - 16);
	/* the collective removal of all classes has TYPE 0 */
	{
		const uint8_t *r4 = m.tlv[0].data + 3 * (NAME_LEN + 10) + 4 + 4;

		assert_memory_equal(r4, NAME, NAME_LEN);
		assert_int_equal(r4[NAME_LEN] << 8 | r4[NAME_LEN + 1], 0);
	}
	/* fill up to DSO_PUSH_MAX: the message never grows past it */
	assert_int_equal(dso_push_begin(&p, buf, sizeof(buf)), 0);
	while (dso_push_add(&p, NAME, NAME_LEN, 16, 1, 60, rd, sizeof(rd)) == 0)
		n++;
	assert_int_equal(n, (DSO_PUSH_MAX - 16) / (NAME_LEN + 10 + sizeof(rd)));
	/* what still fits exactly is accepted; one byte more is not */
	{
		size_t left = DSO_PUSH_MAX - wire_offset(&p.w);

		assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 16, 1, 60, rd, (uint16_t)(left - NAME_LEN - 10 + 1)),
				 -ENOSPC);
		assert_int_equal(dso_push_add(&p, NAME, NAME_LEN, 16, 1, 60, rd, (uint16_t)(left - NAME_LEN - 10)), 0);
	}
	assert_int_equal(dso_push_finish(&p, &len), 0);
	assert_int_equal(len, DSO_PUSH_MAX);
}

/* ---------------- the machine ---------------- */

static struct dso_server *mk(uint32_t inact, uint32_t per_session, uint32_t max)
{
	struct dso_config c;

	dso_config_default(&c);
	c.inactivity_ms = inact;
	c.subs_per_session = per_session;
	c.subs_max = max;
	return dso_server_new(&c);
}

static struct dso_verdict handle(struct dso_server *s, uint64_t conn, uint16_t id, uint16_t type,
				 const void *data, uint16_t len, uint64_t now)
{
	uint8_t buf[512];
	size_t n;
	struct dso_msg m;
	struct dso_verdict v;

	assert_int_equal(dso_build_request(buf, sizeof(buf), id, type, data, len, &n), 0);
	assert_int_equal(dso_msg_parse(&m, buf, n), 0);
	assert_int_equal(dso_server_handle(s, conn, &m, now, &v), 0);
	return v;
}

static struct dso_verdict keepalive(struct dso_server *s, uint64_t conn, uint16_t id, uint32_t inact,
				    uint32_t ka, uint64_t now)
{
	uint8_t d[8] = { (uint8_t)(inact >> 24), (uint8_t)(inact >> 16), (uint8_t)(inact >> 8), (uint8_t)inact,
			 (uint8_t)(ka >> 24), (uint8_t)(ka >> 16), (uint8_t)(ka >> 8), (uint8_t)ka };

	return handle(s, conn, id, DSO_TYPE_KEEPALIVE, d, 8, now);
}

static struct dso_verdict subscribe(struct dso_server *s, uint64_t conn, uint16_t id, const uint8_t *name,
				    size_t nlen, uint16_t type, uint64_t now)
{
	uint8_t d[300];
	size_t n = subscribe_data(d, name, nlen, type, 1);

	return handle(s, conn, id, DSO_TYPE_SUBSCRIBE, d, (uint16_t)n, now);
}

static int pops(struct dso_server *s, enum dso_out_kind kind, uint64_t *conns, int max)
{
	struct dso_out o;
	int n = 0;

	while (dso_server_pop(s, &o)) {
		assert_int_equal(o.kind, kind);
		if (n < max)
			conns[n] = o.conn;
		n++;
	}
	return n;
}

static void keepalive_negotiation(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_verdict v;

	(void)state;
	/* the server's values win (§7.1): asked more, granted its own */
	v = keepalive(s, 1, 1, 0xFFFFFFFFu, 0xFFFFFFFFu, T0);
	assert_int_equal(v.act, DSO_ACT_KEEPALIVE);
	assert_int_equal(v.id, 1);
	assert_int_equal(v.keepalive.inactivity_ms, 15000);
	assert_int_equal(v.keepalive.keepalive_ms, 3600000);
	/* asked less: granted, but never a keepalive under 10 s (§6.5.2) */
	v = keepalive(s, 1, 2, 500, 9999, T0);
	assert_int_equal(v.keepalive.inactivity_ms, 500);
	assert_int_equal(v.keepalive.keepalive_ms, 10000);
	v = keepalive(s, 1, 3, 0, 10000, T0);
	assert_int_equal(v.keepalive.inactivity_ms, 0);
	assert_int_equal(v.keepalive.keepalive_ms, 10000);
	/* a Keepalive from a client with id 0 is fatal (§7.1) */
	v = keepalive(s, 1, 0, 1, 10000, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* a Keepalive of the wrong length is FORMERR */
	v = handle(s, 2, 4, DSO_TYPE_KEEPALIVE, "\0\0\0\0\0\0\0", 7, T0);
	assert_int_equal(v.act, DSO_ACT_RESPOND);
	assert_int_equal(v.rcode, 1);
	dso_server_free(s);
}

static void primary_tlv_rules(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_verdict v;

	(void)state;
	/* unknown primary: DSOTYPENI to a request (§5.4.5), abort when unidirectional */
	v = handle(s, 1, 5, 0x7777, NULL, 0, T0);
	assert_int_equal(v.act, DSO_ACT_RESPOND);
	assert_int_equal(v.rcode, DSO_RCODE_DSOTYPENI);
	assert_int_equal(v.id, 5);
	v = handle(s, 1, 0, 0x7777, NULL, 0, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* padding is never primary (§7.3) */
	v = handle(s, 2, 6, DSO_TYPE_PADDING, NULL, 0, T0);
	assert_int_equal(v.act, DSO_ACT_RESPOND);
	assert_int_equal(v.rcode, 1);
	/* Retry Delay and PUSH never come from a client */
	v = handle(s, 3, 0, DSO_TYPE_RETRY_DELAY, "\0\0\0\1", 4, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	v = handle(s, 4, 0, DSO_TYPE_PUSH, NULL, 0, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* SUBSCRIBE needs an id; UNSUBSCRIBE and RECONFIRM must have none */
	v = subscribe(s, 5, 0, NAME, NAME_LEN, 1, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	v = keepalive(s, 6, 1, 1000, 10000, T0);
	v = handle(s, 6, 9, DSO_TYPE_UNSUBSCRIBE, "\0\1", 2, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* a unidirectional message before the session is established (§5.1) */
	v = handle(s, 7, 0, DSO_TYPE_UNSUBSCRIBE, "\0\1", 2, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* a malformed SUBSCRIBE is FORMERR, the session stays */
	v = handle(s, 6, 3, DSO_TYPE_SUBSCRIBE, NAME, NAME_LEN, T0);
	assert_int_equal(v.act, DSO_ACT_RESPOND);
	assert_int_equal(v.rcode, 1);
	/* any response from a client is unexpected: this server asks nothing */
	{
		uint8_t buf[32];
		size_t n;
		struct dso_msg m;

		assert_int_equal(dso_build_response(buf, sizeof(buf), 3, 0, 0, &n), 0);
		assert_int_equal(dso_msg_parse(&m, buf, n), 0);
		assert_int_equal(dso_server_handle(s, 6, &m, T0, &v), 0);
		assert_int_equal(v.act, DSO_ACT_ABORT);
	}
	dso_server_free(s);
}

static void subscribe_notify_unsubscribe(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_verdict v;
	struct dso_stats st;
	uint64_t conns[4];

	(void)state;
	v = subscribe(s, 1, 10, NAME, NAME_LEN, 1, T0);
	assert_int_equal(v.act, DSO_ACT_SUBSCRIBE);
	assert_memory_equal(v.q.name, NAME, NAME_LEN);
	assert_int_equal(dso_server_subscribe(s, 1, 10, &v.q, T0), 0);
	/* the same question with other case is a duplicate: fatal (§6.2.1) */
	v = subscribe(s, 1, 11, NAME_UPPER, NAME_LEN, 1, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* an id in use is fatal too */
	v = subscribe(s, 1, 10, OTHER, NAME_LEN, 1, T0);
	assert_int_equal(v.act, DSO_ACT_ABORT);
	/* ANY on the same session: one PUSH per change all the same */
	v = subscribe(s, 1, 12, NAME, NAME_LEN, 255, T0);
	assert_int_equal(dso_server_subscribe(s, 1, 12, &v.q, T0), 0);
	v = subscribe(s, 2, 1, NAME_UPPER, NAME_LEN, 28, T0);
	assert_int_equal(dso_server_subscribe(s, 2, 1, &v.q, T0), 0);
	assert_int_equal(dso_server_notify(s, NAME_UPPER, NAME_LEN, 1, 1, T0), 1);
	assert_int_equal(pops(s, DSO_OUT_PUSH, conns, 4), 1);
	assert_int_equal(conns[0], 1);
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 28, 1, T0), 2);
	assert_int_equal(pops(s, DSO_OUT_PUSH, conns, 4), 2);
	assert_int_equal(dso_server_notify(s, OTHER, NAME_LEN, 1, 1, T0), 0);
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 3, T0), 0);	/* class CH: watched in IN only */
	assert_true(dso_server_watches(s, 1, NAME, NAME_LEN, 16, 1));
	assert_false(dso_server_watches(s, 2, NAME, NAME_LEN, 16, 1));
	/* UNSUBSCRIBE of an unknown id is ignored (§6.4.1), of a known one stops it */
	v = handle(s, 1, 0, DSO_TYPE_UNSUBSCRIBE, "\0\77", 2, T0);
	assert_int_equal(v.act, DSO_ACT_NONE);
	v = handle(s, 1, 0, DSO_TYPE_UNSUBSCRIBE, "\0\14", 2, T0);
	assert_int_equal(v.act, DSO_ACT_NONE);
	assert_false(dso_server_watches(s, 1, NAME, NAME_LEN, 16, 1));
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 16, 1, T0), 0);
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0), 1);
	assert_int_equal(pops(s, DSO_OUT_PUSH, conns, 4), 1);
	dso_server_stats(s, &st);
	assert_int_equal(st.subscriptions, 2);
	assert_int_equal(st.sessions, 2);
	dso_server_conn_closed(s, 1);
	dso_server_conn_closed(s, 2);
	dso_server_conn_closed(s, 3);	/* none: nothing happens */
	dso_server_stats(s, &st);
	assert_int_equal(st.subscriptions, 0);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0), 0);
	dso_server_free(s);
}

static void limits(void **state)
{
	struct dso_server *s = mk(15000, 2, 3);
	struct dso_verdict v;
	uint8_t name[NAME_LEN];

	(void)state;
	memcpy(name, NAME, NAME_LEN);
	for (int i = 0; i < 2; i++) {
		name[1] = (uint8_t)('a' + i);
		v = subscribe(s, 1, (uint16_t)(i + 1), name, NAME_LEN, 1, T0);
		assert_int_equal(dso_server_subscribe(s, 1, (uint16_t)(i + 1), &v.q, T0), 0);
	}
	/* the session's third is one too many */
	name[1] = 'z';
	v = subscribe(s, 1, 3, name, NAME_LEN, 1, T0);
	assert_int_equal(dso_server_subscribe(s, 1, 3, &v.q, T0), -ENOSPC);
	/* another session: the global third fits, the fourth does not */
	v = subscribe(s, 2, 1, name, NAME_LEN, 1, T0);
	assert_int_equal(dso_server_subscribe(s, 2, 1, &v.q, T0), 0);
	name[1] = 'y';
	v = subscribe(s, 2, 2, name, NAME_LEN, 1, T0);
	assert_int_equal(dso_server_subscribe(s, 2, 2, &v.q, T0), -ENOSPC);
	assert_int_equal(dso_server_subscribe(s, 9, 2, &v.q, T0), -ENOENT);
	dso_server_free(s);
}

static void many_subscriptions_grow(void **state)
{
	struct dso_server *s = mk(15000, 100000, 100000);
	struct dso_verdict v;
	uint64_t conns[1];
	struct dso_stats st;

	(void)state;
	/* 2000 sessions on one name plus 2000 distinct names: the table grows */
	for (uint64_t c = 1; c <= 2000; c++) {
		uint8_t name[NAME_LEN];

		memcpy(name, NAME, NAME_LEN);
		v = subscribe(s, c, 1, NAME, NAME_LEN, 1, T0);
		assert_int_equal(dso_server_subscribe(s, c, 1, &v.q, T0), 0);
		name[1] = (uint8_t)('a' + c % 26);
		name[2] = (uint8_t)('a' + c / 26 % 26);
		v = subscribe(s, c, 2, name, NAME_LEN, 1, T0);
		assert_int_equal(dso_server_subscribe(s, c, 2, &v.q, T0), 0);
	}
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0), 2000);
	assert_int_equal(pops(s, DSO_OUT_PUSH, conns, 1), 2000);
	for (uint64_t c = 1; c <= 2000; c += 2)
		dso_server_conn_closed(s, c);
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0), 1000);
	assert_int_equal(pops(s, DSO_OUT_PUSH, conns, 1), 1000);
	dso_server_stats(s, &st);
	assert_int_equal(st.subscriptions, 2000);
	dso_server_free(s);
}

static void inactivity_timeout(void **state)
{
	struct dso_server *s = mk(1000, 4, 100);
	struct dso_verdict v;
	struct dso_out o;
	struct dso_stats st;

	(void)state;
	v = keepalive(s, 1, 1, 100000, 3600000, T0);
	assert_int_equal(v.keepalive.inactivity_ms, 1000);
	/* §6.4.1: the server waits five seconds or twice the timeout */
	assert_int_equal(dso_server_next_deadline(s), T0 + 5000);
	dso_server_tick(s, T0 + 4999);
	assert_false(dso_server_pop(s, &o));
	/* a Keepalive does not reset the inactivity timer (§6.3) */
	(void)keepalive(s, 1, 2, 100000, 3600000, T0 + 3000);
	dso_server_tick(s, T0 + 5000);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_RETRY_DELAY);
	assert_int_equal(o.conn, 1);
	assert_int_equal(o.delay_ms, 60000);
	assert_false(dso_server_pop(s, &o));
	/* §6.6.1.1: ignored from now on; five seconds to go */
	v = keepalive(s, 1, 3, 100000, 3600000, T0 + 6000);
	assert_int_equal(v.act, DSO_ACT_NONE);
	assert_int_equal(dso_server_next_deadline(s), T0 + 10000);
	dso_server_tick(s, T0 + 9999);
	assert_false(dso_server_pop(s, &o));
	dso_server_tick(s, T0 + 10000);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_ABORT);
	dso_server_tick(s, T0 + 20000);
	assert_false(dso_server_pop(s, &o));
	assert_int_equal(dso_server_next_deadline(s), UINT64_MAX);
	dso_server_conn_closed(s, 1);
	dso_server_stats(s, &st);
	assert_int_equal(st.delinquent, 1);
	assert_int_equal(st.sessions, 0);
	dso_server_free(s);
}

static void activity_and_subscriptions_hold_the_session(void **state)
{
	struct dso_server *s = mk(10000, 4, 100);
	struct dso_verdict v;
	struct dso_out o;

	(void)state;
	(void)keepalive(s, 1, 1, 10000, 10000, T0);
	/* twice the inactivity timeout: 20 s; other messages reset it */
	dso_server_activity(s, 1, T0 + 15000);
	dso_server_tick(s, T0 + 20000);
	assert_false(dso_server_pop(s, &o));
	/* a subscription is an operation in progress (§6.3): no inactivity;
	 * the keepalive timer still runs (twice 10 s) */
	v = subscribe(s, 1, 2, NAME, NAME_LEN, 1, T0 + 16000);
	assert_int_equal(dso_server_subscribe(s, 1, 2, &v.q, T0 + 16000), 0);
	dso_server_tick(s, T0 + 35999);
	assert_false(dso_server_pop(s, &o));
	/* a PUSH sent is a message: it resets the keepalive timer */
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0 + 30000), 1);
	assert_true(dso_server_pop(s, &o));
	dso_server_tick(s, T0 + 49999);
	assert_false(dso_server_pop(s, &o));
	dso_server_tick(s, T0 + 50000);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_RETRY_DELAY);
	/* no PUSH after the Retry Delay (RFC 8490 §6.6.1) */
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0 + 50001), 0);
	dso_server_free(s);
}

static void sessionless_connection_aborted(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_out o;

	(void)state;
	/* a signed query made a record of the connection, no DSO session:
	 * the default timeouts (§6.2), then an abort, never a DSO message */
	assert_int_equal(dso_server_authenticate(s, 1, 42, T0), 0);
	assert_int_equal(dso_server_authenticate(s, 1, 43, T0), 0);
	assert_int_equal(dso_server_owner(s, 1), 42);	/* the first account stays */
	assert_int_equal(dso_server_owner(s, 2), 0);
	dso_server_tick(s, T0 + 29999);
	assert_false(dso_server_pop(s, &o));
	dso_server_tick(s, T0 + 30000);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_ABORT);
	dso_server_free(s);
}

static bool keep_odd(void *arg, uint32_t owner)
{
	(*(int *)arg)++;
	return owner & 1;
}

static void revoke_gone_accounts(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_verdict v;
	struct dso_out o;
	int calls = 0;

	(void)state;
	/* 1: account 2, subscribed; 2: account 3; 3: account 4, no DSO yet; 4: no account */
	assert_int_equal(dso_server_authenticate(s, 1, 2, T0), 0);
	v = subscribe(s, 1, 1, NAME, NAME_LEN, 1, T0);
	assert_int_equal(dso_server_subscribe(s, 1, 1, &v.q, T0), 0);
	assert_int_equal(dso_server_authenticate(s, 2, 3, T0), 0);
	(void)keepalive(s, 2, 1, 1000, 10000, T0);
	assert_int_equal(dso_server_authenticate(s, 3, 4, T0), 0);
	(void)keepalive(s, 4, 1, 1000, 10000, T0);
	assert_int_equal(dso_server_revoke(s, keep_odd, &calls, 5, 300000, T0 + 10), 2);
	assert_int_equal(calls, 3);	/* sessions without an account are not asked about */
	assert_true(dso_server_pop(s, &o));
	assert_true(o.kind == DSO_OUT_RETRY_DELAY ? o.conn == 1 && o.rcode == 5 && o.delay_ms == 300000
						  : o.kind == DSO_OUT_ABORT && o.conn == 3);
	assert_true(dso_server_pop(s, &o));
	assert_true(o.kind == DSO_OUT_RETRY_DELAY ? o.conn == 1 : o.kind == DSO_OUT_ABORT && o.conn == 3);
	assert_false(dso_server_pop(s, &o));
	/* no PUSH to the revoked session; the abort 5 s later */
	assert_int_equal(dso_server_notify(s, NAME, NAME_LEN, 1, 1, T0 + 20), 0);
	assert_int_equal(dso_server_revoke(s, keep_odd, &calls, 5, 300000, T0 + 30), 0);
	assert_true(dso_server_next_deadline(s) <= T0 + 5010);
	dso_server_tick(s, T0 + 5010);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_ABORT);
	assert_int_equal(o.conn, 1);
	dso_server_free(s);
}

static uint32_t next_delay(void *arg)
{
	return (*(uint32_t *)arg)++;
}

/* A restart: every established session, with an account or not, gets its own Retry Delay; others none. */
static void retry_all_sessions(void **state)
{
	struct dso_server *s = mk(15000, 4, 100);
	struct dso_out o;
	uint32_t d = 1000, seen = 0;

	(void)state;
	(void)keepalive(s, 1, 1, 1000, 10000, T0);	/* established, no account */
	assert_int_equal(dso_server_authenticate(s, 2, 7, T0), 0);
	(void)keepalive(s, 2, 1, 1000, 10000, T0);	/* established, account 7 */
	assert_int_equal(dso_server_authenticate(s, 3, 8, T0), 0);	/* no session */
	assert_int_equal(dso_server_retry_all(s, 0, next_delay, &d, T0 + 10), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(dso_server_pop(s, &o));
		assert_int_equal(o.kind, DSO_OUT_RETRY_DELAY);
		assert_int_equal(o.rcode, 0);
		assert_true(o.conn == 1 || o.conn == 2);
		assert_true(o.delay_ms == 1000 || o.delay_ms == 1001);
		seen |= 1u << o.delay_ms % 2;
	}
	assert_int_equal(seen, 3);	/* one delay each */
	assert_false(dso_server_pop(s, &o));
	/* once told, not again; aborted after the grace period */
	assert_int_equal(dso_server_retry_all(s, 0, next_delay, &d, T0 + 20), 0);
	dso_server_tick(s, T0 + 5010);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_ABORT);
	assert_true(dso_server_pop(s, &o));
	assert_int_equal(o.kind, DSO_OUT_ABORT);
	dso_server_free(s);
}

/* Client side: the requests a client sends parse back as the server reads them. */
static void client_builders(void **state)
{
	static const uint8_t name[] = { 1, 'h', 1, 'd', 0 };
	uint8_t buf[64];
	struct dso_keepalive k = { 15000, 3600000 }, k2;
	struct dso_question q;
	struct dso_msg m;
	uint16_t sub;
	size_t len;

	(void)state;
	assert_int_equal(dso_build_keepalive_request(buf, sizeof(buf), 0, &k, &len), -EINVAL);
	assert_int_equal(dso_build_keepalive_request(buf, sizeof(buf), 7, &k, &len), 0);
	assert_int_equal(len, DSO_HEADER_LEN + 4 + 8);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.id, 7);
	assert_false(m.qr);
	assert_int_equal(dso_keepalive_read(&m.tlv[0], &k2), 0);
	assert_int_equal(k2.inactivity_ms, 15000);
	assert_int_equal(k2.keepalive_ms, 3600000);
	/* one byte short: the first non-free byte */
	assert_int_equal(dso_build_keepalive_request(buf, DSO_HEADER_LEN + 11, 7, &k, &len), -ENOSPC);

	assert_int_equal(dso_build_subscribe(buf, sizeof(buf), 0, name, sizeof(name), 28, 1, &len), -EINVAL);
	assert_int_equal(dso_build_subscribe(buf, sizeof(buf), 9, name, 0, 28, 1, &len), -EINVAL);
	assert_int_equal(dso_build_subscribe(buf, sizeof(buf), 9, name, sizeof(name), 28, 1, &len), 0);
	assert_int_equal(len, DSO_HEADER_LEN + 4 + sizeof(name) + 4);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.id, 9);
	assert_int_equal(dso_subscribe_read(&m.tlv[0], &q), 0);
	assert_int_equal(q.name_len, sizeof(name));
	assert_memory_equal(q.name, name, sizeof(name));
	assert_int_equal(q.qtype, 28);
	assert_int_equal(q.qclass, 1);
	assert_int_equal(dso_build_subscribe(buf, len - 1, 9, name, sizeof(name), 28, 1, &len), -ENOSPC);

	assert_int_equal(dso_build_unsubscribe(buf, sizeof(buf), 9, &len), 0);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.id, 0);	/* RFC 8765 §6.4.1: unidirectional */
	assert_int_equal(dso_unsubscribe_read(&m.tlv[0], &sub), 0);
	assert_int_equal(sub, 9);
}

/* dso_push_next() reads back what dso_push_add() wrote, and refuses what §6.3.1 forbids. */
static void push_reader(void **state)
{
	static const uint8_t name[] = { 1, 'h', 1, 'd', 0 };
	static const uint8_t a[4] = { 192, 0, 2, 1 };
	uint8_t buf[256];
	struct dso_push p;
	struct dso_msg m;
	struct dso_change c;
	struct dso_tlv t;
	size_t len, off = 0;

	(void)state;
	assert_int_equal(dso_push_begin(&p, buf, sizeof(buf)), 0);
	assert_int_equal(dso_push_add(&p, name, sizeof(name), 1, 1, 60, a, 4), 0);
	assert_int_equal(dso_push_add(&p, name, sizeof(name), 1, 1, DSO_TTL_REMOVE, a, 4), 0);
	assert_int_equal(dso_push_add(&p, name, sizeof(name), 28, 1, DSO_TTL_REMOVE_ALL, NULL, 0), 0);
	assert_int_equal(dso_push_add(&p, name, sizeof(name), 0, DSO_CLASS_ANY, DSO_TTL_REMOVE_ALL, NULL, 0), 0);
	assert_int_equal(dso_push_finish(&p, &len), 0);
	assert_int_equal(dso_msg_parse(&m, buf, len), 0);
	assert_int_equal(dso_push_next(&m.tlv[0], &off, &c), 1);
	assert_int_equal(c.type, 1);
	assert_int_equal(c.ttl, 60);
	assert_int_equal(c.rdlen, 4);
	assert_memory_equal(c.rdata, a, 4);
	assert_memory_equal(c.name, name, sizeof(name));
	assert_int_equal(dso_push_next(&m.tlv[0], &off, &c), 1);
	assert_int_equal(c.ttl, DSO_TTL_REMOVE);
	assert_int_equal(dso_push_next(&m.tlv[0], &off, &c), 1);
	assert_int_equal(c.ttl, DSO_TTL_REMOVE_ALL);
	assert_int_equal(c.type, 28);
	assert_int_equal(dso_push_next(&m.tlv[0], &off, &c), 1);
	assert_int_equal(c.rclass, DSO_CLASS_ANY);
	assert_int_equal(dso_push_next(&m.tlv[0], &off, &c), 0);
	assert_int_equal(off, m.tlv[0].len);

	/* a notification cut short, by one byte */
	t = m.tlv[0];
	t.len = (uint16_t)(sizeof(name) + 10 + 4 - 1);
	off = 0;
	assert_int_equal(dso_push_next(&t, &off, &c), -EBADMSG);
	/* an undefined TTL, then ANY in an addition */
	{
		uint8_t raw[sizeof(name) + 10] = { 1, 'h', 1, 'd', 0, 0, 1, 0, 1, 0x80, 0, 0, 0, 0, 0 };

		t.type = DSO_TYPE_PUSH;
		t.data = raw;
		t.len = sizeof(raw);
		off = 0;
		assert_int_equal(dso_push_next(&t, &off, &c), -EBADMSG);
		raw[9] = 0;
		raw[6] = DSO_TYPE_ANY;
		off = 0;
		assert_int_equal(dso_push_next(&t, &off, &c), -EBADMSG);
		raw[6] = 1;
		off = 0;
		assert_int_equal(dso_push_next(&t, &off, &c), 1);
		/* a compression pointer as name */
		raw[0] = 0xC0;
		off = 0;
		assert_int_equal(dso_push_next(&t, &off, &c), -EBADMSG);
	}
	/* not a PUSH TLV */
	t.type = DSO_TYPE_SUBSCRIBE;
	off = 0;
	assert_int_equal(dso_push_next(&t, &off, &c), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_header_and_counts),
		cmocka_unit_test(parse_tlv_bounds),
		cmocka_unit_test(parse_tlv_count),
		cmocka_unit_test(keepalive_and_retry_lengths),
		cmocka_unit_test(subscribe_and_names),
		cmocka_unit_test(unsubscribe_and_reconfirm),
		cmocka_unit_test(builders),
		cmocka_unit_test(push_builder),
		cmocka_unit_test(keepalive_negotiation),
		cmocka_unit_test(primary_tlv_rules),
		cmocka_unit_test(subscribe_notify_unsubscribe),
		cmocka_unit_test(limits),
		cmocka_unit_test(many_subscriptions_grow),
		cmocka_unit_test(inactivity_timeout),
		cmocka_unit_test(activity_and_subscriptions_hold_the_session),
		cmocka_unit_test(sessionless_connection_aborted),
		cmocka_unit_test(revoke_gone_accounts),
		cmocka_unit_test(retry_all_sessions),
		cmocka_unit_test(client_builders),
		cmocka_unit_test(push_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
