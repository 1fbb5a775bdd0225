/* The KRB5PrincipalName of id-pkinit-san (pkinit.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "authority/pkinit.h"
#include "wire/wire.h"

/* DER encoding of the KRB5PrincipalName (RFC 4556 §3.2.2; RFC 4120 §5.2.2 for PrincipalName). */

static size_t hdr_len(size_t n)
{
	return n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
}

static size_t tlv_len(size_t n)
{
	return hdr_len(n) + n;
}

/* X.690 §8.1.3: short form below 128, else the fewest length octets */
static void hdr(struct wire *w, uint8_t tag, size_t n)
{
	wire_write_u8(w, tag);
	if (n < 0x80) {
		wire_write_u8(w, (uint8_t)n);
	} else if (n < 0x100) {
		wire_write_u8(w, 0x81);
		wire_write_u8(w, (uint8_t)n);
	} else {
		wire_write_u8(w, 0x82);
		wire_write_u16(w, (uint16_t)n);
	}
}

static bool krb_string_ok(const char *s, size_t n)
{
	if (n == 0 || n > AUTHORITY_PRINCIPAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

#define GENERALSTRING 0x1b
#define KRB5_NT_PRINCIPAL 1
#define KRB5_NT_SRV_INST 2

int authority_pkinit_san_der(enum authority_pkinit pkinit, const char *principal,
			     uint8_t *buf, size_t cap, size_t *len)
{
	const char *comp[2], *realm;
	size_t clen[2], rlen, ncomp, names = 0, nameseq, pn, total;
	uint8_t type;
	struct wire w = wire_writer(buf, cap);

	*len = 0;
	if (!principal)
		return -EINVAL;
	if (pkinit == AUTHORITY_PKINIT_CLIENT) {
		const char *at = strrchr(principal, '@'), *slash;

		if (!at)
			return -EINVAL;
		realm = at + 1;
		comp[0] = principal;
		slash = memchr(principal, '/', (size_t)(at - principal));
		if (slash) {
			clen[0] = (size_t)(slash - principal);
			comp[1] = slash + 1;
			clen[1] = (size_t)(at - comp[1]);
			ncomp = 2;
		} else {
			clen[0] = (size_t)(at - principal);
			ncomp = 1;
		}
		type = KRB5_NT_PRINCIPAL;
	} else if (pkinit == AUTHORITY_PKINIT_KDC) {
		/* RFC 4556 §3.2.4: the KDC's name is krbtgt/REALM@REALM */
		realm = principal;
		comp[0] = "krbtgt";
		clen[0] = 6;
		comp[1] = realm;
		clen[1] = strlen(realm);
		ncomp = 2;
		type = KRB5_NT_SRV_INST;
	} else {
		return -EINVAL;
	}
	rlen = strnlen(realm, AUTHORITY_PRINCIPAL_MAX + 1);
	if (!krb_string_ok(realm, rlen))
		return -EINVAL;
	for (size_t i = 0; i < ncomp; i++) {
		if (!krb_string_ok(comp[i], clen[i]))
			return -EINVAL;
		names += tlv_len(clen[i]);
	}
	/*
	 * KRB5PrincipalName ::= SEQUENCE { realm [0] Realm, principalName [1] PrincipalName }
	 * PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
	 * Both modules use EXPLICIT tags: each [n] wraps a complete TLV.
	 */
	nameseq = tlv_len(names);			/* SEQUENCE OF */
	pn = tlv_len(3) + tlv_len(nameseq);		/* [0] INTEGER, [1] SEQUENCE OF */
	total = tlv_len(tlv_len(rlen)) + tlv_len(tlv_len(pn));
	hdr(&w, 0x30, total);
	hdr(&w, 0xa0, tlv_len(rlen));
	hdr(&w, GENERALSTRING, rlen);
	wire_write_bytes(&w, realm, rlen);
	hdr(&w, 0xa1, tlv_len(pn));
	hdr(&w, 0x30, pn);
	hdr(&w, 0xa0, 3);
	hdr(&w, 0x02, 1);
	wire_write_u8(&w, type);
	hdr(&w, 0xa1, nameseq);
	hdr(&w, 0x30, names);
	for (size_t i = 0; i < ncomp; i++) {
		hdr(&w, GENERALSTRING, clen[i]);
		wire_write_bytes(&w, comp[i], clen[i]);
	}
	if (wire_err(&w))
		return -ENOSPC;
	*len = wire_offset(&w);
	return 0;
}
