#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "autotunnel-gwd/netwatch.h"

static unsigned int mask_len(uint32_t mask)
{
	unsigned int n = 0;

	while (mask & 0x80000000u) {
		n++;
		mask <<= 1;
	}
	return n;
}

int gwd_if_addrs(const char *ifname, struct gwd_ifaddr *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)i->ifa_addr;
		const struct sockaddr_in *m = (const struct sockaddr_in *)(const void *)i->ifa_netmask;

		if (!a || a->sin_family != AF_INET || strcmp(i->ifa_name, ifname) != 0)
			continue;
		out[n].ifindex = if_nametoindex(ifname);
		out[n].addr = ntohl(a->sin_addr.s_addr);
		out[n].plen = (uint8_t)(m ? mask_len(ntohl(m->sin_addr.s_addr)) : 32);
		n++;
	}
	freeifaddrs(ifa);
	return (int)n;
}

uint32_t gwd_if_external(const char *ifname)
{
	struct gwd_ifaddr a[16];
	int n = gwd_if_addrs(ifname, a, 16);

	for (int i = 0; i < n; i++) {
		if ((a[i].addr & 0xffff0000u) == 0xa9fe0000u)	/* 169.254/16 */
			continue;
		if ((a[i].addr & 0xff000000u) == 0x7f000000u)
			continue;
		return a[i].addr;
	}
	return 0;
}

struct gwd_netwatch {
	struct mnl_socket *nl;
};

int gwd_netwatch_open(struct gwd_netwatch **out)
{
	struct gwd_netwatch *w = calloc(1, sizeof(*w));
	int e;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl)
		goto fail;
	if (mnl_socket_bind(w->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	e = errno ? errno : EIO;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
	return -e;
}

int gwd_netwatch_fd(const struct gwd_netwatch *w)
{
	return mnl_socket_get_fd(w->nl);
}

/*
 * Which messages matter. Only the message types are looked at: on any
 * address or link event the daemon reads the addresses afresh, so nothing
 * here trusts attribute contents.
 */
static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	int *changed = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWLINK:
	case RTM_DELLINK:
		*changed = 1;
		break;
	}
	return MNL_CB_OK;
}

int gwd_netwatch_read(struct gwd_netwatch *w)
{
	static uint8_t buf[8192];	/* MNL_SOCKET_BUFFER_SIZE, as a constant */
	int changed = 0;
	ssize_t n;

	for (int rounds = 0; rounds < 64; rounds++) {
		n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			if (errno == ENOBUFS)	/* events were lost: look again */
				return 1;
			return -errno;
		}
		/* notifications carry sequence 0 and the kernel's port id 0 */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, &changed) < 0 && errno != ESRCH)
			changed = 1;
	}
	return changed;
}

void gwd_netwatch_close(struct gwd_netwatch *w)
{
	if (!w)
		return;
	mnl_socket_close(w->nl);
	free(w);
}
