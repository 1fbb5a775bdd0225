/*
 * One netlink request and its answer for autotunnel-gwd's synchronous
 * queries (ct.c: ctnetlink, ownports.c: sock_diag, neigh.c: rtnetlink),
 * with a bounded wait so that the event loop never blocks for long on a
 * kernel that does not answer. libmnl does the framing.
 */
#ifndef AT_GWD_NETLINK_H
#define AT_GWD_NETLINK_H

#include <libmnl/libmnl.h>

/*
 * A socket on netlink @p bus (NETLINK_NETFILTER, NETLINK_SOCK_DIAG...),
 * bound, with a receive timeout of 1 s; NULL with errno set on failure.
 * The caller closes it with mnl_socket_close().
 */
struct mnl_socket *gwd_netlink_open(int bus);

/*
 * Send @p nlh (borrowed) on @p nl and pass every message of the answer to
 * @p cb with @p data (may be NULL for a request answered by an ack) until
 * the answer to nlh->nlmsg_seq is complete: a dump's NLMSG_DONE or the ack.
 * 0, or a negative errno (the kernel's error, a timeout, -EIO after far too
 * many rounds).
 */
int gwd_netlink_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
