/*
 * src/autotunneld/enrol: the account authority in the agent (issue 14,
 * docs/authority.md): this host's key and certificate, the anchor, the
 * authority key on signers, the revocation list; creating the authority on
 * the account's first computer, enrolling with the recovery key, joining by
 * approval, approving, revoking, issuing guest and KDC certificates.
 *
 * State, in the state directory (docs/authority.md §7):
 *   authority.key  the authority's PKCS#8 key, PEM, 0600 (signers only)
 *   anchor.pem     the authority's certificate
 *   host.key       this host's key, ECDSA P-256 (older states: Ed25519), PKCS#8 PEM, 0600
 *   host.pem       this host's certificate
 *   revoked        the last `_revoked.D` RDATA verified (as received)
 *   join           a join under way: secret, request, the anchor read (untrusted yet), 0600
 * The PEM files are what other parts (the local KDC) read.
 *
 * A leaf of the account (account.c): it gets the connection, the TSIG key
 * and the query set at atd_enrol_start() and reports through struct
 * atd_enrol_ops. The records it follows (`_revoked.D`, `_approve.<nonce>.D`,
 * `_cert.H.D` while renewing, the peers' `_renew.H.D` on a signer) are
 * watched by the account's watcher (watch.c: DNS Push or LLQ), named by
 * atd_enrol_watch_names(); when one changes (atd_enrol_record_changed())
 * it is read at once with a signed query, and everything once in a while
 * in case an event was missed (docs/authority.md §7). Its deadlines (that
 * re-read, the records' refresh, the renewal's resend, the look at the
 * wall clock) are lib/agent/timers' (struct agent_enrol_timers).
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_ENROL_H
#define AT_AUTOTUNNELD_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct atd_enrol;
struct dnsconn;
struct dnsquery_set;
struct dns_name;
struct dns_tsig_key;

/** Names watched for the enrolment at most (lib/dnsc/view DNSC_VIEW_NOTE_MAX bounds it too). */
#define ATD_ENROL_WATCH_MAX 4
/** A signer's queue of `_renew.H.D` to read. */
#define ATD_ENROL_RENEW_Q 16

/** What the enrolment tells its owner (account.c). */
struct atd_enrol_ops {
	/** This host's credentials changed (a certificate now, a new one, none): set the tunnels up anew. */
	void (*creds_changed)(void *arg);
	/** A newer revocation list was verified: close the tunnels of hosts it revokes. */
	void (*revoked_changed)(void *arg);
	/** The labels of the account's other hosts (a signer looks for their renewal requests): how many. */
	size_t (*hosts)(void *arg, char (*labels)[64], size_t cap);
	/** The records to watch changed: ask atd_enrol_watch_names() and give them to the watcher. */
	void (*watch_changed)(void *arg);
};

/** What the enrolment works with while signed in: borrowed from the account until atd_enrol_stop(). */
struct atd_enrol_ctx {
	struct dnsconn *conn;
	const struct dns_tsig_key *key;
	const struct dns_name *zone;	/* the zone of D, for UPDATE */
	struct dnsquery_set *queries;
	const char *domain;		/* D */
	const char *host;		/* H */
};

/** This host's credentials for IKE (borrowed until the next call into the enrolment). */
struct atd_enrol_creds {
	bool authority;			/* the account has an authority this host knows (or awaits) */
	const uint8_t *cert, *key, *anchor;	/* DER; NULL while this host has no certificate */
	size_t cert_len, key_len, anchor_len;
};

/**
 * A new enrolment for the state directory @p state_dir (borrowed for the
 * call) and this host's ULA @p ula; with @p enabled false it does nothing
 * at all (accounts keep the PSK: [agent] authority = no). NULL when out of memory.
 */
struct atd_enrol *atd_enrol_new(struct event_base *base, const char *state_dir, const uint8_t ula[16],
				bool enabled, const struct atd_enrol_ops *ops, void *arg);
void atd_enrol_free(struct atd_enrol *e);

/**
 * Signed in: load the saved state (@p fresh: a login, which forgets what an
 * earlier account left), keep the records alive, read `_revoked.D`.
 */
void atd_enrol_start(struct atd_enrol *e, const struct atd_enrol_ctx *ctx, bool fresh);
/**
 * A logout is about to withdraw this host's records: take away the ones
 * below H.D too (`_cert.H.D`, `_renew.H.D`), which would otherwise keep H.D "in use" for
 * the next sign-in's claim (RFC 2136 §2.4.5, RFC 8020), and our join request.
 */
void atd_enrol_withdraw(struct atd_enrol *e);
/** Signed out (@p forget: a logout, which removes the state files). */
void atd_enrol_stop(struct atd_enrol *e, bool forget);

/**
 * The outcome of a login's enrolment, a command's, for a person: @p err 0
 * with @p message (may be NULL), or -errno with the reason. @p recovery is
 * the recovery key of an authority this call created (NULL otherwise), @p
 * code the join code this host shows (NULL when not joining).
 */
typedef void (*atd_enrol_done_fn)(void *arg, int err, const char *message, const char *recovery, const char *code);

/**
 * After a login (docs/authority.md §5): read `_authority.D`; none: create
 * the authority (from @p recovery when given) and become its first signer;
 * one: with @p recovery, enrol as a signer (the key must be the anchor's);
 * without, ask to join by approval. @p done is called once, later, unless
 * this returns an error (-ENOTCONN: not started; -EINPROGRESS; -EINVAL: not
 * a recovery key, with @p why).
 */
int atd_enrol_login(struct atd_enrol *e, const char *recovery, atd_enrol_done_fn done, void *arg, char *why,
		    size_t whylen);
/** A signer admits the computer that shows @p code. As atd_enrol_login(); -EPERM: not a signer. */
int atd_enrol_approve(struct atd_enrol *e, const char *code, atd_enrol_done_fn done, void *arg, char *why,
		      size_t whylen);
/** A signer revokes host @p host. As atd_enrol_approve(). */
int atd_enrol_revoke(struct atd_enrol *e, const char *host, atd_enrol_done_fn done, void *arg, char *why,
		     size_t whylen);
/**
 * A signer issues a certificate for @p name (a host label) with a new
 * key (@p key "p256": ECDSA P-256; NULL or "ed25519": Ed25519), for a guest (strongSwan) or, with @p pkinit "client"/"kdc"
 * and @p principal, for PKINIT (docs/authority.md §3). The agent may write
 * only below its state directory (privsep.c): the files go to
 * STATE-DIR/issued as NAME.pem, NAME.key (0600) and anchor.pem, that
 * directory into @p dir (the CLI moves them where the person asked; the
 * local KDC reads them there). Synchronous: 0 with @p why a message, or
 * -errno with the reason in @p why.
 */
int atd_enrol_issue(struct atd_enrol *e, const char *name, const char *pkinit, const char *principal, const char *key,
		    char *dir, size_t dirlen, char *why, size_t whylen);
/**
 * Renew this host's certificate now rather than at two thirds of its life
 * (docs/authority.md §5.3): a signer issues its own; a member asks the
 * signers with `_renew.H.D` and takes the answer from `_cert.H.D`. 0 with a
 * message in @p why, or -errno with the reason.
 */
int atd_enrol_renew(struct atd_enrol *e, char *why, size_t whylen);
/** The control client @p arg went away: its callback will not be called. */
void atd_enrol_forget(struct atd_enrol *e, void *arg);

/**
 * The names to watch for the enrolment now (pointers into @p e, valid until
 * the next call into it), at most @p cap; @p renew: also each peer's
 * `_renew.H.D` (a signer). How many.
 */
size_t atd_enrol_watch_names(const struct atd_enrol *e, const char **names, size_t cap, bool *renew);
/** The watcher saw the TXT RRset at @p owner change: read it now if it is one of ours. */
void atd_enrol_record_changed(struct atd_enrol *e, const char *owner);

/** This host's credentials now (all zero/NULL with the authority off). */
void atd_enrol_creds(const struct atd_enrol *e, struct atd_enrol_creds *c);
/**
 * The daemon's policy on a peer's certificate (lib/ike cert_policy): the
 * certificate verifies against the anchor now, names @p host and @p ula
 * (the peer's AAAA in DNS; NULL: any), and is not revoked. 0 or -errno.
 */
int atd_enrol_verify_peer(const struct atd_enrol *e, const uint8_t *der, size_t len, const char *host,
			  const uint8_t *ula);
/**
 * The ULA the host certificate saved in @p state_dir names (its iPAddress),
 * for the identity of a new boot: a certificate binds the ULA, so a host
 * with one keeps its address across boots (docs/authority.md §7). Not
 * checked against the anchor (the state directory is this host's own). 0,
 * -ENOENT (no certificate), -EBADMSG.
 */
int atd_enrol_saved_ula(const char *state_dir, uint8_t ula[static 16]);
/** "signer", "member", "joining", or NULL (no authority); the join code while joining, else NULL. */
const char *atd_enrol_role(const struct atd_enrol *e);
const char *atd_enrol_code(const struct atd_enrol *e);

#endif
