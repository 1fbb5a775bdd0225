/*
 * Keys of lib/authority: the host public keys a certificate may carry, and
 * the authority's own Ed25519 signatures (RFC 8032 §5.1.6, pure Ed25519) over
 * the records it signs (revoked.h).
 */
#ifndef AT_AUTHORITY_KEY_H
#define AT_AUTHORITY_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "authority/hostcert.h"

struct authority;

/**
 * Check a host public key (SubjectPublicKeyInfo DER, borrowed): Ed25519 or
 * ECDSA on P-256 with an uncompressed point, in DER that encodes back to
 * the same bytes. @return the enum authority_key_type, or -EINVAL.
 */
int authority_spki_check(const uint8_t *spki, size_t len) __attribute__((warn_unused_result));

/** Ed25519 signature of @p msg (@p n bytes) with the authority key into @p sig. 0, -ENOKEY, -EIO. */
int authority_sign(const struct authority *a, const uint8_t *msg, size_t n, uint8_t sig[static 64])
	__attribute__((warn_unused_result));

/** Verify one with the authority's public key: 0 or -EKEYREJECTED (-EIO when out of memory). */
int authority_sig_verify(const struct authority *a, const uint8_t *msg, size_t n, const uint8_t sig[static 64])
	__attribute__((warn_unused_result));

#endif
