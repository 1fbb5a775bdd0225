/*
 * autotunnel-dnsd's answers (query.c) without sockets: a zone index and an
 * account table built in memory, queries built with lib/dns, answers
 * parsed back and checked section by section: SOA/NS at the apex with glue,
 * NXDOMAIN and NODATA with the SOA (RFC 2308 TTL), empty non-terminals,
 * SRV with target addresses in additional, CNAME within the zone,
 * truncation at 512 and EDNS 1232, BADVERS, FORMERR, NOTIMP, REFUSED
 * (outside the zone, class, transfer), the synthesised SRV records, and
 * the privacy rule with TSIG (unsigned, wrong key, right key, bad MAC),
 * account domains as zones (SOA/NS at D, public server and STUN/TURN SRV,
 * the same NODATA for every private name asked unsigned, LLQs still
 * refused), signed error answers to signed queries, and the STUN/TURN
 * settings, and the TURN credential at _turn-credential.D.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <sys/stat.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/zone.h"

static struct dnsd_settings cfg;
static struct dnsd d;
static struct qscratch qs;
static struct stats st;
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
}

static void add_name_rr(const char *owner, uint16_t type, const char *target, uint16_t port)
{
	struct dns_name t = N(target);
	uint8_t rd[6 + DNS_NAME_MAX];
	size_t off = 0;

	if (type == DNS_TYPE_SRV) {
		memset(rd, 0, 4);
		rd[4] = (uint8_t)(port >> 8);
		rd[5] = (uint8_t)port;
		off = 6;
	}
	memcpy(rd + off, t.wire, t.len);
	add(owner, type, rd, (uint16_t)(off + t.len));
}

static int setup(void **state)
{
	struct store *s;
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	struct store_account b = { .name = "bob", .alg = "hmac-md5", .key_len = 32 };
	char err[256];
	int fd;

	dnsd_settings_default(&cfg);
	strcpy(dbpath, "/tmp/test_dnsd_query.XXXXXX");
	fd = mkstemp(dbpath);
	assert_true(fd >= 0);
	close(fd);
	cfg.db = strdup(dbpath);
	cfg.port = 5353;
	cfg.tls_port = 8853;
	assert_int_equal(dnsd_settings_finish(&cfg, err, sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.udp_port = 5353;
	d.tls_port = 8853;
	d.serial = 2026;
	assert_int_equal(dnsd_names(&d, &cfg, err, sizeof(err)), 0);
	assert_true(d.server_in_zone);
	d.v4[0][0] = 198, d.v4[0][1] = 51, d.v4[0][2] = 100, d.v4[0][3] = 53;
	d.n_v4 = 1;

	memset(a.key, 0x11, 32);
	memset(b.key, 0x22, 32);
	assert_int_equal(store_open(&s, dbpath, false, err, sizeof(err)), 0);
	assert_int_equal(store_account_put(s, &a), 0);
	assert_int_equal(store_account_put(s, &b), 0);
	d.accounts = accounts_load(&d.apex, NULL, s, err, sizeof(err));
	assert_non_null(d.accounts);
	store_close(s);

	d.zone = zone_new(d.apex.wire, d.apex.len);
	add("h1.alice.members.example.net", DNS_TYPE_A, "\xc0\x00\x02\x01", 4);
	add("h1.alice.members.example.net", DNS_TYPE_AAAA, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	add_name_rr("_autotunnel._udp.h1.alice.members.example.net", DNS_TYPE_SRV,
		    "AutoTunnel-1.alice.members.example.net", 4500);
	add("AutoTunnel-1.alice.members.example.net", DNS_TYPE_A, "\xcb\x00\x71\x0a", 4);
	add("AutoTunnel-1.alice.members.example.net", DNS_TYPE_AAAA, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	/* an SRV in alice's domain pointing into bob's: bob's address must not leak */
	add_name_rr("_leak._tcp.alice.members.example.net", DNS_TYPE_SRV, "x.bob.members.example.net", 1);
	add("x.bob.members.example.net", DNS_TYPE_A, "\xc6\x33\x64\x07", 4);
	add("www.members.example.net", DNS_TYPE_A, "\xc0\x00\x02\x63", 4);
	/* data at D itself: private like the rest */
	add("alice.members.example.net", DNS_TYPE_TXT, "\x06secret", 7);
	add_name_rr("alias.members.example.net", DNS_TYPE_CNAME, "www.members.example.net", 0);
	for (int i = 0; i < 40; i++) {
		uint8_t txt[41];

		txt[0] = 40;
		memset(txt + 1, 'a' + i % 26, 40);
		add("big.members.example.net", DNS_TYPE_TXT, txt, 41);
	}
	return 0;
}

static int teardown(void **state)
{
	char f[128];

	zone_free(d.zone);
	accounts_free(d.accounts);
	dnsd_settings_free(&cfg);
	unlink(dbpath);
	snprintf(f, sizeof(f), "%s-wal", dbpath);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", dbpath);
	unlink(f);
	return 0;
}

struct q {
	uint8_t buf[1024];
	size_t len;
	struct dns_tsig t;
	bool signed_;
};

/* A query; @p edns < 0: none; @p key: sign with it. */
static void mkq(struct q *q, const char *name, uint16_t type, uint16_t cls, int edns,
		const struct dns_tsig_key *key)
{
	struct dns_builder b;
	struct dns_name n = N(name);

	assert_int_equal(dns_builder_init(&b, q->buf, sizeof(q->buf), sizeof(q->buf), 0x4242, 0), 0);
	assert_int_equal(dns_builder_question(&b, &n, type, cls), 0);
	if (edns >= 0) {
		dns_builder_edns(&b, 1232, 0);
		b.edns_version = (uint8_t)edns;
	}
	assert_int_equal(dns_builder_finish(&b, &q->len), 0);
	q->signed_ = key != NULL;
	if (key) {
		dns_tsig_init(&q->t, key);
		assert_int_equal(dns_tsig_sign_request(&q->t, q->buf, q->len, sizeof(q->buf), &q->len,
						       (uint64_t)time(NULL)), 0);
	}
}

static uint8_t out[70000];
static struct dns_msg resp;

/* Run the query; returns the rcode of the answer (parsed into resp). */
static unsigned run(struct q *q, enum q_transport t)
{
	size_t olen = 0;

	assert_int_equal(query_process(&d, &qs, &st, q->buf, q->len, t, out, sizeof(out), &olen), Q_REPLY);
	assert_int_equal(dns_msg_parse(&resp, out, olen), 0);
	assert_int_equal(resp.hdr.id, 0x4242);
	assert_true(resp.hdr.flags & DNS_FLAG_QR);
	if (q->signed_) {
		bool is_signed = false;

		assert_int_equal(dns_tsig_verify_response(&q->t, &resp, (uint64_t)time(NULL), &is_signed), 0);
		assert_true(is_signed);
		dns_tsig_fini(&q->t);
	}
	return dns_msg_rcode(&resp);
}

static const struct dns_tsig_key *key_of(const char *label)
{
	const struct account *a = accounts_by_label(d.accounts, (const uint8_t *)label, strlen(label));

	assert_non_null(a);
	return &a->key;
}

static void apex(void **state)
{
	struct q q;
	struct wire r;
	struct dns_soa soa;

	mkq(&q, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_true(resp.hdr.flags & DNS_FLAG_AA);
	assert_int_equal(resp.count[1], 1);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_SOA);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_soa_read(&r, &soa), 0);
	assert_int_equal(soa.serial, 2026);
	assert_true(dns_name_equal(&soa.mname, &d.server_name));
	/* EDNS answered with our 1232 */
	assert_true(resp.edns.present);
	assert_int_equal(resp.edns.udp_size, 1232);

	mkq(&q, "MEMBERS.example.NET", DNS_TYPE_NS, DNS_CLASS_IN, -1, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_false(resp.edns.present);
	assert_int_equal(resp.count[1], 1);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_NS);
	/* the server's address as glue */
	assert_int_equal(resp.count[3], 1);
	assert_int_equal(resp.rr[2][0].type, DNS_TYPE_A);

	mkq(&q, "members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);
	assert_int_equal(resp.count[2], 1);	/* NODATA: SOA in authority */
}

static void negative(void **state)
{
	struct q q;

	mkq(&q, "nope.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NXDOMAIN);
	assert_int_equal(resp.count[1], 0);
	assert_int_equal(resp.count[2], 1);
	assert_int_equal(resp.rr[1][0].type, DNS_TYPE_SOA);
	assert_int_equal(resp.rr[1][0].ttl, 60);	/* RFC 2308: min(TTL, MINIMUM) */

	mkq(&q, "www.members.example.net", DNS_TYPE_AAAA, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);
	assert_int_equal(resp.count[2], 1);
}

static void srv_and_additional(void **state)
{
	struct q q;
	int a = 0, aaaa = 0;

	mkq(&q, "_autotunnel._udp.h1.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0,
	    key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_SRV);
	for (unsigned i = 0; i < resp.count[3]; i++) {
		a += resp.rr[2][i].type == DNS_TYPE_A;
		aaaa += resp.rr[2][i].type == DNS_TYPE_AAAA;
	}
	assert_int_equal(a, 1);
	assert_int_equal(aaaa, 1);

	/* an empty non-terminal: NODATA, not NXDOMAIN (RFC 8020) */
	mkq(&q, "_udp.h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);

	/* the target in bob's domain is not shown to alice */
	mkq(&q, "_leak._tcp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	for (unsigned i = 0; i < resp.count[3]; i++)
		assert_int_not_equal(resp.rr[2][i].type, DNS_TYPE_A);
}

static void cname(void **state)
{
	struct q q;

	mkq(&q, "alias.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 2);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_CNAME);
	assert_int_equal(resp.rr[0][1].type, DNS_TYPE_A);
}

static void truncation(void **state)
{
	struct q q;

	/* 40 TXT records of 52 bytes: over 512 and over 1232, within TCP */
	mkq(&q, "big.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, -1, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_true(resp.hdr.flags & DNS_FLAG_TC);
	assert_true(resp.len <= 512);
	mkq(&q, "big.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_true(resp.hdr.flags & DNS_FLAG_TC);
	assert_true(resp.len <= 1232);
	assert_true(resp.len > 512);
	/* the retry over TCP gets everything */
	assert_int_equal(run(&q, Q_TCP), DNS_RCODE_NOERROR);
	assert_false(resp.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(resp.count[1], 40);
}

static void errors(void **state)
{
	struct q q;
	size_t olen;
	static const uint8_t garbage[] = { 0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1 };

	mkq(&q, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 1, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_BADVERS);

	mkq(&q, "example.com", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	mkq(&q, "xmembers.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	mkq(&q, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_CH, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	mkq(&q, "members.example.net", DNS_TYPE_AXFR, DNS_CLASS_IN, -1, NULL);
	assert_int_equal(run(&q, Q_TCP), DNS_RCODE_REFUSED);

	/* a pointer to itself: FORMERR with the id, never a crash */
	memcpy(q.buf, garbage, sizeof(garbage));
	q.len = sizeof(garbage);
	q.signed_ = false;
	assert_int_equal(query_process(&d, &qs, &st, q.buf, q.len, Q_UDP, out, sizeof(out), &olen), Q_REPLY);
	assert_int_equal(olen, 12);
	assert_int_equal(out[0], 0x42);
	assert_int_equal(out[3] & 15, DNS_RCODE_FORMERR);
	/* shorter than a header: nothing */
	assert_int_equal(query_process(&d, &qs, &st, q.buf, 11, Q_UDP, out, sizeof(out), &olen), Q_DROP);
	/* a response is never answered */
	mkq(&q, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	q.buf[2] |= 0x80;
	assert_int_equal(query_process(&d, &qs, &st, q.buf, q.len, Q_UDP, out, sizeof(out), &olen), Q_DROP);
	/* NOTIFY: not implemented; UPDATE: the engine's */
	mkq(&q, "members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	q.buf[2] = (uint8_t)(DNS_OPCODE_NOTIFY << 3);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOTIMP);
	q.buf[2] = (uint8_t)(DNS_OPCODE_UPDATE << 3);
	assert_int_equal(query_process(&d, &qs, &st, q.buf, q.len, Q_UDP, out, sizeof(out), &olen), Q_ENGINE);
}

static void llq_goes_to_engine(void **state)
{
	struct dns_builder b;
	struct dns_name n = N("h1.alice.members.example.net");
	struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 3600 };
	uint8_t buf[512];
	size_t len, olen;

	assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 7, 0), 0);
	assert_int_equal(dns_builder_question(&b, &n, DNS_TYPE_A, DNS_CLASS_IN), 0);
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_add_llq(&b, &llq), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(query_process(&d, &qs, &st, buf, len, Q_UDP, out, sizeof(out), &olen), Q_ENGINE);
	/* an event acknowledgement is a response with the LLQ option: the engine's too */
	buf[2] |= 0x80;
	assert_int_equal(query_process(&d, &qs, &st, buf, len, Q_UDP, out, sizeof(out), &olen), Q_ENGINE);
}

static void synthesised(void **state)
{
	struct q q;
	struct wire r;
	struct dns_srv srv;

	mkq(&q, "_dns-update-tls._tcp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_srv_read(&r, &srv), 0);
	assert_int_equal(srv.port, 8853);
	assert_true(dns_name_equal(&srv.target, &d.server_name));
	assert_int_equal(resp.count[3], 3);	/* glue A, OPT and TSIG */

	mkq(&q, "_dns-llq._udp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_srv_read(&r, &srv), 0);
	assert_int_equal(srv.port, 5353);

	mkq(&q, "_tcp.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	mkq(&q, "alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	/* no account carol: nothing synthesised */
	mkq(&q, "_dns-llq._udp.carol.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NXDOMAIN);
}

static void privacy(void **state)
{
	struct q q;
	struct dns_tsig_key wrong;
	struct stats before = st;

	/* unsigned: the NODATA every private name gets (account_zones below) */
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);
	assert_int_equal(st.c[STAT_refused_private_unsigned], before.c[STAT_refused_private_unsigned] + 1);
	/* bob's key (hmac-md5) on alice's name: refused, and the refusal is signed */
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("bob"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	assert_int_equal(st.c[STAT_refused_private_wrong_key], before.c[STAT_refused_private_wrong_key] + 1);
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);

	/* alice's name with another secret: NOTAUTH, BADSIG */
	wrong = *key_of("alice");
	wrong.secret[0] ^= 1;
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, &wrong);
	q.signed_ = false;
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOTAUTH);
	assert_true(resp.tsig >= 0);
	dns_tsig_fini(&q.t);
	assert_int_equal(st.c[STAT_notauth_badsig], before.c[STAT_notauth_badsig] + 1);

	/* public names need no key; privacy off opens account data */
	mkq(&q, "www.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	cfg.private_zone = false;
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	cfg.private_zone = true;
}

/* The owner name of RR @p rr of resp, as text. */
static const char *owner_of(const struct dns_rr *rr)
{
	static char text[DNS_NAME_TEXT_MAX];
	struct dns_name n;

	assert_int_equal(dns_msg_name(&resp, rr->off, &n), 0);
	dns_name_canonicalize(&n);
	assert_true(dns_name_to_text(&n, text, sizeof(text)) > 0);
	return text;
}

/* The SOA of the zone whose top is @p zone: answer section, server fields. */
static void expect_soa(const struct dns_rr *rr, const char *zone)
{
	struct wire r = dns_msg_rdata(&resp, rr);
	struct dns_soa soa;

	assert_int_equal(rr->type, DNS_TYPE_SOA);
	assert_string_equal(owner_of(rr), zone);
	assert_int_equal(dns_rdata_soa_read(&r, &soa), 0);
	assert_true(dns_name_equal(&soa.mname, &d.server_name));
	assert_true(dns_name_equal(&soa.rname, &d.hostmaster));
	assert_int_equal(soa.serial, 2026);
}

/* Every account domain is a zone: SOA and NS at D for anyone (RFC 2136 §4). */
static void account_zones(void **state)
{
	struct q q;
	struct wire r;
	struct dns_name ns;

	mkq(&q, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_true(resp.hdr.flags & DNS_FLAG_AA);
	assert_int_equal(resp.count[1], 1);
	expect_soa(&resp.rr[0][0], "alice.members.example.net.");

	mkq(&q, "ALICE.members.example.net", DNS_TYPE_NS, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_NS);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_name_read(&r, &ns), 0);
	assert_true(dns_name_equal(&ns, &d.server_name));
	assert_int_equal(resp.rr[2][0].type, DNS_TYPE_A);	/* the server's glue */

	/* ANY without the key: SOA and NS only, never D's own data */
	mkq(&q, "alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 2);
	for (unsigned i = 0; i < resp.count[1]; i++)
		assert_int_not_equal(resp.rr[0][i].type, DNS_TYPE_TXT);
	/* with it: those and D's data */
	mkq(&q, "alice.members.example.net", DNS_TYPE_ANY, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 3);
	assert_int_equal(resp.rr[0][2].type, DNS_TYPE_TXT);
	/* another account's key gets the public records too, signed */
	mkq(&q, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, key_of("bob"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	expect_soa(&resp.rr[0][0], "alice.members.example.net.");

	/* the owner's negative answers name D's SOA (RFC 2308 §3) */
	mkq(&q, "nope.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NXDOMAIN);
	assert_int_equal(resp.rr[1][0].type, DNS_TYPE_SOA);
	assert_string_equal(owner_of(&resp.rr[1][0]), "alice.members.example.net.");
	/* the domain of no account: no zone, the apex answers */
	mkq(&q, "carol.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NXDOMAIN);
	assert_string_equal(owner_of(&resp.rr[1][0]), "members.example.net.");
}

/* Everything of resp but its id and question, decompressed, as text. */
static void shape_of(char *buf, size_t cap)
{
	char owner[DNS_NAME_TEXT_MAX], mname[DNS_NAME_TEXT_MAX], rname[DNS_NAME_TEXT_MAX];
	const struct dns_rr *rr = &resp.rr[1][0];
	struct wire r = dns_msg_rdata(&resp, rr);
	struct dns_soa soa;

	assert_int_equal(resp.count[2], 1);
	assert_int_equal(dns_rdata_soa_read(&r, &soa), 0);
	strcpy(owner, owner_of(rr));
	assert_true(dns_name_to_text(&soa.mname, mname, sizeof(mname)) > 0);
	assert_true(dns_name_to_text(&soa.rname, rname, sizeof(rname)) > 0);
	snprintf(buf, cap, "flags %04x counts %u %u %u %u edns %d %u auth %s %u %u %s %s %u %u %u %u %u",
		 resp.hdr.flags, resp.count[0], resp.count[1], resp.count[2], resp.count[3],
		 resp.edns.present, resp.edns.udp_size, owner, rr->type, rr->ttl, mname, rname,
		 soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum);
}

/*
 * A stock client walking up unsigned (RFC 2136 §4, RFC 6763 §11) finds D,
 * and learns nothing about the names below it: the answers for names that
 * exist and for names that do not are the same but for the question.
 */
static void walk_up_reveals_nothing(void **state)
{
	static const char *const names[] = {
		"laptop.h1.alice.members.example.net",
		"h1.alice.members.example.net",
		"nope.alice.members.example.net",
		"AutoTunnel-1.alice.members.example.net",
		"_udp.h1.alice.members.example.net",
		"_tcp.alice.members.example.net",
	};
	static const uint16_t types[] = { DNS_TYPE_SOA, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_SRV, DNS_TYPE_ANY };
	char first[1024], cur[1024];
	struct q q;

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			mkq(&q, names[i], types[t], DNS_CLASS_IN, 0, NULL);
			assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
			assert_int_equal(resp.count[1], 0);
			assert_string_equal(owner_of(&resp.rr[1][0]), "alice.members.example.net.");
			shape_of(t == 0 && i == 0 ? first : cur, sizeof(cur));
			if (t || i)
				assert_string_equal(cur, first);
		}
	}
	/* D's own data (a TXT at D): the same */
	mkq(&q, "alice.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	shape_of(cur, sizeof(cur));
	assert_string_equal(cur, first);
	/* the walk-up ends at D: SOA in the answer section */
	mkq(&q, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	expect_soa(&resp.rr[0][0], "alice.members.example.net.");
}

/* The server-location and STUN/TURN SRV records are public. */
static void public_srv(void **state)
{
	struct q q;
	struct wire r;
	struct dns_srv srv;
	struct dns_name stun = N("stun.example.org");

	mkq(&q, "_dns-update._udp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_srv_read(&r, &srv), 0);
	assert_int_equal(srv.port, 5353);
	assert_true(dns_name_equal(&srv.target, &d.server_name));
	mkq(&q, "_dns-llq-tls._tcp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	r = dns_msg_rdata(&resp, &resp.rr[0][0]);
	assert_int_equal(dns_rdata_srv_read(&r, &srv), 0);
	assert_int_equal(srv.port, 8853);

	/* STUN and TURN: nothing unless configured */
	mkq(&q, "_stun._udp.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);
	d.stun = (struct dnsd_srv){ .set = true, .port = 3478, .target = stun };
	d.turn = (struct dnsd_srv){ .set = true, .port = 3479, .target = stun };
	d.turns = (struct dnsd_srv){ .set = true, .port = 5349, .target = stun };
	{
		static const struct { const char *name; uint16_t port; } want[] = {
			{ "_stun._udp.alice.members.example.net", 3478 },
			{ "_turn._udp.alice.members.example.net", 3479 },
			{ "_turn._tcp.alice.members.example.net", 3479 },
			{ "_turns._tcp.alice.members.example.net", 5349 },
		};

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			mkq(&q, want[i].name, DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
			assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
			assert_int_equal(resp.count[1], 1);
			r = dns_msg_rdata(&resp, &resp.rr[0][0]);
			assert_int_equal(dns_rdata_srv_read(&r, &srv), 0);
			assert_int_equal(srv.port, want[i].port);
			assert_true(dns_name_equal(&srv.target, &stun));
		}
	}
	/* not in another account's name, not without an account */
	mkq(&q, "_stun._udp.h1.alice.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);
	mkq(&q, "_stun._udp.carol.members.example.net", DNS_TYPE_SRV, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NXDOMAIN);
	d.stun.set = d.turn.set = d.turns.set = false;
}

/* RFC 8945 §5.3: every error answer to a validly signed query is signed (run() checks). */
static void signed_errors(void **state)
{
	struct q q;

	mkq(&q, "example.com", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	mkq(&q, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_CH, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	mkq(&q, "alice.members.example.net", DNS_TYPE_AXFR, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_TCP), DNS_RCODE_REFUSED);
	mkq(&q, "alice.members.example.net", DNS_TYPE_SOA, DNS_CLASS_IN, 1, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_BADVERS);
	mkq(&q, "alice.members.example.net", 128 /* MAILA */, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOTIMP);
	/* another account's key on a private name: REFUSED, signed */
	mkq(&q, "h1.alice.members.example.net", DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("bob"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
}

/* An LLQ on a private name without the key stays refused: its events
 * would tell what the NODATA hides. */
/* query_check() on an unsigned LLQ setup for @p name/@p type: its action, and the rcode when Q_REPLY. */
static enum q_action check_llq(const char *name, uint16_t type, unsigned *rcode)
{
	struct dns_builder b;
	struct dns_name n = N(name);
	struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 3600 };
	struct qreq rq;
	uint8_t buf[512];
	size_t len, olen;
	enum q_action act;

	assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 0x4242, 0), 0);
	assert_int_equal(dns_builder_question(&b, &n, type, DNS_CLASS_IN), 0);
	dns_builder_edns(&b, 1232, 0);
	assert_int_equal(dns_builder_add_llq(&b, &llq), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(dns_msg_parse(&qs.msg, buf, len), 0);
	act = query_check(&d, &qs, &st, Q_UDP, &rq, out, sizeof(out), &olen);
	if (act == Q_REPLY) {
		assert_int_equal(dns_msg_parse(&resp, out, olen), 0);
		*rcode = dns_msg_rcode(&resp);
	}
	return act;
}

static void llq_private_unsigned_refused(void **state)
{
	struct dns_builder b;
	struct dns_name n = N("_ssh._tcp.alice.members.example.net");
	struct qreq rq;
	uint8_t buf[512];
	size_t len, olen;
	unsigned rcode = 0;

	assert_int_equal(check_llq("_ssh._tcp.alice.members.example.net", DNS_TYPE_PTR, &rcode), Q_REPLY);
	assert_int_equal(rcode, DNS_RCODE_REFUSED);
	/* ANY at D would see D's own data change: refused too */
	assert_int_equal(check_llq("alice.members.example.net", DNS_TYPE_ANY, &rcode), Q_REPLY);
	assert_int_equal(rcode, DNS_RCODE_REFUSED);
	assert_int_equal(check_llq("_dns-llq._udp.alice.members.example.net", DNS_TYPE_TXT, &rcode), Q_REPLY);
	assert_int_equal(rcode, DNS_RCODE_REFUSED);
	/* what never changes is public to an LLQ too */
	assert_int_equal(check_llq("alice.members.example.net", DNS_TYPE_SOA, &rcode), Q_ENGINE);
	assert_int_equal(check_llq("_dns-llq._udp.alice.members.example.net", DNS_TYPE_SRV, &rcode), Q_ENGINE);
	/* a plain query for the PTR: the NODATA */
	assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 0x4242, 0), 0);
	assert_int_equal(dns_builder_question(&b, &n, DNS_TYPE_PTR, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_finish(&b, &len), 0);
	assert_int_equal(dns_msg_parse(&qs.msg, buf, len), 0);
	assert_int_equal(query_check(&d, &qs, &st, Q_UDP, &rq, out, sizeof(out), &olen), Q_ENGINE);
	assert_true(rq.public_only);
}

/* stun-server, turn-server, turns-server: HOST[:PORT], a domain name, the RFC's default port. */
static void stun_turn_settings(void **state)
{
	struct dnsd_settings c;
	struct dnsd x;
	struct dns_name want = N("turn.example.org");
	char err[256];

	dnsd_settings_default(&c);
	c.stun_server = strdup("turn.example.org");
	c.turn_server = strdup("turn.example.org:3479");
	c.turns_server = strdup("turn.example.org.");
	assert_int_equal(dnsd_settings_finish(&c, err, sizeof(err)), 0);
	memset(&x, 0, sizeof(x));
	assert_int_equal(dnsd_names(&x, &c, err, sizeof(err)), 0);
	assert_true(x.stun.set && x.turn.set && x.turns.set);
	assert_int_equal(x.stun.port, 3478);	/* RFC 5389 §9 */
	assert_int_equal(x.turn.port, 3479);
	assert_int_equal(x.turns.port, 5349);	/* RFC 5928 §4: TURN over TLS */
	assert_true(dns_name_equal(&x.stun.target, &want));
	assert_true(dns_name_equal(&x.turns.target, &want));
	/* not set: nothing */
	free(c.turn_server);
	c.turn_server = NULL;
	assert_int_equal(dnsd_names(&x, &c, err, sizeof(err)), 0);
	assert_false(x.turn.set);
	/* the first port and the last out of range, no port, no host, an address with colons */
	static const char *const bad[] = { "stun.example.org:0", "stun.example.org:65536", "stun.example.org:",
					   ":3478", "2001:db8::1", "stun.example.org:34x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(c.stun_server);
		c.stun_server = strdup(bad[i]);
		assert_int_equal(dnsd_names(&x, &c, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--stun-server"));
	}
	free(c.stun_server);
	c.stun_server = strdup("stun.example.org:65535");
	assert_int_equal(dnsd_names(&x, &c, err, sizeof(err)), 0);
	assert_int_equal(x.stun.port, 65535);
	dnsd_settings_free(&c);
}

/* TXT character-string @p i of @p rr in resp, as a C string. */
static const char *txt_string(const struct dns_rr *rr, int i)
{
	static char text[256];
	const uint8_t *p = resp.buf + rr->rdata, *end = p + rr->rdlen;

	for (; p < end; p += 1 + p[0]) {
		if (i-- == 0) {
			assert_true(p + 1 + p[0] <= end);
			memcpy(text, p + 1, p[0]);
			text[p[0]] = '\0';
			return text;
		}
	}
	fail_msg("no string %d", i);
	return NULL;
}

/*
 * _turn-credential.D: a TURN credential (coturn use-auth-secret) only to
 * D's own signed query, private zone or not; never cached; the password
 * checked here with OpenSSL directly, not through lib/stun.
 */
static void turn_credential(void **state)
{
	static const char secret[] = "test-turn-secret";
	const char *name = "_turn-credential.alice.members.example.net";
	struct q q;
	struct stats before = st;
	uint8_t l[DNS_NAME_MAX];
	struct dns_name n;
	char user[128], want[64], tmp[] = "/tmp/test_dnsd_turn.XXXXXX", err[256];
	uint8_t mac[20];
	size_t maclen = 0;
	unsigned long long expiry;
	uint64_t now;
	struct dnsd_settings c;
	int fd;

	(void)state;
	/* not configured: the owner gets NODATA, others are refused all the same */
	mkq(&q, name, DNS_TYPE_TXT, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);

	/* the secret file: refused while others may read it, taken at 0600 */
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "test-turn-secret\n", 17), 17);
	close(fd);
	assert_int_equal(chmod(tmp, 0644), 0);
	dnsd_settings_default(&c);
	c.turn_secret_file = strdup(tmp);
	assert_int_equal(dnsd_settings_finish(&c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "turn-secret-file"));
	assert_int_equal(chmod(tmp, 0600), 0);
	assert_int_equal(dnsd_settings_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.turn_secret_len, strlen(secret));	/* without the newline */
	assert_memory_equal(c.turn_secret, secret, strlen(secret));
	assert_int_equal(c.turn_credential_ttl, 86400);
	dnsd_settings_free(&c);
	unlink(tmp);
	dnsd_settings_default(&c);
	c.turn_secret_file = strdup(tmp);
	assert_int_equal(dnsd_settings_finish(&c, err, sizeof(err)), -ENOENT);
	dnsd_settings_free(&c);

	cfg.turn_secret = (uint8_t *)strdup(secret);
	cfg.turn_secret_len = strlen(secret);
	cfg.turn_credential_ttl = 3600;
	now = (uint64_t)time(NULL);
	mkq(&q, name, DNS_TYPE_TXT, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	assert_int_equal(resp.rr[0][0].type, DNS_TYPE_TXT);
	assert_int_equal(resp.rr[0][0].ttl, 0);		/* never cached */
	assert_string_equal(owner_of(&resp.rr[0][0]), "_turn-credential.alice.members.example.net.");
	assert_int_equal(sscanf(txt_string(&resp.rr[0][0], 0), "username=%127s", user), 1);
	assert_int_equal(sscanf(user, "%llu:", &expiry), 1);
	assert_true(expiry >= now + 3600 && expiry <= now + 3602);
	assert_string_equal(strchr(user, ':'), ":alice");
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, secret, strlen(secret),
				  (const uint8_t *)user, strlen(user), mac, sizeof(mac), &maclen));
	assert_int_equal(EVP_EncodeBlock((unsigned char *)want, mac, 20), 28);
	assert_string_equal(txt_string(&resp.rr[0][0], 1) + strlen("password="), want);
	assert_memory_equal(txt_string(&resp.rr[0][0], 1), "password=", 9);
	assert_string_equal(txt_string(&resp.rr[0][0], 2), "ttl=3600");
	/* ANY too; other types: NODATA */
	mkq(&q, name, DNS_TYPE_ANY, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_TCP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 1);
	mkq(&q, name, DNS_TYPE_A, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_NOERROR);
	assert_int_equal(resp.count[1], 0);

	/* bob's key, no key, no key with privacy off: REFUSED (signed when signed) */
	mkq(&q, name, DNS_TYPE_TXT, DNS_CLASS_IN, 0, key_of("bob"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	assert_int_equal(resp.count[1], 0);
	mkq(&q, name, DNS_TYPE_TXT, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	cfg.private_zone = false;
	mkq(&q, name, DNS_TYPE_TXT, DNS_CLASS_IN, 0, NULL);
	assert_int_equal(run(&q, Q_TCP), DNS_RCODE_REFUSED);
	mkq(&q, "_turn-credential.bob.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	cfg.private_zone = true;
	/* an account that does not exist: refused too */
	mkq(&q, "_turn-credential.carol.members.example.net", DNS_TYPE_TXT, DNS_CLASS_IN, 0, key_of("alice"));
	assert_int_equal(run(&q, Q_UDP), DNS_RCODE_REFUSED);
	assert_int_equal(st.c[STAT_refused_private_wrong_key], before.c[STAT_refused_private_wrong_key] + 3);
	assert_int_equal(st.c[STAT_refused_private_unsigned], before.c[STAT_refused_private_unsigned] + 2);

	/* an LLQ, even alice's own and signed: refused (a credential is asked, not watched) */
	{
		struct dns_builder b;
		struct dns_name qn = N(name);
		struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 3600 };
		struct dns_tsig t;
		struct qreq rq;
		uint8_t buf[512];
		size_t len, olen;

		assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), 0x4242, 0), 0);
		assert_int_equal(dns_builder_question(&b, &qn, DNS_TYPE_TXT, DNS_CLASS_IN), 0);
		dns_builder_edns(&b, 1232, 0);
		assert_int_equal(dns_builder_add_llq(&b, &llq), 0);
		assert_int_equal(dns_builder_finish(&b, &len), 0);
		dns_tsig_init(&t, key_of("alice"));
		assert_int_equal(dns_tsig_sign_request(&t, buf, len, sizeof(buf), &len, (uint64_t)time(NULL)), 0);
		dns_tsig_fini(&t);
		assert_int_equal(dns_msg_parse(&qs.msg, buf, len), 0);
		assert_int_equal(query_check(&d, &qs, &st, Q_TCP, &rq, out, sizeof(out), &olen), Q_REPLY);
		dns_tsig_fini(&qs.tsig);
		assert_true(rq.tsig);
		assert_int_equal(dns_msg_parse(&resp, out, olen), 0);
		assert_int_equal(dns_msg_rcode(&resp), DNS_RCODE_REFUSED);
	}

	/* reserved: no UPDATE may put records there */
	assert_int_equal(dns_name_from_text(&n, name), 0);
	zone_name_lower(l, n.wire, n.len);
	assert_true(query_is_synthesised(&d, l, n.len));
	free(cfg.turn_secret);
	cfg.turn_secret = NULL;
	cfg.turn_secret_len = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apex),
		cmocka_unit_test(negative),
		cmocka_unit_test(srv_and_additional),
		cmocka_unit_test(cname),
		cmocka_unit_test(truncation),
		cmocka_unit_test(errors),
		cmocka_unit_test(llq_goes_to_engine),
		cmocka_unit_test(synthesised),
		cmocka_unit_test(privacy),
		cmocka_unit_test(account_zones),
		cmocka_unit_test(walk_up_reveals_nothing),
		cmocka_unit_test(public_srv),
		cmocka_unit_test(signed_errors),
		cmocka_unit_test(llq_private_unsigned_refused),
		cmocka_unit_test(stun_turn_settings),
		cmocka_unit_test(turn_credential),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
