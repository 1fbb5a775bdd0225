/*
 * The control socket: a root-only UNIX stream socket on which the daemon
 * answers one command per connection ("status\n") with text, and the
 * client side used by "autotunnel-gwd status".
 */
#ifndef AT_GWD_CONTROL_H
#define AT_GWD_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;
struct gwd_control;

#define GWD_CONTROL_CMD_MAX 64

enum gwd_control_cmd {
	GWD_CMD_STATUS,
};

/*
 * Parse one command line (@p buf borrowed, @p len bytes, through lib/wire):
 * a lower-case word ended by '\n'. 0 with *cmd set, -EAGAIN if no '\n' came
 * yet, -EINVAL for anything else.
 */
int gwd_control_parse(const void *buf, size_t len, enum gwd_control_cmd *cmd)
	__attribute__((warn_unused_result));

/* Writes the answer to a status request into @p fp. */
typedef int (*gwd_control_status_fn)(void *arg, FILE *fp);

/*
 * Listen on @p path (borrowed; created mode 0600, a stale socket from a
 * dead daemon is replaced, a live one is an error: -EADDRINUSE). Served
 * from @p base; only root or the daemon's own user may talk to it.
 */
int gwd_control_open(struct gwd_control **out, struct event_base *base, const char *path,
		     gwd_control_status_fn status, void *arg) __attribute__((warn_unused_result));
/* Stop listening, close open connections, remove the socket file. */
void gwd_control_close(struct gwd_control *c);

/* Client: send "status" to @p path and copy the answer to @p out. 0 or -errno. */
int gwd_control_query_status(const char *path, FILE *out);

#endif
