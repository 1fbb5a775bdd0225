/* The autotunnel CLI's subcommands: each is `int cmd_NAME(int argc, char **argv)`, argv[0] = NAME. */
#ifndef AT_AUTOTUNNEL_CMD_H
#define AT_AUTOTUNNEL_CMD_H

/* Exit codes of every subcommand */
#define CMD_OK		0
#define CMD_FAIL	1	/* it ran and did not succeed */
#define CMD_USAGE	2	/* bad command line */

int cmd_portmap(int argc, char **argv);
void cmd_portmap_usage(void);

#endif
