/*
 * autotunnel-dnsd settings: one schema for the INI file (-c FILE) and the
 * command line (--key VALUE), through src/common/conf.
 */
#ifndef DNSD_SETTINGS_H
#define DNSD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"

struct dnsd_settings {
	/* [server] */
	char *listen;		/* comma-separated addresses */
	int port;
	int tls_port;		/* 0: no DNS over TLS */
	int udp_workers;	/* 0: one per CPU */
	bool cpu_affinity;	/* pin UDP worker i to the i-th usable CPU */
	char *tls_cert, *tls_key;
	char *control;		/* control socket; default DB.ctl */
	char *pidfile;
	bool daemon;
	char *log_level;
	int tcp_idle;		/* seconds a TCP/TLS connection may idle without a signed LLQ */
	int tcp_max;		/* open TCP/TLS connections */
	int tcp_per_address;	/* open TCP/TLS connections per client address */
	int tcp_per_account;	/* open connections that carried an account's signed messages */
	int tcp_output_max;	/* bytes of output per connection before it is read no more */
	int tcp_read_timeout;	/* seconds a partial message may take to complete */
	int tls_handshake_timeout;	/* seconds a TLS handshake may take */
	/* [zone] */
	char *zone;
	char *server_name;	/* target of NS and the synthesised SRV records */
	char *server_address;	/* comma-separated addresses of server_name (glue) */
	bool private_zone;	/* account data answered only to its TSIG key */
	int ttl;		/* TTL of the apex and synthesised records */
	/* [leases] */
	int lease_min, lease_max;
	bool require_lease;
	int update_rate;	/* UPDATEs per second per client address; 0: no limit */
	/* [llq] */
	int llq_lease_min, llq_lease_max;
	int llq_per_client, llq_max;
	int llq_rto_ms;
	/* [store] */
	char *db;
	bool sync_full;		/* fsync every commit (SQLite synchronous=FULL) */
	int batch_max;		/* updates committed in one transaction at most */
};

extern const struct conf_schema dnsd_schema;

/** Defaults for every setting (strings NULL where derived later). */
void dnsd_settings_default(struct dnsd_settings *s);

/**
 * Check the combination and fill derived defaults (control socket path,
 * server name). @return 0, or -EINVAL with a message in @p err.
 */
int dnsd_settings_finish(struct dnsd_settings *s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

void dnsd_settings_free(struct dnsd_settings *s);

#endif
