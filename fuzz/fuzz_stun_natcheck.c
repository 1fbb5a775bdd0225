/*
 * Fuzz lib/stun/natcheck: the input is a script run against one check.
 * Each step is an opcode byte, a source byte and, for 0 and 1, a length
 * byte and that many bytes:
 *   0  the bytes as a datagram
 *   1  a Binding answer to one of the requests sent last (picked by the
 *      source byte's top bit), success or error, with XOR-MAPPED-ADDRESS
 *      and OTHER-ADDRESS shaped by the bytes
 *   2  the clock jumps to the deadline (or by the source byte, in 100 ms)
 * The source byte picks where the datagram comes from: the primary
 * address, the alternate one, either mixed, or elsewhere.
 * Invariants: every request is a well-formed Binding request with a
 * correct FINGERPRINT, to the server or the OTHER-ADDRESS it gave; the deadline
 * is never in the past and NEVER exactly once done; done is reported
 * once; nothing is sent after it.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/msg.h"
#include "stun/natcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct stun_natcheck_send last[STUN_NATCHECK_MAX_TX];
static unsigned n_last;

static void rnd(void *arg, void *buf, size_t len)
{
	unsigned *ctr = arg;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(*ctr * 29 + i);
	(*ctr)++;
}

static struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(ip) } };

	return s;
}

static struct sockaddr_in source(uint8_t b)
{
	static const uint32_t ips[4] = { 0xc0000201, 0xc0000202, 0xc0000203, 0xcb007105 };
	static const uint16_t ports[4] = { 3478, 3479, 3480, 4500 };

	return addr(ips[b & 3], ports[(b >> 2) & 3]);
}

static void check(const struct stun_natcheck *nc, const struct stun_natcheck_out *out, uint64_t now,
		  bool *done)
{
	assert(out->n_sends <= STUN_NATCHECK_MAX_TX);
	if (out->done) {
		assert(!*done);
		*done = true;
	}
	assert(stun_natcheck_running(nc) == !*done);
	if (*done) {
		assert(out->deadline == STUN_NATCHECK_NEVER);
		assert(out->n_sends == 0 || out->done);
	} else {
		assert(out->deadline != STUN_NATCHECK_NEVER && out->deadline > now);
	}
	for (unsigned i = 0; i < out->n_sends; i++) {
		struct stun_msg m;
		const struct sockaddr_in *to = (const struct sockaddr_in *)&out->sends[i].to;

		assert(out->sends[i].len <= STUN_NATCHECK_MAX_PKT);
		assert(stun_msg_parse(out->sends[i].buf, out->sends[i].len, &m) == 0);
		assert(m.cls == STUN_CLASS_REQUEST && m.method == STUN_METHOD_BINDING && m.fingerprint);
		assert(to->sin_family == AF_INET);
		/* the server, or the alternate address it named */
		assert(to->sin_addr.s_addr == htonl(0xc0000201) ||
		       (stun_natcheck_result(nc)->rfc5780 &&
			to->sin_addr.s_addr ==
			((const struct sockaddr_in *)&stun_natcheck_result(nc)->other)->sin_addr.s_addr));
	}
	if (out->n_sends) {
		memcpy(last, out->sends, sizeof(last));
		n_last = out->n_sends;
	}
}

static size_t answer(const uint8_t *p, size_t len, uint8_t src, uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	struct stun_msg req;
	struct sockaddr_in mapped, other;
	int n;

	if (!n_last || stun_msg_parse(last[(src >> 7) % n_last].buf, last[(src >> 7) % n_last].len, &req))
		return 0;
	stun_builder_start(&b, buf, cap, STUN_METHOD_BINDING,
			   len && (p[0] & 1) ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, req.tid);
	if (len && (p[0] & 1))
		stun_builder_add_error(&b, 400 + (p[0] >> 1), NULL);
	mapped = addr(0xcb007105, (uint16_t)(40000 + (len > 1 ? p[1] : 0)));
	if (!(len > 2 && (p[2] & 1)))
		stun_builder_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&mapped);
	other = source(len > 3 ? p[3] : 5);
	if (!(len > 2 && (p[2] & 2)))
		stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, (struct sockaddr *)&other);
	if (len > 4)
		stun_builder_add(&b, 0x8000 | p[4], p + 4, len - 4);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_natcheck nc;
	struct stun_natcheck_out out;
	struct stun_natcheck_config cfg;
	struct sockaddr_in server = addr(0xc0000201, 3478), local = addr(0xcb007105, 40000);
	static uint8_t buf[4096];
	unsigned ctr = 0;
	uint64_t now = 1000;
	bool done = false;
	size_t i;

	if (size < 1)
		return 0;
	n_last = 0;
	stun_natcheck_config_default(&cfg);
	cfg.rc = 1 + (data[0] & 3);
	cfg.budget_ms = (data[0] & 4) ? 0 : 5000;
	cfg.binding_only = (data[0] & 16) != 0;
	if (stun_natcheck_start(&nc, &cfg, (struct sockaddr *)&server,
				(data[0] & 8) ? (struct sockaddr *)&local : NULL, rnd, &ctr, now, &out))
		return 0;
	check(&nc, &out, now, &done);
	i = 1;
	while (i + 1 < size && !done) {
		uint8_t op = data[i++] % 3, src = data[i++];
		struct sockaddr_in from = source(src);
		const uint8_t *p = NULL;
		size_t len = 0, n;
		int rc;

		if (op <= 1 && i < size) {
			len = data[i++];
			if (len > size - i)
				len = size - i;
			p = data + i;
			i += len;
		}
		switch (op) {
		case 0:
			memcpy(buf, p ? p : buf, len);
			rc = stun_natcheck_on_input(&nc, buf, len, (struct sockaddr *)&from, now, &out);
			break;
		case 1:
			n = answer(p, len, src, buf, sizeof(buf));
			rc = stun_natcheck_on_input(&nc, buf, n, (struct sockaddr *)&from, now, &out);
			break;
		default:
			if (src & 1)
				now += (uint64_t)src * 100;
			else
				now = out.deadline;
			stun_natcheck_on_timeout(&nc, now, &out);
			rc = 0;
			break;
		}
		assert(rc == 0 || rc == -ENOENT || rc == -EBADMSG || rc == -EPERM);
		if (rc == 0)
			check(&nc, &out, now, &done);
	}
	(void)stun_nat_behavior_str(stun_natcheck_result(&nc)->mapping);
	return 0;
}
