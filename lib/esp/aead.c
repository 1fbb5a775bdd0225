/*
 * lib/esp/aead.c: AES-GCM-16 (256 and 128), ChaCha20-Poly1305, and AES-CBC
 * with HMAC-SHA2-256-128, through EVP.
 */
#include "esp/aead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define HMAC_KEY_LEN 32		/* RFC 4868 §2.1.1: the key is as long as the SHA-256 output */
#define HMAC_LEN 32

struct esp_aead {
	EVP_CIPHER_CTX *ctx;
	EVP_MAC_CTX *mac;		/* CBC: HMAC-SHA-256, keyed once */
	enum esp_cipher cipher;
	bool encrypt;
	uint8_t salt[ESP_SALT_LEN];
	esp_random_fn *rnd;		/* CBC sealing: where IVs come from */
	void *rnd_arg;
};

size_t esp_keymat_len(enum esp_cipher cipher)
{
	switch (cipher) {
	case ESP_CIPHER_AES256_GCM16:
	case ESP_CIPHER_CHACHA20_POLY1305: return ESP_KEYMAT_LEN;
	case ESP_CIPHER_AES128_GCM16: return 16 + ESP_SALT_LEN;
	case ESP_CIPHER_AES128_CBC_SHA256: return 16 + HMAC_KEY_LEN;
	case ESP_CIPHER_AES256_CBC_SHA256: return 32 + HMAC_KEY_LEN;
	default: return 0;
	}
}

static int mac_new(struct esp_aead *a, const uint8_t *key)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	int ok;

	a->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
	ok = a->mac && EVP_MAC_init(a->mac, key, HMAC_KEY_LEN, params);
	EVP_MAC_free(mac);	/* the context keeps its own reference */
	return ok ? 0 : -ENOMEM;
}

int esp_aead_new(struct esp_aead **out, enum esp_cipher cipher, const uint8_t *keymat, bool encrypt)
{
	return esp_aead_new_rng(out, cipher, keymat, encrypt, NULL, NULL);
}

int esp_aead_new_rng(struct esp_aead **out, enum esp_cipher cipher, const uint8_t *keymat, bool encrypt,
		     esp_random_fn *rnd, void *arg)
{
	const EVP_CIPHER *evp;
	struct esp_aead *a;
	size_t klen = esp_keymat_len(cipher) - (esp_cipher_is_cbc(cipher) ? HMAC_KEY_LEN : ESP_SALT_LEN);

	*out = NULL;
	switch (cipher) {
	case ESP_CIPHER_AES256_GCM16: evp = EVP_aes_256_gcm(); break;
	case ESP_CIPHER_AES128_GCM16: evp = EVP_aes_128_gcm(); break;
	case ESP_CIPHER_CHACHA20_POLY1305: evp = EVP_chacha20_poly1305(); break;
	case ESP_CIPHER_AES256_CBC_SHA256: evp = EVP_aes_256_cbc(); break;
	case ESP_CIPHER_AES128_CBC_SHA256: evp = EVP_aes_128_cbc(); break;
	default: return -EINVAL;
	}
	if (!evp || (esp_cipher_is_cbc(cipher) && encrypt && !rnd))
		return -EINVAL;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->cipher = cipher;
	a->encrypt = encrypt;
	a->rnd = rnd;
	a->rnd_arg = arg;
	if (!(a->ctx = EVP_CIPHER_CTX_new()))
		goto fail;
	if (esp_cipher_is_cbc(cipher)) {
		/* key once; every packet sets only the IV. ESP pads itself (RFC 4303 §2.4) */
		if (mac_new(a, keymat + klen) ||
		    EVP_CipherInit_ex(a->ctx, evp, NULL, keymat, NULL, encrypt ? 1 : 0) != 1 ||
		    EVP_CIPHER_CTX_set_padding(a->ctx, 0) != 1)
			goto fail;
		*out = a;
		return 0;
	}
	memcpy(a->salt, keymat + klen, ESP_SALT_LEN);
	/* key once; every packet later sets only the 12-byte nonce */
	if (EVP_CipherInit_ex(a->ctx, evp, NULL, NULL, NULL, encrypt ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, ESP_SALT_LEN + ESP_IV_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(a->ctx, NULL, NULL, keymat, NULL, encrypt ? 1 : 0) != 1)
		goto fail;
	*out = a;
	return 0;
fail:
	esp_aead_free(a);
	return -ENOMEM;
}

void esp_aead_free(struct esp_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx);	/* wipes the key schedule */
	EVP_MAC_CTX_free(a->mac);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

enum esp_cipher esp_aead_cipher(const struct esp_aead *a)
{
	return a->cipher;
}

static int start(struct esp_aead *a, const uint8_t iv[static ESP_IV_LEN],
		 const uint8_t *aad, size_t aadlen)
{
	uint8_t nonce[ESP_SALT_LEN + ESP_IV_LEN];
	int n;

	memcpy(nonce, a->salt, ESP_SALT_LEN);
	memcpy(nonce + ESP_SALT_LEN, iv, ESP_IV_LEN);
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, a->encrypt ? 1 : 0) != 1)
		return -EIO;
	if (aadlen && EVP_CipherUpdate(a->ctx, NULL, &n, aad, (int)aadlen) != 1)
		return -EIO;
	return 0;
}

int esp_aead_seal(struct esp_aead *a, const uint8_t iv[static ESP_IV_LEN],
		  const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
		  uint8_t tag[static ESP_ICV_LEN])
{
	int n, err;

	if (!a->encrypt || len > (size_t)INT32_MAX || esp_cipher_is_cbc(a->cipher))
		return -EINVAL;
	if ((err = start(a, iv, aad, aadlen)))
		return err;
	if (len && EVP_CipherUpdate(a->ctx, buf, &n, buf, (int)len) != 1)
		return -EIO;
	if (EVP_CipherFinal_ex(a->ctx, buf + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, ESP_ICV_LEN, tag) != 1)
		return -EIO;
	return 0;
}

int esp_aead_open(struct esp_aead *a, const uint8_t iv[static ESP_IV_LEN],
		  const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
		  const uint8_t tag[static ESP_ICV_LEN])
{
	uint8_t t[ESP_ICV_LEN];
	int n, err;

	if (a->encrypt || len > (size_t)INT32_MAX || esp_cipher_is_cbc(a->cipher))
		return -EINVAL;
	if ((err = start(a, iv, aad, aadlen)))
		return err;
	if (len && EVP_CipherUpdate(a->ctx, buf, &n, buf, (int)len) != 1)
		return -EIO;
	memcpy(t, tag, sizeof(t));
	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, ESP_ICV_LEN, t) != 1)
		return -EIO;
	/* the EVP provider compares the tag in constant time */
	if (EVP_CipherFinal_ex(a->ctx, buf + len, &n) != 1)
		return -EBADMSG;
	return 0;
}

static int cbc(struct esp_aead *a, const uint8_t iv[static ESP_CBC_IV_LEN], uint8_t *buf, size_t len)
{
	int n;

	if (!esp_cipher_is_cbc(a->cipher) || len % 16 || len > (size_t)INT32_MAX)
		return -EINVAL;
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, a->encrypt ? 1 : 0) != 1 ||
	    (len && EVP_CipherUpdate(a->ctx, buf, &n, buf, (int)len) != 1) ||
	    EVP_CipherFinal_ex(a->ctx, buf + len, &n) != 1)
		return -EIO;
	return 0;
}

int esp_aead_cbc_encrypt(struct esp_aead *a, uint8_t iv[static ESP_CBC_IV_LEN], uint8_t *buf, size_t len)
{
	if (!a->encrypt || !a->rnd)
		return -EINVAL;
	/* RFC 3602 §2.1: the IV must be unpredictable, so fresh random bytes each time */
	if (a->rnd(a->rnd_arg, iv, ESP_CBC_IV_LEN))
		return -EIO;
	return cbc(a, iv, buf, len);
}

int esp_aead_cbc_decrypt(struct esp_aead *a, const uint8_t iv[static ESP_CBC_IV_LEN], uint8_t *buf, size_t len)
{
	if (a->encrypt)
		return -EINVAL;
	return cbc(a, iv, buf, len);
}

int esp_aead_mac(struct esp_aead *a, const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2,
		 uint8_t icv[static ESP_ICV_LEN])
{
	uint8_t full[HMAC_LEN];
	size_t outl = 0;
	int ok;

	if (!a->mac)
		return -EINVAL;
	/* a NULL key keeps the one set at creation: no key schedule per packet */
	ok = EVP_MAC_init(a->mac, NULL, 0, NULL) &&
	     (!l1 || EVP_MAC_update(a->mac, d1, l1)) &&
	     (!l2 || EVP_MAC_update(a->mac, d2, l2)) &&
	     EVP_MAC_final(a->mac, full, &outl, sizeof(full)) && outl == HMAC_LEN;
	if (ok)
		memcpy(icv, full, ESP_ICV_LEN);	/* RFC 4868 §2.6: the leftmost 128 bits */
	OPENSSL_cleanse(full, sizeof(full));
	return ok ? 0 : -EIO;
}

static const struct {
	enum esp_cipher c;
	const char *name;
} names[] = {
	{ ESP_CIPHER_AES256_GCM16, "aes256gcm16" },
	{ ESP_CIPHER_AES256_GCM16, "aes256gcm128" },
	{ ESP_CIPHER_CHACHA20_POLY1305, "chacha20poly1305" },
	{ ESP_CIPHER_AES128_GCM16, "aes128gcm16" },
	{ ESP_CIPHER_AES128_GCM16, "aes128gcm128" },
	{ ESP_CIPHER_AES128_CBC_SHA256, "aes128-sha256" },
	{ ESP_CIPHER_AES256_CBC_SHA256, "aes256-sha256" },
};

const char *esp_cipher_name(enum esp_cipher c)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].c == c)
			return names[i].name;
	return "none";
}

int esp_cipher_parse(const char *s, enum esp_cipher *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name) && esp_keymat_len(names[i].c) == ESP_KEYMAT_LEN) {
			*out = names[i].c;
			return 0;
		}
	return -EINVAL;
}
