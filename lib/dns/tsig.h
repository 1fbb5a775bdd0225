/*
 * lib/dns/tsig.h: TSIG, secret key transaction authentication (RFC 8945).
 *
 * A struct dns_tsig holds the state of one signed exchange: the key, and
 * the last MAC, which the next message's MAC covers (a response covers its
 * request's MAC, §4.3.1; each message of a TCP sequence covers the previous
 * one's, §4.3.2 and §5.3.1). It lives in caller storage; call
 * dns_tsig_fini() when done (it wipes the key and frees the running digest
 * of a TCP sequence).
 *
 * Server:  dns_tsig_verify_request()  → build the answer →  dns_tsig_sign_response()
 *          (again for each further message of a TCP answer sequence).
 * Client:  dns_tsig_init() + dns_tsig_sign_request() → send →
 *          dns_tsig_verify_response() for the answer (and each further message).
 *
 * Signing appends the TSIG record to a finished message in place and
 * increments ARCOUNT; reserve its room while building with
 * dns_builder_reserve(b, dns_tsig_space(t)).
 *
 * Errors follow §5.2: the key is checked first (BADKEY), then the MAC
 * (BADSIG; a MAC shorter than allowed is FORMERR), then the time (BADTIME),
 * then truncation policy (BADTRUNC). Answers to BADKEY and BADSIG carry an
 * unsigned TSIG (MAC size 0, §5.3.2); BADTIME and BADTRUNC answers are
 * signed, BADTIME with the server's time in Other Data (§5.2.3).
 *
 * Time is passed in as @p now (seconds since the epoch): no clocks here.
 * MACs are compared with CRYPTO_memcmp; keys are wiped with OPENSSL_cleanse.
 */
#ifndef AT_DNS_TSIG_H
#define AT_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "dns/name.h"

enum dns_tsig_alg {
	DNS_TSIG_HMAC_MD5 = 1,	/**< "hmac-md5.sig-alg.reg.int." (BTMM clients) */
	DNS_TSIG_HMAC_SHA1,	/**< "hmac-sha1." */
	DNS_TSIG_HMAC_SHA224,	/**< "hmac-sha224." */
	DNS_TSIG_HMAC_SHA256,	/**< "hmac-sha256." (the default) */
	DNS_TSIG_HMAC_SHA384,	/**< "hmac-sha384." */
	DNS_TSIG_HMAC_SHA512,	/**< "hmac-sha512." */
};

#define DNS_TSIG_MAC_MAX 64	/**< SHA-512 */
#define DNS_TSIG_SECRET_MAX 128	/**< longest secret a key may have */
#define DNS_TSIG_FUDGE 300	/**< seconds; RFC 8945 §10 recommends 300 */
/** Unsigned messages allowed between signed ones in a TCP sequence (§5.3.1). */
#define DNS_TSIG_MAX_UNSIGNED 99

/** A TSIG key: name, algorithm and secret. */
struct dns_tsig_key {
	struct dns_name name;
	enum dns_tsig_alg alg;
	uint16_t secret_len;
	uint8_t secret[DNS_TSIG_SECRET_MAX];
};

/**
 * The algorithm with the given name (case-insensitive), or 0 if unknown.
 */
enum dns_tsig_alg dns_tsig_alg_from_name(const struct dns_name *name);

/**
 * The algorithm for a short or full text name: "hmac-sha256",
 * "hmac-md5", "hmac-md5.sig-alg.reg.int" (with or without a trailing
 * dot, any case), or 0 if unknown. For `-y alg:name:secret` strings.
 */
enum dns_tsig_alg dns_tsig_alg_from_text(const char *text);

/** The algorithm's wire name (a static constant), or NULL. */
const struct dns_name *dns_tsig_alg_name(enum dns_tsig_alg alg);

/** Full MAC length of the algorithm in bytes, or 0 if unknown. */
size_t dns_tsig_alg_mac_len(enum dns_tsig_alg alg);

/**
 * Fill a key. @return 0, -EINVAL for an unknown algorithm, or -EMSGSIZE for
 * a secret longer than DNS_TSIG_SECRET_MAX.
 */
__attribute__((warn_unused_result))
int dns_tsig_key_set(struct dns_tsig_key *k, const struct dns_name *name, enum dns_tsig_alg alg,
		     const uint8_t *secret, size_t secret_len);

/**
 * Find a key by name for the server (e.g. in the account database).
 * Copy it into @p out and return 0, or return -ENOENT when there is no
 * such key (a negative errno other than -ENOENT is passed back to the
 * caller of dns_tsig_verify_request() as an internal failure).
 * The algorithm in @p out is the key's; a request naming another
 * algorithm is answered BADKEY.
 */
typedef int (*dns_tsig_lookup_fn)(void *arg, const struct dns_name *name, struct dns_tsig_key *out);

/** The TSIG record as read from a message (§4.2). */
struct dns_tsig_rr {
	struct dns_name key_name;
	struct dns_name alg_name;
	uint64_t time_signed;	/**< 48 bits */
	uint16_t fudge;
	uint16_t mac_len;
	uint16_t mac;		/**< offset of the MAC in the message */
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	uint16_t other;		/**< offset of Other Data in the message */
};

/**
 * Read the TSIG record of a parsed message.
 * @return 0, -ENOENT when it has none, -EBADMSG.
 */
__attribute__((warn_unused_result))
int dns_tsig_rr_read(const struct dns_msg *m, struct dns_tsig_rr *out);

/** State of one signed exchange (see the top of this file). Not copyable (it owns OpenSSL contexts). */
struct dns_tsig {
	struct dns_tsig_key key;	/**< valid when key_known */
	bool key_known;
	struct dns_name key_name;	/**< as in the request, for an unsigned error answer */
	struct dns_name alg_name;
	uint16_t error;		/**< TSIG error to answer with (0, BADSIG, BADKEY, BADTIME, BADTRUNC) */
	uint64_t time_signed;	/**< of the last message verified */
	uint16_t fudge;		/**< of the last message verified */
	uint16_t mac_len;	/**< the MAC the next message covers (0: none) */
	uint8_t mac[DNS_TSIG_MAC_MAX];
	unsigned nmsg;		/**< messages signed or verified so far in this exchange */
	unsigned unsigned_run;	/**< unsigned messages since the last signed one (TCP) */
	void *run;		/**< EVP_MAC_CTX digesting unsigned messages of a TCP sequence */
	void *hmac;		/**< EVP_MAC_CTX kept for reuse across exchanges (freed by fini) */
	int hmac_alg;		/**< the algorithm hmac is set up for */
};

/**
 * Start a client exchange with key @p key (copied). @p t must be fresh or
 * ended with dns_tsig_fini().
 */
void dns_tsig_init(struct dns_tsig *t, const struct dns_tsig_key *key);

/** End an exchange: wipe the key and MACs, free the running digest. Idempotent. */
void dns_tsig_fini(struct dns_tsig *t);

/** Bytes the TSIG record the next sign call appends will take (for dns_builder_reserve()). */
size_t dns_tsig_space(const struct dns_tsig *t);

/**
 * Client: sign a finished request in place (§4.3.3: message + variables).
 * The MAC is kept in @p t for the response.
 *
 * @param t       exchange state from dns_tsig_init() (a fresh exchange).
 * @param buf     the message; the TSIG record is appended.
 * @param len     message length.
 * @param cap     size of @p buf.
 * @param outlen  receives the new length.
 * @param now     seconds since the epoch (Time Signed).
 * @return 0, -ENOSPC, -EINVAL (bad state), -EIO (crypto failure).
 */
__attribute__((warn_unused_result))
int dns_tsig_sign_request(struct dns_tsig *t, uint8_t *buf, size_t len, size_t cap,
			  size_t *outlen, uint64_t now);

/**
 * Server: verify the TSIG of a parsed request.
 *
 * Looks the key up with @p lookup, then checks the MAC, the time
 * (|now - Time Signed| <= Fudge) and the MAC length. @p t must be
 * zero-initialised or hold an earlier exchange (which is ended first,
 * keeping its OpenSSL context for reuse: a server worker should keep one
 * struct dns_tsig and pass it to every request); it is set to a new
 * exchange whatever the outcome, so dns_tsig_sign_response() then produces
 * the right answer record; call dns_tsig_fini() when done.
 *
 * @return 0 when the request is authentic (t->key is the key);
 *         -ENOMSG when the request carries no TSIG;
 *         -EBADMSG for a malformed TSIG or a MAC too short or too long
 *            (answer FORMERR, unsigned);
 *         -EACCES when verification failed: t->error is BADKEY, BADSIG,
 *            BADTIME or BADTRUNC; answer NOTAUTH and sign the answer;
 *         another negative errno when @p lookup or the crypto failed
 *            (answer SERVFAIL).
 */
__attribute__((warn_unused_result))
int dns_tsig_verify_request(struct dns_tsig *t, const struct dns_msg *m,
			    dns_tsig_lookup_fn lookup, void *arg, uint64_t now);

/**
 * Server: append the TSIG record to a finished response, in place.
 *
 * The first response covers the request MAC and all TSIG variables; each
 * further call for the same exchange (a TCP message sequence) covers the
 * previous response's MAC and only the timers (§4.3.2). With t->error
 * BADKEY or BADSIG the record is unsigned (MAC size 0); with BADTIME,
 * Other Data carries @p now and Time Signed echoes the request's.
 *
 * @return 0, -ENOSPC, -EINVAL (no request verified), -EIO.
 */
__attribute__((warn_unused_result))
int dns_tsig_sign_response(struct dns_tsig *t, uint8_t *buf, size_t len, size_t cap,
			   size_t *outlen, uint64_t now);

/**
 * Client: verify a parsed response (and, for a TCP sequence, each further
 * message, which may be unsigned up to DNS_TSIG_MAX_UNSIGNED in a row).
 *
 * @return 0 when the message is authentic (or an allowed unsigned
 *         continuation: *@p is_signed tells which, may be NULL);
 *         -EBADMSG malformed; -EACCES for a wrong key or algorithm, a bad
 *         MAC, a time outside the fudge, an unsigned error answer (BADKEY,
 *         BADSIG: t->error holds the server's error), a missing TSIG where
 *         one is required; -EIO.
 */
__attribute__((warn_unused_result))
int dns_tsig_verify_response(struct dns_tsig *t, const struct dns_msg *m, uint64_t now,
			     bool *is_signed);

#endif /* AT_DNS_TSIG_H */
