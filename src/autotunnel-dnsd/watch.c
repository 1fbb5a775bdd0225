/*
 * The LLQ glue (watch.h): decodes LLQ requests and acknowledgements for
 * lib/llq's state machine, answers with the LLQ option (and the current
 * answers on ACK), and sends the events the machine queues, signed with
 * the account's key when the LLQ is private, through the fan-out
 * (fanout.h) that sends them on every core.
 */
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/tsig.h"
#include "autotunnel-dnsd/shed.h"
#include "llq/llq.h"
#include "util/random.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/evsign.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/watch.h"
#include "autotunnel-dnsd/zone.h"

#define WATCH_OUT_MAX (65535 + 1024)

struct watch {
	struct dnsd *d;
	struct stats *st;
	struct llq_server *llq;
	struct fanout *fanout;		/* LLQ events on their way out (fanout.h) */
	const struct transport_ops *ops;
	void *arg;
	int udp_fd[DNSD_MAX_ADDRS];	/* a socket per local address, for events */
	int n_udp;
	uint8_t *out;			/* WATCH_OUT_MAX bytes for answers and events */
};

_Static_assert(FANOUT_LOCALS >= DNSD_MAX_ADDRS, "a fan-out job per local address");

static void peer_from(struct llq_peer *p, const struct transport_src *it)
{
	memset(p, 0, sizeof(*p));
	if (it->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&it->peer;

		p->family = 6;
		memcpy(p->addr, &s6->sin6_addr, 16);
		p->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&it->peer;

		p->family = 4;
		memcpy(p->addr, &s4->sin_addr, 4);
		p->port = ntohs(s4->sin_port);
	}
	p->conn = it->conn;
	p->local = it->local;
}

static socklen_t peer_to(const struct llq_peer *p, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (p->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p->addr, 16);
		s6->sin6_port = htons(p->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, p->addr, 4);
	s4->sin_port = htons(p->port);
	return sizeof(*s4);
}

/* One event message: the LLQ's question, the changed RRs, the LLQ option. */
/*
 * The last event built, without its TSIG: the events of one change to many
 * watchers of one question differ only in the message id, the LLQ id and
 * the lease, so the next one is a copy with those patched (RFC 8764 §6.1
 * layout: the LLQ option is the only one, last in the message). Valid only
 * within one flush: the blob is kept alive there.
 */
struct event_tmpl {
	const struct llq_blob *blob;
	struct llq_question q;
	uint32_t owner;		/* the TSIG room reserved depends on the key */
	bool stream;
	size_t len;
	uint8_t buf[DNS_EDNS_SERVER_UDP];
};

static struct event_tmpl tmpl;	/* engine thread only */

static bool tmpl_fits(const struct llq_out *o)
{
	return tmpl.blob == o->blob && tmpl.owner == o->owner && tmpl.stream == (o->peer.conn != 0) &&
	       tmpl.q.qtype == o->q.qtype &&
	       tmpl.q.qclass == o->q.qclass && tmpl.q.name_len == o->q.name_len &&
	       memcmp(tmpl.q.name, o->q.name, o->q.name_len) == 0;
}

/* Build the unsigned event into w->out; @return its length or 0. */
static size_t build_event(struct watch *w, const struct llq_out *o, size_t tsig_room)
{
	struct dns_builder b;
	struct dns_name qn, owner;
	struct dns_llq llq = { .version = DNS_EDNS_LLQ_VERSION, .opcode = DNS_LLQ_EVENT,
			       .error = DNS_LLQ_NOERROR, .id = o->id, .lease = o->lease_s };
	struct wire r = wire_reader(o->blob->data, o->blob->len);
	size_t len;

	if (tmpl_fits(o)) {
		struct wire c = wire_writer(w->out, WATCH_OUT_MAX);

		memcpy(w->out, tmpl.buf, tmpl.len);
		wire_seek(&c, tmpl.len);
		wire_patch_u16(&c, 0, o->msg_id);
		/* the LLQ option data ends the message: ... LLQ-ID u64, LEASE-LIFE u32 */
		wire_patch_u32(&c, tmpl.len - 12, (uint32_t)(o->id >> 32));
		wire_patch_u32(&c, tmpl.len - 8, (uint32_t)o->id);
		wire_patch_u32(&c, tmpl.len - 4, o->lease_s);
		return wire_err(&c) ? 0 : tmpl.len;
	}
	if (dns_name_from_wire(&qn, o->q.name, o->q.name_len))
		return 0;
	dns_builder_init(&b, w->out, WATCH_OUT_MAX, o->peer.conn ? DNS_MSG_MAX_LEN : DNS_EDNS_SERVER_UDP,
			 o->msg_id, DNS_FLAG_QR | DNS_FLAG_AA);
	(void)dns_builder_question(&b, &qn, o->q.qtype, o->q.qclass);
	(void)dns_builder_section(&b, DNS_SEC_ANSWER);
	dns_builder_reserve(&b, tsig_room);
	dns_builder_edns(&b, DNS_EDNS_SERVER_UDP, 0);
	(void)dns_builder_add_llq(&b, &llq);
	while (wire_avail(&r) && !wire_err(&r)) {
		uint8_t nl = wire_read_u8(&r);
		const uint8_t *name = wire_read_ref(&r, nl);
		uint16_t type = wire_read_u16(&r);
		uint32_t ttl = wire_read_u32(&r);
		uint16_t rdlen = wire_read_u16(&r);
		const uint8_t *rd = wire_read_ref(&r, rdlen);

		if (wire_err(&r) || dns_name_from_wire(&owner, name, nl))
			break;
		/* RFC 8764 §6.1: a removed RR is sent with TTL 0xFFFFFFFF */
		(void)dns_builder_add_raw(&b, &owner, type, DNS_CLASS_IN, ttl, rd, rdlen);
	}
	if (dns_builder_finish(&b, &len))
		return 0;
	if (len <= sizeof(tmpl.buf)) {
		tmpl.blob = o->blob;
		tmpl.owner = o->owner;
		tmpl.q = o->q;
		tmpl.stream = o->peer.conn != 0;
		tmpl.len = len;
		memcpy(tmpl.buf, w->out, len);
	}
	return len;
}

static void send_event(struct watch *w, const struct llq_out *o)
{
	struct account *acc = NULL;
	size_t len;

	if (o->owner) {
		/* the account table is the engine's to change; only evsign's cache is written */
		acc = (struct account *)(uintptr_t)accounts_by_id(w->d->accounts, o->owner);
		if (!acc)
			return;	/* the account is gone: so is its right to events */
	}
	len = build_event(w, o, acc ? evsign_space(acc) : 0);
	if (!len || (acc && evsign(acc, w->out, len, WATCH_OUT_MAX, &len, clock_wall_s())))
		return;
	if (o->peer.conn) {
		struct transport_src to = { .t = Q_TCP, .conn = o->peer.conn };

		w->ops->reply(w->arg, &to, w->out, len);
	} else if (o->peer.local < (uint32_t)w->n_udp) {
		struct sockaddr_storage ss;
		socklen_t sl = peer_to(&o->peer, &ss);

		/* sent by whichever thread takes its job (fanout.h) */
		if (fanout_add(w->fanout, o->peer.local, w->out, len, (struct sockaddr *)&ss, sl)) {
			stat_inc(w->st, STAT_llq_events_unsent);
			return;
		}
	}
	stat_inc(w->st, STAT_llq_events_sent);
}

/* Build and queue every event the machine has, then send with the workers. */
static size_t flush(struct watch *w, uint64_t *built_ns)
{
	struct llq_out o;
	size_t sent;

	while (llq_server_pop(w->llq, &o)) {
		send_event(w, &o);
		llq_blob_put(o.blob);
	}
	tmpl.blob = NULL;	/* blobs die after the flush: their addresses come back */
	/* the last jobs go on the queue, and the engine sends with the workers
	 * until it is empty (alone when there are none) */
	fanout_flush(w->fanout);
	if (built_ns)
		*built_ns = clock_now_ns();
	sent = fanout_run(w->fanout, w->udp_fd, (size_t)w->n_udp, w->st);
	return sent;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void watch_notify(struct watch *w, const uint8_t *lname, size_t len, uint16_t type,
		  const uint8_t *rrs, size_t rrs_len)
{
	struct llq_blob *b = llq_blob_new(rrs, rrs_len);
	bool timed = log_getlevel() >= LOG_LEVEL_DEBUG;
	uint64_t t0 = 0, t1 = 0, t2 = 0;
	double c0 = 0;
	size_t by_engine;
	int n;

	if (!b)
		return;
	if (timed) {
		t0 = clock_now_ns();
		c0 = cpu_ms();
	}
	n = llq_server_notify(w->llq, lname, len, type, DNS_CLASS_IN, b, clock_now_ms());
	if (n < 0)
		log_warnx("out of memory queueing LLQ events");
	llq_blob_put(b);
	if (timed)
		t1 = clock_now_ns();
	by_engine = flush(w, &t2);
	if (timed && n > 0)
		log_debug("LLQ: %d events: queued in %.2f ms, built by %.2f ms, the engine sent %zu "
			  "and found the queue empty at %.2f ms (%.2f ms of engine CPU)", n,
			  (double)(t1 - t0) / 1e6, (double)(t2 - t0) / 1e6, by_engine,
			  (double)(clock_now_ns() - t0) / 1e6, cpu_ms() - c0);
}

void watch_tick(struct watch *w)
{
	llq_server_tick(w->llq, clock_now_ms());
	(void)flush(w, NULL);
}

void watch_handle(struct watch *w, struct qscratch *s, const struct transport_src *it)
{
	const struct dns_msg *m = &s->msg;
	struct llq_request rq = { 0 };
	struct llq_reply rep;
	struct dns_llq llq;
	struct qreq qr;
	struct wire opt;
	size_t len;
	int rc = -EEXIST;

	stat_inc(w->st, STAT_llq_requests);
	if (dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) || dns_llq_parse(&opt, &llq)) {
		if (!(m->hdr.flags & DNS_FLAG_QR)) {
			stat_inc(w->st, STAT_formerr);
			len = (size_t)dns_msg_error_header(w->out, WATCH_OUT_MAX, &m->hdr, DNS_RCODE_FORMERR);
			w->ops->reply(w->arg, it, w->out, len);
		}
		return;
	}
	peer_from(&rq.peer, it);
	rq.msg_id = m->hdr.id;
	rq.version = llq.version;
	rq.opcode = llq.opcode;
	rq.error = llq.error;
	rq.id = llq.id;
	rq.lease_s = llq.lease;
	if (m->hdr.flags & DNS_FLAG_QR) {
		/* RFC 8764 §6.2: an event acknowledgement */
		rq.is_response = true;
		if (llq_server_handle(w->llq, &rq, clock_now_ms(), &rep))
			log_debug_rl("LLQ acknowledgement not handled");
		return;
	}
	/* the checks of every query: zone, class, TSIG, and privacy (RFC 6281 §7.2) */
	if (query_check(w->d, s, w->st, it->t, &qr, w->out, WATCH_OUT_MAX, &len) != Q_ENGINE) {
		if (qr.owner && !qr.tsig)
			stat_inc(w->st, STAT_llq_refused_unsigned);
		else if (qr.owner && qr.signer != qr.owner)
			stat_inc(w->st, STAT_llq_refused_wrong_key);
		w->ops->reply(w->arg, it, w->out, len);
		goto out;
	}
	memcpy(rq.q.name, qr.qname.wire, qr.qname.len);
	rq.q.name_len = qr.qname.len;
	rq.q.qtype = qr.qtype;
	rq.q.qclass = qr.qclass;
	rq.owner = qr.signer ? qr.signer->id : 0;
	if (rq.opcode == DNS_LLQ_SETUP && rq.id == 0 && w->d->shed) {
		/* a new watcher: within the budget, or told when to come back (shed.h) */
		uint64_t now = clock_now_ms();
		uint32_t r = 0;

		rq.shed = !shed_admit(w->d->shed, now);
		if (rand_bytes(&r, sizeof(r)))
			r = 0;
		/* LEASE-LIFE is in seconds: the nearest, at least 1 */
		rq.servfull_retry_s = (shed_retry_ms(w->d->shed, r) + 500) / 1000;
		if (rq.servfull_retry_s == 0)
			rq.servfull_retry_s = 1;
	}
	for (int tries = 0; tries < 4 && rc == -EEXIST; tries++) {
		/* RFC 8764 §5.2.2: the server chooses a random 64-bit id */
		if (rand_bytes(&rq.new_id, sizeof(rq.new_id)))
			break;
		rc = llq_server_handle(w->llq, &rq, clock_now_ms(), &rep);
	}
	if (rc || query_begin(w->d, s, &qr, w->out, WATCH_OUT_MAX)) {
		stat_inc(w->st, STAT_servfail);
		len = (size_t)dns_msg_error_header(w->out, WATCH_OUT_MAX, &m->hdr, DNS_RCODE_SERVFAIL);
		w->ops->reply(w->arg, it, w->out, len);
		goto out;
	}
	if (rep.error == LLQ_ERR_SERVFULL && !rq.shed && w->d->shed)
		shed_refused(w->d->shed, clock_now_ms());	/* a limit: it counts towards the next hints */
	if (rep.kind != LLQ_REPLY_NONE) {
		llq = (struct dns_llq){ .version = DNS_EDNS_LLQ_VERSION, .opcode = rep.opcode,
					.error = rep.error, .id = rep.id, .lease = rep.lease_s };
		(void)dns_builder_add_llq(&s->b, &llq);
		if (rep.kind == LLQ_REPLY_ANSWERS) {
			dns_builder_set_rcode(&s->b, query_answer(w->d, s, &qr, w->st));
			if (it->conn && w->ops->llq_live)
				w->ops->llq_live(w->arg, it->conn);
		}
		if (query_finish(w->d, s, &qr, w->out, WATCH_OUT_MAX, &len) == 0)
			w->ops->reply(w->arg, it, w->out, len);
	}
out:
	if (m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
}

uint64_t watch_next_deadline(const struct watch *w)
{
	return llq_server_next_deadline(w->llq);
}

void watch_conn_closed(struct watch *w, uint64_t conn)
{
	llq_server_conn_closed(w->llq, conn);
}

void watch_set_udp_fds(struct watch *w, const int *fds, int n)
{
	w->n_udp = 0;
	for (int i = 0; i < n && i < DNSD_MAX_ADDRS; i++)
		w->udp_fd[w->n_udp++] = fds[i];
}

void watch_print_stats(const struct watch *w, FILE *fp)
{
	struct llq_stats ls;

	llq_server_stats(w->llq, &ls);
	fprintf(fp, "llq_live %u\nllq_pending %u\nllq_clients %u\nllq_accounts %u\n", ls.live, ls.pending,
		ls.clients, ls.accounts);
	fprintf(fp, "llq_setups %llu\nllq_challenges %llu\nllq_established %llu\n"
		"llq_refreshes %llu\nllq_cancels %llu\nllq_events %llu\nllq_retransmits %llu\n"
		"llq_acks %llu\nllq_dropped_unacked %llu\nllq_dropped_overflow %llu\n"
		"llq_expired %llu\nllq_challenge_expired %llu\nllq_conn_closed %llu\n"
		"llq_servfull %llu\nllq_nosuchllq %llu\nllq_badvers %llu\nllq_formerr %llu\n",
		(unsigned long long)ls.setups, (unsigned long long)ls.challenges,
		(unsigned long long)ls.established, (unsigned long long)ls.refreshes,
		(unsigned long long)ls.cancels, (unsigned long long)ls.events,
		(unsigned long long)ls.retransmits, (unsigned long long)ls.acks,
		(unsigned long long)ls.dropped_unacked, (unsigned long long)ls.dropped_overflow,
		(unsigned long long)ls.expired, (unsigned long long)ls.challenge_expired,
		(unsigned long long)ls.conn_closed, (unsigned long long)ls.servfull,
		(unsigned long long)ls.nosuchllq, (unsigned long long)ls.badvers,
		(unsigned long long)ls.formerr);
}

struct watch *watch_new(struct dnsd *d, struct stats *st, struct fanout *f,
			const struct transport_ops *ops, void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct llq_config lc;

	if (!w)
		return NULL;
	w->d = d;
	w->st = st;
	w->fanout = f;
	w->ops = ops;
	w->arg = arg;
	llq_config_default(&lc);
	lc.lease_min_s = (uint32_t)d->cfg->llq_lease_min;
	lc.lease_max_s = (uint32_t)d->cfg->llq_lease_max;
	lc.per_client_max = (uint32_t)d->cfg->llq_per_client;
	lc.per_account_max = (uint32_t)d->cfg->llq_per_account;
	lc.global_max = (uint32_t)d->cfg->llq_max;
	lc.rto_ms = (uint32_t)d->cfg->llq_rto_ms;
	w->llq = llq_server_new(&lc);
	w->out = malloc(WATCH_OUT_MAX);
	if (!w->llq || !w->out) {
		watch_free(w);
		return NULL;
	}
	return w;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	llq_server_free(w->llq);
	free(w->out);
	free(w);
}
