/* `--version` (see version.h). AT_VERSION comes from meson's project version. */
#include "common/version.h"

#include <stdio.h>
#include <string.h>

#ifndef AT_VERSION
#error "AT_VERSION must be defined by the build (meson project version)"
#endif

const char *version_string(void)
{
	return AT_VERSION;
}

bool version_arg_handle(int argc, char *const argv[], const char *prog)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, AT_VERSION);
			return true;
		}
	}
	return false;
}
