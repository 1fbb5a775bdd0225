/*
 * The IKEv2 exchanges of lib/ike (exchange.c), driven by the API in ike.c.
 * exchange.c works on the store (sa.h) and the event queue (event.h) and
 * never calls back into ike.c.
 *
 * Internal to lib/ike. Pointers are borrowed.
 */
#ifndef AT_IKE_EXCHANGE_H
#define AT_IKE_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "ike/internal.h"

/** Handle one received IKE message; the returns of ike_input(). */
int ike_exchange_input(struct ike *ike, const uint8_t *pkt, size_t len, const struct ike_addr *local,
		       const struct ike_addr *remote, uint64_t now) __attribute__((warn_unused_result));
/** Start IKE_SA_INIT on the new tunnel @p t (peer, addresses set); 0 or a negative errno. */
int ike_exchange_connect(struct ike *ike, struct ike_sa *t, uint64_t now) __attribute__((warn_unused_result));
/** Start the next pending task of an established tunnel if no request is in flight. */
void ike_exchange_run_tasks(struct ike *ike, struct ike_sa *t, uint64_t now);
/** Retransmit the request in flight on @p x, or give up on it after the last try. */
void ike_exchange_retransmit(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, uint64_t now);

#endif /* AT_IKE_EXCHANGE_H */
