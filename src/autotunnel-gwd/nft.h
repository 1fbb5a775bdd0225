/*
 * The nftables backend: mappings become real forwarding through
 * libnftables, in a table the daemon owns:
 *
 *   table ip autotunnel-gwd {
 *     map dnat4 { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout }
 *     chain prerouting {
 *       type nat hook prerouting priority dstnat;
 *       iifname WAN fib daddr type local dnat ip to meta l4proto . th dport map @dnat4
 *     }
 *   }
 *
 * Each mapping is one element of the map (so adding or removing one is one
 * atomic kernel transaction and lookups stay O(1)). Elements carry a kernel
 * timeout a little past their lifetime as a safety net: if the daemon is
 * killed without cleaning up, the forwarding still ends on its own. The
 * table is flushed at start (a previous run may have crashed) and deleted
 * at exit.
 *
 * The router's own forward filter must let DNAT'ed traffic through, e.g.
 * "ct status dnat accept" (docs/gateway.md).
 */
#ifndef AT_GWD_NFT_H
#define AT_GWD_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "autotunnel-gwd/table.h"

#define GWD_NFT_TABLE "autotunnel-gwd"
/* kernel timeout = lifetime + this: the daemon removes elements first */
#define GWD_NFT_GRACE_S 60

struct gwd_nft;

/*
 * Command texts, exposed for the unit tests. Each writes a NUL-terminated
 * nft script into @p buf and returns its length, or -ENOSPC.
 */
int gwd_nft_cmd_setup(char *buf, size_t len, const char *wan);
int gwd_nft_cmd_teardown(char *buf, size_t len);
/* @p replace: the element exists already (a renewal sets its new timeout) */
int gwd_nft_cmd_map(char *buf, size_t len, const struct gwd_mapping *m, int replace);
int gwd_nft_cmd_unmap(char *buf, size_t len, uint8_t proto, uint16_t ext_port);

/*
 * Open libnftables and (re)create the table for WAN interface @p wan
 * (borrowed). 0 or a negative errno with nft's message in @p err.
 */
int gwd_nft_open(struct gwd_nft **out, const char *wan, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Install or refresh the forwarding of @p m. */
int gwd_nft_map(struct gwd_nft *n, const struct gwd_mapping *m, int replace)
	__attribute__((warn_unused_result));
/* Remove the forwarding of external port @p ext_port. */
int gwd_nft_unmap(struct gwd_nft *n, uint8_t proto, uint16_t ext_port);
/*
 * Is the table still there? Someone may have flushed the ruleset (a reload
 * of nftables.service does). 0 if it is, -ENOENT if it is gone; then
 * gwd_nft_recreate() builds it again, empty.
 */
int gwd_nft_check(struct gwd_nft *n);
int gwd_nft_recreate(struct gwd_nft *n) __attribute__((warn_unused_result));
/* Delete the table and free @p n (NULL is fine). */
void gwd_nft_close(struct gwd_nft *n);

#endif
