#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "autotunnel-dnsd/cli.h"
#include "autotunnel-dnsd/move.h"
#include "autotunnel-dnsd/parent.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/tls.h"
#include "autotunnel-dnsd/tsigalg.h"
#include "dns/keys.h"
#include "util/encode.h"
#include "util/random.h"

#define PASSWORD_MAX 1024

int cli_account_name(const char *name, char out[static 64])
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)name[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -EINVAL;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

int cli_account_reserved(const struct dnsd_settings *s, const char *name)
{
	char server[256], zone[256];
	size_t sl, zl, nl = strlen(name);

	/* the default server name, whatever this server is called: a server
	 * renamed back to ns.ZONE must not find an account there */
	if (strcmp(name, "ns") == 0)
		return -EPERM;
	/* the label under which this server's own name lies in the zone (it
	 * answers that name's addresses itself, docs/design.md §4) */
	if (snprintf(server, sizeof(server), "%s", s->server_name) >= (int)sizeof(server) ||
	    snprintf(zone, sizeof(zone), "%s", s->zone) >= (int)sizeof(zone))
		return 0;
	for (char *p = server; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = zone; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	sl = strlen(server);
	if (sl && server[sl - 1] == '.')
		server[--sl] = '\0';
	zl = strlen(zone);
	if (sl <= zl + 1 || server[sl - zl - 1] != '.' || strcmp(server + sl - zl, zone) != 0)
		return 0;
	sl -= zl + 1;	/* server[0..sl) is the part above the zone; its last label is the account's */
	return sl >= nl && memcmp(server + sl - nl, name, nl) == 0 &&
			       (sl == nl || server[sl - nl - 1] == '.') ? -EPERM : 0;
}

/* Read one line from stdin into @p buf; without echo when stdin is a terminal. */
static int read_line(const char *prompt, char *buf, size_t cap)
{
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	size_t n;
	char *ok;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		}
	}
	ok = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return -ENODATA;
	n = strlen(buf);
	if (n == cap - 1 && buf[n - 1] != '\n')
		return -EMSGSIZE;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int read_password(char *pw, size_t cap, bool confirm, const char *domain)
{
	char again[PASSWORD_MAX];
	const char *why;
	int rc = read_line("Password: ", pw, cap);

	if (rc == -ENODATA) {
		fprintf(stderr, "autotunnel-dnsd: no password given on standard input\n");
		return rc;
	}
	if (rc == -EMSGSIZE) {
		fprintf(stderr, "autotunnel-dnsd: password longer than %d bytes\n", PASSWORD_MAX - 2);
		return rc;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "autotunnel-dnsd: empty password\n");
		return -EINVAL;
	}
	/* a stolen database lets anyone guess offline: refuse the guessable */
	if (dns_password_check(pw, strlen(pw), domain, &why)) {
		fprintf(stderr, "autotunnel-dnsd: %s\n", why);
		return -EPERM;
	}
	if (confirm && isatty(STDIN_FILENO)) {
		rc = read_line("Again: ", again, sizeof(again));
		if (rc == 0 && strcmp(pw, again) != 0) {
			fprintf(stderr, "autotunnel-dnsd: the passwords differ\n");
			rc = -EINVAL;
		}
		OPENSSL_cleanse(again, sizeof(again));
	}
	return rc;
}

/* D = NAME.ZONE in lower case, without the trailing dot. */
static int account_domain(const struct dnsd_settings *s, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.%s", name, s->zone);

	if (n < 0 || (size_t)n >= cap || n > 253)
		return -EMSGSIZE;
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/*
 * Derive the TSIG key of the account from a password read from stdin, with
 * new parameters (the current cost, a fresh random salt) stored with it: a
 * password change also moves a legacy account to them.
 */
static int derive(const struct dnsd_settings *s, struct store_account *a, bool confirm)
{
	char pw[PASSWORD_MAX], domain[256];
	uint8_t ike[DNS_KEY_LEN], salt[DNS_KDF_SALT_LEN];
	struct dns_kdf kdf;
	int rc;

	if (account_domain(s, a->name, domain, sizeof(domain))) {
		fprintf(stderr, "autotunnel-dnsd: %s.%s is too long\n", a->name, s->zone);
		return -EINVAL;
	}
	if (rand_bytes(salt, sizeof(salt)) || dns_kdf_init(&kdf, salt, sizeof(salt)) ||
	    dns_kdf_format(&kdf, a->kdf, sizeof(a->kdf)) < 0) {
		fprintf(stderr, "autotunnel-dnsd: cannot draw a salt\n");
		return -EIO;
	}
	rc = read_password(pw, sizeof(pw), confirm, domain);
	if (rc)
		return rc;
	rc = dns_keys_derive(&kdf, domain, pw, strlen(pw), a->key, ike);
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(ike, sizeof(ike));	/* the server never keeps the IKE key */
	if (rc) {
		fprintf(stderr, "autotunnel-dnsd: key derivation failed for %s\n", domain);
		return rc;
	}
	a->key_len = DNS_KEY_LEN;
	return 0;
}

static void notify_server(const struct dnsd_settings *s)
{
	FILE *devnull = fopen("/dev/null", "w");

	/* A running server re-reads the accounts; none running is fine. */
	if (devnull) {
		(void)cli_control(s->control, "reload", devnull);
		fclose(devnull);
	}
}

static int print_account(void *arg, const struct store_account *a)
{
	const char *zone = arg;

	printf("%s %s.%s %s\n", a->name, a->name, zone, a->alg);
	return 0;
}

static int usage_account_to(FILE *fp, int status)
{
	fprintf(fp,
		"usage: autotunnel-dnsd [options] account add NAME [--algorithm ALG]\n"
		"       autotunnel-dnsd [options] account passwd NAME [--algorithm ALG]\n"
		"       autotunnel-dnsd [options] account del NAME\n"
		"       autotunnel-dnsd [options] account list\n"
		"       autotunnel-dnsd [options] account show NAME [--tsig]\n"
		"       autotunnel-dnsd [options] account move NAME --to SERVER [--address ADDR[,ADDR]] [--file FILE]\n"
		"       autotunnel-dnsd [options] account import FILE\n"
		"       autotunnel-dnsd [options] account export NAME [--file FILE]\n"
		"       autotunnel-dnsd [options] account pending\n"
		"The password is read from standard input (without echo on a terminal).\n"
		"ALG: hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5.\n"
		"`account add` prints the `autotunnel login` line for the new account's hosts.\n"
		"With `parent` set, add, del and import change the account's delegation in the parent\n"
		"zone (kept in the database and sent again until the parent takes it: `account pending`).\n"
		"`account move` writes the account to FILE (default NAME.account), removes it here and\n"
		"answers its names with a referral to SERVER; `account import FILE` on SERVER takes it.\n");
	return status;
}

static int usage_account(void)
{
	return usage_account_to(stderr, 2);
}

/* The certificate the server presents: --tls-cert, or the one it generates next to the database. */
static void cert_path(const struct dnsd_settings *s, char *out, size_t cap)
{
	if (s->tls_cert)
		snprintf(out, cap, "%s", s->tls_cert);
	else
		snprintf(out, cap, "%s.tls-cert.pem", s->db);	/* as tls.c names it */
}

/* "--server NAME[:PORT]" as a client gives it: the server's name, and the port unless 853 (RFC 7858 §3.1). */
static void server_arg(const struct dnsd_settings *s, char *out, size_t cap)
{
	if (s->tls_port == 853)
		snprintf(out, cap, "%s", s->server_name);
	else
		snprintf(out, cap, "%s:%d", s->server_name, s->tls_port);
}

/*
 * The exact command that signs a host in to account @p name, on stdout; or,
 * when the pin is not known yet (no certificate before the first start),
 * how to get it. 0, or 1 when no line could be made.
 */
static int print_login_line(const struct dnsd_settings *s, const char *name)
{
	char cert[1100], hex[200], pin[100], server[300], zone[300] = "";

	if (!s->tls_port) {
		printf("no DNS over TLS (tls-port 0): hosts cannot sign in until it is on\n");
		return 1;
	}
	server_arg(s, server, sizeof(server));
	if (strcasecmp(s->zone, "members.example.net") != 0)	/* autotunnel login's default zone */
		snprintf(zone, sizeof(zone), " --zone %s", s->zone);
	cert_path(s, cert, sizeof(cert));
	if (tls_fingerprints(cert, hex, sizeof(hex), pin, sizeof(pin))) {
		printf("sign in each host with (the pin: `autotunnel-dnsd pin` once the server has made its "
		       "certificate at first start):\n  autotunnel login %s --server %s%s --pin PIN\n",
		       name, server, zone);
		return 1;
	}
	printf("sign in each host with:\n  autotunnel login %s --server %s%s --pin %s\n", name, server, zone, pin);
	return 0;
}

int cli_pin(const struct dnsd_settings *s)
{
	char cert[1100], hex[200], pin[100], server[300];

	cert_path(s, cert, sizeof(cert));
	if (tls_fingerprints(cert, hex, sizeof(hex), pin, sizeof(pin))) {
		fprintf(stderr, "autotunnel-dnsd: cannot read the certificate %s: %s\n", cert,
			access(cert, F_OK) == 0 ? "not a PEM certificate"
						: "it does not exist yet (the server makes it at first start)");
		return 1;
	}
	server_arg(s, server, sizeof(server));
	/* RFC 7858 §4.2: the SPKI pin is what clients pin; the fingerprint is the certificate's */
	printf("pin %s\nfingerprint %s\ncertificate %s\nlogin autotunnel login ACCOUNT --server %s --pin %s\n",
	       pin, hex, cert, server, pin);
	return 0;
}

/*
 * Send the delegation changes waiting in the store (parent.h), now: the
 * account command says at once whether the parent took them. What it did
 * not take stays for the running server, which tries again.
 */
static void parent_now(const struct dnsd_settings *s, struct store *st)
{
	struct parent_cfg pc;
	char err[512];
	size_t left = 0;
	int rc = parent_cfg_load(&pc, s, err, sizeof(err)), sent;

	if (rc == -ENOENT)
		return;
	if (rc) {
		fprintf(stderr, "autotunnel-dnsd: %s: the delegation change is kept for later\n", err);
		return;
	}
	sent = parent_sync(&pc, st, &left);
	parent_cfg_wipe(&pc);
	if (sent < 0)
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
	else if (left)
		printf("parent %s: %zu delegation change%s not taken yet (kept; the server sends %s again "
		       "every %d s: `account pending` shows why)\n", s->parent, left, left == 1 ? "" : "s",
		       left == 1 ? "it" : "them", PARENT_RETRY_S);
	else if (sent)
		printf("parent %s: delegation updated\n", s->parent);
}

/* Keep a delegation change for the parent, when there is one, inside the caller's transaction. */
static int parent_keep(const struct dnsd_settings *s, struct store *st, const char *name, const char *op)
{
	return s->parent ? store_pending_put(st, name, op, (int64_t)time(NULL)) : 0;
}

static int print_pending(const struct dnsd_settings *s, struct store *st)
{
	struct store_pending p[256];
	size_t n = 0;

	if (store_pending_list(st, p, 256, &n))
		return 1;
	for (size_t i = 0; i < n; i++)
		printf("%s %s tries %d%s%s\n", p[i].account, p[i].op, p[i].tries, p[i].error[0] ? " last: " : "",
		       p[i].error);
	return 0;
}

/* Open @p path for an export: created 0600 (it holds the account's key), never over another file. */
static FILE *open_export(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return fdopen(fd, "w");
}

/*
 * account move NAME --to SERVER: in one transaction, the account and its
 * records go to FILE and out of this database, and the name is kept as
 * moved to SERVER (referrals). The file is written and synced before the
 * commit, so nothing is ever in neither place.
 */
static int account_move(const struct dnsd_settings *s, struct store *st, const char *name, const char *to,
			const char *addrs, const char *file)
{
	char path[1100], target[300], why[300];
	struct dns_name tn, zone;
	FILE *fp;
	int n, rc;

	if (dns_name_from_text(&tn, to) || dns_name_from_text(&zone, s->zone)) {
		fprintf(stderr, "autotunnel-dnsd: --to %s is not a server name\n", to);
		return 2;
	}
	if (!addrs && dns_name_is_below(&tn, &zone)) {
		fprintf(stderr, "autotunnel-dnsd: %s lies in the zone: its addresses are needed for the "
			"referral (--address ADDR[,ADDR])\n", to);
		return 2;
	}
	snprintf(target, sizeof(target), "%s", to);
	/* a running server first stops writing for the account, so that what
	 * it has committed is all in the store when we read it out */
	{
		char cmd[100], *text = NULL;
		size_t tl = 0;
		FILE *mem = open_memstream(&text, &tl);
		int rc2;

		snprintf(cmd, sizeof(cmd), "freeze %s", name);
		rc2 = mem ? cli_control(s->control, cmd, mem) : -ENOMEM;
		if (mem)
			fclose(mem);
		if (rc2 == 0 && (!text || strncmp(text, "ok", 2) != 0)) {
			fprintf(stderr, "autotunnel-dnsd: the running server did not freeze %s: %s", name,
				text ? text : "no answer\n");
			free(text);
			return 1;
		}
		free(text);
		/* no server running (-ENOENT, -ECONNREFUSED): nothing writes but us */
	}
	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s.account", name);
	if (store_begin(st)) {
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
		notify_server(s);	/* the reload ends the freeze */
		return 1;
	}
	if (!(fp = open_export(path))) {
		store_rollback(st);
		notify_server(s);
		return 1;
	}
	n = move_export(st, name, fp);
	rc = n < 0 ? n : 0;
	if (rc == 0 && (fflush(fp) || fsync(fileno(fp))))
		rc = -EIO;
	if (fclose(fp) && rc == 0)
		rc = -EIO;
	if (rc == 0 && (store_account_del_in(st, name) || store_moved_put(st, name, target, addrs ? addrs : "",
									  (int64_t)time(NULL)) ||
			store_pending_done(st, name, "add") || store_pending_done(st, name, "del")))
		rc = -EIO;
	if (rc == 0 && store_commit(st))
		rc = -EIO;
	if (rc) {
		store_rollback(st);
		unlink(path);
		snprintf(why, sizeof(why), "%s", rc == -ENOENT ? "no such account" :
			 rc == -EIO ? store_errmsg(st) : strerror(-rc));
		fprintf(stderr, "autotunnel-dnsd: account move %s: %s\n", name, why);
		notify_server(s);	/* the account stays here, writable again */
		return 1;
	}
	notify_server(s);
	printf("account %s moved out: %d records in %s; names of %s.%s are now referred to %s\n"
	       "on %s: autotunnel-dnsd account import %s\n", name, n, path, name, s->zone, target, target, path);
	return 0;
}

static int account_import(const struct dnsd_settings *s, struct store *st, const char *file)
{
	char name[64], err[512];
	FILE *fp = fopen(file, "r");
	int n;

	if (!fp) {
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (store_begin(st)) {
		fclose(fp);
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
		return 1;
	}
	err[0] = '\0';
	n = move_import(st, fp, (long long)time(NULL) * 1000, name, err, sizeof(err));
	fclose(fp);
	if (n >= 0 && (store_moved_del(st, name) || parent_keep(s, st, name, "add") || store_commit(st))) {
		snprintf(err, sizeof(err), "%s", store_errmsg(st));
		n = -EIO;
	}
	if (n < 0) {
		store_rollback(st);
		fprintf(stderr, "autotunnel-dnsd: %s: %s\n", file, err);
		return 1;
	}
	notify_server(s);
	printf("account %s imported: %d records\n", name, n);
	parent_now(s, st);
	return 0;
}

int cli_account(const struct dnsd_settings *s, int argc, char *argv[])
{
	const char *verb = argc > 1 ? argv[1] : NULL, *alg = NULL, *to = NULL, *addrs = NULL, *file = NULL;
	struct store_account a;
	struct store *st = NULL;
	char err[512], name[64];
	bool tsig = false;
	int rc, status = 1;

	if (!verb)
		return usage_account();
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage_account_to(stdout, 0);
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--tsig") == 0 && strcmp(verb, "show") == 0) {
			tsig = true;
		} else if (strcmp(argv[i], "--algorithm") == 0 && i + 1 < argc &&
			   (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0)) {
			alg = argv[++i];
			if (tsigalg_from_text(alg) == 0) {
				fprintf(stderr, "autotunnel-dnsd: unknown TSIG algorithm '%s'\n", alg);
				return 2;
			}
			alg = tsigalg_name(tsigalg_from_text(alg));
		} else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc && strcmp(verb, "move") == 0) {
			to = argv[++i];
		} else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc && strcmp(verb, "move") == 0) {
			addrs = argv[++i];
		} else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc &&
			   (strcmp(verb, "move") == 0 || strcmp(verb, "export") == 0)) {
			file = argv[++i];
		} else {
			fprintf(stderr, "autotunnel-dnsd: account %s: unexpected '%s'\n", verb, argv[i]);
			return usage_account();
		}
	}
	if (strcmp(verb, "move") == 0 && !to) {
		fprintf(stderr, "autotunnel-dnsd: account move NAME --to SERVER: which server?\n");
		return usage_account();
	}
	if (strcmp(verb, "import") == 0) {
		if (argc != 3)
			return usage_account();
	} else if (strcmp(verb, "list") != 0 && strcmp(verb, "pending") != 0) {
		if (argc < 3)
			return usage_account();
		if (cli_account_name(argv[2], name)) {
			fprintf(stderr, "autotunnel-dnsd: '%s' is not a valid account name "
				"(1-63 letters, digits or '-', not at either end)\n", argv[2]);
			return 2;
		}
	} else if (argc > 2) {
		return usage_account();
	}
	rc = store_open(&st, s->db, s->sync_full, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "autotunnel-dnsd: %s\n", err);
		return 1;
	}
	memset(&a, 0, sizeof(a));
	if (strcmp(verb, "list") == 0) {
		if (store_account_foreach(st, print_account, s->zone) == 0)
			status = 0;
	} else if (strcmp(verb, "pending") == 0) {
		status = print_pending(s, st);
	} else if (strcmp(verb, "move") == 0) {
		status = account_move(s, st, name, to, addrs, file);
	} else if (strcmp(verb, "import") == 0) {
		status = account_import(s, st, argv[2]);
	} else if (strcmp(verb, "export") == 0) {
		FILE *fp = file ? open_export(file) : stdout;
		int n = fp ? move_export(st, name, fp) : -EIO;

		if (fp && fp != stdout && fclose(fp) && n >= 0)
			n = -EIO;
		if (n == -ENOENT)
			fprintf(stderr, "autotunnel-dnsd: no account %s\n", name);
		else if (n < 0)
			fprintf(stderr, "autotunnel-dnsd: account export %s: %s\n", name, strerror(-n));
		else
			status = 0;
	} else if (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) {
		bool add = strcmp(verb, "add") == 0;

		rc = store_account_get(st, name, &a);
		if (add && cli_account_reserved(s, name)) {
			fprintf(stderr, "autotunnel-dnsd: the account name '%s' is reserved: "
				"the server uses %s.%s for itself\n", name, name, s->zone);
		} else if (add && rc == 0) {
			fprintf(stderr, "autotunnel-dnsd: account %s exists (use 'account passwd %s')\n",
				name, name);
		} else if (!add && rc == -ENOENT) {
			fprintf(stderr, "autotunnel-dnsd: no account %s\n", name);
		} else if (rc && rc != -ENOENT) {
			fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
		} else {
			if (add) {
				memset(&a, 0, sizeof(a));
				strcpy(a.name, name);
				a.created = (int64_t)time(NULL);
			}
			if (alg || add)
				snprintf(a.alg, sizeof(a.alg), "%s", alg ? alg : "hmac-sha256");
			if (derive(s, &a, true) == 0) {
				/* the account and its delegation change together (parent.h) */
				if (store_begin(st) || store_account_put(st, &a) ||
				    (add && (store_moved_del(st, name) || parent_keep(s, st, name, "add"))) ||
				    store_commit(st)) {
					fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
					store_rollback(st);
				} else {
					status = 0;
					notify_server(s);
					if (add) {
						(void)print_login_line(s, name);
						parent_now(s, st);
					}
				}
			}
		}
	} else if (strcmp(verb, "del") == 0) {
		rc = store_begin(st);
		if (rc == 0)
			rc = store_account_del_in(st, name);
		if (rc == 0 && (parent_keep(s, st, name, "del") || store_moved_del(st, name)))
			rc = -EIO;
		if (rc == 0 && store_commit(st))
			rc = -EIO;
		if (rc)
			store_rollback(st);
		if (rc == -ENOENT)
			fprintf(stderr, "autotunnel-dnsd: no account %s\n", name);
		else if (rc)
			fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
		else {
			status = 0;
			notify_server(s);
			parent_now(s, st);
		}
	} else if (strcmp(verb, "show") == 0) {
		rc = store_account_get(st, name, &a);
		if (rc == -ENOENT) {
			fprintf(stderr, "autotunnel-dnsd: no account %s\n", name);
		} else if (rc) {
			fprintf(stderr, "autotunnel-dnsd: %s: %s\n", s->db, store_errmsg(st));
		} else if (tsig) {
			char b64[2 * STORE_KEY_MAX];

			if (b64_encode(b64, sizeof(b64), a.key, a.key_len) > 0) {
				/* the form nsupdate -y and dig -y take */
				printf("%s:%s.%s:%s\n", a.alg, a.name, s->zone, b64);
				status = 0;
			}
			OPENSSL_cleanse(b64, sizeof(b64));
		} else {
			char when[64];
			time_t t = (time_t)a.created;
			struct tm tm;

			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
			printf("account %s\ndomain %s.%s\nkey-name %s.%s.\nalgorithm %s\ncreated %s\n"
			       "kdf %s\n",
			       a.name, a.name, s->zone, a.name, s->zone, a.alg, when,
			       a.kdf[0] ? a.kdf : "v=0 (legacy: 'account passwd' moves it to new parameters)");
			status = 0;
		}
	} else {
		status = usage_account();
	}
	OPENSSL_cleanse(&a, sizeof(a));
	store_close(st);
	return status;
}

int cli_control(const char *path, const char *cmd, FILE *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	n = (ssize_t)strlen(cmd);
	if (write(fd, cmd, (size_t)n) != n || write(fd, "\n", 1) != 1) {
		e = errno;
		close(fd);
		return -e;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

int cli_stats(const struct dnsd_settings *s)
{
	int rc = cli_control(s->control, "stats", stdout);

	if (rc) {
		fprintf(stderr, "autotunnel-dnsd: control socket %s: %s (is the server running?)\n",
			s->control, strerror(-rc));
		return 1;
	}
	return 0;
}
