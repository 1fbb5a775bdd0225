/*
 * Line-oriented reading of the agent's small text files (identity, hosts
 * cache) through the wire cursor, and the bounded buffer the text it
 * renders is written into. Internal to lib/agent.
 */
#ifndef AT_AGENT_TEXT_H
#define AT_AGENT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/**
 * Copy the next line of @p w (without its '\n') into @p line (@p cap bytes,
 * NUL-terminated) and return its length. A line must end in '\n', hold only
 * printable ASCII (0x20..0x7e) and fit in cap - 1 bytes; otherwise
 * -EBADMSG and the cursor carries the error.
 */
int agent_text_line(struct wire *w, char *line, size_t cap) __attribute__((warn_unused_result));

/** Parse a canonical (RFC 5952) IPv6 address; the text must be exactly what inet_ntop writes. 0 or -EINVAL. */
int agent_text_ip6(uint8_t addr[static 16], const char *s) __attribute__((warn_unused_result));

/** Parse a canonical dotted-quad IPv4 address. 0 or -EINVAL. */
int agent_text_ip4(uint8_t addr[static 4], const char *s) __attribute__((warn_unused_result));

/** Text appended with agent_text_put() to @p buf (borrowed, @p len bytes, NUL-terminated). */
struct agent_text_out {
	char *buf;
	size_t len, pos;
	bool full;	/* something did not fit: nothing more is written */
};

/** Append printf output; what does not fit whole marks @p o full. */
void agent_text_put(struct agent_text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The length written, or -ENOSPC (the buffer then holds "") if anything did not fit. */
int agent_text_done(struct agent_text_out *o);

#endif
