/*
 * Fuzz lib/stun/check: every input is parsed as a connectivity check for
 * us and as an answer to one, with the right key and a wrong one.
 * Invariants: nothing is accepted with the wrong key; what is accepted as a
 * request has a PRIORITY, names us as its receiver, and its answer (built
 * for it) parses back with the same transaction id and the address it
 * carries; a request accepted is rebuilt from what was read and parses to
 * the same fields.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the key of the seed corpus: stun_check_key() of the IKE key 00 01 .. 1f */
static uint8_t key[STUN_CHECK_KEY_LEN], wrong[STUN_CHECK_KEY_LEN];
static const uint8_t us[16] = { 0xfd, 0x91, 0x3b, 0x2c, 0x5d, 0x10, 0xaa, 0x01, 0x02, 0x1c, 0x42, 0xff, 0xfe, 0, 0, 1 };

static void keys(void)
{
	static int done;
	uint8_t ike[32];

	if (done)
		return;
	for (int i = 0; i < 32; i++)
		ike[i] = (uint8_t)i;
	assert(stun_check_key(ike, key) == 0);
	ike[0] = 0xff;
	assert(stun_check_key(ike, wrong) == 0);
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_check_req r, r2;
	struct sockaddr_storage mapped;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(40123) };
	uint8_t tid[STUN_TID_LEN], buf[STUN_CHECK_MSG_MAX];
	int rc, n;

	keys();
	assert(stun_check_request_parse(data, size, us, wrong, &r) != 0);
	assert(stun_check_response_parse(data, size, wrong, tid, &mapped) != 0);
	rc = stun_check_request_parse(data, size, us, key, &r);
	assert(rc == 0 || rc == -EBADMSG || rc == -EACCES || rc == -EPERM || rc == -EIO);
	if (rc == 0) {
		assert(stun_check_is_request(data, size));
		assert(r.prio != 0 && memcmp(r.to, us, 16) == 0);
		src.sin_addr.s_addr = htonl(0xcb00710a);
		n = stun_check_response_build(r.tid, (const struct sockaddr *)&src, key, buf, sizeof(buf));
		assert(n > 0);
		assert(stun_check_response_parse(buf, (size_t)n, key, tid, &mapped) == 0);
		assert(memcmp(tid, r.tid, STUN_TID_LEN) == 0 && mapped.ss_family == AF_INET);
		assert(((struct sockaddr_in *)&mapped)->sin_port == src.sin_port);
		n = stun_check_request_build(&r, key, buf, sizeof(buf));
		assert(n > 0);
		assert(stun_check_request_parse(buf, (size_t)n, us, key, &r2) == 0);
		assert(memcmp(&r, &r2, sizeof(r)) == 0);
	}
	rc = stun_check_response_parse(data, size, key, tid, &mapped);
	assert(rc == 0 || rc == -EBADMSG || rc == -EACCES || rc == -EIO);
	assert(rc || mapped.ss_family == AF_INET || mapped.ss_family == AF_INET6);
	return 0;
}
