/*
 * lib/stun: what shares a socket with STUN. TURN ChannelData framing
 * (RFC 8656 §12.4, §12.5), the classification of a datagram arriving on
 * the UDP 4500 socket that carries STUN, TURN, IKE and ESP at once
 * (RFC 7983 §7, RFC 3948 §2.2), and the framing of STUN and ChannelData
 * in a TCP or TLS byte stream (RFC 8489 §6.2.2, RFC 8656 §12.5). No I/O.
 *
 * ChannelData: channel number u16 (0x4000..0x4FFF), length u16 (of the
 * data, unpadded), data. Over TCP and TLS the data is padded to 4 bytes;
 * over UDP the padding may be there or not.
 */
#ifndef AT_STUN_FRAME_H
#define AT_STUN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_CHANDATA_HDR_LEN	4
#define STUN_CHANNEL_MIN	0x4000	/* RFC 8656 §12: 0x4000 through 0x4FFF */
#define STUN_CHANNEL_MAX	0x4FFF

/** True for a channel number a ChannelBind may use (RFC 8656 §12). */
static inline bool stun_channel_valid(uint16_t channel)
{
	return channel >= STUN_CHANNEL_MIN && channel <= STUN_CHANNEL_MAX;
}

/** A parsed ChannelData message; data is borrowed from the buffer parsed. */
struct stun_chandata {
	uint16_t channel;
	const uint8_t *data;
	size_t len;
};

/**
 * Parse a ChannelData message of @p len bytes at @p buf (borrowed;
 * cd->data points into it). Over a stream (@p stream true) @p len must be
 * exactly the padded frame (stun_stream_frame_len()); over UDP the
 * datagram may be longer than header + data by at most the padding
 * (RFC 8656 §12.5: a datagram too short for the length is discarded).
 * Returns 0 or -EBADMSG (channel out of range, length overrun, trailing
 * bytes).
 */
int stun_chandata_parse(const void *buf, size_t len, bool stream, struct stun_chandata *cd)
	__attribute__((warn_unused_result));

/**
 * Build a ChannelData message for @p channel carrying @p dlen bytes of
 * @p data (borrowed) into @p buf; padded with zeros to 4 bytes when
 * @p pad (required over TCP and TLS). Returns the length written,
 * -EINVAL for a channel out of range or data over 65535 bytes, -ENOSPC.
 */
int stun_chandata_build(uint16_t channel, const void *data, size_t dlen, bool pad,
			void *buf, size_t cap)
	__attribute__((warn_unused_result));

/** What a datagram on the shared UDP 4500 socket is. */
enum stun_demux {
	STUN_DEMUX_INVALID,	/* none of these: drop */
	STUN_DEMUX_STUN,	/* top two bits 00 and the magic cookie at offset 4 */
	STUN_DEMUX_CHANDATA,	/* first byte 0x40..0x4F (RFC 7983 §7) */
	STUN_DEMUX_IKE,		/* non-ESP marker: four zero bytes, then IKE (RFC 3948 §2.2) */
	STUN_DEMUX_KEEPALIVE,	/* the single byte 0xFF (RFC 3948 §2.3) */
	STUN_DEMUX_ESP,		/* anything else with a non-zero SPI (RFC 3948 §2.2) */
};

/**
 * Classify a datagram by its first bytes, without parsing it. The order
 * matters: the non-ESP marker is tested before STUN (a STUN type and
 * length of zero is no valid message) and STUN and ChannelData before ESP.
 * ESP is only recognisable by exclusion, so an SPI whose first byte is
 * below 0x50 can be mistaken for STUN (with a sequence number equal to the
 * cookie) or ChannelData: whoever picks inbound SPIs for this socket
 * should pick them with a first byte of 0x50 or more.
 */
enum stun_demux stun_demux_classify(const void *buf, size_t len);

/** A short name for a demux class ("stun", "chandata", "ike", "keepalive", "esp", "invalid"). */
const char *stun_demux_str(enum stun_demux d);

/**
 * The length of the STUN message or ChannelData frame that starts a TCP
 * or TLS byte stream of which @p len bytes have arrived at @p buf
 * (borrowed). Sets @p need to the number of bytes the frame takes (or,
 * while fewer than 4 bytes are known, to 4): the frame is complete when
 * @p len >= *@p need. Returns 0, or -EBADMSG if the stream does not start
 * with a STUN message (top bits, length a multiple of 4, cookie once 8
 * bytes are there) or ChannelData: the stream cannot be resynchronised.
 */
int stun_stream_frame_len(const void *buf, size_t len, size_t *need)
	__attribute__((warn_unused_result));

#endif
