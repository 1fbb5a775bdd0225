#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "autotunnel-gwd/control.h"
#include "autotunnel-gwd/ct.h"
#include "autotunnel-gwd/gwd.h"
#include "autotunnel-gwd/handler.h"
#include "autotunnel-gwd/lansock.h"
#include "autotunnel-gwd/netwatch.h"
#include "autotunnel-gwd/neigh.h"
#include "autotunnel-gwd/nft.h"
#include "autotunnel-gwd/ownports.h"
#include "autotunnel-gwd/rsip_server.h"
#include "autotunnel-gwd/status.h"
#include "autotunnel-gwd/table.h"
#include "autotunnel-gwd/timers.h"
#include "common/clock.h"
#include "common/log.h"

#define LANSOCK_MAX (GWD_LAN_MAX * 8)
#define RECHECK_S 10	/* look at the addresses even without netlink news */
#define PENDING_MAX 16	/* requests waiting for their source's neighbour entry */
#define PENDING_WAIT_MS 1000	/* how long a request waits for ARP to answer */
#define PENDING_STEP_MS 25	/* how often the neighbour table is looked at meanwhile */

/*
 * A request whose source address has no neighbour entry yet: the router
 * resolves it (ARP) and decides once the entry is there, or after
 * PENDING_WAIT_MS with the source unproven.
 */
struct pending {
	bool used;
	unsigned int ifindex;
	uint32_t lan_addr;	/* the LAN socket it came in on, host order */
	uint32_t src;
	uint16_t sport;
	uint8_t lladdr[6];	/* the Ethernet source of its frame */
	uint64_t deadline;
	size_t len;
	uint8_t buf[GWD_LANSOCK_PAYLOAD];
};

struct gwd {
	struct gwd_settings *s;
	struct event_base *base;
	struct gwd_table table;
	struct gwd_nft *nft;
	struct gwd_netwatch *nw;
	struct gwd_control *control;
	struct gwd_rsip *rsip;		/* NULL with --no-rsip */
	struct gwd_timers tm;
	uint32_t ext_addr;
	struct gwd_lansock lan[LANSOCK_MAX];
	size_t n_lan;
	struct event *ev_timer, *ev_recheck, *ev_nl, *ev_sigint, *ev_sigterm, *ev_pending;
	struct log_ratelimit rl_map;
	struct pending pending[PENDING_MAX];
	bool warned_ownports;
};

static const char *proto_name(uint8_t p)
{
	return p == GWD_PROTO_TCP ? "tcp" : "udp";
}

static struct gwd_ctx make_ctx(const struct gwd *g, uint64_t now)
{
	return (struct gwd_ctx){
		.ext_addr = g->ext_addr,
		.epoch_s = gwd_timers_epoch(&g->tm, now),
		.lifetime_min = (uint32_t)g->s->lifetime_min,
		.lifetime_max = (uint32_t)g->s->lifetime_max,
	};
}

static void reschedule(struct gwd *g)
{
	uint64_t next = gwd_timers_next(&g->tm, gwd_table_next_expiry(&g->table));
	struct timeval tv;

	if (next == GWD_NEVER) {
		evtimer_del(g->ev_timer);
		return;
	}
	tv = gwd_timeval_until(next, clock_now_ms());
	evtimer_add(g->ev_timer, &tv);
}

/*
 * Flows to the external port that conntrack remembers keep their old
 * meaning until they are forgotten: make them go (ct.h says why).
 */
static void forget_flows(struct gwd *g, uint8_t proto, uint16_t ext_port)
{
	int rc;

	if (!g->ext_addr)
		return;
	rc = gwd_ct_flush(proto, g->ext_addr, ext_port);
	if (rc < 0) {
		errno = -rc;
		log_warn("conntrack: flushing flows to %s port %u", proto_name(proto), ext_port);
	} else if (rc > 0) {
		log_debug("conntrack: %d flow(s) to %s port %u forgotten", rc, proto_name(proto), ext_port);
	}
}

/* A mapping leaves the table (@p why: "unmapped", "expired"): its forwarding goes first. */
static void remove_mapping(struct gwd *g, const struct gwd_mapping *m, const char *why)
{
	char a[16];

	(void)gwd_nft_unmap(g->nft, m->proto, m->ext_port);
	forget_flows(g, m->proto, m->ext_port);
	gwd_addr_str(m->client, a, sizeof(a));
	log_ratelimited(&g->rl_map, LOG_LEVEL_INFO, "%s %s %u -> %s:%u", why, proto_name(m->proto),
			m->ext_port, a, m->int_port);
}

static void on_removed(void *arg, const struct gwd_mapping *m)
{
	remove_mapping(arg, m, "unmapped");
}

static void on_expired(void *arg, const struct gwd_mapping *m)
{
	remove_mapping(arg, m, "expired");
}

/* ---- announcements ---- */

static void announce(struct gwd *g, uint64_t now)
{
	struct gwd_ctx ctx = make_ctx(g, now);
	uint8_t pmp[NATPMP_MAX_LEN], pcp[PCP_HDR_LEN];
	int n1 = gwd_announce_natpmp(&ctx, pmp, sizeof(pmp));
	int n2 = gwd_announce_pcp(&ctx, pcp, sizeof(pcp));

	for (size_t i = 0; i < g->n_lan; i++) {
		if (n1 > 0 && gwd_lansock_send(&g->lan[i], pmp, (size_t)n1, GWD_ANNOUNCE_GROUP,
					       GWD_ANNOUNCE_PORT) < 0)
			log_debug_rl("announcement on %s: %s", g->lan[i].ifname, strerror(errno));
		if (n2 > 0)
			(void)gwd_lansock_send(&g->lan[i], pcp, (size_t)n2, GWD_ANNOUNCE_GROUP,
					       GWD_ANNOUNCE_PORT);
	}
	log_debug("announced external address (epoch %u) on %zu LAN address(es), %u of %d",
		  ctx.epoch_s, g->n_lan, g->tm.announce_sent, GWD_ANNOUNCE_COUNT);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gwd *g = arg;
	uint64_t now = clock_now_ms();

	gwd_expire(&g->table, now, on_expired, g);
	if (gwd_timers_announce_due(&g->tm, now)) {
		if (g->ext_addr)
			announce(g, now);
		else
			gwd_timers_announce_stop(&g->tm);
	}
	reschedule(g);
}

/* ---- requests ---- */

static bool is_map(const struct gwd_request *req)
{
	if (req->rc)
		return false;
	return req->pcp ? req->msg.opcode == PCP_OP_MAP : req->pmp.op != NATPMP_OP_EXTADDR;
}

/* Decide a request from @p c and carry out the decision. */
static void decide(struct gwd *g, struct gwd_lansock *ls, const uint8_t *buf, size_t len,
		   const struct gwd_client *c, uint16_t sport, bool unresolved)
{
	uint64_t now = clock_now_ms();
	struct gwd_ctx ctx = make_ctx(g, now);
	uint32_t src = c->addr;
	struct gwd_request req;
	struct gwd_reply *rep;
	int rc = 0;

	rep = malloc(sizeof(*rep));
	if (!rep)
		return;
	gwd_request_parse(buf, len, &req);
	if (is_map(&req) && c->proven && g->ext_addr) {
		/* the router's own services keep their ports: a fresh look before deciding */
		rc = gwd_ownports_scan(&g->table, g->ext_addr, if_nametoindex(g->s->wan));
		if (rc && !g->warned_ownports) {
			errno = -rc;
			log_warn("sock_diag: cannot list the router's own sockets; ports it listens on may be mapped");
			g->warned_ownports = true;
		}
		rc = 0;
	}
	gwd_handle_client(&ctx, &g->table, c, &req, now, rep);

	switch (rep->change.kind) {
	case GWD_CHANGE_CREATE:
	case GWD_CHANGE_RENEW:
		/* nftables first: a mapping is granted only if it forwards */
		rc = gwd_nft_map(g->nft, &rep->change.m, rep->change.kind == GWD_CHANGE_RENEW);
		if (rc == 0 && (rc = gwd_change_apply(&g->table, &rep->change, NULL, NULL)) != 0)
			(void)gwd_nft_unmap(g->nft, rep->change.m.proto, rep->change.m.ext_port);
		if (rc == 0 && rep->change.kind == GWD_CHANGE_CREATE) {
			char a[16];

			forget_flows(g, rep->change.m.proto, rep->change.m.ext_port);
			gwd_addr_str(src, a, sizeof(a));
			log_ratelimited(&g->rl_map, LOG_LEVEL_INFO, "mapped %s %u -> %s:%u for %u s (%s)",
					proto_name(rep->change.m.proto), rep->change.m.ext_port, a,
					rep->change.m.int_port, rep->change.m.lifetime_s,
					req.pcp ? "PCP" : "NAT-PMP");
		}
		if (rc)
			gwd_handle_failed(&ctx, &req, rep);
		break;
	case GWD_CHANGE_DELETE:
	case GWD_CHANGE_DELETE_ALL:
		rc = gwd_change_apply(&g->table, &rep->change, on_removed, g);	/* cannot fail */
		break;
	case GWD_CHANGE_NONE:
		break;
	}
	if (rep->len && rep->result != 0) {
		char a[16];

		gwd_addr_str(src, a, sizeof(a));
		log_debug_rl("%s request from %s:%u refused: %s%s", req.pcp ? "PCP" : "NAT-PMP", a, sport,
			     req.pcp ? pcp_result_str(rep->result) : natpmp_result_str(rep->result),
			     c->proven ? "" : !c->has_lladdr ? " (no frame seen for it)"
					 : unresolved ? " (no neighbour answered ARP for that address)"
					 : " (the frame's sender is not that address's neighbour)");
	}
	if (rep->len && gwd_lansock_send(ls, rep->buf, rep->len, src, sport) < 0)
		log_debug_rl("answer to a LAN client: %s", strerror(errno));
	free(rep);
	reschedule(g);
}

/*
 * Prove @p c's address: the frame's Ethernet source must be the link-layer
 * address the neighbour table holds for it on this interface. A spoofer's
 * frame carries its own address, not its victim's. Returns -ENOENT when
 * there is no usable entry yet (then ARP may settle it).
 */
static int prove(struct gwd_lansock *ls, struct gwd_client *c)
{
	uint8_t known[6];
	int rc;

	c->proven = false;
	if (!c->has_lladdr)
		return 0;
	rc = gwd_neigh_get(ls->ifindex, c->addr, known);
	if (rc == 0)
		c->proven = memcmp(known, c->lladdr, 6) == 0;
	return rc == -ENOENT ? -ENOENT : 0;
}

static void arm_pending(struct gwd *g)
{
	struct timeval tv = { 0, PENDING_STEP_MS * 1000 };

	for (size_t i = 0; i < PENDING_MAX; i++) {
		if (g->pending[i].used) {
			evtimer_add(g->ev_pending, &tv);
			return;
		}
	}
}

static struct gwd_lansock *find_lan(struct gwd *g, unsigned int ifindex, uint32_t addr);

static void on_pending(evutil_socket_t fd, short what, void *arg)
{
	struct gwd *g = arg;
	uint64_t now = clock_now_ms();

	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &g->pending[i];
		struct gwd_lansock *ls;
		struct gwd_client c;

		if (!p->used)
			continue;
		ls = find_lan(g, p->ifindex, p->lan_addr);
		if (!ls) {
			p->used = false;	/* the LAN address went away meanwhile */
			continue;
		}
		c = (struct gwd_client){ .addr = p->src, .has_lladdr = true };
		memcpy(c.lladdr, p->lladdr, 6);
		int rc = prove(ls, &c);

		if (rc == -ENOENT && now < p->deadline)
			continue;
		p->used = false;
		decide(g, ls, p->buf, p->len, &c, p->sport, rc == -ENOENT);
	}
	arm_pending(g);
}

/* Keep a request until ARP has told who @p c->addr is. false: no room, decide now. */
static bool defer(struct gwd *g, struct gwd_lansock *ls, const uint8_t *buf, size_t len,
		  const struct gwd_client *c, uint16_t sport)
{
	struct pending *p = NULL;
	int rc;

	for (size_t i = 0; i < PENDING_MAX && !p; i++)
		if (!g->pending[i].used)
			p = &g->pending[i];
	if (!p || len > sizeof(p->buf))
		return false;
	rc = gwd_neigh_resolve(ls->ifindex, c->addr);
	if (rc) {
		errno = -rc;
		log_debug_rl("neighbour: cannot resolve a LAN client: %s", strerror(errno));
		return false;
	}
	*p = (struct pending){ .used = true, .ifindex = ls->ifindex, .lan_addr = ls->addr,
			       .src = c->addr, .sport = sport, .len = len,
			       .deadline = clock_now_ms() + PENDING_WAIT_MS };
	memcpy(p->lladdr, c->lladdr, 6);
	memcpy(p->buf, buf, len);
	{
		char a[16];

		gwd_addr_str(c->addr, a, sizeof(a));
		log_debug_rl("%s has no neighbour entry on %s: resolving it before deciding", a, ls->ifname);
	}
	arm_pending(g);
	return true;
}

static void serve(struct gwd *g, struct gwd_lansock *ls, const uint8_t *buf, size_t len,
		  uint32_t src, uint16_t sport, const uint8_t lladdr[static 6], bool has_lladdr)
{
	struct gwd_client c = { .addr = src, .has_lladdr = has_lladdr };
	struct gwd_request req;
	int rc;

	/* the client must live on this LAN subnet: it may map only to itself */
	if (!gwd_client_on_subnet(ls->addr, ls->plen, src) || sport == 0) {
		log_debug_rl("ignored a request from outside %s's subnet", ls->ifname);
		return;
	}
	if (has_lladdr)
		memcpy(c.lladdr, lladdr, 6);
	/* only what may change a mapping needs the proof (and may wait for ARP) */
	gwd_request_parse(buf, len, &req);
	if (!is_map(&req)) {
		decide(g, ls, buf, len, &c, sport, false);
		return;
	}
	rc = prove(ls, &c);
	if (rc == -ENOENT && defer(g, ls, buf, len, &c, sport))
		return;
	decide(g, ls, buf, len, &c, sport, rc == -ENOENT);
}

static void on_lan(evutil_socket_t fd, short what, void *arg)
{
	struct gwd_lansock *ls = arg;
	struct gwd *g = ls->owner;
	uint8_t buf[GWD_LANSOCK_PAYLOAD];	/* more than PCP_MAX_LEN: an oversized request is answered MALFORMED */
	uint8_t lladdr[6];
	bool has_lladdr;
	uint32_t src;
	uint16_t sport;

	/* a bounded batch per wake-up, so that one busy client cannot starve the loop */
	for (int i = 0; i < 32; i++) {
		ssize_t n = gwd_lansock_recv(ls, buf, sizeof(buf), &src, &sport, lladdr, &has_lladdr);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			continue;
		serve(g, ls, buf, (size_t)n, src, sport, lladdr, has_lladdr);
	}
}

/* ---- addresses ---- */

static struct gwd_lansock *find_lan(struct gwd *g, unsigned int ifindex, uint32_t addr)
{
	for (size_t i = 0; i < LANSOCK_MAX; i++)
		if (g->lan[i].fd >= 0 && g->lan[i].ifindex == ifindex && g->lan[i].addr == addr)
			return &g->lan[i];
	return NULL;
}

static void close_lan(struct gwd_lansock *ls)
{
	if (ls->ev)
		event_free(ls->ev);
	ls->ev = NULL;
	gwd_lansock_close(ls);
}

static void open_lan(struct gwd *g, const char *ifname, const struct gwd_ifaddr *a)
{
	struct gwd_lansock *ls = NULL;
	char as[16];
	int rc, pkt_err;

	for (size_t i = 0; i < LANSOCK_MAX && !ls; i++)
		if (g->lan[i].fd < 0)
			ls = &g->lan[i];
	gwd_addr_str(a->addr, as, sizeof(as));
	if (!ls) {
		log_warnx("%s: too many LAN addresses, not serving %s", ifname, as);
		return;
	}
	rc = gwd_lansock_open(ls, ifname, a->ifindex, a->addr, a->plen, &pkt_err);
	if (pkt_err && !rc) {
		errno = -pkt_err;
		log_warn("%s: no packet socket (CAP_NET_RAW?): no client's address can be proven, "
			 "every mapping request from %s's LAN will be refused", ifname, as);
	}
	if (rc) {
		errno = -rc;
		log_warn("cannot serve NAT-PMP/PCP on %s:%d (%s)", as, GWD_SERVER_PORT, ifname);
		ls->fd = -1;
		return;
	}
	ls->owner = g;
	ls->seen = true;
	ls->ev = event_new(g->base, ls->fd, EV_READ | EV_PERSIST, on_lan, ls);
	if (!ls->ev || event_add(ls->ev, NULL) < 0) {
		close_lan(ls);
		return;
	}
	log_info("serving NAT-PMP and PCP on %s:%d (%s, %s/%u)", as, GWD_SERVER_PORT, ifname, as, a->plen);
}

/* Open sockets for new LAN addresses, close those of addresses gone. */
static void refresh_lan(struct gwd *g)
{
	struct gwd_ifaddr a[8];
	size_t i;

	for (i = 0; i < LANSOCK_MAX; i++)
		g->lan[i].seen = false;
	for (size_t k = 0; k < g->s->n_lans; k++) {
		int n = gwd_if_addrs(g->s->lans[k], a, 8);

		for (int j = 0; j < n; j++) {
			struct gwd_lansock *ls = find_lan(g, a[j].ifindex, a[j].addr);

			if (ls && ls->plen == a[j].plen)
				ls->seen = true;
			else {
				if (ls)
					close_lan(ls);
				open_lan(g, g->s->lans[k], &a[j]);
			}
		}
	}
	g->n_lan = 0;
	for (i = 0; i < LANSOCK_MAX; i++) {
		if (g->lan[i].fd < 0)
			continue;
		if (!g->lan[i].seen) {
			char as[16];

			gwd_addr_str(g->lan[i].addr, as, sizeof(as));
			log_info("%s: address %s is gone, no longer serving it", g->lan[i].ifname, as);
			close_lan(&g->lan[i]);
			continue;
		}
		g->n_lan++;
	}
}

static void refresh_wan(struct gwd *g)
{
	uint32_t ext = gwd_if_external(g->s->wan);
	uint64_t now = clock_now_ms();
	char as[16];

	if (ext == g->ext_addr)
		return;
	g->ext_addr = ext;
	if (ext == 0) {
		log_warnx("%s has no IPv4 address: mappings cannot be made until it has one", g->s->wan);
		gwd_timers_announce_stop(&g->tm);
		return;
	}
	gwd_addr_str(ext, as, sizeof(as));
	log_info("external address %s on %s: new epoch, announcing", as, g->s->wan);
	gwd_timers_address_changed(&g->tm, now);
	reschedule(g);
}

static void refresh(struct gwd *g)
{
	refresh_lan(g);
	/* RSIP first: its set-up must not delay an announcement series refresh_wan starts */
	gwd_rsip_refresh(g->rsip, gwd_if_external(g->s->wan));
	refresh_wan(g);
}

static void on_netlink(evutil_socket_t fd, short what, void *arg)
{
	struct gwd *g = arg;
	int rc = gwd_netwatch_read(g->nw);

	if (rc < 0) {
		errno = -rc;
		log_warn("netlink");
	}
	if (rc != 0)
		refresh(g);
}

/*
 * Someone flushed the ruleset (a reload of nftables.service does): put the
 * table back with every live mapping, and let flows take the new meaning.
 */
static void check_nft(struct gwd *g)
{
	size_t ok = 0;

	if (gwd_nft_check(g->nft) == 0)
		return;
	log_warnx("nftables: table %s was removed behind our back; restoring %zu mapping(s)",
		  GWD_NFT_TABLE, g->table.n);
	if (gwd_nft_recreate(g->nft))
		return;
	for (size_t i = 0; i < g->table.n; i++) {
		if (gwd_nft_map(g->nft, &g->table.m[i], 0) == 0) {
			forget_flows(g, g->table.m[i].proto, g->table.m[i].ext_port);
			ok++;
		}
	}
	if (ok != g->table.n)
		log_warnx("nftables: %zu of %zu mapping(s) restored", ok, g->table.n);
}

static void on_recheck(evutil_socket_t fd, short what, void *arg)
{
	refresh(arg);
	check_nft(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct gwd *g = arg;

	log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(g->base);
}

/* ---- status ---- */

static int status_text(void *arg, FILE *fp)
{
	struct gwd *g = arg;
	uint64_t now = clock_now_ms();
	struct gwd_status_info info = {
		.wan = g->s->wan,
		.ext_addr = g->ext_addr,
		.epoch_s = gwd_timers_epoch(&g->tm, now),
	};

	if (gwd_status_format(fp, &info, &g->table, now) < 0)
		return -1;
	return gwd_rsip_status(g->rsip, fp);
}

/* ---- life cycle ---- */

static int make_state_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void teardown(struct gwd *g)
{
	gwd_rsip_close(g->rsip);
	for (size_t i = 0; i < LANSOCK_MAX; i++)
		close_lan(&g->lan[i]);
	gwd_control_close(g->control);
	/* soft state (RFC 6281 §4.2): nothing is kept; the table goes with us */
	gwd_nft_close(g->nft);
	if (g->ev_nl)
		event_free(g->ev_nl);
	gwd_netwatch_close(g->nw);
	if (g->ev_timer)
		event_free(g->ev_timer);
	if (g->ev_pending)
		event_free(g->ev_pending);
	if (g->ev_recheck)
		event_free(g->ev_recheck);
	if (g->ev_sigint)
		event_free(g->ev_sigint);
	if (g->ev_sigterm)
		event_free(g->ev_sigterm);
	gwd_table_fini(&g->table);
	if (g->base)
		event_base_free(g->base);
}

int gwd_run(struct gwd_settings *s)
{
	struct gwd *g = calloc(1, sizeof(*g));
	struct timeval recheck = { RECHECK_S, 0 };
	struct gwd_privs privs;
	char err[256];
	int rc, status = 1;

	if (!g) {
		log_warnx("out of memory");
		return 1;
	}
	g->s = s;
	g->rl_map = (struct log_ratelimit)LOG_RATELIMIT_INIT(20, 50);
	for (size_t i = 0; i < LANSOCK_MAX; i++)
		g->lan[i].fd = g->lan[i].pfd = -1;
	signal(SIGPIPE, SIG_IGN);

	rc = gwd_table_init(&g->table, (uint16_t)s->port_min, (uint16_t)s->port_max,
			    (size_t)s->max_mappings, (size_t)s->max_per_client);
	if (rc) {
		log_warnx("bad mapping limits");
		goto out;
	}
	/* RSIP lends its own ports on the same external address: NAT-PMP/PCP
	 * must not map them, or the DNAT would take the port's traffic away */
	if (s->rsip)
		gwd_table_reserve(&g->table, (uint16_t)s->rsip_port_min, (uint16_t)s->rsip_port_max);
	g->base = event_base_new();
	if (!g->base) {
		log_warnx("cannot create the event loop");
		goto out;
	}
	rc = make_state_dir(s->state_dir);
	if (rc) {
		errno = -rc;
		log_warn("state directory %s", s->state_dir);
		goto out;
	}
	rc = gwd_control_open(&g->control, g->base, s->control, status_text, g);
	if (rc) {
		if (rc == -EADDRINUSE)
			log_warnx("another autotunnel-gwd answers on %s", s->control);
		else {
			errno = -rc;
			log_warn("control socket %s", s->control);
		}
		goto out;
	}
	rc = gwd_nft_open(&g->nft, s->wan, err, sizeof(err));
	if (rc) {
		log_warnx("nftables: %s", err);
		goto out;
	}
	rc = gwd_netwatch_open(&g->nw);
	if (rc) {
		errno = -rc;
		log_warn("netlink (falling back to looking every %d s)", RECHECK_S);
	} else {
		g->ev_nl = event_new(g->base, gwd_netwatch_fd(g->nw), EV_READ | EV_PERSIST, on_netlink, g);
		if (!g->ev_nl || event_add(g->ev_nl, NULL) < 0)
			goto out;
	}
	g->ev_timer = evtimer_new(g->base, on_timer, g);
	g->ev_pending = evtimer_new(g->base, on_pending, g);
	g->ev_recheck = event_new(g->base, -1, EV_PERSIST, on_recheck, g);
	g->ev_sigint = evsignal_new(g->base, SIGINT, on_signal, g);
	g->ev_sigterm = evsignal_new(g->base, SIGTERM, on_signal, g);
	if (!g->ev_timer || !g->ev_pending || !g->ev_recheck || !g->ev_sigint || !g->ev_sigterm ||
	    event_add(g->ev_recheck, &recheck) < 0 || event_add(g->ev_sigint, NULL) < 0 ||
	    event_add(g->ev_sigterm, NULL) < 0)
		goto out;

	/* RSIP (RFC 3103/3104) on TCP 4555 of the LAN, unless --no-rsip; before the epoch starts */
	if (s->rsip && (rc = gwd_rsip_open(&g->rsip, g->base, s, gwd_if_external(s->wan)))) {
		errno = -rc;
		log_warn("rsip: not started");
	}

	/* started: from here on, GWD_CAPS as an unprivileged user (settings.h) */
	if (gwd_settings_privs(s, &privs)) {
		log_warnx("%s: path too long", s->control);
		goto out;
	}
	if (s->user && strcmp(s->user, "root") == 0)
		log_warnx("user root: the gateway keeps uid 0 (with net_admin, net_raw and "
			  "net_bind_service only)");
	if (privdrop_apply(&privs.drop))
		goto out;

	/* the epoch starts now, with an empty table (RFC 6886 §3.6) */
	gwd_timers_init(&g->tm, clock_now_ms());
	/*
	 * Listeners. The NAT-PMP/PCP sockets follow the LAN addresses
	 * (refresh_lan); the RSIP server, opened above, follows them in
	 * gwd_rsip_refresh() and is stopped in teardown() before nftables.
	 */
	refresh_lan(g);
	if (g->n_lan == 0)
		log_warnx("no IPv4 address to serve on %s yet", s->lan);
	g->ext_addr = gwd_if_external(s->wan);
	if (g->ext_addr) {
		char as[16];

		gwd_addr_str(g->ext_addr, as, sizeof(as));
		log_info("external address %s on %s; announcing", as, s->wan);
	} else {
		log_warnx("%s has no IPv4 address yet", s->wan);
		gwd_timers_announce_stop(&g->tm);
	}
	reschedule(g);
	log_info("ready: ports %d-%d, lifetimes %d-%d s, control %s", s->port_min, s->port_max,
		 s->lifetime_min, s->lifetime_max, s->control);
	if (event_base_dispatch(g->base) < 0)
		log_warnx("event loop failed");
	else
		status = 0;
out:
	teardown(g);
	free(g);
	return status;
}
