/* Time-limited TURN credentials (coturn use-auth-secret); see turn_cred.h. */
#include "stun/turn_cred.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
