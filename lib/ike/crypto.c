/*
 * IKEv2 cryptography through OpenSSL 3 (EVP only; no deprecated calls).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ike/crypto.h"

static const char *prf_digest(uint16_t prf_id)
{
	switch (prf_id) {
	case IKE_PRF_ID_HMAC_SHA2_256: return "SHA256";
	case IKE_PRF_ID_HMAC_SHA2_384: return "SHA384";
	case IKE_PRF_ID_HMAC_SHA2_512: return "SHA512";
	}
	return NULL;
}

size_t ike_prf_size(uint16_t prf_id)
{
	switch (prf_id) {
	case IKE_PRF_ID_HMAC_SHA2_256: return 32;
	case IKE_PRF_ID_HMAC_SHA2_384: return 48;
	case IKE_PRF_ID_HMAC_SHA2_512: return 64;
	}
	return 0;
}

static int hmac(const char *digest, const uint8_t *key, size_t klen, const struct ike_iov *iov,
		size_t n, uint8_t *out, size_t outcap)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int err = -EIO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!c || !EVP_MAC_init(c, key, klen, params))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (iov[i].len && !EVP_MAC_update(c, iov[i].p, iov[i].len))
			goto out;
	if (EVP_MAC_final(c, out, &outl, outcap))
		err = 0;
out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return err;
}

int ike_prf(uint16_t prf_id, const uint8_t *key, size_t klen, const struct ike_iov *iov, size_t n,
	    uint8_t *out)
{
	const char *d = prf_digest(prf_id);

	if (!d || klen == 0)
		return -EINVAL;
	return hmac(d, key, klen, iov, n, out, ike_prf_size(prf_id));
}

int ike_prfplus(uint16_t prf_id, const uint8_t *key, size_t klen, const struct ike_iov *seed,
		size_t n, uint8_t *out, size_t outlen)
{
	size_t hl = ike_prf_size(prf_id), done = 0;
	uint8_t t[IKE_PRF_MAX], ctr = 1;
	struct ike_iov iov[10];
	int err = 0;

	if (!hl || n > 8 || outlen > 255 * hl)
		return -EINVAL;
	/* T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) */
	while (done < outlen) {
		size_t k = 0, take;

		if (ctr > 1)
			iov[k++] = (struct ike_iov){ t, hl };
		for (size_t i = 0; i < n; i++)
			iov[k++] = seed[i];
		iov[k++] = (struct ike_iov){ &ctr, 1 };
		err = ike_prf(prf_id, key, klen, iov, k, t);
		if (err)
			break;
		take = outlen - done < hl ? outlen - done : hl;
		memcpy(out + done, t, take);
		done += take;
		ctr++;
	}
	OPENSSL_cleanse(t, sizeof(t));
	return err;
}

/* ---- Diffie-Hellman ---- */

size_t ike_dh_pub_len(uint16_t group)
{
	switch (group) {
	case IKE_DH_MODP2048: return 256;
	case IKE_DH_MODP3072: return 384;
	case IKE_DH_ECP256: return 64;	/* RFC 5903 §7: x | y, no point format byte */
	case IKE_DH_ECP384: return 96;
	case IKE_DH_CURVE25519: return 32;
	}
	return 0;
}

/* OpenSSL's names: the curve of an ECP group, the named group of a MODP group */
static const char *ec_curve(uint16_t group)
{
	return group == IKE_DH_ECP256 ? "prime256v1" : group == IKE_DH_ECP384 ? "secp384r1" : NULL;
}

static const char *modp_name(uint16_t group)
{
	return group == IKE_DH_MODP2048 ? "modp_2048" : group == IKE_DH_MODP3072 ? "modp_3072" : NULL;
}

static int dh_fill_pub(struct ike_dh *dh)
{
	EVP_PKEY *pk = dh->pkey;
	uint8_t tmp[97];
	size_t len = 0, want = ike_dh_pub_len(dh->group);
	BIGNUM *bn = NULL;

	switch (dh->group) {
	case IKE_DH_CURVE25519:
		len = sizeof(dh->pub);
		if (!EVP_PKEY_get_raw_public_key(pk, dh->pub, &len) || len != 32)
			return -EIO;
		break;
	case IKE_DH_ECP256:
	case IKE_DH_ECP384:
		if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						     tmp, sizeof(tmp), &len) || len != want + 1 || tmp[0] != 4)
			return -EIO;
		memcpy(dh->pub, tmp + 1, want);
		len = want;
		break;
	case IKE_DH_MODP2048:
	case IKE_DH_MODP3072:
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PUB_KEY, &bn))
			return -EIO;
		if (BN_bn2binpad(bn, dh->pub, (int)want) != (int)want) {
			BN_free(bn);
			return -EIO;
		}
		BN_free(bn);
		len = want;
		break;
	default:
		return -EINVAL;
	}
	dh->pub_len = len;
	return 0;
}

int ike_dh_init(struct ike_dh *dh, uint16_t group)
{
	EVP_PKEY *pk = NULL;
	int err;

	memset(dh, 0, sizeof(*dh));
	dh->group = group;
	switch (group) {
	case IKE_DH_CURVE25519:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	case IKE_DH_ECP256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case IKE_DH_ECP384:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case IKE_DH_MODP2048:
	case IKE_DH_MODP3072: {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		OSSL_PARAM p[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)modp_name(group), 0),
			OSSL_PARAM_construct_end(),
		};

		if (c && EVP_PKEY_keygen_init(c) > 0 && EVP_PKEY_CTX_set_params(c, p) > 0)
			(void)EVP_PKEY_generate(c, &pk);
		EVP_PKEY_CTX_free(c);
		break;
	}
	default:
		return -EINVAL;
	}
	if (!pk)
		return -EIO;
	dh->pkey = pk;
	err = dh_fill_pub(dh);
	if (err)
		ike_dh_fini(dh);
	return err;
}

static EVP_PKEY *pkey_fromdata(const char *type, int selection, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (c && EVP_PKEY_fromdata_init(c) > 0)
		(void)EVP_PKEY_fromdata(c, &pk, selection, params);
	EVP_PKEY_CTX_free(c);
	return pk;
}

/* 2^priv mod p for a MODP group, with p taken from OpenSSL's named group. */
static EVP_PKEY *modp_from_priv(uint16_t group, const uint8_t *priv, size_t len)
{
	struct ike_dh tmp;
	BIGNUM *p = NULL, *x = BN_bin2bn(priv, (int)len, NULL), *g = BN_new(), *y = BN_new();
	BN_CTX *bc = BN_CTX_new();
	OSSL_PARAM_BLD *pb = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pk = NULL;

	if (ike_dh_init(&tmp, group))
		goto out;
	if (!EVP_PKEY_get_bn_param(tmp.pkey, OSSL_PKEY_PARAM_FFC_P, &p))
		goto out_tmp;
	if (!x || !g || !y || !bc || !BN_set_word(g, 2) || !BN_mod_exp(y, g, x, p, bc))
		goto out_tmp;
	pb = OSSL_PARAM_BLD_new();
	if (!pb || !OSSL_PARAM_BLD_push_utf8_string(pb, OSSL_PKEY_PARAM_GROUP_NAME, modp_name(group), 0) ||
	    !OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_PRIV_KEY, x) ||
	    !OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out_tmp;
	params = OSSL_PARAM_BLD_to_param(pb);
	if (params)
		pk = pkey_fromdata("DH", EVP_PKEY_KEYPAIR, params);
out_tmp:
	ike_dh_fini(&tmp);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(pb);
	BN_clear_free(x);
	BN_free(p);
	BN_free(g);
	BN_free(y);
	BN_CTX_free(bc);
	return pk;
}

int ike_dh_init_priv(struct ike_dh *dh, uint16_t group, const uint8_t *priv, size_t len)
{
	EVP_PKEY *pk = NULL;
	int err;

	memset(dh, 0, sizeof(*dh));
	dh->group = group;
	switch (group) {
	case IKE_DH_CURVE25519:
		if (len == 32)
			pk = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, len);
		break;
	case IKE_DH_ECP256:
	case IKE_DH_ECP384: {
		/* priv | x | y, each a coordinate long: OpenSSL 3.0 does not derive the public point itself */
		size_t cs = ike_dh_pub_len(group) / 2;
		uint8_t pt[97];
		BIGNUM *x = len == 3 * cs ? BN_bin2bn(priv, (int)cs, NULL) : NULL;
		OSSL_PARAM_BLD *pb = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params = NULL;

		pt[0] = 4;
		if (len == 3 * cs)
			memcpy(pt + 1, priv + cs, 2 * cs);
		if (x && pb && OSSL_PARAM_BLD_push_utf8_string(pb, OSSL_PKEY_PARAM_GROUP_NAME, ec_curve(group), 0) &&
		    OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_PRIV_KEY, x) &&
		    OSSL_PARAM_BLD_push_octet_string(pb, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * cs) &&
		    (params = OSSL_PARAM_BLD_to_param(pb)))
			pk = pkey_fromdata("EC", EVP_PKEY_KEYPAIR, params);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(pb);
		BN_clear_free(x);
		break;
	}
	case IKE_DH_MODP2048:
	case IKE_DH_MODP3072:
		if (len > 0 && len <= ike_dh_pub_len(group))
			pk = modp_from_priv(group, priv, len);
		break;
	default:
		return -EINVAL;
	}
	if (!pk)
		return -EINVAL;
	dh->pkey = pk;
	err = dh_fill_pub(dh);
	if (err)
		ike_dh_fini(dh);
	return err;
}

static EVP_PKEY *peer_key(uint16_t group, const uint8_t *peer, size_t len)
{
	EVP_PKEY *pk = NULL;

	if (len != ike_dh_pub_len(group))
		return NULL;
	switch (group) {
	case IKE_DH_CURVE25519:
		return EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, len);
	case IKE_DH_ECP256:
	case IKE_DH_ECP384: {
		uint8_t pt[97];
		OSSL_PARAM p[3];

		pt[0] = 4;
		memcpy(pt + 1, peer, len);
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							(char *)(uintptr_t)ec_curve(group), 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + len);
		p[2] = OSSL_PARAM_construct_end();
		return pkey_fromdata("EC", EVP_PKEY_PUBLIC_KEY, p);
	}
	case IKE_DH_MODP2048:
	case IKE_DH_MODP3072: {
		BIGNUM *y = BN_bin2bn(peer, (int)len, NULL);
		OSSL_PARAM_BLD *pb = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params = NULL;

		if (y && pb && OSSL_PARAM_BLD_push_utf8_string(pb, OSSL_PKEY_PARAM_GROUP_NAME, modp_name(group), 0) &&
		    OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_PUB_KEY, y) &&
		    (params = OSSL_PARAM_BLD_to_param(pb)))
			pk = pkey_fromdata("DH", EVP_PKEY_PUBLIC_KEY, params);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(pb);
		BN_free(y);
		return pk;
	}
	}
	return NULL;
}

int ike_dh_compute(const struct ike_dh *dh, const uint8_t *peer, size_t len, uint8_t *secret,
		   size_t *slen)
{
	EVP_PKEY *pp = dh->pkey ? peer_key(dh->group, peer, len) : NULL;
	EVP_PKEY_CTX *c = NULL, *chk = NULL;
	size_t outl = IKE_DH_MAX, want;
	uint8_t acc = 0;
	int err = -EBADMSG;

	if (!pp)
		goto out;
	if (dh->group != IKE_DH_CURVE25519) {
		/* RFC 7296 §5: the peer's value must be a valid element of the group */
		chk = EVP_PKEY_CTX_new_from_pkey(NULL, pp, NULL);
		if (!chk || EVP_PKEY_public_check(chk) <= 0)
			goto out;
	}
	c = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL);
	if (!c || EVP_PKEY_derive_init(c) <= 0)
		goto out;
	if (modp_name(dh->group) && EVP_PKEY_CTX_set_dh_pad(c, 1) <= 0)
		goto out;
	if (EVP_PKEY_derive_set_peer(c, pp) <= 0 || EVP_PKEY_derive(c, secret, &outl) <= 0)
		goto out;
	/* RFC 5903 §7: the ECP shared secret is the x coordinate alone */
	want = ec_curve(dh->group) ? ike_dh_pub_len(dh->group) / 2 : ike_dh_pub_len(dh->group);
	if (outl != want)
		goto out;
	/* RFC 8031 §2.2: an all-zero X25519 result means a small-order point */
	for (size_t i = 0; i < outl; i++)
		acc |= secret[i];
	if (!acc)
		goto out;
	*slen = outl;
	err = 0;
out:
	if (err)
		OPENSSL_cleanse(secret, IKE_DH_MAX);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pp);
	return err;
}

void ike_dh_fini(struct ike_dh *dh)
{
	EVP_PKEY_free(dh->pkey);
	dh->pkey = NULL;
	dh->pub_len = 0;
}

/* ---- key derivation ---- */

size_t ike_encr_keylen(uint16_t encr, uint16_t keybits)
{
	switch (encr) {
	case IKE_ENCR_ID_AES_GCM_16:	/* RFC 5282 §7: key + 4-byte salt */
		return keybits == 128 || keybits == 256 ? keybits / 8u + 4 : 0;
	case IKE_ENCR_ID_AES_CBC:
		return keybits == 128 || keybits == 256 ? keybits / 8u : 0;
	case IKE_ENCR_ID_CHACHA20_POLY1305: return keybits ? 0 : 36;
	}
	return 0;
}

size_t ike_integ_keylen(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_ID_HMAC_SHA2_256_128: return 32;
	case IKE_INTEG_ID_HMAC_SHA2_384_192: return 48;
	case IKE_INTEG_ID_HMAC_SHA2_512_256: return 64;
	}
	return 0;
}

int ike_keys_derive(struct ike_keys *k, uint16_t prf, uint16_t encr, uint16_t keybits, uint16_t integ,
		    uint16_t old_prf, const uint8_t *old_d, size_t old_d_len,
		    const uint8_t *gir, size_t gir_len,
		    const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
		    uint64_t spi_i, uint64_t spi_r)
{
	uint8_t seed[IKE_PRF_MAX], spis[16], km[3 * IKE_PRF_MAX + 2 * IKE_ENCR_KEY_MAX + 2 * IKE_INTEG_KEY_MAX];
	size_t pl = ike_prf_size(prf), el = ike_encr_keylen(encr, keybits), al = ike_integ_keylen(integ), off = 0;
	struct ike_iov iov[3];
	int err;

	memset(k, 0, sizeof(*k));
	if (!pl || !el || (encr != IKE_ENCR_ID_AES_GCM_16 && !al) || ni_len + nr_len > 512 ||
	    (old_d && !ike_prf_size(old_prf)))
		return -EINVAL;
	if (old_d) {
		iov[0] = (struct ike_iov){ gir, gir_len };
		iov[1] = (struct ike_iov){ ni, ni_len };
		iov[2] = (struct ike_iov){ nr, nr_len };
		err = ike_prf(old_prf, old_d, old_d_len, iov, 3, seed);
	} else {
		/* SKEYSEED = prf(Ni | Nr, g^ir): the key is the nonces' concatenation */
		uint8_t nn[512];

		memcpy(nn, ni, ni_len);
		memcpy(nn + ni_len, nr, nr_len);
		iov[0] = (struct ike_iov){ gir, gir_len };
		err = ike_prf(prf, nn, ni_len + nr_len, iov, 1, seed);
		OPENSSL_cleanse(nn, sizeof(nn));
	}
	if (err)
		return err;
	for (int i = 0; i < 8; i++) {
		spis[i] = (uint8_t)(spi_i >> (56 - 8 * i));
		spis[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
	}
	{
		struct ike_iov s[3] = { { ni, ni_len }, { nr, nr_len }, { spis, 16 } };
		size_t need = 3 * pl + 2 * el + 2 * al;

		/* SKEYSEED has the length of the PRF that made it (the old one on rekey) */
		err = ike_prfplus(prf, seed, old_d ? ike_prf_size(old_prf) : pl, s, 3, km, need);
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	if (err)
		return err;
	k->prf = prf;
	k->prf_len = pl;
	/* SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr */
	memcpy(k->d, km + off, pl); off += pl;
	memcpy(k->i.akey, km + off, al); off += al;
	memcpy(k->r.akey, km + off, al); off += al;
	memcpy(k->i.ekey, km + off, el); off += el;
	memcpy(k->r.ekey, km + off, el); off += el;
	memcpy(k->pi, km + off, pl); off += pl;
	memcpy(k->pr, km + off, pl);
	k->i.encr = k->r.encr = encr;
	k->i.integ = k->r.integ = encr == IKE_ENCR_ID_AES_GCM_16 ? 0 : integ;
	k->i.ekey_len = k->r.ekey_len = el;
	k->i.akey_len = k->r.akey_len = al;
	OPENSSL_cleanse(km, sizeof(km));
	return 0;
}

void ike_keys_wipe(struct ike_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t dlen, const uint8_t *gir, size_t gir_len,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
		     uint8_t *i2r, uint8_t *r2i, size_t each)
{
	struct ike_iov s[3];
	uint8_t km[2 * 128];
	size_t n = 0;
	int err;

	if (each > 128)
		return -EINVAL;
	if (gir && gir_len)
		s[n++] = (struct ike_iov){ gir, gir_len };
	s[n++] = (struct ike_iov){ ni, ni_len };
	s[n++] = (struct ike_iov){ nr, nr_len };
	err = ike_prfplus(prf, sk_d, dlen, s, n, km, 2 * each);
	if (!err) {
		memcpy(i2r, km, each);
		memcpy(r2i, km + each, each);
	}
	OPENSSL_cleanse(km, sizeof(km));
	return err;
}

int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len, const uint8_t *sk_p, size_t plen,
		 const uint8_t *msg, size_t mlen, const uint8_t *nonce, size_t nlen,
		 const uint8_t *idbody, size_t idlen, uint8_t *out)
{
	static const char key_pad[] = "Key Pad for IKEv2";	/* 17 octets, no NUL */
	uint8_t macid[IKE_PRF_MAX], key[IKE_PRF_MAX];
	size_t hl = ike_prf_size(prf);
	struct ike_iov iov[3];
	int err;

	iov[0] = (struct ike_iov){ idbody, idlen };
	err = ike_prf(prf, sk_p, plen, iov, 1, macid);
	if (!err) {
		iov[0] = (struct ike_iov){ key_pad, sizeof(key_pad) - 1 };
		err = ike_prf(prf, psk, psk_len, iov, 1, key);
	}
	if (!err) {
		iov[0] = (struct ike_iov){ msg, mlen };
		iov[1] = (struct ike_iov){ nonce, nlen };
		iov[2] = (struct ike_iov){ macid, hl };
		err = ike_prf(prf, key, hl, iov, 3, out);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(macid, sizeof(macid));
	return err;
}

/* ---- the SK payload ---- */

static size_t iv_len(uint16_t encr)
{
	return encr == IKE_ENCR_ID_AES_CBC ? 16 : 8;
}

static size_t icv_len(const struct ike_sk *k)
{
	/* AES-GCM-16: 16-byte tag; HMAC-SHA2-N: N/2 bits truncated (RFC 4868) */
	if (k->encr == IKE_ENCR_ID_AES_GCM_16)
		return 16;
	return k->akey_len / 2;
}

static const char *integ_digest(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_ID_HMAC_SHA2_256_128: return "SHA256";
	case IKE_INTEG_ID_HMAC_SHA2_384_192: return "SHA384";
	case IKE_INTEG_ID_HMAC_SHA2_512_256: return "SHA512";
	}
	return NULL;
}

static int gcm(bool enc, const struct ike_sk *k, const uint8_t iv[8], const uint8_t *aad, size_t aadlen,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int outl = 0, ok;

	if (!c)
		return -ENOMEM;
	/* RFC 5282 §4: nonce = salt (last 4 bytes of the key material) | explicit IV */
	memcpy(nonce, k->ekey + k->ekey_len - 4, 4);
	memcpy(nonce + 4, iv, 8);
	ok = EVP_CipherInit_ex(c, k->ekey_len == 20 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	     EVP_CipherInit_ex(c, NULL, NULL, k->ekey, nonce, enc) &&
	     EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen) &&
	     EVP_CipherUpdate(c, out, &outl, in, (int)len);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + outl, &outl) > 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}

static int cbc(bool enc, const struct ike_sk *k, const uint8_t iv[16], const uint8_t *in, size_t len,
	       uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, k->ekey_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL, k->ekey, iv, enc) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) &&
	     EVP_CipherUpdate(c, out, &outl, in, (int)len) &&
	     EVP_CipherFinal_ex(c, out + outl, &outl) > 0;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}

int ike_sk_seal(struct ike_sk *k, struct ike_bld *b, uint8_t first_np, const uint8_t *plain, size_t plen,
		const struct ike_rng *rng)
{
	uint8_t buf[IKE_MSG_MAX], iv[16], icv[IKE_INTEG_KEY_MAX];
	size_t ivl = iv_len(k->encr), icvl = icv_len(k), padded, off, total;
	const char *dg = integ_digest(k->integ);
	int err;

	if (k->encr != IKE_ENCR_ID_AES_GCM_16 && (k->encr != IKE_ENCR_ID_AES_CBC || !dg))
		return -EINVAL;
	/* payloads | padding | pad length; GCM needs no padding, CBC whole blocks */
	padded = plen + 1;
	if (k->encr == IKE_ENCR_ID_AES_CBC)
		padded = (padded + 15) / 16 * 16;
	if (padded > sizeof(buf))
		return -ENOSPC;
	if (plen)
		memcpy(buf, plain, plen);
	memset(buf + plen, 0, padded - plen - 1);
	buf[padded - 1] = (uint8_t)(padded - plen - 1);

	off = ike_bld_open(b, IKE_PL_SK);
	/* the SK header's "next payload" names the first payload inside */
	wire_patch_u16(&b->w, off, (uint16_t)(first_np << 8));
	total = off + 4 + ivl + padded + icvl;
	if (total > IKE_MSG_MAX || 4 + ivl + padded + icvl > 0xffff) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -ENOSPC;
	}
	wire_patch_u16(&b->w, off + 2, (uint16_t)(4 + ivl + padded + icvl));
	if (!b->inner)
		wire_patch_u32(&b->w, 24, (uint32_t)total);
	if (wire_err(&b->w)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return wire_err(&b->w);
	}
	if (k->encr == IKE_ENCR_ID_AES_GCM_16) {
		/* a counter makes the explicit IV unique under this key (RFC 5282 §3.1) */
		uint64_t c = ++k->iv_counter;

		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(c >> (56 - 8 * i));
		err = gcm(true, k, iv, b->w.start, off + 4, buf, padded, buf, icv);
		if (!err) {
			wire_write_bytes(&b->w, iv, 8);
			wire_write_bytes(&b->w, buf, padded);
			wire_write_bytes(&b->w, icv, 16);
		}
	} else {
		uint8_t mac[IKE_INTEG_KEY_MAX];
		struct ike_iov iov;

		err = ike_rng_bytes(rng, iv, 16);
		if (!err)
			err = cbc(true, k, iv, buf, padded, buf);
		if (!err) {
			wire_write_bytes(&b->w, iv, 16);
			wire_write_bytes(&b->w, buf, padded);
			if (wire_err(&b->w))
				err = wire_err(&b->w);
		}
		if (!err) {
			/* the ICV covers the whole message from the header through the ciphertext */
			iov = (struct ike_iov){ b->w.start, wire_offset(&b->w) };
			err = hmac(dg, k->akey, k->akey_len, &iov, 1, mac, sizeof(mac));
		}
		if (!err)
			wire_write_bytes(&b->w, mac, icvl);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (err)
		return err;
	return ike_bld_finish(b);
}

int ike_sk_open(const struct ike_sk *k, const uint8_t *msg, size_t len, size_t sk_off,
		uint8_t *plain, size_t cap, size_t *plen)
{
	struct wire r = wire_reader(msg, len);
	size_t ivl = iv_len(k->encr), icvl = icv_len(k), clen;
	const uint8_t *aad, *iv, *ct, *icv;
	uint8_t pad;
	int err;

	if (k->encr != IKE_ENCR_ID_AES_GCM_16 && k->encr != IKE_ENCR_ID_AES_CBC)
		return -EINVAL;
	if (sk_off + 4 > len || len - sk_off - 4 < ivl + icvl + 1)
		return -EBADMSG;
	clen = len - sk_off - 4 - ivl - icvl;
	if (clen > cap)
		return -ENOSPC;
	aad = wire_read_ref(&r, sk_off + 4);
	iv = wire_read_ref(&r, ivl);
	ct = wire_read_ref(&r, clen);
	icv = wire_read_ref(&r, icvl);
	if (wire_err(&r) || wire_avail(&r) != 0)
		return -EBADMSG;
	if (k->encr == IKE_ENCR_ID_AES_GCM_16) {
		uint8_t tag[16];

		memcpy(tag, icv, 16);
		err = gcm(false, k, iv, aad, sk_off + 4, ct, clen, plain, tag);
	} else {
		const char *dg = integ_digest(k->integ);
		uint8_t mac[IKE_INTEG_KEY_MAX];
		struct ike_iov iov = { msg, len - icvl };

		if (!dg || clen % 16)
			return -EBADMSG;
		err = hmac(dg, k->akey, k->akey_len, &iov, 1, mac, sizeof(mac));
		if (!err && CRYPTO_memcmp(mac, icv, icvl) != 0)
			err = -EBADMSG;
		if (!err)
			err = cbc(false, k, iv, ct, clen, plain);
	}
	if (err) {
		OPENSSL_cleanse(plain, clen);
		return -EBADMSG;
	}
	pad = plain[clen - 1];
	if ((size_t)pad + 1 > clen) {
		OPENSSL_cleanse(plain, clen);
		return -EBADMSG;
	}
	*plen = clen - pad - 1;
	return 0;
}

int ike_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_addr *a, uint8_t out[20])
{
	uint8_t buf[16 + 16 + 2];
	size_t alen = a->family == AF_INET ? 4 : 16;
	unsigned int outl = 0;

	for (int i = 0; i < 8; i++) {
		buf[i] = (uint8_t)(spi_i >> (56 - 8 * i));
		buf[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
	}
	memcpy(buf + 16, a->ip, alen);
	buf[16 + alen] = (uint8_t)(a->port >> 8);
	buf[17 + alen] = (uint8_t)a->port;
	if (!EVP_Digest(buf, 18 + alen, out, &outl, EVP_sha1(), NULL) || outl != 20)
		return -EIO;
	return 0;
}

int ike_sha256(const struct ike_iov *iov, size_t n, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int outl = 0;
	int ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, iov[i].p, iov[i].len);
	ok = ok && EVP_DigestFinal_ex(c, out, &outl);
	EVP_MD_CTX_free(c);
	return ok && outl == 32 ? 0 : -EIO;
}
