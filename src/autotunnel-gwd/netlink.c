/* One netlink request and its answer, with a bounded wait (netlink.h). */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "autotunnel-gwd/netlink.h"

struct mnl_socket *gwd_netlink_open(int bus)
{
	struct timeval tv = { 1, 0 };
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int err;

	if (!nl)
		return NULL;
	/* a bounded wait: the kernel answers at once, but never block the loop for long */
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int gwd_netlink_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static uint8_t buf[16384];	/* one loop thread; a large dump part off the stack */
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int rounds = 0; rounds < 100000; rounds++) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
	return -EIO;
}
