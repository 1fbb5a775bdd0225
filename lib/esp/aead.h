/*
 * lib/esp/aead: the transforms of ESP, through OpenSSL EVP.
 *
 * AEAD: AES-GCM with a 16-byte ICV (RFC 4106; 256- or 128-bit keys) and
 * ChaCha20-Poly1305 (RFC 7634). Their key material is the key followed by
 * a 4-byte salt (36 bytes, or 20 for AES-128); the 12-byte nonce is
 * salt || 8-byte explicit IV.
 *
 * Encrypt-then-MAC (RFC 8221 §5 MUST): AES-CBC (RFC 3602; 128- or 256-bit
 * keys) with HMAC-SHA2-256-128 (RFC 4868), key material the AES key
 * followed by the 32-byte HMAC key (RFC 7296 §2.17: encryption key first).
 * Its 16-byte IV is drawn from a random source for every packet (RFC 3602
 * §2.1: unpredictable), so a sealing context needs one (esp_aead_new_rng).
 *
 * A struct esp_aead holds one EVP_CIPHER_CTX (and, for CBC, one HMAC
 * context) keyed once at creation; each packet only sets the nonce or IV,
 * so the key schedule is never recomputed. A context is used by one
 * thread at a time (the data plane keeps one per SA per worker) and in one
 * direction only.
 */
#ifndef AT_ESP_AEAD_H
#define AT_ESP_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Transform IDs of IKEv2 (IANA "Transform Type 1"), used as the enum
 * values; a 128-bit key variant adds ESP_CIPHER_128 (the ID alone does not
 * say the key length).
 */
enum esp_cipher {
	ESP_CIPHER_NONE = 0,
	ESP_CIPHER_AES256_GCM16 = 20,		/**< ENCR_AES_GCM_16 with a 256-bit key */
	ESP_CIPHER_CHACHA20_POLY1305 = 28,	/**< ENCR_CHACHA20_POLY1305 */
	ESP_CIPHER_AES256_CBC_SHA256 = 12,	/**< ENCR_AES_CBC/256 with AUTH_HMAC_SHA2_256_128 */
	ESP_CIPHER_AES128_GCM16 = 0x100 | 20,	/**< ENCR_AES_GCM_16 with a 128-bit key */
	ESP_CIPHER_AES128_CBC_SHA256 = 0x100 | 12,	/**< ENCR_AES_CBC/128 with AUTH_HMAC_SHA2_256_128 */
};
#define ESP_CIPHER_128 0x100

#define ESP_KEY_LEN 32
#define ESP_SALT_LEN 4
#define ESP_KEYMAT_LEN (ESP_KEY_LEN + ESP_SALT_LEN)	/**< key material of the 256-bit AEADs */
#define ESP_KEYMAT_MAX 64	/**< the longest key material (AES-256-CBC + HMAC-SHA2-256 key) */
#define ESP_IV_LEN 8		/**< the explicit IV of the AEADs */
#define ESP_CBC_IV_LEN 16	/**< RFC 3602 §2.1: one AES block */
#define ESP_IV_MAX 16
#define ESP_ICV_LEN 16		/**< every transform: the AEAD tag, or HMAC-SHA-256 truncated to 128 bits */

/** Key material length of @p cipher (esp_aead_new reads that many bytes), 0 if unknown. */
size_t esp_keymat_len(enum esp_cipher cipher);
/** Whether @p cipher is AES-CBC with HMAC (encrypt-then-MAC) rather than an AEAD. */
static inline bool esp_cipher_is_cbc(enum esp_cipher c)
{
	return (c & ~ESP_CIPHER_128) == 12;
}

/**
 * The random source of a CBC sealing context: fill @p buf with @p len
 * unpredictable bytes; 0 or a negative errno. @p arg is borrowed.
 */
typedef int esp_random_fn(void *arg, void *buf, size_t len);

struct esp_aead;

/**
 * Make a context for @p cipher from @p keymat (esp_keymat_len(cipher)
 * bytes: key || salt, or AES key || HMAC key; borrowed, the caller wipes
 * its copy). @p encrypt picks the direction. Returns 0, -EINVAL for an
 * unknown cipher (or a CBC sealing context, which needs a random source:
 * esp_aead_new_rng), -ENOMEM.
 */
int esp_aead_new(struct esp_aead **out, enum esp_cipher cipher, const uint8_t *keymat, bool encrypt)
	__attribute__((warn_unused_result));
/** As esp_aead_new, with the random source (@p rnd, its @p arg borrowed) that CBC IVs come from. */
int esp_aead_new_rng(struct esp_aead **out, enum esp_cipher cipher, const uint8_t *keymat, bool encrypt,
		     esp_random_fn *rnd, void *arg) __attribute__((warn_unused_result));
/** Wipe and free @p a (may be NULL). */
void esp_aead_free(struct esp_aead *a);
enum esp_cipher esp_aead_cipher(const struct esp_aead *a);

/**
 * Encrypt @p len bytes at @p buf in place with nonce salt || @p iv and
 * additional data @p aad; write the 16-byte tag to @p tag. 0 or -EIO.
 * The context must have been made with encrypt = true.
 */
int esp_aead_seal(struct esp_aead *a, const uint8_t iv[static ESP_IV_LEN],
		  const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
		  uint8_t tag[static ESP_ICV_LEN]) __attribute__((warn_unused_result));
/**
 * Check @p tag and decrypt in place. 0, or -EBADMSG when the tag does not
 * verify (the contents of @p buf are then undefined), -EIO.
 */
int esp_aead_open(struct esp_aead *a, const uint8_t iv[static ESP_IV_LEN],
		  const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
		  const uint8_t tag[static ESP_ICV_LEN]) __attribute__((warn_unused_result));

/**
 * CBC: draw a fresh IV, encrypt @p len bytes (whole blocks) at @p buf in
 * place; @p iv gets the IV. 0, -EINVAL (not a CBC sealing context or not
 * whole blocks), -EIO (also when the random source fails: nothing is sent
 * with a predictable IV).
 */
int esp_aead_cbc_encrypt(struct esp_aead *a, uint8_t iv[static ESP_CBC_IV_LEN], uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/** CBC: decrypt @p len bytes (whole blocks) in place with @p iv. 0, -EINVAL, -EIO. */
int esp_aead_cbc_decrypt(struct esp_aead *a, const uint8_t iv[static ESP_CBC_IV_LEN], uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/**
 * CBC: HMAC-SHA-256 of @p d1 | @p d2 (either may be empty) truncated to
 * ESP_ICV_LEN bytes into @p icv (RFC 4868 §2.6). 0, -EINVAL, -EIO.
 */
int esp_aead_mac(struct esp_aead *a, const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2,
		 uint8_t icv[static ESP_ICV_LEN]) __attribute__((warn_unused_result));

/**
 * "aes256gcm16", "chacha20poly1305", "aes128gcm16", "aes128-sha256",
 * "aes256-sha256" (the names strongSwan's proposals use).
 */
const char *esp_cipher_name(enum esp_cipher c);
/**
 * Parse a name of esp_cipher_name() whose key material is ESP_KEYMAT_LEN
 * bytes (the length static keys in configurations have: the 256-bit
 * AEADs); -EINVAL otherwise.
 */
int esp_cipher_parse(const char *s, enum esp_cipher *out) __attribute__((warn_unused_result));

#endif
