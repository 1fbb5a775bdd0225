/* lib/dns/keys.c: scrypt key derivation (DESIGN.md §6, briefs/dns-keys.md). */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dns/keys.h"

#define SALT_TSIG "autotunnel tsig v1 "
#define SALT_IKE "autotunnel ike v1 "
#define DOMAIN_MAX 253

static int scrypt32(const char *pw, size_t pwlen, const unsigned char *salt, size_t saltlen,
		    uint8_t out[static 32])
{
	/* scrypt needs 128 * r * N = 16 MiB; allow a little more than that */
	const uint64_t maxmem = 128ull * DNS_KEYS_SCRYPT_R * DNS_KEYS_SCRYPT_N + (1u << 20);

	/* EVP_PBE_scrypt rejects a NULL password even with length 0 */
	if (EVP_PBE_scrypt(pw ? pw : "", pwlen, salt, saltlen, DNS_KEYS_SCRYPT_N,
			   DNS_KEYS_SCRYPT_R, DNS_KEYS_SCRYPT_P, maxmem, out, DNS_KEY_LEN) != 1)
		return -EIO;
	return 0;
}

int dns_keys_derive(const char *domain, const char *password, size_t pwlen,
		    uint8_t tsig_key[static 32], uint8_t ike_key[static 32])
{
	unsigned char salt[sizeof(SALT_TSIG) + DOMAIN_MAX];
	char d[DOMAIN_MAX + 1];
	size_t dlen, label = 0;
	int err = -EINVAL;

	memset(tsig_key, 0, DNS_KEY_LEN);
	memset(ike_key, 0, DNS_KEY_LEN);
	if (!domain || (!password && pwlen))
		return -EINVAL;
	dlen = strlen(domain);
	if (dlen && domain[dlen - 1] == '.')
		dlen--;
	if (dlen == 0 || dlen > DOMAIN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < dlen; i++) {
		char c = domain[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;	/* empty label */
			label = 0;
		} else if (++label > 63) {
			return -EINVAL;
		}
		d[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}

	memcpy(salt, SALT_TSIG, sizeof(SALT_TSIG) - 1);
	memcpy(salt + sizeof(SALT_TSIG) - 1, d, dlen);
	err = scrypt32(password, pwlen, salt, sizeof(SALT_TSIG) - 1 + dlen, tsig_key);
	if (err == 0) {
		memcpy(salt, SALT_IKE, sizeof(SALT_IKE) - 1);
		memcpy(salt + sizeof(SALT_IKE) - 1, d, dlen);
		err = scrypt32(password, pwlen, salt, sizeof(SALT_IKE) - 1 + dlen, ike_key);
	}
	if (err) {
		OPENSSL_cleanse(tsig_key, DNS_KEY_LEN);
		OPENSSL_cleanse(ike_key, DNS_KEY_LEN);
	}
	return err;
}
