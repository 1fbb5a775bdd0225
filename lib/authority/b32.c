/* Crockford base32 and CRC-16 (see b32.h). */
#include <errno.h>
#include <string.h>

#include "authority/b32.h"

static const char symbols[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int authority_b32_encode(char *dst, size_t cap, const uint8_t *src, size_t nbits, unsigned group)
{
	size_t nsym = (nbits + 4) / 5, o = 0;

	for (size_t i = 0; i < nsym; i++) {
		unsigned v = 0;

		for (size_t b = 0; b < 5; b++) {
			size_t bit = i * 5 + b;

			v <<= 1;
			if (bit < nbits)
				v |= (src[bit / 8] >> (7 - bit % 8)) & 1u;
		}
		if (group && i && i % group == 0) {
			if (o + 1 >= cap)
				return -ENOSPC;
			dst[o++] = '-';
		}
		if (o + 1 >= cap)
			return -ENOSPC;
		dst[o++] = symbols[v];
	}
	if (o >= cap)
		return -ENOSPC;
	dst[o] = '\0';
	return (int)o;
}

/* The value of one symbol as a person may write it, -1 for a separator, -2 otherwise. */
static int symbol_value(char c)
{
	if (c == '-' || c == ' ')
		return -1;
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'I' || c == 'L')
		return 1;
	if (c == 'O')
		return 0;
	for (int i = 0; i < 32; i++)
		if (symbols[i] == c)
			return i;
	return -2;	/* U (kept out by Crockford so that no word is spelled by accident) and the rest */
}

int authority_b32_decode(uint8_t *dst, const char *text, size_t nbits)
{
	size_t nsym = (nbits + 4) / 5, got = 0;

	memset(dst, 0, (nbits + 7) / 8);
	for (const char *p = text; *p; p++) {
		int v = symbol_value(*p);

		if (v == -1)
			continue;
		if (v < 0 || got == nsym)
			goto bad;
		for (int b = 4; b >= 0; b--) {
			size_t bit = got * 5 + (size_t)(4 - b);
			unsigned x = ((unsigned)v >> b) & 1u;

			if (bit < nbits)
				dst[bit / 8] |= (uint8_t)(x << (7 - bit % 8));
			else if (x)
				goto bad;	/* padding bits must be zero: one spelling */
		}
		got++;
	}
	if (got == nsym)
		return 0;
bad:
	memset(dst, 0, (nbits + 7) / 8);
	return -EINVAL;
}

uint16_t authority_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}
