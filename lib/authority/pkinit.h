/*
 * The PKINIT name of a certificate (RFC 4556 §3.2.2, §3.2.4): what
 * authority_issue() (authority.h) can add for the local KDC and its clients.
 */
#ifndef AT_AUTHORITY_PKINIT_H
#define AT_AUTHORITY_PKINIT_H

#include <stddef.h>
#include <stdint.h>

#include "authority/params.h"

/** What a PKINIT name (RFC 4556 §3.2.2, §3.2.4) the certificate carries is for. */
enum authority_pkinit {
	AUTHORITY_PKINIT_NONE = 0,
	AUTHORITY_PKINIT_CLIENT,	/* id-pkinit-san "name[/inst]@REALM", EKU id-pkinit-KPClientAuth */
	AUTHORITY_PKINIT_KDC,		/* id-pkinit-san "krbtgt/REALM@REALM", EKU id-pkinit-KPKdc */
};

/**
 * The DER of the id-pkinit-san otherName value (RFC 4556 §3.2.2: a
 * KRB5PrincipalName, EXPLICIT tags as in its ASN.1 module) for @p pkinit:
 * CLIENT with @p principal "name[/instance]@REALM" gives name-type
 * KRB5-NT-PRINCIPAL (1); KDC with @p principal "REALM" gives
 * krbtgt/REALM@REALM, name-type KRB5-NT-SRV-INST (2). Components and realm
 * are 1..AUTHORITY_PRINCIPAL_MAX of [A-Za-z0-9.-_] (no quoting).
 * @return 0 with the length in *@p len, -EINVAL, -ENOSPC.
 */
int authority_pkinit_san_der(enum authority_pkinit pkinit, const char *principal,
			     uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));

#endif
