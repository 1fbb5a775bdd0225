/*
 * autotunnel: the command-line tool. A table of subcommands, so each new
 * one (status, login, hosts, ...) is one line here and one file beside it.
 */
#include <stdio.h>
#include <string.h>

#include "autotunnel/cmd.h"
#include "common/log.h"
#include "common/version.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(void);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "login", cmd_login, cmd_login_usage, "sign this host in to an account at a rendezvous server" },
	{ "logout", cmd_logout, cmd_logout_usage, "withdraw this host from its account and forget the keys" },
	{ "services", cmd_services, cmd_services_usage, "the services the hosts of the account offer (DNS-SD)" },
	{ "status", cmd_status, cmd_status_usage, "the account, this host and the tunnels to its peers" },
	{ "hosts", cmd_hosts, cmd_hosts_usage, "the hosts of the account, their names and addresses" },
	{ "ping", cmd_ping, cmd_ping_usage, "echo requests through the tunnel to a host of the account" },
	{ "netcheck", cmd_netcheck, cmd_netcheck_usage,
	  "what this network allows: NAT, port mapping, the rendezvous server over TLS" },
	{ "portmap", cmd_portmap, cmd_portmap_usage,
	  "map a port on the gateway (PCP, NAT-PMP or UPnP IGD) and report it" },
	{ "approve", cmd_approve, cmd_approve_usage, "admit the computer that shows a join code (on a signer)" },
	{ "revoke", cmd_revoke, cmd_revoke_usage, "revoke a host of the account (on a signer)" },
	{ "renew", cmd_renew, cmd_renew_usage, "renew this host's certificate from the account authority now" },
	{ "authority", cmd_authority, cmd_authority_usage,
	  "issue a certificate for a guest or the local KDC (on a signer)" },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *fp)
{
	fprintf(fp, "usage: autotunnel COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(fp, "\n`autotunnel help COMMAND` or `autotunnel COMMAND --help` for its options;\n"
		"`autotunnel --version` for the version.\n");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct subcommand *sc;

	if (version_arg_handle(argc, argv, "autotunnel"))
		return CMD_OK;
	log_init("autotunnel", LOG_LEVEL_WARN, false);
	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && (sc = find(argv[2])) != NULL) {
			sc->usage();
			return CMD_OK;
		}
		usage(stdout);
		return CMD_OK;
	}
	sc = find(argv[1]);
	if (!sc) {
		fprintf(stderr, "autotunnel: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return CMD_USAGE;
	}
	return sc->run(argc - 1, argv + 1);
}
