/*
 * Helpers of the TXT codecs of lib/authority (records.c, revoked.c): DER
 * blobs as base64 over several character-strings (RFC 1035 §3.3.14), the
 * one-certificate record, and owner names. The single strings and their
 * strict text pieces are lib/dns/txt.h. Internal to lib/authority.
 */
#ifndef AT_AUTHORITY_TXT_H
#define AT_AUTHORITY_TXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/** Base64 characters per string of a blob: a multiple of 4, so each string decodes alone. */
#define AUTHORITY_TXT_CHUNK 252

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
