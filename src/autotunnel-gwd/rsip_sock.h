/*
 * The sockets of the RSIP data path (rsip_path.h decides; this file moves
 * the packets), on one libevent loop:
 *
 *   ESP, AH    raw IPPROTO_ESP / IPPROTO_AH sockets: every ESP and AH
 *              packet delivered to this host, the original bytes. The
 *              kernel here has no ESP or AH handler, and a packet that a
 *              raw socket took is not answered with ICMP protocol
 *              unreachable; the netns test checks that none is sent.
 *   IKE, UDP   a UDP socket bound to Nb and each port that a binding holds,
 *              plus port 500 (RFC 3104 §6.1, trial and error): the kernel
 *              delivers the datagram (reassembled, and with no ICMP port
 *              unreachable, as a port is open), and the packet is made
 *              whole again (rsip_path's gwd_rsip_build_udp) to be tunnelled.
 *              The set of sockets follows the bindings (gwd_rsip_sock_sync).
 *   to clients a raw IPPROTO_IPIP socket: the kernel writes the outer
 *              header (LAN address -> client, protocol 4, RSIP tunnel type
 *              1) and fragments it when the inner packet fills the MTU.
 *   from clients the same socket receives IP-in-IP packets, outer header
 *              included; only those that came in on a LAN interface count.
 *   from Nb    a raw IPPROTO_RAW socket (IP_HDRINCL) sends the client's
 *              inner packet as it is, source Nb.
 *
 * Why not NFQUEUE: this kernel has no nft "queue" expression
 * (CONFIG_NFT_QUEUE is off), and an NFQUEUE rule would steal ports that no
 * binding holds. Why not AF_PACKET: it sees fragments before reassembly,
 * which cannot be demultiplexed, and needs a drop rule kept exactly in
 * step with the bindings.
 */
#ifndef AT_GWD_RSIP_SOCK_H
#define AT_GWD_RSIP_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "autotunnel-gwd/rsip_path.h"
#include "rsip/server.h"

struct event_base;
struct gwd_rsip_sock;

#define GWD_RSIP_MAX_UDP_SOCKS 512	/* UDP sockets for lent ports, at most */
#define GWD_RSIP_MAX_LAN_IFS 8

/*
 * Open the data path for public address @p nb (host order) of server
 * @p s, counting in @p c (both borrowed for the life of the path). 0 or
 * a negative errno (raw sockets need CAP_NET_RAW).
 */
int gwd_rsip_sock_open(struct gwd_rsip_sock **out, struct event_base *base, struct rsip_server *s,
		       struct gwd_rsip_counters *c, uint32_t nb) __attribute__((warn_unused_result));

/* The LAN interfaces (@p ifindex borrowed, @p n of them) IP-in-IP packets may arrive on. */
void gwd_rsip_sock_set_lans(struct gwd_rsip_sock *p, const unsigned *ifindex, size_t n);

/* Make the UDP sockets follow the ports the bindings hold (cheap when nothing changed). */
void gwd_rsip_sock_sync(struct gwd_rsip_sock *p);

/* How many UDP ports are open for the bindings (for the status). */
size_t gwd_rsip_sock_udp_count(const struct gwd_rsip_sock *p);

void gwd_rsip_sock_close(struct gwd_rsip_sock *p);

#endif
