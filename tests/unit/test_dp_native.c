/*
 * src/dataplane/native: the packets of native ESP and of the RSIP tunnel
 * (RFC 3104), built and parsed at every bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/native.h"

#define NB 0xcb00710au	/* 203.0.113.10 */
#define Y 0xc6336407u	/* 198.51.100.7 */
#define NA 0xc0a80101u	/* 192.168.1.1 */
#define X 0xc0a80102u	/* 192.168.1.2 */

static uint16_t fold_inv(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* RFC 1071 §3: the example bytes sum to 0xddf2 (one's complement, before inversion). */
static void test_rfc1071(void **st)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint32_t s = dp_native_csum(0, b, sizeof(b));

	(void)st;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	assert_int_equal(s, 0xddf2);
	/* an odd byte is padded with zero on the right */
	s = dp_native_csum(0, b, 3);
	assert_int_equal(s, 0x0001 + 0xf200);
}

/* A well-known IPv4 header: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7. */
static void test_ip_checksum_vector(void **st)
{
	static const uint8_t h[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)st;
	assert_int_equal(fold_inv(dp_native_csum(0, h, sizeof(h))), 0xb861);
}

static void test_ip_hdr(void **st)
{
	uint8_t p[64];
	int n;

	(void)st;
	memset(p, 0xee, sizeof(p));
	n = dp_native_ip_hdr(p, sizeof(p), DP_IPPROTO_ESP, NB, Y, 0x1234, 24);
	assert_int_equal(n, 44);
	assert_int_equal(p[0], 0x45);
	assert_int_equal(p[2] << 8 | p[3], 44);
	assert_int_equal(p[4] << 8 | p[5], 0x1234);
	assert_int_equal(p[6] | p[7], 0);	/* DF clear, offset 0 */
	assert_int_equal(p[8], 64);
	assert_int_equal(p[9], 50);
	assert_int_equal(fold_inv(dp_native_csum(0, p, 20)), 0);	/* a correct header sums to 0xffff */
	assert_int_equal(p[12] << 24 | p[13] << 16 | p[14] << 8 | p[15], (int)NB);
	assert_int_equal(p[20], 0xee);	/* nothing written past the header */
	/* bounds: the header alone must fit, and the packet within 65535 */
	assert_int_equal(dp_native_ip_hdr(p, 19, DP_IPPROTO_ESP, NB, Y, 0, 0), -EMSGSIZE);
	assert_int_equal(dp_native_ip_hdr(p, 20, DP_IPPROTO_ESP, NB, Y, 0, 0), 20);
	assert_int_equal(dp_native_ip_hdr(p, 43, DP_IPPROTO_ESP, NB, Y, 0, 24), -EMSGSIZE);
	{
		static uint8_t big[65536];

		assert_int_equal(dp_native_ip_hdr(big, sizeof(big), DP_IPPROTO_ESP, NB, Y, 0, 65515), 65535);
		assert_int_equal(dp_native_ip_hdr(big, sizeof(big), DP_IPPROTO_ESP, NB, Y, 0, 65516), -EMSGSIZE);
	}
}

/* What the gateway tunnels to us: outer (Na -> X, protocol 4) + inner from @p inner. */
static size_t ipip(uint8_t *out, size_t cap, const uint8_t *inner, size_t n)
{
	int t = dp_native_ip_hdr(out, cap, DP_IPPROTO_IPIP, NA, X, 7, n);

	assert_true(t > 0);
	memcpy(out + DP_IP_HDR, inner, n);
	return (size_t)t;
}

static size_t ike_inner(uint8_t *p, size_t cap, const char *payload, uint16_t sport, uint16_t dport)
{
	size_t len = strlen(payload);
	int n;

	memcpy(p + 28, payload, len);
	n = dp_native_udp(p, cap, len, Y, sport, NB, dport, 9);
	assert_int_equal(n, 28 + (int)len);
	return (size_t)n;
}

static void test_udp_roundtrip(void **st)
{
	uint8_t in[256], pkt[512];
	struct dp_native_in r;
	size_t n = ike_inner(in, sizeof(in), "IKE header and more", 500, 40000), m;

	(void)st;
	m = ipip(pkt, sizeof(pkt), in, n);
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	assert_int_equal(r.outer_src, NA);
	assert_int_equal(r.proto, DP_IPPROTO_UDP);
	assert_int_equal(r.src, Y);
	assert_int_equal(r.dst, NB);
	assert_int_equal(r.sport, 500);
	assert_int_equal(r.dport, 40000);
	assert_int_equal(r.off, 20 + 28);
	assert_int_equal(r.len, strlen("IKE header and more"));
	assert_memory_equal(pkt + r.off, "IKE header and more", r.len);
	/* a raw socket may hand a few bytes more than Total Length: they are ignored */
	assert_int_equal(dp_native_parse_ipip(pkt, m + 3, &r), 0);
	assert_int_equal(r.len, strlen("IKE header and more"));
	/* one byte short of the outer Total Length */
	assert_int_equal(dp_native_parse_ipip(pkt, m - 1, &r), -EBADMSG);
	/* a flipped payload bit fails the UDP checksum */
	pkt[m - 1] ^= 1;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[m - 1] ^= 1;
	/* no checksum (0) is allowed over IPv4 (RFC 768) */
	pkt[20 + 26] = pkt[20 + 27] = 0;
	pkt[m - 1] ^= 1;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
}

static void test_udp_checksum_zero_sent_as_ones(void **st)
{
	uint8_t p[64];
	uint8_t payload[2];
	int n;

	(void)st;
	/*
	 * Find a 2-byte payload whose checksum computes to 0: the sender must
	 * write 0xffff instead (RFC 768), and the receiver accept it.
	 */
	for (unsigned v = 0; v < 65536; v++) {
		payload[0] = (uint8_t)(v >> 8);
		payload[1] = (uint8_t)v;
		memcpy(p + 28, payload, 2);
		n = dp_native_udp(p, sizeof(p), 2, Y, 500, NB, 40000, 1);
		assert_int_equal(n, 30);
		if (p[26] == 0xff && p[27] == 0xff)
			break;
	}
	assert_int_equal(p[26] << 8 | p[27], 0xffff);
	/* and it verifies: 0xffff and 0 are the same number in one's complement */
	{
		uint8_t pkt[128];
		struct dp_native_in r;
		size_t m = ipip(pkt, sizeof(pkt), p, 30);

		assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	}
}

static void test_esp_inner(void **st)
{
	uint8_t in[64], pkt[128];
	struct dp_native_in r;
	size_t m;
	int n;

	(void)st;
	memset(in, 0, sizeof(in));
	/* an ESP header: SPI 0x00100010, sequence 1 */
	in[20] = 0x00, in[21] = 0x10, in[22] = 0x00, in[23] = 0x10, in[27] = 1;
	n = dp_native_ip_hdr(in, sizeof(in), DP_IPPROTO_ESP, Y, NB, 1, 8);
	assert_int_equal(n, 28);
	m = ipip(pkt, sizeof(pkt), in, 28);
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	assert_int_equal(r.proto, DP_IPPROTO_ESP);
	assert_int_equal(r.off, 40);
	assert_int_equal(r.len, 8);
	/* seven bytes cannot be ESP */
	n = dp_native_ip_hdr(in, sizeof(in), DP_IPPROTO_ESP, Y, NB, 1, 7);
	m = ipip(pkt, sizeof(pkt), in, 27);
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	/* the raw ESP socket: IP header + ESP */
	n = dp_native_ip_hdr(in, sizeof(in), DP_IPPROTO_ESP, Y, NB, 1, 8);
	assert_int_equal(dp_native_parse_esp(in, 28, &r), 0);
	assert_int_equal(r.off, 20);
	assert_int_equal(r.len, 8);
	assert_int_equal(r.outer_src, 0);
	assert_int_equal(dp_native_parse_esp(in, 27, &r), -EBADMSG);
	/* UDP on the ESP socket is not ESP */
	n = ike_inner(in, sizeof(in), "x", 500, 500);
	assert_int_equal(dp_native_parse_esp(in, (size_t)n, &r), -EBADMSG);
}

static void test_malformed(void **st)
{
	uint8_t in[64], pkt[128];
	struct dp_native_in r;
	size_t m, n = ike_inner(in, sizeof(in), "abcd", 500, 40000);

	(void)st;
	m = ipip(pkt, sizeof(pkt), in, n);
	/* outer protocol not 4 */
	pkt[9] = 41;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[9] = 4;
	/* outer version 6 */
	pkt[0] = 0x65;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	/* outer header length 16 (IHL 4) */
	pkt[0] = 0x44;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[0] = 0x45;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	/* inner: a fragment (MF set), then a non-first fragment */
	pkt[20 + 6] = 0x20;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[20 + 6] = 0x00, pkt[20 + 7] = 0x01;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[20 + 7] = 0x00;
	/* inner DF alone is fine */
	pkt[20 + 6] = 0x40;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	pkt[20 + 6] = 0x00;
	/* UDP length one off either way */
	pkt[20 + 25]++;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[20 + 25] -= 2;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[20 + 25]++;
	/* inner Total Length beyond the outer packet */
	pkt[20 + 3]++;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EBADMSG);
	pkt[20 + 3]--;
	/* inner TCP: not ours */
	pkt[20 + 9] = 6;
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), -EPROTONOSUPPORT);
	/* nothing at all, or just an outer header */
	assert_int_equal(dp_native_parse_ipip(pkt, 0, &r), -EBADMSG);
	assert_int_equal(dp_native_ip_hdr(pkt, sizeof(pkt), DP_IPPROTO_IPIP, NA, X, 0, 0), 20);
	assert_int_equal(dp_native_parse_ipip(pkt, 20, &r), -EBADMSG);
}

/* An inner header with options (IHL 6): the payload starts after them. */
static void test_ip_options(void **st)
{
	uint8_t in[64], pkt[128];
	struct dp_native_in r;
	size_t m;

	(void)st;
	memset(in, 0, sizeof(in));
	assert_int_equal(dp_native_ip_hdr(in, sizeof(in), DP_IPPROTO_ESP, Y, NB, 1, 12), 32);
	in[0] = 0x46;	/* 4 bytes of options (NOPs would be 1; zeros are End of List, fine for the parser) */
	m = ipip(pkt, sizeof(pkt), in, 32);
	assert_int_equal(dp_native_parse_ipip(pkt, m, &r), 0);
	assert_int_equal(r.off, 20 + 24);
	assert_int_equal(r.len, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071),
		cmocka_unit_test(test_ip_checksum_vector),
		cmocka_unit_test(test_ip_hdr),
		cmocka_unit_test(test_udp_roundtrip),
		cmocka_unit_test(test_udp_checksum_zero_sent_as_ones),
		cmocka_unit_test(test_esp_inner),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ip_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
