/*
 * fuzz/fuzz_rng.h: a deterministic random source for fuzz targets
 * (splitmix64), so that a run depends on its input alone and every crash
 * reproduces. The signature fits both struct ike_rng's fn and ike_new()'s
 * random callback; @p arg is the caller's uint64_t state (borrowed), one
 * per instance that must draw independently.
 */
#ifndef AT_FUZZ_RNG_H
#define AT_FUZZ_RNG_H

#include <stddef.h>
#include <stdint.h>

static inline int fuzz_random(void *arg, void *buf, size_t len)
{
	uint64_t *state = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
	return 0;
}

#endif
