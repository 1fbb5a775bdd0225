/*
 * Fuzz the IKEv2 state machine with a sequence of datagrams. Input: one
 * mode byte, then datagrams as [u16 length][bytes]...
 *   mode bit 0 clear: we are the responder (a wildcard peer), each
 *                     datagram comes from 192.0.2.1:4500;
 *   mode bit 0 set:   we initiated (ike_connect) and each datagram is an
 *                     answer: its initiator SPI is set to ours first, so
 *                     the IKE_SA_INIT response paths (COOKIE,
 *                     INVALID_KE_PAYLOAD, proposals, KE) are reached;
 *   mode bit 1:       demand cookies from the first half-open SA on.
 * Between datagrams, events are drained and the clock moves on; at the end
 * every timer runs out. Seeds: fuzz/corpus/ike_sm/ (-DIKE_FUZZ_SEEDGEN).
 * Nonces, SPIs, cookie secrets and jitter draw from fuzz_random()
 * (fuzz_rng.h), one state per instance; DH private keys are still made by
 * OpenSSL.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_rng.h"
#include "ike/ike.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t psk[] = "fuzzing secret";

static void peer(struct ike_peer_conf *pc, bool initiator)
{
	memset(pc, 0, sizeof(*pc));
	pc->name = "p";
	pc->local_id = initiator ? "a.example.net" : "b.example.net";
	pc->remote_id = initiator ? "b.example.net" : "*.example.net";
	pc->psk = psk;
	pc->psk_len = sizeof(psk) - 1;
	pc->remote = (struct ike_addr){ .family = AF_INET, .port = 4500, .ip = { 198, 51, 100, 7 } };
	pc->local = (struct ike_addr){ .family = AF_INET, .port = 4500, .ip = { 192, 0, 2, 1 } };
	if (!initiator) {
		struct ike_addr t = pc->remote;

		pc->remote = pc->local;
		pc->local = t;
	}
	pc->local_ts = (struct ike_ts){ .family = AF_INET6, .port_hi = 65535, .start = { 0xfd, [15] = 1 },
					.end = { 0xfd, [15] = 1 } };
	pc->remote_ts = (struct ike_ts){ .family = AF_INET6, .port_hi = 65535, .start = { 0xfd },
					 .end = { 0xfd, [1] = 0xff, [15] = 0xff } };
}

static void drain(struct ike *ike)
{
	struct ike_event ev;
	int n = 0;

	while (ike_poll(ike, &ev)) {
		assert(++n < 10000);
		if (ev.type == IKE_EV_SEND)
			assert(ev.send.len >= 28 && ev.send.len <= 8192);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_conf conf = { .cookie_threshold = 1 };
	struct ike_peer_conf pc;
	struct ike_addr us, them;
	struct ike_sa_info in;
	struct ike *ike;
	uint64_t now = 1000, seed = 1;
	uint8_t pkt[8192];
	size_t off = 1;
	bool initiator;
	int id = 0;

	if (size < 1)
		return 0;
	initiator = data[0] & 1;
	ike = ike_new(data[0] & 2 ? &conf : NULL, fuzz_random, &seed);
	assert(ike);
	peer(&pc, initiator);
	us = pc.local;
	them = pc.remote;
	if (ike_peer_add(ike, &pc, now) != 0)
		assert(0);
	if (initiator) {
		id = ike_connect(ike, "p", now);
		assert(id > 0);
	}
	drain(ike);
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		if (len > sizeof(pkt))
			len = sizeof(pkt);
		memcpy(pkt, data + off, len);
		off += len;
		if (initiator && len >= 8 && ike_sa_get(ike, (uint32_t)id, &in) == 0)
			for (int i = 0; i < 8; i++)
				pkt[i] = (uint8_t)(in.ike_spi_i >> (56 - 8 * i));
		(void)ike_input(ike, pkt, len, &us, &them, now);
		drain(ike);
		now += 250;
		ike_tick(ike, now);
		drain(ike);
	}
	/* let every timer run out */
	for (int i = 0; i < 64; i++) {
		uint64_t d = ike_next_deadline(ike);

		if (d == UINT64_MAX)
			break;
		now = d > now ? d : now + 1;
		ike_tick(ike, now);
		drain(ike);
	}
	ike_free(ike);
	return 0;
}

#ifdef IKE_FUZZ_SEEDGEN
/*
 * cc -DIKE_FUZZ_SEEDGEN -Ilib fuzz/fuzz_ike_sm.c build/lib/ike/libat_ike.a build/lib/util/libat_util.a -lcrypto
 * ./a.out fuzz/corpus/ike_sm fuzz/corpus/ike
 * Runs a real exchange between two instances and saves what went over the wire.
 */
static uint8_t rec[16][2048];
static size_t reclen[16];
static int nrec;

static void pass(struct ike *from, struct ike *to, struct ike_addr *fa, struct ike_addr *ta, uint64_t now)
{
	struct ike_event ev;
	uint8_t buf[8192];
	size_t n;

	while (ike_poll(from, &ev)) {
		if (ev.type != IKE_EV_SEND)
			continue;
		n = ev.send.len;
		memcpy(buf, ev.send.data, n);
		if (nrec < 16 && n <= 2048) {
			memcpy(rec[nrec], buf, n);
			reclen[nrec++] = n;
		}
		(void)ike_input(to, buf, n, ta, fa, now);
	}
}

static void save(const char *dir, const char *name, uint8_t mode, const int *idx, int n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fputc(mode, f);
	for (int i = 0; i < n; i++) {
		fputc((int)(reclen[idx[i]] >> 8), f);
		fputc((int)(reclen[idx[i]] & 0xff), f);
		fwrite(rec[idx[i]], 1, reclen[idx[i]], f);
	}
	fclose(f);
}

static void save1(const char *dir, const char *name, int idx)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fputc(0, f);
	fwrite(rec[idx], 1, reclen[idx], f);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct ike_peer_conf pa, pb;
	static uint64_t seed_a = 1, seed_b = 2, seed_c = 3;
	struct ike *a = ike_new(NULL, fuzz_random, &seed_a), *b;
	struct ike_addr aa, ba;
	const char *dir = argc > 1 ? argv[1] : ".", *dir2 = argc > 2 ? argv[2] : ".";
	uint64_t now = 1000;

	peer(&pa, true);
	peer(&pb, false);
	pa.dh_groups[0] = IKE_DH_ECP256;
	pa.dh_groups[1] = IKE_DH_CURVE25519;
	pb.dh_groups[0] = IKE_DH_CURVE25519;
	aa = pa.local;
	ba = pa.remote;
	{
		struct ike_conf c = { .cookie_threshold = 1 };

		b = ike_new(&c, fuzz_random, &seed_b);
	}
	if (ike_peer_add(a, &pa, now) || ike_peer_add(b, &pb, now))
		return 1;
	/* a half-open SA on b first, so that it demands a cookie */
	{
		struct ike *c = ike_new(NULL, fuzz_random, &seed_c);
		struct ike_peer_conf pc = pa;
		struct ike_event ev;

		pc.dh_groups[0] = IKE_DH_CURVE25519;
		if (ike_peer_add(c, &pc, now) || ike_connect(c, "p", now) <= 0)
			return 1;
		while (ike_poll(c, &ev))
			if (ev.type == IKE_EV_SEND)
				(void)ike_input(b, ev.send.data, ev.send.len, &ba, &aa, now);
		ike_free(c);
		while (ike_poll(b, &ev))
			;
	}
	if (ike_connect(a, "p", now) <= 0)
		return 1;
	for (int i = 0; i < 6; i++) {
		pass(a, b, &aa, &ba, now);
		pass(b, a, &ba, &aa, now);
	}
	/* rec: 0 init(19), 1 cookie, 2 init+cookie, 3 INVALID_KE, 4 init(31)+cookie, 5 response, 6 auth, 7 auth response */
	{
		int r0[] = { 0 }, r1[] = { 0, 2, 4, 6 }, i1[] = { 1 }, i2[] = { 3 }, i3[] = { 5, 7 };

		save(dir, "resp-init", 0, r0, 1);
		save(dir, "resp-cookie-flow", 2, r1, 4);
		save(dir, "init-cookie", 1, i1, 1);
		save(dir, "init-invalid-ke", 1, i2, 1);
		save(dir, "init-response-auth", 1, i3, 2);
		save1(dir2, "init-request", 0);
		save1(dir2, "init-cookie", 1);
		save1(dir2, "init-response", 5);
		save1(dir2, "auth-request", 6);
	}
	fprintf(stderr, "recorded %d messages\n", nrec);
	ike_free(a);
	ike_free(b);

	/*
	 * RFC 8247: a default initiator against a responder that takes only
	 * AES-128-CBC with HMAC-SHA2-256-128, group 20 and AES-CBC ESP: it asks
	 * for group 20 (INVALID_KE_PAYLOAD) and then picks our second proposal
	 * (an answer numbered 2).
	 */
	{
		static uint64_t sa2 = 4, sb2 = 5;

		nrec = 0;
		a = ike_new(NULL, fuzz_random, &sa2);
		b = ike_new(NULL, fuzz_random, &sb2);
		peer(&pa, true);
		peer(&pb, false);
		pa.esp_algs = IKE_ESP_AES256GCM16 | IKE_ESP_AES128CBC_SHA256;
		pb.encr_algs = IKE_ENCR_AES128CBC_SHA256;
		pb.prf_algs = IKE_PRF_HMAC_SHA256;
		pb.dh_groups[0] = IKE_DH_ECP384;
		pb.esp_algs = IKE_ESP_AES128CBC_SHA256;
		if (ike_peer_add(a, &pa, now) || ike_peer_add(b, &pb, now) || ike_connect(a, "p", now) <= 0)
			return 1;
		for (int i = 0; i < 6; i++) {
			pass(a, b, &aa, &ba, now);
			pass(b, a, &ba, &aa, now);
		}
		/* rec: 0 init(31), 1 INVALID_KE(20), 2 init(20), 3 response, 4 auth, 5 auth response */
		{
			int r0[] = { 2, 4 }, i1[] = { 1, 3, 5 };

			save(dir, "resp-init-auth-rfc8247", 0, r0, 2);
			save(dir, "init-ke20-cbc128", 1, i1, 3);
			save1(dir2, "init-request-ecp384", 2);
			save1(dir2, "init-response-cbc128", 3);
		}
		fprintf(stderr, "recorded %d messages (RFC 8247)\n", nrec);
		ike_free(a);
		ike_free(b);
	}
	return 0;
}
#endif
