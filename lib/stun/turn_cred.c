/* Time-limited TURN credentials (coturn use-auth-secret); see turn_cred.h. */
#include "stun/turn_cred.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wire/wire.h"

int turn_cred_make(const uint8_t *secret, size_t secret_len, const char *account, uint64_t now,
		   uint32_t ttl, char *user, size_t ucap, char *pass, size_t pcap)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0, alen = strlen(account);
	int n;

	/* the account must not hold the separator: coturn reads the expiry
	 * from the part before the first ':' */
	if (alen == 0 || alen > TURN_CRED_ACCOUNT_MAX || memchr(account, ':', alen) || ttl == 0)
		return -EINVAL;
	n = snprintf(user, ucap, "%" PRIu64 ":%s", now + ttl, account);
	if (n < 0 || (size_t)n >= ucap)
		return -ENOSPC;
	if (pcap < TURN_CRED_PASSWORD_LEN + 1)
		return -ENOSPC;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, secret, secret_len, (const uint8_t *)user,
		       (size_t)n, mac, sizeof(mac), &maclen) || maclen != 20)
		return -EIO;
	/* EVP_EncodeBlock writes 28 characters and a NUL for 20 bytes */
	if (EVP_EncodeBlock((unsigned char *)pass, mac, (int)maclen) != TURN_CRED_PASSWORD_LEN)
		return -EIO;
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* "<expiry>:<account>": a decimal expiry (no leading zero), a ':', a non-empty account */
static bool user_ok(const char *u, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > TURN_CRED_USERNAME_MAX || u[0] == '0')
		return false;
	while (i < n && i < 20 && u[i] >= '0' && u[i] <= '9')
		i++;
	return i > 0 && i + 1 < n && u[i] == ':';
}

static bool pass_ok(const char *p, size_t n)
{
	if (n == 0 || n > TURN_CRED_TXT_PASS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		      c == '/' || c == '='))
			return false;
	}
	return true;
}

/* Decimal, no leading zero, 1..TURN_CRED_TXT_TTL_MAX. */
static bool ttl_parse(const char *s, size_t n, uint32_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 10 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > TURN_CRED_TXT_TTL_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

int turn_cred_txt_parse(const uint8_t *rdata, size_t len, struct turn_cred_txt *out)
{
	struct wire r = wire_reader(rdata, len);
	bool have_user = false, have_pass = false, have_ttl = false;
	char s[256];

	memset(out, 0, sizeof(*out));
	while (!wire_err(&r) && wire_avail(&r) > 0) {
		size_t n = wire_read_u8(&r);
		const char *v;

		wire_read_bytes(&r, s, n);
		if (wire_err(&r))
			break;
		s[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (s[i] < 0x21 || s[i] > 0x7e)
				goto bad;
		if (n > 9 && !memcmp(s, "username=", 9)) {
			v = s + 9;
			if (have_user || !user_ok(v, n - 9))
				goto bad;
			memcpy(out->user, v, n - 9 + 1);
			have_user = true;
		} else if (n > 9 && !memcmp(s, "password=", 9)) {
			v = s + 9;
			if (have_pass || !pass_ok(v, n - 9))
				goto bad;
			memcpy(out->pass, v, n - 9 + 1);
			have_pass = true;
		} else if (n > 4 && !memcmp(s, "ttl=", 4)) {
			if (have_ttl || !ttl_parse(s + 4, n - 4, &out->ttl))
				goto bad;
			have_ttl = true;
		} else if (n == 0 || !memchr(s, '=', n)) {
			goto bad;	/* not "key=value" */
		}
	}
	if (wire_err(&r) || !have_user || !have_pass || !have_ttl)
		goto bad;
	OPENSSL_cleanse(s, sizeof(s));
	return 0;
bad:
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(out, sizeof(*out));
	return -EBADMSG;
}

int turn_cred_txt_build(const struct turn_cred_txt *c, uint8_t *rdata, size_t cap, size_t *len)
{
	struct wire w = wire_writer(rdata, cap);
	char s[3][256];
	int n[3];

	if (!user_ok(c->user, strnlen(c->user, sizeof(c->user))) ||
	    !pass_ok(c->pass, strnlen(c->pass, sizeof(c->pass))) || c->ttl == 0 || c->ttl > TURN_CRED_TXT_TTL_MAX)
		return -EINVAL;
	n[0] = snprintf(s[0], sizeof(s[0]), "username=%s", c->user);
	n[1] = snprintf(s[1], sizeof(s[1]), "password=%s", c->pass);
	n[2] = snprintf(s[2], sizeof(s[2]), "ttl=%u", (unsigned)c->ttl);
	for (int i = 0; i < 3; i++) {
		wire_write_u8(&w, (uint8_t)n[i]);
		wire_write_bytes(&w, s[i], (size_t)n[i]);
	}
	OPENSSL_cleanse(s, sizeof(s));
	if (wire_err(&w))
		return -ENOSPC;
	*len = wire_offset(&w);
	return 0;
}
