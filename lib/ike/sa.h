/*
 * The store of lib/ike: tunnels (struct ike_sa), their IKE SAs (struct
 * ike_xsa) and child SAs, the SPIs we choose, peers looked up by identity.
 * It creates, finds, reports down and frees; it runs no exchange (that is
 * exchange.c, which uses this file, never the other way round).
 *
 * Internal to lib/ike. Pointers are borrowed unless said otherwise; every
 * object belongs to the struct ike it was made in.
 */
#ifndef AT_IKE_SA_H
#define AT_IKE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/internal.h"

#define IKE_NEVER UINT64_MAX	/* a deadline that never comes */

/** A new tunnel in the store (state 0, one IKE SA slot in use); NULL at max_sas or without memory. */
struct ike_sa *ike_sa_new(struct ike *ike);
/** Free a tunnel already unlinked from the store, wiping its keys. */
void ike_sa_free(struct ike_sa *t);
/** Unlink and free the tunnels in state ST_DEAD. */
void ike_sa_reap(struct ike *ike);
/** The tunnel's current IKE SA. */
struct ike_xsa *ike_sa_cur(struct ike_sa *t);
/** A live tunnel the daemon knows by @p id, or NULL. */
struct ike_sa *ike_sa_by_id(const struct ike *ike, uint32_t id);
/** The live tunnel holding child SA @p spi_in (into @p cp), or NULL. */
struct ike_sa *ike_sa_by_child(struct ike *ike, uint32_t spi_in, struct ike_child **cp);
/** Tell the daemon the tunnel is down (once): its child SAs first, then the tunnel. */
void ike_sa_report_down(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify);
/** Report the tunnel down and mark it ST_DEAD (freed by ike_sa_reap). */
void ike_sa_kill(struct ike *ike, struct ike_sa *t, enum ike_down_reason r, uint16_t notify);
/** Arm the IKE SA rekey and liveness timers of an established tunnel. */
void ike_sa_schedule(struct ike *ike, struct ike_sa *t, uint64_t now);

/** A free IKE SA slot of @p t, cleared and marked used; NULL if all are taken. */
struct ike_xsa *ike_xsa_new(struct ike_sa *t);
/** Release an IKE SA slot, wiping its keys. */
void ike_xsa_free(struct ike_xsa *x);
/** Forget the request in flight, wiping its DH key and nonce. */
void ike_req_clear(struct ike_req *r);

/** A free child SA slot of @p t, cleared and marked used; NULL if all are taken. */
struct ike_child *ike_child_new(struct ike_sa *t);
/** Release a child SA slot, wiping its keys (no event). */
void ike_child_free(struct ike_child *c);
/** Report child SA @p c down (IKE_EV_CHILD_DOWN) and release its slot. */
void ike_child_down(struct ike *ike, struct ike_sa *t, struct ike_child *c);
struct ike_child *ike_child_by_in(struct ike_sa *t, uint32_t spi_in);
struct ike_child *ike_child_by_out(struct ike_sa *t, uint32_t spi_out);
/** A fresh inbound ESP SPI; from @p p's own list if it has one (@p p may be NULL). */
uint32_t ike_child_spi_new(struct ike *ike, struct ike_peer *p);
/** A fresh IKE SPI of ours, not 0 and not in use. */
uint64_t ike_xsa_spi_new(struct ike *ike);

/** The peer whose remote_id matches identity @p id (exact first, else a "*.suffix" wildcard), or NULL. */
struct ike_peer *ike_peer_by_id(struct ike *ike, const uint8_t *id, size_t len);

#endif /* AT_IKE_SA_H */
