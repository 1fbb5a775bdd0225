/*
 * lib/authority: the account authority (docs/authority.md, issue 14).
 *
 * Some of an account's hosts (its signers, docs/authority.md §1), and never
 * the rendezvous server, hold one Ed25519 key: the authority. Its
 * self-signed X.509 certificate (subject "DC=<each label of D>, CN=autotunnel
 * account authority") is the only trust anchor of the account; it issues
 * each host a short-lived certificate binding the host's own key to its name
 * H.D and its ULA, which IKEv2 (RFC 7427) and PKINIT (RFC 4556) present.
 *
 * Pure: no files, no sockets, no clock (time is a parameter: wall-clock Unix
 * seconds, as X.509 validity is), no random numbers of its own (the caller
 * passes a generator). Keys and certificates are held in OpenSSL objects
 * inside the opaque struct authority; what crosses this API is DER bytes.
 */
#ifndef AT_AUTHORITY_AUTHORITY_H
#define AT_AUTHORITY_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authority/params.h"
#include "authority/pkinit.h"

struct authority;

/**
 * Create the authority of the account domain @p domain (borrowed; lower-cased,
 * one trailing dot removed, checked as a DNS name): an Ed25519 key from
 * @p seed (32 bytes, borrowed; NULL draws it from @p rnd) and its self-signed
 * certificate: subject and issuer the domainComponents of D then CN
 * "autotunnel account authority" (a CN holding D would pass the 64
 * characters of ub-common-name for long domains),
 * valid from @p now - AUTHORITY_SKEW_S for AUTHORITY_CA_VALIDITY_S, serial
 * from @p rnd, basicConstraints critical CA:TRUE pathlen:0, keyUsage
 * critical keyCertSign cRLSign, subjectKeyIdentifier.
 *
 * A seed recovered from the recovery key gives the same key again; a new
 * certificate made for it is an equivalent anchor (same subject, same key
 * identifier), so certificates issued under the old one still verify.
 *
 * @return 0 with *@p out (taken by the caller: authority_free()), -EINVAL
 * for a bad domain, the generator's error, or -EIO when OpenSSL fails.
 */
int authority_create(struct authority **out, const char *domain, const uint8_t *seed,
		     int64_t now, authority_rand_fn rnd, void *ctx) __attribute__((warn_unused_result));

/**
 * Load an authority from its certificate @p cert (DER, borrowed: what
 * authority_cert_der() wrote, or what `_authority.D` carries) and, for a
 * member that signs, its private key as PKCS#8 DER @p pkcs8 (borrowed; NULL
 * for a verifier only). The certificate must be exactly the profile
 * authority_create() writes for @p domain, self-signed with a valid
 * signature; the key must be its key.
 *
 * @return 0 with *@p out, -EBADMSG for bytes that are not such a
 * certificate or key (trailing bytes included), -EKEYREJECTED when the key
 * is not the certificate's, -EINVAL for a bad domain, -EIO.
 */
int authority_load(struct authority **out, const char *domain, const uint8_t *cert, size_t certlen,
		   const uint8_t *pkcs8, size_t p8len) __attribute__((warn_unused_result));

/** As authority_load() with the key given as its 32-byte seed (from the recovery key). */
int authority_load_seed(struct authority **out, const char *domain, const uint8_t *cert, size_t certlen,
			const uint8_t seed[static AUTHORITY_SEED_LEN]) __attribute__((warn_unused_result));

/** Free @p a (NULL is fine); the private key is wiped by OpenSSL. */
void authority_free(struct authority *a);

/** The account domain D, canonical (borrowed from @p a). */
const char *authority_domain(const struct authority *a);

/** Whether @p a holds the private key (it can issue and sign). */
bool authority_can_sign(const struct authority *a);

/** The certificate's DER into @p buf; its length in *@p len. 0 or -ENOSPC. */
int authority_cert_der(const struct authority *a, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** The private key as PKCS#8 DER (RFC 8410 §7). 0, -ENOSPC, -ENOKEY (verifier only), -EIO. */
int authority_pkcs8(const struct authority *a, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/** SHA-256 of the authority's public key (SPKI DER), for display and pinning. */
void authority_key_id(const struct authority *a, uint8_t out[static 32]);

/**
 * The recovery key: the seed as text a person can write down,
 *
 *     byte 0     version 0x01
 *     bytes 1-32 the Ed25519 seed
 *     bytes 33-34 CRC-16/CCITT-FALSE of bytes 0-32, big-endian
 *
 * 35 bytes = 280 bits = 56 Crockford base32 symbols, written in 14 groups
 * of 4 joined by '-' (b32.h). The CRC finds every single wrong symbol and
 * every swap of two neighbouring symbols (b32.h); the key itself is then
 * checked against `_authority.D`. Into @p buf (AUTHORITY_RECOVERY_TEXT_MAX).
 * @return the length, -ENOSPC, -ENOKEY.
 */
int authority_recovery_key(const struct authority *a, char *buf, size_t cap)
	__attribute__((warn_unused_result));

/**
 * Read a recovery key as a person typed it (case, '-' and spaces, I/L/O as
 * b32.h says) into @p seed. @return 0, -EINVAL (not 56 symbols), -EBADMSG
 * (the CRC does not match: a typo), -EPROTONOSUPPORT (another version).
 */
int authority_recovery_parse(const char *text, uint8_t seed[static AUTHORITY_SEED_LEN])
	__attribute__((warn_unused_result));

/** A host certificate to issue; every pointer is borrowed for the call. */
struct authority_issue {
	const char *host;		/* H, a host label (agent_label_check()) */
	const uint8_t *ula;		/* 16 bytes, fc00::/7 */
	const uint8_t *spki;		/* the host's public key, SubjectPublicKeyInfo DER: Ed25519 or ECDSA P-256 */
	size_t spki_len;
	uint32_t validity_s;		/* AUTHORITY_HOST_VALIDITY_MIN..MAX; 0: the default */
	enum authority_pkinit pkinit;
	const char *principal;		/* CLIENT: "name[/instance]@REALM"; KDC: "REALM" */
};

/**
 * Issue a host certificate (docs/authority.md §3): subject the
 * domainComponents of D then CN H; issuer
 * the authority; serial AUTHORITY_SERIAL_LEN random bytes from @p rnd,
 * positive; valid from @p now - AUTHORITY_SKEW_S to @p now + validity;
 * subjectAltName dNSName H.D and iPAddress ULA (and id-pkinit-san when
 * asked); basicConstraints CA:FALSE; keyUsage critical digitalSignature;
 * extendedKeyUsage id-kp-ipsecIKE (RFC 4945 §5.1.3.12), serverAuth,
 * clientAuth (and the PKINIT purpose asked); subject and authority key
 * identifiers. Signed with Ed25519 (RFC 8410).
 *
 * @return 0 with the DER in @p der and its length in *@p len; -EINVAL for a
 * bad request (host, ULA, key type, validity, principal), -ENOKEY for a
 * verifier-only authority, -ENOSPC, the generator's error, -EIO.
 */
int authority_issue(const struct authority *a, const struct authority_issue *req, int64_t now,
		    authority_rand_fn rnd, void *ctx, uint8_t *der, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

#endif
