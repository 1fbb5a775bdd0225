/*
 * autotunnel-gwd: a NAT-PMP and PCP gateway for a Linux router.
 *
 *   autotunnel-gwd [-c FILE] [--option VALUE ...]            run in the foreground
 *   autotunnel-gwd [-c FILE] [--option VALUE ...] status     list the live mappings
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/control.h"
#include "autotunnel-gwd/gwd.h"
#include "autotunnel-gwd/settings.h"
#include "common/log.h"
#include "common/version.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: autotunnel-gwd [-c FILE] [options]          run the gateway (foreground)\n"
		"       autotunnel-gwd [-c FILE] [options] status   list the live mappings\n"
		"\n"
		"  autotunnel-gwd --wan IFACE --lan IFACE   is enough for a working gateway.\n"
		"\noptions (each also a key of the INI file, in the section shown):\n");
	conf_usage(&gwd_settings_schema, fp);
}

static int cmd_status(const struct gwd_settings *s)
{
	int rc = gwd_control_query_status(gwd_settings_control_path(s), stdout);

	if (rc) {
		fprintf(stderr, "autotunnel-gwd: cannot reach the daemon at %s: %s%s\n",
			gwd_settings_control_path(s), strerror(-rc),
			rc == -ENOENT || rc == -ECONNREFUSED ? " (is it running?)" : "");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gwd_settings s;
	enum log_level level = LOG_LEVEL_INFO;
	const char *cmd = NULL;
	char err[320];
	int next = argc, rc;

	if (version_arg_handle(argc, argv, "autotunnel-gwd"))
		return 0;
	gwd_settings_defaults(&s);
	rc = conf_parse_args(&gwd_settings_schema, &s, argc, argv, &next, err, sizeof(err));
	if (rc == 0 && next < argc) {
		/* options may follow the command too: "status --state-dir DIR" */
		int base = next, more = 0;

		cmd = argv[base];
		rc = conf_parse_args(&gwd_settings_schema, &s, argc - base, argv + base, &more,
				     err, sizeof(err));
		if (rc == 0 && base + more < argc) {
			snprintf(err, sizeof(err), "unexpected argument '%s'", argv[base + more]);
			rc = -EINVAL;
		}
	}
	if (rc == -EAGAIN) {
		usage(stdout);
		gwd_settings_free(&s);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "autotunnel-gwd: %s\n", err);
		gwd_settings_free(&s);
		return 2;
	}
	if (cmd && strcmp(cmd, "status") != 0) {
		fprintf(stderr, "autotunnel-gwd: unknown command '%s' (try: status, --help)\n", cmd);
		gwd_settings_free(&s);
		return 2;
	}
	rc = gwd_settings_check(&s, cmd == NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "autotunnel-gwd: %s\n", err);
		gwd_settings_free(&s);
		return 2;
	}
	if (cmd) {
		rc = cmd_status(&s);
		gwd_settings_free(&s);
		return rc;
	}
	if (s.log_level && log_level_parse(s.log_level, &level))
		level = LOG_LEVEL_INFO;
	log_init("autotunnel-gwd", level, s.syslog);
	rc = gwd_run(&s);
	gwd_settings_free(&s);
	return rc;
}
