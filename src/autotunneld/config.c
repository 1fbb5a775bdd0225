/* src/autotunneld/config.c: the settings schema and the [peer NAME] sections. */
#include "autotunneld/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ike/types.h"
#include "util/encode.h"

static struct atd_conf *cur;	/* the destination of the [peer] callback: set by atd_conf_init */

static const struct conf_item items[] = {
	{ "tunnel", "ifname", CONF_STRING, offsetof(struct atd_conf, ifname), 0, 0, "TUN device name (autotun0)" },
	{ "tunnel", "mtu", CONF_INT, offsetof(struct atd_conf, mtu), 1280, 9000, "inner MTU (1400)" },
	{ "tunnel", "ula", CONF_STRING, offsetof(struct atd_conf, ula), 0, 0, "this host's ULA, put on the device as /128" },
	{ "tunnel", "ipv4", CONF_STRING, offsetof(struct atd_conf, ipv4), 0, 0, "an inner IPv4 /32 as well (interop)" },
	{ "tunnel", "port", CONF_INT, offsetof(struct atd_conf, port), 1, 65535, "UDP port for ESP and IKE (4500)" },
	{ "tunnel", "workers", CONF_INT, offsetof(struct atd_conf, workers), 0, 8, "data-plane threads (0: one per core)" },
	{ "tunnel", "no-offload", CONF_BOOL, offsetof(struct atd_conf, no_offload), 0, 0, "no TSO/GSO/GRO (for comparison)" },
	{ "tunnel", "log-level", CONF_STRING, offsetof(struct atd_conf, log_level), 0, 0, "err, warn, info or debug" },
	{ "tunnel", "user", CONF_STRING, offsetof(struct atd_conf, user), 0, 0,
	  "run as this user once started, with CAP_NET_ADMIN only (default autotunnel, else nobody; root keeps uid 0)" },
	{ "tunnel", "local-id", CONF_STRING, offsetof(struct atd_conf, local_id), 0, 0, "default IKE identity (ID_FQDN)" },
	{ "tunnel", "ike-retransmit-ms", CONF_INT, offsetof(struct atd_conf, ike_retransmit_ms), 0, 60000,
	  "first IKE retransmission after this (0: 500 ms), doubling (RFC 7296 §2.1)" },
	{ "tunnel", "ike-retransmit-tries", CONF_INT, offsetof(struct atd_conf, ike_retransmit_tries), 0, 20,
	  "IKE retransmissions before the peer is declared dead (0: 6)" },
	{ "tunnel", "esp", CONF_STRING, offsetof(struct atd_conf, esp), 0, 0,
	  "IKE peers' ESP transforms: aes256gcm16, aes128gcm16, aes128-sha256, aes256-sha256, chacha20poly1305" },
	{ "tunnel", "cert", CONF_STRING, offsetof(struct atd_conf, cert), 0, 0,
	  "IKE peers without psk-file: our certificate (PEM or DER, RFC 7427 authentication)" },
	{ "tunnel", "key", CONF_STRING, offsetof(struct atd_conf, key), 0, 0,
	  "IKE peers without psk-file: the certificate's private key (Ed25519 or ECDSA P-256)" },
	{ "tunnel", "ca", CONF_STRING, offsetof(struct atd_conf, ca), 0, 0,
	  "IKE peers without psk-file: the CA the peers' certificates must chain to" },
	{ "agent", "state-dir", CONF_STRING, offsetof(struct atd_conf, state_dir), 0, 0,
	  "account mode: keys and account state (/var/lib/autotunnel)" },
	{ "agent", "run-dir", CONF_STRING, offsetof(struct atd_conf, run_dir), 0, 0,
	  "account mode: identity for this boot, hosts cache (/run/autotunnel)" },
	{ "agent", "control", CONF_STRING, offsetof(struct atd_conf, control), 0, 0,
	  "account mode: control socket for the CLI (RUN-DIR/control)" },
	{ "agent", "hostname", CONF_STRING, offsetof(struct atd_conf, hostname), 0, 0,
	  "account mode: this host's name in the account (default: the host name)" },
	{ "agent", "service", CONF_STRING, offsetof(struct atd_conf, services), 0, 0,
	  "account mode: services offered, \"ssh 22, smb 445\"" },
	{ "agent", "keep", CONF_STRING, offsetof(struct atd_conf, keep), 0, 0,
	  "account mode: peers whose tunnels are kept up, \"desktop, nas\"" },
	{ "agent", "idle-timeout", CONF_INT, offsetof(struct atd_conf, idle_timeout_s), 0, 86400,
	  "account mode: tear down a tunnel idle this long, seconds (0: 180)" },
	{ "agent", "lease", CONF_INT, offsetof(struct atd_conf, lease_s), 0, 86400,
	  "account mode: update lease asked for, seconds (0: 5400)" },
	{ "agent", "nat-keepalive", CONF_INT, offsetof(struct atd_conf, nat_keepalive_s), 0, 3600,
	  "account mode: NAT keepalive interval, seconds (0: 20)" },
	{ "agent", "no-portmap", CONF_BOOL, offsetof(struct atd_conf, no_portmap), 0, 0,
	  "account mode: never ask the gateway for a port mapping" },
	{ "agent", "no-kdc", CONF_BOOL, offsetof(struct atd_conf, no_kdc), 0, 0,
	  "account mode: run no local KDC (single sign-on to this host off, docs/sso.md)" },
	{ "agent", "kdc-user", CONF_STRING, offsetof(struct atd_conf, kdc_user), 0, 0,
	  "account mode: the local user the account's principal maps to (default: the first user with uid >= 1000)" },
	{ "agent", "authority", CONF_BOOL, offsetof(struct atd_conf, authority), 0, 0,
	  "account mode: the account authority, certificates between the account's hosts (default yes; no: the "
	  "password-derived key, which the server could forge, docs/authority.md)" },
	{ "agent", "relay", CONF_STRING, offsetof(struct atd_conf, relay), 0, 0,
	  "account mode: tunnels through the account's TURN relay: always, auto (when no direct path exists) or never" },
	{ "tunnel", "native-esp", CONF_BOOL, offsetof(struct atd_conf, native_esp), 0, 0,
	  "native ESP (IP protocol 50, no UDP) to peers when IKE finds no NAT" },
	{ "rsip", "gateway", CONF_STRING, offsetof(struct atd_conf, rsip_gateway), 0, 0,
	  "borrow a public address from this RSIP gateway (RFC 3104): IPv4 address, or auto (the default gateway)" },
	{ "rsip", "lease", CONF_INT, offsetof(struct atd_conf, rsip_lease), 0, 86400,
	  "RSIP binding lease to ask for, seconds (0: the gateway's default)" },
	{ "rsip", "spis", CONF_INT, offsetof(struct atd_conf, rsip_spis), 0, 8,
	  "inbound SPIs to borrow for child SAs and their rekeys (0: 4)" },
};

static int peer_key(void *arg, const char *section, const char *key, const char *value,
		    char *err, size_t errlen);

/* "[peer NAME]": the only sections besides the schema's */
static bool peer_section(const char *section)
{
	return strncmp(section, "peer ", 5) == 0;
}

const struct conf_schema atd_schema = {
	.items = items,
	.n_items = sizeof(items) / sizeof(items[0]),
	.other = peer_key,
	.section_ok = peer_section,
	.default_file = ATD_CONF_DEFAULT,
};

void atd_conf_init(struct atd_conf *c)
{
	memset(c, 0, sizeof(*c));
	/* issue 14: on unless `authority = no`, or the server could forge a host of the account */
	c->authority = true;
	cur = c;
}

int atd_ts_parse(const char *s, struct atd_ts *ts)
{
	char buf[64], *slash;
	long plen = -1;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/'))) {
		char *end;

		*slash = '\0';
		plen = strtol(slash + 1, &end, 10);
		if (*end)
			return -EINVAL;
	}
	memset(ts, 0, sizeof(*ts));
	if (inet_pton(AF_INET6, buf, ts->addr) == 1) {
		ts->family = AF_INET6;
		return plen == -1 || plen == 128 ? 0 : -EINVAL;
	}
	if (inet_pton(AF_INET, buf, ts->addr) == 1) {
		ts->family = AF_INET;
		return plen == -1 || plen == 32 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* "a/128, b/32": at most two selectors, one per family. */
static int parse_ts_list(const char *v, struct atd_ts *out, int *n, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	*n = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct atd_ts ts;

		if (atd_ts_parse(tok, &ts)) {
			snprintf(err, errlen, "'%s' is not an IPv6 /128 or IPv4 /32", tok);
			return -EINVAL;
		}
		for (int i = 0; i < *n; i++)
			if (out[i].family == ts.family) {
				snprintf(err, errlen, "one selector per address family");
				return -EINVAL;
			}
		if (*n == 2) {
			snprintf(err, errlen, "at most two selectors");
			return -EINVAL;
		}
		out[(*n)++] = ts;
	}
	if (*n == 0) {
		snprintf(err, errlen, "empty selector list");
		return -EINVAL;
	}
	return 0;
}

static int parse_u32(const char *v, uint32_t *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || end == v || x > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_port(const char *v, uint16_t *port, char *why, size_t whylen)
{
	uint32_t n;

	if (parse_u32(v, &n) || n == 0 || n > 65535) {
		snprintf(why, whylen, "the port must be a number from 1 to 65535");
		return -EINVAL;
	}
	*port = (uint16_t)n;
	return 0;
}

int atd_endpoint_parse(const char *v, union dp_addr *out, char *why, size_t whylen)
{
	char buf[INET6_ADDRSTRLEN + 16], *end;
	const char *host = buf, *port = NULL;
	uint16_t p = 4500;

	memset(out, 0, sizeof(*out));
	if (strlen(v) >= sizeof(buf)) {
		snprintf(why, whylen, "too long for an address and port");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	if (buf[0] == '[') {
		/* RFC 3986 §3.2.2: an IPv6 literal with a port is written in brackets */
		if (!(end = strchr(buf, ']'))) {
			snprintf(why, whylen, "'[' without ']'");
			return -EINVAL;
		}
		*end = '\0';
		host = buf + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1]) {
			snprintf(why, whylen, "only ':PORT' may follow ']'");
			return -EINVAL;
		}
		if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv6 address", host);
			return -EINVAL;
		}
		out->sin6.sin6_family = AF_INET6;
	} else if (strchr(buf, ':') != strrchr(buf, ':')) {
		/* two colons or more: a bare IPv6 literal, which cannot carry a port */
		if (inet_pton(AF_INET6, buf, &out->sin6.sin6_addr) != 1) {
			snprintf(why, whylen, "not an IPv6 address (write [IPV6]:PORT for one with a port)");
			return -EINVAL;
		}
		out->sin6.sin6_family = AF_INET6;
	} else {
		if ((end = strchr(buf, ':'))) {
			*end = '\0';
			port = end + 1;
		}
		if (inet_pton(AF_INET, buf, &out->sin.sin_addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv4 address", buf);
			return -EINVAL;
		}
		out->sin.sin_family = AF_INET;
	}
	if (port && parse_port(port, &p, why, whylen)) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	if ((out->sa.sa_family == AF_INET6 && (IN6_IS_ADDR_UNSPECIFIED(&out->sin6.sin6_addr) ||
					      IN6_IS_ADDR_MULTICAST(&out->sin6.sin6_addr) ||
					      IN6_IS_ADDR_V4MAPPED(&out->sin6.sin6_addr) ||
					      IN6_IS_ADDR_LINKLOCAL(&out->sin6.sin6_addr))) ||
	    (out->sa.sa_family == AF_INET && (out->sin.sin_addr.s_addr == INADDR_ANY ||
					     IN_MULTICAST(ntohl(out->sin.sin_addr.s_addr))))) {
		/* a link-local address would need a zone; a mapped one is IPv4, written as such */
		snprintf(why, whylen, "not a unicast address a peer can have");
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	if (out->sa.sa_family == AF_INET6)
		out->sin6.sin6_port = htons(p);
	else
		out->sin.sin_port = htons(p);
	return 0;
}

static struct atd_peer *peer_get(struct atd_conf *c, const char *name, char *err, size_t errlen)
{
	struct atd_peer *p;

	for (int i = 0; i < c->npeers; i++)
		if (!strcmp(c->peers[i].name, name))
			return &c->peers[i];
	if (c->npeers == ATD_MAX_PEERS) {
		snprintf(err, errlen, "more than %d peers", ATD_MAX_PEERS);
		return NULL;
	}
	if (!*name || strlen(name) > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(name)) {
		snprintf(err, errlen, "bad peer name '%s' (letters, digits, - _ . up to 63)", name);
		return NULL;
	}
	p = &c->peers[c->npeers++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->cipher = ESP_CIPHER_AES256_GCM16;
	p->esn = true;
	p->connect = true;
	return p->name ? p : NULL;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	return (*dst = strdup(v)) ? 0 : -ENOMEM;
}

/* RFC 8221 §5 names as strongSwan spells them (lib/ike's ike_esp_alg_name) */
static const struct {
	const char *name;
	unsigned alg;
} esp_names[] = {
	{ "aes256gcm16", IKE_ESP_AES256GCM16 },
	{ "aes128gcm16", IKE_ESP_AES128GCM16 },
	{ "aes128-sha256", IKE_ESP_AES128CBC_SHA256 },
	{ "aes256-sha256", IKE_ESP_AES256CBC_SHA256 },
	{ "chacha20poly1305", IKE_ESP_CHACHA20POLY1305 },
};

int atd_esp_parse(const char *s, unsigned *mask, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "esp: list too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	*mask = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		size_t i;

		for (i = 0; i < sizeof(esp_names) / sizeof(esp_names[0]); i++)
			if (!strcmp(tok, esp_names[i].name))
				break;
		if (i == sizeof(esp_names) / sizeof(esp_names[0])) {
			snprintf(err, errlen, "esp: unknown transform '%s' (aes256gcm16, aes128gcm16, "
				 "aes128-sha256, aes256-sha256, chacha20poly1305)", tok);
			return -EINVAL;
		}
		*mask |= esp_names[i].alg;
	}
	if (!*mask) {
		snprintf(err, errlen, "esp: empty list");
		return -EINVAL;
	}
	return 0;
}

/*
 * The [peer] keys of IKE's algorithms and certificates: esp, cert, key, ca.
 * -ENOENT when @p key is none of them.
 */
static int peer_ike_key(struct atd_peer *p, const char *key, const char *value, char *err, size_t errlen)
{
	if (!strcmp(key, "esp"))
		return atd_esp_parse(value, &p->esp_algs, err, errlen);
	if (!strcmp(key, "cert"))
		return set_str(&p->cert_file, value);
	if (!strcmp(key, "key"))
		return set_str(&p->key_file, value);
	if (!strcmp(key, "ca"))
		return set_str(&p->ca_file, value);
	return -ENOENT;
}

/*
 * After loading: a peer's defaults from [tunnel] esp/cert/key/ca, and one
 * authentication method per IKE peer (psk-file, or all of cert, key, ca).
 */
static int peer_ike_check(const struct atd_conf *c, struct atd_peer *p, char *err, size_t errlen)
{
	bool own_cert = p->cert_file || p->key_file || p->ca_file;

	if (p->manual) {
		if (own_cert || p->esp_algs) {
			snprintf(err, errlen, "[peer %s]: esp, cert, key and ca are for IKE, not manual keys "
				 "(cipher sets a manual SA's transform)", p->name);
			return -EINVAL;
		}
		return 0;
	}
	if (!p->esp_algs && c->esp) {
		char msg[200];

		if (atd_esp_parse(c->esp, &p->esp_algs, msg, sizeof(msg))) {
			snprintf(err, errlen, "[tunnel] %s", msg);
			return -EINVAL;
		}
	}
	if (p->psk_file && own_cert) {
		snprintf(err, errlen, "[peer %s]: psk-file and cert/key/ca both given: one authentication "
			 "method per peer", p->name);
		return -EINVAL;
	}
	if (p->psk_file)
		return 0;
	if ((!p->cert_file && c->cert && set_str(&p->cert_file, c->cert)) ||
	    (!p->key_file && c->key && set_str(&p->key_file, c->key)) ||
	    (!p->ca_file && c->ca && set_str(&p->ca_file, c->ca)))
		return -ENOMEM;
	if ((p->cert_file || p->key_file || p->ca_file) && !(p->cert_file && p->key_file && p->ca_file)) {
		snprintf(err, errlen, "[peer %s]: certificate authentication needs cert, key and ca "
			 "(here or in [tunnel])", p->name);
		return -EINVAL;
	}
	return 0;
}

static int peer_key(void *arg, const char *section, const char *key, const char *value,
		    char *err, size_t errlen)
{
	struct atd_conf *c = cur;
	struct atd_peer *p;
	int n;

	(void)arg;
	if (strncmp(section, "peer ", 5) != 0) {
		snprintf(err, errlen, "unknown section [%s]", section);
		return -EINVAL;
	}
	if (!(p = peer_get(c, section + 5, err, errlen)))
		return -EINVAL;
	if ((n = peer_ike_key(p, key, value, err, errlen)) != -ENOENT)
		return n;
	if (!strcmp(key, "remote") || !strcmp(key, "endpoint")) {
		char why[96];

		/* "endpoint" is WireGuard's word for the same thing */
		if (atd_endpoint_parse(value, &p->remote, why, sizeof(why))) {
			snprintf(err, errlen, "%s: '%s': %s (IPV4[:PORT], IPV6 or [IPV6]:PORT)", key, value, why);
			return -EINVAL;
		}
		p->has_remote = true;
	} else if (!strcmp(key, "local-id")) {
		return set_str(&p->local_id, value);
	} else if (!strcmp(key, "remote-id")) {
		return set_str(&p->remote_id, value);
	} else if (!strcmp(key, "psk-file")) {
		return set_str(&p->psk_file, value);
	} else if (!strcmp(key, "local-ts") || !strcmp(key, "remote-ts")) {
		bool local = key[0] == 'l';
		char msg[128];

		if (parse_ts_list(value, local ? p->local_ts : p->remote_ts,
				  local ? &p->n_local_ts : &p->n_remote_ts, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s: %s", key, msg);
			return -EINVAL;
		}
	} else if (!strcmp(key, "keepalive")) {
		uint32_t v;

		if (parse_u32(value, &v) || v > 3600) {
			snprintf(err, errlen, "keepalive: seconds 0..3600 expected");
			return -EINVAL;
		}
		p->keepalive_s = (int)v;
	} else if (!strcmp(key, "rekey") || !strcmp(key, "ike-rekey") || !strcmp(key, "dpd")) {
		uint32_t v;

		if (parse_u32(value, &v) || v > 86400 * 7) {
			snprintf(err, errlen, "%s: seconds expected (0: the default)", key);
			return -EINVAL;
		}
		*(key[0] == 'r' ? &p->rekey_s : key[0] == 'i' ? &p->ike_rekey_s : &p->dpd_s) = (int)v;
	} else if (!strcmp(key, "connect")) {
		if (parse_bool(value, &p->connect)) {
			snprintf(err, errlen, "connect: yes or no expected");
			return -EINVAL;
		}
	} else if (!strcmp(key, "spi-in") || !strcmp(key, "spi-out")) {
		bool in = key[4] == 'i';
		uint32_t v;

		if (parse_u32(value, &v) || v < 256) {
			/* RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is never used */
			snprintf(err, errlen, "%s: a number from 256 to 4294967295 expected", key);
			return -EINVAL;
		}
		*(in ? &p->spi_in : &p->spi_out) = v;
		*(in ? &p->has_spi_in : &p->has_spi_out) = true;
		p->manual = true;
	} else if (!strcmp(key, "key-in") || !strcmp(key, "key-out")) {
		bool in = key[4] == 'i';

		n = hex_decode(in ? p->key_in : p->key_out, ESP_KEYMAT_LEN, value);
		if (n != ESP_KEYMAT_LEN) {
			snprintf(err, errlen, "%s: %d hex digits expected (32-byte key and 4-byte salt)",
				 key, 2 * ESP_KEYMAT_LEN);
			return -EINVAL;
		}
		*(in ? &p->has_key_in : &p->has_key_out) = true;
		p->manual = true;
	} else if (!strcmp(key, "cipher")) {
		if (esp_cipher_parse(value, &p->cipher)) {
			snprintf(err, errlen, "cipher: aes256gcm16 or chacha20poly1305 expected");
			return -EINVAL;
		}
	} else if (!strcmp(key, "esn")) {
		if (parse_bool(value, &p->esn)) {
			snprintf(err, errlen, "esn: yes or no expected");
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "unknown key '%s' in section [%s]", key, section);
		return -EINVAL;
	}
	return 0;
}

/*
 * [agent]: account mode is on when any of its keys is set (but authority,
 * which is on by default, so its value tells nothing), or when there is
 * nothing else to do (no static peer and no [tunnel] ula: a bare
 * `autotunneld`, or an /etc/autotunnel/autotunneld.conf without [peer]);
 * fill in the defaults.
 */
static int agent_check(struct atd_conf *c, char *err, size_t errlen)
{
	c->agent_mode = c->state_dir || c->run_dir || c->control || c->hostname || c->services ||
			c->keep || c->idle_timeout_s || c->lease_s || c->nat_keepalive_s || c->no_portmap || c->relay ||
			c->no_kdc || c->kdc_user || (c->npeers == 0 && !c->ula);
	if (!c->agent_mode)
		return 0;
	if (c->ula) {
		snprintf(err, errlen, "[tunnel] ula: in account mode ([agent]) the ULA is made at start-up "
			 "(RFC 6281 §6.3); leave it out");
		return -EINVAL;
	}
	if ((!c->state_dir && set_str(&c->state_dir, "/var/lib/autotunnel")) ||
	    (!c->run_dir && set_str(&c->run_dir, "/run/autotunnel")))
		return -ENOMEM;
	if (!c->control) {
		char buf[4096];

		snprintf(buf, sizeof(buf), "%s/control", c->run_dir);
		if (set_str(&c->control, buf))
			return -ENOMEM;
	}
	if (!c->idle_timeout_s)
		c->idle_timeout_s = 180;
	if (!c->lease_s)
		c->lease_s = 5400;
	if (!c->nat_keepalive_s)
		c->nat_keepalive_s = 20;
	if (!c->relay || !strcmp(c->relay, "auto")) {
		c->relay_mode = ATD_RELAY_AUTO;
	} else if (!strcmp(c->relay, "always")) {
		c->relay_mode = ATD_RELAY_ALWAYS;
	} else if (!strcmp(c->relay, "never")) {
		c->relay_mode = ATD_RELAY_NEVER;
	} else {
		snprintf(err, errlen, "[agent] relay: '%s' is none of always, auto, never", c->relay);
		return -EINVAL;
	}
	return 0;
}

int atd_conf_check(struct atd_conf *c, char *err, size_t errlen)
{
	struct atd_ts ula, v4;
	int ret;
	struct in_addr gw;

	if ((ret = agent_check(c, err, errlen)))
		return ret;
	if (c->rsip_gateway && strcmp(c->rsip_gateway, "auto") && inet_pton(AF_INET, c->rsip_gateway, &gw) != 1) {
		snprintf(err, errlen, "[rsip] gateway: '%s' is neither an IPv4 address nor auto", c->rsip_gateway);
		return -EINVAL;
	}
	if (c->agent_mode && !c->ula && c->npeers == 0)
		return 0;	/* peers come from the account */
	if (c->agent_mode && !c->ula) {
		snprintf(err, errlen, "[peer %s]: static peers need [tunnel] ula, which account mode "
			 "makes itself: use one or the other", c->peers[0].name);
		return -EINVAL;
	}
	if (!c->ula || atd_ts_parse(c->ula, &ula) || ula.family != AF_INET6) {
		snprintf(err, errlen, "[tunnel] ula: this host's IPv6 ULA is required (e.g. fd00:a::1)");
		return -EINVAL;
	}
	if (c->ipv4 && (atd_ts_parse(c->ipv4, &v4) || v4.family != AF_INET)) {
		snprintf(err, errlen, "[tunnel] ipv4: '%s' is not an IPv4 address", c->ipv4);
		return -EINVAL;
	}
	if (c->npeers == 0) {
		snprintf(err, errlen, "no [peer NAME] section: nothing to do");
		return -EINVAL;
	}
	for (int i = 0; i < c->npeers; i++) {
		struct atd_peer *p = &c->peers[i];

		if (p->n_remote_ts == 0) {
			snprintf(err, errlen, "[peer %s]: remote-ts (the peer's inner /128 or /32) is required", p->name);
			return -EINVAL;
		}
		if (p->n_local_ts == 0) {
			/* our own inner addresses */
			p->local_ts[p->n_local_ts++] = ula;
			if (c->ipv4)
				p->local_ts[p->n_local_ts++] = v4;
		}
		for (int j = 0; j < p->n_local_ts; j++) {
			const struct atd_ts *t = &p->local_ts[j];

			if ((t->family == AF_INET6 && memcmp(t->addr, ula.addr, 16)) ||
			    (t->family == AF_INET && (!c->ipv4 || memcmp(t->addr, v4.addr, 4)))) {
				snprintf(err, errlen, "[peer %s]: local-ts must be this host's ula or ipv4", p->name);
				return -EINVAL;
			}
		}
		if ((ret = peer_ike_check(c, p, err, errlen)))
			return ret;
		if (p->manual) {
			if (!p->has_spi_in || !p->has_spi_out || !p->has_key_in || !p->has_key_out) {
				snprintf(err, errlen, "[peer %s]: manual keying needs spi-in, spi-out, key-in and key-out",
					 p->name);
				return -EINVAL;
			}
			if (!p->has_remote) {
				snprintf(err, errlen, "[peer %s]: manual keying needs remote", p->name);
				return -EINVAL;
			}
		} else if (!(p->psk_file || p->cert_file) || !p->remote_id || !(p->local_id || c->local_id)) {
			snprintf(err, errlen, "[peer %s]: IKE needs psk-file, remote-id and local-id (cert, key "
				 "and ca instead of psk-file; or manual keys: spi-in, spi-out, key-in, key-out)", p->name);
			return -EINVAL;
		}
	}
	return 0;
}

void atd_conf_free(struct atd_conf *c)
{
	conf_free(&atd_schema, c);
	for (int i = 0; i < c->npeers; i++) {
		struct atd_peer *p = &c->peers[i];

		free(p->name);
		free(p->local_id);
		free(p->remote_id);
		free(p->psk_file);
		free(p->cert_file);
		free(p->key_file);
		free(p->ca_file);
		OPENSSL_cleanse(p, sizeof(*p));
	}
	c->npeers = 0;
}
