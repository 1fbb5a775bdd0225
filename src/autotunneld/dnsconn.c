/* src/autotunneld/dnsconn.c: DNS over TLS to the rendezvous server (see dnsconn.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ifaddrs.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent/timers.h"
#include "autotunneld/dnsconn.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/msg.h"
#include "dnsc/msg.h"
#include "dnsc/state.h"
#include "dso/dso.h"
#include "util/random.h"

#define TIMEOUT_DEFAULT_MS 10000
#define OUTPUT_MAX (1u << 20)

enum cstate { C_DOWN, C_CONNECTING, C_UP };

#define DELEG_TLS_PORT 853	/* RFC 7858 §3.1, when the primary names no port */

struct req {
	struct req *next;
	struct dnsconn *c;
	uint16_t id;
	bool sent;
	uint8_t *msg;		/* a copy until it is sent */
	size_t len;
	dnsconn_answer_fn cb;
	void *arg;
	struct event *timer;
};

struct dnsconn {
	struct event_base *base;
	struct dnsconn_ops ops;
	void *arg;
	char host[DNSC_SERVER_MAX + 1];
	uint16_t port;
	char peer[DNSC_SERVER_MAX + 8];
	bool numeric;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum dnsc_pin_kind pin_kind;
	uint8_t pin[32];
	bool use_ca;
	uint32_t timeout_ms, connect_timeout_ms;
	SSL_CTX *ctx;
	struct evdns_base *dns;
	struct bufferevent *bev;
	enum cstate state;
	bool keep;
	struct agent_reconnect rc;	/* when to connect again (lib/agent timers) */
	uint64_t retry_at;		/* monotonic ms: the next attempt after a failure */
	struct event *retry;
	struct req *reqs;
	char last_error[200];
	int in_cb;		/* user callbacks running: freeing is deferred */
	bool dead;
	/* delegation (cfg.parent): where the account's primary is, asked at every connection */
	bool via_parent;
	char parent[DNSC_SERVER_MAX + 1];
	struct sockaddr_storage paddr;
	socklen_t paddrlen;
	uint16_t pport;
	struct dns_name domain, q;
	int rstep;		/* 0: the parent's NS and glue, 1: the primary's SRV */
	int rfd;
	struct event *rev;
	uint16_t rid;
	struct sockaddr_storage prim;	/* the primary found: its address (glue) */
	socklen_t primlen;
	char prim_name[DNS_NAME_TEXT_MAX];
	uint16_t prim_port;	/* the last primary's TLS port (0: none found yet) */
	bool stale;		/* closed for a referral: keep the back-off growing */
	uint8_t rbuf[65535];
};

static void conn_start(struct dnsconn *c);
static void really_free(struct dnsconn *c);
static void resolve_stop(struct dnsconn *c);

/* ---- callbacks into the owner, safe against being freed inside them ---- */

static bool enter(struct dnsconn *c)
{
	c->in_cb++;
	return true;
}

/* After a user callback: false when the connection was freed meanwhile (and is now gone). */
static bool leave(struct dnsconn *c)
{
	if (--c->in_cb == 0 && c->dead) {
		really_free(c);
		return false;
	}
	return !c->dead;
}

static void req_free(struct req *r)
{
	if (r->timer)
		event_free(r->timer);
	free(r->msg);
	free(r);
}

static void req_unlink(struct dnsconn *c, struct req *r)
{
	for (struct req **pp = &c->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

/* Answer @p r (already unlinked) and free it. False if @p c died in the callback. */
static bool req_finish(struct dnsconn *c, struct req *r, int err, const uint8_t *msg, size_t len)
{
	dnsconn_answer_fn cb = r->cb;
	void *arg = r->arg;

	req_free(r);
	enter(c);
	cb(arg, err, msg, len);
	return leave(c);
}

/* Fail every request (only those sent when @p sent_only). False if @p c died. */
static bool fail_reqs(struct dnsconn *c, int err, bool sent_only)
{
	for (;;) {
		struct req *r;

		for (r = c->reqs; r && sent_only && !r->sent; r = r->next)
			;
		if (!r)
			return true;
		req_unlink(c, r);
		if (!req_finish(c, r, err, NULL, 0))
			return false;
	}
}

/* ---- the connection ---- */

static void set_error(struct dnsconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct dnsconn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
}

static void close_bev(struct dnsconn *c)
{
	if (c->bev) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* no waiting for the server's close_notify: it may be gone */
		if (ssl)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

static void schedule_retry(struct dnsconn *c)
{
	uint64_t now = clock_now_ms(), ms = c->retry_at > now ? c->retry_at - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->retry, &tv);
}

/* The connection failed or closed: tell the owner, fail what waits, maybe try again. */
static void conn_lost(struct dnsconn *c, int err)
{
	bool was_up = c->state == C_UP;

	close_bev(c);
	resolve_stop(c);
	c->state = C_DOWN;
	c->retry_at = agent_reconnect_failed(&c->rc, clock_now_ms());
	if (was_up)
		log_info("connection to %s lost: %s", c->peer, c->last_error);
	else
		log_debug("cannot connect to %s: %s", c->peer, c->last_error);
	/* requests sent are lost with it; those never sent fail too when we could not connect */
	if (!fail_reqs(c, was_up ? -ECONNRESET : err, was_up))
		return;
	enter(c);
	if (c->ops.down)
		c->ops.down(c->arg, err, c->last_error);
	if (!leave(c))
		return;
	if (c->keep || c->reqs)
		schedule_retry(c);
}

static bool pin_matches(struct dnsconn *c, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL;
	unsigned int mdlen = 0;
	bool ok = false;
	int n;

	/* RFC 7858 §4.2: the SPKI pin; a hex pin may also be the certificate's fingerprint */
	n = i2d_PUBKEY(X509_get0_pubkey(cert), &spki);
	if (n > 0 && EVP_Digest(spki, (size_t)n, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32 &&
	    CRYPTO_memcmp(md, c->pin, 32) == 0)
		ok = true;
	OPENSSL_free(spki);
	if (!ok && c->pin_kind == DNSC_PIN_HEX && X509_digest(cert, EVP_sha256(), md, &mdlen) &&
	    mdlen == 32 && CRYPTO_memcmp(md, c->pin, 32) == 0)
		ok = true;
	return ok;
}

static void send_req(struct dnsconn *c, struct req *r)
{
	uint8_t hdr[2] = { (uint8_t)(r->len >> 8), (uint8_t)r->len };
	struct evbuffer *out = bufferevent_get_output(c->bev);

	/* RFC 1035 §4.2.2: two-byte length, then the message */
	if (evbuffer_add(out, hdr, 2) || evbuffer_add(out, r->msg, r->len))
		return;		/* out of memory: the request times out */
	r->sent = true;
	free(r->msg);
	r->msg = NULL;
}

static void conn_up(struct dnsconn *c)
{
	struct timeval none = { 0, 0 };

	(void)none;
	c->state = C_UP;
	/* a server found again after a referral: the back-off stays, in case
	 * the parent still names the one that referred us away */
	if (!c->stale)
		agent_reconnect_reset(&c->rc);
	c->stale = false;
	c->last_error[0] = '\0';
	/* an LLQ connection is quiet for long stretches: no read timeout from now on */
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	log_debug("connected to %s over TLS", c->peer);
	for (struct req *r = c->reqs; r; r = r->next)
		if (!r->sent)
			send_req(c, r);
	enter(c);
	if (c->ops.up)
		c->ops.up(c->arg);
	leave(c);
}

/*
 * Does this answer say that the server no longer holds our account? A
 * referral (RFC 1034 §4.3.2: no AA, no answer, an NS record in the
 * authority section) or NOTAUTH without a TSIG (RFC 2136 §3.1.2: not
 * authoritative for the zone; a TSIG failure carries a TSIG record).
 */
static bool moved_away(const struct dnsconn *c, const uint8_t *msg, size_t len)
{
	static struct dns_msg m;
	unsigned rcode;

	if (dns_msg_parse(&m, msg, len))
		return false;
	rcode = dns_msg_rcode(&m);
	if (rcode == DNS_RCODE_NOTAUTH)
		return m.tsig < 0;
	if (rcode != DNS_RCODE_NOERROR || (m.hdr.flags & DNS_FLAG_AA) || m.count[DNS_SEC_ANSWER] != 0)
		return false;
	for (unsigned i = 0; i < m.count[DNS_SEC_AUTHORITY]; i++)
		if (dns_msg_rr(&m, DNS_SEC_AUTHORITY, i)->type == DNS_TYPE_NS)
			return true;
	return false;
}

/* ---- the delegation: which primary holds the account (cfg.parent) ---- */

static void conn_start_tls(struct dnsconn *c);

static void resolve_stop(struct dnsconn *c)
{
	if (c->rev) {
		event_free(c->rev);
		c->rev = NULL;
	}
	if (c->rfd >= 0) {
		close(c->rfd);
		c->rfd = -1;
	}
}

/* Send the question of step c->rstep on a new UDP socket connected to @p to. */
static int resolve_ask(struct dnsconn *c, const struct sockaddr *to, socklen_t tolen, uint16_t qtype);

static void resolve_fail(struct dnsconn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void resolve_fail(struct dnsconn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	conn_lost(c, err);
}

/* The parent's referral for D: the NS target and its glue address. */
static int read_referral(struct dnsconn *c, const struct dnsc_resp *r)
{
	char name[DNS_NAME_TEXT_MAX];
	struct dns_name target;
	struct dnsc_rr rr;
	unsigned pos = 0;
	bool have = false;

	while (!have && dnsc_rr_next(&r->msg, &pos, &rr) == 1)
		if ((rr.sec == DNS_SEC_AUTHORITY || rr.sec == DNS_SEC_ANSWER) && rr.type == DNS_TYPE_NS &&
		    dns_name_equal(&rr.owner, &c->domain) && dns_rdata_name_read(&rr.rdata, &target) == 0)
			have = true;
	if (!have)
		return -ENOENT;
	if (dns_name_to_text(&target, name, sizeof(name)) < 0)
		return -EINVAL;
	pos = 0;
	while (dnsc_rr_next(&r->msg, &pos, &rr) == 1) {
		struct sockaddr_storage ss = { 0 };
		uint8_t a[16];

		if (rr.sec != DNS_SEC_ADDITIONAL || !dns_name_equal(&rr.owner, &target))
			continue;
		if (rr.type == DNS_TYPE_A && dns_rdata_a_read(&rr.rdata, a) == 0) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, a, 4);
			c->prim = ss;
			c->primlen = sizeof(*s4);
			memcpy(c->prim_name, name, sizeof(name));
			return 0;
		}
		if (rr.type == DNS_TYPE_AAAA && dns_rdata_aaaa_read(&rr.rdata, a) == 0) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, a, 16);
			c->prim = ss;
			c->primlen = sizeof(*s6);
			memcpy(c->prim_name, name, sizeof(name));
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* Step 1 done: connect over TLS to the primary's address and port. */
static void resolved(struct dnsconn *c, uint16_t port, bool from_parent)
{
	char text[INET6_ADDRSTRLEN];

	resolve_stop(c);
	memcpy(&c->addr, &c->prim, c->primlen);
	c->addrlen = c->primlen;
	if (c->addr.ss_family == AF_INET) {
		((struct sockaddr_in *)&c->addr)->sin_port = htons(port);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&c->addr)->sin_addr, text, sizeof(text));
	} else {
		((struct sockaddr_in6 *)&c->addr)->sin6_port = htons(port);
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c->addr)->sin6_addr, text, sizeof(text));
	}
	/* the certificate must name the address the parent gave (docs/agent-dns.md "Delegation") */
	snprintf(c->host, sizeof(c->host), "%s", text);
	c->port = port;
	c->prim_port = port;
	c->numeric = true;
	snprintf(c->peer, sizeof(c->peer), strchr(text, ':') ? "[%s]:%u" : "%s:%u", text, port);
	{
		char d[DNS_NAME_TEXT_MAX];

		if (dns_name_to_text(&c->domain, d, sizeof(d)) < 0)
			d[0] = '\0';
		if (from_parent)
			log_info("the parent %s delegates %s to %s (%s)", c->parent, d, c->prim_name, c->peer);
	}
	conn_start_tls(c);
}

/*
 * The parent cannot be asked (down, unreachable): the primary found last
 * time is tried again, unless it referred us away (c->stale), rather than
 * no server at all; without one, the connection fails and is retried.
 */
static void parent_silent(struct dnsconn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void parent_silent(struct dnsconn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	if (c->prim_port && !c->stale) {
		log_info("%s: trying %s again, the primary it named last", c->last_error, c->prim_name);
		resolved(c, c->prim_port, false);
		return;
	}
	conn_lost(c, err);
}

static void resolve_cb(evutil_socket_t fd, short what, void *arg)
{
	static struct dnsc_resp r;
	struct dnsconn *c = arg;
	uint8_t buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		if (c->rstep == 0)
			parent_silent(c, -ETIMEDOUT, "the parent %s did not answer", c->parent);
		else
			resolved(c, DELEG_TLS_PORT, true);	/* no SRV answer: the standard port */
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (c->rstep == 0)
			parent_silent(c, -errno, "the parent %s: %s", c->parent, strerror(errno));
		else
			resolved(c, DELEG_TLS_PORT, true);
		return;
	}
	if (dnsc_resp_open(&r, buf, (size_t)n, c->rid, &c->q, c->rstep == 0 ? DNS_TYPE_NS : DNS_TYPE_SRV, NULL,
			   clock_wall_s()))
		return;	/* not the answer to our question: wait for it */
	if (c->rstep == 0) {
		int rc = read_referral(c, &r);

		if (rc == -ENOENT) {
			resolve_fail(c, -ENOENT, "the parent %s has no delegation for the account", c->parent);
			return;
		}
		if (rc) {
			resolve_fail(c, -EADDRNOTAVAIL, "the parent %s gives no address (glue) for the account's server",
				     c->parent);
			return;
		}
		c->rstep = 1;
		c->q = c->domain;
		if (dns_name_prepend_label(&c->q, "_tcp", 4) ||
		    dns_name_prepend_label(&c->q, "_dns-update-tls", 15) ||
		    resolve_ask(c, (struct sockaddr *)&c->prim, c->primlen, DNS_TYPE_SRV))
			resolved(c, DELEG_TLS_PORT, true);
		return;
	}
	{
		struct dnsc_rr rr;
		unsigned pos = 0;

		while (dnsc_rr_next(&r.msg, &pos, &rr) == 1) {
			struct dns_srv srv;

			if (rr.sec == DNS_SEC_ANSWER && rr.type == DNS_TYPE_SRV &&
			    dns_rdata_srv_read(&rr.rdata, &srv) == 0 && srv.port) {
				resolved(c, srv.port, true);
				return;
			}
		}
	}
	resolved(c, DELEG_TLS_PORT, true);
}

static int resolve_ask(struct dnsconn *c, const struct sockaddr *to, socklen_t tolen, uint16_t qtype)
{
	struct sockaddr_storage dst;
	struct timeval tv = { (time_t)(c->connect_timeout_ms / 2000),
			      (suseconds_t)(c->connect_timeout_ms / 2 % 1000) * 1000 };
	uint8_t buf[512];
	size_t len;

	resolve_stop(c);
	memcpy(&dst, to, tolen);
	/* the primary answers plain DNS on the port the parent does */
	if (dst.ss_family == AF_INET)
		((struct sockaddr_in *)&dst)->sin_port = htons(c->pport);
	else
		((struct sockaddr_in6 *)&dst)->sin6_port = htons(c->pport);
	c->rid = (uint16_t)rand_uniform(65536);
	if (dnsc_query_build(buf, sizeof(buf), &len, c->rid, &c->q, qtype, NULL, NULL, clock_wall_s()))
		return -EINVAL;
	c->rfd = socket(dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->rfd < 0)
		return -errno;
	if (connect(c->rfd, (struct sockaddr *)&dst, tolen) < 0 || send(c->rfd, buf, len, 0) < 0) {
		int e = errno;

		resolve_stop(c);
		return -e;
	}
	c->rev = event_new(c->base, c->rfd, EV_READ | EV_PERSIST, resolve_cb, c);
	if (!c->rev || event_add(c->rev, &tv)) {
		resolve_stop(c);
		return -ENOMEM;
	}
	return 0;
}

/* Start a connection through the delegation: ask the parent first. */
static void resolve_start(struct dnsconn *c)
{
	int rc;

	c->state = C_CONNECTING;
	c->rstep = 0;
	c->q = c->domain;
	rc = resolve_ask(c, (struct sockaddr *)&c->paddr, c->paddrlen, DNS_TYPE_NS);
	if (rc)
		resolve_fail(c, rc, "cannot ask the parent %s: %s", c->parent, strerror(-rc));
}

/* Handle one whole message from the server. False if @p c died. */
static bool on_message(struct dnsconn *c, const uint8_t *msg, size_t len)
{
	struct dns_header h;
	struct req *r;

	if (dns_header_parse(msg, len, &h))
		return true;
	if (!(h.flags & DNS_FLAG_QR)) {
		/* a DSO message from the server (a PUSH, a Retry Delay, RFC 8490 §5.4) */
		if (dso_is_dso(msg, len))
			goto unsolicited;
		return true;	/* not an answer: ignored */
	}
	/* an LLQ event (RFC 8764 §6.1) answers nothing even if its id matches a request */
	if (dns_flags_opcode(h.flags) == DNS_OPCODE_QUERY) {
		static struct dns_msg m;
		struct dns_llq llq;
		struct wire opt;

		if (dns_msg_parse(&m, msg, len) == 0 && dns_edns_find(&m, DNS_EDNS_OPT_LLQ, &opt) == 0 &&
		    dns_llq_parse(&opt, &llq) == 0 && llq.opcode == DNS_LLQ_EVENT)
			goto unsolicited;
	}
	for (r = c->reqs; r; r = r->next)
		if (r->sent && r->id == h.id)
			break;
	if (r) {
		bool moved = c->via_parent && moved_away(c, msg, len);

		req_unlink(c, r);
		if (!req_finish(c, r, 0, msg, len))
			return false;
		if (moved && c->state == C_UP) {
			/* the account is not here any more: ask the parent again */
			set_error(c, "%s referred us away: the account moved", c->peer);
			log_info("%s no longer serves %s: asking the parent %s again", c->peer, c->prim_name, c->parent);
			c->stale = true;
			conn_lost(c, -ECONNRESET);
			return false;
		}
		return true;
	}
unsolicited:
	enter(c);
	if (c->ops.unsolicited)
		c->ops.unsolicited(c->arg, msg, len);
	return leave(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct dnsconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		uint8_t hdr[2];
		size_t len;

		if (evbuffer_copyout(in, hdr, 2) != 2)
			return;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		if (evbuffer_remove(in, c->rbuf, len) != (int)len)
			return;
		if (!on_message(c, c->rbuf, len) || c->state != C_UP || c->bev != bev)
			return;
	}
}

static void tls_error_text(struct dnsconn *c, struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e = bufferevent_get_openssl_error(bev);
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	int serr = EVUTIL_SOCKET_ERROR();
	int dnserr = bufferevent_socket_get_dns_error(bev);
	char buf[160];

	if (dnserr) {
		set_error(c, "cannot resolve %s: %s", c->host, evutil_gai_strerror(dnserr));
	} else if (c->state == C_CONNECTING && (serr == ECONNREFUSED || serr == ETIMEDOUT ||
						serr == EHOSTUNREACH || serr == ENETUNREACH)) {
		set_error(c, "%s", strerror(serr));
	} else if (c->use_ca && vr != X509_V_OK) {
		set_error(c, "the server's certificate is not trusted: %s", X509_verify_cert_error_string(vr));
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		set_error(c, "the server closed the connection");
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL) {
		ERR_error_string_n(e, buf, sizeof(buf));
		set_error(c, "TLS failed: %s", buf);
	} else if (e && serr == 0) {
		set_error(c, "%s", c->state == C_CONNECTING ? "the connection was refused or reset" : "the connection broke");
	} else if (serr) {
		set_error(c, "%s", strerror(serr));
	} else {
		set_error(c, "the server closed the connection");
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dnsconn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
		bool ok = cert != NULL;

		if (!cert)
			set_error(c, "the server sent no certificate");
		else if (c->pin_kind != DNSC_PIN_NONE && !pin_matches(c, cert)) {
			set_error(c, "the server's certificate does not match the pin");
			ok = false;
		}
		X509_free(cert);
		if (!ok) {
			log_warnx("%s: %s", c->peer, c->last_error);
			conn_lost(c, -EPROTO);
			return;
		}
		conn_up(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		set_error(c, "no answer from %s within %u s", c->peer, c->connect_timeout_ms / 1000);
		conn_lost(c, -ETIMEDOUT);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		int serr = EVUTIL_SOCKET_ERROR();

		if (what & BEV_EVENT_EOF)
			set_error(c, "the server closed the connection");
		else
			tls_error_text(c, bev);
		conn_lost(c, c->state == C_UP ? -ECONNRESET :
			  serr == ECONNREFUSED ? -ECONNREFUSED : serr == EHOSTUNREACH ? -EHOSTUNREACH :
			  serr == ENETUNREACH ? -ENETUNREACH : -EPROTO);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsconn *c = arg;

	(void)fd, (void)what;
	if (c->state == C_DOWN && (c->keep || c->reqs))
		conn_start(c);
}

static void conn_start(struct dnsconn *c)
{
	if (c->state != C_DOWN)
		return;
	evtimer_del(c->retry);
	if (c->via_parent)
		resolve_start(c);	/* then conn_start_tls() */
	else
		conn_start_tls(c);
}

static void conn_start_tls(struct dnsconn *c)
{
	struct timeval to = { (time_t)(c->connect_timeout_ms / 1000),
			      (suseconds_t)(c->connect_timeout_ms % 1000) * 1000 };
	SSL *ssl;
	int rc;

	ssl = SSL_new(c->ctx);
	if (!ssl) {
		set_error(c, "TLS: out of memory");
		goto fail;
	}
	if (!c->numeric)
		SSL_set_tlsext_host_name(ssl, c->host);	/* RFC 6066 SNI */
	if (c->use_ca) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		/* RFC 7858 §4.1 / RFC 6125: the certificate must name the server */
		if (c->numeric ? !X509_VERIFY_PARAM_set1_ip_asc(vp, c->host)
			       : !X509_VERIFY_PARAM_set1_host(vp, c->host, 0)) {
			SSL_free(ssl);
			set_error(c, "TLS: cannot check the name %s", c->host);
			goto fail;
		}
	}
	c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		SSL_free(ssl);
		set_error(c, "out of memory");
		goto fail;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_set_timeouts(c->bev, &to, &to);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = C_CONNECTING;
	if (c->numeric) {
		rc = bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->addr, (int)c->addrlen);
	} else {
		if (!c->dns)
			c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		rc = c->dns ? bufferevent_socket_connect_hostname(c->bev, c->dns, AF_UNSPEC, c->host, c->port) : -1;
	}
	if (rc) {
		tls_error_text(c, c->bev);
		if (!c->last_error[0])
			set_error(c, "cannot connect");
		conn_lost(c, -EHOSTUNREACH);
		return;
	}
	{
		/*
		 * DNS messages are small and interactive; an LLQ connection is
		 * idle for long: TCP keepalives find a dead path in about 90 s
		 */
		int one = 1, idle = 60, intvl = 10, cnt = 3, fd = bufferevent_getfd(c->bev);

		if (fd >= 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
			setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
			setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
			setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		}
	}
	return;
fail:
	c->state = C_CONNECTING;
	conn_lost(c, -ENOMEM);
}

/* ---- public ---- */

struct dnsconn *dnsconn_new(struct event_base *base, const struct dnsconn_cfg *cfg,
			    const struct dnsconn_ops *ops, void *arg, char *why, size_t whylen)
{
	struct dnsconn *c = calloc(1, sizeof(*c));
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;

	if (!c) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	c->base = base;
	{
		struct agent_timer_cfg tc;

		/* reconnect 1 s after the first failure, doubling to 60 s */
		agent_timer_cfg_default(&tc);
		agent_reconnect_init(&c->rc, tc.server_retry_min_ms, tc.server_retry_max_ms);
	}
	if (ops)
		c->ops = *ops;
	c->arg = arg;
	c->rfd = -1;
	if (cfg->parent) {
		char ph[DNSC_SERVER_MAX + 1];
		struct sockaddr_in *p4 = (struct sockaddr_in *)&c->paddr;
		struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&c->paddr;

		if (dnsc_server_parse(cfg->parent, ph, sizeof(ph), &c->pport, 53) || !cfg->domain ||
		    dns_name_from_text(&c->domain, cfg->domain)) {
			snprintf(why, whylen, "the parent must be ADDRESS[:PORT]");
			goto err;
		}
		if (inet_pton(AF_INET, ph, &p4->sin_addr) == 1) {
			p4->sin_family = AF_INET;
			c->paddrlen = sizeof(*p4);
		} else if (inet_pton(AF_INET6, ph, &p6->sin6_addr) == 1) {
			p6->sin6_family = AF_INET6;
			c->paddrlen = sizeof(*p6);
		} else {
			snprintf(why, whylen, "the parent must be a numeric address, not %s", ph);
			goto err;
		}
		if (c->paddr.ss_family == AF_INET)
			p4->sin_port = htons(c->pport);
		else
			p6->sin6_port = htons(c->pport);
		dns_name_canonicalize(&c->domain);
		snprintf(c->parent, sizeof(c->parent), "%s", cfg->parent);
		c->via_parent = true;
	}
	if (c->via_parent && !cfg->host) {
		/* found at each connection; until then the peer is the parent */
		snprintf(c->host, sizeof(c->host), "%s", "0.0.0.0");
	} else if (!cfg->host || strlen(cfg->host) >= sizeof(c->host) || !cfg->host[0]) {
		snprintf(why, whylen, "no server");
		goto err;
	} else {
		strcpy(c->host, cfg->host);
	}
	c->port = cfg->port ? cfg->port : 853;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TIMEOUT_DEFAULT_MS;
	c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : TIMEOUT_DEFAULT_MS;
	snprintf(c->peer, sizeof(c->peer), strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host, c->port);
	if (c->via_parent)
		snprintf(c->peer, sizeof(c->peer), "the primary of %s", cfg->domain);
	s4 = (struct sockaddr_in *)&c->addr;
	s6 = (struct sockaddr_in6 *)&c->addr;
	if (inet_pton(AF_INET, c->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->port);
		c->addrlen = sizeof(*s4);
		c->numeric = true;
	} else if (inet_pton(AF_INET6, c->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->port);
		c->addrlen = sizeof(*s6);
		c->numeric = true;
	}
	if ((cfg->pin && cfg->ca_file) || (!cfg->pin && !cfg->ca_file)) {
		snprintf(why, whylen, "the server must be trusted by a CA file or a pin (one of them)");
		goto err;
	}
	if (cfg->pin && dnsc_pin_parse(cfg->pin, &c->pin_kind, c->pin)) {
		snprintf(why, whylen, "a pin is 64 hex digits (the SHA-256 fingerprint) or 44 characters of base64 (SPKI)");
		goto err;
	}
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		snprintf(why, whylen, "TLS: out of memory");
		goto err;
	}
	/* RFC 7525: TLS 1.2 at least */
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (cfg->ca_file) {
		c->use_ca = true;
		if (SSL_CTX_load_verify_locations(c->ctx, cfg->ca_file, NULL) != 1) {
			snprintf(why, whylen, "cannot read the CA file %s", cfg->ca_file);
			goto err;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/* pinned: the chain does not matter, the key does (checked once connected) */
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	c->retry = evtimer_new(base, retry_cb, c);
	if (!c->retry) {
		snprintf(why, whylen, "out of memory");
		goto err;
	}
	return c;
err:
	really_free(c);
	return NULL;
}

static void really_free(struct dnsconn *c)
{
	close_bev(c);
	resolve_stop(c);
	if (c->retry)
		event_free(c->retry);
	if (c->dns)
		evdns_base_free(c->dns, 0);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	OPENSSL_cleanse(c->pin, sizeof(c->pin));
	free(c);
}

void dnsconn_free(struct dnsconn *c)
{
	if (!c || c->dead)
		return;
	c->dead = true;
	c->keep = false;
	/* every pending request hears it, once */
	while (c->reqs) {
		struct req *r = c->reqs;

		c->reqs = r->next;
		c->in_cb++;
		r->cb(r->arg, -ECANCELED, NULL, 0);
		c->in_cb--;
		req_free(r);
	}
	if (c->in_cb == 0)
		really_free(c);
	else
		close_bev(c);	/* the rest once the callback running returns */
}

void dnsconn_keep(struct dnsconn *c, bool keep)
{
	c->keep = keep;
	if (keep && c->state == C_DOWN && !evtimer_pending(c->retry, NULL))
		conn_start(c);
}

void dnsconn_kick(struct dnsconn *c)
{
	agent_reconnect_reset(&c->rc);
	if (c->state == C_DOWN)
		conn_start(c);
}

bool dnsconn_check_local(struct dnsconn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ifaddrs *ifa = NULL;
	bool found = false;
	int fd;

	if (c->state != C_UP || (fd = bufferevent_getfd(c->bev)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || getifaddrs(&ifa) < 0)
		return false;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss.ss_family)
			continue;
		if (ss.ss_family == AF_INET)
			found = memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				       &((struct sockaddr_in *)&ss)->sin_addr, 4) == 0;
		else if (ss.ss_family == AF_INET6)
			found = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				       &((struct sockaddr_in6 *)&ss)->sin6_addr, 16) == 0;
	}
	freeifaddrs(ifa);
	if (found)
		return false;
	set_error(c, "this host's address changed");
	conn_lost(c, -ENETDOWN);
	/* conn_lost may have run the owner's callbacks; c is alive unless freed there */
	return true;
}

uint16_t dnsconn_new_id(struct dnsconn *c)
{
	for (;;) {
		uint16_t id = (uint16_t)rand_uniform(65536);
		struct req *r;

		for (r = c->reqs; r && r->id != id; r = r->next)
			;
		if (!r)
			return id;
	}
}

static void req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	struct dnsconn *c = r->c;
	bool dead = r->sent && c->state == C_UP;

	(void)fd, (void)what;
	req_unlink(c, r);
	if (!req_finish(c, r, -ETIMEDOUT, NULL, 0))
		return;
	/*
	 * A request sent on a connection that stays silent: the path or the
	 * server is gone without a word (a NAT that forgot us, a cable):
	 * start again rather than wait on a dead stream, which would also
	 * swallow every LLQ event.
	 */
	if (dead && c->state == C_UP) {
		set_error(c, "no answer from the server within %u s", c->timeout_ms / 1000);
		conn_lost(c, -ETIMEDOUT);
	}
}

int dnsconn_request(struct dnsconn *c, const uint8_t *msg, size_t len, dnsconn_answer_fn cb, void *arg)
{
	struct timeval tv = { (time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000 };
	struct req *r, **tail;
	uint16_t id;

	if (c->dead || len < 12 || len > 65535)
		return -EINVAL;
	id = (uint16_t)(msg[0] << 8 | msg[1]);
	for (r = c->reqs; r; r = r->next)
		if (r->id == id)
			return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->c = c;
	r->id = id;
	r->cb = cb;
	r->arg = arg;
	r->len = len;
	r->msg = malloc(len);
	r->timer = evtimer_new(c->base, req_timeout, r);
	if (!r->msg || !r->timer) {
		req_free(r);
		return -ENOMEM;
	}
	memcpy(r->msg, msg, len);
	evtimer_add(r->timer, &tv);
	for (tail = &c->reqs; *tail; tail = &(*tail)->next)
		;
	*tail = r;
	if (c->state == C_UP)
		send_req(c, r);
	else if (c->state == C_DOWN)
		conn_start(c);	/* may fail at once, answering this request */
	return 0;
}

int dnsconn_send(struct dnsconn *c, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out;

	if (c->state != C_UP || len > 65535)
		return -ENOTCONN;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > OUTPUT_MAX)
		return -ENOBUFS;
	if (evbuffer_add(out, hdr, 2) || evbuffer_add(out, msg, len))
		return -ENOMEM;
	return 0;
}

void dnsconn_cancel(struct dnsconn *c, void *arg)
{
	for (;;) {
		struct req *r;

		for (r = c->reqs; r && r->arg != arg; r = r->next)
			;
		if (!r)
			return;
		req_unlink(c, r);
		if (!req_finish(c, r, -ECANCELED, NULL, 0))
			return;
	}
}

bool dnsconn_is_up(const struct dnsconn *c)
{
	return c->state == C_UP;
}

const char *dnsconn_last_error(const struct dnsconn *c)
{
	return c->last_error;
}

const char *dnsconn_peer(const struct dnsconn *c)
{
	return c->peer;
}
