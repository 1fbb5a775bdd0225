/*
 * The CLI's side of the control socket: one request frame to autotunneld,
 * one reply frame back (lib/agent/ctl.h), printed for a person or as JSON.
 * Shared by status, hosts, ping, netcheck, services, login and logout.
 *
 * login: code AGENT_CTL_LOGIN with one ARGS record holding ACCOUNT, SERVER,
 * PIN or CA, and in the PASSWORD (secret) field the keys, never the
 * password: 128 hex digits, the TSIG key then the IKE key, each 32 bytes
 * as dns_keys_derive() (lib/dns/keys.h) makes them on the CLI's side.
 * autotunneld's control.c decodes them and calls atd_account_login().
 */
#ifndef AT_AUTOTUNNEL_CTLCLIENT_H
#define AT_AUTOTUNNEL_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/ctl.h"

/** Environment variable naming the socket (else AGENT_CTL_SOCKET). */
#define CTL_SOCKET_ENV "AUTOTUNNEL_CONTROL"

/** The socket path: @p opt (from --socket) if given, else $AUTOTUNNEL_CONTROL, else the default. */
const char *ctl_socket_path(const char *opt);

/**
 * Send the request frame @p req (@p len bytes, borrowed) to the agent at
 * @p path and parse its reply into @p reply, waiting at most @p timeout_ms.
 * Returns 0, or -errno with a sentence for a person printed on stderr.
 */
int ctl_call(const char *path, const uint8_t *req, size_t len, struct agent_ctl_msg *reply,
	     unsigned timeout_ms);

/** Print @p reply (text or JSON) on stdout; CMD_OK, or CMD_FAIL for an ERROR reply. */
int ctl_print(const struct agent_ctl_msg *reply, bool json);

/**
 * The options every subcommand that talks to the agent takes, [--json]
 * [--socket PATH] [--help], for one with exactly @p operands operands (left
 * at argv[optind] on): sets @p sock (borrowed from @p argv; NULL when not
 * given) and @p json. Returns true to go on; false when the command ends
 * here, after @p usage printed the help, with its exit code in @p rc
 * (CMD_OK for --help, CMD_USAGE for a bad command line).
 */
bool ctl_opts_parse(int argc, char **argv, int operands, void (*usage)(void), const char **sock, bool *json,
		    int *rc);

/**
 * A whole subcommand without arguments but [--json] [--socket PATH]
 * (status, hosts, netcheck, services): @p code is the request; @p usage
 * prints the help; @p verdict (may be NULL) turns a reply that was printed
 * into the exit code (netcheck fails when the server is unreachable).
 * Returns the exit code.
 */
int ctl_simple(int argc, char **argv, uint8_t code, void (*usage)(void),
	       int (*verdict)(const struct agent_ctl_msg *reply));

#endif
