/*
 * lib/ike: IKEv2 (RFC 7296) with PSK authentication, MOBIKE (RFC 4555) and
 * NAT traversal, as a library that does no I/O.
 *
 * A daemon drives one struct ike without knowing IKE:
 *
 *   - it configures peers (ike_peer_add) and asks for tunnels (ike_connect);
 *   - it hands every IKE datagram it receives to ike_input(), with the local
 *     and remote outer addresses (on port 4500 the daemon strips the 4-byte
 *     non-ESP marker first);
 *   - it drains events with ike_poll(): packets to send (IKE_EV_SEND; on
 *     port 4500 the daemon prepends the non-ESP marker), child SAs to install
 *     in the data plane (IKE_EV_CHILD_UP) or remove (IKE_EV_CHILD_DOWN),
 *     tunnels up, down or moved;
 *   - it arms one timer at ike_next_deadline() and calls ike_tick() when it
 *     fires (retransmission, rekey, dead peer detection, half-open expiry).
 *
 * Every entry point takes `now`: milliseconds on a monotonic clock. The
 * library keeps no globals, reads no clock and has no random source of its
 * own: nonces, SPIs, cookie secrets, IVs and timer jitter come from the
 * function given to ike_new() (only Diffie-Hellman private keys are made by
 * OpenSSL's key generation).
 *
 * Threading: a struct ike and everything reached from it belong to the one
 * thread that calls into it.
 *
 * Identifiers: a tunnel is an IKE SA with the peer; its `sa_id` stays the same
 * across IKE SA rekeys, so the daemon can key its state on it. A child SA is
 * named by its inbound ESP SPI (`spi_in`, chosen by us, unique per struct
 * ike).
 */
#ifndef AT_IKE_IKE_H
#define AT_IKE_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"

/**
 * A new instance. @p conf is copied; NULL = defaults. @p rng (required)
 * supplies every random byte the instance uses, called with @p rng_arg
 * (borrowed; it must outlive the instance). NULL when @p rng is NULL, on
 * allocation failure or when @p rng fails.
 */
struct ike *ike_new(const struct ike_conf *conf, ike_random_fn *rng, void *rng_arg);
/** Free everything, wiping keys. No events are produced. */
void ike_free(struct ike *ike);

/** Add a peer; -EEXIST if the name is taken, -EINVAL for a bad conf, -ENOMEM. */
int ike_peer_add(struct ike *ike, const struct ike_peer_conf *conf, uint64_t now)
	__attribute__((warn_unused_result));
/** Remove a peer, deleting its tunnels (Delete sent, CHILD_DOWN and SA_DOWN events); -ENOENT. */
int ike_peer_remove(struct ike *ike, const char *name, uint64_t now);
/**
 * The peer is now reachable at @p remote (e.g. learnt from DNS). Future
 * connections go there; an established tunnel that we may move (MOBIKE
 * initiator) is moved with UPDATE_SA_ADDRESSES. -ENOENT for no such peer.
 */
int ike_peer_set_remote(struct ike *ike, const char *name, const struct ike_addr *remote, uint64_t now);

/**
 * Bring up a tunnel to peer @p name: IKE_SA_INIT, IKE_AUTH and the first
 * child SA. Returns the sa_id (> 0) or -ENOENT (no such peer), -EINVAL (no
 * address or a wildcard peer), -EALREADY (a tunnel to it exists or is being
 * set up; its sa_id is not returned: see ike_sa_find).
 */
int ike_connect(struct ike *ike, const char *name, uint64_t now) __attribute__((warn_unused_result));
/** Close a tunnel: Delete sent to the peer; CHILD_DOWN and SA_DOWN events now. -ENOENT. */
int ike_close(struct ike *ike, uint32_t sa_id, uint64_t now);
/** The sa_id of the newest tunnel to peer @p name, established or not; 0 if none. */
uint32_t ike_sa_find(const struct ike *ike, const char *name);
/** Fill @p out with the tunnel's state; -ENOENT. */
int ike_sa_get(const struct ike *ike, uint32_t sa_id, struct ike_sa_info *out);

/**
 * Process one IKE message (the UDP payload, after the non-ESP marker when on
 * port 4500) received at @p local from @p remote. Bad messages are dropped
 * (and counted), never fatal: returns 0 when the message was used, or a
 * negative errno saying why it was dropped: -EBADMSG malformed or failing
 * its integrity check, -ENOENT no such SA, -EACCES authentication failed,
 * -EPERM refused by policy (unknown identity, no proposal), -EAGAIN a
 * retransmission or out-of-window message ID. Events are queued for ike_poll.
 */
int ike_input(struct ike *ike, const uint8_t *pkt, size_t len,
	      const struct ike_addr *local, const struct ike_addr *remote, uint64_t now);

/** Run the timers due at @p now (retransmissions, rekeys, DPD, expiry). */
void ike_tick(struct ike *ike, uint64_t now);
/** The earliest time ike_tick has work to do; UINT64_MAX if none. */
uint64_t ike_next_deadline(const struct ike *ike);

/**
 * Take the next event into @p ev; false when there are none. The event's
 * pointers are valid until the next call into the library.
 */
bool ike_poll(struct ike *ike, struct ike_event *ev);

/** Rekey child SA @p spi_in now (e.g. its sequence numbers run out); -ENOENT, -EBUSY. */
int ike_child_rekey(struct ike *ike, uint32_t spi_in, uint64_t now);
/** Rekey the tunnel's IKE SA now (new keys, PFS); -ENOENT, -EBUSY. */
int ike_sa_rekey(struct ike *ike, uint32_t sa_id, uint64_t now);
/** Start a liveness check (an empty INFORMATIONAL) now; -ENOENT. */
int ike_sa_dpd(struct ike *ike, uint32_t sa_id, uint64_t now);
/** Authenticated ESP arrived on child @p spi_in: the peer is alive (postpones DPD). */
void ike_child_activity(struct ike *ike, uint32_t spi_in, uint64_t now);

/**
 * Our outer address changed from @p old (family 0 = any) to @p now_local:
 * every tunnel bound to @p old moves. With MOBIKE, the tunnel sends
 * UPDATE_SA_ADDRESSES from the new address (NAT detection redone) and
 * reports IKE_EV_MOVED when the peer has answered.
 */
int ike_local_moved(struct ike *ike, const struct ike_addr *old, const struct ike_addr *now_local,
		    uint64_t now);

/**
 * Our addresses (ports ignored), announced to MOBIKE peers as additional
 * addresses (RFC 4555 §3.4: ADDITIONAL_IP4_ADDRESS and
 * ADDITIONAL_IP6_ADDRESS; each tunnel leaves out the one it runs on) in
 * IKE_AUTH, and to established tunnels in an INFORMATIONAL when the list
 * changes (§3.6). @p n 0: none (NO_ADDITIONAL_ADDRESSES). Copied.
 * -EINVAL for more than IKE_MAX_ADDRS or a family other than AF_INET or
 * AF_INET6.
 */
int ike_set_addrs(struct ike *ike, const struct ike_addr *addrs, unsigned n, uint64_t now)
	__attribute__((warn_unused_result));

/**
 * Move tunnel @p sa_id to a new pair of outer addresses, of either family
 * (RFC 4555 §3.5: e.g. from an IPv4 path to an IPv6 one, towards one of
 * the peer's additional addresses): UPDATE_SA_ADDRESSES from @p local to
 * @p remote, NAT detection redone, IKE_EV_MOVED when the peer answered.
 * Only the original initiator decides (§3.1): -EPERM for a responder,
 * -EOPNOTSUPP without MOBIKE, -EINVAL for addresses of different
 * families, -EAGAIN before the tunnel is established, -ENOENT.
 */
int ike_sa_move(struct ike *ike, uint32_t sa_id, const struct ike_addr *local, const struct ike_addr *remote,
		uint64_t now) __attribute__((warn_unused_result));

/** Counters, for `autotunnel status` and tests. */
void ike_stats_get(const struct ike *ike, struct ike_stats *out);

/** A short English name of an IKE notify type (e.g. "AUTHENTICATION_FAILED"), or NULL. */
const char *ike_notify_name(uint16_t type);
/** A short English name of a down reason. */
const char *ike_down_reason_name(enum ike_down_reason r);
/** "aes256gcm16" or "chacha20poly1305". */
const char *ike_esp_alg_name(enum ike_esp_alg a);

#endif /* AT_IKE_IKE_H */
