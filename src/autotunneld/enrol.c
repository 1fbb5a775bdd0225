/*
 * src/autotunneld/enrol.c: the account authority in the agent (see enrol.h,
 * docs/authority.md). The decisions are lib/authority's (what a certificate,
 * an approval or a revocation list must be to be accepted); this file keeps
 * the state files, reads and writes the records over the account's
 * connection, and tells the account when the tunnels must follow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent/name.h"
#include "agent/timers.h"
#include "authority/authority.h"
#include "authority/cert.h"
#include "authority/records.h"
#include "authority/renew.h"
#include "authority/revoked.h"
#include "autotunneld/dnsconn.h"
#include "autotunneld/dnsquery.h"
#include "autotunneld/enrol.h"
#include "autotunneld/fsutil.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dnsc/msg.h"
#include "dnsc/update.h"
#include "util/encode.h"
#include "util/random.h"

#define KEY_DER_MAX 256		/* PKCS#8 DER of a host key: 48 bytes (Ed25519), 138 (P-256) */
#define JOIN_FILE_MAX (20 + 2 * AUTHORITY_JOIN_SECRET_LEN + 2 * AUTHORITY_JOIN_RDATA_MAX + 2 * AUTHORITY_CERT_DER_MAX)
#define RECORD_TTL 60
#define RECORD_LEASE 7200	/* asked for; the server clamps it, and we add again every enrol_refresh_ms (lib/agent/timers) */
#define JOIN_SCAN_MAX 16	/* docs/authority.md §6: requests looked at per approve, newest first */

enum op_kind { OP_NONE, OP_LOGIN, OP_APPROVE, OP_REVOKE };

struct atd_enrol {
	struct event_base *base;
	const struct atd_enrol_ops *ops;
	void *arg;
	bool enabled;
	char dir[4096];
	uint8_t ula[16];

	bool running;
	struct atd_enrol_ctx ctx;
	char domain[AGENT_NAME_MAX + 1], host[AGENT_LABEL_MAX + 1];
	struct event *tick;		/* at the timers' next deadline, or at once when a read is due */
	struct agent_timer_cfg tcfg;
	struct agent_enrol_timers t;	/* every deadline here is lib/agent/timers' decision */
	bool polling;			/* a read is in flight */

	/* the authority: anchor (and key on signers) */
	struct authority *auth;
	uint8_t anchor[AUTHORITY_CERT_DER_MAX];
	size_t anchor_len;
	/* this host */
	uint8_t hkey[KEY_DER_MAX];
	size_t hkey_len;
	uint8_t hcert[AUTHORITY_CERT_DER_MAX];
	size_t hcert_len;
	struct authority_host_cert hinfo;
	/* the revocation list as last verified, and its bytes (added again as they are) */
	struct authority_revoked rl;
	bool have_rl;
	uint8_t rl_rdata[AUTHORITY_REVOKED_RDATA_MAX];
	size_t rl_len;
	/* a join under way (docs/authority.md §5.1) */
	bool joining;
	struct authority_join join;
	uint8_t join_secret[AUTHORITY_JOIN_SECRET_LEN];
	uint8_t join_mac[AUTHORITY_JOIN_MAC_KEY_LEN];
	char code[AUTHORITY_JOIN_CODE_TEXT];
	uint8_t join_rdata[AUTHORITY_JOIN_RDATA_MAX];
	size_t join_len;

	/* renewal (§5.3) */
	bool renew_asked;		/* a member: `autotunnel renew`, or two thirds of the life reached */
	uint64_t renew_sent_ms;		/* a member: when _renew.H.D was last written (0: not asking) */
	unsigned renew_scan;		/* a signer: the next host whose _renew.H.D is read */
	char renew_label[64];		/* a signer: the host whose _renew.H.D is being read */
	/* reads due (docs/authority.md §7): an event said the RRset changed, or the safety re-read */
	bool want_rl, want_approve, want_cert;
	char renew_q[ATD_ENROL_RENEW_Q][64];	/* a signer: hosts whose _renew.H.D is to be read */
	unsigned renew_qn;
	/* what the watcher was last asked to watch for us */
	char watched[ATD_ENROL_WATCH_MAX][AGENT_NAME_MAX + 1];
	size_t nwatched;
	bool watched_renew;

	/* the one command under way (login, approve, revoke) */
	enum op_kind op;
	atd_enrol_done_fn done;
	void *done_arg;
	uint8_t seed[AUTHORITY_SEED_LEN];
	bool have_seed;
	char op_text[AUTHORITY_JOIN_CODE_TEXT + AGENT_LABEL_MAX];	/* the code or host of the command */
	uint8_t op_spki[AUTHORITY_SPKI_MAX];	/* revoke: the host's key from _cert.H.D */
	size_t op_spki_len;
	struct event *op_ev;		/* the outcome is reported from the loop */
	int op_err;
	char op_msg[600], op_recovery[AUTHORITY_RECOVERY_TEXT_MAX];
	bool op_has_recovery, op_has_code;
};

static int rnd(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	return rand_bytes(buf, n);
}

/* ---- files ---- */

static void path_of(const struct atd_enrol *e, const char *name, char out[static 4200])
{
	snprintf(out, 4200, "%s/%s", e->dir, name);
}

/* @p der as PEM of @p what ("CERTIFICATE", "PRIVATE KEY") into @p name with @p mode. */
static int pem_write(const char *dir, const char *name, const char *what, const uint8_t *der, size_t len,
		     mode_t mode)
{
	char path[4200];
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = -EIO;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (b && PEM_write_bio(b, what, "", der, (long)len) > 0 && (n = BIO_get_mem_data(b, &p)) > 0) {
		rc = fsutil_write_atomic(path, (const uint8_t *)p, (size_t)n, mode);
		OPENSSL_cleanse(p, (size_t)n);	/* a key's PEM is the key */
	}
	BIO_free(b);
	return rc;
}

/* The DER of the PEM file @p name, which must hold a @p what. 0, -ENOENT, -EBADMSG, -ENOSPC. */
static int pem_read(const struct atd_enrol *e, const char *name, const char *what, uint8_t *der, size_t cap,
		    size_t *len)
{
	char path[4200], *nm = NULL, *hdr = NULL;
	uint8_t buf[8192];
	unsigned char *data = NULL;
	size_t n = 0;
	long dl = 0;
	BIO *b;
	int rc;

	path_of(e, name, path);
	if ((rc = fsutil_read_small(path, buf, sizeof(buf), &n)))
		return rc;
	rc = -EBADMSG;
	b = BIO_new_mem_buf(buf, (int)n);
	if (b && PEM_read_bio(b, &nm, &hdr, &data, &dl) == 1 && strcmp(nm, what) == 0 && dl > 0) {
		rc = (size_t)dl > cap ? -ENOSPC : 0;
		if (!rc) {
			memcpy(der, data, (size_t)dl);
			*len = (size_t)dl;
		}
	}
	if (data)
		OPENSSL_cleanse(data, (size_t)dl);
	OPENSSL_free(nm);
	OPENSSL_free(hdr);
	OPENSSL_free(data);
	BIO_free(b);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static void files_remove(const struct atd_enrol *e)
{
	static const char *const names[] = { "authority.key", "anchor.pem", "host.key", "host.pem", "revoked", "join" };
	char path[4200];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(e, names[i], path);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("cannot remove %s", path);
	}
}

/* What this host holds now, into the state files (the secret ones 0600). */
static int save(struct atd_enrol *e)
{
	uint8_t p8[AUTHORITY_PKCS8_MAX];
	size_t n;
	int rc = 0;

	if (e->auth && authority_can_sign(e->auth)) {
		if ((rc = authority_pkcs8(e->auth, p8, sizeof(p8), &n)) == 0)
			rc = pem_write(e->dir, "authority.key", "PRIVATE KEY", p8, n, 0600);
		OPENSSL_cleanse(p8, sizeof(p8));
	}
	if (!rc && e->anchor_len)
		rc = pem_write(e->dir, "anchor.pem", "CERTIFICATE", e->anchor, e->anchor_len, 0644);
	if (!rc && e->hkey_len)
		rc = pem_write(e->dir, "host.key", "PRIVATE KEY", e->hkey, e->hkey_len, 0600);
	if (!rc && e->hcert_len)
		rc = pem_write(e->dir, "host.pem", "CERTIFICATE", e->hcert, e->hcert_len, 0644);
	if (!rc && e->have_rl) {
		char path[4200];

		path_of(e, "revoked", path);
		rc = fsutil_write_atomic(path, e->rl_rdata, e->rl_len, 0644);
	}
	if (rc)
		log_warnx("cannot save the account authority's state in %s: %s", e->dir, strerror(-rc));
	return rc;
}

/*
 * join: "at-enrol-join 1\n", then in hex a line each: the secret, the
 * request's RDATA, and the anchor read at login (trusted only once the
 * approval's MAC covers it, so not anchor.pem yet)
 */
static int join_save(struct atd_enrol *e)
{
	char buf[JOIN_FILE_MAX], path[4200];
	int n = snprintf(buf, sizeof(buf), "at-enrol-join 1\n"), rc;

	for (size_t i = 0; i < sizeof(e->join_secret); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%02x", e->join_secret[i]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n");
	for (size_t i = 0; i < e->join_len; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%02x", e->join_rdata[i]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n");
	for (size_t i = 0; i < e->anchor_len; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%02x", e->anchor[i]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n");
	path_of(e, "join", path);
	rc = fsutil_write_atomic(path, (const uint8_t *)buf, (size_t)n, 0600);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* One line of lower-case hex at *@p p (lib/util's strict decoder) into @p out; *@p p moves past it. */
static int hex_field(char **p, uint8_t *out, size_t cap, size_t *len)
{
	char *nl = strchr(*p, '\n');
	int n;

	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	n = (size_t)(nl - *p) / 2 <= cap ? hex_decode(out, cap, *p) : -ENOSPC;
	*p = nl + 1;
	if (n < 0)
		return -EBADMSG;
	*len = (size_t)n;
	return 0;
}

/* A join saved by an earlier run: the same request and secret give the same code (§5.1). */
static int join_load(struct atd_enrol *e)
{
	char buf[JOIN_FILE_MAX + 1], path[4200];
	char *p = buf;
	size_t n = 0, sl = 0;
	int rc;

	path_of(e, "join", path);
	if ((rc = fsutil_read_small(path, (uint8_t *)buf, sizeof(buf) - 1, &n)))
		return rc;
	buf[n] = '\0';
	rc = -EBADMSG;
	if (strncmp(p, "at-enrol-join 1\n", 16) == 0) {
		p += 16;
		if (!hex_field(&p, e->join_secret, sizeof(e->join_secret), &sl) && sl == sizeof(e->join_secret) &&
		    !hex_field(&p, e->join_rdata, sizeof(e->join_rdata), &e->join_len) &&
		    !hex_field(&p, e->anchor, sizeof(e->anchor), &e->anchor_len) && e->anchor_len && !*p &&
		    !authority_join_parse(e->join_rdata, e->join_len, &e->join) &&
		    !authority_join_seal(&e->join, e->domain, e->join_secret, e->code, e->join_mac))
			rc = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* ---- this host's key ---- */

/* A new private key as PKCS#8 DER (RFC 5958): Ed25519 (RFC 8410), or ECDSA on P-256 when @p p256. */
static int key_make(bool p256, uint8_t *out, size_t cap, size_t *len)
{
	EVP_PKEY *k = p256 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	PKCS8_PRIV_KEY_INFO *p8 = k ? EVP_PKEY2PKCS8(k) : NULL;
	unsigned char *p = NULL;
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &p) : -1;
	int rc = 0;

	if (n <= 0 || (size_t)n > cap) {
		rc = -EIO;
	} else {
		memcpy(out, p, (size_t)n);
		*len = (size_t)n;
	}
	if (n > 0)
		OPENSSL_clear_free(p, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(k);
	return rc;
}

/*
 * A new host key into e->hkey: ECDSA P-256 (RFC 5480), not Ed25519, because
 * the host's key is also its local KDC's and its PKINIT client's key
 * (docs/sso.md §2), and MIT krb5 1.20 signs PKINIT's CMS messages with RSA
 * or ECDSA only. IKE signs with it by RFC 7427 as well as with Ed25519.
 */
static int hkey_make(struct atd_enrol *e)
{
	return key_make(true, e->hkey, sizeof(e->hkey), &e->hkey_len);
}

/* Whether the PKCS#8 key @p p8 is ECDSA (P-256: the only EC curve authority_spki_check() takes). */
static bool hkey_is_ec(const uint8_t *p8, size_t len)
{
	const unsigned char *q = p8;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &q, (long)len);
	bool ec = k && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;

	EVP_PKEY_free(k);
	return ec;
}

/*
 * The PKINIT client name every host certificate of the account carries
 * (docs/sso.md §1): ACCOUNT@<D in upper case>, the account being D's first
 * label. Set in @p req (pointing into @p buf); left out, with PKINIT then
 * impossible for that host, when D is too long for a principal.
 */
static void pkinit_name(const struct atd_enrol *e, char buf[static AUTHORITY_PRINCIPAL_MAX + 1],
			struct authority_issue *req)
{
	const char *dot = strchr(e->domain, '.');
	size_t al = dot ? (size_t)(dot - e->domain) : 0, dl = strlen(e->domain), i;

	if (!al || al + 1 + dl > AUTHORITY_PRINCIPAL_MAX)
		return;
	memcpy(buf, e->domain, al);
	buf[al] = '@';
	for (i = 0; i <= dl; i++) {
		char c = e->domain[i];

		buf[al + 1 + i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	req->pkinit = AUTHORITY_PKINIT_CLIENT;
	req->principal = buf;
}

/* SubjectPublicKeyInfo DER of a PKCS#8 key. */
static int spki_of(const uint8_t *p8, size_t p8len, uint8_t *out, size_t cap, size_t *len)
{
	const unsigned char *q = p8;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &q, (long)p8len);
	unsigned char *s = NULL;
	int n;

	if (!k)
		return -EBADMSG;
	n = i2d_PUBKEY(k, &s);
	EVP_PKEY_free(k);
	if (n <= 0 || (size_t)n > cap) {
		OPENSSL_free(s);
		return -EIO;
	}
	memcpy(out, s, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(s);
	return 0;
}

/* A signer issues this host's own certificate (its name, its ULA of this boot, its key). */
static int issue_self(struct atd_enrol *e)
{
	uint8_t spki[AUTHORITY_SPKI_MAX];
	struct authority_issue req = { .host = e->host, .ula = e->ula, .spki = spki };
	char principal[AUTHORITY_PRINCIPAL_MAX + 1];
	int rc;

	if (!e->hkey_len && (rc = hkey_make(e)))
		return rc;
	pkinit_name(e, principal, &req);
	if ((rc = spki_of(e->hkey, e->hkey_len, spki, sizeof(spki), &req.spki_len)) ||
	    (rc = authority_issue(e->auth, &req, (int64_t)clock_wall_s(), rnd, NULL, e->hcert, sizeof(e->hcert),
				  &e->hcert_len)))
		return rc;
	rc = authority_cert_verify(e->auth, e->hcert, e->hcert_len, (int64_t)clock_wall_s(), e->host, e->ula,
				   NULL, &e->hinfo);
	if (rc)
		e->hcert_len = 0;
	return rc;
}

/* ---- UPDATE of one TXT RRset (docs/authority.md §4) ---- */

struct upd {
	struct atd_enrol *e;
	struct dns_tsig t;
	uint16_t id;
	char owner[AGENT_NAME_MAX + 1];
	void (*cb)(struct atd_enrol *e, int err);
};

static void upd_answer(void *arg, int err, const uint8_t *msg, size_t len)
{
	struct upd *u = arg;
	struct dnsc_update_result r;
	char b[16];

	if (err == -ECANCELED) {
		dns_tsig_fini(&u->t);
		free(u);
		return;
	}
	if (!err)
		err = dnsc_update_answer(&r, msg, len, u->id, u->e->ctx.zone, RECORD_LEASE, &u->t, clock_wall_s());
	if (!err && r.rcode != DNS_RCODE_NOERROR)
		err = -EPROTO;
	if (err)
		log_warnx("writing %s failed: %s", u->owner,
			  err == -EPROTO ? dnsc_rcode_name(r.rcode, b) : strerror(-err));
	dns_tsig_fini(&u->t);
	if (u->cb)
		u->cb(u->e, err);
	free(u);
}

enum upd_how { UPD_REPLACE, UPD_ADD, UPD_DELETE_RR, UPD_DELETE_SET };

/*
 * One UPDATE on @p owner's TXT: replace the RRset by @p rdata, add it as one
 * more RR (the shared `_join.D`), delete that one RR, or delete the RRset.
 */
static int upd_send(struct atd_enrol *e, const char *owner, enum upd_how how, const uint8_t *rdata, size_t len,
		    void (*cb)(struct atd_enrol *e, int err))
{
	static uint8_t buf[DNSC_MSG_MAX];
	struct dns_builder b;
	struct dns_name n;
	struct dns_lease l = { .lease = RECORD_LEASE };
	struct upd *u;
	size_t mlen;
	int rc;

	if (!e->running || !e->ctx.conn)
		return -ENOTCONN;
	if (len > UINT16_MAX || dns_name_from_text(&n, owner))
		return -EINVAL;
	if (!(u = calloc(1, sizeof(*u))))
		return -ENOMEM;
	u->e = e;
	u->cb = cb;
	snprintf(u->owner, sizeof(u->owner), "%s", owner);
	u->id = dnsconn_new_id(e->ctx.conn);
	dns_tsig_init(&u->t, e->ctx.key);
	rc = dns_builder_init(&b, buf, sizeof(buf), DNSC_MSG_MAX, u->id, DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT);
	if (!rc) {
		dns_builder_reserve(&b, dns_tsig_space(&u->t));
		dns_builder_edns(&b, DNSC_EDNS_UDP, 0);
		rc = dns_builder_add_lease(&b, &l);
	}
	/* RFC 2136 §2.3, §2.5: zone SOA; §2.5.2 delete an RRset (class ANY), §2.5.4 one RR (class NONE) */
	if (!rc)
		rc = dns_builder_question(&b, e->ctx.zone, DNS_TYPE_SOA, DNS_CLASS_IN);
	if (!rc)
		rc = dns_builder_section(&b, DNS_SEC_UPDATE);
	if (!rc && (how == UPD_REPLACE || how == UPD_DELETE_SET))
		rc = dns_builder_add_raw(&b, &n, DNS_TYPE_TXT, DNS_CLASS_ANY, 0, NULL, 0);
	if (!rc && (how == UPD_REPLACE || how == UPD_ADD))
		rc = dns_builder_add_raw(&b, &n, DNS_TYPE_TXT, DNS_CLASS_IN, RECORD_TTL, rdata, (uint16_t)len);
	if (!rc && how == UPD_DELETE_RR)
		rc = dns_builder_add_raw(&b, &n, DNS_TYPE_TXT, DNS_CLASS_NONE, 0, rdata, (uint16_t)len);
	if (!rc)
		rc = dns_builder_finish(&b, &mlen);
	if (!rc)
		rc = dns_tsig_sign_request(&u->t, buf, mlen, sizeof(buf), &mlen, clock_wall_s());
	if (!rc)
		rc = dnsconn_request(e->ctx.conn, buf, mlen, upd_answer, u);
	if (rc) {
		dns_tsig_fini(&u->t);
		free(u);
	}
	return rc;
}

static int name_of(const struct atd_enrol *e, const char *prefix, char out[static AGENT_NAME_MAX + 1])
{
	if ((size_t)snprintf(out, AGENT_NAME_MAX + 1, "%s.%s", prefix, e->domain) > AGENT_NAME_MAX)
		return -EINVAL;
	return 0;
}

/* A signer reads host @p label's _renew.H.D (each at most once in the queue). */
static void renew_want(struct atd_enrol *e, const char *label)
{
	for (unsigned i = 0; i < e->renew_qn; i++)
		if (strcmp(e->renew_q[i], label) == 0)
			return;
	if (e->renew_qn < ATD_ENROL_RENEW_Q)
		snprintf(e->renew_q[e->renew_qn++], sizeof(e->renew_q[0]), "%s", label);
}

/* The reads are due now: from the loop, not from inside the caller. */
static void kick(struct atd_enrol *e)
{
	if (e->running)
		event_active(e->tick, EV_TIMEOUT, 0);
}

/*
 * What the watcher should watch for us (docs/authority.md §7): the
 * revocation list once we know the authority, our approval while joining,
 * our `_cert.H.D` while a renewal is asked, and on a signer every peer's
 * `_renew.H.D`. Told to the owner when it changes.
 */
static void watch_update(struct atd_enrol *e)
{
	char names[ATD_ENROL_WATCH_MAX][AGENT_NAME_MAX + 1];
	size_t n = 0;
	bool renew = e->running && e->auth && authority_can_sign(e->auth) && !e->joining;

	if (e->running && e->joining && !authority_name_approve(names[n], e->domain, e->join.nonce))
		n++;
	if (e->running && e->auth && !e->joining && !name_of(e, "_revoked", names[n]))
		n++;
	if (e->running && e->auth && !e->joining && e->renew_sent_ms && !authority_name_cert(names[n], e->domain, e->host))
		n++;
	if (n == e->nwatched && renew == e->watched_renew) {
		size_t i;

		for (i = 0; i < n && strcmp(names[i], e->watched[i]) == 0; i++)
			;
		if (i == n)
			return;
	}
	memcpy(e->watched, names, sizeof(names));
	e->nwatched = n;
	e->watched_renew = renew;
	if (e->ops->watch_changed)
		e->ops->watch_changed(e->arg);
}

/* Add again what this host keeps alive: the anchor, its certificate, the revocation list, its join request. */
static void refresh_records(struct atd_enrol *e)
{
	uint8_t rd[AUTHORITY_CERT_RDATA_MAX];
	char owner[AGENT_NAME_MAX + 1];
	size_t n;

	/* every member holds the anchor: any of them may put it back (members compare, never trust, it) */
	if (e->anchor_len && !authority_cert_txt_build(e->anchor, e->anchor_len, rd, sizeof(rd), &n) &&
	    !authority_name_authority(owner, e->domain))
		(void)upd_send(e, owner, UPD_REPLACE, rd, n, NULL);
	/* §5.3: a certificate needs no further signature to travel; a signer reads it to revoke the key */
	if (e->hcert_len && !authority_hostcert_txt_build(e->hcert, e->hcert_len, rd, sizeof(rd), &n) &&
	    !authority_name_cert(owner, e->domain, e->host))
		(void)upd_send(e, owner, UPD_REPLACE, rd, n, NULL);
	if (e->have_rl && !authority_name_revoked(owner, e->domain))
		(void)upd_send(e, owner, UPD_REPLACE, e->rl_rdata, e->rl_len, NULL);
	if (e->joining && !authority_name_join(owner, e->domain))
		(void)upd_send(e, owner, UPD_ADD, e->join_rdata, e->join_len, NULL);
}

/* ---- reading records ---- */

/* Each TXT RDATA at @p owner in answer @p r, to @p fn (which returns true to stop). */
static void each_txt(const struct dnsc_resp *r, const char *owner, bool (*fn)(void *, const uint8_t *, size_t),
		     void *arg)
{
	struct dns_name n;
	struct dnsc_rr rr;
	unsigned pos = 0;

	if (dns_name_from_text(&n, owner))
		return;
	while (dnsc_rr_next(&r->msg, &pos, &rr) == 1) {
		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_TXT || rr.rclass != DNS_CLASS_IN ||
		    !dns_name_equal(&rr.owner, &n))
			continue;
		if (fn(arg, rr.rdata.pos, (size_t)(rr.rdata.end - rr.rdata.pos)))
			return;
	}
}

static int query(struct atd_enrol *e, const char *owner, dnsquery_fn cb)
{
	struct dns_name n;

	if (!e->running)
		return -ENOTCONN;
	if (dns_name_from_text(&n, owner))
		return -EINVAL;
	return dnsquery_send(e->ctx.queries, e->ctx.conn, e->ctx.key, &n, DNS_TYPE_TXT, cb, e);
}

/* ---- the revocation list (docs/authority.md §5.4) ---- */

struct rl_pick {
	struct atd_enrol *e;
	struct authority_revoked best;
	const uint8_t *rdata;
	size_t len;
	bool found;
};

static bool rl_each(void *arg, const uint8_t *rd, size_t len)
{
	struct rl_pick *p = arg;
	static struct authority_revoked rl;

	/* signed by our authority, and newer than what we hold: a lower seq is a rollback */
	if (authority_revoked_parse(rd, len, &rl) || authority_revoked_verify(p->e->auth, &rl))
		return false;
	if ((p->e->have_rl && rl.seq <= p->e->rl.seq) || (p->found && rl.seq <= p->best.seq))
		return false;
	p->best = rl;
	p->rdata = rd;
	p->len = len;
	p->found = true;
	return false;
}

/* Take a newer list: keep it, and have the tunnels of the hosts it revokes closed. */
static void rl_adopt(struct atd_enrol *e, const struct authority_revoked *rl, const uint8_t *rd, size_t len)
{
	if (len > sizeof(e->rl_rdata))
		return;
	e->rl = *rl;
	e->have_rl = true;
	memcpy(e->rl_rdata, rd, len);
	e->rl_len = len;
	(void)save(e);
	log_info("revocation list %u of %s: %u entr%s", rl->seq, e->domain, rl->n, rl->n == 1 ? "y" : "ies");
	if (e->hcert_len && authority_revoked_match(&e->rl, &e->hinfo))
		log_warnx("this host's certificate is revoked: no member of %s accepts it any more", e->domain);
	e->ops->revoked_changed(e->arg);
}

static void poll_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	char owner[AGENT_NAME_MAX + 1];
	struct rl_pick p = { .e = e };

	(void)why;
	if (err == -ECANCELED)
		return;
	e->polling = false;
	kick(e);
	if (err || !e->auth || name_of(e, "_revoked", owner))
		return;
	each_txt(r, owner, rl_each, &p);
	if (p.found)
		rl_adopt(e, &p.best, p.rdata, p.len);
}

/* ---- login: create, recover, or ask to join ---- */

static void op_report(evutil_socket_t fd, short what, void *arg)
{
	struct atd_enrol *e = arg;
	atd_enrol_done_fn done = e->done;
	void *darg = e->done_arg;
	char msg[sizeof(e->op_msg)], rec[sizeof(e->op_recovery)], code[sizeof(e->code)];
	bool has_rec = e->op_has_recovery, has_code = e->op_has_code;
	int err = e->op_err;

	(void)fd, (void)what;
	memcpy(msg, e->op_msg, sizeof(msg));
	memcpy(rec, e->op_recovery, sizeof(rec));
	memcpy(code, e->code, sizeof(code));
	OPENSSL_cleanse(e->op_recovery, sizeof(e->op_recovery));
	OPENSSL_cleanse(e->seed, sizeof(e->seed));
	e->have_seed = false;
	e->op = OP_NONE;
	e->done = NULL;
	e->op_has_recovery = e->op_has_code = false;
	if (err)
		log_warnx("%s", msg);
	else if (msg[0])
		log_info("%s", msg);
	if (done)
		done(darg, err, msg[0] ? msg : NULL, has_rec ? rec : NULL, has_code ? code : NULL);
	OPENSSL_cleanse(rec, sizeof(rec));
}

static void op_end(struct atd_enrol *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void op_end(struct atd_enrol *e, int err, const char *fmt, ...)
{
	struct timeval now = { 0, 0 };
	va_list ap;

	e->op_err = err;
	va_start(ap, fmt);
	vsnprintf(e->op_msg, sizeof(e->op_msg), fmt, ap);
	va_end(ap);
	evtimer_add(e->op_ev, &now);
}

/* Success with the message already in e->op_msg. */
static void op_end_kept(struct atd_enrol *e)
{
	struct timeval now = { 0, 0 };

	e->op_err = 0;
	evtimer_add(e->op_ev, &now);
}

struct anchor_pick {
	uint8_t der[AUTHORITY_CERT_DER_MAX];
	size_t len;
	int n;
};

static bool anchor_each(void *arg, const uint8_t *rd, size_t len)
{
	struct anchor_pick *p = arg;

	p->n++;
	return authority_cert_txt_parse(rd, len, p->der, sizeof(p->der), &p->len) == 0;
}

/* The authority is ours now (created or recovered): issue our own certificate, save, publish. */
static int become_signer(struct atd_enrol *e)
{
	int rc;

	if ((rc = authority_cert_der(e->auth, e->anchor, sizeof(e->anchor), &e->anchor_len)) || (rc = issue_self(e)))
		return rc;
	if ((rc = save(e)))
		return rc;
	refresh_records(e);
	watch_update(e);
	e->ops->creds_changed(e->arg);
	return 0;
}

static int join_begin(struct atd_enrol *e);

static void login_anchor(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	static struct anchor_pick p;
	char owner[AGENT_NAME_MAX + 1], rec[AUTHORITY_RECOVERY_TEXT_MAX];
	int rc;

	if (err == -ECANCELED)
		return;
	if (err) {
		op_end(e, err, "cannot read the account authority (_authority.%s): %s", e->domain, why);
		return;
	}
	memset(&p, 0, sizeof(p));
	if (!name_of(e, "_authority", owner))
		each_txt(r, owner, anchor_each, &p);
	authority_free(e->auth);
	e->auth = NULL;
	if (p.len == 0 && p.n > 0) {
		op_end(e, -EBADMSG, "_authority.%s holds no certificate this agent can read: not enrolled", e->domain);
		return;
	}
	if (p.len == 0) {
		/* §5.2: the first computer, or a recovery after the server lost the anchor */
		rc = authority_create(&e->auth, e->domain, e->have_seed ? e->seed : NULL, (int64_t)clock_wall_s(), rnd,
				      NULL);
		if (!rc)
			rc = become_signer(e);
		if (rc) {
			op_end(e, rc, "cannot create the account authority: %s", strerror(-rc));
			return;
		}
		if (e->have_seed) {
			op_end(e, 0, "the account authority is made again from the recovery key; this host is a signer");
			return;
		}
		if ((rc = authority_recovery_key(e->auth, rec, sizeof(rec))) < 0) {
			op_end(e, rc, "cannot write the recovery key: %s", strerror(-rc));
			return;
		}
		memcpy(e->op_recovery, rec, sizeof(rec));
		OPENSSL_cleanse(rec, sizeof(rec));
		e->op_has_recovery = true;
		op_end(e, 0, "this host created the account authority of %s and is its first signer", e->domain);
		return;
	}
	if (e->have_seed) {
		rc = authority_load_seed(&e->auth, e->domain, p.der, p.len, e->seed);
		if (rc == -EKEYREJECTED) {
			op_end(e, rc, "the recovery key is not the key of the authority of %s", e->domain);
			return;
		}
		if (!rc)
			rc = become_signer(e);
		if (rc)
			op_end(e, rc, "cannot enrol with the recovery key: %s", strerror(-rc));
		else
			op_end(e, 0, "enrolled with the recovery key: this host is a signer of %s", e->domain);
		return;
	}
	/* §5.1: the anchor read here is trusted only through the approval's MAC */
	memcpy(e->anchor, p.der, p.len);
	e->anchor_len = p.len;
	if ((rc = join_begin(e))) {
		op_end(e, rc, "cannot ask to join the account: %s", strerror(-rc));
		return;
	}
	e->op_has_code = true;
	op_end(e, 0, "%s has an account authority: this host asks to join it", e->domain);
}

int atd_enrol_login(struct atd_enrol *e, const char *recovery, atd_enrol_done_fn done, void *arg, char *why,
		    size_t whylen)
{
	char owner[AGENT_NAME_MAX + 1];
	int rc;

	if (!e || !e->enabled || !e->running)
		return -ENOTCONN;
	if (e->op != OP_NONE)
		return -EINPROGRESS;
	if (recovery) {
		rc = authority_recovery_parse(recovery, e->seed);
		if (rc) {
			snprintf(why, whylen, "%s", rc == -EBADMSG ? "the recovery key has a typo (its check does not match)"
						    : rc == -EPROTONOSUPPORT ? "the recovery key is of a later version"
									       : "that is not a recovery key (56 symbols)");
			OPENSSL_cleanse(e->seed, sizeof(e->seed));
			return -EINVAL;
		}
		e->have_seed = true;
	}
	if ((rc = name_of(e, "_authority", owner)) || (rc = query(e, owner, login_anchor))) {
		OPENSSL_cleanse(e->seed, sizeof(e->seed));
		e->have_seed = false;
		snprintf(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	e->op = OP_LOGIN;
	e->done = done;
	e->done_arg = arg;
	return 0;
}

/* ---- joining by approval (docs/authority.md §5.1) ---- */

static int join_begin(struct atd_enrol *e)
{
	uint8_t spki[AUTHORITY_SPKI_MAX];
	char owner[AGENT_NAME_MAX + 1];
	int rc;

	if (!e->hkey_len && (rc = hkey_make(e)))
		return rc;
	memset(&e->join, 0, sizeof(e->join));
	snprintf(e->join.host, sizeof(e->join.host), "%s", e->host);
	memcpy(e->join.ula, e->ula, 16);
	e->join.t = (int64_t)clock_wall_s();
	if ((rc = spki_of(e->hkey, e->hkey_len, spki, sizeof(spki), &e->join.spki_len)))
		return rc;
	memcpy(e->join.spki, spki, e->join.spki_len);
	if ((rc = rand_bytes(e->join.nonce, sizeof(e->join.nonce))) ||
	    (rc = rand_bytes(e->join_secret, sizeof(e->join_secret))) ||
	    (rc = authority_join_seal(&e->join, e->domain, e->join_secret, e->code, e->join_mac)) ||
	    (rc = authority_join_build(&e->join, e->join_rdata, sizeof(e->join_rdata), &e->join_len)))
		return rc;
	e->joining = true;
	if ((rc = pem_write(e->dir, "host.key", "PRIVATE KEY", e->hkey, e->hkey_len, 0600)) ||
	    (rc = join_save(e)))
		return rc;
	if ((rc = name_of(e, "_join", owner)) || (rc = upd_send(e, owner, UPD_ADD, e->join_rdata, e->join_len, NULL)))
		return rc;
	log_info("asking to join %s as %s: join code %s (autotunnel approve %s on a signer)", e->domain, e->host,
		 e->code, e->code);
	watch_update(e);
	return 0;
}

struct approval_pick {
	struct atd_enrol *e;
	struct authority *a;
	bool accepted;
};

static bool approval_each(void *arg, const uint8_t *rd, size_t len)
{
	struct approval_pick *p = arg;
	struct atd_enrol *e = p->e;
	static struct authority_approval ap;
	int rc;

	if (authority_approval_parse(rd, len, &ap))
		return false;
	rc = authority_approval_accept(p->a, &ap, &e->join, e->join_mac, (int64_t)clock_wall_s(), &e->hinfo);
	if (rc) {
		log_warnx("an approval for this host was refused: %s", strerror(-rc));
		return false;
	}
	memcpy(e->hcert, ap.cert, ap.cert_len);
	e->hcert_len = ap.cert_len;
	p->accepted = true;
	return true;
}

static void approve_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	char owner[AGENT_NAME_MAX + 1];
	struct approval_pick p = { .e = e };
	char path[4200];

	(void)why;
	if (err == -ECANCELED)
		return;
	e->polling = false;
	kick(e);
	if (err || !e->joining || authority_name_approve(owner, e->domain, e->join.nonce))
		return;
	if (authority_load(&p.a, e->domain, e->anchor, e->anchor_len, NULL, 0)) {
		log_warnx("_authority.%s is not an authority certificate for this account: waiting", e->domain);
		return;
	}
	each_txt(r, owner, approval_each, &p);
	if (!p.accepted) {
		authority_free(p.a);
		return;
	}
	authority_free(e->auth);
	e->auth = p.a;
	e->joining = false;
	(void)save(e);
	path_of(e, "join", path);
	unlink(path);
	if (!authority_name_join(owner, e->domain))
		(void)upd_send(e, owner, UPD_DELETE_RR, e->join_rdata, e->join_len, NULL);
	if (!authority_name_approve(owner, e->domain, e->join.nonce))
		(void)upd_send(e, owner, UPD_DELETE_SET, NULL, 0, NULL);
	OPENSSL_cleanse(e->join_mac, sizeof(e->join_mac));
	OPENSSL_cleanse(e->join_secret, sizeof(e->join_secret));
	e->code[0] = '\0';
	log_info("approved: this host is a member of %s with a certificate until %lld", e->domain,
		 (long long)e->hinfo.not_after);
	refresh_records(e);
	watch_update(e);
	e->ops->creds_changed(e->arg);
}

static void approve_poll(struct atd_enrol *e)
{
	char owner[AGENT_NAME_MAX + 1];

	if (!authority_name_approve(owner, e->domain, e->join.nonce) && query(e, owner, approve_answer) == 0)
		e->polling = true;
}

/* ---- approve (a signer) ---- */

struct join_pick {
	struct atd_enrol *e;
	struct authority_join j;
	uint8_t mac_key[AUTHORITY_JOIN_MAC_KEY_LEN];
	unsigned looked;
	bool found, stale;
};

static bool join_each(void *arg, const uint8_t *rd, size_t len)
{
	struct join_pick *p = arg;
	static struct authority_join j;

	if (authority_join_parse(rd, len, &j))
		return false;
	if (!authority_join_fresh(&j, (int64_t)clock_wall_s())) {
		p->stale = true;
		return false;
	}
	/* §6: each look costs one scrypt; a bounded number per command */
	if (++p->looked > JOIN_SCAN_MAX)
		return true;
	if (authority_join_match(&j, p->e->domain, p->e->op_text, p->mac_key) == 0) {
		p->j = j;
		p->found = true;
		return true;
	}
	return false;
}

static void approve_published(struct atd_enrol *e, int err)
{
	if (e->op != OP_APPROVE)
		return;
	if (err)
		op_end(e, err, "the approval could not be written to the server: %s", strerror(-err));
	else
		op_end_kept(e);
}

static void approve_joins(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	static struct join_pick p;
	static struct authority_approval ap;
	static uint8_t rd[AUTHORITY_APPROVAL_RDATA_MAX];
	char owner[AGENT_NAME_MAX + 1], u[INET6_ADDRSTRLEN];
	struct authority_issue req = { 0 };
	char principal[AUTHORITY_PRINCIPAL_MAX + 1];
	size_t n;
	int rc;

	if (err == -ECANCELED)
		return;
	if (err) {
		op_end(e, err, "cannot read the join requests: %s", why);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.e = e;
	if (!name_of(e, "_join", owner))
		each_txt(r, owner, join_each, &p);
	if (!p.found) {
		op_end(e, -ENOENT, "no computer waiting to join %s shows the code %s%s", e->domain, e->op_text,
		       p.looked > JOIN_SCAN_MAX ? " among the newest requests" : " (a typo, or its request is older than 15 minutes)");
		return;
	}
	req.host = p.j.host;
	req.ula = p.j.ula;
	req.spki = p.j.spki;
	req.spki_len = p.j.spki_len;
	pkinit_name(e, principal, &req);
	memset(&ap, 0, sizeof(ap));
	memcpy(ap.nonce, p.j.nonce, sizeof(ap.nonce));
	ap.t = (int64_t)clock_wall_s();
	rc = authority_issue(e->auth, &req, ap.t, rnd, NULL, ap.cert, sizeof(ap.cert), &ap.cert_len);
	if (!rc)
		rc = authority_approval_build(e->auth, &ap, p.mac_key, rd, sizeof(rd), &n);
	OPENSSL_cleanse(p.mac_key, sizeof(p.mac_key));
	if (!rc)
		rc = authority_name_approve(owner, e->domain, p.j.nonce);
	if (!rc) {
		inet_ntop(AF_INET6, p.j.ula, u, sizeof(u));
		snprintf(e->op_msg, sizeof(e->op_msg), "approved %s (%s): it joins %s with a certificate", p.j.host, u,
			 e->domain);
		rc = upd_send(e, owner, UPD_REPLACE, rd, n, approve_published);
	}
	/* §5.3: its certificate where a signer finds the key to revoke (the new host adds it again itself) */
	if (!rc && !authority_hostcert_txt_build(ap.cert, ap.cert_len, rd, sizeof(rd), &n) &&
	    !authority_name_cert(owner, e->domain, p.j.host))
		(void)upd_send(e, owner, UPD_REPLACE, rd, n, NULL);
	if (rc)
		op_end(e, rc, "cannot approve %s: %s", p.j.host, strerror(-rc));
}

static int signer_op(struct atd_enrol *e, enum op_kind k, const char *owner, dnsquery_fn cb, atd_enrol_done_fn done,
		     void *arg, char *why, size_t whylen)
{
	int rc;

	if (!e || !e->enabled || !e->running) {
		snprintf(why, whylen, "not signed in with the account authority on ([agent] authority = yes)");
		return -ENOTCONN;
	}
	if (!e->auth || !authority_can_sign(e->auth)) {
		snprintf(why, whylen, "this host is not a signer of the account authority (enrol it with "
			 "autotunnel login ... --recovery-key)");
		return -EPERM;
	}
	if (e->op != OP_NONE) {
		snprintf(why, whylen, "another authority command is under way");
		return -EINPROGRESS;
	}
	if ((rc = query(e, owner, cb))) {
		snprintf(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	e->op = k;
	e->done = done;
	e->done_arg = arg;
	return 0;
}

int atd_enrol_approve(struct atd_enrol *e, const char *code, atd_enrol_done_fn done, void *arg, char *why,
		      size_t whylen)
{
	char canon[AUTHORITY_JOIN_CODE_SYMBOLS + 1], owner[AGENT_NAME_MAX + 1];

	if (!code || authority_join_code_parse(code, canon)) {
		snprintf(why, whylen, "'%s' is not a join code (8 symbols, XXXX-XXXX)", code ? code : "");
		return -EINVAL;
	}
	if (!e || name_of(e, "_join", owner)) {
		snprintf(why, whylen, "not signed in");
		return -ENOTCONN;
	}
	snprintf(e->op_text, sizeof(e->op_text), "%s", canon);
	return signer_op(e, OP_APPROVE, owner, approve_joins, done, arg, why, whylen);
}

/* ---- revoke (a signer, docs/authority.md §5.4) ---- */

static void revoke_published(struct atd_enrol *e, int err)
{
	if (e->op != OP_REVOKE)
		return;
	if (err)
		op_end(e, err, "the revocation list could not be written to the server: %s", strerror(-err));
	else
		op_end_kept(e);
}

static bool hostcert_each(void *arg, const uint8_t *rd, size_t len)
{
	struct atd_enrol *e = arg;
	static uint8_t der[AUTHORITY_CERT_DER_MAX];
	static struct authority_host_cert info;
	size_t n;

	/* the host's key, from a certificate of ours for it (expired or revoked ones too: the key is what counts) */
	if (authority_hostcert_txt_parse(rd, len, der, sizeof(der), &n) ||
	    authority_cert_verify(e->auth, der, n, (int64_t)clock_wall_s(), e->op_text, NULL, NULL, &info))
		return false;
	memcpy(e->op_spki, info.spki, info.spki_len);
	e->op_spki_len = info.spki_len;
	return true;
}

static void revoke_cert(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	static struct authority_revoked rl;
	static uint8_t rd[AUTHORITY_REVOKED_RDATA_MAX];
	char owner[AGENT_NAME_MAX + 1];
	int64_t now = (int64_t)clock_wall_s();
	size_t n;
	int rc;

	(void)why;
	if (err == -ECANCELED)
		return;
	e->op_spki_len = 0;
	if (!err && !authority_name_cert(owner, e->domain, e->op_text))
		each_txt(r, owner, hostcert_each, e);
	if (e->have_rl)
		rl = e->rl;
	else
		memset(&rl, 0, sizeof(rl));
	rl.seq++;
	rl.t = now;
	(void)authority_revoked_prune(&rl, now, AUTHORITY_HOST_VALIDITY_MAX);
	rc = authority_revoked_add_host(&rl, e->op_text, now);
	if (!rc && e->op_spki_len && (rc = authority_revoked_add_key(&rl, e->op_spki, e->op_spki_len, now)) == -EEXIST)
		rc = 0;
	if (!rc)
		rc = authority_revoked_build(e->auth, &rl, rd, sizeof(rd), &n);
	if (!rc)
		rc = authority_name_revoked(owner, e->domain);
	if (rc) {
		op_end(e, rc, "cannot revoke %s: %s", e->op_text, strerror(-rc));
		return;
	}
	snprintf(e->op_msg, sizeof(e->op_msg), "revoked %s%s (list %u): every member tears down its tunnels within "
		 "seconds and refuses it from now on", e->op_text, e->op_spki_len ? " and its key" : "", rl.seq);
	if (authority_revoked_parse(rd, n, &rl) == 0)
		rl_adopt(e, &rl, rd, n);
	if ((rc = upd_send(e, owner, UPD_REPLACE, rd, n, revoke_published)))
		op_end(e, rc, "cannot revoke %s: %s", e->op_text, strerror(-rc));
}

/*
 * Another signer may have signed a newer list than the one we hold: read
 * `_revoked.D` first and build on the newest, or our list would carry a
 * seq that members ignore (a rollback to them) and this revocation be lost.
 */
static void revoke_list(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	char owner[AGENT_NAME_MAX + 1];
	struct rl_pick p = { .e = e };
	int rc;

	if (err == -ECANCELED)
		return;
	if (err) {
		op_end(e, err, "cannot read the revocation list: %s", why);
		return;
	}
	if (!name_of(e, "_revoked", owner))
		each_txt(r, owner, rl_each, &p);
	if (p.found)
		rl_adopt(e, &p.best, p.rdata, p.len);
	if ((rc = authority_name_cert(owner, e->domain, e->op_text)) || (rc = query(e, owner, revoke_cert)))
		op_end(e, rc, "cannot revoke %s: %s", e->op_text, strerror(-rc));
}

int atd_enrol_revoke(struct atd_enrol *e, const char *host, atd_enrol_done_fn done, void *arg, char *why,
		     size_t whylen)
{
	char owner[AGENT_NAME_MAX + 1];

	if (!host || agent_label_check(host, strlen(host))) {
		snprintf(why, whylen, "'%s' is not a host name of the account (a label: laptop)", host ? host : "");
		return -EINVAL;
	}
	if (!e || name_of(e, "_revoked", owner)) {
		snprintf(why, whylen, "not signed in");
		return -ENOTCONN;
	}
	if (strcmp(host, e->host) == 0) {
		snprintf(why, whylen, "'%s' is this host: revoke it from another signer", host);
		return -EINVAL;
	}
	snprintf(e->op_text, sizeof(e->op_text), "%s", host);
	return signer_op(e, OP_REVOKE, owner, revoke_list, done, arg, why, whylen);
}

/* ---- issue for a guest or the KDC ---- */

int atd_enrol_issue(struct atd_enrol *e, const char *name, const char *pkinit, const char *principal, const char *key,
		    char *dir, size_t dirlen, char *why, size_t whylen)
{
	uint8_t k8[KEY_DER_MAX], spki[AUTHORITY_SPKI_MAX], der[AUTHORITY_CERT_DER_MAX];
	struct authority_issue req = { .host = name, .ula = e ? e->ula : NULL, .spki = spki, .principal = principal };
	char file[AGENT_LABEL_MAX + 8];
	size_t klen = 0, n = 0;
	int rc;

	if (!e || !e->enabled || !e->running || !e->auth || !authority_can_sign(e->auth)) {
		snprintf(why, whylen, "this host is not a signer of the account authority");
		return -EPERM;
	}
	if (!name || agent_label_check(name, strlen(name))) {
		snprintf(why, whylen, "'%s' is not a name (a label: guest)", name ? name : "");
		return -EINVAL;
	}
	if ((size_t)snprintf(dir, dirlen, "%s/issued", e->dir) >= dirlen || strlen(dir) > 255) {
		snprintf(why, whylen, "the state directory's name is too long to be told in a reply");
		return -ENAMETOOLONG;
	}
	if (!pkinit)
		req.pkinit = AUTHORITY_PKINIT_NONE;
	else if (strcmp(pkinit, "client") == 0)
		req.pkinit = AUTHORITY_PKINIT_CLIENT;
	else if (strcmp(pkinit, "kdc") == 0)
		req.pkinit = AUTHORITY_PKINIT_KDC;
	if (key && strcmp(key, "ed25519") && strcmp(key, "p256")) {
		snprintf(why, whylen, "--key takes ed25519 or p256");
		return -EINVAL;
	}
	if ((pkinit != NULL) != (principal != NULL) || (pkinit && req.pkinit == AUTHORITY_PKINIT_NONE)) {
		snprintf(why, whylen, "--pkinit takes client PRINCIPAL or kdc REALM");
		return -EINVAL;
	}
	/* the guest gets an address of its own: this host's /64 with a random interface id (fc00::/7 is what counts) */
	{
		uint8_t ula[16];

		memcpy(ula, e->ula, 8);
		if ((rc = rand_bytes(ula + 8, 8))) {
			snprintf(why, whylen, "%s", strerror(-rc));
			return rc;
		}
		req.ula = ula;
		if (key_make(key && strcmp(key, "p256") == 0, k8, sizeof(k8), &klen)) {
			snprintf(why, whylen, "cannot make a key");
			return -EIO;
		}
		rc = spki_of(k8, klen, spki, sizeof(spki), &req.spki_len);
		if (!rc)
			rc = authority_issue(e->auth, &req, (int64_t)clock_wall_s(), rnd, NULL, der, sizeof(der), &n);
	}
	if (rc) {
		OPENSSL_cleanse(k8, sizeof(k8));
		snprintf(why, whylen, "cannot issue a certificate for %s: %s", name, strerror(-rc));
		return rc;
	}
	rc = fsutil_mkdir_p(dir, 0700);
	snprintf(file, sizeof(file), "%s.key", name);
	if (!rc)
		rc = pem_write(dir, file, "PRIVATE KEY", k8, klen, 0600);
	OPENSSL_cleanse(k8, sizeof(k8));
	snprintf(file, sizeof(file), "%s.pem", name);
	if (!rc)
		rc = pem_write(dir, file, "CERTIFICATE", der, n, 0644);
	if (!rc)
		rc = pem_write(dir, "anchor.pem", "CERTIFICATE", e->anchor, e->anchor_len, 0644);
	if (rc) {
		snprintf(why, whylen, "cannot write to %s: %s", dir, strerror(-rc));
		return rc;
	}
	log_info("issued %s.%s%s%s%s: %s/%s.pem, %s/%s.key and the anchor %s/anchor.pem", name, e->domain,
		 pkinit ? " for PKINIT (" : "", pkinit ? pkinit : "", pkinit ? ")" : "", dir, name, dir, name, dir);
	/* a reply's text is at most 255 characters (lib/agent/ctl.h): the directory goes apart */
	snprintf(why, whylen, "issued %.63s.%.150s%s%s%s: %.63s.pem, %.63s.key and anchor.pem", name, e->domain,
		 pkinit ? " for PKINIT (" : "", pkinit ? pkinit : "", pkinit ? ")" : "", name, name);
	return 0;
}

/* ---- renewal (docs/authority.md §5.3) ---- */


/* A member asks the signers: _renew.H.D, signed with its current key, for the same key. */
static int renew_ask(struct atd_enrol *e)
{
	static struct authority_renew req;
	static uint8_t rd[AUTHORITY_RENEW_RDATA_MAX];
	char owner[AGENT_NAME_MAX + 1];
	size_t n;
	int rc;

	memset(&req, 0, sizeof(req));
	snprintf(req.host, sizeof(req.host), "%s", e->host);
	req.t = (int64_t)clock_wall_s();
	memcpy(req.spki, e->hinfo.spki, e->hinfo.spki_len);
	req.spki_len = e->hinfo.spki_len;
	memcpy(req.cert, e->hcert, e->hcert_len);
	req.cert_len = e->hcert_len;
	rc = authority_renew_build(&req, e->domain, e->hkey, e->hkey_len, rd, sizeof(rd), &n);
	if (!rc)
		rc = authority_name_renew(owner, e->domain, e->host);
	if (!rc)
		rc = upd_send(e, owner, UPD_REPLACE, rd, n, NULL);
	if (rc) {
		log_warnx("cannot ask for the renewal of this host's certificate: %s", strerror(-rc));
		return rc;
	}
	e->renew_sent_ms = clock_now_ms();
	e->want_cert = true;	/* a signer may have answered before the watch is set up */
	watch_update(e);
	log_info("asked the signers of %s to renew this host's certificate (valid until %lld)", e->domain,
		 (long long)e->hinfo.not_after);
	return 0;
}

static bool newcert_each(void *arg, const uint8_t *rd, size_t len)
{
	struct atd_enrol *e = arg;
	static uint8_t der[AUTHORITY_CERT_DER_MAX];
	static struct authority_host_cert info;
	size_t n;

	/* ours (name, address, key), from our authority, not revoked, and newer than the one we hold */
	if (authority_hostcert_txt_parse(rd, len, der, sizeof(der), &n) ||
	    authority_cert_verify(e->auth, der, n, (int64_t)clock_wall_s(), e->host, e->hinfo.ula,
				  e->have_rl ? &e->rl : NULL, &info) ||
	    info.spki_len != e->hinfo.spki_len || memcmp(info.spki, e->hinfo.spki, info.spki_len) ||
	    info.not_before <= e->hinfo.not_before)
		return false;
	memcpy(e->hcert, der, n);
	e->hcert_len = n;
	e->hinfo = info;
	return true;
}

static void renew_adopted(struct atd_enrol *e)
{
	char owner[AGENT_NAME_MAX + 1];

	e->renew_sent_ms = 0;
	e->renew_asked = false;
	agent_enrol_renew_ended(&e->t);
	watch_update(e);
	(void)save(e);
	if (!authority_name_renew(owner, e->domain, e->host))
		(void)upd_send(e, owner, UPD_DELETE_SET, NULL, 0, NULL);
	log_info("renewed: this host's certificate now runs until %lld", (long long)e->hinfo.not_after);
	e->ops->creds_changed(e->arg);
}

static void renew_cert_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	char owner[AGENT_NAME_MAX + 1];
	int64_t before = e->hinfo.not_before;

	(void)why;
	if (err == -ECANCELED)
		return;
	e->polling = false;
	kick(e);
	if (err || !e->renew_sent_ms || authority_name_cert(owner, e->domain, e->host))
		return;
	each_txt(r, owner, newcert_each, e);
	if (e->hinfo.not_before > before)
		renew_adopted(e);
}

/* A signer answers one host's request, if it has one that authority_renew_check() accepts. */
static bool renew_each(void *arg, const uint8_t *rd, size_t len)
{
	struct atd_enrol *e = arg;
	static struct authority_renew req;
	static struct authority_host_cert cur;
	static uint8_t der[AUTHORITY_CERT_DER_MAX], txt[AUTHORITY_HOSTCERT_RDATA_MAX];
	struct authority_issue is = { 0 };
	char owner[AGENT_NAME_MAX + 1], principal[AUTHORITY_PRINCIPAL_MAX + 1];
	size_t n, tn;
	int rc;

	if (authority_renew_parse(rd, len, &req))
		return false;
	rc = authority_renew_check(e->auth, &req, (int64_t)clock_wall_s(), e->have_rl ? &e->rl : NULL, &cur);
	if (rc) {
		log_warnx("refused to renew the certificate of %s: %s", req.host,
			  rc == -EKEYREVOKED ? "it is revoked" : rc == -ESTALE ? "the request is too old" : strerror(-rc));
		return true;
	}
	is.host = cur.host;
	is.ula = cur.ula;
	is.spki = req.spki;
	is.spki_len = req.spki_len;
	pkinit_name(e, principal, &is);
	rc = authority_issue(e->auth, &is, (int64_t)clock_wall_s(), rnd, NULL, der, sizeof(der), &n);
	if (!rc)
		rc = authority_hostcert_txt_build(der, n, txt, sizeof(txt), &tn);
	if (!rc)
		rc = authority_name_cert(owner, e->domain, cur.host);
	if (!rc)
		rc = upd_send(e, owner, UPD_REPLACE, txt, tn, NULL);
	if (!rc && !authority_name_renew(owner, e->domain, cur.host))
		(void)upd_send(e, owner, UPD_DELETE_SET, NULL, 0, NULL);
	if (rc)
		log_warnx("cannot renew the certificate of %s: %s", cur.host, strerror(-rc));
	else
		log_info("renewed the certificate of %s at its request", cur.host);
	return true;
}

static void renew_answer(void *arg, int err, const struct dnsc_resp *r, const char *why)
{
	struct atd_enrol *e = arg;
	char owner[AGENT_NAME_MAX + 1];

	(void)why;
	if (err == -ECANCELED)
		return;
	e->polling = false;
	kick(e);
	if (err || !e->auth || !authority_can_sign(e->auth) ||
	    authority_name_renew(owner, e->domain, e->renew_label))
		return;
	each_txt(r, owner, renew_each, e);
}

/*
 * One renewal read when one is due: a member reads `_cert.H.D` when it
 * changed while it asks; a signer reads the next host's `_renew.H.D` that
 * changed. True when a query went out.
 */
static bool renew_step(struct atd_enrol *e)
{
	char owner[AGENT_NAME_MAX + 1];

	if (!e->auth || !e->hcert_len || e->joining)
		return false;
	if (authority_can_sign(e->auth)) {
		while (e->renew_qn > 0) {
			snprintf(e->renew_label, sizeof(e->renew_label), "%s", e->renew_q[0]);
			memmove(e->renew_q[0], e->renew_q[1], (--e->renew_qn) * sizeof(e->renew_q[0]));
			if (!authority_name_renew(owner, e->domain, e->renew_label) && query(e, owner, renew_answer) == 0)
				return true;
		}
		return false;
	}
	if (e->renew_sent_ms && e->want_cert && !authority_name_cert(owner, e->domain, e->host) &&
	    query(e, owner, renew_cert_answer) == 0) {
		e->want_cert = false;
		return true;
	}
	return false;
}

int atd_enrol_renew(struct atd_enrol *e, char *why, size_t whylen)
{
	if (!e || !e->enabled || !e->running || !e->auth || !e->hcert_len) {
		snprintf(why, whylen, "this host has no certificate of the account authority to renew");
		return -ENOENT;
	}
	if (authority_can_sign(e->auth)) {
		int rc = issue_self(e);

		if (!rc)
			rc = save(e);
		if (rc) {
			snprintf(why, whylen, "cannot renew this host's certificate: %s", strerror(-rc));
			return rc;
		}
		agent_enrol_records_changed(&e->t, clock_now_ms());
		kick(e);
		e->ops->creds_changed(e->arg);
		snprintf(why, whylen, "this host's certificate is renewed (a signer issues its own)");
		return 0;
	}
	e->renew_asked = true;
	e->renew_sent_ms = 0;
	/* asked now, even while an earlier request waits for its resend */
	agent_enrol_renew_ended(&e->t);
	agent_enrol_renew_wanted(&e->t, clock_now_ms());
	kick(e);
	snprintf(why, whylen, "asked the signers to renew this host's certificate (autotunnel status and the log say "
		 "when it is done)");
	return 0;
}

/* ---- life cycle ---- */

/* The safety re-read (docs/authority.md §7): everything watched, once, in case an event was missed. */
static void reread_all(struct atd_enrol *e)
{
	e->want_approve = e->joining;
	e->want_rl = e->auth && !e->joining;
	e->want_cert = e->renew_sent_ms != 0;
	if (e->auth && authority_can_sign(e->auth) && !e->joining && e->ops->hosts) {
		char labels[ATD_ENROL_RENEW_Q][64];
		size_t n = e->ops->hosts(e->arg, labels, ATD_ENROL_RENEW_Q);

		for (size_t i = 0; i < n && i < ATD_ENROL_RENEW_Q; i++)
			renew_want(e, labels[i]);
	}
}

/* AGENT_ENROL_CHECK: what the wall clock decides (certificate lives and join requests are in seconds of it). */
static void check(struct atd_enrol *e, uint64_t now)
{
	/* a signer renews its own certificate at two thirds (§3), or when this boot's ULA is another */
	if (e->auth && authority_can_sign(e->auth) && e->hcert_len &&
	    (authority_cert_should_renew(&e->hinfo, (int64_t)clock_wall_s()) || memcmp(e->hinfo.ula, e->ula, 16))) {
		if (issue_self(e) == 0 && save(e) == 0) {
			log_info("renewed this host's certificate (until %lld)", (long long)e->hinfo.not_after);
			agent_enrol_records_changed(&e->t, now);
			e->ops->creds_changed(e->arg);
		}
	}
	/* a member asks the signers, at two thirds or when told to (§5.3) */
	if (e->auth && !authority_can_sign(e->auth) && e->hcert_len && !e->joining &&
	    (e->renew_asked || authority_cert_should_renew(&e->hinfo, (int64_t)clock_wall_s())))
		agent_enrol_renew_wanted(&e->t, now);
	/*
	 * §5.1: a request lives 15 minutes; a computer still waiting a minute
	 * before its end asks anew (a new nonce, a new code, shown by autotunnel status)
	 */
	if (e->joining && !e->polling && !authority_join_fresh(&e->join, (int64_t)clock_wall_s() + 60)) {
		char old[AGENT_NAME_MAX + 1];

		if (!authority_name_join(old, e->domain))
			(void)upd_send(e, old, UPD_DELETE_RR, e->join_rdata, e->join_len, NULL);
		if (join_begin(e))
			log_warnx("cannot renew the request to join %s", e->domain);
		e->want_approve = true;
	}
}

/* One read at a time, each only when watching said it changed (or the safety re-read asked). */
static void reads(struct atd_enrol *e)
{
	char owner[AGENT_NAME_MAX + 1];

	if (e->polling)
		return;
	if (e->joining) {
		if (e->want_approve) {
			e->want_approve = false;
			approve_poll(e);
		}
	} else if (e->want_rl && e->auth && !name_of(e, "_revoked", owner)) {
		e->want_rl = false;
		if (query(e, owner, poll_answer) == 0)
			e->polling = true;
	} else if (renew_step(e)) {
		e->polling = true;
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_enrol *e = arg;
	uint64_t now = clock_now_ms(), next;
	enum agent_enrol_action a;
	bool up;

	(void)fd, (void)what;
	if (!e->running)
		return;
	up = dnsconn_is_up(e->ctx.conn);
	/* the timers decide; without the server each action is a failure, tried again soon */
	while ((a = agent_enrol_due(&e->t, now)) != AGENT_ENROL_NONE) {
		bool ok = up;

		switch (a) {
		case AGENT_ENROL_REFRESH:
			if (up)
				refresh_records(e);
			break;
		case AGENT_ENROL_CHECK:
			if (up)
				check(e, now);
			break;
		case AGENT_ENROL_RENEW:
			ok = up && renew_ask(e) == 0;
			break;
		case AGENT_ENROL_REREAD:
			if (up)
				reread_all(e);
			break;
		default:
			break;
		}
		agent_enrol_done(&e->t, a, now, ok);
		if (!e->running)
			return;
	}
	if (up)
		reads(e);
	next = agent_enrol_next(&e->t);
	if (next != AGENT_NEVER) {
		uint64_t ms = next > now ? next - now : 0;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(e->tick, &tv);
	}
}

void atd_enrol_record_changed(struct atd_enrol *e, const char *owner)
{
	char n[AGENT_NAME_MAX + 1];
	size_t ol, dl;

	if (!e || !e->enabled || !e->running || !owner)
		return;
	ol = strlen(owner);
	dl = strlen(e->domain);
	if (e->joining && !authority_name_approve(n, e->domain, e->join.nonce) && strcasecmp(n, owner) == 0)
		e->want_approve = true;
	else if (!name_of(e, "_revoked", n) && strcasecmp(n, owner) == 0)
		e->want_rl = true;
	else if (!authority_name_cert(n, e->domain, e->host) && strcasecmp(n, owner) == 0)
		e->want_cert = true;
	else if (ol > 7 + dl + 1 && strncasecmp(owner, "_renew.", 7) == 0 && owner[ol - dl - 1] == '.' &&
		 strcasecmp(owner + ol - dl, e->domain) == 0 && ol - dl - 1 - 7 < sizeof(n)) {
		/* _renew.H.D: a host's request to a signer (§5.3) */
		memcpy(n, owner + 7, ol - dl - 1 - 7);
		n[ol - dl - 1 - 7] = '\0';
		if (!strchr(n, '.') && !agent_label_check(n, strlen(n)))
			renew_want(e, n);
	} else {
		return;
	}
	log_debug("%s changed: reading it", owner);
	kick(e);
}

size_t atd_enrol_watch_names(const struct atd_enrol *e, const char **names, size_t cap, bool *renew)
{
	size_t n = 0;

	*renew = false;
	if (!e || !e->enabled || !e->running)
		return 0;
	for (; n < e->nwatched && n < cap; n++)
		names[n] = e->watched[n];
	*renew = e->watched_renew;
	return n;
}

struct atd_enrol *atd_enrol_new(struct event_base *base, const char *state_dir, const uint8_t ula[16],
				bool enabled, const struct atd_enrol_ops *ops, void *arg)
{
	struct atd_enrol *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base = base;
	e->ops = ops;
	e->arg = arg;
	e->enabled = enabled;
	agent_timer_cfg_default(&e->tcfg);
	agent_enrol_timers_init(&e->t, &e->tcfg);
	snprintf(e->dir, sizeof(e->dir), "%s", state_dir ? state_dir : "/var/lib/autotunnel");
	if (ula)
		memcpy(e->ula, ula, 16);
	if (!(e->tick = evtimer_new(base, tick_cb, e)) || !(e->op_ev = evtimer_new(base, op_report, e))) {
		atd_enrol_free(e);
		return NULL;
	}
	return e;
}

static void forget_state(struct atd_enrol *e)
{
	authority_free(e->auth);
	e->auth = NULL;
	OPENSSL_cleanse(e->hkey, sizeof(e->hkey));
	OPENSSL_cleanse(e->join_secret, sizeof(e->join_secret));
	OPENSSL_cleanse(e->join_mac, sizeof(e->join_mac));
	e->hkey_len = e->hcert_len = e->anchor_len = e->rl_len = e->join_len = 0;
	e->have_rl = e->joining = false;
	e->code[0] = '\0';
	memset(&e->hinfo, 0, sizeof(e->hinfo));
}

void atd_enrol_free(struct atd_enrol *e)
{
	if (!e)
		return;
	forget_state(e);
	if (e->tick)
		event_free(e->tick);
	if (e->op_ev)
		event_free(e->op_ev);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* The state an earlier run saved for this account (at start with a saved account). */
static void load(struct atd_enrol *e)
{
	uint8_t p8[AUTHORITY_PKCS8_MAX + 16];
	size_t p8len = 0, n = 0;
	char path[4200];
	int rc;

	if (pem_read(e, "host.key", "PRIVATE KEY", e->hkey, sizeof(e->hkey), &e->hkey_len))
		e->hkey_len = 0;
	if (e->hkey_len && join_load(e) == 0) {
		/* still waiting for the approval: the anchor is not trusted yet */
		e->joining = true;
		log_info("still asking to join %s: join code %s", e->domain, e->code);
		return;
	}
	e->anchor_len = 0;
	if (pem_read(e, "anchor.pem", "CERTIFICATE", e->anchor, sizeof(e->anchor), &e->anchor_len)) {
		e->anchor_len = 0;
		return;
	}
	rc = pem_read(e, "authority.key", "PRIVATE KEY", p8, sizeof(p8), &p8len);
	rc = authority_load(&e->auth, e->domain, e->anchor, e->anchor_len, rc ? NULL : p8, rc ? 0 : p8len);
	OPENSSL_cleanse(p8, sizeof(p8));
	if (rc) {
		log_warnx("%s/anchor.pem is not the authority of %s (%s): the tunnels use the pre-shared key", e->dir,
			  e->domain, strerror(-rc));
		forget_state(e);
		return;
	}
	/*
	 * A signer enrolled when host keys were Ed25519 takes a P-256 key and a
	 * certificate naming the account's principal now, which its local KDC
	 * needs (docs/sso.md §2). A member cannot issue; it joins again.
	 */
	if (authority_can_sign(e->auth) && e->hkey_len && !hkey_is_ec(e->hkey, e->hkey_len)) {
		log_info("this host's key is not ECDSA P-256, which its local KDC needs: a new key and certificate");
		OPENSSL_cleanse(e->hkey, sizeof(e->hkey));
		e->hkey_len = 0;
		e->hcert_len = 0;
		if (issue_self(e) || save(e))
			log_warnx("cannot give this host a new key and certificate");
	} else if (pem_read(e, "host.pem", "CERTIFICATE", e->hcert, sizeof(e->hcert), &e->hcert_len) ||
	    authority_cert_verify(e->auth, e->hcert, e->hcert_len, (int64_t)clock_wall_s(), e->host, NULL, NULL,
				  &e->hinfo)) {
		log_warnx("this host's certificate is missing or no longer valid%s", authority_can_sign(e->auth)
			  ? ": issuing a new one" : " (a signer can approve this host again)");
		e->hcert_len = 0;
		if (authority_can_sign(e->auth) && issue_self(e) == 0)
			(void)save(e);
	}
	path_of(e, "revoked", path);
	{
		static uint8_t rd[AUTHORITY_REVOKED_RDATA_MAX];

		if (fsutil_read_small(path, rd, sizeof(rd), &n) == 0 && authority_revoked_parse(rd, n, &e->rl) == 0 &&
		    authority_revoked_verify(e->auth, &e->rl) == 0) {
			memcpy(e->rl_rdata, rd, n);
			e->rl_len = n;
			e->have_rl = true;
		}
	}
	log_info("account authority of %s: this host is a %s%s", e->domain,
		 authority_can_sign(e->auth) ? "signer" : "member", e->hcert_len ? " with a certificate" : "");
}

void atd_enrol_start(struct atd_enrol *e, const struct atd_enrol_ctx *ctx, bool fresh)
{
	struct timeval now = { 0, 0 };

	if (!e || !e->enabled)
		return;
	forget_state(e);
	e->ctx = *ctx;
	snprintf(e->domain, sizeof(e->domain), "%s", ctx->domain);
	snprintf(e->host, sizeof(e->host), "%s", ctx->host);
	e->ctx.domain = e->domain;
	e->ctx.host = e->host;
	e->running = true;
	e->polling = false;
	e->renew_qn = 0;
	e->want_rl = e->want_approve = e->want_cert = false;
	if (fresh)
		files_remove(e);
	else
		load(e);
	watch_update(e);
	agent_enrol_start(&e->t, clock_now_ms());
	evtimer_add(e->tick, &now);
}

void atd_enrol_withdraw(struct atd_enrol *e)
{
	char owner[AGENT_NAME_MAX + 1];

	if (!e || !e->enabled || !e->running)
		return;
	if (!authority_name_cert(owner, e->domain, e->host))
		(void)upd_send(e, owner, UPD_DELETE_SET, NULL, 0, NULL);
	if (!authority_name_renew(owner, e->domain, e->host))
		(void)upd_send(e, owner, UPD_DELETE_SET, NULL, 0, NULL);
	if (e->joining && !authority_name_join(owner, e->domain))
		(void)upd_send(e, owner, UPD_DELETE_RR, e->join_rdata, e->join_len, NULL);
}

void atd_enrol_stop(struct atd_enrol *e, bool forget)
{
	if (!e || !e->enabled)
		return;
	if (e->running && e->ctx.queries)
		dnsquery_cancel(e->ctx.queries, e);
	e->running = false;
	agent_enrol_stop(&e->t);
	evtimer_del(e->tick);
	if (e->op != OP_NONE) {
		e->done = NULL;
		e->op = OP_NONE;
	}
	evtimer_del(e->op_ev);
	if (forget)
		files_remove(e);
	forget_state(e);
	watch_update(e);
	memset(&e->ctx, 0, sizeof(e->ctx));
}

void atd_enrol_forget(struct atd_enrol *e, void *arg)
{
	if (e && e->done_arg == arg)
		e->done = NULL;
}

void atd_enrol_creds(const struct atd_enrol *e, struct atd_enrol_creds *c)
{
	memset(c, 0, sizeof(*c));
	if (!e || !e->enabled || !e->running)
		return;
	c->authority = e->auth || e->joining;
	if (e->auth && e->hcert_len && e->hkey_len) {
		c->cert = e->hcert;
		c->cert_len = e->hcert_len;
		c->key = e->hkey;
		c->key_len = e->hkey_len;
		c->anchor = e->anchor;
		c->anchor_len = e->anchor_len;
	}
}

int atd_enrol_verify_peer(const struct atd_enrol *e, const uint8_t *der, size_t len, const char *host,
			  const uint8_t *ula)
{
	if (!e || !e->auth)
		return -ENOKEY;
	return authority_cert_verify(e->auth, der, len, (int64_t)clock_wall_s(), host, ula, e->have_rl ? &e->rl : NULL,
				     NULL);
}

int atd_enrol_saved_ula(const char *state_dir, uint8_t ula[static 16])
{
	struct atd_enrol tmp;
	static uint8_t der[AUTHORITY_CERT_DER_MAX];
	const unsigned char *p = der;
	GENERAL_NAMES *gns;
	X509 *x;
	size_t n = 0;
	int rc = -EBADMSG, found = 0;

	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.dir, sizeof(tmp.dir), "%s", state_dir ? state_dir : "/var/lib/autotunnel");
	if ((rc = pem_read(&tmp, "host.pem", "CERTIFICATE", der, sizeof(der), &n)))
		return rc;
	if (!(x = d2i_X509(NULL, &p, (long)n)))
		return -EBADMSG;
	rc = -EBADMSG;
	gns = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gns && i < sk_GENERAL_NAME_num(gns); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);

		/* docs/authority.md §3: exactly one iPAddress, in fc00::/7 */
		if (g->type != GEN_IPADD || ASN1_STRING_length(g->d.iPAddress) != 16)
			continue;
		memcpy(ula, ASN1_STRING_get0_data(g->d.iPAddress), 16);
		found++;
	}
	if (found == 1 && (ula[0] & 0xfe) == 0xfc)
		rc = 0;
	GENERAL_NAMES_free(gns);
	X509_free(x);
	return rc;
}

const char *atd_enrol_role(const struct atd_enrol *e)
{
	if (!e || !e->enabled || !e->running)
		return NULL;
	if (e->joining)
		return "joining";
	if (!e->auth)
		return NULL;
	return authority_can_sign(e->auth) ? "signer" : "member";
}

const char *atd_enrol_code(const struct atd_enrol *e)
{
	return e && e->running && e->joining && e->code[0] ? e->code : NULL;
}
