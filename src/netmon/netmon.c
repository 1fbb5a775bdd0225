/*
 * rtnetlink I/O for the network monitor: an event socket subscribed to the
 * groups we react to, and dumps of links, IPv4 addresses and IPv4 routes
 * through a second socket when a burst of events has settled.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>

#include "common/log.h"
#include "netmon/netmon.h"

struct netmon {
	struct event_base *base;
	struct mnl_socket *events;
	struct event *ev_read, *ev_timer;
	unsigned debounce_ms;
	netmon_cb cb;
	void *arg;
	struct netmon_state cur;
	struct netmon_snapshot snap;
};

/* ---- dumps ---- */

struct dump_ctx {
	struct netmon_snapshot *s;
	bool intr;	/* the kernel flagged the dump as inconsistent (NLM_F_DUMP_INTR) */
};

struct attrs {
	const struct nlattr **tb;
	int max;	/* highest type tb holds: the kernel may know newer ones */
	int name;	/* the type that must be a NUL-terminated string, or -1 */
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type > a->max)
		return MNL_CB_OK;
	/* a name must be a NUL-terminated string before we read it as one */
	if (type == a->name && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/*
 * Index the attributes of @p nlh after a header of @p hdrlen bytes into
 * @p tb[0..max]; attribute @p name (or -1) must be a NUL-terminated string.
 */
static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, int max, int name)
{
	struct attrs a = { tb, max, name };

	return mnl_attr_parse(nlh, (unsigned)hdrlen, attr_cb, &a);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon_snapshot *s = ((struct dump_ctx *)data)->s;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct netmon_link *l;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		((struct dump_ctx *)data)->intr = true;
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	if (parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX, IFLA_IFNAME) < 0)
		return MNL_CB_OK;
	if (s->nlinks == NETMON_LINKS_MAX) {
		s->truncated = true;
		return MNL_CB_OK;
	}
	l = &s->links[s->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = (uint32_t)ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	l->carrier = ifi->ifi_flags & IFF_LOWER_UP;
	l->loopback = ifi->ifi_flags & IFF_LOOPBACK;
	if (tb[IFLA_IFNAME])
		strncpy(l->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof(l->name) - 1);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6 && ifi->ifi_type == ARPHRD_ETHER) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		l->has_mac = true;
	}
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon_snapshot *s = ((struct dump_ctx *)data)->s;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *local;
	struct netmon_addr4 *a;
	uint32_t flags;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		((struct dump_ctx *)data)->intr = true;
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	if (parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX, -1) < 0)
		return MNL_CB_OK;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on point-to-point links */
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!local || mnl_attr_get_payload_len(local) != 4)
		return MNL_CB_OK;
	if (s->naddrs == NETMON_ADDRS_MAX) {
		s->truncated = true;
		return MNL_CB_OK;
	}
	flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) == 4)
		flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	a = &s->addrs[s->naddrs++];
	memset(a, 0, sizeof(*a));
	a->ifindex = ifa->ifa_index;
	memcpy(a->addr, mnl_attr_get_payload(local), 4);
	a->prefixlen = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->secondary = flags & IFA_F_SECONDARY;
	return MNL_CB_OK;
}

static int addr6_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon_snapshot *s = ((struct dump_ctx *)data)->s;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *addr;
	struct netmon_addr6 *a;
	uint32_t flags;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		((struct dump_ctx *)data)->intr = true;
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	if (parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX, -1) < 0)
		return MNL_CB_OK;
	addr = tb[IFA_ADDRESS] ? tb[IFA_ADDRESS] : tb[IFA_LOCAL];
	if (!addr || mnl_attr_get_payload_len(addr) != 16)
		return MNL_CB_OK;
	if (s->naddrs6 == NETMON_ADDRS6_MAX) {
		s->truncated = true;
		return MNL_CB_OK;
	}
	flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) == 4)
		flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	a = &s->addrs6[s->naddrs6++];
	memset(a, 0, sizeof(*a));
	a->ifindex = ifa->ifa_index;
	memcpy(a->addr, mnl_attr_get_payload(addr), 16);
	a->scope = ifa->ifa_scope;
	/* RFC 4862 §5.4: a tentative address receives nothing yet; a deprecated one is on its way out */
	a->usable = !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED));
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon_snapshot *s = ((struct dump_ctx *)data)->s;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct netmon_route4 *r;
	uint32_t table;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		((struct dump_ctx *)data)->intr = true;
	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	if (parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX, -1) < 0)
		return MNL_CB_OK;
	table = rtm->rtm_table;
	if (tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4)
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	/* multipath default routes (RTA_MULTIPATH) carry no RTA_OIF and are not chosen */
	if (table != RT_TABLE_MAIN || !tb[RTA_OIF] || mnl_attr_get_payload_len(tb[RTA_OIF]) != 4)
		return MNL_CB_OK;
	if (s->nroutes == NETMON_ROUTES_MAX) {
		s->truncated = true;
		return MNL_CB_OK;
	}
	r = &s->routes[s->nroutes++];
	memset(r, 0, sizeof(*r));
	r->oif = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == 4) {
		memcpy(r->gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]), 4);
		r->has_gateway = true;
	}
	if (tb[RTA_PRIORITY] && mnl_attr_get_payload_len(tb[RTA_PRIORITY]) == 4)
		r->metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	return MNL_CB_OK;
}

/* Dump one table; -EAGAIN if the kernel says the dump was interrupted by a change. */
static int dump(struct mnl_socket *nl, uint16_t type, uint8_t family, uint32_t seq, mnl_cb_t cb,
		struct dump_ctx *ctx)
{
	char buf[32768];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	unsigned portid = mnl_socket_get_portid(nl);
	int r;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, ctx);
		if (r == MNL_CB_STOP)
			break;
		if (r < 0)
			return errno == EINTR ? -EAGAIN : -errno;
	}
	return ctx->intr ? -EAGAIN : 0;
}

int netmon_read(struct netmon_snapshot *snap, struct netmon_state *out)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct dump_ctx ctx = { .s = snap };
	uint32_t seq = (uint32_t)time(NULL);
	int err = 0;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	/* a dump interrupted by a change is simply done again (a few times at most) */
	for (int attempt = 0; attempt < 5; attempt++) {
		memset(snap, 0, sizeof(*snap));
		ctx.intr = false;
		err = dump(nl, RTM_GETLINK, AF_UNSPEC, ++seq, link_cb, &ctx);
		if (!err)
			err = dump(nl, RTM_GETADDR, AF_INET, ++seq, addr_cb, &ctx);
		if (!err)
			err = dump(nl, RTM_GETADDR, AF_INET6, ++seq, addr6_cb, &ctx);
		if (!err)
			err = dump(nl, RTM_GETROUTE, AF_INET, ++seq, route_cb, &ctx);
		if (err != -EAGAIN)
			break;
	}
	if (!err)
		netmon_select(snap, out);
out:
	mnl_socket_close(nl);
	return err;
}

/* ---- events ---- */

static void settle(evutil_socket_t fd, short what, void *arg)
{
	struct netmon *nm = arg;
	struct netmon_state now, before;
	int err;

	err = netmon_read(&nm->snap, &now);
	if (err) {
		log_warnx("netmon: cannot read the routing tables: %s", strerror(-err));
		return;
	}
	if (nm->snap.truncated)
		log_debug_rl("netmon: more links, addresses or default routes than tracked; ignored the rest");
	/* the IPv4 network as before; a change of the global IPv6 addresses alone is reported too */
	if (!netmon_state_changed(&now, &nm->cur) && !netmon_state_v6_changed(&now, &nm->cur)) {
		nm->cur = now;	/* e.g. a new MAC or prefix length: kept, not reported */
		return;
	}
	before = nm->cur;
	nm->cur = now;
	nm->cb(nm->arg, &nm->cur, &before);
}

/*
 * An event arrived: look again debounce_ms after the first event of this
 * burst. The window is not extended by later events, so a change is
 * reported at most debounce_ms after the kernel announced it; events after
 * the look start another window, which reports only if something changed.
 */
static void poke(struct netmon *nm)
{
	struct timeval tv = { .tv_sec = (time_t)(nm->debounce_ms / 1000),
			      .tv_usec = (suseconds_t)(nm->debounce_ms % 1000) * 1000 };

	if (evtimer_pending(nm->ev_timer, NULL))
		return;
	evtimer_add(nm->ev_timer, &tv);
}

static void readable(evutil_socket_t fd, short what, void *arg)
{
	struct netmon *nm = arg;
	char buf[32768];
	bool any = false;

	/* drain the socket; every message is a reason to look again */
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			any = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* events were dropped: only a fresh dump can tell what happened */
			log_debug_rl("netmon: netlink events dropped; reading the tables again");
			any = true;
			continue;
		}
		break;
	}
	if (any)
		poke(nm);
}

struct netmon *netmon_new(struct event_base *base, unsigned debounce_ms, netmon_cb cb, void *arg)
{
	struct netmon *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return NULL;
	nm->base = base;
	nm->debounce_ms = debounce_ms;
	nm->cb = cb;
	nm->arg = arg;
	return nm;
}

int netmon_start(struct netmon *nm)
{
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE;
	int fd, rcvbuf = 1 << 20, err;

	nm->events = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nm->events)
		return -errno;
	fd = mnl_socket_get_fd(nm->events);
	/* a burst of changes (a VPN starting, a dock plugged in) must not overflow us */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(nm->events, groups, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	/* subscribe first, then read: a change between the two is not lost */
	err = netmon_read(&nm->snap, &nm->cur);
	if (err)
		return err;
	nm->ev_read = event_new(nm->base, fd, EV_READ | EV_PERSIST, readable, nm);
	nm->ev_timer = evtimer_new(nm->base, settle, nm);
	if (!nm->ev_read || !nm->ev_timer || event_add(nm->ev_read, NULL) < 0)
		return -ENOMEM;
	return 0;
}

const struct netmon_state *netmon_current(const struct netmon *nm)
{
	return &nm->cur;
}

void netmon_free(struct netmon *nm)
{
	if (!nm)
		return;
	if (nm->ev_read)
		event_free(nm->ev_read);
	if (nm->ev_timer)
		event_free(nm->ev_timer);
	if (nm->events)
		mnl_socket_close(nm->events);
	free(nm);
}
