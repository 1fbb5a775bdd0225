/*
 * Fuzz the LLQ state machine: the input is a script of requests, changes,
 * connection closes and clock steps, read through the wire cursor. The
 * machine must never crash, leak or break its invariants: every queued
 * event belongs to the peer of a live LLQ, deadlines never lie in the past
 * after a tick, and the counters add up.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "llq/llq.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_question(struct wire *w, struct llq_question *q)
{
	/* a short name from a small alphabet so that questions collide */
	uint8_t n = wire_read_u8(w);

	q->name_len = 0;
	if (n & 0x80) {		/* raw bytes: exercises the name check */
		q->name_len = (uint8_t)(n & 0x1f);
		wire_read_bytes(w, q->name, q->name_len);
	} else {
		uint8_t labels = (uint8_t)(n % 3);

		for (uint8_t i = 0; i < labels; i++) {
			q->name[q->name_len++] = 1;
			q->name[q->name_len++] = (uint8_t)("aAbB"[wire_read_u8(w) % 4]);
		}
		q->name[q->name_len++] = 0;
	}
	q->qtype = (uint16_t)("\x01\x1c\x21\xff"[wire_read_u8(w) % 4]);
	q->qclass = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire w = wire_reader(data, size);
	struct llq_config c;
	struct llq_server *s;
	uint64_t now = 1000, ids[8] = { 0 };
	uint64_t next_id = 1;
	unsigned steps = 0;

	llq_config_default(&c);
	c.per_client_max = 4;
	c.global_max = 16;
	c.max_events = 4;
	c.lease_min_s = 2;
	c.lease_max_s = 60;
	c.challenge_ms = 5000;
	c.rto_ms = 100;
	s = llq_server_new(&c);
	if (!s)
		return 0;

	while (wire_avail(&w) && wire_err(&w) == 0 && steps++ < 2000) {
		uint8_t op = wire_read_u8(&w);
		struct llq_request rq = { 0 };
		struct llq_reply rep;
		struct llq_question q;
		struct llq_blob *b;
		struct llq_out o;
		int rc;

		switch (op % 6) {
		case 0: case 1: {	/* a request */
			uint8_t f = wire_read_u8(&w);

			rq.peer.family = (f & 1) ? 6 : 4;
			rq.peer.addr[15] = (uint8_t)(f >> 5);
			rq.peer.port = (uint16_t)(f & 2);
			rq.peer.conn = (f & 4) ? (f >> 5) + 1 : 0;
			read_question(&w, &rq.q);
			rq.version = (uint16_t)((f & 8) ? wire_read_u8(&w) : 1);
			rq.opcode = (uint16_t)(wire_read_u8(&w) % 5);
			rq.is_response = (f & 16) != 0;
			rq.msg_id = wire_read_u16(&w);
			rq.id = (op & 0x80) ? ids[wire_read_u8(&w) % 8] : 0;
			rq.lease_s = wire_read_u8(&w);
			rq.owner = (op >> 6) & 1;
			rq.new_id = next_id;
			rc = llq_server_handle(s, &rq, now, &rep);
			assert(rc == 0 || rc == -EEXIST || rc == -ENOMEM);
			if (rc == 0 && rep.kind != LLQ_REPLY_NONE) {
				if (rep.id == next_id)
					next_id += 0x10001;
				ids[rep.id % 8] = rep.id;
				if (rep.error == LLQ_ERR_NOERROR && rep.kind != LLQ_REPLY_PLAIN)
					assert(rep.lease_s <= c.lease_max_s);
			}
			break;
		}
		case 2:		/* a change */
			read_question(&w, &q);
			b = llq_blob_new(data, size < 32 ? size : 32);
			if (b) {
				(void)llq_server_notify(s, q.name, q.name_len, q.qtype, 1, b, now);
				llq_blob_put(b);
			}
			break;
		case 3:
			llq_server_conn_closed(s, wire_read_u8(&w) % 9);
			break;
		case 4: {	/* time passes */
			uint64_t step = (uint64_t)wire_read_u16(&w) * 17;

			now += step;
			llq_server_tick(s, now);
			assert(llq_server_next_deadline(s) > now);
			break;
		}
		default:	/* the glue drains its queue */
			while (llq_server_pop(s, &o)) {
				assert(o.tx >= 1 && o.tx <= c.max_tx);
				assert(o.blob && o.blob->refs >= 1);
				llq_blob_put(o.blob);
			}
			break;
		}
	}
	{
		struct llq_stats st;

		llq_server_stats(s, &st);
		assert(st.live + st.pending <= c.global_max);
	}
	llq_server_free(s);
	return 0;
}
