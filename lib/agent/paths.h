/*
 * Path selection between this host and one peer (issues 11 and 12,
 * docs/paths.md): candidate pairs formed from our candidates and the
 * peer's, ordered LAN > IPv6 > mapped/public > punched > relay, checked at
 * a paced rate with retransmissions and a total budget (RFC 8445 §6.1.4
 * spirit), the first checks of IPv4 and IPv6 direct pairs interleaved
 * (Happy Eyeballs, RFC 8305 §4: a dead family never holds the other
 * back), a bounded port-prediction round when endpoint-dependent NATs
 * stand in the way, peer-reflexive addresses learned from checks that
 * arrive, and the best working pair nominated.
 *
 * Pure, in the shape of lib/portmap: the caller owns the sockets, the
 * clock and the checks themselves (STUN Binding with the account's key, or
 * IKE); it reports what happened with the current time and calls
 * agent_paths_poll() at the deadline that comes back:
 *
 *     agent_paths_start(&p, &cfg, local, nl, remote, nr, controlling, seed, now);
 *     for (;;) {
 *             agent_paths_poll(&p, now, &out);
 *             send(out.check[0 .. out.n - 1]);   // remember each by transaction id
 *             if (out.nominated != AGENT_PATHS_NONE) use(p.pair[out.nominated]);
 *             arm_timer(out.next - now);         // AGENT_NEVER: finished
 *             wait for: a timer, a response (agent_paths_on_response),
 *                       a check from the peer (agent_paths_on_check);
 *     }
 *
 * Every pointer argument is borrowed for the call. One struct agent_paths
 * belongs to the agent's loop thread.
 */
#ifndef AT_AGENT_PATHS_H
#define AT_AGENT_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cand.h"
#include "agent/timers.h"

/** Most remote candidates: the peer's record plus those learned from checks. */
#define AGENT_PATHS_REMOTE_MAX (AGENT_CAND_MAX + 8)
/** Most local candidates considered. */
#define AGENT_PATHS_LOCAL_MAX AGENT_CAND_MAX
/** Most pairs. */
#define AGENT_PATHS_PAIRS_MAX 64
/** "No pair" in indices. */
#define AGENT_PATHS_NONE 0xffu
/** At most this many packets per poll: one paced check and one prediction probe. */
#define AGENT_PATHS_OUT_MAX 2

/** What a pair is, by what it proves (what `autotunnel status` prints). Larger is better. */
enum agent_path_class {
	AGENT_PATH_RELAY = 1,	/* through a TURN allocation, ours or the peer's */
	AGENT_PATH_PUNCHED,	/* to a server- or peer-reflexive IPv4 address: both must send */
	AGENT_PATH_MAPPED,	/* to the peer's port mapping */
	AGENT_PATH_PUBLIC,	/* to the peer's own public address */
	AGENT_PATH_IPV6,	/* global IPv6 at both ends */
	AGENT_PATH_LAN,		/* both on one IPv4 subnet */
};

/** "relay", "punched", "mapped", "public", "ipv6", "lan"; NULL otherwise. */
const char *agent_path_class_name(enum agent_path_class cls);

enum agent_pair_state {
	AGENT_PAIR_WAITING = 0,	/* not checked yet */
	AGENT_PAIR_IN_PROGRESS,	/* a check was sent; retransmitted until tries run out */
	AGENT_PAIR_SUCCEEDED,
	AGENT_PAIR_FAILED,	/* every try timed out, or the budget ran out */
	AGENT_PAIR_CANCELLED,	/* not needed: a better pair was nominated */
};

struct agent_pair {
	uint8_t local, remote;	/* indices into local[] and remote[] */
	uint8_t cls;		/* enum agent_path_class */
	uint8_t state;		/* enum agent_pair_state */
	uint8_t tries;		/* checks sent */
	bool triggered;		/* a check from the peer arrived on it: check it next (RFC 8445 §7.3.1.4) */
	uint16_t sock;		/* 0: the tunnel socket (or our relay); k: prediction socket k */
	uint64_t prio;		/* RFC 8445 §6.1.2.3 */
	uint64_t next_at;	/* IN_PROGRESS: when the last check times out */
	uint64_t ok_at;		/* SUCCEEDED: when */
	uint32_t rtt_ms;
};

/** One packet to send: a check on a pair, or a prediction probe. */
struct agent_check {
	uint8_t pair;		/* index into pair[], or AGENT_PATHS_NONE for a probe */
	bool via_relay;		/* send through our TURN allocation (local candidate is RELAY) */
	bool v6;
	uint16_t sock;		/* 0 or a prediction socket 1..cfg.predict_socks */
	uint8_t addr[16];	/* destination, IPv4 in addr[0..3] */
	uint16_t port;
	uint8_t attempt;	/* 1 for the first transmission */
};

struct agent_paths_cfg {
	uint32_t pace_ms;		/* one check per this (RFC 8445 §14.2 Ta): 20 */
	uint32_t rto_ms;		/* a pair's first check times out after: 100 */
	uint32_t rto_max_ms;		/* doubling up to: 1600 */
	uint8_t tries;			/* checks per pair before it fails: 6 (100+200+400+800+1600+1600 ms) */
	uint32_t budget_ms;		/* the whole round: 10000 */
	uint32_t nominate_wait_ms;	/* a working pair waits this long for better ones still checked: 200 */
	uint32_t relay_wait_ms;		/* a relayed pair only after this long without a direct success: 2000 */
	uint32_t predict_after_ms;	/* the prediction round starts when nothing worked by then: 1000 */
	uint32_t predict_pace_ms;	/* one probe per this: 4 (250 packets/s) */
	uint16_t predict_max;		/* probes in all: 1024; 0 disables the round */
	uint16_t predict_socks;		/* sockets opened on the endpoint-dependent side: 256 */
};

/** Fill @p cfg with the defaults above. */
void agent_paths_cfg_default(struct agent_paths_cfg *cfg);

/** What this side does in the prediction round (docs/paths.md). */
enum agent_predict_role {
	AGENT_PREDICT_NONE = 0,	/* not needed (or not possible: no reflexive candidates) */
	AGENT_PREDICT_SPRAY,	/* from the tunnel socket, to the peer's IP at ports in a random permutation */
	AGENT_PREDICT_OPEN,	/* from predict_socks new sockets, to the peer's reflexive address */
	AGENT_PREDICT_BOTH,	/* both NATs endpoint-dependent: from the new sockets to permuted ports */
};

enum agent_paths_state {
	AGENT_PATHS_IDLE = 0,
	AGENT_PATHS_RUNNING,
	AGENT_PATHS_DONE,	/* nothing left to check; a pair is nominated */
	AGENT_PATHS_FAILED,	/* nothing left to check and nothing worked: report, or wait for a relay */
};

struct agent_paths {
	struct agent_paths_cfg cfg;
	uint8_t state;		/* enum agent_paths_state */
	bool controlling;	/* RFC 8445 §6.1.1: our side is the IKE initiator (agent_paths_ike_role) */
	struct agent_cand local[AGENT_PATHS_LOCAL_MAX];
	struct agent_cand remote[AGENT_PATHS_REMOTE_MAX];
	uint8_t nlocal, nremote;
	struct agent_pair pair[AGENT_PATHS_PAIRS_MAX];	/* in check order: best first */
	uint8_t npairs;
	uint8_t nominated;	/* AGENT_PATHS_NONE or an index into pair[] */
	uint64_t start, next_slot;
	/* Happy Eyeballs between the families' direct pairs (RFC 8305 §4) */
	uint8_t fam_sent;	/* bit 0: an IPv4 first check went out, bit 1: an IPv6 one */
	bool last_v6;		/* the family of the last first check */
	/* the prediction round */
	uint8_t predict_role;	/* enum agent_predict_role */
	bool predict_on, predict_over;
	uint8_t predict_remote;	/* the peer's reflexive candidate the round aims at */
	uint16_t predict_sent;
	uint64_t predict_next;
	uint32_t perm_a, perm_b;	/* the port permutation: 1024 + (a * i + b) mod 64512 */
};

struct agent_paths_out {
	struct agent_check check[AGENT_PATHS_OUT_MAX];
	size_t n;
	uint8_t nominated;	/* a pair nominated at this poll (first time or a better one), or AGENT_PATHS_NONE */
	bool failed;		/* the round just ended with nothing working */
	uint64_t next;		/* call agent_paths_poll() again then; AGENT_NEVER when finished */
};

/**
 * Form and order the pairs of @p local (@p nl) and @p remote (@p nr)
 * candidates and start checking at @p now. @p controlling: our side is
 * the IKE initiator. @p seed (random, from the caller) decides the
 * prediction round's port order. Returns 0, -EINVAL (a candidate fails
 * agent_cand_check(), a remote PRFLX, too many), or -ENOSPC (too many
 * pairs). With no pair at all the machine is FAILED at once.
 */
int agent_paths_start(struct agent_paths *p, const struct agent_paths_cfg *cfg,
		      const struct agent_cand *local, size_t nl,
		      const struct agent_cand *remote, size_t nr,
		      bool controlling, uint64_t seed, uint64_t now) __attribute__((warn_unused_result));

/** What is due at @p now: checks to send, a nomination, the next deadline. */
void agent_paths_poll(struct agent_paths *p, uint64_t now, struct agent_paths_out *out);

/**
 * The answer to @p sent (a check handed out by agent_paths_poll()) came
 * back, authenticated, after @p rtt_ms. For a probe, the peer-reflexive
 * address it reached is learned as a pair that works. Call
 * agent_paths_poll() afterwards for the nomination. 0, -ENOENT (a pair
 * that does not exist), -ENOSPC (no room to learn the address).
 */
int agent_paths_on_response(struct agent_paths *p, uint64_t now, const struct agent_check *sent,
			    uint32_t rtt_ms) __attribute__((warn_unused_result));

/**
 * An authenticated check from the peer arrived on socket @p sock from
 * @p addr:@p port (@p v6). A known pair is checked next (triggered check);
 * an unknown source is learned as a peer-reflexive candidate (RFC 8445
 * §7.3.1.3) with a new pair, checked next. 0 or -ENOSPC.
 */
int agent_paths_on_check(struct agent_paths *p, uint64_t now, uint16_t sock, bool v6,
			 const uint8_t addr[static 16], uint16_t port) __attribute__((warn_unused_result));

/** The prediction round this side would play for these candidates (also used by netcheck's wording). */
enum agent_predict_role agent_paths_predict_role(const struct agent_cand *local, size_t nl,
						 const struct agent_cand *remote, size_t nr);

/** Which end keeps the IKE initiator role (docs/paths.md, "simultaneous initiation"). */
enum agent_ike_role {
	AGENT_IKE_INITIATOR = 1,	/* we initiate, and drop the peer's crossing IKE_SA_INIT */
	AGENT_IKE_RESPONDER,		/* we only answer; a crossing initiation of ours is abandoned */
};

/**
 * The end with the numerically lower ULA (compared as 16 big-endian
 * bytes) is the initiator, the other the responder, so two ends that start
 * at once end with exactly one IKE SA. Both ends compute it from the same
 * two ULAs (each reads the other's from DNS). -EINVAL for equal ULAs.
 */
int agent_paths_ike_role(const uint8_t ours[static 16], const uint8_t peer[static 16])
	__attribute__((warn_unused_result));

#endif
