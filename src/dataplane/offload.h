/*
 * src/dataplane/offload: the TUN device's offloads done by hand.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD(TSO4|TSO6|CSUM) one read from the TUN
 * device carries a TCP "super-packet" of up to 64 KiB with a virtio_net_hdr
 * in front; we cut it into MTU-sized segments (TSO) and seal each one. On
 * the way back, consecutive segments of one TCP flow are merged into one
 * super-packet (GRO) so that one write hands the kernel many segments.
 * Pure functions over buffers, tested in tests/unit/test_esp_offload.c.
 */
#ifndef AT_DATAPLANE_OFFLOAD_H
#define AT_DATAPLANE_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_VNET_HDR_LEN 10	/* struct virtio_net_hdr, native (little) endian */
#define DP_VNET_F_NEEDS_CSUM 1
#define DP_VNET_GSO_NONE 0
#define DP_VNET_GSO_TCPV4 1
#define DP_VNET_GSO_TCPV6 4
#define DP_VNET_GSO_ECN 0x80

struct dp_vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

/** Read the virtio_net_hdr at the front of a TUN read; -EBADMSG if too short. */
int dp_vnet_parse(const uint8_t *p, size_t len, struct dp_vnet *v) __attribute__((warn_unused_result));
/** Write @p v as 10 bytes at @p p. */
void dp_vnet_write(uint8_t *p, const struct dp_vnet *v);

/** A packet read from TUN, cut into segments. */
struct dp_tso {
	const uint8_t *pkt;	/* borrowed: the packet after the vnet header */
	size_t len;
	struct dp_vnet v;
	size_t iphlen, hlen;	/* IP header; IP + TCP headers (GSO only) */
	unsigned nseg;
	uint16_t mss;
	uint8_t family;		/* 4 or 6 */
};

/**
 * Prepare to cut @p pkt (borrowed until the last dp_tso_seg_write). A packet
 * without GSO is one segment (its partial checksum, if any, is completed
 * when written). Returns 0, or -EBADMSG/-EPROTONOSUPPORT for a packet that
 * cannot be segmented (dropped by the caller).
 */
int dp_tso_init(struct dp_tso *t, const struct dp_vnet *v, const uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));
/** Length of segment @p i (< nseg). */
size_t dp_tso_seg_len(const struct dp_tso *t, unsigned i);
/** Write segment @p i, complete with lengths and checksums, to @p dst. */
void dp_tso_seg_write(const struct dp_tso *t, unsigned i, uint8_t *dst);

/** TCP segments merged for one write to TUN. */
struct dp_gro {
	uint8_t *buf;		/* DP_VNET_HDR_LEN + DP_GRO_MAX bytes, owned by the caller */
	size_t len;		/* bytes of packet after the vnet header; 0 = empty */
	size_t iphlen, hlen;
	unsigned nseg;
	uint16_t mss;		/* payload size of the first segment */
	uint32_t next_seq;
	bool closed;		/* a short or PSH segment ended the run */
	uint8_t family;
};

#define DP_GRO_MAX 65535

/**
 * Try to append the inner packet @p pkt to @p g. Returns true if it was
 * taken (copied); false if @p g must be flushed first (a different flow, a
 * gap, a flag that ends merging) or the packet is no TCP at all. An empty
 * @p g takes any packet up to DP_GRO_MAX bytes.
 */
bool dp_gro_add(struct dp_gro *g, const uint8_t *pkt, size_t len);
/**
 * Finish @p g for writing: fill the vnet header (GSO when it holds more than
 * one segment) and the merged headers. Returns the number of bytes to write
 * from g->buf (vnet header included), and empties @p g.
 */
size_t dp_gro_finish(struct dp_gro *g);

/** The Internet checksum's 32-bit partial sum of @p len bytes (RFC 1071). */
uint32_t dp_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t dp_csum_fold(uint32_t sum);

#endif
