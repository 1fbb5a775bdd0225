/*
 * Least privilege after start-up (privdrop.h). Raw system calls for
 * capabilities and Landlock: glibc wraps neither, and libcap would be a
 * run-time dependency for four calls.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privdrop.h"

/* Landlock rights newer than some distributions' headers (uapi values) */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* capability(7) numbers 0..40, in order */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
	"lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
	"wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};
#define N_CAP_NAMES (sizeof(cap_names) / sizeof(cap_names[0]))

int privdrop_caps_parse(const char *list, uint64_t *caps)
{
	const char *p = list;

	*caps = 0;
	if (strcasecmp(list, "none") == 0)
		return 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *name = p;
		size_t i;

		while (n && isspace((unsigned char)*name))
			name++, n--;
		while (n && isspace((unsigned char)name[n - 1]))
			n--;
		if (n > 4 && strncasecmp(name, "cap_", 4) == 0)
			name += 4, n -= 4;
		for (i = 0; i < N_CAP_NAMES; i++)
			if (strlen(cap_names[i]) == n && strncasecmp(cap_names[i], name, n) == 0)
				break;
		if (i == N_CAP_NAMES) {
			*caps = 0;
			return -EINVAL;
		}
		*caps |= PRIVDROP_CAP(i);
		p = name + n;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

int privdrop_caps_format(uint64_t caps, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < 64; i++) {
		char num[16];
		const char *name = num;
		int n;

		if (!(caps & PRIVDROP_CAP(i)))
			continue;
		if (i < N_CAP_NAMES)
			name = cap_names[i];
		else
			snprintf(num, sizeof(num), "%u", i);
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	if (used == 0 && snprintf(buf, len, "none") >= (int)len)
		return -ENOSPC;
	return 0;
}

int privdrop_user_lookup(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc)
		return -rc;
	if (!res)
		return -ENOENT;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

int privdrop_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

/* Threads of this process, from /proc/self/task; -errno if unreadable. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool owned_name(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/*
 * Give one entry to the user: a regular file with one name, or a socket
 * (when @p sockets is set; else it keeps its owner).
 * Opened first without following links, then changed through that
 * descriptor, so that a name swapped in between is not what changes; a
 * hard link planted under our prefix to somebody else's file, or a
 * symbolic link, is left alone.
 */
static bool give(int dfd, const char *dir, const char *name, bool sockets, uid_t uid, gid_t gid)
{
	struct stat st;
	bool ours = false;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		log_warn("%s/%s", dir, name);
		return false;
	}
	if (fstat(fd, &st) < 0) {
		log_warn("%s/%s", dir, name);
	} else if (S_ISSOCK(st.st_mode) && !sockets) {
		ours = true;	/* kept: whoever may connect today still may, nobody more */
	} else if ((S_ISREG(st.st_mode) && st.st_nlink == 1) || S_ISSOCK(st.st_mode)) {
		ours = true;
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
			log_warn("chown %s/%s", dir, name);
	} else {
		log_warnx("%s/%s is not a file of the server's own (a link?): left as it is", dir, name);
	}
	close(fd);
	return ours;
}

/*
 * Give the files root made for the daemon to the user it becomes (SQLite
 * opens its WAL and shared-memory files again after start-up; the control
 * socket is removed at exit), and the directory when it holds nothing
 * else (with an empty @p prefix: nothing but plain files and sockets). In
 * a directory others may write, nothing: they could plant names. Sockets
 * are given only when @p sockets is set.
 */
static void hand_over(const char *dir, const char *prefix, bool sockets, uid_t uid, gid_t gid)
{
	struct stat st;
	struct dirent *e;
	bool only_ours = true;
	DIR *d;
	int dfd;

	d = opendir(dir);
	if (!d) {
		log_warn("%s", dir);
		return;
	}
	dfd = dirfd(d);
	if (fstat(dfd, &st) < 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warnx("%s may be written by others: its files stay as they are", dir);
		closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!owned_name(e->d_name, prefix))
			only_ours = false;
		else if (!give(dfd, dir, e->d_name, sockets, uid, gid) && !*prefix)
			only_ours = false;	/* a directory wholly ours holds nothing else */
	}
	if (only_ours) {
		if (fchown(dfd, uid, gid) < 0)
			log_warn("chown %s", dir);
	} else if (st.st_uid != uid) {
		log_warnx("%s holds other files: it stays uid %u's, so after start-up the server cannot "
			  "make or remove files there (give it a directory of its own)",
			  dir, (unsigned)st.st_uid);
	}
	closedir(d);
}

static uint64_t landlock_fs_rights(int abi)
{
	uint64_t r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		     LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		     LANDLOCK_ACCESS_FS_MAKE_SYM;

	/* each ABI version handles more; a right the kernel does not know is EINVAL */
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Add a rule for @p path; a missing path is skipped. 0 or -errno. */
static int landlock_allow(int ruleset, const char *path, uint64_t rights)
{
	const uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
				     LANDLOCK_ACCESS_FS_IOCTL_DEV;
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	/* a rule on a file may grant only what applies to files */
	pb.allowed_access = S_ISDIR(st.st_mode) ? rights : rights & file_rights;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		rc = -errno;
out:
	close(fd);
	return rc;
}

/*
 * A ruleset for @p p: the fd, 0 when the kernel has no Landlock (noted in
 * the log), or -errno.
 */
static int landlock_prepare(const struct privdrop *p, int *abi_out)
{
	const uint64_t ro_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	struct landlock_ruleset_attr attr = { 0 };
	int abi = privdrop_landlock_abi(), fd, rc;

	*abi_out = abi;
	if (abi == -EPERM) {
		/* a system call filter (systemd's @system-service lacks them) */
		log_info("Landlock's system calls are filtered: the filesystem is confined by the "
			 "user's rights and the service manager's sandbox");
		return 0;
	}
	if (abi < 0) {
		log_warnx("this kernel has no Landlock (%s): the filesystem is confined by the "
			  "user's rights only", strerror(-abi));
		return 0;
	}
	attr.handled_access_fs = landlock_fs_rights(abi);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < p->n_rw; i++) {
		rc = landlock_allow(fd, p->rw[i], attr.handled_access_fs);
		if (rc) {
			log_warnx("landlock: %s: %s", p->rw[i], strerror(-rc));
			close(fd);
			return rc;
		}
	}
	for (size_t i = 0; i < p->n_ro; i++) {
		rc = landlock_allow(fd, p->ro[i], ro_rights);
		if (rc) {
			log_warnx("landlock: %s: %s", p->ro[i], strerror(-rc));
			close(fd);
			return rc;
		}
	}
	return fd;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static int caps_set(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps, .inheritable = 0 },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32), .inheritable = 0 },
	};

	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/*
 * Remove from the bounding set what is not kept, so that no execve() can
 * bring it back. That needs CAP_SETPCAP: without it (a service manager
 * already reduced the set) what is left stays, and no_new_privs still
 * blocks every gain.
 */
static int bounding_reduce(uint64_t keep, bool have_setpcap)
{
	for (int c = 0; c < 64; c++) {
		int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (r < 0)
			break;	/* past the kernel's last capability */
		if (r == 0 || (keep & PRIVDROP_CAP(c)))
			continue;
		if (!have_setpcap) {
			log_debug("bounding set keeps capability %d: no CAP_SETPCAP", c);
			continue;
		}
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int switch_user(const char *name, uid_t uid, gid_t gid)
{
	uid_t r, e, s;

	/* keep the permitted set across setuid(); capset() below trims it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		int rc = -errno;

		log_warn("cannot become %s (uid %u, gid %u)", name, (unsigned)uid, (unsigned)gid);
		return rc;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	/* no way back: all three ids are the user's */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
		return -EPERM;
	return 0;
}

int privdrop_apply(const struct privdrop *p)
{
	struct __user_cap_data_struct have[2];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	bool do_switch = false;
	char capbuf[256] = "?", userbuf[64];
	int ruleset = 0, abi = -ENOSYS, n, rc;

	n = thread_count();
	if (n > 1) {
		log_warnx("privileges must be dropped before the second thread starts (%d threads)", n);
		return -EBUSY;
	}
	if (p->user) {
		uid_t want_uid;
		gid_t want_gid;

		rc = privdrop_user_lookup(p->user, &want_uid, &want_gid);
		if (rc) {
			log_warnx("user %s: %s", p->user, rc == -ENOENT ? "no such user" : strerror(-rc));
			return rc;
		}
		if (want_uid != uid && uid != 0) {
			/* started unprivileged (a service manager's User=): stay */
			log_info("running as uid %u, not root: staying (user %s is not taken)",
				 (unsigned)uid, p->user);
		} else if (want_uid != uid) {
			do_switch = true;
			uid = want_uid;
			gid = want_gid;
		}
	}
	if ((rc = caps_get(have)))
		return rc;
	if (do_switch && (~have[0].effective & (PRIVDROP_CAP(CAP_SETUID) | PRIVDROP_CAP(CAP_SETGID)))) {
		/* root bounded by its service manager (or another init) to what
		 * it needs after start-up: the switch cannot be made here */
		log_warnx("cannot become %s: uid 0 without CAP_SETUID and CAP_SETGID (a bounding set "
			  "that lacks them?); staying uid 0 with only the capabilities below",
			  p->user);
		do_switch = false;
		uid = geteuid();
		gid = getegid();
	}
	if (do_switch && ((p->own_dir && p->own_prefix) || p->n_own_dirs)) {
		if (!(have[0].effective & PRIVDROP_CAP(CAP_CHOWN))) {
			/* bounded root (a unit): its service manager owns the directory */
			log_info("no CAP_CHOWN: %s stays as it is; the files there stay their owners'",
				 p->own_dir ? p->own_dir : p->own_dirs[0]);
		} else {
			if (p->own_dir && p->own_prefix)
				hand_over(p->own_dir, p->own_prefix, true, uid, gid);
			for (size_t i = 0; i < p->n_own_dirs && i < PRIVDROP_MAX_PATHS; i++)
				hand_over(p->own_dirs[i], "", false, uid, gid);
		}
	}
	if (p->landlock) {
		ruleset = landlock_prepare(p, &abi);
		if (ruleset < 0)
			return ruleset;
	}
	rc = bounding_reduce(p->caps, have[0].effective & PRIVDROP_CAP(CAP_SETPCAP));
	if (rc) {
		log_warn("cannot reduce the capability bounding set");
		goto out;
	}
	if (do_switch && (rc = switch_user(p->user, uid, gid)))
		goto out;
	rc = caps_set(p->caps);
	if (rc == -EPERM && !do_switch && (p->caps & ~(((uint64_t)have[1].permitted << 32) |
						   have[0].permitted)) == 0) {
		/* only dropping, which the kernel always allows: a system call
		 * filter refused capset (systemd's ~@privileged); what is left
		 * is what the service manager granted */
		log_warnx("capset refused (a system call filter?): the capabilities the service "
			  "manager granted stay");
	} else if (rc) {
		privdrop_caps_format(p->caps, capbuf, sizeof(capbuf));
		log_warnx("cannot keep capabilities %s: %s", capbuf, strerror(-rc));
		goto out;
	}
	/* ambient capabilities would survive an execve(): none are wanted */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rc = -errno;
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		goto out;
	}
	if (ruleset > 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		rc = -errno;
		log_warn("landlock_restrict_self");
		goto out;
	}
	if (caps_get(have) == 0)	/* what the process really holds now */
		privdrop_caps_format(((uint64_t)have[1].effective << 32) | have[0].effective, capbuf,
				     sizeof(capbuf));
	if (ruleset > 0)
		snprintf(userbuf, sizeof(userbuf), "Landlock ABI %d", abi);
	else
		snprintf(userbuf, sizeof(userbuf), "no Landlock");
	log_info("running as uid %u gid %u, capabilities: %s; %s", (unsigned)geteuid(),
		 (unsigned)getegid(), capbuf, userbuf);
	rc = 0;
out:
	if (ruleset > 0)
		close(ruleset);
	return rc;
}
