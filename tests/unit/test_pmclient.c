/*
 * src/pmclient's pure parts: the default gateway from /proc/net/route
 * text (lowest metric wins, routes without a gateway are not one), and the
 * port numbers an IGD answers with, which are input like any other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pmclient/route.h"
#include "pmclient/upnp.h"

/* Parse @p text as /proc/net/route. */
static int route_from(const char *text, struct in_addr *gw, char *ifname)
{
	FILE *fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	assert_non_null(fp);
	rc = route_default_gateway_from(fp, gw, ifname);
	fclose(fp);
	return rc;
}

#define ROUTE_HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static void default_gateway(void **state)
{
	/* 192.168.1.1 and 192.168.2.1 as the kernel prints them (little endian) */
	static const char two[] = ROUTE_HEADER
		"eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
		"wlan0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
	static const char none[] = ROUTE_HEADER
		"eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
		"tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth1\t00000000\t0103A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n";
	struct in_addr gw;
	char ifname[IF_NAMESIZE], a[INET_ADDRSTRLEN];

	assert_int_equal(route_from(two, &gw, ifname), 0);
	assert_string_equal(inet_ntop(AF_INET, &gw, a, sizeof(a)), "192.168.2.1");
	assert_string_equal(ifname, "wlan0");
	/* a default route without a gateway, or one that is down, is none */
	assert_int_equal(route_from(none, &gw, NULL), -ENETUNREACH);
	assert_int_equal(route_from(ROUTE_HEADER, &gw, NULL), -ENETUNREACH);
}

static void upnp_port(void **state)
{
	uint16_t p = 7;

	assert_int_equal(upnp_port_parse("4500", &p), 0);
	assert_int_equal(p, 4500);
	assert_int_equal(upnp_port_parse("1", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(upnp_port_parse("65535", &p), 0);
	assert_int_equal(p, 65535);
	p = 7;
	/* what an IGD may put in NewReservedPort that is not a port */
	assert_int_equal(upnp_port_parse("0", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("65536", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("99999", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("-1", &p), -EINVAL);
	assert_int_equal(upnp_port_parse(" 80", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("80a", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("0x50", &p), -EINVAL);
	assert_int_equal(upnp_port_parse("000080", &p), -EINVAL);
	assert_int_equal(p, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_gateway),
		cmocka_unit_test(upnp_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
