/*
 * Fuzz lib/stun's parser of the TURN credential a rendezvous server hands
 * out (TXT _turn-credential.D): whatever parses builds back to RDATA that
 * parses to the same credential, and the builder never writes what the
 * parser refuses.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/turn_cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turn_cred_txt c, d;
	uint8_t buf[TURN_CRED_TXT_MAX];
	size_t n;

	if (turn_cred_txt_parse(data, size, &c))
		return 0;
	assert(c.ttl >= 1 && c.ttl <= TURN_CRED_TXT_TTL_MAX && c.user[0] && c.pass[0]);
	assert(turn_cred_txt_build(&c, buf, sizeof(buf), &n) == 0);
	assert(turn_cred_txt_parse(buf, n, &d) == 0);
	assert(!strcmp(c.user, d.user) && !strcmp(c.pass, d.pass) && c.ttl == d.ttl);
	/* without the unknown strings the input may hold, the built form is no longer */
	assert(n <= size);
	return 0;
}
