/*
 * src/autotunneld/publish.c: this host's records in the account (see
 * publish.h): built with lib/agent records, sent with lib/dnsc update,
 * timed by lib/agent timers (account.c's instance).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <event2/event.h>

#include "agent/records.h"
#include "autotunneld/agent.h"
#include "autotunneld/dns_int.h"
#include "autotunneld/publish.h"
#include "common/log.h"
#include "dnsc/update.h"
#include "util/random.h"

#define WITHDRAW_WAIT_MS 3000
#define SVC_NAME_MAX 16

struct atd_pub {
	struct atd_dns *dns;
	bool have_local;
	struct atd_local_info li;
	/* the set in flight, and the set the server holds from us (prev_known) */
	struct agent_rr sending[AGENT_RECORDS_MAX], prev[AGENT_RECORDS_MAX];
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
	uint32_t fails;
	char error[160];
	/* withdrawal */
	bool withdrawing, withdrawn;
	void (*wdone)(struct atd *d);
	struct event *wtimer;
	struct dns_tsig wt;
	uint16_t wid;
	/* what is offered: [agent] service */
	struct agent_service svc[AGENT_SERVICES_MAX];
	char svc_name[AGENT_SERVICES_MAX][SVC_NAME_MAX];
	size_t nsvc;
	char model[65], os[65];
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

int pub_init(struct atd_dns *dns)
{
	struct atd_pub *p = calloc(1, sizeof(*p));
	struct utsname u;

	if (!p)
		return -ENOMEM;
	p->dns = dns;
	if (parse_services(p, dns->d->conf.services)) {
		log_warnx("[agent] service: \"%s\" is not a list of \"NAME PORT\" (e.g. \"ssh 22, smb 445\"); "
			  "no services are published", dns->d->conf.services);
		p->nsvc = 0;
	}
	if (uname(&u) == 0) {
		snprintf(p->model, sizeof(p->model), "%.64s", u.machine);
		snprintf(p->os, sizeof(p->os), "%.64s", u.sysname);
	}
	dns->pub = p;
	return 0;
}

void pub_fini(struct atd_dns *dns)
{
	struct atd_pub *p = dns->pub;

	if (!p)
		return;
	if (dns->conn) {
		dnsconn_cancel(dns->conn, p);
		dnsconn_cancel(dns->conn, &p->wt);
	}
	if (p->inflight)
		dns_tsig_fini(&p->t);
	if (p->withdrawing)
		dns_tsig_fini(&p->wt);
	if (p->wtimer)
		event_free(p->wtimer);
	free(p);
	dns->pub = NULL;
}

void pub_start(struct atd_dns *dns)
{
	struct atd_pub *p = dns->pub;
	const struct atd_local_info *li = atd_agent_local(dns->d);

	p->withdrawn = p->withdrawing = false;
	p->prev_known = false;
	p->waiting_location = true;
	if (li)
		atd_publish_local(dns->d, li);
}

void pub_network_changed(struct atd_dns *dns, uint64_t now)
{
	(void)now;
	dns->pub->waiting_location = true;
}

/* The records we want published now. */
static int build_records(struct atd_pub *p, struct agent_rr *out, size_t *n)
{
	struct atd_dns *dns = p->dns;
	struct agent_publish in = {
		.domain = dns->acc.domain,
		.host = dns->acc.host,
		.model = p->model[0] ? p->model : NULL,
		.os = p->os[0] ? p->os : NULL,
		.features = features,
		.nfeatures = sizeof(features) / sizeof(features[0]),
		.services = p->svc,
		.nservices = p->nsvc,
	};

	memcpy(in.eui64, p->li.eui64, 8);
	memcpy(in.ula, p->li.ula, 16);
	if (p->li.has_external) {
		memcpy(in.ext_addr, p->li.external4, 4);
		in.ext_port = p->li.port;
	}
	return agent_records_build(&in, out, AGENT_RECORDS_MAX, n);
}

static void publish_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct atd_pub *p = arg;
	struct atd_dns *dns = p->dns;
	struct dnsc_update_result r;
	uint64_t now = dns_now();
	char b[16], why[200];
	int rc = err;

	if (err == -ECANCELED || !p->inflight)
		return;
	p->inflight = false;
	if (!err)
		rc = dnsc_update_answer(&r, msg, len, p->id, &dns->zone, (uint32_t)dns->d->conf.lease_s,
					&p->t, dns_wall());
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
		if (changed)
			log_info("published %zu records for %s (lease %u s)", p->nsending, dns->acc.fqdn, r.lease);
		else
			log_debug("refreshed %zu records (lease %u s)", p->nsending, r.lease);
		/* RFC 6281 §5.2 and issue 6: refresh at 80% of what was granted, plus jitter */
		agent_timers_lease_granted(&dns->t, now, r.lease, jitter);
		dns_timers_rearm(dns);
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
			 dnsconn_last_error(dns->conn)[0] ? dnsconn_last_error(dns->conn) : strerror(-err));
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
	agent_timers_update_failed(&dns->t, now);
	dns_timers_rearm(dns);
}

void pub_due(struct atd_dns *dns, uint64_t now)
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct atd_pub *p = dns->pub;
	size_t len;
	int rc;

	if (p->withdrawing || p->withdrawn || !dns->acc.signed_in || p->inflight) {
		agent_timers_update_failed(&dns->t, now);
		return;
	}
	if (!p->have_local) {
		/* the agent has not told us where we are yet */
		snprintf(p->error, sizeof(p->error), "waiting for the network");
		agent_timers_update_failed(&dns->t, now);
		return;
	}
	rc = build_records(p, p->sending, &p->nsending);
	if (rc) {
		snprintf(p->error, sizeof(p->error), "cannot make our records: %s", strerror(-rc));
		log_warnx("%s", p->error);
		agent_timers_update_failed(&dns->t, now);
		return;
	}
	p->id = dnsconn_new_id(dns->conn);
	dns_tsig_init(&p->t, &dns->key);
	rc = dnsc_update_build(buf, sizeof(buf), &len, p->id, &dns->zone, p->sending, p->nsending,
			       p->prev_known ? p->prev : NULL, p->nprev, (uint32_t)dns->d->conf.lease_s,
			       &p->t, dns_wall());
	if (rc) {
		dns_tsig_fini(&p->t);
		snprintf(p->error, sizeof(p->error), "cannot build the update: %s", strerror(-rc));
		log_warnx("%s", p->error);
		agent_timers_update_failed(&dns->t, now);
		return;
	}
	p->inflight = true;
	rc = dnsconn_request(dns->conn, buf, len, publish_answer, p);
	if (rc) {
		p->inflight = false;
		dns_tsig_fini(&p->t);
		agent_timers_update_failed(&dns->t, now);
	}
}

void atd_publish_local(struct atd *d, const struct atd_local_info *li)
{
	struct atd_dns *dns = d->dns;
	struct atd_pub *p = dns ? dns->pub : NULL;
	bool changed;
	uint64_t now = dns_now();

	if (!p)
		return;
	changed = !p->have_local || memcmp(&p->li, li, sizeof(*li)) != 0;
	p->li = *li;
	p->have_local = true;
	if (!dns->acc.signed_in || !dns->timers_running || p->withdrawing || p->withdrawn)
		return;
	if (p->waiting_location) {
		/* the location is known: publish now (agent.c did the mapping: nothing for us to map) */
		p->waiting_location = false;
		agent_timers_mapping_failed(&dns->t, now, true);
		if (changed)
			agent_timers_records_changed(&dns->t, now);
	} else if (changed) {
		/* RFC 6281 §5.2: after any change at once */
		agent_timers_records_changed(&dns->t, now);
	}
	dns_timers_rearm(dns);
}

/* ---- withdrawal ---- */

static void withdraw_end(struct atd_pub *p)
{
	struct atd_dns *dns = p->dns;
	void (*done)(struct atd *d) = p->wdone;

	if (!p->withdrawing)
		return;
	p->withdrawing = false;
	p->withdrawn = true;
	p->wdone = NULL;
	dns_tsig_fini(&p->wt);
	if (p->wtimer)
		evtimer_del(p->wtimer);
	if (done)
		done(dns->d);
}

static void withdraw_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct atd_pub *p = (struct atd_pub *)((char *)arg - offsetof(struct atd_pub, wt));
	struct atd_dns *dns = p->dns;
	struct dnsc_update_result r;
	char b[16];
	int rc = err;

	if (err == -ECANCELED || !p->withdrawing)
		return;
	if (!err)
		rc = dnsc_update_answer(&r, msg, len, p->wid, &dns->zone, 0, &p->wt, dns_wall());
	if (rc == 0 && r.rcode == DNS_RCODE_NOERROR)
		log_info("withdrew %zu records of %s", p->nprev, dns->acc.fqdn);
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
	dnsconn_cancel(p->dns->conn, &p->wt);
	withdraw_end(p);
}

/* Start the withdrawal; false when there is nothing to withdraw (done is not called). */
static bool withdraw_start(struct atd_pub *p)
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct atd_dns *dns = p->dns;
	struct timeval tv = { WITHDRAW_WAIT_MS / 1000, (WITHDRAW_WAIT_MS % 1000) * 1000 };
	size_t len;
	int rc;

	/* nothing more is published or refreshed */
	if (p->inflight) {
		dnsconn_cancel(dns->conn, p);
		dns_tsig_fini(&p->t);
		p->inflight = false;
	}
	/* what the server holds from us: the last granted set, or what we would publish */
	if (!p->prev_known && p->have_local && build_records(p, p->prev, &p->nprev) == 0)
		p->prev_known = p->nprev > 0;
	if (!p->prev_known || p->nprev == 0 || !dns->conn)
		return false;
	if (!p->wtimer && !(p->wtimer = evtimer_new(dns->d->base, withdraw_timeout, p)))
		return false;
	p->wid = dnsconn_new_id(dns->conn);
	dns_tsig_init(&p->wt, &dns->key);
	/* RFC 2136 §2.5: delete our RRsets, and our RRs of the shared ones */
	rc = dnsc_update_build(buf, sizeof(buf), &len, p->wid, &dns->zone, NULL, 0, p->prev, p->nprev, 0,
			       &p->wt, dns_wall());
	if (rc || dnsconn_request(dns->conn, buf, len, withdraw_answer, &p->wt)) {
		dns_tsig_fini(&p->wt);
		return false;
	}
	p->withdrawing = true;
	evtimer_add(p->wtimer, &tv);
	return true;
}

void atd_publish_withdraw(struct atd *d, void (*done)(struct atd *d))
{
	struct atd_dns *dns = d->dns;
	struct atd_pub *p = dns ? dns->pub : NULL;

	if (!p || !dns->acc.signed_in || p->withdrawn) {
		if (done)
			done(d);
		return;
	}
	if (p->withdrawing) {
		/* one withdrawal at a time; the later caller is told when it ends */
		if (!p->wdone)
			p->wdone = done;
		return;
	}
	p->wdone = done;
	if (!withdraw_start(p)) {
		p->withdrawn = true;
		p->wdone = NULL;
		if (done)
			done(d);
	}
}

void pub_withdraw_sync(struct atd_dns *dns)
{
	struct atd_pub *p = dns->pub;
	int rounds = 0;

	if (!p || p->withdrawn || !p->ever_published)
		return;
	if (!p->withdrawing && !withdraw_start(p)) {
		p->withdrawn = true;
		return;
	}
	/* the main loop has ended: run it until the answer (or the 3 s timer) */
	while (p->withdrawing && rounds++ < 10000)
		if (event_base_loop(dns->d->base, EVLOOP_ONCE) < 0)
			break;
}

void atd_publish_status(struct atd *d, struct atd_publish_status *st)
{
	struct atd_dns *dns = d->dns;
	struct atd_pub *p = dns ? dns->pub : NULL;
	uint64_t now = dns_now();

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
