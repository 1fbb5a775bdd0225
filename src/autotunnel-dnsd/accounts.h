/*
 * The server's table of accounts: account NAME owns D = NAME.<zone>, and
 * its TSIG key (named D) may change names at or below D (docs/design.md §5).
 *
 * Built from the store at start and on reload; the server swaps whole
 * tables under its zone lock, so a table is never changed while readers
 * use it. Ids stay the same for an account across reloads.
 */
#ifndef DNSD_ACCOUNTS_H
#define DNSD_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/keys.h"
#include "dns/name.h"
#include "dns/tsig.h"

struct store;

struct account {
	struct account *next;
	uint32_t id;		/* never 0 */
	uint8_t label_len;
	char label[64];		/* NAME, lower case */
	struct dns_tsig_key key;	/* name D (lower case), algorithm, secret */
	struct dns_kdf kdf;	/* how the key was derived from the password (public) */
	void *mac_ctx;		/* keyed HMAC for signing events (evsign.c; engine thread) */
	void (*mac_free)(void *mac_ctx);	/* set with mac_ctx: accounts_free() calls it */
};

#define ACCOUNTS_MOVED_ADDRS 4

/**
 * An account this server held and moved to another primary (`account
 * move`): questions about its domain get a referral to @p target (docs/dnsd.md
 * "Moving an account").
 */
struct account_moved {
	struct account_moved *next;
	uint8_t label_len;
	char label[64];			/* NAME, lower case */
	struct dns_name domain;		/* D, lower case */
	struct dns_name target;		/* the primary that holds it now */
	uint8_t v4[ACCOUNTS_MOVED_ADDRS][4], v6[ACCOUNTS_MOVED_ADDRS][16];	/* its addresses (glue) */
	int n_v4, n_v6;
};

struct accounts;

/** An empty table for the zone @p apex (borrowed for the call). */
struct accounts *accounts_new(const struct dns_name *apex);
void accounts_free(struct accounts *a);

/**
 * A new table for zone @p apex with the accounts of @p st, keeping the ids
 * @p old (may be NULL) gave to the same names. NULL on failure (message in
 * @p err).
 */
struct accounts *accounts_load(const struct dns_name *apex, const struct accounts *old,
				struct store *st, char *err, size_t errlen);

/** The account with label @p label (any case), or NULL. */
const struct account *accounts_by_label(const struct accounts *a, const uint8_t *label, size_t len);

/**
 * The account whose domain D is @p lname or one of its ancestors
 * (@p lname is a lower-case wire name inside the zone), or NULL.
 */
const struct account *accounts_owner(const struct accounts *a, const uint8_t *lname, size_t len);

/** The account whose key is named @p n exactly (its D), or NULL. */
const struct account *accounts_by_keyname(const struct accounts *a, const struct dns_name *n);

/** The account with id @p id, or NULL. */
const struct account *accounts_by_id(const struct accounts *a, uint32_t id);

size_t accounts_count(const struct accounts *a);

/**
 * The moved account whose domain D is @p lname or one of its ancestors
 * (lower-case wire name), or NULL. An account that exists here again is
 * not in the moved list (account add and import remove it).
 */
const struct account_moved *accounts_moved(const struct accounts *a, const uint8_t *lname, size_t len);
/** The moved account with label @p label (any case), or NULL. */
const struct account_moved *accounts_moved_by_label(const struct accounts *a, const uint8_t *label, size_t len);
size_t accounts_moved_count(const struct accounts *a);

/** The first label of the name where an account publishes its key derivation parameters. */
#define ACCOUNTS_KDF_LABEL "_kdf"

/**
 * True when @p lname (a lower-case wire name) is _kdf.LABEL.<zone> for any
 * LABEL, whether or not that account exists: the name of the parameters
 * record, answered to anyone (a login needs it before it has a key) and
 * never changed by an UPDATE.
 */
bool accounts_is_kdf_name(const struct accounts *a, const uint8_t *lname, size_t len);

/**
 * The rdata of the TXT record _kdf.D (lib/dns/keys.h: "v=1 alg=scrypt N=...
 * salt=..." or "v=0 ..." for an account stored without parameters) for
 * @p lname = _kdf.D, into @p out.
 * @return its length, -ENOENT when @p lname is not the name of an existing
 * account's record, or -ENOSPC.
 */
int accounts_kdf_rdata(const struct accounts *a, const uint8_t *lname, size_t len, uint8_t *out,
		       size_t cap);

/**
 * Offset in @p lname of the label right below the apex (the account
 * label position), or -1 when @p lname is the apex or not below it.
 */
int accounts_label_offset(const struct accounts *a, const uint8_t *lname, size_t len);

#endif
