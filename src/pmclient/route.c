/* The default IPv4 gateway, from /proc/net/route (docs/design.md §8: requests go to the default gateway). */
#include "pmclient/route.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define RTF_UP_		0x0001
#define RTF_GATEWAY_	0x0002

int route_default_gateway_from(FILE *fp, struct in_addr *gw, char *ifname)
{
	char line[256], name[IF_NAMESIZE], best_name[IF_NAMESIZE] = "";
	unsigned int dest, gate, flags, refcnt, use, metric, mask;
	unsigned int best_metric = UINT32_MAX;
	int found = 0, n = 0;

	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ...; the
	 * addresses are in network byte order printed as host-order hex */
	while (fgets(line, sizeof(line), fp) && n++ < 4096) {
		if (sscanf(line, "%15s %x %x %x %u %u %u %x", name, &dest, &gate, &flags, &refcnt,
			   &use, &metric, &mask) != 8)
			continue;	/* the header line, or garbage */
		if (dest != 0 || mask != 0 || !(flags & RTF_UP_) || !(flags & RTF_GATEWAY_))
			continue;
		if (found && metric >= best_metric)
			continue;
		found = 1;
		best_metric = metric;
		gw->s_addr = (in_addr_t)gate;
		memcpy(best_name, name, sizeof(best_name));
	}
	if (!found)
		return -ENETUNREACH;
	if (ifname)
		memcpy(ifname, best_name, IF_NAMESIZE);
	return 0;
}

int route_default_gateway(struct in_addr *gw, char *ifname)
{
	FILE *fp = fopen("/proc/net/route", "re");
	int err;

	if (!fp)
		return -errno;
	err = route_default_gateway_from(fp, gw, ifname);
	fclose(fp);
	return err;
}
