/*
 * pushbench: event latency of autotunnel-dnsd to many TLS watchers, DNS Push
 * (RFC 8765 over RFC 8490 DSO sessions) or LLQ over TLS (RFC 8764), the same
 * load either way, so that the two can be compared in one run.
 *
 *   pushbench SERVER TLS-PORT DNS-PORT KEY DOMAIN NAME MODE SESSIONS ROUNDS
 *
 * MODE push: each session is a DNS-over-TLS connection (RFC 7858) on which
 * the client does what the agent does (src/autotunneld/watch.c): a DSO
 * Keepalive request, which starts the session (RFC 8490 §5.1), a TSIG-signed
 * SOA query for DOMAIN (the account's domain) with KEY ("alg:keyname:base64"),
 * which authenticates the session as the account (docs/dnsd.md, "Who may
 * subscribe"), then, once both are answered, a SUBSCRIBE to NAME type A
 * (RFC 8765 §6.2). MODE llq: each session is a connection with one signed
 * LLQ on NAME type A (RFC 8764 §5.2: no challenge on a stream), as
 * tlswatch.c and the agent without Push hold the server.
 *
 * Then ROUNDS times it sends a signed UPDATE over UDP (to DNS-PORT) that
 * replaces NAME's address with one new to the round, and measures, for
 * every session, the time from the UPDATE's answer to the event carrying
 * the round's address (a PUSH with the addition, or an LLQ event with it in
 * its answer section), both stamped by the kernel on arrival
 * (SO_TIMESTAMPNS: TCP hands the stamp of the segment read; the TLS records
 * are read through a BIO of our own that uses recvmsg), so that this
 * client's own work is not counted. An event that does not carry the
 * round's address does not count; a session with no such event within
 * PUSHBENCH_ROUND_MS (5,000) of the round's start counts as missing for
 * that round.
 *
 * Each process may hold as many files as the open-file limit allows
 * (20,000 here), so the sessions are spread over child processes of
 * PUSHBENCH_PER_PROC (5,000) each, forked from this one, which sends the
 * UPDATEs and gathers the kernel stamps through shared memory. As in
 * llqbench, the children leave the events in the sockets (stamped) until
 * PUSHBENCH_FIRST_LOOK_MS (100) after the round starts, so as not to take
 * the cores from the server while it sends. Connections leave from 32 per
 * source address (127.X.a.b, X from PUSHBENCH_SOURCE, 16, plus the child's
 * number), the server's default per-address limit, so that limit stays on.
 * The server's certificate is not checked: this measures the server.
 *
 * Prints "established N of W failed F seconds S processes P rss_per_session
 * B" (B: the growth of the server's resident memory, bytes per session, when
 * PUSHBENCH_SERVER_PID names it, else -1), then after the rounds
 * "latency_ms p50 P p99 Q max M events E missing X server_cpu_ms S
 * client_cpu_ms C" (S: the server's CPU time, all threads, from before the
 * UPDATE until every child has all its events or gave up, per round; C: the
 * children's while they wait for and read the events, summed, per round).
 *
 * Every wait is bounded: set-up 240 s, a round PUSHBENCH_ROUND_MS, the
 * children's exit 10 s (then they are killed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "client.h"
#include "dso/dso.h"

#define IN_FLIGHT 256
#define MAX_ROUNDS 250	/* the round is the last octet of its address */
#define MAX_PROCS 64

enum state { S_CONNECTING, S_HANDSHAKE, S_AUTH, S_SUB, S_LIVE, S_DEAD };

/* message ids of the set-up (one request of each kind per connection) */
enum { ID_KEEPALIVE = 1, ID_AUTH = 2, ID_SUBSCRIBE = 3, ID_LLQ = 4 };

struct watcher {
	int fd;
	SSL *ssl;
	enum state st;
	uint8_t answered;	/* push set-up: 1 keepalive, 2 signed query */
	int round;		/* the last round whose event came */
	int counted;		/* the last round counted as done */
	double stamp;		/* the kernel's stamp of the first bytes read this round, ms */
	size_t have;
	uint8_t buf[4096];
};

/* What the parent and the children share (MAP_SHARED, before the fork). */
struct shared {
	uint8_t addr[MAX_ROUNDS][4];	/* the address each round adds */
	double stamps[];		/* [round * sessions + session]: arrival, ms; 0 none */
};

static struct dns_tsig_key key;
static struct dns_name qname, domain, zone;
static bool push_mode;
static struct shared *sh;
static int sessions, rounds;

/* ---- a socket BIO that keeps the kernel's arrival stamps ---- */

static int sbio_read(BIO *b, char *out, int len)
{
	struct watcher *w = BIO_get_data(b);
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = out, .iov_len = (size_t)len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = recvmsg(w->fd, &mh, MSG_DONTWAIT);
	if (n > 0) {
		if (w->stamp == 0)
			w->stamp = bench_stamp_of(&mh, bench_now_ms());
		return (int)n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return n == 0 ? 0 : -1;
}

static int sbio_write(BIO *b, const char *in, int len)
{
	struct watcher *w = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(w->fd, in, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return n < 0 ? -1 : (int)n;
}

static long sbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *sbio_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "stamped socket");

	if (m && (!BIO_meth_set_read(m, sbio_read) || !BIO_meth_set_write(m, sbio_write) ||
		  !BIO_meth_set_ctrl(m, sbio_ctrl))) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}

/* ---- messages ---- */

/* A signed query (SOA? DOMAIN: the agent's authentication), or the signed LLQ set-up; framed. */
static size_t signed_query(uint8_t *buf, size_t cap, uint16_t id, bool llq)
{
	struct dns_llq opt = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 7200 };
	size_t len = bench_query_sign(buf + 2, cap - 2, &key, id, llq ? &qname : &domain,
				      llq ? DNS_TYPE_A : DNS_TYPE_SOA, llq ? &opt : NULL);

	return len ? bench_frame(buf, len) : 0;
}

static int send_all(struct watcher *w, const uint8_t *buf, size_t len)
{
	return len && SSL_write(w->ssl, buf, (int)len) == (int)len ? 0 : -1;
}

/* The push set-up's first two requests, sent together as the agent may. */
static int push_start(struct watcher *w)
{
	uint8_t q[1024];
	struct dso_keepalive k = { 15000, 3600000 };
	size_t len;

	if (dso_build_keepalive_request(q + 2, sizeof(q) - 2, ID_KEEPALIVE, &k, &len) ||
	    send_all(w, q, bench_frame(q, len)))
		return -1;
	return send_all(w, q, signed_query(q, sizeof(q), ID_AUTH, false));
}

static int push_subscribe(struct watcher *w)
{
	uint8_t q[512];
	size_t len;

	if (dso_build_subscribe(q + 2, sizeof(q) - 2, ID_SUBSCRIBE, qname.wire, qname.len, DNS_TYPE_A, DNS_CLASS_IN,
				&len))
		return -1;
	return send_all(w, q, bench_frame(q, len));
}

/* Does message @p m (a PUSH or an LLQ event) add the address of round @p r? */
static bool carries(const uint8_t *m, size_t len, int r)
{
	const uint8_t *want = sh->addr[r];

	if (push_mode) {
		struct dso_msg d;
		struct dso_change c;
		size_t off = 0;
		int rc;

		if (!dso_is_dso(m, len) || dso_msg_parse(&d, m, len) || d.qr || d.n_tlv == 0 ||
		    d.tlv[0].type != DSO_TYPE_PUSH)
			return false;
		while ((rc = dso_push_next(&d.tlv[0], &off, &c)) == 1)
			if (c.type == DNS_TYPE_A && c.ttl < DSO_TTL_REMOVE_ALL && c.rdlen == 4 &&
			    memcmp(c.rdata, want, 4) == 0)
				return true;
		return false;
	} else {
		static struct dns_msg d;
		struct dns_llq llq;

		if (dns_msg_parse(&d, m, len) || !(d.hdr.flags & DNS_FLAG_QR) || bench_llq_of(&d, &llq) ||
		    llq.opcode != DNS_LLQ_EVENT)
			return false;
		for (unsigned i = 0; i < d.count[DNS_SEC_ANSWER]; i++) {
			const struct dns_rr *rr = &d.rr[0][i];

			if (rr->type == DNS_TYPE_A && rr->ttl != 0xFFFFFFFFu && rr->rdlen == 4 &&
			    memcmp(m + rr->rdata, want, 4) == 0)
				return true;
		}
		return false;
	}
}

/*
 * One whole message @p m received on @p w during set-up; @p round is the
 * round under way (-1: none). @return 1 live now, 0 go on, -1 failed.
 */
static int on_message(struct watcher *w, const uint8_t *m, size_t len, int round, int index)
{
	if (w->st == S_LIVE) {
		if (round >= 0 && w->round != round && carries(m, len, round)) {
			w->round = round;
			sh->stamps[(size_t)round * (size_t)sessions + (size_t)index] = w->stamp;
		}
		return 0;
	}
	if (dso_is_dso(m, len)) {
		struct dso_msg d;

		if (dso_msg_parse(&d, m, len) || !d.qr)
			return 0;	/* e.g. a PUSH of what is there already, before the answer */
		if (d.rcode != 0)
			return -1;
		if (w->st == S_AUTH && d.id == ID_KEEPALIVE)
			w->answered |= 1;
		else if (w->st == S_SUB && d.id == ID_SUBSCRIBE)
			return 1;
		else
			return -1;
	} else {
		static struct dns_msg d;
		struct dns_llq llq;

		/* NOERROR or NXDOMAIN: the name may hold nothing yet */
		if (dns_msg_parse(&d, m, len) || !(d.hdr.flags & DNS_FLAG_QR))
			return -1;
		if (w->st == S_AUTH && d.hdr.id == ID_AUTH && dns_msg_rcode(&d) == DNS_RCODE_NOERROR)
			w->answered |= 2;
		else if (w->st == S_SUB && d.hdr.id == ID_LLQ && bench_llq_of(&d, &llq) == 0 && llq.error == DNS_LLQ_NOERROR && llq.id != 0)
			return 1;
		else
			return -1;
	}
	if (w->answered == 3) {
		w->st = S_SUB;
		return push_subscribe(w) ? -1 : 0;
	}
	return 0;
}

/* Read what the connection holds and hand over each whole message. Same returns. */
static int drain(struct watcher *w, int round, int index)
{
	int live = 0;

	for (;;) {
		int rc = SSL_read(w->ssl, w->buf + w->have, (int)(sizeof(w->buf) - w->have));
		size_t off = 0;

		if (rc <= 0) {
			int err = SSL_get_error(w->ssl, rc);

			return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? live : -1;
		}
		w->have += (size_t)rc;
		while (w->have - off >= 2) {
			size_t len = (size_t)w->buf[off] << 8 | w->buf[off + 1];

			if (len + 2 > sizeof(w->buf))
				return -1;
			if (w->have - off < len + 2)
				break;
			rc = on_message(w, w->buf + off + 2, len, round, index);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				w->st = S_LIVE;
				live = 1;
			}
			off += len + 2;
		}
		memmove(w->buf, w->buf + off, w->have - off);
		w->have -= off;
	}
}

static void kill_watcher(int ep, struct watcher *w)
{
	bench_tls_close(ep, w->fd, w->ssl);	/* and its BIO */
	w->ssl = NULL;
	w->fd = -1;
	w->st = S_DEAD;
}

/* Move a watcher in set-up on. @return 1 live, 0 waiting, -1 failed. */
static int step(int ep, SSL_CTX *ctx, BIO_METHOD *bm, struct watcher *w, int index)
{
	BIO *bio;
	int rc;

	switch (w->st) {
	case S_CONNECTING:
		if (bench_tcp_connected(w->fd))
			return -1;
		w->ssl = SSL_new(ctx);
		bio = BIO_new(bm);
		if (!w->ssl || !bio) {
			BIO_free(bio);
			return -1;
		}
		BIO_set_data(bio, w);
		BIO_set_init(bio, 1);
		SSL_set_bio(w->ssl, bio, bio);
		SSL_set_connect_state(w->ssl);
		w->st = S_HANDSHAKE;
		/* fall through */
	case S_HANDSHAKE:
		rc = bench_tls_handshake(ep, w->fd, w, w->ssl);
		if (rc != 1)
			return rc;
		if (push_mode) {
			if (push_start(w))
				return -1;
			w->st = S_AUTH;
		} else {
			uint8_t q[1024];

			if (send_all(w, q, signed_query(q, sizeof(q), ID_LLQ, true)))
				return -1;
			w->st = S_SUB;
		}
		if (bench_epoll_mod(ep, w->fd, w, EPOLLIN))
			return -1;
		/* fall through */
	case S_AUTH:
	case S_SUB:
		return drain(w, -1, index);
	case S_LIVE:
		return drain(w, -1, index) < 0 ? -1 : 0;	/* what follows the answer, before any round */
	case S_DEAD:
		break;
	}
	return 0;
}

static int start(int ep, struct watcher *w, const struct sockaddr_in *server, int octet, int i)
{
	w->round = w->counted = -1;
	w->fd = bench_tcp_start(ep, w, bench_source_of(127u << 24 | (uint32_t)octet << 16, i), server, true);
	if (w->fd < 0)
		return -1;
	w->st = S_CONNECTING;
	return 0;
}

static int say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(int fd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return n > 0 && write(fd, line, (size_t)n) == n ? 0 : -1;
}

/*
 * A child: sessions [first, first + count). Commands on @p in, one a line:
 * "R" runs round R, "q" ends; replies on @p out: "established L failed F",
 * then "done R" after each round, then "cpu C" (ms) at the end.
 */
static int child(const struct sockaddr_in *server, int octet, int first, int count, int in, int out)
{
	double first_look = getenv("PUSHBENCH_FIRST_LOOK_MS") ? atof(getenv("PUSHBENCH_FIRST_LOOK_MS")) : 100;
	double round_ms = getenv("PUSHBENCH_ROUND_MS") ? atof(getenv("PUSHBENCH_ROUND_MS")) : 5000;
	struct epoll_event evs[256];
	struct watcher *ws = calloc((size_t)count, sizeof(*ws));
	SSL_CTX *ctx = bench_tls_ctx_new();
	BIO_METHOD *bm = sbio_method();
	int ep = epoll_create1(0), next = 0, busy = 0, live = 0, failed = 0;
	double t0 = bench_now_ms(), round_cpu = 0;
	struct rusage ru;
	FILE *cmds;
	char line[32];

	if (!ws || !ctx || !bm || ep < 0)
		return 1;
	while (live + failed < count && bench_now_ms() - t0 < 240e3) {
		int n;

		while (busy < IN_FLIGHT && next < count) {
			if (start(ep, &ws[next], server, octet, next)) {
				ws[next].st = S_DEAD;
				failed++;
			} else {
				busy++;
			}
			next++;
		}
		n = epoll_wait(ep, evs, 256, 1000);
		for (int i = 0; i < n; i++) {
			struct watcher *w = evs[i].data.ptr;
			enum state was = w->st;
			int rc;

			if (was == S_DEAD)
				continue;
			rc = step(ep, ctx, bm, w, first + (int)(w - ws));
			if (rc == 1) {
				live++;
				busy--;
			} else if (rc < 0) {
				kill_watcher(ep, w);
				failed++;
				if (was == S_LIVE)
					live--;
				else
					busy--;
			}
		}
	}
	/* what the server sent after the answers (a PUSH of the records already there) */
	usleep(200000);
	for (int i = 0; i < count; i++)
		if (ws[i].st == S_LIVE && drain(&ws[i], -1, first + i) < 0) {
			kill_watcher(ep, &ws[i]);
			live--;
			failed++;
		}
	if (say(out, "established %d failed %d\n", live, failed))
		return 1;
	cmds = fdopen(in, "r");
	while (cmds && fgets(line, sizeof(line), cmds) && line[0] != 'q') {
		int r = atoi(line), got = 0, want = 0;
		double go = bench_now_ms(), deadline = go + round_ms;
		struct rusage ru0;

		if (r < 0 || r >= rounds)
			break;
		getrusage(RUSAGE_SELF, &ru0);
		for (int i = 0; i < count; i++) {
			ws[i].stamp = 0;
			want += ws[i].st == S_LIVE;
		}
		/* leave the events stamped in the sockets while the server sends them */
		usleep((useconds_t)(first_look * 1e3));
		while (got < want && bench_now_ms() < deadline) {
			int n = epoll_wait(ep, evs, 256, 50);

			for (int i = 0; i < n; i++) {
				struct watcher *w = evs[i].data.ptr;
				int index = (int)(w - ws);

				if (w->st != S_LIVE)
					continue;
				if (drain(w, r, first + index) < 0) {
					kill_watcher(ep, w);
					want--;
					continue;
				}
				if (w->round == r && w->counted != r) {
					got++;
					w->counted = r;
				}
			}
		}
		getrusage(RUSAGE_SELF, &ru);
		round_cpu += bench_rusage_ms(&ru) - bench_rusage_ms(&ru0);
		if (say(out, "done %d\n", r))
			return 1;
	}
	(void)say(out, "cpu %.1f\n", round_cpu);
	for (int i = 0; i < count; i++)
		if (ws[i].st != S_DEAD && ws[i].fd >= 0)
			kill_watcher(ep, &ws[i]);
	SSL_CTX_free(ctx);
	BIO_meth_free(bm);
	free(ws);
	return 0;
}

/* ---- the parent ---- */

static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	fp = fopen(path, "r");
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (fp)
		fclose(fp);
	return kib;
}

/* The signed UPDATE of round @p r: NAME's address becomes sh->addr[r] (RFC 2136 §2.5). */
static int update(int fd, int r, double *answered)
{
	int rc = bench_update(fd, &key, &zone, &qname, sh->addr[r], (uint16_t)(0x8000 + r), answered);

	if (rc > 0)
		fprintf(stderr, "pushbench: UPDATE answered rcode %d\n", rc);
	return rc == DNS_RCODE_NOERROR ? 0 : -1;
}

/* The lines a child writes back, read without stdio so that poll() sees all that waits. */
struct from_child {
	int fd;
	size_t have;
	char buf[256];
};

/* One line from a child, within @p ms, into @p line; NULL on timeout, end or error. */
static char *hear(struct from_child *c, char *line, size_t cap, int ms)
{
	double end = bench_now_ms() + ms;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - c->buf) + 1;

			if (len >= cap)
				return NULL;
			memcpy(line, c->buf, len);
			line[len] = 0;
			memmove(c->buf, nl + 1, c->have - len);
			c->have -= len;
			return line;
		}
		if (c->have == sizeof(c->buf) || bench_now_ms() >= end || poll(&p, 1, (int)(end - bench_now_ms()) + 1) != 1)
			return NULL;
		n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (n <= 0)
			return NULL;
		c->have += (size_t)n;
	}
}

int main(int argc, char *argv[])
{
	struct sockaddr_in server = { .sin_family = AF_INET }, udp;
	long server_pid = getenv("PUSHBENCH_SERVER_PID") ? atol(getenv("PUSHBENCH_SERVER_PID")) : 0;
	int per_proc = getenv("PUSHBENCH_PER_PROC") ? atoi(getenv("PUSHBENCH_PER_PROC")) : 5000;
	int octet = getenv("PUSHBENCH_SOURCE") ? atoi(getenv("PUSHBENCH_SOURCE")) : 16;
	bool verbose = getenv("PUSHBENCH_VERBOSE") != NULL;
	char line[64];
	int nproc, live = 0, failed = 0, ufd, one = 1, ok = 1;
	pid_t pids[MAX_PROCS];
	struct from_child up[MAX_PROCS];
	int down[MAX_PROCS];
	double t0s[MAX_ROUNDS], server_cpu = 0, client_cpu = 0, *lat, start = bench_now_ms();
	size_t nlat = 0, missing = 0, shsize;
	long rss0, rss1;
	uint32_t salt = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	struct rlimit rl;

	if (argc != 10) {
		fprintf(stderr, "usage: pushbench SERVER TLS-PORT DNS-PORT KEY DOMAIN NAME push|llq SESSIONS ROUNDS\n");
		return 2;
	}
	inet_pton(AF_INET, argv[1], &server.sin_addr);
	udp = server;
	server.sin_port = htons((uint16_t)atoi(argv[2]));
	udp.sin_port = htons((uint16_t)atoi(argv[3]));
	argv++;	/* the rest as without the second port */
	if (bench_key_parse(argv[3], &key) || dns_name_from_text(&domain, argv[4]) ||
	    dns_name_from_text(&qname, argv[5]) || dns_name_from_text(&zone, BENCH_ZONE)) {
		fprintf(stderr, "pushbench: bad key or name\n");
		return 2;
	}
	push_mode = strcmp(argv[6], "push") == 0;
	sessions = atoi(argv[7]);
	rounds = atoi(argv[8]);
	if ((!push_mode && strcmp(argv[6], "llq")) || sessions <= 0 || rounds <= 0 || rounds > MAX_ROUNDS ||
	    per_proc <= 0 || (sessions + per_proc - 1) / per_proc > MAX_PROCS) {
		fprintf(stderr, "pushbench: MODE is push or llq, 1..%d rounds, at most %d processes\n", MAX_ROUNDS,
			MAX_PROCS);
		return 2;
	}
	nproc = (sessions + per_proc - 1) / per_proc;
	/* each child holds per_proc connections: its own open-file limit must allow them */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)(per_proc < sessions ? per_proc : sessions) + 32) {
			fprintf(stderr, "pushbench: %d connections a process need more than %llu files\n", per_proc,
				(unsigned long long)rl.rlim_cur);
			return 2;
		}
	}
	shsize = sizeof(*sh) + (size_t)sessions * (size_t)rounds * sizeof(double);
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	lat = calloc((size_t)sessions * (size_t)rounds, sizeof(*lat));
	if (sh == MAP_FAILED || !lat) {
		fprintf(stderr, "pushbench: out of memory\n");
		return 1;
	}
	/* a new address every round: re-adding one that is there is a refresh, with no event */
	for (int r = 0; r < rounds; r++) {
		sh->addr[r][0] = 10;
		sh->addr[r][1] = (uint8_t)salt;
		sh->addr[r][2] = (uint8_t)(salt >> 8);
		sh->addr[r][3] = (uint8_t)(r + 1);
	}
	rss0 = server_pid ? rss_kib(server_pid) : -1;
	fflush(stdout);
	for (int p = 0; p < nproc; p++) {
		int a[2], b[2];
		int first = p * per_proc, count = sessions - first < per_proc ? sessions - first : per_proc;

		if (pipe(a) || pipe(b)) {
			perror("pushbench: pipe");
			return 1;
		}
		pids[p] = fork();
		if (pids[p] < 0) {
			perror("pushbench: fork");
			return 1;
		}
		if (pids[p] == 0) {
			close(a[1]);
			close(b[0]);
			for (int q = 0; q < p; q++) {
				close(up[q].fd);
				close(down[q]);
			}
			_exit(child(&server, octet + p, first, count, a[0], b[1]));
		}
		close(a[0]);
		close(b[1]);
		down[p] = a[1];
		up[p] = (struct from_child){ .fd = b[0] };
	}
	for (int p = 0; p < nproc; p++) {
		int l, f;

		if (!hear(&up[p], line, sizeof(line), 250000) || sscanf(line, "established %d failed %d", &l, &f) != 2) {
			fprintf(stderr, "pushbench: child %d did not set up\n", p);
			ok = 0;
			break;
		}
		live += l;
		failed += f;
	}
	rss1 = server_pid ? rss_kib(server_pid) : -1;
	printf("established %d of %d failed %d seconds %.1f processes %d rss_per_session %ld\n", live, sessions, failed,
	       (bench_now_ms() - start) / 1e3, nproc, rss0 >= 0 && rss1 >= 0 && live > 0 ? (rss1 - rss0) * 1024 / live : -1);
	fflush(stdout);

	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(ufd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (ufd < 0 || connect(ufd, (struct sockaddr *)&udp, sizeof(udp))) {
		perror("pushbench: socket");
		ok = 0;
	}
	for (int r = 0; ok && r < rounds; r++) {
		double s0 = server_pid ? bench_proc_cpu_ms(server_pid) : -1, s1;

		for (int p = 0; p < nproc; p++)
			if (say(down[p], "%d\n", r))
				ok = 0;
		if (!ok || update(ufd, r, &t0s[r])) {
			fprintf(stderr, "pushbench: update %d failed\n", r);
			ok = 0;
			break;
		}
		for (int p = 0; p < nproc; p++) {
			int rr;

			if (!hear(&up[p], line, sizeof(line), 30000) || sscanf(line, "done %d", &rr) != 1 || rr != r) {
				fprintf(stderr, "pushbench: child %d lost in round %d\n", p, r);
				ok = 0;
			}
		}
		s1 = server_pid ? bench_proc_cpu_ms(server_pid) : -1;
		if (s0 >= 0 && s1 >= 0)
			server_cpu += s1 - s0;
		if (verbose) {
			size_t got = 0;
			double last = 0;

			for (int i = 0; i < sessions; i++) {
				double s = sh->stamps[(size_t)r * (size_t)sessions + (size_t)i];

				if (s > 0) {
					got++;
					last = s - t0s[r] > last ? s - t0s[r] : last;
				}
			}
			fprintf(stderr, "round %d: %zu events, last after %.2f ms, server CPU %.1f ms\n", r, got, last,
				s1 - s0);
		}
		usleep(300000);
	}
	for (int p = 0; p < nproc; p++) {
		double c;

		(void)say(down[p], "q\n");
		close(down[p]);
		while (hear(&up[p], line, sizeof(line), 10000))
			if (sscanf(line, "cpu %lf", &c) == 1) {
				client_cpu += c;
				break;
			}
	}
	for (int p = 0; p < nproc; p++) {
		int st;

		for (int i = 0; i < 100 && waitpid(pids[p], &st, WNOHANG) == 0; i++)
			usleep(100000);
		if (waitpid(pids[p], &st, WNOHANG) == 0) {
			kill(pids[p], SIGKILL);
			waitpid(pids[p], &st, 0);
		}
		close(up[p].fd);
	}
	if (ufd >= 0)
		close(ufd);
	if (!ok) {
		free(lat);
		munmap(sh, shsize);
		return 1;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < sessions; i++) {
			double s = sh->stamps[(size_t)r * (size_t)sessions + (size_t)i];

			if (s > 0)
				lat[nlat++] = s - t0s[r];
			else
				missing++;
		}
	qsort(lat, nlat, sizeof(*lat), bench_cmp_double);
	printf("latency_ms p50 %.2f p99 %.2f max %.2f events %zu missing %zu server_cpu_ms %.1f client_cpu_ms %.1f\n",
	       nlat ? lat[nlat / 2] : 0.0, nlat ? lat[(nlat * 99) / 100] : 0.0, nlat ? lat[nlat - 1] : 0.0, nlat,
	       missing, server_pid ? server_cpu / rounds : -1.0, client_cpu / rounds);
	free(lat);
	munmap(sh, shsize);
	return 0;
}
