/*
 * Fuzz inbound ESP: classify a UDP/4500 payload and, for ESP, open it with
 * a fixed test key on both ciphers, with and without ESN. The first input
 * byte picks the variant and a starting window top, so the corpus can hold
 * authentic packets (made by tests) as well as garbage.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SPI 0x0a0b0c0d

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct esp_aead *dec[2];
	static uint8_t buf[65536];
	uint8_t keymat[ESP_KEYMAT_LEN];
	enum esp_cipher c;
	struct esp_in in;
	struct esp_opened res;
	size_t off, n;
	uint8_t mode;
	int err;

	if (size < 1)
		return 0;
	mode = data[0];
	data++, size--;
	if (!dec[0]) {
		for (size_t i = 0; i < sizeof(keymat); i++)
			keymat[i] = (uint8_t)i;
		if (esp_aead_new(&dec[0], ESP_CIPHER_AES256_GCM16, keymat, false) ||
		    esp_aead_new(&dec[1], ESP_CIPHER_CHACHA20_POLY1305, keymat, false))
			return 0;
	}
	c = (mode & 1) ? ESP_CIPHER_CHACHA20_POLY1305 : ESP_CIPHER_AES256_GCM16;
	if (esp_udp_classify(data, size, &off) != ESP_UDP_ESP)
		return 0;
	n = size > sizeof(buf) ? sizeof(buf) : size;
	memcpy(buf, data, n);
	esp_in_init(&in, FUZZ_SPI, (mode & 2) != 0);
	in.replay.top = (uint64_t)(mode >> 2) << 30;	/* exercise ESN inference */
	err = esp_in_open(&in, dec[c == ESP_CIPHER_CHACHA20_POLY1305], buf, n, &res);
	if (err == 0) {
		assert(res.off + res.len <= n);
		assert(res.nh == ESP_NH_IPV4 || res.nh == ESP_NH_IPV6);
		/* the same packet twice is a replay */
		memcpy(buf, data, n);
		assert(esp_in_open(&in, dec[c == ESP_CIPHER_CHACHA20_POLY1305], buf, n, &res) == -EALREADY);
	}
	return 0;
}
