/*
 * src/autotunneld/control: the root-only UNIX socket the CLI talks to
 * (lib/agent/ctl.h's protocol: one request frame, one reply frame).
 * status, hosts, netcheck and ping are answered here; login and logout are
 * handed to the account (account.c), services to the watcher.
 *
 * main.c starts it once the agent runs; it sits above the engine and is
 * called by no other module.
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_CONTROL_H
#define AT_AUTOTUNNELD_CONTROL_H

struct atd;

/** Listen on d->conf.control (mode 0600; peers must be root or our own user). 0 or -errno (logged). */
int atd_control_start(struct atd *d);
/** Close the socket and every client connection; remove the socket file. */
void atd_control_stop(struct atd *d);

#endif
