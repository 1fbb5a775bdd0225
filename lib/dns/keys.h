/*
 * lib/dns/keys.h: account key derivation shared by autotunnel-dnsd and the agent.
 *
 * DESIGN.md §6: two independent 32-byte keys are derived from an account's
 * password with scrypt (N = 16384, r = 8, p = 1), with salts bound to the
 * account domain D (lower case, no trailing dot):
 *
 *     TSIG key = scrypt(password, "autotunnel tsig v1 " + D)
 *     IKE key  = scrypt(password, "autotunnel ike v1 "  + D)
 *
 * The server stores only the TSIG key (named D, hmac-sha256); the IKE key
 * never leaves the hosts.
 */
#ifndef AT_DNS_KEYS_H
#define AT_DNS_KEYS_H

#include <stddef.h>
#include <stdint.h>

/** Length of each derived key, in bytes. */
#define DNS_KEY_LEN 32

/** scrypt cost parameters (fixed: changing them changes every account's keys). */
#define DNS_KEYS_SCRYPT_N 16384
#define DNS_KEYS_SCRYPT_R 8
#define DNS_KEYS_SCRYPT_P 1

/**
 * Derive an account's TSIG key and IKE key from its password.
 *
 * @param domain    the account domain D in text form (e.g. "alice.members.example.net");
 *                  borrowed. It is lower-cased (ASCII) and one trailing dot is removed
 *                  before it enters the salt, so "Alice.Members.Example.NET." gives the
 *                  same keys. At most 253 characters after that, no empty labels.
 * @param password  the password bytes (borrowed; need not be NUL-terminated).
 * @param pwlen     length of @p password; may be 0.
 * @param tsig_key  receives the 32-byte TSIG key.
 * @param ike_key   receives the 32-byte IKE key.
 * @return 0, -EINVAL for a bad domain, or -EIO when OpenSSL fails (both
 *         outputs are then zeroed). Takes about 50 ms of CPU and 16 MiB of memory
 *         per key: never call it on a packet path.
 */
__attribute__((warn_unused_result))
int dns_keys_derive(const char *domain, const char *password, size_t pwlen,
		    uint8_t tsig_key[static 32], uint8_t ike_key[static 32]);

#endif /* AT_DNS_KEYS_H */
