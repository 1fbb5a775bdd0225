/*
 * lib/dns/keys.h: account key derivation shared by autotunnel-dnsd and the
 * `autotunnel login` command, the public KDF parameters record, and the rule
 * that refuses weak passwords.
 *
 * docs/design.md §6: two independent 32-byte keys come from an account's password:
 * the TSIG key (the server stores it, named D, the account domain) and the IKE
 * key (it never leaves the hosts). How they are derived is described by a
 * struct dns_kdf that the server keeps with the account and publishes, unsigned,
 * as the TXT record _kdf.D (a login needs it before it has any key):
 *
 *   v=0 (legacy, accounts created before the parameters were stored; the
 *        record reads "v=0 alg=scrypt N=16384 r=8 p=1"):
 *       TSIG key = scrypt(password, "autotunnel tsig v1 " + D, N=2^14, r=8, p=1)
 *       IKE key  = scrypt(password, "autotunnel ike v1 "  + D, N=2^14, r=8, p=1)
 *   v=1 ("v=1 alg=scrypt N=131072 r=8 p=1 salt=BASE64"):
 *       K = scrypt(password, SALT + "autotunnel kdf v1 " + D, N, r, p, 64 bytes)
 *       TSIG key = K[0..31], IKE key = K[32..63]
 *
 * In v=1 one scrypt call gives both keys: scrypt's last step is
 * PBKDF2-HMAC-SHA256 (RFC 7914 §6), whose output blocks are independent
 * HMACs, so the TSIG key tells nothing about the IKE key beyond what a
 * guessed password does; and a guess costs an attacker one call either way,
 * so the user pays the cost once instead of twice. SALT is random per
 * account (and per password change); D binds the keys to the account.
 *
 * D is lower-cased (ASCII), without its trailing dot, at most 253 characters.
 */
#ifndef AT_DNS_KEYS_H
#define AT_DNS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Length of each derived key, in bytes. */
#define DNS_KEY_LEN 32

/** The legacy (v=0) scrypt parameters: fixed, they made every account's keys before v=1. */
#define DNS_KEYS_SCRYPT_N 16384
#define DNS_KEYS_SCRYPT_R 8
#define DNS_KEYS_SCRYPT_P 1

/**
 * The parameters of new accounts (v=1): N = 2^17, r = 8 is 128 MiB of memory
 * (128 * r * N bytes, RFC 7914 §2) and about 0.3 s of one core here; 8 times
 * the legacy cost per guess, in time and memory.
 */
#define DNS_KDF_DEFAULT_N 131072
#define DNS_KDF_DEFAULT_R 8
#define DNS_KDF_DEFAULT_P 1
/** Length of the random salt of new accounts. */
#define DNS_KDF_SALT_LEN 16

/** Bounds a parsed record must respect (a server cannot make a client allocate more than 1 GiB). */
#define DNS_KDF_N_MIN 16384
#define DNS_KDF_N_MAX 1048576
#define DNS_KDF_R_MAX 32
#define DNS_KDF_P_MAX 16
#define DNS_KDF_MEM_MAX (1ull << 30)
#define DNS_KDF_SALT_MIN 8
#define DNS_KDF_SALT_MAX 64

/** Longest text form: "v=1 alg=scrypt N=1048576 r=32 p=16 salt=" and 88 base64 characters. */
#define DNS_KDF_TEXT_MAX 160

/** Versions of the derivation. */
enum dns_kdf_version {
	DNS_KDF_V0_LEGACY = 0,
	DNS_KDF_V1 = 1,
};

/** How an account's keys are derived from its password (public, not secret). */
struct dns_kdf {
	enum dns_kdf_version version;
	uint32_t n, r, p;		/**< scrypt cost: N (a power of two), r, p */
	uint8_t salt_len;		/**< 0 for v=0 */
	uint8_t salt[DNS_KDF_SALT_MAX];
};

/** The legacy (v=0) parameters, for accounts stored without any. */
void dns_kdf_legacy(struct dns_kdf *k);

/**
 * The parameters of a new account: v=1 with the default cost and the salt
 * @p salt (borrowed; the caller draws it from a CSPRNG, this module has no I/O).
 * @return 0 or -EINVAL when @p saltlen is outside DNS_KDF_SALT_MIN..MAX.
 */
__attribute__((warn_unused_result))
int dns_kdf_init(struct dns_kdf *k, const uint8_t *salt, size_t saltlen);

/**
 * Parse the text form (@p text, @p len bytes, not NUL-terminated). Strict:
 * exactly the form dns_kdf_format() writes ("v=1 alg=scrypt N=131072 r=8 p=1
 * salt=BASE64", single spaces, decimal without leading zeros, padded
 * canonical base64), within the DNS_KDF_* bounds; v=0 only with its fixed
 * values. So a record that parses formats back to the same bytes.
 * @return 0, or -EBADMSG (*@p k is then zeroed).
 */
__attribute__((warn_unused_result))
int dns_kdf_parse(struct dns_kdf *k, const char *text, size_t len);

/**
 * Write the text form of @p k and a NUL into @p buf.
 * @return its length (without the NUL), -ENOSPC, or -EINVAL for parameters
 * dns_kdf_parse() would refuse.
 */
__attribute__((warn_unused_result))
int dns_kdf_format(const struct dns_kdf *k, char *buf, size_t cap);

/**
 * Parse the rdata of the TXT record _kdf.D: exactly one character-string
 * (RFC 1035 §3.3.14) holding the text form.
 * @return 0 or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_kdf_txt_parse(struct dns_kdf *k, const uint8_t *rdata, size_t rdlen);

/**
 * Write that TXT rdata into @p buf. @return its length, -ENOSPC or -EINVAL.
 */
__attribute__((warn_unused_result))
int dns_kdf_txt_write(const struct dns_kdf *k, uint8_t *buf, size_t cap);

/**
 * Derive an account's TSIG key and IKE key from its password.
 *
 * @param kdf       the account's parameters (borrowed).
 * @param domain    the account domain D in text form (e.g. "alice.members.example.net");
 *                  borrowed. It is lower-cased (ASCII) and one trailing dot is removed
 *                  before it enters the salt, so "Alice.Members.Example.NET." gives the
 *                  same keys. At most 253 characters after that, no empty labels.
 * @param password  the password bytes (borrowed; need not be NUL-terminated).
 * @param pwlen     length of @p password; may be 0.
 * @param tsig_key  receives the 32-byte TSIG key.
 * @param ike_key   receives the 32-byte IKE key.
 * @return 0, -EINVAL for a bad domain or parameters, or -EIO when OpenSSL fails
 *         (out of memory included; both outputs are then zeroed). Takes up to
 *         128 * r * N bytes of memory and a large part of a second of CPU:
 *         never call it on a packet path.
 */
__attribute__((warn_unused_result))
int dns_keys_derive(const struct dns_kdf *kdf, const char *domain, const char *password,
		    size_t pwlen, uint8_t tsig_key[static 32], uint8_t ike_key[static 32]);

/** Shortest password accepted for a new password. */
#define DNS_PASSWORD_MIN 10

/**
 * Is @p password (@p len bytes) acceptable as a new password for the account
 * @p account (its name or its domain D; borrowed, may be NULL)? The rule is
 * simple on purpose: at least DNS_PASSWORD_MIN characters, not one character
 * repeated, not one of the most common passwords (a small built-in list,
 * compared without case), and not the account's name or domain (without case).
 *
 * @return 0, or -EPERM with *@p why set to a sentence for a person (static
 * storage, no trailing period).
 */
__attribute__((warn_unused_result))
int dns_password_check(const char *password, size_t len, const char *account, const char **why);

#endif /* AT_DNS_KEYS_H */
