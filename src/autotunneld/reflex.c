/*
 * src/autotunneld/reflex.c: the STUN server from _stun._udp.D, and the
 * RFC 5780 check from the tunnel socket (see reflex.h).
 */
#include "autotunneld/reflex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dnsc/msg.h"
#include "util/random.h"

/*
 * A lookup that failed (the connection to the rendezvous server was down,
 * the target has no address yet) is tried again this long after, this
 * many times; a network change or a new sign-in starts afresh anyway.
 */
#define LOOKUP_RETRY_MS		10000
#define LOOKUP_TRIES		3

struct atd_reflex {
	struct event_base *base;
	struct atd_reflex_ops ops;
	void *arg;
	struct event *timer;		/* the check's deadline, or the lookup's retry */
	struct evdns_base *evdns;	/* made when a target is a name to resolve */
	struct evdns_getaddrinfo_request *gai;
	bool gai_pending;

	enum atd_reflex_state state;
	char domain[DNS_NAME_TEXT_MAX];	/* D the server was looked up for */
	bool server_known;
	char server[300];
	char target[DNS_NAME_TEXT_MAX];
	uint16_t port;
	struct sockaddr_in server_addr;
	struct sockaddr_in local;
	unsigned tries;
	char why[200];

	struct stun_natcheck nc;
	bool quick;				/* the check running is a refresh (test I only) */
	bool early_told;			/* a full check's test I answered: told through ops.done */
	bool refresh;				/* the lookup under way is for a refresh */
	struct stun_natcheck_result last;	/* what netcheck shows */
	bool have_result;
	uint64_t checked_ms;
	struct stun_natcheck_result full;	/* the last full check's */
	bool have_full;
};

static void arm(struct atd_reflex *r, uint64_t at)
{
	uint64_t now = clock_now_ms(), ms = at > now ? at - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(r->timer, &tv);
}

static void rnd(void *arg, void *buf, size_t len)
{
	(void)arg;
	/* RFC 8489 §6: transaction ids must be hard to guess (they are all an answer is checked by) */
	if (rand_bytes(buf, len))
		log_warnx("STUN: no random bytes for a transaction id");
}

static void cancel_lookup(struct atd_reflex *r)
{
	r->ops.query_cancel(r->arg, r);
	if (r->gai) {
		struct evdns_getaddrinfo_request *g = r->gai;

		r->gai = NULL;
		evdns_getaddrinfo_cancel(g);	/* its callback sees EVUTIL_EAI_CANCEL */
	}
}

/* ---- the check ---- */

static bool same_reflexive(const struct stun_natcheck_result *a, const struct stun_natcheck_result *b)
{
	const struct sockaddr_in *x = (const struct sockaddr_in *)&a->reflexive;
	const struct sockaddr_in *y = (const struct sockaddr_in *)&b->reflexive;

	return a->reflexive.ss_family == AF_INET && b->reflexive.ss_family == AF_INET &&
	       x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
}

static void finish(struct atd_reflex *r)
{
	struct stun_natcheck_result merged = *stun_natcheck_result(&r->nc);
	const struct stun_natcheck_result *res = &merged;
	char a[INET6_ADDRSTRLEN] = "?", msg[512];
	bool same;

	if (!r->quick) {
		r->full = merged;
		r->have_full = true;
	} else if (r->have_full && merged.reachable && same_reflexive(&merged, &r->full)) {
		/* the same mapping as the full check found: its behaviour still holds */
		merged.mapping = r->full.mapping;
		merged.filtering = r->full.filtering;
	}
	/* a refresh that found what was known is not news */
	same = r->quick && r->have_result && r->last.reachable == merged.reachable &&
	       (!merged.reachable || same_reflexive(&merged, &r->last));
	r->last = merged;
	r->have_result = true;
	r->checked_ms = clock_now_ms();
	r->state = ATD_REFLEX_DONE;
	if (!res->reachable) {
		snprintf(msg, sizeof(msg), "STUN server %s did not answer over UDP: no reflexive address",
			 r->server);
	} else {
		if (res->reflexive.ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&res->reflexive)->sin_addr, a, sizeof(a));
		snprintf(msg, sizeof(msg), "reflexive address %s:%u (STUN server %s): mapping %s, filtering %s%s", a,
			 ntohs(((const struct sockaddr_in *)&res->reflexive)->sin_port), r->server,
			 stun_nat_behavior_str(res->mapping), stun_nat_behavior_str(res->filtering),
			 res->timed_out ? " (check cut short)" : "");
	}
	if (same)
		log_debug("%s", msg);
	else
		log_info("%s", msg);
	if (r->ops.done)
		r->ops.done(r->arg);
}

static void apply(struct atd_reflex *r, const struct stun_natcheck_out *out)
{
	for (unsigned i = 0; i < out->n_sends; i++) {
		const struct stun_natcheck_send *s = &out->sends[i];
		int err;

		if (s->to.ss_family != AF_INET)
			continue;	/* the tunnel socket is IPv4 */
		err = r->ops.send(r->arg, (const struct sockaddr_in *)&s->to, s->buf, s->len);
		if (err)
			log_debug("STUN: cannot send: %s", strerror(-err));
	}
	if (out->done) {
		evtimer_del(r->timer);
		finish(r);
		return;
	}
	if (out->deadline != STUN_NATCHECK_NEVER)
		arm(r, out->deadline);
	/*
	 * A full check (after a network change) takes seconds for the
	 * behaviour; the reflexive address is known at its first answer, and a
	 * peer can punch to it at once (docs/paths.md §9.1).
	 */
	if (!r->quick && !r->early_told && r->state == ATD_REFLEX_CHECKING && stun_natcheck_result(&r->nc)->reachable) {
		r->early_told = true;
		if (r->ops.done)
			r->ops.done(r->arg);
	}
}

static void begin_check(struct atd_reflex *r, bool quick)
{
	struct stun_natcheck_config cfg;
	struct stun_natcheck_out out;
	int err;

	r->state = ATD_REFLEX_CHECKING;
	r->quick = quick;
	r->early_told = false;
	stun_natcheck_config_default(&cfg);
	cfg.binding_only = quick;
	err = stun_natcheck_start(&r->nc, &cfg, (const struct sockaddr *)&r->server_addr,
				  r->local.sin_addr.s_addr ? (const struct sockaddr *)&r->local : NULL, rnd, NULL,
				  clock_now_ms(), &out);
	if (err) {
		log_warnx("STUN: cannot start the check: %s", strerror(-err));
		r->state = ATD_REFLEX_IDLE;
		return;
	}
	log_debug("STUN: %s with %s", quick ? "asking for the reflexive address" : "checking the NAT's behaviour",
		  r->server);
	apply(r, &out);
}

/* ---- finding the server ---- */

static void lookup(struct atd_reflex *r);

static void lookup_failed(struct atd_reflex *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lookup_failed(struct atd_reflex *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->state = ATD_REFLEX_LOOKUP_FAILED;
	log_info("STUN server of %s: %s", r->domain, r->why);
	if (++r->tries < LOOKUP_TRIES)
		arm(r, clock_now_ms() + LOOKUP_RETRY_MS);
}

static void server_found(struct atd_reflex *r, const struct in_addr *a)
{
	r->server_addr.sin_family = AF_INET;
	r->server_addr.sin_addr = *a;
	r->server_addr.sin_port = htons(r->port);
	r->server_known = true;
	r->tries = 0;
	begin_check(r, r->have_full && r->refresh);
}

static void gai_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct atd_reflex *r = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;
	r->gai = NULL;
	r->gai_pending = false;
	for (struct evutil_addrinfo *ai = res; result == 0 && ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			struct in_addr a = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;

			evutil_freeaddrinfo(res);
			server_found(r, &a);
			return;
		}
	}
	if (res)
		evutil_freeaddrinfo(res);
	lookup_failed(r, "no IPv4 address for %s", r->target);
}

/* The SRV answer (RFC 2782: the lowest priority; RFC 5389 §9) and the target's address. */
static void srv_answer(void *arg, int err, const struct dnsc_resp *resp, const char *why)
{
	struct atd_reflex *r = arg;
	struct dns_srv best = { 0 };
	struct dns_name q;
	struct dnsc_rr rr;
	unsigned pos = 0;
	bool found = false;
	struct in_addr a;
	int n;

	if (err == -ECANCELED)
		return;
	if (err || !resp) {
		lookup_failed(r, "cannot ask the rendezvous server: %s", why);
		return;
	}
	{
		char text[DNS_NAME_TEXT_MAX + 16];

		snprintf(text, sizeof(text), "_stun._udp.%s", r->domain);
		if (dns_name_from_text(&q, text))
			return;
		dns_name_canonicalize(&q);
	}
	while (dnsc_rr_next(&resp->msg, &pos, &rr) == 1) {
		struct dns_srv s;

		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_SRV || !dns_name_equal(&rr.owner, &q) ||
		    dns_rdata_srv_read(&rr.rdata, &s) || s.port == 0 || dns_name_is_root(&s.target))
			continue;
		if (!found || s.priority < best.priority) {
			best = s;
			found = true;
		}
	}
	if (!found) {
		r->state = ATD_REFLEX_NO_SERVER;
		r->server[0] = '\0';
		log_info("the account's server names no STUN server (_stun._udp.%s): no reflexive address",
			 r->domain);
		return;
	}
	n = dns_name_to_text(&best.target, r->target, sizeof(r->target));
	if (n > 1 && r->target[n - 1] == '.')
		r->target[n - 1] = '\0';
	r->port = best.port;
	snprintf(r->server, sizeof(r->server), "%.255s:%u", r->target, best.port);
	/* its address: from the additional section, as a literal, or from the system's resolver */
	pos = 0;
	while (dnsc_rr_next(&resp->msg, &pos, &rr) == 1) {
		uint8_t b[4];

		if (rr.sec == DNS_SEC_ADDITIONAL && rr.type == DNS_TYPE_A && dns_name_equal(&rr.owner, &best.target) &&
		    dns_rdata_a_read(&rr.rdata, b) == 0) {
			memcpy(&a, b, 4);
			server_found(r, &a);
			return;
		}
	}
	if (inet_pton(AF_INET, r->target, &a) == 1) {
		server_found(r, &a);
		return;
	}
	if (!r->evdns && !(r->evdns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS))) {
		lookup_failed(r, "cannot resolve %s: no resolver", r->target);
		return;
	}
	{
		struct evutil_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
		struct evdns_getaddrinfo_request *g;

		r->gai_pending = true;
		g = evdns_getaddrinfo(r->evdns, r->target, NULL, &hints, gai_done, r);
		if (r->gai_pending)
			r->gai = g;	/* else it was answered at once (a hosts file entry) */
	}
}

static void lookup(struct atd_reflex *r)
{
	char text[DNS_NAME_TEXT_MAX + 16];
	struct dns_name q;
	int err;

	r->state = ATD_REFLEX_LOOKUP;
	r->why[0] = '\0';
	snprintf(text, sizeof(text), "_stun._udp.%s", r->domain);
	if (dns_name_from_text(&q, text)) {
		lookup_failed(r, "%s is no domain name", text);
		return;
	}
	dns_name_canonicalize(&q);
	err = r->ops.query(r->arg, &q, DNS_TYPE_SRV, srv_answer, r);
	if (err)
		lookup_failed(r, "cannot ask the rendezvous server: %s", strerror(-err));
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_reflex *r = arg;
	struct stun_natcheck_out out;

	(void)fd, (void)what;
	if (r->state == ATD_REFLEX_CHECKING) {
		stun_natcheck_on_timeout(&r->nc, clock_now_ms(), &out);
		apply(r, &out);
	} else if (r->state == ATD_REFLEX_LOOKUP_FAILED) {
		lookup(r);
	}
}

/* ---- public ---- */

struct atd_reflex *atd_reflex_new(struct event_base *base, const struct atd_reflex_ops *ops, void *arg)
{
	struct atd_reflex *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	r->ops = *ops;
	r->arg = arg;
	if (!(r->timer = evtimer_new(base, timer_cb, r))) {
		free(r);
		return NULL;
	}
	return r;
}

void atd_reflex_free(struct atd_reflex *r)
{
	if (!r)
		return;
	cancel_lookup(r);
	event_free(r->timer);
	if (r->evdns)
		evdns_base_free(r->evdns, 0);
	free(r);
}

void atd_reflex_start(struct atd_reflex *r, const char *domain, const uint8_t local[4], uint16_t port)
{
	cancel_lookup(r);
	evtimer_del(r->timer);
	memset(&r->local, 0, sizeof(r->local));
	r->local.sin_family = AF_INET;
	memcpy(&r->local.sin_addr, local, 4);
	r->local.sin_port = htons(port);
	if (strcmp(domain, r->domain)) {
		snprintf(r->domain, sizeof(r->domain), "%s", domain);
		r->server_known = false;
	}
	r->tries = 0;
	r->refresh = false;
	r->have_full = false;	/* a new network, or a new sign-in: its NAT is to be found out */
	if (r->server_known)
		begin_check(r, false);
	else
		lookup(r);
}

bool atd_reflex_refresh(struct atd_reflex *r)
{
	if (r->state == ATD_REFLEX_LOOKUP || r->state == ATD_REFLEX_CHECKING)
		return true;	/* under way: its result is fresh */
	if (!r->domain[0] || r->state == ATD_REFLEX_IDLE)
		return false;	/* signed out or offline */
	r->refresh = true;
	r->tries = 0;
	if (r->server_known)
		begin_check(r, r->have_full);
	else
		lookup(r);
	return true;
}

void atd_reflex_stop(struct atd_reflex *r, bool forget_server)
{
	cancel_lookup(r);
	evtimer_del(r->timer);
	r->state = ATD_REFLEX_IDLE;
	r->have_result = false;
	r->have_full = false;
	if (forget_server) {
		r->server_known = false;
		r->domain[0] = '\0';
		r->server[0] = '\0';
	}
}

void atd_reflex_input(struct atd_reflex *r, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	struct stun_natcheck_out out;
	int err;

	if (r->state != ATD_REFLEX_CHECKING) {
		log_debug("STUN: a message, but no check runs; dropped");
		return;
	}
	err = stun_natcheck_on_input(&r->nc, buf, len, (const struct sockaddr *)from, clock_now_ms(), &out);
	if (err) {
		log_debug("STUN: a message not for the check (%s); dropped", strerror(-err));
		return;
	}
	apply(r, &out);
}

void atd_reflex_get(const struct atd_reflex *r, struct atd_reflex_view *v)
{
	memset(v, 0, sizeof(*v));
	v->state = r->state;
	snprintf(v->server, sizeof(v->server), "%s", r->server);
	if (r->server_known)
		v->server_addr = r->server_addr;
	v->have_result = r->have_result;
	if (r->have_result) {
		v->result = r->last;
		v->checked_ms = r->checked_ms;
	}
	snprintf(v->why, sizeof(v->why), "%s", r->why);
	if (r->state == ATD_REFLEX_CHECKING && r->early_told) {
		const struct stun_natcheck_result *e = stun_natcheck_result(&r->nc);

		v->have_early = true;
		v->early = e->reflexive;
		v->early_no_nat = e->mapping == STUN_NAT_NONE;
	}
}
