/*
 * Fuzz lib/dns keys: the _kdf.D parameters record, as a login receives it
 * from the server (TXT rdata) and as text. Whatever parses must format back
 * to the same bytes (the parser takes only the canonical form), must stay
 * within the bounds a client accepts, and must survive a write-parse round
 * trip. No key is derived: that would only measure scrypt.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct dns_kdf *k, const uint8_t *text, size_t len)
{
	char out[DNS_KDF_TEXT_MAX + 1];
	uint8_t rd[DNS_KDF_TEXT_MAX + 1];
	struct dns_kdf again;
	int n;

	assert(k->version == DNS_KDF_V0_LEGACY || k->version == DNS_KDF_V1);
	assert(k->n >= DNS_KDF_N_MIN && k->n <= DNS_KDF_N_MAX && (k->n & (k->n - 1)) == 0);
	assert(128ull * k->r * k->n <= DNS_KDF_MEM_MAX);
	assert(k->version == DNS_KDF_V0_LEGACY ? k->salt_len == 0
					       : k->salt_len >= DNS_KDF_SALT_MIN &&
							 k->salt_len <= DNS_KDF_SALT_MAX);
	n = dns_kdf_format(k, out, sizeof(out));
	assert(n >= 0 && (size_t)n == len && memcmp(out, text, len) == 0);
	n = dns_kdf_txt_write(k, rd, sizeof(rd));
	assert(n == (int)len + 1);
	assert(dns_kdf_txt_parse(&again, rd, (size_t)n) == 0);
	assert(memcmp(&again, k, sizeof(again)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_kdf k;

	memset(&k, 0, sizeof(k));
	if (dns_kdf_txt_parse(&k, data, size) == 0)
		check(&k, data + 1, size - 1);
	memset(&k, 0, sizeof(k));
	if (dns_kdf_parse(&k, (const char *)data, size) == 0)
		check(&k, data, size);
	return 0;
}
