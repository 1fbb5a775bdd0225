/*
 * autotunnel-dnsd settings: one schema for the INI file (-c FILE) and the
 * command line (--key VALUE), through src/common/conf.
 */
#ifndef DNSD_SETTINGS_H
#define DNSD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/privdrop.h"

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
	char *user;		/* run as this user after start-up; NULL: autotunnel-dns or nobody */
	int tcp_per_address;	/* open TCP/TLS connections per client address */
	int tcp_per_account;	/* open connections that carried an account's signed messages */
	int tcp_output_max;	/* bytes of output per connection before it is read no more */
	int tcp_read_timeout;	/* seconds a partial message may take to complete */
	int tls_handshake_timeout;	/* seconds a TLS handshake may take */
	int watch_setup_rate;	/* new watchers (LLQ set-ups, Push SUBSCRIBEs) per second; 0: no budget */
	int shed_retry_min_ms, shed_retry_max_ms;	/* the retry hint of a refused watcher (shed.h) */
	/* [zone] */
	char *zone;
	char *server_name;	/* target of NS and the synthesised SRV records */
	char *server_address;	/* comma-separated addresses of server_name (glue) */
	bool private_zone;	/* account data answered only to its TSIG key */
	int ttl;		/* TTL of the apex and synthesised records */
	char *stun_server;	/* host[:port]: _stun._udp.D SRV (RFC 5389 §9) */
	char *turn_server;	/* host[:port]: _turn._udp.D and _turn._tcp.D SRV (RFC 5928 §4) */
	char *turns_server;	/* host[:port]: _turns._tcp.D SRV (RFC 5928 §4) */
	char *turn_secret_file;	/* secret shared with the TURN server (coturn use-auth-secret) */
	int turn_credential_ttl;	/* s a TURN credential given out stays valid */
	/* derived: the secret read from turn_secret_file by dnsd_settings_finish() */
	uint8_t *turn_secret;
	size_t turn_secret_len;
	/* [leases] */
	int lease_min, lease_max;
	bool require_lease;
	int update_rate;	/* signed UPDATEs per second per account; 0: no limit */
	int unsigned_rate;	/* unsigned UPDATEs per second per client address; 0: no limit */
	int replay_max;		/* signed UPDATEs remembered against replay */
	int account_records;	/* records an account may hold */
	int account_bytes;	/* bytes (owner + 10 + rdata) an account's records may take */
	/* [llq] */
	int llq_lease_min, llq_lease_max;
	int llq_per_client, llq_max;
	int llq_per_account;	/* signed LLQs per account, from all addresses */
	int llq_rto_ms;
	/* [push] DNS Push over DSO (push.h) */
	bool push;		/* offered: _dns-push-tls._tcp.D and DSO sessions */
	int dso_inactivity_ms;	/* longest DSO inactivity timeout granted (RFC 8490 §6.4) */
	int dso_keepalive_ms;	/* longest DSO keepalive interval granted (RFC 8490 §6.5) */
	int push_per_session;	/* Push subscriptions on one DSO session */
	int push_max;		/* Push subscriptions in all */
	/* [parent] delegation in the parent zone (parent.h) */
	char *parent;		/* ADDRESS[:PORT] of the parent zone's primary; NULL: none */
	char *parent_key_file;	/* [ALG:]NAME:BASE64, the TSIG key the parent takes UPDATEs with */
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
 * server name), and read the TURN secret from turn-secret-file (refused
 * unless it is a regular file that neither group nor others may access,
 * and holds a non-empty first line). @return 0, or -EINVAL / -errno with
 * a message in @p err.
 */
int dnsd_settings_finish(struct dnsd_settings *s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* What the server keeps after start-up (privdrop.h), with the strings it points to. */
struct dnsd_privs {
	struct privdrop drop;
	char dir[1024];		/* the database's directory */
	char prefix[256];	/* the database's file name: its files all begin so */
	char tmpdir[1024];
};

/**
 * What the server keeps once its ports are bound and its files open: the
 * user of --user (default autotunnel-dns if that user exists, else nobody,
 * with a warning; root keeps uid 0), no capability, and with Landlock the
 * database's directory read-write (SQLite's WAL, shared memory and
 * temporary files, the control socket) and /proc/self read-only
 * (the stats command's memory use). @p tmpdir is where SQLite makes
 * temporary files (SQLITE_TMPDIR; NULL: the database's directory).
 * @return 0 or -ENAMETOOLONG.
 */
int dnsd_settings_privs(const struct dnsd_settings *s, const char *tmpdir, struct dnsd_privs *out)
	__attribute__((warn_unused_result));

void dnsd_settings_free(struct dnsd_settings *s);

#endif
