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

#endif
