/*
 * autotunneld's settings: [tunnel] (the device and port) and one
 * [peer NAME] section per static peer, from an INI file (-c FILE) or the
 * command line (--key VALUE for the [tunnel] keys).
 */
#ifndef AT_AUTOTUNNELD_CONFIG_H
#define AT_AUTOTUNNELD_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "dataplane/dp.h"
#include "esp/aead.h"

#define ATD_MAX_PEERS 64
/* read when no -c FILE is given, if it exists (docs/autotunneld.8) */
#define ATD_CONF_DEFAULT "/etc/autotunnel/autotunneld.conf"

/** A traffic selector as we use them: one address, /128 or /32. */
struct atd_ts {
	int family;		/* AF_INET6 or AF_INET */
	uint8_t addr[16];
};

struct atd_peer {
	char *name;
	bool has_remote;
	union dp_addr remote;		/* outer address (IPv4 or IPv6) and port */
	char *local_id, *remote_id;	/* IKE ID_FQDN */
	char *psk_file;
	struct atd_ts local_ts[2], remote_ts[2];
	int n_local_ts, n_remote_ts;
	int keepalive_s;		/* NAT keepalive interval; 0 = off */
	int rekey_s, ike_rekey_s, dpd_s;	/* IKE timers; 0 = lib/ike's defaults */
	bool connect;			/* bring the tunnel up at start (else on demand) */
	/*
	 * IKE: ESP transforms (enum ike_esp_alg mask; 0 = [tunnel] esp, else
	 * lib/ike's default) and certificate authentication (RFC 7427) instead
	 * of psk-file: our certificate, its key, the peer's CA (file names;
	 * [tunnel] cert/key/ca fill in a peer without psk-file)
	 */
	unsigned esp_algs;
	char *cert_file, *key_file, *ca_file;
	/* manual keying, as `ip xfrm state` does it */
	bool manual;
	uint32_t spi_in, spi_out;
	bool has_spi_in, has_spi_out, has_key_in, has_key_out;
	enum esp_cipher cipher;
	bool esn;
	uint8_t key_in[ESP_KEYMAT_LEN], key_out[ESP_KEYMAT_LEN];
};

struct atd_conf {
	char *ifname;
	int mtu;
	char *ula;
	char *ipv4;
	int port;
	int workers;
	bool no_offload;
	char *log_level;
	char *user;			/* becomes this user once started (privsep.c) */
	char *local_id;
	int ike_retransmit_ms, ike_retransmit_tries;
	char *esp;			/* [tunnel] esp: the peers' default ESP transforms ("aes256gcm16, ...") */
	char *cert, *key, *ca;		/* [tunnel] cert/key/ca: the peers' default certificate credentials */
	/*
	 * [agent]: account mode (docs/design.md §1). Any key of the section turns it
	 * on; then [tunnel] ula comes from the identity and no [peer] is needed.
	 */
	bool agent_mode;		/* set by atd_conf_check */
	char *state_dir;		/* keys, account (default /var/lib/autotunnel) */
	char *run_dir;			/* identity, hosts cache (default /run/autotunnel) */
	char *control;			/* control socket (default RUN_DIR/control) */
	char *hostname;			/* host label H (default: the host name) */
	char *services;			/* "ssh 22, smb 445": DNS-SD services offered */
	char *keep;			/* "desktop, nas": peers whose tunnels stay up */
	int idle_timeout_s;		/* tear down idle SAs (0: 180 s) */
	int lease_s;			/* update lease asked for (0: 5400 s) */
	int nat_keepalive_s;		/* NAT keepalive interval (0: 20 s) */
	bool no_portmap;		/* do not ask the gateway for a mapping */
	bool no_kdc;			/* run no local KDC (kdc.c) */
	char *kdc_user;			/* local user of the account's principal (kdc.c; NULL: its default) */
	bool authority;			/* the account authority: certificates between members (docs/authority.md); default on */
	bool native_esp;		/* ESP without UDP when IKE finds no NAT */
	char *relay;			/* [agent] relay: "always", "auto" (default) or "never" */
	int relay_mode;			/* enum atd_relay_mode, from relay (atd_conf_check) */
	char *rsip_gateway;		/* [rsip] gateway: an IPv4 address, "auto", or NULL (no RSIP) */
	int rsip_lease, rsip_spis;
	/* filled by the [peer NAME] callback */
	struct atd_peer peers[ATD_MAX_PEERS];
	int npeers;
};

/** When account-mode tunnels go through the TURN relay (docs/relay.md). */
enum atd_relay_mode {
	ATD_RELAY_AUTO = 0,	/* when this host has no direct location, to peers that have none either */
	ATD_RELAY_ALWAYS,	/* every peer through the relay (tests, debugging) */
	ATD_RELAY_NEVER,
};

extern const struct conf_schema atd_schema;

/** Defaults before loading. */
void atd_conf_init(struct atd_conf *c);
/**
 * Cross-checks after loading (each peer complete and consistent), and the
 * [agent] defaults filled in when account mode is on; -EINVAL with a message.
 */
int atd_conf_check(struct atd_conf *c, char *err, size_t errlen) __attribute__((warn_unused_result));
/** Free strings and wipe keys. */
void atd_conf_free(struct atd_conf *c);
/**
 * Parse an ESP transform list, "aes256gcm16, aes128gcm16, aes128-sha256,
 * aes256-sha256, chacha20poly1305" (commas or spaces), into an enum
 * ike_esp_alg mask; -EINVAL with the first unknown name in @p err.
 */
int atd_esp_parse(const char *s, unsigned *mask, char *err, size_t errlen) __attribute__((warn_unused_result));
/**
 * Parse a peer's outer endpoint: "IPV4", "IPV4:PORT", "IPV6" (a bare
 * literal), "[IPV6]" or "[IPV6]:PORT"; the port defaults to 4500. -EINVAL
 * with the reason in @p why (at least 64 bytes) for anything else.
 */
int atd_endpoint_parse(const char *s, union dp_addr *out, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/** Parse "ADDR/128" or "ADDR/32" (a bare address is taken as a host). */
int atd_ts_parse(const char *s, struct atd_ts *ts) __attribute__((warn_unused_result));

#endif
