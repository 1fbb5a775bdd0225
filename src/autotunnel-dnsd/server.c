#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/commit.h"
#include "autotunnel-dnsd/control.h"
#include "autotunnel-dnsd/dnsd.h"
#include "autotunnel-dnsd/engine.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/parent.h"
#include "autotunnel-dnsd/server.h"
#include "autotunnel-dnsd/store.h"
#include "autotunnel-dnsd/streams.h"
#include "autotunnel-dnsd/tls.h"
#include "autotunnel-dnsd/udp.h"
#include "autotunnel-dnsd/zone.h"

#define MAX_WORKERS 64

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[INET6_ADDRSTRLEN];
};

/* Split a comma-separated list of numeric addresses. */
static int parse_addrs(const char *list, uint16_t port, struct addr *out, int max, char *err,
		       size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct addr *a = &out[n];

		if (n == max) {
			snprintf(err, errlen, "at most %d addresses", max);
			return -EINVAL;
		}
		memset(a, 0, sizeof(*a));
		if (inet_pton(AF_INET, tok, &((struct sockaddr_in *)&a->ss)->sin_addr) == 1) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			a->len = sizeof(*s4);
		} else if (inet_pton(AF_INET6, tok, &((struct sockaddr_in6 *)&a->ss)->sin6_addr) == 1) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			a->len = sizeof(*s6);
		} else {
			snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", tok);
			return -EINVAL;
		}
		snprintf(a->text, sizeof(a->text), "%s", tok);
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no address in '%s'", list);
		return -EINVAL;
	}
	return n;
}

static void set_port(struct addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
}

static int open_socket(const struct addr *a, int type, bool reuseport, char *err, size_t errlen)
{
	int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	uint16_t port = ntohs(a->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
							 : ((const struct sockaddr_in *)&a->ss)->sin_port);

	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot %s %s port %u (%s): %s", fd < 0 ? "open a socket for" : "bind",
		 a->text, port, type == SOCK_DGRAM ? "UDP" : "TCP", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Make the directory that holds @p path (one level, 0700) if it is missing. */
static void make_parent(const char *path)
{
	char dir[1024], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		log_warn("mkdir %s", dir);
}

static int glue_setup(struct dnsd *d, const struct dnsd_settings *s, const struct addr *listen,
		      int nlisten, char *err, size_t errlen)
{
	struct addr a[DNSD_MAX_ADDRS];
	int n = nlisten;

	if (s->server_address) {
		n = parse_addrs(s->server_address, 0, a, DNSD_MAX_ADDRS, err, errlen);
		if (n < 0)
			return n;
		listen = a;
	}
	for (int i = 0; i < n; i++) {
		if (listen[i].ss.ss_family == AF_INET) {
			const struct in_addr *in = &((const struct sockaddr_in *)&listen[i].ss)->sin_addr;

			if (in->s_addr != htonl(INADDR_ANY))
				memcpy(d->v4[d->n_v4++], in, 4);
		} else {
			const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&listen[i].ss)->sin6_addr;

			if (!IN6_IS_ADDR_UNSPECIFIED(in6))
				memcpy(d->v6[d->n_v6++], in6, 16);
		}
	}
	return 0;
}

/*
 * A thread of the server's besides the workers, with a store connection of
 * its own, asleep on an eventfd until woken: the checkpointer and the
 * parent's delegation changes. Its owner opens st and efd, and starts the
 * thread, which returns once it sees stop after a wake.
 */
struct side_thread {
	const char *name;	/* for the log */
	pthread_t thread;
	struct store *st;
	int efd;		/* -1: none */
	atomic_bool stop;
	bool started;
};

static void side_wake(struct side_thread *t)
{
	uint64_t one = 1;

	if (t->started && write(t->efd, &one, sizeof(one)) < 0)
		log_warn("%s: eventfd", t->name);
}

/* Stop the thread if it runs, then close its eventfd and its connection. */
static void side_stop(struct side_thread *t)
{
	if (t->started) {
		atomic_store(&t->stop, true);
		side_wake(t);
		pthread_join(t->thread, NULL);
		t->started = false;
	}
	if (t->efd >= 0)
		close(t->efd);
	t->efd = -1;
	store_close(t->st);
	t->st = NULL;
}

/*
 * The WAL checkpointer: its own connection, its own thread (see store.h).
 * It sleeps on an eventfd until there is something to checkpoint: after a
 * commit the engine arms a one-shot timer (CHECKPOINT_DELAY_MS, so that a
 * burst of commits is checkpointed once, as often as the old 200 ms poll
 * did under load) and its expiry wakes the thread. Idle, nothing runs.
 */
#define CHECKPOINT_DELAY_MS 200

struct checkpointer {
	struct side_thread t;
	struct event *timer;	/* armed while a checkpoint is due */
};

static void *checkpoint_run(void *arg)
{
	struct side_thread *t = arg;

	for (;;) {
		uint64_t n;

		if (read(t->efd, &n, sizeof(n)) < 0 && errno == EINTR)
			continue;
		if (atomic_load(&t->stop))
			break;
		if (store_checkpoint(t->st))
			log_debug_rl("checkpoint: %s", store_errmsg(t->st));
	}
	return NULL;
}

static void on_checkpoint_due(evutil_socket_t fd, short what, void *arg)
{
	struct checkpointer *c = arg;

	side_wake(&c->t);
}

/* The engine committed: the WAL grew. */
static void wal_grew(void *arg)
{
	struct checkpointer *c = arg;
	struct timeval tv = { 0, CHECKPOINT_DELAY_MS * 1000 };

	if (!evtimer_pending(c->timer, NULL))
		evtimer_add(c->timer, &tv);
}

static void checkpointer_start(struct checkpointer *c, const struct dnsd_settings *s, struct store *main,
			       struct event_base *base, struct engine *e)
{
	char err[256];

	c->t.efd = -1;
	atomic_init(&c->t.stop, false);
	if (store_open(&c->t.st, s->db, s->sync_full, err, sizeof(err))) {
		log_warnx("checkpointer: %s; commits checkpoint themselves", err);
		return;
	}
	c->t.efd = eventfd(0, EFD_CLOEXEC);
	c->timer = c->t.efd >= 0 ? evtimer_new(base, on_checkpoint_due, c) : NULL;
	if (!c->timer || store_autocheckpoint(main, false) ||
	    pthread_create(&c->t.thread, NULL, checkpoint_run, &c->t)) {
		if (store_autocheckpoint(main, true))
			log_warnx("cannot restore automatic checkpoints");
		if (c->timer)
			event_free(c->timer);
		c->timer = NULL;
		side_stop(&c->t);
		return;
	}
	c->t.started = true;
	engine_set_commit_hook(e, wal_grew, c);
}

static void checkpointer_stop(struct checkpointer *c)
{
	side_stop(&c->t);
	if (c->timer)
		event_free(c->timer);
	c->timer = NULL;
}

/*
 * The parent's delegation changes (parent.h): a thread of their own, with
 * its own store connection, because an UPDATE to the parent blocks (with
 * its timeouts) and must never hold up the engine. It sends what waits at
 * start, after every reload (an account command kept a change), and every
 * PARENT_RETRY_S while something waits; idle, it sleeps.
 */
struct parentsync {
	struct side_thread t;
	struct parent_cfg cfg;
};

static void *parentsync_run(void *arg)
{
	struct parentsync *p = arg;
	size_t left = 0;

	for (;;) {
		struct pollfd pfd = { .fd = p->t.efd, .events = POLLIN };
		uint64_t n;

		if (atomic_load(&p->t.stop))
			break;
		if (parent_sync(&p->cfg, p->t.st, &left) < 0)
			log_warnx("parent: %s", store_errmsg(p->t.st));
		/* nothing left: sleep until woken; else try again in a while */
		if (poll(&pfd, 1, left ? PARENT_RETRY_S * 1000 : -1) > 0 && read(p->t.efd, &n, sizeof(n)) < 0)
			log_debug("parent: eventfd: %s", strerror(errno));
	}
	return NULL;
}

static void parentsync_wake(struct parentsync *p)
{
	side_wake(&p->t);
}

/* Before privileges are dropped: the key file may be root's. */
static int parentsync_init(struct parentsync *p, const struct dnsd_settings *s)
{
	char err[512];
	int rc = parent_cfg_load(&p->cfg, s, err, sizeof(err));

	p->t.efd = -1;
	atomic_init(&p->t.stop, false);
	if (rc == -ENOENT)
		return 0;
	if (rc || store_open(&p->t.st, s->db, s->sync_full, err, sizeof(err))) {
		log_warnx("%s", err);
		return -EINVAL;
	}
	p->t.efd = eventfd(0, EFD_CLOEXEC);
	if (p->t.efd < 0) {
		log_warn("eventfd");
		return -EIO;
	}
	log_info("parent zone %s at %s: delegations registered with key %s", s->zone, p->cfg.addr_text,
		 s->parent_key_file);
	return 1;
}

static void parentsync_start(struct parentsync *p)
{
	if (p->t.efd < 0)
		return;
	if (pthread_create(&p->t.thread, NULL, parentsync_run, p)) {
		log_warnx("parent: cannot start its thread: delegation changes wait for account commands");
		return;
	}
	p->t.started = true;
}

static void parentsync_stop(struct parentsync *p)
{
	side_stop(&p->t);
	parent_cfg_wipe(&p->cfg);
}

/*
 * The CPU for each UDP worker: the i-th of the CPUs this process may run
 * on, or -1 (not pinned). Pinned, the workers keep to different cores when
 * another program keeps one busy; the scheduler tends to stack short
 * bursts of work (an LLQ fan-out) on the core that looks idle.
 */
static void worker_cpus(const struct dnsd_settings *s, int n, int *cpus)
{
	cpu_set_t set;
	int allowed[MAX_WORKERS], na = 0;

	for (int w = 0; w < n; w++)
		cpus[w] = -1;
	if (!s->cpu_affinity || n < 2 || sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE && na < MAX_WORKERS; c++)
		if (CPU_ISSET(c, &set))
			allowed[na++] = c;
	if (na < 2)
		return;
	for (int w = 0; w < n; w++)
		cpus[w] = allowed[w % na];
}

/* LLQ events wait on the fan-out queue: every UDP worker helps to send them. */
static void kick_workers(void *arg)
{
	struct dnsd *d = arg;

	if (atomic_load(&d->stopping))
		return;
	for (int w = 0; w < d->n_workers; w++)
		worker_kick(d->workers[w]);
}

/* What the control socket's commands do. */
struct server {
	struct dnsd *d;
	struct engine *e;
	struct streams *streams;
	struct parentsync *parent;
};

static void ctl_stats(void *arg, FILE *fp)
{
	struct server *srv = arg;
	struct stats workers = { 0 };

	for (int i = 0; i < srv->d->n_workers; i++)
		stats_sum(&workers, worker_stats(srv->d->workers[i]));
	engine_print_stats(srv->e, fp, &workers, streams_count(srv->streams));
	streams_print_stats(srv->streams, fp);
}

static int ctl_reload(void *arg, char *err, size_t errlen)
{
	struct server *srv = arg;

	/* an account command may have kept a delegation change */
	parentsync_wake(srv->parent);
	return engine_reload(srv->e, err, errlen);
}

static int ctl_freeze(void *arg, const char *name, char *err, size_t errlen)
{
	struct server *srv = arg;

	return engine_freeze(srv->e, name, err, errlen);
}

static const struct control_ops ctl_ops = { .stats = ctl_stats, .reload = ctl_reload, .freeze = ctl_freeze };

struct stopper {
	struct event_base *base;
	struct engine *e;	/* NULL once the sessions were told */
};

#define STOP_FLUSH_MS 300	/* the Retry Delays' time to leave before the sockets close */

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct stopper *s = arg;
	struct timeval tv = { 0, STOP_FLUSH_MS * 1000 };

	log_info("signal %d: stopping", (int)sig);
	if (s->e && engine_stopping(s->e) > 0) {
		s->e = NULL;	/* a second signal stops at once */
		event_base_loopexit(s->base, &tv);
		return;
	}
	event_base_loopbreak(s->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	char err[256];

	if (engine_reload(arg, err, sizeof(err)))
		log_warnx("reload: %s", err);
}

static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

int server_run(const struct dnsd_settings *s, const struct privdrop *drop)
{
	static struct dnsd d;
	struct addr addrs[DNSD_MAX_ADDRS];
	int udp[MAX_WORKERS][DNSD_MAX_ADDRS], tcp[DNSD_MAX_ADDRS], tls[DNSD_MAX_ADDRS];
	struct event_base *base = NULL;
	struct event *sig_int = NULL, *sig_term = NULL, *sig_hup = NULL;
	struct engine *e = NULL;
	struct control *ctl = NULL;
	struct store *st = NULL;
	struct checkpointer ckpt = { .t = { .name = "checkpointer", .efd = -1 } };
	struct parentsync psync = { .t = { .name = "parent", .efd = -1 } };
	struct stopper stopper = { 0 };
	struct server srv = { .d = &d, .parent = &psync };
	struct streams *streams = NULL;
	int fds0[DNSD_MAX_ADDRS];
	SSL_CTX *ctx = NULL;
	char err[512];
	int naddr, nworkers, status = 1, cpus[MAX_WORKERS];
	long ncpu;

	memset(udp, -1, sizeof(udp));
	memset(tcp, -1, sizeof(tcp));
	memset(tls, -1, sizeof(tls));
	memset(&d, 0, sizeof(d));
	atomic_init(&d.stopping, false);
	d.cfg = s;
	d.udp_port = (uint16_t)s->port;
	d.tls_port = (uint16_t)s->tls_port;
	pthread_rwlock_init(&d.lock, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads()) {
		log_warnx("libevent has no thread support");
		return 1;
	}
	if (dnsd_names(&d, s, err, sizeof(err)) ||
	    (naddr = parse_addrs(s->listen, d.udp_port, addrs, DNSD_MAX_ADDRS, err, sizeof(err))) < 0 ||
	    glue_setup(&d, s, addrs, naddr, err, sizeof(err))) {
		log_warnx("%s", err);
		return 2;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nworkers = s->udp_workers ? s->udp_workers : (ncpu > 0 ? (int)ncpu : 1);
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;

	make_parent(s->db);
	if (store_open(&st, s->db, s->sync_full, err, sizeof(err))) {
		log_warnx("%s", err);
		return 1;
	}
	if (store_serial_get(st, (uint32_t)time(NULL), &d.serial)) {
		log_warnx("%s: %s", s->db, store_errmsg(st));
		goto out;
	}
	d.accounts = accounts_load(&d.apex, NULL, st, err, sizeof(err));
	if (!d.accounts) {
		log_warnx("%s: %s", s->db, err);
		goto out;
	}
	if (s->tls_port) {
		ctx = tls_server_ctx(s, err, sizeof(err));
		if (!ctx) {
			log_warnx("%s", err);
			goto out;
		}
	}
	/* bind everything before detaching, so that a mistake is seen */
	for (int a = 0; a < naddr; a++) {
		for (int w = 0; w < nworkers; w++) {
			udp[w][a] = open_socket(&addrs[a], SOCK_DGRAM, true, err, sizeof(err));
			if (udp[w][a] < 0)
				goto bind_failed;
		}
		tcp[a] = open_socket(&addrs[a], SOCK_STREAM, false, err, sizeof(err));
		if (tcp[a] < 0)
			goto bind_failed;
		if (s->tls_port) {
			struct addr t = addrs[a];

			set_port(&t, d.tls_port);
			tls[a] = open_socket(&t, SOCK_STREAM, false, err, sizeof(err));
			if (tls[a] < 0)
				goto bind_failed;
		}
	}
	if (s->daemon) {
		if (daemonize()) {
			log_warn("daemon");
			goto out;
		}
		log_init("autotunnel-dnsd", log_getlevel(), true);
	}
	if (s->pidfile) {
		FILE *fp = fopen(s->pidfile, "w");

		if (fp) {
			fprintf(fp, "%ld\n", (long)getpid());
			fclose(fp);
		} else {
			log_warn("%s", s->pidfile);
		}
	}

	base = event_base_new();
	if (!base)
		goto out;
	e = engine_new(&d, base, st, err, sizeof(err));
	if (!e) {
		log_warnx("%s", err);
		goto out;
	}
	d.engine = e;
	srv.e = e;
	udp_register(e);
	if (commit_load_zone(st, &d.apex, &d.zone, err, sizeof(err))) {
		log_warnx("%s: %s", s->db, err);
		goto out;
	}
	streams = srv.streams = streams_new(&d, e, base, ctx);
	if (!streams)
		goto out;
	for (int a = 0; a < naddr; a++) {
		if (streams_listen(streams, tcp[a], false, err, sizeof(err)))
			goto out;
		tcp[a] = -1;
		if (tls[a] >= 0) {
			if (streams_listen(streams, tls[a], true, err, sizeof(err)))
				goto out;
			tls[a] = -1;
		}
		fds0[a] = udp[0][a];
	}
	engine_set_udp_fds(e, fds0, naddr);
	d.workers = calloc((size_t)nworkers, sizeof(*d.workers));
	if (!d.workers)
		goto out;
	for (int w = 0; w < nworkers; w++) {
		d.workers[w] = worker_new(&d, e, udp[w], naddr);
		if (!d.workers[w]) {
			log_warnx("cannot start UDP worker %d", w);
			goto out;
		}
		for (int a = 0; a < naddr; a++)
			udp[w][a] = -1;
		d.n_workers++;
	}
	fanout_set_kick(engine_fanout(e), kick_workers, &d);
	ctl = control_new(&ctl_ops, &srv, base, s->control, err, sizeof(err));
	if (!ctl) {
		log_warnx("%s", err);
		goto out;
	}
	stopper.base = base;
	stopper.e = e;
	sig_int = evsignal_new(base, SIGINT, on_stop, &stopper);
	sig_term = evsignal_new(base, SIGTERM, on_stop, &stopper);
	sig_hup = evsignal_new(base, SIGHUP, on_hup, e);
	if (!sig_int || !sig_term || !sig_hup || evsignal_add(sig_int, NULL) || evsignal_add(sig_term, NULL) ||
	    evsignal_add(sig_hup, NULL))
		goto out;
	if (parentsync_init(&psync, s) < 0)
		goto out;
	if (privdrop_apply(drop))	/* before the first thread: ports bound, files open */
		goto out;
	worker_cpus(s, d.n_workers, cpus);
	for (int w = 0; w < d.n_workers; w++) {
		if (worker_start(d.workers[w], cpus[w])) {
			log_warnx("cannot start UDP worker thread %d", w);
			goto out;
		}
	}
	checkpointer_start(&ckpt, s, st, base, e);
	parentsync_start(&psync);
	engine_rearm(e);
	if (s->tls_port)
		snprintf(err, sizeof(err), ", TLS port %u", d.tls_port);
	else
		err[0] = '\0';
	log_info("serving zone %s on %s port %u (UDP, TCP)%s, %d UDP workers; "
		 "%zu accounts, %zu records, serial %u; control socket %s",
		 s->zone, s->listen, d.udp_port, err, d.n_workers,
		 accounts_count(d.accounts), zone_rr_count(d.zone), d.serial, s->control);
	event_base_dispatch(base);
	status = 0;
	goto out;

bind_failed:
	log_warnx("%s", err);
out:
	atomic_store(&d.stopping, true);
	for (int w = 0; w < d.n_workers; w++)
		worker_stop(d.workers[w]);
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	if (sig_hup)
		event_free(sig_hup);
	control_free(ctl);
	streams_free(streams);
	for (int w = 0; w < d.n_workers; w++)
		worker_free(d.workers[w]);
	free(d.workers);
	engine_free(e);
	zone_free(d.zone);
	accounts_free(d.accounts);
	checkpointer_stop(&ckpt);
	parentsync_stop(&psync);
	store_close(st);
	if (ctx)
		SSL_CTX_free(ctx);
	if (base)
		event_base_free(base);
	for (int w = 0; w < MAX_WORKERS; w++)
		for (int a = 0; a < DNSD_MAX_ADDRS; a++)
			if (udp[w][a] >= 0)
				close(udp[w][a]);
	for (int a = 0; a < DNSD_MAX_ADDRS; a++) {
		if (tcp[a] >= 0)
			close(tcp[a]);
		if (tls[a] >= 0)
			close(tls[a]);
	}
	if (s->pidfile && status == 0)
		unlink(s->pidfile);
	pthread_rwlock_destroy(&d.lock);
	return status;
}
