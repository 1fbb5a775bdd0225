/*
 * Least privilege after start-up: a daemon opens what needs root (ports
 * below 1024, its database, its TLS key), then becomes an unprivileged user
 * that keeps exactly the capabilities it still uses, can never gain more
 * (no_new_privs, a reduced bounding set), and, where the kernel has
 * Landlock, can reach only the paths it names.
 *
 * Capabilities and Landlock are per thread in Linux: privdrop_apply() must
 * run while the process has one thread, and threads started afterwards
 * inherit the result. It checks that and refuses otherwise.
 */
#ifndef AT_COMMON_PRIVDROP_H
#define AT_COMMON_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIVDROP_MAX_PATHS 8

/* One capability as a bit of privdrop.caps: PRIVDROP_CAP(CAP_NET_RAW). */
#define PRIVDROP_CAP(c) (UINT64_C(1) << (c))

struct privdrop {
	/* The user to become (borrowed). NULL or the current user: no switch.
	 * The group is the user's primary group; supplementary groups are
	 * cleared. Only a process running as root switches. */
	const char *user;
	uint64_t caps;		/* PRIVDROP_CAP() bits kept: permitted = effective */
	/* Landlock (borrowed paths): everything beneath rw[] read-write,
	 * beneath ro[] read-only, nothing else. A missing path is skipped. */
	bool landlock;
	const char *rw[PRIVDROP_MAX_PATHS];
	size_t n_rw;
	const char *ro[PRIVDROP_MAX_PATHS];
	size_t n_ro;
	/* Files root made that the user must write later (borrowed), handed
	 * over only when the user is switched from root: the entries of
	 * own_dir whose names begin with own_prefix (plain files with one
	 * link, and sockets; never a link) are given to the user, and own_dir
	 * itself when it holds nothing else. In a directory its group or
	 * others may write, nothing changes. NULL: none. */
	const char *own_dir;
	const char *own_prefix;
	/* Further directories wholly the daemon's (borrowed; e.g. a run and a
	 * state directory), handed over as own_dir is, every name in them taken
	 * as the daemon's, except sockets: a socket made before the switch
	 * keeps its owner, and with it who may connect. */
	const char *own_dirs[PRIVDROP_MAX_PATHS];
	size_t n_own_dirs;
};

/**
 * Parse a list of capability names, comma-separated, with or without
 * "cap_", any case ("net_admin,CAP_NET_RAW"); "" or "none" is the empty
 * set. @return 0, or -EINVAL for an unknown name.
 */
int privdrop_caps_parse(const char *list, uint64_t *caps) __attribute__((warn_unused_result));

/** Format @p caps as "net_admin,net_raw" ("none" if empty). 0 or -ENOSPC. */
int privdrop_caps_format(uint64_t caps, char *buf, size_t len);

/** Look up a user. @return 0, -ENOENT if there is none, or -errno. */
int privdrop_user_lookup(const char *name, uid_t *uid, gid_t *gid) __attribute__((warn_unused_result));

/**
 * The Landlock ABI version of the running kernel (>= 1), or -ENOSYS /
 * -EOPNOTSUPP when it has none or has it disabled.
 */
int privdrop_landlock_abi(void);

/**
 * Drop to what @p p keeps, logging what the process keeps. A kernel
 * without Landlock is a logged notice, not an error.
 * @return 0, -EBUSY if the process has more than one thread, -ENOENT for
 * an unknown user, -EPERM if it may not switch or keep what @p p asks.
 */
int privdrop_apply(const struct privdrop *p) __attribute__((warn_unused_result));

#endif
