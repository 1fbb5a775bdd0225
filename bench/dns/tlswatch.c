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

#include <openssl/ssl.h>

#include "client.h"

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
	struct dns_llq llq = { .version = 1, .opcode = DNS_LLQ_SETUP, .lease = 7200 };
	size_t len = bench_query_sign(buf + 2, cap - 2, &key, id, &qname, DNS_TYPE_A, &llq);

	return len ? bench_frame(buf, len) : 0;
}

static void kill_watcher(int ep, struct watcher *w)
{
	bench_tls_close(ep, w->fd, w->ssl);
	w->ssl = NULL;
	w->fd = -1;
	w->st = S_DEAD;
}

/* Move @p w on as far as it goes; @return 1 when it became live, -1 dead, 0 waiting. */
static int step(int ep, SSL_CTX *ctx, struct watcher *w)
{
	int rc, err;

	switch (w->st) {
	case S_CONNECTING:
		if (bench_tcp_connected(w->fd))
			return -1;
		w->ssl = SSL_new(ctx);
		if (!w->ssl || !SSL_set_fd(w->ssl, w->fd))
			return -1;
		SSL_set_connect_state(w->ssl);
		w->st = S_HANDSHAKE;
		/* fall through */
	case S_HANDSHAKE:
		rc = bench_tls_handshake(ep, w->fd, w, w->ssl);
		if (rc != 1)
			return rc;
		{
			uint8_t q[1024];
			size_t len = llq_setup(q, sizeof(q), w->id);

			if (!len || SSL_write(w->ssl, q, (int)len) != (int)len)
				return -1;
		}
		w->st = S_SENT;
		if (bench_epoll_mod(ep, w->fd, w, EPOLLIN))
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

				if (len + 2 > sizeof(w->buf))
					return -1;
				if (w->have < len + 2) {
					if (w->have == sizeof(w->buf))
						return -1;
					continue;
				}
				/* NOERROR or NXDOMAIN: the name may hold nothing yet */
				if (dns_msg_parse(&m, w->buf + 2, len) || m.hdr.id != w->id || bench_llq_of(&m, &llq) ||
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

/* Connection @p i from @p net (127.X.0.0, host order) on. */
static int start(int ep, struct watcher *w, const struct sockaddr_in *server, uint32_t net, int i)
{
	w->id = (uint16_t)(i + 1);
	w->fd = bench_tcp_start(ep, w, bench_source_of(net, i), server, false);
	if (w->fd < 0)
		return -1;
	w->st = S_CONNECTING;
	return 0;
}

int main(int argc, char *argv[])
{
	struct sockaddr_in server = { .sin_family = AF_INET };
	struct epoll_event evs[256];
	struct watcher *ws;
	char text[32];
	struct in_addr net;
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
	if (bench_key_parse(argv[3], &key) || dns_name_from_text(&qname, argv[4])) {
		fprintf(stderr, "tlswatch: bad key or name\n");
		return 2;
	}
	snprintf(text, sizeof(text), "%s.0.0", argv[6]);
	if (inet_pton(AF_INET, text, &net) != 1) {
		fprintf(stderr, "tlswatch: SOURCE is the first two octets of a 127/8 address\n");
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
	ctx = bench_tls_ctx_new();
	ws = calloc((size_t)total, sizeof(*ws));
	ep = epoll_create1(0);
	if (!ctx || !ws || ep < 0) {
		fprintf(stderr, "tlswatch: out of memory\n");
		return 1;
	}
	while (live + failed < total && now_s() - t0 < 240) {
		while (busy < IN_FLIGHT && next < total) {
			if (start(ep, &ws[next], &server, ntohl(net.s_addr), next)) {
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
