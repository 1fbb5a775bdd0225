/*
 * netmon-watch: print the primary network as the agent's monitor sees it,
 * then one line per real change. Used by tests/netns/t_netmon.sh, and handy
 * on its own:
 *
 *     $ netmon-watch
 *     primary 192.168.1.2/24 dev eth0 mac 02:00:00:00:01:02 gw 192.168.1.1
 *     changed: 192.168.2.2/24 dev eth1 mac 02:00:00:00:02:02 gw 192.168.2.1
 *     ipv6: 2001:db8:1::2
 *
 * --once prints the first line and exits; --debounce MS sets the quiet
 * time (default 200 ms). Exits on SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "common/log.h"
#include "netmon/netmon.h"

static void changed(void *arg, const struct netmon_state *now, const struct netmon_state *before)
{
	char line[128], a[INET6_ADDRSTRLEN];

	if (netmon_state_changed(now, before)) {
		if (netmon_state_format(now, line, sizeof(line)) > 0)
			printf("changed: %s\n", line);
		return;
	}
	/* the global IPv6 addresses alone */
	printf("ipv6:");
	for (unsigned i = 0; i < now->n6; i++)
		printf(" %s", inet_ntop(AF_INET6, now->addr6[i], a, sizeof(a)));
	printf("%s\n", now->n6 ? "" : " none");
}

static void stop(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *sigint, *sigterm;
	struct netmon *nm;
	unsigned debounce = 200;
	bool once = false;
	char line[128];
	int err;

	log_init("netmon-watch", LOG_LEVEL_INFO, false);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			once = true;
		} else if (!strcmp(argv[i], "--debounce") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (*end || v == 0 || v > 10000)
				fatalx("--debounce: a number of milliseconds from 1 to 10000");
			debounce = (unsigned)v;
		} else {
			fprintf(stderr, "usage: netmon-watch [--once] [--debounce MS]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!(base = event_base_new()) || !(nm = netmon_new(base, debounce, changed, NULL)))
		fatalx("out of memory");
	if ((err = netmon_start(nm)))
		fatalx("cannot watch the network: %s", strerror(-err));
	if (netmon_state_format(netmon_current(nm), line, sizeof(line)) > 0)
		printf("primary %s\n", line);
	if (!once) {
		sigint = evsignal_new(base, SIGINT, stop, base);
		sigterm = evsignal_new(base, SIGTERM, stop, base);
		if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL))
			fatalx("cannot set up signals");
		event_base_dispatch(base);
		event_free(sigint);
		event_free(sigterm);
	}
	netmon_free(nm);
	event_base_free(base);
	return 0;
}
