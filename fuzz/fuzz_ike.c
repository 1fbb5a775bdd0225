/*
 * Fuzz the IKEv2 codec and the SK (encrypted) payload path. The first byte
 * picks what the rest is:
 *   0: a whole message: parse it; if it has an SK payload, open it with the
 *      fixed test keys below (AES-GCM, then AES-CBC+HMAC) and parse what it
 *      holds, as the state machine would;
 *   1: a decrypted payload chain (second byte: type of its first payload);
 *   2: a payload chain sealed into an SK payload with the test keys and
 *      opened again: it must come back unchanged, then it is parsed;
 *   3: a peer's certificates and AUTH data (RFC 7427) checked against a
 *      trust anchor made at start-up: second byte the number of
 *      certificates (0..4), then each as [u16 length][DER], then the AUTH
 *      data; ike_cert_check must refuse without crashing (nothing here is
 *      signed by the anchor).
 * The CBC IV draws from fuzz_random() (fuzz_rng.h): runs are deterministic.
 * Seeds: fuzz/corpus/ike/ (made with -DIKE_FUZZ_SEEDGEN, see the end).
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_rng.h"
#include "ike/cert.h"
#include "ike/crypto.h"
#include "ike/msg.h"
#include "../tests/unit/test_ike_cert_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void test_keys(struct ike_sk *gcm, struct ike_sk *cbc)
{
	memset(gcm, 0, sizeof(*gcm));
	gcm->encr = IKE_ENCR_ID_AES_GCM_16;
	gcm->ekey_len = 36;
	memset(gcm->ekey, 0x6b, 36);
	memset(cbc, 0, sizeof(*cbc));
	cbc->encr = IKE_ENCR_ID_AES_CBC;
	cbc->integ = IKE_INTEG_ID_HMAC_SHA2_256_128;
	cbc->ekey_len = 32;
	cbc->akey_len = 32;
	memset(cbc->ekey, 0x6c, 32);
	memset(cbc->akey, 0x6d, 32);
}

static void whole(const uint8_t *d, size_t n)
{
	static uint8_t plain[IKE_MSG_MAX];
	struct ike_sk gcm, cbc;
	struct ike_msg m;
	size_t pl = 0;

	if (ike_msg_parse(d, n, &m) != 0 || !(m.present & IKE_HAS(IKE_PL_SK)))
		return;
	assert(m.sk_off + 4 <= n);
	test_keys(&gcm, &cbc);
	if (ike_sk_open(&gcm, d, n, m.sk_off, plain, sizeof(plain), &pl) == 0 ||
	    ike_sk_open(&cbc, d, n, m.sk_off, plain, sizeof(plain), &pl) == 0) {
		int err = ike_msg_parse_inner(&m, m.sk_np, plain, pl);

		assert(pl < n);
		assert(err <= 0);
	}
}

static void roundtrip(const uint8_t *d, size_t n)
{
	static uint8_t buf[IKE_MSG_MAX], plain[IKE_MSG_MAX];
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exch = IKE_INFORMATIONAL, .flags = IKE_FLAG_I };
	struct ike_sk gcm, cbc;
	struct ike_msg m;
	struct ike_bld b;
	uint64_t seed = 1;
	struct ike_rng rng = { .fn = fuzz_random, .arg = &seed };
	size_t pl = 0;
	int len;

	if (n < 1 || n > 4000)
		return;
	test_keys(&gcm, &cbc);
	for (int k = 0; k < 2; k++) {
		struct ike_sk *key = k ? &cbc : &gcm;

		ike_bld_init(&b, buf, sizeof(buf), &h);
		len = ike_sk_seal(key, &b, d[0], d + 1, n - 1, &rng);
		assert(len > 0);
		assert(ike_msg_parse(buf, (size_t)len, &m) == 0);
		assert(ike_sk_open(key, buf, (size_t)len, m.sk_off, plain, sizeof(plain), &pl) == 0);
		assert(pl == n - 1 && memcmp(plain, d + 1, pl) == 0);
		len = ike_msg_parse_inner(&m, d[0], plain, pl);
		assert(len <= 0);
	}
}

static void certs(const uint8_t *d, size_t n)
{
	static struct ike_cred cred;
	static bool ready;
	struct ike_ref refs[IKE_MAX_CERT];
	struct ike_iov iov = { "signed octets", 13 };
	struct wire r = wire_reader(d, n);
	const uint8_t *auth;
	size_t alen;
	unsigned k;
	int err;

	if (!ready) {
		struct tcert ca, me;

		tcert_make(&ca, tcert_key(true), "fuzz CA", NULL, NULL, -3600, 86400);
		tcert_make(&me, tcert_key(false), "fuzz", "DNS:fuzz.example.net", &ca, -3600, 86400);
		assert(ike_cred_init(&cred, me.der, me.der_len, me.key_der, me.key_der_len, ca.der, ca.der_len) == 0);
		tcert_free(&me);
		tcert_free(&ca);
		ready = true;
	}
	k = wire_read_u8(&r) % (IKE_MAX_CERT + 1);
	for (unsigned i = 0; i < k; i++) {
		size_t len = wire_read_u16(&r);

		refs[i].p = wire_read_ref(&r, len);
		refs[i].len = refs[i].p ? len : 0;
	}
	alen = wire_avail(&r);
	auth = wire_read_ref(&r, alen);
	if (wire_err(&r))
		return;
	err = ike_cert_check(&cred, refs, k, "peer.example.net", 16, 0, auth, alen, &iov, 1);
	assert(err == -EACCES || err == -EBADMSG || err == -ENOMEM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_msg m;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		whole(data + 1, size - 1);
		break;
	case 1:
		memset(&m, 0, sizeof(m));
		if (size >= 2 && ike_msg_parse_inner(&m, data[1], data + 2, size - 2) == 0) {
			assert(m.nn <= IKE_MAX_NOTIFY && m.nd <= IKE_MAX_DELETE);
			assert(m.ncert <= IKE_MAX_CERT && m.ncertreq <= IKE_MAX_CERTREQ);
			for (unsigned i = 0; i < m.ncertreq; i++)
				assert(m.certreq[i].len % 20 == 0);
			/* RFC 4555 §3.4 address notifies: exactly 4 or 16 bytes, or refused */
			for (unsigned i = 0; i < m.nn; i++) {
				struct ike_addr a;
				int err = ike_notify_addr(&m.n[i], &a);

				assert(err == 0 || err == -ENOENT || err == -EBADMSG);
				assert(err ? a.family == 0
					   : (a.family == AF_INET && m.n[i].data.len == 4) ||
						     (a.family == AF_INET6 && m.n[i].data.len == 16));
			}
		}
		break;
	case 2:
		roundtrip(data + 1, size - 1);
		break;
	case 3:
		certs(data + 1, size - 1);
		break;
	}
	return 0;
}

#ifdef IKE_FUZZ_SEEDGEN
/*
 * cc -DIKE_FUZZ_SEEDGEN -Ilib fuzz/fuzz_ike.c build/lib/ike/libat_ike.a build/lib/util/libat_util.a -lcrypto
 * ./a.out fuzz/corpus/ike
 */
#include <sys/socket.h>

static void save(const char *dir, const char *name, uint8_t mode, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fputc(mode, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

static int inner_auth(uint8_t *buf, size_t cap, uint8_t *first)
{
	struct ike_bld b;
	struct ike_prop p = { .num = 1, .proto = IKE_PROTO_ESP, .spi_size = 4, .spi = { 0xc0, 1, 2, 3 }, .nxf = 3 };
	struct ike_ts ts = { .family = AF_INET6, .port_hi = 65535, .start = { 0xfd, [15] = 1 }, .end = { 0xfd, [15] = 1 } };
	uint8_t auth[32];

	memset(auth, 0xa5, sizeof(auth));
	p.xf[0] = (struct ike_xf){ IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 256 };
	p.xf[1] = (struct ike_xf){ IKE_XF_ESN, 1, 0 };
	p.xf[2] = (struct ike_xf){ IKE_XF_ESN, 0, 0 };
	ike_bld_init_inner(&b, buf, cap);
	ike_bld_id(&b, IKE_PL_IDI, IKE_ID_FQDN, (const uint8_t *)"laptop.alice.example.net", 24);
	ike_bld_id(&b, IKE_PL_IDR, IKE_ID_FQDN, (const uint8_t *)"desktop.alice.example.net", 25);
	ike_bld_auth(&b, IKE_AUTH_PSK, auth, 32);
	ike_bld_notify(&b, 0, NULL, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0);
	ike_bld_sa(&b, &p, 1);
	ike_bld_ts(&b, IKE_PL_TSI, &ts, 1);
	ike_bld_ts(&b, IKE_PL_TSR, &ts, 1);
	*first = b.first_np;
	return ike_bld_finish(&b);
}

/*
 * IKE_AUTH with certificates (RFC 7427): IDi, CERT (a DER prefix: the codec
 * does not look inside), CERTREQ with two CA hashes, an unknown certificate
 * encoding, IDr, AUTH method 14 with the Ed25519 AlgorithmIdentifier.
 */
static int inner_auth_cert(uint8_t *buf, size_t cap, uint8_t *first)
{
	static const uint8_t alg[] = { 7, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
	struct ike_bld b;
	uint8_t cert[300], hashes[40], auth[sizeof(alg) + 64];

	memset(cert, 0x42, sizeof(cert));
	cert[0] = 0x30, cert[1] = 0x82, cert[2] = 0x01, cert[3] = 0x28;
	memset(hashes, 0x5c, sizeof(hashes));
	memcpy(auth, alg, sizeof(alg));
	memset(auth + sizeof(alg), 0xe5, 64);
	ike_bld_init_inner(&b, buf, cap);
	ike_bld_id(&b, IKE_PL_IDI, IKE_ID_FQDN, (const uint8_t *)"laptop.alice.example.net", 24);
	ike_bld_cert(&b, IKE_PL_CERT, IKE_CERT_X509_SIG, cert, sizeof(cert));
	ike_bld_cert(&b, IKE_PL_CERT, 13, cert, 20);
	ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, hashes, sizeof(hashes));
	ike_bld_id(&b, IKE_PL_IDR, IKE_ID_FQDN, (const uint8_t *)"desktop.alice.example.net", 25);
	ike_bld_auth(&b, IKE_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
	*first = b.first_np;
	return ike_bld_finish(&b);
}

static int inner_rekey(uint8_t *buf, size_t cap, uint8_t *first)
{
	struct ike_bld b;
	struct ike_prop p = { .num = 1, .proto = IKE_PROTO_ESP, .spi_size = 4, .spi = { 0xc0, 4, 5, 6 }, .nxf = 3 };
	struct ike_ts ts = { .family = AF_INET, .port_hi = 65535, .start = { 10, 0, 0, 1 }, .end = { 10, 0, 0, 1 } };
	uint8_t ke[32], nonce[32];

	memset(ke, 0x33, 32);
	memset(nonce, 0x44, 32);
	p.xf[0] = (struct ike_xf){ IKE_XF_ENCR, IKE_ENCR_ID_CHACHA20_POLY1305, 0 };
	p.xf[1] = (struct ike_xf){ IKE_XF_DH, IKE_DH_CURVE25519, 0 };
	p.xf[2] = (struct ike_xf){ IKE_XF_ESN, 0, 0 };
	ike_bld_init_inner(&b, buf, cap);
	ike_bld_notify(&b, IKE_PROTO_ESP, (const uint8_t *)"\xc0\x01\x02\x03", 4, IKE_N_REKEY_SA, NULL, 0);
	ike_bld_sa(&b, &p, 1);
	ike_bld_nonce(&b, nonce, 32);
	ike_bld_ke(&b, IKE_DH_CURVE25519, ke, 32);
	ike_bld_ts(&b, IKE_PL_TSI, &ts, 1);
	ike_bld_ts(&b, IKE_PL_TSR, &ts, 1);
	*first = b.first_np;
	return ike_bld_finish(&b);
}

static int inner_info(uint8_t *buf, size_t cap, uint8_t *first)
{
	struct ike_bld b;
	uint8_t h[20];

	memset(h, 0x77, 20);
	ike_bld_init_inner(&b, buf, cap);
	ike_bld_delete(&b, IKE_PROTO_ESP, 4, (const uint8_t *)"\xc0\x01\x02\x03\xc0\x04\x05\x06", 2);
	ike_bld_notify(&b, 0, NULL, 0, IKE_N_UPDATE_SA_ADDRESSES, NULL, 0);
	ike_bld_notify(&b, 0, NULL, 0, IKE_N_NAT_DETECTION_SOURCE_IP, h, 20);
	ike_bld_notify(&b, 0, NULL, 0, IKE_N_COOKIE2, h, 16);
	*first = b.first_np;
	return ike_bld_finish(&b);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; uint8_t exch; int (*fn)(uint8_t *, size_t, uint8_t *); } in[] = {
		{ "auth", IKE_AUTH, inner_auth }, { "rekey", IKE_CREATE_CHILD_SA, inner_rekey },
		{ "info", IKE_INFORMATIONAL, inner_info }, { "auth-cert", IKE_AUTH, inner_auth_cert },
	};
	uint8_t plain[4096], msg[8192], both[4097];
	struct ike_sk gcm, cbc;
	uint64_t seed = 1;
	struct ike_rng rng = { .fn = fuzz_random, .arg = &seed };
	const char *dir = argc > 1 ? argv[1] : ".";

	test_keys(&gcm, &cbc);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct ike_hdr h = { .spi_i = 0x1122334455667788ull, .spi_r = 0x99aabbccddeeff00ull,
				     .exch = in[i].exch, .flags = IKE_FLAG_I, .mid = (uint32_t)i + 1 };
		struct ike_bld b;
		uint8_t first;
		int pl = in[i].fn(plain, sizeof(plain), &first), len;
		char name[64];

		for (int k = 0; k < 2; k++) {
			ike_bld_init(&b, msg, sizeof(msg), &h);
			len = ike_sk_seal(k ? &cbc : &gcm, &b, first, plain, (size_t)pl, &rng);
			snprintf(name, sizeof(name), "sk-%s-%s", in[i].name, k ? "cbc" : "gcm");
			save(dir, name, 0, msg, (size_t)len);
		}
		both[0] = first;
		memcpy(both + 1, plain, (size_t)pl);
		snprintf(name, sizeof(name), "chain-%s", in[i].name);
		save(dir, name, 1, both, (size_t)pl + 1);
		snprintf(name, sizeof(name), "seal-%s", in[i].name);
		save(dir, name, 2, both, (size_t)pl + 1);
	}
	return 0;
}
#endif
