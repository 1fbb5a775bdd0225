/*
 * Hex and base64 text encodings (base64 through OpenSSL's EVP block coder).
 * All functions take borrowed buffers and return the number of bytes
 * written, or a negative errno: -ENOSPC when @p dst is too small, -EINVAL
 * for text that is not valid in the encoding.
 */
#ifndef AT_UTIL_ENCODE_H
#define AT_UTIL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/** Lower-case hex of @p n bytes plus a NUL; needs 2n+1 bytes. */
int hex_encode(char *dst, size_t dstlen, const uint8_t *src, size_t n)
	__attribute__((warn_unused_result));
/** Decode exactly strlen(@p src)/2 bytes; odd length or a non-hex digit is -EINVAL. */
int hex_decode(uint8_t *dst, size_t dstlen, const char *src)
	__attribute__((warn_unused_result));
/** Standard base64 with padding plus a NUL; needs 4*ceil(n/3)+1 bytes. */
int b64_encode(char *dst, size_t dstlen, const uint8_t *src, size_t n)
	__attribute__((warn_unused_result));
/** Decode padded standard base64 (no whitespace); returns the decoded length. */
int b64_decode(uint8_t *dst, size_t dstlen, const char *src)
	__attribute__((warn_unused_result));

#endif
