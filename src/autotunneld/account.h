/*
 * src/autotunneld/account: signing in to an account (docs/design.md §§1, 6;
 * RFC 6281 §§5.2-5.3, 7.2) and the DNS side's lifecycle.
 *
 * Login (`autotunnel login`, through the control socket): the CLI derives
 * the TSIG and IKE keys from the password (lib/dns keys.h), so the password
 * never reaches the daemon. The daemon connects to the server over TLS
 * (CA file or pin), asks for the SRV records _dns-update-tls._tcp.D and
 * _dns-llq-tls._tcp.D signed with the TSIG key (which also proves the key:
 * a wrong password is answered NOTAUTH/BADSIG), writes the state file
 * (STATE-DIR/account, mode 0600), then publishes and watches.
 *
 * Logout withdraws this host's records, stops watching, removes the state
 * file and wipes the keys.
 *
 * At start-up a saved account is loaded and the host signs in by itself.
 *
 * The DNS side is a leaf of the agent (agent.c): it gets what it needs at
 * atd_dns_init() (struct atd_dns_ops) and never calls the agent otherwise.
 * It owns the publisher (publish.c), the watcher (watch.c) and their timer
 * policy (one lib/agent timers instance).
 *
 * Threads: the daemon's event-loop thread only. Pointers passed in are
 * borrowed for the call.
 */
#ifndef AT_AUTOTUNNELD_ACCOUNT_H
#define AT_AUTOTUNNELD_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/ctl.h"
#include "agent/name.h"
#include "autotunneld/dnsquery.h"

struct agent_punch;
struct agent_rr;
struct atd;
struct atd_local_info;
struct atd_peer_info;
struct atd_pub;
struct atd_watch;

/** The account as the rest of the daemon sees it. */
struct atd_account {
	bool signed_in;
	char name[AGENT_LABEL_MAX + 1];		/* account name: the first label of D */
	char domain[AGENT_NAME_MAX + 1];	/* D, e.g. alice.members.example.net */
	char host[AGENT_LABEL_MAX + 1];		/* H, this host's label */
	char fqdn[AGENT_NAME_MAX + 1];		/* H.D: our IKE ID_FQDN */
	char server[264];			/* the rendezvous server as given at login */
	char pin[101];				/* its certificate pin, "" when a CA file is used */
	char ca[1025];				/* the CA file, "" when pinned */
	uint8_t ike_key[32];			/* IKEv2 PSK of the account (never sent to the server) */
	/* what became of the name asked for: another computer holds it (login, status); "" when nothing */
	char note[400];
};

/** What the DNS side tells the agent, and asks it. */
struct atd_dns_ops {
	/** Signed in (at start with a saved account, or after login). */
	void (*signed_in)(void *arg);
	/** Signed out: forget every peer. */
	void (*signed_out)(void *arg);
	/** This host as last evaluated (borrowed for the call); NULL before the first evaluation. */
	const struct atd_local_info *(*local)(void *arg);
	/** The watcher learnt of a peer, or that it moved (@p p borrowed for the call). */
	void (*peer_update)(void *arg, const struct atd_peer_info *p);
	/** A peer's records are gone. */
	void (*peer_gone)(void *arg, const char *fqdn);
	/** A punch request for this host arrived (@p req borrowed for the call). */
	void (*punch_request)(void *arg, const struct agent_punch *req);
};

/**
 * Set up the DNS side (d->dns) and load a saved account: when there is
 * one, sign in (connect, publish as soon as atd_dns_local() is called,
 * watch, and call ops->signed_in). @p ops and @p arg are kept. Call once
 * the agent is ready to be told about peers. 0 or -errno (logged); a
 * broken state file is reported and ignored (the host is then signed out).
 */
int atd_dns_init(struct atd *d, const struct atd_dns_ops *ops, void *arg);
/** Free the DNS side without withdrawing anything (see atd_dns_withdraw()). NULL d->dns is fine. */
void atd_dns_fini(struct atd *d);
/** The network changed: reconnect to the server at once if the connection is down. */
void atd_dns_network_changed(struct atd *d);
/** What this host is now (see atd_pub_local()); copied. Nothing before atd_dns_init(). */
void atd_dns_local(struct atd *d, const struct atd_local_info *li);
/** Withdraw this host's records, then call @p done (see atd_pub_withdraw()). */
void atd_dns_withdraw(struct atd *d, void (*done)(void *arg), void *arg);
/** The publisher and the watcher, for status (NULL before atd_dns_init()). */
struct atd_pub *atd_dns_pub(struct atd *d);
struct atd_watch *atd_dns_watch(struct atd *d);

/**
 * A query for (@p q, @p type) signed with the account's key over the
 * connection to the server (dnsquery_send()), for the agent's other
 * leaves (reflex.c: the STUN server's SRV). @p done is called once, later,
 * unless this fails: -ENOTCONN when signed out, or dnsquery_send()'s error.
 */
int atd_dns_query(struct atd *d, const struct dns_name *q, uint16_t type, dnsquery_fn done, void *arg);
/**
 * Add (@p add) or delete one punch request RR under a peer's name
 * (atd_pub_punch()). 0, -ENOTCONN when signed out, or its error.
 */
int atd_dns_punch(struct atd *d, const struct agent_rr *rr, bool add);
/** Forget the queries of @p arg (their callbacks are not called). */
void atd_dns_query_cancel(struct atd *d, void *arg);

/** The account; never NULL after atd_dns_init() (signed_in tells whether there is one). */
const struct atd_account *atd_account_get(struct atd *d);

/**
 * The outcome of a login or logout: @p err 0, or a negative errno with
 * @p message for a person ("login failed: the server rejected our key
 * (BADSIG): wrong password or unknown account").
 */
typedef void (*atd_account_done_fn)(struct atd *d, void *arg, int err, const char *message);

/**
 * Sign in. @p account is the account domain D ("alice.members.example.net")
 * or a bare name, which gets ".members.example.net"; @p server is
 * HOST[:PORT] (port 853 by default); exactly one of @p pin and @p ca (an
 * absolute path). This host's label H is [agent] hostname, or the first
 * label of the host name. @p cb is called exactly once, later, unless this
 * returns an error.
 * @return 0 (under way), -EALREADY (signed in: log out first), -EINPROGRESS
 *         (a login or logout is running), -EINVAL (with @p cb not called).
 */
int atd_account_login(struct atd *d, const char *account, const char *server, const char *pin,
		      const char *ca, const uint8_t tsig_key[static 32],
		      const uint8_t ike_key[static 32], atd_account_done_fn cb, void *arg);

/**
 * Sign out: withdraw this host's records (waiting at most a few seconds
 * for the server), stop watching, call ops->signed_out, remove the
 * state file and wipe the keys. @p cb is called once, later.
 * @return 0, -ENOENT (not signed in), -EINPROGRESS.
 */
int atd_account_logout(struct atd *d, atd_account_done_fn cb, void *arg);

/** The control client of @p arg went away: its login/logout callback will not be called. */
void atd_account_forget(struct atd *d, void *arg);

/**
 * Write the ACCOUNT record (name, domain, server, signed_in, hosts) of a
 * status or login reply.
 */
void atd_account_write(struct atd *d, struct agent_ctl_writer *cw);

#endif
