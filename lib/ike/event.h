/*
 * The event queue of lib/ike: what ike_poll() hands the daemon. A leaf: it
 * only records events and counts them; it never looks up or changes a
 * tunnel's state.
 *
 * Internal to lib/ike. Every function borrows its pointer arguments.
 */
#ifndef AT_IKE_EVENT_H
#define AT_IKE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/internal.h"

/** Queue IKE_EV_SEND of a copy of @p data (@p t may be NULL: a stateless answer). */
void ike_event_send(struct ike *ike, const struct ike_sa *t, const struct ike_addr *local,
		    const struct ike_addr *remote, const uint8_t *data, size_t len);
/** Queue IKE_EV_SA_UP or IKE_EV_MOVED with the tunnel's state. */
void ike_event_sa(struct ike *ike, const struct ike_sa *t, enum ike_event_type type);
/** Queue IKE_EV_SA_DOWN. */
void ike_event_sa_down(struct ike *ike, const struct ike_sa *t, enum ike_down_reason r, uint16_t notify);
/** Queue IKE_EV_CHILD_UP with the keys of @p c, unless the tunnel was reported down. */
void ike_event_child_up(struct ike *ike, const struct ike_sa *t, const struct ike_child *c, bool deferred);
/** Queue IKE_EV_CHILD_DOWN of @p c, unless the tunnel was reported down. */
void ike_event_child_down(struct ike *ike, const struct ike_sa *t, const struct ike_child *c);
/** The tunnel's state as ike_sa_get() and the events give it. */
void ike_event_sa_info(const struct ike_sa *t, struct ike_sa_info *in);
/** Take the oldest event into @p ev (its data stays valid until the next call); false if none. */
bool ike_event_pop(struct ike *ike, struct ike_event *ev);
/** Drop every queued event, wiping the keys they carry. */
void ike_event_flush(struct ike *ike);

#endif /* AT_IKE_EVENT_H */
