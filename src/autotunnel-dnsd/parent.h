/*
 * Delegation of account zones in the parent zone (docs/dnsd.md
 * "Delegation"): the parent (the served zone, e.g. members.example.net) is
 * held by a stock authoritative server (Knot), and each account domain D
 * that this primary holds is delegated to it there: an NS record D -> this
 * server's name, and the name's addresses (glue) when it lies in the
 * parent zone. This primary changes the parent with RFC 2136 UPDATEs
 * signed with a TSIG key the parent's operator gave it (RFC 8945), over
 * TCP. A change is first written to the store (parent_pending) in the same
 * transaction as the account it is about, then sent; one the parent did
 * not take stays there and is sent again (by the running server every
 * PARENT_RETRY_S, or the next account command), so that no change is lost
 * while the parent is down.
 *
 * parent_update_build() is pure (no I/O); parent_send() and parent_sync()
 * block on the network (with timeouts): the CLI calls them directly, the
 * server from a thread of their own.
 */
#ifndef DNSD_PARENT_H
#define DNSD_PARENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/name.h"
#include "dns/tsig.h"

struct dnsd_settings;
struct store;

#define PARENT_GLUE_MAX 8
#define PARENT_RETRY_S 5		/* a change the parent refused or missed is tried again after */
#define PARENT_TIMEOUT_MS 3000		/* connect, and wait for the answer */

struct parent_cfg {
	struct sockaddr_storage addr;	/* the parent's primary (numeric) */
	socklen_t addrlen;
	char addr_text[64];
	struct dns_tsig_key key;	/* its UPDATE key */
	struct dns_name zone;		/* the parent zone (our zone) */
	struct dns_name ns;		/* this server's name: the NS target */
	bool glue;			/* ns lies in the parent zone: its addresses go there too */
	uint8_t v4[PARENT_GLUE_MAX][4], v6[PARENT_GLUE_MAX][16];
	int n_v4, n_v6;
	uint32_t ttl;
};

enum parent_op {
	PARENT_ADD,	/* delegate D to this server (replacing any other delegation of D) */
	PARENT_DEL,	/* remove D's delegation */
};

/**
 * The parent of settings @p s, or -ENOENT when `parent` is not set.
 * Reads `parent-key-file` (one line: [ALG:]NAME:BASE64, the form of
 * `nsupdate -y` and `kdig -y`; hmac-sha256 when ALG is left out; a file
 * others may read is refused) and takes the glue from `server-address` or,
 * without it, the listen addresses. @return 0, -ENOENT, or -EINVAL with a
 * message in @p err.
 */
int parent_cfg_load(struct parent_cfg *c, const struct dnsd_settings *s, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/** Wipe the key. */
void parent_cfg_wipe(struct parent_cfg *c);

/**
 * Build the (unsigned) UPDATE for @p op on account @p label into @p buf
 * (RFC 2136 §2.5): zone = the parent zone; for PARENT_ADD, delete the NS
 * RRset of D then add D NS ns and, with glue, replace ns's A and AAAA
 * RRsets with our addresses; for PARENT_DEL, delete D's NS RRset. No
 * prerequisites: each UPDATE states the whole of what it is about, so
 * sending it twice is harmless. @return 0, -EINVAL (label), -ENOSPC.
 */
int parent_update_build(const struct parent_cfg *c, enum parent_op op, const char *label, uint16_t id,
			uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));

/**
 * Send @p op for @p label to the parent over TCP, signed, and check the
 * signed answer. @return 0 when the parent answered NOERROR, else a
 * negative errno with a sentence in @p why (-ETIMEDOUT, -ECONNREFUSED,
 * -EACCES for a TSIG failure, -EREMOTEIO for another rcode).
 */
int parent_send(const struct parent_cfg *c, enum parent_op op, const char *label, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/**
 * Send every pending change of @p st, oldest first; forget each the parent
 * took, count a try on each it did not. *@p left (may be NULL) is the
 * number still pending. @return the number sent, or a negative errno
 * when the store failed.
 */
int parent_sync(const struct parent_cfg *c, struct store *st, size_t *left);

/** "add" / "del" as stored. */
const char *parent_op_name(enum parent_op op);

#endif
