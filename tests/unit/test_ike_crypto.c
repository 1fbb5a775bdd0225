/*
 * lib/ike cryptography, known answers.
 *
 * DH: RFC 7748 §6.1 (X25519) and RFC 5903 §8.1 (ECP-256) vectors. The
 * prf+, SKEYSEED, keying material, AUTH, NAT-D, MODP and SK payload vectors
 * were computed independently with Python's hmac/hashlib/pow and the
 * "cryptography" package (AESGCM), not with this code:
 *
 *   import hmac, hashlib
 *   def prf(k, d, h=hashlib.sha256): return hmac.new(k, d, h).digest()
 *   def prfplus(k, s, n, h=hashlib.sha256):
 *       out = t = b''; i = 1
 *       while len(out) < n: t = prf(k, t + s + bytes([i]), h); out += t; i += 1
 *       return out[:n]
 *   K = bytes(range(1, 33)); S = b"IKEv2 prf+ seed"
 *   prfplus(K, S, 100); prfplus(K, S, 130, hashlib.sha512)
 *   Ni = bytes([0xa0 + i % 16 for i in range(32)]); Nr = bytes([0x50 + i % 7 for i in range(32)])
 *   gir = bytes([(7 * i + 3) & 0xff for i in range(32)])
 *   spii = bytes.fromhex("0102030405060708"); spir = bytes.fromhex("1112131415161718")
 *   skeyseed = prf(Ni + Nr, gir)
 *   km = prfplus(skeyseed, Ni + Nr + spii + spir, 32 * 3 + 36 * 2)   # SK_d|SK_ei|SK_er|SK_pi|SK_pr
 *   gir2 = bytes([(5 * i + 1) & 0xff for i in range(32)])
 *   spii2 = bytes.fromhex("2122232425262728"); spir2 = bytes.fromhex("3132333435363738")
 *   km2 = prfplus(prf(km[:32], gir2 + Ni + Nr), Ni + Nr + spii2 + spir2, 168)   # IKE SA rekey
 *   prfplus(km[:32], Ni + Nr, 72); prfplus(km[:32], gir2 + Ni + Nr, 72)   # child SA, PFS
 *   prf(prf(psk, b"Key Pad for IKEv2"), msg + Nr + prf(SK_pi, idbody))
 *   hashlib.sha1(spii + spir + bytes([192, 0, 2, 1]) + (4500).to_bytes(2, 'big'))
 *   AESGCM(b'\x11' * 32).encrypt(bytes.fromhex("22334455") + (1).to_bytes(8, 'big'), b'\0', aad)
 *
 * RFC 8247 additions, same tools: AESGCM(b'\x11' * 16) for the 128-bit SK
 * payload; AES-128-CBC (cryptography's Cipher(AES, CBC)) of 15 zero bytes
 * and the pad length 15 under key 0x43 * 16 with IV 0x5a * 16, then
 * hmac.new(b'\x44' * 32, header | SK header | IV | ciphertext,
 * hashlib.sha256).digest()[:16]. MODP-3072 with RFC 3526 §4's prime built
 * from its formula, p = 2^3072 - 2^3008 - 1 + 2^64 * ([2^2942 pi] + 1690314)
 * (pi by Machin's formula in integers), and pow(); ECP-384 by affine
 * double-and-add over the SEC 2 secp384r1 parameters with private keys
 * int(sha384(b"autotunnel ecp384 initiator").digest()) >> 2 (and
 * "... responder").
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ike/crypto.h"
#include "ike/msg.h"
#include "util/random.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex(const uint8_t *got, const char *want)
{
	uint8_t w[512];
	size_t n = unhex(want, w);

	assert_memory_equal(got, w, n);
}

static uint8_t Ni[32], Nr[32], gir[32], gir2[32];

static void fill(void)
{
	for (int i = 0; i < 32; i++) {
		Ni[i] = (uint8_t)(0xa0 + i % 16);
		Nr[i] = (uint8_t)(0x50 + i % 7);
		gir[i] = (uint8_t)((7 * i + 3) & 0xff);
		gir2[i] = (uint8_t)((5 * i + 1) & 0xff);
	}
}

static void test_prfplus(void **st)
{
	uint8_t k[32], out[130];
	struct ike_iov s = { "IKEv2 prf+ seed", 15 };

	(void)st;
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(i + 1);
	assert_int_equal(ike_prfplus(IKE_PRF_ID_HMAC_SHA2_256, k, 32, &s, 1, out, 100), 0);
	assert_hex(out, "a6c462e86abae1a43a4c19d646fdc335b6220c5ce2159f596e0576d2dcb5ec59"
			"320bbb1389f1edc0c3bde5d05cbcb454338f460f72d617b7013b9bc52a768295"
			"41a1fe65b8e4a0f369d2a8ef0b10c68ae1716836b4edca41433fb58c24ed8666f00bb013");
	assert_int_equal(ike_prfplus(IKE_PRF_ID_HMAC_SHA2_512, k, 32, &s, 1, out, 130), 0);
	assert_hex(out, "3e9ffce560d0e9e64efab1c645bca211eef3f033868959a6b4a356291d584f8d"
			"769ff91d251784367d0580a88c53d33742866a5bd1cba7e595c9dc03eced01c6"
			"e4111f8db384538f35cbc8e80587bbd509a264a24117b4b1bb2508c63504ced1"
			"3a2b6bb7d59bad5047285157e5d9c094c46ddc87540192b64310de46a661017832b7");
	/* the limit of prf+: 255 blocks */
	assert_int_equal(ike_prfplus(IKE_PRF_ID_HMAC_SHA2_256, k, 32, &s, 1, out, 0), 0);
	assert_int_equal(ike_prfplus(0, k, 32, &s, 1, out, 10), -EINVAL);
}

static void test_ike_keys(void **st)
{
	struct ike_keys k, k2;

	(void)st;
	fill();
	assert_int_equal(ike_keys_derive(&k, IKE_PRF_ID_HMAC_SHA2_256, IKE_ENCR_ID_AES_GCM_16, 256, 0, 0, NULL, 0,
					 gir, 32, Ni, 32, Nr, 32, 0x0102030405060708ull, 0x1112131415161718ull), 0);
	assert_int_equal(k.prf_len, 32);
	assert_hex(k.d, "2b8a4d088103bd5dadac6ee094cc118295d1dbbf8d706e1ecdcb4510252d7fc8");
	/* AES-GCM: no SK_a; SK_e is a 32-byte key and a 4-byte salt */
	assert_int_equal(k.i.akey_len, 0);
	assert_int_equal(k.i.ekey_len, 36);
	assert_hex(k.i.ekey, "91e60b065d02ce47b7cb37ca52dc335f2114a0ba055b395db30f66dff3495c68d7b3f966");
	assert_hex(k.r.ekey, "cb5db1e7af1a264b192295e29ff97e069fa423d59a67967112e410704ae2928f1951578b");
	assert_hex(k.pi, "1c9e6039a5f24dd5548a2e8d9a9f48da64a5e808734d433872b05eea89b9223f");
	assert_hex(k.pr, "2ce83526b0090728ff1af7c90a703051677f86141b7ce4f4f2ec371e7abdc592");

	/* rekey (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) */
	assert_int_equal(ike_keys_derive(&k2, IKE_PRF_ID_HMAC_SHA2_256, IKE_ENCR_ID_AES_GCM_16, 256, 0,
					 IKE_PRF_ID_HMAC_SHA2_256, k.d, 32, gir2, 32, Ni, 32, Nr, 32,
					 0x2122232425262728ull, 0x3132333435363738ull), 0);
	assert_hex(k2.d, "13e0899d776f0ca87e0468fb99ac2e4b3a6521c53657d909e6dbe4c8cf3b4398");
	assert_hex(k2.pr, "9f8f33e938110f34cdda9745727544af2b452310dd84ec94eed9dc2c686e7524");
	ike_keys_wipe(&k2);

	/* unknown algorithms are refused, not guessed */
	assert_int_equal(ike_keys_derive(&k2, 99, IKE_ENCR_ID_AES_GCM_16, 256, 0, 0, NULL, 0, gir, 32, Ni, 32, Nr, 32, 1, 2),
			 -EINVAL);
	assert_int_equal(ike_keys_derive(&k2, IKE_PRF_ID_HMAC_SHA2_256, IKE_ENCR_ID_AES_CBC, 256, 0, 0, NULL, 0, gir, 32,
					 Ni, 32, Nr, 32, 1, 2), -EINVAL);
	ike_keys_wipe(&k);
}

static void test_child_keymat(void **st)
{
	uint8_t skd[32], i2r[36], r2i[36];

	(void)st;
	fill();
	unhex("2b8a4d088103bd5dadac6ee094cc118295d1dbbf8d706e1ecdcb4510252d7fc8", skd);
	/* §2.17: KEYMAT = prf+(SK_d, Ni | Nr): the initiator's outbound key first */
	assert_int_equal(ike_child_keymat(IKE_PRF_ID_HMAC_SHA2_256, skd, 32, NULL, 0, Ni, 32, Nr, 32, i2r, r2i, 36), 0);
	assert_hex(i2r, "3a48ff354a5dcb7951dc05109ec9ef24b8b05571a4e81321a9f8aedfa8359ef61402e1b3");
	assert_hex(r2i, "2b3e9f400a336f2d776a8c8f4e7d4ab8c5ebd4a21afb68e767a358b091ff0694718b7b2a");
	/* with PFS: prf+(SK_d, g^ir (new) | Ni | Nr) */
	assert_int_equal(ike_child_keymat(IKE_PRF_ID_HMAC_SHA2_256, skd, 32, gir2, 32, Ni, 32, Nr, 32, i2r, r2i, 36), 0);
	assert_hex(i2r, "222b2e78559e463b43bdbd69cddb35ddd53a5c647a76635726368994f6b052d05509fcb8");
	assert_hex(r2i, "02c18b616dea3fd878d5a5d299287378c6d20a150bf9ca8e3fef9c8d8bcec7f33c7dfca1");
}

static void test_psk_auth(void **st)
{
	static const char psk[] = "correct horse battery staple";
	uint8_t msg[28 + 16], idb[4 + 18], pi[32], out[32];

	(void)st;
	fill();
	memset(msg, 0, 28);
	memcpy(msg + 28, "fake IKE_SA_INIT", 16);
	memcpy(idb, "\x02\x00\x00\x00" "laptop.example.net", sizeof(idb));
	unhex("1c9e6039a5f24dd5548a2e8d9a9f48da64a5e808734d433872b05eea89b9223f", pi);
	assert_int_equal(ike_psk_auth(IKE_PRF_ID_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), pi, 32,
				      msg, sizeof(msg), Nr, 32, idb, sizeof(idb), out), 0);
	assert_hex(out, "88646b9544691b68b1fa7a44f9d99a72fe805b71b19ec08c382ce5366895a720");
}

static void test_natd(void **st)
{
	struct ike_addr a = { .family = AF_INET, .port = 4500, .ip = { 192, 0, 2, 1 } };
	uint8_t h[20];

	(void)st;
	assert_int_equal(ike_natd_hash(0x0102030405060708ull, 0x1112131415161718ull, &a, h), 0);
	assert_hex(h, "5184f43875ff7d9e3dfdc92bd1dee1a08204de3e");
	/* the port is part of the hash: a NAT that only changes the port is seen */
	a.port = 4501;
	assert_int_equal(ike_natd_hash(0x0102030405060708ull, 0x1112131415161718ull, &a, h), 0);
	assert_memory_not_equal(h, "\x51\x84\xf4\x38", 4);
}

static void test_x25519(void **st)
{
	struct ike_dh a, b;
	uint8_t pa[32], pb[32], s[IKE_DH_MAX], zero[32] = { 0 };
	size_t sl;

	(void)st;
	/* RFC 7748 §6.1 */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", pa);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", pb);
	assert_int_equal(ike_dh_init_priv(&a, IKE_DH_CURVE25519, pa, 32), 0);
	assert_int_equal(ike_dh_init_priv(&b, IKE_DH_CURVE25519, pb, 32), 0);
	assert_int_equal(a.pub_len, 32);
	assert_hex(a.pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_hex(b.pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(ike_dh_compute(&a, b.pub, 32, s, &sl), 0);
	assert_int_equal(sl, 32);
	assert_hex(s, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	/* RFC 8031 §2.2: the all-zero point (small order) gives an all-zero secret: refused */
	assert_int_equal(ike_dh_compute(&a, zero, 32, s, &sl), -EBADMSG);
	assert_int_equal(ike_dh_compute(&a, b.pub, 31, s, &sl), -EBADMSG);
	ike_dh_fini(&a);
	ike_dh_fini(&b);
}

static void test_ecp256(void **st)
{
	struct ike_dh i;
	uint8_t key[96], gr[64], s[IKE_DH_MAX];
	size_t sl;

	(void)st;
	/* RFC 5903 §8.1 */
	unhex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"
	      "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
	      "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3", key);
	unhex("D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
	      "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB", gr);
	assert_int_equal(ike_dh_init_priv(&i, IKE_DH_ECP256, key, 96), 0);
	assert_int_equal(i.pub_len, 64);
	assert_memory_equal(i.pub, key + 32, 64);
	assert_int_equal(ike_dh_compute(&i, gr, 64, s, &sl), 0);
	assert_int_equal(sl, 32);	/* RFC 5903 §7: only the x coordinate */
	assert_hex(s, "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE");
	/* a point not on the curve is refused (invalid-curve attacks) */
	gr[63] ^= 1;
	assert_int_equal(ike_dh_compute(&i, gr, 64, s, &sl), -EBADMSG);
	ike_dh_fini(&i);
}

static void test_modp2048(void **st)
{
	struct ike_dh a, b;
	uint8_t xa[32], xb[32], s[IKE_DH_MAX], h[32], bad[256];
	struct ike_iov iov;
	size_t sl;

	(void)st;
	for (int k = 0; k < 32; k++) {
		xa[k] = (uint8_t)((11 * k + 5) & 0xff);
		xb[k] = (uint8_t)((13 * k + 7) & 0xff);
	}
	assert_int_equal(ike_dh_init_priv(&a, IKE_DH_MODP2048, xa, 32), 0);
	assert_int_equal(ike_dh_init_priv(&b, IKE_DH_MODP2048, xb, 32), 0);
	assert_int_equal(a.pub_len, 256);
	/* 2^xa mod p (RFC 3526 group 14), computed with Python's pow() */
	assert_hex(a.pub, "ed56a8f71610e8311e0cf76a06c423c7");
	assert_hex(a.pub + 240, "02ca03b883b4ee926d194ad2e4bc000e");
	assert_int_equal(ike_dh_compute(&a, b.pub, 256, s, &sl), 0);
	assert_int_equal(sl, 256);	/* padded to the length of p (RFC 7296 §2.14) */
	iov = (struct ike_iov){ s, 256 };
	assert_int_equal(ike_sha256(&iov, 1, h), 0);
	assert_hex(h, "a4fc96c331c06cc1d0744ab91c542c8e2dd77e4061a242f020616eab0dfc40f5");
	/* 1 and p-1 are not acceptable public values */
	memset(bad, 0, sizeof(bad));
	bad[255] = 1;
	assert_int_equal(ike_dh_compute(&a, bad, 256, s, &sl), -EBADMSG);
	ike_dh_fini(&a);
	ike_dh_fini(&b);
}

static void test_ecp384(void **st)
{
	struct ike_dh i;
	uint8_t key[144], gr[96], s[IKE_DH_MAX];
	size_t sl;

	(void)st;
	unhex("1fe81e2dc5cd02babe8861ce1c85501f8acee6af516d1b2ee6567c80472a7ad67bc9529eac88e4f2b23a9e84d3ea7627"
	      "68486ab9a3116df7dfa7b11f864160787ccd373b161666098235ecfad4c6e536dc3b3d4c9266af79a37b63314eacf5bc"
	      "00503690b7028420827e4ccf40a400ff5449f75bb0e78826a8b674378100ac0f6ee2b41a50203cae1f9322645a8c2f90", key);
	unhex("1f2f9dd4e196a8a939986fa63fd34dec8f21cc45458c2189a11766b2d200cf20f26b8e2251ad1486ca7043b448406ea5"
	      "5042ceab5a00c2f56d4a9738ee940236585430c9abd918e19dd99a4fe52adb6d433ef40a044fe03591f5957bc65df824", gr);
	assert_int_equal(ike_dh_pub_len(IKE_DH_ECP384), 96);
	assert_int_equal(ike_dh_init_priv(&i, IKE_DH_ECP384, key, 144), 0);
	assert_int_equal(i.pub_len, 96);
	/* a y coordinate with a leading zero byte stays 48 bytes long (RFC 5903 §7) */
	assert_memory_equal(i.pub, key + 48, 96);
	assert_int_equal(ike_dh_compute(&i, gr, 96, s, &sl), 0);
	assert_int_equal(sl, 48);
	assert_hex(s, "0256711f70936ee20aaec23efaaf8a7db24946a7fa88bfd7685577fcdd08f618aa45d7777bea1d7fa23b121b53c8fafa");
	/* off the curve, or a P-256-sized value: refused */
	gr[95] ^= 1;
	assert_int_equal(ike_dh_compute(&i, gr, 96, s, &sl), -EBADMSG);
	assert_int_equal(ike_dh_compute(&i, gr, 64, s, &sl), -EBADMSG);
	ike_dh_fini(&i);
}

static void test_modp3072(void **st)
{
	struct ike_dh a, b;
	uint8_t xa[32], xb[32], s[IKE_DH_MAX], h[32], bad[384];
	struct ike_iov iov;
	size_t sl;

	(void)st;
	for (int k = 0; k < 32; k++) {
		xa[k] = (uint8_t)((11 * k + 5) & 0xff);
		xb[k] = (uint8_t)((13 * k + 7) & 0xff);
	}
	assert_int_equal(ike_dh_init_priv(&a, IKE_DH_MODP3072, xa, 32), 0);
	assert_int_equal(ike_dh_init_priv(&b, IKE_DH_MODP3072, xb, 32), 0);
	assert_int_equal(a.pub_len, 384);
	assert_hex(a.pub, "58069472c8459a9a2fbb39ce35ffa09b");
	assert_hex(a.pub + 368, "80a7aa556e45f7568f8b8bb4a0186077");
	assert_int_equal(ike_dh_compute(&a, b.pub, 384, s, &sl), 0);
	assert_int_equal(sl, 384);
	iov = (struct ike_iov){ s, 384 };
	assert_int_equal(ike_sha256(&iov, 1, h), 0);
	assert_hex(h, "5f3ed524918ef17431e99b8552f401102506af987eab217204168340f21b61af");
	memset(bad, 0, sizeof(bad));
	bad[383] = 1;
	assert_int_equal(ike_dh_compute(&a, bad, 384, s, &sl), -EBADMSG);
	/* a group 14 sized value is not a group 15 value */
	assert_int_equal(ike_dh_compute(&a, b.pub, 256, s, &sl), -EBADMSG);
	ike_dh_fini(&a);
	ike_dh_fini(&b);
}

static void test_dh_random_pairs(void **st)
{
	static const uint16_t groups[] = { IKE_DH_CURVE25519, IKE_DH_ECP256, IKE_DH_MODP2048 };
	struct ike_dh a, b;
	uint8_t s1[IKE_DH_MAX], s2[IKE_DH_MAX];
	size_t l1, l2;

	(void)st;
	for (unsigned g = 0; g < 3; g++) {
		assert_int_equal(ike_dh_init(&a, groups[g]), 0);
		assert_int_equal(ike_dh_init(&b, groups[g]), 0);
		assert_int_equal(a.pub_len, ike_dh_pub_len(groups[g]));
		assert_memory_not_equal(a.pub, b.pub, a.pub_len);
		assert_int_equal(ike_dh_compute(&a, b.pub, b.pub_len, s1, &l1), 0);
		assert_int_equal(ike_dh_compute(&b, a.pub, a.pub_len, s2, &l2), 0);
		assert_int_equal(l1, l2);
		assert_memory_equal(s1, s2, l1);
		ike_dh_fini(&a);
		ike_dh_fini(&b);
	}
	assert_int_equal(ike_dh_init(&a, 5), -EINVAL);
}

/* The SK payload with AES-GCM (RFC 5282), byte for byte. */
static int sys_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

static const struct ike_rng sys_rng = { .fn = sys_random };

/* A source of 0x5a bytes that counts its calls, or fails with -EIO when told to. */
static int fixed_random(void *arg, void *buf, size_t len)
{
	int *calls = arg;

	if (*calls < 0)
		return -EIO;
	++*calls;
	memset(buf, 0x5a, len);
	return 0;
}

static void test_sk_gcm_known(void **st)
{
	struct ike_sk k = { .encr = IKE_ENCR_ID_AES_GCM_16, .ekey_len = 36 };
	struct ike_hdr h = { .spi_i = 0x0102030405060708ull, .spi_r = 0x1112131415161718ull,
			     .exch = IKE_INFORMATIONAL, .flags = IKE_FLAG_I, .mid = 7 };
	uint8_t buf[256], plain[64];
	struct ike_bld b;
	size_t pl = 99;
	int len;

	(void)st;
	memset(k.ekey, 0x11, 32);
	unhex("22334455", k.ekey + 32);
	ike_bld_init(&b, buf, sizeof(buf), &h);
	len = ike_sk_seal(&k, &b, IKE_PL_NONE, NULL, 0, &sys_rng);
	assert_int_equal(len, 57);
	assert_hex(buf, "010203040506070811121314151617182e20250800000007000000390000001d"
			"000000000000000174e575ce9fc0a3e3329d19d6d1ca7380ef");
	assert_int_equal(ike_sk_open(&k, buf, 57, 28, plain, sizeof(plain), &pl), 0);
	assert_int_equal(pl, 0);
	/* the next message gets the next IV */
	ike_bld_init(&b, buf, sizeof(buf), &h);
	assert_int_equal(ike_sk_seal(&k, &b, IKE_PL_NONE, NULL, 0, &sys_rng), 57);
	assert_hex(buf + 32, "0000000000000002");
}

/* AES-128-GCM (RFC 5282 with a 128-bit key) and AES-128-CBC with HMAC-SHA2-256-128, known answers */
static void test_sk_aes128_known(void **st)
{
	struct ike_sk g = { .encr = IKE_ENCR_ID_AES_GCM_16, .ekey_len = 20 };
	struct ike_sk c = { .encr = IKE_ENCR_ID_AES_CBC, .integ = IKE_INTEG_ID_HMAC_SHA2_256_128,
			    .ekey_len = 16, .akey_len = 32 };
	struct ike_hdr h = { .spi_i = 0x0102030405060708ull, .spi_r = 0x1112131415161718ull,
			     .exch = IKE_INFORMATIONAL, .flags = IKE_FLAG_I, .mid = 7 };
	int calls = 0;
	struct ike_rng rng = { .fn = fixed_random, .arg = &calls };
	uint8_t buf[256], plain[64];
	struct ike_bld b;
	size_t pl = 99;

	(void)st;
	memset(g.ekey, 0x11, 16);
	unhex("22334455", g.ekey + 16);
	ike_bld_init(&b, buf, sizeof(buf), &h);
	assert_int_equal(ike_sk_seal(&g, &b, IKE_PL_NONE, NULL, 0, &sys_rng), 57);
	assert_hex(buf, "010203040506070811121314151617182e20250800000007000000390000001d"
			"000000000000000156b5afaff901aefba6c2feec94a6cab1a2");
	assert_int_equal(ike_sk_open(&g, buf, 57, 28, plain, sizeof(plain), &pl), 0);
	assert_int_equal(pl, 0);

	memset(c.ekey, 0x43, 16);
	memset(c.akey, 0x44, 32);
	ike_bld_init(&b, buf, sizeof(buf), &h);
	assert_int_equal(ike_sk_seal(&c, &b, IKE_PL_NONE, NULL, 0, &rng), 80);
	assert_hex(buf, "010203040506070811121314151617182e202508000000070000005000000034"
			"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a1d7ae99d1af9d814b9d085361dbfea91"
			"80402d5e39757a836ac940b6ab7a1964");
	pl = 99;
	assert_int_equal(ike_sk_open(&c, buf, 80, 28, plain, sizeof(plain), &pl), 0);
	assert_int_equal(pl, 0);
	/* the 16-byte truncated ICV of RFC 4868 §2.6, one bit off: refused */
	buf[79] ^= 0x80;
	assert_int_equal(ike_sk_open(&c, buf, 80, 28, plain, sizeof(plain), &pl), -EBADMSG);
}

static void sk_roundtrip(struct ike_sk *k)
{
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exch = IKE_INFORMATIONAL, .mid = 1 };
	uint8_t buf[512], plain[512], in[200], out[512];
	struct ike_bld b, ib;
	struct ike_msg m;
	size_t pl;
	int len, il;

	for (size_t n = 0; n < 40; n++) {
		memset(in, 0, sizeof(in));
		ike_bld_init_inner(&ib, in, sizeof(in));
		ike_bld_notify(&ib, 0, NULL, 0, IKE_N_COOKIE2, (const uint8_t *)"0123456789abcdefghijklmnopqrstuvwxyzABCD", n);
		il = ike_bld_finish(&ib);
		assert_true(il > 0);
		ike_bld_init(&b, buf, sizeof(buf), &h);
		len = ike_sk_seal(k, &b, ib.first_np, in, (size_t)il, &sys_rng);
		assert_true(len > 0);
		assert_int_equal(ike_msg_parse(buf, (size_t)len, &m), 0);
		assert_true(m.present & IKE_HAS(IKE_PL_SK));
		assert_int_equal(ike_sk_open(k, buf, (size_t)len, m.sk_off, plain, sizeof(plain), &pl), 0);
		assert_int_equal(pl, (size_t)il);
		assert_memory_equal(plain, in, pl);
		assert_int_equal(ike_msg_parse_inner(&m, m.sk_np, plain, pl), 0);
		assert_int_equal(m.nn, 1);
		assert_int_equal(m.n[0].data.len, n);
		/* every single bit flipped anywhere is caught */
		for (int i = 0; i < len; i++) {
			buf[i] ^= 0x01;
			assert_int_not_equal(ike_sk_open(k, buf, (size_t)len, m.sk_off, out, sizeof(out), &pl), 0);
			buf[i] ^= 0x01;
		}
		/* and so is a truncated message */
		assert_int_not_equal(ike_sk_open(k, buf, (size_t)len - 1, m.sk_off, out, sizeof(out), &pl), 0);
	}
}

static void test_sk_roundtrip(void **st)
{
	struct ike_sk g = { .encr = IKE_ENCR_ID_AES_GCM_16, .ekey_len = 36 };
	struct ike_sk c = { .encr = IKE_ENCR_ID_AES_CBC, .integ = IKE_INTEG_ID_HMAC_SHA2_256_128,
			    .ekey_len = 32, .akey_len = 32 };

	(void)st;
	memset(g.ekey, 0x42, 36);
	memset(c.ekey, 0x43, 32);
	memset(c.akey, 0x44, 32);
	sk_roundtrip(&g);
	sk_roundtrip(&c);
	/* the 128-bit keys and the longer MACs of RFC 4868 */
	g.ekey_len = 20;
	c.ekey_len = 16;
	sk_roundtrip(&g);
	sk_roundtrip(&c);
	c.integ = IKE_INTEG_ID_HMAC_SHA2_384_192;
	c.akey_len = 48;
	memset(c.akey, 0x45, 48);
	sk_roundtrip(&c);
	c.integ = IKE_INTEG_ID_HMAC_SHA2_512_256;
	c.akey_len = 64;
	memset(c.akey, 0x46, 64);
	sk_roundtrip(&c);
}

/* AES-CBC takes its IV from the random source (RFC 7296 §3.14); GCM counts and draws nothing. */
static void test_sk_iv_source(void **st)
{
	struct ike_sk g = { .encr = IKE_ENCR_ID_AES_GCM_16, .ekey_len = 36 };
	struct ike_sk c = { .encr = IKE_ENCR_ID_AES_CBC, .integ = IKE_INTEG_ID_HMAC_SHA2_256_128,
			    .ekey_len = 32, .akey_len = 32 };
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exch = IKE_INFORMATIONAL, .mid = 1 };
	int calls = 0;
	struct ike_rng rng = { .fn = fixed_random, .arg = &calls };
	uint8_t buf[256], iv[16], plain[64];
	struct ike_bld b;
	size_t pl = 99;
	int len;

	(void)st;
	memset(c.ekey, 0x43, 32);
	memset(c.akey, 0x44, 32);
	memset(iv, 0x5a, sizeof(iv));
	ike_bld_init(&b, buf, sizeof(buf), &h);
	len = ike_sk_seal(&c, &b, IKE_PL_NONE, NULL, 0, &rng);
	assert_true(len > 0);
	assert_int_equal(calls, 1);
	/* the IV follows the header (28 bytes) and the SK payload header (4) */
	assert_memory_equal(buf + 32, iv, 16);
	assert_int_equal(ike_sk_open(&c, buf, (size_t)len, 28, plain, sizeof(plain), &pl), 0);
	assert_int_equal(pl, 0);
	ike_bld_init(&b, buf, sizeof(buf), &h);
	assert_true(ike_sk_seal(&g, &b, IKE_PL_NONE, NULL, 0, &rng) > 0);
	assert_int_equal(calls, 1);
	/* a failing source fails the seal: no message with a predictable IV */
	calls = -1;
	ike_bld_init(&b, buf, sizeof(buf), &h);
	assert_int_equal(ike_sk_seal(&c, &b, IKE_PL_NONE, NULL, 0, &rng), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prfplus),
		cmocka_unit_test(test_ike_keys),
		cmocka_unit_test(test_child_keymat),
		cmocka_unit_test(test_psk_auth),
		cmocka_unit_test(test_natd),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_ecp256),
		cmocka_unit_test(test_modp2048),
		cmocka_unit_test(test_ecp384),
		cmocka_unit_test(test_modp3072),
		cmocka_unit_test(test_sk_aes128_known),
		cmocka_unit_test(test_dh_random_pairs),
		cmocka_unit_test(test_sk_gcm_known),
		cmocka_unit_test(test_sk_roundtrip),
		cmocka_unit_test(test_sk_iv_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
