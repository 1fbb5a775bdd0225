/*
 * lib/dns/update: RFC 2136 prerequisites (§2.4, §3.2), prescan (§3.4.1)
 * and update rules (§3.4.2) against the in-memory zone, with messages as
 * nsupdate sends them (captured on loopback, see test_dns_tsig.c) and
 * messages made with our builder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_test_util.h"

#include "dns/edns.h"
#include "dns/memzone.h"
#include "dns/msg.h"
#include "dns/update.h"

/* nsupdate: prereq nxdomain host; add host AAAA fd00::1, host A 192.0.2.7, PTR, TXT */
static const char NSUPDATE_1[] =
	"9b1e28000001000100040001076d656d62657273076578616d706c65036e6574000006000104686f737405616c696365"
	"076d656d62657273076578616d706c65036e65740000ff00fe000000000000c025001c00010000012c0010fd00000000"
	"0000000000000000000001c025000100010000012c0004c00002070b5f6175746f74756e6e656c045f75647005616c69"
	"6365076d656d62657273076578616d706c65036e657400000c00010000012c0002c025106175746f74756e6e656c2d30"
	"302d3232c02a001000010000012c000c03763d31076d6f64656c3d7805616c696365076d656d62657273076578616d70"
	"6c65036e65740000fa00ff00000000003d0b686d61632d7368613235360000006b023933012c0020776c95887e372497"
	"fb6ec6a64754d27be57b32493409d9743d816ef64b3dabff9b1e00000000";
/*
 * nsupdate: prereq yxrrset host AAAA; yxrrset host A 192.0.2.7; nxrrset host CNAME;
 * yxdomain alice; delete host A 192.0.2.7; delete host TXT; delete old; add SRV.
 */
static const char NSUPDATE_2[] =
	"0bb928000001000400040001076d656d62657273076578616d706c65036e6574000006000104686f737405616c696365"
	"076d656d62657273076578616d706c65036e657400001c00ff000000000000c02500010001000000000004c0000207c0"
	"25000500fe000000000000c02a00ff00ff000000000000c025000100fe000000000004c0000207c025001000ff000000"
	"000000036f6c64c02a00ff00ff0000000000000b5f6175746f74756e6e656c045f75647004686f737405616c69636507"
	"6d656d62657273076578616d706c65036e657400002100010000012c0032000000001194106175746f74756e6e656c2d"
	"30302d323205616c696365076d656d62657273076578616d706c65036e65740005616c696365076d656d626572730765"
	"78616d706c65036e65740000fa00ff00000000003a08686d61632d6d6435077369672d616c670372656703696e740000"
	"006b023934012c0010c95262da0e50c6570866ec6f261e927b0bb900000000";

/* The zone: members.example.net with SOA serial 1 and two NS. */
struct fixture {
	struct dns_memzone z;
	struct dns_zone_ops ops;	/* memzone's, with change() counting */
	unsigned changes;
	int fail_change;		/* nonzero: change() fails with it */
	struct dns_change last;
};

static struct fixture *F;

static int counting_change(void *zone, const struct dns_change *c)
{
	F->changes++;
	F->last = *c;
	if (F->fail_change)
		return F->fail_change;
	return dns_memzone_apply(zone, c);
}

static void soa_rdata(uint32_t serial, uint8_t *out, uint16_t *len)
{
	struct dns_name m = N("ns1.members.example.net"), r = N("hostmaster.members.example.net");
	struct wire w = wire_writer(out, 600);

	wire_write_bytes(&w, m.wire, m.len);
	wire_write_bytes(&w, r.wire, r.len);
	wire_write_u32(&w, serial);
	wire_write_u32(&w, 3600);
	wire_write_u32(&w, 900);
	wire_write_u32(&w, 604800);
	wire_write_u32(&w, 60);
	*len = (uint16_t)wire_offset(&w);
}

static int setup(void **state)
{
	struct dns_name apex = N("members.example.net"), ns1 = N("ns1.members.example.net"),
			ns2 = N("ns2.members.example.net");
	uint8_t soa[600];
	uint16_t soalen;

	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	dns_memzone_init(&F->z, &apex);
	soa_rdata(1, soa, &soalen);
	assert_int_equal(dns_memzone_add(&F->z, &apex, DNS_TYPE_SOA, 3600, soa, soalen), 0);
	assert_int_equal(dns_memzone_add(&F->z, &apex, DNS_TYPE_NS, 3600, ns1.wire, ns1.len), 0);
	assert_int_equal(dns_memzone_add(&F->z, &apex, DNS_TYPE_NS, 3600, ns2.wire, ns2.len), 0);
	F->ops = *dns_memzone_ops();
	F->ops.change = counting_change;
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	free(F);
	F = NULL;
	return 0;
}

static unsigned count(const char *name, uint16_t type)
{
	struct dns_name n = N(name);

	return dns_memzone_count(&F->z, &n, type, NULL, 0);
}

static uint16_t run_bytes(const uint8_t *buf, size_t len)
{
	struct dns_msg m;
	struct dns_name apex = N("members.example.net");
	uint16_t rcode = 0xffff;

	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(dns_update_process(&m, &apex, DNS_CLASS_IN, &F->ops, &F->z, &rcode), 0);
	return rcode;
}

static uint16_t run_hex(const char *hex)
{
	uint8_t buf[1024];
	size_t len = unhex(buf, sizeof(buf), hex);

	return run_bytes(buf, len);
}

/* ---- a small UPDATE message maker ------------------------------------------- */

struct upd {
	uint8_t buf[4096];
	struct dns_builder b;
};

static void upd_begin(struct upd *u, const char *zone, uint16_t ztype)
{
	struct dns_name z = N(zone);

	assert_int_equal(dns_builder_init(&u->b, u->buf, sizeof(u->buf), sizeof(u->buf), 0x5151,
					  DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT), 0);
	assert_int_equal(dns_builder_question(&u->b, &z, ztype, DNS_CLASS_IN), 0);
}

/* An UPDATE of the test zone, members.example.net. */
static void upd_zone(struct upd *u)
{
	upd_begin(u, "members.example.net", DNS_TYPE_SOA);
}

/* An RR in section @p sec; rdata given as a name (for name types) or raw bytes. */
static void upd_rr(struct upd *u, enum dns_section sec, const char *owner, uint16_t type, uint16_t rclass,
		   uint32_t ttl, const void *rd, uint16_t rdlen)
{
	struct dns_name o = N(owner);

	assert_int_equal(dns_builder_section(&u->b, sec), 0);
	assert_int_equal(dns_builder_add_raw(&u->b, &o, type, rclass, ttl, rd, rdlen), 0);
}

static void upd_a(struct upd *u, enum dns_section sec, const char *owner, uint16_t rclass, uint32_t ttl,
		  uint8_t last)
{
	uint8_t a[4] = { 192, 0, 2, last };

	upd_rr(u, sec, owner, DNS_TYPE_A, rclass, ttl, a, 4);
}

static void upd_name(struct upd *u, enum dns_section sec, const char *owner, uint16_t type, uint16_t rclass,
		     uint32_t ttl, const char *target)
{
	struct dns_name t = N(target);

	upd_rr(u, sec, owner, type, rclass, ttl, t.wire, t.len);
}

static uint16_t upd_run(struct upd *u)
{
	size_t len;

	assert_int_equal(dns_builder_finish(&u->b, &len), 0);
	return run_bytes(u->buf, len);
}

/* ---- tests -------------------------------------------------------------------- */

static void nsupdate_messages(void **state)
{
	struct dns_name host = N("host.alice.members.example.net");
	struct upd u;

	/* prereq nxdomain holds on an empty account: four adds */
	assert_int_equal(run_hex(NSUPDATE_1), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 4);
	assert_int_equal(count("host.alice.members.example.net", DNS_TYPE_AAAA), 1);
	assert_int_equal(count("host.alice.members.example.net", DNS_TYPE_A), 1);
	assert_int_equal(count("_autotunnel._udp.alice.members.example.net", DNS_TYPE_PTR), 1);
	assert_int_equal(count("autotunnel-00-22.alice.members.example.net", DNS_TYPE_TXT), 1);
	/* the PTR target was compressed in the message and is stored whole */
	{
		struct dns_name ptr = N("_autotunnel._udp.alice.members.example.net");

		assert_int_equal(dns_memzone_count(&F->z, &ptr, DNS_TYPE_PTR, host.wire, host.len), 1);
	}
	/* the same again: now the name is in use */
	F->changes = 0;
	assert_int_equal(run_hex(NSUPDATE_1), DNS_RCODE_YXDOMAIN);
	assert_int_equal(F->changes, 0);

	/* the second message wants alice.members.example.net in use: it is not */
	assert_int_equal(run_hex(NSUPDATE_2), DNS_RCODE_NXDOMAIN);
	assert_int_equal(F->changes, 0);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "alice.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 60, "\x02hi", 3);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	F->changes = 0;
	assert_int_equal(run_hex(NSUPDATE_2), DNS_RCODE_NOERROR);
	/* A 192.0.2.7 deleted, the SRV added; the TXT and "old" deletes found nothing */
	assert_int_equal(count("host.alice.members.example.net", DNS_TYPE_A), 0);
	assert_int_equal(count("host.alice.members.example.net", DNS_TYPE_AAAA), 1);
	assert_int_equal(count("_autotunnel._udp.host.alice.members.example.net", DNS_TYPE_SRV), 1);
	assert_int_equal(F->changes, 2);
	/* now "yxrrset host A 192.0.2.7" fails */
	assert_int_equal(run_hex(NSUPDATE_2), DNS_RCODE_NXRRSET);
}

static void prerequisite_forms(void **state)
{
	struct upd u;

	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 1);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 2);
	upd_name(&u, DNS_SEC_UPDATE, "p.members.example.net", DNS_TYPE_PTR, DNS_CLASS_IN, 60, "Target.Example");
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);

	/* RRset exists (value-independent): class ANY, type T, no rdata */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_AAAA, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXRRSET);

	/* RRset exists (value-dependent): the whole set, no more, no less */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 2);
	upd_a(&u, DNS_SEC_PREREQ, "H.members.example.net", DNS_CLASS_IN, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXRRSET);	/* a subset */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 1);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 2);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 3);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXRRSET);	/* a superset */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "x.members.example.net", DNS_CLASS_IN, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXRRSET);	/* no such RRset */
	/* names inside rdata compare without case */
	upd_zone(&u);
	upd_name(&u, DNS_SEC_PREREQ, "p.members.example.net", DNS_TYPE_PTR, DNS_CLASS_IN, 0, "target.EXAMPLE");
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	/* two sets at once: both must hold */
	upd_zone(&u);
	upd_name(&u, DNS_SEC_PREREQ, "p.members.example.net", DNS_TYPE_PTR, DNS_CLASS_IN, 0, "target.example");
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_IN, 0, 2);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXRRSET);

	/* RRset does not exist: class NONE, type T */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_AAAA, DNS_CLASS_NONE, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_NONE, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_YXRRSET);

	/* name is in use: class ANY, type ANY */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "p.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "nobody.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NXDOMAIN);

	/* name is not in use: class NONE, type ANY */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "nobody.members.example.net", DNS_TYPE_ANY, DNS_CLASS_NONE, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_ANY, DNS_CLASS_NONE, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_YXDOMAIN);

	/* malformed prerequisites */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 1, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);	/* TTL not 0 */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_ANY, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);	/* class ANY with rdata */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_CLASS_NONE, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);	/* class NONE with rdata */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_CH, 0, "\1\2\3\4", 4);
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);	/* another class */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.example.org", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOTZONE);
}

static void update_forms(void **state)
{
	struct upd u;
	uint8_t a1[4] = { 192, 0, 2, 1 };
	struct dns_name h = N("h.members.example.net");

	/* add, then a duplicate add replaces the RR (new TTL), no second copy */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 1);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 2);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 60, "\x01x", 2);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_A), 2);
	F->changes = 0;
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "H.members.example.net", DNS_CLASS_IN, 120, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 1);
	assert_int_equal(F->last.op, DNS_CHANGE_REPLACE);
	assert_int_equal(F->last.old_ttl, 60);
	assert_int_equal(F->last.ttl, 120);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_A), 2);
	for (unsigned i = 0; i < F->z.n; i++)
		if (F->z.rr[i].type == DNS_TYPE_A && F->z.rr[i].rdata[3] == 1)
			assert_int_equal(F->z.rr[i].ttl, 120);

	/* delete one RR (class NONE) */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_NONE, 0, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(dns_memzone_count(&F->z, &h, DNS_TYPE_A, a1, 4), 0);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_A), 1);
	/* delete an RRset (class ANY, type A) */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_A), 0);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_TXT), 1);
	/* delete every RRset of the name (class ANY, type ANY) */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_ANY), 0);
	/* deleting what is not there reports no change */
	F->changes = 0;
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_NONE, 0, 9);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 0);

	/* in order: delete the RRset, then add, in one message */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 5);
	upd_rr(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 6);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("h.members.example.net", DNS_TYPE_A), 1);
	assert_int_equal(F->last.op, DNS_CHANGE_ADD);
	assert_int_equal(F->last.index, 2);
}

static void apex_rules(void **state)
{
	struct upd u;
	uint8_t soa[600];
	uint16_t soalen;
	struct dns_name ns1 = N("ns1.members.example.net");

	/* delete-all at the apex keeps SOA and NS */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 60, "\x01x", 2);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("members.example.net", DNS_TYPE_TXT), 0);
	assert_int_equal(count("members.example.net", DNS_TYPE_SOA), 1);
	assert_int_equal(count("members.example.net", DNS_TYPE_NS), 2);
	/* and with only SOA and NS left, it is no change at all */
	F->changes = 0;
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	/* deleting the apex SOA or NS RRset is ignored */
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_NS, DNS_CLASS_ANY, 0, NULL, 0);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 0);
	assert_int_equal(count("members.example.net", DNS_TYPE_NS), 2);

	/* one apex NS may go, the last may not; an SOA is never deleted by class NONE */
	upd_zone(&u);
	upd_name(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_NS, DNS_CLASS_NONE, 0, "ns2.members.example.net");
	upd_name(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_NS, DNS_CLASS_NONE, 0, "ns1.members.example.net");
	soa_rdata(1, soa, &soalen);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_NONE, 0, soa, soalen);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("members.example.net", DNS_TYPE_NS), 1);
	assert_int_equal(dns_memzone_count(&F->z, &F->z.apex, DNS_TYPE_NS, ns1.wire, ns1.len), 1);
	assert_int_equal(count("members.example.net", DNS_TYPE_SOA), 1);

	/* SOA: a higher serial replaces, an equal or lower one is ignored (RFC 1982) */
	F->changes = 0;
	upd_zone(&u);
	soa_rdata(1, soa, &soalen);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 60, soa, soalen);
	soa_rdata(0xffffffff, soa, &soalen);	/* "lower" than 1 in serial arithmetic */
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 60, soa, soalen);
	soa_rdata(7, soa, &soalen);
	upd_rr(&u, DNS_SEC_UPDATE, "sub.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 60, soa, soalen);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 0);
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 60, soa, soalen);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("members.example.net", DNS_TYPE_SOA), 1);
	for (unsigned i = 0; i < F->z.n; i++) {
		if (F->z.rr[i].type == DNS_TYPE_SOA) {
			struct wire r = wire_reader(F->z.rr[i].rdata, F->z.rr[i].rdlen);
			struct dns_soa s;

			assert_int_equal(dns_rdata_soa_read(&r, &s), 0);
			assert_int_equal(s.serial, 7);
		}
	}
}

static void cname_rules(void **state)
{
	struct upd u;

	upd_zone(&u);
	upd_name(&u, DNS_SEC_UPDATE, "c.members.example.net", DNS_TYPE_CNAME, DNS_CLASS_IN, 60, "one.example");
	upd_a(&u, DNS_SEC_UPDATE, "d.members.example.net", DNS_CLASS_IN, 60, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	F->changes = 0;
	/* data beside a CNAME, and a CNAME beside data: ignored */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "c.members.example.net", DNS_CLASS_IN, 60, 1);
	upd_name(&u, DNS_SEC_UPDATE, "d.members.example.net", DNS_TYPE_CNAME, DNS_CLASS_IN, 60, "one.example");
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->changes, 0);
	assert_int_equal(count("c.members.example.net", DNS_TYPE_A), 0);
	assert_int_equal(count("d.members.example.net", DNS_TYPE_CNAME), 0);
	/* a new CNAME replaces the old one */
	upd_zone(&u);
	upd_name(&u, DNS_SEC_UPDATE, "c.members.example.net", DNS_TYPE_CNAME, DNS_CLASS_IN, 60, "two.example");
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(count("c.members.example.net", DNS_TYPE_CNAME), 1);
	{
		struct dns_name c = N("c.members.example.net"), two = N("two.example");

		assert_int_equal(dns_memzone_count(&F->z, &c, DNS_TYPE_CNAME, two.wire, two.len), 1);
	}
	/* the same CNAME again (other case) is a replace, not an add */
	upd_zone(&u);
	upd_name(&u, DNS_SEC_UPDATE, "c.members.example.net", DNS_TYPE_CNAME, DNS_CLASS_IN, 30, "TWO.example");
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	assert_int_equal(F->last.op, DNS_CHANGE_REPLACE);
	assert_int_equal(count("c.members.example.net", DNS_TYPE_CNAME), 1);
}

static void prescan_is_atomic(void **state)
{
	struct upd u;
	size_t len;
	struct dns_msg m;
	struct dns_name apex = N("members.example.net");
	uint16_t rcode;
	static const struct {
		uint16_t type, rclass;
		uint32_t ttl;
		uint16_t rdlen;
		uint16_t want;
	} bad[] = {
		{ DNS_TYPE_ANY, DNS_CLASS_IN, 60, 0, DNS_RCODE_FORMERR },	/* add of type ANY */
		{ DNS_TYPE_AXFR, DNS_CLASS_IN, 60, 0, DNS_RCODE_FORMERR },
		{ DNS_TYPE_A, DNS_CLASS_ANY, 5, 0, DNS_RCODE_FORMERR },	/* delete with a TTL */
		{ DNS_TYPE_AXFR, DNS_CLASS_ANY, 0, 0, DNS_RCODE_FORMERR },
		{ DNS_TYPE_ANY, DNS_CLASS_NONE, 0, 0, DNS_RCODE_FORMERR },	/* delete-RR of ANY */
		{ DNS_TYPE_A, DNS_CLASS_NONE, 5, 4, DNS_RCODE_FORMERR },
		{ DNS_TYPE_A, DNS_CLASS_CH, 0, 4, DNS_RCODE_FORMERR },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		F->changes = 0;
		upd_zone(&u);
		upd_a(&u, DNS_SEC_UPDATE, "ok.members.example.net", DNS_CLASS_IN, 60, 1);
		upd_rr(&u, DNS_SEC_UPDATE, "bad.members.example.net", bad[i].type, bad[i].rclass, bad[i].ttl,
		       "\1\2\3\4", bad[i].rdlen);
		assert_int_equal(upd_run(&u), bad[i].want);
		/* nothing was applied, not even the good RR before the bad one */
		assert_int_equal(F->changes, 0);
		assert_int_equal(count("ok.members.example.net", DNS_TYPE_ANY), 0);
	}
	/* a name outside the zone */
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "ok.members.example.net", DNS_CLASS_IN, 60, 1);
	upd_a(&u, DNS_SEC_UPDATE, "members.example.org", DNS_CLASS_IN, 60, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOTZONE);
	assert_int_equal(count("ok.members.example.net", DNS_TYPE_ANY), 0);

	/* zone section: not SOA, two zones, another zone, another class */
	upd_begin(&u, "members.example.net", DNS_TYPE_A);
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);
	upd_zone(&u);
	{
		struct dns_name z = N("members.example.net");

		assert_int_equal(dns_builder_question(&u.b, &z, DNS_TYPE_SOA, DNS_CLASS_IN), 0);
	}
	assert_int_equal(upd_run(&u), DNS_RCODE_FORMERR);
	upd_begin(&u, "example.net", DNS_TYPE_SOA);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOTAUTH);
	upd_zone(&u);
	assert_int_equal(dns_builder_finish(&u.b, &len), 0);
	assert_int_equal(dns_msg_parse(&m, u.buf, len), 0);
	assert_int_equal(dns_update_process(&m, &apex, DNS_CLASS_CH, &F->ops, &F->z, &rcode), 0);
	assert_int_equal(rcode, DNS_RCODE_NOTAUTH);
}

static void permission_and_failures(void **state)
{
	struct upd u;
	struct dns_name alice = N("alice.members.example.net");

	F->z.owner = &alice;
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.alice.members.example.net", DNS_CLASS_IN, 60, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_NOERROR);
	/* a name of another account: REFUSED, nothing applied */
	F->changes = 0;
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h2.alice.members.example.net", DNS_CLASS_IN, 60, 1);
	upd_a(&u, DNS_SEC_UPDATE, "h.bob.members.example.net", DNS_CLASS_IN, 60, 1);
	assert_int_equal(upd_run(&u), DNS_RCODE_REFUSED);
	assert_int_equal(F->changes, 0);
	/* prerequisites cannot probe other accounts either: REFUSED, not NXDOMAIN/YXDOMAIN */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_PREREQ, "h.bob.members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_REFUSED);
	/* the apex belongs to the operator */
	upd_zone(&u);
	upd_rr(&u, DNS_SEC_UPDATE, "members.example.net", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(upd_run(&u), DNS_RCODE_REFUSED);
	F->z.owner = NULL;

	/* a failing store: the error comes back, SERVFAIL */
	F->fail_change = -EIO;
	upd_zone(&u);
	upd_a(&u, DNS_SEC_UPDATE, "h.members.example.net", DNS_CLASS_IN, 60, 1);
	{
		size_t len;
		struct dns_msg m;
		struct dns_name apex = N("members.example.net");
		uint16_t rcode;

		assert_int_equal(dns_builder_finish(&u.b, &len), 0);
		assert_int_equal(dns_msg_parse(&m, u.buf, len), 0);
		assert_int_equal(dns_update_process(&m, &apex, DNS_CLASS_IN, &F->ops, &F->z, &rcode), -EIO);
		assert_int_equal(rcode, DNS_RCODE_SERVFAIL);
	}
	F->fail_change = 0;
}

static void lease_option(void **state)
{
	struct upd u;
	struct dns_lease l = { .lease = 5400 }, got;
	struct dns_msg m;
	size_t len;

	upd_zone(&u);
	dns_builder_edns(&u.b, 1232, 0);
	assert_int_equal(dns_builder_add_lease(&u.b, &l), 0);
	assert_int_equal(dns_builder_finish(&u.b, &len), 0);
	assert_int_equal(dns_msg_parse(&m, u.buf, len), 0);
	assert_int_equal(dns_update_lease(&m, &got), 0);
	assert_int_equal(got.lease, 5400);
	assert_false(got.has_key_lease);

	upd_zone(&u);
	dns_builder_edns(&u.b, 1232, 0);
	assert_int_equal(dns_builder_edns_option(&u.b, DNS_EDNS_OPT_UL, "\0\0\0\0\0", 5), 0);
	assert_int_equal(dns_builder_finish(&u.b, &len), 0);
	assert_int_equal(dns_msg_parse(&m, u.buf, len), 0);
	assert_int_equal(dns_update_lease(&m, &got), -EBADMSG);

	/* nsupdate sends none */
	len = unhex(u.buf, sizeof(u.buf), NSUPDATE_1);
	assert_int_equal(dns_msg_parse(&m, u.buf, len), 0);
	assert_int_equal(dns_update_lease(&m, &got), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(nsupdate_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(prerequisite_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(update_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(apex_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(cname_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(prescan_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(permission_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_option, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
