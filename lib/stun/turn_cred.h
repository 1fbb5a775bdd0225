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

/*
 * How a rendezvous server hands a credential to its owner (docs/relay.md):
 * TXT _turn-credential.D with three character-strings, in this order as
 * autotunnel-dnsd writes them,
 *
 *   "username=<expiry>:<account>" "password=<base64>" "ttl=<seconds>"
 */
#define TURN_CRED_TXT_PASS_MAX	64	/* base64 of up to a 48-byte MAC (SHA-1 gives 28 characters) */
#define TURN_CRED_TXT_TTL_MAX	(30u * 86400)
#define TURN_CRED_TXT_MAX	(3 * 256)	/* the largest RDATA the builder writes */

struct turn_cred_txt {
	char user[TURN_CRED_USERNAME_MAX + 1];
	char pass[TURN_CRED_TXT_PASS_MAX + 1];	/* a secret: wipe it */
	uint32_t ttl;				/* seconds, 1..TURN_CRED_TXT_TTL_MAX */
};

/**
 * Parse the TXT RDATA (@p rdata, @p len bytes, borrowed) of
 * _turn-credential.D. Every string must be printable ASCII without spaces;
 * each of username= (1..TURN_CRED_USERNAME_MAX bytes, with a ':' after a
 * decimal expiry), password= (1..TURN_CRED_TXT_PASS_MAX bytes of base64)
 * and ttl= (decimal without leading zeros, 1..TURN_CRED_TXT_TTL_MAX) once,
 * in any order; strings with other keys are skipped (a later server may
 * add some). Returns 0 or -EBADMSG (@p out is wiped then).
 */
int turn_cred_txt_parse(const uint8_t *rdata, size_t len, struct turn_cred_txt *out)
	__attribute__((warn_unused_result));

/**
 * Write @p c as that TXT RDATA into @p rdata (@p cap bytes); its length in
 * @p len. Returns 0, -EINVAL (a field turn_cred_txt_parse() would refuse)
 * or -ENOSPC.
 */
int turn_cred_txt_build(const struct turn_cred_txt *c, uint8_t *rdata, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

#endif
