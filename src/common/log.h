/*
 * Logging for the daemons and tools: to stderr (foreground) or syslog.
 * Every message carries the program name. log_warn appends strerror(errno).
 *
 * When stderr is the journal's stream (systemd.exec(5): JOURNAL_STREAM
 * names its device and inode, and stderr still is that stream), each line
 * is "<N>message" instead, N its syslog priority (sd-daemon(3): 3 err,
 * 4 warning, 6 info, 7 debug), with no program name: the journal records
 * it, and `journalctl -p warning` selects by N. Checked at log_init().
 */
#ifndef AT_COMMON_LOG_H
#define AT_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/** @p progname is borrowed and must outlive logging. Reads JOURNAL_STREAM and fstat()s stderr. */
void log_init(const char *progname, enum log_level level, bool use_syslog);
void log_setlevel(enum log_level level);
enum log_level log_getlevel(void);
/** Parse "err", "warn", "info", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out) __attribute__((warn_unused_result));

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A token bucket for messages triggered by remote input: at most `burst`
 * messages, refilled at `per_sec` a second; suppressed messages are counted
 * and reported with the next one that passes.
 */
struct log_ratelimit {
	uint32_t per_sec, burst;
	uint64_t last_ms;
	uint32_t tokens_milli;	/* tokens * 1000 */
	uint32_t suppressed;
	bool primed;
};

#define LOG_RATELIMIT_INIT(per_sec_, burst_) { .per_sec = (per_sec_), .burst = (burst_) }

/** Log at @p level through @p rl (borrowed; owned by the caller's thread). */
void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Rate-limited debug line with a per-call-site limit of 10/s, burst 20. */
#define log_debug_rl(...) do {						\
	static struct log_ratelimit rl_ = LOG_RATELIMIT_INIT(10, 20);	\
	log_ratelimited(&rl_, LOG_LEVEL_DEBUG, __VA_ARGS__);		\
} while (0)

/** Decide whether a message may pass now (@p now_ms on the monotonic clock); exposed for tests. */
bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms);

#endif
