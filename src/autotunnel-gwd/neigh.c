#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "autotunnel-gwd/neigh.h"

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

/* One request, its answer (or ack) read with a bounded wait. */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint8_t buf[8192];
	struct timeval tv = { 1, 0 };
	struct mnl_socket *nl;
	unsigned int portid;
	ssize_t n;
	int rc = -EIO;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	/* the kernel answers at once; never block the event loop for long all the same */
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	for (int rounds = 0; rounds < 16; rounds++) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (rc < 0) {
			rc = -errno;
			break;
		}
		if (rc == MNL_CB_STOP || !(nlh->nlmsg_flags & NLM_F_DUMP)) {
			rc = 0;
			break;
		}
	}
out:
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

	/* a get of one entry (kernel 4.20+): -ENOENT when there is none */
	rc = talk(put_req(buf, RTM_GETNEIGH, 0, ifindex, addr, 0), on_neigh, &e);
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
