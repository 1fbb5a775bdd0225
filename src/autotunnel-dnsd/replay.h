/*
 * The signed UPDATEs seen within the TSIG time window, against replay.
 *
 * RFC 8945 §5.2.3 accepts a signed message for Fudge seconds either side
 * of its Time Signed, and nothing in TSIG stops the same message from
 * being accepted twice within that window (§10 leaves replay protection
 * to the application). An UPDATE is not idempotent in general (a delete
 * then the replayed add brings a record back), so the engine remembers
 * each verified UPDATE, by account and MAC, until its window has passed,
 * and does not apply a second copy.
 *
 * Memory is bounded: entries live in a ring in the order they were seen
 * (grown by doubling up to @p max), and one is forgotten once the ring
 * head's window has passed. Each lives at most 2 x the window after it
 * was seen (Time Signed may lie a window ahead of the clock). When the
 * ring is full of entries still in their window, nothing new can be
 * remembered: the caller refuses the UPDATE (a full cache never lets a
 * replay through).
 *
 * A copy from the same source soon after the first is a retransmission
 * (a UDP client that lost the answer sends the same bytes again): the
 * entry keeps the first answer so that the caller can give the same one.
 *
 * No I/O, no clock: times are passed in (wall-clock seconds, as TSIG's).
 * Engine thread only.
 */
#ifndef DNSD_REPLAY_H
#define DNSD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes of the MAC kept: a verified MAC's prefix identifies its message. */
#define REPLAY_MAC_KEEP 16

/** What identifies a signed request: its account and its MAC. */
struct replay_key {
	uint32_t account;
	uint8_t mac_len;
	uint8_t mac[REPLAY_MAC_KEEP];	/* the first min(mac_len, 16) bytes */
};

/** The answer a remembered request got (set with replay_answer()). */
struct replay_answer {
	bool known;
	uint16_t rcode;
	bool lease_granted, has_key_lease;
	uint32_t lease, key_lease;
};

enum replay_verdict {
	REPLAY_NEW,		/* first seen: now remembered */
	REPLAY_RETRANSMIT,	/* seen from the same source within the retransmission time */
	REPLAY_SEEN,		/* seen before: a replay */
	REPLAY_FULL,		/* not seen, and no room to remember it */
};

struct replay;

/** A cache of at most @p max entries (allocated as they are needed). NULL when out of memory. */
struct replay *replay_new(size_t max);
void replay_free(struct replay *r);

/**
 * Look @p k up at wall-clock second @p now_s, forgetting what has expired.
 * A new key is remembered until @p forget_s (the end of its TSIG window),
 * from source @p src (the caller's hash of the address, port and
 * connection). A known key seen again from the same @p src within
 * @p retransmit_s of the first copy is REPLAY_RETRANSMIT, with its answer
 * copied to @p ans (when not NULL); otherwise REPLAY_SEEN.
 */
enum replay_verdict replay_check(struct replay *r, const struct replay_key *k, uint64_t src,
				 int64_t now_s, int64_t forget_s, uint32_t retransmit_s,
				 struct replay_answer *ans);

/** Record the answer given to @p k (remembered). */
void replay_answer(struct replay *r, const struct replay_key *k, const struct replay_answer *ans);

/**
 * Forget @p k, for a request that was not carried out after all (its
 * commit failed): the client's retransmission is then applied.
 */
void replay_forget(struct replay *r, const struct replay_key *k);

/** Entries remembered now. */
size_t replay_count(const struct replay *r);

#endif
