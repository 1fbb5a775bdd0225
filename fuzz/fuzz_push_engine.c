/*
 * Fuzz DNS Push in autotunnel-dnsd's engine: push.c with lib/dso's
 * machine, the engine's dispatch of DSO messages and signed queries from
 * TLS connections, and the PUSHes of committed UPDATEs, against an
 * in-memory SQLite store and a fake stream transport. The input is a
 * sequence of messages [flags u8][len u16][bytes]: flag bit 0 signs the
 * message with the account's real TSIG key first (so that sessions get
 * authenticated and UPDATEs applied), bit 1 sends it over UDP (UPDATEs
 * that make changes) instead of on TLS connection 1 + (flags >> 4) % 4,
 * bit 2 runs the batch, bit 3 runs the timers after a clock-free tick.
 * Nothing may crash, leak or trip ASan; every DSO message the server sends
 * parses, a PUSH is at most 16,382 bytes, and the engine keeps no DSO
 * session of a connection that is gone (its stats show none at the end).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "dns/tsig.h"
#include "dso/dso.h"
#include "wire/wire.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONNS 4

static struct dnsd_settings cfg;
static struct dnsd d;
static struct engine *e;
static struct event_base *base;
static struct store *st;
static bool aborted[CONNS + 1];

/* What was sent on a connection after its abort (dropped, as streams.c drops it). */
static unsigned after_abort;
static bool held[CONNS + 1];

static void t_reply(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len)
{
	struct dso_msg m;

	assert(src->conn >= 1 && src->conn <= CONNS);
	assert(len >= 12);
	if (aborted[src->conn]) {
		/* a message queued before the abort may still be answered:
		 * the transport drops it, and no DSO session may come of it */
		after_abort++;
		return;
	}
	if (dso_is_dso(msg, len)) {
		assert(dso_msg_parse(&m, msg, len) == 0);
		if (!m.qr && m.n_tlv && m.tlv[0].type == DSO_TYPE_PUSH)
			assert(len <= DSO_PUSH_MAX && m.id == 0);
	}
}

static bool t_live(void *arg, uint64_t conn)
{
	assert(conn >= 1 && conn <= CONNS);
	held[conn] = !aborted[conn];
	return !aborted[conn];
}

static void t_abort(void *arg, uint64_t conn)
{
	assert(conn >= 1 && conn <= CONNS);
	if (aborted[conn])
		return;
	aborted[conn] = true;
	/* as streams.c does: the connection goes, and the engine hears of it
	 * when it carried a session */
	if (held[conn])
		engine_conn_closed(e, conn);
	held[conn] = false;
}

static const struct transport_ops fake_ops = { .reply = t_reply, .llq_live = t_live, .abort = t_abort };

static void setup(void)
{
	struct store_account a = { .name = "alice", .alg = "hmac-sha256", .key_len = 32 };
	char err[256];

	dnsd_settings_default(&cfg);
	cfg.db = strdup(":memory:");
	cfg.update_rate = 0;
	cfg.lease_min = 1;
	cfg.push_per_session = 4;
	cfg.push_max = 8;
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
	engine_set_stream_transport(e, &fake_ops, NULL);
	d.engine = e;
}

/* The dso_sessions counter of the engine's stats. */
static long dso_sessions(void)
{
	char *buf = NULL, *p;
	size_t len = 0;
	long n = -1;
	FILE *fp = open_memstream(&buf, &len);

	if (!fp)
		abort();
	engine_print_stats(e, fp, NULL, 0);
	fclose(fp);
	p = strstr(buf, "\ndso_sessions ");
	if (p)
		n = strtol(p + 14, NULL, 10);
	free(buf);
	return n;
}

static void one(const uint8_t *msg, size_t len, uint8_t flags)
{
	uint8_t buf[4096];
	struct sockaddr_in peer = { .sin_family = AF_INET };
	const struct account *acc = accounts_by_label(d.accounts, (const uint8_t *)"alice", 5);
	uint64_t conn = 1 + (flags >> 4) % CONNS;

	if (len > 2048)
		return;
	memcpy(buf, msg, len);
	if ((flags & 1) && acc && len >= 12 && !dso_is_dso(buf, len)) {
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
	if (flags & 2) {
		engine_submit_udp(e, buf, len, (struct sockaddr *)&peer, sizeof(peer), -1, 0);
		return;
	}
	if (aborted[conn])
		return;	/* a closed connection sends nothing more */
	engine_submit_stream(e, buf, len, conn, Q_TLS, (struct sockaddr *)&peer, sizeof(peer));
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
		one(msg, len, flags);
		if (flags & 4)
			engine_run_now(e);
		if (flags & 8) {
			engine_run_now(e);
			engine_timers_now(e);
		}
	}
	engine_run_now(e);
	/* the connections close: no session may be left (none of a
	 * connection the engine was told is gone, none never reported) */
	for (uint64_t c = 1; c <= CONNS; c++) {
		if (held[c])
			engine_conn_closed(e, c);
		aborted[c] = held[c] = false;
	}
	assert(dso_sessions() == 0);
	return 0;
}
