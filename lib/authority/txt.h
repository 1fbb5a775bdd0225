/*
 * Helpers of the TXT codecs of lib/authority (records.c, revoked.c): one
 * character-string (RFC 1035 §3.3.14) at a time through the wire cursor, and
 * the strict text pieces of their one spelling (decimal without leading
 * zeros, lower-case hex, "key=value" tokens at single spaces, DER blobs as
 * base64 over several strings). Internal to lib/authority.
 */
#ifndef AT_AUTHORITY_TXT_H
#define AT_AUTHORITY_TXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/** Base64 characters per string of a blob: a multiple of 4, so each string decodes alone. */
#define AUTHORITY_TXT_CHUNK 252
/** Most tokens in one string. */
#define AUTHORITY_TXT_TOKENS 8

/** Write one character-string (-EINVAL on the cursor when longer than 255). */
void authority_txt_put(struct wire *w, const char *s, size_t n);

/**
 * Read one character-string into @p s (256 bytes, NUL-terminated) and return
 * its length, or -EBADMSG: truncated, or bytes outside 0x20..0x7e.
 */
int authority_txt_get(struct wire *w, char s[static 256]) __attribute__((warn_unused_result));

/** Decimal without leading zeros (or "0"), at most @p max. 0 or -EBADMSG. */
int authority_txt_decimal(const char *s, uint64_t max, uint64_t *v) __attribute__((warn_unused_result));

/** Exactly 2 * @p n lower-case hex digits into @p out. 0 or -EBADMSG. */
int authority_txt_hex(const char *s, uint8_t *out, size_t n) __attribute__((warn_unused_result));

/** Lower-case hex of @p n bytes and a NUL into @p dst (2n + 1 bytes). */
void authority_txt_hex_put(char *dst, const uint8_t *src, size_t n);

/** The value of "key=value" in @p tok, or NULL. */
const char *authority_txt_value(const char *tok, const char *key);

/** Split @p s (modified) at single spaces; the count, or -EBADMSG (empty tokens, too many). */
int authority_txt_tokens(char *s, char *tok[AUTHORITY_TXT_TOKENS]) __attribute__((warn_unused_result));

/**
 * The header's version: 0 when @p h starts "KEY=1" followed by a space or
 * its end, -EPROTONOSUPPORT for "KEY=N" with another decimal N, -EBADMSG else.
 */
int authority_txt_version(const char *h, const char *key) __attribute__((warn_unused_result));

/** Strings needed for a blob of @p n bytes (ceil(base64 length / AUTHORITY_TXT_CHUNK)). */
size_t authority_txt_blob_strings(size_t n);

/** Write @p n bytes as base64 in strings of AUTHORITY_TXT_CHUNK characters, the last shorter. */
void authority_txt_blob_put(struct wire *w, const uint8_t *blob, size_t n);

/**
 * Read @p nstr strings of a blob written by authority_txt_blob_put() into
 * @p out (@p cap bytes): every string but the last exactly
 * AUTHORITY_TXT_CHUNK characters, the last 4..AUTHORITY_TXT_CHUNK, canonical
 * padded base64 throughout. The length in *@p len. 0 or -EBADMSG.
 */
int authority_txt_blob_get(struct wire *w, size_t nstr, uint8_t *out, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** The number of character-strings in @p rdata, or -EBADMSG when one runs past the end. */
int authority_txt_count(const uint8_t *rdata, size_t len) __attribute__((warn_unused_result));

/**
 * A record holding one certificate: the string "@p key=1", then the DER as a
 * blob. The parser wants exactly that header (another version:
 * -EPROTONOSUPPORT) and one certificate in canonical DER (authority_x509_parse()).
 */
int authority_txt_der_build(const char *key, const uint8_t *der, size_t len, uint8_t *rdata, size_t cap,
			    size_t *rlen) __attribute__((warn_unused_result));
int authority_txt_der_parse(const char *key, const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap,
			    size_t *len) __attribute__((warn_unused_result));

/** "@p prefix.D" into @p buf, D canonical; 0 or -EINVAL (bad D, longer than 253). */
int authority_txt_name(char buf[static 254], const char *prefix, const char *domain)
	__attribute__((warn_unused_result));

#endif
