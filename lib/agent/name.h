/*
 * DNS names as the agent writes them: presentation form, lower case, no
 * trailing dot. These checks are the single point after which a name built
 * from configuration or read from a file is trusted (Knot's idea of one
 * name check).
 */
#ifndef AT_AGENT_NAME_H
#define AT_AGENT_NAME_H

#include <stdbool.h>
#include <stddef.h>

/** Longest name in presentation form without the trailing dot (RFC 1035 §2.3.4: 255 octets on the wire). */
#define AGENT_NAME_MAX 253
/** Longest label (RFC 1035 §2.3.4). */
#define AGENT_LABEL_MAX 63

/**
 * Check one host label of @p n bytes at @p s: 1..63 of [a-z0-9-], no
 * leading or trailing hyphen (RFC 952/1123 host names, lower case only).
 * Returns 0 or -EINVAL.
 */
int agent_label_check(const char *s, size_t n) __attribute__((warn_unused_result));

/**
 * Check a whole name: labels as agent_label_check(), except that a label
 * may begin with one '_' (service labels such as "_autotunnel"); at most
 * AGENT_NAME_MAX characters, no trailing dot, no empty label. 0 or -EINVAL.
 */
int agent_name_check(const char *name) __attribute__((warn_unused_result));

/**
 * Copy @p src into @p dst (@p cap bytes) in lower case, without one
 * trailing dot, and check it with agent_name_check(). Returns the length,
 * -ENOSPC if it does not fit, or -EINVAL.
 */
int agent_name_canon(char *dst, size_t cap, const char *src) __attribute__((warn_unused_result));

/** ASCII case-insensitive equality of two names, ignoring one trailing dot on either. */
bool agent_name_equal(const char *a, const char *b);

#endif
