/*
 * Fuzz the LLQ client (lib/dnsc llq.c): a script of operations read from
 * the input (add, remove, connect, disconnect, refresh, tick, and messages
 * from the server given as answers to the request out or as unsolicited
 * events). The client holds unsigned LLQs here so that the fuzzer reaches
 * the protocol logic past TSIG. Invariants: no crash, no request while
 * disconnected, at most one request out per LLQ, deadlines in the future
 * after a tick.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsc/llq.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsc_llq_client c;
	static uint8_t buf[DNSC_MSG_MAX], ack[DNSC_MSG_MAX];
	static struct dnsc_llq_result res;
	static const char *const names[] = { "_autotunnel._udp.alice.example.net", "desktop.alice.example.net",
					     "_autotunnel._udp.desktop.alice.example.net", "nas.alice.example.net" };
	static const uint16_t types[] = { 12, 28, 33, 1 };
	struct wire w = wire_reader(data, size);
	uint64_t now = 1000;
	uint32_t tokens[8] = { 0 };
	uint16_t ids[8] = { 0 };
	struct dns_tsig t[8];
	bool out[8] = { false };
	unsigned steps = 0, nt = 0;

	dnsc_llq_init(&c, NULL, NULL);
	while (wire_avail(&w) && steps++ < 500) {
		uint8_t op = wire_read_u8(&w);
		struct dns_name n;
		size_t len;
		int rc;

		switch (op % 9) {
		case 0: case 1:
			if (dns_name_from_text(&n, names[(op >> 4) % 4]) == 0)
				(void)dnsc_llq_add(&c, &n, types[(op >> 6) % 4]);
			break;
		case 2:
			dnsc_llq_remove(&c, wire_read_u8(&w) % 8);
			break;
		case 3:
			if (op & 0x80)
				dnsc_llq_disconnected(&c);
			else
				dnsc_llq_connected(&c, now);
			break;
		case 4:
			dnsc_llq_refresh_all(&c);
			break;
		case 5:
			now += (uint64_t)wire_read_u16(&w) * 1000;
			dnsc_llq_tick(&c, now);
			assert(dnsc_llq_next_deadline(&c) > now);
			break;
		case 6: {	/* take a request */
			unsigned k = nt % 8;
			uint16_t id = (uint16_t)(0x100 + nt);

			if (out[k])
				dns_tsig_fini(&t[k]);
			out[k] = false;
			rc = dnsc_llq_next_request(&c, now, id, &t[k], 1700000000u, buf, sizeof(buf), &len, &tokens[k]);
			assert(rc == 0 || rc == 1);
			if (rc == 1) {
				assert(c.connected);
				out[k] = true;
				ids[k] = id;
				nt++;
			}
			break;
		}
		case 7: {	/* the server answers request k with the next bytes */
			unsigned k = wire_read_u8(&w) % 8;
			uint16_t l = wire_read_u16(&w);
			const uint8_t *msg = wire_read_ref(&w, l);

			if (!msg || !out[k])
				break;
			/* the message gets the request's id so that it can match */
			memcpy(buf, msg, l);
			if (l >= 2) {
				buf[0] = (uint8_t)(ids[k] >> 8);
				buf[1] = (uint8_t)ids[k];
			}
			if (op & 0x80) {
				dnsc_llq_on_failure(&c, tokens[k], now);
			} else {
				rc = dnsc_llq_on_response(&c, tokens[k], buf, l, ids[k], &t[k], now, 1700000000u, &res);
				assert(rc == 0 || rc == -EBADMSG || rc == -EIO);
			}
			dns_tsig_fini(&t[k]);
			out[k] = false;
			break;
		}
		default: {	/* an unsolicited message */
			uint16_t l = wire_read_u16(&w);
			const uint8_t *msg = wire_read_ref(&w, l);

			if (!msg)
				break;
			rc = dnsc_llq_on_event(&c, msg, l, now, 1700000000u, &res, ack, sizeof(ack), &len);
			assert(rc == 0 || rc == -ENOENT || rc == -EBADMSG || rc == -EACCES || rc == -ENOSPC);
			if (rc == 0)
				assert(res.kind == DNSC_LLQ_EVENT && len >= 12 && (ack[2] & 0x80));
			break;
		}
		}
		for (unsigned i = 0; i < c.n; i++)
			assert(c.q[i].state <= DNSC_LLQ_FAILED);
	}
	for (unsigned k = 0; k < 8; k++)
		if (out[k])
			dns_tsig_fini(&t[k]);
	dnsc_llq_fini(&c);
	return 0;
}
