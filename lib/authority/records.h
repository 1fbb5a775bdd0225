/*
 * The authority's records in the account zone D (docs/authority.md §4), as
 * TXT RDATA codecs in the manner of lib/agent/cand.h: plain text strings in
 * one spelling, DER as base64 over several strings, parsed through lib/wire.
 *
 *     _authority.D        "at-authority=1" <base64 of the certificate DER>...
 *     _join.D             "at-join=1 host=H ula=fd.. nonce=<32 hex> t=T"
 *                         "key=<base64 SubjectPublicKeyInfo>" "check=<32 hex>"
 *     _approve.<nonce>.D  "at-approve=1 nonce=<32 hex> t=T" <base64 of the host certificate>...
 *                         "mac=<base64 of 32 bytes>"
 *
 * (`_revoked.D` is in revoked.h.) The join code ties a request to its
 * approval: the new computer shows it, a person types it on a member. It is
 * a secret of the two computers and the person: the server sees only the
 * `check`, a slow hash of code and request, and the `mac` of the approval,
 * keyed by the same slow hash (docs/authority.md §5.1).
 */
#ifndef AT_AUTHORITY_RECORDS_H
#define AT_AUTHORITY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"
#include "authority/hostcert.h"
#include "authority/params.h"

struct authority;

#define AUTHORITY_JOIN_NONCE_LEN 16
#define AUTHORITY_JOIN_CHECK_LEN 16
#define AUTHORITY_JOIN_SECRET_LEN 32
#define AUTHORITY_JOIN_MAC_KEY_LEN 32
/** Symbols of a join code (40 bits) and its text "XXXX-XXXX" with the NUL. */
#define AUTHORITY_JOIN_CODE_SYMBOLS 8
#define AUTHORITY_JOIN_CODE_TEXT 10
/** A join request older than this (or this far in the future) is not approved. */
#define AUTHORITY_JOIN_MAX_AGE_S 900
/** scrypt cost of the join keys: 16 MiB, about 40 ms (RFC 7914 §2: 128 * r * N bytes). */
#define AUTHORITY_JOIN_SCRYPT_N 16384
#define AUTHORITY_JOIN_SCRYPT_R 8
#define AUTHORITY_JOIN_SCRYPT_P 1

/** Largest RDATA of each record the builders write (docs/authority.md §4 gives typical sizes). */
#define AUTHORITY_CERT_RDATA_MAX (15 + 11 * 253)
#define AUTHORITY_JOIN_RDATA_MAX 512
#define AUTHORITY_APPROVAL_RDATA_MAX (80 + 11 * 253 + 49)

/** A join request, one RR of the shared RRset `_join.D`. */
struct authority_join {
	char host[AGENT_LABEL_MAX + 1];		/* the name it asks for, H */
	uint8_t ula[16];			/* its ULA, fc00::/7 */
	uint8_t nonce[AUTHORITY_JOIN_NONCE_LEN];	/* names the approval: _approve.<hex>.D */
	int64_t t;				/* when it was written, Unix seconds */
	uint8_t spki[AUTHORITY_SPKI_MAX];	/* its public key (authority_spki_check()) */
	size_t spki_len;
	uint8_t check[AUTHORITY_JOIN_CHECK_LEN];	/* authority_join_keys() */
};

/** An approval, `_approve.<nonce>.D`. */
struct authority_approval {
	uint8_t nonce[AUTHORITY_JOIN_NONCE_LEN];	/* the request's */
	int64_t t;
	uint8_t cert[AUTHORITY_CERT_DER_MAX];	/* the host certificate issued */
	size_t cert_len;
	uint8_t mac[32];			/* the parser's copy */
};

/** `_authority.D`: @p der (borrowed, the authority certificate) as TXT RDATA. 0, -EINVAL, -ENOSPC. */
int authority_cert_txt_build(const uint8_t *der, size_t len, uint8_t *rdata, size_t cap, size_t *rlen)
	__attribute__((warn_unused_result));

/**
 * Parse `_authority.D` into @p der (@p cap bytes), its length in *@p len:
 * the header, then the base64 strings; the DER must be one certificate in
 * canonical DER (authority_load() then checks it is the anchor of D).
 * 0, -EPROTONOSUPPORT, -EBADMSG.
 */
int authority_cert_txt_parse(const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** Build `_join.D` RDATA from @p j (check included). 0, -EINVAL, -ENOSPC. */
int authority_join_build(const struct authority_join *j, uint8_t *rdata, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** Parse `_join.D` RDATA. 0, -EPROTONOSUPPORT, -EBADMSG (then *@p j is zeroed). */
int authority_join_parse(const uint8_t *rdata, size_t len, struct authority_join *j)
	__attribute__((warn_unused_result));

/**
 * The new computer's side: derive the join code of @p j (host, ula, nonce,
 * t, spki set) from @p secret (AUTHORITY_JOIN_SECRET_LEN random bytes that
 * never leave it), as HMAC-SHA256(secret, "autotunnel join code v1" ||
 * request) cut to 40 bits, written "XXXX-XXXX" into @p code; then fill
 * j->check and @p mac_key from it (authority_join_keys()). The code is
 * therefore the same for the same request and secret, and unrelated for
 * different requests. @return 0, -EINVAL, -EIO.
 */
int authority_join_seal(struct authority_join *j, const char *domain,
			const uint8_t secret[static AUTHORITY_JOIN_SECRET_LEN],
			char code[static AUTHORITY_JOIN_CODE_TEXT],
			uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN]) __attribute__((warn_unused_result));

/**
 * Read a code as a person typed it (b32.h: case, '-', I/L/O) into its 8
 * canonical symbols and a NUL. 0 or -EINVAL.
 */
int authority_join_code_parse(const char *text, char canon[static AUTHORITY_JOIN_CODE_SYMBOLS + 1])
	__attribute__((warn_unused_result));

/**
 * scrypt(code, "autotunnel join v1" NUL D NUL request, N=2^14, r=8, p=1) into
 * @p check and @p mac_key: the slow hash that makes every guess of a code
 * cost 16 MiB and tens of milliseconds. @p code is canonical
 * (authority_join_code_parse()). 0, -EINVAL, -EIO.
 */
int authority_join_keys(const struct authority_join *j, const char *domain, const char *code,
			uint8_t check[static AUTHORITY_JOIN_CHECK_LEN],
			uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN]) __attribute__((warn_unused_result));

/**
 * The approver's side: whether the code @p typed (as a person typed it) is
 * the code of @p j; if so its @p mac_key. 0, -ENOENT (another request's, or
 * a typo), -EINVAL (not a code), -EIO.
 */
int authority_join_match(const struct authority_join *j, const char *domain, const char *typed,
			 uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN]) __attribute__((warn_unused_result));

/** Whether @p j, written at j->t, may still be approved at @p now (within AUTHORITY_JOIN_MAX_AGE_S either way). */
bool authority_join_fresh(const struct authority_join *j, int64_t now);

/**
 * Build `_approve.<nonce>.D` for @p ap (nonce, t, cert set), with its MAC
 * under @p mac_key over "autotunnel approve v1" NUL D NUL, the SHA-256 of
 * the authority @p a's certificate, and the RDATA before the MAC string: so
 * the new computer learns the authority from a member and not from the
 * server. 0, -EINVAL, -ENOSPC, -EIO.
 */
int authority_approval_build(const struct authority *a, const struct authority_approval *ap,
			     const uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN],
			     uint8_t *rdata, size_t cap, size_t *len) __attribute__((warn_unused_result));

/** Parse `_approve.<nonce>.D` (no check of the MAC or certificate). 0, -EPROTONOSUPPORT, -EBADMSG. */
int authority_approval_parse(const uint8_t *rdata, size_t len, struct authority_approval *ap)
	__attribute__((warn_unused_result));

/**
 * The new computer accepts an approval: @p ap answers @p j (same nonce),
 * its MAC is good under @p mac_key for the authority @p a (loaded from
 * `_authority.D`), and its certificate verifies against @p a at @p now for
 * j's host, ULA and key. On success *@p info (may be NULL) describes the
 * certificate. 0, -ENOENT (another request's), -EKEYREJECTED (bad MAC, wrong
 * authority, another key), or an error of authority_cert_verify().
 */
int authority_approval_accept(const struct authority *a, const struct authority_approval *ap,
			      const struct authority_join *j,
			      const uint8_t mac_key[static AUTHORITY_JOIN_MAC_KEY_LEN], int64_t now,
			      struct authority_host_cert *info) __attribute__((warn_unused_result));

/** Owner names into @p buf: "_authority.D", "_join.D", "_revoked.D", "_approve.<nonce hex>.D". 0 or -EINVAL. */
int authority_name_authority(char buf[static AGENT_NAME_MAX + 1], const char *domain)
	__attribute__((warn_unused_result));
int authority_name_join(char buf[static AGENT_NAME_MAX + 1], const char *domain)
	__attribute__((warn_unused_result));
int authority_name_revoked(char buf[static AGENT_NAME_MAX + 1], const char *domain)
	__attribute__((warn_unused_result));
int authority_name_approve(char buf[static AGENT_NAME_MAX + 1], const char *domain,
			   const uint8_t nonce[static AUTHORITY_JOIN_NONCE_LEN]) __attribute__((warn_unused_result));

#endif
