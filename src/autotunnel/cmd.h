/* The autotunnel CLI's subcommands: each is `int cmd_NAME(int argc, char **argv)`, argv[0] = NAME. */
#ifndef AT_AUTOTUNNEL_CMD_H
#define AT_AUTOTUNNEL_CMD_H

/* Exit codes of every subcommand */
#define CMD_OK		0
#define CMD_FAIL	1	/* it ran and did not succeed */
#define CMD_USAGE	2	/* bad command line */

int cmd_portmap(int argc, char **argv);
void cmd_portmap_usage(void);

/* talking to autotunneld over its control socket (ctlclient.c) */
int cmd_status(int argc, char **argv);
void cmd_status_usage(void);
int cmd_hosts(int argc, char **argv);
void cmd_hosts_usage(void);
int cmd_ping(int argc, char **argv);
void cmd_ping_usage(void);
int cmd_netcheck(int argc, char **argv);
void cmd_netcheck_usage(void);
int cmd_login(int argc, char **argv);
void cmd_login_usage(void);
int cmd_logout(int argc, char **argv);
void cmd_logout_usage(void);
int cmd_services(int argc, char **argv);
void cmd_services_usage(void);
/* the account authority (authority.c) */
int cmd_approve(int argc, char **argv);
void cmd_approve_usage(void);
int cmd_revoke(int argc, char **argv);
void cmd_revoke_usage(void);
int cmd_authority(int argc, char **argv);
int cmd_renew(int argc, char **argv);
void cmd_renew_usage(void);
void cmd_authority_usage(void);

#endif
