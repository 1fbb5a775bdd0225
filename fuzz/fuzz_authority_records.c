/*
 * Fuzz the parsers of lib/authority, which read what the rendezvous server
 * (or any host of the account) hands a member: the first input byte picks
 * the parser, the rest is TXT RDATA or DER.
 *   0: _authority.D       1: _join.D       2: _approve.<nonce>.D
 *   3: _revoked.D (parsed and checked against a fixed authority)
 *   4: a certificate as an anchor (authority_load) and as a host
 *      certificate (authority_cert_verify against a fixed authority)
 *   5: _renew.H.D (parsed, then checked against a fixed authority)
 *   6: _cert.H.D
 * What a parser accepts builds back to the same bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authority/authority.h"
#include "authority/cert.h"
#include "authority/records.h"
#include "authority/renew.h"
#include "authority/revoked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build (assert() vanishes under NDEBUG). */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define D "alice.members.example.net"
#define NOW ((int64_t)1796000000)

static int counter_rand(void *ctx, void *buf, size_t n)
{
	uint8_t *p = buf, *c = ctx;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(++*c * 151u);
	return 0;
}

/* The authority fuzz/corpus/authority_records/ was made with: seed 32 bytes of 0x42. */
static struct authority *fixed(void)
{
	static struct authority *a;
	static uint8_t ctr;
	uint8_t seed[AUTHORITY_SEED_LEN];

	if (!a) {
		memset(seed, 0x42, sizeof(seed));
		CHECK(authority_create(&a, D, seed, NOW, counter_rand, &ctr) == 0);
	}
	return a;
}

static void cert_record(const uint8_t *p, size_t n)
{
	static uint8_t der[AUTHORITY_CERT_DER_MAX], back[AUTHORITY_CERT_RDATA_MAX];
	size_t len, blen;
	int r = authority_cert_txt_parse(p, n, der, sizeof(der), &len);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(len == 0);
		return;
	}
	CHECK(authority_cert_txt_build(der, len, back, sizeof(back), &blen) == 0);
	CHECK(blen == n && !memcmp(back, p, n));
}

static void join_record(const uint8_t *p, size_t n)
{
	static uint8_t back[AUTHORITY_JOIN_RDATA_MAX];
	struct authority_join j;
	size_t blen;
	int r = authority_join_parse(p, n, &j);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(j.host[0] == '\0' && j.spki_len == 0);
		return;
	}
	CHECK(authority_spki_check(j.spki, j.spki_len) > 0);
	CHECK((j.ula[0] & 0xfe) == 0xfc);
	CHECK(authority_join_build(&j, back, sizeof(back), &blen) == 0);
	CHECK(blen == n && !memcmp(back, p, n));
}

static void approval_record(const uint8_t *p, size_t n)
{
	static uint8_t back[AUTHORITY_APPROVAL_RDATA_MAX];
	static struct authority_approval ap;
	struct authority_join j = { 0 };
	uint8_t key[AUTHORITY_JOIN_MAC_KEY_LEN] = { 0 };
	size_t blen;
	int r = authority_approval_parse(p, n, &ap);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(ap.cert_len == 0);
		return;
	}
	/* the MAC is built over the same bytes: with the parsed MAC's key unknown, check the body */
	CHECK(authority_approval_build(fixed(), &ap, key, back, sizeof(back), &blen) == 0);
	CHECK(blen == n && !memcmp(back, p, n - 48));
	memcpy(j.nonce, ap.nonce, sizeof(j.nonce));
	r = authority_approval_accept(fixed(), &ap, &j, key, NOW, NULL);
	CHECK(r < 0 || !memcmp(back, p, n));
}

static void revoked_record(const uint8_t *p, size_t n)
{
	static uint8_t back[AUTHORITY_REVOKED_RDATA_MAX];
	static struct authority_revoked rl;
	size_t blen;
	int r = authority_revoked_parse(p, n, &rl);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(rl.n == 0);
		return;
	}
	CHECK(rl.n <= AUTHORITY_REVOKED_MAX);
	r = authority_revoked_verify(fixed(), &rl);
	CHECK(r == 0 || r == -EKEYREJECTED);
	if (r == 0) {
		/* a good signature: signing again (Ed25519 is deterministic) gives the same bytes */
		CHECK(authority_revoked_build(fixed(), &rl, back, sizeof(back), &blen) == 0);
		CHECK(blen == n && !memcmp(back, p, n));
	}
}

static void certificate(const uint8_t *p, size_t n)
{
	struct authority *a;
	struct authority_host_cert info;
	int r = authority_load(&a, D, p, n, NULL, 0);

	if (r == 0) {
		CHECK(!authority_can_sign(a));
		authority_free(a);
	} else {
		CHECK(r == -EBADMSG && a == NULL);
	}
	r = authority_cert_verify(fixed(), p, n, NOW, NULL, NULL, NULL, &info);
	if (r) {
		CHECK(r == -EBADMSG || r == -EKEYREJECTED || r == -EKEYEXPIRED);
		CHECK(info.spki_len == 0 && info.host[0] == '\0');
		return;
	}
	CHECK(authority_spki_check(info.spki, info.spki_len) == (int)info.key_type);
	CHECK(authority_cert_verify(fixed(), p, n, NOW, info.host, info.ula, NULL, NULL) == 0);
}

static void renew_record(const uint8_t *p, size_t n)
{
	static struct authority_renew req;
	struct authority_host_cert cur;
	int r = authority_renew_parse(p, n, &req);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		CHECK(req.cert_len == 0 && req.sig_len == 0);
		return;
	}
	CHECK(authority_spki_check(req.spki, req.spki_len) > 0);
	CHECK(req.sig_len > 0 && req.sig_len <= AUTHORITY_RENEW_SIG_MAX);
	r = authority_renew_check(fixed(), &req, req.t, NULL, &cur);
	CHECK(r == 0 || r == -EBADMSG || r == -EKEYREJECTED || r == -EKEYEXPIRED || r == -EPERM);
	if (r == 0)
		CHECK(!strcmp(cur.host, req.host));
}

static void hostcert_record(const uint8_t *p, size_t n)
{
	static uint8_t der[AUTHORITY_CERT_DER_MAX], back[AUTHORITY_HOSTCERT_RDATA_MAX];
	size_t len, blen;
	int r = authority_hostcert_txt_parse(p, n, der, sizeof(der), &len);

	if (r) {
		CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		return;
	}
	CHECK(authority_hostcert_txt_build(der, len, back, sizeof(back), &blen) == 0);
	CHECK(blen == n && !memcmp(back, p, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 7) {
	case 0:
		cert_record(data + 1, size - 1);
		break;
	case 1:
		join_record(data + 1, size - 1);
		break;
	case 2:
		approval_record(data + 1, size - 1);
		break;
	case 3:
		revoked_record(data + 1, size - 1);
		break;
	case 4:
		certificate(data + 1, size - 1);
		break;
	case 5:
		renew_record(data + 1, size - 1);
		break;
	default:
		hostcert_record(data + 1, size - 1);
		break;
	}
	return 0;
}
