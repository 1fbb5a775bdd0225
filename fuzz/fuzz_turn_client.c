/*
 * Fuzz lib/stun/turn_client: the input is a script run against one
 * client. Each step is an opcode byte and, for the ones that take it, a
 * length byte and that many bytes:
 *   0  the bytes as a datagram/frame from the server
 *   1  the bytes with a live transaction id written over offset 8..20
 *      (so that arbitrary bodies reach the response handling)
 *   2  a well-formed answer to the last request: 401 with REALM and
 *      NONCE, 438, a signed success (with relayed address and lifetime) or
 *      a signed error, chosen and shaped by the bytes
 *   3  the bytes as attributes of a signed answer to the last request
 *   4  the clock jumps to the deadline (or by the byte, in seconds)
 *   5  add a peer (port from the byte, channel or not), 6 remove one
 *   7  send to a peer, 8 close, 9 start again
 * Invariants: every message the client asks to send is a well-formed
 * STUN request (FINGERPRINT correct), every framed datagram parses, the
 * deadline is never in the past, outputs stay within their arrays.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/frame.h"
#include "stun/msg.h"
#include "stun/turn_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER "1700000000:alice"
#define PASS "pw"

static struct turn_out out;
static uint8_t last_req[TURN_MAX_MSG];
static size_t last_len;
static uint8_t realm[64] = "r";

static void rnd(void *arg, void *buf, size_t len)
{
	unsigned *ctr = arg;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(*ctr * 31 + i);
	(*ctr)++;
}

static void check(const struct turn_client *c, uint64_t now)
{
	assert(out.n_msgs <= TURN_MAX_OUT && out.n_events <= TURN_MAX_EVENTS);
	assert(out.deadline == turn_client_deadline(c));
	assert(out.deadline == TURN_NEVER || out.deadline >= now);
	for (unsigned i = 0; i < out.n_msgs; i++) {
		struct stun_msg m;

		assert(out.msgs[i].len <= TURN_MAX_MSG);
		assert(stun_msg_parse(out.msgs[i].buf, out.msgs[i].len, &m) == 0);
		assert(m.cls == STUN_CLASS_REQUEST && m.fingerprint);
		memcpy(last_req, out.msgs[i].buf, out.msgs[i].len);
		last_len = out.msgs[i].len;
	}
	for (unsigned i = 0; i < out.n_events; i++)
		assert(out.events[i].kind != TURN_EV_DATA || out.events[i].data || out.events[i].len == 0);
}

/* An answer to the last request; @p how picks its shape. */
static size_t answer(const uint8_t *extra, size_t elen, uint8_t how, uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	struct stun_msg req;
	struct sockaddr_in rel = { .sin_family = AF_INET, .sin_port = htons(50000),
				   .sin_addr = { htonl(0xc6336401) } };
	uint8_t key[STUN_KEY_MAX];
	int kl, n;
	unsigned kind = how & 3;

	if (!last_len || stun_msg_parse(last_req, last_len, &req))
		return 0;
	stun_builder_start(&b, buf, cap, req.method,
			   kind == 2 ? STUN_CLASS_SUCCESS : STUN_CLASS_ERROR, req.tid);
	switch (kind) {
	case 0:
		stun_builder_add_error(&b, 401, NULL);
		stun_builder_add_string(&b, STUN_ATTR_REALM, (const char *)realm);
		stun_builder_add_string(&b, STUN_ATTR_NONCE, (how & 4) ? "n2" : "n1");
		break;
	case 1:
		stun_builder_add_error(&b, 438, NULL);
		stun_builder_add_string(&b, STUN_ATTR_NONCE, (how & 4) ? "n4" : "n3");
		break;
	case 2:
		if (!(how & 8))
			stun_builder_add_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&rel);
		if (!(how & 16))
			stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, (uint32_t)(how >> 5) * 100);
		break;
	case 3:
		stun_builder_add_error(&b, 300 + how, NULL);
		break;
	}
	if (elen)
		stun_builder_add(&b, 0x8000 | how, extra, elen);
	kl = stun_key_long_term(STUN_PASSWORD_MD5, USER, (const char *)realm, PASS, key);
	if (kl > 0 && !(how & 0x80))
		stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, (size_t)kl);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turn_client_config cfg;
	struct turn_client *c;
	static uint8_t buf[4096];
	unsigned ctr = 0;
	uint64_t now = 1000;
	size_t i = 0;

	if (size < 1)
		return 0;
	last_len = 0;
	turn_client_config_default(&cfg, data[0] & 1);
	cfg.lifetime = (data[0] & 2) ? 0 : 600;
	c = turn_client_new(&cfg, USER, PASS, rnd, &ctr);
	assert(c);
	turn_client_start(c, now, &out);
	check(c, now);
	i = 1;
	while (i < size) {
		uint8_t op = data[i++] % 10;
		uint8_t arg = i < size ? data[i] : 0;
		size_t len = 0;
		const uint8_t *p = NULL;

		if (op <= 3) {
			if (i >= size)
				break;
			len = data[i++];
			if (len > size - i)
				len = size - i;
			p = data + i;
			i += len;
		} else if (i < size) {
			i++;
		}
		switch (op) {
		case 0:
			memcpy(buf, p, len);
			turn_client_on_input(c, buf, len, now, &out);
			break;
		case 1:
			memcpy(buf, p, len);
			if (len >= STUN_HEADER_LEN && last_len >= STUN_HEADER_LEN)
				memcpy(buf + 8, last_req + 8, STUN_TID_LEN);
			turn_client_on_input(c, buf, len, now, &out);
			break;
		case 2:
		case 3: {
			size_t n = answer(op == 3 ? p : NULL, op == 3 ? len : 0, len ? p[0] : 0, buf,
					  sizeof(buf));

			turn_client_on_input(c, buf, n, now, &out);
			break;
		}
		case 4:
			if (arg & 1) {
				now += (uint64_t)arg * 1000;
			} else {
				uint64_t d = turn_client_deadline(c);

				if (d != TURN_NEVER)
					now = d;
			}
			turn_client_on_timeout(c, now, &out);
			break;
		case 5: {
			struct sockaddr_in6 p6 = { .sin6_family = AF_INET6, .sin6_port = htons(arg) };
			struct sockaddr_in p4 = { .sin_family = AF_INET, .sin_port = htons(arg),
						  .sin_addr = { htonl(0xc0000209) } };
			int rc = turn_client_peer_add(c, (arg & 0x80) ? (struct sockaddr *)&p6
								    : (struct sockaddr *)&p4,
						      arg & 1, now, &out);

			assert(rc == -ENOSPC || (rc >= 0 && rc < TURN_MAX_PEERS));
			break;
		}
		case 6:
			turn_client_peer_del(c, arg % (TURN_MAX_PEERS + 1));
			out.n_msgs = out.n_events = 0;
			out.deadline = turn_client_deadline(c);
			break;
		case 7: {
			static const uint8_t payload[256];
			int n = turn_client_send(c, arg % TURN_MAX_PEERS, payload, arg, buf, sizeof(buf));

			if (n > 0) {
				struct stun_chandata cd;
				struct stun_msg m;

				if (stun_demux_classify(buf, (size_t)n) == STUN_DEMUX_CHANDATA)
					assert(stun_chandata_parse(buf, (size_t)n, cfg.stream, &cd) == 0 &&
					       cd.len == arg);
				else
					assert(stun_msg_parse(buf, (size_t)n, &m) == 0 &&
					       m.cls == STUN_CLASS_INDICATION);
			} else {
				assert(n == -ENOTCONN || n == -ENOENT);
			}
			out.n_msgs = out.n_events = 0;
			out.deadline = turn_client_deadline(c);
			break;
		}
		case 8:
			turn_client_close(c, now, &out);
			break;
		case 9:
			turn_client_start(c, now, &out);
			break;
		}
		check(c, now);
	}
	turn_client_free(c);
	return 0;
}
