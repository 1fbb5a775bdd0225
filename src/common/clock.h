/* The monotonic clock: every deadline in autotunnel is measured on it. */
#ifndef AT_COMMON_CLOCK_H
#define AT_COMMON_CLOCK_H

#include <stdint.h>

/** Milliseconds on CLOCK_MONOTONIC (arbitrary origin, never goes back). */
uint64_t clock_now_ms(void);
/** Nanoseconds on CLOCK_MONOTONIC. */
uint64_t clock_now_ns(void);
/** Seconds since the Unix epoch on CLOCK_REALTIME (for TSIG time and leases stored on disk). */
uint64_t clock_wall_s(void);

#endif
