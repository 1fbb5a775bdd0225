/*
 * autotunnel-dnsd's in-memory zone index and its SQLite store: empty
 * non-terminals, record order, lease heap, undo (unlink/relink), and the
 * store's round trip of records, accounts and serial.
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

#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/zone.h"

static const uint8_t APEX[] = "\x07members\x07" "example\x03net";
static const uint8_t HOST[] = "\x02h1\x05" "alice\x07members\x07" "example\x03net";
static const uint8_t SRV[] = "\x0b_autotunnel\x04_udp\x02h1\x05" "alice\x07members\x07" "example\x03net";
static const uint8_t UDP[] = "\x04_udp\x02h1\x05" "alice\x07members\x07" "example\x03net";
static const uint8_t ALICE[] = "\x05" "alice\x07members\x07" "example\x03net";
static const uint8_t OUT[] = "\x07" "example\x03net";

static void ents_and_pruning(void **state)
{
	struct zone *z = zone_new(APEX, sizeof(APEX));
	struct zrr *srv, *a;

	assert_non_null(z);
	assert_int_equal(zone_node_count(z), 1);
	srv = zone_add(z, SRV, sizeof(SRV), 33, 60, (const uint8_t *)"\0\0\0\0\x11\x94\0", 7, 1, 0);
	assert_non_null(srv);
	/* the owner, _udp.h1, h1 and alice exist; _udp.h1 and h1 are empty non-terminals */
	assert_int_equal(zone_node_count(z), 5);
	assert_true(znode_exists(zone_find(z, UDP, sizeof(UDP))));
	assert_null(zone_find(z, UDP, sizeof(UDP))->rrs);
	assert_true(znode_exists(zone_find(z, ALICE, sizeof(ALICE))));
	assert_null(zone_find(z, OUT, sizeof(OUT)));
	/* a name outside the zone cannot be added */
	assert_null(zone_add(z, OUT, sizeof(OUT), 1, 60, (const uint8_t *)"\1\2\3\4", 4, 2, 0));

	a = zone_add(z, HOST, sizeof(HOST), 1, 60, (const uint8_t *)"\xc0\0\2\1", 4, 3, 0);
	assert_non_null(a);
	assert_int_equal(zone_node_count(z), 5);
	zone_unlink(z, srv);
	free(srv);
	/* _udp.h1 and the SRV owner are gone, h1 stays for its A record */
	assert_int_equal(zone_node_count(z), 3);
	assert_null(zone_find(z, UDP, sizeof(UDP)));
	assert_ptr_equal(znode_first(zone_find(z, HOST, sizeof(HOST)), 1), a);
	zone_unlink(z, a);
	assert_int_equal(zone_node_count(z), 1);	/* only the apex */
	assert_int_equal(zone_rr_count(z), 0);
	/* undo: the record comes back with its nodes */
	assert_int_equal(zone_relink(z, a, HOST, sizeof(HOST)), 0);
	assert_int_equal(zone_node_count(z), 3);
	assert_ptr_equal(znode_first(zone_find(z, HOST, sizeof(HOST)), 1), a);
	zone_free(z);
}

static void order_by_type(void **state)
{
	struct zone *z = zone_new(APEX, sizeof(APEX));
	const uint16_t types[] = { 28, 1, 16, 1, 33 };
	struct zrr *r;
	uint16_t last = 0;
	int64_t last_id = 0;

	for (size_t i = 0; i < 5; i++)
		assert_non_null(zone_add(z, HOST, sizeof(HOST), types[i], 60, (const uint8_t *)"abcd",
					 types[i] == 28 ? 4 : 4, (int64_t)i + 1, 0));
	r = zone_find(z, HOST, sizeof(HOST))->rrs;
	for (int n = 0; r; r = r->next, n++) {
		assert_true(r->type >= last);
		if (r->type == last)
			assert_true(r->id > last_id);	/* arrival order within a type */
		last = r->type;
		last_id = r->id;
	}
	r = znode_first(zone_find(z, HOST, sizeof(HOST)), 1);
	assert_int_equal(r->id, 2);
	assert_int_equal(r->next->id, 4);
	assert_null(znode_first(zone_find(z, HOST, sizeof(HOST)), 2));
	zone_free(z);
}

static void lease_heap(void **state)
{
	struct zone *z = zone_new(APEX, sizeof(APEX));
	struct zrr *r[50];
	int64_t prev = 0;

	for (int i = 0; i < 50; i++) {
		r[i] = zone_add(z, HOST, sizeof(HOST), 16, 60, (const uint8_t *)"\x01x", 2, i + 1,
				1000 + (i * 37) % 50);
		assert_non_null(r[i]);
	}
	assert_int_equal(zone_next_expiry(z), 1000);
	assert_null(zone_expired(z, 999));
	/* refresh one record far into the future, drop the lease of another */
	zone_set_expiry(z, r[0], 5000);
	zone_set_expiry(z, r[1], 0);
	for (int n = 0; n < 48; n++) {
		struct zrr *e = zone_expired(z, 1100);

		assert_non_null(e);
		assert_true(e->expires_ms >= prev);
		prev = e->expires_ms;
		zone_unlink(z, e);
		free(e);
	}
	assert_null(zone_expired(z, 1100));
	assert_int_equal(zone_next_expiry(z), 5000);
	assert_int_equal(zone_rr_count(z), 2);
	zone_unlink(z, r[0]);
	free(r[0]);
	assert_int_equal(zone_next_expiry(z), INT64_MAX);
	zone_free(z);
}

static void name_lower(void **state)
{
	uint8_t out[sizeof(HOST)];

	zone_name_lower(out, (const uint8_t *)"\x02H1\x05" "ALICE\x07members\x07" "EXAMPLE\x03nEt",
			sizeof(HOST));
	assert_memory_equal(out, HOST, sizeof(HOST));
}

struct collect {
	int n;
	int64_t ids[8];
	int64_t expires[8];
};

static int collect_rr(void *arg, const struct store_rr *rr)
{
	struct collect *c = arg;

	c->ids[c->n] = rr->id;
	c->expires[c->n] = rr->expires_ms;
	c->n++;
	return 0;
}

static int count_acc(void *arg, const struct store_account *a)
{
	(*(int *)arg)++;
	return 0;
}

static void store_roundtrip(void **state)
{
	char path[] = "/tmp/test_dnsd_store.XXXXXX", err[256], f[300];
	struct store *st;
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 }, b;
	struct store_rr rr = { .name = HOST, .name_len = sizeof(HOST), .type = 1, .rclass = 1,
			       .ttl = 60, .rdata = (const uint8_t *)"\xc0\0\2\1", .rdlen = 4,
			       .expires_ms = 123456789, .account = "alice" };
	struct collect c = { 0 };
	int64_t id1, id2;
	uint32_t serial;
	int fd = mkstemp(path), n = 0;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(&st, path, true, err, sizeof(err)), 0);
	assert_int_equal(store_serial_get(st, 77, &serial), 0);
	assert_int_equal(serial, 77);
	memset(a.key, 0xab, 32);
	assert_int_equal(store_account_put(st, &a), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_rr_insert(st, &rr, &id1), 0);
	rr.account = "bob";
	assert_int_equal(store_rr_insert(st, &rr, &id2), 0);
	assert_int_equal(store_rr_update(st, id1, 120, rr.rdata, 4, 999), 0);
	assert_int_equal(store_serial_set(st, 78), 0);
	assert_int_equal(store_commit(st), 0);
	/* a rolled back transaction leaves nothing */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_rr_delete(st, id2), 0);
	store_rollback(st);
	store_close(st);

	assert_int_equal(store_open(&st, path, true, err, sizeof(err)), 0);
	assert_int_equal(store_serial_get(st, 1, &serial), 0);
	assert_int_equal(serial, 78);
	assert_int_equal(store_rr_foreach(st, collect_rr, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], id1);
	assert_int_equal(c.expires[0], 999);
	assert_int_equal(c.expires[1], 123456789);
	assert_int_equal(store_account_get(st, "alice", &b), 0);
	assert_int_equal(b.key_len, 32);
	assert_memory_equal(b.key, a.key, 32);
	assert_string_equal(b.alg, "hmac-sha256");
	assert_int_equal(store_account_get(st, "carol", &b), -ENOENT);
	/* deleting an account deletes its records */
	assert_int_equal(store_account_del(st, "alice"), 0);
	assert_int_equal(store_account_del(st, "alice"), -ENOENT);
	c.n = 0;
	assert_int_equal(store_rr_foreach(st, collect_rr, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], id2);
	assert_int_equal(store_account_foreach(st, count_acc, &n), 0);
	assert_int_equal(n, 0);
	store_close(st);
	unlink(path);
	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ents_and_pruning),
		cmocka_unit_test(order_by_type),
		cmocka_unit_test(lease_heap),
		cmocka_unit_test(name_lower),
		cmocka_unit_test(store_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
