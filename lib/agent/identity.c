/*
 * The host identity: ULA (RFC 6281 §6.3, RFC 4193 §3.2 with the 56 random
 * bits drawn by the caller), EUI-64 labels (RFC 6281 §3), host label, and
 * the identity file kept in /run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "agent/identity.h"
#include "agent/name.h"
#include "agent/text.h"
#include "wire/wire.h"

void agent_eui64_from_mac(uint8_t eui[static 8], const uint8_t mac[static 6])
{
	/* IEEE: OUI, then 0xFFFE, then the NIC-specific part */
	eui[0] = mac[0];
	eui[1] = mac[1];
	eui[2] = mac[2];
	eui[3] = 0xff;
	eui[4] = 0xfe;
	eui[5] = mac[3];
	eui[6] = mac[4];
	eui[7] = mac[5];
}

void agent_iid_from_mac(uint8_t iid[static 8], const uint8_t mac[static 6])
{
	agent_eui64_from_mac(iid, mac);
	/* RFC 4291 Appendix A: invert the universal/local bit */
	iid[0] ^= 0x02;
}

void agent_ula_make(uint8_t ula[static 16], const uint8_t rnd[static 7], const uint8_t mac[static 6])
{
	/* RFC 4193 §3.1: prefix fc00::/7 with L = 1, i.e. 0xfd */
	ula[0] = 0xfd;
	memcpy(ula + 1, rnd, 7);
	agent_iid_from_mac(ula + 8, mac);
}

void agent_mac_fallback(uint8_t mac[static 6], const uint8_t rnd[static 6])
{
	memcpy(mac, rnd, 6);
	mac[0] = (uint8_t)((mac[0] & ~0x01) | 0x02);	/* unicast, locally administered */
}

int agent_eui64_label(char *out, size_t outlen, const uint8_t eui[static 8])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (outlen < AGENT_EUI64_LABEL_LEN + 1)
		return -ENOSPC;
	for (int i = 0; i < 8; i++) {
		if (i)
			out[o++] = '-';
		out[o++] = hex[eui[i] >> 4];
		out[o++] = hex[eui[i] & 15];
	}
	out[o] = '\0';
	return AGENT_EUI64_LABEL_LEN;
}

int agent_tunnel_label(char *out, size_t outlen, const uint8_t eui[static 8])
{
	if (outlen < AGENT_TUNNEL_LABEL_LEN + 1)
		return -ENOSPC;
	memcpy(out, "AutoTunnel-", 11);
	if (agent_eui64_label(out + 11, outlen - 11, eui) < 0)
		return -ENOSPC;
	return AGENT_TUNNEL_LABEL_LEN;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * @p n bytes written as "xx<sep>xx<sep>...xx" (3n - 1 characters at @p s,
 * checked by the caller): 0 or -EINVAL. @p lower: only a-f, the canonical
 * spelling of a file we write ourselves.
 */
static int hex_pairs(uint8_t *out, size_t n, const char *s, char sep, bool lower)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = s + 3 * i;
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0 || lo < 0 || (i + 1 < n && p[2] != sep) ||
		    (lower && ((p[0] >= 'A' && p[0] <= 'F') || (p[1] >= 'A' && p[1] <= 'F'))))
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int agent_tunnel_label_parse(uint8_t eui[static 8], const char *label, size_t n)
{
	if (n != AGENT_TUNNEL_LABEL_LEN || strncasecmp(label, "autotunnel-", 11) != 0)
		return -EINVAL;
	/* DNS names are case-insensitive: any case */
	return hex_pairs(eui, 8, label + 11, '-', false);
}

int agent_host_label(char out[static 64], const char *hostname, char *err, size_t errlen)
{
	size_t n = 0;

	out[0] = '\0';
	if (!hostname || !hostname[0] || hostname[0] == '.') {
		snprintf(err, errlen, "the host name is empty; set one (hostnamectl) or give a label in the configuration");
		return -EINVAL;
	}
	for (const char *p = hostname; *p && *p != '.'; p++) {
		char c = *p;

		if (n == AGENT_LABEL_MAX) {
			snprintf(err, errlen, "the host name '%.20s...' is longer than 63 characters, the limit of a DNS label", hostname);
			return -EINVAL;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			if (c > 0x20 && c < 0x7f)
				snprintf(err, errlen, "the host name contains '%c', which a DNS label cannot hold (use a-z, 0-9 and '-')", c);
			else
				snprintf(err, errlen, "the host name contains byte 0x%02x, which a DNS label cannot hold (use a-z, 0-9 and '-')", (unsigned char)c);
			return -EINVAL;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (out[0] == '-' || out[n - 1] == '-') {
		snprintf(err, errlen, "the host name '%s' %s with a hyphen, which a DNS label cannot", out,
			 out[0] == '-' ? "begins" : "ends");
		out[0] = '\0';
		return -EINVAL;
	}
	if (strncmp(out, "autotunnel-", 11) == 0) {
		snprintf(err, errlen, "the host name '%s' begins with 'autotunnel-', which is reserved for tunnel endpoint names", out);
		out[0] = '\0';
		return -EINVAL;
	}
	return (int)n;
}

static bool boot_id_ok(const char *s)
{
	if (strlen(s) != AGENT_BOOT_ID_LEN)
		return false;
	for (int i = 0; i < AGENT_BOOT_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool ifname_ok(const char *s)
{
	size_t n = strnlen(s, 16);

	/* the kernel's rules (dev_valid_name): 1..15 bytes, no '/', ':' or space, not "." or ".." */
	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

static bool identity_ok(const struct agent_identity *id)
{
	uint8_t iid[8];

	agent_iid_from_mac(iid, id->mac);
	return boot_id_ok(id->boot_id) && ifname_ok(id->ifname) && id->ula[0] == 0xfd &&
	       memcmp(id->ula + 8, iid, 8) == 0;
}

int agent_identity_format(const struct agent_identity *id, uint8_t *buf, size_t len)
{
	char ula[INET6_ADDRSTRLEN], text[AGENT_IDENTITY_FILE_MAX];
	int n;

	if (!identity_ok(id) || !inet_ntop(AF_INET6, id->ula, ula, sizeof(ula)))
		return -EINVAL;
	n = snprintf(text, sizeof(text),
		     "autotunnel-identity 1\nboot-id %s\nula %s\nmac %02x:%02x:%02x:%02x:%02x:%02x\nifname %s\n",
		     id->boot_id, ula, id->mac[0], id->mac[1], id->mac[2], id->mac[3], id->mac[4],
		     id->mac[5], id->ifname);
	if (n < 0 || (size_t)n >= sizeof(text) || (size_t)n > len)
		return -ENOSPC;
	memcpy(buf, text, (size_t)n);
	return n;
}

/* Read "KEY VALUE" and return VALUE (inside @p line), or NULL. */
static const char *keyed(struct wire *w, char *line, size_t cap, const char *key)
{
	size_t kl = strlen(key);

	if (agent_text_line(w, line, cap) < 0)
		return NULL;
	if (strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return NULL;
	return line + kl + 1;
}

static int parse_mac(uint8_t mac[static 6], const char *s)
{
	if (strlen(s) != 17)
		return -EINVAL;
	return hex_pairs(mac, 6, s, ':', true);
}

int agent_identity_parse(struct agent_identity *id, const uint8_t *buf, size_t len)
{
	struct wire w = wire_reader(buf, len);
	struct agent_identity t = { 0 };
	char line[96];
	const char *v;

	memset(id, 0, sizeof(*id));
	if (agent_text_line(&w, line, sizeof(line)) < 0 || strcmp(line, "autotunnel-identity 1") != 0)
		return -EBADMSG;
	if (!(v = keyed(&w, line, sizeof(line), "boot-id")) || !boot_id_ok(v))
		return -EBADMSG;
	memcpy(t.boot_id, v, AGENT_BOOT_ID_LEN + 1);
	if (!(v = keyed(&w, line, sizeof(line), "ula")) || agent_text_ip6(t.ula, v))
		return -EBADMSG;
	if (!(v = keyed(&w, line, sizeof(line), "mac")) || parse_mac(t.mac, v))
		return -EBADMSG;
	if (!(v = keyed(&w, line, sizeof(line), "ifname")) || !ifname_ok(v))
		return -EBADMSG;
	memcpy(t.ifname, v, strlen(v) + 1);
	if (wire_avail(&w) != 0 || wire_err(&w) || !identity_ok(&t))
		return -EBADMSG;
	*id = t;
	return 0;
}
