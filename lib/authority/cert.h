/*
 * Host certificates issued by the account authority: what a verifier learns
 * from one, the verification every member applies (IKE peer authentication,
 * the approval a new host receives, PKINIT later), and when to renew.
 * docs/authority.md §3. Pure: time is a parameter.
 */
#ifndef AT_AUTHORITY_CERT_H
#define AT_AUTHORITY_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authority/hostcert.h"
#include "authority/key.h"

struct authority;
struct authority_revoked;

/**
 * Verify the host certificate @p der (borrowed) against the authority @p a
 * at wall-clock @p now:
 *  - DER that is one certificate and nothing more (-EBADMSG);
 *  - its chain is the authority's certificate alone, every signature good,
 *    X.509 strict checks (-EKEYREJECTED: another authority, a forgery);
 *  - @p now within the validity of both (-EKEYEXPIRED);
 *  - the host profile: not a CA, keyUsage digitalSignature,
 *    extendedKeyUsage id-kp-ipsecIKE, exactly one dNSName of the form
 *    <label>.D and exactly one iPAddress in fc00::/7, a host key
 *    authority_spki_check() accepts (-EKEYREJECTED);
 *  - the dNSName's label is @p host (borrowed; NULL: any host of D) and the
 *    iPAddress is @p ula (16 bytes; NULL: any) (-EPERM);
 *  - not revoked by @p rl (borrowed, already verified with
 *    authority_revoked_verify(); NULL: none) (-EKEYREVOKED).
 * On success *@p info (may be NULL) holds what it says; on failure it is zeroed.
 */
int authority_cert_verify(const struct authority *a, const uint8_t *der, size_t len, int64_t now,
			  const char *host, const uint8_t *ula, const struct authority_revoked *rl,
			  struct authority_host_cert *info) __attribute__((warn_unused_result));

/**
 * When to renew a certificate valid from @p not_before to @p not_after: at
 * two thirds of its lifetime (a seven-day certificate after 4 days 16 h),
 * leaving a third for retries while members are offline.
 */
int64_t authority_cert_renew_at(int64_t not_before, int64_t not_after);

/** Whether @p info should be renewed at @p now (authority_cert_renew_at() reached). */
bool authority_cert_should_renew(const struct authority_host_cert *info, int64_t now);

#endif
