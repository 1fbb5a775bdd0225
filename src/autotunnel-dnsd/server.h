/* Running the server: set-up, the engine's event loop, shutdown. */
#ifndef DNSD_SERVER_H
#define DNSD_SERVER_H

#include "autotunnel-dnsd/settings.h"

/** Run until SIGINT or SIGTERM. Returns the process exit status. */
int server_run(const struct dnsd_settings *s);

#endif
