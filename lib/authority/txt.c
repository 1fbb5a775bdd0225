/* TXT string helpers of lib/authority (txt.h). */
#include <errno.h>
#include <string.h>

#include <stdio.h>

#include "agent/name.h"
#include "authority/params.h"
#include "authority/txt.h"
#include "dns/txt.h"
#include "authority/x509.h"
#include "util/encode.h"

void authority_txt_blob_put(struct wire *w, const uint8_t *blob, size_t n)
{
	/* a chunk of 252 characters is 189 bytes: each string decodes by itself */
	const size_t per = AUTHORITY_TXT_CHUNK / 4 * 3;
	char s[AUTHORITY_TXT_CHUNK + 1];

	if (n == 0) {
		wire_fail(w, -EINVAL);
		return;
	}
	for (size_t off = 0; off < n; off += per) {
		size_t k = n - off < per ? n - off : per;
		int r = b64_encode(s, sizeof(s), blob + off, k);

		if (r < 0) {
			wire_fail(w, -EINVAL);
			return;
		}
		dns_txt_put(w, s, (size_t)r);
	}
}

int authority_txt_blob_get(struct wire *w, size_t nstr, uint8_t *out, size_t cap, size_t *len)
{
	const size_t per = AUTHORITY_TXT_CHUNK / 4 * 3;
	char s[256], back[AUTHORITY_TXT_CHUNK + 1];
	size_t total = 0;

	*len = 0;
	if (nstr == 0)
		return -EBADMSG;
	for (size_t i = 0; i < nstr; i++) {
		int l = dns_txt_get(w, s), d;

		if (l < 4 || (i + 1 < nstr && l != AUTHORITY_TXT_CHUNK))
			return -EBADMSG;
		/* b64_decode() takes only padded standard base64; the re-encoding pins one spelling */
		if ((d = b64_decode(out + total, cap - total, s)) < 0 || (i + 1 < nstr && (size_t)d != per))
			return -EBADMSG;
		if (b64_encode(back, sizeof(back), out + total, (size_t)d) != l || memcmp(back, s, (size_t)l))
			return -EBADMSG;
		total += (size_t)d;
	}
	*len = total;
	return 0;
}

int authority_txt_count(const uint8_t *rdata, size_t len)
{
	struct wire w = wire_reader(rdata, len);
	int n = 0;

	while (wire_avail(&w) && !wire_err(&w)) {
		wire_skip(&w, wire_read_u8(&w));
		n++;
	}
	return wire_err(&w) ? -EBADMSG : n;
}

int authority_txt_der_build(const char *key, const uint8_t *der, size_t len, uint8_t *rdata, size_t cap,
			    size_t *rlen)
{
	struct wire w = wire_writer(rdata, cap);
	char h[32];
	int n;

	*rlen = 0;
	if (len == 0 || len > AUTHORITY_CERT_DER_MAX)
		return -EINVAL;
	n = snprintf(h, sizeof(h), "%s=1", key);
	if (n < 0 || (size_t)n >= sizeof(h))
		return -EINVAL;
	dns_txt_put(&w, h, (size_t)n);
	authority_txt_blob_put(&w, der, len);
	if (wire_err(&w))
		return wire_err(&w) == -EINVAL ? -EINVAL : -ENOSPC;
	*rlen = wire_offset(&w);
	return 0;
}

int authority_txt_der_parse(const char *key, const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap,
			    size_t *len)
{
	struct wire w = wire_reader(rdata, rlen);
	char h[256], want[32];
	X509 *x;
	int n, r;

	*len = 0;
	if ((n = authority_txt_count(rdata, rlen)) < 2 || dns_txt_get(&w, h) < 0)
		return -EBADMSG;
	if ((r = dns_txt_version(h, key)))
		return r;
	snprintf(want, sizeof(want), "%s=1", key);
	if (strcmp(h, want) || authority_txt_blob_get(&w, (size_t)n - 1, der, cap, len) || wire_avail(&w) ||
	    !(x = authority_x509_parse(der, *len))) {
		*len = 0;
		return -EBADMSG;
	}
	X509_free(x);
	return 0;
}

int authority_txt_name(char buf[static 254], const char *prefix, const char *domain)
{
	char d[AGENT_NAME_MAX + 1];
	int n;

	if (agent_name_canon(d, sizeof(d), domain) < 0)
		return -EINVAL;
	n = snprintf(buf, AGENT_NAME_MAX + 1, "%s.%s", prefix, d);
	if (n < 0 || n > AGENT_NAME_MAX) {
		buf[0] = '\0';
		return -EINVAL;
	}
	return 0;
}
