/*
 * lib/dnsc/state.h: what `autotunnel login` leaves behind, and how the keys
 * travel from the CLI to the daemon.
 *
 * The account state file (root-only, mode 0600, in the agent's state
 * directory) is a strict text format, one "key value" line each, in this
 * order, each at most once, the optional ones marked:
 *
 *     autotunnel-account 1
 *     domain alice.members.example.net
 *     host laptop
 *     server 198.51.100.53:853
 *     update-server 198.51.100.53:853        (optional: from SRV)
 *     llq-server 198.51.100.53:853           (optional: from SRV)
 *     parent 192.0.2.53:53                   (optional: the server of the parent zone;
 *                                             then the account's primary is found through
 *                                             its delegation at every connection, and
 *                                             server holds the same HOST[:PORT])
 *     pin 98:60:...  or  2fBCuIBd...=        (optional)
 *     ca /etc/autotunnel/ca.pem              (optional)
 *     tsig-key BASE64 (32 bytes)
 *     ike-key BASE64 (32 bytes)
 *
 * Keys never travel as a password: the CLI derives them (lib/dns keys.h)
 * and sends them to the daemon in the control protocol's secret field
 * ("password") as the lower-case hex of the TSIG key followed by the hex
 * of the IKE key (64 bytes, 128 hex digits): dnsc_keys_encode() /
 * dnsc_keys_decode().
 *
 * No I/O: the caller reads and writes the file.
 */
#ifndef AT_DNSC_STATE_H
#define AT_DNSC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"

#define DNSC_STATE_FILE_MAX 2048
#define DNSC_SERVER_MAX 263		/**< "name:port" */
#define DNSC_PIN_MAX 100		/**< hex with colons (95) or base64 (44) */
#define DNSC_PATH_MAX 1024
#define DNSC_KEYS_SECRET_LEN 128	/**< hex of the TSIG key, then of the IKE key */

struct dnsc_state {
	char domain[AGENT_NAME_MAX + 1];	/**< D, lower case */
	char host[AGENT_LABEL_MAX + 1];		/**< H */
	char server[DNSC_SERVER_MAX + 1];	/**< as given at login: HOST or HOST:PORT */
	char update_server[DNSC_SERVER_MAX + 1];	/**< "" when the same as server */
	char llq_server[DNSC_SERVER_MAX + 1];		/**< "" when the same as server */
	char parent[DNSC_SERVER_MAX + 1];	/**< "" or the parent zone's server (plain DNS, port 53 by default) */
	char pin[DNSC_PIN_MAX + 1];		/**< "" when none */
	char ca[DNSC_PATH_MAX + 1];		/**< "" when none */
	uint8_t tsig_key[32];
	uint8_t ike_key[32];
};

/** Write @p s as the state file into @p buf. @return the length, -ENOSPC or -EINVAL. */
__attribute__((warn_unused_result))
int dnsc_state_format(const struct dnsc_state *s, char *buf, size_t len);

/**
 * Parse a state file of @p len bytes (borrowed): the grammar above, every
 * name checked (agent_name_check, agent_label_check), servers as
 * HOST[:PORT], pins as in dnsc_pin_parse(), keys exactly 32 bytes.
 * @return 0, or -EBADMSG (@p s is then wiped).
 */
__attribute__((warn_unused_result))
int dnsc_state_parse(struct dnsc_state *s, const uint8_t *buf, size_t len);

/** Wipe the keys (OPENSSL_cleanse) and everything else. */
void dnsc_state_wipe(struct dnsc_state *s);

/** Encode the two keys as the control protocol's login secret (plus a NUL): DNSC_KEYS_SECRET_LEN + 1 bytes. */
void dnsc_keys_encode(char out[static DNSC_KEYS_SECRET_LEN + 1], const uint8_t tsig[static 32],
		      const uint8_t ike[static 32]);

/** Decode a login secret of @p len bytes. @return 0 or -EINVAL (outputs zeroed). */
__attribute__((warn_unused_result))
int dnsc_keys_decode(const uint8_t *secret, size_t len, uint8_t tsig[static 32], uint8_t ike[static 32]);

/**
 * Split "HOST[:PORT]" ("[v6]:PORT" for an IPv6 address) into @p host
 * (@p hostlen bytes) and *@p port (@p defport when absent).
 * @return 0 or -EINVAL.
 */
__attribute__((warn_unused_result))
int dnsc_server_parse(const char *s, char *host, size_t hostlen, uint16_t *port, uint16_t defport);

/** How a server certificate is pinned. */
enum dnsc_pin_kind {
	DNSC_PIN_NONE = 0,
	DNSC_PIN_HEX,		/**< SHA-256 of the certificate, or of its SubjectPublicKeyInfo, in hex */
	DNSC_PIN_SPKI_B64,	/**< SHA-256 of the SubjectPublicKeyInfo in base64 (RFC 7858 §4.2, kdig +tls-pin) */
};

/**
 * Parse a pin: 64 hex digits (colons between bytes allowed, any case) or
 * 44 characters of base64. @return 0 with *@p kind and the 32-byte
 * digest, or -EINVAL.
 */
__attribute__((warn_unused_result))
int dnsc_pin_parse(const char *s, enum dnsc_pin_kind *kind, uint8_t digest[static 32]);

#endif /* AT_DNSC_STATE_H */
