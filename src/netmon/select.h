/*
 * Which network is "the" network (RFC 6281 §5.1): from a snapshot of the
 * kernel's links, IPv4 addresses and default routes, the primary interface,
 * its IPv4 address and MAC, and the default gateway. Pure: the snapshot is
 * filled by netmon.c from netlink and by the unit tests by hand.
 */
#ifndef AT_NETMON_SELECT_H
#define AT_NETMON_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETMON_LINKS_MAX 64
#define NETMON_ADDRS_MAX 256
#define NETMON_ROUTES_MAX 64
#define NETMON_ADDRS6_MAX 64
/** Global IPv6 addresses kept in a state (enough for candidates: lib/agent keeps 8 in all). */
#define NETMON_V6_MAX 8

struct netmon_link {
	uint32_t ifindex;
	char name[16];
	uint8_t mac[6];
	bool has_mac;		/* a 6-byte link-layer address (not TUN, PPP, loopback) */
	bool up;		/* IFF_UP: administratively up */
	bool carrier;		/* IFF_LOWER_UP: the link has carrier */
	bool loopback;
};

struct netmon_addr4 {
	uint32_t ifindex;
	uint8_t addr[4];
	uint8_t prefixlen;
	uint8_t scope;		/* RT_SCOPE_UNIVERSE (0) is global */
	bool secondary;		/* IFA_F_SECONDARY */
};

struct netmon_addr6 {
	uint32_t ifindex;
	uint8_t addr[16];
	uint8_t scope;		/* RT_SCOPE_UNIVERSE (0) is global */
	bool usable;		/* neither tentative (DAD under way) nor DAD-failed nor deprecated */
};

/* A default route (0.0.0.0/0) of the main table. */
struct netmon_route4 {
	uint32_t oif;
	uint8_t gateway[4];
	bool has_gateway;	/* false for "default dev tun0" */
	uint32_t metric;
};

struct netmon_snapshot {
	struct netmon_link links[NETMON_LINKS_MAX];
	struct netmon_addr4 addrs[NETMON_ADDRS_MAX];
	struct netmon_route4 routes[NETMON_ROUTES_MAX];
	struct netmon_addr6 addrs6[NETMON_ADDRS6_MAX];
	size_t nlinks, naddrs, nroutes, naddrs6;
	bool truncated;		/* more than fitted: the selection may be incomplete */
};

/** The primary network, or offline. */
struct netmon_state {
	bool online;
	uint32_t ifindex;
	char ifname[16];
	uint8_t mac[6];
	bool has_mac;
	uint8_t addr[4];
	uint8_t prefixlen;
	uint8_t gateway[4];
	bool has_gateway;
	/*
	 * The host's usable global unicast IPv6 addresses (2000::/3, any link
	 * that is up, not loopback), sorted, at most NETMON_V6_MAX: peers may
	 * reach us there (issue 11), whatever the primary IPv4 network is.
	 */
	uint8_t n6;
	uint8_t addr6[NETMON_V6_MAX][16];
};

/**
 * Choose the primary network: among the default routes whose interface is
 * up, has carrier, is not loopback and holds a global IPv4 address, the one
 * with the lowest metric (then the lowest ifindex); its address is the
 * primary (non-secondary) one in the gateway's subnet, else the first
 * primary one, else the first. Offline if there is none.
 */
void netmon_select(const struct netmon_snapshot *s, struct netmon_state *out);

/** Whether the primary address, interface or gateway differ (what RFC 6281 §5.1 reacts to). */
bool netmon_state_changed(const struct netmon_state *a, const struct netmon_state *b);

/** Whether the global IPv6 addresses differ (an address appeared or went), the IPv4 network aside. */
bool netmon_state_v6_changed(const struct netmon_state *a, const struct netmon_state *b);

/**
 * "192.168.1.2/24 dev eth0 mac 02:00:00:00:01:02 gw 192.168.1.1" ("mac
 * none", "gw none" when absent), or "offline". Returns the length or -ENOSPC.
 */
int netmon_state_format(const struct netmon_state *st, char *buf, size_t len);

#endif
