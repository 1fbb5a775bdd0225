/*
 * src/autotunneld/kdc.c: the local KDC's keeper and the agent's side of it
 * (see kdc.h, docs/sso.md).
 */
#include "autotunneld/kdc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/kerberos.h"
#include "agent/name.h"
#include "autotunneld/fsutil.h"
#include "common/clock.h"
#include "common/log.h"
#include "util/encode.h"
#include "util/random.h"

#define PATH_LEN 4200
#define MSG_MAX 1024
#define RESTART_MIN_MS 1000
#define RESTART_MAX_MS 60000
#define STOP_WAIT_MS 3000
#define CONF_MAX 65536
#define PEM_MAX 16384
/* where MIT's programs are (Debian: krb5-kdc, krb5-admin-server) */
#define TOOL_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/* What the keeper was given at the fork: fixed for its life. */
struct keeper_paths {
	char state[PATH_LEN], run[PATH_LEN];
	char dir[PATH_LEN];		/* STATE/kdc: database, stash, kdc.conf, logs */
	char rundir[PATH_LEN];		/* RUN/krb5: what the local user reads, the keytab */
	char user[AGENT_KRB_USER_MAX + 1];
	uid_t uid;
	gid_t gid;
};

struct atd_kdc {
	struct event_base *base;
	struct atd_kdc_ops ops;
	void *arg;
	struct event *ev;
	int fd;				/* to the keeper; -1 without one */
	pid_t keeper;
	struct keeper_paths p;
	bool up;
	char realm[AGENT_KRB_REALM_MAX + 1];
	/* what the client configuration needs */
	bool signed_in;
	char account[AGENT_LABEL_MAX + 1], domain[AGENT_NAME_MAX + 1];
	struct agent_host_entry self;
	struct agent_host_entry *peers;
	size_t npeers;
};

/* ================= the keeper (root, a process of its own) ================= */

struct keeper {
	struct keeper_paths p;
	int fd;
	pid_t kdc;			/* krb5kdc, 0 when not running */
	bool want;			/* it should run */
	char realm[AGENT_KRB_REALM_MAX + 1];
	uint64_t restart_at, started_at;
	uint32_t backoff_ms;
};

/* snprintf into a path or message buffer: -ENAMETOOLONG rather than a cut path */
__attribute__((format(printf, 3, 4)))
static int pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

__attribute__((format(printf, 2, 3)))
static void tell(struct keeper *kp, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && send(kp->fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
		log_debug("kdc: cannot tell the agent: %s", strerror(errno));
}

/*
 * Run PROGRAM ARGS with MIT's tools' environment (our profiles only),
 * @p input on its standard input, its output appended to DIR/setup.log;
 * wait for it. 0 if it exited 0, else -EIO (or -errno).
 */
static int run(const struct keeper_paths *p, char *const argv[], const char *input)
{
	char cfg[PATH_LEN + 16], prof[PATH_LEN + 24], logp[PATH_LEN + 16];
	char *envp[] = { "PATH=" TOOL_PATH, cfg, prof, NULL };
	int in[2], st;
	pid_t pid;

	(void)pathf(cfg, sizeof(cfg), "KRB5_CONFIG=%s/krb5.conf", p->dir);
	(void)pathf(prof, sizeof(prof), "KRB5_KDC_PROFILE=%s/kdc.conf", p->dir);
	(void)pathf(logp, sizeof(logp), "%s/setup.log", p->dir);
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	if (pid == 0) {
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (dup2(in[0], 0) < 0 || lfd < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		execvpe(argv[0], argv, envp);
		_exit(127);
	}
	close(in[0]);
	if (input) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			ssize_t w = write(in[1], input + off, len - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	close(in[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static int write_text(const char *path, const char *text, size_t len, mode_t mode)
{
	return fsutil_write_atomic(path, (const uint8_t *)text, len, mode);
}

/*
 * Read @p from, a file in the agent's state directory, which the agent's
 * user owns: only a regular file with one name, not followed through a
 * link (so that the keeper, root, copies nothing the agent could not read).
 */
static int read_own(const char *from, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size >= (off_t)cap) {
		close(fd);
		return -EPERM;
	}
	while ((n = read(fd, buf + off, cap - off)) > 0)
		off += (size_t)n;
	close(fd);
	if (n < 0)
		return -EIO;
	*len = off;
	return 0;
}

/* Copy @p from to @p to with @p mode, owned by @p uid (or root when (uid_t)-1). */
static int copy_file(const char *from, const char *to, mode_t mode, uid_t uid, gid_t gid)
{
	uint8_t *buf = malloc(PEM_MAX);
	size_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = read_own(from, buf, PEM_MAX, &n);
	if (!ret)
		ret = fsutil_write_atomic(to, buf, n, mode);
	if (!ret && uid != (uid_t)-1 && chown(to, uid, gid) < 0)
		ret = -errno;
	OPENSSL_cleanse(buf, PEM_MAX);
	free(buf);
	return ret;
}

static void unlink_in(const char *dir, const char *const *names)
{
	char path[PATH_LEN + 32];

	for (; *names; names++) {
		(void)pathf(path, sizeof(path), "%s/%s", dir, *names);
		unlink(path);
	}
}

static const char *const db_files[] = {
	"principal", "principal.kadm5", "principal.kadm5.lock", "principal.ok", "stash",
	"kdc.conf", "krb5.conf", "kdc.log", "setup.log", "kadm5.acl", "kdc.pem", "kdc.key", "anchor.pem",
	"krb5kdc.out", NULL,
};
static const char *const run_files[] = { "anchor.pem", "client.pem", "client.key", "host.keytab", NULL };

static void kdc_kill(struct keeper *kp)
{
	uint64_t until;
	int st;

	if (!kp->kdc)
		return;
	kill(kp->kdc, SIGTERM);
	until = clock_now_ms() + STOP_WAIT_MS;
	while (waitpid(kp->kdc, &st, WNOHANG) == 0) {
		if (clock_now_ms() >= until) {
			kill(kp->kdc, SIGKILL);
			waitpid(kp->kdc, &st, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	kp->kdc = 0;
}

static void kdc_spawn(struct keeper *kp)
{
	char *argv[] = { "krb5kdc", "-n", "-r", kp->realm, NULL };
	char cfg[PATH_LEN + 16], prof[PATH_LEN + 24], logp[PATH_LEN + 16];
	char *envp[] = { "PATH=" TOOL_PATH, cfg, prof, NULL };
	pid_t pid;

	(void)pathf(cfg, sizeof(cfg), "KRB5_CONFIG=%s/krb5.conf", kp->p.dir);
	(void)pathf(prof, sizeof(prof), "KRB5_KDC_PROFILE=%s/kdc.conf", kp->p.dir);
	(void)pathf(logp, sizeof(logp), "%s/krb5kdc.out", kp->p.dir);
	pid = fork();
	if (pid < 0) {
		log_warn("kdc: cannot start krb5kdc");
		return;
	}
	if (pid == 0) {
		int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (nfd < 0 || lfd < 0 || dup2(nfd, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		execvpe(argv[0], argv, envp);
		_exit(127);
	}
	kp->kdc = pid;
	kp->started_at = clock_now_ms();
	log_info("kdc: krb5kdc (pid %d) serves %s", (int)pid, kp->realm);
}

/* Tear down: KDC, database, copies. */
static void keeper_clear(struct keeper *kp)
{
	kdc_kill(kp);
	kp->want = false;
	unlink_in(kp->p.dir, db_files);
	unlink_in(kp->p.rundir, run_files);
}

/*
 * Copy what the local user's kinit reads: the anchor and the PKINIT client
 * identity, which is this host's certificate and key (docs/sso.md §2: the
 * certificate names the account's principal).
 */
static int client_copy(struct keeper *kp)
{
	char from[PATH_LEN + 32], to[PATH_LEN + 32];
	int ret;

	(void)pathf(from, sizeof(from), "%s/anchor.pem", kp->p.state);
	(void)pathf(to, sizeof(to), "%s/anchor.pem", kp->p.rundir);
	if ((ret = copy_file(from, to, 0644, (uid_t)-1, 0)))
		return ret;
	(void)pathf(from, sizeof(from), "%s/host.pem", kp->p.state);
	(void)pathf(to, sizeof(to), "%s/client.pem", kp->p.rundir);
	if ((ret = copy_file(from, to, 0644, (uid_t)-1, 0)))
		return ret;
	(void)pathf(from, sizeof(from), "%s/host.key", kp->p.state);
	(void)pathf(to, sizeof(to), "%s/client.key", kp->p.rundir);
	/* the account's person on this host, and no one else, may use the account's identity */
	return copy_file(from, to, 0400, kp->p.uid, kp->p.gid);
}

/*
 * krb5kdc reads copies in the keeper's own directory: the anchor, and this
 * host's certificate and key as its KDC certificate (docs/sso.md §2: its
 * dNSName H.D and id-kp-serverAuth are what the clients check, by
 * pkinit_kdc_hostname and pkinit_eku_checking = kpServerAuth).
 */
static int kdc_copy(struct keeper *kp, char anchor[static PATH_LEN + 32], char cert[static PATH_LEN + 32],
		    char key[static PATH_LEN + 32])
{
	static const char *const from[3] = { "anchor.pem", "host.pem", "host.key" };
	static const char *const to[3] = { "anchor.pem", "kdc.pem", "kdc.key" };
	char *const dst[3] = { anchor, cert, key };
	char path[PATH_LEN + 32];
	int ret;

	for (size_t i = 0; i < 3; i++) {
		(void)pathf(path, sizeof(path), "%s/%s", kp->p.state, from[i]);
		(void)pathf(dst[i], PATH_LEN + 32, "%s/%s", kp->p.dir, to[i]);
		if ((ret = copy_file(path, dst[i], i == 2 ? 0600 : 0644, (uid_t)-1, 0))) {
			log_info("kdc: no usable %s (%s): no KDC on this host until it has its certificate from "
				 "the account authority (anchor.pem, host.pem, host.key; [agent] authority = yes)",
				 path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A new database for @p realm and its principals; then krb5kdc. */
static int keeper_setup(struct keeper *kp, const char *account, const char *domain, const char *fqdn,
			const char *label, const uint8_t ula[16])
{
	static char conf[CONF_MAX];
	char anchor[PATH_LEN + 32], cert[PATH_LEN + 32], key[PATH_LEN + 32], keytab[PATH_LEN + 32];
	char match[AGENT_NAME_MAX * 2 + 32], script[PATH_LEN * 2], pw[65], path[PATH_LEN + 32];
	uint8_t raw[32];
	struct stat sb;
	int n, ret;

	(void)pathf(keytab, sizeof(keytab), "%s/host.keytab", kp->p.rundir);
	if ((ret = kdc_copy(kp, anchor, cert, key)))
		return ret;
	if ((ret = agent_krb_realm(kp->realm, sizeof(kp->realm), fqdn)))
		return ret;
	{
		struct agent_krb_kdc k = { kp->realm, ula, kp->p.dir, anchor, cert, key };

		(void)pathf(path, sizeof(path), "%s/kdc.conf", kp->p.dir);
		if ((n = agent_krb_kdc_conf(conf, sizeof(conf), &k)) < 0)
			return n;
		if ((ret = write_text(path, conf, (size_t)n, 0600)))
			return ret;
	}
	n = snprintf(conf, sizeof(conf), "[libdefaults]\n\tdefault_realm = %s\n", kp->realm);
	(void)pathf(path, sizeof(path), "%s/krb5.conf", kp->p.dir);
	if ((ret = write_text(path, conf, (size_t)n, 0600)))
		return ret;
	/* a master key nobody types: the stash file is what krb5kdc reads */
	if (rand_bytes(raw, sizeof(raw)))
		return -EIO;
	ret = hex_encode(pw, sizeof(pw), raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (ret < 0)
		return ret;
	snprintf(script, sizeof(script), "%s\n%s\n", pw, pw);
	OPENSSL_cleanse(pw, sizeof(pw));
	{
		char *argv[] = { "kdb5_util", "create", "-s", "-r", kp->realm, "-W", NULL };

		ret = run(&kp->p, argv, script);
		OPENSSL_cleanse(script, sizeof(script));
		if (ret) {
			log_warnx("kdc: kdb5_util create failed (see %s/setup.log)", kp->p.dir);
			return ret;
		}
	}
	if ((n = agent_krb_cert_match(match, sizeof(match), account, domain)) < 0)
		return n;
	unlink(keytab);
	/*
	 * The account's principal has no key: PKINIT is its only way in
	 * (requires_preauth), with a certificate pkinit_cert_match accepts.
	 */
	if (pathf(script, sizeof(script),
		 "addprinc -nokey +requires_preauth %s\n"
		 "set_string %s pkinit_cert_match \"%s\"\n"
		 "addprinc -randkey host/%s\n"
		 "addprinc -randkey host/%s\n"
		 "ktadd -k %s host/%s host/%s\n",
		 account, account, match, fqdn, label, keytab, fqdn, label) < 0)
		return -ENAMETOOLONG;
	{
		char *argv[] = { "kadmin.local", "-r", kp->realm, NULL };

		if ((ret = run(&kp->p, argv, script)) || stat(keytab, &sb) < 0 || sb.st_size == 0) {
			log_warnx("kdc: kadmin.local could not make the principals (see %s/setup.log)", kp->p.dir);
			return ret ? ret : -EIO;
		}
	}
	return 0;
}

static bool ula_parse(const char *s, uint8_t ula[16])
{
	return inet_pton(AF_INET6, s, ula) == 1 && (ula[0] & 0xfe) == 0xfc;
}

/*
 * "renew": this host's certificate changed (a renewal, docs/authority.md
 * §5.3). Copy it again and restart krb5kdc, which reads its certificate at
 * start only; the database, and so the tickets it issued, are kept.
 */
static void keeper_renew(struct keeper *kp)
{
	char anchor[PATH_LEN + 32], cert[PATH_LEN + 32], key[PATH_LEN + 32];
	int ret;

	if (!kp->want)
		return;
	if ((ret = client_copy(kp)))
		log_info("kdc: no PKINIT client identity after the renewal (%s)", strerror(-ret));
	if (kdc_copy(kp, anchor, cert, key))
		return;	/* the copies of the last certificate stay */
	kdc_kill(kp);
	kp->restart_at = 0;
	kdc_spawn(kp);
	tell(kp, "up %s", kp->realm);
}

/* A message from the agent: "start ACCOUNT D H ULA", "renew" or "stop". */
static void keeper_msg(struct keeper *kp, char *msg)
{
	char *w[6], *save = NULL, fqdn[AGENT_NAME_MAX + 2], canon[AGENT_NAME_MAX + 1];
	char match[AGENT_NAME_MAX * 2 + 32];
	uint8_t ula[16];
	size_t nw = 0;
	int ret;

	for (char *t = strtok_r(msg, " ", &save); t && nw < 6; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	if (nw == 1 && !strcmp(w[0], "renew")) {
		keeper_renew(kp);
		return;
	}
	if (nw == 1 && !strcmp(w[0], "stop")) {
		keeper_clear(kp);
		log_info("kdc: stopped; its database is removed");
		tell(kp, "down");
		return;
	}
	/* the account's name as agent_krb_cert_match() takes it: a label, nothing to escape */
	if (nw != 5 || strcmp(w[0], "start") || agent_krb_cert_match(match, sizeof(match), w[1], w[2]) < 0 ||
	    agent_name_canon(canon, sizeof(canon), w[2]) < 0 || strcmp(canon, w[2]) ||
	    agent_label_check(w[3], strlen(w[3])) || !ula_parse(w[4], ula) ||
	    snprintf(fqdn, sizeof(fqdn), "%s.%s", w[3], w[2]) >= (int)sizeof(fqdn) ||
	    agent_name_canon(canon, sizeof(canon), fqdn) < 0 || strcmp(canon, fqdn)) {
		log_warnx("kdc: refusing a malformed request from the agent");
		return;
	}
	keeper_clear(kp);
	if (fsutil_mkdir_p(kp->p.dir, 0700) || fsutil_mkdir_p(kp->p.rundir, 0755)) {
		log_warnx("kdc: cannot make %s or %s", kp->p.dir, kp->p.rundir);
		tell(kp, "down");
		return;
	}
	if ((ret = client_copy(kp)))
		log_info("kdc: no PKINIT client identity (%s/host.pem and host.key, with anchor.pem): "
			 "kinit from this host needs one (%s)", kp->p.state, strerror(-ret));
	if ((ret = keeper_setup(kp, w[1], w[2], fqdn, w[3], ula))) {
		tell(kp, "down");
		return;
	}
	kp->want = true;
	kp->backoff_ms = RESTART_MIN_MS;
	kdc_spawn(kp);
	tell(kp, "up %s", kp->realm);
}

/* Reap krb5kdc; plan a restart with back-off when it should run. */
static void keeper_reap(struct keeper *kp)
{
	int st;

	if (!kp->kdc || waitpid(kp->kdc, &st, WNOHANG) != kp->kdc)
		return;
	kp->kdc = 0;
	if (!kp->want)
		return;
	/* a KDC that ran a minute was healthy: start again soon */
	if (clock_now_ms() - kp->started_at > RESTART_MAX_MS)
		kp->backoff_ms = RESTART_MIN_MS;
	log_warnx("kdc: krb5kdc exited (%s %d); starting it again in %u ms (see %s/kdc.log)",
		  WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		  kp->backoff_ms, kp->p.dir);
	kp->restart_at = clock_now_ms() + kp->backoff_ms;
	kp->backoff_ms = kp->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : kp->backoff_ms * 2;
}

static volatile sig_atomic_t keeper_term;

static void on_term(int sig)
{
	(void)sig;
	keeper_term = 1;
}

static void __attribute__((noreturn)) keeper_main(struct keeper *kp)
{
	char msg[MSG_MAX];

	while (!keeper_term) {
		struct pollfd pfd = { kp->fd, POLLIN, 0 };
		uint64_t now = clock_now_ms();
		int timeout = 500;
		ssize_t n;

		if (kp->want && !kp->kdc && kp->restart_at) {
			if (now >= kp->restart_at) {
				kp->restart_at = 0;
				kdc_spawn(kp);
			} else if (kp->restart_at - now < (uint64_t)timeout) {
				timeout = (int)(kp->restart_at - now);
			}
		}
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			break;
		keeper_reap(kp);
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(kp->fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			break;	/* the agent is gone */
		msg[n] = '\0';
		keeper_msg(kp, msg);
	}
	/* the database lives as long as the agent's sign-in: nothing of it is kept */
	keeper_clear(kp);
	_exit(0);
}

/* ================= the agent's side ================= */

/* The first user with uid >= 1000 (Debian's first person), lowest uid first. */
static int default_user(char *out, size_t cap)
{
	struct passwd *pw;
	uid_t best = (uid_t)-1;

	setpwent();
	while ((pw = getpwent()))
		if (pw->pw_uid >= 1000 && pw->pw_uid < 60000 && pw->pw_uid < best &&
		    agent_krb_user_check(pw->pw_name) == 0) {
			best = pw->pw_uid;
			snprintf(out, cap, "%s", pw->pw_name);
		}
	endpwent();
	return best == (uid_t)-1 ? -ENOENT : 0;
}

static bool tool_exists(const char *name)
{
	char path[64];

	(void)pathf(path, sizeof(path), "/usr/sbin/%s", name);
	return access(path, X_OK) == 0;
}

static void write_client_conf(struct atd_kdc *k)
{
	static char buf[CONF_MAX * 4];
	char anchor[PATH_LEN + 32], cert[PATH_LEN + 32], key[PATH_LEN + 32], keytab[PATH_LEN + 32];
	char path[PATH_LEN + 32];
	struct agent_krb_client c = {
		.account = k->account,
		.domain = k->domain,
		.self = k->up ? &k->self : NULL,
		.user = k->p.user,
		.keytab = keytab,
		.peers = k->peers,
		.npeers = k->npeers,
		.anchor = anchor,
		.cert = cert,
		.key = key,
	};
	int n, ret;

	(void)pathf(path, sizeof(path), "%s/krb5.conf", k->p.run);
	if (!k->signed_in) {
		unlink(path);
		return;
	}
	(void)pathf(anchor, sizeof(anchor), "%s/anchor.pem", k->p.rundir);
	(void)pathf(cert, sizeof(cert), "%s/client.pem", k->p.rundir);
	(void)pathf(key, sizeof(key), "%s/client.key", k->p.rundir);
	(void)pathf(keytab, sizeof(keytab), "%s/host.keytab", k->p.rundir);
	if ((n = agent_krb_client_conf(buf, sizeof(buf), &c)) < 0) {
		log_warnx("kdc: cannot write %s: %s", path, strerror(-n));
		return;
	}
	if ((ret = fsutil_write_atomic(path, (const uint8_t *)buf, (size_t)n, 0644)))
		log_warnx("kdc: cannot write %s: %s", path, strerror(-ret));
}

static void on_keeper(evutil_socket_t fd, short what, void *arg)
{
	struct atd_kdc *k = arg;
	char msg[MSG_MAX];
	ssize_t n;

	(void)what;
	n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_warnx("kdc: the keeper is gone; no KDC from now on");
		event_del(k->ev);
		close(k->fd);
		k->fd = -1;
		n = 4;
		memcpy(msg, "down", 4);
	}
	msg[n] = '\0';
	if (!strncmp(msg, "up ", 3) && strlen(msg + 3) < sizeof(k->realm)) {
		snprintf(k->realm, sizeof(k->realm), "%s", msg + 3);
		k->up = true;
	} else if (!strcmp(msg, "down")) {
		k->up = false;
		k->realm[0] = '\0';
	} else {
		return;
	}
	write_client_conf(k);
	k->ops.changed(k->arg);
}

static void keeper_send(struct atd_kdc *k, const char *msg)
{
	if (k->fd >= 0 && send(k->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("kdc: cannot reach the keeper");
}

int atd_kdc_new(struct event_base *base, const struct atd_kdc_conf *c, const struct atd_kdc_ops *ops,
		void *arg, struct atd_kdc **out)
{
	struct atd_kdc *k = calloc(1, sizeof(*k));
	struct keeper kp = { 0 };
	int sv[2];

	if (!k)
		return -ENOMEM;
	k->base = base;
	k->ops = *ops;
	k->arg = arg;
	k->fd = -1;
	*out = k;
	snprintf(k->p.state, sizeof(k->p.state), "%s", c->state_dir);
	snprintf(k->p.run, sizeof(k->p.run), "%s", c->run_dir);
	/*
	 * Beside the agent's directories, not in them: the keeper is root and
	 * the agent's user owns those, so a name there could be swapped for a
	 * link between the keeper's check and its write.
	 */
	snprintf(k->p.dir, sizeof(k->p.dir), "%s-kdc", c->state_dir);
	snprintf(k->p.rundir, sizeof(k->p.rundir), "%s-krb5", c->run_dir);
	if (c->disabled) {
		log_info("kdc: off (no-kdc)");
		return 0;
	}
	if (c->user)
		snprintf(k->p.user, sizeof(k->p.user), "%s", c->user);
	else if (default_user(k->p.user, sizeof(k->p.user))) {
		log_info("kdc: no local user to map the account to (no user with uid >= 1000; set [agent] kdc-user): "
			 "no KDC on this host");
		return 0;
	}
	{
		struct passwd *pw = getpwnam(k->p.user);

		if (agent_krb_user_check(k->p.user) || !pw) {
			log_warnx("kdc: kdc-user '%s' is not a local user: no KDC on this host", k->p.user);
			return 0;
		}
		k->p.uid = pw->pw_uid;
		k->p.gid = pw->pw_gid;
	}
	if (!tool_exists("krb5kdc") || !tool_exists("kdb5_util") || !tool_exists("kadmin.local")) {
		log_info("kdc: MIT Kerberos is not installed (krb5-kdc, krb5-admin-server, krb5-pkinit): "
			 "no KDC on this host");
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	k->keeper = fork();
	if (k->keeper < 0) {
		log_warn("kdc: cannot fork its keeper");
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	if (k->keeper == 0) {
		/* the keeper: no controlling terminal (kdb5_util reads its key from stdin), and gone with the agent */
		struct sigaction sa = { .sa_handler = on_term };

		/* nothing of the agent's (TUN device, sockets) stays open in the keeper or krb5kdc */
		if (dup2(sv[1], 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		setsid();
		/* killed with the agent, it still stops krb5kdc and removes the database */
		sigaction(SIGTERM, &sa, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		kp.p = k->p;
		kp.fd = 3;
		keeper_main(&kp);
	}
	close(sv[1]);
	k->fd = sv[0];
	if (!(k->ev = event_new(base, k->fd, EV_READ | EV_PERSIST, on_keeper, k)) || event_add(k->ev, NULL))
		return -ENOMEM;
	log_info("kdc: keeper %d ready; the account's principal maps to the local user %s", (int)k->keeper,
		 k->p.user);
	return 0;
}

void atd_kdc_free(struct atd_kdc *k)
{
	int st;

	if (!k)
		return;
	if (k->ev)
		event_free(k->ev);
	if (k->fd >= 0)
		close(k->fd);	/* the keeper stops krb5kdc and exits */
	if (k->keeper > 0)
		while (waitpid(k->keeper, &st, 0) < 0 && errno == EINTR)
			;
	if (k->signed_in) {
		char path[PATH_LEN + 32];

		(void)pathf(path, sizeof(path), "%s/krb5.conf", k->p.run);
		unlink(path);
	}
	free(k->peers);
	free(k);
}

void atd_kdc_start(struct atd_kdc *k, const char *account, const char *domain, const char *host,
		   const uint8_t ula[16])
{
	char msg[MSG_MAX], u[INET6_ADDRSTRLEN];

	k->signed_in = true;
	snprintf(k->account, sizeof(k->account), "%s", account);
	snprintf(k->domain, sizeof(k->domain), "%s", domain);
	snprintf(k->self.label, sizeof(k->self.label), "%s", host);
	snprintf(k->self.fqdn, sizeof(k->self.fqdn), "%s.%s", host, domain);
	memcpy(k->self.ula, ula, 16);
	write_client_conf(k);
	inet_ntop(AF_INET6, ula, u, sizeof(u));
	snprintf(msg, sizeof(msg), "start %s %s %s %s", account, domain, host, u);
	keeper_send(k, msg);
}

void atd_kdc_creds(struct atd_kdc *k)
{
	if (!k->signed_in)
		return;
	/* the first certificate of this sign-in: start now; a renewal: take the new one */
	if (k->up) {
		keeper_send(k, "renew");
	} else {
		char account[AGENT_LABEL_MAX + 1], domain[AGENT_NAME_MAX + 1];
		char host[AGENT_LABEL_MAX + 1];
		uint8_t ula[16];

		snprintf(account, sizeof(account), "%s", k->account);
		snprintf(domain, sizeof(domain), "%s", k->domain);
		snprintf(host, sizeof(host), "%s", k->self.label);
		memcpy(ula, k->self.ula, 16);
		atd_kdc_start(k, account, domain, host, ula);
	}
}

void atd_kdc_stop(struct atd_kdc *k)
{
	if (!k->signed_in)
		return;
	k->signed_in = false;
	k->npeers = 0;
	write_client_conf(k);
	keeper_send(k, "stop");
}

void atd_kdc_hosts(struct atd_kdc *k, const struct agent_host_entry *self,
		   const struct agent_host_entry *peers, size_t n)
{
	struct agent_host_entry *copy = n ? calloc(n, sizeof(*copy)) : NULL;

	if (k->signed_in && self && strcasecmp(self->fqdn, k->self.fqdn) && !memcmp(self->ula, k->self.ula, 16)) {
		char account[AGENT_LABEL_MAX + 1], domain[AGENT_NAME_MAX + 1];

		log_info("kdc: this host is %s now (was %s): its KDC starts again for the new realm", self->fqdn,
			 k->self.fqdn);
		snprintf(account, sizeof(account), "%s", k->account);
		snprintf(domain, sizeof(domain), "%s", k->domain);
		atd_kdc_start(k, account, domain, self->label, self->ula);
	}

	if (n && !copy)
		return;
	if (n)
		memcpy(copy, peers, n * sizeof(*copy));
	free(k->peers);
	k->peers = copy;
	k->npeers = n;
	write_client_conf(k);
}

const char *atd_kdc_realm(const struct atd_kdc *k)
{
	return k && k->up ? k->realm : NULL;
}
