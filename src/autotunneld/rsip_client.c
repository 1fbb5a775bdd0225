/*
 * src/autotunneld/rsip_client.c: the RSIP client (RFC 3103 + RFC 3104)
 * inside the agent: the TCP connection to the gateway, lib/rsip's client
 * helper, and what a binding means for the peers (see rsip_client.h).
 */
#include "autotunneld/rsip_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "agent/timers.h"
#include "autotunneld/daemon.h"
#include "autotunneld/ikeglue.h"
#include "autotunneld/types.h"
#include "common/clock.h"
#include "common/log.h"
#include "rsip/client.h"
#include "rsip/msg.h"
#include "util/random.h"

#define ANSWER_MS 5000		/* a request unanswered this long: the gateway is gone */
#define STOP_WAIT_MS 2000
#define DEFAULT_SPIS 4		/* one for the child SA, the others for its rekeys (RFC 7296 §2.8) */

enum state {
	ST_IDLE = 0,		/* no connection; retry timer armed */
	ST_CONNECTING,
	ST_REGISTERING,
	ST_ASSIGNING,
	ST_BOUND,
	ST_LEAVING,		/* no RSIPSEC: de-registering before trying later */
	ST_STOPPING,		/* atd_rsip_stop: FREE, DE-REGISTER */
};

struct atd_rsip {
	struct atd *d;
	void (*changed)(void *arg);	/* the binding came, changed or went */
	void *changed_arg;
	struct rsip_client c;
	enum state st;
	bool auto_gw;
	struct in_addr gw;
	struct bufferevent *bev;
	struct event *timer;	/* EXTEND deadlines, and reconnecting */
	struct event *answer;	/* the gateway's answer is overdue */
	struct agent_reconnect rc;	/* when to try the gateway again (lib/agent timers) */
	bool bound;
	uint32_t bind_id;
	struct sockaddr_in pub;	/* Nb and the IKE port */
	struct ike_glue_rsip gr;	/* the same with the lent SPIs, for lib/ike */
	struct dp_path path;
	uint8_t out[2048];
};

static void schedule(struct atd_rsip *r);
static void lost(struct atd_rsip *r, const char *why);

static const char *ip_str(struct in_addr a, char *buf, size_t len)
{
	inet_ntop(AF_INET, &a, buf, (socklen_t)len);
	return buf;
}

/* The default route's gateway from /proc/net/route, or -ENOENT. */
static int default_gateway(struct in_addr *out)
{
	FILE *fp = fopen("/proc/net/route", "r");
	char line[256];
	int ret = -ENOENT;

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		char ifname[64];
		unsigned dst, gw, flags;

		/* Iface Destination Gateway Flags ...: addresses as the kernel stores them (network order) */
		if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) == 4 && dst == 0 && (flags & 2) && gw) {
			out->s_addr = gw;
			ret = 0;
			break;
		}
	}
	fclose(fp);
	return ret;
}

static void arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static int send_msg(struct atd_rsip *r, size_t len)
{
	if (!r->bev || bufferevent_write(r->bev, r->out, len))
		return -EIO;
	arm(r->answer, ANSWER_MS);
	return 0;
}

/* Peers waiting for RSIP, or using it, go the ordinary way. */
static void peers_plain(struct atd_rsip *r)
{
	struct atd *d = r->d;

	for (int i = 0; i < d->npeers; i++) {
		struct atd_rpeer *rp = &d->peers[i];
		struct dp_path udp = { .kind = DP_PATH_UDP };

		if (rp->dyn)
			continue;	/* the account's peers: dynpeer.c, told by the agent */
		if (rp->rsip == ATD_RSIP_ON) {
			ike_glue_peer_down(d->ike, rp);
			(void)dp_peer_set_path(d->dp, rp->dp_id, &udp);
			rp->rsip = ATD_RSIP_WAIT;
		}
		if (rp->rsip == ATD_RSIP_WAIT && ike_glue_peer_up(d->ike, rp, NULL))
			log_warnx("peer %s: could not be set up without RSIP", rp->conf->name);
	}
}

/* The binding arrived: every RSIP peer now goes from Nb, through the gateway. */
static void peers_rsip(struct atd_rsip *r, const struct rsip_client_binding *b)
{
	struct atd *d = r->d;
	struct ike_glue_rsip gr = { .local = r->pub };

	gr.n_spis = b->n_spis < 8 ? b->n_spis : 8;
	memcpy(gr.spis, b->spis, gr.n_spis * sizeof(uint32_t));
	for (int i = 0; i < d->npeers; i++) {
		struct atd_rpeer *rp = &d->peers[i];
		int ret;

		if (rp->dyn || rp->rsip == ATD_RSIP_NONE || rp->rsip == ATD_RSIP_ON)
			continue;
		if (rp->rsip == ATD_RSIP_OFF) {
			ike_glue_peer_down(d->ike, rp);	/* its tunnel from our own address goes */
			rp->rsip = ATD_RSIP_WAIT;
		}
		if ((ret = dp_peer_set_path(d->dp, rp->dp_id, &r->path)) ||
		    (ret = ike_glue_peer_up(d->ike, rp, &gr))) {
			log_warnx("peer %s: cannot use the RSIP address: %s", rp->conf->name, strerror(-ret));
			continue;
		}
	}
}

static void close_conn(struct atd_rsip *r)
{
	if (r->bev)
		bufferevent_free(r->bev);
	r->bev = NULL;
	evtimer_del(r->answer);
	rsip_client_init(&r->c, 0);
}

/* Try again at @p at (monotonic ms, from lib/agent timers). */
static void retry_at(struct atd_rsip *r, uint64_t at)
{
	uint64_t now = clock_now_ms();

	r->st = ST_IDLE;
	arm(r->timer, at > now ? at - now : 0);
}

/* Try again later, with back-off. */
static void retry_later(struct atd_rsip *r)
{
	retry_at(r, agent_reconnect_failed(&r->rc, clock_now_ms()));
}

static void lost(struct atd_rsip *r, const char *why)
{
	char a[INET_ADDRSTRLEN];

	if (r->st == ST_STOPPING) {
		close_conn(r);
		event_base_loopexit(r->d->base, NULL);
		return;
	}
	bool was = r->bound;

	log_warnx("rsip: gateway %s: %s; peers use the ordinary path for now", ip_str(r->gw, a, sizeof(a)), why);
	if (r->bound)
		log_info("rsip: no longer using %s", ip_str(r->pub.sin_addr, a, sizeof(a)));
	r->bound = false;
	close_conn(r);
	peers_plain(r);
	if (was)
		r->changed(r->changed_arg);	/* account mode publishes the port mapping again */
	retry_later(r);
}

static void log_binding(struct atd_rsip *r, const struct rsip_client_binding *b)
{
	char spis[RSIP_CLIENT_MAX_SPIS * 12] = "", a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	size_t o = 0;

	for (unsigned i = 0; i < b->n_spis && o < sizeof(spis); i++)
		o += (size_t)snprintf(spis + o, sizeof(spis) - o, "%s0x%08x", i ? "," : "", b->spis[i]);
	/* the agent publishes Nb and the IKE port (docs/design.md §4); RFC 3104 App. G */
	log_info("rsip: gateway %s lent us %s: IKE port %u, SPIs %s, lease %u s; publish %s:%u",
		 ip_str(r->gw, g, sizeof(g)), ip_str(r->pub.sin_addr, a, sizeof(a)), ntohs(r->pub.sin_port), spis,
		 b->lease, a, ntohs(r->pub.sin_port));
}

static void on_assigned(struct atd_rsip *r, const struct rsip_client_binding *b)
{
	char a[INET_ADDRSTRLEN];

	if (!b || b->n_spis == 0 || b->n_ports == 0 || !b->local_addr) {
		log_warnx("rsip: gateway %s lent no SPI, port or address", ip_str(r->gw, a, sizeof(a)));
		lost(r, "unusable binding");
		return;
	}
	r->bound = true;
	r->bind_id = b->bind_id;
	r->st = ST_BOUND;
	agent_reconnect_reset(&r->rc);
	memset(&r->pub, 0, sizeof(r->pub));
	r->pub.sin_family = AF_INET;
	r->pub.sin_addr.s_addr = htonl(b->local_addr);
	r->pub.sin_port = htons(b->ports[0]);
	r->path.kind = DP_PATH_RSIP;
	r->path.src = r->pub.sin_addr;
	/* RFC 3103: the tunnel endpoint, if the server names one; else the address we talk to */
	r->path.tunnel.s_addr = b->tunnel_endpoint ? htonl(b->tunnel_endpoint) : r->gw.s_addr;
	memset(&r->gr, 0, sizeof(r->gr));
	r->gr.local = r->pub;
	r->gr.n_spis = b->n_spis < 8 ? b->n_spis : 8;
	memcpy(r->gr.spis, b->spis, r->gr.n_spis * sizeof(uint32_t));
	log_binding(r, b);
	peers_rsip(r, b);
	r->changed(r->changed_arg);	/* account mode: publish Nb, and the account's peers move to it */
}

static void stop_step(struct atd_rsip *r);

static void on_message(struct atd_rsip *r, const uint8_t *msg, size_t len)
{
	struct rsip_client_event ev;
	struct rsip_ipsec_request q = { .n_spis = DEFAULT_SPIS, .n_ports = 1 };
	char a[INET_ADDRSTRLEN];
	size_t n;
	int ret;

	ret = rsip_client_on_message(&r->c, msg, len, clock_now_ms(), &ev);
	if (ret) {
		log_debug("rsip: message of %zu bytes from the gateway ignored: %s", len, strerror(-ret));
		return;
	}
	if (!r->c.pending)
		evtimer_del(r->answer);
	switch (ev.kind) {
	case RSIP_EV_REGISTERED:
		if (!r->c.rsipsec) {
			log_info("rsip: gateway %s does not offer RSIP with IPsec (RSIPSEC); not used",
				 ip_str(r->gw, a, sizeof(a)));
			r->st = ST_LEAVING;
			if (rsip_client_deregister(&r->c, r->out, sizeof(r->out), &n) || send_msg(r, n))
				lost(r, "cannot de-register");
			return;
		}
		log_info("rsip: registered with gateway %s (RSIPSEC offered)", ip_str(r->gw, a, sizeof(a)));
		/* one binding for every peer: remote "any", one IKE port (§6.1), SPIs for rekeys too */
		if (r->d->conf.rsip_spis > 0)
			q.n_spis = (uint16_t)r->d->conf.rsip_spis;
		q.lease = (uint32_t)r->d->conf.rsip_lease;
		r->st = ST_ASSIGNING;
		if ((ret = rsip_client_assign_rsipsec(&r->c, &q, r->out, sizeof(r->out), &n)) || send_msg(r, n))
			lost(r, "cannot ask for an address");
		return;
	case RSIP_EV_ASSIGNED:
		on_assigned(r, ev.bind);
		break;
	case RSIP_EV_EXTENDED:
		log_debug("rsip: binding 0x%08x extended, lease %u s", ev.bind_id, ev.bind ? ev.bind->lease : 0);
		break;
	case RSIP_EV_FREED:
		log_info("rsip: binding 0x%08x freed", ev.bind_id);
		if (ev.bind_id == r->bind_id)
			r->bound = false;
		break;
	case RSIP_EV_DEREGISTERED:
		if (r->st == ST_STOPPING) {
			log_info("rsip: de-registered from gateway %s", ip_str(r->gw, a, sizeof(a)));
			break;
		}
		if (r->st == ST_LEAVING) {
			close_conn(r);
			peers_plain(r);
			/* it may be upgraded; ask again now and then */
			retry_at(r, agent_reconnect_refused(&r->rc, clock_now_ms()));
			return;
		}
		lost(r, "the gateway de-registered us");
		return;
	case RSIP_EV_ERROR:
		log_warnx("rsip: gateway %s refused %s: %u %s", ip_str(r->gw, a, sizeof(a)),
			  rsip_msg_type_name(ev.request) ? rsip_msg_type_name(ev.request) : "a request", ev.error,
			  rsip_error_name(ev.error) ? rsip_error_name(ev.error) : "");
		if (r->st == ST_STOPPING)
			break;
		if (ev.request == RSIP_EXTEND_REQUEST || ev.request == RSIP_ASSIGN_REQUEST_RSIPSEC) {
			lost(r, "no binding");
			return;
		}
		break;
	default:
		break;
	}
	if (r->st == ST_STOPPING)
		stop_step(r);
	else
		schedule(r);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct atd_rsip *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (int i = 0; i < 64 && r->bev == bev; i++) {
		uint8_t hdr[RSIP_HDR_LEN], msg[4096];
		int need;

		if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
			return;
		need = rsip_msg_frame_len(hdr, sizeof(hdr));
		if (need < RSIP_HDR_LEN || (size_t)need > sizeof(msg)) {
			lost(r, "sent a message that cannot be framed");
			return;
		}
		if (evbuffer_get_length(in) < (size_t)need)
			return;
		if (evbuffer_remove(in, msg, (size_t)need) != need) {
			lost(r, "read error");
			return;
		}
		on_message(r, msg, (size_t)need);
	}
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct atd_rsip *r = arg;
	size_t n;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		r->st = ST_REGISTERING;
		rsip_client_init(&r->c, rand_uniform(UINT32_MAX));	/* Message Counters start anywhere */
		if (rsip_client_register(&r->c, r->out, sizeof(r->out), &n) || send_msg(r, n))
			lost(r, "cannot register");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		lost(r, what & BEV_EVENT_EOF ? "connection closed" : "connection failed");
}

static void on_answer_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	lost(arg, "no answer");
}

static void connect_gw(struct atd_rsip *r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(RSIP_PORT) };
	char a[INET_ADDRSTRLEN];

	if (r->auto_gw && default_gateway(&r->gw)) {
		log_info("rsip: no default gateway to ask; peers use the ordinary path");
		peers_plain(r);
		retry_later(r);
		return;
	}
	sin.sin_addr = r->gw;
	r->bev = bufferevent_socket_new(r->d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!r->bev) {
		lost(r, "out of memory");
		return;
	}
	bufferevent_setcb(r->bev, on_read, NULL, on_conn_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	r->st = ST_CONNECTING;
	arm(r->answer, ANSWER_MS);
	log_debug("rsip: connecting to %s:%u", ip_str(r->gw, a, sizeof(a)), RSIP_PORT);
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		lost(r, "cannot connect");
}

/* The timer: reconnect when idle; EXTEND (or notice a lapsed binding) when bound. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct atd_rsip *r = arg;
	size_t n;
	int ret;

	(void)fd, (void)what;
	if (r->st == ST_IDLE) {
		connect_gw(r);
		return;
	}
	ret = rsip_client_poll(&r->c, clock_now_ms(), r->out, sizeof(r->out), &n);
	if (r->bound && !rsip_client_binding(&r->c, r->bind_id)) {
		lost(r, "the binding lapsed");
		return;
	}
	if (ret == 1 && send_msg(r, n)) {
		lost(r, "cannot extend");
		return;
	}
	schedule(r);
}

/* RFC 3103: EXTEND before the lease runs out; lib/rsip says when (half the lease). */
static void schedule(struct atd_rsip *r)
{
	uint64_t next = rsip_client_next_deadline(&r->c), now = clock_now_ms();

	/* while a request is out, its answer (or the answer timeout) comes first and re-arms */
	if (next == UINT64_MAX || r->c.pending)
		return;
	arm(r->timer, next > now ? next - now : 0);
}

int atd_rsip_start(struct atd *d, void (*changed)(void *arg), void *arg)
{
	struct atd_rsip *r;
	bool any = false;

	if (!d->conf.rsip_gateway)
		return 0;
	for (int i = 0; i < d->npeers; i++)
		any |= d->peers[i].rsip != ATD_RSIP_NONE;
	if (!any && !d->conf.agent_mode) {
		log_info("rsip: no IKE peer with an address: the RSIP gateway is not needed");
		return 0;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->d = d;
	r->changed = changed;
	r->changed_arg = arg;
	{
		struct agent_timer_cfg tc;

		agent_timer_cfg_default(&tc);
		agent_reconnect_init(&r->rc, tc.rsip_retry_min_ms, tc.rsip_retry_max_ms);
	}
	r->auto_gw = !strcmp(d->conf.rsip_gateway, "auto");
	if (!r->auto_gw && inet_pton(AF_INET, d->conf.rsip_gateway, &r->gw) != 1) {
		free(r);
		return -EINVAL;
	}
	r->timer = evtimer_new(d->base, on_timer, r);
	r->answer = evtimer_new(d->base, on_answer_timeout, r);
	if (!r->timer || !r->answer) {
		if (r->timer)
			event_free(r->timer);
		free(r);
		return -ENOMEM;
	}
	rsip_client_init(&r->c, 0);
	d->rsip = r;
	connect_gw(r);
	return 0;
}

/* Leaving: FREE the binding, then DE-REGISTER; the loop ends when the gateway has answered both. */
static void stop_step(struct atd_rsip *r)
{
	size_t n;
	int ret = 0;

	if (r->c.pending)
		return;		/* one request at a time: wait for its answer */
	if (r->bound && rsip_client_binding(&r->c, r->bind_id))
		ret = rsip_client_free(&r->c, r->bind_id, r->out, sizeof(r->out), &n);
	else if (r->c.state == RSIP_CLIENT_REGISTERED)
		ret = rsip_client_deregister(&r->c, r->out, sizeof(r->out), &n);
	else {
		close_conn(r);
		event_base_loopexit(r->d->base, NULL);
		return;
	}
	if (ret || send_msg(r, n)) {
		close_conn(r);
		event_base_loopexit(r->d->base, NULL);
	}
}

void atd_rsip_stop(struct atd *d)
{
	struct atd_rsip *r = d->rsip;
	struct timeval tv = { STOP_WAIT_MS / 1000, (STOP_WAIT_MS % 1000) * 1000 };

	if (!r)
		return;
	evtimer_del(r->timer);
	if (r->bev && r->c.state == RSIP_CLIENT_REGISTERED) {
		/* the tunnels through Nb go first (their Deletes still leave through the tunnel) */
		for (int i = 0; i < d->npeers; i++)
			if (d->peers[i].rsip == ATD_RSIP_ON)
				ike_glue_peer_down(d->ike, &d->peers[i]);
		r->st = ST_STOPPING;
		stop_step(r);
		if (r->bev) {
			event_base_loopexit(d->base, &tv);
			event_base_dispatch(d->base);
		}
	}
	close_conn(r);
	event_free(r->timer);
	event_free(r->answer);
	free(r);
	d->rsip = NULL;
}

int atd_rsip_public(const struct atd *d, struct sockaddr_in *out)
{
	if (!d->rsip || !d->rsip->bound)
		return -ENOENT;
	*out = d->rsip->pub;
	return 0;
}

int atd_rsip_binding(const struct atd *d, struct ike_glue_rsip *gr, struct dp_path *path)
{
	if (!d->rsip || !d->rsip->bound)
		return -ENOENT;
	*gr = d->rsip->gr;
	*path = d->rsip->path;
	return 0;
}

int atd_rsip_send_ike(struct atd *d, const struct sockaddr_in *local, const struct sockaddr_in *remote,
		      const uint8_t *msg, size_t len)
{
	struct atd_rsip *r = d->rsip;

	if (!r || !r->bound || local->sin_addr.s_addr != r->pub.sin_addr.s_addr)
		return -ENOENT;
	return dp_send_ike_rsip(d->dp, &r->path, ntohs(local->sin_port), remote, msg, len);
}
