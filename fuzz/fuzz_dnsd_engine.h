/*
 * fuzz/fuzz_dnsd_engine.h: the harness shared by the fuzz targets of
 * autotunnel-dnsd's engine (fuzz_llq_engine.c, fuzz_push_engine.c): one
 * engine over an in-memory SQLite store holding account "alice" (its TSIG
 * key 32 bytes of 7), messages copied and signed with that key as a client
 * would, and the input read as a sequence of [flags u8][len u16][bytes].
 * Each target keeps one harness for the whole process (libFuzzer calls it
 * again and again); static inline so a target links no extra source.
 */
#ifndef AT_FUZZ_DNSD_ENGINE_H
#define AT_FUZZ_DNSD_ENGINE_H

#include <stdbool.h>
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

/* The largest message a target hands over; a signed copy fits FUZZ_DNSD_BUF. */
#define FUZZ_DNSD_MSG_MAX 2048
#define FUZZ_DNSD_BUF 4096

struct fuzz_dnsd {
	struct dnsd_settings cfg;
	struct dnsd d;
	struct engine *e;
	struct event_base *base;
	struct store *st;
};

/* Settings for fuzzing: no rate limit, leases as short as 1 s. The caller may change more before _start. */
static inline void fuzz_dnsd_settings(struct fuzz_dnsd *f)
{
	dnsd_settings_default(&f->cfg);
	f->cfg.db = strdup(":memory:");
	f->cfg.update_rate = 0;
	f->cfg.lease_min = 1;
}

/* The daemon's state, the store with "alice", and the engine; aborts on any failure. */
static inline void fuzz_dnsd_start(struct fuzz_dnsd *f)
{
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	char err[256];

	if (dnsd_settings_finish(&f->cfg, err, sizeof(err)))
		abort();
	f->d.cfg = &f->cfg;
	f->d.udp_port = 53;
	f->d.tls_port = 853;
	pthread_rwlock_init(&f->d.lock, NULL);
	if (dnsd_names(&f->d, &f->cfg, err, sizeof(err)))
		abort();
	memset(a.key, 7, 32);
	if (store_open(&f->st, ":memory:", false, err, sizeof(err)) || store_account_put(f->st, &a) ||
	    store_serial_get(f->st, 1, &f->d.serial))
		abort();
	f->d.accounts = accounts_load(&f->d.apex, NULL, f->st, err, sizeof(err));
	f->base = event_base_new();
	f->e = f->base ? engine_new(&f->d, f->base, f->st, err, sizeof(err)) : NULL;
	if (!f->d.accounts || !f->e || commit_load_zone(f->st, &f->d.apex, &f->d.zone, err, sizeof(err)))
		abort();
	f->d.engine = f->e;
}

/*
 * Copy @p msg into @p buf and, when @p sign, sign it with alice's real TSIG
 * key (the fuzzer could never forge a MAC, and the interesting code lies
 * behind one). The length to submit, or 0 when the message is too long or
 * too short (under a DNS header) to hand over.
 */
static inline size_t fuzz_dnsd_prepare(struct fuzz_dnsd *f, uint8_t buf[static FUZZ_DNSD_BUF],
				       const uint8_t *msg, size_t len, bool sign)
{
	const struct account *acc = accounts_by_label(f->d.accounts, (const uint8_t *)"alice", 5);

	if (len > FUZZ_DNSD_MSG_MAX)
		return 0;
	memcpy(buf, msg, len);
	if (sign && acc && len >= 12) {
		struct dns_tsig t;

		dns_tsig_init(&t, &acc->key);
		if (dns_tsig_sign_request(&t, buf, len, FUZZ_DNSD_BUF, &len, (uint64_t)time(NULL)))
			len = 0;
		dns_tsig_fini(&t);
	}
	return len < 12 ? 0 : len;
}

/* The client every message comes from: 192.0.2.7 port 5353. */
static inline struct sockaddr_in fuzz_dnsd_peer(void)
{
	struct sockaddr_in peer = { .sin_family = AF_INET };

	peer.sin_addr.s_addr = htonl(0xc0000207);
	peer.sin_port = htons(5353);
	return peer;
}

/* Call @p fn for each [flags u8][len u16][bytes] of the input; a length past the end is cut to it. */
static inline void fuzz_dnsd_each(const uint8_t *data, size_t size,
				  void (*fn)(const uint8_t *msg, size_t len, uint8_t flags))
{
	struct wire w = wire_reader(data, size);

	while (wire_avail(&w) >= 3) {
		uint8_t flags = wire_read_u8(&w);
		size_t len = wire_read_u16(&w);
		const uint8_t *msg;

		if (len > wire_avail(&w))
			len = wire_avail(&w);
		msg = wire_read_ref(&w, len);
		if (!msg)
			break;
		fn(msg, len, flags);
	}
}

#endif
