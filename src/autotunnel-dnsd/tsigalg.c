#include <stddef.h>
#include <strings.h>

#include "autotunnel-dnsd/tsigalg.h"

static const struct {
	const char *name;
	enum dns_tsig_alg alg;
} algs[] = {
	{ "hmac-sha256", DNS_TSIG_HMAC_SHA256 },
	{ "hmac-sha512", DNS_TSIG_HMAC_SHA512 },
	{ "hmac-sha384", DNS_TSIG_HMAC_SHA384 },
	{ "hmac-sha224", DNS_TSIG_HMAC_SHA224 },
	{ "hmac-sha1", DNS_TSIG_HMAC_SHA1 },
	{ "hmac-md5", DNS_TSIG_HMAC_MD5 },
};

enum dns_tsig_alg tsigalg_from_text(const char *text)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(text, algs[i].name) == 0)
			return algs[i].alg;
	return 0;
}

const char *tsigalg_name(enum dns_tsig_alg alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}
