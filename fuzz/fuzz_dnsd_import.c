/*
 * Fuzz the account export file reader of `account import` (move.c), over a
 * real store (SQLite in a temporary file, each input in a transaction that
 * is rolled back): what it accepts exports back with as many records as it
 * added, and the account it names is there; what it refuses leaves nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autotunnel-dnsd/move.h"
#include "autotunnel-dnsd/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static char path[64];

static void cleanup(void)
{
	char p[96];

	store_close(st);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void open_store(void)
{
	char err[256];
	int fd;

	snprintf(path, sizeof(path), "/tmp/fuzz_dnsd_import.XXXXXX");
	fd = mkstemp(path);
	assert(fd >= 0);
	close(fd);
	unlink(path);
	assert(store_open(&st, path, false, err, sizeof(err)) == 0);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[64] = "", err[256], *copy, *text = NULL;
	struct store_account a;
	size_t tlen = 0;
	FILE *in, *out;
	int rc;

	if (!st)
		open_store();
	copy = malloc(size + 1);
	assert(copy);
	memcpy(copy, data, size);
	in = fmemopen(copy, size ? size : 1, "r");
	assert(in);
	if (size == 0)
		fgetc(in);	/* nothing to read */
	assert(store_begin(st) == 0);
	rc = move_import(st, in, 1000000, name, err, sizeof(err));
	fclose(in);
	if (rc >= 0) {
		assert(store_account_get(st, name, &a) == 0);
		out = open_memstream(&text, &tlen);
		assert(out);
		assert(move_export(st, name, out) == rc);
		fclose(out);
		free(text);
	} else if (name[0]) {
		/* refused after the account line: the caller rolls back (as the CLI does) */
		assert(rc == -EBADMSG || rc == -EEXIST || rc == -EIO || rc == -ENOMEM);
	}
	store_rollback(st);
	if (name[0])
		assert(store_account_get(st, name, &a) == -ENOENT);
	free(copy);
	return 0;
}
