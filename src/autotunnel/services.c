/* `autotunnel services`: the services the hosts of the account offer (wide-area DNS-SD, RFC 6763). */
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_services_usage(void)
{
	printf("usage: autotunnel services [--json] [--socket PATH]\n"
	       "\n"
	       "Browse the services the hosts of the account offer (ssh, smb, screen sharing...),\n"
	       "as they registered them in the rendezvous server with DNS-SD (PTR, SRV and TXT\n"
	       "records): instance, type, host and port. Connect to HOST by its name: it\n"
	       "resolves to the host's address inside the tunnel.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_services(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_SERVICES, cmd_services_usage, NULL);
}
