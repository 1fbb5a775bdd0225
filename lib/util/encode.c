#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/encode.h"

int hex_encode(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (n > (INT_MAX - 1) / 2 || dstlen < 2 * n + 1)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * n] = '\0';
	return (int)(2 * n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len % 2 || len / 2 > INT_MAX)
		return -EINVAL;
	if (dstlen < len / 2)
		return -ENOSPC;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(src[2 * i]), lo = hexval(src[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

int b64_encode(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	size_t need;

	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		return -ENOSPC;
	need = (n + 2) / 3 * 4 + 1;
	if (dstlen < need)
		return -ENOSPC;
	return EVP_EncodeBlock((unsigned char *)dst, src, (int)n);
}

int b64_decode(uint8_t *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src), pad = 0, out;
	unsigned char tmp[3];
	int r;

	/* EVP_DecodeBlock accepts what we do not: whitespace, and unpadded tails. */
	if (len % 4 || len > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '=') {
			if (i < len - 2 || (i == len - 2 && src[len - 1] != '='))
				return -EINVAL;
			pad++;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			return -EINVAL;
		}
	}
	out = len / 4 * 3 - pad;
	if (dstlen < out)
		return -ENOSPC;
	/* Decode whole quads straight into dst and the last quad via tmp, so
	 * that EVP's padding bytes never land past dst's exact size. */
	if (len > 4) {
		r = EVP_DecodeBlock(dst, (const unsigned char *)src, (int)(len - 4));
		if (r < 0)
			return -EINVAL;
	}
	if (len) {
		r = EVP_DecodeBlock(tmp, (const unsigned char *)src + len - 4, 4);
		if (r < 0)
			return -EINVAL;
		memcpy(dst + (len / 4 - 1) * 3, tmp, 3 - pad);
	}
	return (int)out;
}
