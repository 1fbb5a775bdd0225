/*
 * The local KDC's naming and configuration text (docs/sso.md, RFC 6281
 * §7.1, issue 14): pure functions the agent's KDC leaf
 * (src/autotunneld/kdc.c) writes to files. No I/O here.
 *
 *  - A host's realm is its name H.D in upper case: unique within the account
 *    (one name, one computer: docs/design.md §4) and readable, where Apple's
 *    LKDC, which had no stable name, used a hash of the host's certificate.
 *  - The account principal is "ACCOUNT@<D in upper case>": what the PKINIT
 *    client certificate of every host of the account names (id-pkinit-san,
 *    RFC 4556 §3.2.2). A KDC of realm R holds "ACCOUNT@R", whose
 *    pkinit_cert_match attribute accepts that certificate.
 *  - On the KDC's host "ACCOUNT@R" maps to one local user (auth_to_local).
 */
#ifndef AT_AGENT_KERBEROS_H
#define AT_AGENT_KERBEROS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/hosts.h"
#include "agent/name.h"

/** Longest realm (a DNS name in upper case). */
#define AGENT_KRB_REALM_MAX AGENT_NAME_MAX
/** Longest local user name the mapping accepts (useradd's limit on Debian). */
#define AGENT_KRB_USER_MAX 32
/** The KDC's port (RFC 4120 §7.2.1, §7.2.2). */
#define AGENT_KRB_PORT 88
/** Lifetime of every ticket (RFC 6281 §7.1: the user is not asked again for 10 hours). */
#define AGENT_KRB_LIFETIME "10h"

/**
 * The realm of the host named @p fqdn (H.D; case and one trailing dot are
 * forgiven): the name in upper case. 0, -EINVAL, -ENOSPC.
 */
int agent_krb_realm(char *out, size_t cap, const char *fqdn) __attribute__((warn_unused_result));

/**
 * Whether @p user is a local user name the mapping may name: 1..32 of
 * [a-z0-9_-], not starting with '-' (so it is safe inside a krb5.conf
 * rule and on kadmin's command line). 0 or -EINVAL.
 */
int agent_krb_user_check(const char *user) __attribute__((warn_unused_result));

/** Files of a host's KDC; every string borrowed, absolute paths without spaces or newlines. */
struct agent_krb_kdc {
	const char *realm;	/* agent_krb_realm() of this host */
	const uint8_t *ula;	/* 16 bytes: where krb5kdc listens (only through the tunnel) */
	const char *dir;	/* its database, stash and log */
	const char *anchor;	/* PEM: the account authority's certificate (pkinit_anchors) */
	const char *cert;	/* PEM: the KDC certificate: this host's (dNSName H.D, id-kp-serverAuth) */
	const char *key;	/* PEM: its private key */
};

/**
 * kdc.conf (MIT's KDC profile) for @p k into @p buf: krb5kdc on [ULA]:88
 * over UDP and TCP only, the database under dir, PKINIT with the KDC
 * certificate and the anchor, tickets of AGENT_KRB_LIFETIME, and the
 * certauth module pkinit_san turned off (the client certificate names the
 * account's realm, not this KDC's: pkinit_cert_match on the principal, the
 * dbmatch module, decides). Returns the length, -EINVAL, -ENOSPC.
 */
int agent_krb_kdc_conf(char *buf, size_t cap, const struct agent_krb_kdc *k)
	__attribute__((warn_unused_result));

/**
 * The pkinit_cert_match value of "ACCOUNT@REALM" in a KDC of the account
 * of domain @p domain: the certificate's id-pkinit-san must be exactly
 * "@p account@<D in upper case>" (regular expression, dots escaped).
 * Returns the length, -EINVAL, -ENOSPC.
 */
int agent_krb_cert_match(char *buf, size_t cap, const char *account, const char *domain)
	__attribute__((warn_unused_result));

/** What the client configuration says; every pointer borrowed. */
struct agent_krb_client {
	const char *account;		/* the account's name: its principal's first component */
	const char *domain;		/* D */
	const struct agent_host_entry *self;	/* this host when it runs a KDC (its realm is the default), else NULL */
	const char *user;		/* the local user ACCOUNT@<own realm> maps to (with self) */
	const char *keytab;		/* with self: the keytab of host/H.D and host/H (sshd's default_keytab_name) */
	const struct agent_host_entry *peers;	/* hosts with a KDC, in order */
	size_t npeers;
	const char *anchor;		/* PEM paths as in struct agent_krb_kdc */
	const char *cert;		/* the PKINIT client certificate, this host's (id-pkinit-san ACCOUNT@<D upper>) */
	const char *key;
};

/**
 * krb5.conf for libkrb5 on this host (KRB5_CONFIG): a realm per host
 * with its KDC at [ULA]:88, PKINIT with the anchor and the client identity
 * in each of these realms only (the user's other realms are not touched),
 * the KDC certificate of realm H.D accepted as host H's own certificate
 * (pkinit_kdc_hostname H.D, pkinit_eku_checking kpServerAuth),
 * domain_realm for each host's FQDN and label (so `ssh desktop` names
 * host/desktop@REALM), and, with @p self, default_realm,
 * default_keytab_name and the auth_to_local rule ACCOUNT@REALM -> user.
 * Returns the length, -EINVAL, -ENOSPC.
 */
int agent_krb_client_conf(char *buf, size_t cap, const struct agent_krb_client *c)
	__attribute__((warn_unused_result));

#endif
