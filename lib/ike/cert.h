/*
 * Certificates and digital signatures for IKE_AUTH (RFC 7427, RFC 8420):
 * our credentials (certificate, private key, trust anchor, all given as
 * DER by the daemon), the peer's chain checked against the trust anchor
 * and its identity against the certificate's subjectAltName, and the
 * AUTH payload's signature with its AlgorithmIdentifier.
 *
 * Internal to lib/ike. No I/O: everything comes in as bytes. The time
 * certificates are checked at is given by the caller (0: OpenSSL's own,
 * the system clock).
 */
#ifndef AT_IKE_CERT_H
#define AT_IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/crypto.h"
#include "ike/msg.h"

#define IKE_CA_HASH_LEN 20	/* RFC 7296 §3.7: SHA-1 of the CA's SubjectPublicKeyInfo */
#define IKE_SIG_MAX 160		/* AUTH data: AlgorithmIdentifier length, AlgorithmIdentifier, signature */

/** Our side of certificate authentication. Owned by one peer. */
struct ike_cred {
	void *key;			/* EVP_PKEY *: Ed25519 or EC P-256 */
	void *cert;			/* X509 *: ours */
	void *ca;			/* X509 *: the trust anchor for the peer's chain */
	uint8_t *cert_der;		/* ours as the CERT payload carries it */
	size_t cert_der_len;
	uint8_t ca_hash[IKE_CA_HASH_LEN];	/* what our CERTREQ names */
	uint16_t hash;			/* the RFC 7427 hash our signatures use: IDENTITY (Ed25519) or SHA2_256 */
};

/**
 * Parse our certificate @p cert, private key @p key (PKCS#8 or
 * traditional DER) and trust anchor @p ca (all borrowed, copied) into
 * @p c. -EINVAL when one does not parse, the key is neither Ed25519 nor
 * P-256, or it does not belong to the certificate; -ENOMEM.
 */
int ike_cred_init(struct ike_cred *c, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
		  const uint8_t *ca, size_t ca_len) __attribute__((warn_unused_result));
void ike_cred_fini(struct ike_cred *c);

/** The RFC 7427 §4 hash bit (1u << IKE_HASH_...) a signature by @p c needs the peer to support. */
unsigned ike_cred_hash_bit(const struct ike_cred *c);

/**
 * RFC 7427 §3: sign the concatenation @p iov with our key; @p out gets the
 * AUTH data (AlgorithmIdentifier length, AlgorithmIdentifier, signature),
 * at most IKE_SIG_MAX bytes. 0, -EIO, -ENOMEM.
 */
int ike_sig_sign(const struct ike_cred *c, const struct ike_iov *iov, size_t n, uint8_t *out, size_t *outlen)
	__attribute__((warn_unused_result));

/**
 * Check the peer: @p certs[0] is its certificate (the others intermediates),
 * chained to our trust anchor at time @p now_s (0: OpenSSL's clock), with
 * a subjectAltName dNSName equal to @p id (no wildcards); then the AUTH data
 * @p auth is a signature by it, with an AlgorithmIdentifier that fits its
 * key, over the concatenation @p iov. 0, or -EACCES (any check failed),
 * -EBADMSG (malformed certificate or AUTH data), -ENOMEM.
 */
int ike_cert_check(const struct ike_cred *c, const struct ike_ref *certs, unsigned ncerts, const char *id,
		   size_t idlen, int64_t now_s, const uint8_t *auth, size_t authlen, const struct ike_iov *iov,
		   size_t n) __attribute__((warn_unused_result));

#endif /* AT_IKE_CERT_H */
