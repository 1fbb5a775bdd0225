/* Secure random numbers from OpenSSL's CSPRNG. */
#ifndef AT_UTIL_RANDOM_H
#define AT_UTIL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/** Fill @p buf (borrowed) with @p n secure random bytes; 0 or -EIO. */
int rand_bytes(void *buf, size_t n) __attribute__((warn_unused_result));
/** A uniformly distributed value in [0, @p bound); 0 when bound is 0. Aborts if the CSPRNG fails. */
uint32_t rand_uniform(uint32_t bound);

#endif
