/*
 * lib/stun/turn_cred: coturn's time-limited credentials. The expected
 * passwords were computed independently of this code, with Python's hmac
 * module:
 *
 *   /usr/bin/python3 -c 'import hmac,hashlib,base64; u="1700086400:alice";
 *     print(base64.b64encode(hmac.new(b"coturn-shared-secret", u.encode(),
 *     hashlib.sha1).digest()).decode())'
 *
 * and the same with secret bytes(range(32)) and u = "1700000060:bob".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stun/turn_cred.h"

static void vectors(void **state)
{
	static const char secret1[] = "coturn-shared-secret";
	uint8_t secret2[32];
	char user[TURN_CRED_USERNAME_MAX + 1], pass[TURN_CRED_PASSWORD_LEN + 1];

	(void)state;
	assert_int_equal(turn_cred_make((const uint8_t *)secret1, strlen(secret1), "alice", 1700000000,
					86400, user, sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "1700086400:alice");
	assert_string_equal(pass, "BptBXEECUc4aF1huCrjGND+FqW4=");
	for (size_t i = 0; i < sizeof(secret2); i++)
		secret2[i] = (uint8_t)i;
	assert_int_equal(turn_cred_make(secret2, sizeof(secret2), "bob", 1700000000, 60, user,
					sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "1700000060:bob");
	assert_string_equal(pass, "62H64XD9CCPcAvh/6V8GcQa+L9U=");
}

static void bounds(void **state)
{
	static const uint8_t s[] = "k";
	char user[TURN_CRED_USERNAME_MAX + 1], pass[TURN_CRED_PASSWORD_LEN + 1];
	char acct[TURN_CRED_ACCOUNT_MAX + 2];

	(void)state;
	/* the separator in an account name would let it pose as an expiry */
	assert_int_equal(turn_cred_make(s, 1, "a:b", 0, 60, user, sizeof(user), pass, sizeof(pass)), -EINVAL);
	assert_int_equal(turn_cred_make(s, 1, "", 0, 60, user, sizeof(user), pass, sizeof(pass)), -EINVAL);
	assert_int_equal(turn_cred_make(s, 1, "a", 0, 0, user, sizeof(user), pass, sizeof(pass)), -EINVAL);
	memset(acct, 'a', sizeof(acct) - 1);
	acct[TURN_CRED_ACCOUNT_MAX] = '\0';
	/* the longest account with the largest expiry fits the documented size */
	assert_int_equal(turn_cred_make(s, 1, acct, UINT64_MAX - 60, 60, user, sizeof(user), pass,
					sizeof(pass)), 0);
	assert_int_equal(strlen(user), TURN_CRED_USERNAME_MAX);
	assert_int_equal(turn_cred_make(s, 1, acct, UINT64_MAX - 60, 60, user, sizeof(user) - 1, pass,
					sizeof(pass)), -ENOSPC);
	acct[TURN_CRED_ACCOUNT_MAX] = 'a';
	acct[TURN_CRED_ACCOUNT_MAX + 1] = '\0';
	assert_int_equal(turn_cred_make(s, 1, acct, 0, 60, user, sizeof(user), pass, sizeof(pass)), -EINVAL);
	/* the password needs 29 bytes */
	assert_int_equal(turn_cred_make(s, 1, "a", 0, 60, user, sizeof(user), pass, sizeof(pass) - 1), -ENOSPC);
}

/* TXT RDATA from character-strings given as C strings */
static size_t rdata(uint8_t *out, const char *const *strs, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(strs[i]);

		out[off++] = (uint8_t)l;
		memcpy(out + off, strs[i], l);
		off += l;
	}
	return off;
}

/* What autotunnel-dnsd answers for _turn-credential.D, and its edges. */
static void txt(void **state)
{
	static const char *const dnsd[] = { "username=1700086400:alice", "password=BptBXEECUc4aF1huCrjGND+FqW4=",
					     "ttl=86400" };
	static const char *const shuffled[] = { "ttl=1", "future=yes", "password=QQ==", "username=1:a" };
	static const char *const dup[] = { "username=1:a", "password=QQ==", "ttl=1", "ttl=2" };
	static const char *const missing[] = { "username=1:a", "password=QQ==" };
	static const char *const space[] = { "username=1:a b", "password=QQ==", "ttl=1" };
	static const char *const ttl0[] = { "username=1:a", "password=QQ==", "ttl=0" };
	static const char *const ttl_lead[] = { "username=1:a", "password=QQ==", "ttl=01" };
	static const char *const ttl_max[] = { "username=1:a", "password=QQ==", "ttl=2592000" };
	static const char *const ttl_over[] = { "username=1:a", "password=QQ==", "ttl=2592001" };
	static const char *const no_colon[] = { "username=17000:", "password=QQ==", "ttl=1" };
	static const char *const no_key[] = { "username=1:a", "password=QQ==", "ttl=1", "junk" };
	static const char *const bad_b64[] = { "username=1:a", "password=Q-Q", "ttl=1" };
	struct turn_cred_txt c;
	uint8_t buf[1024], again[TURN_CRED_TXT_MAX];
	size_t n, m;

	(void)state;
	n = rdata(buf, dnsd, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), 0);
	assert_string_equal(c.user, "1700086400:alice");
	assert_string_equal(c.pass, "BptBXEECUc4aF1huCrjGND+FqW4=");
	assert_int_equal(c.ttl, 86400);
	/* built back: the same bytes as autotunnel-dnsd's */
	assert_int_equal(turn_cred_txt_build(&c, again, sizeof(again), &m), 0);
	assert_int_equal(m, n);
	assert_memory_equal(again, buf, n);
	/* the exact space fits, one byte less does not */
	assert_int_equal(turn_cred_txt_build(&c, again, n, &m), 0);
	assert_int_equal(turn_cred_txt_build(&c, again, n - 1, &m), -ENOSPC);
	/* any order; unknown keys skipped */
	n = rdata(buf, shuffled, 4);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), 0);
	assert_string_equal(c.user, "1:a");
	assert_int_equal(c.ttl, 1);
	n = rdata(buf, ttl_max, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), 0);
	assert_int_equal(c.ttl, TURN_CRED_TXT_TTL_MAX);
	/* refused, and nothing left behind */
	n = rdata(buf, dup, 4);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	assert_string_equal(c.pass, "");
	n = rdata(buf, missing, 2);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, space, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, ttl0, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, ttl_lead, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, ttl_over, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, no_colon, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, no_key, 4);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	n = rdata(buf, bad_b64, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n, &c), -EBADMSG);
	/* a string running past the end */
	n = rdata(buf, dnsd, 3);
	assert_int_equal(turn_cred_txt_parse(buf, n - 1, &c), -EBADMSG);
	assert_int_equal(turn_cred_txt_parse(buf, 0, &c), -EBADMSG);
	/* the longest username and password */
	memset(&c, 0, sizeof(c));
	memset(c.user, '1', 20);
	c.user[20] = ':';
	memset(c.user + 21, 'a', TURN_CRED_ACCOUNT_MAX);
	memset(c.pass, 'A', TURN_CRED_TXT_PASS_MAX);
	c.ttl = 5;
	assert_int_equal(turn_cred_txt_build(&c, again, sizeof(again), &m), 0);
	assert_int_equal(turn_cred_txt_parse(again, m, &c), 0);
	assert_int_equal(strlen(c.user), TURN_CRED_USERNAME_MAX);
	assert_int_equal(strlen(c.pass), TURN_CRED_TXT_PASS_MAX);
	c.ttl = 0;
	assert_int_equal(turn_cred_txt_build(&c, again, sizeof(again), &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vectors),
		cmocka_unit_test(bounds),
		cmocka_unit_test(txt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
