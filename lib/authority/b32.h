/*
 * Crockford base32 (https://www.crockford.com/base32.html), the text a person
 * reads aloud or writes down: the recovery key and the join code
 * (docs/authority.md §5). Symbols 0-9 A-Z without I, L, O, U; bits are taken
 * most significant first, five per symbol. Decoding is lenient where a person
 * is: lower case is upper case, I and L read as 1, O as 0, and '-' and ' '
 * between symbols are ignored. Pure, no I/O.
 */
#ifndef AT_AUTHORITY_B32_H
#define AT_AUTHORITY_B32_H

#include <stddef.h>
#include <stdint.h>

/**
 * Write the first @p nbits bits of @p src (borrowed) as ceil(nbits/5)
 * symbols (a last partial group padded with zero bits) and a NUL into @p dst,
 * with a '-' after every @p group symbols (0: none).
 * @return the length written (without the NUL) or -ENOSPC.
 */
int authority_b32_encode(char *dst, size_t cap, const uint8_t *src, size_t nbits, unsigned group)
	__attribute__((warn_unused_result));

/**
 * Read exactly ceil(nbits/5) symbols from @p text (NUL-terminated, borrowed)
 * into the first @p nbits bits of @p dst (ceil(nbits/8) bytes, trailing bits
 * of the last byte zero). Padding bits of a last partial symbol must be zero.
 * @return 0, or -EINVAL for a character that is not a symbol or separator,
 * too few or too many symbols, or non-zero padding.
 */
int authority_b32_decode(uint8_t *dst, const char *text, size_t nbits)
	__attribute__((warn_unused_result));

/**
 * CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xffff, no reflection, no
 * final xor) of @p n bytes. A CRC of degree 16 detects every error burst of
 * at most 16 bits in the codeword (data followed by its CRC): any one wrong
 * symbol (5 bits) and any two swapped neighbours (10 bits).
 */
uint16_t authority_crc16(const uint8_t *p, size_t n);

#endif
