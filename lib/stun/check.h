/*
 * lib/stun/check: the connectivity checks between two hosts of one account
 * (issue 11, docs/paths.md §3): STUN Binding requests and their success
 * responses (RFC 8489) authenticated with the short-term credential
 * mechanism (§9.1), in the shape of ICE's checks (RFC 8445 §7.2.2).
 *
 *   request   USERNAME "<receiver ULA>:<sender ULA>" (32 lower-case hex
 *             digits each: RFC 8445's "RFRAG:LFRAG" with the ULAs as
 *             fragments), PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED,
 *             MESSAGE-INTEGRITY, FINGERPRINT
 *   response  XOR-MAPPED-ADDRESS (the request's source: the sender's
 *             reflexive address as we see it), MESSAGE-INTEGRITY,
 *             FINGERPRINT
 *
 * The key (the short-term password) is derived from the account's IKE key
 * with a label (stun_check_key()), so only the account's hosts can make or
 * answer a check, and nothing the rendezvous server holds is enough.
 *
 * Pure: no I/O, no clock, no randomness (transaction ids and tie-breakers
 * come from the caller). Every pointer argument is borrowed for the call.
 */
#ifndef AT_STUN_CHECK_H
#define AT_STUN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun/msg.h"

/** Bytes of the checks' key. */
#define STUN_CHECK_KEY_LEN 32
/** The label the key is derived with (docs/paths.md §3.1). */
#define STUN_CHECK_KEY_LABEL "autotunnel connectivity check key v1"
/** Longest check message this module builds. */
#define STUN_CHECK_MSG_MAX 160

/**
 * The checks' key: HMAC-SHA256(@p ike_key, STUN_CHECK_KEY_LABEL). A key of
 * its own, so that a check never exposes the IKE key to an offline guess
 * beyond what HMAC-SHA256 allows. 0 or -EIO.
 */
int stun_check_key(const uint8_t ike_key[static 32], uint8_t key[static STUN_CHECK_KEY_LEN])
	__attribute__((warn_unused_result));

/** What a check request carries. */
struct stun_check_req {
	uint8_t tid[STUN_TID_LEN];
	uint8_t to[16];		/* the receiver's ULA */
	uint8_t from[16];	/* the sender's ULA */
	uint32_t prio;		/* PRIORITY: the sender's would-be peer-reflexive priority (RFC 8445 §7.1.1) */
	bool controlling;	/* ICE-CONTROLLING (else ICE-CONTROLLED) */
	uint64_t tiebreak;
};

/** Build a request into @p buf (@p cap bytes). Returns its length, -ENOSPC, -EIO. */
int stun_check_request_build(const struct stun_check_req *r, const uint8_t key[static STUN_CHECK_KEY_LEN],
			     uint8_t *buf, size_t cap) __attribute__((warn_unused_result));

/**
 * Check a request that arrived for @p us (our ULA): a Binding request,
 * USERNAME for us, MESSAGE-INTEGRITY with @p key, FINGERPRINT, PRIORITY and
 * exactly one of ICE-CONTROLLING/ICE-CONTROLLED. Fills @p r. Returns 0,
 * -EBADMSG (not a well-formed check), -EPERM (a check for another host),
 * -EACCES (no integrity, or the wrong key: never learn anything from it).
 */
int stun_check_request_parse(const uint8_t *buf, size_t len, const uint8_t us[static 16],
			     const uint8_t key[static STUN_CHECK_KEY_LEN], struct stun_check_req *r)
	__attribute__((warn_unused_result));

/**
 * The success response to request @p tid, telling its sender the source
 * address @p src we saw it from (RFC 8489 §14.2). Returns its length,
 * -ENOSPC, -EINVAL (@p src of another family), -EIO.
 */
int stun_check_response_build(const uint8_t tid[static STUN_TID_LEN], const struct sockaddr *src,
			      const uint8_t key[static STUN_CHECK_KEY_LEN], uint8_t *buf, size_t cap)
	__attribute__((warn_unused_result));

/**
 * Check a success response: Binding, MESSAGE-INTEGRITY with @p key,
 * FINGERPRINT, an XOR-MAPPED-ADDRESS. Its transaction id goes to @p tid
 * (the caller matches it with its requests), the address to @p mapped.
 * Returns 0, -EBADMSG, -EACCES.
 */
int stun_check_response_parse(const uint8_t *buf, size_t len, const uint8_t key[static STUN_CHECK_KEY_LEN],
			      uint8_t tid[static STUN_TID_LEN], struct sockaddr_storage *mapped)
	__attribute__((warn_unused_result));

/** Whether @p buf is a Binding request (class and method only: what a check's receiver must see). */
bool stun_check_is_request(const uint8_t *buf, size_t len);

#endif
