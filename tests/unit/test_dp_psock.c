/*
 * src/dataplane: prediction sockets (docs/dataplane.md "Prediction
 * sockets"): ephemeral ports, a STUN check sent from one, what arrives on
 * one handed up with its id (STUN and IKE), a socket bound to a remote
 * carrying the IKE and keepalives sent there while checks stay on our port,
 * closing, and the bounds (DP_PSOCK_MAX, a quarter of the open-file
 * limit). A real data plane in a network namespace of its own (root
 * needed: skipped otherwise), talking to a plain UDP socket on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/dp.h"

#define PORT 4500

static struct dp *dp;
static int peer_fd;		/* the "peer": a UDP socket on 127.0.0.1 */
static union dp_addr peer_addr;

/* A STUN Binding request (RFC 8489 §5): 20 bytes, no attributes. */
static const uint8_t stun_req[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
				      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static union dp_addr loop4(uint16_t port)
{
	union dp_addr a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_port = htons(port);
	a.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* What the peer received next: its length, and the source port into @p sport. */
static ssize_t peer_recv(uint8_t *buf, size_t len, uint16_t *sport)
{
	struct pollfd p = { .fd = peer_fd, .events = POLLIN };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	if (poll(&p, 1, 2000) != 1)
		return -1;
	n = recvfrom(peer_fd, buf, len, 0, (struct sockaddr *)&from, &fl);
	*sport = ntohs(from.sin_port);
	return n;
}

/* The next event from the workers, within 2 s. */
static bool next_event(struct dp_event *ev)
{
	struct pollfd p = { .fd = dp_event_fd(dp), .events = POLLIN };

	for (int i = 0; i < 20; i++) {
		if (dp_event_next(dp, ev))
			return true;
		(void)poll(&p, 1, 100);
	}
	return false;
}

static void open_gives_distinct_ephemeral_ports(void **st)
{
	uint16_t ids[3];

	(void)st;
	assert_int_equal(dp_psock_count(dp), 0);
	assert_int_equal(dp_psock_open(dp, 3, ids), 3);
	assert_int_equal(dp_psock_count(dp), 3);
	for (int i = 0; i < 3; i++) {
		assert_true(ids[i] >= 1 && ids[i] <= DP_PSOCK_MAX);
		assert_int_not_equal(dp_psock_port(dp, ids[i]), 0);
		assert_int_not_equal(dp_psock_port(dp, ids[i]), PORT);
		for (int j = 0; j < i; j++) {
			assert_int_not_equal(ids[i], ids[j]);
			assert_int_not_equal(dp_psock_port(dp, ids[i]), dp_psock_port(dp, ids[j]));
		}
	}
	for (int i = 0; i < 3; i++)
		dp_psock_close(dp, ids[i]);
	assert_int_equal(dp_psock_count(dp), 0);
	assert_int_equal(dp_psock_port(dp, ids[0]), 0);
}

static void stun_out_and_in_with_the_id(void **st)
{
	uint16_t id, sport;
	uint8_t buf[64];
	union dp_addr to;
	struct dp_event *ev = test_malloc(sizeof(*ev));

	(void)st;
	assert_int_equal(dp_psock_open(dp, 1, &id), 1);
	/* out: from the socket's own port */
	assert_int_equal(dp_psock_send_stun(dp, id, &peer_addr, stun_req, sizeof(stun_req)), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), (ssize_t)sizeof(stun_req));
	assert_memory_equal(buf, stun_req, sizeof(stun_req));
	assert_int_equal(sport, dp_psock_port(dp, id));
	/* in: DP_EV_STUN with the socket's id and the sender */
	to = loop4(dp_psock_port(dp, id));
	assert_int_equal(sendto(peer_fd, stun_req, sizeof(stun_req), 0, &to.sa, sizeof(to.sin)), (ssize_t)sizeof(stun_req));
	assert_true(next_event(ev));
	assert_int_equal(ev->type, DP_EV_STUN);
	assert_int_equal(ev->sock, id);
	assert_true(dp_addr_eq(&ev->from, &peer_addr));
	assert_int_equal(ev->len, sizeof(stun_req));
	/* on our port the same message has no id */
	to = loop4(PORT);
	assert_int_equal(sendto(peer_fd, stun_req, sizeof(stun_req), 0, &to.sa, sizeof(to.sin)), (ssize_t)sizeof(stun_req));
	assert_true(next_event(ev));
	assert_int_equal(ev->type, DP_EV_STUN);
	assert_int_equal(ev->sock, 0);
	/* IPv6 and unknown ids are refused */
	{
		union dp_addr v6 = { .sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) } };

		assert_int_equal(dp_psock_send_stun(dp, id, &v6, stun_req, sizeof(stun_req)), -EAFNOSUPPORT);
		assert_int_equal(dp_psock_bind(dp, id, &v6), -EAFNOSUPPORT);
	}
	dp_psock_close(dp, id);
	assert_int_equal(dp_psock_send_stun(dp, id, &peer_addr, stun_req, sizeof(stun_req)), -ENOENT);
	assert_int_equal(dp_psock_bind(dp, id, &peer_addr), -ENOENT);
	assert_int_equal(dp_psock_send_stun(dp, 0, &peer_addr, stun_req, sizeof(stun_req)), -ENOENT);
	assert_int_equal(dp_psock_send_stun(dp, DP_PSOCK_MAX + 1, &peer_addr, stun_req, sizeof(stun_req)), -ENOENT);
	test_free(ev);
}

static void a_bound_socket_carries_ike_and_keepalives(void **st)
{
	static const uint8_t ike[8] = { 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4 };
	uint16_t id[2], sport;
	uint8_t buf[64], in[12] = { 0 };
	union dp_addr to;
	struct dp_event *ev = test_malloc(sizeof(*ev));

	(void)st;
	assert_int_equal(dp_psock_open(dp, 2, id), 2);
	assert_int_equal(dp_psock_bind(dp, id[1], &peer_addr), 0);
	/* IKE: the non-ESP marker, from the bound socket */
	assert_int_equal(dp_send_ike(dp, &peer_addr, ike, sizeof(ike)), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), 12);
	assert_int_equal(sport, dp_psock_port(dp, id[1]));
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_memory_equal(buf + 4, ike, sizeof(ike));
	/* RFC 3948 §2.3 keepalive, from the bound socket */
	assert_int_equal(dp_send_keepalive(dp, &peer_addr), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), 1);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(sport, dp_psock_port(dp, id[1]));
	/* a check proves our port's path: never from the bound socket */
	assert_int_equal(dp_send_stun(dp, &peer_addr, stun_req, sizeof(stun_req)), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), (ssize_t)sizeof(stun_req));
	assert_int_equal(sport, PORT);
	/* another destination is not bound */
	{
		union dp_addr other = peer_addr;

		other.sin.sin_port = htons((uint16_t)(ntohs(peer_addr.sin.sin_port) + 1));
		assert_int_equal(dp_send_keepalive(dp, &other), 0);	/* nobody listens there: just no error */
	}
	/* IKE the peer sends to the socket goes up with its id, our port as the local one */
	memcpy(in + 4, ike, sizeof(ike));
	to = loop4(dp_psock_port(dp, id[1]));
	assert_int_equal(sendto(peer_fd, in, sizeof(in), 0, &to.sa, sizeof(to.sin)), (ssize_t)sizeof(in));
	assert_true(next_event(ev));
	assert_int_equal(ev->type, DP_EV_IKE);
	assert_int_equal(ev->sock, id[1]);
	assert_int_equal(ev->local_port, PORT);
	assert_int_equal(ev->len, sizeof(ike));
	assert_memory_equal(ev->data, ike, sizeof(ike));
	/* binding the same remote to the other socket moves it there (one socket per remote) */
	assert_int_equal(dp_psock_bind(dp, id[0], &peer_addr), 0);
	assert_int_equal(dp_send_keepalive(dp, &peer_addr), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), 1);
	assert_int_equal(sport, dp_psock_port(dp, id[0]));
	/* unbound: our port again */
	assert_int_equal(dp_psock_bind(dp, id[0], NULL), 0);
	assert_int_equal(dp_send_ike(dp, &peer_addr, ike, sizeof(ike)), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), 12);
	assert_int_equal(sport, PORT);
	/* closing a bound socket unbinds it */
	assert_int_equal(dp_psock_bind(dp, id[1], &peer_addr), 0);
	dp_psock_close(dp, id[1]);
	assert_int_equal(dp_send_keepalive(dp, &peer_addr), 0);
	assert_int_equal(peer_recv(buf, sizeof(buf), &sport), 1);
	assert_int_equal(sport, PORT);
	dp_psock_close(dp, id[0]);
	dp_psock_close(dp, id[0]);	/* twice: ignored */
	assert_int_equal(dp_psock_count(dp), 0);
	test_free(ev);
}

static void bounded_by_the_pool_and_the_file_limit(void **st)
{
	static uint16_t ids[DP_PSOCK_MAX + 8];
	struct rlimit old, low;
	int n;

	(void)st;
	/* the pool: DP_PSOCK_MAX at most, each id once (the default limit here is far above 4 * 1024) */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < 4 * (DP_PSOCK_MAX + 64)) {
		low = old;
		low.rlim_cur = old.rlim_max == RLIM_INFINITY || old.rlim_max >= 4 * (DP_PSOCK_MAX + 64) ?
				       4 * (DP_PSOCK_MAX + 64) : old.rlim_max;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	}
	n = dp_psock_open(dp, DP_PSOCK_MAX + 8, ids);
	assert_int_equal(n, DP_PSOCK_MAX);
	assert_int_equal(dp_psock_count(dp), DP_PSOCK_MAX);
	assert_int_equal(dp_psock_open(dp, 1, ids + DP_PSOCK_MAX), -ENOSPC);
	for (int i = 0; i < n; i++)
		assert_int_equal(ids[i], i + 1);
	for (int i = 0; i < n; i++)
		dp_psock_close(dp, ids[i]);
	assert_int_equal(dp_psock_count(dp), 0);
	/* a quarter of the open-file limit: 200 -> 50 */
	low = old;
	low.rlim_cur = 200;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	n = dp_psock_open(dp, 256, ids);
	assert_int_equal(n, 50);
	assert_int_equal(dp_psock_open(dp, 1, ids + 50), -ENOSPC);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < n; i++)
		dp_psock_close(dp, ids[i]);
	assert_int_equal(dp_psock_count(dp), 0);
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_gives_distinct_ephemeral_ports),
		cmocka_unit_test(stun_out_and_in_with_the_id),
		cmocka_unit_test(a_bound_socket_carries_ike_and_keepalives),
		cmocka_unit_test(bounded_by_the_pool_and_the_file_limit),
	};
	struct dp_conf conf = { .ifname = "atpsock0", .port = PORT, .workers = 1 };
	char err[256];
	socklen_t al = sizeof(peer_addr.sin);
	int rc;

	/* a namespace of our own: the TUN device, port 4500 and loopback are the test's alone */
	if (unshare(CLONE_NEWNET) != 0 || lo_up() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: needs root (a network namespace and a TUN device)\n");
		return 77;
	}
	inet_pton(AF_INET6, "fd00::1", &conf.ula);
	if (dp_new(&dp, &conf, err, sizeof(err)) || dp_start(dp)) {
		printf("SKIP: no data plane here: %s\n", err);
		return 77;
	}
	peer_addr = loop4(0);
	peer_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (peer_fd < 0 || bind(peer_fd, &peer_addr.sa, sizeof(peer_addr.sin)) ||
	    getsockname(peer_fd, &peer_addr.sa, &al)) {
		perror("peer socket");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	close(peer_fd);
	dp_free(dp);
	return rc;
}
