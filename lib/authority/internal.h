/* Shared inside lib/authority only. */
#ifndef AT_AUTHORITY_INTERNAL_H
#define AT_AUTHORITY_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "agent/name.h"

struct authority {
	EVP_PKEY *key;		/* Ed25519 private key, or NULL for a verifier */
	EVP_PKEY *pub;		/* the certificate's public key (borrowed from cert) */
	X509 *cert;		/* the self-signed anchor */
	char domain[AGENT_NAME_MAX + 1];
};

/* The subject of the authority (CN only) or of a host (CN = label), below the DCs of D. */
X509_NAME *authority_x509_name(const char *domain, const char *cn);

/* The CN of the authority's subject. */
#define AUTHORITY_CA_CN "autotunnel account authority"

/* Parse exactly one certificate in canonical DER; NULL for anything else. */
X509 *authority_x509_parse(const uint8_t *der, size_t len);

/* Ed25519 signature of @p msg (@p n bytes) with the authority key into sig[64]; 0, -ENOKEY, -EIO. */
int authority_sign(const struct authority *a, const uint8_t *msg, size_t n, uint8_t sig[static 64]);

/* Verify one with the authority's public key: 0 or -EKEYREJECTED. */
int authority_sig_verify(const struct authority *a, const uint8_t *msg, size_t n, const uint8_t sig[static 64]);

#endif
