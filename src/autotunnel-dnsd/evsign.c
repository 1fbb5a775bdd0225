#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/msg.h"
#include "dns/tsig.h"
#include "wire/wire.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/evsign.h"

static const char *digest_of(enum dns_tsig_alg alg)
{
	switch (alg) {
	case DNS_TSIG_HMAC_MD5: return "MD5";
	case DNS_TSIG_HMAC_SHA1: return "SHA1";
	case DNS_TSIG_HMAC_SHA224: return "SHA224";
	case DNS_TSIG_HMAC_SHA256: return "SHA256";
	case DNS_TSIG_HMAC_SHA384: return "SHA384";
	case DNS_TSIG_HMAC_SHA512: return "SHA512";
	}
	return NULL;
}

static void free_ctx(void *ctx)
{
	EVP_MAC_CTX_free(ctx);
}

static EVP_MAC_CTX *keyed(struct account *acc)
{
	const char *md = digest_of(acc->key.alg);
	OSSL_PARAM p[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	char name[16];

	if (acc->mac_ctx)
		return acc->mac_ctx;
	if (!md)
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (!ctx)
		return NULL;
	strcpy(name, md);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, acc->key.secret, acc->key.secret_len, p)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	acc->mac_ctx = ctx;
	acc->mac_free = free_ctx;
	return ctx;
}

void evsign_forget(struct account *acc)
{
	EVP_MAC_CTX_free(acc->mac_ctx);
	acc->mac_ctx = NULL;
	acc->mac_free = NULL;
}

size_t evsign_space(const struct account *acc)
{
	const struct dns_name *alg = dns_tsig_alg_name(acc->key.alg);

	/* owner, type, class, TTL, rdlength; algorithm, time, fudge, MAC, id, error, other */
	return acc->key.name.len + 10 + (alg ? alg->len : 0) + 6 + 2 + 2 +
	       dns_tsig_alg_mac_len(acc->key.alg) + 2 + 2 + 2;
}

int evsign(struct account *acc, uint8_t *buf, size_t len, size_t cap, size_t *outlen, uint64_t now)
{
	const struct dns_name *alg = dns_tsig_alg_name(acc->key.alg);
	EVP_MAC_CTX *ctx = keyed(acc);
	uint8_t vars[2 * DNS_NAME_MAX + 32], mac[EVP_MAX_MD_SIZE];
	struct wire v = wire_writer(vars, sizeof(vars)), w;
	size_t mac_len = 0, rd;
	uint16_t id, arcount;
	int ok;

	if (!ctx || !alg || len < DNS_HEADER_LEN)
		return -EINVAL;
	if (len + evsign_space(acc) > cap)
		return -ENOSPC;
	/* RFC 8945 §4.3.3: the message, then the TSIG variables; names in
	 * canonical form (the account key name is stored in lower case) */
	wire_write_bytes(&v, acc->key.name.wire, acc->key.name.len);
	wire_write_u16(&v, DNS_CLASS_ANY);
	wire_write_u32(&v, 0);
	wire_write_bytes(&v, alg->wire, alg->len);
	wire_write_u16(&v, (uint16_t)(now >> 32));
	wire_write_u32(&v, (uint32_t)now);
	wire_write_u16(&v, DNS_TSIG_FUDGE);
	wire_write_u16(&v, 0);	/* error */
	wire_write_u16(&v, 0);	/* other len */
	if (wire_err(&v))
		return -EINVAL;
	/* no key: HMAC starts again from the keyed state it keeps (OpenSSL
	 * copies its inner digest state), with no allocation, unlike a dup */
	ok = EVP_MAC_init(ctx, NULL, 0, NULL) && EVP_MAC_update(ctx, buf, len) &&
	     EVP_MAC_update(ctx, vars, wire_offset(&v)) && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac));
	if (!ok)
		return -EIO;

	id = (uint16_t)(buf[0] << 8 | buf[1]);
	arcount = (uint16_t)(buf[10] << 8 | buf[11]);
	w = wire_writer(buf, cap);
	wire_seek(&w, len);
	wire_write_bytes(&w, acc->key.name.wire, acc->key.name.len);
	wire_write_u16(&w, DNS_TYPE_TSIG);
	wire_write_u16(&w, DNS_CLASS_ANY);
	wire_write_u32(&w, 0);
	rd = wire_reserve(&w, 2);
	wire_write_bytes(&w, alg->wire, alg->len);
	wire_write_u16(&w, (uint16_t)(now >> 32));
	wire_write_u32(&w, (uint32_t)now);
	wire_write_u16(&w, DNS_TSIG_FUDGE);
	wire_write_u16(&w, (uint16_t)mac_len);
	wire_write_bytes(&w, mac, mac_len);
	wire_write_u16(&w, id);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_patch_u16(&w, rd, (uint16_t)(wire_offset(&w) - rd - 2));
	wire_patch_u16(&w, 10, (uint16_t)(arcount + 1));
	OPENSSL_cleanse(mac, sizeof(mac));
	if (wire_err(&w))
		return -ENOSPC;
	*outlen = wire_offset(&w);
	return 0;
}
