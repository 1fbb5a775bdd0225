/*
 * The revocation list of an account, `_revoked.D` TXT (docs/authority.md
 * §4.4), signed by the authority with Ed25519:
 *
 *     "at-revoked=1 seq=3 t=1796000000"
 *     "host laptop at=1795999000"
 *     "key 5f1c...(64 hex) at=1795999000"
 *     "serial 4a0f...(hex) at=1795990000"
 *     "sig=<base64 of 64 bytes>"
 *
 * A host entry revokes every certificate of that host issued at or before
 * `at` (a host admitted again later, with a new key, gets certificates issued
 * after it); a key entry revokes every certificate of that public key
 * (SHA-256 of its SubjectPublicKeyInfo DER), whenever issued, so that a
 * signer that missed the list cannot revive the host by renewing it; a
 * serial entry revokes one certificate. The signature covers the context
 * "autotunnel revoked v1", a NUL, D, a NUL, then the RDATA up to (not
 * including) the signature string: the parser takes only the one spelling the
 * builder writes, so the bytes verified are the bytes received.
 */
#ifndef AT_AUTHORITY_REVOKED_H
#define AT_AUTHORITY_REVOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"
#include "authority/hostcert.h"
#include "authority/params.h"

struct authority;

/** Most entries in one list (entries older than the longest validity are pruned). */
#define AUTHORITY_REVOKED_MAX 64
/** Largest RDATA: header 50 + 64 entries of at most 92 + signature 93 = 6031 bytes (with their length octets). */
#define AUTHORITY_REVOKED_RDATA_MAX 6144

enum authority_revoked_kind {
	AUTHORITY_REVOKED_HOST = 1,		/* "host H" */
	AUTHORITY_REVOKED_KEY,			/* "key <hex of 32 bytes>" */
	AUTHORITY_REVOKED_SERIAL,		/* "serial <hex of 1..20 bytes>" */
};

struct authority_revoked_entry {
	uint8_t kind;				/* enum authority_revoked_kind */
	uint8_t serial_len;			/* SERIAL: 1..AUTHORITY_SERIAL_MAX; else 0 */
	uint8_t serial[AUTHORITY_SERIAL_MAX];
	uint8_t key_id[32];			/* KEY: SHA-256 of the SPKI DER; else zero */
	char host[AGENT_LABEL_MAX + 1];		/* HOST: H; else empty */
	int64_t at;				/* when it was revoked, Unix seconds, >= 0 */
};

struct authority_revoked {
	uint32_t seq;			/* bumped on every change: a peer refuses a lower one (rollback) */
	int64_t t;			/* when this list was signed */
	uint8_t n;
	struct authority_revoked_entry e[AUTHORITY_REVOKED_MAX];
	uint8_t sig[64];		/* the parser's copy of the signature */
};

/**
 * Sign @p rl with the authority @p a and write its TXT RDATA into @p rdata
 * (@p cap bytes), its length in *@p len. @return 0, -EINVAL (a bad entry or
 * two entries for the same host or serial), -ENOKEY, -ENOSPC, -EIO.
 */
int authority_revoked_build(const struct authority *a, const struct authority_revoked *rl,
			    uint8_t *rdata, size_t cap, size_t *len) __attribute__((warn_unused_result));

/**
 * Parse @p rdata (borrowed) into @p rl without checking the signature (use
 * authority_revoked_read() to trust it). @return 0, -EPROTONOSUPPORT for
 * another version, -EBADMSG (then *@p rl is zeroed).
 */
int authority_revoked_parse(const uint8_t *rdata, size_t len, struct authority_revoked *rl)
	__attribute__((warn_unused_result));

/** Check rl->sig over @p rl with the authority's key. 0, -EKEYREJECTED, -EINVAL, -EIO. */
int authority_revoked_verify(const struct authority *a, const struct authority_revoked *rl)
	__attribute__((warn_unused_result));

/** Parse and verify: what a member does with `_revoked.D`. 0 or an error of either. */
int authority_revoked_read(const struct authority *a, const uint8_t *rdata, size_t len,
			   struct authority_revoked *rl) __attribute__((warn_unused_result));

/**
 * Whether the certificate @p c (as authority_cert_verify() read it) is
 * revoked by @p rl. A certificate's issue time is c->not_before +
 * AUTHORITY_SKEW_S (authority_issue()).
 */
bool authority_revoked_match(const struct authority_revoked *rl, const struct authority_host_cert *c);

/** Add a host entry (or move its time to @p at). 0, -EINVAL, -ENOSPC (full). */
int authority_revoked_add_host(struct authority_revoked *rl, const char *host, int64_t at)
	__attribute__((warn_unused_result));

/** Add a key entry for the key @p spki (SubjectPublicKeyInfo DER). 0, -EEXIST, -EINVAL, -ENOSPC. */
int authority_revoked_add_key(struct authority_revoked *rl, const uint8_t *spki, size_t len, int64_t at)
	__attribute__((warn_unused_result));

/** Add a serial entry. 0, -EEXIST, -EINVAL, -ENOSPC. */
int authority_revoked_add_serial(struct authority_revoked *rl, const uint8_t *serial, size_t len, int64_t at)
	__attribute__((warn_unused_result));

/**
 * Drop the host and serial entries no certificate can need any more: those
 * revoked before @p now - @p max_validity_s - AUTHORITY_SKEW_S, since every
 * certificate they covered has expired. Key entries stay: a revoked key
 * stays revoked. Returns how many were dropped.
 */
unsigned authority_revoked_prune(struct authority_revoked *rl, int64_t now, uint32_t max_validity_s);

#endif
