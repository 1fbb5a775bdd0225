/*
 * The IKEv2 exchanges (RFC 7296 §1): IKE_SA_INIT, IKE_AUTH with PSK,
 * CREATE_CHILD_SA (child and IKE SA rekeying, §§1.3, 2.8), INFORMATIONAL
 * (Delete, liveness, MOBIKE's UPDATE_SA_ADDRESSES, RFC 4555 §3.5), message
 * IDs and retransmission (§2.1-2.3), cookies (§2.6), NAT detection (§2.23).
 *
 * Each exchange has a builder for its request, a handler for the request
 * (we are responder) and a handler for the response (we are initiator).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "ike/event.h"
#include "ike/exchange.h"
#include "ike/policy.h"
#include "ike/sa.h"
#define BUF IKE_MSG_MAX
#define RETRY_LATER_MS 2000
#define INITIAL_CONTACT_GRACE_MS 10000


static struct ike_sk *sk_out(struct ike_xsa *x) { return x->initiator ? &x->k.i : &x->k.r; }
static const struct ike_sk *sk_in(const struct ike_xsa *x) { return x->initiator ? &x->k.r : &x->k.i; }

static uint64_t rto(const struct ike *ike, unsigned tries)
{
	/* RFC 7296 §2.1: exponential back-off */
	return (uint64_t)ike->conf.retransmit_ms << (tries < 16 ? tries : 16);
}

static uint8_t *dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d)
		memcpy(d, p, n);
	return d;
}

/* the lower of two nonces (RFC 7296 §2.8.1 compares them as octet strings) */
static void set_nmin(uint8_t *dst, size_t *dlen, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (ike_nonce_cmp(a, al, b, bl) <= 0) {
		memcpy(dst, a, al);
		*dlen = al;
	} else {
		memcpy(dst, b, bl);
		*dlen = bl;
	}
}

/* An identity the daemon may print: printable ASCII only. */
static void copy_id(char *dst, const struct ike_ref *id)
{
	size_t n = id->len < IKE_MAX_ID ? id->len : IKE_MAX_ID;

	for (size_t i = 0; i < n; i++)
		dst[i] = (id->p[i] >= 0x20 && id->p[i] < 0x7f) ? (char)id->p[i] : '?';
	dst[n] = 0;
}

/* ---- sending ---- */

static int seal(struct ike *ike, struct ike_xsa *x, const struct ike_hdr *h, struct ike_bld *in, uint8_t *buf)
{
	struct ike_bld b;
	int plen = ike_bld_finish(in);

	if (plen < 0)
		return plen;
	ike_bld_init(&b, buf, BUF, h);
	return ike_sk_seal(sk_out(x), &b, in->first_np, in->w.start, (size_t)plen, &ike->rng);
}

/* Send a request on IKE SA @p x and keep it for retransmission. */
static int send_req(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, enum req_kind kind, uint8_t exch,
		    struct ike_bld *in, uint64_t now)
{
	uint8_t buf[BUF];
	struct ike_hdr h = {
		.spi_i = x->spi_i, .spi_r = x->spi_r, .exch = exch,
		.flags = x->initiator ? IKE_FLAG_I : 0, .mid = x->mid_out,
	};
	int len = seal(ike, x, &h, in, buf);

	if (len < 0)
		return len;
	free(x->req.msg);
	x->req.msg = dup(buf, (size_t)len);
	if (!x->req.msg)
		return -ENOMEM;
	x->req.len = (size_t)len;
	x->req.kind = kind;
	x->req.mid = x->mid_out++;
	x->req.tries = 0;
	x->req.deadline = now + rto(ike, 0);
	ike_event_send(ike, t, &t->local, &t->remote, buf, (size_t)len);
	return 0;
}

/* Answer request @p rq on IKE SA @p x, back to where it came from (RFC 7296 §2.11). */
static int send_resp(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_hdr *rq,
		     struct ike_bld *in, const struct ike_addr *local, const struct ike_addr *remote)
{
	uint8_t buf[BUF];
	struct ike_hdr h = {
		.spi_i = x->spi_i, .spi_r = x->spi_r, .exch = rq->exch,
		.flags = IKE_FLAG_R | (x->initiator ? IKE_FLAG_I : 0), .mid = rq->mid,
	};
	int len = seal(ike, x, &h, in, buf);

	if (len < 0)
		return len;
	free(x->resp);
	x->resp = dup(buf, (size_t)len);
	x->resp_len = x->resp ? (size_t)len : 0;
	x->resp_mid = rq->mid;
	x->mid_in = rq->mid + 1;
	ike_event_send(ike, t, local, remote, buf, (size_t)len);
	return 0;
}

/* An answer carrying one error notify. */
static void resp_error(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_hdr *rq,
		       uint16_t type, const uint8_t *data, size_t len,
		       const struct ike_addr *local, const struct ike_addr *remote)
{
	uint8_t pbuf[256];
	struct ike_bld in;

	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_notify(&in, 0, NULL, 0, type, data, len);
	(void)send_resp(ike, t, x, rq, &in, local, remote);
}

/* An unencrypted IKE_SA_INIT answer with one notify, keeping no state (§2.6, §1.2). */
static void send_init_notify(struct ike *ike, const struct ike_hdr *rq, uint16_t type, const uint8_t *data,
			     size_t len, const struct ike_addr *local, const struct ike_addr *remote)
{
	uint8_t buf[512];
	struct ike_hdr h = { .spi_i = rq->spi_i, .spi_r = 0, .exch = IKE_SA_INIT, .flags = IKE_FLAG_R };
	struct ike_bld b;
	int n;

	ike_bld_init(&b, buf, sizeof(buf), &h);
	ike_bld_notify(&b, 0, NULL, 0, type, data, len);
	n = ike_bld_finish(&b);
	if (n > 0)
		ike_event_send(ike, NULL, local, remote, buf, (size_t)n);
}

/* ---- NAT detection (RFC 7296 §2.23) ---- */

static void bld_natd(struct ike_bld *b, uint64_t spi_i, uint64_t spi_r, const struct ike_addr *local,
		     const struct ike_addr *remote)
{
	uint8_t h[20];

	if (local->family && ike_natd_hash(spi_i, spi_r, local, h) == 0)
		ike_bld_notify(b, 0, NULL, 0, IKE_N_NAT_DETECTION_SOURCE_IP, h, 20);
	if (remote->family && ike_natd_hash(spi_i, spi_r, remote, h) == 0)
		ike_bld_notify(b, 0, NULL, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

/*
 * Compare the peer's hashes with what we see: its source hash against the
 * address the message came from, its destination hash against ours.
 */
static void nat_detect(struct ike_sa *t, const struct ike_msg *m, uint64_t spi_i, uint64_t spi_r,
		       const struct ike_addr *local, const struct ike_addr *remote)
{
	uint8_t hs[20], hd[20];
	bool src = false, src_ok = false, dst = false, dst_ok = false;

	if (ike_natd_hash(spi_i, spi_r, remote, hs) || ike_natd_hash(spi_i, spi_r, local, hd))
		return;
	for (unsigned i = 0; i < m->nn; i++) {
		const struct ike_notify *n = &m->n[i];

		if (n->type == IKE_N_NAT_DETECTION_SOURCE_IP) {
			src = true;
			if (n->data.len == 20 && CRYPTO_memcmp(n->data.p, hs, 20) == 0)
				src_ok = true;
		} else if (n->type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
			dst = true;
			if (n->data.len == 20 && CRYPTO_memcmp(n->data.p, hd, 20) == 0)
				dst_ok = true;
		}
	}
	if (src)
		t->nat_remote = !src_ok;
	if (dst)
		t->nat_local = !dst_ok;
}

/* ---- additional addresses (RFC 4555 §3.4, §3.6) ---- */

/*
 * Our addresses other than the one tunnel @p t runs on, or
 * NO_ADDITIONAL_ADDRESSES when there are none.
 */
static void bld_addrs(struct ike_bld *b, const struct ike *ike, const struct ike_sa *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ike->n_addrs; i++) {
		const struct ike_addr *a = &ike->addrs[i];

		if (a->family == t->local.family && !memcmp(a->ip, t->local.ip, a->family == AF_INET ? 4 : 16))
			continue;
		ike_bld_notify_addr(b, a);
		n++;
	}
	if (!n)
		ike_bld_notify(b, 0, NULL, 0, IKE_N_NO_ADDITIONAL_ADDRESSES, NULL, 0);
}

/*
 * A message that names the peer's addresses replaces the list we keep
 * (§3.6: each list is complete); one that names none leaves it. Malformed
 * entries are skipped, not fatal: they only ever add paths to try.
 */
static void read_addrs(struct ike_sa *t, const struct ike_msg *m)
{
	struct ike_addr list[IKE_MAX_ADDRS];
	unsigned n = 0;
	bool said = false;

	for (unsigned i = 0; i < m->nn; i++) {
		const struct ike_notify *no = &m->n[i];
		struct ike_addr a;

		if (no->type == IKE_N_NO_ADDITIONAL_ADDRESSES) {
			said = true;
			continue;
		}
		if (no->type != IKE_N_ADDITIONAL_IP4_ADDRESS && no->type != IKE_N_ADDITIONAL_IP6_ADDRESS)
			continue;
		said = true;
		if (ike_notify_addr(no, &a) == 0 && n < IKE_MAX_ADDRS)
			list[n++] = a;
	}
	if (!said)
		return;
	memset(t->peer_addrs, 0, sizeof(t->peer_addrs));
	memcpy(t->peer_addrs, list, n * sizeof(list[0]));
	t->n_peer_addrs = n;
}

/* ---- cookies (RFC 7296 §2.6) ---- */

static int make_cookie(const struct ike *ike, uint8_t ver, const uint8_t *secret, const struct ike_ref *ni,
		       const struct ike_addr *remote, uint64_t spi_i, uint8_t out[33])
{
	uint8_t spi[8], port[2];
	struct wire w = wire_writer(port, sizeof(port));
	struct ike_iov iov[5] = {
		{ ni->p, ni->len }, { remote->ip, remote->family == AF_INET ? 4 : 16 }, { port, 2 },
		{ spi, 8 }, { secret, 32 },
	};

	(void)ike;
	wire_write_u16(&w, remote->port);
	ike_spi_put(spi, spi_i, 8);
	out[0] = ver;
	return ike_sha256(iov, 5, out + 1);
}

static bool cookie_ok(const struct ike *ike, const struct ike_notify *n, const struct ike_ref *ni,
		      const struct ike_addr *remote, uint64_t spi_i)
{
	uint8_t want[33], ver;
	const uint8_t *secret;
	struct wire w;

	if (!n || n->data.len != 33)
		return false;
	w = wire_reader(n->data.p, n->data.len);
	ver = wire_read_u8(&w);
	if (ver == ike->cookie_ver)
		secret = ike->cookie_secret;
	else if (ver == (uint8_t)(ike->cookie_ver - 1))
		secret = ike->cookie_prev;
	else
		return false;
	if (make_cookie(ike, ver, secret, ni, remote, spi_i, want))
		return false;
	return CRYPTO_memcmp(want, n->data.p, 33) == 0;
}

/* ---- PSK authentication (RFC 7296 §2.15) ---- */

static int psk_auth(const struct ike_peer *p, const struct ike_xsa *x, bool of_initiator,
		    const uint8_t *msg, size_t mlen, const uint8_t *nonce, size_t nlen,
		    const uint8_t *idbody, size_t idlen, uint8_t *out)
{
	return ike_psk_auth(x->prf, p->psk, p->psk_len, of_initiator ? x->k.pi : x->k.pr, x->k.prf_len,
			    msg, mlen, nonce, nlen, idbody, idlen, out);
}

static size_t id_body(const char *id, uint8_t *out)
{
	size_t n = strlen(id);

	out[0] = IKE_ID_FQDN;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id, n);
	return n + 4;
}

/* ---- certificates (RFC 7427) ---- */

/* RFC 7427 §4: the hashes we verify with: SHA2-256 (ECDSA P-256) and Identity (Ed25519, RFC 8420) */
static void bld_sig_hashes(struct ike_bld *b)
{
	uint8_t d[4];
	struct wire w = wire_writer(d, sizeof(d));

	wire_write_u16(&w, IKE_HASH_SHA2_256);
	wire_write_u16(&w, IKE_HASH_IDENTITY);
	ike_bld_notify(b, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, d, sizeof(d));
}

/* The hashes the peer's SIGNATURE_HASH_ALGORITHMS names, as 1u << number (only 1..15 kept). */
static unsigned peer_sig_hashes(const struct ike_msg *m)
{
	const struct ike_notify *n = ike_msg_notify(m, IKE_N_SIGNATURE_HASH_ALGORITHMS);
	struct wire r;
	unsigned mask = 0;

	if (!n || n->data.len % 2)
		return 0;
	r = wire_reader(n->data.p, n->data.len);
	while (wire_avail(&r) >= 2) {
		uint16_t h = wire_read_u16(&r);

		if (h >= 1 && h < 16)
			mask |= 1u << h;
	}
	return mask;
}

/* RFC 7296 §3.7: one CERTREQ naming the trust anchors of every peer with certificates (up to 8). */
static void bld_certreq_all(const struct ike *ike, struct ike_bld *b)
{
	uint8_t d[8 * IKE_CA_HASH_LEN];
	size_t n = 0;

	for (const struct ike_peer *p = ike->peers; p && n < sizeof(d); p = p->next) {
		bool dup = false;

		if (!p->cred)
			continue;
		for (size_t i = 0; i < n && !dup; i += IKE_CA_HASH_LEN)
			dup = memcmp(d + i, p->cred->ca_hash, IKE_CA_HASH_LEN) == 0;
		if (!dup) {
			memcpy(d + n, p->cred->ca_hash, IKE_CA_HASH_LEN);
			n += IKE_CA_HASH_LEN;
		}
	}
	if (n)
		ike_bld_cert(b, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, d, n);
}

/*
 * Our AUTH (RFC 7296 §2.15): with a PSK the "Key Pad" MAC, with a
 * certificate (RFC 7427 §3) a signature over msg | nonce | prf(SK_p,
 * IDbody), by a hash the peer announced (§4). @p out holds IKE_SIG_MAX.
 */
static int our_auth(const struct ike_sa *t, const struct ike_xsa *x, bool initiator, const uint8_t *msg,
		    size_t mlen, const uint8_t *nonce, size_t nlen, const uint8_t *idb, size_t idl,
		    uint8_t *out, size_t *outlen, uint8_t *method)
{
	const struct ike_peer *p = t->peer;
	uint8_t macid[IKE_PRF_MAX];
	struct ike_iov iov[3];
	int err;

	if (!p->cred) {
		*method = IKE_AUTH_PSK;
		*outlen = x->k.prf_len;
		return psk_auth(p, x, initiator, msg, mlen, nonce, nlen, idb, idl, out);
	}
	if (!(t->peer_hashes & ike_cred_hash_bit(p->cred)))
		return -EACCES;
	iov[0] = (struct ike_iov){ idb, idl };
	err = ike_prf(x->prf, initiator ? x->k.pi : x->k.pr, x->k.prf_len, iov, 1, macid);
	if (!err) {
		iov[0] = (struct ike_iov){ msg, mlen };
		iov[1] = (struct ike_iov){ nonce, nlen };
		iov[2] = (struct ike_iov){ macid, x->k.prf_len };
		*method = IKE_AUTH_DIGITAL_SIGNATURE;
		err = ike_sig_sign(p->cred, iov, 3, out, outlen);
	}
	OPENSSL_cleanse(macid, sizeof(macid));
	return err;
}

/* Check the peer's AUTH, made by the initiator when @p of_initiator, for identity @p id. */
static bool peer_auth_ok(const struct ike *ike, const struct ike_peer *p, const struct ike_xsa *x, bool of_initiator,
			 const struct ike_msg *m, const struct ike_idpl *id, const uint8_t *msg, size_t mlen,
			 const uint8_t *nonce, size_t nlen)
{
	uint8_t mac[IKE_PRF_MAX];
	struct ike_iov iov[3];
	bool ok = false;

	if (!p->cred) {
		if (m->auth_method == IKE_AUTH_PSK && m->auth.len == x->k.prf_len &&
		    psk_auth(p, x, of_initiator, msg, mlen, nonce, nlen, id->body.p, id->body.len, mac) == 0)
			ok = CRYPTO_memcmp(mac, m->auth.p, x->k.prf_len) == 0;
		OPENSSL_cleanse(mac, sizeof(mac));
		return ok;
	}
	/* a peer with certificates authenticates with them, never with a PSK (RFC 7427 §3) */
	if (m->auth_method != IKE_AUTH_DIGITAL_SIGNATURE || id->type != IKE_ID_FQDN)
		return false;
	iov[0] = (struct ike_iov){ id->body.p, id->body.len };
	if (ike_prf(x->prf, of_initiator ? x->k.pi : x->k.pr, x->k.prf_len, iov, 1, mac))
		return false;
	iov[0] = (struct ike_iov){ msg, mlen };
	iov[1] = (struct ike_iov){ nonce, nlen };
	iov[2] = (struct ike_iov){ mac, x->k.prf_len };
	ok = ike_cert_check(p->cred, m->cert, m->ncert, (const char *)id->data.p, id->data.len,
			    ike->conf.wall_clock ? ike->conf.wall_clock() : 0, m->auth.p, m->auth.len, iov, 3) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (ok && p->cert_policy) {
		/* ike_cert_check() took the ID as one of the certificate's names: it is text without NUL */
		char idt[IKE_MAX_ID + 1];

		if (id->data.len > IKE_MAX_ID)
			return false;
		memcpy(idt, id->data.p, id->data.len);
		idt[id->data.len] = '\0';
		ok = p->cert_policy(p->cert_policy_arg, m->cert[0].p, m->cert[0].len, idt) == 0;
	}
	return ok;
}

/* ---- IKE_SA_INIT, initiator ---- */

static int send_init(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	struct ike_prop props[2];
	size_t np = ike_policy_ike_props(t->peer, t->dh.group, NULL, 0, props);
	uint8_t buf[BUF];
	struct ike_hdr h = { .spi_i = x->spi_i, .exch = IKE_SA_INIT, .flags = IKE_FLAG_I, .mid = 0 };
	struct ike_bld b;
	int len;

	ike_bld_init(&b, buf, sizeof(buf), &h);
	/* §2.6: the cookie goes first */
	if (t->cookie_len)
		ike_bld_notify(&b, 0, NULL, 0, IKE_N_COOKIE, t->cookie, t->cookie_len);
	ike_bld_sa(&b, props, np);
	ike_bld_ke(&b, t->dh.group, t->dh.pub, t->dh.pub_len);
	ike_bld_nonce(&b, t->ni, t->ni_len);
	bld_natd(&b, x->spi_i, 0, &t->local, &t->remote);
	if (t->peer->cred)
		bld_sig_hashes(&b);
	len = ike_bld_finish(&b);
	if (len < 0)
		return len;
	free(t->init_req);
	t->init_req = dup(buf, (size_t)len);
	free(x->req.msg);
	x->req.msg = dup(buf, (size_t)len);
	if (!t->init_req || !x->req.msg)
		return -ENOMEM;
	t->init_req_len = x->req.len = (size_t)len;
	x->req.kind = RQ_INIT;
	x->req.mid = 0;
	x->req.tries = 0;
	x->req.deadline = now + rto(ike, 0);
	x->mid_out = 1;
	ike_event_send(ike, t, &t->local, &t->remote, buf, (size_t)len);
	return 0;
}

int ike_exchange_connect(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	int err;

	x->initiator = true;
	x->spi_i = ike_xsa_spi_new(ike);
	x->expire = IKE_NEVER;
	t->state = ST_INIT_SENT;
	t->ni_len = NONCE_LEN;
	err = ike_rng_bytes(&ike->rng, t->ni, NONCE_LEN);
	if (!err)
		err = ike_dh_init(&t->dh, t->peer->dh[0]);
	if (!err)
		err = send_init(ike, t, now);
	return err;
}

static void send_auth(struct ike *ike, struct ike_sa *t, uint64_t now);
static void sa_check_duplicates(struct ike *ike, struct ike_sa *t, uint64_t now);

static int init_response(struct ike *ike, struct ike_sa *t, const struct ike_msg *m, const uint8_t *pkt,
			 size_t len, const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	struct ike_peer *p = t->peer;
	const struct ike_notify *n;
	struct ike_prop props[2], chosen;
	size_t np;
	uint8_t gir[IKE_DH_MAX];
	size_t glen = 0;
	uint16_t kl;
	int err;

	if (m->h.mid != 0 || x->req.kind != RQ_INIT || !p)
		return -EAGAIN;
	if ((n = ike_msg_notify(m, IKE_N_COOKIE)) && !(m->present & IKE_HAS(IKE_PL_SA))) {
		if (n->data.len < 1 || n->data.len > 64 || t->cookie_tries >= COOKIE_RETRIES)
			return -EBADMSG;
		t->cookie_tries++;
		memcpy(t->cookie, n->data.p, n->data.len);
		t->cookie_len = n->data.len;
		return send_init(ike, t, now);
	}
	if ((n = ike_msg_notify(m, IKE_N_INVALID_KE_PAYLOAD)) && !(m->present & IKE_HAS(IKE_PL_SA))) {
		uint16_t g;

		/* §1.2: retry with the group the responder wants, if we accept it */
		if (ike_notify_group(n, &g) || !ike_policy_group_allowed(p, g) || g == t->dh.group ||
		    t->ke_tries >= KE_RETRIES) {
			ike_sa_kill(ike, t, IKE_DOWN_NO_PROPOSAL, IKE_N_INVALID_KE_PAYLOAD);
			return -EPERM;
		}
		t->ke_tries++;
		ike_dh_fini(&t->dh);
		err = ike_dh_init(&t->dh, g);
		if (!err)
			err = send_init(ike, t, now);
		return err;
	}
	for (unsigned i = 0; i < m->nn; i++)
		if (m->n[i].type < 16384 && !(m->present & IKE_HAS(IKE_PL_SA))) {
			ike_sa_kill(ike, t, m->n[i].type == IKE_N_NO_PROPOSAL_CHOSEN ? IKE_DOWN_NO_PROPOSAL :
			       IKE_DOWN_PROTOCOL, m->n[i].type);
			return -EPERM;
		}
	if ((m->present & (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_KE) | IKE_HAS(IKE_PL_NONCE))) !=
	    (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_KE) | IKE_HAS(IKE_PL_NONCE)) || m->h.spi_r == 0)
		return -EBADMSG;
	np = ike_policy_ike_props(p, t->dh.group, NULL, 0, props);
	if (ike_policy_check_reply(&m->sa, props, np, &chosen) ||
	    ike_prop_get(&chosen, IKE_XF_DH, NULL) != t->dh.group || m->ke_group != t->dh.group)
		return -EBADMSG;	/* a bad answer (forged?): keep waiting for a good one */
	err = ike_dh_compute(&t->dh, m->ke.p, m->ke.len, gir, &glen);
	if (err)
		return err;
	x->spi_r = m->h.spi_r;
	x->prf = ike_prop_get(&chosen, IKE_XF_PRF, NULL);
	x->encr = ike_prop_get(&chosen, IKE_XF_ENCR, &kl);
	x->keylen = kl;
	x->integ = ike_prop_get(&chosen, IKE_XF_INTEG, NULL);
	if (x->integ == 0xffff)
		x->integ = 0;
	x->dh_group = t->dh.group;
	memcpy(t->nr, m->nonce.p, m->nonce.len);
	t->nr_len = m->nonce.len;
	err = ike_keys_derive(&x->k, x->prf, x->encr, x->keylen, x->integ, 0, NULL, 0, gir, glen,
			      t->ni, t->ni_len, t->nr, t->nr_len, x->spi_i, x->spi_r);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err)
		return err;
	if (!t->local.family)
		t->local = *local;	/* the daemon did not know its address: now we do */
	nat_detect(t, m, x->spi_i, x->spi_r, local, remote);
	t->peer_hashes = peer_sig_hashes(m);
	/* §2.23: behind a NAT, IKE moves to port 4500 (we normally start there) */
	if ((t->nat_local || t->nat_remote) && t->remote.port == 500) {
		t->remote.port = 4500;
		if (t->local.port == 500)
			t->local.port = 4500;
	}
	free(t->init_resp);
	t->init_resp = dup(pkt, len);
	if (!t->init_resp)
		return -ENOMEM;
	t->init_resp_len = len;
	ike_req_clear(&x->req);
	x->mid_in = 0;
	x->mid_out = 1;
	t->state = ST_AUTH_SENT;
	send_auth(ike, t, now);
	return 0;
}

/* ---- IKE_SA_INIT, responder ---- */

static int init_request(struct ike *ike, const struct ike_msg *m, const uint8_t *pkt, size_t len,
			const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	const uint32_t need = IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_KE) | IKE_HAS(IKE_PL_NONCE);
	struct ike_peer any;
	struct ike_prop chosen;
	uint16_t want = 0, kl;
	struct ike_sa *t;
	struct ike_xsa *x;
	uint8_t gir[IKE_DH_MAX], buf[BUF];
	size_t glen = 0;
	int err, n;

	if (m->h.spi_i == 0 || m->h.spi_r != 0 || m->h.mid != 0)
		return -EBADMSG;
	for (t = ike->sas; t; t = t->next) {
		if (t->state == ST_DEAD || t->initiator || t->x[0].spi_i != m->h.spi_i ||
		    !ike_addr_eq(&t->remote, remote))
			continue;
		/* §2.1: a retransmitted request gets the same answer again */
		if (t->state == ST_HALF_OPEN && t->init_req_len == len && t->x[t->cur].resp &&
		    memcmp(t->init_req, pkt, len) == 0)
			ike_event_send(ike, t, local, remote, t->x[t->cur].resp, t->x[t->cur].resp_len);
		return -EAGAIN;
	}
	if ((m->present & need) != need)
		return -EBADMSG;
	if (ike->conf.cookie_threshold != UINT32_MAX && ike->st.half_open >= ike->conf.cookie_threshold &&
	    !cookie_ok(ike, ike_msg_notify(m, IKE_N_COOKIE), &m->nonce, remote, m->h.spi_i)) {
		uint8_t c[33];

		if (make_cookie(ike, ike->cookie_ver, ike->cookie_secret, &m->nonce, remote, m->h.spi_i, c))
			return -EIO;
		send_init_notify(ike, &m->h, IKE_N_COOKIE, c, sizeof(c), local, remote);
		ike->st.cookies_sent++;
		return 0;
	}
	if (ike->st.half_open >= ike->conf.half_open_max)
		return -EBUSY;
	/* the peer is not known before IKE_AUTH: accept what some configured peer accepts */
	ike_policy_union(ike, &any);
	err = ike_policy_ike_select(&m->sa, &any, m->ke_group, false, &chosen, &want);
	if (err == -EAGAIN) {
		uint8_t g[2];

		ike_group_put(g, want);
		send_init_notify(ike, &m->h, IKE_N_INVALID_KE_PAYLOAD, g, 2, local, remote);
		return 0;
	}
	if (err) {
		send_init_notify(ike, &m->h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote);
		return -EPERM;
	}
	if (m->ke.len != ike_dh_pub_len(m->ke_group))
		return -EBADMSG;
	t = ike_sa_new(ike);
	if (!t)
		return -ENOMEM;
	x = ike_sa_cur(t);
	t->state = ST_HALF_OPEN;
	t->local = *local;
	t->remote = *remote;
	t->created_ms = now;
	t->half_open_expire = now + ike->conf.half_open_ms;
	ike->st.half_open++;
	x->initiator = false;
	x->expire = IKE_NEVER;
	x->spi_i = m->h.spi_i;
	x->spi_r = ike_xsa_spi_new(ike);
	x->prf = ike_prop_get(&chosen, IKE_XF_PRF, NULL);
	x->encr = ike_prop_get(&chosen, IKE_XF_ENCR, &kl);
	x->keylen = kl;
	x->integ = ike_prop_get(&chosen, IKE_XF_INTEG, NULL);
	if (x->integ == 0xffff)
		x->integ = 0;
	x->dh_group = m->ke_group;
	memcpy(t->ni, m->nonce.p, m->nonce.len);
	t->ni_len = m->nonce.len;
	t->nr_len = NONCE_LEN;
	err = ike_rng_bytes(&ike->rng, t->nr, NONCE_LEN);
	if (!err)
		err = ike_dh_init(&t->dh, m->ke_group);
	if (!err)
		err = ike_dh_compute(&t->dh, m->ke.p, m->ke.len, gir, &glen);
	if (!err)
		err = ike_keys_derive(&x->k, x->prf, x->encr, x->keylen, x->integ, 0, NULL, 0, gir, glen,
				      t->ni, t->ni_len, t->nr, t->nr_len, x->spi_i, x->spi_r);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err) {
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
		return err;
	}
	nat_detect(t, m, x->spi_i, 0, local, remote);
	t->peer_hashes = peer_sig_hashes(m);
	t->init_req = dup(pkt, len);
	t->init_req_len = len;
	{
		struct ike_hdr h = { .spi_i = x->spi_i, .spi_r = x->spi_r, .exch = IKE_SA_INIT,
				     .flags = IKE_FLAG_R, .mid = 0 };
		struct ike_bld b;

		chosen.spi_size = 0;
		ike_bld_init(&b, buf, sizeof(buf), &h);
		ike_bld_sa(&b, &chosen, 1);
		ike_bld_ke(&b, t->dh.group, t->dh.pub, t->dh.pub_len);
		ike_bld_nonce(&b, t->nr, t->nr_len);
		bld_natd(&b, x->spi_i, x->spi_r, local, remote);
		/* RFC 7296 §3.7, RFC 7427 §4: whom we trust and which signatures we check */
		for (const struct ike_peer *p = ike->peers; p; p = p->next)
			if (p->cred) {
				bld_certreq_all(ike, &b);
				bld_sig_hashes(&b);
				break;
			}
		n = ike_bld_finish(&b);
	}
	if (n < 0 || !t->init_req) {
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
		return n < 0 ? n : -ENOMEM;
	}
	t->init_resp = dup(buf, (size_t)n);
	x->resp = dup(buf, (size_t)n);
	if (!t->init_resp || !x->resp) {
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
		return -ENOMEM;
	}
	t->init_resp_len = x->resp_len = (size_t)n;
	x->resp_mid = 0;
	x->mid_in = 1;
	x->mid_out = 0;
	t->first_spi_in = ike_child_spi_new(ike, NULL);
	ike_event_send(ike, t, local, remote, buf, (size_t)n);
	return 0;
}

/* ---- IKE_AUTH ---- */

static void child_schedule(struct ike *ike, struct ike_sa *t, struct ike_child *c, uint64_t now)
{
	c->rekey_at = t->peer ? now + ike_rng_jitter(&ike->rng, (uint64_t)t->peer->child_life_s * 1000) : IKE_NEVER;
}

/* Another live tunnel to the same peer identity as @p t? */
static struct ike_sa *other_tunnel(struct ike *ike, struct ike_sa *t)
{
	for (struct ike_sa *u = ike->sas; u; u = u->next)
		if (u != t && u->state == ST_ESTABLISHED && !u->reported && u->peer == t->peer &&
		    strcasecmp(u->remote_id, t->remote_id) == 0)
			return u;
	return NULL;
}

/*
 * RFC 7296 §2.4: INITIAL_CONTACT means the peer has no other SA with us
 * (it restarted): the tunnels we still hold with that identity are stale.
 * Tunnels only just established are spared, so that two ends connecting at
 * once do not tear down each other's fresh SAs (sa_check_duplicates settles
 * those).
 */
static void initial_contact(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_sa *u;

	while ((u = other_tunnel(ike, t)) && u->established_ms + INITIAL_CONTACT_GRACE_MS <= now)
		ike_sa_kill(ike, u, IKE_DOWN_REPLACED, IKE_N_INITIAL_CONTACT);
}

static void send_auth(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	struct ike_peer *p = t->peer;
	uint8_t pbuf[BUF], idb[4 + IKE_MAX_ID], auth[IKE_SIG_MAX], method;
	struct ike_prop props[2];
	size_t np, alen = 0;
	struct ike_bld in;
	size_t idl = id_body(p->local_id, idb);
	int err;

	err = our_auth(t, x, true, t->init_req, t->init_req_len, t->nr, t->nr_len, idb, idl, auth, &alen, &method);
	if (err) {
		/* -EACCES: the responder announced no hash our signature can use (RFC 7427 §4) */
		ike_sa_kill(ike, t, err == -EACCES ? IKE_DOWN_AUTH_FAILED : IKE_DOWN_PROTOCOL, 0);
		return;
	}
	t->first_spi_in = ike_child_spi_new(ike, p);
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_id(&in, IKE_PL_IDI, IKE_ID_FQDN, (const uint8_t *)p->local_id, strlen(p->local_id));
	if (p->cred) {
		/* §1.2: IDi, [CERT,] [CERTREQ,] [IDr,] AUTH */
		ike_bld_cert(&in, IKE_PL_CERT, IKE_CERT_X509_SIG, p->cred->cert_der, p->cred->cert_der_len);
		ike_bld_cert(&in, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, p->cred->ca_hash, IKE_CA_HASH_LEN);
	}
	/* IDr says whom we want to reach (§2.15); the responder's answer must match it */
	ike_bld_id(&in, IKE_PL_IDR, IKE_ID_FQDN, (const uint8_t *)p->remote_id, strlen(p->remote_id));
	ike_bld_auth(&in, method, auth, alen);
	/* RFC 7296 §2.4: the first SA with this peer says so, and the peer drops stale ones */
	if (!other_tunnel(ike, t))
		ike_bld_notify(&in, 0, NULL, 0, IKE_N_INITIAL_CONTACT, NULL, 0);
	if (p->mobike) {
		ike_bld_notify(&in, 0, NULL, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0);
		bld_addrs(&in, ike, t);
	}
	np = ike_policy_esp_props(p, t->first_spi_in, 0, props);
	ike_bld_sa(&in, props, np);
	ike_bld_ts(&in, IKE_PL_TSI, &p->local_ts, 1);
	ike_bld_ts(&in, IKE_PL_TSR, &p->remote_ts, 1);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (send_req(ike, t, x, RQ_AUTH, IKE_AUTH, &in, now))
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
}

static void init_done(struct ike_sa *t)
{
	/* the IKE_SA_INIT messages and the DH key are not needed any more */
	free(t->init_req);
	free(t->init_resp);
	t->init_req = t->init_resp = NULL;
	t->init_req_len = t->init_resp_len = 0;
	ike_dh_fini(&t->dh);
}

static void child_keys(struct ike_child *c, const uint8_t *i2r, const uint8_t *r2i, size_t km, bool initiator)
{
	memset(c->key_out, 0, sizeof(c->key_out));
	memset(c->key_in, 0, sizeof(c->key_in));
	memcpy(c->key_out, initiator ? i2r : r2i, km);
	memcpy(c->key_in, initiator ? r2i : i2r, km);
}

static bool allowed_ike_algs(const struct ike_peer *p, const struct ike_xsa *x)
{
	unsigned pm = x->prf == IKE_PRF_ID_HMAC_SHA2_256 ? IKE_PRF_HMAC_SHA256 :
		      x->prf == IKE_PRF_ID_HMAC_SHA2_384 ? IKE_PRF_HMAC_SHA384 : IKE_PRF_HMAC_SHA512;
	unsigned em = ike_policy_encr_bit(x->encr, (uint16_t)x->keylen);

	return ike_policy_group_allowed(p, x->dh_group) && (p->prf_algs & pm) && (p->encr_algs & em);
}

static int auth_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	struct ike_peer *p = NULL;
	uint8_t pbuf[BUF], idb[4 + IKE_MAX_ID], auth[IKE_SIG_MAX], i2r[64], r2i[64], method;
	struct ike_prop chosen;
	struct ike_ts tsi, tsr;
	struct ike_child *c = NULL;
	struct ike_bld in;
	uint16_t child_err = 0, want;
	enum ike_esp_alg alg = 0;
	size_t idl, km = 0, alen = 0;
	bool ok = false;

	if (t->state != ST_HALF_OPEN)
		return -EAGAIN;
	if (!(m->present & IKE_HAS(IKE_PL_IDI)) || !(m->present & IKE_HAS(IKE_PL_AUTH))) {
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, IKE_N_INVALID_SYNTAX);
		return -EBADMSG;
	}
	copy_id(t->remote_id, &m->idi.data);
	if (m->idi.type == IKE_ID_FQDN)
		p = ike_peer_by_id(ike, m->idi.data.p, m->idi.data.len);
	if (p && (m->present & IKE_HAS(IKE_PL_IDR)) &&
	    (m->idr.type != IKE_ID_FQDN || m->idr.data.len != strlen(p->local_id) ||
	     strncasecmp((const char *)m->idr.data.p, p->local_id, m->idr.data.len) != 0))
		p = NULL;	/* they want someone else */
	t->peer = p;
	if (p && !allowed_ike_algs(p, x)) {
		resp_error(ike, t, x, &m->h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote);
		ike_sa_kill(ike, t, IKE_DOWN_NO_PROPOSAL, IKE_N_NO_PROPOSAL_CHOSEN);
		return -EPERM;
	}
	if (p)
		ok = peer_auth_ok(ike, p, x, true, m, &m->idi, t->init_req, t->init_req_len, t->nr, t->nr_len);
	if (!ok) {
		/* §2.21.2: AUTHENTICATION_FAILED in the (encrypted) answer, then forget the SA */
		resp_error(ike, t, x, &m->h, IKE_N_AUTHENTICATION_FAILED, NULL, 0, local, remote);
		ike_sa_kill(ike, t, IKE_DOWN_AUTH_FAILED, IKE_N_AUTHENTICATION_FAILED);
		return -EACCES;
	}
	t->state = ST_ESTABLISHED;
	if (ike->st.half_open)
		ike->st.half_open--;
	t->half_open_expire = IKE_NEVER;
	t->established_ms = t->last_heard_ms = now;
	t->peer_mobike = ike_msg_notify(m, IKE_N_MOBIKE_SUPPORTED) != NULL;
	t->mobike = t->peer_mobike && p->mobike;
	if (t->mobike)
		read_addrs(t, m);

	/* the peer is known only now: SPIs the daemon was given for it (RFC 3104 §5, lent by an RSIP gateway) */
	if (p->n_spis_in)
		t->first_spi_in = ike_child_spi_new(ike, p);
	/* the first child SA (§1.2); its failure leaves the IKE SA up (§2.21.3) */
	if ((m->present & (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR))) !=
	    (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR)))
		child_err = IKE_N_NO_PROPOSAL_CHOSEN;
	else if (ike_policy_esp_select(&m->sa, p, true, 0, false, &chosen, &want) ||
		 ike_policy_esp_alg(&chosen, &alg, &km))
		child_err = IKE_N_NO_PROPOSAL_CHOSEN;
	else if (ike_ts_narrow(&m->tsi, &p->remote_ts, &tsi) || ike_ts_narrow(&m->tsr, &p->local_ts, &tsr))
		child_err = IKE_N_TS_UNACCEPTABLE;
	else if (ike_child_keymat(x->prf, x->k.d, x->k.prf_len, NULL, 0, t->ni, t->ni_len, t->nr, t->nr_len,
				  i2r, r2i, km) || !(c = ike_child_new(t)))
		child_err = IKE_N_NO_ADDITIONAL_SAS;
	if (c) {
		c->state = CH_UP;
		c->spi_in = t->first_spi_in;
		c->spi_out = (uint32_t)ike_prop_spi(&chosen);
		c->encr = ike_prop_get(&chosen, IKE_XF_ENCR, NULL);
		c->alg = alg;
		c->esn = ike_prop_get(&chosen, IKE_XF_ESN, NULL) == 1;
		c->ts_l = tsr;
		c->ts_r = tsi;
		child_keys(c, i2r, r2i, km, false);
		child_schedule(ike, t, c, now);
		ike_prop_spi_set(&chosen, c->spi_in, 4);
	}
	OPENSSL_cleanse(i2r, sizeof(i2r));
	OPENSSL_cleanse(r2i, sizeof(r2i));

	idl = id_body(p->local_id, idb);
	if (our_auth(t, x, false, t->init_resp, t->init_resp_len, t->ni, t->ni_len, idb, idl, auth, &alen, &method)) {
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
		return -EIO;
	}
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_id(&in, IKE_PL_IDR, IKE_ID_FQDN, (const uint8_t *)p->local_id, strlen(p->local_id));
	if (p->cred)
		ike_bld_cert(&in, IKE_PL_CERT, IKE_CERT_X509_SIG, p->cred->cert_der, p->cred->cert_der_len);
	ike_bld_auth(&in, method, auth, alen);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (t->mobike) {
		ike_bld_notify(&in, 0, NULL, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0);
		bld_addrs(&in, ike, t);
	}
	if (c) {
		ike_bld_sa(&in, &chosen, 1);
		ike_bld_ts(&in, IKE_PL_TSI, &tsi, 1);
		ike_bld_ts(&in, IKE_PL_TSR, &tsr, 1);
	} else {
		ike_bld_notify(&in, 0, NULL, 0, child_err, NULL, 0);
	}
	if (send_resp(ike, t, x, &m->h, &in, local, remote)) {
		ike_sa_kill(ike, t, IKE_DOWN_PROTOCOL, 0);
		return -EIO;
	}
	init_done(t);
	ike_sa_schedule(ike, t, now);
	if (ike_msg_notify(m, IKE_N_INITIAL_CONTACT))
		initial_contact(ike, t, now);
	ike_event_sa(ike, t, IKE_EV_SA_UP);
	if (c)
		ike_event_child_up(ike, t, c, false);
	sa_check_duplicates(ike, t, now);
	return 0;
}

/* Tell the responder its AUTH failed: one INFORMATIONAL, not retransmitted (§2.21.2). */
static void send_auth_failed(struct ike *ike, struct ike_sa *t, struct ike_xsa *x)
{
	uint8_t pbuf[64], buf[BUF];
	struct ike_hdr h = { .spi_i = x->spi_i, .spi_r = x->spi_r, .exch = IKE_INFORMATIONAL,
			     .flags = x->initiator ? IKE_FLAG_I : 0, .mid = x->mid_out++ };
	struct ike_bld in;
	int len;

	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_notify(&in, 0, NULL, 0, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
	len = seal(ike, x, &h, &in, buf);
	if (len > 0)
		ike_event_send(ike, t, &t->local, &t->remote, buf, (size_t)len);
}

static int auth_response(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			 uint64_t now)
{
	struct ike_peer *p = t->peer;
	uint8_t i2r[64], r2i[64];
	struct ike_prop props[2], chosen;
	struct ike_child *c = NULL;
	uint16_t child_err = 0;
	enum ike_esp_alg alg = 0;
	size_t np, km = 0;
	bool ok = false;

	if (ike_msg_notify(m, IKE_N_AUTHENTICATION_FAILED)) {
		ike_sa_kill(ike, t, IKE_DOWN_AUTH_FAILED, IKE_N_AUTHENTICATION_FAILED);
		return -EACCES;
	}
	if (!(m->present & IKE_HAS(IKE_PL_IDR)) || !(m->present & IKE_HAS(IKE_PL_AUTH))) {
		uint16_t err = IKE_N_INVALID_SYNTAX;

		for (unsigned i = 0; i < m->nn; i++)
			if (m->n[i].type < 16384)
				err = m->n[i].type;
		ike_sa_kill(ike, t, err == IKE_N_NO_PROPOSAL_CHOSEN ? IKE_DOWN_NO_PROPOSAL : IKE_DOWN_PROTOCOL, err);
		return -EPERM;
	}
	if (m->idr.type == IKE_ID_FQDN && m->idr.data.len == strlen(p->remote_id) &&
	    strncasecmp((const char *)m->idr.data.p, p->remote_id, m->idr.data.len) == 0)
		ok = peer_auth_ok(ike, p, x, false, m, &m->idr, t->init_resp, t->init_resp_len, t->ni, t->ni_len);
	if (!ok) {
		ike_req_clear(&x->req);
		send_auth_failed(ike, t, x);
		ike_sa_kill(ike, t, IKE_DOWN_AUTH_FAILED, IKE_N_AUTHENTICATION_FAILED);
		return -EACCES;
	}
	ike_req_clear(&x->req);
	t->state = ST_ESTABLISHED;
	t->established_ms = t->last_heard_ms = now;
	t->peer_mobike = ike_msg_notify(m, IKE_N_MOBIKE_SUPPORTED) != NULL;
	t->mobike = t->peer_mobike && p->mobike;
	if (t->mobike)
		read_addrs(t, m);

	np = ike_policy_esp_props(p, t->first_spi_in, 0, props);
	if ((m->present & (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR))) !=
	    (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR))) {
		child_err = IKE_N_NO_PROPOSAL_CHOSEN;
		for (unsigned i = 0; i < m->nn; i++)
			if (m->n[i].type < 16384)
				child_err = m->n[i].type;
	} else if (ike_policy_check_reply(&m->sa, props, np, &chosen) || (chosen.types & (1u << IKE_XF_DH)) ||
		   ike_policy_esp_alg(&chosen, &alg, &km)) {
		child_err = IKE_N_NO_PROPOSAL_CHOSEN;
	} else if (m->tsi.n < 1 || m->tsr.n < 1 || !ike_ts_within(&m->tsi.ts[0], &p->local_ts) ||
		   !ike_ts_within(&m->tsr.ts[0], &p->remote_ts)) {
		child_err = IKE_N_TS_UNACCEPTABLE;
	} else if (ike_child_keymat(x->prf, x->k.d, x->k.prf_len, NULL, 0, t->ni, t->ni_len, t->nr, t->nr_len,
				    i2r, r2i, km) || !(c = ike_child_new(t))) {
		child_err = IKE_N_NO_ADDITIONAL_SAS;
	}
	if (c) {
		c->state = CH_UP;
		c->spi_in = t->first_spi_in;
		c->spi_out = (uint32_t)ike_prop_spi(&chosen);
		c->encr = ike_prop_get(&chosen, IKE_XF_ENCR, NULL);
		c->alg = alg;
		c->esn = ike_prop_get(&chosen, IKE_XF_ESN, NULL) == 1;
		c->ts_l = m->tsi.ts[0];
		c->ts_r = m->tsr.ts[0];
		child_keys(c, i2r, r2i, km, true);
		child_schedule(ike, t, c, now);
	}
	OPENSSL_cleanse(i2r, sizeof(i2r));
	OPENSSL_cleanse(r2i, sizeof(r2i));
	init_done(t);
	ike_sa_schedule(ike, t, now);
	if (!c) {
		/* a tunnel without a child SA carries nothing: close it and say why */
		t->pending |= P_CLOSE;
		t->down_reason = child_err == IKE_N_TS_UNACCEPTABLE ? IKE_DOWN_PROTOCOL : IKE_DOWN_NO_PROPOSAL;
		t->down_notify = child_err;
		ike_exchange_run_tasks(ike, t, now);
		return 0;
	}
	ike_event_sa(ike, t, IKE_EV_SA_UP);
	ike_event_child_up(ike, t, c, false);
	sa_check_duplicates(ike, t, now);
	return 0;
}

/* ---- CREATE_CHILD_SA: rekeying a child SA (RFC 7296 §§1.3.3, 2.8) ---- */

static int start_child_rekey(struct ike *ike, struct ike_sa *t, struct ike_child *old, uint16_t group,
			     unsigned ke_retries, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	struct ike_req *r = &x->req;
	struct ike_peer *p = t->peer;
	struct ike_prop props[2];
	uint8_t pbuf[BUF], spi[4];
	size_t np;
	struct ike_bld in;
	int err;

	ike_req_clear(r);
	r->child_old = old->spi_in;
	r->child_new = ike_child_spi_new(ike, p);
	r->group = group;
	r->ke_retries = ke_retries;
	err = ike_rng_bytes(&ike->rng, r->nonce, NONCE_LEN);
	if (!err && group)
		err = ike_dh_init(&r->dh, group);
	if (err) {
		ike_req_clear(r);
		return err;
	}
	ike_spi_put(spi, old->spi_in, 4);
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_notify(&in, IKE_PROTO_ESP, spi, 4, IKE_N_REKEY_SA, NULL, 0);
	np = ike_policy_esp_props(p, r->child_new, group, props);
	ike_bld_sa(&in, props, np);
	ike_bld_nonce(&in, r->nonce, NONCE_LEN);
	if (group)
		ike_bld_ke(&in, group, r->dh.pub, r->dh.pub_len);
	ike_bld_ts(&in, IKE_PL_TSI, &old->ts_l, 1);
	ike_bld_ts(&in, IKE_PL_TSR, &old->ts_r, 1);
	err = send_req(ike, t, x, RQ_CHILD_REKEY, IKE_CREATE_CHILD_SA, &in, now);
	if (err)
		ike_req_clear(r);
	return err;
}

/*
 * RFC 7296 §2.8.1: when both ends rekeyed the same child SA, the new SA made
 * by the exchange holding the lowest of the four nonces is redundant and is
 * deleted by the end that initiated that exchange; the initiator of the
 * surviving exchange deletes the old SA.
 */
static void resolve_child_rekey(struct ike *ike, struct ike_sa *t, struct ike_child *old, uint64_t now)
{
	struct ike_child *ours = NULL, *theirs = NULL;

	for (int i = 0; i < IKE_MAX_CHILD; i++) {
		struct ike_child *c = &t->child[i];

		if (!c->used || c == old || c->rekeyed_from != old->spi_in || c->state != CH_UP)
			continue;
		if (c->peer_created)
			theirs = c;
		else
			ours = c;
	}
	if (ours && theirs) {
		ike->st.collisions++;
		if (ike_nonce_cmp(ours->nmin, ours->nmin_len, theirs->nmin, theirs->nmin_len) < 0) {
			ours->want_delete = true;
			old->want_delete = false;
			old->expire = now + REPLACED_GRACE_MS;
		} else {
			theirs->expire = now + REPLACED_GRACE_MS;
			old->want_delete = true;
			old->expire = IKE_NEVER;
		}
	} else if (ours) {
		old->want_delete = true;
		old->expire = IKE_NEVER;
	} else if (theirs) {
		old->expire = now + REPLACED_GRACE_MS;	/* the peer deletes it; if not, we do */
	}
}

static void resp_child_not_found(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
				 const struct ike_notify *rn, const struct ike_addr *local, const struct ike_addr *remote)
{
	uint8_t pbuf[64];
	struct ike_bld in;

	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_notify(&in, IKE_PROTO_ESP, rn->spi, 4, IKE_N_CHILD_SA_NOT_FOUND, NULL, 0);
	(void)send_resp(ike, t, x, &m->h, &in, local, remote);
}

static int child_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			 const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	const struct ike_notify *rn = ike_msg_notify(m, IKE_N_REKEY_SA);
	struct ike_peer *p = t->peer;
	struct ike_child *old = NULL, *c;
	struct ike_prop chosen;
	struct ike_ts tsi, tsr;
	struct ike_dh dh = { 0 };
	uint8_t nr[NONCE_LEN], gir[IKE_DH_MAX], i2r[64], r2i[64], pbuf[BUF];
	enum ike_esp_alg alg = 0;
	size_t glen = 0, km = 0;
	uint16_t want = 0, group;
	struct ike_bld in;
	int err;

	/* §2.25.2: no child SA work while this IKE SA is being rekeyed or replaced */
	if (x->req.kind == RQ_IKE_REKEY || x != ike_sa_cur(t)) {
		resp_error(ike, t, x, &m->h, IKE_N_TEMPORARY_FAILURE, NULL, 0, local, remote);
		return -EAGAIN;
	}
	if (rn) {
		if (rn->proto != IKE_PROTO_ESP || rn->spi_size != 4) {
			resp_error(ike, t, x, &m->h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
			return -EBADMSG;
		}
		old = ike_child_by_out(t, (uint32_t)ike_notify_spi(rn));
		if (!old) {
			resp_child_not_found(ike, t, x, m, rn, local, remote);
			return -ENOENT;
		}
		/* §2.25.1: a child SA we are deleting is not rekeyed */
		if (old->state == CH_DELETING || old->want_delete) {
			resp_error(ike, t, x, &m->h, IKE_N_TEMPORARY_FAILURE, NULL, 0, local, remote);
			return -EAGAIN;
		}
	}
	if (!(m->present & IKE_HAS(IKE_PL_TSI)) || !(m->present & IKE_HAS(IKE_PL_TSR))) {
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
		return -EBADMSG;
	}
	err = ike_policy_esp_select(&m->sa, p, false, m->ke_group, (m->present & IKE_HAS(IKE_PL_KE)) != 0,
			     &chosen, &want);
	if (err == -EAGAIN) {
		uint8_t g[2];

		ike_group_put(g, want);
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_KE_PAYLOAD, g, 2, local, remote);
		return -EPERM;
	}
	if (err) {
		resp_error(ike, t, x, &m->h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote);
		return -EPERM;
	}
	if (ike_ts_narrow(&m->tsi, &p->remote_ts, &tsi) || ike_ts_narrow(&m->tsr, &p->local_ts, &tsr)) {
		resp_error(ike, t, x, &m->h, IKE_N_TS_UNACCEPTABLE, NULL, 0, local, remote);
		return -EPERM;
	}
	group = ike_prop_get(&chosen, IKE_XF_DH, NULL);
	if (group == 0xffff)
		group = 0;
	err = ike_policy_esp_alg(&chosen, &alg, &km);
	if (!err)
		err = ike_rng_bytes(&ike->rng, nr, sizeof(nr));
	if (!err && group) {
		err = ike_dh_init(&dh, group);
		if (!err)
			err = ike_dh_compute(&dh, m->ke.p, m->ke.len, gir, &glen);
	}
	if (!err)
		err = ike_child_keymat(x->prf, x->k.d, x->k.prf_len, glen ? gir : NULL, glen,
				       m->nonce.p, m->nonce.len, nr, sizeof(nr), i2r, r2i, km);
	OPENSSL_cleanse(gir, sizeof(gir));
	c = err ? NULL : ike_child_new(t);
	if (!c) {
		ike_dh_fini(&dh);
		OPENSSL_cleanse(i2r, sizeof(i2r));
		OPENSSL_cleanse(r2i, sizeof(r2i));
		resp_error(ike, t, x, &m->h, err ? IKE_N_NO_PROPOSAL_CHOSEN : IKE_N_NO_ADDITIONAL_SAS,
			   NULL, 0, local, remote);
		return err ? err : -ENOSPC;
	}
	c->state = CH_UP;
	c->spi_in = ike_child_spi_new(ike, p);
	c->spi_out = (uint32_t)ike_prop_spi(&chosen);
	c->encr = ike_prop_get(&chosen, IKE_XF_ENCR, NULL);
	c->alg = alg;
	c->esn = ike_prop_get(&chosen, IKE_XF_ESN, NULL) == 1;
	c->ts_l = tsr;
	c->ts_r = tsi;
	c->peer_created = true;
	c->rekeyed_from = old ? old->spi_in : 0;
	set_nmin(c->nmin, &c->nmin_len, m->nonce.p, m->nonce.len, nr, sizeof(nr));
	child_keys(c, i2r, r2i, km, false);
	child_schedule(ike, t, c, now);
	OPENSSL_cleanse(i2r, sizeof(i2r));
	OPENSSL_cleanse(r2i, sizeof(r2i));
	ike_prop_spi_set(&chosen, c->spi_in, 4);

	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_sa(&in, &chosen, 1);
	ike_bld_nonce(&in, nr, sizeof(nr));
	if (group)
		ike_bld_ke(&in, group, dh.pub, dh.pub_len);
	ike_bld_ts(&in, IKE_PL_TSI, &tsi, 1);
	ike_bld_ts(&in, IKE_PL_TSR, &tsr, 1);
	ike_dh_fini(&dh);
	err = send_resp(ike, t, x, &m->h, &in, local, remote);
	if (err) {
		ike_child_free(c);
		return err;
	}
	ike_event_child_up(ike, t, c, old != NULL);
	if (old) {
		ike->st.child_rekeys++;
		if (old->state == CH_UP) {
			old->state = CH_REPLACED;
			old->want_rekey = false;
			old->rekey_at = IKE_NEVER;
		}
		resolve_child_rekey(ike, t, old, now);
	}
	return 0;
}

static int child_rekey_response(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
				uint64_t now)
{
	struct ike_req *r = &x->req;
	struct ike_peer *p = t->peer;
	struct ike_child *old = ike_child_by_in(t, r->child_old), *c;
	struct ike_prop props[2], chosen;
	uint8_t gir[IKE_DH_MAX], i2r[64], r2i[64];
	enum ike_esp_alg alg = 0;
	size_t glen = 0, np, km = 0;
	uint16_t group, g;
	int err;

	for (unsigned i = 0; i < m->nn; i++) {
		const struct ike_notify *n = &m->n[i];

		if (n->type >= 16384)
			continue;
		if (n->type == IKE_N_INVALID_KE_PAYLOAD && old && ike_notify_group(n, &g) == 0) {
			unsigned tries = r->ke_retries;

			if (ike_policy_group_allowed(p, g) && tries < KE_RETRIES) {
				ike_req_clear(r);
				return start_child_rekey(ike, t, old, g, tries + 1, now);
			}
		}
		if (n->type == IKE_N_NO_PROPOSAL_CHOSEN && r->group && old) {
			/* a peer configured without PFS refuses a KE: ask again without one */
			ike_req_clear(r);
			return start_child_rekey(ike, t, old, 0, KE_RETRIES, now);
		}
		ike_req_clear(r);
		if (n->type == IKE_N_CHILD_SA_NOT_FOUND) {
			if (old)
				ike_child_down(ike, t, old);
		} else if (old && old->state == CH_UP) {
			/* TEMPORARY_FAILURE and the like: try again a little later (§2.25) */
			old->rekey_at = now + RETRY_LATER_MS + ike_rng_uniform(&ike->rng, RETRY_LATER_MS);
		}
		return 0;
	}
	np = ike_policy_esp_props(p, r->child_new, r->group, props);
	err = -EBADMSG;
	if ((m->present & (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_NONCE) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR))) ==
	    (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_NONCE) | IKE_HAS(IKE_PL_TSI) | IKE_HAS(IKE_PL_TSR)) &&
	    ike_policy_check_reply(&m->sa, props, np, &chosen) == 0 && m->tsi.n && m->tsr.n &&
	    ike_policy_esp_alg(&chosen, &alg, &km) == 0 &&
	    ike_ts_within(&m->tsi.ts[0], &p->local_ts) && ike_ts_within(&m->tsr.ts[0], &p->remote_ts))
		err = 0;
	group = ike_prop_get(&chosen, IKE_XF_DH, NULL);
	if (group == 0xffff)
		group = 0;
	if (!err && group) {
		if (group != r->group || !(m->present & IKE_HAS(IKE_PL_KE)) || m->ke_group != group)
			err = -EBADMSG;
		else
			err = ike_dh_compute(&r->dh, m->ke.p, m->ke.len, gir, &glen);
	}
	if (!err)
		err = ike_child_keymat(x->prf, x->k.d, x->k.prf_len, glen ? gir : NULL, glen,
				       r->nonce, NONCE_LEN, m->nonce.p, m->nonce.len, i2r, r2i, km);
	OPENSSL_cleanse(gir, sizeof(gir));
	c = err ? NULL : ike_child_new(t);
	if (!c) {
		ike_req_clear(r);
		if (old && old->state == CH_UP)
			old->rekey_at = now + RETRY_LATER_MS + ike_rng_uniform(&ike->rng, RETRY_LATER_MS);
		OPENSSL_cleanse(i2r, sizeof(i2r));
		OPENSSL_cleanse(r2i, sizeof(r2i));
		return err ? err : -ENOSPC;
	}
	c->state = CH_UP;
	c->spi_in = r->child_new;
	c->spi_out = (uint32_t)ike_prop_spi(&chosen);
	c->encr = ike_prop_get(&chosen, IKE_XF_ENCR, NULL);
	c->alg = alg;
	c->esn = ike_prop_get(&chosen, IKE_XF_ESN, NULL) == 1;
	c->ts_l = m->tsi.ts[0];
	c->ts_r = m->tsr.ts[0];
	c->rekeyed_from = old ? old->spi_in : 0;
	set_nmin(c->nmin, &c->nmin_len, r->nonce, NONCE_LEN, m->nonce.p, m->nonce.len);
	child_keys(c, i2r, r2i, km, true);
	child_schedule(ike, t, c, now);
	OPENSSL_cleanse(i2r, sizeof(i2r));
	OPENSSL_cleanse(r2i, sizeof(r2i));
	ike_req_clear(r);
	ike_event_child_up(ike, t, c, false);
	ike->st.child_rekeys++;
	if (old) {
		if (old->state == CH_UP) {
			old->state = CH_REPLACED;
			old->rekey_at = IKE_NEVER;
		}
		resolve_child_rekey(ike, t, old, now);
	}
	return 0;
}

/* ---- CREATE_CHILD_SA: rekeying the IKE SA (RFC 7296 §§1.3.2, 2.18) ---- */

static int start_ike_rekey(struct ike *ike, struct ike_sa *t, uint16_t group, unsigned ke_retries, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	struct ike_req *r = &x->req;
	struct ike_prop props[2];
	uint8_t pbuf[BUF], spi[8];
	struct ike_bld in;
	size_t np;
	int err;

	ike_req_clear(r);
	r->new_spi = ike_xsa_spi_new(ike);
	r->group = group;
	r->ke_retries = ke_retries;
	err = ike_rng_bytes(&ike->rng, r->nonce, NONCE_LEN);
	if (!err)
		err = ike_dh_init(&r->dh, group);
	if (err) {
		ike_req_clear(r);
		return err;
	}
	ike_spi_put(spi, r->new_spi, 8);
	np = ike_policy_ike_props(t->peer, group, spi, 8, props);
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_sa(&in, props, np);
	ike_bld_nonce(&in, r->nonce, NONCE_LEN);
	ike_bld_ke(&in, group, r->dh.pub, r->dh.pub_len);
	err = send_req(ike, t, x, RQ_IKE_REKEY, IKE_CREATE_CHILD_SA, &in, now);
	if (err)
		ike_req_clear(r);
	return err;
}

static int send_delete_ike(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, uint64_t now)
{
	uint8_t pbuf[64];
	struct ike_bld in;

	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_delete(&in, IKE_PROTO_IKE, 0, NULL, 0);
	return send_req(ike, t, x, RQ_DELETE_IKE, IKE_INFORMATIONAL, &in, now);
}

static int xsa_index(struct ike_sa *t, struct ike_xsa *x)
{
	return (int)(x - t->x);
}

/* @p old is replaced by @p x: children move along (they belong to the tunnel) */
static void switch_cur(struct ike *ike, struct ike_sa *t, struct ike_xsa *old, struct ike_xsa *x, uint64_t now)
{
	old->dying = true;
	old->expire = now + REPLACED_GRACE_MS;
	x->dying = false;
	x->expire = IKE_NEVER;
	t->cur = xsa_index(t, x);
	if (t->peer)
		t->rekey_at = now + ike_rng_jitter(&ike->rng, (uint64_t)t->peer->ike_life_s * 1000);
}

static int ike_rekey_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			     const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	struct ike_prop chosen;
	struct ike_xsa *n;
	struct ike_dh dh = { 0 };
	uint8_t nr[NONCE_LEN], gir[IKE_DH_MAX], pbuf[BUF];
	size_t glen = 0;
	uint16_t want = 0, kl;
	struct ike_bld in;
	int err;

	if (x != ike_sa_cur(t) || x->dying || x->req.kind == RQ_CHILD_REKEY) {
		resp_error(ike, t, x, &m->h, IKE_N_TEMPORARY_FAILURE, NULL, 0, local, remote);
		return -EAGAIN;
	}
	if (!(m->present & IKE_HAS(IKE_PL_KE))) {
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
		return -EBADMSG;
	}
	err = ike_policy_ike_select(&m->sa, t->peer, m->ke_group, true, &chosen, &want);
	if (err == -EAGAIN) {
		uint8_t g[2];

		ike_group_put(g, want);
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_KE_PAYLOAD, g, 2, local, remote);
		return -EPERM;
	}
	if (err) {
		resp_error(ike, t, x, &m->h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote);
		return -EPERM;
	}
	n = ike_xsa_new(t);
	if (!n) {
		resp_error(ike, t, x, &m->h, IKE_N_TEMPORARY_FAILURE, NULL, 0, local, remote);
		return -ENOSPC;
	}
	n->initiator = false;
	n->peer_created = true;
	n->spi_i = ike_prop_spi(&chosen);
	n->spi_r = ike_xsa_spi_new(ike);
	n->prf = ike_prop_get(&chosen, IKE_XF_PRF, NULL);
	n->encr = ike_prop_get(&chosen, IKE_XF_ENCR, &kl);
	n->keylen = kl;
	n->integ = ike_prop_get(&chosen, IKE_XF_INTEG, NULL);
	if (n->integ == 0xffff)
		n->integ = 0;
	n->dh_group = m->ke_group;
	err = ike_rng_bytes(&ike->rng, nr, sizeof(nr));
	if (!err)
		err = ike_dh_init(&dh, m->ke_group);
	if (!err)
		err = ike_dh_compute(&dh, m->ke.p, m->ke.len, gir, &glen);
	if (!err)
		err = ike_keys_derive(&n->k, n->prf, n->encr, n->keylen, n->integ, x->prf, x->k.d, x->k.prf_len, gir, glen,
				      m->nonce.p, m->nonce.len, nr, sizeof(nr), n->spi_i, n->spi_r);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err || n->spi_i == 0) {
		ike_dh_fini(&dh);
		ike_xsa_free(n);
		resp_error(ike, t, x, &m->h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote);
		return err ? err : -EBADMSG;
	}
	set_nmin(n->nmin, &n->nmin_len, m->nonce.p, m->nonce.len, nr, sizeof(nr));
	ike_prop_spi_set(&chosen, n->spi_r, 8);
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	ike_bld_sa(&in, &chosen, 1);
	ike_bld_nonce(&in, nr, sizeof(nr));
	ike_bld_ke(&in, n->dh_group, dh.pub, dh.pub_len);
	ike_dh_fini(&dh);
	err = send_resp(ike, t, x, &m->h, &in, local, remote);
	if (err) {
		ike_xsa_free(n);
		return err;
	}
	ike->st.ike_rekeys++;
	/* §2.8.2: if our own rekey is in flight, its answer decides which survives */
	if (x->req.kind != RQ_IKE_REKEY)
		switch_cur(ike, t, x, n, now);
	return 0;
}

static int ike_rekey_response(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			      uint64_t now)
{
	struct ike_req *r = &x->req;
	struct ike_prop props[2], chosen;
	struct ike_xsa *n, *cand = NULL;
	uint8_t gir[IKE_DH_MAX], spi[8];
	size_t glen = 0, np;
	uint16_t kl, g;
	int err;

	for (unsigned i = 0; i < m->nn; i++) {
		const struct ike_notify *nt = &m->n[i];

		if (nt->type >= 16384)
			continue;
		if (nt->type == IKE_N_INVALID_KE_PAYLOAD && ike_notify_group(nt, &g) == 0) {
			unsigned tries = r->ke_retries;

			if (ike_policy_group_allowed(t->peer, g) && tries < KE_RETRIES) {
				ike_req_clear(r);
				return start_ike_rekey(ike, t, g, tries + 1, now);
			}
		}
		ike_req_clear(r);
		t->rekey_at = now + RETRY_LATER_MS + ike_rng_uniform(&ike->rng, RETRY_LATER_MS);
		return 0;
	}
	ike_spi_put(spi, r->new_spi, 8);
	np = ike_policy_ike_props(t->peer, r->group, spi, 8, props);
	err = -EBADMSG;
	if ((m->present & (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_NONCE) | IKE_HAS(IKE_PL_KE))) ==
	    (IKE_HAS(IKE_PL_SA) | IKE_HAS(IKE_PL_NONCE) | IKE_HAS(IKE_PL_KE)) &&
	    ike_policy_check_reply(&m->sa, props, np, &chosen) == 0 &&
	    ike_prop_get(&chosen, IKE_XF_DH, NULL) == r->group && m->ke_group == r->group)
		err = ike_dh_compute(&r->dh, m->ke.p, m->ke.len, gir, &glen);
	n = err ? NULL : ike_xsa_new(t);
	if (!n) {
		OPENSSL_cleanse(gir, sizeof(gir));
		ike_req_clear(r);
		t->rekey_at = now + RETRY_LATER_MS + ike_rng_uniform(&ike->rng, RETRY_LATER_MS);
		return err ? err : -ENOSPC;
	}
	n->initiator = true;
	n->spi_i = r->new_spi;
	n->spi_r = ike_prop_spi(&chosen);
	n->prf = ike_prop_get(&chosen, IKE_XF_PRF, NULL);
	n->encr = ike_prop_get(&chosen, IKE_XF_ENCR, &kl);
	n->keylen = kl;
	n->integ = ike_prop_get(&chosen, IKE_XF_INTEG, NULL);
	if (n->integ == 0xffff)
		n->integ = 0;
	n->dh_group = r->group;
	err = ike_keys_derive(&n->k, n->prf, n->encr, n->keylen, n->integ, x->prf, x->k.d, x->k.prf_len, gir, glen,
			      r->nonce, NONCE_LEN, m->nonce.p, m->nonce.len, n->spi_i, n->spi_r);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err || n->spi_r == 0) {
		ike_xsa_free(n);
		ike_req_clear(r);
		t->rekey_at = now + RETRY_LATER_MS + ike_rng_uniform(&ike->rng, RETRY_LATER_MS);
		return err ? err : -EBADMSG;
	}
	set_nmin(n->nmin, &n->nmin_len, r->nonce, NONCE_LEN, m->nonce.p, m->nonce.len);
	ike_req_clear(r);
	ike->st.ike_rekeys++;
	for (int i = 0; i < IKE_MAX_XSA; i++)
		if (t->x[i].used && &t->x[i] != x && &t->x[i] != n && t->x[i].peer_created && !t->x[i].dying)
			cand = &t->x[i];
	if (cand && ike_nonce_cmp(n->nmin, n->nmin_len, cand->nmin, cand->nmin_len) < 0) {
		/* §2.8.2: ours holds the lowest nonce: we delete it, the peer deletes the old SA */
		ike->st.collisions++;
		switch_cur(ike, t, x, cand, now);
		n->dying = true;
		n->expire = now + REPLACED_GRACE_MS;
		(void)send_delete_ike(ike, t, n, now);
		return 0;
	}
	if (cand) {
		/* theirs is redundant: the peer deletes it */
		ike->st.collisions++;
		cand->dying = true;
		cand->expire = now + REPLACED_GRACE_MS;
	}
	switch_cur(ike, t, x, n, now);
	(void)send_delete_ike(ike, t, x, now);
	return 0;
}

static int ccsa_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	if (t->state != ST_ESTABLISHED || !t->peer || t->reported) {
		resp_error(ike, t, x, &m->h, IKE_N_TEMPORARY_FAILURE, NULL, 0, local, remote);
		return -EAGAIN;
	}
	if (!(m->present & IKE_HAS(IKE_PL_SA)) || !(m->present & IKE_HAS(IKE_PL_NONCE))) {
		resp_error(ike, t, x, &m->h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
		return -EBADMSG;
	}
	if (m->sa.n && m->sa.p[0].proto == IKE_PROTO_IKE)
		return ike_rekey_request(ike, t, x, m, local, remote, now);
	return child_request(ike, t, x, m, local, remote, now);
}

/* ---- INFORMATIONAL (RFC 7296 §1.4, RFC 4555 §3.5) ---- */

static int info_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	uint8_t pbuf[BUF], spis[4 * 64];
	const struct ike_notify *un, *c2;
	struct ike_bld in;
	unsigned nsp = 0;
	bool del_ike = false, moved = false, auth_failed = false;
	int err;

	(void)now;
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	for (unsigned i = 0; i < m->nd; i++) {
		const struct ike_delete *d = &m->d[i];

		if (d->proto == IKE_PROTO_IKE) {
			del_ike = true;
			continue;
		}
		if (d->proto != IKE_PROTO_ESP)
			continue;
		for (unsigned k = 0; k < d->nspi; k++) {
			struct ike_child *c = ike_child_by_out(t, ike_delete_spi(d, k));

			if (!c)
				continue;
			/* §1.4.1: SAs we are deleting ourselves are not named in the answer */
			if (c->state != CH_DELETING && nsp < 64)
				ike_spi_put(spis + 4 * nsp++, c->spi_in, 4);
			ike_child_down(ike, t, c);
		}
	}
	if (del_ike) {
		struct ike_bld empty;

		ike_bld_init_inner(&empty, pbuf, sizeof(pbuf));
		(void)send_resp(ike, t, x, &m->h, &empty, local, remote);
		if (x == ike_sa_cur(t))
			ike_sa_kill(ike, t, IKE_DOWN_PEER_DELETED, 0);
		else
			ike_xsa_free(x);	/* a replaced IKE SA: the tunnel lives on */
		return 0;
	}
	if (nsp)
		ike_bld_delete(&in, IKE_PROTO_ESP, 4, spis, (uint16_t)nsp);
	/* RFC 4555 §3.6: a new list of the peer's addresses, alone or with an address update */
	if (t->mobike && x == ike_sa_cur(t) && t->state == ST_ESTABLISHED)
		read_addrs(t, m);
	un = ike_msg_notify(m, IKE_N_UPDATE_SA_ADDRESSES);
	if (un && t->mobike && x == ike_sa_cur(t) && t->state == ST_ESTABLISHED) {
		/* RFC 4555 §3.5: the addresses of this request become the SA's */
		moved = !ike_addr_eq(&t->remote, remote) || !ike_addr_eq(&t->local, local);
		t->remote = *remote;
		t->local = *local;
		nat_detect(t, m, x->spi_i, x->spi_r, local, remote);
		bld_natd(&in, x->spi_i, x->spi_r, local, remote);
		ike->st.mobike_updates++;
	}
	c2 = ike_msg_notify(m, IKE_N_COOKIE2);
	if (c2 && c2->data.len >= 8 && c2->data.len <= 64)
		ike_bld_notify(&in, 0, NULL, 0, IKE_N_COOKIE2, c2->data.p, c2->data.len);
	auth_failed = ike_msg_notify(m, IKE_N_AUTHENTICATION_FAILED) != NULL;
	err = send_resp(ike, t, x, &m->h, &in, local, remote);
	if (moved && !t->reported)
		ike_event_sa(ike, t, IKE_EV_MOVED);
	if (auth_failed && x == ike_sa_cur(t))
		ike_sa_kill(ike, t, IKE_DOWN_AUTH_FAILED, IKE_N_AUTHENTICATION_FAILED);
	return err;
}

static int info_response(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			 const struct ike_addr *local, const struct ike_addr *remote)
{
	enum req_kind kind = x->req.kind;
	struct ike_child *c;

	switch (kind) {
	case RQ_DELETE_CHILD:
		if ((c = ike_child_by_in(t, x->req.child_old)))
			ike_child_down(ike, t, c);
		for (unsigned i = 0; i < m->nd; i++)
			for (unsigned k = 0; m->d[i].proto == IKE_PROTO_ESP && k < m->d[i].nspi; k++)
				if ((c = ike_child_by_out(t, ike_delete_spi(&m->d[i], k))))
					ike_child_down(ike, t, c);
		break;
	case RQ_DELETE_IKE:
		ike_req_clear(&x->req);
		if (x == ike_sa_cur(t))
			ike_sa_kill(ike, t, t->down_reason ? t->down_reason : IKE_DOWN_CLOSED, t->down_notify);
		else
			ike_xsa_free(x);
		return 0;
	case RQ_MOBIKE:
		if (ike_msg_notify(m, IKE_N_UNACCEPTABLE_ADDRESSES))
			break;	/* the peer refused our new address; the SA stays where the peer has it */
		nat_detect(t, m, x->spi_i, x->spi_r, local, remote);
		ike->st.mobike_updates++;
		if (!t->reported)
			ike_event_sa(ike, t, IKE_EV_MOVED);
		break;
	default:
		break;
	}
	ike_req_clear(&x->req);
	return 0;
}

/* ---- what to do next (window size 1: one request at a time) ---- */

static void report_if_closing(struct ike *ike, struct ike_sa *t)
{
	ike_sa_report_down(ike, t, t->down_reason ? t->down_reason : IKE_DOWN_CLOSED, t->down_notify);
}

void ike_exchange_run_tasks(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	struct ike_xsa *x = ike_sa_cur(t);
	uint8_t pbuf[BUF], spi[4], c2[16];
	struct ike_bld in;

	if (t->state != ST_ESTABLISHED || x->req.kind)
		return;
	ike_bld_init_inner(&in, pbuf, sizeof(pbuf));
	if ((t->pending & P_CLOSE) || !t->peer) {
		t->pending = 0;
		ike_bld_delete(&in, IKE_PROTO_IKE, 0, NULL, 0);
		if (send_req(ike, t, x, RQ_DELETE_IKE, IKE_INFORMATIONAL, &in, now) == 0) {
			report_if_closing(ike, t);
			t->state = ST_CLOSING;
		} else {
			ike_sa_kill(ike, t, t->down_reason ? t->down_reason : IKE_DOWN_CLOSED, t->down_notify);
		}
		return;
	}
	if (t->pending & P_MOBIKE) {
		t->pending &= ~P_MOBIKE;
		ike_bld_notify(&in, 0, NULL, 0, IKE_N_UPDATE_SA_ADDRESSES, NULL, 0);
		bld_natd(&in, x->spi_i, x->spi_r, &t->local, &t->remote);
		if (t->pending & P_ADDRS) {
			/* §3.6: a new address list rides along; a request of its own would wait for this one */
			t->pending &= ~P_ADDRS;
			bld_addrs(&in, ike, t);
		}
		if (ike_rng_bytes(&ike->rng, c2, sizeof(c2)) == 0)
			ike_bld_notify(&in, 0, NULL, 0, IKE_N_COOKIE2, c2, sizeof(c2));
		(void)send_req(ike, t, x, RQ_MOBIKE, IKE_INFORMATIONAL, &in, now);
		return;
	}
	if (t->pending & P_ADDRS) {
		t->pending &= ~P_ADDRS;
		bld_addrs(&in, ike, t);
		(void)send_req(ike, t, x, RQ_ADDRS, IKE_INFORMATIONAL, &in, now);
		return;
	}
	for (int i = 0; i < IKE_MAX_CHILD; i++) {
		struct ike_child *c = &t->child[i];

		if (c->used && c->want_delete && c->state != CH_DELETING) {
			c->want_delete = false;
			c->state = CH_DELETING;
			c->expire = IKE_NEVER;
			ike_spi_put(spi, c->spi_in, 4);
			ike_bld_delete(&in, IKE_PROTO_ESP, 4, spi, 1);
			x->req.child_old = c->spi_in;
			(void)send_req(ike, t, x, RQ_DELETE_CHILD, IKE_INFORMATIONAL, &in, now);
			return;
		}
	}
	if (t->pending & P_IKE_REKEY) {
		t->pending &= ~P_IKE_REKEY;
		if (start_ike_rekey(ike, t, x->dh_group, 0, now))
			t->rekey_at = now + RETRY_LATER_MS;
		return;
	}
	for (int i = 0; i < IKE_MAX_CHILD; i++) {
		struct ike_child *c = &t->child[i];

		if (c->used && c->want_rekey && c->state == CH_UP) {
			c->want_rekey = false;
			if (start_child_rekey(ike, t, c, t->peer->pfs ? x->dh_group : 0, 0, now))
				c->rekey_at = now + RETRY_LATER_MS;
			return;
		}
	}
	if (t->pending & P_DPD) {
		t->pending &= ~P_DPD;
		(void)send_req(ike, t, x, RQ_DPD, IKE_INFORMATIONAL, &in, now);
	}
}

void ike_exchange_retransmit(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, uint64_t now)
{
	if (x->req.tries >= ike->conf.retransmit_tries) {
		enum req_kind k = x->req.kind;

		ike_req_clear(&x->req);
		if (x != ike_sa_cur(t)) {
			ike_xsa_free(x);	/* a replaced IKE SA whose Delete went unanswered */
			return;
		}
		if (k == RQ_DELETE_IKE)
			ike_sa_kill(ike, t, t->down_reason ? t->down_reason : IKE_DOWN_CLOSED, t->down_notify);
		else
			ike_sa_kill(ike, t, IKE_DOWN_TIMEOUT, 0);
		return;
	}
	x->req.tries++;
	x->req.deadline = now + rto(ike, x->req.tries);
	ike->st.retransmits++;
	/* to the SA's current addresses: MOBIKE may have moved it meanwhile */
	ike_event_send(ike, t, &t->local, &t->remote, x->req.msg, x->req.len);
}

/*
 * Two established tunnels with the same peer identity (both ends connected
 * at once): the one with the lower initiator SPI goes, closed by its
 * initiator, so both ends agree without talking.
 */
static void sa_check_duplicates(struct ike *ike, struct ike_sa *t, uint64_t now)
{
	for (struct ike_sa *u = ike->sas; u; u = u->next) {
		struct ike_sa *low;

		if (u == t || u->state != ST_ESTABLISHED || u->reported || u->peer != t->peer ||
		    strcasecmp(u->remote_id, t->remote_id) != 0)
			continue;
		low = ike_sa_cur(t)->spi_i < ike_sa_cur(u)->spi_i ? t : u;
		if (ike_sa_cur(low)->initiator) {
			low->pending |= P_CLOSE;
			low->down_reason = IKE_DOWN_REPLACED;
			ike_exchange_run_tasks(ike, low, now);
			report_if_closing(ike, low);
		}
		return;
	}
}

/* ---- dispatch ---- */

static int handle_request(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			  const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	switch (m->h.exch) {
	case IKE_AUTH:
		return auth_request(ike, t, x, m, local, remote, now);
	case IKE_CREATE_CHILD_SA:
		if (t->state == ST_HALF_OPEN)
			return -EAGAIN;
		return ccsa_request(ike, t, x, m, local, remote, now);
	case IKE_INFORMATIONAL:
		if (t->state == ST_HALF_OPEN)
			return -EAGAIN;
		return info_request(ike, t, x, m, local, remote, now);
	}
	return -EOPNOTSUPP;
}

static int handle_response(struct ike *ike, struct ike_sa *t, struct ike_xsa *x, const struct ike_msg *m,
			   const struct ike_addr *local, const struct ike_addr *remote, uint64_t now)
{
	uint8_t want = x->req.kind == RQ_AUTH ? IKE_AUTH :
		       x->req.kind == RQ_CHILD_REKEY || x->req.kind == RQ_IKE_REKEY ? IKE_CREATE_CHILD_SA :
		       IKE_INFORMATIONAL;

	if (m->h.exch != want)
		return -EBADMSG;
	if (!t->peer && x->req.kind != RQ_DELETE_IKE) {
		ike_req_clear(&x->req);	/* the peer was removed: only the close matters now */
		return 0;
	}
	switch (x->req.kind) {
	case RQ_AUTH:
		return auth_response(ike, t, x, m, now);
	case RQ_CHILD_REKEY:
		return child_rekey_response(ike, t, x, m, now);
	case RQ_IKE_REKEY:
		return ike_rekey_response(ike, t, x, m, now);
	default:
		return info_response(ike, t, x, m, local, remote);
	}
}

int ike_exchange_input(struct ike *ike, const uint8_t *pkt, size_t len, const struct ike_addr *local,
	     const struct ike_addr *remote, uint64_t now)
{
	struct ike_msg m;
	uint8_t plain[BUF];
	size_t plen = 0;
	struct ike_sa *t = NULL;
	struct ike_xsa *x = NULL;
	bool is_req, from_init;
	int err;

	err = ike_msg_parse(pkt, len, &m);
	if (err == -EOPNOTSUPP && m.h.exch == IKE_SA_INIT && !(m.h.flags & IKE_FLAG_R)) {
		uint8_t ty = m.unsupported_critical;

		send_init_notify(ike, &m.h, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &ty, 1, local, remote);
	}
	if (err)
		return err;
	is_req = !(m.h.flags & IKE_FLAG_R);
	from_init = m.h.flags & IKE_FLAG_I;
	if (m.h.exch == IKE_SA_INIT) {
		if (is_req)
			return from_init ? init_request(ike, &m, pkt, len, local, remote, now) : -EBADMSG;
		for (t = ike->sas; t; t = t->next)
			if (t->state == ST_INIT_SENT && ike_sa_cur(t)->spi_i == m.h.spi_i && !from_init)
				return init_response(ike, t, &m, pkt, len, local, remote, now);
		return -ENOENT;
	}
	if (m.h.exch < IKE_AUTH || m.h.exch > IKE_INFORMATIONAL)
		return -EOPNOTSUPP;
	for (t = ike->sas; t && !x; t = t ? t->next : NULL) {
		for (int i = 0; i < IKE_MAX_XSA; i++) {
			struct ike_xsa *c = &t->x[i];

			if (c->used && c->initiator != from_init && c->spi_i == m.h.spi_i && c->spi_r == m.h.spi_r) {
				x = c;
				break;
			}
		}
		if (x)
			break;
	}
	if (!x || t->state == ST_DEAD || t->state == ST_INIT_SENT)
		return -ENOENT;
	if (!(m.present & IKE_HAS(IKE_PL_SK)))
		return -EBADMSG;	/* after IKE_SA_INIT everything is encrypted */
	/* §2.3: the window, checked before spending a decryption */
	if (is_req) {
		if (m.h.mid != x->mid_in && !(x->resp && m.h.mid == x->resp_mid && x->mid_in == x->resp_mid + 1))
			return -EAGAIN;
	} else if (!x->req.kind || m.h.mid != x->req.mid) {
		return -EAGAIN;
	}
	err = ike_sk_open(sk_in(x), pkt, len, m.sk_off, plain, sizeof(plain), &plen);
	if (err)
		return -EBADMSG;
	if (is_req && m.h.mid != x->mid_in) {
		/* §2.1: a retransmitted request gets the same answer again */
		ike_event_send(ike, t, local, remote, x->resp, x->resp_len);
		OPENSSL_cleanse(plain, plen);
		return -EAGAIN;
	}
	err = ike_msg_parse_inner(&m, m.sk_np, plain, plen);
	if (err) {
		if (is_req) {
			uint8_t ty = m.unsupported_critical;

			if (err == -EOPNOTSUPP)
				resp_error(ike, t, x, &m.h, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &ty, 1, local, remote);
			else
				resp_error(ike, t, x, &m.h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote);
		}
		OPENSSL_cleanse(plain, plen);
		return err;
	}
	/* authentic from here on */
	t->last_heard_ms = now;
	if (t->state == ST_ESTABLISHED && t->peer && t->peer->dpd_s != UINT32_MAX)
		t->dpd_at = now + (uint64_t)t->peer->dpd_s * 1000;
	if (t->state == ST_ESTABLISHED && !t->mobike && t->nat_remote && x == ike_sa_cur(t) &&
	    !ike_addr_eq(&t->remote, remote) && !t->reported) {
		/* §2.23: a peer behind a NAT may show up at a new address; follow it */
		t->remote = *remote;
		ike_event_sa(ike, t, IKE_EV_MOVED);
	}
	if (is_req)
		err = handle_request(ike, t, x, &m, local, remote, now);
	else
		err = handle_response(ike, t, x, &m, local, remote, now);
	OPENSSL_cleanse(plain, plen);
	if (t->state != ST_DEAD)
		ike_exchange_run_tasks(ike, t, now);
	return err;
}
