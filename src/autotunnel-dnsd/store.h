/*
 * The durable store of autotunnel-dnsd: one SQLite database in WAL mode.
 *
 *   meta(key, value)         zone serial, schema version
 *   accounts(name, alg, key, created, kdf)
 *   records(id, name, type, class, ttl, rdata, expires, account)
 *   parent_pending(account, op, since, tries, error)   delegation changes to send
 *   moved(account, target, addrs, at)                   accounts now on another primary
 *
 * Names are stored in lower-case uncompressed wire form, rdata in
 * uncompressed wire form. A record's lease is its absolute expiry on the
 * wall clock in milliseconds (0: no lease), so leases keep running while
 * the server is down.
 *
 * A struct store is one connection, used by one thread at a time. Writes
 * happen inside store_begin() .. store_commit(); the server commits a whole
 * batch of updates at once (group commit) before it answers any of them.
 */
#ifndef DNSD_STORE_H
#define DNSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_ACCOUNT_NAME_MAX 63
#define STORE_KEY_MAX 64
#define STORE_KDF_MAX 191

struct store_account {
	char name[STORE_ACCOUNT_NAME_MAX + 1];
	char alg[32];		/* "hmac-sha256", "hmac-md5", ... */
	uint8_t key[STORE_KEY_MAX];
	size_t key_len;
	int64_t created;	/* seconds since the epoch */
	char kdf[STORE_KDF_MAX + 1];	/* key derivation parameters (dns_kdf_format()); "": legacy */
};

/** A record as stored; pointers are borrowed for the duration of a call. */
struct store_rr {
	int64_t id;
	const uint8_t *name;
	uint8_t name_len;
	uint16_t type, rclass;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
	int64_t expires_ms;	/* wall clock; 0: no lease */
	const char *account;	/* owning account, or NULL */
};

/**
 * Open (creating if needed, mode 0600 whatever the umask; an older schema is
 * migrated) the database at @p path, in WAL mode, with fsync on every commit
 * when @p sync_full. @return 0, or a negative errno
 * with a message in @p err.
 */
int store_open(struct store **out, const char *path, bool sync_full, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void store_close(struct store *st);

/** The last SQLite error message of the connection. */
const char *store_errmsg(const struct store *st);

int store_begin(struct store *st) __attribute__((warn_unused_result));
int store_commit(struct store *st) __attribute__((warn_unused_result));
void store_rollback(struct store *st);
/**
 * Whether commits on this connection also checkpoint the WAL into the
 * database (SQLite's default). The server turns it off on its writing
 * connection and checkpoints from another thread, so that the database's
 * fsync never delays an answer.
 */
int store_autocheckpoint(struct store *st, bool on) __attribute__((warn_unused_result));
/** Checkpoint the WAL without waiting for anyone. */
int store_checkpoint(struct store *st) __attribute__((warn_unused_result));

/** A savepoint inside the transaction (one UPDATE of a batch), released or rolled back. */
int store_savepoint(struct store *st) __attribute__((warn_unused_result));
int store_release(struct store *st) __attribute__((warn_unused_result));
void store_rollback_savepoint(struct store *st);

/** The zone serial; @p initial is stored and returned when none is stored yet. */
int store_serial_get(struct store *st, uint32_t initial, uint32_t *serial)
	__attribute__((warn_unused_result));
int store_serial_set(struct store *st, uint32_t serial) __attribute__((warn_unused_result));

/** Insert or replace an account. */
int store_account_put(struct store *st, const struct store_account *a)
	__attribute__((warn_unused_result));
/** @return 0, -ENOENT, or another negative errno. */
int store_account_get(struct store *st, const char *name, struct store_account *out)
	__attribute__((warn_unused_result));
/** Delete an account and every record it owns. @return 0 or -ENOENT. */
int store_account_del(struct store *st, const char *name) __attribute__((warn_unused_result));
/** Call @p fn for every account in name order; a non-zero return stops and is returned. */
int store_account_foreach(struct store *st, int (*fn)(void *arg, const struct store_account *a),
			  void *arg);

/** Insert a record; its id is written to *@p id. */
int store_rr_insert(struct store *st, const struct store_rr *rr, int64_t *id)
	__attribute__((warn_unused_result));
/** Change a record's TTL, rdata (same value up to case) and lease. */
int store_rr_update(struct store *st, int64_t id, uint32_t ttl, const uint8_t *rdata,
		    uint16_t rdlen, int64_t expires_ms) __attribute__((warn_unused_result));
int store_rr_delete(struct store *st, int64_t id) __attribute__((warn_unused_result));
/** Call @p fn for every record; a non-zero return stops and is returned. */
int store_rr_foreach(struct store *st, int (*fn)(void *arg, const struct store_rr *rr), void *arg);

/** A change of the delegation in the parent zone not yet accepted there (parent.h). */
struct store_pending {
	char account[STORE_ACCOUNT_NAME_MAX + 1];
	char op[8];		/* "add" or "del" */
	int tries;
	char error[160];	/* why the last try failed, "" before any */
};

/** Keep (replacing any older one) the change @p op ("add", "del") of @p account's delegation. */
int store_pending_put(struct store *st, const char *account, const char *op, int64_t since)
	__attribute__((warn_unused_result));
/** The parent accepted @p op for @p account: forget it (a newer change of another op stays). */
int store_pending_done(struct store *st, const char *account, const char *op)
	__attribute__((warn_unused_result));
/** The parent did not accept it: count the try, keep @p why. */
int store_pending_failed(struct store *st, const char *account, const char *op, const char *why)
	__attribute__((warn_unused_result));
/** Up to @p max pending changes, oldest first, into @p out (*@p n of them). */
int store_pending_list(struct store *st, struct store_pending *out, size_t max, size_t *n)
	__attribute__((warn_unused_result));

/** Remember that @p account moved to the primary @p target (a name) at @p addrs (comma-separated). */
int store_moved_put(struct store *st, const char *account, const char *target, const char *addrs, int64_t at)
	__attribute__((warn_unused_result));
int store_moved_del(struct store *st, const char *account) __attribute__((warn_unused_result));
/** Call @p fn for every moved account; a non-zero return stops and is returned. */
int store_moved_foreach(struct store *st,
			int (*fn)(void *arg, const char *account, const char *target, const char *addrs),
			void *arg);

/** Delete an account and its records inside the caller's transaction. @return 0, -ENOENT, -EIO. */
int store_account_del_in(struct store *st, const char *name) __attribute__((warn_unused_result));

#endif
