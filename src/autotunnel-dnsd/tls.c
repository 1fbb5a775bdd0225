#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "util/encode.h"
#include "util/random.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/tls.h"

static void ssl_err(char *err, size_t errlen, const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

int tls_generate(const char *cert, const char *key, const char *cn, char *err, size_t errlen)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	char san[300];
	FILE *fp = NULL;
	int fd, rc = -EIO;

	if (!pk || !x) {
		ssl_err(err, errlen, "key generation");
		goto out;
	}
	if (rand_bytes(serial, sizeof(serial)))
		goto out;
	serial[0] &= 0x7f;	/* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) || !X509_set_pubkey(x, pk)) {
		ssl_err(err, errlen, "certificate");
		goto out;
	}
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name)) {
		ssl_err(err, errlen, "certificate name");
		goto out;
	}
	snprintf(san, sizeof(san), "DNS:%s", cn);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, pk, EVP_sha256())) {
		ssl_err(err, errlen, "certificate signature");
		goto out;
	}
	/* 0600 whatever the umask, and also when an older file is overwritten */
	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || !(fp = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", key, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (!PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL) || fclose(fp)) {
		fp = NULL;
		snprintf(err, errlen, "%s: cannot write", key);
		goto out;
	}
	/* public, but kept like the key and the database it sits beside (0600) */
	fd = open(cert, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fp = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
	if (!fp && fd >= 0)
		close(fd);
	if (!fp || !PEM_write_X509(fp, x) || fclose(fp)) {
		fp = NULL;
		snprintf(err, errlen, "%s: cannot write", cert);
		goto out;
	}
	fp = NULL;
	rc = 0;
out:
	if (fp)
		fclose(fp);
	X509_EXTENSION_free(ext);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

int tls_fingerprints(const char *cert, char *hex, size_t hexlen, char *pin, size_t pinlen)
{
	FILE *fp = fopen(cert, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL;
	unsigned int mdlen = 0;
	int n, rc = -EIO;

	if (fp)
		fclose(fp);
	if (!x)
		return -EIO;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) && hexlen >= mdlen * 3) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
		n = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
		if (n > 0 && EVP_Digest(spki, (size_t)n, md, &mdlen, EVP_sha256(), NULL) &&
		    b64_encode(pin, pinlen, md, mdlen) > 0)
			rc = 0;
	}
	OPENSSL_free(spki);
	X509_free(x);
	return rc;
}

struct ssl_ctx_st *tls_server_ctx(const struct dnsd_settings *s, char *err, size_t errlen)
{
	char cert[1024], key[1024], hex[200], pin[100];
	SSL_CTX *ctx;

	if (s->tls_cert) {
		snprintf(cert, sizeof(cert), "%s", s->tls_cert);
		snprintf(key, sizeof(key), "%s", s->tls_key);
	} else {
		/* next to the database: dns.db -> dns.db.tls-cert.pem */
		snprintf(cert, sizeof(cert), "%s.tls-cert.pem", s->db);
		snprintf(key, sizeof(key), "%s.tls-key.pem", s->db);
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
			if (tls_generate(cert, key, s->server_name, err, errlen))
				return NULL;
			log_info("generated a self-signed TLS certificate for %s in %s", s->server_name, cert);
		}
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ssl_err(err, errlen, "TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* an agent's connection idles between LLQ events: its 16 KiB record
	 * buffers go back while nothing is under way (bench/dns: TLS watchers) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls_fingerprints(cert, hex, sizeof(hex), pin, sizeof(pin)) == 0) {
		/* RFC 7858 §4.2: clients pin the key; tell the operator what to pin */
		log_info("TLS certificate %s SHA-256 fingerprint %s", cert, hex);
		log_info("TLS SPKI pin (kdig +tls-pin=) %s", pin);
	}
	return ctx;
}
