/*
 * src/autotunneld/fsutil: the small file helpers of the daemon (identity
 * file, hosts cache, run and state directories). No state; errno-style
 * returns (0 or -errno).
 */
#ifndef AT_AUTOTUNNELD_FSUTIL_H
#define AT_AUTOTUNNELD_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Read at most @p cap bytes of @p path into @p buf; *@p len gets how many. 0 or -errno. */
int fsutil_read_small(const char *path, uint8_t *buf, size_t cap, size_t *len);
/**
 * Write @p path through a temporary file and rename, so readers see the old
 * or the new file whole; the file gets @p mode. 0 or -errno.
 */
int fsutil_write_atomic(const char *path, const uint8_t *buf, size_t len, mode_t mode);
/** mkdir -p: parents with 0755, @p path itself with @p mode; an existing directory is fine. */
int fsutil_mkdir_p(const char *path, mode_t mode);

#endif
