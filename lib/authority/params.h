/*
 * Sizes, bounds and the random generator type shared by lib/authority
 * (authority.h explains the module). A header of its own so that the data
 * headers (hostcert.h, revoked.h) need not include the authority's API.
 */
#ifndef AT_AUTHORITY_PARAMS_H
#define AT_AUTHORITY_PARAMS_H

#include <stddef.h>
#include <stdint.h>

/**
 * The caller's random generator: fill @p buf with @p n bytes from a CSPRNG
 * (lib/util/random.h's rand_bytes() in the agent, a fixed stream in tests).
 * Returns 0 or a negative errno, which the calling function returns.
 */
typedef int (*authority_rand_fn)(void *ctx, void *buf, size_t n);

/** Bytes of the Ed25519 private key (RFC 8032 §5.1.5: the 32-byte seed). */
#define AUTHORITY_SEED_LEN 32
/** Largest certificate DER this module writes or reads (ours are 350-650 bytes). */
#define AUTHORITY_CERT_DER_MAX 2048
/** Largest SubjectPublicKeyInfo DER of a host key (P-256 uncompressed: 91, Ed25519: 44). */
#define AUTHORITY_SPKI_MAX 128
/** Bytes of the PKCS#8 DER of the authority key (RFC 8410 §7: 48 for Ed25519). */
#define AUTHORITY_PKCS8_MAX 64
/** Bytes of every certificate serial number we draw (RFC 5280 §4.1.2.2: at most 20). */
#define AUTHORITY_SERIAL_LEN 16
/** Largest serial a certificate we accept may carry. */
#define AUTHORITY_SERIAL_MAX 20
/** Validity of the authority certificate: ten years (and the leap days). */
#define AUTHORITY_CA_VALIDITY_S (3653u * 86400u)
/** How far before @p now a certificate's notBefore is put: clocks of hosts differ (TSIG allows 300 s). */
#define AUTHORITY_SKEW_S 300
/** Host certificate validity bounds and default (seven days; renewed at 2/3, cert.h). */
#define AUTHORITY_HOST_VALIDITY_MIN 3600u
#define AUTHORITY_HOST_VALIDITY_MAX (90u * 86400u)
#define AUTHORITY_HOST_VALIDITY_DEFAULT (7u * 86400u)
/** Recovery key text: 56 symbols in 14 groups of 4 with 13 '-', and a NUL. */
#define AUTHORITY_RECOVERY_TEXT_MAX 70
/** Longest Kerberos principal or realm accepted for a PKINIT name (cert.h). */
#define AUTHORITY_PRINCIPAL_MAX 255

#endif
