/*
 * lib/esp: the AEAD transforms against published vectors, ESP packets
 * byte for byte (RFC 7634 Appendix A.1), ESN, every receive check, and
 * sequence-number exhaustion.
 *
 * RFC 8221 transforms: AES-128-GCM against McGrew-Viega test case 3; AES-CBC
 * against RFC 3602 §4 cases 1 and 2; HMAC-SHA-256-128 against RFC 4868
 * §2.7.2.1 AUTH256-1 and -2; a whole AES-128-CBC/HMAC-SHA2-256-128 ESP
 * packet against a known answer computed independently with Python
 * (hmac, hashlib, and the "cryptography" package's Cipher(AES, CBC)):
 *
 *   key = bytes(range(0x10, 0x20)); mk = bytes(range(0x40, 0x60)); iv = bytes(range(0xa0, 0xb0))
 *   inner = bytes([0x45, 0, 0, 20] + [i * 7 + 1 & 0xff for i in range(4, 20)])
 *   body = inner + bytes(range(1, 11)) + bytes([10, 4])          # padding to one 16-byte block
 *   ct = AES-128-CBC(key, iv).encrypt(body)
 *   hdr = bytes.fromhex("c0ffee01") + (1).to_bytes(4, 'big') + iv
 *   packet = hdr + ct + hmac.new(mk, hdr + ct, hashlib.sha256).digest()[:16]
 *   # ESN, seq 7 << 32 | 9: ICV over hdr(seq low 9) + ct + (7).to_bytes(4, 'big')
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "esp/esp.h"
#include "util/encode.h"
#include "util/random.h"

static size_t unhex(uint8_t *dst, size_t cap, const char *hex)
{
	int n = hex_decode(dst, cap, hex);

	assert_true(n >= 0);
	return (size_t)n;
}

/*
 * The AES-256 test cases 14, 15 and 16 of McGrew and Viega, "The Galois/
 * Counter Mode of Operation (GCM)". The 12-byte IV is split as ESP splits
 * its nonce: the first 4 bytes are the salt (the end of the key material),
 * the last 8 the explicit IV.
 */
static const struct gcm_case {
	const char *key, *iv, *aad, *pt, *ct, *tag;
} gcm_cases[] = {
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "",
	  "00000000000000000000000000000000",
	  "cea7403d4d606b6e074ec5d3baf39d18",
	  "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void gcm_spec_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(gcm_cases) / sizeof(gcm_cases[0]); i++) {
		const struct gcm_case *c = &gcm_cases[i];
		uint8_t keymat[ESP_KEYMAT_LEN], iv12[12], aad[32], buf[64], ct[64], tag[16], t[16];
		size_t aadlen, ptlen;
		struct esp_aead *enc, *dec;

		unhex(keymat, 32, c->key);
		unhex(iv12, 12, c->iv);
		memcpy(keymat + 32, iv12, 4);
		aadlen = unhex(aad, sizeof(aad), c->aad);
		ptlen = unhex(buf, sizeof(buf), c->pt);
		assert_int_equal(unhex(ct, sizeof(ct), c->ct), ptlen);
		unhex(tag, 16, c->tag);

		assert_int_equal(esp_aead_new(&enc, ESP_CIPHER_AES256_GCM16, keymat, true), 0);
		assert_int_equal(esp_aead_new(&dec, ESP_CIPHER_AES256_GCM16, keymat, false), 0);
		/* twice through the same context: only the nonce is re-set per packet */
		for (int round = 0; round < 2; round++) {
			uint8_t work[64];

			memcpy(work, buf, ptlen);
			assert_int_equal(esp_aead_seal(enc, iv12 + 4, aad, aadlen, work, ptlen, t), 0);
			assert_memory_equal(work, ct, ptlen);
			assert_memory_equal(t, tag, 16);
			assert_int_equal(esp_aead_open(dec, iv12 + 4, aad, aadlen, work, ptlen, tag), 0);
			assert_memory_equal(work, buf, ptlen);
		}
		/* one flipped tag bit is refused */
		t[15] ^= 1;
		assert_int_equal(esp_aead_open(dec, iv12 + 4, aad, aadlen, ct, ptlen, t), -EBADMSG);
		esp_aead_free(enc);
		esp_aead_free(dec);
	}
}

/* RFC 7634 Appendix A.1: an ICMP echo in IPv4, ESP with ChaCha20-Poly1305. */
static const char rfc7634_keymat[] =
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3";
static const char rfc7634_packet[] =
	"01020304" "00000005" "1011121314151617"
	"24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
	"14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
	"cbec163fac469b502773f6fb94e664da9165b82829f641e0"
	"76aaa8266b7fb0f7b11b369907e1ad43";

static void rfc7634_esp_example(void **state)
{
	uint8_t keymat[ESP_KEYMAT_LEN], plain[128], expect[160], buf[160];
	size_t plen, elen, outlen;
	struct esp_aead *enc, *dec;
	struct esp_out out;
	struct esp_in in;
	struct esp_opened res;

	/* the ICMP header, then the echo data 08 09 0a .. 37 */
	{
		static const char head[] =
			"45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec1000073627";

		plen = unhex(plain, sizeof(plain), head);
		for (uint8_t b = 0x08; b <= 0x37; b++)
			plain[plen++] = b;
	}
	assert_int_equal(plen, 84);
	unhex(keymat, sizeof(keymat), rfc7634_keymat);
	elen = unhex(expect, sizeof(expect), rfc7634_packet);
	assert_int_equal(elen, 16 + 88 + 16);
	assert_int_equal(esp_sealed_len(plen), elen);

	assert_int_equal(esp_aead_new(&enc, ESP_CIPHER_CHACHA20_POLY1305, keymat, true), 0);
	assert_int_equal(esp_aead_new(&dec, ESP_CIPHER_CHACHA20_POLY1305, keymat, false), 0);

	/* SPI 0x01020304, sequence number 5, explicit IV 10 11 .. 17 */
	esp_out_init(&out, 0x01020304, false);
	out.seq = 4;
	out.iv_mask = UINT64_C(0x1011121314151617) ^ 5;
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + ESP_HDR_LEN, plain, plen);
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, sizeof(buf), plen, &outlen), 0);
	assert_int_equal(outlen, elen);
	assert_memory_equal(buf, expect, elen);

	/* and the receiver gets the ICMP packet back */
	esp_in_init(&in, 0x01020304, false);
	assert_int_equal(esp_in_open(&in, dec, buf, outlen, &res), 0);
	assert_int_equal(res.off, ESP_HDR_LEN);
	assert_int_equal(res.len, 84);
	assert_int_equal(res.nh, ESP_NH_IPV4);
	assert_int_equal(res.seq, 5);
	assert_memory_equal(buf + res.off, plain, 84);

	/* the same bytes again are a replay */
	memcpy(buf, expect, elen);
	assert_int_equal(esp_in_open(&in, dec, buf, elen, &res), -EALREADY);
	esp_aead_free(enc);
	esp_aead_free(dec);
}

struct pair {
	struct esp_aead *enc, *dec;
	struct esp_out out;
	struct esp_in in;
};

/* The random source of the CBC tests: the system's CSPRNG (lib/util). */
static int test_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

static void pair_init(struct pair *p, enum esp_cipher c, bool esn, uint8_t keybyte)
{
	uint8_t keymat[ESP_KEYMAT_MAX];

	memset(keymat, keybyte, sizeof(keymat));
	assert_int_equal(esp_aead_new_rng(&p->enc, c, keymat, true, test_random, NULL), 0);
	memset(keymat, 0x42, sizeof(keymat));
	assert_int_equal(esp_aead_new(&p->dec, c, keymat, false), 0);
	esp_out_init(&p->out, 0xc0ffee01, esn);
	esp_in_init(&p->in, 0xc0ffee01, esn);
}

static void pair_fini(struct pair *p)
{
	esp_aead_free(p->enc);
	esp_aead_free(p->dec);
}

static size_t seal_n(struct pair *p, uint8_t *buf, size_t cap, size_t plen, uint8_t nh)
{
	size_t outlen, hdr = esp_layout_of(esp_aead_cipher(p->enc)).hdr;

	for (size_t i = 0; i < plen; i++)
		buf[hdr + i] = (uint8_t)(i * 7 + 1);
	if (plen)
		buf[hdr] = 0x60;
	assert_int_equal(esp_out_seal(&p->out, p->enc, nh, buf, cap, plen, &outlen), 0);
	return outlen;
}

static void roundtrip_every_length(void **state)
{
	static const enum esp_cipher ciphers[] = { ESP_CIPHER_AES256_GCM16, ESP_CIPHER_CHACHA20_POLY1305,
						   ESP_CIPHER_AES128_GCM16, ESP_CIPHER_AES128_CBC_SHA256,
						   ESP_CIPHER_AES256_CBC_SHA256 };

	for (size_t c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
		struct esp_layout l = esp_layout_of(ciphers[c]);

		for (int esn = 0; esn < 2; esn++) {
			struct pair p;
			uint8_t buf[1600];

			pair_init(&p, ciphers[c], esn, 0x42);
			for (size_t plen = 0; plen < 80; plen++) {
				struct esp_opened res;
				size_t n = seal_n(&p, buf, sizeof(buf), plen, ESP_NH_IPV6);

				/* trailer aligned to 4 bytes (AEAD) or the AES block (CBC), padding the least */
				assert_int_equal(n, esp_layout_sealed_len(l, plen));
				assert_int_equal((n - l.hdr - ESP_ICV_LEN) % l.align, 0);
				assert_true(n - l.hdr - ESP_ICV_LEN - plen - 2 < l.align);
				assert_true(n - plen <= ESP_OVERHEAD_MAX);
				if (l.align == 4)
					assert_int_equal(n, esp_sealed_len(plen));
				assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
				assert_int_equal(res.len, plen);
				assert_int_equal(res.nh, ESP_NH_IPV6);
				for (size_t i = 1; i < plen; i++)
					assert_int_equal(buf[res.off + i], (uint8_t)(i * 7 + 1));
			}
			pair_fini(&p);
		}
	}
}

/* ESN: the high 32 bits are authenticated (RFC 4106 §5) but never sent. */
static void esn_aad_layout(void **state)
{
	struct pair p;
	uint8_t buf[256], aad[12] = { 0xc0, 0xff, 0xee, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09 };
	uint8_t iv[8], tag[16];
	size_t n, body;
	struct esp_opened res;

	pair_init(&p, ESP_CIPHER_AES256_GCM16, true, 0x42);
	p.out.seq = (UINT64_C(7) << 32) | 8;
	n = seal_n(&p, buf, sizeof(buf), 40, ESP_NH_IPV6);
	/* on the wire: only the low half */
	assert_memory_equal(buf + 4, aad + 8, 4);
	body = n - ESP_HDR_LEN - ESP_ICV_LEN;
	memcpy(iv, buf + 8, 8);
	memcpy(tag, buf + n - 16, 16);
	{
		uint8_t copy[256];

		/* an 8-byte AAD (no ESN) does not verify; SPI | hi | lo does */
		memcpy(copy, buf, n);
		assert_int_equal(esp_aead_open(p.dec, iv, aad, 8, copy + ESP_HDR_LEN, body, tag), -EBADMSG);
		memcpy(copy, buf, n);
		assert_int_equal(esp_aead_open(p.dec, iv, aad, 12, copy + ESP_HDR_LEN, body, tag), 0);
	}
	/* the receiver infers the high half from its window */
	p.in.replay.top = (UINT64_C(7) << 32) | 2;
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
	assert_int_equal(res.seq, (UINT64_C(7) << 32) | 9);
	pair_fini(&p);
}

/* Build a packet with a chosen trailer, sealed with the raw AEAD. */
static size_t forge(struct pair *p, uint8_t *buf, const uint8_t *trailer, size_t tlen, uint32_t seq)
{
	uint8_t aad[8] = { 0xc0, 0xff, 0xee, 0x01 }, iv[8] = { 0 };
	size_t body = 20 + tlen;

	aad[4] = (uint8_t)(seq >> 24);
	aad[5] = (uint8_t)(seq >> 16);
	aad[6] = (uint8_t)(seq >> 8);
	aad[7] = (uint8_t)seq;
	memcpy(buf, aad, 8);
	iv[7] = (uint8_t)seq;
	memcpy(buf + 8, iv, 8);
	memset(buf + ESP_HDR_LEN, 0x45, 20);
	memcpy(buf + ESP_HDR_LEN + 20, trailer, tlen);
	assert_int_equal(esp_aead_seal(p->enc, iv, aad, 8, buf + ESP_HDR_LEN, body, buf + ESP_HDR_LEN + body), 0);
	return ESP_HDR_LEN + body + ESP_ICV_LEN;
}

static void receive_checks(void **state)
{
	struct pair p, wrong;
	uint8_t buf[256], keep[256];
	struct esp_opened res;
	size_t n;

	pair_init(&p, ESP_CIPHER_AES256_GCM16, false, 0x42);
	/* p.enc keyed with the receiver's key, so forge() makes authentic packets */
	{
		static const uint8_t good[] = { 1, 2, 2, 4 }, badpad[] = { 1, 3, 2, 4 },
			zeropad[] = { 0, 0, 2, 4 }, longpad[] = { 1, 2, 30, 4 },
			udp[] = { 1, 2, 2, 17 }, dummy[] = { 1, 2, 2, 59 };

		n = forge(&p, buf, good, 4, 1);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
		assert_int_equal(res.len, 20);
		assert_int_equal(res.nh, ESP_NH_IPV4);
		n = forge(&p, buf, badpad, 4, 2);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EBADMSG);
		n = forge(&p, buf, zeropad, 4, 3);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EBADMSG);
		n = forge(&p, buf, longpad, 4, 4);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EBADMSG);
		n = forge(&p, buf, udp, 4, 5);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EPROTONOSUPPORT);
		n = forge(&p, buf, dummy, 4, 6);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -ENODATA);
		/* an authenticated dummy still counts against replay */
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EALREADY);
	}

	/* wrong key: ICV fails, and the window does not move */
	pair_init(&wrong, ESP_CIPHER_AES256_GCM16, false, 0x17);
	wrong.out.seq = 49;
	n = seal_n(&wrong, buf, sizeof(buf), 60, ESP_NH_IPV6);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EKEYREJECTED);
	assert_int_equal(p.in.replay.top, 6);
	pair_fini(&wrong);

	/* tampering anywhere after the SPI is caught */
	p.out.seq = 100;
	n = seal_n(&p, keep, sizeof(keep), 60, ESP_NH_IPV6);
	for (size_t i = 4; i < n; i++) {
		memcpy(buf, keep, n);
		buf[i] ^= 0x80;
		assert_true(esp_in_open(&p.in, p.dec, buf, n, &res) < 0);
	}
	/* wrong SPI, and every truncation */
	memcpy(buf, keep, n);
	buf[0] ^= 1;
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -ENOENT);
	for (size_t cut = 0; cut < ESP_MIN_LEN; cut++) {
		memcpy(buf, keep, n);
		assert_int_equal(esp_in_open(&p.in, p.dec, buf, cut, &res), -EBADMSG);
	}
	memcpy(buf, keep, n);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n - 1, &res), -EKEYREJECTED);
	memcpy(buf, keep, n);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
	assert_int_equal(res.seq, 101);
	pair_fini(&p);
}

static void sequence_exhaustion(void **state)
{
	struct pair p;
	uint8_t buf[256];
	size_t outlen;

	/* without ESN: 2^32 - 2 is the last number used, never 2^32 - 1 or a wrap */
	pair_init(&p, ESP_CIPHER_AES256_GCM16, false, 0x42);
	assert_false(p.out.rekey_soon);
	p.out.seq = UINT32_MAX - 3;
	seal_n(&p, buf, sizeof(buf), 10, ESP_NH_IPV6);
	assert_true(p.out.rekey_soon);
	seal_n(&p, buf, sizeof(buf), 10, ESP_NH_IPV6);
	assert_int_equal(buf[4], 0xff);
	assert_int_equal(buf[7], 0xfe);
	assert_int_equal(esp_out_seal(&p.out, p.enc, ESP_NH_IPV6, buf, sizeof(buf), 10, &outlen), -EKEYEXPIRED);
	assert_int_equal(outlen, 0);
	assert_int_equal(esp_out_seal(&p.out, p.enc, ESP_NH_IPV6, buf, sizeof(buf), 10, &outlen), -EKEYEXPIRED);
	assert_int_equal(p.out.seq, UINT32_MAX - 1);
	pair_fini(&p);

	/* with ESN: up to 2^64 - 2 */
	pair_init(&p, ESP_CIPHER_CHACHA20_POLY1305, true, 0x42);
	p.out.seq = UINT64_MAX - 2;
	seal_n(&p, buf, sizeof(buf), 10, ESP_NH_IPV6);
	assert_int_equal(esp_out_seal(&p.out, p.enc, ESP_NH_IPV6, buf, sizeof(buf), 10, &outlen), -EKEYEXPIRED);
	assert_int_equal(p.out.seq, UINT64_MAX - 1);
	pair_fini(&p);

	/* the soft limit: the flag goes up exactly at it */
	pair_init(&p, ESP_CIPHER_AES256_GCM16, true, 0x42);
	p.out.soft_limit = 5;
	p.out.hard_limit = 7;
	for (int i = 1; i <= 7; i++) {
		seal_n(&p, buf, sizeof(buf), 10, ESP_NH_IPV6);
		assert_int_equal(p.out.rekey_soon, i >= 5);
	}
	assert_int_equal(esp_out_seal(&p.out, p.enc, ESP_NH_IPV6, buf, sizeof(buf), 10, &outlen), -EKEYEXPIRED);
	/* too small a buffer is refused before a number is used */
	p.out.hard_limit = 100;
	assert_int_equal(esp_out_seal(&p.out, p.enc, ESP_NH_IPV6, buf, esp_sealed_len(10) - 1, 10, &outlen), -ENOSPC);
	assert_int_equal(p.out.seq, 7);
	pair_fini(&p);
}

static void udp_classify(void **state)
{
	static const uint8_t ka[] = { 0xff }, notka[] = { 0xfe }, three[] = { 0, 0, 0 },
		marker[] = { 0, 0, 0, 0 }, ike[] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 },
		esp[] = { 0, 0, 0, 1, 0, 0, 0, 1 };
	size_t off;

	assert_int_equal(esp_udp_classify(ka, 1, &off), ESP_UDP_KEEPALIVE);
	assert_int_equal(esp_udp_classify(notka, 1, &off), ESP_UDP_INVALID);
	assert_int_equal(esp_udp_classify(ka, 0, &off), ESP_UDP_INVALID);
	assert_int_equal(esp_udp_classify(three, 3, &off), ESP_UDP_INVALID);
	assert_int_equal(esp_udp_classify(marker, 4, &off), ESP_UDP_IKE);
	assert_int_equal(off, 4);
	assert_int_equal(esp_udp_classify(ike, sizeof(ike), &off), ESP_UDP_IKE);
	assert_int_equal(off, 4);
	assert_int_equal(esp_udp_classify(esp, sizeof(esp), &off), ESP_UDP_ESP);
	assert_int_equal(off, 0);
	/* a 0xff first byte of a longer datagram is an SPI, not a keepalive */
	assert_int_equal(esp_udp_classify((const uint8_t[]){ 0xff, 0, 0, 0, 0 }, 5, &off), ESP_UDP_ESP);
}

/* AES-128 test case 3 of McGrew and Viega (salt = the IV's first 4 bytes, as above). */
static void gcm128_spec_vector(void **state)
{
	uint8_t keymat[20], buf[64], ct[64], tag[16], t[16];
	struct esp_aead *enc, *dec;

	assert_int_equal(esp_keymat_len(ESP_CIPHER_AES128_GCM16), 20);
	unhex(keymat, 20, "feffe9928665731c6d6a8f9467308308cafebabe");
	unhex(buf, 64, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
	unhex(ct, 64, "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
	unhex(tag, 16, "4d5c2af327cd64a62cf35abd2ba6fab4");
	assert_int_equal(esp_aead_new(&enc, ESP_CIPHER_AES128_GCM16, keymat, true), 0);
	assert_int_equal(esp_aead_new(&dec, ESP_CIPHER_AES128_GCM16, keymat, false), 0);
	assert_int_equal(esp_aead_seal(enc, (const uint8_t *)"\xfa\xce\xdb\xad\xde\xca\xf8\x88", NULL, 0, buf, 64, t), 0);
	assert_memory_equal(buf, ct, 64);
	assert_memory_equal(t, tag, 16);
	assert_int_equal(esp_aead_open(dec, (const uint8_t *)"\xfa\xce\xdb\xad\xde\xca\xf8\x88", NULL, 0, buf, 64, tag), 0);
	/* CBC calls on an AEAD context are refused */
	assert_int_equal(esp_aead_mac(enc, buf, 16, NULL, 0, t), -EINVAL);
	esp_aead_free(enc);
	esp_aead_free(dec);
}

/* A random source that hands out a fixed IV, counts calls, or fails when *arg < 0. */
static const uint8_t *fixed_iv;
static int fixed_random(void *arg, void *buf, size_t len)
{
	int *calls = arg;

	if (*calls < 0)
		return -EIO;
	++*calls;
	assert_int_equal(len, 16);
	memcpy(buf, fixed_iv, 16);
	return 0;
}

/* RFC 3602 §4 cases 1 and 2 (AES-128-CBC) through the CBC context. */
static void rfc3602_vectors(void **state)
{
	static const struct {
		const char *key, *iv, *pt, *ct;
	} cases[] = {
		{ "06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
		  "53696e676c6520626c6f636b206d7367",	/* "Single block msg" */
		  "e353779c1079aeb82708942dbe77181a" },
		{ "c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
		  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1" },
	};

	for (size_t i = 0; i < 2; i++) {
		uint8_t km[48] = { 0 }, iv[16], got_iv[16], pt[32], ct[32], buf[32];
		struct esp_aead *enc, *dec;
		size_t n;
		int calls = 0;

		unhex(km, 16, cases[i].key);
		unhex(iv, 16, cases[i].iv);
		n = unhex(pt, sizeof(pt), cases[i].pt);
		assert_int_equal(unhex(ct, sizeof(ct), cases[i].ct), n);
		fixed_iv = iv;
		assert_int_equal(esp_aead_new_rng(&enc, ESP_CIPHER_AES128_CBC_SHA256, km, true, fixed_random, &calls), 0);
		assert_int_equal(esp_aead_new(&dec, ESP_CIPHER_AES128_CBC_SHA256, km, false), 0);
		memcpy(buf, pt, n);
		assert_int_equal(esp_aead_cbc_encrypt(enc, got_iv, buf, n), 0);
		assert_int_equal(calls, 1);
		assert_memory_equal(got_iv, iv, 16);
		assert_memory_equal(buf, ct, n);
		assert_int_equal(esp_aead_cbc_decrypt(dec, iv, buf, n), 0);
		assert_memory_equal(buf, pt, n);
		/* not whole blocks; the wrong direction; AEAD calls on a CBC context */
		assert_int_equal(esp_aead_cbc_encrypt(enc, got_iv, buf, n - 1), -EINVAL);
		assert_int_equal(esp_aead_cbc_decrypt(enc, iv, buf, n), -EINVAL);
		assert_int_equal(esp_aead_cbc_encrypt(dec, got_iv, buf, n), -EINVAL);
		assert_int_equal(esp_aead_seal(enc, iv, NULL, 0, buf, n, got_iv), -EINVAL);
		/* a failing source: no IV, no ciphertext */
		calls = -1;
		assert_int_equal(esp_aead_cbc_encrypt(enc, got_iv, buf, n), -EIO);
		esp_aead_free(enc);
		esp_aead_free(dec);
	}
}

/* RFC 4868 §2.7.2.1: HMAC-SHA-256-128 with 32-byte keys (AUTH256-1, AUTH256-2). */
static void rfc4868_vectors(void **state)
{
	uint8_t km[48], icv[16], want[16];
	struct esp_aead *a;

	memset(km, 0, 16);
	memset(km + 16, 0x0b, 32);
	assert_int_equal(esp_aead_new(&a, ESP_CIPHER_AES128_CBC_SHA256, km, false), 0);
	unhex(want, 16, "198a607eb44bfbc69903a0f1cf2bbdc5");
	assert_int_equal(esp_aead_mac(a, (const uint8_t *)"Hi There", 8, NULL, 0, icv), 0);
	assert_memory_equal(icv, want, 16);
	/* the same over two pieces, and again (the key is kept between packets) */
	assert_int_equal(esp_aead_mac(a, (const uint8_t *)"Hi ", 3, (const uint8_t *)"There", 5, icv), 0);
	assert_memory_equal(icv, want, 16);
	esp_aead_free(a);
	memcpy(km + 16, "JefeJefeJefeJefeJefeJefeJefeJefe", 32);
	assert_int_equal(esp_aead_new(&a, ESP_CIPHER_AES128_CBC_SHA256, km, false), 0);
	assert_int_equal(esp_aead_mac(a, (const uint8_t *)"what do ya want for nothing?", 28, NULL, 0, icv), 0);
	unhex(want, 16, "167f928588c5cc2eef8e3093caa0e87c");
	assert_memory_equal(icv, want, 16);
	esp_aead_free(a);
}

/* A whole AES-128-CBC + HMAC-SHA2-256-128 ESP packet, byte for byte (header comment). */
static const char cbc_packet[] =
	"c0ffee0100000001a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	"2eeca0627d4022a410f30d31b03a86167bcad2fbadab9f800bbef90b8666787f"
	"f11f70351a72172f379e419d264bbf47";

static void cbc_esp_packet(void **state)
{
	uint8_t km[48], iv[16], buf[256], want[80], inner[20];
	struct esp_aead *enc, *dec;
	struct esp_out out;
	struct esp_in in;
	struct esp_opened res;
	size_t n;
	int calls = 0;

	for (int i = 0; i < 16; i++) {
		km[i] = (uint8_t)(0x10 + i);
		iv[i] = (uint8_t)(0xa0 + i);
	}
	for (int i = 0; i < 32; i++)
		km[16 + i] = (uint8_t)(0x40 + i);
	inner[0] = 0x45, inner[1] = 0, inner[2] = 0, inner[3] = 20;
	for (int i = 4; i < 20; i++)
		inner[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(unhex(want, sizeof(want), cbc_packet), 72);
	fixed_iv = iv;
	assert_int_equal(esp_aead_new_rng(&enc, ESP_CIPHER_AES128_CBC_SHA256, km, true, fixed_random, &calls), 0);
	assert_int_equal(esp_aead_new(&dec, ESP_CIPHER_AES128_CBC_SHA256, km, false), 0);
	esp_out_init(&out, 0xc0ffee01, false);
	esp_in_init(&in, 0xc0ffee01, false);
	memcpy(buf + ESP_CBC_HDR_LEN, inner, 20);
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, sizeof(buf), 20, &n), 0);
	assert_int_equal(n, 72);
	assert_memory_equal(buf, want, 72);
	assert_int_equal(esp_in_open(&in, dec, buf, n, &res), 0);
	assert_int_equal(res.off, ESP_CBC_HDR_LEN);
	assert_int_equal(res.len, 20);
	assert_int_equal(res.nh, ESP_NH_IPV4);
	assert_int_equal(res.seq, 1);
	assert_memory_equal(buf + res.off, inner, 20);
	/* a replay of it */
	memcpy(buf, want, 72);
	assert_int_equal(esp_in_open(&in, dec, buf, 72, &res), -EALREADY);
	/* too small for the room given; a failing random source sends nothing */
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, 71, 20, &n), -ENOSPC);
	calls = -1;
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, sizeof(buf), 20, &n), -EIO);
	assert_int_equal(n, 0);
	calls = 0;

	/* ESN: the high half is covered by the ICV, never sent (RFC 4303 §2.2.1) */
	esp_out_init(&out, 0xc0ffee01, true);
	esp_in_init(&in, 0xc0ffee01, true);
	out.seq = (UINT64_C(7) << 32) | 8;
	in.replay.top = (UINT64_C(7) << 32) | 2;
	memcpy(buf + ESP_CBC_HDR_LEN, inner, 20);
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, sizeof(buf), 20, &n), 0);
	{
		uint8_t icv[16];

		unhex(icv, 16, "890b30df4ce9141efed30cadca164f28");
		assert_memory_equal(buf + 4, "\0\0\0\x09", 4);
		assert_memory_equal(buf + 24, want + 24, 32);	/* same IV, same plaintext: same ciphertext */
		assert_memory_equal(buf + 56, icv, 16);
	}
	assert_int_equal(esp_in_open(&in, dec, buf, n, &res), 0);
	assert_int_equal(res.seq, (UINT64_C(7) << 32) | 9);
	/* without ESN the receiver would compute another ICV */
	esp_in_init(&in, 0xc0ffee01, false);
	assert_int_equal(esp_out_seal(&out, enc, ESP_NH_IPV4, buf, sizeof(buf), 20, &n), 0);
	assert_int_equal(esp_in_open(&in, dec, buf, n, &res), -EKEYREJECTED);
	esp_aead_free(enc);
	esp_aead_free(dec);
}

/* Encrypt-then-MAC a chosen body with the raw CBC context: a packet with a valid ICV and any trailer. */
static size_t forge_cbc(struct pair *p, uint8_t *buf, const uint8_t *body, size_t blen, uint32_t seq)
{
	uint8_t iv[16];

	memcpy(buf + ESP_CBC_HDR_LEN, body, blen);
	assert_int_equal(esp_aead_cbc_encrypt(p->enc, iv, buf + ESP_CBC_HDR_LEN, blen), 0);
	memcpy(buf, "\xc0\xff\xee\x01", 4);
	buf[4] = (uint8_t)(seq >> 24), buf[5] = (uint8_t)(seq >> 16), buf[6] = (uint8_t)(seq >> 8), buf[7] = (uint8_t)seq;
	memcpy(buf + 8, iv, 16);
	assert_int_equal(esp_aead_mac(p->enc, buf, ESP_CBC_HDR_LEN + blen, NULL, 0, buf + ESP_CBC_HDR_LEN + blen), 0);
	return ESP_CBC_HDR_LEN + blen + ESP_ICV_LEN;
}

/* Every receive check with AES-CBC: ICV, whole blocks, padding, next header, replay. */
static void cbc_receive_checks(void **state)
{
	struct pair p;
	uint8_t buf[256], copy[256], body[32];
	struct esp_opened res;
	size_t n;

	/* the same key both ways (pair_init gives the receiver 0x42) */
	pair_init(&p, ESP_CIPHER_AES128_CBC_SHA256, false, 0x42);
	n = seal_n(&p, buf, sizeof(buf), 50, ESP_NH_IPV6);
	/* every bit flipped anywhere: the ICV catches it before anything is decrypted */
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++) {
			int err;

			memcpy(copy, buf, n);
			copy[i] ^= (uint8_t)(1u << b);
			err = esp_in_open(&p.in, p.dec, copy, n, &res);
			assert_true(i < 4 ? err == -ENOENT : err == -EKEYREJECTED || (i < 8 && err == -ESTALE));
		}
	}
	/* not whole blocks, or too short for one block: malformed */
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n - 1, &res), -EBADMSG);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, ESP_CBC_HDR_LEN + ESP_ICV_LEN, &res), -EBADMSG);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
	assert_int_equal(res.len, 50);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EALREADY);

	/* authentic but bad padding: not 1, 2, 3, ... */
	memset(body, 0x60, sizeof(body));
	body[28] = 1, body[29] = 3, body[30] = 2, body[31] = ESP_NH_IPV6;	/* padding 1, 3 */
	n = forge_cbc(&p, buf, body, 32, 100);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EBADMSG);
	/* authentic but a pad length longer than the payload */
	body[30] = 31;
	n = forge_cbc(&p, buf, body, 32, 101);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EBADMSG);
	/* right padding, unknown next header: authenticated, so it counts against replay */
	body[28] = 1, body[29] = 2, body[30] = 2, body[31] = 17;
	n = forge_cbc(&p, buf, body, 32, 102);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EPROTONOSUPPORT);
	n = forge_cbc(&p, buf, body, 32, 102);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EALREADY);
	/* a dummy packet (RFC 4303 §2.6) */
	body[31] = ESP_NH_NONE;
	n = forge_cbc(&p, buf, body, 32, 103);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -ENODATA);
	/* and a good one: 28 bytes of payload, padding 1, 2 */
	body[31] = ESP_NH_IPV4;
	n = forge_cbc(&p, buf, body, 32, 104);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), 0);
	assert_int_equal(res.len, 28);
	/* the wrong key: refused */
	pair_fini(&p);
	pair_init(&p, ESP_CIPHER_AES256_CBC_SHA256, false, 0x41);
	n = seal_n(&p, buf, sizeof(buf), 50, ESP_NH_IPV6);
	assert_int_equal(esp_in_open(&p.in, p.dec, buf, n, &res), -EKEYREJECTED);
	pair_fini(&p);
}

static void cipher_names(void **state)
{
	enum esp_cipher c;
	struct esp_aead *a;
	uint8_t km[ESP_KEYMAT_MAX] = { 0 };

	assert_int_equal(esp_cipher_parse("aes256gcm16", &c), 0);
	assert_int_equal(c, ESP_CIPHER_AES256_GCM16);
	assert_string_equal(esp_cipher_name(c), "aes256gcm16");
	assert_int_equal(esp_cipher_parse("chacha20poly1305", &c), 0);
	assert_int_equal(c, ESP_CIPHER_CHACHA20_POLY1305);
	/* static keys are 36 bytes: the 128-bit and CBC transforms are named but not parsed */
	assert_int_equal(esp_cipher_parse("aes128gcm16", &c), -EINVAL);
	assert_int_equal(esp_cipher_parse("aes128-sha256", &c), -EINVAL);
	assert_string_equal(esp_cipher_name(ESP_CIPHER_AES128_GCM16), "aes128gcm16");
	assert_string_equal(esp_cipher_name(ESP_CIPHER_AES128_CBC_SHA256), "aes128-sha256");
	assert_string_equal(esp_cipher_name(ESP_CIPHER_AES256_CBC_SHA256), "aes256-sha256");
	assert_int_equal(esp_keymat_len(ESP_CIPHER_AES128_CBC_SHA256), 48);
	assert_int_equal(esp_keymat_len(ESP_CIPHER_AES256_CBC_SHA256), ESP_KEYMAT_MAX);
	/* a CBC sealing context needs a random source for its IVs; unknown transforms are refused */
	assert_int_equal(esp_aead_new(&a, ESP_CIPHER_AES256_CBC_SHA256, km, true), -EINVAL);
	assert_null(a);
	assert_int_equal(esp_aead_new(&a, (enum esp_cipher)13, km, false), -EINVAL);
	assert_null(a);
	assert_int_equal(esp_keymat_len((enum esp_cipher)13), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gcm_spec_vectors),
		cmocka_unit_test(rfc7634_esp_example),
		cmocka_unit_test(roundtrip_every_length),
		cmocka_unit_test(esn_aad_layout),
		cmocka_unit_test(receive_checks),
		cmocka_unit_test(sequence_exhaustion),
		cmocka_unit_test(udp_classify),
		cmocka_unit_test(cipher_names),
		cmocka_unit_test(gcm128_spec_vector),
		cmocka_unit_test(rfc3602_vectors),
		cmocka_unit_test(rfc4868_vectors),
		cmocka_unit_test(cbc_esp_packet),
		cmocka_unit_test(cbc_receive_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
