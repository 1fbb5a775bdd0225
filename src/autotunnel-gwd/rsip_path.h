/*
 * The RSIP data path of RFC 3104 §§4-5, packet by packet, as pure code:
 * each function takes a whole IPv4 packet, reads it through lib/wire, asks
 * lib/rsip's demultiplexer or outbound check, and says what to do with it.
 * The sockets are in rsip_sock.c.
 *
 *   inbound   a packet from the internet to Nb: ESP/AH by (protocol, SPI,
 *             Nb) (§5), IKE by (Nb, destination port) or, on port 500, by
 *             (Nb, initiator SPI) (§4, §6.1) -> tunnelled IP-in-IP to the
 *             client (RSIP tunnel type 1); no binding: dropped (§5: MUST).
 *   outbound  an IP-in-IP packet from a client whose inner source is Nb ->
 *             the inner packet, sent from Nb, if the client's bindings
 *             allow it; else dropped.
 *
 * Both forward the inner packet: its TTL is decremented (a packet whose
 * TTL would reach 0 is dropped) and its header checksum updated in place.
 * Every packet is counted once in struct gwd_rsip_counters.
 */
#ifndef AT_GWD_RSIP_PATH_H
#define AT_GWD_RSIP_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "rsip/server.h"

#define GWD_RSIP_IPPROTO_IPIP 4
#define GWD_RSIP_IPPROTO_UDP 17
#define GWD_RSIP_IPPROTO_ESP 50
#define GWD_RSIP_IPPROTO_AH 51
#define GWD_RSIP_IP_HDR 20
#define GWD_RSIP_UDP_HDR 8
#define GWD_RSIP_IKE_HDR 28	/* RFC 7296 §3.1 (and RFC 2408's ISAKMP header) */
#define GWD_RSIP_IP_MAX 65535
/* the largest inner packet that still fits an outer IPv4 packet */
#define GWD_RSIP_INNER_MAX (GWD_RSIP_IP_MAX - GWD_RSIP_IP_HDR)

/** The fields of an IPv4 header the data path needs (host order). */
struct gwd_rsip_ip {
	uint8_t hlen;		/* header bytes, 20..60 */
	uint8_t tos, ttl, proto;
	uint16_t total, id, frag;	/* frag: flags and fragment offset, as on the wire */
	uint32_t src, dst;
};

/** What happened to the packets (rsip_path decides, rsip_sock adds send failures). */
struct gwd_rsip_counters {
	uint64_t in;			/* packets to Nb looked at */
	uint64_t in_tunnelled;		/* ... sent on to a client */
	uint64_t in_no_binding;		/* ... matching no binding: discarded */
	uint64_t in_malformed;		/* ... not a whole, well-formed packet */
	uint64_t in_ttl;		/* ... whose TTL ran out */
	uint64_t out;			/* IP-in-IP packets from clients */
	uint64_t out_sent;		/* ... whose inner packet went out from Nb */
	uint64_t out_refused;		/* ... not allowed by the client's bindings */
	uint64_t out_ike_collision;	/* ... IKE with another's initiator SPI (§6.1) */
	uint64_t out_malformed;		/* ... not a well-formed IP-in-IP packet from Nb */
	uint64_t out_ttl;
	uint64_t send_errors;		/* the kernel refused to send */
};

/**
 * Read the IPv4 header of @p pkt (@p len bytes, borrowed): version 4, a
 * header length of 20..60 bytes within the packet and a Total Length equal
 * to @p len. 0 or -EBADMSG.
 */
int gwd_rsip_ip_parse(const uint8_t *pkt, size_t len, struct gwd_rsip_ip *ip)
	__attribute__((warn_unused_result));

/** The Internet checksum (RFC 1071) of @p len bytes at @p p, folded, not inverted, from @p sum. */
uint32_t gwd_rsip_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t gwd_rsip_csum_fold(uint32_t sum);

/**
 * Write an IPv4 + UDP header for @p src:@p sport -> @p dst:@p dport in
 * front of the @p payload_len bytes already at @p pkt + 28 (@p cap bytes
 * in all), with the UDP checksum: the packet a UDP socket received, made
 * whole again so it can be tunnelled. Returns the packet length, or
 * -EMSGSIZE when it would not fit an inner packet.
 */
int gwd_rsip_build_udp(uint8_t *pkt, size_t cap, size_t payload_len, uint32_t src, uint16_t sport,
		       uint32_t dst, uint16_t dport, uint8_t ttl, uint8_t tos)
	__attribute__((warn_unused_result));

/**
 * A packet @p pkt (@p len bytes, borrowed and modified in place) that
 * arrived from the internet for a public address. Returns 0 and fills
 * *@p d (tunnel it to d->tunnel_addr), or -ENOENT (no binding: drop),
 * -EBADMSG (malformed: drop), -ETIME (TTL ran out: drop),
 * -EPROTONOSUPPORT (neither ESP, AH nor UDP: not RSIP's). Counted in @p c.
 */
int gwd_rsip_inbound(struct rsip_server *s, struct gwd_rsip_counters *c, uint8_t *pkt, size_t len,
		     uint64_t now, struct rsip_dest *d) __attribute__((warn_unused_result));

/**
 * An IP-in-IP packet @p pkt (@p len bytes with the outer header, as a raw
 * socket gives it; borrowed and modified in place) from a client. Returns
 * 0 with the inner packet at @p pkt + *@p off, *@p inner_len bytes, to be
 * sent from Nb to *@p dst; or -EPERM (the client holds no binding that
 * allows it), -EEXIST (an IKE initiator SPI another client claimed),
 * -ENOSPC (no room for another IKE claim), -EBADMSG, -ETIME. Counted in @p c.
 */
int gwd_rsip_outbound(struct rsip_server *s, struct gwd_rsip_counters *c, uint8_t *pkt, size_t len,
		      uint64_t now, size_t *off, size_t *inner_len, uint32_t *dst)
	__attribute__((warn_unused_result));

#endif
