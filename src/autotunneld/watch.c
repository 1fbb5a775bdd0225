/*
 * src/autotunneld/watch.c: following the account's hosts (see watch.h):
 * lib/dnsc's DNS Push client, or its LLQ client, and the account view over
 * the LLQ connection; polling when neither is up; `autotunnel hosts` and
 * `autotunnel services`. A leaf of the account: what it learns goes out
 * through struct atd_watch_ops.
 *
 * Push or LLQ (docs/agent-dns.md "Watching"): on every connection a query
 * for _dns-push-tls._tcp.D goes out on it first. With the SRV (RFC 8765
 * §6.1), Push: a TSIG-signed query on the same connection (SOA? D)
 * authenticates the DSO session as the account's (docs/dnsd.md "DNS Push").
 * Without it, or when Push is refused or ended by a Retry Delay, LLQ as
 * before, and Push again once the delay is over. The SRV query is not
 * signed: a signed query opens a DSO session on the server, which aborts a
 * connection whose session is never established (RFC 8490 §5.1), LLQs and all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent/timers.h"
#include "autotunneld/dnsconn.h"
#include "autotunneld/dnsquery.h"
#include "autotunneld/types.h"
#include "autotunneld/watch.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/tsig.h"
#include "dnsc/llq.h"
#include "dnsc/msg.h"
#include "dnsc/push.h"
#include "dnsc/sd.h"
#include "dnsc/view.h"
#include "dso/dso.h"

struct lreq {
	struct lreq *next;
	struct atd_watch *w;
	uint32_t token;
	uint16_t id;
	struct dns_tsig t;
};

/* A DSO request out (Keepalive, SUBSCRIBE). */
struct preq {
	struct preq *next;
	struct atd_watch *w;
	uint16_t id;
};

/* What the SRV query of this connection said. */
enum push_srv {
	PUSH_SRV_UNKNOWN = 0,	/* no connection, or not asked yet */
	PUSH_SRV_ASKING,	/* the query is out: neither Push nor LLQ yet */
	PUSH_SRV_OFFERED,	/* the server offers Push */
	PUSH_SRV_ABSENT,	/* LLQ on this connection */
};

struct atd_watch {
	const struct atd_watch_ops *ops;
	void *arg;
	struct atd_watch_ctx ctx;
	struct dnsc_llq_client *llq;
	struct dnsc_push_client *push;
	enum push_srv push_srv;
	uint16_t srv_id;		/* the SRV query's message id */
	struct dns_name srv_q;		/* _dns-push-tls._tcp.D */
	struct preq *preqs;
	struct dnsc_view *view;
	struct event *llq_ev, *report_ev;
	bool running;
	enum agent_action llq_action;	/* the timers' LLQ action in flight, or NONE */
	struct lreq *lreqs;
	int poll_out;			/* queries of the poll in flight (0: none) */
	int poll_phase;
	struct browse *browses;
	struct dnsc_question qs[DNSC_LLQ_MAX];
	uint8_t buf[DNSC_MSG_MAX], ack[DNSC_MSG_MAX];
	struct dnsc_llq_result res;
	bool self_known;		/* self_ula was reported through self_seen */
	uint8_t self_ula[16];
	uint64_t conn_lost_s;		/* wall clock when the LLQ connection went down (0: up, or never was) */
	/* the account authority's records (atd_watch_notes_set()), kept for the next start */
	struct dns_name notes[DNSC_VIEW_NOTE_MAX];
	size_t nnotes;
	bool renew;
};

static void pump(struct atd_watch *w);

/* A Push session is up on this connection: LLQs are not wanted. */
static bool push_up(const struct atd_watch *w)
{
	return w->push_srv == PUSH_SRV_OFFERED && w->push->state == DNSC_PUSH_UP;
}

/* Push is in use or being set up on this connection (LLQ is not). */
static bool push_mode(const struct atd_watch *w)
{
	return w->push_srv == PUSH_SRV_ASKING || (w->push_srv == PUSH_SRV_OFFERED && dnsc_push_active(w->push));
}

/* ---- reporting peers to the agent ---- */

static void txt_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_watch *w = arg;

	(void)why;
	if (err == 0 && r && w->running && dnsc_view_apply(w->view, &r->msg, DNSC_APPLY_SNAPSHOT))
		log_debug_rl("an answer about a host could not be read");
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_watch *w = arg;
	struct dnsc_peer p;
	enum dnsc_change c;
	struct dnsc_question q[8];
	size_t n;

	(void)fd, (void)what;
	if (!w->running)
		return;
	while ((c = dnsc_view_next_change(w->view, &p)) != DNSC_CHANGE_NONE) {
		if (c == DNSC_CHANGE_UPDATE) {
			struct atd_peer_info pi = { 0 };
			char a[INET_ADDRSTRLEN];

			snprintf(pi.name, sizeof(pi.name), "%s", p.label);
			snprintf(pi.fqdn, sizeof(pi.fqdn), "%s", p.fqdn);
			memcpy(pi.ula, p.ula, 16);
			pi.has_outer = p.has_outer;
			memcpy(pi.outer4, p.outer4, 4);
			pi.port = p.port;
			pi.has_cand = p.has_cand;
			if (p.has_cand)
				pi.cands = p.cand;
			pi.relayed = p.relayed;
			if (p.has_outer)
				log_info("peer %s is at %s:%u%s", p.label, inet_ntop(AF_INET, p.outer4, a, sizeof(a)), p.port,
					 p.relayed ? " (relayed)" : "");
			else
				log_info("peer %s is in the account, with no location published", p.label);
			w->ops->peer_update(w->arg, &pi);
		} else {
			log_info("peer %s is gone (its records were withdrawn or expired)", p.label);
			w->ops->peer_gone(w->arg, p.fqdn);
		}
		if (!w->running)
			return;
	}
	/* punch requests for us (docs/paths.md §1.3): each once */
	{
		struct agent_punch req;

		while (dnsc_view_next_punch(w->view, &req) == 1) {
			w->ops->punch_request(w->arg, &req);
			if (!w->running)
				return;
		}
	}
	/* the account authority's records: their owner reads them (docs/authority.md §7) */
	{
		struct dns_name nn;
		char t[DNS_NAME_TEXT_MAX];
		int tl;

		while (dnsc_view_next_note(w->view, &nn) == 1) {
			if ((tl = dns_name_to_text(&nn, t, sizeof(t))) < 2)
				continue;
			t[tl - 1] = '\0';	/* no trailing dot */
			w->ops->record_changed(w->arg, t);
			if (!w->running)
				return;
		}
	}
	/* our own name: whose address it holds (another computer may have taken it) */
	{
		uint8_t su[16];

		if (dnsc_view_self_ula(w->view, su) == 1 && (!w->self_known || memcmp(su, w->self_ula, 16))) {
			memcpy(w->self_ula, su, 16);
			w->self_known = true;
			w->ops->self_seen(w->arg, su);
			if (!w->running)
				return;
		}
	}
	/* model and OS of hosts new to us: asked once (LLQs do not cover TXT) */
	n = dnsc_view_extra_questions(w->view, q, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		(void)dnsquery_send(w->ctx.queries, w->ctx.conn, w->ctx.key, &q[i].name, q[i].type, txt_answer, w);
}

static void schedule_report(struct atd_watch *w)
{
	/* after the messages that arrived together are all applied (SRV and A of one move) */
	event_active(w->report_ev, EV_TIMEOUT, 0);
}

/* The view changed: watch exactly what it needs (RFC 6281 Figure 3), tell the agent. */
static void view_changed(struct atd_watch *w)
{
	size_t n = dnsc_view_questions(w->view, w->qs, DNSC_LLQ_MAX);

	if (n > DNSC_LLQ_MAX) {
		log_debug_rl("more hosts than LLQs: %zu questions, watching %d", n, DNSC_LLQ_MAX);
		n = DNSC_LLQ_MAX;
	}
	if (dnsc_push_sync(w->push, w->qs, n) < 0)
		log_debug_rl("DNS Push table full");
	if (dnsc_llq_sync(w->llq, w->qs, push_up(w) ? 0 : n) < 0)
		log_debug_rl("LLQ table full");
	schedule_report(w);
	pump(w);
}

/* ---- the timers' LLQ actions ---- */

static void rearm_llq(struct atd_watch *w)
{
	uint64_t next = dnsc_llq_next_deadline(w->llq), now = clock_now_ms(), ms;
	uint64_t pnext = dnsc_push_next_deadline(w->push);
	struct timeval tv;

	if (pnext < next)
		next = pnext;
	evtimer_del(w->llq_ev);
	if (next == DNSC_NEVER)
		return;
	ms = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(w->llq_ev, &tv);
}

/*
 * Is our own AAAA the one LLQ refused? It is watched when the server allows
 * it (a takeover of our name is then seen at once); a server short of LLQs
 * is no reason to poll for it: the next refresh of our records tells too.
 */
static bool only_self_refused(const struct atd_watch *w, const struct dnsc_llq_counts *cnt)
{
	unsigned refused = 0;
	int i;

	/* our punch requests alike: a peer that wants a tunnel also sends checks, which start ours */
	i = dnsc_llq_find(w->llq, &w->view->self, DNS_TYPE_AAAA);
	refused += i >= 0 && w->llq->q[i].state == DNSC_LLQ_FAILED;
	i = dnsc_llq_find(w->llq, &w->view->punch_name, DNS_TYPE_TXT);
	refused += i >= 0 && w->llq->q[i].state == DNSC_LLQ_FAILED;
	return refused > 0 && cnt->wanted == cnt->up + refused;
}

/* The timers' LLQ action is answered once every LLQ has its answer. */
static void settle(struct atd_watch *w)
{
	struct dnsc_llq_counts cnt;

	if (w->llq_action != AGENT_ACT_NONE && push_mode(w)) {
		struct dnsc_push_counts pc;

		/* answered once every subscription is acknowledged (a refusal falls back to LLQ) */
		if (!dnsc_push_ready(w->push))
			return;
		dnsc_push_counts(w->push, &pc);
		if (!w->ctx.t->llq_up)
			log_info("watching %u record sets of %s with DNS Push", pc.up, w->ctx.domain_text);
		/* no lease to refresh: the timers' refresh only finds the session still up */
		w->ops->llq_established(w->arg, DNSC_LLQ_LEASE);
		w->llq_action = AGENT_ACT_NONE;
		return;
	}
	if (w->llq_action == AGENT_ACT_NONE || !w->llq->connected || dnsc_llq_busy(w->llq))
		return;
	dnsc_llq_counts(w->llq, &cnt);
	if (cnt.wanted > 0 && (cnt.up == cnt.wanted || only_self_refused(w, &cnt))) {
		if (!w->ctx.t->llq_up)
			log_info("watching %u record sets of %s with LLQs", cnt.up, w->ctx.domain_text);
		/* RFC 8764 §7: refresh before the lease ends (the policy: at 80%) */
		w->ops->llq_established(w->arg, cnt.min_lease_s);
	} else {
		/* said once; the retries that follow (with back-off) are quieter */
		if (!w->ctx.t->polling)
			log_info("%u of %u LLQs refused by the server: polling meanwhile", cnt.wanted - cnt.up, cnt.wanted);
		else
			log_debug("%u of %u LLQs still refused: polling", cnt.wanted - cnt.up, cnt.wanted);
		w->ops->llq_failed(w->arg);
	}
	w->llq_action = AGENT_ACT_NONE;
}

static void llq_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct lreq *lr = arg, **pp;
	struct atd_watch *w = lr->w;
	struct dnsc_llq_result *res = &w->res;
	struct dnsc_llq_counts cnt;
	char b[16];
	int rc;

	for (pp = &w->lreqs; *pp; pp = &(*pp)->next) {
		if (*pp == lr) {
			*pp = lr->next;
			break;
		}
	}
	if (err == -ECANCELED || !w->running) {
		dns_tsig_fini(&lr->t);
		free(lr);
		return;
	}
	if (err == -ECONNRESET) {
		/* the connection is gone, and every LLQ with it: watch_conn_down() takes it from here */
	} else if (err) {
		dnsc_llq_on_failure(w->llq, lr->token, clock_now_ms());
	} else {
		rc = dnsc_llq_on_response(w->llq, lr->token, msg, len, lr->id, &lr->t, clock_now_ms(), clock_wall_s(), res);
		if (rc == 0 || rc == -EBADMSG) {
			switch (res->kind) {
			case DNSC_LLQ_ESTABLISHED:
				if (dnsc_view_apply(w->view, &res->resp.msg, DNSC_APPLY_SNAPSHOT) == 0)
					view_changed(w);
				break;
			case DNSC_LLQ_REFUSED:
				if (res->server_rejected)
					log_warnx("LLQ refused: the server rejected our key (%s)",
						  dnsc_rcode_name(res->tsig_error, b));
				else
					log_debug_rl("LLQ refused: rcode %s, LLQ error %u",
						     dnsc_rcode_name(res->rcode, b), res->llq_error);
				dnsc_llq_counts(w->llq, &cnt);
				if (w->llq_action == AGENT_ACT_NONE && w->ctx.t->llq_up && !only_self_refused(w, &cnt)) {
					/* a peer's records cannot be watched: poll them, ask again later */
					log_info("an LLQ was refused (%s): polling meanwhile",
						 res->llq_error == DNS_LLQ_SERVFULL ? "server full" :
						 dnsc_rcode_name(res->rcode, b));
					w->ops->llq_failed(w->arg);
				}
				break;
			case DNSC_LLQ_LOST:
				log_debug("an LLQ was forgotten by the server: setting it up again");
				break;
			default:
				break;
			}
		}
	}
	dns_tsig_fini(&lr->t);
	free(lr);
	pump(w);
}

static void push_answer(void *arg, int err, const uint8_t *msg, size_t len);

/* Send what the Push client has to send. */
static void pump_push(struct atd_watch *w)
{
	for (int tries = 0; tries < 2 * DNSC_PUSH_MAX + 8 && dnsconn_is_up(w->ctx.llq_conn); tries++) {
		uint16_t id = dnsconn_new_id(w->ctx.llq_conn);
		struct preq *pr;
		size_t len;
		bool request;
		int rc = dnsc_push_next_message(w->push, clock_now_ms(), id ? id : 1, w->buf, sizeof(w->buf), &len,
						&request);

		if (rc == -EEXIST)
			continue;	/* an id a subscription keeps: take another */
		if (rc <= 0)
			break;
		if (!request) {
			(void)dnsconn_send(w->ctx.llq_conn, w->buf, len);
			continue;
		}
		pr = calloc(1, sizeof(*pr));
		if (!pr) {
			(void)dnsc_push_on_response(w->push, id ? id : 1, NULL, 0, clock_now_ms());
			break;
		}
		pr->w = w;
		pr->id = id ? id : 1;
		pr->next = w->preqs;
		w->preqs = pr;
		if (dnsconn_request(w->ctx.llq_conn, w->buf, len, push_answer, pr)) {
			w->preqs = pr->next;
			free(pr);
			/* counted as unanswered: Push is given up for a while */
			(void)dnsc_push_on_response(w->push, id ? id : 1, NULL, 0, clock_now_ms());
			break;
		}
	}
}

static void pump(struct atd_watch *w)
{
	size_t len;

	if (!w->running || !w->ctx.llq_conn)
		return;
	pump_push(w);
	while (dnsconn_is_up(w->ctx.llq_conn)) {
		struct lreq *lr = calloc(1, sizeof(*lr));
		int rc;

		if (!lr)
			break;
		lr->w = w;
		lr->id = dnsconn_new_id(w->ctx.llq_conn);
		rc = dnsc_llq_next_request(w->llq, clock_now_ms(), lr->id, &lr->t, clock_wall_s(), w->buf, sizeof(w->buf),
					   &len, &lr->token);
		if (rc <= 0) {
			free(lr);
			break;
		}
		lr->next = w->lreqs;
		w->lreqs = lr;
		if (dnsconn_request(w->ctx.llq_conn, w->buf, len, llq_answer, lr)) {
			w->lreqs = lr->next;
			dnsc_llq_on_failure(w->llq, lr->token, clock_now_ms());
			dns_tsig_fini(&lr->t);
			free(lr);
		}
	}
	rearm_llq(w);
	settle(w);
}

/* Watch with LLQ on this connection (Push not offered, refused or held off). */
static void use_llq(struct atd_watch *w)
{
	if (!dnsconn_is_up(w->ctx.llq_conn))
		return;
	if (!w->llq->connected)
		dnsc_llq_connected(w->llq, clock_now_ms());
	dnsc_llq_retry_now(w->llq);
	/* what the timers believe is up must be seen set up again: settle() reports it */
	if (w->llq_action == AGENT_ACT_NONE && w->ctx.t->llq_up)
		w->llq_action = AGENT_ACT_LLQ_SETUP;
	view_changed(w);
}

static void push_outcome(struct atd_watch *w, enum dnsc_push_outcome o)
{
	char b[16];

	switch (o) {
	case DNSC_PUSH_SUBSCRIBED:
	case DNSC_PUSH_SESSION:
		if (push_up(w) && w->llq->connected)
			view_changed(w);	/* back from LLQ: the LLQs are cancelled */
		break;
	case DNSC_PUSH_CHANGED:
		view_changed(w);
		break;
	case DNSC_PUSH_ABORT:
		log_debug_rl("a DNS Push message from the server broke the protocol");
		dnsc_push_hold(w->push, clock_now_ms(), w->push->cfg.retry_ms);
		/* fall through */
	case DNSC_PUSH_FALLBACK:
		log_info("DNS Push %s (%s): watching with LLQ, Push again in %u s",
			 o == DNSC_PUSH_ABORT ? "failed" : "refused or ended by the server",
			 dnsc_rcode_name(w->push->held_rcode, b),
			 (unsigned)((w->push->retry_ms - clock_now_ms()) / 1000));
		use_llq(w);
		break;
	default:
		break;
	}
}

static void push_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct preq *pr = arg, **pp;
	struct atd_watch *w = pr->w;
	enum dnsc_push_outcome o;

	for (pp = &w->preqs; *pp; pp = &(*pp)->next) {
		if (*pp == pr) {
			*pp = pr->next;
			break;
		}
	}
	/* a lost connection: atd_watch_conn_down() takes it from here */
	if (err == -ECANCELED || err == -ECONNRESET || !w->running) {
		free(pr);
		return;
	}
	o = dnsc_push_on_response(w->push, pr->id, err ? NULL : msg, err ? 0 : len, clock_now_ms());
	free(pr);
	push_outcome(w, o);
	pump(w);
}

/* The answer to the signed SOA query that authenticates the session. */
static void push_auth_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_watch *w = arg;

	if (err == -ECANCELED || !w->running || w->push_srv != PUSH_SRV_OFFERED || !dnsconn_is_up(w->ctx.llq_conn))
		return;
	if (err == 0 && r && r->is_signed && r->rcode == DNS_RCODE_NOERROR) {
		dnsc_push_authenticated(w->push);
	} else {
		log_info("DNS Push: the signed query on the connection failed (%s): watching with LLQ", why);
		dnsc_push_hold(w->push, clock_now_ms(), w->push->cfg.retry_ms);
		use_llq(w);
	}
	pump(w);
}

/* Push is (again) to be used on this connection: the server must know whose session it is. */
static void push_auth(struct atd_watch *w)
{
	if (dnsquery_send(w->ctx.queries, w->ctx.llq_conn, w->ctx.key, w->ctx.domain, DNS_TYPE_SOA, push_auth_answer,
			  w)) {
		dnsc_push_hold(w->push, clock_now_ms(), w->push->cfg.retry_ms);
		use_llq(w);
	}
}

/* The answer to the SRV query of this connection. */
static void push_srv_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	static struct dnsc_resp r;
	struct atd_watch *w = arg;
	bool offered = false;

	if (err == -ECANCELED || !w->running || w->push_srv != PUSH_SRV_ASKING)
		return;
	if (!dnsconn_is_up(w->ctx.llq_conn)) {
		w->push_srv = PUSH_SRV_UNKNOWN;
		return;
	}
	if (err == 0 && dnsc_resp_open(&r, msg, len, w->srv_id, &w->srv_q, DNS_TYPE_SRV, NULL, clock_wall_s()) == 0 &&
	    r.rcode == DNS_RCODE_NOERROR) {
		struct dnsc_rr rr;
		unsigned pos = 0;

		while (!offered && dnsc_rr_next(&r.msg, &pos, &rr) == 1)
			offered = rr.sec == DNS_SEC_ANSWER && rr.type == DNS_TYPE_SRV;
	}
	if (!offered) {
		log_debug("no DNS Push on the server: watching with LLQ");
		w->push_srv = PUSH_SRV_ABSENT;
		use_llq(w);
		pump(w);
		return;
	}
	w->push_srv = PUSH_SRV_OFFERED;
	dnsc_push_connected(w->push, clock_now_ms());
	if (dnsc_push_active(w->push))
		push_auth(w);
	else
		use_llq(w);	/* held off after a refusal or a Retry Delay: LLQ meanwhile */
	view_changed(w);
}

/* RFC 8765 §6.1: does the server offer Push? Asked on the connection the watching uses. */
static int push_srv_ask(struct atd_watch *w)
{
	size_t len;
	int rc;

	w->srv_q = *w->ctx.domain;
	if (dns_name_prepend_label(&w->srv_q, "_tcp", 4) || dns_name_prepend_label(&w->srv_q, "_dns-push-tls", 13))
		return -EINVAL;
	w->srv_id = dnsconn_new_id(w->ctx.llq_conn);
	rc = dnsc_query_build(w->buf, sizeof(w->buf), &len, w->srv_id, &w->srv_q, DNS_TYPE_SRV, NULL, NULL,
			      clock_wall_s());
	return rc ? rc : dnsconn_request(w->ctx.llq_conn, w->buf, len, push_srv_answer, w);
}

static void llq_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_watch *w = arg;
	bool was_active = dnsc_push_active(w->push);

	(void)fd, (void)what;
	dnsc_llq_tick(w->llq, clock_now_ms());
	dnsc_push_tick(w->push, clock_now_ms());
	if (!was_active && dnsc_push_active(w->push) && w->push_srv == PUSH_SRV_OFFERED && w->push->connected) {
		log_info("trying DNS Push again");
		push_auth(w);
	}
	pump(w);
}

int atd_watch_notes_set(struct atd_watch *w, const char *const *names, size_t n, bool renew)
{
	struct dns_name nn[DNSC_VIEW_NOTE_MAX];
	bool same;

	if (!w)
		return -ENOENT;
	if (n > DNSC_VIEW_NOTE_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		if (dns_name_from_text(&nn[i], names[i]))
			return -EINVAL;
		dns_name_canonicalize(&nn[i]);
	}
	same = n == w->nnotes && renew == w->renew;
	for (size_t i = 0; same && i < n; i++)
		same = dns_name_equal(&nn[i], &w->notes[i]);
	if (same)
		return 0;
	if (w->running) {
		int rc = dnsc_view_notes_set(w->view, nn, n);

		if (rc)
			return rc;
		w->view->watch_renew = renew;
	}
	memcpy(w->notes, nn, n * sizeof(nn[0]));
	w->nnotes = n;
	w->renew = renew;
	if (w->running)
		view_changed(w);
	return 0;
}

void atd_watch_llq_due(struct atd_watch *w, bool refresh)
{
	enum agent_action a = refresh ? AGENT_ACT_LLQ_REFRESH : AGENT_ACT_LLQ_SETUP;

	if (!w->running) {
		w->ops->llq_failed(w->arg);
		return;
	}
	w->llq_action = a;
	if (!dnsconn_is_up(w->ctx.llq_conn)) {
		/* connect; atd_watch_conn_up() sets the LLQs up, atd_watch_conn_down() reports a failure */
		dnsconn_kick(w->ctx.llq_conn);
		return;
	}
	if (a == AGENT_ACT_LLQ_REFRESH)
		dnsc_llq_refresh_all(w->llq);
	else
		dnsc_llq_retry_now(w->llq);
	pump(w);
}

void atd_watch_conn_up(struct atd_watch *w)
{
	if (!w || !w->running)
		return;
	w->conn_lost_s = 0;
	w->push_srv = PUSH_SRV_ASKING;
	if (push_srv_ask(w)) {
		w->push_srv = PUSH_SRV_ABSENT;
		use_llq(w);
	}
	pump(w);
}

void atd_watch_conn_down(struct atd_watch *w)
{
	bool was_push;

	if (!w || !w->running)
		return;
	/* for `autotunnel status`: "server lost since 14:03:27" (the first failure, not each retry's) */
	if (!w->conn_lost_s)
		w->conn_lost_s = clock_wall_s();
	was_push = push_up(w);
	dnsc_llq_disconnected(w->llq);
	dnsc_push_disconnected(w->push);
	w->push_srv = PUSH_SRV_UNKNOWN;
	rearm_llq(w);
	/* RFC 6281 §5.3: without LLQs, poll (at once) and set them up again with back-off */
	if (w->ctx.t->llq_up) {
		log_info("%s lost with the connection to the server: polling until it is back",
			 was_push ? "DNS Push" : "LLQs");
		w->llq_action = AGENT_ACT_NONE;
		w->ops->llq_lost(w->arg);
	} else if (w->llq_action != AGENT_ACT_NONE) {
		w->llq_action = AGENT_ACT_NONE;
		w->ops->llq_failed(w->arg);
	}
}

void atd_watch_unsolicited(struct atd_watch *w, const uint8_t *msg, size_t len)
{
	struct dnsc_llq_result *res;
	size_t alen;
	int rc;

	if (!w || !w->running)
		return;
	if (dso_is_dso(msg, len)) {
		push_outcome(w, dnsc_push_on_message(w->push, msg, len, clock_now_ms(), w->view));
		pump(w);
		return;
	}
	res = &w->res;
	rc = dnsc_llq_on_event(w->llq, msg, len, clock_now_ms(), clock_wall_s(), res, w->ack, sizeof(w->ack), &alen);
	if (rc == -EACCES) {
		log_debug_rl("an LLQ event failed TSIG verification: ignored");
		return;
	}
	if (rc)
		return;
	/* RFC 8764 §6.2: acknowledge, or the server sends it again and then drops the LLQ */
	(void)dnsconn_send(w->ctx.llq_conn, w->ack, alen);
	if (dnsc_view_apply(w->view, &res->resp.msg, DNSC_APPLY_EVENT) == 0)
		view_changed(w);
}

/* ---- polling (LLQ down) ---- */

static void poll_answer(void *arg, int err, const struct dnsc_resp *r, const char *why);

static void poll_end(struct atd_watch *w)
{
	w->poll_phase = 0;
	view_changed(w);
	w->ops->poll_done(w->arg);
}

static void poll_ask(struct atd_watch *w, const struct dnsc_question *q)
{
	if (dnsquery_send(w->ctx.queries, w->ctx.conn, w->ctx.key, &q->name, q->type, poll_answer, w) == 0)
		w->poll_out++;
}

static void poll_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_watch *w = arg;

	(void)why;
	if (err == -ECANCELED)
		return;
	w->poll_out--;
	if (err == 0 && r && dnsc_view_apply(w->view, &r->msg, DNSC_APPLY_SNAPSHOT))
		log_debug_rl("an answer about a host could not be read");
	if (w->poll_out > 0)
		return;
	if (w->poll_phase == 1) {
		/* the host list is in: now each host's records */
		size_t n = dnsc_view_questions(w->view, w->qs, DNSC_LLQ_MAX);

		w->poll_phase = 2;
		for (size_t i = 1; i < n && i < DNSC_LLQ_MAX; i++)
			poll_ask(w, &w->qs[i]);
		if (w->poll_out > 0)
			return;
	}
	poll_end(w);
}

void atd_watch_poll_due(struct atd_watch *w)
{
	struct dnsc_question q;

	if (!w->running || w->poll_phase) {
		w->ops->poll_done(w->arg);
		return;
	}
	log_debug("polling the account's records (LLQ is down)");
	w->poll_phase = 1;
	w->poll_out = 0;
	q.name = w->view->hosts_name;
	q.type = DNS_TYPE_PTR;
	poll_ask(w, &q);
	if (w->poll_out == 0)
		poll_end(w);
}

/* ---- lifecycle ---- */

struct atd_watch *atd_watch_new(struct event_base *base, const struct atd_watch_ops *ops, void *arg)
{
	struct atd_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->ops = ops;
	w->arg = arg;
	w->llq = calloc(1, sizeof(*w->llq));
	w->push = calloc(1, sizeof(*w->push));
	w->view = calloc(1, sizeof(*w->view));
	w->llq_ev = evtimer_new(base, llq_timer_cb, w);
	w->report_ev = event_new(base, -1, 0, report_cb, w);
	if (!w->llq || !w->push || !w->view || !w->llq_ev || !w->report_ev) {
		atd_watch_free(w);
		return NULL;
	}
	return w;
}

static void browse_fail_all(struct atd_watch *w, int err, const char *msg);

void atd_watch_free(struct atd_watch *w)
{
	if (!w)
		return;
	atd_watch_stop(w);
	browse_fail_all(w, -ECANCELED, "the agent is stopping");
	if (w->llq_ev)
		event_free(w->llq_ev);
	if (w->report_ev)
		event_free(w->report_ev);
	free(w->llq);
	free(w->push);
	free(w->view);
	free(w);
}

int atd_watch_start(struct atd_watch *w, const struct atd_watch_ctx *ctx)
{
	struct dnsc_llq_cfg cfg;
	int rc;

	if (!w)
		return -ENOENT;
	if (w->running)
		return 0;
	w->ctx = *ctx;
	dnsc_llq_cfg_default(&cfg);
	dnsc_llq_init(w->llq, &cfg, w->ctx.key);
	dnsc_push_init(w->push, NULL);
	w->push_srv = PUSH_SRV_UNKNOWN;
	rc = dnsc_view_init(w->view, w->ctx.domain_text, w->ctx.host);
	if (rc)
		return rc;
	w->view->watch_self = true;
	w->view->watch_paths = true;	/* issue 11: the peers' candidates, our punch requests */
	w->view->watch_renew = w->renew;
	if (dnsc_view_notes_set(w->view, w->notes, w->nnotes))
		w->nnotes = 0;
	w->self_known = false;
	w->conn_lost_s = 0;
	w->running = true;
	w->llq_action = AGENT_ACT_NONE;
	w->poll_phase = 0;
	/* the host list first; the rest follows from what it holds */
	view_changed(w);
	if (dnsconn_is_up(w->ctx.llq_conn))
		atd_watch_conn_up(w);
	return 0;
}

void atd_watch_stop(struct atd_watch *w)
{
	if (!w || !w->running)
		return;
	w->running = false;
	/* answers still out are dropped */
	while (w->lreqs) {
		struct lreq *lr = w->lreqs;

		w->lreqs = lr->next;
		if (w->ctx.llq_conn)
			dnsconn_cancel(w->ctx.llq_conn, lr);	/* frees it through llq_answer */
		else {
			dns_tsig_fini(&lr->t);
			free(lr);
		}
	}
	while (w->preqs) {
		struct preq *pr = w->preqs;

		w->preqs = pr->next;
		if (w->ctx.llq_conn)
			dnsconn_cancel(w->ctx.llq_conn, pr);	/* frees it through push_answer */
		else
			free(pr);
	}
	if (w->ctx.llq_conn)
		dnsconn_cancel(w->ctx.llq_conn, w);	/* the SRV query */
	dnsquery_cancel(w->ctx.queries, w);
	w->poll_phase = 0;
	w->poll_out = 0;
	evtimer_del(w->llq_ev);
	event_del(w->report_ev);
	dnsc_llq_fini(w->llq);
	memset(w->view, 0, sizeof(*w->view));
}

void atd_watch_status(const struct atd_watch *w, struct atd_watch_status *st)
{
	struct dnsc_llq_counts cnt;
	uint64_t now = clock_now_ms();

	memset(st, 0, sizeof(*st));
	st->last_event_age_s = UINT32_MAX;
	if (!w || !w->running)
		return;
	dnsc_llq_counts(w->llq, &cnt);
	st->running = true;
	st->llqs = cnt.wanted;
	st->llqs_up = cnt.up;
	st->llq_up = w->ctx.t->llq_up;
	st->polling = w->ctx.t->polling;
	if (st->polling)
		st->lost_since = w->conn_lost_s;
	st->push = push_up(w);
	st->hosts = dnsc_view_count(w->view);
	st->events = w->llq->events;
	if (w->llq->last_event_ms && now >= w->llq->last_event_ms)
		st->last_event_age_s = (uint32_t)((now - w->llq->last_event_ms) / 1000);
}

void atd_watch_write_hosts(const struct atd_watch *w, const struct atd_local_info *li,
			   struct agent_ctl_writer *cw)
{
	bool self_seen = false;

	if (!w || !w->running)
		return;
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		const struct dnsc_host *h = &w->view->h[i];

		if (!h->used || !h->listed)
			continue;
		agent_ctl_write_rec(cw, AGENT_CTL_R_HOST);
		agent_ctl_write_str(cw, AGENT_CTL_F_LABEL, h->label);
		agent_ctl_write_str(cw, AGENT_CTL_F_FQDN, h->name);
		if (h->self) {
			self_seen = true;
			if (li)
				agent_ctl_write_ip6(cw, AGENT_CTL_F_ULA, li->ula);
			if (li && li->has_external) {
				agent_ctl_write_ip4(cw, AGENT_CTL_F_OUTER, li->external4);
				agent_ctl_write_uint(cw, AGENT_CTL_F_PORT, li->port);
			}
		} else {
			if (h->has_ula)
				agent_ctl_write_ip6(cw, AGENT_CTL_F_ULA, h->ula);
			if (h->has_srv && h->has_a) {
				agent_ctl_write_ip4(cw, AGENT_CTL_F_OUTER, h->a);
				agent_ctl_write_uint(cw, AGENT_CTL_F_PORT, h->port);
			}
		}
		if (h->model[0])
			agent_ctl_write_str(cw, AGENT_CTL_F_MODEL, h->model);
		if (h->os[0])
			agent_ctl_write_str(cw, AGENT_CTL_F_OS, h->os);
		agent_ctl_write_bool(cw, AGENT_CTL_F_SELF, h->self);
	}
	if (!self_seen) {
		/* not (yet) in the host list the server gave us: still us */
		agent_ctl_write_rec(cw, AGENT_CTL_R_HOST);
		agent_ctl_write_str(cw, AGENT_CTL_F_LABEL, w->ctx.host);
		agent_ctl_write_str(cw, AGENT_CTL_F_FQDN, w->ctx.fqdn);
		if (li)
			agent_ctl_write_ip6(cw, AGENT_CTL_F_ULA, li->ula);
		agent_ctl_write_bool(cw, AGENT_CTL_F_SELF, true);
	}
}

/* ---- DNS-SD browsing (RFC 6763) ---- */

#define BROWSE_TYPES 32
#define BROWSE_INSTANCES 256

struct bq {
	struct bq *next;
	struct browse *b;
	int kind;		/* 0 types, 1 instances of a type, 2 SRV, 3 TXT */
	unsigned idx;
	uint8_t *copy;		/* the answer, kept for SRV/TXT */
	size_t len;
};

struct browse {
	struct browse *next;
	struct atd_watch *w;
	atd_services_fn cb;
	void *arg;
	int out;
	struct bq *bqs;		/* queries out */
	bool failed;
	int err;
	char msg[200];
	struct dns_name types[BROWSE_TYPES];
	unsigned ntypes;
	struct dns_name inst[BROWSE_INSTANCES];
	unsigned ninst;
	struct dns_msg *srv[BROWSE_INSTANCES], *txt[BROWSE_INSTANCES];
	uint8_t *srvbuf[BROWSE_INSTANCES], *txtbuf[BROWSE_INSTANCES];
	struct dnsc_service sv[BROWSE_INSTANCES];
};

static void bq_unlink(struct browse *b, struct bq *x)
{
	for (struct bq **pp = &b->bqs; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			return;
		}
	}
}

static void browse_free(struct browse *b)
{
	struct atd_watch *w = b->w;

	while (b->bqs) {
		struct bq *x = b->bqs;

		b->bqs = x->next;
		dnsquery_cancel(w->ctx.queries, x);
		free(x);
	}

	for (struct browse **pp = &w->browses; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	for (unsigned i = 0; i < BROWSE_INSTANCES; i++) {
		free(b->srv[i]);
		free(b->txt[i]);
		free(b->srvbuf[i]);
		free(b->txtbuf[i]);
	}
	free(b);
}

static void browse_answer(void *arg, int err, const struct dnsc_resp *r, const char *why);

static void browse_ask(struct browse *b, const struct dns_name *q, uint16_t type, int kind, unsigned idx)
{
	struct atd_watch *w = b->w;
	struct bq *x = calloc(1, sizeof(*x));

	if (!x)
		return;
	x->b = b;
	x->kind = kind;
	x->idx = idx;
	if (dnsquery_send(w->ctx.queries, w->ctx.conn, w->ctx.key, q, type, browse_answer, x)) {
		free(x);
		return;
	}
	x->next = b->bqs;
	b->bqs = x;
	b->out++;
}

static void browse_finish(struct browse *b)
{
	struct atd_watch *w = b->w;
	size_t n = 0;

	for (unsigned i = 0; i < b->ninst; i++)
		if (dnsc_sd_instance(&b->sv[n], &b->inst[i], w->ctx.domain, b->srv[i], b->txt[i]) == 0 &&
		    b->sv[n].has_srv)
			n++;
	if (b->cb)
		b->cb(b->arg, b->failed && n == 0 ? b->err : 0, b->msg, b->sv, n);
	browse_free(b);
}

/* Keep a copy of an answer (the resp borrows a buffer that is gone after the call). */
static struct dns_msg *keep(const struct dnsc_resp *r, uint8_t **buf)
{
	struct dns_msg *m = malloc(sizeof(*m));

	*buf = malloc(r->msg.len ? r->msg.len : 1);
	if (m && *buf) {
		memcpy(*buf, r->msg.buf, r->msg.len);
		if (dns_msg_parse(m, *buf, r->msg.len) == 0)
			return m;
	}
	free(m);
	free(*buf);
	*buf = NULL;
	return NULL;
}

static void browse_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct bq *x = arg;
	struct browse *b = x->b;
	struct atd_watch *w = b->w;
	struct dns_name got[BROWSE_INSTANCES];
	int n;

	bq_unlink(b, x);
	if (err == -ECANCELED) {
		free(x);
		if (--b->out == 0)
			browse_finish(b);
		return;
	}
	b->out--;
	if (err || !r || r->rcode != DNS_RCODE_NOERROR) {
		if (err && !b->failed) {
			b->failed = true;
			b->err = err;
			snprintf(b->msg, sizeof(b->msg), "browsing failed: %s", why);
		}
	} else if (x->kind == 0 || x->kind == 1) {
		n = dnsc_sd_ptrs(&r->msg, w->ctx.domain, got, BROWSE_INSTANCES);
		for (int i = 0; i < n && i < BROWSE_INSTANCES; i++) {
			if (x->kind == 0) {
				bool dup = false;

				for (unsigned j = 0; j < b->ntypes && !dup; j++)
					dup = dns_name_equal(&b->types[j], &got[i]);
				if (!dup && b->ntypes < BROWSE_TYPES) {
					b->types[b->ntypes] = got[i];
					browse_ask(b, &got[i], DNS_TYPE_PTR, 1, b->ntypes++);
				}
			} else if (b->ninst < BROWSE_INSTANCES) {
				unsigned k = b->ninst++;

				b->inst[k] = got[i];
				browse_ask(b, &got[i], DNS_TYPE_SRV, 2, k);
				browse_ask(b, &got[i], DNS_TYPE_TXT, 3, k);
			}
		}
	} else if (x->kind == 2) {
		b->srv[x->idx] = keep(r, &b->srvbuf[x->idx]);
	} else {
		b->txt[x->idx] = keep(r, &b->txtbuf[x->idx]);
	}
	free(x);
	if (b->out == 0)
		browse_finish(b);
}

int atd_services_browse(struct atd_watch *w, atd_services_fn cb, void *arg)
{
	struct browse *b;
	struct dns_name q;

	if (!w || !w->running || !w->ctx.conn)
		return -ENOENT;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->w = w;
	b->cb = cb;
	b->arg = arg;
	b->next = w->browses;
	w->browses = b;
	b->out = 1;	/* held while the questions go out */
	/* RFC 6763 §9: the types the account enumerates, and the common ones */
	q = *w->ctx.domain;
	if (dns_name_prepend_label(&q, "_udp", 4) == 0 && dns_name_prepend_label(&q, "_dns-sd", 7) == 0 &&
	    dns_name_prepend_label(&q, "_services", 9) == 0)
		browse_ask(b, &q, DNS_TYPE_PTR, 0, 0);
	for (size_t i = 0; i < dnsc_sd_n_common_types && b->ntypes < BROWSE_TYPES; i++) {
		char text[300];

		snprintf(text, sizeof(text), "%s.%s", dnsc_sd_common_types[i], w->ctx.domain_text);
		if (dns_name_from_text(&q, text))
			continue;
		b->types[b->ntypes] = q;
		browse_ask(b, &q, DNS_TYPE_PTR, 1, b->ntypes++);
	}
	if (--b->out == 0) {
		/* nothing could be asked */
		snprintf(b->msg, sizeof(b->msg), "browsing failed: %s", dnsconn_last_error(w->ctx.conn));
		b->failed = true;
		b->err = -EIO;
		b->cb = NULL;
		browse_free(b);
		return -EIO;
	}
	return 0;
}

void atd_services_forget(struct atd_watch *w, void *arg)
{
	for (struct browse *b = w ? w->browses : NULL; b; b = b->next)
		if (b->arg == arg)
			b->cb = NULL;
}

static void browse_fail_all(struct atd_watch *w, int err, const char *msg)
{
	while (w->browses) {
		struct browse *b = w->browses;
		atd_services_fn cb = b->cb;

		b->cb = NULL;
		if (cb)
			cb(b->arg, err, msg, NULL, 0);
		browse_free(b);
	}
}

void atd_services_write(struct agent_ctl_writer *cw, const struct dnsc_service *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agent_ctl_write_rec(cw, AGENT_CTL_R_SERVICE);
		agent_ctl_write_str(cw, AGENT_CTL_F_INSTANCE, s[i].instance);
		agent_ctl_write_str(cw, AGENT_CTL_F_TYPE, s[i].type);
		agent_ctl_write_str(cw, AGENT_CTL_F_HOST, s[i].host);
		agent_ctl_write_uint(cw, AGENT_CTL_F_PORT, s[i].port);
		if (s[i].txt[0])
			agent_ctl_write_str(cw, AGENT_CTL_F_TXT, s[i].txt);
	}
}
