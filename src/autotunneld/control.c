/*
 * src/autotunneld/control.c: the CLI's socket. Each connection carries one
 * request frame and gets one reply frame; requests that take time (ping,
 * netcheck's TLS probe, login, logout) answer when their work is done.
 *
 * It sits above the engine (main.c starts it): it reads the agent through
 * atd_agent_self/account/peers and asks the account, the publisher, the
 * watcher and the peers directly; none of them calls back into it except
 * through the completion callbacks it passes with a request.
 */
#include "autotunneld/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "agent/ctl.h"
#include "agent/name.h"
#include "agent/paths.h"
#include "agent/timers.h"
#include "autotunneld/account.h"
#include "autotunneld/agent.h"
#include "autotunneld/daemon.h"
#include "autotunneld/dnsconn.h"
#include "autotunneld/dynpeer.h"
#include "autotunneld/enrol.h"
#include "autotunneld/publish.h"
#include "autotunneld/reflex.h"
#include "autotunneld/relay.h"
#include "autotunneld/watch.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/keys.h"
#include "util/encode.h"

#define CLIENTS_MAX 32
#define REQUEST_TIMEOUT_S 30
#define PROBE_TIMEOUT_S 5
#define STUN_WAIT_MS 10000	/* netcheck waits for a STUN check under way (the CLI waits 15 s) */
#define STUN_POLL_MS 100
#define REPLY_MAX (256 * 1024)

struct client;

struct atd_control {
	struct atd *d;
	struct evconnlistener *lis;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client *clients[CLIENTS_MAX];
};

/* A check that the rendezvous server answers over TLS (netcheck), through a connection of its own. */
struct probe {
	struct dnsconn *conn;
	char server[264];
	bool done, ok;
	char error[160];
};

struct client {
	struct atd_control *c;
	struct bufferevent *bev;
	struct agent_ctl_msg *req;
	bool busy;			/* a reply is being worked on */
	bool closing;			/* reply queued: free when written */
	struct probe *probe;
	struct event *timeout;
	struct event *probe_ev;	/* bounds the probe */
	struct event *stun_ev;	/* netcheck: looks again whether the STUN check ended */
	uint64_t stun_until;	/* netcheck: waits for STUN until then (0: does not wait) */
	bool netcheck_sent;
};

static uint8_t reply_buf[REPLY_MAX];

static void client_free(struct client *cl)
{
	struct atd_control *c = cl->c;

	for (int i = 0; i < CLIENTS_MAX; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	atd_dynpeers_ping_cancel(atd_agent_peers(c->d), cl);
	atd_account_forget(c->d, cl);
	atd_services_forget(atd_dns_watch(c->d), cl);
	if (cl->probe) {
		if (cl->probe_ev)
			event_free(cl->probe_ev);
		dnsconn_free(cl->probe->conn);
		free(cl->probe);
	}
	if (cl->stun_ev)
		event_free(cl->stun_ev);
	if (cl->timeout)
		event_free(cl->timeout);
	if (cl->bev)
		bufferevent_free(cl->bev);
	agent_ctl_msg_free(cl->req);
	free(cl);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;

	(void)bev;
	if (cl->closing)
		client_free(cl);
}

static void send_frame(struct client *cl, const uint8_t *buf, int len)
{
	cl->busy = false;
	if (len < 0) {
		len = agent_ctl_write_error(reply_buf, sizeof(reply_buf), "the reply does not fit", -len);
		buf = reply_buf;
	}
	if (len < 0 || bufferevent_write(cl->bev, buf, (size_t)len) < 0) {
		client_free(cl);
		return;
	}
	cl->closing = true;
	bufferevent_disable(cl->bev, EV_READ);
}

static void send_error(struct client *cl, const char *msg, int err)
{
	send_frame(cl, reply_buf, agent_ctl_write_error(reply_buf, sizeof(reply_buf), msg, err));
}

/* ---- status, hosts ---- */

static const char *nat_word(const struct atd_self *a)
{
	if (a->rsip && a->net.online)
		return "nat";
	switch (a->reach) {
	case ATD_REACH_PUBLIC:
		return "none";
	case ATD_REACH_MAPPED:
	case ATD_REACH_NO_MAPPING:
	case ATD_REACH_REFUSED:
		return "nat";
	case ATD_REACH_DOUBLE_NAT:
		return "double";
	default:
		return "unknown";
	}
}

/* The relay's fields (relay.c's view), in the record being written; nothing while it is idle. */
static void write_relay(struct agent_ctl_writer *w, struct atd *d)
{
	struct atd_relay_view v;
	const char *word;

	if (!atd_agent_relay(d, &v))
		return;
	switch (v.state) {
	case ATD_RELAY_IDLE:
	case ATD_RELAY_NO_SERVER:
		return;	/* nothing to say: an account without a relay looks as before */
	case ATD_RELAY_ALLOCATED:
		word = "allocated";
		break;
	case ATD_RELAY_ALLOCATING:
	case ATD_RELAY_CREDENTIAL:
		word = "allocating";
		break;
	case ATD_RELAY_LOOKUP:
		word = "lookup";
		break;
	default:
		word = "failed";
		break;
	}
	agent_ctl_write_str(w, AGENT_CTL_F_RELAY, word);
	if (v.server[0])
		agent_ctl_write_str(w, AGENT_CTL_F_RELAY_SERVER, v.server);
	agent_ctl_write_str(w, AGENT_CTL_F_RELAY_TRANSPORT, v.transport);
	if (v.state == ATD_RELAY_ALLOCATED && v.relayed.sin_family == AF_INET) {
		agent_ctl_write_ip4(w, AGENT_CTL_F_RELAYED, (const uint8_t *)&v.relayed.sin_addr);
		agent_ctl_write_uint(w, AGENT_CTL_F_RELAYED_PORT, ntohs(v.relayed.sin_port));
	}
	if (v.state == ATD_RELAY_ALLOCATED && v.has_rtt)
		agent_ctl_write_uint(w, AGENT_CTL_F_RELAY_RTT_US, v.rtt_us);
}

/* A peer's outer address: outer (IPv4) or outer6 (IPv6), which older CLIs skip. */
static void write_outer(struct agent_ctl_writer *w, bool v6, const uint8_t addr[16])
{
	if (v6)
		agent_ctl_write_ip6(w, AGENT_CTL_F_OUTER6, addr);
	else
		agent_ctl_write_ip4(w, AGENT_CTL_F_OUTER, addr);
}

static const char *state_word(enum agent_peer_state s)
{
	switch (s) {
	case AGENT_PEER_UP:
		return "up";
	case AGENT_PEER_CONNECTING:
		return "connecting";
	case AGENT_PEER_UNREACHABLE:
		return "unreachable";
	default:
		return "idle";
	}
}

static void write_external(struct agent_ctl_writer *w, const struct atd_self *a)
{
	if (a->rsip && a->net.online) {
		uint8_t e[4];

		memcpy(e, &a->rsip_addr, 4);
		agent_ctl_write_ip4(w, AGENT_CTL_F_EXTERNAL, e);
		agent_ctl_write_uint(w, AGENT_CTL_F_PORT, a->rsip_port);
	} else if (a->reach == ATD_REACH_PUBLIC) {
		agent_ctl_write_ip4(w, AGENT_CTL_F_EXTERNAL, a->net.addr);
		agent_ctl_write_uint(w, AGENT_CTL_F_PORT, a->ext_port);
	} else if (a->reach == ATD_REACH_MAPPED || a->reach == ATD_REACH_DOUBLE_NAT) {
		uint8_t e[4];

		memcpy(e, &a->ext_addr, 4);
		agent_ctl_write_ip4(w, AGENT_CTL_F_EXTERNAL, e);
		agent_ctl_write_uint(w, AGENT_CTL_F_PORT, a->ext_port);
	}
}

/* How peers reach us: the port mapping's protocol, or "rsip" for an address lent by the gateway. */
static const char *mapping_word(const struct atd_self *a)
{
	return a->rsip && a->net.online ? "rsip" : a->mapping;
}

static void do_status(struct client *cl)
{
	struct atd *d = cl->c->d;
	static struct atd_self self;
	const struct atd_self *a = &self;
	static struct atd_peer_status ps[DP_MAX_PEERS];
	struct agent_ctl_writer w;
	struct atd_acct_view acc;
	char fqdn[AGENT_NAME_MAX + 1];
	size_t n = atd_dynpeers_status(atd_agent_peers(d), ps, DP_MAX_PEERS);
	bool via;
	bool in = atd_agent_account(d, &acc);

	if (!atd_agent_self(d, &self)) {
		send_error(cl, "not in account mode", ENOENT);
		return;
	}
	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_STATUS);
	atd_account_write(d, &w);
	if (in) {
		struct atd_watch_status ws;

		/* still the ACCOUNT record atd_account_write() opened: how the server is heard */
		atd_watch_status(atd_dns_watch(d), &ws);
		agent_ctl_write_str(&w, AGENT_CTL_F_SERVER_STATE,
				    ws.llq_up ? (ws.push ? "push" : "connected") : ws.polling ? "polling" : "connecting");
		if (ws.polling && ws.lost_since && ws.lost_since <= UINT32_MAX)
			agent_ctl_write_uint(&w, AGENT_CTL_F_SERVER_LOST_SINCE, (uint32_t)ws.lost_since);
	}
	agent_ctl_write_rec(&w, AGENT_CTL_R_SELF);
	agent_ctl_write_str(&w, AGENT_CTL_F_LABEL, in && acc.host ? acc.host : a->label);
	if (in && acc.host && acc.domain) {
		snprintf(fqdn, sizeof(fqdn), "%s.%s", acc.host, acc.domain);
		agent_ctl_write_str(&w, AGENT_CTL_F_FQDN, fqdn);
	}
	agent_ctl_write_ip6(&w, AGENT_CTL_F_ULA, a->ula);
	agent_ctl_write_str(&w, AGENT_CTL_F_NAT, nat_word(a));
	write_external(&w, a);
	if ((a->rsip && a->net.online) || (a->reach != ATD_REACH_UNKNOWN && a->reach != ATD_REACH_PUBLIC))
		agent_ctl_write_str(&w, AGENT_CTL_F_MAPPING, mapping_word(a));
	if (in) {
		struct atd_publish_status pst;

		atd_pub_status(atd_dns_pub(d), &pst);
		if (pst.published)
			agent_ctl_write_uint(&w, AGENT_CTL_F_LEASE_S, pst.lease_left_s);
	}
	agent_ctl_write_str(&w, AGENT_CTL_F_DETAIL, a->reach_text);
	write_relay(&w, d);
	for (size_t i = 0; i < n; i++) {
		agent_ctl_write_rec(&w, AGENT_CTL_R_PEER);
		agent_ctl_write_str(&w, AGENT_CTL_F_LABEL, ps[i].label);
		agent_ctl_write_str(&w, AGENT_CTL_F_FQDN, ps[i].fqdn);
		agent_ctl_write_ip6(&w, AGENT_CTL_F_ULA, ps[i].ula);
		agent_ctl_write_str(&w, AGENT_CTL_F_STATE, state_word(ps[i].state));
		via = false;
		if (ps[i].has_outer) {
			union dp_addr o = { .sin = { .sin_family = AF_INET, .sin_port = htons(ps[i].port) } };

			write_outer(&w, ps[i].outer_v6, ps[i].outer);
			agent_ctl_write_uint(&w, AGENT_CTL_F_PORT, ps[i].port);
			/* relayed addresses are IPv4 (the relay's allocation is) */
			memcpy(&o.sin.sin_addr, ps[i].outer, 4);
			if (!ps[i].outer_v6 && d->dp && dp_relay_channel_get(d->dp, &o, NULL))
				agent_ctl_write_bool(&w, AGENT_CTL_F_VIA_RELAY, (via = true));
		}
		if (ps[i].has_rtt && ps[i].state == AGENT_PEER_UP)
			agent_ctl_write_uint(&w, AGENT_CTL_F_RTT_MS, ps[i].rtt_ms);
		if (ps[i].has_handshake && ps[i].state == AGENT_PEER_UP)
			agent_ctl_write_uint(&w, AGENT_CTL_F_HANDSHAKE_AGE_S, ps[i].handshake_age_s);
		if (ps[i].auth && ps[i].state == AGENT_PEER_UP)
			agent_ctl_write_str(&w, AGENT_CTL_F_AUTH, ps[i].auth);
		agent_ctl_write_bool(&w, AGENT_CTL_F_KEEP, ps[i].keep);
		/*
		 * Through our allocation to the peer's own location (UDP blocked
		 * here, or relay = always): the path is the relay's whatever the
		 * address is (issue 12), as the text's "relayed" says.
		 */
		if (via && ps[i].state == AGENT_PEER_UP)
			agent_ctl_write_str(&w, AGENT_CTL_F_PATH, agent_path_class_name(AGENT_PATH_RELAY));
		else if (ps[i].cls && ps[i].state == AGENT_PEER_UP)
			agent_ctl_write_str(&w, AGENT_CTL_F_PATH, agent_path_class_name((enum agent_path_class)ps[i].cls));
		if (ps[i].no_direct && ps[i].state != AGENT_PEER_UP)
			agent_ctl_write_bool(&w, AGENT_CTL_F_NO_DIRECT, true);
	}
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

static void do_hosts(struct client *cl)
{
	struct atd *d = cl->c->d;
	struct agent_ctl_writer w;
	struct atd_acct_view acc;
	static struct atd_self self;

	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_HOSTS);
	/* the watcher's list: every host of the account, with what it published (model, os) */
	if (atd_agent_account(d, &acc) && atd_agent_self(d, &self))
		atd_watch_write_hosts(atd_dns_watch(d), self.local_valid ? &self.local : NULL, &w);
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

/* ---- services ---- */

static void services_done(void *arg, int err, const char *message, const struct dnsc_service *sv, size_t n)
{
	struct client *cl = arg;
	struct agent_ctl_writer w;

	if (err) {
		send_error(cl, message && *message ? message : strerror(-err), -err);
		return;
	}
	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_SERVICES);
	atd_services_write(&w, sv, n);
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

static void do_services(struct client *cl)
{
	int ret = atd_services_browse(atd_dns_watch(cl->c->d), services_done, cl);

	if (ret == -ENOENT)
		send_error(cl, "not signed in (autotunnel login ACCOUNT --server HOST)", ENOENT);
	else if (ret)
		send_error(cl, strerror(-ret), -ret);
}

/* ---- ping ---- */

static void ping_done(void *arg, const struct atd_ping_result *r)
{
	struct client *cl = arg;
	struct agent_ctl_writer w;
	struct atd_peer_status ps;

	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_PING);
	agent_ctl_write_rec(&w, AGENT_CTL_R_PING);
	agent_ctl_write_str(&w, AGENT_CTL_F_HOST, r->host);
	agent_ctl_write_ip6(&w, AGENT_CTL_F_ULA, r->ula);
	if (r->has_outer) {
		write_outer(&w, r->outer_v6, r->outer);
		agent_ctl_write_uint(&w, AGENT_CTL_F_PORT, r->port);
	}
	if (r->has_rtt) {
		/* rtt_ms for older CLIs; rtt_us so that a LAN's 0.23 ms is not "0 ms" */
		agent_ctl_write_uint(&w, AGENT_CTL_F_RTT_MS, r->rtt_ms);
		agent_ctl_write_uint(&w, AGENT_CTL_F_RTT_US, r->rtt_us);
	}
	agent_ctl_write_uint(&w, AGENT_CTL_F_SENT, r->sent);
	agent_ctl_write_uint(&w, AGENT_CTL_F_RECEIVED, r->received);
	/* no reply: say where the tunnel stands, as status would */
	if (r->received == 0 && atd_dynpeers_find(atd_agent_peers(cl->c->d), r->host, &ps) == 0)
	{
		agent_ctl_write_str(&w, AGENT_CTL_F_STATE, state_word(ps.state));
		if (ps.no_direct && ps.state != AGENT_PEER_UP)
			agent_ctl_write_bool(&w, AGENT_CTL_F_NO_DIRECT, true);
	}
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

/* Is @p host this host's own name, short or full (case-insensitive, a final dot allowed)? */
static bool is_self(struct atd *d, const char *host)
{
	static struct atd_self self;
	struct atd_acct_view acc;
	const char *label = NULL;
	char full[AGENT_NAME_MAX + 2];
	size_t n = strlen(host);

	if (n && host[n - 1] == '.')
		n--;
	if (atd_agent_account(d, &acc) && acc.host)
		label = acc.host;
	else if (atd_agent_self(d, &self))
		label = self.label;
	if (!label || !*label)
		return false;
	if (strlen(label) == n && !strncasecmp(host, label, n))
		return true;
	if (!acc.domain)
		return false;
	snprintf(full, sizeof(full), "%s.%s", label, acc.domain);
	return strlen(full) == n && !strncasecmp(host, full, n);
}

static void do_ping(struct client *cl)
{
	const struct agent_ctl_rec *r = agent_ctl_find(cl->req, AGENT_CTL_R_ARGS, 0);
	const char *host = agent_ctl_str(cl->req, r, AGENT_CTL_F_HOST);
	char msg[320];
	int ret;

	if (host && is_self(cl->c->d, host)) {
		snprintf(msg, sizeof(msg), "'%s' is this host: ping a peer (autotunnel hosts lists them)", host);
		send_error(cl, msg, EINVAL);
		return;
	}
	ret = atd_dynpeers_ping(atd_agent_peers(cl->c->d), host, 3, 3000, ping_done, cl);
	if (ret == -ENOENT) {
		snprintf(msg, sizeof(msg), "no host '%s' in the account (autotunnel hosts lists them)", host);
		send_error(cl, msg, ENOENT);
	} else if (ret) {
		snprintf(msg, sizeof(msg), "cannot ping '%s': %s", host, strerror(-ret));
		send_error(cl, msg, -ret);
	}
}

/* ---- netcheck ---- */

/* The STUN lines of netcheck (reflex.c's view). */
static void write_stun(struct agent_ctl_writer *w, struct atd *d)
{
	struct atd_reflex_view v;
	const struct stun_natcheck_result *res = &v.result;
	const char *word = NULL;

	if (!atd_agent_reflex(d, &v))
		return;
	switch (v.state) {
	case ATD_REFLEX_IDLE:
		return;
	case ATD_REFLEX_NO_SERVER:
		word = "no-server";
		break;
	case ATD_REFLEX_LOOKUP_FAILED:
		word = "lookup-failed";
		break;
	case ATD_REFLEX_LOOKUP:
	case ATD_REFLEX_CHECKING:
		word = "checking";
		break;
	case ATD_REFLEX_DONE:
		word = v.have_result && res->reachable ? "answered" : "no-answer";
		break;
	}
	agent_ctl_write_str(w, AGENT_CTL_F_STUN, word);
	if (v.server[0])
		agent_ctl_write_str(w, AGENT_CTL_F_STUN_SERVER, v.server);
	/* issue 11: the server over IPv6, once it is known whether it has an IPv6 address */
	word = v.v6 == ATD_REFLEX_V6_NO_ADDRESS ? "no-address" : v.v6 == ATD_REFLEX_V6_CHECKING ? "checking" :
	       v.v6 == ATD_REFLEX_V6_ANSWERED ? "answered" : v.v6 == ATD_REFLEX_V6_NO_ANSWER ? "no-answer" : NULL;
	if (word)
		agent_ctl_write_str(w, AGENT_CTL_F_STUN6, word);
	if (v.state != ATD_REFLEX_DONE || !v.have_result || !res->reachable)
		return;
	if (res->reflexive.ss_family == AF_INET) {
		const struct sockaddr_in *ra = (const struct sockaddr_in *)&res->reflexive;

		agent_ctl_write_ip4(w, AGENT_CTL_F_REFLEXIVE, (const uint8_t *)&ra->sin_addr);
		agent_ctl_write_uint(w, AGENT_CTL_F_REFLEXIVE_PORT, ntohs(ra->sin_port));
	}
	agent_ctl_write_str(w, AGENT_CTL_F_NAT_MAPPING, stun_nat_behavior_str(res->mapping));
	/* filtering has no "none": with no NAT it is a firewall's, or unknown */
	agent_ctl_write_str(w, AGENT_CTL_F_NAT_FILTERING,
			    res->filtering == STUN_NAT_NONE ? "unknown" : stun_nat_behavior_str(res->filtering));
}

static void netcheck_reply(struct client *cl)
{
	struct atd *d = cl->c->d;
	static struct atd_self self;
	const struct atd_self *a = &self;
	struct agent_ctl_writer w;
	struct atd_acct_view acc;
	char mac[18];

	if (!atd_agent_self(d, &self)) {
		send_error(cl, "not in account mode", ENOENT);
		return;
	}
	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_NETCHECK);
	agent_ctl_write_rec(&w, AGENT_CTL_R_NET);
	if (a->net.online) {
		agent_ctl_write_str(&w, AGENT_CTL_F_IFACE, a->net.ifname);
		if (a->net.has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", a->net.mac[0], a->net.mac[1],
				 a->net.mac[2], a->net.mac[3], a->net.mac[4], a->net.mac[5]);
			agent_ctl_write_str(&w, AGENT_CTL_F_MAC, mac);
		}
		agent_ctl_write_ip4(&w, AGENT_CTL_F_ADDRESS, a->net.addr);
		if (a->net.has_gateway)
			agent_ctl_write_ip4(&w, AGENT_CTL_F_GATEWAY, a->net.gateway);
	}
	/* issue 11: peers may reach this host over IPv6 (netmon keeps the global addresses, sorted) */
	if (a->net.n6)
		agent_ctl_write_ip6(&w, AGENT_CTL_F_ADDRESS6, a->net.addr6[0]);
	agent_ctl_write_str(&w, AGENT_CTL_F_NAT, nat_word(a));
	if ((a->rsip && a->net.online) || (a->reach != ATD_REACH_UNKNOWN && a->reach != ATD_REACH_PUBLIC))
		agent_ctl_write_str(&w, AGENT_CTL_F_MAPPING, mapping_word(a));
	write_external(&w, a);
	if (!(a->rsip && a->net.online) && (a->reach == ATD_REACH_MAPPED || a->reach == ATD_REACH_DOUBLE_NAT)) {
		uint64_t now = clock_now_ms();

		agent_ctl_write_uint(&w, AGENT_CTL_F_LIFETIME_S,
				     a->map_expires_ms > now ? (uint32_t)((a->map_expires_ms - now) / 1000) : 0);
	}
	if (atd_agent_account(d, &acc) && cl->probe) {
		agent_ctl_write_str(&w, AGENT_CTL_F_SERVER, cl->probe->server);
		agent_ctl_write_bool(&w, AGENT_CTL_F_SERVER_TLS, cl->probe->ok);
		if (!cl->probe->ok)
			agent_ctl_write_str(&w, AGENT_CTL_F_SERVER_ERROR, cl->probe->error);
	}
	if ((a->rsip && a->net.online) || (a->reach != ATD_REACH_MAPPED && a->reach != ATD_REACH_PUBLIC))
		agent_ctl_write_str(&w, AGENT_CTL_F_DETAIL, a->reach_text);
	write_stun(&w, d);
	write_relay(&w, d);
	cl->netcheck_sent = true;
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

/* netcheck waits for the STUN check under way (and its request over IPv6), within STUN_WAIT_MS */
static bool stun_pending(struct client *cl)
{
	struct atd_reflex_view v;

	return cl->stun_until && clock_now_ms() < cl->stun_until && atd_agent_reflex(cl->c->d, &v) &&
	       (v.state == ATD_REFLEX_LOOKUP || v.state == ATD_REFLEX_CHECKING || v.v6 == ATD_REFLEX_V6_CHECKING);
}

static void netcheck_maybe_reply(struct client *cl)
{
	struct timeval tv = { 0, STUN_POLL_MS * 1000 };

	if (cl->netcheck_sent || (cl->probe && !cl->probe->done))
		return;
	if (stun_pending(cl) && cl->stun_ev) {
		evtimer_add(cl->stun_ev, &tv);
		return;
	}
	netcheck_reply(cl);
}

static void stun_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	netcheck_maybe_reply(arg);
}

static void probe_finish(struct client *cl, bool ok, const char *error)
{
	struct probe *p = cl->probe;

	if (p->done)
		return;
	p->done = true;
	p->ok = ok;
	snprintf(p->error, sizeof(p->error), "%s", error && *error ? error : "no answer");
	netcheck_maybe_reply(cl);
}

static void probe_up(void *arg)
{
	probe_finish(arg, true, NULL);
}

static void probe_down(void *arg, int err, const char *why)
{
	struct client *cl = arg;
	char buf[160];

	snprintf(buf, sizeof(buf), "%s", why && *why ? why : strerror(err < 0 ? -err : err));
	probe_finish(cl, false, buf);
}

static void probe_unsolicited(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg, (void)msg, (void)len;
}

static void probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;

	(void)fd, (void)what;
	if (cl->probe && !cl->probe->done)
		probe_finish(cl, false, "no answer within 5 s");
}

static void do_netcheck(struct client *cl)
{
	struct atd *d = cl->c->d;
	struct atd_acct_view acc;

	/* a fresh STUN look from the tunnel socket, waited for with the TLS probe */
	if (atd_agent_reflex_refresh(d) && (cl->stun_ev = evtimer_new(d->base, stun_poll, cl)))
		cl->stun_until = clock_now_ms() + STUN_WAIT_MS;
	if (!atd_agent_account(d, &acc) || !acc.server) {
		netcheck_maybe_reply(cl);
		return;
	}
	static const struct dnsconn_ops ops = { probe_up, probe_down, probe_unsolicited };
	const struct atd_account *ac = atd_account_get(d);
	struct dnsconn_cfg cfg = { .connect_timeout_ms = PROBE_TIMEOUT_S * 1000 };
	struct timeval tv = { PROBE_TIMEOUT_S + 1, 0 };
	char host[264], why[160] = "";
	const char *colon = strrchr(acc.server, ':');
	struct probe *p;

	if (!(p = cl->probe = calloc(1, sizeof(*p)))) {
		send_error(cl, "out of memory", ENOMEM);
		return;
	}
	snprintf(p->server, sizeof(p->server), "%s", acc.server);
	snprintf(host, sizeof(host), "%s", acc.server);
	cfg.port = 853;	/* RFC 7858 */
	if (colon && strchr(acc.server, ':') == colon) {
		host[colon - acc.server] = '\0';
		cfg.port = (uint16_t)atoi(colon + 1);
	}
	cfg.host = host;
	cfg.pin = ac->pin[0] ? ac->pin : NULL;
	cfg.ca_file = ac->ca[0] ? ac->ca : NULL;
	if (!(p->conn = dnsconn_new(d->base, &cfg, &ops, cl, why, sizeof(why)))) {
		probe_finish(cl, false, why);
		return;
	}
	dnsconn_keep(p->conn, true);
	/* the connection's own timeout reports too; this bounds a retry loop */
	if ((cl->probe_ev = evtimer_new(d->base, probe_timeout, cl)))
		evtimer_add(cl->probe_ev, &tv);
}

/* ---- login, logout ---- */

static void account_done(struct atd *d, void *arg, int err, const char *msg)
{
	struct client *cl = arg;
	struct agent_ctl_writer w;
	struct atd_acct_view acc;

	if (err) {
		send_error(cl, msg && *msg ? msg : strerror(-err), -err);
		return;
	}
	if (cl->req->code == AGENT_CTL_LOGOUT) {
		agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_LOGOUT);
		send_frame(cl, reply_buf, agent_ctl_write_end(&w));
		return;
	}
	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(&w, AGENT_CTL_F_SIGNED_IN, atd_agent_account(d, &acc));
	agent_ctl_write_str(&w, AGENT_CTL_F_NAME, acc.name);
	agent_ctl_write_str(&w, AGENT_CTL_F_DOMAIN, acc.domain);
	agent_ctl_write_str(&w, AGENT_CTL_F_SERVER, acc.server);
	if (atd_account_get(d)->note[0])
		agent_ctl_write_str(&w, AGENT_CTL_F_DETAIL, atd_account_get(d)->note);
	{
		struct atd_enrol *e = atd_dns_enrol(d);
		char rec[80];

		if (atd_enrol_role(e))
			agent_ctl_write_str(&w, AGENT_CTL_F_AUTHORITY, atd_enrol_role(e));
		if (atd_enrol_code(e))
			agent_ctl_write_str(&w, AGENT_CTL_F_JOIN_CODE, atd_enrol_code(e));
		/* docs/authority.md §2: the one time it is shown */
		if (atd_account_recovery_take(d, rec, sizeof(rec)))
			agent_ctl_write_str(&w, AGENT_CTL_F_RECOVERY_KEY, rec);
		OPENSSL_cleanse(rec, sizeof(rec));
	}
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

/* ---- the account authority: approve, revoke, issue (enrol.h) ---- */

static void authority_done(void *arg, int err, const char *message, const char *recovery, const char *code)
{
	struct client *cl = arg;
	struct agent_ctl_writer w;

	(void)recovery, (void)code;
	if (err) {
		send_error(cl, message && *message ? message : strerror(-err), -err);
		return;
	}
	agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | cl->req->code);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ACCOUNT);
	{
		char text[AGENT_CTL_STR_MAX + 1];

		/* a text field holds 255 characters: a long account domain is cut, not the reply lost */
		snprintf(text, sizeof(text), "%s", message && *message ? message : "done");
		agent_ctl_write_str(&w, AGENT_CTL_F_DETAIL, text);
	}
	send_frame(cl, reply_buf, agent_ctl_write_end(&w));
}

static void do_authority(struct client *cl)
{
	struct atd *d = cl->c->d;
	const struct agent_ctl_msg *m = cl->req;
	const struct agent_ctl_rec *r = agent_ctl_find(m, AGENT_CTL_R_ARGS, 0);
	struct atd_enrol *e = atd_dns_enrol(d);
	char why[400] = "";
	int ret;

	if (!atd_account_get(d)->signed_in) {
		send_error(cl, "not signed in (autotunnel login ACCOUNT --server HOST)", ENOENT);
		return;
	}
	switch (m->code) {
	case AGENT_CTL_APPROVE:
		ret = atd_enrol_approve(e, agent_ctl_str(m, r, AGENT_CTL_F_JOIN_CODE), authority_done, cl, why,
					sizeof(why));
		break;
	case AGENT_CTL_REVOKE:
		ret = atd_enrol_revoke(e, agent_ctl_str(m, r, AGENT_CTL_F_HOST), authority_done, cl, why, sizeof(why));
		break;
	case AGENT_CTL_RENEW:
		ret = atd_enrol_renew(e, why, sizeof(why));
		if (!ret)
			authority_done(cl, 0, why, NULL, NULL);
		break;
	default: {
		char dir[256];
		struct agent_ctl_writer w;

		ret = atd_enrol_issue(e, agent_ctl_str(m, r, AGENT_CTL_F_HOST), agent_ctl_str(m, r, AGENT_CTL_F_PKINIT),
				      agent_ctl_str(m, r, AGENT_CTL_F_PRINCIPAL), agent_ctl_str(m, r, AGENT_CTL_F_KEY), dir,
				      sizeof(dir), why, sizeof(why));
		if (ret) {
			send_error(cl, why[0] ? why : strerror(-ret), -ret);
			return;
		}
		agent_ctl_write_begin(&w, reply_buf, sizeof(reply_buf), AGENT_CTL_REPLY | AGENT_CTL_ISSUE);
		agent_ctl_write_rec(&w, AGENT_CTL_R_ACCOUNT);
		agent_ctl_write_str(&w, AGENT_CTL_F_DETAIL, why);
		agent_ctl_write_str(&w, AGENT_CTL_F_OUT, dir);
		send_frame(cl, reply_buf, agent_ctl_write_end(&w));
		return;
	}
	}
	if (ret)
		send_error(cl, why[0] ? why : strerror(-ret), -ret);
}

/* Why a login or logout could not start, for a person (account.h lists the codes). */
static void account_refused(struct client *cl, int ret)
{
	struct atd_acct_view acc;
	char msg[400];
	bool in = atd_agent_account(cl->c->d, &acc);

	if (ret == -EALREADY && cl->req->code == AGENT_CTL_LOGIN)
		snprintf(msg, sizeof(msg), "already signed in to %s at %s (autotunnel logout first)",
			 in && acc.domain ? acc.domain : "an account", in && acc.server ? acc.server : "its server");
	else if (ret == -ENOENT && cl->req->code == AGENT_CTL_LOGOUT)
		snprintf(msg, sizeof(msg), "not signed in: nothing to log out of");
	else if (ret == -EINPROGRESS)
		snprintf(msg, sizeof(msg), "a login or logout is already under way; try again when it is done");
	else if (ret == -ENODEV)
		snprintf(msg, sizeof(msg), "this agent is not in account mode");
	else if (ret == -EINVAL && cl->req->code == AGENT_CTL_LOGIN)
		snprintf(msg, sizeof(msg), "login: the account, server, pin or CA file is not valid");
	else
		snprintf(msg, sizeof(msg), "%s", strerror(-ret));
	send_error(cl, msg, -ret);
}

/* The recovery key typed at login (a secret field) as text into @p buf, or NULL when there is none. */
static const char *recovery_text(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, char *buf, size_t cap)
{
	size_t n = 0;
	const uint8_t *v = agent_ctl_secret(m, r, AGENT_CTL_F_RECOVERY, &n);

	if (!v || n == 0 || n >= cap)
		return NULL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

static void do_account(struct client *cl)
{
	struct atd *d = cl->c->d;
	const struct agent_ctl_msg *m = cl->req;
	int ret;

	if (m->code == AGENT_CTL_LOGIN) {
		const struct agent_ctl_rec *r = agent_ctl_find(m, AGENT_CTL_R_ARGS, 0);
		size_t klen = 0;
		const uint8_t *sec = agent_ctl_secret(m, r, AGENT_CTL_F_PASSWORD, &klen);
		uint8_t keys[2 * DNS_KEY_LEN];
		char hex[4 * DNS_KEY_LEN + 1], rec[256];

		/* the CLI derived the keys (lib/dns keys.h) and sends them in hex: TSIG key, then IKE key */
		if (!sec || klen != 4 * DNS_KEY_LEN) {
			send_error(cl, "login: the keys are missing from the request", EINVAL);
			return;
		}
		memcpy(hex, sec, klen);
		hex[klen] = '\0';
		if (hex_decode(keys, sizeof(keys), hex) != (int)sizeof(keys)) {
			OPENSSL_cleanse(hex, sizeof(hex));
			send_error(cl, "login: the keys in the request are not hex", EINVAL);
			return;
		}
		ret = atd_account_login(d, agent_ctl_str(m, r, AGENT_CTL_F_ACCOUNT),
					agent_ctl_str(m, r, AGENT_CTL_F_SERVER), agent_ctl_str(m, r, AGENT_CTL_F_PIN),
					agent_ctl_str(m, r, AGENT_CTL_F_CA), keys, keys + DNS_KEY_LEN,
					recovery_text(m, r, rec, sizeof(rec)), account_done, cl);
		OPENSSL_cleanse(rec, sizeof(rec));
		OPENSSL_cleanse(hex, sizeof(hex));
		OPENSSL_cleanse(keys, sizeof(keys));
	} else {
		ret = atd_account_logout(d, account_done, cl);
	}
	if (ret)
		account_refused(cl, ret);
}

/* ---- connections ---- */

static void dispatch(struct client *cl)
{
	cl->busy = true;
	switch (cl->req->code) {
	case AGENT_CTL_STATUS:
		do_status(cl);
		break;
	case AGENT_CTL_HOSTS:
		do_hosts(cl);
		break;
	case AGENT_CTL_PING:
		do_ping(cl);
		break;
	case AGENT_CTL_SERVICES:
		do_services(cl);
		break;
	case AGENT_CTL_NETCHECK:
		do_netcheck(cl);
		break;
	case AGENT_CTL_LOGIN:
	case AGENT_CTL_LOGOUT:
		do_account(cl);
		break;
	case AGENT_CTL_APPROVE:
	case AGENT_CTL_REVOKE:
	case AGENT_CTL_ISSUE:
	case AGENT_CTL_RENEW:
		do_authority(cl);
		break;
	default:
		send_error(cl, "this request is not served by this agent", EOPNOTSUPP);
		break;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[AGENT_CTL_HDR], *frame;
	size_t total;

	if (cl->busy || cl->closing)
		return;
	if (evbuffer_get_length(in) < AGENT_CTL_HDR)
		return;
	evbuffer_copyout(in, hdr, sizeof(hdr));
	if (agent_ctl_frame_size(hdr, &total)) {
		send_error(cl, "malformed request", EBADMSG);
		return;
	}
	if (evbuffer_get_length(in) < total)
		return;
	if (!(frame = evbuffer_pullup(in, (ev_ssize_t)total)) || !(cl->req = agent_ctl_msg_new())) {
		client_free(cl);
		return;
	}
	if (agent_ctl_parse(cl->req, frame, total)) {
		evbuffer_drain(in, total);
		send_error(cl, "malformed request", EBADMSG);
		return;
	}
	evbuffer_drain(in, total);
	dispatch(cl);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	client_free(arg);	/* EOF or error: the CLI went away */
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	client_free(arg);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct atd_control *c = arg;
	struct client *cl = NULL;
	struct ucred cred;
	socklen_t cl_len = sizeof(cred);
	struct timeval tv = { REQUEST_TIMEOUT_S, 0 };
	int slot = -1;

	(void)lis, (void)sa, (void)salen;
	/* root only (the file mode says so too): a request can sign the host out */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl_len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_debug_rl("control: refused a client with uid %u", (unsigned)cred.uid);
		close(fd);
		return;
	}
	for (int i = 0; i < CLIENTS_MAX; i++)
		if (!c->clients[i]) {
			slot = i;
			break;
		}
	if (slot < 0 || !(cl = calloc(1, sizeof(*cl)))) {
		log_debug_rl("control: too many clients");
		close(fd);
		return;
	}
	cl->c = c;
	c->clients[slot] = cl;
	cl->bev = bufferevent_socket_new(c->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->timeout = evtimer_new(c->d->base, on_timeout, cl);
	if (!cl->bev || !cl->timeout) {
		if (!cl->bev)
			close(fd);
		client_free(cl);
		return;
	}
	bufferevent_setcb(cl->bev, on_read, on_written, on_event, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, AGENT_CTL_FRAME_MAX);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	evtimer_add(cl->timeout, &tv);
}

int atd_control_start(struct atd *d)
{
	struct atd_control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;

	if (!c)
		return -ENOMEM;
	d->ctl = c;
	c->d = d;
	if (strlen(d->conf.control) >= sizeof(sun.sun_path)) {
		log_warnx("control socket path %s is too long", d->conf.control);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->conf.control);
	snprintf(c->path, sizeof(c->path), "%s", d->conf.control);
	unlink(c->path);	/* a stale socket from a previous run */
	old = umask(0177);
	c->lis = evconnlistener_new_bind(d->base, on_accept, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					 (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!c->lis) {
		log_warn("control socket %s", c->path);
		return -EADDRINUSE;
	}
	if (chmod(c->path, 0600) < 0)
		log_warn("chmod %s", c->path);
	return 0;
}

void atd_control_stop(struct atd *d)
{
	struct atd_control *c = d->ctl;

	if (!c)
		return;
	for (int i = 0; i < CLIENTS_MAX; i++)
		if (c->clients[i])
			client_free(c->clients[i]);
	if (c->lis) {
		evconnlistener_free(c->lis);
		unlink(c->path);
	}
	free(c);
	d->ctl = NULL;
}
