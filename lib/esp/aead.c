/* lib/esp/aead.c: AES-256-GCM-16 and ChaCha20-Poly1305 through EVP. */
#include "esp/aead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

struct esp_aead {
	EVP_CIPHER_CTX *ctx;
	enum esp_cipher cipher;
	bool encrypt;
	uint8_t salt[ESP_SALT_LEN];
};

int esp_aead_new(struct esp_aead **out, enum esp_cipher cipher,
		 const uint8_t keymat[static ESP_KEYMAT_LEN], bool encrypt)
{
	const EVP_CIPHER *evp;
	struct esp_aead *a;

	*out = NULL;
	switch (cipher) {
	case ESP_CIPHER_AES256_GCM16: evp = EVP_aes_256_gcm(); break;
	case ESP_CIPHER_CHACHA20_POLY1305: evp = EVP_chacha20_poly1305(); break;
	default: return -EINVAL;
	}
	if (!evp)
		return -EINVAL;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->cipher = cipher;
	a->encrypt = encrypt;
	memcpy(a->salt, keymat + ESP_KEY_LEN, ESP_SALT_LEN);
	if (!(a->ctx = EVP_CIPHER_CTX_new()))
		goto fail;
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

	if (!a->encrypt || len > (size_t)INT32_MAX)
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

	if (a->encrypt || len > (size_t)INT32_MAX)
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

const char *esp_cipher_name(enum esp_cipher c)
{
	switch (c) {
	case ESP_CIPHER_AES256_GCM16: return "aes256gcm16";
	case ESP_CIPHER_CHACHA20_POLY1305: return "chacha20poly1305";
	default: return "none";
	}
}

int esp_cipher_parse(const char *s, enum esp_cipher *out)
{
	if (!strcmp(s, "aes256gcm16") || !strcmp(s, "aes256gcm128")) {
		*out = ESP_CIPHER_AES256_GCM16;
		return 0;
	}
	if (!strcmp(s, "chacha20poly1305")) {
		*out = ESP_CIPHER_CHACHA20_POLY1305;
		return 0;
	}
	return -EINVAL;
}
