/*
 * `autotunnel netcheck`: what this network allows: the primary address,
 * whether there is a NAT (or two), which port-mapping protocol worked and
 * the external address and port, whether the rendezvous server answers
 * over TLS, and what the account's STUN server sees of the tunnel socket:
 * the reflexive address and the NAT's mapping and filtering behaviour
 * (RFC 5780), said in plain words.
 */
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_netcheck_usage(void)
{
	printf("usage: autotunnel netcheck [--json] [--socket PATH]\n"
	       "\n"
	       "Report the primary network (interface, address, gateway), whether this host is\n"
	       "behind a NAT, which port-mapping protocol the gateway answered (PCP, NAT-PMP or\n"
	       "UPnP IGD) with which external address and port, and whether the rendezvous\n"
	       "server is reachable over TLS. A NAT behind a NAT (double NAT) and a network\n"
	       "without port mapping are said plainly: peers then cannot start tunnels to this\n"
	       "host, only this host to them. Signed in, the agent also asks the account's\n"
	       "STUN server (_stun._udp SRV) from its tunnel socket (UDP 4500): whether it\n"
	       "answers over UDP, this host's reflexive address and port, and the NAT's\n"
	       "mapping and filtering behaviour in RFC 5780's words, with what they mean for\n"
	       "peers reaching this host. Exits 1 when signed in and the rendezvous\n"
	       "server is not reachable.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

/* Signed in and the server does not answer over TLS: the check failed (exit 1), whatever the NAT says. */
static int verdict(const struct agent_ctl_msg *reply)
{
	const struct agent_ctl_rec *r = agent_ctl_find(reply, AGENT_CTL_R_NET, 0);
	bool tls = false;

	if (agent_ctl_str(reply, r, AGENT_CTL_F_SERVER) &&
	    !(agent_ctl_bool(reply, r, AGENT_CTL_F_SERVER_TLS, &tls) && tls))
		return CMD_FAIL;
	return CMD_OK;
}

int cmd_netcheck(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_NETCHECK, cmd_netcheck_usage, verdict);
}
