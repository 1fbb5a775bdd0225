/*
 * DNS over TLS (RFC 7858) set-up: the server's certificate and key, from
 * the settings or, when none is configured, a self-signed ECDSA P-256
 * certificate generated at first start next to the database. Its
 * fingerprints are logged so that clients can pin it (RFC 7858 §4.2).
 */
#ifndef DNSD_TLS_H
#define DNSD_TLS_H

#include <stddef.h>

struct ssl_ctx_st;
struct dnsd_settings;

/**
 * The TLS context for the server. @p cert_out and @p key_out receive the
 * paths used. NULL on failure, with a message in @p err.
 */
struct ssl_ctx_st *tls_server_ctx(const struct dnsd_settings *s, char *err, size_t errlen);

/** Generate a self-signed ECDSA P-256 certificate for @p cn into @p cert and @p key (mode 0600). */
int tls_generate(const char *cert, const char *key, const char *cn, char *err, size_t errlen);

/**
 * Fingerprints of the certificate in PEM file @p cert: SHA-256 of the
 * certificate in colon-separated hex, and the SPKI pin (base64 of the
 * SHA-256 of the public key, as kdig +tls-pin takes it).
 */
int tls_fingerprints(const char *cert, char *hex, size_t hexlen, char *pin, size_t pinlen);

#endif
