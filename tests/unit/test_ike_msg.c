/*
 * lib/ike message codec (RFC 7296 §3): every length field at its bounds,
 * substructure rules, and a round trip of every payload we build.
 * Messages are written byte by byte here, following the RFC's figures, not
 * with the builder under test.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ike/msg.h"

struct raw {
	uint8_t b[4096];
	size_t n;
};

static void put(struct raw *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void u8(struct raw *r, uint8_t v) { put(r, &v, 1); }
static void u16(struct raw *r, uint16_t v) { u8(r, (uint8_t)(v >> 8)); u8(r, (uint8_t)v); }
static void u32(struct raw *r, uint32_t v) { u16(r, (uint16_t)(v >> 16)); u16(r, (uint16_t)v); }

/* Figure 4: the header; the length is patched by fin() */
static void hdr(struct raw *r, uint8_t np, uint8_t exch, uint8_t flags)
{
	r->n = 0;
	put(r, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	put(r, "\0\0\0\0\0\0\0\0", 8);
	u8(r, np);
	u8(r, 0x20);
	u8(r, exch);
	u8(r, flags);
	u32(r, 0);
	u32(r, 0);
}

static void fin(struct raw *r)
{
	r->b[24] = (uint8_t)(r->n >> 24);
	r->b[25] = (uint8_t)(r->n >> 16);
	r->b[26] = (uint8_t)(r->n >> 8);
	r->b[27] = (uint8_t)r->n;
}

/* Figure 5: generic payload header; the body follows */
static void gen(struct raw *r, uint8_t next, uint8_t flags, uint16_t len)
{
	u8(r, next);
	u8(r, flags);
	u16(r, len);
}

static int parse(struct raw *r, struct ike_msg *m)
{
	return ike_msg_parse(r->b, r->n, m);
}

static void test_header(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	hdr(&r, 0, IKE_SA_INIT, IKE_FLAG_I);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.h.spi_i, 0x1122334455667788ull);
	assert_int_equal(m.h.exch, IKE_SA_INIT);
	assert_int_equal(m.h.flags, IKE_FLAG_I);
	/* one byte short of a header */
	assert_int_equal(ike_msg_parse(r.b, 27, &m), -EBADMSG);
	/* the length field must be the datagram's length, exactly */
	r.b[27] = 29;
	assert_int_equal(parse(&r, &m), -EBADMSG);
	r.b[27] = 27;
	assert_int_equal(parse(&r, &m), -EBADMSG);
	r.b[27] = 28;
	/* a higher minor version is fine, another major version is not (§2.5) */
	r.b[17] = 0x21;
	assert_int_equal(parse(&r, &m), 0);
	r.b[17] = 0x30;
	assert_int_equal(parse(&r, &m), -EPROTO);
}

static void test_payload_lengths(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	/* a notify with 4 bytes of data: generic 4 + fixed 4 + 4 */
	hdr(&r, IKE_PL_N, IKE_INFORMATIONAL, 0);
	gen(&r, 0, 0, 12);
	u8(&r, 0); u8(&r, 0); u16(&r, IKE_N_COOKIE2);
	put(&r, "abcd", 4);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.nn, 1);
	assert_int_equal(m.n[0].type, IKE_N_COOKIE2);
	assert_int_equal(m.n[0].data.len, 4);
	assert_memory_equal(m.n[0].data.p, "abcd", 4);
	/* length one past the end */
	r.b[31] = 13;
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* length one short: a trailing byte nobody claims */
	r.b[31] = 11;
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* below the generic header */
	r.b[31] = 3;
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* a notify shorter than its fixed part */
	hdr(&r, IKE_PL_N, IKE_INFORMATIONAL, 0);
	gen(&r, 0, 0, 7);
	put(&r, "\0\0\0", 3);
	fin(&r);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* a chain that names a next payload that is not there */
	hdr(&r, IKE_PL_N, IKE_INFORMATIONAL, 0);
	gen(&r, IKE_PL_N, 0, 8);
	u8(&r, 0); u8(&r, 0); u16(&r, IKE_N_COOKIE2);
	fin(&r);
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

/* SA with proposals: Figure 7 (proposal) and Figure 8 (transform). */
static size_t transform(struct raw *r, bool last, uint8_t type, uint16_t id, int keylen)
{
	u8(r, last ? 0 : 3);
	u8(r, 0);
	u16(r, keylen >= 0 ? 12 : 8);
	u8(r, type);
	u8(r, 0);
	u16(r, id);
	if (keylen >= 0) {
		u16(r, 0x8000 | 14);
		u16(r, (uint16_t)keylen);
	}
	return keylen >= 0 ? 12 : 8;
}

static void sa_msg(struct raw *r, uint8_t last1, uint8_t num2, uint8_t ntrans2, uint8_t t_last_bug)
{
	size_t sa_off, p1, p2;

	hdr(r, IKE_PL_SA, IKE_SA_INIT, IKE_FLAG_I);
	sa_off = r->n;
	gen(r, 0, 0, 0);
	/* proposal 1: AES-GCM-16/256, PRF SHA-256, group 31 */
	p1 = r->n;
	u8(r, last1); u8(r, 0); u16(r, 0); u8(r, 1); u8(r, IKE_PROTO_IKE); u8(r, 0); u8(r, 3);
	transform(r, false, IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 256);
	transform(r, false, IKE_XF_PRF, IKE_PRF_ID_HMAC_SHA2_256, -1);
	transform(r, t_last_bug ? false : true, IKE_XF_DH, IKE_DH_CURVE25519, -1);
	r->b[p1 + 2] = (uint8_t)((r->n - p1) >> 8);
	r->b[p1 + 3] = (uint8_t)(r->n - p1);
	/* proposal 2: AES-GCM-16/192 (not supported), PRF SHA-1 (not supported), group 14, type 6 (unknown) */
	p2 = r->n;
	u8(r, 0); u8(r, 0); u16(r, 0); u8(r, num2); u8(r, IKE_PROTO_IKE); u8(r, 0); u8(r, ntrans2);
	transform(r, false, IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 192);
	transform(r, false, IKE_XF_PRF, 2, -1);
	transform(r, false, IKE_XF_DH, IKE_DH_MODP2048, -1);
	transform(r, true, 6, 1, -1);
	r->b[p2 + 2] = (uint8_t)((r->n - p2) >> 8);
	r->b[p2 + 3] = (uint8_t)(r->n - p2);
	r->b[sa_off + 2] = (uint8_t)((r->n - sa_off) >> 8);
	r->b[sa_off + 3] = (uint8_t)(r->n - sa_off);
	fin(r);
}

static void test_sa(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	sa_msg(&r, 2, 2, 4, 0);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.sa.n, 2);
	assert_int_equal(m.sa.p[0].num, 1);
	assert_int_equal(m.sa.p[0].nxf, 3);
	assert_int_equal(m.sa.p[0].xf[0].keylen, 256);
	assert_false(m.sa.p[0].unknown);
	/* only what we support is kept, but every type present is recorded */
	assert_int_equal(m.sa.p[1].nxf, 1);
	assert_int_equal(m.sa.p[1].xf[0].id, IKE_DH_MODP2048);
	assert_int_equal(m.sa.p[1].types, (1 << IKE_XF_ENCR) | (1 << IKE_XF_PRF) | (1 << IKE_XF_DH));
	assert_true(m.sa.p[1].unknown);
	/* "last substructure" says more proposals follow, but none do (or vice versa) */
	sa_msg(&r, 0, 2, 4, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* proposals are numbered 1, 2, ... */
	sa_msg(&r, 2, 3, 4, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* the transform count disagrees with the transforms present */
	sa_msg(&r, 2, 2, 3, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	sa_msg(&r, 2, 2, 5, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* the last transform must say it is the last */
	sa_msg(&r, 2, 2, 4, 1);
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

/* RFC 7296 §3.6, §3.7: CERT and CERTREQ through the codec, at their bounds. */
static void test_cert_payloads(void **st)
{
	uint8_t buf[2048], data[100];
	struct ike_bld b;
	struct ike_msg m;
	int n;

	(void)st;
	memset(data, 0x5c, sizeof(data));
	/* six X.509 certificates, one of another encoding, CERTREQs of 0, 20 and 40 bytes */
	ike_bld_init_inner(&b, buf, sizeof(buf));
	for (int i = 0; i < 6; i++)
		ike_bld_cert(&b, IKE_PL_CERT, IKE_CERT_X509_SIG, data, (size_t)(10 + i));
	ike_bld_cert(&b, IKE_PL_CERT, 13, data, 7);
	ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, data, 0);
	ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, data, 20);
	ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, data, 40);
	ike_bld_cert(&b, IKE_PL_CERTREQ, 13, data, 7);	/* another encoding: its data is not hashes */
	n = ike_bld_finish(&b);
	assert_true(n > 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(ike_msg_parse_inner(&m, b.first_np, buf, (size_t)n), 0);
	/* the first IKE_MAX_CERT, in order; the other encoding skipped */
	assert_int_equal(m.ncert, IKE_MAX_CERT);
	for (int i = 0; i < IKE_MAX_CERT; i++)
		assert_int_equal(m.cert[i].len, 10 + i);
	assert_int_equal(m.ncertreq, 3);
	assert_int_equal(m.certreq[0].len, 0);
	assert_int_equal(m.certreq[2].len, 40);
	/* a CERT with no certificate, a CERTREQ that is not whole hashes, one without an encoding */
	for (int k = 0; k < 4; k++) {
		ike_bld_init_inner(&b, buf, sizeof(buf));
		if (k == 0)
			ike_bld_cert(&b, IKE_PL_CERT, IKE_CERT_X509_SIG, data, 0);
		else if (k == 1)
			ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, data, 19);
		else if (k == 2)
			ike_bld_cert(&b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, data, 21);
		else
			ike_bld_notify(&b, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, data, 2);
		n = ike_bld_finish(&b);
		if (k == 3) {
			/* an empty CERT payload: patch the notify into a CERT with a 4-byte body, no encoding */
			buf[0] = 0;
			buf[2] = 0, buf[3] = 4;
			n = 4;
			memset(&m, 0, sizeof(m));
			assert_int_equal(ike_msg_parse_inner(&m, IKE_PL_CERT, buf, (size_t)n), -EBADMSG);
			continue;
		}
		memset(&m, 0, sizeof(m));
		assert_int_equal(ike_msg_parse_inner(&m, b.first_np, buf, (size_t)n), -EBADMSG);
	}
}

/* One proposal numbered @p num, AES-CBC/128 + HMAC-SHA2-256-128 + PRF SHA-256 + group 20, in a message with @p flags. */
static void answer_msg(struct raw *r, uint8_t flags, uint8_t num, uint8_t more_after)
{
	size_t sa_off, p1;

	hdr(r, IKE_PL_SA, IKE_SA_INIT, flags);
	sa_off = r->n;
	gen(r, 0, 0, 0);
	p1 = r->n;
	u8(r, more_after); u8(r, 0); u16(r, 0); u8(r, num); u8(r, IKE_PROTO_IKE); u8(r, 0); u8(r, 4);
	transform(r, false, IKE_XF_ENCR, IKE_ENCR_ID_AES_CBC, 128);
	transform(r, false, IKE_XF_INTEG, IKE_INTEG_ID_HMAC_SHA2_256_128, -1);
	transform(r, false, IKE_XF_PRF, IKE_PRF_ID_HMAC_SHA2_256, -1);
	transform(r, true, IKE_XF_DH, IKE_DH_ECP384, -1);
	r->b[p1 + 2] = (uint8_t)((r->n - p1) >> 8);
	r->b[p1 + 3] = (uint8_t)(r->n - p1);
	r->b[sa_off + 2] = (uint8_t)((r->n - sa_off) >> 8);
	r->b[sa_off + 3] = (uint8_t)(r->n - sa_off);
	fin(r);
}

/*
 * RFC 7296 §3.3.1: an answer keeps the number of the proposal it accepts,
 * so it may be 2 or more; a request's first proposal is always 1. The RFC
 * 8247 transforms (AES-128, group 20) are kept.
 */
static void test_sa_answer_number(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	answer_msg(&r, IKE_FLAG_R, 2, 0);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.sa.n, 1);
	assert_int_equal(m.sa.p[0].num, 2);
	assert_int_equal(m.sa.p[0].nxf, 4);
	assert_int_equal(m.sa.p[0].xf[0].keylen, 128);
	assert_int_equal(m.sa.p[0].xf[3].id, IKE_DH_ECP384);
	answer_msg(&r, IKE_FLAG_R, 255, 0);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.sa.p[0].num, 255);
	/* numbers still start at 1 in a request, and 0 is no number */
	answer_msg(&r, IKE_FLAG_I, 2, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	answer_msg(&r, IKE_FLAG_R, 0, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	answer_msg(&r, IKE_FLAG_I, 1, 0);
	assert_int_equal(parse(&r, &m), 0);
	/* "more follow" with nothing after: malformed either way */
	answer_msg(&r, IKE_FLAG_R, 2, 2);
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

static void test_nonce_bounds(void **st)
{
	static const size_t sizes[] = { 15, 16, 256, 257 };
	static const int want[] = { -EBADMSG, 0, 0, -EBADMSG };
	struct raw r;
	struct ike_msg m;
	uint8_t nonce[300] = { 0 };

	(void)st;
	for (int i = 0; i < 4; i++) {
		hdr(&r, IKE_PL_NONCE, IKE_SA_INIT, IKE_FLAG_I);
		gen(&r, 0, 0, (uint16_t)(4 + sizes[i]));
		put(&r, nonce, sizes[i]);
		fin(&r);
		assert_int_equal(parse(&r, &m), want[i]);
		if (!want[i])
			assert_int_equal(m.nonce.len, sizes[i]);
	}
}

static void test_duplicates_and_critical(void **st)
{
	struct raw r;
	struct ike_msg m;
	uint8_t nonce[16] = { 0 };

	(void)st;
	/* two nonces: malformed */
	hdr(&r, IKE_PL_NONCE, IKE_SA_INIT, IKE_FLAG_I);
	gen(&r, IKE_PL_NONCE, 0, 20);
	put(&r, nonce, 16);
	gen(&r, 0, 0, 20);
	put(&r, nonce, 16);
	fin(&r);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* two notifies: fine */
	hdr(&r, IKE_PL_N, IKE_SA_INIT, IKE_FLAG_I);
	gen(&r, IKE_PL_N, 0, 8);
	u8(&r, 0); u8(&r, 0); u16(&r, IKE_N_NAT_DETECTION_SOURCE_IP);
	gen(&r, 0, 0, 8);
	u8(&r, 0); u8(&r, 0); u16(&r, IKE_N_NAT_DETECTION_DESTINATION_IP);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.nn, 2);
	assert_non_null(ike_msg_notify(&m, IKE_N_NAT_DETECTION_DESTINATION_IP));
	assert_null(ike_msg_notify(&m, IKE_N_COOKIE));
	/* an unknown payload is skipped... */
	hdr(&r, 200, IKE_SA_INIT, IKE_FLAG_I);
	gen(&r, IKE_PL_NONCE, 0, 7);
	put(&r, "xyz", 3);
	gen(&r, 0, 0, 20);
	put(&r, nonce, 16);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.nonce.len, 16);
	/* ...unless it is marked critical (§2.5) */
	r.b[29] = 0x80;
	assert_int_equal(parse(&r, &m), -EOPNOTSUPP);
	assert_int_equal(m.unsupported_critical, 200);
	/* the critical bit on a payload we know changes nothing */
	r.b[16] = IKE_PL_NONCE;
	r.n = 28;
	gen(&r, 0, 0x80, 20);
	put(&r, nonce, 16);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
}

static void test_sk_placement(void **st)
{
	struct raw r;
	struct ike_msg m;
	uint8_t body[40] = { 0 };

	(void)st;
	/* SK is the last payload; its "next payload" names the first inner one */
	hdr(&r, IKE_PL_SK, IKE_INFORMATIONAL, 0);
	gen(&r, IKE_PL_D, 0, 44);
	put(&r, body, 40);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_true(m.present & IKE_HAS(IKE_PL_SK));
	assert_int_equal(m.sk_off, 28);
	assert_int_equal(m.sk_np, IKE_PL_D);
	/* SK followed by something else */
	hdr(&r, IKE_PL_SK, IKE_INFORMATIONAL, 0);
	gen(&r, IKE_PL_D, 0, 44);
	put(&r, body, 40);
	gen(&r, 0, 0, 8);
	u8(&r, 0); u8(&r, 0); u16(&r, 1);
	fin(&r);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* SK inside the decrypted chain */
	r.n = 0;
	gen(&r, 0, 0, 8);
	put(&r, body, 4);
	assert_int_equal(ike_msg_parse_inner(&m, IKE_PL_SK, r.b, r.n), -EBADMSG);
}

static void ts_msg(struct raw *r, uint8_t count, uint8_t type, uint16_t sellen)
{
	size_t off;

	hdr(r, IKE_PL_TSI, IKE_AUTH, 0);
	off = r->n;
	gen(r, 0, 0, 0);
	u8(r, count); put(r, "\0\0\0", 3);
	u8(r, type); u8(r, 6); u16(r, sellen); u16(r, 22); u16(r, 22);
	for (size_t i = 8; i < sellen; i++)
		u8(r, (uint8_t)i);
	r->b[off + 2] = (uint8_t)((r->n - off) >> 8);
	r->b[off + 3] = (uint8_t)(r->n - off);
	fin(r);
}

static void test_ts(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	ts_msg(&r, 1, IKE_TS_IPV4, 16);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.tsi.n, 1);
	assert_int_equal(m.tsi.ts[0].family, AF_INET);
	assert_int_equal(m.tsi.ts[0].proto, 6);
	assert_int_equal(m.tsi.ts[0].port_lo, 22);
	assert_memory_equal(m.tsi.ts[0].start, "\x08\x09\x0a\x0b", 4);
	assert_memory_equal(m.tsi.ts[0].end, "\x0c\x0d\x0e\x0f", 4);
	ts_msg(&r, 1, IKE_TS_IPV6, 40);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.tsi.ts[0].family, AF_INET6);
	/* a selector length that does not fit its type */
	ts_msg(&r, 1, IKE_TS_IPV4, 17);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	ts_msg(&r, 1, IKE_TS_IPV6, 39);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* a type we do not know is skipped (nothing can be narrowed to it) */
	ts_msg(&r, 1, 13, 20);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.tsi.n, 0);
	/* the count must match, and may not be 0 */
	ts_msg(&r, 2, IKE_TS_IPV4, 16);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	ts_msg(&r, 0, IKE_TS_IPV4, 16);
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

static void del_msg(struct raw *r, uint8_t proto, uint8_t spisize, uint16_t n, size_t bytes)
{
	hdr(r, IKE_PL_D, IKE_INFORMATIONAL, 0);
	gen(r, 0, 0, (uint16_t)(8 + bytes));
	u8(r, proto); u8(r, spisize); u16(r, n);
	for (size_t i = 0; i < bytes; i++)
		u8(r, (uint8_t)(0xc0 + i));
	fin(r);
}

static void test_delete_and_notify(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	del_msg(&r, IKE_PROTO_ESP, 4, 2, 8);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.nd, 1);
	assert_int_equal(m.d[0].nspi, 2);
	assert_memory_equal(m.d[0].spis.p, "\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7", 8);
	/* the SPIs as numbers: the first, the last, one past the end */
	assert_int_equal(ike_delete_spi(&m.d[0], 0), 0xc0c1c2c3);
	assert_int_equal(ike_delete_spi(&m.d[0], 1), 0xc4c5c6c7);
	assert_int_equal(ike_delete_spi(&m.d[0], 2), 0);
	del_msg(&r, IKE_PROTO_ESP, 4, 2, 7);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	del_msg(&r, IKE_PROTO_ESP, 8, 1, 8);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	del_msg(&r, IKE_PROTO_IKE, 0, 0, 0);
	assert_int_equal(parse(&r, &m), 0);
	del_msg(&r, IKE_PROTO_IKE, 0, 1, 0);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	del_msg(&r, 9, 4, 1, 4);
	assert_int_equal(parse(&r, &m), -EBADMSG);
	/* a notify with a 4-byte SPI (REKEY_SA), and one with an impossible SPI size */
	hdr(&r, IKE_PL_N, IKE_CREATE_CHILD_SA, 0);
	gen(&r, 0, 0, 12);
	u8(&r, IKE_PROTO_ESP); u8(&r, 4); u16(&r, IKE_N_REKEY_SA);
	put(&r, "\xde\xad\xbe\xef", 4);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.n[0].spi_size, 4);
	assert_memory_equal(m.n[0].spi, "\xde\xad\xbe\xef", 4);
	assert_int_equal(ike_notify_spi(&m.n[0]), 0xdeadbeef);
	assert_int_equal(m.n[0].data.len, 0);
	r.b[29 + 4] = 9;
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

static void test_id(void **st)
{
	struct raw r;
	struct ike_msg m;

	(void)st;
	hdr(&r, IKE_PL_IDI, IKE_AUTH, IKE_FLAG_I);
	gen(&r, 0, 0, 4 + 4 + 8);
	u8(&r, IKE_ID_FQDN); put(&r, "\0\0\0", 3);
	put(&r, "a.b.test", 8);
	fin(&r);
	assert_int_equal(parse(&r, &m), 0);
	assert_int_equal(m.idi.type, IKE_ID_FQDN);
	assert_int_equal(m.idi.data.len, 8);
	assert_memory_equal(m.idi.data.p, "a.b.test", 8);
	/* what AUTH signs: the body after the generic header */
	assert_int_equal(m.idi.body.len, 12);
	assert_ptr_equal(m.idi.body.p, r.b + 32);
	/* an identity of no bytes */
	hdr(&r, IKE_PL_IDI, IKE_AUTH, IKE_FLAG_I);
	gen(&r, 0, 0, 8);
	u8(&r, IKE_ID_FQDN); put(&r, "\0\0\0", 3);
	fin(&r);
	assert_int_equal(parse(&r, &m), -EBADMSG);
}

/* Everything we build, parsed back. */
static void test_roundtrip(void **st)
{
	struct ike_hdr h = { .spi_i = 7, .spi_r = 9, .exch = IKE_AUTH, .flags = IKE_FLAG_R, .mid = 5 };
	struct ike_prop p[2] = { 0 };
	struct ike_ts ts[2] = { { .family = AF_INET, .proto = 17, .port_lo = 1, .port_hi = 2,
				  .start = { 10, 0, 0, 1 }, .end = { 10, 0, 0, 9 } },
				{ .family = AF_INET6, .port_hi = 65535 } };
	uint8_t buf[2048], ke[64], spis[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ike_bld b;
	struct ike_msg m;
	int len;

	(void)st;
	p[0].num = 1; p[0].proto = IKE_PROTO_ESP; p[0].spi_size = 4; memcpy(p[0].spi, "\1\2\3\4", 4);
	p[0].nxf = 2;
	p[0].xf[0] = (struct ike_xf){ IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 256 };
	p[0].xf[1] = (struct ike_xf){ IKE_XF_ESN, 1, 0 };
	p[1] = p[0];
	p[1].num = 2;
	p[1].xf[0] = (struct ike_xf){ IKE_XF_ENCR, IKE_ENCR_ID_CHACHA20_POLY1305, 0 };
	memset(ke, 0x5a, sizeof(ke));
	inet_pton(AF_INET6, "fd00::1", ts[1].start);
	inet_pton(AF_INET6, "fd00::1", ts[1].end);

	ike_bld_init(&b, buf, sizeof(buf), &h);
	ike_bld_sa(&b, p, 2);
	ike_bld_ke(&b, IKE_DH_ECP256, ke, 64);
	ike_bld_nonce(&b, ke, 32);
	ike_bld_id(&b, IKE_PL_IDR, IKE_ID_FQDN, (const uint8_t *)"x.example", 9);
	ike_bld_auth(&b, IKE_AUTH_PSK, ke, 32);
	ike_bld_notify(&b, IKE_PROTO_ESP, spis, 4, IKE_N_REKEY_SA, NULL, 0);
	ike_bld_delete(&b, IKE_PROTO_ESP, 4, spis, 2);
	ike_bld_ts(&b, IKE_PL_TSI, ts, 2);
	ike_bld_ts(&b, IKE_PL_TSR, &ts[1], 1);
	len = ike_bld_finish(&b);
	assert_true(len > IKE_HDR_LEN);
	assert_int_equal(ike_msg_parse(buf, (size_t)len, &m), 0);
	assert_int_equal(m.h.mid, 5);
	assert_int_equal(m.h.flags, IKE_FLAG_R);
	assert_int_equal(m.sa.n, 2);
	assert_int_equal(m.sa.p[1].xf[0].id, IKE_ENCR_ID_CHACHA20_POLY1305);
	assert_int_equal(m.sa.p[0].xf[0].keylen, 256);
	assert_memory_equal(m.sa.p[0].spi, "\1\2\3\4", 4);
	assert_int_equal(m.ke_group, IKE_DH_ECP256);
	assert_int_equal(m.ke.len, 64);
	assert_int_equal(m.nonce.len, 32);
	assert_int_equal(m.idr.data.len, 9);
	assert_int_equal(m.auth_method, IKE_AUTH_PSK);
	assert_int_equal(m.n[0].type, IKE_N_REKEY_SA);
	assert_int_equal(m.d[0].nspi, 2);
	assert_int_equal(m.tsi.n, 2);
	assert_memory_equal(&m.tsi.ts[0], &ts[0], sizeof(ts[0]));
	assert_memory_equal(&m.tsi.ts[1], &ts[1], sizeof(ts[1]));
	assert_int_equal(m.tsr.n, 1);
	/* the builder refuses to overrun its buffer */
	ike_bld_init(&b, buf, 40, &h);
	ike_bld_sa(&b, p, 2);
	assert_int_equal(ike_bld_finish(&b), -ENOSPC);
}

/* RFC 7296 §3.10.1: INVALID_KE_PAYLOAD carries exactly the 2-byte group. */
static void test_notify_group(void **st)
{
	static const uint8_t data[] = { 0x00, 0x13, 0x00 };
	struct ike_notify n = { .type = IKE_N_INVALID_KE_PAYLOAD, .data = { data, 2 } };
	uint16_t g = 99;
	uint8_t out[2];

	(void)st;
	assert_int_equal(ike_notify_group(&n, &g), 0);
	assert_int_equal(g, IKE_DH_ECP256);
	for (size_t len = 0; len <= 3; len++) {
		if (len == 2)
			continue;
		n.data.len = len;
		g = 99;
		assert_int_equal(ike_notify_group(&n, &g), -EBADMSG);
		assert_int_equal(g, 0);
	}
	n.data = (struct ike_ref){ NULL, 0 };
	assert_int_equal(ike_notify_group(&n, &g), -EBADMSG);
	ike_group_put(out, IKE_DH_CURVE25519);
	assert_memory_equal(out, "\x00\x1f", 2);
}

/*
 * RFC 4555 §3.4: ADDITIONAL_IP4_ADDRESS carries exactly 4 bytes,
 * ADDITIONAL_IP6_ADDRESS exactly 16; addresses no peer can have are refused.
 */
static void test_notify_addr(void **st)
{
	static const struct { uint16_t type; const char *ip; int want; } cases[] = {
		{ IKE_N_ADDITIONAL_IP4_ADDRESS, "192.0.2.7", 0 },
		{ IKE_N_ADDITIONAL_IP4_ADDRESS, "0.0.0.0", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP4_ADDRESS, "127.0.0.1", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP4_ADDRESS, "224.0.0.1", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP4_ADDRESS, "223.255.255.255", 0 },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "2001:db8::2", 0 },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "::", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "::1", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "::2", 0 },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "ff02::1", -EBADMSG },
		{ IKE_N_ADDITIONAL_IP6_ADDRESS, "::ffff:192.0.2.7", -EBADMSG },
	};
	uint8_t ip[17], buf[512];
	struct ike_notify n;
	struct ike_addr a;
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exch = IKE_INFORMATIONAL, .mid = 3 };
	struct ike_bld b;
	struct ike_msg m;
	int len;

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fam = cases[i].type == IKE_N_ADDITIONAL_IP4_ADDRESS ? AF_INET : AF_INET6;
		size_t alen = fam == AF_INET ? 4 : 16;

		assert_int_equal(inet_pton(fam, cases[i].ip, ip), 1);
		n = (struct ike_notify){ .type = cases[i].type, .data = { ip, alen } };
		memset(&a, 0x55, sizeof(a));
		if (ike_notify_addr(&n, &a) != cases[i].want)
			fail_msg("case %zu (%s): not %d", i, cases[i].ip, cases[i].want);
		if (cases[i].want == 0) {
			assert_int_equal(a.family, fam);
			assert_int_equal(a.port, 0);
			assert_memory_equal(a.ip, ip, alen);
		} else {
			assert_int_equal(a.family, 0);
		}
		/* one byte short and one byte long, at each family's bound */
		n.data.len = alen - 1;
		assert_int_equal(ike_notify_addr(&n, &a), -EBADMSG);
		n.data.len = alen + 1;
		assert_int_equal(ike_notify_addr(&n, &a), -EBADMSG);
	}
	/* a 16-byte address under the IPv4 type (and the other way round) is malformed */
	inet_pton(AF_INET6, "2001:db8::2", ip);
	n = (struct ike_notify){ .type = IKE_N_ADDITIONAL_IP4_ADDRESS, .data = { ip, 16 } };
	assert_int_equal(ike_notify_addr(&n, &a), -EBADMSG);
	n = (struct ike_notify){ .type = IKE_N_ADDITIONAL_IP6_ADDRESS, .data = { ip, 4 } };
	assert_int_equal(ike_notify_addr(&n, &a), -EBADMSG);
	n = (struct ike_notify){ .type = IKE_N_NO_ADDITIONAL_ADDRESSES };
	assert_int_equal(ike_notify_addr(&n, &a), -ENOENT);

	/* built and read back: the notify payload's bytes are the address alone (§3.4, no port) */
	ike_bld_init(&b, buf, sizeof(buf), &h);
	a = (struct ike_addr){ .family = AF_INET, .port = 4500 };
	inet_pton(AF_INET, "198.51.100.9", a.ip);
	ike_bld_notify_addr(&b, &a);
	a = (struct ike_addr){ .family = AF_INET6, .port = 4500 };
	inet_pton(AF_INET6, "2001:db8:ff::b", a.ip);
	ike_bld_notify_addr(&b, &a);
	a = (struct ike_addr){ .family = 0 };
	ike_bld_notify_addr(&b, &a);	/* nothing for an unknown family */
	len = ike_bld_finish(&b);
	assert_int_equal(len, IKE_HDR_LEN + (4 + 4 + 4) + (4 + 4 + 16));
	/* Figure 26: the notify header (protocol 0, SPI size 0, type) then the address */
	assert_memory_equal(buf + IKE_HDR_LEN + 4, "\x00\x00\x40\x0d\xc6\x33\x64\x09", 8);
	assert_int_equal(ike_msg_parse(buf, (size_t)len, &m), 0);
	assert_int_equal(m.nn, 2);
	assert_int_equal(ike_notify_addr(&m.n[0], &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(ike_notify_addr(&m.n[1], &a), 0);
	assert_int_equal(a.family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8:ff::b", ip);
	assert_memory_equal(a.ip, ip, 16);
}

/* SPIs of 4 and 8 bytes in network order; none is 0. */
static void test_spi_numbers(void **st)
{
	struct ike_prop p = { .proto = IKE_PROTO_ESP };
	uint8_t out[8];

	(void)st;
	assert_int_equal(ike_prop_spi(&p), 0);
	ike_prop_spi_set(&p, 0x01020304, 4);
	assert_int_equal(p.spi_size, 4);
	assert_memory_equal(p.spi, "\x01\x02\x03\x04", 4);
	assert_int_equal(ike_prop_spi(&p), 0x01020304);
	ike_prop_spi_set(&p, 0x1122334455667788ull, 8);
	assert_int_equal(p.spi_size, 8);
	assert_memory_equal(p.spi, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_true(ike_prop_spi(&p) == 0x1122334455667788ull);
	memset(out, 0xee, sizeof(out));
	ike_spi_put(out, 0xa1b2c3d4, 4);
	assert_memory_equal(out, "\xa1\xb2\xc3\xd4\xee\xee\xee\xee", 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_payload_lengths),
		cmocka_unit_test(test_sa),
		cmocka_unit_test(test_sa_answer_number),
		cmocka_unit_test(test_cert_payloads),
		cmocka_unit_test(test_nonce_bounds),
		cmocka_unit_test(test_duplicates_and_critical),
		cmocka_unit_test(test_sk_placement),
		cmocka_unit_test(test_ts),
		cmocka_unit_test(test_delete_and_notify),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_notify_group),
		cmocka_unit_test(test_notify_addr),
		cmocka_unit_test(test_spi_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
