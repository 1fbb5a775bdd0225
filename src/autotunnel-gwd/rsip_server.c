#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "autotunnel-gwd/netwatch.h"
#include "autotunnel-gwd/rsip_conf.h"
#include "autotunnel-gwd/rsip_server.h"
#include "autotunnel-gwd/rsip_session.h"
#include "autotunnel-gwd/rsip_sock.h"
#include "autotunnel-gwd/rsip_status.h"
#include "autotunnel-gwd/status.h"
#include "autotunnel-gwd/timers.h"
#include "common/clock.h"
#include "common/log.h"
#include "rsip/msg.h"
#include "util/random.h"

#define LISTEN_MAX (GWD_LAN_MAX * 8)

struct listener {
	int fd;
	struct event *ev;
	struct gwd_rsip *r;
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t addr;
	uint8_t plen;
	bool seen;
};

struct conn {
	struct gwd_rsip *r;
	struct bufferevent *bev;
	struct event *ev_idle;
	char name[32];			/* "192.168.1.2:40001", for the logs */
	struct gwd_rsip_session ss;
};

struct gwd_rsip {
	struct event_base *base;
	const struct gwd_settings *s;
	struct listener lst[LISTEN_MAX];
	struct conn *conns[GWD_RSIP_MAX_CONNS];
	struct event *ev_timer;
	/* while the WAN has an address */
	bool up;
	uint32_t nb;
	uint32_t tried;			/* the address a failed start was for: not retried */
	struct rsip_server srv;
	struct gwd_rsip_counters ctr;
	struct gwd_rsip_sock *path;
};

static uint32_t mask_of(uint8_t plen)
{
	return plen == 0 ? 0 : ~0u << (32 - plen);
}

/* ---- timing: everything the server decides may change a deadline or the lent ports ---- */

static void after_change(struct gwd_rsip *r)
{
	uint64_t now = clock_now_ms(), next;
	struct timeval tv;

	if (!r->up) {
		evtimer_del(r->ev_timer);
		return;
	}
	next = rsip_server_expire(&r->srv, now);
	gwd_rsip_sock_sync(r->path);
	if (next == UINT64_MAX) {
		evtimer_del(r->ev_timer);
		return;
	}
	tv = gwd_timeval_until(next, now);
	evtimer_add(r->ev_timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	/* leases ran out: the library frees the bindings, the sockets follow */
	after_change(arg);
}

/* ---- connections ---- */

static void conn_free(struct conn *k, bool drop)
{
	struct gwd_rsip *r = k->r;

	for (size_t i = 0; i < GWD_RSIP_MAX_CONNS; i++)
		if (r->conns[i] == k)
			r->conns[i] = NULL;
	if (drop && r->up)
		gwd_rsip_session_end(&k->ss, &r->srv);
	if (k->ev_idle)
		event_free(k->ev_idle);
	bufferevent_free(k->bev);
	free(k);
}

/* Look at the connection again in @p ms. */
static void idle_arm(struct conn *k, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(k->ev_idle, &tv);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	struct gwd_rsip *r = k->r;
	uint64_t idle_ms = (uint64_t)r->s->rsip_idle_timeout * 1000, now = clock_now_ms();
	uint64_t deadline = r->up ? gwd_rsip_session_idle_deadline(&k->ss, &r->srv, idle_ms)
				  : k->ss.last_rx + idle_ms;

	if (deadline == UINT64_MAX) {
		idle_arm(k, idle_ms);	/* registered: its registration may end, look again */
		return;
	}
	if (now < deadline) {
		idle_arm(k, deadline - now);
		return;
	}
	log_debug_rl("rsip: %s: closing the connection (not registered, silent for %d s)", k->name,
		     r->s->rsip_idle_timeout);
	conn_free(k, true);
	after_change(r);
}

static int write_answer(void *arg, const uint8_t *msg, size_t len)
{
	struct conn *k = arg;
	struct evbuffer *out = bufferevent_get_output(k->bev);

	if (len >= 2 && msg[1] == RSIP_ERROR_RESPONSE)
		log_debug_rl("rsip: %s: %s -> error %u %s", k->name, rsip_msg_type_name(k->r->srv.req.type) ?
			     rsip_msg_type_name(k->r->srv.req.type) : "?", k->r->srv.stats.last_error,
			     rsip_error_name(k->r->srv.stats.last_error) ? rsip_error_name(k->r->srv.stats.last_error) : "?");
	else if (len >= 2)
		log_debug_rl("rsip: %s: %s", k->name, rsip_msg_type_name(msg[1]) ? rsip_msg_type_name(msg[1]) : "?");
	/* a client that does not read its answers is not allowed to pile them up */
	if (evbuffer_get_length(out) + len > GWD_RSIP_OUT_MAX)
		return -ENOBUFS;
	return bufferevent_write(k->bev, msg, len) == 0 ? 0 : -ENOMEM;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;
	struct gwd_rsip *r = k->r;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t chunk[GWD_RSIP_FRAME_MAX];
	int n, rc = 0;

	while (rc >= 0 && (n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0)
		rc = gwd_rsip_session_feed(&k->ss, &r->srv, chunk, (size_t)n, clock_now_ms(), write_answer, k);
	if (rc < 0) {
		log_debug_rl("rsip: %s: closing the connection (%s)", k->name,
			     rc == -EMSGSIZE ? "message too long" : rc == -EBADMSG ? "stream cannot be framed" :
			     strerror(-rc));
		conn_free(k, true);
	}
	after_change(r);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *k = arg;
	struct gwd_rsip *r = k->r;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	log_debug_rl("rsip: %s: connection closed, its bindings are freed", k->name);
	conn_free(k, true);
	after_change(r);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct gwd_rsip *r = l->r;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct rsip_peer peer;
	struct conn *k;
	size_t slot;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	peer.addr = ntohl(sa.sin_addr.s_addr);
	peer.port = ntohs(sa.sin_port);
	/* clients live on this LAN subnet: the bindings are theirs, the tunnel ends there */
	if (salen < sizeof(sa) || sa.sin_family != AF_INET ||
	    (peer.addr & mask_of(l->plen)) != (l->addr & mask_of(l->plen)) || !r->up) {
		log_debug_rl("rsip: connection refused (%s)", r->up ? "not from the LAN subnet"
									 : "no public address yet");
		close(fd);
		return;
	}
	/* one host must not take every connection slot */
	{
		unsigned int open = 0;
		char a[16];

		for (size_t i = 0; i < GWD_RSIP_MAX_CONNS; i++)
			open += r->conns[i] && r->conns[i]->ss.peer.addr == peer.addr;
		if (!gwd_rsip_admit(open, (unsigned int)r->s->rsip_conns_per_client)) {
			gwd_addr_str(peer.addr, a, sizeof(a));
			log_debug_rl("rsip: connection from %s refused: it has %u open already", a, open);
			close(fd);
			return;
		}
	}
	for (slot = 0; slot < GWD_RSIP_MAX_CONNS && r->conns[slot]; slot++)
		;
	k = slot < GWD_RSIP_MAX_CONNS ? calloc(1, sizeof(*k)) : NULL;
	if (!k) {
		log_debug_rl("rsip: too many connections");
		close(fd);
		return;
	}
	k->r = r;
	gwd_addr_str(peer.addr, k->name, sizeof(k->name));
	snprintf(k->name + strlen(k->name), sizeof(k->name) - strlen(k->name), ":%u", peer.port);
	gwd_rsip_session_init(&k->ss, &peer, l->addr);
	k->ss.last_rx = clock_now_ms();
	k->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!k->bev) {
		close(fd);
		free(k);
		return;
	}
	k->ev_idle = evtimer_new(r->base, on_idle, k);
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	if (!k->ev_idle || bufferevent_enable(k->bev, EV_READ) < 0) {
		if (k->ev_idle)
			event_free(k->ev_idle);
		bufferevent_free(k->bev);
		free(k);
		return;
	}
	r->conns[slot] = k;
	idle_arm(k, (uint64_t)r->s->rsip_idle_timeout * 1000);
	log_debug_rl("rsip: %s connected", k->name);
}

static void close_conns(struct gwd_rsip *r)
{
	for (size_t i = 0; i < GWD_RSIP_MAX_CONNS; i++)
		if (r->conns[i])
			conn_free(r->conns[i], false);
}

/* ---- the server for one public address ---- */

static void stop(struct gwd_rsip *r)
{
	if (!r->up)
		return;
	close_conns(r);
	gwd_rsip_sock_close(r->path);
	r->path = NULL;
	rsip_server_fini(&r->srv);
	r->up = false;
	r->nb = 0;
	evtimer_del(r->ev_timer);
}

static void set_lans(struct gwd_rsip *r)
{
	unsigned ifs[GWD_RSIP_MAX_LAN_IFS];
	size_t n = 0;

	if (!r->up)
		return;
	for (size_t i = 0; i < LISTEN_MAX; i++) {
		bool dup = false;

		if (r->lst[i].fd < 0)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= ifs[j] == r->lst[i].ifindex;
		if (!dup && n < GWD_RSIP_MAX_LAN_IFS)
			ifs[n++] = r->lst[i].ifindex;
	}
	gwd_rsip_sock_set_lans(r->path, ifs, n);
}

static void start(struct gwd_rsip *r, uint32_t nb)
{
	struct rsip_prefix lans[RSIP_MAX_PREFIXES];
	struct rsip_server_config cfg;
	unsigned n = 0;
	uint64_t seed;
	char err[256], a[16];
	int rc;

	for (size_t i = 0; i < LISTEN_MAX && n < RSIP_MAX_PREFIXES; i++) {
		if (r->lst[i].fd < 0)
			continue;
		lans[n].addr = r->lst[i].addr & mask_of(r->lst[i].plen);
		lans[n].len = r->lst[i].plen;
		n++;
	}
	if (rand_bytes(&seed, sizeof(seed))) {
		log_warnx("rsip: no random numbers: not started");
		return;
	}
	rc = gwd_rsip_config(r->s, nb, lans, n, seed, &cfg, err, sizeof(err));
	if (rc == 0)
		rc = rsip_server_init(&r->srv, &cfg);
	if (rc) {
		log_warnx("rsip: bad configuration: not started");
		return;
	}
	memset(&r->ctr, 0, sizeof(r->ctr));
	rc = gwd_rsip_sock_open(&r->path, r->base, &r->srv, &r->ctr, nb);
	if (rc) {
		errno = -rc;
		log_warn("rsip: data path (raw sockets) not available: not started");
		rsip_server_fini(&r->srv);
		return;
	}
	r->up = true;
	r->nb = nb;
	set_lans(r);
	gwd_addr_str(nb, a, sizeof(a));
	log_info("rsip: lending %s: SPIs 0x%08x-0x%08x, ports %u-%u, leases %u-%u s, IPsec %s", a,
		 cfg.spi_lo, cfg.spi_hi, cfg.port_lo, cfg.port_hi, cfg.lease_min, cfg.lease_max,
		 !cfg.ipsec ? "for nobody" : cfg.n_ipsec_allow ? "for the listed clients" : "for all LAN clients");
	after_change(r);
}

/* ---- listeners on the LAN addresses ---- */

static void close_listener(struct listener *l)
{
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	l->ev = NULL;
	l->fd = -1;
}

static int open_listener(struct gwd_rsip *r, struct listener *l, const char *ifname,
			 const struct gwd_ifaddr *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(RSIP_PORT),
				  .sin_addr.s_addr = htonl(a->addr) };
	int one = 1;

	memset(l, 0, sizeof(*l));
	l->r = r;
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	l->ifindex = a->ifindex;
	l->addr = a->addr;
	l->plen = a->plen;
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    /* the LAN side only: nothing from the WAN reaches the RSIP server */
	    setsockopt(l->fd, SOL_SOCKET, SO_BINDTODEVICE, l->ifname, (socklen_t)strlen(l->ifname)) < 0 ||
	    bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 16) < 0) {
		int rc = -errno;

		close_listener(l);
		return rc;
	}
	l->ev = event_new(r->base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
	if (!l->ev || event_add(l->ev, NULL) < 0) {
		close_listener(l);
		return -ENOMEM;
	}
	l->seen = true;
	return 0;
}

static struct listener *find_listener(struct gwd_rsip *r, unsigned ifindex, uint32_t addr)
{
	for (size_t i = 0; i < LISTEN_MAX; i++)
		if (r->lst[i].fd >= 0 && r->lst[i].ifindex == ifindex && r->lst[i].addr == addr)
			return &r->lst[i];
	return NULL;
}

static void refresh_listeners(struct gwd_rsip *r)
{
	struct gwd_ifaddr a[8];
	char as[16];

	for (size_t i = 0; i < LISTEN_MAX; i++)
		r->lst[i].seen = false;
	for (size_t k = 0; k < r->s->n_lans; k++) {
		int n = gwd_if_addrs(r->s->lans[k], a, 8);

		for (int j = 0; j < n; j++) {
			struct listener *l = find_listener(r, a[j].ifindex, a[j].addr);
			int rc;

			if (l && l->plen == a[j].plen) {
				l->seen = true;
				continue;
			}
			if (l)
				close_listener(l);
			for (size_t i = 0; i < LISTEN_MAX && !l; i++)
				if (r->lst[i].fd < 0)
					l = &r->lst[i];
			if (!l)
				break;
			gwd_addr_str(a[j].addr, as, sizeof(as));
			rc = open_listener(r, l, r->s->lans[k], &a[j]);
			if (rc) {
				errno = -rc;
				log_warn("rsip: cannot listen on %s:%d (%s)", as, RSIP_PORT, r->s->lans[k]);
				continue;
			}
			log_info("rsip: serving RSIP on %s:%d (%s)", as, RSIP_PORT, r->s->lans[k]);
		}
	}
	for (size_t i = 0; i < LISTEN_MAX; i++)
		if (r->lst[i].fd >= 0 && !r->lst[i].seen)
			close_listener(&r->lst[i]);
	set_lans(r);
}

/* ---- the interface to gwd.c ---- */

void gwd_rsip_refresh(struct gwd_rsip *r, uint32_t nb)
{
	if (!r)
		return;
	refresh_listeners(r);
	if (r->up ? nb == r->nb : nb == r->tried)
		return;
	if (r->up) {
		char a[16];

		gwd_addr_str(r->nb, a, sizeof(a));
		log_info("rsip: public address %s is gone: every binding ends, clients must register again", a);
		stop(r);
	}
	r->tried = nb;
	if (nb)
		start(r, nb);
}

int gwd_rsip_open(struct gwd_rsip **out, struct event_base *base, const struct gwd_settings *s,
		  uint32_t nb)
{
	struct gwd_rsip *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->base = base;
	r->s = s;
	for (size_t i = 0; i < LISTEN_MAX; i++)
		r->lst[i].fd = -1;
	r->ev_timer = evtimer_new(base, on_timer, r);
	if (!r->ev_timer) {
		free(r);
		return -ENOMEM;
	}
	gwd_rsip_refresh(r, nb);
	if (!r->up)
		log_warnx("rsip: not lending any address yet (%s)", nb ? "see above" : "no WAN address");
	*out = r;
	return 0;
}

int gwd_rsip_status(struct gwd_rsip *r, FILE *fp)
{
	if (!r) {
		fprintf(fp, "rsip: off\n");
		return 0;
	}
	if (!r->up) {
		fprintf(fp, "rsip: on, but lending no address (the WAN has none)\n");
		return 0;
	}
	gwd_rsip_status_format(fp, &r->srv, r->nb, &r->ctr, gwd_rsip_sock_udp_count(r->path), clock_now_ms());
	return 0;
}

void gwd_rsip_close(struct gwd_rsip *r)
{
	if (!r)
		return;
	stop(r);
	for (size_t i = 0; i < LISTEN_MAX; i++)
		close_listener(&r->lst[i]);
	event_free(r->ev_timer);
	free(r);
}
