/*
 * src/dataplane/offload: TSO cutting and GRO merging of the TUN device's
 * super-packets, checked against an independent checksum and by a round
 * trip (cut, merge, cut again gives the same segments byte for byte).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dataplane/offload.h"
#include "esp/esp.h"
#include "util/random.h"

/* RFC 1071 §3, the slow way: 16-bit big-endian words. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void checksum(void **state)
{
	static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[301];

	assert_int_equal(dp_csum_fold(dp_csum_add(0, rfc1071, 8)), 0xddf2);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(buf); n++)
		assert_int_equal(dp_csum_fold(dp_csum_add(0, buf, n)), ref_csum(buf, n, 0));
}

/* Is the TCP checksum of @p pkt right? */
static void assert_tcp_ok(const uint8_t *pkt, size_t len, int family)
{
	uint32_t sum = 0;
	size_t iph = family == 4 ? 20 : 40;
	uint8_t pseudo[40];
	size_t pl = 0;

	if (family == 4) {
		memcpy(pseudo, pkt + 12, 8);
		pl = 8;
		assert_int_equal(ref_csum(pkt, 20, 0), 0xffff);	/* IPv4 header checksum */
		assert_int_equal(pkt[2] << 8 | pkt[3], len);
	} else {
		memcpy(pseudo, pkt + 8, 32);
		pl = 32;
		assert_int_equal(pkt[4] << 8 | pkt[5], len - 40);
	}
	sum = ref_csum(pseudo, pl, 0);
	sum += (uint32_t)(len - iph) + 6;
	assert_int_equal(ref_csum(pkt + iph, len - iph, sum), 0xffff);
}

/* A TCP super-packet as the kernel hands it over: partial checksum, lengths of the whole. */
static size_t make_super(uint8_t *pkt, int family, size_t payload, uint8_t flags)
{
	size_t iph = family == 4 ? 20 : 40, tcph = 32, n = iph + tcph + payload;

	memset(pkt, 0, iph + tcph);
	if (family == 4) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(n >> 8), pkt[3] = (uint8_t)n;
		pkt[4] = 0x12, pkt[5] = 0x34;
		pkt[6] = 0x40;
		pkt[8] = 64, pkt[9] = 6;
		memcpy(pkt + 12, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	} else {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((n - 40) >> 8), pkt[5] = (uint8_t)(n - 40);
		pkt[6] = 6, pkt[7] = 64;
		pkt[8] = 0xfd, pkt[23] = 1;
		pkt[24] = 0xfd, pkt[39] = 2;
	}
	pkt[iph] = 0x9c, pkt[iph + 1] = 0x40;		/* port 40000 -> 5201 */
	pkt[iph + 2] = 0x14, pkt[iph + 3] = 0x51;
	memcpy(pkt + iph + 4, "\xff\xff\xf0\x00", 4);	/* seq near the wrap */
	memcpy(pkt + iph + 8, "\x00\x00\x10\x00", 4);
	pkt[iph + 12] = 8 << 4;
	pkt[iph + 13] = flags;
	pkt[iph + 14] = 0x01;
	memcpy(pkt + iph + 20, "\x01\x01\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x09", 12);
	for (size_t i = 0; i < payload; i++)
		pkt[iph + tcph + i] = (uint8_t)(i * 13 + 5);
	return n;
}

static void tso_then_gro_roundtrip(void **state)
{
	static uint8_t pkt[70000], seg[20][2000], grobuf[DP_VNET_HDR_LEN + DP_GRO_MAX], again[2000];

	for (int family = 4; family <= 6; family += 2) {
		size_t iph = family == 4 ? 20 : 40, n = make_super(pkt, family, 3500, 0x18);	/* ACK|PSH */
		struct dp_vnet v = { DP_VNET_F_NEEDS_CSUM, family == 4 ? DP_VNET_GSO_TCPV4 : DP_VNET_GSO_TCPV6,
				     (uint16_t)(iph + 32), 1200, (uint16_t)iph, 16 };
		struct dp_tso t, t2;
		struct dp_gro g = { .buf = grobuf };
		struct dp_vnet out;
		size_t w;

		assert_int_equal(dp_tso_init(&t, &v, pkt, n), 0);
		assert_int_equal(t.nseg, 3);
		for (unsigned i = 0; i < 3; i++) {
			size_t sl = dp_tso_seg_len(&t, i);
			uint32_t seq;

			assert_int_equal(sl, iph + 32 + (i < 2 ? 1200 : 1100));
			dp_tso_seg_write(&t, i, seg[i]);
			assert_tcp_ok(seg[i], sl, family);
			seq = (uint32_t)seg[i][iph + 4] << 24 | seg[i][iph + 5] << 16 | seg[i][iph + 6] << 8 | seg[i][iph + 7];
			assert_int_equal(seq, (uint32_t)(0xfffff000u + i * 1200));
			/* PSH only on the last segment */
			assert_int_equal(seg[i][iph + 13], i == 2 ? 0x18 : 0x10);
			assert_memory_equal(seg[i] + iph + 32, pkt + iph + 32 + i * 1200, sl - iph - 32);
			if (family == 4)
				assert_int_equal(seg[i][5], 0x34 + i);
			assert_true(dp_gro_add(&g, seg[i], sl));
		}
		assert_int_equal(g.nseg, 3);
		w = dp_gro_finish(&g);
		assert_int_equal(w, DP_VNET_HDR_LEN + n);
		assert_int_equal(dp_vnet_parse(grobuf, w, &out), 0);
		assert_int_equal(out.gso_type, v.gso_type);
		assert_int_equal(out.gso_size, 1200);
		assert_int_equal(out.csum_start, iph);
		assert_int_equal(out.csum_offset, 16);
		assert_int_equal(out.flags, DP_VNET_F_NEEDS_CSUM);
		/* the merged packet cut again gives the very same segments */
		assert_int_equal(dp_tso_init(&t2, &out, grobuf + DP_VNET_HDR_LEN, w - DP_VNET_HDR_LEN), 0);
		assert_int_equal(t2.nseg, 3);
		for (unsigned i = 0; i < 3; i++) {
			dp_tso_seg_write(&t2, i, again);
			assert_memory_equal(again, seg[i], dp_tso_seg_len(&t, i));
		}
	}
}

static int seal_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

/*
 * What the worker does with each transform (worker.c tx_packet and
 * esp_datagram): cut a super-packet, write each segment at the SA's
 * layout offset, seal it into exactly esp_layout_sealed_len() bytes, open
 * it on the other side, and merge the segments back (GRO) into the packet.
 */
static void seal_segments_every_transform(void **state)
{
	static const enum esp_cipher ciphers[] = { ESP_CIPHER_AES256_GCM16, ESP_CIPHER_CHACHA20_POLY1305,
						   ESP_CIPHER_AES128_GCM16, ESP_CIPHER_AES128_CBC_SHA256,
						   ESP_CIPHER_AES256_CBC_SHA256 };
	static uint8_t pkt[70000], slot[2100], grobuf[DP_VNET_HDR_LEN + DP_GRO_MAX];
	uint8_t km[ESP_KEYMAT_MAX];

	memset(km, 0x37, sizeof(km));
	for (size_t c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
		struct esp_layout lay = esp_layout_of(ciphers[c]);
		size_t n = make_super(pkt, 6, 5000, 0x18), w;
		struct dp_vnet v = { DP_VNET_F_NEEDS_CSUM, DP_VNET_GSO_TCPV6, 40 + 32, 1300, 40, 16 };
		struct dp_gro g = { .buf = grobuf };
		struct esp_aead *enc, *dec;
		struct esp_out out;
		struct esp_in in;
		struct dp_tso t;

		assert_int_equal(esp_aead_new_rng(&enc, ciphers[c], km, true, seal_random, NULL), 0);
		assert_int_equal(esp_aead_new(&dec, ciphers[c], km, false), 0);
		esp_out_init(&out, 0x1000 + (uint32_t)c, true);
		esp_in_init(&in, 0x1000 + (uint32_t)c, true);
		assert_int_equal(dp_tso_init(&t, &v, pkt, n), 0);
		for (unsigned i = 0; i < t.nseg; i++) {
			size_t sl = dp_tso_seg_len(&t, i), slen = esp_layout_sealed_len(lay, sl), outlen;
			struct esp_opened res;

			assert_true(slen <= sizeof(slot) && slen - sl <= ESP_OVERHEAD_MAX);
			dp_tso_seg_write(&t, i, slot + lay.hdr);
			assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV6, slot, slen, sl, &outlen), 0);
			assert_int_equal(outlen, slen);
			assert_int_equal(esp_in_open(&in, dec, slot, outlen, &res), 0);
			assert_int_equal(res.off, lay.hdr);
			assert_int_equal(res.len, sl);
			assert_true(dp_gro_add(&g, slot + res.off, res.len));
		}
		w = dp_gro_finish(&g);
		assert_int_equal(w, DP_VNET_HDR_LEN + n);
		assert_memory_equal(grobuf + DP_VNET_HDR_LEN + 40 + 32, pkt + 40 + 32, 5000);
		esp_aead_free(enc);
		esp_aead_free(dec);
	}
}

static void gro_refuses(void **state)
{
	static uint8_t pkt[10000], seg[4][2000], grobuf[DP_VNET_HDR_LEN + DP_GRO_MAX];
	struct dp_vnet v = { DP_VNET_F_NEEDS_CSUM, DP_VNET_GSO_TCPV6, 72, 1000, 40, 16 };
	struct dp_gro g = { .buf = grobuf };
	struct dp_tso t;
	size_t n = make_super(pkt, 6, 4000, 0x10), l[4];
	uint8_t other[2000];

	assert_int_equal(dp_tso_init(&t, &v, pkt, n), 0);
	for (unsigned i = 0; i < 4; i++) {
		l[i] = dp_tso_seg_len(&t, i);
		dp_tso_seg_write(&t, i, seg[i]);
	}
	/* a gap: segment 2 does not follow segment 0 */
	assert_true(dp_gro_add(&g, seg[0], l[0]));
	assert_false(dp_gro_add(&g, seg[2], l[2]));
	/* another flow (port differs) */
	memcpy(other, seg[1], l[1]);
	other[41] ^= 1;
	assert_false(dp_gro_add(&g, other, l[1]));
	/* a different ack */
	memcpy(other, seg[1], l[1]);
	other[40 + 11] ^= 1;
	assert_false(dp_gro_add(&g, other, l[1]));
	/* a SYN or FIN never merges */
	memcpy(other, seg[1], l[1]);
	other[40 + 13] |= 0x01;
	assert_false(dp_gro_add(&g, other, l[1]));
	/* the right one does */
	assert_true(dp_gro_add(&g, seg[1], l[1]));
	assert_int_equal(dp_gro_finish(&g), DP_VNET_HDR_LEN + 72 + 2000);
	/* a single packet goes out unchanged with an empty vnet header */
	assert_true(dp_gro_add(&g, seg[3], l[3]));
	assert_int_equal(dp_gro_finish(&g), DP_VNET_HDR_LEN + l[3]);
	assert_memory_equal(grobuf + DP_VNET_HDR_LEN, seg[3], l[3]);
	for (int i = 0; i < DP_VNET_HDR_LEN; i++)
		assert_int_equal(grobuf[i], 0);
	/* UDP is taken alone and never merged */
	memcpy(other, seg[0], l[0]);
	other[6] = 17;
	assert_true(dp_gro_add(&g, other, l[0]));
	assert_false(dp_gro_add(&g, seg[1], l[1]));
	(void)dp_gro_finish(&g);
}

static void tso_plain_packet_checksum(void **state)
{
	uint8_t pkt[200], out[200];
	struct dp_vnet v = { DP_VNET_F_NEEDS_CSUM, DP_VNET_GSO_NONE, 0, 0, 40, 16 };
	struct dp_tso t;
	size_t n = make_super(pkt, 6, 100, 0x18);
	uint32_t sum;

	/* the kernel leaves the pseudo-header sum in the field */
	sum = dp_csum_add(0, pkt + 8, 32) + (uint32_t)(n - 40) + 6;
	pkt[56] = (uint8_t)(dp_csum_fold(sum) >> 8), pkt[57] = (uint8_t)dp_csum_fold(sum);
	assert_int_equal(dp_tso_init(&t, &v, pkt, n), 0);
	assert_int_equal(t.nseg, 1);
	assert_int_equal(dp_tso_seg_len(&t, 0), n);
	dp_tso_seg_write(&t, 0, out);
	assert_tcp_ok(out, n, 6);
	/* bounds */
	v.csum_start = (uint16_t)(n - 17);
	assert_int_equal(dp_tso_init(&t, &v, pkt, n), -EBADMSG);
	v.gso_type = 3;	/* UFO: never enabled */
	assert_int_equal(dp_tso_init(&t, &v, pkt, n), -EPROTONOSUPPORT);
	v.gso_type = DP_VNET_GSO_TCPV6;
	v.gso_size = 0;
	v.csum_start = 40;
	assert_int_equal(dp_tso_init(&t, &v, pkt, n), -EBADMSG);
	assert_int_equal(dp_vnet_parse(pkt, 9, &v), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checksum),
		cmocka_unit_test(tso_then_gro_roundtrip),
		cmocka_unit_test(seal_segments_every_transform),
		cmocka_unit_test(gro_refuses),
		cmocka_unit_test(tso_plain_packet_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
