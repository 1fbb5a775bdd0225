/*
 * src/autotunneld/account.c: signing in and out (see account.h), the state
 * file, and the DNS side it owns: the connections to the server, the
 * publisher (publish.c) and the watcher (watch.c), the signed queries they
 * share (dnsquery.c), and the DNS side's one timer, whose every deadline
 * is lib/agent timers' decision. The publisher and the watcher report
 * their outcomes through the ops given to them here; what the agent must
 * know goes up through struct atd_dns_ops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/identity.h"
#include "agent/records.h"
#include "agent/timers.h"
#include "autotunneld/account.h"
#include "autotunneld/daemon.h"
#include "autotunneld/dnsconn.h"
#include "autotunneld/dnsquery.h"
#include "autotunneld/enrol.h"
#include "autotunneld/fsutil.h"
#include "autotunneld/publish.h"
#include "autotunneld/types.h"
#include "autotunneld/watch.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dnsc/llq.h"
#include "dnsc/msg.h"
#include "dnsc/state.h"
#include "dnsc/update.h"
#include "util/encode.h"
#include "util/random.h"

#define DEFAULT_ZONE "members.example.net"
#define LOGIN_TIMEOUT_MS 10000
#define ALT_NAMES_MAX 99	/* H-2 .. H-99 */

struct login;
struct claim;

/* One per daemon (d->dns). */
struct atd_dns {
	struct atd *d;
	const struct atd_dns_ops *ops;	/* to the agent */
	void *arg;
	struct atd_account acc;		/* what atd_account_get() returns */
	struct dnsc_state st;		/* the saved account (keys included) */
	struct dns_tsig_key key;	/* the account's TSIG key */
	struct dns_name domain, zone;	/* D and the zone above it */
	char state_path[4096];
	struct dnsconn *conn;		/* updates and queries */
	struct dnsconn *llq_conn;	/* LLQs: == conn unless the SRV named another server */
	struct agent_timers t;
	struct event *tev;
	bool timers_running;
	struct login *login;		/* a login under way */
	atd_account_done_fn logout_cb;	/* a logout under way */
	void *logout_arg;
	bool logging_out;
	struct dnsquery_set *queries;	/* signed queries waiting for their answer */
	struct atd_pub *pub;
	struct atd_watch *watch;
	char host_id[AGENT_HOST_ID_LEN + 1];	/* STATE-DIR/host-id: this computer, across boots */
	struct claim *claim;		/* finding out whose H.D is (start, or a refused update) */
	struct atd_enrol *enrol;	/* the account authority (enrol.c) */
	atd_account_done_fn enrol_cb;	/* a login waiting for its enrolment */
	void *enrol_arg;
	char recovery[80];		/* the recovery key of an authority the login created, until handed out */
};

static void dns_timers_rearm(struct atd_dns *dns);

/* ---- the timer (lib/agent timers: the DNS side's policy) ---- */

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_dns *dns = arg;
	enum agent_action a;
	uint64_t now = clock_now_ms();

	(void)fd, (void)what;
	while (dns->timers_running && (a = agent_timers_due(&dns->t, now)) != AGENT_ACT_NONE) {
		switch (a) {
		case AGENT_ACT_PUBLISH:
			atd_pub_due(dns->pub);
			break;
		case AGENT_ACT_LLQ_SETUP:
		case AGENT_ACT_LLQ_REFRESH:
			atd_watch_llq_due(dns->watch, a == AGENT_ACT_LLQ_REFRESH);
			break;
		case AGENT_ACT_POLL:
			atd_watch_poll_due(dns->watch);
			break;
		default:
			break;
		}
	}
	dns_timers_rearm(dns);
}

/* Arm the one timer event at the policy's next deadline (after any agent_timers_* call). */
static void dns_timers_rearm(struct atd_dns *dns)
{
	uint64_t next, now = clock_now_ms(), ms;
	struct timeval tv;

	if (!dns->tev)
		return;
	evtimer_del(dns->tev);
	if (!dns->timers_running)
		return;
	next = agent_timers_next(&dns->t);
	if (next == AGENT_NEVER)
		return;
	ms = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(dns->tev, &tv);
}

/* ---- what the publisher and the watcher report: into the timer policy, or up to the agent ---- */

static void pub_update_done(void *arg, uint32_t lease_s, uint32_t jitter_ms)
{
	struct atd_dns *dns = arg;

	agent_timers_lease_granted(&dns->t, clock_now_ms(), lease_s, jitter_ms);
	dns_timers_rearm(dns);
}

static void pub_update_failed(void *arg)
{
	struct atd_dns *dns = arg;

	agent_timers_update_failed(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

static void pub_location_known(void *arg)
{
	struct atd_dns *dns = arg;

	/* agent.c asked for the mapping and tells the outcome as our location (atd_dns_local) */
	agent_timers_location_known(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

static void pub_records_changed(void *arg)
{
	struct atd_dns *dns = arg;

	agent_timers_records_changed(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

static void pub_name_lost(void *arg);

static const struct atd_pub_ops pub_ops = {
	pub_update_done, pub_update_failed, pub_location_known, pub_records_changed, pub_name_lost,
};

static struct atd_pub *pub_new(struct atd_dns *dns)
{
	return atd_pub_new(dns->d->base, dns->d->conf.services, (uint32_t)dns->d->conf.lease_s, &pub_ops, dns);
}

static void watch_peer_update(void *arg, const struct atd_peer_info *p)
{
	struct atd_dns *dns = arg;

	dns->ops->peer_update(dns->arg, p);
}

static void watch_peer_gone(void *arg, const char *fqdn)
{
	struct atd_dns *dns = arg;

	dns->ops->peer_gone(dns->arg, fqdn);
}

static void watch_llq_established(void *arg, uint32_t lease_s)
{
	struct atd_dns *dns = arg;

	agent_timers_llq_established(&dns->t, clock_now_ms(), lease_s);
	dns_timers_rearm(dns);
}

static void watch_llq_failed(void *arg)
{
	struct atd_dns *dns = arg;

	agent_timers_llq_failed(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

static void watch_llq_lost(void *arg)
{
	struct atd_dns *dns = arg;

	agent_timers_llq_lost(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

static void watch_poll_done(void *arg)
{
	struct atd_dns *dns = arg;

	agent_timers_poll_done(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
}

/*
 * Our own H.D shows another address than ours: another computer may have
 * taken the name. An update at once tells (its prerequisites fail if so,
 * and pub_name_lost() finds out whose the name is); a refresh otherwise.
 */
static void watch_self_seen(void *arg, const uint8_t ula[16])
{
	struct atd_dns *dns = arg;
	const struct atd_local_info *li = dns->ops->local(dns->arg);
	struct atd_publish_status ps;
	char u[INET6_ADDRSTRLEN];

	atd_pub_status(dns->pub, &ps);
	if (!li || !ps.published || memcmp(li->ula, ula, 16) == 0)
		return;
	log_info("%s shows %s, not this host's address: updating at once to see whose it is", dns->acc.fqdn,
		 inet_ntop(AF_INET6, ula, u, sizeof(u)));
	pub_records_changed(dns);
}

static void watch_punch_request(void *arg, const struct agent_punch *req)
{
	struct atd_dns *dns = arg;

	dns->ops->punch_request(dns->arg, req);
}

static void enrol_creds_changed(void *arg)
{
	struct atd_dns *dns = arg;

	if (dns->ops->creds_changed)
		dns->ops->creds_changed(dns->arg);
}

static void enrol_revoked_changed(void *arg)
{
	struct atd_dns *dns = arg;

	if (dns->ops->revoked_changed)
		dns->ops->revoked_changed(dns->arg);
}

static size_t enrol_hosts(void *arg, char (*labels)[64], size_t cap)
{
	struct atd_dns *dns = arg;

	return dns->ops->hosts ? dns->ops->hosts(dns->arg, labels, cap) : 0;
}

/* The authority's records to watch changed (docs/authority.md §7): the watcher follows them. */
static void enrol_watch_changed(void *arg)
{
	struct atd_dns *dns = arg;
	const char *names[ATD_ENROL_WATCH_MAX];
	bool renew;
	size_t n = atd_enrol_watch_names(dns->enrol, names, ATD_ENROL_WATCH_MAX, &renew);
	int rc = atd_watch_notes_set(dns->watch, names, n, renew);

	if (rc)
		log_warnx("cannot watch the account authority's records: %s", strerror(-rc));
}

static void watch_record_changed(void *arg, const char *owner)
{
	struct atd_dns *dns = arg;

	atd_enrol_record_changed(dns->enrol, owner);
}

static const struct atd_enrol_ops enrol_ops = { enrol_creds_changed, enrol_revoked_changed, enrol_hosts,
						enrol_watch_changed };

static const struct atd_watch_ops watch_ops = {
	watch_peer_update, watch_peer_gone, watch_llq_established, watch_llq_failed, watch_llq_lost,
	watch_poll_done, watch_self_seen, watch_punch_request, watch_record_changed,
};

/* ---- whose is H.D (RFC 2136 §2.4 makes the decision stick) ---- */

/*
 * One look at H.D and, when another computer holds it, at H-2.D, H-3.D...
 * until a free one: two signed queries per name (AAAA: whose address; TXT:
 * whose id). Used by the login (on its own connection) and by the account
 * (at start, and when the server refused an update on its prerequisites).
 */
struct claim {
	struct dnsquery_set *qs;
	struct dnsconn *conn;
	const struct dns_tsig_key *key;
	char domain[AGENT_NAME_MAX + 1];
	char base[AGENT_LABEL_MAX + 1];	/* the label asked for */
	char cand[AGENT_LABEL_MAX + 1];	/* the label being looked at */
	unsigned k;			/* the next alternative: base-k */
	bool rename;			/* look for another name when cand is taken */
	bool in_run;			/* our records were there this run: only our ULA is ours */
	uint8_t ula[16];
	const char *id;
	struct dns_name name;
	int phase;			/* 0: AAAA, 1: TXT */
	struct agent_name_seen seen;
	char first[AGENT_LABEL_MAX + 1];	/* the first name found taken, and its holder's ULA */
	uint8_t first_ula[16];
	bool taken;
	void (*done)(void *arg, int err, enum atd_pub_claim how, const char *why);
	void *arg;
};

static int claim_ask(struct claim *c);

static void claim_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct claim *c = arg;
	enum agent_name_owner o;

	if (err == -ECANCELED)
		return;
	if (err) {
		c->done(c->arg, err, ATD_PUB_CLAIM_FREE, why);
		return;
	}
	if (r->rcode != DNS_RCODE_NOERROR && r->rcode != DNS_RCODE_NXDOMAIN) {
		char b[16], w[80];

		snprintf(w, sizeof(w), "the server answered %s", dnsc_rcode_name(r->rcode, b));
		c->done(c->arg, -EPROTO, ATD_PUB_CLAIM_FREE, w);
		return;
	}
	if (dnsc_name_seen_read(r, &c->name, &c->seen)) {
		c->done(c->arg, -EBADMSG, ATD_PUB_CLAIM_FREE, "the server's answer is malformed");
		return;
	}
	if (c->phase == 0) {
		c->phase = 1;
		if ((err = claim_ask(c)))
			c->done(c->arg, err, ATD_PUB_CLAIM_FREE, strerror(-err));
		return;
	}
	o = agent_name_owner(&c->seen, c->ula, c->in_run ? NULL : c->id);
	if (o == AGENT_NAME_FREE) {
		c->done(c->arg, 0, ATD_PUB_CLAIM_FREE, NULL);
		return;
	}
	if (o == AGENT_NAME_OURS) {
		c->done(c->arg, 0, c->id && strcmp(c->seen.id, c->id) == 0 ? ATD_PUB_CLAIM_OURS_ID
									     : ATD_PUB_CLAIM_OURS_ULA, NULL);
		return;
	}
	if (!c->taken) {
		c->taken = true;
		memcpy(c->first, c->cand, sizeof(c->first));
		memcpy(c->first_ula, c->seen.aaaa[0], 16);
	}
	log_info("%s.%s is held by another computer", c->cand, c->domain);
	/* the first free H-k (each one checked the same way) */
	do {
		if (!c->rename || c->k > ALT_NAMES_MAX || agent_host_label_alt(c->cand, c->base, c->k++) < 0) {
			c->done(c->arg, -EADDRINUSE, ATD_PUB_CLAIM_FREE, "no free name");
			return;
		}
	} while (strcmp(c->cand, c->first) == 0);
	c->phase = 0;
	c->in_run = false;
	if ((err = claim_ask(c)))
		c->done(c->arg, err, ATD_PUB_CLAIM_FREE, strerror(-err));
}

static int claim_ask(struct claim *c)
{
	if (c->phase == 0) {
		memset(&c->seen, 0, sizeof(c->seen));
		if (dns_name_from_text(&c->name, c->domain) ||
		    dns_name_prepend_label(&c->name, c->cand, strlen(c->cand)))
			return -EINVAL;
		dns_name_canonicalize(&c->name);
	}
	return dnsquery_send(c->qs, c->conn, c->key, &c->name, c->phase == 0 ? DNS_TYPE_AAAA : DNS_TYPE_TXT,
			     claim_answer, c);
}

/* "the name desktop is used by another computer of alice (fd..); this computer signs in as desktop-2" */
static void claim_note(const struct claim *c, const char *account, const char *how, char *out, size_t len)
{
	char u[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, c->first_ula, u, sizeof(u));
	snprintf(out, len, "the name %s is used by another computer of %s (%s); this computer %s %s", c->first,
		 account, u, how, c->cand);
}

static void claim_free(struct claim *c)
{
	if (!c)
		return;
	dnsquery_cancel(c->qs, c);
	free(c);
}

/*
 * Start looking at @p cand (and, when @p rename, at base-2...). The
 * outcome goes to @p done, later, with the label chosen in c->cand.
 */
static struct claim *claim_start(struct dnsquery_set *qs, struct dnsconn *conn, const struct dns_tsig_key *key,
				 const char *domain, const char *base, const char *cand, bool rename, bool in_run,
				 const struct atd_local_info *li, const char *id,
				 void (*done)(void *, int, enum atd_pub_claim, const char *), void *arg)
{
	struct claim *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->qs = qs;
	c->conn = conn;
	c->key = key;
	snprintf(c->domain, sizeof(c->domain), "%s", domain);
	snprintf(c->base, sizeof(c->base), "%s", base);
	snprintf(c->cand, sizeof(c->cand), "%s", cand);
	c->k = 2;
	c->rename = rename;
	c->in_run = in_run;
	if (li)
		memcpy(c->ula, li->ula, 16);
	c->id = id && *id ? id : NULL;
	c->done = done;
	c->arg = arg;
	if (claim_ask(c)) {
		free(c);
		return NULL;
	}
	return c;
}

/* STATE-DIR/host-id: 16 random bytes in hex, made once; it outlives logouts and reboots. */
static int host_id_load(struct atd_dns *dns)
{
	char path[4200];
	uint8_t buf[AGENT_HOST_ID_LEN + 2], rnd[AGENT_HOST_ID_LEN / 2];
	size_t n = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/host-id", dns->d->conf.state_dir ? dns->d->conf.state_dir : "/var/lib/autotunnel");
	if (fsutil_read_small(path, buf, sizeof(buf) - 1, &n) == 0) {
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = '\0';
		if (agent_host_id_check((const char *)buf) == 0) {
			memcpy(dns->host_id, buf, sizeof(dns->host_id));
			return 0;
		}
		log_warnx("%s is not a host id; making a new one", path);
	}
	if ((rc = rand_bytes(rnd, sizeof(rnd))))
		return rc;
	if ((rc = hex_encode(dns->host_id, sizeof(dns->host_id), rnd, sizeof(rnd))) < 0)
		return rc;
	memcpy(buf, dns->host_id, AGENT_HOST_ID_LEN);
	buf[AGENT_HOST_ID_LEN] = '\n';
	if (dns->d->conf.state_dir)
		(void)fsutil_mkdir_p(dns->d->conf.state_dir, 0700);
	if ((rc = fsutil_write_atomic(path, buf, AGENT_HOST_ID_LEN + 1, 0644)))
		log_warnx("cannot write %s: %s (this host's name may look taken after a reboot)", path,
			  strerror(-rc));
	return 0;
}

/* ---- the connections ---- */

static void conn_up(void *arg)
{
	struct atd_dns *dns = arg;

	atd_watch_conn_up(dns->watch);
}

static void conn_down(void *arg, int err, const char *why)
{
	struct atd_dns *dns = arg;

	(void)err, (void)why;
	atd_watch_conn_down(dns->watch);
}

static void conn_unsolicited(void *arg, const uint8_t *msg, size_t len)
{
	struct atd_dns *dns = arg;

	atd_watch_unsolicited(dns->watch, msg, len);
}

/* Updates go to conn; when the LLQ server is the same, conn carries LLQs too. */
static void upd_up(void *arg)
{
	(void)arg;
}

static void upd_down(void *arg, int err, const char *why)
{
	(void)arg, (void)err, (void)why;
}

static void upd_unsolicited(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg, (void)msg, (void)len;
}

static struct dnsconn *make_conn(struct atd_dns *dns, const char *server, const char *pin, const char *ca,
				 bool llq, char *why, size_t whylen)
{
	const struct dnsc_state *st = &dns->st;
	static const struct dnsconn_ops with_llq = { conn_up, conn_down, conn_unsolicited };
	static const struct dnsconn_ops upd_only = { upd_up, upd_down, upd_unsolicited };
	struct dnsconn_cfg cfg = { 0 };
	char host[DNSC_SERVER_MAX + 1];
	uint16_t port;

	if (dnsc_server_parse(server, host, sizeof(host), &port, 853)) {
		snprintf(why, whylen, "'%s' is not HOST[:PORT]", server);
		return NULL;
	}
	cfg.host = host;
	cfg.port = port;
	if (st->parent[0]) {
		/* the primary is found through the delegation, at every connection */
		cfg.host = NULL;
		cfg.parent = st->parent;
		cfg.domain = st->domain;
	}
	cfg.pin = pin && *pin ? pin : NULL;
	cfg.ca_file = ca && *ca ? ca : NULL;
	return dnsconn_new(dns->d->base, &cfg, llq ? &with_llq : &upd_only, dns, why, whylen);
}

/* ---- the state file ---- */

static int state_save(struct atd_dns *dns, const struct dnsc_state *st, char *why, size_t whylen)
{
	char buf[DNSC_STATE_FILE_MAX], tmp[4200];
	const char *dir = dns->d->conf.state_dir;
	int fd, n;

	n = dnsc_state_format(st, buf, sizeof(buf));
	if (n < 0) {
		snprintf(why, whylen, "cannot write the account state: %s", strerror(-n));
		return n;
	}
	/* root-only: the keys are in it */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
		OPENSSL_cleanse(buf, sizeof(buf));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", dns->state_path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || fsync(fd) < 0) {
		int e = errno;

		snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(e));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -e;
	}
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rename(tmp, dns->state_path) < 0) {
		int e = errno;

		snprintf(why, whylen, "cannot write %s: %s", dns->state_path, strerror(e));
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* 1 with @p st loaded, 0 when there is no account, -errno for a file that is there but unusable. */
static int state_load(struct atd_dns *dns, struct dnsc_state *st)
{
	uint8_t buf[DNSC_STATE_FILE_MAX + 1];
	struct stat sb;
	ssize_t n;
	int fd, rc;

	fd = open(dns->state_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (sb.st_mode & 077)
		log_warnx("%s can be read by others than root: its keys should not be", dns->state_path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > DNSC_STATE_FILE_MAX)
		return n < 0 ? -errno : -EFBIG;
	rc = dnsc_state_parse(st, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc ? rc : 1;
}

/* ---- signed in / out ---- */

static void fill_account(struct atd_dns *dns)
{
	struct atd_account *a = &dns->acc;
	const char *dot = strchr(dns->st.domain, '.');

	memset(a, 0, sizeof(*a));
	a->signed_in = true;
	snprintf(a->name, sizeof(a->name), "%.*s", (int)(dot - dns->st.domain), dns->st.domain);
	snprintf(a->domain, sizeof(a->domain), "%s", dns->st.domain);
	snprintf(a->host, sizeof(a->host), "%s", dns->st.host);
	/* sign_in() checked that H.D fits */
	snprintf(a->fqdn, sizeof(a->fqdn), "%.63s.%.*s", dns->st.host,
		 (int)(sizeof(a->fqdn) - 2 - strlen(dns->st.host)), dns->st.domain);
	snprintf(a->server, sizeof(a->server), "%s", dns->st.server);
	snprintf(a->pin, sizeof(a->pin), "%s", dns->st.pin);
	snprintf(a->ca, sizeof(a->ca), "%s", dns->st.ca);
	memcpy(a->ike_key, dns->st.ike_key, 32);
}

/* The label asked for: [agent] hostname or the host name's first label; @p fallback when it is not one. */
static void base_label(struct atd *d, char out[static 64], const char *fallback);

/* Publish under dns->acc.host, taken as @p how says, and watch the account from there. */
static void begin_publishing(struct atd_dns *dns, enum atd_pub_claim how)
{
	const struct atd_pub_ctx pc = {
		.conn = dns->conn, .key = &dns->key, .zone = &dns->zone,
		.fqdn = dns->acc.fqdn, .domain = dns->acc.domain, .host = dns->acc.host,
		.host_id = dns->host_id[0] ? dns->host_id : NULL, .claim = how,
	};
	const struct atd_watch_ctx wc = {
		.conn = dns->conn, .llq_conn = dns->llq_conn, .key = &dns->key, .domain = &dns->domain,
		.domain_text = dns->acc.domain, .host = dns->acc.host, .fqdn = dns->acc.fqdn,
		.queries = dns->queries, .t = &dns->t,
	};

	atd_pub_start(dns->pub, &pc, dns->ops->local(dns->arg));
	if (atd_watch_start(dns->watch, &wc))
		log_warnx("cannot start watching the account");
	dns_timers_rearm(dns);
}

/* This host is @p label in the account from now on (kept in the state file); the note is kept. */
static void take_label(struct atd_dns *dns, const char *label)
{
	char note[sizeof(dns->acc.note)], why[300];

	memcpy(note, dns->acc.note, sizeof(note));
	snprintf(dns->st.host, sizeof(dns->st.host), "%s", label);
	if (state_save(dns, &dns->st, why, sizeof(why)))
		log_warnx("%s", why);
	fill_account(dns);
	memcpy(dns->acc.note, note, sizeof(note));
}

static void start_claimed(void *arg, int err, enum atd_pub_claim how, const char *why)
{
	struct atd_dns *dns = arg;
	struct claim *c = dns->claim;

	dns->claim = NULL;
	if (err) {
		/* the prerequisites of the first update still keep us off another computer's name */
		log_warnx("cannot check whether %s is free (%s): publishing under it", dns->acc.fqdn, why);
		how = ATD_PUB_CLAIM_OURS_ID;
	} else if (strcmp(c->cand, dns->acc.host) != 0) {
		claim_note(c, dns->acc.name, "signs in as", dns->acc.note, sizeof(dns->acc.note));
		log_warnx("%s", dns->acc.note);
		take_label(dns, c->cand);
	}
	claim_free(c);
	begin_publishing(dns, how);
}

/*
 * Sign in with dns->st: connections, timers, and tell the agent. With
 * @p known (the login looked at H.D already) publishing starts at once;
 * otherwise (a saved account at start) after a look at whose H.D is.
 */
static int sign_in(struct atd_dns *dns, const enum atd_pub_claim *known, char *why, size_t whylen)
{
	const struct dnsc_state *st = &dns->st;
	const char *upd = st->update_server[0] ? st->update_server : st->server;
	const char *llq = st->llq_server[0] ? st->llq_server : st->server;
	bool same = strcmp(upd, llq) == 0;

	if (strlen(st->host) + 1 + strlen(st->domain) > AGENT_NAME_MAX) {
		snprintf(why, whylen, "%s.%s is too long for a name", st->host, st->domain);
		return -EINVAL;
	}
	if (dnsc_account_key(&dns->key, st->domain, st->tsig_key) ||
	    dns_name_from_text(&dns->domain, st->domain) || dnsc_zone_of(&dns->domain, &dns->zone)) {
		snprintf(why, whylen, "bad account domain %s", st->domain);
		return -EINVAL;
	}
	dns_name_canonicalize(&dns->domain);
	dns->conn = make_conn(dns, upd, st->pin, st->ca, same, why, whylen);
	if (!dns->conn)
		return -EINVAL;
	dns->llq_conn = same ? dns->conn : make_conn(dns, llq, st->pin, st->ca, true, why, whylen);
	if (!dns->llq_conn) {
		dnsconn_free(dns->conn);
		dns->conn = NULL;
		return -EINVAL;
	}
	fill_account(dns);
	agent_timers_init(&dns->t, NULL);
	/* map (agent.c's), publish once the location is known, set up the LLQs: now */
	agent_timers_start(&dns->t, clock_now_ms());
	dns->timers_running = true;
	{
		const struct atd_enrol_ctx ec = {
			.conn = dns->conn, .key = &dns->key, .zone = &dns->zone, .queries = dns->queries,
			.domain = dns->acc.domain, .host = dns->acc.host,
		};

		/* a login starts the authority's side afresh; a saved account loads it */
		atd_enrol_start(dns->enrol, &ec, known != NULL);
	}
	if (known) {
		begin_publishing(dns, *known);
	} else {
		char base[64];

		base_label(dns->d, base, st->host);
		dns->claim = claim_start(dns->queries, dns->conn, &dns->key, dns->acc.domain, base, dns->acc.host,
					 true, false, dns->ops->local(dns->arg), dns->host_id, start_claimed, dns);
		if (!dns->claim)
			begin_publishing(dns, ATD_PUB_CLAIM_OURS_ID);
	}
	dns_timers_rearm(dns);
	log_info("signed in as %s (host %s, server %s)", dns->acc.domain, dns->acc.host, dns->acc.server);
	dns->ops->signed_in(dns->arg);
	return 0;
}

/* ---- a refused update: whose is H.D now? ---- */

static void run_claimed(void *arg, int err, enum atd_pub_claim how, const char *why)
{
	struct atd_dns *dns = arg;
	struct claim *c = dns->claim;
	char u[INET6_ADDRSTRLEN];

	dns->claim = NULL;
	if (err == -EADDRINUSE) {
		inet_ntop(AF_INET6, c->first_ula, u, sizeof(u));
		snprintf(dns->acc.note, sizeof(dns->acc.note),
			 "another computer took the name %s (%s); no free name is left for this computer",
			 dns->acc.host, u);
		log_warnx("%s", dns->acc.note);
		atd_pub_displaced(dns->pub);
	} else if (err) {
		log_warnx("cannot check whose %s is (%s): trying again later", dns->acc.fqdn, why);
		atd_pub_claim(dns->pub, ATD_PUB_CLAIM_OURS_ULA, false);
	} else if (strcmp(c->cand, dns->acc.host) == 0) {
		/* again at once, unless the server keeps refusing what we find ours: then with back-off */
		bool now = agent_timers_name_checked(&dns->t, clock_now_ms());

		if (!now)
			log_info("%s is ours, but the server refused our records %u times in a row: trying again "
				 "with back-off", dns->acc.fqdn, dns->t.publish_fails);
		atd_pub_claim(dns->pub, how, now);
	} else {
		/* another computer holds our name now (it raced us, or does not check): we move */
		inet_ntop(AF_INET6, c->first_ula, u, sizeof(u));
		snprintf(dns->acc.note, sizeof(dns->acc.note),
			 "another computer took the name %s (%s); this computer is now %s", c->first, u, c->cand);
		log_warnx("%s", dns->acc.note);
		take_label(dns, c->cand);
		/* the old name's records are the other computer's now: nothing of it is withdrawn */
		atd_watch_stop(dns->watch);
		atd_pub_free(dns->pub);
		dns->pub = pub_new(dns);
		begin_publishing(dns, how);
		agent_timers_llq_lost(&dns->t, clock_now_ms());
		dns_timers_rearm(dns);
	}
	claim_free(c);
	if (dns->pub && !err)
		dns_timers_rearm(dns);
}

static void pub_name_lost(void *arg)
{
	struct atd_dns *dns = arg;
	char base[64];

	/* the update is over for the timers (nothing is sent until whose H.D is is known) */
	agent_timers_update_failed(&dns->t, clock_now_ms());
	dns_timers_rearm(dns);
	if (dns->claim || !dns->acc.signed_in)
		return;
	base_label(dns->d, base, dns->acc.host);
	dns->claim = claim_start(dns->queries, dns->conn, &dns->key, dns->acc.domain, base, dns->acc.host, true,
				 true, dns->ops->local(dns->arg), dns->host_id, run_claimed, dns);
	if (!dns->claim)
		atd_pub_claim(dns->pub, ATD_PUB_CLAIM_OURS_ULA, false);
}

static void sign_out(struct atd_dns *dns)
{
	bool was = dns->acc.signed_in;

	dns->timers_running = false;
	agent_timers_stop(&dns->t);
	dns_timers_rearm(dns);
	claim_free(dns->claim);
	dns->claim = NULL;
	/* a logout forgets the authority's state with the account's keys */
	atd_enrol_stop(dns->enrol, dns->logging_out);
	if (dns->enrol_cb) {
		atd_account_done_fn cb = dns->enrol_cb;

		dns->enrol_cb = NULL;
		cb(dns->d, dns->enrol_arg, -ECANCELED, "login cancelled: signed out");
	}
	OPENSSL_cleanse(dns->recovery, sizeof(dns->recovery));
	atd_watch_stop(dns->watch);
	atd_pub_free(dns->pub);
	dns->pub = pub_new(dns);
	if (dns->llq_conn && dns->llq_conn != dns->conn)
		dnsconn_free(dns->llq_conn);
	dnsconn_free(dns->conn);
	dns->conn = dns->llq_conn = NULL;
	OPENSSL_cleanse(&dns->key, sizeof(dns->key));
	dnsc_state_wipe(&dns->st);
	OPENSSL_cleanse(&dns->acc, sizeof(dns->acc));
	if (was)
		dns->ops->signed_out(dns->arg);
}

/* ---- lifecycle ---- */

int atd_dns_init(struct atd *d, const struct atd_dns_ops *ops, void *arg)
{
	struct atd_dns *dns;
	char why[300];
	int rc;

	if (d->dns)
		return 0;
	dns = calloc(1, sizeof(*dns));
	if (!dns)
		return -ENOMEM;
	dns->d = d;
	dns->ops = ops;
	dns->arg = arg;
	d->dns = dns;
	snprintf(dns->state_path, sizeof(dns->state_path), "%s/account",
		 d->conf.state_dir ? d->conf.state_dir : "/var/lib/autotunnel");
	{
		uint8_t ula[16] = { 0 };

		if (d->conf.ula && inet_pton(AF_INET6, d->conf.ula, ula) != 1)
			memset(ula, 0, sizeof(ula));
		dns->enrol = atd_enrol_new(d->base, d->conf.state_dir, ula, d->conf.authority, &enrol_ops, dns);
	}
	if (!dns->enrol || !(dns->tev = evtimer_new(d->base, timer_cb, dns)) || !(dns->queries = dnsquery_set_new()) ||
	    !(dns->pub = pub_new(dns)) || !(dns->watch = atd_watch_new(d->base, &watch_ops, dns))) {
		atd_dns_fini(d);
		return -ENOMEM;
	}
	if (host_id_load(dns))
		log_warnx("cannot make a host id: this host's name may look taken after a reboot");
	rc = state_load(dns, &dns->st);
	if (rc < 0) {
		log_warnx("%s: %s; not signed in (autotunnel login to sign in again)", dns->state_path,
			  rc == -EBADMSG ? "not a valid account state file" : strerror(-rc));
		dnsc_state_wipe(&dns->st);
		return 0;
	}
	if (rc == 0) {
		log_info("not signed in to an account (autotunnel login ACCOUNT --server HOST)");
		return 0;
	}
	if (sign_in(dns, NULL, why, sizeof(why))) {
		log_warnx("cannot sign in with %s: %s", dns->state_path, why);
		dnsc_state_wipe(&dns->st);
	}
	return 0;
}

static void login_free(struct login *l);

void atd_dns_fini(struct atd *d)
{
	struct atd_dns *dns = d->dns;

	if (!dns)
		return;
	if (dns->acc.signed_in && dns->pub)
		atd_pub_withdraw_sync(dns->pub);	/* a clean shutdown takes our records away (RFC 6281 §5.2) */
	if (dns->login)
		login_free(dns->login);
	claim_free(dns->claim);
	dns->claim = NULL;
	dns->timers_running = false;
	if (dns->acc.signed_in)
		atd_watch_stop(dns->watch);
	atd_enrol_stop(dns->enrol, false);
	atd_enrol_free(dns->enrol);
	atd_watch_free(dns->watch);
	atd_pub_free(dns->pub);
	if (dns->llq_conn && dns->llq_conn != dns->conn)
		dnsconn_free(dns->llq_conn);
	dnsconn_free(dns->conn);
	dnsquery_set_free(dns->queries);	/* after the connections: they answer theirs -ECANCELED */
	if (dns->tev)
		event_free(dns->tev);
	OPENSSL_cleanse(dns, sizeof(*dns));
	free(dns);
	d->dns = NULL;
}

void atd_dns_network_changed(struct atd *d)
{
	struct atd_dns *dns = d->dns;

	if (!dns || !dns->acc.signed_in)
		return;
	/* RFC 6281 §5.1: the connection may have gone with the old address; publish once re-mapped */
	agent_timers_network_changed(&dns->t, clock_now_ms(), true);
	atd_pub_network_changed(dns->pub);
	(void)dnsconn_check_local(dns->conn);
	if (dns->llq_conn != dns->conn)
		(void)dnsconn_check_local(dns->llq_conn);
	dns_timers_rearm(dns);
}

int atd_dns_query(struct atd *d, const struct dns_name *q, uint16_t type, dnsquery_fn done, void *arg)
{
	struct atd_dns *dns = d->dns;

	if (!dns || !dns->acc.signed_in || !dns->conn)
		return -ENOTCONN;
	return dnsquery_send(dns->queries, dns->conn, &dns->key, q, type, done, arg);
}

int atd_dns_punch(struct atd *d, const struct agent_rr *rr, bool add)
{
	struct atd_dns *dns = d->dns;

	if (!dns || !dns->acc.signed_in)
		return -ENOTCONN;
	return atd_pub_punch(dns->pub, rr, add);
}

void atd_dns_query_cancel(struct atd *d, void *arg)
{
	if (d->dns && d->dns->queries)
		dnsquery_cancel(d->dns->queries, arg);
}

const struct atd_account *atd_account_get(struct atd *d)
{
	static const struct atd_account none;

	return d->dns ? &d->dns->acc : &none;
}

/* ---- login ---- */

struct login {
	struct atd_dns *dns;
	atd_account_done_fn cb;
	void *arg;
	struct dnsc_state st;
	struct dns_tsig_key key;
	struct dnsconn *conn;
	struct dns_name name;
	int phase;		/* 0: update SRV, 1: LLQ SRV */
	char host[DNSC_SERVER_MAX + 1];
	uint16_t port;
	struct event *done_ev;	/* the outcome is reported from the loop, never from inside the call */
	int err;
	char msg[400];
	struct claim *claim;	/* phase 2: whose is H.D */
	enum atd_pub_claim how;
	char note[400];
	char recovery[200];	/* the recovery key typed (enrol.h), "" when none */
};

static void login_free(struct login *l)
{
	if (l->dns->login == l)
		l->dns->login = NULL;
	dnsquery_cancel(l->dns->queries, l);
	claim_free(l->claim);
	dnsconn_free(l->conn);
	if (l->done_ev)
		event_free(l->done_ev);
	dnsc_state_wipe(&l->st);
	OPENSSL_cleanse(&l->key, sizeof(l->key));
	OPENSSL_cleanse(l->recovery, sizeof(l->recovery));
	free(l);
}

static bool d_authority(const struct atd_dns *dns);
static void enrol_failed(struct atd_dns *dns);
static void login_enrolled(void *arg, int err, const char *message, const char *recovery, const char *code);

static void login_report(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;
	struct atd_dns *dns = l->dns;
	atd_account_done_fn cb = l->cb;
	void *cbarg = l->arg;
	char msg[sizeof(l->msg)];
	int err = l->err;

	(void)fd, (void)what;
	memcpy(msg, l->msg, sizeof(msg));
	if (err == 0) {
		char why[300];

		dns->st = l->st;
		err = sign_in(dns, &l->how, why, sizeof(why));
		if (!err)
			memcpy(dns->acc.note, l->note, sizeof(dns->acc.note));
		if (err) {
			snprintf(msg, sizeof(msg), "login failed: %s", why);
			unlink(dns->state_path);
			dnsc_state_wipe(&dns->st);
		} else if (d_authority(dns)) {
			/* docs/authority.md §5: the login answers once this host is enrolled (or asks to join) */
			dns->enrol_cb = cb;
			dns->enrol_arg = cbarg;
			err = atd_enrol_login(dns->enrol, l->recovery[0] ? l->recovery : NULL, login_enrolled, dns, why,
					      sizeof(why));
			if (!err) {
				login_free(l);
				return;
			}
			dns->enrol_cb = NULL;
			snprintf(msg, sizeof(msg), "login failed: %s", why);
			enrol_failed(dns);
		}
	}
	login_free(l);
	if (err)
		log_warnx("%s", msg);
	if (cb)
		cb(dns->d, cbarg, err, msg);
}

static bool d_authority(const struct atd_dns *dns)
{
	return dns->d->conf.authority;
}

/* The enrolment of a login failed: the host does not stay signed in half enrolled. */
static void enrol_failed(struct atd_dns *dns)
{
	sign_out(dns);
	if (unlink(dns->state_path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s", dns->state_path);
}

static void login_enrolled(void *arg, int err, const char *message, const char *recovery, const char *code)
{
	struct atd_dns *dns = arg;
	atd_account_done_fn cb = dns->enrol_cb;
	void *cbarg = dns->enrol_arg;
	char msg[500];

	(void)code;	/* atd_enrol_code() tells it for as long as it is wanted */
	dns->enrol_cb = NULL;
	snprintf(msg, sizeof(msg), "%s%s", err ? "login failed: " : "", message ? message : "");
	if (err)
		enrol_failed(dns);
	else if (recovery)
		snprintf(dns->recovery, sizeof(dns->recovery), "%s", recovery);
	if (cb)
		cb(dns->d, cbarg, err, msg);
}

bool atd_account_recovery_take(struct atd *d, char *out, size_t cap)
{
	struct atd_dns *dns = d->dns;
	bool had = dns && dns->recovery[0];

	if (had)
		snprintf(out, cap, "%s", dns->recovery);
	if (dns)
		OPENSSL_cleanse(dns->recovery, sizeof(dns->recovery));
	return had;
}

struct atd_enrol *atd_dns_enrol(struct atd *d)
{
	return d->dns ? d->dns->enrol : NULL;
}

/* End the login (from a callback): report from the event loop. */
static void login_end(struct login *l, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void login_end(struct login *l, int err, const char *fmt, ...)
{
	struct timeval now = { 0, 0 };
	va_list ap;

	l->err = err;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	dnsquery_cancel(l->dns->queries, l);
	claim_free(l->claim);
	l->claim = NULL;
	evtimer_add(l->done_ev, &now);
}

/*
 * The server of an SRV answer for @p q: "ADDR:PORT" when the additional
 * section has the target's address, else "TARGET:PORT"; "" when it is the
 * server we logged in to (or the answer has none: the same server then).
 */
static void srv_server(const struct login *l, const struct dnsc_resp *r, const struct dns_name *q,
		       char out[static DNSC_SERVER_MAX + 1])
{
	struct dns_srv best = { 0 };
	bool found = false;
	char host[DNS_NAME_TEXT_MAX] = "", addr[INET6_ADDRSTRLEN];
	struct dnsc_rr rr;
	unsigned pos = 0;
	int n;

	out[0] = '\0';
	while (dnsc_rr_next(&r->msg, &pos, &rr) == 1) {
		struct dns_srv s;

		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_SRV || !dns_name_equal(&rr.owner, q) ||
		    dns_rdata_srv_read(&rr.rdata, &s) || s.port == 0)
			continue;
		/* RFC 2782: the lowest priority */
		if (!found || s.priority < best.priority) {
			best = s;
			found = true;
		}
	}
	if (!found)
		return;
	pos = 0;
	while (dnsc_rr_next(&r->msg, &pos, &rr) == 1) {
		uint8_t a[16];

		if (rr.sec != DNS_SEC_ADDITIONAL || !dns_name_equal(&rr.owner, &best.target))
			continue;
		if (rr.type == DNS_TYPE_A && dns_rdata_a_read(&rr.rdata, a) == 0 && a[0] != 0) {
			inet_ntop(AF_INET, a, addr, sizeof(addr));
			snprintf(host, sizeof(host), "%s", addr);
			break;
		}
		if (rr.type == DNS_TYPE_AAAA && dns_rdata_aaaa_read(&rr.rdata, a) == 0 && !host[0]) {
			inet_ntop(AF_INET6, a, addr, sizeof(addr));
			snprintf(host, sizeof(host), "[%s]", addr);
		}
	}
	if (!host[0]) {
		/*
		 * No address for the target: when it names the port we are
		 * using, it is taken to be the server we reached (a server
		 * whose name lies outside the zone has no glue, and resolving
		 * it from here could block); another port means another server.
		 */
		if (best.port == l->port)
			return;
		n = dns_name_to_text(&best.target, host, sizeof(host));
		if (n > 1)
			host[n - 1] = '\0';	/* no trailing dot */
	}
	{
		char h2[DNSC_SERVER_MAX + 1];
		uint16_t p2;
		char tmp[DNS_NAME_TEXT_MAX + 8];

		snprintf(tmp, sizeof(tmp), "%s:%u", host, best.port);
		if (dnsc_server_parse(tmp, h2, sizeof(h2), &p2, 853))
			return;
		if (strcasecmp(h2, l->host) == 0 && p2 == l->port)
			return;	/* the server we are talking to */
		snprintf(out, DNSC_SERVER_MAX + 1, "%.*s", DNSC_SERVER_MAX, tmp);
	}
}

static int login_ask(struct login *l);
static void login_claimed(void *arg, int err, enum atd_pub_claim how, const char *why);

static void login_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct login *l = arg;
	char b[16];

	if (err == -ECANCELED)
		return;
	if (err == -EACCES && r && r->server_rejected) {
		/* the TSIG key is derived from the password: a wrong one is BADSIG, no account BADKEY */
		login_end(l, -EACCES, "login failed: the server rejected our key (%s): wrong password or unknown account",
			  dnsc_rcode_name(r->tsig_error, b));
		return;
	}
	if (err && !r) {
		login_end(l, err, "login failed: cannot reach %s: %s", l->st.server, why);
		return;
	}
	if (err) {
		login_end(l, err, "login failed: %s", why);
		return;
	}
	if (r->rcode != DNS_RCODE_NOERROR && r->rcode != DNS_RCODE_NXDOMAIN) {
		login_end(l, -EPROTO, "login failed: %s", why);
		return;
	}
	/* through a parent, the SRV records are followed at each connection (dnsconn.h) */
	if (!l->st.parent[0])
		srv_server(l, r, &l->name, l->phase == 0 ? l->st.update_server : l->st.llq_server);
	if (l->phase == 0) {
		l->phase = 1;
		if ((err = login_ask(l)))
			login_end(l, err, "login failed: %s", strerror(-err));
		return;
	}
	/* before anything is published: is H.D free, ours, or another computer's? */
	l->phase = 2;
	l->claim = claim_start(l->dns->queries, l->conn, &l->key, l->st.domain, l->st.host, l->st.host, true, false,
			       l->dns->ops->local(l->dns->arg), l->dns->host_id, login_claimed, l);
	if (!l->claim)
		login_end(l, -ENOMEM, "login failed: %s", strerror(ENOMEM));
}

static void login_claimed(void *arg, int err, enum atd_pub_claim how, const char *why)
{
	struct login *l = arg;
	struct claim *c = l->claim;
	char acct[AGENT_LABEL_MAX + 1], why2[300];
	const char *dot = strchr(l->st.domain, '.');

	if (err == -EADDRINUSE) {
		login_end(l, err, "login failed: the name %s and %s-2 to %s-%d are all used by other computers "
			  "of the account", c->first, c->base, c->base, ALT_NAMES_MAX);
		return;
	}
	if (err) {
		login_end(l, err, "login failed: cannot check whether the name %s is free: %s", l->st.host, why);
		return;
	}
	l->how = how;
	if (strcmp(c->cand, l->st.host) != 0) {
		snprintf(acct, sizeof(acct), "%.*s", dot ? (int)(dot - l->st.domain) : 63, l->st.domain);
		claim_note(c, acct, "signs in as", l->note, sizeof(l->note));
		log_warnx("%s", l->note);
		snprintf(l->st.host, sizeof(l->st.host), "%s", c->cand);
	}
	if ((err = state_save(l->dns, &l->st, why2, sizeof(why2)))) {
		login_end(l, err, "login failed: %s", why2);
		return;
	}
	login_end(l, 0, "signed in as %s; this host is %s.%s", l->st.domain, l->st.host, l->st.domain);
}

/* Ask for _dns-update-tls._tcp.D (phase 0) or _dns-llq-tls._tcp.D (phase 1), docs/design.md §4. */
static int login_ask(struct login *l)
{
	const char *svc = l->phase == 0 ? "_dns-update-tls" : "_dns-llq-tls";
	struct dns_name d;

	if (dns_name_from_text(&d, l->st.domain))
		return -EINVAL;
	l->name = d;
	if (dns_name_prepend_label(&l->name, "_tcp", 4) || dns_name_prepend_label(&l->name, svc, strlen(svc)))
		return -EINVAL;
	return dnsquery_send(l->dns->queries, l->conn, &l->key, &l->name, DNS_TYPE_SRV, login_answer, l);
}

static int host_label(struct atd *d, char out[static 64], char *why, size_t whylen)
{
	char host[256];

	if (d->conf.hostname)
		snprintf(host, sizeof(host), "%s", d->conf.hostname);
	else if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return agent_host_label(out, host, why, whylen) < 0 ? -EINVAL : 0;
}

static void base_label(struct atd *d, char out[static 64], const char *fallback)
{
	char why[200];

	if (host_label(d, out, why, sizeof(why)))
		snprintf(out, 64, "%s", fallback);
}

int atd_account_login(struct atd *d, const char *account, const char *server, const char *pin,
		      const char *ca, const uint8_t tsig_key[static 32],
		      const uint8_t ike_key[static 32], const char *recovery, atd_account_done_fn cb, void *arg)
{
	struct atd_dns *dns = d->dns;
	static const struct dnsconn_ops ops = { NULL, NULL, NULL };
	struct dnsconn_cfg cfg = { .timeout_ms = LOGIN_TIMEOUT_MS, .connect_timeout_ms = LOGIN_TIMEOUT_MS };
	struct login *l;
	char why[300], dom[300];
	int rc;

	if (!dns)
		return -ENODEV;
	if (dns->acc.signed_in)
		return -EALREADY;
	if (dns->login || dns->logging_out)
		return -EINPROGRESS;
	if (!account || !server || (!pin == !ca) || (ca && ca[0] != '/'))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->dns = dns;
	l->cb = cb;
	l->arg = arg;
	/* "parent:HOST[:PORT]" (autotunnel login --parent): the server of the parent zone */
	if (strncmp(server, "parent:", 7) == 0) {
		server += 7;
		snprintf(l->st.parent, sizeof(l->st.parent), "%s", server);
	}
	/* a bare account name lives in the default zone (docs/design.md §4) */
	snprintf(dom, sizeof(dom), strchr(account, '.') ? "%s" : "%s." DEFAULT_ZONE, account);
	if (agent_name_canon(l->st.domain, sizeof(l->st.domain), dom) < 0 ||
	    !strchr(l->st.domain, '.') || host_label(d, l->st.host, why, sizeof(why)) ||
	    dnsc_server_parse(server, l->host, sizeof(l->host), &l->port, 853) ||
	    strlen(server) > DNSC_SERVER_MAX || (pin && strlen(pin) > DNSC_PIN_MAX) ||
	    (ca && strlen(ca) > DNSC_PATH_MAX)) {
		free(l);
		return -EINVAL;
	}
	if (recovery && strlen(recovery) >= sizeof(l->recovery)) {
		free(l);
		return -EINVAL;
	}
	snprintf(l->recovery, sizeof(l->recovery), "%s", recovery ? recovery : "");
	snprintf(l->st.server, sizeof(l->st.server), "%s", server);
	snprintf(l->st.pin, sizeof(l->st.pin), "%s", pin ? pin : "");
	snprintf(l->st.ca, sizeof(l->st.ca), "%s", ca ? ca : "");
	memcpy(l->st.tsig_key, tsig_key, 32);
	memcpy(l->st.ike_key, ike_key, 32);
	if (dnsc_account_key(&l->key, l->st.domain, tsig_key) ||
	    !(l->done_ev = evtimer_new(d->base, login_report, l))) {
		login_free(l);
		return -EINVAL;
	}
	dns->login = l;
	cfg.host = l->host;
	cfg.port = l->port;
	if (l->st.parent[0]) {
		cfg.host = NULL;
		cfg.parent = l->st.parent;
		cfg.domain = l->st.domain;
	}
	cfg.pin = pin;
	cfg.ca_file = ca;
	l->conn = dnsconn_new(d->base, &cfg, &ops, l, why, sizeof(why));
	if (!l->conn) {
		login_end(l, -EINVAL, "login failed: %s", why);
		return 0;
	}
	log_info("signing in to %s at %s%s", l->st.domain, l->st.parent[0] ? "the primary delegated by " : "", server);
	if ((rc = login_ask(l)))
		login_end(l, rc, "login failed: %s", strerror(-rc));
	return 0;
}

void atd_account_forget(struct atd *d, void *arg)
{
	struct atd_dns *dns = d->dns;

	if (!dns)
		return;
	if (dns->login && dns->login->arg == arg)
		dns->login->cb = NULL;
	if (dns->enrol_cb && dns->enrol_arg == arg)
		dns->enrol_cb = NULL;
	atd_enrol_forget(dns->enrol, arg);
	if (dns->logging_out && dns->logout_arg == arg)
		dns->logout_cb = NULL;
}

/* ---- logout ---- */

static void logout_withdrawn(void *arg0)
{
	struct atd_dns *dns = arg0;
	struct atd *d = dns->d;
	atd_account_done_fn cb = dns->logout_cb;
	void *arg = dns->logout_arg;
	char msg[400];

	snprintf(msg, sizeof(msg), "signed out of %s; this host's records are withdrawn and its keys forgotten",
		 dns->acc.domain);
	sign_out(dns);
	/* forget the keys (the state file held them) */
	if (unlink(dns->state_path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s", dns->state_path);
	dns->logging_out = false;
	dns->logout_cb = NULL;
	log_info("%s", msg);
	if (cb)
		cb(d, arg, 0, msg);
}

int atd_account_logout(struct atd *d, atd_account_done_fn cb, void *arg)
{
	struct atd_dns *dns = d->dns;

	if (!dns || !dns->acc.signed_in)
		return -ENOENT;
	if (dns->login || dns->logging_out)
		return -EINPROGRESS;
	dns->logging_out = true;
	dns->logout_cb = cb;
	dns->logout_arg = arg;
	atd_enrol_withdraw(dns->enrol);
	atd_pub_withdraw(dns->pub, logout_withdrawn, dns);
	return 0;
}

void atd_account_write(struct atd *d, struct agent_ctl_writer *cw)
{
	struct atd_dns *dns = d->dns;

	agent_ctl_write_rec(cw, AGENT_CTL_R_ACCOUNT);
	agent_ctl_write_bool(cw, AGENT_CTL_F_SIGNED_IN, dns && dns->acc.signed_in);
	if (!dns || !dns->acc.signed_in)
		return;
	agent_ctl_write_str(cw, AGENT_CTL_F_NAME, dns->acc.name);
	agent_ctl_write_str(cw, AGENT_CTL_F_DOMAIN, dns->acc.domain);
	agent_ctl_write_str(cw, AGENT_CTL_F_SERVER, dns->acc.server);
	if (dns->acc.note[0])
		agent_ctl_write_str(cw, AGENT_CTL_F_DETAIL, dns->acc.note);
	if (atd_enrol_role(dns->enrol))
		agent_ctl_write_str(cw, AGENT_CTL_F_AUTHORITY, atd_enrol_role(dns->enrol));
	if (atd_enrol_code(dns->enrol))
		agent_ctl_write_str(cw, AGENT_CTL_F_JOIN_CODE, atd_enrol_code(dns->enrol));
	{
		struct atd_watch_status ws;

		atd_watch_status(dns->watch, &ws);
		agent_ctl_write_uint(cw, AGENT_CTL_F_HOSTS, ws.hosts);
	}
}

void atd_dns_local(struct atd *d, const struct atd_local_info *li)
{
	if (d->dns)
		atd_pub_local(d->dns->pub, li);
}

void atd_dns_withdraw(struct atd *d, void (*done)(void *arg), void *arg)
{
	atd_pub_withdraw(d->dns ? d->dns->pub : NULL, done, arg);
}

struct atd_pub *atd_dns_pub(struct atd *d)
{
	return d->dns ? d->dns->pub : NULL;
}

struct atd_watch *atd_dns_watch(struct atd *d)
{
	return d->dns ? d->dns->watch : NULL;
}
