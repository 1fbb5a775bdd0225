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

#include "dso/dso.h"
#include "fuzz_dnsd_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONNS 4

static struct fuzz_dnsd f;
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
		engine_conn_closed(f.e, conn);
	held[conn] = false;
}

static const struct transport_ops fake_ops = { .reply = t_reply, .llq_live = t_live, .abort = t_abort };

static void setup(void)
{
	fuzz_dnsd_settings(&f);
	f.cfg.push_per_session = 4;
	f.cfg.push_max = 8;
	fuzz_dnsd_start(&f);
	engine_set_stream_transport(f.e, &fake_ops, NULL);
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
	engine_print_stats(f.e, fp, NULL, 0);
	fclose(fp);
	p = strstr(buf, "\ndso_sessions ");
	if (p)
		n = strtol(p + 14, NULL, 10);
	free(buf);
	return n;
}

/* One message over UDP or a TLS connection, then the batch and timers its flags ask for. */
static void one(const uint8_t *msg, size_t len, uint8_t flags)
{
	uint8_t buf[FUZZ_DNSD_BUF];
	struct sockaddr_in peer = fuzz_dnsd_peer();
	uint64_t conn = 1 + (flags >> 4) % CONNS;

	/* bit 0 signs queries and UPDATEs; DSO messages go as they are */
	len = fuzz_dnsd_prepare(&f, buf, msg, len, (flags & 1) && !dso_is_dso(msg, len));
	if (len && (flags & 2))
		engine_submit_udp(f.e, buf, len, (struct sockaddr *)&peer, sizeof(peer), -1, 0);
	else if (len && !aborted[conn])	/* a closed connection sends nothing more */
		engine_submit_stream(f.e, buf, len, conn, Q_TLS, (struct sockaddr *)&peer, sizeof(peer));
	if (flags & 4)
		engine_run_now(f.e);
	if (flags & 8) {
		engine_run_now(f.e);
		engine_timers_now(f.e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		setup();
		ready = 1;
	}
	fuzz_dnsd_each(data, size, one);
	engine_run_now(f.e);
	/* the connections close: no session may be left (none of a
	 * connection the engine was told is gone, none never reported) */
	for (uint64_t c = 1; c <= CONNS; c++) {
		if (held[c])
			engine_conn_closed(f.e, c);
		aborted[c] = held[c] = false;
	}
	assert(dso_sessions() == 0);
	return 0;
}
