/*
 * IKEv2 message codec (RFC 7296 §3). Every read goes through lib/wire; a
 * message is accepted only when every length field agrees with its
 * container exactly.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ike/msg.h"

int ike_hdr_parse(struct wire *w, struct ike_hdr *h)
{
	h->spi_i = wire_read_u64(w);
	h->spi_r = wire_read_u64(w);
	h->np = wire_read_u8(w);
	h->version = wire_read_u8(w);
	h->exch = wire_read_u8(w);
	h->flags = wire_read_u8(w);
	h->mid = wire_read_u32(w);
	h->length = wire_read_u32(w);
	if (wire_err(w))
		return -EBADMSG;
	/* RFC 7296 §2.5: a different major version is refused */
	if ((h->version >> 4) != 2)
		return -EPROTO;
	return 0;
}

bool ike_xf_supported(uint8_t type, uint16_t id, uint16_t keylen)
{
	switch (type) {
	case IKE_XF_ENCR:
		/* RFC 8247 §2.1, RFC 8221 §5: 128- and 256-bit AES keys */
		if (id == IKE_ENCR_ID_AES_GCM_16 || id == IKE_ENCR_ID_AES_CBC)
			return keylen == 256 || keylen == 128;
		/* RFC 7634 §2: ChaCha20-Poly1305 carries no Key Length attribute */
		return id == IKE_ENCR_ID_CHACHA20_POLY1305 && keylen == 0;
	case IKE_XF_PRF:
		return keylen == 0 && id >= IKE_PRF_ID_HMAC_SHA2_256 && id <= IKE_PRF_ID_HMAC_SHA2_512;
	case IKE_XF_INTEG:
		return keylen == 0 && (id == IKE_INTEG_ID_NONE ||
				       (id >= IKE_INTEG_ID_HMAC_SHA2_256_128 &&
					id <= IKE_INTEG_ID_HMAC_SHA2_512_256));
	case IKE_XF_DH:
		/* 0 is NONE: in child SA proposals it makes PFS optional */
		return keylen == 0 && (id == 0 || id == IKE_DH_MODP2048 || id == IKE_DH_MODP3072 ||
				       id == IKE_DH_ECP256 || id == IKE_DH_ECP384 || id == IKE_DH_CURVE25519);
	case IKE_XF_ESN:
		return keylen == 0 && id <= 1;
	}
	return false;
}

/* RFC 7296 §3.3.2 and §3.3.5: one transform and its attributes. */
static int parse_transform(struct wire *w, bool last, struct ike_prop *p)
{
	uint8_t more = wire_read_u8(w), type;
	uint16_t len, id, keylen = 0;
	bool understood = true;
	struct wire t;

	wire_skip(w, 1);
	len = wire_read_u16(w);
	if (wire_err(w) || len < 8)
		return -EBADMSG;
	if (more != (last ? 0 : 3))
		return -EBADMSG;
	t = wire_sub(w, len - 4u);
	type = wire_read_u8(&t);
	wire_skip(&t, 1);
	id = wire_read_u16(&t);
	while (!wire_err(&t) && wire_avail(&t) > 0) {
		uint16_t at = wire_read_u16(&t), v = wire_read_u16(&t);

		if (at & 0x8000) {
			/* TV form: the value is the 16 bits just read */
			if ((at & 0x7fff) == IKE_ATTR_KEY_LENGTH && keylen == 0 && v != 0)
				keylen = v;
			else
				understood = false;
		} else {
			/* TLV form: never used for an attribute we know */
			wire_skip(&t, v);
			understood = false;
		}
	}
	if (wire_err(&t) || wire_err(w))
		return -EBADMSG;
	if (type >= IKE_XF_ENCR && type <= IKE_XF_ESN)
		p->types |= (uint8_t)(1u << type);
	else
		p->unknown = true;
	/* §3.3.6: a transform with an attribute we do not understand is not chosen */
	if (understood && ike_xf_supported(type, id, keylen) && p->nxf < IKE_MAX_XF)
		p->xf[p->nxf++] = (struct ike_xf){ .type = type, .id = id, .keylen = keylen };
	return 0;
}

/* RFC 7296 §3.3.1: a proposal substructure. */
static int parse_proposal(struct wire *w, struct ike_prop *p, uint8_t expect_num, bool *last)
{
	uint8_t more = wire_read_u8(w), ntrans;
	uint16_t len;
	struct wire s;
	int err;

	wire_skip(w, 1);
	len = wire_read_u16(w);
	if (wire_err(w) || len < 8 || (more != 0 && more != 2))
		return -EBADMSG;
	*last = more == 0;
	s = wire_sub(w, len - 4u);
	memset(p, 0, sizeof(*p));
	p->num = wire_read_u8(&s);
	p->proto = wire_read_u8(&s);
	p->spi_size = wire_read_u8(&s);
	ntrans = wire_read_u8(&s);
	if (wire_err(&s))
		return -EBADMSG;
	/* proposals are numbered 1, 2, 3... */
	if (p->num != expect_num || ntrans == 0)
		return -EBADMSG;
	if (p->spi_size != 0 && p->spi_size != 4 && p->spi_size != 8)
		return -EBADMSG;
	wire_read_bytes(&s, p->spi, p->spi_size);
	for (unsigned i = 0; i < ntrans; i++) {
		err = parse_transform(&s, i + 1 == ntrans, p);
		if (err)
			return err;
	}
	if (wire_err(&s) || wire_avail(&s) != 0)
		return -EBADMSG;
	return 0;
}

static int parse_sa(struct wire *w, struct ike_sapl *sa, bool response)
{
	bool last = false;
	unsigned num = 0;

	sa->n = 0;
	while (!last) {
		struct ike_prop tmp, *p = sa->n < IKE_MAX_PROPS ? &sa->p[sa->n] : &tmp;
		int err;

		if (++num > 255)
			return -EBADMSG;
		/*
		 * RFC 7296 §3.3.1: proposals made are numbered 1, 2, 3...; the one
		 * proposal of an answer keeps the number of the one it accepts.
		 */
		if (num == 1 && response) {
			struct wire peek = *w;	/* the Proposal Num field, 4 bytes in */

			wire_skip(&peek, 4);
			num = wire_read_u8(&peek);
			if (wire_err(&peek) || num == 0)
				num = 1;	/* parse_proposal reports it */
		}
		err = parse_proposal(w, p, (uint8_t)num, &last);
		if (err)
			return err;
		if (p != &tmp)
			sa->n++;
	}
	/* the last proposal must end the payload, and nothing may follow it */
	return wire_avail(w) == 0 ? 0 : -EBADMSG;
}

static int parse_ts(struct wire *w, struct ike_tslist *l)
{
	uint8_t n = wire_read_u8(w);

	wire_skip(w, 3);
	if (wire_err(w) || n == 0)
		return -EBADMSG;
	l->n = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t type = wire_read_u8(w), proto = wire_read_u8(w);
		uint16_t len = wire_read_u16(w);
		struct wire s;
		struct ike_ts ts = { .proto = proto };
		size_t alen;

		if (wire_err(w) || len < 8)
			return -EBADMSG;
		s = wire_sub(w, len - 4u);
		ts.port_lo = wire_read_u16(&s);
		ts.port_hi = wire_read_u16(&s);
		if (type == IKE_TS_IPV4 || type == IKE_TS_IPV6) {
			alen = type == IKE_TS_IPV4 ? 4 : 16;
			if (len != 8 + 2 * alen)
				return -EBADMSG;
			ts.family = type == IKE_TS_IPV4 ? AF_INET : AF_INET6;
			wire_read_bytes(&s, ts.start, alen);
			wire_read_bytes(&s, ts.end, alen);
			if (wire_err(&s))
				return -EBADMSG;
			if (l->n < IKE_MAX_TS)
				l->ts[l->n++] = ts;
		}
		/* selector types we do not know are skipped: nothing can be narrowed to them */
		if (wire_err(&s) || wire_err(w))
			return -EBADMSG;
	}
	return wire_avail(w) == 0 ? 0 : -EBADMSG;
}

static struct ike_ref rest(struct wire *w)
{
	size_t n = wire_avail(w);

	return (struct ike_ref){ .p = wire_read_ref(w, n), .len = n };
}

static int parse_id(struct wire *w, struct ike_idpl *id)
{
	struct wire s;

	id->body = rest(w);
	if (wire_err(w) || id->body.len < 5)
		return -EBADMSG;
	s = wire_reader(id->body.p, id->body.len);
	id->type = wire_read_u8(&s);
	wire_skip(&s, 3);
	id->data = rest(&s);
	return wire_err(&s) ? -EBADMSG : 0;
}

static int parse_notify(struct wire *w, struct ike_msg *m)
{
	struct ike_notify nt = { 0 };

	nt.proto = wire_read_u8(w);
	nt.spi_size = wire_read_u8(w);
	nt.type = wire_read_u16(w);
	if (wire_err(w) || nt.spi_size > 8)
		return -EBADMSG;
	wire_read_bytes(w, nt.spi, nt.spi_size);
	nt.data = rest(w);
	if (wire_err(w))
		return -EBADMSG;
	if (m->nn < IKE_MAX_NOTIFY)
		m->n[m->nn++] = nt;
	return 0;
}

static int parse_delete(struct wire *w, struct ike_msg *m)
{
	struct ike_delete d = { 0 };

	d.proto = wire_read_u8(w);
	d.spi_size = wire_read_u8(w);
	d.nspi = wire_read_u16(w);
	if (wire_err(w))
		return -EBADMSG;
	/* RFC 7296 §3.11: IKE deletes carry no SPI; ESP/AH SPIs are 4 bytes */
	if (d.proto == IKE_PROTO_IKE) {
		if (d.spi_size != 0 || d.nspi != 0)
			return -EBADMSG;
	} else if (d.proto == IKE_PROTO_ESP || d.proto == IKE_PROTO_AH) {
		if (d.spi_size != 4 || d.nspi == 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	if (wire_avail(w) != (size_t)d.nspi * d.spi_size)
		return -EBADMSG;
	d.spis = rest(w);
	if (m->nd < IKE_MAX_DELETE)
		m->d[m->nd++] = d;
	return 0;
}

/*
 * RFC 7296 §3.6 and §3.7: an encoding, then a certificate or a list of CA
 * hashes. Only X.509 signature certificates (4) are kept, at most
 * IKE_MAX_CERT of them in order (the first is the end entity); other
 * encodings are skipped. A CERTREQ for 4 is a concatenation of 20-byte
 * SHA-1 hashes.
 */
static int parse_cert(struct wire *b, struct ike_msg *m, bool cert)
{
	uint8_t enc = wire_read_u8(b);
	struct ike_ref data = rest(b);

	if (wire_err(b))
		return -EBADMSG;
	if (enc != IKE_CERT_X509_SIG)
		return 0;
	if (cert) {
		if (data.len == 0)
			return -EBADMSG;
		if (m->ncert < IKE_MAX_CERT)
			m->cert[m->ncert++] = data;
		return 0;
	}
	if (data.len % 20)
		return -EBADMSG;
	if (m->ncertreq < IKE_MAX_CERTREQ)
		m->certreq[m->ncertreq++] = data;
	return 0;
}

static bool singleton(uint8_t type)
{
	switch (type) {
	case IKE_PL_SA: case IKE_PL_KE: case IKE_PL_IDI: case IKE_PL_IDR:
	case IKE_PL_AUTH: case IKE_PL_NONCE: case IKE_PL_TSI: case IKE_PL_TSR:
		return true;
	}
	return false;
}

static int parse_payload(struct ike_msg *m, uint8_t type, struct wire *b)
{
	int err = 0;

	switch (type) {
	case IKE_PL_SA:
		err = parse_sa(b, &m->sa, (m->h.flags & IKE_FLAG_R) != 0);
		break;
	case IKE_PL_KE:
		m->ke_group = wire_read_u16(b);
		wire_skip(b, 2);
		m->ke = rest(b);
		if (wire_err(b) || m->ke.len == 0)
			err = -EBADMSG;
		break;
	case IKE_PL_NONCE:
		m->nonce = rest(b);
		/* RFC 7296 §3.9: 16 to 256 octets */
		if (m->nonce.len < 16 || m->nonce.len > 256)
			err = -EBADMSG;
		break;
	case IKE_PL_IDI:
		err = parse_id(b, &m->idi);
		break;
	case IKE_PL_IDR:
		err = parse_id(b, &m->idr);
		break;
	case IKE_PL_AUTH:
		m->auth_method = wire_read_u8(b);
		wire_skip(b, 3);
		m->auth = rest(b);
		if (wire_err(b) || m->auth.len == 0)
			err = -EBADMSG;
		break;
	case IKE_PL_N:
		err = parse_notify(b, m);
		break;
	case IKE_PL_D:
		err = parse_delete(b, m);
		break;
	case IKE_PL_TSI:
		err = parse_ts(b, &m->tsi);
		break;
	case IKE_PL_TSR:
		err = parse_ts(b, &m->tsr);
		break;
	case IKE_PL_CERT:
	case IKE_PL_CERTREQ:
		err = parse_cert(b, m, type == IKE_PL_CERT);
		break;
	default:
		/* V, CP, EAP: known, not used; their content is skipped */
		break;
	}
	if (err)
		return err;
	return wire_err(b) ? -EBADMSG : 0;
}

static bool known(uint8_t type)
{
	return (type >= IKE_PL_SA && type <= IKE_PL_EAP);
}

static int parse_chain(struct ike_msg *m, uint8_t np, struct wire *r, bool outer)
{
	while (np != IKE_PL_NONE) {
		size_t start = wire_offset(r);
		uint8_t next = wire_read_u8(r), flags = wire_read_u8(r);
		uint16_t len = wire_read_u16(r);
		struct wire body;
		int err;

		if (wire_err(r) || len < 4)
			return -EBADMSG;
		body = wire_sub(r, len - 4u);
		if (wire_err(r))
			return -EBADMSG;
		if (np == IKE_PL_SK) {
			/* §3.14: SK is the last payload; its "next payload" names the first inner one */
			if (!outer || wire_avail(r) != 0 || (m->present & IKE_HAS(IKE_PL_SK)))
				return -EBADMSG;
			m->present |= IKE_HAS(IKE_PL_SK);
			m->sk_off = start;
			m->sk_np = next;
			return 0;
		}
		if (!known(np)) {
			/* §2.5: an unknown payload is skipped unless marked critical */
			if (flags & 0x80) {
				m->unsupported_critical = np;
				return -EOPNOTSUPP;
			}
			np = next;
			continue;
		}
		if (singleton(np) && (m->present & IKE_HAS(np)))
			return -EBADMSG;
		m->present |= IKE_HAS(np);
		err = parse_payload(m, np, &body);
		if (err)
			return err;
		if (wire_avail(&body) != 0)
			return -EBADMSG;
		np = next;
	}
	return wire_avail(r) == 0 ? 0 : -EBADMSG;
}

int ike_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m)
{
	struct wire r = wire_reader(buf, len);
	int err;

	memset(m, 0, sizeof(*m));
	err = ike_hdr_parse(&r, &m->h);
	if (err)
		return err;
	if (m->h.length != len || len > IKE_MSG_MAX)
		return -EBADMSG;
	return parse_chain(m, m->h.np, &r, true);
}

int ike_msg_parse_inner(struct ike_msg *m, uint8_t np, const uint8_t *buf, size_t len)
{
	struct wire r = wire_reader(buf, len);

	return parse_chain(m, np, &r, false);
}

const struct ike_notify *ike_msg_notify(const struct ike_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->nn; i++)
		if (m->n[i].type == type)
			return &m->n[i];
	return NULL;
}

/* SPIs are 4 (ESP) or 8 (IKE) bytes in network order (RFC 7296 §3.3.1). */
static uint64_t spi_read(const uint8_t *p, uint8_t size)
{
	struct wire w = wire_reader(p, size);

	if (size == 4)
		return wire_read_u32(&w);
	if (size == 8)
		return wire_read_u64(&w);
	return 0;
}

uint64_t ike_prop_spi(const struct ike_prop *p)
{
	return spi_read(p->spi, p->spi_size);
}

void ike_prop_spi_set(struct ike_prop *p, uint64_t spi, uint8_t size)
{
	ike_spi_put(p->spi, spi, size);
	p->spi_size = size;
}

uint64_t ike_notify_spi(const struct ike_notify *n)
{
	return spi_read(n->spi, n->spi_size);
}

int ike_notify_group(const struct ike_notify *n, uint16_t *group)
{
	struct wire w = wire_reader(n->data.p, n->data.len);

	*group = wire_read_u16(&w);
	if (wire_err(&w) || wire_avail(&w)) {
		*group = 0;
		return -EBADMSG;
	}
	return 0;
}

int ike_notify_addr(const struct ike_notify *n, struct ike_addr *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];
	struct wire w = wire_reader(n->data.p, n->data.len);
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (n->type == IKE_N_ADDITIONAL_IP4_ADDRESS)
		out->family = AF_INET, alen = 4;
	else if (n->type == IKE_N_ADDITIONAL_IP6_ADDRESS)
		out->family = AF_INET6, alen = 16;
	else
		return -ENOENT;
	wire_read_bytes(&w, out->ip, alen);
	if (wire_err(&w) || wire_avail(&w) || !memcmp(out->ip, zero, alen) ||
	    (alen == 4 && (out->ip[0] >= 224 || out->ip[0] == 127)) ||
	    (alen == 16 && (out->ip[0] == 0xff || !memcmp(out->ip, mapped, 12) ||
			    (!memcmp(out->ip, zero, 15) && out->ip[15] == 1)))) {
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	return 0;
}

void ike_bld_notify_addr(struct ike_bld *b, const struct ike_addr *a)
{
	if (a->family == AF_INET)
		ike_bld_notify(b, 0, NULL, 0, IKE_N_ADDITIONAL_IP4_ADDRESS, a->ip, 4);
	else if (a->family == AF_INET6)
		ike_bld_notify(b, 0, NULL, 0, IKE_N_ADDITIONAL_IP6_ADDRESS, a->ip, 16);
}

uint32_t ike_delete_spi(const struct ike_delete *d, unsigned k)
{
	struct wire w = wire_reader(d->spis.p, d->spis.len);
	uint32_t spi;

	if (d->spi_size != 4 || k >= d->nspi)
		return 0;
	wire_skip(&w, (size_t)k * 4);
	spi = wire_read_u32(&w);
	return wire_err(&w) ? 0 : spi;
}

void ike_spi_put(uint8_t *out, uint64_t spi, uint8_t size)
{
	struct wire w = wire_writer(out, size);

	if (size == 4)
		wire_write_u32(&w, (uint32_t)spi);
	else if (size == 8)
		wire_write_u64(&w, spi);
}

void ike_group_put(uint8_t out[2], uint16_t group)
{
	struct wire w = wire_writer(out, 2);

	wire_write_u16(&w, group);
}

/* ---- building ---- */

void ike_bld_init(struct ike_bld *b, uint8_t *buf, size_t cap, const struct ike_hdr *h)
{
	b->w = wire_writer(buf, cap);
	b->first_np = 0;
	b->inner = false;
	wire_write_u64(&b->w, h->spi_i);
	wire_write_u64(&b->w, h->spi_r);
	b->np_off = wire_offset(&b->w);
	b->np_next = IKE_VERSION;
	wire_write_u8(&b->w, IKE_PL_NONE);
	wire_write_u8(&b->w, IKE_VERSION);
	wire_write_u8(&b->w, h->exch);
	wire_write_u8(&b->w, h->flags);
	wire_write_u32(&b->w, h->mid);
	wire_write_u32(&b->w, 0);
}

void ike_bld_init_inner(struct ike_bld *b, uint8_t *buf, size_t cap)
{
	b->w = wire_writer(buf, cap);
	b->np_off = SIZE_MAX;
	b->np_next = 0;
	b->first_np = IKE_PL_NONE;
	b->inner = true;
}

size_t ike_bld_open(struct ike_bld *b, uint8_t type)
{
	size_t off;

	if (b->np_off == SIZE_MAX)
		b->first_np = type;
	else
		wire_patch_u16(&b->w, b->np_off, (uint16_t)(type << 8 | b->np_next));
	off = wire_offset(&b->w);
	wire_write_u32(&b->w, 0);	/* next payload, flags, length: patched later */
	b->np_off = off;
	b->np_next = 0;
	return off;
}

void ike_bld_close(struct ike_bld *b, size_t off)
{
	size_t len = wire_offset(&b->w) - off;

	if (len > 0xffff)
		wire_fail(&b->w, -ENOSPC);
	wire_patch_u16(&b->w, off + 2, (uint16_t)len);
}

int ike_bld_finish(struct ike_bld *b)
{
	size_t len = wire_offset(&b->w);

	if (!b->inner)
		wire_patch_u32(&b->w, 24, (uint32_t)len);
	if (wire_err(&b->w))
		return wire_err(&b->w);
	if (len > IKE_MSG_MAX)
		return -ENOSPC;
	return (int)len;
}

void ike_bld_sa(struct ike_bld *b, const struct ike_prop *props, size_t n)
{
	size_t off = ike_bld_open(b, IKE_PL_SA);

	for (size_t i = 0; i < n; i++) {
		const struct ike_prop *p = &props[i];
		size_t poff = wire_offset(&b->w);

		wire_write_u8(&b->w, i + 1 == n ? 0 : 2);
		wire_write_u8(&b->w, 0);
		wire_write_u16(&b->w, 0);
		wire_write_u8(&b->w, p->num);
		wire_write_u8(&b->w, p->proto);
		wire_write_u8(&b->w, p->spi_size);
		wire_write_u8(&b->w, p->nxf);
		wire_write_bytes(&b->w, p->spi, p->spi_size);
		for (unsigned j = 0; j < p->nxf; j++) {
			const struct ike_xf *x = &p->xf[j];

			wire_write_u8(&b->w, j + 1 == p->nxf ? 0 : 3);
			wire_write_u8(&b->w, 0);
			wire_write_u16(&b->w, x->keylen ? 12 : 8);
			wire_write_u8(&b->w, x->type);
			wire_write_u8(&b->w, 0);
			wire_write_u16(&b->w, x->id);
			if (x->keylen) {
				wire_write_u16(&b->w, 0x8000 | IKE_ATTR_KEY_LENGTH);
				wire_write_u16(&b->w, x->keylen);
			}
		}
		wire_patch_u16(&b->w, poff + 2, (uint16_t)(wire_offset(&b->w) - poff));
	}
	ike_bld_close(b, off);
}

void ike_bld_ke(struct ike_bld *b, uint16_t group, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, IKE_PL_KE);

	wire_write_u16(&b->w, group);
	wire_write_u16(&b->w, 0);
	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_nonce(struct ike_bld *b, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, IKE_PL_NONCE);

	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_id(struct ike_bld *b, uint8_t pltype, uint8_t idtype, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, pltype);

	wire_write_u8(&b->w, idtype);
	wire_write_zero(&b->w, 3);
	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_cert(struct ike_bld *b, uint8_t pltype, uint8_t enc, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, pltype);

	wire_write_u8(&b->w, enc);
	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_auth(struct ike_bld *b, uint8_t method, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, IKE_PL_AUTH);

	wire_write_u8(&b->w, method);
	wire_write_zero(&b->w, 3);
	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_notify(struct ike_bld *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const uint8_t *data, size_t len)
{
	size_t off = ike_bld_open(b, IKE_PL_N);

	wire_write_u8(&b->w, proto);
	wire_write_u8(&b->w, spi_size);
	wire_write_u16(&b->w, type);
	wire_write_bytes(&b->w, spi, spi_size);
	wire_write_bytes(&b->w, data, len);
	ike_bld_close(b, off);
}

void ike_bld_delete(struct ike_bld *b, uint8_t proto, uint8_t spi_size, const uint8_t *spis, uint16_t n)
{
	size_t off = ike_bld_open(b, IKE_PL_D);

	wire_write_u8(&b->w, proto);
	wire_write_u8(&b->w, spi_size);
	wire_write_u16(&b->w, n);
	wire_write_bytes(&b->w, spis, (size_t)spi_size * n);
	ike_bld_close(b, off);
}

void ike_bld_ts(struct ike_bld *b, uint8_t pltype, const struct ike_ts *ts, size_t n)
{
	size_t off = ike_bld_open(b, pltype);

	wire_write_u8(&b->w, (uint8_t)n);
	wire_write_zero(&b->w, 3);
	for (size_t i = 0; i < n; i++) {
		size_t alen = ts[i].family == AF_INET ? 4 : 16;

		wire_write_u8(&b->w, ts[i].family == AF_INET ? IKE_TS_IPV4 : IKE_TS_IPV6);
		wire_write_u8(&b->w, ts[i].proto);
		wire_write_u16(&b->w, (uint16_t)(8 + 2 * alen));
		wire_write_u16(&b->w, ts[i].port_lo);
		wire_write_u16(&b->w, ts[i].port_hi);
		wire_write_bytes(&b->w, ts[i].start, alen);
		wire_write_bytes(&b->w, ts[i].end, alen);
	}
	ike_bld_close(b, off);
}
