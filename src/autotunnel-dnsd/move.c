/* Moving an account between primaries: the export file (see move.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "autotunnel-dnsd/move.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/tsigalg.h"
#include "dns/keys.h"
#include "util/encode.h"

#define MAGIC "autotunnel-dnsd-account 1"
#define LINE_MAX_LEN (200 + 2 * 255 + 2 * 65535)

struct exp {
	FILE *out;
	const char *name;
	int n;
	char *hex;	/* 2 * 65535 + 1 */
};

static int export_rr(void *arg, const struct store_rr *rr)
{
	struct exp *x = arg;
	char owner[2 * 255 + 1];

	if (!rr->account || strcmp(rr->account, x->name) != 0)
		return 0;
	if (hex_encode(owner, sizeof(owner), rr->name, rr->name_len) < 0 ||
	    hex_encode(x->hex, 2 * 65535 + 1, rr->rdata, rr->rdlen) < 0)
		return -EINVAL;
	if (fprintf(x->out, "rr %s %u %u %u %" PRId64 " %s\n", owner, rr->type, rr->rclass, rr->ttl,
		    rr->expires_ms, rr->rdlen ? x->hex : "-") < 0)
		return -EIO;
	x->n++;
	return 0;
}

int move_export(struct store *st, const char *name, FILE *out)
{
	struct store_account a;
	struct exp x = { .out = out, .name = name };
	char key[2 * STORE_KEY_MAX + 4];
	int rc = store_account_get(st, name, &a);

	if (rc)
		return rc;
	x.hex = malloc(2 * 65535 + 1);
	if (!x.hex || b64_encode(key, sizeof(key), a.key, a.key_len) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	/* the kdf text has spaces: it ends the line */
	if (fprintf(out, "%s\naccount %s %s %s %" PRId64 " %s\n", MAGIC, a.name, a.alg, key, a.created,
		    a.kdf[0] ? a.kdf : "-") < 0) {
		rc = -EIO;
		goto out;
	}
	rc = store_rr_foreach(st, export_rr, &x);
	if (rc == 0 && fprintf(out, "end %d\n", x.n) < 0)
		rc = -EIO;
	if (rc == 0 && fflush(out))
		rc = -EIO;
	if (rc == 0)
		rc = x.n;
out:
	free(x.hex);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

/* One line without its newline into @p buf; -1 at the end, -2 when too long. */
static int get_line(FILE *in, char *buf, size_t cap)
{
	size_t n;

	if (!fgets(buf, (int)cap, in))
		return -1;
	n = strlen(buf);
	if (n == 0 || buf[n - 1] != '\n')
		return -2;	/* a line is always whole, the last one too */
	buf[n - 1] = '\0';
	return 0;
}

static int parse_account(char *line, struct store_account *a)
{
	char *save = NULL, *tok[4], *kdf;
	struct dns_kdf k;
	int klen;

	if (strncmp(line, "account ", 8) != 0)
		return -EBADMSG;
	line += 8;
	for (int i = 0; i < 4; i++)
		if (!(tok[i] = strtok_r(i ? NULL : line, " ", &save)))
			return -EBADMSG;
	kdf = strtok_r(NULL, "", &save);	/* the rest of the line: the parameters have spaces */
	memset(a, 0, sizeof(*a));
	if (strlen(tok[0]) > STORE_ACCOUNT_NAME_MAX || tsigalg_from_text(tok[1]) == 0 || !kdf)
		return -EBADMSG;
	strcpy(a->name, tok[0]);
	snprintf(a->alg, sizeof(a->alg), "%s", tsigalg_name(tsigalg_from_text(tok[1])));
	klen = b64_decode(a->key, sizeof(a->key), tok[2]);
	if (klen <= 0)
		return -EBADMSG;
	a->key_len = (size_t)klen;
	a->created = strtoll(tok[3], NULL, 10);
	if (strcmp(kdf, "-") == 0)
		return 0;	/* legacy parameters */
	if (snprintf(a->kdf, sizeof(a->kdf), "%s", kdf) >= (int)sizeof(a->kdf) ||
	    dns_kdf_parse(&k, a->kdf, strlen(a->kdf)))
		return -EBADMSG;
	return 0;
}

int move_import(struct store *st, FILE *in, long long now_ms, char name[static 64], char *err, size_t errlen)
{
	char *line = malloc(LINE_MAX_LEN), *owner_hex, *rd_hex, *save;
	uint8_t owner[255], *rdata = malloc(65535);
	struct store_account a, have;
	int rc, lineno = 1, n = 0, added = 0, owner_len, rdlen;
	unsigned long long type, rclass, ttl;
	long long expires;

	memset(&a, 0, sizeof(a));
	if (!line || !rdata) {
		rc = -ENOMEM;
		goto out;
	}
	rc = -EBADMSG;
	if (get_line(in, line, LINE_MAX_LEN) || strcmp(line, MAGIC) != 0) {
		snprintf(err, errlen, "line 1: not an account export (no '%s')", MAGIC);
		goto out;
	}
	lineno++;
	if (get_line(in, line, LINE_MAX_LEN) || parse_account(line, &a)) {
		snprintf(err, errlen, "line 2: not a valid account line");
		goto out;
	}
	snprintf(name, 64, "%s", a.name);
	rc = store_account_get(st, a.name, &have);
	OPENSSL_cleanse(&have, sizeof(have));
	if (rc == 0) {
		snprintf(err, errlen, "account %s exists here already", a.name);
		rc = -EEXIST;
		goto out;
	}
	if (rc != -ENOENT || store_account_put(st, &a)) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		rc = -EIO;
		goto out;
	}
	for (;;) {
		struct store_rr rr = { 0 };
		int64_t id;

		lineno++;
		rc = -EBADMSG;
		if (get_line(in, line, LINE_MAX_LEN)) {
			snprintf(err, errlen, "line %d: the file ends before its 'end' line", lineno);
			goto out;
		}
		if (strncmp(line, "end ", 4) == 0) {
			if (strtol(line + 4, NULL, 10) != n) {
				snprintf(err, errlen, "line %d: %d records read, the file says %s", lineno, n, line + 4);
				goto out;
			}
			break;
		}
		save = NULL;
		if (strncmp(line, "rr ", 3) != 0 || !(owner_hex = strtok_r(line + 3, " ", &save)) ||
		    sscanf(save, "%llu %llu %llu %lld", &type, &rclass, &ttl, &expires) != 4 ||
		    !(rd_hex = strrchr(save, ' ')) || type > 65535 || rclass > 65535 || ttl > 0xffffffffULL) {
			snprintf(err, errlen, "line %d: not a valid record line", lineno);
			goto out;
		}
		rd_hex++;
		owner_len = hex_decode(owner, sizeof(owner), owner_hex);
		rdlen = strcmp(rd_hex, "-") == 0 ? 0 : hex_decode(rdata, 65535, rd_hex);
		if (owner_len <= 0 || rdlen < 0) {
			snprintf(err, errlen, "line %d: not a valid record line", lineno);
			goto out;
		}
		n++;
		if (expires != 0 && expires <= now_ms)
			continue;	/* its lease ended on the way */
		rr.name = owner;
		rr.name_len = (uint8_t)owner_len;
		rr.type = (uint16_t)type;
		rr.rclass = (uint16_t)rclass;
		rr.ttl = (uint32_t)ttl;
		rr.rdata = rdata;
		rr.rdlen = (uint16_t)rdlen;
		rr.expires_ms = expires;
		rr.account = a.name;
		if (store_rr_insert(st, &rr, &id)) {
			snprintf(err, errlen, "%s", store_errmsg(st));
			rc = -EIO;
			goto out;
		}
		added++;
	}
	rc = added;
out:
	OPENSSL_cleanse(&a, sizeof(a));
	free(line);
	free(rdata);
	return rc;
}
