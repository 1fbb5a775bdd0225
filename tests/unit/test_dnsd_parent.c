/*
 * Delegation in the parent zone (parent.c) and the account export file
 * (move.c): the UPDATE that registers or removes a delegation, record by
 * record as RFC 2136 §2.5 spells it; its bounds; an export imported into
 * another store gives back every record with its lease; a lease that ended
 * on the way is left out; a truncated or altered file and an account that
 * exists already are refused with nothing written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "autotunnel-dnsd/move.h"
#include "autotunnel-dnsd/parent.h"
#include "autotunnel-dnsd/store.h"
#include "dns/msg.h"
#include "dns/name.h"

static void cfg(struct parent_cfg *c, bool glue)
{
	static const uint8_t v4[4] = { 198, 51, 100, 53 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };

	memset(c, 0, sizeof(*c));
	assert_int_equal(dns_name_from_text(&c->zone, "members.example.net"), 0);
	assert_int_equal(dns_name_from_text(&c->ns, glue ? "ns1.members.example.net" : "rv1.example.org"), 0);
	c->ttl = 300;
	c->glue = glue;
	memcpy(c->v4[c->n_v4++], v4, 4);
	memcpy(c->v6[c->n_v6++], v6, 16);
}

/* The record @p i of the update section: owner text, type, class, ttl, rdlength. */
static void expect_rr(const struct dns_msg *m, unsigned i, const char *owner, uint16_t type, uint16_t rclass,
		      uint32_t ttl, uint16_t rdlen)
{
	const struct dns_rr *rr = dns_msg_rr(m, DNS_SEC_UPDATE, i);
	struct dns_name n;
	char text[DNS_NAME_TEXT_MAX];

	assert_int_equal(dns_msg_name(m, rr->off, &n), 0);
	assert_true(dns_name_to_text(&n, text, sizeof(text)) > 0);
	assert_string_equal(text, owner);
	assert_int_equal(rr->type, type);
	assert_int_equal(rr->rclass, rclass);
	assert_int_equal(rr->ttl, ttl);
	assert_int_equal(rr->rdlen, rdlen);
}

static void add_with_glue(void **state)
{
	struct parent_cfg c;
	uint8_t buf[1024];
	struct dns_msg m;
	struct dns_name z;
	char text[DNS_NAME_TEXT_MAX];
	size_t len;

	(void)state;
	cfg(&c, true);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "alice", 0x1234, buf, sizeof(buf), &len), 0);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.hdr.id, 0x1234);
	assert_int_equal(dns_flags_opcode(m.hdr.flags), DNS_OPCODE_UPDATE);
	assert_false(m.hdr.flags & DNS_FLAG_QR);
	/* zone section: the parent zone, SOA, IN (RFC 2136 §2.3) */
	assert_int_equal(m.count[DNS_SEC_ZONE], 1);
	assert_int_equal(m.qd[0].type, DNS_TYPE_SOA);
	assert_int_equal(m.qd[0].rclass, DNS_CLASS_IN);
	assert_int_equal(dns_msg_name(&m, m.qd[0].name, &z), 0);
	assert_true(dns_name_to_text(&z, text, sizeof(text)) > 0);
	assert_string_equal(text, "members.example.net.");
	assert_int_equal(m.count[DNS_SEC_PREREQ], 0);
	assert_int_equal(m.count[DNS_SEC_UPDATE], 6);
	assert_int_equal(m.count[DNS_SEC_ADDITIONAL], 0);
	/* delete D's NS RRset (class ANY, TTL 0, no rdata: §2.5.2), add ours */
	expect_rr(&m, 0, "alice.members.example.net.", DNS_TYPE_NS, DNS_CLASS_ANY, 0, 0);
	expect_rr(&m, 1, "alice.members.example.net.", DNS_TYPE_NS, DNS_CLASS_IN, 300,
		  dns_msg_rr(&m, DNS_SEC_UPDATE, 1)->rdlen);
	{
		struct wire rd = dns_msg_rdata(&m, dns_msg_rr(&m, DNS_SEC_UPDATE, 1));
		struct dns_name ns;

		assert_int_equal(dns_rdata_name_read(&rd, &ns), 0);
		assert_true(dns_name_equal(&ns, &c.ns));
	}
	/* the glue: our name's address sets replaced */
	expect_rr(&m, 2, "ns1.members.example.net.", DNS_TYPE_A, DNS_CLASS_ANY, 0, 0);
	expect_rr(&m, 3, "ns1.members.example.net.", DNS_TYPE_AAAA, DNS_CLASS_ANY, 0, 0);
	expect_rr(&m, 4, "ns1.members.example.net.", DNS_TYPE_A, DNS_CLASS_IN, 300, 4);
	expect_rr(&m, 5, "ns1.members.example.net.", DNS_TYPE_AAAA, DNS_CLASS_IN, 300, 16);
	assert_memory_equal(buf + dns_msg_rr(&m, DNS_SEC_UPDATE, 4)->rdata, c.v4[0], 4);
}

static void add_without_glue_and_del(void **state)
{
	struct parent_cfg c;
	uint8_t buf[1024];
	struct dns_msg m;
	size_t len;

	(void)state;
	/* a server named outside the parent zone needs no glue there */
	cfg(&c, false);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "Bob", 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.count[DNS_SEC_UPDATE], 2);
	expect_rr(&m, 0, "bob.members.example.net.", DNS_TYPE_NS, DNS_CLASS_ANY, 0, 0);
	/* removal: the NS RRset only (the server's own address records stay for its other accounts) */
	cfg(&c, true);
	assert_int_equal(parent_update_build(&c, PARENT_DEL, "bob", 2, buf, sizeof(buf), &len), 0);
	assert_int_equal(dns_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.count[DNS_SEC_UPDATE], 1);
	expect_rr(&m, 0, "bob.members.example.net.", DNS_TYPE_NS, DNS_CLASS_ANY, 0, 0);
}

static void bounds(void **state)
{
	struct parent_cfg c;
	uint8_t buf[1024];
	char l63[64], l64[65];
	size_t len, need;

	(void)state;
	cfg(&c, true);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "", 1, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "a.b", 1, buf, sizeof(buf), &len), -EINVAL);
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'a', 64);
	l64[64] = '\0';
	assert_int_equal(parent_update_build(&c, PARENT_ADD, l63, 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, l64, 1, buf, sizeof(buf), &len), -EINVAL);
	/* exactly the room it needs, and one byte less */
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "alice", 1, buf, sizeof(buf), &need), 0);
	assert_int_equal(parent_update_build(&c, PARENT_ADD, "alice", 1, buf, need, &len), 0);
	assert_int_equal(len, need);
	assert_int_not_equal(parent_update_build(&c, PARENT_ADD, "alice", 1, buf, need - 1, &len), 0);
}

/* ---- export and import ---- */

struct db {
	char path[64];
	struct store *st;
};

static void db_open(struct db *d)
{
	char err[256];
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/test_dnsd_parent.XXXXXX");
	fd = mkstemp(d->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(d->path);
	assert_int_equal(store_open(&d->st, d->path, false, err, sizeof(err)), 0);
}

static void db_close(struct db *d)
{
	char p[96];

	store_close(d->st);
	unlink(d->path);
	snprintf(p, sizeof(p), "%s-wal", d->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", d->path);
	unlink(p);
}

static const uint8_t OWNER[] = "\6laptop\5alice\7members\7example\3net";

static void put_account(struct store *st)
{
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32, .created = 1700000000,
				   .kdf = "v=1 alg=scrypt N=131072 r=8 p=1 salt=+VgcFY7NpSrf/0kewiAIcg==" };
	static const uint8_t aaaa[16] = { 0xfd, 1, [15] = 1 }, txt[] = "\5hello";
	struct store_rr rr = { .name = OWNER, .name_len = sizeof(OWNER), .type = DNS_TYPE_AAAA,
			       .rclass = DNS_CLASS_IN, .ttl = 60, .rdata = aaaa, .rdlen = 16,
			       .expires_ms = 1800000000000LL, .account = "alice" };
	int64_t id;

	memset(a.key, 0xab, 32);
	assert_int_equal(store_account_put(st, &a), 0);
	assert_int_equal(store_rr_insert(st, &rr, &id), 0);
	rr.type = DNS_TYPE_TXT;
	rr.rdata = txt;
	rr.rdlen = 6;
	rr.expires_ms = 1000;	/* long over */
	assert_int_equal(store_rr_insert(st, &rr, &id), 0);
	rr.type = DNS_TYPE_A;
	rr.rdata = (const uint8_t *)"\xc6\x33\x64\x07";
	rr.rdlen = 4;
	rr.expires_ms = 0;	/* no lease */
	assert_int_equal(store_rr_insert(st, &rr, &id), 0);
	rr.account = "bob";	/* not alice's: not exported */
	assert_int_equal(store_rr_insert(st, &rr, &id), 0);
}

struct seen {
	int n;
	int64_t expires[8];
	uint16_t type[8];
};

static int count_rr(void *arg, const struct store_rr *rr)
{
	struct seen *s = arg;

	assert_string_equal(rr->account, "alice");
	assert_memory_equal(rr->name, OWNER, sizeof(OWNER));
	s->type[s->n] = rr->type;
	s->expires[s->n++] = rr->expires_ms;
	return 0;
}

static void export_import(void **state)
{
	struct db a, b;
	char *text = NULL, name[64], err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct store_account got;
	struct seen s = { 0 };

	(void)state;
	db_open(&a);
	db_open(&b);
	put_account(a.st);
	assert_int_equal(move_export(a.st, "alice", fp), 3);
	fclose(fp);
	assert_int_equal(move_export(a.st, "carol", stdout), -ENOENT);
	fp = fmemopen(text, len, "r");
	assert_int_equal(store_begin(b.st), 0);
	/* now = 2000 ms: the TXT's lease (1000) ended on the way */
	assert_int_equal(move_import(b.st, fp, 2000, name, err, sizeof(err)), 2);
	assert_int_equal(store_commit(b.st), 0);
	fclose(fp);
	assert_string_equal(name, "alice");
	assert_int_equal(store_account_get(b.st, "alice", &got), 0);
	assert_int_equal(got.key_len, 32);
	assert_int_equal(got.key[31], 0xab);
	assert_int_equal(got.created, 1700000000);
	assert_string_equal(got.kdf, "v=1 alg=scrypt N=131072 r=8 p=1 salt=+VgcFY7NpSrf/0kewiAIcg==");
	assert_int_equal(store_rr_foreach(b.st, count_rr, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.type[0], DNS_TYPE_AAAA);
	assert_int_equal(s.expires[0], 1800000000000LL);	/* the lease runs on */
	assert_int_equal(s.type[1], DNS_TYPE_A);
	assert_int_equal(s.expires[1], 0);
	/* a second import of the same account is refused */
	fp = fmemopen(text, len, "r");
	assert_int_equal(store_begin(b.st), 0);
	assert_int_equal(move_import(b.st, fp, 2000, name, err, sizeof(err)), -EEXIST);
	store_rollback(b.st);
	fclose(fp);
	free(text);
	db_close(&a);
	db_close(&b);
}

/* Import @p text into an empty store: the result, and nothing left behind on failure. */
static int import_text(const char *text, char *err, size_t errlen)
{
	struct db b;
	char name[64], copy[1024];
	FILE *fp;
	struct store_account got;
	int rc;

	snprintf(copy, sizeof(copy), "%s", text);
	fp = fmemopen(copy, strlen(copy), "r");
	db_open(&b);
	assert_int_equal(store_begin(b.st), 0);
	rc = move_import(b.st, fp, 0, name, err, errlen);
	if (rc < 0)
		store_rollback(b.st);
	else
		assert_int_equal(store_commit(b.st), 0);
	fclose(fp);
	if (rc < 0)
		assert_int_equal(store_account_get(b.st, "alice", &got), -ENOENT);
	db_close(&b);
	return rc;
}

static void import_refuses(void **state)
{
	static const char head[] = "autotunnel-dnsd-account 1\n"
				   "account alice hmac-sha256 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s= 1700000000 -\n";
	static const char rr[] = "rr 066c6170746f7005616c696365076d656d62657273076578616d706c65036e657400 1 1 60 0 c6336407\n";
	char text[1024], err[256];

	(void)state;
	snprintf(text, sizeof(text), "%s%send 1\n", head, rr);
	assert_int_equal(import_text(text, err, sizeof(err)), 1);
	/* truncated: no end line, or the end line cut */
	snprintf(text, sizeof(text), "%s%s", head, rr);
	assert_int_equal(import_text(text, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "ends before"));
	snprintf(text, sizeof(text), "%s%send 1", head, rr);
	assert_int_equal(import_text(text, err, sizeof(err)), -EBADMSG);
	/* a record missing: the count says so */
	snprintf(text, sizeof(text), "%send 1\n", head);
	assert_int_equal(import_text(text, err, sizeof(err)), -EBADMSG);
	/* not an export; a bad key; odd hex */
	assert_int_equal(import_text("hello\n", err, sizeof(err)), -EBADMSG);
	snprintf(text, sizeof(text), "autotunnel-dnsd-account 1\naccount alice hmac-sha256 !!! 1 -\nend 0\n");
	assert_int_equal(import_text(text, err, sizeof(err)), -EBADMSG);
	snprintf(text, sizeof(text), "%srr 066 1 1 60 0 c6336407\nend 1\n", head);
	assert_int_equal(import_text(text, err, sizeof(err)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_with_glue),
		cmocka_unit_test(add_without_glue_and_del),
		cmocka_unit_test(bounds),
		cmocka_unit_test(export_import),
		cmocka_unit_test(import_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
