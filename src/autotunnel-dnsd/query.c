#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "dns/edns.h"
#include "dso/dso.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/zone.h"
#include "stun/turn_cred.h"

/* RFC 2308 §5: negative answers are cached for min(SOA TTL, MINIMUM).
 * Dynamic data changes often: keep it short. */
#define SOA_REFRESH 3600
#define SOA_RETRY 600
#define SOA_EXPIRE 1209600
#define SOA_MINIMUM 60
#define CNAME_CHAIN_MAX 8

/* Who an SRV record synthesised in every account domain names. */
enum synth_kind {
	SYNTH_DNS,	/* this server, its UDP/TCP port */
	SYNTH_DNS_TLS,	/* this server, its DNS over TLS port */
	SYNTH_PUSH_TLS,	/* the same, when DNS Push is offered */
	SYNTH_STUN,	/* stun-server */
	SYNTH_TURN,	/* turn-server */
	SYNTH_TURNS,	/* turns-server */
};

/* The SRV names synthesised in every account domain (docs/design.md §4): the
 * server's own (RFC 6281 §4, RFC 8764 §3) and, when configured, STUN and
 * TURN servers (RFC 5389 §9, RFC 5928 §4). */
static const struct {
	const char *l1, *l2;	/* service and protocol labels */
	enum synth_kind kind;
} synth[] = {
	{ "_dns-update-tls", "_tcp", SYNTH_DNS_TLS },
	{ "_dns-llq-tls", "_tcp", SYNTH_DNS_TLS },
	{ "_dns-push-tls", "_tcp", SYNTH_PUSH_TLS },	/* RFC 8765 §6.1 */
	{ "_dns-update", "_udp", SYNTH_DNS },
	{ "_dns-llq", "_udp", SYNTH_DNS },
	{ "_stun", "_udp", SYNTH_STUN },
	{ "_turn", "_udp", SYNTH_TURN },
	{ "_turn", "_tcp", SYNTH_TURN },
	{ "_turns", "_tcp", SYNTH_TURNS },
};

static bool label_is(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);

	return l[0] == n && memcmp(l + 1, s, n) == 0;
}

/* The SRV data of synthesised record @p kind: false when not offered. */
static bool synth_srv(const struct dnsd *d, enum synth_kind kind, struct dns_srv *srv)
{
	const struct dnsd_srv *svc = NULL;

	memset(srv, 0, sizeof(*srv));
	switch (kind) {
	case SYNTH_DNS:
		srv->port = d->udp_port;
		srv->target = d->server_name;
		return true;
	case SYNTH_DNS_TLS:
	case SYNTH_PUSH_TLS:
		srv->port = d->tls_port;
		srv->target = d->server_name;
		return d->tls_port != 0 && (kind != SYNTH_PUSH_TLS || !d->cfg || d->cfg->push);
	case SYNTH_STUN: svc = &d->stun; break;
	case SYNTH_TURN: svc = &d->turn; break;
	case SYNTH_TURNS: svc = &d->turns; break;
	}
	if (!svc || !svc->set)
		return false;
	srv->port = svc->port;
	srv->target = svc->target;
	return true;
}

/*
 * Which synthesised record @p lname is: -1 for none, or one not offered.
 * *@p acc gets the account whose domain it is in (checked to exist).
 */
static int synth_index(const struct dnsd *d, const uint8_t *lname, size_t len,
		       const struct account **acc)
{
	const uint8_t *l2;
	size_t rest;
	struct dns_srv srv;

	if (lname[0] == 0 || len < 2u + lname[0])
		return -1;
	l2 = lname + 1 + lname[0];
	if (l2[0] == 0)
		return -1;
	rest = len - (size_t)(l2 + 1 + l2[0] - lname);
	for (size_t i = 0; i < sizeof(synth) / sizeof(synth[0]); i++) {
		if (!label_is(lname, synth[i].l1) || !label_is(l2, synth[i].l2))
			continue;
		if (!synth_srv(d, synth[i].kind, &srv))
			return -1;
		/* the rest must be exactly D */
		*acc = accounts_owner(d->accounts, l2 + 1 + l2[0], rest);
		if (!*acc || accounts_label_offset(d->accounts, l2 + 1 + l2[0], rest) != 0)
			return -1;
		return (int)i;
	}
	return -1;
}

/*
 * True when @p lname is _turn-credential.D for an account label D below
 * the apex (whether or not the account exists): the name where a host
 * asks for its TURN credential (docs/relay.md).
 */
static bool is_turn_credential(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	if (lname[0] == 0 || len < 2u + lname[0] || !label_is(lname, "_turn-credential"))
		return false;
	return accounts_label_offset(d->accounts, lname + 1 + lname[0], len - 1 - lname[0]) == 0;
}

/*
 * The TURN credential of @p acc as TXT "username=..." "password=..."
 * "ttl=...", with TTL 0 so that no resolver keeps it (coturn's
 * use-auth-secret scheme, lib/stun/turn_cred.h). Returns the records
 * added (0 when the secret is not configured or the type is not asked).
 */
static int add_turn_credential(const struct dnsd *d, struct dns_builder *b, const struct dns_name *owner,
			       const struct account *acc, uint16_t qtype)
{
	char user[TURN_CRED_USERNAME_MAX + 1], pass[TURN_CRED_PASSWORD_LEN + 1], str[3][64 + TURN_CRED_USERNAME_MAX];
	uint8_t rd[3 * (1 + 64 + TURN_CRED_USERNAME_MAX)];
	size_t off = 0;
	int rc;

	if (!d->cfg->turn_secret || (qtype != DNS_TYPE_TXT && qtype != DNS_TYPE_ANY))
		return 0;
	if (turn_cred_make(d->cfg->turn_secret, d->cfg->turn_secret_len, acc->label, clock_wall_s(),
			   (uint32_t)d->cfg->turn_credential_ttl, user, sizeof(user), pass, sizeof(pass)))
		return 0;
	snprintf(str[0], sizeof(str[0]), "username=%s", user);
	snprintf(str[1], sizeof(str[1]), "password=%s", pass);
	snprintf(str[2], sizeof(str[2]), "ttl=%d", d->cfg->turn_credential_ttl);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(str[i]);	/* < 256: a TXT character-string */

		rd[off++] = (uint8_t)n;
		memcpy(rd + off, str[i], n);
		off += n;
	}
	rc = dns_builder_add_raw(b, owner, DNS_TYPE_TXT, DNS_CLASS_IN, 0, rd, (uint16_t)off);
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(str[1], sizeof(str[1]));
	OPENSSL_cleanse(rd, sizeof(rd));
	return rc == 0;
}

bool query_is_synthesised(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	const uint8_t *l2;

	/* any name of the four forms below any account label is reserved,
	 * whether or not that account exists yet; so is _kdf.D */
	if (accounts_is_kdf_name(d->accounts, lname, len))
		return true;
	if (lname[0] == 0 || len < 2u + lname[0])
		return false;
	l2 = lname + 1 + lname[0];
	for (size_t i = 0; i < sizeof(synth) / sizeof(synth[0]); i++) {
		if (label_is(lname, synth[i].l1) && label_is(l2, synth[i].l2)) {
			size_t rest = len - (size_t)(l2 + 1 + l2[0] - lname);

			return accounts_label_offset(d->accounts, l2 + 1 + l2[0], rest) == 0;
		}
	}
	return is_turn_credential(d, lname, len);
}

/* True when @p lname is D, _tcp.D or _udp.D of an existing account: names
 * that exist because of the synthesised records below them. */
static bool synth_ent(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	int off = accounts_label_offset(d->accounts, lname, len);

	if (off < 0 || !accounts_owner(d->accounts, lname, len))
		return false;
	if (off == 0)
		return true;
	return off == 1 + lname[0] && (label_is(lname, "_tcp") || label_is(lname, "_udp"));
}

/* True when @p lname is an account domain D (every one is a zone of its own). */
static bool is_account_domain(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	return accounts_label_offset(d->accounts, lname, len) == 0 &&
	       accounts_owner(d->accounts, lname, len) != NULL;
}

/* The zone holding @p lname (in the served zone): its account domain D,
 * or the apex for names outside every account domain. */
static const struct dns_name *zone_of(const struct dnsd *d, const uint8_t *lname, size_t len)
{
	const struct account *a = accounts_owner(d->accounts, lname, len);

	return a ? &a->key.name : &d->apex;
}

void query_soa(const struct dnsd *d, struct dns_soa *soa)
{
	soa->mname = d->server_name;
	soa->rname = d->hostmaster;
	soa->serial = dnsd_serial(d);
	soa->refresh = SOA_REFRESH;
	soa->retry = SOA_RETRY;
	soa->expire = SOA_EXPIRE;
	soa->minimum = SOA_MINIMUM;
}

int query_key_lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	const struct dnsd *d = arg;
	const struct account *a = accounts_by_keyname(d->accounts, name);

	if (!a)
		return -ENOENT;
	*out = a->key;
	return 0;
}

/* ---- building answers ---- */

/* The SOA of zone @p zone (the apex or an account domain: the same fields,
 * RFC 1035 §3.3.13), for the answer or, @p negative, the authority
 * section of a negative answer (RFC 2308 §3). */
static void add_soa(const struct dnsd *d, struct dns_builder *b, const struct dns_name *zone,
		    bool negative)
{
	struct dns_soa soa;
	uint32_t ttl = (uint32_t)d->cfg->ttl;

	query_soa(d, &soa);
	if (negative && ttl > SOA_MINIMUM)
		ttl = SOA_MINIMUM;
	(void)dns_builder_add_soa(b, zone, ttl, &soa);
}

/* Addresses of this server's name, when it lies in the zone. */
static int add_glue(const struct dnsd *d, struct dns_builder *b, uint16_t type)
{
	int n = 0;

	if (!d->server_in_zone)
		return 0;
	if (type == DNS_TYPE_A || type == DNS_TYPE_ANY)
		for (int i = 0; i < d->n_v4; i++, n++)
			(void)dns_builder_add_a(b, &d->server_name, (uint32_t)d->cfg->ttl, d->v4[i]);
	if (type == DNS_TYPE_AAAA || type == DNS_TYPE_ANY)
		for (int i = 0; i < d->n_v6; i++, n++)
			(void)dns_builder_add_aaaa(b, &d->server_name, (uint32_t)d->cfg->ttl, d->v6[i]);
	return n;
}

/* May the answer to a question about an owner in @p owner's domain
 * include data at @p lname? Only data of the same account, or public data. */
static bool visible(const struct dnsd *d, const struct account *owner, const uint8_t *lname, size_t len)
{
	const struct account *a;

	if (!d->cfg->private_zone)
		return true;
	a = accounts_owner(d->accounts, lname, len);
	return a == NULL || a == owner;
}

/* The addresses of an SRV target, in the additional section (RFC 2782). */
static void add_target_addresses(const struct dnsd *d, struct dns_builder *b,
				 const struct account *owner, const uint8_t *rdata, uint16_t rdlen)
{
	struct wire r = wire_reader(rdata, rdlen);
	struct dns_srv srv;
	uint8_t lt[DNS_NAME_MAX];
	const struct znode *n;

	if (dns_rdata_srv_read(&r, &srv))
		return;
	zone_name_lower(lt, srv.target.wire, srv.target.len);
	if (d->server_in_zone && srv.target.len == d->server_name.len &&
	    memcmp(lt, d->lserver, srv.target.len) == 0) {
		add_glue(d, b, DNS_TYPE_ANY);
		return;
	}
	if (dnsd_zone_offset(d, lt, srv.target.len) < 0 || !visible(d, owner, lt, srv.target.len))
		return;
	n = zone_find(d->zone, lt, srv.target.len);
	for (const struct zrr *r2 = n ? n->rrs : NULL; r2; r2 = r2->next)
		if (r2->type == DNS_TYPE_A || r2->type == DNS_TYPE_AAAA)
			(void)dns_builder_add_raw(b, &srv.target, r2->type, DNS_CLASS_IN, r2->ttl,
						  r2->rdata, r2->rdlen);
}

/* The records of @p n answering @p qtype; @return how many. */
static int add_rrset(struct dns_builder *b, const struct dns_name *owner, const struct znode *n,
		     uint16_t qtype)
{
	int count = 0;

	for (const struct zrr *r = n->rrs; r; r = r->next) {
		if (qtype != DNS_TYPE_ANY && r->type != qtype)
			continue;
		(void)dns_builder_add_raw(b, owner, r->type, DNS_CLASS_IN, r->ttl, r->rdata, r->rdlen);
		count++;
	}
	return count;
}

/*
 * SOA and NS at the top of zone @p zone (the apex or an account domain D:
 * every account domain is a zone this server serves, RFC 1034 §4.2, so
 * that a client finds it as the zone of its names, RFC 2136 §4).
 * @return how many records were added to the answer section.
 */
static int add_zone_top(struct dnsd *d, struct dns_builder *b, const struct dns_name *zone,
			uint16_t qtype)
{
	int n = 0;

	if (qtype == DNS_TYPE_SOA || qtype == DNS_TYPE_ANY) {
		add_soa(d, b, zone, false);
		n++;
	}
	if (qtype == DNS_TYPE_NS || qtype == DNS_TYPE_ANY) {
		(void)dns_builder_add_name(b, zone, DNS_TYPE_NS, (uint32_t)d->cfg->ttl, &d->server_name);
		n++;
	}
	return n;
}

static unsigned answer_zone_top(struct dnsd *d, struct dns_builder *b, const struct dns_name *zone,
				uint16_t qtype)
{
	if (add_zone_top(d, b, zone, qtype) == 0) {
		(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
		add_soa(d, b, zone, true);
		return DNS_RCODE_NOERROR;
	}
	if (qtype == DNS_TYPE_NS || qtype == DNS_TYPE_ANY) {
		(void)dns_builder_section(b, DNS_SEC_ADDITIONAL);
		add_glue(d, b, DNS_TYPE_ANY);
	}
	return DNS_RCODE_NOERROR;
}

/* _kdf.D: the account's key derivation parameters, public (docs/design.md §6). TTL 0:
 * they change with the password, and a stale copy derives the wrong keys. */
static unsigned answer_kdf(struct dnsd *d, struct dns_builder *b, const struct qreq *rq, struct stats *st)
{
	uint8_t rd[256];
	int n = accounts_kdf_rdata(d->accounts, rq->lname, rq->qname.len, rd, sizeof(rd));

	stat_inc(st, n < 0 ? STAT_answer_nxdomain : STAT_answer_synthesised);
	if (n >= 0 && (rq->qtype == DNS_TYPE_TXT || rq->qtype == DNS_TYPE_ANY)) {
		(void)dns_builder_add_raw(b, &rq->qname, DNS_TYPE_TXT, DNS_CLASS_IN, 0, rd, (uint16_t)n);
		return DNS_RCODE_NOERROR;
	}
	(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
	add_soa(d, b, zone_of(d, rq->lname, rq->qname.len), true);
	return n < 0 ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR;
}

unsigned query_answer(struct dnsd *d, struct qscratch *s, const struct qreq *rq, struct stats *st)
{
	struct dns_builder *b = &s->b;
	const struct account *acc;
	const struct znode *n;
	struct dns_name owner = rq->qname, target;
	uint8_t lname[DNS_NAME_MAX];
	size_t len = rq->qname.len;
	uint16_t qtype = rq->qtype;
	int idx, count = 0;

	memcpy(lname, rq->lname, len);
	if (len == d->apex.len) {	/* in the zone and as long as the apex: the apex */
		stat_inc(st, STAT_answer_noerror);
		return answer_zone_top(d, b, &d->apex, qtype);
	}
	if (accounts_is_kdf_name(d->accounts, lname, len))
		return answer_kdf(d, b, rq, st);
	idx = synth_index(d, lname, len, &acc);
	if (idx >= 0) {
		struct dns_srv srv;

		stat_inc(st, STAT_answer_synthesised);
		if ((qtype == DNS_TYPE_SRV || qtype == DNS_TYPE_ANY) && synth_srv(d, synth[idx].kind, &srv)) {
			(void)dns_builder_add_srv(b, &owner, (uint32_t)d->cfg->ttl, &srv);
			(void)dns_builder_section(b, DNS_SEC_ADDITIONAL);
			if (dns_name_equal(&srv.target, &d->server_name))
				add_glue(d, b, DNS_TYPE_ANY);
			return DNS_RCODE_NOERROR;
		}
		(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
		add_soa(d, b, &acc->key.name, true);
		return DNS_RCODE_NOERROR;
	}
	if (!rq->public_only && rq->owner && is_turn_credential(d, lname, len)) {
		/* query_check() let only the owner's signed query through */
		stat_inc(st, STAT_answer_synthesised);
		if (add_turn_credential(d, b, &owner, rq->owner, qtype) > 0)
			return DNS_RCODE_NOERROR;
		(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
		add_soa(d, b, &rq->owner->key.name, true);
		return DNS_RCODE_NOERROR;
	}
	if (is_account_domain(d, lname, len) &&
	    (qtype == DNS_TYPE_SOA || qtype == DNS_TYPE_NS || (qtype == DNS_TYPE_ANY && rq->public_only))) {
		/* public: SOA and NS at D (RFC 8482 §4.2: ANY without the key, only these) */
		stat_inc(st, STAT_answer_noerror);
		return answer_zone_top(d, b, zone_of(d, lname, len), qtype);
	}
	if (rq->public_only) {
		/*
		 * A private name (or a private type at D) asked without D's
		 * key: the same answer whether or not it exists, NODATA with
		 * D's SOA (RFC 2308 §2.2). It tells nothing: every name at or
		 * below D answers so, and the SOA names the zone a client
		 * walking up for it looks for (RFC 2136 §4, RFC 6763 §11).
		 */
		(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
		add_soa(d, b, zone_of(d, lname, len), true);
		return DNS_RCODE_NOERROR;
	}
	if (d->server_in_zone && len == d->server_name.len && memcmp(lname, d->lserver, len) == 0) {
		if (add_glue(d, b, qtype) > 0) {
			stat_inc(st, STAT_answer_noerror);
			return DNS_RCODE_NOERROR;
		}
		(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
		add_soa(d, b, &d->apex, true);
		stat_inc(st, STAT_answer_nodata);
		return DNS_RCODE_NOERROR;
	}
	if (qtype == DNS_TYPE_ANY && is_account_domain(d, lname, len))
		count += add_zone_top(d, b, zone_of(d, lname, len), qtype);

	n = zone_find(d->zone, lname, len);
	for (int chain = 0; n && chain < CNAME_CHAIN_MAX; chain++) {
		const struct zrr *cname;
		struct wire r;
		int c = add_rrset(b, &owner, n, qtype);

		count += c;
		if (c || qtype == DNS_TYPE_CNAME || !(cname = znode_first(n, DNS_TYPE_CNAME)))
			break;
		/* RFC 1034 §4.3.2: follow a CNAME within the zone */
		(void)dns_builder_add_raw(b, &owner, DNS_TYPE_CNAME, DNS_CLASS_IN, cname->ttl,
					  cname->rdata, cname->rdlen);
		count++;
		r = wire_reader(cname->rdata, cname->rdlen);
		if (dns_rdata_name_read(&r, &target))
			break;
		owner = target;
		len = target.len;
		zone_name_lower(lname, target.wire, len);
		if (dnsd_zone_offset(d, lname, len) < 0 || !visible(d, rq->owner, lname, len))
			break;
		n = zone_find(d->zone, lname, len);
	}
	if (count) {
		const struct znode *qn = zone_find(d->zone, lname, len);

		stat_inc(st, STAT_answer_noerror);
		if (qn && (qtype == DNS_TYPE_SRV || qtype == DNS_TYPE_ANY)) {
			(void)dns_builder_section(b, DNS_SEC_ADDITIONAL);
			for (const struct zrr *r = znode_first(qn, DNS_TYPE_SRV); r && r->type == DNS_TYPE_SRV;
			     r = r->next)
				add_target_addresses(d, b, rq->owner, r->rdata, r->rdlen);
		}
		return DNS_RCODE_NOERROR;
	}
	(void)dns_builder_section(b, DNS_SEC_AUTHORITY);
	if (dnsd_zone_offset(d, lname, len) >= 0)
		add_soa(d, b, zone_of(d, lname, len), true);
	else
		add_soa(d, b, &d->apex, true);
	if (znode_exists(n) || synth_ent(d, lname, len)) {
		stat_inc(st, STAT_answer_nodata);
		return DNS_RCODE_NOERROR;
	}
	stat_inc(st, STAT_answer_nxdomain);
	return DNS_RCODE_NXDOMAIN;
}

/* ---- the request ---- */

static uint16_t udp_limit(const struct dns_msg *m)
{
	uint16_t sz;

	if (!m->edns.present)
		return DNS_UDP_MIN;
	/* RFC 6891 §6.2.3: below 512 counts as 512; we send at most 1232 */
	sz = m->edns.udp_size < DNS_UDP_MIN ? DNS_UDP_MIN : m->edns.udp_size;
	return sz > DNS_EDNS_SERVER_UDP ? DNS_EDNS_SERVER_UDP : sz;
}

/* An answer with only the question (if any), an rcode and EDNS. */
static enum q_action error_reply(struct qscratch *s, unsigned rcode, uint16_t limit, uint8_t *out,
				 size_t cap, size_t *outlen)
{
	const struct dns_msg *m = &s->msg;
	size_t len;

	if (dns_builder_reply(&s->b, out, cap, limit, m) == 0) {
		dns_builder_set_flags(&s->b, s->b.flags & (uint16_t)~DNS_FLAG_AA);
		if (m->edns.present || rcode > 15)
			dns_builder_edns(&s->b, DNS_EDNS_SERVER_UDP, 0);
		dns_builder_set_rcode(&s->b, rcode);
		if (dns_builder_finish(&s->b, &len) == 0) {
			*outlen = len;
			return Q_REPLY;
		}
	}
	*outlen = (size_t)dns_msg_error_header(out, cap, &m->hdr, rcode & DNS_RCODE_MASK);
	return Q_REPLY;
}

int query_begin(struct dnsd *d, struct qscratch *s, const struct qreq *rq, uint8_t *out, size_t cap)
{
	struct dns_builder *b = &s->b;
	int rc = dns_builder_reply(b, out, cap, rq->limit, &s->msg);

	if (rc)
		return rc;
	dns_builder_set_flags(b, (uint16_t)(b->flags | DNS_FLAG_AA));
	if (rq->tsig)
		dns_builder_reserve(b, dns_tsig_space(&s->tsig));
	if (rq->edns)
		dns_builder_edns(b, DNS_EDNS_SERVER_UDP, 0);
	return dns_builder_section(b, DNS_SEC_ANSWER);
}

int query_finish(struct dnsd *d, struct qscratch *s, const struct qreq *rq, uint8_t *out, size_t cap,
		 size_t *outlen)
{
	int rc = dns_builder_finish(&s->b, outlen);

	if (rc == 0 && rq->tsig)
		rc = dns_tsig_sign_response(&s->tsig, out, *outlen, cap, outlen, clock_wall_s());
	return rc;
}

/* The TSIG error answer: NOTAUTH with the TSIG error (RFC 8945 §5.2). */
static enum q_action tsig_error_reply(struct qscratch *s, struct stats *st, uint16_t limit,
				      uint8_t *out, size_t cap, size_t *outlen)
{
	size_t len;

	switch (s->tsig.error) {
	case DNS_RCODE_BADKEY: stat_inc(st, STAT_notauth_badkey); break;
	case DNS_RCODE_BADSIG: stat_inc(st, STAT_notauth_badsig); break;
	case DNS_RCODE_BADTIME: stat_inc(st, STAT_notauth_badtime); break;
	default: stat_inc(st, STAT_notauth_badtrunc); break;
	}
	if (dns_builder_reply(&s->b, out, cap, limit, &s->msg) == 0) {
		dns_builder_reserve(&s->b, dns_tsig_space(&s->tsig));
		if (s->msg.edns.present)
			dns_builder_edns(&s->b, DNS_EDNS_SERVER_UDP, 0);
		dns_builder_set_rcode(&s->b, DNS_RCODE_NOTAUTH);
		if (dns_builder_finish(&s->b, &len) == 0 &&
		    dns_tsig_sign_response(&s->tsig, out, len, cap, outlen, clock_wall_s()) == 0)
			return Q_REPLY;
	}
	return error_reply(s, DNS_RCODE_NOTAUTH, limit, out, cap, outlen);
}

/*
 * An error answer to @p rq: signed when the request was (RFC 8945 §5.3:
 * every answer to a validly signed request is signed, errors included),
 * else only the question, the rcode and EDNS.
 */
static enum q_action rcode_reply(struct dnsd *d, struct qscratch *s, const struct qreq *rq, unsigned rcode,
				 uint8_t *out, size_t cap, size_t *outlen)
{
	if (rq->tsig && dns_builder_reply(&s->b, out, cap, rq->limit, &s->msg) == 0) {
		dns_builder_set_flags(&s->b, s->b.flags & (uint16_t)~DNS_FLAG_AA);
		dns_builder_reserve(&s->b, dns_tsig_space(&s->tsig));
		if (s->msg.edns.present || rcode > 15)
			dns_builder_edns(&s->b, DNS_EDNS_SERVER_UDP, 0);
		dns_builder_set_rcode(&s->b, rcode);
		if (query_finish(d, s, rq, out, cap, outlen) == 0)
			return Q_REPLY;
	}
	return error_reply(s, rcode, rq->limit, out, cap, outlen);
}

/*
 * The answer for a name of an account that moved to another primary
 * (docs/dnsd.md "Moving an account"): a referral as its parent gives it
 * (RFC 1034 §4.3.2 step 3b): no AA, D's NS record naming the new primary
 * in the authority section, its addresses in the additional section. The
 * same for every name and type at or below D and for anyone, signed or
 * not: the account's key is no longer here to sign with, and the
 * delegation is public in the parent anyway.
 */
static enum q_action referral(struct dnsd *d, struct qscratch *s, struct stats *st,
			      const struct account_moved *mv, uint16_t limit, uint8_t *out, size_t cap,
			      size_t *outlen)
{
	struct dns_builder *b = &s->b;
	uint32_t ttl = (uint32_t)d->cfg->ttl;
	size_t len;

	stat_inc(st, STAT_referral_moved);
	if (dns_builder_reply(b, out, cap, limit, &s->msg) == 0) {
		dns_builder_set_flags(b, b->flags & (uint16_t)~DNS_FLAG_AA);
		if (s->msg.edns.present)
			dns_builder_edns(b, DNS_EDNS_SERVER_UDP, 0);
		if (dns_builder_section(b, DNS_SEC_AUTHORITY) == 0 &&
		    dns_builder_add_name(b, &mv->domain, DNS_TYPE_NS, ttl, &mv->target) == 0 &&
		    dns_builder_section(b, DNS_SEC_ADDITIONAL) == 0) {
			for (int i = 0; i < mv->n_v4; i++)
				(void)dns_builder_add_a(b, &mv->target, ttl, mv->v4[i]);
			for (int i = 0; i < mv->n_v6; i++)
				(void)dns_builder_add_aaaa(b, &mv->target, ttl, mv->v6[i]);
		}
		if (dns_builder_finish(b, &len) == 0) {
			*outlen = len;
			return Q_REPLY;
		}
	}
	return error_reply(s, DNS_RCODE_SERVFAIL, limit, out, cap, outlen);
}

/*
 * Is the question @p rq one of the public records of the account domain
 * D holding it: SOA and NS at D, or a synthesised SRV name (with any
 * type: the answer is the record or NODATA, and UPDATE cannot add others
 * there)? They name the zone and the servers, nothing of the account.
 * An LLQ (@p llq) gets only the types no UPDATE or expiry can ever change
 * (SOA and NS at D, SRV at a synthesised name), so that no event tells
 * anything of the account: not ANY at D, which D's own data would answer.
 */
static bool is_public(const struct dnsd *d, const struct qreq *rq, bool llq)
{
	const struct account *acc;

	if (is_account_domain(d, rq->lname, rq->qname.len))
		return rq->qtype == DNS_TYPE_SOA || rq->qtype == DNS_TYPE_NS ||
		       (rq->qtype == DNS_TYPE_ANY && !llq);
	return synth_index(d, rq->lname, rq->qname.len, &acc) >= 0 && (!llq || rq->qtype == DNS_TYPE_SRV);
}

enum q_action query_check(struct dnsd *d, struct qscratch *s, struct stats *st, enum q_transport t,
			  struct qreq *rq, uint8_t *out, size_t cap, size_t *outlen)
{
	const struct dns_msg *m = &s->msg;
	const struct dns_question *q = &m->qd[0];
	struct wire opt;
	int rc;

	memset(rq, 0, offsetof(struct qreq, qname));
	if (m->tsig >= 0)	/* the caller calls dns_tsig_fini() whenever m->tsig >= 0 */
		memset(&s->tsig, 0, sizeof(s->tsig));
	rq->limit = t == Q_UDP ? udp_limit(m) : DNS_MSG_MAX_LEN;
	rq->edns = m->edns.present;
	/* a moved account's names: the referral comes before the TSIG, whose
	 * key left with the account (it would only say BADKEY) */
	if (m->count[DNS_SEC_QUESTION] == 1 && dns_msg_name(m, q->name, &rq->qname) == 0) {
		const struct account_moved *mv;

		zone_name_lower(rq->lname, rq->qname.wire, rq->qname.len);
		mv = accounts_moved(d->accounts, rq->lname, rq->qname.len);
		if (mv)
			return referral(d, s, st, mv, rq->limit, out, cap, outlen);
	}
	/* the TSIG first, so that every error answer to a signed request is
	 * signed (RFC 8945 §5.3) */
	if (m->tsig >= 0) {
		rc = dns_tsig_verify_request(&s->tsig, m, query_key_lookup, d, clock_wall_s());
		if (rc == -EACCES)
			return tsig_error_reply(s, st, rq->limit, out, cap, outlen);
		if (rc == -EBADMSG) {
			stat_inc(st, STAT_formerr);
			return error_reply(s, DNS_RCODE_FORMERR, rq->limit, out, cap, outlen);
		}
		if (rc) {
			stat_inc(st, STAT_servfail);
			return error_reply(s, DNS_RCODE_SERVFAIL, rq->limit, out, cap, outlen);
		}
		rq->tsig = true;
		rq->signer = accounts_by_keyname(d->accounts, &s->tsig.key.name);
		stat_inc(st, STAT_queries_signed);
	}
	if (m->count[DNS_SEC_QUESTION] != 1) {
		stat_inc(st, STAT_formerr);
		return rcode_reply(d, s, rq, DNS_RCODE_FORMERR, out, cap, outlen);
	}
	if (m->edns.present && m->edns.version != 0) {
		/* RFC 6891 §6.1.3 */
		stat_inc(st, STAT_badvers);
		return rcode_reply(d, s, rq, DNS_RCODE_BADVERS, out, cap, outlen);
	}
	if (dns_msg_name(m, q->name, &rq->qname)) {
		stat_inc(st, STAT_formerr);
		return rcode_reply(d, s, rq, DNS_RCODE_FORMERR, out, cap, outlen);
	}
	rq->qtype = q->type;
	rq->qclass = q->rclass;
	zone_name_lower(rq->lname, rq->qname.wire, rq->qname.len);
	if (q->rclass != DNS_CLASS_IN && q->rclass != DNS_CLASS_ANY) {
		stat_inc(st, STAT_refused_class);
		return rcode_reply(d, s, rq, DNS_RCODE_REFUSED, out, cap, outlen);
	}
	if (dnsd_zone_offset(d, rq->lname, rq->qname.len) < 0) {
		stat_inc(st, STAT_refused_out_of_zone);
		return rcode_reply(d, s, rq, DNS_RCODE_REFUSED, out, cap, outlen);
	}
	if (q->type == DNS_TYPE_AXFR || q->type == DNS_TYPE_IXFR) {
		/* the zone is never transferred: account data is private */
		stat_inc(st, STAT_refused_transfer);
		return rcode_reply(d, s, rq, DNS_RCODE_REFUSED, out, cap, outlen);
	}
	if (dns_type_is_meta(q->type) && q->type != DNS_TYPE_ANY) {
		stat_inc(st, STAT_notimp);
		return rcode_reply(d, s, rq, DNS_RCODE_NOTIMP, out, cap, outlen);
	}
	if (is_turn_credential(d, rq->lname, rq->qname.len) &&
	    (rq->signer == NULL || rq->signer != accounts_owner(d->accounts, rq->lname, rq->qname.len) ||
	     dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) == 0)) {
		/* a TURN credential only to its account's own signed query,
		 * private zone or not, and never as an LLQ */
		stat_inc(st, rq->signer ? STAT_refused_private_wrong_key : STAT_refused_private_unsigned);
		return rcode_reply(d, s, rq, DNS_RCODE_REFUSED, out, cap, outlen);
	}
	rq->owner = accounts_owner(d->accounts, rq->lname, rq->qname.len);
	if (d->cfg->private_zone && rq->owner && rq->signer != rq->owner &&
	    !accounts_is_kdf_name(d->accounts, rq->lname, rq->qname.len)) {
		bool llq = dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) == 0;

		/* RFC 6281 §7.2: account data only to the account's key */
		rq->public_only = true;
		if (is_public(d, rq, llq))
			return Q_ENGINE;
		/* counted as refused whether refused or answered NODATA */
		stat_inc(st, rq->signer ? STAT_refused_private_wrong_key : STAT_refused_private_unsigned);
		/*
		 * Without a key, a plain query gets the NODATA every private
		 * name gets (query_answer()), so that a stock client walking up
		 * with SOA queries finds D. An LLQ stays refused: its events
		 * would tell what the NODATA hides. Another account's key is
		 * refused, as it always was: a client that signs knows its zone.
		 */
		if (!rq->tsig && !llq)
			return Q_ENGINE;
		return rcode_reply(d, s, rq, DNS_RCODE_REFUSED, out, cap, outlen);
	}
	return Q_ENGINE;
}

enum q_action query_process(struct dnsd *d, struct qscratch *s, struct stats *st,
			    const uint8_t *pkt, size_t len, enum q_transport t,
			    uint8_t *out, size_t cap, size_t *outlen)
{
	struct dns_msg *m = &s->msg;
	struct qreq rq;
	struct wire opt;
	enum q_action act;
	int rc;

	if (len < DNS_HEADER_LEN)
		return Q_DROP;
	stat_inc(st, STAT_queries);
	stat_inc(st, t == Q_UDP ? STAT_queries_udp : t == Q_TCP ? STAT_queries_tcp : STAT_queries_tls);
	/* RFC 8490: DSO messages on a stream are the engine's (push.h) */
	if (t != Q_UDP && dso_is_dso(pkt, len) && (!d->cfg || d->cfg->push))
		return Q_ENGINE;	/* with push = no, answered below as by a server without DSO (RFC 8490 §5.1.1) */
	rc = dns_msg_parse(m, pkt, len);
	if (rc) {
		if (m->hdr.flags & DNS_FLAG_QR) {
			stat_inc(st, STAT_dropped_response);
			return Q_DROP;	/* never answer an answer */
		}
		/* RFC 1035 §4.1.1: FORMERR, with only the header we could read */
		stat_inc(st, rc == -EMSGSIZE ? STAT_refused_too_big : STAT_formerr);
		*outlen = (size_t)dns_msg_error_header(out, cap, &m->hdr,
						       rc == -EMSGSIZE ? DNS_RCODE_REFUSED : DNS_RCODE_FORMERR);
		return Q_REPLY;
	}
	if (m->hdr.flags & DNS_FLAG_QR) {
		/* RFC 8764 §6.2: an LLQ event acknowledgement is a response */
		if (dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) == 0)
			return Q_ENGINE;
		stat_inc(st, STAT_dropped_response);
		return Q_DROP;
	}
	switch (dns_flags_opcode(m->hdr.flags)) {
	case DNS_OPCODE_QUERY:
		break;
	case DNS_OPCODE_UPDATE:
		return Q_ENGINE;
	default:
		stat_inc(st, STAT_notimp);
		*outlen = (size_t)dns_msg_error_header(out, cap, &m->hdr, DNS_RCODE_NOTIMP);
		return Q_REPLY;
	}
	if (dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) == 0)
		return Q_ENGINE;
	/* a signed query on TLS may authenticate a DNS Push session (push.h);
	 * with push = no there are none, and it is answered here */
	if (t == Q_TLS && m->tsig >= 0 && (!d->cfg || d->cfg->push))
		return Q_ENGINE;

	act = query_check(d, s, st, t, &rq, out, cap, outlen);
	if (act != Q_ENGINE)
		goto out;
	act = Q_REPLY;
	if (query_begin(d, s, &rq, out, cap)) {
		stat_inc(st, STAT_servfail);
		act = rcode_reply(d, s, &rq, DNS_RCODE_SERVFAIL, out, cap, outlen);
		goto out;
	}
	dns_builder_set_rcode(&s->b, query_answer(d, s, &rq, st));
	if (dns_builder_truncated(&s->b))
		stat_inc(st, STAT_answer_truncated);
	if (query_finish(d, s, &rq, out, cap, outlen)) {
		stat_inc(st, STAT_servfail);
		act = rcode_reply(d, s, &rq, DNS_RCODE_SERVFAIL, out, cap, outlen);
	}
out:
	if (m->tsig >= 0)
		dns_tsig_fini(&s->tsig);
	return act;
}
