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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vectors),
		cmocka_unit_test(bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
