/*
 * lib/esp: ESP in tunnel mode (RFC 4303) with AEAD transforms (RFC 4106,
 * RFC 7634) or AES-CBC with HMAC-SHA2-256-128 (RFC 3602, RFC 4868), and
 * 64-bit extended sequence numbers, carried in UDP (RFC 3948). No I/O: the
 * data plane hands in buffers and gets buffers back.
 *
 * An ESP packet here is
 *     SPI(4) | Sequence Number, low 32 bits(4) | IV(8) |
 *     encrypted { inner IP packet | Padding 1,2,3.. | Pad Length(1) | Next Header(1) } |
 *     ICV(16)
 * with AAD = SPI | Seq (8 bytes) or SPI | Seq high | Seq low (12 bytes, ESN:
 * RFC 4106 §5, RFC 7634 §2.1). Padding aligns the trailer to 4 bytes
 * (RFC 4303 §2.4). The explicit IV is the 64-bit sequence number XOR a
 * per-SA mask, which is unique per packet as RFC 4106 §3.1 requires.
 *
 * With AES-CBC (encrypt-then-MAC, RFC 4303 §3.3.2) a packet is
 *     SPI(4) | Seq low(4) | IV(16) |
 *     encrypted { inner IP packet | Padding | Pad Length | Next Header } | ICV(16)
 * where padding fills the encrypted part to whole 16-byte blocks, the IV
 * is random per packet (RFC 3602 §2.1), and the ICV is HMAC-SHA-256,
 * truncated to 128 bits (RFC 4868), over everything before it, followed
 * (ESN) by the high 32 bits of the sequence number (RFC 4303 §2.2.1).
 * struct esp_layout gives the header length and alignment of each.
 *
 * Seal and open work in place so the data plane never copies a payload.
 */
#ifndef AT_ESP_ESP_H
#define AT_ESP_ESP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp/aead.h"
#include "esp/replay.h"

#define ESP_HDR_LEN 16			/**< SPI, sequence number, explicit IV */
#define ESP_MIN_LEN (ESP_HDR_LEN + 2 + ESP_ICV_LEN)
#define ESP_TRAILER_MAX (3 + 2 + ESP_ICV_LEN)

/** Next Header values of the inner packet (IANA protocol numbers). */
#define ESP_NH_IPV4 4
#define ESP_NH_IPV6 41
#define ESP_NH_NONE 59			/**< RFC 4303 §2.6: a dummy packet, dropped */

/** Length of the sealed packet for @p plen bytes of inner packet (the AEAD transforms). */
static inline size_t esp_sealed_len(size_t plen)
{
	return ESP_HDR_LEN + ((plen + 2 + 3) & ~(size_t)3) + ESP_ICV_LEN;
}

#define ESP_CBC_HDR_LEN (8 + ESP_CBC_IV_LEN)
#define ESP_HDR_MAX ESP_CBC_HDR_LEN
/** The most a sealed packet adds to the inner packet with any transform. */
#define ESP_OVERHEAD_MAX (ESP_HDR_MAX + 15 + 2 + ESP_ICV_LEN)

/** Where a transform puts things: the inner packet starts at hdr; the encrypted part is aligned to align. */
struct esp_layout {
	uint8_t hdr;		/**< SPI, sequence number and IV: ESP_HDR_LEN or ESP_CBC_HDR_LEN */
	uint8_t align;		/**< 4 (RFC 4303 §2.4) or the cipher's block, 16 */
};

/** The layout of @p c (AEAD: ESP_HDR_LEN, 4; CBC: ESP_CBC_HDR_LEN, 16). */
static inline struct esp_layout esp_layout_of(enum esp_cipher c)
{
	return esp_cipher_is_cbc(c) ? (struct esp_layout){ ESP_CBC_HDR_LEN, 16 } : (struct esp_layout){ ESP_HDR_LEN, 4 };
}

/** Length of the sealed packet for @p plen bytes of inner packet with layout @p l. */
static inline size_t esp_layout_sealed_len(struct esp_layout l, size_t plen)
{
	return l.hdr + ((plen + 2 + l.align - 1) & ~(size_t)(l.align - 1)) + ESP_ICV_LEN;
}

/**
 * The sending side of an SA. seq is shared by every worker sealing for the
 * SA (an atomic counter, never a lock); the other fields are set before the
 * SA is published and read-only afterwards.
 */
struct esp_out {
	uint32_t spi;
	bool esn;			/**< 64-bit sequence numbers negotiated */
	_Atomic uint64_t seq;		/**< last sequence number handed out */
	uint64_t soft_limit;		/**< from here on, rekey_soon is set */
	uint64_t hard_limit;		/**< the last sequence number ever used */
	uint64_t iv_mask;		/**< IV = seq ^ iv_mask */
	atomic_bool rekey_soon;		/**< read by the control plane */
};

/**
 * Initialise @p o for @p spi. The hard limit stops one short of the
 * sequence space (2^64 - 2 with ESN, 2^32 - 2 without), so the counter can
 * never wrap (RFC 4303 §3.3.3); the soft limit is 7/8 of it.
 */
void esp_out_init(struct esp_out *o, uint32_t spi, bool esn);

/**
 * Seal one inner packet of @p plen bytes that the caller placed at
 * @p buf + the layout's hdr (ESP_HDR_LEN for the AEADs); @p cap is the
 * room at @p buf. Writes the header, padding, trailer and ICV and sets
 * *@p outlen to esp_layout_sealed_len() (esp_sealed_len() for the AEADs).
 * Safe to call from several threads for one @p o, each with its own @p a.
 *
 * Returns 0, -ENOSPC (cap too small), -EKEYEXPIRED when the sequence space
 * is used up (nothing is sent: the SA must be rekeyed), -EIO.
 */
int esp_out_seal(struct esp_out *o, struct esp_aead *a, uint8_t nh,
		 uint8_t *buf, size_t cap, size_t plen, size_t *outlen)
	__attribute__((warn_unused_result));

/** The receiving side of an SA; owned by one thread at a time. */
struct esp_in {
	uint32_t spi;
	bool esn;
	struct esp_replay replay;
};

void esp_in_init(struct esp_in *in, uint32_t spi, bool esn);

/** Where esp_in_open() left the inner packet. */
struct esp_opened {
	size_t off;		/**< offset of the inner packet in the buffer */
	size_t len;		/**< its length */
	uint8_t nh;		/**< ESP_NH_IPV4 or ESP_NH_IPV6 */
	uint64_t seq;		/**< the full sequence number */
};

/** Read the SPI of an ESP packet (for the SA lookup); -EBADMSG if too short. */
int esp_peek_spi(const uint8_t *buf, size_t len, uint32_t *spi)
	__attribute__((warn_unused_result));

/**
 * Authenticate, check and decrypt the ESP packet of @p len bytes at @p buf
 * in place, and record its sequence number in the replay window.
 *
 * Returns 0 with @p res filled, or
 *   -EBADMSG        malformed (too short, padding not 1,2,3.., pad longer than the payload,
 *                   CBC: not whole blocks)
 *   -ENOENT         SPI is not this SA's
 *   -ESTALE         sequence number below the replay window (or 0)
 *   -EALREADY       sequence number already received (a replay)
 *   -EKEYREJECTED   ICV did not verify (wrong key, forged or corrupted)
 *   -ENODATA        a dummy packet (Next Header 59), authenticated, to be dropped
 *   -EPROTONOSUPPORT Next Header is neither IPv4 nor IPv6
 */
int esp_in_open(struct esp_in *in, struct esp_aead *a, uint8_t *buf, size_t len,
		struct esp_opened *res) __attribute__((warn_unused_result));

/** What a datagram received on UDP port 4500 carries (RFC 3948 §2). */
enum esp_udp_kind {
	ESP_UDP_INVALID = 0,	/**< too short to be anything */
	ESP_UDP_ESP,		/**< an ESP packet: SPI first, never zero */
	ESP_UDP_IKE,		/**< non-ESP marker (4 zero bytes) then an IKE message */
	ESP_UDP_KEEPALIVE,	/**< NAT-keepalive: the single byte 0xFF (RFC 3948 §2.3) */
};

/**
 * Classify a UDP/4500 payload. For ESP_UDP_IKE, *@p off is the offset of
 * the IKE message after the marker; otherwise 0.
 */
enum esp_udp_kind esp_udp_classify(const uint8_t *buf, size_t len, size_t *off);

#define ESP_UDP_MARKER_LEN 4
#define ESP_UDP_KEEPALIVE_BYTE 0xff

#endif
