/*
 * ike_probe: drive lib/ike over a real UDP socket, as initiator or
 * responder, to test it against other IKEv2 implementations (strongSwan)
 * before the daemon exists. It prints what the data plane would be told:
 *
 *   ike up: sa=1 local=192.0.2.1:4500 remote=198.51.100.7:4500 group=31 ...
 *   child up: spi_in=c1a2b3c4 spi_out=... alg=aes256gcm16 esn=yes ts=fd00::a/128 fd00::b/128
 *   child down: spi_in=...
 *   ike rekeyed: spi_i=... spi_r=...
 *   ike moved: local=... remote=...
 *   ike down: reason=...
 *   handshake_ms=3.2
 *
 * On UDP 4500 every IKE message carries the 4-byte zero non-ESP marker
 * (RFC 3948 §2.2); ESP and NAT keepalives arriving there are counted and
 * otherwise ignored. With --port 500, messages go without a marker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "ike/ike.h"
#include "util/encode.h"
#include "util/random.h"

#define MAXSOCK 4

static volatile sig_atomic_t stop;

struct sock {
	int fd;
	struct ike_addr addr;
};

static struct sock socks[MAXSOCK];
static int nsocks;
static uint64_t esp_seen, keepalives_seen;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double now_ms_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ike_probe: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

__attribute__((format(printf, 1, 2)))
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* "192.0.2.1", "192.0.2.1:4500", "[fd00::1]:4500", "fd00::1" */
static struct ike_addr parse_addr(const char *s, uint16_t defport)
{
	char buf[128], *p, *host = buf;
	struct ike_addr a = { .port = defport };

	if (strlen(s) >= sizeof(buf))
		die("address too long: %s", s);
	strcpy(buf, s);
	if (buf[0] == '[') {
		host = buf + 1;
		p = strchr(host, ']');
		if (!p)
			die("bad address %s", s);
		*p++ = 0;
		if (*p == ':')
			a.port = (uint16_t)atoi(p + 1);
	} else if ((p = strchr(buf, ':')) && !strchr(p + 1, ':')) {
		*p = 0;
		a.port = (uint16_t)atoi(p + 1);
	}
	if (inet_pton(AF_INET, host, a.ip) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, host, a.ip) == 1)
		a.family = AF_INET6;
	else
		die("bad address %s", s);
	return a;
}

/* "fd00::a/128", "10.0.0.1/32", "10.0.0.0/24" */
static struct ike_ts parse_ts(const char *s)
{
	char buf[128], *slash;
	struct ike_ts t = { .port_hi = 65535 };
	int plen, n;

	if (strlen(s) >= sizeof(buf))
		die("selector too long: %s", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, t.start) == 1)
		t.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, t.start) == 1)
		t.family = AF_INET6;
	else
		die("bad selector %s", s);
	n = t.family == AF_INET ? 4 : 16;
	plen = slash ? atoi(slash + 1) : n * 8;
	if (plen < 0 || plen > n * 8)
		die("bad prefix length in %s", s);
	memcpy(t.end, t.start, 16);
	for (int i = 0; i < n * 8; i++)
		if (i >= plen) {
			t.start[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
			t.end[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		}
	return t;
}

static const char *addr_str(const struct ike_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!a->family) {
		snprintf(buf, len, "-");
		return buf;
	}
	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}

static const char *ts_str(const struct ike_ts *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int n = t->family == AF_INET ? 4 : 16;

	inet_ntop(t->family, t->start, a, sizeof(a));
	if (memcmp(t->start, t->end, (size_t)n) == 0) {
		snprintf(buf, len, "%s/%d", a, n * 8);
	} else {
		inet_ntop(t->family, t->end, b, sizeof(b));
		snprintf(buf, len, "%s-%s", a, b);
	}
	return buf;
}

static int open_sock(const struct ike_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = ike_addr_to_sockaddr(a, &ss);
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		char b[80];

		die("bind %s: %s", addr_str(a, b, sizeof(b)), strerror(errno));
	}
	if (nsocks == MAXSOCK)
		die("too many sockets");
	socks[nsocks].fd = fd;
	socks[nsocks].addr = *a;
	nsocks++;
	return fd;
}

static bool addr_same(const struct ike_addr *a, const struct ike_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

static void send_ike(const struct ike_event *ev)
{
	struct sockaddr_storage ss;
	socklen_t sl = ike_addr_to_sockaddr(&ev->send.remote, &ss);
	uint8_t buf[8192 + 4];
	size_t off = 0;
	int fd = socks[nsocks - 1].fd;

	for (int i = 0; i < nsocks; i++)
		if (addr_same(&socks[i].addr, &ev->send.local))
			fd = socks[i].fd;
	/* RFC 3948 §2.2: on 4500, IKE carries the non-ESP marker */
	if (ev->send.local.port != 500) {
		memset(buf, 0, 4);
		off = 4;
	}
	if (ev->send.len > sizeof(buf) - off)
		return;
	memcpy(buf + off, ev->send.data, ev->send.len);
	if (sendto(fd, buf, off + ev->send.len, 0, (struct sockaddr *)&ss, sl) < 0)
		fprintf(stderr, "ike_probe: sendto: %s\n", strerror(errno));
}

struct opts {
	bool initiate;
	uint64_t timeout_ms, exit_after_ms, rekey_child_ms, rekey_ike_ms, move_ms, dpd_ms, close_ms;
	struct ike_addr move_to;
	bool verbose, serve;
};

static void on_sigterm(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ike_probe --listen ADDR[:PORT] --local-id FQDN --remote-id FQDN\n"
		"                 (--psk SECRET|0xHEX | --cert PEM --key PEM --ca PEM)\n"
		"                 --local-ts PREFIX --remote-ts PREFIX [--peer ADDR[:PORT]] [--initiate]\n"
		"                 [--groups 31,19,14] [--esp aes|chacha|both] [--no-esn] [--no-mobike]\n"
		"                 [--timeout MS] [--exit-after MS] [--rekey-child MS] [--rekey-ike MS]\n"
		"                 [--move-to ADDR --move-after MS] [--dpd S] [--close-after MS]\n"
		"                 [--serve (a responder that outlives its tunnels)] [--verbose]\n");
	exit(2);
}

/*
 * --cert/--key/--ca: PEM files in, the DER lib/ike takes out (allocated by
 * OpenSSL; the key's is wiped after ike_peer_add copied it).
 */
static size_t pem_cert_der(const char *path, uint8_t **der)
{
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	int n;

	if (fp)
		fclose(fp);
	if (!x)
		die("%s: not a PEM certificate", path);
	*der = NULL;
	n = i2d_X509(x, der);
	X509_free(x);
	if (n <= 0)
		die("%s: cannot encode", path);
	return (size_t)n;
}

static size_t pem_key_der(const char *path, uint8_t **der)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k = fp ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) : NULL;
	int n;

	if (fp)
		fclose(fp);
	if (!k)
		die("%s: not an unencrypted PEM private key", path);
	*der = NULL;
	n = i2d_PrivateKey(k, der);
	EVP_PKEY_free(k);
	if (n <= 0)
		die("%s: cannot encode", path);
	return (size_t)n;
}

/* lib/ike's random source: the system's CSPRNG. */
static int probe_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", 1, 0, 'l' }, { "peer", 1, 0, 'p' }, { "local-id", 1, 0, 'i' },
		{ "remote-id", 1, 0, 'r' }, { "psk", 1, 0, 'k' }, { "local-ts", 1, 0, 'L' },
		{ "remote-ts", 1, 0, 'R' }, { "initiate", 0, 0, 'I' }, { "groups", 1, 0, 'g' },
		{ "esp", 1, 0, 'e' }, { "no-esn", 0, 0, 'n' }, { "no-mobike", 0, 0, 'm' },
		{ "timeout", 1, 0, 't' }, { "exit-after", 1, 0, 'x' }, { "rekey-child", 1, 0, 'c' },
		{ "rekey-ike", 1, 0, 'K' }, { "move-to", 1, 0, 'M' }, { "move-after", 1, 0, 'a' },
		{ "verbose", 0, 0, 'v' }, { "serve", 0, 0, 'S' }, { "dpd", 1, 0, 'd' }, { "close-after", 1, 0, 'C' }, { "ike-lifetime", 1, 0, 'T' },
		{ "cert", 1, 0, 'P' }, { "key", 1, 0, 'Y' }, { "ca", 1, 0, 'A' },
		{ 0, 0, 0, 0 },
	};
	struct ike_peer_conf pc = { .name = "peer" };
	uint8_t *cert_der = NULL, *key_der = NULL, *ca_der = NULL;
	struct opts o = { .timeout_ms = 10000 };
	struct ike_addr listen_addr = { 0 };
	struct ike *ike;
	struct ike_stats st;
	uint64_t start, up_at = 0, last_rekeys = 0;
	double t0 = 0;
	uint32_t sa_id = 0, newest_spi = 0;
	bool moved = false, rekeyed_child = false, rekeyed_ike = false, closed = false;
	int c, ngroups = 0, rc = 1;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l': listen_addr = parse_addr(optarg, 4500); break;
		case 'p': pc.remote = parse_addr(optarg, 4500); break;
		case 'i': pc.local_id = optarg; break;
		case 'r': pc.remote_id = optarg; break;
		case 'k':
			/* "0x" and hex: a binary key (an account's IKE key, t_authority.sh) */
			if (strncmp(optarg, "0x", 2) == 0) {
				static uint8_t bin[IKE_MAX_PSK];
				int n = hex_decode(bin, sizeof(bin), optarg + 2);

				if (n <= 0)
					usage();
				pc.psk = bin;
				pc.psk_len = (size_t)n;
			} else {
				pc.psk = (const uint8_t *)optarg;
				pc.psk_len = strlen(optarg);
			}
			break;
		case 'L': pc.local_ts = parse_ts(optarg); break;
		case 'R': pc.remote_ts = parse_ts(optarg); break;
		case 'I': o.initiate = true; break;
		case 'g':
			for (char *s = strtok(optarg, ","); s && ngroups < 3; s = strtok(NULL, ","))
				pc.dh_groups[ngroups++] = (uint16_t)atoi(s);
			break;
		case 'e':
			pc.esp_algs = strcmp(optarg, "aes") == 0 ? IKE_ESP_AES256GCM16 :
				      strcmp(optarg, "chacha") == 0 ? IKE_ESP_CHACHA20POLY1305 :
				      IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305;
			break;
		case 'n': pc.no_esn = true; break;
		case 'm': pc.no_mobike = true; break;
		case 't': o.timeout_ms = strtoull(optarg, NULL, 10); break;
		case 'x': o.exit_after_ms = strtoull(optarg, NULL, 10); break;
		case 'c': o.rekey_child_ms = strtoull(optarg, NULL, 10); break;
		case 'K': o.rekey_ike_ms = strtoull(optarg, NULL, 10); break;
		case 'M': o.move_to = parse_addr(optarg, 4500); break;
		case 'a': o.move_ms = strtoull(optarg, NULL, 10); break;
		case 'd': pc.dpd_s = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'C': o.close_ms = strtoull(optarg, NULL, 10); break;
		case 'v': o.verbose = true; break;
		case 'S': o.serve = true; o.timeout_ms = UINT64_MAX; break;
		case 'T': pc.ike_lifetime_s = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'P': pc.cert_len = pem_cert_der(optarg, &cert_der); pc.cert = cert_der; break;
		case 'Y': pc.key_len = pem_key_der(optarg, &key_der); pc.key = key_der; break;
		case 'A': pc.ca_len = pem_cert_der(optarg, &ca_der); pc.ca = ca_der; break;
		default: usage();
		}
	}
	/* RFC 7427 certificates (all three) or the PSK, not both */
	if (!!pc.psk == !!(pc.cert || pc.key || pc.ca) || (!pc.psk && !(pc.cert && pc.key && pc.ca)))
		usage();
	if (!listen_addr.family || !pc.local_id || !pc.remote_id || !pc.local_ts.family ||
	    !pc.remote_ts.family || (o.initiate && !pc.remote.family))
		usage();
	pc.local = listen_addr;
	signal(SIGTERM, on_sigterm);
	signal(SIGINT, on_sigterm);
	open_sock(&listen_addr);
	if (listen_addr.port == 500) {
		/* RFC 7296 §2.23: with a NAT on the path IKE moves to 4500 */
		struct ike_addr natt = listen_addr;

		natt.port = 4500;
		open_sock(&natt);
	}

	ike = ike_new(NULL, probe_random, NULL);
	if (!ike)
		die("out of memory");
	start = now_ms();
	if (ike_peer_add(ike, &pc, start))
		die("bad peer configuration");
	if (key_der)
		OPENSSL_clear_free(key_der, pc.key_len);
	OPENSSL_free(cert_der);
	OPENSSL_free(ca_der);
	pc.cert = pc.key = pc.ca = NULL;
	if (o.initiate) {
		t0 = now_ms_f();
		c = ike_connect(ike, "peer", start);
		if (c < 0)
			die("connect: %s", strerror(-c));
		sa_id = (uint32_t)c;
	}
	out("listening on %s as %s\n", addr_str(&listen_addr, (char[80]){ 0 }, 80),
	    o.initiate ? "initiator" : "responder");

	while (!stop) {
		struct pollfd pfd[MAXSOCK];
		struct ike_event ev;
		uint64_t now = now_ms(), dl = ike_next_deadline(ike);
		int wait;

		while (ike_poll(ike, &ev)) {
			char b1[80], b2[80], t1[100], t2[100];

			switch (ev.type) {
			case IKE_EV_SEND:
				send_ike(&ev);
				break;
			case IKE_EV_SA_UP:
				sa_id = ev.sa_id;
				up_at = now_ms();
				out("ike up: sa=%u remote-id=%s local=%s remote=%s group=%u prf=%s encr=%s "
				    "mobike=%s nat-local=%s nat-remote=%s auth=%s\n", ev.sa_id, ev.up.remote_id,
				    addr_str(&ev.up.local, b1, sizeof(b1)), addr_str(&ev.up.remote, b2, sizeof(b2)),
				    ev.up.dh_group,
				    ev.up.prf == IKE_PRF_HMAC_SHA256 ? "hmac-sha256" :
				    ev.up.prf == IKE_PRF_HMAC_SHA384 ? "hmac-sha384" : "hmac-sha512",
				    ev.up.encr == IKE_ENCR_AES256GCM16 ? "aes256gcm16" : "aes256-sha256",
				    ev.up.mobike ? "yes" : "no", ev.up.nat_local ? "yes" : "no",
				    ev.up.nat_remote ? "yes" : "no", ev.up.cert ? "cert" : "psk");
				if (o.initiate)
					out("handshake_ms=%.2f\n", now_ms_f() - t0);
				break;
			case IKE_EV_SA_DOWN:
				out("ike down: sa=%u reason=%s%s%s remote-id=%s\n", ev.sa_id,
				    ike_down_reason_name(ev.down.reason), ev.down.notify ? " notify=" : "",
				    ev.down.notify ? (ike_notify_name(ev.down.notify) ?: "?") : "",
				    ev.down.remote_id);
				if (ev.sa_id == sa_id && (o.initiate || up_at) && !o.serve)
					stop = 1;
				break;
			case IKE_EV_CHILD_UP:
				out("child up: spi_in=%08x spi_out=%08x alg=%s esn=%s ts=%s %s replaces=%08x\n",
				    ev.child_up.child.spi_in, ev.child_up.child.spi_out,
				    ike_esp_alg_name(ev.child_up.child.alg), ev.child_up.child.esn ? "yes" : "no",
				    ts_str(&ev.child_up.child.ts_local, t1, sizeof(t1)),
				    ts_str(&ev.child_up.child.ts_remote, t2, sizeof(t2)),
				    ev.child_up.child.replaces);
				newest_spi = ev.child_up.child.spi_in;
				break;
			case IKE_EV_CHILD_DOWN:
				out("child down: spi_in=%08x spi_out=%08x\n", ev.child_down.spi_in,
				    ev.child_down.spi_out);
				break;
			case IKE_EV_MOVED:
				out("ike moved: local=%s remote=%s nat-local=%s nat-remote=%s\n",
				    addr_str(&ev.up.local, b1, sizeof(b1)), addr_str(&ev.up.remote, b2, sizeof(b2)),
				    ev.up.nat_local ? "yes" : "no", ev.up.nat_remote ? "yes" : "no");
				break;
			}
		}
		ike_stats_get(ike, &st);
		if (st.ike_rekeys != last_rekeys) {
			struct ike_sa_info in;

			last_rekeys = st.ike_rekeys;
			if (ike_sa_get(ike, sa_id, &in) == 0)
				out("ike rekeyed: spi_i=%016llx spi_r=%016llx\n", (unsigned long long)in.ike_spi_i,
				    (unsigned long long)in.ike_spi_r);
		}
		now = now_ms();
		if (!up_at && !o.serve && now - start > o.timeout_ms) {
			out("timeout: no IKE SA after %llu ms\n", (unsigned long long)o.timeout_ms);
			break;
		}
		if (up_at && o.exit_after_ms && now - up_at >= o.exit_after_ms) {
			rc = 0;
			break;
		}
		if (up_at && o.rekey_child_ms && !rekeyed_child && now - up_at >= o.rekey_child_ms) {
			rekeyed_child = true;
			if (!newest_spi || ike_child_rekey(ike, newest_spi, now))
				out("rekey child: refused\n");
		}
		if (up_at && o.rekey_ike_ms && !rekeyed_ike && now - up_at >= o.rekey_ike_ms) {
			rekeyed_ike = true;
			if (ike_sa_rekey(ike, sa_id, now))
				out("rekey ike: refused\n");
		}
		if (up_at && o.move_to.family && !moved && now - up_at >= o.move_ms) {
			moved = true;
			open_sock(&o.move_to);
			ike_local_moved(ike, &listen_addr, &o.move_to, now);
		}
		if (up_at && o.close_ms && !closed && now - up_at >= o.close_ms) {
			closed = true;
			ike_close(ike, sa_id, now);
			continue;
		}
		dl = ike_next_deadline(ike);
		now = now_ms();
		wait = dl == UINT64_MAX ? 100 : dl <= now ? 0 : (int)(dl - now < 100 ? dl - now : 100);
		for (int i = 0; i < nsocks; i++)
			pfd[i] = (struct pollfd){ .fd = socks[i].fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)nsocks, wait) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		now = now_ms();
		for (int i = 0; i < nsocks; i++) {
			uint8_t buf[9000];
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			struct ike_addr ra;
			ssize_t n;
			int err;

			if (!(pfd[i].revents & POLLIN))
				continue;
			n = recvfrom(socks[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n <= 0 || ike_addr_from_sockaddr(&ra, (struct sockaddr *)&from))
				continue;
			if (socks[i].addr.port == 500) {
				err = ike_input(ike, buf, (size_t)n, &socks[i].addr, &ra, now);
			} else if (n == 1 && buf[0] == 0xff) {
				keepalives_seen++;	/* RFC 3948 §2.3 NAT keepalive */
				continue;
			} else if (n >= 4 && !buf[0] && !buf[1] && !buf[2] && !buf[3]) {
				err = ike_input(ike, buf + 4, (size_t)n - 4, &socks[i].addr, &ra, now);
			} else {
				esp_seen++;
				continue;
			}
			if (err && o.verbose)
				fprintf(stderr, "ike_probe: dropped a message from %s: %s\n",
					addr_str(&ra, (char[80]){ 0 }, 80), strerror(-err));
		}
		ike_tick(ike, now_ms());
	}
	if (sa_id && up_at && !closed) {
		struct ike_event ev;

		/* say goodbye: one Delete, not waited for */
		ike_close(ike, sa_id, now_ms());
		while (ike_poll(ike, &ev))
			if (ev.type == IKE_EV_SEND)
				send_ike(&ev);
		if (stop)
			rc = 0;
	}
	ike_stats_get(ike, &st);
	out("stats: rx=%llu tx=%llu retransmits=%llu dropped=%llu esp=%llu child_rekeys=%llu ike_rekeys=%llu "
	    "collisions=%llu mobike=%llu\n",
	    (unsigned long long)st.rx, (unsigned long long)st.tx, (unsigned long long)st.retransmits,
	    (unsigned long long)st.rx_dropped, (unsigned long long)esp_seen,
	    (unsigned long long)st.child_rekeys, (unsigned long long)st.ike_rekeys,
	    (unsigned long long)st.collisions, (unsigned long long)st.mobike_updates);
	ike_free(ike);
	return rc;
}
