/*
 * `--version` for every program: one line, "PROGRAM VERSION", the version
 * being meson's project version (meson.build), so that packages, man pages
 * and programs agree.
 */
#ifndef AT_COMMON_VERSION_H
#define AT_COMMON_VERSION_H

#include <stdbool.h>

/** The project's version, e.g. "0.1.0". */
const char *version_string(void);

/**
 * If "--version" is among @p argv (before a "--"), print "@p prog VERSION"
 * on stdout and return true: the caller exits 0. Otherwise false.
 */
bool version_arg_handle(int argc, char *const argv[], const char *prog);

#endif
