/*
 * Fuzz the DNS Push client (lib/dnsc push.c) with the account view behind
 * it: the input is a script of steps, each one byte of kind then, for
 * messages, a 2-byte length and the bytes: a message from the server (a
 * PUSH, Retry Delay...), the answer to the oldest request out (as is, or
 * replaced by a failure), the connection going down or up, the signed
 * query answered, time passing. After each step every message the client
 * wants to send is drained and must parse as DSO with the ids it was given;
 * the view's questions are fed back as subscriptions. Nothing may crash,
 * a session held off never sends a request, and reported peers are hosts
 * of the account.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsc/push.h"
#include "dnsc/view.h"
#include "dso/dso.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D "alice.members.example.net"
#define OUT_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsc_push_client c;
	static struct dnsc_view v;
	static struct dnsc_question q[DNSC_PUSH_MAX];
	static uint8_t buf[1024];
	uint16_t out[OUT_MAX], next_id = 1;
	unsigned nout = 0, steps = 0;
	struct wire w = wire_reader(data, size);
	uint64_t now = 1000;

	dnsc_push_init(&c, NULL);
	if (dnsc_view_init(&v, D, "laptop"))
		return 0;
	v.watch_self = true;
	while (wire_avail(&w) > 0 && steps++ < 128) {
		uint8_t kind = wire_read_u8(&w);
		const uint8_t *msg = NULL;
		uint16_t len = 0;
		struct dnsc_peer p;
		size_t n;

		if ((kind & 7) < 3) {
			len = wire_read_u16(&w);
			msg = wire_read_ref(&w, len);
			if (!msg)
				break;
		}
		switch (kind & 7) {
		case 0:
			(void)dnsc_push_on_message(&c, msg, len, now, &v);
			break;
		case 1:
		case 2:
			/* the answer to the oldest request out, with its id put in (or a failure) */
			if (nout == 0)
				break;
			if ((kind & 7) == 1 && len >= 2) {
				uint8_t copy[1024];

				if (len > sizeof(copy))
					len = sizeof(copy);
				memcpy(copy, msg, len);
				copy[0] = (uint8_t)(out[0] >> 8);
				copy[1] = (uint8_t)out[0];
				(void)dnsc_push_on_response(&c, out[0], copy, len, now);
			} else {
				(void)dnsc_push_on_response(&c, out[0], NULL, 0, now);
			}
			memmove(out, out + 1, --nout * sizeof(out[0]));
			break;
		case 3:
			dnsc_push_connected(&c, now);
			nout = 0;
			break;
		case 4:
			dnsc_push_disconnected(&c);
			nout = 0;
			break;
		case 5:
			dnsc_push_authenticated(&c);
			break;
		default:
			now += (uint64_t)(kind >> 3) * 1000u * (kind & 1 ? 60 : 1);
			dnsc_push_tick(&c, now);
			break;
		}
		while (dnsc_view_next_change(&v, &p) != DNSC_CHANGE_NONE)
			assert(strcmp(p.label, "laptop") != 0 && strstr(p.fqdn, "." D));
		n = dnsc_view_questions(&v, q, DNSC_PUSH_MAX);
		(void)dnsc_push_sync(&c, q, n < DNSC_PUSH_MAX ? n : DNSC_PUSH_MAX);
		for (int i = 0; i < 2 * DNSC_PUSH_MAX + 4; i++) {
			struct dso_msg m;
			size_t mlen;
			bool req;
			int rc = dnsc_push_next_message(&c, now, next_id, buf, sizeof(buf), &mlen, &req);

			if (rc == -EEXIST) {
				next_id++;
				continue;
			}
			if (rc <= 0)
				break;
			assert(dso_msg_parse(&m, buf, mlen) == 0 && !m.qr);
			assert(req ? m.id == next_id && dnsc_push_active(&c) : m.id == 0);
			if (req) {
				if (nout < OUT_MAX)
					out[nout++] = next_id;
				next_id = (uint16_t)(next_id + 1 ? next_id + 1 : 1);
			}
		}
		(void)dnsc_push_next_deadline(&c);
	}
	return 0;
}
