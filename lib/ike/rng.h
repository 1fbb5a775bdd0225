/*
 * Randomness of lib/ike. Every nonce, SPI, cookie secret, IV, COOKIE2 and
 * timer jitter comes from the function the daemon gave ike_new(): the
 * library keeps no source of its own, and a fuzz target or a test can make
 * a run reproducible. (Diffie-Hellman private keys are still made by
 * OpenSSL's key generation, which takes no outside source.)
 *
 * Internal to lib/ike.
 */
#ifndef AT_IKE_RNG_H
#define AT_IKE_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"

/** A random source: the function and its argument as given to ike_new(). */
struct ike_rng {
	ike_random_fn *fn;
	void *arg;
};

/** Fill @p buf (borrowed) with @p n random bytes; 0 or the source's negative errno. */
int ike_rng_bytes(const struct ike_rng *r, void *buf, size_t n) __attribute__((warn_unused_result));

/**
 * A uniformly distributed value in [0, @p bound); 0 when bound < 2, or when
 * the source fails or keeps giving values that would bias the result.
 */
uint32_t ike_rng_uniform(const struct ike_rng *r, uint32_t bound);

/** @p base_ms less up to a tenth, so that both ends rarely rekey at once. */
uint64_t ike_rng_jitter(const struct ike_rng *r, uint64_t base_ms);

#endif /* AT_IKE_RNG_H */
