/*
 * lib/dns/name.h: domain names (RFC 1035 §§2.3.4, 3.1, 4.1.4).
 *
 * A struct dns_name holds a name in uncompressed wire form: a sequence of
 * length-prefixed labels ending with the root label (a zero byte), at most
 * 255 bytes in all, each label at most 63 bytes. Every function that makes
 * a dns_name validates it, so code that holds one may trust those bounds.
 * Case is preserved; comparisons are case-insensitive (ASCII only, RFC 4343).
 *
 * Reading from a message follows compression pointers, each of which must
 * point strictly backwards: before the start of the name (or of the label
 * run that the previous pointer led to), and never into the 12-byte header.
 * The limit therefore decreases with every jump and loops are impossible.
 *
 * Writing into a message can compress: a struct dns_compress remembers
 * where names were written and replaces a known suffix by a pointer.
 */
#ifndef AT_DNS_NAME_H
#define AT_DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define DNS_NAME_MAX 255	/**< bytes in wire form, root label included */
#define DNS_LABEL_MAX 63	/**< bytes in one label */
#define DNS_LABELS_MAX 128	/**< labels in a name, root label included */
/** Room for the longest text form (every byte as \DDD, dots, NUL). */
#define DNS_NAME_TEXT_MAX (4 * DNS_NAME_MAX + 1)

/** Offset of the first byte after the DNS header: pointers must reach at least this far. */
#define DNS_HEADER_LEN 12

/** A validated name in uncompressed wire form. */
struct dns_name {
	uint8_t len;			/**< bytes used in wire[], 1 (root) .. 255 */
	uint8_t labels;			/**< labels, not counting the root label */
	uint8_t wire[DNS_NAME_MAX];	/**< the labels, ending with a zero byte */
};

/**
 * Read a name from a message at the cursor's position, following
 * compression pointers, and advance the cursor past the name's bytes at
 * that position (up to and including the first pointer or the root label).
 *
 * Pointer offsets are relative to the cursor's start, which must be the
 * first byte of the message (wire_sub() keeps it, so a sub-cursor over an
 * RR's rdata works).
 *
 * @param w    cursor over the message (borrowed).
 * @param out  receives the name; may be NULL to validate and skip only.
 * @return 0, or -EBADMSG for a truncated name, a label over 63 bytes, a
 *         name over 255 bytes, a reserved label type (0x40, 0x80), or a
 *         pointer that does not point strictly backwards or points into the
 *         header. On error the cursor carries the error too.
 */
__attribute__((warn_unused_result))
int dns_name_parse(struct wire *w, struct dns_name *out);

/**
 * Make a name from uncompressed wire form (as stored, e.g. in a database).
 *
 * @param out  receives the name.
 * @param buf  the bytes (borrowed); must hold exactly one name (no pointer).
 * @param len  length of @p buf.
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_name_from_wire(struct dns_name *out, const uint8_t *buf, size_t len);

/**
 * Parse presentation format (RFC 1035 §5.1): labels separated by dots,
 * "\." for a literal dot, "\\" for a backslash, "\X" for any character X
 * and "\DDD" (three decimal digits, 0..255) for any byte. The name is
 * taken as absolute whether or not it ends with a dot; "." is the root.
 *
 * @param out   receives the name.
 * @param text  NUL-terminated text (borrowed).
 * @return 0, -EINVAL for bad syntax (empty label, bad escape) or -EMSGSIZE
 *         for a label over 63 or a name over 255 bytes.
 */
__attribute__((warn_unused_result))
int dns_name_from_text(struct dns_name *out, const char *text);

/**
 * Write a name in presentation format with a trailing dot ("." for the
 * root). The special characters . \ " ( ) ; @ $ get a backslash, bytes
 * outside 0x21..0x7e (space included) are written \DDD, so
 * dns_name_from_text() reads the result back to the same name.
 *
 * @param n    the name (borrowed).
 * @param buf  receives NUL-terminated text.
 * @param cap  size of @p buf; DNS_NAME_TEXT_MAX always suffices.
 * @return the text length (without NUL), or -ENOSPC.
 */
int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap);

/** Case-insensitive equality. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/**
 * Order names canonically (RFC 4034 §6.1: by labels from the root, each
 * compared as lower-cased bytes).
 * @return <0, 0 or >0.
 */
int dns_name_compare(const struct dns_name *a, const struct dns_name *b);

/** Lower-case the name in place (RFC 4034 §6.2 canonical form). */
void dns_name_canonicalize(struct dns_name *n);

/** True if @p n equals @p zone or lies below it (case-insensitive). */
bool dns_name_is_below(const struct dns_name *n, const struct dns_name *zone);

/** Number of labels, not counting the root label ("a.b." has 2, "." has 0). */
static inline unsigned dns_name_label_count(const struct dns_name *n) { return n->labels; }

/** True if @p n is the root name ".". */
static inline bool dns_name_is_root(const struct dns_name *n) { return n->len == 1; }

/** Set @p n to the root name. */
void dns_name_set_root(struct dns_name *n);

/**
 * Concatenate: @p out = @p prefix (its root label dropped) followed by
 * @p suffix. @p out may alias either input.
 * @return 0 or -EMSGSIZE when the result would exceed 255 bytes.
 */
__attribute__((warn_unused_result))
int dns_name_concat(struct dns_name *out, const struct dns_name *prefix,
		    const struct dns_name *suffix);

/**
 * Prepend one label (1..63 bytes, any byte values) to @p n in place.
 * @return 0, -EINVAL for an empty or over-long label, or -EMSGSIZE.
 */
__attribute__((warn_unused_result))
int dns_name_prepend_label(struct dns_name *n, const void *label, size_t len);

/**
 * Drop the first @p count labels of @p n in place (the parent when
 * @p count is 1). @return 0 or -EINVAL if @p n has fewer labels.
 */
__attribute__((warn_unused_result))
int dns_name_strip(struct dns_name *n, unsigned count);

/**
 * Borrow the first label: set *@p label to its bytes inside @p n and
 * return its length (0 for the root).
 */
size_t dns_name_first_label(const struct dns_name *n, const uint8_t **label);

/** Number of suffix positions a compression table remembers. */
#define DNS_COMPRESS_MAX 64

/**
 * Compression table for one message being written. Entries are offsets
 * (from the start of the message) of names or name suffixes already in the
 * message, written uncompressed from that point, with their label counts.
 * Initialise with dns_compress_init(); it points into nothing and may be
 * copied. When a message is rolled back to an earlier length, call
 * dns_compress_rollback() so no entry points past the end.
 */
struct dns_compress {
	uint16_t n;			/**< entries used */
	uint16_t off[DNS_COMPRESS_MAX];	/**< offset of a label in the message */
	uint8_t labels[DNS_COMPRESS_MAX];	/**< labels from there to the root */
};

/** Empty the table. */
static inline void dns_compress_init(struct dns_compress *c) { c->n = 0; }

/** Forget every entry at or after @p msg_len (after truncating the message to that length). */
void dns_compress_rollback(struct dns_compress *c, size_t msg_len);

/**
 * Remember that the uncompressed name @p n was written at offset @p off of
 * the message (e.g. a question copied verbatim). Only offsets below 0x4000
 * can be pointed to; others, and entries beyond the table's capacity, are
 * ignored (the message just compresses less).
 */
void dns_compress_add(struct dns_compress *c, const struct dns_name *n, size_t off);

/**
 * Write @p n at the cursor, replacing its longest suffix already present
 * in the message (per @p c, case-insensitively) by a pointer, and record
 * the new suffixes in @p c.
 *
 * @param w  a writer whose start is the first byte of the message.
 * @param n  the name (borrowed).
 * @param c  the message's table, or NULL to write uncompressed.
 * @return 0 or the cursor's error (-ENOSPC).
 */
int dns_name_write(struct wire *w, const struct dns_name *n, struct dns_compress *c);

#endif /* AT_DNS_NAME_H */
