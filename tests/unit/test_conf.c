/* src/common/conf: INI and command-line settings with precise errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/conf.h"

struct settings {
	char *zone;
	int port;
	bool daemon;
	int peers;
	char *last_peer;
};

static int peer_section(void *arg, const char *section, const char *key, const char *value,
			char *err, size_t errlen)
{
	struct settings *st = arg;

	if (strncmp(section, "peer ", 5) != 0) {
		snprintf(err, errlen, "unknown section [%s]", section);
		return -EINVAL;
	}
	if (strcmp(key, "address") != 0) {
		snprintf(err, errlen, "unknown key '%s' in section [%s]", key, section);
		return -EINVAL;
	}
	st->peers++;
	free(st->last_peer);
	st->last_peer = strdup(value);
	return 0;
}

static struct settings st;
static const struct conf_item items[] = {
	{ "server", "zone", CONF_STRING, offsetof(struct settings, zone), 0, 0, "zone served" },
	{ "server", "port", CONF_INT, offsetof(struct settings, port), 1, 65535, "UDP/TCP port" },
	{ "server", "daemon", CONF_BOOL, offsetof(struct settings, daemon), 0, 0, "detach" },
};
static const struct conf_schema schema = { items, 3, peer_section, &st };

static int reset(void **state)
{
	conf_free(&schema, &st);
	free(st.last_peer);
	memset(&st, 0, sizeof(st));
	return 0;
}

static void loads_values(void **state)
{
	char err[256] = "";
	const char *text = "; comment\n[server]\nzone = members.example.net\nport = 5353\n"
			   "daemon = yes\n[peer desktop]\naddress = 198.51.100.7\n";

	assert_int_equal(conf_load_string(&schema, &st, "t.conf", text, err, sizeof(err)), 0);
	assert_string_equal(st.zone, "members.example.net");
	assert_int_equal(st.port, 5353);
	assert_true(st.daemon);
	assert_int_equal(st.peers, 1);
	assert_string_equal(st.last_peer, "198.51.100.7");
}

static void int_bounds(void **state)
{
	char err[256];

	assert_int_equal(conf_load_string(&schema, &st, "t", "[server]\nport = 65535\n", err, sizeof(err)), 0);
	assert_int_equal(st.port, 65535);
	assert_int_equal(conf_load_string(&schema, &st, "t", "[server]\nport = 1\n", err, sizeof(err)), 0);
	assert_int_equal(conf_load_string(&schema, &st, "t", "[server]\nport = 65536\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t:2: 'port' must be an integer in 1..65535, not '65536'");
	assert_int_equal(conf_load_string(&schema, &st, "t", "[server]\n\nport = 0\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t:3: 'port' must be an integer in 1..65535, not '0'");
	assert_int_equal(conf_load_string(&schema, &st, "t", "[server]\nport = 12x\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(st.port, 1);	/* a rejected value leaves the old one */
}

static void precise_errors(void **state)
{
	char err[256];

	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server]\nzonee = x\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:2: unknown key 'zonee' in section [server]");
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[sever]\nzone = x\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:2: unknown section [sever]");
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server]\ndaemon = maybe\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:2: 'daemon' must be yes or no, not 'maybe'");
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:1: missing ']' in the section header '[server'");
	/* inih would take the key for one of the section before: nothing is applied */
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server]\nport = 7\n  [peer x \naddress = 1\n",
					  err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:3: missing ']' in the section header '[peer x'");
	assert_int_equal(st.port, 0);
	assert_int_equal(st.peers, 0);
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "port\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:1: syntax error (expected [section] or key = value)");
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server]\nport = 1\n[peer x]\nadress = 1\n",
					  err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:4: unknown key 'adress' in section [peer x]");
	/* only the first error is reported */
	assert_int_equal(conf_load_string(&schema, &st, "a.conf", "[server]\nport = -1\nzonee = 2\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:2: 'port' must be an integer in 1..65535, not '-1'");
}

static bool peer_only(const char *section)
{
	return strncmp(section, "peer ", 5) == 0;
}

/* With section_ok, a section nobody reads is an error on its header's line, even empty. */
static void unknown_sections(void **state)
{
	static const struct conf_schema strict = { items, 3, peer_section, &st, peer_only, NULL };
	static const struct conf_schema plain = { items, 3, NULL, NULL, NULL, NULL };
	char err[256];

	assert_int_equal(conf_load_string(&strict, &st, "b.conf", "[server]\nport = 2\n[sever]\n", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "b.conf:3: unknown section [sever]");
	assert_int_equal(st.port, 0);	/* checked before anything is set */
	assert_int_equal(conf_load_string(&strict, &st, "b.conf", "; [x]\n# [y]\n[peer a]\naddress = 1\n[server]\n",
					  err, sizeof(err)), 0);
	assert_int_equal(st.peers, 1);
	/* with other but no section_ok, an empty unknown section passes (other checks keys) */
	assert_int_equal(conf_load_string(&schema, &st, "b.conf", "[sever]\n", err, sizeof(err)), 0);
	/* with neither, only the schema's sections exist */
	assert_int_equal(conf_load_string(&plain, &st, "c.conf", "[server]\n\n[sever]\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "c.conf:3: unknown section [sever]");
	assert_int_equal(conf_load_string(&plain, &st, "c.conf", "[server]\nport = 3\n", err, sizeof(err)), 0);
	assert_int_equal(st.port, 3);
}

/* The default file is read when -c is not given, and only then; a missing one is fine. */
static void default_file(void **state)
{
	char err[256], path[] = "/tmp/test_conf_XXXXXX", other[] = "/tmp/test_conf_XXXXXX";
	int fd = mkstemp(path), fd2 = mkstemp(other), next = 0;
	const char *text = "[server]\nzone = default.example\nport = 53\n";
	const char *text2 = "[server]\nzone = given.example\n";
	struct conf_schema s = schema;
	char *a1[] = { "prog", "--port", "5353", NULL };
	char *a2[] = { "prog", "-c", other, NULL };

	assert_true(fd >= 0 && fd2 >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	assert_int_equal(write(fd2, text2, strlen(text2)), (int)strlen(text2));
	close(fd);
	close(fd2);
	s.default_file = path;
	assert_int_equal(conf_parse_args(&s, &st, 3, a1, &next, err, sizeof(err)), 0);
	assert_string_equal(st.zone, "default.example");
	assert_int_equal(st.port, 5353);
	reset(NULL);
	assert_int_equal(conf_parse_args(&s, &st, 3, a2, &next, err, sizeof(err)), 0);
	unlink(other);
	assert_string_equal(st.zone, "given.example");
	assert_int_equal(st.port, 0);	/* the default file was not read */
	reset(NULL);
	s.default_file = "/nonexistent/default.conf";
	assert_int_equal(conf_parse_args(&s, &st, 3, a1, &next, err, sizeof(err)), 0);
	assert_null(st.zone);
	/* a default file with a mistake is an error like any other */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[server\n", 8), 8);
	close(fd);
	s.default_file = path;
	assert_int_equal(conf_parse_args(&s, &st, 3, a1, &next, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_non_null(strstr(err, ":1: missing ']' in the section header '[server'"));
}

static void missing_file(void **state)
{
	char err[256];

	assert_int_equal(conf_load_file(&schema, &st, "/nonexistent/x.conf", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/x.conf: No such file or directory");
}

static void command_line_wins(void **state)
{
	char err[256], path[] = "/tmp/test_conf_XXXXXX";
	int fd = mkstemp(path), next = 0;
	const char *text = "[server]\nzone = file.example\nport = 53\n";
	char *argv[] = { "prog", "--port", "5353", "-c", path, "--no-daemon", "--zone=cli.example",
			 "account", "add", NULL };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	st.daemon = true;
	assert_int_equal(conf_parse_args(&schema, &st, 9, argv, &next, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(st.port, 5353);	/* given before -c, still wins over the file */
	assert_string_equal(st.zone, "cli.example");
	assert_false(st.daemon);
	assert_int_equal(next, 7);
	assert_string_equal(argv[next], "account");
}

static void command_line_errors(void **state)
{
	char err[256];
	int next;
	char *a1[] = { "prog", "--prot", "1" };
	char *a2[] = { "prog", "--port" };
	char *a3[] = { "prog", "--port", "70000" };
	char *a4[] = { "prog", "--help" };
	char *a5[] = { "prog", "--no-port" };

	assert_int_equal(conf_parse_args(&schema, &st, 3, a1, &next, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--prot: unknown option");
	assert_int_equal(conf_parse_args(&schema, &st, 2, a2, &next, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--port: needs a value");
	assert_int_equal(conf_parse_args(&schema, &st, 3, a3, &next, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--port: 'port' must be an integer in 1..65535, not '70000'");
	assert_int_equal(conf_parse_args(&schema, &st, 2, a4, &next, err, sizeof(err)), -EAGAIN);
	assert_int_equal(conf_parse_args(&schema, &st, 2, a5, &next, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--no-port: unknown option");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loads_values, reset, reset),
		cmocka_unit_test_setup_teardown(int_bounds, reset, reset),
		cmocka_unit_test_setup_teardown(precise_errors, reset, reset),
		cmocka_unit_test_setup_teardown(missing_file, reset, reset),
		cmocka_unit_test_setup_teardown(unknown_sections, reset, reset),
		cmocka_unit_test_setup_teardown(default_file, reset, reset),
		cmocka_unit_test_setup_teardown(command_line_wins, reset, reset),
		cmocka_unit_test_setup_teardown(command_line_errors, reset, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
