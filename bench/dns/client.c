/*
 * bench/dns/client.c: what llqbench, tlswatch and pushbench share (client.h).
 */
#include "client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util/encode.h"

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double bench_stamp_of(struct msghdr *mh, double dflt)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
		}
	}
	return dflt;
}

double bench_rusage_ms(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

double bench_proc_cpu_ms(long pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	double ms = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p[300];
		FILE *fp;
		unsigned long long ns;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/task/%s/schedstat", pid, de->d_name);
		fp = fopen(p, "r");
		if (!fp)
			continue;
		if (fscanf(fp, "%llu", &ns) == 1)
			ms += (double)ns / 1e6;
		fclose(fp);
	}
	closedir(d);
	return ms;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int bench_key_parse(char *text, struct dns_tsig_key *key)
{
	char *alg = strtok(text, ":"), *kname = strtok(NULL, ":"), *secret = strtok(NULL, "");
	uint8_t sec[128];
	struct dns_name kn;
	int n = secret ? b64_decode(sec, sizeof(sec), secret) : -1;

	if (!alg || !kname || n <= 0 || dns_name_from_text(&kn, kname) ||
	    dns_tsig_key_set(key, &kn, dns_tsig_alg_from_text(alg), sec, (size_t)n))
		return -1;
	return 0;
}

size_t bench_query_sign(uint8_t *buf, size_t cap, const struct dns_tsig_key *key, uint16_t id,
			const struct dns_name *name, uint16_t type, const struct dns_llq *llq)
{
	struct dns_builder b;
	struct dns_tsig t;
	size_t len;

	dns_tsig_init(&t, key);
	dns_builder_init(&b, buf, cap, cap, id, 0);
	dns_builder_question(&b, name, type, DNS_CLASS_IN);
	dns_builder_edns(&b, 1232, 0);
	if (llq)
		dns_builder_add_llq(&b, llq);
	if (dns_builder_finish(&b, &len) || dns_tsig_sign_request(&t, buf, len, cap, &len, (uint64_t)time(NULL)))
		len = 0;
	dns_tsig_fini(&t);
	return len;
}

size_t bench_frame(uint8_t *buf, size_t len)
{
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	return len + 2;
}

int bench_llq_of(const struct dns_msg *m, struct dns_llq *llq)
{
	struct wire opt;

	return dns_edns_find(m, DNS_EDNS_OPT_LLQ, &opt) || dns_llq_parse(&opt, llq) ? -1 : 0;
}

int bench_update(int fd, const struct dns_tsig_key *key, const struct dns_name *zone,
		 const struct dns_name *name, const uint8_t addr[static 4], uint16_t id, double *answered)
{
	static uint8_t rbuf[65536];
	static struct dns_msg m;
	struct dns_builder b;
	struct dns_tsig t;
	struct dns_lease lease = { .lease = 3600 };
	uint8_t buf[1024];
	size_t len;
	int rc = -1;

	dns_tsig_init(&t, key);
	dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), id, (uint16_t)(DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT));
	dns_builder_question(&b, zone, DNS_TYPE_SOA, DNS_CLASS_IN);
	dns_builder_section(&b, DNS_SEC_UPDATE);
	/* the host moved: its old address goes, the new one comes (RFC 2136 §2.5.2, §2.5.1) */
	dns_builder_add_raw(&b, name, DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	dns_builder_add_a(&b, name, 300, addr);
	dns_builder_edns(&b, 1232, 0);
	dns_builder_add_lease(&b, &lease);
	if (dns_builder_finish(&b, &len) == 0 &&
	    dns_tsig_sign_request(&t, buf, len, sizeof(buf), &len, (uint64_t)time(NULL)) == 0 &&
	    send(fd, buf, len, 0) == (ssize_t)len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		while (poll(&p, 1, 5000) == 1) {
			char ctl[CMSG_SPACE(sizeof(struct timespec))];
			struct iovec iov = { .iov_base = rbuf, .iov_len = sizeof(rbuf) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
					     .msg_controllen = sizeof(ctl) };
			ssize_t n = recvmsg(fd, &mh, 0);

			if (n >= 12 && dns_msg_parse(&m, rbuf, (size_t)n) == 0 && m.hdr.id == id) {
				*answered = bench_stamp_of(&mh, bench_now_ms());
				rc = dns_msg_rcode(&m);
				break;
			}
		}
	}
	dns_tsig_fini(&t);
	return rc;
}

SSL_CTX *bench_tls_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	return ctx;
}

uint32_t bench_source_of(uint32_t net, int i)
{
	int a = i / BENCH_PER_ADDRESS + 1;

	return net | (uint32_t)(a / 250) << 8 | (uint32_t)(a % 250 + 1);
}

int bench_tcp_start(int ep, void *ptr, uint32_t src, const struct sockaddr_in *server, bool stamps)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = ptr };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (stamps)
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) ||
	    (connect(fd, (const struct sockaddr *)server, sizeof(*server)) && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return -1;
	}
	return fd;
}

int bench_epoll_mod(int ep, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) ? -1 : 0;
}

int bench_tcp_connected(int fd)
{
	int err;
	socklen_t sl = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err ? -1 : 0;
}

int bench_tls_handshake(int ep, int fd, void *ptr, SSL *ssl)
{
	int rc = SSL_do_handshake(ssl), err;

	if (rc == 1)
		return 1;
	err = SSL_get_error(ssl, rc);
	if (err == SSL_ERROR_WANT_READ)
		return bench_epoll_mod(ep, fd, ptr, EPOLLIN) ? -1 : 0;
	if (err == SSL_ERROR_WANT_WRITE)
		return bench_epoll_mod(ep, fd, ptr, EPOLLOUT) ? -1 : 0;
	return -1;
}

void bench_tls_close(int ep, int fd, SSL *ssl)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (ssl)
		SSL_free(ssl);
	close(fd);
}
