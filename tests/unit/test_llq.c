/*
 * lib/llq: the LLQ server state machine driven by a fake clock.
 * RFC 8764 §5 (four-way handshake), §6 (events and acks), §7 (refresh,
 * cancel); RFC 6281 §5.3 (leases in [15 min, 2 h], 3 transmissions).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "llq/llq.h"

#define T0 1000000ull

/* "h1.alice.members.example.net." in wire form */
static const uint8_t NAME[] = "\x02h1\x05" "alice\x07members\x07" "example\x03net";
#define NAME_LEN (sizeof(NAME))	/* includes the final 0: the root label */
static const uint8_t NAME_UPPER[] = "\x02H1\x05" "ALICE\x07members\x07" "example\x03NET";
static const uint8_t OTHER[] = "\x02h2\x05" "alice\x07members\x07" "example\x03net";

static struct llq_server *mk(uint32_t per_client, uint32_t global)
{
	struct llq_config c;
	struct llq_server *s;

	llq_config_default(&c);
	c.per_client_max = per_client;
	c.global_max = global;
	s = llq_server_new(&c);
	assert_non_null(s);
	return s;
}

static struct llq_request req(uint16_t op, uint64_t id, uint32_t lease, uint8_t host, uint64_t conn)
{
	struct llq_request r = { 0 };

	r.peer.family = 4;
	r.peer.addr[0] = 192;
	r.peer.addr[1] = 0;
	r.peer.addr[2] = 2;
	r.peer.addr[3] = host;
	r.peer.port = 5353;
	r.peer.conn = conn;
	memcpy(r.q.name, NAME, NAME_LEN);
	r.q.name_len = NAME_LEN;
	r.q.qtype = 28;	/* AAAA */
	r.q.qclass = 1;
	r.version = LLQ_VERSION;
	r.opcode = op;
	r.id = id;
	r.lease_s = lease;
	r.new_id = 0x1122334455667700ull + host;
	return r;
}

/* The four-way UDP handshake; returns the id. */
static uint64_t handshake(struct llq_server *s, uint8_t host, uint32_t lease, uint64_t now)
{
	struct llq_request r = req(LLQ_OP_SETUP, 0, lease, host, 0);
	struct llq_reply rep;

	assert_int_equal(llq_server_handle(s, &r, now, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	r.id = rep.id;
	assert_int_equal(llq_server_handle(s, &r, now, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	return rep.id;
}

static struct llq_blob *blob(void)
{
	static const uint8_t rr[] = { 1, 2, 3, 4 };
	struct llq_blob *b = llq_blob_new(rr, sizeof(rr));

	assert_non_null(b);
	return b;
}

static int drain(struct llq_server *s, struct llq_out *last)
{
	struct llq_out o;
	int n = 0;

	while (llq_server_pop(s, &o)) {
		if (last) {
			llq_blob_put(last->blob);
			*last = o;
		} else {
			llq_blob_put(o.blob);
		}
		n++;
	}
	return n;
}

static void udp_handshake(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep, rep2;
	struct llq_stats st;

	/* 1. setup request -> 2. challenge with the server's id and lease */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	assert_int_equal(rep.opcode, LLQ_OP_SETUP);
	assert_int_equal(rep.error, LLQ_ERR_NOERROR);
	assert_true(rep.id == r.new_id);
	assert_int_equal(rep.lease_s, 3600);
	assert_false(llq_server_has(s, rep.id));

	/* a retransmitted request gets the same challenge, no second LLQ */
	r.new_id = 99;
	assert_int_equal(llq_server_handle(s, &r, T0 + 2000, &rep2), 0);
	assert_int_equal(rep2.kind, LLQ_REPLY_CHALLENGE);
	assert_true(rep2.id == rep.id);
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.live, 0);

	/* 3. challenge response -> 4. ACK + answers */
	r.id = rep.id;
	assert_int_equal(llq_server_handle(s, &r, T0 + 3000, &rep2), 0);
	assert_int_equal(rep2.kind, LLQ_REPLY_ANSWERS);
	assert_int_equal(rep2.error, LLQ_ERR_NOERROR);
	assert_true(rep2.id == rep.id);
	assert_int_equal(rep2.lease_s, 3600);
	assert_true(llq_server_has(s, rep.id));

	/* a repeated challenge response (lost ACK) gets the ACK again */
	assert_int_equal(llq_server_handle(s, &r, T0 + 5000, &rep2), 0);
	assert_int_equal(rep2.kind, LLQ_REPLY_ANSWERS);
	assert_int_equal(rep2.lease_s, 3598);
	llq_server_stats(s, &st);
	assert_int_equal(st.live, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.established, 1);
	llq_server_free(s);
}

static void lease_clamp(void **state)
{
	struct llq_server *s = mk(10, 100);
	const uint32_t want[] = { 1, 899, 900, 901, 3600, 7199, 7200, 7201, 0xffffffffu, 0 };
	const uint32_t got[] = { 900, 900, 900, 901, 3600, 7199, 7200, 7200, 7200, 7200 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct llq_request r = req(LLQ_OP_SETUP, 0, want[i], (uint8_t)(10 + i), 0);
		struct llq_reply rep;

		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
		assert_int_equal(rep.lease_s, got[i]);
	}
	llq_server_free(s);
}

static void stream_setup_no_challenge(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 1000, 7, 42);
	struct llq_reply rep;

	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	assert_true(rep.id == r.new_id);
	assert_int_equal(rep.lease_s, 1000);
	assert_true(llq_server_has(s, rep.id));

	/* closing another connection does nothing; closing its own drops it */
	llq_server_conn_closed(s, 41);
	assert_true(llq_server_has(s, rep.id));
	llq_server_conn_closed(s, 42);
	assert_false(llq_server_has(s, rep.id));
	llq_server_free(s);
}

static void challenge_expires(void **state)
{
	struct llq_config c;
	struct llq_server *s;
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep;
	struct llq_stats st;

	llq_config_default(&c);
	s = llq_server_new(&c);
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_true(llq_server_next_deadline(s) == T0 + c.challenge_ms);
	llq_server_tick(s, T0 + c.challenge_ms - 1);
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, 1);
	llq_server_tick(s, T0 + c.challenge_ms);
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.challenge_expired, 1);
	assert_true(llq_server_next_deadline(s) == UINT64_MAX);

	r.id = rep.id;
	assert_int_equal(llq_server_handle(s, &r, T0 + c.challenge_ms, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	llq_server_free(s);
}

static void wrong_question_or_owner(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep, rep2;

	r.owner = 5;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	r.id = rep.id;
	r.q.qtype = 1;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep2), 0);
	assert_int_equal(rep2.error, LLQ_ERR_NOSUCHLLQ);
	r.q.qtype = 28;
	r.owner = 6;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep2), 0);
	assert_int_equal(rep2.error, LLQ_ERR_NOSUCHLLQ);
	/* the name matches without regard to case */
	r.owner = 5;
	memcpy(r.q.name, NAME_UPPER, NAME_LEN);
	assert_int_equal(llq_server_handle(s, &r, T0, &rep2), 0);
	assert_int_equal(rep2.kind, LLQ_REPLY_ANSWERS);
	llq_server_free(s);
}

static void refresh_and_expiry(void **state)
{
	struct llq_server *s = mk(10, 100);
	uint64_t id = handshake(s, 7, 900, T0);
	struct llq_request r = req(LLQ_OP_REFRESH, id, 1800, 7, 0);
	struct llq_reply rep;
	struct llq_stats st;

	assert_true(llq_server_next_deadline(s) == T0 + 900000);
	/* refresh halfway: the lease restarts from now */
	assert_int_equal(llq_server_handle(s, &r, T0 + 450000, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.opcode, LLQ_OP_REFRESH);
	assert_int_equal(rep.error, LLQ_ERR_NOERROR);
	assert_int_equal(rep.lease_s, 1800);
	assert_true(llq_server_next_deadline(s) == T0 + 450000 + 1800000);

	llq_server_tick(s, T0 + 450000 + 1800000 - 1);
	assert_true(llq_server_has(s, id));
	llq_server_tick(s, T0 + 450000 + 1800000);
	assert_false(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.clients, 0);

	/* refresh of an unknown LLQ */
	assert_int_equal(llq_server_handle(s, &r, T0 + 3000000, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	llq_server_free(s);
}

static void cancel(void **state)
{
	struct llq_server *s = mk(1, 100);
	uint64_t id = handshake(s, 7, 3600, T0);
	struct llq_request r = req(LLQ_OP_REFRESH, id, 0, 7, 0);
	struct llq_reply rep;
	struct llq_stats st;

	assert_int_equal(llq_server_handle(s, &r, T0 + 10, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_NOERROR);
	assert_int_equal(rep.lease_s, 0);
	assert_false(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.cancels, 1);
	assert_true(llq_server_next_deadline(s) == UINT64_MAX);
	/* the per-client slot came back (limit is 1) */
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.new_id = 77;
	assert_int_equal(llq_server_handle(s, &r, T0 + 20, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	llq_server_free(s);
}

static void errors(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep;

	r.version = 2;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_BADVERS);

	r.version = 1;
	r.q.name[0] = 64;	/* label too long */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_FORMERR);

	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.q.name_len--;	/* no root label */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_FORMERR);

	r = req(LLQ_OP_EVENT, 0, 3600, 7, 0);	/* an event as a query */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_FORMERR);

	r = req(9, 0, 3600, 7, 0);
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_FORMERR);

	/* the caller must supply a fresh non-zero id */
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.new_id = 0;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), -EEXIST);
	r.new_id = 5;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	r = req(LLQ_OP_SETUP, 0, 3600, 8, 0);
	r.new_id = 5;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), -EEXIST);

	/* a response other than an event ack is ignored */
	r = req(LLQ_OP_SETUP, 5, 3600, 7, 0);
	r.is_response = true;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_NONE);
	llq_server_free(s);
}

static void limits(void **state)
{
	struct llq_server *s = mk(2, 3);
	struct llq_request r;
	struct llq_reply rep;
	struct llq_stats st;

	for (int i = 0; i < 2; i++) {
		r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
		r.q.qtype = (uint16_t)(1 + i);	/* distinct questions */
		r.new_id = 100 + (uint64_t)i;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	}
	/* third from the same address: ServFull, with a retry time */
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.q.qtype = 16;
	r.peer.port = 999;	/* the limit is per address, not per port */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	assert_int_equal(rep.lease_s, 300);
	/* another client fits, then the global limit */
	r = req(LLQ_OP_SETUP, 0, 3600, 8, 0);
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	r = req(LLQ_OP_SETUP, 0, 3600, 9, 0);
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	llq_server_stats(s, &st);
	assert_int_equal(st.servfull, 2);
	assert_int_equal(st.clients, 2);
	llq_server_free(s);
}

/*
 * The caller's load shedding: a new setup it turns away is SERV-FULL with
 * the retry time it chose, and nothing is kept; a setup already challenged
 * still gets its challenge again (its LLQ exists); a limit's SERV-FULL
 * carries the caller's retry time too.
 */
static void shed_setups(void **state)
{
	struct llq_server *s = mk(10, 1);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep;
	struct llq_stats st;
	uint64_t id;

	(void)state;
	r.shed = true;
	r.servfull_retry_s = 7;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	assert_int_equal(rep.lease_s, 7);
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.servfull, 1);
	/* admitted: challenged; its retransmission while shedding gets the same challenge */
	r.shed = false;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	id = rep.id;
	r.shed = true;
	assert_int_equal(llq_server_handle(s, &r, T0 + 1000, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	assert_true(rep.id == id);
	/* the global limit (1) with the caller's retry time */
	r = req(LLQ_OP_SETUP, 0, 3600, 8, 0);
	r.servfull_retry_s = 12;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	assert_int_equal(rep.lease_s, 12);
	llq_server_free(s);
}

/*
 * Unsigned LLQs are counted per address, signed ones per (address,
 * account) and per account: a flood of unsigned setups from a spoofed
 * address never makes that address's signed LLQs ServFull, and an
 * account's LLQs from all its addresses are bounded together.
 */
static void limits_signed_apart(void **state)
{
	struct llq_config c;
	struct llq_server *s;
	struct llq_request r;
	struct llq_reply rep;
	struct llq_stats st;
	uint64_t id = 1000;

	llq_config_default(&c);
	c.per_client_max = 3;
	c.per_account_max = 5;
	s = llq_server_new(&c);
	assert_non_null(s);
	/* the unsigned count of 192.0.2.7 is used up */
	for (int i = 0; i < 3; i++) {
		r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
		r.q.qtype = (uint16_t)(1 + i);
		r.new_id = id++;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	}
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.q.qtype = 16;
	r.new_id = id++;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	/* account 42 still sets up its own from there, up to per_client_max */
	for (int i = 0; i < 3; i++) {
		r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
		r.q.qtype = (uint16_t)(20 + i);
		r.owner = 42;
		r.new_id = id++;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	}
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.q.qtype = 23;
	r.owner = 42;
	r.new_id = id++;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	/* account 43 at the same address has a count of its own */
	r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	r.owner = 43;
	r.new_id = id++;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	/* account 42 from another address: two more fit the account's 5 (over TCP: live at once) */
	for (int i = 0; i < 2; i++) {
		r = req(LLQ_OP_SETUP, 0, 3600, 8, 77);
		r.q.qtype = (uint16_t)(30 + i);
		r.owner = 42;
		r.new_id = id++;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	}
	r = req(LLQ_OP_SETUP, 0, 3600, 9, 0);
	r.q.qtype = 32;
	r.owner = 42;
	r.new_id = id++;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_SERVFULL);
	llq_server_stats(s, &st);
	assert_int_equal(st.servfull, 3);
	assert_int_equal(st.clients, 4);	/* (.7, unsigned), (.7, 42), (.7, 43), (.8, 42) */
	assert_int_equal(st.accounts, 2);
	/* a connection's LLQs go, and with them their share of the account's count */
	llq_server_conn_closed(s, 77);
	r.new_id = id++;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	llq_server_stats(s, &st);
	assert_int_equal(st.clients, 4);	/* (.8, 42) went, (.9, 42) came */
	llq_server_free(s);
	/* everything freed: the sanitizer checks the counts were dropped */
}

static void events_match(void **state)
{
	struct llq_server *s = mk(10, 100);
	uint64_t id = handshake(s, 7, 3600, T0);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 8, 0);
	struct llq_reply rep;
	struct llq_blob *b = blob();
	struct llq_out o = { 0 };

	/* a pending (challenged) LLQ on the same question gets nothing */
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);

	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 1, 1, b, T0 + 1000), 0);	/* A: no */
	assert_int_equal(llq_server_notify(s, OTHER, sizeof(OTHER), 28, 1, b, T0 + 1000), 0);
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 3, b, T0 + 1000), 0);	/* class CH */
	assert_int_equal(drain(s, NULL), 0);
	assert_int_equal(llq_server_notify(s, NAME_UPPER, NAME_LEN, 28, 1, b, T0 + 1000), 1);
	assert_int_equal(drain(s, &o), 1);
	assert_true(o.id == id);
	assert_int_equal(o.tx, 1);
	assert_int_equal(o.lease_s, 3599);
	assert_int_equal(o.peer.addr[3], 7);
	assert_int_equal(o.q.qtype, 28);
	assert_memory_equal(o.q.name, NAME, NAME_LEN);
	assert_int_equal(o.blob->len, 4);
	llq_blob_put(o.blob);

	/* ANY matches every type */
	r = req(LLQ_OP_SETUP, 0, 3600, 9, 42);
	r.q.qtype = 255;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 16, 1, b, T0 + 1000), 1);
	assert_int_equal(drain(s, NULL), 1);
	llq_blob_put(b);
	llq_server_free(s);	/* frees the blob references the events hold */
}

static void retransmit_then_drop(void **state)
{
	struct llq_server *s = mk(10, 100);
	uint64_t id = handshake(s, 7, 7200, T0);
	struct llq_blob *b = blob();
	struct llq_out o = { 0 };
	struct llq_stats st;
	uint64_t t = T0 + 5000;

	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, t), 1);
	llq_blob_put(b);
	assert_int_equal(drain(s, &o), 1);
	assert_int_equal(o.tx, 1);
	assert_true(llq_server_next_deadline(s) == t + 2000);

	/* back-off 2 s, then 4 s, then give up 8 s after the third */
	llq_server_tick(s, t + 1999);
	assert_int_equal(drain(s, NULL), 0);
	llq_server_tick(s, t + 2000);
	assert_int_equal(drain(s, &o), 1);
	assert_int_equal(o.tx, 2);
	assert_true(llq_server_next_deadline(s) == t + 2000 + 4000);
	llq_server_tick(s, t + 5999);
	assert_int_equal(drain(s, NULL), 0);
	llq_server_tick(s, t + 6000);
	assert_int_equal(drain(s, &o), 1);
	assert_int_equal(o.tx, 3);
	assert_true(llq_server_next_deadline(s) == t + 6000 + 8000);
	llq_server_tick(s, t + 13999);
	assert_true(llq_server_has(s, id));
	llq_server_tick(s, t + 14000);
	assert_int_equal(drain(s, NULL), 0);
	assert_false(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.dropped_unacked, 1);
	assert_int_equal(st.retransmits, 2);
	assert_int_equal(st.events, 1);
	llq_blob_put(o.blob);
	llq_server_free(s);
}

static void ack_stops_retransmission(void **state)
{
	struct llq_server *s = mk(10, 100);
	uint64_t id = handshake(s, 7, 7200, T0);
	struct llq_blob *b = blob();
	struct llq_out o = { 0 };
	struct llq_request ack = req(LLQ_OP_EVENT, id, 0, 7, 0);
	struct llq_reply rep;
	struct llq_stats st;

	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0), 1);
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0), 1);
	llq_blob_put(b);
	assert_int_equal(drain(s, &o), 2);

	/* an ack for a message id we never sent changes nothing */
	ack.is_response = true;
	ack.msg_id = (uint16_t)(o.msg_id + 100);
	assert_int_equal(llq_server_handle(s, &ack, T0 + 10, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_NONE);
	/* ack the second event: the first is still retransmitted */
	ack.msg_id = o.msg_id;
	assert_int_equal(llq_server_handle(s, &ack, T0 + 10, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_NONE);
	llq_blob_put(o.blob);
	o.blob = NULL;
	llq_server_tick(s, T0 + 2000);
	assert_int_equal(drain(s, &o), 1);
	assert_int_equal(o.tx, 2);
	ack.msg_id = o.msg_id;
	assert_int_equal(llq_server_handle(s, &ack, T0 + 2010, &rep), 0);
	/* nothing left: the only deadline is the lease */
	assert_true(llq_server_next_deadline(s) == T0 + 7200000);
	llq_server_tick(s, T0 + 100000);
	assert_int_equal(drain(s, NULL), 0);
	assert_true(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.acks, 2);
	llq_blob_put(o.blob);
	llq_server_free(s);
}

static void stream_events_not_retransmitted(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 9);
	struct llq_reply rep;
	struct llq_blob *b = blob();

	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	for (int i = 0; i < 100; i++)	/* no overflow on a stream */
		assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0), 1);
	llq_blob_put(b);
	assert_int_equal(drain(s, NULL), 100);
	assert_true(llq_server_next_deadline(s) == T0 + 3600000);
	llq_server_tick(s, T0 + 60000);
	assert_int_equal(drain(s, NULL), 0);
	llq_server_free(s);
}

static void overflow_drops(void **state)
{
	struct llq_config c;
	struct llq_server *s;
	struct llq_blob *b = blob();
	struct llq_stats st;
	uint64_t id;

	llq_config_default(&c);
	c.max_events = 3;
	s = llq_server_new(&c);
	id = handshake(s, 7, 3600, T0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0), 1);
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0), 0);
	assert_false(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.dropped_overflow, 1);
	llq_blob_put(b);
	assert_int_equal(drain(s, NULL), 3);
	llq_server_free(s);
}

/* An LLQ stays bound to the peer that answered its challenge: a refresh from
 * anywhere else (a moved host, or a spoofed source aiming events at a victim)
 * is refused and moves nothing; events keep going to the proven address. */
static void refresh_bound_to_peer(void **state)
{
	struct llq_server *s = mk(10, 100);
	uint64_t id = handshake(s, 7, 3600, T0);
	struct llq_request r = req(LLQ_OP_REFRESH, id, 3600, 7, 0);
	struct llq_reply rep;
	struct llq_blob *b = blob();
	struct llq_stats st;
	struct llq_out o;

	r.peer.addr[3] = 200;	/* another address */
	r.peer.port = 4000;
	assert_int_equal(llq_server_handle(s, &r, T0 + 1000, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	/* the same address from another port is another peer too */
	r.peer.addr[3] = 7;
	assert_int_equal(llq_server_handle(s, &r, T0 + 1000, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	/* a cancel from elsewhere cancels nothing */
	r.lease_s = 0;
	assert_int_equal(llq_server_handle(s, &r, T0 + 1000, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	assert_true(llq_server_has(s, id));
	llq_server_stats(s, &st);
	assert_int_equal(st.wrong_peer, 3);
	assert_int_equal(st.refreshes, 0);

	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0 + 2000), 1);
	assert_true(llq_server_pop(s, &o));
	assert_int_equal(o.peer.addr[3], 7);
	assert_int_equal(o.peer.port, 5353);
	llq_blob_put(o.blob);

	/* the bound peer refreshes as before */
	r = req(LLQ_OP_REFRESH, id, 3600, 7, 0);
	assert_int_equal(llq_server_handle(s, &r, T0 + 3000, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_NOERROR);
	/* an unsigned refresh of a signed LLQ is refused */
	r.owner = 3;
	assert_int_equal(llq_server_handle(s, &r, T0 + 3000, &rep), 0);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);

	/* the moved host sets up again at its new address, through a challenge there */
	r = req(LLQ_OP_SETUP, 0, 3600, 200, 0);
	r.new_id = 0x99;
	assert_int_equal(llq_server_handle(s, &r, T0 + 4000, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	r.id = rep.id;
	assert_int_equal(llq_server_handle(s, &r, T0 + 4000, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0 + 5000), 2);
	llq_blob_put(b);
	assert_int_equal(drain(s, NULL), 2);
	llq_server_free(s);
}

/* Reflection (issue 13): an account holder sets up an LLQ from its own
 * address, then answers the challenge with the victim's address as source.
 * The response proves nothing about the victim; the LLQ never goes live
 * there, and nothing is ever sent to the victim but the one small error. */
static void challenge_response_bound_to_peer(void **state)
{
	struct llq_server *s = mk(10, 100);
	struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 7, 0);
	struct llq_reply rep;
	struct llq_blob *b = blob();
	struct llq_stats st;
	uint64_t id;

	r.owner = 5;
	assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
	id = rep.id;
	r.id = id;
	r.peer.addr[3] = 66;	/* the victim */
	assert_int_equal(llq_server_handle(s, &r, T0 + 10, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_PLAIN);
	assert_int_equal(rep.error, LLQ_ERR_NOSUCHLLQ);
	assert_false(llq_server_has(s, id));
	assert_int_equal(llq_server_notify(s, NAME, NAME_LEN, 28, 1, b, T0 + 20), 0);
	llq_server_stats(s, &st);
	assert_int_equal(st.wrong_peer, 1);
	assert_int_equal(st.live, 0);
	/* the genuine response still completes the handshake */
	r.peer.addr[3] = 7;
	assert_int_equal(llq_server_handle(s, &r, T0 + 30, &rep), 0);
	assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	assert_true(llq_server_has(s, id));
	llq_blob_put(b);
	llq_server_free(s);
}

/* Many LLQs: the tables grow, and the heap expires them in lease order. */
static void many(void **state)
{
	struct llq_server *s = mk(100000, 100000);
	struct llq_stats st;
	const int n = 5000;

	for (int i = 0; i < n; i++) {
		struct llq_request r = req(LLQ_OP_SETUP, 0, 900 + (uint32_t)(i % 600), (uint8_t)i, 0);
		struct llq_reply rep;

		r.peer.addr[2] = (uint8_t)(i >> 8);
		r.q.name[1] = (uint8_t)('a' + i % 26);
		r.q.name[2] = (uint8_t)('a' + (i / 26) % 26);
		r.q.qtype = (uint16_t)(1 + i / 676);
		r.new_id = 0x9000000000000000ull + (uint64_t)i * 7919;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		r.id = rep.id;
		assert_int_equal(llq_server_handle(s, &r, T0, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	}
	llq_server_stats(s, &st);
	assert_int_equal(st.live, n);
	assert_true(llq_server_next_deadline(s) == T0 + 900000);
	for (uint32_t l = 900; l < 1500; l += 100) {
		uint32_t want = 0;

		llq_server_tick(s, T0 + (uint64_t)l * 1000 + 99999);
		for (int i = 0; i < n; i++)
			want += 900 + (uint32_t)(i % 600) >= l + 100;
		/* every lease up to l + 99 s is gone, every other is live */
		llq_server_stats(s, &st);
		assert_int_equal(st.live, want);
		if (want)
			assert_true(llq_server_next_deadline(s) == T0 + (uint64_t)(l + 100) * 1000);
		else
			assert_true(llq_server_next_deadline(s) == UINT64_MAX);
	}
	llq_server_stats(s, &st);
	assert_int_equal(st.expired, n);
	llq_server_tick(s, UINT64_MAX - 1);
	llq_server_stats(s, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.clients, 0);
	llq_server_free(s);
}

/* Many challenges outstanding while the tables grow: a retransmitted setup
 * still finds its own challenge (no second LLQ), and each completes. */
static void pending_index(void **state)
{
	struct llq_server *s = mk(100000, 100000);
	struct llq_stats st;
	uint64_t ids[300];
	const int n = 300;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < n; i++) {
			struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, (uint8_t)i, 0);
			struct llq_reply rep;

			r.peer.addr[2] = (uint8_t)(i >> 8);
			r.new_id = 0x5000000000000000ull + (uint64_t)i + (uint64_t)round * 1000;
			assert_int_equal(llq_server_handle(s, &r, T0 + (uint64_t)round, &rep), 0);
			assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
			if (round == 0)
				ids[i] = rep.id;
			else
				assert_true(rep.id == ids[i]);	/* the same challenge again */
		}
	}
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, n);
	for (int i = 0; i < n; i++) {
		struct llq_request r = req(LLQ_OP_SETUP, ids[i], 3600, (uint8_t)i, 0);
		struct llq_reply rep;

		r.peer.addr[2] = (uint8_t)(i >> 8);
		assert_int_equal(llq_server_handle(s, &r, T0 + 5, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_ANSWERS);
	}
	llq_server_stats(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.live, n);
	/* a new setup from the same peer and question after the first is live: a new LLQ */
	{
		struct llq_request r = req(LLQ_OP_SETUP, 0, 3600, 0, 0);
		struct llq_reply rep;

		r.new_id = 42;
		assert_int_equal(llq_server_handle(s, &r, T0 + 6, &rep), 0);
		assert_int_equal(rep.kind, LLQ_REPLY_CHALLENGE);
		assert_true(rep.id == 42);
	}
	llq_server_free(s);
}

static void name_check(void **state)
{
	assert_int_equal(llq_name_check((const uint8_t *)"", 1), 0);	/* the root */
	assert_int_equal(llq_name_check(NAME, NAME_LEN), 0);
	assert_int_equal(llq_name_check(NAME, NAME_LEN - 1), -EBADMSG);
	assert_int_equal(llq_name_check(NAME, 0), -EBADMSG);
	assert_int_equal(llq_name_check((const uint8_t *)"\x01" "a\0\0", 4), -EBADMSG);

	uint8_t big[256];
	size_t i = 0;

	/* 255 bytes: 4 labels of 63 (256 with the lengths) is one too many */
	while (i + 64 <= 254) {
		big[i] = 63;
		memset(big + i + 1, 'x', 63);
		i += 64;
	}
	big[i] = (uint8_t)(254 - i - 1);
	memset(big + i + 1, 'y', big[i]);
	big[254] = 0;
	assert_int_equal(llq_name_check(big, 255), 0);
	big[i]++;
	big[255] = 0;
	assert_int_equal(llq_name_check(big, 256), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(udp_handshake),
		cmocka_unit_test(lease_clamp),
		cmocka_unit_test(stream_setup_no_challenge),
		cmocka_unit_test(challenge_expires),
		cmocka_unit_test(wrong_question_or_owner),
		cmocka_unit_test(refresh_and_expiry),
		cmocka_unit_test(cancel),
		cmocka_unit_test(errors),
		cmocka_unit_test(limits),
		cmocka_unit_test(shed_setups),
		cmocka_unit_test(limits_signed_apart),
		cmocka_unit_test(events_match),
		cmocka_unit_test(retransmit_then_drop),
		cmocka_unit_test(ack_stops_retransmission),
		cmocka_unit_test(stream_events_not_retransmitted),
		cmocka_unit_test(overflow_drops),
		cmocka_unit_test(refresh_bound_to_peer),
		cmocka_unit_test(challenge_response_bound_to_peer),
		cmocka_unit_test(many),
		cmocka_unit_test(pending_index),
		cmocka_unit_test(name_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
