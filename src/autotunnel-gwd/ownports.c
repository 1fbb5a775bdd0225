#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "autotunnel-gwd/netlink.h"
#include "autotunnel-gwd/ownports.h"

#define TCP_LISTEN_STATE 10	/* include/net/tcp_states.h: TCP_LISTEN */

struct scan {
	uint8_t proto;
	uint32_t ext;		/* network order */
	unsigned int wan_ifindex;
	uint8_t (*busy)[65536 / 8];	/* the new snapshot for proto */
};

static bool takes_ext(const struct inet_diag_msg *m, uint32_t ext)
{
	static const uint8_t any6[16];
	uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };

	memcpy(mapped + 12, &ext, 4);
	if (m->idiag_family == AF_INET)
		return m->id.idiag_src[0] == 0 || m->id.idiag_src[0] == ext;
	/* [::] (dual-stack unless IPV6_V6ONLY, which we do not see: counted) or ::ffff:ext */
	return m->idiag_family == AF_INET6 &&
	       (memcmp(m->id.idiag_src, any6, 16) == 0 || memcmp(m->id.idiag_src, mapped, 16) == 0);
}

static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	uint16_t port;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	/* a socket bound to another device (a LAN one) never sees the WAN's traffic */
	if (m->id.idiag_if && s->wan_ifindex && m->id.idiag_if != s->wan_ifindex)
		return MNL_CB_OK;
	port = ntohs(m->id.idiag_sport);
	if (port && takes_ext(m, s->ext))
		(*s->busy)[port >> 3] |= (uint8_t)(1u << (port & 7));
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, struct scan *s, uint8_t family, uint32_t states, uint32_t seq)
{
	uint8_t buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct inet_diag_req_v2))];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = family;
	r->sdiag_protocol = s->proto;
	r->idiag_states = states;
	return gwd_netlink_talk(nl, nlh, on_sock, s);
}

int gwd_ownports_scan(struct gwd_table *t, uint32_t ext_addr, unsigned int wan_ifindex)
{
	static const uint8_t protos[2] = { GWD_PROTO_TCP, GWD_PROTO_UDP };
	uint8_t (*busy)[65536 / 8] = calloc(2, sizeof(*busy));
	uint32_t seq = (uint32_t)time(NULL);
	struct mnl_socket *nl;
	int rc = 0;

	if (!busy)
		return -ENOMEM;
	nl = gwd_netlink_open(NETLINK_SOCK_DIAG);
	if (!nl) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		struct scan s = { .proto = protos[i], .ext = htonl(ext_addr), .wan_ifindex = wan_ifindex,
				  .busy = &busy[i] };
		/* TCP: listeners only (a connection's port is no service); UDP: every socket */
		uint32_t states = protos[i] == GWD_PROTO_TCP ? 1u << TCP_LISTEN_STATE : ~0u;

		rc = dump(nl, &s, AF_INET, states, ++seq);
		if (rc == 0)
			rc = dump(nl, &s, AF_INET6, states, ++seq);
	}
	if (rc == 0) {
		gwd_table_busy_clear(t);
		for (size_t i = 0; i < 2; i++)
			for (uint32_t p = 1; p < 65536; p++)
				if (busy[i][p >> 3] & (1u << (p & 7)))
					gwd_table_busy_set(t, protos[i], (uint16_t)p);
	}
	mnl_socket_close(nl);
out:
	free(busy);
	return rc;
}
