/* The random source of lib/ike (rng.h). */
#include <errno.h>

#include "ike/rng.h"

#define UNIFORM_TRIES 64	/* rejections before giving up; a working source needs ~1 */

int ike_rng_bytes(const struct ike_rng *r, void *buf, size_t n)
{
	int err = r->fn(r->arg, buf, n);

	return err > 0 ? -EIO : err;
}

uint32_t ike_rng_uniform(const struct ike_rng *r, uint32_t bound)
{
	uint32_t v, min;

	if (bound < 2)
		return 0;
	/* rejection sampling: drop the values that would bias the modulus */
	min = -bound % bound;
	for (int i = 0; i < UNIFORM_TRIES; i++) {
		if (ike_rng_bytes(r, &v, sizeof(v)))
			return 0;
		if (v >= min)
			return v % bound;
	}
	return 0;
}

uint64_t ike_rng_jitter(const struct ike_rng *r, uint64_t base_ms)
{
	return base_ms - ike_rng_uniform(r, (uint32_t)(base_ms / 10 < UINT32_MAX ? base_ms / 10 : UINT32_MAX));
}
