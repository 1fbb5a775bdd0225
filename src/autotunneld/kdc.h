/*
 * src/autotunneld/kdc: this host's local KDC (RFC 6281 §7.1, issue 14,
 * docs/sso.md), a leaf of the agent (agent.c).
 *
 * MIT krb5kdc must bind port 88 and be executed, and the agent, once
 * started, keeps CAP_NET_ADMIN only and may execute nothing (privsep.c). So
 * atd_kdc_new(), called before the privileges are dropped, forks a small
 * keeper that stays root and does only this: on "start" it copies this
 * host's certificate and key (enrol.c's host.pem, host.key: the KDC's and
 * the PKINIT client's, docs/sso.md §2) and the anchor, writes a private
 * kdc.conf, makes a new database with a random master key (kdb5_util create
 * -s), adds the account's principal and host/H.D, host/H with a keytab,
 * copies the anchor and the PKINIT client identity where the local user can
 * read them, and runs krb5kdc on [ULA]:88, again if it dies (1 s doubling to
 * 60 s); on "renew" it copies the renewed certificate and restarts
 * krb5kdc with the same database; on "stop" (sign-out) it stops krb5kdc
 * and removes the database and the copies. It takes nothing from the agent
 * but those three words, the
 * account's name, D, H and the ULA, each checked; paths and the user are
 * fixed at the fork. It exits when the agent's end of the socket closes.
 *
 * The agent's side writes RUN-DIR/krb5.conf (lib/agent/kerberos.h) for
 * libkrb5 on this host: the realm of every host of the account, this one's
 * mapping to the local user. Reports reach the engine through struct
 * atd_kdc_ops only. Threads: the event-loop thread; pointers are borrowed.
 */
#ifndef AT_AUTOTUNNELD_KDC_H
#define AT_AUTOTUNNELD_KDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/hosts.h"

struct atd_kdc;

/** What the engine gives the leaf. */
struct atd_kdc_ops {
	/** The KDC came up or went down: atd_kdc_realm() changed (what the host announces). */
	void (*changed)(void *arg);
};

/** Settings, borrowed for the call. */
struct atd_kdc_conf {
	const char *state_dir;	/* anchor.pem, host.pem/host.key (enrol.c's); the database in STATE-kdc/ */
	const char *run_dir;	/* krb5.conf and krb5/ (copies the local user reads, the host keytab) */
	const char *user;	/* [agent] kdc-user; NULL: the first user with uid >= 1000 */
	bool disabled;		/* [agent] no-kdc */
};

/**
 * Make the leaf and fork its keeper (before privileges are dropped, while
 * the process has one thread). Without MIT's tools, a usable local user or
 * with no-kdc, the leaf is made without a keeper and says why once: the
 * agent runs on without single sign-on. 0 with *@p out, or -ENOMEM.
 */
int atd_kdc_new(struct event_base *base, const struct atd_kdc_conf *c, const struct atd_kdc_ops *ops,
		void *arg, struct atd_kdc **out) __attribute__((warn_unused_result));
/** Stop krb5kdc, end the keeper (waited for), free. NULL is fine. */
void atd_kdc_free(struct atd_kdc *k);

/** Signed in as @p account (its name) of domain D as host H with this boot's @p ula: (re)start the KDC. */
void atd_kdc_start(struct atd_kdc *k, const char *account, const char *domain, const char *host,
		   const uint8_t ula[16]);
/**
 * This host's certificate changed (enrol.c: issued at creation, approval or
 * recovery, or renewed): a KDC not running yet starts (it may have lacked
 * the certificate at sign-in), a running one restarts with the new
 * certificate and keeps its database. Nothing when signed out.
 */
void atd_kdc_creds(struct atd_kdc *k);
/** Signed out: stop the KDC, remove its database and the client's configuration. */
void atd_kdc_stop(struct atd_kdc *k);
/**
 * The account's hosts now (borrowed): @p self this host (NULL when signed
 * out), @p peers the others. krb5.conf is written again; when this host's
 * name changed since sign-in (it signed in as H-2), the KDC starts again
 * for the new realm.
 */
void atd_kdc_hosts(struct atd_kdc *k, const struct agent_host_entry *self,
		   const struct agent_host_entry *peers, size_t n);
/** This host's realm while its KDC runs, else NULL (borrowed from @p k). */
const char *atd_kdc_realm(const struct atd_kdc *k);

#endif
