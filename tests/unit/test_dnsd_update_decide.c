/*
 * autotunnel-dnsd's UPDATE decision (update.c) without a store, sockets or
 * an engine: a zone index and an account table in memory, UPDATE messages
 * built with lib/dns, and for each rcode path the exact rcode, counter,
 * signing, lease and changes: the rate limit, FORMERR, NOTAUTH for another
 * zone (signed when the request was) and for each TSIG error, an account
 * domain as the zone under the same key rules, REFUSED by policy (unsigned, outside the
 * account, synthesised names, SOA/NS, prerequisites on another account's
 * names, no lease with require-lease), NOTZONE, failed prerequisites,
 * lease clamping (absent, below the minimum, above the maximum, key
 * lease), and success (add, refresh, delete, changes seen by later RRs of
 * the same update), with the zone index left untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/update.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/update.h"
#include "autotunnel-dnsd/usage.h"
#include "autotunnel-dnsd/zone.h"

#define NOW_MS 1700000000000LL

static struct dnsd_settings cfg;
static struct dnsd d;
static struct usage *usage;	/* what each account holds, as commit.c keeps it */
static char dbpath[64];

static struct dns_name N(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

static void add(const char *owner, uint16_t type, const void *rdata, uint16_t rdlen)
{
	struct dns_name n = N(owner);
	uint8_t l[DNS_NAME_MAX];

	zone_name_lower(l, n.wire, n.len);
	assert_non_null(zone_add(d.zone, l, n.len, type, 300, rdata, rdlen, 1, 0));
	assert_int_equal(usage_charge(usage, l, n.len, rdlen, +1), 0);
}

static int setup(void **state)
{
	struct store *s;
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	struct store_account b = { .name = "bob", .alg = "hmac-sha256", .key_len = 32 };
	char err[256];
	int fd;

	dnsd_settings_default(&cfg);
	strcpy(dbpath, "/tmp/test_dnsd_update.XXXXXX");
	fd = mkstemp(dbpath);
	assert_true(fd >= 0);
	close(fd);
	cfg.db = strdup(dbpath);
	cfg.port = 5353;
	cfg.tls_port = 8853;
	cfg.lease_min = 1800;
	cfg.lease_max = 7200;
	assert_int_equal(dnsd_settings_finish(&cfg, err, sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.udp_port = 5353;
	d.tls_port = 8853;
	assert_int_equal(dnsd_names(&d, &cfg, err, sizeof(err)), 0);
	memset(a.key, 0x11, 32);
	memset(b.key, 0x22, 32);
	assert_int_equal(store_open(&s, dbpath, false, err, sizeof(err)), 0);
	assert_int_equal(store_account_put(s, &a), 0);
	assert_int_equal(store_account_put(s, &b), 0);
	d.accounts = accounts_load(&d.apex, NULL, s, err, sizeof(err));
	assert_non_null(d.accounts);
	store_close(s);
	d.zone = zone_new(d.apex.wire, d.apex.len);
	usage = usage_new(d.apex.wire, d.apex.len);
	assert_non_null(usage);
	add("h1.alice.members.example.net", DNS_TYPE_A, "\xc0\x00\x02\x01", 4);
	add("h1.alice.members.example.net", DNS_TYPE_TXT, "\x03one", 4);
	add("x.bob.members.example.net", DNS_TYPE_A, "\xc6\x33\x64\x07", 4);
	return 0;
}

static int teardown(void **state)
{
	char f[128];

	zone_free(d.zone);
	usage_free(usage);
	accounts_free(d.accounts);
	dnsd_settings_free(&cfg);
	unlink(dbpath);
	snprintf(f, sizeof(f), "%s-wal", dbpath);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", dbpath);
	unlink(f);
	return 0;
}

/* ---- building requests ---- */

struct req {
	uint8_t buf[4096];
	struct dns_builder b;
	struct dns_msg m;
	struct update_request rq;
	struct update_decision dec;
};

static const struct dns_name *key_of(const char *label)
{
	const struct account *acc = accounts_by_label(d.accounts, (const uint8_t *)label, strlen(label));

	assert_non_null(acc);
	return &acc->key.name;
}

static void begin_zone(struct req *r, const char *zone, uint16_t ztype, uint16_t zclass)
{
	struct dns_name z = N(zone);

	memset(r, 0, sizeof(*r));
	assert_int_equal(dns_builder_init(&r->b, r->buf, sizeof(r->buf), sizeof(r->buf), 0x1234,
					  DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT), 0);
	assert_int_equal(dns_builder_question(&r->b, &z, ztype, zclass), 0);
	/* signed by alice unless a test says otherwise */
	r->rq.rate_ok = true;
	r->rq.tsig_rc = 0;
	r->rq.key = key_of("alice");
	r->rq.usage = usage;
}

static void begin(struct req *r)
{
	begin_zone(r, "Members.Example.NET", DNS_TYPE_SOA, DNS_CLASS_IN);
}

static void rr(struct req *r, enum dns_section sec, const char *owner, uint16_t type, uint16_t rclass,
	       uint32_t ttl, const void *rd, uint16_t rdlen)
{
	struct dns_name o = N(owner);

	assert_int_equal(dns_builder_section(&r->b, sec), 0);
	assert_int_equal(dns_builder_add_raw(&r->b, &o, type, rclass, ttl, rd, rdlen), 0);
}

static void add_a(struct req *r, const char *owner, uint8_t last)
{
	uint8_t a[4] = { 192, 0, 2, last };

	rr(r, DNS_SEC_UPDATE, owner, DNS_TYPE_A, DNS_CLASS_IN, 300, a, 4);
}

/* An Update Lease option (RFC 9664): 4 bytes, or 8 with a key lease. */
static void lease(struct req *r, uint32_t l, bool with_key, uint32_t key_lease)
{
	struct dns_lease dl = { .lease = l, .key_lease = key_lease, .has_key_lease = with_key };

	assert_int_equal(dns_builder_section(&r->b, DNS_SEC_ADDITIONAL), 0);
	dns_builder_edns(&r->b, 1232, 0);
	assert_int_equal(dns_builder_add_lease(&r->b, &dl), 0);
}

static void decide(struct req *r)
{
	size_t len, before = zone_rr_count(d.zone);

	assert_int_equal(dns_builder_finish(&r->b, &len), 0);
	assert_int_equal(dns_msg_parse(&r->m, r->buf, len), 0);
	r->rq.m = &r->m;
	update_decide(&r->rq, &d, NOW_MS, &r->dec);
	/* a decision only reads the zone */
	assert_int_equal(zone_rr_count(d.zone), before);
}

static void expect(struct req *r, uint16_t rcode, enum stat_id counter, bool sign)
{
	assert_int_equal(r->dec.rcode, rcode);
	assert_string_equal(stat_name(r->dec.counter), stat_name(counter));
	assert_int_equal(r->dec.sign, sign);
	if (rcode != DNS_RCODE_NOERROR) {
		assert_false(r->dec.lease_granted);
		assert_int_equal(r->dec.n_changes, 0);
		assert_false(r->dec.changed);
	}
	update_decision_fini(&r->dec);
}

/* ---- before the TSIG: rate, zone section ---- */

static void rate_limited(void **state)
{
	struct req r;

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	r.rq.rate_ok = false;
	r.rq.tsig_rc = -ENOENT;		/* even unsigned: the rate comes first */
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_rate, false);
}

static void rate_limited_signed(void **state)
{
	struct req r;

	/* the account's bucket is empty: a signed refusal (RFC 8945 §5.3) */
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	r.rq.rate_ok = false;
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_rate, true);
}

static void zone_section_formerr(void **state)
{
	struct req r;

	/* RFC 2136 §3.1.1: the zone section holds one RR of type SOA; the
	 * FORMERR to a validly signed request is signed (RFC 8945 §5.3) */
	begin_zone(&r, "members.example.net", DNS_TYPE_A, DNS_CLASS_IN);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, true);

	/* unsigned: nothing to sign with */
	begin_zone(&r, "members.example.net", DNS_TYPE_A, DNS_CLASS_IN);
	add_a(&r, "h2.alice.members.example.net", 2);
	r.rq.tsig_rc = -ENOENT;
	r.rq.key = NULL;
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, false);
}

static void notauth_other_zone(void **state)
{
	struct req r;

	/* NOTAUTH to a validly signed request is signed (RFC 8945 §5.3) */
	begin_zone(&r, "example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, true);

	/* below an account domain, or the domain of no account: not zones */
	begin_zone(&r, "h1.alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "h1.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, true);
	begin_zone(&r, "carol.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	decide(&r);
	expect(&r, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, true);

	/* our zone in another class */
	begin_zone(&r, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_CH);
	decide(&r);
	expect(&r, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, true);

	/* unsigned: NOTAUTH unsigned */
	begin_zone(&r, "example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	r.rq.tsig_rc = -ENOENT;
	r.rq.key = NULL;
	decide(&r);
	expect(&r, DNS_RCODE_NOTAUTH, STAT_update_notauth_zone, false);
}

/* ---- an account domain as the zone (stock clients, RFC 2136 §4) ---- */

static void account_zone(void **state)
{
	static const uint8_t srv[] = { 0, 0, 0, 0, 0, 53, 0 };
	struct req r;

	/* zone D, D's key, D's names, with a lease: accepted as with the apex */
	begin_zone(&r, "Alice.Members.Example.NET", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "laptop.alice.members.example.net", 7);
	lease(&r, 7200, false, 0);
	decide(&r);
	assert_int_equal(r.dec.n_changes, 1);
	assert_int_equal(r.dec.changes[0].op, DNS_CHANGE_ADD);
	assert_true(r.dec.lease_granted);
	assert_int_equal(r.dec.lease.lease, 7200);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);

	/* the same key rules: zone D cannot reach another account's names
	 * (outside D: NOTZONE, RFC 2136 §3.4.1.3), nor the apex's */
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "y.bob.members.example.net", 9);
	decide(&r);
	expect(&r, DNS_RCODE_NOTZONE, STAT_update_notzone, true);
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "www.members.example.net", 9);
	decide(&r);
	expect(&r, DNS_RCODE_NOTZONE, STAT_update_notzone, true);

	/* bob's key in alice's zone: REFUSED, signed */
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	add_a(&r, "h1.alice.members.example.net", 9);
	r.rq.key = key_of("bob");
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_outside_account, true);

	/* SOA and NS at D, and the synthesised names, stay the server's */
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	rr(&r, DNS_SEC_UPDATE, "alice.members.example.net", DNS_TYPE_NS, DNS_CLASS_IN, 300,
	   "\x02ns\x03" "bob\x07members\x07" "example\x03net", 28);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_type, true);
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	rr(&r, DNS_SEC_UPDATE, "_turn._tcp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN,
	   300, srv, sizeof(srv));
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_synthesised, true);

	/* a failed prerequisite in zone D: signed like every error */
	begin_zone(&r, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN);
	rr(&r, DNS_SEC_PREREQ, "h9.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_NXDOMAIN, STAT_update_prereq_failed, true);
}

/* ---- the TSIG ---- */

static void unsigned_refused(void **state)
{
	struct req r;

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	r.rq.tsig_rc = -ENOENT;
	r.rq.key = NULL;
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_unsigned, false);
}

static void tsig_errors(void **state)
{
	static const struct {
		uint16_t error;
		enum stat_id counter;
	} cases[] = {
		{ DNS_RCODE_BADKEY, STAT_notauth_badkey },
		{ DNS_RCODE_BADSIG, STAT_notauth_badsig },
		{ DNS_RCODE_BADTIME, STAT_notauth_badtime },
		{ DNS_RCODE_BADTRUNC, STAT_notauth_badtrunc },
	};
	struct req r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		begin(&r);
		add_a(&r, "h2.alice.members.example.net", 2);
		r.rq.tsig_rc = -EACCES;
		r.rq.tsig_error = cases[i].error;
		decide(&r);
		/* RFC 8945 §5.2: NOTAUTH, and the answer carries the TSIG error */
		expect(&r, DNS_RCODE_NOTAUTH, cases[i].counter, true);
	}
	begin(&r);
	r.rq.tsig_rc = -EBADMSG;
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, false);

	begin(&r);
	r.rq.tsig_rc = -EIO;
	decide(&r);
	expect(&r, DNS_RCODE_SERVFAIL, STAT_update_servfail, false);
}

static void key_without_account(void **state)
{
	struct dns_name k = N("carol.members.example.net");
	struct req r;

	begin(&r);
	add_a(&r, "h2.carol.members.example.net", 2);
	r.rq.key = &k;
	decide(&r);
	expect(&r, DNS_RCODE_SERVFAIL, STAT_update_servfail, true);
	assert_null(r.dec.acc);
}

/* ---- leases (RFC 9664) ---- */

static void check_lease(uint32_t asked, bool present, bool with_key, uint32_t key_lease,
			uint32_t granted, uint32_t key_granted)
{
	struct req r;

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	if (present)
		lease(&r, asked, with_key, key_lease);
	decide(&r);
	assert_int_equal(r.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(stat_name(r.dec.counter), stat_name(STAT_updates_ok));
	assert_true(r.dec.lease_granted);
	assert_int_equal(r.dec.lease.lease, granted);
	assert_int_equal(r.dec.lease.has_key_lease, present && with_key);
	if (present && with_key)
		assert_int_equal(r.dec.lease.key_lease, key_granted);
	assert_true(r.dec.expires_ms == NOW_MS + (int64_t)granted * 1000);
	update_decision_fini(&r.dec);
}

static void lease_clamping(void **state)
{
	/* absent: the longest lease, so that stock nsupdate works */
	check_lease(0, false, false, 0, 7200, 0);
	/* below the minimum, above the maximum, inside */
	check_lease(60, true, false, 0, 1800, 0);
	check_lease(1800, true, false, 0, 1800, 0);
	check_lease(1000000, true, false, 0, 7200, 0);
	check_lease(3600, true, false, 0, 3600, 0);
	/* a key lease longer than the granted lease is cut to it; a shorter one stays */
	check_lease(3600, true, true, 86400, 3600, 3600);
	check_lease(3600, true, true, 2000, 3600, 2000);
}

static void lease_required(void **state)
{
	struct req r;

	cfg.require_lease = true;
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_no_lease, true);

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	lease(&r, 3600, false, 0);
	decide(&r);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);
	cfg.require_lease = false;
}

static void lease_malformed(void **state)
{
	struct req r;

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	assert_int_equal(dns_builder_section(&r.b, DNS_SEC_ADDITIONAL), 0);
	dns_builder_edns(&r.b, 1232, 0);
	assert_int_equal(dns_builder_edns_option(&r.b, DNS_EDNS_OPT_UL, "\0\0\x0e", 3), 0);
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, true);
}

/* ---- REFUSED by policy ---- */

static void refused_by_policy(void **state)
{
	static const uint8_t srv[] = { 0, 0, 0, 0, 0, 53, 0 };
	struct req r;

	/* another account's name */
	begin(&r);
	add_a(&r, "y.bob.members.example.net", 9);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_outside_account, true);

	/* a name of the zone outside every account */
	begin(&r);
	add_a(&r, "www.members.example.net", 9);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_outside_account, true);

	/* the records the server synthesises for the account */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "_dns-update._udp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN,
	   300, srv, sizeof(srv));
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_synthesised, true);

	/* an account cannot delegate or claim a zone */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "sub.alice.members.example.net", DNS_TYPE_NS, DNS_CLASS_IN, 300,
	   "\x02ns\x03" "bob\x07members\x07" "example\x03net", 28);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_type, true);

	/* prerequisites on another account's names would reveal its data */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "x.bob.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_prereq_outside, true);

	/* bob's key on alice's names */
	begin(&r);
	add_a(&r, "h1.alice.members.example.net", 9);
	r.rq.key = key_of("bob");
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_outside_account, true);
}

/* ---- dns_update_process() outcomes ---- */

static void process_errors(void **state)
{
	struct req r;

	/* RFC 2136 §3.4.1.3: a name outside the zone */
	begin(&r);
	add_a(&r, "h2.example.org", 2);
	decide(&r);
	expect(&r, DNS_RCODE_NOTZONE, STAT_update_notzone, true);

	/* §3.2: a prerequisite with a TTL is malformed */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 60, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, true);

	/* §3.4.1.2: a meta type added */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h2.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_IN, 300, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_FORMERR, STAT_update_formerr, true);
}

static void prerequisites_fail(void **state)
{
	struct req r;

	/* §2.4.5 name not in use, but it is */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_NONE, 0, NULL, 0);
	add_a(&r, "h1.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_YXDOMAIN, STAT_update_prereq_failed, true);

	/* §2.4.4 name in use, but it is not */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h9.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_NXDOMAIN, STAT_update_prereq_failed, true);

	/* §2.4.1 RRset exists (value independent), but it does not */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_AAAA, DNS_CLASS_ANY, 0, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_NXRRSET, STAT_update_prereq_failed, true);

	/* §2.4.3 RRset does not exist, but it does */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_NONE, 0, NULL, 0);
	decide(&r);
	expect(&r, DNS_RCODE_YXRRSET, STAT_update_prereq_failed, true);

	/* §2.4.2 RRset exists (value dependent) with other values */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0,
	   "\xc0\x00\x02\x63", 4);
	decide(&r);
	expect(&r, DNS_RCODE_NXRRSET, STAT_update_prereq_failed, true);

	/* and with the zone's value it holds */
	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0,
	   "\xc0\x00\x02\x01", 4);
	decide(&r);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_refresh, true);
}

/* ---- success ---- */

static void success_add(void **state)
{
	struct req r;
	const struct update_change *c;

	begin(&r);
	rr(&r, DNS_SEC_PREREQ, "H2.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_NONE, 0, NULL, 0);
	add_a(&r, "H2.Alice.members.example.net", 2);
	decide(&r);
	assert_int_equal(r.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(stat_name(r.dec.counter), stat_name(STAT_updates_ok));
	assert_true(r.dec.sign);
	assert_true(r.dec.changed);
	assert_non_null(r.dec.acc);
	assert_string_equal(r.dec.acc->label, "alice");
	assert_int_equal(r.dec.n_changes, 1);
	c = &r.dec.changes[0];
	assert_int_equal(c->op, DNS_CHANGE_ADD);
	assert_int_equal(c->type, DNS_TYPE_A);
	assert_int_equal(c->ttl, 300);
	assert_int_equal(c->rdlen, 4);
	assert_memory_equal(c->rdata, "\xc0\x00\x02\x02", 4);
	/* owners are kept in lower case */
	assert_int_equal(c->lname_len, N("h2.alice.members.example.net").len);
	assert_memory_equal(c->lname, N("h2.alice.members.example.net").wire, c->lname_len);
	update_decision_fini(&r.dec);
}

static void success_refresh(void **state)
{
	struct req r;

	/* RFC 9664: re-adding an existing record only refreshes its lease */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 300,
	   "\xc0\x00\x02\x01", 4);
	decide(&r);
	assert_int_equal(r.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(stat_name(r.dec.counter), stat_name(STAT_updates_refresh));
	assert_false(r.dec.changed);
	assert_true(r.dec.lease_granted);
	assert_int_equal(r.dec.n_changes, 1);
	assert_int_equal(r.dec.changes[0].op, DNS_CHANGE_REPLACE);
	update_decision_fini(&r.dec);

	/* the same record with a new TTL is a change */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 600,
	   "\xc0\x00\x02\x01", 4);
	decide(&r);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);

	/* deleting what is not there changes nothing */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_NONE, 0,
	   "\xc0\x00\x02\x63", 4);
	decide(&r);
	assert_int_equal(r.dec.n_changes, 0);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_refresh, true);
}

static void success_sequence(void **state)
{
	struct req r;

	/* RFC 2136 §3.4.2: a delete then an add of the same RRset, in order */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 300,
	   "\xc0\x00\x02\x01", 4);
	decide(&r);
	assert_int_equal(r.dec.n_changes, 2);
	assert_int_equal(r.dec.changes[0].op, DNS_CHANGE_DEL_RRSET);
	/* the add sees the delete: an ADD, not a REPLACE of the deleted record */
	assert_int_equal(r.dec.changes[1].op, DNS_CHANGE_ADD);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);

	/* a CNAME after data added by the same update is ignored (§3.4.2.2) */
	begin(&r);
	add_a(&r, "h3.alice.members.example.net", 3);
	rr(&r, DNS_SEC_UPDATE, "h3.alice.members.example.net", DNS_TYPE_CNAME, DNS_CLASS_IN, 300,
	   "\x02h1\x05" "alice\x07members\x07" "example\x03net", 30);
	decide(&r);
	assert_int_equal(r.dec.n_changes, 1);
	assert_int_equal(r.dec.changes[0].op, DNS_CHANGE_ADD);
	assert_int_equal(r.dec.changes[0].type, DNS_TYPE_A);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);

	/* the whole name deleted: one change, and it changes the zone */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	decide(&r);
	assert_int_equal(r.dec.n_changes, 1);
	assert_int_equal(r.dec.changes[0].op, DNS_CHANGE_DEL_NAME);
	expect(&r, DNS_RCODE_NOERROR, STAT_updates_ok, true);
}

/* ---- the per-account data quota ---- */

static void del_rr(struct req *r, const char *owner, uint16_t type, const void *rd, uint16_t rdlen)
{
	rr(r, DNS_SEC_UPDATE, owner, type, DNS_CLASS_NONE, 0, rd, rdlen);	/* RFC 2136 §2.5.4 */
}

static void expect_ok(struct req *r, uint64_t records, uint64_t bytes)
{
	assert_int_equal(r->dec.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r->dec.usage_after.records, records);
	assert_int_equal(r->dec.usage_after.bytes, bytes);
	update_decision_fini(&r->dec);
}

/*
 * alice holds two records of 44 bytes each (a 30-byte owner, 10, 4 bytes
 * of rdata), bob one. Every limit is tested at its edge: the update that
 * reaches it passes, one byte or record more is REFUSED (signed, nothing
 * changed), and an update that adds nothing over a limit always passes.
 */
static void quota_records(void **state)
{
	struct req r;

	cfg.account_records = 3;
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect_ok(&r, 3, 132);

	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	add_a(&r, "h3.alice.members.example.net", 3);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_quota, true);

	/* the same record twice in one update is one record (the second refreshes it) */
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	add_a(&r, "H2.alice.members.example.net", 2);
	decide(&r);
	expect_ok(&r, 3, 132);

	/* a delete in the same update makes room, as the overlay sees it */
	begin(&r);
	del_rr(&r, "h1.alice.members.example.net", DNS_TYPE_TXT, "\x03one", 4);
	add_a(&r, "h2.alice.members.example.net", 2);
	add_a(&r, "h3.alice.members.example.net", 3);
	decide(&r);
	expect_ok(&r, 3, 132);

	/* a name deleted (both records), then three added */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	add_a(&r, "h2.alice.members.example.net", 2);
	add_a(&r, "h3.alice.members.example.net", 3);
	add_a(&r, "h4.alice.members.example.net", 4);
	decide(&r);
	expect_ok(&r, 3, 132);

	/* a record added then deleted within the update takes nothing */
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	add_a(&r, "h3.alice.members.example.net", 3);
	del_rr(&r, "h3.alice.members.example.net", DNS_TYPE_A, "\xc0\x00\x02\x03", 4);
	decide(&r);
	expect_ok(&r, 3, 132);

	/* at the limit: a refresh passes, a new record does not */
	cfg.account_records = 2;
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 300,
	   "\xc0\x00\x02\x01", 4);
	decide(&r);
	expect_ok(&r, 2, 88);
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_quota, true);

	/* over a lowered limit: cleaning up still works */
	cfg.account_records = 1;
	begin(&r);
	del_rr(&r, "h1.alice.members.example.net", DNS_TYPE_TXT, "\x03one", 4);
	decide(&r);
	expect_ok(&r, 1, 44);

	/* bob's count is his own: one record, one more fits two */
	cfg.account_records = 2;
	begin(&r);
	r.rq.key = key_of("bob");
	add_a(&r, "y.bob.members.example.net", 9);
	decide(&r);
	assert_int_equal(r.dec.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.dec.usage_after.records, 2);
	update_decision_fini(&r.dec);
	cfg.account_records = 2000;
}

static void quota_bytes(void **state)
{
	struct req r;

	cfg.account_bytes = 132;
	begin(&r);
	add_a(&r, "h2.alice.members.example.net", 2);
	decide(&r);
	expect_ok(&r, 3, 132);

	/* one byte more: a 5-byte TXT */
	begin(&r);
	rr(&r, DNS_SEC_UPDATE, "h2.alice.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 300,
	   "\x04" "four", 5);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_quota, true);

	/* fewer records but more bytes: the byte limit holds (88 - 44 + 89 > 132) */
	begin(&r);
	del_rr(&r, "h1.alice.members.example.net", DNS_TYPE_TXT, "\x03one", 4);
	rr(&r, DNS_SEC_UPDATE, "h1.alice.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 300,
	   "\x30" "0123456789012345678901234567890123456789012345678", 49);
	decide(&r);
	expect(&r, DNS_RCODE_REFUSED, STAT_update_refused_quota, true);
	cfg.account_bytes = 1048576;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate_limited),
		cmocka_unit_test(rate_limited_signed),
		cmocka_unit_test(zone_section_formerr),
		cmocka_unit_test(notauth_other_zone),
		cmocka_unit_test(account_zone),
		cmocka_unit_test(unsigned_refused),
		cmocka_unit_test(tsig_errors),
		cmocka_unit_test(key_without_account),
		cmocka_unit_test(lease_clamping),
		cmocka_unit_test(lease_required),
		cmocka_unit_test(lease_malformed),
		cmocka_unit_test(refused_by_policy),
		cmocka_unit_test(process_errors),
		cmocka_unit_test(prerequisites_fail),
		cmocka_unit_test(success_add),
		cmocka_unit_test(success_refresh),
		cmocka_unit_test(success_sequence),
		cmocka_unit_test(quota_records),
		cmocka_unit_test(quota_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
