/* Host certificate verification, renewal, PKINIT names (cert.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "agent/name.h"
#include "authority/cert.h"
#include "authority/internal.h"
#include "authority/key.h"
#include "authority/revoked.h"
#include "authority/x509.h"

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EBADMSG;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static bool has_ike_eku(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	bool found = false;

	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_ipsec_IKE)
			found = true;
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

/* The names: exactly one dNSName <label>.D and one iPAddress in fc00::/7; other kinds only otherName. */
static int names_read(X509 *x, const char *domain, struct authority_host_cert *info)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ndns = 0, nip = 0, r = -EKEYREJECTED;
	size_t dl = strlen(domain);

	if (!gens)
		return -EKEYREJECTED;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int type;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
		const char *d;
		size_t n, hl;

		if (type == GEN_OTHERNAME)
			continue;	/* id-pkinit-san: for the KDC, not for us */
		if (type == GEN_DNS && ndns++ == 0) {
			d = (const char *)ASN1_STRING_get0_data(s);
			n = (size_t)ASN1_STRING_length(s);
			if (n > AGENT_NAME_MAX || memchr(d, '\0', n))
				goto out;
			memcpy(info->name, d, n);
			info->name[n] = '\0';
			hl = strcspn(info->name, ".");
			if (agent_name_check(info->name) || hl > AGENT_LABEL_MAX ||
			    agent_label_check(info->name, hl) || n != hl + 1 + dl ||
			    strcmp(info->name + hl + 1, domain))
				goto out;
			memcpy(info->host, info->name, hl);
			info->host[hl] = '\0';
		} else if (type == GEN_IPADD && nip++ == 0) {
			if (ASN1_STRING_length(s) != 16 || (ASN1_STRING_get0_data(s)[0] & 0xfe) != 0xfc)
				goto out;
			memcpy(info->ula, ASN1_STRING_get0_data(s), 16);
		} else {
			goto out;
		}
	}
	if (ndns == 1 && nip == 1)
		r = 0;
out:
	GENERAL_NAMES_free(gens);
	return r;
}

/* The host profile, and what the certificate says into @p info. */
static int profile_read(X509 *x, const char *domain, struct authority_host_cert *info)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	unsigned char *spki = NULL;
	uint32_t flags = X509_get_extension_flags(x);
	int n, r;

	/* keyUsage present (absent means any usage, RFC 5280 §4.2.1.3) and with digitalSignature */
	if ((flags & (EXFLAG_CA | EXFLAG_INVALID)) || !(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) ||
	    !has_ike_eku(x) || X509_get_signature_nid(x) != NID_ED25519)
		return -EKEYREJECTED;
	if ((r = names_read(x, domain, info)))
		return r;
	/* RFC 5280 §4.1.2.2: positive, at most 20 octets */
	if (!serial || ASN1_STRING_type(serial) != V_ASN1_INTEGER || ASN1_STRING_length(serial) < 1 ||
	    ASN1_STRING_length(serial) > AUTHORITY_SERIAL_MAX)
		return -EKEYREJECTED;
	info->serial_len = (uint8_t)ASN1_STRING_length(serial);
	memcpy(info->serial, ASN1_STRING_get0_data(serial), info->serial_len);
	if (asn1_time_unix(X509_get0_notBefore(x), &info->not_before) ||
	    asn1_time_unix(X509_get0_notAfter(x), &info->not_after))
		return -EKEYREJECTED;
	if (!pub || (n = i2d_PUBKEY(pub, &spki)) <= 0 || (size_t)n > sizeof(info->spki)) {
		OPENSSL_free(spki);
		return -EKEYREJECTED;
	}
	memcpy(info->spki, spki, (size_t)n);
	info->spki_len = (size_t)n;
	OPENSSL_free(spki);
	if ((r = authority_spki_check(info->spki, info->spki_len)) < 0)
		return -EKEYREJECTED;
	info->key_type = (enum authority_key_type)r;
	return 0;
}

/* The chain: the authority's certificate alone as anchor, at @p now, X.509 strict. */
static int chain_check(const struct authority *a, X509 *x, int64_t now)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int r = -EIO, err;

	if (!st || !ctx || !X509_STORE_add_cert(st, a->cert) || !X509_STORE_CTX_init(ctx, st, x, NULL))
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	X509_VERIFY_PARAM_set_depth(param, 0);	/* no intermediate: the anchor signs host certificates itself */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
	if (X509_verify_cert(ctx) == 1) {
		r = 0;
	} else {
		err = X509_STORE_CTX_get_error(ctx);
		r = err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID
			? -EKEYEXPIRED : -EKEYREJECTED;
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}

int authority_cert_verify(const struct authority *a, const uint8_t *der, size_t len, int64_t now,
			  const char *host, const uint8_t *ula, const struct authority_revoked *rl,
			  struct authority_host_cert *info)
{
	struct authority_host_cert tmp;
	X509 *x;
	int r;

	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	if (!(x = authority_x509_parse(der, len)))
		return -EBADMSG;
	if ((r = chain_check(a, x, now)) || (r = profile_read(x, a->domain, info)))
		goto out;
	r = -EPERM;
	if ((host && strcmp(host, info->host)) || (ula && memcmp(ula, info->ula, 16)))
		goto out;
	r = 0;
	if (rl && authority_revoked_match(rl, info))
		r = -EKEYREVOKED;
out:
	X509_free(x);
	if (r)
		memset(info, 0, sizeof(*info));
	return r;
}

int64_t authority_cert_renew_at(int64_t not_before, int64_t not_after)
{
	if (not_after <= not_before)
		return not_before;
	return not_before + (not_after - not_before) / 3 * 2;
}

bool authority_cert_should_renew(const struct authority_host_cert *info, int64_t now)
{
	return now >= authority_cert_renew_at(info->not_before, info->not_after);
}
