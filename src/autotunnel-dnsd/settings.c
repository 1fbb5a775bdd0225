#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/conf.h"
#include "common/log.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/zone.h"

#define S(f) offsetof(struct dnsd_settings, f)

static const struct conf_item items[] = {
	{ "server", "listen", CONF_STRING, S(listen), 0, 0, "addresses to listen on, comma-separated (default 0.0.0.0)" },
	{ "server", "port", CONF_INT, S(port), 1, 65535, "UDP and TCP port (default 53)" },
	{ "server", "tls-port", CONF_INT, S(tls_port), 0, 65535, "DNS over TLS port, 0 for none (default 853)" },
	{ "server", "udp-workers", CONF_INT, S(udp_workers), 0, 64, "UDP worker threads, 0 for one per CPU" },
	{ "server", "cpu-affinity", CONF_BOOL, S(cpu_affinity), 0, 0, "pin UDP worker i to the i-th CPU the server may use (default yes)" },
	{ "server", "tls-cert", CONF_STRING, S(tls_cert), 0, 0, "TLS certificate (PEM); default: generated next to the db" },
	{ "server", "tls-key", CONF_STRING, S(tls_key), 0, 0, "TLS private key (PEM)" },
	{ "server", "control", CONF_STRING, S(control), 0, 0, "control socket (default DB.ctl)" },
	{ "server", "pidfile", CONF_STRING, S(pidfile), 0, 0, "write the server's pid here" },
	{ "server", "daemon", CONF_BOOL, S(daemon), 0, 0, "detach and log to syslog" },
	{ "server", "log-level", CONF_STRING, S(log_level), 0, 0, "err, warn, info or debug (default info)" },
	{ "server", "tcp-idle", CONF_INT, S(tcp_idle), 1, 86400, "seconds an idle TCP/TLS connection without a signed LLQ stays open (default 30)" },
	{ "server", "tcp-max", CONF_INT, S(tcp_max), 1, 1000000, "open TCP/TLS connections at most (default 20000)" },
	{ "server", "user", CONF_STRING, S(user), 0, 0, "run as this user once the ports are bound (default autotunnel-dns, else nobody; root keeps uid 0)" },
	{ "server", "tcp-per-address", CONF_INT, S(tcp_per_address), 1, 1000000, "open TCP/TLS connections per client address (default 32)" },
	{ "server", "tcp-per-account", CONF_INT, S(tcp_per_account), 1, 1000000, "open TCP/TLS connections with an account's signed UPDATEs or LLQs (default 256)" },
	{ "server", "tcp-output-max", CONF_INT, S(tcp_output_max), 4096, 1 << 30, "bytes waiting for a TCP/TLS client before its requests are read no more (default 262144)" },
	{ "server", "tcp-read-timeout", CONF_INT, S(tcp_read_timeout), 1, 86400, "seconds a partly received TCP/TLS message may take to complete (default 30)" },
	{ "server", "tls-handshake-timeout", CONF_INT, S(tls_handshake_timeout), 1, 86400, "seconds a TLS handshake may take (default 10)" },
	{ "server", "watch-setup-rate", CONF_INT, S(watch_setup_rate), 0, 100000000, "new watchers (LLQ set-ups and DNS Push SUBSCRIBEs) per second before they are told to come back later, 0 for no budget (default 50000)" },
	{ "server", "shed-retry-min-ms", CONF_INT, S(shed_retry_min_ms), 100, 86400000, "shortest retry delay given to a watcher turned away (default 1000)" },
	{ "server", "shed-retry-max-ms", CONF_INT, S(shed_retry_max_ms), 100, 86400000, "longest retry delay given to a watcher turned away (default 30000)" },
	{ "zone", "zone", CONF_STRING, S(zone), 0, 0, "the zone served (default members.example.net)" },
	{ "zone", "server-name", CONF_STRING, S(server_name), 0, 0, "this server's name: NS and SRV target (default ns.ZONE)" },
	{ "zone", "server-address", CONF_STRING, S(server_address), 0, 0, "addresses of server-name, comma-separated (default: listen addresses)" },
	{ "zone", "private", CONF_BOOL, S(private_zone), 0, 0, "answer account data only to the account's TSIG key (default yes)" },
	{ "zone", "ttl", CONF_INT, S(ttl), 0, 86400, "TTL of the apex and synthesised records (default 300)" },
	{ "zone", "stun-server", CONF_STRING, S(stun_server), 0, 0, "STUN server HOST[:PORT] named by _stun._udp.D in every account domain (port 3478)" },
	{ "zone", "turn-server", CONF_STRING, S(turn_server), 0, 0, "TURN server HOST[:PORT] named by _turn._udp.D and _turn._tcp.D (port 3478)" },
	{ "zone", "turns-server", CONF_STRING, S(turns_server), 0, 0, "TURN over TLS server HOST[:PORT] named by _turns._tcp.D (port 5349)" },
	{ "zone", "turn-secret-file", CONF_STRING, S(turn_secret_file), 0, 0, "file holding the secret shared with the TURN server (coturn static-auth-secret); mode 0600. Signed queries for TXT _turn-credential.D then get a credential" },
	{ "zone", "turn-credential-ttl", CONF_INT, S(turn_credential_ttl), 1, 30 * 86400, "seconds a TURN credential stays valid (default 86400)" },
	{ "leases", "lease-min", CONF_INT, S(lease_min), 1, 0x7fffffff, "shortest update lease granted, seconds (default 1800)" },
	{ "leases", "lease-max", CONF_INT, S(lease_max), 1, 0x7fffffff, "longest update lease granted, seconds (default 7200)" },
	{ "leases", "require-lease", CONF_BOOL, S(require_lease), 0, 0, "refuse updates without the Update Lease option" },
	{ "leases", "update-rate", CONF_INT, S(update_rate), 0, 10000000, "signed UPDATEs per second per account, 0 for no limit (default 100)" },
	{ "leases", "unsigned-rate", CONF_INT, S(unsigned_rate), 0, 10000000, "unsigned UPDATEs per second per client address, 0 for no limit (default 20)" },
	{ "leases", "replay-max", CONF_INT, S(replay_max), 1024, 100000000, "signed UPDATEs remembered for the TSIG time window against replay (default 1048576)" },
	{ "leases", "account-records", CONF_INT, S(account_records), 1, 100000000, "records an account may hold (default 2000)" },
	{ "leases", "account-bytes", CONF_INT, S(account_bytes), 1, 0x7fffffff, "bytes an account's records may take, owner + rdata + 10 each (default 1048576)" },
	{ "llq", "llq-lease-min", CONF_INT, S(llq_lease_min), 1, 0x7fffffff, "shortest LLQ lease, seconds (default 900)" },
	{ "llq", "llq-lease-max", CONF_INT, S(llq_lease_max), 1, 0x7fffffff, "longest LLQ lease, seconds (default 7200)" },
	{ "llq", "llq-per-client", CONF_INT, S(llq_per_client), 1, 10000000, "LLQs per client address (default 256)" },
	{ "llq", "llq-per-account", CONF_INT, S(llq_per_account), 1, 10000000, "signed LLQs per account, from all its addresses (default 4096)" },
	{ "llq", "llq-max", CONF_INT, S(llq_max), 1, 100000000, "LLQs in all (default 1000000)" },
	{ "llq", "llq-rto-ms", CONF_INT, S(llq_rto_ms), 10, 600000, "first event retransmission timeout, ms (default 2000)" },
	{ "push", "push", CONF_BOOL, S(push), 0, 0, "offer DNS Push: the _dns-push-tls._tcp.D SRV and DSO sessions (default yes)" },
	{ "push", "dso-inactivity-ms", CONF_INT, S(dso_inactivity_ms), 0, 0x7fffffff, "longest DSO inactivity timeout granted, ms (default 15000)" },
	{ "push", "dso-keepalive-ms", CONF_INT, S(dso_keepalive_ms), 10000, 0x7fffffff, "longest DSO keepalive interval granted, ms (default 3600000)" },
	{ "push", "push-per-session", CONF_INT, S(push_per_session), 1, 10000000, "DNS Push subscriptions on one DSO session (default 1024)" },
	{ "push", "push-max", CONF_INT, S(push_max), 1, 100000000, "DNS Push subscriptions in all (default 1000000)" },
	{ "parent", "parent", CONF_STRING, S(parent), 0, 0, "ADDRESS[:PORT] of the parent zone's primary (Knot): account add/del/import register each account's delegation there with a signed UPDATE (default: none)" },
	{ "parent", "parent-key-file", CONF_STRING, S(parent_key_file), 0, 0, "file (mode 0600) holding [ALG:]KEYNAME:BASE64, the TSIG key the parent takes UPDATEs from this server with" },
	{ "store", "db", CONF_STRING, S(db), 0, 0, "SQLite database (default /var/lib/autotunnel/dns.db)" },
	{ "store", "sync", CONF_BOOL, S(sync_full), 0, 0, "fsync every commit (default yes)" },
	{ "store", "batch-max", CONF_INT, S(batch_max), 1, 100000, "updates committed together at most (default 256)" },
};

const struct conf_schema dnsd_schema = {
	.items = items,
	.n_items = sizeof(items) / sizeof(items[0]),
};

void dnsd_settings_default(struct dnsd_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->port = 53;
	s->tls_port = 853;
	s->tcp_idle = 30;
	s->tcp_max = 20000;
	s->tcp_per_address = 32;
	s->tcp_per_account = 256;
	s->tcp_output_max = 256 << 10;
	s->tcp_read_timeout = 30;
	s->tls_handshake_timeout = 10;
	s->watch_setup_rate = 50000;
	s->shed_retry_min_ms = 1000;
	s->shed_retry_max_ms = 30000;
	s->cpu_affinity = true;
	s->private_zone = true;
	s->ttl = 300;
	s->turn_credential_ttl = 86400;
	s->lease_min = 1800;
	s->lease_max = 7200;
	s->update_rate = 100;
	s->unsigned_rate = 20;
	s->replay_max = 1048576;
	s->account_records = 2000;
	s->account_bytes = 1048576;
	s->llq_lease_min = 900;
	s->llq_lease_max = 7200;
	s->llq_per_client = 256;
	s->llq_per_account = 4096;
	s->llq_max = 1000000;
	s->llq_rto_ms = 2000;
	s->push = true;
	s->dso_inactivity_ms = 15000;
	s->dso_keepalive_ms = 3600000;
	s->push_per_session = 1024;
	s->push_max = 1000000;
	s->sync_full = true;
	s->batch_max = 256;
}

static int set_default(char **field, const char *value)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

#define TURN_SECRET_MAX 1024

/*
 * The TURN secret: the first line of @p path, read once at start (before
 * privileges are dropped, so the file may stay root's). Like an ssh key,
 * a file others may read or change is refused: whoever holds the secret
 * can mint credentials for every account.
 */
static int read_turn_secret(struct dnsd_settings *s, const char *path, char *err, size_t errlen)
{
	char buf[TURN_SECRET_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(err, errlen, "turn-secret-file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen, "turn-secret-file %s: not a regular file of mode 0600 or 0400", path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "turn-secret-file %s: %s", path, strerror(errno));
		return -EIO;
	}
	len = (size_t)n;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			len = i;
			break;
		}
	}
	if (len == 0 || len > TURN_SECRET_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(err, errlen, "turn-secret-file %s: the first line must hold 1 to %d bytes", path,
			 TURN_SECRET_MAX);
		return -EINVAL;
	}
	s->turn_secret = malloc(len);
	if (!s->turn_secret) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -ENOMEM;
	}
	memcpy(s->turn_secret, buf, len);
	s->turn_secret_len = len;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int dnsd_settings_finish(struct dnsd_settings *s, char *err, size_t errlen)
{
	char buf[1024];
	size_t n;

	if (set_default(&s->zone, "members.example.net") || set_default(&s->listen, "0.0.0.0") ||
	    set_default(&s->db, "/var/lib/autotunnel/dns.db") || set_default(&s->log_level, "info")) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* the zone is kept without its trailing dot */
	n = strlen(s->zone);
	if (n > 1 && s->zone[n - 1] == '.')
		s->zone[n - 1] = '\0';
	if (zone_name_check(s->zone, err, errlen))
		return -EINVAL;
	if (!s->server_name) {
		snprintf(buf, sizeof(buf), "ns.%s", s->zone);
		if (set_default(&s->server_name, buf))
			return -ENOMEM;
	}
	if (!s->control) {
		snprintf(buf, sizeof(buf), "%s.ctl", s->db);
		if (set_default(&s->control, buf))
			return -ENOMEM;
	}
	if (s->lease_min > s->lease_max) {
		snprintf(err, errlen, "lease-min (%d) is above lease-max (%d)", s->lease_min, s->lease_max);
		return -EINVAL;
	}
	if (s->llq_lease_min > s->llq_lease_max) {
		snprintf(err, errlen, "llq-lease-min (%d) is above llq-lease-max (%d)", s->llq_lease_min,
			 s->llq_lease_max);
		return -EINVAL;
	}
	if (s->tls_port && s->tls_port == s->port) {
		snprintf(err, errlen, "tls-port and port are both %d", s->port);
		return -EINVAL;
	}
	if (s->shed_retry_min_ms > s->shed_retry_max_ms) {
		snprintf(err, errlen, "shed-retry-min-ms (%d) is above shed-retry-max-ms (%d)", s->shed_retry_min_ms,
			 s->shed_retry_max_ms);
		return -EINVAL;
	}
	if ((s->tls_cert == NULL) != (s->tls_key == NULL)) {
		snprintf(err, errlen, "tls-cert and tls-key go together");
		return -EINVAL;
	}
	if (s->turn_secret_file && !s->turn_secret)
		return read_turn_secret(s, s->turn_secret_file, err, errlen);
	return 0;
}

/* The default user: the package's system user, else nobody. */
static const char *default_user(void)
{
	uid_t uid;
	gid_t gid;

	if (privdrop_user_lookup("autotunnel-dns", &uid, &gid) == 0)
		return "autotunnel-dns";
	log_warnx("no user autotunnel-dns: running as nobody once the ports are bound "
		  "(create a system user autotunnel-dns, or set user)");
	return "nobody";
}

int dnsd_settings_privs(const struct dnsd_settings *s, const char *tmpdir, struct dnsd_privs *out)
{
	const char *slash = strrchr(s->db, '/');
	struct privdrop *p = &out->drop;
	int n;

	memset(out, 0, sizeof(*out));
	if (!slash)
		n = snprintf(out->dir, sizeof(out->dir), ".");
	else if (slash == s->db)
		n = snprintf(out->dir, sizeof(out->dir), "/");
	else
		n = snprintf(out->dir, sizeof(out->dir), "%.*s", (int)(slash - s->db), s->db);
	if (n < 0 || (size_t)n >= sizeof(out->dir) ||
	    snprintf(out->prefix, sizeof(out->prefix), "%s", slash ? slash + 1 : s->db) >=
		    (int)sizeof(out->prefix) ||
	    snprintf(out->tmpdir, sizeof(out->tmpdir), "%s", tmpdir ? tmpdir : out->dir) >=
		    (int)sizeof(out->tmpdir))
		return -ENAMETOOLONG;
	if (s->user && strcmp(s->user, "root") == 0)
		log_warnx("user root: the server keeps uid 0 (without capabilities)");
	p->user = s->user ? s->user : default_user();
	p->caps = 0;
	p->landlock = true;
	p->rw[p->n_rw++] = out->dir;
	if (strcmp(out->tmpdir, out->dir) != 0)
		p->rw[p->n_rw++] = out->tmpdir;
	p->ro[p->n_ro++] = "/proc/self";
	p->own_dir = out->dir;
	p->own_prefix = out->prefix;
	return 0;
}

void dnsd_settings_free(struct dnsd_settings *s)
{
	if (s->turn_secret) {
		OPENSSL_cleanse(s->turn_secret, s->turn_secret_len);
		free(s->turn_secret);
		s->turn_secret = NULL;
		s->turn_secret_len = 0;
	}
	conf_free(&dnsd_schema, s);
}
