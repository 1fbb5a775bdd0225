/*
 * autotunnel-dnsd: the rendezvous server (docs/design.md §§4-6).
 *
 *   autotunnel-dnsd [options]                  run the server (foreground; --daemon detaches)
 *   autotunnel-dnsd [options] account ...      manage accounts in the database
 *   autotunnel-dnsd [options] stats            counters of the running server
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/version.h"
#include "autotunnel-dnsd/cli.h"
#include "autotunnel-dnsd/server.h"
#include "autotunnel-dnsd/settings.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: autotunnel-dnsd [options]                 run the server\n"
		"       autotunnel-dnsd [options] account add|passwd|del|list|show ...\n"
		"       autotunnel-dnsd [options] stats           counters of the running server\n"
		"       autotunnel-dnsd [options] pin             the TLS pin and the login line for hosts\n"
		"options (each also an INI key of the file given with -c FILE):\n");
	conf_usage(&dnsd_schema, fp);
}

/*
 * Run the server, which drops to an unprivileged user once its ports are
 * bound (settings.h: dnsd_settings_privs). The account and stats commands
 * run as whoever calls them.
 */
static int serve(const struct dnsd_settings *s)
{
	struct dnsd_privs privs;
	const char *tmp = getenv("SQLITE_TMPDIR");

	if (dnsd_settings_privs(s, tmp, &privs)) {
		log_warnx("%s: path too long", s->db);
		return 2;
	}
	/* SQLite's temporary files (large sorts, spilled statement journals)
	 * go where Landlock lets the server write; read at SQLite's first use */
	if (!tmp && setenv("SQLITE_TMPDIR", privs.tmpdir, 1) < 0) {
		log_warn("setenv");
		return 1;
	}
	return server_run(s, &privs.drop);
}

int main(int argc, char *argv[])
{
	struct dnsd_settings s;
	enum log_level level;
	char err[512];
	int next, rc, status;

	if (version_arg_handle(argc, argv, "autotunnel-dnsd"))
		return 0;
	dnsd_settings_default(&s);
	rc = conf_parse_args(&dnsd_schema, &s, argc, argv, &next, err, sizeof(err));
	if (rc == -EAGAIN) {
		usage(stdout);
		dnsd_settings_free(&s);
		return 0;
	}
	if (rc == 0)
		rc = dnsd_settings_finish(&s, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "autotunnel-dnsd: %s\n", err);
		dnsd_settings_free(&s);
		return 2;
	}
	if (log_level_parse(s.log_level, &level)) {
		fprintf(stderr, "autotunnel-dnsd: --log-level: '%s' is not err, warn, info or debug\n",
			s.log_level);
		dnsd_settings_free(&s);
		return 2;
	}
	log_init("autotunnel-dnsd", level, false);

	if (next >= argc || strcmp(argv[next], "serve") == 0) {
		status = serve(&s);
	} else if (strcmp(argv[next], "account") == 0) {
		status = cli_account(&s, argc - next, argv + next);
	} else if (strcmp(argv[next], "stats") == 0 && next + 1 == argc) {
		status = cli_stats(&s);
	} else if (strcmp(argv[next], "pin") == 0 && next + 1 == argc) {
		status = cli_pin(&s);
	} else {
		fprintf(stderr, "autotunnel-dnsd: unknown command '%s'\n", argv[next]);
		usage(stderr);
		status = 2;
	}
	dnsd_settings_free(&s);
	return status;
}
