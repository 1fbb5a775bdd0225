#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

static const char *log_prog = "autotunnel";
static enum log_level log_lvl = LOG_LEVEL_INFO;
static bool log_syslog;
static bool log_journal;	/* stderr is the journal's stream: "<N>message" lines */

/* A decimal number up to @p stop (not consumed past it); NULL when there is none. */
static const char *parse_dec(const char *s, char stop, unsigned long long *v)
{
	unsigned long long n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (~0ULL - 9) / 10)
			return NULL;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (p == s || *p != stop)
		return NULL;
	*v = n;
	return p;
}

/*
 * systemd.exec(5): JOURNAL_STREAM is "DEV:INO" (decimal) of the stream that
 * systemd connected stdout/stderr to. It is inherited, so it only counts
 * while stderr is still that very stream (not redirected by a script).
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM"), *p;
	unsigned long long dev, ino;
	struct stat st;

	if (!e || !(p = parse_dec(e, ':', &dev)) || !parse_dec(p + 1, '\0', &ino))
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, enum log_level level, bool use_syslog)
{
	log_prog = progname;
	log_lvl = level;
	log_syslog = use_syslog;
	log_journal = !use_syslog && stderr_is_journal();
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(enum log_level level) { log_lvl = level; }
enum log_level log_getlevel(void) { return log_lvl; }

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

__attribute__((format(printf, 3, 0)))
static void vlog(enum log_level level, const char *err, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];

	if (level > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (err)
			syslog(prio[level], "%s: %s", msg, err);
		else
			syslog(prio[level], "%s", msg);
		return;
	}
	if (log_journal) {
		/* sd-daemon(3): the prefix holds for one line, so each line gets its own */
		char line[1200];
		const char *p = line;

		if (err)
			snprintf(line, sizeof(line), "%s: %s", msg, err);
		else
			snprintf(line, sizeof(line), "%s", msg);
		do {
			size_t n = strcspn(p, "\n");

			fprintf(stderr, "<%d>%.*s\n", prio[level], (int)n, p);
			p += n;
		} while (*p++ == '\n' && *p);
		fflush(stderr);
		return;
	}
	if (err)
		fprintf(stderr, "%s: %s: %s\n", log_prog, msg, err);
	else
		fprintf(stderr, "%s: %s\n", log_prog, msg);
	fflush(stderr);
}

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, err, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, level)				\
void name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	vlog(level, NULL, fmt, ap);			\
	va_end(ap);					\
}
LOG_FN(log_warnx, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)rl->burst * 1000, t;

	if (!rl->primed) {
		rl->primed = true;
		rl->tokens_milli = (uint32_t)cap;
		rl->last_ms = now_ms;
	}
	if (now_ms > rl->last_ms) {
		t = rl->tokens_milli + (now_ms - rl->last_ms) * rl->per_sec;
		rl->tokens_milli = (uint32_t)(t > cap ? cap : t);
		rl->last_ms = now_ms;
	}
	if (rl->tokens_milli < 1000) {
		rl->suppressed++;
		return false;
	}
	rl->tokens_milli -= 1000;
	return true;
}

void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_lvl || !log_ratelimit_allow(rl, clock_now_ms()))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rl->suppressed) {
		uint32_t n = rl->suppressed;

		rl->suppressed = 0;
		switch (level) {
		case LOG_LEVEL_ERR:
		case LOG_LEVEL_WARN: log_warnx("%s (%u similar suppressed)", msg, n); break;
		case LOG_LEVEL_INFO: log_info("%s (%u similar suppressed)", msg, n); break;
		case LOG_LEVEL_DEBUG: log_debug("%s (%u similar suppressed)", msg, n); break;
		}
		return;
	}
	switch (level) {
	case LOG_LEVEL_ERR:
	case LOG_LEVEL_WARN: log_warnx("%s", msg); break;
	case LOG_LEVEL_INFO: log_info("%s", msg); break;
	case LOG_LEVEL_DEBUG: log_debug("%s", msg); break;
	}
}
