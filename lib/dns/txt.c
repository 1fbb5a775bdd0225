/* lib/dns/txt.c: character-strings and the strict text pieces of our TXT records (txt.h). */
#include <errno.h>
#include <string.h>

#include "dns/txt.h"
#include "util/encode.h"

void dns_txt_put(struct wire *w, const char *s, size_t n)
{
	/* RFC 1035 §3.3: a one-byte length */
	if (n > 255) {
		wire_fail(w, -EINVAL);
		return;
	}
	wire_write_u8(w, (uint8_t)n);
	wire_write_bytes(w, s, n);
}

int dns_txt_get(struct wire *w, char s[static 256])
{
	uint8_t l = wire_read_u8(w);
	const uint8_t *p = wire_read_ref(w, l);

	s[0] = '\0';
	if (!p)
		return -EBADMSG;
	for (size_t i = 0; i < l; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -EBADMSG;
	memcpy(s, p, l);
	s[l] = '\0';
	return l;
}

int dns_txt_decimal(const char *s, uint64_t max, uint64_t *v)
{
	size_t n = strlen(s);
	uint64_t x = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (max - (uint64_t)(s[i] - '0')) / 10)
			return -EBADMSG;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int dns_txt_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n || strpbrk(s, "ABCDEF"))
		return -EBADMSG;	/* lower case only: one spelling */
	return hex_decode(out, n, s) == (int)n ? 0 : -EBADMSG;
}

void dns_txt_hex_put(char *dst, const uint8_t *src, size_t n)
{
	/* cannot fail: the caller gives 2n+1 bytes (txt.h) */
	(void)!hex_encode(dst, 2 * n + 1, src, n);
}

const char *dns_txt_value(const char *tok, const char *key)
{
	size_t k = strlen(key);

	return !strncmp(tok, key, k) && tok[k] == '=' ? tok + k + 1 : NULL;
}

int dns_txt_tokens(char *s, char *tok[DNS_TXT_TOKENS])
{
	int n = 0;

	for (char *p = s;;) {
		char *sp = strchr(p, ' ');

		if (n == DNS_TXT_TOKENS)
			return -EBADMSG;
		tok[n++] = p;
		if (sp)
			*sp = '\0';
		if (*p == '\0')
			return -EBADMSG;
		if (!sp)
			break;
		p = sp + 1;
	}
	return n;
}

int dns_txt_version(const char *h, const char *key)
{
	const char *v = dns_txt_value(h, key);
	char num[12];
	size_t n;
	uint64_t x;

	if (!v)
		return -EBADMSG;
	/* longer than UINT32_MAX's 10 digits cannot be a version we would read */
	n = strcspn(v, " ");
	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, v, n);
	num[n] = '\0';
	if (dns_txt_decimal(num, UINT32_MAX, &x))
		return -EBADMSG;
	return x == 1 ? 0 : -EPROTONOSUPPORT;
}
