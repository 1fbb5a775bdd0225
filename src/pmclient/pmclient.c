/*
 * pmclient: sockets, timer and UPnP worker around lib/portmap. This file
 * only carries out what the state machine decides; every timing rule is
 * in lib/portmap/portmap.c.
 */
#include "pmclient/pmclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "pmclient/route.h"
#include "pmclient/upnp.h"
#include "util/random.h"

struct pmclient {
	struct event_base *base;
	struct pmclient_config cfg;
	pmclient_note_fn fn;
	void *arg;

	struct portmap pm;
	struct in_addr gw, local;
	uint64_t t0;			/* for log lines: ms since start */
	bool started;

	int fd;				/* UDP, connected to gw:5351 */
	struct event *ev_fd;
	int mfd;			/* 224.0.0.1:5350 */
	struct event *ev_mfd;
	struct event *ev_timer;

	struct upnp *upnp;
	int ufd;
	struct event *ev_upnp;

	void (*done)(void *);
	void *done_arg;
	struct event *ev_done;
	bool stopping;
	int unreachable;		/* ICMP seen while sending: handled after the batch */
};

static void apply(struct pmclient *pmc, struct portmap_out *out);

void pmclient_config_default(struct pmclient_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	portmap_config_default(&cfg->pm);
	cfg->upnp_wait_ms = PMCLIENT_DEFAULT_UPNP_WAIT_MS;
	cfg->announcements = true;
}

static uint64_t rel(const struct pmclient *pmc)
{
	return clock_now_ms() - pmc->t0;
}

static const char *ntoa(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- socket input ---- */

static void handle_packet(struct pmclient *pmc, const uint8_t *buf, size_t len, const char *via)
{
	struct portmap_reply r;
	struct portmap_out out;
	int err = portmap_reply_parse(buf, len, &r);

	if (err) {
		log_debug_rl("portmap: ignored a %zu-byte packet from the gateway (%s): %s", len, via,
			     strerror(-err));
		return;
	}
	/* what the gateway (or a host forging its address) sends: rate-limited */
	log_debug_rl("portmap: +%llu ms: %s %s from the gateway (%s)", (unsigned long long)rel(pmc),
		     portmap_proto_str(r.proto),
		     r.proto == PORTMAP_PROTO_PCP ? (r.pcp.opcode == PCP_OP_ANNOUNCE ? "ANNOUNCE" : "MAP")
						  : (r.natpmp.op == NATPMP_OP_EXTADDR ? "address" : "map"),
		     via);
	portmap_on_reply(&pmc->pm, &r, clock_now_ms(), &out);
	apply(pmc, &out);
}

static void on_unicast(evutil_socket_t fd, short what, void *arg)
{
	struct pmclient *pmc = arg;
	uint8_t buf[PCP_MAX_LEN + 4];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == ECONNREFUSED) {
				/* ICMP port unreachable: nothing listens on 5351 */
				struct portmap_out out;

				log_debug_rl("portmap: +%llu ms: the gateway's port 5351 is closed (ICMP)",
					     (unsigned long long)rel(pmc));
				portmap_on_unreachable(&pmc->pm, clock_now_ms(), &out);
				apply(pmc, &out);
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("portmap: recv");
			return;
		}
		handle_packet(pmc, buf, (size_t)n, "unicast");
	}
}

static void on_multicast(evutil_socket_t fd, short what, void *arg)
{
	struct pmclient *pmc = arg;
	uint8_t buf[PCP_MAX_LEN + 4];

	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;
		/* RFC 6886 §3.2.1, RFC 6887 §14.1: only from our gateway's port 5351 */
		if (from.sin_family != AF_INET || from.sin_addr.s_addr != pmc->gw.s_addr ||
		    ntohs(from.sin_port) != NATPMP_SERVER_PORT) {
			char a[INET_ADDRSTRLEN];

			log_debug_rl("portmap: ignored an announcement from %s:%u",
				     ntoa(from.sin_addr, a), ntohs(from.sin_port));
			continue;
		}
		handle_packet(pmc, buf, (size_t)n, "announcement");
	}
}

/* ---- UPnP results ---- */

static void on_upnp(evutil_socket_t fd, short what, void *arg)
{
	struct pmclient *pmc = arg;
	struct upnp_result res;

	while (upnp_take(pmc->upnp, &res)) {
		struct portmap_out out;

		if (res.kind != UPNP_JOB_MAP) {
			if (res.result)
				log_debug("portmap: UPnP DeletePortMapping: %d", res.result);
			continue;
		}
		log_debug("portmap: +%llu ms: UPnP result %d", (unsigned long long)rel(pmc), res.result);
		portmap_on_upnp(&pmc->pm, res.map, res.result, res.ext_addr, res.ext_port, res.lifetime,
				clock_now_ms(), &out);
		apply(pmc, &out);
	}
	if (pmc->stopping)
		apply(pmc, NULL);
}

/* ---- timer ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pmclient *pmc = arg;
	struct portmap_out out;

	portmap_on_timeout(&pmc->pm, clock_now_ms(), &out);
	apply(pmc, &out);
}

static void arm(struct pmclient *pmc, uint64_t deadline)
{
	struct timeval tv;
	uint64_t now = clock_now_ms(), d;

	evtimer_del(pmc->ev_timer);
	if (deadline == PORTMAP_NEVER)
		return;
	d = deadline > now ? deadline - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(pmc->ev_timer, &tv);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct pmclient *pmc = arg;
	void (*done)(void *) = pmc->done;

	pmc->done = NULL;
	if (done)
		done(pmc->done_arg);
}

/* ---- carrying out ---- */

static void send_pkt(struct pmclient *pmc, const struct portmap_action *a)
{
	char g[INET_ADDRSTRLEN];
	const char *what = a->map == PORTMAP_NO_MAP ? "address request" :
			   (a->proto == PORTMAP_PROTO_PCP ? "MAP" : "map request");

	log_debug("portmap: +%llu ms: send %s %s to %s:%u", (unsigned long long)rel(pmc),
		  portmap_proto_str(a->proto), what, ntoa(pmc->gw, g), NATPMP_SERVER_PORT);
	if (pmc->fd < 0)
		return;
	if (send(pmc->fd, a->pkt, a->len, 0) < 0) {
		if (errno == ECONNREFUSED)
			pmc->unreachable = 1;	/* an earlier ICMP, reported on this send */
		else
			log_warn("portmap: send to %s:%u", g, NATPMP_SERVER_PORT);
	}
}

static void upnp_job(struct pmclient *pmc, const struct portmap_action *a)
{
	struct upnp_job job = {
		.kind = a->kind == PORTMAP_ACT_UPNP_MAP ? UPNP_JOB_MAP : UPNP_JOB_UNMAP,
		.map = a->map,
		.ipproto = a->ipproto,
		.internal_port = a->internal_port,
		.external_port = a->external_port,
		.lifetime = a->lifetime,
	};

	log_debug("portmap: +%llu ms: UPnP IGD %s", (unsigned long long)rel(pmc),
		  job.kind == UPNP_JOB_MAP ? "AddPortMapping" : "DeletePortMapping");
	if (!pmc->upnp || upnp_submit(pmc->upnp, &job) < 0) {
		struct portmap_out out;

		if (job.kind != UPNP_JOB_MAP)
			return;
		portmap_on_upnp(&pmc->pm, job.map, -1, (struct in_addr){ 0 }, 0, 0, clock_now_ms(),
				&out);
		apply(pmc, &out);
	}
}

static void apply(struct pmclient *pmc, struct portmap_out *out)
{
	if (out) {
		/* notes first, so what is reported reads before what is done */
		for (unsigned int i = 0; i < out->n_notes; i++)
			if (pmc->fn)
				pmc->fn(pmc->arg, pmc, &out->notes[i]);
		for (unsigned int i = 0; i < out->n_actions; i++) {
			const struct portmap_action *a = &out->actions[i];

			if (a->kind == PORTMAP_ACT_SEND)
				send_pkt(pmc, a);
			else
				upnp_job(pmc, a);
		}
		arm(pmc, out->deadline);
		if (pmc->unreachable) {
			struct portmap_out o2;

			pmc->unreachable = 0;
			portmap_on_unreachable(&pmc->pm, clock_now_ms(), &o2);
			apply(pmc, &o2);
			return;
		}
	}
	if (pmc->stopping && pmc->done && portmap_stopped(&pmc->pm) &&
	    (!pmc->upnp || upnp_busy(pmc->upnp) == 0))
		event_active(pmc->ev_done, EV_TIMEOUT, 0);
}

/* ---- set-up ---- */

static int open_unicast(struct pmclient *pmc)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(NATPMP_SERVER_PORT),
				  .sin_addr = pmc->gw };
	socklen_t slen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* connected: only the gateway's port 5351 reaches us, and its ICMP
	 * port unreachable comes back as ECONNREFUSED */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &slen) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	pmc->local = sa.sin_addr;
	pmc->fd = fd;
	pmc->ev_fd = event_new(pmc->base, fd, EV_READ | EV_PERSIST, on_unicast, pmc);
	if (!pmc->ev_fd || event_add(pmc->ev_fd, NULL) < 0)
		return -ENOMEM;
	return 0;
}

static void open_multicast(struct pmclient *pmc)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(NATPMP_CLIENT_PORT),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct ip_mreqn mr = { .imr_address = pmc->local };
	int one = 1, fd;

	inet_pton(AF_INET, NATPMP_ANNOUNCE_GROUP, &mr.imr_multiaddr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* several listeners (the agent, this tool, natpmpc) may share the port */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		goto fail;
	pmc->mfd = fd;
	pmc->ev_mfd = event_new(pmc->base, fd, EV_READ | EV_PERSIST, on_multicast, pmc);
	if (pmc->ev_mfd)
		event_add(pmc->ev_mfd, NULL);
	return;
fail:
	log_warn("portmap: cannot listen for announcements on %s:%u", NATPMP_ANNOUNCE_GROUP,
		 NATPMP_CLIENT_PORT);
	if (fd >= 0)
		close(fd);
}

static void close_sockets(struct pmclient *pmc)
{
	if (pmc->ev_fd)
		event_free(pmc->ev_fd);
	if (pmc->ev_mfd)
		event_free(pmc->ev_mfd);
	pmc->ev_fd = pmc->ev_mfd = NULL;
	if (pmc->fd >= 0)
		close(pmc->fd);
	if (pmc->mfd >= 0)
		close(pmc->mfd);
	pmc->fd = pmc->mfd = -1;
}

static int open_all(struct pmclient *pmc)
{
	char g[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN];
	char ifname[IF_NAMESIZE] = "";
	int err;

	pmc->gw = pmc->cfg.gateway;
	if (!pmc->gw.s_addr) {
		err = route_default_gateway(&pmc->gw, ifname);
		if (err)
			return err;
	}
	err = open_unicast(pmc);
	if (err)
		return err;
	if (pmc->cfg.announcements)
		open_multicast(pmc);
	log_debug("portmap: gateway %s%s%s, our address %s", ntoa(pmc->gw, g), *ifname ? " dev " : "",
		  ifname, ntoa(pmc->local, l));
	return 0;
}

struct pmclient *pmclient_new(struct event_base *base, const struct pmclient_config *cfg,
			      pmclient_note_fn fn, void *arg)
{
	struct pmclient *pmc = calloc(1, sizeof(*pmc));

	if (!pmc)
		return NULL;
	pmc->base = base;
	if (cfg)
		pmc->cfg = *cfg;
	else
		pmclient_config_default(&pmc->cfg);
	pmc->fn = fn;
	pmc->arg = arg;
	pmc->fd = pmc->mfd = pmc->ufd = -1;
	portmap_init(&pmc->pm, &pmc->cfg.pm, (struct in_addr){ 0 });
	pmc->ev_timer = evtimer_new(base, on_timer, pmc);
	pmc->ev_done = event_new(base, -1, 0, on_done, pmc);
	if (!pmc->ev_timer || !pmc->ev_done) {
		pmclient_free(pmc);
		return NULL;
	}
	return pmc;
}

int pmclient_add(struct pmclient *pmc, uint8_t ipproto, uint16_t internal_port, uint16_t want_port)
{
	uint8_t nonce[PCP_NONCE_LEN];
	int idx, err;
	struct portmap_out out;

	/* RFC 6887 §11.1: a random nonce per mapping */
	err = rand_bytes(nonce, sizeof(nonce));
	if (err)
		return err;
	idx = portmap_add(&pmc->pm, ipproto, internal_port, want_port, nonce);
	if (idx >= 0 && pmc->started) {
		portmap_start(&pmc->pm, (unsigned int)idx, clock_now_ms(), &out);
		apply(pmc, &out);
	}
	return idx;
}

int pmclient_start(struct pmclient *pmc)
{
	struct portmap_out out;
	int err;

	pmc->t0 = clock_now_ms();
	err = open_all(pmc);
	if (err)
		return err;
	pmc->pm.local = pmc->local;
	if (pmc->cfg.pm.protocols & PORTMAP_PROTO_UPNP) {
		pmc->upnp = upnp_new(pmc->local, pmc->cfg.upnp_wait_ms, &pmc->ufd);
		if (!pmc->upnp)
			return -errno;
		pmc->ev_upnp = event_new(pmc->base, pmc->ufd, EV_READ | EV_PERSIST, on_upnp, pmc);
		if (!pmc->ev_upnp || event_add(pmc->ev_upnp, NULL) < 0)
			return -ENOMEM;
	}
	pmc->started = true;
	for (unsigned int i = 0; i < pmc->pm.n_maps; i++) {
		portmap_start(&pmc->pm, i, clock_now_ms(), &out);
		apply(pmc, &out);
	}
	return 0;
}

int pmclient_netchange(struct pmclient *pmc)
{
	struct portmap_out out;
	int err;

	close_sockets(pmc);
	err = open_all(pmc);
	if (err)
		return err;
	if (pmc->upnp)
		upnp_reset(pmc->upnp, pmc->local);
	portmap_on_netchange(&pmc->pm, pmc->local, clock_now_ms(), &out);
	apply(pmc, &out);
	return 0;
}

void pmclient_stop(struct pmclient *pmc, void (*done)(void *arg), void *arg)
{
	struct portmap_out out;

	pmc->done = done;
	pmc->done_arg = arg;
	pmc->stopping = true;
	portmap_stop(&pmc->pm, clock_now_ms(), &out);
	apply(pmc, &out);
}

void pmclient_free(struct pmclient *pmc)
{
	if (!pmc)
		return;
	close_sockets(pmc);
	if (pmc->ev_upnp)
		event_free(pmc->ev_upnp);
	upnp_free(pmc->upnp);
	if (pmc->ev_timer)
		event_free(pmc->ev_timer);
	if (pmc->ev_done)
		event_free(pmc->ev_done);
	free(pmc);
}

const struct portmap *pmclient_portmap(const struct pmclient *pmc)
{
	return &pmc->pm;
}

struct in_addr pmclient_gateway(const struct pmclient *pmc)
{
	return pmc->gw;
}

struct in_addr pmclient_local(const struct pmclient *pmc)
{
	return pmc->local;
}
