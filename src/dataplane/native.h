/*
 * src/dataplane/native: native ESP (IP protocol 50, no UDP), packet by
 * packet, as pure functions over buffers (the sockets are in dp.c and
 * worker.c). Two paths use it:
 *
 *   direct    a raw IPPROTO_ESP socket: the kernel writes and strips the
 *             outer IPv4 header; we see IP header + ESP on receive.
 *   RSIP      RFC 3104 through an RSIP gateway: what we send is an inner
 *             IPv4 packet from the lent address Nb (ESP, or UDP carrying
 *             IKE) that a raw IPPROTO_IPIP socket carries to the gateway
 *             (RSIP tunnel type 1, the kernel writes the outer header);
 *             what the gateway sends us is IP-in-IP with ESP or IKE to Nb
 *             inside, read whole (outer header included) from that socket.
 *
 * Every packet is read through lib/wire; untrusted input.
 */
#ifndef AT_DATAPLANE_NATIVE_H
#define AT_DATAPLANE_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#define DP_IPPROTO_IPIP 4
#define DP_IPPROTO_UDP 17
#define DP_IPPROTO_ESP 50
#define DP_IP_HDR 20
#define DP_UDP_HDR 8
#define DP_IP_MAX 65535

/** A packet from a raw socket, taken apart (addresses and ports in host order). */
struct dp_native_in {
	uint32_t outer_src;	/**< IP-in-IP: who tunnelled it (the gateway's Na); else 0 */
	uint8_t proto;		/**< the (inner) packet: DP_IPPROTO_ESP or DP_IPPROTO_UDP */
	uint32_t src, dst;	/**< its addresses: the peer Y and our address (Nb) */
	uint16_t sport, dport;	/**< UDP only */
	size_t off, len;	/**< the ESP packet, or the UDP payload, within the buffer */
};

/**
 * An IP-in-IP packet as a raw IPPROTO_IPIP socket gives it (@p pkt, @p len
 * bytes, borrowed): outer IPv4 header with protocol 4, then a whole inner
 * IPv4 packet (not a fragment) carrying ESP (at least SPI and sequence
 * number) or UDP (length matching). Returns 0, -EBADMSG (malformed),
 * -EPROTONOSUPPORT (the inner packet is neither ESP nor UDP).
 */
int dp_native_parse_ipip(const uint8_t *pkt, size_t len, struct dp_native_in *in)
	__attribute__((warn_unused_result));

/**
 * An ESP packet as a raw IPPROTO_ESP socket gives it (IPv4 header first).
 * Returns 0 or -EBADMSG; outer_src is 0.
 */
int dp_native_parse_esp(const uint8_t *pkt, size_t len, struct dp_native_in *in)
	__attribute__((warn_unused_result));

/**
 * Write a 20-byte IPv4 header at @p pkt (@p cap bytes) for @p payload_len
 * bytes of @p proto from @p src to @p dst (host order): TTL 64, DF clear
 * (a router may fragment it), identification @p id, header checksum.
 * Returns the whole packet's length or -EMSGSIZE.
 */
int dp_native_ip_hdr(uint8_t *pkt, size_t cap, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
		     size_t payload_len) __attribute__((warn_unused_result));

/**
 * Write IPv4 + UDP headers (28 bytes) at @p pkt in front of the
 * @p payload_len bytes already at @p pkt + 28, with the UDP checksum
 * (RFC 768, pseudo-header included). Returns the packet's length or
 * -EMSGSIZE.
 */
int dp_native_udp(uint8_t *pkt, size_t cap, size_t payload_len, uint32_t src, uint16_t sport, uint32_t dst,
		  uint16_t dport, uint16_t id) __attribute__((warn_unused_result));

/** The Internet checksum (RFC 1071) of @p len bytes, added to @p sum; fold and invert the result yourself. */
uint32_t dp_native_csum(uint32_t sum, const uint8_t *p, size_t len);

#endif
