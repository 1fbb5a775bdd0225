/*
 * src/common/log: level parsing, the rate limiter's token bucket, and the
 * lines written to stderr: "prog: message", or "<N>message" when stderr is
 * the journal's stream (JOURNAL_STREAM).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

static void levels(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("WARN", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
}

static void ratelimit_burst_then_refill(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(2, 3);
	uint64_t t = 1000;

	/* exactly the burst passes at once, the next is suppressed */
	for (int i = 0; i < 3; i++)
		assert_true(log_ratelimit_allow(&rl, t));
	assert_false(log_ratelimit_allow(&rl, t));
	assert_int_equal(rl.suppressed, 1);
	/* 2 per second: 499 ms is not enough for one token, 500 ms is */
	assert_false(log_ratelimit_allow(&rl, t + 499));
	assert_true(log_ratelimit_allow(&rl, t + 500));
	assert_false(log_ratelimit_allow(&rl, t + 500));
	/* a long pause refills to the burst and no further */
	t += 100000;
	for (int i = 0; i < 3; i++)
		assert_true(log_ratelimit_allow(&rl, t));
	assert_false(log_ratelimit_allow(&rl, t));
}

enum js { JS_TEXT, JS_THIS, JS_OTHER };

/*
 * What the log calls below write on a stderr that is a fresh file, with
 * JOURNAL_STREAM the text @p env (NULL: unset), or the DEV:INO of that file
 * (JS_THIS), or of another file (JS_OTHER: stderr redirected since).
 */
static void stderr_bytes(enum js how, const char *env, char *out, size_t cap)
{
	FILE *f = tmpfile(), *g = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct stat st;
	char js[64];
	ssize_t n;

	assert_non_null(f);
	assert_non_null(g);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(fstat(how == JS_OTHER ? fileno(g) : STDERR_FILENO, &st), 0);
	if (how != JS_TEXT) {
		snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		env = js;
	}
	if (env)
		assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	else
		assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
	log_init("test-log", LOG_LEVEL_INFO, false);
	log_warnx("peer %s is gone", "desktop");
	errno = ENOENT;
	log_warn("cannot open %s", "/x");
	log_info("two\nlines");
	log_debug("not at level info");
	log_setlevel(LOG_LEVEL_DEBUG);
	log_debug("at level debug");

	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init("test-log", LOG_LEVEL_INFO, false);
	n = pread(fileno(f), out, cap - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	fclose(f);
	fclose(g);
}

/* issue 15: journald's priorities (sd-daemon(3)), no program name: the journal has it */
static void journal_stream_lines(void **state)
{
	char out[1024];

	stderr_bytes(JS_THIS, NULL, out, sizeof(out));
	assert_string_equal(out,
			    "<4>peer desktop is gone\n"
			    "<4>cannot open /x: No such file or directory\n"
			    "<6>two\n"
			    "<6>lines\n"
			    "<7>at level debug\n");
	(void)state;
}

/* anywhere else (a terminal, a file, a pipe; another stream's JOURNAL_STREAM): as before */
static void plain_stderr_lines(void **state)
{
	static const char plain[] =
		"test-log: peer desktop is gone\n"
		"test-log: cannot open /x: No such file or directory\n"
		"test-log: two\nlines\n"
		"test-log: at level debug\n";
	static const char *const not_dev_ino[] = { "", "12345", ":1", "1:", "1:2x", "-1:2", "1: 2",
						   "99999999999999999999999:1" };
	char out[1024];

	stderr_bytes(JS_TEXT, NULL, out, sizeof(out));
	assert_string_equal(out, plain);
	/* inherited from a unit, but stderr was redirected since: another inode */
	stderr_bytes(JS_OTHER, NULL, out, sizeof(out));
	assert_string_equal(out, plain);
	for (size_t i = 0; i < sizeof(not_dev_ino) / sizeof(not_dev_ino[0]); i++) {
		stderr_bytes(JS_TEXT, not_dev_ino[i], out, sizeof(out));
		assert_string_equal(out, plain);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels),
		cmocka_unit_test(ratelimit_burst_then_refill),
		cmocka_unit_test(journal_stream_lines),
		cmocka_unit_test(plain_stderr_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
