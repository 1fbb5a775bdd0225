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

#include "fuzz_dnsd_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_dnsd f;

/* One message through the engine as a UDP worker would hand it over, then the batch and timers its flags ask for. */
static void one(const uint8_t *msg, size_t len, uint8_t flags)
{
	uint8_t buf[FUZZ_DNSD_BUF];
	struct sockaddr_in peer = fuzz_dnsd_peer();

	if ((len = fuzz_dnsd_prepare(&f, buf, msg, len, flags & 1)))
		engine_submit_udp(f.e, buf, len, (struct sockaddr *)&peer, sizeof(peer), -1, 0);
	if (flags & 2)
		engine_run_now(f.e);	/* the batch so far, and its commit */
	if (flags & 4) {
		engine_run_now(f.e);
		engine_timers_now(f.e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		fuzz_dnsd_settings(&f);
		fuzz_dnsd_start(&f);
		ready = 1;
	}
	fuzz_dnsd_each(data, size, one);
	engine_run_now(f.e);
	return 0;
}
