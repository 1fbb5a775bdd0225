/*
 * src/autotunneld/publish.c: this host's records in the account (see
 * publish.h): built with lib/agent records, sent with lib/dnsc update; the
 * outcomes go to the account through struct atd_pub_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <event2/event.h>

#include "agent/cand.h"
#include "agent/records.h"
#include "autotunneld/dnsconn.h"
#include "autotunneld/publish.h"
#include "autotunneld/types.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"
#include "dnsc/update.h"
#include "util/random.h"

#define WITHDRAW_WAIT_MS 3000
#define SVC_NAME_MAX 16
/* the records of lib/agent/records.h and our candidates' _cand.H.D TXT (docs/paths.md §1.1) */
#define PUB_RECORDS_MAX (AGENT_RECORDS_MAX + 1)

/* A punch request's own UPDATE (docs/paths.md §1.3): beside the record set's, never in its way. */
#define PUNCH_UPDATES 8
#define PUNCH_HELD 8	/* our punch requests in the zone, deleted when we stop or sign out */

struct punch_update {
	struct atd_pub *p;
	bool used, add;
	uint16_t id;
	struct dns_tsig t;
	char name[AGENT_NAME_MAX + 1];
};

struct atd_pub {
	struct event_base *base;
	const struct atd_pub_ops *ops;
	void *arg;
	uint32_t lease_req;		/* the lease we ask for ([agent] lease) */
	bool running;			/* started: ctx holds the account's connection and names */
	struct atd_pub_ctx ctx;
	bool have_local;
	struct atd_local_info li;
	/* the set in flight, and the set the server holds from us (prev_known) */
	struct agent_rr sending[PUB_RECORDS_MAX], prev[PUB_RECORDS_MAX];
	size_t nsending, nprev;
	bool prev_known;
	bool ever_published;
	bool inflight;
	bool waiting_location;		/* started (or network changed): the agent will tell us where we are */
	uint16_t id;
	struct dns_tsig t;
	uint32_t lease;			/* granted */
	uint64_t lease_end_ms;
	bool published;
	bool displaced;			/* another computer holds H.D: publish nothing, withdraw nothing */
	bool name_check;		/* a prerequisite failed: the account is finding out whose H.D is */
	uint32_t fails;
	char error[160];
	/* withdrawal */
	bool withdrawing, withdrawn;
	void (*wdone)(void *arg);
	void *wdone_arg;
	struct event *wtimer;
	struct dns_tsig wt;
	uint16_t wid;
	/* what is offered: [agent] service */
	struct agent_service svc[AGENT_SERVICES_MAX];
	char svc_name[AGENT_SERVICES_MAX][SVC_NAME_MAX];
	size_t nsvc;
	char model[65], os[65];
	struct punch_update punch[PUNCH_UPDATES];
	struct agent_rr punch_held[PUNCH_HELD];
	bool punch_held_used[PUNCH_HELD];
};

static const char *const features[] = { "ike=2" };

/* "ssh 22, smb 445, foo/udp 5000" */
static int parse_services(struct atd_pub *p, const char *s)
{
	char buf[1024], *save = NULL, *item;

	p->nsvc = 0;
	if (!s)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char name[SVC_NAME_MAX + 8], *slash;
		unsigned port;
		int n = 0;

		if (p->nsvc == AGENT_SERVICES_MAX)
			return -ENOSPC;
		if (sscanf(item, " %23s %u %n", name, &port, &n) != 2 || item[n] != '\0' || port == 0 ||
		    port > 65535)
			return -EINVAL;
		struct agent_service *sv = &p->svc[p->nsvc];

		sv->proto = "tcp";
		if ((slash = strchr(name, '/'))) {
			*slash = '\0';
			if (strcmp(slash + 1, "udp") == 0)
				sv->proto = "udp";
			else if (strcmp(slash + 1, "tcp") != 0)
				return -EINVAL;
		}
		if (strlen(name) >= SVC_NAME_MAX)
			return -EINVAL;
		strcpy(p->svc_name[p->nsvc], name);
		sv->name = p->svc_name[p->nsvc];
		sv->port = (uint16_t)port;
		sv->txt = NULL;
		sv->ntxt = 0;
		p->nsvc++;
	}
	return 0;
}

struct atd_pub *atd_pub_new(struct event_base *base, const char *services, uint32_t lease_s,
			    const struct atd_pub_ops *ops, void *arg)
{
	struct atd_pub *p = calloc(1, sizeof(*p));
	struct utsname u;

	if (!p)
		return NULL;
	p->base = base;
	p->ops = ops;
	p->arg = arg;
	p->lease_req = lease_s;
	if (parse_services(p, services)) {
		log_warnx("[agent] service: \"%s\" is not a list of \"NAME PORT\" (e.g. \"ssh 22, smb 445\"); "
			  "no services are published", services);
		p->nsvc = 0;
	}
	if (uname(&u) == 0) {
		snprintf(p->model, sizeof(p->model), "%.64s", u.machine);
		snprintf(p->os, sizeof(p->os), "%.64s", u.sysname);
	}
	return p;
}

void atd_pub_free(struct atd_pub *p)
{
	if (!p)
		return;
	if (p->ctx.conn) {
		dnsconn_cancel(p->ctx.conn, p);
		dnsconn_cancel(p->ctx.conn, &p->wt);
		for (int i = 0; i < PUNCH_UPDATES; i++)
			if (p->punch[i].used)
				dnsconn_cancel(p->ctx.conn, &p->punch[i]);
	}
	for (int i = 0; i < PUNCH_UPDATES; i++)
		if (p->punch[i].used)
			dns_tsig_fini(&p->punch[i].t);
	if (p->inflight)
		dns_tsig_fini(&p->t);
	if (p->withdrawing)
		dns_tsig_fini(&p->wt);
	if (p->wtimer)
		event_free(p->wtimer);
	free(p);
}

void atd_pub_start(struct atd_pub *p, const struct atd_pub_ctx *ctx, const struct atd_local_info *li)
{
	p->ctx = *ctx;
	p->running = true;
	memset(p->punch_held_used, 0, sizeof(p->punch_held_used));	/* another session's are not ours to delete */
	p->withdrawn = p->withdrawing = false;
	p->prev_known = false;
	p->displaced = p->name_check = false;
	p->waiting_location = true;
	if (li)
		atd_pub_local(p, li);
}

void atd_pub_claim(struct atd_pub *p, enum atd_pub_claim claim, bool now)
{
	p->ctx.claim = claim;
	p->name_check = p->displaced = false;
	p->prev_known = false;
	if (!p->running || p->withdrawing || p->withdrawn)
		return;
	/* else again after the back-off the refusal set (name_lost came first: the owner's timers hold it) */
	if (now)
		p->ops->records_changed(p->arg);
}

void atd_pub_displaced(struct atd_pub *p)
{
	p->name_check = false;
	p->displaced = true;
	p->published = false;
	p->prev_known = false;
	snprintf(p->error, sizeof(p->error), "another computer holds %s", p->ctx.fqdn);
}

void atd_pub_network_changed(struct atd_pub *p)
{
	p->waiting_location = true;
}

/* The records we want published now. */
static int build_records(struct atd_pub *p, struct agent_rr *out, size_t *n)
{
	struct agent_publish in = {
		.domain = p->ctx.domain,
		.host = p->ctx.host,
		.model = p->model[0] ? p->model : NULL,
		.os = p->os[0] ? p->os : NULL,
		.features = features,
		.nfeatures = sizeof(features) / sizeof(features[0]),
		.services = p->svc,
		.nservices = p->nsvc,
	};
	int rc;

	in.host_id = p->ctx.host_id;
	memcpy(in.eui64, p->li.eui64, 8);
	memcpy(in.ula, p->li.ula, 16);
	if (p->li.has_external) {
		memcpy(in.ext_addr, p->li.external4, 4);
		in.ext_port = p->li.port;
		in.ext_relayed = p->li.relayed;
	}
	if (p->li.krb_realm[0])
		in.krb_realm = p->li.krb_realm;
	if ((rc = agent_records_build(&in, out, AGENT_RECORDS_MAX, n)))
		return rc;
	/* docs/paths.md §1.1: in the same UPDATE and lease, this host's own RRset (replaced whole) */
	if (p->li.cands.n > 0) {
		if ((rc = agent_cand_set_rr(&p->li.cands, p->ctx.domain, p->ctx.host, 0, &out[*n])))
			return rc;
		(*n)++;
	}
	return 0;
}

/*
 * The records of ours at H.D (its AAAA and our id's TXT) in @p v: what a
 * value-dependent prerequisite (RFC 2136 §2.4.2) asks the server to hold.
 */
static size_t own_rrs(const struct atd_pub *p, const struct agent_rr *v, size_t n, bool aaaa, bool txt,
		      struct agent_rr *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < 2; i++)
		if (agent_name_equal(v[i].name, p->ctx.fqdn) &&
		    ((aaaa && v[i].type == AGENT_RR_AAAA) || (txt && v[i].type == AGENT_RR_TXT)))
			out[k++] = v[i];
	return k;
}

/*
 * RFC 2136 §2.4: an update or withdrawal applies only while H.D is ours
 * (what the last granted update left there), so that two computers
 * racing for one name cannot both win, and a computer that lost its name
 * never overwrites or deletes the records of the one that holds it now.
 * Before the first grant, the sign-in's finding decides: a free name must
 * still be unused, a name of ours must still carry our id (or our ULA).
 */
static void make_prereq(const struct atd_pub *p, bool withdrawal, struct dnsc_update_prereq *pre,
			struct agent_rr rrs[static 2])
{
	memset(pre, 0, sizeof(*pre));
	pre->rrs = rrs;
	if (p->prev_known && (p->published || withdrawal))
		pre->nrrs = own_rrs(p, p->prev, p->nprev, true, true, rrs);
	else if (p->ctx.claim == ATD_PUB_CLAIM_FREE)
		pre->unused = p->ctx.fqdn;
	else if (p->ctx.claim == ATD_PUB_CLAIM_OURS_ID)
		pre->nrrs = own_rrs(p, p->sending, p->nsending, false, true, rrs);
	else
		pre->nrrs = own_rrs(p, p->sending, p->nsending, true, false, rrs);
}

static bool prereq_failed(unsigned rcode)
{
	return rcode == DNS_RCODE_YXDOMAIN || rcode == DNS_RCODE_YXRRSET || rcode == DNS_RCODE_NXRRSET ||
	       rcode == DNS_RCODE_NXDOMAIN;
}

static void publish_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct atd_pub *p = arg;
	struct dnsc_update_result r;
	uint64_t now = clock_now_ms();
	char b[16], why[200];
	int rc = err;

	if (err == -ECANCELED || !p->inflight)
		return;
	p->inflight = false;
	if (!err)
		rc = dnsc_update_answer(&r, msg, len, p->id, p->ctx.zone, p->lease_req, &p->t, clock_wall_s());
	dns_tsig_fini(&p->t);
	if (rc == 0 && r.rcode == DNS_RCODE_NOERROR && r.lease > 0) {
		bool changed = !p->prev_known || !dnsc_records_equal(p->sending, p->nsending, p->prev, p->nprev) ||
			       p->fails > 0;
		uint32_t jitter = rand_uniform(r.lease * 100 + 1);	/* up to 10% of the lease (in ms) */

		memcpy(p->prev, p->sending, p->nsending * sizeof(p->prev[0]));
		p->nprev = p->nsending;
		p->prev_known = true;
		p->published = p->ever_published = true;
		p->lease = r.lease;
		p->lease_end_ms = now + (uint64_t)r.lease * 1000;
		p->fails = 0;
		p->error[0] = '\0';
		/* granted: H.D holds our id and ULA, whatever the sign-in found */
		p->ctx.claim = p->ctx.host_id ? ATD_PUB_CLAIM_OURS_ID : ATD_PUB_CLAIM_OURS_ULA;
		if (changed)
			log_info("published %zu records for %s (lease %u s)", p->nsending, p->ctx.fqdn, r.lease);
		else
			log_debug("refreshed %zu records (lease %u s)", p->nsending, r.lease);
		/* RFC 6281 §5.2 and issue 6: the timers refresh at 80% of what was granted, plus jitter */
		p->ops->update_done(p->arg, r.lease, jitter);
		return;
	}
	if (rc == 0 && prereq_failed(r.rcode)) {
		/* H.D is not as we left it: the account finds out whose it is (atd_pub_claim/displaced) */
		log_info("%s is not as we left it (the server answered %s): checking whose it is", p->ctx.fqdn,
			 dnsc_rcode_name(r.rcode, b));
		p->prev_known = false;
		p->published = false;
		p->name_check = true;
		p->ops->name_lost(p->arg);
		return;
	}
	if (rc == 0 && r.rcode == DNS_RCODE_NOERROR) {
		snprintf(why, sizeof(why), "the server granted no lease");
	} else if (rc == -EACCES && r.server_rejected) {
		snprintf(why, sizeof(why), "the server rejected our key (%s): was the password changed? "
			 "autotunnel logout, then login again", dnsc_rcode_name(r.tsig_error, b));
	} else if (rc == 0) {
		snprintf(why, sizeof(why), "the server answered %s", dnsc_rcode_name(r.rcode, b));
	} else if (err) {
		snprintf(why, sizeof(why), "%s", err == -ETIMEDOUT ? "no answer from the server" :
			 dnsconn_last_error(p->ctx.conn)[0] ? dnsconn_last_error(p->ctx.conn) : strerror(-err));
		/* it may or may not have been applied: replace everything next time */
		p->prev_known = false;
	} else {
		snprintf(why, sizeof(why), "%s", rc == -EACCES ? "the answer failed TSIG verification" :
			 "the answer was malformed");
		p->prev_known = false;
	}
	p->fails++;
	if (strcmp(p->error, why) != 0 || p->fails == 1)
		log_warnx("publishing our records failed: %s (trying again with back-off)", why);
	snprintf(p->error, sizeof(p->error), "%.159s", why);
	p->ops->update_failed(p->arg);
}

void atd_pub_due(struct atd_pub *p)
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct dnsc_update_prereq pre;
	static struct agent_rr pre_rrs[2];
	size_t len;
	int rc;

	if (p->withdrawing || p->withdrawn || !p->running || p->inflight || p->displaced || p->name_check) {
		p->ops->update_failed(p->arg);
		return;
	}
	if (!p->have_local) {
		/* the agent has not told us where we are yet */
		snprintf(p->error, sizeof(p->error), "waiting for the network");
		p->ops->update_failed(p->arg);
		return;
	}
	rc = build_records(p, p->sending, &p->nsending);
	if (rc) {
		snprintf(p->error, sizeof(p->error), "cannot make our records: %s", strerror(-rc));
		log_warnx("%s", p->error);
		p->ops->update_failed(p->arg);
		return;
	}
	p->id = dnsconn_new_id(p->ctx.conn);
	dns_tsig_init(&p->t, p->ctx.key);
	make_prereq(p, false, &pre, pre_rrs);
	rc = dnsc_update_build_pre(buf, sizeof(buf), &len, p->id, p->ctx.zone, &pre, p->sending, p->nsending,
				   p->prev_known ? p->prev : NULL, p->nprev, p->lease_req, &p->t, clock_wall_s());
	if (rc) {
		dns_tsig_fini(&p->t);
		snprintf(p->error, sizeof(p->error), "cannot build the update: %s", strerror(-rc));
		log_warnx("%s", p->error);
		p->ops->update_failed(p->arg);
		return;
	}
	p->inflight = true;
	rc = dnsconn_request(p->ctx.conn, buf, len, publish_answer, p);
	if (rc) {
		p->inflight = false;
		dns_tsig_fini(&p->t);
		p->ops->update_failed(p->arg);
	}
}

void atd_pub_local(struct atd_pub *p, const struct atd_local_info *li)
{
	bool changed;

	if (!p)
		return;
	changed = !p->have_local || memcmp(&p->li, li, sizeof(*li)) != 0;
	p->li = *li;
	p->have_local = true;
	if (!p->running || p->withdrawing || p->withdrawn)
		return;
	if (p->waiting_location) {
		/* the location is known: publish now */
		p->waiting_location = false;
		p->ops->location_known(p->arg);
		if (changed)
			p->ops->records_changed(p->arg);
	} else if (changed) {
		/* RFC 6281 §5.2: after any change at once */
		p->ops->records_changed(p->arg);
	}
}

/* ---- withdrawal ---- */

static void withdraw_end(struct atd_pub *p)
{
	void (*done)(void *arg) = p->wdone;
	void *darg = p->wdone_arg;

	if (!p->withdrawing)
		return;
	p->withdrawing = false;
	p->withdrawn = true;
	p->wdone = NULL;
	dns_tsig_fini(&p->wt);
	if (p->wtimer)
		evtimer_del(p->wtimer);
	if (done)
		done(darg);
}

static void withdraw_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct atd_pub *p = (struct atd_pub *)((char *)arg - offsetof(struct atd_pub, wt));
	struct dnsc_update_result r;
	char b[16];
	int rc = err;

	if (err == -ECANCELED || !p->withdrawing)
		return;
	if (!err)
		rc = dnsc_update_answer(&r, msg, len, p->wid, p->ctx.zone, 0, &p->wt, clock_wall_s());
	if (rc == 0 && r.rcode == DNS_RCODE_NOERROR)
		log_info("withdrew %zu records of %s", p->nprev, p->ctx.fqdn);
	else if (rc == 0 && prereq_failed(r.rcode))
		log_warnx("%s is not ours any more: its records are left to the computer that holds it", p->ctx.fqdn);
	else
		log_warnx("withdrawing our records failed (%s): they expire with their lease",
			  rc ? strerror(-rc) : dnsc_rcode_name(r.rcode, b));
	p->published = false;
	withdraw_end(p);
}

static void withdraw_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct atd_pub *p = arg;

	(void)fd, (void)what;
	log_warnx("no answer to our withdrawal within %u s: our records expire with their lease",
		  WITHDRAW_WAIT_MS / 1000);
	dnsconn_cancel(p->ctx.conn, &p->wt);
	withdraw_end(p);
}

static void punch_delete_held(struct atd_pub *p);

/* Start the withdrawal; false when there is nothing to withdraw (done is not called). */
static bool withdraw_start(struct atd_pub *p)
{
	static uint8_t buf[DNSC_MSG_MAX];
	static struct agent_rr pre_rrs[2];
	struct dnsc_update_prereq pre;
	struct timeval tv = { WITHDRAW_WAIT_MS / 1000, (WITHDRAW_WAIT_MS % 1000) * 1000 };
	size_t len;
	int rc;

	punch_delete_held(p);
	/* nothing more is published or refreshed */
	if (p->inflight) {
		dnsconn_cancel(p->ctx.conn, p);
		dns_tsig_fini(&p->t);
		p->inflight = false;
	}
	/* a name another computer holds now: its records are not ours to delete */
	if (p->displaced || p->name_check)
		return false;
	/* what the server holds from us: the last granted set, or what we would publish */
	if (!p->prev_known && p->have_local && build_records(p, p->prev, &p->nprev) == 0)
		p->prev_known = p->nprev > 0;
	if (!p->prev_known || p->nprev == 0 || !p->ctx.conn)
		return false;
	if (!p->wtimer && !(p->wtimer = evtimer_new(p->base, withdraw_timeout, p)))
		return false;
	p->wid = dnsconn_new_id(p->ctx.conn);
	dns_tsig_init(&p->wt, p->ctx.key);
	/* RFC 2136 §2.5: delete our RRsets, and our RRs of the shared ones; §2.4: only while H.D is ours */
	make_prereq(p, true, &pre, pre_rrs);
	rc = dnsc_update_build_pre(buf, sizeof(buf), &len, p->wid, p->ctx.zone, &pre, NULL, 0, p->prev, p->nprev, 0,
				   &p->wt, clock_wall_s());
	if (rc || dnsconn_request(p->ctx.conn, buf, len, withdraw_answer, &p->wt)) {
		dns_tsig_fini(&p->wt);
		return false;
	}
	p->withdrawing = true;
	evtimer_add(p->wtimer, &tv);
	return true;
}

void atd_pub_withdraw(struct atd_pub *p, void (*done)(void *arg), void *arg)
{
	if (!p || !p->running || p->withdrawn) {
		if (done)
			done(arg);
		return;
	}
	if (p->withdrawing) {
		/* one withdrawal at a time; the later caller is told when it ends */
		if (!p->wdone) {
			p->wdone = done;
			p->wdone_arg = arg;
		}
		return;
	}
	p->wdone = done;
	p->wdone_arg = arg;
	if (!withdraw_start(p)) {
		p->withdrawn = true;
		p->wdone = NULL;
		if (done)
			done(arg);
	}
}

void atd_pub_withdraw_sync(struct atd_pub *p)
{
	int rounds = 0;

	if (!p || p->withdrawn || !p->ever_published)
		return;
	if (!p->withdrawing && !withdraw_start(p)) {
		p->withdrawn = true;
		return;
	}
	/* the main loop has ended: run it until the answer (or the 3 s timer) */
	while (p->withdrawing && rounds++ < 10000)
		if (event_base_loop(p->base, EVLOOP_ONCE) < 0)
			break;
}

void atd_pub_status(const struct atd_pub *p, struct atd_publish_status *st)
{
	uint64_t now = clock_now_ms();

	memset(st, 0, sizeof(*st));
	if (!p)
		return;
	st->published = p->published && p->lease_end_ms > now;
	st->lease_s = p->lease;
	st->lease_left_s = p->lease_end_ms > now ? (uint32_t)((p->lease_end_ms - now) / 1000) : 0;
	st->records = (uint32_t)(p->prev_known ? p->nprev : 0);
	st->fails = p->fails;
	snprintf(st->error, sizeof(st->error), "%s", p->error);
}

/* ---- punch requests (docs/paths.md §1.3) ---- */

static void punch_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct punch_update *u = arg;
	struct dnsc_update_result r;
	char b[16];
	int rc = err;

	if (err == -ECANCELED || !u->used)
		return;
	if (!err)
		rc = dnsc_update_answer(&r, msg, len, u->id, u->p->ctx.zone, u->add ? 1 : 0, &u->t, clock_wall_s());
	if (rc == 0 && r.rcode == DNS_RCODE_NOERROR)
		log_debug("punch request %s %s", u->add ? "written to" : "deleted from", u->name);
	else
		log_info("cannot %s the punch request at %s: %s", u->add ? "write" : "delete", u->name,
			 rc ? strerror(-rc) : dnsc_rcode_name(r.rcode, b));
	dns_tsig_fini(&u->t);
	u->used = false;
}

static int punch_send(struct atd_pub *p, const struct agent_rr *rr, bool add)
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct punch_update *u = NULL;
	size_t len;
	int rc;

	for (int i = 0; i < PUNCH_UPDATES && !u; i++)
		if (!p->punch[i].used)
			u = &p->punch[i];
	if (!u)
		return -EBUSY;
	u->p = p;
	u->add = add;
	snprintf(u->name, sizeof(u->name), "%s", rr->name);
	u->id = dnsconn_new_id(p->ctx.conn);
	dns_tsig_init(&u->t, p->ctx.key);
	/*
	 * The RRset is shared (each requester adds and deletes only its own RR);
	 * the shortest lease the server grants (it clamps 1 s up to its minimum)
	 * bounds an RR whose requester vanished before deleting it.
	 */
	rc = dnsc_update_build(buf, sizeof(buf), &len, u->id, p->ctx.zone, add ? rr : NULL, add ? 1 : 0,
			       add ? NULL : rr, add ? 0 : 1, add ? 1 : 0, &u->t, clock_wall_s());
	if (rc == 0) {
		u->used = true;
		if ((rc = dnsconn_request(p->ctx.conn, buf, len, punch_answer, u)))
			u->used = false;
	}
	if (rc)
		dns_tsig_fini(&u->t);
	return rc;
}

/*
 * What we wrote stays in the zone until deleted: a request left by a
 * requester that stopped mid-round would be heard as a fresh one within
 * its age (agent_punch_fresh()) and outlive us by the server's lease. So
 * the ones written are remembered, and go before our records when we stop
 * or sign out (withdraw_start()).
 */
static void punch_hold(struct atd_pub *p, const struct agent_rr *rr, bool add)
{
	int fr = -1;

	for (int i = 0; i < PUNCH_HELD; i++) {
		if (!p->punch_held_used[i]) {
			if (fr < 0)
				fr = i;
			continue;
		}
		if (dnsc_records_equal(&p->punch_held[i], 1, rr, 1)) {
			p->punch_held_used[i] = add;
			return;
		}
	}
	if (add && fr >= 0) {
		p->punch_held[fr] = *rr;
		p->punch_held_used[fr] = true;
	}
}

int atd_pub_punch(struct atd_pub *p, const struct agent_rr *rr, bool add)
{
	int rc;

	if (!p || !p->running || !p->ctx.conn || p->withdrawing || p->withdrawn)
		return -ENOTCONN;
	if ((rc = punch_send(p, rr, add)) == 0)
		punch_hold(p, rr, add);
	return rc;
}

/* Before the withdrawal: our punch requests go (each its own UPDATE: no prerequisite on H.D). */
static void punch_delete_held(struct atd_pub *p)
{
	for (int i = 0; i < PUNCH_HELD; i++) {
		if (!p->punch_held_used[i])
			continue;
		p->punch_held_used[i] = false;
		if (!p->ctx.conn || punch_send(p, &p->punch_held[i], false))
			log_debug("cannot delete our punch request at %s (it expires with its lease)",
				  p->punch_held[i].name);
	}
}
