/* `autotunnel logout`: withdraw this host's records and forget the account's keys. */
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_logout_usage(void)
{
	printf("usage: autotunnel logout [--json] [--socket PATH]\n"
	       "\n"
	       "Sign this host out of its account: its records are withdrawn from the\n"
	       "rendezvous server (peers see it leave at once), its tunnels close, and the\n"
	       "agent forgets the account's keys (its state file is removed).\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_logout(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_LOGOUT, cmd_logout_usage, NULL);
}
