/* X.509 helpers inside lib/authority (x509.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "authority/params.h"
#include "authority/x509.h"

X509_NAME *authority_x509_name(const char *domain, const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	const char *end = domain + strlen(domain);

	if (!n)
		return NULL;
	/*
	 * RFC 4519 domainComponent, most significant label first (RFC 4514 §2.1
	 * prints them reversed, "CN=...,DC=alice,...,DC=net"): a CN holding D
	 * would exceed ub-common-name (64, RFC 5280 Appendix A) for long domains.
	 */
	while (end > domain) {
		const char *dot = end;

		while (dot > domain && dot[-1] != '.')
			dot--;
		if (!X509_NAME_add_entry_by_NID(n, NID_domainComponent, MBSTRING_ASC,
						(const unsigned char *)dot, (int)(end - dot), -1, 0))
			goto fail;
		end = dot > domain ? dot - 1 : domain;
	}
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}

X509 *authority_x509_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	unsigned char *back = NULL;
	X509 *x;
	int n;

	if (!der || len == 0 || len > AUTHORITY_CERT_DER_MAX)
		return NULL;
	if (!(x = d2i_X509(NULL, &p, (long)len)))
		return NULL;
	/* one certificate, nothing after it, and DER that encodes back the same (one spelling) */
	if ((size_t)(p - der) != len || (n = i2d_X509(x, &back)) < 0 || (size_t)n != len ||
	    memcmp(back, der, len)) {
		OPENSSL_free(back);
		X509_free(x);
		return NULL;
	}
	OPENSSL_free(back);
	return x;
}
