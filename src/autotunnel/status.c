/*
 * `autotunnel status`: the account, this host (its ULA and how peers reach
 * it) and each peer's tunnel, as docs/design.md §1 shows them; --json for scripts.
 */
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_status_usage(void)
{
	printf("usage: autotunnel status [--json] [--socket PATH]\n"
	       "\n"
	       "Show the account this host is signed in to, this host (its address inside the\n"
	       "tunnels, and how peers reach it: a public address, a port mapping on the NAT,\n"
	       "or only outbound), and every peer with the state of its tunnel.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_status(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_STATUS, cmd_status_usage, NULL);
}
