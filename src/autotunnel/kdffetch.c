/* `autotunnel login`: fetch _kdf.D over DNS over TLS (see kdffetch.h). */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "autotunnel/kdffetch.h"
#include "dnsc/msg.h"
#include "dnsc/state.h"
#include "util/random.h"

#define TIMEOUT_S 10
#define DOT_PORT 853

static int tcp_connect(const char *server, const char *host, uint16_t port, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	struct addrinfo *res = NULL;
	char portstr[8];
	int fd = -1, e = 0, rc;

	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc) {
		/* said as such, before any connection is tried */
		snprintf(why, whylen, "cannot resolve %s: %s", host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -EADDRNOTAVAIL;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		/* bounded waits: connect, the handshake and the answer */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, whylen, "cannot reach %s: %s", server, strerror(e ? e : EHOSTUNREACH));
		return -(e ? e : EHOSTUNREACH);
	}
	return fd;
}

/* RFC 7858 §4.2: the pin is the SHA-256 of the SPKI; a hex pin may also be
 * the certificate's fingerprint (as autotunnel-dnsd logs both). */
static bool pin_matches(X509 *cert, enum dnsc_pin_kind kind, const uint8_t pin[static 32])
{
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL;
	unsigned int mdlen = 0;
	bool ok = false;
	int n;

	n = i2d_PUBKEY(X509_get0_pubkey(cert), &spki);
	if (n > 0 && EVP_Digest(spki, (size_t)n, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32 &&
	    CRYPTO_memcmp(md, pin, 32) == 0)
		ok = true;
	OPENSSL_free(spki);
	if (!ok && kind == DNSC_PIN_HEX && X509_digest(cert, EVP_sha256(), md, &mdlen) && mdlen == 32 &&
	    CRYPTO_memcmp(md, pin, 32) == 0)
		ok = true;
	return ok;
}

static int read_full(SSL *ssl, uint8_t *buf, size_t n)
{
	size_t got = 0;
	size_t r;

	while (got < n) {
		if (SSL_read_ex(ssl, buf + got, n - got, &r) != 1)
			return -EIO;
		got += r;
	}
	return 0;
}

/* The TXT record owned by @p qname in the answer section. */
static int find_params(const struct dnsc_resp *r, const struct dns_name *qname, struct dns_kdf *out)
{
	struct dnsc_rr rr;
	unsigned pos = 0;
	int rc;

	while ((rc = dnsc_rr_next(&r->msg, &pos, &rr)) == 1) {
		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_TXT || !dns_name_equal(&rr.owner, qname))
			continue;
		return dns_kdf_txt_parse(out, rr.rdata.pos, wire_avail(&rr.rdata));
	}
	return rc < 0 ? rc : -ENOENT;
}

int kdf_fetch(const char *server, const char *pin, const char *ca, const char *domain,
	      struct dns_kdf *out, char *why, size_t whylen)
{
	static uint8_t buf[2 + DNSC_MSG_MAX];
	char host[256], qtext[300], rbuf[16];
	enum dnsc_pin_kind kind = DNSC_PIN_NONE;
	uint8_t digest[32];
	struct dns_name qname;
	struct dnsc_resp r;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	uint16_t port, id;
	size_t qlen, rlen;
	int fd = -1, rc = -EIO;

	if (dnsc_server_parse(server, host, sizeof(host), &port, DOT_PORT)) {
		snprintf(why, whylen, "'%s' is not HOST[:PORT]", server);
		return -EINVAL;
	}
	if (pin && dnsc_pin_parse(pin, &kind, digest)) {
		snprintf(why, whylen, "a pin is 64 hex digits (the SHA-256 fingerprint) or 44 characters of base64 (SPKI)");
		return -EINVAL;
	}
	if ((size_t)snprintf(qtext, sizeof(qtext), "_kdf.%s", domain) >= sizeof(qtext) ||
	    dns_name_from_text(&qname, qtext)) {
		snprintf(why, whylen, "%s is too long", domain);
		return -EINVAL;
	}
	if (rand_bytes(&id, sizeof(id)) ||
	    dnsc_query_build(buf + 2, sizeof(buf) - 2, &qlen, id, &qname, DNS_TYPE_TXT, NULL, NULL, 0)) {
		snprintf(why, whylen, "cannot build the query");
		return -EIO;
	}
	buf[0] = (uint8_t)(qlen >> 8);	/* RFC 7766 §8: two-byte length prefix */
	buf[1] = (uint8_t)qlen;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto tls_error;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(why, whylen, "cannot read the CA file %s", ca);
			rc = -EINVAL;
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/* pinned: the chain does not matter, the key does (checked below) */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	fd = tcp_connect(server, host, port, why, whylen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto tls_error;
	{
		struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *res = NULL;
		bool numeric = getaddrinfo(host, NULL, &hints, &res) == 0;
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (res)
			freeaddrinfo(res);
		if (!numeric)
			SSL_set_tlsext_host_name(ssl, host);	/* RFC 6066 SNI */
		/* RFC 6125: with a CA, the certificate must name what --server gave */
		if (ca && (numeric ? !X509_VERIFY_PARAM_set1_ip_asc(vp, host)
				   : !X509_VERIFY_PARAM_set1_host(vp, host, 0)))
			goto tls_error;
	}
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);

		if (ca && vr != X509_V_OK)
			snprintf(why, whylen, "cannot reach %s: the server's certificate is not trusted: %s",
				 server, X509_verify_cert_error_string(vr));
		else
			snprintf(why, whylen, "cannot reach %s: the TLS handshake failed", server);
		goto out;
	}
	cert = SSL_get1_peer_certificate(ssl);
	if (!cert || (pin && !pin_matches(cert, kind, digest))) {
		snprintf(why, whylen, "cannot reach %s: the server's certificate does not match the pin", server);
		rc = -EACCES;
		goto out;
	}
	if (SSL_write(ssl, buf, (int)(qlen + 2)) != (int)(qlen + 2) || read_full(ssl, buf, 2)) {
		snprintf(why, whylen, "cannot reach %s: the server closed the connection", server);
		goto out;
	}
	rlen = (size_t)buf[0] << 8 | buf[1];
	if (read_full(ssl, buf, rlen)) {
		snprintf(why, whylen, "cannot reach %s: the server closed the connection", server);
		goto out;
	}
	rc = dnsc_resp_open(&r, buf, rlen, id, &qname, DNS_TYPE_TXT, NULL, 0);
	if (rc) {
		snprintf(why, whylen, "the server's answer is malformed");
		rc = -EBADMSG;
		goto out;
	}
	if (r.rcode == DNS_RCODE_NXDOMAIN) {
		snprintf(why, whylen, "the server has no account %s", domain);
		rc = -ENOENT;
	} else if (r.rcode == DNS_RCODE_REFUSED || r.rcode == DNS_RCODE_NOTAUTH) {
		/* REFUSED (NOTAUTH from some servers): the name is in no zone it serves */
		snprintf(why, whylen, "the server does not serve %s (it answered %s)", domain,
			 dnsc_rcode_name(r.rcode, rbuf));
		rc = -EXDEV;
	} else if (r.rcode != DNS_RCODE_NOERROR) {
		snprintf(why, whylen, "the server answered %s to the key parameters query",
			 dnsc_rcode_name(r.rcode, rbuf));
		rc = -EPROTO;
	} else if ((rc = find_params(&r, &qname, out)) != 0) {
		snprintf(why, whylen, rc == -ENOENT ? "the server did not give the key parameters of %s"
						    : "the server's key parameters for %s are not valid",
			 domain);
		rc = -EPROTO;
	}
	goto out;
tls_error:
	snprintf(why, whylen, "TLS: %s", ERR_reason_error_string(ERR_get_error()) ?: "out of memory");
	rc = -EIO;
out:
	X509_free(cert);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}
