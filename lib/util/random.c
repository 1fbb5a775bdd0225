#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "util/random.h"

int rand_bytes(void *buf, size_t n)
{
	while (n) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (RAND_bytes(buf, chunk) != 1)
			return -EIO;
		buf = (char *)buf + chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

uint32_t rand_uniform(uint32_t bound)
{
	uint32_t v, min;

	if (bound < 2)
		return 0;
	/* Rejection sampling: drop the values that would bias the modulus. */
	min = -bound % bound;
	do {
		if (rand_bytes(&v, sizeof(v)))
			abort();	/* no entropy is a start-up-grade failure */
	} while (v < min);
	return v % bound;
}
