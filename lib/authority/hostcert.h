/*
 * What a host certificate of the account authority says, as
 * authority_cert_verify() (cert.h) reads it: a plain struct, shared with the
 * revocation list (revoked.h) and the renewal request (renew.h).
 */
#ifndef AT_AUTHORITY_HOSTCERT_H
#define AT_AUTHORITY_HOSTCERT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"
#include "authority/params.h"

/** Host key algorithms a certificate may carry. */
enum authority_key_type {
	AUTHORITY_KEY_ED25519 = 1,
	AUTHORITY_KEY_P256,
};

/** What a verified host certificate says. */
struct authority_host_cert {
	char host[AGENT_LABEL_MAX + 1];		/* H */
	char name[AGENT_NAME_MAX + 1];		/* H.D, its dNSName */
	uint8_t ula[16];			/* its iPAddress */
	uint8_t serial[AUTHORITY_SERIAL_MAX];
	uint8_t serial_len;
	int64_t not_before, not_after;		/* Unix seconds */
	enum authority_key_type key_type;
	uint8_t spki[AUTHORITY_SPKI_MAX];	/* the host's public key, SubjectPublicKeyInfo DER */
	size_t spki_len;
};

#endif
