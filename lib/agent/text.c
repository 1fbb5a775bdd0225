/* Strict line and address reading for the agent's text files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/text.h"

int agent_text_line(struct wire *w, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		uint8_t c = wire_read_u8(w);

		if (wire_err(w))
			return -EBADMSG;	/* no '\n' before the end */
		if (c == '\n')
			break;
		if (c < 0x20 || c > 0x7e || n + 1 >= cap) {
			wire_fail(w, -EBADMSG);
			return -EBADMSG;
		}
		line[n++] = (char)c;
	}
	line[n] = '\0';
	return (int)n;
}

void agent_text_put(struct agent_text_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->full = true;
	else
		o->pos += (size_t)n;
}

int agent_text_done(struct agent_text_out *o)
{
	if (o->full) {
		if (o->len)
			o->buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)o->pos;
}

int agent_text_ip6(uint8_t addr[static 16], const char *s)
{
	char back[INET6_ADDRSTRLEN];

	if (strlen(s) >= sizeof(back) || inet_pton(AF_INET6, s, addr) != 1)
		return -EINVAL;
	/* only the canonical spelling: one file, one way to write it */
	if (!inet_ntop(AF_INET6, addr, back, sizeof(back)) || strcmp(back, s) != 0)
		return -EINVAL;
	return 0;
}

int agent_text_ip4(uint8_t addr[static 4], const char *s)
{
	char back[INET_ADDRSTRLEN];

	if (strlen(s) >= sizeof(back) || inet_pton(AF_INET, s, addr) != 1)
		return -EINVAL;
	if (!inet_ntop(AF_INET, addr, back, sizeof(back)) || strcmp(back, s) != 0)
		return -EINVAL;
	return 0;
}
