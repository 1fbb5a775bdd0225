/*
 * Fuzz lib/dso: the input is a script of DSO messages on a few
 * connections, subscriptions accepted or not, changes, activity, closes
 * and clock steps, read through the wire cursor. Every message is parsed
 * and, when valid, handed to the session machine. It must never crash or
 * leak; every output names a connection that has a session; a built PUSH
 * parses back; the counters add up.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dso/dso.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire w = wire_reader(data, size);
	struct dso_config c;
	struct dso_server *s;
	uint64_t now = 1000;
	unsigned steps = 0;

	dso_config_default(&c);
	c.inactivity_ms = 1000;
	c.subs_per_session = 3;
	c.subs_max = 8;
	s = dso_server_new(&c);
	if (!s)
		return 0;
	while (wire_avail(&w) && !wire_err(&w) && steps++ < 256) {
		uint8_t op = wire_read_u8(&w);
		uint64_t conn = 1 + op % 4;
		struct dso_verdict v;
		struct dso_msg m;
		struct dso_out o;

		switch ((op >> 2) % 6) {
		case 0:
		case 1: {	/* a raw message */
			uint16_t len = wire_read_u16(&w) % 600;
			const uint8_t *msg = wire_read_ref(&w, len);

			if (!msg || dso_msg_parse(&m, msg, len))
				break;
			if (dso_server_handle(s, conn, &m, now, &v))
				break;
			if (v.act == DSO_ACT_SUBSCRIBE && (op & 0x80)) {
				int rc = dso_server_subscribe(s, conn, v.id, &v.q, now);

				assert(rc == 0 || rc == -ENOSPC || rc == -ENOMEM);
			}
			if (v.act == DSO_ACT_RECONFIRM) {
				assert(v.rc.q.qtype != DSO_TYPE_ANY);
				(void)dso_server_watches(s, conn, v.rc.q.name, v.rc.q.name_len, v.rc.q.qtype,
							 v.rc.q.qclass);
			}
			break;
		}
		case 2: {	/* a change: a name from a short alphabet */
			uint8_t name[8] = { 1, (uint8_t)("aAbB"[wire_read_u8(&w) % 4]), 0 };
			uint8_t buf[DSO_PUSH_MAX];
			struct dso_push p;
			size_t len;

			(void)dso_server_notify(s, name, 3, (uint16_t)("\x01\x1c\xff"[op % 3]), 1, now);
			assert(dso_push_begin(&p, buf, sizeof(buf)) == 0);
			assert(dso_push_add(&p, name, 3, 1, 1, DSO_TTL_REMOVE, (const uint8_t *)"\1\2\3\4", 4) == 0);
			assert(dso_push_finish(&p, &len) == 0);
			assert(dso_msg_parse(&m, buf, len) == 0 && m.tlv[0].type == DSO_TYPE_PUSH);
			break;
		}
		case 3:
			dso_server_activity(s, conn, now);
			if ((op & 0x80) && dso_server_authenticate(s, conn, op, now))
				break;
			break;
		case 4:
			dso_server_conn_closed(s, conn);
			break;
		case 5:
			now += wire_read_u16(&w);
			dso_server_tick(s, now);
			assert(dso_server_next_deadline(s) > now);
			break;
		}
		while (dso_server_pop(s, &o))
			assert(dso_server_has_session(s, o.conn) || o.kind == DSO_OUT_PUSH);
	}
	{
		struct dso_stats st;

		dso_server_stats(s, &st);
		assert(st.sessions == st.sessions_opened - st.sessions_closed);
	}
	dso_server_free(s);
	return 0;
}
