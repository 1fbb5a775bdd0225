/*
 * The subcommands of autotunnel-dnsd that run without the server:
 * `account add|list|del|passwd|show` work on the database directly (and
 * tell a running server to reload; `add` prints the login line for the
 * account's hosts), `pin` reads the TLS certificate, `stats` asks the
 * running server over its control socket.
 */
#ifndef DNSD_CLI_H
#define DNSD_CLI_H

#include <stdio.h>

#include "autotunnel-dnsd/settings.h"

/** `account ...`: @p argv[0] is "account". Returns the process exit status. */
int cli_account(const struct dnsd_settings *s, int argc, char *argv[]);

/**
 * `pin`: the server certificate's SPKI pin and fingerprint, and the
 * `autotunnel login` line that uses them. Returns the exit status.
 */
int cli_pin(const struct dnsd_settings *s);

/** `stats`: print the running server's counters. Returns the exit status. */
int cli_stats(const struct dnsd_settings *s);

/**
 * Send one command line to the control socket at @p path and copy the
 * answer to @p out. @return 0 or a negative errno (-ENOENT, -ECONNREFUSED
 * when no server runs).
 */
int cli_control(const char *path, const char *cmd, FILE *out);

/**
 * Check an account name (1..63 of a-z, 0-9, '-', not at either end;
 * upper case is folded) and write the lower-case name to @p out.
 * @return 0 or -EINVAL.
 */
int cli_account_name(const char *name, char out[static 64]) __attribute__((warn_unused_result));

/**
 * Is @p name (a checked, lower-case account name) one the server uses for
 * itself: "ns" (the default server name, ns.ZONE), or the label of the zone
 * under which its server-name lies? (Labels starting with '_', the form of
 * every synthesised record, are already refused by cli_account_name().)
 * @return 0 or -EPERM.
 */
int cli_account_reserved(const struct dnsd_settings *s, const char *name)
	__attribute__((warn_unused_result));

#endif
