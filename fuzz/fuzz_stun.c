/*
 * Fuzz lib/stun: every input is parsed as a STUN message, with every
 * accessor called on what parses; as ChannelData over UDP and over a
 * stream; classified by the UDP 4500 demultiplexer; and framed as the
 * start of a TCP stream. Whatever parses is rebuilt through the builder
 * and must parse again to the same attributes, and a rebuilt message
 * signed with a key must verify with it and not with another.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "stun/frame.h"
#include "stun/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[16] = "fuzz-stun-key-16";
static const uint8_t other[16] = "fuzz-stun-key-17";

static void accessors(const struct stun_msg *m)
{
	static const uint16_t addrs[] = {
		STUN_ATTR_MAPPED_ADDRESS, STUN_ATTR_XOR_MAPPED_ADDRESS, STUN_ATTR_XOR_PEER_ADDRESS,
		STUN_ATTR_XOR_RELAYED_ADDRESS, STUN_ATTR_ALTERNATE_SERVER, STUN_ATTR_RESPONSE_ORIGIN,
		STUN_ATTR_OTHER_ADDRESS,
	};
	static const uint16_t strings[] = {
		STUN_ATTR_USERNAME, STUN_ATTR_REALM, STUN_ATTR_NONCE, STUN_ATTR_SOFTWARE,
	};
	struct sockaddr_storage ss;
	char s[STUN_STRING_MAX + 1], reason[32];
	uint16_t types[4], u16;
	uint8_t tok[8], hash[STUN_USERHASH_LEN], u8;
	const uint8_t *p;
	size_t len;
	uint32_t u32;
	uint64_t u64;
	unsigned code;
	bool flag;
	int r;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (unsigned nth = 0; nth < 3; nth++) {
			r = stun_msg_get_addr(m, addrs[i], nth, &ss);
			/* validated once: a present address always decodes */
			assert(r == 0 || r == -ENOENT);
			assert(r || ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
			assert((r == 0) == (stun_msg_find(m, addrs[i], nth, &p, &len) == 0));
		}
	}
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		r = stun_msg_get_string(m, strings[i], s, sizeof(s));
		assert(r == -ENOENT || (r >= 0 && r <= STUN_STRING_MAX && s[r] == '\0'));
	}
	r = stun_msg_get_error(m, &code, reason, sizeof(reason));
	assert(r == -ENOENT || (r == 0 && code >= 300 && code <= 699));
	r = stun_msg_get_unknown_attrs(m, types, 4);
	assert(r == -ENOENT || r >= 0);
	assert(stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &u32) != -EBADMSG);
	assert(stun_msg_get_u32(m, STUN_ATTR_PRIORITY, &u32) != -EBADMSG);
	assert(stun_msg_get_u32(m, STUN_ATTR_CHANGE_REQUEST, &u32) != -EBADMSG);
	assert(stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLING, &u64) != -EBADMSG);
	assert(stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLED, &u64) != -EBADMSG);
	assert(stun_msg_get_channel(m, &u16) != -EBADMSG);
	assert(stun_msg_get_response_port(m, &u16) != -EBADMSG);
	assert(stun_msg_get_requested_transport(m, &u8) != -EBADMSG);
	assert(stun_msg_get_requested_family(m, &u8) != -EBADMSG);
	assert(stun_msg_get_even_port(m, &flag) != -EBADMSG);
	assert(stun_msg_get_reservation_token(m, tok) != -EBADMSG);
	assert(stun_msg_get_userhash(m, hash) != -EBADMSG);
	assert(stun_msg_get_data(m, &p, &len) != -EBADMSG);
	assert(stun_msg_get_password_alg(m, &u16) != -EBADMSG);
	r = stun_msg_get_password_algs(m, types, 4);
	assert(r == -ENOENT || r >= 1);
	r = stun_msg_check_integrity(m, STUN_INTEGRITY_SHA1, key, sizeof(key));
	assert(r == 0 || r == -ENOENT || r == -EACCES);
	r = stun_msg_check_integrity(m, STUN_INTEGRITY_SHA256, key, sizeof(key));
	assert(r == 0 || r == -ENOENT || r == -EACCES);
}

/* Rebuild @p m's attributes (integrity attributes re-signed with key) and compare. */
static void rebuild(const struct stun_msg *m)
{
	static uint8_t buf[STUN_MAX_LEN + 128];
	struct stun_builder b;
	struct stun_msg m2;
	bool mi = false, mi256 = false;
	int n;

	stun_builder_start(&b, buf, sizeof(buf), m->method, m->cls, m->tid);
	for (unsigned i = 0; i < m->n_attrs; i++) {
		const uint8_t *v;
		size_t len;

		switch (m->attrs[i].type) {
		case STUN_ATTR_MESSAGE_INTEGRITY:
			mi = true;
			stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA1, key, sizeof(key));
			continue;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			mi256 = true;
			stun_builder_add_integrity(&b, STUN_INTEGRITY_SHA256, key, sizeof(key));
			continue;
		case STUN_ATTR_FINGERPRINT:
			stun_builder_add_fingerprint(&b);
			continue;
		}
		assert(stun_msg_find(m, m->attrs[i].type, 0, &v, &len) == 0);
		/* the n-th of this type: count the earlier ones */
		{
			unsigned nth = 0;

			for (unsigned j = 0; j < i; j++)
				nth += m->attrs[j].type == m->attrs[i].type;
			assert(stun_msg_find(m, m->attrs[i].type, nth, &v, &len) == 0);
		}
		assert(len == m->attrs[i].len);
		stun_builder_add(&b, m->attrs[i].type, v, len);
	}
	n = stun_builder_finish(&b);
	/*
	 * A re-signed MESSAGE-INTEGRITY-SHA256 is 32 bytes, up to 16 more than
	 * a truncated original: only then may the message no longer fit.
	 */
	if (n == -EINVAL && m->mi256_off && m->len > STUN_MAX_LEN - 16)
		return;
	assert(n > 0);
	assert(stun_msg_parse(buf, (size_t)n, &m2) == 0);
	assert(m2.n_attrs == m->n_attrs && m2.method == m->method && m2.cls == m->cls);
	assert(memcmp(m2.tid, m->tid, STUN_TID_LEN) == 0);
	assert(m2.fingerprint == m->fingerprint);
	for (unsigned i = 0; i < m->n_attrs; i++) {
		assert(m2.attrs[i].type == m->attrs[i].type);
		if (m->attrs[i].type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
			assert(m2.attrs[i].len == m->attrs[i].len);
	}
	if (mi) {
		assert(stun_msg_check_integrity(&m2, STUN_INTEGRITY_SHA1, key, sizeof(key)) == 0);
		assert(stun_msg_check_integrity(&m2, STUN_INTEGRITY_SHA1, other, sizeof(other)) == -EACCES);
	}
	if (mi256) {
		assert(stun_msg_check_integrity(&m2, STUN_INTEGRITY_SHA256, key, sizeof(key)) == 0);
		assert(stun_msg_check_integrity(&m2, STUN_INTEGRITY_SHA256, other, sizeof(other)) == -EACCES);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4 + 65535 + 3];
	struct stun_msg m;
	struct stun_chandata cd;
	enum stun_demux d = stun_demux_classify(data, size);
	size_t need;
	int r, n;

	r = stun_msg_parse(data, size, &m);
	assert(r == 0 || r == -EBADMSG || r == -E2BIG || r == -EOPNOTSUPP);
	if (r == 0 || r == -EOPNOTSUPP) {
		assert(m.len == size && m.n_attrs <= STUN_MAX_ATTRS);
		assert((r == -EOPNOTSUPP) == (m.n_unknown > 0));
		/* a parsed message is STUN to the demultiplexer, unless its first word is zero */
		assert(d == STUN_DEMUX_STUN || d == STUN_DEMUX_IKE);
		accessors(&m);
		if (r == 0)
			rebuild(&m);
		assert(stun_stream_frame_len(data, size, &need) == 0 && need == size);
	}

	if (stun_chandata_parse(data, size, false, &cd) == 0) {
		assert(stun_channel_valid(cd.channel) && 4 + cd.len <= size);
		assert(d == STUN_DEMUX_CHANDATA);
		n = stun_chandata_build(cd.channel, cd.data, cd.len, false, buf, sizeof(buf));
		assert(n == (int)(4 + cd.len) && memcmp(buf, data, (size_t)n) == 0);
	}
	if (stun_chandata_parse(data, size, true, &cd) == 0) {
		assert(stun_stream_frame_len(data, size, &need) == 0 && need == size);
		n = stun_chandata_build(cd.channel, cd.data, cd.len, true, buf, sizeof(buf));
		assert(n == (int)size && memcmp(buf, data, 4 + cd.len) == 0);
	}

	/* a complete stream frame is exactly what the frame parsers take */
	if (stun_stream_frame_len(data, size, &need) == 0 && size >= need && need >= 4) {
		if (data[0] >= 0x40 && data[0] <= 0x4f)
			assert(stun_chandata_parse(data, need, true, &cd) == 0);
		else
			assert(need >= STUN_HEADER_LEN);
	}
	(void)stun_demux_str(d);
	return 0;
}
