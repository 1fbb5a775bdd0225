/* Renewal requests and the certificate record of a host (renew.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "authority/cert.h"
#include "authority/internal.h"
#include "authority/key.h"
#include "authority/renew.h"
#include "authority/x509.h"
#include "authority/revoked.h"
#include "authority/txt.h"
#include "dns/txt.h"
#include "util/encode.h"

#define RENEW_CONTEXT "autotunnel renew v1"
#define TIME_MAX ((uint64_t)INT64_MAX)

static int renew_body(const struct authority_renew *req, struct wire *w)
{
	char s[256];
	size_t hl = strnlen(req->host, sizeof(req->host));
	int n;

	if (hl == sizeof(req->host) || agent_label_check(req->host, hl) || req->t < 0 ||
	    authority_spki_check(req->spki, req->spki_len) < 0 || req->cert_len == 0 ||
	    req->cert_len > AUTHORITY_CERT_DER_MAX)
		return -EINVAL;
	n = snprintf(s, sizeof(s), "at-renew=1 host=%s t=%" PRId64, req->host, req->t);
	if (n < 0 || (size_t)n >= sizeof(s))
		return -EINVAL;
	dns_txt_put(w, s, (size_t)n);
	memcpy(s, "key=", 4);
	if ((n = b64_encode(s + 4, sizeof(s) - 4, req->spki, req->spki_len)) < 0)
		return -EINVAL;
	dns_txt_put(w, s, 4 + (size_t)n);
	authority_txt_blob_put(w, req->cert, req->cert_len);
	return wire_err(w) ? (wire_err(w) == -EINVAL ? -EINVAL : -ENOSPC) : 0;
}

/* context NUL D NUL body, for signing and verifying */
static int renew_message(const char *domain, const uint8_t *body, size_t blen, uint8_t *msg, size_t cap,
			 size_t *len)
{
	char d[AGENT_NAME_MAX + 1];
	size_t c = sizeof(RENEW_CONTEXT), dl;

	if (agent_name_canon(d, sizeof(d), domain) < 0)
		return -EINVAL;
	dl = strlen(d) + 1;
	if (c + dl + blen > cap)
		return -ENOSPC;
	memcpy(msg, RENEW_CONTEXT, c);
	memcpy(msg + c, d, dl);
	memcpy(msg + c + dl, body, blen);
	*len = c + dl + blen;
	return 0;
}

/* Ed25519 signs the message itself (no digest); ECDSA P-256 with SHA-256 (RFC 5758 §3.2). */
static const EVP_MD *digest_for(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();
}

int authority_renew_build(const struct authority_renew *req, const char *domain, const uint8_t *key_p8,
			  size_t p8len, uint8_t *rdata, size_t cap, size_t *len)
{
	uint8_t msg[sizeof(RENEW_CONTEXT) + AGENT_NAME_MAX + 1 + AUTHORITY_RENEW_RDATA_MAX];
	uint8_t sig[AUTHORITY_RENEW_SIG_MAX];
	char s[4 + 97];
	struct wire w = wire_writer(rdata, cap);
	const unsigned char *p = key_p8;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	X509 *cert = NULL;
	size_t mlen, siglen = sizeof(sig);
	int r;

	*len = 0;
	if ((r = renew_body(req, &w)))
		return r;
	if ((r = renew_message(domain, rdata, wire_offset(&w), msg, sizeof(msg), &mlen)))
		return r;
	r = -EINVAL;
	if (!key_p8 || !(p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)p8len)) || (size_t)(p - key_p8) != p8len ||
	    !(key = EVP_PKCS82PKEY(p8)) || !(cert = authority_x509_parse(req->cert, req->cert_len)) ||
	    EVP_PKEY_eq(key, X509_get0_pubkey(cert)) != 1)
		goto out;
	r = -EIO;
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, digest_for(key), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, mlen) != 1)
		goto out;
	memcpy(s, "sig=", 4);
	if ((r = b64_encode(s + 4, sizeof(s) - 4, sig, siglen)) < 0)
		goto out;
	dns_txt_put(&w, s, 4 + (size_t)r);
	r = wire_err(&w) ? -ENOSPC : 0;
	if (!r)
		*len = wire_offset(&w);
out:
	EVP_MD_CTX_free(md);
	X509_free(cert);
	EVP_PKEY_free(key);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return r;
}

static int renew_parse(const uint8_t *rdata, size_t len, struct authority_renew *req)
{
	struct wire w = wire_reader(rdata, len);
	char s[256], back[256], *tok[DNS_TXT_TOKENS];
	const char *v, *host;
	uint64_t t;
	size_t hl;
	int n, r, l;

	/* header, key, at least one string of the certificate, the signature last */
	if ((n = authority_txt_count(rdata, len)) < 4 || dns_txt_get(&w, s) < 0)
		return -EBADMSG;
	if ((r = dns_txt_version(s, "at-renew")))
		return r;
	if (dns_txt_tokens(s, tok) != 3 || strcmp(tok[0], "at-renew=1") ||
	    !(host = dns_txt_value(tok[1], "host")) || (hl = strlen(host)) > AGENT_LABEL_MAX ||
	    agent_label_check(host, hl) || !(v = dns_txt_value(tok[2], "t")) ||
	    dns_txt_decimal(v, TIME_MAX, &t))
		return -EBADMSG;
	memcpy(req->host, host, hl + 1);
	req->t = (int64_t)t;
	if (dns_txt_get(&w, s) < 0 || strncmp(s, "key=", 4) ||
	    (r = b64_decode(req->spki, sizeof(req->spki), s + 4)) <= 0)
		return -EBADMSG;
	req->spki_len = (size_t)r;
	if (authority_spki_check(req->spki, req->spki_len) < 0 ||
	    authority_txt_blob_get(&w, (size_t)n - 3, req->cert, sizeof(req->cert), &req->cert_len))
		return -EBADMSG;
	if ((l = dns_txt_get(&w, s)) < 4 + 4 || strncmp(s, "sig=", 4) || wire_avail(&w) ||
	    (r = b64_decode(req->sig, sizeof(req->sig), s + 4)) <= 0)
		return -EBADMSG;
	req->sig_len = (size_t)r;
	/* canonical base64 (zero padding bits) */
	if (b64_encode(back, sizeof(back), req->sig, req->sig_len) != l - 4 || memcmp(back, s + 4, (size_t)l - 4))
		return -EBADMSG;
	return 0;
}

int authority_renew_parse(const uint8_t *rdata, size_t len, struct authority_renew *req)
{
	uint8_t back[AUTHORITY_RENEW_RDATA_MAX];
	struct wire w = wire_writer(back, sizeof(back));
	int r;

	memset(req, 0, sizeof(*req));
	if (len > AUTHORITY_RENEW_RDATA_MAX)
		return -EBADMSG;
	r = renew_parse(rdata, len, req);
	/* one spelling: the signed bytes are the bytes the struct writes (key and certificate in base64) */
	if (!r && (renew_body(req, &w) || wire_offset(&w) > len || memcmp(back, rdata, wire_offset(&w))))
		r = -EBADMSG;
	if (r)
		memset(req, 0, sizeof(*req));
	return r;
}

int authority_renew_check(const struct authority *a, const struct authority_renew *req, int64_t now,
			  const struct authority_revoked *rl, struct authority_host_cert *current)
{
	uint8_t body[AUTHORITY_RENEW_RDATA_MAX];
	uint8_t msg[sizeof(RENEW_CONTEXT) + AGENT_NAME_MAX + 1 + AUTHORITY_RENEW_RDATA_MAX];
	struct wire w = wire_writer(body, sizeof(body));
	struct authority_host_cert tmp;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	size_t mlen;
	int r;

	if (!current)
		current = &tmp;
	if ((r = authority_cert_verify(a, req->cert, req->cert_len, now, req->host, NULL, rl, current)))
		return r;
	r = -ESTALE;
	if (req->t > now + AUTHORITY_RENEW_MAX_AGE_S || now - req->t > AUTHORITY_RENEW_MAX_AGE_S)
		goto fail;
	r = -EKEYREJECTED;
	if (renew_body(req, &w) || renew_message(a->domain, body, wire_offset(&w), msg, sizeof(msg), &mlen))
		goto fail;
	{
		const unsigned char *k = current->spki;

		if (!(key = d2i_PUBKEY(NULL, &k, (long)current->spki_len)))
			goto fail;
	}
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, digest_for(key), NULL, key) != 1 ||
	    EVP_DigestVerify(md, req->sig, req->sig_len, msg, mlen) != 1)
		goto fail;
	/* the key to certify must not be a revoked one either */
	if (rl) {
		struct authority_host_cert next = *current;

		memcpy(next.spki, req->spki, req->spki_len);
		next.spki_len = req->spki_len;
		next.serial_len = 0;
		next.not_before = now;	/* a host entry covers what was issued before it; this is issued now */
		if (authority_revoked_match(rl, &next))
			goto fail;
	}
	r = 0;
	goto out;
fail:
	memset(current, 0, sizeof(*current));
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return r;
}

int authority_hostcert_txt_build(const uint8_t *der, size_t len, uint8_t *rdata, size_t cap, size_t *rlen)
{
	return authority_txt_der_build("at-cert", der, len, rdata, cap, rlen);
}

int authority_hostcert_txt_parse(const uint8_t *rdata, size_t rlen, uint8_t *der, size_t cap, size_t *len)
{
	return authority_txt_der_parse("at-cert", rdata, rlen, der, cap, len);
}

static int host_name(char buf[static AGENT_NAME_MAX + 1], const char *what, const char *domain, const char *host)
{
	char p[16 + AGENT_LABEL_MAX];
	size_t hl = strnlen(host, AGENT_LABEL_MAX + 1);

	if (hl > AGENT_LABEL_MAX || agent_label_check(host, hl))
		return -EINVAL;
	snprintf(p, sizeof(p), "%s.%s", what, host);
	return authority_txt_name(buf, p, domain);
}

int authority_name_renew(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
{
	return host_name(buf, "_renew", domain, host);
}

int authority_name_cert(char buf[static AGENT_NAME_MAX + 1], const char *domain, const char *host)
{
	return host_name(buf, "_cert", domain, host);
}
