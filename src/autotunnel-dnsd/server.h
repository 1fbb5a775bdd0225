/* Running the server: set-up, the engine's event loop, shutdown. */
#ifndef DNSD_SERVER_H
#define DNSD_SERVER_H

#include "autotunnel-dnsd/settings.h"

/**
 * Run until SIGINT or SIGTERM. Returns the process exit status. Once the
 * ports are bound and the files open, before the first thread starts, the
 * process drops to what @p drop keeps (borrowed).
 */
int server_run(const struct dnsd_settings *s, const struct privdrop *drop);

#endif
