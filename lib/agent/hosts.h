/*
 * The hosts cache: the account's hosts as the agent last saw them, written
 * by the agent (atomically: a temporary file in the same directory, then
 * rename) to AGENT_HOSTS_PATH and read by libnss_autotunnel.so.2. A strict
 * text format:
 *
 *     # autotunnel hosts v1
 *     desktop desktop.alice.members.example.net fd91:3b2c:5d10:aa01:21c:42ff:fe00:1
 *     nas nas.alice.members.example.net fd07:1111:2222:3333:211:22ff:fe33:4455
 *
 * The header line first, then one line per host: the host label, its FQDN
 * (which must be the label followed by '.'), and its ULA in canonical form,
 * separated by single spaces, each line ending in '\n'. Nothing else.
 */
#ifndef AT_AGENT_HOSTS_H
#define AT_AGENT_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"

#define AGENT_HOSTS_PATH "/run/autotunnel/hosts"
/** Environment variable that overrides the path (honoured only outside setuid programs). */
#define AGENT_HOSTS_ENV "AUTOTUNNEL_HOSTS"
#define AGENT_HOSTS_HEADER "# autotunnel hosts v1"
/** Largest file the reader accepts. */
#define AGENT_HOSTS_FILE_MAX (1u << 20)

struct agent_host_entry {
	char label[AGENT_LABEL_MAX + 1];
	char fqdn[AGENT_NAME_MAX + 1];
	uint8_t ula[16];
};

/**
 * Write the file for @p n entries (borrowed) into @p buf. Returns its
 * length, -ENOSPC, or -EINVAL if an entry breaks the format's rules.
 */
int agent_hosts_format(const struct agent_host_entry *e, size_t n, uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/** Called for each entry in file order; a non-zero return stops the walk and is returned. */
typedef int (*agent_hosts_fn)(void *arg, const struct agent_host_entry *e);

/**
 * Check the whole file of @p len bytes (borrowed) and call @p fn (may be
 * NULL) for each entry. Returns 0, what @p fn returned, or -EBADMSG with
 * the 1-based number of the first bad line in @p badline (may be NULL). A
 * bad line anywhere fails the whole file, even after @p fn stopped the walk.
 */
int agent_hosts_parse(const uint8_t *buf, size_t len, agent_hosts_fn fn, void *arg, size_t *badline)
	__attribute__((warn_unused_result));

/**
 * Find the first entry whose label or FQDN equals @p name (ASCII case
 * insensitive, one trailing dot ignored). 0 with @p out filled, -ENOENT,
 * or -EBADMSG for a malformed file.
 */
int agent_hosts_lookup_name(const uint8_t *buf, size_t len, const char *name, struct agent_host_entry *out)
	__attribute__((warn_unused_result));

/** Find the first entry with ULA @p ula. 0, -ENOENT or -EBADMSG. */
int agent_hosts_lookup_addr(const uint8_t *buf, size_t len, const uint8_t ula[static 16],
			    struct agent_host_entry *out) __attribute__((warn_unused_result));

#endif
