/*
 * Renewal of a member's certificate (docs/authority.md §5.3). A member does
 * not hold the authority key; before its certificate runs out
 * (authority_cert_should_renew()) it asks the signers with a request signed
 * by its current key, and a signer answers with a new certificate:
 *
 *     _renew.H.D  "at-renew=1 host=laptop t=1796000000"
 *                 "key=<base64 SubjectPublicKeyInfo of the key to certify>"
 *                 <base64 of the current certificate, in strings of 252>...
 *                 "sig=<base64 signature by the current certificate's key>"
 *     _cert.H.D   "at-cert=1" <base64 of the new certificate>...
 *
 * The signature (Ed25519, or ECDSA P-256 with SHA-256 in DER) covers
 * "autotunnel renew v1" NUL D NUL and the RDATA before the signature string.
 * The new key may be the current one (the usual case) or a new one (a key
 * rotated by the member). `_cert.H.D` needs no signature of its own: the
 * certificate is one, and the member checks it like any other; peers may
 * read it too.
 */
#ifndef AT_AUTHORITY_RENEW_H
#define AT_AUTHORITY_RENEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"
#include "authority/hostcert.h"
#include "authority/params.h"

struct authority;
struct authority_revoked;

/** Longest signature: ECDSA P-256 in DER (SEQUENCE of two INTEGERs of up to 33 bytes). */
#define AUTHORITY_RENEW_SIG_MAX 72
/** Largest RDATA of a renewal request. */
#define AUTHORITY_RENEW_RDATA_MAX (256 + 256 + 11 * 253 + 101)
/** Largest RDATA of `_cert.H.D`. */
#define AUTHORITY_HOSTCERT_RDATA_MAX (10 + 11 * 253)
/** A request older than this, or this far in the future, is not answered. */
#define AUTHORITY_RENEW_MAX_AGE_S 900

struct authority_renew {
	char host[AGENT_LABEL_MAX + 1];		/* H, as in the current certificate */
	int64_t t;				/* when it was written */
	uint8_t spki[AUTHORITY_SPKI_MAX];	/* the key to certify */
	size_t spki_len;
	uint8_t cert[AUTHORITY_CERT_DER_MAX];	/* the current certificate */
	size_t cert_len;
	uint8_t sig[AUTHORITY_RENEW_SIG_MAX];	/* the parser's copy */
	size_t sig_len;
};

/**
 * Build `_renew.H.D` for @p req (host, t, spki, cert set), signed with the
 * member's current private key @p key_p8 (PKCS#8 DER, borrowed; the key of
 * req->cert) for the account @p domain. ECDSA signing draws its nonce from
 * OpenSSL's generator. 0, -EINVAL (a bad field, or the key is not the
 * certificate's), -ENOSPC, -EIO.
 */
int authority_renew_build(const struct authority_renew *req, const char *domain, const uint8_t *key_p8,
			  size_t p8len, uint8_t *rdata, size_t cap, size_t *len) __attribute__((warn_unused_result));

/** Parse `_renew.H.D` (no signature or certificate check). 0, -EPROTONOSUPPORT, -EBADMSG. */
int authority_renew_parse(const uint8_t *rdata, size_t len, struct authority_renew *req)
	__attribute__((warn_unused_result));

/**
 * The signer's check before it issues: the current certificate verifies
 * against @p a at @p now for req->host and is not revoked by @p rl
 * (authority_cert_verify(); its result into *@p current, whose ULA the new
 * certificate keeps); the request is fresh (AUTHORITY_RENEW_MAX_AGE_S) and
 * signed by that certificate's key; the new key is a host key
 * authority_spki_check() accepts and is not revoked either.
 * 0, -ESTALE (not fresh), -EKEYREJECTED (bad signature or key), or an error
 * of authority_cert_verify().
 */
int authority_renew_check(const struct authority *a, const struct authority_renew *req, int64_t now,
			  const struct authority_revoked *rl, struct authority_host_cert *current)
	__attribute__((warn_unused_result));

/** `_cert.H.D`: the certificate @p der as TXT RDATA. 0, -EINVAL, -ENOSPC. */
int authority_hostcert_txt_build(const uint8_t *der, size_t len, uint8_t *rdata, size_t cap, size_t *rlen)
	__attribute__((warn_unused_result));

/** Parse `_cert.H.D` into @p der; one certificate in canonical DER. 0, -EPROTONOSUPPORT, -EBADMSG. */
int authority_hostcert_txt_parse(const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** Owner names "_renew.H.D" and "_cert.H.D". 0 or -EINVAL. */
int authority_name_renew(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
	__attribute__((warn_unused_result));
int authority_name_cert(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
	__attribute__((warn_unused_result));

#endif
