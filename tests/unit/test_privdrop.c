/*
 * src/common/privdrop: capability names, and (as root, in a child process)
 * the drop itself, read back from /proc/self/status.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/privdrop.h"

static void test_caps_parse(void **state)
{
	uint64_t c = 1;

	assert_int_equal(privdrop_caps_parse("net_admin,CAP_NET_RAW, Net_Bind_Service", &c), 0);
	assert_int_equal(c, UINT64_C(0x3400));
	assert_int_equal(c, PRIVDROP_CAP(CAP_NET_ADMIN) | PRIVDROP_CAP(CAP_NET_RAW) |
				    PRIVDROP_CAP(CAP_NET_BIND_SERVICE));
	assert_int_equal(privdrop_caps_parse("none", &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(privdrop_caps_parse("", &c), 0);
	assert_int_equal(c, 0);
	/* the first and the last capability(7) names */
	assert_int_equal(privdrop_caps_parse("chown,checkpoint_restore", &c), 0);
	assert_int_equal(c, PRIVDROP_CAP(0) | PRIVDROP_CAP(40));
	assert_int_equal(privdrop_caps_parse("net_admin,net_rawx", &c), -EINVAL);
	assert_int_equal(c, 0);
	assert_int_equal(privdrop_caps_parse("net_admi", &c), -EINVAL);
	assert_int_equal(privdrop_caps_parse("cap_", &c), -EINVAL);
}

static void test_caps_format(void **state)
{
	char buf[64];

	assert_int_equal(privdrop_caps_format(0x3400, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "net_bind_service,net_admin,net_raw");
	assert_int_equal(privdrop_caps_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "none");
	assert_int_equal(privdrop_caps_format(PRIVDROP_CAP(41), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "41");
	/* "net_raw" needs 8 bytes: 7 is one short */
	assert_int_equal(privdrop_caps_format(PRIVDROP_CAP(CAP_NET_RAW), buf, 8), 0);
	assert_int_equal(privdrop_caps_format(PRIVDROP_CAP(CAP_NET_RAW), buf, 7), -ENOSPC);
}

static void test_user_lookup(void **state)
{
	uid_t uid = 1;
	gid_t gid = 1;

	assert_int_equal(privdrop_user_lookup("root", &uid, &gid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_int_equal(privdrop_user_lookup("no-such-user-autotunnel", &uid, &gid), -ENOENT);
}

/* The hexadecimal value of "Key:" in /proc/self/status (or decimal ids' first). */
static unsigned long long status_field(const char *key, int base)
{
	char line[256];
	size_t n = strlen(key);
	unsigned long long v = ~0ULL;
	FILE *fp = fopen("/proc/self/status", "r");

	if (!fp)
		return v;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(fp);
	return v;
}

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "child: %s\n", #cond); _exit(1); } } while (0)

static void *idle(void *arg)
{
	pause();
	return arg;
}

static void test_apply(void **state)
{
	char dir[] = "/tmp/privdrop.XXXXXX", path[64], outside[64], planted[64];
	uid_t nobody;
	gid_t nogroup;
	int status;
	pid_t pid;

	if (geteuid() != 0 || privdrop_user_lookup("nobody", &nobody, &nogroup)) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	snprintf(outside, sizeof(outside), "%s.outside", dir);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(close(open(outside, O_CREAT | O_WRONLY, 0644)), 0);
	/* planted under the prefix: a hard link to a file that is not ours */
	snprintf(planted, sizeof(planted), "%s/db.planted", dir);
	assert_int_equal(link(outside, planted), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privdrop p = {
			.user = "nobody",
			.caps = PRIVDROP_CAP(CAP_NET_RAW) | PRIVDROP_CAP(CAP_NET_ADMIN),
			.landlock = true,
			.rw = { dir },
			.n_rw = 1,
			.ro = { "/proc/self" },	/* status, read below */
			.n_ro = 1,
			.own_dir = dir,
			.own_prefix = "db",
		};
		struct stat st;
		int fd;

		CHECK(privdrop_apply(&p) == 0);
		CHECK(getuid() == nobody && geteuid() == nobody && getgid() == nogroup);
		CHECK(status_field("CapEff", 16) == 0x3000);
		CHECK(status_field("CapPrm", 16) == 0x3000);
		CHECK(status_field("CapBnd", 16) == 0x3000);
		CHECK(status_field("CapInh", 16) == 0);
		CHECK(status_field("CapAmb", 16) == 0);
		CHECK(status_field("NoNewPrivs", 10) == 1);
		/* handed over: the directory held nothing else; not the planted link */
		CHECK(stat(dir, &st) == 0 && st.st_uid == nobody);
		CHECK(stat(path, &st) == 0 && st.st_uid == nobody);
		CHECK(stat(outside, &st) == 0 && st.st_uid == 0);
		fd = open(path, O_RDWR);
		CHECK(fd >= 0);
		close(fd);
		/* mode 0644, so only Landlock can refuse reading it */
		fd = open(outside, O_RDONLY);
		CHECK(privdrop_landlock_abi() < 0 ? fd >= 0 : (fd < 0 && errno == EACCES));
		if (fd >= 0)
			close(fd);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* a second thread would keep every privilege: refused */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privdrop p = { .user = "nobody" };
		pthread_t t;

		CHECK(pthread_create(&t, NULL, idle, NULL) == 0);
		CHECK(privdrop_apply(&p) == -EBUSY);
		CHECK(geteuid() == 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* root bounded without CAP_SETUID (a service manager's bounding set):
	 * stays uid 0, still with only the capabilities asked for */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privdrop p = { .user = "nobody", .caps = PRIVDROP_CAP(CAP_NET_ADMIN) };

		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		const uint32_t ids = (1u << CAP_SETUID) | (1u << CAP_SETGID);

		CHECK(syscall(SYS_capget, &hdr, d) == 0);
		d[0].effective &= ~ids;
		d[0].permitted &= ~ids;
		CHECK(syscall(SYS_capset, &hdr, d) == 0);
		CHECK(prctl(PR_CAPBSET_DROP, CAP_SETUID, 0, 0, 0) == 0);
		CHECK(privdrop_apply(&p) == 0);
		CHECK(getuid() == 0 && geteuid() == 0);
		CHECK(status_field("CapEff", 16) == 0x1000);
		CHECK(status_field("CapPrm", 16) == 0x1000);
		CHECK(status_field("NoNewPrivs", 10) == 1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
	unlink(planted);
	unlink(outside);
	rmdir(dir);
}

/* own_dirs (the agent's run and state directories): every file and the
 * directory go to the user; a socket keeps its owner (who may connect). */
static void test_own_dirs(void **state)
{
	char dir[] = "/tmp/privdrop.XXXXXX", file[64], sub[64];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	uid_t nobody;
	gid_t nogroup;
	int status, s;
	pid_t pid;

	(void)state;
	if (geteuid() != 0 || privdrop_user_lookup("nobody", &nobody, &nogroup)) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/hosts", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", dir);
	assert_int_equal(close(open(file, O_CREAT | O_WRONLY, 0644)), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privdrop p = { .user = "nobody", .own_dirs = { dir }, .n_own_dirs = 1 };

		CHECK(privdrop_apply(&p) == 0);
		CHECK(geteuid() == nobody);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	assert_int_equal(stat(sun.sun_path, &st), 0);
	assert_int_equal(st.st_uid, 0);

	/* a directory holding something not the daemon's (here a directory)
	 * is not handed over; its files are */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chown(file, 0, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privdrop p = { .user = "nobody", .own_dirs = { dir }, .n_own_dirs = 1 };

		CHECK(privdrop_apply(&p) == 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	close(s);
	rmdir(sub);
	unlink(sun.sun_path);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_parse),
		cmocka_unit_test(test_caps_format),
		cmocka_unit_test(test_user_lookup),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_own_dirs),
	};

	log_init("test_privdrop", LOG_LEVEL_WARN, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
