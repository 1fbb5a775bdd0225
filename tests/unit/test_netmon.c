/*
 * src/netmon select: which network is primary, from hand-made snapshots of
 * the kernel's tables, and what counts as a change.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "netmon/select.h"

static struct netmon_snapshot s;

static void link_(uint32_t idx, const char *name, bool up, bool carrier, uint8_t mac_last)
{
	struct netmon_link *l = &s.links[s.nlinks++];

	memset(l, 0, sizeof(*l));
	l->ifindex = idx;
	strcpy(l->name, name);
	l->up = up;
	l->carrier = carrier;
	if (mac_last) {
		const uint8_t mac[6] = { 0x02, 0, 0, 0, (uint8_t)idx, mac_last };

		memcpy(l->mac, mac, 6);
		l->has_mac = true;
	}
}

static void addr_(uint32_t idx, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t plen, bool secondary, uint8_t scope)
{
	struct netmon_addr4 *x = &s.addrs[s.naddrs++];

	memset(x, 0, sizeof(*x));
	x->ifindex = idx;
	x->addr[0] = a;
	x->addr[1] = b;
	x->addr[2] = c;
	x->addr[3] = d;
	x->prefixlen = plen;
	x->secondary = secondary;
	x->scope = scope;
}

static void route_(uint32_t oif, uint8_t c, uint8_t d, uint32_t metric)
{
	struct netmon_route4 *r = &s.routes[s.nroutes++];

	memset(r, 0, sizeof(*r));
	r->oif = oif;
	r->metric = metric;
	if (d) {
		const uint8_t gw[4] = { 192, 168, c, d };

		memcpy(r->gateway, gw, 4);
		r->has_gateway = true;
	}
}

static void expect(const char *want)
{
	struct netmon_state st;
	char line[128];

	netmon_select(&s, &st);
	assert_true(netmon_state_format(&st, line, sizeof(line)) > 0);
	assert_string_equal(line, want);
}

static int reset(void **state)
{
	memset(&s, 0, sizeof(s));
	link_(1, "lo", true, true, 0);
	s.links[0].loopback = true;
	addr_(1, 127, 0, 0, 1, 8, false, 254);	/* RT_SCOPE_HOST */
	link_(2, "eth0", true, true, 0x02);
	addr_(2, 192, 168, 1, 2, 24, false, 0);
	link_(3, "wlan0", true, true, 0x03);
	addr_(3, 192, 168, 2, 2, 24, false, 0);
	return 0;
}

static void one_default_route(void **state)
{
	route_(2, 1, 1, 0);
	expect("192.168.1.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
}

static void lowest_metric_then_ifindex(void **state)
{
	route_(2, 1, 1, 600);
	route_(3, 2, 1, 100);
	expect("192.168.2.2/24 dev wlan0 mac 02:00:00:00:03:03 gw 192.168.2.1");
	s.routes[1].metric = 600;	/* a tie: the lower ifindex wins, whatever the order */
	expect("192.168.1.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
	s.routes[0] = s.routes[1];
	route_(2, 1, 1, 600);
	expect("192.168.1.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
}

static void unusable_links_are_skipped(void **state)
{
	route_(3, 2, 1, 100);
	route_(2, 1, 1, 600);
	s.links[2].carrier = false;	/* wlan0 lost its access point */
	expect("192.168.1.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
	s.links[1].up = false;		/* eth0 taken down */
	expect("offline");
	s.links[2].carrier = true;
	expect("192.168.2.2/24 dev wlan0 mac 02:00:00:00:03:03 gw 192.168.2.1");
	/* a route through an interface we do not know, or without a global address */
	s.nroutes = 0;
	route_(9, 1, 1, 0);
	expect("offline");
	s.nroutes = 0;
	link_(4, "tun0", true, true, 0);
	route_(4, 0, 0, 0);
	expect("offline");
	addr_(4, 10, 8, 0, 6, 32, false, 0);
	expect("10.8.0.6/32 dev tun0 mac none gw none");
	/* the loopback device is never the network */
	s.nroutes = 0;
	route_(1, 0, 0, 0);
	s.addrs[0].scope = 0;
	expect("offline");
}

static void address_choice(void **state)
{
	route_(2, 1, 1, 0);
	/* a primary address in another subnet comes first; the gateway's subnet wins */
	s.addrs[1].addr[2] = 9;
	addr_(2, 192, 168, 1, 7, 24, false, 0);
	expect("192.168.1.7/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
	/* a secondary address is not preferred over a primary one */
	s.addrs[3].secondary = true;
	expect("192.168.9.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
	/* only secondaries: the first will do */
	s.addrs[1].secondary = true;
	expect("192.168.9.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
	/* link-scope addresses do not count */
	s.addrs[1].scope = 253;
	s.addrs[3].scope = 253;
	expect("offline");
	/* /25 boundaries: .1 and .200 are not in one /25, .1 and .7 are */
	s.addrs[1].scope = 0;
	s.addrs[1].secondary = false;
	s.addrs[1].prefixlen = 25;
	s.addrs[1].addr[2] = 1;
	s.addrs[1].addr[3] = 200;
	s.addrs[3].scope = 0;
	s.addrs[3].secondary = false;
	s.addrs[3].prefixlen = 25;
	expect("192.168.1.7/25 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1");
}

static void what_counts_as_a_change(void **state)
{
	struct netmon_state a, b;

	route_(2, 1, 1, 0);
	netmon_select(&s, &a);
	b = a;
	assert_false(netmon_state_changed(&a, &b));
	b.mac[5] ^= 1;		/* a new MAC alone: not a network change */
	b.prefixlen = 16;
	assert_false(netmon_state_changed(&a, &b));
	b = a;
	b.addr[3] = 3;
	assert_true(netmon_state_changed(&a, &b));
	b = a;
	b.gateway[3] = 254;
	assert_true(netmon_state_changed(&a, &b));
	b = a;
	b.has_gateway = false;
	assert_true(netmon_state_changed(&a, &b));
	b = a;
	strcpy(b.ifname, "eth1");
	assert_true(netmon_state_changed(&a, &b));
	b = a;
	b.ifindex = 7;
	assert_true(netmon_state_changed(&a, &b));
	memset(&b, 0, sizeof(b));
	assert_true(netmon_state_changed(&a, &b));
	memset(&a, 0, sizeof(a));
	a.addr[0] = 1;		/* offline states are equal whatever they hold */
	assert_false(netmon_state_changed(&a, &b));
}

static void format_bounds(void **state)
{
	struct netmon_state st;
	char line[128];
	const char *want = "192.168.1.2/24 dev eth0 mac 02:00:00:00:02:02 gw 192.168.1.1";

	route_(2, 1, 1, 0);
	netmon_select(&s, &st);
	assert_int_equal(netmon_state_format(&st, line, strlen(want) + 1), (int)strlen(want));
	assert_int_equal(netmon_state_format(&st, line, strlen(want)), -ENOSPC);
	assert_string_equal(line, "");
	memset(&st, 0, sizeof(st));
	assert_int_equal(netmon_state_format(&st, line, 8), 7);
	assert_int_equal(netmon_state_format(&st, line, 7), -ENOSPC);
}

static void addr6_(uint32_t idx, uint8_t first, uint8_t last, bool usable, uint8_t scope)
{
	struct netmon_addr6 *x = &s.addrs6[s.naddrs6++];

	memset(x, 0, sizeof(*x));
	x->ifindex = idx;
	x->addr[0] = first;
	x->addr[1] = 0x01;	/* 2001:db8::/32 when first is 0x20 */
	x->addr[2] = 0x0d;
	x->addr[3] = 0xb8;
	x->addr[15] = last;
	x->usable = usable;
	x->scope = scope;
}

/* Issue 11: the global IPv6 addresses, sorted, each once; what is not usable or not global is left out. */
static void ipv6_addresses(void **state)
{
	struct netmon_state a, b;

	(void)state;
	link_(5, "eth1", false, false, 2);	/* down: its addresses do not count */
	route_(2, 1, 1, 100);
	addr6_(2, 0x20, 9, true, 0);
	addr6_(2, 0x20, 3, true, 0);
	addr6_(2, 0x20, 3, true, 0);		/* the same twice (two prefixes' dumps): once */
	addr6_(2, 0x20, 5, false, 0);		/* tentative */
	addr6_(2, 0xfd, 1, true, 0);		/* a ULA (the tunnel's): not 2000::/3 */
	addr6_(2, 0xfe, 1, true, 253);		/* link-local */
	addr6_(1, 0x20, 6, true, 0);		/* on loopback */
	addr6_(5, 0x20, 7, true, 0);
	addr6_(9, 0x20, 8, true, 0);		/* no such link */
	netmon_select(&s, &a);
	assert_true(a.online);
	assert_int_equal(a.n6, 2);
	assert_int_equal(a.addr6[0][0], 0x20);
	assert_int_equal(a.addr6[0][15], 3);
	assert_int_equal(a.addr6[1][15], 9);

	/* the same addresses in another order: no change; one gone: a change of IPv6 alone */
	b = a;
	assert_false(netmon_state_v6_changed(&a, &b));
	s.addrs6[0].usable = false;
	netmon_select(&s, &b);
	assert_int_equal(b.n6, 1);
	assert_true(netmon_state_v6_changed(&a, &b));
	assert_false(netmon_state_changed(&a, &b));

	/* an IPv6 address without any IPv4 network: kept (the state is offline for IPv4) */
	s.nroutes = 0;
	netmon_select(&s, &b);
	assert_false(b.online);
	assert_int_equal(b.n6, 1);
}

/* At most NETMON_V6_MAX: the lowest ones, so one set of addresses always gives one state. */
static void ipv6_addresses_bound(void **state)
{
	struct netmon_state a;

	(void)state;
	for (uint8_t i = 0; i < NETMON_V6_MAX + 3; i++)
		addr6_(2, 0x20, (uint8_t)(200 - i), true, 0);
	netmon_select(&s, &a);
	assert_int_equal(a.n6, NETMON_V6_MAX);
	for (unsigned i = 0; i < NETMON_V6_MAX; i++)
		assert_int_equal(a.addr6[i][15], 200 - (NETMON_V6_MAX + 2) + i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(one_default_route, reset),
		cmocka_unit_test_setup(lowest_metric_then_ifindex, reset),
		cmocka_unit_test_setup(unusable_links_are_skipped, reset),
		cmocka_unit_test_setup(address_choice, reset),
		cmocka_unit_test_setup(what_counts_as_a_change, reset),
		cmocka_unit_test_setup(format_bounds, reset),
		cmocka_unit_test_setup(ipv6_addresses, reset),
		cmocka_unit_test_setup(ipv6_addresses_bound, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
