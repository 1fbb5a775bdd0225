/*
 * Connection tracking: a mapping changes what a packet to the external
 * port means, but conntrack remembers what earlier packets of the same flow
 * meant. Without a flush, a peer that kept sending to the external port
 * from one source port before the mapping existed (an IKE or NAT-T peer
 * does exactly that) would go on reaching the router itself, and a flow
 * through a deleted or expired mapping would go on reaching the client.
 * So whenever a mapping appears or goes, the conntrack entries addressed
 * to its external address and port are removed (ctnetlink, libmnl).
 */
#ifndef AT_GWD_CT_H
#define AT_GWD_CT_H

#include <stdint.h>

/*
 * Delete the IPv4 conntrack entries whose original direction goes to
 * @p ext_addr:@p ext_port over @p proto (host order). Returns how many
 * went, or a negative errno.
 */
int gwd_ct_flush(uint8_t proto, uint32_t ext_addr, uint16_t ext_port);

#endif
