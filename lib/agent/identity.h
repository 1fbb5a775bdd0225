/*
 * The host's identity (RFC 6281 §6.3, RFC 4193, docs/design.md §4): its ULA,
 * its EUI-64 label, its host label, and the state file that keeps the ULA
 * for the life of the boot. No I/O: the agent reads and writes the file.
 */
#ifndef AT_AGENT_IDENTITY_H
#define AT_AGENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

/** Characters of "00-22-69-FF-FE-8E-34-2A", without the NUL. */
#define AGENT_EUI64_LABEL_LEN 23
/** Characters of "AutoTunnel-00-22-69-FF-FE-8E-34-2A", without the NUL. */
#define AGENT_TUNNEL_LABEL_LEN (11 + AGENT_EUI64_LABEL_LEN)
/** Characters of a boot id, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define AGENT_BOOT_ID_LEN 36
/** Largest identity file agent_identity_format() writes. */
#define AGENT_IDENTITY_FILE_MAX 256

/**
 * IEEE EUI-64 of a 48-bit MAC: FF:FE inserted after the OUI, the U/L bit
 * untouched. This is the identifier RFC 6281 §3 puts in the
 * "AutoTunnel-00-22-69-FF-FE-8E-34-2A" label.
 */
void agent_eui64_from_mac(uint8_t eui[static 8], const uint8_t mac[static 6]);

/**
 * Modified EUI-64 interface identifier (RFC 4291 Appendix A): the EUI-64
 * with the universal/local bit (0x02 of the first byte) inverted. This is
 * the low half of the ULA.
 */
void agent_iid_from_mac(uint8_t iid[static 8], const uint8_t mac[static 6]);

/**
 * The host ULA of RFC 6281 §6.3 / RFC 4193: 0xfd, the 7 bytes of @p rnd
 * (secure random bytes the caller drew), then the modified EUI-64 of
 * @p mac, the primary interface's MAC.
 */
void agent_ula_make(uint8_t ula[static 16], const uint8_t rnd[static 7], const uint8_t mac[static 6]);

/**
 * A MAC to use when the primary interface has none (PPP, TUN): @p rnd made
 * unicast and locally administered, so its identifier cannot collide with a
 * real one.
 */
void agent_mac_fallback(uint8_t mac[static 6], const uint8_t rnd[static 6]);

/**
 * Write the EUI-64 as "00-22-69-FF-FE-8E-34-2A" (upper-case hex) plus NUL.
 * Returns AGENT_EUI64_LABEL_LEN or -ENOSPC.
 */
int agent_eui64_label(char *out, size_t outlen, const uint8_t eui[static 8])
	__attribute__((warn_unused_result));

/** Write "AutoTunnel-" and the EUI-64 label plus NUL; AGENT_TUNNEL_LABEL_LEN or -ENOSPC. */
int agent_tunnel_label(char *out, size_t outlen, const uint8_t eui[static 8])
	__attribute__((warn_unused_result));

/**
 * Parse a label "AutoTunnel-00-22-69-FF-FE-8E-34-2A" (case-insensitive, as
 * DNS compares names) into @p eui. 0 or -EINVAL.
 */
int agent_tunnel_label_parse(uint8_t eui[static 8], const char *label, size_t n)
	__attribute__((warn_unused_result));

/**
 * The host label H of docs/design.md §4 from a host name: its first label, lower
 * case, which must then be 1..63 of [a-z0-9-] with no hyphen at either end,
 * and must not begin with "autotunnel-" (those names belong to the tunnel
 * endpoint records). On success writes H plus NUL into @p out (64 bytes)
 * and returns its length; otherwise returns -EINVAL and writes a sentence
 * for the user into @p err (@p errlen bytes).
 */
int agent_host_label(char out[static 64], const char *hostname, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** What the agent keeps in /run for the life of the boot. */
struct agent_identity {
	char boot_id[AGENT_BOOT_ID_LEN + 1];	/* /proc/sys/kernel/random/boot_id when made */
	uint8_t ula[16];
	uint8_t mac[6];		/* the MAC the ULA's identifier was made from */
	char ifname[16];	/* the primary interface then (information only) */
};

/**
 * Write @p id as the identity file, a strict text format:
 *
 *     autotunnel-identity 1
 *     boot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11
 *     ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a
 *     mac 00:22:69:8e:34:2a
 *     ifname eth0
 *
 * Returns the number of bytes written (no NUL is added), -ENOSPC, or
 * -EINVAL if @p id itself is not valid.
 */
int agent_identity_format(const struct agent_identity *id, uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/**
 * Parse an identity file of @p len bytes (borrowed). Every line in this
 * order, each exactly once, each ending in '\n', nothing else; the ULA in
 * canonical RFC 5952 form, in fd00::/8, its low half the modified EUI-64 of
 * the MAC; the MAC and boot id in lower-case hex. 0 or -EBADMSG.
 */
int agent_identity_parse(struct agent_identity *id, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

#endif
