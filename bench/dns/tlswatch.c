/*
 * tlswatch: many TLS watchers held open against autotunnel-dnsd.
 *
 *   tlswatch SERVER PORT KEY NAME CONNECTIONS SOURCE
 *
 * Opens CONNECTIONS DNS-over-TLS connections (RFC 7858) to SERVER:PORT,
 * each with one LLQ on NAME type A set up over the stream (RFC 8764 §5.2:
 * no challenge on TCP), TSIG-signed with KEY ("alg:keyname:base64"), as an
 * agent holds its rendezvous server. Connections leave from 32 per source
 * address (SOURCE.0.1, SOURCE.0.2, ... with SOURCE the first two octets of
 * a 127/8 address, e.g. "127.16"), the server's default per-address limit,
 * so that limit stays on. At most 256 handshakes are under way at a time.
 * The server's certificate is not checked: this measures the server.
 *
 * Prints "established N failed F seconds S", then waits for SIGUSR1 (the
 * caller measures the server meanwhile; a signal, so that one caller can
 * tell several of these at once), prints "alive A" (the connections the
 * server has not closed), closes them all and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "util/encode.h"

#define PER_ADDRESS 32
#define IN_FLIGHT 256

enum state { S_CONNECTING, S_HANDSHAKE, S_SENT, S_LIVE, S_DEAD };

struct watcher {
	int fd;
	SSL *ssl;
	enum state st;
	uint16_t id;
	size_t have;
	uint8_t buf[2048];
};

static struct dns_tsig_key key;
static struct dns_name qname;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The signed LLQ setup, framed for a stream (RFC 7766 §8). */
static size_t llq_setup(uint8_t *buf, size_t cap, uint16_t id)
{
	struct dns_builder b;
	struct dns_tsig t;
	struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 7200 };
	size_t len;

	dns_tsig_init(&t, &key);
	dns_builder_init(&b, buf + 2, cap - 2, cap - 2, id, 0);
	dns_builder_question(&b, &qname, DNS_TYPE_A, DNS_CLASS_IN);
	dns_builder_edns(&b, 1232, 0);
	dns_builder_add_llq(&b, &llq);
	if (dns_builder_finish(&b, &len) ||
	    dns_tsig_sign_request(&t, buf + 2, len, cap - 2, &len, (uint64_t)time(NULL)))
		len = 0;
	dns_tsig_fini(&t);
	if (!len)
		return 0;
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	return len + 2;
}

static int watch(int ep, struct watcher *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &ev);
}

static void kill_watcher(int ep, struct watcher *w)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->ssl)
		SSL_free(w->ssl);
	w->ssl = NULL;
	close(w->fd);
	w->fd = -1;
	w->st = S_DEAD;
}

/* Move @p w on as far as it goes; @return 1 when it became live, -1 dead, 0 waiting. */
static int step(int ep, SSL_CTX *ctx, struct watcher *w)
{
	int rc, err;

	switch (w->st) {
	case S_CONNECTING: {
		socklen_t sl = sizeof(err);

		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err)
			return -1;
		w->ssl = SSL_new(ctx);
		if (!w->ssl || !SSL_set_fd(w->ssl, w->fd))
			return -1;
		SSL_set_connect_state(w->ssl);
		w->st = S_HANDSHAKE;
	}
		/* fall through */
	case S_HANDSHAKE:
		rc = SSL_do_handshake(w->ssl);
		if (rc != 1) {
			err = SSL_get_error(w->ssl, rc);
			if (err == SSL_ERROR_WANT_READ)
				return watch(ep, w, EPOLLIN) ? -1 : 0;
			if (err == SSL_ERROR_WANT_WRITE)
				return watch(ep, w, EPOLLOUT) ? -1 : 0;
			return -1;
		}
		{
			uint8_t q[1024];
			size_t len = llq_setup(q, sizeof(q), w->id);

			if (!len || SSL_write(w->ssl, q, (int)len) != (int)len)
				return -1;
		}
		w->st = S_SENT;
		if (watch(ep, w, EPOLLIN))
			return -1;
		/* fall through */
	case S_SENT:
		for (;;) {
			rc = SSL_read(w->ssl, w->buf + w->have, (int)(sizeof(w->buf) - w->have));
			if (rc <= 0) {
				err = SSL_get_error(w->ssl, rc);
				return err == SSL_ERROR_WANT_READ ? 0 : -1;
			}
			w->have += (size_t)rc;
			if (w->have >= 2) {
				size_t len = (size_t)w->buf[0] << 8 | w->buf[1];
				struct dns_msg m;
				struct dns_llq llq;
				struct wire opt;

				if (len + 2 > sizeof(w->buf))
					return -1;
				if (w->have < len + 2) {
					if (w->have == sizeof(w->buf))
						return -1;
					continue;
				}
				/* NOERROR or NXDOMAIN: the name may hold nothing yet */
				if (dns_msg_parse(&m, w->buf + 2, len) || m.hdr.id != w->id ||
				    dns_edns_find(&m, DNS_EDNS_OPT_LLQ, &opt) || dns_llq_parse(&opt, &llq) ||
				    llq.error != DNS_LLQ_NOERROR || llq.id == 0)
					return -1;
				w->st = S_LIVE;
				/* from now on only the server's closing matters, seen at the end */
				epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
				return 1;
			}
		}
	case S_LIVE:
	case S_DEAD:
		break;
	}
	return 0;
}

static int start(int ep, struct watcher *w, const struct sockaddr_in *server, const char *source, int i)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = w };
	char text[32];
	int a = i / PER_ADDRESS + 1, one = 1;

	snprintf(text, sizeof(text), "%s.%d.%d", source, a / 250, a % 250 + 1);
	if (inet_pton(AF_INET, text, &src.sin_addr) != 1)
		return -1;
	w->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	w->id = (uint16_t)(i + 1);
	if (w->fd < 0)
		return -1;
	setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(w->fd, (struct sockaddr *)&src, sizeof(src)) ||
	    (connect(w->fd, (const struct sockaddr *)server, sizeof(*server)) && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev)) {
		close(w->fd);
		w->fd = -1;
		return -1;
	}
	w->st = S_CONNECTING;
	return 0;
}

int main(int argc, char *argv[])
{
	struct sockaddr_in server = { .sin_family = AF_INET };
	struct epoll_event evs[256];
	struct watcher *ws;
	char *alg, *kname, *secret;
	uint8_t sec[128];
	struct dns_name kn;
	int n, ep, total, next = 0, busy = 0, live = 0, failed = 0;
	struct rlimit rl;
	SSL_CTX *ctx;
	sigset_t usr1;
	int sig;
	double t0 = now_s();

	if (argc != 7) {
		fprintf(stderr, "usage: tlswatch SERVER PORT KEY NAME CONNECTIONS SOURCE\n");
		return 2;
	}
	inet_pton(AF_INET, argv[1], &server.sin_addr);
	server.sin_port = htons((uint16_t)atoi(argv[2]));
	alg = strtok(argv[3], ":");
	kname = strtok(NULL, ":");
	secret = strtok(NULL, "");
	n = secret ? b64_decode(sec, sizeof(sec), secret) : -1;
	if (!alg || !kname || n <= 0 || dns_name_from_text(&kn, kname) ||
	    dns_tsig_key_set(&key, &kn, dns_tsig_alg_from_text(alg), sec, (size_t)n) ||
	    dns_name_from_text(&qname, argv[4])) {
		fprintf(stderr, "tlswatch: bad key or name\n");
		return 2;
	}
	total = atoi(argv[5]);
	/* blocked from the start: a signal sent early waits for sigwait() */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)total + 16) {
			fprintf(stderr, "tlswatch: %d connections need more than %llu files\n", total,
				(unsigned long long)rl.rlim_cur);
			return 2;
		}
	}
	ctx = SSL_CTX_new(TLS_client_method());
	ws = calloc((size_t)total, sizeof(*ws));
	ep = epoll_create1(0);
	if (!ctx || !ws || ep < 0) {
		fprintf(stderr, "tlswatch: out of memory\n");
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	while (live + failed < total && now_s() - t0 < 240) {
		while (busy < IN_FLIGHT && next < total) {
			if (start(ep, &ws[next], &server, argv[6], next)) {
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
			int rc;

			if (w->st == S_LIVE || w->st == S_DEAD)
				continue;
			rc = step(ep, ctx, w);
			if (rc == 1) {
				live++;
				busy--;
			} else if (rc < 0) {
				kill_watcher(ep, w);
				failed++;
				busy--;
			}
		}
	}
	printf("established %d failed %d seconds %.1f\n", live, failed, now_s() - t0);
	fflush(stdout);
	if (sigwait(&usr1, &sig))
		return 1;
	live = 0;
	for (int i = 0; i < total; i++) {
		char c;
		ssize_t r;

		/* alive: no end of stream and no reset (a TLS 1.3 session ticket may wait unread) */
		if (ws[i].st != S_LIVE)
			continue;
		r = recv(ws[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
			live++;
	}
	printf("alive %d\n", live);
	fflush(stdout);
	for (int i = 0; i < total; i++)
		if (ws[i].fd >= 0 && ws[i].st != S_DEAD)
			kill_watcher(ep, &ws[i]);
	SSL_CTX_free(ctx);
	free(ws);
	close(ep);
	return 0;
}
