#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "autotunnel-gwd/neigh.h"
#include "autotunnel-gwd/netlink.h"

struct entry {
	uint16_t state;
	uint8_t lladdr[6];
	int lllen;
};

static int on_attr(const struct nlattr *a, void *data)
{
	struct entry *e = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR) {
		e->lllen = (int)mnl_attr_get_payload_len(a);
		if (e->lllen == 6)
			memcpy(e->lladdr, mnl_attr_get_payload(a), 6);
	}
	return MNL_CB_OK;
}

static int on_neigh(const struct nlmsghdr *nlh, void *data)
{
	struct entry *e = data;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
		return MNL_CB_OK;
	e->state = nd->ndm_state;
	mnl_attr_parse(nlh, sizeof(*nd), on_attr, e);
	return MNL_CB_OK;
}

/* One request and its answer on a fresh rtnetlink socket (netlink.h). */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = gwd_netlink_open(NETLINK_ROUTE);
	int rc;

	if (!nl)
		return -errno;
	rc = gwd_netlink_talk(nl, nlh, cb, data);
	mnl_socket_close(nl);
	return rc;
}

static struct nlmsghdr *put_req(uint8_t *buf, uint16_t type, uint16_t flags, unsigned int ifindex,
				uint32_t addr, uint8_t ndm_flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = (int)ifindex;
	nd->ndm_flags = ndm_flags;
	mnl_attr_put_u32(nlh, NDA_DST, htonl(addr));
	return nlh;
}

int gwd_neigh_get(unsigned int ifindex, uint32_t addr, uint8_t lladdr[static 6])
{
	/* NOARP entries (multicast, broadcast) carry no neighbour's own address */
	const uint16_t usable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;
	uint8_t buf[256];
	struct entry e = { 0 };
	int rc;

	/*
	 * a get of one entry (kernel 4.20+): -ENOENT when there is none; the
	 * ack ends the answer for gwd_netlink_talk, which reads until one
	 */
	rc = talk(put_req(buf, RTM_GETNEIGH, NLM_F_ACK, ifindex, addr, 0), on_neigh, &e);
	if (rc)
		return rc;
	if (!(e.state & usable) || e.lllen != 6)
		return -ENOENT;
	memcpy(lladdr, e.lladdr, 6);
	return 0;
}

int gwd_neigh_resolve(unsigned int ifindex, uint32_t addr)
{
	uint8_t buf[256];

	/* NTF_USE: the kernel treats the entry as used by a packet, creating it and sending ARP */
	return talk(put_req(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_ACK, ifindex, addr, NTF_USE),
		    NULL, NULL);
}
