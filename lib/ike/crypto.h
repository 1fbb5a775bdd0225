/*
 * Cryptography of IKEv2 through OpenSSL: the PRFs and prf+ (RFC 7296
 * §2.13), key derivation (§2.14, §2.17, §2.18), Diffie-Hellman groups 14,
 * 15, 19, 20 and 31 (RFC 3526, RFC 5903, RFC 8031), the SK payload (§3.14 with
 * RFC 5282 AES-GCM, or AES-CBC with HMAC-SHA2), NAT detection hashes.
 *
 * Internal to lib/ike. No globals: every call fetches what it needs.
 */
#ifndef AT_IKE_CRYPTO_H
#define AT_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/msg.h"
#include "ike/rng.h"

#define IKE_PRF_MAX 64		/* longest PRF output (HMAC-SHA-512) */
#define IKE_DH_MAX 384		/* longest public value / shared secret (MODP-3072) */
#define IKE_ENCR_KEY_MAX 36	/* AES-256 key + GCM salt */
#define IKE_INTEG_KEY_MAX 64

/** A borrowed piece of a concatenation. */
struct ike_iov {
	const void *p;
	size_t len;
};

/** Output length of PRF @p prf_id (IANA number), 0 if unknown. */
size_t ike_prf_size(uint16_t prf_id);
/** out = prf(key, concat(iov)); @p out has ike_prf_size() bytes. 0 or -EINVAL/-EIO. */
int ike_prf(uint16_t prf_id, const uint8_t *key, size_t klen, const struct ike_iov *iov, size_t n,
	    uint8_t *out) __attribute__((warn_unused_result));
/** RFC 7296 §2.13: out = the first @p outlen bytes of prf+(key, concat(seed)). */
int ike_prfplus(uint16_t prf_id, const uint8_t *key, size_t klen, const struct ike_iov *seed,
		size_t n, uint8_t *out, size_t outlen) __attribute__((warn_unused_result));

/** A Diffie-Hellman key pair of one group. */
struct ike_dh {
	uint16_t group;
	void *pkey;			/* EVP_PKEY *, owned */
	uint8_t pub[IKE_DH_MAX];	/* our public value as the KE payload carries it */
	size_t pub_len;
};

/** Public value length of @p group in a KE payload, 0 if unsupported. */
size_t ike_dh_pub_len(uint16_t group);
/** Make a fresh key pair. 0, -EINVAL (group), -EIO. */
int ike_dh_init(struct ike_dh *dh, uint16_t group) __attribute__((warn_unused_result));
/** Make the key pair from a given private value (known-answer tests). */
int ike_dh_init_priv(struct ike_dh *dh, uint16_t group, const uint8_t *priv, size_t len)
	__attribute__((warn_unused_result));
/**
 * The shared secret with the peer's public value @p peer: @p secret gets
 * ike_dh_pub_len(group) bytes for 14, 15 and 31, the x coordinate for 19
 * (32 bytes) and 20 (48 bytes, RFC 5903 §7).
 * -EBADMSG for a public value of the wrong length or not on the curve/in
 * the group (RFC 7296 §5, RFC 8031 §2.2: all-zero X25519 outputs refused).
 */
int ike_dh_compute(const struct ike_dh *dh, const uint8_t *peer, size_t len, uint8_t *secret,
		   size_t *slen) __attribute__((warn_unused_result));
void ike_dh_fini(struct ike_dh *dh);

/** One direction of IKE message protection. */
struct ike_sk {
	uint16_t encr, integ;		/* IANA transform IDs (integ 0 with AEAD) */
	uint8_t ekey[IKE_ENCR_KEY_MAX];
	uint8_t akey[IKE_INTEG_KEY_MAX];
	size_t ekey_len, akey_len;
	uint64_t iv_counter;		/* GCM: the explicit IV of the next message */
};

/**
 * Key material lengths of encryption @p encr with a key of @p keybits (the
 * Key Length attribute; 0 for ChaCha20) and integrity @p integ (0 when
 * none/unknown).
 */
size_t ike_encr_keylen(uint16_t encr, uint16_t keybits);
size_t ike_integ_keylen(uint16_t integ);

/** All keys of one IKE SA (RFC 7296 §2.14). */
struct ike_keys {
	uint16_t prf;
	size_t prf_len;
	uint8_t d[IKE_PRF_MAX], pi[IKE_PRF_MAX], pr[IKE_PRF_MAX];
	struct ike_sk i, r;		/* i protects what the initiator sends */
};

/**
 * Derive SKEYSEED and SK_d..SK_pr. With @p old_d NULL (IKE_SA_INIT):
 * SKEYSEED = prf(Ni | Nr, g^ir). With @p old_d (IKE SA rekey, §2.18):
 * SKEYSEED = prf_old(SK_d_old, g^ir | Ni | Nr). Then
 * prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) with the new PRF.
 */
int ike_keys_derive(struct ike_keys *k, uint16_t prf, uint16_t encr, uint16_t keybits, uint16_t integ,
		    uint16_t old_prf, const uint8_t *old_d, size_t old_d_len,
		    const uint8_t *gir, size_t gir_len,
		    const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
		    uint64_t spi_i, uint64_t spi_r) __attribute__((warn_unused_result));
void ike_keys_wipe(struct ike_keys *k);

/**
 * Child SA keys (§2.17): KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr); the first
 * @p each bytes are the initiator-to-responder key, the next @p each bytes
 * the responder-to-initiator key.
 */
int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t dlen, const uint8_t *gir, size_t gir_len,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
		     uint8_t *i2r, uint8_t *r2i, size_t each) __attribute__((warn_unused_result));

/**
 * RFC 7296 §2.15, shared key authentication:
 * AUTH = prf(prf(PSK, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, IDbody)),
 * where msg is the signer's IKE_SA_INIT message, nonce the other end's,
 * SK_p the signer's SK_pi/SK_pr and IDbody its ID payload after the generic
 * header. @p out gets ike_prf_size(prf) bytes.
 */
int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len, const uint8_t *sk_p, size_t plen,
		 const uint8_t *msg, size_t mlen, const uint8_t *nonce, size_t nlen,
		 const uint8_t *idbody, size_t idlen, uint8_t *out) __attribute__((warn_unused_result));

/**
 * Append an SK payload carrying @p plain (a payload chain whose first type
 * is @p first_np) to the message being built in @p b, encrypt and protect
 * it, and patch the lengths. AES-CBC takes its IV from @p rng (RFC 7296
 * §3.14: unpredictable); GCM counts. Returns the message length or a
 * negative errno.
 */
int ike_sk_seal(struct ike_sk *k, struct ike_bld *b, uint8_t first_np, const uint8_t *plain,
		size_t plen, const struct ike_rng *rng) __attribute__((warn_unused_result));

/**
 * Check and decrypt the SK payload of message @p msg (its generic header at
 * @p sk_off, running to the end) into @p plain (capacity @p cap), padding
 * removed. -EBADMSG when the integrity check fails or the layout is bad.
 */
int ike_sk_open(const struct ike_sk *k, const uint8_t *msg, size_t len, size_t sk_off,
		uint8_t *plain, size_t cap, size_t *plen) __attribute__((warn_unused_result));

/** RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port). */
int ike_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_addr *a, uint8_t out[20])
	__attribute__((warn_unused_result));

/** SHA-256 of a concatenation, into @p out[32]. */
int ike_sha256(const struct ike_iov *iov, size_t n, uint8_t out[32]) __attribute__((warn_unused_result));

#endif /* AT_IKE_CRYPTO_H */
