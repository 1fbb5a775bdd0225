/*
 * lib/dns/txt.h: the strict text of our TXT records (lib/agent cand.c,
 * lib/authority records): one character-string (RFC 1035 §3.3.14) at a time
 * through the wire cursor, and the pieces of their one spelling: decimal
 * without leading zeros, lower-case hex, "key=value" tokens at single spaces,
 * a "KEY=1" version header. Each value has one accepted spelling so that a
 * record parsed and built again is the same bytes.
 */
#ifndef AT_DNS_TXT_H
#define AT_DNS_TXT_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/** Most tokens in one string. */
#define DNS_TXT_TOKENS 8

/** Write one character-string (-EINVAL on the cursor when longer than 255). */
void dns_txt_put(struct wire *w, const char *s, size_t n);

/**
 * Read one character-string into @p s (256 bytes, NUL-terminated) and return
 * its length, or -EBADMSG: truncated, or bytes outside 0x20..0x7e.
 */
int dns_txt_get(struct wire *w, char s[static 256]) __attribute__((warn_unused_result));

/** Decimal without leading zeros (or "0"), at most @p max. 0 or -EBADMSG. */
int dns_txt_decimal(const char *s, uint64_t max, uint64_t *v) __attribute__((warn_unused_result));

/** Exactly 2 * @p n lower-case hex digits into @p out. 0 or -EBADMSG. */
int dns_txt_hex(const char *s, uint8_t *out, size_t n) __attribute__((warn_unused_result));

/** Lower-case hex of @p n bytes and a NUL into @p dst (2n + 1 bytes). */
void dns_txt_hex_put(char *dst, const uint8_t *src, size_t n);

/** The value of "key=value" in @p tok (borrowed from it), or NULL. */
const char *dns_txt_value(const char *tok, const char *key);

/**
 * Split @p s (modified: NULs replace the spaces) at single spaces into
 * @p tok (pointers into @p s); the count, or -EBADMSG (empty tokens, more
 * than DNS_TXT_TOKENS).
 */
int dns_txt_tokens(char *s, char *tok[DNS_TXT_TOKENS]) __attribute__((warn_unused_result));

/**
 * The header's version: 0 when @p h starts "KEY=1" followed by a space or
 * its end, -EPROTONOSUPPORT for "KEY=N" with another decimal N (a later
 * format), -EBADMSG else.
 */
int dns_txt_version(const char *h, const char *key) __attribute__((warn_unused_result));

#endif
