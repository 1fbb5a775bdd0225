/*
 * src/dataplane/dp.c: the control side of the data plane: device and
 * sockets, the peer and SA tables (replaced whole and published to the
 * workers RCU-style), events from the workers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dataplane/dp_int.h"
#include "dataplane/native.h"
#include "dataplane/tun.h"
#include "stun/frame.h"
#include "util/random.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static void sa_free(struct dp_sa *sa)
{
	if (!sa)
		return;
	for (int i = 0; i < DP_CTX; i++) {
		esp_aead_free(sa->enc[i]);
		esp_aead_free(sa->dec[i]);
	}
	pthread_mutex_destroy(&sa->in_lock);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Wait until no worker can still be inside a batch that began before now. */
static void synchronize(struct dp *dp)
{
	for (int i = 0; i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->w[i];
		uint64_t e = atomic_load_explicit(&w->epoch, memory_order_seq_cst);
		struct timespec ts = { 0, 20000 };

		if (!w->running || !(e & 1))
			continue;
		/* a batch takes microseconds; bounded anyway (about 5 s) */
		for (int spin = 0; spin < 250000 && atomic_load(&w->epoch) == e; spin++)
			nanosleep(&ts, NULL);
	}
}

static struct dp_table *table_clone(const struct dp_table *t)
{
	struct dp_table *n = malloc(sizeof(*n));

	if (n)
		memcpy(n, t, sizeof(*n));
	return n;
}

static uint32_t hash_bytes(const uint8_t *a, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

static void index_addr(struct dp_table *t, uint8_t family, const void *addr, int peer)
{
	size_t alen = family == 6 ? 16 : 4;
	uint32_t h = hash_bytes(addr, alen);

	for (uint32_t i = 0; i < DP_ADDR_SLOTS; i++) {
		__typeof__(t->by_addr[0]) *e = &t->by_addr[(h + i) & (DP_ADDR_SLOTS - 1)];

		if (!e->used) {
			e->used = 1;
			e->family = family;
			memcpy(e->addr, addr, alen);
			e->peer = (int16_t)peer;
			return;
		}
	}
}

/* Rebuild the lookup indexes of @p t from its SA list and the peers. */
static void table_index(struct dp *dp, struct dp_table *t)
{
	memset(t->by_spi, 0, sizeof(t->by_spi));
	memset(t->by_addr, 0, sizeof(t->by_addr));
	for (int i = 0; i < t->nsa; i++) {
		uint32_t spi = t->sa[i]->spi_in;

		for (uint32_t j = 0; j < DP_SPI_SLOTS; j++) {
			struct dp_sa **slot = &t->by_spi[(spi * 2654435761u + j) & (DP_SPI_SLOTS - 1)];

			if (!*slot) {
				*slot = t->sa[i];
				break;
			}
		}
	}
	for (int p = 0; p < t->npeers; p++) {
		/* a prediction socket bound to the peer's outer address carries its ESP */
		t->peer[p].sock = 0;
		for (int b = 0; b < t->nbind; b++)
			if (t->peer[p].path.kind == DP_PATH_UDP && dp_addr_eq(&t->bind[b].remote, &t->peer[p].remote))
				t->peer[p].sock = t->bind[b].sock;
		if (dp->peers[p]->has_ula)
			index_addr(t, 6, &dp->peers[p]->ula, p);
		if (dp->peers[p]->has_v4)
			index_addr(t, 4, &dp->peers[p]->v4, p);
	}
}

/* Publish @p nt to the workers; free the old table (and @p retired) once no worker can see it. */
static void table_publish(struct dp *dp, struct dp_table *nt, struct dp_sa *retired)
{
	struct dp_table *old;

	table_index(dp, nt);
	/* seq_cst pairs with the workers' epoch increment: either a worker sees nt, or we see it inside */
	old = atomic_exchange_explicit(&dp->table, nt, memory_order_seq_cst);
	synchronize(dp);
	free(old);
	sa_free(retired);
}

/*
 * A raw IPv4 socket for IP protocol @p proto: native ESP, or the RSIP
 * tunnel. The kernel reassembles what it delivers; a packet a raw socket
 * took is not answered with ICMP protocol-unreachable (this kernel has no
 * ESP of its own). Large buffers: worker 0 alone reads it.
 */
static int raw_open(int proto, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto), buf = 4 << 20;
	int pmtu = IP_PMTUDISC_DONT;

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "raw socket for IP protocol %d: %s", proto, strerror(e));
		return -e;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* fragment rather than drop a packet larger than the path (the peer or gateway reassembles) */
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	return fd;
}

/*
 * One worker's UDP socket on our port for @p family. IPv6 gets a socket of
 * its own (IPV6_V6ONLY) rather than one dual-stack socket for both: the
 * IPv4 path stays what it was (no IPv4-mapped addresses, no detour through
 * the IPv6 send path), and a host without IPv6 just has no second socket
 * (docs/dataplane.md, "Outer IPv6").
 */
static int udp_open(struct dp *dp, int family, int *out, char *err, size_t errlen)
{
	union dp_addr a = { 0 };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, buf = 8 << 20;
	int pmtu = IP_PMTUDISC_DONT, pmtu6 = IPV6_PMTUDISC_DONT;

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	*out = fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (family == AF_INET6) {
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons(dp->conf.port);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
			int e = errno;

			snprintf(err, errlen, "IPV6_V6ONLY: %s", strerror(e));
			return -e;
		}
		/*
		 * Routers never fragment IPv6 (RFC 8200 §5): let this host do it,
		 * as the IPv4 socket lets the path do it, rather than drop.
		 */
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof(pmtu6));
	} else {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons(dp->conf.port);
		/* outer fragmentation is better than a black hole behind a small-MTU NAT */
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	}
	if (dp->gro_ok && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		dp->gro_ok = false;
	if (bind(fd, &a.sa, dp_addr_len(&a)) < 0) {
		int e = errno;

		snprintf(err, errlen, "bind UDP port %u (%s): %s", dp->conf.port, family == AF_INET6 ? "IPv6" : "IPv4",
			 strerror(e));
		return -e;
	}
	return 0;
}

const char *dp_addr_str(const union dp_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET && inet_ntop(AF_INET, &a->sin.sin_addr, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, ntohs(a->sin.sin_port));
	else if (a->sa.sa_family == AF_INET6 && inet_ntop(AF_INET6, &a->sin6.sin6_addr, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->sin6.sin6_port));
	else
		snprintf(buf, len, "?");
	return buf;
}

int dp_new(struct dp **out, const struct dp_conf *conf, char *err, size_t errlen)
{
	struct dp *dp;
	struct dp_table *t0;
	int fds[DP_MAX_WORKERS], nq, ret;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	*out = NULL;
	if (!(dp = calloc(1, sizeof(*dp)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dp->conf = *conf;
	snprintf(dp->ifname, sizeof(dp->ifname), "%s", conf->ifname ? conf->ifname : "autotun0");
	dp->conf.ifname = dp->ifname;
	if (!dp->conf.mtu)
		dp->conf.mtu = 1400;
	if (!dp->conf.port)
		dp->conf.port = 4500;
	if (!dp->conf.pending_max)
		dp->conf.pending_max = 16;
	if (dp->conf.pending_max > 64)
		dp->conf.pending_max = 64;
	nq = dp->conf.workers > 0 ? dp->conf.workers : (int)(ncpu > 0 ? ncpu : 1);
	if (nq > DP_MAX_WORKERS)
		nq = DP_MAX_WORKERS;
	dp->stop_fd = dp->event_fd = -1;
	dp->esp_fd = dp->ipip_fd = -1;
	dp->psock_ep = -1;
	if (dp_rstream_init(dp)) {
		snprintf(err, errlen, "out of memory");
		dp_rstream_fini(dp);
		free(dp);
		return -ENOMEM;
	}
	pthread_mutex_init(&dp->evq_lock, NULL);
	if (!(dp->evq = calloc(DP_EVQ, sizeof(*dp->evq))) || !(t0 = calloc(1, sizeof(struct dp_table))) ||
	    !(dp->psock = calloc(DP_PSOCK_MAX + 1, sizeof(*dp->psock)))) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i <= DP_PSOCK_MAX; i++)
		atomic_init(&dp->psock[i].fd, -1);
	atomic_store(&dp->table, t0);	/* clang refuses ! on an _Atomic pointer */
	for (int i = 0; i < DP_MAX_WORKERS; i++)
		dp->w[i].tun_fd = dp->w[i].udp_fd = dp->w[i].udp6_fd = -1;

	if ((ret = tun_open(dp->ifname, !dp->conf.no_offload, fds, &nq, err, errlen)))
		goto fail;
	dp->nworkers = nq;
	for (int i = 0; i < nq; i++) {
		if ((ret = dp_worker_init(&dp->w[i], dp, i))) {
			snprintf(err, errlen, "out of memory");
			for (int j = i; j < nq; j++)
				close(fds[j]);
			goto fail;
		}
		dp->w[i].tun_fd = fds[i];
	}
	dp->ifindex = (int)if_nametoindex(dp->ifname);
	if ((ret = tun_link_up(dp->ifindex, dp->conf.mtu)) ||
	    (ret = tun_addr_add(dp->ifindex, AF_INET6, &dp->conf.ula, 128)) ||
	    (dp->conf.has_v4 && (ret = tun_addr_add(dp->ifindex, AF_INET, &dp->conf.v4, 32)))) {
		snprintf(err, errlen, "%s: setting link, MTU or address: %s", dp->ifname, strerror(-ret));
		goto fail;
	}

	atomic_init(&dp->gso_ok, !dp->conf.no_offload);
	dp->gro_ok = !dp->conf.no_offload;
	for (int i = 0; i < nq; i++) {
		if ((ret = udp_open(dp, AF_INET, &dp->w[i].udp_fd, err, errlen)))
			goto fail;
		/* no IPv6 on this host (or this worker): IPv4 peers only, as before */
		if (!(i > 0 && dp->w[0].udp6_fd < 0) && udp_open(dp, AF_INET6, &dp->w[i].udp6_fd, err, errlen)) {
			if (i == 0)
				log_info("data plane: no IPv6 UDP socket (%s); outer IPv4 only", err);
			for (int j = 0; j <= i; j++)
				if (dp->w[j].udp6_fd >= 0) {
					close(dp->w[j].udp6_fd);
					dp->w[j].udp6_fd = -1;
				}
			err[0] = 0;
		}
	}
	if (dp->conf.native_esp && (ret = dp->esp_fd = raw_open(DP_IPPROTO_ESP, err, errlen)) < 0)
		goto fail;
	if (dp->conf.rsip && (ret = dp->ipip_fd = raw_open(DP_IPPROTO_IPIP, err, errlen)) < 0)
		goto fail;
	if ((dp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (dp->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* one descriptor for worker 0 to poll however many prediction sockets are open */
	if ((dp->psock_ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	/* the control thread sends queued packets with context slot nworkers */
	if ((ret = dp_worker_init(&dp->ctl, dp, nq))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	dp->ctl.udp_fd = dp->w[0].udp_fd;
	dp->ctl.udp6_fd = dp->w[0].udp6_fd;
	*out = dp;
	return 0;
fail:
	dp_free(dp);
	return ret < 0 ? ret : -EIO;
}

int dp_start(struct dp *dp)
{
	for (int i = 0; i < dp->nworkers; i++) {
		char name[16];
		int ret = pthread_create(&dp->w[i].thread, NULL, dp_worker_main, &dp->w[i]);

		if (ret)
			return -ret;
		dp->w[i].running = true;
		snprintf(name, sizeof(name), "dp-worker%d", i & 7);
		pthread_setname_np(dp->w[i].thread, name);
	}
	return 0;
}

void dp_free(struct dp *dp)
{
	struct dp_table *t;
	uint64_t one = 1;

	if (!dp)
		return;
	if (dp->stop_fd >= 0 && write(dp->stop_fd, &one, sizeof(one)) < 0)
		log_warn("stopping workers");
	for (int i = 0; i < dp->nworkers; i++)
		if (dp->w[i].running)
			pthread_join(dp->w[i].thread, NULL);
	for (int i = 0; i < DP_MAX_WORKERS; i++) {
		if (dp->w[i].tun_fd >= 0)
			close(dp->w[i].tun_fd);
		if (dp->w[i].udp_fd >= 0)
			close(dp->w[i].udp_fd);
		if (dp->w[i].udp6_fd >= 0)
			close(dp->w[i].udp6_fd);
		dp_worker_fini(&dp->w[i]);
	}
	dp_worker_fini(&dp->ctl);
	if ((t = atomic_load(&dp->table))) {
		for (int i = 0; i < t->nsa; i++)
			sa_free(t->sa[i]);
		free(t);
	}
	for (int p = 0; p < dp->npeers; p++) {
		for (int i = 0; i < 64; i++)
			free(dp->peers[p]->pend[i]);
		pthread_mutex_destroy(&dp->peers[p]->pend_lock);
		free(dp->peers[p]);
	}
	if (dp->stop_fd >= 0)
		close(dp->stop_fd);
	if (dp->event_fd >= 0)
		close(dp->event_fd);
	if (dp->esp_fd >= 0)
		close(dp->esp_fd);
	if (dp->ipip_fd >= 0)
		close(dp->ipip_fd);
	for (int i = 1; dp->psock && i <= DP_PSOCK_MAX; i++)
		if (atomic_load(&dp->psock[i].fd) >= 0)
			close(atomic_load(&dp->psock[i].fd));
	free(dp->psock);
	if (dp->psock_ep >= 0)
		close(dp->psock_ep);
	free(dp->evq);
	pthread_mutex_destroy(&dp->evq_lock);
	dp_rstream_fini(dp);
	free(dp);
}

int dp_peer_add(struct dp *dp, const struct dp_peer_conf *pc)
{
	struct dp_table *nt;
	struct dp_peer *p;
	int id = dp->npeers, ret;

	if (id >= DP_MAX_PEERS)
		return -ENOSPC;
	if (!pc->name || strlen(pc->name) > DP_NAME_MAX || (!pc->has_ula && !pc->has_v4))
		return -EINVAL;
	if (dp_peer_find(dp, pc->name) >= 0)
		return -EEXIST;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	snprintf(p->name, sizeof(p->name), "%s", pc->name);
	p->has_ula = pc->has_ula;
	p->ula = pc->ula;
	p->has_v4 = pc->has_v4;
	p->v4 = pc->v4;
	pthread_mutex_init(&p->pend_lock, NULL);
	if (!(nt = table_clone(atomic_load(&dp->table)))) {
		free(p);
		return -ENOMEM;
	}
	dp->peers[id] = p;
	dp->npeers++;
	nt->npeers = dp->npeers;
	memset(&nt->peer[id], 0, sizeof(nt->peer[id]));
	if (pc->remote.sa.sa_family == AF_INET ||
	    (pc->remote.sa.sa_family == AF_INET6 && dp->w[0].udp6_fd >= 0))
		nt->peer[id].remote = pc->remote;
	table_publish(dp, nt, NULL);

	if (p->has_ula && (ret = tun_route_add(dp->ifindex, AF_INET6, &p->ula, 128, &dp->conf.ula)))
		return ret;
	if (p->has_v4 && (ret = tun_route_add(dp->ifindex, AF_INET, &p->v4, 32,
					      dp->conf.has_v4 ? &dp->conf.v4 : NULL)))
		return ret;
	return id;
}

int dp_peer_set_ula(struct dp *dp, int peer, const struct in6_addr *ula)
{
	struct dp_table *nt, *cur;
	struct dp_peer *p;
	struct in6_addr old;
	int ret;

	if (peer < 0 || peer >= dp->npeers)
		return -ENOENT;
	p = dp->peers[peer];
	if (!p->has_ula)
		return -EINVAL;
	/* the old address's SAs go first (the caller's IKE removal may have left some) */
	for (int i = 0; (cur = atomic_load(&dp->table)) && i < cur->nsa; i++) {
		if (cur->sa[i]->peer != peer)
			continue;
		if ((ret = dp_sa_remove(dp, cur->sa[i]->spi_in)))
			return ret;
		i = -1;
	}
	/* packets held for the old address mean nothing to the new one */
	pthread_mutex_lock(&p->pend_lock);
	for (int i = 0; i < p->npend; i++) {
		free(p->pend[i]);
		p->pend[i] = NULL;
	}
	p->npend = 0;
	pthread_mutex_unlock(&p->pend_lock);
	/*
	 * Every table published above has no SA of this peer, and publishing
	 * waits until no worker holds an older one: no worker checks a packet
	 * against p->ula (inner_ok) now, so it may change in place.
	 */
	old = p->ula;
	p->ula = *ula;
	atomic_store(&p->need_reported, false);
	if (!(nt = table_clone(atomic_load(&dp->table))))
		return -ENOMEM;
	table_publish(dp, nt, NULL);	/* the address index follows */
	if (memcmp(&old, ula, sizeof(old)))
		(void)tun_route_del(dp->ifindex, AF_INET6, &old, 128);
	return tun_route_add(dp->ifindex, AF_INET6, ula, 128, &dp->conf.ula);
}

const char *dp_peer_name(const struct dp *dp, int peer)
{
	return peer >= 0 && peer < dp->npeers ? dp->peers[peer]->name : "?";
}

int dp_peer_find(const struct dp *dp, const char *name)
{
	for (int i = 0; i < dp->npeers; i++)
		if (!strcmp(dp->peers[i]->name, name))
			return i;
	return -ENOENT;
}

int dp_peer_set_remote(struct dp *dp, int peer, const union dp_addr *remote)
{
	struct dp_table *nt, *cur = atomic_load(&dp->table);

	if (peer < 0 || peer >= dp->npeers)
		return -ENOENT;
	if (remote->sa.sa_family == AF_INET6 && dp->w[0].udp6_fd < 0)
		return -EAFNOSUPPORT;
	/* native ESP and RSIP paths are IPv4 (their raw sockets are) */
	if (remote->sa.sa_family == AF_INET6 && cur->peer[peer].path.kind != DP_PATH_UDP)
		return -EAFNOSUPPORT;
	if (!(nt = table_clone(cur)))
		return -ENOMEM;
	nt->peer[peer].remote = *remote;
	if (nt->peer[peer].local.sa.sa_family != remote->sa.sa_family)
		memset(&nt->peer[peer].local, 0, sizeof(nt->peer[peer].local));
	table_publish(dp, nt, NULL);
	atomic_store(&dp->peers[peer]->roam_reported, false);
	return 0;
}

bool dp_peer_flush_held(struct dp *dp, int peer)
{
	struct dp_table *t = atomic_load(&dp->table);

	if (peer < 0 || peer >= dp->npeers || !t->peer[peer].out)
		return false;
	dp_worker_flush_pending(&dp->ctl, t, peer);
	return true;
}

void dp_peer_need_reset(struct dp *dp, int peer)
{
	if (peer >= 0 && peer < dp->npeers)
		atomic_store(&dp->peers[peer]->need_reported, false);
}

void dp_peer_remote(const struct dp *dp, int peer, union dp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (peer >= 0 && peer < dp->npeers)
		*out = atomic_load(&((struct dp *)(uintptr_t)dp)->table)->peer[peer].remote;
}

int dp_peer_set_local(struct dp *dp, int peer, const union dp_addr *local)
{
	struct dp_table *nt, *cur = atomic_load(&dp->table);
	union dp_addr l = { 0 };

	if (peer < 0 || peer >= dp->npeers)
		return -ENOENT;
	if (local && local->sa.sa_family) {
		if (local->sa.sa_family != cur->peer[peer].remote.sa.sa_family)
			return -EINVAL;
		l = *local;
	}
	if (dp_addr_eq_host(&cur->peer[peer].local, &l))
		return 0;	/* no new table for nothing: IKE calls this on every move */
	if (!(nt = table_clone(cur)))
		return -ENOMEM;
	nt->peer[peer].local = l;
	table_publish(dp, nt, NULL);
	return 0;
}

void dp_peer_local(const struct dp *dp, int peer, union dp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (peer >= 0 && peer < dp->npeers)
		*out = atomic_load(&((struct dp *)(uintptr_t)dp)->table)->peer[peer].local;
}

bool dp_has_ipv6(const struct dp *dp)
{
	return dp->w[0].udp6_fd >= 0;
}

int dp_peer_activity(const struct dp *dp, int peer, uint64_t *sent, uint64_t *received)
{
	/* the control thread alone retires SAs, so the table it reads here stays alive */
	const struct dp_table *t = atomic_load(&((struct dp *)(uintptr_t)dp)->table);

	*sent = *received = 0;
	if (peer < 0 || peer >= dp->npeers)
		return -ENOENT;
	for (int i = 0; i < t->nsa; i++) {
		struct dp_sa *sa = t->sa[i];

		if (sa->peer != peer)
			continue;
		*sent += atomic_load_explicit(&sa->out.seq, memory_order_relaxed);
		pthread_mutex_lock(&sa->in_lock);
		*received += sa->in.replay.top;
		pthread_mutex_unlock(&sa->in_lock);
	}
	return 0;
}

int dp_peer_set_path(struct dp *dp, int peer, const struct dp_path *path)
{
	struct dp_table *nt;

	if (peer < 0 || peer >= dp->npeers)
		return -ENOENT;
	if (path->kind != DP_PATH_UDP && path->kind != DP_PATH_ESP && path->kind != DP_PATH_RSIP)
		return -EINVAL;
	if ((path->kind == DP_PATH_ESP && dp->esp_fd < 0) || (path->kind == DP_PATH_RSIP && dp->ipip_fd < 0))
		return -EOPNOTSUPP;
	if (path->kind == DP_PATH_RSIP && (!path->src.s_addr || !path->tunnel.s_addr))
		return -EINVAL;
	if (path->kind != DP_PATH_UDP && atomic_load(&dp->table)->peer[peer].remote.sa.sa_family == AF_INET6)
		return -EAFNOSUPPORT;	/* native ESP and RSIP are IPv4 */
	if (!(nt = table_clone(atomic_load(&dp->table))))
		return -ENOMEM;
	nt->peer[peer].path = *path;
	table_publish(dp, nt, NULL);
	return 0;
}

void dp_peer_path(const struct dp *dp, int peer, struct dp_path *out)
{
	memset(out, 0, sizeof(*out));
	if (peer >= 0 && peer < dp->npeers)
		*out = atomic_load(&((struct dp *)(uintptr_t)dp)->table)->peer[peer].path;
}

/* AES-CBC IVs (RFC 3602 §2.1): OpenSSL's CSPRNG, thread-safe, no system call per packet */
static int cbc_iv_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

int dp_sa_install(struct dp *dp, int peer, const struct dp_sa_conf *sc)
{
	struct dp_table *nt, *cur = atomic_load(&dp->table);
	struct dp_sa *sa;
	int ret;

	if (peer < 0 || peer >= dp->npeers || sc->spi_in == 0 || sc->spi_out == 0)
		return -EINVAL;
	if (dp_table_sa(cur, sc->spi_in))
		return -EEXIST;
	if (cur->nsa >= DP_MAX_SAS)
		return -ENOSPC;
	if (!(sa = calloc(1, sizeof(*sa))))
		return -ENOMEM;
	sa->spi_in = sc->spi_in;
	sa->peer = peer;
	sa->lay = esp_layout_of(sc->cipher);
	esp_out_init(&sa->out, sc->spi_out, sc->esn);
	esp_in_init(&sa->in, sc->spi_in, sc->esn);
	pthread_mutex_init(&sa->in_lock, NULL);
	atomic_init(&sa->rekey_reported, false);
	for (int i = 0; i <= dp->nworkers; i++) {
		if ((ret = esp_aead_new_rng(&sa->enc[i], sc->cipher, sc->key_out, true, cbc_iv_random, NULL)) ||
		    (ret = esp_aead_new(&sa->dec[i], sc->cipher, sc->key_in, false))) {
			sa_free(sa);
			return ret;
		}
	}
	if (!(nt = table_clone(cur))) {
		sa_free(sa);
		return -ENOMEM;
	}
	nt->sa[nt->nsa++] = sa;
	nt->peer[peer].out = sa;
	table_publish(dp, nt, NULL);
	/* packets that waited for this SA go out now, in order */
	dp_worker_flush_pending(&dp->ctl, atomic_load(&dp->table), peer);
	return 0;
}

int dp_sa_remove(struct dp *dp, uint32_t spi_in)
{
	struct dp_table *nt, *cur = atomic_load(&dp->table);
	struct dp_sa *sa = dp_table_sa(cur, spi_in);
	int j = 0;

	if (!sa)
		return -ENOENT;
	if (!(nt = table_clone(cur)))
		return -ENOMEM;
	for (int i = 0; i < nt->nsa; i++)
		if (nt->sa[i] != sa)
			nt->sa[j++] = nt->sa[i];
	nt->nsa = j;
	if (nt->peer[sa->peer].out == sa) {
		nt->peer[sa->peer].out = NULL;
		/* another SA of the same peer (a rekey's survivor) takes over */
		for (int i = nt->nsa - 1; i >= 0; i--)
			if (nt->sa[i]->peer == sa->peer) {
				nt->peer[sa->peer].out = nt->sa[i];
				break;
			}
	}
	table_publish(dp, nt, sa);
	return 0;
}

int dp_event_fd(const struct dp *dp)
{
	return dp->event_fd;
}

bool dp_event_next(struct dp *dp, struct dp_event *ev)
{
	uint64_t v;
	bool got = false;

	if (read(dp->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event fd");
	pthread_mutex_lock(&dp->evq_lock);
	if (dp->evq_n) {
		const struct dp_event *e = &dp->evq[dp->evq_head];

		memcpy(ev, e, offsetof(struct dp_event, data) + e->len);
		dp->evq_head = (dp->evq_head + 1) % DP_EVQ;
		dp->evq_n--;
		got = true;
	}
	pthread_mutex_unlock(&dp->evq_lock);
	return got;
}

/* The prediction socket bound to @p to (0: none). */
static uint16_t bound_sock(struct dp *dp, const union dp_addr *to)
{
	const struct dp_table *t = atomic_load(&dp->table);

	for (int b = 0; b < t->nbind; b++)
		if (dp_addr_eq(&t->bind[b].remote, to))
			return t->bind[b].sock;
	return 0;
}

/*
 * A datagram from our port to @p to, on the socket of its family; or, with
 * @p follow, from the prediction socket bound to @p to if there is one
 * (IKE and keepalives go where the tunnel's ESP goes).
 */
static int send_udp(struct dp *dp, const union dp_addr *to, const uint8_t *buf, size_t len, bool follow)
{
	socklen_t tl = dp_addr_len(to);
	int fd = to->sa.sa_family == AF_INET6 ? dp->w[0].udp6_fd : dp->w[0].udp_fd;
	uint16_t k = follow ? bound_sock(dp, to) : 0;

	if (k)
		fd = atomic_load(&dp->psock[k].fd);
	if (!tl)
		return -EAFNOSUPPORT;
	if (fd < 0)
		return -EAFNOSUPPORT;	/* IPv6 on a host without it */
	if (sendto(fd, buf, len, 0, &to->sa, tl) < 0)
		return -errno;
	return 0;
}

/*
 * Send @p len bytes of @p payload (marker included) to @p to from our port
 * (or, with @p follow, from the prediction socket bound to @p to): as
 * ChannelData through the relay when a channel is bound to @p to.
 */
static int send_maybe_relayed(struct dp *dp, const union dp_addr *to, const uint8_t *payload, size_t len,
			      bool follow)
{
	const struct dp_table *t = atomic_load(&dp->table);
	uint16_t ch = dp_table_relay_channel(t, to);
	uint8_t buf[STUN_CHANDATA_HDR_LEN + 4 + DP_IKE_MAX + 3];
	int n;

	if (!ch)
		return send_udp(dp, to, payload, len, follow);
	/* RFC 8656 §12.5: over UDP the padding may be left out; over a stream it must be there */
	if ((n = stun_chandata_build(ch, payload, len, t->relay.stream, buf, sizeof(buf))) < 0)
		return n;
	if (t->relay.stream) {
		int err = dp_rstream_write(dp, buf, (size_t)n);

		if (!err)
			atomic_fetch_add_explicit(&dp->ctr.v[DP_STAT_IDX(relay_tx_packets)], 1, memory_order_relaxed);
		return err;
	}
	if ((n = send_udp(dp, &t->relay.server, buf, (size_t)n, false)) < 0)
		return n;
	atomic_fetch_add_explicit(&dp->ctr.v[DP_STAT_IDX(relay_tx_packets)], 1, memory_order_relaxed);
	return 0;
}

int dp_send_ike(struct dp *dp, const union dp_addr *to, const uint8_t *msg, size_t len)
{
	uint8_t buf[4 + DP_IKE_MAX];

	if (len > DP_IKE_MAX)
		return -EMSGSIZE;
	memset(buf, 0, 4);	/* RFC 3948 §2.2: the non-ESP marker */
	memcpy(buf + 4, msg, len);
	return send_maybe_relayed(dp, to, buf, len + 4, true);
}

int dp_send_stun(struct dp *dp, const union dp_addr *to, const uint8_t *msg, size_t len)
{
	if (len > DP_IKE_MAX)
		return -EMSGSIZE;
	/* from our port itself, bound or not: a check proves that port's path */
	return send_maybe_relayed(dp, to, msg, len, false);
}

int dp_send_ike_rsip(struct dp *dp, const struct dp_path *path, uint16_t sport, const struct sockaddr_in *to,
		     const uint8_t *msg, size_t len)
{
	uint8_t buf[DP_IP_HDR + DP_UDP_HDR + 4 + DP_IKE_MAX];
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_addr = path->tunnel };
	size_t off = DP_IP_HDR + DP_UDP_HDR, marker = 0;
	int n;

	if (path->kind != DP_PATH_RSIP || dp->ipip_fd < 0)
		return -EOPNOTSUPP;
	if (len > DP_IKE_MAX)
		return -EMSGSIZE;
	if (sport == 4500 || ntohs(to->sin_port) == 4500) {
		memset(buf + off, 0, 4);	/* RFC 3948 §2.2: the non-ESP marker on the port ESP-in-UDP uses */
		marker = 4;
	}
	memcpy(buf + off + marker, msg, len);
	n = dp_native_udp(buf, sizeof(buf), marker + len, ntohl(path->src.s_addr), sport,
			  ntohl(to->sin_addr.s_addr), ntohs(to->sin_port), dp->ctl.ip_id++);
	if (n < 0)
		return n;
	/* RSIP tunnel type 1: the kernel writes the outer header (us -> the gateway, protocol 4) */
	if (sendto(dp->ipip_fd, buf, (size_t)n, 0, (const struct sockaddr *)&gw, sizeof(gw)) < 0)
		return -errno;
	return 0;
}

int dp_send_keepalive(struct dp *dp, const union dp_addr *to)
{
	uint8_t b = ESP_UDP_KEEPALIVE_BYTE;

	return send_maybe_relayed(dp, to, &b, 1, true);
}

/* ---- the TURN relay ---- */

int dp_relay_set_server(struct dp *dp, const union dp_addr *server)
{
	const struct dp_table *t = atomic_load(&dp->table);
	bool had_stream = t->relay.stream;	/* t is freed by table_publish() */
	bool set = server && dp_addr_len(server);
	struct dp_table *nt;

	if (set && dp_addr_eq(server, &t->relay.server) && !t->relay.stream)
		return 0;
	if (!(nt = table_clone(t)))
		return -ENOMEM;
	memset(&nt->relay, 0, sizeof(nt->relay));
	if (set)
		nt->relay.server = *server;
	table_publish(dp, nt, NULL);
	/* no worker writes to the stream any more: close it */
	if (had_stream)
		dp_rstream_clear(dp);
	return 0;
}

int dp_relay_set_stream(struct dp *dp, const union dp_addr *server, int fd, struct ssl_st *ssl)
{
	struct dp_table *nt;

	if (!dp_addr_len(server))
		return -EAFNOSUPPORT;
	if (!(nt = table_clone(atomic_load(&dp->table))))
		return -ENOMEM;
	memset(&nt->relay, 0, sizeof(nt->relay));
	nt->relay.server = *server;
	nt->relay.stream = true;
	table_publish(dp, nt, NULL);
	dp_rstream_set(dp, fd, ssl);
	return 0;
}

int dp_relay_channel_set(struct dp *dp, const union dp_addr *peer, uint16_t channel)
{
	const struct dp_table *t = atomic_load(&dp->table);
	struct dp_table *nt;
	int i;

	if (channel && (!stun_channel_valid(channel) || !t->relay.server.sa.sa_family || !dp_addr_len(peer)))
		return -EINVAL;
	for (i = 0; i < t->relay.n; i++)
		if (dp_addr_eq(&t->relay.ch[i].peer, peer))
			break;
	if (!channel && i == t->relay.n)
		return -ENOENT;
	if (channel && i < t->relay.n && t->relay.ch[i].channel == channel)
		return 0;
	if (channel && i == t->relay.n && t->relay.n == DP_RELAY_CHANNELS)
		return -ENOSPC;
	if (!(nt = table_clone(t)))
		return -ENOMEM;
	if (!channel) {
		nt->relay.ch[i] = nt->relay.ch[--nt->relay.n];
	} else {
		if (i == nt->relay.n)
			nt->relay.n++;
		nt->relay.ch[i].peer = *peer;
		nt->relay.ch[i].channel = channel;
	}
	table_publish(dp, nt, NULL);
	return 0;
}

bool dp_relay_channel_get(const struct dp *dp, const union dp_addr *peer, uint16_t *channel)
{
	uint16_t ch = dp_table_relay_channel(atomic_load(&dp->table), peer);

	if (channel)
		*channel = ch;
	return ch != 0;
}

/* ---- prediction sockets ---- */

int dp_psock_fd(struct dp *dp, uint16_t id)
{
	return id >= 1 && id <= DP_PSOCK_MAX ? atomic_load(&dp->psock[id].fd) : -1;
}

int dp_psock_open(struct dp *dp, unsigned n, uint16_t *ids)
{
	struct rlimit rl;
	unsigned cap = DP_PSOCK_MAX, got = 0;
	int err = 0;

	/* never more than a quarter of the open-file limit: the daemon needs the rest */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < cap)
		cap = (unsigned)(rl.rlim_cur / 4);
	for (uint16_t id = 1; id <= DP_PSOCK_MAX && got < n && dp->npsock < cap; id++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = id };
		int fd, pmtu = IP_PMTUDISC_DONT;

		if (atomic_load(&dp->psock[id].fd) >= 0)
			continue;
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
			err = -errno;
			break;	/* EMFILE, ENFILE, ENOBUFS: what is open is what the round gets */
		}
		/* as on our port: fragment rather than drop (the tunnel's ESP may come to use it) */
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
			err = -errno;
			close(fd);
			break;
		}
		dp->psock[id].port = ntohs(a.sin_port);
		/* the descriptor first: a datagram may be ready before epoll_ctl returns */
		atomic_store(&dp->psock[id].fd, fd);
		if (epoll_ctl(dp->psock_ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			err = -errno;
			atomic_store(&dp->psock[id].fd, -1);
			close(fd);
			break;
		}
		dp->npsock++;
		ids[got++] = id;
	}
	if (got == 0)
		return err ? err : -ENOSPC;
	return (int)got;
}

/* A copy of the current table with @p id's binding, and any binding of @p remote, gone (NULL: nothing to drop). */
static struct dp_table *unbind_clone(struct dp *dp, uint16_t id, const union dp_addr *remote)
{
	struct dp_table *cur = atomic_load(&dp->table), *nt;
	int j = 0;
	bool found = false;

	for (int b = 0; b < cur->nbind; b++)
		if (cur->bind[b].sock == id || (remote && dp_addr_eq(&cur->bind[b].remote, remote)))
			found = true;
	if (!found || !(nt = table_clone(cur)))
		return NULL;
	for (int b = 0; b < nt->nbind; b++)
		if (!(nt->bind[b].sock == id || (remote && dp_addr_eq(&nt->bind[b].remote, remote))))
			nt->bind[j++] = nt->bind[b];
	nt->nbind = j;
	return nt;
}

void dp_psock_close(struct dp *dp, uint16_t id)
{
	struct dp_table *nt;
	int fd = dp_psock_fd(dp, id);

	if (fd < 0)
		return;
	/* the peer's ESP goes back to our port in the next table (if that fails, fd -1 stops it) */
	if ((nt = unbind_clone(dp, id, NULL)))
		table_publish(dp, nt, NULL);
	atomic_store(&dp->psock[id].fd, -1);
	(void)epoll_ctl(dp->psock_ep, EPOLL_CTL_DEL, fd, NULL);
	/* a worker that loaded the descriptor did so inside a batch: wait it out before the number is reused */
	synchronize(dp);
	close(fd);
	dp->psock[id].port = 0;
	dp->npsock--;
}

uint16_t dp_psock_port(const struct dp *dp, uint16_t id)
{
	return dp_psock_fd((struct dp *)(uintptr_t)dp, id) >= 0 ? dp->psock[id].port : 0;
}

unsigned dp_psock_count(const struct dp *dp)
{
	return dp->npsock;
}

int dp_psock_send_stun(struct dp *dp, uint16_t id, const union dp_addr *to, const uint8_t *msg, size_t len)
{
	int fd = dp_psock_fd(dp, id);

	if (fd < 0)
		return -ENOENT;
	if (to->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	if (len > DP_IKE_MAX)
		return -EMSGSIZE;
	if (sendto(fd, msg, len, 0, &to->sa, sizeof(to->sin)) < 0)
		return -errno;
	return 0;
}

int dp_psock_bind(struct dp *dp, uint16_t id, const union dp_addr *remote)
{
	struct dp_table *nt;

	if (dp_psock_fd(dp, id) < 0)
		return -ENOENT;
	if (!remote || !remote->sa.sa_family) {
		if ((nt = unbind_clone(dp, id, NULL)))
			table_publish(dp, nt, NULL);
		return 0;
	}
	if (remote->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;	/* prediction sockets are IPv4, as the NATs they beat */
	if (!(nt = unbind_clone(dp, id, remote)) && !(nt = table_clone(atomic_load(&dp->table))))
		return -ENOMEM;
	if (nt->nbind >= DP_MAX_PEERS) {
		free(nt);
		return -ENOSPC;
	}
	nt->bind[nt->nbind].remote = *remote;
	nt->bind[nt->nbind].sock = id;
	nt->nbind++;
	table_publish(dp, nt, NULL);
	return 0;
}

void dp_stats_get(const struct dp *dp, struct dp_stats *out)
{
	uint64_t *dst = (uint64_t *)(void *)out;
	const uint64_t *ctl = (const uint64_t *)(const void *)&dp->ctl.local;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = atomic_load_explicit(&dp->ctr.v[i], memory_order_relaxed) + ctl[i];
}

const char *dp_ifname(const struct dp *dp)
{
	return dp->ifname;
}

int dp_workers(const struct dp *dp)
{
	return dp->nworkers;
}
