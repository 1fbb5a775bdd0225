/*
 * lib/esp/replay: the receiver's anti-replay window (RFC 4303 §3.4.3) for
 * 64-bit sequence numbers.
 *
 * A ring of 64-bit words indexed by sequence number, as WireGuard keeps its
 * counters: moving the top forward only clears the words it passes over, so
 * every check and update costs O(1) whatever the jump. One word is kept as
 * slack for that sliding, so the window is (ESP_REPLAY_WORDS - 1) * 64 =
 * 4032 packets: wide enough for packets sealed by several cores and
 * reordered on the way.
 *
 * Not thread-safe: the owner of the inbound SA serialises calls (the data
 * plane takes the SA's lock once per batch, not per packet).
 */
#ifndef AT_ESP_REPLAY_H
#define AT_ESP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define ESP_REPLAY_WORDS 64
#define ESP_REPLAY_WINDOW ((ESP_REPLAY_WORDS - 1) * 64)

struct esp_replay {
	uint64_t top;	/**< highest sequence number accepted (0: none yet) */
	uint64_t bits[ESP_REPLAY_WORDS];
};

/** An empty window: every sequence number from 1 is acceptable. */
void esp_replay_init(struct esp_replay *r);

/**
 * May @p seq be accepted? 0; -ESTALE when it is 0 or lies below the window
 * (too old to tell); -EALREADY when it was accepted before.
 */
int esp_replay_check(const struct esp_replay *r, uint64_t seq)
	__attribute__((warn_unused_result));

/**
 * Record @p seq as accepted, after the packet authenticated (RFC 4303
 * §3.4.3: the window is updated only for packets whose ICV verified).
 * Returns what esp_replay_check would, and changes nothing on error.
 */
int esp_replay_update(struct esp_replay *r, uint64_t seq)
	__attribute__((warn_unused_result));

/**
 * Rebuild a 64-bit sequence number from its low 32 bits (RFC 4303 Appendix
 * A2.2) against the window. Returns 0 with *@p seq set, or -ESTALE when the
 * number would lie below 1 or above 2^64 - 1.
 */
int esp_replay_infer(const struct esp_replay *r, uint32_t seql, uint64_t *seq)
	__attribute__((warn_unused_result));

#endif
