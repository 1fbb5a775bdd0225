#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/tsigalg.h"
#include "autotunnel-dnsd/zone.h"

#define BUCKETS 1024

struct accounts {
	struct dns_name apex;	/* lower case */
	struct account *tab[BUCKETS];
	size_t count;
	uint32_t next_id;
	struct account **by_id;	/* dense: index id - 1 */
	size_t by_id_len;
	struct account_moved *moved;	/* accounts moved to another primary: a list (moves are few) */
	size_t n_moved;
};

static uint32_t label_hash(const uint8_t *l, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = l[i] >= 'A' && l[i] <= 'Z' ? (uint8_t)(l[i] + 32) : l[i];

		h = (h ^ c) * 16777619u;
	}
	return h;
}

struct accounts *accounts_new(const struct dns_name *apex)
{
	struct accounts *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->apex = *apex;
	zone_name_lower(a->apex.wire, apex->wire, apex->len);
	a->next_id = 1;
	return a;
}

void accounts_free(struct accounts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct account *x, *next;

		for (x = a->tab[i]; x; x = next) {
			next = x->next;
			if (x->mac_ctx && x->mac_free)
				x->mac_free(x->mac_ctx);
			OPENSSL_cleanse(x, sizeof(*x));
			free(x);
		}
	}
	free(a->by_id);
	while (a->moved) {
		struct account_moved *m = a->moved;

		a->moved = m->next;
		free(m);
	}
	free(a);
}

const struct account *accounts_by_label(const struct accounts *a, const uint8_t *label, size_t len)
{
	uint32_t h = label_hash(label, len);

	for (const struct account *x = a->tab[h % BUCKETS]; x; x = x->next) {
		if (x->label_len != len)
			continue;
		size_t i;

		for (i = 0; i < len; i++) {
			uint8_t c = label[i] >= 'A' && label[i] <= 'Z' ? (uint8_t)(label[i] + 32) : label[i];

			if (c != (uint8_t)x->label[i])
				break;
		}
		if (i == len)
			return x;
	}
	return NULL;
}

int accounts_label_offset(const struct accounts *a, const uint8_t *lname, size_t len)
{
	size_t off = 0, prev = 0;

	if (len <= a->apex.len)
		return -1;
	while (off < len && len - off > a->apex.len) {
		prev = off;
		off += 1u + lname[off];
	}
	if (len - off != a->apex.len || memcmp(lname + off, a->apex.wire, a->apex.len) != 0)
		return -1;
	return (int)prev;
}

const struct account *accounts_owner(const struct accounts *a, const uint8_t *lname, size_t len)
{
	int off = accounts_label_offset(a, lname, len);

	if (off < 0)
		return NULL;
	return accounts_by_label(a, lname + off + 1, lname[off]);
}

bool accounts_is_kdf_name(const struct accounts *a, const uint8_t *lname, size_t len)
{
	static const size_t kl = sizeof(ACCOUNTS_KDF_LABEL) - 1;

	/* _kdf, then exactly one label, then the apex */
	return len > 1 + kl && lname[0] == kl && memcmp(lname + 1, ACCOUNTS_KDF_LABEL, kl) == 0 &&
	       accounts_label_offset(a, lname + 1 + kl, len - 1 - kl) == 0;
}

int accounts_kdf_rdata(const struct accounts *a, const uint8_t *lname, size_t len, uint8_t *out,
		       size_t cap)
{
	static const size_t kl = sizeof(ACCOUNTS_KDF_LABEL) - 1;
	const struct account *x;
	int n;

	if (!accounts_is_kdf_name(a, lname, len))
		return -ENOENT;
	x = accounts_by_label(a, lname + 2 + kl, lname[1 + kl]);
	if (!x)
		return -ENOENT;
	n = dns_kdf_txt_write(&x->kdf, out, cap);
	return n == -EINVAL ? -ENOENT : n;
}

const struct account *accounts_by_keyname(const struct accounts *a, const struct dns_name *n)
{
	uint8_t l[DNS_NAME_MAX];
	const struct account *x;

	zone_name_lower(l, n->wire, n->len);
	if (accounts_label_offset(a, l, n->len) != 0)
		return NULL;	/* a key is named exactly D */
	x = accounts_by_label(a, l + 1, l[0]);
	return x;
}

const struct account *accounts_by_id(const struct accounts *a, uint32_t id)
{
	return id && id <= a->by_id_len ? a->by_id[id - 1] : NULL;
}

size_t accounts_count(const struct accounts *a)
{
	return a->count;
}

struct load {
	struct accounts *new;
	const struct accounts *old;
	char *err;
	size_t errlen;
};

static int add_one(void *arg, const struct store_account *sa)
{
	struct load *l = arg;
	struct accounts *a = l->new;
	const struct account *prev;
	struct account *x;
	size_t len = strlen(sa->name);
	enum dns_tsig_alg alg = tsigalg_from_text(sa->alg);
	uint32_t h;

	if (len == 0 || len > 63 || alg == 0 || sa->key_len > DNS_TSIG_SECRET_MAX ||
	    1 + len + a->apex.len > DNS_NAME_MAX) {
		snprintf(l->err, l->errlen, "account '%s' in the database is invalid", sa->name);
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(l->err, l->errlen, "out of memory");
		return -ENOMEM;
	}
	x->label_len = (uint8_t)len;
	memcpy(x->label, sa->name, len);
	for (size_t i = 0; i < len; i++)
		if (x->label[i] >= 'A' && x->label[i] <= 'Z')
			x->label[i] = (char)(x->label[i] + 32);
	/* the key is named D */
	x->key.name.wire[0] = (uint8_t)len;
	memcpy(x->key.name.wire + 1, x->label, len);
	memcpy(x->key.name.wire + 1 + len, a->apex.wire, a->apex.len);
	x->key.name.len = (uint8_t)(1 + len + a->apex.len);
	x->key.name.labels = (uint8_t)(a->apex.labels + 1);
	x->key.alg = alg;
	x->key.secret_len = (uint16_t)sa->key_len;
	memcpy(x->key.secret, sa->key, sa->key_len);
	/* no parameters stored: the account predates them (legacy derivation) */
	if (sa->kdf[0] == '\0') {
		dns_kdf_legacy(&x->kdf);
	} else if (dns_kdf_parse(&x->kdf, sa->kdf, strlen(sa->kdf))) {
		snprintf(l->err, l->errlen, "account '%s' in the database has invalid key parameters",
			 sa->name);
		OPENSSL_cleanse(x, sizeof(*x));
		free(x);
		return -EINVAL;
	}

	prev = l->old ? accounts_by_label(l->old, (const uint8_t *)x->label, len) : NULL;
	x->id = prev ? prev->id : a->next_id;
	if (x->id >= a->next_id)
		a->next_id = x->id + 1;
	h = label_hash((const uint8_t *)x->label, len);
	x->next = a->tab[h % BUCKETS];
	a->tab[h % BUCKETS] = x;
	a->count++;
	return 0;
}

static int add_moved(void *arg, const char *name, const char *target, const char *addrs)
{
	struct load *l = arg;
	struct accounts *a = l->new;
	struct account_moved *m;
	char buf[1024], *save = NULL, *tok;
	size_t len = strlen(name);

	if (len == 0 || len > 63 || 1 + len + a->apex.len > DNS_NAME_MAX)
		return 0;	/* not a name of ours: nothing to refer */
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(l->err, l->errlen, "out of memory");
		return -ENOMEM;
	}
	m->label_len = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		m->label[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	m->domain.wire[0] = (uint8_t)len;
	memcpy(m->domain.wire + 1, m->label, len);
	memcpy(m->domain.wire + 1 + len, a->apex.wire, a->apex.len);
	m->domain.len = (uint8_t)(1 + len + a->apex.len);
	m->domain.labels = (uint8_t)(a->apex.labels + 1);
	if (dns_name_from_text(&m->target, target)) {
		free(m);
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", addrs);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (m->n_v4 < ACCOUNTS_MOVED_ADDRS && inet_pton(AF_INET, tok, m->v4[m->n_v4]) == 1)
			m->n_v4++;
		else if (m->n_v6 < ACCOUNTS_MOVED_ADDRS && inet_pton(AF_INET6, tok, m->v6[m->n_v6]) == 1)
			m->n_v6++;
	}
	m->next = a->moved;
	a->moved = m;
	a->n_moved++;
	return 0;
}

const struct account_moved *accounts_moved(const struct accounts *a, const uint8_t *lname, size_t len)
{
	int off = accounts_label_offset(a, lname, len);

	if (off < 0 || !a->moved)
		return NULL;
	return accounts_moved_by_label(a, lname + off + 1, lname[off]);
}

const struct account_moved *accounts_moved_by_label(const struct accounts *a, const uint8_t *label, size_t len)
{
	for (const struct account_moved *m = a->moved; m; m = m->next) {
		size_t i;

		if (m->label_len != len)
			continue;
		for (i = 0; i < len; i++) {
			uint8_t c = label[i] >= 'A' && label[i] <= 'Z' ? (uint8_t)(label[i] + 32) : label[i];

			if (c != (uint8_t)m->label[i])
				break;
		}
		if (i == len)
			return m;
	}
	return NULL;
}

size_t accounts_moved_count(const struct accounts *a)
{
	return a->n_moved;
}

struct accounts *accounts_load(const struct dns_name *apex, const struct accounts *old,
				struct store *st, char *err, size_t errlen)
{
	struct load l = { .old = old, .err = err, .errlen = errlen };
	int rc;

	l.new = accounts_new(apex);
	if (!l.new) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (old)
		l.new->next_id = old->next_id;
	rc = store_account_foreach(st, add_one, &l);
	if (rc == 0)
		rc = store_moved_foreach(st, add_moved, &l);
	if (rc == 0) {
		/* the dense id index */
		l.new->by_id_len = l.new->next_id - 1;
		l.new->by_id = calloc(l.new->by_id_len + 1, sizeof(*l.new->by_id));
		if (!l.new->by_id) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
		}
	} else if (rc == -EIO) {
		snprintf(err, errlen, "reading accounts: %s", store_errmsg(st));
	}
	if (rc) {
		accounts_free(l.new);
		return NULL;
	}
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct account *x = l.new->tab[i]; x; x = x->next)
			l.new->by_id[x->id - 1] = x;
	return l.new;
}
