/*
 * lib/authority: the account authority (docs/authority.md, issue 14).
 *
 * An account's hosts, and never the rendezvous server, hold one Ed25519 key:
 * the authority. Its self-signed X.509 certificate (subject CN "autotunnel
 * account authority D") is the only trust anchor of the account; it issues
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

/**
 * The caller's random generator: fill @p buf with @p n bytes from a CSPRNG
 * (lib/util/random.h's rand_bytes() in the agent, a fixed stream in tests).
 * Returns 0 or a negative errno, which the calling function returns.
 */
typedef int (*authority_rand_fn)(void *ctx, void *buf, size_t n);

/** Bytes of the Ed25519 private key (RFC 8032 §5.1.5: the 32-byte seed). */
#define AUTHORITY_SEED_LEN 32
/** Largest certificate DER this module writes or reads (ours are 350-650 bytes). */
#define AUTHORITY_CERT_DER_MAX 2048
/** Largest SubjectPublicKeyInfo DER of a host key (P-256 uncompressed: 91, Ed25519: 44). */
#define AUTHORITY_SPKI_MAX 128
/** Bytes of the PKCS#8 DER of the authority key (RFC 8410 §7: 48 for Ed25519). */
#define AUTHORITY_PKCS8_MAX 64
/** Bytes of every certificate serial number we draw (RFC 5280 §4.1.2.2: at most 20). */
#define AUTHORITY_SERIAL_LEN 16
/** Largest serial a certificate we accept may carry. */
#define AUTHORITY_SERIAL_MAX 20
/** Validity of the authority certificate: ten years (and the leap days). */
#define AUTHORITY_CA_VALIDITY_S (3653u * 86400u)
/** How far before @p now a certificate's notBefore is put: clocks of hosts differ (TSIG allows 300 s). */
#define AUTHORITY_SKEW_S 300
/** Host certificate validity bounds and default (seven days; renewed at 2/3, cert.h). */
#define AUTHORITY_HOST_VALIDITY_MIN 3600u
#define AUTHORITY_HOST_VALIDITY_MAX (90u * 86400u)
#define AUTHORITY_HOST_VALIDITY_DEFAULT (7u * 86400u)
/** Recovery key text: 56 symbols in 14 groups of 4 with 13 '-', and a NUL. */
#define AUTHORITY_RECOVERY_TEXT_MAX 70
/** Longest Kerberos principal or realm accepted for a PKINIT name (cert.h). */
#define AUTHORITY_PRINCIPAL_MAX 255

struct authority;

/**
 * Create the authority of the account domain @p domain (borrowed; lower-cased,
 * one trailing dot removed, checked as a DNS name): an Ed25519 key from
 * @p seed (32 bytes, borrowed; NULL draws it from @p rnd) and its self-signed
 * certificate: subject and issuer CN "autotunnel account authority D",
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

/** What a PKINIT name (RFC 4556 §3.2.2, §3.2.4) the certificate carries is for. */
enum authority_pkinit {
	AUTHORITY_PKINIT_NONE = 0,
	AUTHORITY_PKINIT_CLIENT,	/* id-pkinit-san "name[/inst]@REALM", EKU id-pkinit-KPClientAuth */
	AUTHORITY_PKINIT_KDC,		/* id-pkinit-san "krbtgt/REALM@REALM", EKU id-pkinit-KPKdc */
};

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
 * Issue a host certificate (docs/authority.md §3): subject CN H.D; issuer
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
