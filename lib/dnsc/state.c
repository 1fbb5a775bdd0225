/* lib/dnsc/state.c: the account state file and the login secret (see state.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dnsc/state.h"
#include "util/encode.h"
#include "wire/wire.h"

#define MAGIC "autotunnel-account 1"

void dnsc_state_wipe(struct dnsc_state *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

int dnsc_server_parse(const char *s, char *host, size_t hostlen, uint16_t *port, uint16_t defport)
{
	const char *h = s, *colon, *end;
	size_t hl;
	uint8_t a6[16];
	char tmp[DNSC_SERVER_MAX + 1];

	if (!s || !*s || strlen(s) > DNSC_SERVER_MAX)
		return -EINVAL;
	*port = defport;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) {
			colon = NULL;	/* a bare IPv6 address */
			hl = strlen(s);
		} else {
			hl = colon ? (size_t)(colon - s) : strlen(s);
		}
	}
	if (colon) {
		char *e;
		unsigned long p;

		if (!colon[1] || colon[1] == '-' || colon[1] == '+')
			return -EINVAL;
		p = strtoul(colon + 1, &e, 10);
		if (*e || p == 0 || p > 65535)
			return -EINVAL;
		*port = (uint16_t)p;
	}
	if (hl == 0 || hl >= hostlen || hl >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, h, hl);
	tmp[hl] = '\0';
	/* an address, or a host name of the usual characters */
	if (inet_pton(AF_INET6, tmp, a6) != 1) {
		for (size_t i = 0; i < hl; i++) {
			char c = tmp[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '.' || c == '_'))
				return -EINVAL;
		}
		if (s[0] == '[')
			return -EINVAL;
	}
	memcpy(host, tmp, hl + 1);
	return 0;
}

int dnsc_pin_parse(const char *s, enum dnsc_pin_kind *kind, uint8_t digest[static 32])
{
	char hex[65];
	size_t n = 0, len;

	*kind = DNSC_PIN_NONE;
	memset(digest, 0, 32);
	if (!s)
		return -EINVAL;
	len = strlen(s);
	if (len == 44 && s[43] == '=') {
		uint8_t buf[33];

		if (b64_decode(buf, sizeof(buf), s) != 32)
			return -EINVAL;
		memcpy(digest, buf, 32);
		*kind = DNSC_PIN_SPKI_B64;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == ':') {
			/* between bytes only */
			if (i == 0 || i + 1 == len || n % 2 || s[i + 1] == ':')
				return -EINVAL;
			continue;
		}
		if (n == 64)
			return -EINVAL;
		hex[n++] = (char)((c >= 'A' && c <= 'F') ? c - 'A' + 'a' : c);
	}
	hex[n] = '\0';
	if (n != 64 || hex_decode(digest, 32, hex) != 32) {
		memset(digest, 0, 32);
		return -EINVAL;
	}
	*kind = DNSC_PIN_HEX;
	return 0;
}

static const char hexd[] = "0123456789abcdef";

void dnsc_keys_encode(char out[static DNSC_KEYS_SECRET_LEN + 1], const uint8_t tsig[static 32],
		      const uint8_t ike[static 32])
{
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hexd[tsig[i] >> 4];
		out[2 * i + 1] = hexd[tsig[i] & 15];
		out[64 + 2 * i] = hexd[ike[i] >> 4];
		out[65 + 2 * i] = hexd[ike[i] & 15];
	}
	out[DNSC_KEYS_SECRET_LEN] = '\0';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dnsc_keys_decode(const uint8_t *secret, size_t len, uint8_t tsig[static 32], uint8_t ike[static 32])
{
	uint8_t k[64];

	memset(tsig, 0, 32);
	memset(ike, 0, 32);
	if (len != DNSC_KEYS_SECRET_LEN)
		return -EINVAL;
	for (int i = 0; i < 64; i++) {
		int hi = hexval(secret[2 * i]), lo = hexval(secret[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(k, sizeof(k));
			return -EINVAL;
		}
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(tsig, k, 32);
	memcpy(ike, k + 32, 32);
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

/* ---- the file ---- */

struct out {
	char *buf;
	size_t len, pos;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->full = true;
	else
		o->pos += (size_t)n;
}

static bool server_ok(const char *s)
{
	char host[DNSC_SERVER_MAX + 1];
	uint16_t port;

	return dnsc_server_parse(s, host, sizeof(host), &port, 853) == 0;
}

static bool pin_ok(const char *s)
{
	enum dnsc_pin_kind k;
	uint8_t d[32];

	return dnsc_pin_parse(s, &k, d) == 0;
}

/* A path: absolute, printable, no spaces at either end (it is one line of the file). */
static bool path_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] != '/' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool state_ok(const struct dnsc_state *s)
{
	return agent_name_check(s->domain) == 0 && strchr(s->domain, '.') &&
	       agent_label_check(s->host, strlen(s->host)) == 0 && server_ok(s->server) &&
	       (!s->update_server[0] || server_ok(s->update_server)) &&
	       (!s->llq_server[0] || server_ok(s->llq_server)) && (!s->parent[0] || server_ok(s->parent)) &&
	       (!s->pin[0] || pin_ok(s->pin)) && (!s->ca[0] || path_ok(s->ca));
}

int dnsc_state_format(const struct dnsc_state *s, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	char k1[48], k2[48];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (!state_ok(s))
		return -EINVAL;
	if (b64_encode(k1, sizeof(k1), s->tsig_key, 32) < 0 || b64_encode(k2, sizeof(k2), s->ike_key, 32) < 0)
		return -EINVAL;
	put(&o, MAGIC "\ndomain %s\nhost %s\nserver %s\n", s->domain, s->host, s->server);
	if (s->update_server[0])
		put(&o, "update-server %s\n", s->update_server);
	if (s->llq_server[0])
		put(&o, "llq-server %s\n", s->llq_server);
	if (s->parent[0])
		put(&o, "parent %s\n", s->parent);
	if (s->pin[0])
		put(&o, "pin %s\n", s->pin);
	if (s->ca[0])
		put(&o, "ca %s\n", s->ca);
	put(&o, "tsig-key %s\nike-key %s\n", k1, k2);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (o.full) {
		OPENSSL_cleanse(buf, len);
		return -ENOSPC;
	}
	return (int)o.pos;
}

/* Read one line ("key value\n") into @p line (NUL-terminated, without the newline). */
static int read_line(struct wire *w, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		uint8_t c = wire_read_u8(w);

		if (wire_err(w))
			return -EBADMSG;
		if (c == '\n')
			break;
		if (c < 0x20 || c >= 0x7f || n + 1 >= cap)
			return -EBADMSG;
		line[n++] = (char)c;
	}
	line[n] = '\0';
	return 0;
}

/* "key value" with exactly this key: copy the value (1..cap-1 bytes). */
static bool take(const char *line, const char *key, char *val, size_t cap)
{
	size_t kl = strlen(key), vl;

	if (strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return false;
	vl = strlen(line + kl + 1);
	if (vl == 0 || vl >= cap)
		return false;
	memcpy(val, line + kl + 1, vl + 1);
	return true;
}

static int key_value(const char *b64, uint8_t out[static 32])
{
	uint8_t buf[36];
	char again[48];
	int n = b64_decode(buf, sizeof(buf), b64);

	/* the one canonical encoding only, so that the file reads back as written */
	if (n != 32 || b64_encode(again, sizeof(again), buf, 32) < 0 || strcmp(again, b64) != 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -EBADMSG;
	}
	memcpy(out, buf, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int dnsc_state_parse(struct dnsc_state *s, const uint8_t *buf, size_t len)
{
	struct wire w = wire_reader(buf, len);
	char line[DNSC_PATH_MAX + 32];
	char val[DNSC_PATH_MAX + 1];
	int rc = -EBADMSG;

	memset(s, 0, sizeof(*s));
	if (len > DNSC_STATE_FILE_MAX)
		return -EBADMSG;
	if (read_line(&w, line, sizeof(line)) || strcmp(line, MAGIC) != 0)
		goto bad;
	if (read_line(&w, line, sizeof(line)) || !take(line, "domain", s->domain, sizeof(s->domain)))
		goto bad;
	if (read_line(&w, line, sizeof(line)) || !take(line, "host", s->host, sizeof(s->host)))
		goto bad;
	if (read_line(&w, line, sizeof(line)) || !take(line, "server", s->server, sizeof(s->server)))
		goto bad;
	if (read_line(&w, line, sizeof(line)))
		goto bad;
	if (take(line, "update-server", s->update_server, sizeof(s->update_server)) &&
	    read_line(&w, line, sizeof(line)))
		goto bad;
	if (take(line, "llq-server", s->llq_server, sizeof(s->llq_server)) && read_line(&w, line, sizeof(line)))
		goto bad;
	if (take(line, "parent", s->parent, sizeof(s->parent)) && read_line(&w, line, sizeof(line)))
		goto bad;
	if (take(line, "pin", s->pin, sizeof(s->pin)) && read_line(&w, line, sizeof(line)))
		goto bad;
	if (take(line, "ca", s->ca, sizeof(s->ca)) && read_line(&w, line, sizeof(line)))
		goto bad;
	if (!take(line, "tsig-key", val, sizeof(val)) || key_value(val, s->tsig_key))
		goto bad;
	if (read_line(&w, line, sizeof(line)) || !take(line, "ike-key", val, sizeof(val)) ||
	    key_value(val, s->ike_key))
		goto bad;
	if (wire_avail(&w) != 0)
		goto bad;
	/* the names as the agent writes them: lower case */
	for (char *p = s->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			goto bad;
	if (!state_ok(s))
		goto bad;
	rc = 0;
bad:
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(val, sizeof(val));
	if (rc)
		dnsc_state_wipe(s);
	return rc;
}
