/*
 * Moving an account between primaries (docs/dnsd.md "Moving an account"):
 * the account's export file, written by `account move` (or `account
 * export`) on the old primary and read by `account import` on the new one.
 *
 * The file is text, one line each, in this order:
 *
 *     autotunnel-dnsd-account 1
 *     account NAME ALG KEY-BASE64 CREATED KDF|-
 *     rr OWNER-HEX TYPE CLASS TTL EXPIRES-MS RDATA-HEX     (one per record)
 *     end COUNT
 *
 * OWNER and RDATA are the stored (uncompressed, lower-case owner) wire
 * forms; EXPIRES-MS is the lease's absolute end on the wall clock (0: no
 * lease), so a lease keeps running across the move. It holds the
 * account's TSIG key: it is written mode 0600. The `end` line makes a
 * truncated copy fail to import rather than lose records.
 */
#ifndef DNSD_MOVE_H
#define DNSD_MOVE_H

#include <stddef.h>
#include <stdio.h>

struct store;

/**
 * Write account @p name of @p st with its records to @p out.
 * @return the number of records, -ENOENT, or another negative errno.
 */
int move_export(struct store *st, const char *name, FILE *out) __attribute__((warn_unused_result));

/**
 * Read an export from @p in and add the account and its records to @p st,
 * inside the caller's transaction; the account's name is written to
 * @p name. Records whose lease ended before @p now_ms are left out (the
 * server would delete them at once anyway). @return the number of records
 * added, or -EEXIST (the account is here already), -EBADMSG (with the line
 * in @p err), -EIO.
 */
int move_import(struct store *st, FILE *in, long long now_ms, char name[static 64], char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
