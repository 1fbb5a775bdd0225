/*
 * The control socket of a running server (a Unix stream socket, mode
 * 0600, next to the database by default): one command line in, text out.
 *   stats    every counter, "name value" per line
 *   reload   re-read accounts and records (the account commands send it)
 */
#ifndef DNSD_CONTROL_H
#define DNSD_CONTROL_H

#include <stddef.h>

struct control;
struct engine;
struct event_base;

struct control *control_new(struct engine *e, struct event_base *base, const char *path, char *err,
			    size_t errlen);
void control_free(struct control *c);

#endif
