/*
 * lib/dnsc/update: the UPDATEs that publish, refresh and withdraw a host's
 * records, read back with lib/dns's own parser and TSIG verifier (the code
 * the server runs), and the answers a server built with lib/dns gives.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/records.h"
#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"
#include "dnsc/update.h"

#define DOMAIN "alice.members.example.net"
#define NOW 1700000000u

static const uint8_t SECRET[32] = "autotunnel test key 32 bytes!!!";
static const uint8_t OTHER[32] = "another key, another password!!";

struct fx {
	struct agent_rr cur[AGENT_RECORDS_MAX], prev[AGENT_RECORDS_MAX];
	size_t ncur, nprev;
	struct dns_tsig_key key;
	struct dns_name zone;
	uint8_t buf[DNSC_MSG_MAX];
	size_t len;
	struct dns_msg m;
};

static void records(struct agent_rr *out, size_t *n, uint16_t port, bool ssh)
{
	static const struct agent_service svc[] = { { .name = "ssh", .proto = "tcp", .port = 22 } };
	struct agent_publish p = {
		.domain = DOMAIN, .host = "laptop",
		.eui64 = { 0x00, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a },
		.ula = { 0xfd, 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1, 0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a },
		.ext_addr = { 203, 0, 113, 10 }, .ext_port = port,
		.model = "x86_64", .os = "Linux",
		.services = svc, .nservices = ssh ? 1 : 0,
	};

	assert_int_equal(agent_records_build(&p, out, AGENT_RECORDS_MAX, n), 0);
}

static int setup(void **state)
{
	static struct fx f;
	struct dns_name d;

	memset(&f, 0, sizeof(f));
	assert_int_equal(dnsc_account_key(&f.key, DOMAIN, SECRET), 0);
	assert_int_equal(dns_name_from_text(&d, DOMAIN), 0);
	assert_int_equal(dnsc_zone_of(&d, &f.zone), 0);
	records(f.cur, &f.ncur, 4500, true);
	*state = &f;
	return 0;
}

static int lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	const struct dns_tsig_key *k = arg;

	if (!dns_name_equal(name, &k->name))
		return -ENOENT;
	*out = *k;
	return 0;
}

/* Build with @p prev, then parse and verify as the server does. */
static void build(struct fx *f, const struct agent_rr *prev, size_t nprev, size_t ncur, uint32_t lease)
{
	struct dns_tsig t, v = { 0 };

	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 0x4242, &f->zone,
					   f->cur, ncur, prev, nprev, lease, &t, NOW), 0);
	dns_tsig_fini(&t);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	assert_int_equal(dns_tsig_verify_request(&v, &f->m, lookup, &f->key, NOW + 10), 0);
	dns_tsig_fini(&v);
}

/* The update section as text lines "CLASS TYPE NAME TTL", for exact checks. */
static void update_lines(const struct fx *f, char lines[][1200], unsigned *n)
{
	*n = dns_msg_count(&f->m, DNS_SEC_UPDATE);
	for (unsigned i = 0; i < *n; i++) {
		const struct dns_rr *rr = dns_msg_rr(&f->m, DNS_SEC_UPDATE, i);
		struct dns_name o;
		char t[DNS_NAME_TEXT_MAX];

		assert_int_equal(dns_msg_name(&f->m, rr->off, &o), 0);
		assert_true(dns_name_to_text(&o, t, sizeof(t)) > 0);
		snprintf(lines[i], 1200, "%s %u %s %u %u",
			 rr->rclass == DNS_CLASS_IN ? "IN" : rr->rclass == DNS_CLASS_ANY ? "ANY" :
			 rr->rclass == DNS_CLASS_NONE ? "NONE" : "?", rr->type, t, rr->ttl, rr->rdlen);
	}
}

static bool has_line(char lines[][1200], unsigned n, const char *want)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(lines[i], want) == 0)
			return true;
	return false;
}

static unsigned count_class(char lines[][1200], unsigned n, const char *cls)
{
	unsigned c = 0;

	for (unsigned i = 0; i < n; i++)
		c += strncmp(lines[i], cls, strlen(cls)) == 0 && lines[i][strlen(cls)] == ' ';
	return c;
}

static void test_first_publish_replaces(void **state)
{
	struct fx *f = *state;
	char l[60][1200];
	unsigned n;
	struct dns_name zn;
	struct wire opt;
	struct dns_lease lease;

	build(f, NULL, 0, f->ncur, DNSC_LEASE_REQUEST);
	/* RFC 2136 §2.3: opcode UPDATE, the zone, type SOA */
	assert_int_equal(dns_flags_opcode(f->m.hdr.flags), DNS_OPCODE_UPDATE);
	assert_int_equal(f->m.hdr.id, 0x4242);
	assert_int_equal(dns_msg_count(&f->m, DNS_SEC_ZONE), 1);
	assert_int_equal(dns_msg_name(&f->m, f->m.qd[0].name, &zn), 0);
	assert_true(dns_name_equal(&zn, &f->zone));
	assert_int_equal(f->m.qd[0].type, DNS_TYPE_SOA);
	assert_int_equal(dns_msg_count(&f->m, DNS_SEC_PREREQ), 0);
	/* RFC 9664: the lease asked for */
	assert_int_equal(dns_edns_find(&f->m, DNS_EDNS_OPT_UL, &opt), 0);
	assert_int_equal(dns_lease_parse(&opt, &lease), 0);
	assert_int_equal(lease.lease, 5400);
	assert_false(lease.has_key_lease);

	update_lines(f, l, &n);
	/* 7 RRsets of this host replaced (deleted first), 2 shared PTRs added, 9 adds in all */
	assert_int_equal(f->ncur, 9);
	assert_int_equal(n, 7 + 9);
	assert_int_equal(count_class(l, n, "ANY"), 7);
	assert_int_equal(count_class(l, n, "NONE"), 0);
	assert_int_equal(count_class(l, n, "IN"), 9);
	for (unsigned i = 0; i < 7; i++)
		assert_true(strncmp(l[i], "ANY ", 4) == 0);	/* deletes come first */
	assert_true(has_line(l, n, "ANY 28 laptop.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 33 _autotunnel._udp.laptop.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 1 AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 16 AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 33 laptop._ssh._tcp.alice.members.example.net. 0 0"));
	/* the shared host list is never deleted as an RRset */
	assert_false(has_line(l, n, "ANY 12 _autotunnel._udp.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "IN 12 _autotunnel._udp.alice.members.example.net. 60 34"));
	assert_true(has_line(l, n, "IN 28 laptop.alice.members.example.net. 60 16"));
	assert_true(has_line(l, n, "IN 1 AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 4"));
	assert_true(has_line(l, n, "IN 12 _ssh._tcp.alice.members.example.net. 60 44"));
}

static void test_srv_rdata(void **state)
{
	struct fx *f = *state;

	build(f, NULL, 0, f->ncur, DNSC_LEASE_REQUEST);
	for (unsigned i = 0; i < dns_msg_count(&f->m, DNS_SEC_UPDATE); i++) {
		const struct dns_rr *rr = dns_msg_rr(&f->m, DNS_SEC_UPDATE, i);
		struct wire w = dns_msg_rdata(&f->m, rr);
		struct dns_srv srv;
		struct dns_name o;
		char t[DNS_NAME_TEXT_MAX];

		if (rr->type != DNS_TYPE_SRV || rr->rclass != DNS_CLASS_IN)
			continue;
		assert_int_equal(dns_msg_name(&f->m, rr->off, &o), 0);
		assert_true(dns_name_to_text(&o, t, sizeof(t)) > 0);
		assert_int_equal(dns_rdata_srv_read(&w, &srv), 0);
		if (strcmp(t, "_autotunnel._udp.laptop.alice.members.example.net.") == 0) {
			assert_int_equal(srv.port, 4500);
			assert_int_equal(srv.priority, 0);
			assert_int_equal(srv.weight, 0);
			assert_true(dns_name_to_text(&srv.target, t, sizeof(t)) > 0);
			assert_string_equal(t, "AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net.");
		} else {
			assert_string_equal(t, "laptop._ssh._tcp.alice.members.example.net.");
			assert_int_equal(srv.port, 22);
		}
	}
}

static void test_refresh_adds_only(void **state)
{
	struct fx *f = *state;
	char l[60][1200];
	unsigned n;

	memcpy(f->prev, f->cur, sizeof(f->cur));
	/* the same records in another order: still a pure refresh */
	{
		struct agent_rr tmp = f->prev[0];

		f->prev[0] = f->prev[f->ncur - 1];
		f->prev[f->ncur - 1] = tmp;
	}
	assert_true(dnsc_records_equal(f->cur, f->ncur, f->prev, f->ncur));
	build(f, f->prev, f->ncur, f->ncur, DNSC_LEASE_REQUEST);
	update_lines(f, l, &n);
	assert_int_equal(n, 9);
	assert_int_equal(count_class(l, n, "IN"), 9);
}

static void test_moved_replaces_changed_rrsets(void **state)
{
	struct fx *f = *state;
	char l[60][1200];
	unsigned n;

	records(f->prev, &f->nprev, 4500, true);
	records(f->cur, &f->ncur, 61001, true);
	f->cur[2].a[3] = 99;	/* a new external address as well */
	assert_false(dnsc_records_equal(f->cur, f->ncur, f->prev, f->nprev));
	build(f, f->prev, f->nprev, f->ncur, DNSC_LEASE_REQUEST);
	update_lines(f, l, &n);
	assert_int_equal(n, 2 + 9);
	assert_true(has_line(l, n, "ANY 33 _autotunnel._udp.laptop.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 1 AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 0 0"));
	assert_int_equal(count_class(l, n, "ANY"), 2);
}

static void test_service_dropped(void **state)
{
	struct fx *f = *state;
	char l[60][1200];
	unsigned n;

	records(f->prev, &f->nprev, 4500, true);
	records(f->cur, &f->ncur, 4500, false);
	build(f, f->prev, f->nprev, f->ncur, DNSC_LEASE_REQUEST);
	update_lines(f, l, &n);
	/* its SRV and TXT RRsets go, and only our RR of the shared browse PTR */
	assert_true(has_line(l, n, "ANY 33 laptop._ssh._tcp.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "ANY 16 laptop._ssh._tcp.alice.members.example.net. 0 0"));
	assert_true(has_line(l, n, "NONE 12 _ssh._tcp.alice.members.example.net. 0 44"));
	assert_int_equal(n, 3 + f->ncur);
}

static void test_withdraw(void **state)
{
	struct fx *f = *state;
	char l[60][1200];
	unsigned n;
	struct wire opt;

	memcpy(f->prev, f->cur, sizeof(f->cur));
	build(f, f->prev, f->ncur, 0, 0);
	update_lines(f, l, &n);
	/* 7 RRsets deleted; the 2 shared PTRs deleted RR by RR (RFC 2136 §2.5.4) */
	assert_int_equal(n, 9);
	assert_int_equal(count_class(l, n, "ANY"), 7);
	assert_int_equal(count_class(l, n, "NONE"), 2);
	assert_true(has_line(l, n, "NONE 12 _autotunnel._udp.alice.members.example.net. 0 34"));
	assert_int_equal(dns_edns_find(&f->m, DNS_EDNS_OPT_UL, &opt), -ENOENT);
}

static void test_build_errors(void **state)
{
	struct fx *f = *state;
	struct dns_tsig t;
	uint8_t small[100];
	size_t len;

	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(small, sizeof(small), &len, 1, &f->zone, f->cur, f->ncur,
					   NULL, 0, 5400, &t, NOW), -ENOSPC);
	dns_tsig_fini(&t);
	dns_tsig_init(&t, &f->key);
	/* nothing to say */
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &len, 1, &f->zone, NULL, 0,
					   NULL, 0, 5400, &t, NOW), -EINVAL);
	f->cur[0].type = 99;
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &len, 1, &f->zone, f->cur, f->ncur,
					   NULL, 0, 5400, &t, NOW), -EINVAL);
	dns_tsig_fini(&t);
}

/* A server's answer built with lib/dns, as autotunnel-dnsd builds it. */
static size_t server_answer(struct fx *f, struct dns_tsig_key *server_key, unsigned rcode,
			    const uint32_t *lease, uint8_t *out, uint16_t id_delta)
{
	struct dns_tsig v = { 0 };
	struct dns_builder b;
	size_t len;
	int vr;

	vr = dns_tsig_verify_request(&v, &f->m, lookup, server_key, NOW + 1);
	assert_int_equal(dns_builder_reply(&b, out, DNSC_MSG_MAX, DNSC_MSG_MAX, &f->m), 0);
	dns_builder_reserve(&b, dns_tsig_space(&v));
	dns_builder_edns(&b, 1232, 0);
	if (lease) {
		struct dns_lease l = { .lease = *lease };

		assert_int_equal(dns_builder_add_lease(&b, &l), 0);
	}
	dns_builder_set_rcode(&b, vr == -EACCES ? DNS_RCODE_NOTAUTH : rcode);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	out[1] = (uint8_t)(out[1] + id_delta);
	assert_int_equal(dns_tsig_sign_response(&v, out, len, DNSC_MSG_MAX, &len, NOW + 1), 0);
	dns_tsig_fini(&v);
	return len;
}

static void test_answers(void **state)
{
	struct fx *f = *state;
	static uint8_t ans[DNSC_MSG_MAX];
	struct dnsc_update_result r;
	struct dns_tsig t;
	struct dns_tsig_key wrong;
	uint32_t granted = 1800;
	size_t len;

	/* NOERROR with the lease granted (clamped by the server) */
	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 0x4242, &f->zone,
					   f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	len = server_answer(f, &f->key, DNS_RCODE_NOERROR, &granted, ans, 0);
	assert_int_equal(dnsc_update_answer(&r, ans, len, 0x4242, &f->zone, 5400, &t, NOW + 2), 0);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_true(r.has_lease);
	assert_int_equal(r.lease, 1800);
	dns_tsig_fini(&t);

	/* no lease option: the lease asked for (RFC 9664 §4) */
	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 0x4242, &f->zone,
					   f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	len = server_answer(f, &f->key, DNS_RCODE_NOERROR, NULL, ans, 0);
	assert_int_equal(dnsc_update_answer(&r, ans, len, 0x4242, &f->zone, 5400, &t, NOW + 2), 0);
	assert_false(r.has_lease);
	assert_int_equal(r.lease, 5400);
	/* the same answer for another id is not ours */
	assert_int_equal(dnsc_update_answer(&r, ans, len, 0x4243, &f->zone, 5400, &t, NOW + 2), -EBADMSG);
	dns_tsig_fini(&t);

	/* REFUSED, signed: authentic, not applied */
	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 7, &f->zone,
					   f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	len = server_answer(f, &f->key, DNS_RCODE_REFUSED, NULL, ans, 0);
	assert_int_equal(dnsc_update_answer(&r, ans, len, 7, &f->zone, 5400, &t, NOW + 2), 0);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	dns_tsig_fini(&t);

	/* the server holds another key (wrong password): NOTAUTH, BADSIG, unsigned */
	assert_int_equal(dnsc_account_key(&wrong, DOMAIN, OTHER), 0);
	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 8, &f->zone,
					   f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	len = server_answer(f, &wrong, DNS_RCODE_NOERROR, NULL, ans, 0);
	assert_int_equal(dnsc_update_answer(&r, ans, len, 8, &f->zone, 5400, &t, NOW + 2), -EACCES);
	assert_true(r.server_rejected);
	assert_int_equal(r.tsig_error, DNS_RCODE_BADSIG);
	assert_int_equal(r.rcode, DNS_RCODE_NOTAUTH);
	dns_tsig_fini(&t);

	/* an answer signed with a key other than ours is refused by us */
	{
		struct dns_tsig ours;
		static uint8_t mine[DNSC_MSG_MAX];
		size_t mlen;

		dns_tsig_init(&ours, &f->key);
		assert_int_equal(dnsc_update_build(mine, sizeof(mine), &mlen, 9, &f->zone,
						   f->cur, f->ncur, NULL, 0, 5400, &ours, NOW), 0);
		dns_tsig_init(&t, &wrong);
		assert_int_equal(dnsc_update_build(f->buf, sizeof(f->buf), &f->len, 9, &f->zone,
						   f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
		dns_tsig_fini(&t);
		assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
		len = server_answer(f, &wrong, DNS_RCODE_NOERROR, &granted, ans, 0);
		assert_int_equal(dnsc_update_answer(&r, ans, len, 9, &f->zone, 5400, &ours, NOW + 2), -EACCES);
		assert_false(r.server_rejected);
		assert_int_equal(r.tsig_error, DNS_RCODE_BADSIG);
		dns_tsig_fini(&ours);
	}
}

/* The prerequisite section as "CLASS TYPE NAME TTL RDLEN" lines. */
static void prereq_lines(const struct fx *f, char lines[][1200], unsigned *n)
{
	*n = dns_msg_count(&f->m, DNS_SEC_PREREQ);
	for (unsigned i = 0; i < *n; i++) {
		const struct dns_rr *rr = dns_msg_rr(&f->m, DNS_SEC_PREREQ, i);
		struct dns_name o;
		char t[DNS_NAME_TEXT_MAX];

		assert_int_equal(dns_msg_name(&f->m, rr->off, &o), 0);
		assert_true(dns_name_to_text(&o, t, sizeof(t)) > 0);
		snprintf(lines[i], 1200, "%s %u %s %u %u",
			 rr->rclass == DNS_CLASS_IN ? "IN" : rr->rclass == DNS_CLASS_NONE ? "NONE" : "?", rr->type, t,
			 rr->ttl, rr->rdlen);
	}
}

static void build_pre(struct fx *f, const struct dnsc_update_prereq *pre)
{
	struct dns_tsig t, v = { 0 };

	dns_tsig_init(&t, &f->key);
	assert_int_equal(dnsc_update_build_pre(f->buf, sizeof(f->buf), &f->len, 0x4243, &f->zone, pre,
					       f->cur, f->ncur, NULL, 0, 5400, &t, NOW), 0);
	dns_tsig_fini(&t);
	assert_int_equal(dns_msg_parse(&f->m, f->buf, f->len), 0);
	assert_int_equal(dns_tsig_verify_request(&v, &f->m, lookup, &f->key, NOW + 10), 0);
	dns_tsig_fini(&v);
}

/* RFC 2136 §2.4.3 and §2.4.2: the forms the server evaluates (class NONE AAAA/TXT; class IN, TTL 0, rdata). */
static void test_prerequisites(void **state)
{
	struct fx *f = *state;
	struct dnsc_update_prereq pre = { .unused = "laptop." DOMAIN };
	char l[60][1200];
	unsigned n;

	/* none: the section is empty, the update section as before */
	build(f, NULL, 0, f->ncur, 5400);
	prereq_lines(f, l, &n);
	assert_int_equal(n, 0);
	/* a free name: still no AAAA and no TXT there (names below it may exist, RFC 8020) */
	build_pre(f, &pre);
	prereq_lines(f, l, &n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], "NONE 28 laptop.alice.members.example.net. 0 0");
	assert_string_equal(l[1], "NONE 16 laptop.alice.members.example.net. 0 0");
	update_lines(f, l, &n);
	assert_true(n > 0);
	/* ours: H.D's AAAA (16 bytes) and our id's TXT, exactly */
	{
		struct agent_rr own[2] = { f->cur[0], f->cur[0] };

		own[1].type = AGENT_RR_TXT;
		own[1].txt.n = 1;
		own[1].txt.len[0] = 3;
		memcpy(own[1].txt.s[0], "abc", 4);
		pre = (struct dnsc_update_prereq){ .rrs = own, .nrrs = 2 };
		build_pre(f, &pre);
	}
	prereq_lines(f, l, &n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], "IN 28 laptop.alice.members.example.net. 0 16");
	assert_string_equal(l[1], "IN 16 laptop.alice.members.example.net. 0 4");
	/* bounds and bad records */
	{
		struct dns_tsig t;
		struct agent_rr bad = f->cur[0];

		bad.type = 99;
		pre = (struct dnsc_update_prereq){ .rrs = &bad, .nrrs = 1 };
		dns_tsig_init(&t, &f->key);
		assert_int_equal(dnsc_update_build_pre(f->buf, sizeof(f->buf), &f->len, 1, &f->zone, &pre, f->cur,
						       f->ncur, NULL, 0, 5400, &t, NOW), -EINVAL);
		pre = (struct dnsc_update_prereq){ .rrs = NULL, .nrrs = 1 };
		assert_int_equal(dnsc_update_build_pre(f->buf, sizeof(f->buf), &f->len, 1, &f->zone, &pre, f->cur,
						       f->ncur, NULL, 0, 5400, &t, NOW), -EINVAL);
		pre = (struct dnsc_update_prereq){ .unused = "bad..name" };
		assert_int_equal(dnsc_update_build_pre(f->buf, sizeof(f->buf), &f->len, 1, &f->zone, &pre, f->cur,
						       f->ncur, NULL, 0, 5400, &t, NOW), -EINVAL);
		dns_tsig_fini(&t);
	}
}

/* An answer with @p naaaa AAAA records of @p owner, and TXT strings @p txt (NULL: none). */
static void seen_answer(struct dnsc_resp *r, uint8_t *buf, const char *owner, unsigned naaaa,
			const char *const *txt, size_t ntxt)
{
	struct dns_builder b;
	struct dns_name o;
	size_t len;

	memset(r, 0, sizeof(*r));
	assert_int_equal(dns_name_from_text(&o, owner), 0);
	assert_int_equal(dns_builder_init(&b, buf, DNSC_MSG_MAX, DNSC_MSG_MAX, 7, DNS_FLAG_QR), 0);
	assert_int_equal(dns_builder_question(&b, &o, DNS_TYPE_AAAA, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&b, DNS_SEC_ANSWER), 0);
	for (unsigned i = 0; i < naaaa; i++) {
		uint8_t a[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(i + 1) };

		assert_int_equal(dns_builder_rr_begin(&b, &o, DNS_TYPE_AAAA, DNS_CLASS_IN, 60), 0);
		wire_write_bytes(dns_builder_wire(&b), a, 16);
		assert_int_equal(dns_builder_rr_end(&b), 0);
	}
	if (txt) {
		assert_int_equal(dns_builder_rr_begin(&b, &o, DNS_TYPE_TXT, DNS_CLASS_IN, 60), 0);
		for (size_t i = 0; i < ntxt; i++) {
			wire_write_u8(dns_builder_wire(&b), (uint8_t)strlen(txt[i]));
			wire_write_bytes(dns_builder_wire(&b), txt[i], strlen(txt[i]));
		}
		assert_int_equal(dns_builder_rr_end(&b), 0);
	}
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(dns_msg_parse(&r->msg, buf, len), 0);
}

static void test_name_seen(void **state)
{
	static uint8_t buf[DNSC_MSG_MAX];
	static const char *const id_txt[] = { "v=1", "autotunnel-id=0123456789abcdef0123456789abcdef" };
	static const char *const bad_id[] = { "autotunnel-id=0123456789ABCDEF0123456789ABCDEF" };
	static const char *const short_id[] = { "autotunnel-id=0123" };
	struct agent_name_seen seen;
	struct dnsc_resp r;
	struct dns_name o;

	(void)state;
	assert_int_equal(dns_name_from_text(&o, "desktop." DOMAIN), 0);
	seen_answer(&r, buf, "desktop." DOMAIN, 2, id_txt, 2);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dnsc_name_seen_read(&r, &o, &seen), 0);
	assert_int_equal(seen.naaaa, 2);
	assert_int_equal(seen.aaaa[1][15], 2);
	assert_string_equal(seen.id, "0123456789abcdef0123456789abcdef");
	/* another owner's records are not H.D's */
	seen_answer(&r, buf, "laptop." DOMAIN, 1, id_txt, 2);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dnsc_name_seen_read(&r, &o, &seen), 0);
	assert_int_equal(seen.naaaa, 0);
	assert_string_equal(seen.id, "");
	/* an id that is not 32 lower-case hex digits is none */
	seen_answer(&r, buf, "desktop." DOMAIN, 0, bad_id, 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dnsc_name_seen_read(&r, &o, &seen), 0);
	assert_string_equal(seen.id, "");
	seen_answer(&r, buf, "desktop." DOMAIN, 0, short_id, 1);
	assert_int_equal(dnsc_name_seen_read(&r, &o, &seen), 0);
	assert_string_equal(seen.id, "");
	/* more AAAAs than kept: the first AGENT_NAME_SEEN_MAX */
	seen_answer(&r, buf, "desktop." DOMAIN, AGENT_NAME_SEEN_MAX + 2, NULL, 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dnsc_name_seen_read(&r, &o, &seen), 0);
	assert_int_equal(seen.naaaa, AGENT_NAME_SEEN_MAX);
}

static void test_zone_and_key(void **state)
{
	struct dns_name d, z;
	struct dns_tsig_key k;
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	assert_int_equal(dns_name_from_text(&d, "Alice.Members.Example.NET"), 0);
	assert_int_equal(dnsc_zone_of(&d, &z), 0);
	assert_true(dns_name_to_text(&z, t, sizeof(t)) > 0);
	assert_string_equal(t, "Members.Example.NET.");
	assert_int_equal(dns_name_from_text(&d, "net"), 0);
	assert_int_equal(dnsc_zone_of(&d, &z), -EINVAL);
	/* the key is named D in lower case (briefs: TSIG key name = D) */
	assert_int_equal(dnsc_account_key(&k, "Alice.Members.Example.NET.", SECRET), 0);
	assert_true(dns_name_to_text(&k.name, t, sizeof(t)) > 0);
	assert_string_equal(t, "alice.members.example.net.");
	assert_int_equal(k.alg, DNS_TSIG_HMAC_SHA256);
	assert_int_equal(k.secret_len, 32);
	assert_int_equal(dnsc_account_key(&k, "net", SECRET), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_publish_replaces, setup),
		cmocka_unit_test_setup(test_srv_rdata, setup),
		cmocka_unit_test_setup(test_refresh_adds_only, setup),
		cmocka_unit_test_setup(test_moved_replaces_changed_rrsets, setup),
		cmocka_unit_test_setup(test_service_dropped, setup),
		cmocka_unit_test_setup(test_withdraw, setup),
		cmocka_unit_test_setup(test_build_errors, setup),
		cmocka_unit_test_setup(test_answers, setup),
		cmocka_unit_test(test_zone_and_key),
		cmocka_unit_test_setup(test_prerequisites, setup),
		cmocka_unit_test(test_name_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
