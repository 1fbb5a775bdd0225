/*
 * The account authority's commands (docs/authority.md, issue 14), each one
 * request to autotunneld, which holds the keys:
 *   autotunnel approve CODE        admit the computer that shows CODE (§5.1)
 *   autotunnel revoke HOST         revoke a host of the account (§5.4)
 *   autotunnel authority issue NAME --out DIR [--pkinit client PRINCIPAL | kdc REALM]
 *                                  a certificate and key for a guest or the local KDC (§3)
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

#define AUTHORITY_TIMEOUT_MS 20000

void cmd_approve_usage(void)
{
	printf("usage: autotunnel approve CODE [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: admit the computer that shows the join\n"
	       "code CODE (autotunnel login or status on that computer shows it, XXXX-XXXX;\n"
	       "case, dashes and I/L/O for 1/1/0 do not matter). The computer gets a\n"
	       "certificate and joins the account's tunnels within seconds.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

void cmd_revoke_usage(void)
{
	printf("usage: autotunnel revoke HOST [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: revoke HOST (a lost or stolen computer).\n"
	       "Every member closes its tunnels with HOST within seconds and refuses it from\n"
	       "then on; its key is revoked with it. To admit the computer again, sign it\n"
	       "out, sign it in and approve its new join code.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

void cmd_authority_usage(void)
{
	printf("usage: autotunnel authority issue NAME --out DIR [--pkinit client PRINCIPAL | --pkinit kdc REALM]\n"
	       "                            [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: issue a certificate for NAME.ACCOUNT with\n"
	       "a new Ed25519 key, for a guest that is not an autotunnel host (strongSwan) or\n"
	       "for the local KDC. DIR gets NAME.pem, NAME.key (mode 0600) and anchor.pem, the\n"
	       "authority's certificate to trust.\n"
	       "\n"
	       "  --pkinit client PRINCIPAL   a PKINIT client certificate for name[/instance]@REALM\n"
	       "  --pkinit kdc REALM          a PKINIT KDC certificate for krbtgt/REALM@REALM\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

/* One request with the fields given (NULL: left out) and its reply printed. */
static int call(uint8_t code, const char *sock, bool json, const uint8_t fid[], const char *const val[], size_t n)
{
	static uint8_t req[2048];
	struct agent_ctl_writer w;
	struct agent_ctl_msg *reply;
	int len, rc;

	agent_ctl_write_begin(&w, req, sizeof(req), code);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ARGS);
	for (size_t i = 0; i < n; i++)
		if (val[i])
			agent_ctl_write_str(&w, fid[i], val[i]);
	if ((len = agent_ctl_write_end(&w)) < 0) {
		fprintf(stderr, "autotunnel: the arguments are not valid (printable text of at most 255 characters)\n");
		return CMD_USAGE;
	}
	if (!(reply = agent_ctl_msg_new()))
		return CMD_FAIL;
	rc = ctl_call(ctl_socket_path(sock), req, (size_t)len, reply, AUTHORITY_TIMEOUT_MS) ? CMD_FAIL
												: ctl_print(reply, json);
	agent_ctl_msg_free(reply);
	return rc;
}

/* approve CODE, revoke HOST: one argument and the common options. */
static int one_arg(int argc, char **argv, uint8_t code, uint8_t fid, void (*usage)(void))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h':
			usage();
			return CMD_OK;
		default:
			usage();
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage();
		return CMD_USAGE;
	}
	{
		const uint8_t f[] = { fid };
		const char *const v[] = { argv[optind] };

		return call(code, sock, json, f, v, 1);
	}
}

int cmd_approve(int argc, char **argv)
{
	return one_arg(argc, argv, AGENT_CTL_APPROVE, AGENT_CTL_F_JOIN_CODE, cmd_approve_usage);
}

int cmd_revoke(int argc, char **argv)
{
	return one_arg(argc, argv, AGENT_CTL_REVOKE, AGENT_CTL_F_HOST, cmd_revoke_usage);
}

int cmd_authority(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pkinit", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *out = NULL, *pkinit = NULL, *principal = NULL, *name = NULL;
	char abs[PATH_MAX];
	bool json = false;
	int c;

	optind = 1;
	/* GNU getopt moves the operands last: issue NAME [PRINCIPAL] */
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pkinit = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h':
			cmd_authority_usage();
			return CMD_OK;
		default:
			cmd_authority_usage();
			return CMD_USAGE;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || strcmp(argv[optind], "issue") != 0) {
		cmd_authority_usage();
		return CMD_USAGE;
	}
	name = argv[optind + 1];
	principal = argc - optind == 3 ? argv[optind + 2] : NULL;
	if (!out || (pkinit && strcmp(pkinit, "client") && strcmp(pkinit, "kdc")) || !pkinit != !principal) {
		cmd_authority_usage();
		return CMD_USAGE;
	}
	/* the agent writes there, from its own working directory */
	if (out[0] != '/') {
		if (!realpath(".", abs) || strlen(abs) + 1 + strlen(out) >= sizeof(abs)) {
			fprintf(stderr, "autotunnel: authority: cannot make %s absolute\n", out);
			return CMD_USAGE;
		}
		strcat(abs, "/");
		strcat(abs, out);
		out = abs;
	}
	{
		const uint8_t f[] = { AGENT_CTL_F_HOST, AGENT_CTL_F_OUT, AGENT_CTL_F_PKINIT, AGENT_CTL_F_PRINCIPAL };
		const char *const v[] = { name, out, pkinit, principal };

		return call(AGENT_CTL_ISSUE, sock, json, f, v, 4);
	}
}
