/*
 * lib/stun: time-limited TURN credentials, the scheme coturn calls
 * "use-auth-secret" (the TURN REST API of draft-uberti-behave-turn-rest):
 * the rendezvous server and the TURN server share a secret; a credential
 * for an account is
 *
 *   username = "<expiry>:<account>"   (expiry: Unix time, seconds)
 *   password = base64(HMAC-SHA1(secret, username))
 *
 * The TURN server recomputes the password from the username, and refuses
 * a username whose expiry has passed. No I/O: the caller gives the time.
 */
#ifndef AT_STUN_TURN_CRED_H
#define AT_STUN_TURN_CRED_H

#include <stddef.h>
#include <stdint.h>

/* base64 of a 20-byte HMAC-SHA1: 28 characters and a NUL */
#define TURN_CRED_PASSWORD_LEN	28
#define TURN_CRED_ACCOUNT_MAX	63	/* a DNS label */
#define TURN_CRED_USERNAME_MAX	(20 + 1 + TURN_CRED_ACCOUNT_MAX)

/**
 * The credential of @p account (a name without ':', at most
 * TURN_CRED_ACCOUNT_MAX bytes) valid until @p now + @p ttl seconds, with
 * the shared @p secret (borrowed). Writes NUL-terminated strings into
 * @p user (@p ucap bytes) and @p pass (@p pcap bytes). Returns 0,
 * -EINVAL (bad account, ttl 0), -ENOSPC, -EIO (HMAC).
 */
int turn_cred_make(const uint8_t *secret, size_t secret_len, const char *account, uint64_t now,
		   uint32_t ttl, char *user, size_t ucap, char *pass, size_t pcap)
	__attribute__((warn_unused_result));

#endif
