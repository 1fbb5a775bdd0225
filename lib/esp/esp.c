/* lib/esp/esp.c: ESP seal and open (RFC 4303, 4106, 7634, 3602, 4868), UDP encapsulation (RFC 3948). */
#include "esp/esp.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

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

/* RFC 4303 §2.4: padding 1, 2, 3, ..., its length, the next header */
static int write_trailer(uint8_t *p, size_t pad, uint8_t nh)
{
	struct wire w = wire_writer(p, pad + 2);

	for (size_t i = 1; i <= pad; i++)
		wire_write_u8(&w, (uint8_t)i);
	wire_write_u8(&w, (uint8_t)pad);
	wire_write_u8(&w, nh);
	return wire_err(&w) ? -ENOSPC : 0;
}

/* RFC 4303 §3.3.3: the next sequence number, never cycling */
static int next_seq(struct esp_out *o, uint64_t *seq)
{
	if (atomic_load_explicit(&o->seq, memory_order_relaxed) >= o->hard_limit)
		return -EKEYEXPIRED;
	*seq = atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed) + 1;
	if (*seq > o->hard_limit)
		return -EKEYEXPIRED;
	if (*seq >= o->soft_limit)
		atomic_store_explicit(&o->rekey_soon, true, memory_order_relaxed);
	return 0;
}

/* RFC 4303 §2.2.1: with ESN the high half is appended to what the ICV covers, never sent */
static size_t seq_hi(uint8_t out[static 4], uint64_t seq, bool esn)
{
	struct wire w = wire_writer(out, 4);

	if (!esn)
		return 0;
	wire_write_u32(&w, (uint32_t)(seq >> 32));
	return 4;
}

/* Encrypt-then-MAC: AES-CBC, then HMAC-SHA2-256-128 over header, IV and ciphertext. */
static int seal_cbc(struct esp_out *o, struct esp_aead *a, uint8_t nh,
		    uint8_t *buf, size_t cap, size_t plen, size_t *outlen)
{
	const struct esp_layout l = esp_layout_of(esp_aead_cipher(a));
	size_t total = esp_layout_sealed_len(l, plen), body = total - l.hdr - ESP_ICV_LEN;
	uint8_t iv[ESP_CBC_IV_LEN], hi[4];
	uint64_t seq;
	struct wire w;
	int err;

	if (cap < total || plen > cap)
		return -ENOSPC;
	if ((err = next_seq(o, &seq)))
		return err;
	if ((err = write_trailer(buf + l.hdr + plen, body - plen - 2, nh)))
		return err;
	if ((err = esp_aead_cbc_encrypt(a, iv, buf + l.hdr, body)))
		return err;
	w = wire_writer(buf, l.hdr);
	wire_write_u32(&w, o->spi);
	wire_write_u32(&w, (uint32_t)seq);
	wire_write_bytes(&w, iv, sizeof(iv));
	if (wire_err(&w))
		return -ENOSPC;
	err = esp_aead_mac(a, buf, l.hdr + body, hi, seq_hi(hi, seq, o->esn), buf + l.hdr + body);
	if (err)
		return err;
	*outlen = total;
	return 0;
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
	if (esp_cipher_is_cbc(esp_aead_cipher(a)))
		return seal_cbc(o, a, nh, buf, cap, plen, outlen);
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

/* Check the trailer of the @p body decrypted bytes at @p p; the inner length and next header. */
static inline int read_trailer(const uint8_t *p, size_t body, size_t *inner, uint8_t *nh)
{
	struct wire r = wire_reader(p, body);
	uint8_t padlen;

	wire_skip(&r, body - 2);
	padlen = wire_read_u8(&r);
	*nh = wire_read_u8(&r);
	if (wire_err(&r) || (size_t)padlen + 2 > body)
		return -EBADMSG;
	r = wire_reader(p + body - 2 - padlen, padlen);
	for (unsigned i = 1; i <= padlen; i++)
		if (wire_read_u8(&r) != (uint8_t)i)
			return -EBADMSG;	/* RFC 4303 §2.4: monotonic padding */
	*inner = body - 2 - padlen;
	return 0;
}

/*
 * The sequence number of a packet to @p spi with low half @p seql: -ENOENT
 * for another SA, else the full number (RFC 4303 Appendix A with ESN) in *@p seq
 * if the replay window would accept it. RFC 4303 §3.4.3: this cheap check
 * comes first; the window moves only after the ICV (done()).
 */
static int seq_check(struct esp_in *in, uint32_t spi, uint32_t seql, uint64_t *seq)
{
	int err;

	if (spi != in->spi)
		return -ENOENT;
	if (in->esn) {
		if ((err = esp_replay_infer(&in->replay, seql, seq)))
			return err;
	} else {
		*seq = seql;
	}
	return esp_replay_check(&in->replay, *seq);
}

/* An authentic packet: count it, then hand over its @p inner bytes at @p off, or say why not. */
static int done(struct esp_in *in, uint64_t seq, uint8_t nh, size_t off, size_t inner,
		struct esp_opened *res)
{
	int err;

	/* authenticated: the packet counts against replay even if we drop it below */
	if ((err = esp_replay_update(&in->replay, seq)))
		return err;
	res->seq = seq;
	if (nh == ESP_NH_NONE)
		return -ENODATA;
	if (nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6)
		return -EPROTONOSUPPORT;
	res->off = off;
	res->len = inner;
	res->nh = nh;
	return 0;
}

static int open_cbc(struct esp_in *in, struct esp_aead *a, uint8_t *buf, size_t len,
		    struct esp_opened *res)
{
	const struct esp_layout l = esp_layout_of(esp_aead_cipher(a));
	struct wire r = wire_reader(buf, len);
	uint8_t iv[ESP_CBC_IV_LEN], icv[ESP_ICV_LEN], hi[4], nh;
	const uint8_t *icvp;
	uint32_t spi, seql;
	size_t body, inner;
	uint64_t seq;
	int err;

	/* at least one block of ciphertext; whole blocks only (RFC 3602 §2.4) */
	if (len < (size_t)l.hdr + 16 + ESP_ICV_LEN)
		return -EBADMSG;
	spi = wire_read_u32(&r);
	seql = wire_read_u32(&r);
	wire_read_bytes(&r, iv, sizeof(iv));
	body = wire_avail(&r) - ESP_ICV_LEN;
	wire_skip(&r, body);
	icvp = wire_read_ref(&r, ESP_ICV_LEN);
	if (wire_err(&r) || !icvp || body % 16)
		return -EBADMSG;
	if ((err = seq_check(in, spi, seql, &seq)))
		return err;
	/* RFC 4303 §3.4.4: the ICV first, and decrypt only what is authentic */
	if ((err = esp_aead_mac(a, buf, len - ESP_ICV_LEN, hi, seq_hi(hi, seq, in->esn), icv)))
		return err;
	if (CRYPTO_memcmp(icv, icvp, ESP_ICV_LEN) != 0)
		return -EKEYREJECTED;
	if ((err = esp_aead_cbc_decrypt(a, iv, buf + l.hdr, body)))
		return err;
	if ((err = read_trailer(buf + l.hdr, body, &inner, &nh)))
		return err;
	return done(in, seq, nh, l.hdr, inner, res);
}

int esp_in_open(struct esp_in *in, struct esp_aead *a, uint8_t *buf, size_t len,
		struct esp_opened *res)
{
	struct wire r = wire_reader(buf, len);
	const uint8_t *ivp, *icv;
	uint8_t aad[12], iv[ESP_IV_LEN], tag[ESP_ICV_LEN], nh;
	uint32_t spi, seql;
	size_t body, aadlen, inner;
	uint64_t seq;
	int err;

	memset(res, 0, sizeof(*res));
	if (esp_cipher_is_cbc(esp_aead_cipher(a)))
		return open_cbc(in, a, buf, len, res);
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
	if ((err = seq_check(in, spi, seql, &seq)))
		return err;

	memcpy(iv, ivp, sizeof(iv));
	memcpy(tag, icv, sizeof(tag));
	aadlen = build_aad(aad, spi, seq, in->esn);
	err = esp_aead_open(a, iv, aad, aadlen, buf + ESP_HDR_LEN, body, tag);
	if (err == -EBADMSG)
		return -EKEYREJECTED;
	if (err)
		return err;

	if ((err = read_trailer(buf + ESP_HDR_LEN, body, &inner, &nh)))
		return err;
	return done(in, seq, nh, ESP_HDR_LEN, inner, res);
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
