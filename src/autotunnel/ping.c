/*
 * `autotunnel ping HOST`: echo requests through the tunnel to a peer's ULA
 * (sent by the agent, so the tunnel is made on demand if it is not up).
 */
#include <getopt.h>
#include <stdio.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

void cmd_ping_usage(void)
{
	printf("usage: autotunnel ping HOST [--json] [--socket PATH]\n"
	       "\n"
	       "Send three ICMPv6 echo requests through the tunnel to HOST (a name from\n"
	       "`autotunnel hosts`, short or full) and report the replies and the shortest\n"
	       "round trip. The tunnel is made on demand if it is not up. Exits 1 when no\n"
	       "reply came back.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_ping(int argc, char **argv)
{
	static uint8_t req[1024];
	const char *sock;
	struct agent_ctl_writer w;
	struct agent_ctl_msg *reply;
	bool json;
	int len, rc;

	if (!ctl_opts_parse(argc, argv, 1, cmd_ping_usage, &sock, &json, &rc))
		return rc;
	agent_ctl_write_begin(&w, req, sizeof(req), AGENT_CTL_PING);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&w, AGENT_CTL_F_HOST, argv[optind]);
	if ((len = agent_ctl_write_end(&w)) < 0) {
		fprintf(stderr, "autotunnel: '%s' is not a host name\n", argv[optind]);
		return CMD_USAGE;
	}
	if (!(reply = agent_ctl_msg_new()))
		return CMD_FAIL;
	rc = ctl_call(ctl_socket_path(sock), req, (size_t)len, reply, 15000) ? CMD_FAIL : ctl_print(reply, json);
	if (rc == CMD_OK && reply->code == (AGENT_CTL_REPLY | AGENT_CTL_PING)) {
		const struct agent_ctl_rec *r = agent_ctl_find(reply, AGENT_CTL_R_PING, 0);
		uint32_t got = 0;

		if (!agent_ctl_uint(reply, r, AGENT_CTL_F_RECEIVED, &got) || got == 0)
			rc = CMD_FAIL;
	}
	agent_ctl_msg_free(reply);
	return rc;
}
