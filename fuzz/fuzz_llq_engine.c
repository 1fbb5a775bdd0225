/*
 * Fuzz autotunnel-dnsd's engine: UPDATE processing with its policy, leases
 * and group commit (update.c, commit.c), and the LLQ glue (watch.c) driving the LLQ
 * machine, against an in-memory SQLite store. The input is a sequence of
 * messages [flags u8][len u16][bytes]; flag bit 0 signs the message with
 * the account's real TSIG key first (the fuzzer could never forge a MAC,
 * and the interesting code lies behind one), bit 1 ends the batch (a
 * commit), bit 2 runs the timers. Nothing may crash, leak or trip ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "dns/tsig.h"
#include "wire/wire.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsd_settings cfg;
static struct dnsd d;
static struct engine *e;
static struct event_base *base;
static struct store *st;

static void setup(void)
{
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	char err[256];

	dnsd_settings_default(&cfg);
	cfg.db = strdup(":memory:");
	cfg.update_rate = 0;
	cfg.lease_min = 1;
	if (dnsd_settings_finish(&cfg, err, sizeof(err)))
		abort();
	d.cfg = &cfg;
	d.udp_port = 53;
	d.tls_port = 853;
	pthread_rwlock_init(&d.lock, NULL);
	if (dnsd_names(&d, &cfg, err, sizeof(err)))
		abort();
	memset(a.key, 7, 32);
	if (store_open(&st, ":memory:", false, err, sizeof(err)) || store_account_put(st, &a) ||
	    store_serial_get(st, 1, &d.serial))
		abort();
	d.accounts = accounts_load(&d.apex, NULL, st, err, sizeof(err));
	base = event_base_new();
	e = base ? engine_new(&d, base, st, err, sizeof(err)) : NULL;
	if (!d.accounts || !e || commit_load_zone(st, &d.apex, &d.zone, err, sizeof(err)))
		abort();
	d.engine = e;
}

/* One message through the engine as a UDP worker would hand it over. */
static void one(const uint8_t *msg, size_t len, bool sign)
{
	uint8_t buf[4096];
	struct sockaddr_in peer = { .sin_family = AF_INET };
	const struct account *acc = accounts_by_label(d.accounts, (const uint8_t *)"alice", 5);

	if (len > 2048)
		return;
	memcpy(buf, msg, len);
	if (sign && acc && len >= 12) {
		struct dns_tsig t;

		dns_tsig_init(&t, &acc->key);
		if (dns_tsig_sign_request(&t, buf, len, sizeof(buf), &len, (uint64_t)time(NULL)))
			len = 0;
		dns_tsig_fini(&t);
	}
	if (len < 12)
		return;
	peer.sin_addr.s_addr = htonl(0xc0000207);
	peer.sin_port = htons(5353);
	engine_submit_udp(e, buf, len, (struct sockaddr *)&peer, sizeof(peer), -1, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct wire w = wire_reader(data, size);

	if (!ready) {
		setup();
		ready = 1;
	}
	while (wire_avail(&w) >= 3) {
		uint8_t flags = wire_read_u8(&w);
		size_t len = wire_read_u16(&w);
		const uint8_t *msg;

		if (len > wire_avail(&w))
			len = wire_avail(&w);
		msg = wire_read_ref(&w, len);
		if (!msg)
			break;
		one(msg, len, flags & 1);
		if (flags & 2)
			engine_run_now(e);	/* the batch so far, and its commit */
		if (flags & 4) {
			engine_run_now(e);
			engine_timers_now(e);
		}
	}
	engine_run_now(e);
	return 0;
}
