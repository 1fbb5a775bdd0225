/*
 * The control socket of a running server (a Unix stream socket, mode
 * 0600, next to the database by default): one command line in, text out.
 *   stats    every counter, "name value" per line
 *   reload   re-read accounts and records (the account commands send it)
 *   freeze NAME  refuse the account's UPDATEs until the next reload (account move)
 */
#ifndef DNSD_CONTROL_H
#define DNSD_CONTROL_H

#include <stddef.h>

#include <stdio.h>

struct control;
struct event_base;

/** What the commands do, given by the server (the control socket knows no engine). */
struct control_ops {
	/** `stats`: print every counter to @p fp. */
	void (*stats)(void *arg, FILE *fp);
	/** `reload`: @return 0, or a negative errno with a message in @p err. */
	int (*reload)(void *arg, char *err, size_t errlen);
	/** `freeze NAME`: @return 0, or a negative errno with a message in @p err. */
	int (*freeze)(void *arg, const char *name, char *err, size_t errlen);
};

/** Serve the control socket at @p path on @p base; @p ops and @p arg are borrowed. */
struct control *control_new(const struct control_ops *ops, void *arg, struct event_base *base,
			    const char *path, char *err, size_t errlen);
void control_free(struct control *c);

#endif
