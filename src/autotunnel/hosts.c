/* `autotunnel hosts`: the hosts of the account, with their names, ULAs and locations. */
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_hosts_usage(void)
{
	printf("usage: autotunnel hosts [--json] [--socket PATH]\n"
	       "\n"
	       "List the hosts of the account as the agent last saw them in the rendezvous\n"
	       "server: name, full name, address inside the tunnels (what `ssh NAME` reaches),\n"
	       "and the outer address and port where its tunnel ends.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_hosts(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_HOSTS, cmd_hosts_usage, NULL);
}
