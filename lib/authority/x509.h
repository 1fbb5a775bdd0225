/* X.509 helpers inside lib/authority: names and strict DER parsing. */
#ifndef AT_AUTHORITY_X509_H
#define AT_AUTHORITY_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* The CN of the authority's subject. */
#define AUTHORITY_CA_CN "autotunnel account authority"

/*
 * The subject of the authority (CN AUTHORITY_CA_CN) or of a host (CN = its
 * label), below the domainComponents of D; NULL when out of memory.
 */
X509_NAME *authority_x509_name(const char *domain, const char *cn);

/* Exactly one certificate in canonical DER, at most AUTHORITY_CERT_DER_MAX bytes; NULL for anything else. */
X509 *authority_x509_parse(const uint8_t *der, size_t len);

#endif
