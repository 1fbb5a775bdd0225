/*
 * Fuzz the account state file parser and the login secret, server and pin
 * parsers (lib/dnsc state.c): what the state parser accepts formats back to
 * the same bytes.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsc/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsc_state s;
	static char out[DNSC_STATE_FILE_MAX + 1], text[512], host[300];
	uint8_t t[32], i[32];
	enum dnsc_pin_kind k;
	uint16_t port;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	int rc;

	if (dnsc_state_parse(&s, data, size) == 0) {
		rc = dnsc_state_format(&s, out, sizeof(out));
		assert(rc > 0 && (size_t)rc == size && memcmp(out, data, size) == 0);
	}
	dnsc_state_wipe(&s);
	if (dnsc_keys_decode(data, size, t, i) == 0) {
		char sec[DNSC_KEYS_SECRET_LEN + 1];

		dnsc_keys_encode(sec, t, i);
		assert(memcmp(sec, data, DNSC_KEYS_SECRET_LEN) == 0);
	}
	memcpy(text, data, n);
	text[n] = '\0';
	if (dnsc_pin_parse(text, &k, t) == 0)
		assert(k == DNSC_PIN_HEX || k == DNSC_PIN_SPKI_B64);
	if (dnsc_server_parse(text, host, sizeof(host), &port, 853) == 0)
		assert(port != 0 && host[0] != '\0');
	return 0;
}
