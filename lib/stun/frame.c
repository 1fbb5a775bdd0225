/* ChannelData (RFC 8656 §12), demultiplexing (RFC 7983, RFC 3948) and stream framing. */
#include "stun/frame.h"

#include <errno.h>
#include <string.h>

#include "stun/msg.h"
#include "wire/wire.h"

int stun_chandata_parse(const void *buf, size_t len, bool stream, struct stun_chandata *cd)
{
	struct wire r = wire_reader(buf, len);
	size_t dlen, rest;

	memset(cd, 0, sizeof(*cd));
	cd->channel = wire_read_u16(&r);
	dlen = wire_read_u16(&r);
	if (wire_err(&r) || !stun_channel_valid(cd->channel))
		return -EBADMSG;
	cd->data = wire_read_ref(&r, dlen);
	if (!cd->data)
		return -EBADMSG;	/* RFC 8656 §12.5: too short for its length */
	rest = wire_avail(&r);
	/* over a stream the padding is there; over UDP it may be */
	if (stream ? rest != stun_pad(dlen) : rest > stun_pad(dlen)) {
		cd->data = NULL;
		return -EBADMSG;
	}
	cd->len = dlen;
	return 0;
}

int stun_chandata_build(uint16_t channel, const void *data, size_t dlen, bool pad,
			void *buf, size_t cap)
{
	struct wire w = wire_writer(buf, cap);

	if (!stun_channel_valid(channel) || dlen > 0xffff)
		return -EINVAL;
	wire_write_u16(&w, channel);
	wire_write_u16(&w, (uint16_t)dlen);
	wire_write_bytes(&w, data, dlen);
	if (pad)
		wire_write_zero(&w, stun_pad(dlen));
	if (wire_err(&w))
		return wire_err(&w);
	return (int)wire_offset(&w);
}

enum stun_demux stun_demux_classify(const void *buf, size_t len)
{
	struct wire r = wire_reader(buf, len);
	uint8_t b0 = wire_peek_u8(&r);
	uint32_t first, second;

	if (len == 1)
		return b0 == 0xff ? STUN_DEMUX_KEEPALIVE : STUN_DEMUX_INVALID;
	first = wire_read_u32(&r);
	second = wire_read_u32(&r);
	if (wire_err(&r)) {
		/* 2..7 bytes: only an empty ChannelData is this short */
		return len >= STUN_CHANDATA_HDR_LEN && b0 >= 0x40 && b0 <= 0x4f
			       ? STUN_DEMUX_CHANDATA : STUN_DEMUX_INVALID;
	}
	if (first == 0)
		return STUN_DEMUX_IKE;	/* RFC 3948 §2.2: the non-ESP marker */
	if ((b0 & 0xc0) == 0 && second == STUN_MAGIC_COOKIE)
		return STUN_DEMUX_STUN;	/* RFC 8489 §6.3, RFC 7983 §7: 0..3 */
	if (b0 >= 0x40 && b0 <= 0x4f)
		return STUN_DEMUX_CHANDATA;	/* RFC 7983 §7: 64..79 */
	return STUN_DEMUX_ESP;	/* SPI non-zero, then the sequence number */
}

const char *stun_demux_str(enum stun_demux d)
{
	switch (d) {
	case STUN_DEMUX_STUN: return "stun";
	case STUN_DEMUX_CHANDATA: return "chandata";
	case STUN_DEMUX_IKE: return "ike";
	case STUN_DEMUX_KEEPALIVE: return "keepalive";
	case STUN_DEMUX_ESP: return "esp";
	case STUN_DEMUX_INVALID: break;
	}
	return "invalid";
}

int stun_stream_frame_len(const void *buf, size_t len, size_t *need)
{
	struct wire r = wire_reader(buf, len);
	uint8_t b0;
	size_t flen;

	*need = STUN_CHANDATA_HDR_LEN;
	if (len < STUN_CHANDATA_HDR_LEN)
		return 0;
	b0 = wire_peek_u8(&r);
	if ((b0 & 0xc0) == 0) {
		wire_skip(&r, 2);
		flen = wire_read_u16(&r);
		if (flen % 4)
			return -EBADMSG;
		if (len >= 8 && wire_read_u32(&r) != STUN_MAGIC_COOKIE)
			return -EBADMSG;
		*need = STUN_HEADER_LEN + flen;
		return wire_err(&r);
	}
	if (b0 >= 0x40 && b0 <= 0x4f) {
		wire_skip(&r, 2);
		flen = wire_read_u16(&r);
		/* RFC 8656 §12.5: over TCP and TLS the frame is padded to 4 bytes */
		*need = STUN_CHANDATA_HDR_LEN + flen + stun_pad(flen);
		return wire_err(&r);
	}
	return -EBADMSG;
}
