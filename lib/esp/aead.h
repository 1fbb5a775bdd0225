/*
 * lib/esp/aead: the two AEAD transforms of ESP, through OpenSSL EVP.
 *
 * AES-256-GCM with a 16-byte ICV (RFC 4106) and ChaCha20-Poly1305 (RFC
 * 7634). Both take 36 bytes of key material: a 32-byte key followed by a
 * 4-byte salt; the 12-byte nonce is salt || 8-byte explicit IV.
 *
 * A struct esp_aead holds one EVP_CIPHER_CTX keyed once at creation; each
 * packet only sets the nonce, so the key schedule is never recomputed. A
 * context is used by one thread at a time (the data plane keeps one per SA
 * per worker) and in one direction only.
 */
#ifndef AT_ESP_AEAD_H
#define AT_ESP_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Transform IDs of IKEv2 (IANA "Transform Type 1"), used as the enum values. */
enum esp_cipher {
	ESP_CIPHER_NONE = 0,
	ESP_CIPHER_AES256_GCM16 = 20,		/**< ENCR_AES_GCM_16 with a 256-bit key */
	ESP_CIPHER_CHACHA20_POLY1305 = 28,	/**< ENCR_CHACHA20_POLY1305 */
};

#define ESP_KEY_LEN 32
#define ESP_SALT_LEN 4
#define ESP_KEYMAT_LEN (ESP_KEY_LEN + ESP_SALT_LEN)
#define ESP_IV_LEN 8
#define ESP_ICV_LEN 16

struct esp_aead;

/**
 * Make a context for @p cipher from @p keymat (key || salt, borrowed; the
 * caller wipes its copy). @p encrypt picks the direction. Returns 0,
 * -EINVAL for an unknown cipher, -ENOMEM.
 */
int esp_aead_new(struct esp_aead **out, enum esp_cipher cipher,
		 const uint8_t keymat[static ESP_KEYMAT_LEN], bool encrypt)
	__attribute__((warn_unused_result));
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

/** "aes256gcm16" or "chacha20poly1305" (the names strongSwan's proposals use). */
const char *esp_cipher_name(enum esp_cipher c);
/** Parse a name of esp_cipher_name(); -EINVAL if unknown. */
int esp_cipher_parse(const char *s, enum esp_cipher *out) __attribute__((warn_unused_result));

#endif
