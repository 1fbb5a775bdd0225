/*
 * Fuzz lib/dns TSIG: every valid message is verified as a request (server
 * side, key looked up by name) and as a response (client side, after a
 * request signed with the same key), at the time it claims to be signed
 * and outside the fudge; the server's answer is then signed into a copy.
 * The key is the unit tests' ("autotunnel test key 32 bytes!!!!", named
 * alice.members.example.net), so the seed messages signed by dig and
 * nsupdate reach the success paths.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "autotunnel test key 32 bytes!!!!"

/* The key under the algorithm the message names, so the MAC check is reached. */
static int lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	enum dns_tsig_alg alg = *(enum dns_tsig_alg *)arg;

	if (!alg)
		return -ENOENT;
	return dns_tsig_key_set(out, name, alg, (const uint8_t *)SECRET, strlen(SECRET));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_msg m;
	static uint8_t out[DNS_MSG_MAX_LEN + 512];
	struct dns_tsig srv = { 0 }, cli;
	struct dns_tsig_rr rr;
	struct dns_tsig_key key;
	enum dns_tsig_alg alg = 0;
	bool have_rr = false;
	uint8_t q[512];
	size_t qlen, olen;
	int r;

	if (dns_msg_parse(&m, data, size))
		return 0;
	if (dns_tsig_rr_read(&m, &rr) == 0) {
		have_rr = true;
		alg = dns_tsig_alg_from_name(&rr.alg_name);
	}

	for (int pass = 0; pass < 2; pass++) {
		uint64_t now = have_rr ? rr.time_signed + (pass ? 400 : 0) : 0;

		r = dns_tsig_verify_request(&srv, &m, lookup, &alg, now);
		assert(r == 0 || r == -ENOMSG || r == -EBADMSG || r == -EACCES);
		assert(r != -EACCES || srv.error == DNS_RCODE_BADKEY || srv.error == DNS_RCODE_BADSIG ||
		       srv.error == DNS_RCODE_BADTIME);
		/* a BADKEY or BADSIG answer must not be signed */
		assert(!(r == -EACCES && srv.error != DNS_RCODE_BADTIME) || !srv.key_known);
		if (r == 0 || r == -EACCES) {
			/* answer with the request itself, stripped of its TSIG */
			size_t n = size;

			memcpy(out, data, size);
			if (m.tsig >= 0) {
				struct wire w = wire_writer(out, sizeof(out));

				n = dns_msg_rr(&m, DNS_SEC_ADDITIONAL, (unsigned)m.tsig)->off;
				wire_seek(&w, n);
				wire_patch_u16(&w, 10, (uint16_t)(m.hdr.arcount - 1));
				assert(wire_err(&w) == 0);
			}
			r = dns_tsig_sign_response(&srv, out, n, sizeof(out), &olen, now);
			assert(r == 0 || r == -ENOSPC || r == -EINVAL);
			if (r == 0) {
				static struct dns_msg m2;

				assert(dns_msg_parse(&m2, out, olen) == 0);
				assert(m2.tsig == (int16_t)(dns_msg_count(&m2, DNS_SEC_ADDITIONAL) - 1));
			}
		}
	}
	dns_tsig_fini(&srv);

	/* the client side: sign a request with the message's ID, then verify it as the answer */
	if (!have_rr)
		return 0;
	if (!alg)
		alg = DNS_TSIG_HMAC_SHA256;
	if (lookup(&alg, &rr.key_name, &key))
		return 0;
	dns_tsig_init(&cli, &key);
	{
		struct dns_builder b;

		assert(dns_builder_init(&b, q, sizeof(q), sizeof(q), m.hdr.id, 0) == 0);
		assert(dns_builder_finish(&b, &qlen) == 0);
	}
	assert(dns_tsig_sign_request(&cli, q, qlen, sizeof(q), &qlen, rr.time_signed) == 0);
	for (int i = 0; i < 3; i++) {
		bool sg;

		r = dns_tsig_verify_response(&cli, &m, rr.time_signed, &sg);
		assert(r == 0 || r == -EBADMSG || r == -EACCES);
		if (r)
			break;
	}
	dns_tsig_fini(&cli);
	return 0;
}
