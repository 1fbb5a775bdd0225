/*
 * Fuzz autotunnel-dnsd's packet front end (query.c): every message a UDP
 * worker or a TCP/TLS connection hands over, on every transport, against a
 * zone with accounts, private data, synthesised records and a CNAME. The
 * answer must never overrun its buffer, must carry the query's id, and is
 * parsed back: whatever the input, the server's output is a valid message.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/query.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsd_settings cfg;
static struct dnsd d;
static struct qscratch qs;
static struct stats st;
static uint8_t out[70000];

static void add(const char *owner, uint16_t type, const void *rd, uint16_t len)
{
	struct dns_name n;
	uint8_t l[DNS_NAME_MAX];

	if (dns_name_from_text(&n, owner))
		abort();
	zone_name_lower(l, n.wire, n.len);
	if (!zone_add(d.zone, l, n.len, type, 300, rd, len, 1, 0))
		abort();
}

static void setup(void)
{
	struct store *s;
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	char err[256];

	dnsd_settings_default(&cfg);
	cfg.db = strdup(":memory:");
	if (dnsd_settings_finish(&cfg, err, sizeof(err)))
		abort();
	d.cfg = &cfg;
	d.udp_port = 53;
	d.tls_port = 853;
	if (dnsd_names(&d, &cfg, err, sizeof(err)))
		abort();
	memset(a.key, 7, 32);
	if (store_open(&s, ":memory:", false, err, sizeof(err)) || store_account_put(s, &a))
		abort();
	d.accounts = accounts_load(&d.apex, NULL, s, err, sizeof(err));
	store_close(s);
	d.zone = zone_new(d.apex.wire, d.apex.len);
	if (!d.accounts || !d.zone)
		abort();
	add("h1.alice.members.example.net", 1, "\xc0\x00\x02\x01", 4);
	add("_autotunnel._udp.h1.alice.members.example.net", 33,
	    "\0\0\0\0\x11\x94\x02h1\x05" "alice\x07members\x07" "example\x03net", 36);
	add("www.members.example.net", 1, "\xc0\x00\x02\x02", 4);
	add("alias.members.example.net", 5, "\x03www\x07members\x07" "example\x03net", 25);
	add("loop.members.example.net", 5, "\x04loop\x07members\x07" "example\x03net", 26);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct dns_msg m;
	size_t olen;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > 65535)
		return 0;
	for (int t = Q_UDP; t <= Q_TLS; t++) {
		olen = 0;
		if (query_process(&d, &qs, &st, data, size, (enum q_transport)t, out, sizeof(out), &olen) != Q_REPLY)
			continue;
		assert(olen >= 12 && olen <= sizeof(out));
		assert(out[0] == data[0] && out[1] == data[1]);
		assert(out[2] & 0x80);
		if (t == Q_UDP)
			assert(olen <= 1232 + 512);
		/* our answer parses (a header-only FORMERR does too) */
		if (dns_msg_parse(&m, out, olen) != 0)
			abort();
	}
	return 0;
}
