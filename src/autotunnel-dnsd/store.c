#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "autotunnel-dnsd/store.h"

enum {
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
	Q_SERIAL_GET, Q_SERIAL_SET,
	Q_ACC_PUT, Q_ACC_GET, Q_ACC_DEL, Q_ACC_DEL_RR, Q_ACC_LIST,
	Q_RR_INSERT, Q_RR_UPDATE, Q_RR_DELETE, Q_RR_LIST,
	Q_PEND_PUT, Q_PEND_DONE, Q_PEND_FAIL, Q_PEND_LIST,
	Q_MOVED_PUT, Q_MOVED_DEL, Q_MOVED_LIST,
	Q_COUNT
};

static const char *const sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT u",
	[Q_RELEASE] = "RELEASE u",
	[Q_ROLLBACK_TO] = "ROLLBACK TO u",
	[Q_SERIAL_GET] = "SELECT value FROM meta WHERE key = 'serial'",
	[Q_SERIAL_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES ('serial', ?1)",
	[Q_ACC_PUT] = "INSERT OR REPLACE INTO accounts(name, alg, key, created, kdf) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_ACC_GET] = "SELECT name, alg, key, created, kdf FROM accounts WHERE name = ?1",
	[Q_ACC_DEL] = "DELETE FROM accounts WHERE name = ?1",
	[Q_ACC_DEL_RR] = "DELETE FROM records WHERE account = ?1",
	[Q_ACC_LIST] = "SELECT name, alg, key, created, kdf FROM accounts ORDER BY name",
	[Q_RR_INSERT] = "INSERT INTO records(name, type, class, ttl, rdata, expires, account) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_RR_UPDATE] = "UPDATE records SET ttl = ?2, rdata = ?3, expires = ?4 WHERE id = ?1",
	[Q_RR_DELETE] = "DELETE FROM records WHERE id = ?1",
	[Q_RR_LIST] = "SELECT id, name, type, class, ttl, rdata, expires, account FROM records ORDER BY id",
	[Q_PEND_PUT] = "INSERT OR REPLACE INTO parent_pending(account, op, since, tries, error) "
		       "VALUES (?1, ?2, ?3, 0, NULL)",
	[Q_PEND_DONE] = "DELETE FROM parent_pending WHERE account = ?1 AND op = ?2",
	[Q_PEND_FAIL] = "UPDATE parent_pending SET tries = tries + 1, error = ?3 WHERE account = ?1 AND op = ?2",
	[Q_PEND_LIST] = "SELECT account, op, tries, error FROM parent_pending ORDER BY since, account",
	[Q_MOVED_PUT] = "INSERT OR REPLACE INTO moved(account, target, addrs, at) VALUES (?1, ?2, ?3, ?4)",
	[Q_MOVED_DEL] = "DELETE FROM moved WHERE account = ?1",
	[Q_MOVED_LIST] = "SELECT account, target, addrs FROM moved ORDER BY account",
};

/*
 * Version 2 added accounts.kdf, the text of the account's key derivation
 * parameters (lib/dns/keys.h); NULL in rows of version 1, which were all
 * derived with the legacy parameters. migrate() brings a version 1 database
 * up to date when it is opened.
 */
#define SCHEMA_VERSION 2

static const char schema[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS accounts ("
	" name TEXT PRIMARY KEY, alg TEXT NOT NULL, key BLOB NOT NULL, created INTEGER NOT NULL,"
	" kdf TEXT);"
	"CREATE TABLE IF NOT EXISTS records ("
	" id INTEGER PRIMARY KEY, name BLOB NOT NULL, type INTEGER NOT NULL, class INTEGER NOT NULL,"
	" ttl INTEGER NOT NULL, rdata BLOB NOT NULL, expires INTEGER NOT NULL, account TEXT);"
	"CREATE INDEX IF NOT EXISTS records_account ON records(account);"
	/* delegation in the parent zone (parent.h): changes not yet accepted
	 * there, and accounts moved to another primary (referrals). Tables a
	 * version 2 database gains when opened, without a version change: an
	 * older server ignores them. */
	"CREATE TABLE IF NOT EXISTS parent_pending ("
	" account TEXT PRIMARY KEY, op TEXT NOT NULL, since INTEGER NOT NULL,"
	" tries INTEGER NOT NULL, error TEXT);"
	"CREATE TABLE IF NOT EXISTS moved ("
	" account TEXT PRIMARY KEY, target TEXT NOT NULL, addrs TEXT NOT NULL, at INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta(key, value) VALUES ('version', 2);";

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
};

static int fail(struct store *st, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, st->db ? sqlite3_errmsg(st->db) : "out of memory");
	return -EIO;
}

/* Bring a database of an older schema version up to SCHEMA_VERSION, inside
 * the transaction the schema script opened. */
static int migrate(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int version = 0, has_kdf = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'version'", -1, &q, NULL) !=
	    SQLITE_OK)
		return -EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version >= SCHEMA_VERSION)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'kdf'",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		has_kdf = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	/* version 1 -> 2: the rows keep kdf NULL, which means the legacy parameters */
	if (!has_kdf && sqlite3_exec(st->db, "ALTER TABLE accounts ADD COLUMN kdf TEXT", NULL, NULL, NULL) !=
				SQLITE_OK)
		return -EIO;
	if (sqlite3_exec(st->db, "UPDATE meta SET value = 2 WHERE key = 'version'", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -EIO;
	return 0;
}

/*
 * The database holds every account's TSIG key: create it 0600 whatever the
 * umask, and take group and other access away from one made before. SQLite
 * creates the -wal and -shm files with the database's mode (os_unix.c
 * findCreateFileMode), so they follow; older ones are tightened here too.
 *
 * Only ever open() a file that did not exist: closing any descriptor of the
 * database drops every POSIX lock this process holds on it (fcntl(2)), and
 * the server opens the store more than once.
 */
/*
 * Why @p path cannot be created (@p e from open()): for ENOTDIR and ENOENT,
 * name the first directory of the path that is a file or does not exist,
 * which strerror() alone leaves to the reader.
 */
static void explain_path(const char *path, int e, char *err, size_t errlen)
{
	char dir[4096];
	struct stat sb;

	if ((e == ENOTDIR || e == ENOENT) && strlen(path) < sizeof(dir)) {
		strcpy(dir, path);
		for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
			*p = '\0';
			if (stat(dir, &sb) < 0) {
				snprintf(err, errlen, "%s: the directory %s does not exist", path, dir);
				return;
			}
			if (!S_ISDIR(sb.st_mode)) {
				snprintf(err, errlen, "%s: %s is not a directory", path, dir);
				return;
			}
			*p = '/';
		}
	}
	snprintf(err, errlen, "%s: %s", path, strerror(e));
}

static int private_files(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char name[4096];
	struct stat sb;
	int fd, e;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd >= 0) {
		close(fd);
	} else if (errno != EEXIST) {
		e = errno;
		explain_path(path, e, err, errlen);
		return -e;
	}
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix[i]) >= sizeof(name)) {
			snprintf(err, errlen, "%s: name too long", path);
			return -ENAMETOOLONG;
		}
		if (stat(name, &sb) == 0 && (sb.st_mode & 077) && chmod(name, sb.st_mode & 0700) < 0) {
			e = errno;
			snprintf(err, errlen, "%s: %s", name, strerror(e));
			return -e;
		}
	}
	return 0;
}

int store_open(struct store **out, const char *path, bool sync_full, char *err, size_t errlen)
{
	struct store *st;
	char *msg = NULL;
	int rc;

	rc = private_files(path, err, errlen);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
		store_close(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 10000);
	/* WAL: readers never block the writer, and a commit is one append (and
	 * one fsync with synchronous=FULL) to the log. */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			 NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, "PRAGMA journal_size_limit=67108864", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK || migrate(st) ||
	    sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		store_close(st);
		return -EIO;
	}
	for (int i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) !=
		    SQLITE_OK) {
			rc = fail(st, err, errlen, path);
			store_close(st);
			return rc;
		}
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	sqlite3_close(st->db);
	free(st);
}

const char *store_errmsg(const struct store *st)
{
	return sqlite3_errmsg(st->db);
}

/* Run a statement that returns no rows, then reset it. */
static int run(struct store *st, int q)
{
	int rc = sqlite3_step(st->q[q]);

	sqlite3_reset(st->q[q]);
	sqlite3_clear_bindings(st->q[q]);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/*
 * Step query @p q (its parameters bound), handing each row to @p row until
 * one returns non-zero, then reset it: what @p row returned, else 0 when the
 * rows ran out or -EIO when the step failed. The row's columns are valid
 * only during the call.
 */
static int each_row(struct store *st, int q, int (*row)(sqlite3_stmt *s, void *ctx), void *ctx)
{
	sqlite3_stmt *s = st->q[q];
	int step, rc = 0;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		rc = row(s, ctx);
		if (rc)
			break;
	}
	sqlite3_reset(s);
	if (rc)
		return rc;
	return step == SQLITE_DONE ? 0 : -EIO;
}

int store_begin(struct store *st) { return run(st, Q_BEGIN); }
int store_commit(struct store *st) { return run(st, Q_COMMIT); }

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)run(st, Q_ROLLBACK);
}

int store_autocheckpoint(struct store *st, bool on)
{
	return sqlite3_wal_autocheckpoint(st->db, on ? 1000 : 0) == SQLITE_OK ? 0 : -EIO;
}

int store_checkpoint(struct store *st)
{
	int log = 0, done = 0;

	/* PASSIVE: copy what no reader needs, never wait for the writer */
	if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) != SQLITE_OK)
		return -EIO;
	/* a writer that never pauses would let the log grow without end:
	 * past 16384 frames, make it start over (it waits for this once) */
	if (log > 16384 && sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done) !=
				   SQLITE_OK)
		return -EIO;
	return 0;
}

int store_savepoint(struct store *st) { return run(st, Q_SAVEPOINT); }
int store_release(struct store *st) { return run(st, Q_RELEASE); }

void store_rollback_savepoint(struct store *st)
{
	(void)run(st, Q_ROLLBACK_TO);
	(void)run(st, Q_RELEASE);
}

int store_serial_get(struct store *st, uint32_t initial, uint32_t *serial)
{
	sqlite3_stmt *s = st->q[Q_SERIAL_GET];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		*serial = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -EIO;
	*serial = initial;
	return store_serial_set(st, initial);
}

int store_serial_set(struct store *st, uint32_t serial)
{
	sqlite3_bind_int64(st->q[Q_SERIAL_SET], 1, serial);
	return run(st, Q_SERIAL_SET);
}

int store_account_put(struct store *st, const struct store_account *a)
{
	sqlite3_stmt *s = st->q[Q_ACC_PUT];

	sqlite3_bind_text(s, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->alg, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, a->key, (int)a->key_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, a->created);
	/* no parameters: the legacy derivation (NULL, as in rows of schema version 1) */
	if (a->kdf[0])
		sqlite3_bind_text(s, 5, a->kdf, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	return run(st, Q_ACC_PUT);
}

static int read_account(sqlite3_stmt *s, struct store_account *a)
{
	const unsigned char *name = sqlite3_column_text(s, 0), *alg = sqlite3_column_text(s, 1);
	const unsigned char *kdf = sqlite3_column_text(s, 4);
	const void *key = sqlite3_column_blob(s, 2);
	int klen = sqlite3_column_bytes(s, 2);

	memset(a, 0, sizeof(*a));
	if (!name || !alg || klen <= 0 || klen > STORE_KEY_MAX ||
	    strlen((const char *)name) > STORE_ACCOUNT_NAME_MAX || strlen((const char *)alg) >= sizeof(a->alg) ||
	    (kdf && strlen((const char *)kdf) >= sizeof(a->kdf)))
		return -EBADMSG;
	strcpy(a->name, (const char *)name);
	strcpy(a->alg, (const char *)alg);
	if (kdf)
		strcpy(a->kdf, (const char *)kdf);
	memcpy(a->key, key, (size_t)klen);
	a->key_len = (size_t)klen;
	a->created = sqlite3_column_int64(s, 3);
	return 0;
}

int store_account_get(struct store *st, const char *name, struct store_account *out)
{
	sqlite3_stmt *s = st->q[Q_ACC_GET];
	int rc;

	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = read_account(s, out);
	else
		rc = rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int store_account_del(struct store *st, const char *name)
{
	int rc;

	if (store_begin(st))
		return -EIO;
	sqlite3_bind_text(st->q[Q_ACC_DEL], 1, name, -1, SQLITE_STATIC);
	rc = run(st, Q_ACC_DEL);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = -ENOENT;
	if (rc == 0) {
		sqlite3_bind_text(st->q[Q_ACC_DEL_RR], 1, name, -1, SQLITE_STATIC);
		rc = run(st, Q_ACC_DEL_RR);
	}
	if (rc == 0)
		rc = store_commit(st);
	if (rc)
		store_rollback(st);
	return rc;
}

struct account_walk {
	int (*fn)(void *arg, const struct store_account *a);
	void *arg;
};

static int account_row(sqlite3_stmt *s, void *ctx)
{
	const struct account_walk *w = ctx;
	struct store_account a;
	int rc = read_account(s, &a);

	if (rc == 0)
		rc = w->fn(w->arg, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

int store_account_foreach(struct store *st, int (*fn)(void *arg, const struct store_account *a),
			  void *arg)
{
	struct account_walk w = { fn, arg };

	return each_row(st, Q_ACC_LIST, account_row, &w);
}

int store_rr_insert(struct store *st, const struct store_rr *rr, int64_t *id)
{
	sqlite3_stmt *s = st->q[Q_RR_INSERT];
	int rc;

	sqlite3_bind_blob(s, 1, rr->name, rr->name_len, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, rr->type);
	sqlite3_bind_int(s, 3, rr->rclass);
	sqlite3_bind_int64(s, 4, rr->ttl);
	/* an empty blob must not become NULL */
	sqlite3_bind_blob(s, 5, rr->rdlen ? (const void *)rr->rdata : "", rr->rdlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, rr->expires_ms);
	if (rr->account)
		sqlite3_bind_text(s, 7, rr->account, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	rc = run(st, Q_RR_INSERT);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_rr_update(struct store *st, int64_t id, uint32_t ttl, const uint8_t *rdata,
		    uint16_t rdlen, int64_t expires_ms)
{
	sqlite3_stmt *s = st->q[Q_RR_UPDATE];

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, ttl);
	sqlite3_bind_blob(s, 3, rdlen ? (const void *)rdata : "", rdlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, expires_ms);
	return run(st, Q_RR_UPDATE);
}

int store_rr_delete(struct store *st, int64_t id)
{
	sqlite3_bind_int64(st->q[Q_RR_DELETE], 1, id);
	return run(st, Q_RR_DELETE);
}

struct rr_walk {
	int (*fn)(void *arg, const struct store_rr *rr);
	void *arg;
};

static int rr_row(sqlite3_stmt *s, void *ctx)
{
	const struct rr_walk *w = ctx;
	struct store_rr rr = {
		.id = sqlite3_column_int64(s, 0),
		.name = sqlite3_column_blob(s, 1),
		.name_len = (uint8_t)sqlite3_column_bytes(s, 1),
		.type = (uint16_t)sqlite3_column_int(s, 2),
		.rclass = (uint16_t)sqlite3_column_int(s, 3),
		.ttl = (uint32_t)sqlite3_column_int64(s, 4),
		.rdata = sqlite3_column_blob(s, 5),
		.rdlen = (uint16_t)sqlite3_column_bytes(s, 5),
		.expires_ms = sqlite3_column_int64(s, 6),
		.account = (const char *)sqlite3_column_text(s, 7),
	};

	if (sqlite3_column_bytes(s, 1) < 1 || sqlite3_column_bytes(s, 1) > 255 || sqlite3_column_bytes(s, 5) > 65535)
		return -EBADMSG;
	return w->fn(w->arg, &rr);
}

int store_rr_foreach(struct store *st, int (*fn)(void *arg, const struct store_rr *rr), void *arg)
{
	struct rr_walk w = { fn, arg };

	return each_row(st, Q_RR_LIST, rr_row, &w);
}

int store_pending_put(struct store *st, const char *account, const char *op, int64_t since)
{
	sqlite3_stmt *s = st->q[Q_PEND_PUT];

	sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, since);
	return run(st, Q_PEND_PUT);
}

int store_pending_done(struct store *st, const char *account, const char *op)
{
	sqlite3_bind_text(st->q[Q_PEND_DONE], 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->q[Q_PEND_DONE], 2, op, -1, SQLITE_STATIC);
	return run(st, Q_PEND_DONE);
}

int store_pending_failed(struct store *st, const char *account, const char *op, const char *why)
{
	sqlite3_bind_text(st->q[Q_PEND_FAIL], 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->q[Q_PEND_FAIL], 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->q[Q_PEND_FAIL], 3, why, -1, SQLITE_STATIC);
	return run(st, Q_PEND_FAIL);
}

int store_pending_list(struct store *st, struct store_pending *out, size_t max, size_t *n)
{
	sqlite3_stmt *s = st->q[Q_PEND_LIST];
	int step;

	*n = 0;
	while (*n < max && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(s, 0), *op = sqlite3_column_text(s, 1);
		const unsigned char *why = sqlite3_column_text(s, 3);
		struct store_pending *p = &out[*n];

		if (!name || !op || strlen((const char *)name) > STORE_ACCOUNT_NAME_MAX)
			continue;
		memset(p, 0, sizeof(*p));
		strcpy(p->account, (const char *)name);
		snprintf(p->op, sizeof(p->op), "%s", (const char *)op);
		p->tries = sqlite3_column_int(s, 2);
		snprintf(p->error, sizeof(p->error), "%s", why ? (const char *)why : "");
		(*n)++;
	}
	sqlite3_reset(s);
	return 0;
}

int store_moved_put(struct store *st, const char *account, const char *target, const char *addrs, int64_t at)
{
	sqlite3_stmt *s = st->q[Q_MOVED_PUT];

	sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, addrs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, at);
	return run(st, Q_MOVED_PUT);
}

int store_moved_del(struct store *st, const char *account)
{
	sqlite3_bind_text(st->q[Q_MOVED_DEL], 1, account, -1, SQLITE_STATIC);
	return run(st, Q_MOVED_DEL);
}

struct moved_walk {
	int (*fn)(void *arg, const char *account, const char *target, const char *addrs);
	void *arg;
};

static int moved_row(sqlite3_stmt *s, void *ctx)
{
	const struct moved_walk *w = ctx;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	const char *target = (const char *)sqlite3_column_text(s, 1);
	const char *addrs = (const char *)sqlite3_column_text(s, 2);

	if (!name || !target || !addrs)
		return 0;
	return w->fn(w->arg, name, target, addrs);
}

int store_moved_foreach(struct store *st,
			int (*fn)(void *arg, const char *account, const char *target, const char *addrs),
			void *arg)
{
	struct moved_walk w = { fn, arg };

	return each_row(st, Q_MOVED_LIST, moved_row, &w);
}

int store_account_del_in(struct store *st, const char *name)
{
	int rc;

	sqlite3_bind_text(st->q[Q_ACC_DEL], 1, name, -1, SQLITE_STATIC);
	rc = run(st, Q_ACC_DEL);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return -ENOENT;
	if (rc == 0) {
		sqlite3_bind_text(st->q[Q_ACC_DEL_RR], 1, name, -1, SQLITE_STATIC);
		rc = run(st, Q_ACC_DEL_RR);
	}
	return rc;
}
