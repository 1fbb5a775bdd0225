/*
 * src/autotunneld/gather: this host's candidates (issue 11, docs/paths.md
 * §1): every transport address at which a peer may reach the tunnel's UDP
 * port, made from what the engine knows (the mapping or public address,
 * the reflexive address STUN found with the NAT's behaviour) and the
 * addresses of the host's interfaces (getifaddrs(3)): LAN IPv4 addresses
 * and global IPv6 addresses.
 *
 * A leaf with no state: one call, one set. Threads: any.
 */
#ifndef AT_AUTOTUNNELD_GATHER_H
#define AT_AUTOTUNNELD_GATHER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/cand.h"

/** What the engine knows of this host's reachability. */
struct atd_gather_in {
	uint16_t port;			/* the tunnel's UDP port (host order) */
	bool has_external;		/* external4:ext_port reaches us unsolicited */
	bool public_net;		/* ... because it is our own public address (else a mapping) */
	uint8_t external4[4];
	uint16_t ext_port;
	bool has_srflx;			/* STUN's reflexive address (RFC 8489) */
	uint8_t srflx4[4];
	uint16_t srflx_port;
	uint8_t map, filt;		/* enum agent_nat_behaviour */
	bool interfaces;		/* add the addresses of the host's interfaces (false in tests) */
};

/**
 * The candidate set for @p in into @p out (gen left 0: the caller numbers
 * generations): at most AGENT_CAND_MAX, the best first, no transport
 * address twice, each passing agent_cand_check().
 */
void atd_gather(const struct atd_gather_in *in, struct agent_cand_set *out);

/** Whether two sets hold the same candidates (generations aside). */
bool atd_gather_same(const struct agent_cand_set *a, const struct agent_cand_set *b);

#endif
