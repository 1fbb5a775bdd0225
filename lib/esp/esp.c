/* lib/esp/esp.c: ESP seal and open (RFC 4303, 4106, 7634), UDP encapsulation (RFC 3948). */
#include "esp/esp.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

void esp_out_init(struct esp_out *o, uint32_t spi, bool esn)
{
	uint64_t space = esn ? UINT64_MAX : UINT32_MAX;

	memset(o, 0, sizeof(*o));
	o->spi = spi;
	o->esn = esn;
	atomic_init(&o->seq, 0);
	o->hard_limit = space - 1;
	o->soft_limit = o->hard_limit - o->hard_limit / 8;
	atomic_init(&o->rekey_soon, false);
}

void esp_in_init(struct esp_in *in, uint32_t spi, bool esn)
{
	in->spi = spi;
	in->esn = esn;
	esp_replay_init(&in->replay);
}

/* RFC 4106 §5 / RFC 7634 §2.1: SPI | [Seq high] | Seq low. */
static size_t build_aad(uint8_t aad[static 12], uint32_t spi, uint64_t seq, bool esn)
{
	struct wire w = wire_writer(aad, 12);

	wire_write_u32(&w, spi);
	if (esn)
		wire_write_u32(&w, (uint32_t)(seq >> 32));
	wire_write_u32(&w, (uint32_t)seq);
	return wire_offset(&w);
}

int esp_out_seal(struct esp_out *o, struct esp_aead *a, uint8_t nh,
		 uint8_t *buf, size_t cap, size_t plen, size_t *outlen)
{
	size_t total = esp_sealed_len(plen), body = total - ESP_HDR_LEN - ESP_ICV_LEN;
	size_t pad = body - plen - 2, aadlen;
	uint8_t aad[12], ivb[ESP_IV_LEN];
	uint64_t seq;
	struct wire w;
	int err;

	*outlen = 0;
	if (cap < total || plen > cap)
		return -ENOSPC;
	/* RFC 4303 §3.3.3: the counter must never cycle; refuse before it could */
	if (atomic_load_explicit(&o->seq, memory_order_relaxed) >= o->hard_limit)
		return -EKEYEXPIRED;
	seq = atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed) + 1;
	if (seq > o->hard_limit)
		return -EKEYEXPIRED;
	if (seq >= o->soft_limit)
		atomic_store_explicit(&o->rekey_soon, true, memory_order_relaxed);

	/* RFC 4106 §3.1: the explicit IV, unique per packet since seq is */
	w = wire_writer(ivb, sizeof(ivb));
	wire_write_u64(&w, seq ^ o->iv_mask);
	w = wire_writer(buf, ESP_HDR_LEN);
	wire_write_u32(&w, o->spi);
	wire_write_u32(&w, (uint32_t)seq);
	wire_write_bytes(&w, ivb, ESP_IV_LEN);

	w = wire_writer(buf + ESP_HDR_LEN + plen, pad + 2);
	for (size_t i = 1; i <= pad; i++)
		wire_write_u8(&w, (uint8_t)i);	/* RFC 4303 §2.4: 1, 2, 3, ... */
	wire_write_u8(&w, (uint8_t)pad);
	wire_write_u8(&w, nh);
	if (wire_err(&w))
		return -ENOSPC;

	aadlen = build_aad(aad, o->spi, seq, o->esn);
	err = esp_aead_seal(a, ivb, aad, aadlen, buf + ESP_HDR_LEN, body,
			    buf + ESP_HDR_LEN + body);
	if (err)
		return err;
	*outlen = total;
	return 0;
}

int esp_peek_spi(const uint8_t *buf, size_t len, uint32_t *spi)
{
	struct wire r = wire_reader(buf, len);

	*spi = wire_read_u32(&r);
	return wire_err(&r);
}

int esp_in_open(struct esp_in *in, struct esp_aead *a, uint8_t *buf, size_t len,
		struct esp_opened *res)
{
	struct wire r = wire_reader(buf, len);
	const uint8_t *ivp, *icv;
	uint8_t aad[12], iv[ESP_IV_LEN], tag[ESP_ICV_LEN], padlen, nh;
	uint32_t spi, seql;
	size_t body, aadlen;
	uint64_t seq;
	int err;

	memset(res, 0, sizeof(*res));
	if (len < ESP_MIN_LEN)
		return -EBADMSG;
	spi = wire_read_u32(&r);
	seql = wire_read_u32(&r);
	ivp = wire_read_ref(&r, ESP_IV_LEN);
	body = wire_avail(&r) - ESP_ICV_LEN;
	wire_skip(&r, body);
	icv = wire_read_ref(&r, ESP_ICV_LEN);
	if (wire_err(&r) || !ivp || !icv)
		return -EBADMSG;
	if (spi != in->spi)
		return -ENOENT;
	if (in->esn) {
		if ((err = esp_replay_infer(&in->replay, seql, &seq)))
			return err;
	} else {
		seq = seql;
	}
	/* RFC 4303 §3.4.3: cheap replay check first, window update only after the ICV */
	if ((err = esp_replay_check(&in->replay, seq)))
		return err;

	memcpy(iv, ivp, sizeof(iv));
	memcpy(tag, icv, sizeof(tag));
	aadlen = build_aad(aad, spi, seq, in->esn);
	err = esp_aead_open(a, iv, aad, aadlen, buf + ESP_HDR_LEN, body, tag);
	if (err == -EBADMSG)
		return -EKEYREJECTED;
	if (err)
		return err;

	r = wire_reader(buf + ESP_HDR_LEN, body);
	wire_skip(&r, body - 2);
	padlen = wire_read_u8(&r);
	nh = wire_read_u8(&r);
	if (wire_err(&r) || (size_t)padlen + 2 > body)
		return -EBADMSG;
	r = wire_reader(buf + ESP_HDR_LEN + body - 2 - padlen, padlen);
	for (unsigned i = 1; i <= padlen; i++)
		if (wire_read_u8(&r) != (uint8_t)i)
			return -EBADMSG;	/* RFC 4303 §2.4: monotonic padding */

	/* authenticated: the packet counts against replay even if we drop it below */
	if ((err = esp_replay_update(&in->replay, seq)))
		return err;
	res->seq = seq;
	if (nh == ESP_NH_NONE)
		return -ENODATA;
	if (nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6)
		return -EPROTONOSUPPORT;
	res->off = ESP_HDR_LEN;
	res->len = body - 2 - padlen;
	res->nh = nh;
	return 0;
}

enum esp_udp_kind esp_udp_classify(const uint8_t *buf, size_t len, size_t *off)
{
	struct wire r = wire_reader(buf, len);
	uint32_t first;

	*off = 0;
	if (len == 1)
		return wire_read_u8(&r) == ESP_UDP_KEEPALIVE_BYTE ? ESP_UDP_KEEPALIVE : ESP_UDP_INVALID;
	first = wire_read_u32(&r);
	if (wire_err(&r))
		return ESP_UDP_INVALID;
	if (first == 0) {
		*off = ESP_UDP_MARKER_LEN;
		return ESP_UDP_IKE;
	}
	return ESP_UDP_ESP;
}
