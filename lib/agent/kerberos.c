/*
 * lib/agent/kerberos.c: realm naming and the text of the local KDC's and
 * the clients' MIT krb5 configuration (see kerberos.h, docs/sso.md).
 */
#include "agent/kerberos.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A growing text buffer; the first error sticks (as lib/wire's cursor). */
struct out {
	char *buf;
	size_t cap, len;
	int err;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->err = -ENOSPC;
		return;
	}
	o->len += (size_t)n;
}

static int done(struct out *o)
{
	return o->err ? o->err : (int)o->len;
}

int agent_krb_realm(char *out, size_t cap, const char *fqdn)
{
	char canon[AGENT_NAME_MAX + 1];
	size_t i, n;

	if (!fqdn || agent_name_canon(canon, sizeof(canon), fqdn) < 0 || !strchr(canon, '.'))
		return -EINVAL;
	n = strlen(canon);
	if (n + 1 > cap)
		return -ENOSPC;
	for (i = 0; i <= n; i++)
		out[i] = (canon[i] >= 'a' && canon[i] <= 'z') ? (char)(canon[i] - 'a' + 'A') : canon[i];
	return 0;
}

int agent_krb_user_check(const char *user)
{
	size_t n = user ? strlen(user) : 0;

	if (n == 0 || n > AGENT_KRB_USER_MAX || user[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = user[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* An account name, the principal's first component: a DNS label (lower case). */
static bool account_ok(const char *a)
{
	size_t n = a ? strlen(a) : 0;

	if (n == 0 || n > AGENT_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
			return false;
	return true;
}

/* A path written bare into a profile: absolute, printable, no space, '#', ';' or quote. */
static bool path_ok(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > 4095)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '#' || *p == ';' || *p == '"' || *p == ',')
			return false;
	return true;
}

/* A realm as agent_krb_realm() writes it. */
static bool realm_ok(const char *r)
{
	char again[AGENT_KRB_REALM_MAX + 1];

	return r && agent_krb_realm(again, sizeof(again), r) == 0 && !strcmp(again, r);
}

/* @p s with every '.' escaped for a POSIX regular expression (names hold only [A-Za-z0-9.-]). */
static void put_regex(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '.')
			put(o, "\\.");
		else
			put(o, "%c", *s);
	}
}

int agent_krb_kdc_conf(char *buf, size_t cap, const struct agent_krb_kdc *k)
{
	struct out o = { buf, cap, 0, 0 };
	char ula[INET6_ADDRSTRLEN];

	if (!k || !realm_ok(k->realm) || !k->ula || (k->ula[0] & 0xfe) != 0xfc || !path_ok(k->dir) ||
	    !path_ok(k->anchor) || !path_ok(k->cert) || !path_ok(k->key) || !cap)
		return -EINVAL;
	inet_ntop(AF_INET6, k->ula, ula, sizeof(ula));
	put(&o, "# written by autotunneld at every start of its KDC (docs/sso.md): do not edit\n");
	/* only the ULA: the KDC is reached through the tunnel, never from the networks the host is on */
	put(&o, "[kdcdefaults]\n\tkdc_listen = [%s]:%d\n\tkdc_tcp_listen = [%s]:%d\n", ula, AGENT_KRB_PORT,
	    ula, AGENT_KRB_PORT);
	put(&o, "[realms]\n\t%s = {\n", k->realm);
	put(&o, "\t\tdatabase_name = %s/principal\n\t\tkey_stash_file = %s/stash\n", k->dir, k->dir);
	put(&o, "\t\tacl_file = %s/kadm5.acl\n", k->dir);
	put(&o, "\t\tmax_life = %s\n\t\tmax_renewable_life = 0\n", AGENT_KRB_LIFETIME);
	/* RFC 4556 §3.2.3: the KDC signs its reply with this certificate's key */
	put(&o, "\t\tpkinit_identity = FILE:%s,%s\n\t\tpkinit_anchors = FILE:%s\n", k->cert, k->key, k->anchor);
	put(&o, "\t}\n");
	/*
	 * The client certificate names ACCOUNT@<D upper>, not ACCOUNT@<this
	 * realm>: pkinit_san would refuse it, so the principal's
	 * pkinit_cert_match (dbmatch) is what authorises it, and pkinit_eku
	 * still refuses a certificate without id-pkinit-KPClientAuth.
	 */
	put(&o, "[plugins]\n\tcertauth = {\n\t\tdisable = pkinit_san\n\t}\n");
	put(&o, "[logging]\n\tkdc = FILE:%s/kdc.log\n", k->dir);
	return done(&o);
}

int agent_krb_cert_match(char *buf, size_t cap, const char *account, const char *domain)
{
	struct out o = { buf, cap, 0, 0 };
	char realm[AGENT_KRB_REALM_MAX + 1];

	if (!account_ok(account) || agent_krb_realm(realm, sizeof(realm), domain) || !cap)
		return -EINVAL;
	put(&o, "<SAN>^");
	put_regex(&o, account);
	put(&o, "@");
	put_regex(&o, realm);
	put(&o, "$");
	return done(&o);
}

static int put_realm(struct out *o, const struct agent_krb_client *c, const struct agent_host_entry *h,
		     bool self)
{
	char realm[AGENT_KRB_REALM_MAX + 1], ula[INET6_ADDRSTRLEN];

	if (agent_krb_realm(realm, sizeof(realm), h->fqdn) || (h->ula[0] & 0xfe) != 0xfc)
		return -EINVAL;
	inet_ntop(AF_INET6, h->ula, ula, sizeof(ula));
	put(o, "\t%s = {\n\t\tkdc = [%s]:%d\n", realm, ula, AGENT_KRB_PORT);
	put(o, "\t\tpkinit_anchors = FILE:%s\n\t\tpkinit_identities = FILE:%s,%s\n", c->anchor, c->cert, c->key);
	/*
	 * The KDC's certificate is host H's own (docs/sso.md §2): RFC 4556
	 * §3.2.4 lets the client accept another name than krbtgt/REALM@REALM
	 * by local policy, here exactly the dNSName H.D, with id-kp-serverAuth
	 * instead of id-pkinit-KPKdc. The anchor issues H.D to host H only.
	 */
	put(o, "\t\tpkinit_kdc_hostname = %s\n\t\tpkinit_eku_checking = kpServerAuth\n", h->fqdn);
	if (self) {
		/* ACCOUNT@REALM, and nothing else, is the one local user: krb5_kuserok() asks this rule */
		put(o, "\t\tauth_to_local = RULE:[1:$1@$0](^");
		put_regex(o, c->account);
		put(o, "@");
		put_regex(o, realm);
		put(o, "$)s/.*/%s/\n", c->user);
	}
	put(o, "\t}\n");
	return 0;
}

static void put_domain_realm(struct out *o, const struct agent_host_entry *h)
{
	char realm[AGENT_KRB_REALM_MAX + 1];

	if (agent_krb_realm(realm, sizeof(realm), h->fqdn))
		return;
	put(o, "\t%s = %s\n\t%s = %s\n", h->fqdn, realm, h->label, realm);
}

/* An entry as the hosts cache holds it: the label is the FQDN's first label. */
static bool entry_ok(const struct agent_host_entry *h)
{
	size_t n = strlen(h->label);

	return n && n <= AGENT_LABEL_MAX && !strncmp(h->fqdn, h->label, n) && h->fqdn[n] == '.';
}

int agent_krb_client_conf(char *buf, size_t cap, const struct agent_krb_client *c)
{
	struct out o = { buf, cap, 0, 0 };
	char realm[AGENT_KRB_REALM_MAX + 1];
	size_t i;

	if (!c || !account_ok(c->account) || agent_krb_realm(realm, sizeof(realm), c->domain) ||
	    !path_ok(c->anchor) || !path_ok(c->cert) || !path_ok(c->key) || (c->npeers && !c->peers) || !cap)
		return -EINVAL;
	if (c->self && (!entry_ok(c->self) || agent_krb_user_check(c->user) || !path_ok(c->keytab)))
		return -EINVAL;
	for (i = 0; i < c->npeers; i++)
		if (!entry_ok(&c->peers[i]))
			return -EINVAL;
	put(&o, "# written by autotunneld (docs/sso.md): the realms of the account %s, one per host\n",
	    c->domain);
	put(&o, "[libdefaults]\n");
	if (c->self && agent_krb_realm(realm, sizeof(realm), c->self->fqdn) == 0)
		put(&o, "\tdefault_realm = %s\n\tdefault_keytab_name = FILE:%s\n", realm, c->keytab);
	/* the account's names are private to it: no DNS for realms or KDCs, the table below says */
	put(&o, "\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n");
	/* `ssh desktop` asks for host/desktop@REALM first, as domain_realm maps it */
	put(&o, "\tdns_canonicalize_hostname = fallback\n\trdns = false\n");
	put(&o, "\tticket_lifetime = %s\n", AGENT_KRB_LIFETIME);
	put(&o, "[realms]\n");
	if (c->self && put_realm(&o, c, c->self, true))
		return -EINVAL;
	for (i = 0; i < c->npeers; i++)
		if (put_realm(&o, c, &c->peers[i], false))
			return -EINVAL;
	put(&o, "[domain_realm]\n");
	if (c->self)
		put_domain_realm(&o, c->self);
	for (i = 0; i < c->npeers; i++)
		put_domain_realm(&o, &c->peers[i]);
	return done(&o);
}
