/*
 * src/autotunneld/relay.c: the TURN server from _turn._udp.D, a credential
 * from _turn-credential.D, and one allocation over UDP from the tunnel
 * socket (see relay.h, docs/relay.md).
 */
#include "autotunneld/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dnsc/msg.h"
#include "stun/msg.h"
#include "stun/turn_client.h"
#include "stun/turn_cred.h"
#include "util/random.h"

#define PASS_MAX 128
#define UDP_DEADLINE_MS 2000	/* no allocation over UDP by then: UDP is likely blocked, try TLS and TCP */
#define CONNECT_MS 4000
#define CRED_RETRY_MS 5000
/*
 * 437 to an Allocate over UDP: coturn was seen to answer so for a moment
 * after it acknowledged the deletion of the previous allocation (a
 * renewal); after this many (1, 2, 4 s apart) the 5-tuple is taken to be
 * held for good, and TLS/TCP is tried.
 */
#define MISMATCH_TRIES 3	/* a credential renewal that failed: again this soon */		/* a TCP connection and TLS handshake to the relay, at most */

/* Transports, in the order they are tried (issue 12: UDP first, then TLS, which gets through most, then TCP). */
enum rt { RT_UDP, RT_TLS, RT_TCP, RT_N };
static const char *const rt_srv[RT_N] = { "_turn._udp", "_turns._tcp", "_turn._tcp" };
static const char *const rt_word[RT_N] = { "udp", "tls", "tcp" };

struct relay_peer {
	bool used;
	char name[64];
	struct sockaddr_in addr;
	int idx;		/* turn_client's index, -1 while not added */
	uint16_t channel;	/* bound (and given to the data plane), else 0 */
};

struct atd_relay {
	struct event_base *base;
	struct atd_relay_ops ops;
	void *arg;
	struct event *tturn;		/* the TURN client's deadline */
	struct event *tleaf;		/* keepalive, credential renewal, retry */
	struct evdns_base *evdns;
	struct evdns_getaddrinfo_request *gai;
	bool gai_pending;

	enum atd_relay_state state;
	char domain[DNS_NAME_TEXT_MAX];
	/* the relay for each transport (RFC 5928 SRV), in the order they are tried */
	struct relay_server {
		bool known;		/* addr below */
		bool absent;		/* the account's server names none */
		char name[300];		/* "HOST:PORT" */
		char target[DNS_NAME_TEXT_MAX];
		uint16_t port;
		struct sockaddr_in addr;
	} srv[RT_N];
	enum rt rt;			/* the transport tried or in use */
	enum rt looking;		/* the SRV lookup under way */
	bool server_known;		/* srv[rt] is known: server and server_addr are its */
	char server[300];
	struct sockaddr_in server_addr;
	char why[200];

	/* TCP and TLS: the connection being made (the data plane owns it once up) */
	struct event *tconn;		/* UDP's short deadline; the connection's and handshake's */
	struct event *sev;		/* the socket's readiness while connecting */
	int sfd;
	SSL *ssl;
	SSL_CTX *ctx;

	bool have_cred;
	char user[TURN_CRED_USERNAME_MAX + 1];
	char pass[PASS_MAX];
	uint64_t renew_at;		/* monotonic: fetch a new credential then */
	bool cred_pending;		/* a credential query is under way */
	bool renewing;			/* closing the allocation to make it again with a new credential */

	struct turn_client *tc;
	bool allocated;
	struct sockaddr_in relayed;
	uint64_t retry_at;
	unsigned retry_ms;
	unsigned mismatches;		/* 437 to Allocate over UDP in a row */

	uint64_t keepalive_at;
	unsigned probes;		/* keepalives sent: every ATD_RELAY_PROBE_EVERY-th also refreshes */
	bool ka_pending;
	uint8_t ka_tid[STUN_TID_LEN];
	uint64_t ka_sent_ns;
	bool has_rtt;
	uint32_t rtt_us;

	struct relay_peer peers[TURN_MAX_PEERS];
};

static void rnd(void *arg, void *buf, size_t len)
{
	(void)arg;
	/* RFC 8489 §6: transaction ids must be hard to guess (they are all an answer is checked by) */
	if (rand_bytes(buf, len))
		log_warnx("TURN: no random bytes for a transaction id");
}

static const char *ep(const struct sockaddr_in *s, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a)), ntohs(s->sin_port));
	return buf;
}

static void arm_at(struct event *ev, uint64_t at)
{
	uint64_t now = clock_now_ms(), ms = at > now ? at - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* The leaf's own timer: the earliest of keepalive, credential renewal and retry. */
static void leaf_rearm(struct atd_relay *r)
{
	uint64_t next = UINT64_MAX;

	evtimer_del(r->tleaf);
	if (r->allocated && r->keepalive_at)
		next = r->keepalive_at;
	if (r->have_cred && r->renew_at && r->state != ATD_RELAY_IDLE && r->renew_at < next)
		next = r->renew_at;
	if (r->state == ATD_RELAY_FAILED && r->retry_at && r->retry_at < next)
		next = r->retry_at;
	if (next != UINT64_MAX)
		arm_at(r->tleaf, next);
}

static void failed(struct atd_relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Give up for now; try again after a back-off doubling from 1 s to 60 s. */
static void failed(struct atd_relay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->state = ATD_RELAY_FAILED;
	r->retry_ms = r->retry_ms ? r->retry_ms * 2 : ATD_RELAY_RETRY_MIN_MS;
	if (r->retry_ms > ATD_RELAY_RETRY_MAX_MS)
		r->retry_ms = ATD_RELAY_RETRY_MAX_MS;
	r->retry_at = clock_now_ms() + r->retry_ms;
	log_info("relay: %s; trying again in %u s", r->why, (r->retry_ms + 999) / 1000);
	leaf_rearm(r);
}

/* ---- the data plane's view of the channels ---- */

static void channels_drop(struct atd_relay *r)
{
	for (int i = 0; i < TURN_MAX_PEERS; i++) {
		struct relay_peer *p = &r->peers[i];

		if (p->used && p->channel)
			r->ops.set_channel(r->arg, &p->addr, 0);
		p->channel = 0;
		p->idx = -1;
	}
}

/* Drop the client (no deallocation: its 5-tuple is gone, or the server forgot it). */
static void client_drop(struct atd_relay *r)
{
	bool had = r->allocated;

	evtimer_del(r->tturn);
	channels_drop(r);
	turn_client_free(r->tc);
	r->tc = NULL;
	r->allocated = false;
	r->ka_pending = false;
	r->keepalive_at = 0;
	memset(&r->relayed, 0, sizeof(r->relayed));
	r->ops.set_server(r->arg, NULL);
	if (had)
		r->ops.changed(r->arg);
}

/* ---- the TURN client ---- */

static void apply(struct atd_relay *r, struct turn_out *out);
static void begin(struct atd_relay *r);
static void connect_transport(struct atd_relay *r);
static void next_transport(struct atd_relay *r, const char *why);
static void peer_add_tc(struct atd_relay *r, struct relay_peer *p);
static void fetch_credential(struct atd_relay *r);

static struct relay_peer *peer_by_idx(struct atd_relay *r, int idx)
{
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		if (r->peers[i].used && r->peers[i].idx == idx)
			return &r->peers[i];
	return NULL;
}

static void peer_add_tc(struct atd_relay *r, struct relay_peer *p)
{
	struct turn_out *out = malloc(sizeof(*out));
	char e[32];
	int idx;

	if (!out)
		return;
	idx = turn_client_peer_add(r->tc, (const struct sockaddr *)&p->addr, true, clock_now_ms(), out);
	if (idx < 0) {
		log_warnx("relay: cannot add peer %s at %s: %s", p->name, ep(&p->addr, e, sizeof(e)), strerror(-idx));
		free(out);
		return;
	}
	p->idx = idx;
	apply(r, out);
	free(out);
}

/* To the TURN server: a datagram from the tunnel socket, or into the data plane's TCP/TLS stream. */
static int send_server(struct atd_relay *r, const uint8_t *buf, size_t len)
{
	if (r->rt == RT_UDP)
		return r->ops.send(r->arg, &r->server_addr, buf, len);
	return r->ops.send_stream(r->arg, buf, len);
}

static void allocate(struct atd_relay *r)
{
	struct turn_client_config cfg;
	struct turn_out *out;

	if (!(out = malloc(sizeof(*out))))
		return;
	if (r->rt == RT_UDP) {
		client_drop(r);
	} else {
		turn_client_free(r->tc);	/* the connection just made stays */
		r->tc = NULL;
	}
	turn_client_config_default(&cfg, r->rt != RT_UDP);
	if (!(r->tc = turn_client_new(&cfg, r->user, r->pass, rnd, NULL))) {
		free(out);
		failed(r, "cannot make a TURN client");
		return;
	}
	/* ChannelData from the server is unwrapped by the data plane from now on */
	if (r->rt == RT_UDP && r->ops.set_server(r->arg, &r->server_addr))
		log_warnx("relay: the data plane does not take the TURN server");
	r->state = ATD_RELAY_ALLOCATING;
	log_debug("relay: allocating on %s over %s", r->server, rt_word[r->rt]);
	turn_client_start(r->tc, clock_now_ms(), out);
	apply(r, out);
	free(out);
	/* the client installs them once allocated (RFC 8656 §9, §12) */
	for (int i = 0; i < TURN_MAX_PEERS && r->tc; i++)
		if (r->peers[i].used)
			peer_add_tc(r, &r->peers[i]);
}

static void on_event(struct atd_relay *r, const struct turn_event *ev)
{
	struct relay_peer *p;
	char e[48], f[48];

	switch (ev->kind) {
	case TURN_EV_ALLOCATED:
		if (ev->addr.ss_family != AF_INET)
			break;
		r->relayed = *(const struct sockaddr_in *)&ev->addr;
		r->allocated = true;
		r->state = ATD_RELAY_ALLOCATED;
		r->retry_ms = 0;
		r->mismatches = 0;
		r->why[0] = '\0';
		r->keepalive_at = clock_now_ms() + 1;	/* a first round trip at once */
		evtimer_del(r->tconn);
		log_info("relay: allocated %s on %s (%s) for %u s", ep(&r->relayed, e, sizeof(e)), r->server,
			 rt_word[r->rt], ev->lifetime);
		r->ops.changed(r->arg);
		break;
	case TURN_EV_REFRESHED:
		log_debug("relay: allocation refreshed for %u s", ev->lifetime);
		break;
	case TURN_EV_REALLOCATING:
		/* RFC 8656 §8: the server lost it (437, a restart) or it expired unrefreshed */
		log_info("relay: the allocation on %s was lost (%s %u): allocating again", r->server,
			 ev->code == TURN_CODE_TIMEOUT ? "no answer" : "error", ev->code);
		/* the client installs its peers again itself; their channels come back with new numbers */
		for (int i = 0; i < TURN_MAX_PEERS; i++) {
			if (r->peers[i].used && r->peers[i].channel)
				r->ops.set_channel(r->arg, &r->peers[i].addr, 0);
			r->peers[i].channel = 0;
		}
		/* the relayed address stays our candidate until the new one is known: no news for peers yet */
		r->allocated = false;
		r->state = ATD_RELAY_ALLOCATING;
		break;
	case TURN_EV_FAILED:
		client_drop(r);
		if (ev->code == 401 && !r->cred_pending) {
			/* the credential expired or the secret changed: RFC 8489 §9.2.5 */
			log_info("relay: %s refused our credential (401): asking for a new one", r->server);
			r->have_cred = false;
			fetch_credential(r);
		} else if (ev->code == 300) {
			failed(r, "%s sent us elsewhere (300 Try Alternate), which is not followed", r->server);
		} else if (ev->code == TURN_CODE_TIMEOUT) {
			evtimer_del(r->tconn);
			next_transport(r, "no answer");
		} else if (ev->code == 437 && r->rt == RT_UDP && ++r->mismatches > MISMATCH_TRIES) {
			/*
			 * RFC 8656 §7.2: UDP 4500 to the server still holds an older
			 * allocation (one whose credential expired before it could
			 * be renewed, or one of an agent that did not stop cleanly):
			 * a TCP or TLS connection is another 5-tuple.
			 */
			r->mismatches = 0;
			next_transport(r, "the tunnel socket still holds an older allocation there (437)");
		} else {
			failed(r, "allocation on %s failed (%s %u)", r->server,
			       ev->code == TURN_CODE_TIMEOUT ? "no answer over UDP" : "error", ev->code);
		}
		break;
	case TURN_EV_PERMISSION:
		if ((p = peer_by_idx(r, ev->peer)))
			log_debug("relay: permission for %s", p->name);
		break;
	case TURN_EV_CHANNEL:
		if (!(p = peer_by_idx(r, ev->peer)))
			break;
		if (p->channel != ev->channel) {
			int err = r->ops.set_channel(r->arg, &p->addr, ev->channel);

			if (err)
				log_warnx("relay: the data plane refused channel 0x%04x: %s", ev->channel,
					  strerror(-err));
			else
				log_info("relay: %s at %s is reached through %s (channel 0x%04x from %s)", p->name,
					 ep(&p->addr, e, sizeof(e)), r->server, ev->channel,
					 ep(&r->relayed, f, sizeof(f)));
			p->channel = ev->channel;
		}
		break;
	case TURN_EV_PEER_FAILED:
		if (!(p = peer_by_idx(r, ev->peer)))
			break;
		log_warnx("relay: %s refused %s at %s (%u)", r->server, p->name, ep(&p->addr, e, sizeof(e)),
			  ev->code);
		if (p->channel)
			r->ops.set_channel(r->arg, &p->addr, 0);
		p->channel = 0;
		p->idx = -1;	/* added again at the next keepalive */
		break;
	case TURN_EV_DATA:
		/* a Send indication's answer before the channel: the data plane takes ChannelData only */
		log_debug("relay: a Data indication (%zu bytes) before the channel; dropped", ev->len);
		break;
	case TURN_EV_CLOSED:
		turn_client_free(r->tc);
		r->tc = NULL;
		if (r->renewing) {
			r->renewing = false;
			/* UDP: the same 5-tuple, now free; a stream: a new connection */
			connect_transport(r);
		}
		break;
	}
}

static void apply(struct atd_relay *r, struct turn_out *out)
{
	for (unsigned i = 0; i < out->n_msgs; i++) {
		int err = send_server(r, out->msgs[i].buf, out->msgs[i].len);

		if (err)
			log_debug("relay: cannot send to %s: %s", r->server, strerror(-err));
	}
	for (unsigned i = 0; i < out->n_events && r->tc; i++)
		on_event(r, &out->events[i]);
	if (r->tc) {
		uint64_t dl = turn_client_deadline(r->tc);

		evtimer_del(r->tturn);
		if (dl != TURN_NEVER)
			arm_at(r->tturn, dl);
	}
	leaf_rearm(r);
}

static void tturn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_relay *r = arg;
	struct turn_out *out;

	(void)fd, (void)what;
	if (!r->tc || !(out = malloc(sizeof(*out))))
		return;
	turn_client_on_timeout(r->tc, clock_now_ms(), out);
	apply(r, out);
	free(out);
}

/* ---- the credential: TXT _turn-credential.D, "username=..." "password=..." "ttl=..." ---- */

/* The allocation holds with the credential it has: ask again soon, before that one expires. */
static void renew_later(struct atd_relay *r, const char *why)
{
	log_info("relay: cannot renew the TURN credential (%s): asking again in %u s", why, CRED_RETRY_MS / 1000);
	r->renew_at = clock_now_ms() + CRED_RETRY_MS;
	leaf_rearm(r);
}

static void cred_answer(void *arg, int err, const struct dnsc_resp *resp, const char *why)
{
	struct atd_relay *r = arg;
	char text[DNS_NAME_TEXT_MAX + 24];
	uint8_t rd[TURN_CRED_TXT_MAX];
	struct turn_cred_txt c;
	bool found = false;
	uint64_t ttl = 0;
	struct dns_name q;
	struct dnsc_rr rr;
	unsigned pos = 0;

	if (err == -ECANCELED)
		return;
	r->cred_pending = false;
	if ((err || !resp) && r->allocated) {
		renew_later(r, why);
		return;
	}
	if (err || !resp) {
		failed(r, "cannot ask for a TURN credential: %s", why);
		return;
	}
	snprintf(text, sizeof(text), "_turn-credential.%s", r->domain);
	if (dns_name_from_text(&q, text))
		return;
	dns_name_canonicalize(&q);
	while (dnsc_rr_next(&resp->msg, &pos, &rr) == 1) {
		size_t n = wire_avail(&rr.rdata);

		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_TXT || !dns_name_equal(&rr.owner, &q) ||
		    n > sizeof(rd))
			continue;
		wire_read_bytes(&rr.rdata, rd, n);
		if (!wire_err(&rr.rdata) && turn_cred_txt_parse(rd, n, &c) == 0)
			found = true;
		break;
	}
	OPENSSL_cleanse(rd, sizeof(rd));
	if (!found && r->allocated) {
		renew_later(r, "no credential in the answer");
		return;
	}
	if (!found) {
		failed(r, "the rendezvous server gave no TURN credential (_turn-credential.%.120s)", r->domain);
		return;
	}
	ttl = c.ttl;
	snprintf(r->user, sizeof(r->user), "%s", c.user);
	OPENSSL_cleanse(r->pass, sizeof(r->pass));
	snprintf(r->pass, sizeof(r->pass), "%s", c.pass);
	OPENSSL_cleanse(&c, sizeof(c));
	r->have_cred = true;
	/* docs/relay.md: a new one at 2/3 of its lifetime, well before coturn refuses it */
	r->renew_at = clock_now_ms() + ttl * 1000 * 2 / 3;
	log_info("relay: a TURN credential for %s valid %llu s", r->server, (unsigned long long)ttl);
	if (r->allocated && r->tc) {
		struct turn_out *out = malloc(sizeof(*out));

		/* RFC 8656 §7.2: an allocation keeps its username; the 5-tuple is ours only once it is gone */
		if (!out)
			return;
		r->renewing = true;
		log_info("relay: making the allocation again with the new credential");
		turn_client_close(r->tc, clock_now_ms(), out);
		apply(r, out);
		free(out);
		return;
	}
	if (r->server_known)
		connect_transport(r);
	else
		begin(r);
}

static void fetch_credential(struct atd_relay *r)
{
	char text[DNS_NAME_TEXT_MAX + 24];
	struct dns_name q;
	int err;

	if (r->cred_pending)
		return;
	r->state = r->allocated ? ATD_RELAY_ALLOCATED : ATD_RELAY_CREDENTIAL;
	snprintf(text, sizeof(text), "_turn-credential.%s", r->domain);
	if (dns_name_from_text(&q, text)) {
		failed(r, "%s is no domain name", text);
		return;
	}
	dns_name_canonicalize(&q);
	r->cred_pending = true;
	if ((err = r->ops.query(r->arg, &q, DNS_TYPE_TXT, cred_answer, r))) {
		r->cred_pending = false;
		failed(r, "cannot ask for a TURN credential: %s", strerror(-err));
	}
}

/* ---- finding the server: _turn._udp.D, _turns._tcp.D, _turn._tcp.D (RFC 5928) ---- */

static void lookup(struct atd_relay *r, enum rt which);
static void connect_transport(struct atd_relay *r);
static void next_transport(struct atd_relay *r, const char *why);

/* The next step towards an allocation over r->rt: its server, the credential, the connection. */
static void begin(struct atd_relay *r)
{
	struct relay_server *sv = &r->srv[r->rt];

	if (!sv->known && !sv->absent) {
		lookup(r, r->rt);
		return;
	}
	if (sv->absent) {
		next_transport(r, NULL);
		return;
	}
	r->server_known = true;
	r->server_addr = sv->addr;
	snprintf(r->server, sizeof(r->server), "%s", sv->name);
	if (!r->have_cred)
		fetch_credential(r);
	else
		connect_transport(r);
}

/*
 * Give up on r->rt (@p why says why, NULL: it has no server) and try the
 * next transport; after the last, wait and start again from UDP.
 */
static void next_transport(struct atd_relay *r, const char *why)
{
	bool any = false;

	if (why)
		log_info("relay: %s over %s: %s", r->server, rt_word[r->rt], why);
	while (++r->rt < RT_N && r->srv[r->rt].absent)
		;
	if (r->rt < RT_N) {
		if (why)
			log_info("relay: trying %s", rt_word[r->rt]);
		begin(r);
		return;
	}
	r->rt = RT_UDP;
	for (int i = 0; i < RT_N; i++)
		any |= !r->srv[i].absent;
	if (!any) {
		r->state = ATD_RELAY_NO_SERVER;
		snprintf(r->why, sizeof(r->why), "the account's server names no relay (_turn._udp, _turns._tcp, "
			 "_turn._tcp of %.100s)", r->domain);
		log_info("relay: %s", r->why);
		return;
	}
	failed(r, "no relay could be reached over UDP, TLS or TCP");
}

static void server_found(struct atd_relay *r, enum rt which, const struct in_addr *a)
{
	struct relay_server *sv = &r->srv[which];

	sv->addr.sin_family = AF_INET;
	sv->addr.sin_addr = *a;
	sv->addr.sin_port = htons(sv->port);
	sv->known = true;
	if (which == r->rt)
		begin(r);
}

static void gai_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct atd_relay *r = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;
	r->gai = NULL;
	r->gai_pending = false;
	for (struct evutil_addrinfo *ai = res; result == 0 && ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			struct in_addr a = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;

			evutil_freeaddrinfo(res);
			server_found(r, r->looking, &a);
			return;
		}
	}
	if (res)
		evutil_freeaddrinfo(res);
	failed(r, "no IPv4 address for %s", r->srv[r->looking].target);
}

static void srv_answer(void *arg, int err, const struct dnsc_resp *resp, const char *why)
{
	struct atd_relay *r = arg;
	enum rt which = r->looking;
	struct relay_server *sv = &r->srv[which];
	struct dns_srv best = { 0 };
	char text[DNS_NAME_TEXT_MAX + 16];
	struct dns_name q;
	struct dnsc_rr rr;
	unsigned pos = 0;
	bool found = false;
	struct in_addr a;
	int n;

	if (err == -ECANCELED)
		return;
	if (err || !resp) {
		failed(r, "cannot ask the rendezvous server for the relay: %s", why);
		return;
	}
	snprintf(text, sizeof(text), "%s.%s", rt_srv[which], r->domain);
	if (dns_name_from_text(&q, text))
		return;
	dns_name_canonicalize(&q);
	while (dnsc_rr_next(&resp->msg, &pos, &rr) == 1) {
		struct dns_srv s;

		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_SRV || !dns_name_equal(&rr.owner, &q) ||
		    dns_rdata_srv_read(&rr.rdata, &s) || s.port == 0 || dns_name_is_root(&s.target))
			continue;
		/* RFC 2782: the lowest priority first */
		if (!found || s.priority < best.priority) {
			best = s;
			found = true;
		}
	}
	if (!found) {
		sv->absent = true;
		log_debug("relay: the account's server names no %s.%s", rt_srv[which], r->domain);
		if (which == r->rt)
			begin(r);
		return;
	}
	n = dns_name_to_text(&best.target, sv->target, sizeof(sv->target));
	if (n > 1 && sv->target[n - 1] == '.')
		sv->target[n - 1] = '\0';
	sv->port = best.port;
	{
		char name[sizeof(sv->name)];

		snprintf(name, sizeof(name), "%.255s:%u", sv->target, best.port);
		memcpy(sv->name, name, sizeof(name));
	}
	pos = 0;
	while (dnsc_rr_next(&resp->msg, &pos, &rr) == 1) {
		uint8_t b[4];

		if (rr.sec == DNS_SEC_ADDITIONAL && rr.type == DNS_TYPE_A && dns_name_equal(&rr.owner, &best.target) &&
		    dns_rdata_a_read(&rr.rdata, b) == 0) {
			memcpy(&a, b, 4);
			server_found(r, which, &a);
			return;
		}
	}
	if (inet_pton(AF_INET, sv->target, &a) == 1) {
		server_found(r, which, &a);
		return;
	}
	if (!r->evdns && !(r->evdns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS))) {
		failed(r, "cannot resolve %s: no resolver", sv->target);
		return;
	}
	{
		struct evutil_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
		struct evdns_getaddrinfo_request *g;

		r->gai_pending = true;
		g = evdns_getaddrinfo(r->evdns, sv->target, NULL, &hints, gai_done, r);
		if (r->gai_pending)
			r->gai = g;
	}
}

static void lookup(struct atd_relay *r, enum rt which)
{
	char text[DNS_NAME_TEXT_MAX + 16];
	struct dns_name q;
	int err;

	r->state = ATD_RELAY_LOOKUP;
	r->looking = which;
	snprintf(text, sizeof(text), "%s.%s", rt_srv[which], r->domain);
	if (dns_name_from_text(&q, text)) {
		failed(r, "%s is no domain name", text);
		return;
	}
	dns_name_canonicalize(&q);
	if ((err = r->ops.query(r->arg, &q, DNS_TYPE_SRV, srv_answer, r)))
		failed(r, "cannot ask the rendezvous server for the relay: %s", strerror(-err));
}

static void cancel_queries(struct atd_relay *r)
{
	r->ops.query_cancel(r->arg, r);
	r->cred_pending = false;
	if (r->gai) {
		struct evdns_getaddrinfo_request *g = r->gai;

		r->gai = NULL;
		evdns_getaddrinfo_cancel(g);
	}
}

/* ---- TCP and TLS: the connection to the relay (RFC 8656 §3.1), handed to the data plane once up ---- */

static void conn_abort(struct atd_relay *r)
{
	if (r->sev) {
		event_free(r->sev);
		r->sev = NULL;
	}
	evtimer_del(r->tconn);
	if (r->ssl)
		SSL_free(r->ssl);
	r->ssl = NULL;
	if (r->sfd >= 0)
		close(r->sfd);
	r->sfd = -1;
}

static void conn_wait(struct atd_relay *r, short what);

/* Connected (and, for TLS, the handshake done): the data plane takes the connection; allocate over it. */
static void conn_up(struct atd_relay *r)
{
	int err;

	if (r->sev) {
		event_free(r->sev);
		r->sev = NULL;
	}
	evtimer_del(r->tconn);
	err = r->ops.set_stream(r->arg, &r->server_addr, r->sfd, r->ssl);
	r->sfd = -1;	/* the data plane's now (it closes them on failure too) */
	r->ssl = NULL;
	if (err) {
		next_transport(r, "the data plane does not take the connection");
		return;
	}
	log_info("relay: connected to %s over %s", r->server, rt_word[r->rt]);
	allocate(r);
}

static void conn_step(struct atd_relay *r)
{
	unsigned long code;
	char msg[160];
	int rc, e;

	if (!r->ssl) {
		conn_up(r);
		return;
	}
	ERR_clear_error();
	rc = SSL_connect(r->ssl);
	if (rc == 1) {
		conn_up(r);
		return;
	}
	e = SSL_get_error(r->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		conn_wait(r, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	code = ERR_get_error();
	snprintf(msg, sizeof(msg), "TLS handshake failed: %s",
		 code && ERR_reason_error_string(code) ? ERR_reason_error_string(code) : "closed");
	ERR_clear_error();
	conn_abort(r);
	next_transport(r, msg);
}

static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_relay *r = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	(void)what;
	if (r->sev) {
		event_free(r->sev);
		r->sev = NULL;
	}
	if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
		conn_abort(r);
		next_transport(r, strerror(soerr));
		return;
	}
	conn_step(r);
}

static void conn_wait(struct atd_relay *r, short what)
{
	if (!(r->sev = event_new(r->base, r->sfd, what, conn_cb, r)) || event_add(r->sev, NULL)) {
		conn_abort(r);
		next_transport(r, "out of memory");
	}
}

static void tconn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_relay *r = arg;

	(void)fd, (void)what;
	if (r->rt == RT_UDP) {
		if (r->allocated || !r->tc)
			return;
		/* issue 12: UDP first with a short deadline, then TCP/TLS */
		client_drop(r);
		next_transport(r, "no answer within 2 s (UDP blocked?)");
		return;
	}
	conn_abort(r);
	next_transport(r, "no connection within 4 s");
}

static SSL_CTX *tls_ctx(struct atd_relay *r)
{
	if (r->ctx)
		return r->ctx;
	if (!(r->ctx = SSL_CTX_new(TLS_client_method())))
		return NULL;
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	/*
	 * The relay's certificate is not checked: TLS is here to get through
	 * firewalls that let only it out. The relay is authenticated by the
	 * MESSAGE-INTEGRITY of its answers (keyed with our credential, RFC
	 * 8489 §9.2), the credential's password never crosses the wire, and
	 * what the relay carries is ESP, sealed end to end (docs/relay.md).
	 */
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_NONE, NULL);
	return r->ctx;
}

static void stream_connect(struct atd_relay *r)
{
	int one = 1, fd;
	struct timeval tv = { CONNECT_MS / 1000, (CONNECT_MS % 1000) * 1000 };

	conn_abort(r);
	client_drop(r);
	r->state = ATD_RELAY_ALLOCATING;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		next_transport(r, strerror(errno));
		return;
	}
	r->sfd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&r->server_addr, sizeof(r->server_addr)) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;

		conn_abort(r);
		next_transport(r, strerror(e));
		return;
	}
	if (r->rt == RT_TLS) {
		SSL_CTX *ctx = tls_ctx(r);

		if (!ctx || !(r->ssl = SSL_new(ctx)) || SSL_set_fd(r->ssl, fd) != 1) {
			conn_abort(r);
			next_transport(r, "cannot make a TLS session");
			return;
		}
		SSL_set_tlsext_host_name(r->ssl, r->srv[RT_TLS].target);
		SSL_set_mode(r->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	evtimer_add(r->tconn, &tv);
	conn_wait(r, EV_WRITE);
}

/* The server, the credential are there: allocate over UDP, or connect first. */
static void connect_transport(struct atd_relay *r)
{
	if (r->rt == RT_UDP) {
		struct timeval tv = { UDP_DEADLINE_MS / 1000, (UDP_DEADLINE_MS % 1000) * 1000 };

		allocate(r);
		if (r->tc && !r->allocated)
			evtimer_add(r->tconn, &tv);
		return;
	}
	stream_connect(r);
}

/* ---- keepalive and round trip: a Binding request to the server (RFC 8489 §3) ---- */

static void keepalive(struct atd_relay *r, uint64_t now)
{
	uint8_t buf[64];
	struct stun_builder b;
	int err, n;

	if (r->ka_pending)
		log_debug("relay: %s did not answer the last keepalive", r->server);
	rnd(NULL, r->ka_tid, sizeof(r->ka_tid));
	stun_builder_start(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, r->ka_tid);
	stun_builder_add_fingerprint(&b);
	r->keepalive_at = now + ATD_RELAY_KEEPALIVE_MS;
	if ((n = stun_builder_finish(&b)) < 0)
		return;
	if ((err = send_server(r, buf, (size_t)n)))
		log_debug("relay: keepalive: %s", strerror(-err));
	r->ka_pending = true;
	r->ka_sent_ns = clock_now_ns();
}

static void tleaf_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_relay *r = arg;
	uint64_t now = clock_now_ms();

	(void)fd, (void)what;
	if (r->state == ATD_RELAY_FAILED && r->retry_at && now >= r->retry_at) {
		r->retry_at = 0;
		r->rt = RT_UDP;
		begin(r);
	}
	if (r->have_cred && r->renew_at && now >= r->renew_at && r->state != ATD_RELAY_IDLE) {
		r->renew_at = 0;
		fetch_credential(r);
	}
	if (r->allocated && r->keepalive_at && now >= r->keepalive_at) {
		keepalive(r, now);
		if (++r->probes % ATD_RELAY_PROBE_EVERY == 0 && r->tc) {
			struct turn_out *out = malloc(sizeof(*out));

			/* a restarted server forgot the allocation: a Refresh learns it (437) long before 2/3 of its life */
			if (out) {
				turn_client_refresh_now(r->tc, now, out);
				apply(r, out);
				free(out);
			}
		}
		/* peers the server refused before: try again now and then */
		for (int i = 0; i < TURN_MAX_PEERS && r->tc; i++)
			if (r->peers[i].used && r->peers[i].idx < 0)
				peer_add_tc(r, &r->peers[i]);
	}
	leaf_rearm(r);
}

/* ---- public ---- */

struct atd_relay *atd_relay_new(struct event_base *base, const struct atd_relay_ops *ops, void *arg)
{
	struct atd_relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	r->ops = *ops;
	r->arg = arg;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		r->peers[i].idx = -1;
	r->sfd = -1;
	r->tturn = evtimer_new(base, tturn_cb, r);
	r->tleaf = evtimer_new(base, tleaf_cb, r);
	r->tconn = evtimer_new(base, tconn_cb, r);
	if (!r->tturn || !r->tleaf || !r->tconn) {
		if (r->tturn)
			event_free(r->tturn);
		if (r->tleaf)
			event_free(r->tleaf);
		if (r->tconn)
			event_free(r->tconn);
		free(r);
		return NULL;
	}
	return r;
}

/* Deallocate (RFC 8656 §8: a Refresh with lifetime 0), without waiting for the answer. */
static void deallocate(struct atd_relay *r)
{
	struct turn_out *out;

	if (!r->tc || !r->allocated || !(out = malloc(sizeof(*out))))
		return;
	turn_client_close(r->tc, clock_now_ms(), out);
	for (unsigned i = 0; i < out->n_msgs; i++)
		send_server(r, out->msgs[i].buf, out->msgs[i].len);
	free(out);
}

void atd_relay_free(struct atd_relay *r)
{
	if (!r)
		return;
	cancel_queries(r);
	deallocate(r);
	conn_abort(r);
	evtimer_del(r->tturn);
	evtimer_del(r->tleaf);
	turn_client_free(r->tc);
	event_free(r->tturn);
	event_free(r->tleaf);
	event_free(r->tconn);
	SSL_CTX_free(r->ctx);
	if (r->evdns)
		evdns_base_free(r->evdns, 0);
	OPENSSL_cleanse(r->pass, sizeof(r->pass));
	free(r);
}

void atd_relay_start(struct atd_relay *r, const char *domain)
{
	cancel_queries(r);
	conn_abort(r);
	r->renewing = false;
	client_drop(r);
	evtimer_del(r->tleaf);
	r->retry_ms = 0;
	r->retry_at = 0;
	if (strcmp(domain, r->domain)) {
		snprintf(r->domain, sizeof(r->domain), "%s", domain);
		memset(r->srv, 0, sizeof(r->srv));
		r->have_cred = false;
	} else {
		/* the names stay; a server that was absent may be there now */
		for (int i = 0; i < RT_N; i++)
			r->srv[i].absent = false;
	}
	r->server_known = false;
	r->rt = RT_UDP;	/* a new network: UDP first again */
	begin(r);
}

void atd_relay_stop(struct atd_relay *r, bool forget)
{
	if (!r)
		return;
	cancel_queries(r);
	deallocate(r);
	conn_abort(r);
	r->renewing = false;
	client_drop(r);
	evtimer_del(r->tleaf);
	r->state = ATD_RELAY_IDLE;
	r->why[0] = '\0';
	if (forget) {
		memset(r->srv, 0, sizeof(r->srv));
		r->server_known = false;
		r->have_cred = false;
		r->domain[0] = '\0';
		r->server[0] = '\0';
		OPENSSL_cleanse(r->pass, sizeof(r->pass));
		memset(r->peers, 0, sizeof(r->peers));
		for (int i = 0; i < TURN_MAX_PEERS; i++)
			r->peers[i].idx = -1;
	}
}

void atd_relay_stream_lost(struct atd_relay *r)
{
	if (!r || r->rt == RT_UDP || r->state == ATD_RELAY_IDLE)
		return;
	/* coturn restarted, or a middlebox cut the connection: the allocation went with it (RFC 8656 §3.1) */
	log_info("relay: the %s connection to %s was lost: connecting again", rt_word[r->rt], r->server);
	client_drop(r);
	connect_transport(r);
}

bool atd_relay_input(struct atd_relay *r, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	struct turn_out *out;
	struct stun_msg m;

	if (!r || !r->server_known || from->sin_addr.s_addr != r->server_addr.sin_addr.s_addr ||
	    from->sin_port != r->server_addr.sin_port)
		return false;
	if (stun_msg_parse(buf, len, &m))
		return false;
	if (m.method == STUN_METHOD_BINDING) {
		uint64_t us = (clock_now_ns() - r->ka_sent_ns) / 1000;

		/* our keepalive's answer; any other Binding answer is the reflex check's */
		if (!r->ka_pending || m.cls != STUN_CLASS_SUCCESS || memcmp(m.tid, r->ka_tid, STUN_TID_LEN))
			return false;
		r->ka_pending = false;
		r->rtt_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
		r->has_rtt = true;
		return true;
	}
	if (!r->tc || !(out = malloc(sizeof(*out))))
		return true;
	turn_client_on_input(r->tc, buf, len, clock_now_ms(), out);
	apply(r, out);
	free(out);
	return true;
}

int atd_relay_candidate(const struct atd_relay *r, struct sockaddr_in *out)
{
	if (!r || !r->tc || r->relayed.sin_family != AF_INET)
		return -ENOTCONN;
	*out = r->relayed;
	return 0;
}

int atd_relay_bind_peer(struct atd_relay *r, const char *name, const struct sockaddr_in *addr)
{
	struct relay_peer *p = NULL, *free_slot = NULL;

	if (!r || !name || strlen(name) >= sizeof(p->name))
		return -EINVAL;
	for (int i = 0; i < TURN_MAX_PEERS; i++) {
		if (r->peers[i].used && !strcmp(r->peers[i].name, name))
			p = &r->peers[i];
		else if (!r->peers[i].used && !free_slot)
			free_slot = &r->peers[i];
	}
	if (p && addr && p->addr.sin_addr.s_addr == addr->sin_addr.s_addr && p->addr.sin_port == addr->sin_port)
		return 0;
	if (p) {
		/* unbound, or moved: the old address goes directly again, and lapses on the server */
		if (p->channel)
			r->ops.set_channel(r->arg, &p->addr, 0);
		if (r->tc && p->idx >= 0)
			turn_client_peer_del(r->tc, p->idx);
		memset(p, 0, sizeof(*p));
		p->idx = -1;
		free_slot = p;
	}
	if (!addr)
		return 0;
	if (!free_slot)
		return -ENOSPC;
	p = free_slot;
	p->used = true;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->addr = *addr;
	p->addr.sin_family = AF_INET;
	p->idx = -1;
	p->channel = 0;
	/* allocating or allocated: the client installs it as soon as it can */
	if (r->tc)
		peer_add_tc(r, p);
	return 0;
}

void atd_relay_get(const struct atd_relay *r, struct atd_relay_view *v)
{
	memset(v, 0, sizeof(*v));
	v->state = r->state;
	snprintf(v->server, sizeof(v->server), "%s", r->server);
	v->transport = rt_word[r->rt];
	if (r->allocated)
		v->relayed = r->relayed;
	v->has_rtt = r->has_rtt && r->allocated;
	v->rtt_us = r->rtt_us;
	for (int i = 0; i < TURN_MAX_PEERS; i++)
		if (r->peers[i].used && r->peers[i].channel)
			v->channels++;
	snprintf(v->why, sizeof(v->why), "%s", r->why);
}

const char *atd_relay_state_str(enum atd_relay_state s)
{
	switch (s) {
	case ATD_RELAY_IDLE:
		return "idle";
	case ATD_RELAY_LOOKUP:
		return "lookup";
	case ATD_RELAY_NO_SERVER:
		return "no-server";
	case ATD_RELAY_CREDENTIAL:
		return "credential";
	case ATD_RELAY_ALLOCATING:
		return "allocating";
	case ATD_RELAY_ALLOCATED:
		return "allocated";
	case ATD_RELAY_FAILED:
		return "failed";
	}
	return "?";
}
